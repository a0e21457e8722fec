//! `ragcore cost`: spend from the knowledge base's cost ledger, grouped by tenant, model, day,
//! feature or user.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use ragcore::cost::{ReportBy, ReportRequest};

/// Arguments of `ragcore cost`.
#[derive(Args, Clone)]
pub(crate) struct CostArgs {
    /// Knowledge base directory.
    #[arg(long, env = "RAGCORE_KB", default_value = ".ragcore")]
    kb: PathBuf,
    /// Group by tenant, model, day, feature or principal.
    #[arg(long, default_value = "tenant")]
    by: String,
    /// Only this tenant.
    #[arg(long)]
    tenant: Option<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub(crate) async fn run(args: CostArgs) -> Result<()> {
    let by = ReportBy::parse(&args.by)?;
    let p = crate::open(&args.kb).await?;
    let budgets = p
        .budgets()
        .context("this knowledge base has no cost ledger")?;
    let rows = budgets
        .ledger()
        .report(ReportRequest {
            by,
            tenant: args.tenant,
            since_ms: None,
        })
        .await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    println!(
        "{:<28} {:>8} {:>10} {:>10} {:>10} {:>10} {:>12}",
        args.by, "calls", "prompt", "cached", "output", "embed", "cost_usd"
    );
    let mut total = 0.0;
    for r in &rows {
        total += r.cost_usd;
        println!(
            "{:<28} {:>8} {:>10} {:>10} {:>10} {:>10} {:>12.6}{}",
            r.key,
            r.requests,
            r.usage.prompt_tokens,
            r.usage.cached_prompt_tokens,
            r.usage.completion_tokens,
            r.usage.embedding_tokens,
            r.cost_usd,
            if r.usage.estimated {
                "  (estimated)"
            } else {
                ""
            }
        );
    }
    println!("{:<28} {:>80.6}", "total", total);
    Ok(())
}
