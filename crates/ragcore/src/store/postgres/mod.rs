//! [`PostgresStore`] (feature `postgres`): the [`VectorStore`] on one shared PostgreSQL +
//! pgvector database, so many processes serve and update one knowledge base.
//!
//! The same semantics as [`crate::LocalStore`]: chunks are never updated in place (a changed
//! document retires its vanished chunks with `version_removed`), every write is one transaction
//! and one new version, `kb_doc_changes` records what each version did and `kb_doc_history`
//! every version of every document (rollback reuses stored vectors). Vectors live in
//! `vector(N)` with an HNSW index (inner product on normalised vectors); BM25 runs over a
//! `tsvector` of the terms segmented in Rust (`text/`), so Chinese is indexed exactly as locally.
//! Scope filters (tenant, document ACL) are part of every search's SQL.
//!
//! Concurrency: writers in any process serialise on a transaction-scoped advisory lock, then
//! read the next version number. A reader's statements each see one committed state; the
//! pipeline re-reads the version after retrieval and retries when another process committed in
//! between ([`VectorStore::concurrent_writers`]), so an answer's citations come from one version.

mod history;
mod schema;
mod search;
mod write;

use std::sync::Arc;

use async_trait::async_trait;

use super::{
    AnnConfig, DeleteRequest, DocumentInfo, KbVersionInfo, LexicalSearchRequest, LiveChunkText,
    ReplaceVectorsRequest, RollbackRequest, StoreInfo, StoredChunk, TermStats, UpsertRequest,
    UpsertResult, VectorSearchRequest, VectorStore, VerifyReport, VersionDiff,
};
use crate::embed::EmbedderFingerprint;
use crate::error::{Error, Result};
use crate::postgres::{map_err, PgPool};
use crate::types::Scope;

/// Settings of a [`PostgresStore`].
#[derive(Debug, Clone)]
pub struct PostgresStoreConfig {
    /// The embedding space; opening a knowledge base built with another one is an error.
    pub fingerprint: EmbedderFingerprint,
    /// Chunker and segmenter settings that must match the stored data (canonical string).
    pub profile: String,
    /// HNSW build settings (`max_connections` = m, `ef_construction`, used when the index is
    /// created), `ef_search`, and the exact-scan planner (`exact_max`, `exact_fraction`).
    pub ann: AnnConfig,
}

/// A knowledge base in PostgreSQL (tables `kb_*` in the pool's schema). Cheap to clone.
#[derive(Clone)]
pub struct PostgresStore {
    inner: Arc<Inner>,
}

pub(super) struct Inner {
    pool: PgPool,
    fingerprint: EmbedderFingerprint,
    ann: AnnConfig,
    /// The writers' advisory-lock key (one per schema).
    lock_key: String,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("schema", &self.inner.pool.schema())
            .field("fingerprint", &self.inner.fingerprint.to_string())
            .finish()
    }
}

impl PostgresStore {
    /// Opens (creating tables and enabling pgvector when missing) the knowledge base in the
    /// pool's schema. A knowledge base built with another embedder or chunker profile is an
    /// [`Error::Incompatible`].
    pub async fn open(pool: PgPool, config: PostgresStoreConfig) -> Result<Self> {
        let dims = config.fingerprint.dimensions;
        if dims == 0 || dims > 16000 {
            return Err(Error::invalid(
                "embedder dimensions",
                format!("{dims}: pgvector stores 1 to 16000 dimensions"),
            ));
        }
        schema::ensure(&pool, dims, &config.ann).await?;
        let fp_json = serde_json::to_string(&config.fingerprint)
            .map_err(|e| Error::Internal(e.to_string()))?;
        schema::check_meta(&pool, "fingerprint", &fp_json, "embedder").await?;
        schema::check_meta(
            &pool,
            "profile",
            &config.profile,
            "chunker/segmenter settings",
        )
        .await?;
        let lock_key = format!("ragcore:kb:{}", pool.schema().unwrap_or("public"));
        Ok(PostgresStore {
            inner: Arc::new(Inner {
                pool,
                fingerprint: config.fingerprint,
                ann: config.ann,
                lock_key,
            }),
        })
    }

    /// Writes several tenants' documents as one transaction and one new version (used by
    /// [`crate::store::migrate::migrate_local`]).
    pub async fn import(&self, requests: Vec<UpsertRequest>, note: &str) -> Result<UpsertResult> {
        for r in &requests {
            crate::types::validate_ident("tenant", &r.tenant)?;
        }
        let mut client = self.inner.pool.get().await?;
        let tx = begin(&mut client).await?;
        let version = write::begin_version(&tx, &self.inner.lock_key).await?;
        let mut total = UpsertResult::default();
        for r in &requests {
            let res = write::write_tenant(&tx, version, r).await?;
            total.documents_added += res.documents_added;
            total.documents_changed += res.documents_changed;
            total.documents_unchanged += res.documents_unchanged;
            total.documents_removed += res.documents_removed;
            total.chunks_added += res.chunks_added;
            total.chunks_removed += res.chunks_removed;
        }
        let tenants: Vec<String> = requests.iter().map(|r| r.tenant.clone()).collect();
        write::finish_version(tx, version, note, total, &tenants).await
    }

    /// Live chunks of these tenants.
    pub async fn live_chunks_of(&self, tenants: &[String]) -> Result<u64> {
        let client = self.inner.pool.get().await?;
        let n: i64 = client
            .query_one(
                "SELECT COUNT(*) FROM kb_chunks WHERE tenant = ANY($1) AND version_removed IS NULL",
                &[&tenants],
            )
            .await
            .map_err(map_err)?
            .get(0);
        Ok(n.max(0) as u64)
    }

    /// The pool this store uses (share it with the other PostgreSQL components).
    pub fn pool(&self) -> &PgPool {
        &self.inner.pool
    }
}

/// Starts a transaction on a pooled connection.
async fn begin(client: &mut deadpool_postgres::Object) -> Result<tokio_postgres::Transaction<'_>> {
    tokio_postgres::Client::transaction(client)
        .await
        .map_err(map_err)
}

#[async_trait]
impl VectorStore for PostgresStore {
    async fn info(&self) -> Result<StoreInfo> {
        let client = self.inner.pool.get().await?;
        let row = client
            .query_one(
                "SELECT (SELECT COUNT(*) FROM kb_documents), \
                 (SELECT COUNT(*) FROM kb_chunks WHERE version_removed IS NULL), \
                 (SELECT COALESCE(MAX(version), 0) FROM kb_versions), \
                 ARRAY(SELECT DISTINCT tenant FROM kb_documents ORDER BY tenant)",
                &[],
            )
            .await
            .map_err(map_err)?;
        Ok(StoreInfo {
            documents: row.get::<_, i64>(0) as u64,
            chunks: row.get::<_, i64>(1) as u64,
            kb_version: row.get::<_, i64>(2) as u64,
            tenants: row.get(3),
            fingerprint: self.inner.fingerprint.clone(),
        })
    }

    async fn kb_version(&self) -> Result<u64> {
        let client = self.inner.pool.get().await?;
        write::current_version(&**client).await
    }

    async fn document_hashes(
        &self,
        tenant: &str,
        document_ids: &[String],
    ) -> Result<Vec<(String, String)>> {
        let client = self.inner.pool.get().await?;
        let rows = client
            .query(
                "SELECT doc_id, content_hash FROM kb_documents WHERE tenant = $1 AND doc_id = ANY($2)",
                &[&tenant, &document_ids],
            )
            .await
            .map_err(map_err)?;
        let found: std::collections::HashMap<String, String> =
            rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        // In the order asked, as the local store.
        Ok(document_ids
            .iter()
            .filter_map(|id| found.get(id).map(|h| (id.clone(), h.clone())))
            .collect())
    }

    async fn existing_chunks(&self, tenant: &str, chunk_ids: &[String]) -> Result<Vec<String>> {
        let client = self.inner.pool.get().await?;
        let rows = client
            .query(
                "SELECT chunk_id FROM kb_chunks WHERE tenant = $1 AND chunk_id = ANY($2) \
                 AND version_removed IS NULL",
                &[&tenant, &chunk_ids],
            )
            .await
            .map_err(map_err)?;
        let found: std::collections::HashSet<String> = rows.iter().map(|r| r.get(0)).collect();
        Ok(chunk_ids
            .iter()
            .filter(|id| found.contains(*id))
            .cloned()
            .collect())
    }

    async fn upsert(&self, request: UpsertRequest) -> Result<UpsertResult> {
        crate::types::validate_ident("tenant", &request.tenant)?;
        let dims = self.inner.fingerprint.dimensions;
        for d in &request.documents {
            for c in &d.chunks {
                if let Some(v) = &c.vector {
                    if v.len() != dims {
                        return Err(Error::Incompatible(format!(
                            "chunk {} of document {} has a {}-dimensional vector; the knowledge base stores {dims}",
                            c.chunk.id,
                            d.document.id,
                            v.len()
                        )));
                    }
                }
            }
        }
        let mut client = self.inner.pool.get().await?;
        let tx = begin(&mut client).await?;
        write::apply_upsert(tx, &self.inner.lock_key, &request).await
    }

    async fn delete(&self, request: DeleteRequest) -> Result<UpsertResult> {
        if !self.has_tenant(&request.tenant).await? {
            return Err(Error::NotFound {
                what: "tenant",
                name: request.tenant.clone(),
            });
        }
        let mut client = self.inner.pool.get().await?;
        let tx = begin(&mut client).await?;
        write::apply_delete(tx, &self.inner.lock_key, &request).await
    }

    async fn vector_search(&self, request: VectorSearchRequest) -> Result<Vec<StoredChunk>> {
        search::vector_search(&self.inner, &request).await
    }

    async fn lexical_search(&self, request: LexicalSearchRequest) -> Result<Vec<StoredChunk>> {
        search::lexical_search(&self.inner, &request).await
    }

    async fn term_stats(&self, scope: &Scope, terms: &[String]) -> Result<TermStats> {
        search::term_stats(&self.inner, scope, terms).await
    }

    async fn has_tenant(&self, tenant: &str) -> Result<bool> {
        let client = self.inner.pool.get().await?;
        Ok(client
            .query_opt("SELECT 1 FROM kb_tenants WHERE tenant = $1", &[&tenant])
            .await
            .map_err(map_err)?
            .is_some())
    }

    async fn versions(&self) -> Result<Vec<KbVersionInfo>> {
        let client = self.inner.pool.get().await?;
        history::versions(&**client).await
    }

    async fn diff(&self, tenant: &str, from: u64, to: u64) -> Result<VersionDiff> {
        if !self.has_tenant(tenant).await? {
            return Err(Error::NotFound {
                what: "tenant",
                name: tenant.to_string(),
            });
        }
        let client = self.inner.pool.get().await?;
        history::diff(&**client, tenant, from, to).await
    }

    async fn documents(&self, tenant: &str) -> Result<Vec<DocumentInfo>> {
        let client = self.inner.pool.get().await?;
        history::documents(&**client, tenant).await
    }

    async fn documents_at(&self, tenant: &str, version: u64) -> Result<Vec<String>> {
        let client = self.inner.pool.get().await?;
        history::document_ids_at(&**client, tenant, version).await
    }

    async fn rollback(&self, request: RollbackRequest) -> Result<UpsertResult> {
        let mut client = self.inner.pool.get().await?;
        let tx = begin(&mut client).await?;
        history::apply_rollback(tx, &self.inner.lock_key, &request).await
    }

    async fn live_chunk_texts(&self) -> Result<Vec<LiveChunkText>> {
        let client = self.inner.pool.get().await?;
        Ok(history::live_texts(&**client)
            .await?
            .into_iter()
            .map(|(row, text)| LiveChunkText { row, text })
            .collect())
    }

    async fn replace_vectors(&self, request: ReplaceVectorsRequest) -> Result<u64> {
        if request.fingerprint != self.inner.fingerprint {
            return Err(Error::Incompatible(format!(
                "the new vectors come from embedder {}, but the store was opened for {}",
                request.fingerprint, self.inner.fingerprint
            )));
        }
        let dims = self.inner.fingerprint.dimensions;
        if let Some((row, v)) = request.vectors.iter().find(|(_, v)| v.len() != dims) {
            return Err(Error::Incompatible(format!(
                "the new vector of chunk row {row} has {} dimensions, the embedder {dims}",
                v.len()
            )));
        }
        let fp_json = serde_json::to_string(&self.inner.fingerprint)
            .map_err(|e| Error::Internal(e.to_string()))?;
        let mut client = self.inner.pool.get().await?;
        let tx = begin(&mut client).await?;
        history::replace_vectors(tx, &self.inner.lock_key, &request.vectors, &fp_json).await
    }

    async fn verify(&self) -> Result<VerifyReport> {
        let client = self.inner.pool.get().await?;
        history::verify(&**client).await
    }

    async fn repair(&self) -> Result<VerifyReport> {
        {
            let mut client = self.inner.pool.get().await?;
            let tx = begin(&mut client).await?;
            history::repair(tx, &self.inner.lock_key).await?;
        }
        self.verify().await
    }

    fn concurrent_writers(&self) -> bool {
        true
    }
}
