//! The embedded default in one call: [`Pipeline::open_local`] opens a knowledge-base directory
//! with SQLite + HNSW (`kb.sqlite`), the prompt registry in the same database, the event log,
//! cost ledger and drift log in `ops.sqlite` beside it, the hashing embedder and the
//! extractive answerer unless others are given, and the default guards: input length, secrets,
//! prompt injection and PII on questions; injected passages withheld from prompts; personal data
//! in answers that is not in the passages redacted.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;

use crate::cache::{AnswerCache, CacheConfig};
use crate::cost::{BudgetConfig, Budgets, PriceTable, SqliteCostLedger, TableMeter};

use crate::drift::SqliteDriftLog;
use crate::embed::{Embedder, HashingEmbedder, OpenAiEmbedder, OpenAiEmbedderConfig};
use crate::error::{Error, Result};
use crate::guard::{
    Guardrail, InjectionDetector, InputLengthGuard, PiiRedactor, SecretScanner, SqliteVault,
};
use crate::http::Endpoint;
use crate::llm::{ChatModel, ExtractiveAnswerer, OpenAiChat, OpenAiChatConfig};
use crate::observe::{AlertEngine, Observer, SqliteEventLog};
use crate::ops_file::{move_legacy_tables, open_shared, OPS_FILE};
use crate::pipeline::{Pipeline, PipelineBuilder, PipelineConfig};
use crate::prompt::SqlitePromptRegistry;
use crate::retrieve::{Reranker, DEFAULT_RERANK_DEPTH};
use crate::store::{AnnConfig, LocalStore, LocalStoreConfig};

/// Options of [`Pipeline::open_local`]; everything left `None` gets the offline default.
#[derive(Default, Clone)]
pub struct LocalOptions {
    /// Pipeline settings.
    pub config: PipelineConfig,
    /// The embedder (default: [`HashingEmbedder`] with 512 dimensions).
    pub embedder: Option<Arc<dyn Embedder>>,
    /// The chat model (default: [`ExtractiveAnswerer`]).
    pub chat: Option<Arc<dyn ChatModel>>,
    /// Prices (default: the shipped table).
    pub prices: Option<PriceTable>,
    /// HNSW tuning.
    pub ann: AnnConfig,
    /// Guards run on questions after the default ones (length, secrets, prompt injection, PII).
    pub input_guards: Vec<Arc<dyn Guardrail>>,
    /// Guards run on answers (the default checks redact leaked personal data and flag stale
    /// citations).
    pub output_guards: Vec<Arc<dyn Guardrail>>,
    /// Budgets and rate limits; every priced request is written to the cost ledger in
    /// `kb.sqlite` either way.
    pub budgets: BudgetConfig,
    /// Open a knowledge base built with another embedder so that [`Pipeline::reembed`] can
    /// re-embed it; until then asks and writes are refused.
    pub reembed: bool,
    /// The answer cache (default: none).
    pub cache: Option<CacheConfig>,
    /// Alert rules evaluated on every ask (none by default; every ask is always logged to the
    /// event log in `kb.sqlite` and counted in the metrics).
    pub alerts: Option<Arc<AlertEngine>>,
    /// Do not write the event log (e.g. for evaluation runs); metrics are still kept.
    pub no_event_log: bool,
    /// Reranks the fused candidates before the prompt is packed (default: none; see
    /// [`crate::retrieve::rerank`] and docs/retrieval.md).
    pub reranker: Option<Arc<dyn Reranker>>,
}

impl Pipeline {
    /// Opens (or creates) the knowledge base in `dir` on the embedded default.
    pub async fn open_local(dir: impl AsRef<Path>, options: LocalOptions) -> Result<Pipeline> {
        let dir = dir.as_ref().to_path_buf();
        let embedder: Arc<dyn Embedder> = match options.embedder {
            Some(e) => e,
            None => Arc::new(HashingEmbedder::default()),
        };
        let chat: Arc<dyn ChatModel> = match options.chat {
            Some(c) => c,
            None => Arc::new(ExtractiveAnswerer::new(options.config.segmenter)),
        };
        let store_config = LocalStoreConfig {
            fingerprint: embedder.fingerprint(),
            profile: options.config.store_profile(),
            ann: options.ann,
        };
        let store = if options.reembed {
            LocalStore::open_for_reembed_async(&dir, store_config).await?
        } else {
            LocalStore::open_async(&dir, store_config).await?
        };
        let db = dir.join("kb.sqlite");
        let ops = dir.join(OPS_FILE);
        let ops_db = ops.clone();
        // One connection for the event log, the ledger and the drift log (see ops_file.rs).
        let ops_conn = tokio::task::spawn_blocking(move || open_shared(&ops_db)).await??;
        let (ledger_conn, drift_conn, events_conn) = (ops_conn.clone(), ops_conn.clone(), ops_conn);
        let (drift_db, kb_for_drift, vault_db) = (ops.clone(), db.clone(), db.clone());
        let (kb_for_move, ops_for_move) = (db.clone(), ops.clone());
        let prompts = tokio::task::spawn_blocking(move || SqlitePromptRegistry::open(db)).await??;
        let ledger =
            tokio::task::spawn_blocking(move || SqliteCostLedger::with_connection(ledger_conn))
                .await??;
        let prices = options.prices.unwrap_or_default();
        let budgets = Budgets::from_config(Arc::new(ledger), prices.clone(), options.budgets)?;
        let drift = tokio::task::spawn_blocking(move || {
            SqliteDriftLog::with_connection(drift_conn, drift_db, kb_for_drift)
        })
        .await??;
        let vault = tokio::task::spawn_blocking(move || SqliteVault::open(vault_db)).await??;
        let pii = Arc::new(PiiRedactor::new()?);
        let mut observer = Observer::new()
            .with_min_groundedness(options.config.min_groundedness)
            .with_redactor(pii.clone());
        if !options.no_event_log {
            let events =
                tokio::task::spawn_blocking(move || SqliteEventLog::with_connection(events_conn))
                    .await??;
            observer = observer.with_event_log(Arc::new(events));
        }
        // Knowledge bases from before ops.sqlite: their event, cost and drift rows move over
        // once the tables above exist.
        tokio::task::spawn_blocking(move || move_legacy_tables(&kb_for_move, &ops_for_move))
            .await??;
        if let Some(engine) = options.alerts {
            observer = observer.with_alerts(engine);
        }
        let mut b = with_default_guards(Pipeline::builder(), pii)?
            .embedder(embedder)
            .store(Arc::new(store))
            .chat(chat)
            .prompts(Arc::new(prompts))
            .cost(Arc::new(TableMeter::new(prices)))
            .budgets(Arc::new(budgets))
            .drift_log(Arc::new(drift))
            .vault(Arc::new(vault))
            .observer(Arc::new(observer))
            .config(options.config);
        if let Some(c) = options.cache {
            c.validate()?;
            b = b.cache(Arc::new(AnswerCache::new(c)));
        }
        with_extra_parts(
            b,
            options.input_guards,
            options.output_guards,
            options.reranker,
        )
        .build()
    }
}

/// The default guards of every opened pipeline (local or PostgreSQL): input length, secrets,
/// prompt injection and PII on questions; injected passages withheld from prompts; personal
/// data in answers that is not in the passages redacted (`pii` is shared with the observer).
pub(crate) fn with_default_guards(
    b: PipelineBuilder,
    pii: Arc<PiiRedactor>,
) -> Result<PipelineBuilder> {
    let injection = Arc::new(InjectionDetector::new()?);
    Ok(b.input_guard(Arc::new(InputLengthGuard::default()))
        .input_guard(Arc::new(SecretScanner::new()?))
        .input_guard(injection.clone())
        .input_guard(pii.clone())
        .document_scanner(injection)
        .leak_checker(pii))
}

/// The caller's guards (after the default ones) and reranker.
pub(crate) fn with_extra_parts(
    mut b: PipelineBuilder,
    input_guards: Vec<Arc<dyn Guardrail>>,
    output_guards: Vec<Arc<dyn Guardrail>>,
    reranker: Option<Arc<dyn Reranker>>,
) -> PipelineBuilder {
    for g in input_guards {
        b = b.input_guard(g);
    }
    for g in output_guards {
        b = b.output_guard(g);
    }
    if let Some(r) = reranker {
        b = b.reranker(r, DEFAULT_RERANK_DEPTH);
    }
    b
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// A chat model from the environment: when `OPENAI_BASE_URL` or `OPENAI_API_KEY` is set, an
/// [`OpenAiChat`] for `RAGCORE_CHAT_MODEL` (or `OPENAI_MODEL`, default `gpt-4o-mini`); otherwise
/// `None` (the offline answerer). `RAGCORE_CHAT_TIMEOUT_SECS` sets the timeout (default 60).
pub fn chat_from_env() -> Result<Option<Arc<dyn ChatModel>>> {
    if env("OPENAI_BASE_URL").is_none() && env("OPENAI_API_KEY").is_none() {
        return Ok(None);
    }
    let mut endpoint = Endpoint::from_env();
    if let Some(t) = env("RAGCORE_CHAT_TIMEOUT_SECS") {
        let secs: u64 = t.parse().map_err(|_| {
            Error::Config(format!(
                "RAGCORE_CHAT_TIMEOUT_SECS={t:?} is not a number of seconds"
            ))
        })?;
        endpoint.timeout = Duration::from_secs(secs.max(1));
    }
    let model = env("RAGCORE_CHAT_MODEL")
        .or_else(|| env("OPENAI_MODEL"))
        .unwrap_or_else(|| "gpt-4o-mini".into());
    Ok(Some(Arc::new(OpenAiChat::new(OpenAiChatConfig::new(
        endpoint, model,
    ))?)))
}

/// An embedder from the environment: when `RAGCORE_EMBED_MODEL` is set, an [`OpenAiEmbedder`]
/// at `RAGCORE_EMBED_URL` (default `OPENAI_BASE_URL`) with `RAGCORE_EMBED_DIM` dimensions and the
/// key `RAGCORE_EMBED_API_KEY` (default `OPENAI_API_KEY`); otherwise `None` (the hashing embedder).
/// `RAGCORE_EMBED_BATCH`, `RAGCORE_EMBED_CONCURRENCY` and `RAGCORE_EMBED_TIMEOUT_SECS` tune the
/// batches (default 64 texts, 4 in flight, 60 s).
pub fn embedder_from_env() -> Result<Option<Arc<dyn Embedder>>> {
    let Some(model) = env("RAGCORE_EMBED_MODEL") else {
        return Ok(None);
    };
    let dim_s = env("RAGCORE_EMBED_DIM").ok_or_else(|| Error::Config("RAGCORE_EMBED_MODEL is set but RAGCORE_EMBED_DIM is not; set it to the model's vector length".into()))?;
    let dims: usize = dim_s
        .parse()
        .map_err(|_| Error::Config(format!("RAGCORE_EMBED_DIM={dim_s:?} is not a number")))?;
    let base = env("RAGCORE_EMBED_URL")
        .or_else(|| env("OPENAI_BASE_URL"))
        .unwrap_or_else(|| "https://api.openai.com/v1".into());
    let key = env("RAGCORE_EMBED_API_KEY")
        .or_else(|| env("OPENAI_API_KEY"))
        .map(SecretString::from);
    let mut cfg = OpenAiEmbedderConfig::new(Endpoint::new(base, key), model, dims);
    if let Some(p) = env("RAGCORE_EMBED_QUERY_PREFIX") {
        cfg.query_prefix = p;
    }
    if let Some(p) = env("RAGCORE_EMBED_PASSAGE_PREFIX") {
        cfg.passage_prefix = p;
    }
    cfg.send_input_type = env("RAGCORE_EMBED_INPUT_TYPE").is_some_and(|v| v == "1" || v == "true");
    let number = |name: &str| -> Result<Option<u64>> {
        env(name)
            .map(|v| {
                v.parse::<u64>()
                    .map_err(|_| Error::Config(format!("{name}={v:?} is not a positive number")))
            })
            .transpose()
    };
    if let Some(n) = number("RAGCORE_EMBED_BATCH")? {
        cfg.batch_size = n.max(1) as usize;
    }
    if let Some(n) = number("RAGCORE_EMBED_CONCURRENCY")? {
        cfg.concurrency = n.max(1) as usize;
    }
    if let Some(n) = number("RAGCORE_EMBED_TIMEOUT_SECS")? {
        cfg.endpoint.timeout = Duration::from_secs(n.max(1));
    }
    Ok(Some(Arc::new(OpenAiEmbedder::new(cfg)?)))
}
