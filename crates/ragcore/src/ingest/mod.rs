//! Ingestion: loading files into documents and cutting documents into chunks.

pub mod chunker;
mod faq;
pub mod loaders;

pub use chunker::{Chunker, ChunkerConfig};
pub use loaders::{load_file, load_paths, Loaded};
