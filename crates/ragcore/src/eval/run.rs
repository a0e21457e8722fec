//! [`evaluate`]: a golden set through a pipeline's real `ask` (and `retrieve` for ranking).

use std::collections::HashSet;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::metrics::{dedup, ndcg_at, recall_at, reciprocal_rank};
use super::GoldenCase;
use crate::error::Result;
use crate::observe::{groundedness_of, percentile};
use crate::pipeline::{AskRequest, Pipeline};
use crate::text::normalize;
use crate::types::Scope;

/// Options of [`evaluate`].
#[derive(Debug, Clone)]
pub struct EvalOptions {
    /// Cut-off of recall@k and nDCG@k (MRR uses 10).
    pub k: usize,
    /// Name of the run in reports (e.g. `qa@3` or a config name).
    pub label: String,
    /// Tenant of cases that name none.
    pub tenant: String,
}

impl Default for EvalOptions {
    fn default() -> Self {
        EvalOptions {
            k: 5,
            label: "run".into(),
            tenant: Scope::default().tenant,
        }
    }
}

/// What happened to one case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseResult {
    /// Case id.
    pub id: String,
    /// Whether it should have been answered.
    pub answerable: bool,
    /// Whether it was refused as not in the knowledge base.
    pub refused: bool,
    /// Error code when `ask` failed.
    pub error: Option<String>,
    /// recall@k (answerable cases with expectations).
    pub recall: Option<f64>,
    /// Reciprocal rank within 10.
    pub rr: Option<f64>,
    /// nDCG@k.
    pub ndcg: Option<f64>,
    /// Groundedness of the answer.
    pub groundedness: Option<f64>,
    /// Share of citations pointing at an expected document or chunk.
    pub citation_precision: Option<f64>,
    /// Whether the answer contains an expected text.
    pub answer_match: Option<bool>,
    /// Cost in USD.
    pub cost_usd: f64,
    /// End-to-end milliseconds of `ask`.
    pub latency_ms: f64,
    /// The prompt version that answered.
    pub prompt_version: String,
}

/// Aggregates over a golden set. Every rate is 0..1; `None` when no case measured it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalMetrics {
    /// Mean recall@k over answerable cases with expectations.
    pub recall_at_k: Option<f64>,
    /// Mean reciprocal rank (within 10).
    pub mrr: Option<f64>,
    /// Mean nDCG@k.
    pub ndcg_at_k: Option<f64>,
    /// Share of answerable questions answered (not refused, no error).
    pub answerable_answered: Option<f64>,
    /// Share of unanswerable questions refused.
    pub unanswerable_refused: Option<f64>,
    /// Share of all questions whose answer/refusal decision was right.
    pub no_answer_accuracy: Option<f64>,
    /// Mean groundedness of answers.
    pub groundedness: Option<f64>,
    /// Mean citation precision of answers that cite.
    pub citation_precision: Option<f64>,
    /// Share of cases with an expected answer whose answer contains it.
    pub answer_match: Option<f64>,
    /// Total cost in USD.
    pub cost_usd: f64,
    /// Mean cost per question in USD.
    pub cost_usd_per_question: f64,
    /// Median latency in ms.
    pub latency_p50_ms: f64,
    /// 95th percentile latency in ms.
    pub latency_p95_ms: f64,
    /// Share of cases where `ask` failed.
    pub error_rate: f64,
}

/// The result of [`evaluate`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalReport {
    /// Name of the run.
    pub label: String,
    /// Cases evaluated.
    pub cases: usize,
    /// The k of recall@k and nDCG@k.
    pub k: usize,
    /// Prompt versions that answered (normally one).
    pub prompt_versions: Vec<String>,
    /// Aggregates.
    pub metrics: EvalMetrics,
    /// Per case.
    pub per_case: Vec<CaseResult>,
}

fn mean(v: impl Iterator<Item = f64>) -> Option<f64> {
    let (mut s, mut n) = (0.0, 0usize);
    for x in v {
        s += x;
        n += 1;
    }
    (n > 0).then(|| s / n as f64)
}

/// Runs every case through `pipeline.ask` (answers, refusals, groundedness, citations, cost,
/// latency) and `pipeline.retrieve` (ranking metrics), sequentially. An `ask` that fails is
/// counted in `error_rate`, not returned.
pub async fn evaluate(
    pipeline: &Pipeline,
    cases: &[GoldenCase],
    options: &EvalOptions,
) -> Result<EvalReport> {
    let k = options.k.max(1);
    let mut per_case = Vec::with_capacity(cases.len());
    let mut versions: Vec<String> = Vec::new();
    for c in cases {
        let tenant = c.tenant.clone().unwrap_or_else(|| options.tenant.clone());
        let scope = Scope::tenant(tenant).with_principals(c.principals.clone());
        let by_doc = !c.expected_doc_ids.is_empty();
        let relevant: HashSet<String> = if by_doc {
            c.expected_doc_ids.iter().cloned().collect()
        } else {
            c.expected_chunk_ids.iter().cloned().collect()
        };
        let (mut recall, mut rr, mut ndcg) = (None, None, None);
        if c.answerable && !relevant.is_empty() {
            let hits = pipeline.retrieve(&c.question, &scope).await?;
            let ranked =
                dedup(
                    hits.into_iter()
                        .map(|h| if by_doc { h.document_id } else { h.chunk_id }),
                );
            recall = Some(recall_at(&ranked, &relevant, k));
            rr = Some(reciprocal_rank(&ranked, &relevant, 10));
            ndcg = Some(ndcg_at(&ranked, &relevant, k));
        }
        let t = Instant::now();
        let result = pipeline
            .ask(AskRequest::new(c.question.clone(), scope))
            .await;
        let latency_ms = t.elapsed().as_secs_f64() * 1e3;
        let r = match result {
            Ok(a) => {
                if !versions.contains(&a.prompt_version) {
                    versions.push(a.prompt_version.clone());
                }
                let answered = !a.no_answer;
                let citation_precision =
                    (answered && !relevant.is_empty() && !a.citations.is_empty()).then(|| {
                        let good = a
                            .citations
                            .iter()
                            .filter(|x| {
                                relevant.contains(if by_doc { &x.document_id } else { &x.chunk_id })
                            })
                            .count();
                        good as f64 / a.citations.len() as f64
                    });
                let expected = c.answers();
                let answer_match = (c.answerable && !expected.is_empty()).then(|| {
                    let text = normalize(&a.text).to_lowercase();
                    answered
                        && expected
                            .iter()
                            .any(|e| text.contains(&normalize(e).to_lowercase()))
                });
                CaseResult {
                    id: c.id.clone(),
                    answerable: c.answerable,
                    refused: a.no_answer,
                    error: None,
                    recall,
                    rr,
                    ndcg,
                    groundedness: if answered {
                        groundedness_of(&a.verdicts).map(f64::from)
                    } else {
                        None
                    },
                    citation_precision,
                    answer_match,
                    cost_usd: a.cost.total_usd,
                    latency_ms,
                    prompt_version: a.prompt_version,
                }
            }
            Err(e) => CaseResult {
                id: c.id.clone(),
                answerable: c.answerable,
                refused: false,
                error: Some(e.kind().code().to_string()),
                recall,
                rr,
                ndcg,
                groundedness: None,
                citation_precision: None,
                answer_match: (c.answerable && !c.answers().is_empty()).then_some(false),
                cost_usd: 0.0,
                latency_ms,
                prompt_version: String::new(),
            },
        };
        per_case.push(r);
    }
    Ok(EvalReport {
        label: options.label.clone(),
        cases: cases.len(),
        k,
        prompt_versions: versions,
        metrics: aggregate(&per_case),
        per_case,
    })
}

/// Aggregates per-case results.
pub fn aggregate(per_case: &[CaseResult]) -> EvalMetrics {
    let ok = |r: &&CaseResult| r.error.is_none();
    let answerable: Vec<&CaseResult> = per_case.iter().filter(|r| r.answerable).collect();
    let unanswerable: Vec<&CaseResult> = per_case.iter().filter(|r| !r.answerable).collect();
    let answered = |r: &CaseResult| r.error.is_none() && !r.refused;
    let rate = |v: &[&CaseResult], f: &dyn Fn(&CaseResult) -> bool| {
        (!v.is_empty()).then(|| v.iter().filter(|r| f(r)).count() as f64 / v.len() as f64)
    };
    let mut lat: Vec<f64> = per_case.iter().map(|r| r.latency_ms).collect();
    lat.sort_by(|a, b| a.total_cmp(b));
    let cost: f64 = per_case.iter().map(|r| r.cost_usd).sum();
    let all: Vec<&CaseResult> = per_case.iter().collect();
    EvalMetrics {
        recall_at_k: mean(per_case.iter().filter_map(|r| r.recall)),
        mrr: mean(per_case.iter().filter_map(|r| r.rr)),
        ndcg_at_k: mean(per_case.iter().filter_map(|r| r.ndcg)),
        answerable_answered: rate(&answerable, &answered),
        unanswerable_refused: rate(&unanswerable, &|r| r.error.is_none() && r.refused),
        no_answer_accuracy: rate(&all, &|r| r.error.is_none() && (r.answerable != r.refused)),
        groundedness: mean(per_case.iter().filter(ok).filter_map(|r| r.groundedness)),
        citation_precision: mean(per_case.iter().filter_map(|r| r.citation_precision)),
        answer_match: mean(
            per_case
                .iter()
                .filter_map(|r| r.answer_match.map(|m| if m { 1.0 } else { 0.0 })),
        ),
        cost_usd: cost,
        cost_usd_per_question: if per_case.is_empty() {
            0.0
        } else {
            cost / per_case.len() as f64
        },
        latency_p50_ms: percentile(&lat, 0.5),
        latency_p95_ms: percentile(&lat, 0.95),
        error_rate: if per_case.is_empty() {
            0.0
        } else {
            per_case.iter().filter(|r| r.error.is_some()).count() as f64 / per_case.len() as f64
        },
    }
}
