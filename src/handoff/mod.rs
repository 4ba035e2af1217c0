//! Handing a conversation to a human: opening the handoff with its summary and telling the
//! customer's stream and the agents.

mod facts;
pub mod summary;
pub mod webhook;

use std::sync::Arc;

use crate::{
    app::AppState,
    storage::{Conversation, Handoff, HandoffReason, HandoffStatus, Message, Mode, StoreError},
};

/// Opens a handoff (or returns the one already open) and announces it at once, with the
/// built-in summary: the customer and the queue never wait on the model. When a model is
/// configured, its summary replaces the built-in one once written, and the agents see it; the
/// webhook is sent after that, with the better summary. `message_id` is the customer message
/// that led to it. True with the handoff when this call opened it.
pub async fn open(
    state: &Arc<AppState>,
    conversation: &Conversation,
    reason: HandoffReason,
    message_id: Option<&str>,
) -> Result<(Handoff, bool), StoreError> {
    if let Some(open) = state.store.open_handoff_of(&conversation.id).await? {
        return Ok((open, false));
    }
    // Read again: the turn may have verified the customer since the request loaded it.
    let (conversation, channel_human_only) = state
        .store
        .conversation_and_channel_mode(&conversation.id)
        .await?
        .unwrap_or_else(|| (conversation.clone(), false));
    let transcript = state.store.messages(&conversation.id, 0).await?;
    let threshold = state.settings.chat.confidence_threshold;
    let summary = summary::fallback(&conversation, reason, &transcript, threshold);
    let (handoff, created) = state
        .store
        .open_handoff(&conversation.id, reason, &summary, message_id)
        .await?;
    if created {
        // A conversation people own (an agent switched it to human mode, or its channel is
        // human-only) is kept from the model altogether, whatever opened its handoff (the
        // widget's button too): a business sends its sensitive chats there.
        let private = conversation.mode_shown(channel_human_only) == Mode::Human;
        tracing::info!(conversation = %conversation.id, reason = reason.as_str(), "handoff opened");
        state.metrics.handoff(reason.as_str());
        state
            .events
            .publish_status(&conversation.id, Mode::Human, Some(&handoff), true);
        state.tasks.spawn(after_opening(
            state.clone(),
            handoff.clone(),
            conversation,
            transcript,
            private,
        ));
    }
    Ok((handoff, created))
}

/// Brings a waiting handoff's built-in summary up to date with the customer's `message`, sent
/// while they wait: the queue shows its goal line, and "asked for a person without saying
/// what about" is stale once they say what about. Only a summary that is still the built-in
/// one of the messages before this one is rewritten (not one the model wrote); the agents'
/// feed gets the handoff again.
pub async fn refresh_summary(
    state: &AppState,
    conversation: &Conversation,
    handoff: &Handoff,
    message: &Message,
) -> Result<(), StoreError> {
    if handoff.status != HandoffStatus::Waiting {
        return Ok(());
    }
    let mut transcript = state.store.messages(&conversation.id, 0).await?;
    transcript.retain(|m| m.seq <= message.seq);
    let threshold = state.settings.chat.confidence_threshold;
    let before = transcript
        .split_last()
        .map_or(&[][..], |(_, before)| before);
    if summary::fallback(conversation, handoff.reason, before, threshold) != handoff.summary {
        return Ok(());
    }
    let summary = summary::fallback(conversation, handoff.reason, &transcript, threshold);
    if summary == handoff.summary {
        return Ok(());
    }
    let refreshed = state
        .store
        .set_handoff_summary(&handoff.id, &summary, Some(&handoff.summary))
        .await?;
    if let Some(updated) = refreshed {
        state.events.publish_handoff(&updated);
    }
    Ok(())
}

/// The model's summary in place of the built-in one (shown to the agents while the handoff is
/// open), then the webhook.
async fn after_opening(
    state: Arc<AppState>,
    mut handoff: Handoff,
    conversation: Conversation,
    transcript: Vec<Message>,
    private: bool,
) {
    let written = if private {
        None
    } else {
        model_summary(&state, handoff.reason, &transcript).await
    };
    if let Some(summary) =
        written.and_then(|text| summary::with_checked_lines(&text, &handoff.summary))
    {
        match state
            .store
            .set_handoff_summary(&handoff.id, &summary, None)
            .await
        {
            Ok(Some(updated)) => {
                handoff = updated;
                state.events.publish_handoff(&handoff);
            }
            Ok(None) => {}
            Err(error) => tracing::warn!(%error, handoff = %handoff.id, "model summary not stored"),
        }
    }
    if state.settings.handoff.webhook_url.is_some() {
        webhook::deliver(
            state.http.clone(),
            state.settings.handoff.clone(),
            handoff,
            conversation,
        )
        .await;
    }
}

/// The model's summary of the conversation, when a model is configured and writes one.
async fn model_summary(
    state: &AppState,
    reason: HandoffReason,
    transcript: &[Message],
) -> Option<String> {
    // A failing model is itself a handoff reason; do not wait on it twice.
    let llm = state
        .llm
        .as_ref()
        .filter(|_| reason != HandoffReason::LlmUnavailable)?;
    let prompt = match state.prompts.handoff_summary(reason.as_str(), transcript) {
        Ok(prompt) => prompt,
        Err(error) => {
            tracing::warn!(%error, "handoff summary prompt failed");
            return None;
        }
    };
    match llm.complete(&prompt).await {
        Ok(text) if !text.trim().is_empty() => {
            let sent = prompt.iter().map(|m| state.tokens.prompt_message(m)).sum();
            state.metrics.tokens(sent, state.tokens.count(&text));
            Some(text.trim().to_owned())
        }
        Ok(_) => None,
        Err(error) => {
            tracing::warn!(%error, "model summary failed, the built-in summary stays");
            None
        }
    }
}
