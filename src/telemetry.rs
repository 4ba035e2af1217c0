//! Prometheus metrics, rendered in the text format at `/metrics`: per-step turn latency
//! histograms, model tokens, handoffs by reason, action calls and failures, replies by
//! confidence bucket, and open SSE streams. Hand-rolled on atomics: a handful of series does
//! not need a metrics framework.

use std::{
    collections::BTreeMap,
    fmt::Write,
    sync::{
        Arc, Mutex,
        atomic::{AtomicI64, AtomicU64, Ordering},
    },
    time::Duration,
};

/// Bucket bounds in seconds, from sub-millisecond steps (a store or a search takes 0.1-1 ms)
/// to slow model calls; 2 ms is the overhead goal's bound.
const BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
    10.0, 30.0,
];

/// The steps of a turn that are timed.
#[derive(Debug, Clone, Copy)]
pub enum Step {
    Store,
    Retrieve,
    Context,
    Actions,
    LlmFirstToken,
    LlmTotal,
    Reply,
    Turn,
    /// A turn's own time: from its message's arrival to its end, less the model's time (a
    /// handoff's summary is written after the turn).
    Overhead,
}

const STEPS: [(Step, &str); 9] = [
    (Step::Store, "store"),
    (Step::Retrieve, "retrieve"),
    (Step::Context, "context"),
    (Step::Actions, "actions"),
    (Step::LlmFirstToken, "llm_first_token"),
    (Step::LlmTotal, "llm_total"),
    (Step::Reply, "reply"),
    (Step::Turn, "turn"),
    (Step::Overhead, "overhead"),
];

#[derive(Default)]
struct Histogram {
    counts: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Histogram {
    fn observe(&self, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        for (bound, count) in BUCKETS.iter().zip(&self.counts) {
            if secs <= *bound {
                count.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
    }
}

/// Confidence buckets for replies: upper bounds.
const CONFIDENCE: &[(f32, &str)] = &[
    (0.2, "0.2"),
    (0.4, "0.4"),
    (0.6, "0.6"),
    (0.8, "0.8"),
    (1.01, "1.0"),
];

/// The service's metrics; shared through `AppState`.
#[derive(Default)]
pub struct Metrics {
    steps: [Histogram; STEPS.len()],
    tokens_in: AtomicU64,
    tokens_out: AtomicU64,
    handoffs: Mutex<BTreeMap<String, u64>>,
    llm_failures: Mutex<BTreeMap<&'static str, u64>>,
    actions: Mutex<BTreeMap<(String, &'static str), u64>>,
    confidence: [AtomicU64; CONFIDENCE.len()],
    no_confidence: AtomicU64,
    open_streams: AtomicI64,
}

/// A counter with one label, in the Prometheus text format.
fn by_label<K: std::fmt::Display>(
    out: &mut String,
    name: &str,
    help: &str,
    label: &str,
    counts: &Mutex<BTreeMap<K, u64>>,
) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} counter");
    for (value, n) in counts.lock().unwrap_or_else(|e| e.into_inner()).iter() {
        let _ = writeln!(out, "{name}{{{label}=\"{value}\"}} {n}");
    }
}

fn bump<K: Ord>(map: &Mutex<BTreeMap<K, u64>>, key: K) {
    // Counters hold no invariant a panic could break; keep counting after one.
    let mut map = map.lock().unwrap_or_else(|e| e.into_inner());
    *map.entry(key).or_default() += 1;
}

impl Metrics {
    /// Records how long a step took.
    pub fn observe(&self, step: Step, elapsed: Duration) {
        self.steps[step as usize].observe(elapsed);
    }

    /// Records one model call's prompt and reply tokens (as the token budget counts them).
    pub fn tokens(&self, prompt: usize, reply: usize) {
        self.tokens_in
            .fetch_add(u64::try_from(prompt).unwrap_or(0), Ordering::Relaxed);
        self.tokens_out
            .fetch_add(u64::try_from(reply).unwrap_or(0), Ordering::Relaxed);
    }

    pub fn handoff(&self, reason: &str) {
        bump(&self.handoffs, reason.to_owned());
    }

    /// Counts a model reply that could not be used, by why (a failed call's kind, or a reply
    /// `ungrounded` or with `no_text`).
    pub fn llm_failure(&self, kind: &'static str) {
        bump(&self.llm_failures, kind);
    }

    /// Counts an action call by its outcome (`ok`, `not_found`, `failed`, or why it was
    /// not run).
    pub fn action(&self, name: &str, outcome: &'static str) {
        bump(&self.actions, (name.to_owned(), outcome));
    }

    pub fn reply(&self, confidence: Option<f32>) {
        match confidence {
            None => self.no_confidence.fetch_add(1, Ordering::Relaxed),
            Some(c) => {
                let i = CONFIDENCE
                    .iter()
                    .position(|(bound, _)| c < *bound)
                    .unwrap_or(CONFIDENCE.len() - 1);
                self.confidence[i].fetch_add(1, Ordering::Relaxed)
            }
        };
    }

    /// Counts an open SSE stream until the returned guard is dropped.
    pub fn stream_opened(self: &Arc<Self>) -> StreamGuard {
        self.open_streams.fetch_add(1, Ordering::Relaxed);
        StreamGuard(self.clone())
    }

    /// SSE streams open now.
    pub fn open_streams(&self) -> usize {
        usize::try_from(self.open_streams.load(Ordering::Relaxed)).unwrap_or(0)
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP frontdesk_step_seconds Latency of each turn step."
        );
        let _ = writeln!(out, "# TYPE frontdesk_step_seconds histogram");
        for ((_, name), h) in STEPS.iter().zip(&self.steps) {
            for (bound, count) in BUCKETS.iter().zip(&h.counts) {
                let _ = writeln!(
                    out,
                    "frontdesk_step_seconds_bucket{{step=\"{name}\",le=\"{bound}\"}} {}",
                    count.load(Ordering::Relaxed)
                );
            }
            let count = h.count.load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "frontdesk_step_seconds_bucket{{step=\"{name}\",le=\"+Inf\"}} {count}"
            );
            let sum = h.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
            let _ = writeln!(out, "frontdesk_step_seconds_sum{{step=\"{name}\"}} {sum}");
            let _ = writeln!(
                out,
                "frontdesk_step_seconds_count{{step=\"{name}\"}} {count}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP frontdesk_llm_tokens_total Model tokens, as counted by the prompt budget."
        );
        let _ = writeln!(out, "# TYPE frontdesk_llm_tokens_total counter");
        let _ = writeln!(
            out,
            "frontdesk_llm_tokens_total{{direction=\"in\"}} {}",
            self.tokens_in.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "frontdesk_llm_tokens_total{{direction=\"out\"}} {}",
            self.tokens_out.load(Ordering::Relaxed)
        );
        by_label(
            &mut out,
            "frontdesk_handoffs_total",
            "Handoffs opened, by reason.",
            "reason",
            &self.handoffs,
        );
        by_label(
            &mut out,
            "frontdesk_llm_failures_total",
            "Model replies that could not be used, by why.",
            "kind",
            &self.llm_failures,
        );
        let _ = writeln!(
            out,
            "# HELP frontdesk_action_calls_total Action calls, by action and outcome (rejected ones included)."
        );
        let _ = writeln!(out, "# TYPE frontdesk_action_calls_total counter");
        for ((name, outcome), n) in self
            .actions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            let _ = writeln!(
                out,
                "frontdesk_action_calls_total{{action=\"{name}\",outcome=\"{outcome}\"}} {n}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP frontdesk_replies_total Assistant replies, by confidence bucket (upper bound)."
        );
        let _ = writeln!(out, "# TYPE frontdesk_replies_total counter");
        for ((_, label), n) in CONFIDENCE.iter().zip(&self.confidence) {
            let _ = writeln!(
                out,
                "frontdesk_replies_total{{confidence=\"{label}\"}} {}",
                n.load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "frontdesk_replies_total{{confidence=\"none\"}} {}",
            self.no_confidence.load(Ordering::Relaxed)
        );
        let _ = writeln!(out, "# HELP frontdesk_open_streams Open SSE streams.");
        let _ = writeln!(out, "# TYPE frontdesk_open_streams gauge");
        let _ = writeln!(
            out,
            "frontdesk_open_streams {}",
            self.open_streams.load(Ordering::Relaxed)
        );
        out
    }
}

/// Decrements the open-stream gauge when dropped.
pub struct StreamGuard(Arc<Metrics>);

impl Drop for StreamGuard {
    fn drop(&mut self) {
        self.0.open_streams.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_are_cumulative_and_streams_are_counted() {
        let metrics = Arc::new(Metrics::default());
        metrics.observe(Step::Retrieve, Duration::from_micros(200));
        metrics.observe(Step::Retrieve, Duration::from_micros(700));
        metrics.observe(Step::Retrieve, Duration::from_millis(30));
        metrics.reply(Some(0.9));
        metrics.reply(Some(0.1));
        metrics.handoff("frustration");
        let guard = metrics.stream_opened();
        let text = metrics.render();
        for (le, count) in [
            ("0.0001", 0),
            ("0.00025", 1),
            ("0.001", 2),
            ("0.025", 2),
            ("0.05", 3),
            ("+Inf", 3),
        ] {
            let bucket =
                format!("frontdesk_step_seconds_bucket{{step=\"retrieve\",le=\"{le}\"}} {count}");
            assert!(text.contains(&bucket), "{bucket} in:\n{text}");
        }
        assert!(text.contains("frontdesk_step_seconds_count{step=\"retrieve\"} 3"));
        assert!(text.contains("frontdesk_replies_total{confidence=\"1.0\"} 1"));
        assert!(text.contains("frontdesk_replies_total{confidence=\"0.2\"} 1"));
        assert!(text.contains("frontdesk_handoffs_total{reason=\"frustration\"} 1"));
        assert!(text.contains("frontdesk_open_streams 1"));
        drop(guard);
        assert!(metrics.render().contains("frontdesk_open_streams 0"));
    }

    #[test]
    fn each_step_is_rendered_under_its_own_name() {
        // A step's histogram is found by its position, so the names must follow the enum.
        for (index, (step, _)) in STEPS.iter().enumerate() {
            assert_eq!(*step as usize, index, "{step:?}");
        }
    }
}
