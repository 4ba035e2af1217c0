//! The real binary, killed with SIGKILL mid-life, keeps every acknowledged message.

use std::{process::Command, time::Duration};

use serde_json::{Value, json};

use crate::helpers::{Chat, start_binary};

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
    let mut service = start_binary(data_dir.path(), &[]).await;
    let base = service.base.clone();

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
    service.child.kill().expect("SIGKILL");
    service.child.wait().expect("reaped");
    drop(service);

    let service = start_binary(data_dir.path(), &[]).await;
    let base = service.base.clone();
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
    let mut service = start_binary(data_dir.path(), &[]).await;
    let base = service.base.clone();
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
        .args(["-TERM", &service.child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let exit = loop {
        if let Some(exit) = service.child.try_wait().expect("wait") {
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
