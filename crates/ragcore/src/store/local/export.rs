//! Reading a local knowledge base out whole — live documents with their chunks, stored vectors
//! and BM25 terms — for copying it into another store (`ragcore migrate`).

use std::collections::{BTreeMap, HashMap};

use rusqlite::Connection;

use super::schema;
use crate::error::{Error, Result};
use crate::store::{ChunkRecord, DocumentRecord, UpsertRequest};
use crate::types::{Chunk, Document, DocumentKind};

/// One upsert request per tenant holding every live document, chunk and vector.
pub(super) fn live_requests(conn: &Connection, dims: usize) -> Result<Vec<UpsertRequest>> {
    let tenants: Vec<(u32, String)> = {
        let mut stmt = conn.prepare("SELECT id, name FROM tenants ORDER BY name")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    let mut out = Vec::new();
    for (tid, name) in tenants {
        let mut chunks: HashMap<String, Vec<ChunkRecord>> = HashMap::new();
        {
            let mut stmt = conn.prepare(
                "SELECT c.doc_id, c.chunk_id, c.ordinal, c.context, c.text, c.tokens, c.vector, \
                 COALESCE(f.terms, '') FROM chunks c LEFT JOIN chunks_fts f ON f.rowid = c.rowid \
                 WHERE c.tenant_id = ?1 AND c.version_removed IS NULL ORDER BY c.doc_id, c.ordinal, c.rowid",
            )?;
            let rows = stmt.query_map([tid], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    Chunk {
                        document_id: r.get(0)?,
                        id: r.get(1)?,
                        ordinal: r.get(2)?,
                        context: r.get(3)?,
                        text: r.get(4)?,
                        tokens: r.get(5)?,
                    },
                    r.get::<_, Vec<u8>>(6)?,
                    r.get::<_, String>(7)?,
                ))
            })?;
            for row in rows {
                let (doc, chunk, blob, terms) = row?;
                if blob.len() != dims * 4 {
                    return Err(Error::Incompatible(format!(
                        "chunk {} of {doc:?} has a {}-dimensional vector, the embedder {dims}",
                        chunk.id,
                        blob.len() / 4
                    )));
                }
                chunks.entry(doc).or_default().push(ChunkRecord {
                    chunk,
                    lexical_terms: terms,
                    vector: Some(schema::blob_to_vec(&blob)),
                });
            }
        }
        let mut documents = Vec::new();
        let mut stmt = conn.prepare(
            "SELECT doc_id, title, kind, source, content_hash, acl, metadata FROM documents \
             WHERE tenant_id = ?1 ORDER BY doc_id",
        )?;
        let rows = stmt.query_map([tid], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, String>(6)?,
            ))
        })?;
        for row in rows {
            let (id, title, kind, source, hash, acl, metadata) = row?;
            let mut document = Document::new(id.clone(), String::new());
            document.title = title;
            document.kind = DocumentKind::parse(&kind);
            document.source = source;
            document.acl = serde_json::from_str(&acl).unwrap_or_default();
            document.metadata =
                serde_json::from_str::<BTreeMap<String, String>>(&metadata).unwrap_or_default();
            documents.push(DocumentRecord {
                document,
                content_hash: hash,
                chunks: chunks.remove(&id).unwrap_or_default(),
            });
        }
        out.push(UpsertRequest {
            tenant: name,
            documents,
            delete_document_ids: Vec::new(),
            note: "migrate".into(),
        });
    }
    Ok(out)
}
