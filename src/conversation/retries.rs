//! Retries of a message while its first turn still runs: one lock per (conversation, client
//! message id), held from storing the message to the end of its turn, so a retry waits for
//! the first and then gets its stored outcome, not a turn half done. Within one process: a
//! retry that reaches another replica while the first turn runs still sees it half done.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
};

use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

type Key = (String, String);
type Locks = Arc<Mutex<HashMap<Key, Arc<AsyncMutex<()>>>>>;

/// The locks of the messages whose turns are running (or waited for).
#[derive(Default)]
pub struct RetryLocks(Locks);

/// A held lock; dropping it lets the next retry of the same message in.
pub struct Held {
    guard: Option<OwnedMutexGuard<()>>,
    key: Key,
    locks: Locks,
}

impl RetryLocks {
    /// Waits until no other request for this message holds its lock, and takes it.
    pub async fn lock(&self, conversation_id: &str, client_message_id: &str) -> Held {
        let key = (conversation_id.to_owned(), client_message_id.to_owned());
        let lock = self
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(key.clone())
            .or_default()
            .clone();
        Held {
            guard: Some(lock.lock_owned().await),
            key,
            locks: self.0.clone(),
        }
    }

    #[cfg(test)]
    fn is_empty(&self) -> bool {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_empty()
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        drop(self.guard.take());
        let mut locks = self.locks.lock().unwrap_or_else(PoisonError::into_inner);
        // Only the map holds it: nobody waits, so forget it.
        if locks
            .get(&self.key)
            .is_some_and(|lock| Arc::strong_count(lock) == 1)
        {
            locks.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn a_retry_waits_for_the_first_and_the_lock_is_forgotten_after() {
        let locks = Arc::new(RetryLocks::default());
        let first = locks.lock("c1", "m1").await;
        // Another message, or the same id in another conversation, does not wait.
        let other = locks.lock("c1", "m2").await;
        let elsewhere = locks.lock("c2", "m1").await;
        drop((other, elsewhere));
        let retry = tokio::spawn({
            let locks = locks.clone();
            async move {
                let _held = locks.lock("c1", "m1").await;
            }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!retry.is_finished(), "the retry waits");
        drop(first);
        tokio::time::timeout(Duration::from_secs(5), retry)
            .await
            .expect("the retry gets in")
            .expect("no panic");
        assert!(locks.is_empty());
    }
}
