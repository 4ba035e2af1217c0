//! Messages of a conversation, numbered by `seq`, idempotent on the client's message id.

use serde::{Deserialize, Serialize};
use sqlx::{AssertSqlSafe, Row};

use super::{Store, StoreError, new_id, now, writer::Durability};

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Customer,
    Assistant,
    Agent,
    System,
}

impl Role {
    fn as_str(self) -> &'static str {
        match self {
            Role::Customer => "customer",
            Role::Assistant => "assistant",
            Role::Agent => "agent",
            Role::System => "system",
        }
    }
    fn parse(s: &str) -> Self {
        match s {
            "customer" => Role::Customer,
            "agent" => Role::Agent,
            "system" => Role::System,
            _ => Role::Assistant,
        }
    }
}

/// A help-center passage a reply relies on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Citation {
    pub article_id: String,
    pub title: String,
    pub url: Option<String>,
    pub snippet: String,
}

/// The outcome of one action run for a reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionRecord {
    pub name: String,
    pub ok: bool,
    pub result: serde_json::Value,
}

/// A stored message, as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Message {
    pub id: String,
    pub seq: i64,
    pub conversation_id: String,
    pub role: Role,
    pub text: String,
    pub created_at: String,
    pub citations: Vec<Citation>,
    pub actions: Vec<ActionRecord>,
    pub confidence: Option<f32>,
    pub author: Option<String>,
}

#[cfg(test)]
impl Message {
    /// A message for unit tests: only what the test cares about is set.
    pub fn for_test(seq: i64, role: Role, text: &str) -> Self {
        Self {
            id: format!("m{seq}"),
            seq,
            conversation_id: "c".into(),
            role,
            text: text.into(),
            created_at: String::new(),
            citations: Vec::new(),
            actions: Vec::new(),
            confidence: None,
            author: None,
        }
    }
}

/// A message to append (not a customer message: see [`Store::append_customer_message`]).
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub role: Role,
    pub text: String,
    pub citations: Vec<Citation>,
    pub actions: Vec<ActionRecord>,
    pub confidence: Option<f32>,
    pub author: Option<String>,
    /// The customer message this one answers.
    pub reply_to: Option<String>,
}

/// The outcome of storing a customer message.
#[derive(Debug, Clone)]
pub enum Appended {
    /// Stored now.
    New(Message),
    /// The same `client_message_id` was stored before; this is that message.
    Duplicate(Message),
}

const COLUMNS: &str =
    "id, seq, conversation_id, role, text, created_at, citations, actions, confidence, author";

fn from_row(row: &sqlx::any::AnyRow) -> Result<Message, StoreError> {
    let role: String = row.try_get("role")?;
    let citations: String = row.try_get("citations")?;
    let actions: String = row.try_get("actions")?;
    let confidence: Option<f64> = row.try_get("confidence")?;
    Ok(Message {
        id: row.try_get("id")?,
        seq: row.try_get("seq")?,
        conversation_id: row.try_get("conversation_id")?,
        role: Role::parse(&role),
        text: row.try_get("text")?,
        created_at: row.try_get("created_at")?,
        citations: serde_json::from_str(&citations)?,
        actions: serde_json::from_str(&actions)?,
        confidence: confidence.map(|c| c as f32),
        author: row.try_get("author")?,
    })
}

impl Store {
    /// Stores a customer message, once per `client_message_id`, and commits before returning.
    pub async fn append_customer_message(
        &self,
        conversation_id: &str,
        text: &str,
        client_message_id: Option<&str>,
    ) -> Result<Appended, StoreError> {
        let message = Message {
            id: new_id("msg"),
            seq: 0,
            conversation_id: conversation_id.to_owned(),
            role: Role::Customer,
            text: text.to_owned(),
            created_at: now(),
            citations: Vec::new(),
            actions: Vec::new(),
            confidence: None,
            author: None,
        };
        if let Some(seq) = self
            .insert(&message, client_message_id, None, Durability::Synced, false)
            .await?
        {
            return Ok(Appended::New(Message { seq, ..message }));
        }
        // Nothing inserted: the id was stored before (or the conversation is gone).
        let existing = match client_message_id {
            Some(key) => sqlx::query(AssertSqlSafe(format!(
                "SELECT {COLUMNS} FROM messages WHERE conversation_id = $1 AND client_message_id = $2"
            )))
            .bind(conversation_id)
            .bind(key)
            .fetch_optional(&self.reader)
            .await?,
            None => None,
        };
        let row = existing.ok_or(sqlx::Error::RowNotFound)?;
        Ok(Appended::Duplicate(from_row(&row)?))
    }

    /// Appends an assistant, agent or system message. An assistant's reply, which the service
    /// wrote itself, is committed without waiting for the disk ([`Durability::Deferred`]);
    /// what an agent writes is synced before this returns.
    pub async fn append_message(
        &self,
        conversation_id: &str,
        new: NewMessage,
    ) -> Result<Message, StoreError> {
        self.append(conversation_id, new, false)
            .await?
            .ok_or(sqlx::Error::RowNotFound.into())
    }

    /// Appends the assistant's reply to a turn, while the assistant still answers the
    /// conversation: None when people took it over since the turn began (an agent wrote or
    /// switched it to human mode, a handoff opened, its channel went human-only), as a reply
    /// after theirs would talk over them.
    pub async fn append_reply(
        &self,
        conversation_id: &str,
        new: NewMessage,
    ) -> Result<Option<Message>, StoreError> {
        self.append(conversation_id, new, true).await
    }

    async fn append(
        &self,
        conversation_id: &str,
        new: NewMessage,
        while_assistant_answers: bool,
    ) -> Result<Option<Message>, StoreError> {
        let durability = match new.role {
            Role::Assistant => Durability::Deferred,
            _ => Durability::Synced,
        };
        let message = Message {
            id: new_id("msg"),
            seq: 0,
            conversation_id: conversation_id.to_owned(),
            role: new.role,
            text: new.text,
            created_at: now(),
            citations: new.citations,
            actions: new.actions,
            confidence: new.confidence,
            author: new.author,
        };
        let seq = self
            .insert(
                &message,
                None,
                new.reply_to.as_deref(),
                durability,
                while_assistant_answers,
            )
            .await?;
        Ok(seq.map(|seq| Message { seq, ..message }))
    }

    /// Inserts `message` as its conversation's next, in one statement, and returns its
    /// number: on SQLite the statement's own (the one writer runs one statement at a time);
    /// on PostgreSQL the `messages_number` trigger numbers it again under the conversation's
    /// row lock, for replicas writing at once.
    /// None when nothing was inserted: the conversation does not exist, or
    /// `client_message_id` was stored before, or (`while_assistant_answers`) people answer
    /// the conversation now.
    async fn insert(
        &self,
        message: &Message,
        client_message_id: Option<&str>,
        reply_to: Option<&str>,
        durability: Durability,
        while_assistant_answers: bool,
    ) -> Result<Option<i64>, StoreError> {
        // Read in the statement that inserts, with the conversation's row locked, so no switch
        // falls between the check and the write (see `Writer::row_lock`).
        let assistant_answers = if while_assistant_answers {
            let lock = self.writer.row_lock();
            format!(
                " AND mode = 'ai' AND NOT EXISTS (SELECT 1 FROM channels \
                 WHERE channels.name = conversations.channel AND channels.human_only <> 0){lock}"
            )
        } else {
            String::new()
        };
        // A NULL double must not be bound: sqlx 0.9's Any driver sends it to PostgreSQL as a
        // float4, and the statement cached that way then rejects real values. Without a
        // confidence the column is left out (it defaults to NULL).
        let (column, mark) = match message.confidence {
            Some(_) => (", confidence", ", $11"),
            None => ("", ""),
        };
        let mut insert = sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO messages (id, conversation_id, seq, role, text, created_at, citations, actions, author, reply_to, client_message_id{column}) \
             SELECT $1, id, (SELECT COALESCE(MAX(seq), 0) + 1 FROM messages WHERE conversation_id = $2), \
             $3, $4, $5, $6, $7, $8, $9, $10{mark} FROM conversations WHERE id = $2{assistant_answers} \
             ON CONFLICT (conversation_id, client_message_id) WHERE client_message_id IS NOT NULL DO NOTHING RETURNING seq"
        )))
        .bind(&message.id)
        .bind(&message.conversation_id)
        .bind(message.role.as_str())
        .bind(&message.text)
        .bind(&message.created_at)
        .bind(serde_json::to_string(&message.citations)?)
        .bind(serde_json::to_string(&message.actions)?)
        .bind(&message.author)
        .bind(reply_to)
        .bind(client_message_id);
        if let Some(confidence) = message.confidence {
            insert = insert.bind(f64::from(confidence));
        }
        let row = self.writer.returning_as(durability, insert).await?;
        Ok(row.map(|row| row.try_get("seq")).transpose()?)
    }

    /// The number of a conversation's latest message (0 when it has none).
    pub async fn last_seq(&self, conversation_id: &str) -> Result<i64, StoreError> {
        let seq: Option<i64> =
            sqlx::query_scalar("SELECT MAX(seq) FROM messages WHERE conversation_id = $1")
                .bind(conversation_id)
                .fetch_one(&self.reader)
                .await?;
        Ok(seq.unwrap_or(0))
    }

    /// Messages after `after_seq`, in order.
    pub async fn messages(
        &self,
        conversation_id: &str,
        after_seq: i64,
    ) -> Result<Vec<Message>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM messages WHERE conversation_id = $1 AND seq > $2 ORDER BY seq"
        )))
        .bind(conversation_id)
        .bind(after_seq)
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(from_row).collect()
    }

    /// The last `limit` messages before `before_seq`, oldest first.
    pub async fn recent_messages(
        &self,
        conversation_id: &str,
        before_seq: i64,
        limit: usize,
    ) -> Result<Vec<Message>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM messages WHERE conversation_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3"
        )))
        .bind(conversation_id)
        .bind(before_seq)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.reader)
        .await?;
        let mut messages = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
        messages.reverse();
        Ok(messages)
    }

    /// One message by id.
    pub async fn message(&self, id: &str) -> Result<Option<Message>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM messages WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.reader)
        .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// The replies stored for one customer message, in order.
    pub async fn replies_to(&self, message_id: &str) -> Result<Vec<Message>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM messages WHERE reply_to = $1 ORDER BY seq"
        )))
        .bind(message_id)
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(from_row).collect()
    }
}

#[cfg(test)]
mod tests {
    use sqlx::{Connection, Executor};

    use super::*;
    use crate::storage::tests::store_with_a_conversation;

    /// A failed commit is an error, not a stored message: the insert commits when its
    /// statement finishes, after the row with its number is already out.
    #[tokio::test]
    async fn a_message_whose_commit_fails_is_an_error_and_not_stored() {
        let (_dir, store, conversation) = store_with_a_conversation().await;
        // A reference checked only at commit, which every message insert now breaks.
        let mut writer = store.writer.acquire().await.expect("writer");
        writer
            .execute(
                "CREATE TABLE checked_at_commit (id TEXT REFERENCES nowhere(id) DEFERRABLE INITIALLY DEFERRED);
                 CREATE TABLE nowhere (id TEXT PRIMARY KEY);
                 CREATE TRIGGER breaks_commit AFTER INSERT ON messages
                 BEGIN INSERT INTO checked_at_commit (id) VALUES ('missing'); END;",
            )
            .await
            .expect("test schema");
        drop(writer);

        let appended = store
            .append_customer_message(&conversation.id, "Hello?", None)
            .await;
        assert!(appended.is_err(), "{appended:?}");
        let reply = NewMessage {
            role: Role::Assistant,
            text: "Hi!".into(),
            citations: Vec::new(),
            actions: Vec::new(),
            confidence: Some(0.9),
            author: None,
            reply_to: None,
        };
        let appended = store.append_message(&conversation.id, reply).await;
        assert!(appended.is_err(), "{appended:?}");
        let stored = store.messages(&conversation.id, 0).await.expect("messages");
        assert!(stored.is_empty(), "{stored:?}");

        // Both were rolled back: the writer takes the next message, numbered 1.
        store
            .writer
            .acquire()
            .await
            .expect("writer")
            .execute("DROP TRIGGER breaks_commit")
            .await
            .expect("drop");
        let appended = store
            .append_customer_message(&conversation.id, "Hello again?", None)
            .await;
        assert!(
            matches!(&appended, Ok(Appended::New(m)) if m.seq == 1),
            "{appended:?}"
        );
    }

    /// A customer's message and an agent's are synced before they return; an assistant's
    /// reply is committed unsynced, and its log is synced by the next synced write or, when
    /// none comes, by the writer's task soon after. Any other write finds the connection
    /// syncing again.
    #[tokio::test]
    async fn a_reply_reaches_the_disk_with_the_next_synced_write_or_soon_after() {
        let (_dir, store, conversation) = store_with_a_conversation().await;
        let reply = |role: Role| NewMessage {
            role,
            text: "Hi!".into(),
            citations: Vec::new(),
            actions: Vec::new(),
            confidence: None,
            author: None,
            reply_to: None,
        };
        let wait = super::super::writer::SYNC_DEFERRED_AFTER * 10;

        store
            .append_customer_message(&conversation.id, "Hello?", None)
            .await
            .expect("message");
        assert_eq!(store.writer.sync_state().await, (2, false, 0));
        store
            .append_message(&conversation.id, reply(Role::Assistant))
            .await
            .expect("reply");
        assert_eq!(store.writer.sync_state().await.0, 1);
        tokio::time::sleep(wait).await;
        let (setting, pending, syncs) = store.writer.sync_state().await;
        // Two when the write itself took longer than the wait before a sync.
        assert_eq!((setting, pending, syncs.min(1)), (1, false, 1));

        // A reply, then a message: the message's sync covers the reply.
        store
            .append_message(&conversation.id, reply(Role::Assistant))
            .await
            .expect("reply");
        store
            .append_customer_message(&conversation.id, "Thanks", None)
            .await
            .expect("message");
        let (setting, pending, _) = store.writer.sync_state().await;
        assert_eq!((setting, pending), (2, false));
        // What is pending is synced at once at the service's end.
        store
            .append_message(&conversation.id, reply(Role::Assistant))
            .await
            .expect("reply");
        let syncs = store.writer.sync_state().await.2;
        store.sync_deferred().await;
        assert_eq!(store.writer.sync_state().await.2, syncs + 1);

        // An agent's message is synced; so is any other write after a reply.
        store
            .append_message(&conversation.id, reply(Role::Agent))
            .await
            .expect("agent message");
        assert_eq!(store.writer.sync_state().await.0, 2);
        store
            .append_message(&conversation.id, reply(Role::Assistant))
            .await
            .expect("reply");
        store.set_channel("web", true).await.expect("channel");
        assert_eq!(store.writer.sync_state().await.0, 2);
        let stored = store.messages(&conversation.id, 0).await.expect("messages");
        assert_eq!(stored.len(), 7);
    }

    /// A database from before messages were numbered by their own statement (migrations 1-5)
    /// keeps its messages and their numbers, still refuses a repeated client_message_id, and
    /// numbers the next message after its last; the look-ups by client_message_id and
    /// reply_to use the indexes that now hold only the messages that have one.
    #[tokio::test]
    async fn an_older_database_keeps_its_messages_numbers_and_duplicates_check() {
        let dir = tempfile::tempdir().expect("temp dir");
        let older = dir.path().join("migrations");
        std::fs::create_dir(&older).expect("folder");
        for entry in std::fs::read_dir("migrations/sqlite").expect("migrations") {
            let path = entry.expect("entry").path();
            let name = path
                .file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned();
            if name.as_str() < "0006" {
                std::fs::copy(&path, older.join(&name)).expect("copy");
            }
        }
        let file = dir.path().join(super::super::DATABASE_FILE);
        let url = format!("sqlite://{}?mode=rwc", file.display());
        let mut connection = sqlx::SqliteConnection::connect(&url)
            .await
            .expect("connect");
        let migrator = sqlx::migrate::Migrator::new(older.as_path())
            .await
            .expect("migrator");
        migrator.run(&mut connection).await.expect("older schema");
        connection
            .execute(
                "INSERT INTO conversations (id, token_hash, channel, last_seq, created_at)
                     VALUES ('conv_old', 'hash', 'web', 2, '2026-12-01T00:00:00Z');
                 INSERT INTO messages (id, conversation_id, seq, role, text, client_message_id, reply_to, created_at)
                     VALUES ('msg_1', 'conv_old', 1, 'customer', 'Where is my order?', 'c-1', NULL, '2026-12-01T00:00:01Z');
                 INSERT INTO messages (id, conversation_id, seq, role, text, citations, actions, confidence, author, reply_to, created_at)
                     VALUES ('msg_2', 'conv_old', 2, 'assistant', 'It ships today.',
                             '[{\"article_id\":\"art_1\",\"title\":\"Shipping\",\"url\":null,\"snippet\":\"ships\"}]',
                             '[{\"name\":\"order_status\",\"ok\":true,\"result\":{\"status\":\"packed\"}}]',
                             0.75, 'Sam', 'msg_1', '2026-12-01T00:00:02Z');",
            )
            .await
            .expect("older rows");
        connection.close().await.expect("close");

        let store = Store::open(None, dir.path()).await.expect("store");
        // The copy is checked in: the log does not keep its size on the disk.
        let log = std::fs::metadata(
            dir.path()
                .join(format!("{}-wal", super::super::DATABASE_FILE)),
        );
        assert_eq!(log.map(|m| m.len()).unwrap_or(0), 0);
        // Every column copied.
        let copied = store.message("msg_2").await.expect("read");
        let expected = Message {
            id: "msg_2".into(),
            seq: 2,
            conversation_id: "conv_old".into(),
            role: Role::Assistant,
            text: "It ships today.".into(),
            created_at: "2026-12-01T00:00:02Z".into(),
            citations: vec![Citation {
                article_id: "art_1".into(),
                title: "Shipping".into(),
                url: None,
                snippet: "ships".into(),
            }],
            actions: vec![ActionRecord {
                name: "order_status".into(),
                ok: true,
                result: serde_json::json!({"status": "packed"}),
            }],
            confidence: Some(0.75),
            author: Some("Sam".into()),
        };
        assert_eq!(copied, Some(expected));
        let again = store
            .append_customer_message("conv_old", "Where is my order?", Some("c-1"))
            .await
            .expect("repeat");
        assert!(
            matches!(&again, Appended::Duplicate(m) if m.id == "msg_1" && m.seq == 1),
            "{again:?}"
        );
        let next = store
            .append_customer_message("conv_old", "Thanks!", Some("c-2"))
            .await
            .expect("message");
        let Appended::New(next) = next else {
            panic!("{next:?}")
        };
        let reply = NewMessage {
            role: Role::Assistant,
            text: "You're welcome.".into(),
            citations: Vec::new(),
            actions: Vec::new(),
            confidence: None,
            author: None,
            reply_to: Some(next.id.clone()),
        };
        let reply = store
            .append_message("conv_old", reply)
            .await
            .expect("reply");
        assert_eq!((next.seq, reply.seq), (3, 4));
        let replies = store.replies_to("msg_1").await.expect("replies");
        assert_eq!(
            replies.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(),
            ["msg_2"]
        );
        let numbers: Vec<i64> = store
            .messages("conv_old", 0)
            .await
            .expect("messages")
            .iter()
            .map(|m| m.seq)
            .collect();
        assert_eq!(numbers, [1, 2, 3, 4]);

        // A number is still taken once in a conversation.
        let mut writer = store.writer.acquire().await.expect("writer");
        let taken = writer
            .execute(
                "INSERT INTO messages (id, conversation_id, seq, role, text, created_at)
                 VALUES ('msg_x', 'conv_old', 4, 'customer', 'Again', '2026-12-01T00:00:03Z')",
            )
            .await;
        assert!(taken.is_err(), "{taken:?}");
        for (query, keys, index) in [
            (
                "SELECT id FROM messages WHERE conversation_id = $1 AND client_message_id = $2",
                &["conv_old", "c-1"][..],
                "messages_client_message_id",
            ),
            (
                "SELECT id FROM messages WHERE reply_to = $1",
                &["msg_1"][..],
                "messages_reply_to",
            ),
            (
                "SELECT COALESCE(MAX(seq), 0) + 1 FROM messages WHERE conversation_id = $1",
                &["conv_old"][..],
                "(conversation_id=?)",
            ),
        ] {
            // With parameters, as the store asks: the planner must see that `= $n` is not NULL.
            let explain = format!("EXPLAIN QUERY PLAN {query}");
            let plan: Vec<(i64, i64, i64, String)> = keys
                .iter()
                .fold(sqlx::query_as(AssertSqlSafe(explain)), |q, key| {
                    q.bind(*key)
                })
                .fetch_all(&mut *writer)
                .await
                .expect("plan");
            assert!(
                plan.iter().any(|(.., detail)| detail.contains(index)),
                "{query}: {plan:?}"
            );
        }
    }
}
