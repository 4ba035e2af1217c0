//! The real binary, killed with SIGKILL mid-life, keeps every acknowledged message.

use std::{process::Command, time::Duration};

use serde_json::json;

use crate::helpers::start_binary;

#[tokio::test]
async fn a_killed_service_restarts_with_every_acknowledged_message() {
    let data_dir = tempfile::tempdir().expect("data dir");
    let mut service = start_binary(data_dir.path(), &[]).await;

    let chat = service.start_chat_with(json!({})).await;
    let texts = [
        "Where is my order?",
        "How do I return a kettle?",
        "Do you ship to the UK?",
    ];
    for text in texts {
        let (status, _) = service
            .say(&chat, json!({ "text": text, "client_message_id": text }))
            .await;
        assert_eq!(status, 200);
    }
    service.child.kill().expect("SIGKILL");
    service.child.wait().expect("reaped");
    drop(service);

    let service = start_binary(data_dir.path(), &[]).await;
    let messages = service.messages(&chat).await;
    let customer: Vec<&str> = messages
        .iter()
        .filter(|m| m["role"] == "customer")
        .filter_map(|m| m["text"].as_str())
        .collect();
    assert_eq!(customer, texts);
    let replies = messages.iter().filter(|m| m["role"] == "assistant").count();
    assert_eq!(replies, 3);

    // A retry after the restart is still recognised as the same message.
    let (_, again) = service
        .say(
            &chat,
            json!({ "text": texts[0], "client_message_id": texts[0] }),
        )
        .await;
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
    let chat = service.start_chat_with(json!({})).await;
    let stream = service.stream(&chat, None).await;
    assert_eq!(stream.status(), 200);
    let status = Command::new("kill")
        .args(["-TERM", &service.child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    // Well inside the 10 s drain timeout: open streams end at once.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let exit = loop {
        if let Some(exit) = service.child.try_wait().expect("wait") {
            break exit;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still running 5 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "{exit:?}");
    // The stream itself ended (rather than being cut at the drain timeout).
    let rest = tokio::time::timeout(Duration::from_secs(1), stream.bytes()).await;
    assert!(matches!(rest, Ok(Ok(_))), "{rest:?}");
}
