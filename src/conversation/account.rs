//! Account questions without a model: the deterministic router picks the action (order
//! status, recent orders, billing, refunds), checks identity in the chat (email + order
//! number), and answers with the facts the action's template renders.

use super::intent::{self, AccountIntent};
use crate::{
    actions::{Actions, Intent, Outcome},
    app::AppState,
    phrases::Phrases,
    storage::{ActionRecord, Conversation, HandoffReason, Message, StoreError},
};

/// A reply built from actions.
#[derive(Debug, Clone)]
pub struct AccountReply {
    pub text: String,
    pub actions: Vec<ActionRecord>,
    pub handoff: Option<HandoffReason>,
    /// The reply only asks for an order number or email, and the customer has given none: the
    /// question may be a general one ("how long do refunds take?") the help center answers.
    pub asks_for_details: bool,
}

/// How many of the latest messages (the customer's and the replies) an earlier account
/// question is taken from, to be answered once the details come.
const QUESTION_WINDOW: usize = 4;

fn action_intent(intent: AccountIntent) -> Intent {
    match intent {
        AccountIntent::OrderStatus => Intent::OrderStatus,
        AccountIntent::RecentOrders => Intent::RecentOrders,
        AccountIntent::Billing => Intent::Billing,
        AccountIntent::RefundStatus => Intent::RefundStatus,
    }
}

/// Answers an account question, or `None` when the message is not one (a knowledge question).
pub async fn answer(
    state: &AppState,
    conversation: &Conversation,
    message: &Message,
    earlier: &[Message],
    phrases: &Phrases,
) -> Result<Option<AccountReply>, StoreError> {
    let route = |text: &str| intent::route_with(text, state.actions.reference_in(text));
    let mut routed = route(&message.text);
    let before = said_before(earlier, route);
    // "ana@example.com NW-1234567" answers the question asked just before. Right after an
    // account question about a named order, "and the invoice?" asks for that order's invoice,
    // and "where is it now?" after that order (or its refund, when the refund was the
    // question).
    let follow_up = match before.intent {
        Some(asked_before) if routed.intent.is_none() && before.order_number.is_some() => {
            intent::asks_about(&message.text).or_else(|| {
                intent::asks_after_it(&message.text).then_some(match asked_before {
                    AccountIntent::RefundStatus => AccountIntent::RefundStatus,
                    _ => AccountIntent::OrderStatus,
                })
            })
        }
        _ => None,
    };
    let wanted = if follow_up.is_some() {
        routed.intent = follow_up;
        follow_up
    } else {
        asked(&message.text, &routed)
            .or(before.intent)
            .or(routed.intent)
    };
    let has_identifiers = routed.order_number.is_some() || routed.email.is_some();
    let Some(wanted) = wanted.filter(|_| routed.intent.is_some() || has_identifiers) else {
        return Ok(None);
    };
    // What the customer gave in the messages just before counts too: the email in one, the
    // order number in the next; "the invoice for that order" after its status.
    let gave_email = routed.email.is_some();
    routed.email = routed.email.or(before.email);
    routed.order_number = routed.order_number.or(before.order_number);
    let Some(spec) = state.actions.for_intent(action_intent(wanted)) else {
        return Ok(None);
    };
    let no_details = routed.order_number.is_none() && routed.email.is_none();
    let mut reply = AccountReply {
        text: String::new(),
        actions: Vec::new(),
        handoff: None,
        asks_for_details: false,
    };
    let mut verified_as = conversation.verified_as.clone();

    // Details given again in a verified chat are checked too: they may be someone else's.
    if (verified_as.is_none() || gave_email)
        && let (Some(email), Some(order), Some(verify)) = (
            &routed.email,
            &routed.order_number,
            state.actions.for_intent(Intent::Verify),
        )
    {
        let args = verify.router_args(Some(order), Some(email));
        match state
            .actions
            .run(
                &verify.file.name,
                &args,
                &conversation.id,
                None,
                phrases.lang,
            )
            .await?
        {
            Outcome::Found {
                verified: Some(customer),
                ..
            } => {
                if !adopt(state, &conversation.id, &mut verified_as, customer).await? {
                    reply.text = phrases.other_account.into();
                    return Ok(Some(reply));
                }
            }
            outcome => return Ok(Some(finish(reply, outcome, phrases, &state.actions))),
        }
    }

    // The reference parameter is a required one.
    let needs_order = spec.reference_param().is_some();
    let args = match (&routed.order_number, needs_order) {
        (Some(order), true) => spec.router_args(Some(order), None),
        (None, true) if verified_as.is_some() => {
            reply.text = state.actions.with_example(phrases.which_order);
            reply.asks_for_details = no_details;
            return Ok(Some(reply));
        }
        _ => serde_json::json!({}),
    };
    let outcome = state
        .actions
        .run(
            &spec.file.name,
            &args,
            &conversation.id,
            verified_as.as_deref(),
            phrases.lang,
        )
        .await?;
    let asks = matches!(
        outcome,
        Outcome::NeedsVerification { .. } | Outcome::Invalid { .. } | Outcome::Unknown
    );
    let check_asked = matches!(outcome, Outcome::NeedsVerification { .. });
    let mut reply = finish(reply, outcome, phrases, &state.actions);
    // Half the identity check given: the other half asked for, not both again.
    if check_asked {
        match (&routed.email, &routed.order_number) {
            (Some(_), None) => reply.text = state.actions.with_example(phrases.needs_order_number),
            (None, Some(_)) => reply.text = phrases.needs_email.into(),
            _ => {}
        }
    }
    reply.asks_for_details = asks && no_details;
    Ok(Some(reply))
}

/// Takes the customer an identity check confirmed as the chat's: an unverified chat becomes
/// theirs; a chat verified (or signed) for them stays as it is. `false` when the chat is
/// already another customer's: one chat never switches accounts, with or without a model.
pub(super) async fn adopt(
    state: &AppState,
    conversation_id: &str,
    verified_as: &mut Option<String>,
    customer: String,
) -> Result<bool, StoreError> {
    match verified_as {
        None => {
            state.store.set_verified(conversation_id, &customer).await?;
            *verified_as = Some(customer);
            Ok(true)
        }
        // A signed identity may be the customer's email or user id.
        Some(current) => Ok(*current == customer
            || state.store.customer_by_identity(current).await?.as_ref() == Some(&customer)),
    }
}

fn finish(
    mut reply: AccountReply,
    outcome: Outcome,
    phrases: &Phrases,
    actions: &Actions,
) -> AccountReply {
    match outcome {
        Outcome::Found { record, text, .. } | Outcome::NotFound { record, text } => {
            reply.actions.push(record);
            reply.text = text;
        }
        Outcome::NeedsVerification { text } | Outcome::RateLimited { text } => reply.text = text,
        Outcome::Failed { record, text } => {
            reply.actions.push(record);
            reply.text = text;
            reply.handoff = Some(HandoffReason::ActionFailed);
        }
        Outcome::Invalid { .. } | Outcome::Unknown => {
            reply.text = actions.with_example(phrases.which_order);
        }
    }
    reply
}

/// The text without its order number and email, to tell a bare "here are my details" message
/// from one that asks something.
fn strip_identifiers(text: &str, routed: &intent::Routed) -> String {
    let mut out = text.to_lowercase();
    for id in routed.order_number.iter().chain(routed.email.iter()) {
        let id = id.to_lowercase();
        out = out.replace(&id, " ");
        // A store number may have been written without its "NW-" ("1046247", "#1046247").
        if let Some(digits) = id.strip_prefix("nw-") {
            out = out.replace(digits, " ");
        }
    }
    out.replace("nw-", " ").replace("nw", " ")
}

/// The account question a message asks of its own: none for only an order number or email
/// ("NW-1234567", which alone reads as order status), which answers the question asked
/// before; "invoice for NW-1234567" asks its own.
fn asked(text: &str, routed: &intent::Routed) -> Option<AccountIntent> {
    let bare = routed.intent == Some(AccountIntent::OrderStatus)
        && intent::route(&strip_identifiers(text, routed))
            .intent
            .is_none();
    if bare { None } else { routed.intent }
}

/// What the customer said before: the latest account question asked in the last few
/// messages (or, when none was, order status for an order number given alone), and the latest
/// email and order number in all of `earlier` (the turn's recent messages), so "the invoice for
/// it" a few questions later is about the order still being discussed. Each message is routed
/// once.
fn said_before(earlier: &[Message], route: impl Fn(&str) -> intent::Routed) -> intent::Routed {
    let mut before = intent::Routed::default();
    let mut only_details = None;
    let mut asking_from = earlier.len().saturating_sub(QUESTION_WINDOW);
    let customers: Vec<(usize, &Message, intent::Routed)> = earlier
        .iter()
        .enumerate()
        .filter(|(_, m)| m.role == crate::storage::Role::Customer)
        .map(|(i, m)| (i, m, route(&m.text)))
        .collect();
    // Whether an order had been named by each message (it included).
    let named: Vec<bool> = customers
        .iter()
        .scan(false, |named, (_, _, routed)| {
            *named |= routed.order_number.is_some();
            Some(*named)
        })
        .collect();
    for ((i, message, routed), named) in customers.into_iter().zip(named).rev() {
        if i >= asking_from {
            // A follow-up ("and the invoice?") about a named order asked what it was
            // answered as; before any order, "and refunds?" was a question for the help center.
            let follow_up = || named.then(|| intent::asks_about(&message.text)).flatten();
            match asked(&message.text, &routed).or_else(follow_up) {
                Some(question) => before.intent = before.intent.or(Some(question)),
                None => {
                    only_details = only_details.or(routed.intent);
                    // Details alone, tried again ("ana@example.com" after a mismatch), keep
                    // the question before them open.
                    if before.intent.is_none()
                        && (routed.email.is_some() || routed.order_number.is_some())
                    {
                        asking_from = asking_from.min(i.saturating_sub(QUESTION_WINDOW));
                    }
                }
            }
        }
        before.email = before.email.or(routed.email);
        before.order_number = before.order_number.or(routed.order_number);
    }
    before.intent = before.intent.or(only_details);
    before
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::Role;

    fn said(texts: &[(Role, &str)]) -> intent::Routed {
        let earlier: Vec<Message> = texts
            .iter()
            .enumerate()
            .map(|(i, (role, text))| Message::for_test(i as i64 + 1, *role, text))
            .collect();
        said_before(&earlier, intent::route)
    }

    #[test]
    fn a_subject_named_alone_is_a_question_only_about_a_named_order() {
        let about_order = said(&[
            (Role::Customer, "where is my order NW-1234567?"),
            (Role::Assistant, "Order NW-1234567: shipped"),
            (Role::Customer, "and the invoice?"),
            (Role::Assistant, "Billing for order NW-1234567"),
        ]);
        assert_eq!(about_order.intent, Some(AccountIntent::Billing));
        let general = said(&[
            (Role::Customer, "and refunds?"),
            (Role::Assistant, "Here is what our help center says"),
        ]);
        assert_eq!(general.intent, None);
    }
}
