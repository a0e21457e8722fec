//! Helpers of the two searches: the visibility condition, FTS5 query text, and fetching the
//! rows of hits.

use std::collections::HashSet;

use rusqlite::{params, Connection, OptionalExtension};

use crate::error::{Error, Result};
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

pub(super) fn fetch_chunks(
    conn: &Connection,
    tenant: u32,
    rowids: &[(i64, f32)],
) -> Result<Vec<StoredChunk>> {
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
        if let Some(c) = row {
            out.push(c);
        }
    }
    Ok(out)
}
