//! The model's side of a turn: the prompt within budget, the streamed reply, and a bounded
//! tool loop in which the model may run actions or hand the conversation to a person. Facts
//! from actions reach the customer as the action templates render them, never as the model
//! retells them.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::{
    account,
    confidence::{self, ModelSignal},
    grounding,
    turn::{Draft, TurnEvent},
};
use crate::{
    actions::{HANDOFF_TOOL, Outcome},
    app::AppState,
    llm::{
        LlmClient, LlmError, PromptMessage, Speaker, TokenCounter,
        budget::MESSAGE_OVERHEAD,
        extractive,
        prompt::{BuiltPrompt, PromptError, PromptInput},
    },
    phrases::{Lang, Phrases},
    retrieval::Hit,
    storage::{Conversation, HandoffReason, Message, Role, StoreError},
    telemetry::{Metrics, Step},
};

/// The marker the system prompt asks the model to send when the passages do not answer.
const NO_ANSWER: &str = "NO_ANSWER";

/// Model calls per turn: tool rounds plus the final answer.
const MAX_ROUNDS: usize = 3;

/// What the model is asked: the customer's message in its conversation, the recent history
/// and the passages found for it.
pub struct Asked<'a> {
    pub conversation: &'a Conversation,
    pub message: &'a Message,
    pub history: &'a [Message],
    pub hits: &'a [Hit],
    /// The service's own words, in the customer's language.
    pub phrases: &'static Phrases,
}

/// The prompt for what is asked, or None (logged) when its template fails. A tokenizer takes
/// a few hundred microseconds over a prompt, so it counts on the blocking pool; the estimate
/// is arithmetic and the template renders in tens of microseconds, so that prompt is built
/// here, without the blocking pool's two thread hand-offs.
async fn prompt(state: &Arc<AppState>, asked: &Asked<'_>) -> Option<BuiltPrompt> {
    fn build(
        state: &AppState,
        locale: Option<&str>,
        question: &str,
        history: &[Message],
        hits: &[Hit],
    ) -> Result<BuiltPrompt, PromptError> {
        let input = PromptInput {
            business_name: &state.settings.chat.business_name,
            locale,
            // As the reply's language is told, without the locale's or English's fallback
            // (a customer in Italian is not told to be answered in English).
            language: Lang::of_messages(
                question,
                history
                    .iter()
                    .rev()
                    .filter(|m| m.role == Role::Customer)
                    .map(|m| m.text.as_str()),
            )
            .map(Lang::name),
            question,
            hits,
            history,
        };
        // Every call but the last round's offers the tools, so their definitions are reserved
        // (the start checked that they leave room).
        let budget = state
            .settings
            .llm
            .messages_budget(state.tool_tokens)
            .unwrap_or_default();
        state.prompts.chat(&input, &state.tokens, budget)
    }
    let locale = asked.conversation.locale.as_deref();
    let question = asked.message.text.as_str();
    let built = if matches!(state.tokens, TokenCounter::Exact(_)) {
        let state = state.clone();
        let (locale, question) = (locale.map(str::to_owned), question.to_owned());
        let (history, hits) = (asked.history.to_vec(), asked.hits.to_vec());
        let counted = tokio::task::spawn_blocking(move || {
            build(&state, locale.as_deref(), &question, &history, &hits)
        });
        match counted.await {
            Ok(built) => built,
            Err(error) => {
                tracing::error!(%error, "prompt task failed");
                return None;
            }
        }
    } else {
        build(state, locale, question, asked.history, asked.hits)
    };
    built
        .inspect_err(|error| tracing::error!(%error, "prompt failed"))
        .ok()
}

/// Asks the model, streaming its text and running the actions it calls; falls back to an
/// honest handoff when it fails. Adds the time spent waiting on the model to `waited`.
pub async fn generate(
    state: &Arc<AppState>,
    llm: &LlmClient,
    asked: Asked<'_>,
    tx: &mpsc::UnboundedSender<TurnEvent>,
    waited: &mut Duration,
) -> Result<Draft, StoreError> {
    let Some(built) = prompt(state, &asked).await else {
        return Ok(model_down(Gathered::default(), asked.phrases));
    };
    let Asked {
        conversation,
        message,
        history,
        hits,
        phrases,
    } = asked;
    let settings = &state.settings;
    tracing::debug!(
        tokens = built.tokens,
        passages = built.passages.len(),
        history = built.history_kept,
        "prompt built"
    );
    let tools = state.actions.tools();
    let mut messages = built.messages;
    let mut gathered = Gathered::default();
    let mut handoff = None;
    let mut verified_as = conversation.verified_as.clone();
    let mut text = String::new();
    // The end of the model's answer, streamed once the whole answer has passed the check.
    let mut unsent = None;
    let passages: Vec<&Hit> = built.passages.iter().map(|&i| &hits[i]).collect();
    // The model's own time this turn: its calls, not the actions run between them; recorded
    // however the loop ends (a failed store in a tool round included).
    let mut model_time = ModelTime {
        metrics: &state.metrics,
        total: Duration::ZERO,
    };
    let mut prompt_tokens = built.tokens;
    // `llm.total_timeout_ms` bounds the turn's model calls together, not each one (the
    // actions run between them do not count).
    let total = settings.llm.total_timeout();
    // Whether the model called the handoff tool.
    let mut handed_to_person = false;
    // In lower case, for finding in it what the model passes as the customer's.
    let said: Vec<String> = customer_said(history, message)
        .iter()
        .map(|text| text.to_lowercase())
        .collect();
    for round in 0..MAX_ROUNDS {
        // The last round offers no tools, so the model must answer.
        let offered = if round + 1 < MAX_ROUNDS { tools } else { &[] };
        let given = grounds(
            &passages,
            &gathered.facts,
            history,
            message,
            &messages,
            &state.actions,
        );
        let mut gate = grounding::Gate::new(&given, NO_ANSWER);
        let call_started = Instant::now();
        let call = llm.stream(&messages, offered, |piece| {
            if let Some(sentences) = gate.push(piece) {
                let _ = tx.send(TurnEvent::Delta(sentences));
            }
        });
        let result = tokio::time::timeout(total.saturating_sub(model_time.total), call)
            .await
            .unwrap_or(Err(LlmError::Deadline(total)));
        let call_time = call_started.elapsed();
        *waited += call_time;
        model_time.total += call_time;
        let completion = match result {
            Ok(completion) => completion,
            Err(error) => {
                tracing::warn!(%error, "model call failed; handing off");
                state.metrics.llm_failure(error.kind());
                return Ok(model_down(gathered, phrases));
            }
        };
        if round == 0
            && let Some(first) = completion.first_output
        {
            state.metrics.observe(Step::LlmFirstToken, first);
        }
        let reply_tokens =
            state.tokens.count(&completion.text) + state.tokens.calls(&completion.tool_calls);
        let offered_tokens = if offered.is_empty() {
            0
        } else {
            state.tool_tokens
        };
        state
            .metrics
            .tokens(prompt_tokens + offered_tokens, reply_tokens);
        // Calls in the last round, which offered no tools, are not run: their results would
        // reach no model.
        if completion.tool_calls.is_empty() || offered.is_empty() {
            text = completion.text;
            unsent = gate.rest();
            if completion.cut > 0 {
                // The text lost its cut tail, and so does what is not streamed yet (the gate
                // lets through whole sentences only, by the same rule, so the tail is in it).
                unsent = unsent.and_then(|rest| {
                    let keep = rest.len().checked_sub(completion.cut)?;
                    (keep > 0).then(|| rest[..keep].to_owned())
                });
            }
            break;
        }
        // What the model wrote goes back in the next prompt, as one more message.
        prompt_tokens += reply_tokens + MESSAGE_OVERHEAD;
        let mut assistant = PromptMessage::new(Speaker::Assistant, completion.text);
        assistant.tool_calls = completion.tool_calls.clone();
        messages.push(assistant);
        let facts_before = gathered.facts.len();
        for call in completion.tool_calls {
            let result = if call.name == HANDOFF_TOOL {
                handed_to_person = true;
                handoff.get_or_insert(crate::actions::handoff_reason(&call.arguments));
                json!({"ok": true, "handed_off": true})
            } else {
                let args: Value = serde_json::from_str(&call.arguments).unwrap_or(Value::Null);
                // A model may not prove who the customer is with details it supplied itself.
                let unsaid = state
                    .actions
                    .spec(&call.name)
                    .map(|spec| spec.identity_args(&args))
                    .unwrap_or_default()
                    .into_iter()
                    .find(|(_, value)| {
                        value.is_empty() || !said.iter().any(|t| grounding::has_token(t, value))
                    })
                    .map(|(name, _)| name);
                let outcome = match unsaid {
                    Some(param) => Outcome::Invalid {
                        errors: vec![format!(
                            "{param}: not in the customer's messages; ask the customer for it"
                        )],
                    },
                    None => {
                        state
                            .actions
                            .run(
                                &call.name,
                                &args,
                                &conversation.id,
                                verified_as.as_deref(),
                                phrases.lang,
                            )
                            .await?
                    }
                };
                tool_result(
                    state,
                    conversation,
                    outcome,
                    phrases,
                    &mut gathered,
                    &mut handoff,
                    &mut verified_as,
                )
                .await?
            };
            let mut reply = PromptMessage::new(Speaker::Tool, result.to_string());
            reply.tool_call_id = Some(call.id);
            prompt_tokens += state.tokens.prompt_message(&reply);
            messages.push(reply);
        }
        // Facts go to the customer at once, exactly as rendered.
        for fact in &gathered.facts[facts_before..] {
            let _ = tx.send(TurnEvent::Delta(format!("{fact}\n\n")));
        }
        if handed_to_person {
            break;
        }
    }
    drop(model_time);
    if handed_to_person {
        // The model handed the customer to a person: no more model calls, and the service
        // says so in its own words (after any facts looked up on the way).
        let reason = handoff.unwrap_or(HandoffReason::LowConfidence);
        let said = super::triggers::acknowledgement(reason, phrases);
        let _ = tx.send(TurnEvent::Delta(said.to_owned()));
        let mut parts = gathered.facts;
        parts.push(said.to_owned());
        return Ok(Draft {
            text: parts.join("\n\n"),
            citations: Vec::new(),
            actions: gathered.records,
            confidence: None,
            handoff,
        });
    }
    let evidence = confidence::evidence(hits);
    let threshold = settings.chat.confidence_threshold;
    // The marker starts the answer, or (some models) ends it.
    let text = text.trim();
    let without_marker = grounding::without_marker(text, NO_ANSWER);
    let no_answer = without_marker.is_some();
    if no_answer && gathered.facts.is_empty() {
        return Ok(Draft {
            text: extractive::not_found(phrases),
            citations: Vec::new(),
            actions: gathered.records,
            confidence: Some(confidence::score(evidence, ModelSignal::NoAnswer)),
            handoff,
        });
    }
    let (mut prose, cited) = strip_citation_markers(without_marker.unwrap_or(text), passages.len());
    let given = grounds(
        &passages,
        &gathered.facts,
        history,
        message,
        &messages,
        &state.actions,
    );
    if let Some(claim) = grounding::ungrounded(&prose, &given) {
        tracing::warn!(
            claim,
            "the model's reply states a fact it was not given: not shown"
        );
        state.metrics.llm_failure("ungrounded");
        if let Some(ask) = gathered.ask.take().filter(|_| gathered.facts.is_empty()) {
            // A lookup waits on the customer's details: ask for them, in the service's words.
            return Ok(Draft {
                text: ask,
                citations: Vec::new(),
                actions: gathered.records,
                confidence: None,
                handoff,
            });
        }
        if gathered.facts.is_empty() {
            // Nothing else to show: the help center's own words, and a person offered.
            let reply = extractive::reply(hits, threshold, phrases);
            let mut text = reply.text;
            if !reply.citations.is_empty() {
                text.push_str("\n\n");
                text.push_str(phrases.offer_after_model);
            }
            return Ok(Draft {
                text,
                citations: reply.citations,
                actions: gathered.records,
                confidence: Some(confidence::score(reply.evidence, ModelSignal::NoAnswer)),
                handoff,
            });
        }
        prose.clear();
    }
    if prose.is_empty() && gathered.facts.is_empty() {
        // The model ended without a word for the customer (tool calls to the last).
        tracing::warn!("the model's reply has no text; handing off");
        state.metrics.llm_failure("no_text");
        return Ok(model_down(gathered, phrases));
    }
    if !prose.is_empty()
        && !no_answer
        && let Some(rest) = unsent
    {
        let _ = tx.send(TurnEvent::Delta(rest));
    }
    // One citation an article, however many of its passages were cited.
    let mut citations: Vec<crate::storage::Citation> = Vec::new();
    for &n in &cited {
        let hit = passages[n - 1];
        if !citations.iter().any(|c| c.article_id == hit.article_id) {
            citations.push(extractive::citation(hit));
        }
    }
    let mut confidence = if !gathered.records.is_empty() && gathered.records.iter().all(|r| r.ok) {
        1.0
    } else if cited.is_empty() {
        confidence::score(evidence, ModelSignal::Uncited)
    } else {
        confidence::score(evidence, ModelSignal::Cited)
    };
    let mut parts = gathered.facts;
    if !prose.is_empty() {
        parts.push(prose);
    }
    let mut text = parts.join("\n\n");
    if handoff.is_none() && confidence < threshold {
        text.push_str("\n\n");
        text.push_str(phrases.offer_after_model);
    }
    if handoff == Some(HandoffReason::ActionFailed) {
        confidence = confidence.min(threshold);
    }
    Ok(Draft {
        text,
        citations,
        actions: gathered.records,
        confidence: Some(confidence),
        handoff,
    })
}

/// What the model's prose is checked against ([`grounding::Grounds`]): the passages and
/// their links, what the tools told it (facts, what to ask the customer), the tools' own
/// descriptions ("like NW-1234567") and the earlier replies (checked when they were shown,
/// or an agent's); and, for references and addresses only, the customer's messages.
fn grounds<'a>(
    passages: &[&'a Hit],
    facts: &'a [String],
    history: &'a [Message],
    message: &'a Message,
    messages: &'a [PromptMessage],
    actions: &'a crate::actions::Actions,
) -> grounding::Grounds<'a> {
    let given = passages
        .iter()
        .map(|hit| hit.text.as_str())
        .chain(passages.iter().filter_map(|hit| hit.url.as_deref()))
        .chain(facts.iter().map(String::as_str))
        .chain(
            messages
                .iter()
                .filter(|m| m.speaker == Speaker::Tool)
                .map(|m| m.content.as_str()),
        )
        .chain([actions.described()])
        .chain(
            history
                .iter()
                .filter(|m| m.role != Role::Customer)
                .map(|m| m.text.as_str()),
        )
        .collect();
    let said = customer_said(history, message);
    grounding::Grounds { given, said }
}

/// What the customer wrote: their earlier messages and this one.
fn customer_said<'a>(history: &'a [Message], message: &'a Message) -> Vec<&'a str> {
    history
        .iter()
        .filter(|m| m.role == Role::Customer)
        .chain([message])
        .map(|m| m.text.as_str())
        .collect()
}

/// The model's time in one turn, recorded as `llm_total` when dropped.
struct ModelTime<'a> {
    metrics: &'a Metrics,
    total: Duration,
}

impl Drop for ModelTime<'_> {
    fn drop(&mut self) {
        self.metrics.observe(Step::LlmTotal, self.total);
    }
}

/// What a turn's tool calls have shown the customer and run.
#[derive(Default)]
struct Gathered {
    /// Facts as rendered, shown to the customer as they are.
    facts: Vec<String>,
    records: Vec<crate::storage::ActionRecord>,
    /// The service's request for what a lookup needs (the email and an order number), shown
    /// when the model's own words are withheld, so the customer is still asked.
    ask: Option<String>,
}

impl Gathered {
    /// A fact for the customer, with the record it was rendered from; the same fact again
    /// (a model that repeats a lookup) is shown once, while every record is kept.
    fn add(&mut self, text: String, record: Option<crate::storage::ActionRecord>) {
        self.records.extend(record);
        if !self.facts.contains(&text) {
            self.facts.push(text);
        }
    }
}

/// What the model is told about an action's outcome; facts and records are collected for
/// the customer.
async fn tool_result(
    state: &AppState,
    conversation: &Conversation,
    outcome: Outcome,
    phrases: &Phrases,
    gathered: &mut Gathered,
    handoff: &mut Option<HandoffReason>,
    verified_as: &mut Option<String>,
) -> Result<Value, StoreError> {
    Ok(match outcome {
        Outcome::Found {
            record,
            text,
            verified,
        } => {
            if let Some(customer) = verified
                && !account::adopt(state, &conversation.id, verified_as, customer).await?
            {
                gathered.add(phrases.other_account.to_owned(), None);
                return Ok(json!({
                    "ok": false,
                    "error": "other_account",
                    "shown_to_customer": phrases.other_account,
                }));
            }
            // What the customer was shown is all the model needs to go on: the record itself
            // (addresses, customer ids) stays out of the prompt.
            let result = json!({"ok": true, "shown_to_customer": text});
            gathered.add(text, Some(record));
            result
        }
        Outcome::NotFound { record, text } => {
            gathered.add(text.clone(), Some(record));
            json!({"ok": false, "error": "not_found", "shown_to_customer": text})
        }
        Outcome::NeedsVerification { text } => {
            let result =
                json!({"ok": false, "error": "verification_required", "ask_the_customer": text});
            gathered.ask = Some(text);
            result
        }
        Outcome::Invalid { errors } => {
            json!({"ok": false, "error": "invalid_arguments", "details": errors})
        }
        Outcome::RateLimited { text } => {
            gathered.add(text.clone(), None);
            json!({"ok": false, "error": "rate_limited", "shown_to_customer": text})
        }
        Outcome::Failed { record, text } => {
            gathered.add(text, Some(record));
            handoff.get_or_insert(HandoffReason::ActionFailed);
            json!({"ok": false, "error": "backend_failed"})
        }
        Outcome::Unknown => json!({"ok": false, "error": "unknown_tool"}),
    })
}

fn model_down(gathered: Gathered, phrases: &Phrases) -> Draft {
    let mut parts = gathered.facts;
    parts.push(phrases.model_down.to_owned());
    Draft {
        text: parts.join("\n\n"),
        citations: Vec::new(),
        actions: gathered.records,
        confidence: None,
        handoff: Some(HandoffReason::LlmUnavailable),
    }
}

/// Removes `[n]` markers (and lists, `[n, m]`) from the model's text; returns the cleaned
/// text and the passage numbers cited (1 ≤ n ≤ `passages`; a number past them cites
/// nothing), in first-cited order.
pub(super) fn strip_citation_markers(text: &str, passages: usize) -> (String, Vec<usize>) {
    let mut out = String::with_capacity(text.len());
    let mut cited = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('[') {
        let after = &rest[open + 1..];
        // `[2]`, or a list: `[2, 3]`, `[2;3]`.
        let numbers = after.find(']').and_then(|close| {
            after[..close]
                .split([',', ';'])
                .map(|n| n.trim().parse::<usize>().ok())
                .collect::<Option<Vec<usize>>>()
                .map(|numbers| (numbers, close))
        });
        match numbers {
            Some((numbers, close)) => {
                out.push_str(rest[..open].trim_end_matches(' '));
                for n in numbers {
                    if (1..=passages).contains(&n) && !cited.contains(&n) {
                        cited.push(n);
                    }
                }
                rest = &after[close + 1..];
            }
            _ => {
                out.push_str(&rest[..=open]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    (out.trim().to_owned(), cited)
}

#[cfg(test)]
mod tests {
    use super::strip_citation_markers;

    #[test]
    fn citation_markers_are_collected_and_removed() {
        let (text, cited) = strip_citation_markers(
            "Standard shipping is free over $50 [2]. Returns: 30 days [1][2].",
            2,
        );
        assert_eq!(
            text,
            "Standard shipping is free over $50. Returns: 30 days."
        );
        assert_eq!(cited, vec![2, 1]);
        let (text, cited) = strip_citation_markers("Free [2, 3]. Fast [1;2]. [see] [9]", 3);
        assert_eq!(text, "Free. Fast. [see]");
        assert_eq!(cited, vec![2, 3, 1]);
    }

    #[test]
    fn markers_past_the_passages_go_and_other_brackets_stay() {
        let (text, cited) = strip_citation_markers("See [3] and [note] here [1]", 2);
        assert_eq!(text, "See and [note] here");
        assert_eq!(cited, vec![1]);
    }
}
