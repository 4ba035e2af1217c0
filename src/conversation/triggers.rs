//! When the assistant steps aside. Before answering: the customer asks for a person, or is
//! frustrated. After drafting a reply: its confidence is low (offer or hand off, per config),
//! or several replies in a row were not confident. Dependency failures (model, actions) are
//! decided where they happen.
//!
//! A yes to the reply's offer of a person, or refusing the bot ("I don't want to talk to a
//! bot"), is a request for one. Frustration hands off when the message says the answers do not
//! help ("that didn't answer my question", "third time I'm asking"), repeats a question already
//! answered (unless it
//! carries an order number or email: lookups repeat their wording), is abusive (an insult, an
//! expletive), or when this message and the customer's previous one together show two or more
//! signals (shouting, profanity, angry or negative wording). A swear word that only stresses a
//! request ("where is my damn parcel?") is one signal: the customer gets the answer they asked
//! for, and a person if the next message is upset too.

use super::{
    intent, signals,
    smalltalk::{self, ReplyBefore, Said},
};
use crate::{
    config::LowConfidence,
    phrases::{self, Phrases},
    storage::{HandoffReason, Message, Role},
};

/// What to tell the customer when a handoff opens before any answer: a person is coming (at
/// their request), or sorry, a person is coming (when frustrated).
pub fn acknowledgement(reason: HandoffReason, phrases: &Phrases) -> &'static str {
    match reason {
        HandoffReason::CustomerRequest => phrases.connecting,
        HandoffReason::Frustration | HandoffReason::RepeatedFailure => phrases.sorry,
        _ => phrases.handed_off,
    }
}

/// The offer of a person a reply ends with, in any language, if it ends with one.
pub fn offer_in(text: &str) -> Option<&'static str> {
    phrases::ALL
        .iter()
        .flat_map(|p| [p.offer, p.offer_after_model])
        .find(|offer| text.ends_with(offer))
}

/// What the reply just before asked: in the assistant's own fixed words, whether to connect
/// the customer with a person (the question after "not found"; not the model's "if this
/// doesn't answer your question, I can …", to which "ok" means "got it"), or whether there is
/// anything else (after thanks, or a no to a person); or another question it ends with.
pub fn reply_before(earlier: &[Message]) -> ReplyBefore {
    let Some(reply) = earlier.last().filter(|m| m.role == Role::Assistant) else {
        return ReplyBefore::Other;
    };
    let text = reply.text.as_str();
    if phrases::ALL.iter().any(|p| text.ends_with(p.offer)) {
        ReplyBefore::OfferedPerson
    } else if phrases::ALL
        .iter()
        .any(|p| text == p.welcome || text == p.no_person)
    {
        ReplyBefore::AskedAnythingElse
    } else if text.trim_end().ends_with(['?', '？']) {
        ReplyBefore::AskedOther
    } else {
        ReplyBefore::Other
    }
}

/// Whether the reply just before offered to connect the customer with a person.
pub fn offered_person(earlier: &[Message]) -> bool {
    reply_before(earlier) == ReplyBefore::OfferedPerson
}

/// A handoff decided before any answer is drafted (see [`acknowledgement`] for what to say).
pub fn before_answer(text: &str, earlier: &[Message]) -> Option<HandoffReason> {
    let accepted = || offered_person(earlier) && smalltalk::said(text) == Some(Said::Yes);
    if signals::asks_for_human(text) || signals::refuses_bot(text) || accepted() {
        return Some(HandoffReason::CustomerRequest);
    }
    let now = signals::frustration(text);
    let previous = earlier
        .iter()
        .rev()
        .find(|m| m.role == Role::Customer)
        .map(|m| signals::frustration(&m.text))
        .unwrap_or_default();
    // A customer message was answered when an assistant reply follows it.
    let last_reply = earlier
        .iter()
        .rposition(|m| m.role == Role::Assistant)
        .unwrap_or(0);
    let answered: Vec<&str> = earlier[..last_reply]
        .iter()
        .filter(|m| m.role == Role::Customer)
        .map(|m| m.text.as_str())
        .collect();
    // Account lookups repeat their wording with other identifiers or for another order ("where
    // is my order?"), and small talk ("good morning team" on a return visit) is said again:
    // neither is frustration.
    let routed = intent::route(text);
    let account =
        routed.intent.is_some() || routed.order_number.is_some() || routed.email.is_some();
    let repeated =
        !account && signals::repeats_question(&answered, text) && smalltalk::said(text).is_none();
    let stuck = signals::not_helped(text);
    if repeated || stuck || now.abusive || now.count() + previous.count() >= 2 {
        return Some(HandoffReason::Frustration);
    }
    None
}

/// A handoff decided after the reply is drafted, from its confidence and the earlier replies'.
pub fn after_answer(
    confidence: Option<f32>,
    threshold: f32,
    policy: LowConfidence,
    failed_turns: usize,
    earlier: &[Message],
) -> Option<HandoffReason> {
    let low = |c: Option<f32>| c.is_some_and(|c| c < threshold);
    if !low(confidence) {
        return None;
    }
    let previous_low = earlier
        .iter()
        .rev()
        .filter(|m| m.role == Role::Assistant)
        .take(failed_turns.saturating_sub(1))
        .filter(|m| low(m.confidence))
        .count();
    if previous_low + 1 >= failed_turns {
        return Some(HandoffReason::RepeatedFailure);
    }
    match policy {
        LowConfidence::Handoff => Some(HandoffReason::LowConfidence),
        LowConfidence::Offer => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(seq: i64, role: Role, text: &str, confidence: Option<f32>) -> Message {
        Message {
            confidence,
            ..Message::for_test(seq, role, text)
        }
    }

    #[test]
    fn only_a_yes_to_the_question_of_a_person_is_a_request_and_small_talk_is_no_repeat() {
        let en = phrases::Lang::En.phrases();
        let replied = |text: String| {
            [
                message(1, Role::Customer, "Good morning team", None),
                message(2, Role::Assistant, &text, Some(0.2)),
            ]
        };
        let asked = replied(format!("{} {}", en.not_found, en.offer));
        assert_eq!(
            before_answer("yes please", &asked),
            Some(HandoffReason::CustomerRequest)
        );
        let unsure = replied(format!("Refunds take 5 days.\n\n{}", en.offer_after_model));
        assert_eq!(before_answer("ok", &unsure), None, "ok means got it");
        assert_eq!(before_answer("Good morning team", &asked), None);
    }

    #[test]
    fn the_reply_before_is_read_from_the_assistants_own_words_in_any_language() {
        let after = |text: &str| reply_before(&[message(1, Role::Assistant, text, None)]);
        let (en, fr) = (phrases::Lang::En.phrases(), phrases::Lang::Fr.phrases());
        assert_eq!(
            after(&format!("{} {}", en.not_found, en.offer)),
            ReplyBefore::OfferedPerson
        );
        assert_eq!(after(en.welcome), ReplyBefore::AskedAnythingElse);
        assert_eq!(after(fr.no_person), ReplyBefore::AskedAnythingElse);
        assert_eq!(after("Refunds take 5 days."), ReplyBefore::Other);
        assert_eq!(after("Is the item unused?"), ReplyBefore::AskedOther);
        let asked_last = [message(1, Role::Customer, en.welcome, None)];
        assert_eq!(reply_before(&asked_last), ReplyBefore::Other);
        assert_eq!(reply_before(&[]), ReplyBefore::Other);
    }

    #[test]
    fn asking_for_a_person_hands_off_at_once() {
        assert_eq!(
            before_answer("can I talk to a human please", &[]),
            Some(HandoffReason::CustomerRequest)
        );
        assert_eq!(before_answer("is a human reviewing my return?", &[]), None);
    }

    #[test]
    fn the_same_question_after_an_answer_is_frustration() {
        let earlier = [
            message(
                1,
                Role::Customer,
                "How long does a refund take to reach my card?",
                None,
            ),
            message(2, Role::Assistant, "5-10 business days.", Some(0.8)),
        ];
        assert_eq!(
            before_answer("how long does the refund take to reach my card??", &earlier),
            Some(HandoffReason::Frustration)
        );
        assert_eq!(before_answer("Do you ship to Canada?", &earlier), None);
    }

    #[test]
    fn negative_messages_in_a_row_are_frustration_but_one_is_not() {
        let earlier = [
            message(
                1,
                Role::Customer,
                "This is ridiculous, my parcel is late",
                None,
            ),
            message(2, Role::Assistant, "Sorry about that.", Some(0.8)),
        ];
        assert_eq!(
            before_answer("This is ridiculous, my parcel is late", &[]),
            None
        );
        assert_eq!(
            before_answer("Useless. Still not here.", &earlier),
            Some(HandoffReason::Frustration)
        );
    }

    #[test]
    fn abuse_hands_off_at_once_but_a_swear_word_stressing_a_request_is_one_signal() {
        for text in [
            "you idiots",
            "screw you",
            "this is bullshit",
            "f**k this",
            "damn it",
        ] {
            assert_eq!(
                before_answer(text, &[]),
                Some(HandoffReason::Frustration),
                "{text}"
            );
        }
        for text in [
            "which damn payment methods do you accept?",
            "where is my f***ing invoice",
            "I need to change the goddamn shipping address",
        ] {
            assert_eq!(before_answer(text, &[]), None, "{text}");
        }
        // With a second signal, in this message or the previous one, it hands off.
        assert_eq!(
            before_answer("this is fucking useless", &[]),
            Some(HandoffReason::Frustration)
        );
        let earlier = [
            message(1, Role::Customer, "where is my damn parcel?", None),
            message(2, Role::Assistant, "It ships tomorrow.", Some(0.8)),
        ];
        assert_eq!(
            before_answer("That's what you said yesterday!!!", &earlier),
            Some(HandoffReason::Frustration)
        );
    }

    #[test]
    fn low_confidence_offers_or_hands_off_and_repeats_escalate() {
        let low = Some(0.1);
        assert_eq!(after_answer(low, 0.35, LowConfidence::Offer, 3, &[]), None);
        assert_eq!(
            after_answer(low, 0.35, LowConfidence::Handoff, 3, &[]),
            Some(HandoffReason::LowConfidence)
        );
        assert_eq!(
            after_answer(Some(0.9), 0.35, LowConfidence::Handoff, 3, &[]),
            None
        );
        let earlier = [
            message(2, Role::Assistant, "not found", Some(0.0)),
            message(3, Role::Customer, "?", None),
            message(4, Role::Assistant, "not found", Some(0.2)),
        ];
        assert_eq!(
            after_answer(low, 0.35, LowConfidence::Offer, 3, &earlier),
            Some(HandoffReason::RepeatedFailure)
        );
    }
}
