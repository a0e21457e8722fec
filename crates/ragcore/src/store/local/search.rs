//! Helpers of the two searches: the visibility condition, FTS5 query text, and fetching the
//! rows of hits.

use std::collections::HashSet;

use rusqlite::{params, Connection, OptionalExtension};

use crate::error::{Error, Result};
use crate::retrieve::{Candidate, Fused, FusedCandidate};
use crate::store::StoredChunk;
use crate::types::{Chunk, DocumentKind, Scope};

/// The SQL condition that makes a chunk row `c` visible to tenant `?1` and principals `?2` (JSON).
pub(super) const VISIBLE_SQL: &str =
    "c.tenant_id = ?1 AND c.version_removed IS NULL AND (d.acl = '[]' OR EXISTS (\
     SELECT 1 FROM doc_acl a WHERE a.tenant_id = c.tenant_id AND a.doc_id = c.doc_id \
     AND a.principal IN (SELECT value FROM json_each(?2))))";

/// Document frequencies are counted up to this many chunks.
pub(super) const DF_CAP: u32 = 1000;

pub(super) fn principals_json(scope: &Scope) -> Result<String> {
    serde_json::to_string(&scope.principals).map_err(|e| Error::Internal(e.to_string()))
}

pub(super) fn fts_query(terms: &[String]) -> String {
    let mut seen = HashSet::new();
    terms
        .iter()
        .filter(|t| !t.is_empty() && seen.insert(t.as_str()))
        .map(|t| format!("\"{}\"", t.replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(" OR ")
}

/// The BM25 query of both searches: the best `k` visible rows matching `query` (an
/// [`fts_query`]), best first, with their chunk ids.
pub(super) fn lexical_candidates(
    conn: &Connection,
    tenant: u32,
    principals: &str,
    query: &str,
    k: usize,
) -> Result<Vec<Candidate<i64>>> {
    let sql = format!(
        "SELECT c.rowid, c.chunk_id, bm25(chunks_fts) AS s FROM chunks_fts \
         JOIN chunks c ON c.rowid = chunks_fts.rowid \
         JOIN documents d ON d.tenant_id = c.tenant_id AND d.doc_id = c.doc_id \
         WHERE chunks_fts MATCH ?3 AND {VISIBLE_SQL} ORDER BY s LIMIT ?4"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![tenant, principals, query, k as i64], |r| {
        Ok(Candidate {
            key: r.get::<_, i64>(0)?,
            chunk_id: r.get(1)?,
            score: -(r.get::<_, f64>(2)? as f32),
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Chunk ids of vector hits (row id, similarity), in order; rows no longer live are dropped.
/// One statement for all hits (a row-id lookup each; the graph only holds live rows of live
/// documents, so the check here is the tenant and `version_removed`). `CROSS JOIN` keeps
/// `json_each` the outer loop: planned freely, SQLite scanned the tenant's chunks instead.
pub(super) fn vector_candidates(
    conn: &Connection,
    tenant: u32,
    hits: &[(i64, f32)],
) -> Result<Vec<Candidate<i64>>> {
    if hits.is_empty() {
        return Ok(Vec::new());
    }
    let ids = serde_json::to_string(&hits.iter().map(|h| h.0).collect::<Vec<_>>())
        .map_err(|e| Error::Internal(e.to_string()))?;
    let mut stmt = conn.prepare_cached(
        "SELECT c.rowid, c.chunk_id FROM json_each(?1) j CROSS JOIN chunks c ON c.rowid = j.value \
         WHERE c.tenant_id = ?2 AND c.version_removed IS NULL",
    )?;
    let rows = stmt.query_map(params![ids, tenant], |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
    })?;
    let mut found: std::collections::HashMap<i64, String> =
        rows.collect::<rusqlite::Result<_>>()?;
    Ok(hits
        .iter()
        .filter_map(|(rowid, score)| {
            found.remove(rowid).map(|chunk_id| Candidate {
                key: *rowid,
                chunk_id,
                score: *score,
            })
        })
        .collect())
}

/// The rows of the kept fused candidates, in order, as [`Fused`] (a row no longer live is
/// dropped). The chunk's own score is its vector similarity, else its BM25 score.
pub(super) fn read_kept(
    conn: &Connection,
    tenant: u32,
    fused: Vec<FusedCandidate<i64>>,
) -> Result<Vec<Fused>> {
    let keys: Vec<(i64, f32)> = fused
        .iter()
        .map(|f| (f.key, f.vector_score.or(f.lexical_score).unwrap_or(f.score)))
        .collect();
    let rows = fetch_rows(conn, tenant, &keys)?;
    Ok(fused
        .into_iter()
        .zip(rows)
        .filter_map(|(f, row)| {
            row.map(|chunk| Fused {
                chunk,
                score: f.score,
                vector_score: f.vector_score,
                lexical_score: f.lexical_score,
            })
        })
        .collect())
}

/// The rows of hits (row id, score), in order; rows no longer live are dropped.
pub(super) fn fetch_chunks(
    conn: &Connection,
    tenant: u32,
    rowids: &[(i64, f32)],
) -> Result<Vec<StoredChunk>> {
    Ok(fetch_rows(conn, tenant, rowids)?
        .into_iter()
        .flatten()
        .collect())
}

/// The row of each hit (row id, score), `None` where it is no longer live.
fn fetch_rows(
    conn: &Connection,
    tenant: u32,
    rowids: &[(i64, f32)],
) -> Result<Vec<Option<StoredChunk>>> {
    let mut stmt = conn.prepare_cached(
        "SELECT c.chunk_id, c.doc_id, c.ordinal, c.context, c.text, c.tokens, d.title, d.kind, \
         json_extract(d.metadata, '$.valid_until') \
         FROM chunks c JOIN documents d ON d.tenant_id = c.tenant_id AND d.doc_id = c.doc_id \
         WHERE c.rowid = ?1 AND c.tenant_id = ?2 AND c.version_removed IS NULL",
    )?;
    let mut out = Vec::with_capacity(rowids.len());
    for (rowid, score) in rowids {
        let row = stmt
            .query_row(params![rowid, tenant], |r| {
                Ok(StoredChunk {
                    chunk: Chunk {
                        id: r.get(0)?,
                        document_id: r.get(1)?,
                        ordinal: r.get(2)?,
                        context: r.get(3)?,
                        text: r.get(4)?,
                        tokens: r.get(5)?,
                    },
                    title: r.get(6)?,
                    kind: DocumentKind::parse(&r.get::<_, String>(7)?),
                    score: *score,
                    valid_until: r.get(8)?,
                })
            })
            .optional()?;
        out.push(row);
    }
    Ok(out)
}
