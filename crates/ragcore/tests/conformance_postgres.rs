//! The conformance suite (`conformance/`) on [`ragcore::store::PostgresStore`], against the
//! server at `RAGCORE_PG_URL` (see `scripts/pg.sh`). Each check gets its own schema, dropped
//! and recreated first. Without the variable every check prints a notice and passes, unless
//! `RAGCORE_REQUIRE_PG=1` (CI), which makes it fail.
#![cfg(feature = "postgres")]

mod conformance;

use conformance::Opened;
use ragcore::{PgConfig, PgPool, Pipeline, PostgresOptions};

/// The server URL, or `None` (with a notice) when it is not configured.
fn pg_url() -> Option<String> {
    match std::env::var("RAGCORE_PG_URL") {
        Ok(u) if !u.trim().is_empty() => Some(u),
        _ => {
            assert!(
                std::env::var("RAGCORE_REQUIRE_PG").as_deref() != Ok("1"),
                "RAGCORE_REQUIRE_PG=1 but RAGCORE_PG_URL is not set: start the server with \
                 `eval \"$(scripts/pg.sh start)\"`"
            );
            eprintln!("RAGCORE_PG_URL not set: skipping the PostgreSQL conformance check");
            None
        }
    }
}

async fn open(name: &'static str) -> ragcore::Result<Option<Opened>> {
    let Some(url) = pg_url() else {
        return Ok(None);
    };
    let schema = format!("conf_{name}");
    let admin = PgPool::connect(PgConfig::new(url.clone())).await?;
    admin
        .get()
        .await?
        .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
        .await
        .map_err(ragcore::postgres::map_err)?;
    let kb = Pipeline::open_postgres(
        PgConfig::new(url).with_schema(schema),
        PostgresOptions::default(),
    )
    .await?;
    Ok(Some(Opened {
        kb,
        _guard: Box::new(()),
    }))
}

conformance_tests!(open);

/// The pool's connections are killed on the server (`pg_terminate_backend`): the next calls
/// either succeed on a fresh connection or fail with a retryable [`ragcore::Error`] — never a
/// panic — and the pipeline works again right after.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_connections_are_retryable_and_the_pool_recovers() {
    let Some(url) = pg_url() else { return };
    let schema = "conf_lost_connection";
    let admin = PgPool::connect(PgConfig::new(url.clone())).await.unwrap();
    admin
        .get()
        .await
        .unwrap()
        .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
        .await
        .unwrap();
    let mut config = PgConfig::new(url).with_schema(schema);
    config.pool_size = 2;
    let pool = PgPool::connect(config.clone()).await.unwrap();
    let kb = Pipeline::open_postgres(
        config,
        PostgresOptions {
            pool: Some(pool.clone()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    kb.ingest(ragcore::IngestRequest::documents(
        "acme",
        vec![ragcore::Document::faq(
            "returns",
            "退貨要幾天內申請？",
            "七天內可以申請退貨。",
        )],
    ))
    .await
    .unwrap();
    let ask = || {
        kb.ask(ragcore::AskRequest::new(
            "退貨要幾天內申請？",
            ragcore::Scope::tenant("acme"),
        ))
    };
    assert!(!ask().await.unwrap().citations.is_empty());
    for round in 0..3 {
        // Take every pooled connection at once to learn their server pids, then kill them.
        let (a, b) = (pool.get().await.unwrap(), pool.get().await.unwrap());
        let mut pids = Vec::new();
        for c in [&a, &b] {
            pids.push(
                c.query_one("SELECT pg_backend_pid()", &[])
                    .await
                    .unwrap()
                    .get::<_, i32>(0),
            );
        }
        drop((a, b));
        let killed = admin
            .get()
            .await
            .unwrap()
            .query_one(
                "SELECT COUNT(*) FILTER (WHERE pg_terminate_backend(pid)) FROM unnest($1::int[]) AS pid",
                &[&pids],
            )
            .await
            .unwrap()
            .get::<_, i64>(0);
        assert_eq!(killed, 2, "round {round}");
        let mut errors = Vec::new();
        let mut ok = false;
        for _ in 0..4 {
            match ask().await {
                Ok(a) => {
                    assert!(!a.citations.is_empty(), "{a:?}");
                    ok = true;
                    break;
                }
                Err(e) => {
                    assert!(
                        e.is_retryable(),
                        "round {round}: not retryable: {e} ({:?})",
                        e.kind()
                    );
                    errors.push(e.to_string());
                }
            }
        }
        assert!(ok, "round {round}: never recovered: {errors:?}");
        eprintln!(
            "round {round}: {} retryable error(s) before recovery: {errors:?}",
            errors.len()
        );
    }
    admin
        .get()
        .await
        .unwrap()
        .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
        .await
        .unwrap();
}
