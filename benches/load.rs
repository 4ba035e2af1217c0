//! Load run: the real `frontdesk` binary against a scripted OpenAI-compatible server with a
//! fixed delay. Phase 1 sends turns at a fixed rate and reports throughput and the service's
//! own overhead per turn (latency minus the model's time, which the service reports per
//! request in its `Server-Timing` header). Phase 2 opens many conversation
//! streams and reports the server's resident memory. Phase 3, when asked for, sends turns
//! again while those streams are open.
//!
//! Run: `cargo bench --bench load` (or `cargo bench --benches`, with the retrieval run; knobs: FRONTDESK_LOAD_RATE=200, FRONTDESK_LOAD_SECONDS=10,
//! FRONTDESK_LOAD_DELAY_MS=50, FRONTDESK_LOAD_STREAMS=10000, FRONTDESK_LOAD_OPEN_SECONDS=0).

#[path = "../tests/api/scripted_llm.rs"]
#[allow(dead_code, reason = "the test helpers this run does not use")]
mod scripted_llm;

#[path = "../tests/api/helpers.rs"]
#[allow(dead_code, reason = "the test helpers this run does not use")]
mod helpers;

use std::time::{Duration, Instant};

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

/// The CPU time a process has used so far (user and system), from `/proc/{pid}/stat`.
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    // utime and stime are fields 14 and 15 of the line (11 and 12 after the name), in ticks
    // of 1/100 s (USER_HZ on Linux).
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i).and_then(|v| v.parse::<u64>().ok()))
        .sum();
    Duration::from_millis(ticks * 10)
}

/// A number from a `name: value` line of `/proc/{pid}/{file}`: a resident-size field of
/// `status` (`VmRSS`, `RssAnon`, `RssFile`, in KiB), or a count of `io` (`write_bytes`).
fn proc_number(pid: u32, file: &str, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/{file}"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.strip_prefix(field).is_some_and(|r| r.starts_with(':')))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn status_kib(pid: u32, field: &str) -> u64 {
    proc_number(pid, "status", field)
}

fn rss_kib(pid: u32) -> u64 {
    status_kib(pid, "VmRSS")
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
    let llm_url = llm.base_url();
    let database = std::env::var("FRONTDESK_DATABASE_URL").ok();
    let mut envs = vec![
        ("OPENAI_BASE_URL", llm_url.as_str()),
        ("FRONTDESK_LLM_MODEL", "scripted"),
        ("RUST_LOG", "warn,frontdesk=info"),
        // One client standing for thousands of customers: its address's and its
        // conversations' rate limits are set past what it sends (not off: their bookkeeping
        // is part of what is measured).
        ("FRONTDESK__LIMITS__CONVERSATIONS_PER_MINUTE", "100000000"),
        ("FRONTDESK__LIMITS__MESSAGES_PER_MINUTE", "100000000"),
    ];
    if let Some(url) = &database {
        envs.push(("FRONTDESK_DATABASE_URL", url.as_str()));
    }
    let mut service = helpers::start_binary(data.path(), &envs).await;
    let client = frontdesk::http_client()
        .pool_max_idle_per_host(1_000)
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    service.api.client = client.clone();
    let base = service.base.clone();
    let pid = service.child.id();
    let new_conversation = || async {
        let chat = service.start_chat_with(json!({})).await;
        (chat.id, chat.token)
    };
    // Enough conversations for `seconds` of turns that none is asked a question twice.
    let conversations_for = async |seconds: u64| {
        let turns = usize::try_from(rate * seconds).unwrap_or(0);
        let mut chats = Vec::new();
        for _ in 0..turns.div_ceil(QUESTIONS.len()).max(1) {
            chats.push(new_conversation().await);
        }
        chats
    };
    println!(
        "frontdesk pid {pid} at {base}; model delay {delay:?}; idle RSS {} MiB",
        rss_kib(pid) / 1024
    );

    // Phase 1: turns at a fixed rate.
    let chats = conversations_for(seconds).await;
    let load = Load {
        client: client.clone(),
        base: base.clone(),
        pid,
        rate,
        delay,
    };
    send_turns(&load, &chats, seconds).await;

    let metrics = service.metrics().await;
    for step in [
        "store",
        "retrieve",
        "context",
        "llm_first_token",
        "llm_total",
        "reply",
        "turn",
        "overhead",
    ] {
        let value = |kind: &str| {
            helpers::sample(
                &metrics,
                &format!("frontdesk_step_seconds_{kind}{{step=\"{step}\"}}"),
            )
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
        let (id, token) = new_conversation().await;
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
    let gauge = helpers::sample(&service.metrics().await, "frontdesk_open_streams");
    let rss = rss_kib(pid);
    println!(
        "frontdesk_open_streams {gauge}; server RSS with {streams} open streams: {:.1} MiB = {:.1} MB (goal: under \
         150 MB) ({} MiB anonymous, {} MiB file pages: the binary's own, mostly)",
        rss as f64 / 1024.0,
        rss as f64 * 1024.0 / 1e6,
        status_kib(pid, "RssAnon") / 1024,
        status_kib(pid, "RssFile") / 1024
    );

    // Phase 3 (FRONTDESK_LOAD_OPEN_SECONDS, off by default): turns in fresh conversations
    // while the streams stay open, through a keep-alive round (every 15 s) or more.
    let open_seconds = knob("FRONTDESK_LOAD_OPEN_SECONDS", 0);
    if open_seconds > 0 {
        let fresh = conversations_for(open_seconds).await;
        println!("turns while {} streams are open:", open.len());
        send_turns(&load, &fresh, open_seconds).await;
    }
    drop(open);
}

/// What turns are sent to, and how fast.
struct Load {
    client: reqwest::Client,
    base: String,
    pid: u32,
    rate: u64,
    delay: Duration,
}

/// Sends turns at `load.rate` for `seconds`, round-robin over `chats`, and reports their
/// throughput, the service's overhead per turn and its steps.
async fn send_turns(load: &Load, chats: &[(String, String)], seconds: u64) {
    let &Load {
        ref client,
        ref base,
        pid,
        rate,
        delay,
    } = load;
    let total = usize::try_from(rate * seconds).unwrap_or(0);
    let cpu_before = cpu_time(pid);
    let written_before = proc_number(pid, "io", "write_bytes");
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
                // As the widget sends it, to store each message once.
                .json(&json!({ "text": question, "client_message_id": format!("load-{i}") }))
                .send()
                .await;
            // A turn counts when it succeeded and the assistant replied.
            let Ok(response) = response else {
                return None;
            };
            let timing = helpers::server_timing(&response);
            let timing = |name: &str| {
                Duration::from_secs_f64(timing.get(name).copied().unwrap_or(0.0) / 1e3)
            };
            let answered = response.status().is_success()
                && response
                    .json::<Value>()
                    .await
                    .is_ok_and(|b| b["replies"].as_array().is_some_and(|r| !r.is_empty()));
            let latency = t.elapsed();
            answered.then(|| Turn {
                latency,
                model: timing("model"),
                server: timing("total"),
                store: timing("store"),
                retrieve: timing("retrieve"),
                context: timing("context"),
                reply: timing("reply"),
            })
        }));
    }
    let mut turns = Vec::with_capacity(total);
    let mut failures = 0;
    for task in tasks {
        match task.await.expect("turn task") {
            Some(turn) => turns.push(turn),
            None => failures += 1,
        }
    }
    let wall = started.elapsed();
    let cpu = cpu_time(pid).saturating_sub(cpu_before);
    let written = proc_number(pid, "io", "write_bytes").saturating_sub(written_before);
    println!(
        "turns: {} answered, {failures} failed or unanswered in {:.1} s = {:.0} turns/s (target {rate}/s)",
        turns.len(),
        wall.as_secs_f64(),
        turns.len() as f64 / wall.as_secs_f64()
    );
    println!(
        "service CPU: {:.2} s in all, {:.2} ms per turn",
        cpu.as_secs_f64(),
        cpu.as_secs_f64() * 1e3 / total.max(1) as f64
    );
    // What the service's writes put on the disk: the database's log and its checkpoints.
    println!(
        "written to the disk: {:.1} MiB, {:.1} KiB per turn",
        written as f64 / (1024.0 * 1024.0),
        written as f64 / 1024.0 / total.max(1) as f64
    );
    let report = |what: &str, of: &dyn Fn(&Turn) -> Duration| {
        let mut values: Vec<Duration> = turns.iter().map(of).collect();
        values.sort_unstable();
        println!(
            "{what}: p50 {:?} p99 {:?} max {:?}",
            percentile(&values, 0.5),
            percentile(&values, 0.99),
            values.last().copied().unwrap_or_default()
        );
    };
    report("turn latency (client)", &|t| t.latency);
    report("model time (the service's wait on the model)", &|t| t.model);
    report(&format!("latency - nominal {delay:?} model delay"), &|t| {
        t.latency.saturating_sub(delay)
    });
    report(
        "service overhead: latency - model time (client's view)",
        &|t| t.latency.saturating_sub(t.model),
    );
    report(
        "service overhead: request time - model time (Server-Timing)",
        &|t| t.server.saturating_sub(t.model),
    );
    report("  storing the message", &|t| t.store);
    report("  retrieval (alongside the store)", &|t| t.retrieve);
    report(
        "  reading the conversation and its latest messages (alongside the store)",
        &|t| t.context,
    );
    report("  storing the reply", &|t| t.reply);
    let rest = |t: &Turn| {
        t.server
            .saturating_sub(t.store.max(t.context).max(t.retrieve) + t.model + t.reply)
    };
    report(
        "  the rest (request time - model - the steps above; a re-read of the context counts here)",
        &rest,
    );
    // What the slowest 1% of turns spent their time on: the tail's steps, not each step's tail.
    let overhead = |t: &Turn| t.server.saturating_sub(t.model);
    let mut overheads: Vec<Duration> = turns.iter().map(overhead).collect();
    overheads.sort_unstable();
    let slow: Vec<&Turn> = turns
        .iter()
        .filter(|t| overhead(t) >= percentile(&overheads, 0.99))
        .collect();
    let mean = |of: &dyn Fn(&Turn) -> Duration| {
        let sum: Duration = slow.iter().map(|t| of(t)).sum();
        sum / u32::try_from(slow.len().max(1)).unwrap_or(u32::MAX)
    };
    println!(
        "  the slowest 1% ({} turns), mean: overhead {:?}, storing the message {:?}, the reads \
         {:?}, retrieval {:?}, storing the reply {:?}, the rest {:?}",
        slow.len(),
        mean(&overhead),
        mean(&|t| t.store),
        mean(&|t| t.context),
        mean(&|t| t.retrieve),
        mean(&|t| t.reply),
        mean(&rest),
    );
}

/// One answered turn.
struct Turn {
    latency: Duration,
    /// From the service's `Server-Timing` header: its wait on the model, and the whole request.
    model: Duration,
    server: Duration,
    store: Duration,
    retrieve: Duration,
    context: Duration,
    reply: Duration,
}
