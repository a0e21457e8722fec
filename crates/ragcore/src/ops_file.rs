//! The operational records of a local knowledge base live in `ops.sqlite`, next to `kb.sqlite`:
//! the event log, the cost ledger (with its reservations) and the drift log. Every ask writes
//! to them; kept in the knowledge file, each such commit would make the store's connection drop
//! its page cache and memory map of `kb.sqlite` before the next search (SQLite resets a
//! connection's cache whenever another connection has committed to the same file). Knowledge
//! bases from before the split have these tables in `kb.sqlite`: their rows are moved once.

use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::Connection;

use crate::error::{Error, Result};

/// One connection to an operational database, shared by the event log, the cost ledger and
/// the drift log of a pipeline: their per-ask commits then never empty each other's page
/// cache (SQLite resets a connection's cache when another connection commits to the file).
pub type SharedConnection = Arc<Mutex<Connection>>;

/// Opens `path` for operational records: WAL, `synchronous=NORMAL` (a commit is atomic and
/// survives a crash of the process; only an OS crash or power loss may drop the last rows, with
/// no fsync per ask), a 30 s busy timeout. Blocking.
pub fn open_connection(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path)
        .map_err(|e| Error::Storage(format!("cannot open {}: {e}", path.display())))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.busy_timeout(std::time::Duration::from_secs(30))?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    Ok(conn)
}

/// Runs `schema` (the `CREATE ... IF NOT EXISTS` statements of one component, named `what` in
/// errors) on a shared connection. Blocking.
pub(crate) fn create_tables(
    conn: &SharedConnection,
    what: &'static str,
    schema: &str,
) -> Result<()> {
    conn.lock()
        .map_err(|_| Error::poisoned(what))?
        .execute_batch(schema)?;
    Ok(())
}

/// [`open_connection`], shared. Blocking.
pub fn open_shared(path: &Path) -> Result<SharedConnection> {
    Ok(Arc::new(Mutex::new(open_connection(path)?)))
}

/// The file name of the operational database inside a knowledge-base directory.
pub const OPS_FILE: &str = "ops.sqlite";

/// The tables that moved from `kb.sqlite` to `ops.sqlite`.
const MOVED_TABLES: &[&str] = &[
    "ask_events",
    "cost_ledger",
    "cost_reservations",
    "ask_drift",
];

/// Moves the rows of the operational tables an older `kb_file` still has into `ops_file`
/// (whose tables must already exist), then drops the old tables. Rows keep their ids and are
/// inserted with `OR IGNORE`, so a move interrupted between the copy and the drop is finished
/// by the next open without duplicates. A table that cannot be moved stays where it is (nothing
/// is lost; a warning says why) and the open goes on. Returns the rows moved. Blocking.
pub(crate) fn move_legacy_tables(kb_file: &Path, ops_file: &Path) -> Result<u64> {
    if !kb_file.exists() {
        return Ok(0);
    }
    let conn = Connection::open(ops_file)?;
    conn.busy_timeout(std::time::Duration::from_secs(30))?;
    conn.execute(
        "ATTACH DATABASE ?1 AS legacy",
        [kb_file.to_string_lossy().to_string()],
    )?;
    let mut moved = 0;
    for table in MOVED_TABLES {
        match move_table(&conn, table) {
            Ok(n) => moved += n,
            Err(e) => tracing::warn!(
                target: "ragcore::ops",
                "the {table} rows of {} were not moved to {OPS_FILE} (they stay where they are): {e}",
                kb_file.display()
            ),
        }
    }
    conn.execute("DETACH DATABASE legacy", [])?;
    Ok(moved)
}

fn columns(conn: &Connection, schema: &str, table: &str) -> Result<Vec<String>> {
    let mut stmt = conn.prepare("SELECT name FROM pragma_table_info(?1, ?2)")?;
    let rows = stmt.query_map([table, schema], |r| r.get::<_, String>(0))?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

fn move_table(conn: &Connection, table: &str) -> Result<u64> {
    let old = columns(conn, "legacy", table)?;
    if old.is_empty() {
        return Ok(0); // not in the knowledge file (a new knowledge base, or already moved)
    }
    let new = columns(conn, "main", table)?;
    if new.is_empty() {
        return Ok(0); // not opened here (e.g. the event log is off): left in place
    }
    let common: Vec<String> = old
        .iter()
        .filter(|c| new.contains(c))
        .map(|c| format!("\"{c}\""))
        .collect();
    let list = common.join(", ");
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let copied = conn.execute(
        &format!("INSERT OR IGNORE INTO main.{table}({list}) SELECT {list} FROM legacy.{table}"),
        [],
    );
    let n = match copied {
        Ok(n) => {
            conn.execute_batch("COMMIT")?;
            n as u64
        }
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            return Err(e.into());
        }
    };
    conn.execute_batch(&format!("DROP TABLE legacy.{table}"))?;
    Ok(n)
}
