//! ANN recall@10 and QPS of pgvector (HNSW in PostgreSQL, through [`PostgresStore`]) vs the
//! local store (its own HNSW graph, through [`LocalStore`]) on the same vectors: sentence windows of
//! `../shared/data` (DRCD, XQuAD, COVID-QA) embedded by the 384-dimensional hashing embedder,
//! queried with the data sets' questions. Ground truth is an exact scan. Both go through the
//! `VectorStore::vector_search` API (rows fetched), one query at a time and 8 at once.
//!
//! ```text
//! eval "$(scripts/pg.sh start)"
//! cargo run --release -p ragcore --features postgres --example pg_ann      # 20,000 vectors
//! PG_ANN_VECTORS=5000 PG_ANN_QUERIES=200 cargo run --release -p ragcore --features postgres --example pg_ann
//! ```
//! `PG_ANN_KEEP=1` keeps the schema `bench_pg_ann` for inspection (e.g. `EXPLAIN`).

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use ragcore::embed::{EmbedRequest, InputType};
use ragcore::store::{
    AnnConfig, ChunkRecord, DocumentRecord, LocalStore, LocalStoreConfig, PostgresStore,
    PostgresStoreConfig, UpsertRequest, VectorSearchRequest,
};
use ragcore::{Chunk, Document, Embedder, HashingEmbedder, PgConfig, PgPool, Scope, VectorStore};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn data_dir() -> PathBuf {
    std::env::var_os("RAGCORE_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"))
}

fn read_jsonl(path: PathBuf, field: &str) -> ragcore::Result<Vec<String>> {
    let text = std::fs::read_to_string(&path).map_err(|e| {
        ragcore::Error::Config(format!("{}: {e} (set RAGCORE_DATA)", path.display()))
    })?;
    Ok(text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v[field].as_str().map(str::to_string))
        .collect())
}

/// Sentence windows (1, 2 and 3 sentences) until `n` texts.
fn passages(n: usize) -> ragcore::Result<Vec<String>> {
    let mut sentences = Vec::new();
    for set in ["drcd", "xquad_en", "covidqa_faq"] {
        for text in read_jsonl(data_dir().join(set).join("corpus.jsonl"), "text")? {
            for s in text.split_inclusive(['。', '.', '？', '?', '！', '!']) {
                let s = s.trim();
                if s.chars().count() >= 8 {
                    sentences.push(s.to_string());
                }
            }
        }
    }
    let mut out = Vec::with_capacity(n);
    'outer: for w in 1..=4 {
        for win in sentences.windows(w) {
            out.push(win.concat());
            if out.len() == n {
                break 'outer;
            }
        }
    }
    Ok(out)
}

fn queries(n: usize) -> ragcore::Result<Vec<String>> {
    let mut q = read_jsonl(data_dir().join("drcd/queries.jsonl"), "question")?;
    q.extend(read_jsonl(
        data_dir().join("xquad_en/queries.jsonl"),
        "question",
    )?);
    q.extend(read_jsonl(
        data_dir().join("covidqa_faq/queries.jsonl"),
        "question",
    )?);
    // Interleave the sets.
    let step = (q.len() / n.max(1)).max(1);
    Ok(q.into_iter().step_by(step).take(n).collect())
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

async fn measure(
    name: &str,
    store: Arc<dyn VectorStore>,
    queries: &[Vec<f32>],
    truth: &[Vec<usize>],
) -> ragcore::Result<(f64, f64, f64)> {
    let scope = Scope::tenant("bench");
    let search = move |v: Vec<f32>| {
        let store = store.clone();
        let scope = scope.clone();
        async move {
            store
                .vector_search(VectorSearchRequest {
                    vector: v,
                    scope,
                    k: 10,
                })
                .await
        }
    };
    // Warm up.
    for q in queries.iter().take(20) {
        search(q.clone()).await?;
    }
    let t = Instant::now();
    let mut hit = 0usize;
    for (q, want) in queries.iter().zip(truth) {
        let got: HashSet<usize> = search(q.clone())
            .await?
            .iter()
            .filter_map(|c| c.chunk.id.strip_prefix('c').and_then(|s| s.parse().ok()))
            .collect();
        hit += want.iter().filter(|i| got.contains(i)).count();
    }
    let qps1 = queries.len() as f64 / t.elapsed().as_secs_f64();
    let t = Instant::now();
    let mut tasks = Vec::new();
    for part in queries.chunks(queries.len().div_ceil(8)) {
        let part = part.to_vec();
        let search = search.clone();
        tasks.push(tokio::spawn(async move {
            for q in part {
                search(q).await?;
            }
            Ok::<(), ragcore::Error>(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let qps8 = queries.len() as f64 / t.elapsed().as_secs_f64();
    let recall = hit as f64 / (10 * queries.len()) as f64;
    println!(
        "{name:<10} recall@10 {recall:.4}   QPS (1 client) {qps1:8.1}   QPS (8 clients) {qps8:8.1}"
    );
    Ok((recall, qps1, qps8))
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> ragcore::Result<()> {
    let n = env_usize("PG_ANN_VECTORS", 20_000);
    let nq = env_usize("PG_ANN_QUERIES", 500);
    let url = std::env::var("RAGCORE_PG_URL").map_err(|_| {
        ragcore::Error::Config("set RAGCORE_PG_URL (eval \"$(scripts/pg.sh start)\")".into())
    })?;
    let embedder = HashingEmbedder::new(384)?;
    let texts = passages(n)?;
    let n = texts.len();
    let t = Instant::now();
    let vectors = embedder
        .embed(EmbedRequest {
            texts: texts.clone(),
            input_type: InputType::Passage,
        })
        .await?
        .vectors;
    let qtexts = queries(nq)?;
    let qvecs = embedder
        .embed(EmbedRequest {
            texts: qtexts.clone(),
            input_type: InputType::Query,
        })
        .await?
        .vectors;
    println!(
        "{n} vectors, {} queries, 384 dims (embedded in {:.1}s)",
        qvecs.len(),
        t.elapsed().as_secs_f64()
    );
    let truth: Vec<Vec<usize>> = qvecs
        .iter()
        .map(|q| {
            let mut s: Vec<(f32, usize)> = vectors
                .iter()
                .enumerate()
                .map(|(i, v)| (dot(q, v), i))
                .collect();
            s.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            s.into_iter().take(10).map(|x| x.1).collect()
        })
        .collect();
    let records: Vec<DocumentRecord> = vectors
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let mut document = Document::new(format!("d{i}"), String::new());
            document.title = format!("passage {i}");
            DocumentRecord {
                document,
                content_hash: format!("h{i}"),
                chunks: vec![ChunkRecord {
                    chunk: Chunk {
                        id: format!("c{i}"),
                        document_id: format!("d{i}"),
                        ordinal: 0,
                        context: String::new(),
                        text: texts[i].clone(),
                        tokens: 1,
                    },
                    lexical_terms: String::new(),
                    vector: Some(v.clone()),
                }],
            }
        })
        .collect();
    let ann = AnnConfig::default();
    let fingerprint = embedder.fingerprint();

    let dir = tempfile::tempdir().map_err(|e| ragcore::Error::Storage(e.to_string()))?;
    let local = LocalStore::open_async(
        dir.path(),
        LocalStoreConfig {
            fingerprint: fingerprint.clone(),
            profile: "pg_ann".into(),
            ann,
        },
    )
    .await?;
    let schema = "bench_pg_ann";
    let admin = PgPool::connect(PgConfig::new(url.clone())).await?;
    admin
        .get()
        .await?
        .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
        .await
        .map_err(ragcore::postgres::map_err)?;
    let pg = PostgresStore::open(
        PgPool::connect(PgConfig::new(url).with_schema(schema)).await?,
        PostgresStoreConfig {
            fingerprint,
            profile: "pg_ann".into(),
            ann,
        },
    )
    .await?;
    for (name, store) in [
        ("local", Arc::new(local) as Arc<dyn VectorStore>),
        ("pgvector", Arc::new(pg) as Arc<dyn VectorStore>),
    ] {
        let t = Instant::now();
        for batch in records.chunks(2000) {
            store
                .upsert(UpsertRequest {
                    tenant: "bench".into(),
                    documents: batch.to_vec(),
                    delete_document_ids: Vec::new(),
                    note: "bench".into(),
                })
                .await?;
        }
        println!(
            "{name:<10} loaded {n} vectors in {:.1}s",
            t.elapsed().as_secs_f64()
        );
        if name == "pgvector" {
            // Fresh statistics (autovacuum would get there), then show which plan a search gets.
            let client = admin.get().await?;
            client
                .batch_execute(&format!("ANALYZE {schema}.kb_chunks"))
                .await
                .map_err(ragcore::postgres::map_err)?;
            let literal = format!(
                "[{}]",
                qvecs[0]
                    .iter()
                    .map(|x| x.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            );
            let plan = client
                .query(
                    &format!(
                        "EXPLAIN SELECT c.id FROM {schema}.kb_chunks c WHERE c.tenant = 'bench' \
                         AND c.version_removed IS NULL AND (c.acl_open OR c.acl && '{{}}'::text[]) \
                         ORDER BY c.embedding <#> '{literal}'::vector LIMIT 10"
                    ),
                    &[],
                )
                .await
                .map_err(ragcore::postgres::map_err)?;
            let plan: Vec<String> = plan.iter().map(|r| r.get::<_, String>(0)).collect();
            let uses = plan.iter().any(|l| l.contains("kb_chunks_hnsw"));
            println!("pgvector   plan uses the HNSW index: {uses}");
        }
        measure(name, store, &qvecs, &truth).await?;
    }
    if std::env::var("PG_ANN_KEEP").as_deref() != Ok("1") {
        admin
            .get()
            .await?
            .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
            .await
            .map_err(ragcore::postgres::map_err)?;
    }
    Ok(())
}
