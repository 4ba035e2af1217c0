//! The HTTP surface (API.md): routes, layers, and the JSON fallbacks for unknown routes and
//! methods. Handlers are thin: extract, authorize, call one domain function, serialize.

mod admin;
mod articles;
mod chat;
mod conversation_stream;
pub mod error;
pub mod extract;
pub mod limits;
mod pages;
mod queue;
pub mod server;

use std::sync::Arc;

use axum::{
    Json, Router,
    extract::{DefaultBodyLimit, State},
    http::{HeaderValue, Method, header},
    response::{IntoResponse, Response},
    routing::{get, post, put},
};
use serde_json::json;
use tower_http::{
    catch_panic::CatchPanicLayer,
    cors::{AllowOrigin, CorsLayer},
    trace::TraceLayer,
};

use crate::app::AppState;
use error::ApiError;

/// The application's routes with their layers.
pub fn router(state: Arc<AppState>) -> Router {
    let body_limit = state.settings.limits.max_body_bytes;
    // What the widget calls from other sites: only these routes answer CORS, for the
    // configured origins. (The JSON 405 is set before the layer, which then wraps it.)
    let customer = Router::new()
        .route("/v1/conversations", post(chat::create))
        .route(
            "/v1/conversations/{id}/messages",
            post(chat::post_message).get(chat::list_messages),
        )
        .route(
            "/v1/conversations/{id}/stream",
            get(conversation_stream::stream_conversation),
        )
        .route(
            "/v1/conversations/{id}/handoff",
            post(chat::request_handoff),
        )
        .route("/v1/conversations/{id}/feedback", post(chat::feedback))
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(cors(&state.settings.cors_origins));
    // Pages, operations, agent and admin APIs: same-origin only.
    let own = Router::new()
        .route("/", get(pages::index))
        .route("/widget.js", get(pages::widget))
        .route("/agent", get(pages::agent))
        .route("/admin", get(pages::admin))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/v1/conversations/{id}", get(chat::get_conversation))
        .route("/v1/articles", post(articles::create).get(articles::list))
        .route(
            "/v1/articles/{id}",
            get(articles::get)
                .put(articles::update)
                .delete(articles::delete),
        )
        .route("/v1/search", get(articles::search))
        .route("/v1/channels", get(admin::channels))
        .route("/v1/channels/{name}", put(admin::set_channel))
        .route("/v1/reports/summary", get(admin::summary))
        .route("/v1/handoffs", get(queue::list))
        .route("/v1/handoffs/{id}/claim", post(queue::claim))
        .route("/v1/handoffs/{id}/resolve", post(queue::resolve))
        .route("/v1/handoffs/{id}/release", post(queue::release))
        .route(
            "/v1/conversations/{id}/agent-messages",
            post(queue::agent_message),
        )
        .route("/v1/conversations/{id}/mode", put(queue::set_mode))
        .route("/v1/agent/stream", get(queue::agent_stream));
    customer
        .merge(own)
        .fallback(|| async { ApiError::NotFound("route") })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(axum::middleware::map_response(error::json_errors))
        // The path only: a stream's query carries its credential (`access_token`).
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &axum::extract::Request| {
                tracing::debug_span!(
                    "request",
                    method = %request.method(),
                    path = %request.uri().path(),
                )
            }),
        )
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::Internal("Something went wrong on our side.".into()).into_response()
        }))
        .with_state(state)
}

/// CORS for the customer API (the widget runs on the business's own site).
fn cors(origins: &[String]) -> CorsLayer {
    let any = origins.iter().any(|o| o == "*");
    let listed: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::predicate(move |origin, _| {
            any || listed.contains(origin)
        }))
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE, header::ACCEPT])
}

/// `GET /healthz`: the process is up.
async fn healthz() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

/// `GET /metrics`: Prometheus text format.
async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}

/// `GET /readyz`: the store answers (the index was built at start).
async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    if state.store.ping().await {
        Json(json!({"status": "ready", "llm": state.llm.is_some()})).into_response()
    } else {
        ApiError::Unavailable("The database does not answer.".into()).into_response()
    }
}
