//! The summary report for support leads: volume, how much the assistant resolved alone,
//! handoffs by reason, first-response time, feedback, the articles cited most and the
//! questions that most often ended with a person (what the knowledge base lacks).

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use sqlx::Row;

use super::{Citation, Store, StoreError};

/// Report rows shown in the lists.
const TOP: usize = 10;

/// The summary over a period.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Summary {
    pub since: String,
    pub conversations: i64,
    /// Conversations with at least one customer message.
    pub engaged: i64,
    /// Engaged conversations the assistant answered, with no handoff and no agent's message
    /// (a conversation switched to human mode without a handoff is not the assistant's).
    pub assistant_resolved: i64,
    /// `assistant_resolved / engaged` (0 when nothing is engaged).
    pub assistant_resolved_rate: f64,
    pub handoffs_by_reason: BTreeMap<String, i64>,
    /// Median time from a conversation's first customer message to its first reply, in ms.
    pub median_first_response_ms: Option<i64>,
    pub feedback_up: i64,
    pub feedback_down: i64,
    pub top_cited_articles: Vec<Counted>,
    pub top_handoff_questions: Vec<Counted>,
}

/// A label with how often it occurred.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Counted {
    pub label: String,
    pub count: i64,
}

fn top(counts: HashMap<String, i64>) -> Vec<Counted> {
    let mut list: Vec<Counted> = counts
        .into_iter()
        .map(|(label, count)| Counted { label, count })
        .collect();
    list.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.label.cmp(&b.label)));
    list.truncate(TOP);
    list
}

fn millis(rfc3339: &str) -> Option<i64> {
    let t = time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339)
        .ok()?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()
}

impl Store {
    /// The summary of conversations created at or after `since` (RFC 3339).
    pub async fn summary(&self, since: &str) -> Result<Summary, StoreError> {
        let conversations: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM conversations WHERE created_at >= $1")
                .bind(since)
                .fetch_one(&self.reader)
                .await?;
        let engaged: i64 = sqlx::query_scalar(
            "SELECT COUNT(DISTINCT c.id) FROM conversations c JOIN messages m ON m.conversation_id = c.id
             WHERE c.created_at >= $1 AND m.role = 'customer'",
        )
        .bind(since)
        .fetch_one(&self.reader)
        .await?;
        let assistant_resolved: i64 = sqlx::query_scalar(
            "SELECT COUNT(DISTINCT c.id) FROM conversations c JOIN messages m ON m.conversation_id = c.id
             WHERE c.created_at >= $1 AND m.role = 'customer'
               AND EXISTS (SELECT 1 FROM messages a WHERE a.conversation_id = c.id AND a.role = 'assistant')
               AND NOT EXISTS (SELECT 1 FROM messages g WHERE g.conversation_id = c.id AND g.role = 'agent')
               AND NOT EXISTS (SELECT 1 FROM handoffs h WHERE h.conversation_id = c.id)",
        )
        .bind(since)
        .fetch_one(&self.reader)
        .await?;
        let reasons: Vec<(String, i64)> = sqlx::query_as(
            "SELECT reason, COUNT(*) FROM handoffs WHERE created_at >= $1 GROUP BY reason",
        )
        .bind(since)
        .fetch_all(&self.reader)
        .await?;
        let firsts = sqlx::query(
            "SELECT
                (SELECT MIN(created_at) FROM messages WHERE conversation_id = c.id AND role = 'customer') AS asked,
                (SELECT MIN(created_at) FROM messages WHERE conversation_id = c.id AND role IN ('assistant', 'agent')) AS answered
             FROM conversations c WHERE c.created_at >= $1",
        )
        .bind(since)
        .fetch_all(&self.reader)
        .await?;
        let mut waits: Vec<i64> = Vec::new();
        for row in &firsts {
            let asked: Option<String> = row.try_get("asked")?;
            let answered: Option<String> = row.try_get("answered")?;
            if let (Some(a), Some(b)) = (
                asked.as_deref().and_then(millis),
                answered.as_deref().and_then(millis),
            ) {
                waits.push((b - a).max(0));
            }
        }
        waits.sort_unstable();
        let median_first_response_ms = match waits.len() {
            0 => None,
            n if n % 2 == 1 => Some(waits[n / 2]),
            n => Some((waits[n / 2 - 1] + waits[n / 2]) / 2),
        };
        let feedback: Vec<(String, i64)> = sqlx::query_as(
            "SELECT f.rating, COUNT(*) FROM feedback f JOIN conversations c ON c.id = f.conversation_id
             WHERE c.created_at >= $1 GROUP BY f.rating",
        )
        .bind(since)
        .fetch_all(&self.reader)
        .await?;
        let rating = |r: &str| feedback.iter().find(|(k, _)| k == r).map_or(0, |(_, n)| *n);
        let citations: Vec<String> = sqlx::query_scalar(
            "SELECT m.citations FROM messages m JOIN conversations c ON c.id = m.conversation_id
             WHERE c.created_at >= $1 AND m.role = 'assistant' AND m.citations != '[]'",
        )
        .bind(since)
        .fetch_all(&self.reader)
        .await?;
        let mut cited: HashMap<String, i64> = HashMap::new();
        for json in citations {
            let list: Vec<Citation> = serde_json::from_str(&json)?;
            for c in list {
                *cited.entry(c.title).or_default() += 1;
            }
        }
        // The question behind each handoff: the message that triggered it, else the
        // conversation's first customer message.
        let questions: Vec<Option<String>> = sqlx::query_scalar(
            "SELECT COALESCE(
                (SELECT text FROM messages WHERE id = h.message_id),
                (SELECT text FROM messages WHERE conversation_id = h.conversation_id AND role = 'customer' ORDER BY seq LIMIT 1))
             FROM handoffs h WHERE h.created_at >= $1",
        )
        .bind(since)
        .fetch_all(&self.reader)
        .await?;
        let mut asked: HashMap<String, i64> = HashMap::new();
        for q in questions.into_iter().flatten() {
            let normal = q
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .to_lowercase();
            *asked.entry(normal).or_default() += 1;
        }
        Ok(Summary {
            since: since.to_owned(),
            conversations,
            engaged,
            assistant_resolved,
            assistant_resolved_rate: if engaged == 0 {
                0.0
            } else {
                assistant_resolved as f64 / engaged as f64
            },
            handoffs_by_reason: reasons.into_iter().collect(),
            median_first_response_ms,
            feedback_up: rating("up"),
            feedback_down: rating("down"),
            top_cited_articles: top(cited),
            top_handoff_questions: top(asked),
        })
    }
}
