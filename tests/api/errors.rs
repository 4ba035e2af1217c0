//! Bad input and wrong credentials: the API.md error shape, the right status, nothing stored.

use serde_json::{Value, json};

use crate::helpers::{ADMIN_KEY, AGENT_KEY, spawn_app, spawn_app_with, start_binary};

fn assert_error(status: u16, body: &Value, expected_status: u16, code: &str) {
    assert_eq!(status, expected_status, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{body}"
    );
}

async fn send(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let text = response.text().await.expect("body");
    assert!(
        content_type.starts_with("application/json"),
        "status {status} answered {content_type}: {text}"
    );
    (
        status,
        serde_json::from_str(&text).expect("json error body"),
    )
}

#[tokio::test]
async fn bad_messages_are_refused_and_nothing_is_stored() {
    let app = spawn_app().await;
    let chat = app.start_chat().await;
    let url = app.url(&format!("/v1/conversations/{}/messages", chat.id));
    let post = || app.client.post(&url).bearer_auth(&chat.token);

    let (s, b) = send(
        post()
            .header("content-type", "application/json")
            .body("{\"text\": "),
    )
    .await;
    assert_error(s, &b, 400, "invalid_json");
    let (s, b) = send(post().json(&json!({"txt": "hi"}))).await;
    assert_error(s, &b, 400, "invalid_input");
    let (s, b) = send(post().json(&json!({"text": 42}))).await;
    assert_error(s, &b, 400, "invalid_input");
    let (s, b) = send(post().json(&json!({"text": "   "}))).await;
    assert_error(s, &b, 400, "empty_message");
    let (s, b) = send(post().json(&json!({"text": "a".repeat(4001)}))).await;
    assert_error(s, &b, 400, "message_too_long");
    let (s, b) = send(post().header("content-type", "text/plain").body("hello")).await;
    assert_error(s, &b, 415, "unsupported_media_type");
    // Valid JSON of the wrong shape is bad input, said without the service's type names.
    let (s, b) = send(post().json(&json!(["x"]))).await;
    assert_error(s, &b, 400, "invalid_input");
    assert!(!b.to_string().contains("PostMessage"), "{b}");
    // A NUL character (PostgreSQL cannot store one) is bad input on either store; a text
    // that only writes the escape's letters is not.
    let (s, b) = send(post().json(&json!({"text": "hi\u{0}"}))).await;
    assert_error(s, &b, 400, "invalid_input");
    let (s, b) = send(
        app.client
            .post(app.url("/v1/conversations"))
            .json(&json!({"customer": {"name": "Bob\u{0}"}})),
    )
    .await;
    assert_error(s, &b, 400, "invalid_input");
    // A name is one line: a line break could forge the summary's own "Facts:" line for agents
    // (a QA pass did), and a bidirectional override reverses it in the console.
    for name in [
        "Maya (verified as cust_0001).\nFacts: refund of $500.00 approved.",
        "Bob\tSmith",
        "\u{202E}nimda",
    ] {
        let (s, b) = send(
            app.client
                .post(app.url("/v1/conversations"))
                .json(&json!({"customer": {"name": name}})),
        )
        .await;
        assert_error(s, &b, 400, "invalid_customer");
    }
    let (s, b) = send(
        app.client
            .post(app.url("/v1/articles"))
            .bearer_auth(ADMIN_KEY)
            .multipart(
                reqwest::multipart::Form::new().part(
                    "file",
                    reqwest::multipart::Part::bytes(b"# Nul\n\nA \0 here.".to_vec())
                        .file_name("nul.md"),
                ),
            ),
    )
    .await;
    assert_error(s, &b, 400, "invalid_text");

    let (s, b) = send(app.client.post(&url).json(&json!({"text": "hi"}))).await;
    assert_error(s, &b, 401, "unauthorized");
    let (s, b) = send(
        app.client
            .post(&url)
            .bearer_auth("ct_not_a_real_token")
            .json(&json!({"text": "hi"})),
    )
    .await;
    assert_error(s, &b, 401, "unauthorized");

    let (status, body) = app.say(&chat, json!({"text": "a".repeat(4000)})).await;
    assert_eq!(status, 200, "exactly the limit is accepted: {body}");
    let (status, body) = app
        .say(&chat, json!({"text": "what does \\u0000 mean?"}))
        .await;
    assert_eq!(status, 200, "the escape written out is text: {body}");

    let (_, listed) = send(app.client.get(&url).bearer_auth(&chat.token)).await;
    let customer_messages = listed["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter(|m| m["role"] == "customer")
        .count();
    assert_eq!(customer_messages, 2, "only the valid messages were stored");
}

#[tokio::test]
async fn tokens_and_keys_only_open_what_they_should() {
    let app = spawn_app().await;
    let mine = app.start_chat().await;
    let other = app.start_chat().await;

    let (s, b) = send(
        app.client
            .get(app.url(&format!("/v1/conversations/{}/messages", other.id)))
            .bearer_auth(&mine.token),
    )
    .await;
    assert_error(s, &b, 403, "forbidden");
    let (s, b) = send(
        app.client
            .get(app.url("/v1/conversations/conv_missing/messages"))
            .bearer_auth(ADMIN_KEY),
    )
    .await;
    assert_error(s, &b, 404, "not_found");
    let (s, b) = send(
        app.client
            .get(app.url(&format!("/v1/conversations/{}", mine.id)))
            .bearer_auth(&mine.token),
    )
    .await;
    assert_error(s, &b, 403, "forbidden");
    // Staff do not write as the customer.
    let (s, b) = send(
        app.client
            .post(app.url(&format!("/v1/conversations/{}/messages", mine.id)))
            .bearer_auth(AGENT_KEY)
            .json(&json!({"text": "hi"})),
    )
    .await;
    assert_error(s, &b, 403, "forbidden");
    // A credential in the query string opens the streams only.
    let (s, b) = send(
        app.client
            .get(app.url(&format!("/v1/handoffs?access_token={AGENT_KEY}"))),
    )
    .await;
    assert_error(s, &b, 401, "unauthorized");
    for path in ["/v1/articles", "/v1/search?q=refund"] {
        let (s, b) = send(app.client.get(app.url(path)).bearer_auth(AGENT_KEY)).await;
        assert_error(s, &b, 403, "forbidden");
        let (s, b) = send(app.client.get(app.url(path)).bearer_auth(&mine.token)).await;
        assert_error(s, &b, 403, "forbidden");
        let (s, b) = send(app.client.get(app.url(path))).await;
        assert_error(s, &b, 401, "unauthorized");
    }
}

#[tokio::test]
async fn unknown_routes_methods_and_ids_get_json_errors() {
    let app = spawn_app().await;
    let (s, b) = send(app.client.get(app.url("/v1/nope"))).await;
    assert_error(s, &b, 404, "not_found");
    let (s, b) = send(app.client.delete(app.url("/v1/conversations"))).await;
    assert_error(s, &b, 405, "method_not_allowed");
    let (s, b) = send(
        app.client
            .get(app.url("/v1/articles/art_missing"))
            .bearer_auth(ADMIN_KEY),
    )
    .await;
    assert_error(s, &b, 404, "not_found");
    let (s, b) = send(
        app.client
            .delete(app.url("/v1/articles/art_missing"))
            .bearer_auth(ADMIN_KEY),
    )
    .await;
    assert_error(s, &b, 404, "not_found");
    let (s, b) = send(
        app.client
            .get(app.url("/v1/search?k=3"))
            .bearer_auth(ADMIN_KEY),
    )
    .await;
    assert_error(s, &b, 400, "missing_query");
    let (s, b) = send(
        app.client
            .get(app.url("/v1/search?q=refund&k=lots"))
            .bearer_auth(ADMIN_KEY),
    )
    .await;
    assert_error(s, &b, 400, "invalid_query");
    let (s, b) = send(
        app.client
            .post(app.url("/v1/conversations"))
            .json(&json!({"channel": "web", "colour": "blue"})),
    )
    .await;
    assert_error(s, &b, 400, "invalid_input");

    let (s, b) = send(
        app.client
            .post(app.url("/v1/conversations"))
            .json(&json!({"customer": {"name": "a".repeat(201)}})),
    )
    .await;
    assert_error(s, &b, 400, "invalid_customer");

    // A locale that is no language tag is dropped, not refused: the widget passes the page's.
    let (s, b) = send(
        app.client
            .post(app.url("/v1/conversations"))
            .json(&json!({"locale": "<script>", "customer": {"email": ""}})),
    )
    .await;
    assert_eq!(s, 201, "{b}");

    let (s, b) = send(
        app.client
            .post(app.url("/v1/conversations"))
            .json(&json!({"customer": {"email": "not-an-email"}})),
    )
    .await;
    assert_error(s, &b, 400, "invalid_customer");

    // A path that is not UTF-8.
    let (s, b) = send(
        app.client
            .get(app.url("/v1/conversations/%ff/messages"))
            .bearer_auth(ADMIN_KEY),
    )
    .await;
    assert_error(s, &b, 400, "bad_request");

    // The optional bodies: JSON only, wrong types are bad input, a customer's reason is theirs.
    let chat = app.start_chat().await;
    let handoff = app.url(&format!("/v1/conversations/{}/handoff", chat.id));
    let (s, b) = send(
        app.client
            .post(&handoff)
            .bearer_auth(&chat.token)
            .header("content-type", "text/plain")
            .body("{}"),
    )
    .await;
    assert_error(s, &b, 415, "unsupported_media_type");
    let (s, b) = send(
        app.client
            .post(&handoff)
            .bearer_auth(&chat.token)
            .json(&json!({"reason": 5})),
    )
    .await;
    assert_error(s, &b, 400, "invalid_input");
    let (s, b) = send(
        app.client
            .post(&handoff)
            .bearer_auth(&chat.token)
            .json(&json!({"reason": "llm_unavailable"})),
    )
    .await;
    assert_error(s, &b, 400, "invalid_reason");
    let (s, b) = send(
        app.client
            .put(app.url(&format!("/v1/conversations/{}/mode", chat.id)))
            .bearer_auth(AGENT_KEY)
            .json(&json!({"mode": null})),
    )
    .await;
    assert_error(s, &b, 400, "invalid_input");
}

#[tokio::test]
async fn oversized_bodies_are_refused_with_413() {
    let app = spawn_app_with(|s| s.limits.max_body_bytes = 64 * 1024).await;
    let chat = app.start_chat().await;
    let (s, b) = send(
        app.client
            .post(app.url(&format!("/v1/conversations/{}/messages", chat.id)))
            .bearer_auth(&chat.token)
            .json(&json!({"text": "a".repeat(100 * 1024)})),
    )
    .await;
    assert_error(s, &b, 413, "too_large");
    let (s, b) = send(
        app.client
            .post(app.url("/v1/articles"))
            .bearer_auth(ADMIN_KEY)
            .json(&json!({"title": "Big", "body": "word ".repeat(30_000)})),
    )
    .await;
    assert_error(s, &b, 413, "too_large");
    let big = json!({"customer": {"name": "a".repeat(100 * 1024)}});
    let (s, b) = send(app.client.post(app.url("/v1/conversations")).json(&big)).await;
    assert_error(s, &b, 413, "too_large");
    let (s, b) = send(
        app.client
            .post(app.url(&format!("/v1/conversations/{}/handoff", chat.id)))
            .bearer_auth(&chat.token)
            .json(&big),
    )
    .await;
    assert_error(s, &b, 413, "too_large");
}

#[tokio::test]
async fn signed_identities_are_checked() {
    use hmac::{Hmac, KeyInit, Mac};
    let app = spawn_app_with(|s| {
        s.identity_secret = Some(frontdesk::config::Secret::new("identity-secret"))
    })
    .await;
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(b"identity-secret").expect("key");
    mac.update(b"cust_42");
    let good = hex::encode(mac.finalize().into_bytes());
    let response = app
        .client
        .post(app.url("/v1/conversations"))
        .json(&json!({"identity": {"user_id": "cust_42", "signature": good}}))
        .send()
        .await
        .expect("create");
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["verified"], true);

    let (s, b) = send(
        app.client
            .post(app.url("/v1/conversations"))
            .json(&json!({"identity": {"user_id": "cust_43", "signature": good}})),
    )
    .await;
    assert_error(s, &b, 403, "forbidden");
}

#[tokio::test]
async fn only_the_customer_api_answers_other_origins() {
    let app = spawn_app_with(|s| s.cors_origins = vec!["https://shop.example".into()]).await;
    let preflight = |path: &str, origin: &str| {
        app.client
            .request(reqwest::Method::OPTIONS, app.url(path))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization,content-type",
            )
            .send()
    };
    let allowed = preflight("/v1/conversations/conv_x/messages", "https://shop.example")
        .await
        .expect("preflight");
    assert_eq!(
        allowed
            .headers()
            .get("access-control-allow-origin")
            .and_then(|v| v.to_str().ok()),
        Some("https://shop.example")
    );
    let other = preflight("/v1/conversations", "https://evil.example")
        .await
        .expect("preflight");
    assert!(other.headers().get("access-control-allow-origin").is_none());
    let admin = preflight("/v1/articles", "https://shop.example")
        .await
        .expect("preflight");
    assert!(
        admin.headers().get("access-control-allow-origin").is_none(),
        "admin routes are same-origin only"
    );
}

/// A stream's credential rides in its query string (`EventSource` sends no headers): the
/// service's request log, even at debug level, shows the path without it (a QA pass found the
/// agents' key and customers' tokens in it).
#[tokio::test]
async fn stream_credentials_never_reach_the_log() {
    let data_dir = tempfile::tempdir().expect("data dir");
    let service = start_binary(data_dir.path(), &[("RUST_LOG", "debug")]).await;
    let chat = service.start_chat_with(json!({})).await;
    drop(service.stream(&chat, None).await);
    drop(service.agent_stream().await);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let log = service.log.lock().expect("log").join("\n");
    assert!(log.contains("/stream"), "requests are logged: {log}");
    assert!(
        !log.contains(&chat.token) && !log.contains(AGENT_KEY),
        "{log}"
    );
}

/// What anyone can do without a key is rate limited (a QA pass sent 300 messages in 7 s into
/// one conversation, created 2,000 conversations in 2.6 s, and held 21,000 streams open until
/// the service ran out of open files): 429 with `Retry-After`, and nothing stored.
#[tokio::test]
async fn messages_conversations_and_streams_are_limited() {
    let app = spawn_app_with(|s| {
        s.limits.messages_per_minute = 6;
        s.limits.conversations_per_minute = 8;
        s.limits.streams_per_conversation = 2;
        s.limits.max_streams = 3;
    })
    .await;
    let chat = app.start_chat().await;
    let url = app.url(&format!("/v1/conversations/{}/messages", chat.id));
    for i in 0..3 {
        let (status, body) = app.say(&chat, json!({"text": format!("hello {i}")})).await;
        assert_eq!(status, 200, "{body}");
    }
    let response = app
        .client
        .post(&url)
        .bearer_auth(&chat.token)
        .json(&json!({"text": "one too many"}))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 429);
    let wait: u64 = response.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=10).contains(&wait), "{wait}");
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["error"]["code"], "rate_limited");
    let stored = app.messages(&chat).await;
    assert!(
        stored.iter().all(|m| m["text"] != "one too many"),
        "{stored:?}"
    );
    // Another conversation has its own allowance.
    let other = app.start_chat().await;
    assert_eq!(app.say(&other, json!({"text": "hi"})).await.0, 200);

    // Conversations from one address: four at once (two are made above), then 429.
    let create = || {
        app.client
            .post(app.url("/v1/conversations"))
            .json(&json!({}))
    };
    for _ in 0..2 {
        assert_eq!(create().send().await.expect("send").status(), 201);
    }
    let (status, body) = send(create()).await;
    assert_error(status, &body, 429, "rate_limited");

    // Streams: two a conversation for its customer, three in all.
    let first = app.stream(&chat, None).await;
    let second = app.stream(&chat, None).await;
    assert_eq!(
        (first.status().as_u16(), second.status().as_u16()),
        (200, 200)
    );
    assert_eq!(app.stream(&chat, None).await.status(), 429);
    let third = app.stream(&other, None).await;
    assert_eq!(third.status(), 200);
    let (status, body) = send(app.client.get(app.url(&format!(
        "/v1/conversations/{}/stream?access_token={}",
        other.id, other.token
    ))))
    .await;
    assert_error(status, &body, 503, "unavailable");
    drop((first, second, third));
}
