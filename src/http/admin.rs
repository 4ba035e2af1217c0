//! Admin routes beyond articles: channels (human-only switch).

use std::sync::Arc;

use axum::{
    Json,
    extract::{Path, State},
};
use serde::Deserialize;
use serde_json::json;

use super::{
    error::ApiError,
    extract::{AdminAuth, ApiJson},
};
use crate::{app::AppState, storage::Channel};

/// `GET /v1/channels`
pub async fn channels(
    State(state): State<Arc<AppState>>,
    _: AdminAuth,
) -> Result<Json<serde_json::Value>, ApiError> {
    Ok(Json(json!({ "channels": state.store.channels().await? })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelBody {
    human_only: bool,
}

/// `PUT /v1/channels/{name}`
pub async fn set_channel(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    _: AdminAuth,
    ApiJson(body): ApiJson<ChannelBody>,
) -> Result<Json<Channel>, ApiError> {
    if !super::chat::valid_channel(&name) {
        return Err(ApiError::invalid(
            "invalid_channel",
            "channel must be 1-64 letters, digits, '-' or '_'",
        ));
    }
    Ok(Json(state.store.set_channel(&name, body.human_only).await?))
}
