//! [`PgCacheStore`]: cached answers in PostgreSQL (table `answer_cache`), shared by every
//! replica. Rows are keyed by the partition hash ([`Partition::key`](super::Partition::key));
//! the exact stage is a unique index on (partition, normalised question); the semantic stage
//! orders the partition's rows by pgvector's cosine distance (`<=>`) to the question's
//! embedding; the TTL is checked against the stored timestamp; citations are a `TEXT[]` with a
//! GIN index so [`CacheStore::invalidate_chunks`] finds the rows citing a chunk.

use async_trait::async_trait;
use pgvector::Vector;

use super::store::{CacheEntry, CacheStore, PutRequest, StoreLookup, StoreLookupResult};
use crate::error::{Error, Result};
use crate::postgres::{col, map_err, PgPool};
use crate::types::Answer;

const DDL: &str = "CREATE EXTENSION IF NOT EXISTS vector;
     CREATE TABLE IF NOT EXISTS answer_cache(
        id BIGSERIAL PRIMARY KEY,
        partition_hash TEXT NOT NULL,
        tenant TEXT NOT NULL,
        normalized TEXT NOT NULL,
        signature TEXT[] NOT NULL,
        embedding vector,
        cited TEXT[] NOT NULL,
        top_chunk TEXT,
        answer TEXT NOT NULL,
        stored_ms BIGINT NOT NULL);
     ALTER TABLE answer_cache ADD COLUMN IF NOT EXISTS top_chunk TEXT;
     CREATE UNIQUE INDEX IF NOT EXISTS answer_cache_exact ON answer_cache(partition_hash, normalized);
     CREATE INDEX IF NOT EXISTS answer_cache_cited ON answer_cache USING GIN (cited);";

/// The answer cache's entries in PostgreSQL. Cheap to clone.
#[derive(Clone, Debug)]
pub struct PgCacheStore {
    pool: PgPool,
}

impl PgCacheStore {
    /// Creates the table (and the `vector` extension) when missing and returns the store.
    pub async fn open(pool: PgPool) -> Result<Self> {
        pool.ensure_schema("answer_cache", DDL).await?;
        Ok(PgCacheStore { pool })
    }
}

fn entry(row: &tokio_postgres::Row) -> Result<CacheEntry> {
    let body: String = col(row, 3)?;
    let answer: Answer = serde_json::from_str(&body)
        .map_err(|e| Error::Storage(format!("answer_cache row is not a valid answer: {e}")))?;
    Ok(CacheEntry {
        normalized: col(row, 0)?,
        signature: col(row, 1)?,
        vector: Vec::new(),
        cited: col(row, 2)?,
        answer,
        stored_ms: col(row, 4)?,
        top: col(row, 5)?,
    })
}

#[async_trait]
impl CacheStore for PgCacheStore {
    async fn lookup(&self, req: StoreLookup) -> Result<StoreLookupResult> {
        let c = self.pool.get().await?;
        // Lookups only read (they run on every ask): expired rows are filtered here and deleted
        // when the partition is next written (`put`). Rows citing a chunk this request cannot
        // see are skipped: they are valid for the questions that retrieve those chunks.
        // Statements are prepared once per pooled connection: one round trip each after that.
        let exact = c
            .prepare_cached(
                "SELECT normalized, signature, cited, answer, stored_ms, top_chunk FROM answer_cache
                 WHERE partition_hash = $1 AND normalized = $2 AND cited <@ $3::TEXT[]
                   AND stored_ms > $4",
            )
            .await
            .map_err(map_err)?;
        let exact = c
            .query_opt(
                &exact,
                &[
                    &req.partition,
                    &req.normalized,
                    &req.visible_chunks,
                    &req.expired_at_or_before_ms,
                ],
            )
            .await
            .map_err(map_err)?;
        if let Some(row) = exact {
            return Ok(StoreLookupResult {
                exact: Some(entry(&row)?),
                nearest: None,
            });
        }
        if !req.semantic || req.vector.is_empty() {
            return Ok(StoreLookupResult::default());
        }
        let dims = i32::try_from(req.vector.len()).unwrap_or(i32::MAX);
        let q = Vector::from(req.vector);
        let nearest = c
            .prepare_cached(
                "SELECT normalized, signature, cited, answer, stored_ms, top_chunk,
                        (1 - (embedding <=> $2))::REAL AS similarity
                 FROM answer_cache
                 WHERE partition_hash = $1 AND embedding IS NOT NULL
                   AND vector_dims(embedding) = $3
                   AND cited <@ $4::TEXT[] AND top_chunk IS NOT DISTINCT FROM $5
                   AND stored_ms > $6
                 ORDER BY embedding <=> $2, id LIMIT 1",
            )
            .await
            .map_err(map_err)?;
        let top = req.visible_chunks.first();
        let row = c
            .query_opt(
                &nearest,
                &[
                    &req.partition,
                    &q,
                    &dims,
                    &req.visible_chunks,
                    &top,
                    &req.expired_at_or_before_ms,
                ],
            )
            .await
            .map_err(map_err)?;
        let nearest = match row {
            Some(r) => {
                // A zero vector has no direction: pgvector gives NaN, the in-memory store 0.
                let sim: Option<f32> = col(&r, 6)?;
                Some((sim.filter(|s| s.is_finite()).unwrap_or(0.0), entry(&r)?))
            }
            None => None,
        };
        Ok(StoreLookupResult {
            exact: None,
            nearest,
        })
    }

    async fn put(&self, req: PutRequest) -> Result<()> {
        let e = &req.entry;
        let body = serde_json::to_string(&e.answer)
            .map_err(|x| Error::Internal(format!("answer to JSON: {x}")))?;
        let vector = (!e.vector.is_empty()).then(|| Vector::from(e.vector.clone()));
        let max = i64::try_from(req.max_entries.max(1)).unwrap_or(i64::MAX);
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await.map_err(map_err)?;
        tx.execute(
            "INSERT INTO answer_cache(partition_hash, tenant, normalized, signature, embedding,
                                      cited, answer, stored_ms, top_chunk)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (partition_hash, normalized) DO UPDATE SET
                signature = excluded.signature, embedding = excluded.embedding,
                cited = excluded.cited, answer = excluded.answer, stored_ms = excluded.stored_ms,
                top_chunk = excluded.top_chunk",
            &[
                &req.partition,
                &req.tenant,
                &e.normalized,
                &e.signature,
                &vector,
                &e.cited,
                &body,
                &e.stored_ms,
                &e.top,
            ],
        )
        .await
        .map_err(map_err)?;
        tx.execute(
            "DELETE FROM answer_cache WHERE partition_hash = $1 AND stored_ms <= $2",
            &[&req.partition, &req.expired_at_or_before_ms],
        )
        .await
        .map_err(map_err)?;
        tx.execute(
            "DELETE FROM answer_cache WHERE id IN (
                SELECT id FROM answer_cache WHERE partition_hash = $1
                ORDER BY stored_ms DESC, id DESC OFFSET $2)",
            &[&req.partition, &max],
        )
        .await
        .map_err(map_err)?;
        tx.commit().await.map_err(map_err)
    }

    async fn invalidate_chunks(&self, chunk_ids: Vec<String>) -> Result<u64> {
        let c = self.pool.get().await?;
        c.execute(
            "DELETE FROM answer_cache WHERE cited && $1::TEXT[]",
            &[&chunk_ids],
        )
        .await
        .map_err(map_err)
    }

    async fn clear(&self) -> Result<()> {
        let c = self.pool.get().await?;
        c.execute("DELETE FROM answer_cache", &[])
            .await
            .map_err(map_err)?;
        Ok(())
    }
}
