//! Live events: each conversation's stream (messages, mode changes) and the agents' queue
//! feed. Channels are created on first subscription and forgotten once nobody follows them
//! (at the next event or keep-alive round), so idle conversations cost nothing. With
//! PostgreSQL, every event is also relayed to the other replicas (see [`relay`]), so a stream
//! open on one replica sees what another wrote.
//!
//! The hub also keeps conversation streams alive ([`Events::maintain`]): one task sends every
//! followed conversation a keep-alive now and then and, at shutdown, closes the channels, which
//! ends the streams. A timer and a shutdown watch in each of thousands of open streams cost
//! about 250 bytes apiece.

pub mod relay;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use serde::Serialize;
use tokio::{
    sync::{broadcast, mpsc},
    time::MissedTickBehavior,
};
use tokio_util::sync::CancellationToken;

use crate::storage::{Handoff, Message, Mode, Store, StoreError};

use relay::Notice;

/// Events buffered per subscriber before a slow one starts missing some (it then resyncs
/// from the store). A turn sends at most three (the message, the reply and a handoff's status),
/// and a keep-alive goes only into an empty ring; each slot costs 48 bytes in every followed
/// conversation.
pub(crate) const CAPACITY: usize = 4;

/// How often a followed conversation's streams get a keep-alive: proxies keep an idle stream
/// open, and a client that left is noticed at the write.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// Conversations sent a keep-alive at a time; a round's batches are spread over the first
/// half of the interval.
const KEEP_ALIVE_BATCH: usize = 64;

/// An event on a conversation's stream. Payloads are shared, not copied, between subscribers
/// (and with the agents' feed), and keep each channel's ring of slots small (one channel per
/// followed conversation, so thousands of them).
#[derive(Debug, Clone)]
pub enum ConversationEvent {
    Message(Arc<Message>),
    Status {
        mode: Mode,
        handoff: Option<Arc<Handoff>>,
    },
    /// Events may have been missed (the relay reconnected): fetch from the store.
    Resync,
    /// Nothing happened; the stream says it is still there.
    KeepAlive,
}

/// An event on the agents' feed.
#[derive(Debug, Clone)]
pub enum AgentEvent {
    /// A handoff was opened or changed state.
    Handoff(Arc<Handoff>),
    /// A message arrived in a conversation agents may be watching.
    Message(Arc<Message>),
    /// Events may have been missed (the relay reconnected): reload the queue.
    Resync,
}

/// Who a message event is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum To {
    /// The conversation's stream (the customer, and agents who opened it).
    Conversation,
    /// The agents' feed.
    Agents,
    Both,
}

impl To {
    pub(crate) fn conversation(self) -> bool {
        self != To::Agents
    }
    pub(crate) fn agents(self) -> bool {
        self != To::Conversation
    }
}

/// The event hub shared by the whole service.
#[derive(Clone)]
pub struct Events {
    conversations: Arc<Mutex<Followed>>,
    agents: broadcast::Sender<AgentEvent>,
    /// Where events bound for the other replicas go (PostgreSQL only).
    relay: Option<mpsc::UnboundedSender<Notice>>,
    /// Held while a channel's switch is told to its chats, so that two quick switches reach
    /// them in the order they were made (each reads the channel as it then is).
    channel_switches: Arc<tokio::sync::Mutex<()>>,
}

impl Default for Events {
    fn default() -> Self {
        Self {
            conversations: Arc::default(),
            agents: broadcast::channel(256).0,
            relay: None,
            channel_switches: Arc::default(),
        }
    }
}

/// The channels of the conversations followed on this replica; none once closed.
#[derive(Default)]
struct Followed {
    channels: HashMap<Arc<str>, broadcast::Sender<ConversationEvent>>,
    closed: bool,
}

impl Events {
    fn map(&self) -> std::sync::MutexGuard<'_, Followed> {
        // The map holds no invariant a panic could break; keep serving after one.
        self.conversations.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Follows one conversation: its events, and its id as the hub keeps it (shared, so a
    /// stream that needs the id holds no copy of its own). Once the hub is closed
    /// (shutdown), the subscription is closed too.
    pub fn subscribe(
        &self,
        conversation_id: &str,
    ) -> (broadcast::Receiver<ConversationEvent>, Arc<str>) {
        let mut followed = self.map();
        if followed.closed {
            return (broadcast::channel(1).1, conversation_id.into());
        }
        if let Some((id, sender)) = followed.channels.get_key_value(conversation_id) {
            return (sender.subscribe(), id.clone());
        }
        let (sender, events) = broadcast::channel(CAPACITY);
        let id: Arc<str> = conversation_id.into();
        followed.channels.insert(id.clone(), sender);
        (events, id)
    }

    /// How many follow one conversation on this replica (its open streams).
    pub fn followers(&self, conversation_id: &str) -> usize {
        self.map()
            .channels
            .get(conversation_id)
            .map_or(0, broadcast::Sender::receiver_count)
    }

    /// Until `shutdown`: `every` so often (the service uses [`KEEP_ALIVE`]), a keep-alive to
    /// each followed conversation, forgetting those nobody follows any more. Then closes every
    /// conversation channel, which ends their streams.
    pub fn maintain(&self, every: Duration, shutdown: CancellationToken) {
        let events = self.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
            ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    _ = ticks.tick() => events.keep_alive(every / 2).await,
                }
            }
            events.close();
        });
    }

    /// Sends each followed conversation a keep-alive, unless an event is already on its way
    /// (the stream writes anyway, and the slot stays free for events), a batch at a time over
    /// `spread`, so that thousands of streams do not all wake at once ahead of the turns (nor
    /// hold the map's lock); then forgets the channels nobody follows any more.
    async fn keep_alive(&self, spread: Duration) {
        let senders: Vec<_> = self.map().channels.values().cloned().collect();
        let batches = senders.len().div_ceil(KEEP_ALIVE_BATCH);
        let pause = spread / u32::try_from(batches).unwrap_or(u32::MAX).max(1);
        for (n, batch) in senders.chunks(KEEP_ALIVE_BATCH).enumerate() {
            if n > 0 {
                tokio::time::sleep(pause).await;
            }
            for sender in batch.iter().filter(|sender| sender.is_empty()) {
                // An error only means nobody follows it any more.
                let _ = sender.send(ConversationEvent::KeepAlive);
            }
        }
        drop(senders);
        self.map()
            .channels
            .retain(|_, sender| sender.receiver_count() > 0);
    }

    fn close(&self) {
        let mut followed = self.map();
        followed.closed = true;
        followed.channels.clear();
    }

    /// Events that are also sent, as notices, into `relay` for the other replicas.
    pub fn relayed(relay: mpsc::UnboundedSender<Notice>) -> Self {
        Self {
            relay: Some(relay),
            ..Self::default()
        }
    }

    /// Sends a stored message to its audience, here and on every other replica.
    pub fn publish_message(&self, message: &Message, to: To) {
        self.relay(|| Notice::Message {
            conversation_id: message.conversation_id.clone(),
            message_id: message.id.clone(),
            to,
        });
        self.deliver_message(message.clone(), to);
    }

    /// Sends a conversation's mode (and its open or just-closed handoff) to its stream and,
    /// with `agents`, the handoff to the agents' feed; here and on every other replica.
    pub fn publish_status(
        &self,
        conversation_id: &str,
        mode: Mode,
        handoff: Option<&Handoff>,
        agents: bool,
    ) {
        self.relay(|| Notice::Status {
            conversation_id: conversation_id.to_owned(),
            mode,
            handoff_id: handoff.map(|h| h.id.clone()),
            agents,
        });
        self.deliver_status(conversation_id, mode, handoff.cloned(), agents);
    }

    /// Sends a handoff whose summary changed to the agents' feed (the customer's stream has
    /// nothing new to show); here and on every other replica.
    pub fn publish_handoff(&self, handoff: &Handoff) {
        self.relay(|| Notice::Handoff {
            handoff_id: handoff.id.clone(),
        });
        self.deliver_handoff(handoff.clone());
    }

    fn deliver_handoff(&self, handoff: Handoff) {
        self.deliver_agents(AgentEvent::Handoff(Arc::new(handoff)));
    }

    /// Tells the streams of a channel's conversations who answers them now that the channel
    /// was switched to or from human-only; here and on every other replica.
    pub async fn publish_channel(&self, store: &Store, channel: &str) -> Result<(), StoreError> {
        self.relay(|| Notice::Channel {
            channel: channel.to_owned(),
        });
        self.deliver_channel(store, channel).await
    }

    /// Sends each conversation on `channel` followed on this replica its status as it stands
    /// (mode and open handoff), read from the store.
    async fn deliver_channel(&self, store: &Store, channel: &str) -> Result<(), StoreError> {
        let _in_order = self.channel_switches.lock().await;
        let followed = self.followed_ids();
        if followed.is_empty() {
            return Ok(());
        }
        let human_only = store.channel_human_only(channel).await?;
        for conversation in store.conversations_on_channel(channel, &followed).await? {
            let handoff = store.open_handoff_of(&conversation.id).await?;
            let mode = conversation.mode_shown(human_only);
            self.deliver_status(&conversation.id, mode, handoff, false);
        }
        Ok(())
    }

    fn relay(&self, notice: impl FnOnce() -> Notice) {
        if let Some(relay) = &self.relay {
            // An error only means the relay stopped (shutdown).
            let _ = relay.send(notice());
        }
    }

    fn deliver_message(&self, message: Message, to: To) {
        let message = Arc::new(message);
        if to.agents() {
            self.deliver_agents(AgentEvent::Message(message.clone()));
        }
        if to.conversation() {
            self.deliver(
                &message.conversation_id,
                ConversationEvent::Message(message.clone()),
            );
        }
    }

    fn deliver_status(
        &self,
        conversation_id: &str,
        mode: Mode,
        handoff: Option<Handoff>,
        agents: bool,
    ) {
        let handoff = handoff.map(Arc::new);
        if agents && let Some(handoff) = &handoff {
            self.deliver_agents(AgentEvent::Handoff(handoff.clone()));
        }
        self.deliver(conversation_id, ConversationEvent::Status { mode, handoff });
    }

    /// Tells every subscriber on this replica to reload from the store.
    fn resync_all(&self) {
        for id in self.followed_ids() {
            self.deliver(&id, ConversationEvent::Resync);
        }
        self.deliver_agents(AgentEvent::Resync);
    }

    /// The conversations followed on this replica.
    fn followed_ids(&self) -> Vec<Arc<str>> {
        self.map().channels.keys().cloned().collect()
    }

    /// Whether anyone on this replica follows the conversation.
    fn followed(&self, conversation_id: &str) -> bool {
        self.map().channels.contains_key(conversation_id)
    }

    /// Whether any agent is connected to this replica.
    fn agents_connected(&self) -> bool {
        self.agents.receiver_count() > 0
    }

    /// Sends an event to this replica's followers of a conversation, if any.
    fn deliver(&self, conversation_id: &str, event: ConversationEvent) {
        let mut followed = self.map();
        if let Some(sender) = followed.channels.get(conversation_id)
            && sender.send(event).is_err()
        {
            // No receiver is left: forget the channel.
            followed.channels.remove(conversation_id);
        }
    }

    /// Follows the agents' feed.
    pub fn subscribe_agents(&self) -> broadcast::Receiver<AgentEvent> {
        self.agents.subscribe()
    }

    /// Sends an event to the agents connected to this replica.
    fn deliver_agents(&self, event: AgentEvent) {
        // An error only means no agent is connected right now.
        let _ = self.agents.send(event);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::sync::broadcast::error::{RecvError, TryRecvError};
    use tokio_util::sync::CancellationToken;

    use super::{ConversationEvent, Events, KEEP_ALIVE_BATCH};

    #[tokio::test]
    async fn followers_get_keep_alives_until_shutdown_closes_their_channels() {
        let events = Events::default();
        let shutdown = CancellationToken::new();
        let mut followed = events.subscribe("a").0;
        drop(events.subscribe("b").0); // followed once, no longer
        events.maintain(Duration::from_millis(10), shutdown.clone());
        for _ in 0..2 {
            let event = tokio::time::timeout(Duration::from_secs(5), followed.recv()).await;
            assert!(
                matches!(event, Ok(Ok(ConversationEvent::KeepAlive))),
                "{event:?}"
            );
        }
        // A stream with an event still unread gets no keep-alive on top: the ring keeps
        // its slots for events, and the stream does not fall behind.
        let mut idle = events.subscribe("d").0;
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(matches!(idle.try_recv(), Ok(ConversationEvent::KeepAlive)));
        assert!(
            matches!(idle.try_recv(), Err(TryRecvError::Empty)),
            "one keep-alive at a time"
        );
        assert!(events.followed("a"));
        assert!(
            !events.followed("b"),
            "a channel nobody follows is forgotten"
        );
        // More conversations than one batch: each gets its keep-alive.
        let mut many: Vec<_> = (0..=KEEP_ALIVE_BATCH)
            .map(|i| events.subscribe(&format!("c{i}")).0)
            .collect();
        for receiver in &mut many {
            let event = tokio::time::timeout(Duration::from_secs(5), receiver.recv()).await;
            assert!(
                matches!(event, Ok(Ok(ConversationEvent::KeepAlive))),
                "{event:?}"
            );
        }

        shutdown.cancel();
        let end = tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                match followed.recv().await {
                    Ok(ConversationEvent::KeepAlive) => continue,
                    other => return other,
                }
            }
        })
        .await;
        assert!(matches!(end, Ok(Err(RecvError::Closed))), "{end:?}");
        // Subscribing after the shutdown gets a closed channel, not one that never ends.
        let late = events.subscribe("a").0.recv().await;
        assert!(matches!(late, Err(RecvError::Closed)), "{late:?}");
    }
}
