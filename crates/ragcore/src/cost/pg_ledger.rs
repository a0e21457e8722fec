//! [`PgCostLedger`]: the cost ledger and budget reservations in PostgreSQL (tables
//! `cost_ledger` and `cost_reservations`), shared by every process using the database.
//!
//! A reservation is one transaction that first takes a transaction-scoped advisory lock
//! (`pg_advisory_xact_lock`) on every budget key it checks (sorted, so two reservations never
//! wait on each other in opposite order), then sums settled spend and open reservations and
//! inserts the reservation only when every check still fits. Concurrent reservations against
//! one budget, from any number of processes, are therefore serialised by the server; each one
//! sees every reservation committed before it (READ COMMITTED takes a new snapshot per
//! statement, after the lock is held).

use async_trait::async_trait;

use super::ledger::{
    CostLedger, Dimension, Period, ReportBy, ReportRequest, ReportRow, ReserveOutcome,
    ReserveRequest, SettleRequest, SpentRequest,
};
use crate::error::Result;
use crate::postgres::{col, map_err, PgPool};
use crate::types::Usage;

/// Reservations older than this belong to requests that never settled (a crashed process) and
/// no longer count (the same rule as the SQLite ledger).
const STALE_RESERVATION_MS: i64 = 10 * 60 * 1000;

const DDL: &str = "CREATE TABLE IF NOT EXISTS cost_ledger(
        id BIGSERIAL PRIMARY KEY, at_ms BIGINT NOT NULL, day TEXT NOT NULL,
        tenant TEXT NOT NULL, principal TEXT NOT NULL, feature TEXT NOT NULL,
        model TEXT NOT NULL, prompt_tokens BIGINT NOT NULL,
        cached_prompt_tokens BIGINT NOT NULL, completion_tokens BIGINT NOT NULL,
        reasoning_tokens BIGINT NOT NULL, embedding_tokens BIGINT NOT NULL,
        estimated BOOLEAN NOT NULL, cost_usd DOUBLE PRECISION NOT NULL, prices TEXT NOT NULL);
     CREATE INDEX IF NOT EXISTS cost_ledger_tenant_day ON cost_ledger(tenant, day);
     CREATE INDEX IF NOT EXISTS cost_ledger_principal_day ON cost_ledger(principal, day);
     CREATE INDEX IF NOT EXISTS cost_ledger_feature_day ON cost_ledger(feature, day);
     CREATE TABLE IF NOT EXISTS cost_reservations(
        id BIGSERIAL PRIMARY KEY, at_ms BIGINT NOT NULL, day TEXT NOT NULL,
        tenant TEXT NOT NULL, principal TEXT NOT NULL, feature TEXT NOT NULL,
        model TEXT NOT NULL, amount_usd DOUBLE PRECISION NOT NULL);
     CREATE INDEX IF NOT EXISTS cost_reservations_at ON cost_reservations(at_ms);";

/// The ledger in PostgreSQL. Cheap to clone.
#[derive(Clone, Debug)]
pub struct PgCostLedger {
    pool: PgPool,
}

impl PgCostLedger {
    /// Creates the tables when missing and returns the ledger.
    pub async fn open(pool: PgPool) -> Result<Self> {
        pool.ensure_schema("cost_ledger", DDL).await?;
        Ok(PgCostLedger { pool })
    }

    /// The advisory-lock key of one budget (dimension, value) in this schema.
    fn lock_key(&self, d: Dimension, value: &str) -> String {
        format!(
            "ragcore:{}:budget:{}:{value}",
            self.pool.schema().unwrap_or("public"),
            d.as_str()
        )
    }
}

/// `LIKE` pattern for the period's days.
fn day_pattern(period: Period, at_ms: i64) -> String {
    match period {
        Period::Day => period.window(at_ms),
        Period::Month => format!("{}-%", period.window(at_ms)),
    }
}

async fn spent_in(
    c: &impl deadpool_postgres::GenericClient,
    d: Dimension,
    value: &str,
    period: Period,
    at_ms: i64,
) -> Result<f64> {
    let pat = day_pattern(period, at_ms);
    // The column name comes from the enum, never from user input.
    let column = d.as_str();
    let sql = format!(
        "SELECT (SELECT COALESCE(SUM(cost_usd), 0) FROM cost_ledger WHERE {column} = $1 AND day LIKE $2)
              + (SELECT COALESCE(SUM(amount_usd), 0) FROM cost_reservations
                 WHERE {column} = $1 AND day LIKE $2 AND at_ms >= $3)"
    );
    // Cached per connection: one round trip instead of prepare + execute.
    let st = c.prepare_cached(&sql).await.map_err(map_err)?;
    let row = c
        .query_one(&st, &[&value, &pat, &(at_ms - STALE_RESERVATION_MS)])
        .await
        .map_err(map_err)?;
    col::<f64>(&row, 0)
}

fn u(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn n(v: i64) -> u64 {
    v.max(0) as u64
}

#[async_trait]
impl CostLedger for PgCostLedger {
    async fn reserve(&self, request: ReserveRequest) -> Result<ReserveOutcome> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await.map_err(map_err)?;
        let e = &request.entry;
        let mut keys: Vec<String> = request
            .checks
            .iter()
            .map(|c| self.lock_key(c.dimension, &c.value))
            .collect();
        keys.sort();
        keys.dedup();
        if !keys.is_empty() {
            let lock = tx
                .prepare_cached("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
                .await
                .map_err(map_err)?;
            for k in &keys {
                tx.execute(&lock, &[k]).await.map_err(map_err)?;
            }
        }
        for check in &request.checks {
            let spent = spent_in(&tx, check.dimension, &check.value, check.period, e.at_ms).await?;
            if spent + e.cost_usd > check.limit_usd {
                // Dropping the transaction rolls it back and releases the locks.
                return Ok(ReserveOutcome::Exceeded {
                    check: check.clone(),
                    spent_usd: spent,
                });
            }
        }
        let insert = tx
            .prepare_cached(
                "INSERT INTO cost_reservations(at_ms, day, tenant, principal, feature, model, amount_usd)
                 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            )
            .await
            .map_err(map_err)?;
        let row = tx
            .query_one(
                &insert,
                &[
                    &e.at_ms,
                    &Period::Day.window(e.at_ms),
                    &e.tenant,
                    &e.principal,
                    &e.feature,
                    &e.model,
                    &e.cost_usd,
                ],
            )
            .await
            .map_err(map_err)?;
        let id: i64 = col(&row, 0)?;
        let stale = tx
            .prepare_cached("DELETE FROM cost_reservations WHERE at_ms < $1")
            .await
            .map_err(map_err)?;
        tx.execute(&stale, &[&(e.at_ms - STALE_RESERVATION_MS)])
            .await
            .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        Ok(ReserveOutcome::Reserved(id))
    }

    async fn settle(&self, request: SettleRequest) -> Result<()> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await.map_err(map_err)?;
        if !request.entries.is_empty() {
            let st = tx
                .prepare_cached(
                    "INSERT INTO cost_ledger(at_ms, day, tenant, principal, feature, model,
                        prompt_tokens, cached_prompt_tokens, completion_tokens, reasoning_tokens,
                        embedding_tokens, estimated, cost_usd, prices)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
                )
                .await
                .map_err(map_err)?;
            for e in &request.entries {
                tx.execute(
                    &st,
                    &[
                        &e.at_ms,
                        &Period::Day.window(e.at_ms),
                        &e.tenant,
                        &e.principal,
                        &e.feature,
                        &e.model,
                        &u(e.usage.prompt_tokens),
                        &u(e.usage.cached_prompt_tokens),
                        &u(e.usage.completion_tokens),
                        &u(e.usage.reasoning_tokens),
                        &u(e.usage.embedding_tokens),
                        &e.usage.estimated,
                        &e.cost_usd,
                        &e.prices,
                    ],
                )
                .await
                .map_err(map_err)?;
            }
        }
        if let Some(id) = request.reservation {
            let delete = tx
                .prepare_cached("DELETE FROM cost_reservations WHERE id = $1")
                .await
                .map_err(map_err)?;
            tx.execute(&delete, &[&id]).await.map_err(map_err)?;
        }
        tx.commit().await.map_err(map_err)
    }

    async fn spent(&self, request: SpentRequest) -> Result<f64> {
        let client = self.pool.get().await?;
        spent_in(
            &client,
            request.dimension,
            &request.value,
            request.period,
            request.at_ms,
        )
        .await
    }

    async fn report(&self, request: ReportRequest) -> Result<Vec<ReportRow>> {
        let key = match request.by {
            ReportBy::Tenant => "tenant",
            ReportBy::Model => "model",
            ReportBy::Day => "day",
            ReportBy::Feature => "feature",
            ReportBy::Principal => "principal",
        };
        let sql = format!(
            "SELECT {key}, COUNT(*)::BIGINT, SUM(prompt_tokens)::BIGINT,
                    SUM(cached_prompt_tokens)::BIGINT, SUM(completion_tokens)::BIGINT,
                    SUM(reasoning_tokens)::BIGINT, SUM(embedding_tokens)::BIGINT,
                    BOOL_OR(estimated), SUM(cost_usd)
             FROM cost_ledger
             WHERE ($1::TEXT IS NULL OR tenant = $1) AND at_ms >= $2
             GROUP BY {key} ORDER BY SUM(cost_usd) DESC, {key}"
        );
        let client = self.pool.get().await?;
        let rows = client
            .query(
                &sql,
                &[&request.tenant, &request.since_ms.unwrap_or(i64::MIN)],
            )
            .await
            .map_err(map_err)?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let g = |i: usize| col::<i64>(&r, i).map(n);
            out.push(ReportRow {
                key: col(&r, 0)?,
                requests: g(1)?,
                usage: Usage {
                    prompt_tokens: g(2)?,
                    cached_prompt_tokens: g(3)?,
                    completion_tokens: g(4)?,
                    reasoning_tokens: g(5)?,
                    embedding_tokens: g(6)?,
                    estimated: col(&r, 7)?,
                },
                cost_usd: col(&r, 8)?,
            });
        }
        Ok(out)
    }
}
