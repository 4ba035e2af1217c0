//! Handing a conversation to a human: opening the handoff with its summary and telling the
//! customer's stream and the agents.

pub mod summary;
pub mod webhook;

use crate::{
    app::AppState,
    storage::{Conversation, Handoff, HandoffReason, Mode, StoreError},
};

/// Opens a handoff (or returns the one already open) and announces it. `message_id` is the
/// customer message that led to it.
pub async fn open(
    state: &AppState,
    conversation: &Conversation,
    reason: HandoffReason,
    message_id: Option<&str>,
) -> Result<Handoff, StoreError> {
    if let Some(open) = state.store.open_handoff_of(&conversation.id).await? {
        return Ok(open);
    }
    let transcript = state.store.messages(&conversation.id, 0).await?;
    let summary = summarize(state, conversation, reason, &transcript).await;
    let (handoff, created) = state
        .store
        .open_handoff(&conversation.id, reason, &summary, message_id)
        .await?;
    if created {
        tracing::info!(conversation = %conversation.id, reason = reason.as_str(), "handoff opened");
        state.metrics.handoff(reason.as_str());
        state
            .events
            .publish_status(&conversation.id, Mode::Human, Some(&handoff), true);
        if state.settings.handoff.webhook_url.is_some() {
            state.tasks.spawn(webhook::deliver(
                state.http.clone(),
                state.settings.handoff.clone(),
                handoff.clone(),
                conversation.clone(),
            ));
        }
    }
    Ok(handoff)
}

async fn summarize(
    state: &AppState,
    conversation: &Conversation,
    reason: HandoffReason,
    transcript: &[crate::storage::Message],
) -> String {
    let fallback = || summary::fallback(conversation, reason, transcript);
    // A failing model is itself a handoff reason; do not wait on it twice.
    let Some(llm) = state
        .llm
        .as_ref()
        .filter(|_| reason != HandoffReason::LlmUnavailable)
    else {
        return fallback();
    };
    let prompt = match state.prompts.handoff_summary(reason.as_str(), transcript) {
        Ok(prompt) => prompt,
        Err(error) => {
            tracing::warn!(%error, "handoff summary prompt failed");
            return fallback();
        }
    };
    match llm.complete(&prompt).await {
        Ok(text) => {
            let sent = prompt.iter().map(|m| state.tokens.prompt_message(m)).sum();
            state.metrics.tokens(sent, state.tokens.count(&text));
            text.trim().to_owned()
        }
        Err(error) => {
            tracing::warn!(%error, "model summary failed, using the fallback summary");
            fallback()
        }
    }
}
