//! [`Timeout`]: bounds each call.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::ChatLayer;
use crate::error::{Error, Result};
use futures::stream::StreamExt;

use crate::llm::stream::first_event;
use crate::llm::{ChatModel, ChatRequest, ChatResponse, ChatStream};

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

    /// Bounds the time to the first event (a slow first token times out and can be retried),
    /// then each gap between events (a stream that stalls ends with a timeout error).
    async fn chat_stream(&self, request: ChatRequest) -> Result<ChatStream> {
        let duration = self.duration;
        let millis = duration.as_millis() as u64;
        let operation = format!("chat stream with {}", self.inner.name());
        let opened = async { first_event(self.inner.chat_stream(request).await?).await };
        let stream = match tokio::time::timeout(duration, opened).await {
            Ok(r) => r?,
            Err(_) => {
                return Err(Error::Timeout {
                    operation: format!("{operation} (first token)"),
                    millis,
                })
            }
        };
        Ok(futures::stream::unfold(Some(stream), move |st| {
            let operation = format!("{operation} (between tokens)");
            async move {
                let mut s = st?;
                match tokio::time::timeout(duration, s.next()).await {
                    Ok(Some(ev)) => Some((ev, Some(s))),
                    Ok(None) => None,
                    Err(_) => Some((Err(Error::Timeout { operation, millis }), None)),
                }
            }
        })
        .boxed())
    }
}
