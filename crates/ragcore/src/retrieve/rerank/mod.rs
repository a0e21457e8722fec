//! Reranking: the [`Reranker`] trait and its implementations. A reranker reorders the fused
//! candidates of one question before the top ones are packed into the prompt.
//!
//! - [`LexicalReranker`]: built in, no model — fused score plus lexical features (title / FAQ
//!   question match, phrase overlap, longest shared passage of text) and an MMR pass.
//! - [`HttpReranker`]: any Cohere / Jina / TEI-style `POST /rerank` endpoint.
//! - [`LlmReranker`]: asks any [`crate::ChatModel`] to order the passages.

mod http;
mod lexical;
mod llm;

use std::sync::Arc;

use async_trait::async_trait;

use crate::error::{Error, Result};
use crate::text::Segmenter;
use crate::types::{Hit, Usage};

pub use http::{HttpReranker, HttpRerankerConfig};
pub use lexical::{LexicalReranker, LexicalRerankerConfig};
pub use llm::LlmReranker;

/// Reorder candidates for one question.
#[derive(Debug, Clone)]
pub struct RerankRequest {
    /// The question (after the input guards).
    pub question: String,
    /// The fused candidates, best first.
    pub hits: Vec<Hit>,
    /// How many hits the caller keeps (a reranker may return fewer, never more than given).
    pub top_k: usize,
}

/// The reordered candidates.
#[derive(Debug, Clone, PartialEq)]
pub struct RerankResponse {
    /// The hits, best first; `score` is the reranker's score.
    pub hits: Vec<Hit>,
    /// The model that scored them (used for pricing the usage).
    pub model: String,
    /// Tokens the reranker spent (zero for the built-in one).
    pub usage: Usage,
}

/// Reorders retrieved passages by relevance to the question.
#[async_trait]
pub trait Reranker: Send + Sync {
    /// A short name (reported in timings and verdicts, used for pricing).
    fn name(&self) -> String;

    /// Reorders the candidates.
    async fn rerank(&self, request: RerankRequest) -> Result<RerankResponse>;
}

/// The reranker a name selects, as the CLI, the server configuration and the bindings spell
/// it: `"lexical"` (the built-in [`LexicalReranker`] cutting with `segmenter`) or `"none"`.
pub fn by_name(name: &str, segmenter: Segmenter) -> Result<Option<Arc<dyn Reranker>>> {
    match name.trim() {
        "none" | "" => Ok(None),
        "lexical" => Ok(Some(Arc::new(LexicalReranker::new(segmenter)))),
        other => Err(Error::invalid(
            "rerank",
            format!(
                "unknown reranker {other:?}; use \"lexical\" or \"none\" (HTTP and LLM \
                 rerankers are built in code: HttpReranker, LlmReranker)"
            ),
        )),
    }
}

/// Orders `hits` by `scores` (same length), best first, ties kept in their original order, and
/// writes the new score into each hit.
pub(crate) fn reorder(hits: Vec<Hit>, scores: &[f32]) -> Vec<Hit> {
    let mut indexed: Vec<(usize, Hit)> = hits.into_iter().enumerate().collect();
    indexed.sort_by(|(ia, _), (ib, _)| {
        let (sa, sb) = (
            scores.get(*ia).copied().unwrap_or(f32::MIN),
            scores.get(*ib).copied().unwrap_or(f32::MIN),
        );
        sb.total_cmp(&sa).then(ia.cmp(ib))
    });
    indexed
        .into_iter()
        .map(|(i, mut h)| {
            if let Some(s) = scores.get(i) {
                h.score = *s;
            }
            h
        })
        .collect()
}
