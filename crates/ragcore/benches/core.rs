//! Criterion benchmarks of the offline default: chunking throughput, vector search (HNSW walk in a
//! large tenant, exact scan in a small one), and the overhead of `ask` without any model, on the
//! DRCD paragraphs of ../shared/data when present.
//!
//! `cargo bench -p ragcore --bench core`

// A benchmark that cannot set up has nothing to measure: failing loudly is the right outcome.
#![allow(clippy::panic)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ragcore::ingest::{Chunker, ChunkerConfig};
use ragcore::store::VectorSearchRequest;
use ragcore::{
    AskRequest, Document, HashingEmbedder, IngestRequest, LocalOptions, Pipeline, Scope,
};

fn corpus_text() -> String {
    let zh = "退貨需在收到商品後七天內申請，請保留發票與完整包裝。大型家電享有兩年保固，保固期間自發票日期起算。";
    let en = "In-stock items ship within 24 hours of payment and arrive in one to two days. Refunds take five business days. ";
    let mut s = String::from("# 服務說明\n");
    for i in 0..200 {
        s.push_str(&format!("## 第 {i} 節\n{zh}{en}\n"));
    }
    s
}

fn chunking(c: &mut Criterion) {
    let text = corpus_text();
    let doc = Document::new("bench.md", text.clone());
    let chunker = match Chunker::new(ChunkerConfig::default()) {
        Ok(c) => c,
        Err(e) => panic!("chunker: {e}"),
    };
    let mut g = c.benchmark_group("chunking");
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.bench_function("markdown_zh_en_256_tokens", |b| {
        b.iter(|| chunker.chunk(black_box(&doc)).map(|c| c.len()))
    });
    g.finish();
}

fn rt() -> tokio::runtime::Runtime {
    match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => panic!("runtime: {e}"),
    }
}

fn synthetic_docs(n: usize, prefix: &str) -> Vec<Document> {
    let words = [
        "退貨", "保固", "運費", "付款", "會員", "發票", "安裝", "回收", "客服", "分期", "shipping",
        "refund", "warranty", "repair", "invoice",
    ];
    (0..n)
        .map(|i| {
            let t: Vec<&str> = (0..12)
                .map(|k| words[(i * 7 + k * 3 + k * k) % words.len()])
                .collect();
            Document::faq(
                format!("{prefix}{i}"),
                &format!("問題 {i} {}", t[..4].join(" ")),
                &format!("答案 {i}：{}", t.join("，")),
            )
        })
        .collect()
}

/// DRCD paragraphs and questions from ../shared/data when present (real Traditional Chinese
/// text), otherwise synthetic FAQ entries.
fn bench_corpus() -> (Vec<Document>, Vec<String>) {
    let dir =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/drcd");
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).ok();
    if let (Some(corpus), Some(queries)) = (read("corpus.jsonl"), read("queries.jsonl")) {
        let docs: Vec<Document> = corpus
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter_map(|v| Some(Document::new(v["id"].as_str()?, v["text"].as_str()?)))
            .collect();
        let qs: Vec<String> = queries
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter_map(|v| v["question"].as_str().map(String::from))
            .take(64)
            .collect();
        if !docs.is_empty() && !qs.is_empty() {
            return (docs, qs);
        }
    }
    (
        synthetic_docs(3000, "b"),
        vec!["保固多久？運費怎麼算？".to_string()],
    )
}

fn search(c: &mut Criterion) {
    let rt = rt();
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => panic!("tempdir: {e}"),
    };
    let p = match rt.block_on(async {
        let p = Pipeline::open_local(dir.path(), LocalOptions::default()).await?;
        p.ingest(IngestRequest::documents("big", synthetic_docs(10_000, "b")))
            .await?;
        p.ingest(IngestRequest::documents("small", synthetic_docs(200, "s")))
            .await?;
        Ok::<_, ragcore::Error>(p)
    }) {
        Ok(p) => p,
        Err(e) => panic!("setup: {e}"),
    };
    let e = HashingEmbedder::default();
    let q = e.embed_one("保固 運費 warranty refund");
    let mut g = c.benchmark_group("vector_search");
    for (tenant, name) in [
        ("big", "exact_drcd_3.4k_chunks"),
        ("small", "exact_tenant_200"),
    ] {
        g.bench_with_input(BenchmarkId::new(name, 10), &tenant, |b, t| {
            b.iter(|| {
                rt.block_on(p.store().vector_search(VectorSearchRequest {
                    vector: q.clone(),
                    scope: Scope::tenant(*t),
                    k: 10,
                }))
                .map(|h| h.len())
            })
        });
    }
    g.finish();
    let questions = bench_corpus().1;
    let mut g = c.benchmark_group("ask_overhead");
    let mut i = 0;
    g.bench_function("offline_default_drcd", |b| {
        b.iter(|| {
            i = (i + 1) % questions.len();
            rt.block_on(p.ask(AskRequest::new(questions[i].clone(), Scope::tenant("big"))))
                .map(|a| a.citations.len())
        })
    });
    g.finish();
}

/// HNSW walk (not the exact path): 20,000 random unit vectors of 384 dimensions in one tenant,
/// written through the store API.
fn hnsw(c: &mut Criterion) {
    use ragcore::embed::EmbedderFingerprint;
    use ragcore::store::{
        ChunkRecord, DocumentRecord, LocalStore, LocalStoreConfig, UpsertRequest, VectorStore,
    };
    const N: usize = 20_000;
    const D: usize = 384;
    let mut x: u64 = 0x1234_5678_9abc_def1;
    let mut unit = || {
        let mut v: Vec<f32> = (0..D)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 40) as f32 / (1u64 << 24) as f32 - 0.5
            })
            .collect();
        ragcore::embed::l2_normalize(&mut v);
        v
    };
    let rt = rt();
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => panic!("tempdir: {e}"),
    };
    let fp = EmbedderFingerprint {
        model: "bench-random".into(),
        dimensions: D,
        normalized: true,
    };
    let cfg = LocalStoreConfig {
        fingerprint: fp,
        profile: "bench".into(),
        ann: Default::default(),
    };
    let docs: Vec<DocumentRecord> = (0..N)
        .map(|i| {
            let doc = Document::new(format!("d{i}"), format!("document {i}"));
            let chunk = ragcore::Chunk {
                id: format!("c{i}"),
                document_id: doc.id.clone(),
                ordinal: 0,
                context: String::new(),
                text: doc.text.clone(),
                tokens: 3,
            };
            DocumentRecord {
                content_hash: format!("h{i}"),
                chunks: vec![ChunkRecord {
                    chunk,
                    lexical_terms: format!("document {i}"),
                    vector: Some(unit()),
                }],
                document: doc,
            }
        })
        .collect();
    let store = match rt.block_on(async {
        let s = LocalStore::open_async(dir.path(), cfg).await?;
        s.upsert(UpsertRequest {
            tenant: "t".into(),
            documents: docs,
            delete_document_ids: vec![],
            note: "bench".into(),
        })
        .await?;
        Ok::<_, ragcore::Error>(s)
    }) {
        Ok(s) => s,
        Err(e) => panic!("setup: {e}"),
    };
    let queries: Vec<Vec<f32>> = (0..64).map(|_| unit()).collect();
    let mut i = 0;
    c.bench_function("vector_search/hnsw_20k_384d", |b| {
        b.iter(|| {
            i = (i + 1) % queries.len();
            rt.block_on(store.vector_search(VectorSearchRequest {
                vector: queries[i].clone(),
                scope: Scope::tenant("t"),
                k: 10,
            }))
            .map(|h| h.len())
        })
    });
}

criterion_group!(benches, chunking, search, hnsw);
criterion_main!(benches);
