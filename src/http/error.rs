//! The one error type at the HTTP edge: every failure becomes
//! `{"error": {"code", "message"}}` with a fitting status. Internals are logged, not returned.

use axum::{
    Json,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::json;

use crate::{
    retrieval::{IngestError, InvalidArticle},
    storage::StoreError,
};

/// An error response.
#[derive(Debug)]
pub enum ApiError {
    /// 400: malformed or invalid input.
    Invalid { code: &'static str, message: String },
    /// 401: missing or unknown credentials.
    Unauthorized,
    /// 403: valid credentials, wrong role or conversation.
    Forbidden(&'static str),
    /// 404: unknown id or route.
    NotFound(&'static str),
    /// 405: the route exists, the method does not.
    MethodNotAllowed,
    /// 409: conflicting state.
    Conflict(String),
    /// 413: body or file too large.
    TooLarge(String),
    /// 415: unsupported content or file type.
    Unsupported(String),
    /// 429: slow down.
    RateLimited { retry_after_secs: u64 },
    /// 500: a bug (a panic); the message says so honestly, the details are logged.
    Internal(String),
    /// 503: a dependency (database, index) is down.
    Unavailable(String),
}

impl ApiError {
    /// A 400 with a code and a human message.
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::Invalid {
            code,
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, message): (StatusCode, &str, String) = match &self {
            ApiError::Invalid { code, message } => (StatusCode::BAD_REQUEST, code, message.clone()),
            ApiError::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Missing or invalid credentials: send Authorization: Bearer <token>.".into(),
            ),
            ApiError::Forbidden(what) => (StatusCode::FORBIDDEN, "forbidden", (*what).to_owned()),
            ApiError::NotFound(what) => (
                StatusCode::NOT_FOUND,
                "not_found",
                format!("No such {what}."),
            ),
            ApiError::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "This route does not accept that method.".into(),
            ),
            ApiError::Conflict(message) => (StatusCode::CONFLICT, "conflict", message.clone()),
            ApiError::TooLarge(message) => {
                (StatusCode::PAYLOAD_TOO_LARGE, "too_large", message.clone())
            }
            ApiError::Unsupported(message) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                message.clone(),
            ),
            ApiError::RateLimited { retry_after_secs } => (
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("Too many requests at once; try again in {retry_after_secs} s."),
            ),
            ApiError::Internal(message) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                crate::conversation::INTERNAL,
                message.clone(),
            ),
            ApiError::Unavailable(message) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                message.clone(),
            ),
        };
        let mut response = (
            status,
            Json(json!({"error": {"code": code, "message": message}})),
        )
            .into_response();
        if let ApiError::RateLimited { retry_after_secs } = self
            && let Ok(value) = HeaderValue::from_str(&retry_after_secs.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

/// Any error response not already in the API's JSON shape (axum's own rejections, such as a
/// path that is not UTF-8), rewritten into it with its status and text kept.
pub async fn json_errors(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if is_json || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 4096)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    let code = match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::PAYLOAD_TOO_LARGE => "too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        _ if status.is_client_error() => "bad_request",
        _ => "internal",
    };
    let message = if text.is_empty() {
        status.canonical_reason().unwrap_or("Error").to_owned()
    } else {
        text
    };
    let mut rewritten = (
        status,
        Json(json!({"error": {"code": code, "message": message}})),
    )
        .into_response();
    // Keep what the client may need (Allow, Retry-After, CORS headers…), not the old body's.
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            rewritten.headers_mut().append(name.clone(), value.clone());
        }
    }
    rewritten
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        tracing::error!(%error, "storage failure");
        ApiError::Unavailable("The service's storage is unavailable; please retry.".into())
    }
}

impl From<crate::retrieval::RetrievalError> for ApiError {
    fn from(error: crate::retrieval::RetrievalError) -> Self {
        tracing::error!(%error, "retrieval failure");
        ApiError::Unavailable("The search index is unavailable; please retry.".into())
    }
}

impl From<IngestError> for ApiError {
    fn from(error: IngestError) -> Self {
        match &error {
            IngestError::UnsupportedType(_) => ApiError::Unsupported(error.to_string()),
            IngestError::NotText(_) => ApiError::invalid("invalid_article", error.to_string()),
            IngestError::Invalid(_, reason) => {
                ApiError::invalid(invalid_code(reason), error.to_string())
            }
        }
    }
}

impl From<InvalidArticle> for ApiError {
    fn from(reason: InvalidArticle) -> Self {
        ApiError::invalid(invalid_code(&reason), reason.to_string())
    }
}

fn invalid_code(reason: &InvalidArticle) -> &'static str {
    match reason {
        InvalidArticle::Title => "invalid_title",
        InvalidArticle::Url => "invalid_url",
        InvalidArticle::Empty => "empty_article",
        InvalidArticle::Locale => "invalid_locale",
        InvalidArticle::Tags => "invalid_tags",
        InvalidArticle::FrontMatter(_) => "invalid_front_matter",
        InvalidArticle::Nul => "invalid_text",
    }
}
