//! [`SqliteDriftLog`]: the drift records in their own table (of `ops.sqlite` in a local
//! knowledge base, next to `kb.sqlite`). The corpus centroid of a tenant (mean of its live chunk
//! vectors) is read from the store's `chunks` table (in the same database, or in the attached
//! knowledge file) and cached until the knowledge-base version changes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension};

use super::{
    change, group_questions, AskRecord, DayStats, DriftLog, DriftReport, DriftReportRequest,
    DriftStats,
};
use crate::error::{Error, Result};

/// Drift records in SQLite. Cheap to clone.
#[derive(Clone)]
pub struct SqliteDriftLog {
    inner: Arc<Inner>,
}

/// Tenant -> (KB version, normalised centroid).
type CentroidCache = HashMap<String, (i64, Option<Vec<f32>>)>;

struct Inner {
    path: PathBuf,
    /// The schema that holds the store's tables: `main`, or `kb` (the attached `kb.sqlite`).
    kb_schema: &'static str,
    conn: crate::ops_file::SharedConnection,
    centroids: Mutex<CentroidCache>,
}

impl std::fmt::Debug for SqliteDriftLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteDriftLog")
            .field("path", &self.inner.path)
            .finish()
    }
}

/// Unanswered questions kept for the FAQ gaps, per report.
const MAX_GAP_QUESTIONS: i64 = 5_000;

impl SqliteDriftLog {
    /// Opens (creating its table when missing) the drift log in the database at `path`, which
    /// also holds the store's tables (the centroids are read from there). Blocking.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        Self::with_connection_inner(crate::ops_file::open_shared(path)?, path, None)
    }

    /// The drift log on a connection (to `path`) shared with the other operational records
    /// (see [`crate::ops_file::SharedConnection`]), with the centroids read from the knowledge
    /// base in `kb_file`, attached to that connection. Blocking.
    pub fn with_connection(
        conn: crate::ops_file::SharedConnection,
        path: impl AsRef<Path>,
        kb_file: impl AsRef<Path>,
    ) -> Result<Self> {
        Self::with_connection_inner(conn, path.as_ref(), Some(kb_file.as_ref()))
    }

    fn with_connection_inner(
        conn: crate::ops_file::SharedConnection,
        path: &Path,
        kb_file: Option<&Path>,
    ) -> Result<Self> {
        crate::ops_file::create_tables(
            &conn,
            "drift log",
            "CREATE TABLE IF NOT EXISTS ask_drift(
                id          INTEGER PRIMARY KEY AUTOINCREMENT,
                day         TEXT NOT NULL,
                tenant      TEXT NOT NULL,
                top_score   REAL,
                no_answer   INTEGER NOT NULL,
                centroid_similarity REAL,
                question    TEXT
            );
            CREATE INDEX IF NOT EXISTS ask_drift_by_day ON ask_drift(tenant, day);",
        )?;
        let kb_schema = match kb_file {
            Some(kb) => {
                let uri = kb.to_string_lossy().to_string();
                conn.lock()
                    .map_err(|_| Error::poisoned("drift log"))?
                    .execute("ATTACH DATABASE ?1 AS kb", [uri])
                    .map_err(|e| Error::Storage(format!("cannot attach {}: {e}", kb.display())))?;
                "kb"
            }
            None => "main",
        };
        Ok(SqliteDriftLog {
            inner: Arc::new(Inner {
                path: path.to_path_buf(),
                kb_schema,
                conn,
                centroids: Mutex::new(HashMap::new()),
            }),
        })
    }

    async fn blocking<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Inner) -> Result<T> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || f(&inner)).await?
    }
}

/// The normalised mean of a tenant's live chunk vectors, or `None` without chunks or without
/// the store's tables.
fn centroid(conn: &Connection, schema: &str, tenant: &str) -> Result<Option<Vec<f32>>> {
    let has_chunks: Option<String> = conn
        .query_row(
            &format!(
                "SELECT name FROM {schema}.sqlite_master WHERE type = 'table' AND name = 'chunks'"
            ),
            [],
            |r| r.get(0),
        )
        .optional()?;
    if has_chunks.is_none() {
        return Ok(None);
    }
    let mut stmt = conn.prepare(&format!(
        "SELECT c.vector FROM {schema}.chunks c JOIN {schema}.tenants t ON t.id = c.tenant_id \
         WHERE t.name = ?1 AND c.version_removed IS NULL"
    ))?;
    let mut rows = stmt.query([tenant])?;
    let mut sum: Vec<f64> = Vec::new();
    while let Some(row) = rows.next()? {
        let blob: Vec<u8> = row.get(0)?;
        if sum.is_empty() {
            sum = vec![0.0; blob.len() / 4];
        }
        if blob.len() / 4 != sum.len() {
            continue;
        }
        for (s, c) in sum.iter_mut().zip(blob.chunks_exact(4)) {
            *s += f32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64;
        }
    }
    let norm = sum.iter().map(|x| x * x).sum::<f64>().sqrt();
    if sum.is_empty() || norm == 0.0 {
        return Ok(None);
    }
    Ok(Some(sum.iter().map(|x| (x / norm) as f32).collect()))
}

fn kb_version(conn: &Connection, schema: &str) -> Result<i64> {
    let has: Option<String> = conn
        .prepare_cached(&format!(
            "SELECT name FROM {schema}.sqlite_master WHERE type = 'table' AND name = 'kb_versions'"
        ))?
        .query_row([], |r| r.get(0))
        .optional()?;
    if has.is_none() {
        return Ok(0);
    }
    Ok(conn
        .prepare_cached(&format!(
            "SELECT COALESCE(MAX(version), 0) FROM {schema}.kb_versions"
        ))?
        .query_row([], |r| r.get(0))?)
}

fn centroid_similarity(
    inner: &Inner,
    conn: &Connection,
    tenant: &str,
    q: &[f32],
) -> Result<Option<f32>> {
    let version = kb_version(conn, inner.kb_schema)?;
    let mut cache = inner
        .centroids
        .lock()
        .map_err(|_| Error::poisoned("drift centroids"))?;
    let fresh = matches!(cache.get(tenant), Some((v, _)) if *v == version);
    if !fresh {
        cache.insert(
            tenant.to_string(),
            (version, centroid(conn, inner.kb_schema, tenant)?),
        );
    }
    Ok(cache
        .get(tenant)
        .and_then(|(_, c)| c.as_ref())
        .filter(|c| c.len() == q.len())
        .map(|c| c.iter().zip(q).map(|(a, b)| a * b).sum()))
}

pub(super) fn day_number(day: &str) -> Result<i64> {
    let bad = || Error::invalid("today", format!("{day:?} is not a YYYY-MM-DD date"));
    if !crate::types::is_iso_date(day) {
        return Err(bad());
    }
    let num = |r: std::ops::Range<usize>| day.get(r).and_then(|s| s.parse::<i64>().ok());
    let (Some(y), Some(m), Some(d)) = (num(0..4), num(5..7), num(8..10)) else {
        return Err(bad());
    };
    // Days since 1970-01-01 (H. Hinnant's days_from_civil).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Ok(era * 146_097 + doe - 719_468)
}

fn stats(conn: &Connection, tenant: &str, from: &str, to: &str) -> Result<DriftStats> {
    Ok(conn.query_row(
        "SELECT COUNT(*), AVG(top_score), AVG(no_answer), AVG(1.0 - centroid_similarity) \
         FROM ask_drift WHERE tenant = ?1 AND day >= ?2 AND day <= ?3",
        params![tenant, from, to],
        |r| {
            let asks: i64 = r.get(0)?;
            Ok(DriftStats {
                asks: asks as u64,
                mean_top_score: r.get(1)?,
                no_answer_rate: if asks > 0 { r.get(2)? } else { None },
                mean_centroid_distance: r.get(3)?,
            })
        },
    )?)
}

#[async_trait]
impl DriftLog for SqliteDriftLog {
    async fn record(&self, record: AskRecord) -> Result<()> {
        self.blocking(move |inner| {
            let conn = inner.conn.lock().map_err(|_| Error::poisoned("drift log"))?;
            let sim = match &record.query_vector {
                Some(q) => centroid_similarity(inner, &conn, &record.tenant, q)?,
                None => None,
            };
            conn.prepare_cached("INSERT INTO ask_drift(day, tenant, top_score, no_answer, centroid_similarity, question) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?
.execute(
                params![
                    record.day,
                    record.tenant,
                    record.top_score.map(f64::from),
                    record.no_answer as i64,
                    sim.map(f64::from),
                    if record.no_answer { record.question } else { None }
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn report(&self, request: DriftReportRequest) -> Result<DriftReport> {
        if request.recent_days == 0 {
            return Err(Error::invalid("recent_days", "must be at least 1"));
        }
        self.blocking(move |inner| {
            let today = request.today.clone().unwrap_or_else(crate::types::today);
            let t = day_number(&today)?;
            let day = |n: i64| crate::types::civil_date(n);
            let recent = (day(t - i64::from(request.recent_days) + 1), day(t));
            let base_end = t - i64::from(request.recent_days);
            let baseline = (
                day(base_end - i64::from(request.baseline_days) + 1),
                day(base_end),
            );
            let conn = inner.conn.lock().map_err(|_| Error::poisoned("drift log"))?;
            let tenant = request.tenant.as_str();
            let mut days = Vec::new();
            {
                let mut stmt = conn.prepare(
                    "SELECT DISTINCT day FROM ask_drift WHERE tenant = ?1 AND day >= ?2 AND day <= ?3 ORDER BY day",
                )?;
                let from = if request.baseline_days > 0 { &baseline.0 } else { &recent.0 };
                let rows = stmt.query_map(params![tenant, from, recent.1], |r| r.get::<_, String>(0))?;
                for d in rows {
                    let d = d?;
                    days.push(DayStats {
                        stats: stats(&conn, tenant, &d, &d)?,
                        day: d,
                    });
                }
            }
            let recent_stats = stats(&conn, tenant, &recent.0, &recent.1)?;
            let baseline_stats = if request.baseline_days > 0 {
                stats(&conn, tenant, &baseline.0, &baseline.1)?
            } else {
                DriftStats::default()
            };
            let questions: Vec<String> = {
                let mut stmt = conn.prepare(
                    "SELECT question FROM ask_drift WHERE tenant = ?1 AND no_answer = 1 AND question IS NOT NULL \
                     AND day >= ?2 AND day <= ?3 ORDER BY id DESC LIMIT ?4",
                )?;
                let from = if request.baseline_days > 0 { &baseline.0 } else { &recent.0 };
                let rows = stmt.query_map(params![tenant, from, recent.1, MAX_GAP_QUESTIONS], |r| r.get(0))?;
                rows.collect::<rusqlite::Result<_>>()?
            };
            drop(conn);
            Ok(DriftReport {
                tenant: request.tenant.clone(),
                top_score_change: change(recent_stats.mean_top_score, baseline_stats.mean_top_score),
                no_answer_rate_change: change(recent_stats.no_answer_rate, baseline_stats.no_answer_rate),
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
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_numbers_round_trip() -> Result<()> {
        for n in [0i64, 59, 365, 10_957, 20_000, 20_424] {
            assert_eq!(day_number(&crate::types::civil_date(n))?, n);
        }
        assert!(day_number("2026-13-01").is_err());
        Ok(())
    }
}
