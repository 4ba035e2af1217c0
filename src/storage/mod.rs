//! Durable storage: conversations, messages, articles, handoffs, channels and feedback in an
//! embedded SQLite database (WAL, `synchronous=FULL`), with versioned migrations from
//! `migrations/`.
//!
//! Every write that acknowledges something to a caller is committed before it returns, so a
//! killed process loses nothing it has answered for.

mod articles;
mod conversations;
mod demo_store;
mod handoffs;
mod messages;
mod reports;

use std::{path::Path, str::FromStr, time::Duration};

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

pub use articles::{Article, ArticleInput, Format};
pub use conversations::{Conversation, Customer, Mode, NewConversation};
pub use demo_store::{OrderRecords, SeedError};
pub use handoffs::{Handoff, HandoffReason, HandoffStatus, QueueConflict};
pub use messages::{ActionRecord, Appended, Citation, Message, NewMessage, Role};
pub use reports::{Counted, Summary};

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

/// A handle to the database; cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pool: sqlx::SqlitePool,
}

impl Store {
    /// Opens (creating if needed) `frontdesk.db` in `data_dir` and applies pending migrations.
    pub async fn open(data_dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(data_dir)?;
        let path = data_dir.join("frontdesk.db");
        let options = SqliteConnectOptions::from_str("sqlite://")?
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(5))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        Ok(Self { pool })
    }

    /// Whether the database answers (for `/readyz`).
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }

    /// Reads a value from the store's own key/value table.
    pub async fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar("SELECT value FROM meta WHERE key = ?")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Writes a value to the store's own key/value table.
    pub async fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value")
            .bind(key)
            .bind(value)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Whether a channel is switched to human-only.
    pub async fn channel_human_only(&self, name: &str) -> Result<bool, StoreError> {
        let flag: Option<i64> =
            sqlx::query_scalar("SELECT human_only FROM channels WHERE name = ?")
                .bind(name)
                .fetch_optional(&self.pool)
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
        sqlx::query("INSERT INTO feedback (id, conversation_id, message_id, rating, comment, created_at) VALUES (?, ?, ?, ?, ?, ?)")
            .bind(new_id("fb"))
            .bind(conversation_id)
            .bind(message_id)
            .bind(rating)
            .bind(comment)
            .bind(now())
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

/// The current time as an RFC 3339 UTC string (the API's time format).
pub fn now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// A new opaque id with a readable prefix, e.g. `conv_3f2a...`.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::new_v4().simple())
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
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(name, flag)| Channel {
                name,
                human_only: flag != 0,
            })
            .collect())
    }

    /// Switches a channel to (or from) human-only.
    pub async fn set_channel(&self, name: &str, human_only: bool) -> Result<Channel, StoreError> {
        sqlx::query(
            "INSERT INTO channels (name, human_only) VALUES (?, ?)
             ON CONFLICT(name) DO UPDATE SET human_only = excluded.human_only",
        )
        .bind(name)
        .bind(i64::from(human_only))
        .execute(&self.pool)
        .await?;
        Ok(Channel {
            name: name.to_owned(),
            human_only,
        })
    }
}
