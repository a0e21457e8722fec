//! The cost ledger and budget conformance test, and the spender loop the cross-process test
//! reuses.

use std::sync::Arc;

use ragcore::cost::{
    now_ms, BudgetCheck, CostLedger, Dimension, LedgerEntry, Period, ReportBy, ReportRequest,
    ReserveOutcome, ReserveRequest, SettleRequest, SpentRequest,
};
use ragcore::types::Usage;
use ragcore::Error;

use super::R;

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
