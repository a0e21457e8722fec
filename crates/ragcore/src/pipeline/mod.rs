//! [`Pipeline`]: the request path (`ask`) and the ingestion path (`ingest`) composed from
//! `Arc<dyn …>` parts by a [`PipelineBuilder`].

mod ingest;

pub use ingest::{IngestError, IngestReport, IngestRequest, SyncRequest};

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use tracing::Instrument;

use crate::cost::{CostMeter, PriceRequest, RecordRequest};
use crate::embed::Embedder;
use crate::error::{Error, Result};
use crate::guard::{GuardRequest, GuardStage, Guardrail, InjectionDetector, PiiRedactor};
use crate::ingest::{Chunker, ChunkerConfig};
use crate::llm::{ChatMessage, ChatModel, ChatRequest, ExtractiveAnswerer, Role};
use crate::prompt::{
    pack_passages, render, GetPromptRequest, PromptRegistry, DEFAULT_NO_ANSWER_TEXT,
    DEFAULT_PROMPT_NAME,
};
use crate::retrieve::{Fusion, Retrieval, RetrievalConfig, Retriever};
use crate::store::VectorStore;
use crate::text::{Segmenter, Tokenizer};
use crate::types::{Answer, Citation, Cost, Hit, Scope, Usage, Verdict, VerdictAction};

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
    /// Texts per embedding call at ingest.
    pub embed_batch: usize,
    /// Answers whose groundedness score (0..1) is below this get an annotated `groundedness`
    /// verdict.
    pub min_groundedness: f32,
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
}

impl AskRequest {
    /// A question for a scope.
    pub fn new(question: impl Into<String>, scope: Scope) -> Self {
        AskRequest {
            question: question.into(),
            scope,
        }
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
    config: PipelineConfig,
}

impl PipelineBuilder {
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
        let retriever = Retriever::new(
            store.clone(),
            embedder.clone(),
            self.config.segmenter,
            self.config.retrieval,
        )?;
        if self.config.embed_batch == 0 {
            return Err(Error::invalid("embed_batch", "must be positive"));
        }
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
                fallback: ExtractiveAnswerer::new(self.config.segmenter),
                chunker,
                retriever,
                config: self.config,
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
    fallback: ExtractiveAnswerer,
    chunker: Chunker,
    retriever: Retriever,
    config: PipelineConfig,
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

fn ms(t: Instant) -> f64 {
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

    /// The chat model's name.
    pub fn model_name(&self) -> String {
        self.inner.chat.name()
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

    async fn run_guards(
        &self,
        guards: &[Arc<dyn Guardrail>],
        stage: GuardStage,
        text: String,
        scope: &Scope,
        verdicts: &mut Vec<Verdict>,
    ) -> Result<String> {
        let mut text = text;
        for g in guards {
            let out = g
                .check(GuardRequest {
                    text: text.clone(),
                    stage,
                    scope: scope.clone(),
                })
                .await?;
            let blocked = out.verdict.action == VerdictAction::Block;
            let detail = out.verdict.detail.clone();
            verdicts.push(out.verdict);
            if blocked {
                return Err(Error::Blocked {
                    guard: g.name(),
                    reason: detail,
                });
            }
            if let Some(t) = out.rewritten {
                text = t;
            }
        }
        Ok(text)
    }

    /// Answers a question from the knowledge base the scope may see, with citations; refuses
    /// honestly (no model call) when nothing relevant is found.
    pub async fn ask(&self, request: AskRequest) -> Result<Answer> {
        let span = tracing::info_span!("ragcore.ask", tenant = %request.scope.tenant);
        self.ask_inner(request).instrument(span).await
    }

    async fn ask_inner(&self, request: AskRequest) -> Result<Answer> {
        let AskRequest { question, scope } = request;
        Self::check_question(&question)?;
        self.check_scope(&scope).await?;
        let mut timings = BTreeMap::new();
        let mut verdicts = Vec::new();

        let t = Instant::now();
        let question = self
            .run_guards(
                &self.inner.input_guards,
                GuardStage::Input,
                question,
                &scope,
                &mut verdicts,
            )
            .instrument(tracing::info_span!("ragcore.guard_input"))
            .await?;
        timings.insert("guard_input".to_string(), ms(t));

        let kb_version = self.inner.store.kb_version().await?;
        let mut retrieval = self
            .inner
            .retriever
            .retrieve(&crate::guard::strip_placeholders(&question), &scope)
            .instrument(tracing::info_span!("ragcore.retrieve"))
            .await?;
        if let Some(scanner) = &self.inner.document_scanner {
            // Indirect prompt injection: passages carrying instructions never reach the prompt.
            let mut flagged = Vec::new();
            retrieval.hits.retain(|h| {
                let r = scanner.analyze_document(&h.text);
                let keep = r.score < scanner.threshold();
                if !keep {
                    flagged.push(format!("{} ({:.2})", h.document_id, r.score));
                }
                keep
            });
            if !flagged.is_empty() {
                verdicts.push(Verdict {
                    name: "injection_in_document".into(),
                    stage: "retrieve".into(),
                    action: VerdictAction::Block,
                    detail: format!("passages withheld from the prompt: {}", flagged.join(", ")),
                });
                if retrieval.hits.is_empty() {
                    retrieval.no_answer.refuse = true;
                }
            }
        }
        timings.insert("embed".to_string(), retrieval.embed_ms);
        timings.insert("retrieve".to_string(), retrieval.search_ms);
        let mut usage = Usage {
            embedding_tokens: retrieval.embedding_tokens,
            estimated: retrieval.embedding_estimated,
            ..Default::default()
        };
        let d = &retrieval.no_answer;
        verdicts.push(Verdict {
            name: "no_answer".into(),
            stage: "retrieve".into(),
            action: if d.refuse {
                VerdictAction::Block
            } else {
                VerdictAction::Pass
            },
            detail: format!(
                "coverage {:.2}, top similarity {}, {} hits{}",
                d.coverage,
                d.top_similarity
                    .map(|s| format!("{s:.3}"))
                    .unwrap_or_else(|| "-".into()),
                retrieval.hits.len(),
                if d.unknown_terms.is_empty() {
                    String::new()
                } else {
                    format!(
                        ", terms not in the knowledge base: {}",
                        d.unknown_terms.join(" ")
                    )
                }
            ),
        });

        let t = Instant::now();
        let prompt = self
            .inner
            .prompts
            .get(GetPromptRequest {
                name: self.inner.config.prompt_name.clone(),
                label: self.inner.config.prompt_label.clone(),
            })
            .await?;
        let prompt_version = prompt.id();

        if retrieval.no_answer.refuse {
            timings.insert("prompt".to_string(), ms(t));
            let cost = self.price(&usage, "none")?;
            self.inner
                .cost
                .record(RecordRequest {
                    scope: scope.clone(),
                    model: "none".into(),
                    usage,
                    cost,
                })
                .await?;
            return Ok(Answer {
                text: self.inner.config.no_answer_text.clone(),
                citations: Vec::new(),
                no_answer: true,
                kb_version,
                prompt_version,
                model: "none".into(),
                usage,
                cost,
                timings,
                verdicts,
                degraded: false,
            });
        }

        let tokenizer = Tokenizer::for_model(&self.inner.chat.name());
        let passages = pack_passages(&retrieval.hits, tokenizer, self.inner.config.context_tokens)?;
        let rendered = render(
            &prompt.system,
            &prompt.user,
            &question,
            &passages,
            &self.inner.config.no_answer_text,
        )?;
        timings.insert("prompt".to_string(), ms(t));

        let chat_req = ChatRequest {
            messages: vec![
                ChatMessage {
                    role: Role::System,
                    content: rendered.system,
                },
                ChatMessage {
                    role: Role::User,
                    content: rendered.user,
                },
            ],
            question: question.clone(),
            passages: passages.clone(),
            no_answer_text: self.inner.config.no_answer_text.clone(),
            max_tokens: None,
            temperature: None,
        };
        let t = Instant::now();
        let mut degraded = false;
        let resp = match self
            .inner
            .chat
            .chat(chat_req.clone())
            .instrument(tracing::info_span!("ragcore.generate"))
            .await
        {
            Ok(r) => r,
            Err(e)
                if self.inner.config.degrade_on_model_error
                    && e.kind() != crate::error::ErrorKind::Blocked =>
            {
                tracing::warn!(target: "ragcore::ask", error = %e, "chat model failed; answering extractively (degraded)");
                verdicts.push(Verdict {
                    name: "generate".into(),
                    stage: "generate".into(),
                    action: VerdictAction::Annotate,
                    detail: format!(
                        "model {} failed ({}); extractive fallback",
                        self.inner.chat.name(),
                        e.kind().code()
                    ),
                });
                degraded = true;
                self.inner.fallback.chat(chat_req).await?
            }
            Err(e) => return Err(e),
        };
        timings.insert("generate".to_string(), ms(t));
        usage.add(&resp.usage);

        let t = Instant::now();
        let text = self
            .run_guards(
                &self.inner.output_guards,
                GuardStage::Output,
                resp.text.clone(),
                &scope,
                &mut verdicts,
            )
            .instrument(tracing::info_span!("ragcore.guard_output"))
            .await?;
        let text = match &self.inner.leak_checker {
            Some(pii) => redact_leaks(pii, text, &passages, &mut verdicts),
            None => text,
        };
        timings.insert("guard_output".to_string(), ms(t));

        let citations = if resp.refused {
            Vec::new()
        } else {
            citations_in(&text, &passages, &retrieval.hits)
        };
        if !resp.refused && citations.is_empty() {
            verdicts.push(Verdict {
                name: "citations".into(),
                stage: "output".into(),
                action: VerdictAction::Annotate,
                detail: "the answer cites no passage".into(),
            });
        }
        if !resp.refused {
            let g = crate::guard::GroundednessChecker::new(self.inner.config.segmenter);
            let texts: Vec<&str> = passages.iter().map(|p| p.text.as_str()).collect();
            let gr = g.check(&text, &texts);
            let low = gr.score < self.inner.config.min_groundedness;
            verdicts.push(Verdict {
                name: "groundedness".into(),
                stage: "output".into(),
                action: if low {
                    VerdictAction::Annotate
                } else {
                    VerdictAction::Pass
                },
                detail: format!(
                    "score {:.2}{}{}",
                    gr.score,
                    if low {
                        " (below the threshold: parts of the answer are not in the passages)"
                    } else {
                        ""
                    },
                    if gr.unsupported_citations.is_empty() {
                        String::new()
                    } else {
                        format!(
                            "; citations not supported by their passage: {:?}",
                            gr.unsupported_citations
                        )
                    }
                ),
            });
        }
        let today = crate::types::today();
        let stale: Vec<String> = citations
            .iter()
            .filter_map(|c| retrieval.hits.iter().find(|h| h.chunk_id == c.chunk_id))
            .filter(|h| h.valid_until.as_deref().is_some_and(|v| v < today.as_str()))
            .map(|h| {
                format!(
                    "{} (valid until {})",
                    h.document_id,
                    h.valid_until.as_deref().unwrap_or("")
                )
            })
            .collect();
        if !stale.is_empty() {
            verdicts.push(Verdict {
                name: "stale".into(),
                stage: "output".into(),
                action: VerdictAction::Annotate,
                detail: format!("cites expired documents: {}", stale.join(", ")),
            });
        }
        let cost = self.price(&usage, &resp.model)?;
        self.inner
            .cost
            .record(RecordRequest {
                scope: scope.clone(),
                model: resp.model.clone(),
                usage,
                cost,
            })
            .await?;
        Ok(Answer {
            text: if resp.refused {
                self.inner.config.no_answer_text.clone()
            } else {
                text
            },
            citations,
            no_answer: resp.refused,
            kb_version,
            prompt_version,
            model: resp.model,
            usage,
            cost,
            timings,
            verdicts,
            degraded,
        })
    }

    fn price(&self, usage: &Usage, model: &str) -> Result<Cost> {
        self.inner.cost.price(&PriceRequest {
            chat_model: model.to_string(),
            embedding_model: self.inner.embedder.fingerprint().model,
            usage: *usage,
        })
    }
}

/// Redacts personal data in an answer unless the same value appears in a passage (the
/// knowledge base's own published contacts are not a leak).
fn redact_leaks(
    pii: &PiiRedactor,
    text: String,
    passages: &[crate::prompt::PackedPassage],
    verdicts: &mut Vec<Verdict>,
) -> String {
    let spans = pii.detect(&text);
    let leaks: Vec<_> = spans
        .into_iter()
        .filter(|s| {
            let value = text.get(s.start..s.end).unwrap_or("");
            !value.is_empty() && !passages.iter().any(|p| p.text.contains(value))
        })
        .collect();
    if leaks.is_empty() {
        return text;
    }
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    let mut kinds = Vec::new();
    for s in &leaks {
        if s.start < last {
            continue;
        }
        out.push_str(text.get(last..s.start).unwrap_or(""));
        out.push_str(&format!("[{}]", s.kind.label()));
        kinds.push(s.kind.label().to_string());
        last = s.end;
    }
    out.push_str(text.get(last..).unwrap_or(""));
    verdicts.push(Verdict {
        name: "pii_leak".into(),
        stage: "output".into(),
        action: VerdictAction::Redact,
        detail: format!(
            "redacted personal data not found in the passages: {}",
            kinds.join(", ")
        ),
    });
    out
}

/// The passages an answer cites with `[n]` markers, in marker order, without duplicates.
fn citations_in(
    text: &str,
    passages: &[crate::prompt::PackedPassage],
    hits: &[Hit],
) -> Vec<Citation> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'[' {
            let rest = &text[i + 1..];
            let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
            if !digits.is_empty() && rest[digits.len()..].starts_with(']') {
                if let Ok(n) = digits.parse::<u32>() {
                    if let Some(p) = passages.iter().find(|p| p.index == n) {
                        if seen.insert(n) {
                            let hit = hits.iter().find(|h| h.chunk_id == p.chunk_id);
                            let score = hit.map(|h| h.score).unwrap_or(0.0);
                            let (document_id, title) = hit
                                .map(|h| (h.document_id.clone(), h.title.clone()))
                                .unwrap_or_default();
                            out.push(Citation {
                                index: n,
                                chunk_id: p.chunk_id.clone(),
                                document_id,
                                title,
                                snippet: p.text.chars().take(160).collect(),
                                score,
                            });
                        }
                    }
                }
            }
        }
        i += 1;
    }
    out
}
