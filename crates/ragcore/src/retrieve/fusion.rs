//! Fusing the vector and the lexical result lists into one ranking.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::store::StoredChunk;

/// How the two result lists are combined.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum Fusion {
    /// Weighted reciprocal rank fusion: `sum(w / (k + rank))`.
    Rrf {
        /// The rank constant (60 in the original paper).
        k: f32,
        /// Weight of the vector list.
        vector_weight: f32,
        /// Weight of the lexical list.
        lexical_weight: f32,
    },
    /// Weighted sum of cosine similarity and BM25 divided by the list's best. Suits embedders
    /// whose similarities spread widely (the hashing embedder).
    Linear {
        /// Weight of the vector score; the lexical score gets `1 - vector_weight`.
        vector_weight: f32,
    },
    /// Like `Linear`, but the cosine similarities are min-max scaled over the vector candidates
    /// first. Suits semantic embedders whose similarities bunch together (e5: 0.8 to 0.9).
    Normalized {
        /// Weight of the vector score; the lexical score gets `1 - vector_weight`.
        vector_weight: f32,
    },
    /// Chosen from the embedder when the retriever is built: `Linear { vector_weight: 0.3 }`
    /// for the hashing embedder, `Normalized { vector_weight: 0.5 }` for any other (semantic)
    /// embedder — the settings that won on DRCD, COVID-QA and XQuAD (docs/retrieval.md).
    #[default]
    Auto,
    /// Vector search only.
    VectorOnly,
    /// BM25 only.
    LexicalOnly,
}

impl Fusion {
    /// Resolves `Auto` for an embedder model name (the fingerprint's `model`).
    pub fn resolve(self, embedder_model: &str) -> Fusion {
        match self {
            Fusion::Auto if embedder_model.starts_with("hashing") => {
                Fusion::Linear { vector_weight: 0.3 }
            }
            Fusion::Auto => Fusion::Normalized { vector_weight: 0.5 },
            other => other,
        }
    }

    /// A short name for reports.
    pub fn name(&self) -> String {
        match self {
            Fusion::Auto => "auto".into(),
            Fusion::Rrf {
                vector_weight,
                lexical_weight,
                ..
            } => format!("rrf({vector_weight}/{lexical_weight})"),
            Fusion::Linear { vector_weight } => format!("linear({vector_weight})"),
            Fusion::Normalized { vector_weight } => format!("normalized({vector_weight})"),
            Fusion::VectorOnly => "vector".into(),
            Fusion::LexicalOnly => "bm25".into(),
        }
    }
}

/// One fused candidate.
#[derive(Debug, Clone)]
pub struct Fused {
    /// The chunk.
    pub chunk: StoredChunk,
    /// Fused score (higher is better).
    pub score: f32,
    /// Its vector similarity, when the vector list had it.
    pub vector_score: Option<f32>,
    /// Its BM25 score, when the lexical list had it.
    pub lexical_score: Option<f32>,
}

/// One entry of a result list before its row is read: the store's key for it, the chunk id
/// (which breaks ties) and the list's score.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate<K> {
    /// The store's key (a row id, or an index into the caller's rows).
    pub key: K,
    /// The chunk id.
    pub chunk_id: String,
    /// Cosine similarity or BM25 (higher is better).
    pub score: f32,
}

/// A fused candidate before its row is read.
#[derive(Debug, Clone, PartialEq)]
pub struct FusedCandidate<K> {
    /// The store's key.
    pub key: K,
    /// The chunk id.
    pub chunk_id: String,
    /// Fused score (higher is better).
    pub score: f32,
    /// Its vector similarity, when the vector list had it.
    pub vector_score: Option<f32>,
    /// Its BM25 score, when the lexical list had it.
    pub lexical_score: Option<f32>,
}

/// Combines the lists by key, best first; ties break on chunk id so results are deterministic.
/// A store fuses with this before it reads any row, so only the kept ones are read.
/// `Auto` must be resolved first (see [`Fusion::resolve`]); unresolved it fuses like `Linear(0.3)`.
pub fn fuse_candidates<K: Eq + std::hash::Hash + Clone>(
    fusion: &Fusion,
    vector: Vec<Candidate<K>>,
    lexical: Vec<Candidate<K>>,
) -> Vec<FusedCandidate<K>> {
    let fusion = &fusion.resolve("hashing");
    let mut by_key: HashMap<K, FusedCandidate<K>> = HashMap::new();
    let max_lex = lexical
        .iter()
        .map(|c| c.score)
        .fold(0f32, f32::max)
        .max(1e-6);
    let max_vec = vector.iter().map(|c| c.score).fold(f32::MIN, f32::max);
    let min_vec = vector.iter().map(|c| c.score).fold(f32::MAX, f32::min);
    let span_vec = (max_vec - min_vec).max(1e-6);
    let (use_vec, use_lex) = match fusion {
        Fusion::VectorOnly => (true, false),
        Fusion::LexicalOnly => (false, true),
        _ => (true, true),
    };
    if use_vec {
        for (rank, c) in vector.into_iter().enumerate() {
            let s = match fusion {
                Fusion::Rrf {
                    k, vector_weight, ..
                } => vector_weight / (k + rank as f32 + 1.0),
                Fusion::Linear { vector_weight } => vector_weight * c.score.max(0.0),
                Fusion::Normalized { vector_weight } => {
                    vector_weight * (c.score - min_vec) / span_vec
                }
                _ => c.score,
            };
            by_key.insert(
                c.key.clone(),
                FusedCandidate {
                    key: c.key,
                    chunk_id: c.chunk_id,
                    score: s,
                    vector_score: Some(c.score),
                    lexical_score: None,
                },
            );
        }
    }
    if use_lex {
        for (rank, c) in lexical.into_iter().enumerate() {
            let s = match fusion {
                Fusion::Rrf {
                    k, lexical_weight, ..
                } => lexical_weight / (k + rank as f32 + 1.0),
                Fusion::Linear { vector_weight } | Fusion::Normalized { vector_weight } => {
                    (1.0 - vector_weight) * (c.score / max_lex)
                }
                _ => c.score,
            };
            match by_key.get_mut(&c.key) {
                Some(f) => {
                    f.score += s;
                    f.lexical_score = Some(c.score);
                }
                None => {
                    by_key.insert(
                        c.key.clone(),
                        FusedCandidate {
                            key: c.key,
                            chunk_id: c.chunk_id,
                            score: s,
                            vector_score: None,
                            lexical_score: Some(c.score),
                        },
                    );
                }
            }
        }
    }
    let mut out: Vec<FusedCandidate<K>> = by_key.into_values().collect();
    out.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| a.chunk_id.cmp(&b.chunk_id))
    });
    out
}

/// Combines the lists of rows; ties break on chunk id so results are deterministic (the same
/// ranking as [`fuse_candidates`]). `Auto` must be resolved first (see [`Fusion::resolve`]).
pub fn fuse(fusion: &Fusion, vector: Vec<StoredChunk>, lexical: Vec<StoredChunk>) -> Vec<Fused> {
    // Rows are keyed by chunk id, as the two lists of one store name a chunk the same way.
    let mut rows: HashMap<String, StoredChunk> = HashMap::new();
    let mut list = |hits: Vec<StoredChunk>| -> Vec<Candidate<String>> {
        hits.into_iter()
            .map(|c| {
                let cand = Candidate {
                    key: c.chunk.id.clone(),
                    chunk_id: c.chunk.id.clone(),
                    score: c.score,
                };
                rows.entry(c.chunk.id.clone()).or_insert(c);
                cand
            })
            .collect()
    };
    let (vector, lexical) = (list(vector), list(lexical));
    fuse_candidates(fusion, vector, lexical)
        .into_iter()
        .filter_map(|f| {
            rows.remove(&f.key).map(|chunk| Fused {
                chunk,
                score: f.score,
                vector_score: f.vector_score,
                lexical_score: f.lexical_score,
            })
        })
        .collect()
}
