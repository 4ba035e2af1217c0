//! A scripted OpenAI-compatible server for tests: records every request and answers from a
//! queue of behaviours (plain or streamed text, HTTP errors, slow or stalled replies).

use std::{
    collections::VecDeque,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Json, Router,
    body::Body,
    extract::State,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::post,
};
use serde_json::{Value, json};

/// What the server does with the next request.
#[derive(Clone, Debug)]
pub enum Behavior {
    /// Answer with this text: streamed word by word when the request asks to stream.
    Text(String),
    /// Answer with an HTTP error status (and a `Retry-After` of 0 for 429).
    Status(u16),
    /// Answer 429 with a `Retry-After` of this many seconds.
    RateLimited(u64),
    /// Wait this long before the headers (a slow or stalled provider), then behave.
    Slow(Duration, Box<Behavior>),
    /// Call these tools (name, JSON arguments), streamed in pieces as real providers do.
    ToolCalls(Vec<(String, Value)>),
    /// Stream this text, then close the stream before the model says it finished.
    Truncated(String),
    /// Stream this text, then finish for the token limit (`finish_reason: "length"`).
    CutOff(String),
    /// Stream this text (maybe none: the headers and an empty first chunk), then send
    /// nothing more, the stream held open.
    Stalls(String),
}

#[derive(Default)]
struct Script {
    queue: VecDeque<Behavior>,
    requests: Vec<Value>,
    /// Used when the queue is empty (none: a 500).
    fallback: Option<Behavior>,
    /// Stop recording requests (long load runs).
    quiet: bool,
}

/// A running scripted server.
#[derive(Clone)]
pub struct ScriptedLlm {
    addr: SocketAddr,
    script: Arc<Mutex<Script>>,
}

impl ScriptedLlm {
    pub async fn start() -> Self {
        let script = Arc::new(Mutex::new(Script::default()));
        let app = Router::new()
            .route("/v1/chat/completions", post(completions))
            .with_state(script.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind scripted llm");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            axum::serve(listener, app)
                .await
                .expect("scripted llm serve");
        });
        Self { addr, script }
    }

    /// The base URL to configure as `OPENAI_BASE_URL`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Queues behaviours for the next requests (when the queue is empty: a 500).
    pub fn push(&self, behaviors: impl IntoIterator<Item = Behavior>) {
        self.script
            .lock()
            .expect("script lock")
            .queue
            .extend(behaviors);
    }

    /// Answers every request with `behavior` once the queue is empty, without recording
    /// requests (for load runs).
    pub fn always(&self, behavior: Behavior) {
        let mut script = self.script.lock().expect("script lock");
        script.fallback = Some(behavior);
        script.quiet = true;
    }

    /// Every request body received so far.
    pub fn requests(&self) -> Vec<Value> {
        self.script.lock().expect("script lock").requests.clone()
    }
}

async fn completions(
    State(script): State<Arc<Mutex<Script>>>,
    Json(body): Json<Value>,
) -> Response {
    let behavior = {
        let mut script = script.lock().expect("script lock");
        if !script.quiet {
            script.requests.push(body.clone());
        }
        let fallback = script.fallback.clone().unwrap_or(Behavior::Status(500));
        script.queue.pop_front().unwrap_or(fallback)
    };
    let stream = body["stream"].as_bool().unwrap_or(false);
    respond(behavior, stream).await
}

async fn respond(mut behavior: Behavior, stream: bool) -> Response {
    loop {
        match behavior {
            Behavior::Slow(delay, next) => {
                tokio::time::sleep(delay).await;
                behavior = *next;
            }
            Behavior::Status(code) => {
                let status =
                    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                let mut response = (
                    status,
                    Json(json!({"error": {"message": "scripted failure", "type": "server_error", "param": null, "code": null}})),
                )
                    .into_response();
                if code == 429 {
                    response
                        .headers_mut()
                        .insert(header::RETRY_AFTER, header::HeaderValue::from_static("0"));
                }
                return response;
            }
            Behavior::RateLimited(seconds) => {
                let body = json!({"error": {"message": "Rate limit reached", "type": "requests", "param": null, "code": "rate_limit_exceeded"}});
                let mut response = (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response();
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, header::HeaderValue::from(seconds));
                return response;
            }
            Behavior::ToolCalls(calls) => return tool_call_sse(&calls),
            Behavior::Truncated(text) => {
                let mut body = chunk(json!({"role": "assistant", "content": ""}), None);
                for word in text.split_inclusive(' ') {
                    body.push_str(&chunk(json!({ "content": word }), None));
                }
                return Response::builder()
                    .header(header::CONTENT_TYPE, "text/event-stream")
                    .body(Body::from(body))
                    .expect("sse response");
            }
            Behavior::Stalls(text) => {
                let mut body = chunk(json!({"role": "assistant", "content": ""}), None);
                for word in text.split_inclusive(' ') {
                    body.push_str(&chunk(json!({ "content": word }), None));
                }
                let sent =
                    futures_util::stream::once(
                        async move { Ok::<_, std::convert::Infallible>(body) },
                    );
                return Response::builder()
                    .header(header::CONTENT_TYPE, "text/event-stream")
                    .body(Body::from_stream(futures_util::StreamExt::chain(
                        sent,
                        futures_util::stream::pending(),
                    )))
                    .expect("sse response");
            }
            Behavior::Text(text) if stream => return sse(&text, "stop"),
            Behavior::CutOff(text) => return sse(&text, "length"),
            Behavior::Text(text) => {
                return Json(json!({
                    "id": "chatcmpl-test",
                    "object": "chat.completion",
                    "created": 0,
                    "model": "scripted",
                    "choices": [{
                        "index": 0,
                        "message": {"role": "assistant", "content": text},
                        "finish_reason": "stop",
                        "logprobs": null
                    }],
                    "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
                }))
                .into_response();
            }
        }
    }
}

fn chunk(delta: Value, finish: Option<&str>) -> String {
    let data = json!({
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "scripted",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": null}]
    });
    format!("data: {data}\n\n")
}

fn sse(text: &str, finish: &str) -> Response {
    let mut body = chunk(json!({"role": "assistant", "content": ""}), None);
    for word in text.split_inclusive(' ') {
        body.push_str(&chunk(json!({ "content": word }), None));
    }
    body.push_str(&chunk(json!({}), Some(finish)));
    body.push_str("data: [DONE]\n\n");
    Response::builder()
        .header(header::CONTENT_TYPE, "text/event-stream")
        .body(Body::from(body))
        .expect("sse response")
}

fn tool_call_sse(calls: &[(String, Value)]) -> Response {
    let mut body = chunk(json!({"role": "assistant", "content": null}), None);
    for (index, (name, args)) in calls.iter().enumerate() {
        let args = args.to_string();
        let (first, second) = args.split_at(args.len() / 2);
        body.push_str(&chunk(
            json!({"tool_calls": [{"index": index, "id": format!("call_{index}"), "type": "function",
                "function": {"name": name, "arguments": first}}]}),
            None,
        ));
        body.push_str(&chunk(
            json!({"tool_calls": [{"index": index, "function": {"arguments": second}}]}),
            None,
        ));
    }
    body.push_str(&chunk(json!({}), Some("tool_calls")));
    body.push_str("data: [DONE]\n\n");
    Response::builder()
        .header(header::CONTENT_TYPE, "text/event-stream")
        .body(Body::from(body))
        .expect("sse response")
}
