//! Conversations: who the customer is, which channel, and whether the assistant may reply.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sqlx::{AssertSqlSafe, Row};

use super::{Store, StoreError, new_id, now};

/// Who answers a conversation: the assistant, or only humans.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Ai,
    Human,
}

impl Mode {
    fn as_str(self) -> &'static str {
        match self {
            Mode::Ai => "ai",
            Mode::Human => "human",
        }
    }
    fn parse(s: &str) -> Self {
        if s == "human" { Mode::Human } else { Mode::Ai }
    }
}

/// What the host site or the customer told us about the customer.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Customer {
    pub name: Option<String>,
    pub email: Option<String>,
    pub external_id: Option<String>,
}

/// A stored conversation.
#[derive(Debug, Clone, Serialize)]
pub struct Conversation {
    pub id: String,
    pub channel: String,
    pub locale: Option<String>,
    pub customer: Customer,
    /// The customer id or email the conversation is verified as, if any.
    pub verified_as: Option<String>,
    pub mode: Mode,
    pub created_at: String,
}

impl Conversation {
    /// Who answers the customer's messages: a human-only channel keeps every conversation on
    /// it human.
    pub fn mode_shown(&self, channel_human_only: bool) -> Mode {
        if channel_human_only {
            Mode::Human
        } else {
            self.mode
        }
    }
}

/// What is needed to open a conversation.
#[derive(Debug, Clone)]
pub struct NewConversation {
    pub channel: String,
    pub locale: Option<String>,
    pub customer: Customer,
    pub verified_as: Option<String>,
    /// SHA-256 of the conversation token (the token itself is never stored).
    pub token_hash: String,
}

const COLUMNS: &str = "id, channel, locale, customer, verified_as, mode, created_at";

fn from_row(row: &sqlx::any::AnyRow) -> Result<Conversation, StoreError> {
    let customer: String = row.try_get("customer")?;
    let mode: String = row.try_get("mode")?;
    Ok(Conversation {
        id: row.try_get("id")?,
        channel: row.try_get("channel")?,
        locale: row.try_get("locale")?,
        customer: serde_json::from_str(&customer)?,
        verified_as: row.try_get("verified_as")?,
        mode: Mode::parse(&mode),
        created_at: row.try_get("created_at")?,
    })
}

impl Store {
    /// Stores a new conversation in AI mode.
    pub async fn create_conversation(
        &self,
        new: NewConversation,
    ) -> Result<Conversation, StoreError> {
        let conversation = Conversation {
            id: new_id("conv"),
            channel: new.channel,
            locale: new.locale,
            customer: new.customer,
            verified_as: new.verified_as,
            mode: Mode::Ai,
            created_at: now(),
        };
        sqlx::query("INSERT INTO conversations (id, token_hash, channel, locale, customer, verified_as, mode, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
            .bind(&conversation.id)
            .bind(&new.token_hash)
            .bind(&conversation.channel)
            .bind(&conversation.locale)
            .bind(serde_json::to_string(&conversation.customer)?)
            .bind(&conversation.verified_as)
            .bind(conversation.mode.as_str())
            .bind(&conversation.created_at)
            .execute(&mut *self.writer.acquire().await?)
            .await?;
        Ok(conversation)
    }

    /// One conversation by id.
    pub async fn conversation(&self, id: &str) -> Result<Option<Conversation>, StoreError> {
        self.conversation_where("id", id).await
    }

    /// A conversation with whether its channel is in human-only mode, in one read (a turn
    /// needs both, fresh, to know whether the assistant may answer).
    pub async fn conversation_and_channel_mode(
        &self,
        id: &str,
    ) -> Result<Option<(Conversation, bool)>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS}, COALESCE((SELECT human_only FROM channels \
             WHERE channels.name = conversations.channel), 0) AS channel_human_only \
             FROM conversations WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.reader)
        .await?;
        row.as_ref()
            .map(|row| {
                let human_only: i64 = row.try_get("channel_human_only")?;
                Ok((from_row(row)?, human_only != 0))
            })
            .transpose()
    }

    /// Those of `ids` that are conversations on `channel`.
    pub async fn conversations_on_channel(
        &self,
        channel: &str,
        ids: &[Arc<str>],
    ) -> Result<Vec<Conversation>, StoreError> {
        let mut found = Vec::new();
        // A few hundred ids a statement keeps under every backend's limit of parameters.
        for batch in ids.chunks(500) {
            let marks: Vec<String> = (2..batch.len() + 2).map(|n| format!("${n}")).collect();
            let sql = format!(
                "SELECT {COLUMNS} FROM conversations WHERE channel = $1 AND id IN ({})",
                marks.join(", ")
            );
            // Its text changes with the number of ids: not worth a prepared statement each.
            let query = batch.iter().fold(
                sqlx::query(AssertSqlSafe(sql))
                    .persistent(false)
                    .bind(channel),
                |q, id| q.bind(&**id),
            );
            for row in query.fetch_all(&self.reader).await? {
                found.push(from_row(&row)?);
            }
        }
        Ok(found)
    }

    /// The conversation a token hash belongs to.
    pub async fn conversation_for_token(
        &self,
        token_hash: &str,
    ) -> Result<Option<Conversation>, StoreError> {
        self.conversation_where("token_hash", token_hash).await
    }

    /// The conversation whose unique `column` (a name from this module) holds `value`.
    async fn conversation_where(
        &self,
        column: &'static str,
        value: &str,
    ) -> Result<Option<Conversation>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM conversations WHERE {column} = $1"
        )))
        .bind(value)
        .fetch_optional(&self.reader)
        .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Switches who answers the conversation; whether that changed its mode.
    pub async fn set_mode(&self, id: &str, mode: Mode) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE conversations SET mode = $1 WHERE id = $2 AND mode <> $1")
            .bind(mode.as_str())
            .bind(id)
            .execute(&mut *self.writer.acquire().await?)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}
