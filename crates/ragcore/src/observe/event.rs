//! [`AskEvent`]: what one `ask` did, built from its [`Answer`] or its error.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::types::{Answer, CacheStatus, Scope, Usage, Verdict, VerdictAction};

/// One row of the event log: one `ask`, answered, refused or failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AskEvent {
    /// Unique id of the request.
    pub request_id: String,
    /// When it finished, Unix milliseconds.
    pub at_ms: i64,
    /// Tenant of the scope.
    pub tenant: String,
    /// Principals of the scope.
    #[serde(default)]
    pub principals: Vec<String>,
    /// The question, personal data redacted.
    pub question: String,
    /// `answered`, `no_answer` or `error`.
    pub outcome: String,
    /// The answer text (personal data redacted; empty on error).
    #[serde(default)]
    pub answer: String,
    /// `name@version` of the prompt (empty when the request failed before the prompt).
    #[serde(default)]
    pub prompt_version: String,
    /// KB version the answer was retrieved from.
    #[serde(default)]
    pub kb_version: u64,
    /// The model that answered (`none` for refusals).
    #[serde(default)]
    pub model: String,
    /// Chunk ids retrieved, best first.
    #[serde(default)]
    pub retrieved: Vec<String>,
    /// Chunk ids cited.
    #[serde(default)]
    pub cited: Vec<String>,
    /// Guard and check verdicts.
    #[serde(default)]
    pub verdicts: Vec<Verdict>,
    /// Groundedness score 0..1 of an answer (none for refusals and errors).
    #[serde(default)]
    pub groundedness: Option<f32>,
    /// Answered extractively after a model error.
    #[serde(default)]
    pub degraded: bool,
    /// Served from the answer cache (exact or semantic hit).
    #[serde(default)]
    pub cache_hit: bool,
    /// How the answer cache took part: `bypass` (no cache, or not cacheable), `miss`,
    /// `exact_hit`, `semantic_hit`.
    #[serde(default)]
    pub cache: CacheStatus,
    /// Tokens.
    #[serde(default)]
    pub usage: Usage,
    /// Total cost in USD.
    #[serde(default)]
    pub cost_usd: f64,
    /// Milliseconds per stage.
    #[serde(default)]
    pub timings: BTreeMap<String, f64>,
    /// End-to-end milliseconds.
    #[serde(default)]
    pub latency_ms: f64,
    /// Error kind code when the request failed.
    #[serde(default)]
    pub error_kind: Option<String>,
    /// Error message when the request failed (personal data redacted).
    #[serde(default)]
    pub error: Option<String>,
}

/// Unix milliseconds now.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A new request id: time, process and a counter (unique within and across processes).
pub fn new_request_id() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    format!("{:x}-{:x}-{n:x}", now_ms(), std::process::id())
}

/// The groundedness score of an answer, from its `groundedness` verdict (`score 0.83 ...`).
pub fn groundedness_of(verdicts: &[Verdict]) -> Option<f32> {
    verdicts
        .iter()
        .find(|v| v.name == "groundedness")
        .and_then(|v| v.detail.strip_prefix("score "))
        .and_then(|rest| {
            rest.split(|c: char| !(c.is_ascii_digit() || c == '.'))
                .next()
                .and_then(|n| n.parse().ok())
        })
}

/// Whether the verdicts say the answer came from the cache (the `cache` verdict of a hit,
/// whose detail starts with `exact_hit` or `semantic_hit`).
pub fn cache_hit_of(verdicts: &[Verdict]) -> bool {
    let hit = [
        CacheStatus::ExactHit.as_str(),
        CacheStatus::SemanticHit.as_str(),
    ];
    verdicts
        .iter()
        .any(|v| v.name == "cache" && hit.iter().any(|h| v.detail.trim_start().starts_with(h)))
}

/// Verdicts that are guard triggers (anything but `pass`).
pub fn triggers(verdicts: &[Verdict]) -> impl Iterator<Item = &Verdict> {
    verdicts.iter().filter(|v| v.action != VerdictAction::Pass)
}

impl AskEvent {
    /// The event of an answered (or honestly refused) question.
    pub fn from_answer(
        scope: &Scope,
        question: &str,
        answer: &Answer,
        latency_ms: f64,
    ) -> AskEvent {
        AskEvent {
            request_id: new_request_id(),
            at_ms: now_ms(),
            tenant: scope.tenant.clone(),
            principals: scope.principals.clone(),
            question: question.to_string(),
            outcome: if answer.no_answer {
                "no_answer"
            } else {
                "answered"
            }
            .into(),
            answer: answer.text.clone(),
            prompt_version: answer.prompt_version.clone(),
            kb_version: answer.kb_version,
            model: answer.model.clone(),
            retrieved: answer.retrieved.clone(),
            cited: answer
                .citations
                .iter()
                .map(|c| c.chunk_id.clone())
                .collect(),
            verdicts: answer.verdicts.clone(),
            groundedness: if answer.no_answer {
                None
            } else {
                groundedness_of(&answer.verdicts)
            },
            degraded: answer.degraded,
            cache_hit: matches!(
                answer.cache,
                CacheStatus::ExactHit | CacheStatus::SemanticHit
            ),
            cache: answer.cache,
            usage: answer.usage,
            cost_usd: answer.cost.total_usd,
            timings: answer.timings.clone(),
            latency_ms,
            error_kind: None,
            error: None,
        }
    }

    /// The event of a failed request.
    pub fn from_error(scope: &Scope, question: &str, error: &Error, latency_ms: f64) -> AskEvent {
        let mut verdicts = Vec::new();
        if let Error::Blocked { guard, reason } = error {
            verdicts.push(Verdict {
                name: guard.clone(),
                stage: "input".into(),
                action: VerdictAction::Block,
                detail: reason.clone(),
            });
        }
        AskEvent {
            request_id: new_request_id(),
            at_ms: now_ms(),
            tenant: scope.tenant.clone(),
            principals: scope.principals.clone(),
            question: question.to_string(),
            outcome: "error".into(),
            answer: String::new(),
            prompt_version: String::new(),
            kb_version: 0,
            model: String::new(),
            retrieved: Vec::new(),
            cited: Vec::new(),
            verdicts,
            groundedness: None,
            degraded: false,
            cache_hit: false,
            cache: CacheStatus::Bypass,
            usage: Usage::default(),
            cost_usd: 0.0,
            timings: BTreeMap::new(),
            latency_ms,
            error_kind: Some(error.kind().code().to_string()),
            error: Some(error.to_string()),
        }
    }
}
