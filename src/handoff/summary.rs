//! Handoff summaries: written by the model from `prompts/handoff_summary.md`, or built
//! deterministically from the same facts when no model is configured or it fails.

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
                brief(&a.result)
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

/// What an agent acts on in a built-in action's result (`actions/*.toml`), by JSON pointer,
/// with its label: status, carrier, tracking, dates, totals, invoice, why a charge repeats.
/// Internal ids, items and addresses stay in the conversation's actions.
const FACTS: &[(&str, &str)] = &[
    ("/number", "order"),
    ("/order_number", "order"),
    ("/status", "status"),
    ("/shipping/carrier", "carrier"),
    ("/shipping/tracking_number", "tracking"),
    ("/shipping/estimated_delivery", "estimated delivery"),
    ("/shipping/delivered_at", "delivered"),
    ("/total", "total"),
    ("/invoice/number", "invoice"),
    ("/invoice/status", "invoice status"),
    ("/explanation", "charges"),
];

/// The same for each element of a result's lists: refunds, and the orders of a listing.
const LISTED: &[(&str, &[(&str, &str)])] = &[
    (
        "refunds",
        &[
            ("/amount", "refund"),
            ("/status", "status"),
            ("/issued_at", "issued"),
            ("/expected_by", "expected by"),
        ],
    ),
    (
        "orders",
        &[
            ("/number", "order"),
            ("/status", "status"),
            ("/total", "total"),
        ],
    ),
];

/// The fields of an action's result an agent acts on (`order NW-1234567, status in_transit,
/// carrier UPS, …`), for a line read at a glance; the whole result is in the conversation's
/// actions. A result of another shape (an HTTP backend's) shows its plain fields but ids.
fn brief(result: &serde_json::Value) -> String {
    let mut facts = labelled(result, FACTS);
    for (list, fields) in LISTED {
        for item in result[*list].as_array().into_iter().flatten() {
            facts.extend(labelled(item, fields));
        }
    }
    if facts.is_empty() {
        facts = result
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(name, _)| *name != "id" && !name.ends_with("_id"))
            .filter_map(|(name, value)| Some(format!("{name} {}", plain(value)?)))
            .take(6)
            .collect();
    }
    if facts.is_empty() {
        String::new()
    } else {
        format!(" ({})", facts.join(", "))
    }
}

/// `fields` of `object` that are there, as "label value"; amounts with the object's currency,
/// times (`…_at`) as their date.
fn labelled(object: &serde_json::Value, fields: &[(&str, &str)]) -> Vec<String> {
    fields
        .iter()
        .filter_map(|(pointer, label)| {
            let value = object.pointer(pointer)?;
            let mut text = plain(value)?;
            if pointer.ends_with("_at") {
                text = text.chars().take(10).collect();
            }
            if value.is_number()
                && let Some(currency) = object["currency"].as_str()
            {
                text = format!("{text} {currency}");
            }
            Some(format!("{label} {text}"))
        })
        .collect()
}

/// A string, number or boolean as shown; `None` for anything else.
fn plain(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(s) => Some(quote(s)),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
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

fn quote(text: &str) -> String {
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
    fn action_facts_show_what_an_agent_acts_on_and_a_verified_customer_is_not_anonymous() {
        let conversation = Conversation {
            verified_as: Some("cust_0026".into()),
            ..anonymous()
        };
        let mut reply = message(2, Role::Assistant, "Order NW-1046247: in transit", None);
        let action = |name: &str, result| crate::storage::ActionRecord {
            name: name.into(),
            ok: true,
            result,
        };
        // Shapes of actions/data/*.json as the built-in actions return them.
        reply.actions = vec![
            action(
                "verify_customer",
                serde_json::json!({"customer_id": "cust_0026"}),
            ),
            action(
                "order_status",
                serde_json::json!({
                    "number": "NW-1046247",
                    "customer_id": "cust_0026",
                    "placed_at": "2026-08-04T02:41:05Z",
                    "status": "in_transit",
                    "items": [{"sku": "AP-4008-S", "name": "Kettle", "quantity": 1}],
                    "subtotal": 24.0,
                    "shipping_cost": 19.95,
                    "total": 46.17,
                    "currency": "USD",
                    "shipping": {
                        "method": "expedited",
                        "carrier": "FedEx",
                        "tracking_number": "243281315103",
                        "shipped_at": "2026-08-04T23:05:09Z",
                        "estimated_delivery": "2026-08-07",
                        "delivered_at": null,
                    },
                    "shipping_address": {"line1": "1 Main St"},
                }),
            ),
            action(
                "billing_lookup",
                serde_json::json!({
                    "order_number": "NW-1046247",
                    "status": "delivered",
                    "total": 39.17,
                    "currency": "USD",
                    "invoice": {"number": "INV-2026-05149", "status": "paid", "amount": 39.17},
                    "payments": [{"id": "pay_1", "amount": 39.17, "kind": "capture"}],
                    "refunds": [],
                    "explanation": "duplicate_capture",
                }),
            ),
            action(
                "refund_status",
                serde_json::json!({
                    "order_number": "NW-1046247",
                    "refunds": [{
                        "id": "ref_20443",
                        "customer_id": "cust_0026",
                        "amount": 26.22,
                        "currency": "USD",
                        "status": "issued",
                        "method": {"type": "store_credit"},
                        "issued_at": "2026-08-19T21:54:08Z",
                        "expected_by": "2026-08-19",
                        "note": "Full return.",
                    }],
                }),
            ),
            action(
                "http_order",
                serde_json::json!({"id": "o1", "owner_id": "7", "state": "shipped"}),
            ),
        ];
        let transcript = [
            message(1, Role::Customer, "where is NW-1046247", None),
            reply,
        ];
        let s = fallback(
            &conversation,
            HandoffReason::ActionFailed,
            &transcript,
            0.35,
        );
        assert!(s.contains("Customer: verified as cust_0026."), "{s}");
        let facts = s
            .lines()
            .find_map(|l| l.strip_prefix("Facts: "))
            .expect("facts");
        assert_eq!(
            facts.split("; ").collect::<Vec<_>>(),
            [
                "verify_customer ok",
                "order_status ok (order NW-1046247, status in_transit, carrier FedEx, \
                 tracking 243281315103, estimated delivery 2026-08-07, total 46.17 USD)",
                "billing_lookup ok (order NW-1046247, status delivered, total 39.17 USD, \
                 invoice INV-2026-05149, invoice status paid, charges duplicate_capture)",
                "refund_status ok (order NW-1046247, refund 26.22 USD, status issued, \
                 issued 2026-08-19, expected by 2026-08-19)",
                "http_order ok (state shipped)",
            ]
        );
    }
}
