//! Ingestion: loading files (text, Markdown, FAQ tables, HTML, PDF) into documents and cutting
//! documents into chunks.

pub mod chunker;
mod faq;
#[cfg(feature = "html")]
pub mod html;
pub mod loaders;
#[cfg(feature = "pdf")]
pub mod pdf;

pub use chunker::{Chunker, ChunkerConfig};
pub use loaders::{load_file, load_paths, Loaded};
