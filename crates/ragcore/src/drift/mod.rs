//! Drift of the questions against the knowledge base, and the FAQ gaps: one small record per
//! ask (day, tenant, top retrieval score, the no-answer decision, the similarity of the question
//! to the tenant's corpus centroid, and for refusals the already-redacted question), rolling
//! daily statistics compared with a baseline window, and the unanswered questions grouped by
//! shared terms ("the questions users ask that the knowledge base cannot answer").
//!
//! [`SqliteDriftLog`] keeps its own table (`ask_drift`) in a local knowledge base's
//! `ops.sqlite` (next to `kb.sqlite`).

#[cfg(feature = "postgres")]
mod pg;
mod sqlite;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::text::Segmenter;

#[cfg(feature = "postgres")]
pub use pg::{CorpusCentroid, PgDriftLog};
pub use sqlite::SqliteDriftLog;

/// What one ask contributes to the drift statistics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AskRecord {
    /// The day (YYYY-MM-DD, UTC).
    pub day: String,
    /// The tenant asked.
    pub tenant: String,
    /// The best cosine similarity of a retrieved passage, when the vector search ran.
    pub top_score: Option<f32>,
    /// Whether the knowledge base had no answer (the retrieval's refusal decision).
    pub no_answer: bool,
    /// The question's embedding, used for the centroid distance and not stored.
    #[serde(skip)]
    pub query_vector: Option<Vec<f32>>,
    /// The question after the input guards (PII redacted); kept only for refusals.
    pub question: Option<String>,
}

/// Which statistics to compute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriftReportRequest {
    /// The tenant.
    pub tenant: String,
    /// The recent window: this many days up to and including `today`.
    pub recent_days: u32,
    /// The baseline window: this many days before the recent window.
    pub baseline_days: u32,
    /// The last day of the recent window (YYYY-MM-DD; default today, UTC).
    pub today: Option<String>,
    /// How BM25-style terms are cut for grouping unanswered questions.
    pub segmenter: Segmenter,
}

impl DriftReportRequest {
    /// A report for `tenant` over the last 7 days against the 28 days before.
    pub fn new(tenant: impl Into<String>) -> Self {
        DriftReportRequest {
            tenant: tenant.into(),
            recent_days: 7,
            baseline_days: 28,
            today: None,
            segmenter: Segmenter::default(),
        }
    }
}

/// Statistics over a set of asks.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DriftStats {
    /// Asks counted.
    pub asks: u64,
    /// Mean top retrieval score (asks with a vector search).
    pub mean_top_score: Option<f64>,
    /// Share of asks with no answer (0..1).
    pub no_answer_rate: Option<f64>,
    /// Mean cosine distance (1 - similarity) of the questions to the corpus centroid.
    pub mean_centroid_distance: Option<f64>,
}

/// The statistics of one day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DayStats {
    /// The day (YYYY-MM-DD).
    pub day: String,
    /// Its statistics.
    pub stats: DriftStats,
}

/// A group of similar unanswered questions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaqGap {
    /// How many refused asks fall in the group.
    pub asks: u64,
    /// Terms most of its questions share.
    pub terms: Vec<String>,
    /// Up to five distinct example questions (redacted).
    pub examples: Vec<String>,
}

/// Drift of the recent window against the baseline, and the FAQ gaps of both windows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriftReport {
    /// The tenant.
    pub tenant: String,
    /// The recent window's first and last day.
    pub recent_window: (String, String),
    /// The baseline window's first and last day.
    pub baseline_window: (String, String),
    /// One entry per day with asks, oldest first, over both windows.
    pub days: Vec<DayStats>,
    /// The recent window.
    pub recent: DriftStats,
    /// The baseline window.
    pub baseline: DriftStats,
    /// recent - baseline of the mean top score (negative: retrieval got worse).
    pub top_score_change: Option<f64>,
    /// recent - baseline of the no-answer rate (positive: more questions go unanswered).
    pub no_answer_rate_change: Option<f64>,
    /// recent - baseline of the centroid distance (positive: questions drift away from the corpus).
    pub centroid_distance_change: Option<f64>,
    /// Unanswered questions grouped, largest group first.
    pub gaps: Vec<FaqGap>,
}

/// Records asks and reports drift. Implementations persist the records.
#[async_trait]
pub trait DriftLog: Send + Sync {
    /// Stores one ask's record.
    async fn record(&self, record: AskRecord) -> Result<()>;

    /// Computes the report.
    async fn report(&self, request: DriftReportRequest) -> Result<DriftReport>;
}

fn change(recent: Option<f64>, baseline: Option<f64>) -> Option<f64> {
    Some(recent? - baseline?)
}

/// Groups questions whose content terms overlap (Jaccard >= `threshold` with the group's first
/// question), largest group first.
pub(crate) fn group_questions(
    segmenter: Segmenter,
    questions: &[String],
    threshold: f64,
) -> Vec<FaqGap> {
    use std::collections::{BTreeMap, BTreeSet};
    struct Group {
        leader: BTreeSet<String>,
        term_counts: BTreeMap<String, u64>,
        examples: Vec<String>,
        asks: u64,
    }
    let mut groups: Vec<Group> = Vec::new();
    for q in questions {
        let terms: BTreeSet<String> = segmenter
            .terms(q)
            .into_iter()
            .filter(|t| !t.stop)
            .map(|t| t.text)
            .collect();
        let best = groups
            .iter_mut()
            .map(|g| {
                let inter = g.leader.intersection(&terms).count() as f64;
                let union = g.leader.union(&terms).count().max(1) as f64;
                (inter / union, g)
            })
            .filter(|(s, _)| *s >= threshold)
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, g)| g);
        let g = match best {
            Some(g) => g,
            None => {
                groups.push(Group {
                    leader: terms.clone(),
                    term_counts: BTreeMap::new(),
                    examples: Vec::new(),
                    asks: 0,
                });
                let Some(g) = groups.last_mut() else { continue };
                g
            }
        };
        g.asks += 1;
        for t in &terms {
            *g.term_counts.entry(t.clone()).or_default() += 1;
        }
        if g.examples.len() < 5 && !g.examples.contains(q) {
            g.examples.push(q.clone());
        }
    }
    let mut out: Vec<FaqGap> = groups
        .into_iter()
        .map(|g| {
            let mut terms: Vec<(String, u64)> = g
                .term_counts
                .into_iter()
                .filter(|(_, n)| *n * 2 >= g.asks)
                .collect();
            terms.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            FaqGap {
                asks: g.asks,
                terms: terms.into_iter().take(8).map(|t| t.0).collect(),
                examples: g.examples,
            }
        })
        .collect();
    out.sort_by_key(|g| std::cmp::Reverse(g.asks));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn similar_questions_form_one_gap() {
        let qs: Vec<String> = [
            "可以用比特幣付款嗎？",
            "比特幣付款可以嗎",
            "你們收比特幣付款嗎？",
            "Do you ship to Mars?",
            "Can you ship to Mars?",
            "營業時間？",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let gaps = group_questions(Segmenter::default(), &qs, 0.3);
        assert_eq!(gaps[0].asks, 3, "{gaps:?}");
        assert!(gaps[0].terms.iter().any(|t| t.contains("比特")), "{gaps:?}");
        assert_eq!(gaps[1].asks, 2, "{gaps:?}");
        assert!(gaps[1].terms.contains(&"mars".to_string()), "{gaps:?}");
        assert_eq!(gaps.len(), 3);
    }
}
