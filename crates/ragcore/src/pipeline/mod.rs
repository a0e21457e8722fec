//! [`Pipeline`]: the request path (`ask`) and the ingestion path (`ingest`) composed from
//! `Arc<dyn …>` parts by a [`PipelineBuilder`].

mod ask;
mod budget;
mod cache;
mod guarding;
mod ingest;
mod ops;
mod output;
mod passage_scan;
mod rerank;
mod stream;

pub use guarding::{PseudonymizeRequest, PseudonymizeResult, RestoreRequest};
pub use ingest::{IngestError, IngestReport, IngestRequest, SyncRequest};
pub use stream::{AnswerStream, StreamEvent};
mod versions;

pub use ops::KnowledgeOp;
pub use versions::ReembedReport;

use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use tracing::Instrument;

use crate::cache::AnswerCache;
use crate::cost::{Budgets, CostMeter, PriceRequest};
use crate::drift::DriftLog;
use crate::embed::Embedder;
use crate::error::{Error, Result};
use crate::guard::{GuardPolicy, Guardrail, InjectionDetector, PiiRedactor, PlaceholderVault};
use crate::ingest::{Chunker, ChunkerConfig};
use crate::llm::{ChatModel, ExtractiveAnswerer};
use crate::observe::Observer;
use crate::prompt::{PromptRegistry, DEFAULT_NO_ANSWER_TEXT, DEFAULT_PROMPT_NAME};
use crate::retrieve::{Fusion, Reranker, Retrieval, RetrievalConfig, Retriever};
use crate::store::VectorStore;
use crate::text::Segmenter;
use crate::types::{Cost, Hit, Scope, Usage};

/// Settings of a pipeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PipelineConfig {
    /// Retrieval settings.
    pub retrieval: RetrievalConfig,
    /// Chunking settings.
    pub chunker: ChunkerConfig,
    /// Chinese segmentation for BM25.
    pub segmenter: Segmenter,
    /// Prompt name in the registry.
    pub prompt_name: String,
    /// Prompt label to use.
    pub prompt_label: String,
    /// Token budget for the passages in the prompt.
    pub context_tokens: usize,
    /// The refusal text used when the knowledge base has no answer.
    pub no_answer_text: String,
    /// Answer from the passages (flagged `degraded`) when the chat model fails, instead of
    /// returning the error.
    pub degrade_on_model_error: bool,
    /// Texts per embedding call at ingest (raised to the embedder's `texts_per_call_hint`).
    pub embed_batch: usize,
    /// Answers whose groundedness score (0..1) is below this get an annotated `groundedness`
    /// verdict.
    pub min_groundedness: f32,
    /// What each guard does when it fires, per tenant (default: the guards' own behaviour).
    #[serde(default)]
    pub guards: GuardPolicy,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            retrieval: RetrievalConfig::default(),
            chunker: ChunkerConfig::default(),
            segmenter: Segmenter::default(),
            prompt_name: DEFAULT_PROMPT_NAME.into(),
            prompt_label: "production".into(),
            context_tokens: 1500,
            no_answer_text: DEFAULT_NO_ANSWER_TEXT.into(),
            degrade_on_model_error: true,
            embed_batch: 64,
            min_groundedness: 0.5,
            guards: GuardPolicy::default(),
        }
    }
}

impl PipelineConfig {
    /// The settings that must match the stored knowledge base (chunker and segmenter).
    pub fn store_profile(&self) -> String {
        format!(
            "chunker={}:{}:{};segmenter={}",
            self.chunker.tokenizer.as_str(),
            self.chunker.max_tokens,
            self.chunker.overlap_tokens,
            self.segmenter.as_str()
        )
    }
}

/// Ask a question within a scope.
#[derive(Debug, Clone)]
pub struct AskRequest {
    /// The question.
    pub question: String,
    /// Who asks.
    pub scope: Scope,
    /// The product feature asking (for per-feature budgets and cost reports), `default` when
    /// none.
    pub feature: Option<String>,
}

impl AskRequest {
    /// A question for a scope.
    pub fn new(question: impl Into<String>, scope: Scope) -> Self {
        AskRequest {
            question: question.into(),
            scope,
            feature: None,
        }
    }

    /// Names the feature asking.
    pub fn with_feature(mut self, feature: impl Into<String>) -> Self {
        self.feature = Some(feature.into());
        self
    }
}

/// The parts of a pipeline; a missing required part is an error at `build()`.
#[derive(Default)]
pub struct PipelineBuilder {
    embedder: Option<Arc<dyn Embedder>>,
    store: Option<Arc<dyn VectorStore>>,
    chat: Option<Arc<dyn ChatModel>>,
    prompts: Option<Arc<dyn PromptRegistry>>,
    cost: Option<Arc<dyn CostMeter>>,
    input_guards: Vec<Arc<dyn Guardrail>>,
    output_guards: Vec<Arc<dyn Guardrail>>,
    document_scanner: Option<Arc<InjectionDetector>>,
    leak_checker: Option<Arc<PiiRedactor>>,
    budgets: Option<Arc<Budgets>>,
    vault: Option<Arc<dyn PlaceholderVault>>,
    cache: Option<Arc<AnswerCache>>,
    observer: Option<Arc<Observer>>,
    reranker: Option<(Arc<dyn Reranker>, usize)>,
    config: PipelineConfig,
    drift: Option<Arc<dyn DriftLog>>,
}

impl PipelineBuilder {
    /// The answer cache.
    pub fn cache(mut self, c: Arc<AnswerCache>) -> Self {
        self.cache = Some(c);
        self
    }
    /// Budgets, rate limits and the cost ledger every priced request is written to.
    pub fn budgets(mut self, b: Arc<Budgets>) -> Self {
        self.budgets = Some(b);
        self
    }
    /// Records every ask for the drift statistics and FAQ gaps (optional).
    pub fn drift_log(mut self, d: Arc<dyn DriftLog>) -> Self {
        self.drift = Some(d);
        self
    }
    /// The placeholder vault: with `guards.pii_mode = "placeholder"` personal data in questions
    /// is replaced by `<EMAIL_1>`-style placeholders whose values are restored in the answer.
    pub fn vault(mut self, v: Arc<dyn PlaceholderVault>) -> Self {
        self.vault = Some(v);
        self
    }
    /// Records every `ask` (metrics, event log, alerts); see [`crate::observe`].
    pub fn observer(mut self, o: Arc<Observer>) -> Self {
        self.observer = Some(o);
        self
    }
    /// Scans retrieved passages for injected instructions; flagged passages never reach the
    /// prompt (indirect prompt injection).
    pub fn document_scanner(mut self, d: Arc<InjectionDetector>) -> Self {
        self.document_scanner = Some(d);
        self
    }
    /// Redacts personal data in answers that does not appear in the cited passages (a leak from
    /// the model, not the company's own published contact details).
    pub fn leak_checker(mut self, p: Arc<PiiRedactor>) -> Self {
        self.leak_checker = Some(p);
        self
    }
    /// Reranks the best `depth` fused candidates before the top ones are packed into the prompt
    /// (optional; see [`crate::retrieve::rerank`]).
    pub fn reranker(mut self, r: Arc<dyn Reranker>, depth: usize) -> Self {
        self.reranker = Some((r, depth));
        self
    }
    /// The embedder (required).
    pub fn embedder(mut self, e: Arc<dyn Embedder>) -> Self {
        self.embedder = Some(e);
        self
    }
    /// The store (required).
    pub fn store(mut self, s: Arc<dyn VectorStore>) -> Self {
        self.store = Some(s);
        self
    }
    /// The chat model (required; use [`ExtractiveAnswerer`] offline).
    pub fn chat(mut self, c: Arc<dyn ChatModel>) -> Self {
        self.chat = Some(c);
        self
    }
    /// The prompt registry (required).
    pub fn prompts(mut self, p: Arc<dyn PromptRegistry>) -> Self {
        self.prompts = Some(p);
        self
    }
    /// The cost meter (required).
    pub fn cost(mut self, c: Arc<dyn CostMeter>) -> Self {
        self.cost = Some(c);
        self
    }
    /// Adds a guard on questions (run in the order added).
    pub fn input_guard(mut self, g: Arc<dyn Guardrail>) -> Self {
        self.input_guards.push(g);
        self
    }
    /// Adds a guard on answers (run in the order added).
    pub fn output_guard(mut self, g: Arc<dyn Guardrail>) -> Self {
        self.output_guards.push(g);
        self
    }
    /// The settings.
    pub fn config(mut self, c: PipelineConfig) -> Self {
        self.config = c;
        self
    }

    /// Builds the pipeline, naming the first missing part.
    pub fn build(self) -> Result<Pipeline> {
        let missing = |what: &str, call: &str| {
            Error::Config(format!(
                "the pipeline has no {what}; call PipelineBuilder::{call}"
            ))
        };
        let embedder = self
            .embedder
            .ok_or_else(|| missing("embedder", "embedder"))?;
        let store = self.store.ok_or_else(|| missing("store", "store"))?;
        let chat = self.chat.ok_or_else(|| missing("chat model", "chat"))?;
        let prompts = self
            .prompts
            .ok_or_else(|| missing("prompt registry", "prompts"))?;
        let cost = self.cost.ok_or_else(|| missing("cost meter", "cost"))?;
        let chunker = Chunker::new(self.config.chunker)?;
        let mut retriever = Retriever::new(
            store.clone(),
            embedder.clone(),
            self.config.segmenter,
            self.config.retrieval,
        )?;
        if let Some((r, depth)) = self.reranker {
            retriever = retriever.with_reranker(r, depth);
        }
        if self.config.embed_batch == 0 {
            return Err(Error::invalid("embed_batch", "must be positive"));
        }
        self.config.guards.validate()?;
        let guard_kit = guarding::GuardKit::new(self.vault)?;
        Ok(Pipeline {
            inner: Arc::new(Inner {
                embedder,
                store,
                chat,
                prompts,
                cost,
                input_guards: self.input_guards,
                output_guards: self.output_guards,
                document_scanner: self.document_scanner,
                leak_checker: self.leak_checker,
                budgets: self.budgets,
                guard_kit,
                cache: self.cache,
                observer: self.observer,
                fallback: ExtractiveAnswerer::new(self.config.segmenter),
                chunker,
                retriever,
                config: self.config,
                kb_gate: versions::KbGate::default(),
                drift: self.drift,
                passage_scans: passage_scan::PassageScans::default(),
            }),
        })
    }
}

struct Inner {
    embedder: Arc<dyn Embedder>,
    store: Arc<dyn VectorStore>,
    chat: Arc<dyn ChatModel>,
    prompts: Arc<dyn PromptRegistry>,
    cost: Arc<dyn CostMeter>,
    input_guards: Vec<Arc<dyn Guardrail>>,
    output_guards: Vec<Arc<dyn Guardrail>>,
    document_scanner: Option<Arc<InjectionDetector>>,
    leak_checker: Option<Arc<PiiRedactor>>,
    budgets: Option<Arc<Budgets>>,
    guard_kit: guarding::GuardKit,
    cache: Option<Arc<AnswerCache>>,
    observer: Option<Arc<Observer>>,
    fallback: ExtractiveAnswerer,
    chunker: Chunker,
    retriever: Retriever,
    config: PipelineConfig,
    /// Readers (retrieval) vs writers (commits): see `versions.rs`.
    kb_gate: versions::KbGate,
    drift: Option<Arc<dyn DriftLog>>,
    /// Injection scores of passages already scanned.
    passage_scans: passage_scan::PassageScans,
}

/// The RAG pipeline. Cheap to clone; all methods take `&self` and may run concurrently.
#[derive(Clone)]
pub struct Pipeline {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("embedder", &self.inner.embedder.fingerprint())
            .field("chat", &self.inner.chat.name())
            .finish()
    }
}

pub(crate) fn ms(t: Instant) -> f64 {
    (t.elapsed().as_secs_f64() * 1e3 * 1000.0).round() / 1000.0
}

impl Pipeline {
    /// Starts a builder.
    pub fn builder() -> PipelineBuilder {
        PipelineBuilder::default()
    }

    /// The settings.
    pub fn config(&self) -> &PipelineConfig {
        &self.inner.config
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn VectorStore> {
        &self.inner.store
    }

    /// The embedder.
    pub fn embedder(&self) -> &Arc<dyn Embedder> {
        &self.inner.embedder
    }

    /// The answer cache, when configured.
    pub fn answer_cache(&self) -> Option<&Arc<AnswerCache>> {
        self.inner.cache.as_ref()
    }

    /// The budgets and cost ledger, when configured.
    pub fn budgets(&self) -> Option<&Arc<Budgets>> {
        self.inner.budgets.as_ref()
    }

    /// The prompt registry.
    pub fn prompts(&self) -> &Arc<dyn PromptRegistry> {
        &self.inner.prompts
    }

    /// The cost meter.
    pub fn cost_meter(&self) -> &Arc<dyn CostMeter> {
        &self.inner.cost
    }

    /// The chat model's name.
    pub fn model_name(&self) -> String {
        self.inner.chat.name()
    }

    /// The observer recording every `ask`, when one is set.
    pub fn observer(&self) -> Option<&Arc<Observer>> {
        self.inner.observer.as_ref()
    }

    /// The metrics of this pipeline in the Prometheus text format (empty without an observer).
    pub fn metrics_text(&self) -> Result<String> {
        match &self.inner.observer {
            Some(o) => o.metrics_text(),
            None => Ok(String::new()),
        }
    }

    async fn check_scope(&self, scope: &Scope) -> Result<()> {
        scope.validate()?;
        if !self.inner.store.has_tenant(&scope.tenant).await? {
            return Err(Error::NotFound {
                what: "tenant",
                name: format!("{} (no documents were ingested for it)", scope.tenant),
            });
        }
        Ok(())
    }

    fn check_question(question: &str) -> Result<()> {
        if question.trim().is_empty() {
            return Err(Error::invalid("question", "must not be empty"));
        }
        Ok(())
    }

    /// Retrieves the passages a question would be answered from, without generating.
    pub async fn retrieve(&self, question: &str, scope: &Scope) -> Result<Vec<Hit>> {
        Ok(self.retrieve_full(question, scope, None).await?.hits)
    }

    /// Retrieval with the no-answer decision; `fusion` overrides the configured fusion.
    pub async fn retrieve_full(
        &self,
        question: &str,
        scope: &Scope,
        fusion: Option<Fusion>,
    ) -> Result<Retrieval> {
        Self::check_question(question)?;
        self.check_scope(scope).await?;
        let f = fusion.unwrap_or(self.inner.config.retrieval.fusion);
        self.inner
            .retriever
            .retrieve_with(question, scope, f)
            .instrument(tracing::info_span!("ragcore.retrieve"))
            .await
    }

    fn price(&self, usage: &Usage, model: &str) -> Result<Cost> {
        self.inner.cost.price(&PriceRequest {
            chat_model: model.to_string(),
            embedding_model: self.inner.embedder.fingerprint().model,
            usage: *usage,
        })
    }
}
