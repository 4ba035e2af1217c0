//! `GET /v1/conversations/{id}/stream`: a conversation's live stream. It sends every message
//! once, in order of number as far as they come in order, and reads from the store whatever it
//! would otherwise miss (a message published after a later one, events dropped while the
//! client read slowly, or the other replicas' events while their relay reconnected), so a
//! client that only follows the stream has the whole conversation.

use std::{
    convert::Infallible,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll, ready},
};

use axum::{
    extract::{Path, State},
    http::HeaderMap,
    response::sse::{Event, Sse},
};
use futures_util::{Stream, future::BoxFuture};
use serde_json::json;
use tokio::sync::{
    Semaphore,
    broadcast::{self, error::RecvError},
};
use tokio_util::sync::ReusableBoxFuture;

use super::{
    chat::{After, load, shown},
    error::ApiError,
    extract::{ApiQuery, Caller},
};
use crate::{
    app::AppState,
    events::ConversationEvent,
    storage::{Handoff, Message, Mode, Store, StoreError},
    telemetry::StreamGuard,
};

/// `GET /v1/conversations/{id}/stream`: the conversation's status (mode and open handoff, so a
/// reloaded widget shows where it stands), missed messages (after `?after=` or the
/// `Last-Event-ID` header), then live ones; each message event carries its `seq` as SSE id.
pub async fn stream_conversation(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    caller: Caller,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<After>,
) -> Result<Sse<Live>, ApiError> {
    load(&state, &caller, &id).await?;
    // A stream holds a connection, and connections are open files: a customer may hold a
    // few (tabs), the service as many as its open-file limit allows with room to spare.
    let limits = &state.settings.limits;
    if caller.is_customer()
        && limits.streams_per_conversation > 0
        && state.events.followers(&id) >= limits.streams_per_conversation
    {
        return Err(ApiError::RateLimited {
            retry_after_secs: 5,
        });
    }
    if state.metrics.open_streams() >= state.max_streams {
        return Err(ApiError::Unavailable(
            "Too many open streams; try again shortly.".into(),
        ));
    }
    let after = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i64>().ok())
        .or(query.after);
    // Without `after`, the messages stored before the client connected are not theirs: the
    // stream starts after the latest, read before subscribing so that one stored meanwhile
    // comes in the backlog. An `after` beyond the latest (a client's stale number) counts as
    // the latest, so the next message is not taken for one it has. (Numbers start at 1.)
    let latest = state.store.last_seq(&id).await?;
    let after = after.map_or(latest, |after| after.clamp(0, latest));
    // Subscribe before reading the status and backlog so nothing falls between them.
    let (live, conversation) = state.events.subscribe(&id);
    let customer = caller.is_customer();
    let status = read_status(&state.store, &id, customer)
        .await?
        .ok_or(ApiError::NotFound("conversation"))?;
    let backlog = state.store.messages(&id, after).await?;
    let sent = Sent::through(backlog.last().map_or(after, |m| m.seq));
    let first = std::iter::once(status)
        .chain(backlog.iter().map(message_event))
        .collect();
    let open = state.metrics.stream_opened();
    Ok(Sse::new(Live::new(
        live,
        first,
        sent,
        Reader {
            store: state.store.clone(),
            conversation,
            customer,
        },
        open,
    )))
}

/// The conversation's status event as it stands in the store; none if it is gone.
async fn read_status(
    store: &Store,
    conversation: &str,
    customer: bool,
) -> Result<Option<Event>, StoreError> {
    let Some((conversation, human_only)) =
        store.conversation_and_channel_mode(conversation).await?
    else {
        return Ok(None);
    };
    let handoff = store.open_handoff_of(&conversation.id).await?;
    Ok(Some(status_event(
        conversation.mode_shown(human_only),
        handoff.as_ref(),
        customer,
    )))
}

fn status_event(mode: Mode, handoff: Option<&Handoff>, customer: bool) -> Event {
    let handoff = shown(handoff, customer);
    Event::default()
        .event("status")
        .data(json!({"mode": mode, "handoff": handoff}).to_string())
}

fn message_event(message: &Message) -> Event {
    Event::default()
        .event("message")
        .id(message.seq.to_string())
        .data(json!(message).to_string())
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
    /// the window, counting the numbers it passes over as sent (the stream read them from
    /// the store when their gap opened).
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

    /// Counts every number up to the highest sent, and up to `seq`, as sent: the stream
    /// missed some and could not read them, and the client fetches everything after the
    /// highest it has on the `resync` it gets.
    fn fetched_through(&mut self, seq: i64) {
        self.through = self.highest().max(seq);
        self.ahead = 0;
    }

    /// The highest number sent (or `through`).
    fn highest(&self) -> i64 {
        self.through + i64::from(64 - self.ahead.leading_zeros())
    }

    /// Whether `seq` skips a number past the highest sent: the numbers it skips are
    /// committed (a conversation's messages are numbered in commit order) but not yet
    /// published here, or their events were lost.
    fn skips_past(&self, seq: i64) -> bool {
        seq > self.highest().saturating_add(1)
    }
}

/// Streams reading what they missed at a time.
static CATCHING_UP: Semaphore = Semaphore::const_new(4);

/// What a stream reads from the store when it may have missed something.
struct Reader {
    store: Store,
    conversation: Arc<str>,
    customer: bool,
}

/// The status (when events may have been dropped) and the messages after the stream's
/// `through`, as the store had them.
type Read = Result<(Option<Event>, Vec<Message>), StoreError>;

/// A catch-up read under way, and the message whose number showed the gap.
type CatchUp = BoxFuture<'static, (Read, Option<Arc<Message>>)>;

type Received = (
    Result<ConversationEvent, RecvError>,
    broadcast::Receiver<ConversationEvent>,
);

async fn receive(mut events: broadcast::Receiver<ConversationEvent>) -> Received {
    (events.recv().await, events)
}

/// The stream itself: what is ready to go (the status and backlog at first), then each live
/// event. Where one shows that messages were missed, the stream stops taking events until the
/// store has told it what they were. A `customer`'s statuses carry no handoff summary.
pub struct Live {
    events: ReusableBoxFuture<'static, Received>,
    /// Events to send before anything else.
    out: std::vec::IntoIter<Event>,
    catching_up: Option<CatchUp>,
    sent: Sent,
    reader: Reader,
    _open: StreamGuard,
}

impl Live {
    fn new(
        events: broadcast::Receiver<ConversationEvent>,
        first: Vec<Event>,
        sent: Sent,
        reader: Reader,
        open: StreamGuard,
    ) -> Self {
        Self {
            events: ReusableBoxFuture::new(receive(events)),
            out: first.into_iter(),
            catching_up: None,
            sent,
            reader,
            _open: open,
        }
    }

    /// The events one live event makes, or none while a catch-up it started reads.
    fn on(&mut self, event: ConversationEvent) -> Vec<Event> {
        match event {
            ConversationEvent::Message(message) if self.sent.skips_past(message.seq) => {
                self.catch_up(false, Some(message));
                Vec::new()
            }
            ConversationEvent::Message(message) => {
                if self.sent.first_time(message.seq) {
                    vec![message_event(&message)]
                } else {
                    Vec::new()
                }
            }
            ConversationEvent::Status { mode, handoff } => {
                vec![status_event(mode, handoff.as_deref(), self.reader.customer)]
            }
            // The relay reconnected, or this subscriber fell behind: events may be lost,
            // statuses among them.
            ConversationEvent::Resync => {
                self.catch_up(true, None);
                Vec::new()
            }
            ConversationEvent::KeepAlive => vec![Event::default().comment("")],
        }
    }

    fn catch_up(&mut self, with_status: bool, waiting: Option<Arc<Message>>) {
        let store = self.reader.store.clone();
        let conversation = self.reader.conversation.clone();
        let (customer, after) = (self.reader.customer, self.sent.through);
        self.catching_up = Some(Box::pin(async move {
            let read = async {
                // A relay reconnect sends every stream here at once: a few read at a time.
                let _turn = CATCHING_UP.acquire().await;
                let status = match with_status {
                    true => read_status(&store, &conversation, customer).await?,
                    false => None,
                };
                Ok((status, store.messages(&conversation, after).await?))
            };
            (read.await, waiting)
        }));
    }

    /// The events a catch-up makes: the status read, then each message not sent yet (up to
    /// the one whose number showed a gap: the later ones, and the statuses between, follow
    /// in the order they were published).
    fn caught_up(&mut self, read: Read, waiting: Option<Arc<Message>>) -> Vec<Event> {
        let up_to = waiting.as_ref().map_or(i64::MAX, |m| m.seq);
        match read {
            Ok((status, messages)) => {
                let mut out: Vec<Event> = status.into_iter().collect();
                // The waiting message is among those read (it was committed before it was
                // published); after them in case a read lagged behind the commit.
                let read = messages.iter().take_while(|m| m.seq <= up_to);
                for message in read.chain(waiting.as_deref()) {
                    if self.sent.first_time(message.seq) {
                        out.push(message_event(message));
                    }
                }
                out
            }
            Err(error) => {
                tracing::warn!(%error, conversation = %self.reader.conversation,
                    "a stream could not read what it missed: the client is told to fetch it");
                // The client fetches everything after the highest number it has, the waiting
                // message included.
                self.sent
                    .fetched_through(waiting.map_or(i64::MIN, |m| m.seq));
                vec![Event::default().event("resync").data("{}")]
            }
        }
    }
}

impl Stream for Live {
    type Item = Result<Event, Infallible>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if let Some(event) = this.out.next() {
                return Poll::Ready(Some(Ok(event)));
            }
            // Give the spent buffer back: thousands of streams wait here.
            this.out = Default::default();
            if let Some(catching_up) = this.catching_up.as_mut() {
                let (read, waiting) = ready!(catching_up.as_mut().poll(cx));
                this.catching_up = None;
                this.out = this.caught_up(read, waiting).into_iter();
                continue;
            }
            let (event, mut events) = ready!(this.events.poll(cx));
            let event = match event {
                Ok(event) => event,
                // The hub closed the channel at shutdown.
                Err(RecvError::Closed) => return Poll::Ready(None),
                // Fell behind: what the ring still holds is read from the store with the rest,
                // so the stream goes on from what comes next.
                Err(RecvError::Lagged(_)) => {
                    events = events.resubscribe();
                    ConversationEvent::Resync
                }
            };
            this.events.set(receive(events));
            this.out = this.on(event).into_iter();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use axum::response::IntoResponse;
    use futures_util::StreamExt;

    use super::*;
    use crate::{
        events::{CAPACITY, Events, To},
        storage::{Conversation, NewMessage, Role, tests::store_with_a_conversation},
        telemetry::Metrics,
    };

    /// Each number is sent once, one that comes after a higher one too, and one far ahead
    /// passes over what it skips; a number skips past the highest sent when one between them
    /// has not been sent.
    #[test]
    fn a_stream_sends_each_message_once_in_whatever_order_they_come() {
        let mut sent = Sent::through(3);
        let mut skips = Vec::new();
        let mut firsts = Vec::new();
        for seq in [3, 4, 6, 4, 5, 6, 7, 9, 8] {
            skips.push(sent.skips_past(seq));
            firsts.push(sent.first_time(seq));
        }
        assert_eq!(
            firsts,
            [false, true, true, false, true, false, true, true, true]
        );
        assert_eq!(
            skips,
            [false, false, true, false, false, false, false, true, false]
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
        assert!(!sent.skips_past(201) && sent.skips_past(202));
        // After missing some it could not read, the stream counts everything below its
        // highest, or the message that showed the gap, as fetched.
        sent.fetched_through(i64::MIN);
        assert_eq!(sent, Sent::through(200));
        sent.fetched_through(205);
        assert_eq!(sent, Sent::through(205));
        // Far ahead of a window with nothing in it, and a client's own huge `after`.
        assert!(Sent::through(0).first_time(i64::MAX));
        assert!(!Sent::through(i64::MAX).first_time(i64::MAX));
        assert!(!Sent::through(i64::MAX).skips_past(i64::MAX));
    }

    /// Stores `n` agent messages.
    async fn agent_says(store: &Store, conversation: &Conversation, n: usize) -> Vec<Message> {
        let mut said = Vec::new();
        for i in 0..n {
            let new = NewMessage {
                role: Role::Agent,
                text: format!("message {i}"),
                citations: Vec::new(),
                actions: Vec::new(),
                confidence: None,
                author: Some("Ann".into()),
                reply_to: None,
            };
            said.push(
                store
                    .append_message(&conversation.id, new)
                    .await
                    .expect("stored"),
            );
        }
        said
    }

    fn follow(events: &Events, store: &Store, conversation: &Conversation) -> Live {
        let (live, conversation) = events.subscribe(&conversation.id);
        let reader = Reader {
            store: store.clone(),
            conversation,
            customer: true,
        };
        let open = Arc::new(Metrics::default()).stream_opened();
        Live::new(live, Vec::new(), Sent::through(0), reader, open)
    }

    /// The stream as its client reads it (the response body in SSE's wire format), an event a
    /// line: its name, and a message's number.
    async fn read(live: Live) -> Vec<String> {
        let body = axum::body::to_bytes(Sse::new(live).into_response().into_body(), usize::MAX)
            .await
            .expect("body");
        let body = String::from_utf8(body.to_vec()).expect("UTF-8");
        body.split_terminator("\n\n")
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
            .collect()
    }

    /// Messages committed at once can be published out of order: the stream reads the one a
    /// later one skipped from the store, and sends each once, in order.
    #[tokio::test]
    async fn a_message_published_after_a_later_one_is_read_from_the_store() {
        let (_dir, store, conversation) = store_with_a_conversation().await;
        let said = agent_says(&store, &conversation, 4).await;
        let events = Events::default();
        let live = follow(&events, &store, &conversation);
        for i in [1, 2, 0, 3] {
            events.publish_message(&said[i], To::Conversation);
        }
        drop(events); // ends the stream once what it holds is out
        assert_eq!(
            read(live).await,
            ["message 1", "message 2", "message 3", "message 4"]
        );
    }

    /// The read a gap brings stops at the message that showed it: what was published after
    /// it (a status among them) follows in the order it came.
    #[tokio::test]
    async fn what_follows_a_gap_comes_in_the_order_it_was_published() {
        let (_dir, store, conversation) = store_with_a_conversation().await;
        let said = agent_says(&store, &conversation, 3).await;
        let events = Events::default();
        let live = follow(&events, &store, &conversation);
        events.publish_message(&said[1], To::Conversation);
        events.publish_status(&conversation.id, Mode::Human, None, false);
        events.publish_message(&said[2], To::Conversation);
        events.publish_message(&said[0], To::Conversation);
        drop(events);
        assert_eq!(
            read(live).await,
            ["message 1", "message 2", "status", "message 3"]
        );
    }

    /// A subscriber that falls more than the channel holds behind reads the status and what
    /// it missed from the store, and sends each message once.
    #[tokio::test]
    async fn a_stream_that_falls_behind_reads_what_it_missed() {
        let (_dir, store, conversation) = store_with_a_conversation().await;
        let said = agent_says(&store, &conversation, CAPACITY + 2).await;
        let events = Events::default();
        let live = follow(&events, &store, &conversation);
        for message in &said {
            events.publish_message(message, To::Conversation);
        }
        drop(events);
        let expected: Vec<String> = std::iter::once("status".to_owned())
            .chain((1..=said.len()).map(|seq| format!("message {seq}")))
            .collect();
        assert_eq!(read(live).await, expected);
    }

    /// What the channel still held when the stream fell behind is older than the store's
    /// read, so it is not sent after it: a status it held would undo the one read.
    #[tokio::test]
    async fn a_stream_that_fell_behind_does_not_send_what_it_read_with_an_older_status() {
        let (_dir, store, conversation) = store_with_a_conversation().await;
        let said = agent_says(&store, &conversation, CAPACITY + 1).await;
        let events = Events::default();
        let live = follow(&events, &store, &conversation);
        for message in &said {
            events.publish_message(message, To::Conversation);
        }
        // Not what the store holds (the assistant answers): an event older than the read.
        events.publish_status(&conversation.id, Mode::Human, None, false);
        drop(events);
        let out = read(live).await;
        assert_eq!(out.iter().filter(|e| *e == "status").count(), 1, "{out:?}");
        assert_eq!(out.len(), 1 + said.len(), "{out:?}");
    }

    /// When the store cannot say what the stream missed, the client is told to fetch it.
    #[tokio::test]
    async fn a_stream_that_cannot_read_what_it_missed_tells_the_client_to_resync() {
        let (_dir, store, conversation) = store_with_a_conversation().await;
        let said = agent_says(&store, &conversation, 3).await;
        let events = Events::default();
        let live = follow(&events, &store, &conversation);
        store.close_reads().await;
        events.publish_message(&said[1], To::Conversation);
        events.publish_message(&said[0], To::Conversation);
        events.publish_message(&said[2], To::Conversation);
        drop(events);
        // The client fetches the first two, so they are not sent again.
        assert_eq!(read(live).await, ["resync", "message 3"]);
    }

    /// The hub's keep-alives reach the client as SSE comments, and its shutdown ends the body.
    #[tokio::test]
    async fn a_followed_stream_gets_keep_alive_comments_and_ends_at_shutdown() {
        let (_dir, store, conversation) = store_with_a_conversation().await;
        let events = Events::default();
        let shutdown = tokio_util::sync::CancellationToken::new();
        let live = follow(&events, &store, &conversation);
        events.maintain(Duration::from_millis(10), shutdown.clone());
        let mut body = Sse::new(live)
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
