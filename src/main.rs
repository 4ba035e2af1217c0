//! The `frontdesk` command: parse the command line, load settings, start telemetry, serve.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use frontdesk::{App, Settings};

/// jemalloc rather than the system allocator: with 10,000 open streams it holds about 1.5 KiB
/// less per stream (it places hyper's two 8 KiB connection buffers on their own pages, so the
/// untouched half of each is never resident), and a turn takes as much CPU or less. Its options
/// are built in from `.cargo/config.toml`.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Parser)]
#[command(version, about = "Frontdesk: an AI-first customer-support assistant")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the service (environment variables override the config file).
    Serve {
        /// A TOML config file.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Score retrieval, routing and handoff decisions on labelled data.
    Eval {
        /// Folder with `retrieval/*/` (BEIR layout) and `bitext/validation.jsonl`.
        #[arg(long, default_value = "../shared/eval")]
        data: PathBuf,
        /// Labelled questions about the knowledge folder's articles (JSONL `{"text",
        /// "history"?, "articles": [file names without extension], "sections"?: ["article ›
        /// heading"]}`), one file a flag [default: the knowledge folder's `questions.jsonl`
        /// and `sections.jsonl`, those there are]
        #[arg(long)]
        questions: Vec<PathBuf>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// Also list each question whose first document does not answer it, and each
        /// message routed otherwise than labelled.
        #[arg(long)]
        misses: bool,
        /// A TOML config file; with a model configured (here or in the environment), routing
        /// is scored on the model's tool calls.
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tantivy=warn,sqlx=warn".into()),
        )
        .init();
    match cli.command {
        Command::Serve { config } => serve(config).await,
        Command::Eval {
            data,
            questions,
            json,
            misses,
            config,
        } => {
            let settings = Settings::load(config.as_deref()).context("loading settings")?;
            let questions = if questions.is_empty() {
                [
                    frontdesk::eval::QUESTIONS_FILE,
                    frontdesk::eval::SECTIONS_FILE,
                ]
                .into_iter()
                .map(|file| settings.knowledge_dir.join(file))
                .filter(|path| path.is_file())
                .collect()
            } else {
                questions
            };
            let knowledge =
                (!questions.is_empty()).then(|| (settings.knowledge_dir.clone(), questions));
            let model = frontdesk::eval::model_routing::ModelRouter::from_settings(&settings)
                .map_err(anyhow::Error::msg)
                .context("setting up the model")?;
            let passages = settings.chat.passages;
            let report = frontdesk::eval::run(&data, passages, knowledge, model.as_ref())
                .await
                .context("running the evaluation")?;
            let report = if misses {
                report
            } else {
                report.without_misses()
            };
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", frontdesk::eval::render(&report));
            }
            Ok(())
        }
    }
}

async fn serve(config: Option<PathBuf>) -> anyhow::Result<()> {
    let mut settings = Settings::load(config.as_deref()).context("loading settings")?;
    for (name, key) in settings.fill_keys() {
        // Printed once, on purpose: the operator needs the generated key to sign in.
        println!(
            "{name} was not set; generated for this run: {}",
            key.expose()
        );
    }
    let llm = if settings.llm.enabled() {
        format!("model {}", settings.llm.model)
    } else {
        "no LLM configured: extractive mode".into()
    };
    let app = App::build(settings).await.context("starting frontdesk")?;
    let addr = app.local_addr()?;
    tracing::info!(%addr, %llm, "frontdesk listening on http://{addr}");
    app.serve(shutdown_signal()).await;
    tracing::info!("frontdesk stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for ctrl-c");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
