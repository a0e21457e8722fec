//! # ragcore for Node.js
//!
//! napi-rs bindings of the ragcore core: `KnowledgeBase.open(path, options?)` and its
//! Promise-returning `ingest`, `ask` and `retrieve`, with embedders and guardrails written in
//! JavaScript. The bindings stay thin: they convert arguments and results and adapt JavaScript
//! callbacks to the core traits; every decision is the core's.
//!
//! - [`kb`]: the `KnowledgeBase` class.
//! - [`types`]: the JavaScript objects (and so the TypeScript interfaces) of the API.
//! - [`convert`]: argument checking and result conversion.
//! - [`callbacks`]: JavaScript embedders and guardrails as core parts.
//! - [`errors`]: coded errors (`err.code` is the ragcore kind, plus `err.retryable`).
#![warn(missing_docs)]

pub mod callbacks;
pub mod convert;
pub mod errors;
pub mod kb;
pub mod knowledge;
pub mod stream;
pub mod types;
