//! Handoff summaries: written by the model from `prompts/handoff_summary.md`, or built
//! deterministically from the same facts when no model is configured or it fails.

use super::facts;
use crate::{
    conversation::{self, signals},
    storage::{Conversation, HandoffReason, Message, Role},
};

/// Longest quote of a customer message in the fallback summary, in characters.
const QUOTE_CHARS: usize = 200;

/// Most unanswered questions listed in the fallback summary (the latest).
const UNANSWERED: usize = 5;

/// The summary built without a model: goal, latest message, questions left unanswered, what
/// was tried, facts, open point. `threshold`: the confidence below which a reply did not
/// answer.
pub fn fallback(
    conversation: &Conversation,
    reason: HandoffReason,
    transcript: &[Message],
    threshold: f32,
) -> String {
    let customer_lines: Vec<&Message> = transcript
        .iter()
        .filter(|m| m.role == Role::Customer)
        .collect();
    // The goal first: the queue shows a summary's first line.
    let need = conversation::latest_need(customer_lines.iter().map(|m| m.text.as_str()));
    let mut lines = vec![match need {
        Some(need) => format!("Goal: \"{}\"", quote(need)),
        None if reason == HandoffReason::CustomerRequest => {
            "Goal: asked for a person without saying what about.".into()
        }
        None => "Goal: not said yet.".into(),
    }];
    if let Some(last) = customer_lines
        .last()
        .filter(|m| Some(m.text.as_str()) != need)
    {
        lines.push(format!("Latest: \"{}\"", quote(&last.text)));
    }
    let open = unanswered(transcript, threshold);
    if !open.is_empty() {
        let quoted: Vec<String> = open.iter().map(|q| format!("\"{}\"", quote(q))).collect();
        lines.push(format!("Unanswered: {}.", quoted.join("; ")));
    }
    let who = conversation
        .customer
        .name
        .clone()
        .or_else(|| conversation.customer.email.clone());
    lines.push(match (who, &conversation.verified_as) {
        (Some(who), Some(id)) => format!("Customer: {who} (verified as {id})."),
        (Some(who), None) => format!("Customer: {who} (not verified)."),
        (None, Some(id)) => format!("Customer: verified as {id}."),
        (None, None) => "Customer: not named, not verified.".into(),
    });
    // Answers carry a confidence or an action's facts; the handoff's "I'm connecting you" and
    // replies to small talk carry neither.
    let replies = transcript
        .iter()
        .filter(|m| m.role == Role::Assistant && (m.confidence.is_some() || !m.actions.is_empty()))
        .count();
    let mut cited: Vec<&str> = transcript
        .iter()
        .flat_map(|m| m.citations.iter().map(|c| c.title.as_str()))
        .collect();
    cited.dedup();
    cited.sort_unstable();
    cited.dedup();
    let mut tried = format!("Tried: {replies} assistant repl{}", plural(replies));
    if !cited.is_empty() {
        tried.push_str(&format!("; articles cited: {}", cited.join(", ")));
    }
    lines.push(tried + ".");
    let facts: Vec<String> = transcript
        .iter()
        .flat_map(|m| m.actions.iter())
        .map(|a| {
            format!(
                "{} {}{}",
                a.name,
                if a.ok { "ok" } else { "failed" },
                facts::brief(&a.result)
            )
        })
        .collect();
    if !facts.is_empty() {
        lines.push(format!("Facts: {}", facts.join("; ")));
    }
    lines.push(format!("Mood: {}.", mood(&customer_lines)));
    lines.push(format!("Why handed off: {}.", reason.as_str()));
    lines.push("Open: the customer is waiting for a person to reply.".into());
    lines.join("\n")
}

/// Lines of the built-in summary that the model's never stands in for: who the customer is
/// and whether verified, the questions left unanswered, the actions' facts, why it was
/// handed off. They are read from the stored conversation, where the model's lines may
/// repeat what a customer claimed ("my refund was approved by your manager").
const CHECKED_LINES: &[&str] = &["Unanswered:", "Customer:", "Facts:", "Why handed off:"];

/// The lines taken from the model's summary: its reading of the conversation.
const MODEL_LINES: &[&str] = &["Goal:", "Tried:", "Mood:", "Open:"];

/// The model's [`MODEL_LINES`] (as it may dress them: "**Goal:**", "- Goal:"), then the
/// built-in summary's [`CHECKED_LINES`]; every other line of the model's is dropped. None
/// (the built-in summary stays) when the model's does not open with the customer's goal, as
/// the prompt asks.
pub fn with_checked_lines(written: &str, built_in: &str) -> Option<String> {
    let labelled = |line: &str, labels: &[&str]| -> Option<String> {
        let bare = line
            .trim()
            .trim_start_matches(['-', '*', '•', ' '])
            .replace("**", "");
        labels
            .iter()
            .any(|label| starts_with_ignoring_case(&bare, label))
            .then_some(bare)
    };
    let lines: Vec<String> = written
        .lines()
        .filter_map(|line| labelled(line, MODEL_LINES))
        .collect();
    if !lines
        .first()
        .is_some_and(|l| starts_with_ignoring_case(l, "Goal:"))
    {
        return None;
    }
    let kept = built_in
        .lines()
        .filter(|line| labelled(line, CHECKED_LINES).is_some())
        .map(str::to_owned);
    Some(lines.into_iter().chain(kept).collect::<Vec<_>>().join("\n"))
}

fn starts_with_ignoring_case(line: &str, prefix: &str) -> bool {
    line.get(..prefix.len())
        .is_some_and(|start| start.eq_ignore_ascii_case(prefix))
}

/// The customer's questions the assistant's replies fell short on (a confidence below
/// `threshold`) since its last confident answer or an agent's message, oldest first: the
/// last `UNANSWERED`.
fn unanswered(transcript: &[Message], threshold: f32) -> Vec<&str> {
    let (mut asked, mut open) = (None, Vec::new());
    for m in transcript {
        match (m.role, m.confidence) {
            (Role::Customer, _) => asked = Some(m.text.as_str()),
            (Role::Assistant, Some(c)) if c < threshold => open.extend(asked.take()),
            (Role::Assistant, Some(_)) | (Role::Agent, _) => open.clear(),
            (Role::Assistant, None) | (Role::System, _) => {}
        }
    }
    open.split_off(open.len().saturating_sub(UNANSWERED))
}

/// The customer's mood from the frustration signals of their messages.
fn mood(messages: &[&Message]) -> String {
    let (mut negative, mut profanity, mut shouting) = (false, false, false);
    for m in messages {
        let f = signals::frustration(&m.text);
        negative |= f.negative;
        profanity |= f.profanity;
        shouting |= f.shouting;
    }
    let signals: Vec<&str> = [
        (negative, "angry or negative wording"),
        (profanity, "profanity"),
        (shouting, "shouting"),
    ]
    .into_iter()
    .filter_map(|(on, name)| on.then_some(name))
    .collect();
    if signals.is_empty() {
        "calm".into()
    } else {
        format!("frustrated ({})", signals.join(", "))
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "y" } else { "ies" }
}

/// `text` on one line, cut at `QUOTE_CHARS`.
pub(super) fn quote(text: &str) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= QUOTE_CHARS {
        one_line
    } else {
        format!(
            "{}…",
            one_line.chars().take(QUOTE_CHARS).collect::<String>()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_models_summary_keeps_the_checked_lines_of_the_built_in_one() {
        let built_in = "Goal: \"refund?\"\nCustomer: Ana (verified as c1).\nTried: 1 assistant reply.\nFacts: order_status ok NW-1\nMood: calm.\nWhy handed off: customer_request.\nOpen: waiting.";
        let written = "**Goal:** a refund for NW-1.\n- **Facts:** refund approved by a manager\n  - approved by: the manager\n\nCustomer: Ana, VIP\nFact: $5,000\n- Open: the refund.";
        assert_eq!(
            with_checked_lines(written, built_in).as_deref(),
            Some(
                "Goal: a refund for NW-1.\nOpen: the refund.\nCustomer: Ana (verified as c1).\nFacts: order_status ok NW-1\nWhy handed off: customer_request."
            )
        );
        assert_eq!(
            with_checked_lines("A refund.\nOpen: x\nGoal: y", built_in),
            None
        );
        assert_eq!(with_checked_lines("", built_in), None);
    }
    use crate::storage::{Citation, Customer, Mode};

    fn message(seq: i64, role: Role, text: &str, cite: Option<&str>) -> Message {
        let citations = cite
            .map(|t| Citation {
                article_id: "a".into(),
                title: t.into(),
                url: None,
                snippet: String::new(),
            })
            .into_iter()
            .collect();
        // The assistant's answers carry a confidence (acknowledgements are built by hand).
        let confidence = (role == Role::Assistant).then_some(0.8);
        Message {
            citations,
            confidence,
            ..Message::for_test(seq, role, text)
        }
    }

    #[test]
    fn fallback_summary_holds_the_facts_of_the_conversation() {
        let conversation = Conversation {
            id: "c".into(),
            channel: "web".into(),
            locale: None,
            customer: Customer {
                name: Some("Ana".into()),
                ..Customer::default()
            },
            verified_as: None,
            mode: Mode::Ai,
            created_at: String::new(),
        };
        let transcript = [
            message(1, Role::Customer, "How long do refunds take?", None),
            message(2, Role::Assistant, "5-10 days", Some("Refunds")),
            message(
                3,
                Role::Customer,
                "It has been 20 days, this is ridiculous!!!",
                None,
            ),
        ];
        let s = fallback(&conversation, HandoffReason::Frustration, &transcript, 0.35);
        assert!(s.contains("Ana (not verified)"), "{s}");
        assert!(
            s.contains("Goal: \"It has been 20 days, this is ridiculous!!!\""),
            "{s}"
        );
        assert!(
            s.contains("1 assistant reply; articles cited: Refunds"),
            "{s}"
        );
        assert!(s.contains("frustration"), "{s}");
        assert!(
            s.contains("Mood: frustrated (angry or negative wording)."),
            "{s}"
        );
        assert!(
            s.starts_with("Goal: "),
            "the queue shows the first line: {s}"
        );
    }

    fn anonymous() -> Conversation {
        Conversation {
            id: "c".into(),
            channel: "web".into(),
            locale: None,
            customer: Customer::default(),
            verified_as: None,
            mode: Mode::Ai,
            created_at: String::new(),
        }
    }

    /// The summary's first line (the one the queue shows) for a customer request.
    fn goal(transcript: &[Message]) -> String {
        let s = fallback(
            &anonymous(),
            HandoffReason::CustomerRequest,
            transcript,
            0.35,
        );
        s.lines().next().unwrap_or_default().to_owned()
    }

    #[test]
    fn the_goal_is_the_latest_need_not_the_first_message() {
        let broken = "I have a damaged item, my order NW-1046247 arrived broken and I want a \
                      replacement. Can I talk to a real person please?";
        let transcript = [
            message(1, Role::Customer, "How long do refunds take?", None),
            message(2, Role::Assistant, "5-10 days", Some("Refunds")),
            message(3, Role::Customer, broken, None),
        ];
        assert_eq!(goal(&transcript), format!("Goal: \"{broken}\""));

        // A bare request: the question before it, even after an earlier handoff.
        let transcript = [
            message(1, Role::Customer, "How long do refunds take?", None),
            message(2, Role::Customer, "agent", None),
            message(3, Role::Agent, "Refunds take 5 days.", None),
            message(4, Role::Customer, "Do you ship to Canada?", None),
            message(5, Role::Assistant, "Not yet.", None),
            message(6, Role::Customer, "thanks", None),
            message(7, Role::Customer, "can I talk to a person please", None),
        ];
        let s = fallback(
            &anonymous(),
            HandoffReason::CustomerRequest,
            &transcript,
            0.35,
        );
        assert!(s.starts_with("Goal: \"Do you ship to Canada?\"\n"), "{s}");
        assert!(
            s.contains("Latest: \"can I talk to a person please\""),
            "{s}"
        );

        for only in ["agent", "I want to speak to a manager"] {
            assert_eq!(
                goal(&[message(1, Role::Customer, only, None)]),
                "Goal: asked for a person without saying what about.",
                "{only}"
            );
        }
        assert_eq!(
            goal(&[]),
            "Goal: asked for a person without saying what about."
        );
    }

    #[test]
    fn tried_counts_the_answers_not_the_handoff_or_small_talk_replies() {
        let reply = |seq, text: &str| Message::for_test(seq, Role::Assistant, text);
        let transcript = [
            message(1, Role::Customer, "hi", None),
            reply(2, "Hi! How can I help you today?"),
            message(3, Role::Customer, "How long do refunds take?", None),
            message(4, Role::Assistant, "5-10 days", Some("Refunds")),
            message(5, Role::Customer, "talk to a person", None),
            reply(6, crate::phrases::Lang::En.phrases().connecting),
        ];
        let s = fallback(
            &anonymous(),
            HandoffReason::CustomerRequest,
            &transcript,
            0.35,
        );
        assert!(
            s.contains("Tried: 1 assistant reply; articles cited: Refunds."),
            "{s}"
        );
        let s = fallback(
            &anonymous(),
            HandoffReason::CustomerRequest,
            &transcript[4..],
            0.35,
        );
        assert!(s.contains("Tried: 0 assistant replies."), "{s}");
    }

    #[test]
    fn repeated_failure_lists_every_unanswered_question_up_to_five() {
        let failed = |seq, confidence| Message {
            confidence: Some(confidence),
            ..Message::for_test(seq, Role::Assistant, "I couldn't find an answer.")
        };
        let mut transcript = vec![
            message(1, Role::Customer, "Do you ship to Canada?", None),
            message(2, Role::Assistant, "Yes, in 5 days.", Some("Shipping")),
        ];
        for (i, q) in ["xylophone?", "blorp fizzle?", "quasar noodle?"]
            .into_iter()
            .enumerate()
        {
            let seq = 3 + 2 * i as i64;
            transcript.push(message(seq, Role::Customer, q, None));
            transcript.push(failed(seq + 1, 0.1));
        }
        let s = fallback(
            &anonymous(),
            HandoffReason::RepeatedFailure,
            &transcript,
            0.35,
        );
        assert!(s.starts_with("Goal: \"quasar noodle?\"\n"), "{s}");
        assert!(
            s.contains("\nUnanswered: \"xylophone?\"; \"blorp fizzle?\"; \"quasar noodle?\".\n"),
            "{s}"
        );

        // The latest five; an agent's reply answers what came before it.
        let mut transcript = vec![
            message(1, Role::Customer, "first?", None),
            failed(2, 0.0),
            message(3, Role::Agent, "Here is the answer.", None),
        ];
        for i in 0..7 {
            let seq = 4 + 2 * i;
            transcript.push(message(seq, Role::Customer, &format!("q{i}?"), None));
            transcript.push(failed(seq + 1, 0.2));
        }
        assert_eq!(
            unanswered(&transcript, 0.35),
            ["q2?", "q3?", "q4?", "q5?", "q6?"]
        );
        assert!(unanswered(&transcript, 0.1).is_empty());
    }

    #[test]
    fn action_facts_are_listed_and_a_verified_customer_is_not_anonymous() {
        let conversation = Conversation {
            verified_as: Some("cust_0026".into()),
            ..anonymous()
        };
        let mut reply = message(2, Role::Assistant, "Order NW-1: shipped", None);
        let action = |name: &str, ok, result| crate::storage::ActionRecord {
            name: name.into(),
            ok,
            result,
        };
        reply.actions = vec![
            action(
                "verify_customer",
                true,
                serde_json::json!({"customer_id": "cust_0026"}),
            ),
            action(
                "order_status",
                true,
                serde_json::json!({"number": "NW-1", "status": "shipped", "customer_id": "c"}),
            ),
            action("refund_status", false, serde_json::json!(null)),
        ];
        let transcript = [message(1, Role::Customer, "where is NW-1", None), reply];
        let s = fallback(
            &conversation,
            HandoffReason::ActionFailed,
            &transcript,
            0.35,
        );
        assert!(s.contains("Customer: verified as cust_0026."), "{s}");
        assert!(
            s.contains(
                "\nFacts: verify_customer ok; order_status ok (order NW-1, status shipped); \
                 refund_status failed\n"
            ),
            "{s}"
        );
    }
}
