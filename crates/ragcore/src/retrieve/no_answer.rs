//! The no-answer check: decide, before any model call, that the knowledge base cannot answer.
//!
//! Two signals, both computed within the asker's scope:
//! - *coverage*: the IDF-weighted share of the question's content terms that occur in the top
//!   passages. A question about "UFO warranty" against a knowledge base that mentions warranties
//!   but never UFOs covers only its cheap term and is refused.
//! - *similarity*: the best cosine similarity of the vector search (optional threshold, since
//!   its scale depends on the embedder).

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::text::Term;

/// Thresholds of the no-answer check.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct NoAnswerConfig {
    /// Refuse when the IDF-weighted term coverage of the top passages is below this (0..1).
    pub min_coverage: f32,
    /// Refuse when the best vector similarity is below this (0 disables).
    pub min_similarity: f32,
    /// How many top passages count for coverage.
    pub passages: usize,
}

impl Default for NoAnswerConfig {
    fn default() -> Self {
        NoAnswerConfig {
            min_coverage: 0.5,
            min_similarity: 0.0,
            passages: 3,
        }
    }
}

/// The signals and the decision, reported in verdicts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoAnswerDecision {
    /// True when the question should be refused.
    pub refuse: bool,
    /// IDF-weighted share of the content terms found in the top passages.
    pub coverage: f32,
    /// Best vector similarity, when there was a vector hit.
    pub top_similarity: Option<f32>,
    /// Content terms of the question that no visible passage contains.
    pub unknown_terms: Vec<String>,
}

/// IDF as in BM25, floored at a small positive value.
pub(crate) fn idf(n: u64, df: u64) -> f32 {
    let n = n as f32;
    let df = df as f32;
    (((n - df + 0.5) / (df + 0.5)) + 1.0).ln().max(0.01)
}

pub(crate) fn decide(
    config: &NoAnswerConfig,
    question_terms: &[Term],
    stats_terms: &[String],
    df: &[u64],
    total: u64,
    passage_terms: &HashSet<String>,
    top_similarity: Option<f32>,
    have_hits: bool,
) -> NoAnswerDecision {
    let entities: HashSet<&str> = question_terms
        .iter()
        .filter(|t| t.entity)
        .map(|t| t.text.as_str())
        .collect();
    let mut weight_known = 0f32;
    let mut weight_hit = 0f32;
    let mut unknown = Vec::new();
    let mut unknown_entity = false;
    for (term, &d) in stats_terms.iter().zip(df) {
        if d == 0 {
            // Phrasing differs from the documents all the time ("幾天" vs "7 天"), so an unknown
            // ordinary word says little; an unknown name or code says the topic is missing.
            unknown_entity |= entities.contains(term.as_str());
            unknown.push(term.clone());
            continue;
        }
        let w = idf(total, d);
        weight_known += w;
        if passage_terms.contains(term) {
            weight_hit += w;
        }
    }
    let coverage = if weight_known > 0.0 {
        weight_hit / weight_known
    } else {
        0.0
    };
    let nothing_known = weight_known == 0.0 && !stats_terms.is_empty();
    let low_sim =
        config.min_similarity > 0.0 && top_similarity.is_none_or(|s| s < config.min_similarity);
    let only_stopwords = stats_terms.is_empty() && !question_terms.is_empty();
    NoAnswerDecision {
        refuse: !have_hits
            || unknown_entity
            || nothing_known
            || (!only_stopwords && coverage < config.min_coverage)
            || low_sim,
        coverage: if only_stopwords { 1.0 } else { coverage },
        top_similarity,
        unknown_terms: unknown,
    }
}
