//! Browser journeys in headless Chromium (Debian's chromium + chromium-driver, driven over
//! WebDriver with fantoccini): the widget on the demo page, the agent console and the admin
//! page against the real app. In CI a missing browser fails; elsewhere the tests say so and
//! skip. `FRONTDESK_SCREENSHOTS=1` also refreshes the README's screenshots in docs/.

use std::{
    net::TcpListener,
    process::{Child, Command, Stdio},
    time::Duration,
};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};

use crate::helpers::{
    ADMIN_KEY, AGENT_KEY, TestApp, repo_dir, shipped_order, spawn_app, spawn_app_with,
};

/// One browser at a time: Chromium is heavy on a 2-core machine.
static BROWSER_LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

struct Driver {
    process: Child,
    url: String,
    /// chromedriver's and Chromium's temporary files (the profile, the singleton socket), which
    /// a killed chromedriver leaves behind; removed after the process is.
    _temp: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// Starts chromedriver, or returns `None` (skip) when it is not installed outside CI.
async fn driver() -> Option<Driver> {
    let port = free_port();
    let temp = tempfile::tempdir().expect("temp dir");
    let process = match Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .env("TMPDIR", temp.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(process) => process,
        Err(error) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "chromedriver is required in CI: {error}"
            );
            eprintln!("skipping browser test: chromedriver not found ({error})");
            return None;
        }
    };
    let url = format!("http://127.0.0.1:{port}");
    let client = frontdesk::http_client().build().expect("client");
    for _ in 0..100 {
        if client.get(format!("{url}/status")).send().await.is_ok() {
            return Some(Driver {
                process,
                url,
                _temp: temp,
            });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not start");
}

async fn browser(driver: &Driver) -> Client {
    let caps = json!({
        "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--disable-quic", "--window-size=1280,860"
            ]
        }
    });
    let serde_json::Value::Object(caps) = caps else {
        unreachable!("a JSON object literal")
    };
    ClientBuilder::new(HttpConnector::new())
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("browser session")
}

/// Polls a JS expression until it is truthy; returns its value.
async fn wait_for(client: &Client, expression: &str) -> Value {
    for _ in 0..150 {
        let value = client
            .execute(&format!("return ({expression});"), vec![])
            .await
            .expect("script");
        if !value.is_null() && value != json!(false) && value != json!("") && value != json!(0) {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for: {expression}");
}

const W: &str = "window.FrontdeskWidget.root";

async fn widget_say(client: &Client, text: &str) {
    wait_for(
        client,
        "window.FrontdeskWidget && window.FrontdeskWidget.root",
    )
    .await;
    client
        .execute(
            &format!(
                "window.FrontdeskWidget.open();
                 const input = {W}.querySelector('#fd-input');
                 input.value = arguments[0];
                 input.dispatchEvent(new Event('input', {{bubbles: true}}));
                 {W}.querySelector('#fd-send').click();"
            ),
            vec![json!(text)],
        )
        .await
        .expect("send");
}

async fn click(client: &Client, css: &str) {
    let element = client.find(Locator::Css(css)).await.expect(css);
    element.click().await.expect("click");
}

async fn type_into(client: &Client, css: &str, text: &str) {
    let element = client.find(Locator::Css(css)).await.expect(css);
    element.send_keys(text).await.expect("type");
}

async fn screenshot(client: &Client, name: &str) {
    if std::env::var_os("FRONTDESK_SCREENSHOTS").is_none() {
        return;
    }
    let png = client.screenshot().await.expect("screenshot");
    let dir = repo_dir().join("docs/screenshots");
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join(format!("{name}.png")), png).expect("write screenshot");
}

/// The id of the one claimed handoff.
async fn claimed_handoff_id(app: &TestApp) -> String {
    let (_, claimed) = crate::helpers::agent(
        app,
        reqwest::Method::GET,
        "/v1/handoffs?status=claimed",
        None,
    )
    .await;
    claimed["handoffs"][0]["id"]
        .as_str()
        .expect("a claimed handoff")
        .to_owned()
}

/// The agent console, signed in as `name`, with the first handoff in the queue opened.
async fn console_opens_the_first_handoff(driver: &Driver, app: &TestApp, name: &str) -> Client {
    let agent = browser(driver).await;
    agent.goto(&app.url("/agent")).await.expect("console");
    type_into(&agent, "#agent-name", name).await;
    type_into(&agent, "#agent-key", AGENT_KEY).await;
    click(&agent, "#sign-in").await;
    wait_for(
        &agent,
        "document.querySelector('#queue li[data-handoff-id] button')",
    )
    .await;
    click(&agent, "#queue li[data-handoff-id] button").await;
    agent
}

async fn open_demo(app: &TestApp, client: &Client) {
    client.goto(&app.url("/")).await.expect("demo page");
}

/// A customer on the demo page who said `text` and has the assistant's whole reply.
async fn customer_answered(driver: &Driver, app: &TestApp, text: &str) -> Client {
    let customer = browser(driver).await;
    open_demo(app, &customer).await;
    widget_say(&customer, text).await;
    wait_for(
        &customer,
        &format!("{W}.querySelector('.fd-assistant:not(.fd-typing)')"),
    )
    .await;
    customer
}

#[tokio::test]
async fn a_customer_gets_a_streamed_answer_with_a_citation_and_an_order_card() {
    let _one = BROWSER_LOCK.lock().await;
    let Some(driver) = driver().await else { return };
    let app = spawn_app().await;
    let client = browser(&driver).await;
    open_demo(&app, &client).await;

    widget_say(&client, "How long do refunds take to reach my card?").await;
    let link = wait_for(
        &client,
        &format!("(() => {{ const a = {W}.querySelector('.fd-assistant .fd-citations a'); return a && a.textContent; }})()"),
    )
    .await;
    assert!(
        link.as_str()
            .is_some_and(|t| t.to_lowercase().contains("refund")),
        "{link}"
    );

    // An order's exact status, after the email and order number match.
    let (order, email) = shipped_order();
    let number = order["number"].as_str().expect("number");
    widget_say(
        &client,
        &format!("Where is my order {number}? My email is {email}"),
    )
    .await;
    let card = wait_for(
        &client,
        &format!("(() => {{ const c = {W}.querySelector('.fd-card[data-action=\"order_status\"]'); return c && c.textContent; }})()"),
    )
    .await;
    let card = card.as_str().unwrap_or_default();
    assert!(card.contains(number), "{card}");
    assert!(
        card.contains(order["shipping"]["tracking_number"].as_str().unwrap_or("?")),
        "{card}"
    );
    screenshot(&client, "widget").await;

    // Details that match no record are said to match none, not to have failed.
    widget_say(
        &client,
        &format!("Where is my order {number}? My email is wrong.person@example.com"),
    )
    .await;
    let card = wait_for(
        &client,
        &format!("(() => {{ const c = {W}.querySelector('.fd-card[data-ok=\"false\"]'); return c && c.textContent; }})()"),
    )
    .await;
    assert_eq!(
        card,
        json!("Verify customerno matchNo record matches those details.")
    );

    // A reload keeps the conversation.
    client.refresh().await.expect("reload");
    let restored = wait_for(
        &client,
        &format!("window.FrontdeskWidget && {W}.querySelectorAll('.fd-msg').length"),
    )
    .await;
    assert!(restored.as_u64().is_some_and(|n| n >= 4), "{restored}");
    client.close().await.expect("close");
}

#[tokio::test]
async fn a_customer_asks_for_a_person_and_an_agent_replies_from_the_console() {
    let _one = BROWSER_LOCK.lock().await;
    let Some(driver) = driver().await else { return };
    let app = spawn_app().await;
    let customer = customer_answered(
        &driver,
        &app,
        "My kettle arrived broken <img src=x onerror=alert(1)>",
    )
    .await;
    customer
        .execute(&format!("{W}.querySelector('#fd-human').click();"), vec![])
        .await
        .expect("talk to a person");
    wait_for(
        &customer,
        &format!("{W}.querySelector('#fd-status').textContent"),
    )
    .await;
    // A reload shows where the conversation stands: waiting, the button off.
    customer.refresh().await.expect("reload");
    let status = format!(
        "window.FrontdeskWidget && {W}.querySelector('#fd-status').textContent + '|' + {W}.querySelector('#fd-human').disabled"
    );
    wait_for(
        &customer,
        &format!("({status}) === 'Waiting for a person…|true'"),
    )
    .await;
    let shown = wait_for(
        &customer,
        &format!("(() => {{ const m = {W}.querySelector('.fd-customer .fd-text'); return m && m.textContent; }})()"),
    )
    .await;
    assert!(
        shown
            .as_str()
            .is_some_and(|t| t.contains("<img src=x onerror=alert(1)>")),
        "{shown}"
    );
    let injected = customer
        .execute(
            &format!("return {W}.querySelectorAll('img').length"),
            vec![],
        )
        .await
        .expect("count");
    assert_eq!(injected, json!(0), "no HTML from messages");

    let agent = console_opens_the_first_handoff(&driver, &app, "Sam").await;
    // The tab's title counts who is waiting.
    wait_for(&agent, "document.title.startsWith('(1) ')").await;
    let summary = wait_for(&agent, "document.querySelector('#summary').textContent").await;
    assert!(
        summary
            .as_str()
            .is_some_and(|s| s.contains("My kettle arrived broken")),
        "{summary}"
    );
    let transcript = wait_for(&agent, "document.querySelector('#transcript .msg-customer .text') && document.querySelector('#transcript .msg-customer .text').textContent").await;
    assert!(
        transcript
            .as_str()
            .is_some_and(|t| t.contains("<img src=x onerror=alert(1)>"))
    );
    assert_eq!(
        agent
            .execute(
                "return document.querySelectorAll('#transcript img').length",
                vec![]
            )
            .await
            .expect("count"),
        json!(0)
    );
    click(&agent, "#claim").await;
    wait_for(&agent, "!document.querySelector('#claim') || document.querySelector('#claim').disabled || document.body.textContent.includes('Sam')").await;
    screenshot(&agent, "agent").await;
    type_into(
        &agent,
        "#reply-text",
        "Hi, this is Sam. A replacement kettle ships today.",
    )
    .await;
    click(&agent, "#reply-send").await;

    let reply = wait_for(
        &customer,
        &format!("(() => {{ const m = {W}.querySelector('.fd-agent .fd-text'); return m && m.textContent; }})()"),
    )
    .await;
    assert_eq!(
        reply,
        json!("Hi, this is Sam. A replacement kettle ships today.")
    );
    // Resolved, then reloaded: the assistant is back, nobody shown as present.
    let handoff_id = claimed_handoff_id(&app).await;
    let (status_code, _) = crate::helpers::agent(
        &app,
        reqwest::Method::POST,
        &format!("/v1/handoffs/{handoff_id}/resolve"),
        None,
    )
    .await;
    assert_eq!(status_code, 200);
    wait_for(
        &customer,
        &format!("({status}) === 'Sam left the chat. The assistant can help again.|false'"),
    )
    .await;
    customer.refresh().await.expect("reload");
    wait_for(&customer, &format!("({status}) === '|false'")).await;
    // Asked again and claimed by someone else: after a reload the widget names who holds the
    // chat now, not the author of the earlier agent message.
    customer
        .execute(&format!("{W}.querySelector('#fd-human').click();"), vec![])
        .await
        .expect("talk to a person again");
    wait_for(
        &customer,
        &format!("({status}) === 'Waiting for a person…|true'"),
    )
    .await;
    let waiting = crate::helpers::agent(&app, reqwest::Method::GET, "/v1/handoffs", None).await;
    let second = waiting.1["handoffs"][0]["id"]
        .as_str()
        .expect("handoff")
        .to_owned();
    let (status_code, _) = crate::helpers::agent(
        &app,
        reqwest::Method::POST,
        &format!("/v1/handoffs/{second}/claim"),
        Some(json!({"agent": "Priya"})),
    )
    .await;
    assert_eq!(status_code, 200);
    customer.refresh().await.expect("reload");
    wait_for(&customer, &format!("({status}).startsWith('Priya joined')")).await;
    agent.close().await.expect("close");
    customer.close().await.expect("close");
}

#[tokio::test]
async fn an_admin_uploads_an_article_and_the_widget_cites_it() {
    let _one = BROWSER_LOCK.lock().await;
    let Some(driver) = driver().await else { return };
    let app = spawn_app().await;
    let admin = browser(&driver).await;
    admin.goto(&app.url("/admin")).await.expect("admin page");
    type_into(&admin, "#admin-key", ADMIN_KEY).await;
    click(&admin, "#sign-in").await;
    wait_for(
        &admin,
        "document.querySelectorAll('#articles [data-article-id]').length",
    )
    .await;
    type_into(&admin, "#paste-title", "Gift wrapping").await;
    type_into(
        &admin,
        "#paste-body",
        "## Cost\n\nGift wrapping costs $4 per item and includes a handwritten card.",
    )
    .await;
    click(&admin, "#paste-save").await;
    wait_for(
        &admin,
        "document.querySelector('#articles').textContent.includes('Gift wrapping')",
    )
    .await;
    screenshot(&admin, "admin").await;

    let customer = browser(&driver).await;
    open_demo(&app, &customer).await;
    widget_say(&customer, "How much does gift wrapping cost?").await;
    let cited = wait_for(
        &customer,
        &format!("(() => {{ const a = [...{W}.querySelectorAll('.fd-assistant .fd-citations a, .fd-assistant .fd-citations span')]; return a.map(x => x.textContent).join('|'); }})()"),
    )
    .await;
    assert!(
        cited.as_str().is_some_and(|c| c.contains("Gift wrapping")),
        "{cited}"
    );
    // The admin's report, refreshed, now counts the article among those cited, by its title,
    // and gives the share the assistant resolved as a percentage.
    click(&admin, "#report-refresh").await;
    wait_for(
        &admin,
        "document.querySelector('#report').textContent.includes('Gift wrapping (1)')",
    )
    .await;
    let rate = wait_for(
        &admin,
        "[...document.querySelectorAll('#report dt')].find(d => d.textContent === 'assistant resolved rate').nextElementSibling.textContent",
    )
    .await;
    assert_eq!(rate, json!("100%"));
    // Renamed and saved, the article is deleted under its new name.
    admin
        .execute(
            "[...document.querySelectorAll('#articles tr[data-article-id]')]
                .find(r => r.textContent.includes('Gift wrapping')).click();",
            vec![],
        )
        .await
        .expect("open the article");
    wait_for(&admin, "!document.querySelector('#edit-form').hidden").await;
    admin
        .execute(
            "document.querySelector('#edit-title').value = 'Gift wrapping service';
             document.querySelector('#edit-form').requestSubmit();",
            vec![],
        )
        .await
        .expect("save");
    wait_for(
        &admin,
        "document.querySelector('#edit-status').textContent === 'Saved.'",
    )
    .await;
    admin
        .execute(
            "window.asked = null; window.confirm = (m) => { window.asked = m; return false; };
             document.querySelector('#edit-delete').click();",
            vec![],
        )
        .await
        .expect("delete");
    let asked = wait_for(&admin, "window.asked").await;
    assert_eq!(
        asked,
        json!("Delete \"Gift wrapping service\"? This cannot be undone.")
    );
    admin.close().await.expect("close");
    customer.close().await.expect("close");
}

/// Another agent's claim is shown as theirs (claim, resolve and release off), and a customer
/// whose service is gone is told so in words, not the browser's "Failed to fetch".
#[tokio::test]
async fn another_agents_claim_is_theirs_and_an_unreachable_service_is_said_plainly() {
    let _one = BROWSER_LOCK.lock().await;
    let Some(driver) = driver().await else { return };
    let app = spawn_app().await;
    let chat = app.start_chat().await;
    let (_, handoff) = crate::helpers::agent(
        &app,
        reqwest::Method::POST,
        &format!("/v1/conversations/{}/handoff", chat.id),
        Some(json!({})),
    )
    .await;
    let id = handoff["id"].as_str().expect("handoff id");
    crate::helpers::agent(
        &app,
        reqwest::Method::POST,
        &format!("/v1/handoffs/{id}/claim"),
        Some(json!({"agent": "Alice"})),
    )
    .await;

    let agent = console_opens_the_first_handoff(&driver, &app, "Sam").await;
    let claim = wait_for(
        &agent,
        "document.querySelector('#claim').textContent.includes('Alice') && [document.querySelector('#claim').textContent, document.querySelector('#claim').disabled, document.querySelector('#resolve').disabled, document.querySelector('#release').disabled]",
    )
    .await;
    assert_eq!(claim, json!(["Claimed by Alice", true, false, false]));
    // Alice answers: Sam's reply box is off and says so.
    let reply = wait_for(
        &agent,
        "document.querySelector('#reply-text').disabled && document.querySelector('#reply-hint').textContent",
    )
    .await;
    assert_eq!(reply, json!("Alice is answering this conversation."));
    agent.close().await.expect("close");

    let customer = browser(&driver).await;
    open_demo(&app, &customer).await;
    wait_for(
        &customer,
        "window.FrontdeskWidget && window.FrontdeskWidget.root",
    )
    .await;
    app.stop().await;
    widget_say(&customer, "Do you ship to Canada?").await;
    let error = wait_for(
        &customer,
        &format!("{W}.querySelector('#fd-status.fd-error') && {W}.querySelector('#fd-status').textContent"),
    )
    .await;
    assert_eq!(
        error,
        json!("We can't reach the chat right now. Check your connection and try again.")
    );
    customer.close().await.expect("close");
}

/// An admin switches the channel of an open chat to human-only and back: the widget and the
/// agent console follow at once, without a reload.
#[tokio::test]
async fn a_channel_switch_reaches_the_open_widget_and_console() {
    let _one = BROWSER_LOCK.lock().await;
    let Some(driver) = driver().await else { return };
    let app = spawn_app().await;
    let switch = |human_only: bool| {
        let app = &app;
        async move {
            let response = app
                .client
                .put(app.url("/v1/channels/web"))
                .bearer_auth(crate::helpers::ADMIN_KEY)
                .json(&json!({ "human_only": human_only }))
                .send()
                .await
                .expect("switch");
            assert_eq!(response.status(), 200);
        }
    };
    let customer = customer_answered(&driver, &app, "Do you ship to Canada?").await;
    let status = format!(
        "{W}.querySelector('#fd-status').textContent + '|' + {W}.querySelector('#fd-human').disabled"
    );
    switch(true).await;
    wait_for(
        &customer,
        &format!("({status}) === 'A person will reply here shortly.|true'"),
    )
    .await;
    // The customer's next message waits for a person; the console's mode switch is locked.
    widget_say(&customer, "Can I pay with PayPal?").await;
    let agent = console_opens_the_first_handoff(&driver, &app, "Sam").await;
    wait_for(&agent, "document.querySelector('#mode-toggle').disabled").await;
    // Resolved on a human-only channel, the conversation stays with people.
    click(&agent, "#claim").await;
    wait_for(&agent, "!document.querySelector('#resolve').disabled").await;
    click(&agent, "#resolve").await;
    wait_for(&agent, "document.querySelector('#resolve').disabled").await;
    let mode = agent
        .execute(
            "return document.querySelector('#f-mode').textContent;",
            vec![],
        )
        .await
        .expect("mode");
    assert_eq!(mode, json!("Human (agent replies)"));
    switch(false).await;
    wait_for(&agent, "!document.querySelector('#mode-toggle').disabled").await;
    customer.close().await.expect("close");
    agent.close().await.expect("close");
}

/// What a page shows, in order: each message's `[seq, class, text]` (seq -1 while unsent).
async fn shown(client: &Client, nodes: &str) -> Vec<Value> {
    let shown = client
        .execute(
            &format!(
                "return [...{nodes}].map((n) => [Number(n.dataset.seq || -1), n.className,
                    (n.querySelector('.fd-text, .text') || n).textContent])"
            ),
            vec![],
        )
        .await
        .expect("shown");
    shown.as_array().cloned().unwrap_or_default()
}

/// A reply stored without waiting for the disk and lost in a power cut leaves its number to
/// the next message: once the service is back, the open widget and console show that message
/// in the lost one's place, and lose nothing.
#[tokio::test]
async fn a_number_a_lost_reply_leaves_goes_to_the_next_message_on_the_page() {
    use sqlx::Executor;

    let _one = BROWSER_LOCK.lock().await;
    let Some(driver) = driver().await else { return };
    let app = spawn_app().await;
    // PostgreSQL syncs every commit, replies included, and numbers a conversation's messages
    // from a counter a lost row would not give back: this is SQLite's case.
    if crate::helpers::database_url_for(app.data_dir.path()).is_some() {
        return;
    }
    let customer = customer_answered(
        &driver,
        &app,
        "This is ridiculous, my order still has not arrived and nobody helps me!",
    )
    .await;
    let agent = console_opens_the_first_handoff(&driver, &app, "Sam").await;
    let texts =
        "[...document.querySelectorAll('#transcript .msg .text')].map((n) => n.textContent)";
    wait_for(&agent, &format!("{texts}.length == 2")).await;

    // The service stops, and comes back without its reply.
    let address = app.url("").trim_start_matches("http://").to_owned();
    let data_dir = app.stop().await;
    let mut settings = crate::helpers::test_settings(&data_dir);
    settings.listen = address;
    let app = crate::helpers::spawn_on(settings, data_dir).await;
    let lost = app
        .database()
        .await
        .execute("DELETE FROM messages WHERE role = 'assistant'")
        .await
        .expect("lose the reply");
    assert_eq!(lost.rows_affected(), 1);
    // Both pages follow the conversation again (the widget's stream and the console's feed).
    for _ in 0..100 {
        if crate::helpers::sample(&app.metrics().await, "frontdesk_open_streams") >= 2.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    widget_say(&customer, "Hello, anyone there?").await;
    wait_for(&agent, &format!("{texts}.includes('Hello, anyone there?')")).await;
    wait_for(
        &customer,
        &format!("!{W}.querySelector('.fd-pending, .fd-typing')"),
    )
    .await;
    let widget = shown(&customer, &format!("{W}.querySelectorAll('.fd-msg')")).await;
    assert_eq!(
        widget,
        [
            json!([
                1,
                "fd-msg fd-customer",
                "This is ridiculous, my order still has not arrived and nobody helps me!"
            ]),
            json!([2, "fd-msg fd-customer", "Hello, anyone there?"]),
        ],
    );
    let console = shown(&agent, "document.querySelectorAll('#transcript .msg')").await;
    let console: Vec<(&Value, &Value)> = console.iter().map(|n| (&n[0], &n[2])).collect();
    assert_eq!(
        console,
        [
            (
                &json!(1),
                &json!("This is ridiculous, my order still has not arrived and nobody helps me!")
            ),
            (&json!(2), &json!("Hello, anyone there?")),
        ],
    );
    customer.close().await.expect("close");
    agent.close().await.expect("close");
}

/// A message past the conversation's rate limit is refused: the widget says why and gives
/// the text back to be sent again, nothing lost.
#[tokio::test]
async fn a_message_sent_too_fast_comes_back_to_the_box_with_the_reason() {
    let _one = BROWSER_LOCK.lock().await;
    let Some(driver) = driver().await else { return };
    let app = spawn_app_with(|s| s.limits.messages_per_minute = 2).await;
    let customer = customer_answered(&driver, &app, "hello").await;
    widget_say(&customer, "Do you ship to Canada?").await;
    let note = wait_for(
        &customer,
        &format!("{W}.querySelector('.fd-failed .fd-note') && {W}.querySelector('.fd-failed .fd-note').textContent"),
    )
    .await;
    assert!(
        note.as_str()
            .is_some_and(|n| n.starts_with("Not sent: Too many requests at once; try again in")),
        "{note}"
    );
    let kept = customer
        .execute(
            &format!("return {W}.querySelector('#fd-input').value;"),
            vec![],
        )
        .await
        .expect("script");
    assert_eq!(kept, json!("Do you ship to Canada?"));
    customer.close().await.expect("close");
}

/// A page that says `data-locale="fr"` (the demo page's `?locale=fr`) gets the widget's own
/// words in French, as the replies are: title, placeholder, buttons, cards and status lines.
/// A page that names no language, or one the service does not speak, keeps English; a
/// regional locale counts by its language (`pt-BR`: Portuguese).
#[tokio::test]
async fn a_french_page_gets_the_widget_in_french_and_english_stays_the_default() {
    let _one = BROWSER_LOCK.lock().await;
    let Some(driver) = driver().await else { return };
    let app = spawn_app().await;
    let client = browser(&driver).await;
    let words = format!(
        "window.FrontdeskWidget && ['h2', '.fd-welcome', '#fd-human', '#fd-send']
            .map((css) => {W}.querySelector(css).textContent)
            .concat({W}.querySelector('#fd-input').placeholder)"
    );
    let english = json!([
        "Chat with support",
        "Hi! Ask us about orders, shipping, returns or anything else.",
        "Talk to a person",
        "Send",
        "Type your message…"
    ]);
    for page in ["/", "/?locale=it"] {
        client.goto(&app.url(page)).await.expect("demo page");
        assert_eq!(wait_for(&client, &words).await, english, "{page}");
    }
    client
        .goto(&app.url("/?locale=pt-BR"))
        .await
        .expect("demo page");
    let portuguese = wait_for(&client, &words).await;
    assert_eq!(portuguese[2], json!("Falar com uma pessoa"), "{portuguese}");

    client
        .goto(&app.url("/?locale=fr"))
        .await
        .expect("demo page");
    assert_eq!(
        wait_for(&client, &words).await,
        json!([
            "Discuter avec l'assistance",
            "Bonjour ! Posez-nous vos questions sur les commandes, la livraison, les retours ou autre chose.",
            "Parler à un conseiller",
            "Envoyer",
            "Écrivez votre message…"
        ])
    );
    // An order's card: its title, labels and status in the words of the French reply.
    let (order, email) = shipped_order();
    let number = order["number"].as_str().expect("number");
    widget_say(
        &client,
        &format!("Où est ma commande {number} ? Mon e-mail est {email}"),
    )
    .await;
    let rows = wait_for(
        &client,
        &format!("(() => {{ const c = {W}.querySelector('.fd-card[data-action=\"order_status\"]'); return c && [c.querySelector('.fd-card-head span').textContent, ...[...c.querySelectorAll('tr')].map((r) => r.querySelector('th').textContent + '=' + r.querySelector('td').textContent)]; }})()"),
    )
    .await;
    let tracking = order["shipping"]["tracking_number"]
        .as_str()
        .expect("tracking");
    for row in [
        "Statut de la commande".to_owned(),
        format!("Commande={number}"),
        "Statut=En transit".to_owned(),
        format!("Suivi={tracking}"),
    ] {
        assert!(
            rows.as_array().is_some_and(|r| r.contains(&json!(row))),
            "{row}: {rows}"
        );
    }
    let reply = wait_for(
        &client,
        &format!("(() => {{ const m = {W}.querySelector('.fd-assistant:not(.fd-typing) .fd-text'); return m && m.textContent; }})()"),
    )
    .await;
    assert!(
        reply
            .as_str()
            .is_some_and(|t| t.starts_with(&format!("Commande {number} : en transit"))),
        "{reply}"
    );
    // Details that match no record, said in French.
    widget_say(
        &client,
        &format!("Où est ma commande {number} ? Mon e-mail est wrong.person@example.com"),
    )
    .await;
    let card = wait_for(
        &client,
        &format!("(() => {{ const c = {W}.querySelector('.fd-card[data-ok=\"false\"]'); return c && c.textContent; }})()"),
    )
    .await;
    assert_eq!(
        card,
        json!(
            "Vérification de vos informationsaucune correspondanceCes informations ne correspondent pas à nos dossiers."
        )
    );
    // Asking for a person: the status line and the launcher's label in French.
    wait_for(&client, &format!("!{W}.querySelector('#fd-send').disabled")).await;
    client
        .execute(&format!("{W}.querySelector('#fd-human').click();"), vec![])
        .await
        .expect("talk to a person");
    let status = format!(
        "{W}.querySelector('#fd-status').textContent + '|' + {W}.querySelector('#fd-human').disabled + '|' + {W}.querySelector('#fd-launcher').getAttribute('aria-label')"
    );
    wait_for(
        &client,
        &format!("({status}) === 'En attente d\\'un conseiller…|true|Fermer le chat'"),
    )
    .await;
    client.close().await.expect("close");
}
