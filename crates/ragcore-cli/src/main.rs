//! The `ragcore` command: ingest files, ask questions, run the demo and evaluate retrieval.

mod cost;
mod demo;
mod eval;
mod eval_rerank;
mod golden_cmd;
mod knowledge;
mod local;
mod observe_cmd;
mod pg;
mod prompt_cmd;
mod render;
mod serve;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use ragcore::{AskRequest, IngestRequest, LocalOptions, Pipeline, Scope};

#[derive(Parser)]
#[command(
    name = "ragcore",
    version,
    about = "Operable retrieval-augmented QA: ingest, ask, evaluate."
)]
struct Cli {
    #[command(flatten)]
    database: pg::DatabaseArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
struct KbArgs {
    /// Knowledge base directory (created when missing).
    #[arg(long, env = "RAGCORE_KB", default_value = ".ragcore")]
    kb: PathBuf,
    /// Tenant whose documents are used.
    #[arg(long, env = "RAGCORE_TENANT", default_value = "default")]
    tenant: String,
}

#[derive(Subcommand)]
enum Command {
    /// Load files and directories (.txt .md .csv .jsonl) into the knowledge base.
    Ingest {
        #[command(flatten)]
        kb: KbArgs,
        /// Files or directories.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Restrict the ingested documents to these principals (repeatable).
        #[arg(long = "acl")]
        acl: Vec<String>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Make the tenant's knowledge base mirror a directory (new, changed and deleted files), as
    /// one new version; unchanged files cost nothing.
    Sync {
        #[command(flatten)]
        kb: KbArgs,
        /// The directory.
        dir: PathBuf,
        /// Restrict documents without their own ACL to these principals (repeatable).
        #[arg(long = "acl")]
        acl: Vec<String>,
        /// Commit nothing if any file fails to load.
        #[arg(long)]
        strict: bool,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// Keep running and sync again whenever a file under the directory changes.
        #[arg(long)]
        watch: bool,
    },
    /// Make the live documents equal those of an earlier version, as a new version.
    Rollback {
        #[command(flatten)]
        kb: KbArgs,
        /// The version to restore (see `ragcore versions`).
        version: u64,
        /// Roll back every tenant, not only --tenant.
        #[arg(long)]
        all_tenants: bool,
    },
    /// Re-embed every live chunk with the configured embedder (after changing it), in place.
    Reembed {
        #[command(flatten)]
        kb: KbArgs,
    },
    /// Daily top retrieval score, no-answer rate and centroid distance against a baseline, and
    /// the FAQ gaps (unanswered questions, grouped).
    Drift {
        #[command(flatten)]
        kb: KbArgs,
        /// Days in the recent window.
        #[arg(long, default_value_t = 7)]
        days: u32,
        /// Days in the baseline window before it.
        #[arg(long, default_value_t = 28)]
        baseline_days: u32,
        /// Last day of the recent window (YYYY-MM-DD, default today UTC).
        #[arg(long)]
        today: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// List the live documents of the tenant (id, version, source).
    Documents {
        #[command(flatten)]
        kb: KbArgs,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// List documents whose `valid_until` date has passed (front matter or a FAQ column).
    Stale {
        #[command(flatten)]
        kb: KbArgs,
    },
    /// List the knowledge-base versions.
    Versions {
        #[command(flatten)]
        kb: KbArgs,
    },
    /// Documents added, changed and removed between two versions.
    Diff {
        #[command(flatten)]
        kb: KbArgs,
        /// The older version.
        from: u64,
        /// The newer version.
        to: u64,
    },
    /// Compare ledger, chunks, vectors and indexes; `--repair` fixes what it can.
    Verify {
        #[command(flatten)]
        kb: KbArgs,
        /// Rebuild derived indexes and drop stray rows.
        #[arg(long)]
        repair: bool,
    },
    /// Answer a question with citations.
    Ask {
        #[command(flatten)]
        kb: KbArgs,
        /// The question.
        question: String,
        /// Principals of the asker (repeatable), checked against document ACLs.
        #[arg(long = "principal")]
        principals: Vec<String>,
        /// Print the answer as JSON.
        #[arg(long)]
        json: bool,
        /// Ask the question this many times in this one process (a load probe; with `--json`
        /// one answer per line).
        #[arg(long, default_value_t = 1)]
        repeat: u32,
    },
    /// Show the passages a question retrieves.
    Retrieve {
        #[command(flatten)]
        kb: KbArgs,
        /// The question.
        question: String,
        /// Principals of the asker (repeatable).
        #[arg(long = "principal")]
        principals: Vec<String>,
        /// Print the hits as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Summary of the knowledge base.
    Info {
        #[command(flatten)]
        kb: KbArgs,
    },
    /// Ingest the bundled sample FAQ into a fresh knowledge base and answer a few questions.
    Demo {
        /// Where to build the demo knowledge base (default: a temporary directory).
        #[arg(long)]
        kb: Option<PathBuf>,
    },
    /// Retrieval quality on a QA data set: recall@1, recall@5 and MRR@10 for BM25, vectors and fusion.
    RetrievalEval(eval::EvalArgs),
    /// Spend from the cost ledger, by tenant, model, day, feature or principal.
    Cost(cost::CostArgs),
    /// Prompt registry: list, show, diff, set, label, rollback, history, export, import, promote.
    Prompt(prompt_cmd::PromptArgs),
    /// Evaluate a golden set (JSONL): recall@k, MRR, nDCG, no-answer correctness, groundedness,
    /// citation precision, cost, latency; compare two prompts or configs; exit 1 on regression.
    Eval(golden_cmd::GoldenArgs),
    /// Prometheus text metrics replayed from the event log.
    Metrics(observe_cmd::MetricsArgs),
    /// The event log (one row per ask); `--jsonl` exports it.
    Events(observe_cmd::EventsArgs),
    /// Check alert rules over the event log; `--webhook URL` POSTs fired alerts.
    Alerts(observe_cmd::AlertsArgs),
    /// Write the dashboard: one self-contained HTML file.
    Report(observe_cmd::ReportArgs),
    /// Serve the knowledge base over HTTP (OpenAI-compatible gateway; see docs/server.md).
    Serve(serve::ServeArgs),
    /// Copy a local knowledge base into PostgreSQL (documents, chunks, vectors; nothing is
    /// re-embedded) as one new version, and check the counts (see docs/postgres.md).
    Migrate(pg::MigrateArgs),
}

fn scope(kb: &KbArgs, principals: Vec<String>) -> Scope {
    Scope::tenant(kb.tenant.clone()).with_principals(principals)
}

/// Opens a local knowledge base with the models configured in the environment.
pub(crate) async fn open(dir: &std::path::Path) -> Result<Pipeline> {
    if let Some(db) = pg::database() {
        return pg::open(db).await;
    }
    let prices = match std::env::var_os("RAGCORE_PRICES") {
        Some(path) => Some(ragcore::PriceTable::with_overrides(std::path::Path::new(
            &path,
        ))?),
        None => None,
    };
    let opts = LocalOptions {
        embedder: ragcore::embedder_from_env()?,
        chat: ragcore::chat_from_env()?,
        prices,
        ..Default::default()
    };
    Pipeline::open_local(dir, opts)
        .await
        .with_context(|| format!("opening knowledge base {}", dir.display()))
}

async fn run(cli: Cli) -> Result<()> {
    pg::set_database(cli.database)?;
    match cli.command {
        Command::Ingest {
            kb,
            paths,
            acl,
            json,
        } => {
            let p = open(&kb.kb).await?;
            let bar = ProgressBar::new(0);
            bar.set_style(ProgressStyle::with_template(
                "{spinner} {bar:30} {pos}/{len} documents {msg}",
            )?);
            bar.enable_steady_tick(Duration::from_millis(120));
            let mut req = IngestRequest::paths(kb.tenant.clone(), paths);
            req.acl = acl;
            let b2 = bar.clone();
            let report = p
                .ingest_with_progress(req, move |done, total| {
                    b2.set_length(total);
                    b2.set_position(done);
                })
                .await?;
            bar.finish_and_clear();
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                render::ingest_report(&report);
            }
            if report.documents_seen == 0 && !report.errors.is_empty() {
                anyhow::bail!("nothing was ingested");
            }
        }
        Command::Sync {
            kb,
            dir,
            acl,
            strict,
            json,
            watch,
        } => {
            let req = ragcore::pipeline::SyncRequest {
                root: dir,
                tenant: kb.tenant.clone(),
                acl,
                strict,
            };
            if watch {
                return knowledge::watch(&kb.kb, req, json).await;
            }
            let p = open(&kb.kb).await?;
            let report = p.sync(req).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                render::ingest_report(&report);
            }
            if strict && !report.errors.is_empty() {
                anyhow::bail!(
                    "strict sync: {} file(s) failed, nothing was committed",
                    report.errors.len()
                );
            }
        }
        Command::Rollback {
            kb,
            version,
            all_tenants,
        } => {
            knowledge::rollback(
                &kb.kb,
                (!all_tenants).then_some(kb.tenant.as_str()),
                version,
            )
            .await?
        }
        Command::Reembed { kb } => knowledge::reembed(&kb.kb).await?,
        Command::Drift {
            kb,
            days,
            baseline_days,
            today,
            json,
        } => knowledge::drift(&kb.kb, &kb.tenant, days, baseline_days, today, json).await?,
        Command::Documents { kb, json } => {
            let p = open(&kb.kb).await?;
            let docs = p.store().documents(&kb.tenant).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&docs)?);
            } else {
                for d in docs {
                    println!("{}\tv{}\t{}", d.id, d.version, d.source);
                }
            }
        }
        Command::Stale { kb } => {
            let p = open(&kb.kb).await?;
            let today = ragcore::types::today();
            let mut n = 0;
            for d in p.store().documents(&kb.tenant).await? {
                if let Some(v) = d.valid_until.as_deref().filter(|v| *v < today.as_str()) {
                    println!("{}\tvalid until {v}\t{}", d.id, d.source);
                    n += 1;
                }
            }
            eprintln!("{n} stale document(s) as of {today}");
        }
        Command::Versions { kb } => {
            let p = open(&kb.kb).await?;
            for v in p.store().versions().await? {
                println!(
                    "v{:<4} {}  {:<7} +{} ~{} -{}",
                    v.version,
                    v.created_at,
                    v.note,
                    v.documents_added,
                    v.documents_changed,
                    v.documents_removed
                );
            }
        }
        Command::Diff { kb, from, to } => {
            let p = open(&kb.kb).await?;
            let d = p.store().diff(&kb.tenant, from, to).await?;
            println!("{}", serde_json::to_string_pretty(&d)?);
        }
        Command::Verify { kb, repair } => {
            let p = open(&kb.kb).await?;
            let report = if repair {
                p.store().repair().await?
            } else {
                p.store().verify().await?
            };
            println!("{}", serde_json::to_string_pretty(&report)?);
            if !report.is_consistent() {
                anyhow::bail!(
                    "the knowledge base is inconsistent{}",
                    if repair {
                        " after repair: re-sync the listed documents"
                    } else {
                        "; run `ragcore verify --repair`"
                    }
                );
            }
        }
        Command::Ask {
            kb,
            question,
            principals,
            json,
            repeat,
        } => {
            let p = open(&kb.kb).await?;
            let scope = scope(&kb, principals);
            for _ in 0..repeat.max(1) {
                let answer = p
                    .ask(AskRequest::new(question.clone(), scope.clone()))
                    .await?;
                if json && repeat > 1 {
                    println!("{}", serde_json::to_string(&answer)?);
                } else if json {
                    println!("{}", serde_json::to_string_pretty(&answer)?);
                } else {
                    render::answer(&answer);
                }
            }
        }
        Command::Retrieve {
            kb,
            question,
            principals,
            json,
        } => {
            let p = open(&kb.kb).await?;
            let hits = p.retrieve(&question, &scope(&kb, principals)).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&hits)?);
            } else {
                for (i, h) in hits.iter().enumerate() {
                    println!(
                        "{:>2}. {:.4}  {}  [{}]",
                        i + 1,
                        h.score,
                        h.title,
                        h.chunk_id
                    );
                }
            }
        }
        Command::Info { kb } => {
            let p = open(&kb.kb).await?;
            let info = p.store().info().await?;
            println!("{}", serde_json::to_string_pretty(&info)?);
        }
        Command::Demo { kb } => demo::run(kb).await?,
        Command::RetrievalEval(args) => eval::run(args).await?,
        Command::Cost(args) => cost::run(args).await?,
        Command::Prompt(args) => prompt_cmd::run(args).await?,
        Command::Eval(args) => golden_cmd::run(args).await?,
        Command::Metrics(args) => observe_cmd::metrics(args).await?,
        Command::Events(args) => observe_cmd::events_cmd(args).await?,
        Command::Alerts(args) => observe_cmd::alerts(args).await?,
        Command::Report(args) => observe_cmd::report(args).await?,
        Command::Serve(args) => serve::run(args).await?,
        Command::Migrate(args) => pg::migrate(args).await?,
    }
    Ok(())
}

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("RAGCORE_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
