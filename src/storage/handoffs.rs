//! Handoffs: a conversation waiting for, or held by, a human agent.

use serde::{Deserialize, Serialize};
use sqlx::{AssertSqlSafe, Row};

use super::{Store, StoreError, new_id, now};

/// Where a handoff is in the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HandoffStatus {
    Waiting,
    Claimed,
    Resolved,
    Released,
}

impl HandoffStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            HandoffStatus::Waiting => "waiting",
            HandoffStatus::Claimed => "claimed",
            HandoffStatus::Resolved => "resolved",
            HandoffStatus::Released => "released",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "waiting" => Some(HandoffStatus::Waiting),
            "claimed" => Some(HandoffStatus::Claimed),
            "resolved" => Some(HandoffStatus::Resolved),
            "released" => Some(HandoffStatus::Released),
            _ => None,
        }
    }
}

/// Why the assistant stepped aside.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HandoffReason {
    CustomerRequest,
    LowConfidence,
    Frustration,
    RepeatedFailure,
    LlmUnavailable,
    ActionFailed,
    Policy,
}

impl HandoffReason {
    pub const ALL: [HandoffReason; 7] = [
        HandoffReason::CustomerRequest,
        HandoffReason::LowConfidence,
        HandoffReason::Frustration,
        HandoffReason::RepeatedFailure,
        HandoffReason::LlmUnavailable,
        HandoffReason::ActionFailed,
        HandoffReason::Policy,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            HandoffReason::CustomerRequest => "customer_request",
            HandoffReason::LowConfidence => "low_confidence",
            HandoffReason::Frustration => "frustration",
            HandoffReason::RepeatedFailure => "repeated_failure",
            HandoffReason::LlmUnavailable => "llm_unavailable",
            HandoffReason::ActionFailed => "action_failed",
            HandoffReason::Policy => "policy",
        }
    }
    fn parse(s: &str) -> Self {
        Self::ALL
            .into_iter()
            .find(|reason| reason.as_str() == s)
            .unwrap_or(HandoffReason::Policy)
    }
}

/// A stored handoff, as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Handoff {
    pub id: String,
    pub conversation_id: String,
    pub status: HandoffStatus,
    pub reason: HandoffReason,
    pub summary: String,
    pub created_at: String,
    pub claimed_by: Option<String>,
}

const COLUMNS: &str = "id, conversation_id, status, reason, summary, created_at, claimed_by";

fn from_row(row: &sqlx::any::AnyRow) -> Result<Handoff, StoreError> {
    let status: String = row.try_get("status")?;
    let reason: String = row.try_get("reason")?;
    Ok(Handoff {
        id: row.try_get("id")?,
        conversation_id: row.try_get("conversation_id")?,
        status: HandoffStatus::parse(&status).unwrap_or(HandoffStatus::Waiting),
        reason: HandoffReason::parse(&reason),
        summary: row.try_get("summary")?,
        created_at: row.try_get("created_at")?,
        claimed_by: row.try_get("claimed_by")?,
    })
}

impl Store {
    /// Opens a handoff and puts the conversation in human mode, unless one is already open
    /// (waiting or claimed), which is returned instead. `message_id` is the customer message
    /// that triggered it, if any.
    pub async fn open_handoff(
        &self,
        conversation_id: &str,
        reason: HandoffReason,
        summary: &str,
        message_id: Option<&str>,
    ) -> Result<(Handoff, bool), StoreError> {
        let mut writer = self.writer.acquire().await?;
        let mut tx = writer.begin().await?;
        // Writing first takes the write lock, so two openers cannot both insert.
        sqlx::query("UPDATE conversations SET mode = 'human' WHERE id = $1")
            .bind(conversation_id)
            .execute(&mut *tx)
            .await?;
        let open = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM handoffs WHERE conversation_id = $1 AND status IN ('waiting', 'claimed')"
        )))
        .bind(conversation_id)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(row) = open {
            tx.commit().await?;
            return Ok((from_row(&row)?, false));
        }
        let at = now();
        let handoff = Handoff {
            id: new_id("ho"),
            conversation_id: conversation_id.to_owned(),
            status: HandoffStatus::Waiting,
            reason,
            summary: summary.to_owned(),
            created_at: at.clone(),
            claimed_by: None,
        };
        sqlx::query("INSERT INTO handoffs (id, conversation_id, status, reason, summary, message_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
            .bind(&handoff.id)
            .bind(conversation_id)
            .bind(handoff.status.as_str())
            .bind(reason.as_str())
            .bind(summary)
            .bind(message_id)
            .bind(&at)
            .bind(&at)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok((handoff, true))
    }

    /// The open (waiting or claimed) handoff of a conversation.
    pub async fn open_handoff_of(
        &self,
        conversation_id: &str,
    ) -> Result<Option<Handoff>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM handoffs WHERE conversation_id = $1 AND status IN ('waiting', 'claimed')"
        )))
        .bind(conversation_id)
        .fetch_optional(&self.reader)
        .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// The handoff a customer message triggered, if any.
    pub async fn handoff_for_message(
        &self,
        message_id: &str,
    ) -> Result<Option<Handoff>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM handoffs WHERE message_id = $1"
        )))
        .bind(message_id)
        .fetch_optional(&self.reader)
        .await?;
        row.as_ref().map(from_row).transpose()
    }
}

/// Why a queue operation did not happen.
#[derive(Debug, Clone, PartialEq)]
pub enum QueueConflict {
    /// No handoff with this id.
    Missing,
    /// Held by another agent (named), or already closed.
    Taken(Handoff),
}

impl Store {
    /// Handoffs in a state, oldest first.
    pub async fn handoffs(&self, status: HandoffStatus) -> Result<Vec<Handoff>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM handoffs WHERE status = $1 ORDER BY created_at, id"
        )))
        .bind(status.as_str())
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(from_row).collect()
    }

    /// One handoff by id.
    pub async fn handoff(&self, id: &str) -> Result<Option<Handoff>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM handoffs WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.reader)
        .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Replaces an open handoff's summary (the model's, written once the handoff is open; the
    /// built-in one brought up to date), only while it is still `replacing` when given (the
    /// model may have written its own meanwhile); `None` when it was not replaced, or the
    /// handoff was closed meanwhile (its announcement would bring it back).
    pub async fn set_handoff_summary(
        &self,
        id: &str,
        summary: &str,
        replacing: Option<&str>,
    ) -> Result<Option<Handoff>, StoreError> {
        let unchanged = if replacing.is_some() {
            " AND summary = $3"
        } else {
            ""
        };
        let mut update = sqlx::query(AssertSqlSafe(format!(
            "UPDATE handoffs SET summary = $1 WHERE id = $2 AND status IN ('waiting', 'claimed'){unchanged} \
             RETURNING {COLUMNS}"
        )))
        .bind(summary)
        .bind(id);
        if let Some(replacing) = replacing {
            update = update.bind(replacing);
        }
        self.writer
            .returning(update)
            .await?
            .as_ref()
            .map(from_row)
            .transpose()
    }

    /// Claims a waiting handoff for `agent` with one conditional update, so of two agents
    /// claiming at once exactly one wins. Claiming again by the holder succeeds.
    pub async fn claim_handoff(
        &self,
        id: &str,
        agent: &str,
    ) -> Result<Result<Handoff, QueueConflict>, StoreError> {
        let claim = sqlx::query(AssertSqlSafe(format!(
            "UPDATE handoffs SET status = 'claimed', claimed_by = $1, updated_at = $2
             WHERE id = $3 AND (status = 'waiting' OR (status = 'claimed' AND claimed_by = $1))
             RETURNING {COLUMNS}"
        )))
        .bind(agent)
        .bind(now())
        .bind(id);
        match self.writer.returning(claim).await? {
            Some(row) => Ok(Ok(from_row(&row)?)),
            None => self.conflict(id).await,
        }
    }

    /// Closes an open handoff as resolved or released and hands the conversation back to the
    /// assistant.
    pub async fn close_handoff(
        &self,
        id: &str,
        to: HandoffStatus,
    ) -> Result<Result<Handoff, QueueConflict>, StoreError> {
        let mut writer = self.writer.acquire().await?;
        let mut tx = writer.begin().await?;
        // The conversation's row first, as every write that opens or releases its handoffs
        // takes them: on PostgreSQL, two that took the rows in turn the other way round
        // would deadlock. (Undone below when the handoff is not open.)
        sqlx::query(
            "UPDATE conversations SET mode = 'ai' \
             WHERE id = (SELECT conversation_id FROM handoffs WHERE id = $1)",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let closed = sqlx::query(AssertSqlSafe(format!(
            "UPDATE handoffs SET status = $1, updated_at = $2
             WHERE id = $3 AND status IN ('waiting', 'claimed') RETURNING {COLUMNS}"
        )))
        .bind(to.as_str())
        .bind(now())
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = closed else {
            tx.rollback().await?;
            return self.conflict(id).await;
        };
        tx.commit().await?;
        Ok(Ok(from_row(&row)?))
    }

    /// Hands a conversation back to the assistant and releases its open handoff, if any, in
    /// one transaction: a handoff opened meanwhile (which sets the conversation to human
    /// mode first, as this sets it back first) is released too, never left waiting beside an
    /// assistant that answers. Whether the mode changed, and the handoff released.
    pub async fn return_to_assistant(
        &self,
        conversation_id: &str,
    ) -> Result<(bool, Option<Handoff>), StoreError> {
        let mut writer = self.writer.acquire().await?;
        let mut tx = writer.begin().await?;
        let changed =
            sqlx::query("UPDATE conversations SET mode = 'ai' WHERE id = $1 AND mode <> 'ai'")
                .bind(conversation_id)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                == 1;
        let released = sqlx::query(AssertSqlSafe(format!(
            "UPDATE handoffs SET status = 'released', updated_at = $1
             WHERE conversation_id = $2 AND status IN ('waiting', 'claimed') RETURNING {COLUMNS}"
        )))
        .bind(now())
        .bind(conversation_id)
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok((changed, released.as_ref().map(from_row).transpose()?))
    }

    /// Why a queue update matched no row: no such handoff, or someone else's / closed.
    async fn conflict(&self, id: &str) -> Result<Result<Handoff, QueueConflict>, StoreError> {
        Ok(Err(match self.handoff(id).await? {
            None => QueueConflict::Missing,
            Some(h) => QueueConflict::Taken(h),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{Mode, tests::store_with_a_conversation};

    /// Back to the assistant, the open handoff is released in the same write: the queue has
    /// nothing left for the conversation; a second time, nothing changes.
    #[tokio::test]
    async fn returning_to_the_assistant_releases_the_open_handoff() {
        let (_dir, store, conversation) = store_with_a_conversation().await;
        let id = conversation.id.as_str();
        let (opened, _) = store
            .open_handoff(id, HandoffReason::CustomerRequest, "", None)
            .await
            .expect("handoff");
        let released = store.return_to_assistant(id).await.expect("return");
        assert!(
            matches!(&released, (true, Some(h)) if h.id == opened.id && h.status == HandoffStatus::Released),
            "{released:?}"
        );
        let mode = store.conversation(id).await.expect("read").map(|c| c.mode);
        assert_eq!(mode, Some(Mode::Ai));
        assert!(store.open_handoff_of(id).await.expect("read").is_none());
        // Nothing changed, nothing left to release.
        assert!(matches!(
            store.return_to_assistant(id).await,
            Ok((false, None))
        ));
    }
}
