//! Knowledge operations of the `ragcore` command: `rollback`, `reembed` and `sync --watch`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use notify_debouncer_mini::notify::RecursiveMode;
use notify_debouncer_mini::{new_debouncer, DebounceEventResult};
use ragcore::pipeline::SyncRequest;
use ragcore::{LocalOptions, Pipeline};

/// `ragcore rollback VERSION`: a new version whose live documents equal those of VERSION.
pub(crate) async fn rollback(kb: &Path, tenant: Option<&str>, version: u64) -> Result<()> {
    let p = crate::open(kb).await?;
    let r = p.rollback(tenant, version).await?;
    println!(
        "kb version {}: rolled back to v{version} ({} restored, {} reverted, {} removed{})",
        r.kb_version,
        r.documents_added,
        r.documents_changed,
        r.documents_removed,
        tenant
            .map(|t| format!(", tenant {t}"))
            .unwrap_or_else(|| ", all tenants".into())
    );
    Ok(())
}

/// `ragcore reembed`: re-embeds every live chunk with the configured embedder, in place.
pub(crate) async fn reembed(kb: &Path) -> Result<()> {
    let opts = LocalOptions {
        embedder: ragcore::embedder_from_env()?,
        chat: ragcore::chat_from_env()?,
        reembed: true,
        ..Default::default()
    };
    let p = Pipeline::open_local(kb, opts)
        .await
        .with_context(|| format!("opening knowledge base {}", kb.display()))?;
    let r = p.reembed().await?;
    println!(
        "kb version {}: {} chunks re-embedded with {} ({} tokens)",
        r.kb_version, r.chunks_embedded, r.embedder, r.embedding_tokens
    );
    Ok(())
}

/// Whether a changed path should trigger a sync: hidden entries (which the loaders skip) and
/// the knowledge base's own files never do, so writing the database cannot loop.
fn relevant(path: &Path, root: &Path, kb: &Path) -> bool {
    if path.starts_with(kb) {
        return false;
    }
    let rel = path.strip_prefix(root).unwrap_or(path);
    !rel.components()
        .any(|c| c.as_os_str().to_string_lossy().starts_with('.'))
}

/// `ragcore sync --watch DIR`: syncs once, then again (debounced) whenever a file under DIR
/// changes, until the process is stopped (Ctrl-C).
pub(crate) async fn watch(kb: &Path, request: SyncRequest, json: bool) -> Result<()> {
    let p = crate::open(kb).await?;
    let root = std::fs::canonicalize(&request.root)
        .with_context(|| format!("cannot watch {}", request.root.display()))?;
    let kb_abs = std::fs::canonicalize(kb).unwrap_or_else(|_| kb.to_path_buf());
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Vec<PathBuf>>();
    let mut debouncer = new_debouncer(
        Duration::from_millis(300),
        move |res: DebounceEventResult| match res {
            Ok(events) => {
                let _ = tx.send(events.into_iter().map(|e| e.path).collect());
            }
            Err(e) => tracing::warn!(target: "ragcore::watch", "watch error: {e}"),
        },
    )?;
    debouncer
        .watcher()
        .watch(&root, RecursiveMode::Recursive)
        .with_context(|| format!("cannot watch {}", root.display()))?;
    let run = |p: Pipeline, request: SyncRequest| async move {
        match p.sync(request).await {
            Ok(report) => {
                if json {
                    println!("{}", serde_json::to_string(&report).unwrap_or_default());
                } else {
                    crate::render::ingest_report(&report);
                }
            }
            Err(e) => eprintln!("error: sync failed (the previous version is kept): {e}"),
        }
    };
    run(p.clone(), request.clone()).await;
    eprintln!("watching {} (Ctrl-C to stop)", root.display());
    let _keep = &mut debouncer;
    while let Some(paths) = rx.recv().await {
        if paths.iter().any(|path| relevant(path, &root, &kb_abs)) {
            // Changes that arrived meanwhile are covered by this sync.
            while rx.try_recv().is_ok() {}
            run(p.clone(), request.clone()).await;
        }
    }
    Ok(())
}

fn fmt(v: Option<f64>, pct: bool) -> String {
    match v {
        Some(x) if pct => format!("{:.1}%", x * 100.0),
        Some(x) => format!("{x:.3}"),
        None => "-".into(),
    }
}

fn signed(v: Option<f64>, pct: bool) -> String {
    match v {
        Some(x) if pct => format!("{:+.1} pts", x * 100.0),
        Some(x) => format!("{x:+.3}"),
        None => "-".into(),
    }
}

/// `ragcore drift`: daily statistics, the recent window against the baseline, and FAQ gaps.
pub(crate) async fn drift(
    kb: &Path,
    tenant: &str,
    days: u32,
    baseline_days: u32,
    today: Option<String>,
    json: bool,
) -> Result<()> {
    let p = crate::open(kb).await?;
    let mut req = ragcore::DriftReportRequest::new(tenant);
    req.recent_days = days;
    req.baseline_days = baseline_days;
    req.today = today;
    let r = p.drift_report(req).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(());
    }
    println!("day          asks  top score  no-answer  centroid dist");
    for d in &r.days {
        println!(
            "{}  {:>5}  {:>9}  {:>9}  {:>13}",
            d.day,
            d.stats.asks,
            fmt(d.stats.mean_top_score, false),
            fmt(d.stats.no_answer_rate, true),
            fmt(d.stats.mean_centroid_distance, false)
        );
    }
    for (name, w, s) in [
        ("recent  ", &r.recent_window, &r.recent),
        ("baseline", &r.baseline_window, &r.baseline),
    ] {
        println!(
            "{name} {}..{}: {} asks, top score {}, no-answer {}, centroid distance {}",
            w.0,
            w.1,
            s.asks,
            fmt(s.mean_top_score, false),
            fmt(s.no_answer_rate, true),
            fmt(s.mean_centroid_distance, false)
        );
    }
    println!(
        "change: top score {}, no-answer {}, centroid distance {}",
        signed(r.top_score_change, false),
        signed(r.no_answer_rate_change, true),
        signed(r.centroid_distance_change, false)
    );
    if r.gaps.is_empty() {
        println!("no FAQ gaps: every question found an answer");
    } else {
        println!("FAQ gaps (unanswered questions, grouped):");
        for g in &r.gaps {
            println!(
                "  {:>4}x  [{}]  e.g. {}",
                g.asks,
                g.terms.join(" "),
                g.examples.join(" / ")
            );
        }
    }
    Ok(())
}
