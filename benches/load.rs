//! Load run: the real `frontdesk` binary against a scripted OpenAI-compatible server with a
//! fixed delay. Phase 1 sends turns at a fixed rate and reports throughput and the service's
//! own overhead per turn (latency minus the model's delay). Phase 2 opens many conversation
//! streams and reports the server's resident memory.
//!
//! Run: `cargo bench --bench load` (knobs: FRONTDESK_LOAD_RATE=200, FRONTDESK_LOAD_SECONDS=10,
//! FRONTDESK_LOAD_DELAY_MS=50, FRONTDESK_LOAD_STREAMS=10000).

#[path = "../tests/api/scripted_llm.rs"]
#[allow(dead_code, reason = "the test helpers this run does not use")]
mod scripted_llm;

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use scripted_llm::{Behavior, ScriptedLlm};
use serde_json::{Value, json};

/// Different questions for the turns of one conversation (a repeated question would read as
/// frustration and hand the conversation to a person).
const QUESTIONS: &[&str] = &[
    "How long does standard shipping take?",
    "Can I return a kettle I bought on sale?",
    "Which payment methods do you accept?",
    "Do gift cards expire?",
    "How do I reset my password?",
    "Do you ship to Canada?",
    "How do I download an invoice?",
    "What does the warranty cover?",
];

fn knob(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// Opens a conversation; returns its id and token.
async fn new_conversation(client: &reqwest::Client, base: &str) -> (String, String) {
    let body: Value = client
        .post(format!("{base}/v1/conversations"))
        .json(&json!({}))
        .send()
        .await
        .expect("create")
        .json()
        .await
        .expect("json");
    (
        body["conversation_id"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        body["token"].as_str().unwrap_or_default().to_owned(),
    )
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

#[tokio::main]
async fn main() {
    let rate = knob("FRONTDESK_LOAD_RATE", 200);
    let seconds = knob("FRONTDESK_LOAD_SECONDS", 10);
    let delay = Duration::from_millis(knob("FRONTDESK_LOAD_DELAY_MS", 50));
    let streams = knob("FRONTDESK_LOAD_STREAMS", 10_000);

    let llm = ScriptedLlm::start().await;
    llm.always(Behavior::Slow(
        delay,
        Box::new(Behavior::Text(
            "Standard shipping takes 5 to 7 business days [1].".into(),
        )),
    ));
    let data = tempfile::tempdir().expect("data dir");
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_frontdesk"))
        .arg("serve")
        .env("FRONTDESK_LISTEN", "127.0.0.1:0")
        .env("FRONTDESK_DATA_DIR", data.path())
        .env("FRONTDESK_ADMIN_KEY", "load-admin-key")
        .env("FRONTDESK_AGENT_KEY", "load-agent-key")
        .env("FRONTDESK_KNOWLEDGE_DIR", repo.join("knowledge"))
        .env("FRONTDESK_ACTIONS_DIR", repo.join("actions"))
        .env("FRONTDESK_PROMPTS_DIR", repo.join("prompts"))
        .env("OPENAI_BASE_URL", llm.base_url())
        .env("FRONTDESK_LLM_MODEL", "scripted")
        .env("RUST_LOG", "warn,frontdesk=info")
        .env(
            "MALLOC_ARENA_MAX",
            std::env::var("MALLOC_ARENA_MAX").unwrap_or_else(|_| "8".into()),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start frontdesk (cargo bench builds it)");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let base = loop {
        let line = lines.next().expect("address line").expect("read");
        if let Some(rest) = line.split("listening on ").nth(1) {
            break rest
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_owned();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    let pid = child.id();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(1_000)
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    println!(
        "frontdesk pid {pid} at {base}; model delay {delay:?}; idle RSS {} MiB",
        rss_kib(pid) / 1024
    );

    // Phase 1: turns at a fixed rate.
    let total = usize::try_from(rate * seconds).unwrap_or(0);
    let mut chats = Vec::new();
    for _ in 0..total.div_ceil(QUESTIONS.len()).max(1) {
        chats.push(new_conversation(&client, &base).await);
    }
    let started = Instant::now();
    let interval = Duration::from_secs_f64(1.0 / rate as f64);
    let mut tasks = Vec::with_capacity(total);
    for i in 0..total {
        let due = started + interval * u32::try_from(i).unwrap_or(u32::MAX);
        tokio::time::sleep_until(due.into()).await;
        let (id, token) = chats[i % chats.len()].clone();
        let question = QUESTIONS[(i / chats.len()) % QUESTIONS.len()];
        let client = client.clone();
        let url = format!("{base}/v1/conversations/{id}/messages");
        tasks.push(tokio::spawn(async move {
            let t = Instant::now();
            let response = client
                .post(url)
                .bearer_auth(token)
                .json(&json!({ "text": question }))
                .send()
                .await;
            // A turn counts when it succeeded and the assistant replied.
            let ok = match response {
                Ok(r) if r.status().is_success() => r
                    .json::<Value>()
                    .await
                    .is_ok_and(|b| b["replies"].as_array().is_some_and(|r| !r.is_empty())),
                _ => false,
            };
            (t.elapsed(), ok)
        }));
    }
    let mut latencies = Vec::with_capacity(total);
    let mut failures = 0;
    for task in tasks {
        let (elapsed, ok) = task.await.expect("turn task");
        if ok {
            latencies.push(elapsed);
        } else {
            failures += 1;
        }
    }
    let wall = started.elapsed();
    latencies.sort_unstable();
    let overhead: Vec<Duration> = latencies.iter().map(|l| l.saturating_sub(delay)).collect();
    println!(
        "turns: {} answered, {failures} failed or unanswered in {:.1} s = {:.0} turns/s (target {rate}/s)",
        latencies.len(),
        wall.as_secs_f64(),
        latencies.len() as f64 / wall.as_secs_f64()
    );
    println!(
        "turn latency p50 {:?} p99 {:?}; service overhead (latency - {delay:?} model) p50 {:?} p99 {:?}",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        percentile(&overhead, 0.5),
        percentile(&overhead, 0.99)
    );

    let metrics = metrics_text(&client, &base).await;
    for step in ["store", "retrieve", "llm_first_token", "llm_total", "turn"] {
        let value = |kind: &str| {
            metrics
                .lines()
                .find(|l| {
                    l.starts_with(&format!("frontdesk_step_seconds_{kind}{{step=\"{step}\"}}"))
                })
                .and_then(|l| l.split_whitespace().last())
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        let (sum, count) = (value("sum"), value("count"));
        if count > 0.0 {
            println!(
                "  server step {step}: mean {:.3} ms over {count} samples",
                1e3 * sum / count
            );
        }
    }

    // Phase 2: many open conversation streams.
    let mut open = Vec::with_capacity(usize::try_from(streams).unwrap_or(0));
    for n in 0..streams {
        let (id, token) = new_conversation(&client, &base).await;
        if std::env::var_os("FRONTDESK_LOAD_NO_STREAMS").is_some() {
            continue; // measures the conversations alone
        }
        let response = client
            .get(format!(
                "{base}/v1/conversations/{id}/stream?access_token={token}"
            ))
            .send()
            .await
            .expect("stream");
        open.push(response);
        if (n + 1) % 2_500 == 0 {
            println!(
                "{} streams open: server RSS {} MiB",
                n + 1,
                rss_kib(pid) / 1024
            );
        }
    }
    let metrics = metrics_text(&client, &base).await;
    let gauge = metrics
        .lines()
        .find(|l| l.starts_with("frontdesk_open_streams "))
        .unwrap_or("frontdesk_open_streams ?");
    println!(
        "{gauge}; server RSS with {streams} open streams: {} MiB",
        rss_kib(pid) / 1024
    );
    drop(open);
    let _ = child.kill();
    let _ = child.wait();
}

/// The service's `/metrics` page.
async fn metrics_text(client: &reqwest::Client, base: &str) -> String {
    client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .unwrap_or_default()
}
