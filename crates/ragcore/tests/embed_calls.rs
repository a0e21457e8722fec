//! How many texts the ingest path hands the embedder per call: at least the embedder's
//! `texts_per_call_hint`, so that `OpenAiEmbedder`'s batches and concurrency are all used
//! (against the real OpenAI-speaking test server on 127.0.0.1), and `embed_batch` when the
//! embedder gives no hint.

mod support;

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use ragcore::embed::{EmbedRequest, EmbedResponse, EmbedderFingerprint, InputType};
use ragcore::{
    Document, Embedder, Endpoint, HashingEmbedder, LocalOptions, OpenAiEmbedder,
    OpenAiEmbedderConfig, Pipeline,
};
use support::ingest;
use support::openai_server::TestServer;

type R = Result<(), Box<dyn std::error::Error>>;

/// Records the size of every passage `embed` call and forwards the hint.
struct CallSizes {
    inner: Arc<dyn Embedder>,
    sizes: Mutex<Vec<usize>>,
}

#[async_trait]
impl Embedder for CallSizes {
    fn fingerprint(&self) -> EmbedderFingerprint {
        self.inner.fingerprint()
    }

    async fn embed(&self, request: EmbedRequest) -> ragcore::Result<EmbedResponse> {
        if request.input_type == InputType::Passage {
            self.sizes
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(request.texts.len());
        }
        self.inner.embed(request).await
    }

    fn texts_per_call_hint(&self) -> Option<usize> {
        self.inner.texts_per_call_hint()
    }
}

fn docs(n: usize) -> Vec<Document> {
    (0..n)
        .map(|i| {
            Document::new(
                format!("doc-{i}.md"),
                format!("Item {i} ships in {i} days."),
            )
        })
        .collect()
}

async fn ingest_with(
    inner: Arc<dyn Embedder>,
    n: usize,
) -> Result<Vec<usize>, Box<dyn std::error::Error>> {
    let rec = Arc::new(CallSizes {
        inner,
        sizes: Mutex::new(Vec::new()),
    });
    let dir = tempfile::tempdir()?;
    let p = Pipeline::open_local(
        dir.path(),
        LocalOptions {
            embedder: Some(rec.clone()),
            ..Default::default()
        },
    )
    .await?;
    let report = ingest(&p, "t", docs(n)).await?;
    assert_eq!(report.chunks_embedded, n as u64);
    let sizes = rec.sizes.lock().map_err(|_| "lock")?.clone();
    Ok(sizes)
}

#[tokio::test]
async fn ingest_fills_the_openai_embedders_batches_and_concurrency() -> R {
    let server = TestServer::start(16).await?;
    let mut cfg = OpenAiEmbedderConfig::new(Endpoint::new(server.base_url.clone(), None), "m", 16);
    cfg.batch_size = 8;
    cfg.concurrency = 4;
    let e = OpenAiEmbedder::new(cfg)?;
    assert_eq!(e.texts_per_call_hint(), Some(8 * 4 * 4));
    let sizes = ingest_with(Arc::new(e), 200).await?;
    // 128 texts per call (four rounds of 4 requests of 8), not the pipeline's 64.
    assert_eq!(sizes, vec![128, 72]);
    assert_eq!(
        server.request_count(),
        16 + 9,
        "every request is a full batch of 8"
    );
    Ok(())
}

#[tokio::test]
async fn without_a_hint_ingest_uses_embed_batch() -> R {
    let e = HashingEmbedder::default();
    assert_eq!(e.texts_per_call_hint(), None);
    let sizes = ingest_with(Arc::new(e), 200).await?;
    assert_eq!(sizes, vec![64, 64, 64, 8]);
    Ok(())
}
