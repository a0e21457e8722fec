//! [`EventLog`]: one row per `ask`, behind a trait; [`SqliteEventLog`] keeps them in a local
//! knowledge base's `ops.sqlite` (table `ask_events`); `PgEventLog` in PostgreSQL.

use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use rusqlite::{params, Connection};

use super::AskEvent;
use crate::error::{Error, Result};

/// Append one event.
#[derive(Debug, Clone)]
pub struct AppendEventRequest {
    /// The event.
    pub event: AskEvent,
}

/// Read events, oldest first.
#[derive(Debug, Clone, Default)]
pub struct ListEventsRequest {
    /// Only this tenant's.
    pub tenant: Option<String>,
    /// Only events at or after this Unix millisecond.
    pub since_ms: Option<i64>,
    /// At most this many (the newest ones).
    pub limit: Option<usize>,
}

/// Stores ask events.
#[async_trait]
pub trait EventLog: Send + Sync {
    /// Appends an event.
    async fn append(&self, request: AppendEventRequest) -> Result<()>;
    /// Events matching the request, oldest first.
    async fn list(&self, request: ListEventsRequest) -> Result<Vec<AskEvent>>;
}

/// The event log in SQLite.
#[derive(Clone)]
pub struct SqliteEventLog {
    conn: Arc<Mutex<Connection>>,
}

impl std::fmt::Debug for SqliteEventLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SqliteEventLog")
    }
}

impl SqliteEventLog {
    /// Opens the event log of the local knowledge base in directory `dir` (its `ops.sqlite`),
    /// as another process reads it (the CLI does). The rows of an older knowledge base, kept
    /// in `kb.sqlite`, are moved over first.
    pub fn open_kb_dir(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref();
        let ops = dir.join(crate::ops_file::OPS_FILE);
        let log = Self::open(&ops)?;
        crate::ops_file::move_legacy_tables(&dir.join("kb.sqlite"), &ops)?;
        Ok(log)
    }

    /// Opens the log in `db_file` (normally a knowledge base's `ops.sqlite`), creating its
    /// table when missing.
    pub fn open(db_file: impl AsRef<Path>) -> Result<Self> {
        Self::with_connection(crate::ops_file::open_shared(db_file.as_ref())?)
    }

    /// The log on a connection shared with the other operational records (see
    /// [`crate::ops_file::SharedConnection`]), creating its table when missing.
    pub fn with_connection(conn: crate::ops_file::SharedConnection) -> Result<Self> {
        crate::ops_file::create_tables(
            &conn,
            "event log",
            "CREATE TABLE IF NOT EXISTS ask_events(
                seq INTEGER PRIMARY KEY AUTOINCREMENT, request_id TEXT NOT NULL UNIQUE,
                at_ms INTEGER NOT NULL, tenant TEXT NOT NULL, outcome TEXT NOT NULL,
                body TEXT NOT NULL);
             CREATE INDEX IF NOT EXISTS ask_events_at ON ask_events(at_ms);
             CREATE INDEX IF NOT EXISTS ask_events_tenant ON ask_events(tenant, at_ms);",
        )?;
        Ok(SqliteEventLog { conn })
    }
}

#[async_trait]
impl EventLog for SqliteEventLog {
    async fn append(&self, request: AppendEventRequest) -> Result<()> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let e = &request.event;
            let body = serde_json::to_string(e)
                .map_err(|x| Error::Internal(format!("event to JSON: {x}")))?;
            let conn = conn.lock().map_err(|_| Error::poisoned("event log"))?;
            conn.prepare_cached("INSERT INTO ask_events(request_id, at_ms, tenant, outcome, body) VALUES (?1, ?2, ?3, ?4, ?5)")?
.execute(
                params![e.request_id, e.at_ms, e.tenant, e.outcome, body],
            )?;
            Ok(())
        })
        .await?
    }

    async fn list(&self, request: ListEventsRequest) -> Result<Vec<AskEvent>> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let conn = conn.lock().map_err(|_| Error::poisoned("event log"))?;
            let limit = request.limit.map(|l| l as i64).unwrap_or(-1);
            let mut stmt = conn.prepare(
                "SELECT body FROM (SELECT seq, body FROM ask_events \
                 WHERE (?1 IS NULL OR tenant = ?1) AND (?2 IS NULL OR at_ms >= ?2) \
                 ORDER BY seq DESC LIMIT ?3) ORDER BY seq",
            )?;
            let rows = stmt.query_map(params![request.tenant, request.since_ms, limit], |r| {
                r.get::<_, String>(0)
            })?;
            let mut out = Vec::new();
            for (i, body) in rows.enumerate() {
                let body = body?;
                out.push(serde_json::from_str(&body).map_err(|e| {
                    Error::Storage(format!("ask_events row {i} is not a valid event: {e}"))
                })?);
            }
            Ok(out)
        })
        .await?
    }
}

/// Events as JSON Lines (one object per line).
pub fn events_to_jsonl(events: &[AskEvent]) -> Result<String> {
    let mut out = String::new();
    for e in events {
        out.push_str(
            &serde_json::to_string(e)
                .map_err(|x| Error::Internal(format!("event to JSON: {x}")))?,
        );
        out.push('\n');
    }
    Ok(out)
}
