//! `ragcore metrics | events | alerts | report`: the event log of a knowledge base replayed into
//! metrics, exported as JSONL, checked against alert rules (webhook), or drawn as a dashboard.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Args;
use ragcore::observe::{
    events_to_jsonl, render_report, Alert, AlertEngine, AlertRule, AlertSink, AskEvent,
    CallbackSink, EventLog, ListEventsRequest, Metrics, ReportInput, SqliteEventLog, StaleDocument,
    WebhookSink,
};

use crate::KbArgs;

#[derive(Args)]
pub(crate) struct MetricsArgs {
    #[command(flatten)]
    kb: KbArgs,
    /// Only events of the last N hours.
    #[arg(long)]
    hours: Option<f64>,
}

#[derive(Args)]
pub(crate) struct EventsArgs {
    #[command(flatten)]
    kb: KbArgs,
    /// Print JSON Lines (one event per line).
    #[arg(long)]
    jsonl: bool,
    /// Only this tenant's events (default: all tenants).
    #[arg(long = "only-tenant")]
    only_tenant: Option<String>,
    /// The newest N events.
    #[arg(long)]
    limit: Option<usize>,
}

#[derive(Args)]
pub(crate) struct AlertsArgs {
    #[command(flatten)]
    kb: KbArgs,
    /// Rules (JSON list); default: the built-in rules.
    #[arg(long)]
    rules: Option<PathBuf>,
    /// POST each fired alert as JSON to this URL.
    #[arg(long)]
    webhook: Option<String>,
    /// Only events of the last N hours.
    #[arg(long)]
    hours: Option<f64>,
}

#[derive(Args)]
pub(crate) struct ReportArgs {
    #[command(flatten)]
    kb: KbArgs,
    /// The HTML file to write.
    #[arg(long)]
    out: PathBuf,
    /// Alert rules (JSON list) replayed for the "fired alerts" table; default: built-in rules.
    #[arg(long)]
    rules: Option<PathBuf>,
}

async fn events(
    kb: &KbArgs,
    hours: Option<f64>,
    tenant: Option<String>,
    limit: Option<usize>,
) -> Result<Vec<AskEvent>> {
    if !kb.kb.join("kb.sqlite").exists() {
        anyhow::bail!(
            "no knowledge base at {} (nothing was ingested or asked yet)",
            kb.kb.display()
        );
    }
    let log = SqliteEventLog::open_kb_dir(&kb.kb)?;
    let since_ms = hours.map(|h| ragcore::observe::now_ms() - (h * 3_600_000.0) as i64);
    Ok(log
        .list(ListEventsRequest {
            tenant,
            since_ms,
            limit,
        })
        .await?)
}

fn rules(path: &Option<PathBuf>) -> Result<Vec<AlertRule>> {
    match path {
        Some(p) => {
            let t =
                std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            Ok(AlertRule::parse_json(&t).with_context(|| format!("in {}", p.display()))?)
        }
        None => Ok(AlertRule::defaults()),
    }
}

async fn replay_alerts(
    evs: &[AskEvent],
    rules: Vec<AlertRule>,
    sinks: Vec<Arc<dyn AlertSink>>,
) -> Result<Vec<Alert>> {
    let engine = AlertEngine::new(rules, sinks);
    for e in evs {
        engine.observe(e).await?;
    }
    Ok(engine.fired()?)
}

pub(crate) async fn metrics(args: MetricsArgs) -> Result<()> {
    let m = Metrics::default();
    for e in events(&args.kb, args.hours, None, None).await? {
        m.observe(&e)?;
    }
    print!("{}", m.render()?);
    Ok(())
}

pub(crate) async fn events_cmd(args: EventsArgs) -> Result<()> {
    let evs = events(&args.kb, None, args.only_tenant, args.limit).await?;
    if args.jsonl {
        print!("{}", events_to_jsonl(&evs)?);
    } else {
        for e in &evs {
            println!(
                "{}\t{}\t{}\t{}\t{}\t${:.6}\t{:.1} ms\t{}",
                e.request_id,
                e.tenant,
                e.outcome,
                e.prompt_version,
                e.kb_version,
                e.cost_usd,
                e.latency_ms,
                e.question
            );
        }
    }
    Ok(())
}

pub(crate) async fn alerts(args: AlertsArgs) -> Result<()> {
    let evs = events(&args.kb, args.hours, None, None).await?;
    let mut sinks: Vec<Arc<dyn AlertSink>> = vec![Arc::new(CallbackSink(|a: &Alert| {
        println!(
            "ALERT {}: {} = {:.4} > {} ({} events in {} s)",
            a.rule, a.metric, a.value, a.threshold, a.events, a.window_secs
        );
    }))];
    if let Some(url) = &args.webhook {
        sinks.push(Arc::new(WebhookSink::new(url.clone())?));
    }
    let fired = replay_alerts(&evs, rules(&args.rules)?, sinks).await?;
    eprintln!(
        "{} event(s) checked, {} alert(s) fired",
        evs.len(),
        fired.len()
    );
    Ok(())
}

pub(crate) async fn report(args: ReportArgs) -> Result<()> {
    let evs = events(&args.kb, None, None, None).await?;
    let alerts = replay_alerts(&evs, rules(&args.rules)?, Vec::new()).await?;
    let p = crate::open(&args.kb.kb).await?;
    let today = ragcore::types::today();
    let mut tenants: BTreeSet<String> = evs.iter().map(|e| e.tenant.clone()).collect();
    tenants.insert(args.kb.tenant.clone());
    let mut stale = Vec::new();
    for t in &tenants {
        let Ok(docs) = p.store().documents(t).await else {
            continue;
        };
        for d in docs {
            if let Some(v) = d.valid_until.as_deref().filter(|v| *v < today.as_str()) {
                stale.push(StaleDocument {
                    tenant: t.clone(),
                    id: d.id.clone(),
                    valid_until: v.to_string(),
                    source: d.source.clone(),
                });
            }
        }
    }
    let html = render_report(&ReportInput {
        title: format!("ragcore report — {}", args.kb.kb.display()),
        events: evs,
        stale,
        alerts,
        generated_at: today,
    })?;
    std::fs::write(&args.out, html).with_context(|| format!("writing {}", args.out.display()))?;
    eprintln!("wrote {}", args.out.display());
    Ok(())
}
