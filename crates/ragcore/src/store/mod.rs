//! Storage of documents, chunks and vectors, and the two searches (vector and lexical) that
//! retrieval fuses. [`LocalStore`] is the embedded default (SQLite + HNSW).

pub mod local;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::embed::EmbedderFingerprint;
use crate::error::Result;
use crate::types::{Chunk, Document, DocumentKind, Scope};

pub use local::{AnnConfig, LocalStore, LocalStoreConfig};

/// A chunk ready to store; `vector` is `None` when the store already holds this chunk id for
/// the tenant (its vector is kept).
#[derive(Debug, Clone)]
pub struct ChunkRecord {
    /// The chunk.
    pub chunk: Chunk,
    /// Its text as indexed for BM25 (segmented terms separated by spaces).
    pub lexical_terms: String,
    /// Its embedding, L2-normalised.
    pub vector: Option<Vec<f32>>,
}

/// One document and all of its chunks, replacing whatever the store held for that id.
#[derive(Debug, Clone)]
pub struct DocumentRecord {
    /// The document.
    pub document: Document,
    /// SHA-256 of the document text and metadata, used to skip unchanged documents.
    pub content_hash: String,
    /// All of its chunks, in order.
    pub chunks: Vec<ChunkRecord>,
}

/// Write documents for one tenant as one transaction and one new knowledge-base version.
#[derive(Debug, Clone)]
pub struct UpsertRequest {
    /// The tenant that owns the documents.
    pub tenant: String,
    /// Documents to add or replace.
    pub documents: Vec<DocumentRecord>,
    /// A note stored with the new version.
    pub note: String,
}

/// What an upsert changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpsertResult {
    /// The knowledge-base version after the write (unchanged when nothing changed).
    pub kb_version: u64,
    /// Documents that did not exist before.
    pub documents_added: u64,
    /// Documents whose content changed.
    pub documents_changed: u64,
    /// Documents with identical content (skipped).
    pub documents_unchanged: u64,
    /// Chunks written.
    pub chunks_added: u64,
    /// Chunks that stopped being live.
    pub chunks_removed: u64,
}

/// Remove documents of one tenant.
#[derive(Debug, Clone)]
pub struct DeleteRequest {
    /// The tenant.
    pub tenant: String,
    /// Document ids to remove.
    pub document_ids: Vec<String>,
}

/// A nearest-neighbour search inside a scope.
#[derive(Debug, Clone)]
pub struct VectorSearchRequest {
    /// The query embedding (normalised).
    pub vector: Vec<f32>,
    /// Who is asking; enforced inside the search.
    pub scope: Scope,
    /// How many hits.
    pub k: usize,
}

/// A BM25 search inside a scope.
#[derive(Debug, Clone)]
pub struct LexicalSearchRequest {
    /// Query terms (already segmented and normalised); matched with OR.
    pub terms: Vec<String>,
    /// Who is asking; enforced inside the search.
    pub scope: Scope,
    /// How many hits.
    pub k: usize,
}

/// A stored chunk with what retrieval needs to show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredChunk {
    /// The chunk.
    pub chunk: Chunk,
    /// Title of its document.
    pub title: String,
    /// Kind of its document.
    pub kind: DocumentKind,
    /// Score from the search that found it (cosine similarity or BM25, higher is better).
    pub score: f32,
}

/// Document frequencies of terms within a scope, for IDF weighting.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TermStats {
    /// Number of visible chunks.
    pub chunks: u64,
    /// Per requested term, how many visible chunks contain it.
    pub document_frequency: Vec<u64>,
}

/// Summary of a knowledge base.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoreInfo {
    /// Current knowledge-base version (0 when empty).
    pub kb_version: u64,
    /// Live documents (all tenants).
    pub documents: u64,
    /// Live chunks (all tenants).
    pub chunks: u64,
    /// Tenants that have documents.
    pub tenants: Vec<String>,
    /// The embedding space of the stored vectors.
    pub fingerprint: EmbedderFingerprint,
}

/// Stores documents, chunks and vectors and searches them within a [`Scope`].
///
/// Implementations enforce the scope inside each search (never by filtering a global top-k), so
/// a search returns up to `k` hits the scope may see.
#[async_trait]
pub trait VectorStore: Send + Sync {
    /// Summary and fingerprint.
    async fn info(&self) -> Result<StoreInfo>;

    /// The current knowledge-base version (cheap).
    async fn kb_version(&self) -> Result<u64>;

    /// Content hashes of the given documents of a tenant (absent ids are omitted), so callers can
    /// skip unchanged documents.
    async fn document_hashes(
        &self,
        tenant: &str,
        document_ids: &[String],
    ) -> Result<Vec<(String, String)>>;

    /// Which of these chunk ids the tenant already has live (their vectors can be reused).
    async fn existing_chunks(&self, tenant: &str, chunk_ids: &[String]) -> Result<Vec<String>>;

    /// Adds or replaces documents atomically as a new knowledge-base version.
    async fn upsert(&self, request: UpsertRequest) -> Result<UpsertResult>;

    /// Removes documents atomically as a new knowledge-base version.
    async fn delete(&self, request: DeleteRequest) -> Result<UpsertResult>;

    /// Nearest neighbours of a vector within a scope.
    async fn vector_search(&self, request: VectorSearchRequest) -> Result<Vec<StoredChunk>>;

    /// BM25 matches of terms within a scope.
    async fn lexical_search(&self, request: LexicalSearchRequest) -> Result<Vec<StoredChunk>>;

    /// Document frequencies of terms within a scope.
    async fn term_stats(&self, scope: &Scope, terms: &[String]) -> Result<TermStats>;

    /// Whether a tenant has any documents.
    async fn has_tenant(&self, tenant: &str) -> Result<bool>;
}
