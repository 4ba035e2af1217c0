//! Everything about the language model: the client, the prompt templates and their token
//! budget, and the extractive reply used when no model is configured.

pub mod budget;
pub mod client;
pub mod extractive;
pub mod prompt;
pub mod sentences;

pub use budget::TokenCounter;
pub use client::{Completion, LlmClient, LlmError, Tool};
pub use prompt::{PromptMessage, Prompts, Speaker, ToolCall};
