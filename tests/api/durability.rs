//! The real binary, killed with SIGKILL mid-life, keeps every acknowledged message; a
//! message the database refuses to commit is not acknowledged, and nothing answers it.

use std::{process::Command, time::Duration};

use serde_json::json;
use sqlx::{AssertSqlSafe, Executor};

use crate::{
    helpers::{
        TestApp, database_url_for, sample, shipped_order, spawn_app_with_llm, start_binary,
        verify_customer_call,
    },
    scripted_llm::Behavior,
};

/// Makes every commit whose transaction did `event` on `table` (e.g. `INSERT`, or `UPDATE OF
/// verified_as`) fail, from a connection of the test's own: a reference checked only at
/// commit, which a trigger breaks. Undone by [`mend_commits`].
async fn break_commits(app: &TestApp, event: &str, table: &str) {
    let setup = "CREATE TABLE nowhere (id TEXT PRIMARY KEY);
         CREATE TABLE checked_at_commit (id TEXT REFERENCES nowhere(id) DEFERRABLE INITIALLY DEFERRED);";
    let trigger = if database_url_for(app.data_dir.path()).is_some() {
        format!(
            "CREATE FUNCTION breaks_commit() RETURNS trigger AS $$
               BEGIN INSERT INTO checked_at_commit (id) VALUES ('missing'); RETURN NEW; END
             $$ LANGUAGE plpgsql;
             CREATE TRIGGER breaks_commit AFTER {event} ON {table}
               FOR EACH ROW EXECUTE FUNCTION breaks_commit();"
        )
    } else {
        format!(
            "CREATE TRIGGER breaks_commit AFTER {event} ON {table}
             BEGIN INSERT INTO checked_at_commit (id) VALUES ('missing'); END;"
        )
    };
    app.database()
        .await
        .execute(AssertSqlSafe(format!("{setup}{trigger}")))
        .await
        .expect("break commits");
}

async fn mend_commits(app: &TestApp, table: &str) {
    let sql = if database_url_for(app.data_dir.path()).is_some() {
        format!("DROP TRIGGER breaks_commit ON {table}")
    } else {
        "DROP TRIGGER breaks_commit".to_owned()
    };
    app.database()
        .await
        .execute(AssertSqlSafe(sql))
        .await
        .expect("mend commits");
}

/// A message the database refuses to commit gets a 503 and nothing answers it: the model is
/// not asked, nothing is stored, and the next message goes through, numbered 1.
#[tokio::test]
async fn a_message_that_fails_to_commit_gets_a_503_and_nothing_answers_it() {
    let app = spawn_app_with_llm().await;
    let chat = app.start_chat().await;
    break_commits(&app, "INSERT", "messages").await;

    let (status, body) = app
        .say(
            &chat,
            json!({"text": "How long does standard shipping take?"}),
        )
        .await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "unavailable", "{body}");
    assert!(app.llm().requests().is_empty(), "the model was asked");

    mend_commits(&app, "messages").await;
    assert!(app.messages(&chat).await.is_empty(), "nothing was stored");
    app.llm().always(Behavior::Text(
        "Standard shipping takes 5 to 7 days [1].".into(),
    ));
    let (status, body) = app
        .say(
            &chat,
            json!({"text": "How long does standard shipping take?"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["message"]["seq"], 1, "{body}");
    assert_eq!(body["replies"][0]["seq"], 2, "{body}");
    let stored = app.messages(&chat).await;
    assert_eq!(stored.len(), 2, "{stored:?}");
}

/// A store that fails in a tool round (here, recording that the customer is verified) ends
/// the turn with a 503, and the model's time is still recorded.
#[tokio::test]
async fn a_store_failing_in_a_tool_round_ends_the_turn_with_its_model_time_recorded() {
    let app = spawn_app_with_llm().await;
    let (order, email) = shipped_order();
    let number = order["number"].as_str().expect("number");
    app.llm().push([
        verify_customer_call(&order, &email),
        Behavior::Text("Thanks, you're verified.".into()),
    ]);
    let chat = app.start_chat().await;
    break_commits(&app, "UPDATE OF verified_as", "conversations").await;

    let (status, body) = app
        .say(
            &chat,
            json!({"text": format!("I'm {email}, order {number}")}),
        )
        .await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(
        app.llm().requests().len(),
        1,
        "the turn ended in its tool round"
    );
    let metrics = app.metrics().await;
    assert_eq!(
        sample(&metrics, "frontdesk_step_seconds_count{step=\"llm_total\"}"),
        1.0
    );
    assert_eq!(
        sample(&metrics, "frontdesk_step_seconds_count{step=\"reply\"}"),
        0.0
    );
}

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
