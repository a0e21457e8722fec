//! Answer-cache hit ratio and latency on repeated and paraphrased FAQ questions from
//! `../shared/data/covidqa_faq` (English FAQ entries and human-written paraphrases).
//!
//! ```text
//! cargo run --release -p ragcore --example cache_faq [-- DATA_DIR [THRESHOLD]]
//! ```
//! Pass 1 asks every FAQ question once (misses, stored), pass 2 asks them again verbatim (exact
//! hits), pass 3 asks the human paraphrases (semantic hits when similar enough). Prints the hit
//! ratio, how many hits cite another FAQ entry than the question's gold entry and than the
//! answer the same question gets without a cache, and the median latency of hits and misses. The embedder comes from the environment
//! (`RAGCORE_EMBED_MODEL`, `RAGCORE_EMBED_URL`, `RAGCORE_EMBED_DIM`, e.g. multilingual-e5 served
//! by `scripts/models.sh`); without it, the offline hashing embedder, which captures word
//! overlap, not meaning, so paraphrases rarely reach the threshold.

use std::time::Instant;

use ragcore::cache::CacheConfig;
use ragcore::{AskRequest, CacheStatus, Document, IngestRequest, LocalOptions, Pipeline, Scope};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let data = args.next().unwrap_or_else(|| {
        format!(
            "{}/../../../shared/data/covidqa_faq",
            env!("CARGO_MANIFEST_DIR")
        )
    });
    let threshold: f32 = args.next().map(|t| t.parse()).transpose()?.unwrap_or(0.9);
    let corpus = std::fs::read_to_string(format!("{data}/corpus.jsonl"))?;
    let queries = std::fs::read_to_string(format!("{data}/queries.jsonl"))?;
    let mut docs = Vec::new();
    for line in corpus.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line)?;
        let (id, q, a) = (v["id"].as_str(), v["title"].as_str(), v["text"].as_str());
        if let (Some(id), Some(q), Some(a)) = (id, q, a) {
            docs.push(Document::faq(id, q, a));
        }
    }
    let mut pairs = Vec::new();
    for line in queries.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line)?;
        let gold = v["gold_paragraph_id"].as_str().unwrap_or_default();
        let original = docs.iter().find(|d| d.id == gold).map(|d| d.title.clone());
        if let (Some(o), Some(p)) = (original, v["question"].as_str()) {
            pairs.push((o, p.to_string(), gold.to_string()));
        }
    }
    let dir = tempfile::tempdir()?;
    let embedder = ragcore::embedder_from_env()?;
    let embedder_name = embedder
        .as_ref()
        .map(|e| e.fingerprint().to_string())
        .unwrap_or_else(|| "hashing (offline default)".into());
    let kb = Pipeline::open_local(
        dir.path(),
        LocalOptions {
            embedder,
            cache: Some(CacheConfig {
                semantic_threshold: Some(threshold),
                ..Default::default()
            }),
            ..Default::default()
        },
    )
    .await?;
    // The same knowledge base without a cache: what each question gets when it is answered
    // afresh, to tell whether a hit changed the answer.
    let base_dir = tempfile::tempdir()?;
    let baseline = Pipeline::open_local(
        base_dir.path(),
        LocalOptions {
            embedder: ragcore::embedder_from_env()?,
            ..Default::default()
        },
    )
    .await?;
    let n_docs = docs.len();
    baseline
        .ingest(IngestRequest::documents("covid", docs.clone()))
        .await?;
    kb.ingest(IngestRequest::documents("covid", docs)).await?;
    let scope = Scope::tenant("covid");
    let mut originals: Vec<(String, String)> =
        pairs.iter().map(|p| (p.0.clone(), p.2.clone())).collect();
    originals.sort();
    originals.dedup();
    println!(
        "{} FAQ entries, {} distinct FAQ questions asked, {} paraphrases, semantic threshold {threshold}, embedder {embedder_name}",
        n_docs,
        originals.len(),
        pairs.len()
    );
    // Each question with the FAQ entry that answers it (its gold document).
    let passes: [(&str, Vec<(String, String)>); 3] = [
        ("first ask (FAQ question)", originals.clone()),
        ("repeated (same question)", originals),
        (
            "paraphrased",
            pairs.iter().map(|p| (p.1.clone(), p.2.clone())).collect(),
        ),
    ];
    for (name, qs) in passes {
        let (mut exact, mut semantic, mut wrong, mut changed, mut answered) = (0, 0, 0, 0, 0);
        let (mut hit_ms, mut miss_ms) = (Vec::new(), Vec::new());
        for (q, gold) in &qs {
            let t = Instant::now();
            let a = kb.ask(AskRequest::new(q.clone(), scope.clone())).await?;
            let elapsed = t.elapsed().as_secs_f64() * 1e3;
            answered += usize::from(!a.no_answer);
            let hit = matches!(a.cache, CacheStatus::ExactHit | CacheStatus::SemanticHit);
            match a.cache {
                CacheStatus::ExactHit => exact += 1,
                CacheStatus::SemanticHit => semantic += 1,
                _ => {}
            }
            // A hit is wrong when the cached answer cites another FAQ entry than this
            // question's own.
            let cited = a.citations.first().map(|c| c.document_id.clone());
            if hit && cited.as_ref() != Some(gold) {
                wrong += 1;
            }
            if hit {
                let fresh = baseline
                    .ask(AskRequest::new(q.clone(), scope.clone()))
                    .await?;
                if fresh.citations.first().map(|c| c.document_id.clone()) != cited {
                    changed += 1;
                }
            }
            if hit {
                hit_ms.push(elapsed)
            } else {
                miss_ms.push(elapsed)
            }
        }
        println!(
            "{name:<26} asks {:>4}  answered {:>4}  exact {:>4}  semantic {:>4}  hit ratio {:>5.1}%  hits citing another entry than gold {:>3} / than the uncached answer {:>3}  median ms hit {:.1} / miss {:.1}",
            qs.len(),
            answered,
            exact,
            semantic,
            100.0 * (exact + semantic) as f64 / qs.len().max(1) as f64,
            wrong,
            changed,
            median(hit_ms),
            median(miss_ms)
        );
    }
    if let Some(c) = kb.answer_cache() {
        println!("{:?}", c.stats());
    }
    Ok(())
}
