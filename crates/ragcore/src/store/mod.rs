//! Storage of documents, chunks and vectors, and the two searches (vector and lexical) that
//! retrieval fuses. [`LocalStore`] is the embedded default (SQLite + HNSW).

pub mod local;
#[cfg(feature = "postgres")]
pub mod migrate;
#[cfg(feature = "postgres")]
pub mod postgres;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::embed::EmbedderFingerprint;
use crate::error::Result;
use crate::retrieve::{fuse, Fused, Fusion};
use crate::types::{Chunk, Document, DocumentKind, Scope};

pub use local::{AnnConfig, LocalStore, LocalStoreConfig};
#[cfg(feature = "postgres")]
pub use postgres::{PostgresStore, PostgresStoreConfig};

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
    /// Documents of the tenant to remove in the same transaction (a sync's deletions).
    pub delete_document_ids: Vec<String>,
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
    /// Documents removed.
    pub documents_removed: u64,
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

/// Make the live documents of one tenant (or of all) equal those of an earlier version, as a new
/// version. Stored chunks and vectors are reused: nothing is embedded.
#[derive(Debug, Clone)]
pub struct RollbackRequest {
    /// The tenant to roll back; `None`: every tenant.
    pub tenant: Option<String>,
    /// The version whose documents become live again.
    pub to_version: u64,
    /// How restored chunks are indexed for BM25 (the pipeline's segmenter).
    pub segmenter: crate::text::Segmenter,
}

/// A live chunk's text as the embedder sees it, for re-embedding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveChunkText {
    /// The store's row of the chunk.
    pub row: i64,
    /// Title, heading context and text, as embedded at ingest.
    pub text: String,
}

/// Replace the vectors of all live chunks with ones from a new embedder, as a new version.
#[derive(Debug, Clone)]
pub struct ReplaceVectorsRequest {
    /// The new embedding space.
    pub fingerprint: EmbedderFingerprint,
    /// One vector per live chunk row (all of them).
    pub vectors: Vec<(i64, Vec<f32>)>,
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

/// Hybrid retrieval inside a scope: the vector and the BM25 search, fused, with only the best
/// `keep` rows read.
#[derive(Debug, Clone)]
pub struct HybridSearchRequest {
    /// The query embedding (normalised); `None` skips the vector search.
    pub vector: Option<Vec<f32>>,
    /// Query terms for BM25 (matched with OR); `None` skips the lexical search.
    pub terms: Option<Vec<String>>,
    /// Who is asking; enforced inside both searches.
    pub scope: Scope,
    /// Candidates taken from each search.
    pub k: usize,
    /// Fused candidates kept (and read).
    pub keep: usize,
    /// How the two lists are combined (resolved: not `Auto`).
    pub fusion: Fusion,
}

/// What [`VectorStore::hybrid_search`] found.
#[derive(Debug, Clone, Default)]
pub struct HybridHits {
    /// The best `keep` fused candidates, best first.
    pub fused: Vec<Fused>,
    /// The best cosine similarity of the vector search (before fusion), if it found anything.
    pub top_similarity: Option<f32>,
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
    /// The document's `valid_until` date, when set.
    pub valid_until: Option<String>,
}

/// Document frequencies of terms within a scope, for IDF weighting.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TermStats {
    /// Number of visible chunks.
    pub chunks: u64,
    /// Per requested term, how many visible chunks contain it.
    pub document_frequency: Vec<u64>,
}

/// One knowledge-base version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KbVersionInfo {
    /// Version number (1, 2, ...).
    pub version: u64,
    /// When it was committed (seconds since the Unix epoch).
    pub created_at: i64,
    /// What made it (`ingest`, `sync`, `delete`).
    pub note: String,
    /// Documents added in this version.
    pub documents_added: u64,
    /// Documents changed in this version.
    pub documents_changed: u64,
    /// Documents removed in this version.
    pub documents_removed: u64,
}

/// Documents of one tenant that changed between two versions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionDiff {
    /// The older version (exclusive).
    pub from: u64,
    /// The newer version (inclusive).
    pub to: u64,
    /// Documents that exist at `to` but not at `from`.
    pub added: Vec<String>,
    /// Documents whose content changed.
    pub changed: Vec<String>,
    /// Documents that existed at `from` but not at `to`.
    pub removed: Vec<String>,
}

/// A live document as the ledger knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentInfo {
    /// Document id.
    pub id: String,
    /// Where it was loaded from.
    pub source: String,
    /// Title.
    pub title: String,
    /// Content hash.
    pub content_hash: String,
    /// The version that last wrote it.
    pub version: u64,
    /// Its `valid_until` date (YYYY-MM-DD), when set.
    pub valid_until: Option<String>,
}

/// What `verify` found when comparing the ledger, chunks, vectors, BM25 index and vector index.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyReport {
    /// Live chunks in the database.
    pub live_chunks: u64,
    /// Live chunks without a BM25 row (their documents must be re-ingested).
    pub missing_lexical: Vec<String>,
    /// BM25 rows of chunks that are not live.
    pub stray_lexical: u64,
    /// Live chunks whose document is gone.
    pub orphan_chunks: u64,
    /// Documents without any live chunk.
    pub empty_documents: Vec<String>,
    /// Live chunks whose stored vector has the wrong length.
    pub bad_vectors: u64,
    /// Live chunks the vector index cannot return.
    pub missing_in_index: u64,
    /// Vectors the index would return that are not live chunks.
    pub stray_in_index: u64,
}

impl VerifyReport {
    /// True when nothing is inconsistent.
    pub fn is_consistent(&self) -> bool {
        self.missing_lexical.is_empty()
            && self.stray_lexical == 0
            && self.orphan_chunks == 0
            && self.empty_documents.is_empty()
            && self.bad_vectors == 0
            && self.missing_in_index == 0
            && self.stray_in_index == 0
    }
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

    /// Both searches, fused, keeping the best `request.keep`. The default runs
    /// [`VectorStore::vector_search`] and [`VectorStore::lexical_search`] and fuses their rows
    /// with [`fuse`]; a store that can rank candidates by key first (the local store) overrides
    /// it to read only the rows it keeps. Both must give the ranking [`fuse`] gives.
    async fn hybrid_search(&self, request: HybridSearchRequest) -> Result<HybridHits> {
        let vec_fut = async {
            match &request.vector {
                Some(v) => {
                    self.vector_search(VectorSearchRequest {
                        vector: v.clone(),
                        scope: request.scope.clone(),
                        k: request.k,
                    })
                    .await
                }
                None => Ok(Vec::new()),
            }
        };
        let lex_fut = async {
            match &request.terms {
                Some(t) => {
                    self.lexical_search(LexicalSearchRequest {
                        terms: t.clone(),
                        scope: request.scope.clone(),
                        k: request.k,
                    })
                    .await
                }
                None => Ok(Vec::new()),
            }
        };
        let (vec_hits, lex_hits) = futures::try_join!(vec_fut, lex_fut)?;
        let top_similarity = vec_hits.first().map(|c| c.score);
        let mut fused = fuse(&request.fusion, vec_hits, lex_hits);
        fused.truncate(request.keep);
        Ok(HybridHits {
            fused,
            top_similarity,
        })
    }

    /// Document frequencies of terms within a scope.
    async fn term_stats(&self, scope: &Scope, terms: &[String]) -> Result<TermStats>;

    /// Whether a tenant has any documents.
    async fn has_tenant(&self, tenant: &str) -> Result<bool>;

    /// Every version, oldest first.
    async fn versions(&self) -> Result<Vec<KbVersionInfo>>;

    /// Documents of a tenant added, changed and removed after `from` up to `to`.
    async fn diff(&self, tenant: &str, from: u64, to: u64) -> Result<VersionDiff>;

    /// The live documents of a tenant.
    async fn documents(&self, tenant: &str) -> Result<Vec<DocumentInfo>>;

    /// Ids of the documents of a tenant that were live at `version`.
    async fn documents_at(&self, tenant: &str, version: u64) -> Result<Vec<String>>;

    /// A new version whose live documents equal those of an earlier one.
    async fn rollback(&self, request: RollbackRequest) -> Result<UpsertResult>;

    /// Every live chunk's embedded text, for [`VectorStore::replace_vectors`].
    async fn live_chunk_texts(&self) -> Result<Vec<LiveChunkText>>;

    /// Replaces every live chunk's vector and the stored fingerprint in one transaction, as a new
    /// version; returns it.
    async fn replace_vectors(&self, request: ReplaceVectorsRequest) -> Result<u64>;

    /// Compares the ledger, chunks, vectors and both indexes.
    async fn verify(&self) -> Result<VerifyReport>;

    /// Fixes what can be fixed without the source documents (derived indexes, stray rows) and
    /// returns what `verify` finds afterwards.
    async fn repair(&self) -> Result<VerifyReport>;

    /// True when other processes may commit to this store between two reads (a shared
    /// database). The pipeline then re-reads [`VectorStore::kb_version`] after retrieval and
    /// retrieves again when it moved, so an answer's citations come from one version. The
    /// embedded store is written by its own process only (default `false`).
    fn concurrent_writers(&self) -> bool {
        false
    }
}
