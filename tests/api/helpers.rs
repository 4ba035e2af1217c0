//! The test harness: the real app on 127.0.0.1:0 with a temp data dir, optionally a scripted
//! model server, and helpers per endpoint.

use std::{path::PathBuf, time::Duration};

use frontdesk::{App, Settings, config::Secret};
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::scripted_llm::ScriptedLlm;

pub const ADMIN_KEY: &str = "admin-key-for-tests";
pub const AGENT_KEY: &str = "agent-key-for-tests";

pub fn repo_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A running app and what a test needs to talk to it.
pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub llm: Option<ScriptedLlm>,
    pub data_dir: TempDir,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Settings for a test app: port 0, a fresh data dir, the repo's demo knowledge and prompts.
pub fn test_settings(data_dir: &TempDir) -> Settings {
    Settings {
        listen: "127.0.0.1:0".into(),
        data_dir: data_dir.path().to_owned(),
        knowledge_dir: repo_dir().join("knowledge"),
        prompts_dir: repo_dir().join("prompts"),
        actions_dir: repo_dir().join("actions"),
        admin_key: Some(Secret::new(ADMIN_KEY)),
        agent_key: Some(Secret::new(AGENT_KEY)),
        ..Settings::default()
    }
}

/// The app in extractive mode (no model).
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// The app with a scripted model server and short timeouts.
pub async fn spawn_app_with_llm() -> TestApp {
    let llm = ScriptedLlm::start().await;
    let base_url = llm.base_url();
    let mut app = spawn_app_with(move |s| {
        s.llm.base_url = Some(base_url);
        s.llm.api_key = Some(Secret::new("sk-test"));
        s.llm.model = "scripted-model".into();
        s.llm.first_token_timeout_ms = 1_500;
        s.llm.total_timeout_ms = 4_000;
    })
    .await;
    app.llm = Some(llm);
    app
}

/// The app with settings adjusted by `adjust`.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Settings)) -> TestApp {
    let data_dir = tempfile::tempdir().expect("temp data dir");
    let mut settings = test_settings(&data_dir);
    adjust(&mut settings);
    spawn_on(settings, data_dir).await
}

pub async fn spawn_on(settings: Settings, data_dir: TempDir) -> TestApp {
    let app = App::build(settings).await.expect("app builds");
    let addr = app.local_addr().expect("bound address");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        app.serve(async {
            let _ = rx.await;
        })
        .await
        .expect("serve");
    });
    TestApp {
        base: format!("http://{addr}"),
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .expect("client"),
        llm: None,
        data_dir,
        shutdown: Some(tx),
        server: Some(server),
    }
}

/// A conversation as the widget holds it.
pub struct Chat {
    pub id: String,
    pub token: String,
}

impl TestApp {
    /// Shuts the app down gracefully and hands back its data dir.
    pub async fn stop(mut self) -> TempDir {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.expect("server task");
        }
        let dir = tempfile::tempdir().expect("placeholder dir");
        std::mem::replace(&mut self.data_dir, dir)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn llm(&self) -> &ScriptedLlm {
        self.llm
            .as_ref()
            .expect("app started with a scripted model")
    }

    pub async fn start_chat(&self) -> Chat {
        self.start_chat_with(json!({"channel": "web", "locale": "en"}))
            .await
    }

    pub async fn start_chat_with(&self, body: Value) -> Chat {
        let response = self
            .client
            .post(self.url("/v1/conversations"))
            .json(&body)
            .send()
            .await
            .expect("create conversation");
        assert_eq!(response.status(), 201);
        let body: Value = response.json().await.expect("json");
        Chat {
            id: body["conversation_id"]
                .as_str()
                .expect("conversation_id")
                .into(),
            token: body["token"].as_str().expect("token").into(),
        }
    }

    /// Posts a message (JSON mode) and returns the status and body.
    pub async fn say(&self, chat: &Chat, body: Value) -> (u16, Value) {
        let response = self
            .client
            .post(self.url(&format!("/v1/conversations/{}/messages", chat.id)))
            .bearer_auth(&chat.token)
            .json(&body)
            .send()
            .await
            .expect("post message");
        let status = response.status().as_u16();
        (status, response.json().await.expect("json body"))
    }

    /// Posts a message asking for SSE; returns the (event, data) pairs in order.
    pub async fn say_streaming(&self, chat: &Chat, text: &str) -> Vec<(String, Value)> {
        let response = self
            .client
            .post(self.url(&format!("/v1/conversations/{}/messages", chat.id)))
            .bearer_auth(&chat.token)
            .header("accept", "text/event-stream")
            .json(&json!({ "text": text }))
            .send()
            .await
            .expect("post message");
        assert_eq!(response.status(), 200);
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap_or_default()
                .starts_with("text/event-stream")
        );
        parse_sse(&response.text().await.expect("sse body"))
    }

    pub async fn admin_get(&self, path: &str) -> (u16, Value) {
        let response = self
            .client
            .get(self.url(path))
            .bearer_auth(ADMIN_KEY)
            .send()
            .await
            .expect("get");
        let status = response.status().as_u16();
        let body = response.json().await.unwrap_or(Value::Null);
        (status, body)
    }

    pub async fn create_article(&self, body: Value) -> Value {
        let response = self
            .client
            .post(self.url("/v1/articles"))
            .bearer_auth(ADMIN_KEY)
            .json(&body)
            .send()
            .await
            .expect("create article");
        assert_eq!(response.status(), 201);
        response.json().await.expect("json")
    }

    pub async fn search(&self, q: &str) -> Vec<Value> {
        let (status, body) = self
            .admin_get(&format!("/v1/search?q={}&k=5", urlencode(q)))
            .await;
        assert_eq!(status, 200, "{body}");
        body["results"].as_array().cloned().unwrap_or_default()
    }
}

pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Parses a complete SSE body into (event, data) pairs.
pub fn parse_sse(body: &str) -> Vec<(String, Value)> {
    body.split("\n\n")
        .filter_map(|block| {
            let mut event = "message".to_owned();
            let mut data = String::new();
            for line in block.lines() {
                if let Some(e) = line.strip_prefix("event:") {
                    event = e.trim().to_owned();
                } else if let Some(d) = line.strip_prefix("data:") {
                    data.push_str(d.trim_start());
                }
            }
            if data.is_empty() {
                return None;
            }
            Some((
                event,
                serde_json::from_str(&data).unwrap_or(Value::String(data)),
            ))
        })
        .collect()
}

/// Reads an endless SSE response until `enough` says so (or a timeout fails the test).
pub async fn read_sse_until(
    mut response: reqwest::Response,
    enough: impl Fn(&[(String, Value)]) -> bool,
) -> Vec<(String, Value)> {
    let mut buffer = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let events = parse_sse(buffer.rsplit_once("\n\n").map_or("", |(done, _)| done));
        if enough(&events) {
            return events;
        }
        let chunk = tokio::time::timeout_at(deadline, response.chunk())
            .await
            .expect("stream produced the expected events in time")
            .expect("chunk")
            .expect("stream still open");
        buffer.push_str(&String::from_utf8_lossy(&chunk));
    }
}
