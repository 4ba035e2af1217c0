//! Tells an outside system (Slack, a helpdesk) about each new handoff: a JSON POST with a
//! timeout, retried with backoff, delivered off the turn so a slow receiver never delays it.

use std::time::Duration;

use serde_json::json;

use crate::{
    config::HandoffSettings,
    storage::{Conversation, Handoff},
};

/// Delivers one handoff notice; gives up (and logs) after the configured attempts.
pub async fn deliver(
    client: reqwest::Client,
    settings: HandoffSettings,
    handoff: Handoff,
    conversation: Conversation,
) {
    let Some(url) = settings.webhook_url else {
        return;
    };
    let body = json!({
        "event": "handoff.created",
        "text": format!("New handoff ({}): {}", handoff.reason.as_str(), handoff.summary),
        "handoff": handoff,
        "conversation": {
            "id": conversation.id,
            "channel": conversation.channel,
            "customer": conversation.customer,
            "verified_as": conversation.verified_as,
        },
    });
    let timeout = Duration::from_millis(settings.webhook_timeout_ms);
    for attempt in 1..=settings.webhook_attempts {
        let result = client.post(&url).json(&body).timeout(timeout).send().await;
        match result {
            Ok(response) if response.status().is_success() => return,
            Ok(response) => {
                tracing::warn!(
                    attempt,
                    status = response.status().as_u16(),
                    "handoff webhook refused"
                )
            }
            Err(error) => tracing::warn!(attempt, %error, "handoff webhook failed"),
        }
        if attempt < settings.webhook_attempts {
            tokio::time::sleep(Duration::from_millis(250 * 2u64.pow(attempt - 1))).await;
        }
    }
    tracing::error!(
        "handoff webhook gave up after {} attempts",
        settings.webhook_attempts
    );
}
