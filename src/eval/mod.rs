//! `frontdesk eval`: scores retrieval, routing and handoff decisions on labelled data, through
//! the same code the service runs (the tantivy index and search, the handoff triggers, then the
//! configured model's tool calls or, without a model, the deterministic router). Data layout
//! and formats: see the README's "Evaluation" section.

pub mod metrics;
pub mod model_routing;

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    io::BufRead,
    path::{Path, PathBuf},
};

use serde::{Deserialize, Serialize};

use crate::{
    conversation::{
        intent::{self, AccountIntent},
        triggers,
    },
    retrieval::{Index, Synonyms},
    storage::{Article, Format, HandoffReason},
};
use metrics::{BinaryScores, ClassificationReport, RetrievalReport};
use model_routing::ModelRouter;

/// Why an evaluation could not run.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("{path}: {message}")]
    Data { path: String, message: String },
    #[error(transparent)]
    Index(#[from] crate::retrieval::IndexError),
    #[error(transparent)]
    Synonyms(#[from] crate::retrieval::SynonymsError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Passages fetched per query before they are folded into a document ranking.
const PASSAGES_PER_QUERY: usize = 50;

/// The whole report.
#[derive(Debug, Serialize)]
pub struct Report {
    pub retrieval: Vec<RetrievalRun>,
    pub routing: Option<RoutingRun>,
}

impl Report {
    /// Drops the lists of misses (kept for `--misses`), leaving the scores.
    pub fn without_misses(mut self) -> Self {
        for run in &mut self.retrieval {
            run.misses.clear();
            if let Some(sections) = &mut run.sections {
                sections.misses.clear();
            }
        }
        if let Some(routing) = &mut self.routing {
            routing.misses.clear();
        }
        self
    }
}

/// One retrieval data set scored with one way of building the query.
#[derive(Debug, Serialize)]
pub struct RetrievalRun {
    pub dataset: String,
    pub query: &'static str,
    pub documents: usize,
    #[serde(flatten)]
    pub scores: RetrievalReport,
    /// The questions a document that does not answer them was ranked first for (or nothing
    /// was found for), in the order they were read.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub misses: Vec<RetrievalMiss>,
    /// For questions labelled with the sections that answer them: how often the first
    /// passage a turn gets is one of them (what extractive mode quotes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sections: Option<SectionScore>,
}

/// How often the first passage is a labelled section.
#[derive(Debug, Serialize)]
pub struct SectionScore {
    pub questions: usize,
    pub first_right: usize,
    pub share: f64,
    /// The questions whose first passage is none of their sections.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub misses: Vec<SectionMiss>,
}

/// A question whose first passage is not a section that answers it.
#[derive(Debug, Serialize)]
pub struct SectionMiss {
    pub query: String,
    /// The first passage, as `article › heading`; `None` when nothing matched.
    pub first: Option<String>,
    pub expected: Vec<String>,
}

/// A question whose first document does not answer it: what to look at to improve the
/// articles (or the labels).
#[derive(Debug, Serialize)]
pub struct RetrievalMiss {
    pub query: String,
    /// How many earlier messages it was searched after (0: the question alone).
    pub after_messages: usize,
    /// The document ranked first; `None` when nothing matched.
    pub first: Option<Document>,
    /// The documents that answer it, with where each ranked (from 1; `None`: not found).
    pub expected: Vec<Ranked>,
}

/// A document of the searched corpus (for the knowledge folder: its file name without
/// extension).
#[derive(Debug, Serialize, PartialEq)]
pub struct Document {
    pub id: String,
    pub title: String,
}

/// An expected document and its rank.
#[derive(Debug, Serialize, PartialEq)]
pub struct Ranked {
    pub id: String,
    pub rank: Option<usize>,
}

/// Routing and handoff decisions on labelled customer messages.
#[derive(Debug, Serialize)]
pub struct RoutingRun {
    pub file: String,
    /// What routed: `deterministic router`, or `model <name>` (its tool calls).
    pub router: String,
    pub routing: ClassificationReport,
    /// "Should hand off" (expected `human`) against whether the turn hands off.
    pub handoff: BinaryScores,
    /// The same, by reason: "predicted yes" is a handoff for that reason (a trigger's, or
    /// `customer_request` when the router picks `human`). Precision: how many of that
    /// reason's handoffs were due; recall: how many of the due ones it caught.
    pub handoff_by_reason: BTreeMap<String, BinaryScores>,
    /// The messages routed otherwise than labelled, grouped by (expected, routed), each group
    /// in file order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub misses: Vec<RoutingMiss>,
}

/// A labelled message the pipeline routed elsewhere.
#[derive(Debug, Serialize, PartialEq)]
pub struct RoutingMiss {
    pub text: String,
    pub expected: String,
    pub routed: String,
}

#[derive(Deserialize)]
struct CorpusDoc {
    #[serde(rename = "_id")]
    id: String,
    #[serde(default)]
    title: String,
    text: String,
    /// The business or place the entry is about (dstc10), indexed as the passage's heading.
    #[serde(default)]
    entity: Option<String>,
}

#[derive(Deserialize)]
struct Query {
    #[serde(rename = "_id")]
    id: String,
    text: String,
    #[serde(default)]
    history: Vec<Turn>,
    /// The sections that answer it, as `article › heading` (or the article's id alone for its
    /// opening passage); none for a BEIR query.
    #[serde(default)]
    sections: Vec<String>,
}

/// An earlier turn of the dialogue, the customer's or the assistant's.
#[derive(Deserialize)]
struct Turn {
    text: String,
}

#[derive(Deserialize)]
struct Labelled {
    text: String,
    expected: String,
}

fn read_jsonl<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Vec<T>, EvalError> {
    let file = std::fs::File::open(path).map_err(|e| EvalError::Data {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    let mut out = Vec::new();
    for (n, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        out.push(serde_json::from_str(&line).map_err(|e| EvalError::Data {
            path: path.display().to_string(),
            message: format!("line {}: {e}", n + 1),
        })?);
    }
    Ok(out)
}

fn read_qrels(path: &Path) -> Result<HashMap<String, HashMap<String, f64>>, EvalError> {
    let text = std::fs::read_to_string(path)?;
    let mut qrels: HashMap<String, HashMap<String, f64>> = HashMap::new();
    for line in text.lines().skip(1) {
        let mut cols = line.split('\t');
        let (Some(q), Some(d), Some(score)) = (cols.next(), cols.next(), cols.next()) else {
            continue;
        };
        let score: f64 = score.trim().parse().unwrap_or(0.0);
        if score > 0.0 {
            qrels
                .entry(q.to_owned())
                .or_default()
                .insert(d.to_owned(), score);
        }
    }
    Ok(qrels)
}

/// Scores one BEIR-layout folder (`corpus.jsonl`, `queries.jsonl`, `qrels.tsv`, and a
/// `synonyms.txt` as a knowledge folder's, if it has one).
pub fn retrieval(dir: &Path, passages: usize) -> Result<Vec<RetrievalRun>, EvalError> {
    let corpus: Vec<CorpusDoc> = read_jsonl(&dir.join("corpus.jsonl"))?;
    let queries: Vec<Query> = read_jsonl(&dir.join("queries.jsonl"))?;
    let qrels = read_qrels(&dir.join("qrels.tsv"))?;
    let synonyms = Synonyms::load(dir)?;
    let articles: Vec<Article> = corpus
        .iter()
        .map(|d| Article {
            id: d.id.clone(),
            title: d.title.clone(),
            body: match &d.entity {
                Some(entity) => format!("## {entity}\n\n{}", d.text),
                None => d.text.clone(),
            },
            format: Format::Markdown,
            url: None,
            locale: None,
            tags: Vec::new(),
            created_at: String::new(),
            updated_at: String::new(),
        })
        .collect();
    let dataset = dir
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("retrieval");
    score_retrieval(dataset, &articles, &synonyms, &queries, &qrels, passages)
}

/// Labelled questions about the knowledge folder's articles: JSONL `{"text", "history"?,
/// "articles": [file names without extension], "sections"?: ["article › heading", …]}`,
/// each listing the articles that answer it and, optionally, the sections (a passage's last
/// heading; the article's id alone for its opening passage).
#[derive(Deserialize)]
struct KnowledgeQuestion {
    text: String,
    #[serde(default)]
    history: Vec<Turn>,
    articles: Vec<String>,
    #[serde(default)]
    sections: Vec<String>,
}

/// Scores questions about a knowledge folder (`questions`, see [`KnowledgeQuestion`]) on its
/// articles, ingested as the service ingests them (an article's id here is its file name
/// without extension).
pub fn knowledge_retrieval(
    knowledge_dir: &Path,
    questions: &Path,
    passages: usize,
) -> Result<Vec<RetrievalRun>, EvalError> {
    let labelled: Vec<KnowledgeQuestion> = read_jsonl(questions)?;
    let synonyms = Synonyms::load(knowledge_dir)?;
    let articles: Vec<Article> = crate::retrieval::knowledge_files(knowledge_dir)
        .into_iter()
        .map(|(stem, input)| input.into_article(stem, String::new()))
        .collect();
    let mut queries = Vec::new();
    let mut qrels = HashMap::new();
    for (n, question) in labelled.into_iter().enumerate() {
        let id = format!("q{}", n + 1);
        let section_articles = question
            .sections
            .iter()
            .map(|s| s.split(" › ").next().unwrap_or_default());
        if let Some(missing) = question
            .articles
            .iter()
            .map(String::as_str)
            .chain(section_articles)
            .find(|a| !articles.iter().any(|article| article.id == *a))
        {
            return Err(EvalError::Data {
                path: questions.display().to_string(),
                message: format!(
                    "line {}: no article {missing:?} in {}",
                    n + 1,
                    knowledge_dir.display()
                ),
            });
        }
        qrels.insert(
            id.clone(),
            question.articles.into_iter().map(|a| (a, 1.0)).collect(),
        );
        queries.push(Query {
            id,
            text: question.text,
            history: question.history,
            sections: question.sections,
        });
    }
    // `questions.jsonl` is the "knowledge" set; another file is named by its stem.
    let dataset = match questions.file_stem().and_then(|s| s.to_str()) {
        Some(stem) if Some(stem) != QUESTIONS_FILE.strip_suffix(".jsonl") => stem,
        _ => "knowledge",
    };
    score_retrieval(dataset, &articles, &synonyms, &queries, &qrels, passages)
}

/// Searches `articles` (indexed with `synonyms`) for each query (alone, and in its history's
/// context when any query has one) and scores the article rankings against `qrels`. The
/// first passages are those a turn gets (`passages`, as `chat.passages`: which of the
/// question's words are required depends on how many are asked for), then the rest of a
/// longer search.
fn score_retrieval(
    dataset: &str,
    articles: &[Article],
    synonyms: &Synonyms,
    queries: &[Query],
    qrels: &HashMap<String, HashMap<String, f64>>,
    passages: usize,
) -> Result<Vec<RetrievalRun>, EvalError> {
    let index = ScratchIndex::build(articles, synonyms)?;
    let mut variants = vec![QueryText::LastTurn];
    if queries.iter().any(|q| !q.history.is_empty()) {
        variants.push(QueryText::InContext);
    }
    let title = |id: &str| {
        articles
            .iter()
            .find(|a| a.id == id)
            .map_or_else(String::new, |a| a.title.clone())
    };
    let mut runs = Vec::new();
    for variant in variants {
        let mut scored = Vec::new();
        let mut misses = Vec::new();
        let mut sections = SectionCount::default();
        for query in queries {
            let Some(relevant) = qrels.get(&query.id) else {
                continue;
            };
            let context = match variant {
                QueryText::LastTurn => String::new(),
                QueryText::InContext => {
                    crate::retrieval::context(query.history.iter().map(|turn| turn.text.as_str()))
                }
            };
            let mut ranked: Vec<String> = Vec::new();
            for k in [passages, PASSAGES_PER_QUERY] {
                let hits = index.search_in_context(&query.text, None, &context, k)?;
                if k == passages && !query.sections.is_empty() {
                    sections.add(&query.text, &query.sections, hits.first());
                }
                for hit in hits {
                    if !ranked.contains(&hit.article_id) {
                        ranked.push(hit.article_id);
                    }
                }
            }
            let answers = |id: &String| relevant.get(id).is_some_and(|score| *score > 0.0);
            let mut expected: Vec<&String> = relevant.keys().filter(|id| answers(id)).collect();
            if !expected.is_empty() && !ranked.first().is_some_and(answers) {
                expected.sort();
                misses.push(RetrievalMiss {
                    query: query.text.clone(),
                    after_messages: match variant {
                        QueryText::LastTurn => 0,
                        QueryText::InContext => query.history.len(),
                    },
                    first: ranked.first().map(|id| Document {
                        id: id.clone(),
                        title: title(id),
                    }),
                    expected: expected
                        .into_iter()
                        .map(|id| Ranked {
                            id: id.clone(),
                            rank: ranked.iter().position(|r| r == id).map(|i| i + 1),
                        })
                        .collect(),
                });
            }
            scored.push((ranked, relevant.clone()));
        }
        runs.push(RetrievalRun {
            dataset: dataset.to_owned(),
            query: variant.name(),
            documents: articles.len(),
            scores: metrics::retrieval_report(&scored),
            misses,
            sections: sections.score(),
        });
    }
    Ok(runs)
}

/// Questions labelled with sections, those whose first passage is one, and the others.
#[derive(Default)]
struct SectionCount {
    questions: usize,
    first_right: usize,
    misses: Vec<SectionMiss>,
}

impl SectionCount {
    fn add(&mut self, query: &str, sections: &[String], first: Option<&crate::retrieval::Hit>) {
        self.questions += 1;
        let first = first.map(|hit| match hit.headings.last() {
            Some(heading) => format!("{} › {heading}", hit.article_id),
            None => hit.article_id.clone(),
        });
        if first.as_ref().is_some_and(|label| sections.contains(label)) {
            self.first_right += 1;
        } else {
            self.misses.push(SectionMiss {
                query: query.to_owned(),
                first,
                expected: sections.to_vec(),
            });
        }
    }

    fn score(self) -> Option<SectionScore> {
        (self.questions > 0).then(|| SectionScore {
            questions: self.questions,
            first_right: self.first_right,
            share: self.first_right as f64 / self.questions as f64,
            misses: self.misses,
        })
    }
}

/// What is fed to retrieval as the query.
#[derive(Clone, Copy, PartialEq)]
enum QueryText {
    /// The customer's last turn only.
    LastTurn,
    /// The last turn, in the context of the turns before it, as the service searches (see
    /// [`crate::retrieval::context`]).
    InContext,
}

impl QueryText {
    fn name(self) -> &'static str {
        match self {
            QueryText::LastTurn => "last turn",
            QueryText::InContext => "last turn in context",
        }
    }
}

/// A search index of some articles, built in a scratch folder that is removed when it is
/// dropped (the eval's corpora, the knowledge folder for model routing).
struct ScratchIndex {
    index: Index,
    dir: PathBuf,
}

impl ScratchIndex {
    fn build(articles: &[Article], synonyms: &Synonyms) -> Result<Self, EvalError> {
        let dir =
            std::env::temp_dir().join(format!("frontdesk-eval-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir)?;
        let index = match Index::open(&dir, synonyms) {
            Ok(index) => index,
            Err(error) => {
                let _ = std::fs::remove_dir_all(&dir);
                return Err(error.into());
            }
        };
        let scratch = Self { index, dir };
        scratch.index.rebuild(articles, 1)?;
        Ok(scratch)
    }
}

impl std::ops::Deref for ScratchIndex {
    type Target = Index;

    fn deref(&self) -> &Index {
        &self.index
    }
}

impl Drop for ScratchIndex {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The routing label the service's deterministic pipeline gives a message: `human` when a
/// handoff trigger fires (asked for a person, or frustrated: either way a person answers it
/// instead of the assistant), else the account router's.
pub fn route_label(text: &str) -> &'static str {
    match triggers::before_answer(text, &[]) {
        Some(_) => "human",
        None => intent_label(text),
    }
}

/// The account router's label for a message the triggers let through.
fn intent_label(text: &str) -> &'static str {
    match intent::route(text).intent {
        Some(AccountIntent::OrderStatus | AccountIntent::RecentOrders) => "order_status",
        Some(AccountIntent::Billing) => "invoice",
        Some(AccountIntent::RefundStatus) => "refund_status",
        None => "knowledge",
    }
}

/// Scores routing and handoff decisions on a JSONL file of `{"text", "expected"}` lines
/// (`expected`: `order_status`, `invoice`, `refund_status`, `human`, `knowledge`; `any` is
/// not scored). The handoff triggers run first, as in a live turn; the rest is routed by the
/// model when one is given, else by the deterministic router.
pub async fn routing(path: &Path, model: Option<&ModelRouter>) -> Result<RoutingRun, EvalError> {
    let cases: Vec<Labelled> = read_jsonl(path)?;
    let cases: Vec<&Labelled> = cases.iter().filter(|c| c.expected != "any").collect();
    let decided: Vec<_> = cases
        .iter()
        .map(|case| triggers::before_answer(&case.text, &[]))
        .collect();
    // Only what the triggers leave reaches the router (and costs a model call).
    let open: Vec<&str> = cases
        .iter()
        .zip(&decided)
        .filter(|(_, decided)| decided.is_none())
        .map(|(case, _)| case.text.as_str())
        .collect();
    let mut routed = match model {
        Some(model) => model.route_all(&open).await,
        None => open.iter().map(|text| intent_label(text)).collect(),
    }
    .into_iter();
    let mut pairs = Vec::new();
    let mut misses = Vec::new();
    // Per case: whether it should hand off, and the reason it was handed off for.
    let mut handoffs: Vec<(bool, Option<HandoffReason>)> = Vec::new();
    for (case, decided) in cases.iter().zip(&decided) {
        let predicted = match decided {
            Some(_) => "human",
            None => routed.next().unwrap_or("knowledge"),
        };
        if case.expected != predicted {
            misses.push(RoutingMiss {
                text: case.text.clone(),
                expected: case.expected.clone(),
                routed: predicted.to_owned(),
            });
        }
        pairs.push((case.expected.clone(), predicted.to_owned()));
        let reason = decided.or((predicted == "human").then_some(HandoffReason::CustomerRequest));
        handoffs.push((case.expected == "human", reason));
    }
    let handoff: Vec<(bool, bool)> = handoffs
        .iter()
        .map(|&(due, r)| (due, r.is_some()))
        .collect();
    // Each reason opened at least once, scored once.
    let opened: BTreeSet<&str> = handoffs
        .iter()
        .filter_map(|&(_, reason)| reason.map(HandoffReason::as_str))
        .collect();
    let by_reason = opened
        .into_iter()
        .map(|name| {
            let pairs: Vec<(bool, bool)> = handoffs
                .iter()
                .map(|&(due, r)| (due, r.map(HandoffReason::as_str) == Some(name)))
                .collect();
            (name.to_owned(), metrics::binary_scores(&pairs))
        })
        .collect();
    Ok(RoutingRun {
        file: path.display().to_string(),
        router: model.map_or_else(
            || "deterministic router".to_owned(),
            |m| format!("model {} (tool calls)", m.model()),
        ),
        routing: metrics::classification_report(&pairs),
        handoff: metrics::binary_scores(&handoff),
        handoff_by_reason: by_reason,
        misses: {
            // Stable: each group keeps the file's order.
            misses.sort_by(|a: &RoutingMiss, b| {
                (&a.expected, &a.routed).cmp(&(&b.expected, &b.routed))
            });
            misses
        },
    })
}

/// Where the knowledge folder's labelled questions are looked for when none are named: by
/// article, and by section.
pub const QUESTIONS_FILE: &str = "questions.jsonl";
pub const SECTIONS_FILE: &str = "sections.jsonl";

/// Runs every evaluation found under `data` (`retrieval/*/` and `bitext/validation.jsonl`),
/// and the `knowledge` folder's labelled questions when given (folder, question files),
/// ranking first the `passages` a turn gets, routing with `model` when given.
pub async fn run(
    data: &Path,
    passages: usize,
    knowledge: Option<(PathBuf, Vec<PathBuf>)>,
    model: Option<&ModelRouter>,
) -> Result<Report, EvalError> {
    let retrieval_data = data.to_owned();
    let retrieval_runs = tokio::task::spawn_blocking(move || {
        let mut runs = retrieval_all(&retrieval_data, passages)?;
        if let Some((dir, files)) = knowledge {
            for questions in files {
                runs.extend(knowledge_retrieval(&dir, &questions, passages)?);
            }
        }
        Ok::<_, EvalError>(runs)
    })
    .await
    .map_err(|e| std::io::Error::other(e.to_string()))??;
    let labelled = data.join("bitext/validation.jsonl");
    let routing = if labelled.is_file() {
        Some(routing(&labelled, model).await?)
    } else {
        None
    };
    Ok(Report {
        retrieval: retrieval_runs,
        routing,
    })
}

fn retrieval_all(data: &Path, passages: usize) -> Result<Vec<RetrievalRun>, EvalError> {
    let mut runs = Vec::new();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(data.join("retrieval"))
        .map(|entries| entries.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    dirs.sort();
    for dir in dirs.iter().filter(|d| d.join("corpus.jsonl").is_file()) {
        runs.extend(retrieval(dir, passages)?);
    }
    Ok(runs)
}

/// The report as text.
pub fn render(report: &Report) -> String {
    let mut out = String::from("Retrieval (BM25 over passages, folded to documents)\n");
    out.push_str(&format!(
        "{:<14} {:<28} {:>6} {:>7} {:>6} {:>6} {:>6} {:>7} {:>8}\n",
        "dataset", "query", "docs", "queries", "R@1", "R@5", "R@10", "MRR@10", "nDCG@10"
    ));
    for r in &report.retrieval {
        let s = &r.scores;
        out.push_str(&format!(
            "{:<14} {:<28} {:>6} {:>7} {:>6.3} {:>6.3} {:>6.3} {:>7.3} {:>8.3}\n",
            r.dataset,
            r.query,
            r.documents,
            s.queries,
            s.recall_at_1,
            s.recall_at_5,
            s.recall_at_10,
            s.mrr_at_10,
            s.ndcg_at_10
        ));
    }
    let labelled: Vec<&RetrievalRun> = report
        .retrieval
        .iter()
        .filter(|r| r.sections.is_some())
        .collect();
    if !labelled.is_empty() {
        out.push_str("\nSections (the first passage a turn gets is a labelled one: what extractive mode quotes)\n");
        for r in labelled {
            if let Some(s) = &r.sections {
                out.push_str(&format!(
                    "{:<14} {:<28} {:>5.3} ({} of {})\n",
                    r.dataset, r.query, s.share, s.first_right, s.questions
                ));
            }
        }
    }
    if let Some(routing) = &report.routing {
        out.push_str(&format!(
            "\nRouting ({}; {}; {} cases, accuracy {:.3}, macro F1 {:.3})\n",
            routing.file,
            routing.router,
            routing.routing.total,
            routing.routing.accuracy,
            routing.routing.macro_f1
        ));
        out.push_str(&metrics::render_classification(&routing.routing));
        let h = &routing.handoff;
        out.push_str(&format!(
            "\nHandoff decisions (should hand off = expected human): precision {:.3}, recall {:.3}, F1 {:.3} (tp {}, fp {}, fn {}, tn {})\n",
            h.precision, h.recall, h.f1, h.tp, h.fp, h.fn_, h.tn
        ));
        for (reason, h) in &routing.handoff_by_reason {
            out.push_str(&format!(
                "  {reason:<18} precision {:.3}, recall {:.3} ({} opened, {} of them due)\n",
                h.precision,
                h.recall,
                h.tp + h.fp,
                h.tp
            ));
        }
    }
    out.push_str(&render_misses(report));
    out
}

/// The misses kept in `report`, as text (empty when none are).
fn render_misses(report: &Report) -> String {
    let mut out = String::new();
    for run in report.retrieval.iter().filter(|r| !r.misses.is_empty()) {
        out.push_str(&format!(
            "\nRetrieval misses: {}, {} ({} of {} questions: the first document does not answer it)\n",
            run.dataset,
            run.query,
            run.misses.len(),
            run.scores.queries
        ));
        for miss in &run.misses {
            let after = match miss.after_messages {
                0 => String::new(),
                1 => " (after 1 message)".to_owned(),
                n => format!(" (after {n} messages)"),
            };
            let first = miss.first.as_ref().map_or_else(
                || "nothing found".to_owned(),
                |d| format!("{} {:?}", d.id, d.title),
            );
            let expected: Vec<String> = miss
                .expected
                .iter()
                .map(|e| match e.rank {
                    Some(rank) => format!("{} (rank {rank})", e.id),
                    None => format!("{} (not found)", e.id),
                })
                .collect();
            out.push_str(&format!(
                "  {:?}{after}\n    first:    {first}\n    expected: {}\n",
                miss.query,
                expected.join(", ")
            ));
        }
    }
    for run in &report.retrieval {
        let Some(sections) = run.sections.as_ref().filter(|s| !s.misses.is_empty()) else {
            continue;
        };
        out.push_str(&format!(
            "\nSection misses: {}, {} ({} of {} questions: the first passage is none of its sections)\n",
            run.dataset,
            run.query,
            sections.misses.len(),
            sections.questions
        ));
        for miss in &sections.misses {
            out.push_str(&format!(
                "  {:?}\n    first:    {}\n    expected: {}\n",
                miss.query,
                miss.first.as_deref().unwrap_or("nothing found"),
                miss.expected.join(" | ")
            ));
        }
    }
    if let Some(routing) = report.routing.as_ref().filter(|r| !r.misses.is_empty()) {
        out.push_str(&format!(
            "\nRouting misses ({} of {})\n",
            routing.misses.len(),
            routing.routing.total
        ));
        for miss in &routing.misses {
            out.push_str(&format!(
                "  expected {}, routed {}: {:?}\n",
                miss.expected, miss.routed, miss.text
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tiny_beir_folder_scores_as_computed_by_hand() {
        let parent = tempfile::tempdir().expect("dir");
        let dir = parent.path().join("tiny");
        std::fs::create_dir(&dir).expect("dataset folder");
        std::fs::write(
            dir.join("corpus.jsonl"),
            "{\"_id\": \"d1\", \"title\": \"Refunds\", \"text\": \"Refunds take ten days.\"}\n\
             {\"_id\": \"d2\", \"title\": \"Shipping\", \"text\": \"Parcels ship from Portland.\"}\n",
        )
        .expect("corpus");
        std::fs::write(
            dir.join("queries.jsonl"),
            "{\"_id\": \"q1\", \"text\": \"when do refunds arrive\"}\n\
             {\"_id\": \"q2\", \"text\": \"where do parcels ship from\"}\n",
        )
        .expect("queries");
        // q2's relevant document is d1 on purpose: a miss.
        std::fs::write(
            dir.join("qrels.tsv"),
            "query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td1\t1\n",
        )
        .expect("qrels");
        let runs = retrieval(&dir, 4).expect("runs");
        let s = &runs[0].scores;
        assert_eq!(s.queries, 2);
        assert!((s.recall_at_1 - 0.5).abs() < 1e-9, "{s:?}");
        assert!((s.mrr_at_10 - 0.5).abs() < 1e-9, "{s:?}");

        // The miss is listed with what came first and where the answer ranked.
        let [miss] = &runs[0].misses[..] else {
            panic!("one miss: {:?}", runs[0].misses);
        };
        assert_eq!(miss.query, "where do parcels ship from");
        let first = Document {
            id: "d2".into(),
            title: "Shipping".into(),
        };
        assert_eq!(miss.first.as_ref(), Some(&first));
        let expected = Ranked {
            id: "d1".into(),
            rank: None,
        };
        assert_eq!(miss.expected, [expected]);
        let report = Report {
            retrieval: runs,
            routing: None,
        };
        let text = render(&report);
        assert!(
            text.contains(
                "Retrieval misses: tiny, last turn (1 of 2 questions: the first document does not answer it)\n  \"where do parcels ship from\"\n    first:    d2 \"Shipping\"\n    expected: d1 (not found)\n"
            ),
            "{text}"
        );
        assert!(!render(&report.without_misses()).contains("misses"));
    }

    #[test]
    fn questions_about_a_knowledge_folder_score_its_files_as_computed_by_hand() {
        let dir = tempfile::tempdir().expect("dir");
        let knowledge = dir.path().join("knowledge");
        std::fs::create_dir(&knowledge).expect("folder");
        std::fs::write(
            knowledge.join("refunds.md"),
            "# Refunds\n\nRefunds take ten days.",
        )
        .expect("article");
        std::fs::write(
            knowledge.join("shipping.md"),
            "# Shipping\n\nParcels ship from Portland.",
        )
        .expect("article");
        let questions = knowledge.join(QUESTIONS_FILE);
        // The second question names the wrong article on purpose: a miss.
        std::fs::write(
            &questions,
            "{\"text\": \"when do refunds arrive\", \"articles\": [\"refunds\"]}\n\
             {\"text\": \"where do parcels ship from\", \"articles\": [\"refunds\"]}\n",
        )
        .expect("questions");
        let runs = knowledge_retrieval(&knowledge, &questions, 4).expect("runs");
        assert_eq!(runs.len(), 1, "no history: the last turn only");
        assert_eq!(
            (runs[0].dataset.as_str(), runs[0].documents),
            ("knowledge", 2)
        );
        let s = &runs[0].scores;
        assert_eq!(s.queries, 2);
        assert!((s.recall_at_1 - 0.5).abs() < 1e-9, "{s:?}");
        assert!((s.mrr_at_10 - 0.5).abs() < 1e-9, "{s:?}");
        assert!(runs[0].sections.is_none(), "no question names a section");

        // By section: of three questions, the first passage is the labelled section for
        // the first, the article's opening for the second (labelled by its id alone), and
        // the wrong section of the right article for the third.
        std::fs::write(
            knowledge.join("returning.md"),
            "# Returns\n\nReturns are free.\n\n## Return window\n\nReturn within 30 days.\n\n\
             ## Return label\n\nPrint the return label at home.",
        )
        .expect("article");
        let sections = knowledge.join(SECTIONS_FILE);
        std::fs::write(
            &sections,
            "{\"text\": \"print a label\", \"articles\": [\"returning\"], \"sections\": [\"returning › Return label\"]}\n\
             {\"text\": \"are returns free\", \"articles\": [\"returning\"], \"sections\": [\"returning\"]}\n\
             {\"text\": \"print a label\", \"articles\": [\"returning\"], \"sections\": [\"returning › Return window\"]}\n",
        )
        .expect("sections");
        let runs = knowledge_retrieval(&knowledge, &sections, 4).expect("runs");
        assert_eq!(runs[0].dataset, "sections", "named by its file");
        let score = runs[0].sections.as_ref().expect("sections scored");
        assert_eq!(
            (score.questions, score.first_right, score.share),
            (3, 2, 2.0 / 3.0)
        );
        let [miss] = &score.misses[..] else {
            panic!("one miss: {:?}", score.misses);
        };
        assert_eq!(
            (miss.first.as_deref(), &miss.expected[..]),
            (
                Some("returning › Return label"),
                &["returning › Return window".to_owned()][..]
            )
        );
        std::fs::write(
            &sections,
            "{\"text\": \"x\", \"articles\": [\"returning\"], \"sections\": [\"refund › X\"]}\n",
        )
        .expect("sections");
        let error = knowledge_retrieval(&knowledge, &sections, 4).expect_err("no such article");
        assert!(
            error.to_string().contains("no article \"refund\""),
            "{error}"
        );

        std::fs::write(
            &questions,
            "{\"text\": \"refunds\", \"articles\": [\"returns\"]}\n",
        )
        .expect("questions");
        let error = knowledge_retrieval(&knowledge, &questions, 4).expect_err("no such article");
        assert!(
            error.to_string().contains("no article \"returns\""),
            "{error}"
        );
    }

    /// On the demo's articles, "My card keeps getting declined at checkout" finds the payment
    /// methods first when 4 passages are asked for, second when 50 are (a rarer word is
    /// required only when it alone is in as many passages as asked for): the eval ranks first
    /// what a turn gets.
    #[test]
    fn the_first_ranks_are_the_passages_a_turn_gets() {
        let knowledge = Path::new(env!("CARGO_MANIFEST_DIR")).join("knowledge");
        let questions = tempfile::NamedTempFile::new().expect("file");
        std::fs::write(
            questions.path(),
            "{\"text\": \"My card keeps getting declined at checkout\", \"articles\": [\"payment-methods\"]}\n",
        )
        .expect("questions");
        let top = |passages| {
            let runs = knowledge_retrieval(&knowledge, questions.path(), passages).expect("runs");
            runs[0].scores.mrr_at_10
        };
        assert_eq!(top(4), 1.0);
        assert_eq!(top(50), 0.5);
    }

    #[test]
    fn route_labels_follow_the_pipeline() {
        assert_eq!(route_label("where is my order NW-1234567"), "order_status");
        assert_eq!(route_label("I was charged twice"), "invoice");
        assert_eq!(route_label("has my refund gone through?"), "refund_status");
        assert_eq!(route_label("talk to a human"), "human");
        assert_eq!(
            route_label("this f***ing app is useless, where is my refund"),
            "human"
        );
        assert_eq!(route_label("what is your returns policy?"), "knowledge");
    }

    /// Handoff decisions scored by hand: overall and by reason, on five labelled messages
    /// routed without a model.
    #[tokio::test]
    async fn handoff_decisions_score_overall_and_by_reason_as_computed_by_hand() {
        let file = tempfile::NamedTempFile::new().expect("file");
        let lines = [
            // Due, handed off as customer_request: tp.
            r#"{"text": "I want to talk to a human agent", "expected": "human"}"#,
            // Not due, handed off for frustration (profanity and negative wording): fp.
            r#"{"text": "this f***ing app is useless, where is my refund", "expected": "refund_status"}"#,
            // Due (as labelled), not handed off: fn.
            r#"{"text": "how do I change my address", "expected": "human"}"#,
            // Not due, not handed off: tn.
            r#"{"text": "how do I reset my password", "expected": "knowledge"}"#,
            // Due, handed off as customer_request: tp.
            r#"{"text": "let me speak to a real person", "expected": "human"}"#,
            // Not scored.
            r#"{"text": "I want to complain", "expected": "any"}"#,
        ];
        std::fs::write(file.path(), lines.join("\n")).expect("write");
        let run = routing(file.path(), None).await.expect("routing");

        // The frustrated message goes to a person: routed `human`, not `refund_status`.
        assert_eq!(run.routing.confusion["refund_status"]["human"], 1);
        assert_eq!(run.routing.per_class["human"].predicted, 3);
        let h = &run.handoff;
        assert_eq!((h.tp, h.fp, h.fn_, h.tn), (2, 1, 1, 1));
        assert!((h.precision - 2.0 / 3.0).abs() < 1e-9 && (h.recall - 2.0 / 3.0).abs() < 1e-9);
        let reasons: Vec<&str> = run.handoff_by_reason.keys().map(String::as_str).collect();
        assert_eq!(reasons, ["customer_request", "frustration"]);
        let asked = &run.handoff_by_reason["customer_request"];
        assert_eq!((asked.tp, asked.fp, asked.fn_, asked.tn), (2, 0, 1, 2));
        assert!((asked.precision - 1.0).abs() < 1e-9 && (asked.recall - 2.0 / 3.0).abs() < 1e-9);
        let frustrated = &run.handoff_by_reason["frustration"];
        assert_eq!(
            (frustrated.tp, frustrated.fp, frustrated.fn_, frustrated.tn),
            (0, 1, 3, 1)
        );
        assert_eq!((frustrated.precision, frustrated.recall), (0.0, 0.0));

        // The two routed otherwise, grouped by what was expected, then what was routed.
        let miss = |text: &str, expected: &str, routed: &str| RoutingMiss {
            text: text.into(),
            expected: expected.into(),
            routed: routed.into(),
        };
        assert_eq!(
            run.misses,
            [
                miss("how do I change my address", "human", "knowledge"),
                miss(
                    "this f***ing app is useless, where is my refund",
                    "refund_status",
                    "human"
                ),
            ]
        );
        let text = render(&Report {
            retrieval: Vec::new(),
            routing: Some(run),
        });
        assert!(
            text.contains(
                "Routing misses (2 of 5)\n  expected human, routed knowledge: \"how do I change my address\"\n"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "customer_request   precision 1.000, recall 0.667 (2 opened, 2 of them due)"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "frustration        precision 0.000, recall 0.000 (1 opened, 0 of them due)"
            ),
            "{text}"
        );
    }
}
