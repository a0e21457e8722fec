//! Side-by-side comparison of two evaluation runs and the regression decision.

use serde::{Deserialize, Serialize};

use super::EvalReport;

/// How much worse a candidate may be before it counts as a regression.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tolerance {
    /// Largest allowed drop of a quality rate (recall, MRR, nDCG, answered, refused, accuracy,
    /// groundedness, citation precision, answer match), absolute (0.02 = two points).
    pub quality: f64,
    /// Largest allowed relative rise of cost per question (0.25 = +25%); `None`: not gated.
    pub cost_ratio: Option<f64>,
    /// Largest allowed relative rise of p95 latency; `None` (default): not gated, since
    /// latency depends on the machine.
    pub latency_ratio: Option<f64>,
    /// Largest allowed rise of the error rate, absolute.
    pub error_rate: f64,
}

impl Default for Tolerance {
    fn default() -> Self {
        Tolerance {
            quality: 0.02,
            cost_ratio: Some(0.25),
            latency_ratio: None,
            error_rate: 0.0,
        }
    }
}

/// One metric side by side.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompareRow {
    /// Metric name.
    pub metric: String,
    /// Baseline value.
    pub baseline: Option<f64>,
    /// Candidate value.
    pub candidate: Option<f64>,
    /// Whether higher is better.
    pub higher_is_better: bool,
    /// Whether the candidate regressed past the tolerance.
    pub regressed: bool,
}

/// Two runs side by side.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// Baseline label.
    pub baseline: String,
    /// Candidate label.
    pub candidate: String,
    /// Every metric.
    pub rows: Vec<CompareRow>,
}

impl Comparison {
    /// The rows that regressed.
    pub fn regressions(&self) -> Vec<&CompareRow> {
        self.rows.iter().filter(|r| r.regressed).collect()
    }

    /// One line per regression: `answerable_answered 0.950 -> 0.400 (tolerance 0.02)`.
    pub fn regression_summary(&self) -> Vec<String> {
        self.regressions()
            .iter()
            .map(|r| format!("{} {} -> {}", r.metric, fmt(r.baseline), fmt(r.candidate)))
            .collect()
    }

    /// A Markdown table.
    pub fn to_markdown(&self) -> String {
        let mut s = format!(
            "| metric | {} | {} | Δ | |\n|---|---|---|---|---|\n",
            self.baseline, self.candidate
        );
        for r in &self.rows {
            let delta = match (r.baseline, r.candidate) {
                (Some(a), Some(b)) => format!("{:+.4}", b - a),
                _ => "-".into(),
            };
            s.push_str(&format!(
                "| {} | {} | {} | {} | {} |\n",
                r.metric,
                fmt(r.baseline),
                fmt(r.candidate),
                delta,
                if r.regressed { "REGRESSION" } else { "" }
            ));
        }
        s
    }
}

fn fmt(v: Option<f64>) -> String {
    v.map(|x| {
        if x != 0.0 && x.abs() < 0.001 {
            format!("{x:.2e}")
        } else {
            format!("{x:.4}")
        }
    })
    .unwrap_or_else(|| "-".into())
}

/// The metrics of a report as `(name, value, higher_is_better)`.
pub fn metric_rows(r: &EvalReport) -> Vec<(String, Option<f64>, bool)> {
    let m = &r.metrics;
    vec![
        (format!("recall@{}", r.k), m.recall_at_k, true),
        ("mrr@10".into(), m.mrr, true),
        (format!("ndcg@{}", r.k), m.ndcg_at_k, true),
        ("answerable_answered".into(), m.answerable_answered, true),
        ("unanswerable_refused".into(), m.unanswerable_refused, true),
        ("no_answer_accuracy".into(), m.no_answer_accuracy, true),
        ("groundedness".into(), m.groundedness, true),
        ("citation_precision".into(), m.citation_precision, true),
        ("answer_match".into(), m.answer_match, true),
        (
            "cost_usd_per_question".into(),
            Some(m.cost_usd_per_question),
            false,
        ),
        ("latency_p50_ms".into(), Some(m.latency_p50_ms), false),
        ("latency_p95_ms".into(), Some(m.latency_p95_ms), false),
        ("error_rate".into(), Some(m.error_rate), false),
    ]
}

/// Compares a candidate run with a baseline. A quality metric regresses when it drops by more
/// than `tolerance.quality` (or disappears); cost, p95 latency and errors by their own limits.
pub fn compare(baseline: &EvalReport, candidate: &EvalReport, tolerance: &Tolerance) -> Comparison {
    let b = metric_rows(baseline);
    let c = metric_rows(candidate);
    let rows = b
        .into_iter()
        .zip(c)
        .map(|((name, bv, hib), (_, cv, _))| {
            let regressed = match (name.as_str(), bv, cv) {
                (_, None, _) => false,
                ("cost_usd_per_question", Some(x), Some(y)) => tolerance
                    .cost_ratio
                    .is_some_and(|r| y > x * (1.0 + r) + 1e-12),
                ("latency_p95_ms", Some(x), Some(y)) => {
                    tolerance.latency_ratio.is_some_and(|r| y > x * (1.0 + r))
                }
                ("latency_p50_ms", ..) => false,
                ("error_rate", Some(x), Some(y)) => y > x + tolerance.error_rate + 1e-12,
                (_, Some(_), None) => true,
                (_, Some(x), Some(y)) => hib && y < x - tolerance.quality - 1e-12,
            };
            CompareRow {
                metric: name,
                baseline: bv,
                candidate: cv,
                higher_is_better: hib,
                regressed,
            }
        })
        .collect();
    Comparison {
        baseline: baseline.label.clone(),
        candidate: candidate.label.clone(),
        rows,
    }
}

impl EvalReport {
    /// A Markdown table of the metrics.
    pub fn to_markdown(&self) -> String {
        let mut s = format!("| metric | {} |\n|---|---|\n", self.label);
        for (n, v, _) in metric_rows(self) {
            s.push_str(&format!("| {n} | {} |\n", fmt(v)));
        }
        s
    }
}
