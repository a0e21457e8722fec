//! Guardrails: checks on the question before retrieval and on the answer before it is returned.
//! This module holds the [`Guardrail`] trait and the first two guards; each guard reports a
//! [`Verdict`] and may rewrite the text (redaction) or block the request.

pub mod checksums;
mod grounding;
mod injection;
mod length;
mod pii;
mod pii_recognizers;
mod secrets;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::types::{Scope, Verdict};

pub use grounding::{Groundedness, GroundednessChecker};
pub use injection::{normalize_for_injection, InjectionDetector, InjectionReport};
pub use length::InputLengthGuard;
pub use pii::{PiiKind, PiiRedactor, PiiSpan, Redaction, RedactionMode};
pub use secrets::{shannon_entropy, SecretAction, SecretKind, SecretScanner, SecretSpan};

/// Removes redaction placeholders (`[EMAIL]`, `[PHONE]`, ...) from a text, so they do not take
/// part in retrieval as if they were words of the question.
pub fn strip_placeholders(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('[') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        match after.find(']') {
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
                out.push('[');
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
