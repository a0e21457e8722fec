//! [`SqlitePromptRegistry`]: prompt versions and labels in the knowledge base's SQLite file.

use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use sha2::{Digest, Sha256};

use super::template::{check, DEFAULT_SYSTEM, DEFAULT_USER};
use super::{
    GetPromptRequest, PromptRegistry, PromptVersion, SavePromptRequest, SetLabelRequest,
    DEFAULT_PROMPT_NAME,
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
            reg.save_blocking(&SavePromptRequest {
                name: DEFAULT_PROMPT_NAME.into(),
                system: DEFAULT_SYSTEM.into(),
                user: DEFAULT_USER.into(),
                labels: vec!["production".into()],
            })?;
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
            .query_row(
                "SELECT hash, system, user FROM prompts WHERE name = ?1 AND version = ?2",
                params![name, version],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                    ))
                },
            )
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

    fn save_blocking(&self, req: &SavePromptRequest) -> Result<PromptVersion> {
        validate_ident("prompt.name", &req.name)?;
        for l in &req.labels {
            validate_ident("prompt.label", l)?;
        }
        check(&req.system, &req.user)?;
        let mut h = Sha256::new();
        h.update(req.system.as_bytes());
        h.update([0u8]);
        h.update(req.user.as_bytes());
        let hash: String = h
            .finalize()
            .iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect();
        let mut conn = self
            .conn
            .lock()
            .map_err(|_| Error::poisoned("prompt registry"))?;
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
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs() as i64)
                    .unwrap_or(0);
                tx.execute(
                    "INSERT INTO prompts(name, version, hash, system, user, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![req.name, v, hash, req.system, req.user, now],
                )?;
                v
            }
        };
        let mut labels = req.labels.clone();
        if existing.is_none() {
            labels.push("latest".into());
        }
        for l in &labels {
            tx.execute(
                "INSERT INTO prompt_labels(name, label, version) VALUES (?1, ?2, ?3) \
                 ON CONFLICT(name, label) DO UPDATE SET version = excluded.version",
                params![req.name, l, version],
            )?;
        }
        tx.commit()?;
        Self::load(&conn, &req.name, version)?
            .ok_or_else(|| Error::Internal("saved prompt vanished".into()))
    }
}

#[async_trait]
impl PromptRegistry for SqlitePromptRegistry {
    async fn get(&self, request: GetPromptRequest) -> Result<PromptVersion> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let conn = conn
                .lock()
                .map_err(|_| Error::poisoned("prompt registry"))?;
            let version: Option<u32> = conn
                .query_row(
                    "SELECT version FROM prompt_labels WHERE name = ?1 AND label = ?2",
                    params![request.name, request.label],
                    |r| r.get(0),
                )
                .optional()?;
            let Some(v) = version else {
                return Err(Error::NotFound {
                    what: "prompt label",
                    name: format!("{}:{}", request.name, request.label),
                });
            };
            Self::load(&conn, &request.name, v)?.ok_or_else(|| Error::NotFound {
                what: "prompt version",
                name: format!("{}@{v}", request.name),
            })
        })
        .await?
    }

    async fn save(&self, request: SavePromptRequest) -> Result<PromptVersion> {
        let me = self.clone();
        tokio::task::spawn_blocking(move || me.save_blocking(&request)).await?
    }

    async fn set_label(&self, request: SetLabelRequest) -> Result<()> {
        validate_ident("prompt.label", &request.label)?;
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let conn = conn
                .lock()
                .map_err(|_| Error::poisoned("prompt registry"))?;
            if Self::load(&conn, &request.name, request.version)?.is_none() {
                return Err(Error::NotFound {
                    what: "prompt version",
                    name: format!("{}@{}", request.name, request.version),
                });
            }
            conn.execute(
                "INSERT INTO prompt_labels(name, label, version) VALUES (?1, ?2, ?3) \
                 ON CONFLICT(name, label) DO UPDATE SET version = excluded.version",
                params![request.name, request.label, request.version],
            )?;
            Ok(())
        })
        .await?
    }

    async fn list(&self) -> Result<Vec<PromptVersion>> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let conn = conn
                .lock()
                .map_err(|_| Error::poisoned("prompt registry"))?;
            let keys: Vec<(String, u32)> = {
                let mut stmt =
                    conn.prepare("SELECT name, version FROM prompts ORDER BY name, version")?;
                let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
                rows.collect::<rusqlite::Result<_>>()?
            };
            let mut out = Vec::new();
            for (n, v) in keys {
                if let Some(p) = Self::load(&conn, &n, v)? {
                    out.push(p);
                }
            }
            Ok(out)
        })
        .await?
    }
}
