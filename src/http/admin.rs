//! Admin routes beyond articles: channels (human-only switch) and the summary report.

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
use crate::{
    app::AppState,
    http::extract::ApiQuery,
    storage::{Channel, Summary},
};

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
    let (channel, changed) = state.store.set_channel(&name, body.human_only).await?;
    if !changed {
        return Ok(Json(channel)); // nothing changed for its chats
    }
    // Open chats on the channel learn who answers them now (a widget in AI mode would
    // otherwise wait for a reply that never comes).
    let state = state.clone();
    tokio::spawn(async move {
        if let Err(error) = state.events.publish_channel(&state.store, &name).await {
            tracing::warn!(%error, channel = %name, "cannot tell open chats of a channel switch");
        }
    });
    Ok(Json(channel))
}

#[derive(Debug, Deserialize)]
pub struct Period {
    /// Days back from now (default 30, at most 3650); read here, so that "abc" is an
    /// `invalid_days` as 0 is.
    days: Option<String>,
}

/// `GET /v1/reports/summary?days=30`
pub async fn summary(
    State(state): State<Arc<AppState>>,
    _: AdminAuth,
    ApiQuery(period): ApiQuery<Period>,
) -> Result<Json<Summary>, ApiError> {
    let days = period
        .days
        .map_or(Ok(30), |days| days.trim().parse::<i64>());
    let Some(days) = days.ok().filter(|days| (1..=3650).contains(days)) else {
        return Err(ApiError::invalid(
            "invalid_days",
            "days must be a whole number from 1 to 3650",
        ));
    };
    let since = (time::OffsetDateTime::now_utc() - time::Duration::days(days))
        .format(&time::format_description::well_known::Rfc3339)
        .map_err(|_| ApiError::invalid("invalid_days", "days is out of range"))?;
    Ok(Json(state.store.summary(&since).await?))
}
