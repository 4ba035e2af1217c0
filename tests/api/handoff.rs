//! Handoff to humans: triggers, summaries, the queue, live agent replies, human-only mode,
//! the webhook, and role checks.

use std::sync::{Arc, Mutex};

use axum::{Json, Router, http::StatusCode, routing::post};
use serde_json::{Value, json};

use crate::{
    helpers::{
        ADMIN_KEY, AGENT_KEY, Chat, TestApp, agent, estimate, first_message, prompt_tokens,
        read_sse_until, sample, spawn_app, spawn_app_with, spawn_app_with_llm,
    },
    scripted_llm::Behavior,
};

async fn waiting(app: &TestApp) -> Vec<Value> {
    let (status, body) = agent(
        app,
        reqwest::Method::GET,
        "/v1/handoffs?status=waiting",
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["handoffs"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn asking_for_a_person_in_any_supported_language_opens_a_handoff() {
    let app = spawn_app().await;
    // Each is answered in its own language, whatever the page's locale.
    for (text, answer) in [
        ("I want to talk to a human", "connecting you"),
        ("quiero hablar con una persona", "Te pongo en contacto"),
        ("je veux parler à un conseiller", "Je vous mets en relation"),
        (
            "ich möchte mit einem Mitarbeiter sprechen",
            "Ich verbinde Sie",
        ),
        ("quero falar com um atendente", "Vou conectar você"),
    ] {
        let chat = app.start_chat().await;
        app.say(&chat, json!({"text": "How long do refunds take?"}))
            .await;
        let (_, body) = app.say(&chat, json!({ "text": text })).await;
        assert_eq!(
            body["handoff"]["reason"], "customer_request",
            "{text}: {body}"
        );
        let summary = app.summary(&chat).await;
        assert!(
            summary.starts_with("Goal: \"How long do refunds take?\""),
            "{summary}"
        );
        // The answer, not the "connecting you" after it.
        assert!(summary.contains("Tried: 1 assistant reply;"), "{summary}");
        assert!(
            body["replies"][0]["text"]
                .as_str()
                .is_some_and(|t| t.contains(answer)),
            "{text}: {body}"
        );
    }
    // Without a clear language in the message, the conversation's locale chooses.
    let chat = app
        .start_chat_with(json!({"channel": "web", "locale": "fr-FR"}))
        .await;
    let (_, body) = app
        .say(&chat, json!({"text": "xylophone quantum zebra"}))
        .await;
    let text = body["replies"][0]["text"].as_str().expect("text");
    assert!(text.starts_with("Je n'ai pas trouvé"), "{text}");
    let (_, body) = app.say(&chat, json!({"text": "oui"})).await;
    assert_eq!(body["handoff"]["reason"], "customer_request", "{body}");
    let chat = app.start_chat().await;
    let (_, body) = app.say(&chat, json!({"text": "¡Hola!"})).await;
    let text = body["replies"][0]["text"].as_str().expect("text");
    assert!(text.starts_with("¡Hola! ¿En qué puedo ayudarte?"), "{text}");
    // A request that says what it is about is the goal the queue shows, not the first
    // question; a bare one alone says the customer did not say.
    let chat = app.start_chat().await;
    app.say(&chat, json!({"text": "How long do refunds take?"}))
        .await;
    let broken = "I have a damaged item, my order NW-1046247 arrived broken and I want a \
                  replacement. Can I talk to a real person please?";
    let (_, body) = app.say(&chat, json!({ "text": broken })).await;
    assert_eq!(body["handoff"]["reason"], "customer_request", "{body}");
    let chat = app.start_chat().await;
    app.say(&chat, json!({"text": "agent"})).await;
    let queue = waiting(&app).await;
    let goals: Vec<&str> = queue
        .iter()
        .filter_map(|h| h["summary"].as_str()?.lines().next())
        .collect();
    assert_eq!(
        goals[goals.len() - 2..],
        [
            format!("Goal: \"{broken}\"").as_str(),
            "Goal: asked for a person without saying what about."
        ],
        "{queue:?}"
    );
    let chat = app.start_chat().await;
    let (_, body) = app
        .say(&chat, json!({"text": "is a human reviewing my return?"}))
        .await;
    assert!(
        body["handoff"].is_null(),
        "a mention is not a request: {body}"
    );
}

/// A greeting, thanks or goodbye gets a reply of its own (no search, no model, no handoff), as
/// does a no to "anything else?"; a yes to the offer of a person is a request for one, a no is
/// taken as said.
#[tokio::test]
async fn small_talk_is_answered_and_a_yes_to_the_offer_of_a_person_hands_off() {
    let app = spawn_app_with_llm().await;
    let chat = app.start_chat().await;
    let said = |text: &'static str| {
        let (app, chat) = (&app, &chat);
        async move {
            let (status, body) = app.say(chat, json!({ "text": text })).await;
            assert_eq!(status, 200, "{body}");
            body
        }
    };
    let reply = said("Hi there!").await;
    let text = reply["replies"][0]["text"].as_str().expect("text");
    assert!(text.starts_with("Hi! How can I help"), "{text}");
    assert!(reply["handoff"].is_null(), "{reply}");
    assert!(reply["replies"][0]["confidence"].is_null(), "{reply}");
    let reply = said("ok thanks a lot").await;
    assert!(
        reply["replies"][0]["text"]
            .as_str()
            .is_some_and(|t| t.starts_with("You're welcome")),
        "{reply}"
    );
    // A no to "anything else?" ends the chat: nothing is searched for "no".
    let reply = said("no").await;
    assert_eq!(
        reply["replies"][0]["text"], "Thanks for getting in touch. Have a great day!",
        "{reply}"
    );
    assert_eq!(reply["replies"][0]["citations"], json!([]), "{reply}");
    // Questions about the assistant itself are answered as such, not searched.
    for question in [
        "are you a bot?",
        "what can you do?",
        "Am I talking to a real person?",
    ] {
        let reply = said(question).await;
        assert!(
            reply["replies"][0]["text"]
                .as_str()
                .is_some_and(|t| t.starts_with("I'm a virtual assistant, not a person.")),
            "{reply}"
        );
        assert!(reply["handoff"].is_null(), "{reply}");
    }
    assert!(app.llm().requests().is_empty(), "small talk asks no model");

    // Nothing found, a person offered: "no thanks" keeps the assistant, "yes please" hands off.
    app.llm().push([
        Behavior::Text("NO_ANSWER".into()),
        Behavior::Text("NO_ANSWER".into()),
    ]);
    let offered = said("xylophone quantum zebra").await;
    let text = offered["replies"][0]["text"].as_str().expect("text");
    assert!(text.contains("connect you with a person"), "{text}");
    let reply = said("no thanks").await;
    assert!(
        reply["replies"][0]["text"]
            .as_str()
            .is_some_and(|t| t.starts_with("All right")),
        "{reply}"
    );
    assert!(reply["handoff"].is_null(), "{reply}");
    said("blorp fizzle wump").await;
    let reply = said("yes please").await;
    assert_eq!(reply["handoff"]["reason"], "customer_request", "{reply}");
    assert!(
        reply["replies"][0]["text"]
            .as_str()
            .is_some_and(|t| t.contains("connecting you")),
        "{reply}"
    );

    // Without an offer before it, a yes is an answer like any other: the model gets it.
    let other = app.start_chat().await;
    app.llm().push([Behavior::Text("Glad to hear it.".into())]);
    let asked = app.llm().requests().len();
    let (_, reply) = app.say(&other, json!({"text": "yes"})).await;
    assert!(reply["handoff"].is_null(), "{reply}");
    assert_eq!(app.llm().requests().len(), asked + 1, "{reply}");
    // Nor is a no to the model's own question small talk.
    app.llm().push([
        Behavior::Text("Is the kettle still in its original packaging?".into()),
        Behavior::Text("Then it can still be returned within 30 days.".into()),
    ]);
    let (_, asked_back) = app
        .say(&other, json!({"text": "Can I return my kettle?"}))
        .await;
    assert!(
        asked_back["replies"][0]["text"]
            .as_str()
            .is_some_and(|t| t.ends_with('?')),
        "{asked_back}"
    );
    let asked = app.llm().requests().len();
    let (_, reply) = app.say(&other, json!({"text": "no"})).await;
    assert_eq!(app.llm().requests().len(), asked + 1, "{reply}");
}

#[tokio::test]
async fn frustration_and_repeated_failure_hand_off_with_their_reason() {
    let app = spawn_app().await;
    let chat = app.start_chat().await;
    app.say(
        &chat,
        json!({"text": "How long does a refund take to reach my card?"}),
    )
    .await;
    let (_, body) = app
        .say(
            &chat,
            json!({"text": "HOW LONG DOES A REFUND TAKE TO REACH MY CARD???"}),
        )
        .await;
    assert_eq!(body["handoff"]["reason"], "frustration", "{body}");
    // A short question asked again too, but not an account question ("where is my order?"
    // again is most often about another order).
    for (question, reason) in [
        ("How do I return an item?", json!("frustration")),
        ("Where is my order?", Value::Null),
    ] {
        let chat = app.start_chat().await;
        let (_, first) = app.say(&chat, json!({ "text": question })).await;
        assert!(first["handoff"].is_null(), "{first}");
        let (_, body) = app.say(&chat, json!({ "text": question })).await;
        assert_eq!(body["handoff"]["reason"], reason, "{question}: {body}");
    }

    // Saying the answer did not help hands off; so does refusing the bot, as a request.
    let chat = app.start_chat().await;
    app.say(&chat, json!({"text": "How long do refunds take?"}))
        .await;
    let (_, body) = app
        .say(
            &chat,
            json!({"text": "that doesn't answer my question. how many days?"}),
        )
        .await;
    assert_eq!(body["handoff"]["reason"], "frustration", "{body}");
    let chat = app.start_chat().await;
    let (_, body) = app
        .say(&chat, json!({"text": "I don't want to talk to a bot"}))
        .await;
    assert_eq!(body["handoff"]["reason"], "customer_request", "{body}");

    let chat = app.start_chat().await;
    let mut last = Value::Null;
    for text in [
        "xylophone quantum zebra",
        "blorp fizzle wump",
        "quasar noodle trombone",
    ] {
        last = app.say(&chat, json!({ "text": text })).await.1;
    }
    assert_eq!(last["handoff"]["reason"], "repeated_failure", "{last}");
    // Every question left unanswered, not only the first and the last.
    let summary = app.summary(&chat).await;
    assert!(
        summary.contains(
            "Unanswered: \"xylophone quantum zebra\"; \"blorp fizzle wump\"; \"quasar noodle trombone\"."
        ),
        "{summary}"
    );
    // The reply says a person is on the way; it does not offer one.
    let text = last["replies"][0]["text"].as_str().expect("text");
    assert!(
        text.contains("a person will reply here") && !text.contains("Would you like"),
        "{text}"
    );
}

#[tokio::test]
async fn a_swear_word_stressing_a_question_gets_the_answer_and_abuse_a_person() {
    let app = spawn_app().await;
    let chat = app.start_chat().await;
    let (_, body) = app
        .say(
            &chat,
            json!({"text": "Which damn payment methods do you accept?"}),
        )
        .await;
    assert!(body["handoff"].is_null(), "{body}");
    let reply = &body["replies"][0];
    assert!(
        reply["citations"]
            .as_array()
            .is_some_and(|c| c.iter().any(|c| c["title"] == "Accepted payment methods")),
        "{reply}"
    );
    assert!(waiting(&app).await.is_empty());

    // Abuse hands off at once, after a calm message as well.
    let chat = app.start_chat().await;
    let (_, body) = app
        .say(&chat, json!({"text": "Do gift cards expire?"}))
        .await;
    assert!(body["handoff"].is_null(), "{body}");
    let (_, body) = app.say(&chat, json!({"text": "you idiots"})).await;
    assert_eq!(body["handoff"]["reason"], "frustration", "{body}");
    let summary = app.summary(&chat).await;
    assert!(summary.contains("profanity"), "{summary}");
    assert_eq!(waiting(&app).await.len(), 1);
}

#[tokio::test]
async fn low_confidence_hands_off_when_configured_to() {
    let app =
        spawn_app_with(|s| s.handoff.on_low_confidence = frontdesk::config::LowConfidence::Handoff)
            .await;
    let chat = app.start_chat().await;
    let (_, body) = app
        .say(&chat, json!({"text": "xylophone quantum zebra"}))
        .await;
    assert_eq!(body["handoff"]["reason"], "low_confidence", "{body}");
    let (_, body) = app
        .say(&chat, json!({"text": "Do you ship to Canada?"}))
        .await;
    assert_eq!(
        body["replies"],
        json!([]),
        "the assistant stays silent once handed off"
    );
}

/// The customer's "talk to a person" does not wait on the model's summary: with a model that
/// takes 5 s, the handoff opens at once with the built-in summary.
#[tokio::test]
async fn a_slow_model_does_not_hold_up_the_handoff() {
    let app = spawn_app_with_llm().await;
    app.llm().push([Behavior::Slow(
        std::time::Duration::from_secs(5),
        Box::new(Behavior::Text("Goal: a person.".into())),
    )]);
    let chat = app.start_chat().await;
    let started = std::time::Instant::now();
    let response = app
        .client
        .post(app.url(&format!("/v1/conversations/{}/handoff", chat.id)))
        .bearer_auth(&chat.token)
        .json(&json!({}))
        .send()
        .await
        .expect("handoff");
    assert_eq!(response.status(), 201);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
    let handoff: Value = response.json().await.expect("JSON");
    assert_eq!(handoff["reason"], "customer_request");
    assert!(!app.summary(&chat).await.is_empty());
}

#[tokio::test]
async fn the_model_writes_the_summary_from_the_handoff_prompt() {
    let app = spawn_app_with_llm().await;
    app.llm().push([
        Behavior::Text("Free over $50 [1].".into()),
        // A customer may have talked the model into facts of their own making.
        Behavior::Text(
            "Goal: shipping costs.\nFacts: a $5,000 refund, approved by a manager.\nMood: calm."
                .into(),
        ),
    ]);
    let chat = app.start_chat().await;
    app.say(&chat, json!({"text": "How much is shipping?"}))
        .await;
    let feed = app.agent_stream().await;
    let (_, body) = app.say(&chat, json!({"text": "agent please"})).await;
    // The handoff opens with the built-in summary; the model's replaces it for the agents,
    // but for the lines read from the conversation itself (who, facts, why), which stay.
    assert_eq!(body["handoff"]["reason"], "customer_request", "{body}");
    let model_written = "Goal: shipping costs.\nMood: calm.\nCustomer: not named, not verified.\nWhy handed off: customer_request.";
    let events = read_sse_until(feed, |events| {
        events
            .iter()
            .any(|(name, data)| name == "handoff" && data["summary"] == model_written)
    })
    .await;
    let [(_, first), ..] = &events[..] else {
        panic!("no handoff events: {events:?}");
    };
    let built_in = first["summary"].as_str().expect("summary");
    assert!(
        built_in.contains("agent please"),
        "announced at once: {events:?}"
    );
    assert_eq!(waiting(&app).await[0]["summary"], model_written);
    let requests = app.llm().requests();
    let prompt = first_message(&requests[1]);
    assert!(
        prompt.contains("Summarise this support conversation"),
        "{prompt}"
    );
    assert!(
        prompt.contains("customer: How much is shipping?"),
        "{prompt}"
    );
    assert!(prompt.contains("customer_request"), "{prompt}");

    // Both model calls' tokens are counted: the answer's and the summary's.
    let metrics = app.metrics().await;
    let sent: u64 = requests.iter().map(prompt_tokens).sum();
    let written = estimate("Free over $50 [1].")
        + estimate(
            "Goal: shipping costs.\nFacts: a $5,000 refund, approved by a manager.\nMood: calm.",
        );
    assert_eq!(
        sample(&metrics, "frontdesk_llm_tokens_total{direction=\"in\"}"),
        sent as f64
    );
    assert_eq!(
        sample(&metrics, "frontdesk_llm_tokens_total{direction=\"out\"}"),
        written as f64
    );
}

/// A model summary that skips the goal keeps the built-in one; a conversation people own by
/// policy (a human-only channel) never reaches the model, not even for its summary.
#[tokio::test]
async fn the_built_in_summary_stays_without_a_goal_and_human_only_chats_never_reach_the_model() {
    let app = spawn_app_with_llm().await;
    app.llm().push([
        Behavior::Text("Free over $50 [1].".into()),
        Behavior::Text("The customer wants vehicles.".into()),
    ]);
    let chat = app.start_chat().await;
    app.say(&chat, json!({"text": "How much is shipping?"}))
        .await;
    let (_, body) = app.say(&chat, json!({"text": "agent please"})).await;
    assert_eq!(body["handoff"]["reason"], "customer_request", "{body}");
    let built_in = app.summary(&chat).await;
    // The summary call is made and its answer passed over.
    for _ in 0..100 {
        if app.llm().requests().len() == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(waiting(&app).await[0]["summary"], built_in);

    switch_channel(&app, "legal", true).await;
    // The widget's button, before any message, is no way around it.
    let pressed = app.start_chat_with(json!({"channel": "legal"})).await;
    let response = app
        .client
        .post(app.url(&format!("/v1/conversations/{}/handoff", pressed.id)))
        .bearer_auth(&pressed.token)
        .json(&json!({}))
        .send()
        .await
        .expect("handoff");
    assert_eq!(response.status(), 201);
    let private = app.start_chat_with(json!({"channel": "legal"})).await;
    let (_, body) = app
        .say(
            &private,
            json!({"text": "My SSN is 123-45-6789, please fix my account"}),
        )
        .await;
    assert_eq!(body["handoff"]["reason"], "policy");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let requests = app.llm().requests();
    assert_eq!(
        requests.len(),
        2,
        "no call for the human-only chat: {requests:?}"
    );
}

#[tokio::test]
async fn the_queue_is_claimed_once_and_agent_replies_reach_the_customer_live() {
    let app = spawn_app().await;
    let first = app.start_chat().await;
    let second = app.start_chat().await;
    for chat in [&first, &second] {
        app.say(chat, json!({"text": "My kettle arrived broken"}))
            .await;
        app.say(chat, json!({"text": "talk to a person"})).await;
    }
    let queue = waiting(&app).await;
    assert_eq!(queue.len(), 2);
    assert_eq!(
        queue[0]["conversation_id"],
        first.id.as_str(),
        "oldest first"
    );
    let handoff_id = queue[0]["id"].as_str().expect("id").to_owned();

    let path = format!("/v1/handoffs/{handoff_id}/claim");
    let (a, b) = tokio::join!(
        agent(
            &app,
            reqwest::Method::POST,
            &path,
            Some(json!({"agent": "ana"}))
        ),
        agent(
            &app,
            reqwest::Method::POST,
            &path,
            Some(json!({"agent": "bo"}))
        ),
    );
    let mut statuses = [a.0, b.0];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409], "exactly one claim wins: {a:?} {b:?}");
    let winner = if a.0 == 200 { "ana" } else { "bo" };
    let (status, again) = agent(
        &app,
        reqwest::Method::POST,
        &path,
        Some(json!({"agent": winner})),
    )
    .await;
    assert_eq!((status, again["claimed_by"].as_str()), (200, Some(winner)));
    assert_eq!(waiting(&app).await.len(), 1);
    let loser = if winner == "ana" { "bo" } else { "ana" };
    let (status, body) = agent(
        &app,
        reqwest::Method::POST,
        &format!("/v1/conversations/{}/agent-messages", first.id),
        Some(json!({"text": "I can help too!", "agent": loser})),
    )
    .await;
    assert_eq!(status, 409, "only the claimer answers: {body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains(winner))
    );

    let stream = app.stream(&first, None).await;
    let (status, message) = agent(
        &app,
        reqwest::Method::POST,
        &format!("/v1/conversations/{}/agent-messages", first.id),
        Some(json!({"text": "Hi, I'm sending a replacement today.", "agent": winner})),
    )
    .await;
    assert_eq!(status, 201, "{message}");
    assert_eq!(message["role"], "agent");
    let events = read_sse_until(stream, |events| {
        events
            .iter()
            .any(|(e, d)| e == "message" && d["role"] == "agent")
    })
    .await;
    let delivered = events
        .iter()
        .find(|(e, d)| e == "message" && d["role"] == "agent")
        .expect("agent message");
    assert_eq!(delivered.1["text"], "Hi, I'm sending a replacement today.");
    assert_eq!(delivered.1["author"], winner);

    let (status, resolved) = agent(
        &app,
        reqwest::Method::POST,
        &format!("/v1/handoffs/{handoff_id}/resolve"),
        None,
    )
    .await;
    assert_eq!(
        (status, resolved["status"].as_str()),
        (200, Some("resolved"))
    );
    let (status, _) = agent(
        &app,
        reqwest::Method::POST,
        &format!("/v1/handoffs/{handoff_id}/claim"),
        Some(json!({"agent": "bo"})),
    )
    .await;
    assert_eq!(status, 409, "a resolved handoff cannot be claimed");
    let (_, body) = app
        .say(&first, json!({"text": "Thanks! Do you ship to Canada?"}))
        .await;
    assert_eq!(
        body["replies"][0]["role"], "assistant",
        "the assistant is back after resolve"
    );

    let other = waiting(&app).await[0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let (status, released) = agent(
        &app,
        reqwest::Method::POST,
        &format!("/v1/handoffs/{other}/release"),
        None,
    )
    .await;
    assert_eq!(
        (status, released["status"].as_str()),
        (200, Some("released"))
    );
    let (_, body) = app
        .say(&second, json!({"text": "Do you ship to Canada?"}))
        .await;
    assert_eq!(body["replies"][0]["role"], "assistant");
}

#[tokio::test]
async fn human_only_channels_and_conversations_store_messages_and_notify_agents() {
    let app = spawn_app().await;
    switch_channel(&app, "vip", true).await;
    let feed = app.agent_stream().await;
    let chat = app.start_chat_with(json!({"channel": "vip"})).await;
    let (status, body) = app
        .say(&chat, json!({"text": "Where do I find my invoice?"}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["replies"], json!([]));
    // Queued, so a person sees it.
    assert_eq!(body["handoff"]["reason"], "policy", "{body}");
    assert_eq!(waiting(&app).await[0]["conversation_id"], chat.id.as_str());
    let events = read_sse_until(feed, |e| e.iter().any(|(n, _)| n == "message")).await;
    assert!(
        events
            .iter()
            .any(|(n, d)| n == "message" && d["text"] == "Where do I find my invoice?")
    );
    // Agents see the mode the customer's messages get, and cannot switch it back.
    let path = format!("/v1/conversations/{}", chat.id);
    let (_, seen) = agent(&app, reqwest::Method::GET, &path, None).await;
    assert_eq!(seen["mode"], "human", "{seen}");
    let (status, _) = agent(
        &app,
        reqwest::Method::PUT,
        &format!("{path}/mode"),
        Some(json!({"mode": "ai"})),
    )
    .await;
    assert_eq!(status, 409);
    // Resolving its handoff leaves it human: the customer's stream is told so.
    let stream = app.stream(&chat, None).await;
    let handoff = body["handoff"]["id"].as_str().expect("handoff id");
    let (status, _) = agent(
        &app,
        reqwest::Method::POST,
        &format!("/v1/handoffs/{handoff}/resolve"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let resolved =
        |(n, d): &&(String, Value)| n == "status" && d["handoff"]["status"] == "resolved";
    let events = read_sse_until(stream, |e| e.iter().any(|event| resolved(&event))).await;
    let status_event = events.iter().find(resolved).expect("status");
    assert_eq!(status_event.1["mode"], "human", "{events:?}");
    let (_, channels) = app.admin_get("/v1/channels").await;
    assert!(
        channels["channels"]
            .as_array()
            .expect("channels")
            .iter()
            .any(|c| c["name"] == "vip" && c["human_only"] == true)
    );

    // One conversation switched by an agent, then back.
    let chat = app.start_chat().await;
    let path = format!("/v1/conversations/{}/mode", chat.id);
    let (status, _) = agent(
        &app,
        reqwest::Method::PUT,
        &path,
        Some(json!({"mode": "human"})),
    )
    .await;
    assert_eq!(status, 200);
    let (_, body) = app
        .say(&chat, json!({"text": "Do you ship to Canada?"}))
        .await;
    assert_eq!(body["replies"], json!([]));
    assert_eq!(body["handoff"]["reason"], "policy", "{body}");
    let stream = app.stream(&chat, None).await;
    let (status, switched) = agent(
        &app,
        reqwest::Method::PUT,
        &path,
        Some(json!({"mode": "ai"})),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        (&switched["mode"], &switched["handoff"]),
        (&json!("ai"), &Value::Null)
    );
    // Back with the assistant: nothing left waiting for a person.
    assert!(
        waiting(&app)
            .await
            .iter()
            .all(|h| h["conversation_id"] != chat.id.as_str())
    );
    let (_, body) = app
        .say(&chat, json!({"text": "Do you ship to Canada?"}))
        .await;
    assert_eq!(body["replies"][0]["role"], "assistant");
    // The stream was told once, before the reply: its first status (on connecting, human
    // with the handoff waiting), then the handoff released with the conversation.
    let answered = |e: &[(String, Value)]| {
        e.iter()
            .any(|(n, d)| n == "message" && d["role"] == "assistant")
    };
    let events = read_sse_until(stream, answered).await;
    let statuses: Vec<(&Value, &Value)> = events
        .iter()
        .filter(|(n, _)| n == "status")
        .map(|(_, d)| (&d["mode"], &d["handoff"]["status"]))
        .collect();
    assert_eq!(
        statuses,
        [
            (&json!("human"), &json!("waiting")),
            (&json!("ai"), &json!("released"))
        ],
        "{events:?}"
    );
}

/// Switches a channel to or from human-only, as an admin.
async fn switch_channel(app: &TestApp, name: &str, human_only: bool) {
    let response = app
        .client
        .put(app.url(&format!("/v1/channels/{name}")))
        .bearer_auth(ADMIN_KEY)
        .json(&json!({"human_only": human_only}))
        .send()
        .await
        .expect("channel");
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn open_chats_learn_when_their_channel_is_switched() {
    let app = spawn_app().await;
    let writing = app.start_chat_with(json!({"channel": "shop"})).await;
    let reading = app.start_chat_with(json!({"channel": "shop"})).await;
    let elsewhere = app.start_chat_with(json!({"channel": "kiosk"})).await;
    let writing_stream = app.stream(&writing, None).await;
    let reading_stream = app.stream(&reading, None).await;
    let other = app.stream(&elsewhere, None).await;
    let statuses = |events: &[(String, Value)]| -> Vec<String> {
        events
            .iter()
            .filter(|(n, _)| n == "status")
            .map(|(_, d)| d["mode"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    switch_channel(&app, "shop", true).await;
    // Only the switched channel's chats hear of it: the other chat's next event is its
    // customer's message.
    let (_, body) = app
        .say(&elsewhere, json!({"text": "Do you ship to Canada?"}))
        .await;
    assert_eq!(body["replies"][0]["role"], "assistant", "{body}");
    let events = read_sse_until(other, |e| e.iter().any(|(n, _)| n == "message")).await;
    assert_eq!(statuses(&events), ["ai"], "{events:?}");

    let (_, body) = app
        .say(&writing, json!({"text": "Do you ship to Canada?"}))
        .await;
    assert_eq!(body["replies"], json!([]), "{body}");
    switch_channel(&app, "shop", false).await;
    // A chat that opened in AI mode is told "human" at the switch, and "ai" at the switch back.
    let events = read_sse_until(reading_stream, |e| statuses(e).len() == 3).await;
    assert_eq!(statuses(&events), ["ai", "human", "ai"], "{events:?}");
    // A chat whose customer wrote meanwhile waits for the person its message was queued for:
    // told "human" at the switch, at its handoff, and again at the switch back.
    let events = read_sse_until(writing_stream, |e| statuses(e).len() == 4).await;
    assert_eq!(
        statuses(&events),
        ["ai", "human", "human", "human"],
        "{events:?}"
    );
    let last = events
        .iter()
        .rev()
        .find(|(n, _)| n == "status")
        .expect("status");
    assert_eq!(last.1["handoff"]["status"], "waiting", "{events:?}");
}

/// An agent writing into a chat the assistant answers takes it over: the customer's answer
/// reaches people (queued), not the assistant.
#[tokio::test]
async fn an_agents_message_in_an_assistant_chat_hands_it_to_people() {
    let app = spawn_app().await;
    let chat = app.start_chat().await;
    app.say(&chat, json!({"text": "Do you ship to Canada?"}))
        .await;
    let path = format!("/v1/conversations/{}", chat.id);
    let (status, _) = agent(
        &app,
        reqwest::Method::POST,
        &format!("{path}/agent-messages"),
        Some(json!({"text": "Hi, I saw your question: we do, in 7-14 days.", "agent": "Dan"})),
    )
    .await;
    assert_eq!(status, 201);
    let (_, seen) = agent(&app, reqwest::Method::GET, &path, None).await;
    assert_eq!(seen["mode"], "human", "{seen}");
    let (_, body) = app
        .say(&chat, json!({"text": "Great, and to Alaska?"}))
        .await;
    assert_eq!(
        body["replies"],
        json!([]),
        "the assistant stays silent: {body}"
    );
    // The agent who took it over holds its handoff: the reply is theirs to read, not the
    // queue's to hand to someone else.
    let (_, seen) = agent(&app, reqwest::Method::GET, &path, None).await;
    assert_eq!(seen["handoff"]["reason"], "policy", "{seen}");
    assert_eq!(seen["handoff"]["claimed_by"], "Dan", "{seen}");
    assert!(body["handoff"].is_null(), "opened before: {body}");
    assert!(waiting(&app).await.is_empty());
}

/// An agent who replies to a customer waiting in the queue takes their handoff: it leaves
/// the queue, and a second agent can neither claim it nor write.
#[tokio::test]
async fn replying_to_a_waiting_customer_claims_their_handoff() {
    let app = spawn_app().await;
    let chat = app.start_chat().await;
    app.say(&chat, json!({"text": "talk to a person"})).await;
    let queue = waiting(&app).await;
    let handoff_id = queue[0]["id"].as_str().expect("id").to_owned();
    let path = format!("/v1/conversations/{}/agent-messages", chat.id);
    let write = |who: &'static str| {
        agent(
            &app,
            reqwest::Method::POST,
            &path,
            Some(json!({"text": "Hi, I'm here.", "agent": who})),
        )
    };
    assert_eq!(write("sam").await.0, 201);
    assert!(
        waiting(&app).await.is_empty(),
        "answered, so no longer waiting"
    );
    let (status, body) = agent(
        &app,
        reqwest::Method::POST,
        &format!("/v1/handoffs/{handoff_id}/claim"),
        Some(json!({"agent": "kim"})),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("sam")),
        "{body}"
    );
    let (status, body) = write("kim").await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(write("sam").await.0, 201, "the holder writes on");
}

#[tokio::test]
async fn agent_and_admin_routes_check_roles() {
    let app = spawn_app().await;
    let chat: Chat = app.start_chat().await;
    let agent_routes = [
        (reqwest::Method::GET, "/v1/handoffs".to_owned()),
        (
            reqwest::Method::GET,
            format!("/v1/conversations/{}", chat.id),
        ),
        (reqwest::Method::POST, "/v1/handoffs/ho_x/claim".to_owned()),
        (
            reqwest::Method::POST,
            "/v1/handoffs/ho_x/resolve".to_owned(),
        ),
        (
            reqwest::Method::POST,
            "/v1/handoffs/ho_x/release".to_owned(),
        ),
        (
            reqwest::Method::POST,
            format!("/v1/conversations/{}/agent-messages", chat.id),
        ),
        (
            reqwest::Method::PUT,
            format!("/v1/conversations/{}/mode", chat.id),
        ),
        (reqwest::Method::GET, "/v1/agent/stream".to_owned()),
    ];
    for (method, path) in &agent_routes {
        let body = json!({"agent": "x", "text": "x", "mode": "ai"});
        let customer = app
            .client
            .request(method.clone(), app.url(path))
            .bearer_auth(&chat.token)
            .json(&body)
            .send()
            .await
            .expect("req");
        assert_eq!(
            customer.status(),
            403,
            "{method} {path} refuses a customer token"
        );
        let nobody = app
            .client
            .request(method.clone(), app.url(path))
            .json(&body)
            .send()
            .await
            .expect("req");
        assert_eq!(nobody.status(), 401, "{method} {path} needs credentials");
    }
    for (method, path) in [
        (reqwest::Method::GET, "/v1/articles"),
        (reqwest::Method::GET, "/v1/channels"),
        (reqwest::Method::PUT, "/v1/channels/web"),
        (reqwest::Method::GET, "/v1/search?q=x"),
    ] {
        let response = app
            .client
            .request(method.clone(), app.url(path))
            .bearer_auth(AGENT_KEY)
            .json(&json!({"human_only": true}))
            .send()
            .await
            .expect("req");
        assert_eq!(
            response.status(),
            403,
            "{method} {path} refuses an agent key"
        );
    }
    let (status, _) = agent(&app, reqwest::Method::GET, "/v1/handoffs?status=lost", None).await;
    assert_eq!(status, 400);
    let response = app
        .client
        .get(app.url("/v1/handoffs"))
        .bearer_auth(ADMIN_KEY)
        .send()
        .await
        .expect("req");
    assert_eq!(response.status(), 200, "admins can do what agents can");
    // The scheme's name is case-insensitive; another scheme is not a credential.
    for (header, expected) in [
        (format!("bearer {AGENT_KEY}"), 200),
        (format!("BEARER {AGENT_KEY}"), 200),
        (format!("Basic {AGENT_KEY}"), 401),
    ] {
        let response = app
            .client
            .get(app.url("/v1/handoffs"))
            .header("authorization", &header)
            .send()
            .await
            .expect("req");
        assert_eq!(response.status(), expected, "{header}");
    }
}

#[tokio::test]
async fn new_handoffs_are_posted_to_the_webhook_with_retries() {
    let received: Arc<Mutex<Vec<Value>>> = Arc::default();
    let attempts = Arc::new(Mutex::new(0));
    let hook = {
        let received = received.clone();
        let attempts = attempts.clone();
        Router::new().route(
            "/hook",
            post(move |Json(body): Json<Value>| {
                let received = received.clone();
                let attempts = attempts.clone();
                async move {
                    let mut n = attempts.lock().expect("lock");
                    *n += 1;
                    if *n == 1 {
                        return StatusCode::INTERNAL_SERVER_ERROR;
                    }
                    received.lock().expect("lock").push(body);
                    StatusCode::OK
                }
            }),
        )
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, hook).await.expect("serve") });
    let app = spawn_app_with(move |s| s.handoff.webhook_url = Some(url)).await;
    let chat = app.start_chat().await;
    app.say(&chat, json!({"text": "human please"})).await;
    for _ in 0..50 {
        if !received.lock().expect("lock").is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let received = received.lock().expect("lock").clone();
    assert_eq!(received.len(), 1, "delivered once, after one retry");
    assert_eq!(received[0]["event"], "handoff.created");
    assert_eq!(received[0]["handoff"]["reason"], "customer_request");
    assert_eq!(received[0]["conversation"]["id"], chat.id.as_str());
}

/// Messages committed at once may be published out of order (an agent's, numbered after a
/// customer's, first), and a burst overruns what a stream buffers: the customer's stream
/// reads what it would miss from the store and sends every message once, in order, so a
/// client that only follows the stream has them all.
#[tokio::test]
async fn a_customers_stream_gets_every_message_when_an_agent_writes_at_the_same_moment() {
    // Thirty messages at once are past a customer's rate limit: not what this is about.
    let app = spawn_app_with(|s| s.limits.messages_per_minute = 0).await;
    let chat = app.start_chat().await;
    let path = format!("/v1/conversations/{}/agent-messages", chat.id);
    let write = |text: String| {
        let path = path.clone();
        let app = &app;
        async move {
            let body = json!({"agent": "sam", "text": text});
            agent(app, reqwest::Method::POST, &path, Some(body)).await
        }
    };
    // Sam takes the conversation over, then both write at once, again and again.
    assert_eq!(write("Hi, Sam here.".into()).await.0, 201);
    let stream = app.stream(&chat, Some(0)).await;
    let rounds = 30;
    let pairs = (0..rounds).map(|i| {
        let customer = app.say(&chat, json!({"text": format!("customer {i}")}));
        let sam = write(format!("agent {i}"));
        async move { (customer.await.0, sam.await.0) }
    });
    let statuses = futures_util::future::join_all(pairs).await;
    assert!(statuses.iter().all(|s| *s == (200, 201)), "{statuses:?}");
    let total = 1 + 2 * rounds;
    let messages = |events: &[(String, Value)]| -> Vec<i64> {
        events
            .iter()
            .filter(|(name, _)| name == "message")
            .map(|(_, m)| m["seq"].as_i64().expect("seq"))
            .collect()
    };
    let events = read_sse_until_quiet(stream).await;
    assert!(
        !events.iter().any(|(name, _)| name == "resync"),
        "{events:?}"
    );
    assert_eq!(
        messages(&events),
        (1..=total as i64).collect::<Vec<_>>(),
        "{events:?}"
    );
}

/// Into a chat nobody holds, the first agent who writes takes it over and the others are
/// refused, however many write at once; and a chat an agent only switched to human mode is
/// taken over the same way, so the customer's answer is the writer's, not the queue's.
#[tokio::test]
async fn one_agent_takes_over_a_chat_nobody_holds() {
    let app = spawn_app().await;
    let write = |chat: &Chat, who: String| {
        let path = format!("/v1/conversations/{}/agent-messages", chat.id);
        let app = &app;
        async move {
            let body = json!({"agent": who, "text": format!("{who} here.")});
            agent(app, reqwest::Method::POST, &path, Some(body)).await.0
        }
    };
    let chat = app.start_chat().await;
    app.say(&chat, json!({"text": "hi"})).await;
    let at_once = (0..6).map(|k| write(&chat, format!("agent{k}")));
    let statuses = futures_util::future::join_all(at_once).await;
    let (mut written, mut refused) = (0, 0);
    for status in &statuses {
        match status {
            201 => written += 1,
            409 => refused += 1,
            _ => {}
        }
    }
    assert_eq!((written, refused), (1, 5), "{statuses:?}");
    let by_agents: Vec<Value> = app
        .messages(&chat)
        .await
        .into_iter()
        .filter(|m| m["role"] == "agent")
        .collect();
    let (_, seen) = agent(
        &app,
        reqwest::Method::GET,
        &format!("/v1/conversations/{}", chat.id),
        None,
    )
    .await;
    assert_eq!(by_agents.len(), 1, "{by_agents:?}");
    assert_eq!(
        by_agents[0]["author"], seen["handoff"]["claimed_by"],
        "{seen}"
    );

    let chat = app.start_chat().await;
    app.say(&chat, json!({"text": "hi"})).await;
    let path = format!("/v1/conversations/{}", chat.id);
    let (status, _) = agent(
        &app,
        reqwest::Method::PUT,
        &format!("{path}/mode"),
        Some(json!({"mode": "human"})),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(write(&chat, "dan".into()).await, 201);
    assert_eq!(write(&chat, "kim".into()).await, 409);
    let (_, body) = app.say(&chat, json!({"text": "Thanks Dan"})).await;
    assert!(body["handoff"].is_null(), "opened before: {body}");
    let (_, seen) = agent(&app, reqwest::Method::GET, &path, None).await;
    assert_eq!(seen["handoff"]["claimed_by"], "dan", "{seen}");
    assert!(waiting(&app).await.is_empty());
}

/// A switch that changes nothing tells a chat nothing: a channel set as it is, a mode the
/// conversation is in already.
#[tokio::test]
async fn a_switch_that_changes_nothing_sends_no_status() {
    let app = spawn_app().await;
    let chat = app.start_chat_with(json!({"channel": "shop"})).await;
    let stream = app.stream(&chat, None).await;
    switch_channel(&app, "shop", false).await;
    let path = format!("/v1/conversations/{}/mode", chat.id);
    for mode in ["ai", "human", "human", "ai", "ai"] {
        let (status, body) = agent(
            &app,
            reqwest::Method::PUT,
            &path,
            Some(json!({ "mode": mode })),
        )
        .await;
        assert_eq!((status, &body["mode"]), (200, &json!(mode)), "{body}");
    }
    let (_, body) = app
        .say(&chat, json!({"text": "Do you ship to Canada?"}))
        .await;
    assert_eq!(body["replies"][0]["role"], "assistant", "{body}");
    let answered = |e: &[(String, Value)]| {
        e.iter()
            .any(|(n, d)| n == "message" && d["role"] == "assistant")
    };
    let events = read_sse_until(stream, answered).await;
    let statuses: Vec<&Value> = events
        .iter()
        .filter(|(n, _)| n == "status")
        .map(|(_, d)| &d["mode"])
        .collect();
    // On connecting, then the two changes.
    assert_eq!(statuses, ["ai", "human", "ai"], "{events:?}");
}

/// An agent who takes a chat over while the model is still writing its reply has the last
/// word: the reply is dropped, not stored and sent after theirs.
#[tokio::test]
async fn a_reply_still_being_written_when_an_agent_takes_over_is_dropped() {
    let app = spawn_app_with_llm().await;
    app.llm().always(Behavior::Slow(
        std::time::Duration::from_millis(800),
        Box::new(Behavior::Text(
            "Standard shipping takes 5 to 7 business days [1].".into(),
        )),
    ));
    let chat = app.start_chat().await;
    let turn = app.say(
        &chat,
        json!({"text": "How long does standard shipping take?"}),
    );
    let takeover = async {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let body = json!({"agent": "dan", "text": "Hi, Dan here: 5 to 7 business days."});
        let path = format!("/v1/conversations/{}/agent-messages", chat.id);
        agent(&app, reqwest::Method::POST, &path, Some(body)).await
    };
    let ((status, body), (written, _)) = tokio::join!(turn, takeover);
    assert_eq!((status, written), (200, 201));
    assert_eq!(body["replies"], json!([]), "{body}");
    let roles: Vec<Value> = app
        .messages(&chat)
        .await
        .iter()
        .map(|m| m["role"].clone())
        .collect();
    assert_eq!(roles, ["customer", "agent"]);

    // Only switched to human mode meanwhile: the message waits in the queue for a person.
    let chat = app.start_chat().await;
    let turn = app.say(&chat, json!({"text": "Do you ship to Canada?"}));
    let switch = async {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let path = format!("/v1/conversations/{}/mode", chat.id);
        agent(
            &app,
            reqwest::Method::PUT,
            &path,
            Some(json!({"mode": "human"})),
        )
        .await
    };
    let ((status, body), (switched, _)) = tokio::join!(turn, switch);
    assert_eq!((status, switched), (200, 200));
    assert_eq!(body["replies"], json!([]), "{body}");
    assert_eq!(body["handoff"]["reason"], "policy", "{body}");
    assert!(
        waiting(&app)
            .await
            .iter()
            .any(|h| h["conversation_id"] == chat.id.as_str())
    );
}

/// The events a stream sends until it has been quiet for half a second.
async fn read_sse_until_quiet(mut response: reqwest::Response) -> Vec<(String, Value)> {
    let mut buffer = String::new();
    while let Ok(chunk) =
        tokio::time::timeout(std::time::Duration::from_millis(500), response.chunk()).await
    {
        match chunk.expect("chunk") {
            Some(chunk) => buffer.push_str(&String::from_utf8_lossy(&chunk)),
            None => break,
        }
    }
    crate::helpers::parse_sse(buffer.rsplit_once("\n\n").map_or("", |(done, _)| done))
}

/// A customer who asks for a person and then, while waiting, says what about: the queue's
/// summary says it too, and the agents' feed gets the handoff again.
#[tokio::test]
async fn a_waiting_customers_new_words_update_the_queues_summary() {
    let app = spawn_app().await;
    let chat = app.start_chat().await;
    app.say(&chat, json!({"text": "talk to a person"})).await;
    let before = waiting(&app).await[0]["summary"]
        .as_str()
        .expect("summary")
        .to_owned();
    assert!(before.starts_with("Goal: asked for a person"), "{before}");
    let feed = app.agent_stream().await;
    let (_, body) = app
        .say(
            &chat,
            json!({"text": "My blender arrived broken and I want to return it"}),
        )
        .await;
    assert_eq!(body["replies"], json!([]), "{body}");
    let after = waiting(&app).await[0]["summary"]
        .as_str()
        .expect("summary")
        .to_owned();
    assert!(
        after.starts_with("Goal: \"My blender arrived broken"),
        "{after}"
    );
    let updated = |(n, d): &(String, Value)| n == "handoff" && d["summary"] == after.as_str();
    let events = read_sse_until(feed, |e| e.iter().any(updated)).await;
    assert!(events.iter().any(updated), "{events:?}");
}
