//! Sync at scale: a corpus of 10,000 Markdown documents built from the sentences of
//! `../shared/data` (DRCD, XQuAD, COVID-QA passages), synced three times with an embedder that
//! counts its calls:
//!
//! 1. the first sync (everything embedded),
//! 2. an unchanged re-sync (target: 0 embedding calls, time <= 5% of the first sync),
//! 3. 1% of the files edited (embedding calls = the chunks that changed, nothing else).
//!
//! ```text
//! cargo run --release -p ragcore --example sync_scale            # 10,000 documents
//! SYNC_SCALE_DOCS=2000 cargo run -p ragcore --example sync_scale # smaller, debug build
//! ```
//! Set `RAGCORE_DATA` to the data directory when it is not `../shared/data` of the checkout.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use ragcore::embed::{EmbedRequest, EmbedResponse, EmbedderFingerprint, InputType};
use ragcore::pipeline::SyncRequest;
use ragcore::{Embedder, HashingEmbedder, LocalOptions, Pipeline};

/// Counts passage texts and calls sent to the inner embedder.
struct Counting {
    inner: HashingEmbedder,
    texts: AtomicU64,
    calls: AtomicU64,
}

#[async_trait]
impl Embedder for Counting {
    fn fingerprint(&self) -> EmbedderFingerprint {
        self.inner.fingerprint()
    }
    async fn embed(&self, request: EmbedRequest) -> ragcore::Result<EmbedResponse> {
        if request.input_type == InputType::Passage {
            self.texts
                .fetch_add(request.texts.len() as u64, Ordering::SeqCst);
            self.calls.fetch_add(1, Ordering::SeqCst);
        }
        self.inner.embed(request).await
    }
}

fn data_dir() -> PathBuf {
    std::env::var_os("RAGCORE_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"))
}

/// Sentences (with their passage title) of every corpus passage.
fn sentences(dir: &Path) -> Result<Vec<(String, String)>, Box<dyn std::error::Error>> {
    let mut out = Vec::new();
    for set in ["drcd", "xquad_en", "covidqa_faq"] {
        let path = dir.join(set).join("corpus.jsonl");
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("{}: {e} (set RAGCORE_DATA)", path.display()))?;
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let v: serde_json::Value = serde_json::from_str(line)?;
            let title = v["title"].as_str().unwrap_or(set).to_string();
            let body = v["text"].as_str().unwrap_or_default();
            let mut cur = String::new();
            for ch in body.chars() {
                cur.push(ch);
                if matches!(ch, '。' | '！' | '？' | '.' | '!' | '?') && cur.chars().count() > 12
                {
                    out.push((title.clone(), cur.trim().to_string()));
                    cur.clear();
                }
            }
            if cur.trim().chars().count() > 12 {
                out.push((title.clone(), cur.trim().to_string()));
            }
        }
    }
    Ok(out)
}

fn line(label: &str, secs: f64, embedded: u64, calls: u64, r: &ragcore::IngestReport) {
    println!(
        "{label:<22} {secs:>8.2} s  embedded {embedded:>6} texts in {calls:>4} calls  \
         (+{} ~{} -{} docs, {} chunks added, {} removed, kb v{})",
        r.documents_added,
        r.documents_changed,
        r.documents_removed,
        r.chunks_added,
        r.chunks_removed,
        r.kb_version
    );
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::var("SYNC_SCALE_DOCS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let sents = sentences(&data_dir())?;
    if sents.len() < 4 {
        return Err("no sentences found in the data directory".into());
    }
    let src = tempfile::tempdir()?;
    let kb = tempfile::tempdir()?;
    // Document i: three consecutive sentences starting at a stride that spreads the corpus.
    let write_doc = |i: usize, extra: &str| -> std::io::Result<()> {
        let start = (i * 3) % (sents.len() - 3);
        let (title, _) = &sents[start];
        let body: Vec<&str> = sents[start..start + 3]
            .iter()
            .map(|s| s.1.as_str())
            .collect();
        std::fs::write(
            src.path().join(format!("doc-{i:05}.md")),
            format!("# {title} ({i})\n\n{}\n{extra}", body.join("\n\n")),
        )
    };
    for i in 0..n {
        write_doc(i, "")?;
    }
    let counter = Arc::new(Counting {
        inner: HashingEmbedder::default(),
        texts: AtomicU64::new(0),
        calls: AtomicU64::new(0),
    });
    let p = Pipeline::open_local(
        kb.path(),
        LocalOptions {
            embedder: Some(counter.clone()),
            ..Default::default()
        },
    )
    .await?;
    let req = || SyncRequest {
        root: src.path().to_path_buf(),
        tenant: "scale".into(),
        ..Default::default()
    };
    let take = |c: &Counting| {
        (
            c.texts.swap(0, Ordering::SeqCst),
            c.calls.swap(0, Ordering::SeqCst),
        )
    };
    println!("{n} documents from {} sentences", sents.len());

    let t = Instant::now();
    let r1 = p.sync(req()).await?;
    let first = t.elapsed().as_secs_f64();
    let (e1, c1) = take(&counter);
    line("first sync", first, e1, c1, &r1);

    let t = Instant::now();
    let r2 = p.sync(req()).await?;
    let again = t.elapsed().as_secs_f64();
    let (e2, c2) = take(&counter);
    line("unchanged re-sync", again, e2, c2, &r2);

    let edited = (n / 100).max(1);
    for i in 0..edited {
        write_doc(
            i * 100 % n,
            "Edited: this paragraph was added by the 1% edit.",
        )?;
    }
    let t = Instant::now();
    let r3 = p.sync(req()).await?;
    let edit = t.elapsed().as_secs_f64();
    let (e3, c3) = take(&counter);
    line("1% edited re-sync", edit, e3, c3, &r3);

    println!(
        "unchanged re-sync: {e2} embedding calls, {:.2}% of the first sync's time (target <= 5%)",
        again / first * 100.0
    );
    println!(
        "1% edit: {} documents changed, {e3} texts embedded = {} new chunks: {}",
        r3.documents_changed,
        r3.chunks_added,
        if e3 == r3.chunks_added {
            "only the changed chunks"
        } else {
            "MISMATCH"
        }
    );
    let v = p.store().verify().await?;
    println!("verify: consistent = {}", v.is_consistent());
    if e2 != 0
        || e3 != r3.chunks_added
        || r3.documents_changed != edited as u64
        || !v.is_consistent()
    {
        return Err("a sync did more (or less) work than it should".into());
    }
    Ok(())
}
