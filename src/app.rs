//! The application: shared state, startup (store, index, knowledge, model, prompts), and
//! serving with graceful shutdown (the connection loop itself is `http::server`).

use std::{net::SocketAddr, sync::Arc, time::Duration};

use tokio::net::TcpListener;
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use crate::{
    actions::Actions,
    config::{Secret, Settings},
    conversation::{intent, locks::KeyedLocks},
    events::{Events, KEEP_ALIVE, relay},
    http,
    http::limits::Buckets,
    llm::{LlmClient, Prompts, TokenCounter},
    retrieval::{Retrieval, Synonyms},
    storage::Store,
    telemetry::Metrics,
};

/// How long in-flight turns may take to finish after a shutdown signal.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Startup failures, each naming what to fix.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("storage: {0}")]
    Store(#[from] crate::storage::StoreError),
    #[error("search index: {0}")]
    Retrieval(#[from] crate::retrieval::RetrievalError),
    #[error("knowledge: {0}")]
    Synonyms(#[from] crate::retrieval::SynonymsError),
    #[error("prompts: {0}")]
    Prompts(#[from] crate::llm::prompt::PromptError),
    #[error("llm: {0}")]
    Llm(#[from] crate::llm::LlmError),
    #[error("{0}")]
    Tokenizer(String),
    #[error("llm: {0}")]
    Budget(String),
    #[error("cannot bind {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("actions: {0}")]
    Actions(String),
    #[error("http client: {0}")]
    Http(String),
    #[error("demo store data: {0}")]
    Seed(#[from] crate::storage::SeedError),
    #[error("missing {0}: set it in the config or environment")]
    MissingKey(&'static str),
}

/// Everything a request handler needs; cloned per request (all handles).
pub struct AppState {
    pub settings: Settings,
    pub store: Store,
    pub retrieval: Retrieval,
    pub llm: Option<LlmClient>,
    pub actions: Actions,
    pub prompts: Prompts,
    pub tokens: TokenCounter,
    /// Tokens the actions' tool definitions take in every model call that offers them,
    /// reserved from the prompt budget (counted once, at start).
    pub tool_tokens: usize,
    pub events: Events,
    pub metrics: Arc<Metrics>,
    /// For outgoing calls other than the model's (webhooks).
    pub http: reqwest::Client,
    /// Connections, turns and other background work, awaited at shutdown.
    pub tasks: TaskTracker,
    /// Retries of a message wait here for its first turn, by (conversation, client message id).
    pub retry_locks: KeyedLocks,
    /// A conversation's turns wait here for the one before, by (conversation, "").
    pub turn_locks: KeyedLocks,
    /// New conversations by client address, and messages by conversation.
    pub conversation_limits: Buckets,
    pub message_limits: Buckets,
    /// The most streams open at once (`limits.max_streams`, under the open-file limit).
    pub max_streams: usize,
    /// Cancelled at shutdown, so endless streams end and the server can drain.
    pub shutdown: CancellationToken,
    pub admin_key: Secret,
    pub agent_key: Secret,
}

/// A built application, ready to serve.
pub struct App {
    pub state: Arc<AppState>,
    listener: TcpListener,
}

impl App {
    /// Opens the store and index, imports the demo knowledge on first start, loads prompts and
    /// the model client, and binds the listener. Keys must be set (see `Settings::fill_keys`).
    pub async fn build(settings: Settings) -> Result<Self, StartError> {
        // Compiled beside the rest of the start rather than in the first customer's turn.
        let patterns = tokio::task::spawn_blocking(intent::compile_patterns);
        let admin_key = settings
            .admin_key
            .clone()
            .ok_or(StartError::MissingKey("admin_key"))?;
        let agent_key = settings
            .agent_key
            .clone()
            .ok_or(StartError::MissingKey("agent_key"))?;
        let database_url = settings.database_url.as_ref().map(Secret::expose);
        let store = Store::open(database_url, &settings.data_dir).await?;
        let synonyms = Synonyms::load(&settings.knowledge_dir)?;
        let retrieval =
            Retrieval::open(&settings.data_dir.join("index"), store.clone(), synonyms).await?;
        retrieval
            .import_knowledge_once(&settings.knowledge_dir)
            .await?;
        let seeded = store
            .seed_demo_store(&settings.actions_dir.join("data"))
            .await?;
        if seeded > 0 {
            tracing::info!(rows = seeded, "demo store seeded");
        }
        // Redirects are not followed: an action's backend that answers a lookup with another
        // record's address would show that record's facts under the number asked about.
        let http = crate::http_client()
            .connect_timeout(Duration::from_secs(3))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| StartError::Http(e.to_string()))?;
        let metrics = Arc::new(Metrics::default());
        let actions = Actions::load(
            &settings.actions_dir,
            store.clone(),
            http.clone(),
            metrics.clone(),
        )
        .map_err(StartError::Actions)?;
        let prompts = Prompts::load(&settings.prompts_dir)?;
        let tokens = TokenCounter::from_settings(&settings.llm).map_err(StartError::Tokenizer)?;
        let tool_tokens = tokens.tools(actions.tools());
        if settings.llm.enabled() {
            let left = settings
                .llm
                .messages_budget(tool_tokens)
                .map_err(StartError::Budget)?;
            if left < tool_tokens {
                tracing::warn!(
                    tool_tokens,
                    left,
                    "the actions' tool definitions take over half the prompt budget; \
                     raise llm.context_tokens or remove actions"
                );
            }
        }
        let llm = LlmClient::from_settings(&settings.llm)?;
        let listener = TcpListener::bind(&settings.listen)
            .await
            .map_err(|source| StartError::Bind {
                addr: settings.listen.clone(),
                source,
            })?;
        // Background work that ends with the service: following article changes made through
        // other replicas, keeping conversation streams alive (and ending them at shutdown)
        // and, on PostgreSQL, relaying live events between replicas.
        let shutdown = CancellationToken::new();
        retrieval.follow(shutdown.clone());
        let events = match &settings.database_url {
            Some(url) => relay::start(store.clone(), url.expose().to_owned(), shutdown.clone()),
            None => Events::default(),
        };
        events.maintain(KEEP_ALIVE, shutdown.clone());
        let conversation_limits = Buckets::new(settings.limits.conversations_per_minute);
        let message_limits = Buckets::new(settings.limits.messages_per_minute);
        let max_streams = streams_under_file_limit(settings.limits.max_streams);
        let configured = settings.limits.max_streams;
        if max_streams != usize::MAX && (configured == 0 || max_streams < configured) {
            tracing::info!(
                max_streams,
                "open streams capped under the process's open-file limit (raise it with ulimit -n)"
            );
        }
        let state = Arc::new(AppState {
            settings,
            store,
            retrieval,
            llm,
            actions,
            prompts,
            tokens,
            tool_tokens,
            events,
            metrics,
            http,
            tasks: TaskTracker::new(),
            retry_locks: KeyedLocks::default(),
            turn_locks: KeyedLocks::default(),
            conversation_limits,
            message_limits,
            max_streams,
            shutdown,
            admin_key,
            agent_key,
        });
        // An error here is a panic while compiling, which the first turn would meet again.
        let _ = patterns.await;
        Ok(Self { state, listener })
    }

    /// The bound address (useful with port 0).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `signal` completes, then stops accepting, ends open streams and waits
    /// (up to one timeout for all) for open responses and in-flight turns.
    pub async fn serve(self, signal: impl std::future::Future<Output = ()> + Send + 'static) {
        let state = self.state;
        let shutdown = state.shutdown.clone();
        tokio::spawn(async move {
            signal.await;
            tracing::info!("shutting down: draining in-flight turns");
            shutdown.cancel();
        });
        let router = http::router(state.clone());
        // Connections run on the turns' tracker, so one wait drains both.
        http::server::serve(self.listener, router, state.shutdown.clone(), &state.tasks).await;
        state.tasks.close();
        if tokio::time::timeout(DRAIN_TIMEOUT, state.tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!("some responses or turns did not finish before the drain timeout");
        }
        // The last replies' log reaches the disk before the process ends, not 20 ms later.
        state.store.sync_deferred().await;
    }
}

/// `configured` streams (0: no limit), but at most the process's open-file limit less 256
/// for everything else (the index, the database, other requests): past it, accepting
/// connections fails for everyone, and an index writer that cannot open a file dies.
fn streams_under_file_limit(configured: usize) -> usize {
    let open_files = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|limits| {
            limits
                .lines()
                .find(|line| line.starts_with("Max open files"))
                .and_then(|line| line.split_whitespace().nth(3))
                .and_then(|soft| soft.parse::<usize>().ok())
        });
    // Half of a small limit (a default soft limit of 256 leaves 128).
    let under = open_files.map_or(usize::MAX, |n| if n > 512 { n - 256 } else { n / 2 });
    match configured {
        0 => under,
        n => n.min(under),
    }
}
