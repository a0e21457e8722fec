//! Embedders turn text into vectors. [`HashingEmbedder`] is the offline default; [`OpenAiEmbedder`]
//! speaks any OpenAI-compatible `/v1/embeddings` endpoint.

mod hashing;
mod openai;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::Result;

pub use hashing::HashingEmbedder;
pub use openai::{OpenAiEmbedder, OpenAiEmbedderConfig};

/// Whether a text is a search query or a passage to be searched (some models embed them
/// differently, e.g. e5's `query:` / `passage:` prefixes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum InputType {
    /// A user question.
    Query,
    /// A chunk of a document.
    #[default]
    Passage,
}

/// A request to embed a batch of texts.
#[derive(Debug, Clone, Default)]
pub struct EmbedRequest {
    /// The texts, in order.
    pub texts: Vec<String>,
    /// Query or passage.
    pub input_type: InputType,
}

/// Vectors for an [`EmbedRequest`], in the same order, each L2-normalised.
#[derive(Debug, Clone, Default)]
pub struct EmbedResponse {
    /// One vector per input text.
    pub vectors: Vec<Vec<f32>>,
    /// Tokens the provider counted (or an estimate, see `estimated`).
    pub tokens: u64,
    /// True when `tokens` was not reported by the provider.
    pub estimated: bool,
}

/// What identifies an embedding space: vectors from two embedders with different fingerprints
/// must never be mixed in one index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmbedderFingerprint {
    /// Provider and model (e.g. `hashing-v1`, `openai:text-embedding-3-small`).
    pub model: String,
    /// Vector length.
    pub dimensions: usize,
    /// Whether vectors are L2-normalised (ragcore always normalises).
    pub normalized: bool,
}

impl std::fmt::Display for EmbedderFingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({} dims{})",
            self.model,
            self.dimensions,
            if self.normalized { ", normalised" } else { "" }
        )
    }
}

/// Turns texts into vectors.
#[async_trait]
pub trait Embedder: Send + Sync {
    /// The embedding space this embedder produces.
    fn fingerprint(&self) -> EmbedderFingerprint;

    /// Embeds a batch of texts.
    async fn embed(&self, request: EmbedRequest) -> Result<EmbedResponse>;

    /// How many texts one [`Embedder::embed`] call should carry to keep this embedder fully
    /// busy (for a remote API: its batch size × concurrency, with headroom); `None` when any
    /// size will do. Callers that embed many texts (ingest, re-embedding) send at least this
    /// many per call, so that an embedder's own batching and concurrency are not starved by a
    /// caller sending one small batch at a time.
    fn texts_per_call_hint(&self) -> Option<usize> {
        None
    }
}

/// Scales a vector to unit length in place (a zero vector stays zero).
pub fn l2_normalize(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        for x in v.iter_mut() {
            *x /= norm;
        }
    }
}
