//! Durable storage: conversations, messages, articles, handoffs, channels, feedback and the
//! demo store, in an embedded SQLite database (WAL, `synchronous=FULL` but for the assistant's
//! replies, see [`writer`]) by default or in
//! PostgreSQL when several replicas share one truth. Both run the same queries through sqlx's
//! `Any` driver (`$n` placeholders, portable SQL), with one migration folder per backend
//! (`migrations/sqlite`, `migrations/postgres`) describing the same tables (but for the
//! message counter PostgreSQL keeps on each conversation for its numbering trigger, and its
//! whole unique constraint on client message ids, which older replicas name).
//!
//! Every write that acknowledges something to a caller is committed before it returns, so a
//! killed process loses nothing it has answered for. Writes that must not race (next message
//! number, opening a handoff, claiming one, one-time imports) lock or conditionally update a
//! row first, or number a message in the statement that inserts it (on SQLite, one more than
//! the conversation's last, under the one writer connection; on PostgreSQL its trigger
//! locks the conversation's row), which
//! serializes them on either backend, across replicas included.
//! A single write with `RETURNING` outside a transaction goes through `Writer::returning`,
//! which reads it to the end, so a failed commit is reported.

mod articles;
mod conversations;
mod demo_store;
mod handoffs;
mod messages;
mod reports;
mod writer;

use std::{path::Path, sync::Arc};

use sqlx::{
    AnyConnection, ConnectOptions, Connection, Executor, any::AnyPoolOptions,
    sqlite::SqliteConnectOptions,
};
use writer::Writer;

pub use articles::{Article, ArticleInput, Format};
pub use conversations::{Conversation, Customer, Mode, NewConversation};
pub use demo_store::{OrderRecords, SeedError};
pub use handoffs::{Handoff, HandoffReason, HandoffStatus, QueueConflict};
pub use messages::{ActionRecord, Appended, Citation, Message, NewMessage, Role};
pub use reports::{CitedArticle, HandoffQuestion, Summary};

/// Storage failures. Callers map them to a 503 (the database is a dependency).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored JSON is unreadable: {0}")]
    Json(#[from] serde_json::Error),
    #[error("cannot create data dir: {0}")]
    Io(#[from] std::io::Error),
}

/// The page cache of each SQLite connection: 512 KiB (128 pages) instead of SQLite's 2,000
/// KiB. The operating system caches the file as well, so a page missed here is a copy from
/// memory, not a disk read. A read connection drops its cache whenever another connection has
/// committed since its last read, which under load is before nearly every read; the writer's
/// holds what its inserts touch (the trees' upper pages, the latest leaves), and with SQLite's
/// default it grew by 1.5 MiB over a load run with 10,000 new conversations.
const PAGE_CACHE: &str = "PRAGMA cache_size = -512";

/// The embedded database's file in the data dir.
const DATABASE_FILE: &str = "frontdesk.db";

/// A handle to the database; cheap to clone.
///
/// Writes go through `writer` (see [`writer`]), reads through `reader`: on SQLite read-only
/// connections beside the one writer (WAL lets them read while it writes); on PostgreSQL the
/// same pool as the writer.
#[derive(Clone, Debug)]
pub struct Store {
    reader: sqlx::AnyPool,
    writer: Arc<Writer>,
}

impl Store {
    /// Connects to PostgreSQL when `database_url` is given, else opens (creating if needed)
    /// `frontdesk.db` in `data_dir`; then applies pending migrations.
    pub async fn open(database_url: Option<&str>, data_dir: &Path) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        match database_url {
            Some(url) => {
                let pool = AnyPoolOptions::new()
                    .max_connections(16)
                    .connect(url)
                    .await?;
                sqlx::migrate!("./migrations/postgres").run(&pool).await?;
                Ok(Self {
                    reader: pool.clone(),
                    writer: Arc::new(Writer::Pool(pool)),
                })
            }
            None => {
                std::fs::create_dir_all(data_dir)?;
                let file = SqliteConnectOptions::new().filename(data_dir.join(DATABASE_FILE));
                let url = file.clone().create_if_missing(true).to_url_lossy();
                let mut writer = AnyConnection::connect(url.as_str()).await?;
                // The commit that fills the log copies it back into the database, a few
                // milliseconds that every write queued behind it waits out. SQLite's default,
                // every 1,000 pages, does that about twice a second at 200 turns a second,
                // which is 1% of turns; every 4,000 pages (a 16 MB log, one table of its
                // index) it is four times rarer, and in most load runs it took no longer.
                writer
                    .execute(
                        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; \
                         PRAGMA wal_autocheckpoint = 4000",
                    )
                    .await?;
                writer.execute(PAGE_CACHE).await?;
                sqlx::migrate!("./migrations/sqlite")
                    .run(&mut writer)
                    .await?;
                // A migration that copies a table logs all of it; the log file would keep that
                // size on the disk. Nothing else writes yet, so it is checked in and emptied.
                writer.execute("PRAGMA wal_checkpoint(TRUNCATE)").await?;
                // `mode=ro`: with `create_if_missing` the URL would ask for read-write instead.
                let reader = AnyPoolOptions::new()
                    .max_connections(4)
                    .test_before_acquire(false)
                    .after_connect(|connection, _| {
                        Box::pin(async move {
                            connection.execute(PAGE_CACHE).await?;
                            Ok(())
                        })
                    })
                    .connect(file.read_only(true).to_url_lossy().as_str())
                    .await?;
                Ok(Self {
                    reader,
                    // SQLite's log beside the database, which the writer syncs replies in.
                    writer: Arc::new(Writer::sqlite(
                        writer,
                        data_dir.join(format!("{DATABASE_FILE}-wal")),
                    )),
                })
            }
        }
    }

    /// Syncs to the disk what replies committed without waiting for it (see [`writer`]); for
    /// the end of the service.
    pub async fn sync_deferred(&self) {
        self.writer.sync_deferred().await;
    }

    /// Whether the database answers, on a read connection and on the writer (for `/readyz`).
    pub async fn ping(&self) -> bool {
        let write = async {
            let mut connection = self.writer.acquire().await?;
            connection.ping().await
        };
        matches!(
            tokio::join!(sqlx::query("SELECT 1").execute(&self.reader), write),
            (Ok(_), Ok(()))
        )
    }

    /// Sends a PostgreSQL notification to every replica listening on `channel` (payloads stay
    /// under PostgreSQL's 8,000-byte limit: ids, not documents).
    pub async fn notify(&self, channel: &str, payload: &str) -> Result<(), StoreError> {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(channel)
            .bind(payload)
            .execute(&self.reader)
            .await?;
        Ok(())
    }

    /// Reads a value from the store's own key/value table.
    pub async fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar("SELECT value FROM meta WHERE key = $1")
            .bind(key)
            .fetch_optional(&self.reader)
            .await?)
    }

    /// Whether a channel is switched to human-only.
    pub async fn channel_human_only(&self, name: &str) -> Result<bool, StoreError> {
        let flag: Option<i64> =
            sqlx::query_scalar("SELECT human_only FROM channels WHERE name = $1")
                .bind(name)
                .fetch_optional(&self.reader)
                .await?;
        Ok(flag.unwrap_or(0) != 0)
    }

    /// Records a customer's rating of the conversation (or of one reply).
    pub async fn add_feedback(
        &self,
        conversation_id: &str,
        message_id: Option<&str>,
        rating: &str,
        comment: Option<&str>,
    ) -> Result<(), StoreError> {
        let mut writer = self.writer.acquire().await?;
        let mut tx = writer.begin().await?;
        // One rating per reply (or per conversation, without one): a change of mind replaces it.
        // The conversation's row is written first, so two ratings at once take turns
        // (PostgreSQL's row lock; SQLite has one writer anyway).
        sqlx::query("UPDATE conversations SET channel = channel WHERE id = $1")
            .bind(conversation_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "DELETE FROM feedback WHERE conversation_id = $1 AND message_id IS NOT DISTINCT FROM $2",
        )
        .bind(conversation_id)
        .bind(message_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("INSERT INTO feedback (id, conversation_id, message_id, rating, comment, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(new_id("fb"))
            .bind(conversation_id)
            .bind(message_id)
            .bind(rating)
            .bind(comment)
            .bind(now())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Marks a one-time job (`key` in the meta table) as done inside `tx`; false when it already
/// was. A concurrent claimer waits on the row and then gets false, so exactly one replica runs
/// the job.
async fn claim_once(tx: &mut sqlx::AnyConnection, key: &str) -> Result<bool, StoreError> {
    let done =
        sqlx::query("INSERT INTO meta (key, value) VALUES ($1, '1') ON CONFLICT (key) DO NOTHING")
            .bind(key)
            .execute(&mut *tx)
            .await?;
    Ok(done.rows_affected() == 1)
}

/// The current time as an RFC 3339 UTC string (the API's time format).
pub fn now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// A new opaque id with a readable prefix, e.g. `conv_019af3...`: a UUID whose first 48 bits
/// are the time in milliseconds (version 7; 74 bits are random). Ids made in turn sort in
/// turn, so a new row's key goes at the end of its index, and the index pages a stretch of
/// writes changes are a few at its end, not one anywhere in it per row: with 100,000 messages
/// stored, 400 turns changed 103 distinct pages against 2,113 with random ids, which is what
/// a checkpoint copies into the database.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::now_v7().simple())
}

/// A channel and whether only humans answer on it.
#[derive(Debug, Clone, serde::Serialize, PartialEq)]
pub struct Channel {
    pub name: String,
    pub human_only: bool,
}

impl Store {
    /// Every channel that has a setting or a conversation.
    pub async fn channels(&self) -> Result<Vec<Channel>, StoreError> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT name, human_only FROM channels
             UNION SELECT DISTINCT channel, 0 FROM conversations WHERE channel NOT IN (SELECT name FROM channels)
             ORDER BY 1",
        )
        .fetch_all(&self.reader)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(name, flag)| Channel {
                name,
                human_only: flag != 0,
            })
            .collect())
    }

    /// Switches a channel to (or from) human-only; whether that changed it for its chats.
    pub async fn set_channel(
        &self,
        name: &str,
        human_only: bool,
    ) -> Result<(Channel, bool), StoreError> {
        let flag = i64::from(human_only);
        let mut writer = self.writer.acquire().await?;
        let mut tx = writer.begin().await?;
        let updated =
            sqlx::query("UPDATE channels SET human_only = $2 WHERE name = $1 AND human_only <> $2")
                .bind(name)
                .bind(flag)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        // A channel set for the first time changes its chats only when it goes human-only.
        let inserted = sqlx::query(
            "INSERT INTO channels (name, human_only) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(flag)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        let changed = updated == 1 || (inserted == 1 && human_only);
        let channel = Channel {
            name: name.to_owned(),
            human_only,
        };
        Ok((channel, changed))
    }
}

#[cfg(test)]
impl Store {
    /// Closes the read connections, so that every read fails as with a database gone.
    pub(crate) async fn close_reads(&self) {
        self.reader.close().await;
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A store in a folder of its own (removed when dropped), with one conversation.
    pub(crate) async fn store_with_a_conversation() -> (tempfile::TempDir, Store, Conversation) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(None, dir.path()).await.expect("store");
        let conversation = store
            .create_conversation(NewConversation {
                channel: "web".into(),
                locale: None,
                customer: Default::default(),
                verified_as: None,
                token_hash: "hash".into(),
            })
            .await
            .expect("conversation");
        (dir, store, conversation)
    }

    /// Ids made in turn sort in turn (within a millisecond too), and stay unique.
    #[test]
    fn new_ids_sort_in_the_order_they_were_made() {
        let ids: Vec<String> = (0..2_000).map(|_| new_id("msg")).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted, ids);
        assert!(
            ids[0].starts_with("msg_") && ids[0].len() == 4 + 32,
            "{}",
            ids[0]
        );
    }

    /// The embedded database logs ahead, commits to the disk, and checks its log back in
    /// every 4,000 pages, on the connection every write goes through.
    #[tokio::test]
    async fn sqlite_writes_durably_through_a_log_checked_in_every_4000_pages() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(None, dir.path()).await.expect("store");
        let mut writer = store.writer.acquire().await.expect("writer");
        let journal: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&mut *writer)
            .await
            .expect("journal mode");
        let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(&mut *writer)
            .await
            .expect("synchronous");
        let checkpoint: i64 = sqlx::query_scalar("PRAGMA wal_autocheckpoint")
            .fetch_one(&mut *writer)
            .await
            .expect("checkpoint interval");
        assert_eq!(
            (journal.as_str(), synchronous, checkpoint),
            ("wal", 2, 4000)
        );
    }

    /// Every connection, the four for reading and the writer, keeps a page cache of 512 KiB.
    #[tokio::test]
    async fn sqlite_connections_keep_a_512_kib_page_cache() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(None, dir.path()).await.expect("store");
        let mut reads = Vec::new();
        for _ in 0..4 {
            reads.push(store.reader.acquire().await.expect("read connection"));
        }
        for read in &mut reads {
            let cache: i64 = sqlx::query_scalar("PRAGMA cache_size")
                .fetch_one(&mut **read)
                .await
                .expect("reader cache size");
            assert_eq!(cache, -512);
        }
        let mut writer = store.writer.acquire().await.expect("writer");
        let cache: i64 = sqlx::query_scalar("PRAGMA cache_size")
            .fetch_one(&mut *writer)
            .await
            .expect("writer cache size");
        assert_eq!(cache, -512);
    }
}
