//! `frontdesk eval` routing with a configured model: the real async-openai client against the
//! scripted server, with the service's prompt and tools.

use serde_json::json;

use frontdesk::eval::{self, model_routing::ModelRouter};

use crate::{
    helpers::{test_settings, use_scripted_llm},
    scripted_llm::{Behavior, ScriptedLlm},
};

async fn router(llm: &ScriptedLlm) -> ModelRouter {
    let dir = tempfile::tempdir().expect("dir");
    let mut settings = test_settings(&dir);
    use_scripted_llm(&mut settings, llm);
    settings.llm.max_retries = 0;
    ModelRouter::from_settings(&settings)
        .expect("router builds")
        .expect("a model is configured")
}

fn labelled(lines: &[serde_json::Value]) -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().expect("file");
    let text: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    std::fs::write(file.path(), text.join("\n")).expect("write");
    file
}

#[tokio::test]
async fn routing_is_scored_on_the_models_tool_calls() {
    let llm = ScriptedLlm::start().await;
    let call = || {
        Behavior::ToolCalls(vec![(
            "order_status".into(),
            json!({"order_number": "00123842"}),
        )])
    };
    llm.push([call(), call()]);
    let file = labelled(&[
        json!({"text": "where is my order 00123842", "expected": "order_status"}),
        json!({"text": "I want to talk to a human agent", "expected": "human"}),
        json!({"text": "how do I reset my password", "expected": "knowledge"}),
        json!({"text": "this is a complaint", "expected": "any"}),
    ]);
    let run = eval::routing(file.path(), Some(&router(&llm).await))
        .await
        .expect("routing");

    assert_eq!(run.router, "model scripted-model (tool calls)");
    assert_eq!(run.routing.total, 3);
    let confusion = &run.routing.confusion;
    assert_eq!(confusion["order_status"]["order_status"], 1);
    assert_eq!(confusion["human"]["human"], 1, "the trigger runs first");
    assert_eq!(confusion["knowledge"]["order_status"], 1);
    // Only the two messages the triggers left went to the model, with the live prompt and tools.
    let requests = llm.requests();
    assert_eq!(requests.len(), 2);
    // As in a live turn, the prompt carries the passages found for the message.
    // (The two are sent at once, so in either order.)
    let asked = requests
        .iter()
        .filter_map(|r| r["messages"].as_array()?.last()?["content"].as_str())
        .find(|question| question.contains("how do I reset my password"))
        .expect("the question");
    assert!(
        asked.contains("Forgot password?") && asked.contains("Resetting your password"),
        "{asked}"
    );
    for request in &requests {
        assert_eq!(request["messages"][0]["role"], "system");
        let tools: Vec<&str> = request["tools"]
            .as_array()
            .expect("tools offered")
            .iter()
            .filter_map(|t| t["function"]["name"].as_str())
            .collect();
        assert!(tools.contains(&"order_status") && tools.contains(&"handoff_to_human"));
    }
}

#[tokio::test]
async fn a_failing_model_is_reported_not_hidden() {
    let llm = ScriptedLlm::start().await;
    llm.push([Behavior::Status(500)]);
    let file = labelled(&[json!({"text": "where is my parcel", "expected": "order_status"})]);
    let run = eval::routing(file.path(), Some(&router(&llm).await))
        .await
        .expect("routing");
    assert_eq!(
        run.routing.confusion["order_status"][eval::model_routing::MODEL_ERROR],
        1
    );
}

#[test]
fn the_eval_command_scores_the_knowledge_folders_questions_by_default() {
    let empty = tempfile::tempdir().expect("dir");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_frontdesk"))
        .args(["eval", "--json", "--data"])
        .arg(empty.path())
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("OPENAI_BASE_URL")
        .output()
        .expect("run frontdesk eval");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let runs = report["retrieval"].as_array().expect("retrieval runs");
    let knowledge: Vec<&serde_json::Value> = runs
        .iter()
        .filter(|r| r["dataset"] == "knowledge")
        .collect();
    let queries = std::fs::read_to_string("knowledge/questions.jsonl")
        .expect("the demo questions")
        .lines()
        .count();
    // The demo questions include follow-ups, so both ways of searching are scored.
    assert_eq!(knowledge.len(), 2, "{report}");
    for run in knowledge {
        assert_eq!(run["queries"], queries, "{run}");
        assert!(run["mrr_at_10"].as_f64().is_some_and(|m| m > 0.5), "{run}");
        assert!(run.get("misses").is_none(), "listed only when asked: {run}");
    }

    // `--misses` lists the questions whose first article does not answer them.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_frontdesk"))
        .args(["eval", "--misses", "--data"])
        .arg(empty.path())
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("OPENAI_BASE_URL")
        .output()
        .expect("run frontdesk eval --misses");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{text}");
    let listed = text
        .lines()
        .find(|line| line.starts_with("Retrieval misses: knowledge, last turn ("))
        .expect("the misses of the last-turn run");
    let missed: usize = listed["Retrieval misses: knowledge, last turn (".len()..]
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .expect("a count");
    assert!((1..queries).contains(&missed), "{listed}");
    assert!(text.contains("    first:    "), "{text}");
}
