//! [`InputLengthGuard`]: refuses questions longer than a limit (characters and tokens).

use async_trait::async_trait;

use super::{GuardOutcome, GuardRequest, GuardStage, Guardrail};
use crate::error::Result;
use crate::text::Tokenizer;
use crate::types::{Verdict, VerdictAction};

/// Blocks input over `max_chars` characters or `max_tokens` tokens.
#[derive(Debug, Clone)]
pub struct InputLengthGuard {
    /// Character limit.
    pub max_chars: usize,
    /// Token limit (cl100k_base).
    pub max_tokens: usize,
}

impl Default for InputLengthGuard {
    fn default() -> Self {
        InputLengthGuard {
            max_chars: 4000,
            max_tokens: 1000,
        }
    }
}

#[async_trait]
impl Guardrail for InputLengthGuard {
    fn name(&self) -> String {
        "input_length".into()
    }

    async fn check(&self, request: GuardRequest) -> Result<GuardOutcome> {
        let verdict = |action, detail: String| Verdict {
            name: self.name(),
            stage: request.stage.as_str().into(),
            action,
            detail,
        };
        if request.stage != GuardStage::Input {
            return Ok(GuardOutcome {
                verdict: verdict(VerdictAction::Pass, "not an input".into()),
                rewritten: None,
            });
        }
        let chars = request.text.chars().count();
        if chars > self.max_chars {
            return Ok(GuardOutcome {
                verdict: verdict(
                    VerdictAction::Block,
                    format!(
                        "question has {chars} characters; the limit is {}",
                        self.max_chars
                    ),
                ),
                rewritten: None,
            });
        }
        let tokens = Tokenizer::Cl100kBase.count(&request.text)?;
        if tokens > self.max_tokens {
            return Ok(GuardOutcome {
                verdict: verdict(
                    VerdictAction::Block,
                    format!(
                        "question has {tokens} tokens; the limit is {}",
                        self.max_tokens
                    ),
                ),
                rewritten: None,
            });
        }
        Ok(GuardOutcome {
            verdict: verdict(
                VerdictAction::Pass,
                format!("{chars} characters, {tokens} tokens"),
            ),
            rewritten: None,
        })
    }
}
