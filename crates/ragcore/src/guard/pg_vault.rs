//! [`PgVault`]: the placeholder vault in PostgreSQL (table `guard_vault`), per tenant and vault
//! id with a TTL, the same rules as [`SqliteVault`](super::SqliteVault). Secrets never reach
//! it: [`pseudonymize`](super::pseudonymize) masks them before any entry exists. The values are
//! stored as given, so the database is as sensitive as the documents in it; purge expired
//! entries with [`PlaceholderVault::purge`].

use async_trait::async_trait;

use super::vault::{
    PlaceholderVault, VaultEntry, VaultPurgeRequest, VaultResolveRequest, VaultStoreRequest,
};
use crate::error::Result;
use crate::postgres::{col, map_err, PgPool};

const DDL: &str = "CREATE TABLE IF NOT EXISTS guard_vault (
        tenant TEXT NOT NULL,
        vault_id TEXT NOT NULL,
        placeholder TEXT NOT NULL,
        value TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        PRIMARY KEY (tenant, vault_id, placeholder));
     CREATE INDEX IF NOT EXISTS guard_vault_expiry ON guard_vault(expires_at);";

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// A [`PlaceholderVault`] in PostgreSQL. Cheap to clone; `Debug` shows no values.
#[derive(Clone, Debug)]
pub struct PgVault {
    pool: PgPool,
}

impl PgVault {
    /// Creates the table when missing and returns the vault.
    pub async fn open(pool: PgPool) -> Result<Self> {
        pool.ensure_schema("guard_vault", DDL).await?;
        Ok(PgVault { pool })
    }
}

#[async_trait]
impl PlaceholderVault for PgVault {
    async fn store(&self, request: VaultStoreRequest) -> Result<()> {
        crate::types::validate_ident("tenant", &request.tenant)?;
        if request.entries.is_empty() {
            return Ok(());
        }
        let now = now_secs();
        let ttl = i64::try_from(request.ttl.as_secs()).unwrap_or(i64::MAX / 2);
        let expires = now.saturating_add(ttl);
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await.map_err(map_err)?;
        tx.execute("DELETE FROM guard_vault WHERE expires_at <= $1", &[&now])
            .await
            .map_err(map_err)?;
        let st = tx
            .prepare(
                "INSERT INTO guard_vault (tenant, vault_id, placeholder, value, created_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (tenant, vault_id, placeholder)
                 DO UPDATE SET value = excluded.value, created_at = excluded.created_at,
                               expires_at = excluded.expires_at",
            )
            .await
            .map_err(map_err)?;
        for e in &request.entries {
            tx.execute(
                &st,
                &[
                    &request.tenant,
                    &request.vault_id,
                    &e.placeholder,
                    &e.value,
                    &now,
                    &expires,
                ],
            )
            .await
            .map_err(map_err)?;
        }
        tx.commit().await.map_err(map_err)
    }

    async fn resolve(&self, request: VaultResolveRequest) -> Result<Vec<VaultEntry>> {
        let c = self.pool.get().await?;
        let rows = c
            .query(
                "SELECT placeholder, value FROM guard_vault
                 WHERE tenant = $1 AND vault_id = $2 AND expires_at > $3",
                &[&request.tenant, &request.vault_id, &now_secs()],
            )
            .await
            .map_err(map_err)?;
        rows.iter()
            .map(|r| {
                Ok(VaultEntry {
                    placeholder: col(r, 0)?,
                    value: col(r, 1)?,
                })
            })
            .collect()
    }

    async fn purge(&self, request: VaultPurgeRequest) -> Result<u64> {
        let c = self.pool.get().await?;
        c.execute(
            "DELETE FROM guard_vault
             WHERE ($1::TEXT IS NULL OR tenant = $1)
               AND ($2::TEXT IS NULL OR vault_id = $2)
               AND (NOT $3 OR expires_at <= $4)",
            &[
                &request.tenant,
                &request.vault_id,
                &request.expired_only,
                &now_secs(),
            ],
        )
        .await
        .map_err(map_err)
    }
}
