//! Writes to the local store: versioned upserts and deletes, each one SQLite transaction.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use super::ann::Visibility;
use super::{kb_version, now_secs, schema};
use crate::error::{Error, Result};
use crate::store::{DeleteRequest, UpsertRequest, UpsertResult};

#[derive(Default)]
pub(super) struct Applied {
    pub result: UpsertResult,
    pub inserted: Vec<(i64, Vec<f32>, Visibility)>,
    pub removed: Vec<i64>,
    pub revisibled: Vec<(i64, Visibility)>,
}

impl Applied {
    /// Adds another tenant's changes written in the same transaction.
    pub fn merge(&mut self, other: Applied) {
        let (r, o) = (&mut self.result, other.result);
        r.documents_added += o.documents_added;
        r.documents_changed += o.documents_changed;
        r.documents_unchanged += o.documents_unchanged;
        r.documents_removed += o.documents_removed;
        r.chunks_added += o.chunks_added;
        r.chunks_removed += o.chunks_removed;
        self.inserted.extend(other.inserted);
        self.removed.extend(other.removed);
        self.revisibled.extend(other.revisibled);
    }
}

pub(super) fn acl_of(list: &[String]) -> Option<Arc<[String]>> {
    if list.is_empty() {
        None
    } else {
        Some(list.to_vec().into())
    }
}

pub(super) fn apply_upsert(
    conn: &mut Connection,
    req: &UpsertRequest,
    tenants: &RwLock<HashMap<String, u32>>,
) -> Result<Applied> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version = kb_version(&tx)? + 1;
    let tenant = ensure_tenant(&tx, &req.tenant)?;
    let applied = write_tenant(&tx, version, tenant, req)?;
    finish_version(
        tx,
        version,
        &req.note,
        applied,
        &[(req.tenant.clone(), tenant)],
        tenants,
    )
}

/// The id of a tenant, created when new (inside the caller's transaction).
pub(super) fn ensure_tenant(tx: &Connection, name: &str) -> Result<u32> {
    tx.execute("INSERT OR IGNORE INTO tenants(name) VALUES (?1)", [name])?;
    Ok(
        tx.query_row("SELECT id FROM tenants WHERE name = ?1", [name], |r| {
            r.get(0)
        })?,
    )
}

/// Commits `version` when anything changed (rolls back otherwise) and records the tenants.
pub(super) fn finish_version(
    tx: rusqlite::Transaction<'_>,
    version: u64,
    note: &str,
    mut applied: Applied,
    new_tenants: &[(String, u32)],
    tenants: &RwLock<HashMap<String, u32>>,
) -> Result<Applied> {
    let res = &mut applied.result;
    if res.documents_added + res.documents_changed + res.documents_removed == 0 {
        tx.rollback()?;
        res.kb_version = version - 1;
        applied.inserted.clear();
        applied.removed.clear();
        applied.revisibled.clear();
        return Ok(applied);
    }
    tx.execute(
        "INSERT INTO kb_versions(version, created_at, note, added, changed, removed) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            version as i64,
            now_secs(),
            note,
            res.documents_added as i64,
            res.documents_changed as i64,
            res.documents_removed as i64
        ],
    )?;
    tx.commit()?;
    let mut map = tenants.write().map_err(|_| Error::poisoned("tenants"))?;
    for (name, id) in new_tenants {
        map.insert(name.clone(), *id);
    }
    res.kb_version = version;
    Ok(applied)
}

/// Writes one tenant's documents and deletions at `version` inside the caller's transaction.
pub(super) fn write_tenant(
    tx: &Connection,
    version: u64,
    tenant: u32,
    req: &UpsertRequest,
) -> Result<Applied> {
    let mut res = UpsertResult::default();
    let mut inserted = Vec::new();
    let mut removed = Vec::new();
    let mut revisibled = Vec::new();
    for rec in &req.documents {
        let doc = &rec.document;
        let old_hash: Option<String> = tx
            .query_row(
                "SELECT content_hash FROM documents WHERE tenant_id = ?1 AND doc_id = ?2",
                params![tenant, doc.id],
                |r| r.get(0),
            )
            .optional()?;
        if old_hash.as_deref() == Some(rec.content_hash.as_str()) {
            res.documents_unchanged += 1;
            continue;
        }
        if old_hash.is_some() {
            res.documents_changed += 1;
        } else {
            res.documents_added += 1;
        }
        record_change(
            tx,
            version,
            tenant,
            &doc.id,
            if old_hash.is_some() {
                "changed"
            } else {
                "added"
            },
        )?;
        let acl_json =
            serde_json::to_string(&doc.acl).map_err(|e| Error::Internal(e.to_string()))?;
        let meta_json =
            serde_json::to_string(&doc.metadata).map_err(|e| Error::Internal(e.to_string()))?;
        exec(
            tx,
            "INSERT INTO documents(tenant_id, doc_id, title, kind, source, content_hash, acl, metadata, version) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) \
             ON CONFLICT(tenant_id, doc_id) DO UPDATE SET title = excluded.title, kind = excluded.kind, \
             source = excluded.source, content_hash = excluded.content_hash, acl = excluded.acl, \
             metadata = excluded.metadata, version = excluded.version",
            params![tenant, doc.id, doc.title, doc.kind.as_str(), doc.source, rec.content_hash, acl_json, meta_json, version as i64],
        )?;
        close_history(tx, version, tenant, &doc.id)?;
        exec(
            tx,
            "INSERT INTO doc_history(tenant_id, doc_id, version_added, title, kind, source, content_hash, acl, metadata) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![tenant, doc.id, version as i64, doc.title, doc.kind.as_str(), doc.source, rec.content_hash, acl_json, meta_json],
        )?;
        exec(
            tx,
            "DELETE FROM doc_acl WHERE tenant_id = ?1 AND doc_id = ?2",
            params![tenant, doc.id],
        )?;
        for p in &doc.acl {
            exec(
                tx,
                "INSERT OR IGNORE INTO doc_acl(tenant_id, doc_id, principal) VALUES (?1, ?2, ?3)",
                params![tenant, doc.id, p],
            )?;
        }
        let vis = Visibility {
            tenant,
            acl: acl_of(&doc.acl),
        };
        // Chunk-level diff: keep live chunks whose id survives, remove the others, add new ones.
        let mut existing: HashMap<String, i64> = HashMap::new();
        {
            let mut stmt = tx.prepare_cached(
                "SELECT chunk_id, rowid FROM chunks WHERE tenant_id = ?1 AND doc_id = ?2 AND version_removed IS NULL",
            )?;
            let rows = stmt.query_map(params![tenant, doc.id], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
            })?;
            for row in rows {
                let (id, rowid) = row?;
                existing.insert(id, rowid);
            }
        }
        let new_ids: HashSet<&str> = rec.chunks.iter().map(|c| c.chunk.id.as_str()).collect();
        for (id, rowid) in &existing {
            if !new_ids.contains(id.as_str()) {
                exec(
                    tx,
                    "UPDATE chunks SET version_removed = ?1 WHERE rowid = ?2",
                    params![version as i64, rowid],
                )?;
                exec(tx, "DELETE FROM chunks_fts WHERE rowid = ?1", [rowid])?;
                removed.push(*rowid);
                res.chunks_removed += 1;
            }
        }
        for c in &rec.chunks {
            if let Some(rowid) = existing.get(&c.chunk.id) {
                exec(
                    tx,
                    "UPDATE chunks SET ordinal = ?1 WHERE rowid = ?2",
                    params![c.chunk.ordinal, rowid],
                )?;
                revisibled.push((*rowid, vis.clone()));
                continue;
            }
            let Some(vector) = &c.vector else {
                return Err(Error::Internal(format!(
                    "chunk {} of {} has no vector",
                    c.chunk.id, doc.id
                )));
            };
            exec(
            tx,
                "INSERT INTO chunks(chunk_id, tenant_id, doc_id, ordinal, context, text, tokens, version_added, vector) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    c.chunk.id,
                    tenant,
                    doc.id,
                    c.chunk.ordinal,
                    c.chunk.context,
                    c.chunk.text,
                    c.chunk.tokens,
                    version as i64,
                    schema::vec_to_blob(vector)
                ],
            )?;
            let rowid = tx.last_insert_rowid();
            exec(
                tx,
                "INSERT INTO chunks_fts(rowid, terms) VALUES (?1, ?2)",
                params![rowid, c.lexical_terms],
            )?;
            inserted.push((rowid, vector.clone(), vis.clone()));
            res.chunks_added += 1;
        }
    }
    for id in &req.delete_document_ids {
        let rows = remove_document(tx, version, tenant, id)?;
        if let Some(rows) = rows {
            res.documents_removed += 1;
            res.chunks_removed += rows.len() as u64;
            removed.extend(rows);
        }
    }
    Ok(Applied {
        result: res,
        inserted,
        removed,
        revisibled,
    })
}

pub(super) fn apply_delete(
    conn: &mut Connection,
    req: &DeleteRequest,
    tenant: u32,
) -> Result<(UpsertResult, Vec<i64>)> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version = kb_version(&tx)? + 1;
    let mut res = UpsertResult::default();
    let mut removed = Vec::new();
    let mut docs_removed = 0i64;
    for id in &req.document_ids {
        if let Some(rows) = remove_document(&tx, version, tenant, id)? {
            docs_removed += 1;
            res.chunks_removed += rows.len() as u64;
            removed.extend(rows);
        }
    }
    if docs_removed == 0 {
        tx.rollback()?;
        res.kb_version = version - 1;
        return Ok((res, removed));
    }
    tx.execute(
        "INSERT INTO kb_versions(version, created_at, note, added, changed, removed) VALUES (?1, ?2, 'delete', 0, 0, ?3)",
        params![version as i64, now_secs(), docs_removed],
    )?;
    tx.commit()?;
    res.kb_version = version;
    res.documents_removed = docs_removed as u64;
    Ok((res, removed))
}

/// Runs one statement through the connection's statement cache (a bulk ingest runs the same
/// few statements thousands of times).
fn exec(tx: &Connection, sql: &str, params: impl rusqlite::Params) -> Result<usize> {
    Ok(tx.prepare_cached(sql)?.execute(params)?)
}

/// Ends the history row of a document's current content at `version`.
fn close_history(tx: &Connection, version: u64, tenant: u32, doc_id: &str) -> Result<()> {
    exec(
            tx,
        "UPDATE doc_history SET version_removed = ?1 WHERE tenant_id = ?2 AND doc_id = ?3 AND version_removed IS NULL",
        params![version as i64, tenant, doc_id],
    )?;
    Ok(())
}

fn record_change(
    tx: &Connection,
    version: u64,
    tenant: u32,
    doc_id: &str,
    change: &str,
) -> Result<()> {
    exec(
        tx,
        "INSERT INTO doc_changes(version, tenant_id, doc_id, change) VALUES (?1, ?2, ?3, ?4)",
        params![version as i64, tenant, doc_id, change],
    )?;
    Ok(())
}

/// Removes one document at `version`: its row and ACL go, its live chunks are marked removed and
/// leave the BM25 index. Returns the removed chunk rows, or `None` when the document is absent.
fn remove_document(
    tx: &Connection,
    version: u64,
    tenant: u32,
    doc_id: &str,
) -> Result<Option<Vec<i64>>> {
    let n = exec(
        tx,
        "DELETE FROM documents WHERE tenant_id = ?1 AND doc_id = ?2",
        params![tenant, doc_id],
    )?;
    if n == 0 {
        return Ok(None);
    }
    exec(
        tx,
        "DELETE FROM doc_acl WHERE tenant_id = ?1 AND doc_id = ?2",
        params![tenant, doc_id],
    )?;
    let rows: Vec<i64> = {
        let mut stmt = tx.prepare_cached(
            "SELECT rowid FROM chunks WHERE tenant_id = ?1 AND doc_id = ?2 AND version_removed IS NULL",
        )?;
        let r = stmt.query_map(params![tenant, doc_id], |r| r.get(0))?;
        r.collect::<rusqlite::Result<_>>()?
    };
    for rowid in &rows {
        exec(
            tx,
            "UPDATE chunks SET version_removed = ?1 WHERE rowid = ?2",
            params![version as i64, rowid],
        )?;
        exec(tx, "DELETE FROM chunks_fts WHERE rowid = ?1", [rowid])?;
    }
    close_history(tx, version, tenant, doc_id)?;
    record_change(tx, version, tenant, doc_id, "removed")?;
    Ok(Some(rows))
}
