//! The event log, placeholder vault and drift log conformance tests.

use std::sync::Arc;
use std::time::Duration;

use ragcore::drift::{AskRecord, DriftLog, DriftReportRequest};
use ragcore::guard::{
    pseudonymize, PiiRedactor, PlaceholderVault, SecretScanner, VaultPurgeRequest,
    VaultResolveRequest, VaultStoreRequest,
};
use ragcore::observe::{AppendEventRequest, AskEvent, EventLog, ListEventsRequest};

use super::R;

// ---------------------------------------------------------------- event log

fn event(id: &str, tenant: &str, at_ms: i64) -> Result<AskEvent, serde_json::Error> {
    serde_json::from_value(serde_json::json!({
        "request_id": id,
        "at_ms": at_ms,
        "tenant": tenant,
        "question": format!("question {id}"),
        "outcome": "answer",
        "cost_usd": 0.25,
        "timings": {"retrieve": 1.5},
    }))
}

/// Append, filters (tenant, since, newest `limit`), oldest-first order, the event round-trips,
/// and a duplicate request id is refused.
pub async fn event_log(log: Arc<dyn EventLog>) -> R {
    for (i, t) in ["acme", "globex", "acme", "acme"].iter().enumerate() {
        log.append(AppendEventRequest {
            event: event(&format!("r{i}"), t, 1_000 + i as i64)?,
        })
        .await?;
    }
    let all = log.list(ListEventsRequest::default()).await?;
    let ids: Vec<&str> = all.iter().map(|e| e.request_id.as_str()).collect();
    assert_eq!(ids, ["r0", "r1", "r2", "r3"]);
    assert_eq!(all[0], event("r0", "acme", 1_000)?, "round trip");
    let acme = log
        .list(ListEventsRequest {
            tenant: Some("acme".into()),
            since_ms: Some(1_001),
            limit: None,
        })
        .await?;
    let ids: Vec<&str> = acme.iter().map(|e| e.request_id.as_str()).collect();
    assert_eq!(ids, ["r2", "r3"]);
    let newest = log
        .list(ListEventsRequest {
            limit: Some(2),
            ..Default::default()
        })
        .await?;
    let ids: Vec<&str> = newest.iter().map(|e| e.request_id.as_str()).collect();
    assert_eq!(ids, ["r2", "r3"]);
    let dup = log
        .append(AppendEventRequest {
            event: event("r0", "acme", 5)?,
        })
        .await;
    assert!(dup.is_err(), "a request id is logged once");
    assert_eq!(log.list(ListEventsRequest::default()).await?.len(), 4);
    Ok(())
}

// ---------------------------------------------------------------- vault

/// Per-tenant resolution, TTL, purge, and no secret ever reaching the vault.
pub async fn vault(v: Arc<dyn PlaceholderVault>) -> R {
    let pii = PiiRedactor::new()?;
    let secrets = SecretScanner::new()?;
    let key = "sk-proj-9fK2mQ7xLr4Tz8Wb1Nc6Vd3Hy5Ju0Pa2";
    let p = pseudonymize(
        &pii,
        &secrets,
        &format!("mail amy@example.com, phone 0912-345-678, key {key}"),
    );
    assert!(!p.entries.is_empty());
    v.store(VaultStoreRequest {
        tenant: "acme".into(),
        vault_id: "v1".into(),
        entries: p.entries.clone(),
        ttl: Duration::from_secs(3600),
    })
    .await?;
    let mut got = v
        .resolve(VaultResolveRequest {
            tenant: "acme".into(),
            vault_id: "v1".into(),
        })
        .await?;
    got.sort_by(|a, b| a.placeholder.cmp(&b.placeholder));
    let mut want = p.entries.clone();
    want.sort_by(|a, b| a.placeholder.cmp(&b.placeholder));
    assert_eq!(got, want);
    assert!(
        got.iter().all(|e| !e.value.contains("sk-proj")),
        "secrets never enter the vault"
    );
    // Another tenant, or another vault id, resolves nothing.
    for (t, id) in [("globex", "v1"), ("acme", "v2")] {
        let none = v
            .resolve(VaultResolveRequest {
                tenant: t.into(),
                vault_id: id.into(),
            })
            .await?;
        assert!(none.is_empty(), "{t}/{id}");
    }
    // An expired entry is never resolved, and purge removes it.
    v.store(VaultStoreRequest {
        tenant: "globex".into(),
        vault_id: "old".into(),
        entries: p.entries[..1].to_vec(),
        ttl: Duration::ZERO,
    })
    .await?;
    assert!(v
        .resolve(VaultResolveRequest {
            tenant: "globex".into(),
            vault_id: "old".into(),
        })
        .await?
        .is_empty());
    let purged = v
        .purge(VaultPurgeRequest {
            expired_only: true,
            ..Default::default()
        })
        .await?;
    assert_eq!(purged, 1, "only the expired entry");
    assert_eq!(
        v.resolve(VaultResolveRequest {
            tenant: "acme".into(),
            vault_id: "v1".into(),
        })
        .await?
        .len(),
        p.entries.len(),
        "live entries survive an expired-only purge"
    );
    let purged = v
        .purge(VaultPurgeRequest {
            tenant: Some("acme".into()),
            ..Default::default()
        })
        .await?;
    assert_eq!(purged, p.entries.len() as u64);
    // A bad tenant name is refused before anything is stored.
    assert!(v
        .store(VaultStoreRequest {
            tenant: String::new(),
            vault_id: "x".into(),
            entries: p.entries.clone(),
            ttl: Duration::from_secs(1),
        })
        .await
        .is_err());
    Ok(())
}

// ---------------------------------------------------------------- drift

fn record(day: &str, tenant: &str, score: f32, no_answer: bool, q: &str) -> AskRecord {
    AskRecord {
        day: day.into(),
        tenant: tenant.into(),
        top_score: Some(score),
        no_answer,
        query_vector: None,
        question: Some(q.into()),
    }
}

/// Daily statistics, recent vs baseline windows, FAQ gaps from refused questions only, and
/// tenant isolation.
pub async fn drift(log: Arc<dyn DriftLog>) -> R {
    // Baseline (2026-03-01..03-07): good retrieval. Recent (03-08..03-14): worse, more refusals.
    for d in 1..=7 {
        let day = format!("2026-03-{d:02}");
        log.record(record(&day, "acme", 0.8, false, "退貨要幾天"))
            .await?;
    }
    for d in 8..=14 {
        let day = format!("2026-03-{d:02}");
        log.record(record(&day, "acme", 0.4, true, "可以用比特幣付款嗎"))
            .await?;
        log.record(record(&day, "acme", 0.6, false, "運費多少"))
            .await?;
    }
    log.record(record(
        "2026-03-14",
        "globex",
        0.1,
        true,
        "secret globex question",
    ))
    .await?;
    let mut req = DriftReportRequest::new("acme");
    req.recent_days = 7;
    req.baseline_days = 7;
    req.today = Some("2026-03-14".into());
    let r = log.report(req).await?;
    assert_eq!(r.recent_window, ("2026-03-08".into(), "2026-03-14".into()));
    assert_eq!(
        r.baseline_window,
        ("2026-03-01".into(), "2026-03-07".into())
    );
    assert_eq!(r.days.len(), 14);
    assert_eq!(r.recent.asks, 14);
    assert_eq!(r.baseline.asks, 7);
    let close = |a: Option<f64>, b: f64| a.is_some_and(|a| (a - b).abs() < 1e-6);
    assert!(close(r.recent.mean_top_score, 0.5), "{:?}", r.recent);
    assert!(close(r.recent.no_answer_rate, 0.5), "{:?}", r.recent);
    assert!(close(r.baseline.no_answer_rate, 0.0), "{:?}", r.baseline);
    assert!(close(r.top_score_change, -0.3), "{:?}", r.top_score_change);
    assert!(close(r.no_answer_rate_change, 0.5));
    assert_eq!(r.gaps.len(), 1, "{:?}", r.gaps);
    assert_eq!(r.gaps[0].asks, 7);
    assert_eq!(r.gaps[0].examples, vec!["可以用比特幣付款嗎".to_string()]);
    assert!(
        r.gaps
            .iter()
            .all(|g| g.examples.iter().all(|e| !e.contains("globex"))),
        "another tenant's questions never show"
    );
    let mut bad = DriftReportRequest::new("acme");
    bad.recent_days = 0;
    assert!(log.report(bad).await.is_err());
    Ok(())
}
