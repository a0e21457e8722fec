//! `ragcore prompt ...`: the prompt registry from the command line.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use ragcore::eval::{promote, read_golden, EvalOptions, PromoteRequest, Tolerance};
use ragcore::prompt::{
    diff_versions, export_prompts, import_prompts, BundleFormat, GetPromptRequest,
    GetVersionRequest, LabelHistoryRequest, PromoteLabelRequest, PromptBundle, PromptRegistry,
    RollbackRequest, SavePromptRequest, SetLabelRequest,
};
use ragcore::PipelineConfig;

use crate::KbArgs;

#[derive(Args)]
pub(crate) struct PromptArgs {
    #[command(subcommand)]
    command: PromptCommand,
}

#[derive(Subcommand)]
enum PromptCommand {
    /// Every version of every prompt with its labels.
    List {
        #[command(flatten)]
        kb: KbArgs,
    },
    /// One version: by number or content hash, or the one a label points at.
    Show {
        #[command(flatten)]
        kb: KbArgs,
        /// Prompt name.
        name: String,
        /// Version number or content-hash prefix (default: the `production` label).
        reference: Option<String>,
        /// Show the version this label points at.
        #[arg(long)]
        label: Option<String>,
    },
    /// Line diff of two versions.
    Diff {
        #[command(flatten)]
        kb: KbArgs,
        /// Prompt name.
        name: String,
        /// Older version (number or hash).
        a: String,
        /// Newer version (number or hash).
        b: String,
    },
    /// Save a new version from template files (checked before anything is stored).
    Set {
        #[command(flatten)]
        kb: KbArgs,
        /// Prompt name.
        name: String,
        /// File with the system template.
        #[arg(long)]
        system: PathBuf,
        /// File with the user template.
        #[arg(long)]
        user: PathBuf,
        /// Labels to point at it (repeatable; protected labels need `promote`).
        #[arg(long = "label")]
        labels: Vec<String>,
    },
    /// Point a label at a version.
    Label {
        #[command(flatten)]
        kb: KbArgs,
        /// Prompt name.
        name: String,
        /// The label.
        label: String,
        /// The version.
        version: u32,
        /// Move a protected label without the golden-set gate (recorded as forced).
        #[arg(long)]
        force: bool,
    },
    /// Move a label back to the version before its last move.
    Rollback {
        #[command(flatten)]
        kb: KbArgs,
        /// Prompt name.
        name: String,
        /// The label.
        label: String,
    },
    /// The moves of a label.
    History {
        #[command(flatten)]
        kb: KbArgs,
        /// Prompt name.
        name: String,
        /// The label.
        label: String,
    },
    /// Write every version and label to a YAML (default) or JSON file, for git.
    Export {
        #[command(flatten)]
        kb: KbArgs,
        /// Output file (`.json` writes JSON); stdout when omitted.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Format for stdout: yaml or json.
        #[arg(long, default_value = "yaml")]
        format: String,
    },
    /// Read versions and labels from an exported file (same content = same version).
    Import {
        #[command(flatten)]
        kb: KbArgs,
        /// The file (.yaml, .yml or .json).
        file: PathBuf,
        /// Also move protected labels named in the file.
        #[arg(long)]
        allow_protected: bool,
    },
    /// Move a version to a protected label after the golden set shows no regression against
    /// the label's current version; refuses (exit 1) and names the metrics otherwise.
    Promote {
        #[command(flatten)]
        kb: KbArgs,
        /// Prompt name.
        name: String,
        /// Candidate version.
        version: u32,
        /// Label to move.
        #[arg(long = "to", default_value = "production")]
        to: String,
        /// The golden set (JSONL, see docs/evaluation.md).
        #[arg(long)]
        golden: PathBuf,
        /// Largest allowed drop of a quality metric (absolute).
        #[arg(long, default_value_t = 0.02)]
        tolerance: f64,
        /// Largest allowed rise of cost per question (relative).
        #[arg(long, default_value_t = 0.25)]
        cost_tolerance: f64,
        /// k of recall@k and nDCG@k.
        #[arg(long, default_value_t = 5)]
        k: usize,
    },
}

async fn registry(kb: &KbArgs) -> Result<std::sync::Arc<dyn PromptRegistry>> {
    let p = crate::local::open_with(&kb.kb, PipelineConfig::default(), false).await?;
    Ok(p.prompts().clone())
}

async fn version(
    reg: &dyn PromptRegistry,
    name: &str,
    r: &str,
) -> Result<ragcore::prompt::PromptVersion> {
    Ok(reg
        .version(GetVersionRequest {
            name: name.into(),
            reference: r.into(),
        })
        .await?)
}

pub(crate) async fn run(args: PromptArgs) -> Result<()> {
    match args.command {
        PromptCommand::List { kb } => {
            let reg = registry(&kb).await?;
            for p in reg.list().await? {
                println!("{}\t{}\t[{}]", p.id(), p.hash, p.labels.join(", "));
            }
            println!(
                "protected labels: {}",
                reg.protected_labels().await?.join(", ")
            );
        }
        PromptCommand::Show {
            kb,
            name,
            reference,
            label,
        } => {
            let reg = registry(&kb).await?;
            let p = match (reference, label) {
                (Some(r), _) => version(reg.as_ref(), &name, &r).await?,
                (None, l) => {
                    reg.get(GetPromptRequest {
                        name,
                        label: l.unwrap_or_else(|| "production".into()),
                    })
                    .await?
                }
            };
            println!(
                "{} hash {} labels [{}]\n--- system\n{}\n--- user\n{}",
                p.id(),
                p.hash,
                p.labels.join(", "),
                p.system,
                p.user
            );
        }
        PromptCommand::Diff { kb, name, a, b } => {
            let reg = registry(&kb).await?;
            let (va, vb) = (
                version(reg.as_ref(), &name, &a).await?,
                version(reg.as_ref(), &name, &b).await?,
            );
            print!("{}", diff_versions(&va, &vb).text);
        }
        PromptCommand::Set {
            kb,
            name,
            system,
            user,
            labels,
        } => {
            let reg = registry(&kb).await?;
            let read = |p: &PathBuf| {
                std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))
            };
            let v = reg
                .save(SavePromptRequest {
                    name,
                    system: read(&system)?,
                    user: read(&user)?,
                    labels,
                })
                .await?;
            println!(
                "{} hash {} labels [{}]",
                v.id(),
                v.hash,
                v.labels.join(", ")
            );
        }
        PromptCommand::Label {
            kb,
            name,
            label,
            version,
            force,
        } => {
            let reg = registry(&kb).await?;
            if force {
                let m = reg
                    .promote_label(PromoteLabelRequest {
                        name: name.clone(),
                        label: label.clone(),
                        version,
                        reason: "forced by operator (ragcore prompt label --force)".into(),
                    })
                    .await?;
                println!(
                    "{name}:{label} {:?} -> {} (forced)",
                    m.from_version, m.to_version
                );
            } else {
                reg.set_label(SetLabelRequest {
                    name: name.clone(),
                    label: label.clone(),
                    version,
                })
                .await?;
                println!("{name}:{label} -> {version}");
            }
        }
        PromptCommand::Rollback { kb, name, label } => {
            let reg = registry(&kb).await?;
            let m = reg
                .rollback(RollbackRequest {
                    name: name.clone(),
                    label: label.clone(),
                })
                .await?;
            println!(
                "{name}:{label} rolled back {:?} -> {}",
                m.from_version, m.to_version
            );
        }
        PromptCommand::History { kb, name, label } => {
            let reg = registry(&kb).await?;
            for m in reg
                .label_history(LabelHistoryRequest { name, label })
                .await?
            {
                println!(
                    "{}\t{:<8}\t{:?} -> {}\t{}",
                    m.at, m.how, m.from_version, m.to_version, m.reason
                );
            }
        }
        PromptCommand::Export { kb, out, format } => {
            let reg = registry(&kb).await?;
            let bundle = export_prompts(reg.as_ref()).await?;
            match out {
                Some(path) => {
                    std::fs::write(&path, bundle.to_string(BundleFormat::for_path(&path))?)
                        .with_context(|| format!("writing {}", path.display()))?;
                    eprintln!(
                        "{} version(s) written to {}",
                        bundle.prompts.len(),
                        path.display()
                    );
                }
                None => {
                    let f = match format.as_str() {
                        "json" => BundleFormat::Json,
                        "yaml" | "yml" => BundleFormat::Yaml,
                        other => bail!("unknown format {other:?}; use yaml or json"),
                    };
                    print!("{}", bundle.to_string(f)?);
                }
            }
        }
        PromptCommand::Import {
            kb,
            file,
            allow_protected,
        } => {
            let reg = registry(&kb).await?;
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let bundle = PromptBundle::parse(&text, BundleFormat::for_path(&file))
                .with_context(|| format!("in {}", file.display()))?;
            let r = import_prompts(reg.as_ref(), &bundle, allow_protected).await?;
            println!("{}", serde_json::to_string_pretty(&r)?);
            if !r.protected_skipped.is_empty() {
                eprintln!("protected labels were not moved; promote them (`ragcore prompt promote`) or pass --allow-protected");
            }
        }
        PromptCommand::Promote {
            kb,
            name,
            version,
            to,
            golden,
            tolerance,
            cost_tolerance,
            k,
        } => {
            let cases = read_golden(&golden)?;
            let cfg = |label: String| PipelineConfig {
                prompt_name: name.clone(),
                prompt_label: label,
                ..Default::default()
            };
            let baseline = crate::local::open_with(&kb.kb, cfg(to.clone()), false).await?;
            let candidate =
                crate::local::open_with(&kb.kb, cfg(format!("@{version}")), false).await?;
            let outcome = promote(PromoteRequest {
                baseline: &baseline,
                candidate: &candidate,
                name: name.clone(),
                version,
                label: to.clone(),
                cases: &cases,
                tolerance: Tolerance {
                    quality: tolerance,
                    cost_ratio: Some(cost_tolerance),
                    ..Default::default()
                },
                options: EvalOptions {
                    k,
                    tenant: kb.tenant.clone(),
                    ..Default::default()
                },
            })
            .await?;
            print!("{}", outcome.comparison.to_markdown());
            if !outcome.accepted {
                bail!(
                    "promotion of {name}@{version} to {to} refused: regressed past the tolerance: {}",
                    outcome.regressions.join("; ")
                );
            }
            println!(
                "{name}:{to} -> {version} (golden set passed, {} cases)",
                cases.len()
            );
        }
    }
    Ok(())
}
