//! Settings: defaults, then an optional TOML file, then the environment (which always wins).
//!
//! This is the only module that reads the environment. The named variables of API.md
//! (`FRONTDESK_LISTEN`, `OPENAI_BASE_URL`, ...) map onto fields; any other field can be set with
//! `FRONTDESK__SECTION__KEY` (double underscores between path segments).

use std::{fmt, path::PathBuf, time::Duration};

use serde::Deserialize;

/// Errors found while loading or validating settings; each names what to fix.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid config: {0}")]
    Invalid(String),
}

/// A secret string that never shows in logs or debug output.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    /// The secret itself, for the few places that must compare or send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// The whole settings tree.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Address to bind; port 0 picks a free port (the bound address is logged).
    pub listen: String,
    /// Where the SQLite database and the search index live.
    pub data_dir: PathBuf,
    /// `postgres://...` to keep everything in PostgreSQL (several replicas share it); absent:
    /// SQLite in `data_dir`. The search index stays in `data_dir` on every replica.
    pub database_url: Option<Secret>,
    pub knowledge_dir: PathBuf,
    pub actions_dir: PathBuf,
    pub prompts_dir: PathBuf,
    /// Bearer key for the admin API; generated and printed once at start when absent.
    pub admin_key: Option<Secret>,
    /// Bearer key for the agent API; generated and printed once at start when absent.
    pub agent_key: Option<Secret>,
    /// HMAC-SHA256 secret for signed customer identities.
    pub identity_secret: Option<Secret>,
    /// Origins allowed to call the customer API from a browser (`*` for any).
    pub cors_origins: Vec<String>,
    pub llm: LlmSettings,
    pub chat: ChatSettings,
    pub handoff: HandoffSettings,
    pub limits: Limits,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            data_dir: "./data".into(),
            database_url: None,
            knowledge_dir: "./knowledge".into(),
            actions_dir: "./actions".into(),
            prompts_dir: "./prompts".into(),
            admin_key: None,
            agent_key: None,
            identity_secret: None,
            cors_origins: vec!["*".into()],
            llm: LlmSettings::default(),
            chat: ChatSettings::default(),
            handoff: HandoffSettings::default(),
            limits: Limits::default(),
        }
    }
}

/// The OpenAI-compatible model endpoint. With neither `base_url` nor `api_key` the service
/// runs in extractive mode.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LlmSettings {
    pub base_url: Option<String>,
    pub api_key: Option<Secret>,
    pub model: String,
    pub temperature: f32,
    /// Connecting to the provider.
    pub connect_timeout_ms: u64,
    /// From sending the request to the first streamed token.
    pub first_token_timeout_ms: u64,
    /// The whole call, retries included.
    pub total_timeout_ms: u64,
    /// Retries on 429 and 5xx (async-openai's backoff, honouring `Retry-After`).
    pub max_retries: usize,
    /// The model's context window in tokens.
    pub context_tokens: usize,
    /// Tokens kept free for the reply.
    pub reply_tokens: usize,
    /// A Hugging Face `tokenizer.json` for exact token counts; otherwise an estimate is used.
    pub tokenizer: Option<PathBuf>,
}

impl Default for LlmSettings {
    fn default() -> Self {
        Self {
            base_url: None,
            api_key: None,
            model: "gpt-4o-mini".into(),
            temperature: 0.2,
            connect_timeout_ms: 3_000,
            first_token_timeout_ms: 8_000,
            total_timeout_ms: 45_000,
            max_retries: 3,
            context_tokens: 8_192,
            reply_tokens: 700,
            tokenizer: None,
        }
    }
}

impl LlmSettings {
    /// Whether a model endpoint is configured at all.
    pub fn enabled(&self) -> bool {
        self.base_url.is_some() || self.api_key.is_some()
    }
    pub fn connect_timeout(&self) -> Duration {
        Duration::from_millis(self.connect_timeout_ms)
    }
    /// Tokens a prompt may use: the context window minus the reply's share.
    pub fn prompt_budget(&self) -> usize {
        self.context_tokens - self.reply_tokens
    }
    /// Tokens a prompt's messages may use beside tool definitions of `tool_tokens`; an error
    /// when those take the whole prompt budget, so no prompt could fit.
    pub fn messages_budget(&self, tool_tokens: usize) -> Result<usize, String> {
        let budget = self.prompt_budget();
        budget
            .checked_sub(tool_tokens)
            .filter(|&left| left > 0)
            .ok_or_else(|| {
                format!(
                    "the actions' tool definitions take {tool_tokens} tokens, the whole prompt \
                     budget of {budget} (llm.context_tokens - llm.reply_tokens): raise \
                     llm.context_tokens or remove actions"
                )
            })
    }
    pub fn first_token_timeout(&self) -> Duration {
        Duration::from_millis(self.first_token_timeout_ms)
    }
    pub fn total_timeout(&self) -> Duration {
        Duration::from_millis(self.total_timeout_ms)
    }
}

/// How a turn is answered.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChatSettings {
    /// Longest customer message accepted, in characters.
    pub max_message_chars: usize,
    /// Passages retrieved per turn.
    pub passages: usize,
    /// Earlier messages offered to the model (then trimmed to the token budget).
    pub history_messages: usize,
    /// Replies with a confidence below this offer a person.
    pub confidence_threshold: f32,
    /// The business's name, used in prompts and replies.
    pub business_name: String,
}

impl Default for ChatSettings {
    fn default() -> Self {
        Self {
            max_message_chars: 4_000,
            passages: 4,
            history_messages: 12,
            confidence_threshold: 0.35,
            business_name: "Northwind Goods".into(),
        }
    }
}

/// When and how the assistant steps aside for a person.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HandoffSettings {
    /// Below `chat.confidence_threshold`: `offer` a person in the reply, or `handoff` at once.
    pub on_low_confidence: LowConfidence,
    /// Replies in a row below the threshold that hand off as `repeated_failure`.
    pub failed_turns: usize,
    /// A URL to POST each new handoff to (Slack-compatible JSON with a `text` field).
    pub webhook_url: Option<String>,
    pub webhook_timeout_ms: u64,
    /// Attempts per webhook delivery (with backoff between them).
    pub webhook_attempts: u32,
}

impl Default for HandoffSettings {
    fn default() -> Self {
        Self {
            on_low_confidence: LowConfidence::Offer,
            failed_turns: 3,
            webhook_url: None,
            webhook_timeout_ms: 5_000,
            webhook_attempts: 3,
        }
    }
}

/// What a low-confidence reply does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LowConfidence {
    Offer,
    Handoff,
}

/// Request size and rate limits.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest request body (uploads included), in bytes.
    pub max_body_bytes: usize,
    /// Largest article body, in bytes.
    pub max_article_bytes: usize,
    /// New conversations a minute from one client address (0: no limit).
    pub conversations_per_minute: u32,
    /// Customer messages a minute in one conversation (0: no limit).
    pub messages_per_minute: u32,
    /// Open streams of one conversation a customer may hold (0: no limit).
    pub streams_per_conversation: usize,
    /// Open streams in all (0: no limit); at most the process's open-file limit less 256.
    pub max_streams: usize,
    /// Behind a proxy, the header whose last address is the client's (`x-forwarded-for`,
    /// `x-real-ip`); empty: the connection's own address.
    pub client_address_header: String,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 5 * 1024 * 1024,
            max_article_bytes: 1024 * 1024,
            conversations_per_minute: 30,
            messages_per_minute: 20,
            streams_per_conversation: 8,
            max_streams: 20_000,
            client_address_header: String::new(),
        }
    }
}

/// Named variables from API.md and the settings path each one sets.
const NAMED_VARS: &[(&str, &[&str])] = &[
    ("FRONTDESK_LISTEN", &["listen"]),
    ("FRONTDESK_DATA_DIR", &["data_dir"]),
    ("FRONTDESK_DATABASE_URL", &["database_url"]),
    ("FRONTDESK_ADMIN_KEY", &["admin_key"]),
    ("FRONTDESK_AGENT_KEY", &["agent_key"]),
    ("FRONTDESK_KNOWLEDGE_DIR", &["knowledge_dir"]),
    ("FRONTDESK_ACTIONS_DIR", &["actions_dir"]),
    ("FRONTDESK_PROMPTS_DIR", &["prompts_dir"]),
    ("FRONTDESK_IDENTITY_SECRET", &["identity_secret"]),
    ("OPENAI_BASE_URL", &["llm", "base_url"]),
    ("OPENAI_API_KEY", &["llm", "api_key"]),
    ("FRONTDESK_LLM_MODEL", &["llm", "model"]),
];

impl Settings {
    /// Loads settings from an optional TOML file and the process environment.
    pub fn load(file: Option<&std::path::Path>) -> Result<Self, ConfigError> {
        Self::from_sources(file, std::env::vars())
    }

    /// Loads settings from an optional TOML file and the given variables (tests pass their own).
    pub fn from_sources(
        file: Option<&std::path::Path>,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut table = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_owned(),
                    source,
                })?;
                toml::from_str::<toml::Table>(&text).map_err(|e| {
                    ConfigError::Invalid(format!("{}: {}", path.display(), e.message()))
                })?
            }
            None => toml::Table::new(),
        };
        for (name, value) in vars {
            if let Some((_, path)) = NAMED_VARS.iter().find(|(var, _)| *var == name) {
                if !value.is_empty() {
                    set_path(&mut table, path, toml::Value::String(value));
                }
            } else if let Some(rest) = name.strip_prefix("FRONTDESK__") {
                let path: Vec<String> = rest.split("__").map(|s| s.to_lowercase()).collect();
                let path: Vec<&str> = path.iter().map(String::as_str).collect();
                set_path(&mut table, &path, typed_value(&value));
            }
        }
        let settings: Settings = table
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError::Invalid(e.message().to_owned()))?;
        settings.validate()?;
        Ok(settings)
    }

    /// Checks values that parse but make no sense, so a bad config fails at start.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |msg: String| Err(ConfigError::Invalid(msg));
        if self.listen.parse::<std::net::SocketAddr>().is_err() {
            return bad(format!(
                "listen = {:?} is not an address like 127.0.0.1:8080",
                self.listen
            ));
        }
        if let Some(url) = &self.database_url
            && !(url.expose().starts_with("postgres://")
                || url.expose().starts_with("postgresql://"))
        {
            return bad(
                "database_url must be a postgres:// URL (leave it unset for SQLite)".into(),
            );
        }
        if let Some(url) = &self.llm.base_url
            && reqwest::Url::parse(url).is_err()
        {
            return bad(format!("llm.base_url = {url:?} is not a URL"));
        }
        if self.llm.enabled() && self.llm.model.trim().is_empty() {
            return bad("llm.model must name a model when an LLM is configured".into());
        }
        for (name, ms) in [
            ("llm.connect_timeout_ms", self.llm.connect_timeout_ms),
            (
                "llm.first_token_timeout_ms",
                self.llm.first_token_timeout_ms,
            ),
            ("llm.total_timeout_ms", self.llm.total_timeout_ms),
        ] {
            if ms == 0 {
                return bad(format!("{name} must be greater than 0"));
            }
        }
        if self.llm.reply_tokens >= self.llm.context_tokens {
            return bad("llm.reply_tokens must be smaller than llm.context_tokens".into());
        }
        if !(1..=100_000).contains(&self.chat.max_message_chars) {
            return bad("chat.max_message_chars must be between 1 and 100000".into());
        }
        if !(0.0..=1.0).contains(&self.chat.confidence_threshold) {
            return bad("chat.confidence_threshold must be between 0 and 1".into());
        }
        if let Some(url) = &self.handoff.webhook_url
            && reqwest::Url::parse(url).is_err()
        {
            return bad(format!("handoff.webhook_url = {url:?} is not a URL"));
        }
        if self.handoff.failed_turns == 0 || self.handoff.webhook_attempts == 0 {
            return bad(
                "handoff.failed_turns and handoff.webhook_attempts must be at least 1".into(),
            );
        }
        if self.chat.passages == 0 {
            return bad("chat.passages must be at least 1".into());
        }
        for (name, key) in [
            ("admin_key", &self.admin_key),
            ("agent_key", &self.agent_key),
        ] {
            if key.as_ref().is_some_and(|k| k.expose().len() < 8) {
                return bad(format!("{name} must be at least 8 characters"));
            }
        }
        Ok(())
    }
}

impl Settings {
    /// Generates the admin and agent keys that are not configured; returns them so the
    /// caller can print them once.
    pub fn fill_keys(&mut self) -> Vec<(&'static str, Secret)> {
        let mut generated = Vec::new();
        for (name, key) in [
            ("FRONTDESK_ADMIN_KEY", &mut self.admin_key),
            ("FRONTDESK_AGENT_KEY", &mut self.agent_key),
        ] {
            if key.is_none() {
                let secret = Secret::new(format!("fd_{}", uuid::Uuid::new_v4().simple()));
                *key = Some(secret.clone());
                generated.push((name, secret));
            }
        }
        generated
    }
}

/// A secret from the environment, by name (action backends reference them as `${NAME}`).
pub fn env_secret(name: &str) -> Option<Secret> {
    std::env::var(name).ok().map(Secret::new)
}

fn set_path(table: &mut toml::Table, path: &[&str], value: toml::Value) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut current = table;
    for key in parents {
        let entry = current
            .entry((*key).to_owned())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if !entry.is_table() {
            *entry = toml::Value::Table(toml::Table::new());
        }
        let toml::Value::Table(next) = entry else {
            return; // just made a table above
        };
        current = next;
    }
    current.insert((*last).to_owned(), value);
}

/// Reads an environment value as a TOML scalar (number, bool, array) when it is one.
fn typed_value(raw: &str) -> toml::Value {
    toml::from_str::<toml::Table>(&format!("v = {raw}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(raw.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_definitions_are_reserved_from_the_prompt_budget_and_must_leave_room() {
        let llm = LlmSettings {
            context_tokens: 1_000,
            reply_tokens: 200,
            ..LlmSettings::default()
        };
        assert_eq!(llm.messages_budget(0), Ok(800));
        assert_eq!(llm.messages_budget(560), Ok(240));
        for tools in [800, 900] {
            let error = llm.messages_budget(tools).expect_err("no room");
            assert!(error.contains("tool definitions take"), "{error}");
        }
    }

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect()
    }

    #[test]
    fn environment_overrides_file_and_defaults() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("frontdesk.toml");
        std::fs::write(&file, "listen = \"127.0.0.1:9000\"\n[chat]\npassages = 6\n")
            .expect("write");
        let s = Settings::from_sources(
            Some(&file),
            vars(&[
                ("FRONTDESK_LISTEN", "127.0.0.1:0"),
                ("OPENAI_BASE_URL", "http://127.0.0.1:1/v1"),
                ("FRONTDESK__CHAT__CONFIDENCE_THRESHOLD", "0.5"),
                ("FRONTDESK__LLM__TOKENIZER", "/tmp/tok.json"),
            ]),
        )
        .expect("valid");
        assert_eq!(s.listen, "127.0.0.1:0");
        assert_eq!(s.chat.passages, 6);
        assert_eq!(s.chat.confidence_threshold, 0.5);
        assert!(s.llm.enabled());
        assert_eq!(s.llm.tokenizer, Some(PathBuf::from("/tmp/tok.json")));
    }

    #[test]
    fn unknown_keys_and_bad_values_fail_with_a_clear_message() {
        let err = Settings::from_sources(None, vars(&[("FRONTDESK__CHAT__PASAGES", "3")]))
            .expect_err("unknown key");
        assert!(err.to_string().contains("pasages"), "{err}");
        let err = Settings::from_sources(None, vars(&[("FRONTDESK_LISTEN", "nowhere")]))
            .expect_err("bad address");
        assert!(err.to_string().contains("listen"), "{err}");
    }

    #[test]
    fn secrets_never_print() {
        let s = Secret::new("hunter2-secret");
        assert_eq!(format!("{s:?}"), "Secret(***)");
    }
}
