//! Observability with real parts: metrics text, the SQLite event log (PII redacted, JSONL), and
//! alert rules firing callbacks and a webhook on a loopback axum server. Span attributes are in
//! tests/traces.rs (a binary of its own: `tracing` caches callsite interest process-wide).

mod support;

use std::sync::{Arc, Mutex};

use ragcore::observe::{
    events_to_jsonl, Alert, AlertEngine, AlertMetric, AlertRule, AskEvent, CallbackSink, EventLog,
    ListEventsRequest, SqliteEventLog, WebhookSink,
};
use ragcore::{AskRequest, ErrorKind, LocalOptions, Pipeline, Scope};

type R = Result<(), Box<dyn std::error::Error>>;

async fn faq_kb(dir: &std::path::Path, options: LocalOptions) -> ragcore::Result<Pipeline> {
    let p = Pipeline::open_local(dir, options).await?;
    support::ingest(
        &p,
        "acme",
        vec![
            support::faq(
                "ret",
                "How many days do I have to return a product?",
                "Returns are accepted within 7 days of delivery.",
            ),
            support::faq(
                "ship",
                "How long does shipping take?",
                "Shipping takes 3 to 5 business days.",
            ),
        ],
    )
    .await?;
    Ok(p)
}

#[tokio::test]
async fn every_ask_is_counted_and_logged_with_pii_redacted() -> R {
    let dir = tempfile::tempdir()?;
    let p = faq_kb(dir.path(), LocalOptions::default()).await?;
    let scope = Scope::tenant("acme");
    let a = p
        .ask(AskRequest::new(
            "How many days do I have to return a product?",
            scope.clone(),
        ))
        .await?;
    assert!(!a.no_answer);
    assert!(
        !a.retrieved.is_empty(),
        "the answer lists the retrieved chunks"
    );
    let r = p
        .ask(AskRequest::new(
            "What is the warranty on the Zephyr-9000 drone?",
            scope.clone(),
        ))
        .await?;
    assert!(r.no_answer);
    p.ask(AskRequest::new(
        "My email is jane.doe@example.com, how long does shipping take?",
        scope.clone(),
    ))
    .await?;
    let e = p
        .ask(AskRequest::new("hello", Scope::tenant("nobody")))
        .await
        .err()
        .ok_or("unknown tenant answered")?;
    assert_eq!(e.kind(), ErrorKind::NotFound);

    let text = p.metrics_text()?;
    for line in [
        "ragcore_asks_total{tenant=\"acme\",outcome=\"answered\"} 2",
        "ragcore_asks_total{tenant=\"acme\",outcome=\"no_answer\"} 1",
        "ragcore_asks_total{tenant=\"nobody\",outcome=\"error\"} 1",
        "ragcore_errors_total{kind=\"not_found\"} 1",
        "ragcore_guard_triggers_total{guard=\"no_answer\",action=\"block\"} 1",
        "ragcore_stage_latency_ms_count{stage=\"retrieve\"} 3",
        "ragcore_ask_latency_ms_count 4",
        "ragcore_groundedness_count 2",
        "# TYPE ragcore_stage_latency_ms histogram",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
    assert!(
        text.contains("ragcore_guard_triggers_total{guard=\"pii\""),
        "{text}"
    );
    // No answer cache is configured: no cache lookups are counted.
    assert!(!text.contains("ragcore_cache_requests_total{"), "{text}");
    assert!(
        text.contains("ragcore_stage_latency_ms_bucket{stage=\"generate\",le=\"+Inf\"} 2"),
        "{text}"
    );
    // The no-answer rate gauge: 1 of 3 non-failed requests.
    assert!(
        text.contains(&format!("ragcore_no_answer_rate {}", 1.0 / 3.0)),
        "{text}"
    );

    // The event log in ops.sqlite, read by another handle (the CLI does this).
    let log = SqliteEventLog::open_kb_dir(dir.path())?;
    let events = log.list(ListEventsRequest::default()).await?;
    assert_eq!(events.len(), 4);
    let outcomes: Vec<&str> = events.iter().map(|e| e.outcome.as_str()).collect();
    assert_eq!(outcomes, ["answered", "no_answer", "answered", "error"]);
    let first = &events[0];
    assert_eq!(first.prompt_version, "qa@1");
    assert_eq!(first.kb_version, a.kb_version);
    assert_eq!(first.retrieved, a.retrieved);
    assert_eq!(
        first.cited,
        a.citations
            .iter()
            .map(|c| c.chunk_id.clone())
            .collect::<Vec<_>>()
    );
    assert!(
        first.groundedness.is_some_and(|g| g > 0.5),
        "{:?}",
        first.groundedness
    );
    assert!(first.timings.contains_key("retrieve"));
    assert!(
        !events[2].question.contains("jane.doe@example.com"),
        "{}",
        events[2].question
    );
    assert!(events[2].question.contains("shipping"));
    assert_eq!(events[3].error_kind.as_deref(), Some("not_found"));
    assert!(events[3]
        .error
        .as_deref()
        .is_some_and(|m| m.contains("nobody")));
    let ids: std::collections::HashSet<_> = events.iter().map(|e| e.request_id.clone()).collect();
    assert_eq!(ids.len(), 4, "request ids are unique");
    // Filters and JSONL export.
    let acme = log
        .list(ListEventsRequest {
            tenant: Some("acme".into()),
            limit: Some(2),
            ..Default::default()
        })
        .await?;
    assert_eq!(acme.len(), 2);
    assert_eq!(
        acme[1].request_id, events[2].request_id,
        "the newest two, oldest first"
    );
    let jsonl = events_to_jsonl(&events)?;
    let back: Vec<AskEvent> = jsonl
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;
    assert_eq!(back, events);
    Ok(())
}

#[tokio::test]
async fn evaluation_runs_can_skip_the_event_log() -> R {
    let dir = tempfile::tempdir()?;
    let p = faq_kb(
        dir.path(),
        LocalOptions {
            no_event_log: true,
            ..Default::default()
        },
    )
    .await?;
    p.ask(AskRequest::new(
        "How long does shipping take?",
        Scope::tenant("acme"),
    ))
    .await?;
    let log = SqliteEventLog::open_kb_dir(dir.path())?;
    assert!(log.list(ListEventsRequest::default()).await?.is_empty());
    assert!(p.metrics_text()?.contains("outcome=\"answered\"} 1"));
    Ok(())
}

fn event(at_s: i64, outcome: &str, latency_ms: f64) -> AskEvent {
    let mut e = AskEvent::from_error(
        &Scope::tenant("acme"),
        "q",
        &ragcore::Error::Internal("x".into()),
        latency_ms,
    );
    e.at_ms = at_s * 1000;
    e.outcome = outcome.into();
    if outcome != "error" {
        e.error_kind = None;
        e.error = None;
        e.groundedness = (outcome == "answered").then_some(0.9);
    }
    e
}

#[tokio::test]
async fn rules_over_rolling_windows_fire_once_per_episode() -> R {
    let fired: Arc<Mutex<Vec<Alert>>> = Arc::default();
    let f2 = fired.clone();
    let rules = vec![
        AlertRule {
            name: "errors".into(),
            metric: AlertMetric::ErrorRate,
            window_secs: 60,
            threshold: 0.5,
            min_events: 3,
        },
        AlertRule {
            name: "slow".into(),
            metric: AlertMetric::P95LatencyMs,
            window_secs: 60,
            threshold: 1000.0,
            min_events: 1,
        },
        AlertRule {
            name: "halluc".into(),
            metric: AlertMetric::HallucinationRate {
                min_groundedness: 0.5,
            },
            window_secs: 60,
            threshold: 0.4,
            min_events: 2,
        },
        AlertRule {
            name: "burn".into(),
            metric: AlertMetric::CostBurnUsdPerHour,
            window_secs: 3600,
            threshold: 1.0,
            min_events: 1,
        },
        AlertRule {
            name: "refusals".into(),
            metric: AlertMetric::NoAnswerRate,
            window_secs: 60,
            threshold: 0.5,
            min_events: 2,
        },
    ];
    let engine = AlertEngine::new(
        rules,
        vec![Arc::new(CallbackSink(move |a: &Alert| {
            f2.lock().unwrap_or_else(|e| e.into_inner()).push(a.clone())
        }))],
    );
    let names = |v: Vec<Alert>| v.into_iter().map(|a| a.rule).collect::<Vec<_>>();
    assert!(engine
        .observe(&event(0, "answered", 10.0))
        .await?
        .is_empty());
    assert!(
        engine.observe(&event(1, "error", 10.0)).await?.is_empty(),
        "2 events < min_events"
    );
    assert_eq!(
        names(engine.observe(&event(2, "error", 10.0)).await?),
        ["errors"]
    );
    assert!(
        engine.observe(&event(3, "error", 10.0)).await?.is_empty(),
        "still firing: no repeat"
    );
    // Two minutes later the window holds only healthy events: resolved, then fires again.
    assert!(engine
        .observe(&event(130, "answered", 10.0))
        .await?
        .is_empty());
    engine.observe(&event(131, "error", 10.0)).await?;
    assert_eq!(
        names(engine.observe(&event(132, "error", 10.0)).await?),
        ["errors"]
    );
    // p95 latency over one slow request.
    assert_eq!(
        names(engine.observe(&event(133, "answered", 5000.0)).await?),
        ["slow"]
    );
    // Low groundedness and cost burn.
    let mut low = event(134, "answered", 10.0);
    low.groundedness = Some(0.1);
    low.cost_usd = 0.01;
    engine.observe(&low).await?;
    let mut low2 = low.clone();
    low2.at_ms += 1000;
    low2.cost_usd = 2.0;
    assert_eq!(names(engine.observe(&low2).await?), ["halluc", "burn"]);
    assert_eq!(
        names(engine.observe(&event(136, "no_answer", 1.0)).await?),
        Vec::<String>::new()
    );
    let got = fired.lock().unwrap_or_else(|e| e.into_inner()).clone();
    assert_eq!(
        names(got.clone()),
        ["errors", "errors", "slow", "halluc", "burn"]
    );
    assert_eq!(got[0].events, 3);
    assert!((got[0].value - 2.0 / 3.0).abs() < 1e-9);
    assert_eq!(engine.fired()?, got);
    Ok(())
}

#[tokio::test]
async fn alerts_from_live_asks_reach_a_webhook() -> R {
    use axum::{routing::post, Json, Router};
    let received: Arc<Mutex<Vec<serde_json::Value>>> = Arc::default();
    let r2 = received.clone();
    let app = Router::new().route(
        "/hook",
        post(move |Json(v): Json<serde_json::Value>| {
            let r = r2.clone();
            async move {
                r.lock().unwrap_or_else(|e| e.into_inner()).push(v);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let engine = Arc::new(AlertEngine::new(
        vec![AlertRule {
            name: "refusals".into(),
            metric: AlertMetric::NoAnswerRate,
            window_secs: 3600,
            threshold: 0.5,
            min_events: 2,
        }],
        vec![Arc::new(WebhookSink::new(format!("http://{addr}/hook"))?)],
    ));
    let dir = tempfile::tempdir()?;
    let p = faq_kb(
        dir.path(),
        LocalOptions {
            alerts: Some(engine.clone()),
            ..Default::default()
        },
    )
    .await?;
    let s = Scope::tenant("acme");
    p.ask(AskRequest::new("How long does shipping take?", s.clone()))
        .await?;
    p.ask(AskRequest::new(
        "Who won the 1998 Zephyr-9000 chess cup?",
        s.clone(),
    ))
    .await?;
    assert!(
        received
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty(),
        "1 of 2 refused is not above 0.5"
    );
    p.ask(AskRequest::new(
        "What does the Quorbix-77 warranty cover?",
        s.clone(),
    ))
    .await?;
    let got = received.lock().unwrap_or_else(|e| e.into_inner()).clone();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0]["rule"], "refusals");
    assert_eq!(got[0]["metric"], "no_answer_rate");
    assert_eq!(got[0]["events"], 3);
    assert!(got[0]["text"].as_str().unwrap_or("").contains("refusals"));
    assert!(p
        .metrics_text()?
        .contains("ragcore_alerts_fired_total{rule=\"refusals\"} 1"));
    // A webhook that is down is logged, never fails the ask.
    server.abort();
    let _ = server.await;
    assert!(WebhookSink::new("ftp://x").is_err());
    Ok(())
}

#[tokio::test]
async fn cache_hits_and_misses_are_counted_and_logged() -> R {
    let dir = tempfile::tempdir()?;
    let p = faq_kb(
        dir.path(),
        LocalOptions {
            cache: Some(ragcore::cache::CacheConfig::default()),
            ..Default::default()
        },
    )
    .await?;
    let scope = Scope::tenant("acme");
    for q in [
        "How long does shipping take?",
        "how long does shipping take",
        "How many days do I have to return a product?",
    ] {
        p.ask(AskRequest::new(q, scope.clone())).await?;
    }
    let text = p.metrics_text()?;
    for line in [
        "ragcore_cache_requests_total{result=\"hit\"} 1",
        "ragcore_cache_requests_total{result=\"miss\"} 2",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
    let log = SqliteEventLog::open_kb_dir(dir.path())?;
    let events = log.list(ListEventsRequest::default()).await?;
    let statuses: Vec<_> = events.iter().map(|e| (e.cache_hit, e.cache)).collect();
    assert!(
        statuses.contains(&(true, ragcore::CacheStatus::ExactHit)),
        "{statuses:?}"
    );
    assert_eq!(statuses.iter().filter(|s| !s.0).count(), 2, "{statuses:?}");
    Ok(())
}

#[tokio::test]
async fn an_older_knowledge_base_keeps_its_events_when_they_move_to_ops_sqlite() -> R {
    let dir = tempfile::tempdir()?;
    let kb_file = dir.path().join("kb.sqlite");
    // A knowledge base from before ops.sqlite: the event log and the cost tables in kb.sqlite.
    {
        let old = SqliteEventLog::open(&kb_file)?;
        for (i, outcome) in ["answered", "no_answer"].into_iter().enumerate() {
            let mut e = event(1_700_000_000 + i as i64, outcome, 12.0);
            e.request_id = format!("old-{i}");
            old.append(ragcore::observe::AppendEventRequest { event: e })
                .await?;
        }
        ragcore::cost::SqliteCostLedger::open(&kb_file)?;
    }
    let tables = |file: &std::path::Path| -> rusqlite::Result<Vec<String>> {
        let conn = rusqlite::Connection::open(file)?;
        let mut stmt = conn.prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN \
             ('ask_events', 'cost_ledger', 'cost_reservations', 'ask_drift') ORDER BY name",
        )?;
        let names = stmt.query_map([], |r| r.get(0))?;
        names.collect()
    };
    assert_eq!(
        tables(&kb_file)?,
        ["ask_events", "cost_ledger", "cost_reservations"]
    );
    for _ in 0..2 {
        // Opened twice: the second open finds nothing left to move and duplicates nothing.
        let p = faq_kb(dir.path(), LocalOptions::default()).await?;
        p.ask(AskRequest::new(
            "How long does shipping take?",
            Scope::tenant("acme"),
        ))
        .await?;
    }
    assert!(tables(&kb_file)?.is_empty(), "{:?}", tables(&kb_file)?);
    let ops = dir.path().join("ops.sqlite");
    assert_eq!(
        tables(&ops)?,
        [
            "ask_drift",
            "ask_events",
            "cost_ledger",
            "cost_reservations"
        ]
    );
    let events = SqliteEventLog::open_kb_dir(dir.path())?
        .list(ListEventsRequest::default())
        .await?;
    let ids: Vec<&str> = events.iter().map(|e| e.request_id.as_str()).collect();
    assert_eq!(ids.len(), 4, "{ids:?}");
    assert_eq!(&ids[..2], ["old-0", "old-1"]);
    Ok(())
}
