//! Times `retrieve` on an existing knowledge base: the Rust side of the binding-overhead
//! benchmark (`benches/bindings/run.sh`). Prints one JSON line with the median microseconds.
//!
//! `cargo run --release -p ragcore --example retrieve_loop -- KB_DIR TENANT ITERATIONS QUESTION...`

use std::time::Instant;

use ragcore::{LocalOptions, Pipeline, Scope};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 4 {
        return Err("usage: retrieve_loop KB_DIR TENANT ITERATIONS QUESTION...".into());
    }
    let (dir, tenant, iterations) = (&args[0], &args[1], args[2].parse::<usize>()?);
    let questions = &args[3..];
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let p = Pipeline::open_local(dir, LocalOptions::default()).await?;
        let scope = Scope::tenant(tenant.clone());
        for q in questions {
            p.retrieve(q, &scope).await?; // warm up
        }
        let mut times = Vec::with_capacity(iterations);
        for i in 0..iterations {
            let q = &questions[i % questions.len()];
            let t = Instant::now();
            let hits = p.retrieve(q, &scope).await?;
            times.push(t.elapsed().as_secs_f64() * 1e6);
            std::hint::black_box(hits);
        }
        times.sort_by(|a, b| a.total_cmp(b));
        println!(
            "{{\"lang\":\"rust\",\"median_us\":{:.1},\"p95_us\":{:.1}}}",
            times[times.len() / 2],
            times[times.len() * 95 / 100]
        );
        Ok::<_, Box<dyn std::error::Error>>(())
    })
}
