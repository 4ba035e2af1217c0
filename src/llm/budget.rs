//! Token counting for the prompt budget: exact with a configured Hugging Face tokenizer,
//! otherwise a documented estimate of one token per four characters (rounded up), which
//! over-counts English for BPE vocabularies and so errs on the side of fitting.

use std::path::Path;

use super::{
    client::Tool,
    prompt::{PromptMessage, ToolCall},
};

/// Tokens added per chat message for role markers and separators.
pub const MESSAGE_OVERHEAD: usize = 4;

/// Counts tokens the way the configured model would (or estimates them).
pub enum TokenCounter {
    Exact(Box<tokenizers::Tokenizer>),
    Estimate,
}

impl std::fmt::Debug for TokenCounter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenCounter::Exact(_) => f.write_str("TokenCounter::Exact"),
            TokenCounter::Estimate => f.write_str("TokenCounter::Estimate"),
        }
    }
}

impl TokenCounter {
    /// The counter the settings ask for: exact with `llm.tokenizer`, else the estimate.
    pub fn from_settings(settings: &crate::config::LlmSettings) -> Result<Self, String> {
        match &settings.tokenizer {
            Some(path) => Self::from_file(path),
            None => Ok(TokenCounter::Estimate),
        }
    }

    /// Loads a `tokenizer.json`; a clear error names the file when it cannot be read.
    pub fn from_file(path: &Path) -> Result<Self, String> {
        tokenizers::Tokenizer::from_file(path)
            .map(|t| TokenCounter::Exact(Box::new(t)))
            .map_err(|e| format!("cannot load tokenizer {}: {e}", path.display()))
    }

    /// Tokens in `text` (without special tokens).
    pub fn count(&self, text: &str) -> usize {
        match self {
            TokenCounter::Exact(tokenizer) => tokenizer
                .encode(text, false)
                .map(|e| e.len())
                .unwrap_or_else(|_| estimate(text)),
            TokenCounter::Estimate => estimate(text),
        }
    }

    /// Tokens of one chat message, overhead included.
    pub fn message(&self, text: &str) -> usize {
        self.count(text) + MESSAGE_OVERHEAD
    }

    /// Tokens of one prompt message: its text with the overhead, and the calls it made.
    pub fn prompt_message(&self, message: &PromptMessage) -> usize {
        self.message(&message.content) + self.calls(&message.tool_calls)
    }

    /// Tokens the definitions of `tools` add to a request that offers them: each one's JSON
    /// as the request carries it, with a message's overhead. (Providers render tools into the
    /// prompt in formats of their own, so this is close, not exact.)
    pub fn tools(&self, tools: &[Tool]) -> usize {
        tools.iter().map(|t| self.message(&t.request_json())).sum()
    }

    /// Tokens of tool calls: each one's name and arguments.
    pub fn calls(&self, calls: &[ToolCall]) -> usize {
        calls
            .iter()
            .map(|c| self.count(&c.name) + self.count(&c.arguments))
            .sum()
    }
}

fn estimate(text: &str) -> usize {
    text.chars().count().div_ceil(4)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimate_is_a_quarter_of_the_characters_rounded_up() {
        assert_eq!(TokenCounter::Estimate.count(""), 0);
        assert_eq!(TokenCounter::Estimate.count("abcde"), 2);
        assert_eq!(TokenCounter::Estimate.message("abcd"), 1 + MESSAGE_OVERHEAD);
    }

    #[test]
    fn real_tokenizer_counts_tokens() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/tokenizers/phi-3-mini/tokenizer.json");
        let Ok(counter) = TokenCounter::from_file(&path) else {
            panic!("tokenizer file missing at {}", path.display());
        };
        let n = counter.count("Where is my order? It was supposed to arrive yesterday.");
        assert!((10..=20).contains(&n), "{n}");
    }
}
