//! Prompt templates from `prompts/` (minijinja) and the token budget that decides which
//! passages and earlier messages fit. The customer's latest message is never trimmed.

use std::path::Path;

use minijinja::{Environment, context, syntax::SyntaxConfig, value::Serde};
use serde::Serialize;

use super::budget::TokenCounter;
use crate::{
    retrieval::Hit,
    storage::{HandoffReason, Message, Role},
};

const SYSTEM: &str = "system.md";
const ANSWER: &str = "answer.md";
const HANDOFF_SUMMARY: &str = "handoff_summary.md";

/// The built-in templates, used for any file missing from the prompts folder.
const BUILT_IN: [(&str, &str); 3] = [
    (SYSTEM, include_str!("../../prompts/system.md")),
    (ANSWER, include_str!("../../prompts/answer.md")),
    (
        HANDOFF_SUMMARY,
        include_str!("../../prompts/handoff_summary.md"),
    ),
];

/// Template failures: a syntax error at start, or a render error naming the template.
#[derive(Debug, thiserror::Error)]
pub enum PromptError {
    #[error("prompt template {name}: {source}")]
    Template {
        name: String,
        source: minijinja::Error,
    },
    #[error("cannot read prompt template {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
}

/// Who speaks in a prompt message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Speaker {
    System,
    User,
    Assistant,
    /// The result of a tool call, answering `tool_call_id`.
    Tool,
}

/// A function call the model asked for.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    /// The arguments as the model wrote them (JSON text, unvalidated).
    pub arguments: String,
}

/// One message of the prompt sent to the model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PromptMessage {
    pub speaker: Speaker,
    pub content: String,
    /// Calls the assistant made (assistant messages only).
    pub tool_calls: Vec<ToolCall>,
    /// The call a tool message answers.
    pub tool_call_id: Option<String>,
}

impl PromptMessage {
    /// A plain message.
    pub fn new(speaker: Speaker, content: impl Into<String>) -> Self {
        Self {
            speaker,
            content: content.into(),
            tool_calls: Vec::new(),
            tool_call_id: None,
        }
    }
}

/// A prompt that fits the budget, and what made it in.
#[derive(Debug, Clone)]
pub struct BuiltPrompt {
    pub messages: Vec<PromptMessage>,
    /// Indices (into the hits given) of the passages included, numbered 1.. in the prompt.
    pub passages: Vec<usize>,
    /// How many earlier messages were kept.
    pub history_kept: usize,
    /// Tokens the prompt uses, as counted.
    pub tokens: usize,
}

/// What a prompt is built from.
pub struct PromptInput<'a> {
    pub business_name: &'a str,
    pub locale: Option<&'a str>,
    /// The language the customer's message is clearly written in, in English ("Spanish"):
    /// what the reply is to be in, over the browser's locale.
    pub language: Option<&'a str>,
    pub question: &'a str,
    pub hits: &'a [Hit],
    /// Earlier messages, oldest first.
    pub history: &'a [Message],
}

#[derive(Serialize)]
struct PassageView<'a> {
    n: usize,
    title: &'a str,
    headings: String,
    text: &'a str,
}

/// The loaded templates.
pub struct Prompts {
    env: Environment<'static>,
}

impl Prompts {
    /// Loads the templates from `dir`, falling back to the built-in one for each missing file.
    pub fn load(dir: &Path) -> Result<Self, PromptError> {
        let mut env = Environment::new();
        let syntax = SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .build()
            .map_err(|source| PromptError::Template {
                name: "syntax".into(),
                source,
            })?;
        env.set_syntax(syntax);
        for (name, built_in) in BUILT_IN {
            let path = dir.join(name);
            let source = match std::fs::read_to_string(&path) {
                Ok(text) => text,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => built_in.to_owned(),
                Err(source) => {
                    return Err(PromptError::Read {
                        path: path.display().to_string(),
                        source,
                    });
                }
            };
            env.add_template_owned(name, source)
                .map_err(|source| PromptError::Template {
                    name: path.display().to_string(),
                    source,
                })?;
        }
        let prompts = Self { env };
        prompts.try_out()?;
        Ok(prompts)
    }

    /// Renders each template on made-up turns, one for each way a real turn differs (a
    /// language known or not, passages or none, each handoff reason, each author), so that
    /// what shows only when a template runs (an unknown filter or test, a call on the wrong
    /// kind of value) stops the start, naming the template, instead of failing turns.
    fn try_out(&self) -> Result<(), PromptError> {
        for (locale, language) in [
            (Some("en"), Some("English")),
            (Some("en"), None),
            (None, None),
        ] {
            self.render(SYSTEM, system_context("Shop", locale, language))?;
        }
        let passage = |headings: &str| PassageView {
            n: 1,
            title: "Shipping",
            headings: headings.into(),
            text: "Standard shipping takes 5 to 7 business days.",
        };
        for passages in [vec![], vec![passage("Delivery times"), passage("")]] {
            self.render(ANSWER, answer_context(&passages, "How long is shipping?"))?;
        }
        let transcript = [Role::Customer, Role::Assistant, Role::Agent, Role::System]
            .map(|role| transcript_line(role, "Where is my order?"));
        for reason in HandoffReason::ALL {
            let context = summary_context(reason.as_str(), &transcript);
            self.render(HANDOFF_SUMMARY, context)?;
        }
        Ok(())
    }

    fn render(&self, name: &str, ctx: minijinja::Value) -> Result<String, PromptError> {
        self.env
            .get_template(name)
            .and_then(|t| t.render(ctx))
            .map(|s| s.trim().to_owned())
            .map_err(|source| PromptError::Template {
                name: name.to_owned(),
                source,
            })
    }

    fn answer(&self, input: &PromptInput<'_>, chosen: &[usize]) -> Result<String, PromptError> {
        let passages: Vec<PassageView<'_>> = chosen
            .iter()
            .enumerate()
            .map(|(n, &i)| PassageView {
                n: n + 1,
                title: &input.hits[i].title,
                headings: input.hits[i].headings.join(" › "),
                text: &input.hits[i].text,
            })
            .collect();
        self.render(ANSWER, answer_context(&passages, input.question))
    }

    /// Builds the chat prompt within `budget` tokens: system prompt and the latest message
    /// always; then passages in rank order; then earlier messages, newest first.
    pub fn chat(
        &self,
        input: &PromptInput<'_>,
        counter: &TokenCounter,
        budget: usize,
    ) -> Result<BuiltPrompt, PromptError> {
        let system = self.render(
            SYSTEM,
            system_context(input.business_name, input.locale, input.language),
        )?;
        let fixed = counter.message(&system);
        let mut chosen: Vec<usize> = Vec::new();
        let mut answer = self.answer(input, &chosen)?;
        let mut used = fixed + counter.message(&answer);
        for i in 0..input.hits.len() {
            chosen.push(i);
            let candidate = self.answer(input, &chosen)?;
            let cost = fixed + counter.message(&candidate);
            if cost <= budget {
                answer = candidate;
                used = cost;
            } else {
                chosen.pop();
            }
        }
        let mut kept: Vec<PromptMessage> = Vec::new();
        for message in input.history.iter().rev() {
            let speaker = match message.role {
                Role::Customer => Speaker::User,
                Role::Assistant | Role::Agent => Speaker::Assistant,
                Role::System => continue,
            };
            let cost = counter.message(&message.text);
            if used + cost > budget {
                break;
            }
            used += cost;
            kept.push(PromptMessage::new(speaker, message.text.clone()));
        }
        let history_kept = kept.len();
        let mut messages = vec![PromptMessage::new(Speaker::System, system)];
        messages.extend(kept.into_iter().rev());
        messages.push(PromptMessage::new(Speaker::User, answer));
        Ok(BuiltPrompt {
            messages,
            passages: chosen,
            history_kept,
            tokens: used,
        })
    }

    /// The prompt asking the model to summarise a conversation for the agent taking it over.
    pub fn handoff_summary(
        &self,
        reason: &str,
        transcript: &[Message],
    ) -> Result<Vec<PromptMessage>, PromptError> {
        let lines: Vec<_> = transcript
            .iter()
            .map(|m| transcript_line(m.role, &m.text))
            .collect();
        let content = self.render(HANDOFF_SUMMARY, summary_context(reason, &lines))?;
        Ok(vec![PromptMessage::new(Speaker::User, content)])
    }
}

// What each template is rendered with (the names a business's templates can use).

fn system_context(
    business_name: &str,
    locale: Option<&str>,
    language: Option<&str>,
) -> minijinja::Value {
    context! { business_name, locale, language }
}

fn answer_context(passages: &[PassageView<'_>], question: &str) -> minijinja::Value {
    context! { passages => Serde(passages), question }
}

fn transcript_line(role: Role, text: &str) -> minijinja::Value {
    context! { role => Serde(role), text }
}

fn summary_context(reason: &str, transcript: &[minijinja::Value]) -> minijinja::Value {
    context! { reason, transcript }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(n: usize, words: usize) -> Hit {
        Hit {
            article_id: format!("art_{n}"),
            chunk_id: format!("art_{n}#0"),
            title: format!("Article {n}"),
            url: None,
            headings: vec!["Section".into()],
            text: format!("passage{n} ") + &"lorem ".repeat(words),
            snippet: String::new(),
            score: 1.0,
            coverage: 1.0,
            found: 1,
        }
    }

    fn message(seq: i64, role: Role, text: &str) -> Message {
        Message::for_test(seq, role, text)
    }

    fn prompts() -> Prompts {
        Prompts::load(Path::new("/nonexistent")).expect("built-in templates load")
    }

    /// A business's template that would fail every turn (a filter that does not exist, a
    /// loop over a string's method) stops the start instead, naming the template; one using
    /// every name it is given loads.
    #[test]
    fn a_template_that_cannot_render_fails_the_start() {
        let dir = tempfile::tempdir().expect("dir");
        let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text);
        let refused = || {
            Prompts::load(dir.path())
                .err()
                .expect("refused")
                .to_string()
        };
        write(SYSTEM, "You help {{ business_name | shout }}.").expect("write");
        let error = refused();
        assert!(error.contains(SYSTEM) && error.contains("shout"), "{error}");
        // A mistake on a branch only some turns take is found too.
        let branch = "{% if language %}In {{ language }}.{% else %}{{ locale | shout }}{% endif %}";
        write(SYSTEM, branch).expect("write");
        refused();
        let branch = "{% if reason == 'frustration' %}{{ reason | shout }}{% endif %}";
        write(HANDOFF_SUMMARY, branch).expect("write");
        write(SYSTEM, "You help {{ business_name }}.").expect("write");
        let error = refused();
        assert!(error.contains(HANDOFF_SUMMARY), "{error}");
        write(
            SYSTEM,
            "You help {{ business_name | upper }} ({{ locale }}, {{ language }}).",
        )
        .expect("write");
        write(ANSWER, "{% for p in passages %}{{ p.n }} {{ p.title }} {{ p.headings }} {{ p.text }}{% endfor %} {{ question.nope() }}")
            .expect("write");
        let error = refused();
        assert!(error.contains(ANSWER), "{error}");
        write(
            ANSWER,
            "{% for p in passages %}{{ p.n }} {{ p.title }}{% endfor %} {{ question }}",
        )
        .expect("write");
        write(HANDOFF_SUMMARY, "{{ reason }}: {% for line in transcript %}{{ line.role }} {{ line.text | title }}{% endfor %}")
            .expect("write");
        Prompts::load(dir.path()).expect("loads");
    }

    #[test]
    fn everything_fits_in_a_large_budget() {
        let hits = [hit(1, 10), hit(2, 10)];
        let history = [
            message(1, Role::Customer, "hello"),
            message(2, Role::Assistant, "hi!"),
        ];
        let input = PromptInput {
            business_name: "Shop",
            locale: Some("en"),
            language: None,
            question: "where is my parcel?",
            hits: &hits,
            history: &history,
        };
        let built = prompts()
            .chat(&input, &TokenCounter::Estimate, 10_000)
            .expect("builds");
        assert_eq!(built.passages, vec![0, 1]);
        assert_eq!(built.history_kept, 2);
        assert_eq!(built.messages.len(), 4);
        let last = &built.messages[3].content;
        // Each passage's title line stands apart from its text.
        assert!(
            last.contains("[1] Article 1 › Section\npassage1 "),
            "{last}"
        );
        assert!(last.contains("passage2"));
        assert!(last.ends_with("where is my parcel?"));
        assert!(built.messages[0].content.contains("Shop"));
    }

    #[test]
    fn small_budget_drops_passages_then_history_but_never_the_question() {
        let hits = [hit(1, 40), hit(2, 400)];
        let history = [
            message(1, Role::Customer, &"old ".repeat(200)),
            message(2, Role::Assistant, "recent answer"),
        ];
        let question = "q ".repeat(300).trim_end().to_owned();
        let input = PromptInput {
            business_name: "Shop",
            locale: None,
            language: None,
            question: &question,
            hits: &hits,
            history: &history,
        };
        let counter = TokenCounter::Estimate;
        let built = prompts().chat(&input, &counter, 600).expect("builds");
        assert_eq!(
            built.passages,
            vec![0],
            "the long second passage is dropped"
        );
        assert_eq!(built.history_kept, 1, "only the recent message fits");
        assert!(built.tokens <= 600, "{}", built.tokens);
        assert!(
            built
                .messages
                .last()
                .is_some_and(|m| m.content.contains(&question))
        );

        let built = prompts().chat(&input, &counter, 10).expect("builds");
        assert!(built.passages.is_empty() && built.history_kept == 0);
        assert!(
            built
                .messages
                .last()
                .is_some_and(|m| m.content.contains(&question))
        );
    }
}
