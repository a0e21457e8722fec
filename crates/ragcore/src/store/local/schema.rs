//! The SQLite schema of a local knowledge base (the source of truth).

use rusqlite::Connection;

use crate::error::Result;

/// Bumped when the schema changes incompatibly.
pub(crate) const SCHEMA_VERSION: &str = "1";

/// Creates the tables when missing and sets the connection pragmas.
pub(crate) fn init(conn: &Connection) -> Result<()> {
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.busy_timeout(std::time::Duration::from_secs(30))?;
    conn.execute_batch(
        r#"
        CREATE TABLE IF NOT EXISTS meta(
            key   TEXT PRIMARY KEY,
            value TEXT NOT NULL
        );
        CREATE TABLE IF NOT EXISTS kb_versions(
            version    INTEGER PRIMARY KEY,
            created_at INTEGER NOT NULL,
            note       TEXT NOT NULL,
            added      INTEGER NOT NULL,
            changed    INTEGER NOT NULL,
            removed    INTEGER NOT NULL
        );
        CREATE TABLE IF NOT EXISTS doc_changes(
            version   INTEGER NOT NULL,
            tenant_id INTEGER NOT NULL,
            doc_id    TEXT NOT NULL,
            change    TEXT NOT NULL
        );
        CREATE INDEX IF NOT EXISTS doc_changes_by_version ON doc_changes(version);
        CREATE TABLE IF NOT EXISTS tenants(
            id   INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE
        );
        CREATE TABLE IF NOT EXISTS documents(
            tenant_id    INTEGER NOT NULL REFERENCES tenants(id),
            doc_id       TEXT NOT NULL,
            title        TEXT NOT NULL,
            kind         TEXT NOT NULL,
            source       TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            acl          TEXT NOT NULL,
            metadata     TEXT NOT NULL,
            version      INTEGER NOT NULL,
            PRIMARY KEY(tenant_id, doc_id)
        );
        CREATE TABLE IF NOT EXISTS doc_acl(
            tenant_id INTEGER NOT NULL,
            doc_id    TEXT NOT NULL,
            principal TEXT NOT NULL,
            PRIMARY KEY(tenant_id, doc_id, principal)
        );
        CREATE TABLE IF NOT EXISTS chunks(
            rowid           INTEGER PRIMARY KEY AUTOINCREMENT,
            chunk_id        TEXT NOT NULL,
            tenant_id       INTEGER NOT NULL REFERENCES tenants(id),
            doc_id          TEXT NOT NULL,
            ordinal         INTEGER NOT NULL,
            context         TEXT NOT NULL,
            text            TEXT NOT NULL,
            tokens          INTEGER NOT NULL,
            version_added   INTEGER NOT NULL,
            version_removed INTEGER,
            vector          BLOB NOT NULL
        );
        CREATE UNIQUE INDEX IF NOT EXISTS chunks_live
            ON chunks(tenant_id, chunk_id) WHERE version_removed IS NULL;
        CREATE INDEX IF NOT EXISTS chunks_by_doc
            ON chunks(tenant_id, doc_id) WHERE version_removed IS NULL;
        CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts
            USING fts5(terms, tokenize = 'unicode61 remove_diacritics 0');
        "#,
    )?;
    conn.execute(
        "INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', ?1)",
        [SCHEMA_VERSION],
    )?;
    Ok(())
}

/// Encodes a vector as little-endian f32 bytes.
pub(crate) fn vec_to_blob(v: &[f32]) -> Vec<u8> {
    let mut b = Vec::with_capacity(v.len() * 4);
    for x in v {
        b.extend_from_slice(&x.to_le_bytes());
    }
    b
}

/// Decodes little-endian f32 bytes.
pub(crate) fn blob_to_vec(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}
