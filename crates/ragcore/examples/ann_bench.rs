//! ANN benchmark of the local store's vector index (the graph, visibility table and filtered-search
//! planner `LocalStore` searches with) on the cached real embeddings made by
//! `benches/ann/embed.py`. `benches/ann/run.sh` runs it next to hnswlib, faiss and usearch
//! (`benches/ann/peers.py`) on the same vectors and prints the ratio table.
//!
//! ```text
//! cargo run --release -p ragcore --example ann_bench -- [--data DIR] [--ef 16,32,64,128,256]
//!     [--threads 1,2] [--build-threads 2] [--m 16] [--efc 200] [--reps 2]
//! ```
//! Prints one JSON object per measurement on stdout (build, search, filtered).

//!
//! Filtered search: row `i` belongs to bucket `(i * 7919) % 100`; buckets 0 (1%), 1..=10 (10%)
//! and 11..=60 (50%) are three tenants, the rest a fourth, so each filtered query sees exactly
//! 1%, 10% or 50% of the rows, as a tenant of a shared index does.

use std::path::{Path, PathBuf};
use std::time::Instant;

use ragcore::store::local::ann_bench::{AnnIndex, Visibility};
use ragcore::store::AnnConfig;
use rayon::prelude::*;

type R<T> = Result<T, Box<dyn std::error::Error>>;

const K: usize = 10;

struct Data {
    n: usize,
    dim: usize,
    base: Vec<f32>,
    queries: Vec<f32>,
    gt: Vec<i32>,
}

fn read_bytes(path: &Path) -> R<Vec<u8>> {
    std::fs::read(path)
        .map_err(|e| format!("{}: {e} (run benches/ann/embed.py first)", path.display()).into())
}

fn read_f32(path: &Path) -> R<Vec<f32>> {
    Ok(read_bytes(path)?
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}

fn load(dir: &Path) -> R<Data> {
    let man: serde_json::Value = serde_json::from_slice(&read_bytes(&dir.join("manifest.json"))?)?;
    let n = man["n"].as_u64().ok_or("manifest.json: no n")? as usize;
    let dim = man["dim"].as_u64().ok_or("manifest.json: no dim")? as usize;
    let base = read_f32(&dir.join("base.f32"))?;
    let queries = read_f32(&dir.join("queries.f32"))?;
    let gt: Vec<i32> = read_bytes(&dir.join("gt.i32"))?
        .chunks_exact(4)
        .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    if base.len() != n * dim || gt.len() != (queries.len() / dim) * K {
        return Err("base.f32 / gt.i32 do not match manifest.json".into());
    }
    Ok(Data {
        n,
        dim,
        base,
        queries,
        gt,
    })
}

/// The tenant of row `i` in the filtered benchmark.
fn tenant_of(i: usize) -> u32 {
    match (i * 7919) % 100 {
        0 => 1,
        1..=10 => 10,
        11..=60 => 50,
        _ => 99,
    }
}

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

fn arg(args: &[String], name: &str, default: &str) -> String {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
        .unwrap_or_else(|| default.to_string())
}

fn list(s: &str) -> Vec<usize> {
    s.split(',').filter_map(|x| x.trim().parse().ok()).collect()
}

fn pool(threads: usize) -> R<rayon::ThreadPool> {
    Ok(rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()?)
}

/// Runs every query once on `threads` threads, `reps` times; returns (best qps, results).
fn run_queries(
    idx: &AnnIndex,
    data: &Data,
    threads: usize,
    reps: usize,
    tenant: u32,
) -> R<(f64, Vec<Vec<i64>>)> {
    let nq = data.queries.len() / data.dim;
    let p = pool(threads)?;
    let mut best = 0f64;
    let mut out = Vec::new();
    for _ in 0..reps.max(1) {
        let t = Instant::now();
        let res: Vec<Vec<i64>> = if threads == 1 {
            (0..nq).map(|q| search_one(idx, data, q, tenant)).collect()
        } else {
            p.install(|| {
                (0..nq)
                    .into_par_iter()
                    .map(|q| search_one(idx, data, q, tenant))
                    .collect()
            })
        };
        let qps = nq as f64 / t.elapsed().as_secs_f64();
        if qps > best {
            best = qps;
        }
        out = res;
    }
    Ok((best, out))
}

fn search_one(idx: &AnnIndex, data: &Data, q: usize, tenant: u32) -> Vec<i64> {
    let v = &data.queries[q * data.dim..(q + 1) * data.dim];
    idx.search(v, K, tenant, &[])
        .into_iter()
        .map(|n| n.rowid - 1)
        .collect()
}

fn recall(found: &[Vec<i64>], truth: &[Vec<i64>]) -> f64 {
    let mut hit = 0usize;
    let mut total = 0usize;
    for (f, t) in found.iter().zip(truth) {
        total += t.len().min(K);
        hit += f.iter().filter(|id| t.contains(id)).count();
    }
    hit as f64 / total.max(1) as f64
}

/// Exact top-10 over the rows of `tenant` (brute force, independent of the index).
fn filtered_truth(data: &Data, tenant: u32) -> Vec<Vec<i64>> {
    let allowed: Vec<usize> = (0..data.n).filter(|i| tenant_of(*i) == tenant).collect();
    let nq = data.queries.len() / data.dim;
    (0..nq)
        .into_par_iter()
        .map(|q| {
            let v = &data.queries[q * data.dim..(q + 1) * data.dim];
            let mut s: Vec<(f32, usize)> = allowed
                .iter()
                .map(|&i| {
                    let b = &data.base[i * data.dim..(i + 1) * data.dim];
                    (v.iter().zip(b).map(|(x, y)| x * y).sum::<f32>(), i)
                })
                .collect();
            s.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            s.into_iter().take(K).map(|(_, i)| i as i64).collect()
        })
        .collect()
}

fn main() -> R<()> {
    let args: Vec<String> = std::env::args().collect();
    let default_dir = std::env::var("HOME")
        .map(|h| format!("{h}/.cache/ragcore/bench/ann"))
        .unwrap_or_else(|_| ".".into());
    let dir = PathBuf::from(arg(&args, "--data", &default_dir));
    let efs = list(&arg(&args, "--ef", "16,32,64,128,256"));
    let threads = list(&arg(&args, "--threads", "1,2"));
    let build_threads: usize = arg(&args, "--build-threads", "2").parse()?;
    let m: usize = arg(&args, "--m", "16").parse()?;
    let efc: usize = arg(&args, "--efc", "200").parse()?;
    let reps: usize = arg(&args, "--reps", "2").parse()?;
    let filtered_efs = list(&arg(&args, "--filtered-ef", "64,128"));
    let lib = "ragcore";

    let data = load(&dir)?;
    let nq = data.queries.len() / data.dim;
    let truth: Vec<Vec<i64>> = (0..nq)
        .map(|q| {
            data.gt[q * K..(q + 1) * K]
                .iter()
                .map(|&i| i as i64)
                .collect()
        })
        .collect();
    let config = AnnConfig {
        max_connections: m,
        ef_construction: efc,
        ..AnnConfig::default()
    };

    // Build: every row in tenant 0 (the unfiltered case), as the store inserts them.
    let items: Vec<(i64, Vec<f32>, Visibility)> = (0..data.n)
        .map(|i| {
            (
                i as i64 + 1,
                data.base[i * data.dim..(i + 1) * data.dim].to_vec(),
                Visibility {
                    tenant: 0,
                    acl: None,
                },
            )
        })
        .collect();
    let rss0 = rss_bytes();
    let t = Instant::now();
    let mut idx = AnnIndex::new(config, data.dim, data.n);
    pool(build_threads)?.install(|| idx.insert(items))?;
    let build_s = t.elapsed().as_secs_f64();
    let rss1 = rss_bytes();

    println!(
        "{}",
        serde_json::json!({"lib": lib, "kind": "build", "threads": build_threads, "n": data.n,
            "m": m, "ef_construction": efc, "seconds": build_s,
            "rss_delta_mb": (rss1.saturating_sub(rss0)) as f64 / 1048576.0,
            "raw_vectors_mb": (data.n * data.dim * 4) as f64 / 1048576.0})
    );

    for &th in &threads {
        for &ef in &efs {
            idx.set_ef_search(ef);
            let (qps, found) = run_queries(&idx, &data, th, reps, 0)?;
            println!(
                "{}",
                serde_json::json!({"lib": lib, "kind": "search", "threads": th, "ef": ef,
                    "recall": recall(&found, &truth), "qps": qps})
            );
        }
    }

    // Filtered: re-tag the same graph's rows into the four tenants (as a store with four
    // tenants holds them) and search as tenants 1, 10 and 50 through the planner.
    let all: Vec<i64> = (1..=data.n as i64).collect();
    idx.remove(&all);
    for i in 0..data.n {
        idx.adopt(
            i as i64 + 1,
            data.base[i * data.dim..(i + 1) * data.dim].to_vec(),
            Visibility {
                tenant: tenant_of(i),
                acl: None,
            },
        );
    }
    for (tenant, share) in [(1u32, 0.01f64), (10, 0.10), (50, 0.50)] {
        let truth = filtered_truth(&data, tenant);
        for &th in &threads {
            for &ef in &filtered_efs {
                idx.set_ef_search(ef);
                let (qps, found) = run_queries(&idx, &data, th, reps, tenant)?;
                println!(
                    "{}",
                    serde_json::json!({"lib": lib, "kind": "filtered", "allowed": share,
                        "threads": th, "ef": ef, "recall": recall(&found, &truth), "qps": qps})
                );
            }
        }
    }
    Ok(())
}
