//! [`Retry`]: retries retryable errors with exponential backoff and full jitter, honouring
//! `Retry-After`. The policy (what and how long) is separate from the mechanism.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::ChatLayer;
use crate::error::{Error, Result};
use crate::llm::stream::first_event;
use crate::llm::{ChatModel, ChatRequest, ChatResponse, ChatStream};

/// When and how long to wait before retrying.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// Backoff before the first retry; doubled each time.
    pub base_delay: Duration,
    /// Upper bound of any single wait (also caps `Retry-After`).
    pub max_delay: Duration,
    /// Wait a random time in `[0, backoff]` instead of the full backoff.
    pub jitter: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 3,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(20),
            jitter: true,
        }
    }
}

impl RetryPolicy {
    /// Whether to retry after `error` on attempt `attempt` (0-based), and how long to wait.
    pub fn decide(&self, error: &Error, attempt: u32) -> Option<Duration> {
        if attempt >= self.max_retries || !error.is_retryable() {
            return None;
        }
        if let Some(ra) = error.retry_after() {
            return Some(ra.min(self.max_delay));
        }
        let backoff = self
            .base_delay
            .saturating_mul(1u32 << attempt.min(16))
            .min(self.max_delay);
        Some(if self.jitter {
            backoff.mul_f64(unit_random())
        } else {
            backoff
        })
    }
}

/// A cheap random number in [0, 1) (xorshift over a global counter and the clock); jitter only
/// needs to spread clients apart, not cryptographic quality.
fn unit_random() -> f64 {
    static STATE: AtomicU64 = AtomicU64::new(0x9E37_79B9_7F4A_7C15);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u64)
        .unwrap_or(0);
    let mut x = STATE.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed) ^ nanos;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    (x >> 11) as f64 / (1u64 << 53) as f64
}

/// Retries a model's retryable failures.
pub struct Retry<M: ?Sized> {
    inner: Arc<M>,
    policy: RetryPolicy,
}

/// Makes [`Retry`]s.
#[derive(Debug, Clone, Copy, Default)]
pub struct RetryLayer {
    policy: RetryPolicy,
}

impl RetryLayer {
    /// A layer with the given policy.
    pub fn new(policy: RetryPolicy) -> Self {
        RetryLayer { policy }
    }
}

impl ChatLayer for RetryLayer {
    fn layer(&self, inner: Arc<dyn ChatModel>) -> Arc<dyn ChatModel> {
        Arc::new(Retry {
            inner,
            policy: self.policy,
        })
    }
}

#[async_trait]
impl<M: ChatModel + ?Sized> ChatModel for Retry<M> {
    fn name(&self) -> String {
        self.inner.name()
    }

    async fn chat(&self, request: ChatRequest) -> Result<ChatResponse> {
        let mut attempt = 0;
        loop {
            match self.inner.chat(request.clone()).await {
                Ok(r) => return Ok(r),
                Err(e) => match self.policy.decide(&e, attempt) {
                    Some(wait) => {
                        tracing::debug!(target: "ragcore::llm", model = %self.inner.name(), attempt, wait_ms = wait.as_millis() as u64, error = %e, "retrying");
                        tokio::time::sleep(wait).await;
                        attempt += 1;
                    }
                    None => return Err(e),
                },
            }
        }
    }

    /// Retries only until the first event arrives: once a token has reached the caller, a
    /// failure is returned as the stream's error (repeating text is worse than stopping).
    async fn chat_stream(&self, request: ChatRequest) -> Result<ChatStream> {
        let mut attempt = 0;
        loop {
            let opened = match self.inner.chat_stream(request.clone()).await {
                Ok(s) => first_event(s).await,
                Err(e) => Err(e),
            };
            match opened {
                Ok(s) => return Ok(s),
                Err(e) => match self.policy.decide(&e, attempt) {
                    Some(wait) => {
                        tracing::debug!(target: "ragcore::llm", model = %self.inner.name(), attempt, wait_ms = wait.as_millis() as u64, error = %e, "retrying stream before its first token");
                        tokio::time::sleep(wait).await;
                        attempt += 1;
                    }
                    None => return Err(e),
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provider(retryable: bool, retry_after: Option<Duration>) -> Error {
        Error::Provider {
            provider: "p".into(),
            status: Some(429),
            retryable,
            retry_after,
            message: "m".into(),
        }
    }

    #[test]
    fn policy_honours_retry_after_caps_and_stops() {
        let p = RetryPolicy {
            max_retries: 2,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(5),
            jitter: false,
        };
        assert_eq!(
            p.decide(&provider(true, Some(Duration::from_secs(2))), 0),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            p.decide(&provider(true, Some(Duration::from_secs(60))), 0),
            Some(Duration::from_secs(5))
        );
        assert_eq!(
            p.decide(&provider(true, None), 1),
            Some(Duration::from_millis(200))
        );
        assert_eq!(p.decide(&provider(true, None), 2), None, "out of retries");
        assert_eq!(
            p.decide(&provider(false, None), 0),
            None,
            "permanent errors are not retried"
        );
        let j = RetryPolicy { jitter: true, ..p };
        for _ in 0..100 {
            let w = j.decide(&provider(true, None), 1).unwrap_or_default();
            assert!(w <= Duration::from_millis(200));
        }
    }
}
