//! Reading the version history and checking the store's consistency.

use std::collections::HashSet;

use rusqlite::{params, Connection};

use super::ann::AnnIndex;
use crate::error::Result;
use crate::store::{DocumentInfo, KbVersionInfo, VerifyReport, VersionDiff};

pub(super) fn versions(conn: &Connection) -> Result<Vec<KbVersionInfo>> {
    let mut stmt = conn.prepare("SELECT version, created_at, note, added, changed, removed FROM kb_versions ORDER BY version")?;
    let rows = stmt.query_map([], |r| {
        Ok(KbVersionInfo {
            version: r.get::<_, i64>(0)? as u64,
            created_at: r.get(1)?,
            note: r.get(2)?,
            documents_added: r.get::<_, i64>(3)? as u64,
            documents_changed: r.get::<_, i64>(4)? as u64,
            documents_removed: r.get::<_, i64>(5)? as u64,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Net changes per document between `from` (exclusive) and `to` (inclusive).
pub(super) fn diff(conn: &Connection, tenant: u32, from: u64, to: u64) -> Result<VersionDiff> {
    let mut stmt = conn.prepare(
        "SELECT doc_id, change FROM doc_changes WHERE tenant_id = ?1 AND version > ?2 AND version <= ?3 ORDER BY version",
    )?;
    let rows = stmt.query_map(params![tenant, from as i64, to as i64], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })?;
    // First and last change of each document decide its net change.
    let mut first: Vec<(String, String)> = Vec::new();
    let mut last: std::collections::HashMap<String, String> = Default::default();
    for row in rows {
        let (doc, change) = row?;
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
            ("removed", _) => d.changed.push(doc), // removed then re-added: it existed at `from`
            _ => d.changed.push(doc),
        }
    }
    d.added.sort();
    d.changed.sort();
    d.removed.sort();
    Ok(d)
}

pub(super) fn documents(conn: &Connection, tenant: u32) -> Result<Vec<DocumentInfo>> {
    let mut stmt = conn.prepare(
        "SELECT doc_id, source, title, content_hash, version, json_extract(metadata, '$.valid_until') \
         FROM documents WHERE tenant_id = ?1 ORDER BY doc_id",
    )?;
    let rows = stmt.query_map([tenant], |r| {
        Ok(DocumentInfo {
            id: r.get(0)?,
            source: r.get(1)?,
            title: r.get(2)?,
            content_hash: r.get(3)?,
            version: r.get::<_, i64>(4)? as u64,
            valid_until: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(super) fn verify(conn: &Connection, ann: &AnnIndex, dims: usize) -> Result<VerifyReport> {
    let mut rep = VerifyReport::default();
    let live: Vec<(i64, String, usize, bool)> = {
        let mut stmt = conn.prepare(
            "SELECT c.rowid, c.chunk_id, length(c.vector), d.doc_id IS NOT NULL FROM chunks c \
             LEFT JOIN documents d ON d.tenant_id = c.tenant_id AND d.doc_id = c.doc_id \
             WHERE c.version_removed IS NULL",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get::<_, i64>(2)? as usize,
                r.get(3)?,
            ))
        })?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    rep.live_chunks = live.len() as u64;
    let fts: HashSet<i64> = {
        let mut stmt = conn.prepare("SELECT rowid FROM chunks_fts")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    let live_ids: HashSet<i64> = live.iter().map(|l| l.0).collect();
    for (rowid, chunk_id, bytes, has_doc) in &live {
        if !fts.contains(rowid) {
            rep.missing_lexical.push(chunk_id.clone());
        }
        if !has_doc {
            rep.orphan_chunks += 1;
        }
        if *bytes != dims * 4 {
            rep.bad_vectors += 1;
        }
        if !ann.is_visible(*rowid) {
            rep.missing_in_index += 1;
        }
    }
    rep.stray_lexical = fts.iter().filter(|id| !live_ids.contains(id)).count() as u64;
    rep.stray_in_index = ann
        .visible_rowids()
        .filter(|id| !live_ids.contains(id))
        .count() as u64;
    let mut stmt = conn.prepare(
        "SELECT d.doc_id FROM documents d WHERE NOT EXISTS (SELECT 1 FROM chunks c WHERE c.tenant_id = d.tenant_id \
         AND c.doc_id = d.doc_id AND c.version_removed IS NULL) ORDER BY d.doc_id",
    )?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    rep.empty_documents = rows.collect::<rusqlite::Result<_>>()?;
    Ok(rep)
}

/// Deletes BM25 rows of chunks that are not live, and marks chunks without a document removed.
pub(super) fn repair_rows(conn: &Connection) -> Result<()> {
    conn.execute(
        "DELETE FROM chunks_fts WHERE rowid NOT IN (SELECT rowid FROM chunks WHERE version_removed IS NULL)",
        [],
    )?;
    let version: i64 = conn.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM kb_versions",
        [],
        |r| r.get(0),
    )?;
    conn.execute(
        "UPDATE chunks SET version_removed = ?1 WHERE version_removed IS NULL AND NOT EXISTS \
         (SELECT 1 FROM documents d WHERE d.tenant_id = chunks.tenant_id AND d.doc_id = chunks.doc_id)",
        [version.max(1)],
    )?;
    Ok(())
}
