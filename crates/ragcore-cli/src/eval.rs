//! `ragcore retrieval-eval`: retrieval quality on a QA data set (corpus.jsonl + queries.jsonl as in
//! ../shared/data), for BM25 alone, vectors alone and several fusions, plus the no-answer check.

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Instant;

use self::sha2_free::group_half;
use anyhow::{bail, Context, Result};
use clap::Args;
use ragcore::embed::{EmbedRequest, InputType};
use ragcore::store::{LexicalSearchRequest, VectorSearchRequest};
use ragcore::{
    Document, Fusion, IngestRequest, LocalOptions, Pipeline, PipelineConfig, Scope, Segmenter,
};
use serde::Deserialize;

#[derive(Args)]
pub(crate) struct EvalArgs {
    /// corpus.jsonl: {id, title, text, article_id?}
    #[arg(long)]
    corpus: PathBuf,
    /// queries.jsonl: {id, question, gold_paragraph_id}
    #[arg(long)]
    queries: PathBuf,
    /// Chinese segmentation for BM25: jieba, bigram or both.
    #[arg(long, default_value = "both")]
    segmenter: String,
    /// Evaluate at most this many queries.
    #[arg(long)]
    limit: Option<usize>,
    /// Also measure the no-answer check: index half of the articles, so questions about the
    /// other half are unanswerable.
    #[arg(long)]
    no_answer: bool,
    /// Where to build the evaluation knowledge base (default: a temporary directory).
    #[arg(long)]
    workdir: Option<PathBuf>,
    /// Also measure the built-in lexical reranker over the default fusion's candidates, on all
    /// queries and on each half of a stable split (tune on `a`, check on `b`).
    #[arg(long)]
    rerank: bool,
    /// With --rerank: print a grid of reranker weights measured on half `a` only.
    #[arg(long, requires = "rerank")]
    rerank_grid: bool,
}

#[derive(Deserialize)]
struct CorpusRow {
    id: String,
    #[serde(default)]
    title: String,
    text: String,
    #[serde(default)]
    article_id: Option<String>,
}

#[derive(Deserialize)]
struct QueryRow {
    #[serde(default)]
    id: String,
    question: String,
    gold_paragraph_id: String,
}

pub(crate) mod sha2_free {
    /// A stable split of groups into two halves (FNV-1a of the group key).
    pub fn group_half(key: &str) -> bool {
        let mut h: u64 = 0xcbf29ce484222325;
        for b in key.as_bytes() {
            h ^= *b as u64;
            h = h.wrapping_mul(0x100000001b3);
        }
        h % 2 == 0
    }
}

fn read_jsonl<T: for<'de> Deserialize<'de>>(path: &PathBuf) -> Result<Vec<T>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).with_context(|| format!("{} line {}", path.display(), i + 1))
        })
        .collect()
}

#[derive(Default, Clone)]
pub(crate) struct Metrics {
    pub(crate) n: usize,
    pub(crate) r1: f64,
    r5: f64,
    mrr10: f64,
}

impl Metrics {
    pub(crate) fn add(&mut self, ranked_docs: &[String], gold: &str) {
        self.n += 1;
        if let Some(pos) = ranked_docs.iter().position(|d| d == gold) {
            if pos < 1 {
                self.r1 += 1.0;
            }
            if pos < 5 {
                self.r5 += 1.0;
            }
            if pos < 10 {
                self.mrr10 += 1.0 / (pos as f64 + 1.0);
            }
        }
    }
    pub(crate) fn row(&self, name: &str) -> String {
        let n = self.n.max(1) as f64;
        format!(
            "| {name:<22} | {:.3} | {:.3} | {:.3} |",
            self.r1 / n,
            self.r5 / n,
            self.mrr10 / n
        )
    }
}

pub(crate) fn docs_of(chunks: impl Iterator<Item = String>) -> Vec<String> {
    let mut seen = HashSet::new();
    chunks.filter(|d| seen.insert(d.clone())).take(10).collect()
}

pub(crate) async fn run(args: EvalArgs) -> Result<()> {
    let corpus: Vec<CorpusRow> = read_jsonl(&args.corpus)?;
    let mut queries: Vec<QueryRow> = read_jsonl(&args.queries)?;
    if let Some(l) = args.limit {
        queries.truncate(l);
    }
    if corpus.is_empty() || queries.is_empty() {
        bail!("empty corpus or query file");
    }
    let segmenters: Vec<Segmenter> = match args.segmenter.as_str() {
        "both" => vec![Segmenter::Jieba, Segmenter::Bigram],
        s => vec![Segmenter::parse(s)
            .with_context(|| format!("unknown segmenter {s:?}; use jieba, bigram or both"))?],
    };
    let embedder = ragcore::embedder_from_env()?;
    let base = match &args.workdir {
        Some(d) => d.clone(),
        None => std::env::temp_dir().join(format!("ragcore-eval-{}", std::process::id())),
    };
    let group = |r: &CorpusRow| r.article_id.clone().unwrap_or_else(|| r.id.clone());
    for seg in segmenters {
        let dir = base.join(seg.as_str());
        let _ = std::fs::remove_dir_all(&dir);
        let config = PipelineConfig {
            segmenter: seg,
            ..Default::default()
        };
        let p = Pipeline::open_local(
            &dir,
            LocalOptions {
                config,
                embedder: embedder.clone(),
                ..Default::default()
            },
        )
        .await?;
        let docs: Vec<Document> = corpus
            .iter()
            .map(|r| {
                let mut d = Document::new(r.id.clone(), r.text.clone());
                d.title = if r.title.is_empty() {
                    r.id.clone()
                } else {
                    r.title.clone()
                };
                d
            })
            .collect();
        let t = Instant::now();
        let rep = p.ingest(IngestRequest::documents("eval", docs)).await?;
        let ingest_s = t.elapsed().as_secs_f64();
        println!(
            "\n## {} — segmenter {}, embedder {}\n{} documents, {} chunks, ingest {:.1} s, {} queries\n",
            args.corpus.display(),
            seg.as_str(),
            p.embedder().fingerprint(),
            rep.documents_seen,
            rep.chunks_added,
            ingest_s,
            queries.len()
        );
        let fusions = [
            ("bm25", Fusion::LexicalOnly),
            ("vector", Fusion::VectorOnly),
            (
                "rrf k=60",
                Fusion::Rrf {
                    k: 60.0,
                    vector_weight: 1.0,
                    lexical_weight: 1.0,
                },
            ),
            ("linear 0.3", Fusion::Linear { vector_weight: 0.3 }),
            ("linear 0.5", Fusion::Linear { vector_weight: 0.5 }),
            ("linear 0.7", Fusion::Linear { vector_weight: 0.7 }),
            ("normalized 0.3", Fusion::Normalized { vector_weight: 0.3 }),
            ("normalized 0.5", Fusion::Normalized { vector_weight: 0.5 }),
            ("normalized 0.7", Fusion::Normalized { vector_weight: 0.7 }),
        ];
        let mut metrics = vec![Metrics::default(); fusions.len()];
        let mut rr = crate::eval_rerank::RerankEval::new(seg, args.rerank, args.rerank_grid)?;
        let scope = Scope::tenant("eval");
        let cand = 50;
        for q in &queries {
            let emb = p
                .embedder()
                .embed(EmbedRequest {
                    texts: vec![q.question.clone()],
                    input_type: InputType::Query,
                })
                .await?;
            let v = emb
                .vectors
                .into_iter()
                .next()
                .context("embedder returned no vector")?;
            let vec_hits = p
                .store()
                .vector_search(VectorSearchRequest {
                    vector: v,
                    scope: scope.clone(),
                    k: cand,
                })
                .await?;
            let terms: Vec<String> = {
                let all = seg.terms(&q.question);
                let content: Vec<String> = all
                    .iter()
                    .filter(|t| !t.stop)
                    .map(|t| t.text.clone())
                    .collect();
                if content.is_empty() {
                    all.into_iter().map(|t| t.text).collect()
                } else {
                    content
                }
            };
            let lex_hits = p
                .store()
                .lexical_search(LexicalSearchRequest {
                    terms,
                    scope: scope.clone(),
                    k: cand,
                })
                .await?;
            for (i, (_, f)) in fusions.iter().enumerate() {
                let fused = ragcore::retrieve::fuse(f, vec_hits.clone(), lex_hits.clone());
                let ranked = docs_of(fused.into_iter().map(|x| x.chunk.chunk.document_id));
                metrics[i].add(&ranked, &q.gold_paragraph_id);
            }
            rr.add(
                &q.id,
                &q.question,
                &q.gold_paragraph_id,
                &vec_hits,
                &lex_hits,
            )
            .await?;
        }
        println!("| method                 | R@1   | R@5   | MRR@10 |\n|------------------------|-------|-------|--------|");
        for (i, (name, _)) in fusions.iter().enumerate() {
            println!("{}", metrics[i].row(name));
        }
        rr.print();
        if args.no_answer {
            no_answer_eval(&dir, &corpus, &queries, seg, embedder.clone(), &group).await?;
        }
    }
    Ok(())
}

async fn no_answer_eval(
    dir: &std::path::Path,
    corpus: &[CorpusRow],
    queries: &[QueryRow],
    seg: Segmenter,
    embedder: Option<std::sync::Arc<dyn ragcore::Embedder>>,
    group: &dyn Fn(&CorpusRow) -> String,
) -> Result<()> {
    let half_dir = dir.join("half");
    let _ = std::fs::remove_dir_all(&half_dir);
    let config = PipelineConfig {
        segmenter: seg,
        ..Default::default()
    };
    let p = Pipeline::open_local(
        &half_dir,
        LocalOptions {
            config,
            embedder,
            ..Default::default()
        },
    )
    .await?;
    let mut kept = HashSet::new();
    let docs: Vec<Document> = corpus
        .iter()
        .filter(|r| group_half(&group(r)))
        .map(|r| {
            kept.insert(r.id.clone());
            let mut d = Document::new(r.id.clone(), r.text.clone());
            d.title = if r.title.is_empty() {
                r.id.clone()
            } else {
                r.title.clone()
            };
            d
        })
        .collect();
    p.ingest(IngestRequest::documents("eval", docs)).await?;
    let scope = Scope::tenant("eval");
    let thresholds = [0.0f32, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7];
    // (answerable answered, unanswerable refused) per threshold.
    let mut counts = vec![(0usize, 0usize); thresholds.len()];
    let (mut ans_n, mut un_n) = (0usize, 0usize);
    for q in queries {
        let r = p.retrieve_full(&q.question, &scope, None).await?;
        let answerable = kept.contains(&q.gold_paragraph_id);
        if answerable {
            ans_n += 1;
        } else {
            un_n += 1;
        }
        for (i, th) in thresholds.iter().enumerate() {
            let refuse = r.no_answer.hard || r.no_answer.coverage < *th;
            if answerable && !refuse {
                counts[i].0 += 1;
            }
            if !answerable && refuse {
                counts[i].1 += 1;
            }
        }
    }
    println!("\nno-answer check, half of the articles indexed ({ans_n} answerable, {un_n} unanswerable questions):\n");
    println!("| min_coverage | answerable answered | unanswerable refused |\n|---|---|---|");
    for (i, th) in thresholds.iter().enumerate() {
        println!(
            "| {th:.1} | {:.1}% | {:.1}% |",
            100.0 * counts[i].0 as f64 / ans_n.max(1) as f64,
            100.0 * counts[i].1 as f64 / un_n.max(1) as f64
        );
    }
    Ok(())
}
