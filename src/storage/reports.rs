//! The summary report for support leads: volume, how much the assistant resolved alone,
//! handoffs by reason, first-response time, feedback, the articles cited most and the
//! questions that most often ended with a person (what the knowledge base lacks).
//!
//! Every figure is about the conversations started in the period (a cohort): their handoffs,
//! messages, citations and feedback, whenever those came.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;
use sqlx::Row;

use super::{Citation, Store, StoreError};
use crate::conversation;

/// Report rows shown in the lists.
const TOP: usize = 10;

/// The summary over a period.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Summary {
    pub since: String,
    pub conversations: i64,
    /// Conversations with at least one customer message.
    pub engaged: i64,
    /// Engaged conversations the assistant answered (a reply citing an article or carrying an
    /// action's facts: "I couldn't find an answer" is not one), with no handoff and no agent's
    /// message (a conversation switched to human mode without a handoff is not the
    /// assistant's).
    pub assistant_resolved: i64,
    /// `assistant_resolved / engaged` (0 when nothing is engaged).
    pub assistant_resolved_rate: f64,
    pub handoffs_by_reason: BTreeMap<String, i64>,
    /// Median time from a conversation's first customer message to its first reply, in ms.
    pub median_first_response_ms: Option<i64>,
    pub feedback_up: i64,
    pub feedback_down: i64,
    pub top_cited_articles: Vec<CitedArticle>,
    pub top_handoff_questions: Vec<HandoffQuestion>,
}

/// An article and how many replies cited it (counted by id: two articles may share a title).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CitedArticle {
    pub article_id: String,
    /// Its current title; for a deleted article, the title the latest citing reply showed.
    pub title: String,
    pub count: i64,
    /// Whether the article was deleted since (its replies still count: they were given).
    pub deleted: bool,
}

/// A customer question (as [`as_reported`] writes it) and how many handoffs it ended in.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct HandoffQuestion {
    pub question: String,
    pub count: i64,
}

/// Of a question in the report, this many characters at most, then "…".
const REPORTED_CHARS: usize = 200;

/// A question as the report lists it: case and spaces folded, and no one's details: email
/// addresses as "[email]", and a number of five digits or more, written as one word
/// ("NW-1046247") or across several ("+1 555 010 0123", "(555) 010-0123"), as "[number]"; so
/// the same question from two customers counts twice and a report shows what the knowledge
/// base lacks, not who asked. Cut after [`REPORTED_CHARS`] characters.
fn as_reported(question: &str) -> String {
    let digits = |word: &str| word.chars().filter(char::is_ascii_digit).count();
    // A word of digits and a phone number's marks only (a comma after it aside): a piece of
    // a longer number.
    let piece = |word: &str| {
        let word = word.trim_end_matches([',', ';', ':', '!', '?']);
        digits(word) > 0
            && word
                .chars()
                .all(|c| c.is_ascii_digit() || "+-().".contains(c))
    };
    let typed: Vec<&str> = question.split_whitespace().collect();
    let mut words: Vec<&str> = Vec::with_capacity(typed.len());
    let mut at = 0;
    while at < typed.len() {
        let pieces = typed[at..].iter().take_while(|w| piece(w)).count();
        if pieces > 0 {
            let run = &typed[at..at + pieces];
            match run.iter().map(|w| digits(w)).sum::<usize>() >= 5 {
                true => words.push("[number]"),
                false => words.extend_from_slice(run),
            }
            at += pieces;
            continue;
        }
        let word = typed[at];
        words.push(if word.contains('@') {
            "[email]"
        } else if digits(word) >= 5 {
            "[number]"
        } else {
            word
        });
        at += 1;
    }
    let folded = words.join(" ").to_lowercase();
    match folded.char_indices().nth(REPORTED_CHARS) {
        Some((end, _)) => format!("{}…", &folded[..end]),
        None => folded,
    }
}

/// The `TOP` most frequent keys, most frequent first, ties by key.
fn top<K: Ord>(counts: HashMap<K, i64>) -> Vec<(K, i64)> {
    let mut list: Vec<(K, i64)> = counts.into_iter().collect();
    list.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    list.truncate(TOP);
    list
}

/// The median of `values` (the mean of the middle two when their number is even).
fn median(mut values: Vec<i64>) -> Option<i64> {
    values.sort_unstable();
    let n = values.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(values[n / 2]),
        _ => Some((values[n / 2 - 1] + values[n / 2]) / 2),
    }
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
               AND EXISTS (SELECT 1 FROM messages a WHERE a.conversation_id = c.id AND a.role = 'assistant'
                           AND (a.citations <> '[]' OR a.actions <> '[]'))
               AND NOT EXISTS (SELECT 1 FROM messages g WHERE g.conversation_id = c.id AND g.role = 'agent')
               AND NOT EXISTS (SELECT 1 FROM handoffs h WHERE h.conversation_id = c.id)",
        )
        .bind(since)
        .fetch_one(&self.reader)
        .await?;
        let reasons: Vec<(String, i64)> = sqlx::query_as(
            "SELECT h.reason, COUNT(*) FROM handoffs h JOIN conversations c ON c.id = h.conversation_id
             WHERE c.created_at >= $1 GROUP BY h.reason",
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
             WHERE c.created_at >= $1 AND m.role = 'assistant' AND m.citations != '[]'
             ORDER BY m.created_at, m.seq",
        )
        .bind(since)
        .fetch_all(&self.reader)
        .await?;
        // Replies citing each article (a reply may cite several of its passages).
        let mut cited: HashMap<String, i64> = HashMap::new();
        let mut cited_titles: HashMap<String, String> = HashMap::new();
        for json in citations {
            let list: Vec<Citation> = serde_json::from_str(&json)?;
            let mut seen = HashSet::new();
            for c in list {
                if seen.insert(c.article_id.clone()) {
                    *cited.entry(c.article_id.clone()).or_default() += 1;
                }
                cited_titles.insert(c.article_id, c.title);
            }
        }
        let mut top_cited_articles = Vec::new();
        for (article_id, count) in top(cited) {
            let current: Option<String> =
                sqlx::query_scalar("SELECT title FROM articles WHERE id = $1")
                    .bind(&article_id)
                    .fetch_optional(&self.reader)
                    .await?;
            let deleted = current.is_none();
            let title = current
                .or_else(|| cited_titles.remove(&article_id))
                .unwrap_or_default();
            top_cited_articles.push(CitedArticle {
                article_id,
                title,
                count,
                deleted,
            });
        }
        // The question behind each handoff, by the summary's rule (the latest need up to the
        // message that led to it: `conversation::latest_need`); a handoff whose customer only
        // asked for a person says nothing of what is missing. Not a policy's (a human-only
        // channel or mode) either.
        let asked_before: Vec<(String, String)> = sqlx::query_as(
            "SELECT h.id, m.text FROM handoffs h
             JOIN conversations c ON c.id = h.conversation_id
             JOIN messages m ON m.conversation_id = h.conversation_id AND m.role = 'customer'
             WHERE c.created_at >= $1 AND h.reason <> 'policy'
               AND CASE WHEN h.message_id IS NULL THEN m.created_at <= h.created_at
                   ELSE m.seq <= (SELECT t.seq FROM messages t WHERE t.id = h.message_id) END
             ORDER BY h.id, m.seq",
        )
        .bind(since)
        .fetch_all(&self.reader)
        .await?;
        let mut asked: HashMap<String, i64> = HashMap::new();
        for texts in asked_before.chunk_by(|a, b| a.0 == b.0) {
            let Some(need) = conversation::latest_need(texts.iter().map(|(_, t)| t.as_str()))
            else {
                continue;
            };
            *asked.entry(as_reported(need)).or_default() += 1;
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
            median_first_response_ms: median(waits),
            feedback_up: rating("up"),
            feedback_down: rating("down"),
            top_cited_articles,
            top_handoff_questions: top(asked)
                .into_iter()
                .map(|(question, count)| HandoffQuestion { question, count })
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reported_question_names_no_one_and_is_short() {
        assert_eq!(
            as_reported(
                "Where is  my order NW-1046247? I'm Niamh.G@example.com, call +1 555 0100123"
            ),
            "where is my order [number] i'm [email] call [number]"
        );
        assert_eq!(
            as_reported("My number is (555) 010-0123, order from 2024 for 3 mugs"),
            "my number is [number] order from 2024 for 3 mugs"
        );
        assert_eq!(
            as_reported("Is there a Bitcoin ATM nearby?"),
            "is there a bitcoin atm nearby?"
        );
        let long = as_reported(&"🙂".repeat(4000));
        assert_eq!(long.chars().count(), REPORTED_CHARS + 1);
        assert!(long.ends_with("🙂…"));
    }
    use crate::storage::{
        Appended, ArticleInput, Customer, Format, HandoffReason, NewConversation, NewMessage, Role,
    };

    /// A new web conversation, the `i`th of a test.
    async fn new_conversation(store: &Store, i: usize) -> crate::storage::Conversation {
        store
            .create_conversation(NewConversation {
                channel: "web".into(),
                locale: None,
                customer: Customer::default(),
                verified_as: None,
                token_hash: format!("token {i}"),
            })
            .await
            .expect("conversation")
    }

    #[test]
    fn the_median_is_the_middle_value_or_the_mean_of_the_middle_two() {
        assert_eq!(median(vec![]), None);
        assert_eq!(median(vec![7]), Some(7));
        assert_eq!(median(vec![2500, 400, 1000]), Some(1000));
        assert_eq!(median(vec![3000, 400, 2500, 1000]), Some(1750));
    }

    /// Builds conversations with fixed times, then checks each figure against a count by hand.
    #[tokio::test]
    async fn the_summary_counts_the_conversations_started_in_the_period_by_hand() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(None, dir.path()).await.expect("store");
        let set_time = |table: &'static str, id: String, at: &'static str| {
            let store = store.clone();
            async move {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "UPDATE {table} SET created_at = $1 WHERE id = $2"
                )))
                .bind(at)
                .bind(id)
                .execute(&mut *store.writer.acquire().await.expect("writer"))
                .await
                .expect("set time");
            }
        };
        // Cited under two older titles; the report shows its current one.
        let stored = store
            .insert_articles(vec![ArticleInput {
                title: "Refunds, returns and exchanges".into(),
                body: "Refunds take 5 days.".into(),
                format: Format::Markdown,
                url: None,
                locale: None,
                tags: Vec::new(),
                source: None,
            }])
            .await
            .expect("article");
        let refunds = stored.articles[0].id.as_str();
        let cite = |id: &str, title: &str| Citation {
            article_id: id.to_owned(),
            title: title.to_owned(),
            url: None,
            snippet: String::new(),
        };
        // Started, asked, answered by, answered at, citations, handed off at.
        type Case = (
            &'static str,
            &'static str,
            Role,
            &'static str,
            Vec<Citation>,
            Option<&'static str>,
        );
        let cases: [Case; 5] = [
            // Waits 400 ms; cites two passages of the refunds article (one reply: counted
            // once) and one of two deleted articles titled "Shipping".
            (
                "2026-01-10T09:00:00Z",
                "2026-01-10T10:00:00.000Z",
                Role::Assistant,
                "2026-01-10T10:00:00.400Z",
                vec![
                    cite(refunds, "Refunds"),
                    cite(refunds, "Refunds"),
                    cite("art_ship_eu", "Shipping"),
                ],
                None,
            ),
            // Waits 1,000 ms for an agent after a handoff.
            (
                "2026-01-11T09:00:00Z",
                "2026-01-11T10:00:00.000Z",
                Role::Agent,
                "2026-01-11T10:00:01.000Z",
                vec![],
                Some("2026-01-11T10:00:00.500Z"),
            ),
            // Waits 2,500 ms; cites the renamed refunds article and the other "Shipping".
            (
                "2026-01-12T09:00:00Z",
                "2026-01-12T10:00:00.000Z",
                Role::Assistant,
                "2026-01-12T10:00:02.500Z",
                vec![
                    cite(refunds, "Refunds and returns"),
                    cite("art_ship_us", "Shipping"),
                ],
                None,
            ),
            // Waits 3,000 ms, then hands off two days later.
            (
                "2026-01-13T09:00:00Z",
                "2026-01-13T10:00:00.000Z",
                Role::Assistant,
                "2026-01-13T10:00:03.000Z",
                vec![cite(refunds, "Refunds and returns")],
                Some("2026-01-15T08:00:00Z"),
            ),
            // Started before the period, handed off and cited in it: counted nowhere.
            (
                "2025-12-20T09:00:00Z",
                "2026-01-10T10:00:00.000Z",
                Role::Assistant,
                "2026-01-10T10:00:00.100Z",
                vec![cite("art_ship_eu", "Shipping")],
                Some("2026-01-10T10:00:00.200Z"),
            ),
        ];
        for (i, (started, asked, role, answered, citations, handoff)) in
            cases.into_iter().enumerate()
        {
            let conversation = new_conversation(&store, i).await;
            set_time("conversations", conversation.id.clone(), started).await;
            let question = store
                .append_customer_message(
                    &conversation.id,
                    &format!("  Question   NUMBER {i}"),
                    None,
                )
                .await
                .expect("question");
            let question = match question {
                Appended::New(m) => m,
                other => panic!("{other:?}"),
            };
            set_time("messages", question.id.clone(), asked).await;
            let reply = store
                .append_message(
                    &conversation.id,
                    NewMessage {
                        role,
                        text: "An answer".into(),
                        citations,
                        actions: Vec::new(),
                        confidence: None,
                        author: None,
                        reply_to: Some(question.id.clone()),
                    },
                )
                .await
                .expect("reply");
            set_time("messages", reply.id, answered).await;
            if let Some(at) = handoff {
                let (h, _) = store
                    .open_handoff(
                        &conversation.id,
                        HandoffReason::CustomerRequest,
                        "",
                        Some(&question.id),
                    )
                    .await
                    .expect("handoff");
                set_time("handoffs", h.id, at).await;
            }
        }

        let summary = store
            .summary("2026-01-01T00:00:00Z")
            .await
            .expect("summary");
        assert_eq!((summary.conversations, summary.engaged), (4, 4));
        // The first and third: answered by the assistant, no handoff, no agent.
        assert_eq!(summary.assistant_resolved, 2);
        assert_eq!(summary.assistant_resolved_rate, 0.5);
        assert_eq!(
            summary.handoffs_by_reason,
            BTreeMap::from([("customer_request".to_owned(), 2)])
        );
        // Waits 400, 1,000, 2,500, 3,000: the mean of the middle two.
        assert_eq!(summary.median_first_response_ms, Some(1750));
        let article = |id: &str, title: &str, count, deleted| CitedArticle {
            article_id: id.into(),
            title: title.into(),
            count,
            deleted,
        };
        // The shipping articles are in no store: as if deleted since.
        assert_eq!(
            summary.top_cited_articles,
            vec![
                article(refunds, "Refunds, returns and exchanges", 3, false),
                article("art_ship_eu", "Shipping", 1, true),
                article("art_ship_us", "Shipping", 1, true),
            ]
        );
        let question = |q: &str| HandoffQuestion {
            question: q.into(),
            count: 1,
        };
        assert_eq!(
            summary.top_handoff_questions,
            vec![question("question number 1"), question("question number 3")]
        );
    }

    /// Each handoff counts the customer's need behind it, by the summary's rule; a handoff
    /// with nothing but a request for a person, or for a policy, counts none.
    #[tokio::test]
    async fn handoff_questions_are_the_need_behind_each_handoff() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(None, dir.path()).await.expect("store");
        let broken = "My parcel NW-1046247 arrived broken, can I talk to someone?";
        // The customer's messages; the handoff follows the last (`None`: the widget's button,
        // with a message written after it); its reason.
        let cases: [(&[&str], Option<&str>, HandoffReason); 5] = [
            (
                &["hi", "How long do refunds take?", "talk to a person"],
                None,
                HandoffReason::CustomerRequest,
            ),
            (
                &["How long do refunds take?", broken],
                None,
                HandoffReason::CustomerRequest,
            ),
            (&["agent"], None, HandoffReason::CustomerRequest),
            (
                &["How  long do refunds take?"],
                Some("Where is my order?"),
                HandoffReason::CustomerRequest,
            ),
            (&["Do you ship to Canada?"], None, HandoffReason::Policy),
        ];
        for (i, (texts, after, reason)) in cases.into_iter().enumerate() {
            let conversation = new_conversation(&store, i).await;
            let mut last = None;
            for text in texts {
                match store
                    .append_customer_message(&conversation.id, text, None)
                    .await
                    .expect("message")
                {
                    Appended::New(m) => last = Some(m.id),
                    other => panic!("{other:?}"),
                }
            }
            let trigger = last.filter(|_| after.is_none());
            let (handoff, _) = store
                .open_handoff(&conversation.id, reason, "", trigger.as_deref())
                .await
                .expect("handoff");
            if let Some(text) = after {
                let Appended::New(m) = store
                    .append_customer_message(&conversation.id, text, None)
                    .await
                    .expect("message")
                else {
                    panic!("not appended");
                };
                // Written after the handoff, whatever the clock's resolution.
                sqlx::query("UPDATE messages SET created_at = $1 WHERE id = $2")
                    .bind(format!("{}~", handoff.created_at))
                    .bind(m.id)
                    .execute(&mut *store.writer.acquire().await.expect("writer"))
                    .await
                    .expect("set time");
            }
        }
        let summary = store
            .summary("2000-01-01T00:00:00Z")
            .await
            .expect("summary");
        assert_eq!(
            summary.top_handoff_questions,
            vec![
                HandoffQuestion {
                    question: "how long do refunds take?".into(),
                    count: 2,
                },
                HandoffQuestion {
                    question: "my parcel [number] arrived broken, can i talk to someone?".into(),
                    count: 1,
                },
            ]
        );
    }
}
