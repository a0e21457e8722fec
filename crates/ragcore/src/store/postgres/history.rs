//! The version history on PostgreSQL: versions, diffs, live documents, documents of a past
//! version, rollback as a new version (stored chunks and vectors reused), in-place
//! re-embedding, and the consistency check.

use std::collections::{BTreeMap, HashMap, HashSet};

use pgvector::Vector;
use tokio_postgres::{GenericClient, Transaction};

use super::write::{begin_version, finish_version, now_secs, write_tenant};
use crate::error::{Error, Result};
use crate::postgres::map_err;
use crate::store::{
    ChunkRecord, DocumentInfo, DocumentRecord, KbVersionInfo, RollbackRequest, UpsertRequest,
    UpsertResult, VerifyReport, VersionDiff,
};
use crate::types::{Chunk, Document, DocumentKind};

/// The condition that a row with `version_added` / `version_removed` was live at `$2`.
const LIVE_AT: &str = "version_added <= $2 AND (version_removed IS NULL OR version_removed > $2)";

pub(super) async fn versions(client: &impl GenericClient) -> Result<Vec<KbVersionInfo>> {
    let rows = client
        .query(
            "SELECT version, created_at, note, added, changed, removed FROM kb_versions ORDER BY version",
            &[],
        )
        .await
        .map_err(map_err)?;
    Ok(rows
        .iter()
        .map(|r| KbVersionInfo {
            version: r.get::<_, i64>(0) as u64,
            created_at: r.get(1),
            note: r.get(2),
            documents_added: r.get::<_, i64>(3) as u64,
            documents_changed: r.get::<_, i64>(4) as u64,
            documents_removed: r.get::<_, i64>(5) as u64,
        })
        .collect())
}

/// Net changes per document between `from` (exclusive) and `to` (inclusive), as the local store.
pub(super) async fn diff(
    client: &impl GenericClient,
    tenant: &str,
    from: u64,
    to: u64,
) -> Result<VersionDiff> {
    let rows = client
        .query(
            "SELECT doc_id, change FROM kb_doc_changes WHERE tenant = $1 AND version > $2 AND version <= $3 \
             ORDER BY version",
            &[&tenant, &(from as i64), &(to as i64)],
        )
        .await
        .map_err(map_err)?;
    let mut first: Vec<(String, String)> = Vec::new();
    let mut last: HashMap<String, String> = HashMap::new();
    for r in &rows {
        let (doc, change): (String, String) = (r.get(0), r.get(1));
        if !last.contains_key(&doc) {
            first.push((doc.clone(), change.clone()));
        }
        last.insert(doc, change);
    }
    let mut d = VersionDiff {
        from,
        to,
        ..Default::default()
    };
    for (doc, first_change) in first {
        let last_change = last.get(&doc).map(String::as_str).unwrap_or("");
        match (first_change.as_str(), last_change) {
            ("added", "removed") => {}
            ("added", _) => d.added.push(doc),
            (_, "removed") => d.removed.push(doc),
            _ => d.changed.push(doc),
        }
    }
    d.added.sort();
    d.changed.sort();
    d.removed.sort();
    Ok(d)
}

pub(super) async fn documents(
    client: &impl GenericClient,
    tenant: &str,
) -> Result<Vec<DocumentInfo>> {
    let rows = client
        .query(
            "SELECT doc_id, source, title, content_hash, version, metadata->>'valid_until' \
             FROM kb_documents WHERE tenant = $1 ORDER BY doc_id",
            &[&tenant],
        )
        .await
        .map_err(map_err)?;
    Ok(rows
        .iter()
        .map(|r| DocumentInfo {
            id: r.get(0),
            source: r.get(1),
            title: r.get(2),
            content_hash: r.get(3),
            version: r.get::<_, i64>(4) as u64,
            valid_until: r.get(5),
        })
        .collect())
}

pub(super) async fn document_ids_at(
    client: &impl GenericClient,
    tenant: &str,
    version: u64,
) -> Result<Vec<String>> {
    let rows = client
        .query(
            &format!(
                "SELECT doc_id FROM kb_doc_history WHERE tenant = $1 AND {LIVE_AT} ORDER BY doc_id"
            ),
            &[&tenant, &(version as i64)],
        )
        .await
        .map_err(map_err)?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

async fn meta_u64(tx: &Transaction<'_>, key: &str) -> Result<u64> {
    Ok(super::schema::meta(tx, key)
        .await?
        .and_then(|s| s.parse().ok())
        .unwrap_or(0))
}

/// A new version whose live documents (of one tenant or all) equal those of `to_version`.
pub(super) async fn apply_rollback(
    tx: Transaction<'_>,
    lock_key: &str,
    request: &RollbackRequest,
) -> Result<UpsertResult> {
    let version = begin_version(&tx, lock_key).await?;
    let current = version - 1;
    let to = request.to_version;
    if to > current {
        return Err(Error::invalid(
            "to_version",
            format!("version {to} does not exist; the knowledge base is at version {current}"),
        ));
    }
    let earliest = meta_u64(&tx, "embedding_since").await?;
    if to < earliest {
        return Err(Error::invalid(
            "to_version",
            format!(
                "version {to} cannot be restored: its vectors come from the embedder used before \
                 the re-embedding at version {earliest}; roll back to {earliest} or later"
            ),
        ));
    }
    let tenants: Vec<String> = match &request.tenant {
        Some(name) => {
            let exists = tx
                .query_opt("SELECT 1 FROM kb_tenants WHERE tenant = $1", &[name])
                .await
                .map_err(map_err)?
                .is_some();
            if !exists {
                return Err(Error::NotFound {
                    what: "tenant",
                    name: name.clone(),
                });
            }
            vec![name.clone()]
        }
        None => tx
            .query("SELECT tenant FROM kb_tenants ORDER BY tenant", &[])
            .await
            .map_err(map_err)?
            .iter()
            .map(|r| r.get(0))
            .collect(),
    };
    let mut total = UpsertResult::default();
    let to_i = to as i64;
    for tenant in &tenants {
        let target = tx
            .query(
                &format!(
                    "SELECT doc_id, title, kind, source, content_hash, acl, metadata::text FROM kb_doc_history \
                     WHERE tenant = $1 AND {LIVE_AT} ORDER BY doc_id"
                ),
                &[tenant, &to_i],
            )
            .await
            .map_err(map_err)?;
        let live: HashMap<String, String> = tx
            .query(
                "SELECT doc_id, content_hash FROM kb_documents WHERE tenant = $1",
                &[tenant],
            )
            .await
            .map_err(map_err)?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        let wanted: HashSet<String> = target.iter().map(|r| r.get::<_, String>(0)).collect();
        let delete: Vec<String> = live
            .keys()
            .filter(|id| !wanted.contains(*id))
            .cloned()
            .collect();
        let mut documents = Vec::new();
        for h in &target {
            let doc_id: String = h.get(0);
            let title: String = h.get(1);
            let content_hash: String = h.get(4);
            if live.get(&doc_id) == Some(&content_hash) {
                continue;
            }
            let chunk_rows = tx
                .query(
                    &format!(
                        "SELECT chunk_id, ordinal, context, text, tokens, embedding FROM kb_chunks \
                         WHERE tenant = $1 AND doc_id = $3 AND {LIVE_AT} ORDER BY ordinal, id"
                    ),
                    &[tenant, &to_i, &doc_id],
                )
                .await
                .map_err(map_err)?;
            let mut seen = HashSet::new();
            let mut chunks = Vec::new();
            for r in &chunk_rows {
                let chunk = Chunk {
                    id: r.get(0),
                    document_id: doc_id.clone(),
                    ordinal: r.get::<_, i32>(1).max(0) as u32,
                    context: r.get(2),
                    text: r.get(3),
                    tokens: r.get::<_, i32>(4).max(0) as u32,
                };
                if !seen.insert(chunk.id.clone()) {
                    continue;
                }
                let vector: Vector = r.get(5);
                chunks.push(ChunkRecord {
                    lexical_terms: request.segmenter.index_text(&format!(
                        "{}\n{}",
                        title,
                        chunk.indexed_text()
                    )),
                    chunk,
                    vector: Some(vector.to_vec()),
                });
            }
            let metadata: BTreeMap<String, String> =
                serde_json::from_str(&h.get::<_, String>(6)).unwrap_or_default();
            let mut document = Document::new(doc_id.clone(), String::new());
            document.title = title;
            document.kind = DocumentKind::parse(&h.get::<_, String>(2));
            document.source = h.get(3);
            document.acl = h.get(5);
            document.metadata = metadata;
            documents.push(DocumentRecord {
                document,
                content_hash,
                chunks,
            });
        }
        let res = write_tenant(
            &tx,
            version,
            &UpsertRequest {
                tenant: tenant.clone(),
                documents,
                delete_document_ids: delete,
                note: String::new(),
            },
        )
        .await?;
        total.documents_added += res.documents_added;
        total.documents_changed += res.documents_changed;
        total.documents_unchanged += res.documents_unchanged;
        total.documents_removed += res.documents_removed;
        total.chunks_added += res.chunks_added;
        total.chunks_removed += res.chunks_removed;
    }
    finish_version(tx, version, &format!("rollback to v{to}"), total, &tenants).await
}

/// Every live chunk's embedded text (title, heading context, text), by row.
pub(super) async fn live_texts(client: &impl GenericClient) -> Result<Vec<(i64, String)>> {
    let rows = client
        .query(
            "SELECT c.id, d.title, c.chunk_id, c.ordinal, c.context, c.text, c.tokens, c.doc_id FROM kb_chunks c \
             JOIN kb_documents d ON d.tenant = c.tenant AND d.doc_id = c.doc_id \
             WHERE c.version_removed IS NULL ORDER BY c.id",
            &[],
        )
        .await
        .map_err(map_err)?;
    Ok(rows
        .iter()
        .map(|r| {
            let chunk = Chunk {
                id: r.get(2),
                ordinal: r.get::<_, i32>(3).max(0) as u32,
                context: r.get(4),
                text: r.get(5),
                tokens: r.get::<_, i32>(6).max(0) as u32,
                document_id: r.get(7),
            };
            (
                r.get(0),
                format!("{}\n{}", r.get::<_, String>(1), chunk.indexed_text()),
            )
        })
        .collect())
}

/// Replaces live vectors in place as a new version; versions before it cannot be restored.
pub(super) async fn replace_vectors(
    tx: Transaction<'_>,
    lock_key: &str,
    vectors: &[(i64, Vec<f32>)],
    fingerprint_json: &str,
) -> Result<u64> {
    let version = begin_version(&tx, lock_key).await?;
    let live: i64 = tx
        .query_one(
            "SELECT COUNT(*) FROM kb_chunks c JOIN kb_documents d ON d.tenant = c.tenant AND d.doc_id = c.doc_id \
             WHERE c.version_removed IS NULL",
            &[],
        )
        .await
        .map_err(map_err)?
        .get(0);
    if live as usize != vectors.len() {
        return Err(Error::Internal(format!(
            "re-embedding covered {} chunks but {live} are live; nothing was changed, run it again",
            vectors.len()
        )));
    }
    let stmt = tx
        .prepare("UPDATE kb_chunks SET embedding = $1 WHERE id = $2 AND version_removed IS NULL")
        .await
        .map_err(map_err)?;
    for (row, v) in vectors {
        let n = tx
            .execute(&stmt, &[&Vector::from(v.clone()), row])
            .await
            .map_err(map_err)?;
        if n != 1 {
            return Err(Error::Internal(format!(
                "chunk row {row} stopped being live while re-embedding; nothing was changed, run it again"
            )));
        }
    }
    for (key, value) in [
        ("fingerprint", fingerprint_json.to_string()),
        ("embedding_since", version.to_string()),
    ] {
        tx.execute(
            "INSERT INTO kb_meta(key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            &[&key, &value],
        )
        .await
        .map_err(map_err)?;
    }
    tx.execute(
        "INSERT INTO kb_versions(version, created_at, note, added, changed, removed) VALUES ($1, $2, 'reembed', 0, 0, 0)",
        &[&(version as i64), &now_secs()],
    )
    .await
    .map_err(map_err)?;
    tx.commit().await.map_err(map_err)?;
    Ok(version)
}

/// Compares documents, chunks and the derived columns. The vector index is PostgreSQL's own
/// (always consistent with the table), so `missing_in_index` / `stray_in_index` stay 0.
pub(super) async fn verify(client: &impl GenericClient) -> Result<VerifyReport> {
    let mut rep = VerifyReport::default();
    let row = client
        .query_one(
            "SELECT COUNT(*), \
             COUNT(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM kb_documents d WHERE d.tenant = c.tenant AND d.doc_id = c.doc_id)) \
             FROM kb_chunks c WHERE c.version_removed IS NULL",
            &[],
        )
        .await
        .map_err(map_err)?;
    rep.live_chunks = row.get::<_, i64>(0) as u64;
    rep.orphan_chunks = row.get::<_, i64>(1) as u64;
    rep.missing_lexical = client
        .query(
            "SELECT chunk_id FROM kb_chunks WHERE version_removed IS NULL AND n_terms > 0 AND length(terms) = 0 ORDER BY id",
            &[],
        )
        .await
        .map_err(map_err)?
        .iter()
        .map(|r| r.get(0))
        .collect();
    rep.empty_documents = client
        .query(
            "SELECT d.doc_id FROM kb_documents d WHERE NOT EXISTS (SELECT 1 FROM kb_chunks c \
             WHERE c.tenant = d.tenant AND c.doc_id = d.doc_id AND c.version_removed IS NULL) ORDER BY d.doc_id",
            &[],
        )
        .await
        .map_err(map_err)?
        .iter()
        .map(|r| r.get(0))
        .collect();
    Ok(rep)
}

/// Retires chunks whose document is gone (as a repair, without a new version) and recomputes
/// the tenants' BM25 statistics.
pub(super) async fn repair(tx: Transaction<'_>, lock_key: &str) -> Result<()> {
    let next = begin_version(&tx, lock_key).await?;
    let current = (next - 1).max(1) as i64;
    tx.execute(
        "UPDATE kb_chunks c SET version_removed = $1 WHERE c.version_removed IS NULL AND NOT EXISTS \
         (SELECT 1 FROM kb_documents d WHERE d.tenant = c.tenant AND d.doc_id = c.doc_id)",
        &[&current],
    )
    .await
    .map_err(map_err)?;
    tx.execute(
        "UPDATE kb_tenants t SET live_chunks = s.n, live_terms = s.terms FROM \
         (SELECT t2.tenant, COUNT(c.id) AS n, COALESCE(SUM(c.n_terms), 0) AS terms FROM kb_tenants t2 \
          LEFT JOIN kb_chunks c ON c.tenant = t2.tenant AND c.version_removed IS NULL GROUP BY t2.tenant) s \
         WHERE s.tenant = t.tenant",
        &[],
    )
    .await
    .map_err(map_err)?;
    tx.commit().await.map_err(map_err)
}
