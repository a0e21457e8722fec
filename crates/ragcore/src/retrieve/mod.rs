//! Retrieval: embed the question, search vectors and BM25 inside the scope, fuse, and decide
//! whether the knowledge base can answer at all.

mod fusion;
mod no_answer;
mod passage_terms;
pub mod rerank;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};

pub use fusion::{fuse, fuse_candidates, Candidate, Fused, FusedCandidate, Fusion};
pub use no_answer::{NoAnswerConfig, NoAnswerDecision};
pub use rerank::{LexicalReranker, RerankRequest, RerankResponse, Reranker};

use crate::embed::{EmbedRequest, Embedder, InputType};
use crate::error::{Error, Result};
use crate::store::{HybridSearchRequest, VectorStore};
use crate::text::Segmenter;
use crate::types::{Hit, Scope, Usage};

fn round_ms(ms: f64) -> f64 {
    (ms * 1000.0).round() / 1000.0
}

/// Retrieval settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RetrievalConfig {
    /// Hits returned (and passages offered to the answerer).
    pub top_k: usize,
    /// Candidates fetched from each search before fusion.
    pub candidates: usize,
    /// How the vector and lexical lists are fused.
    pub fusion: Fusion,
    /// The no-answer thresholds.
    pub no_answer: NoAnswerConfig,
}

impl Default for RetrievalConfig {
    fn default() -> Self {
        RetrievalConfig {
            top_k: 5,
            candidates: 40,
            fusion: Fusion::default(),
            no_answer: NoAnswerConfig::default(),
        }
    }
}

impl RetrievalConfig {
    /// Checks the settings.
    pub fn validate(&self) -> Result<()> {
        if self.top_k == 0 || self.top_k > 200 {
            return Err(Error::invalid(
                "retrieval.top_k",
                "must be between 1 and 200",
            ));
        }
        if self.candidates < self.top_k {
            return Err(Error::invalid(
                "retrieval.candidates",
                "must be at least top_k",
            ));
        }
        if !(0.0..=1.0).contains(&self.no_answer.min_coverage) {
            return Err(Error::invalid(
                "retrieval.no_answer.min_coverage",
                "must be between 0 and 1",
            ));
        }
        Ok(())
    }
}

/// What retrieval found for one question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Retrieval {
    /// Fused hits, best first, at most `top_k`.
    pub hits: Vec<Hit>,
    /// The no-answer decision.
    pub no_answer: NoAnswerDecision,
    /// Tokens spent embedding the question.
    pub embedding_tokens: u64,
    /// True when the embedder estimated `embedding_tokens` instead of reporting them.
    pub embedding_estimated: bool,
    /// Milliseconds for embedding the question.
    pub embed_ms: f64,
    /// Milliseconds for searching and fusing.
    pub search_ms: f64,
    /// The question's embedding, when the vector search ran (for drift statistics).
    #[serde(skip)]
    pub query_vector: Option<Vec<f32>>,
    /// Milliseconds spent reranking (0 without a reranker).
    #[serde(default)]
    pub rerank_ms: f64,
    /// The reranker's model, when one ran.
    #[serde(default)]
    pub rerank_model: Option<String>,
    /// Tokens the reranker spent.
    #[serde(default)]
    pub rerank_usage: Usage,
}

/// Default number of fused candidates a reranker sees.
pub const DEFAULT_RERANK_DEPTH: usize = 20;

/// The [`Hit`] shown for a fused candidate.
pub fn hit_from_fused(f: Fused) -> Hit {
    Hit {
        chunk_id: f.chunk.chunk.id,
        document_id: f.chunk.chunk.document_id,
        title: f.chunk.title,
        context: f.chunk.chunk.context,
        text: f.chunk.chunk.text,
        kind: f.chunk.kind,
        score: f.score,
        vector_score: f.vector_score,
        lexical_score: f.lexical_score,
        valid_until: f.chunk.valid_until,
    }
}

/// Runs hybrid retrieval over a store with an embedder.
#[derive(Clone)]
pub struct Retriever {
    store: Arc<dyn VectorStore>,
    embedder: Arc<dyn Embedder>,
    segmenter: Segmenter,
    config: RetrievalConfig,
    reranker: Option<(Arc<dyn Reranker>, usize)>,
    passage_terms: Arc<passage_terms::PassageTerms>,
}

impl Retriever {
    /// A retriever over `store` using `embedder` for queries and `segmenter` for BM25 terms.
    pub fn new(
        store: Arc<dyn VectorStore>,
        embedder: Arc<dyn Embedder>,
        segmenter: Segmenter,
        config: RetrievalConfig,
    ) -> Result<Self> {
        config.validate()?;
        let mut config = config;
        config.fusion = config.fusion.resolve(&embedder.fingerprint().model);
        Ok(Retriever {
            store,
            embedder,
            segmenter,
            config,
            reranker: None,
            passage_terms: Arc::default(),
        })
    }

    /// Reranks the best `depth` fused candidates with `reranker` before the top `top_k` are
    /// kept (`depth` is raised to `top_k` when smaller).
    pub fn with_reranker(mut self, reranker: Arc<dyn Reranker>, depth: usize) -> Self {
        self.reranker = Some((reranker, depth.max(self.config.top_k)));
        self
    }

    /// The settings.
    pub fn config(&self) -> &RetrievalConfig {
        &self.config
    }

    /// Retrieves passages for `question` visible to `scope`, with the given fusion override.
    pub async fn retrieve_with(
        &self,
        question: &str,
        scope: &Scope,
        fusion: Fusion,
    ) -> Result<Retrieval> {
        let fusion = fusion.resolve(&self.embedder.fingerprint().model);
        let t0 = Instant::now();
        let need_vec = !matches!(fusion, Fusion::LexicalOnly);
        let (vector, embedding_tokens, embedding_estimated) = if need_vec {
            let resp = self
                .embedder
                .embed(EmbedRequest {
                    texts: vec![question.to_string()],
                    input_type: InputType::Query,
                })
                .await?;
            let v = resp
                .vectors
                .into_iter()
                .next()
                .ok_or_else(|| Error::Provider {
                    provider: "embedder".into(),
                    status: None,
                    retryable: false,
                    retry_after: None,
                    message: "returned no vector for the question".into(),
                })?;
            (Some(v), resp.tokens, resp.estimated)
        } else {
            (None, 0, false)
        };
        let embed_ms = round_ms(t0.elapsed().as_secs_f64() * 1e3);
        let t1 = Instant::now();
        let terms = self.segmenter.terms(question);
        let content: Vec<String> = {
            let mut seen = HashSet::new();
            terms
                .iter()
                .filter(|t| !t.stop && seen.insert(t.text.clone()))
                .map(|t| t.text.clone())
                .collect()
        };
        let lexical_terms: Vec<String> = if content.is_empty() {
            terms.iter().map(|t| t.text.clone()).collect()
        } else {
            content.clone()
        };
        let depth = match &self.reranker {
            Some((_, d)) => *d,
            None => self.config.top_k,
        };
        let search_fut = self.store.hybrid_search(HybridSearchRequest {
            vector: if need_vec { vector.clone() } else { None },
            terms: if matches!(fusion, Fusion::VectorOnly) {
                None
            } else {
                Some(lexical_terms)
            },
            scope: scope.clone(),
            k: self.config.candidates,
            keep: depth,
            fusion,
        });
        let stats_fut = self.store.term_stats(scope, &content);
        let (found, stats) = futures::try_join!(search_fut, stats_fut)?;
        let top_similarity = found.top_similarity;
        let fused = found.fused;
        let mut hits: Vec<Hit> = fused.into_iter().take(depth).map(hit_from_fused).collect();
        let search_ms = round_ms(t1.elapsed().as_secs_f64() * 1e3);
        let (mut rerank_ms, mut rerank_model, mut rerank_usage) = (0.0, None, Usage::default());
        if let Some((reranker, _)) = &self.reranker {
            let t2 = Instant::now();
            let out = reranker
                .rerank(RerankRequest {
                    question: question.to_string(),
                    hits,
                    top_k: self.config.top_k,
                })
                .await?;
            hits = out.hits;
            rerank_ms = round_ms(t2.elapsed().as_secs_f64() * 1e3);
            rerank_model = Some(out.model);
            rerank_usage = out.usage;
        }
        hits.truncate(self.config.top_k);
        let mut passage_terms = HashSet::new();
        for h in hits.iter().take(self.config.no_answer.passages) {
            let terms = self.passage_terms.terms(self.segmenter, h);
            passage_terms.extend(terms.iter().cloned());
        }
        let decision = no_answer::decide(
            &self.config.no_answer,
            &no_answer::Signals {
                question_terms: &terms,
                content_terms: &content,
                df: &stats.document_frequency,
                total: stats.chunks,
                passage_terms: &passage_terms,
                top_similarity,
                have_hits: !hits.is_empty(),
            },
        );
        Ok(Retrieval {
            hits,
            no_answer: decision,
            embedding_tokens,
            embedding_estimated,
            embed_ms,
            search_ms,
            rerank_ms,
            rerank_model,
            rerank_usage,
            query_vector: vector,
        })
    }

    /// Retrieves passages for `question` visible to `scope`.
    pub async fn retrieve(&self, question: &str, scope: &Scope) -> Result<Retrieval> {
        self.retrieve_with(question, scope, self.config.fusion)
            .await
    }
}
