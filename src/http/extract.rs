//! Request extractors that turn every rejection into an [`ApiError`], and the caller's role
//! from its bearer credential.

use std::sync::Arc;

use axum::{
    extract::{FromRequest, FromRequestParts, Query, Request, rejection::JsonRejection},
    http::{StatusCode, header, request::Parts},
};
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use super::error::ApiError;
use crate::{app::AppState, storage::Conversation};

/// JSON body whose rejections are API errors.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(json_rejection(&rejection)),
        }
    }
}

fn json_rejection(rejection: &JsonRejection) -> ApiError {
    let detail = rejection.body_text();
    match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::TooLarge("The request body is too large.".into())
        }
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            ApiError::Unsupported("Send the body as Content-Type: application/json.".into())
        }
        StatusCode::UNPROCESSABLE_ENTITY => ApiError::invalid("invalid_input", detail),
        _ => ApiError::invalid("invalid_json", detail),
    }
}

/// Parses a JSON body read by hand (routes where the body is optional).
pub fn parse_json<T: DeserializeOwned + Default>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(bytes).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => ApiError::invalid("invalid_input", e.to_string()),
        _ => ApiError::invalid("invalid_json", e.to_string()),
    })
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
        // EventSource cannot send headers: SSE clients pass `?access_token=` instead.
        let from_query = || {
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
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|v| v.trim().to_owned())
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
