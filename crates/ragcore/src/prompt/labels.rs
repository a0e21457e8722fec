//! Label moves, their history, protection and rollback, as SQL on the registry's connection.

use rusqlite::{params, Connection, OptionalExtension};

use super::LabelMove;
use crate::error::{Error, Result};
use crate::types::validate_ident;

pub(crate) const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS prompt_label_moves(
        seq INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, label TEXT NOT NULL,
        from_version INTEGER, to_version INTEGER NOT NULL, how TEXT NOT NULL,
        reason TEXT NOT NULL, at INTEGER NOT NULL);
     CREATE INDEX IF NOT EXISTS prompt_label_moves_key ON prompt_label_moves(name, label, seq);
     CREATE TABLE IF NOT EXISTS prompt_protected_labels(label TEXT PRIMARY KEY);
     INSERT OR IGNORE INTO prompt_protected_labels(label) VALUES ('production');";

pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// A label name users may set: not empty, no control characters, not `@…` (version pins).
pub(crate) fn validate_label(label: &str) -> Result<()> {
    validate_ident("prompt.label", label)?;
    if label.starts_with('@') {
        return Err(Error::invalid(
            "prompt.label",
            format!("{label:?}: labels must not start with '@' (`@N` pins version N)"),
        ));
    }
    Ok(())
}

pub(crate) fn is_protected(conn: &Connection, label: &str) -> Result<bool> {
    Ok(conn.query_row(
        "SELECT EXISTS(SELECT 1 FROM prompt_protected_labels WHERE label = ?1)",
        [label],
        |r| r.get(0),
    )?)
}

pub(crate) fn protected(conn: &Connection) -> Result<Vec<String>> {
    let mut stmt = conn.prepare("SELECT label FROM prompt_protected_labels ORDER BY label")?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<Vec<String>>>()?)
}

pub(crate) fn protected_error(name: &str, label: &str) -> Error {
    Error::invalid(
        "prompt.label",
        format!(
            "label {label:?} of prompt {name:?} is protected; run `ragcore prompt promote {name} VERSION --to {label}` \
             (checks the golden set) or pass the explicit override (`ragcore prompt label ... --force`, \
             PromptRegistry::promote_label)"
        ),
    )
}

pub(crate) fn current(conn: &Connection, name: &str, label: &str) -> Result<Option<u32>> {
    Ok(conn
        .prepare_cached("SELECT version FROM prompt_labels WHERE name = ?1 AND label = ?2")?
        .query_row(params![name, label], |r| r.get(0))
        .optional()?)
}

/// Points `label` at `version` and records the move (nothing is recorded when it already
/// points there).
pub(crate) fn move_label(
    conn: &Connection,
    name: &str,
    label: &str,
    version: u32,
    how: &str,
    reason: &str,
) -> Result<LabelMove> {
    let from = current(conn, name, label)?;
    let mv = LabelMove {
        name: name.into(),
        label: label.into(),
        from_version: from,
        to_version: version,
        how: how.into(),
        reason: reason.into(),
        at: now(),
    };
    if from == Some(version) {
        return Ok(mv);
    }
    conn.execute(
        "INSERT INTO prompt_labels(name, label, version) VALUES (?1, ?2, ?3) \
         ON CONFLICT(name, label) DO UPDATE SET version = excluded.version",
        params![name, label, version],
    )?;
    conn.execute(
        "INSERT INTO prompt_label_moves(name, label, from_version, to_version, how, reason, at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![name, label, from, version, how, reason, mv.at],
    )?;
    Ok(mv)
}

pub(crate) fn history(conn: &Connection, name: &str, label: &str) -> Result<Vec<LabelMove>> {
    let mut stmt = conn.prepare(
        "SELECT from_version, to_version, how, reason, at FROM prompt_label_moves \
         WHERE name = ?1 AND label = ?2 ORDER BY seq",
    )?;
    let rows = stmt.query_map(params![name, label], |r| {
        Ok(LabelMove {
            name: name.into(),
            label: label.into(),
            from_version: r.get(0)?,
            to_version: r.get(1)?,
            how: r.get(2)?,
            reason: r.get(3)?,
            at: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// The version a rollback returns to: the history replayed as a stack (a move pushes the
/// version it replaced, a rollback pops), so repeated rollbacks walk further back.
pub(crate) fn rollback_target(moves: &[LabelMove]) -> Option<u32> {
    let mut stack: Vec<Option<u32>> = Vec::new();
    for m in moves {
        if m.how == "rollback" {
            stack.pop();
        } else {
            stack.push(m.from_version);
        }
    }
    stack.pop().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mv(from: Option<u32>, to: u32, how: &str) -> LabelMove {
        LabelMove {
            name: "qa".into(),
            label: "production".into(),
            from_version: from,
            to_version: to,
            how: how.into(),
            reason: String::new(),
            at: 0,
        }
    }

    #[test]
    fn rollbacks_walk_back_through_the_history() {
        let mut h = vec![
            mv(None, 1, "save"),
            mv(Some(1), 2, "promote"),
            mv(Some(2), 3, "promote"),
        ];
        assert_eq!(rollback_target(&h), Some(2));
        h.push(mv(Some(3), 2, "rollback"));
        assert_eq!(rollback_target(&h), Some(1));
        h.push(mv(Some(2), 1, "rollback"));
        assert_eq!(rollback_target(&h), None, "nothing before v1");
    }
}
