//! Two `frontdesk serve` processes on one PostgreSQL database, as behind a load balancer:
//! conversations, the queue, live events and articles cross from one replica to the other.
//! They need `FRONTDESK_TEST_POSTGRES`; in CI a missing server fails, elsewhere they say so
//! and skip.

use std::time::Duration;

use serde_json::{Value, json};
use tempfile::TempDir;

use crate::helpers::{
    Binary, agent, create_database, postgres_database, postgres_server, read_sse_until, seqs,
    start_binary,
};

/// Two replicas on a fresh database, started at the same moment (so migrations, the
/// knowledge import and the demo seed race), or `None` when no server is configured.
async fn two_replicas() -> Option<(Binary, Binary, [TempDir; 2], String)> {
    if postgres_server().is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "FRONTDESK_TEST_POSTGRES is required in CI"
        );
        eprintln!("skipped: set FRONTDESK_TEST_POSTGRES to run the replica tests");
        return None;
    }
    let url = postgres_database(&format!("fd_replicas_{}", uuid::Uuid::new_v4().simple()));
    create_database(&url).await;
    let dirs = [
        tempfile::tempdir().expect("dir a"),
        tempfile::tempdir().expect("dir b"),
    ];
    let env = [("FRONTDESK_DATABASE_URL", url.as_str())];
    let (a, b) = tokio::join!(
        start_binary(dirs[0].path(), &env),
        start_binary(dirs[1].path(), &env)
    );
    Some((a, b, dirs, url))
}

#[tokio::test]
async fn a_conversation_and_its_handoff_cross_replicas_live() {
    let Some((a, b, _dirs, _)) = two_replicas().await else {
        return;
    };
    // The demo knowledge and store were loaded once, not twice.
    let (_, listed) = b.admin_get("/v1/articles").await;
    assert_eq!(listed["articles"].as_array().map(Vec::len), Some(41));

    // Started on A, continued on B: one conversation, numbered in order.
    let chat = a.start_chat().await;
    let (status, first) = a
        .say(&chat, json!({"text": "How long do refunds take?"}))
        .await;
    assert_eq!(status, 200, "{first}");
    let (status, second) = b
        .say(&chat, json!({"text": "Do you ship to Canada?"}))
        .await;
    assert_eq!(status, 200, "{second}");
    assert_eq!(second["message"]["seq"], 3);
    assert_eq!(seqs(&a.messages(&chat).await), [1, 2, 3, 4]);

    // Consoles on both replicas follow the queue; the customer's stream is open on A.
    let feed_b = b.agent_stream().await;
    let stream_a = a.stream(&chat, None).await;
    assert_eq!(stream_a.status(), 200);

    let (_, asked) = a
        .say(&chat, json!({"text": "I want to talk to a person"}))
        .await;
    let handoff_id = asked["handoff"]["id"]
        .as_str()
        .expect("handoff opened on A")
        .to_owned();
    let seen = read_sse_until(feed_b, |events| {
        events
            .iter()
            .any(|(e, d)| e == "handoff" && d["id"] == handoff_id.as_str())
    })
    .await;
    assert!(!seen.is_empty());

    let (status, claimed) = agent(
        &b,
        reqwest::Method::POST,
        &format!("/v1/handoffs/{handoff_id}/claim"),
        Some(json!({"agent": "bo"})),
    )
    .await;
    assert_eq!((status, claimed["claimed_by"].as_str()), (200, Some("bo")));
    let (status, _) = agent(
        &b,
        reqwest::Method::POST,
        &format!("/v1/conversations/{}/agent-messages", chat.id),
        Some(json!({"text": "Bo here from replica B.", "agent": "bo"})),
    )
    .await;
    assert_eq!(status, 201);
    let events = read_sse_until(stream_a, |events| {
        events
            .iter()
            .any(|(e, d)| e == "message" && d["text"] == "Bo here from replica B.")
    })
    .await;
    let status_seen = events
        .iter()
        .any(|(e, d)| e == "status" && d["handoff"]["claimed_by"] == "bo");
    assert!(status_seen, "the claim on B reached A: {events:?}");
}

#[tokio::test]
async fn claims_and_retries_race_safely_across_replicas() {
    let Some((a, b, _dirs, _)) = two_replicas().await else {
        return;
    };
    for round in 0..8 {
        let chat = a.start_chat().await;
        let (_, asked) = b
            .say(&chat, json!({"text": "talk to a human please"}))
            .await;
        let id = asked["handoff"]["id"].as_str().expect("handoff").to_owned();
        let path = format!("/v1/handoffs/{id}/claim");
        let (on_a, on_b) = tokio::join!(
            agent(
                &a,
                reqwest::Method::POST,
                &path,
                Some(json!({"agent": "ana"}))
            ),
            agent(
                &b,
                reqwest::Method::POST,
                &path,
                Some(json!({"agent": "bo"}))
            ),
        );
        let mut statuses = [on_a.0, on_b.0];
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 409], "round {round}: {on_a:?} {on_b:?}");
    }

    // The same message sent to both replicas at once is stored once.
    let chat = a.start_chat().await;
    let body = json!({"text": "Where is my order?", "client_message_id": "retry-1"});
    let ((_, one), (_, two)) = tokio::join!(a.say(&chat, body.clone()), b.say(&chat, body));
    assert_eq!(one["message"]["id"], two["message"]["id"], "{one} {two}");
    let customer = b
        .messages(&chat)
        .await
        .iter()
        .filter(|m| m["role"] == "customer")
        .count();
    assert_eq!(customer, 1);
    // The duplicate took no number: the next message follows without a gap (a gap would send
    // every open stream a needless resync).
    a.say(&chat, json!({"text": "Thanks!"})).await;
    assert_eq!(seqs(&b.messages(&chat).await), [1, 2, 3, 4]);
}

#[tokio::test]
async fn an_article_uploaded_on_one_replica_is_answered_on_the_other() {
    let Some((a, b, _dirs, _)) = two_replicas().await else {
        return;
    };
    a.create_article(json!({
        "title": "Borrowing a telescope",
        "body": "Members may borrow the observatory telescope for seven nights."
    }))
    .await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while b.search("borrow the telescope").await.is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "B never indexed the article uploaded on A"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let chat = b.start_chat().await;
    let (_, body) = b
        .say(
            &chat,
            json!({"text": "How long can I borrow the telescope?"}),
        )
        .await;
    assert_eq!(
        body["replies"][0]["citations"][0]["title"], "Borrowing a telescope",
        "{body}"
    );
}

#[tokio::test]
/// While a replica's events connection is down, it misses the others' events: once it is
/// back, its streams read from the store what they missed (the status, and messages written
/// on the other replica), so their clients miss nothing.
async fn streams_catch_up_after_the_events_connection_is_lost() {
    use sqlx::Connection;
    let Some((a, b, _dirs, url)) = two_replicas().await else {
        return;
    };
    let chat = a.start_chat().await;
    let stream = a.stream(&chat, Some(0)).await;
    let mut db = sqlx::postgres::PgConnection::connect(&url)
        .await
        .expect("connect");
    // Cut both replicas' LISTEN connections, as a database restart or a network blip would.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let cut: Vec<bool> = sqlx::query_scalar(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE datname = current_database() AND query LIKE 'LISTEN%'",
        )
        .fetch_all(&mut db)
        .await
        .expect("terminate");
        if cut.len() >= 2 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "listeners not found"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Written on B while A may still be reconnecting; A's stream gets it either way.
    b.say(&chat, json!({"text": "Where is my order?"})).await;
    let seqs = |events: &[(String, Value)]| -> Vec<i64> {
        events
            .iter()
            .filter(|(e, _)| e == "message")
            .filter_map(|(_, m)| m["seq"].as_i64())
            .collect()
    };
    let statuses =
        |events: &[(String, Value)]| events.iter().filter(|(e, _)| e == "status").count();
    let events = read_sse_until(stream, |events| {
        statuses(events) >= 2 && seqs(events).contains(&2)
    })
    .await;
    assert_eq!(seqs(&events), [1, 2], "{events:?}");
    assert!(!events.iter().any(|(e, _)| e == "resync"), "{events:?}");
}
