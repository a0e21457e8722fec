//! The golden-set format: JSON Lines, one case per line.
//!
//! ```json
//! {"id": "q1", "question": "退貨要幾天內申請？", "answerable": true,
//!  "expected_doc_ids": ["returns"], "expected_chunk_ids": [], "expected_answer": "七天",
//!  "tenant": "acme", "principals": []}
//! ```
//!
//! `question` is required; `id` defaults to the line number, `tenant` to the run's tenant,
//! `answerable` to `true`. Retrieval metrics use `expected_doc_ids` when given (document level,
//! duplicates of one document count once), else `expected_chunk_ids`. `expected_answer` (or any
//! of `expected_answers`) is checked as a normalised substring of the answer.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

fn yes() -> bool {
    true
}

/// One question of a golden set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoldenCase {
    /// Case id (default: `line-N`).
    #[serde(default)]
    pub id: String,
    /// The question.
    pub question: String,
    /// Tenant to ask as (default: [`super::EvalOptions::tenant`]).
    #[serde(default)]
    pub tenant: Option<String>,
    /// Principals to ask as.
    #[serde(default)]
    pub principals: Vec<String>,
    /// Whether the knowledge base contains the answer (unanswerable questions must be refused).
    #[serde(default = "yes")]
    pub answerable: bool,
    /// Documents that answer it.
    #[serde(default)]
    pub expected_doc_ids: Vec<String>,
    /// Chunks that answer it.
    #[serde(default)]
    pub expected_chunk_ids: Vec<String>,
    /// Text the answer should contain.
    #[serde(default)]
    pub expected_answer: Option<String>,
    /// Alternative texts, any of which counts.
    #[serde(default)]
    pub expected_answers: Vec<String>,
}

impl GoldenCase {
    /// All accepted answer texts.
    pub fn answers(&self) -> Vec<&str> {
        self.expected_answer
            .iter()
            .map(String::as_str)
            .chain(self.expected_answers.iter().map(String::as_str))
            .filter(|a| !a.trim().is_empty())
            .collect()
    }
}

/// Parses a golden set; `source` names it in errors (`golden.jsonl line 3: ...`).
pub fn parse_golden(text: &str, source: &str) -> Result<Vec<GoldenCase>> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.trim_start().starts_with("//") {
            continue;
        }
        let mut c: GoldenCase = serde_json::from_str(line).map_err(|e| Error::Load {
            path: source.into(),
            location: Some(format!("line {}", i + 1)),
            reason: format!("not a golden case ({e}); see the format in docs/evaluation.md"),
        })?;
        if c.question.trim().is_empty() {
            return Err(Error::Load {
                path: source.into(),
                location: Some(format!("line {}", i + 1)),
                reason: "the question is empty".into(),
            });
        }
        if c.id.is_empty() {
            c.id = format!("line-{}", i + 1);
        }
        out.push(c);
    }
    if out.is_empty() {
        return Err(Error::Load {
            path: source.into(),
            location: None,
            reason: "the golden set has no cases".into(),
        });
    }
    Ok(out)
}

/// Reads a golden set from a file.
pub fn read_golden(path: &std::path::Path) -> Result<Vec<GoldenCase>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Load {
        path: path.into(),
        location: None,
        reason: e.to_string(),
    })?;
    parse_golden(&text, &path.display().to_string())
}
