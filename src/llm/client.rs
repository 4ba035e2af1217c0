//! The model client: any OpenAI-compatible endpoint through async-openai, streaming, with a
//! connect timeout, a first-token timeout and a total deadline around async-openai's bounded
//! retries (429 and 5xx, exponential backoff, `Retry-After` honoured).

use std::time::Duration;

use async_openai::{
    Client,
    config::OpenAIConfig,
    error::OpenAIError,
    types::chat::{
        ChatCompletionRequestAssistantMessageArgs, ChatCompletionRequestMessage,
        ChatCompletionRequestSystemMessageArgs, ChatCompletionRequestUserMessageArgs,
        CreateChatCompletionRequest, CreateChatCompletionRequestArgs,
    },
};
use futures_util::StreamExt;

use super::prompt::{PromptMessage, Speaker};
use crate::config::LlmSettings;

/// Why a model call gave no usable answer; every variant leads to an honest handoff.
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    #[error("the model sent no first token within {0:?}")]
    FirstTokenTimeout(Duration),
    #[error("the model call exceeded its {0:?} deadline")]
    Deadline(Duration),
    #[error("the model endpoint failed: {0}")]
    Api(#[from] OpenAIError),
    #[error("the model returned an empty reply")]
    Empty,
    #[error("cannot build the model client: {0}")]
    Setup(String),
}

/// A configured model endpoint.
#[derive(Clone)]
pub struct LlmClient {
    client: Client<OpenAIConfig>,
    model: String,
    temperature: f32,
    reply_tokens: u32,
    first_token_timeout: Duration,
    total_timeout: Duration,
}

impl std::fmt::Debug for LlmClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmClient")
            .field("model", &self.model)
            .finish_non_exhaustive()
    }
}

impl LlmClient {
    /// Builds the client; `None` when no endpoint is configured (extractive mode).
    pub fn from_settings(settings: &LlmSettings) -> Result<Option<Self>, LlmError> {
        if !settings.enabled() {
            return Ok(None);
        }
        let mut config = OpenAIConfig::new().with_api_base(
            settings
                .base_url
                .clone()
                .unwrap_or_else(|| "https://api.openai.com/v1".into())
                .trim_end_matches('/'),
        );
        if let Some(key) = &settings.api_key {
            config = config.with_api_key(key.expose());
        }
        let http = reqwest::Client::builder()
            .connect_timeout(settings.connect_timeout())
            .read_timeout(settings.first_token_timeout())
            .tcp_nodelay(true)
            .build()
            .map_err(|e| LlmError::Setup(e.to_string()))?;
        Ok(Some(Self {
            client: Client::build(http, config),
            model: settings.model.clone(),
            temperature: settings.temperature,
            reply_tokens: u32::try_from(settings.reply_tokens).unwrap_or(u32::MAX),
            first_token_timeout: settings.first_token_timeout(),
            total_timeout: settings.total_timeout(),
        }))
    }

    fn request(
        &self,
        messages: &[PromptMessage],
        stream: bool,
    ) -> Result<CreateChatCompletionRequest, LlmError> {
        let messages = messages
            .iter()
            .map(to_openai)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(CreateChatCompletionRequestArgs::default()
            .model(&self.model)
            .messages(messages)
            .temperature(self.temperature)
            .max_completion_tokens(self.reply_tokens)
            .stream(stream)
            .build()?)
    }

    /// Streams a reply, calling `on_delta` with each piece of text as it arrives; returns the
    /// whole text.
    pub async fn stream(
        &self,
        messages: &[PromptMessage],
        mut on_delta: impl FnMut(&str) + Send,
    ) -> Result<String, LlmError> {
        let request = self.request(messages, true)?;
        let call = async {
            let first_token = self.first_token_timeout;
            let mut stream =
                tokio::time::timeout(first_token, self.client.chat().create_stream(request))
                    .await
                    .map_err(|_| LlmError::FirstTokenTimeout(first_token))??;
            let mut text = String::new();
            loop {
                // Until text arrives, the first-token timeout applies; after, the read timeout.
                let next = if text.is_empty() {
                    tokio::time::timeout(first_token, stream.next())
                        .await
                        .map_err(|_| LlmError::FirstTokenTimeout(first_token))?
                } else {
                    stream.next().await
                };
                let Some(chunk) = next else { break };
                let chunk = chunk?;
                for choice in chunk.choices {
                    if let Some(piece) = choice.delta.content
                        && !piece.is_empty()
                    {
                        on_delta(&piece);
                        text.push_str(&piece);
                    }
                }
            }
            if text.trim().is_empty() {
                return Err(LlmError::Empty);
            }
            Ok(text)
        };
        tokio::time::timeout(self.total_timeout, call)
            .await
            .map_err(|_| LlmError::Deadline(self.total_timeout))?
    }

    /// A plain (non-streamed) completion.
    pub async fn complete(&self, messages: &[PromptMessage]) -> Result<String, LlmError> {
        let request = self.request(messages, false)?;
        let response = tokio::time::timeout(self.total_timeout, self.client.chat().create(request))
            .await
            .map_err(|_| LlmError::Deadline(self.total_timeout))??;
        response
            .choices
            .into_iter()
            .find_map(|c| c.message.content)
            .filter(|t| !t.trim().is_empty())
            .ok_or(LlmError::Empty)
    }
}

fn to_openai(message: &PromptMessage) -> Result<ChatCompletionRequestMessage, OpenAIError> {
    let content = message.content.as_str();
    Ok(match message.speaker {
        Speaker::System => ChatCompletionRequestSystemMessageArgs::default()
            .content(content)
            .build()?
            .into(),
        Speaker::User => ChatCompletionRequestUserMessageArgs::default()
            .content(content)
            .build()?
            .into(),
        Speaker::Assistant => ChatCompletionRequestAssistantMessageArgs::default()
            .content(content)
            .build()?
            .into(),
    })
}
