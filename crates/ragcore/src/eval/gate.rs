//! The promotion gate: a prompt version moves to a protected label only when the golden set
//! shows no regression against the version the label points at now.

use serde::{Deserialize, Serialize};

use super::{compare, evaluate, Comparison, EvalOptions, GoldenCase, Tolerance};
use crate::error::{Error, Result};
use crate::pipeline::Pipeline;
use crate::prompt::{GetPromptRequest, LabelMove, PromoteLabelRequest};

/// Promote `name@version` to `label`, gated by a golden set.
pub struct PromoteRequest<'a> {
    /// A pipeline answering with the label's current version (the baseline).
    pub baseline: &'a Pipeline,
    /// A pipeline answering with the candidate (its `prompt_label` is `@version`).
    pub candidate: &'a Pipeline,
    /// Prompt name.
    pub name: String,
    /// Candidate version.
    pub version: u32,
    /// Label to move (e.g. `production`).
    pub label: String,
    /// The golden set.
    pub cases: &'a [GoldenCase],
    /// Allowed regressions.
    pub tolerance: Tolerance,
    /// Evaluation options (k).
    pub options: EvalOptions,
}

/// What the gate decided.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PromoteOutcome {
    /// Whether the label moved.
    pub accepted: bool,
    /// Baseline and candidate side by side.
    pub comparison: Comparison,
    /// The move made (accepted only).
    pub moved: Option<LabelMove>,
    /// Why it was refused: one line per regressed metric.
    pub regressions: Vec<String>,
}

/// Runs the golden set with the baseline and the candidate; moves the label (through the
/// registry's explicit override) only when no metric regressed past the tolerance.
pub async fn promote(req: PromoteRequest<'_>) -> Result<PromoteOutcome> {
    let registry = req.candidate.prompts().clone();
    let current = registry
        .get(GetPromptRequest {
            name: req.name.clone(),
            label: req.label.clone(),
        })
        .await?;
    let cand = registry
        .get(GetPromptRequest {
            name: req.name.clone(),
            label: format!("@{}", req.version),
        })
        .await?;
    let mut o = req.options.clone();
    o.label = format!("{} ({})", current.id(), req.label);
    let base = evaluate(req.baseline, req.cases, &o).await?;
    o.label = format!("{} (candidate)", cand.id());
    let candidate = evaluate(req.candidate, req.cases, &o).await?;
    for (report, want) in [(&base, current.id()), (&candidate, cand.id())] {
        if report.prompt_versions.iter().any(|v| *v != want) {
            return Err(Error::Config(format!(
                "the pipeline for {} answered with prompt {:?}; open it with prompt_label @{} / the label",
                want, report.prompt_versions, want
            )));
        }
    }
    let comparison = compare(&base, &candidate, &req.tolerance);
    let regressions = comparison.regression_summary();
    if !regressions.is_empty() {
        return Ok(PromoteOutcome {
            accepted: false,
            comparison,
            moved: None,
            regressions,
        });
    }
    let moved = registry
        .promote_label(PromoteLabelRequest {
            name: req.name.clone(),
            label: req.label.clone(),
            version: req.version,
            reason: format!(
                "golden set passed: {} cases, no regression vs {}",
                req.cases.len(),
                current.id()
            ),
        })
        .await?;
    Ok(PromoteOutcome {
        accepted: true,
        comparison,
        moved: Some(moved),
        regressions,
    })
}
