//! `ragcore eval GOLDEN.jsonl`: a golden set through the pipeline; two prompt versions or two
//! configs side by side; a saved baseline report for CI; exit 1 on a regression.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
use ragcore::eval::{compare, evaluate, read_golden, EvalOptions, EvalReport, Tolerance};
use ragcore::{Document, IngestRequest, Pipeline, PipelineConfig};
use serde::Deserialize;

use crate::KbArgs;

#[derive(Args)]
pub(crate) struct GoldenArgs {
    #[command(flatten)]
    kb: KbArgs,
    /// The golden set (JSONL; format in docs/evaluation.md).
    golden: PathBuf,
    /// Build a fresh knowledge base from this corpus ({id, title, text} per line) in a
    /// temporary directory instead of using --kb.
    #[arg(long)]
    corpus: Option<PathBuf>,
    /// Prompt label or `@N` (version N) to evaluate.
    #[arg(long, default_value = "production")]
    prompt: String,
    /// Prompt name.
    #[arg(long, default_value = "qa")]
    prompt_name: String,
    /// Pipeline settings overrides (JSON, any subset of the config).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Also run with this prompt label / `@N` as the baseline and compare.
    #[arg(long)]
    against_prompt: Option<String>,
    /// Also run with these settings as the baseline and compare.
    #[arg(long)]
    against_config: Option<PathBuf>,
    /// Compare with a report saved earlier by --save-report (CI: commit the baseline).
    #[arg(long)]
    baseline_report: Option<PathBuf>,
    /// Save this run's report (JSON).
    #[arg(long)]
    save_report: Option<PathBuf>,
    /// Largest allowed drop of a quality metric (absolute).
    #[arg(long, default_value_t = 0.02)]
    tolerance: f64,
    /// Largest allowed rise of cost per question (relative).
    #[arg(long, default_value_t = 0.25)]
    cost_tolerance: f64,
    /// Largest allowed rise of p95 latency (relative); not gated when omitted.
    #[arg(long)]
    latency_tolerance: Option<f64>,
    /// k of recall@k and nDCG@k.
    #[arg(long, default_value_t = 5)]
    k: usize,
    /// Print the reports as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Deserialize)]
struct CorpusRow {
    id: String,
    #[serde(default)]
    title: String,
    text: String,
}

async fn build_corpus(dir: &std::path::Path, corpus: &std::path::Path, tenant: &str) -> Result<()> {
    let text =
        std::fs::read_to_string(corpus).with_context(|| format!("reading {}", corpus.display()))?;
    let mut docs = Vec::new();
    for (i, l) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let r: CorpusRow = serde_json::from_str(l)
            .with_context(|| format!("{} line {}", corpus.display(), i + 1))?;
        let mut d = Document::new(r.id.clone(), r.text);
        d.title = if r.title.is_empty() { r.id } else { r.title };
        docs.push(d);
    }
    let p = crate::local::open_with(dir, PipelineConfig::default(), false).await?;
    p.ingest(IngestRequest::documents(tenant.to_string(), docs))
        .await?;
    Ok(())
}

async fn run_one(
    args: &GoldenArgs,
    dir: &std::path::Path,
    prompt: &str,
    config: Option<&std::path::Path>,
    label: String,
    cases: &[ragcore::eval::GoldenCase],
) -> Result<EvalReport> {
    let mut cfg = crate::local::config_from(config)?;
    cfg.prompt_name = args.prompt_name.clone();
    cfg.prompt_label = prompt.to_string();
    let p: Pipeline = crate::local::open_with(dir, cfg, false).await?;
    Ok(evaluate(
        &p,
        cases,
        &EvalOptions {
            k: args.k,
            label,
            tenant: args.kb.tenant.clone(),
        },
    )
    .await?)
}

pub(crate) async fn run(args: GoldenArgs) -> Result<()> {
    let cases = read_golden(&args.golden)?;
    let dir = match &args.corpus {
        Some(c) => {
            let d = tempfile_dir()?;
            build_corpus(&d, c, &args.kb.tenant).await?;
            d
        }
        None => args.kb.kb.clone(),
    };
    let name = |prompt: &str, cfg: &Option<PathBuf>| match cfg {
        Some(c) => format!("{prompt} + {}", c.display()),
        None => prompt.to_string(),
    };
    let report = run_one(
        &args,
        &dir,
        &args.prompt,
        args.config.as_deref(),
        name(&args.prompt, &args.config),
        &cases,
    )
    .await?;
    let baseline = if args.against_prompt.is_some() || args.against_config.is_some() {
        let p = args
            .against_prompt
            .clone()
            .unwrap_or_else(|| args.prompt.clone());
        let c = args.against_config.clone().or_else(|| args.config.clone());
        Some(run_one(&args, &dir, &p, c.as_deref(), name(&p, &c), &cases).await?)
    } else if let Some(path) = &args.baseline_report {
        let t =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        Some(
            serde_json::from_str::<EvalReport>(&t)
                .with_context(|| format!("{} is not a saved report", path.display()))?,
        )
    } else {
        None
    };
    if let Some(path) = &args.save_report {
        std::fs::write(path, serde_json::to_string_pretty(&report)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if args.corpus.is_some() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    let Some(base) = baseline else {
        if args.json {
            println!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            println!(
                "{} cases, prompt {}\n",
                report.cases,
                report.prompt_versions.join(", ")
            );
            print!("{}", report.to_markdown());
        }
        return Ok(());
    };
    let cmp = compare(
        &base,
        &report,
        &Tolerance {
            quality: args.tolerance,
            cost_ratio: Some(args.cost_tolerance),
            latency_ratio: args.latency_tolerance,
            ..Default::default()
        },
    );
    if args.json {
        println!("{}", serde_json::to_string_pretty(&cmp)?);
    } else {
        println!("{} cases\n", report.cases);
        print!("{}", cmp.to_markdown());
    }
    let regressions = cmp.regression_summary();
    if !regressions.is_empty() {
        bail!(
            "{} regressed against {}: {}",
            cmp.candidate,
            cmp.baseline,
            regressions.join("; ")
        );
    }
    Ok(())
}

fn tempfile_dir() -> Result<PathBuf> {
    let d = std::env::temp_dir().join(format!(
        "ragcore-golden-{}-{}",
        std::process::id(),
        ragcore::observe::now_ms()
    ));
    std::fs::create_dir_all(&d)?;
    Ok(d)
}
