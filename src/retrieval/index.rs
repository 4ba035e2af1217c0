//! The tantivy index of article passages: one writer, one long-lived reader, BM25 over title,
//! headings (both boosted), the article's tags and body, English stemming and ASCII folding,
//! snippets for citations.
//!
//! Every commit carries the store's articles version as its payload, so a missing or stale
//! index is detected (at start, and while following changes other replicas make) and rebuilt
//! from the database. A single change only moves the recorded version forward when the index
//! was exactly one version behind it; otherwise some other change is missing and the index
//! records that it is stale.

use std::{borrow::Cow, collections::HashSet, path::Path, sync::Mutex};

use tantivy::{
    DocAddress, DocSet, Index as TantivyIndex, IndexReader, IndexWriter, ReloadPolicy, TERMINATED,
    TantivyDocument, Term,
    collector::{Count, TopDocs},
    directory::MmapDirectory,
    query::{BooleanQuery, BoostQuery, FuzzyTermQuery, Occur, Query, QueryClone, TermQuery},
    schema::{
        Field, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions, Value,
    },
    snippet::SnippetGenerator,
    tokenizer::{
        AsciiFoldingFilter, Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer,
        StopWordFilter, TextAnalyzer,
    },
};

use super::{
    ingest,
    synonyms::{Aliases, Synonyms},
    typos,
};
use crate::{phrases::Lang, storage::Article};

const ANALYZER: &str = "frontdesk";
/// Bumped whenever the schema, the analyzer or the passage splitting changes, so an index built
/// the old way is rebuilt (as it is when the business's synonyms change: their fingerprint
/// follows it).
const INDEX_FORMAT: &str = "9";
/// The index writer's memory budget.
const WRITER_BYTES: usize = 50_000_000;
const SNIPPET_CHARS: usize = 240;
const TITLE_BOOST: f32 = 3.0;
const HEADING_BOOST: f32 = 2.0;
/// An article's tag weighs as a word of its body, and counts as one of the passage's words in
/// its ranking by how many of the question's it has (knowledge MRR@10 0.884 → 0.904, in
/// context 0.874 → 0.902; at 0.5: 0.905 and 0.897, at 2.0: 0.910 and 0.908, not taken, as
/// those tags are the demo's own; the other data sets have none).
const TAG_BOOST: f32 = 1.0;
/// A question term found in more than this share of passages is "common": when the question
/// also has rarer terms, common ones only add to the score of passages that match a rarer one
/// (Lucene's common-terms idea). Alone they would make every search score most of the index
/// for almost no ranking signal.
const COMMON_TERM_SHARE: f64 = 0.1;
/// A question's word no passage has, from this many letters on, may be a typo: it is not
/// counted as unknown when an indexed word is one letter away ("canda" is "canada"; "car" is
/// not "card"), and a question that finds little ([`WEAK_COVERAGE`]) is asked again with it
/// read as a word one likely slip away, when one is indexed (see [`typos`]).
const TYPO_LETTERS: usize = typos::MIN_LETTERS;
/// A question asked on its own is ranked among this many times k passages by how many of its
/// words each has (BM25 alone favours a short title or heading that has one of them: "Do you
/// take PayPal?" found "Why a delivery might take longer"). On the eval, tau3-banking's MRR@10
/// went from 0.523 to 0.656 (pools of 2, 4, 16 and 32: 0.601, 0.609, 0.693, 0.690), the help
/// center's from 0.868 to 0.879. Over 100,000 passages a pool of 16 took the search's p99 from
/// 1.14–1.19 ms to 1.78–1.87 ms, 8 to 1.49–1.60 ms. A follow-up is not ranked so: its words
/// say less than its context (dstc10's in context fell from 0.462 to 0.446 with a quarter of
/// the weight).
const COORDINATION_POOL: usize = 8;
/// The weight of the conversation's earlier words beside the question's (see
/// [`Index::search_in_context`]; chosen on the eval's dstc10 dialogues, where 0.5 and 1.0
/// score alike and 0.1 helps little; the README's Evaluation section has the figures).
const CONTEXT_WEIGHT: f32 = 0.5;
/// At most this many of the context's words rank a follow-up's passages…
const CONTEXT_TERMS: usize = 32;
/// …and at most this many postings in all (the passages, titles and headings the words are
/// in): scored for every follow-up, 32 words of up to 10% of 100,000 passages each took the
/// search from p99 1.1 to 2.7 ms.
const CONTEXT_POSTINGS: u64 = 10_000;

/// Index failures (corrupt files, disk full); the caller reports the index as not ready.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("search index error: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    #[error("search index directory error: {0}")]
    Directory(#[from] tantivy::directory::error::OpenDirectoryError),
    #[error("search index io error: {0}")]
    Io(#[from] std::io::Error),
}

/// A passage that matched a query.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub article_id: String,
    pub chunk_id: String,
    pub title: String,
    pub url: Option<String>,
    pub headings: Vec<String>,
    /// The whole passage.
    pub text: String,
    /// A short extract around the matched words.
    pub snippet: String,
    /// BM25 score, times the share of the question's words the passage has for a question
    /// asked on its own (unbounded, comparable only within one query; an article's opening
    /// moved first takes the score of the passage it displaced).
    pub score: f32,
    /// Share of the query's content words (but its frame's: see [`FRAME_WORDS`]) found in
    /// this passage (its title, headings, article's tags or text), in [0, 1]; a word no
    /// passage has counts twice when the passage has only one of the others.
    pub coverage: f32,
    /// How many of those words the passage has.
    pub found: usize,
}

#[derive(Clone, Copy)]
struct Fields {
    chunk_id: Field,
    article_id: Field,
    title: Field,
    headings: Field,
    /// The article's tags, on each of its passages: the words the business files it under.
    tags: Field,
    body: Field,
    url: Field,
}

/// The most passages of one article a question about time looks through for the one that
/// tells it.
const PASSAGES_PER_ARTICLE: usize = 32;

/// The most words of a question read as typos, and the longest (a longer one is a code or a
/// reference, not a word).
const MAX_CORRECTED: usize = 3;
const MAX_TYPO_LETTERS: usize = 15;

/// A question's best coverage up to which it is asked again with its misspelt words read
/// as the ones they were meant to be.
const WEAK_COVERAGE: f32 = 0.5;

/// What a question asks that one passage of an article tells better than the others.
#[derive(Clone, Copy, PartialEq)]
enum Asks {
    /// A time ([`super::timing`]).
    When,
    /// How to do something: the steps ([`super::steps`]).
    How,
}

impl Asks {
    fn of(question: &str) -> Option<Asks> {
        if super::timing::asks_when(question) {
            Some(Asks::When)
        } else if super::steps::asks_how(question) {
            Some(Asks::How)
        } else {
            None
        }
    }

    /// How well a passage (its heading, its text) tells it: 0 to
    /// [`super::timing::TELLS_MOST`].
    fn told(self, heading: &str, body: &str) -> u8 {
        match self {
            Asks::When => super::timing::tells_when(heading, body),
            Asks::How => super::steps::tells_how(heading, body),
        }
    }
}

/// What a search is for besides its words: what kind of passage answers it (one that tells
/// a time, or steps), the conversation before it, and how many passages.
#[derive(Clone, Copy)]
struct Request<'a> {
    /// Whether the question asks a time or how to do something.
    asks: Option<Asks>,
    /// Whether the question denies something ("why can't I ...?"): see
    /// [`Index::search_terms`].
    negated: bool,
    context: &'a str,
    k: usize,
}

/// The passage index.
pub struct Index {
    /// Built once; cloned per search (cheap) because analysing needs `&mut`.
    analyzer: TextAnalyzer,
    index: TantivyIndex,
    reader: IndexReader,
    /// None after a write failed and a new writer could not be made yet.
    writer: Mutex<Option<IndexWriter>>,
    fields: Fields,
    /// What the index records it was built as: [`INDEX_FORMAT`], and the synonyms'
    /// fingerprint when there are any.
    format: String,
    /// The words passages get from the business's synonyms.
    aliases: Aliases,
}

fn schema() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    let text = TextOptions::default().set_stored().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(ANALYZER)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let fields = Fields {
        chunk_id: builder.add_text_field("chunk_id", STRING | STORED),
        article_id: builder.add_text_field("article_id", STRING | STORED),
        title: builder.add_text_field("title", text.clone()),
        headings: builder.add_text_field("headings", text.clone()),
        tags: builder.add_text_field("tags", text.clone()),
        body: builder.add_text_field("body", text),
        url: builder.add_text_field("url", STORED),
    };
    (builder.build(), fields)
}

/// Words that carry no topic in support questions ("how do I ...", "where is my ...", "how
/// many days do I have to ...", "I need to get ..."): dropped from the index and from queries,
/// so they neither score nor count as evidence. "many", "much", "something", "anything",
/// "want", "need" and "get" joined on 2026-12-06: every data set of the eval scored higher
/// (MRR@10: tau3 0.465 → 0.520, dstc10 in context 0.444 → 0.454, knowledge 0.846 → 0.862).
/// "now", "ok" and "okay" joined later that day ("where is it now?" had quoted a back-in-stock
/// article with full confidence): tau3 0.520 → 0.523, dstc10 in context 0.454 → 0.462,
/// knowledge the same; "still" and "yet" too cost tau3 0.014, so they stay words.
#[rustfmt::skip] // one word a line otherwise ("something" is over its width for packed lists)
const STOP_WORDS: &[&str] = &[
    "a", "about", "am", "an", "and", "any", "anything", "anywhere", "are", "as", "at", "be", "been",
    "but", "by", "can", "could", "d", "did", "didn", "do", "does", "doesn", "don", "for", "from",
    "get", "had", "has", "have", "hello", "hey", "hi", "how", "i", "if", "in", "into", "is", "isn",
    "it", "its", "just", "ll", "m", "many", "me", "much", "my", "need", "now", "of", "ok", "okay",
    "on", "or", "our", "please", "re", "s", "should", "so", "some", "something", "somewhere", "t",
    "than", "thank", "thanks", "that", "the", "their", "them", "then", "there", "these", "they",
    "this", "to", "us", "ve", "want", "was", "we", "were", "what", "when", "where", "which", "who",
    "why", "will", "with", "would", "you", "your",
];

fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .filter(StopWordFilter::remove(
            STOP_WORDS.iter().map(|w| (*w).to_owned()),
        ))
        .filter(Stemmer::new(Language::English))
        .build()
}

/// Every analysed term of a text (stemmed, stop words dropped), with where it is written in
/// it (byte offsets), in order.
fn token_places(analyzer: &mut TextAnalyzer, text: &str) -> Vec<(String, usize, usize)> {
    let mut stream = analyzer.token_stream(text);
    let mut out = Vec::new();
    while stream.advance() {
        let token = stream.token();
        out.push((token.text.clone(), token.offset_from, token.offset_to));
    }
    out
}

/// Every analysed term of a text, in order.
fn tokens(analyzer: &mut TextAnalyzer, text: &str) -> Vec<String> {
    let places = token_places(analyzer, text);
    places.into_iter().map(|(term, _, _)| term).collect()
}

/// The distinct analysed terms of a text (stemmed, stop words dropped), in order.
fn terms_with(analyzer: &mut TextAnalyzer, text: &str) -> Vec<String> {
    let mut stream = analyzer.token_stream(text);
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    while stream.advance() {
        let t = stream.token().text.clone();
        if seen.insert(t.clone()) {
            out.push(t);
        }
    }
    out
}

/// The words of `context` that rank a follow-up's passages: taken in order (the latest
/// messages come first), each that is in the index, not common (a common word would rank
/// little at the cost of scoring every passage that has it) and not already the question's,
/// until [`CONTEXT_TERMS`] are taken or the next would pass [`CONTEXT_POSTINGS`]. Common is
/// as for the question's words: in more passage bodies than `cutoff` (in an index of under
/// ten passages, in more than one).
fn context_terms(
    analyzer: &mut TextAnalyzer,
    searcher: &tantivy::Searcher,
    f: Fields,
    context: &str,
    question: &[String],
    cutoff: u64,
) -> Vec<String> {
    let cutoff = cutoff.max(1);
    let in_field = |field: Field, term: &str| {
        searcher
            .doc_freq(&Term::from_field_text(field, term))
            .unwrap_or(0)
    };
    let mut stream = analyzer.token_stream(context);
    let mut seen = HashSet::new();
    let mut terms = Vec::new();
    let mut postings = 0;
    while terms.len() < CONTEXT_TERMS && stream.advance() {
        let term = &stream.token().text;
        if question.contains(term) || !seen.insert(term.clone()) {
            continue;
        }
        let in_bodies = in_field(f.body, term);
        if in_bodies > cutoff {
            continue;
        }
        let found = in_bodies + in_field(f.title, term) + in_field(f.headings, term);
        if found == 0 {
            continue;
        }
        postings += found;
        if postings > CONTEXT_POSTINGS {
            break;
        }
        terms.push(term.clone());
    }
    terms
}

/// The words of `question` as the analyzer writes them (`places`, see [`token_places`]), each
/// with the word as typed (lower case), once each: what [`terms_with`] gives, and what a typo
/// is read from.
fn typed_words(question: &str, places: &[(String, usize, usize)]) -> Vec<(String, String)> {
    let mut words: Vec<(String, String)> = Vec::new();
    for (term, from, to) in places {
        if words.iter().all(|(known, _)| known != term) {
            let raw = question.get(*from..*to).unwrap_or_default();
            words.push((term.clone(), raw.to_lowercase()));
        }
    }
    words
}

/// How many passages have `term` in their body, title, headings or tags (summed by field).
fn passages_with(searcher: &tantivy::Searcher, f: Fields, term: &str) -> u64 {
    [f.body, f.title, f.headings, f.tags]
        .into_iter()
        .map(|field| {
            searcher
                .doc_freq(&Term::from_field_text(field, term))
                .unwrap_or(0)
        })
        .sum()
}

/// The words of `question` (`typed`, see [`typed_words`]), each that no passage has, from
/// [`TYPO_LETTERS`] letters on, read as the word one likely slip away that most passages
/// have ("trackign" is "tracking"), if any (see [`typos`]).
fn corrected(
    analyzer: &mut TextAnalyzer,
    searcher: &tantivy::Searcher,
    f: Fields,
    typed: &[(String, String)],
) -> Result<Vec<String>, IndexError> {
    let passages = |term: &str| passages_with(searcher, f, term);
    let mut out: Vec<String> = Vec::with_capacity(typed.len());
    // Each word is read once, and at most a few of a question: a message of long unknown
    // words (a pasted log) would otherwise cost thousands of look-ups a word.
    let mut tries = MAX_CORRECTED;
    for (term, raw) in typed.iter().cloned() {
        let unknown = tries > 0
            && (TYPO_LETTERS..=MAX_TYPO_LETTERS).contains(&raw.chars().count())
            && raw.chars().all(char::is_alphabetic)
            && !FRAME_WORDS.contains(&term.as_str())
            && !out.contains(&term)
            && passages(&term) == 0;
        let term = if unknown {
            tries -= 1;
            let mut best: Option<(String, u64)> = None;
            let mut consider = |word: &str, n: u64| {
                if n > best.as_ref().map_or(0, |(_, most)| *most) {
                    best = Some((word.to_owned(), n));
                }
            };
            for swapped in typos::swaps(&raw) {
                // One word, as the analyzer writes it.
                if let [word] = &terms_with(analyzer, &swapped)[..] {
                    consider(word, passages(word));
                }
            }
            if raw.chars().count() >= typos::SLIP_LETTERS
                && term.chars().count() >= typos::MIN_LETTERS
            {
                for (word, n) in typos::near(searcher, f.body, &term)? {
                    consider(&word, n);
                }
            }
            best.map_or(term, |(word, _)| word)
        } else {
            term
        };
        if !out.contains(&term) {
            out.push(term);
        }
    }
    Ok(out)
}

/// Passages found (score, address), and where each has the question's words.
type Ranked = (Vec<(f32, DocAddress)>, Vec<Found>);

/// The best `k` passages for a question asked on its own: of the best k ×
/// [`COORDINATION_POOL`] by `query`, those with more of its `terms` first, each score times
/// the share of the terms the passage has.
fn coordinated(
    searcher: &tantivy::Searcher,
    f: Fields,
    query: &dyn Query,
    terms: &[String],
    k: usize,
) -> tantivy::Result<Ranked> {
    let pool = searcher.search(
        query,
        &TopDocs::with_limit(k * COORDINATION_POOL).order_by_score(),
    )?;
    let docs: Vec<DocAddress> = pool.iter().map(|(_, address)| *address).collect();
    let found = terms_in(searcher, f, terms, &docs)?;
    let mut ranked: Vec<((f32, DocAddress), Found)> = pool
        .into_iter()
        .zip(found)
        .map(|((score, address), found)| {
            let share = found.anywhere() as f32 / terms.len() as f32;
            ((score * share, address), found)
        })
        .collect();
    ranked.sort_by(|a, b| b.0.0.total_cmp(&a.0.0));
    ranked.truncate(k);
    Ok(ranked.into_iter().unzip())
}

/// Where a passage has each of a question's words: one set of [`Found::NAMED`],
/// [`Found::TAGGED`] and [`Found::SAID`] a word.
#[derive(Clone, Default)]
struct Found {
    places: Vec<u8>,
}

impl Found {
    /// In its title or headings.
    const NAMED: u8 = 1;
    /// In its tags (the article's, and the synonyms of its words).
    const TAGGED: u8 = 2;
    /// In its body.
    const SAID: u8 = 4;

    /// How many of the words the passage is about: in its title, headings or tags.
    fn about(&self) -> usize {
        self.count(Self::NAMED | Self::TAGGED)
    }

    /// How many of the words the passage has anywhere.
    fn anywhere(&self) -> usize {
        self.count(Self::NAMED | Self::TAGGED | Self::SAID)
    }

    fn count(&self, places: u8) -> usize {
        self.places.iter().filter(|p| **p & places != 0).count()
    }
}

/// What each passage of `docs` has of `terms`, read from the index's postings (a seek per
/// passage, term and field; nothing is loaded or analyzed, and each field's postings are the
/// analyzed words of its stored text).
fn terms_in(
    searcher: &tantivy::Searcher,
    f: Fields,
    terms: &[String],
    docs: &[DocAddress],
) -> tantivy::Result<Vec<Found>> {
    let mut order: Vec<usize> = (0..docs.len()).collect();
    order.sort_by_key(|&i| (docs[i].segment_ord, docs[i].doc_id));
    let mut found = vec![
        Found {
            places: vec![0; terms.len()]
        };
        docs.len()
    ];
    for (t, term) in terms.iter().enumerate() {
        for (field, place) in [
            (f.title, Found::NAMED),
            (f.headings, Found::NAMED),
            (f.tags, Found::TAGGED),
            (f.body, Found::SAID),
        ] {
            let term = Term::from_field_text(field, term);
            let mut segment = None;
            let mut postings = None;
            for &i in &order {
                let at = docs[i];
                if segment != Some(at.segment_ord) {
                    segment = Some(at.segment_ord);
                    postings = searcher
                        .segment_reader(at.segment_ord)
                        .inverted_index(field)?
                        .read_postings(&term, IndexRecordOption::Basic)?;
                }
                // Passages come in order, so each seek moves forward.
                if let Some(postings) = postings.as_mut()
                    && postings.doc() != TERMINATED
                    && postings.doc() <= at.doc_id
                    && postings.seek(at.doc_id) == at.doc_id
                {
                    found[i].places[t] |= place;
                }
            }
        }
    }
    Ok(found)
}

/// For a question that denies nothing ("Do you accept PayPal?", "What payment methods do you
/// accept?"): the first of `hits` is not a section whose heading denies ("Payment methods we
/// don't accept") when another says the same plainly ("Payment methods we accept") and has
/// every word of the question itself (in its title, headings or body, or in tags the first
/// lacks: the article's own tags are every section's). "Do you accept checks?" and "Do you
/// accept bitcoin?" (a word no passage has) stay with the first, and so does "Can I return a
/// kettle I bought on sale?" with "Final-sale items that can't be returned", whose heading
/// has no plain twin. `found`: the hits' words.
fn put_plain_first(hits: &mut Vec<Hit>, found: &[Found]) {
    fn heading(hit: &Hit) -> &str {
        hit.headings.last().map_or("", String::as_str)
    }
    let Some(first) = hits.first() else { return };
    if !super::question::negates(heading(first)) {
        return;
    }
    // The twin's heading is the first's words but those that deny (so it denies nothing).
    let affirmed = super::question::affirmed(heading(first));
    let plain = (1..hits.len().min(found.len())).find(|&j| {
        crate::conversation::signals::plain_words(heading(&hits[j])) == affirmed
            && found[j]
                .places
                .iter()
                .zip(&found[0].places)
                .all(|(plain, denied)| {
                    plain & (Found::NAMED | Found::SAID) != 0
                        || (plain & Found::TAGGED != 0 && denied & Found::TAGGED == 0)
                })
    });
    if let Some(plain) = plain {
        // It takes the first's score too, so scores still fall down the list.
        let mut plain = hits.remove(plain);
        plain.score = plain.score.max(hits[0].score);
        hits.insert(0, plain);
    }
}

/// Words of a question's frame that stay in the search ("how long does it take?", "can you
/// tell me…") but not in its coverage, the confidence without a model: a help center that
/// never says "long" or "take" still answers "How long do refunds take?" with its refund
/// timing, at full coverage of "refund". As stop words they cost the eval (`knowledge`
/// MRR@10 0.879 → 0.867, dstc10 in context 0.462 → 0.452). They weigh [`FRAME_WEIGHT`] of a
/// word in the search and are no word of a passage's in its ranking by how many it has, so
/// "Do you take PayPal?" finds the payment methods, not "a refund can take days … PayPal"
/// (MRR@10 at 0.3: knowledge 0.879 → 0.884, tau3 0.656 → 0.665, dstc10 in context 0.462 →
/// 0.467; 0.1 and 0.5 scored the same or lower). Nor is one ever the rare word a search
/// requires: "Can you tell me about gift cards?" had required "tell" and found nothing on
/// gift cards, whose words are common. "explain", "question", "information", "info" and
/// "details" frame a question too ("a question about gift cards"; tau3 0.665 → 0.661,
/// dstc10 in context 0.467 → 0.465). So does "work" ("How do refunds work?" had quoted "How
/// store credit works"; "Does your site work with JAWS?" a price adjustment): sections first
/// passage 137 → 138 of 211 (in context 140 → 141), sections MRR@10 0.886 → 0.892, tau3
/// 0.661 → 0.660.
///
/// The same frame in Spanish, French, German and Portuguese ("¿cuánto tarda…?", "combien de
/// temps…", "wie lange dauert…", "quanto tempo demora…"). Written as the analyzer leaves them
/// (stemmed, folded).
const FRAME_WORDS: &[&str] = &[
    "long", "take", "tell", "know", "soon", "explain", "work", "question", "inform", "info",
    "detail", "tarda", "tardan", "tiempo", "temp", "lang", "dauert", "tempo", "demora", "demoram",
];

/// A frame word's weight in the search, against 1 for the question's other words.
const FRAME_WEIGHT: f32 = 0.3;

/// The question's words its coverage counts: all but [`FRAME_WORDS`], unless that is all.
fn topic_terms(terms: &[String]) -> Vec<String> {
    let topic: Vec<String> = terms
        .iter()
        .filter(|t| !FRAME_WORDS.contains(&String::as_str(t)))
        .cloned()
        .collect();
    if topic.is_empty() {
        terms.to_vec()
    } else {
        topic
    }
}

/// How many of `terms` (already analyzed, distinct) occur in any of `texts`; stops reading
/// once all are found.
fn terms_found(analyzer: &mut TextAnalyzer, texts: &[&str], terms: &[String]) -> usize {
    mark_terms(analyzer, texts, terms, &mut vec![false; terms.len()])
}

/// [`terms_found`], adding to `found` (one flag a term) what earlier texts found: how many
/// of `terms` are found in all.
fn mark_terms(
    analyzer: &mut TextAnalyzer,
    texts: &[&str],
    terms: &[String],
    found: &mut [bool],
) -> usize {
    let mut missing = found.iter().filter(|f| !**f).count();
    for text in texts {
        let mut stream = analyzer.token_stream(text);
        while missing > 0 && stream.advance() {
            let token = &stream.token().text;
            if let Some(i) = terms.iter().position(|t| t == token)
                && !found[i]
            {
                found[i] = true;
                missing -= 1;
            }
        }
    }
    terms.len() - missing
}

impl Index {
    /// Opens the index in `dir`, creating it (or recreating it, if unreadable) as needed; its
    /// passages are indexed with the words `synonyms` give them.
    pub fn open(dir: &Path, synonyms: &Synonyms) -> Result<Self, IndexError> {
        std::fs::create_dir_all(dir)?;
        let (schema, fields) = schema();
        let index = match TantivyIndex::open_or_create(MmapDirectory::open(dir)?, schema.clone()) {
            Ok(index) => index,
            Err(error) => {
                tracing::warn!(%error, "search index unreadable, recreating it");
                std::fs::remove_dir_all(dir)?;
                std::fs::create_dir_all(dir)?;
                TantivyIndex::create_in_dir(dir, schema)?
            }
        };
        let analyzer = analyzer();
        index.tokenizers().register(ANALYZER, analyzer.clone());
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        // One indexing thread: passages keep the order they are added in, which breaks ties
        // in score the same way on every build (two threads share them out by chance, and
        // the eval's figures moved from run to run). Ingest of 10,000 articles measured the
        // same; of 25,000, 1.9 s against 1.5–1.7 s.
        let writer = index.writer_with_num_threads(1, WRITER_BYTES)?;
        let format = match synonyms.fingerprint() {
            None => INDEX_FORMAT.to_owned(),
            Some(fingerprint) => format!("{INDEX_FORMAT}.{fingerprint}"),
        };
        let mut analysing = analyzer.clone();
        let aliases = synonyms.compile(|phrase| tokens(&mut analysing, phrase));
        Ok(Self {
            analyzer,
            index,
            reader,
            writer: Mutex::new(Some(writer)),
            fields,
            format,
            aliases,
        })
    }

    /// The articles version the index was last committed at (`None`: never built, or built
    /// in an older format).
    pub fn version(&self) -> Option<i64> {
        let payload = self.index.load_metas().ok()?.payload?;
        let (format, version) = payload.split_once(':')?;
        (format == self.format).then(|| version.parse().ok())?
    }

    /// How many segments searches run over (for benchmarks).
    pub fn segment_count(&self) -> usize {
        self.reader.searcher().segment_readers().len()
    }

    /// Replaces the whole index with these articles.
    pub fn rebuild(&self, articles: &[Article], version: i64) -> Result<usize, IndexError> {
        self.write(|writer| {
            writer.delete_all_documents()?;
            let mut count = 0;
            for article in articles {
                count += self.add_article(writer, article)?;
            }
            self.commit(writer, Some(version))?;
            // One segment ranks fastest: top-k pruning starts over in every segment.
            // Best effort: the rebuild is committed either way (a merge already running makes
            // this one fail).
            let segments = self.index.searchable_segment_ids()?;
            if segments.len() > 1 {
                match writer.merge(&segments).wait() {
                    Ok(_) => self.reader.reload()?,
                    Err(error) => tracing::warn!(%error, "index segments not merged"),
                }
            }
            Ok(count)
        })
    }

    /// Adds or replaces articles changed at store version `version`; returns the number of
    /// passages of each.
    pub fn upsert(&self, articles: &[Article], version: i64) -> Result<Vec<usize>, IndexError> {
        let Some(recorded) = self.after_change(version) else {
            return Ok(articles
                .iter()
                .map(|a| ingest::passages(a.format, &a.body).0.len())
                .collect());
        };
        self.write(|writer| {
            let mut counts = Vec::with_capacity(articles.len());
            for article in articles {
                writer.delete_term(Term::from_field_text(self.fields.article_id, &article.id));
                counts.push(self.add_article(writer, article)?);
            }
            self.commit(writer, recorded)?;
            Ok(counts)
        })
    }

    /// Removes an article's passages (deleted at store version `version`).
    pub fn remove(&self, article_id: &str, version: i64) -> Result<(), IndexError> {
        let Some(recorded) = self.after_change(version) else {
            return Ok(());
        };
        self.write(|writer| {
            writer.delete_term(Term::from_field_text(self.fields.article_id, article_id));
            self.commit(writer, recorded)
        })
    }

    /// What to do with the one change that made store version `version`:
    /// - `None`: skip it, the index already holds it (a rebuild got there first, and applying
    ///   it again could bring back older content);
    /// - `Some(Some(version))`: apply it and record its version (the index was one behind);
    /// - `Some(None)`: apply it and record the index as stale (changes in between are missing).
    fn after_change(&self, version: i64) -> Option<Option<i64>> {
        match self.version() {
            Some(current) if current >= version => None,
            Some(current) if current + 1 == version => Some(Some(version)),
            _ => Some(None),
        }
    }

    /// Runs `work` with the writer. A writer whose work failed is dropped and a new one made
    /// (now, else before the next write): tantivy kills a writer that hits an I/O error (a
    /// QA pass ran the service out of open files), and every later write would fail with it.
    /// What the failed work did not commit is lost; the index follows the store's articles
    /// version, so the next sync brings it back.
    fn write<T>(
        &self,
        work: impl FnOnce(&mut IndexWriter) -> Result<T, IndexError>,
    ) -> Result<T, IndexError> {
        // A panic while holding the lock leaves the writer usable: tantivy rolls back
        // uncommitted work on the next commit, so recover the guard instead of failing forever.
        let mut slot = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        if slot.is_none() {
            *slot = Some(self.index.writer_with_num_threads(1, WRITER_BYTES)?);
        }
        let writer = slot.as_mut().expect("a writer was just made");
        let done = work(writer);
        if let Err(error) = &done {
            tracing::warn!(%error, "index write failed; starting a new writer");
            // The old one goes first: it holds the index's lock.
            drop(slot.take());
            match self.index.writer_with_num_threads(1, WRITER_BYTES) {
                Ok(fresh) => *slot = Some(fresh),
                Err(error) => tracing::warn!(%error, "no new index writer yet"),
            }
        }
        done
    }

    fn add_article(&self, writer: &IndexWriter, article: &Article) -> Result<usize, IndexError> {
        let (passages, _) = ingest::passages(article.format, &article.body);
        let tags = article.tags.join(" ");
        let mut analyser = self.analyzer.clone();
        // The article's title and tags, analysed once for its passages' synonyms.
        let article_terms = self
            .aliases
            .has_groups()
            .then(|| [&article.title, &tags].map(|text| tokens(&mut analyser, text)));
        for (n, passage) in passages.iter().enumerate() {
            let headings = passage.headings.join(" › ");
            let mut doc = TantivyDocument::default();
            doc.add_text(self.fields.chunk_id, format!("{}#{n}", article.id));
            doc.add_text(self.fields.article_id, &article.id);
            doc.add_text(self.fields.title, &article.title);
            // The words of the business's synonym groups the passage has one of, with its tags.
            let aliases = match &article_terms {
                Some([title, tags]) => self.aliases.of(&[
                    title,
                    tags,
                    &tokens(&mut analyser, &headings),
                    &tokens(&mut analyser, &passage.text),
                ]),
                None => String::new(),
            };
            doc.add_text(self.fields.headings, headings);
            match aliases.is_empty() {
                true => doc.add_text(self.fields.tags, &tags),
                false => doc.add_text(self.fields.tags, format!("{tags} {aliases}")),
            }
            doc.add_text(self.fields.body, &passage.text);
            if let Some(url) = &article.url {
                doc.add_text(self.fields.url, url);
            }
            writer.add_document(doc)?;
        }
        Ok(passages.len())
    }

    /// Commits, recording `version` (`None`: stale, rebuild on the next sync).
    fn commit(&self, writer: &mut IndexWriter, version: Option<i64>) -> Result<(), IndexError> {
        let mut prepared = writer.prepare_commit()?;
        let version = version.map_or_else(|| "stale".to_owned(), |v| v.to_string());
        prepared.set_payload(&format!("{}:{version}", self.format));
        prepared.commit()?;
        self.reader.reload()?;
        Ok(())
    }

    /// The best `k` passages for a question.
    pub fn search(&self, question: &str, k: usize) -> Result<Vec<Hit>, IndexError> {
        self.search_in_context(question, None, "", k)
    }

    /// The best `k` passages for a question asked after `context` (the conversation's earlier
    /// messages). Every passage found matches the question; the context's words only rank
    /// those passages, at [`CONTEXT_WEIGHT`], so "how long does that take?" after a question
    /// about returns finds the returns passages, and a new topic is not pulled back to the
    /// old one. Coverage counts the question's words only: a question in `lang` (else the
    /// language it is clearly written in) other than English loses that language's function
    /// words first.
    pub fn search_in_context(
        &self,
        question: &str,
        lang: Option<Lang>,
        context: &str,
        k: usize,
    ) -> Result<Vec<Hit>, IndexError> {
        let mut analyzer = self.analyzer.clone();
        let request = Request {
            asks: Asks::of(question),
            negated: super::question::negates(question),
            context,
            k,
        };
        let question = super::question::content_words(question, lang);
        // Tokenized once, and again only when a synonym rule rewrote it.
        let mut places = token_places(&mut analyzer, &question);
        let question = self.aliases.searched_as(&question, &places);
        if let Cow::Owned(rewritten) = &question {
            places = token_places(&mut analyzer, rewritten);
        }
        let searcher = self.reader.searcher();
        let words = typed_words(&question, &places);
        let typed: Vec<String> = words.iter().map(|(term, _)| term.clone()).collect();
        let hits = self.search_terms(&searcher, typed.clone(), &request)?;
        // A question that found no passage with more than half its words may have a misspelt one
        // ("wher is my trackign number"): it is asked again with that word read as the one
        // a slip away, and that answer kept if it covers more. Only then: most words no
        // passage has are no typo but a word the help center does not use ("really" is not
        // "real", "nothing" not "noting"), and reading them as another costs the ranking of
        // questions found well (tau3 MRR@10 0.661 -> 0.656 when every such word was read).
        let best = |hits: &[Hit]| hits.iter().map(|h| h.coverage).fold(0.0, f32::max);
        if best(&hits) <= WEAK_COVERAGE {
            let corrected = corrected(&mut analyzer, &searcher, self.fields, &words)?;
            if corrected != typed {
                let again = self.search_terms(&searcher, corrected, &request)?;
                if best(&again) > best(&hits) {
                    return Ok(again);
                }
            }
        }
        Ok(hits)
    }

    /// The best `request.k` passages for the question's words, `query_terms`.
    fn search_terms(
        &self,
        searcher: &tantivy::Searcher,
        query_terms: Vec<String>,
        request: &Request<'_>,
    ) -> Result<Vec<Hit>, IndexError> {
        let Request {
            asks,
            negated,
            context,
            k,
        } = *request;
        let mut analyzer = self.analyzer.clone();
        if query_terms.is_empty() || k == 0 {
            return Ok(Vec::new());
        }
        let f = self.fields;
        let weighted = |term: &String, weight: f32| -> Vec<(Occur, Box<dyn Query>)> {
            [
                (f.title, TITLE_BOOST),
                (f.headings, HEADING_BOOST),
                (f.tags, TAG_BOOST),
                (f.body, 1.0),
            ]
            .into_iter()
            .map(|(field, boost)| {
                let tq = TermQuery::new(
                    Term::from_field_text(field, term),
                    IndexRecordOption::WithFreqs,
                );
                let clause: Box<dyn Query> =
                    Box::new(BoostQuery::new(Box::new(tq), boost * weight));
                (Occur::Should, clause)
            })
            .collect()
        };
        let per_term = |term: &String| {
            let frame = FRAME_WORDS.contains(&term.as_str());
            weighted(term, if frame { FRAME_WEIGHT } else { 1.0 })
        };
        // Each term with the number of passage bodies it is in (one lookup a term: titles
        // and headings are too short to change which terms are common).
        let freqs: Vec<(&String, u64)> = query_terms
            .iter()
            .map(|term| {
                let df = searcher
                    .doc_freq(&Term::from_field_text(f.body, term))
                    .unwrap_or(0);
                (term, df)
            })
            .collect();
        let cutoff = (searcher.num_docs() as f64 * COMMON_TERM_SHARE) as u64;
        // Terms no body has stay optional (a title or heading may still have them).
        // Frame words are never required: "Can you tell me about gift cards?" is about gift
        // cards, which are common, and not about the passages that say "tell".
        let (rare, common): (Vec<_>, Vec<_>) = freqs.iter().partition(|(term, df)| {
            (1..=cutoff).contains(df) && !FRAME_WORDS.contains(&String::as_str(term))
        });
        // Requiring a rare term only when one alone is in k passages keeps k results.
        let enough = rare.iter().any(|(_, df)| *df >= k as u64);
        let asked = if common.is_empty() || !enough {
            BooleanQuery::new(query_terms.iter().flat_map(per_term).collect())
        } else {
            let required =
                BooleanQuery::new(rare.iter().flat_map(|(term, _)| per_term(term)).collect());
            let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Must, Box::new(required))];
            clauses.extend(common.iter().flat_map(|(term, _)| per_term(term)));
            BooleanQuery::new(clauses)
        };
        let asked_again = asks.map(|asks| (asks, asked.box_clone()));
        // Snippets show the question's words.
        let mut snippets = SnippetGenerator::create(searcher, &asked, f.body)?;
        snippets.set_max_num_chars(SNIPPET_CHARS);
        let context_terms =
            context_terms(&mut analyzer, searcher, f, context, &query_terms, cutoff);
        let query = if context_terms.is_empty() {
            asked
        } else {
            let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Must, Box::new(asked))];
            clauses.extend(
                context_terms
                    .iter()
                    .flat_map(|term| weighted(term, CONTEXT_WEIGHT)),
            );
            BooleanQuery::new(clauses)
        };
        let topic = topic_terms(&query_terms);
        // The passages, and where each has the question's words (ranking by how many read
        // them already).
        let (top, found) = if context_terms.is_empty() {
            coordinated(searcher, f, &query, &topic, k)?
        } else {
            let top = searcher.search(&query, &TopDocs::with_limit(k).order_by_score())?;
            let addresses: Vec<DocAddress> = top.iter().map(|&(_, address)| address).collect();
            let found = terms_in(searcher, f, &topic, &addresses)?;
            (top, found)
        };
        // A word no passage has (in a body, title, heading or tag), nor one a letter away when it
        // is long enough to be a typo ("Canda"), counts twice against the coverage of a
        // passage that has only one of the question's words: the question is about something
        // the help center does not cover ("do you sell cars?" has "sell" in a passage on
        // sold-out items, and no "car" anywhere). (A word a letter away is read as that word
        // only when it is a likely slip: see `typos`.)
        let fields = [f.body, f.title, f.headings];
        let count_unknown = || {
            freqs
                .iter()
                .filter(|(term, df)| {
                    let no_near = |field: Field| {
                        let near = FuzzyTermQuery::new(Term::from_field_text(field, term), 1, true);
                        searcher.search(&near, &Count).is_ok_and(|n| n == 0)
                    };
                    // `df` counts the bodies: the other fields only when it is 0.
                    *df == 0
                        && topic.contains(term)
                        && passages_with(searcher, f, term) == 0
                        && (term.chars().count() < TYPO_LETTERS || fields.into_iter().all(no_near))
                })
                .count()
        };
        // Counted once, and only when a passage needs it (a typo's look-up scans the words).
        let unknown = std::cell::OnceCell::new();
        let hit_at = |score: f32, address: DocAddress, found: &Found| {
            let (mut hit, about) = self.hit(searcher, address, score, &snippets, &topic, found)?;
            // Only for a passage that shares a single word with the question: with two or
            // more, the unknown word is most often a product's name ("exchange my shirt for
            // a bigger size"). Nor when that word is what the passage is about, in its title,
            // headings or tags: in a small help center most everyday words are in no
            // article, and "Is there somewhere to park my car?" is answered by "Parking"
            // ("do you sell cars?" has "sell" in the body of a passage on sold-out items).
            if hit.found <= 1 && !about {
                let unknown = *unknown.get_or_init(count_unknown);
                hit.coverage = hit.found as f32 / (topic.len() + unknown) as f32;
            }
            Ok::<_, IndexError>(hit)
        };
        let mut hits = top
            .into_iter()
            .zip(&found)
            .map(|((score, address), found)| hit_at(score, address, found))
            .collect::<Result<Vec<Hit>, _>>()?;
        if !negated {
            put_plain_first(&mut hits, &found);
        }
        let hit_alone = |score: f32, address: DocAddress| {
            let found = terms_in(searcher, f, &topic, &[address])?;
            hit_at(score, address, &found[0])
        };
        // A question its title answers whole ("what is your returns policy?") is about the
        // whole article: its opening passage comes first, not whichever section is shortest
        // ("Returning a gift"), unless that section's heading also has every word of it
        // ("When will I get my money back?" in "Refunds - when and how you get your money back").
        let whole = |text: &str, analyzer: &mut TextAnalyzer| {
            terms_found(analyzer, &[text], &query_terms) == query_terms.len()
        };
        if let Some(first) = hits.first()
            && !first.chunk_id.ends_with("#0")
            && whole(&first.title, &mut analyzer)
            && !whole(&first.headings.join(" "), &mut analyzer)
        {
            let opening = format!("{}#0", first.article_id);
            let score = first.score;
            let query = TermQuery::new(
                Term::from_field_text(f.chunk_id, &opening),
                IndexRecordOption::Basic,
            );
            if let Some(&(_, address)) = searcher
                .search(&query, &TopDocs::with_limit(1).order_by_score())?
                .first()
            {
                // Only an introduction: an article that starts with a section has none.
                let opening_hit = hit_alone(score, address)?;
                if opening_hit.headings.is_empty() {
                    hits.retain(|hit| hit.chunk_id != opening);
                    hits.insert(0, opening_hit);
                    hits.truncate(k);
                }
            }
        }
        // A question about time ("How long do refunds take?") is answered by the passage of
        // the article found first that tells one (its heading, else a duration in its text),
        // not by the one with the most of the question's other words ("What is refunded"),
        // whether or not it has them ("When will I get my money back?" has no "soon"). And a
        // question about how to do something ("How do I make a claim?") by its steps
        // ("Submit a warranty claim online"), not what to know before ("Before you make a
        // claim").
        if let Some((asks, asked)) = asked_again
            && let Some(first) = hits.first()
            && let heading = first.headings.last().map_or("", String::as_str)
            && let mut best = asks.told(heading, &first.text)
            && best < super::timing::TELLS_MOST
        {
            let displaced = (first.score, first.found, first.coverage);
            let article = first.article_id.clone();
            // A first passage that tells a time and is found for a word of its own heading
            // that the article's title lacks ("Refunds for cancelled orders" for "I cancelled
            // my order, when do I get my money back?") gives way only to one with that word;
            // any first passage, to steps ("Updating your saved addresses" for "how do I
            // update my saved address", not "Change the address within 1 hour"). And steps
            // must have a word of the question besides the title's ("how should I wash linen
            // pants" stays with "Caring for your clothes", not "How to measure yourself").
            let own: Vec<String> = if best > 0 || asks == Asks::How {
                let (mut in_heading, mut in_title) =
                    (vec![false; topic.len()], vec![false; topic.len()]);
                mark_terms(&mut analyzer, &[heading], &topic, &mut in_heading);
                mark_terms(&mut analyzer, &[&first.title], &topic, &mut in_title);
                topic
                    .iter()
                    .zip(in_heading.iter().zip(&in_title))
                    .filter(|(_, (heading, title))| **heading && !**title)
                    .map(|(term, _)| term.clone())
                    .collect()
            } else {
                Vec::new()
            };
            // Every passage of the article, those with the question's words first.
            let in_article = BooleanQuery::new(vec![
                (Occur::Should, asked),
                (
                    Occur::Must,
                    Box::new(TermQuery::new(
                        Term::from_field_text(f.article_id, &article),
                        IndexRecordOption::Basic,
                    )),
                ),
            ]);
            let mut telling = None;
            let passages = TopDocs::with_limit(PASSAGES_PER_ARTICLE).order_by_score();
            for (_, address) in searcher.search(&in_article, &passages)? {
                let doc: TantivyDocument = searcher.doc(address)?;
                let text = |field: Field| doc.get_first(field).and_then(|v| v.as_str());
                let heading = text(f.headings).and_then(|h| h.rsplit(" › ").next());
                let (heading, body) = (
                    heading.unwrap_or_default(),
                    text(f.body).unwrap_or_default(),
                );
                let told = asks.told(heading, body);
                if told > best
                    && terms_found(&mut analyzer, &[heading, body], &own) == own.len()
                    && (asks == Asks::When
                        || terms_found(&mut analyzer, &[heading, body], &topic) > 0)
                {
                    (best, telling) = (told, Some(address));
                    if best == super::timing::TELLS_MOST {
                        break;
                    }
                }
            }
            let (score, found, coverage) = displaced;
            let mut moved = telling
                .map(|address| hit_alone(score, address))
                .transpose()?;
            // One that lacks a word the displaced passage has ("Canada", for "How long does
            // shipping to Canada take?", in the article's table of US delivery times) gives
            // way to another passage found whose heading tells a time and that has every
            // word the displaced one has ("International shipping times and costs"). Not
            // for a question asked after others: its words are few ("how long is it
            // covered?") and the article its context chose is the one it asks about.
            if context_terms.is_empty()
                && asks == Asks::When
                && moved.as_ref().is_some_and(|moved| moved.found < found)
                && let Some(other) = hits.iter().skip(1).find(|hit| {
                    let heading = hit.headings.last().map_or("", String::as_str);
                    hit.found >= found && asks.told(heading, &hit.text) == super::timing::TELLS_MOST
                })
            {
                moved = Some(other.clone());
            }
            // It answers what the passage it displaces was found for: it takes that one's
            // score, and its share of the question's words when that is more.
            if let Some(mut moved) = moved {
                moved.score = moved.score.max(score);
                moved.found = moved.found.max(found);
                moved.coverage = moved.coverage.max(coverage);
                hits.retain(|hit| hit.chunk_id != moved.chunk_id);
                hits.insert(0, moved);
                hits.truncate(k);
            }
        }
        Ok(hits)
    }

    /// The passage at `address` as a hit, and whether its title, headings or tags have the
    /// question's one word it has (false when it has more or none).
    fn hit(
        &self,
        searcher: &tantivy::Searcher,
        address: DocAddress,
        score: f32,
        snippets: &SnippetGenerator,
        topic: &[String],
        found: &Found,
    ) -> Result<(Hit, bool), IndexError> {
        let f = self.fields;
        let doc: TantivyDocument = searcher.doc(address)?;
        let text_of = |field: Field| {
            doc.get_first(field)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_owned()
        };
        let body = text_of(f.body);
        let title = text_of(f.title);
        let headings = text_of(f.headings);
        let fragment = snippets.snippet_from_doc(&doc).fragment().trim().to_owned();
        let snippet = if fragment.is_empty() {
            clipped(&body, &body.chars().take(SNIPPET_CHARS).collect::<String>())
        } else {
            clipped(&body, &fragment)
        };
        let (named, anywhere) = (found.about(), found.anywhere());
        // Only asked of a passage with a single word of the question.
        let about = anywhere == 1 && named > 0;
        let url = text_of(f.url);
        let hit = Hit {
            article_id: text_of(f.article_id),
            chunk_id: text_of(f.chunk_id),
            title,
            url: (!url.is_empty()).then_some(url),
            headings: headings
                .split(" › ")
                .filter(|h| !h.is_empty())
                .map(str::to_owned)
                .collect(),
            text: body,
            snippet,
            score,
            coverage: anywhere as f32 / topic.len() as f32,
            found: anywhere,
        };
        Ok((hit, about))
    }
}

/// A snippet of `body` as a citation shows it: from the start of a line or sentence in its
/// first third when it starts mid-sentence ("y\n- en el caso de ropa…" starts at "- en el
/// caso"), else with "…" before; and with "…" after when the passage goes on past a
/// sentence cut short.
fn clipped(body: &str, fragment: &str) -> String {
    let Some(at) = body.find(fragment) else {
        return fragment.to_owned();
    };
    let mut text = fragment;
    let mut head = "";
    let after_an_end = body[..at]
        .trim_end_matches(' ')
        .ends_with(['.', '?', '!', ';', '\n']);
    if at > 0 && !after_an_end {
        let third = text.len() / 3;
        let start = ["\n", ". ", "? ", "! ", "; "]
            .iter()
            .filter_map(|end| text.find(end).map(|i| i + end.len()))
            .filter(|&i| i <= third)
            .min();
        match start {
            Some(i) => text = text[i..].trim_start(),
            None => head = "…",
        }
    }
    let text = text.trim_end();
    let tail = if at + fragment.len() < body.trim_end().len() && !text.ends_with(['.', '?', '!']) {
        "…"
    } else {
        ""
    };
    format!("{head}{text}{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snippet_starts_at_a_line_or_sentence_and_says_where_it_was_cut() {
        let body =
            "Puedes devolver la ropa sin usar y\n- en el caso de ropa, con etiquetas.\nNada más.";
        let fragment = "y\n- en el caso de ropa, con etiquetas.";
        assert_eq!(
            clipped(body, fragment),
            "- en el caso de ropa, con etiquetas."
        );
        assert_eq!(
            clipped(body, "y\n- en el caso de ropa"),
            "- en el caso de ropa…"
        );
        // No line or sentence starts early in it: "…" says it was cut.
        let body = "Standard orders travel with USPS or UPS in the mainland states and Washington.";
        assert_eq!(
            clipped(body, "in the mainland states and Washington."),
            "…in the mainland states and Washington."
        );
        // After a sentence's end: no "…".
        assert_eq!(clipped("One. Two is here.", "Two is here."), "Two is here.");
        // From the passage's start to its end: as it is.
        assert_eq!(
            clipped("Whole passage.", "Whole passage."),
            "Whole passage."
        );
        assert_eq!(
            clipped("Whole passage, and more.", "Whole passage"),
            "Whole passage…"
        );
    }
    use crate::storage::Format;

    fn article(id: &str, text: &str) -> Article {
        Article {
            id: id.into(),
            title: text.into(),
            body: format!("# {text}\n\n{text} explained."),
            format: Format::Markdown,
            url: None,
            locale: None,
            tags: Vec::new(),
            created_at: String::new(),
            updated_at: String::new(),
        }
    }

    /// `n` one-passage articles on topics of their own ("Topic 3"), so that a word in a few
    /// passages of a test is not common.
    fn topics(n: usize) -> Vec<Article> {
        (0..n)
            .map(|i| article(&format!("other{i}"), &format!("Topic {i}")))
            .collect()
    }

    /// An article with its own body (markdown).
    fn with_body(id: &str, title: &str, body: &str) -> Article {
        Article {
            body: body.into(),
            ..article(id, title)
        }
    }

    #[test]
    fn frame_words_are_written_as_the_analyzer_leaves_them() {
        let mut analyzer = analyzer();
        for word in FRAME_WORDS {
            assert_eq!(terms_with(&mut analyzer, word), [*word], "{word}");
        }
        assert_eq!(
            terms_with(&mut analyzer, "temps, lange, tardan"),
            ["temp", "lang", "tardan"]
        );
    }

    #[test]
    fn coverage_counts_each_question_term_once_across_title_headings_and_body() {
        let mut analyzer = analyzer();
        let terms = terms_with(&mut analyzer, "refund shipping kettle");
        assert_eq!(terms.len(), 3);
        // Stemmed and case-folded like the index; a term repeated counts once.
        let texts = [
            "Refunds",
            "Shipping › Refunded items",
            "We ship within two days.",
        ];
        assert_eq!(terms_found(&mut analyzer, &texts, &terms), 2);
        assert_eq!(terms_found(&mut analyzer, &["kettles"], &terms), 1);
        assert_eq!(terms_found(&mut analyzer, &[""], &terms), 0);
    }

    /// A write that fails gets the writer replaced: its uncommitted work is gone and the next
    /// write works (tantivy kills a writer that hits an I/O error, and before, every later
    /// write failed with it until a restart).
    #[test]
    fn a_failed_write_leaves_a_working_writer() {
        let dir = tempfile::tempdir().expect("dir");
        let index = Index::open(dir.path(), &Synonyms::default()).expect("index");
        index
            .rebuild(&[article("a", "returns")], 1)
            .expect("rebuild");
        let failed: Result<(), IndexError> = index.write(|writer| {
            index.add_article(writer, &article("b", "zeppelins"))?;
            Err(std::io::Error::other("no more open files").into())
        });
        assert!(failed.is_err());
        index
            .upsert(&[article("c", "shipping")], 2)
            .expect("the next write works");
        assert_eq!(index.version(), Some(2));
        assert!(index.search("zeppelins", 5).expect("search").is_empty());
        assert_eq!(index.search("shipping", 5).expect("search").len(), 1);
    }

    #[test]
    fn a_change_records_its_version_only_when_nothing_is_missing() {
        let dir = tempfile::tempdir().expect("dir");
        let index = Index::open(dir.path(), &Synonyms::default()).expect("index");
        index
            .rebuild(&[article("a", "returns")], 3)
            .expect("rebuild");
        assert_eq!(index.version(), Some(3));

        index
            .upsert(&[article("b", "shipping")], 4)
            .expect("upsert");
        assert_eq!(index.version(), Some(4), "the next change moves it forward");

        index.upsert(&[article("b", "shipping")], 4).expect("again");
        assert_eq!(index.version(), Some(4), "a change it has is no gap");

        index.remove("a", 6).expect("remove");
        assert_eq!(index.version(), None, "change 5 is missing: stale");
        assert!(index.search("returns", 5).expect("search").is_empty());

        index
            .rebuild(&[article("b", "shipping")], 6)
            .expect("rebuild");
        assert_eq!(index.version(), Some(6));

        // A change the rebuild already holds is not applied again (it would bring back the
        // older text of an article edited since).
        index.upsert(&[article("b", "parcels")], 5).expect("late");
        assert_eq!(index.version(), Some(6));
        assert!(index.search("parcels", 5).expect("search").is_empty());
    }

    #[test]
    fn the_context_ranks_what_the_question_finds_and_finds_nothing_itself() {
        let dir = tempfile::tempdir().expect("dir");
        let index = Index::open(dir.path(), &Synonyms::default()).expect("index");
        // Twenty more passages, so that a word in one or two is not common.
        let mut articles = topics(20);
        articles.extend([
            with_body("delivery", "Delivery", "Delivery takes 3 to 5 days."),
            with_body(
                "refunds",
                "Refunds",
                "A refund takes 10 days to reach your card.",
            ),
            with_body(
                "returns",
                "Returns",
                "Send returns within 30 days of delivery.",
            ),
            with_body("gifts", "Gift cards", "Gift cards never expire."),
        ]);
        index.rebuild(&articles, 1).expect("rebuild");
        let ids =
            |hits: Vec<Hit>| -> Vec<String> { hits.into_iter().map(|h| h.article_id).collect() };
        let alone = index.search("how long does it take?", 5).expect("search");
        assert_eq!(
            ids(alone.clone()),
            ["delivery", "refunds"],
            "the question alone"
        );
        let asked = index
            .search_in_context(
                "how long does it take?",
                None,
                "I sent my returns back for a refund",
                5,
            )
            .expect("search");
        assert_eq!(asked[0].article_id, "refunds");
        assert_eq!(
            asked.len(),
            2,
            "nothing matches the context alone: {asked:?}"
        );
        assert_eq!(
            asked[0].coverage, alone[1].coverage,
            "coverage counts the question's words only"
        );
        // A new topic is not pulled back to the old one.
        let asked = index
            .search_in_context(
                "do gift cards expire?",
                None,
                "I want my refund for a kettle",
                5,
            )
            .expect("search");
        assert_eq!(asked[0].article_id, "gifts");
    }

    #[test]
    fn a_question_on_its_own_ranks_first_the_passages_with_more_of_its_words() {
        let dir = tempfile::tempdir().expect("dir");
        let index = Index::open(dir.path(), &Synonyms::default()).expect("index");
        let filler = "Orders are packed in Portland and leave the warehouse on business days. ";
        let mut articles = topics(20);
        articles.extend([
            // A short heading with one of the question's words scores high on it alone.
            with_body(
                "delivery",
                "Delivery",
                "# Delivery\n\n## Why it might take longer\n\nHolidays.",
            ),
            with_body(
                "payments",
                "Payments",
                &format!("{}We take PayPal and cards.", filler.repeat(8)),
            ),
            with_body("sold-out", "Sold out", "Popular items sell out fast."),
            with_body("abroad", "Abroad", "We send parcels to Canada."),
        ]);
        index.rebuild(&articles, 1).expect("rebuild");
        let hits = index.search("Do you take PayPal?", 2).expect("search");
        assert_eq!(hits[0].article_id, "payments", "{hits:?}");
        assert_eq!(
            (hits[0].found, hits[0].coverage),
            (1, 1.0),
            "PayPal; \"take\" is the frame"
        );
        assert_eq!(hits[1].article_id, "delivery", "{hits:?}");

        // The first passage's words found and coverage.
        let first = |question: &str| {
            let hits = index.search(question, 1).expect("search");
            (hits[0].found, hits[0].coverage)
        };
        // A word no passage has counts twice: "sell" of two words found, "cars" nowhere.
        let hits = index.search("Do you sell cars?", 1).expect("search");
        assert_eq!(hits[0].article_id, "sold-out");
        assert_eq!((hits[0].found, hits[0].coverage), (1, 1.0 / 3.0));
        // With two of the question's words, an unknown one (a product's name) counts once.
        assert_eq!(first("Do you take PayPal cards for zorbs?"), (2, 2.0 / 3.0));
        // The frame's words ("take") are not among them, so "PayPal" alone beside an
        // unknown word is as "sell" beside "cars".
        assert_eq!(first("Do you take PayPal for zorbs?"), (1, 1.0 / 3.0));
        // The question's frame ("how long … take") is no part of what it is about: no
        // passage says "long", and PayPal's passage covers it whole.
        let hits = index
            .search("How long does PayPal take?", 1)
            .expect("search");
        assert_eq!(hits[0].article_id, "payments", "{hits:?}");
        assert_eq!(hits[0].coverage, 1.0, "{hits:?}");
        // A long word a letter away from an indexed one is a typo, not an unknown word; one
        // with two letters swapped is read as the word meant, when the question finds little
        // without it.
        assert_eq!(first("Do you send to Canda?"), (1, 0.5));
        assert_eq!(first("Do you send to Cnaada?"), (2, 1.0));
    }

    #[test]
    fn the_frame_ranks_little_and_a_businesss_tags_rank_their_articles() {
        let dir = tempfile::tempdir().expect("dir");
        let index = Index::open(dir.path(), &Synonyms::default()).expect("index");
        let mut articles = topics(20);
        articles.extend([
            // Has both words of "Do you take PayPal?", but "take" is its frame.
            with_body(
                "credit",
                "Store credit",
                "A refund to your card can take ten days. Store credit can't be moved to PayPal.",
            ),
            Article {
                tags: vec!["paypal".into(), "crypto".into()],
                ..with_body(
                    "payments",
                    "Accepted payment methods",
                    "We accept cards, PayPal and Apple Pay, and gift cards with them.",
                )
            },
        ]);
        index.rebuild(&articles, 1).expect("rebuild");
        let first = |question: &str| index.search(question, 2).expect("search")[0].clone();
        assert_eq!(first("Do you take PayPal?").article_id, "payments");
        // A tag finds its article when the text never says the word, and counts as one of
        // its passages' words (the business says the article is about it).
        let hit = first("Do you take crypto?");
        assert_eq!(
            (hit.article_id.as_str(), hit.found, hit.coverage),
            ("payments", 1, 1.0)
        );
        // A word no passage has ("program") does not count twice against an article tagged
        // with the question's other word, as the business filed it under that word.
        let hit = first("Do you have a crypto program?");
        assert_eq!((hit.article_id.as_str(), hit.coverage), ("payments", 0.5));
    }

    /// A business's synonyms find the passages that say it their way: a group's words each
    /// other's, counted as the passage's words; a word on the left of `=>` as the phrase on
    /// the right, instead of itself. Other rules make another index, which the service
    /// rebuilds.
    #[test]
    fn synonyms_find_the_passages_that_say_it_otherwise() {
        let dir = tempfile::tempdir().expect("dir");
        let synonyms =
            Synonyms::parse("amex, american express\njaws, nvda => screen reader\nparcel, package")
                .expect("synonyms");
        let index = Index::open(dir.path(), &synonyms).expect("index");
        let mut articles = topics(20);
        articles.extend([
            with_body(
                "payments",
                "Accepted payment methods",
                "We accept Visa and American Express.",
            ),
            with_body("cards", "Gift cards", "Amex gift cards are not ours."),
            with_body(
                "access",
                "Accessibility",
                "Every page works with a screen reader.",
            ),
            with_body("tools", "Tools we test with", "We test with JAWS and NVDA."),
        ]);
        index.rebuild(&articles, 1).expect("rebuild");
        /// The articles whose passages have a word of the question, by id.
        fn found(index: &Index, question: &str) -> Vec<String> {
            let mut ids: Vec<String> = index
                .search(question, 5)
                .expect("search")
                .into_iter()
                .filter(|hit| hit.coverage > 0.0)
                .map(|hit| hit.article_id)
                .collect();
            ids.sort();
            ids
        }
        assert_eq!(found(&index, "amex"), ["cards", "payments"]);
        assert_eq!(found(&index, "american express"), ["cards", "payments"]);
        assert_eq!(found(&index, "jaws"), ["access"]);
        assert_eq!(found(&index, "Does NVDA work?"), ["access"]);
        // One way: "screen reader" finds the passage that says it, not those naming one.
        assert_eq!(found(&index, "screen reader"), ["access"]);
        let hit = index.search("Do you take Amex?", 1).expect("search")[0].clone();
        assert_eq!((hit.found, hit.coverage), (1, 1.0));
        assert_eq!(index.version(), Some(1));
        drop(index);
        // The same folder opened with other rules (or none) reads as needing a rebuild.
        let other = Synonyms::parse("amex, american express").expect("synonyms");
        assert_eq!(
            Index::open(dir.path(), &other).expect("index").version(),
            None
        );
        let none = Index::open(dir.path(), &Synonyms::default()).expect("index");
        assert_eq!(none.version(), None);
        none.rebuild(&articles, 2).expect("rebuild");
        assert_eq!(none.version(), Some(2));
        assert_eq!(found(&none, "amex"), ["cards"]);
    }

    /// A frame word is never the rare word a search requires: "tell" in a few passages, gift
    /// cards in many (common), and the question is about gift cards.
    #[test]
    fn a_frame_word_is_never_required() {
        let dir = tempfile::tempdir().expect("dir");
        let index = Index::open(dir.path(), &Synonyms::default()).expect("index");
        // 48 passages: common is in more than 4; "tell" and "question" are in 2.
        let mut articles = topics(40);
        for i in 0..6 {
            articles.push(with_body(
                &format!("gift{i}"),
                "Gift cards",
                "Gift cards never expire; a gift card pays for any order.",
            ));
        }
        for i in 0..2 {
            articles.push(with_body(
                &format!("tell{i}"),
                &format!("Orders {i}"),
                "Tell us your question and the order number.",
            ));
        }
        index.rebuild(&articles, 1).expect("rebuild");
        for question in [
            "Can you tell me about gift cards?",
            "A question about gift cards",
        ] {
            let hits = index.search(question, 2).expect("search");
            assert!(
                hits[0].article_id.starts_with("gift"),
                "{question}: {hits:?}"
            );
        }
    }

    /// A question about time gets its article's section that tells one, ahead of the one
    /// with more of its words; a first section found for its heading's own word and giving a
    /// duration keeps its place; other questions are ranked as before.
    #[test]
    fn a_question_about_time_gets_the_section_that_tells_it() {
        let dir = tempfile::tempdir().expect("dir");
        let index = Index::open(dir.path(), &Synonyms::default()).expect("index");
        let refunds = with_body(
            "refunds",
            "Refunds",
            "We refund returns.\n\n\
             ## What is refunded\n\nRefunds cover the refunded items; refunds never cover \
             the refunded shipping of refunds.\n\n\
             ## When will I get my money back?\n\nRefunds appear within 5 business days.\n\n\
             ## Refunds for cancelled orders\n\nA cancelled order's hold drops off within 3 days.",
        );
        let mut articles = topics(20);
        articles.push(refunds);
        index.rebuild(&articles, 1).expect("rebuild");
        let first = |question: &str| {
            let hits = index.search(question, 3).expect("search");
            hits[0].headings.last().cloned().unwrap_or_default()
        };
        assert_eq!(
            first("How long do refunds take?"),
            "When will I get my money back?"
        );
        assert_eq!(first("What do refunds cover?"), "What is refunded");
        assert_eq!(
            first("I cancelled my order, when do I get my refund?"),
            "Refunds for cancelled orders"
        );
    }

    /// A question that denies nothing gets the section that says it plainly, not its twin
    /// that denies, when the plain one has every word of the question.
    #[test]
    fn a_section_that_denies_gives_way_to_its_plain_twin() {
        let dir = tempfile::tempdir().expect("dir");
        let index = Index::open(dir.path(), &Synonyms::default()).expect("index");
        let payments = Article {
            tags: vec!["paypal".into()],
            ..with_body(
                "payments",
                "Accepted payment methods",
                "You can pay by card.\n\n\
                 ## Payment methods we accept\n\nVisa, Mastercard and PayPal.\n\n\
                 ## Payment methods we don't accept\n\nWe don't accept checks, cash or \
                 cryptocurrency; we don't accept money orders.",
            )
        };
        let mut articles = topics(20);
        articles.push(payments);
        index.rebuild(&articles, 1).expect("rebuild");
        let first = |question: &str| {
            let hits = index.search(question, 3).expect("search");
            hits[0].headings.last().cloned().unwrap_or_default()
        };
        for (question, section) in [
            ("Do you accept PayPal?", "Payment methods we accept"),
            (
                "What payment methods do you accept?",
                "Payment methods we accept",
            ),
            ("Do you accept checks?", "Payment methods we don't accept"),
            (
                "Which payment methods don't you accept?",
                "Payment methods we don't accept",
            ),
        ] {
            assert_eq!(first(question), section, "{question}");
        }
    }

    #[test]
    fn a_question_its_title_answers_whole_gets_the_articles_opening() {
        let dir = tempfile::tempdir().expect("dir");
        let index = Index::open(dir.path(), &Synonyms::default()).expect("index");
        let policy = with_body(
            "returns",
            "Returns policy",
            "You can return most items within 30 days of delivery for a refund. It costs \
                   nothing when the item is faulty, and the label is free for members.\n\n\
                   ## Returning a gift\n\nUse the gift receipt.\n\n\
                   ## Final sale\n\nFinal-sale items cannot be returned.",
        );
        let mut articles = topics(20);
        articles.push(policy);
        index.rebuild(&articles, 1).expect("rebuild");
        let hits = index
            .search("What is your returns policy?", 2)
            .expect("search");
        assert_eq!(hits[0].chunk_id, "returns#0", "{hits:?}");
        assert_eq!(hits.len(), 2, "{hits:?}");
        // A question with a word beyond the title is ranked as any other, and so is one a
        // section's heading has whole.
        let hits = index.search("Can I return a gift?", 1).expect("search");
        assert_eq!(hits[0].chunk_id, "returns#1", "{hits:?}");
        let refunds = with_body(
            "refunds",
            "Refunds - when you get your money back",
            "Once your return reaches us, we process your refund and email you about \
                   it, and this page says where the money goes and what is refunded.\n\n\
                   ## When you get your money back\n\nWithin 5 to 10 days.\n\n\
                   ## Store credit\n\nStore credit is issued in 1 day.",
        );
        articles.push(refunds);
        index.rebuild(&articles, 2).expect("rebuild");
        let hits = index
            .search("When do I get my money back?", 1)
            .expect("search");
        assert_eq!(hits[0].chunk_id, "refunds#1", "{hits:?}");
        // An article that starts with a section has no opening to move first.
        let wrapping = with_body(
            "wrapping",
            "Gift wrapping",
            "## Prices\n\nIt costs four dollars an item, paid at checkout with the rest \
                   of the order, and it is refunded when the item comes back.\n\n\
                   ## Paper\n\nGift paper is recycled.",
        );
        articles.push(wrapping);
        index.rebuild(&articles, 3).expect("rebuild");
        let hits = index.search("gift wrapping?", 1).expect("search");
        assert_eq!(hits[0].chunk_id, "wrapping#1", "{hits:?}");
    }

    #[test]
    fn postings_count_a_questions_words_in_passages_of_every_segment() {
        let dir = tempfile::tempdir().expect("dir");
        let index = Index::open(dir.path(), &Synonyms::default()).expect("index");
        index
            .rebuild(
                &[
                    with_body("a", "Payments", "We take cards."),
                    Article {
                        tags: vec!["phones".into()],
                        ..with_body(
                            "b",
                            "Wallets",
                            "PayPal and Apple Pay.\n\n## On phones\n\nTap to pay.",
                        )
                    },
                ],
                1,
            )
            .expect("rebuild");
        index
            .upsert(&[with_body("c", "PayPal", "We take PayPal.")], 2)
            .expect("upsert");
        assert!(index.segment_count() > 1, "the upsert makes a segment");
        let searcher = index.reader.searcher();
        let mut analyzer = analyzer();
        let terms = terms_with(&mut analyzer, "take paypal cards phone tap");
        let all = searcher
            .search(
                &tantivy::query::AllQuery,
                &TopDocs::with_limit(10).order_by_score(),
            )
            .expect("all");
        let docs: Vec<DocAddress> = all.iter().map(|(_, address)| *address).collect();
        let counted = terms_in(&searcher, index.fields, &terms, &docs).expect("counts");
        for (address, counted) in docs.iter().zip(counted) {
            let doc: TantivyDocument = searcher.doc(*address).expect("doc");
            let text = |field: Field| {
                doc.get_first(field)
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_owned()
            };
            let f = index.fields;
            let named = [text(f.title), text(f.headings), text(f.tags)];
            let [title, headings, tags] = named.each_ref().map(String::as_str);
            let body = text(f.body);
            let read = (
                terms_found(&mut analyzer, &[title, headings, tags], &terms),
                terms_found(&mut analyzer, &[title, headings, tags, &body], &terms),
            );
            assert_eq!(
                (counted.about(), counted.anywhere()),
                read,
                "{title}: {body}"
            );
        }
    }

    #[test]
    fn common_terms_only_rank_passages_that_match_a_rarer_one() {
        let dir = tempfile::tempdir().expect("dir");
        let index = Index::open(dir.path(), &Synonyms::default()).expect("index");
        let mut articles: Vec<Article> = (0..20)
            .map(|i| article(&format!("a{i}"), &format!("Delivery times {i}")))
            .collect();
        articles.push(article("kettle", "Kettle delivery"));
        index.rebuild(&articles, 1).expect("rebuild");

        let hits = index.search("delivery for my kettle", 1).expect("search");
        let ids: Vec<&str> = hits.iter().map(|h| h.article_id.as_str()).collect();
        assert_eq!(ids, ["kettle"], "only the rare term's passages are ranked");
        let hits = index.search("delivery for my kettle", 5).expect("search");
        assert_eq!(hits.len(), 5, "too few with the rare term: all are ranked");
        assert_eq!(hits[0].article_id, "kettle");
        // Only common terms (and one no passage has): plain ranking over all of them.
        let hits = index.search("delivery xyzzy", 5).expect("search");
        assert_eq!(hits.len(), 5);
    }

    #[test]
    fn passages_tied_in_score_rank_in_the_order_they_were_indexed() {
        let dir = tempfile::tempdir().expect("dir");
        let index = Index::open(dir.path(), &Synonyms::default()).expect("index");
        // Copies of one article, indexed last id first.
        let copies: Vec<String> = (0..300).rev().map(|i| format!("copy{i:03}")).collect();
        let articles: Vec<Article> = copies
            .iter()
            .map(|id| article(id, "Gift card balance"))
            .collect();
        index.rebuild(&articles, 1).expect("rebuild");

        let hits = index
            .search("gift card balance", copies.len())
            .expect("search");
        let ids: Vec<&str> = hits.iter().map(|h| h.article_id.as_str()).collect();
        assert_eq!(
            ids, copies,
            "ties keep the order of indexing, on every build"
        );
    }
}
