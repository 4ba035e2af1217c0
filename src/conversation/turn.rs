//! One turn: store the customer's message, then (unless humans own the conversation)
//! retrieve passages, ask the model or quote the help center, score confidence, store and
//! stream the reply, and hand off when needed.

use std::sync::Arc;

use tokio::sync::mpsc;

use super::confidence::{self, ModelSignal};
use crate::{
    app::AppState,
    events::{AgentEvent, ConversationEvent},
    handoff,
    llm::{LlmClient, extractive, prompt::PromptInput},
    retrieval::Hit,
    storage::{
        Appended, Citation, Conversation, Handoff, HandoffReason, Message, Mode, NewMessage, Role,
        StoreError,
    },
};

/// What a turn emits, in order: deltas, replies, maybe a handoff, then the end of the channel.
#[derive(Debug, Clone)]
pub enum TurnEvent {
    Delta(String),
    Reply(Message),
    Handoff(Handoff),
    Error { code: &'static str, message: String },
}

/// The marker the system prompt asks the model to send when the passages do not answer.
const NO_ANSWER: &str = "NO_ANSWER";

const LLM_DOWN: &str = "I'm sorry, I can't answer right now because our assistant is unavailable. I've passed your conversation to our support team, and a person will reply here as soon as possible.";

const OFFER_PERSON: &str = "If this doesn't answer your question, I can connect you with a person.";

/// Stores the customer message and starts its turn. Returns the stored message and a channel
/// of turn events; for a repeated `client_message_id`, the first message and its stored
/// outcome instead. The turn runs on the task tracker, so a client that disconnects does not
/// cancel it.
pub async fn post_customer_message(
    state: &Arc<AppState>,
    conversation: Conversation,
    text: &str,
    client_message_id: Option<&str>,
) -> Result<(Message, mpsc::UnboundedReceiver<TurnEvent>), StoreError> {
    let (tx, rx) = mpsc::unbounded_channel();
    match state
        .store
        .append_customer_message(&conversation.id, text, client_message_id)
        .await?
    {
        Appended::Duplicate(message) => {
            for reply in state.store.replies_to(&message.id).await? {
                let _ = tx.send(TurnEvent::Reply(reply));
            }
            if let Some(handoff) = state.store.handoff_for_message(&message.id).await? {
                let _ = tx.send(TurnEvent::Handoff(handoff));
            }
            Ok((message, rx))
        }
        Appended::New(message) => {
            state.events.publish(
                &conversation.id,
                ConversationEvent::Message(message.clone()),
            );
            let turn_state = state.clone();
            let customer_message = message.clone();
            state.tasks.spawn(async move {
                if let Err(error) = run(&turn_state, &conversation, &customer_message, &tx).await {
                    tracing::error!(%error, conversation = %conversation.id, "turn failed");
                    let _ = tx.send(TurnEvent::Error {
                        code: "store_unavailable",
                        message: "The reply could not be saved; please try again.".into(),
                    });
                }
            });
            Ok((message, rx))
        }
    }
}

/// The reply a turn settles on before it is stored.
struct Draft {
    text: String,
    citations: Vec<Citation>,
    confidence: Option<f32>,
    handoff: Option<HandoffReason>,
}

#[tracing::instrument(skip_all, fields(conversation = %conversation.id, seq = message.seq))]
async fn run(
    state: &Arc<AppState>,
    conversation: &Conversation,
    message: &Message,
    tx: &mpsc::UnboundedSender<TurnEvent>,
) -> Result<(), StoreError> {
    if humans_answer(state, conversation).await? {
        state
            .events
            .publish_agents(AgentEvent::Message(message.clone()));
        return Ok(());
    }
    let hits = match state
        .retrieval
        .search(&message.text, state.settings.chat.passages)
        .await
    {
        Ok(hits) => hits,
        Err(error) => {
            tracing::warn!(%error, "retrieval failed; answering without passages");
            Vec::new()
        }
    };
    let draft = match &state.llm {
        Some(llm) => generate(state, llm, conversation, message, &hits, tx).await?,
        None => {
            let reply = extractive::reply(&hits, state.settings.chat.confidence_threshold);
            let evidence = if reply.citations.is_empty() {
                0.0
            } else {
                confidence::evidence(&hits)
            };
            Draft {
                text: reply.text,
                citations: reply.citations,
                confidence: Some(confidence::score(evidence, ModelSignal::None)),
                handoff: None,
            }
        }
    };
    let reply = state
        .store
        .append_message(
            &conversation.id,
            NewMessage {
                role: Role::Assistant,
                text: draft.text,
                citations: draft.citations,
                actions: Vec::new(),
                confidence: draft.confidence,
                author: None,
                reply_to: Some(message.id.clone()),
            },
        )
        .await?;
    state
        .events
        .publish(&conversation.id, ConversationEvent::Message(reply.clone()));
    let _ = tx.send(TurnEvent::Reply(reply));
    if let Some(reason) = draft.handoff {
        let handoff = handoff::open(state, conversation, reason, Some(&message.id)).await?;
        let _ = tx.send(TurnEvent::Handoff(handoff));
    }
    Ok(())
}

/// Whether the conversation or its channel is in human-only mode (read fresh: an agent may
/// have switched it since the conversation was loaded).
async fn humans_answer(state: &AppState, conversation: &Conversation) -> Result<bool, StoreError> {
    let mode = state
        .store
        .conversation(&conversation.id)
        .await?
        .map_or(conversation.mode, |c| c.mode);
    Ok(mode == Mode::Human
        || state
            .store
            .channel_human_only(&conversation.channel)
            .await?)
}

/// Asks the model, streaming its text; falls back to an honest handoff when it fails.
async fn generate(
    state: &Arc<AppState>,
    llm: &LlmClient,
    conversation: &Conversation,
    message: &Message,
    hits: &[Hit],
    tx: &mpsc::UnboundedSender<TurnEvent>,
) -> Result<Draft, StoreError> {
    let settings = &state.settings;
    let history = state
        .store
        .recent_messages(
            &conversation.id,
            message.seq,
            settings.chat.history_messages,
        )
        .await?;
    let built = {
        let state = state.clone();
        let hits = hits.to_vec();
        let question = message.text.clone();
        let locale = conversation.locale.clone();
        tokio::task::spawn_blocking(move || {
            let input = PromptInput {
                business_name: &state.settings.chat.business_name,
                locale: locale.as_deref(),
                question: &question,
                hits: &hits,
                history: &history,
            };
            let budget = state.settings.llm.context_tokens - state.settings.llm.reply_tokens;
            state.prompts.chat(&input, &state.tokens, budget)
        })
        .await
    };
    let built = match built {
        Ok(Ok(built)) => built,
        Ok(Err(error)) => {
            tracing::error!(%error, "prompt template failed");
            return Ok(model_down());
        }
        Err(error) => {
            tracing::error!(%error, "prompt task failed");
            return Ok(model_down());
        }
    };
    tracing::debug!(
        tokens = built.tokens,
        passages = built.passages.len(),
        history = built.history_kept,
        "prompt built"
    );
    let mut held = String::new();
    let mut released = false;
    let result = llm
        .stream(&built.messages, |piece| {
            // Hold text back while it could still be the NO_ANSWER marker.
            if released {
                let _ = tx.send(TurnEvent::Delta(piece.to_owned()));
                return;
            }
            held.push_str(piece);
            let trimmed = held.trim_start();
            if !NO_ANSWER.starts_with(trimmed) || trimmed.len() > NO_ANSWER.len() {
                released = true;
                let _ = tx.send(TurnEvent::Delta(std::mem::take(&mut held)));
            }
        })
        .await;
    let text = match result {
        Ok(text) => text,
        Err(error) => {
            tracing::warn!(%error, "model call failed; handing off");
            return Ok(model_down());
        }
    };
    let evidence = confidence::evidence(hits);
    let threshold = settings.chat.confidence_threshold;
    if text.trim().starts_with(NO_ANSWER) {
        return Ok(Draft {
            text: extractive::NOT_FOUND.to_owned(),
            citations: Vec::new(),
            confidence: Some(confidence::score(evidence, ModelSignal::NoAnswer)),
            handoff: None,
        });
    }
    let given: Vec<&Hit> = built.passages.iter().map(|&i| &hits[i]).collect();
    let (mut text, cited) = strip_citation_markers(&text, given.len());
    let signal = if cited.is_empty() {
        ModelSignal::Uncited
    } else {
        ModelSignal::Cited
    };
    let citations = cited
        .iter()
        .map(|&n| extractive::citation(given[n - 1]))
        .collect();
    let confidence = confidence::score(evidence, signal);
    if confidence < threshold {
        text.push_str("\n\n");
        text.push_str(OFFER_PERSON);
    }
    Ok(Draft {
        text,
        citations,
        confidence: Some(confidence),
        handoff: None,
    })
}

fn model_down() -> Draft {
    Draft {
        text: LLM_DOWN.to_owned(),
        citations: Vec::new(),
        confidence: None,
        handoff: Some(HandoffReason::LlmUnavailable),
    }
}

/// Removes `[n]` markers (1 ≤ n ≤ `passages`) from the model's text; returns the cleaned text
/// and the passage numbers cited, in first-cited order.
fn strip_citation_markers(text: &str, passages: usize) -> (String, Vec<usize>) {
    let mut out = String::with_capacity(text.len());
    let mut cited = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('[') {
        let after = &rest[open + 1..];
        let number = after.find(']').and_then(|close| {
            after[..close]
                .trim()
                .parse::<usize>()
                .ok()
                .map(|n| (n, close))
        });
        match number {
            Some((n, close)) if (1..=passages).contains(&n) => {
                out.push_str(rest[..open].trim_end_matches(' '));
                if !cited.contains(&n) {
                    cited.push(n);
                }
                rest = &after[close + 1..];
            }
            _ => {
                out.push_str(&rest[..=open]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    (out.trim().to_owned(), cited)
}

#[cfg(test)]
mod tests {
    use super::strip_citation_markers;

    #[test]
    fn citation_markers_are_collected_and_removed() {
        let (text, cited) = strip_citation_markers(
            "Standard shipping is free over $50 [2]. Returns: 30 days [1][2].",
            2,
        );
        assert_eq!(
            text,
            "Standard shipping is free over $50. Returns: 30 days."
        );
        assert_eq!(cited, vec![2, 1]);
    }

    #[test]
    fn unknown_markers_and_brackets_stay() {
        let (text, cited) = strip_citation_markers("See [3] and [note] here [1]", 2);
        assert_eq!(text, "See [3] and [note] here");
        assert_eq!(cited, vec![1]);
    }
}
