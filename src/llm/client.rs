//! The model client: any OpenAI-compatible endpoint through async-openai, streaming, with a
//! connect timeout, a first-token timeout per attempt and a total deadline around async-openai's bounded
//! retries (429 and 5xx, exponential backoff, `Retry-After` honoured).

use std::time::{Duration, Instant};

use async_openai::{
    Client,
    config::OpenAIConfig,
    error::OpenAIError,
    middleware::{HttpRequestFactory, ReqwestService, retry::OpenAIRetryLayer},
    types::chat::{
        ChatCompletionMessageToolCall, ChatCompletionMessageToolCalls,
        ChatCompletionRequestAssistantMessageArgs, ChatCompletionRequestMessage,
        ChatCompletionRequestSystemMessageArgs, ChatCompletionRequestToolMessageArgs,
        ChatCompletionRequestUserMessageArgs, ChatCompletionTool, ChatCompletionTools,
        CreateChatCompletionRequest, CreateChatCompletionRequestArgs, FinishReason, FunctionCall,
        FunctionObject,
    },
};
use futures_util::StreamExt;
use tower::{Layer, ServiceExt};

use super::{
    prompt::{PromptMessage, Speaker, ToolCall},
    sentences,
};
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
    #[error("the model's stream ended before the model finished")]
    Truncated,
    #[error("the model's reply passed {0} bytes")]
    TooLong(usize),
    #[error("the model's stream went silent for {0:?}")]
    Stalled(Duration),
    #[error("the model endpoint limits our rate{}", asked_wait(.0))]
    RateLimited(Option<Duration>),
    #[error("cannot build the model client: {0}")]
    Setup(String),
}

impl LlmError {
    /// A short name for metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            LlmError::FirstTokenTimeout(_) => "first_token_timeout",
            LlmError::Deadline(_) => "deadline",
            LlmError::Api(_) => "api",
            LlmError::Empty => "empty",
            LlmError::Truncated => "truncated",
            LlmError::TooLong(_) => "too_long",
            LlmError::RateLimited(_) => "rate_limited",
            LlmError::Stalled(_) => "stalled",
            LlmError::Setup(_) => "setup",
        }
    }
}

/// How long a rate limit asked to wait, for its message.
fn asked_wait(wait: &Option<Duration>) -> String {
    wait.map(|wait| format!(" and asked to wait {wait:?}"))
        .unwrap_or_default()
}

/// A function the model may call.
#[derive(Debug, Clone, PartialEq)]
pub struct Tool {
    pub name: String,
    pub description: String,
    /// JSON Schema of the arguments.
    pub parameters: serde_json::Value,
}

impl Tool {
    /// The tool as a request carries it: `{"type": "function", "function": {name, description,
    /// parameters}}`.
    fn to_openai(&self) -> ChatCompletionTools {
        ChatCompletionTools::Function(ChatCompletionTool {
            function: FunctionObject {
                name: self.name.clone(),
                description: Some(self.description.clone()),
                parameters: Some(self.parameters.clone()),
                strict: None,
            },
        })
    }

    /// That JSON, as the prompt budget counts it.
    pub fn request_json(&self) -> String {
        serde_json::to_value(self.to_openai())
            .map(|v| v.to_string())
            .unwrap_or_default()
    }
}

/// What one streamed call produced: text, and the tool calls the model asked for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Completion {
    pub text: String,
    pub tool_calls: Vec<ToolCall>,
    /// From sending the request to the first text or tool call streamed back.
    pub first_output: Option<Duration>,
    /// Bytes of a sentence cut off at the token limit, dropped from the end of `text` (which
    /// keeps its whole sentences, [`sentences::whole`]); 0 when the model finished.
    pub cut: usize,
}

/// How much earlier than the first-token timeout a stream's error may come and still be
/// the HTTP client's read timeout (its timer starts at the last read, before ours).
const READ_TIMEOUT_SLACK: Duration = Duration::from_millis(100);

/// How long a 429 asks to wait (`Retry-After` in seconds), if it does.
fn asks_to_wait(response: &reqwest::Response) -> Option<Duration> {
    if response.status() != reqwest::StatusCode::TOO_MANY_REQUESTS {
        return None;
    }
    let seconds = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()?;
    Some(Duration::from_secs(seconds))
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
        let http = crate::http_client()
            .connect_timeout(settings.connect_timeout())
            .read_timeout(settings.first_token_timeout())
            .tcp_nodelay(true)
            .build()
            .map_err(|e| LlmError::Setup(e.to_string()))?;
        // async-openai's own retry (429 and 5xx with backoff, `Retry-After` honoured), with the
        // configured number of retries instead of its default 3; a rate limit that asks for a
        // longer wait than the first-token timeout fails at once instead (the customer would
        // wait that long for nothing more than a try).
        let longest_wait = settings.first_token_timeout();
        let reqwest = ReqwestService::new(http.clone());
        let attempt = tower::service_fn(move |factory: HttpRequestFactory| {
            let reqwest = reqwest.clone();
            async move {
                let response = reqwest.oneshot(factory).await?;
                match asks_to_wait(&response) {
                    Some(wait) if wait > longest_wait => Err(OpenAIError::Boxed(Box::new(
                        LlmError::RateLimited(Some(wait)),
                    ))),
                    _ => Ok(response),
                }
            }
        });
        let service = OpenAIRetryLayer::new(settings.max_retries).layer(attempt);
        Ok(Some(Self {
            client: Client::build(http, config).with_http_service(service),
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
        tools: &[Tool],
        stream: bool,
    ) -> Result<CreateChatCompletionRequest, LlmError> {
        let messages = messages
            .iter()
            .map(to_openai)
            .collect::<Result<Vec<_>, _>>()?;
        let mut args = CreateChatCompletionRequestArgs::default();
        args.model(&self.model)
            .messages(messages)
            .temperature(self.temperature)
            .max_completion_tokens(self.reply_tokens)
            .stream(stream);
        if !tools.is_empty() {
            args.tools(tools.iter().map(Tool::to_openai).collect::<Vec<_>>());
        }
        Ok(args.build()?)
    }

    /// Streams a reply, calling `on_delta` with each piece of text as it arrives; returns the
    /// whole text and any tool calls the model made.
    pub async fn stream(
        &self,
        messages: &[PromptMessage],
        tools: &[Tool],
        mut on_delta: impl FnMut(&str) + Send,
    ) -> Result<Completion, LlmError> {
        let request = self.request(messages, tools, true)?;
        let started = Instant::now();
        let call = async {
            let first_token = self.first_token_timeout;
            // Each attempt waits for the response's headers at most the first-token timeout
            // (the HTTP client's read timeout); retries and the waits a rate limit asks for
            // count against the total deadline only, so a `Retry-After` of a few seconds is
            // waited out instead of failing the turn.
            let mut stream = self
                .client
                .chat()
                .create_stream(request)
                .await
                .map_err(|error| self.attempt_failed(error))?;
            let mut text = String::new();
            let mut calls: Vec<ToolCall> = Vec::new();
            let mut first_output = None;
            let mut finished = false;
            let mut cut = false;
            let limit = self.reply_bytes();
            loop {
                // Until output arrives, the first-token timeout applies; after, it bounds a
                // silence between two pieces. The HTTP client's read timeout is the same, so
                // whichever notices first, the failure is named the same.
                let silent = if text.is_empty() && calls.is_empty() {
                    LlmError::FirstTokenTimeout
                } else {
                    LlmError::Stalled
                };
                let waiting = Instant::now();
                let next = tokio::time::timeout(first_token, stream.next())
                    .await
                    .map_err(|_| silent(first_token))?;
                let Some(chunk) = next else { break };
                // A stream's error is text only: a read that timed out is told by its time.
                let chunk = chunk.map_err(|error| {
                    if waiting.elapsed() + READ_TIMEOUT_SLACK >= first_token {
                        silent(first_token)
                    } else {
                        LlmError::Api(error)
                    }
                })?;
                for choice in chunk.choices {
                    finished |= choice.finish_reason.is_some();
                    cut |= choice.finish_reason == Some(FinishReason::Length);
                    if let Some(piece) = choice.delta.content
                        && !piece.is_empty()
                    {
                        on_delta(&piece);
                        text.push_str(&piece);
                    }
                    for part in choice.delta.tool_calls.into_iter().flatten() {
                        let index = usize::try_from(part.index).unwrap_or(usize::MAX);
                        if index >= 16 {
                            continue; // more parallel calls than any turn needs
                        }
                        while calls.len() <= index {
                            calls.push(ToolCall {
                                id: String::new(),
                                name: String::new(),
                                arguments: String::new(),
                            });
                        }
                        let call = &mut calls[index];
                        if let Some(id) = part.id {
                            call.id = id;
                        }
                        if let Some(function) = part.function {
                            // Some servers repeat the whole name in every piece.
                            if let Some(name) = function.name
                                && call.name != name
                            {
                                call.name.push_str(&name);
                            }
                            call.arguments
                                .push_str(function.arguments.as_deref().unwrap_or_default());
                        }
                    }
                }
                let written = text.len() + calls.iter().map(|c| c.arguments.len()).sum::<usize>();
                if written > limit {
                    return Err(LlmError::TooLong(limit));
                }
                // Output has arrived once there is text or a call (as for the timeout above).
                if first_output.is_none() && !(text.is_empty() && calls.is_empty()) {
                    first_output = Some(started.elapsed());
                }
            }
            if !finished {
                return Err(LlmError::Truncated);
            }
            // Cut off at the token limit: the caller keeps the whole sentences (or lines) before
            // the cut, as the customer is never shown half a reply; a tool call cut short is
            // not run.
            let mut dropped = 0;
            if cut {
                calls.retain(|c| serde_json::from_str::<serde_json::Value>(&c.arguments).is_ok());
                let kept = sentences::whole(&text).len();
                dropped = text.len() - kept;
                text.truncate(kept);
                if text.is_empty() && calls.is_empty() {
                    return Err(LlmError::Truncated);
                }
            }
            calls.retain(|c| !c.name.is_empty());
            if text.trim().is_empty() && calls.is_empty() {
                return Err(LlmError::Empty);
            }
            Ok(Completion {
                text,
                tool_calls: calls,
                first_output,
                cut: dropped,
            })
        };
        tokio::time::timeout(self.total_timeout, call)
            .await
            .map_err(|_| LlmError::Deadline(self.total_timeout))?
    }

    /// An attempt's error: a read that timed out is the first-token timeout, a rate limit
    /// still there after the retries a rate limit.
    fn attempt_failed(&self, error: OpenAIError) -> LlmError {
        match &error {
            OpenAIError::Reqwest(e) if e.is_timeout() => {
                LlmError::FirstTokenTimeout(self.first_token_timeout)
            }
            OpenAIError::ApiError(e) if e.status_code == reqwest::StatusCode::TOO_MANY_REQUESTS => {
                LlmError::RateLimited(None)
            }
            OpenAIError::Boxed(e) => match e.downcast_ref::<LlmError>() {
                Some(LlmError::RateLimited(wait)) => LlmError::RateLimited(*wait),
                _ => LlmError::Api(error),
            },
            _ => LlmError::Api(error),
        }
    }

    /// The most a reply may take: the tokens asked for at 16 bytes each, four times what a
    /// token usually takes. A model that ignores the limit is failing.
    fn reply_bytes(&self) -> usize {
        usize::try_from(self.reply_tokens)
            .unwrap_or(usize::MAX)
            .saturating_mul(16)
    }

    /// A plain (non-streamed) completion.
    pub async fn complete(&self, messages: &[PromptMessage]) -> Result<String, LlmError> {
        let request = self.request(messages, &[], false)?;
        let response = tokio::time::timeout(self.total_timeout, self.client.chat().create(request))
            .await
            .map_err(|_| LlmError::Deadline(self.total_timeout))??;
        response
            .choices
            .into_iter()
            .find_map(|c| c.message.content)
            .filter(|t| !t.trim().is_empty())
            .ok_or(LlmError::Empty)
            .and_then(|t| {
                if t.len() > self.reply_bytes() {
                    Err(LlmError::TooLong(self.reply_bytes()))
                } else {
                    Ok(t)
                }
            })
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
        Speaker::Assistant => {
            let mut args = ChatCompletionRequestAssistantMessageArgs::default();
            if !content.is_empty() {
                args.content(content);
            }
            if !message.tool_calls.is_empty() {
                args.tool_calls(
                    message
                        .tool_calls
                        .iter()
                        .map(|c| {
                            ChatCompletionMessageToolCalls::Function(
                                ChatCompletionMessageToolCall {
                                    id: c.id.clone(),
                                    function: FunctionCall {
                                        name: c.name.clone(),
                                        arguments: c.arguments.clone(),
                                    },
                                },
                            )
                        })
                        .collect::<Vec<_>>(),
                );
            }
            args.build()?.into()
        }
        Speaker::Tool => ChatCompletionRequestToolMessageArgs::default()
            .content(content)
            .tool_call_id(message.tool_call_id.clone().unwrap_or_default())
            .build()?
            .into(),
    })
}
