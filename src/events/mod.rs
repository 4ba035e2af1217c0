//! Live events: each conversation's stream (messages, mode changes) and the agents' queue
//! feed. Channels are created on first subscription and dropped when the last subscriber
//! leaves, so idle conversations cost nothing. With PostgreSQL, every event is also relayed to
//! the other replicas (see [`relay`]), so a stream open on one replica sees what another wrote.

pub mod relay;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use serde::Serialize;
use tokio::sync::{broadcast, mpsc};

use crate::storage::{Handoff, Message, Mode};

use relay::Notice;

/// Events buffered per subscriber before a slow one starts missing some (it then resyncs
/// from the store). A turn sends at most three (the message, the reply and a handoff's status);
/// each slot costs 48 bytes in every followed conversation.
pub(crate) const CAPACITY: usize = 4;

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
    conversations: Arc<Mutex<HashMap<String, broadcast::Sender<ConversationEvent>>>>,
    agents: broadcast::Sender<AgentEvent>,
    /// Where events bound for the other replicas go (PostgreSQL only).
    relay: Option<mpsc::UnboundedSender<Notice>>,
}

impl Default for Events {
    fn default() -> Self {
        Self {
            conversations: Arc::default(),
            agents: broadcast::channel(256).0,
            relay: None,
        }
    }
}

impl Events {
    fn map(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<String, broadcast::Sender<ConversationEvent>>> {
        // The map holds no invariant a panic could break; keep serving after one.
        self.conversations.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Follows one conversation.
    pub fn subscribe(&self, conversation_id: &str) -> broadcast::Receiver<ConversationEvent> {
        self.map()
            .entry(conversation_id.to_owned())
            .or_insert_with(|| broadcast::channel(CAPACITY).0)
            .subscribe()
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
        let ids: Vec<String> = self.map().keys().cloned().collect();
        for id in ids {
            self.deliver(&id, ConversationEvent::Resync);
        }
        self.deliver_agents(AgentEvent::Resync);
    }

    /// Whether anyone on this replica follows the conversation.
    fn followed(&self, conversation_id: &str) -> bool {
        self.map().contains_key(conversation_id)
    }

    /// Whether any agent is connected to this replica.
    fn agents_connected(&self) -> bool {
        self.agents.receiver_count() > 0
    }

    /// Sends an event to this replica's followers of a conversation, if any.
    fn deliver(&self, conversation_id: &str, event: ConversationEvent) {
        let mut map = self.map();
        if let Some(sender) = map.get(conversation_id)
            && sender.send(event).is_err()
        {
            // No receiver is left: forget the channel.
            map.remove(conversation_id);
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
