//! An embedder wrapper that counts the texts it is asked to embed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use ragcore::embed::{EmbedRequest, EmbedResponse, EmbedderFingerprint};
use ragcore::Embedder;

/// Counts passage texts sent to the inner embedder (queries are not counted).
pub struct CountingEmbedder {
    pub inner: Arc<dyn Embedder>,
    pub passages: AtomicU64,
}

impl CountingEmbedder {
    pub fn new(inner: Arc<dyn Embedder>) -> Arc<Self> {
        Arc::new(CountingEmbedder {
            inner,
            passages: AtomicU64::new(0),
        })
    }

    pub fn take(&self) -> u64 {
        self.passages.swap(0, Ordering::SeqCst)
    }
}

#[async_trait]
impl Embedder for CountingEmbedder {
    fn fingerprint(&self) -> EmbedderFingerprint {
        self.inner.fingerprint()
    }

    async fn embed(&self, request: EmbedRequest) -> ragcore::Result<EmbedResponse> {
        if request.input_type == ragcore::embed::InputType::Passage {
            self.passages
                .fetch_add(request.texts.len() as u64, Ordering::SeqCst);
        }
        self.inner.embed(request).await
    }
}
