//! The real binary, killed with SIGKILL mid-life, keeps every acknowledged message.

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    time::Duration,
};

use serde_json::{Value, json};

use crate::helpers::{ADMIN_KEY, AGENT_KEY, Chat, repo_dir};

/// Starts `frontdesk serve` on a free port; returns the child and its base URL.
fn start(data_dir: &std::path::Path) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_frontdesk"))
        .arg("serve")
        .env("FRONTDESK_LISTEN", "127.0.0.1:0")
        .env("FRONTDESK_DATA_DIR", data_dir)
        .env("FRONTDESK_ADMIN_KEY", ADMIN_KEY)
        .env("FRONTDESK_AGENT_KEY", AGENT_KEY)
        .env("FRONTDESK_KNOWLEDGE_DIR", repo_dir().join("knowledge"))
        .env("FRONTDESK_PROMPTS_DIR", repo_dir().join("prompts"))
        .env_remove("OPENAI_BASE_URL")
        .env_remove("OPENAI_API_KEY")
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start frontdesk");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let base = loop {
        let line = lines
            .next()
            .expect("frontdesk printed its address before exiting")
            .expect("read line");
        if let Some(rest) = line.split("listening on ").nth(1) {
            break rest
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_owned();
        }
    };
    // Keep draining stdout so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (child, base)
}

/// Opens a conversation on a running binary.
async fn open_chat(client: &reqwest::Client, base: &str) -> Chat {
    let created: Value = client
        .post(format!("{base}/v1/conversations"))
        .json(&json!({}))
        .send()
        .await
        .expect("create")
        .json()
        .await
        .expect("json");
    Chat {
        id: created["conversation_id"].as_str().expect("id").into(),
        token: created["token"].as_str().expect("token").into(),
    }
}

#[tokio::test]
async fn a_killed_service_restarts_with_every_acknowledged_message() {
    let data_dir = tempfile::tempdir().expect("data dir");
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("client");
    let (mut child, base) = start(data_dir.path());

    let chat = open_chat(&client, &base).await;
    let texts = [
        "Where is my order?",
        "How do I return a kettle?",
        "Do you ship to the UK?",
    ];
    for text in texts {
        let response = client
            .post(format!("{base}/v1/conversations/{}/messages", chat.id))
            .bearer_auth(&chat.token)
            .json(&json!({ "text": text, "client_message_id": text }))
            .send()
            .await
            .expect("post");
        assert_eq!(response.status(), 200);
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");

    let (mut child, base) = start(data_dir.path());
    let body: Value = client
        .get(format!("{base}/v1/conversations/{}/messages", chat.id))
        .bearer_auth(&chat.token)
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    let customer: Vec<&str> = body["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter(|m| m["role"] == "customer")
        .filter_map(|m| m["text"].as_str())
        .collect();
    assert_eq!(customer, texts);
    let replies = body["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter(|m| m["role"] == "assistant")
        .count();
    assert_eq!(replies, 3);

    // A retry after the restart is still recognised as the same message.
    let again: Value = client
        .post(format!("{base}/v1/conversations/{}/messages", chat.id))
        .bearer_auth(&chat.token)
        .json(&json!({ "text": texts[0], "client_message_id": texts[0] }))
        .send()
        .await
        .expect("post")
        .json()
        .await
        .expect("json");
    assert_eq!(again["message"]["seq"], 1);
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
}

#[tokio::test]
async fn a_bad_config_fails_at_start_with_a_clear_message() {
    let output = Command::new(env!("CARGO_BIN_EXE_frontdesk"))
        .arg("serve")
        .env("FRONTDESK_LISTEN", "not-an-address")
        .output()
        .expect("run frontdesk");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("listen"), "{stderr}");
}

#[tokio::test]
async fn sigterm_stops_the_service_gracefully_even_with_open_streams() {
    let data_dir = tempfile::tempdir().expect("data dir");
    let (mut child, base) = start(data_dir.path());
    let client = reqwest::Client::new();
    let chat = open_chat(&client, &base).await;
    let stream = client
        .get(format!(
            "{base}/v1/conversations/{}/stream?access_token={}",
            chat.id, chat.token
        ))
        .send()
        .await
        .expect("stream");
    assert_eq!(stream.status(), 200);
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let exit = loop {
        if let Some(exit) = child.try_wait().expect("wait") {
            break exit;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still running 10 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "{exit:?}");
    drop(stream);
}
