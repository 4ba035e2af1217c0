//! Routing by the configured model: each labelled message goes through the service's own
//! prompt (with the passages found for it in the knowledge folder) and tools (every action in
//! `actions/`, and `handoff_to_human`) to the OpenAI-compatible model, and the first tool it
//! calls is the route, as in a live turn.

use futures_util::{StreamExt, stream};

use crate::{
    actions,
    config::Settings,
    llm::{LlmClient, LlmError, Prompts, TokenCounter, Tool, prompt::PromptInput},
    retrieval::{Synonyms, knowledge_files},
};

use super::ScratchIndex;

/// Labelled messages in flight at once.
const CONCURRENCY: usize = 4;

/// The predicted label when the model call failed (shown in the confusion table).
pub const MODEL_ERROR: &str = "model_error";

/// The model with the prompt and tools a live turn would give it.
pub struct ModelRouter {
    llm: LlmClient,
    model: String,
    prompts: Prompts,
    tools: Vec<Tool>,
    tokens: TokenCounter,
    business_name: String,
    budget: usize,
    /// The knowledge folder's articles, searched for the passages a live turn's prompt carries.
    knowledge: ScratchIndex,
    passages: usize,
}

impl ModelRouter {
    /// The router for these settings, or `None` when no model is configured.
    pub fn from_settings(settings: &Settings) -> Result<Option<Self>, String> {
        let Some(llm) = LlmClient::from_settings(&settings.llm).map_err(|e| e.to_string())? else {
            return Ok(None);
        };
        let specs = actions::spec::load_dir(&settings.actions_dir)?;
        let tools = actions::tools_for(&specs);
        let tokens = TokenCounter::from_settings(&settings.llm)?;
        Ok(Some(Self {
            llm,
            model: settings.llm.model.clone(),
            prompts: Prompts::load(&settings.prompts_dir).map_err(|e| e.to_string())?,
            // The tools' definitions are reserved from the budget, as in a live turn.
            budget: settings.llm.messages_budget(tokens.tools(&tools))?,
            tools,
            tokens,
            business_name: settings.chat.business_name.clone(),
            knowledge: knowledge_index(settings)?,
            passages: settings.chat.passages,
        }))
    }

    /// The model's name, for the report.
    pub fn model(&self) -> &str {
        &self.model
    }

    /// The route the model takes for one message: the label of the first tool it calls, or
    /// `knowledge` when it answers in words.
    pub async fn route(&self, text: &str) -> Result<&'static str, String> {
        let hits = self
            .knowledge
            .search(text, self.passages)
            .map_err(|e| e.to_string())?;
        let input = PromptInput {
            business_name: &self.business_name,
            locale: None,
            language: crate::phrases::Lang::of_text(text).map(crate::phrases::Lang::name),
            question: text,
            hits: &hits,
            history: &[],
        };
        let built = self
            .prompts
            .chat(&input, &self.tokens, self.budget)
            .map_err(|e| e.to_string())?;
        let completion = self
            .llm
            .stream(&built.messages, &self.tools, |_| {})
            .await
            .map_err(|e: LlmError| e.to_string())?;
        Ok(label_for_tool(
            completion.tool_calls.first().map(|c| c.name.as_str()),
        ))
    }

    /// Routes every message, a few at a time, in order; a failed call is labelled
    /// [`MODEL_ERROR`].
    pub async fn route_all(&self, texts: &[&str]) -> Vec<&'static str> {
        stream::iter(texts)
            .map(|text| async move {
                self.route(text).await.unwrap_or_else(|error| {
                    tracing::warn!(%error, "model routing call failed");
                    MODEL_ERROR
                })
            })
            .buffered(CONCURRENCY)
            .collect()
            .await
    }
}

/// The knowledge folder's articles in a scratch index.
fn knowledge_index(settings: &Settings) -> Result<ScratchIndex, String> {
    let articles: Vec<_> = knowledge_files(&settings.knowledge_dir)
        .into_iter()
        .map(|(stem, input)| input.into_article(stem, String::new()))
        .collect();
    let synonyms = Synonyms::load(&settings.knowledge_dir).map_err(|e| e.to_string())?;
    ScratchIndex::build(&articles, &synonyms).map_err(|e| e.to_string())
}

/// The routing label a tool call stands for (`None`: no tool, an answer in words).
pub fn label_for_tool(name: Option<&str>) -> &'static str {
    match name {
        None => "knowledge",
        Some("order_status" | "recent_orders") => "order_status",
        Some("billing_lookup") => "invoice",
        Some("refund_status") => "refund_status",
        Some(actions::HANDOFF_TOOL) => "human",
        // Asking who the customer is first says it is an account question, not which one.
        Some("verify_customer") => "verify_customer",
        Some(_) => "other_tool",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_calls_map_to_routing_labels() {
        assert_eq!(label_for_tool(None), "knowledge");
        assert_eq!(label_for_tool(Some("order_status")), "order_status");
        assert_eq!(label_for_tool(Some("recent_orders")), "order_status");
        assert_eq!(label_for_tool(Some("billing_lookup")), "invoice");
        assert_eq!(label_for_tool(Some("refund_status")), "refund_status");
        assert_eq!(label_for_tool(Some("handoff_to_human")), "human");
        assert_eq!(label_for_tool(Some("verify_customer")), "verify_customer");
        assert_eq!(label_for_tool(Some("made_up")), "other_tool");
    }
}
