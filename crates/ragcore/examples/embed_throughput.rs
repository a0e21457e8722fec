//! Embedding throughput against a local OpenAI-compatible endpoint that answers every request
//! after a fixed latency (50 ms by default): achieved texts per second against the bound
//! `concurrency × batch_size / latency`, for `OpenAiEmbedder` called directly and for the
//! embedding stage of `Pipeline::ingest`. Prints one JSON line per measurement.
//!
//! `cargo run --release -p ragcore --example embed_throughput -- [LATENCY_MS]`

use std::error::Error;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use axum::{extract::State, http::header, response::IntoResponse, routing::post, Json, Router};
use ragcore::embed::{EmbedRequest, EmbedResponse, EmbedderFingerprint, InputType};
use ragcore::{
    Document, Embedder, Endpoint, IngestRequest, LocalOptions, OpenAiEmbedder,
    OpenAiEmbedderConfig, Pipeline, PipelineConfig,
};
use serde_json::{json, Value};

type R<T> = Result<T, Box<dyn Error>>;

const DIMS: usize = 256;

#[derive(Default)]
struct Server {
    latency: Duration,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    /// Response bodies by batch size, serialised once: the endpoint should cost (almost)
    /// nothing but its latency, so that what is measured is the client.
    bodies: Mutex<std::collections::HashMap<usize, String>>,
}

async fn embeddings(State(s): State<Arc<Server>>, Json(body): Json<Value>) -> impl IntoResponse {
    let now = s.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    s.max_in_flight.fetch_max(now, Ordering::SeqCst);
    let n = body["input"].as_array().map_or(1, Vec::len);
    let cached = s.bodies.lock().ok().and_then(|b| b.get(&n).cloned());
    let text = match cached {
        Some(t) => t,
        None => {
            let t = response_body(n);
            if let Ok(mut b) = s.bodies.lock() {
                b.insert(n, t.clone());
            }
            t
        }
    };
    tokio::time::sleep(s.latency).await;
    s.in_flight.fetch_sub(1, Ordering::SeqCst);
    ([(header::CONTENT_TYPE, "application/json")], text)
}

fn response_body(n: usize) -> String {
    let data: Vec<Value> = (0..n)
        .map(|i| {
            let mut v = vec![0.0f32; DIMS];
            v[i % DIMS] = 1.0;
            v[(i * 7 + 3) % DIMS] += 0.5;
            json!({"object": "embedding", "index": i, "embedding": v})
        })
        .collect();
    json!({"object": "list", "data": data, "model": "slow", "usage": {"prompt_tokens": n * 8, "total_tokens": n * 8}}).to_string()
}

/// Records when the first `embed` call started and the last one ended; `hint: false` hides the
/// inner embedder's `texts_per_call_hint` (what the pipeline saw before it existed).
struct Timed {
    inner: OpenAiEmbedder,
    hint: bool,
    span: Mutex<Option<(Instant, Instant)>>,
    texts: AtomicUsize,
}

#[async_trait]
impl Embedder for Timed {
    fn fingerprint(&self) -> EmbedderFingerprint {
        self.inner.fingerprint()
    }

    async fn embed(&self, request: EmbedRequest) -> ragcore::Result<EmbedResponse> {
        let start = Instant::now();
        let n = request.texts.len();
        let r = self.inner.embed(request).await;
        let end = Instant::now();
        self.texts.fetch_add(n, Ordering::SeqCst);
        if let Ok(mut s) = self.span.lock() {
            *s = Some(match *s {
                Some((a, _)) => (a, end),
                None => (start, end),
            });
        }
        r
    }

    fn texts_per_call_hint(&self) -> Option<usize> {
        self.hint
            .then(|| self.inner.texts_per_call_hint())
            .flatten()
    }
}

fn embedder(base: &str, concurrency: usize, batch: usize) -> R<OpenAiEmbedder> {
    let mut cfg = OpenAiEmbedderConfig::new(Endpoint::new(base, None), "slow", DIMS);
    cfg.concurrency = concurrency;
    cfg.batch_size = batch;
    Ok(OpenAiEmbedder::new(cfg)?)
}

fn report(what: &str, c: usize, b: usize, texts: usize, secs: f64, latency: f64, max: usize) {
    let bound = (c * b) as f64 / latency;
    let achieved = texts as f64 / secs;
    println!(
        "{{\"what\":\"{what}\",\"concurrency\":{c},\"batch\":{b},\"texts\":{texts},\"seconds\":{secs:.3},\"achieved_per_s\":{achieved:.0},\"bound_per_s\":{bound:.0},\"ratio\":{:.3},\"max_in_flight\":{max}}}",
        achieved / bound
    );
}

fn main() -> R<()> {
    let latency_ms: u64 = match std::env::args().nth(1) {
        Some(s) => s.parse()?,
        None => 50,
    };
    let latency = latency_ms as f64 / 1000.0;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let server = Arc::new(Server {
            latency: Duration::from_millis(latency_ms),
            ..Default::default()
        });
        let app = Router::new()
            .route("/v1/embeddings", post(embeddings))
            .with_state(server.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}/v1", listener.local_addr()?);
        tokio::spawn(async move { axum::serve(listener, app).await });

        for (c, b) in [(4, 64), (8, 32), (16, 16), (16, 64)] {
            let e = embedder(&base, c, b)?;
            // 20 rounds of `concurrency` full batches, after one warm-up round.
            let texts: Vec<String> = (0..c * b * 20).map(|i| format!("text {i}")).collect();
            let warm = texts[..c * b].to_vec();
            e.embed(EmbedRequest {
                texts: warm,
                input_type: InputType::Passage,
            })
            .await?;
            server.max_in_flight.store(0, Ordering::SeqCst);
            let n = texts.len();
            let t = Instant::now();
            let r = e
                .embed(EmbedRequest {
                    texts,
                    input_type: InputType::Passage,
                })
                .await?;
            let secs = t.elapsed().as_secs_f64();
            assert_eq!(r.vectors.len(), n);
            let max = server.max_in_flight.load(Ordering::SeqCst);
            report("OpenAiEmbedder.embed", c, b, n, secs, latency, max);
        }

        // The embedding stage of an ingest: 1,280 short documents (one chunk each), with the
        // embedder's hint hidden (64 texts per call, as before the hint) and visible.
        let (c, b) = (4, 64);
        for hint in [false, true] {
            let timed = Arc::new(Timed {
                inner: embedder(&base, c, b)?,
                hint,
                span: Mutex::new(None),
                texts: AtomicUsize::new(0),
            });
            let dir = tempdir()?;
            let p = Pipeline::open_local(
                &dir,
                LocalOptions {
                    embedder: Some(timed.clone()),
                    config: PipelineConfig::default(),
                    ..Default::default()
                },
            )
            .await?;
            let docs: Vec<Document> = (0..c * b * 5)
                .map(|i| {
                    Document::new(
                        format!("doc-{i}.md"),
                        format!("Document {i} says shipping takes {i} days."),
                    )
                })
                .collect();
            server.max_in_flight.store(0, Ordering::SeqCst);
            p.ingest(IngestRequest::documents("bench", docs)).await?;
            let span = timed
                .span
                .lock()
                .map_err(|_| "poisoned")?
                .ok_or("no embed call")?;
            let secs = (span.1 - span.0).as_secs_f64();
            let max = server.max_in_flight.load(Ordering::SeqCst);
            let what = if hint {
                "Pipeline::ingest embedding stage"
            } else {
                "Pipeline::ingest embedding stage, hint hidden (before)"
            };
            let texts = timed.texts.load(Ordering::SeqCst);
            report(what, c, b, texts, secs, latency, max);
            drop(p);
            let _ = std::fs::remove_dir_all(&dir);
        }
        Ok::<_, Box<dyn Error>>(())
    })
}

fn tempdir() -> R<std::path::PathBuf> {
    let d = std::env::temp_dir().join(format!("ragcore-embed-throughput-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d)?;
    Ok(d)
}
