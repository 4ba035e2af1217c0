//! Retrieval: articles in, passages out. The store holds the articles; this module keeps the
//! tantivy index in step with it and answers searches off the async runtime.

pub mod index;
pub mod ingest;
mod question;
mod steps;
pub mod synonyms;
mod timing;
mod typos;

use std::{
    path::Path,
    sync::Arc,
    time::{Duration, Instant},
};

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use index::{Hit, Index, IndexError};
pub use synonyms::{Synonyms, SynonymsError};

use crate::{
    phrases::Lang,
    storage::{Article, ArticleInput, Format, Store, StoreError},
};

/// Why a file or article could not be taken in.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("unsupported file type {0:?}: use .md, .markdown, .html, .htm or .txt")]
    UnsupportedType(String),
    #[error("{0} is not UTF-8 text")]
    NotText(String),
    #[error("{0}: {1}")]
    Invalid(String, InvalidArticle),
}

/// Longest article title, in characters.
pub const MAX_TITLE_CHARS: usize = 300;
/// Most tags an article may have, and the longest a tag may be.
pub const MAX_TAGS: usize = 50;
pub const MAX_TAG_CHARS: usize = 100;

/// Why an article's fields cannot be stored, sent as JSON or as a file alike.
#[derive(Debug, thiserror::Error)]
pub enum InvalidArticle {
    #[error("title must be 1-{MAX_TITLE_CHARS} characters")]
    Title,
    #[error("url must be an absolute http or https URL")]
    Url,
    #[error("body has no text to index")]
    Empty,
    #[error("locale must be a language tag such as \"en\" or \"pt-BR\"")]
    Locale,
    #[error(
        "tags must be at most {MAX_TAGS} words or phrases of at most {MAX_TAG_CHARS} characters each"
    )]
    Tags,
    #[error("{0}")]
    FrontMatter(#[from] ingest::FrontMatterError),
    #[error("text must not contain the NUL character")]
    Nul,
}

/// The one check of an article's fields, whatever way they came (its title trimmed): a title
/// of 1 to [`MAX_TITLE_CHARS`] characters, a link that is http or https (a help article's
/// link is shown to customers, so never `javascript:` or `data:`), a locale that is a
/// language tag, up to [`MAX_TAGS`] tags of up to [`MAX_TAG_CHARS`] characters (blank ones
/// dropped), front matter that can be read (a markdown body's), text to index, and no NUL
/// character anywhere.
pub fn validate(input: ArticleInput) -> Result<ArticleInput, InvalidArticle> {
    let (passages, meta) = ingest::passages(input.format, &input.body);
    meta?;
    check(input, !passages.is_empty())
}

/// [`validate`], for an article whose passages are already known to exist or not.
fn check(mut input: ArticleInput, has_text: bool) -> Result<ArticleInput, InvalidArticle> {
    // PostgreSQL cannot store it, and no article needs it.
    let texts = [&input.title, &input.body]
        .into_iter()
        .chain(&input.tags)
        .chain(&input.url)
        .chain(&input.source);
    if texts.into_iter().any(|t| t.contains('\0')) {
        return Err(InvalidArticle::Nul);
    }
    input.title = input.title.trim().to_owned();
    if input.title.is_empty() || input.title.chars().count() > MAX_TITLE_CHARS {
        return Err(InvalidArticle::Title);
    }
    if let Some(url) = &input.url {
        let web = reqwest::Url::parse(url)
            .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
        if !web {
            return Err(InvalidArticle::Url);
        }
    }
    if let Some(locale) = &mut input.locale {
        *locale = locale.trim().to_owned();
        if !Lang::is_tag(locale) {
            return Err(InvalidArticle::Locale);
        }
    }
    // Blank tags are none; a tag is a word or phrase, not a paragraph.
    input.tags = std::mem::take(&mut input.tags)
        .into_iter()
        .map(|tag| tag.trim().to_owned())
        .filter(|tag| !tag.is_empty())
        .collect();
    if input.tags.len() > MAX_TAGS
        || input
            .tags
            .iter()
            .any(|tag| tag.chars().count() > MAX_TAG_CHARS)
    {
        return Err(InvalidArticle::Tags);
    }
    if !has_text {
        return Err(InvalidArticle::Empty);
    }
    Ok(input)
}

/// A search under way (see [`Retrieval::start_search`]).
pub type Searching = JoinHandle<(Result<Vec<Hit>, IndexError>, Duration)>;

/// Retrieval failures seen by the rest of the service.
#[derive(Debug, thiserror::Error)]
pub enum RetrievalError {
    #[error(transparent)]
    Index(#[from] IndexError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("search task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// The format a file name implies.
pub fn format_of(file_name: &str) -> Result<Format, IngestError> {
    let ext = Path::new(file_name)
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    match ext.as_str() {
        "md" | "markdown" => Ok(Format::Markdown),
        "html" | "htm" => Ok(Format::Html),
        "txt" => Ok(Format::Text),
        _ => Err(IngestError::UnsupportedType(file_name.to_owned())),
    }
}

/// An article from an uploaded or local file: metadata from its front matter or `<title>`,
/// else a title made from the file name; checked as [`validate`] checks any article.
pub fn article_from_file(file_name: &str, bytes: &[u8]) -> Result<ArticleInput, IngestError> {
    let format = format_of(file_name)?;
    let body = std::str::from_utf8(bytes)
        .map_err(|_| IngestError::NotText(file_name.to_owned()))?
        .to_owned();
    let (passages, meta) = ingest::passages(format, &body);
    let meta = meta.map_err(|e| IngestError::Invalid(file_name.to_owned(), e.into()))?;
    let title = meta
        .title
        .unwrap_or_else(|| title_from_file_name(file_name));
    let article = ArticleInput {
        title,
        body,
        format,
        url: meta.url,
        locale: meta.locale,
        tags: meta.tags,
        source: Some(file_name.to_owned()),
    };
    check(article, !passages.is_empty())
        .map_err(|reason| IngestError::Invalid(file_name.to_owned(), reason))
}

fn title_from_file_name(file_name: &str) -> String {
    let stem = Path::new(file_name)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or(file_name);
    let words = stem.replace(['-', '_'], " ");
    let mut chars = words.trim().chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => file_name.to_owned(),
    }
}

/// How many of a conversation's latest messages rank the passages found for the next one.
/// On the eval's dstc10 dialogues (MRR@10, before the search bounded the context's words):
/// 2 messages 0.21, 4 0.38, 8 0.48, 12 0.48, all of them 0.44, as dialogues move on to other
/// places.
pub const CONTEXT_MESSAGES: usize = 8;
/// Of each, its first this many bytes: where a customer states what they ask and a reply names
/// what it quotes. A whole reply (a quoted passage) would fill the context's words with one
/// passage's vocabulary and pull a question on a new topic back to it. With real replies in
/// the demo's conversations (eval, MRR@10): follow-ups 0.65 with whole messages, 0.69 at 150
/// bytes, 0.76 at 200 and 250; questions on a new topic 0.76 whole, 0.90 at 150 and 200, 0.77
/// at 250 (0.91 without context); dstc10 in context the same at 200 and over (0.30 at 100).
const CONTEXT_MESSAGE_BYTES: usize = 200;

/// The search context of a question: the start ([`CONTEXT_MESSAGE_BYTES`]) of each of the
/// last [`CONTEXT_MESSAGES`] earlier messages (given oldest first), customer's and replies
/// alike, as a reply often names what the question is about ("and how long does that
/// take?"). The latest message comes first: a search takes the context's words in order, up
/// to a limit.
pub fn context<'a>(earlier: impl DoubleEndedIterator<Item = &'a str>) -> String {
    let latest: Vec<&str> = earlier
        .rev()
        .take(CONTEXT_MESSAGES)
        .map(|message| &message[..message.floor_char_boundary(CONTEXT_MESSAGE_BYTES)])
        .collect();
    latest.join("\n")
}

/// How often each replica looks for article changes made through other replicas.
const FOLLOW_EVERY: Duration = Duration::from_secs(2);

/// The search side of the service: a shared index plus the store it follows.
#[derive(Clone)]
pub struct Retrieval {
    index: Arc<Index>,
    store: Store,
    /// Held while the index is written, so a sync and a local change never interleave.
    writing: Arc<tokio::sync::Mutex<()>>,
}

impl Retrieval {
    /// Opens the index in `dir` and rebuilds it from the store if it is missing or stale (or
    /// was built with other synonyms).
    pub async fn open(
        dir: &Path,
        store: Store,
        synonyms: Synonyms,
    ) -> Result<Self, RetrievalError> {
        let dir = dir.to_owned();
        let index =
            Arc::new(tokio::task::spawn_blocking(move || Index::open(&dir, &synonyms)).await??);
        let retrieval = Self {
            index,
            store,
            writing: Arc::default(),
        };
        retrieval.sync().await?;
        Ok(retrieval)
    }

    /// Rebuilds the index when its version differs from the store's.
    pub async fn sync(&self) -> Result<(), RetrievalError> {
        let _writing = self.writing.lock().await;
        let version = self.store.articles_version().await?;
        if self.index.version() == Some(version) {
            return Ok(());
        }
        // The version is read before the articles (see `Store::all_articles`).
        let articles = self.store.all_articles().await?;
        let index = self.index.clone();
        let passages =
            tokio::task::spawn_blocking(move || index.rebuild(&articles, version)).await??;
        tracing::info!(passages, version, "search index rebuilt from the store");
        Ok(())
    }

    /// Follows the article table until `shutdown`: changes made through other replicas (or
    /// straight in the database) are searchable here within [`FOLLOW_EVERY`] plus a rebuild.
    pub fn follow(&self, shutdown: CancellationToken) {
        let retrieval = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(FOLLOW_EVERY) => {}
                }
                if let Err(error) = retrieval.sync().await {
                    tracing::warn!(%error, "cannot follow article changes");
                }
            }
        });
    }

    /// Indexes new or changed articles; returns the passage count of each.
    pub async fn upsert(
        &self,
        articles: Vec<Article>,
        version: i64,
    ) -> Result<Vec<usize>, RetrievalError> {
        let _writing = self.writing.lock().await;
        let index = self.index.clone();
        Ok(tokio::task::spawn_blocking(move || index.upsert(&articles, version)).await??)
    }

    /// Drops an article from the index.
    pub async fn remove(&self, article_id: String, version: i64) -> Result<(), RetrievalError> {
        let _writing = self.writing.lock().await;
        let index = self.index.clone();
        Ok(tokio::task::spawn_blocking(move || index.remove(&article_id, version)).await??)
    }

    /// The best `k` passages for a question.
    pub async fn search(&self, question: &str, k: usize) -> Result<Vec<Hit>, RetrievalError> {
        Ok(self
            .start_search(question.to_owned(), None, String::new(), k)
            .await?
            .0?)
    }

    /// Starts a search on the blocking pool and returns at once: awaited later, it gives the
    /// passages and how long the search took from this call. `context` (see [`context`]) ranks
    /// the passages found for a follow-up question; `lang`, the language it is asked in, when
    /// known (see [`Index::search_in_context`]).
    pub fn start_search(
        &self,
        question: String,
        lang: Option<Lang>,
        context: String,
        k: usize,
    ) -> Searching {
        let index = self.index.clone();
        let started = Instant::now();
        tokio::task::spawn_blocking(move || {
            let hits = index.search_in_context(&question, lang, &context, k);
            (hits, started.elapsed())
        })
    }

    /// Imports the files of a knowledge folder into an empty store (first start only), so
    /// articles an admin later deletes stay deleted.
    pub async fn import_knowledge_once(&self, dir: &Path) -> Result<usize, RetrievalError> {
        if self.store.meta("knowledge_imported").await?.is_some() {
            return Ok(0);
        }
        let inputs: Vec<ArticleInput> = knowledge_files(dir)
            .into_iter()
            .map(|(_, input)| input)
            .collect();
        let count = inputs.len();
        match self
            .store
            .insert_articles_once("knowledge_imported", inputs)
            .await?
        {
            Some(stored) => self.upsert(stored.articles, stored.version).await?,
            // Another replica imported it meanwhile.
            None => return Ok(0),
        };
        tracing::info!(count, dir = %dir.display(), "knowledge imported");
        Ok(count)
    }
}

/// The articles in a knowledge folder's files, in file-name order, each with its file name
/// without extension. Its README, its synonyms and files of other types (such as the eval's
/// `questions.jsonl`) are skipped; unreadable and empty ones too, with a warning.
pub fn knowledge_files(dir: &Path) -> Vec<(String, ArticleInput)> {
    let mut inputs = Vec::new();
    let mut paths: Vec<_> = match std::fs::read_dir(dir) {
        Ok(entries) => entries.filter_map(Result::ok).map(|e| e.path()).collect(),
        Err(error) => {
            tracing::warn!(dir = %dir.display(), %error, "no knowledge folder to read");
            Vec::new()
        }
    };
    paths.sort();
    for path in paths {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if format_of(name).is_err()
            || name.eq_ignore_ascii_case("README.md")
            || name == synonyms::FILE
        {
            continue;
        }
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(error) => {
                tracing::warn!(file = %path.display(), %error, "skipping unreadable article");
                continue;
            }
        };
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_owned();
        match article_from_file(name, &bytes) {
            Ok(input) => inputs.push((stem, input)),
            Err(error) => tracing::warn!(%error, "skipping article"),
        }
    }
    inputs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_context_is_the_latest_messages_first_within_its_limits() {
        let earlier: Vec<String> = (1..=10).map(|i| format!("message {i}")).collect();
        let joined = context(earlier.iter().map(String::as_str));
        assert_eq!(
            joined.lines().collect::<Vec<_>>(),
            [
                "message 10",
                "message 9",
                "message 8",
                "message 7",
                "message 6",
                "message 5",
                "message 4",
                "message 3"
            ]
        );
        let long = [format!("a{}", "é".repeat(150)), "short".to_owned()];
        let joined = context(long.iter().map(String::as_str));
        let lines: Vec<&str> = joined.lines().collect();
        assert_eq!(lines[0], "short");
        assert_eq!(lines[1].len(), 199, "cut at a character's boundary");
    }
}
