//! Retrieval benchmark over a generated corpus (25,000 articles = 100,000 passages, the goal's
//! size, by default; set `FRONTDESK_BENCH_ARTICLES` for another size): ingest throughput, then
//! search latency — criterion's estimate, plus p50/p99 over individual timed queries, alone
//! and as follow-ups in a conversation's context. First, the search a turn runs on the demo
//! help center (knowledge/): its labelled questions, each in the context of its history.
//!
//! Run: `cargo bench --bench retrieval` (or `cargo bench --benches`, with the load run)

use std::time::{Duration, Instant};

use criterion::Criterion;
use frontdesk::{
    retrieval::{Index, Synonyms},
    storage::{Article, Format},
};

const WORDS: &[&str] = &[
    "order",
    "shipping",
    "delivery",
    "refund",
    "return",
    "label",
    "invoice",
    "payment",
    "card",
    "charge",
    "warranty",
    "claim",
    "account",
    "password",
    "email",
    "address",
    "gift",
    "promo",
    "code",
    "discount",
    "tracking",
    "carrier",
    "parcel",
    "damaged",
    "lost",
    "exchange",
    "size",
    "kettle",
    "blender",
    "towel",
    "lamp",
    "jacket",
    "duties",
    "customs",
    "tax",
    "receipt",
    "business",
    "store",
    "credit",
    "balance",
    "subscription",
    "cancel",
    "change",
    "weekend",
    "holiday",
    "express",
    "standard",
    "overnight",
    "international",
    "canada",
    "europe",
    "australia",
    "battery",
    "charger",
    "cable",
    "cookware",
    "knife",
    "pan",
    "mug",
    "blanket",
];

/// Synthetic words in the long tail.
const VOCABULARY: f64 = 20_000.0;

/// A small deterministic generator (xorshift), so every run indexes the same corpus.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        usize::try_from(self.0 % 1_000_003).unwrap_or_default()
    }
    /// `n` words: a third from the support vocabulary, the rest from a long tail of
    /// synthetic words with a Zipf-like spread, as real help-center text has.
    fn words(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| {
                if self.next().is_multiple_of(3) {
                    WORDS[self.next() % WORDS.len()].to_owned()
                } else {
                    // Zipf's law over a 20,000-word vocabulary: word k is drawn with
                    // probability ∝ 1/k (log-uniform ranks), as in natural text.
                    let u = (self.next() % 1_000_000) as f64 / 1_000_000.0;
                    format!("w{}", (VOCABULARY.ln() * u).exp() as usize)
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn corpus(n: usize) -> Vec<Article> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    (0..n)
        .map(|i| {
            let mut body = format!("{}.\n\n", rng.words(30));
            for _ in 0..3 {
                body.push_str(&format!("## {}\n\n{}.\n\n", rng.words(3), rng.words(60)));
            }
            Article {
                id: format!("art_{i}"),
                title: rng.words(4),
                body,
                format: Format::Markdown,
                url: Some(format!("https://help.example/{i}")),
                locale: Some("en".into()),
                tags: Vec::new(),
                created_at: String::new(),
                updated_at: String::new(),
            }
        })
        .collect()
}

fn queries() -> Vec<String> {
    let mut rng = Rng(42);
    (0..200)
        .map(|i| format!("how do I {} my {}", rng.words(1 + i % 3), rng.words(2)))
        .collect()
}

/// For each query, the conversation before it as the service passes it: eight messages, the
/// customer's questions and replies quoting a passage (60 words) in turn.
fn contexts(queries: &[String]) -> Vec<String> {
    let mut rng = Rng(7);
    (0..queries.len())
        .map(|i| {
            // Oldest first: the question four turns back, its reply, ..., the latest reply.
            let earlier: Vec<String> = (1..=4)
                .rev()
                .flat_map(|back| {
                    let question = queries[(i + queries.len() - back) % queries.len()].clone();
                    [question, rng.words(60)]
                })
                .collect();
            frontdesk::retrieval::context(earlier.iter().map(String::as_str))
        })
        .collect()
}

/// p50, p99 and max of ten timed rounds of `search` over every query.
fn timed(queries: &[String], search: impl Fn(usize) -> usize) -> String {
    let mut times: Vec<Duration> = Vec::with_capacity(queries.len() * 10);
    for _ in 0..10 {
        for i in 0..queries.len() {
            let t = Instant::now();
            let found = search(i);
            times.push(t.elapsed());
            assert!(found > 0);
        }
    }
    times.sort_unstable();
    format!(
        "p50 {:?}, p99 {:?}, max {:?} ({} queries)",
        percentile(&times, 0.50),
        percentile(&times, 0.99),
        times[times.len() - 1],
        times.len()
    )
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// The demo help center's articles and synonyms, and its labelled questions (knowledge/*.jsonl)
/// with the context of their history, searched as a turn searches them.
fn demo_help_center() {
    let knowledge = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("knowledge");
    let articles: Vec<Article> = frontdesk::retrieval::knowledge_files(&knowledge)
        .into_iter()
        .map(|(stem, input)| input.into_article(stem, String::new()))
        .collect();
    let synonyms = Synonyms::load(&knowledge).expect("synonyms");
    let dir = tempfile::tempdir().expect("temp dir");
    let index = Index::open(dir.path(), &synonyms).expect("index");
    let passages = index.rebuild(&articles, 1).expect("rebuild");
    let mut questions = Vec::new();
    let mut contexts = Vec::new();
    for file in ["questions.jsonl", "sections.jsonl"] {
        let lines = std::fs::read_to_string(knowledge.join(file)).expect("questions");
        for line in lines.lines().filter(|l| !l.trim().is_empty()) {
            let labelled: serde_json::Value = serde_json::from_str(line).expect("a question");
            let history = labelled["history"].as_array().cloned().unwrap_or_default();
            let earlier = history.iter().filter_map(|m| m["text"].as_str());
            contexts.push(frontdesk::retrieval::context(earlier));
            questions.push(labelled["text"].as_str().expect("text").to_owned());
        }
    }
    let lang = Some(frontdesk::phrases::Lang::En);
    let search = |i: usize| {
        let hits = index.search_in_context(&questions[i], lang, &contexts[i], 5);
        hits.expect("search").len().max(1)
    };
    (0..questions.len()).for_each(|i| {
        search(i);
    });
    println!(
        "the demo help center ({} articles, {passages} passages), a turn's search: {}",
        articles.len(),
        timed(&questions, search)
    );
}

fn main() {
    demo_help_center();
    let n = std::env::var("FRONTDESK_BENCH_ARTICLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(25_000);
    let articles = corpus(n);
    let dir = tempfile::tempdir().expect("temp dir");
    let index = Index::open(dir.path(), &Synonyms::default()).expect("index");

    let started = Instant::now();
    let passages = index.rebuild(&articles, 1).expect("rebuild");
    let elapsed = started.elapsed();
    println!(
        "ingest: {n} articles ({passages} passages, {} segment(s)) in {:.2} s = {:.0} articles/s",
        index.segment_count(),
        elapsed.as_secs_f64(),
        n as f64 / elapsed.as_secs_f64()
    );

    let queries = queries();
    let k: usize = std::env::var("FRONTDESK_BENCH_K")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    for q in &queries {
        index.search(q, 5).expect("warm-up search");
    }
    let alone = timed(&queries, |i| {
        index.search(&queries[i], k).expect("search").len()
    });
    println!("search top-{k} over {passages} passages: {alone}");
    let contexts = contexts(&queries);
    let in_context = timed(&queries, |i| {
        let hits = index.search_in_context(&queries[i], None, &contexts[i], k);
        hits.expect("search").len()
    });
    println!("  a follow-up, in the context of 8 earlier messages: {in_context}");

    let mut c = Criterion::default().configure_from_args();
    let mut i = 0;
    c.bench_function(&format!("search_top5_{n}_articles"), |b| {
        b.iter(|| {
            i = (i + 1) % queries.len();
            index.search(&queries[i], 5).expect("search")
        })
    });
    c.final_summary();
}
