//! Account facts through actions: the deterministic router (no model), the model's tool
//! calls, identity checks, and a business's own HTTP API standing in as the backend.

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use axum::{Json, Router, extract::Path, http::StatusCode, routing::get};
use serde_json::{Value, json};

use crate::{
    helpers::{
        Chat, TestApp, demo, estimate, prompt_tokens, sample, shipped_order, spawn_app,
        spawn_app_with, spawn_app_with_llm, start_error, verify_customer_call,
    },
    scripted_llm::{Behavior, ScriptedLlm},
};

/// Another customer's email.
fn someone_else(order: &Value) -> String {
    demo("customers.json")
        .iter()
        .find(|c| c["id"] != order["customer_id"])
        .and_then(|c| c["email"].as_str())
        .expect("another customer")
        .to_owned()
}

async fn reply_of(app: &TestApp, chat: &Chat, text: &str) -> Value {
    let (status, body) = app.say(chat, json!({ "text": text })).await;
    assert_eq!(status, 200, "{body}");
    body["replies"][0].clone()
}

/// The customer's details may come over several messages, and a question about another
/// side of the same order (its invoice) is answered on that side.
#[tokio::test]
async fn details_given_over_several_messages_and_a_new_question_on_the_same_order() {
    let app = spawn_app().await;
    let (order, email) = shipped_order();
    let number = order["number"].as_str().expect("number");
    let chat = app.start_chat().await;
    let names = |reply: &Value| -> Vec<String> {
        reply["actions"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| a["name"].as_str().map(str::to_owned))
            .collect()
    };

    reply_of(&app, &chat, &format!("Where is my order {number}?")).await;
    let reply = reply_of(&app, &chat, &format!("I'm {email}")).await;
    let text = reply["text"].as_str().expect("text");
    assert!(text.contains(&format!("Order {number}")), "{text}");
    assert!(
        names(&reply).contains(&"order_status".to_owned()),
        "{reply}"
    );

    let reply = reply_of(&app, &chat, &format!("invoice for {number}")).await;
    assert_eq!(names(&reply), ["billing_lookup"], "{reply}");
    let reply = reply_of(&app, &chat, "Can I get the invoice for my order?").await;
    assert_eq!(names(&reply), ["billing_lookup"], "{reply}");
    let text = reply["text"].as_str().expect("text");
    assert!(text.contains(number), "{text}");

    // "It" is the order being discussed, however many questions ago it was named.
    for question in ["where is it now?", "ok, has it shipped yet?"] {
        let reply = reply_of(&app, &chat, question).await;
        assert_eq!(names(&reply), ["order_status"], "{question}: {reply}");
    }
    let reply = reply_of(&app, &chat, "can I get the invoice for it?").await;
    assert_eq!(names(&reply), ["billing_lookup"], "{reply}");
    assert!(reply["text"].as_str().is_some_and(|t| t.contains(number)));
    // A subject named alone is that order's.
    for (question, action) in [
        ("Et le remboursement ?", "refund_status"),
        ("what about the invoice?", "billing_lookup"),
    ] {
        let reply = reply_of(&app, &chat, question).await;
        assert_eq!(names(&reply), [action], "{question}: {reply}");
        assert!(reply["text"].as_str().is_some_and(|t| t.contains(number)));
    }

    // Asked in Spanish, the identity check is asked for in Spanish.
    let spanish = app.start_chat().await;
    let reply = reply_of(&app, &spanish, &format!("¿Dónde está mi pedido {number}?")).await;
    let text = reply["text"].as_str().expect("text");
    assert!(
        text.starts_with("Puedo consultarlo en cuanto sepa que eres tú"),
        "{text}"
    );

    // Without an order named, "where is it?" is a question for the help center.
    let other = app.start_chat().await;
    let reply = reply_of(&app, &other, "where is it now?").await;
    assert!(names(&reply).is_empty(), "{reply}");
    assert_eq!(
        reply["citations"],
        json!([]),
        "no article is about \"now\": {reply}"
    );
}

/// Asked for the order number and then the email, one message each, the customer gets the
/// answer to the question they asked first, not the order's status.
#[tokio::test]
async fn the_question_asked_first_is_answered_once_the_details_have_come() {
    let app = spawn_app().await;
    let refund = demo("refunds.json").into_iter().next().expect("a refund");
    let number = refund["order_number"].as_str().expect("number");
    let order = demo("orders.json")
        .into_iter()
        .find(|o| o["number"] == number)
        .expect("its order");
    let email = demo("customers.json")
        .into_iter()
        .find(|c| c["id"] == order["customer_id"])
        .and_then(|c| c["email"].as_str().map(str::to_owned))
        .expect("its customer");
    let chat = app.start_chat().await;
    reply_of(&app, &chat, "where's my refund??").await;
    reply_of(&app, &chat, number).await;
    let reply = reply_of(&app, &chat, &email).await;
    assert_eq!(reply["actions"][0]["name"], "refund_status", "{reply}");

    // The number written without its "NW-", beside the email, answers it too.
    let chat = app.start_chat().await;
    reply_of(&app, &chat, "where's my refund??").await;
    let digits = number.trim_start_matches("NW-");
    let reply = reply_of(&app, &chat, &format!("{email} order number {digits}")).await;
    assert_eq!(reply["actions"][0]["name"], "refund_status", "{reply}");
    // "Where is it now?" after a refund question asks after the refund.
    let reply = reply_of(&app, &chat, "where is it now?").await;
    assert_eq!(reply["actions"][0]["name"], "refund_status", "{reply}");

    // Mistyped emails, then the right one, each alone: the question is still the refund.
    let chat = app.start_chat().await;
    reply_of(&app, &chat, &format!("where's my refund for {number}??")).await;
    for typo in ["someone@example.com", "someone.else@example.com"] {
        let reply = reply_of(&app, &chat, typo).await;
        assert_eq!(reply["actions"][0]["name"], "verify_customer", "{reply}");
        assert_eq!(reply["actions"][0]["ok"], false, "{reply}");
    }
    let reply = reply_of(&app, &chat, &email).await;
    assert_eq!(reply["actions"][0]["name"], "refund_status", "{reply}");
}

/// A general question that reads as an account one gets what the help center says as well
/// as the request for the details a lookup needs; "where is my order?" only the request.
#[tokio::test]
async fn a_general_account_question_gets_the_help_centers_answer_and_the_lookup_offer() {
    let app = spawn_app().await;
    let refund = demo("refunds.json").into_iter().next().expect("a refund");
    let number = refund["order_number"].as_str().expect("number");
    let chat = app.start_chat().await;
    let reply = reply_of(&app, &chat, "When will I get my money back?").await;
    let text = reply["text"].as_str().expect("text");
    assert!(
        text.contains("5–10 business days") && text.ends_with("(it looks like NW-1234567)."),
        "{text}"
    );
    assert!(
        reply["citations"][0]["title"]
            .as_str()
            .is_some_and(|t| t.starts_with("Refunds")),
        "{reply}"
    );
    // The details, once given, answer the question asked.
    let reply = reply_of(&app, &chat, &format!("{number} {}", email_for(number))).await;
    assert_eq!(reply["actions"][0]["name"], "refund_status", "{reply}");

    let chat = app.start_chat().await;
    let reply = reply_of(&app, &chat, "Where is my order?").await;
    assert_eq!(
        (reply["text"].as_str(), &reply["citations"]),
        (
            Some(
                "Which order is it about? Please send the order number (it looks like NW-1234567)."
            ),
            &json!([])
        ),
        "{reply}"
    );
}

/// A message that says no language of its own ("NW-1046247") is answered in the language the
/// customer wrote in before, whatever the page's locale.
#[tokio::test]
async fn the_conversations_language_holds_for_a_bare_order_number() {
    let app = spawn_app().await;
    let (order, _) = shipped_order();
    let number = order["number"].as_str().expect("number");
    let chat = app.start_chat_with(json!({"locale": "en"})).await;
    let reply = reply_of(&app, &chat, "Où est ma commande ? Je ne la trouve pas").await;
    // The order request alone: French function words are no evidence of a general question.
    assert!(
        reply["text"]
            .as_str()
            .is_some_and(|t| t.starts_with("De quelle commande s'agit-il ?")),
        "{reply}"
    );
    assert_eq!(reply["citations"], json!([]), "{reply}");
    let reply = reply_of(&app, &chat, number).await;
    let text = reply["text"].as_str().expect("text");
    assert!(
        text.starts_with("Je peux vérifier cela dès que je sais que c'est bien vous."),
        "{text}"
    );
}

/// A chat in French gets the facts, the not-found answer and the limit on guesses in
/// French: the actions' translated templates, the service's own notices.
#[tokio::test]
async fn an_account_chat_in_french_gets_its_facts_and_notices_in_french() {
    let app = spawn_app().await;
    let (order, email) = shipped_order();
    let number = order["number"].as_str().expect("number");
    let carrier = order["shipping"]["carrier"].as_str().expect("carrier");
    let tracking = order["shipping"]["tracking_number"]
        .as_str()
        .expect("tracking");
    let chat = app.start_chat_with(json!({"locale": "en"})).await;
    let reply = reply_of(
        &app,
        &chat,
        &format!("Où est ma commande {number} ? Mon e-mail est {email}"),
    )
    .await;
    let text = reply["text"].as_str().expect("text");
    assert!(
        text.starts_with(&format!("Commande {number} : en transit")),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "Transporteur : {carrier}, numéro de suivi {tracking}"
        )),
        "{text}"
    );
    assert_eq!(reply["actions"][0]["result"]["number"], number);

    let missing = reply_of(&app, &chat, "Et ma commande NW-0000001 ?").await;
    assert_eq!(
        missing["text"],
        "Je n'ai pas trouvé cette commande. Vérifiez le numéro de commande (il ressemble à NW-1234567).",
        "{missing}"
    );
    for n in 2..=5 {
        reply_of(&app, &chat, &format!("Et ma commande NW-000000{n} ?")).await;
    }
    let limited = reply_of(&app, &chat, &format!("Et ma commande {number} ?")).await;
    assert!(
        limited["text"]
            .as_str()
            .is_some_and(|t| t.contains("à trop de reprises")),
        "{limited}"
    );
}

/// The customer's email for an order in the demo data.
fn email_for(number: &str) -> String {
    let order = demo("orders.json")
        .into_iter()
        .find(|o| o["number"] == number)
        .expect("the order");
    demo("customers.json")
        .into_iter()
        .find(|c| c["id"] == order["customer_id"])
        .and_then(|c| c["email"].as_str().map(str::to_owned))
        .expect("its customer")
}

/// A declined refund says why (the record's note), and a cancelled order is not promised an
/// invoice "when it ships", nor a refund once a return arrives; payment methods are named as
/// customers know them.
#[tokio::test]
async fn a_declined_refund_says_why_and_a_cancelled_order_expects_no_invoice_nor_refund() {
    let app = spawn_app().await;
    let rejected = demo("refunds.json")
        .into_iter()
        .find(|r| r["status"] == "rejected" && r["method"]["type"] == "paypal")
        .expect("a declined PayPal refund");
    let number = rejected["order_number"].as_str().expect("number");
    let chat = app.start_chat().await;
    let reply = reply_of(
        &app,
        &chat,
        &format!("where is my refund for {number}? {}", email_for(number)),
    )
    .await;
    let text = reply["text"].as_str().expect("text");
    assert!(
        text.contains("to PayPal: not refunded")
            && text.contains(rejected["note"].as_str().expect("note")),
        "{text}"
    );

    let cancelled = demo("orders.json")
        .into_iter()
        .find(|o| {
            o["status"] == "cancelled"
                && !demo("invoices.json")
                    .iter()
                    .any(|i| i["order_number"] == o["number"])
        })
        .expect("a cancelled order without an invoice");
    let number = cancelled["number"].as_str().expect("number");
    let chat = app.start_chat().await;
    let reply = reply_of(
        &app,
        &chat,
        &format!("I need the invoice for {number}, I'm {}", email_for(number)),
    )
    .await;
    let text = reply["text"].as_str().expect("text");
    assert!(
        text.contains("No invoice: the order was cancelled.") && !text.contains("ships"),
        "{text}"
    );
    // Nor is its refund waiting for a return: it was never charged.
    let reply = reply_of(
        &app,
        &chat,
        &format!("I cancelled {number}, when do I get my money back?"),
    )
    .await;
    assert_eq!(reply["actions"][0]["name"], "refund_status", "{reply}");
    let text = reply["text"].as_str().expect("text");
    assert!(
        text.contains(&format!(
            "Order {number} was cancelled before you were charged, so there is nothing to refund."
        )) && !text.contains("return"),
        "{text}"
    );
}

/// An order of another customer than `order`'s, from the demo data.
fn another_customers_order(order: &Value) -> Value {
    demo("orders.json")
        .into_iter()
        .find(|o| o["customer_id"] != order["customer_id"])
        .expect("another customer's order")
}

/// Once a chat is verified, another customer's matching details are not "not found": the
/// customer is told the chat belongs to another account (and sees nothing of theirs).
#[tokio::test]
async fn another_customers_details_in_a_verified_chat_are_named_as_such() {
    let app = spawn_app().await;
    let (order, email) = shipped_order();
    let number = order["number"].as_str().expect("number");
    let other = another_customers_order(&order);
    let other_number = other["number"].as_str().expect("number");
    let chat = app.start_chat().await;
    let first = reply_of(&app, &chat, &format!("where is {number}? {email}")).await;
    assert_eq!(first["actions"][0]["name"], "order_status", "{first}");

    let reply = reply_of(
        &app,
        &chat,
        &format!("where is {other_number}? {}", email_for(other_number)),
    )
    .await;
    assert!(
        reply["text"]
            .as_str()
            .is_some_and(|t| t.contains("verified for another account")),
        "{reply}"
    );
    assert_eq!(reply["actions"], json!([]), "{reply}");

    // The same customer giving their details again is answered as before.
    let again = reply_of(&app, &chat, &format!("and {number}? {email}")).await;
    assert_eq!(again["actions"][0]["name"], "order_status", "{again}");
}

/// The model's identity check of someone else in a verified chat does not switch the chat.
#[tokio::test]
async fn the_model_cannot_switch_a_verified_chat_to_another_account() {
    let app = spawn_app_with_llm().await;
    let (order, email) = shipped_order();
    let number = order["number"].as_str().expect("number");
    let other = another_customers_order(&order);
    let other_number = other["number"].as_str().expect("number");
    let status_of =
        |n: &str| Behavior::ToolCalls(vec![("order_status".into(), json!({"order_number": n}))]);
    app.llm().push([
        verify_customer_call(&order, &email),
        status_of(number),
        Behavior::Text("Here it is.".into()),
        verify_customer_call(&other, &email_for(other_number)),
        status_of(other_number),
        Behavior::Text("Sorry about that.".into()),
        status_of(number),
        Behavior::Text("Still on its way.".into()),
    ]);
    let chat = app.start_chat().await;
    let first = reply_of(&app, &chat, &format!("where is {number}? I'm {email}")).await;
    assert_eq!(first["actions"][1]["name"], "order_status", "{first}");

    let other_email = email_for(other_number);
    let reply = reply_of(&app, &chat, &format!("and {other_number}? {other_email}")).await;
    let text = reply["text"].as_str().expect("text");
    assert!(text.contains("verified for another account"), "{text}");
    assert!(!text.contains(&format!("Order {other_number}")), "{text}");
    let told = app.llm().requests()[4]["messages"].to_string();
    assert!(told.contains("other_account"), "{told}");

    // Still the first customer's chat: their order is answered without a new check.
    let again = reply_of(&app, &chat, "and my first order?").await;
    let text = again["text"].as_str().expect("text");
    assert!(text.contains(&format!("Order {number}")), "{text}");
}

/// The model may not prove who the customer is with an email or order number the customer
/// never wrote (one it guessed, or read elsewhere): the check is not run, and the model is
/// told to ask.
#[tokio::test]
async fn the_model_cannot_verify_a_customer_with_details_they_never_wrote() {
    let app = spawn_app_with_llm().await;
    let (order, email) = shipped_order();
    let number = order["number"].as_str().expect("number");
    app.llm().push([
        verify_customer_call(&order, &email),
        Behavior::Text("Could you send me your email?".into()),
        verify_customer_call(&order, &email),
        Behavior::Text("Thanks.".into()),
    ]);
    let chat = app.start_chat().await;
    let reply = reply_of(&app, &chat, &format!("Where is my order {number}?")).await;
    assert_eq!(reply["actions"], json!([]), "{reply}");
    let told = app.llm().requests()[1]["messages"].to_string();
    assert!(told.contains("not in the customer's messages"), "{told}");
    let (_, conversation) = app
        .admin_get(&format!("/v1/conversations/{}", chat.id))
        .await;
    assert!(conversation["verified_as"].is_null(), "{conversation}");

    // Written by the customer (in any case), the same details verify them.
    let reply = reply_of(&app, &chat, &format!("It's {}", email.to_uppercase())).await;
    assert_eq!(reply["actions"][0]["name"], "verify_customer", "{reply}");
    assert_eq!(reply["actions"][0]["ok"], true, "{reply}");
}

#[tokio::test]
async fn order_status_shows_the_exact_facts_after_an_in_chat_identity_check() {
    let app = spawn_app().await;
    let (order, email) = shipped_order();
    let number = order["number"].as_str().expect("number");
    let chat = app.start_chat().await;

    // Half the identity check given: the other half is asked for.
    let by_email = app.start_chat().await;
    let ask = reply_of(
        &app,
        &by_email,
        &format!("what are my recent orders? {email}"),
    )
    .await;
    assert!(
        ask["text"].as_str().is_some_and(|t| t.ends_with(
            "Please also send the number of one of your orders (it looks like NW-1234567)."
        )),
        "{ask}"
    );
    let ask = reply_of(&app, &chat, &format!("Where is my order {number}?")).await;
    assert!(
        ask["text"].as_str().is_some_and(
            |t| t.ends_with("Please also send the email address you used for that order.")
        ),
        "{ask}"
    );
    assert_eq!(
        ask["actions"],
        json!([]),
        "nothing is looked up before verification"
    );

    let reply = reply_of(&app, &chat, &format!("{email} {number}")).await;
    let text = reply["text"].as_str().expect("text");
    let tracking = order["shipping"]["tracking_number"]
        .as_str()
        .expect("tracking");
    let carrier = order["shipping"]["carrier"].as_str().expect("carrier");
    assert!(
        text.contains(&format!("Order {number}: in transit")),
        "{text}"
    );
    assert!(
        text.contains(&format!("Carrier: {carrier}, tracking number {tracking}")),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "Total: ${:.2}",
            order["total"].as_f64().expect("total")
        )),
        "{text}"
    );
    assert_eq!(reply["actions"][0]["name"], "order_status");
    assert_eq!(reply["actions"][0]["ok"], true);
    assert_eq!(reply["actions"][0]["result"]["number"], number);
    assert_eq!(
        reply["actions"][0]["result"]["shipping"]["tracking_number"],
        tracking
    );

    let listed = reply_of(&app, &chat, "can you list my orders").await;
    let customer_orders: Vec<&str> = demo("orders.json")
        .iter()
        .filter(|o| o["customer_id"] == order["customer_id"])
        .filter_map(|o| o["number"].as_str().map(str::to_owned))
        .collect::<Vec<_>>()
        .leak()
        .iter()
        .map(String::as_str)
        .collect();
    let shown = listed["actions"][0]["result"]["orders"]
        .as_array()
        .expect("orders");
    assert!(!shown.is_empty());
    for o in shown {
        assert!(
            customer_orders.contains(&o["number"].as_str().unwrap_or_default()),
            "{o}"
        );
    }

    // The handoff's summary gives an agent the lookup's facts to act on, not internal ids.
    let (_, body) = app
        .say(&chat, json!({"text": "can I talk to a person please"}))
        .await;
    assert_eq!(body["handoff"]["summary"], "", "the summary is the agents'");
    let summary = app.summary(&chat).await;
    assert!(
        summary.contains(&format!(
            "order_status ok (order {number}, status in_transit, carrier {carrier}, tracking {tracking}, estimated delivery "
        )),
        "{summary}"
    );
    assert!(!summary.contains("customer_id"), "{summary}");
}

#[tokio::test]
async fn not_found_and_not_yours_look_the_same_and_wrong_guesses_are_limited() {
    let app = spawn_app().await;
    let (order, email) = shipped_order();
    let number = order["number"].as_str().expect("number");
    let chat = app.start_chat().await;

    let not_yours = reply_of(
        &app,
        &chat,
        &format!("where is my order {number} {}", someone_else(&order)),
    )
    .await;
    let not_found = reply_of(
        &app,
        &chat,
        &format!("where is my order NW-0000001 {email}"),
    )
    .await;
    assert_eq!(not_yours["text"], not_found["text"]);
    assert!(
        !not_yours
            .to_string()
            .contains(order["shipping"]["tracking_number"].as_str().unwrap_or("-"))
    );

    // Different wrong guesses (the same one repeated would read as a frustrated repeat).
    for n in 2..5 {
        let guess = reply_of(
            &app,
            &chat,
            &format!("guess{n}@nowhere.example NW-000000{n}"),
        )
        .await;
        assert_eq!(guess["text"], not_found["text"]);
    }
    let limited = reply_of(&app, &chat, &format!("where is my order {number} {email}")).await;
    assert!(
        limited["text"]
            .as_str()
            .is_some_and(|t| t.contains("too many times")),
        "even the right details are refused after five wrong guesses: {limited}"
    );
}

/// Guessing a customer's order numbers from new conversations, two guesses each, hits the
/// same limit: it counts failed checks per email across conversations. Other customers are
/// not held up by it.
#[tokio::test]
async fn guesses_spread_over_new_conversations_are_limited_per_email() {
    let app = spawn_app().await;
    let (order, email) = shipped_order();
    let number = order["number"].as_str().expect("number");
    let mut chat = app.start_chat().await;
    for n in 1..=5 {
        if n % 2 == 1 {
            chat = app.start_chat().await;
        }
        let guess = reply_of(
            &app,
            &chat,
            &format!("where is my order NW-000000{n} {email}"),
        )
        .await;
        assert!(
            guess["text"]
                .as_str()
                .is_some_and(|t| t.contains("don't match")),
            "{guess}"
        );
    }
    let chat = app.start_chat().await;
    let limited = reply_of(&app, &chat, &format!("where is my order {number} {email}")).await;
    let text = limited["text"].as_str().unwrap_or_default();
    assert!(
        text.contains("too many unsuccessful checks with this email"),
        "{limited}"
    );
    assert!(
        !text.contains(order["shipping"]["tracking_number"].as_str().unwrap_or("-")),
        "{limited}"
    );

    let other = another_customers_order(&order);
    let other_email = demo("customers.json")
        .into_iter()
        .find(|c| c["id"] == other["customer_id"])
        .and_then(|c| c["email"].as_str().map(str::to_owned))
        .expect("its customer");
    let chat = app.start_chat().await;
    let found = reply_of(
        &app,
        &chat,
        &format!(
            "where is my order {} {other_email}",
            other["number"].as_str().unwrap_or("-")
        ),
    )
    .await;
    assert!(
        found["text"]
            .as_str()
            .is_some_and(|t| t.contains(other["number"].as_str().unwrap_or("-"))),
        "{found}"
    );
}

#[tokio::test]
async fn a_double_charge_is_explained_from_the_payment_records() {
    let app = spawn_app().await;
    let payments = demo("payments.json");
    let duplicate = payments
        .iter()
        .find(|p| {
            p["kind"] == "capture"
                && p["status"] == "succeeded"
                && payments
                    .iter()
                    .filter(|q| {
                        q["order_number"] == p["order_number"]
                            && q["kind"] == "capture"
                            && q["status"] == "succeeded"
                    })
                    .count()
                    >= 2
        })
        .expect("a duplicate capture in the demo data");
    let number = duplicate["order_number"].as_str().expect("order");
    let email = demo("customers.json")
        .iter()
        .find(|c| c["id"] == duplicate["customer_id"])
        .and_then(|c| c["email"].as_str().map(str::to_owned))
        .expect("owner");
    let chat = app.start_chat().await;
    let reply = reply_of(
        &app,
        &chat,
        &format!("Why was I charged twice for {number}? I'm {email}"),
    )
    .await;
    assert_eq!(reply["actions"][0]["name"], "billing_lookup");
    assert_eq!(
        reply["actions"][0]["result"]["explanation"],
        "duplicate_capture"
    );
    let text = reply["text"].as_str().expect("text");
    assert!(text.contains("You were charged twice"), "{text}");
    assert!(
        text.contains(&format!(
            "${:.2}",
            duplicate["amount"].as_f64().expect("amount")
        )),
        "{text}"
    );
    // The refund of the extra charge is told as it stands: a refund already issued is not
    // "being refunded".
    let refund = demo("refunds.json")
        .into_iter()
        .find(|r| r["order_number"] == number)
        .expect("the extra charge's refund");
    let issued = refund["issued_at"]
        .as_str()
        .filter(|_| refund["status"] == "issued");
    match issued {
        Some(at) => assert!(
            text.contains(&format!("refunded on {}", &at[..10]))
                && !text.contains("being refunded"),
            "{text}"
        ),
        None => assert!(text.contains("being refunded"), "{text}"),
    }
}

/// The model's own words never state an account fact: after the action's card, prose that
/// retells the order differently is dropped; without any action, a made-up order status is
/// replaced by the help center's words and a person offered.
#[tokio::test]
async fn the_models_own_account_claims_are_not_shown() {
    let app = spawn_app_with_llm().await;
    let (order, email) = shipped_order();
    let number = order["number"].as_str().expect("number");
    app.llm().push([
        verify_customer_call(&order, &email),
        Behavior::ToolCalls(vec![(
            "order_status".into(),
            json!({"order_number": number}),
        )]),
        Behavior::Text(
            "Your order was CANCELLED and a refund of $999.99 was issued on 2030-01-01.".into(),
        ),
        Behavior::Text(format!(
            "Your order {number} was delivered on 2026-11-20 [1]."
        )),
    ]);
    let chat = app.start_chat().await;
    let reply = reply_of(&app, &chat, &format!("where is {number}? I'm {email}")).await;
    let text = reply["text"].as_str().expect("text");
    assert!(
        text.contains(&format!("Order {number}: in transit")),
        "{text}"
    );
    assert!(
        !text.contains("999.99") && !text.contains("CANCELLED"),
        "{text}"
    );

    let other = app.start_chat().await;
    let reply = reply_of(&app, &other, "where is my parcel?").await;
    let text = reply["text"].as_str().expect("text");
    assert!(
        !text.contains("delivered on") && text.contains("connect you with a person"),
        "{text}"
    );
    assert!(
        reply["confidence"].as_f64().is_some_and(|c| c < 0.35),
        "{reply}"
    );
    assert_eq!(
        sample(
            &app.metrics().await,
            "frontdesk_llm_failures_total{kind=\"ungrounded\"}"
        ),
        2.0
    );

    // Asking for the details, with the example the tool gave, is the model's to say.
    let ask = "Please send your email and order number (it looks like NW-1234567).";
    app.llm().push([
        Behavior::ToolCalls(vec![(
            "order_status".into(),
            json!({"order_number": number}),
        )]),
        Behavior::Text(ask.into()),
    ]);
    let third = app.start_chat().await;
    let reply = reply_of(&app, &third, &format!("where is {number}?")).await;
    assert!(
        reply["text"].as_str().is_some_and(|t| t.contains(ask)),
        "{reply}"
    );

    // A status told of "it" is the lookup's or nothing (a QA pass saw "it has been
    // delivered" beside a card that said in transit).
    app.llm().push([
        verify_customer_call(&order, &email),
        Behavior::ToolCalls(vec![(
            "order_status".into(),
            json!({"order_number": number}),
        )]),
        Behavior::Text(
            "Good news: it has been delivered, so it should be at your door. It's on its way \
             with the carrier."
                .into(),
        ),
    ]);
    let fourth = app.start_chat().await;
    let reply = reply_of(&app, &fourth, &format!("where is {number}? I'm {email}")).await;
    let text = reply["text"].as_str().expect("text");
    assert!(
        text.contains(&format!("Order {number}: in transit")) && !text.contains("delivered"),
        "{text}"
    );
}

#[tokio::test]
async fn the_model_runs_actions_as_tools_and_the_template_shows_the_facts() {
    let app = spawn_app_with_llm().await;
    let (order, email) = shipped_order();
    let number = order["number"].as_str().expect("number");
    app.llm().push([
        verify_customer_call(&order, &email),
        Behavior::ToolCalls(vec![(
            "order_status".into(),
            json!({"order_number": number}),
        )]),
        Behavior::Text(
            "It is on its way; the tracking number is 000 (the model garbled it).".into(),
        ),
    ]);
    let chat = app.start_chat().await;
    let reply = reply_of(&app, &chat, &format!("where is {number}? I'm {email}")).await;

    let tracking = order["shipping"]["tracking_number"]
        .as_str()
        .expect("tracking");
    let text = reply["text"].as_str().expect("text");
    assert!(
        text.starts_with(&format!(
            "Thanks, I've confirmed your details.\n\nOrder {number}: in transit"
        )),
        "the template's facts come first: {text}"
    );
    assert!(text.contains(tracking), "{text}");
    let names: Vec<&str> = reply["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .filter_map(|a| a["name"].as_str())
        .collect();
    assert_eq!(names, ["verify_customer", "order_status"]);
    assert_eq!(
        reply["actions"][1]["result"]["shipping"]["tracking_number"],
        tracking
    );

    let requests = app.llm().requests();
    assert_eq!(requests.len(), 3);
    // The model is told what the customer was shown, not the whole record.
    let told = requests[2]["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter(|m| m["role"] == "tool")
        .filter_map(|m| m["content"].as_str())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        told.contains("shown_to_customer") && told.contains(tracking),
        "{told}"
    );
    assert!(!told.contains("customer_id"), "{told}");
    // Tokens in: every call's messages, and the tool definitions of the two that offered them
    // (the last round offers none).
    assert!(requests[2]["tools"].is_null(), "{}", requests[2]);
    assert_eq!(
        sample(
            &app.metrics().await,
            "frontdesk_llm_tokens_total{direction=\"in\"}"
        ),
        requests.iter().map(prompt_tokens).sum::<u64>() as f64
    );
    let offered: Vec<&str> = requests[0]["tools"]
        .as_array()
        .expect("tools offered")
        .iter()
        .filter_map(|t| t["function"]["name"].as_str())
        .collect();
    for name in [
        "order_status",
        "billing_lookup",
        "refund_status",
        "recent_orders",
        "verify_customer",
        "handoff_to_human",
    ] {
        assert!(offered.contains(&name), "{name} offered: {offered:?}");
    }
    let second = requests[2]["messages"].as_array().expect("messages");
    let tool_message = second
        .iter()
        .rev()
        .find(|m| m["role"] == "tool")
        .expect("tool result sent back");
    assert_eq!(tool_message["tool_call_id"], "call_0");
    assert!(
        tool_message["content"]
            .as_str()
            .is_some_and(|c| c.contains(tracking))
    );
}

#[tokio::test]
async fn a_model_asking_about_an_unverified_account_gets_no_data() {
    let app = spawn_app_with_llm().await;
    let (order, _) = shipped_order();
    let number = order["number"].as_str().expect("number");
    // The model looks the order up, then writes its reply.
    let asked = |reply: &str| {
        app.llm().push([
            Behavior::ToolCalls(vec![(
                "order_status".into(),
                json!({"order_number": number}),
            )]),
            Behavior::Text(reply.into()),
        ]);
    };
    asked("Please tell me your email first.");
    let chat = app.start_chat().await;
    let reply = reply_of(&app, &chat, &format!("status of {number}")).await;
    assert_eq!(reply["actions"], json!([]));
    let requests = app.llm().requests();
    let tool = requests[1]["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .find(|m| m["role"] == "tool")
        .cloned()
        .expect("tool");
    assert!(
        tool["content"]
            .as_str()
            .is_some_and(|c| c.contains("verification_required")),
        "{tool}"
    );
    assert!(
        !requests[1]
            .to_string()
            .contains(order["shipping"]["tracking_number"].as_str().unwrap_or("-"))
    );
    assert_eq!(reply["text"], "Please tell me your email first.", "{reply}");

    // A model that makes the facts up instead is withheld, and the customer is still asked
    // for what the lookup needs, in the service's words.
    asked("Your order shipped yesterday.");
    let chat = app.start_chat().await;
    let reply = reply_of(&app, &chat, &format!("status of {number}")).await;
    let text = reply["text"].as_str().expect("text");
    assert!(
        text.starts_with("I can look that up once I know it's you."),
        "{text}"
    );
}

/// The order the test API takes `SLOW_ORDER_DELAY` to answer.
const SLOW_ORDER: &str = "NW-5000777";
const SLOW_ORDER_DELAY: std::time::Duration = std::time::Duration::from_millis(500);

/// A business's order API for tests: counts calls; NW-5000500 answers 500, NW-5000404 404,
/// `SLOW_ORDER` answers late, NW-5000010 has no `eta` and a numeric owner (for a numeric
/// customer id), NW-5000011 no owner.
async fn store_api(calls: Arc<AtomicUsize>) -> String {
    // Answered with another order's address: never followed.
    let redirect = |Path(customer): Path<String>| async move {
        axum::response::Redirect::temporary(&format!("/customers/{customer}/orders/NW-5000010"))
    };
    let app = Router::new()
        .route("/customers/{customer}/orders/NW-5000302", get(redirect))
        .route(
        "/customers/{customer}/orders/{number}",
        get(move |Path((customer, number)): Path<(String, String)>| {
            let calls = calls.clone();
            async move {
                calls.fetch_add(1, Ordering::SeqCst);
                if number == SLOW_ORDER {
                    tokio::time::sleep(SLOW_ORDER_DELAY).await;
                }
                match number.as_str() {
                    "NW-5000500" => Err(StatusCode::INTERNAL_SERVER_ERROR),
                    "NW-5000404" => Err(StatusCode::NOT_FOUND),
                    // A dump, not a record: 2 MiB.
                    "NW-5000413" => Ok(Json(json!({
                        "order": {"id": number, "state": "x".repeat(2 << 20), "eta": "2026-12-01"},
                        "owner": customer,
                    }))),
                    "NW-5000010" => Ok(Json(json!({
                        "order": {"id": number, "state": "processing"},
                        "owner": customer.parse::<u64>().map_or(json!(customer), |id| json!(id)),
                    }))),
                    "NW-5000011" => Ok(Json(json!({"order": {"id": number, "state": "shipped"}}))),
                    _ => Ok(Json(json!({
                        "order": {
                            "id": number,
                            "state": "shipped",
                            "eta": "2026-12-01",
                            "total": {"amount": "1234.5", "currency": "EUR"},
                        },
                        "owner": customer,
                    }))),
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    format!("http://{addr}")
}

async fn app_with_http_actions(base: &str, llm: Option<&ScriptedLlm>) -> TestApp {
    let spec = format!(
        r#"
name = "order_status"
description = "Order status from the store's API"
intent = "order_status"
template = "Order {{{{ result.number }}}} is {{{{ result.state }}}}{{% if result.eta %}}, arriving {{{{ result.eta }}}}{{% endif %}}{{% if result.total %}} (total {{{{ result.total | money(currency=result.currency) }}}}){{% endif %}}."
[parameters]
type = "object"
required = ["order_number"]
[parameters.properties.order_number]
type = "string"
pattern = "^NW-[0-9]{{7}}$"
[backend]
kind = "http"
url = "{base}/customers/{{customer_id}}/orders/{{order_number}}"
headers = {{ X-Api-Version = "2" }}
timeout_ms = 2000
owner = "/owner"
fields = {{ number = "/order/id", state = "/order/state", eta = "/order/eta", total = "/order/total/amount", currency = "/order/total/currency" }}
"#
    );
    app_with_action("order_status", &spec, llm).await
}

/// The app with one action, `name.toml` holding `spec`, signed identities and (if given) a
/// scripted model.
async fn app_with_action(name: &str, spec: &str, llm: Option<&ScriptedLlm>) -> TestApp {
    let dir = tempfile::tempdir().expect("actions dir");
    std::fs::write(dir.path().join(format!("{name}.toml")), spec).expect("write spec");
    let actions_dir = dir.keep();
    let base_url = llm.map(ScriptedLlm::base_url);
    spawn_app_with(move |s| {
        s.actions_dir = actions_dir;
        s.identity_secret = Some(frontdesk::config::Secret::new("identity-secret"));
        if let Some(url) = base_url {
            s.llm.base_url = Some(url);
            s.llm.model = "scripted-model".into();
        }
    })
    .await
}

/// Without a model, a business's own references ("R-10001", written "r-10001") and parameter
/// names reach its API: the router finds a reference by the action's own pattern.
#[tokio::test]
async fn a_business_with_its_own_reference_format_is_answered_without_a_model() {
    let calls = Arc::new(AtomicUsize::new(0));
    let base = store_api(calls.clone()).await;
    let spec = format!(
        r#"
name = "rental_status"
description = "A bike rental's status"
intent = "order_status"
template = "Rental {{{{ result.number }}}} is {{{{ result.state }}}}."
[parameters]
type = "object"
required = ["rental"]
[parameters.properties.rental]
type = "string"
pattern = "^R-[0-9]{{5}}$"
examples = ["R-10001"]
[backend]
kind = "http"
url = "{base}/customers/{{customer_id}}/orders/{{rental}}"
owner = "/owner"
fields = {{ number = "/order/id", state = "/order/state" }}
"#
    );
    let app = app_with_action("rental_status", &spec, None).await;
    let chat = signed_chat(&app, "cust-7").await;
    // Asked for, the reference is described by the action's own example.
    let reply = reply_of(&app, &chat, "Where is my order?").await;
    assert_eq!(
        reply["text"],
        "Which order is it about? Please send the order number (it looks like R-10001).",
        "{reply}"
    );
    let reply = reply_of(&app, &chat, "Where is my rental r-10001?").await;
    assert_eq!(reply["text"], "Rental R-10001 is shipped.", "{reply}");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    // "It" is that rental.
    let reply = reply_of(&app, &chat, "has it shipped yet?").await;
    assert_eq!(reply["text"], "Rental R-10001 is shipped.", "{reply}");
}

/// A header naming a secret the environment lacks stops the start, naming both, instead of
/// failing every customer's lookup later.
#[tokio::test]
async fn an_unset_header_secret_stops_the_start() {
    let actions = tempfile::tempdir().expect("actions dir");
    std::fs::write(
        actions.path().join("order_status.toml"),
        r#"
name = "order_status"
description = "Order status from the store's API"
template = "{{ result.state }}"
[parameters]
type = "object"
[backend]
kind = "http"
url = "https://api.example/orders"
headers = { Authorization = "Bearer ${FRONTDESK_TEST_UNSET_TOKEN}" }
"#,
    )
    .expect("write spec");
    let message = start_error(|settings| settings.actions_dir = actions.path().to_owned()).await;
    assert!(
        message.contains("order_status") && message.contains("FRONTDESK_TEST_UNSET_TOKEN"),
        "{message}"
    );
}

async fn signed_chat(app: &TestApp, user: &str) -> Chat {
    use hmac::{Hmac, KeyInit, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(b"identity-secret").expect("key");
    mac.update(user.as_bytes());
    let signature = hex::encode(mac.finalize().into_bytes());
    app.start_chat_with(json!({"identity": {"user_id": user, "signature": signature}}))
        .await
}

#[tokio::test]
async fn a_business_api_answers_through_the_http_backend() {
    let calls = Arc::new(AtomicUsize::new(0));
    let base = store_api(calls.clone()).await;
    let app = app_with_http_actions(&base, None).await;
    let chat = signed_chat(&app, "cust 42/../admin").await;

    let reply = reply_of(&app, &chat, "where is my order NW-1234567").await;
    assert_eq!(
        reply["text"],
        "Order NW-1234567 is shipped, arriving 2026-12-01 (total €1,234.50)."
    );
    assert_eq!(
        reply["actions"][0]["result"],
        json!({
            "number": "NW-1234567",
            "state": "shipped",
            "eta": "2026-12-01",
            "total": "1234.5",
            "currency": "EUR",
        })
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);

    let missing = reply_of(&app, &chat, "where is my order NW-5000404").await;
    assert!(
        missing["text"]
            .as_str()
            .is_some_and(|t| t.contains("couldn't find")),
        "{missing}"
    );

    let (status, body) = app
        .say(&chat, json!({"text": "where is my order NW-5000500"}))
        .await;
    assert_eq!(status, 200);
    let failed = &body["replies"][0];
    assert!(
        failed["text"]
            .as_str()
            .is_some_and(|t| t.contains("couldn't reach our order system")),
        "{failed}"
    );
    assert_eq!(failed["actions"][0]["ok"], false);
    assert_eq!(body["handoff"]["reason"], "action_failed");
    // The notice is in the customer's language.
    let german = signed_chat(&app, "cust 42/../admin").await;
    let (_, body) = app
        .say(
            &german,
            json!({"text": "Wo ist meine Bestellung NW-5000500?"}),
        )
        .await;
    assert!(
        body["replies"][0]["text"]
            .as_str()
            .is_some_and(|t| t.starts_with("Ich erreiche unser Bestellsystem gerade nicht")),
        "{body}"
    );

    // An oversized answer is a failure too, not 2 MiB in the customer's reply.
    let other = signed_chat(&app, "cust 42/../admin").await;
    let (_, body) = app
        .say(&other, json!({"text": "where is my order NW-5000413"}))
        .await;
    assert_eq!(body["handoff"]["reason"], "action_failed", "{body}");
    assert!(body.to_string().len() < 100_000);
}

/// A business API that leaves out an empty field, or gives customer ids as numbers, is read
/// as it is; one that leaves out the record's owner is a failure (a person looks into it),
/// not "no such order".
#[tokio::test]
async fn a_business_apis_optional_fields_and_numeric_ids_are_read_as_they_are() {
    let base = store_api(Arc::new(AtomicUsize::new(0))).await;
    let app = app_with_http_actions(&base, None).await;
    let chat = signed_chat(&app, "12345").await;
    let reply = reply_of(&app, &chat, "where is my order NW-5000010").await;
    assert_eq!(reply["text"], "Order NW-5000010 is processing.", "{reply}");

    let (_, body) = app
        .say(&chat, json!({"text": "where is my order NW-5000011"}))
        .await;
    assert_eq!(body["handoff"]["reason"], "action_failed", "{body}");
    let chat = signed_chat(&app, "12345").await;
    let (_, body) = app
        .say(&chat, json!({"text": "where is my order NW-5000302"}))
        .await;
    assert_eq!(body["handoff"]["reason"], "action_failed", "{body}");
    let text = body["replies"][0]["text"].as_str().unwrap_or_default();
    assert!(!text.contains("processing"), "{text}");
}

#[tokio::test]
async fn schema_invalid_arguments_never_reach_the_backend() {
    let calls = Arc::new(AtomicUsize::new(0));
    let base = store_api(calls.clone()).await;
    let llm = ScriptedLlm::start().await;
    let app = app_with_http_actions(&base, Some(&llm)).await;
    llm.push([
        Behavior::ToolCalls(vec![
            (
                "order_status".into(),
                json!({"order_number": "NW-1234567' OR '1'='1"}),
            ),
            (
                "order_status".into(),
                json!({"order_number": "../../admin"}),
            ),
        ]),
        Behavior::Text("I need a valid order number.".into()),
    ]);
    let chat = signed_chat(&app, "cust_0001").await;
    let reply = reply_of(&app, &chat, "order status please").await;
    assert_eq!(reply["actions"], json!([]));
    assert_eq!(
        calls.load(Ordering::SeqCst),
        0,
        "no backend call for invalid arguments"
    );
    let requests = llm.requests();
    let tools: Vec<String> = requests[1]["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter(|m| m["role"] == "tool")
        .filter_map(|m| m["content"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(tools.len(), 2);
    assert!(
        tools.iter().all(|t| t.contains("invalid_arguments")),
        "{tools:?}"
    );
}

/// A model that repeats a lookup shows its facts once; a call in the last round, which
/// offered no tools, is not run.
#[tokio::test]
async fn a_repeated_lookup_shows_its_facts_once() {
    let llm = ScriptedLlm::start().await;
    let app = spawn_app_with(|s| {
        crate::helpers::use_scripted_llm(s, &llm);
        s.identity_secret = Some(frontdesk::config::Secret::new("identity-secret"));
    })
    .await;
    let lookup = || Behavior::ToolCalls(vec![("recent_orders".into(), json!({}))]);
    llm.push([lookup(), lookup(), lookup()]);
    let customer = demo("customers.json")[0].clone();
    let chat = signed_chat(&app, customer["id"].as_str().expect("id")).await;
    let reply = reply_of(&app, &chat, "show me my recent orders").await;
    let text = reply["text"].as_str().expect("text");
    assert_eq!(text.matches("Your recent orders").count(), 1, "{text}");
    assert_eq!(
        reply["actions"].as_array().map(Vec::len),
        Some(2),
        "every lookup's record is kept: {reply}"
    );
    assert_eq!(llm.requests().len(), 3);
}

#[tokio::test]
async fn a_signed_identity_from_the_host_site_verifies_the_conversation() {
    let app = spawn_app_with(|s| {
        s.identity_secret = Some(frontdesk::config::Secret::new("identity-secret"))
    })
    .await;
    let customer = demo("customers.json")[0].clone();
    let id = customer["id"].as_str().expect("id");
    let chat = signed_chat(&app, id).await;
    let reply = reply_of(&app, &chat, "show me my recent orders").await;
    assert_eq!(reply["actions"][0]["name"], "recent_orders", "{reply}");
    let shown = reply["actions"][0]["result"]["orders"]
        .as_array()
        .expect("orders");
    assert!(!shown.is_empty());
    assert!(shown.iter().all(|o| o["customer_id"] == id), "{shown:?}");
}

/// A chat signed with the customer's email is theirs: their own details given again are
/// answered, not taken for another account's.
#[tokio::test]
async fn a_chat_signed_with_an_email_answers_its_customers_own_details() {
    let app = spawn_app_with(|s| {
        s.identity_secret = Some(frontdesk::config::Secret::new("identity-secret"))
    })
    .await;
    let (order, email) = shipped_order();
    let number = order["number"].as_str().expect("number");
    let chat = signed_chat(&app, &email).await;
    let reply = reply_of(&app, &chat, &format!("{email} where is {number}?")).await;
    assert_eq!(reply["actions"][0]["name"], "order_status", "{reply}");
}

#[tokio::test]
async fn metrics_time_the_model_apart_from_its_actions_and_count_every_calls_tokens() {
    let base = store_api(Arc::new(AtomicUsize::new(0))).await;
    let llm = ScriptedLlm::start().await;
    let app = app_with_http_actions(&base, Some(&llm)).await;
    let answer = "Your order is on its way.";
    let first_token = std::time::Duration::from_millis(100);
    llm.push([
        Behavior::Slow(
            first_token,
            Box::new(Behavior::ToolCalls(vec![
                ("order_status".into(), json!({"order_number": SLOW_ORDER})),
                ("no_such_action".into(), json!({})),
                ("order_status".into(), json!({"order_number": "NW-12"})),
            ])),
        ),
        Behavior::Text(answer.into()),
    ]);
    let chat = signed_chat(&app, "cust_0001").await;
    let (status, body) = app.say(&chat, json!({"text": "where is my order?"})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["handoff"], Value::Null, "{body}");
    let metrics = app.metrics().await;

    // One turn: one first token (the first call's, at least its 100 ms delay) and one model
    // total, which leaves out the 500 ms action run between the model's two calls.
    let step = |kind: &str, step: &str| {
        sample(
            &metrics,
            &format!("frontdesk_step_seconds_{kind}{{step=\"{step}\"}}"),
        )
    };
    assert_eq!(step("count", "llm_first_token"), 1.0);
    assert_eq!(step("count", "llm_total"), 1.0);
    assert_eq!(step("count", "actions"), 1.0);
    let action_time = step("sum", "actions");
    assert!(action_time >= SLOW_ORDER_DELAY.as_secs_f64(), "{metrics}");
    let model_time = step("sum", "llm_total");
    assert!(model_time < SLOW_ORDER_DELAY.as_secs_f64(), "{metrics}");
    let first = step("sum", "llm_first_token");
    assert!(
        first >= first_token.as_secs_f64() && first <= model_time,
        "{metrics}"
    );

    // Calls the backend never saw are counted too, under one label for unknown names.
    for (series, count) in [
        (
            "frontdesk_action_calls_total{action=\"order_status\",outcome=\"ok\"}",
            1.0,
        ),
        (
            "frontdesk_action_calls_total{action=\"order_status\",outcome=\"invalid\"}",
            1.0,
        ),
        (
            "frontdesk_action_calls_total{action=\"(unknown)\",outcome=\"unknown\"}",
            1.0,
        ),
    ] {
        assert_eq!(sample(&metrics, series), count, "{series}");
    }

    // Tokens in: both requests as sent (the second carries the calls and their results).
    // Tokens out: the calls the model made and its answer.
    let requests = llm.requests();
    assert_eq!(requests.len(), 2);
    let sent: u64 = requests.iter().map(prompt_tokens).sum();
    let calls = requests[1]["messages"]
        .as_array()
        .and_then(|m| m.iter().find(|m| m["role"] == "assistant"))
        .expect("the model's calls, sent back");
    let made = prompt_tokens(&json!({"messages": [calls]}))
        - 4
        - estimate(calls["content"].as_str().unwrap_or_default());
    assert_eq!(
        sample(&metrics, "frontdesk_llm_tokens_total{direction=\"in\"}"),
        sent as f64
    );
    assert_eq!(
        sample(&metrics, "frontdesk_llm_tokens_total{direction=\"out\"}"),
        (made + estimate(answer)) as f64
    );
}
