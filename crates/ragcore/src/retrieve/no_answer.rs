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
    /// True when the refusal does not depend on the coverage threshold (no hits, an unknown
    /// name or code, nothing of the question known, or similarity below its threshold).
    pub hard: bool,
}

/// IDF as in BM25, floored at a small positive value.
pub(crate) fn idf(n: u64, df: u64) -> f32 {
    let n = n as f32;
    let df = df as f32;
    (((n - df + 0.5) / (df + 0.5)) + 1.0).ln().max(0.01)
}

/// The retrieval signals of one question.
pub(crate) struct Signals<'a> {
    /// All terms of the question.
    pub question_terms: &'a [Term],
    /// Its distinct content terms, in the order of `df`.
    pub content_terms: &'a [String],
    /// Visible chunks containing each content term.
    pub df: &'a [u64],
    /// Visible chunks.
    pub total: u64,
    /// Terms of the top passages.
    pub passage_terms: &'a HashSet<String>,
    /// Best vector similarity.
    pub top_similarity: Option<f32>,
    /// Whether retrieval found anything.
    pub have_hits: bool,
}

pub(crate) fn decide(config: &NoAnswerConfig, signals: &Signals<'_>) -> NoAnswerDecision {
    let Signals {
        question_terms,
        content_terms: stats_terms,
        df,
        total,
        passage_terms,
        top_similarity,
        have_hits,
    } = *signals;

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
    let hard = !have_hits || unknown_entity || nothing_known || low_sim;
    let coverage = if only_stopwords { 1.0 } else { coverage };
    NoAnswerDecision {
        refuse: hard || coverage < config.min_coverage,
        coverage,
        top_similarity,
        unknown_terms: unknown,
        hard,
    }
}
