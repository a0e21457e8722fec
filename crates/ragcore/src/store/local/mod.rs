//! [`LocalStore`]: the embedded default. One directory is one knowledge base: `kb.sqlite` (WAL)
//! holds documents, chunks, vectors, the BM25 index (FTS5) and the version history; the HNSW
//! graph next to it is a derived index rebuilt or caught up from SQLite on open.

mod ann;
mod export;
mod history;
mod hnsw;
mod ledger;
mod schema;
mod search;
mod term_cache;
mod write;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension};

pub use ann::AnnConfig;

/// The vector index on its own, for the ANN benchmark (`examples/ann_bench.rs`): the same
/// graph, visibility table and planner the store searches with. Not a stable API.
#[doc(hidden)]
pub mod ann_bench {
    pub use super::ann::{AnnIndex, Neighbour, Visibility};
}
use ann::{AnnIndex, Visibility};
use search::{
    fetch_chunks, fts_query, lexical_candidates, principals_json, read_kept, vector_candidates,
    DF_CAP, VISIBLE_SQL,
};
use term_cache::TermCache;
use write::{apply_delete, apply_upsert};

use super::{
    DeleteRequest, DocumentInfo, HybridHits, HybridSearchRequest, KbVersionInfo,
    LexicalSearchRequest, LiveChunkText, ReplaceVectorsRequest, RollbackRequest, StoreInfo,
    StoredChunk, TermStats, UpsertRequest, UpsertResult, VectorSearchRequest, VectorStore,
    VerifyReport, VersionDiff,
};
use crate::embed::EmbedderFingerprint;
use crate::error::{Error, Result};
use crate::retrieve::fuse_candidates;
use crate::types::Scope;

/// Settings of a [`LocalStore`].
#[derive(Debug, Clone)]
pub struct LocalStoreConfig {
    /// The embedding space; opening a knowledge base built with another one is an error.
    pub fingerprint: EmbedderFingerprint,
    /// Other settings that must match the stored data (chunker, segmenter), as a canonical
    /// string; a mismatch is an error.
    pub profile: String,
    /// HNSW and planner tuning.
    pub ann: AnnConfig,
}

/// SQLite + HNSW knowledge base in one directory. Cheap to clone (a shared handle).
#[derive(Clone)]
pub struct LocalStore {
    inner: Arc<Inner>,
}

struct Inner {
    dir: PathBuf,
    conn: Mutex<Connection>,
    ann: RwLock<AnnIndex>,
    fingerprint: EmbedderFingerprint,
    ann_config: AnnConfig,
    tenants: RwLock<HashMap<String, u32>>,
    /// Set while the stored vectors come from another embedder (opened with
    /// [`LocalStore::open_for_reembed`]): searches and writes are refused until
    /// `replace_vectors` has run. Holds the stored fingerprint, for messages.
    reembed_pending: RwLock<Option<String>>,
    /// Document frequencies of query terms until the database changes.
    term_cache: TermCache,
}

impl Inner {
    fn check_not_pending(&self) -> Result<()> {
        match &*self
            .reembed_pending
            .read()
            .map_err(|_| Error::poisoned("re-embed state"))?
        {
            Some(old) => Err(Error::Incompatible(format!(
                "{} holds vectors of embedder {old}, not {}; finish `ragcore reembed` \
                 (Pipeline::reembed) before searching or writing",
                self.dir.display(),
                self.fingerprint
            ))),
            None => Ok(()),
        }
    }
}

impl std::fmt::Debug for LocalStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalStore")
            .field("dir", &self.inner.dir)
            .finish()
    }
}

const DB_FILE: &str = "kb.sqlite";

impl LocalStore {
    /// Opens (or creates) the knowledge base in `dir`. Blocking: call from `spawn_blocking` in
    /// async code, or use [`LocalStore::open_async`].
    pub fn open(dir: impl AsRef<Path>, config: LocalStoreConfig) -> Result<Self> {
        Self::open_mode(dir.as_ref(), config, false)
    }

    /// Opens a knowledge base even when it was built with another embedder, to re-embed it
    /// with `config.fingerprint` ([`crate::Pipeline::reembed`]). Until then searches and writes
    /// are refused; the stored vectors are not loaded.
    pub fn open_for_reembed(dir: impl AsRef<Path>, config: LocalStoreConfig) -> Result<Self> {
        Self::open_mode(dir.as_ref(), config, true)
    }

    fn open_mode(dir: &Path, config: LocalStoreConfig, reembed: bool) -> Result<Self> {
        let dir = dir.to_path_buf();
        std::fs::create_dir_all(&dir).map_err(|e| {
            Error::Storage(format!(
                "cannot create knowledge base directory {}: {e}",
                dir.display()
            ))
        })?;
        let conn = Connection::open(dir.join(DB_FILE)).map_err(|e| {
            Error::Storage(format!("cannot open {}: {e}", dir.join(DB_FILE).display()))
        })?;
        schema::init(&conn)?;
        read_tuning(&conn)?;
        // Writes, reads and the logs on this connection use more distinct cached statements
        // than rusqlite's default of 16.
        conn.set_prepared_statement_cache_capacity(64);
        check_meta(
            &conn,
            "schema_version",
            schema::SCHEMA_VERSION,
            "schema version",
        )?;
        let fp_json = serde_json::to_string(&config.fingerprint)
            .map_err(|e| Error::Internal(e.to_string()))?;
        let stored_fp: Option<String> = conn
            .query_row("SELECT value FROM meta WHERE key='fingerprint'", [], |r| {
                r.get(0)
            })
            .optional()?;
        let mut pending = None;
        match stored_fp {
            Some(s) if s != fp_json => {
                let stored: Option<EmbedderFingerprint> = serde_json::from_str(&s).ok();
                let stored = stored.map(|f| f.to_string()).unwrap_or(s);
                if !reembed {
                    return Err(Error::Incompatible(format!(
                        "{} was built with embedder {stored}, but the configured embedder is {}; open it \
                         with the same embedder, or run `ragcore reembed --kb {}` (Pipeline::reembed) to \
                         re-embed it in place with the new one",
                        dir.display(),
                        config.fingerprint,
                        dir.display()
                    )));
                }
                pending = Some(stored);
            }
            Some(_) => {}
            None => {
                conn.execute(
                    "INSERT INTO meta(key, value) VALUES ('fingerprint', ?1)",
                    [&fp_json],
                )?;
            }
        }
        check_meta(
            &conn,
            "profile",
            &config.profile,
            "chunker/segmenter settings",
        )?;

        let tenants = load_tenants(&conn)?;
        let ann = if pending.is_some() {
            AnnIndex::new(config.ann, config.fingerprint.dimensions, 0)
        } else {
            build_ann(&dir, &conn, &config.ann, &config.fingerprint)?
        };
        Ok(LocalStore {
            inner: Arc::new(Inner {
                dir,
                conn: Mutex::new(conn),
                ann: RwLock::new(ann),
                fingerprint: config.fingerprint,
                ann_config: config.ann,
                tenants: RwLock::new(tenants),
                reembed_pending: RwLock::new(pending),
                term_cache: TermCache::default(),
            }),
        })
    }

    /// Opens the knowledge base for re-embedding on a blocking thread.
    pub async fn open_for_reembed_async(
        dir: impl AsRef<Path>,
        config: LocalStoreConfig,
    ) -> Result<Self> {
        let dir = dir.as_ref().to_path_buf();
        tokio::task::spawn_blocking(move || LocalStore::open_for_reembed(dir, config)).await?
    }

    /// Opens the knowledge base on a blocking thread.
    pub async fn open_async(dir: impl AsRef<Path>, config: LocalStoreConfig) -> Result<Self> {
        let dir = dir.as_ref().to_path_buf();
        tokio::task::spawn_blocking(move || LocalStore::open(dir, config)).await?
    }

    /// The knowledge base directory.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// Every live document of every tenant with its chunks, stored vectors and BM25 terms, one
    /// request per tenant (for copying the knowledge base into another store; nothing is
    /// re-embedded).
    pub async fn export_live(&self) -> Result<Vec<UpsertRequest>> {
        self.blocking(|inner| {
            let conn = inner.conn.lock().map_err(|_| Error::poisoned("database"))?;
            export::live_requests(&conn, inner.fingerprint.dimensions)
        })
        .await
    }

    /// Number of vectors in the HNSW graph, tombstones included.
    pub fn graph_len(&self) -> Result<usize> {
        Ok(self
            .inner
            .ann
            .read()
            .map_err(|_| Error::poisoned("vector index"))?
            .graph_len())
    }

    async fn blocking<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Inner) -> Result<T> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || f(&inner)).await?
    }
}

/// Bytes of `kb.sqlite` the store's connection reads through a memory map. Every ask commits
/// rows on other connections (event log, ledger, drift), which empties this connection's page
/// cache at its next read; with the file mapped those pages are re-read from the OS page cache
/// without a `pread` each.
const MMAP_BYTES: i64 = 1 << 30;

fn read_tuning(conn: &Connection) -> Result<()> {
    conn.pragma_update(None, "mmap_size", MMAP_BYTES)?;
    Ok(())
}

fn check_meta(conn: &Connection, key: &str, expected: &str, what: &str) -> Result<()> {
    let stored: Option<String> = conn
        .query_row("SELECT value FROM meta WHERE key=?1", [key], |r| r.get(0))
        .optional()?;
    match stored {
        Some(s) if s != expected => Err(Error::Incompatible(format!(
            "the knowledge base was built with {what} {s:?}, but {expected:?} is configured; use the stored \
             settings or build a new knowledge base"
        ))),
        Some(_) => Ok(()),
        None => {
            conn.execute("INSERT INTO meta(key, value) VALUES (?1, ?2)", [key, expected])?;
            Ok(())
        }
    }
}

fn load_tenants(conn: &Connection) -> Result<HashMap<String, u32>> {
    let mut stmt = conn.prepare("SELECT id, name FROM tenants")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(1)?, r.get::<_, u32>(0)?)))?;
    Ok(rows.collect::<rusqlite::Result<HashMap<_, _>>>()?)
}

fn kb_version(conn: &Connection) -> Result<u64> {
    Ok(conn
        .prepare_cached("SELECT COALESCE(MAX(version), 0) FROM kb_versions")?
        .query_row([], |r| r.get::<_, i64>(0))? as u64)
}

/// Visibility of every live chunk, from the documents' ACLs.
fn live_rows(conn: &Connection) -> Result<Vec<(i64, Vec<f32>, Visibility)>> {
    let mut acls: HashMap<(u32, String), Arc<[String]>> = HashMap::new();
    {
        let mut stmt =
            conn.prepare("SELECT tenant_id, doc_id, acl FROM documents WHERE acl != '[]'")?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, u32>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?;
        for row in rows {
            let (t, d, acl) = row?;
            let list: Vec<String> = serde_json::from_str(&acl).unwrap_or_default();
            acls.insert((t, d), list.into());
        }
    }
    let mut stmt = conn.prepare(
        "SELECT rowid, tenant_id, doc_id, vector FROM chunks WHERE version_removed IS NULL ORDER BY rowid",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, u32>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, Vec<u8>>(3)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (rowid, tenant, doc, blob) = row?;
        let acl = acls.get(&(tenant, doc)).cloned();
        out.push((
            rowid,
            schema::blob_to_vec(&blob),
            Visibility { tenant, acl },
        ));
    }
    Ok(out)
}

fn build_ann(
    dir: &Path,
    conn: &Connection,
    ann_config: &AnnConfig,
    fingerprint: &EmbedderFingerprint,
) -> Result<AnnIndex> {
    let dims = fingerprint.dimensions;
    let version = kb_version(conn)?;
    let db_max: i64 = conn.query_row("SELECT COALESCE(MAX(rowid), 0) FROM chunks", [], |r| {
        r.get(0)
    })?;
    let rows = live_rows(conn)?;
    for (rowid, v, _) in &rows {
        if v.len() != dims {
            return Err(Error::Incompatible(format!(
                "stored vector of chunk row {rowid} has {} dimensions, the embedder has {dims}",
                v.len()
            )));
        }
    }
    if let Some((mut idx, covered)) = AnnIndex::load(dir, *ann_config, dims, db_max, version) {
        let mut newer = Vec::new();
        for (rowid, v, vis) in rows {
            if rowid <= covered {
                idx.adopt(rowid, v, vis);
            } else {
                newer.push((rowid, v, vis));
            }
        }
        let caught_up = !newer.is_empty();
        idx.insert(newer)?;
        if caught_up {
            if let Err(e) = idx.persist(dir, version) {
                tracing::warn!(target: "ragcore::store", "cannot persist the caught-up vector index: {e}");
            }
        }
        return Ok(idx);
    }
    let mut idx = AnnIndex::new(*ann_config, dims, rows.len());
    let had_rows = !rows.is_empty();
    idx.insert(rows)?;
    if had_rows {
        if let Err(e) = idx.persist(dir, version) {
            tracing::warn!(target: "ragcore::store", "cannot persist the rebuilt vector index: {e}");
        }
    }
    Ok(idx)
}

/// Brings the vector index up to a committed write and persists it.
fn apply_to_index(ann: &mut AnnIndex, dir: &Path, applied: write::Applied) -> Result<UpsertResult> {
    if applied.inserted.is_empty() && applied.removed.is_empty() && applied.revisibled.is_empty() {
        return Ok(applied.result);
    }
    ann.remove(&applied.removed);
    for (rowid, vis) in applied.revisibled {
        ann.set_visibility(rowid, vis);
    }
    ann.insert(applied.inserted)?;
    ann.compact_if_needed()?;
    if let Err(e) = ann.persist(dir, applied.result.kb_version) {
        tracing::warn!(target: "ragcore::store", "vector index not persisted (it will be rebuilt on open): {e}");
    }
    Ok(applied.result)
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn tenant_id_of(inner: &Inner, tenant: &str) -> Result<Option<u32>> {
    Ok(inner
        .tenants
        .read()
        .map_err(|_| Error::poisoned("tenants"))?
        .get(tenant)
        .copied())
}

#[async_trait]
impl VectorStore for LocalStore {
    async fn info(&self) -> Result<StoreInfo> {
        self.blocking(|inner| {
            let conn = inner.conn.lock().map_err(|_| Error::poisoned("database"))?;
            let documents: i64 = conn.query_row("SELECT COUNT(*) FROM documents", [], |r| r.get(0))?;
            let chunks: i64 =
                conn.query_row("SELECT COUNT(*) FROM chunks WHERE version_removed IS NULL", [], |r| r.get(0))?;
            let mut stmt = conn.prepare(
                "SELECT name FROM tenants t WHERE EXISTS (SELECT 1 FROM documents d WHERE d.tenant_id = t.id) ORDER BY name",
            )?;
            let tenants = stmt.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<Vec<String>>>()?;
            Ok(StoreInfo {
                kb_version: kb_version(&conn)?,
                documents: documents as u64,
                chunks: chunks as u64,
                tenants,
                fingerprint: inner.fingerprint.clone(),
            })
        })
        .await
    }

    async fn kb_version(&self) -> Result<u64> {
        self.blocking(|inner| {
            let conn = inner.conn.lock().map_err(|_| Error::poisoned("database"))?;
            kb_version(&conn)
        })
        .await
    }

    async fn document_hashes(
        &self,
        tenant: &str,
        document_ids: &[String],
    ) -> Result<Vec<(String, String)>> {
        let tenant = tenant.to_string();
        let ids = document_ids.to_vec();
        self.blocking(move |inner| {
            let Some(t) = tenant_id_of(inner, &tenant)? else {
                return Ok(Vec::new());
            };
            let conn = inner.conn.lock().map_err(|_| Error::poisoned("database"))?;
            let mut stmt = conn.prepare_cached(
                "SELECT content_hash FROM documents WHERE tenant_id = ?1 AND doc_id = ?2",
            )?;
            let mut out = Vec::new();
            for id in ids {
                if let Some(h) = stmt
                    .query_row(params![t, id], |r| r.get::<_, String>(0))
                    .optional()?
                {
                    out.push((id, h));
                }
            }
            Ok(out)
        })
        .await
    }

    async fn existing_chunks(&self, tenant: &str, chunk_ids: &[String]) -> Result<Vec<String>> {
        let tenant = tenant.to_string();
        let ids = chunk_ids.to_vec();
        self.blocking(move |inner| {
            let Some(t) = tenant_id_of(inner, &tenant)? else { return Ok(Vec::new()) };
            let conn = inner.conn.lock().map_err(|_| Error::poisoned("database"))?;
            let mut stmt = conn.prepare_cached(
                "SELECT 1 FROM chunks WHERE tenant_id = ?1 AND chunk_id = ?2 AND version_removed IS NULL",
            )?;
            let mut out = Vec::new();
            for id in ids {
                if stmt.query_row(params![t, id], |_| Ok(())).optional()?.is_some() {
                    out.push(id);
                }
            }
            Ok(out)
        })
        .await
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
        self.inner.check_not_pending()?;
        self.blocking(move |inner| {
            // Lock order everywhere: vector index, then database.
            let mut ann = inner
                .ann
                .write()
                .map_err(|_| Error::poisoned("vector index"))?;
            let applied = {
                let mut conn = inner.conn.lock().map_err(|_| Error::poisoned("database"))?;
                apply_upsert(&mut conn, &request, &inner.tenants)?
            };
            apply_to_index(&mut ann, &inner.dir, applied)
        })
        .await
    }

    async fn delete(&self, request: DeleteRequest) -> Result<UpsertResult> {
        self.inner.check_not_pending()?;
        self.blocking(move |inner| {
            let Some(t) = tenant_id_of(inner, &request.tenant)? else {
                return Err(Error::NotFound { what: "tenant", name: request.tenant.clone() });
            };
            let mut ann = inner.ann.write().map_err(|_| Error::poisoned("vector index"))?;
            let (res, removed) = {
                let mut conn = inner.conn.lock().map_err(|_| Error::poisoned("database"))?;
                apply_delete(&mut conn, &request, t)?
            };
            if !removed.is_empty() {
                ann.remove(&removed);
                ann.compact_if_needed()?;
                if let Err(e) = ann.persist(&inner.dir, res.kb_version) {
                    tracing::warn!(target: "ragcore::store", "vector index not persisted (it will be rebuilt on open): {e}");
                }
            }
            Ok(res)
        })
        .await
    }

    async fn vector_search(&self, request: VectorSearchRequest) -> Result<Vec<StoredChunk>> {
        self.inner.check_not_pending()?;
        self.blocking(move |inner| {
            let Some(t) = tenant_id_of(inner, &request.scope.tenant)? else {
                return Ok(Vec::new());
            };
            let found = {
                let ann = inner
                    .ann
                    .read()
                    .map_err(|_| Error::poisoned("vector index"))?;
                ann.search(&request.vector, request.k, t, &request.scope.principals)
            };
            let ids: Vec<(i64, f32)> = found.iter().map(|n| (n.rowid, n.similarity)).collect();
            let conn = inner.conn.lock().map_err(|_| Error::poisoned("database"))?;
            fetch_chunks(&conn, t, &ids)
        })
        .await
    }

    async fn lexical_search(&self, request: LexicalSearchRequest) -> Result<Vec<StoredChunk>> {
        self.blocking(move |inner| {
            let Some(t) = tenant_id_of(inner, &request.scope.tenant)? else {
                return Ok(Vec::new());
            };
            let q = fts_query(&request.terms);
            if q.is_empty() || request.k == 0 {
                return Ok(Vec::new());
            }
            let principals = principals_json(&request.scope)?;
            let conn = inner.conn.lock().map_err(|_| Error::poisoned("database"))?;
            let ids: Vec<(i64, f32)> = lexical_candidates(&conn, t, &principals, &q, request.k)?
                .into_iter()
                .map(|c| (c.key, c.score))
                .collect();
            fetch_chunks(&conn, t, &ids)
        })
        .await
    }

    async fn hybrid_search(&self, request: HybridSearchRequest) -> Result<HybridHits> {
        // Candidates are ranked by row id and chunk id only; the full rows (text, title, ...)
        // are read for the `keep` fused ones, not for every candidate of both lists.
        if request.vector.is_some() {
            self.inner.check_not_pending()?;
        }
        let Some(t) = tenant_id_of(&self.inner, &request.scope.tenant)? else {
            return Ok(HybridHits::default());
        };
        let request = Arc::new(request);
        let vec_fut = async {
            let Some(vector) = request.vector.clone() else {
                return Ok(Vec::new());
            };
            let req = request.clone();
            self.blocking(move |inner| {
                let hits: Vec<(i64, f32)> = {
                    let ann = inner
                        .ann
                        .read()
                        .map_err(|_| Error::poisoned("vector index"))?;
                    ann.search(&vector, req.k, t, &req.scope.principals)
                        .iter()
                        .map(|n| (n.rowid, n.similarity))
                        .collect()
                };
                let conn = inner.conn.lock().map_err(|_| Error::poisoned("database"))?;
                vector_candidates(&conn, t, &hits)
            })
            .await
        };
        let lex_fut = async {
            let query = match &request.terms {
                Some(terms) if request.k > 0 => fts_query(terms),
                _ => String::new(),
            };
            if query.is_empty() {
                return Ok(Vec::new());
            }
            let principals = principals_json(&request.scope)?;
            let k = request.k;
            self.blocking(move |inner| {
                let conn = inner.conn.lock().map_err(|_| Error::poisoned("database"))?;
                lexical_candidates(&conn, t, &principals, &query, k)
            })
            .await
        };
        let (vector, lexical) = futures::try_join!(vec_fut, lex_fut)?;
        let top_similarity = vector.first().map(|c| c.score);
        let mut fused = fuse_candidates(&request.fusion, vector, lexical);
        fused.truncate(request.keep);
        if fused.is_empty() {
            return Ok(HybridHits {
                fused: Vec::new(),
                top_similarity,
            });
        }
        let fused = self
            .blocking(move |inner| {
                let conn = inner.conn.lock().map_err(|_| Error::poisoned("database"))?;
                read_kept(&conn, t, fused)
            })
            .await?;
        Ok(HybridHits {
            fused,
            top_similarity,
        })
    }

    async fn term_stats(&self, scope: &Scope, terms: &[String]) -> Result<TermStats> {
        let scope = scope.clone();
        let terms = terms.to_vec();
        self.blocking(move |inner| {
            let Some(t) = tenant_id_of(inner, &scope.tenant)? else {
                return Ok(TermStats { chunks: 0, document_frequency: vec![0; terms.len()] });
            };
            let conn = inner.conn.lock().map_err(|_| Error::poisoned("database"))?;
            let pj = principals_json(&scope)?;
            // IDF weights only need magnitudes: the total is the tenant's live chunks (ACL
            // ignored) and each document frequency is counted up to a cap, both within the
            // tenant so no other tenant's vocabulary can influence a decision.
            let total = || -> Result<u64> {
                let n: i64 = conn
                    .prepare_cached(
                        "SELECT COUNT(*) FROM chunks WHERE tenant_id = ?1 AND version_removed IS NULL",
                    )?
                    .query_row(params![t], |r| r.get(0))?;
                Ok(n as u64)
            };
            let df_sql = format!(
                "SELECT COUNT(*) FROM (SELECT 1 FROM chunks_fts JOIN chunks c ON c.rowid = chunks_fts.rowid \
                 JOIN documents d ON d.tenant_id = c.tenant_id AND d.doc_id = c.doc_id \
                 WHERE chunks_fts MATCH ?3 AND {VISIBLE_SQL} LIMIT {DF_CAP})"
            );
            let df = |term: &str| -> Result<u64> {
                let q = fts_query(&[term.to_string()]);
                if q.is_empty() {
                    return Ok(0);
                }
                let n: i64 = conn
                    .prepare_cached(&df_sql)?
                    .query_row(params![t, pj, q], |r| r.get(0))?;
                Ok(n as u64)
            };
            let (chunks, document_frequency) =
                inner.term_cache.stats(&conn, t, &pj, &terms, total, df)?;
            Ok(TermStats { chunks, document_frequency })
        })
        .await
    }

    async fn has_tenant(&self, tenant: &str) -> Result<bool> {
        Ok(tenant_id_of(&self.inner, tenant)?.is_some())
    }

    async fn versions(&self) -> Result<Vec<KbVersionInfo>> {
        self.blocking(|inner| {
            let conn = inner.conn.lock().map_err(|_| Error::poisoned("database"))?;
            ledger::versions(&conn)
        })
        .await
    }

    async fn diff(&self, tenant: &str, from: u64, to: u64) -> Result<VersionDiff> {
        let tenant = tenant.to_string();
        self.blocking(move |inner| {
            let Some(t) = tenant_id_of(inner, &tenant)? else {
                return Err(Error::NotFound {
                    what: "tenant",
                    name: tenant.clone(),
                });
            };
            let conn = inner.conn.lock().map_err(|_| Error::poisoned("database"))?;
            ledger::diff(&conn, t, from, to)
        })
        .await
    }

    async fn documents(&self, tenant: &str) -> Result<Vec<DocumentInfo>> {
        let tenant = tenant.to_string();
        self.blocking(move |inner| {
            let Some(t) = tenant_id_of(inner, &tenant)? else {
                return Ok(Vec::new());
            };
            let conn = inner.conn.lock().map_err(|_| Error::poisoned("database"))?;
            ledger::documents(&conn, t)
        })
        .await
    }

    async fn documents_at(&self, tenant: &str, version: u64) -> Result<Vec<String>> {
        let tenant = tenant.to_string();
        self.blocking(move |inner| {
            let Some(t) = tenant_id_of(inner, &tenant)? else {
                return Ok(Vec::new());
            };
            let conn = inner.conn.lock().map_err(|_| Error::poisoned("database"))?;
            history::document_ids_at(&conn, t, version)
        })
        .await
    }

    async fn rollback(&self, request: RollbackRequest) -> Result<UpsertResult> {
        self.inner.check_not_pending()?;
        self.blocking(move |inner| {
            let mut ann = inner
                .ann
                .write()
                .map_err(|_| Error::poisoned("vector index"))?;
            let applied = {
                let mut conn = inner.conn.lock().map_err(|_| Error::poisoned("database"))?;
                history::apply_rollback(
                    &mut conn,
                    &request,
                    inner.fingerprint.dimensions,
                    &inner.tenants,
                )?
            };
            apply_to_index(&mut ann, &inner.dir, applied)
        })
        .await
    }

    async fn live_chunk_texts(&self) -> Result<Vec<LiveChunkText>> {
        self.blocking(|inner| {
            let conn = inner.conn.lock().map_err(|_| Error::poisoned("database"))?;
            Ok(history::live_texts(&conn)?
                .into_iter()
                .map(|l| LiveChunkText {
                    row: l.rowid,
                    text: l.text,
                })
                .collect())
        })
        .await
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
        self.blocking(move |inner| {
            let mut ann = inner
                .ann
                .write()
                .map_err(|_| Error::poisoned("vector index"))?;
            let fp_json = serde_json::to_string(&inner.fingerprint)
                .map_err(|e| Error::Internal(e.to_string()))?;
            let conn_guard = {
                let mut conn = inner.conn.lock().map_err(|_| Error::poisoned("database"))?;
                history::replace_vectors(&mut conn, &request.vectors, &fp_json)?;
                conn
            };
            // The graph of the old vectors is useless: rebuild it from the new ones.
            ann::remove_persisted(&inner.dir);
            *ann = build_ann(
                &inner.dir,
                &conn_guard,
                &inner.ann_config,
                &inner.fingerprint,
            )?;
            let version = kb_version(&conn_guard)?;
            *inner
                .reembed_pending
                .write()
                .map_err(|_| Error::poisoned("re-embed state"))? = None;
            Ok(version)
        })
        .await
    }

    async fn verify(&self) -> Result<VerifyReport> {
        self.blocking(|inner| {
            let ann = inner
                .ann
                .read()
                .map_err(|_| Error::poisoned("vector index"))?;
            let conn = inner.conn.lock().map_err(|_| Error::poisoned("database"))?;
            ledger::verify(&conn, &ann, inner.fingerprint.dimensions)
        })
        .await
    }

    async fn repair(&self) -> Result<VerifyReport> {
        self.blocking(|inner| {
            let mut ann = inner
                .ann
                .write()
                .map_err(|_| Error::poisoned("vector index"))?;
            let conn = inner.conn.lock().map_err(|_| Error::poisoned("database"))?;
            ledger::repair_rows(&conn)?;
            // The vector index is derived: rebuild it from the database.
            ann::remove_persisted(&inner.dir);
            *ann = build_ann(&inner.dir, &conn, &inner.ann_config, &inner.fingerprint)?;
            ledger::verify(&conn, &ann, inner.fingerprint.dimensions)
        })
        .await
    }
}

/// Deletes the persisted vector index of a knowledge base directory (it is rebuilt on the next
/// open). Used to test recovery.
pub fn remove_vector_index(dir: impl AsRef<Path>) {
    ann::remove_persisted(dir.as_ref());
}
