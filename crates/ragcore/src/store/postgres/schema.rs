//! The PostgreSQL schema of a knowledge base (tables prefixed `kb_`, in the pool's schema) and
//! the settings stored with it (embedder fingerprint, chunker/segmenter profile).

use crate::error::{Error, Result};
use crate::postgres::{map_err, PgPool};
use crate::store::AnnConfig;

/// Bumped when the tables change incompatibly.
pub(super) const SCHEMA_VERSION: &str = "1";

/// pgvector's HNSW index takes vectors of at most this many dimensions; wider ones are
/// searched exactly.
pub(super) const HNSW_MAX_DIMS: usize = 2000;

fn ddl(dims: usize, ann: &AnnConfig) -> String {
    let hnsw = if dims <= HNSW_MAX_DIMS {
        format!(
            "CREATE INDEX IF NOT EXISTS kb_chunks_hnsw ON kb_chunks USING hnsw (embedding vector_ip_ops) \
             WITH (m = {}, ef_construction = {}) WHERE version_removed IS NULL;",
            ann.max_connections.clamp(2, 100),
            ann.ef_construction.clamp(4, 1000)
        )
    } else {
        String::new()
    };
    format!(
        r#"
        CREATE TABLE IF NOT EXISTS kb_meta(
            key   TEXT PRIMARY KEY,
            value TEXT NOT NULL
        );
        CREATE TABLE IF NOT EXISTS kb_versions(
            version    BIGINT PRIMARY KEY,
            created_at BIGINT NOT NULL,
            note       TEXT NOT NULL,
            added      BIGINT NOT NULL,
            changed    BIGINT NOT NULL,
            removed    BIGINT NOT NULL
        );
        CREATE TABLE IF NOT EXISTS kb_doc_changes(
            version BIGINT NOT NULL,
            tenant  TEXT NOT NULL,
            doc_id  TEXT NOT NULL,
            change  TEXT NOT NULL
        );
        CREATE INDEX IF NOT EXISTS kb_doc_changes_by_tenant ON kb_doc_changes(tenant, version);
        CREATE TABLE IF NOT EXISTS kb_tenants(
            tenant      TEXT PRIMARY KEY,
            live_chunks BIGINT NOT NULL DEFAULT 0,
            live_terms  BIGINT NOT NULL DEFAULT 0
        );
        CREATE TABLE IF NOT EXISTS kb_documents(
            tenant       TEXT NOT NULL,
            doc_id       TEXT NOT NULL,
            title        TEXT NOT NULL,
            kind         TEXT NOT NULL,
            source       TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            acl          TEXT[] NOT NULL,
            metadata     JSONB NOT NULL,
            version      BIGINT NOT NULL,
            PRIMARY KEY(tenant, doc_id)
        );
        CREATE TABLE IF NOT EXISTS kb_doc_history(
            tenant          TEXT NOT NULL,
            doc_id          TEXT NOT NULL,
            version_added   BIGINT NOT NULL,
            version_removed BIGINT,
            title           TEXT NOT NULL,
            kind            TEXT NOT NULL,
            source          TEXT NOT NULL,
            content_hash    TEXT NOT NULL,
            acl             TEXT[] NOT NULL,
            metadata        JSONB NOT NULL
        );
        CREATE INDEX IF NOT EXISTS kb_doc_history_by_doc ON kb_doc_history(tenant, doc_id);
        CREATE TABLE IF NOT EXISTS kb_chunks(
            id              BIGSERIAL PRIMARY KEY,
            chunk_id        TEXT NOT NULL,
            tenant          TEXT NOT NULL,
            doc_id          TEXT NOT NULL,
            ordinal         INTEGER NOT NULL,
            context         TEXT NOT NULL,
            text            TEXT NOT NULL,
            tokens          INTEGER NOT NULL,
            version_added   BIGINT NOT NULL,
            version_removed BIGINT,
            acl             TEXT[] NOT NULL,
            embedding       vector({dims}) NOT NULL,
            terms           TSVECTOR NOT NULL,
            n_terms         INTEGER NOT NULL,
            acl_open        BOOLEAN GENERATED ALWAYS AS (cardinality(acl) = 0) STORED
        );
        ALTER TABLE kb_chunks ADD COLUMN IF NOT EXISTS
            acl_open BOOLEAN GENERATED ALWAYS AS (cardinality(acl) = 0) STORED;
        CREATE UNIQUE INDEX IF NOT EXISTS kb_chunks_live
            ON kb_chunks(tenant, chunk_id) WHERE version_removed IS NULL;
        CREATE INDEX IF NOT EXISTS kb_chunks_by_doc
            ON kb_chunks(tenant, doc_id) WHERE version_removed IS NULL;
        CREATE INDEX IF NOT EXISTS kb_chunks_by_doc_all ON kb_chunks(tenant, doc_id, version_added);
        CREATE INDEX IF NOT EXISTS kb_chunks_terms
            ON kb_chunks USING gin (terms) WHERE version_removed IS NULL;
        {hnsw}
        "#
    )
}

/// Creates pgvector (once per database, in `public`) and the tables when missing.
pub(super) async fn ensure(pool: &PgPool, dims: usize, ann: &AnnConfig) -> Result<()> {
    {
        let mut client = pool.get().await?;
        let tx = client.transaction().await.map_err(map_err)?;
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtext('ragcore:extension:vector'))",
            &[],
        )
        .await
        .map_err(map_err)?;
        tx.batch_execute("CREATE EXTENSION IF NOT EXISTS vector SCHEMA public")
            .await
            .map_err(|e| {
                let mapped = map_err(e);
                match mapped {
                    Error::Storage(m) => Error::Config(format!(
                        "pgvector is needed and could not be enabled ({m}); install pgvector on the \
                         server or run `CREATE EXTENSION vector` as a superuser"
                    )),
                    other => other,
                }
            })?;
        tx.commit().await.map_err(map_err)?;
    }
    pool.ensure_schema("kb_store", &ddl(dims, ann)).await?;
    check_meta(pool, "schema_version", SCHEMA_VERSION, "schema version").await
}

/// Stores `expected` under `key` when absent; otherwise the stored value must equal it.
pub(super) async fn check_meta(pool: &PgPool, key: &str, expected: &str, what: &str) -> Result<()> {
    let client = pool.get().await?;
    client
        .execute(
            "INSERT INTO kb_meta(key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
            &[&key, &expected],
        )
        .await
        .map_err(map_err)?;
    let stored: String = client
        .query_one("SELECT value FROM kb_meta WHERE key = $1", &[&key])
        .await
        .map_err(map_err)?
        .get(0);
    if stored != expected {
        return Err(Error::Incompatible(format!(
            "the PostgreSQL knowledge base{} was built with {what} {stored:?}, but {expected:?} is \
             configured; use the stored settings or another schema",
            pool.schema()
                .map(|s| format!(" in schema {s}"))
                .unwrap_or_default()
        )));
    }
    Ok(())
}

/// A stored setting.
pub(super) async fn meta(
    tx: &tokio_postgres::Transaction<'_>,
    key: &str,
) -> Result<Option<String>> {
    Ok(tx
        .query_opt("SELECT value FROM kb_meta WHERE key = $1", &[&key])
        .await
        .map_err(map_err)?
        .map(|r| r.get(0)))
}
