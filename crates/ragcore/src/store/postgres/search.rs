//! The two searches on PostgreSQL: nearest neighbours with pgvector (HNSW with iterative
//! filtered scans, or an exact scan when the scope can see few vectors) and BM25 over a
//! `tsvector` of the terms segmented in Rust, both filtered by the [`Scope`] inside the SQL.
//!
//! BM25 is computed in SQL from term statistics (not `ts_rank_cd`, which has no IDF): the GIN
//! index finds the visible chunks containing any query term; for those, the term frequencies
//! come from the tsvector positions, document frequencies are counted among the visible matches
//! and the chunk count and average length are the tenant's (`kb_tenants`). k1 = 1.2, b = 0.75.

use std::collections::{BTreeMap, HashSet};

use pgvector::Vector;
use tokio_postgres::Row;

use super::Inner;
use crate::error::Result;
use crate::postgres::map_err;
use crate::store::{LexicalSearchRequest, StoredChunk, TermStats, VectorSearchRequest};
use crate::types::{Chunk, DocumentKind, Scope};

/// The condition that chunk `c` is visible to tenant `$1` with principals `$2` (text[]).
/// `acl_open` (a stored generated column, so it has statistics) rather than
/// `cardinality(acl) = 0`: with the expression the planner guessed the filter selective and
/// chose an exact scan over the HNSW index.
pub(super) const VISIBLE_SQL: &str = "c.tenant = $1 AND c.version_removed IS NULL \
     AND (c.acl_open OR c.acl && $2::text[])";

/// The columns [`stored_chunk`] reads, from chunk `c` and document `d`.
pub(super) const CHUNK_COLUMNS: &str = "c.chunk_id, c.doc_id, c.ordinal, c.context, c.text, \
     c.tokens, d.title, d.kind, d.metadata->>'valid_until'";

/// Document frequencies are counted up to this many chunks (as the local store).
const DF_CAP: i64 = 1000;

/// Longest lexeme PostgreSQL accepts in a tsvector (bytes), less a margin.
const MAX_LEXEME: usize = 2000;

/// Highest tsvector position.
const MAX_POSITION: usize = 16383;

/// Positions kept per lexeme (PostgreSQL keeps at most 256).
const MAX_POSITIONS: usize = 256;

fn quote_lexeme(term: &str) -> String {
    format!("'{}'", term.replace('\\', "\\\\").replace('\'', "''"))
}

fn usable(term: &str) -> bool {
    !term.is_empty() && term.len() <= MAX_LEXEME
}

/// The tsvector literal of space-separated terms, with positions (so term frequencies survive),
/// and the number of terms.
pub(super) fn tsvector_literal(terms: &str) -> (String, i32) {
    let mut positions: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    let mut n = 0usize;
    for term in terms.split_whitespace().filter(|t| usable(t)) {
        n += 1;
        let list = positions.entry(term).or_default();
        if list.len() < MAX_POSITIONS {
            list.push(n.min(MAX_POSITION));
        }
    }
    let literal = positions
        .into_iter()
        .map(|(term, pos)| {
            let mut pos = pos;
            pos.dedup();
            let p: Vec<String> = pos.iter().map(|p| p.to_string()).collect();
            format!("{}:{}", quote_lexeme(term), p.join(","))
        })
        .collect::<Vec<_>>()
        .join(" ");
    (literal, n.min(i32::MAX as usize) as i32)
}

/// Distinct usable query terms.
fn distinct_terms(terms: &[String]) -> Vec<String> {
    let mut seen = HashSet::new();
    terms
        .iter()
        .filter(|t| usable(t) && !t.contains(char::is_whitespace) && seen.insert(t.as_str()))
        .cloned()
        .collect()
}

/// A tsquery literal matching any of `terms` (empty when there is none).
fn tsquery_literal(terms: &[String]) -> String {
    terms
        .iter()
        .map(|t| quote_lexeme(t))
        .collect::<Vec<_>>()
        .join(" | ")
}

/// A hit from a row of [`CHUNK_COLUMNS`].
pub(super) fn stored_chunk(r: &Row, score: f32) -> StoredChunk {
    StoredChunk {
        chunk: Chunk {
            id: r.get(0),
            document_id: r.get(1),
            ordinal: r.get::<_, i32>(2).max(0) as u32,
            context: r.get(3),
            text: r.get(4),
            tokens: r.get::<_, i32>(5).max(0) as u32,
        },
        title: r.get(6),
        kind: DocumentKind::parse(&r.get::<_, String>(7)),
        score,
        valid_until: r.get(8),
    }
}

/// Live chunks of a tenant and of the whole store.
async fn live_counts(client: &tokio_postgres::Client, tenant: &str) -> Result<(i64, i64)> {
    let row = client
        .query_one(
            "SELECT COALESCE((SELECT live_chunks FROM kb_tenants WHERE tenant = $1), 0), \
             COALESCE((SELECT SUM(live_chunks) FROM kb_tenants), 0)::BIGINT",
            &[&tenant],
        )
        .await
        .map_err(map_err)?;
    Ok((row.get(0), row.get(1)))
}

pub(super) async fn vector_search(
    inner: &Inner,
    request: &VectorSearchRequest,
) -> Result<Vec<StoredChunk>> {
    if request.k == 0 || request.vector.len() != inner.fingerprint.dimensions {
        return Ok(Vec::new());
    }
    let mut client = inner.pool.get().await?;
    let (tenant_live, total_live) = live_counts(&client, &request.scope.tenant).await?;
    if tenant_live == 0 {
        return Ok(Vec::new());
    }
    let ann = &inner.ann;
    let share = tenant_live as f32 / total_live.max(1) as f32;
    let exact = inner.fingerprint.dimensions > super::schema::HNSW_MAX_DIMS
        || tenant_live as usize <= ann.exact_max
        || share < ann.exact_fraction;
    let query = Vector::from(request.vector.clone());
    let k = request.k as i64;
    let principals = &request.scope.principals;
    let tenant = &request.scope.tenant;
    let rows = if exact {
        // `+ 0` keeps the planner off the HNSW index: an exact scan over the tenant's rows.
        let sql = format!(
            "WITH nn AS MATERIALIZED (SELECT c.id, (c.embedding <#> $3) + 0 AS dist FROM kb_chunks c \
             WHERE {VISIBLE_SQL} ORDER BY 2, c.id LIMIT $4) \
             SELECT {CHUNK_COLUMNS}, nn.dist FROM nn JOIN kb_chunks c ON c.id = nn.id \
             JOIN kb_documents d ON d.tenant = c.tenant AND d.doc_id = c.doc_id \
             ORDER BY nn.dist, c.id"
        );
        client
            .query(&sql, &[tenant, principals, &query, &k])
            .await
            .map_err(map_err)?
    } else {
        let ef = ((ann.ef_search.max(2 * request.k)) as f32 / share.max(0.05)).ceil() as usize;
        let ef = ef.clamp(request.k.min(1000), 1000).to_string();
        let sql = format!(
            "WITH nn AS MATERIALIZED (SELECT c.id, c.embedding <#> $3 AS dist FROM kb_chunks c \
             WHERE {VISIBLE_SQL} ORDER BY c.embedding <#> $3 LIMIT $4) \
             SELECT {CHUNK_COLUMNS}, nn.dist FROM nn JOIN kb_chunks c ON c.id = nn.id \
             JOIN kb_documents d ON d.tenant = c.tenant AND d.doc_id = c.doc_id \
             ORDER BY nn.dist, c.id"
        );
        let tx = client.transaction().await.map_err(map_err)?;
        tx.execute(
            "SELECT set_config('hnsw.ef_search', $1, true), \
             set_config('hnsw.iterative_scan', 'relaxed_order', true)",
            &[&ef],
        )
        .await
        .map_err(map_err)?;
        let rows = tx
            .query(&sql, &[tenant, principals, &query, &k])
            .await
            .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        rows
    };
    Ok(rows
        .iter()
        .map(|r| {
            let dist: f64 = r.get(9);
            stored_chunk(r, -(dist as f32))
        })
        .collect())
}

pub(super) async fn lexical_search(
    inner: &Inner,
    request: &LexicalSearchRequest,
) -> Result<Vec<StoredChunk>> {
    let terms = distinct_terms(&request.terms);
    if terms.is_empty() || request.k == 0 {
        return Ok(Vec::new());
    }
    let client = inner.pool.get().await?;
    let sql = format!(
        "WITH stats AS (SELECT GREATEST(live_chunks, 1)::float8 AS n, \
                GREATEST(live_terms::float8 / GREATEST(live_chunks, 1), 1) AS avglen \
                FROM kb_tenants WHERE tenant = $1), \
         cand AS MATERIALIZED (SELECT c.id, c.terms, c.n_terms FROM kb_chunks c \
                WHERE {VISIBLE_SQL} AND c.terms @@ $3::text::tsquery), \
         tf AS (SELECT cand.id, cand.n_terms, u.lexeme, cardinality(u.positions)::float8 AS tf \
                FROM cand, unnest(cand.terms) u WHERE u.lexeme = ANY($4::text[])), \
         df AS (SELECT lexeme, COUNT(*)::float8 AS df FROM tf GROUP BY lexeme), \
         scored AS (SELECT tf.id, SUM(ln(1 + (stats.n - df.df + 0.5) / (df.df + 0.5)) * tf.tf * 2.2 \
                / (tf.tf + 1.2 * (0.25 + 0.75 * tf.n_terms / stats.avglen))) AS s \
                FROM tf JOIN df USING (lexeme) CROSS JOIN stats GROUP BY tf.id \
                ORDER BY s DESC, tf.id LIMIT $5) \
         SELECT {CHUNK_COLUMNS}, scored.s FROM scored JOIN kb_chunks c ON c.id = scored.id \
         JOIN kb_documents d ON d.tenant = c.tenant AND d.doc_id = c.doc_id \
         ORDER BY scored.s DESC, c.id"
    );
    let q = tsquery_literal(&terms);
    let rows = client
        .query(
            &sql,
            &[
                &request.scope.tenant,
                &request.scope.principals,
                &q,
                &terms,
                &(request.k as i64),
            ],
        )
        .await
        .map_err(map_err)?;
    Ok(rows
        .iter()
        .map(|r| {
            let s: f64 = r.get(9);
            stored_chunk(r, s as f32)
        })
        .collect())
}

pub(super) async fn term_stats(
    inner: &Inner,
    scope: &Scope,
    terms: &[String],
) -> Result<TermStats> {
    let client = inner.pool.get().await?;
    let (tenant_live, _) = live_counts(&client, &scope.tenant).await?;
    if tenant_live == 0 {
        return Ok(TermStats {
            chunks: 0,
            document_frequency: vec![0; terms.len()],
        });
    }
    // One tsquery per requested term (empty for an unusable term), counted in one statement.
    let queries: Vec<String> = terms
        .iter()
        .map(|t| {
            if usable(t) && !t.contains(char::is_whitespace) {
                quote_lexeme(t)
            } else {
                String::new()
            }
        })
        .collect();
    let sql = format!(
        "SELECT q.ord, CASE WHEN q.t = '' THEN 0 ELSE (SELECT COUNT(*) FROM (SELECT 1 FROM kb_chunks c \
         WHERE {VISIBLE_SQL} AND c.terms @@ q.t::tsquery LIMIT {DF_CAP}) x) END \
         FROM unnest($3::text[]) WITH ORDINALITY AS q(t, ord) ORDER BY q.ord"
    );
    let rows = client
        .query(&sql, &[&scope.tenant, &scope.principals, &queries])
        .await
        .map_err(map_err)?;
    let document_frequency = rows
        .iter()
        .map(|r| r.get::<_, i64>(1).max(0) as u64)
        .collect();
    Ok(TermStats {
        chunks: tenant_live.max(0) as u64,
        document_frequency,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tsvector_keeps_frequencies_and_escapes() {
        let (lit, n) = tsvector_literal("退貨 it's a\\b 退貨");
        assert_eq!(n, 4);
        assert!(lit.contains("'退貨':1,4"), "{lit}");
        assert!(lit.contains("'it''s':2"), "{lit}");
        assert!(lit.contains("'a\\\\b':3"), "{lit}");
        assert_eq!(
            tsquery_literal(&distinct_terms(&["a".into(), "a".into(), "b'c".into()])),
            "'a' | 'b''c'"
        );
    }
}
