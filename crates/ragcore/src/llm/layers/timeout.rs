//! [`Timeout`]: bounds each call.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::ChatLayer;
use crate::error::{Error, Result};
use crate::llm::{ChatModel, ChatRequest, ChatResponse};

/// Fails a call with [`Error::Timeout`] (retryable) when it takes longer than `duration`.
pub struct Timeout<M: ?Sized> {
    inner: Arc<M>,
    duration: Duration,
}

/// Makes [`Timeout`]s.
#[derive(Debug, Clone, Copy)]
pub struct TimeoutLayer {
    duration: Duration,
}

impl TimeoutLayer {
    /// A timeout of `duration` per call.
    pub fn new(duration: Duration) -> Self {
        TimeoutLayer { duration }
    }
}

impl ChatLayer for TimeoutLayer {
    fn layer(&self, inner: Arc<dyn ChatModel>) -> Arc<dyn ChatModel> {
        Arc::new(Timeout {
            inner,
            duration: self.duration,
        })
    }
}

#[async_trait]
impl<M: ChatModel + ?Sized> ChatModel for Timeout<M> {
    fn name(&self) -> String {
        self.inner.name()
    }

    async fn chat(&self, request: ChatRequest) -> Result<ChatResponse> {
        match tokio::time::timeout(self.duration, self.inner.chat(request)).await {
            Ok(r) => r,
            Err(_) => Err(Error::Timeout {
                operation: format!("chat with {}", self.inner.name()),
                millis: self.duration.as_millis() as u64,
            }),
        }
    }
}
