//! Customer routes: open a conversation, post messages (JSON or SSE), read messages, follow
//! the conversation's live stream, ask for a person, rate replies.

use std::{
    convert::Infallible,
    sync::Arc,
    time::{Duration, Instant},
};

use axum::{
    Json,
    extract::{Path, State},
    http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header},
    response::{
        IntoResponse, Response,
        sse::{Event, KeepAlive, Sse},
    },
};
use futures_util::{Stream, StreamExt, stream};
use hmac::{Hmac, KeyInit, Mac};
use serde::Deserialize;
use serde_json::json;
use sha2::Sha256;
use tokio::sync::broadcast;
use tokio_stream::wrappers::{BroadcastStream, UnboundedReceiverStream};

use super::{
    error::ApiError,
    extract::{AgentAuth, ApiJson, ApiQuery, Caller, OptionalJson, digest},
};
use crate::{
    app::AppState,
    conversation::{INTERNAL, Timings, TurnEvent, post_customer_message},
    events::{ConversationEvent, KEEP_ALIVE},
    handoff,
    phrases::Lang,
    storage::{Conversation, Customer, Handoff, HandoffReason, Mode, NewConversation, Role},
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

/// `POST /v1/conversations`
pub async fn create(
    State(state): State<Arc<AppState>>,
    OptionalJson(request): OptionalJson<CreateConversation>,
) -> Result<Response, ApiError> {
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

async fn load(state: &AppState, caller: &Caller, id: &str) -> Result<Conversation, ApiError> {
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
pub struct After {
    after: Option<i64>,
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

/// `GET /v1/conversations/{id}/stream`: the conversation's status (mode and open handoff, so a
/// reloaded widget shows where it stands), missed messages (after `?after=` or the
/// `Last-Event-ID` header), then live ones; each message event carries its `seq` as SSE id.
pub async fn stream_conversation(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    caller: Caller,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<After>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    load(&state, &caller, &id).await?;
    let after = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i64>().ok())
        .or(query.after);
    // Without `after`, the messages stored before the client connected are not theirs: the
    // stream starts after the latest, read before subscribing so that one stored meanwhile
    // comes in the backlog. (Numbers start at 1.)
    let after = match after {
        Some(after) => after.max(0),
        None => state.store.last_seq(&id).await?,
    };
    // Subscribe before reading the status and backlog so nothing falls between them.
    let live = state.events.subscribe(&id);
    let (conversation, human_only) = state
        .store
        .conversation_and_channel_mode(&id)
        .await?
        .ok_or(ApiError::NotFound("conversation"))?;
    let handoff = state.store.open_handoff_of(&id).await?;
    let mode = conversation.mode_shown(human_only);
    let backlog = state.store.messages(&id, after).await?;
    let sent = Sent::through(backlog.last().map_or(after, |m| m.seq));
    let customer = caller.is_customer();
    let status = status_event(mode, handoff.as_ref(), customer);
    let backlog = stream::iter(
        std::iter::once(status)
            .chain(backlog.iter().map(message_event))
            .collect::<Vec<_>>(),
    );
    let live = live_events(live, sent, customer);
    let guard = state.metrics.stream_opened();
    // No timer or shutdown watch of its own: the events hub sends the keep-alives and, at
    // shutdown, closes the channel, which ends the stream (see `Events::maintain`).
    let stream = backlog.chain(live).map(move |event| {
        let _open = &guard;
        Ok(event)
    });
    Ok(Sse::new(stream))
}

/// The message numbers a conversation stream has sent: each up to `through`, and those of
/// the next 64 whose bit is set in `ahead` (messages committed at once may be published out
/// of order: an agent's numbered after a customer's can come first).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Sent {
    through: i64,
    ahead: u64,
}

impl Sent {
    fn through(seq: i64) -> Self {
        Self {
            through: seq,
            ahead: 0,
        }
    }

    /// Records `seq` as sent; false when it was sent before. One more than 64 ahead moves
    /// the window, counting the numbers it passes over as sent (the client fetched them on
    /// the `resync` their gap brought).
    fn first_time(&mut self, seq: i64) -> bool {
        if seq <= self.through {
            return false;
        }
        let beyond = seq.saturating_sub(self.through).saturating_sub(64);
        if beyond > 0 {
            self.ahead = u32::try_from(beyond)
                .ok()
                .and_then(|n| self.ahead.checked_shr(n))
                .unwrap_or(0);
            self.through += beyond;
        }
        let bit = 1u64 << (seq - self.through - 1);
        if self.ahead & bit != 0 {
            return false;
        }
        self.ahead |= bit;
        while self.ahead & 1 == 1 {
            self.ahead >>= 1;
            self.through += 1;
        }
        true
    }

    /// Counts every number up to the highest sent as sent: the stream missed some (it fell
    /// behind, or the relay reconnected), which the client fetches on the `resync` it gets.
    /// Numbers are committed in order, so any below the highest sent can be fetched.
    fn fetched_below(&mut self) {
        self.through = self.highest();
        self.ahead = 0;
    }

    /// The highest number sent (or `through`).
    fn highest(&self) -> i64 {
        self.through + i64::from(64 - self.ahead.leading_zeros())
    }

    /// Like [`Sent::first_time`], and whether the client should now fetch what it lacks:
    /// when this message skips a number past the highest sent (one resync a gap; one that
    /// fills a gap, or follows on above one, needs none).
    fn send(&mut self, seq: i64) -> Option<bool> {
        let highest = self.highest();
        self.first_time(seq).then_some(seq > highest + 1)
    }
}

/// The live part of a conversation stream, after what `sent` holds: each new message once
/// (one numbered before the last sent too, when it comes later), status changes, and a
/// `resync` event whenever the client may lack messages (this subscriber fell more than the
/// channel holds behind, the relay from other replicas reconnected, or a message skipped a
/// number), after which the client fetches what it lacks. A `customer`'s statuses carry no
/// handoff summary.
fn live_events(
    live: broadcast::Receiver<ConversationEvent>,
    mut sent: Sent,
    customer: bool,
) -> impl Stream<Item = Event> {
    let resync = || Event::default().event("resync").data("{}");
    BroadcastStream::new(live).flat_map(move |event| {
        let out = match event {
            Ok(ConversationEvent::Message(m)) => match sent.send(m.seq) {
                Some(true) => vec![message_event(&m), resync()],
                Some(false) => vec![message_event(&m)],
                None => Vec::new(),
            },
            Ok(ConversationEvent::Status { mode, handoff }) => {
                vec![status_event(mode, handoff.as_deref(), customer)]
            }
            // Lagged, or events from other replicas may have been missed: the client
            // resyncs from its last seq.
            Ok(ConversationEvent::Resync) | Err(_) => {
                sent.fetched_below();
                vec![resync()]
            }
            Ok(ConversationEvent::KeepAlive) => vec![Event::default().comment("")],
        };
        stream::iter(out)
    })
}

fn status_event(mode: Mode, handoff: Option<&Handoff>, customer: bool) -> Event {
    let handoff = shown(handoff, customer);
    Event::default()
        .event("status")
        .data(json!({"mode": mode, "handoff": handoff}).to_string())
}

/// A handoff as JSON for its reader: a `customer` gets it with an empty summary, which is
/// written for the agents (the customer's mood, verification and facts, in their words).
fn shown(handoff: Option<&Handoff>, customer: bool) -> serde_json::Value {
    let mut value = json!(handoff);
    if customer && let Some(summary) = value.get_mut("summary") {
        *summary = json!("");
    }
    value
}

fn message_event(message: &crate::storage::Message) -> Event {
    Event::default()
        .event("message")
        .id(message.seq.to_string())
        .data(json!(message).to_string())
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
    use crate::{
        events::{CAPACITY, Events, To},
        storage::{Message, Role},
    };

    /// Each number is sent once, one that comes after a higher one too; a gap (a number
    /// missing below the highest sent) shows until the message that fills it comes, and one
    /// far ahead passes over what it skips.
    #[test]
    fn a_stream_sends_each_message_once_in_whatever_order_they_come() {
        let mut sent = Sent::through(3);
        let mut gaps = Vec::new();
        let mut firsts = Vec::new();
        for seq in [3, 4, 6, 4, 5, 6, 7, 9, 8] {
            firsts.push(sent.first_time(seq));
            gaps.push(sent.ahead != 0);
        }
        assert_eq!(
            firsts,
            [false, true, true, false, true, false, true, true, true]
        );
        assert_eq!(
            gaps,
            [false, false, true, true, false, false, false, true, false]
        );
        assert_eq!(sent, Sent::through(9));
        // 64 ahead is kept in mind; further, the window moves: what it passes over counts as
        // sent, what it keeps stays sent.
        assert!(sent.first_time(9 + 64) && (sent.ahead != 0));
        assert!(sent.first_time(10) && !sent.first_time(10));
        assert!(sent.first_time(20) && sent.first_time(80));
        assert!(!sent.first_time(20) && !sent.first_time(80) && !sent.first_time(15));
        assert!(sent.first_time(200) && (sent.ahead != 0));
        assert!(!sent.first_time(100) && sent.first_time(150) && !sent.first_time(150));
        // After missing some, the stream counts everything below its highest as fetched.
        sent.fetched_below();
        assert_eq!(sent, Sent::through(200));
        // One resync a gap: when it opens, not for each message above it; a new one opens
        // another, even while an older one is still open.
        let opened: Vec<Option<bool>> = [202, 203, 201, 201, 205, 207, 208]
            .map(|seq| sent.send(seq))
            .into();
        assert_eq!(
            opened,
            [
                Some(true),
                Some(false),
                Some(false),
                None,
                Some(true),
                Some(true),
                Some(false)
            ]
        );
        // Far ahead of a window with nothing in it, and a client's own huge `after`.
        assert!(Sent::through(0).first_time(i64::MAX));
        assert!(!Sent::through(i64::MAX).first_time(i64::MAX));
    }

    /// A message published after a higher-numbered one is still sent, and the gap the
    /// higher one opened brings one resync.
    #[tokio::test]
    async fn a_stream_sends_a_message_published_after_a_later_one() {
        let events = Events::default();
        let live = events.subscribe("conv_1");
        for seq in [2, 3, 1, 4] {
            let mut message = Message::for_test(seq, Role::Agent, "hi");
            message.conversation_id = "conv_1".into();
            events.publish_message(&message, To::Conversation);
        }
        drop(events);
        let stream = live_events(live, Sent::through(0), true).map(Ok::<_, Infallible>);
        let body = axum::body::to_bytes(Sse::new(stream).into_response().into_body(), usize::MAX)
            .await
            .expect("body");
        let body = String::from_utf8(body.to_vec()).expect("UTF-8");
        let out: Vec<String> = body
            .split_terminator("\n\n")
            .map(|e| {
                let name = e
                    .lines()
                    .find_map(|l| l.strip_prefix("event: "))
                    .unwrap_or("");
                match e.lines().find_map(|l| l.strip_prefix("id: ")) {
                    Some(id) => format!("{name} {id}"),
                    None => name.to_owned(),
                }
            })
            .collect();
        assert_eq!(
            out,
            ["message 2", "resync", "message 3", "message 1", "message 4"]
        );
    }

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

    /// A subscriber that falls more than the channel holds behind is told to resync (and so
    /// fetches what it missed), then gets the messages still held, each once.
    #[tokio::test]
    async fn a_stream_that_falls_behind_tells_the_client_to_resync() {
        let events = Events::default();
        let live = events.subscribe("conv_1");
        let sent = i64::try_from(CAPACITY).expect("capacity") + 2;
        for seq in 1..=sent {
            let mut message = Message::for_test(seq, Role::Assistant, "reply");
            message.conversation_id = "conv_1".into();
            events.publish_message(&message, To::Conversation);
        }
        drop(events); // ends the stream once what it holds is out
        // As the client reads it: the response body in SSE's wire format.
        let stream = live_events(live, Sent::through(0), true).map(Ok::<_, Infallible>);
        let body = axum::body::to_bytes(Sse::new(stream).into_response().into_body(), usize::MAX)
            .await
            .expect("body");
        let body = String::from_utf8(body.to_vec()).expect("UTF-8");
        let out: Vec<&str> = body.split_terminator("\n\n").collect();
        assert!(out[0].starts_with("event: resync"), "{out:#?}");
        let ids: Vec<i64> = out
            .iter()
            .filter(|e| e.starts_with("event: message"))
            .filter_map(|e| e.lines().find_map(|l| l.strip_prefix("id: "))?.parse().ok())
            .collect();
        assert_eq!(ids, (3..=sent).collect::<Vec<_>>(), "{out:#?}");
    }

    /// The hub's keep-alives reach the client as SSE comments, and its shutdown ends the body.
    #[tokio::test]
    async fn a_followed_stream_gets_keep_alive_comments_and_ends_at_shutdown() {
        let events = Events::default();
        let shutdown = tokio_util::sync::CancellationToken::new();
        let live = events.subscribe("conv_1");
        events.maintain(Duration::from_millis(10), shutdown.clone());
        let stream = live_events(live, Sent::through(0), true).map(Ok::<_, Infallible>);
        let mut body = Sse::new(stream)
            .into_response()
            .into_body()
            .into_data_stream();
        let wait = Duration::from_secs(5);
        let first = tokio::time::timeout(wait, body.next()).await;
        assert!(
            // A comment line (`:`), which SSE clients ignore.
            matches!(&first, Ok(Some(Ok(chunk))) if chunk.as_ref() == b": \n\n"),
            "{first:?}"
        );
        shutdown.cancel();
        let end = tokio::time::timeout(wait, async {
            while let Some(chunk) = body.next().await {
                chunk.expect("chunk");
            }
        })
        .await;
        assert!(end.is_ok(), "the stream did not end at shutdown");
    }
}
