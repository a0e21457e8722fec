//! The SQLite schema of a local knowledge base (the source of truth).

use rusqlite::{Connection, OptionalExtension};

use crate::error::Result;

/// Bumped when the schema changes incompatibly. Version 2 added `doc_history` (the documents
/// of every version, for rollback); a version-1 database is migrated forward on open.
pub(crate) const SCHEMA_VERSION: &str = "2";

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
    fts_hash_size(conn)?;
    let stored: Option<String> = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'schema_version'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    match stored.as_deref() {
        None => {
            // A new database (or one from before the version was recorded): history starts
            // with whatever is already there.
            migrate_to_2(conn)?;
        }
        Some("1") => migrate_to_2(conn)?,
        Some(_) => {}
    }
    Ok(())
}

/// Bytes of terms FTS5 buffers in memory before it writes an index segment. Its default
/// (1 MiB) makes a large ingest flush and re-sort the buffer dozens of times and then merge the
/// small segments; 32 MiB covers an ingest of a few thousand chunks in one flush at commit. It
/// is stored in the FTS5 config table, so it is written once per knowledge base.
const FTS_HASH_BYTES: i64 = 32 * 1024 * 1024;

fn fts_hash_size(conn: &Connection) -> Result<()> {
    let stored: Option<i64> = conn
        .query_row(
            "SELECT v FROM chunks_fts_config WHERE k = 'hashsize'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    if stored != Some(FTS_HASH_BYTES) {
        conn.execute(
            "INSERT INTO chunks_fts(chunks_fts, rank) VALUES ('hashsize', ?1)",
            [FTS_HASH_BYTES],
        )?;
    }
    Ok(())
}

/// Version 1 -> 2: creates `doc_history` and seeds it with the live documents, each valid from
/// the version that last wrote it. History before the migration is not known, so rollback can
/// only reach versions from `history_since` on. One transaction; nothing existing is changed.
fn migrate_to_2(conn: &Connection) -> Result<()> {
    conn.execute_batch(
        r#"
        BEGIN IMMEDIATE;
        CREATE TABLE IF NOT EXISTS doc_history(
            tenant_id       INTEGER NOT NULL,
            doc_id          TEXT NOT NULL,
            version_added   INTEGER NOT NULL,
            version_removed INTEGER,
            title           TEXT NOT NULL,
            kind            TEXT NOT NULL,
            source          TEXT NOT NULL,
            content_hash    TEXT NOT NULL,
            acl             TEXT NOT NULL,
            metadata        TEXT NOT NULL
        );
        CREATE INDEX IF NOT EXISTS doc_history_live
            ON doc_history(tenant_id, doc_id) WHERE version_removed IS NULL;
        INSERT INTO doc_history(tenant_id, doc_id, version_added, title, kind, source, content_hash, acl, metadata)
            SELECT d.tenant_id, d.doc_id, d.version, d.title, d.kind, d.source, d.content_hash, d.acl, d.metadata
            FROM documents d WHERE NOT EXISTS (SELECT 1 FROM doc_history h
                WHERE h.tenant_id = d.tenant_id AND h.doc_id = d.doc_id AND h.version_removed IS NULL);
        INSERT OR IGNORE INTO meta(key, value)
            SELECT 'history_since', CAST(COALESCE(MAX(version), 0) AS TEXT) FROM kb_versions;
        INSERT OR REPLACE INTO meta(key, value) VALUES ('schema_version', '2');
        COMMIT;
        "#,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fts_hash_size_is_stored_once_and_kept() -> Result<()> {
        let conn = Connection::open_in_memory()?;
        init(&conn)?;
        let read = |conn: &Connection| -> Result<i64> {
            Ok(conn.query_row(
                "SELECT v FROM chunks_fts_config WHERE k = 'hashsize'",
                [],
                |r| r.get(0),
            )?)
        };
        assert_eq!(read(&conn)?, FTS_HASH_BYTES);
        init(&conn)?; // a reopen keeps it (one row, same value)
        assert_eq!(read(&conn)?, FTS_HASH_BYTES);
        let rows: i64 = conn.query_row(
            "SELECT COUNT(*) FROM chunks_fts_config WHERE k = 'hashsize'",
            [],
            |r| r.get(0),
        )?;
        assert_eq!(rows, 1);
        Ok(())
    }
}
