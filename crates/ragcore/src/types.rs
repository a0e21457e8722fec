//! Plain data types that flow through the pipeline: documents, chunks, scopes, hits and answers.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The tenant used when a caller does not name one.
pub const DEFAULT_TENANT: &str = "default";

/// Who is asking: the tenant whose knowledge may be searched, and the principals (user, groups)
/// used for per-document access control lists.
///
/// A chunk is visible to a scope when it belongs to the scope's tenant and either carries no ACL
/// or lists at least one of the scope's principals.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Scope {
    /// The tenant (customer, workspace) whose documents may be used.
    pub tenant: String,
    /// User and group identifiers checked against document ACLs.
    #[serde(default)]
    pub principals: Vec<String>,
}

impl Scope {
    /// A scope for `tenant` with no principals (sees only documents without an ACL).
    pub fn tenant(tenant: impl Into<String>) -> Self {
        Scope {
            tenant: tenant.into(),
            principals: Vec::new(),
        }
    }

    /// Adds principals to the scope.
    pub fn with_principals<I, S>(mut self, principals: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.principals
            .extend(principals.into_iter().map(Into::into));
        self
    }

    /// Checks that the tenant and principals are usable identifiers.
    pub fn validate(&self) -> Result<()> {
        validate_ident("scope.tenant", &self.tenant)?;
        for (i, p) in self.principals.iter().enumerate() {
            validate_ident(&format!("scope.principals[{i}]"), p)?;
        }
        Ok(())
    }
}

impl Default for Scope {
    fn default() -> Self {
        Scope::tenant(DEFAULT_TENANT)
    }
}

pub(crate) fn validate_ident(field: &str, value: &str) -> Result<()> {
    if value.trim().is_empty() {
        return Err(Error::invalid(field, "must not be empty"));
    }
    if value.len() > 256 {
        return Err(Error::invalid(field, "must be at most 256 bytes"));
    }
    if value.chars().any(|c| c.is_control()) {
        return Err(Error::invalid(field, "must not contain control characters"));
    }
    Ok(())
}

/// What kind of source a document came from; FAQ entries are answered from their answer part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    /// Free text (plain text, Markdown).
    #[default]
    Text,
    /// One question/answer pair from a FAQ file.
    Faq,
}

impl DocumentKind {
    /// `text` or `faq`, as stored and as the bindings show it.
    pub fn as_str(self) -> &'static str {
        match self {
            DocumentKind::Text => "text",
            DocumentKind::Faq => "faq",
        }
    }
    pub(crate) fn parse(s: &str) -> Self {
        if s == "faq" {
            DocumentKind::Faq
        } else {
            DocumentKind::Text
        }
    }
}

/// A source document, as produced by a loader or given by the caller.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Document {
    /// Stable identifier (a path for files, `file#row` for FAQ rows, or the caller's id).
    pub id: String,
    /// Human-readable title (file name, FAQ question, first heading).
    pub title: String,
    /// The text content.
    pub text: String,
    /// Text or FAQ.
    #[serde(default)]
    pub kind: DocumentKind,
    /// Where it came from (path), for citations.
    #[serde(default)]
    pub source: String,
    /// Access control list: when non-empty, only scopes holding one of these principals see it.
    #[serde(default)]
    pub acl: Vec<String>,
    /// Free-form metadata (strings), kept with the document.
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
}

impl Document {
    /// A plain-text document with the given id and text; title defaults to the id.
    pub fn new(id: impl Into<String>, text: impl Into<String>) -> Self {
        let id = id.into();
        Document {
            title: id.clone(),
            source: id.clone(),
            id,
            text: text.into(),
            kind: DocumentKind::Text,
            acl: Vec::new(),
            metadata: BTreeMap::new(),
        }
    }

    /// A FAQ entry: the question becomes the title, the text holds question and answer.
    pub fn faq(id: impl Into<String>, question: &str, answer: &str) -> Self {
        let mut d = Document::new(id, format!("{}\n{}", question.trim(), answer.trim()));
        d.title = question.trim().to_string();
        d.kind = DocumentKind::Faq;
        d
    }
}

/// A piece of a document small enough to embed and to put in a prompt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Chunk {
    /// Content-derived id: the same document id and text always give the same chunk id.
    pub id: String,
    /// The document this chunk belongs to.
    pub document_id: String,
    /// Position of the chunk in its document (0-based).
    pub ordinal: u32,
    /// Heading path the chunk sits under (Markdown), or the FAQ question.
    pub context: String,
    /// The chunk text.
    pub text: String,
    /// Exact token count of `text` under the chunker's tokenizer.
    pub tokens: u32,
}

impl Chunk {
    /// The text that is embedded and indexed: the heading context followed by the text.
    pub fn indexed_text(&self) -> String {
        if self.context.is_empty() || self.text.starts_with(&self.context) {
            self.text.clone()
        } else {
            format!("{}\n{}", self.context, self.text)
        }
    }
}

/// One retrieved chunk with its scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hit {
    /// The chunk id.
    pub chunk_id: String,
    /// The document id.
    pub document_id: String,
    /// The document title.
    pub title: String,
    /// The heading context of the chunk.
    pub context: String,
    /// The chunk text.
    pub text: String,
    /// Text or FAQ.
    pub kind: DocumentKind,
    /// The fused relevance score (higher is better; comparable within one query).
    pub score: f32,
    /// Cosine similarity to the query embedding, when the vector search found it.
    pub vector_score: Option<f32>,
    /// BM25 score (higher is better), when the lexical search found it.
    pub lexical_score: Option<f32>,
    /// The document's `valid_until` date (YYYY-MM-DD), when it has one.
    #[serde(default)]
    pub valid_until: Option<String>,
}

/// A passage cited by an answer; `index` is the `[n]` marker used in the answer text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Citation {
    /// The number used in the answer text, starting at 1.
    pub index: u32,
    /// The cited chunk.
    pub chunk_id: String,
    /// The document of the cited chunk.
    pub document_id: String,
    /// The document title.
    pub title: String,
    /// A short excerpt of the cited passage.
    pub snippet: String,
    /// The retrieval score of the passage.
    pub score: f32,
}

/// Token usage of one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Usage {
    /// Prompt (input) tokens sent to the chat model.
    pub prompt_tokens: u64,
    /// Completion (output) tokens produced by the chat model.
    pub completion_tokens: u64,
    /// Tokens embedded (query embedding, and chunks at ingest).
    pub embedding_tokens: u64,
    /// True when some count was computed locally instead of reported by the provider.
    pub estimated: bool,
    /// Of `prompt_tokens`, those the provider served from its prompt cache (billed at the
    /// cached-input price).
    #[serde(default)]
    pub cached_prompt_tokens: u64,
    /// Of `completion_tokens`, the reasoning tokens (billed at the reasoning price when the
    /// price table has one, else as output).
    #[serde(default)]
    pub reasoning_tokens: u64,
}

impl Usage {
    /// Adds another usage to this one.
    pub fn add(&mut self, other: &Usage) {
        self.prompt_tokens += other.prompt_tokens;
        self.completion_tokens += other.completion_tokens;
        self.embedding_tokens += other.embedding_tokens;
        self.estimated |= other.estimated;
        self.cached_prompt_tokens += other.cached_prompt_tokens;
        self.reasoning_tokens += other.reasoning_tokens;
    }
}

/// Money spent on one request, in US dollars.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Cost {
    /// Chat input cost.
    pub input_usd: f64,
    /// Chat output cost.
    pub output_usd: f64,
    /// Embedding cost.
    pub embedding_usd: f64,
    /// The sum.
    pub total_usd: f64,
}

impl Cost {
    /// Adds another cost to this one.
    pub fn add(&mut self, other: &Cost) {
        self.input_usd += other.input_usd;
        self.output_usd += other.output_usd;
        self.embedding_usd += other.embedding_usd;
        self.total_usd += other.total_usd;
    }
}

/// What a guard or check decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerdictAction {
    /// Nothing found.
    Pass,
    /// Something found and noted; the text is unchanged.
    Annotate,
    /// Something found and rewritten (redacted) in the text.
    Redact,
    /// The request was refused.
    Block,
    /// The answer failed a check and was generated again with a stricter instruction.
    Regenerate,
    /// Something found and only logged (policy `log_only`); the text is unchanged.
    LogOnly,
}

impl VerdictAction {
    /// `pass`, `annotate`, `redact`, `block`, `regenerate` or `log_only`, as serialized and as
    /// the bindings show it.
    pub fn as_str(self) -> &'static str {
        match self {
            VerdictAction::Pass => "pass",
            VerdictAction::Annotate => "annotate",
            VerdictAction::Redact => "redact",
            VerdictAction::Block => "block",
            VerdictAction::Regenerate => "regenerate",
            VerdictAction::LogOnly => "log_only",
        }
    }
}

/// One guard's or check's verdict, reported on the [`Answer`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// The guard or check name (e.g. `input_length`, `pii`, `no_answer`).
    pub name: String,
    /// `input` or `output`.
    pub stage: String,
    /// What it did.
    pub action: VerdictAction,
    /// A short explanation without the sensitive content itself.
    pub detail: String,
}

/// The result of [`crate::Pipeline::ask`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Answer {
    /// The answer text, with `[n]` citation markers.
    pub text: String,
    /// The passages the answer cites.
    pub citations: Vec<Citation>,
    /// True when the knowledge base had nothing relevant and the answer says so honestly.
    pub no_answer: bool,
    /// The knowledge base version the retrieval ran against.
    pub kb_version: u64,
    /// The prompt used, as `name@version`.
    pub prompt_version: String,
    /// The model that produced the text (`extractive` for the offline answerer).
    pub model: String,
    /// Token usage.
    pub usage: Usage,
    /// Money spent.
    pub cost: Cost,
    /// Milliseconds spent per stage (`guard_input`, `embed`, `retrieve`, `prompt`, `generate`, ...).
    pub timings: BTreeMap<String, f64>,
    /// Verdicts of guards and checks.
    pub verdicts: Vec<Verdict>,
    /// True when the answer was produced by a fallback path (e.g. the extractive answerer after a
    /// model failure) rather than the configured model.
    pub degraded: bool,
    /// Chunk ids retrieved for the question, best first (what the answer could draw on; the
    /// event log and evaluation use it).
    #[serde(default)]
    pub retrieved: Vec<String>,
    /// Whether the answer came from the answer cache (see [`crate::cache`]).
    #[serde(default)]
    pub cache: CacheStatus,
}

/// How the answer cache took part in an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CacheStatus {
    /// No cache is configured, or the answer could not be cached (a refusal without a model).
    #[default]
    Bypass,
    /// Looked up and not found; the answer was generated (and stored).
    Miss,
    /// The normalised question was found in the cache.
    ExactHit,
    /// A cached question similar enough (and not opposite) was found.
    SemanticHit,
}

impl CacheStatus {
    /// `bypass`, `miss`, `exact_hit` or `semantic_hit`, as serialized and as the bindings show it.
    pub fn as_str(self) -> &'static str {
        match self {
            CacheStatus::Bypass => "bypass",
            CacheStatus::Miss => "miss",
            CacheStatus::ExactHit => "exact_hit",
            CacheStatus::SemanticHit => "semantic_hit",
        }
    }

    /// True for either kind of hit.
    pub fn is_hit(self) -> bool {
        matches!(self, CacheStatus::ExactHit | CacheStatus::SemanticHit)
    }
}

/// Today's date (UTC) as YYYY-MM-DD.
pub fn today() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    civil_date((secs / 86_400) as i64)
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (H. Hinnant's algorithm).
pub(crate) fn civil_date(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Checks a YYYY-MM-DD date.
pub(crate) fn is_iso_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
        && matches!(s[5..7].parse::<u32>(), Ok(1..=12))
        && matches!(s[8..10].parse::<u32>(), Ok(1..=31))
}

#[cfg(test)]
mod date_tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_date(0), "1970-01-01");
        assert_eq!(civil_date(20_786), "2026-11-29");
        assert_eq!(civil_date(11_016), "2000-02-29");
        assert!(is_iso_date("2026-01-31") && !is_iso_date("2026-13-01") && !is_iso_date("26-1-1"));
    }
}
