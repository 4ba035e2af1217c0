//! The admin's knowledge base: create, upload, update, delete, search; the index follows.

use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use crate::helpers::{ADMIN_KEY, TestApp, spawn_app, spawn_on, test_settings};

fn ids(results: &[Value]) -> Vec<String> {
    results
        .iter()
        .filter_map(|r| r["article_id"].as_str().map(str::to_owned))
        .collect()
}

/// Uploads files (name, content) as one multipart request; the status and JSON body.
async fn upload(app: &TestApp, files: &[(&str, &str)]) -> (u16, Value) {
    let mut form = Form::new();
    for (name, content) in files {
        form = form.part(
            "file",
            Part::bytes(content.as_bytes().to_vec()).file_name(name.to_string()),
        );
    }
    let response = app
        .client
        .post(app.url("/v1/articles"))
        .bearer_auth(ADMIN_KEY)
        .multipart(form)
        .send()
        .await
        .expect("upload");
    let status = response.status().as_u16();
    (status, response.json().await.expect("json"))
}

/// The text of the first reply to `question` in a new conversation.
async fn first_reply(app: &TestApp, question: &str) -> String {
    let chat = app.start_chat().await;
    let (status, body) = app.say(&chat, json!({ "text": question })).await;
    assert_eq!(status, 200, "{body}");
    body["replies"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn created_updated_and_deleted_articles_show_in_search_at_once() {
    let app = spawn_app().await;
    let created = app
        .create_article(json!({
            "title": "Zorbing gear",
            "body": "## Sizes\n\nZorbing balls come in three sizes.\n\n## Care\n\nRinse after use.",
            "tags": ["zorbing"],
            "locale": "en"
        }))
        .await;
    let article = &created["articles"][0];
    let id = article["id"].as_str().expect("id").to_owned();
    assert_eq!(article["chunks"], 2);

    let results = app.search("zorbing sizes").await;
    assert_eq!(ids(&results)[0], id);
    assert!(
        results[0]["snippet"]
            .as_str()
            .is_some_and(|s| s.contains("three sizes"))
    );
    assert!(results[0]["score"].as_f64().is_some_and(|s| s > 0.0));
    assert!(
        results[0]["chunk_id"]
            .as_str()
            .is_some_and(|c| c.starts_with(&id))
    );

    let response = app
        .client
        .put(app.url(&format!("/v1/articles/{id}")))
        .bearer_auth(ADMIN_KEY)
        .json(&json!({"title": "Zorbing gear", "body": "Zorbing balls now come in a single size, with a quokka pattern."}))
        .send()
        .await
        .expect("update");
    assert_eq!(response.status(), 200);
    assert_eq!(ids(&app.search("quokka").await), vec![id.clone()]);
    assert!(
        ids(&app.search("rinse").await).is_empty(),
        "old text is gone"
    );

    let (status, body) = app.admin_get(&format!("/v1/articles/{id}")).await;
    assert_eq!(status, 200);
    assert!(body["body"].as_str().is_some_and(|b| b.contains("quokka")));

    assert_eq!(app.delete_article(&id).await, 204);
    assert!(ids(&app.search("quokka zorbing").await).is_empty());

    let chat = app.start_chat().await;
    let (_, reply) = app
        .say(
            &chat,
            json!({"text": "Do zorbing balls have a quokka pattern?"}),
        )
        .await;
    assert!(
        !reply["replies"][0]["citations"].to_string().contains(&id),
        "a deleted article is never cited: {reply}"
    );
}

#[tokio::test]
async fn markdown_html_and_text_files_upload_together() {
    let app = spawn_app().await;
    let (status, body) = upload(
        &app,
        &[
            (
                "pets.md",
                "---\ntitle: Pet policy\nurl: https://help.example/pets\n---\n\n## Dogs\n\nDogs are welcome in the showroom.",
            ),
            (
                "parking.html",
                "<html><head><title>Parking &amp; access</title></head><body><h2>Garage</h2><p>The garage opens at seven.</p></body></html>",
            ),
            (
                "umbrella-loans.txt",
                "Umbrellas can be borrowed at the front desk.",
            ),
        ],
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let titles: Vec<&str> = body["articles"]
        .as_array()
        .expect("articles")
        .iter()
        .filter_map(|a| a["title"].as_str())
        .collect();
    assert_eq!(titles, ["Pet policy", "Parking & access", "Umbrella loans"]);
    assert_eq!(
        app.search("garage opens").await[0]["title"],
        "Parking & access"
    );
    let results = app.search("borrow umbrellas").await;
    assert_eq!(results[0]["title"], "Umbrella loans");
    let results = app.search("dogs showroom").await;
    assert_eq!(results[0]["url"], "https://help.example/pets");
}

#[tokio::test]
async fn uploading_an_edited_file_again_replaces_its_article() {
    let app = spawn_app().await;
    let (status, first) = upload(
        &app,
        &[(
            "loaners.md",
            "# Loaner bikes\n\nLoaner bikes are lent for three days, kickstand included.",
        )],
    )
    .await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(first["articles"][0]["replaced"], false);
    let id = first["articles"][0]["id"].as_str().expect("id").to_owned();
    let (_, before) = app.admin_get(&format!("/v1/articles/{id}")).await;
    let (_, listed) = app.admin_get("/v1/articles").await;
    let count = listed["articles"].as_array().map(Vec::len);

    let (status, second) = upload(
        &app,
        &[
            (
                "loaners.md",
                "# Loaner bikes\n\nLoaner bikes are lent for a week, with a helmet.",
            ),
            (
                "trailers.md",
                "# Trailers\n\nBike trailers can be hired by the day.",
            ),
        ],
    )
    .await;
    assert_eq!(status, 201, "{second}");
    assert_eq!(second["articles"][0]["id"], id.as_str());
    assert_eq!(second["articles"][0]["replaced"], true);
    assert_eq!(second["articles"][1]["replaced"], false);
    let (_, listed) = app.admin_get("/v1/articles").await;
    assert_eq!(
        listed["articles"].as_array().map(Vec::len),
        count.map(|n| n + 1),
        "one article for loaners.md, one new"
    );
    let (_, after) = app.admin_get(&format!("/v1/articles/{id}")).await;
    assert_eq!(after["created_at"], before["created_at"]);
    assert_ne!(after["updated_at"], before["updated_at"]);
    assert_eq!(ids(&app.search("loaner helmet week").await)[0], id);
    assert!(
        app.search("kickstand").await.is_empty(),
        "the old text is gone from the index"
    );

    // The same new file uploaded four times at once still makes one article.
    let racks = [("racks.md", "# Bike racks\n\nRacks fit most cars.")];
    let results = tokio::join!(
        upload(&app, &racks),
        upload(&app, &racks),
        upload(&app, &racks),
        upload(&app, &racks)
    );
    let statuses = [results.0.0, results.1.0, results.2.0, results.3.0];
    assert_eq!(statuses, [201; 4]);
    let (_, listed) = app.admin_get("/v1/articles").await;
    let racks = listed["articles"]
        .as_array()
        .map(|all| all.iter().filter(|a| a["title"] == "Bike racks").count());
    assert_eq!(racks, Some(1));

    // Articles written as JSON have no file name: a second one with the same title is new.
    let article = json!({"title": "Loaner bikes", "body": "Loaner bikes are lent for a week."});
    let created = app.create_article(article).await;
    assert_ne!(created["articles"][0]["id"], id.as_str());
}

#[tokio::test]
async fn an_upload_with_an_unsupported_file_stores_nothing() {
    let app = spawn_app().await;
    let (_, before) = app.admin_get("/v1/articles").await;
    let (status, body) = upload(
        &app,
        &[("fine.md", "# Fine\n\nok"), ("manual.pdf", "%PDF-1.4")],
    )
    .await;
    assert_eq!(status, 415);
    assert_eq!(body["error"]["code"], "unsupported_media_type");
    let (_, after) = app.admin_get("/v1/articles").await;
    assert_eq!(
        before["articles"].as_array().map(Vec::len),
        after["articles"].as_array().map(Vec::len)
    );
}

#[tokio::test]
async fn demo_knowledge_is_imported_once_and_listed() {
    let app = spawn_app().await;
    let (status, body) = app.admin_get("/v1/articles").await;
    assert_eq!(status, 200);
    let articles = body["articles"].as_array().expect("articles");
    assert!(articles.len() >= 30, "{} demo articles", articles.len());
    assert!(
        articles
            .iter()
            .all(|a| a["title"].as_str().is_some_and(|t| !t.is_empty()))
    );
}

#[tokio::test]
async fn a_missing_index_is_rebuilt_from_the_database_at_start() {
    let app = spawn_app().await;
    app.create_article(json!({"title": "Gondola rides", "body": "Gondola rides leave hourly."}))
        .await;
    let data_dir = app.stop().await;
    std::fs::remove_dir_all(data_dir.path().join("index")).expect("remove index");

    let app = spawn_on(test_settings(&data_dir), data_dir).await;
    let results = app.search("gondola").await;
    assert_eq!(results[0]["title"], "Gondola rides");
    let (_, body) = app.admin_get("/v1/articles").await;
    let gondolas = body["articles"]
        .as_array()
        .expect("articles")
        .iter()
        .filter(|a| a["title"] == "Gondola rides")
        .count();
    assert_eq!(gondolas, 1, "knowledge is not imported twice");
}

#[tokio::test]
async fn a_long_list_is_split_into_passages_and_the_item_asked_about_is_quoted() {
    let app = spawn_app().await;
    let items: String = (1..=800)
        .map(|i| format!("- Store {i} in Quuxville{i} opens at 7 am\n"))
        .collect();
    let created = app
        .create_article(json!({"title": "Store hours", "body": format!("## Stores\n\n{items}")}))
        .await;
    let chunks = created["articles"][0]["chunks"]
        .as_u64()
        .unwrap_or_default();
    assert!(chunks >= 20, "{chunks} passages");

    let reply = first_reply(&app, "When does the store in Quuxville555 open?").await;
    assert!(
        reply.contains("Store 555 in Quuxville555 opens at 7 am"),
        "{reply}"
    );
}

#[tokio::test]
async fn a_long_table_is_split_into_passages_that_keep_its_header() {
    let app = spawn_app().await;
    let rows: String = (1..=3000)
        .map(|i| format!("| Quuxville{i} | {} am |\n", 6 + i % 4))
        .collect();
    let table = format!("# Store hours\n\n| Town | Opens at |\n|---|---|\n{rows}");
    let (status, body) = upload(&app, &[("store-hours.md", &table)]).await;
    assert_eq!(status, 201, "{body}");
    let chunks = body["articles"][0]["chunks"].as_u64().unwrap_or_default();
    assert!(chunks >= 50, "{chunks} passages");

    let reply = first_reply(&app, "When does the store in Quuxville2555 open?").await;
    assert!(
        reply.contains("| Town | Opens at |"),
        "the header is quoted: {reply}"
    );
    assert!(reply.contains("| Quuxville2555 | 9 am |"), "{reply}");
}

#[tokio::test]
async fn an_html_comment_is_never_indexed_or_quoted_whatever_it_holds() {
    let app = spawn_app().await;
    let page = "<html><head><title>Zorbing discounts</title></head><body>\
        <p title=\"a > b\">Zorbing club members save ten percent.</p>\
        <!-- Internal draft: <p>Staff discount code STAFFONLY50 gives fifty percent off.</p> -->\
        </body></html>";
    let (status, body) = upload(&app, &[("zorbing-discounts.html", page)]).await;
    assert_eq!(status, 201, "{body}");

    assert!(app.search("STAFFONLY50").await.is_empty());
    let results = app.search("zorbing club members").await;
    let snippet = results[0]["snippet"].as_str().unwrap_or_default();
    assert!(
        snippet.starts_with("Zorbing club"),
        "no attribute text: {snippet}"
    );
    let reply = first_reply(&app, "Is there a zorbing staff discount code?").await;
    assert!(
        !reply.contains("STAFFONLY50") && !reply.contains("-->"),
        "{reply}"
    );
}

#[tokio::test]
async fn text_inside_raw_html_in_markdown_is_searchable() {
    let app = spawn_app().await;
    let created = app
        .create_article(json!({
            "title": "Returnzilla",
            "body": "<div class=\"note\">\nThe returnzilla portal is open 24/7.\n</div>"
        }))
        .await;
    assert_eq!(created["articles"][0]["chunks"], 1, "not an empty_article");
    let results = app.search("returnzilla portal open").await;
    let snippet = results[0]["snippet"].as_str().unwrap_or_default();
    assert!(snippet.contains("open 24/7"), "{results:?}");
}

#[tokio::test]
async fn an_uploaded_file_is_validated_as_json_is_and_a_bad_one_stores_nothing() {
    let app = spawn_app().await;
    let (_, before) = app.admin_get("/v1/articles").await;
    let fine = ("fine.md", "# Fine\n\nKayak rentals are fine.");
    let cases = [
        (
            "script-link.md",
            "---\nurl: javascript:alert(1)\n---\n\nKayaks float.",
            "invalid_url",
        ),
        (
            "data-link.md",
            "---\nurl: \"data:text/html,hi\"\n---\n\nKayaks float.",
            "invalid_url",
        ),
        (
            "blank-title.md",
            "---\ntitle: \"   \"\n---\n\nKayaks float.",
            "invalid_title",
        ),
        (
            "long-title.md",
            &format!("---\ntitle: {}\n---\n\nKayaks float.", "k".repeat(301)),
            "invalid_title",
        ),
        // Front matter that cannot be read would be quoted to customers as text.
        (
            "unclosed.md",
            "---\ntitle: Kayaks\n\n# Kayaks\n\nKayaks float.",
            "invalid_front_matter",
        ),
        (
            "not-yaml.md",
            "---\ntitle: Kayaks\nthis line is prose\n---\n\nKayaks float.",
            "invalid_front_matter",
        ),
        (
            "bad-locale.md",
            "---\nlocale: English please\n---\n\nKayaks float.",
            "invalid_locale",
        ),
        (
            "folded-title.md",
            "---\ntitle: >\n  Kayaks\n---\n\nKayaks float.",
            "invalid_front_matter",
        ),
        // Two files of one name would make one article, the first silently lost.
        ("fine.md", "# Canoes\n\nCanoes float too.", "duplicate_file"),
    ];
    for (name, content, code) in cases {
        let (status, body) = upload(&app, &[fine, (name, content)]).await;
        assert_eq!(status, 400, "{name}: {body}");
        assert_eq!(body["error"]["code"], code, "{name}: {body}");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(name),
            "the message names the file: {message}"
        );
    }
    let (_, after) = app.admin_get("/v1/articles").await;
    assert_eq!(before["articles"], after["articles"], "nothing was stored");

    // Sent as JSON, the same fields are checked the same way.
    for (field, value, code) in [
        ("url", json!("javascript:alert(1)"), "invalid_url"),
        ("locale", json!("français"), "invalid_locale"),
        ("tags", json!(["x".repeat(5000)]), "invalid_tags"),
    ] {
        let mut article = json!({"title": "Kayaks", "body": "Kayaks float."});
        article[field] = value;
        let response = app
            .client
            .post(app.url("/v1/articles"))
            .bearer_auth(ADMIN_KEY)
            .json(&article)
            .send()
            .await
            .expect("create");
        assert_eq!(response.status(), 400, "{field}");
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["error"]["code"], code);
    }
    let (_, after) = app.admin_get("/v1/articles").await;
    assert_eq!(before["articles"], after["articles"], "nothing was stored");
}
