//! The Rust side of the peer benchmarks (`benches/peers/run.sh`): each subcommand times one
//! piece of work that a peer library does too and prints one JSON line.
//!
//! ```text
//! peer_bench embed query|passage IN.json OUT.json    hashing vectors of a JSON list of texts
//! peer_bench ingest CORPUS_DIR WORK_DIR RUNS          load + chunk + count + embed + index
//!                                                    (keeps WORK_DIR/rust-ingest-{RUNS-1})
//! peer_bench ask KB_DIR TENANT N QUESTIONS.json       p50 / p95 of ask and of retrieve
//! peer_bench tokens TEXTS.json ROUNDS                 cl100k_base counts, one thread
//! peer_bench guards TEXT_FILE N                       PII + secrets scan of one text
//! ```
//!
//! `cargo run --release -p ragcore --example peer_bench -- SUBCOMMAND ...`

use std::error::Error;
use std::path::Path;
use std::time::Instant;

use ragcore::embed::{EmbedRequest, InputType};
use ragcore::guard::{PiiRedactor, SecretScanner};
use ragcore::text::Tokenizer;
use ragcore::{
    AskRequest, Embedder, HashingEmbedder, IngestRequest, LocalOptions, Pipeline, Scope,
};

type R<T> = Result<T, Box<dyn Error>>;

fn percentile(sorted: &[f64], p: usize) -> f64 {
    sorted[(sorted.len() * p / 100).min(sorted.len() - 1)]
}

fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(|a, b| a.total_cmp(b));
    v
}

fn read_strings(path: &str) -> R<Vec<String>> {
    Ok(serde_json::from_str(&std::fs::read_to_string(path)?)?)
}

fn rt() -> R<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

fn embed(kind: &str, input: &str, output: &str) -> R<()> {
    let input_type = match kind {
        "query" => InputType::Query,
        "passage" => InputType::Passage,
        other => return Err(format!("input type must be query or passage, not {other:?}").into()),
    };
    let texts = read_strings(input)?;
    let n = texts.len();
    let resp =
        rt()?.block_on(HashingEmbedder::default().embed(EmbedRequest { texts, input_type }))?;
    std::fs::write(output, serde_json::to_string(&resp.vectors)?)?;
    println!("{{\"embedded\":{n}}}");
    Ok(())
}

fn ingest(corpus: &str, work: &str, runs: usize) -> R<()> {
    let rt = rt()?;
    let bytes: u64 = walk(Path::new(corpus))?;
    let mut times = Vec::new();
    let mut last = None;
    for run in 0..runs {
        let dir = Path::new(work).join(format!("rust-ingest-{run}"));
        let _ = std::fs::remove_dir_all(&dir);
        let t = Instant::now();
        let report = rt.block_on(async {
            let p = Pipeline::open_local(&dir, LocalOptions::default()).await?;
            p.ingest(IngestRequest::paths("bench", [corpus])).await
        })?;
        times.push(t.elapsed().as_secs_f64());
        last = Some(report);
        if run + 1 < runs {
            let _ = std::fs::remove_dir_all(&dir); // the last one is kept for `ask`
        }
    }
    let times = sorted(times);
    let r = last.ok_or("RUNS must be at least 1")?;
    let median = percentile(&times, 50);
    println!(
        "{{\"side\":\"ragcore (Rust)\",\"documents\":{},\"chunks\":{},\"bytes\":{bytes},\"median_s\":{median:.4},\"mb_per_s\":{:.3}}}",
        r.documents_seen,
        r.chunks_added,
        bytes as f64 / 1e6 / median
    );
    Ok(())
}

fn walk(dir: &Path) -> R<u64> {
    let mut total = 0;
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        total += if e.file_type()?.is_dir() {
            walk(&e.path())?
        } else {
            e.metadata()?.len()
        };
    }
    Ok(total)
}

fn ask(kb: &str, tenant: &str, n: usize, questions: &str) -> R<()> {
    let questions = read_strings(questions)?;
    if questions.is_empty() {
        return Err("no questions".into());
    }
    rt()?.block_on(async {
        let p = Pipeline::open_local(kb, LocalOptions::default()).await?;
        let scope = Scope::tenant(tenant);
        for q in questions.iter().take(20) {
            p.ask(AskRequest::new(q.clone(), scope.clone())).await?; // warm up
        }
        let (mut asks, mut retrieves) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for i in 0..n {
            let q = &questions[i % questions.len()];
            let t = Instant::now();
            let answer = p.ask(AskRequest::new(q.clone(), scope.clone())).await?;
            asks.push(t.elapsed().as_secs_f64() * 1e6);
            std::hint::black_box(answer);
            let t = Instant::now();
            let hits = p.retrieve(q, &scope).await?;
            retrieves.push(t.elapsed().as_secs_f64() * 1e6);
            std::hint::black_box(hits);
        }
        let (a, r) = (sorted(asks), sorted(retrieves));
        println!(
            "{{\"side\":\"ragcore (Rust)\",\"ask_p50_us\":{:.1},\"ask_p95_us\":{:.1},\"retrieve_p50_us\":{:.1},\"retrieve_p95_us\":{:.1}}}",
            percentile(&a, 50),
            percentile(&a, 95),
            percentile(&r, 50),
            percentile(&r, 95)
        );
        Ok(())
    })
}

fn tokens(texts: &str, rounds: usize) -> R<()> {
    let texts = read_strings(texts)?;
    let bytes: usize = texts.iter().map(String::len).sum();
    let tok = Tokenizer::Cl100kBase;
    let mut total = 0;
    for t in &texts {
        total += tok.count(t)?; // loads the vocabulary, warms caches
    }
    let mut times = Vec::new();
    for _ in 0..rounds {
        let t = Instant::now();
        let mut n = 0;
        for text in &texts {
            n += tok.count(std::hint::black_box(text))?;
        }
        times.push(t.elapsed().as_secs_f64());
        std::hint::black_box(n);
    }
    let median = percentile(&sorted(times), 50);
    println!(
        "{{\"side\":\"ragcore (bpe-openai)\",\"texts\":{},\"tokens\":{total},\"median_s\":{median:.5},\"mb_per_s\":{:.3}}}",
        texts.len(),
        bytes as f64 / 1e6 / median
    );
    Ok(())
}

fn guards(path: &str, n: usize) -> R<()> {
    let text = std::fs::read_to_string(path)?;
    let (pii, secrets) = (PiiRedactor::new()?, SecretScanner::new()?);
    let found = pii.detect(&text).len() + secrets.scan(&text).len();
    for _ in 0..50 {
        std::hint::black_box(pii.detect(&text).len() + secrets.scan(&text).len());
    }
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let k = pii.detect(std::hint::black_box(&text)).len() + secrets.scan(&text).len();
        times.push(t.elapsed().as_secs_f64() * 1e6);
        std::hint::black_box(k);
    }
    let times = sorted(times);
    println!(
        "{{\"side\":\"ragcore PII + secrets\",\"bytes\":{},\"findings\":{found},\"p50_us\":{:.1},\"p95_us\":{:.1}}}",
        text.len(),
        percentile(&times, 50),
        percentile(&times, 95)
    );
    Ok(())
}

fn main() -> R<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    match a.as_slice() {
        ["embed", kind, input, output] => embed(kind, input, output),
        ["ingest", corpus, work, runs] => ingest(corpus, work, runs.parse()?),
        ["ask", kb, tenant, n, questions] => ask(kb, tenant, n.parse()?, questions),
        ["tokens", texts, rounds] => tokens(texts, rounds.parse()?),
        ["guards", path, n] => guards(path, n.parse()?),
        _ => {
            Err("usage: peer_bench embed|ingest|ask|tokens|guards ... (see the file's doc)".into())
        }
    }
}
