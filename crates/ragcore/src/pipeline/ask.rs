//! The request path, `Pipeline::ask`, as stages: [`Pipeline::prepare`] (input guards, retrieval,
//! no-answer check, prompt), generation (the chat model, degrading to the extractive answer),
//! and [`Pipeline::finish`] (output checks, citations, cost). Features that hook into the
//! request path (cache, budgets, events, streaming) add a call at one stage boundary here.

use std::collections::BTreeMap;
use std::time::Instant;

use tracing::Instrument;

use super::guarding::GuardSession;
use super::output::{citations_in, groundedness_verdict, stale_verdict};
use super::{ms, AskRequest, Pipeline};
use crate::cost::RecordRequest;
use crate::error::{Error, ErrorKind, Result};
use crate::guard::GuardStage;
use crate::llm::{ChatMessage, ChatModel, ChatRequest, ChatResponse, Role};
use crate::prompt::{pack_passages, render, GetPromptRequest, PackedPassage};
use crate::retrieve::Retrieval;
use crate::text::Tokenizer;
use crate::types::{Answer, Scope, Usage, Verdict, VerdictAction};

/// What the request path knows after retrieval and prompt rendering, carried to generation and
/// the output checks.
pub(crate) struct AskState {
    /// The question after the input guards (redacted).
    pub question: String,
    /// Who asks.
    pub scope: Scope,
    /// Milliseconds per stage so far.
    pub timings: BTreeMap<String, f64>,
    /// Verdicts so far.
    pub verdicts: Vec<Verdict>,
    /// Usage so far (the query embedding).
    pub usage: Usage,
    /// The KB version retrieval ran against.
    pub kb_version: u64,
    /// `name@version` of the prompt.
    pub prompt_version: String,
    /// Retrieval results (hits after the passage scan) and the no-answer decision.
    pub retrieval: Retrieval,
    /// The passages packed into the prompt.
    pub passages: Vec<PackedPassage>,
    /// The feature asking (budgets, ledger).
    pub feature: Option<String>,
    /// The budget reservation of this request, once admitted.
    pub admission: Option<crate::cost::Admission>,
    /// The guard policy's state for this request (vault placeholders, canary).
    pub guard: GuardSession,
    /// Whether the answer cache was consulted.
    pub cache_status: crate::types::CacheStatus,
    /// The question's embedding for the semantic cache (empty when not computed).
    pub cache_vector: Vec<f32>,
    /// What this ask contributes to the drift statistics, recorded when it ends.
    pub drift: Option<crate::drift::AskRecord>,
}

/// The outcome of [`Pipeline::prepare`].
pub(crate) enum Prepared {
    /// Answered without a model call (an honest refusal).
    Done(Box<Answer>),
    /// Ready for generation with this request.
    Generate(Box<AskState>, Box<ChatRequest>),
}

impl Pipeline {
    /// Answers a question from the knowledge base the scope may see, with citations; refuses
    /// honestly (no model call) when nothing relevant is found.
    pub async fn ask(&self, request: AskRequest) -> Result<Answer> {
        let span = crate::observe::trace::ask_span(&request.scope, &self.inner.chat.name());
        let t = Instant::now();
        let (scope, question) = (request.scope.clone(), request.question.clone());
        let result = self.ask_inner(request).instrument(span.clone()).await;
        crate::observe::trace::record_ask(&span, &result);
        if let Some(o) = &self.inner.observer {
            o.record(&scope, &question, &result, ms(t)).await;
        }
        result
    }

    async fn ask_inner(&self, request: AskRequest) -> Result<Answer> {
        let (mut state, chat_req) = match self.prepare(request).await? {
            Prepared::Done(answer) => return Ok(*answer),
            Prepared::Generate(state, chat_req) => (state, chat_req),
        };
        let drift = state.drift.take();
        if let Some(hit) = self.cache_lookup(&mut state).await? {
            self.record_drift(drift, hit.no_answer).await;
            return Ok(hit);
        }
        let (resp, degraded) = self.generate_admitted(&mut state, *chat_req).await?;
        let answer = self.finish(*state, resp, degraded).await?;
        self.record_drift(drift, answer.no_answer).await;
        Ok(answer)
    }

    /// Input guards, retrieval inside the scope, the passage scan, the no-answer check and the
    /// prompt.
    pub(crate) async fn prepare(&self, request: AskRequest) -> Result<Prepared> {
        let AskRequest {
            question,
            scope,
            feature,
        } = request;
        Self::check_question(&question)?;
        self.check_scope(&scope).await?;
        let mut timings = BTreeMap::new();
        let mut verdicts = Vec::new();

        let t = Instant::now();
        let mut guard = self.guard_session(&scope);
        let question = self
            .run_guards(
                &self.inner.input_guards,
                GuardStage::Input,
                question,
                &scope,
                &mut verdicts,
                &mut guard,
            )
            .instrument(tracing::info_span!("ragcore.guard_input"))
            .await?;
        let question = self
            .input_checks(&mut guard, question, &scope, &mut verdicts)
            .await?;
        timings.insert("guard_input".to_string(), ms(t));

        let snapshot = self.read_snapshot().await; // one KB version for version and retrieval
        let (kb_version, mut retrieval) = self
            .retrieve_one_version(&crate::guard::strip_placeholders(&question), &scope)
            .await?;
        drop(snapshot);
        self.scan_passages(&mut retrieval, &mut verdicts);
        timings.insert("embed".to_string(), retrieval.embed_ms);
        timings.insert("retrieve".to_string(), retrieval.search_ms);
        if retrieval.rerank_model.is_some() {
            timings.insert("rerank".to_string(), retrieval.rerank_ms);
        }
        let usage = Usage {
            embedding_tokens: retrieval.embedding_tokens,
            estimated: retrieval.embedding_estimated,
            ..Default::default()
        };
        verdicts.push(no_answer_verdict(&retrieval));
        // The semantic cache compares question embeddings: reuse the one retrieval made.
        let cache_vector = match (&self.inner.cache, &retrieval.query_vector) {
            (Some(_), Some(v)) => v.clone(),
            _ => Vec::new(),
        };
        let drift = self.drift_sample(&question, &scope, &mut retrieval);

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
        let mut state = AskState {
            question,
            scope,
            timings,
            verdicts,
            usage,
            kb_version,
            prompt_version,
            retrieval,
            passages: Vec::new(),
            feature,
            admission: None,
            guard,
            cache_status: crate::types::CacheStatus::Bypass,
            cache_vector,
            drift,
        };

        if state.retrieval.no_answer.refuse {
            self.record_drift(state.drift.take(), true).await;
            state.timings.insert("prompt".to_string(), ms(t));
            return Ok(Prepared::Done(Box::new(self.refuse(state).await?)));
        }

        let tokenizer = Tokenizer::for_model(&self.inner.chat.name());
        let passages = pack_passages(
            &state.retrieval.hits,
            tokenizer,
            self.inner.config.context_tokens,
        )?;
        let rendered = render(
            &prompt.system,
            &prompt.user,
            &state.question,
            &passages,
            &self.inner.config.no_answer_text,
        )?;
        state.timings.insert("prompt".to_string(), ms(t));

        let mut chat_req = ChatRequest {
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
            question: state.question.clone(),
            passages: passages.clone(),
            no_answer_text: self.inner.config.no_answer_text.clone(),
            max_tokens: None,
            temperature: None,
        };
        state.passages = passages;
        self.arm_canary(&mut state.guard, &mut chat_req);
        Ok(Prepared::Generate(Box::new(state), Box::new(chat_req)))
    }

    /// Indirect prompt injection: passages carrying instructions never reach the prompt.
    fn scan_passages(&self, retrieval: &mut Retrieval, verdicts: &mut Vec<Verdict>) {
        let Some(scanner) = &self.inner.document_scanner else {
            return;
        };
        let mut flagged = Vec::new();
        let scans = &self.inner.passage_scans;
        retrieval.hits.retain(|h| {
            let score = scans.score(scanner, &h.chunk_id, &h.text);
            let keep = score < scanner.threshold();
            if !keep {
                flagged.push(format!("{} ({score:.2})", h.document_id));
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

    /// The honest refusal: no model call, only the query embedding is paid for.
    async fn refuse(&self, state: AskState) -> Result<Answer> {
        let mut cost = self.price(&state.usage, "none")?;
        let mut spent = vec![crate::cost::SpentCall {
            model: "none".into(),
            usage: state.usage,
            cost_usd: cost.total_usd,
        }];
        let mut state = state;
        spent.extend(self.add_rerank_spend(&state.retrieval, &mut state.usage, &mut cost)?);
        self.inner
            .cost
            .record(RecordRequest {
                scope: state.scope.clone(),
                model: "none".into(),
                usage: state.usage,
                cost,
            })
            .await?;
        self.settle_spend(&state, spent).await;
        Ok(Answer {
            text: self.inner.config.no_answer_text.clone(),
            citations: Vec::new(),
            no_answer: true,
            kb_version: state.kb_version,
            prompt_version: state.prompt_version,
            model: "none".into(),
            usage: state.usage,
            cost,
            timings: state.timings,
            verdicts: state.verdicts,
            degraded: false,
            cache: crate::types::CacheStatus::Bypass,
            retrieved: state
                .retrieval
                .hits
                .iter()
                .map(|h| h.chunk_id.clone())
                .collect(),
        })
    }

    /// Calls the chat model; on a model error (unless policy says otherwise) answers from the
    /// passages with the extractive answerer and reports `degraded = true`.
    pub(crate) async fn generate(
        &self,
        state: &mut AskState,
        chat_req: ChatRequest,
    ) -> Result<(ChatResponse, bool)> {
        let t = Instant::now();
        let span = crate::observe::trace::generate_span(&self.inner.chat.name());
        let out = match self
            .inner
            .chat
            .chat(chat_req.clone())
            .instrument(span.clone())
            .await
        {
            Ok(r) => {
                let (i, o) = (r.usage.prompt_tokens, r.usage.completion_tokens);
                crate::observe::trace::record_generation(&span, &r.model, i, o);
                (r, false)
            }
            Err(e) => self.degrade(state, chat_req, e).await?,
        };
        state.timings.insert("generate".to_string(), ms(t));
        Ok(out)
    }

    /// The degradation path after a model error: the extractive answer, flagged, or the error
    /// when policy says so (and always for a guard block).
    pub(crate) async fn degrade(
        &self,
        state: &mut AskState,
        chat_req: ChatRequest,
        e: Error,
    ) -> Result<(ChatResponse, bool)> {
        if !self.inner.config.degrade_on_model_error || e.kind() == ErrorKind::Blocked {
            return Err(e);
        }
        tracing::warn!(target: "ragcore::ask", error = %e, "chat model failed; answering extractively (degraded)");
        state.verdicts.push(Verdict {
            name: "generate".into(),
            stage: "generate".into(),
            action: VerdictAction::Annotate,
            detail: format!(
                "model {} failed ({}); extractive fallback",
                self.inner.chat.name(),
                e.kind().code()
            ),
        });
        Ok((self.inner.fallback.chat(chat_req).await?, true))
    }

    /// Output guards, leak redaction, citations, groundedness, staleness, and the cost record.
    pub(crate) async fn finish(
        &self,
        mut state: AskState,
        resp: ChatResponse,
        degraded: bool,
    ) -> Result<Answer> {
        state.usage.add(&resp.usage);
        let t = Instant::now();
        let (resp, regen_degraded) = self
            .output_checks(&mut state, resp)
            .instrument(tracing::info_span!("ragcore.guard_output"))
            .await?;
        let degraded = degraded || regen_degraded;
        let text = resp.text.clone();
        state.timings.insert("guard_output".to_string(), ms(t));

        let citations = if resp.refused {
            Vec::new()
        } else {
            citations_in(&text, &state.passages, &state.retrieval.hits)
        };
        if !resp.refused {
            if citations.is_empty() {
                state.verdicts.push(Verdict {
                    name: "citations".into(),
                    stage: "output".into(),
                    action: VerdictAction::Annotate,
                    detail: "the answer cites no passage".into(),
                });
            }
            state.verdicts.push(groundedness_verdict(
                self.inner.config.segmenter,
                self.inner.config.min_groundedness,
                &text,
                &state.passages,
            ));
        }
        if let Some(v) = stale_verdict(&citations, &state.retrieval.hits) {
            state.verdicts.push(v);
        }
        let (mut cost, mut spent) = self.price_reply(&mut state, &resp)?;
        spent.extend(self.add_rerank_spend(&state.retrieval, &mut state.usage, &mut cost)?);
        self.inner
            .cost
            .record(RecordRequest {
                scope: state.scope.clone(),
                model: resp.model.clone(),
                usage: state.usage,
                cost,
            })
            .await?;
        self.settle_spend(&state, spent).await;
        let pending = self.cache_pending(&state);
        let answer = Answer {
            text: if resp.refused {
                self.inner.config.no_answer_text.clone()
            } else {
                text
            },
            citations,
            no_answer: resp.refused,
            kb_version: state.kb_version,
            prompt_version: state.prompt_version,
            model: resp.model,
            usage: state.usage,
            cost,
            timings: state.timings,
            verdicts: state.verdicts,
            degraded,
            retrieved: state
                .retrieval
                .hits
                .iter()
                .map(|h| h.chunk_id.clone())
                .collect(),
            cache: state.cache_status,
        };
        self.cache_store(pending, &answer).await;
        Ok(answer)
    }
}

/// The verdict describing the no-answer decision.
fn no_answer_verdict(retrieval: &Retrieval) -> Verdict {
    let d = &retrieval.no_answer;
    Verdict {
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
    }
}
