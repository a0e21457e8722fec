//! [`Fallback`]: when a model is unavailable (provider error, timeout, open breaker), the next
//! model in the list answers.

use std::sync::Arc;

use async_trait::async_trait;

use super::ChatLayer;
use crate::error::Result;
use crate::llm::stream::first_event;
use crate::llm::{ChatModel, ChatRequest, ChatResponse, ChatStream};

/// Tries `inner`, then each fallback in order, on unavailability errors.
pub struct Fallback<M: ?Sized> {
    inner: Arc<M>,
    fallbacks: Vec<Arc<dyn ChatModel>>,
}

/// Makes [`Fallback`]s.
#[derive(Clone)]
pub struct FallbackLayer {
    fallbacks: Vec<Arc<dyn ChatModel>>,
}

impl FallbackLayer {
    /// Falls back to these models, in order.
    pub fn new(fallbacks: Vec<Arc<dyn ChatModel>>) -> Self {
        FallbackLayer { fallbacks }
    }
}

impl ChatLayer for FallbackLayer {
    fn layer(&self, inner: Arc<dyn ChatModel>) -> Arc<dyn ChatModel> {
        Arc::new(Fallback {
            inner,
            fallbacks: self.fallbacks.clone(),
        })
    }
}

#[async_trait]
impl<M: ChatModel + ?Sized> ChatModel for Fallback<M> {
    fn name(&self) -> String {
        self.inner.name()
    }

    async fn chat(&self, request: ChatRequest) -> Result<ChatResponse> {
        let mut last = match self.inner.chat(request.clone()).await {
            Ok(r) => return Ok(r),
            Err(e) if e.is_unavailable() => e,
            Err(e) => return Err(e),
        };
        for f in &self.fallbacks {
            tracing::warn!(target: "ragcore::llm", failed = %last, next = %f.name(), "falling back");
            match f.chat(request.clone()).await {
                Ok(r) => return Ok(r),
                Err(e) if e.is_unavailable() => last = e,
                Err(e) => return Err(e),
            }
        }
        Err(last)
    }

    /// Falls back when a model fails before its first event.
    async fn chat_stream(&self, request: ChatRequest) -> Result<ChatStream> {
        let open = |m: Arc<dyn ChatModel>, r: ChatRequest| async move {
            first_event(m.chat_stream(r).await?).await
        };
        let mut last =
            match async { first_event(self.inner.chat_stream(request.clone()).await?).await }.await
            {
                Ok(s) => return Ok(s),
                Err(e) if e.is_unavailable() => e,
                Err(e) => return Err(e),
            };
        for f in &self.fallbacks {
            tracing::warn!(target: "ragcore::llm", failed = %last, next = %f.name(), "falling back (stream)");
            match open(f.clone(), request.clone()).await {
                Ok(s) => return Ok(s),
                Err(e) if e.is_unavailable() => last = e,
                Err(e) => return Err(e),
            }
        }
        Err(last)
    }
}
