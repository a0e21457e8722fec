//! Writes to the PostgreSQL store: every upsert, delete or rollback is one transaction that
//! creates one knowledge-base version. Writers from any number of processes are serialised by a
//! transaction-scoped advisory lock taken before the version number is read, so versions are
//! dense and never interleave.

use std::collections::{HashMap, HashSet};
use std::time::{SystemTime, UNIX_EPOCH};

use pgvector::Vector;
use tokio_postgres::Transaction;

use super::search::tsvector_literal;
use crate::error::{Error, Result};
use crate::postgres::map_err;
use crate::store::{DeleteRequest, UpsertRequest, UpsertResult};

pub(super) fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Takes the writers' lock (until the transaction ends) and returns the next version number.
pub(super) async fn begin_version(tx: &Transaction<'_>, lock_key: &str) -> Result<u64> {
    tx.execute("SELECT pg_advisory_xact_lock(hashtext($1))", &[&lock_key])
        .await
        .map_err(map_err)?;
    Ok(current_version(tx).await? + 1)
}

/// The newest committed version (0 when empty).
pub(super) async fn current_version(client: &impl tokio_postgres::GenericClient) -> Result<u64> {
    let v: i64 = client
        .query_one("SELECT COALESCE(MAX(version), 0) FROM kb_versions", &[])
        .await
        .map_err(map_err)?
        .get(0);
    Ok(v.max(0) as u64)
}

/// Records `version` when anything changed and commits; rolls back otherwise.
pub(super) async fn finish_version(
    tx: Transaction<'_>,
    version: u64,
    note: &str,
    mut res: UpsertResult,
    tenants: &[String],
) -> Result<UpsertResult> {
    if res.documents_added + res.documents_changed + res.documents_removed == 0 {
        tx.rollback().await.map_err(map_err)?;
        res.kb_version = version - 1;
        return Ok(res);
    }
    for t in tenants {
        refresh_tenant(&tx, t).await?;
    }
    tx.execute(
        "INSERT INTO kb_versions(version, created_at, note, added, changed, removed) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            &(version as i64),
            &now_secs(),
            &note,
            &(res.documents_added as i64),
            &(res.documents_changed as i64),
            &(res.documents_removed as i64),
        ],
    )
    .await
    .map_err(map_err)?;
    tx.commit().await.map_err(map_err)?;
    res.kb_version = version;
    Ok(res)
}

/// Recomputes a tenant's live chunk count and term total (BM25's N and average length).
async fn refresh_tenant(tx: &Transaction<'_>, tenant: &str) -> Result<()> {
    tx.execute(
        "INSERT INTO kb_tenants(tenant, live_chunks, live_terms) \
         SELECT $1::text, COUNT(*), COALESCE(SUM(n_terms), 0) FROM kb_chunks \
         WHERE tenant = $1 AND version_removed IS NULL \
         ON CONFLICT (tenant) DO UPDATE SET live_chunks = excluded.live_chunks, \
         live_terms = excluded.live_terms",
        &[&tenant],
    )
    .await
    .map_err(map_err)?;
    Ok(())
}

pub(super) async fn apply_upsert(
    tx: Transaction<'_>,
    lock_key: &str,
    req: &UpsertRequest,
) -> Result<UpsertResult> {
    let version = begin_version(&tx, lock_key).await?;
    let res = write_tenant(&tx, version, req).await?;
    finish_version(
        tx,
        version,
        &req.note,
        res,
        std::slice::from_ref(&req.tenant),
    )
    .await
}

fn json_of<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| Error::Internal(e.to_string()))
}

/// Writes one tenant's documents and deletions at `version` inside the caller's transaction.
pub(super) async fn write_tenant(
    tx: &Transaction<'_>,
    version: u64,
    req: &UpsertRequest,
) -> Result<UpsertResult> {
    let tenant = req.tenant.as_str();
    let v = version as i64;
    let mut res = UpsertResult::default();
    let insert = tx
        .prepare(
            "INSERT INTO kb_chunks(chunk_id, tenant, doc_id, ordinal, context, text, tokens, \
             version_added, acl, embedding, terms, n_terms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::text::tsvector, $12)",
        )
        .await
        .map_err(map_err)?;
    for rec in &req.documents {
        let doc = &rec.document;
        let old_hash: Option<String> = tx
            .query_opt(
                "SELECT content_hash FROM kb_documents WHERE tenant = $1 AND doc_id = $2 FOR UPDATE",
                &[&tenant, &doc.id],
            )
            .await
            .map_err(map_err)?
            .map(|r| r.get(0));
        if old_hash.as_deref() == Some(rec.content_hash.as_str()) {
            res.documents_unchanged += 1;
            continue;
        }
        let change = if old_hash.is_some() {
            res.documents_changed += 1;
            "changed"
        } else {
            res.documents_added += 1;
            "added"
        };
        record_change(tx, v, tenant, &doc.id, change).await?;
        let meta_json = json_of(&doc.metadata)?;
        tx.execute(
            "INSERT INTO kb_documents(tenant, doc_id, title, kind, source, content_hash, acl, metadata, version) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8::text::jsonb, $9) \
             ON CONFLICT (tenant, doc_id) DO UPDATE SET title = excluded.title, kind = excluded.kind, \
             source = excluded.source, content_hash = excluded.content_hash, acl = excluded.acl, \
             metadata = excluded.metadata, version = excluded.version",
            &[&tenant, &doc.id, &doc.title, &doc.kind.as_str(), &doc.source, &rec.content_hash, &doc.acl, &meta_json, &v],
        )
        .await
        .map_err(map_err)?;
        close_history(tx, v, tenant, &doc.id).await?;
        tx.execute(
            "INSERT INTO kb_doc_history(tenant, doc_id, version_added, title, kind, source, content_hash, acl, metadata) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::text::jsonb)",
            &[&tenant, &doc.id, &v, &doc.title, &doc.kind.as_str(), &doc.source, &rec.content_hash, &doc.acl, &meta_json],
        )
        .await
        .map_err(map_err)?;
        // Chunk-level diff: keep live chunks whose id survives, retire the others, add new ones.
        let existing: HashMap<String, i64> = tx
            .query(
                "SELECT chunk_id, id FROM kb_chunks WHERE tenant = $1 AND doc_id = $2 AND version_removed IS NULL",
                &[&tenant, &doc.id],
            )
            .await
            .map_err(map_err)?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        let new_ids: HashSet<&str> = rec.chunks.iter().map(|c| c.chunk.id.as_str()).collect();
        let retired: Vec<i64> = existing
            .iter()
            .filter(|(id, _)| !new_ids.contains(id.as_str()))
            .map(|(_, row)| *row)
            .collect();
        if !retired.is_empty() {
            tx.execute(
                "UPDATE kb_chunks SET version_removed = $1 WHERE id = ANY($2)",
                &[&v, &retired],
            )
            .await
            .map_err(map_err)?;
            res.chunks_removed += retired.len() as u64;
        }
        let kept: Vec<(i64, i32)> = rec
            .chunks
            .iter()
            .filter_map(|c| {
                existing
                    .get(&c.chunk.id)
                    .map(|row| (*row, c.chunk.ordinal as i32))
            })
            .collect();
        if !kept.is_empty() {
            let rows: Vec<i64> = kept.iter().map(|k| k.0).collect();
            let ordinals: Vec<i32> = kept.iter().map(|k| k.1).collect();
            tx.execute(
                "UPDATE kb_chunks c SET ordinal = u.ordinal, acl = $3 \
                 FROM unnest($1::bigint[], $2::int[]) AS u(id, ordinal) WHERE c.id = u.id",
                &[&rows, &ordinals, &doc.acl],
            )
            .await
            .map_err(map_err)?;
        }
        let mut pending = Vec::new();
        for c in rec
            .chunks
            .iter()
            .filter(|c| !existing.contains_key(&c.chunk.id))
        {
            let Some(vector) = &c.vector else {
                return Err(Error::Internal(format!(
                    "chunk {} of {} has no vector",
                    c.chunk.id, doc.id
                )));
            };
            let (terms, n_terms) = tsvector_literal(&c.lexical_terms);
            pending.push((c, Vector::from(vector.clone()), terms, n_terms));
        }
        // Pipelined on the one connection: all inserts of the document in flight at once.
        let inserts = pending.iter().map(|(c, vector, terms, n_terms)| {
            let ordinal = c.chunk.ordinal as i32;
            let tokens = c.chunk.tokens as i32;
            let insert = &insert;
            let doc = &doc;
            async move {
                tx.execute(
                    insert,
                    &[
                        &c.chunk.id,
                        &tenant,
                        &doc.id,
                        &ordinal,
                        &c.chunk.context,
                        &c.chunk.text,
                        &tokens,
                        &v,
                        &doc.acl,
                        vector,
                        terms,
                        n_terms,
                    ],
                )
                .await
            }
        });
        futures::future::try_join_all(inserts)
            .await
            .map_err(map_err)?;
        res.chunks_added += pending.len() as u64;
    }
    for id in &req.delete_document_ids {
        if let Some(n) = remove_document(tx, v, tenant, id).await? {
            res.documents_removed += 1;
            res.chunks_removed += n;
        }
    }
    Ok(res)
}

pub(super) async fn apply_delete(
    tx: Transaction<'_>,
    lock_key: &str,
    req: &DeleteRequest,
) -> Result<UpsertResult> {
    let version = begin_version(&tx, lock_key).await?;
    let mut res = UpsertResult::default();
    for id in &req.document_ids {
        if let Some(n) = remove_document(&tx, version as i64, &req.tenant, id).await? {
            res.documents_removed += 1;
            res.chunks_removed += n;
        }
    }
    finish_version(
        tx,
        version,
        "delete",
        res,
        std::slice::from_ref(&req.tenant),
    )
    .await
}

async fn close_history(tx: &Transaction<'_>, v: i64, tenant: &str, doc_id: &str) -> Result<()> {
    tx.execute(
        "UPDATE kb_doc_history SET version_removed = $1 \
         WHERE tenant = $2 AND doc_id = $3 AND version_removed IS NULL",
        &[&v, &tenant, &doc_id],
    )
    .await
    .map_err(map_err)?;
    Ok(())
}

async fn record_change(
    tx: &Transaction<'_>,
    v: i64,
    tenant: &str,
    doc_id: &str,
    change: &str,
) -> Result<()> {
    tx.execute(
        "INSERT INTO kb_doc_changes(version, tenant, doc_id, change) VALUES ($1, $2, $3, $4)",
        &[&v, &tenant, &doc_id, &change],
    )
    .await
    .map_err(map_err)?;
    Ok(())
}

/// Removes one document at version `v`: its row goes and its live chunks are retired. Returns
/// how many chunks stopped being live, or `None` when the document is absent.
async fn remove_document(
    tx: &Transaction<'_>,
    v: i64,
    tenant: &str,
    doc_id: &str,
) -> Result<Option<u64>> {
    let n = tx
        .execute(
            "DELETE FROM kb_documents WHERE tenant = $1 AND doc_id = $2",
            &[&tenant, &doc_id],
        )
        .await
        .map_err(map_err)?;
    if n == 0 {
        return Ok(None);
    }
    let chunks = tx
        .execute(
            "UPDATE kb_chunks SET version_removed = $1 \
             WHERE tenant = $2 AND doc_id = $3 AND version_removed IS NULL",
            &[&v, &tenant, &doc_id],
        )
        .await
        .map_err(map_err)?;
    close_history(tx, v, tenant, doc_id).await?;
    record_change(tx, v, tenant, doc_id, "removed").await?;
    Ok(Some(chunks))
}
