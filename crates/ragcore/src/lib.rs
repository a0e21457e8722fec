//! # ragcore
//!
//! An operable retrieval-augmented QA core: ingest documents (Traditional Chinese and English),
//! retrieve with hybrid vector + BM25 search inside a tenant [`Scope`], and answer with citations,
//! honestly refusing when the knowledge base has no answer. It runs offline on an embedded
//! default (SQLite + HNSW, a hashing embedder, an extractive answerer) and talks to any
//! OpenAI-compatible API when configured.
//!
//! ```no_run
//! # async fn demo() -> ragcore::Result<()> {
//! use ragcore::{AskRequest, IngestRequest, LocalOptions, Pipeline, Scope};
//! let kb = Pipeline::open_local("./kb", LocalOptions::default()).await?;
//! kb.ingest(IngestRequest::paths("acme", ["examples/faq"])).await?;
//! let answer = kb.ask(AskRequest::new("退貨要幾天內申請？", Scope::tenant("acme"))).await?;
//! println!("{} {:?}", answer.text, answer.citations);
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

pub mod cache;
pub mod cost;
pub mod drift;
pub mod embed;
pub mod error;
pub mod eval;
pub mod guard;
mod http;
pub mod ingest;
pub mod llm;
mod local;
mod memo;
pub mod observe;
pub mod ops_file;
mod parallel;
pub mod pipeline;
#[cfg(feature = "postgres")]
pub mod postgres;
pub mod prompt;
pub mod retrieve;
pub mod store;
pub mod text;
pub mod types;

pub use cost::{CostMeter, PriceTable, TableMeter};
pub use drift::{DriftLog, DriftReport, DriftReportRequest, SqliteDriftLog};
pub use embed::{Embedder, HashingEmbedder, OpenAiEmbedder, OpenAiEmbedderConfig};
pub use error::{Error, ErrorKind, Result};
pub use guard::Guardrail;
pub use http::Endpoint;
pub use llm::{ChatModel, ExtractiveAnswerer, OpenAiChat, OpenAiChatConfig};
pub use local::{chat_from_env, embedder_from_env, LocalOptions};
pub use pipeline::{
    AskRequest, IngestError, IngestReport, IngestRequest, Pipeline, PipelineBuilder, PipelineConfig,
};
#[cfg(feature = "postgres")]
pub use postgres::{PgConfig, PgPool, PostgresOptions};
pub use prompt::PromptRegistry;
pub use retrieve::{Fusion, RetrievalConfig};
pub use store::{LocalStore, VectorStore};
pub use text::Segmenter;
pub use types::{
    Answer, CacheStatus, Chunk, Citation, Cost, Document, DocumentKind, Hit, Scope, Usage, Verdict,
    VerdictAction,
};
