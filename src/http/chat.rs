//! Customer routes: open a conversation, post messages (JSON or SSE), read messages, follow
//! the conversation's live stream, ask for a person, rate replies.

use std::{
    convert::Infallible,
    sync::Arc,
    time::{Duration, Instant},
};

use axum::{
    Extension, Json,
    extract::{Path, State},
    http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header},
    response::{
        IntoResponse, Response,
        sse::{Event, KeepAlive, Sse},
    },
};
use futures_util::{StreamExt, stream};
use hmac::{Hmac, KeyInit, Mac};
use serde::Deserialize;
use serde_json::json;
use sha2::Sha256;
use tokio_stream::wrappers::UnboundedReceiverStream;

use super::{
    error::ApiError,
    extract::{AgentAuth, ApiJson, ApiQuery, Caller, OptionalJson, digest},
    limits::{Peer, client_address},
};
use crate::{
    app::AppState,
    conversation::{INTERNAL, Timings, TurnEvent, post_customer_message},
    events::KEEP_ALIVE,
    handoff,
    phrases::Lang,
    storage::{Conversation, Customer, Handoff, HandoffReason, NewConversation, Role},
};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateConversation {
    channel: Option<String>,
    locale: Option<String>,
    customer: Option<Customer>,
    identity: Option<Identity>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Identity {
    user_id: Option<String>,
    email: Option<String>,
    signature: Option<String>,
}

/// A control character (a line break, a tab, NUL), Unicode's line and paragraph separators, or
/// one that reorders text as it is shown (the bidirectional embeddings, overrides, isolates).
fn unprintable(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// `POST /v1/conversations`
pub async fn create(
    State(state): State<Arc<AppState>>,
    peer: Option<Extension<Peer>>,
    headers: HeaderMap,
    OptionalJson(request): OptionalJson<CreateConversation>,
) -> Result<Response, ApiError> {
    let client = client_address(
        peer.map(|Extension(Peer(ip))| ip),
        &headers,
        &state.settings.limits.client_address_header,
    );
    state.conversation_limits.take(&client)?;
    let channel = request.channel.unwrap_or_else(|| "web".into());
    if !valid_channel(&channel) {
        return Err(ApiError::invalid(
            "invalid_channel",
            "channel must be 1-64 letters, digits, '-' or '_'",
        ));
    }
    let customer = request.customer.unwrap_or_default();
    for (field, value, most) in [
        ("name", &customer.name, 200),
        ("email", &customer.email, 320),
        ("external_id", &customer.external_id, 200),
    ] {
        if value.as_ref().is_some_and(|v| v.chars().count() > most) {
            return Err(ApiError::invalid(
                "invalid_customer",
                format!("customer.{field} must be at most {most} characters"),
            ));
        }
        // One line, read left to right as written: agents read the name in a handoff's
        // summary, where a line break could forge the service's own "Facts:" line.
        if value.as_ref().is_some_and(|v| v.chars().any(unprintable)) {
            return Err(ApiError::invalid(
                "invalid_customer",
                format!("customer.{field} must be one line of text, without control characters"),
            ));
        }
    }
    let mut customer = customer;
    customer.email = customer.email.filter(|email| !email.trim().is_empty());
    if customer
        .email
        .as_deref()
        .is_some_and(|email| !crate::actions::schema::looks_like_email(email))
    {
        return Err(ApiError::invalid(
            "invalid_customer",
            "customer.email must be an email address",
        ));
    }
    // The widget passes the page's locale as the page wrote it: one that is no language tag
    // ("en_US.UTF-8" is taken, "<script>" is not) is dropped rather than refused, so a chat
    // always opens.
    let locale = request.locale.filter(|l| Lang::is_tag(l));
    let verified_as = match request.identity {
        Some(identity) => Some(verify_identity(&state, identity)?),
        None => None,
    };
    let token = format!(
        "ct_{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let conversation = state
        .store
        .create_conversation(NewConversation {
            channel,
            locale,
            customer,
            verified_as,
            token_hash: digest(&token),
        })
        .await?;
    let mode = if state
        .store
        .channel_human_only(&conversation.channel)
        .await?
    {
        "human"
    } else {
        "ai"
    };
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "conversation_id": conversation.id,
            "token": token,
            "mode": mode,
            "verified": conversation.verified_as.is_some(),
        })),
    )
        .into_response())
}

/// Channel names: 1-64 letters, digits, `-` or `_`.
pub fn valid_channel(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Checks `identity.signature` = hex HMAC-SHA256(user_id or email) under the identity secret.
fn verify_identity(state: &AppState, identity: Identity) -> Result<String, ApiError> {
    let subject = identity
        .user_id
        .or(identity.email)
        .ok_or_else(|| ApiError::invalid("invalid_identity", "identity needs user_id or email"))?;
    let signature = identity
        .signature
        .ok_or_else(|| ApiError::invalid("invalid_identity", "identity needs a signature"))?;
    let secret = state.settings.identity_secret.as_ref().ok_or_else(|| {
        ApiError::invalid(
            "identity_not_configured",
            "signed identities need FRONTDESK_IDENTITY_SECRET on the server",
        )
    })?;
    let signature = hex::decode(signature.trim())
        .map_err(|_| ApiError::invalid("invalid_identity", "signature must be hex"))?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes())
        .map_err(|_| ApiError::Unavailable("identity secret unusable".into()))?;
    mac.update(subject.as_bytes());
    mac.verify_slice(&signature)
        .map_err(|_| ApiError::Forbidden("The identity signature does not match."))?;
    Ok(subject)
}

pub(super) async fn load(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<Conversation, ApiError> {
    caller.require_conversation(id)?;
    // A customer's token check already read the conversation.
    if let Caller::Customer { conversation } = caller {
        return Ok(conversation.as_ref().clone());
    }
    state
        .store
        .conversation(id)
        .await?
        .ok_or(ApiError::NotFound("conversation"))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostMessage {
    text: String,
    client_message_id: Option<String>,
}

/// A message's text, trimmed: 1 to `limit` characters.
pub(super) fn message_text(text: &str, limit: usize) -> Result<&str, ApiError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(ApiError::invalid("empty_message", "text must not be empty"));
    }
    if text.chars().count() > limit {
        return Err(ApiError::invalid(
            "message_too_long",
            format!("text is longer than {limit} characters"),
        ));
    }
    Ok(text)
}

/// `POST /v1/conversations/{id}/messages`
pub async fn post_message(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    caller: Caller,
    headers: HeaderMap,
    ApiJson(body): ApiJson<PostMessage>,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let text = message_text(&body.text, state.settings.chat.max_message_chars)?;
    if body
        .client_message_id
        .as_ref()
        .is_some_and(|k| k.is_empty() || k.len() > 128)
    {
        return Err(ApiError::invalid(
            "invalid_client_message_id",
            "client_message_id must be 1-128 characters",
        ));
    }
    // Only the customer writes as the customer (agents reply through agent-messages).
    if !caller.is_customer() {
        return Err(ApiError::Forbidden(
            "Only the conversation's customer posts here; agents reply with agent-messages.",
        ));
    }
    let conversation = load(&state, &caller, &id).await?;
    state.message_limits.take(&conversation.id)?;
    let (message, events) = post_customer_message(
        &state,
        &conversation,
        text,
        body.client_message_id.as_deref(),
    )
    .await?;
    let wants_sse = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(wants_event_stream);
    if wants_sse {
        let guard = state.metrics.stream_opened();
        let stream = UnboundedReceiverStream::new(events)
            .filter_map(move |event| {
                let _open = &guard;
                std::future::ready(turn_event_to_sse(event))
            })
            .chain(stream::once(async {
                Event::default().event("done").data("{}")
            }))
            .map(Ok::<_, Infallible>);
        // A slow model may take longer than a proxy waits on a silent connection.
        let keep_alive = KeepAlive::new().interval(KEEP_ALIVE);
        return Ok(Sse::new(stream).keep_alive(keep_alive).into_response());
    }
    let mut replies = Vec::new();
    let mut handoff = None;
    let mut timings = Timings::default();
    let mut events = events;
    while let Some(event) = events.recv().await {
        match event {
            TurnEvent::Delta(_) => {}
            TurnEvent::Reply(reply) => replies.push(reply),
            TurnEvent::Handoff(h) => handoff = Some(h),
            TurnEvent::Error { code, message } => {
                return Err(if code == INTERNAL {
                    ApiError::Internal(message)
                } else {
                    ApiError::Unavailable(message)
                });
            }
            TurnEvent::Timings(t) => timings = t,
        }
    }
    let handoff = shown(handoff.as_ref(), true);
    let body = Json(json!({"message": message, "replies": replies, "handoff": handoff}));
    let timing = server_timing(&timings, started.elapsed());
    Ok(([(HeaderName::from_static("server-timing"), timing)], body).into_response())
}

/// Whether an `Accept` header asks for the reply as an SSE stream: it names
/// `text/event-stream` with a preference (`q`) above 0 and no lower than JSON's
/// (`application/json`, `application/*` or `*/*`). So `application/json,
/// text/event-stream;q=0.5` gets JSON, and a header that names both alike gets the stream, as
/// a client that names it can read it.
fn wants_event_stream(accept: &str) -> bool {
    let mut stream = 0.0_f32;
    let mut json = 0.0_f32;
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|param| param.split_once('='))
            .find(|(name, _)| name.trim().eq_ignore_ascii_case("q"))
            .map_or(1.0, |(_, q)| q.trim().parse::<f32>().unwrap_or(0.0));
        match media.as_str() {
            "text/event-stream" => stream = stream.max(q),
            "application/json" | "application/*" | "*/*" => json = json.max(q),
            _ => {}
        }
    }
    stream > 0.0 && stream >= json
}

/// A `Server-Timing` header (W3C Server Timing): the turn's steps and the whole request, in
/// milliseconds. The context reads, and the search after them, run alongside the store (the
/// messages are read again after it when one landed in between); a turn's own share of the time is
/// `total` minus `model` (and minus `handoff`, which waits on the model for a summary).
fn server_timing(timings: &Timings, total: Duration) -> HeaderValue {
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let value = format!(
        "store;dur={:.3}, retrieve;dur={:.3}, context;dur={:.3}, model;dur={:.3}, reply;dur={:.3}, handoff;dur={:.3}, total;dur={:.3}",
        ms(timings.store),
        ms(timings.retrieve),
        ms(timings.context),
        ms(timings.model),
        ms(timings.reply),
        ms(timings.handoff),
        ms(total)
    );
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static("total"))
}

fn turn_event_to_sse(event: TurnEvent) -> Option<Event> {
    let (name, data) = match event {
        TurnEvent::Delta(text) => ("delta", json!({ "text": text })),
        TurnEvent::Reply(message) => ("reply", json!(message)),
        TurnEvent::Handoff(handoff) => ("handoff", shown(Some(&handoff), true)),
        TurnEvent::Error { code, message } => ("error", json!({"code": code, "message": message})),
        TurnEvent::Timings(_) => return None,
    };
    Some(Event::default().event(name).data(data.to_string()))
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct After {
    pub(super) after: Option<i64>,
}

/// `GET /v1/conversations/{id}/messages?after=<seq>`
pub async fn list_messages(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    caller: Caller,
    ApiQuery(query): ApiQuery<After>,
) -> Result<Json<serde_json::Value>, ApiError> {
    load(&state, &caller, &id).await?;
    let messages = state.store.messages(&id, query.after.unwrap_or(0)).await?;
    Ok(Json(json!({ "messages": messages })))
}

/// A handoff as JSON for its reader: a `customer` gets it with an empty summary, which is
/// written for the agents (the customer's mood, verification and facts, in their words).
pub(super) fn shown(handoff: Option<&Handoff>, customer: bool) -> serde_json::Value {
    let mut value = json!(handoff);
    if customer && let Some(summary) = value.get_mut("summary") {
        *summary = json!("");
    }
    value
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HandoffRequest {
    reason: Option<HandoffReason>,
}

/// `POST /v1/conversations/{id}/handoff`: the widget's "talk to a person" button.
pub async fn request_handoff(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    caller: Caller,
    OptionalJson(request): OptionalJson<HandoffRequest>,
) -> Result<Response, ApiError> {
    let conversation = load(&state, &caller, &id).await?;
    let reason = request.reason.unwrap_or(HandoffReason::CustomerRequest);
    // The other reasons are the service's own findings, not a customer's to give.
    if caller.is_customer() && reason != HandoffReason::CustomerRequest {
        return Err(ApiError::invalid(
            "invalid_reason",
            "A customer asks for a person with reason customer_request.",
        ));
    }
    let (handoff, _) = handoff::open(&state, &conversation, reason, None).await?;
    let customer = caller.is_customer();
    Ok((StatusCode::CREATED, Json(shown(Some(&handoff), customer))).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Feedback {
    rating: Rating,
    comment: Option<String>,
    message_id: Option<String>,
}

#[derive(Debug, Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum Rating {
    Up,
    Down,
}

/// `POST /v1/conversations/{id}/feedback`
pub async fn feedback(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    caller: Caller,
    ApiJson(body): ApiJson<Feedback>,
) -> Result<StatusCode, ApiError> {
    load(&state, &caller, &id).await?;
    if body
        .comment
        .as_ref()
        .is_some_and(|c| c.chars().count() > 2_000)
    {
        return Err(ApiError::invalid(
            "comment_too_long",
            "comment is longer than 2000 characters",
        ));
    }
    // A rating is of a reply in this conversation: the assistant's or an agent's.
    if let Some(message_id) = &body.message_id {
        let rated = state.store.message(message_id).await?;
        if !rated.is_some_and(|m| {
            m.conversation_id == id && matches!(m.role, Role::Assistant | Role::Agent)
        }) {
            return Err(ApiError::NotFound("message"));
        }
    }
    let rating = match body.rating {
        Rating::Up => "up",
        Rating::Down => "down",
    };
    state
        .store
        .add_feedback(
            &id,
            body.message_id.as_deref(),
            rating,
            body.comment.as_deref(),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v1/conversations/{id}` (agents): the conversation with its messages and handoff.
pub async fn get_conversation(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    _: AgentAuth,
) -> Result<Json<serde_json::Value>, ApiError> {
    let (conversation, human_only) = state
        .store
        .conversation_and_channel_mode(&id)
        .await?
        .ok_or(ApiError::NotFound("conversation"))?;
    let messages = state.store.messages(&id, 0).await?;
    let handoff = state.store.open_handoff_of(&id).await?;
    let mode = conversation.mode_shown(human_only);
    Ok(Json(json!({
        "id": conversation.id,
        "channel": conversation.channel,
        "locale": conversation.locale,
        "customer": conversation.customer,
        "verified_as": conversation.verified_as,
        "mode": mode,
        "channel_human_only": human_only,
        "created_at": conversation.created_at,
        "handoff": handoff,
        "messages": messages,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stream_is_sent_when_accept_prefers_it() {
        for (accept, stream) in [
            ("text/event-stream", true),
            ("Text/Event-Stream; charset=utf-8", true),
            ("application/json, text/event-stream", true),
            ("text/event-stream;q=0.9, */*;q=0.1", true),
            ("application/json", false),
            ("*/*", false),
            ("", false),
            ("application/json, text/event-stream;q=0.5", false),
            ("text/event-stream;q=0", false),
            ("text/event-stream; q=nonsense", false),
            ("text/*", false),
        ] {
            assert_eq!(wants_event_stream(accept), stream, "{accept}");
        }
    }
}
