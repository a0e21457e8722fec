//! [`Pipeline::open_postgres`]: the same pipeline as [`Pipeline::open_local`] with the
//! knowledge base in PostgreSQL ([`PostgresStore`]), so many processes share it.
//!
//! Every other component is shared through the same database too ([`PgOps`]): the prompt
//! registry, the cost ledger (budgets hold across processes), the answer-cache store, the event
//! log, the placeholder vault and the drift log (with the corpus centroid from the store's
//! vectors).

use std::sync::Arc;

use async_trait::async_trait;

use crate::cache::{AnswerCache, CacheConfig};
use crate::cost::{BudgetConfig, Budgets, PriceTable, TableMeter};
use crate::drift::CorpusCentroid;
use crate::embed::{Embedder, HashingEmbedder};
use crate::error::Result;
use crate::guard::{Guardrail, PiiRedactor};
use crate::llm::{ChatModel, ExtractiveAnswerer};
use crate::observe::{AlertEngine, Observer};
use crate::pipeline::{Pipeline, PipelineConfig};
use crate::postgres::{map_err, PgConfig, PgOps, PgPool};
use crate::retrieve::Reranker;
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
    /// Do not write the event log (metrics are still kept).
    pub no_event_log: bool,
}

/// The mean of a tenant's live chunk vectors, for the drift log's centroid distance.
struct StoreCentroid {
    pool: PgPool,
}

#[async_trait]
impl CorpusCentroid for StoreCentroid {
    async fn centroid(&self, tenant: &str) -> Result<Option<Vec<f32>>> {
        let c = self.pool.get().await?;
        let row = c
            .query_one(
                "SELECT AVG(embedding) FROM kb_chunks WHERE tenant = $1 AND version_removed IS NULL",
                &[&tenant],
            )
            .await
            .map_err(map_err)?;
        let v: Option<pgvector::Vector> = crate::postgres::col(&row, 0)?;
        Ok(v.map(|v| v.to_vec()))
    }
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
        let ops = PgOps::open(pool.clone()).await?;
        let prices = options.prices.unwrap_or_default();
        let budgets = Budgets::from_config(ops.ledger.clone(), prices.clone(), options.budgets)?;
        let pii = Arc::new(PiiRedactor::new()?);
        let mut observer = Observer::new()
            .with_min_groundedness(options.config.min_groundedness)
            .with_redactor(pii.clone());
        if !options.no_event_log {
            observer = observer.with_event_log(ops.events.clone());
        }
        if let Some(engine) = options.alerts {
            observer = observer.with_alerts(engine);
        }
        let drift = (*ops.drift)
            .clone()
            .with_centroids(Arc::new(StoreCentroid { pool: pool.clone() }));
        let mut b = crate::local::with_default_guards(Pipeline::builder(), pii)?
            .embedder(embedder)
            .store(Arc::new(store))
            .chat(chat)
            .prompts(ops.prompts.clone())
            .cost(Arc::new(TableMeter::new(prices)))
            .budgets(Arc::new(budgets))
            .drift_log(Arc::new(drift))
            .vault(ops.vault.clone())
            .observer(Arc::new(observer))
            .config(options.config);
        if let Some(c) = options.cache {
            c.validate()?;
            b = b.cache(Arc::new(AnswerCache::with_store(
                c,
                ops.cache_store.clone(),
            )));
        }
        crate::local::with_extra_parts(
            b,
            options.input_guards,
            options.output_guards,
            options.reranker,
        )
        .build()
    }
}
