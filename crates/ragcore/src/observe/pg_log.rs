//! [`PgEventLog`]: the ask events of every replica in one PostgreSQL table (`ask_events`), the
//! same rows as [`SqliteEventLog`](super::SqliteEventLog): one per request id, the event as JSON.

use async_trait::async_trait;

use super::log::{AppendEventRequest, EventLog, ListEventsRequest};
use super::AskEvent;
use crate::error::{Error, Result};
use crate::postgres::{col, map_err, PgPool};

const DDL: &str = "CREATE TABLE IF NOT EXISTS ask_events(
        seq BIGSERIAL PRIMARY KEY, request_id TEXT NOT NULL UNIQUE,
        at_ms BIGINT NOT NULL, tenant TEXT NOT NULL, outcome TEXT NOT NULL,
        body TEXT NOT NULL);
     CREATE INDEX IF NOT EXISTS ask_events_at ON ask_events(at_ms);
     CREATE INDEX IF NOT EXISTS ask_events_tenant ON ask_events(tenant, at_ms);";

/// The event log in PostgreSQL. Cheap to clone.
#[derive(Clone, Debug)]
pub struct PgEventLog {
    pool: PgPool,
}

impl PgEventLog {
    /// Creates the table when missing and returns the log.
    pub async fn open(pool: PgPool) -> Result<Self> {
        pool.ensure_schema("ask_events", DDL).await?;
        Ok(PgEventLog { pool })
    }
}

#[async_trait]
impl EventLog for PgEventLog {
    async fn append(&self, request: AppendEventRequest) -> Result<()> {
        let e = &request.event;
        let body =
            serde_json::to_string(e).map_err(|x| Error::Internal(format!("event to JSON: {x}")))?;
        let c = self.pool.get().await?;
        let insert = c
            .prepare_cached(
                "INSERT INTO ask_events(request_id, at_ms, tenant, outcome, body) VALUES ($1, $2, $3, $4, $5)",
            )
            .await
            .map_err(map_err)?;
        c.execute(
            &insert,
            &[&e.request_id, &e.at_ms, &e.tenant, &e.outcome, &body],
        )
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn list(&self, request: ListEventsRequest) -> Result<Vec<AskEvent>> {
        let limit: Option<i64> = request.limit.map(|l| i64::try_from(l).unwrap_or(i64::MAX));
        let c = self.pool.get().await?;
        let rows = c
            .query(
                "SELECT body FROM (SELECT seq, body FROM ask_events
                 WHERE ($1::TEXT IS NULL OR tenant = $1) AND ($2::BIGINT IS NULL OR at_ms >= $2)
                 ORDER BY seq DESC LIMIT $3) newest ORDER BY seq",
                &[&request.tenant, &request.since_ms, &limit],
            )
            .await
            .map_err(map_err)?;
        let mut out = Vec::with_capacity(rows.len());
        for (i, r) in rows.iter().enumerate() {
            let body: String = col(r, 0)?;
            out.push(serde_json::from_str(&body).map_err(|e| {
                Error::Storage(format!("ask_events row {i} is not a valid event: {e}"))
            })?);
        }
        Ok(out)
    }
}
