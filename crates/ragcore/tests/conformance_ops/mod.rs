//! The operations conformance suite: one generic test per trait (prompt registry, cost ledger
//! and budgets, answer cache store, event log, placeholder vault, drift log), run against every
//! implementation by `conformance_ops_local.rs` (SQLite / in memory) and
//! `conformance_ops_postgres.rs` (PostgreSQL). Every function gets a fresh, empty instance.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use ragcore::cache::{AnswerCache, CacheConfig, CacheStore, LookupRequest, Partition};
use ragcore::cost::{
    now_ms, BudgetCheck, CostLedger, Dimension, LedgerEntry, Period, ReportBy, ReportRequest,
    ReserveOutcome, ReserveRequest, SettleRequest, SpentRequest,
};
use ragcore::drift::{AskRecord, DriftLog, DriftReportRequest};
use ragcore::guard::{
    pseudonymize, PiiRedactor, PlaceholderVault, SecretScanner, VaultPurgeRequest,
    VaultResolveRequest, VaultStoreRequest,
};
use ragcore::observe::{AppendEventRequest, AskEvent, EventLog, ListEventsRequest};
use ragcore::prompt::{
    GetPromptRequest, GetVersionRequest, LabelHistoryRequest, PromoteLabelRequest, PromptRegistry,
    RollbackRequest, SavePromptRequest, SetLabelRequest,
};
use ragcore::types::{CacheStatus, Citation, Usage};
use ragcore::{Answer, Error};

pub type R = Result<(), Box<dyn std::error::Error + Send + Sync>>;

// ---------------------------------------------------------------- prompt registry

fn save(name: &str, system: &str, labels: &[&str]) -> SavePromptRequest {
    SavePromptRequest {
        name: name.into(),
        system: system.into(),
        user: "Q: {{ question }}\n{% for p in passages %}[{{ p.index }}] {{ p.text }}{% endfor %}"
            .into(),
        labels: labels.iter().map(|s| s.to_string()).collect(),
    }
}

fn get(name: &str, label: &str) -> GetPromptRequest {
    GetPromptRequest {
        name: name.into(),
        label: label.into(),
    }
}

/// Versions, content hashes, pins, labels, protection, promotion, rollback, list, and label
/// moves that stay a consistent chain under concurrency.
pub async fn prompt_registry(reg: Arc<dyn PromptRegistry>) -> R {
    // The built-in prompt is there, at production and latest.
    let qa = reg.get(get("qa", "production")).await?;
    assert_eq!(qa.version, 1);
    assert!(qa.labels.contains(&"latest".to_string()), "{qa:?}");

    let v1 = reg.save(save("faq", "one", &["staging"])).await?;
    assert_eq!(v1.version, 1);
    assert_eq!(v1.labels, vec!["latest".to_string(), "staging".to_string()]);
    let same = reg.save(save("faq", "one", &[])).await?;
    assert_eq!(same.version, 1, "identical content is the same version");
    let v2 = reg.save(save("faq", "two", &[])).await?;
    assert_eq!(v2.version, 2);
    assert_ne!(v1.hash, v2.hash);
    assert_eq!(reg.get(get("faq", "latest")).await?.version, 2);
    assert_eq!(reg.get(get("faq", "@1")).await?.system, "one");
    assert_eq!(reg.get(get("faq", "staging")).await?.version, 1);
    let by_hash = reg
        .version(GetVersionRequest {
            name: "faq".into(),
            reference: v2.hash[..6].to_string(),
        })
        .await?;
    assert_eq!(by_hash.version, 2);
    assert!(matches!(
        reg.get(get("faq", "nope")).await,
        Err(Error::NotFound { .. })
    ));
    assert!(reg.get(get("faq", "@x")).await.is_err());
    assert!(reg.get(get("faq", "@9")).await.is_err());

    // Protected labels move only by promotion.
    assert!(reg.protected_labels().await?.contains(&"production".into()));
    let refused = reg
        .set_label(SetLabelRequest {
            name: "faq".into(),
            label: "production".into(),
            version: 2,
        })
        .await;
    assert!(refused.is_err(), "production is protected");
    assert!(reg
        .save(save("faq", "three", &["production"]))
        .await
        .is_err());
    for v in [1, 2] {
        reg.promote_label(PromoteLabelRequest {
            name: "faq".into(),
            label: "production".into(),
            version: v,
            reason: format!("golden set passed for v{v}"),
        })
        .await?;
    }
    assert_eq!(reg.get(get("faq", "production")).await?.version, 2);
    let back = reg
        .rollback(RollbackRequest {
            name: "faq".into(),
            label: "production".into(),
        })
        .await?;
    assert_eq!((back.from_version, back.to_version), (Some(2), 1));
    assert_eq!(reg.get(get("faq", "production")).await?.version, 1);
    assert!(
        reg.rollback(RollbackRequest {
            name: "faq".into(),
            label: "production".into(),
        })
        .await
        .is_err(),
        "nothing before v1"
    );
    let hist = reg
        .label_history(LabelHistoryRequest {
            name: "faq".into(),
            label: "production".into(),
        })
        .await?;
    let hows: Vec<&str> = hist.iter().map(|m| m.how.as_str()).collect();
    assert_eq!(hows, ["promote", "promote", "rollback"]);
    assert_eq!(hist[0].reason, "golden set passed for v1");

    let list = reg.list().await?;
    let faq: Vec<_> = list.iter().filter(|p| p.name == "faq").collect();
    assert_eq!(faq.len(), 2);
    assert_eq!(
        faq[0].labels,
        vec!["production".to_string(), "staging".to_string()]
    );
    assert_eq!(faq[1].labels, vec!["latest".to_string()]);

    // Concurrent saves get distinct versions; concurrent label moves form one chain.
    let mut tasks = Vec::new();
    for i in 0..8 {
        let reg = reg.clone();
        tasks.push(tokio::spawn(async move {
            reg.save(save("race", &format!("content {i}"), &[])).await
        }));
    }
    let mut versions = Vec::new();
    for t in tasks {
        versions.push(t.await??.version);
    }
    versions.sort();
    assert_eq!(versions, (1..=8).collect::<Vec<u32>>());
    let mut tasks = Vec::new();
    for i in 0..24u32 {
        let reg = reg.clone();
        tasks.push(tokio::spawn(async move {
            reg.set_label(SetLabelRequest {
                name: "race".into(),
                label: "canary".into(),
                version: i % 8 + 1,
            })
            .await
        }));
    }
    for t in tasks {
        t.await??;
    }
    let hist = reg
        .label_history(LabelHistoryRequest {
            name: "race".into(),
            label: "canary".into(),
        })
        .await?;
    assert!(!hist.is_empty());
    assert_eq!(hist[0].from_version, None);
    for w in hist.windows(2) {
        assert_eq!(
            w[1].from_version,
            Some(w[0].to_version),
            "each move replaced the version the previous one set: {hist:?}"
        );
    }
    let last = hist.last().map(|m| m.to_version);
    assert_eq!(Some(reg.get(get("race", "canary")).await?.version), last);
    Ok(())
}

// ---------------------------------------------------------------- cost ledger

fn entry(tenant: &str, at_ms: i64, cost: f64) -> LedgerEntry {
    LedgerEntry {
        at_ms,
        tenant: tenant.into(),
        principal: "u1".into(),
        feature: "default".into(),
        model: "gpt-x".into(),
        usage: Usage {
            prompt_tokens: 100,
            completion_tokens: 20,
            ..Default::default()
        },
        cost_usd: cost,
        prices: "test#1".into(),
    }
}

fn tenant_check(tenant: &str, period: Period, limit: f64) -> BudgetCheck {
    BudgetCheck {
        name: format!("tenant {tenant} per {}", period.as_str()),
        dimension: Dimension::Tenant,
        value: tenant.into(),
        period,
        limit_usd: limit,
    }
}

/// Reserves one `cost` against `limit` for `tenant` and settles it at the same cost, until the
/// budget refuses. Returns (reservations, refusals).
pub async fn spend_until_refused(
    ledger: Arc<dyn CostLedger>,
    tenant: String,
    cost: f64,
    limit: f64,
) -> Result<(u64, u64), Error> {
    let mut reserved = 0;
    loop {
        let at = now_ms();
        let out = ledger
            .reserve(ReserveRequest {
                entry: entry(&tenant, at, cost),
                checks: vec![tenant_check(&tenant, Period::Month, limit)],
            })
            .await?;
        match out {
            ReserveOutcome::Reserved(id) => {
                reserved += 1;
                ledger
                    .settle(SettleRequest {
                        reservation: Some(id),
                        entries: vec![entry(&tenant, at, cost)],
                    })
                    .await?;
            }
            ReserveOutcome::Exceeded { .. } => return Ok((reserved, 1)),
        }
    }
}

pub async fn month_spent(ledger: &dyn CostLedger, tenant: &str) -> Result<f64, Error> {
    ledger
        .spent(SpentRequest {
            dimension: Dimension::Tenant,
            value: tenant.into(),
            period: Period::Month,
            at_ms: now_ms(),
        })
        .await
}

/// Reserve / settle / spent / report, stale reservations, and 64 concurrent spenders that never
/// overspend by more than one reservation.
pub async fn ledger_budgets(ledger: Arc<dyn CostLedger>) -> R {
    // 2026-01-15T00:00:00Z: fixed, so the stale-reservation rule is deterministic.
    let t0 = 20_468 * 86_400_000i64;
    let checks = || vec![tenant_check("acme", Period::Day, 1.0)];
    let r1 = ledger
        .reserve(ReserveRequest {
            entry: entry("acme", t0, 0.4),
            checks: checks(),
        })
        .await?;
    let id1 = match r1 {
        ReserveOutcome::Reserved(id) => id,
        other => return Err(format!("first reservation fits: {other:?}").into()),
    };
    let r2 = ledger
        .reserve(ReserveRequest {
            entry: entry("acme", t0 + 1, 0.4),
            checks: checks(),
        })
        .await?;
    assert!(matches!(r2, ReserveOutcome::Reserved(_)), "{r2:?}");
    let r3 = ledger
        .reserve(ReserveRequest {
            entry: entry("acme", t0 + 2, 0.4),
            checks: checks(),
        })
        .await?;
    match r3 {
        ReserveOutcome::Exceeded { check, spent_usd } => {
            assert_eq!(check.value, "acme");
            assert!((spent_usd - 0.8).abs() < 1e-9, "{spent_usd}");
        }
        other => return Err(format!("third reservation must not fit: {other:?}").into()),
    }
    // Another tenant's budget is separate.
    let other = ledger
        .reserve(ReserveRequest {
            entry: entry("globex", t0, 0.9),
            checks: vec![tenant_check("globex", Period::Day, 1.0)],
        })
        .await?;
    assert!(matches!(other, ReserveOutcome::Reserved(_)));
    // Settling replaces the reservation by the actual cost.
    ledger
        .settle(SettleRequest {
            reservation: Some(id1),
            entries: vec![entry("acme", t0, 0.1)],
        })
        .await?;
    let spent = ledger
        .spent(SpentRequest {
            dimension: Dimension::Tenant,
            value: "acme".into(),
            period: Period::Day,
            at_ms: t0 + 3,
        })
        .await?;
    assert!(
        (spent - 0.5).abs() < 1e-9,
        "0.1 settled + 0.4 reserved: {spent}"
    );
    // A reservation older than ten minutes no longer counts.
    let later = t0 + 11 * 60 * 1000;
    let r4 = ledger
        .reserve(ReserveRequest {
            entry: entry("acme", later, 0.85),
            checks: checks(),
        })
        .await?;
    assert!(
        matches!(r4, ReserveOutcome::Reserved(_)),
        "the stale 0.4 was released: {r4:?}"
    );
    let report = ledger
        .report(ReportRequest {
            by: ReportBy::Tenant,
            tenant: None,
            since_ms: None,
        })
        .await?;
    assert_eq!(
        report.len(),
        1,
        "only settled spend is reported: {report:?}"
    );
    assert_eq!(report[0].key, "acme");
    assert_eq!(report[0].requests, 1);
    assert_eq!(report[0].usage.prompt_tokens, 100);
    assert!((report[0].cost_usd - 0.1).abs() < 1e-9);
    let by_model = ledger
        .report(ReportRequest {
            by: ReportBy::Model,
            tenant: Some("globex".into()),
            since_ms: None,
        })
        .await?;
    assert!(by_model.is_empty());

    // 64 concurrent spenders on one budget: 1/64 USD each, limit 1 USD (exact in binary).
    let cost = 1.0 / 64.0;
    let limit = 1.0;
    let mut tasks = Vec::new();
    for _ in 0..64 {
        tasks.push(tokio::spawn(spend_until_refused(
            ledger.clone(),
            "race".into(),
            cost,
            limit,
        )));
    }
    let (mut reserved, mut refused) = (0, 0);
    for t in tasks {
        let (a, b) = t.await??;
        reserved += a;
        refused += b;
    }
    let spent = month_spent(ledger.as_ref(), "race").await?;
    assert!(
        spent <= limit + cost,
        "overspent: {spent} > {limit} + one reservation"
    );
    assert_eq!(reserved, 64, "exactly the budget was used");
    assert_eq!(refused, 64);
    Ok(())
}

// ---------------------------------------------------------------- answer cache

fn partition(tenant: &str, kb: u64) -> Partition {
    Partition {
        tenant: tenant.into(),
        principals: vec!["alice".into()],
        prompt_version: "qa@1".into(),
        kb_version: kb,
        model: "m".into(),
    }
}

pub fn answer(text: &str, cites: &[&str]) -> Answer {
    Answer {
        text: text.into(),
        citations: cites
            .iter()
            .enumerate()
            .map(|(i, c)| Citation {
                index: i as u32 + 1,
                chunk_id: c.to_string(),
                document_id: "d1".into(),
                title: "t".into(),
                snippet: "s".into(),
                score: 0.5,
            })
            .collect(),
        no_answer: false,
        kb_version: 1,
        prompt_version: "qa@1".into(),
        model: "m".into(),
        usage: Default::default(),
        cost: Default::default(),
        timings: Default::default(),
        verdicts: vec![],
        degraded: false,
        cache: CacheStatus::Miss,
        retrieved: cites.iter().map(|c| c.to_string()).collect(),
    }
}

fn unit(v: &[f32]) -> Vec<f32> {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter().map(|x| x / n).collect()
}

async fn look(
    cache: &AnswerCache,
    p: &Partition,
    q: &str,
    v: &[f32],
    visible: &[&str],
) -> Result<Option<(Answer, CacheStatus)>, Error> {
    let visible: Vec<String> = visible.iter().map(|s| s.to_string()).collect();
    cache
        .lookup(&LookupRequest {
            partition: p,
            question: q,
            vector: v,
            visible_chunks: &visible,
        })
        .await
}

/// Partition isolation, exact and semantic hits, opposite questions, TTL, citation checks,
/// invalidation and eviction, through [`AnswerCache`] over `store`.
pub async fn cache_store(store: Arc<dyn CacheStore>) -> R {
    let cache = AnswerCache::with_store(
        CacheConfig {
            ttl: Duration::from_secs(3600),
            semantic_threshold: Some(0.9),
            max_entries: 3,
        },
        store.clone(),
    );
    let acme = partition("acme", 1);
    let v = unit(&[1.0, 0.2, 0.0, 0.1]);
    let near = unit(&[1.0, 0.25, 0.0, 0.1]);
    let far = unit(&[0.0, 0.0, 1.0, 0.0]);
    cache
        .store(
            acme.clone(),
            "How do I return an item?",
            v.clone(),
            &answer("Within 7 days.", &["c1"]),
        )
        .await?;
    let hit = look(&cache, &acme, "how do i return an item", &far, &["c1"]).await?;
    let (a, status) = hit.ok_or("exact hit expected")?;
    assert_eq!(status, CacheStatus::ExactHit);
    assert_eq!(a.text, "Within 7 days.");
    assert_eq!(a.citations[0].chunk_id, "c1");
    // Other tenant, other principals, other KB version: never.
    for p in [
        partition("globex", 1),
        partition("acme", 2),
        Partition {
            principals: vec!["bob".into()],
            ..acme.clone()
        },
    ] {
        assert!(
            look(&cache, &p, "How do I return an item?", &v, &["c1"])
                .await?
                .is_none(),
            "{p:?}"
        );
    }
    // Semantic: a similar vector and the same polarity.
    let sem = look(&cache, &acme, "return procedure for items?", &near, &["c1"]).await?;
    assert_eq!(sem.map(|s| s.1), Some(CacheStatus::SemanticHit));
    assert!(look(&cache, &acme, "opening hours", &far, &["c1"])
        .await?
        .is_none());
    // The negated question with the very same vector is refused.
    let before = cache.stats().opposite_rejections;
    assert!(
        look(&cache, &acme, "How do I not return an item", &v, &["c1"])
            .await?
            .is_none()
    );
    cache
        .store(
            acme.clone(),
            "can I cancel my order",
            far.clone(),
            &answer("Yes.", &["c2"]),
        )
        .await?;
    assert!(look(
        &cache,
        &acme,
        "can't I cancel my order",
        &far,
        &["c1", "c2"]
    )
    .await?
    .is_none());
    assert_eq!(cache.stats().opposite_rejections, before + 2);
    // A cited chunk that is no longer visible drops the entry for good.
    assert!(look(&cache, &acme, "can I cancel my order", &far, &["c1"])
        .await?
        .is_none());
    assert!(
        look(&cache, &acme, "can I cancel my order", &far, &["c1", "c2"])
            .await?
            .is_none(),
        "dropped"
    );
    // Invalidation by chunk across partitions.
    let globex = partition("globex", 1);
    cache
        .store(
            globex.clone(),
            "refunds?",
            v.clone(),
            &answer("Yes", &["c9"]),
        )
        .await?;
    cache
        .store(acme.clone(), "refunds?", v.clone(), &answer("Yes", &["c9"]))
        .await?;
    assert_eq!(cache.invalidate_chunks(&["c9".to_string()]).await?, 2);
    assert!(look(&cache, &globex, "refunds?", &v, &["c9"])
        .await?
        .is_none());
    // Degraded answers and refusals are not stored.
    let mut degraded = answer("maybe", &["c1"]);
    degraded.degraded = true;
    cache
        .store(acme.clone(), "degraded question", vec![], &degraded)
        .await?;
    assert!(look(&cache, &acme, "degraded question", &[], &["c1"])
        .await?
        .is_none());
    // Eviction: at most 3 per partition, the oldest goes.
    let p3 = partition("evict", 1);
    for q in ["q one", "q two", "q three", "q four"] {
        cache.store(p3.clone(), q, vec![], &answer(q, &[])).await?;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(look(&cache, &p3, "q one", &[], &[]).await?.is_none());
    assert!(look(&cache, &p3, "q four", &[], &[]).await?.is_some());
    // Re-storing a question replaces its answer.
    cache
        .store(p3.clone(), "q four", vec![], &answer("new", &[]))
        .await?;
    let again = look(&cache, &p3, "q four", &[], &[]).await?;
    assert_eq!(again.map(|a| a.0.text), Some("new".to_string()));

    // TTL, over the same store.
    let short = AnswerCache::with_store(
        CacheConfig {
            ttl: Duration::from_millis(400),
            semantic_threshold: None,
            max_entries: 10,
        },
        store.clone(),
    );
    let pt = partition("ttl", 1);
    short
        .store(pt.clone(), "short lived", vec![], &answer("x", &[]))
        .await?;
    assert!(look(&short, &pt, "short lived", &[], &[]).await?.is_some());
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(look(&short, &pt, "short lived", &[], &[]).await?.is_none());
    let s = cache.stats();
    assert!(
        s.exact_hits >= 2 && s.semantic_hits == 1 && s.misses > 5,
        "{s:?}"
    );
    cache.clear().await?;
    assert!(look(&cache, &p3, "q four", &[], &[]).await?.is_none());
    Ok(())
}

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
