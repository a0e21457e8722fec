//! Budgets, reservations, rate limits and the cost ledger: 64 concurrent spenders on one budget
//! (two SQLite connections) overspend by at most one reservation; hard limits error or degrade by
//! policy with a clear message; soft limits alert once; RPM limits per user; per-feature budgets.

mod support;

use std::sync::{Arc, Mutex};

use ragcore::cost::{
    AdmitRequest, BudgetConfig, BudgetRule, Budgets, CostLedger, Dimension, OverBudget, Period,
    RateLimit, ReportBy, ReportRequest, Spender, SpentCall, SqliteCostLedger,
};
use ragcore::{
    AskRequest, Endpoint, Error, ErrorKind, LocalOptions, OpenAiChat, OpenAiChatConfig, Pipeline,
    PriceTable, Scope, Usage,
};
use support::openai_server::TestServer;
use support::{faq, ingest};

type R = Result<(), Box<dyn std::error::Error>>;

const QUESTION: &str = "How many days do I have to return a product?";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_concurrent_spenders_overspend_by_at_most_one_reservation() -> R {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("kb.sqlite");
    // Two connections (as two processes would have) to one ledger file.
    let ledgers: [Arc<dyn CostLedger>; 2] = [
        Arc::new(SqliteCostLedger::open(&db)?),
        Arc::new(SqliteCostLedger::open(&db)?),
    ];
    let prices = PriceTable::from_toml(
        "version='t'\n[models.m]\ninput_per_million=1.0\noutput_per_million=1.0\n",
        "t",
    )?;
    let limit = 1.005;
    let make = |l: Arc<dyn CostLedger>| -> ragcore::Result<Arc<Budgets>> {
        Ok(Arc::new(Budgets::new(l, prices.clone()).rule(
            BudgetRule::only(Dimension::Tenant, "acme", Period::Month).hard(limit),
        )?))
    };
    let budgets = [make(ledgers[0].clone())?, make(ledgers[1].clone())?];
    // Each call reserves 9,000 prompt + 1,000 output tokens = $0.01 and spends exactly that.
    let estimate = 0.01;
    let mut tasks = Vec::new();
    for i in 0..64 {
        let b = budgets[i % 2].clone();
        tasks.push(tokio::spawn(async move {
            let spender = Spender::new(
                &Scope::tenant("acme").with_principals([format!("u{i}")]),
                None,
            );
            let mut admitted = 0u32;
            loop {
                let req = AdmitRequest {
                    spender: spender.clone(),
                    model: "m".into(),
                    prompt_tokens: 9_000,
                    max_output_tokens: 1_000,
                };
                match b.admit(req).await {
                    Ok(a) => {
                        assert!((a.estimate_usd - 0.01).abs() < 1e-12);
                        admitted += 1;
                        tokio::task::yield_now().await;
                        b.settle(
                            &spender,
                            Some(&a),
                            vec![SpentCall {
                                model: "m".into(),
                                usage: Usage {
                                    prompt_tokens: 9_000,
                                    completion_tokens: 1_000,
                                    ..Default::default()
                                },
                                cost_usd: 0.01,
                            }],
                        )
                        .await?;
                    }
                    Err(Error::BudgetExceeded { .. }) => return Ok::<u32, Error>(admitted),
                    Err(e) => return Err(e),
                }
            }
        }));
    }
    let mut admitted = 0;
    for t in tasks {
        admitted += t.await??;
    }
    let rows = ledgers[0]
        .report(ReportRequest {
            by: ReportBy::Tenant,
            tenant: None,
            since_ms: None,
        })
        .await?;
    let spent = rows[0].cost_usd;
    assert_eq!(admitted, 100, "exactly the reservations that fit");
    assert_eq!(rows[0].requests, 100);
    assert!(spent <= limit + estimate, "overspent: {spent}");
    Ok(())
}

async fn pipeline(
    server: &TestServer,
    dir: &std::path::Path,
    budgets: BudgetConfig,
) -> ragcore::Result<Pipeline> {
    let chat = OpenAiChat::new(OpenAiChatConfig::new(
        Endpoint::new(server.base_url.clone(), None),
        "gpt-4o-mini",
    ))?;
    let p = Pipeline::open_local(
        dir,
        LocalOptions {
            chat: Some(Arc::new(chat)),
            budgets,
            ..Default::default()
        },
    )
    .await?;
    for t in ["acme", "globex"] {
        ingest(
            &p,
            t,
            vec![faq(
                "ret",
                QUESTION,
                "Returns are accepted within 7 days of delivery.",
            )],
        )
        .await?;
    }
    Ok(p)
}

#[tokio::test]
async fn a_hard_limit_errors_with_budget_spent_limit_and_reset() -> R {
    let server = TestServer::start(8).await?;
    let dir = tempfile::tempdir()?;
    let alerts = Arc::new(Mutex::new(Vec::new()));
    let sink = alerts.clone();
    let p = pipeline(
        &server,
        dir.path(),
        BudgetConfig {
            rules: vec![
                BudgetRule::only(Dimension::Tenant, "globex", Period::Day).hard(0.0),
                BudgetRule::each(Dimension::Tenant, Period::Month).soft(0.00001),
            ],
            on_alert: Some(Arc::new(move |a| {
                if let Ok(mut v) = sink.lock() {
                    v.push(a.clone());
                }
            })),
            ..Default::default()
        },
    )
    .await?;
    let e = p
        .ask(AskRequest::new(QUESTION, Scope::tenant("globex")))
        .await
        .err()
        .ok_or("globex has no budget")?;
    assert_eq!(e.kind(), ErrorKind::BudgetExceeded);
    let msg = e.to_string();
    assert!(msg.contains("tenant globex per day"), "{msg}");
    assert!(msg.contains("spent $0.000000 of $0.000000"), "{msg}");
    assert!(
        msg.contains("resets at") && msg.contains("T00:00:00Z"),
        "{msg}"
    );
    assert_eq!(server.request_count(), 0, "no model call");
    // Other tenants are not limited; the soft limit alerts once when crossed.
    for _ in 0..3 {
        let a = p
            .ask(AskRequest::new(QUESTION, Scope::tenant("acme")))
            .await?;
        assert!(!a.degraded);
    }
    let alerts = alerts.lock().map_err(|_| "lock")?.clone();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0].budget, "tenant acme per month");
    assert!(alerts[0].spent_usd >= 0.00001 && alerts[0].soft_limit_usd == 0.00001);
    // The knowledge base is intact.
    assert_eq!(
        p.retrieve(QUESTION, &Scope::tenant("globex")).await?.len(),
        1
    );
    Ok(())
}

#[tokio::test]
async fn the_degrade_policy_answers_extractively_when_over_budget() -> R {
    let server = TestServer::start(8).await?;
    let dir = tempfile::tempdir()?;
    let p = pipeline(
        &server,
        dir.path(),
        BudgetConfig {
            rules: vec![BudgetRule::only(Dimension::Feature, "widget", Period::Month).hard(0.0)],
            over_budget: OverBudget::Degrade,
            ..Default::default()
        },
    )
    .await?;
    let a = p
        .ask(AskRequest::new(QUESTION, Scope::tenant("acme")).with_feature("widget"))
        .await?;
    assert!(a.degraded && a.model == "extractive", "{a:?}");
    assert!(a
        .verdicts
        .iter()
        .any(|v| v.name == "budget" && v.detail.contains("feature widget per month")));
    assert_eq!(a.cost.input_usd + a.cost.output_usd, 0.0);
    assert_eq!(server.request_count(), 0);
    // Another feature is not limited.
    let a = p
        .ask(AskRequest::new(QUESTION, Scope::tenant("acme")).with_feature("search"))
        .await?;
    assert!(!a.degraded && a.model == "gpt-4o-mini");
    let rows = p
        .budgets()
        .ok_or("no budgets")?
        .ledger()
        .report(ReportRequest {
            by: ReportBy::Feature,
            tenant: None,
            since_ms: None,
        })
        .await?;
    let keys: Vec<&str> = rows.iter().map(|r| r.key.as_str()).collect();
    assert_eq!(keys, ["search", "widget"], "costly first");
    Ok(())
}

#[tokio::test]
async fn requests_per_minute_are_limited_per_user() -> R {
    let server = TestServer::start(8).await?;
    let dir = tempfile::tempdir()?;
    let p = pipeline(
        &server,
        dir.path(),
        BudgetConfig {
            rate_limits: vec![RateLimit {
                dimension: Dimension::Principal,
                value: None,
                rpm: Some(2),
                tpm: None,
            }],
            ..Default::default()
        },
    )
    .await?;
    let alice = Scope::tenant("acme").with_principals(["alice"]);
    let bob = Scope::tenant("acme").with_principals(["bob"]);
    p.ask(AskRequest::new(QUESTION, alice.clone())).await?;
    p.ask(AskRequest::new(QUESTION, alice.clone())).await?;
    let e = p
        .ask(AskRequest::new(QUESTION, alice))
        .await
        .err()
        .ok_or("third request in a minute")?;
    assert_eq!(e.kind(), ErrorKind::BudgetExceeded);
    assert!(
        e.to_string()
            .contains("principal alice at 2 requests/minute")
            && e.to_string().contains("retry in"),
        "{e}"
    );
    p.ask(AskRequest::new(QUESTION, bob)).await?;
    // A request larger than the whole TPM allowance is refused with what to do.
    let rl = ragcore::cost::RateLimits::new(vec![RateLimit {
        dimension: Dimension::Tenant,
        value: None,
        rpm: None,
        tpm: Some(100),
    }])?;
    let e = rl.check(|_| "acme".into(), 1_000).err().ok_or("too big")?;
    assert!(e.to_string().contains("lower max_tokens"), "{e}");
    rl.check(|_| "acme".into(), 60)?;
    assert!(
        rl.check(|_| "acme".into(), 60).is_err(),
        "the minute's tokens are used up"
    );
    Ok(())
}
