//! Agent routes: the handoff queue (list, claim, resolve, release), agent replies, the
//! conversation's mode, and the agents' live feed.

use std::{convert::Infallible, sync::Arc};

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
    response::{
        IntoResponse, Response,
        sse::{Event, KeepAlive, Sse},
    },
};
use futures_util::{Stream, StreamExt};
use serde::Deserialize;
use serde_json::json;
use tokio_stream::wrappers::BroadcastStream;

use super::{
    chat::message_text,
    error::ApiError,
    extract::{AgentAuth, ApiJson, ApiQuery},
};
use crate::{
    app::AppState,
    events::{AgentEvent, KEEP_ALIVE, To},
    handoff,
    storage::{Handoff, HandoffReason, HandoffStatus, Mode, NewMessage, QueueConflict, Role},
};

/// Longest agent reply, in characters.
const MAX_AGENT_TEXT: usize = 8_000;

#[derive(Debug, Deserialize)]
pub struct StatusQuery {
    status: Option<String>,
}

/// `GET /v1/handoffs?status=waiting`
pub async fn list(
    State(state): State<Arc<AppState>>,
    _: AgentAuth,
    ApiQuery(query): ApiQuery<StatusQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let status = match query.status.as_deref() {
        None => HandoffStatus::Waiting,
        Some(s) => HandoffStatus::parse(s).ok_or_else(|| {
            ApiError::invalid(
                "invalid_status",
                "status must be waiting, claimed, resolved or released",
            )
        })?,
    };
    let handoffs = state.store.handoffs(status).await?;
    Ok(Json(json!({ "handoffs": handoffs })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Claim {
    agent: String,
}

fn agent_name(name: &str) -> Result<String, ApiError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 80 {
        return Err(ApiError::invalid(
            "invalid_agent",
            "agent must be 1-80 characters",
        ));
    }
    Ok(name.to_owned())
}

fn announce(state: &AppState, handoff: &Handoff, mode: Mode) {
    state
        .events
        .publish_status(&handoff.conversation_id, mode, Some(handoff), true);
}

fn queue_result(result: Result<Handoff, QueueConflict>) -> Result<Handoff, ApiError> {
    match result {
        Ok(handoff) => Ok(handoff),
        Err(QueueConflict::Missing) => Err(ApiError::NotFound("handoff")),
        Err(QueueConflict::Taken(h)) => Err(ApiError::Conflict(match (h.status, h.claimed_by) {
            (HandoffStatus::Claimed, Some(agent)) => format!("{agent} already holds this handoff."),
            (status, _) => format!("This handoff is already {}.", status.as_str()),
        })),
    }
}

/// `POST /v1/handoffs/{id}/claim`
pub async fn claim(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    _: AgentAuth,
    ApiJson(body): ApiJson<Claim>,
) -> Result<Json<Handoff>, ApiError> {
    let agent = agent_name(&body.agent)?;
    let handoff = queue_result(state.store.claim_handoff(&id, &agent).await?)?;
    announce(&state, &handoff, Mode::Human);
    Ok(Json(handoff))
}

/// Closes a handoff; the conversation returns to the assistant unless its channel is
/// human-only, and its stream is told which.
async fn close(state: &AppState, id: &str, to: HandoffStatus) -> Result<Json<Handoff>, ApiError> {
    let handoff = queue_result(state.store.close_handoff(id, to).await?)?;
    let mode = state
        .store
        .conversation_and_channel_mode(&handoff.conversation_id)
        .await?
        .map_or(Mode::Ai, |(conversation, human_only)| {
            conversation.mode_shown(human_only)
        });
    announce(state, &handoff, mode);
    Ok(Json(handoff))
}

/// `POST /v1/handoffs/{id}/resolve`
pub async fn resolve(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    _: AgentAuth,
) -> Result<Json<Handoff>, ApiError> {
    close(&state, &id, HandoffStatus::Resolved).await
}

/// `POST /v1/handoffs/{id}/release`: back to the assistant.
pub async fn release(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    _: AgentAuth,
) -> Result<Json<Handoff>, ApiError> {
    close(&state, &id, HandoffStatus::Released).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentMessage {
    text: String,
    agent: String,
}

/// `POST /v1/conversations/{id}/agent-messages`: delivered live to the customer's stream.
pub async fn agent_message(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    _: AgentAuth,
    ApiJson(body): ApiJson<AgentMessage>,
) -> Result<Response, ApiError> {
    let agent = agent_name(&body.agent)?;
    let text = message_text(&body.text, MAX_AGENT_TEXT)?;
    let conversation = state
        .store
        .conversation(&id)
        .await?
        .ok_or(ApiError::NotFound("conversation"))?;
    // An agent who writes to a customer answers them. A handoff waiting for someone becomes
    // theirs, so the queue shows the customer answered and no second agent claims them; one
    // another agent holds is refused (two agents answering one customer confuse them). With
    // none open they take over: the conversation goes to human mode (a chat the assistant
    // answered, kept from the model as agents' chats are) with a handoff they hold, so the
    // customer's reply reaches them, not the assistant or the queue. Agents writing at once
    // find the same handoff, which one of them claims.
    match state.store.open_handoff_of(&id).await? {
        Some(open) if open.claimed_by.as_deref() == Some(agent.as_str()) => {}
        Some(open) => claim_to_answer(&state, &open, &agent).await?,
        None => {
            // Its status is told once the handoff is claimed.
            if conversation.mode == Mode::Ai {
                state.store.set_mode(&id, Mode::Human).await?;
            }
            let (open, _) =
                handoff::open(&state, &conversation, HandoffReason::Policy, None).await?;
            claim_to_answer(&state, &open, &agent).await?;
        }
    }
    let message = state
        .store
        .append_message(
            &id,
            NewMessage {
                role: Role::Agent,
                text: text.to_owned(),
                citations: Vec::new(),
                actions: Vec::new(),
                confidence: None,
                author: Some(agent),
                reply_to: None,
            },
        )
        .await?;
    state.events.publish_message(&message, To::Both);
    Ok((StatusCode::CREATED, Json(message)).into_response())
}

/// Claims `open` for `agent`, who is about to write to its customer.
async fn claim_to_answer(state: &AppState, open: &Handoff, agent: &str) -> Result<(), ApiError> {
    match state.store.claim_handoff(&open.id, agent).await? {
        Ok(claimed) => {
            announce(state, &claimed, Mode::Human);
            Ok(())
        }
        Err(QueueConflict::Taken(Handoff {
            status: HandoffStatus::Claimed,
            claimed_by: Some(holder),
            ..
        })) => Err(ApiError::Conflict(format!(
            "{holder} is answering this conversation (they hold its handoff)."
        ))),
        Err(conflict) => queue_result(Err(conflict)).map(|_| ()),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetMode {
    mode: Mode,
}

/// `PUT /v1/conversations/{id}/mode`. Back to `ai`, an open handoff is released in the same
/// write (it would wait in the queue for nobody), one opened meanwhile too; a conversation
/// on a human-only channel stays human (409). The conversation's stream is told once.
pub async fn set_mode(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    _: AgentAuth,
    ApiJson(body): ApiJson<SetMode>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let (_, human_only) = state
        .store
        .conversation_and_channel_mode(&id)
        .await?
        .ok_or(ApiError::NotFound("conversation"))?;
    // A status event tells a change (conversations are never deleted): none when the
    // conversation was in that mode already.
    if body.mode == Mode::Ai {
        if human_only {
            return Err(ApiError::Conflict(
                "This conversation's channel is human-only; switch the channel back first.".into(),
            ));
        }
        // One status event: the release, when there was a handoff to release.
        match state.store.return_to_assistant(&id).await? {
            (_, Some(released)) => announce(&state, &released, Mode::Ai),
            (true, None) => state.events.publish_status(&id, Mode::Ai, None, false),
            (false, None) => {}
        }
        return Ok(Json(
            json!({"conversation_id": id, "mode": Mode::Ai, "handoff": null}),
        ));
    }
    let changed = state.store.set_mode(&id, Mode::Human).await?;
    let handoff = state.store.open_handoff_of(&id).await?;
    if changed {
        state
            .events
            .publish_status(&id, Mode::Human, handoff.as_ref(), false);
    }
    Ok(Json(
        json!({"conversation_id": id, "mode": Mode::Human, "handoff": handoff}),
    ))
}

/// `GET /v1/agent/stream`: handoff and message events for the console.
pub async fn agent_stream(
    State(state): State<Arc<AppState>>,
    _: AgentAuth,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let shutdown = state.shutdown.clone();
    let guard = state.metrics.stream_opened();
    let stream = BroadcastStream::new(state.events.subscribe_agents())
        .map(move |event| {
            let _open = &guard;
            let event = match event {
                Ok(AgentEvent::Handoff(h)) => {
                    Event::default().event("handoff").data(json!(h).to_string())
                }
                Ok(AgentEvent::Message(m)) => {
                    Event::default().event("message").data(json!(m).to_string())
                }
                // Lagged, or events from other replicas may have been missed.
                Ok(AgentEvent::Resync) | Err(_) => Event::default().event("resync").data("{}"),
            };
            Ok(event)
        })
        .take_until(async move { shutdown.cancelled().await });
    // A timer and a shutdown watch of its own: agents' feeds are few, unlike conversation
    // streams (see `Events::maintain`).
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
}
