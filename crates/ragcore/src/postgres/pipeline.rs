//! [`Pipeline::open_postgres`]: the same pipeline as [`Pipeline::open_local`] with the
//! knowledge base in PostgreSQL ([`PostgresStore`]), so many processes share it.
//!
//! The other components get their PostgreSQL implementations in `prompt/`, `cost/`, `cache/`,
//! `observe/`, `guard/` and `drift/`; until they are wired (each `// pgops:` line below is the
//! one to swap), this process keeps them to itself: the prompt registry is an in-memory SQLite
//! one holding the built-in prompt, the cost ledger and the placeholder vault are in-memory
//! SQLite (budgets are enforced per process), and no event or drift log is written.

use std::sync::Arc;

use crate::cache::{AnswerCache, CacheConfig};
use crate::cost::{BudgetConfig, Budgets, PriceTable, SqliteCostLedger, TableMeter};
use crate::embed::{Embedder, HashingEmbedder};
use crate::error::Result;
use crate::guard::{
    Guardrail, InjectionDetector, InputLengthGuard, PiiRedactor, SecretScanner, SqliteVault,
};
use crate::llm::{ChatModel, ExtractiveAnswerer};
use crate::observe::{AlertEngine, Observer};
use crate::pipeline::{Pipeline, PipelineConfig};
use crate::postgres::{PgConfig, PgPool};
use crate::prompt::SqlitePromptRegistry;
use crate::retrieve::{Reranker, DEFAULT_RERANK_DEPTH};
use crate::store::{AnnConfig, PostgresStore, PostgresStoreConfig};

/// Options of [`Pipeline::open_postgres`]; everything left `None` gets the offline default.
#[derive(Default, Clone)]
pub struct PostgresOptions {
    /// Pipeline settings.
    pub config: PipelineConfig,
    /// The embedder (default: [`HashingEmbedder`] with 512 dimensions).
    pub embedder: Option<Arc<dyn Embedder>>,
    /// The chat model (default: [`ExtractiveAnswerer`]).
    pub chat: Option<Arc<dyn ChatModel>>,
    /// Prices (default: the shipped table).
    pub prices: Option<PriceTable>,
    /// HNSW settings (m and ef_construction when the index is created, ef_search) and the
    /// exact-scan planner.
    pub ann: AnnConfig,
    /// Guards run on questions after the default ones.
    pub input_guards: Vec<Arc<dyn Guardrail>>,
    /// Guards run on answers.
    pub output_guards: Vec<Arc<dyn Guardrail>>,
    /// Budgets and rate limits.
    pub budgets: BudgetConfig,
    /// The answer cache (default: none).
    pub cache: Option<CacheConfig>,
    /// Alert rules evaluated on every ask.
    pub alerts: Option<Arc<AlertEngine>>,
    /// Reranks the fused candidates before the prompt is packed.
    pub reranker: Option<Arc<dyn Reranker>>,
    /// An already connected pool to use instead of connecting with the given configuration
    /// (share one pool between pipelines of one process).
    pub pool: Option<PgPool>,
}

impl From<&str> for PgConfig {
    fn from(url: &str) -> Self {
        PgConfig::new(url)
    }
}

impl From<String> for PgConfig {
    fn from(url: String) -> Self {
        PgConfig::new(url)
    }
}

impl Pipeline {
    /// Opens (or creates) the knowledge base in PostgreSQL: a `postgres://` URL or a
    /// [`PgConfig`] (pool size, statement timeout, schema, TLS through `sslmode`).
    pub async fn open_postgres(
        database: impl Into<PgConfig>,
        options: PostgresOptions,
    ) -> Result<Pipeline> {
        let pool = match options.pool {
            Some(p) => p,
            None => PgPool::connect(database.into()).await?,
        };
        let embedder: Arc<dyn Embedder> = match options.embedder {
            Some(e) => e,
            None => Arc::new(HashingEmbedder::default()),
        };
        let chat: Arc<dyn ChatModel> = match options.chat {
            Some(c) => c,
            None => Arc::new(ExtractiveAnswerer::new(options.config.segmenter)),
        };
        let store = PostgresStore::open(
            pool.clone(),
            PostgresStoreConfig {
                fingerprint: embedder.fingerprint(),
                profile: options.config.store_profile(),
                ann: options.ann,
            },
        )
        .await?;
        // pgops: prompts = PgPromptRegistry::open(pool.clone()).await?
        let prompts =
            tokio::task::spawn_blocking(|| SqlitePromptRegistry::open(":memory:")).await??;
        // pgops: ledger = PgCostLedger::open(pool.clone()).await?
        let ledger = tokio::task::spawn_blocking(|| SqliteCostLedger::open(":memory:")).await??;
        let prices = options.prices.unwrap_or_default();
        let budgets = Budgets::from_config(Arc::new(ledger), prices.clone(), options.budgets)?;
        // pgops: vault = PgVault::open(pool.clone()).await?
        let vault = tokio::task::spawn_blocking(|| SqliteVault::open(":memory:")).await??;
        let pii = Arc::new(PiiRedactor::new()?);
        let mut observer = Observer::new()
            .with_min_groundedness(options.config.min_groundedness)
            .with_redactor(pii.clone());
        // pgops: observer = observer.with_event_log(Arc::new(PgEventLog::open(pool.clone()).await?));
        if let Some(engine) = options.alerts {
            observer = observer.with_alerts(engine);
        }
        let injection = Arc::new(InjectionDetector::new()?);
        let mut b = Pipeline::builder()
            .embedder(embedder)
            .store(Arc::new(store))
            .chat(chat)
            .prompts(Arc::new(prompts))
            .cost(Arc::new(TableMeter::new(prices)))
            .budgets(Arc::new(budgets))
            .input_guard(Arc::new(InputLengthGuard::default()))
            .input_guard(Arc::new(SecretScanner::new()?))
            .input_guard(injection.clone())
            .input_guard(pii.clone())
            .document_scanner(injection)
            .leak_checker(pii)
            // pgops: .drift_log(Arc::new(PgDriftLog::open(pool.clone()).await?))
            .vault(Arc::new(vault))
            .observer(Arc::new(observer))
            .config(options.config);
        // pgops: the cache's shared store (cache/pg.rs) goes here when it lands.
        if let Some(c) = options.cache {
            b = b.cache(Arc::new(AnswerCache::new(c)));
        }
        for g in options.input_guards {
            b = b.input_guard(g);
        }
        for g in options.output_guards {
            b = b.output_guard(g);
        }
        if let Some(r) = options.reranker {
            b = b.reranker(r, DEFAULT_RERANK_DEPTH);
        }
        b.build()
    }
}
