//! Locks by a pair of names, held across awaits: one per (conversation, client message id)
//! for retries, held from storing the message to the end of its turn, so a retry waits for
//! the first and then gets its stored outcome, not a turn half done; and one per conversation
//! for its turns, so a message sent while the reply to the one before is still being written
//! is answered after it, in order. Within one process: a retry or a message that reaches
//! another replica while the first turn runs still sees it half done.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
};

use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

type Key = (String, String);
type Locks = Arc<Mutex<HashMap<Key, Arc<AsyncMutex<()>>>>>;

/// The locks being held (or waited for), by name; the others are forgotten.
#[derive(Default)]
pub struct KeyedLocks(Locks);

/// A held lock; dropping it lets the next holder in.
pub struct Held {
    guard: Option<OwnedMutexGuard<()>>,
    key: Key,
    locks: Locks,
    /// Whether another held it when it was asked for.
    pub waited: bool,
}

impl KeyedLocks {
    /// Waits until nobody else holds the lock of (`first`, `second`), and takes it.
    pub async fn lock(&self, first: &str, second: &str) -> Held {
        let key = (first.to_owned(), second.to_owned());
        let lock = self
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(key.clone())
            .or_default()
            .clone();
        let (guard, waited) = match lock.clone().try_lock_owned() {
            Ok(guard) => (guard, false),
            Err(_) => (lock.lock_owned().await, true),
        };
        Held {
            guard: Some(guard),
            key,
            locks: self.0.clone(),
            waited,
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
        let locks = Arc::new(KeyedLocks::default());
        let first = locks.lock("c1", "m1").await;
        assert!(!first.waited);
        // Another message, or the same id in another conversation, does not wait.
        let other = locks.lock("c1", "m2").await;
        let elsewhere = locks.lock("c2", "m1").await;
        drop((other, elsewhere));
        let retry = tokio::spawn({
            let locks = locks.clone();
            async move {
                assert!(locks.lock("c1", "m1").await.waited);
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
