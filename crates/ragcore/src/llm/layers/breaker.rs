//! [`CircuitBreaker`]: after `failure_threshold` consecutive failures the model is not called for
//! `open_for`; then one probe call decides whether it closes again or stays open.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::ChatLayer;
use crate::error::{Error, Result};
use crate::llm::stream::first_event;
use crate::llm::{ChatModel, ChatRequest, ChatResponse, ChatStream};

/// The breaker's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Calls pass; this many consecutive failures so far.
    Closed(u32),
    /// Calls fail fast until the instant.
    Open(Instant),
    /// One probe call is in flight; others fail fast.
    HalfOpen,
}

/// Stops calling a model that keeps failing.
pub struct CircuitBreaker<M: ?Sized> {
    inner: Arc<M>,
    failure_threshold: u32,
    open_for: Duration,
    state: Mutex<BreakerState>,
}

/// Makes [`CircuitBreaker`]s.
#[derive(Debug, Clone, Copy)]
pub struct CircuitBreakerLayer {
    /// Consecutive failures that open the breaker.
    pub failure_threshold: u32,
    /// How long it stays open before a probe.
    pub open_for: Duration,
}

impl Default for CircuitBreakerLayer {
    fn default() -> Self {
        CircuitBreakerLayer {
            failure_threshold: 5,
            open_for: Duration::from_secs(30),
        }
    }
}

impl CircuitBreakerLayer {
    /// Builds a breaker for `inner`, keeping its concrete type (to read its state).
    pub fn wrap<M: ChatModel + ?Sized>(&self, inner: Arc<M>) -> CircuitBreaker<M> {
        CircuitBreaker {
            inner,
            failure_threshold: self.failure_threshold.max(1),
            open_for: self.open_for,
            state: Mutex::new(BreakerState::Closed(0)),
        }
    }
}

impl ChatLayer for CircuitBreakerLayer {
    fn layer(&self, inner: Arc<dyn ChatModel>) -> Arc<dyn ChatModel> {
        Arc::new(self.wrap(inner))
    }
}

impl<M: ChatModel + ?Sized> CircuitBreaker<M> {
    /// The current state.
    pub fn state(&self) -> Result<BreakerState> {
        Ok(*self
            .state
            .lock()
            .map_err(|_| Error::poisoned("circuit breaker"))?)
    }

    fn open_error(&self, remaining: Duration) -> Error {
        Error::Provider {
            provider: format!("circuit-breaker({})", self.inner.name()),
            status: None,
            retryable: false,
            retry_after: Some(remaining),
            message: format!(
                "circuit open after {} consecutive failures; next probe in {} ms",
                self.failure_threshold,
                remaining.as_millis()
            ),
        }
    }

    /// Admits a call (`Ok(is_probe)`) or fails fast.
    fn admit(&self) -> Result<bool> {
        let mut st = self
            .state
            .lock()
            .map_err(|_| Error::poisoned("circuit breaker"))?;
        match *st {
            BreakerState::Closed(_) => Ok(false),
            BreakerState::Open(until) => {
                let now = Instant::now();
                if now >= until {
                    *st = BreakerState::HalfOpen;
                    Ok(true)
                } else {
                    Err(self.open_error(until - now))
                }
            }
            BreakerState::HalfOpen => Err(self.open_error(Duration::ZERO)),
        }
    }

    fn record(&self, failed: bool, probe: bool) -> Result<()> {
        let mut st = self
            .state
            .lock()
            .map_err(|_| Error::poisoned("circuit breaker"))?;
        *st = match (*st, failed) {
            (_, false) => BreakerState::Closed(0),
            (_, true) if probe => BreakerState::Open(Instant::now() + self.open_for),
            (BreakerState::Closed(n), true) if n + 1 >= self.failure_threshold => {
                tracing::warn!(target: "ragcore::llm", model = %self.inner.name(), failures = n + 1, "circuit breaker opened");
                BreakerState::Open(Instant::now() + self.open_for)
            }
            (BreakerState::Closed(n), true) => BreakerState::Closed(n + 1),
            (other, true) => other,
        };
        Ok(())
    }
}

#[async_trait]
impl<M: ChatModel + ?Sized> ChatModel for CircuitBreaker<M> {
    fn name(&self) -> String {
        self.inner.name()
    }

    async fn chat(&self, request: ChatRequest) -> Result<ChatResponse> {
        let probe = self.admit()?;
        let result = self.inner.chat(request).await;
        let failed = matches!(&result, Err(e) if e.is_unavailable());
        self.record(failed, probe)?;
        result
    }

    /// A stream counts as a success once its first event arrived.
    async fn chat_stream(&self, request: ChatRequest) -> Result<ChatStream> {
        let probe = self.admit()?;
        let result = match self.inner.chat_stream(request).await {
            Ok(s) => first_event(s).await,
            Err(e) => Err(e),
        };
        let failed = matches!(&result, Err(e) if e.is_unavailable());
        self.record(failed, probe)?;
        result
    }
}
