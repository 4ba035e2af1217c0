//! The customer's side in extractive mode (no model configured).

use serde_json::json;

use crate::helpers::{ADMIN_KEY, read_sse_until, seqs, spawn_app, spawn_app_with, start_error};

#[tokio::test]
async fn answers_from_the_help_center_with_a_citation_without_a_model() {
    let app = spawn_app().await;
    let created = app
        .create_article(json!({
            "title": "Frobnicator warranty",
            "body": "# Frobnicator warranty\n\n## Coverage\n\nEvery frobnicator carries a warranty of two years from delivery.",
            "url": "https://help.example/frobnicator"
        }))
        .await;
    let article_id = created["articles"][0]["id"].as_str().expect("id");
    let chat = app.start_chat().await;

    let (status, body) = app
        .say(
            &chat,
            json!({"text": "How long is the frobnicator warranty?"}),
        )
        .await;

    assert_eq!(status, 200, "{body}");
    assert_eq!(body["message"]["role"], "customer");
    assert_eq!(body["message"]["seq"], 1);
    let reply = &body["replies"][0];
    assert_eq!(reply["role"], "assistant");
    assert_eq!(reply["seq"], 2);
    let text = reply["text"].as_str().expect("text");
    assert!(
        text.contains("help center"),
        "labelled as help-center text: {text}"
    );
    assert!(text.contains("two years from delivery"), "{text}");
    assert_eq!(reply["citations"][0]["article_id"], article_id);
    assert_eq!(reply["citations"][0]["title"], "Frobnicator warranty");
    assert_eq!(
        reply["citations"][0]["url"],
        "https://help.example/frobnicator"
    );
    assert!(
        reply["citations"][0]["snippet"]
            .as_str()
            .is_some_and(|s| s.contains("warranty")),
        "{reply}"
    );
    assert!(reply["confidence"].as_f64().expect("confidence") >= 0.35);
    assert!(body["handoff"].is_null());
}

#[tokio::test]
async fn answers_demo_questions_from_the_demo_knowledge() {
    let app = spawn_app().await;
    let chat = app.start_chat().await;
    let (_, body) = app
        .say(
            &chat,
            json!({"text": "How long does a refund take to reach my card?"}),
        )
        .await;
    let reply = &body["replies"][0];
    let title = reply["citations"][0]["title"].as_str().unwrap_or_default();
    assert!(title.to_lowercase().contains("refund"), "{reply}");
}

/// The reply is streamed when `Accept` prefers the stream, and JSON when it prefers JSON, even
/// if it names the stream too.
#[tokio::test]
async fn the_reply_comes_in_the_form_accept_prefers() {
    let app = spawn_app().await;
    for (accept, form) in [
        (
            "application/json, text/event-stream;q=0.5",
            "application/json",
        ),
        (
            "text/event-stream;q=0.8, application/json;q=0.2",
            "text/event-stream",
        ),
    ] {
        // A chat each: the same question twice in one is a sign the answer did not help.
        let chat = app.start_chat().await;
        let response = app
            .client
            .post(app.url(&format!("/v1/conversations/{}/messages", chat.id)))
            .bearer_auth(&chat.token)
            .header("accept", accept)
            .json(&json!({"text": "Do you ship to Canada?"}))
            .send()
            .await
            .expect("post message");
        assert_eq!(response.status(), 200);
        let content_type = response.headers()["content-type"].to_str().expect("type");
        assert!(content_type.starts_with(form), "{accept}: {content_type}");
        let body = response.text().await.expect("body");
        assert!(body.contains("Canada"), "{body}");
    }
}

#[tokio::test]
async fn a_question_the_help_center_does_not_cover_gets_an_honest_answer() {
    let app = spawn_app().await;
    let chat = app.start_chat().await;
    let (status, body) = app
        .say(&chat, json!({"text": "xylophone quantum zebra"}))
        .await;
    assert_eq!(status, 200);
    let reply = &body["replies"][0];
    assert!(
        reply["text"]
            .as_str()
            .is_some_and(|t| t.contains("couldn't find")),
        "{reply}"
    );
    assert_eq!(reply["citations"], json!([]));
    assert!(reply["confidence"].as_f64().expect("confidence") < 0.35);
}

/// A small help center of a business's own, whose articles never say "long" or "take":
/// "How long do refunds take?" is about refunds, and its article answers it.
#[tokio::test]
async fn a_small_help_center_answers_a_question_in_words_it_does_not_use() {
    let empty = tempfile::tempdir().expect("dir");
    let knowledge = empty.path().to_owned();
    let app = spawn_app_with(move |s| s.knowledge_dir = knowledge).await;
    for (title, body) in [
        (
            "Refund timing",
            "Refunds reach your card within 5 business days after the bike is back in our shop.",
        ),
        (
            "Rentals",
            "Rent a city bike by the hour or by the day. Helmets are included.",
        ),
    ] {
        app.create_article(json!({"title": title, "body": body}))
            .await;
    }
    let chat = app.start_chat().await;
    let (_, body) = app
        .say(&chat, json!({"text": "How long do refunds take?"}))
        .await;
    let reply = &body["replies"][0];
    assert!(
        reply["text"]
            .as_str()
            .is_some_and(|t| t.contains("within 5 business days")),
        "{reply}"
    );
    assert_eq!(reply["citations"][0]["title"], "Refund timing", "{reply}");
    assert!(body["handoff"].is_null(), "{body}");
}

/// A question about time is answered by the section of the article that tells it, not by the
/// one with the most of its other words ("How long do refunds take?" had quoted "What is
/// refunded and what isn't"); other questions keep their section, and so does one found for
/// a word of its own heading ("cancelled").
#[tokio::test]
async fn a_question_about_time_quotes_the_section_that_tells_it() {
    let app = spawn_app().await;
    for (question, section, quoted) in [
        (
            "How long do refunds take?",
            "When will I get my money back?",
            "within 5–10 business days",
        ),
        (
            "How soon will my refund show up?",
            "When will I get my money back?",
            "within 5–10 business days",
        ),
        (
            "how long does an exchange take?",
            "When your new item ships",
            "takes 5–7 business days",
        ),
        (
            "how long do I have to return an item?",
            "The 30-day return window",
            "You have 30 days from the delivery date",
        ),
        (
            "¿Cuánto tarda el reembolso?",
            "Cuándo recibo mi dinero",
            "5 a 10 días hábiles",
        ),
        (
            "Where does my refund go?",
            "Where does my refund go?",
            "back to the original payment method",
        ),
        (
            "I cancelled my order, when do I get my money back?",
            "Refunds for cancelled orders",
            "you were never charged",
        ),
    ] {
        let chat = app.start_chat().await;
        let (_, body) = app.say(&chat, json!({"text": question})).await;
        let text = body["replies"][0]["text"].as_str().unwrap_or_default();
        assert!(
            text.contains(&format!("› {section})")) && text.contains(quoted),
            "{question}: {text}"
        );
    }
}

/// A misspelt word is read as the word it was meant to be when the question otherwise finds
/// nothing ("wher is my trackign number" got "couldn't find an answer"); a word that is no
/// slip of an indexed one still finds nothing.
#[tokio::test]
async fn a_misspelt_question_finds_its_answer_and_a_real_word_is_not_misread() {
    let app = spawn_app().await;
    for (question, section) in [
        (
            "wher is my trackign number",
            "Where to find your tracking number",
        ),
        ("giftcard balence", "Checking your gift card balance"),
    ] {
        let chat = app.start_chat().await;
        let (_, body) = app.say(&chat, json!({"text": question})).await;
        let text = body["replies"][0]["text"].as_str().unwrap_or_default();
        assert!(
            text.contains(&format!("› {section})")),
            "{question}: {text}"
        );
    }
    let chat = app.start_chat().await;
    let (_, body) = app
        .say(&chat, json!({"text": "Do you sell bicycles?"}))
        .await;
    assert_eq!(body["replies"][0]["citations"], json!([]), "{body}");
}

/// Questions QA asked of the demo as a customer would, which had quoted the wrong section at
/// full confidence: "How do refunds work?" ("How store credit works": "work" is a frame
/// word), "Do you accept PayPal?" ("Payment methods we don't accept", its twin).
#[tokio::test]
async fn everyday_questions_quote_the_section_that_answers_them() {
    let app = spawn_app().await;
    for (question, quoted) in [
        (
            "How do refunds work?",
            "Refunds - when and how you get your money back",
        ),
        (
            "Do you accept PayPal?",
            "Accepted payment methods › Payment methods we accept",
        ),
        (
            "What payment methods do you accept?",
            "Accepted payment methods › Payment methods we accept",
        ),
        (
            "Do you accept checks?",
            "Accepted payment methods › Payment methods we don't accept",
        ),
        (
            "How long does shipping to Canada take?",
            "International orders › International shipping times and costs",
        ),
        (
            "How long does delivery to Hawaii take?",
            "Delivery times by region › Alaska and Hawaii",
        ),
        // How to do something: the steps, not the article's opening or another section.
        (
            "how do i delete my northwind account",
            "Closing your account › How to close your account",
        ),
        (
            "How do I set up two-factor authentication?",
            "Two-step verification (two-factor authentication) › How to turn on two-step verification",
        ),
        (
            "how should I wash linen pants",
            "Apparel size guide and care instructions › Caring for your clothes",
        ),
    ] {
        let chat = app.start_chat().await;
        let (_, body) = app.say(&chat, json!({ "text": question })).await;
        let text = body["replies"][0]["text"].as_str().unwrap_or_default();
        assert!(text.contains(&format!("({quoted}")), "{question}: {text}");
    }
}

/// The demo's synonyms (`knowledge/synonyms.txt`): a country of the EU is searched as the
/// European Union, which the articles name instead, and a word of a group ("amex",
/// "parcel") finds the passages that say another ("American Express", "package"). Before,
/// "Do you ship to Austria?" quoted US shipping speeds, "Do you deliver to Belgium?" a
/// delivered package. A file with a line that cannot be read stops the start, naming it.
#[tokio::test]
async fn the_businesss_synonyms_find_the_articles_that_say_it_otherwise() {
    let app = spawn_app().await;
    for (locale, question, quoted) in [
        (
            "en",
            "Do you ship to Austria?",
            "International orders › Countries we ship to",
        ),
        (
            "de",
            "Liefern Sie nach Deutschland?",
            "International orders",
        ),
        ("en", "Do you deliver to Belgium?", "International orders"),
        (
            "en",
            "Can I pay with Amex?",
            "Accepted payment methods › Payment methods we accept",
        ),
        ("en", "Is my parcel lost?", "Lost or stolen package"),
        // QA: it had quoted a backorder passage that says "twice".
        (
            "en",
            "Why was I charged twice?",
            "Pending authorizations and duplicate charges",
        ),
    ] {
        let chat = app.start_chat_with(json!({"locale": locale})).await;
        let (_, body) = app.say(&chat, json!({"text": question})).await;
        let reply = &body["replies"][0];
        let text = reply["text"].as_str().unwrap_or_default();
        assert!(text.contains(&format!("({quoted}")), "{question}: {text}");
        let confidence = reply["confidence"].as_f64().unwrap_or_default();
        assert!(confidence > 0.6, "{question}: {reply}");
    }

    let knowledge = tempfile::tempdir().expect("knowledge");
    std::fs::write(
        knowledge.path().join("synonyms.txt"),
        "amex, american express\nfrance, spain => european union, eu\n",
    )
    .expect("write synonyms");
    let message =
        start_error(|settings| settings.knowledge_dir = knowledge.path().to_owned()).await;
    assert!(
        message.ends_with("synonyms.txt line 2: a rule has one phrase after `=>`"),
        "{message}"
    );
}

/// In a small help center most everyday words are in no article: a question whose one known
/// word is what an article is about (its title) is answered, while one whose known word only
/// turns up in a passage's text ("sell" in a line on vouchers) is not.
#[tokio::test]
async fn a_small_help_center_answers_by_an_articles_topic_despite_unknown_words() {
    let empty = tempfile::tempdir().expect("dir");
    let knowledge = empty.path().to_owned();
    let app = spawn_app_with(move |s| s.knowledge_dir = knowledge).await;
    for (title, body) in [
        (
            "Parking",
            "Free parking is available behind the studio on Dock Street after 6pm.",
        ),
        (
            "Gift vouchers",
            "We sell gift vouchers for classes at the front desk.",
        ),
    ] {
        app.create_article(json!({"title": title, "body": body}))
            .await;
    }
    let chat = app.start_chat().await;
    let (_, body) = app
        .say(&chat, json!({"text": "Is there somewhere to park my car?"}))
        .await;
    let reply = &body["replies"][0];
    assert_eq!(reply["citations"][0]["title"], "Parking", "{reply}");
    let (_, body) = app.say(&chat, json!({"text": "Do you sell cars?"})).await;
    let reply = &body["replies"][0];
    assert_eq!(reply["citations"], json!([]), "{reply}");
}

/// A question in German finds nothing by its function words: the demo's only German
/// article (password reset) has "nach" and "Sie", and no article names Japan (Germany, which
/// the demo's synonyms search as the European Union, would find international orders).
#[tokio::test]
async fn a_question_in_another_language_is_not_answered_by_its_function_words() {
    let app = spawn_app().await;
    let chat = app.start_chat_with(json!({"locale": "de-DE"})).await;
    let (_, body) = app
        .say(&chat, json!({"text": "Liefern Sie nach Japan?"}))
        .await;
    let reply = &body["replies"][0];
    assert!(
        reply["text"]
            .as_str()
            .is_some_and(|t| t.starts_with("Dazu habe ich in unserem Hilfe-Center keine Antwort")),
        "{reply}"
    );
    assert_eq!(reply["citations"], json!([]), "{reply}");
}

#[tokio::test]
async fn the_same_client_message_id_stores_one_message_and_returns_the_first_result() {
    let app = spawn_app().await;
    let chat = app.start_chat().await;
    let body = json!({"text": "How do I reset my password?", "client_message_id": "m-1"});
    let (_, first) = app.say(&chat, body.clone()).await;
    let (status, second) = app.say(&chat, body).await;
    assert_eq!(status, 200);
    assert_eq!(first["message"]["id"], second["message"]["id"]);
    assert_eq!(first["replies"], second["replies"]);

    let messages = app.messages(&chat).await;
    assert_eq!(
        messages.len(),
        2,
        "one customer message, one reply: {messages:?}"
    );
    // The repeat took no number: the next message follows without a gap.
    let (_, next) = app
        .say(&chat, json!({"text": "Do gift cards expire?"}))
        .await;
    assert_eq!(next["message"]["seq"], 3, "{next}");
}

#[tokio::test]
async fn messages_are_listed_in_order_after_a_given_seq() {
    let app = spawn_app().await;
    let chat = app.start_chat().await;
    app.say(
        &chat,
        json!({"text": "What payment methods do you accept?"}),
    )
    .await;
    app.say(&chat, json!({"text": "Can I use a gift card?"}))
        .await;
    let response = app
        .client
        .get(app.url(&format!("/v1/conversations/{}/messages?after=2", chat.id)))
        .bearer_auth(&chat.token)
        .send()
        .await
        .expect("list");
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(seqs(body["messages"].as_array().expect("messages")), [3, 4]);
}

#[tokio::test]
async fn the_conversation_stream_delivers_new_messages_live_and_resumes_missed_ones() {
    let app = spawn_app().await;
    let chat = app.start_chat().await;
    app.say(&chat, json!({"text": "Do you ship to Canada?"}))
        .await;

    let stream = app
        .client
        .get(app.url(&format!("/v1/conversations/{}/stream?after=1", chat.id)))
        .bearer_auth(&chat.token)
        .send()
        .await
        .expect("stream");
    assert_eq!(stream.status(), 200);
    let poster = {
        let client = app.client.clone();
        let url = app.url(&format!("/v1/conversations/{}/messages", chat.id));
        let token = chat.token.clone();
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            client
                .post(url)
                .bearer_auth(token)
                .json(&json!({"text": "How much are international duties?"}))
                .send()
                .await
                .expect("post");
        })
    };
    let events = read_sse_until(stream, |events| {
        events.iter().filter(|(e, _)| e == "message").count() >= 3
    })
    .await;
    poster.await.expect("poster");
    let seqs: Vec<i64> = events
        .iter()
        .filter(|(e, _)| e == "message")
        .filter_map(|(_, m)| m["seq"].as_i64())
        .collect();
    assert_eq!(
        seqs,
        vec![2, 3, 4],
        "missed reply first, then live messages"
    );
}

/// A client's stale number (beyond the conversation's latest message, from an earlier
/// database, or made up) does not hide the messages that follow.
#[tokio::test]
async fn a_stream_resumed_after_a_number_beyond_the_latest_gets_what_follows() {
    let app = spawn_app().await;
    let chat = app.start_chat().await;
    app.say(&chat, json!({"text": "Do you ship to Canada?"}))
        .await;
    for (query, header) in [("?after=50", None), ("", Some("9223372036854775807"))] {
        let mut request = app
            .client
            .get(app.url(&format!("/v1/conversations/{}/stream{query}", chat.id)))
            .bearer_auth(&chat.token);
        if let Some(last) = header {
            request = request.header("Last-Event-ID", last);
        }
        let stream = request.send().await.expect("stream");
        assert_eq!(stream.status(), 200);
        let latest = seqs(&app.messages(&chat).await)
            .last()
            .copied()
            .expect("seq");
        app.say(&chat, json!({"text": "How much are international duties?"}))
            .await;
        let events = read_sse_until(stream, |events| {
            events.iter().filter(|(e, _)| e == "message").count() >= 2
        })
        .await;
        let got: Vec<i64> = events
            .iter()
            .filter(|(e, _)| e == "message")
            .filter_map(|(_, m)| m["seq"].as_i64())
            .collect();
        assert_eq!(got, [latest + 1, latest + 2], "{query} {header:?}");
    }
}

#[tokio::test]
async fn a_handed_off_conversation_stores_messages_and_the_assistant_stays_silent() {
    let app = spawn_app().await;
    let chat = app.start_chat().await;
    app.say(&chat, json!({"text": "My parcel arrived damaged"}))
        .await;
    let response = app
        .client
        .post(app.url(&format!("/v1/conversations/{}/handoff", chat.id)))
        .bearer_auth(&chat.token)
        .json(&json!({"reason": "customer_request"}))
        .send()
        .await
        .expect("handoff");
    assert_eq!(response.status(), 201);
    let handoff: serde_json::Value = response.json().await.expect("json");
    assert_eq!(handoff["status"], "waiting");
    assert_eq!(handoff["reason"], "customer_request");
    // The summary is written for the agents (mood, verification, facts); the customer's copy
    // has none.
    assert_eq!(handoff["summary"], "", "{handoff}");
    let summary = app.summary(&chat).await;
    assert!(summary.contains("My parcel arrived damaged"), "{summary}");

    let (status, body) = app
        .say(&chat, json!({"text": "Hello? Anyone there?"}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["replies"], json!([]));

    let (_, conversation) = app
        .admin_get(&format!("/v1/conversations/{}", chat.id))
        .await;
    assert_eq!(conversation["mode"], "human");
    let texts: Vec<&str> = conversation["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter_map(|m| m["text"].as_str())
        .collect();
    assert_eq!(texts.last(), Some(&"Hello? Anyone there?"));

    // Pressing the button again returns the same open handoff.
    let again: serde_json::Value = app
        .client
        .post(app.url(&format!("/v1/conversations/{}/handoff", chat.id)))
        .bearer_auth(ADMIN_KEY)
        .send()
        .await
        .expect("handoff")
        .json()
        .await
        .expect("json");
    assert_eq!(again["id"], handoff["id"]);
}

#[tokio::test]
async fn feedback_is_accepted_for_the_conversation() {
    let app = spawn_app().await;
    let chat = app.start_chat().await;
    let response = app
        .client
        .post(app.url(&format!("/v1/conversations/{}/feedback", chat.id)))
        .bearer_auth(&chat.token)
        .json(&json!({"rating": "up", "comment": "quick answer"}))
        .send()
        .await
        .expect("feedback");
    assert_eq!(response.status(), 204);

    // A rating names a reply of this conversation, or none at all.
    let (_, said) = app
        .say(&chat, json!({"text": "Do you ship to Canada?"}))
        .await;
    let reply = said["replies"][0]["id"].as_str().expect("reply id");
    let question = said["message"]["id"].as_str().expect("message id");
    let other = app.start_chat().await;
    let (_, elsewhere) = app
        .say(&other, json!({"text": "Do you ship to Canada?"}))
        .await;
    let foreign = elsewhere["replies"][0]["id"].as_str().expect("reply id");
    for (message_id, expected) in [
        (reply, 204),
        ("msg_bogus", 404),
        (question, 404),
        (foreign, 404),
    ] {
        let response = app
            .client
            .post(app.url(&format!("/v1/conversations/{}/feedback", chat.id)))
            .bearer_auth(&chat.token)
            .json(&json!({"rating": "down", "message_id": message_id}))
            .send()
            .await
            .expect("feedback");
        assert_eq!(response.status().as_u16(), expected, "{message_id}");
    }
}

#[tokio::test]
async fn a_follow_up_question_is_searched_in_the_context_of_the_conversation() {
    let app = spawn_app().await;
    let title = |body: &serde_json::Value| body["replies"][0]["citations"][0]["title"].clone();
    let chat = app.start_chat().await;
    app.say(&chat, json!({"text": "Do you ship to Canada?"}))
        .await;
    let (_, follow_up) = app
        .say(&chat, json!({"text": "How long does it take?"}))
        .await;
    assert_eq!(title(&follow_up), "Delivery times by region", "{follow_up}");

    // Asked first, the same words find something else.
    let fresh = app.start_chat().await;
    let (_, alone) = app
        .say(&fresh, json!({"text": "How long does it take?"}))
        .await;
    assert_ne!(title(&alone), "Delivery times by region", "{alone}");

    // A question on a new topic is answered on it, not pulled back to the shipping reply
    // before it (whose quoted passage is all about shipping).
    let (_, new_topic) = app
        .say(&chat, json!({"text": "How long do refunds take?"}))
        .await;
    assert_eq!(
        title(&new_topic),
        "Refunds - when and how you get your money back",
        "{new_topic}"
    );
    assert!(
        new_topic["replies"][0]["confidence"]
            .as_f64()
            .is_some_and(|c| c >= 0.35),
        "{new_topic}"
    );
}
