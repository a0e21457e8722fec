//! The document history kept for rollback (`doc_history` + the chunks' version ranges), the
//! rollback itself (a new version whose live documents equal an old version's), and the in-place
//! re-embedding of live chunks.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::RwLock;

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use super::write::{finish_version, write_tenant, Applied};
use super::{kb_version, now_secs, schema};
use crate::error::{Error, Result};
use crate::store::{ChunkRecord, DocumentRecord, RollbackRequest, UpsertRequest};
use crate::types::{Chunk, Document, DocumentKind};

/// The SQL condition that a row with `version_added` / `version_removed` was live at `?V`.
const LIVE_AT: &str = "version_added <= ?2 AND (version_removed IS NULL OR version_removed > ?2)";

fn meta_u64(conn: &Connection, key: &str) -> Result<u64> {
    let v: Option<String> = conn
        .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()?;
    Ok(v.and_then(|s| s.parse().ok()).unwrap_or(0))
}

/// The earliest version a rollback can reach: history is complete from the schema migration
/// on, and vectors are comparable from the last re-embedding on.
pub(super) fn earliest_restorable(conn: &Connection) -> Result<u64> {
    Ok(meta_u64(conn, "history_since")?.max(meta_u64(conn, "embedding_since")?))
}

/// Ids of the documents of `tenant` that were live at `version`.
pub(super) fn document_ids_at(conn: &Connection, tenant: u32, version: u64) -> Result<Vec<String>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT doc_id FROM doc_history WHERE tenant_id = ?1 AND {LIVE_AT} ORDER BY doc_id"
    ))?;
    let rows = stmt.query_map(params![tenant, version as i64], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

struct HistoryDoc {
    doc_id: String,
    title: String,
    kind: String,
    source: String,
    content_hash: String,
    acl: String,
    metadata: String,
}

fn documents_at(conn: &Connection, tenant: u32, version: u64) -> Result<Vec<HistoryDoc>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT doc_id, title, kind, source, content_hash, acl, metadata FROM doc_history \
         WHERE tenant_id = ?1 AND {LIVE_AT} ORDER BY doc_id"
    ))?;
    let rows = stmt.query_map(params![tenant, version as i64], |r| {
        Ok(HistoryDoc {
            doc_id: r.get(0)?,
            title: r.get(1)?,
            kind: r.get(2)?,
            source: r.get(3)?,
            content_hash: r.get(4)?,
            acl: r.get(5)?,
            metadata: r.get(6)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn chunks_at(
    conn: &Connection,
    tenant: u32,
    doc_id: &str,
    version: u64,
    dims: usize,
) -> Result<Vec<(Chunk, Vec<f32>)>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT chunk_id, ordinal, context, text, tokens, vector FROM chunks \
         WHERE tenant_id = ?1 AND doc_id = ?3 AND {LIVE_AT} ORDER BY ordinal, rowid"
    ))?;
    let rows = stmt.query_map(params![tenant, version as i64, doc_id], |r| {
        Ok((
            Chunk {
                id: r.get(0)?,
                document_id: doc_id.to_string(),
                ordinal: r.get(1)?,
                context: r.get(2)?,
                text: r.get(3)?,
                tokens: r.get(4)?,
            },
            r.get::<_, Vec<u8>>(5)?,
        ))
    })?;
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for row in rows {
        let (chunk, blob) = row?;
        if !seen.insert(chunk.id.clone()) {
            continue;
        }
        if blob.len() != dims * 4 {
            return Err(Error::Incompatible(format!(
                "chunk {} of document {doc_id:?} at version {version} has a {}-dimensional vector, \
                 the knowledge base now stores {dims}; versions before the last `ragcore reembed` \
                 cannot be restored",
                chunk.id,
                blob.len() / 4
            )));
        }
        out.push((chunk, schema::blob_to_vec(&blob)));
    }
    Ok(out)
}

/// Writes a new version whose live documents (of one tenant, or of all) equal those of
/// `request.to_version`, reusing the stored chunks and vectors (no embedding).
pub(super) fn apply_rollback(
    conn: &mut Connection,
    request: &RollbackRequest,
    dims: usize,
    tenants: &RwLock<HashMap<String, u32>>,
) -> Result<Applied> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let current = kb_version(&tx)?;
    let to = request.to_version;
    if to > current {
        return Err(Error::invalid(
            "to_version",
            format!("version {to} does not exist; the knowledge base is at version {current}"),
        ));
    }
    let earliest = earliest_restorable(&tx)?;
    if to < earliest {
        return Err(Error::invalid(
            "to_version",
            format!(
                "version {to} cannot be restored: document history is complete from version \
                 {earliest} (the schema migration or the last re-embedding); roll back to \
                 {earliest} or later"
            ),
        ));
    }
    let ids: Vec<(String, u32)> = match &request.tenant {
        Some(name) => {
            let id: Option<u32> = tx
                .query_row("SELECT id FROM tenants WHERE name = ?1", [name], |r| {
                    r.get(0)
                })
                .optional()?;
            let Some(id) = id else {
                return Err(Error::NotFound {
                    what: "tenant",
                    name: name.clone(),
                });
            };
            vec![(name.clone(), id)]
        }
        None => {
            let mut stmt = tx.prepare("SELECT name, id FROM tenants ORDER BY id")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect::<rusqlite::Result<_>>()?
        }
    };
    let version = current + 1;
    let mut total = Applied::default();
    for (name, tenant) in &ids {
        let target = documents_at(&tx, *tenant, to)?;
        let live: HashMap<String, String> = {
            let mut stmt =
                tx.prepare("SELECT doc_id, content_hash FROM documents WHERE tenant_id = ?1")?;
            let rows = stmt.query_map([tenant], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let wanted: HashSet<&str> = target.iter().map(|d| d.doc_id.as_str()).collect();
        let delete: Vec<String> = live
            .keys()
            .filter(|id| !wanted.contains(id.as_str()))
            .cloned()
            .collect();
        let mut documents = Vec::new();
        for h in &target {
            if live.get(&h.doc_id) == Some(&h.content_hash) {
                continue;
            }
            let chunks = chunks_at(&tx, *tenant, &h.doc_id, to, dims)?;
            let acl: Vec<String> = serde_json::from_str(&h.acl).unwrap_or_default();
            let metadata: BTreeMap<String, String> =
                serde_json::from_str(&h.metadata).unwrap_or_default();
            let mut document = Document::new(h.doc_id.clone(), String::new());
            document.title = h.title.clone();
            document.kind = DocumentKind::parse(&h.kind);
            document.source = h.source.clone();
            document.acl = acl;
            document.metadata = metadata;
            let chunks = chunks
                .into_iter()
                .map(|(chunk, vector)| ChunkRecord {
                    lexical_terms: request.segmenter.index_text(&format!(
                        "{}\n{}",
                        h.title,
                        chunk.indexed_text()
                    )),
                    chunk,
                    vector: Some(vector),
                })
                .collect();
            documents.push(DocumentRecord {
                document,
                content_hash: h.content_hash.clone(),
                chunks,
            });
        }
        let applied = write_tenant(
            &tx,
            version,
            *tenant,
            &UpsertRequest {
                tenant: name.clone(),
                documents,
                delete_document_ids: delete,
                note: String::new(),
            },
        )?;
        total.merge(applied);
    }
    finish_version(
        tx,
        version,
        &format!("rollback to v{to}"),
        total,
        &ids,
        tenants,
    )
}

/// One live chunk to re-embed: its row and the text the embedder sees.
#[derive(Debug, Clone)]
pub(super) struct LiveText {
    pub rowid: i64,
    pub text: String,
}

/// Every live chunk with the text that is embedded (title, heading context, text).
pub(super) fn live_texts(conn: &Connection) -> Result<Vec<LiveText>> {
    let mut stmt = conn.prepare(
        "SELECT c.rowid, d.title, c.chunk_id, c.ordinal, c.context, c.text, c.tokens, c.doc_id FROM chunks c \
         JOIN documents d ON d.tenant_id = c.tenant_id AND d.doc_id = c.doc_id \
         WHERE c.version_removed IS NULL ORDER BY c.rowid",
    )?;
    let rows = stmt.query_map([], |r| {
        let chunk = Chunk {
            id: r.get(2)?,
            ordinal: r.get(3)?,
            context: r.get(4)?,
            text: r.get(5)?,
            tokens: r.get(6)?,
            document_id: r.get(7)?,
        };
        Ok(LiveText {
            rowid: r.get(0)?,
            text: format!("{}\n{}", r.get::<_, String>(1)?, chunk.indexed_text()),
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Replaces the vectors of live chunks in place, stores the new fingerprint and records a new
/// version, in one transaction. Versions before it can no longer be restored (their removed
/// chunks keep vectors of the old embedder).
pub(super) fn replace_vectors(
    conn: &mut Connection,
    vectors: &[(i64, Vec<f32>)],
    fingerprint_json: &str,
) -> Result<u64> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version = kb_version(&tx)? + 1;
    let live: i64 = tx.query_row(
        "SELECT COUNT(*) FROM chunks c JOIN documents d ON d.tenant_id = c.tenant_id AND d.doc_id = c.doc_id \
         WHERE c.version_removed IS NULL",
        [],
        |r| r.get(0),
    )?;
    if live as usize != vectors.len() {
        return Err(Error::Internal(format!(
            "re-embedding covered {} chunks but {live} are live; nothing was changed, run it again",
            vectors.len()
        )));
    }
    {
        let mut stmt = tx.prepare_cached(
            "UPDATE chunks SET vector = ?1 WHERE rowid = ?2 AND version_removed IS NULL",
        )?;
        for (rowid, v) in vectors {
            if stmt.execute(params![schema::vec_to_blob(v), rowid])? != 1 {
                return Err(Error::Internal(format!(
                    "chunk row {rowid} stopped being live while re-embedding; nothing was changed, run it again"
                )));
            }
        }
    }
    tx.execute(
        "INSERT OR REPLACE INTO meta(key, value) VALUES ('fingerprint', ?1)",
        [fingerprint_json],
    )?;
    tx.execute(
        "INSERT OR REPLACE INTO meta(key, value) VALUES ('embedding_since', ?1)",
        [version.to_string()],
    )?;
    tx.execute(
        "INSERT INTO kb_versions(version, created_at, note, added, changed, removed) VALUES (?1, ?2, 'reembed', 0, 0, 0)",
        params![version as i64, now_secs()],
    )?;
    tx.commit()?;
    Ok(version)
}
