//! The operations conformance suite (`conformance_ops/`) against PostgreSQL, plus budgets
//! shared by several OS processes and a ledger that survives its connections being killed.
//!
//! Needs `RAGCORE_PG_URL` (see `scripts/pg.sh`); without it every test prints a notice and
//! passes, unless `RAGCORE_REQUIRE_PG=1`, then it fails. Each test works in its own schema
//! (dropped at the end), so tests never see each other's rows.
#![cfg(feature = "postgres")]

mod conformance_ops;

use std::sync::Arc;
use std::time::Instant;

use conformance_ops as suite;
use ragcore::cache::PgCacheStore;
use ragcore::cost::{CostLedger, PgCostLedger, ReserveOutcome};
use ragcore::drift::PgDriftLog;
use ragcore::guard::{random_hex, PgVault};
use ragcore::observe::PgEventLog;
use ragcore::postgres::{PgConfig, PgPool};
use ragcore::prompt::PgPromptRegistry;
use suite::R;

fn pg_url() -> Option<String> {
    match std::env::var("RAGCORE_PG_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            assert!(
                std::env::var("RAGCORE_REQUIRE_PG").as_deref() != Ok("1"),
                "RAGCORE_REQUIRE_PG=1 but RAGCORE_PG_URL is not set"
            );
            eprintln!("RAGCORE_PG_URL not set: skipping the PostgreSQL conformance test");
            None
        }
    }
}

fn new_schema(tag: &str) -> String {
    format!("t_ops_{tag}_{}", random_hex(8))
}

async fn pool(url: &str, schema: &str) -> Result<PgPool, ragcore::Error> {
    PgPool::connect(PgConfig::new(url).with_schema(schema)).await
}

async fn drop_schema(pool: &PgPool) {
    if let (Ok(c), Some(s)) = (pool.get().await, pool.schema()) {
        let _ = c
            .batch_execute(&format!("DROP SCHEMA IF EXISTS {s} CASCADE"))
            .await;
    }
}

/// Runs one suite function on a fresh schema.
macro_rules! pg_case {
    ($name:ident, $open:expr) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $name() -> R {
            let Some(url) = pg_url() else { return Ok(()) };
            let pool = pool(&url, &new_schema(stringify!($name))).await?;
            let out = suite::$name(Arc::new($open(pool.clone()).await?)).await;
            drop_schema(&pool).await;
            out
        }
    };
}

pg_case!(prompt_registry, PgPromptRegistry::open);
pg_case!(ledger_budgets, PgCostLedger::open);
pg_case!(cache_store, PgCacheStore::open);
pg_case!(event_log, PgEventLog::open);
pg_case!(vault, PgVault::open);
pg_case!(drift, PgDriftLog::open);

/// Two replicas (two pools, as two processes would have) see one registry: a label moved by
/// one is read by the other on its next request.
#[tokio::test]
async fn replicas_share_the_registry_and_the_cache() -> R {
    use ragcore::cache::{AnswerCache, CacheConfig, LookupRequest, Partition};
    use ragcore::prompt::{GetPromptRequest, PromptRegistry, SavePromptRequest};
    let Some(url) = pg_url() else { return Ok(()) };
    let schema = new_schema("replicas");
    let (pa, pb) = (pool(&url, &schema).await?, pool(&url, &schema).await?);
    let (a, b) = tokio::join!(
        PgPromptRegistry::open(pa.clone()),
        PgPromptRegistry::open(pb)
    );
    let (a, b) = (a?, b?);
    let saved = a
        .save(SavePromptRequest {
            name: "qa".into(),
            system: "Be brief.".into(),
            user: "{{ question }} {% for p in passages %}{{ p.text }}{% endfor %}".into(),
            labels: vec!["staging".into()],
        })
        .await?;
    let seen = b
        .get(GetPromptRequest {
            name: "qa".into(),
            label: "staging".into(),
        })
        .await?;
    assert_eq!(seen.version, saved.version);
    assert_eq!(
        b.list().await?.len(),
        2,
        "one built-in version, seeded once"
    );
    let ca = AnswerCache::with_store(
        CacheConfig::default(),
        Arc::new(PgCacheStore::open(pa.clone()).await?),
    );
    let cb = AnswerCache::with_store(
        CacheConfig::default(),
        Arc::new(PgCacheStore::open(pool(&url, &schema).await?).await?),
    );
    let part = Partition {
        tenant: "acme".into(),
        principals: vec![],
        prompt_version: "qa@2".into(),
        kb_version: 3,
        model: "m".into(),
    };
    let answer = suite::answer("Seven days.", &[]);
    ca.store(part.clone(), "return window?", vec![1.0, 0.0], &answer)
        .await?;
    let hit = cb
        .lookup(&LookupRequest {
            partition: &part,
            question: "Return window",
            vector: &[1.0, 0.0],
            visible_chunks: &[],
        })
        .await?;
    assert_eq!(hit.map(|h| h.0.text), Some("Seven days.".to_string()));
    drop_schema(&pa).await;
    Ok(())
}

// ------------------------------------------------------------- budgets across processes

const CHILD_SCHEMA: &str = "RAGCORE_SPEND_SCHEMA";
const COST: f64 = 1.0 / 64.0;
const LIMIT: f64 = 8.0;
const TASKS_PER_PROCESS: usize = 8;
const PROCESSES: usize = 3;

/// Several OS processes (this test binary re-run as `spend_child`) hammer one tenant budget
/// with reserve + settle at once; together they never spend more than the limit plus one
/// reservation, and the budget is used exactly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn budgets_hold_across_processes() -> R {
    let Some(url) = pg_url() else { return Ok(()) };
    let schema = new_schema("xproc");
    let p = pool(&url, &schema).await?;
    let ledger = PgCostLedger::open(p.clone()).await?;
    let exe = std::env::current_exe()?;
    let started = Instant::now();
    let children: Vec<std::process::Child> = (0..PROCESSES)
        .map(|_| {
            std::process::Command::new(&exe)
                .args(["--exact", "spend_child", "--ignored", "--nocapture"])
                .args(["--test-threads", "1"])
                .env(CHILD_SCHEMA, &schema)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
        })
        .collect::<Result<_, _>>()?;
    let outputs = tokio::task::spawn_blocking(move || {
        children
            .into_iter()
            .map(|c| c.wait_with_output())
            .collect::<Result<Vec<_>, _>>()
    })
    .await??;
    let wall = started.elapsed().as_secs_f64();
    let (mut reserved, mut refused) = (0u64, 0u64);
    for (i, o) in outputs.iter().enumerate() {
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(
            o.status.success(),
            "child {i} failed: {out}\n{}",
            String::from_utf8_lossy(&o.stderr)
        );
        let line = out
            .lines()
            .find_map(|l| l.find("SPEND_RESULT").map(|at| &l[at..]))
            .ok_or_else(|| format!("child {i} printed no result: {out}"))?;
        let field = |k: &str| -> u64 {
            line.split_whitespace()
                .find_map(|w| w.strip_prefix(&format!("{k}=")))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        eprintln!("child {i}: {line}");
        assert!(
            field("reserved") > 0,
            "child {i} never got a reservation: {line}"
        );
        reserved += field("reserved");
        refused += field("refused");
    }
    let spent = suite::month_spent(&ledger, "shared").await?;
    println!(
        "cross-process budget: {PROCESSES} processes x {TASKS_PER_PROCESS} tasks, {reserved} \
         reservations + {refused} refusals in {wall:.2} s = {:.0} reserve+settle/s; spent \
         {spent} of {LIMIT}",
        reserved as f64 / wall
    );
    assert!(
        spent <= LIMIT + COST,
        "overspent: {spent} > {LIMIT} + {COST}"
    );
    assert_eq!(
        reserved,
        (LIMIT / COST) as u64,
        "the budget is used exactly"
    );
    assert_eq!(refused, (PROCESSES * TASKS_PER_PROCESS) as u64);
    drop_schema(&p).await;
    Ok(())
}

/// One spender process of [`budgets_hold_across_processes`] (not run on its own).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a child process of budgets_hold_across_processes"]
async fn spend_child() -> R {
    let (Ok(url), Ok(schema)) = (std::env::var("RAGCORE_PG_URL"), std::env::var(CHILD_SCHEMA))
    else {
        return Err("spend_child runs only as a child of budgets_hold_across_processes".into());
    };
    let mut cfg = PgConfig::new(url).with_schema(schema);
    cfg.pool_size = TASKS_PER_PROCESS;
    let ledger: Arc<dyn CostLedger> =
        Arc::new(PgCostLedger::open(PgPool::connect(cfg).await?).await?);
    let t = Instant::now();
    let tasks: Vec<_> = (0..TASKS_PER_PROCESS)
        .map(|_| {
            tokio::spawn(suite::spend_until_refused(
                ledger.clone(),
                "shared".into(),
                COST,
                LIMIT,
            ))
        })
        .collect();
    let (mut reserved, mut refused) = (0, 0);
    for task in tasks {
        let (a, b) = task.await??;
        reserved += a;
        refused += b;
    }
    println!(
        "SPEND_RESULT reserved={reserved} refused={refused} secs={:.3}",
        t.elapsed().as_secs_f64()
    );
    Ok(())
}

// ------------------------------------------------------------- lost connections

/// Killing every backend of the ledger's pool (`pg_terminate_backend`) gives retryable errors
/// or a transparent reconnect, never a panic, and nothing already stored is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_connections_are_retryable() -> R {
    let Some(url) = pg_url() else { return Ok(()) };
    let schema = new_schema("kill");
    let app = format!("ragcore_kill_{}", random_hex(6));
    let sep = if url.contains('?') { '&' } else { '?' };
    let mut cfg = PgConfig::new(format!("{url}{sep}application_name={app}")).with_schema(&schema);
    cfg.pool_size = 4;
    let ledger = PgCostLedger::open(PgPool::connect(cfg).await?).await?;
    let admin = pool(&url, &schema).await?;
    let spend = || async {
        let r = ledger
            .reserve(ragcore::cost::ReserveRequest {
                entry: ragcore::cost::LedgerEntry {
                    at_ms: ragcore::cost::now_ms(),
                    tenant: "acme".into(),
                    principal: String::new(),
                    feature: "default".into(),
                    model: "m".into(),
                    usage: Default::default(),
                    cost_usd: 0.5,
                    prices: "t".into(),
                },
                checks: vec![],
            })
            .await?;
        let ReserveOutcome::Reserved(id) = r else {
            return Err(ragcore::Error::Internal("no limit, yet refused".into()));
        };
        ledger
            .settle(ragcore::cost::SettleRequest {
                reservation: Some(id),
                entries: vec![],
            })
            .await
    };
    // Warm several pooled connections, then kill them all.
    let (a, b, c) = tokio::join!(spend(), spend(), spend());
    a?;
    b?;
    c?;
    let admin_client = admin.get().await?;
    let killed: i64 = admin_client
        .query_one(
            "SELECT COUNT(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity
             WHERE application_name = $1",
            &[&app],
        )
        .await?
        .get(0);
    assert!(killed >= 1, "no backend of the pool was found to kill");
    let mut retryable = 0;
    let mut ok = 0;
    for _ in 0..10 {
        match spend().await {
            Ok(()) => ok += 1,
            Err(e) => {
                assert!(e.is_retryable(), "a lost connection must be retryable: {e}");
                retryable += 1;
            }
        }
    }
    println!("killed {killed} backends: {retryable} retryable errors, then {ok} successes");
    assert!(ok >= 5, "the pool reconnects: {ok} of 10 succeeded");
    drop(admin_client);
    drop_schema(&admin).await;
    Ok(())
}

// ------------------------------------------------------------- drift centroids

struct FixedCentroid(Vec<f32>);

#[async_trait::async_trait]
impl ragcore::drift::CorpusCentroid for FixedCentroid {
    async fn centroid(&self, tenant: &str) -> Result<Option<Vec<f32>>, ragcore::Error> {
        Ok((tenant == "acme").then(|| self.0.clone()))
    }
}

/// With a centroid source the distance of each question to the tenant's corpus is recorded
/// and averaged; a tenant without a centroid records none.
#[tokio::test]
async fn drift_centroid_distances() -> R {
    use ragcore::drift::{AskRecord, DriftLog, DriftReportRequest};
    let Some(url) = pg_url() else { return Ok(()) };
    let p = pool(&url, &new_schema("centroid")).await?;
    let log = PgDriftLog::open(p.clone())
        .await?
        .with_centroids(Arc::new(FixedCentroid(vec![1.0, 0.0])));
    for (tenant, v) in [
        ("acme", [1.0, 0.0]),
        ("acme", [0.0, 1.0]),
        ("globex", [1.0, 0.0]),
    ] {
        log.record(AskRecord {
            day: "2026-03-14".into(),
            tenant: tenant.into(),
            top_score: Some(0.5),
            no_answer: false,
            query_vector: Some(v.to_vec()),
            question: None,
        })
        .await?;
    }
    let mut req = DriftReportRequest::new("acme");
    req.today = Some("2026-03-14".into());
    let acme = log.report(req).await?;
    let d = acme.recent.mean_centroid_distance.ok_or("no distance")?;
    assert!((d - 0.5).abs() < 1e-6, "distances 0 and 1: {d}");
    let mut req = DriftReportRequest::new("globex");
    req.today = Some("2026-03-14".into());
    assert_eq!(log.report(req).await?.recent.mean_centroid_distance, None);
    drop_schema(&p).await;
    Ok(())
}

// ------------------------------------------------------------- ledger throughput vs SQLite

/// The same 8 concurrent spenders on one budget, in this process, against the SQLite ledger
/// and the PostgreSQL one in the same run: both use the budget exactly; the throughput ratio
/// is printed (docs/postgres-ops.md).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ledger_throughput_against_sqlite() -> R {
    let Some(url) = pg_url() else { return Ok(()) };
    let p = pool(&url, &new_schema("tput")).await?;
    let dir = tempfile::tempdir()?;
    let sqlite: Arc<dyn CostLedger> = Arc::new(ragcore::cost::SqliteCostLedger::open(
        dir.path().join("kb.sqlite"),
    )?);
    let pg: Arc<dyn CostLedger> = Arc::new(PgCostLedger::open(p.clone()).await?);
    let limit = 4.0;
    let mut rates = Vec::new();
    for (name, ledger) in [("sqlite", sqlite), ("postgres", pg)] {
        let t = Instant::now();
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                tokio::spawn(suite::spend_until_refused(
                    ledger.clone(),
                    "tput".into(),
                    COST,
                    limit,
                ))
            })
            .collect();
        let mut reserved = 0;
        for task in tasks {
            reserved += task.await??.0;
        }
        let secs = t.elapsed().as_secs_f64();
        assert_eq!(reserved, (limit / COST) as u64, "{name}");
        let spent = suite::month_spent(ledger.as_ref(), "tput").await?;
        assert!(spent <= limit + COST, "{name} overspent: {spent}");
        rates.push(reserved as f64 / secs);
        println!(
            "{name}: {reserved} reserve+settle in {secs:.2} s = {:.0}/s",
            reserved as f64 / secs
        );
    }
    println!(
        "postgres / sqlite reserve+settle throughput: {:.2}",
        rates[1] / rates[0]
    );
    drop_schema(&p).await;
    Ok(())
}

// ------------------------------------------------------------- all components at once

/// Two replicas starting at the same moment open every component on one schema: the tables
/// are created once, the built-in prompt is seeded once, and what one writes the other reads.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_open_all_components_at_once() -> R {
    use ragcore::observe::{AppendEventRequest, EventLog, ListEventsRequest};
    use ragcore::postgres::PgOps;
    use ragcore::prompt::PromptRegistry;
    let Some(url) = pg_url() else { return Ok(()) };
    let schema = new_schema("both");
    let (pa, pb) = (pool(&url, &schema).await?, pool(&url, &schema).await?);
    let (a, b) = tokio::try_join!(PgOps::open(pa.clone()), PgOps::open(pb))?;
    assert_eq!(a.prompts.list().await?.len(), 1, "qa seeded once");
    assert_eq!(b.prompts.list().await?.len(), 1);
    let event: ragcore::observe::AskEvent = serde_json::from_value(serde_json::json!({
        "request_id": "req-1", "at_ms": 1, "tenant": "acme", "question": "q", "outcome": "answer"
    }))?;
    a.events.append(AppendEventRequest { event }).await?;
    let seen = b.events.list(ListEventsRequest::default()).await?;
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].request_id, "req-1");
    let spent_a = suite::spend_until_refused(a.ledger.clone(), "t".into(), COST, 0.25).await?;
    let spent_b = suite::spend_until_refused(b.ledger.clone(), "t".into(), COST, 0.25).await?;
    assert_eq!(spent_a, (16, 1));
    assert_eq!(spent_b, (0, 1), "replica b sees replica a's spend");
    drop_schema(&pa).await;
    Ok(())
}

// ------------------------------------------------------------- the pipeline on PostgreSQL ops

/// One replica: its own local store, and every operations component from `ops`.
async fn replica(
    dir: &std::path::Path,
    ops: &ragcore::postgres::PgOps,
) -> ragcore::Result<ragcore::Pipeline> {
    use ragcore::cache::{AnswerCache, CacheConfig};
    use ragcore::cost::Budgets;
    use ragcore::observe::Observer;
    use ragcore::store::{AnnConfig, LocalStoreConfig};
    use ragcore::{
        Embedder, ExtractiveAnswerer, HashingEmbedder, LocalStore, PipelineConfig, PriceTable,
        TableMeter,
    };
    let embedder: Arc<dyn Embedder> = Arc::new(HashingEmbedder::default());
    let config = PipelineConfig::default();
    let store = LocalStore::open_async(
        dir,
        LocalStoreConfig {
            fingerprint: embedder.fingerprint(),
            profile: config.store_profile(),
            ann: AnnConfig::default(),
        },
    )
    .await?;
    let budgets = Budgets::new(ops.ledger.clone(), PriceTable::default());
    ragcore::Pipeline::builder()
        .embedder(embedder)
        .store(Arc::new(store))
        .chat(Arc::new(ExtractiveAnswerer::new(config.segmenter)))
        .prompts(ops.prompts.clone())
        .cost(Arc::new(TableMeter::new(PriceTable::default())))
        .budgets(Arc::new(budgets))
        .vault(ops.vault.clone())
        .drift_log(ops.drift.clone())
        .observer(Arc::new(Observer::new().with_event_log(ops.events.clone())))
        .cache(Arc::new(AnswerCache::with_store(
            CacheConfig::default(),
            ops.cache_store.clone(),
        )))
        .config(config)
        .build()
}

/// Two pipelines (replicas with the same documents) on one database: an answer generated by
/// one is served from the shared cache by the other, both asks are in one event log and one
/// cost ledger.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pipelines_share_cache_events_and_ledger() -> R {
    use ragcore::cost::{ReportBy, ReportRequest};
    use ragcore::observe::{EventLog, ListEventsRequest};
    use ragcore::postgres::PgOps;
    use ragcore::{AskRequest, CacheStatus, IngestRequest, Scope};
    let Some(url) = pg_url() else { return Ok(()) };
    let schema = new_schema("pipes");
    let p = pool(&url, &schema).await?;
    let ops = PgOps::open(p.clone()).await?;
    let sample = format!("{}/../../examples/faq", env!("CARGO_MANIFEST_DIR"));
    let (da, db) = (tempfile::tempdir()?, tempfile::tempdir()?);
    let (a, b) = (
        replica(da.path(), &ops).await?,
        replica(db.path(), &ops).await?,
    );
    for kb in [&a, &b] {
        kb.ingest(IngestRequest::paths("acme", [sample.clone()]))
            .await?;
    }
    let q = "退貨要在幾天內申請？";
    let first = a.ask(AskRequest::new(q, Scope::tenant("acme"))).await?;
    assert_eq!(first.cache, CacheStatus::Miss);
    assert!(!first.no_answer, "{first:?}");
    let second = b.ask(AskRequest::new(q, Scope::tenant("acme"))).await?;
    assert_eq!(
        second.cache,
        CacheStatus::ExactHit,
        "served from the shared cache"
    );
    assert_eq!(second.text, first.text);
    assert_eq!(second.citations, first.citations);
    let other = b.ask(AskRequest::new(q, Scope::tenant("globex"))).await;
    assert!(other.is_err() || other.is_ok_and(|o| o.cache != CacheStatus::ExactHit));
    let events = ops.events.list(ListEventsRequest::default()).await?;
    assert!(events.len() >= 2, "{events:?}");
    let report = ops
        .ledger
        .report(ReportRequest {
            by: ReportBy::Tenant,
            tenant: Some("acme".into()),
            since_ms: None,
        })
        .await?;
    assert!(
        report.first().is_some_and(|r| r.requests >= 2),
        "{report:?}"
    );
    drop_schema(&p).await;
    Ok(())
}
