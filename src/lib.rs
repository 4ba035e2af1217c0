//! Frontdesk: an AI-first customer-support assistant.
//!
//! A tour of the layout, in the order one customer message travels through it:
//! - [`http`]: axum routes of API.md; thin handlers, one JSON error type, SSE.
//! - [`conversation`]: the turn pipeline (store → mode → retrieve → answer → confidence →
//!   store reply → handoff) and the confidence score.
//! - [`storage`]: SQLite (WAL) or PostgreSQL through one store, with versioned migrations:
//!   conversations, messages, articles, handoffs, channels, feedback, the demo store.
//! - [`retrieval`]: markdown/HTML/text → heading passages → tantivy BM25 index, kept in step
//!   with the articles table.
//! - [`llm`]: the OpenAI-compatible client (async-openai), prompt templates with a token
//!   budget, and the extractive reply used without a model.
//! - [`handoff`]: opening handoffs with a summary (model-written or deterministic).
//! - [`events`]: live events for conversation streams and the agents' feed, relayed between
//!   replicas through PostgreSQL's LISTEN/NOTIFY.
//! - [`phrases`]: the service's own replies in English, Spanish, French, German, Portuguese.
//! - [`config`]: the typed settings tree (defaults → TOML → environment).
//! - [`app`]: startup, shared state, and serving with graceful shutdown.

pub mod actions;
pub mod app;
pub mod config;
pub mod conversation;
pub mod eval;
pub mod events;
pub mod handoff;
pub mod http;
pub mod llm;
pub mod phrases;
pub mod retrieval;
pub mod storage;
pub mod telemetry;

pub use app::{App, AppState};
pub use config::Settings;

/// A builder for an outgoing HTTP client (the model, actions' backends, webhooks), whose TLS
/// is rustls on ring's cryptography, installed for the process on first use. Build every
/// client here: reqwest is built without a provider of its own, so its `Client::new()` (or
/// `reqwest::get`) panics in a process that has not been here yet.
pub fn http_client() -> reqwest::ClientBuilder {
    // An error means a provider is installed already, which then serves.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
}
