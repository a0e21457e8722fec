//! [`PgPromptRegistry`]: prompt versions and labels in PostgreSQL, shared by every replica.
//!
//! The same semantics as [`SqlitePromptRegistry`](super::SqlitePromptRegistry): content-hashed
//! immutable versions (saving identical content returns the existing version), `@N` pins,
//! labels with a recorded history, protected labels, rollback as a stack. Every write is one
//! transaction holding an advisory lock on the prompt's name, so version numbers never collide
//! and concurrent label moves are applied one after the other, each recorded in the history
//! with the version it really replaced.

use async_trait::async_trait;
use deadpool_postgres::GenericClient;

use super::labels::{now, protected_error, rollback_target, validate_label};
use super::template::{check, DEFAULT_SYSTEM, DEFAULT_USER};
use super::{
    GetPromptRequest, GetVersionRequest, LabelHistoryRequest, LabelMove, PromoteLabelRequest,
    PromptRegistry, PromptVersion, RollbackRequest, SavePromptRequest, SetLabelRequest,
    SqlitePromptRegistry, DEFAULT_PROMPT_NAME, LATEST_LABEL,
};
use crate::error::{Error, Result};
use crate::postgres::{col, map_err, PgPool};
use crate::types::validate_ident;

const DDL: &str = "CREATE TABLE IF NOT EXISTS prompts(
        name TEXT NOT NULL, version INTEGER NOT NULL, hash TEXT NOT NULL,
        system_text TEXT NOT NULL, user_text TEXT NOT NULL, created_at BIGINT NOT NULL,
        PRIMARY KEY(name, version));
     CREATE INDEX IF NOT EXISTS prompts_hash ON prompts(name, hash);
     CREATE TABLE IF NOT EXISTS prompt_labels(
        name TEXT NOT NULL, label TEXT NOT NULL, version INTEGER NOT NULL,
        PRIMARY KEY(name, label));
     CREATE TABLE IF NOT EXISTS prompt_label_moves(
        seq BIGSERIAL PRIMARY KEY, name TEXT NOT NULL, label TEXT NOT NULL,
        from_version INTEGER, to_version INTEGER NOT NULL, how TEXT NOT NULL,
        reason TEXT NOT NULL, at BIGINT NOT NULL);
     CREATE INDEX IF NOT EXISTS prompt_label_moves_key ON prompt_label_moves(name, label, seq);
     CREATE TABLE IF NOT EXISTS prompt_protected_labels(label TEXT PRIMARY KEY);
     INSERT INTO prompt_protected_labels(label) VALUES ('production') ON CONFLICT DO NOTHING;";

/// Prompt registry in PostgreSQL. Every read goes to the database, so a label moved by another
/// replica is seen by the next request. Cheap to clone.
#[derive(Clone, Debug)]
pub struct PgPromptRegistry {
    pool: PgPool,
}

fn v32(v: u32) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}

fn u32of(v: i32) -> u32 {
    u32::try_from(v).unwrap_or(0)
}

async fn labels_of(c: &impl GenericClient, name: &str, version: u32) -> Result<Vec<String>> {
    let rows = c
        .query(
            "SELECT label FROM prompt_labels WHERE name = $1 AND version = $2 ORDER BY label COLLATE \"C\"",
            &[&name, &v32(version)],
        )
        .await
        .map_err(map_err)?;
    rows.iter().map(|r| col(r, 0)).collect()
}

async fn load(c: &impl GenericClient, name: &str, version: u32) -> Result<Option<PromptVersion>> {
    let row = c
        .query_opt(
            "SELECT hash, system_text, user_text FROM prompts WHERE name = $1 AND version = $2",
            &[&name, &v32(version)],
        )
        .await
        .map_err(map_err)?;
    let Some(row) = row else { return Ok(None) };
    Ok(Some(PromptVersion {
        name: name.into(),
        version,
        hash: col(&row, 0)?,
        system: col(&row, 1)?,
        user: col(&row, 2)?,
        labels: labels_of(c, name, version).await?,
    }))
}

async fn require(c: &impl GenericClient, name: &str, version: u32) -> Result<PromptVersion> {
    load(c, name, version)
        .await?
        .ok_or_else(|| Error::NotFound {
            what: "prompt version",
            name: format!("{name}@{version} (see `ragcore prompt list`)"),
        })
}

async fn is_protected(c: &impl GenericClient, label: &str) -> Result<bool> {
    let row = c
        .query_one(
            "SELECT EXISTS(SELECT 1 FROM prompt_protected_labels WHERE label = $1)",
            &[&label],
        )
        .await
        .map_err(map_err)?;
    col(&row, 0)
}

async fn current(c: &impl GenericClient, name: &str, label: &str) -> Result<Option<u32>> {
    let row = c
        .query_opt(
            "SELECT version FROM prompt_labels WHERE name = $1 AND label = $2",
            &[&name, &label],
        )
        .await
        .map_err(map_err)?;
    row.map(|r| col::<i32>(&r, 0).map(u32of)).transpose()
}

/// Points `label` at `version` and records the move (nothing recorded when it already points
/// there). Call inside a transaction holding the prompt's lock.
async fn move_label(
    c: &impl GenericClient,
    name: &str,
    label: &str,
    version: u32,
    how: &str,
    reason: &str,
) -> Result<LabelMove> {
    let from = current(c, name, label).await?;
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
    c.execute(
        "INSERT INTO prompt_labels(name, label, version) VALUES ($1, $2, $3)
         ON CONFLICT(name, label) DO UPDATE SET version = excluded.version",
        &[&name, &label, &v32(version)],
    )
    .await
    .map_err(map_err)?;
    c.execute(
        "INSERT INTO prompt_label_moves(name, label, from_version, to_version, how, reason, at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            &name,
            &label,
            &from.map(v32),
            &v32(version),
            &how,
            &reason,
            &mv.at,
        ],
    )
    .await
    .map_err(map_err)?;
    Ok(mv)
}

async fn history(c: &impl GenericClient, name: &str, label: &str) -> Result<Vec<LabelMove>> {
    let rows = c
        .query(
            "SELECT from_version, to_version, how, reason, at FROM prompt_label_moves
             WHERE name = $1 AND label = $2 ORDER BY seq",
            &[&name, &label],
        )
        .await
        .map_err(map_err)?;
    rows.iter()
        .map(|r| {
            Ok(LabelMove {
                name: name.into(),
                label: label.into(),
                from_version: col::<Option<i32>>(r, 0)?.map(u32of),
                to_version: u32of(col(r, 1)?),
                how: col(r, 2)?,
                reason: col(r, 3)?,
                at: col(r, 4)?,
            })
        })
        .collect()
}

impl PgPromptRegistry {
    /// Creates the tables when missing and the built-in `qa` prompt (labels `production` and
    /// `latest`) when no version of it exists.
    pub async fn open(pool: PgPool) -> Result<Self> {
        pool.ensure_schema("prompts", DDL).await?;
        let reg = PgPromptRegistry { pool };
        let has_default = {
            let c = reg.pool.get().await?;
            let row = c
                .query_one(
                    "SELECT EXISTS(SELECT 1 FROM prompts WHERE name = $1)",
                    &[&DEFAULT_PROMPT_NAME],
                )
                .await
                .map_err(map_err)?;
            col::<bool>(&row, 0)?
        };
        if !has_default {
            reg.save_inner(
                SavePromptRequest {
                    name: DEFAULT_PROMPT_NAME.into(),
                    system: DEFAULT_SYSTEM.into(),
                    user: DEFAULT_USER.into(),
                    labels: vec!["production".into()],
                },
                true,
            )
            .await?;
        }
        Ok(reg)
    }

    /// Marks a label protected (only [`PromptRegistry::promote_label`] moves it) or not.
    pub async fn protect_label(&self, label: &str, protected: bool) -> Result<()> {
        validate_label(label)?;
        let c = self.pool.get().await?;
        let sql = if protected {
            "INSERT INTO prompt_protected_labels(label) VALUES ($1) ON CONFLICT DO NOTHING"
        } else {
            "DELETE FROM prompt_protected_labels WHERE label = $1"
        };
        c.execute(sql, &[&label]).await.map_err(map_err)?;
        Ok(())
    }

    fn lock_key(&self, name: &str) -> String {
        format!(
            "ragcore:{}:prompt:{name}",
            self.pool.schema().unwrap_or("public")
        )
    }

    async fn save_inner(&self, req: SavePromptRequest, seed: bool) -> Result<PromptVersion> {
        validate_ident("prompt.name", &req.name)?;
        for l in &req.labels {
            validate_label(l)?;
        }
        check(&req.system, &req.user)?;
        let hash = SqlitePromptRegistry::content_hash(&req.system, &req.user);
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await.map_err(map_err)?;
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
            &[&self.lock_key(&req.name)],
        )
        .await
        .map_err(map_err)?;
        if !seed {
            for l in &req.labels {
                if is_protected(&tx, l).await? {
                    return Err(protected_error(&req.name, l));
                }
            }
        }
        let existing = tx
            .query_opt(
                "SELECT version FROM prompts WHERE name = $1 AND hash = $2 ORDER BY version LIMIT 1",
                &[&req.name, &hash],
            )
            .await
            .map_err(map_err)?
            .map(|r| col::<i32>(&r, 0).map(u32of))
            .transpose()?;
        let version = match existing {
            Some(v) => v,
            None => {
                let row = tx
                    .query_one(
                        "SELECT COALESCE(MAX(version), 0) + 1 FROM prompts WHERE name = $1",
                        &[&req.name],
                    )
                    .await
                    .map_err(map_err)?;
                let v = u32of(col(&row, 0)?);
                tx.execute(
                    "INSERT INTO prompts(name, version, hash, system_text, user_text, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6)",
                    &[&req.name, &v32(v), &hash, &req.system, &req.user, &now()],
                )
                .await
                .map_err(map_err)?;
                v
            }
        };
        let mut to_move = req.labels.clone();
        if existing.is_none() {
            to_move.push(LATEST_LABEL.into());
        }
        for l in &to_move {
            move_label(&tx, &req.name, l, version, "save", "").await?;
        }
        let saved = require(&tx, &req.name, version).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(saved)
    }

    /// Moves a label inside one locked transaction (`protected_ok`: promotions).
    async fn move_locked(
        &self,
        name: &str,
        label: &str,
        version: u32,
        how: &str,
        reason: &str,
        protected_ok: bool,
    ) -> Result<LabelMove> {
        validate_label(label)?;
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await.map_err(map_err)?;
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
            &[&self.lock_key(name)],
        )
        .await
        .map_err(map_err)?;
        require(&tx, name, version).await?;
        if !protected_ok && is_protected(&tx, label).await? {
            return Err(protected_error(name, label));
        }
        let mv = move_label(&tx, name, label, version, how, reason).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(mv)
    }
}

#[async_trait]
impl PromptRegistry for PgPromptRegistry {
    async fn get(&self, request: GetPromptRequest) -> Result<PromptVersion> {
        let c = self.pool.get().await?;
        if let Some(pin) = request.label.strip_prefix('@') {
            let v: u32 = pin.parse().map_err(|_| {
                Error::invalid(
                    "prompt.label",
                    format!("{:?}: `@N` needs a version number", request.label),
                )
            })?;
            return require(&c, &request.name, v).await;
        }
        let Some(v) = current(&c, &request.name, &request.label).await? else {
            return Err(Error::NotFound {
                what: "prompt label",
                name: format!(
                    "{}:{} (see `ragcore prompt list`)",
                    request.name, request.label
                ),
            });
        };
        require(&c, &request.name, v).await
    }

    async fn version(&self, request: GetVersionRequest) -> Result<PromptVersion> {
        let c = self.pool.get().await?;
        let r = request.reference.trim().trim_start_matches('@');
        if let Ok(v) = r.parse::<u32>() {
            return require(&c, &request.name, v).await;
        }
        if r.len() < 4 || !r.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(Error::invalid(
                "prompt.version",
                format!(
                    "{:?} is neither a version number nor a content hash (4+ hex digits)",
                    request.reference
                ),
            ));
        }
        let prefix = format!("{}%", r.to_ascii_lowercase());
        let rows = c
            .query(
                "SELECT version FROM prompts WHERE name = $1 AND hash LIKE $2 ORDER BY version",
                &[&request.name, &prefix],
            )
            .await
            .map_err(map_err)?;
        let found: Vec<u32> = rows
            .iter()
            .map(|x| col::<i32>(x, 0).map(u32of))
            .collect::<Result<_>>()?;
        match found.as_slice() {
            [v] => require(&c, &request.name, *v).await,
            [] => Err(Error::NotFound {
                what: "prompt version",
                name: format!("{} with hash {r}", request.name),
            }),
            many => Err(Error::invalid(
                "prompt.version",
                format!("hash prefix {r} matches versions {many:?}; give more digits"),
            )),
        }
    }

    async fn save(&self, request: SavePromptRequest) -> Result<PromptVersion> {
        self.save_inner(request, false).await
    }

    async fn set_label(&self, request: SetLabelRequest) -> Result<()> {
        self.move_locked(
            &request.name,
            &request.label,
            request.version,
            "set",
            "",
            false,
        )
        .await
        .map(|_| ())
    }

    async fn promote_label(&self, request: PromoteLabelRequest) -> Result<LabelMove> {
        self.move_locked(
            &request.name,
            &request.label,
            request.version,
            "promote",
            &request.reason,
            true,
        )
        .await
    }

    async fn rollback(&self, request: RollbackRequest) -> Result<LabelMove> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await.map_err(map_err)?;
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
            &[&self.lock_key(&request.name)],
        )
        .await
        .map_err(map_err)?;
        let moves = history(&tx, &request.name, &request.label).await?;
        let Some(target) = rollback_target(&moves) else {
            return Err(Error::invalid(
                "prompt.label",
                format!(
                    "label {:?} of prompt {:?} has no earlier version to roll back to",
                    request.label, request.name
                ),
            ));
        };
        let mv = move_label(&tx, &request.name, &request.label, target, "rollback", "").await?;
        tx.commit().await.map_err(map_err)?;
        Ok(mv)
    }

    async fn label_history(&self, request: LabelHistoryRequest) -> Result<Vec<LabelMove>> {
        let c = self.pool.get().await?;
        history(&c, &request.name, &request.label).await
    }

    async fn protected_labels(&self) -> Result<Vec<String>> {
        let c = self.pool.get().await?;
        let rows = c
            .query(
                "SELECT label FROM prompt_protected_labels ORDER BY label COLLATE \"C\"",
                &[],
            )
            .await
            .map_err(map_err)?;
        rows.iter().map(|r| col(r, 0)).collect()
    }

    async fn list(&self) -> Result<Vec<PromptVersion>> {
        let c = self.pool.get().await?;
        let rows = c
            .query(
                "SELECT p.name, p.version, p.hash, p.system_text, p.user_text,
                        COALESCE(array_agg(l.label ORDER BY l.label COLLATE \"C\")
                                 FILTER (WHERE l.label IS NOT NULL), '{}')
                 FROM prompts p
                 LEFT JOIN prompt_labels l ON l.name = p.name AND l.version = p.version
                 GROUP BY p.name, p.version, p.hash, p.system_text, p.user_text
                 ORDER BY p.name COLLATE \"C\", p.version",
                &[],
            )
            .await
            .map_err(map_err)?;
        rows.iter()
            .map(|r| {
                Ok(PromptVersion {
                    name: col(r, 0)?,
                    version: u32of(col(r, 1)?),
                    hash: col(r, 2)?,
                    system: col(r, 3)?,
                    user: col(r, 4)?,
                    labels: col(r, 5)?,
                })
            })
            .collect()
    }
}
