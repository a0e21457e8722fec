//! Guardrails: checks on the question before retrieval and on the answer before it is returned.
//! This module holds the [`Guardrail`] trait and the first two guards; each guard reports a
//! [`Verdict`] and may rewrite the text (redaction) or block the request.

mod canary;
pub mod checksums;
mod classifier;
mod grounding;
mod injection;
mod length;
#[cfg(feature = "postgres")]
mod pg_vault;
mod pii;
mod pii_recognizers;
pub mod policy;
mod secrets;
mod topics;
pub mod vault;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::types::{Scope, Verdict};

pub use canary::{random_hex, verbatim_overlap, Canary, CanaryLeak, VERBATIM_CHARS};
pub use classifier::{
    label_score, ChatClassifier, Classification, ClassifierGuard, ClassifyRequest, HttpClassifier,
    InjectionClassifier, CLASSIFIER_INSTRUCTION,
};
pub use grounding::{Groundedness, GroundednessChecker};
pub use injection::{normalize_for_injection, InjectionDetector, InjectionReport};
pub use length::InputLengthGuard;
#[cfg(feature = "postgres")]
pub use pg_vault::PgVault;
pub use pii::{PiiKind, PiiRedactor, PiiSpan, Redaction, RedactionMode};
pub use policy::{
    BannedTopic, GuardActions, GuardPolicy, NamedAction, PiiMode, PolicyAction, ResolvedPolicy,
    TenantPolicy,
};
pub use secrets::{shannon_entropy, SecretAction, SecretKind, SecretScanner, SecretSpan};
pub use topics::banned_topics_in;
pub use vault::{
    pseudonymize, restore, PlaceholderVault, Pseudonymized, SqliteVault, VaultEntry,
    VaultPurgeRequest, VaultResolveRequest, VaultStoreRequest,
};

/// Removes redaction placeholders (`[EMAIL]`, `[PHONE_3F2A9C]`, `<EMAIL_1>` ...) from a text, so
/// they do not take part in retrieval as if they were words of the question.
pub fn strip_placeholders(text: &str) -> String {
    let text = strip_bracketed(text, '[', ']');
    strip_bracketed(&text, '<', '>')
}

fn strip_bracketed(text: &str, open: char, close: char) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(open) {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        // Placeholders are short: look a bounded distance ahead, so a text of a million `[`
        // stays linear.
        let end = after
            .char_indices()
            .take(48)
            .find(|&(_, c)| c == close || c == open)
            .filter(|&(_, c)| c == close)
            .map(|(i, _)| i);
        match end {
            Some(end)
                if end > 0
                    && after[..end]
                        .chars()
                        .all(|c| c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit()) =>
            {
                out.push(' ');
                rest = &after[end + 1..];
            }
            _ => {
                out.push(open);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Where in the request path a guard runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GuardStage {
    /// On the user's question.
    Input,
    /// On the answer.
    Output,
}

impl GuardStage {
    /// `input` or `output`.
    pub fn as_str(self) -> &'static str {
        match self {
            GuardStage::Input => "input",
            GuardStage::Output => "output",
        }
    }
}

/// A text to check.
#[derive(Debug, Clone)]
pub struct GuardRequest {
    /// The text (question or answer).
    pub text: String,
    /// Which stage.
    pub stage: GuardStage,
    /// Who is asking.
    pub scope: Scope,
}

/// A guard's decision.
#[derive(Debug, Clone, PartialEq)]
pub struct GuardOutcome {
    /// What it found and did.
    pub verdict: Verdict,
    /// The rewritten text when the guard redacted something.
    pub rewritten: Option<String>,
}

/// A check on questions and answers.
#[async_trait]
pub trait Guardrail: Send + Sync {
    /// The guard's name, used in verdicts.
    fn name(&self) -> String;

    /// Checks one text. A `Block` verdict stops the request with [`crate::Error::Blocked`].
    async fn check(&self, request: GuardRequest) -> Result<GuardOutcome>;
}
