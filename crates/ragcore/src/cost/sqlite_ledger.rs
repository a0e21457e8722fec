//! [`SqliteCostLedger`]: the cost ledger and budget reservations in a local knowledge base's
//! `ops.sqlite` (tables `cost_ledger` and `cost_reservations`). A reservation checks and inserts in
//! one `BEGIN IMMEDIATE` transaction, so concurrent spenders, in this process or another, are
//! serialised by SQLite.

use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use rusqlite::{params, Connection, TransactionBehavior};

use super::ledger::{
    CostLedger, Dimension, Period, ReportBy, ReportRequest, ReportRow, ReserveOutcome,
    ReserveRequest, SettleRequest, SpentRequest,
};
use crate::error::{Error, Result};
use crate::types::Usage;

/// Reservations older than this belong to requests that never settled (a crashed process) and
/// no longer count.
const STALE_RESERVATION_MS: i64 = 10 * 60 * 1000;

/// The ledger in SQLite.
#[derive(Clone)]
pub struct SqliteCostLedger {
    conn: Arc<Mutex<Connection>>,
}

impl std::fmt::Debug for SqliteCostLedger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SqliteCostLedger")
    }
}

impl SqliteCostLedger {
    /// Opens the ledger in `db_file` (normally a knowledge base's `ops.sqlite`), creating its
    /// tables when missing.
    pub fn open(db_file: impl AsRef<Path>) -> Result<Self> {
        Self::with_connection(crate::ops_file::open_shared(db_file.as_ref())?)
    }

    /// The ledger on a connection shared with the other operational records (see
    /// [`crate::ops_file::SharedConnection`]), creating its tables when missing.
    pub fn with_connection(conn: crate::ops_file::SharedConnection) -> Result<Self> {
        crate::ops_file::create_tables(
            &conn,
            "cost ledger",
            "CREATE TABLE IF NOT EXISTS cost_ledger(
                id INTEGER PRIMARY KEY, at_ms INTEGER NOT NULL, day TEXT NOT NULL,
                tenant TEXT NOT NULL, principal TEXT NOT NULL, feature TEXT NOT NULL,
                model TEXT NOT NULL, prompt_tokens INTEGER NOT NULL,
                cached_prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL,
                reasoning_tokens INTEGER NOT NULL, embedding_tokens INTEGER NOT NULL,
                estimated INTEGER NOT NULL, cost_usd REAL NOT NULL, prices TEXT NOT NULL);
             CREATE INDEX IF NOT EXISTS cost_ledger_tenant_day ON cost_ledger(tenant, day);
             CREATE TABLE IF NOT EXISTS cost_reservations(
                id INTEGER PRIMARY KEY, at_ms INTEGER NOT NULL, day TEXT NOT NULL,
                tenant TEXT NOT NULL, principal TEXT NOT NULL, feature TEXT NOT NULL,
                model TEXT NOT NULL, amount_usd REAL NOT NULL);",
        )?;
        Ok(SqliteCostLedger { conn })
    }

    async fn with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut c = conn.lock().map_err(|_| Error::poisoned("cost ledger"))?;
            f(&mut c)
        })
        .await?
    }
}

fn column(d: Dimension) -> &'static str {
    d.as_str()
}

/// `LIKE` pattern for the period's days.
fn day_pattern(period: Period, at_ms: i64) -> String {
    match period {
        Period::Day => period.window(at_ms),
        Period::Month => format!("{}-%", period.window(at_ms)),
    }
}

fn spent_in(
    conn: &Connection,
    d: Dimension,
    value: &str,
    period: Period,
    at_ms: i64,
) -> Result<f64> {
    let pat = day_pattern(period, at_ms);
    let col = column(d);
    let settled: f64 = conn.query_row(
        &format!(
            "SELECT COALESCE(SUM(cost_usd), 0) FROM cost_ledger WHERE {col} = ?1 AND day LIKE ?2"
        ),
        params![value, pat],
        |r| r.get(0),
    )?;
    let reserved: f64 = conn.query_row(
        &format!(
            "SELECT COALESCE(SUM(amount_usd), 0) FROM cost_reservations WHERE {col} = ?1 AND day LIKE ?2 AND at_ms >= ?3"
        ),
        params![value, pat, at_ms - STALE_RESERVATION_MS],
        |r| r.get(0),
    )?;
    Ok(settled + reserved)
}

fn u(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

#[async_trait]
impl CostLedger for SqliteCostLedger {
    async fn reserve(&self, request: ReserveRequest) -> Result<ReserveOutcome> {
        self.with(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let e = &request.entry;
            for check in &request.checks {
                let spent = spent_in(&tx, check.dimension, &check.value, check.period, e.at_ms)?;
                if spent + e.cost_usd > check.limit_usd {
                    return Ok(ReserveOutcome::Exceeded {
                        check: check.clone(),
                        spent_usd: spent,
                    });
                }
            }
            tx.prepare_cached("INSERT INTO cost_reservations(at_ms, day, tenant, principal, feature, model, amount_usd)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")?
.execute(
                params![
                    e.at_ms,
                    Period::Day.window(e.at_ms),
                    e.tenant,
                    e.principal,
                    e.feature,
                    e.model,
                    e.cost_usd
                ],
            )?;
            let id = tx.last_insert_rowid();
            tx.prepare_cached("DELETE FROM cost_reservations WHERE at_ms < ?1")?
.execute(
                [e.at_ms - STALE_RESERVATION_MS],
            )?;
            tx.commit()?;
            Ok(ReserveOutcome::Reserved(id))
        })
        .await
    }

    async fn settle(&self, request: SettleRequest) -> Result<()> {
        self.with(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            for e in &request.entries {
                tx.prepare_cached(
                    "INSERT INTO cost_ledger(at_ms, day, tenant, principal, feature, model,
                        prompt_tokens, cached_prompt_tokens, completion_tokens, reasoning_tokens,
                        embedding_tokens, estimated, cost_usd, prices)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
                )?
                .execute(params![
                    e.at_ms,
                    Period::Day.window(e.at_ms),
                    e.tenant,
                    e.principal,
                    e.feature,
                    e.model,
                    u(e.usage.prompt_tokens),
                    u(e.usage.cached_prompt_tokens),
                    u(e.usage.completion_tokens),
                    u(e.usage.reasoning_tokens),
                    u(e.usage.embedding_tokens),
                    e.usage.estimated,
                    e.cost_usd,
                    e.prices
                ])?;
            }
            if let Some(id) = request.reservation {
                tx.prepare_cached("DELETE FROM cost_reservations WHERE id = ?1")?
                    .execute([id])?;
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn spent(&self, request: SpentRequest) -> Result<f64> {
        self.with(move |conn| {
            spent_in(
                conn,
                request.dimension,
                &request.value,
                request.period,
                request.at_ms,
            )
        })
        .await
    }

    async fn report(&self, request: ReportRequest) -> Result<Vec<ReportRow>> {
        self.with(move |conn| {
            let key = match request.by {
                ReportBy::Tenant => "tenant",
                ReportBy::Model => "model",
                ReportBy::Day => "day",
                ReportBy::Feature => "feature",
                ReportBy::Principal => "principal",
            };
            let sql = format!(
                "SELECT {key}, COUNT(*), SUM(prompt_tokens), SUM(cached_prompt_tokens),
                        SUM(completion_tokens), SUM(reasoning_tokens), SUM(embedding_tokens),
                        MAX(estimated), SUM(cost_usd)
                 FROM cost_ledger
                 WHERE (?1 IS NULL OR tenant = ?1) AND at_ms >= ?2
                 GROUP BY {key} ORDER BY SUM(cost_usd) DESC, {key}"
            );
            let mut stmt = conn.prepare(&sql)?;
            let rows = stmt.query_map(
                params![request.tenant, request.since_ms.unwrap_or(i64::MIN)],
                |r| {
                    let n = |i: usize| -> rusqlite::Result<u64> {
                        Ok(r.get::<_, i64>(i)?.max(0) as u64)
                    };
                    Ok(ReportRow {
                        key: r.get(0)?,
                        requests: n(1)?,
                        usage: Usage {
                            prompt_tokens: n(2)?,
                            cached_prompt_tokens: n(3)?,
                            completion_tokens: n(4)?,
                            reasoning_tokens: n(5)?,
                            embedding_tokens: n(6)?,
                            estimated: r.get::<_, i64>(7)? != 0,
                        },
                        cost_usd: r.get(8)?,
                    })
                },
            )?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }
}
