//! The test harness: the real app on 127.0.0.1:0 with a temp data dir, optionally a scripted
//! model server, and helpers per endpoint.

use std::{
    collections::HashMap,
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::Duration,
};

use frontdesk::{App, Settings, config::Secret};
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::scripted_llm::{Behavior, ScriptedLlm};

pub const ADMIN_KEY: &str = "admin-key-for-tests";
pub const AGENT_KEY: &str = "agent-key-for-tests";

pub fn repo_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// How a test talks to a running service: its base URL, a client and a helper per endpoint.
pub struct Api {
    pub base: String,
    pub client: reqwest::Client,
}

impl Api {
    pub fn new(base: String) -> Self {
        Self {
            base,
            client: frontdesk::http_client()
                .timeout(Duration::from_secs(20))
                .build()
                .expect("client"),
        }
    }
}

/// A running app and what a test needs to talk to it (see [`Api`]).
pub struct TestApp {
    pub api: Api,
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

/// The PostgreSQL server the tests may use (`FRONTDESK_TEST_POSTGRES`, e.g.
/// `postgres://frontdesk:frontdesk@127.0.0.1:5432`): the replica tests always need it, and
/// with `FRONTDESK_TEST_BACKEND=postgres` every test app stores its data there.
pub fn postgres_server() -> Option<String> {
    std::env::var("FRONTDESK_TEST_POSTGRES")
        .ok()
        .map(|url| url.trim_end_matches('/').to_owned())
}

/// Whether the whole suite runs on PostgreSQL instead of SQLite.
fn suite_on_postgres() -> bool {
    std::env::var("FRONTDESK_TEST_BACKEND").is_ok_and(|b| b == "postgres")
}

/// The URL of a database named `name` on the test server.
pub fn postgres_database(name: &str) -> String {
    let server = postgres_server().expect("FRONTDESK_TEST_POSTGRES names the PostgreSQL server");
    format!("{server}/{name}")
}

/// Creates the database behind `url` if it does not exist yet.
pub async fn create_database(url: &str) {
    use sqlx::{migrate::MigrateDatabase, postgres::Postgres};
    if !Postgres::database_exists(url)
        .await
        .expect("reach PostgreSQL")
    {
        Postgres::create_database(url)
            .await
            .expect("create database");
    }
}

/// The database a test app with this data dir uses: none (SQLite in the data dir) unless the
/// suite runs on PostgreSQL; then one database per data dir, so a restarted app finds its data.
pub fn database_url_for(data_dir: &Path) -> Option<String> {
    use std::hash::{DefaultHasher, Hash, Hasher};
    suite_on_postgres().then(|| {
        let mut hasher = DefaultHasher::new();
        data_dir.hash(&mut hasher);
        postgres_database(&format!("fd_test_{:016x}", hasher.finish()))
    })
}

/// Settings for a test app: port 0, a fresh data dir, the repo's demo knowledge and prompts.
pub fn test_settings(data_dir: &TempDir) -> Settings {
    Settings {
        listen: "127.0.0.1:0".into(),
        data_dir: data_dir.path().to_owned(),
        database_url: database_url_for(data_dir.path()).map(Secret::new),
        knowledge_dir: repo_dir().join("knowledge"),
        prompts_dir: repo_dir().join("prompts"),
        actions_dir: repo_dir().join("actions"),
        admin_key: Some(Secret::new(ADMIN_KEY)),
        agent_key: Some(Secret::new(AGENT_KEY)),
        ..Settings::default()
    }
}

/// Why the service refuses to start with test settings adjusted by `adjust` (it must refuse).
pub async fn start_error(adjust: impl FnOnce(&mut Settings)) -> String {
    let data_dir = tempfile::tempdir().expect("data dir");
    let mut settings = test_settings(&data_dir);
    adjust(&mut settings);
    if let Some(url) = &settings.database_url {
        create_database(url.expose()).await;
    }
    match App::build(settings).await {
        Ok(_) => panic!("the service started"),
        Err(error) => error.to_string(),
    }
}

/// The app in extractive mode (no model).
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Points `settings` at a scripted model server, with short timeouts.
pub fn use_scripted_llm(settings: &mut Settings, llm: &ScriptedLlm) {
    settings.llm.base_url = Some(llm.base_url());
    settings.llm.api_key = Some(Secret::new("sk-test"));
    settings.llm.model = "scripted-model".into();
    settings.llm.first_token_timeout_ms = 1_500;
    settings.llm.total_timeout_ms = 4_000;
}

/// The app with a scripted model server and short timeouts.
pub async fn spawn_app_with_llm() -> TestApp {
    let llm = ScriptedLlm::start().await;
    let mut app = spawn_app_with(|s| use_scripted_llm(s, &llm)).await;
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
    // The service's warnings go to the test's captured output, shown when a test fails.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_test_writer()
        .try_init();
    if let Some(url) = &settings.database_url {
        create_database(url.expose()).await;
    }
    let app = App::build(settings).await.expect("app builds");
    let addr = app.local_addr().expect("bound address");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        app.serve(async {
            let _ = rx.await;
        })
        .await;
    });
    TestApp {
        api: Api::new(format!("http://{addr}")),
        llm: None,
        data_dir,
        shutdown: Some(tx),
        server: Some(server),
    }
}

/// The real `frontdesk serve` binary, killed when dropped.
pub struct Binary {
    pub child: Child,
    pub api: Api,
    /// Every line it has logged so far.
    pub log: Arc<Mutex<Vec<String>>>,
}

impl std::ops::Deref for Binary {
    type Target = Api;
    fn deref(&self) -> &Api {
        &self.api
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `frontdesk serve` on a free port with this data dir (and the suite's database), plus
/// `envs`; returns once it prints its address.
pub async fn start_binary(data_dir: &Path, envs: &[(&str, &str)]) -> Binary {
    let mut command = Command::new(env!("CARGO_BIN_EXE_frontdesk"));
    command
        .arg("serve")
        .env("FRONTDESK_LISTEN", "127.0.0.1:0")
        .env("FRONTDESK_DATA_DIR", data_dir)
        .env("FRONTDESK_ADMIN_KEY", ADMIN_KEY)
        .env("FRONTDESK_AGENT_KEY", AGENT_KEY)
        .env("FRONTDESK_KNOWLEDGE_DIR", repo_dir().join("knowledge"))
        .env("FRONTDESK_PROMPTS_DIR", repo_dir().join("prompts"))
        .env("FRONTDESK_ACTIONS_DIR", repo_dir().join("actions"))
        .env_remove("FRONTDESK_DATABASE_URL")
        .env_remove("OPENAI_BASE_URL")
        .env_remove("OPENAI_API_KEY")
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let own_database = envs
        .iter()
        .any(|(name, _)| *name == "FRONTDESK_DATABASE_URL");
    if !own_database && let Some(url) = database_url_for(data_dir) {
        create_database(&url).await;
        command.env("FRONTDESK_DATABASE_URL", url);
    }
    command.envs(envs.iter().copied());
    let mut child = command.spawn().expect("start frontdesk");
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
    // Keep draining stdout so the child never blocks on a full pipe; its warnings and errors
    // join the test's output.
    let log = Arc::new(Mutex::new(Vec::new()));
    let kept = log.clone();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            if line.contains("WARN") || line.contains("ERROR") {
                eprintln!("[frontdesk] {line}");
            }
            kept.lock().expect("log lock").push(line);
        }
    });
    Binary {
        child,
        api: Api::new(base),
        log,
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

    pub fn llm(&self) -> &ScriptedLlm {
        self.llm
            .as_ref()
            .expect("app started with a scripted model")
    }
}

impl TestApp {
    /// A connection of the test's own to the app's database (SQLite's file, or its PostgreSQL
    /// database), to do what no endpoint does: break commits, lose a write.
    pub async fn database(&self) -> sqlx::AnyConnection {
        use sqlx::Connection;
        sqlx::any::install_default_drivers();
        let url = database_url_for(self.data_dir.path()).unwrap_or_else(|| {
            format!(
                "sqlite://{}",
                self.data_dir.path().join("frontdesk.db").display()
            )
        });
        sqlx::AnyConnection::connect(&url).await.expect("database")
    }
}

impl std::ops::Deref for TestApp {
    type Target = Api;
    fn deref(&self) -> &Api {
        &self.api
    }
}

impl Api {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
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

    /// The summary of the chat's open handoff, as agents read it (a customer's copy has none).
    pub async fn summary(&self, chat: &Chat) -> String {
        let (status, body) = agent(
            self,
            reqwest::Method::GET,
            &format!("/v1/conversations/{}", chat.id),
            None,
        )
        .await;
        assert_eq!(status, 200, "{body}");
        body["handoff"]["summary"]
            .as_str()
            .unwrap_or_else(|| panic!("no open handoff: {body}"))
            .to_owned()
    }

    /// The conversation's stored messages, in order.
    pub async fn messages(&self, chat: &Chat) -> Vec<Value> {
        let body: Value = self
            .client
            .get(self.url(&format!("/v1/conversations/{}/messages", chat.id)))
            .bearer_auth(&chat.token)
            .send()
            .await
            .expect("list")
            .json()
            .await
            .expect("json");
        body["messages"].as_array().cloned().expect("messages")
    }

    /// Opens the conversation's live stream (resuming after `after`, when given).
    pub async fn stream(&self, chat: &Chat, after: Option<i64>) -> reqwest::Response {
        let after = after.map(|seq| format!("&after={seq}")).unwrap_or_default();
        self.client
            .get(self.url(&format!(
                "/v1/conversations/{}/stream?access_token={}{after}",
                chat.id, chat.token
            )))
            .send()
            .await
            .expect("conversation stream")
    }

    /// Opens the agents' live feed.
    pub async fn agent_stream(&self) -> reqwest::Response {
        self.client
            .get(self.url(&format!("/v1/agent/stream?access_token={AGENT_KEY}")))
            .send()
            .await
            .expect("agent stream")
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

    /// The `/metrics` page.
    pub async fn metrics(&self) -> String {
        let response = self
            .client
            .get(self.url("/metrics"))
            .send()
            .await
            .expect("metrics");
        assert_eq!(response.status(), 200);
        response.text().await.expect("metrics text")
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

    /// Deletes an article as the admin; the answer's status.
    pub async fn delete_article(&self, id: &str) -> u16 {
        self.client
            .delete(self.url(&format!("/v1/articles/{id}")))
            .bearer_auth(ADMIN_KEY)
            .send()
            .await
            .expect("delete article")
            .status()
            .as_u16()
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

/// A call with the agent key; the status and the JSON body (`null` when there is none).
pub async fn agent(
    app: &Api,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = app
        .client
        .request(method, app.url(path))
        .bearer_auth(AGENT_KEY);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// One file of the demo store data.
pub fn demo(file: &str) -> Vec<Value> {
    let path = repo_dir().join("actions/data").join(file);
    serde_json::from_str(&std::fs::read_to_string(path).expect("demo data")).expect("json")
}

/// A shipped order with its owner's email, from the demo data.
pub fn shipped_order() -> (Value, String) {
    let customers = demo("customers.json");
    let order = demo("orders.json")
        .into_iter()
        .find(|o| o["status"] == "in_transit" && o["shipping"]["tracking_number"].is_string())
        .expect("an in-transit order");
    let email = customers
        .iter()
        .find(|c| c["id"] == order["customer_id"])
        .and_then(|c| c["email"].as_str())
        .expect("owner")
        .to_owned();
    (order, email)
}

/// A response's `Server-Timing` header: each metric's duration in milliseconds (none without
/// the header).
pub fn server_timing(response: &reqwest::Response) -> HashMap<String, f64> {
    let header = response
        .headers()
        .get("server-timing")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    header
        .split(',')
        .filter_map(|metric| metric.trim().split_once(";dur="))
        .filter_map(|(name, ms)| Some((name.to_owned(), ms.parse().ok()?)))
        .collect()
}

/// The `seq` of each message, in order.
pub fn seqs(messages: &[Value]) -> Vec<i64> {
    messages.iter().filter_map(|m| m["seq"].as_i64()).collect()
}

/// The model's call verifying the customer of `order` by `email` (as [`shipped_order`] gives
/// them).
pub fn verify_customer_call(order: &Value, email: &str) -> Behavior {
    Behavior::ToolCalls(vec![(
        "verify_customer".into(),
        json!({"email": email, "order_number": order["number"]}),
    )])
}

/// The token estimate the service counts with when no tokenizer is configured.
pub fn estimate(text: &str) -> u64 {
    text.chars().count().div_ceil(4) as u64
}

/// The tools a recorded request offers, each as its JSON, as the service counts them.
pub fn tool_definitions(request: &Value) -> Vec<String> {
    request["tools"].as_array().map_or(Vec::new(), |tools| {
        tools.iter().map(Value::to_string).collect()
    })
}

/// A recorded request's first message: the system prompt (or the summary prompt).
pub fn first_message(request: &Value) -> &str {
    request["messages"][0]["content"]
        .as_str()
        .expect("a first message")
}

/// Tokens of a recorded request, counted as the service counts its prompts: each message's
/// text plus 4, each tool call's name and arguments, and each offered tool's definition plus 4.
pub fn prompt_tokens(request: &Value) -> u64 {
    let tools: u64 = tool_definitions(request)
        .iter()
        .map(|d| estimate(d) + 4)
        .sum();
    let messages = request["messages"].as_array().expect("messages");
    tools
        + messages
            .iter()
            .map(|m| {
                let calls: u64 = m["tool_calls"].as_array().map_or(0, |calls| {
                    calls
                        .iter()
                        .map(|c| {
                            estimate(c["function"]["name"].as_str().unwrap_or_default())
                                + estimate(c["function"]["arguments"].as_str().unwrap_or_default())
                        })
                        .sum()
                });
                estimate(m["content"].as_str().unwrap_or_default()) + 4 + calls
            })
            .sum::<u64>()
}

/// One sample of the metrics page, by its series (name and labels).
pub fn sample(metrics: &str, series: &str) -> f64 {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("{series} missing in:\n{metrics}"))
}
