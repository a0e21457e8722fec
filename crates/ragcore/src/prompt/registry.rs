//! [`SqlitePromptRegistry`]: prompt versions and labels in the knowledge base's SQLite file.

use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use sha2::{Digest, Sha256};

use super::labels::{self, move_label, validate_label};
use super::template::{check, DEFAULT_SYSTEM, DEFAULT_USER};
use super::{
    GetPromptRequest, GetVersionRequest, LabelHistoryRequest, LabelMove, PromoteLabelRequest,
    PromptRegistry, PromptVersion, RollbackRequest, SavePromptRequest, SetLabelRequest,
    DEFAULT_PROMPT_NAME, LATEST_LABEL,
};
use crate::error::{Error, Result};
use crate::types::validate_ident;

/// Prompt registry stored in SQLite. Each read goes to the database, so a label moved by another
/// process (or the CLI) is seen by the next request without a restart.
#[derive(Clone)]
pub struct SqlitePromptRegistry {
    conn: Arc<Mutex<Connection>>,
}

impl std::fmt::Debug for SqlitePromptRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SqlitePromptRegistry")
    }
}

impl SqlitePromptRegistry {
    /// Opens the registry in `db_file` (normally the knowledge base's `kb.sqlite`), creating its
    /// tables and the built-in `qa` prompt (labels `production` and `latest`) when missing.
    pub fn open(db_file: impl AsRef<Path>) -> Result<Self> {
        let conn = Connection::open(db_file.as_ref())?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.busy_timeout(std::time::Duration::from_secs(30))?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS prompts(
                name TEXT NOT NULL, version INTEGER NOT NULL, hash TEXT NOT NULL,
                system TEXT NOT NULL, user TEXT NOT NULL, created_at INTEGER NOT NULL,
                PRIMARY KEY(name, version));
             CREATE TABLE IF NOT EXISTS prompt_labels(
                name TEXT NOT NULL, label TEXT NOT NULL, version INTEGER NOT NULL,
                PRIMARY KEY(name, label));",
        )?;
        conn.execute_batch(labels::SCHEMA)?;
        let reg = SqlitePromptRegistry {
            conn: Arc::new(Mutex::new(conn)),
        };
        let has_default: bool = {
            let c = reg
                .conn
                .lock()
                .map_err(|_| Error::poisoned("prompt registry"))?;
            c.query_row(
                "SELECT EXISTS(SELECT 1 FROM prompts WHERE name = ?1)",
                [DEFAULT_PROMPT_NAME],
                |r| r.get(0),
            )?
        };
        if !has_default {
            reg.save_blocking(
                &SavePromptRequest {
                    name: DEFAULT_PROMPT_NAME.into(),
                    system: DEFAULT_SYSTEM.into(),
                    user: DEFAULT_USER.into(),
                    labels: vec!["production".into()],
                },
                true,
            )?;
        }
        Ok(reg)
    }

    fn labels_of(conn: &Connection, name: &str, version: u32) -> Result<Vec<String>> {
        let mut stmt = conn.prepare_cached(
            "SELECT label FROM prompt_labels WHERE name = ?1 AND version = ?2 ORDER BY label",
        )?;
        let rows = stmt.query_map(params![name, version], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<Vec<String>>>()?)
    }

    fn load(conn: &Connection, name: &str, version: u32) -> Result<Option<PromptVersion>> {
        let row = conn
            .prepare_cached(
                "SELECT hash, system, user FROM prompts WHERE name = ?1 AND version = ?2",
            )?
            .query_row(params![name, version], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })
            .optional()?;
        match row {
            None => Ok(None),
            Some((hash, system, user)) => Ok(Some(PromptVersion {
                name: name.into(),
                version,
                hash,
                system,
                user,
                labels: Self::labels_of(conn, name, version)?,
            })),
        }
    }

    /// The content hash of a version: SHA-256 of system, NUL, user (first 16 hex digits).
    pub fn content_hash(system: &str, user: &str) -> String {
        let mut h = Sha256::new();
        h.update(system.as_bytes());
        h.update([0u8]);
        h.update(user.as_bytes());
        h.finalize()
            .iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Marks a label protected (only [`PromptRegistry::promote_label`] moves it) or not.
    pub fn protect_label(&self, label: &str, protected: bool) -> Result<()> {
        validate_label(label)?;
        let conn = self
            .conn
            .lock()
            .map_err(|_| Error::poisoned("prompt registry"))?;
        if protected {
            conn.execute(
                "INSERT OR IGNORE INTO prompt_protected_labels(label) VALUES (?1)",
                [label],
            )?;
        } else {
            conn.execute(
                "DELETE FROM prompt_protected_labels WHERE label = ?1",
                [label],
            )?;
        }
        Ok(())
    }

    fn with_conn<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    ) -> impl std::future::Future<Output = Result<T>> {
        let conn = self.conn.clone();
        async move {
            tokio::task::spawn_blocking(move || {
                let mut conn = conn
                    .lock()
                    .map_err(|_| Error::poisoned("prompt registry"))?;
                f(&mut conn)
            })
            .await?
        }
    }

    fn require(conn: &Connection, name: &str, version: u32) -> Result<PromptVersion> {
        Self::load(conn, name, version)?.ok_or_else(|| Error::NotFound {
            what: "prompt version",
            name: format!("{name}@{version} (see `ragcore prompt list`)"),
        })
    }

    fn save_blocking(&self, req: &SavePromptRequest, seed: bool) -> Result<PromptVersion> {
        validate_ident("prompt.name", &req.name)?;
        for l in &req.labels {
            validate_label(l)?;
        }
        check(&req.system, &req.user)?;
        let hash = Self::content_hash(&req.system, &req.user);
        let mut conn = self
            .conn
            .lock()
            .map_err(|_| Error::poisoned("prompt registry"))?;
        if !seed {
            for l in &req.labels {
                if labels::is_protected(&conn, l)? {
                    return Err(labels::protected_error(&req.name, l));
                }
            }
        }
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let existing: Option<u32> = tx
            .query_row(
                "SELECT version FROM prompts WHERE name = ?1 AND hash = ?2",
                params![req.name, hash],
                |r| r.get(0),
            )
            .optional()?;
        let version = match existing {
            Some(v) => v,
            None => {
                let v: u32 = tx.query_row(
                    "SELECT COALESCE(MAX(version), 0) + 1 FROM prompts WHERE name = ?1",
                    [&req.name],
                    |r| r.get(0),
                )?;
                let now = labels::now();
                tx.execute(
                    "INSERT INTO prompts(name, version, hash, system, user, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![req.name, v, hash, req.system, req.user, now],
                )?;
                v
            }
        };
        let mut to_move = req.labels.clone();
        if existing.is_none() {
            to_move.push(LATEST_LABEL.into());
        }
        for l in &to_move {
            move_label(&tx, &req.name, l, version, "save", "")?;
        }
        tx.commit()?;
        Self::load(&conn, &req.name, version)?
            .ok_or_else(|| Error::Internal("saved prompt vanished".into()))
    }
}

#[async_trait]
impl PromptRegistry for SqlitePromptRegistry {
    async fn get(&self, request: GetPromptRequest) -> Result<PromptVersion> {
        self.with_conn(move |conn| {
            if let Some(pin) = request.label.strip_prefix('@') {
                let v: u32 = pin.parse().map_err(|_| {
                    Error::invalid(
                        "prompt.label",
                        format!("{:?}: `@N` needs a version number", request.label),
                    )
                })?;
                return Self::require(conn, &request.name, v);
            }
            let Some(v) = labels::current(conn, &request.name, &request.label)? else {
                return Err(Error::NotFound {
                    what: "prompt label",
                    name: format!(
                        "{}:{} (see `ragcore prompt list`)",
                        request.name, request.label
                    ),
                });
            };
            Self::require(conn, &request.name, v)
        })
        .await
    }

    async fn version(&self, request: GetVersionRequest) -> Result<PromptVersion> {
        self.with_conn(move |conn| {
            let r = request.reference.trim().trim_start_matches('@');
            if let Ok(v) = r.parse::<u32>() {
                return Self::require(conn, &request.name, v);
            }
            if r.len() < 4 || !r.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(Error::invalid(
                    "prompt.version",
                    format!("{:?} is neither a version number nor a content hash (4+ hex digits)", request.reference),
                ));
            }
            let found: Vec<u32> = {
                let mut stmt = conn.prepare(
                    "SELECT version FROM prompts WHERE name = ?1 AND hash LIKE ?2 || '%' ORDER BY version",
                )?;
                let rows = stmt.query_map(params![request.name, r.to_ascii_lowercase()], |x| x.get(0))?;
                rows.collect::<rusqlite::Result<_>>()?
            };
            match found.as_slice() {
                [v] => Self::require(conn, &request.name, *v),
                [] => Err(Error::NotFound {
                    what: "prompt version",
                    name: format!("{} with hash {r}", request.name),
                }),
                many => Err(Error::invalid(
                    "prompt.version",
                    format!("hash prefix {r} matches versions {many:?}; give more digits"),
                )),
            }
        })
        .await
    }

    async fn save(&self, request: SavePromptRequest) -> Result<PromptVersion> {
        let me = self.clone();
        tokio::task::spawn_blocking(move || me.save_blocking(&request, false)).await?
    }

    async fn set_label(&self, request: SetLabelRequest) -> Result<()> {
        validate_label(&request.label)?;
        self.with_conn(move |conn| {
            Self::require(conn, &request.name, request.version)?;
            if labels::is_protected(conn, &request.label)? {
                return Err(labels::protected_error(&request.name, &request.label));
            }
            move_label(
                conn,
                &request.name,
                &request.label,
                request.version,
                "set",
                "",
            )?;
            Ok(())
        })
        .await
    }

    async fn promote_label(&self, request: PromoteLabelRequest) -> Result<LabelMove> {
        validate_label(&request.label)?;
        self.with_conn(move |conn| {
            Self::require(conn, &request.name, request.version)?;
            move_label(
                conn,
                &request.name,
                &request.label,
                request.version,
                "promote",
                &request.reason,
            )
        })
        .await
    }

    async fn rollback(&self, request: RollbackRequest) -> Result<LabelMove> {
        self.with_conn(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let moves = labels::history(&tx, &request.name, &request.label)?;
            let Some(target) = labels::rollback_target(&moves) else {
                return Err(Error::invalid(
                    "prompt.label",
                    format!(
                        "label {:?} of prompt {:?} has no earlier version to roll back to",
                        request.label, request.name
                    ),
                ));
            };
            let mv = move_label(&tx, &request.name, &request.label, target, "rollback", "")?;
            tx.commit()?;
            Ok(mv)
        })
        .await
    }

    async fn label_history(&self, request: LabelHistoryRequest) -> Result<Vec<LabelMove>> {
        self.with_conn(move |conn| labels::history(conn, &request.name, &request.label))
            .await
    }

    async fn protected_labels(&self) -> Result<Vec<String>> {
        self.with_conn(|conn| labels::protected(conn)).await
    }

    async fn list(&self) -> Result<Vec<PromptVersion>> {
        self.with_conn(|conn| {
            let keys: Vec<(String, u32)> = {
                let mut stmt =
                    conn.prepare("SELECT name, version FROM prompts ORDER BY name, version")?;
                let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
                rows.collect::<rusqlite::Result<_>>()?
            };
            let mut out = Vec::new();
            for (n, v) in keys {
                if let Some(p) = Self::load(conn, &n, v)? {
                    out.push(p);
                }
            }
            Ok(out)
        })
        .await
    }
}
