//! The model path: the real async-openai client against the scripted server.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::{
    helpers::{
        first_message, parse_sse, repo_dir, sample, server_timing, spawn_app_with,
        spawn_app_with_llm, start_error, tool_definitions,
    },
    scripted_llm::{Behavior, ScriptedLlm},
};

fn text(s: &str) -> Behavior {
    Behavior::Text(s.into())
}

async fn frobnicator_article(app: &crate::helpers::TestApp) -> String {
    let created = app
        .create_article(json!({
            "title": "Frobnicator warranty",
            "body": "## Coverage\n\nEvery frobnicator carries a warranty of two years from delivery.",
        }))
        .await;
    created["articles"][0]["id"].as_str().expect("id").into()
}

fn messages_of(request: &Value) -> Vec<(String, String)> {
    request["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| {
            (
                m["role"].as_str().unwrap_or_default().to_owned(),
                m["content"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_model_gets_the_retrieved_passages_and_its_citations_reach_the_customer() {
    let app = spawn_app_with_llm().await;
    let article_id = frobnicator_article(&app).await;
    app.llm()
        .push([text("Your frobnicator is covered for two years [1].")]);
    let chat = app.start_chat().await;

    let (status, body) = app
        .say(
            &chat,
            json!({"text": "How long is the frobnicator warranty?"}),
        )
        .await;

    assert_eq!(status, 200, "{body}");
    let reply = &body["replies"][0];
    assert_eq!(reply["text"], "Your frobnicator is covered for two years.");
    assert_eq!(reply["citations"][0]["article_id"], article_id.as_str());
    assert!(reply["confidence"].as_f64().expect("confidence") > 0.5);

    let requests = app.llm().requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request["model"], "scripted-model");
    assert_eq!(request["stream"], true);
    let messages = messages_of(request);
    assert_eq!(messages[0].0, "system");
    assert!(
        messages[0].1.contains("Northwind Goods"),
        "{}",
        messages[0].1
    );
    assert!(
        messages[0]
            .1
            .contains("Answer only from the help-center passages")
    );
    let (role, last) = messages.last().expect("user message");
    assert_eq!(role, "user");
    assert!(
        last.contains("[1] Frobnicator warranty › Coverage"),
        "{last}"
    );
    assert!(last.contains("two years from delivery"), "{last}");
    assert!(
        last.ends_with("How long is the frobnicator warranty?"),
        "{last}"
    );
}

#[tokio::test]
async fn earlier_turns_are_sent_as_history() {
    let app = spawn_app_with_llm().await;
    frobnicator_article(&app).await;
    app.llm().push([
        text("It lasts two years [1]."),
        text("Yes, from the delivery date [1]."),
    ]);
    let chat = app.start_chat().await;
    app.say(
        &chat,
        json!({"text": "How long is the frobnicator warranty?"}),
    )
    .await;
    app.say(&chat, json!({"text": "Does it start at delivery?"}))
        .await;

    let requests = app.llm().requests();
    let messages = messages_of(&requests[1]);
    let roles: Vec<&str> = messages.iter().map(|(r, _)| r.as_str()).collect();
    assert_eq!(roles, ["system", "user", "assistant", "user"]);
    assert_eq!(messages[1].1, "How long is the frobnicator warranty?");
    assert_eq!(messages[2].1, "It lasts two years.");
}

/// The model's words stream a sentence at a time, each checked before it is sent.
#[tokio::test]
async fn a_streamed_reply_arrives_as_deltas_then_the_reply_then_done() {
    let app = spawn_app_with_llm().await;
    frobnicator_article(&app).await;
    let answer =
        "The frobnicator warranty lasts two years [1]. It covers parts.\nKeep the receipt [1].";
    app.llm().push([text(answer)]);
    let chat = app.start_chat().await;

    let events = app
        .say_streaming(&chat, "How long is the frobnicator warranty?")
        .await;

    let names: Vec<&str> = events.iter().map(|(e, _)| e.as_str()).collect();
    assert_eq!(
        names,
        ["delta", "delta", "delta", "reply", "done"],
        "one delta a sentence: {events:?}"
    );
    let streamed: Vec<&str> = events
        .iter()
        .filter(|(e, _)| e == "delta")
        .filter_map(|(_, d)| d["text"].as_str())
        .collect();
    assert_eq!(
        streamed,
        [
            "The frobnicator warranty lasts two years.",
            " It covers parts.\n",
            "Keep the receipt."
        ]
    );
    // The pieces read as the stored reply: no citation marker shows while it streams.
    assert_eq!(events[3].1["text"], streamed.concat());
    assert_eq!(
        events[3].1["text"],
        "The frobnicator warranty lasts two years. It covers parts.\nKeep the receipt."
    );
    assert_eq!(events[3].1["citations"][0]["title"], "Frobnicator warranty");
}

/// A sentence stating an account fact the model was not given is never streamed, not even
/// before the reply replaces it; nor is anything after it.
#[tokio::test]
async fn a_made_up_fact_is_not_streamed() {
    let app = spawn_app_with_llm().await;
    app.llm().push([text(
        "Thanks for waiting. Your refund was approved on 2026-11-02. It reaches your card soon.",
    )]);
    let chat = app.start_chat().await;
    let events = app.say_streaming(&chat, "where is my refund?").await;
    let streamed: String = events
        .iter()
        .filter(|(e, _)| e == "delta")
        .filter_map(|(_, d)| d["text"].as_str())
        .collect();
    assert_eq!(streamed, "Thanks for waiting.", "{events:?}");
    let reply = events
        .iter()
        .find(|(e, _)| e == "reply")
        .map(|(_, d)| d["text"].as_str().unwrap_or_default().to_owned())
        .expect("reply");
    assert!(
        !reply.contains("approved") && !reply.contains("2026-11-02"),
        "{reply}"
    );
}

/// What a customer typed is no ground for an amount or a claim: asked to confirm a refund in
/// writing, the model's confirmation is not shown; nor a made-up claim in Spanish.
#[tokio::test]
async fn a_customers_own_claim_or_one_in_another_language_is_not_confirmed() {
    let app = spawn_app_with_llm().await;
    let asked =
        "Please confirm in writing: your refund of $500.00 has been approved for order NW-1046247.";
    app.llm().push([
        text("Confirmed: your refund of $500.00 has been approved for order NW-1046247."),
        text("¡Hola! Tu pedido fue enviado ayer y llegará el 24 de diciembre."),
        text("Yes, refunds take 85 days [1]."),
    ]);
    for (question, made_up) in [
        (asked, "approved"),
        ("¿Dónde está mi pedido?", "enviado"),
        ("Is it true refunds take 85 days?", "85 days"),
    ] {
        let chat = app.start_chat().await;
        let (_, body) = app.say(&chat, json!({ "text": question })).await;
        let reply = body["replies"][0]["text"].as_str().expect("reply");
        assert!(!reply.contains(made_up), "{question}: {reply}");
    }
    // The prompt names the language the customer writes in, over the browser's "en".
    let requests = app.llm().requests();
    let system = first_message(&requests[1]);
    assert!(
        system.contains("Reply in the customer's language (Spanish)."),
        "{system}"
    );
}

/// The model's call of the handoff tool hands off at once, in the service's own words: no
/// further model call writes the goodbye. The reason is the one the model gives; without
/// one, that it could not help (a QA pass saw "Of course. I'm connecting you…" and
/// `customer_request` for a customer who never asked).
#[tokio::test]
async fn the_models_handoff_call_hands_off_in_the_services_words() {
    let app = spawn_app_with_llm().await;
    for (arguments, reason, said) in [
        (json!({}), "low_confidence", "I've passed your conversation"),
        (
            json!({"reason": "cannot_help"}),
            "low_confidence",
            "I've passed your conversation",
        ),
        (
            json!({"reason": "customer_asked"}),
            "customer_request",
            "I'm connecting you",
        ),
        (
            json!({"reason": "frustrated"}),
            "frustration",
            "I'm sorry this has been frustrating",
        ),
    ] {
        app.llm().push([
            Behavior::ToolCalls(vec![("handoff_to_human".into(), arguments)]),
            text("Sure, a human will come (this call should never be made)."),
        ]);
        let calls = app.llm().requests().len();
        let chat = app.start_chat().await;
        let (_, body) = app
            .say(
                &chat,
                json!({"text": "I have a complicated problem with my lamp"}),
            )
            .await;
        assert_eq!(body["handoff"]["reason"], reason, "{body}");
        let reply = body["replies"][0]["text"].as_str().expect("reply");
        assert!(reply.contains(said), "{reply}");
        // The only other call is the handoff's summary (which takes the scripted text).
        let deadline = Instant::now() + Duration::from_secs(5);
        while app.llm().requests().len() < calls + 2 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let requests = app.llm().requests();
        assert_eq!(requests.len(), calls + 2);
        let prompt = first_message(&requests[calls + 1]);
        assert!(
            prompt.contains("Summarise this support conversation"),
            "{prompt}"
        );
    }
}

/// A message sent while the reply to the one before is still being written is answered
/// after it: the transcript reads question, question, answer, answer, and the second turn's
/// model sees the first answer (a QA pass saw the second answer stored before the first).
#[tokio::test]
async fn a_message_sent_during_a_reply_is_answered_after_it() {
    let app = spawn_app_with_llm().await;
    let first = "Standard shipping takes 5 to 7 business days.";
    let second = "You can start a return from your account page.";
    let third = "We accept Visa and PayPal.";
    app.llm().push([
        Behavior::Slow(Duration::from_millis(600), Box::new(text(first))),
        text(second),
        text(third),
    ]);
    let chat = app.start_chat().await;
    let later = |ms: u64, question: &'static str| {
        let (app, chat) = (&app, &chat);
        async move {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            app.say(chat, json!({ "text": question })).await
        }
    };
    let ((_, one), (_, two), (_, three)) = tokio::join!(
        later(0, "How long does standard shipping take?"),
        later(150, "How do I start a return?"),
        later(300, "Which cards do you take?"),
    );
    assert_eq!(one["replies"][0]["text"], first, "{one}");
    assert_eq!(two["replies"][0]["text"], second, "{two}");
    assert_eq!(three["replies"][0]["text"], third, "{three}");
    let texts: Vec<String> = app
        .messages(&chat)
        .await
        .iter()
        .map(|m| m["text"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        texts,
        [
            "How long does standard shipping take?",
            "How do I start a return?",
            "Which cards do you take?",
            first,
            second,
            third
        ]
    );
    // The second turn's model was given the first answer before the second question, and not
    // the third question, which came after it.
    let requests = app.llm().requests();
    let history: Vec<String> = messages_of(&requests[1])
        .into_iter()
        .skip(1)
        .map(|(_, text)| text)
        .collect();
    assert_eq!(history.len(), 3, "{history:?}");
    assert_eq!(
        history[..2],
        ["How long does standard shipping take?", first],
        "{history:?}"
    );
    assert!(
        history[2].ends_with("How do I start a return?"),
        "{history:?}"
    );
}

#[tokio::test]
async fn rate_limits_and_server_errors_are_retried() {
    let app = spawn_app_with_llm().await;
    app.llm().push([
        Behavior::Status(429),
        Behavior::Status(503),
        text("Standard shipping takes 5 to 7 business days [1]."),
    ]);
    let chat = app.start_chat().await;
    let (_, body) = app
        .say(
            &chat,
            json!({"text": "How long does standard shipping take?"}),
        )
        .await;
    assert_eq!(
        body["replies"][0]["text"],
        "Standard shipping takes 5 to 7 business days."
    );
    assert!(body["handoff"].is_null());
    assert_eq!(app.llm().requests().len(), 3);
}

/// A rate limit's `Retry-After` is waited out within the total deadline: the first-token
/// timeout bounds each attempt, not the retries' waits.
#[tokio::test]
async fn a_rate_limit_of_a_few_seconds_is_waited_out() {
    let llm = ScriptedLlm::start().await;
    let app = spawn_app_with(|s| {
        crate::helpers::use_scripted_llm(s, &llm);
        s.llm.first_token_timeout_ms = 1_500;
    })
    .await;
    llm.push([
        Behavior::RateLimited(1),
        Behavior::RateLimited(1),
        text("Standard shipping takes 5 to 7 business days [1]."),
    ]);
    let chat = app.start_chat().await;
    let (_, body) = app
        .say(
            &chat,
            json!({"text": "How long does standard shipping take?"}),
        )
        .await;
    assert_eq!(
        body["replies"][0]["text"], "Standard shipping takes 5 to 7 business days.",
        "{body}"
    );
    assert!(body["handoff"].is_null(), "{body}");
    assert_eq!(llm.requests().len(), 3);

    // A wait longer than the first-token timeout is not waited: the honest handoff at once.
    llm.push([Behavior::RateLimited(60)]);
    let chat = app.start_chat().await;
    let started = Instant::now();
    let (_, body) = app
        .say(
            &chat,
            json!({"text": "How long does standard shipping take?"}),
        )
        .await;
    assert_eq!(body["handoff"]["reason"], "llm_unavailable", "{body}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(llm.requests().len(), 4, "no retry");
    let metrics = app.metrics().await;
    assert_eq!(
        sample(
            &metrics,
            "frontdesk_llm_failures_total{kind=\"rate_limited\"}"
        ),
        1.0
    );
}

/// A model that goes silent, before its first word or after it, and a rate limit that lasts
/// past the retries: each an honest handoff within the first-token timeout, counted under
/// its own kind, every time (a QA pass saw a silent model counted as `first_token_timeout`
/// in one run and `api` in the next, and a lasting rate limit as `api`).
#[tokio::test]
async fn a_silent_model_and_a_lasting_rate_limit_are_named_as_they_are() {
    let llm = ScriptedLlm::start().await;
    let app = spawn_app_with(|s| {
        crate::helpers::use_scripted_llm(s, &llm);
        s.llm.first_token_timeout_ms = 400;
        s.llm.max_retries = 1;
    })
    .await;
    let ask = |question: &'static str| {
        let app = &app;
        async move {
            let chat = app.start_chat().await;
            let started = Instant::now();
            let (_, body) = app.say(&chat, json!({ "text": question })).await;
            assert_eq!(body["handoff"]["reason"], "llm_unavailable", "{body}");
            assert!(started.elapsed() < Duration::from_secs(3), "{question}");
        }
    };
    for _ in 0..3 {
        llm.push([Behavior::Stalls(String::new())]);
        ask("How long does standard shipping take?").await;
        llm.push([Behavior::Stalls("Standard shipping takes ".into())]);
        ask("How long does standard shipping take?").await;
    }
    llm.push([Behavior::Status(429), Behavior::Status(429)]);
    ask("How long does standard shipping take?").await;
    let metrics = app.metrics().await;
    let failures = |kind: &str| {
        sample(
            &metrics,
            &format!("frontdesk_llm_failures_total{{kind=\"{kind}\"}}"),
        )
    };
    assert_eq!(failures("first_token_timeout"), 3.0, "{metrics}");
    assert_eq!(failures("stalled"), 3.0, "{metrics}");
    assert_eq!(failures("rate_limited"), 1.0, "{metrics}");
    assert!(!metrics.contains("kind=\"api\""), "{metrics}");
}

#[tokio::test]
async fn retries_are_as_many_as_configured() {
    let llm = ScriptedLlm::start().await;
    let app = spawn_app_with(|s| {
        crate::helpers::use_scripted_llm(s, &llm);
        s.llm.max_retries = 1;
    })
    .await;
    llm.push(vec![Behavior::Status(500); 4]);
    let chat = app.start_chat().await;
    let (_, body) = app
        .say(
            &chat,
            json!({"text": "How long does standard shipping take?"}),
        )
        .await;
    assert_eq!(body["handoff"]["reason"], "llm_unavailable", "{body}");
    assert_eq!(llm.requests().len(), 2, "one call and one retry");
}

#[tokio::test]
async fn a_failing_model_gives_an_honest_message_and_a_handoff() {
    let app = spawn_app_with_llm().await;
    app.llm().push(vec![Behavior::Status(500); 4]);
    let chat = app.start_chat().await;

    let events = app
        .say_streaming(&chat, "Can I change my delivery address?")
        .await;

    let names: Vec<&str> = events.iter().map(|(e, _)| e.as_str()).collect();
    assert_eq!(names, ["reply", "handoff", "done"]);
    let reply = &events[0].1;
    assert!(
        reply["text"]
            .as_str()
            .is_some_and(|t| t.contains("a person will reply")),
        "{reply}"
    );
    let handoff = &events[1].1;
    assert_eq!(handoff["reason"], "llm_unavailable");
    assert_eq!(handoff["status"], "waiting");
    assert_eq!(handoff["summary"], "", "the summary is the agents'");
    let summary = app.summary(&chat).await;
    assert!(
        summary.contains("Can I change my delivery address?"),
        "the fallback summary holds the question: {summary}"
    );
}

#[tokio::test]
async fn a_stalled_model_times_out_and_hands_off_instead_of_hanging() {
    let app = spawn_app_with_llm().await;
    app.llm().always(Behavior::Slow(
        Duration::from_secs(30),
        Box::new(text("late")),
    ));
    let chat = app.start_chat().await;
    let started = Instant::now();
    let (status, body) = app
        .say(&chat, json!({"text": "Where do I find my invoice?"}))
        .await;
    assert_eq!(status, 200);
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(body["handoff"]["reason"], "llm_unavailable");
}

/// The marker alone, or (as some models write it) after a few words: an honest "not found",
/// the marker never streamed or stored.
#[tokio::test]
async fn no_answer_from_the_model_becomes_an_honest_not_found_and_is_never_streamed() {
    let app = spawn_app_with_llm().await;
    for answer in ["NO_ANSWER", "I'm not sure about spaceships. NO_ANSWER"] {
        app.llm().push([text(answer)]);
        let chat = app.start_chat().await;
        let events = app.say_streaming(&chat, "Do you sell spaceships?").await;
        assert!(
            !events.iter().any(|(_, d)| d.to_string().contains("NO_")),
            "{events:?}"
        );
        let reply = events
            .iter()
            .find(|(e, _)| e == "reply")
            .map(|(_, d)| d.clone())
            .expect("reply");
        assert!(
            reply["text"]
                .as_str()
                .is_some_and(|t| t.contains("couldn't find")),
            "{reply}"
        );
        assert!(reply["confidence"].as_f64().expect("confidence") <= 0.1 + 1e-6);
    }
}

/// Tool definitions that take the whole prompt budget would leave no prompt that fits: the
/// service refuses to start, and says why.
#[tokio::test]
async fn tool_definitions_filling_the_prompt_budget_stop_the_start_with_a_clear_message() {
    let message = start_error(|settings| {
        settings.llm.base_url = Some("http://127.0.0.1:9/v1".into());
        settings.llm.model = "scripted-model".into();
        settings.llm.context_tokens = 600;
        settings.llm.reply_tokens = 100;
    })
    .await;
    assert!(
        message.contains("tool definitions take") && message.contains("llm.context_tokens"),
        "{message}"
    );
}

#[tokio::test]
async fn the_prompt_fits_the_token_budget_and_keeps_the_latest_message_whole() {
    // The actions' tool definitions take about 600 tokens of it (phi-3's tokenizer).
    const BUDGET: usize = 1_400;
    let llm = ScriptedLlm::start().await;
    let base_url = llm.base_url();
    let mut app = spawn_app_with(move |s| {
        s.llm.base_url = Some(base_url);
        s.llm.model = "scripted-model".into();
        s.llm.tokenizer = Some(repo_dir().join("../shared/tokenizers/phi-3-mini/tokenizer.json"));
        s.llm.context_tokens = BUDGET + 100;
        s.llm.reply_tokens = 100;
    })
    .await;
    app.llm = Some(llm);
    let long = "Please note that I ordered a walnut cutting board last month. ".repeat(12);
    app.llm().push([text("Noted [1]."), text("Sure [1].")]);
    let chat = app.start_chat().await;
    app.say(&chat, json!({ "text": long })).await;
    let question = format!(
        "Also: {} What is your returns policy?",
        "really ".repeat(60)
    );
    app.say(&chat, json!({ "text": question })).await;

    let requests = app.llm().requests();
    let messages = messages_of(&requests[1]);
    let last = &messages.last().expect("last").1;
    assert!(last.ends_with(&question), "the latest message is whole");
    assert!(
        !messages
            .iter()
            .any(|(_, c)| c.contains("walnut cutting board")),
        "the long earlier message was trimmed to fit"
    );
    let tokenizer = tokenizers::Tokenizer::from_file(
        repo_dir().join("../shared/tokenizers/phi-3-mini/tokenizer.json"),
    )
    .expect("tokenizer");
    let count = |text: &str| tokenizer.encode(text, false).expect("encode").len() + 4;
    let tools: usize = tool_definitions(&requests[1])
        .iter()
        .map(|d| count(d))
        .sum();
    assert!(tools > 0, "the actions are offered as tools");
    let total: usize = tools + messages.iter().map(|(_, c)| count(c)).sum::<usize>();
    assert!(
        total <= BUDGET,
        "the request uses {total} tokens ({tools} for the tools) of a {BUDGET}-token budget"
    );
    // The budget binds: the long message, the next to go in, did not fit in what was left.
    assert!(
        BUDGET - total < count(&long),
        "{} tokens left, enough for the long message ({})",
        BUDGET - total,
        count(&long)
    );
}

#[tokio::test]
async fn a_reply_says_where_its_time_went_so_the_services_own_share_is_known() {
    let app = spawn_app_with_llm().await;
    app.llm().always(Behavior::Slow(
        Duration::from_millis(120),
        Box::new(text("Standard shipping takes 5 to 7 business days [1].")),
    ));
    let chat = app.start_chat().await;

    let response = app
        .client
        .post(app.url(&format!("/v1/conversations/{}/messages", chat.id)))
        .bearer_auth(&chat.token)
        .json(&json!({"text": "How long does standard shipping take?"}))
        .send()
        .await
        .expect("send");

    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key("server-timing"));
    let timing = server_timing(&response);
    // The model's wait covers the scripted delay; the whole request covers every step.
    assert!(timing["model"] >= 120.0, "{timing:?}");
    for step in ["store", "retrieve", "context", "reply"] {
        assert!(timing[step] > 0.0, "{step}: {timing:?}");
    }
    // The search and the context reads run alongside storing the message; the model waits
    // for all three, and the reply is stored after it.
    assert!(
        timing["total"]
            >= timing["store"]
                .max(timing["context"])
                .max(timing["retrieve"])
                + timing["model"]
                + timing["reply"],
        "{timing:?}"
    );
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["replies"].as_array().map(Vec::len), Some(1), "{body}");
    // The metrics' overhead is the same share: within the request, without the model's wait.
    let metrics = app.metrics().await;
    let overhead = |kind: &str| {
        sample(
            &metrics,
            &format!("frontdesk_step_seconds_{kind}{{step=\"overhead\"}}"),
        )
    };
    assert_eq!(overhead("count"), 1.0);
    let overhead_ms = overhead("sum") * 1e3;
    assert!(
        overhead_ms > 0.0 && overhead_ms <= timing["total"] - timing["model"],
        "overhead {overhead_ms} ms: {timing:?}"
    );
}

/// A retry sent while the first turn still waits on the model waits for it, and both get the
/// reply (JSON and SSE alike), not a half-done turn with no reply.
#[tokio::test]
async fn a_retry_during_the_first_turn_gets_its_reply() {
    let app = spawn_app_with_llm().await;
    app.llm().push([Behavior::Slow(
        Duration::from_millis(500),
        Box::new(Behavior::Text("Use Forgot password [1].".into())),
    )]);
    let chat = app.start_chat().await;
    let body = json!({"text": "How do I reset my password?", "client_message_id": "m-1"});
    let first = app.say(&chat, body.clone());
    let retry = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        app.say(&chat, body.clone()).await
    };
    let streamed_retry = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let response = app
            .client
            .post(app.url(&format!("/v1/conversations/{}/messages", chat.id)))
            .bearer_auth(&chat.token)
            .header("accept", "text/event-stream")
            .json(&body)
            .send()
            .await
            .expect("post message");
        parse_sse(&response.text().await.expect("SSE body"))
    };
    let ((_, first), (status, retry), streamed) = tokio::join!(first, retry, streamed_retry);
    assert_eq!(status, 200);
    assert_eq!(first["replies"][0]["text"], "Use Forgot password.");
    assert_eq!(first, retry);
    let replies: Vec<&Value> = streamed
        .iter()
        .filter(|(name, _)| name == "reply")
        .map(|(_, data)| data)
        .collect();
    assert_eq!(replies, [&first["replies"][0]], "{streamed:?}");
    assert_eq!(app.messages(&chat).await.len(), 2);
    assert_eq!(app.llm().requests().len(), 1, "one turn");
}

/// A stream cut off before the model finished, and a model that calls tools to the last
/// round, are failures: the customer is told so and handed to a person, not shown half a
/// reply or an empty one.
#[tokio::test]
async fn a_cut_off_or_wordless_reply_hands_off() {
    let app = spawn_app_with_llm().await;
    let tool = || Behavior::ToolCalls(vec![("recent_orders".into(), json!({}))]);
    app.llm().push([
        Behavior::Truncated("Refunds take 5".into()),
        tool(),
        tool(),
        tool(),
        // Cut off at the token limit before one sentence was whole.
        Behavior::CutOff("Refunds take 5".into()),
    ]);
    for question in [
        "How long do refunds take?",
        "what did I order lately?",
        "How long do refunds take?",
    ] {
        let chat = app.start_chat().await;
        let (status, body) = app.say(&chat, json!({ "text": question })).await;
        assert_eq!(status, 200);
        assert_eq!(body["handoff"]["reason"], "llm_unavailable", "{body}");
        let text = body["replies"][0]["text"].as_str().expect("text");
        assert!(text.contains("assistant is unavailable"), "{text}");
    }
    let metrics = app.metrics().await;
    assert_eq!(
        sample(&metrics, "frontdesk_llm_failures_total{kind=\"truncated\"}"),
        2.0
    );
    assert_eq!(
        sample(&metrics, "frontdesk_llm_failures_total{kind=\"no_text\"}"),
        1.0
    );
}

/// A reply cut off at the token limit keeps its whole sentences; the half one is never shown.
#[tokio::test]
async fn a_reply_cut_off_at_the_token_limit_keeps_its_whole_sentences() {
    let app = spawn_app_with_llm().await;
    app.llm().push([Behavior::CutOff(
        "Refunds take 5 to 10 business days [1]. After that, the money goes back to your orig"
            .into(),
    )]);
    let chat = app.start_chat().await;
    let (_, body) = app
        .say(&chat, json!({"text": "How long do refunds take?"}))
        .await;
    assert_eq!(
        body["replies"][0]["text"], "Refunds take 5 to 10 business days.",
        "{body}"
    );
    assert!(body["handoff"].is_null(), "{body}");
    // Streamed, the cut tail is never sent either.
    app.llm().push([Behavior::CutOff(
        "Refunds take 5 to 10 business days [1]. After that, $999 goes back to your orig".into(),
    )]);
    let chat = app.start_chat().await;
    let events = app.say_streaming(&chat, "How long do refunds take?").await;
    let streamed: String = events
        .iter()
        .filter(|(e, _)| e == "delta")
        .filter_map(|(_, d)| d["text"].as_str())
        .collect();
    assert!(streamed.starts_with("Refunds take"), "{events:?}");
    assert!(
        !streamed.contains("orig") && !streamed.contains("$999"),
        "{streamed}"
    );
}

/// `llm.total_timeout_ms` bounds a turn's model calls together: three tool rounds of 3 s
/// each pass a 4 s deadline in the second, and the turn hands off then (not at 9 s; the
/// margin is for a machine busy with other tests, where a turn's own work has taken 1.4 s).
#[tokio::test]
async fn the_total_timeout_bounds_the_whole_turn() {
    let llm = ScriptedLlm::start().await;
    let app = spawn_app_with(|s| {
        crate::helpers::use_scripted_llm(s, &llm);
        s.llm.first_token_timeout_ms = 5_000;
        s.llm.total_timeout_ms = 4_000;
    })
    .await;
    let slow_tool = || {
        Behavior::Slow(
            Duration::from_millis(3_000),
            Box::new(Behavior::ToolCalls(vec![(
                "recent_orders".into(),
                json!({}),
            )])),
        )
    };
    llm.push([slow_tool(), slow_tool(), slow_tool()]);
    let chat = app.start_chat().await;
    let started = Instant::now();
    let (_, body) = app
        .say(&chat, json!({"text": "what did I order lately?"}))
        .await;
    let took = started.elapsed();
    assert_eq!(body["handoff"]["reason"], "llm_unavailable", "{body}");
    assert!(took < Duration::from_millis(7_000), "took {took:?}");
}
