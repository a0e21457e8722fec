//! The plain JavaScript objects of the API, declared once here so `napi build` writes their
//! TypeScript interfaces into `index.d.ts`. Field names are camelCase in JavaScript
//! (`noAnswer`, `kbVersion`, `chunkId` ...). Conversions live in [`crate::convert`].

use std::collections::HashMap;

use napi::bindgen_prelude::Function;
use napi_derive::napi;

use crate::callbacks::{EmbedArgs, GuardArgs, GuardReply, Reply, Vector};

/// Who is asking: the tenant whose documents are searched and the principals (user, groups)
/// checked against document ACLs. Both are optional: the tenant defaults to `default`.
#[napi(object, object_to_js = false)]
pub struct ScopeOptions {
    /// The tenant (default `default`).
    pub tenant: Option<String>,
    /// User and group identifiers that may see documents carrying an ACL.
    pub principals: Option<Vec<String>>,
}

/// A document given directly to `ingest()`.
#[napi(object, object_to_js = false)]
pub struct DocumentInput {
    /// Stable identifier; ingesting the same id again replaces the document.
    pub id: String,
    /// The text content.
    pub text: String,
    /// Human-readable title (default: the id).
    pub title: Option<String>,
    /// `text` (default) or `faq` (a question followed by its answer).
    #[napi(ts_type = "'faq' | 'text'")]
    pub kind: Option<String>,
    /// Only scopes holding one of these principals see the document (default: the request's
    /// `acl`, or everyone in the tenant).
    pub acl: Option<Vec<String>>,
    /// Where the document came from, shown in citations (default: the id).
    pub source: Option<String>,
    /// Free-form string metadata kept with the document.
    pub metadata: Option<HashMap<String, String>>,
}

/// What to add to the knowledge base: files and directories, and/or documents.
#[napi(object, object_to_js = false)]
pub struct IngestOptions {
    /// Files and directories to load (text, Markdown, FAQ CSV/JSON).
    pub paths: Option<Vec<String>>,
    /// Documents given directly.
    pub documents: Option<Vec<DocumentInput>>,
    /// The tenant that owns them (default `default`).
    pub tenant: Option<String>,
    /// Principals allowed to see documents that carry no ACL of their own.
    pub acl: Option<Vec<String>>,
}

/// An embedder written in JavaScript. `embed` returns one vector per text, in order (arrays of
/// numbers, `Float32Array`s or `Float64Array`s), or a Promise of them; ragcore L2-normalises
/// them. Every vector must have exactly `dimensions` numbers.
#[napi(object, object_to_js = false)]
pub struct EmbedderOptions<'a> {
    /// The model name, recorded in the knowledge base: reopening it needs the same model and
    /// dimensions.
    pub model: String,
    /// The vector length.
    pub dimensions: u32,
    /// Embeds a batch of texts, in order.
    #[napi(
        ts_type = "(texts: string[], inputType: 'query' | 'passage') => Array<number[] | Float32Array | Float64Array> | Promise<Array<number[] | Float32Array | Float64Array>>"
    )]
    pub embed: Function<'a, EmbedArgs, Reply<Vec<Vector>>>,
}

/// A guardrail written in JavaScript, run on every question (stage `input`) and every answer
/// (stage `output`) after the built-in guards.
#[napi(object, object_to_js = false)]
pub struct GuardOptions<'a> {
    /// The guard's name, reported in verdicts and in `blocked` errors.
    pub name: String,
    /// Checks one text. Return `null`/`undefined` to pass, or a result (or a Promise of one).
    #[napi(
        ts_type = "(text: string, stage: 'input' | 'output', tenant: string) => GuardResult | null | undefined | Promise<GuardResult | null | undefined>"
    )]
    pub check: Function<'a, GuardArgs, GuardReply>,
}

/// What a JavaScript guard decided. `block` rejects the request with code `blocked`;
/// `redact` (or any non-blocking action) with `text` replaces the checked text.
#[napi(object, object_to_js = false)]
pub struct GuardResult {
    /// The decision.
    #[napi(ts_type = "'pass' | 'annotate' | 'redact' | 'block'")]
    pub action: String,
    /// A short explanation (without the sensitive content itself).
    pub detail: Option<String>,
    /// The rewritten text, for `redact`.
    pub text: Option<String>,
}

/// Options of `KnowledgeBase.open()`; everything left out gets the offline default (hashing
/// embedder, extractive answerer, built-in guards only).
#[napi(object, object_to_js = false)]
pub struct OpenOptions<'a> {
    /// A JavaScript embedder instead of the built-in hashing embedder.
    pub embedder: Option<EmbedderOptions<'a>>,
    /// JavaScript guardrails, run in order after the built-in ones.
    pub guards: Option<Vec<GuardOptions<'a>>>,
    /// `"lexical"`: rerank the fused candidates with the built-in reranker before the prompt
    /// is packed; `"none"` or absent: off.
    pub rerank: Option<String>,
    /// The guard policy (the Rust `GuardPolicy` as an object: `pii_mode`, `actions`,
    /// `banned_topics`, `canary`, `vault_ttl_secs`, `tenants`).
    #[napi(ts_type = "Record<string, unknown>")]
    pub guard_policy: Option<serde_json::Value>,
    /// Spend and rate limits (the Rust `BudgetConfig`): `{rules: [{dimension, value?, period,
    /// hard_limit_usd?, soft_limit_usd?}], over_budget: "error" | "degrade", rate_limits:
    /// [{dimension: "tenant" | "principal" | "feature", value?, rpm?, tpm?}]}`. Over a hard limit `ask` rejects with code
    /// `budget_exceeded` (or answers extractively, flagged `degraded`, with `"degrade"`).
    #[napi(ts_type = "Record<string, unknown>")]
    pub budgets: Option<serde_json::Value>,
    /// The answer cache (the Rust `CacheConfig`): `{ttl_secs?, semantic_threshold?,
    /// max_entries?}`; `{}` for the defaults; absent: no cache. `answer.cache` tells hit or miss.
    #[napi(ts_type = "Record<string, unknown>")]
    pub cache: Option<serde_json::Value>,
}

/// A text with its personal data replaced by vault placeholders.
#[napi(object, object_from_js = false)]
pub struct Pseudonymized {
    /// The text with `<EMAIL_1>`-style placeholders.
    pub text: String,
    /// Pass it to `restore()` to fill the placeholders in again.
    pub vault_id: String,
    /// The placeholders created, in order.
    pub placeholders: Vec<String>,
}

/// One file or document that could not be ingested (the rest was).
#[napi(object, object_from_js = false)]
pub struct IngestError {
    /// The ragcore error kind code, e.g. `load`.
    pub kind: String,
    /// The full message, naming the file, row and field.
    pub message: String,
}

/// What an ingest did.
#[napi(object, object_from_js = false)]
pub struct IngestReport {
    /// Knowledge-base version after the ingest.
    pub kb_version: i64,
    /// Documents loaded from the inputs.
    pub documents_seen: i64,
    /// New documents.
    pub documents_added: i64,
    /// Changed documents.
    pub documents_changed: i64,
    /// Unchanged documents (nothing embedded or written).
    pub documents_unchanged: i64,
    /// Chunks written.
    pub chunks_added: i64,
    /// Chunks no longer live.
    pub chunks_removed: i64,
    /// Texts sent to the embedder.
    pub chunks_embedded: i64,
    /// Embedding tokens spent.
    pub embedding_tokens: i64,
    /// Per-file and per-document failures.
    pub errors: Vec<IngestError>,
}

/// One retrieved chunk with its scores.
#[napi(object, object_from_js = false)]
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
    /// `text` or `faq`.
    #[napi(ts_type = "'faq' | 'text'")]
    pub kind: String,
    /// The fused relevance score (higher is better; comparable within one query).
    pub score: f64,
    /// Cosine similarity to the query embedding, when the vector search found the chunk.
    pub vector_score: Option<f64>,
    /// BM25 score, when the lexical search found the chunk.
    pub lexical_score: Option<f64>,
}

/// A passage cited by an answer; `index` is the `[n]` marker in the answer text.
#[napi(object, object_from_js = false)]
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
    pub score: f64,
}

/// Token usage of one request.
#[napi(object, object_from_js = false)]
pub struct Usage {
    /// Prompt tokens sent to the chat model.
    pub prompt_tokens: i64,
    /// Completion tokens produced by the chat model.
    pub completion_tokens: i64,
    /// Tokens embedded.
    pub embedding_tokens: i64,
    /// True when some count was computed locally instead of reported by the provider.
    pub estimated: bool,
    /// Of the prompt tokens, those served from the provider's prompt cache.
    pub cached_prompt_tokens: i64,
    /// Of the completion tokens, the reasoning tokens.
    pub reasoning_tokens: i64,
}

/// Money spent on one request, in US dollars.
#[napi(object, object_from_js = false)]
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

/// One guard's or check's verdict.
#[napi(object, object_from_js = false)]
pub struct Verdict {
    /// The guard or check name (e.g. `input_length`, `pii`, `no_answer`, or a JS guard's name).
    pub name: String,
    /// `input`, `retrieve`, `generate` or `output`.
    pub stage: String,
    /// What it did.
    #[napi(ts_type = "'pass' | 'annotate' | 'redact' | 'block'")]
    pub action: String,
    /// A short explanation without the sensitive content itself.
    pub detail: String,
}

/// The answer to a question.
#[napi(object, object_from_js = false)]
pub struct Answer {
    /// The answer text, with `[n]` citation markers.
    pub text: String,
    /// The passages the answer cites.
    pub citations: Vec<Citation>,
    /// True when the knowledge base had nothing relevant and the answer says so.
    pub no_answer: bool,
    /// The knowledge-base version the retrieval ran against.
    pub kb_version: i64,
    /// The prompt used, as `name@version`.
    pub prompt_version: String,
    /// The model that produced the text (`extractive` offline, `none` for a refusal).
    pub model: String,
    /// Token usage.
    pub usage: Usage,
    /// Money spent.
    pub cost: Cost,
    /// Milliseconds spent per stage (`guard_input`, `embed`, `retrieve`, `prompt`, ...).
    pub timings: HashMap<String, f64>,
    /// Verdicts of guards and checks.
    pub verdicts: Vec<Verdict>,
    /// True when a fallback path produced the answer (e.g. after a model failure).
    pub degraded: bool,
    /// `bypass` (no cache), `miss`, `exact_hit` or `semantic_hit`.
    pub cache: String,
}
