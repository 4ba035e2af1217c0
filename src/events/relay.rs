//! Events across replicas through PostgreSQL's LISTEN/NOTIFY: each replica sends a small
//! notice (ids, not documents) for every event it publishes, and turns the notices of the
//! other replicas back into events for its own subscribers, reading the documents from the
//! database. A notice nobody on a replica follows costs that replica no query.
//!
//! Notices are sent one at a time, in publishing order, after the writes they announce have
//! committed. After the listening connection is lost and made again, every subscriber on this
//! replica is told to resync from the store, so notices sent in between are not lost for good.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use sqlx::postgres::PgListener;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{Events, To};
use crate::storage::{Mode, Store, StoreError};

/// The PostgreSQL notification channel all replicas share.
const CHANNEL: &str = "frontdesk_events";

/// What one replica tells the others about an event it published: one notice per stored
/// row, however many audiences it is for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Notice {
    Message {
        conversation_id: String,
        message_id: String,
        to: To,
    },
    Status {
        conversation_id: String,
        mode: Mode,
        handoff_id: Option<String>,
        /// The handoff also goes to the agents' feed.
        agents: bool,
    },
    /// A handoff changed in what only agents see (its summary).
    Handoff { handoff_id: String },
    /// A channel was switched to or from human-only.
    Channel { channel: String },
}

/// A notice on the wire, with the replica it came from (a replica skips its own).
#[derive(Debug, Serialize, Deserialize)]
struct Envelope {
    origin: String,
    #[serde(flatten)]
    notice: Notice,
}

/// Starts relaying: the returned events send their notices to the other replicas, and the
/// other replicas' notices reach this replica's subscribers, until `shutdown`.
pub fn start(store: Store, database_url: String, shutdown: CancellationToken) -> Events {
    let (tx, rx) = mpsc::unbounded_channel();
    let events = Events::relayed(tx);
    let origin = uuid::Uuid::new_v4().simple().to_string();
    tokio::spawn(send(store.clone(), origin.clone(), rx));
    tokio::spawn(listen(
        store,
        database_url,
        origin,
        events.clone(),
        shutdown,
    ));
    events
}

/// Sends this replica's notices, in order, until the events are dropped.
async fn send(store: Store, origin: String, mut notices: mpsc::UnboundedReceiver<Notice>) {
    while let Some(notice) = notices.recv().await {
        let envelope = Envelope {
            origin: origin.clone(),
            notice,
        };
        let payload = match serde_json::to_string(&envelope) {
            Ok(payload) => payload,
            Err(error) => {
                tracing::error!(%error, "cannot encode an event notice");
                continue;
            }
        };
        if let Err(error) = store.notify(CHANNEL, &payload).await {
            tracing::warn!(%error, "an event did not reach the other replicas");
        }
    }
}

/// Receives the other replicas' notices until shutdown, reconnecting after failures.
async fn listen(
    store: Store,
    database_url: String,
    origin: String,
    events: Events,
    shutdown: CancellationToken,
) {
    let mut listener: Option<PgListener> = None;
    let mut connected_before = false;
    loop {
        let Some(connected) = listener.as_mut() else {
            let attempt = async {
                let mut l = PgListener::connect(&database_url).await?;
                l.listen(CHANNEL).await?;
                Ok::<_, sqlx::Error>(l)
            };
            tokio::select! {
                _ = shutdown.cancelled() => return,
                result = attempt => match result {
                    Ok(l) => {
                        listener = Some(l);
                        if connected_before {
                            tracing::info!("listening for other replicas' events again");
                            events.resync_all();
                        }
                        connected_before = true;
                    }
                    Err(error) => {
                        tracing::warn!(%error, "cannot listen for other replicas' events; retrying");
                        tokio::select! {
                            _ = shutdown.cancelled() => return,
                            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                        }
                    }
                },
            }
            continue;
        };
        let received = tokio::select! {
            _ = shutdown.cancelled() => return,
            received = connected.try_recv() => received,
        };
        match received {
            Ok(Some(notification)) => {
                let Ok(envelope) = serde_json::from_str::<Envelope>(notification.payload()) else {
                    tracing::warn!(payload = notification.payload(), "unreadable event notice");
                    continue;
                };
                if envelope.origin == origin {
                    continue;
                }
                if let Err(error) = deliver(&store, &events, envelope.notice).await {
                    tracing::warn!(%error, "cannot load a relayed event");
                }
            }
            // The connection dropped: connect again, then resync.
            Ok(None) => {
                tracing::warn!("lost the events connection; reconnecting");
                listener = None;
            }
            Err(error) => {
                tracing::warn!(%error, "events connection failed; reconnecting");
                listener = None;
            }
        }
    }
}

/// Turns another replica's notice into events for this replica's subscribers, loading the
/// row once, and only when someone here would receive it.
async fn deliver(store: &Store, events: &Events, notice: Notice) -> Result<(), StoreError> {
    match notice {
        Notice::Message {
            conversation_id,
            message_id,
            to,
        } => {
            let wanted = (to.conversation() && events.followed(&conversation_id))
                || (to.agents() && events.agents_connected());
            if wanted && let Some(message) = store.message(&message_id).await? {
                events.deliver_message(message, to);
            }
        }
        Notice::Status {
            conversation_id,
            mode,
            handoff_id,
            agents,
        } => {
            let agents = agents && events.agents_connected();
            if agents || events.followed(&conversation_id) {
                let handoff = match handoff_id {
                    Some(id) => store.handoff(&id).await?,
                    None => None,
                };
                events.deliver_status(&conversation_id, mode, handoff, agents);
            }
        }
        Notice::Handoff { handoff_id } => {
            if events.agents_connected()
                && let Some(handoff) = store.handoff(&handoff_id).await?
            {
                events.deliver_handoff(handoff);
            }
        }
        Notice::Channel { channel } => events.deliver_channel(store, &channel).await?,
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_round_trip_with_their_origin() {
        let notices = [
            (
                "a",
                Notice::Status {
                    conversation_id: "conv_1".into(),
                    mode: Mode::Human,
                    handoff_id: Some("ho_1".into()),
                    agents: true,
                },
                r#"{"origin":"a","kind":"status","conversation_id":"conv_1","mode":"human","handoff_id":"ho_1","agents":true}"#,
            ),
            (
                "b",
                Notice::Channel {
                    channel: "shop".into(),
                },
                r#"{"origin":"b","kind":"channel","channel":"shop"}"#,
            ),
            (
                "c",
                Notice::Handoff {
                    handoff_id: "ho_1".into(),
                },
                r#"{"origin":"c","kind":"handoff","handoff_id":"ho_1"}"#,
            ),
        ];
        for (origin, notice, expected) in notices {
            let wire = serde_json::to_string(&Envelope {
                origin: origin.into(),
                notice: notice.clone(),
            })
            .expect("encode");
            assert_eq!(wire, expected);
            let back: Envelope = serde_json::from_str(&wire).expect("decode");
            assert_eq!((back.origin.as_str(), back.notice), (origin, notice));
        }
    }
}
