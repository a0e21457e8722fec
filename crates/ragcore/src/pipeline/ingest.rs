//! The ingestion path: load, skip unchanged documents, chunk, embed only new chunks, write one
//! version; and `sync`, which also removes the documents a source no longer has.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tracing::Instrument;

use super::Pipeline;
use crate::embed::{EmbedRequest, InputType};
use crate::error::{Error, Result};
use crate::ingest::load_paths;
use crate::store::{ChunkRecord, DocumentRecord, UpsertRequest};
use crate::types::{validate_ident, Document};

/// Add documents to the knowledge base: files and directories, and/or documents given directly.
#[derive(Debug, Clone, Default)]
pub struct IngestRequest {
    /// Files and directories to load.
    pub paths: Vec<PathBuf>,
    /// Documents given directly.
    pub documents: Vec<Document>,
    /// The tenant that owns them.
    pub tenant: String,
    /// Principals allowed to see documents that carry no ACL of their own (empty: whole tenant).
    pub acl: Vec<String>,
}

impl IngestRequest {
    /// Ingest `paths` for `tenant`.
    pub fn paths<I, P>(tenant: impl Into<String>, paths: I) -> Self
    where
        I: IntoIterator<Item = P>,
        P: Into<PathBuf>,
    {
        IngestRequest {
            paths: paths.into_iter().map(Into::into).collect(),
            tenant: tenant.into(),
            ..Default::default()
        }
    }

    /// Ingest `documents` for `tenant`.
    pub fn documents(tenant: impl Into<String>, documents: Vec<Document>) -> Self {
        IngestRequest {
            documents,
            tenant: tenant.into(),
            ..Default::default()
        }
    }
}

/// One file or row that could not be ingested.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IngestError {
    /// The error kind code.
    pub kind: String,
    /// The full message (names the file, row and field).
    pub message: String,
}

/// What an ingest did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IngestReport {
    /// Knowledge-base version after the ingest.
    pub kb_version: u64,
    /// Documents loaded from the inputs.
    pub documents_seen: u64,
    /// New documents.
    pub documents_added: u64,
    /// Changed documents.
    pub documents_changed: u64,
    /// Unchanged documents (nothing embedded or written).
    pub documents_unchanged: u64,
    /// Documents removed (by a sync).
    pub documents_removed: u64,
    /// Chunks written.
    pub chunks_added: u64,
    /// Chunks no longer live.
    pub chunks_removed: u64,
    /// Texts sent to the embedder.
    pub chunks_embedded: u64,
    /// Embedding tokens spent.
    pub embedding_tokens: u64,
    /// Per-file and per-row failures; the rest was ingested.
    pub errors: Vec<IngestError>,
}

/// Make the knowledge base of a tenant mirror a directory: new and changed files are written,
/// files that disappeared are removed, all in one new version.
#[derive(Debug, Clone, Default)]
pub struct SyncRequest {
    /// The directory.
    pub root: PathBuf,
    /// The tenant that owns its documents.
    pub tenant: String,
    /// Principals for documents without their own ACL.
    pub acl: Vec<String>,
    /// Commit nothing when any file fails (default: commit the rest and keep the old version of
    /// failed files).
    pub strict: bool,
}

struct Batch {
    tenant: String,
    acl: Vec<String>,
    documents: Vec<Document>,
    errors: Vec<Error>,
    delete: Vec<String>,
    note: &'static str,
}

fn content_hash(d: &Document) -> String {
    let mut h = Sha256::new();
    for part in [
        &d.id,
        &d.title,
        &d.text,
        &d.source,
        &d.kind.as_str().to_string(),
    ] {
        h.update(part.as_bytes());
        h.update([0u8]);
    }
    for a in &d.acl {
        h.update(a.as_bytes());
        h.update([1u8]);
    }
    for (k, v) in &d.metadata {
        h.update(k.as_bytes());
        h.update([2u8]);
        h.update(v.as_bytes());
        h.update([3u8]);
    }
    h.finalize()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Pipeline {
    /// Texts per embedding call: the configured `embed_batch`, raised to what the embedder
    /// needs to keep its own batches and concurrency busy.
    pub(crate) fn texts_per_embed_call(&self) -> usize {
        let hint = self.inner.embedder.texts_per_call_hint().unwrap_or(0);
        self.inner.config.embed_batch.max(hint).max(1)
    }

    /// Loads, chunks, embeds (only chunks the store does not already hold) and stores documents
    /// as one new knowledge-base version. Bad files and rows are reported in
    /// [`IngestReport::errors`]; everything else is ingested.
    pub async fn ingest(&self, request: IngestRequest) -> Result<IngestReport> {
        self.ingest_with_progress(request, |_, _| {}).await
    }

    /// Like [`Pipeline::ingest`], calling `progress(done, total)` as documents are processed.
    pub async fn ingest_with_progress<F>(
        &self,
        request: IngestRequest,
        progress: F,
    ) -> Result<IngestReport>
    where
        F: Fn(u64, u64) + Send + Sync,
    {
        validate_ident("tenant", &request.tenant)?;
        let paths = request.paths.clone();
        let loaded = tokio::task::spawn_blocking(move || load_paths(&paths)).await?;
        let mut docs = loaded.documents;
        docs.extend(request.documents.iter().cloned());
        let batch = Batch {
            tenant: request.tenant,
            acl: request.acl,
            documents: docs,
            errors: loaded.errors,
            delete: Vec::new(),
            note: "ingest",
        };
        self.write_batch(batch, &progress).await
    }

    /// Chunks, embeds and writes a batch of documents (plus deletions) as one version.
    async fn write_batch(
        &self,
        batch: Batch,
        progress: &(dyn Fn(u64, u64) + Send + Sync),
    ) -> Result<IngestReport> {
        let request = &batch;
        let span = tracing::info_span!("ragcore.ingest", tenant = %request.tenant);
        async move {
            validate_ident("tenant", &request.tenant)?;
            for (i, a) in request.acl.iter().enumerate() {
                validate_ident(&format!("acl[{i}]"), a)?;
            }
            let mut report = IngestReport::default();
            report
                .errors
                .extend(request.errors.iter().map(|e| IngestError {
                    kind: e.kind().code().into(),
                    message: e.to_string(),
                }));
            let docs = request.documents.clone();
            let mut seen_ids = HashSet::new();
            let mut unique = Vec::with_capacity(docs.len());
            for mut d in docs {
                if d.id.trim().is_empty() {
                    report.errors.push(IngestError {
                        kind: "invalid_input".into(),
                        message: "a document has an empty id".into(),
                    });
                    continue;
                }
                if d.text.trim().is_empty() {
                    report.errors.push(IngestError {
                        kind: "load".into(),
                        message: format!("document {:?} is empty", d.id),
                    });
                    continue;
                }
                if !seen_ids.insert(d.id.clone()) {
                    report.errors.push(IngestError {
                        kind: "invalid_input".into(),
                        message: format!(
                            "document id {:?} appears twice in this ingest; the first one was kept",
                            d.id
                        ),
                    });
                    continue;
                }
                if d.acl.is_empty() {
                    d.acl = request.acl.clone();
                }
                unique.push(d);
            }
            report.documents_seen = unique.len() as u64;
            let ids: Vec<String> = unique.iter().map(|d| d.id.clone()).collect();
            let known: BTreeMap<String, String> = self
                .inner
                .store
                .document_hashes(&request.tenant, &ids)
                .await?
                .into_iter()
                .collect();
            let total = unique.len() as u64;
            let mut records = Vec::new();
            let mut changed: Vec<(Document, String)> = Vec::new();
            let mut done = 0;
            for d in unique {
                let hash = content_hash(&d);
                if known.get(&d.id) == Some(&hash) {
                    report.documents_unchanged += 1;
                    done += 1;
                    progress(done, total);
                } else {
                    changed.push((d, hash));
                }
            }
            // Chunking and lexical segmentation are pure CPU work per document: a group of
            // documents at a time goes to the rayon pool (progress is reported per group).
            let mut rest = changed.into_iter().peekable();
            while rest.peek().is_some() {
                let group: Vec<(Document, String)> = rest.by_ref().take(64).collect();
                let chunker = self.inner.chunker.clone();
                let seg = self.inner.config.segmenter;
                let chunked = tokio::task::spawn_blocking(move || {
                    crate::parallel::install(move || {
                        group
                            .into_par_iter()
                            .map(|(d, hash)| {
                                let chunks = chunker.chunk(&d).map(|chunks| {
                                    chunks
                                        .into_iter()
                                        .map(|c| {
                                            let terms = seg.index_text(&format!(
                                                "{}\n{}",
                                                d.title,
                                                c.indexed_text()
                                            ));
                                            (c, terms)
                                        })
                                        .collect::<Vec<_>>()
                                });
                                (d, hash, chunks)
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .await?;
                for (d, hash, chunks) in chunked {
                    done += 1;
                    progress(done, total);
                    let chunks = match chunks {
                        Ok(c) if !c.is_empty() => c,
                        Ok(_) => {
                            report.errors.push(IngestError {
                                kind: "load".into(),
                                message: format!("document {:?} produced no chunks", d.id),
                            });
                            continue;
                        }
                        Err(e) => {
                            report.errors.push(IngestError {
                                kind: e.kind().code().into(),
                                message: format!("document {:?}: {e}", d.id),
                            });
                            continue;
                        }
                    };
                    records.push(DocumentRecord {
                        document: d,
                        content_hash: hash,
                        chunks: chunks
                            .into_iter()
                            .map(|(chunk, lexical_terms)| ChunkRecord {
                                chunk,
                                lexical_terms,
                                vector: None,
                            })
                            .collect(),
                    });
                }
            }
            // Embed only chunks the store does not hold yet.
            let all_ids: Vec<String> = records
                .iter()
                .flat_map(|r| r.chunks.iter().map(|c| c.chunk.id.clone()))
                .collect();
            let have: HashSet<String> = self
                .inner
                .store
                .existing_chunks(&request.tenant, &all_ids)
                .await?
                .into_iter()
                .collect();
            let mut todo: Vec<(usize, usize, String)> = Vec::new();
            for (ri, r) in records.iter().enumerate() {
                for (ci, c) in r.chunks.iter().enumerate() {
                    if !have.contains(&c.chunk.id) {
                        todo.push((
                            ri,
                            ci,
                            format!("{}\n{}", r.document.title, c.chunk.indexed_text()),
                        ));
                    }
                }
            }
            for batch in todo.chunks(self.texts_per_embed_call()) {
                let resp = self
                    .inner
                    .embedder
                    .embed(EmbedRequest {
                        texts: batch.iter().map(|t| t.2.clone()).collect(),
                        input_type: InputType::Passage,
                    })
                    .await?;
                if resp.vectors.len() != batch.len() {
                    return Err(Error::Provider {
                        provider: "embedder".into(),
                        status: None,
                        retryable: false,
                        retry_after: None,
                        message: format!(
                            "asked for {} vectors, got {}",
                            batch.len(),
                            resp.vectors.len()
                        ),
                    });
                }
                report.embedding_tokens += resp.tokens;
                report.chunks_embedded += batch.len() as u64;
                for ((ri, ci, _), v) in batch.iter().zip(resp.vectors) {
                    records[*ri].chunks[*ci].vector = Some(v);
                }
            }
            if records.is_empty() && request.delete.is_empty() {
                report.kb_version = self.inner.store.kb_version().await?;
                return Ok(report);
            }
            let gate = self.write_snapshot().await;
            let res = self
                .inner
                .store
                .upsert(UpsertRequest {
                    tenant: request.tenant.clone(),
                    documents: records,
                    delete_document_ids: request.delete.clone(),
                    note: request.note.into(),
                })
                .await;
            drop(gate);
            let res = res?;
            report.kb_version = res.kb_version;
            report.documents_added = res.documents_added;
            report.documents_changed = res.documents_changed;
            report.documents_unchanged += res.documents_unchanged;
            report.chunks_added = res.chunks_added;
            report.chunks_removed = res.chunks_removed;
            report.documents_removed = res.documents_removed;
            tracing::info!(
                target: "ragcore::ingest",
                kb_version = report.kb_version,
                added = report.documents_added,
                changed = report.documents_changed,
                unchanged = report.documents_unchanged,
                embedded = report.chunks_embedded,
                errors = report.errors.len(),
                "write committed"
            );
            Ok(report)
        }
        .instrument(span)
        .await
    }

    /// Synchronises a tenant with a directory: the documents loaded from it are written as by
    /// `ingest` (unchanged ones cost nothing), and documents previously synced from this directory
    /// whose files are gone are removed — in one transaction, one new version. A file that fails
    /// to load keeps its previous version; with `strict`, any failure commits nothing.
    pub async fn sync(&self, request: SyncRequest) -> Result<IngestReport> {
        validate_ident("tenant", &request.tenant)?;
        let root = std::fs::canonicalize(&request.root).map_err(|e| {
            Error::load(
                &request.root,
                None,
                format!("cannot open the sync directory: {e}"),
            )
        })?;
        if !root.is_dir() {
            return Err(Error::load(&root, None, "sync needs a directory"));
        }
        let r2 = root.clone();
        let loaded = tokio::task::spawn_blocking(move || load_paths(&[r2])).await?;
        if request.strict && !loaded.errors.is_empty() {
            let mut report = IngestReport {
                kb_version: self.inner.store.kb_version().await?,
                ..Default::default()
            };
            report.errors = loaded
                .errors
                .iter()
                .map(|e| IngestError {
                    kind: e.kind().code().into(),
                    message: e.to_string(),
                })
                .collect();
            return Ok(report);
        }
        let prefix = format!("{}/", root.to_string_lossy().trim_end_matches('/'));
        // Files that exist but failed to load keep their previous version.
        let failed: Vec<String> = loaded
            .errors
            .iter()
            .filter_map(|e| match e {
                Error::Load { path, .. } => relative_id(&root, path),
                _ => None,
            })
            .collect();
        let present: HashSet<&str> = loaded.documents.iter().map(|d| d.id.as_str()).collect();
        let delete: Vec<String> = self
            .inner
            .store
            .documents(&request.tenant)
            .await?
            .into_iter()
            .filter(|d| d.source.starts_with(&prefix))
            .filter(|d| !present.contains(d.id.as_str()))
            .filter(|d| {
                !failed
                    .iter()
                    .any(|f| d.id == *f || d.id.starts_with(&format!("{f}#")))
            })
            .map(|d| d.id)
            .collect();
        let batch = Batch {
            tenant: request.tenant,
            acl: request.acl,
            documents: loaded.documents,
            errors: loaded.errors,
            delete,
            note: "sync",
        };
        self.write_batch(batch, &|_, _| {}).await
    }
}

fn relative_id(root: &Path, path: &Path) -> Option<String> {
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        root.join(path)
    };
    abs.strip_prefix(root)
        .ok()
        .map(|p| p.to_string_lossy().replace('\\', "/"))
}
