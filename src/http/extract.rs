//! Request extractors that turn every rejection into an [`ApiError`], and the caller's role
//! from its bearer credential.

use std::sync::Arc;

use axum::{
    body::Bytes,
    extract::{FromRequest, FromRequestParts, Query, Request},
    http::{StatusCode, header, request::Parts},
};
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use super::error::ApiError;
use crate::{app::AppState, storage::Conversation};

/// JSON body whose rejections are API errors.
pub struct ApiJson<T>(pub T);

/// A JSON body that may be left out (an empty body is `T::default()`).
pub struct OptionalJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let json = is_json(&req);
        let bytes = body(req, state).await?;
        if !json {
            return Err(not_json());
        }
        decode(&bytes).map(ApiJson)
    }
}

impl<S: Send + Sync, T: DeserializeOwned + Default> FromRequest<S> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let json = is_json(&req);
        let bytes = body(req, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJson(T::default()));
        }
        if !json {
            return Err(not_json());
        }
        decode(&bytes).map(OptionalJson)
    }
}

/// Whether the request says its body is JSON (`application/json`, or a `+json` type).
fn is_json(req: &Request) -> bool {
    let Some(mime) = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = mime.split(';').next().unwrap_or_default().trim();
    essence.eq_ignore_ascii_case("application/json")
        || essence.to_ascii_lowercase().ends_with("+json")
}

fn not_json() -> ApiError {
    ApiError::Unsupported("Send the body as Content-Type: application/json.".into())
}

async fn body<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, state)
        .await
        .map_err(|rejection| match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => {
                ApiError::TooLarge("The request body is too large.".into())
            }
            _ => ApiError::invalid("invalid_body", rejection.body_text()),
        })
}

/// Parses a JSON body: not JSON at all is `invalid_json`; JSON of the wrong shape (a missing
/// or unknown field, a wrong type) is `invalid_input`, said without the service's type names.
/// A good body is parsed once; only a bad one is read again, to tell which it is.
fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let error = match serde_json::from_slice(bytes) {
        Ok(_) if escapes_nul(bytes) => {
            return Err(ApiError::invalid(
                "invalid_input",
                "Text must not contain the NUL character (\\u0000).",
            ));
        }
        Ok(value) => return Ok(value),
        Err(error) => error,
    };
    match serde_json::from_slice::<serde_json::Value>(bytes) {
        Err(e) => Err(ApiError::invalid(
            "invalid_json",
            format!("The body is not valid JSON: {e}"),
        )),
        Ok(value) if !value.is_object() => Err(ApiError::invalid(
            "invalid_input",
            "The request body must be a JSON object.",
        )),
        Ok(_) => {
            let message = error.to_string();
            // "invalid type: …, expected struct CreateConversation" names our own types.
            let message = match message.find(", expected struct ") {
                Some(at) => format!("{}, expected an object", &message[..at]),
                None => message,
            };
            Err(ApiError::invalid("invalid_input", message))
        }
    }
}

/// Whether a JSON body has a string with the NUL character (written `\u0000`: JSON has no
/// other way). No text here needs one, and PostgreSQL cannot store it: a message, a name or
/// an article with one is refused as bad input, on either store, instead of failing to be
/// stored on one (a name with one had made every handoff of its conversation fail). Read
/// whole only when the escape is there at all.
fn escapes_nul(bytes: &[u8]) -> bool {
    fn has_nul(value: &serde_json::Value) -> bool {
        match value {
            serde_json::Value::String(s) => s.contains('\0'),
            serde_json::Value::Array(items) => items.iter().any(has_nul),
            serde_json::Value::Object(map) => {
                map.iter().any(|(k, v)| k.contains('\0') || has_nul(v))
            }
            _ => false,
        }
    }
    bytes.windows(6).any(|w| w == b"\\u0000")
        && serde_json::from_slice::<serde_json::Value>(bytes).is_ok_and(|v| has_nul(&v))
}

/// Query string whose rejections are API errors.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(value)| ApiQuery(value))
            .map_err(|rejection| ApiError::invalid("invalid_query", rejection.body_text()))
    }
}

/// Who is calling, from `Authorization: Bearer <credential>`.
#[derive(Debug, Clone)]
pub enum Caller {
    Admin,
    Agent,
    /// A customer holding one conversation's token, with that conversation as read while
    /// checking the token.
    Customer {
        conversation: Box<Conversation>,
    },
}

impl Caller {
    /// Whether the caller is a conversation's customer (its token), not an agent or admin.
    pub fn is_customer(&self) -> bool {
        matches!(self, Caller::Customer { .. })
    }

    /// Agents and admins pass; customers get 403.
    pub fn require_agent(&self) -> Result<(), ApiError> {
        match self {
            Caller::Admin | Caller::Agent => Ok(()),
            Caller::Customer { .. } => Err(ApiError::Forbidden("This route is for agents.")),
        }
    }

    /// Only admins pass.
    pub fn require_admin(&self) -> Result<(), ApiError> {
        match self {
            Caller::Admin => Ok(()),
            Caller::Agent | Caller::Customer { .. } => {
                Err(ApiError::Forbidden("This route is for admins."))
            }
        }
    }

    /// The conversation's own customer, agents and admins pass.
    pub fn require_conversation(&self, id: &str) -> Result<(), ApiError> {
        match self {
            Caller::Admin | Caller::Agent => Ok(()),
            Caller::Customer { conversation } if conversation.id == id => Ok(()),
            Caller::Customer { .. } => Err(ApiError::Forbidden(
                "This token belongs to another conversation.",
            )),
        }
    }
}

/// SHA-256 of a credential, hex: tokens are stored and keys compared only as digests.
pub fn digest(credential: &str) -> String {
    hex::encode(Sha256::digest(credential.as_bytes()))
}

impl FromRequestParts<Arc<AppState>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        // EventSource cannot send headers: SSE clients pass `?access_token=` instead, on the
        // streams only (a credential in a URL ends up in logs and histories).
        let from_query = || {
            if parts.method != axum::http::Method::GET || !parts.uri.path().ends_with("/stream") {
                return None;
            }
            let query = parts.uri.query()?;
            let url = reqwest::Url::parse(&format!("http://query.invalid/?{query}")).ok()?;
            url.query_pairs()
                .find(|(k, _)| k == "access_token")
                .map(|(_, v)| v.into_owned())
        };
        let credential = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            // The scheme's name is case-insensitive (RFC 9110): "bearer" and "BEARER" too.
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, v)| v.trim().to_owned())
            .or_else(from_query)
            .filter(|v| !v.is_empty())
            .ok_or(ApiError::Unauthorized)?;
        let credential = credential.as_str();
        let hashed = digest(credential);
        if hashed == digest(state.admin_key.expose()) {
            return Ok(Caller::Admin);
        }
        if hashed == digest(state.agent_key.expose()) {
            return Ok(Caller::Agent);
        }
        match state.store.conversation_for_token(&hashed).await? {
            Some(conversation) => Ok(Caller::Customer {
                conversation: Box::new(conversation),
            }),
            None => Err(ApiError::Unauthorized),
        }
    }
}

/// An agent or admin; anything else is refused before the body is read.
pub struct AgentAuth;

impl FromRequestParts<Arc<AppState>> for AgentAuth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        Caller::from_request_parts(parts, state)
            .await?
            .require_agent()
            .map(|()| AgentAuth)
    }
}

/// An admin; anything else is refused before the body is read.
pub struct AdminAuth;

impl FromRequestParts<Arc<AppState>> for AdminAuth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        Caller::from_request_parts(parts, state)
            .await?
            .require_admin()
            .map(|()| AdminAuth)
    }
}
