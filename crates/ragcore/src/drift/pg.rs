//! [`PgDriftLog`]: the drift records of every replica in one PostgreSQL table (`ask_drift`),
//! the same rows and report as [`SqliteDriftLog`](super::SqliteDriftLog).
//!
//! The centroid distance needs the tenant's corpus centroid, which lives with the knowledge
//! base's store, not here: give the log a [`CorpusCentroid`] (the PostgreSQL store can compute
//! it with pgvector's `AVG(vector)`) with [`PgDriftLog::with_centroids`]. Without one the
//! centroid similarity is not recorded (`mean_centroid_distance` stays `None`). Centroids are
//! cached per tenant for a minute.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use deadpool_postgres::GenericClient;

use super::sqlite::day_number;
use super::{
    change, group_questions, AskRecord, DayStats, DriftLog, DriftReport, DriftReportRequest,
    DriftStats,
};
use crate::error::{Error, Result};
use crate::postgres::{col, map_err, PgPool};

const DDL: &str = "CREATE TABLE IF NOT EXISTS ask_drift(
        id          BIGSERIAL PRIMARY KEY,
        day         TEXT NOT NULL,
        tenant      TEXT NOT NULL,
        top_score   DOUBLE PRECISION,
        no_answer   BOOLEAN NOT NULL,
        centroid_similarity DOUBLE PRECISION,
        question    TEXT);
     CREATE INDEX IF NOT EXISTS ask_drift_by_day ON ask_drift(tenant, day);";

/// Unanswered questions kept for the FAQ gaps, per report.
const MAX_GAP_QUESTIONS: i64 = 5_000;

/// How long a tenant's centroid is reused.
const CENTROID_TTL: Duration = Duration::from_secs(60);

/// Where the drift log gets a tenant's corpus centroid (the normalised mean of its live chunk
/// vectors).
#[async_trait]
pub trait CorpusCentroid: Send + Sync {
    /// The centroid, or `None` when the tenant has no chunks.
    async fn centroid(&self, tenant: &str) -> Result<Option<Vec<f32>>>;
}

type Centroids = HashMap<String, (Instant, Option<Vec<f32>>)>;

/// Drift records in PostgreSQL. Cheap to clone.
#[derive(Clone)]
pub struct PgDriftLog {
    pool: PgPool,
    source: Option<Arc<dyn CorpusCentroid>>,
    centroids: Arc<Mutex<Centroids>>,
}

impl std::fmt::Debug for PgDriftLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgDriftLog")
            .field("pool", &self.pool)
            .field("centroids", &self.source.is_some())
            .finish()
    }
}

impl PgDriftLog {
    /// Creates the table when missing and returns the log (no centroid source).
    pub async fn open(pool: PgPool) -> Result<Self> {
        pool.ensure_schema("ask_drift", DDL).await?;
        Ok(PgDriftLog {
            pool,
            source: None,
            centroids: Arc::new(Mutex::new(HashMap::new())),
        })
    }

    /// The same log computing centroid distances with `source`.
    pub fn with_centroids(mut self, source: Arc<dyn CorpusCentroid>) -> Self {
        self.source = Some(source);
        self
    }

    async fn similarity(&self, tenant: &str, q: &[f32]) -> Result<Option<f32>> {
        let Some(source) = &self.source else {
            return Ok(None);
        };
        let cached = {
            let cache = self
                .centroids
                .lock()
                .map_err(|_| Error::poisoned("drift centroids"))?;
            cache
                .get(tenant)
                .filter(|(at, _)| at.elapsed() < CENTROID_TTL)
                .map(|(_, c)| c.clone())
        };
        let centroid = match cached {
            Some(c) => c,
            None => {
                let c = source.centroid(tenant).await?;
                self.centroids
                    .lock()
                    .map_err(|_| Error::poisoned("drift centroids"))?
                    .insert(tenant.to_string(), (Instant::now(), c.clone()));
                c
            }
        };
        Ok(centroid
            .filter(|c| c.len() == q.len())
            .map(|c| c.iter().zip(q).map(|(a, b)| a * b).sum()))
    }
}

async fn stats(c: &impl GenericClient, tenant: &str, from: &str, to: &str) -> Result<DriftStats> {
    let r = c
        .query_one(
            "SELECT COUNT(*)::BIGINT, AVG(top_score), AVG(no_answer::INT)::DOUBLE PRECISION,
                    AVG(1.0 - centroid_similarity)
             FROM ask_drift WHERE tenant = $1 AND day >= $2 AND day <= $3",
            &[&tenant, &from, &to],
        )
        .await
        .map_err(map_err)?;
    let asks: i64 = col(&r, 0)?;
    Ok(DriftStats {
        asks: asks.max(0) as u64,
        mean_top_score: col(&r, 1)?,
        no_answer_rate: if asks > 0 { col(&r, 2)? } else { None },
        mean_centroid_distance: col(&r, 3)?,
    })
}

#[async_trait]
impl DriftLog for PgDriftLog {
    async fn record(&self, record: AskRecord) -> Result<()> {
        let sim = match &record.query_vector {
            Some(q) => self.similarity(&record.tenant, q).await?,
            None => None,
        };
        let question = if record.no_answer {
            record.question.clone()
        } else {
            None
        };
        let c = self.pool.get().await?;
        let insert = c
            .prepare_cached(
                "INSERT INTO ask_drift(day, tenant, top_score, no_answer, centroid_similarity, question)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .await
            .map_err(map_err)?;
        c.execute(
            &insert,
            &[
                &record.day,
                &record.tenant,
                &record.top_score.map(f64::from),
                &record.no_answer,
                &sim.map(f64::from),
                &question,
            ],
        )
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn report(&self, request: DriftReportRequest) -> Result<DriftReport> {
        if request.recent_days == 0 {
            return Err(Error::invalid("recent_days", "must be at least 1"));
        }
        let today = request.today.clone().unwrap_or_else(crate::types::today);
        let t = day_number(&today)?;
        let day = |n: i64| crate::types::civil_date(n);
        let recent = (day(t - i64::from(request.recent_days) + 1), day(t));
        let base_end = t - i64::from(request.recent_days);
        let baseline = (
            day(base_end - i64::from(request.baseline_days) + 1),
            day(base_end),
        );
        let c = self.pool.get().await?;
        let tenant = request.tenant.as_str();
        let from = if request.baseline_days > 0 {
            &baseline.0
        } else {
            &recent.0
        };
        let day_rows = c
            .query(
                "SELECT DISTINCT day FROM ask_drift WHERE tenant = $1 AND day >= $2 AND day <= $3
                 ORDER BY day",
                &[&tenant, from, &recent.1],
            )
            .await
            .map_err(map_err)?;
        let mut days = Vec::with_capacity(day_rows.len());
        for r in &day_rows {
            let d: String = col(r, 0)?;
            days.push(DayStats {
                stats: stats(&c, tenant, &d, &d).await?,
                day: d,
            });
        }
        let recent_stats = stats(&c, tenant, &recent.0, &recent.1).await?;
        let baseline_stats = if request.baseline_days > 0 {
            stats(&c, tenant, &baseline.0, &baseline.1).await?
        } else {
            DriftStats::default()
        };
        let q_rows = c
            .query(
                "SELECT question FROM ask_drift WHERE tenant = $1 AND no_answer AND question IS NOT NULL
                 AND day >= $2 AND day <= $3 ORDER BY id DESC LIMIT $4",
                &[&tenant, from, &recent.1, &MAX_GAP_QUESTIONS],
            )
            .await
            .map_err(map_err)?;
        let questions: Vec<String> = q_rows.iter().map(|r| col(r, 0)).collect::<Result<_>>()?;
        Ok(DriftReport {
            tenant: request.tenant.clone(),
            top_score_change: change(recent_stats.mean_top_score, baseline_stats.mean_top_score),
            no_answer_rate_change: change(
                recent_stats.no_answer_rate,
                baseline_stats.no_answer_rate,
            ),
            centroid_distance_change: change(
                recent_stats.mean_centroid_distance,
                baseline_stats.mean_centroid_distance,
            ),
            recent_window: recent,
            baseline_window: baseline,
            days,
            recent: recent_stats,
            baseline: baseline_stats,
            gaps: group_questions(request.segmenter, &questions, 0.3),
        })
    }
}
