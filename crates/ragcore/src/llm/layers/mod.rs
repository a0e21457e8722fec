//! Middleware around any [`ChatModel`], tower-style: each concern is a wrapper `X<M>` made by an
//! `XLayer`, and a [`ChatStack`] applies layers with the first added outermost.
//!
//! ```no_run
//! # fn demo(primary: std::sync::Arc<dyn ragcore::ChatModel>, backup: std::sync::Arc<dyn ragcore::ChatModel>) {
//! use std::time::Duration;
//! use ragcore::llm::layers::{ChatStack, CircuitBreakerLayer, FallbackLayer, RetryLayer, TimeoutLayer};
//! let model = ChatStack::new(primary)
//!     .layer(FallbackLayer::new(vec![backup]))      // outermost: another model when this stack fails
//!     .layer(CircuitBreakerLayer::default())         // stop calling a model that keeps failing
//!     .layer(RetryLayer::default())                  // retry transient errors, honour Retry-After
//!     .layer(TimeoutLayer::new(Duration::from_secs(20))) // innermost: bound each attempt
//!     .build();
//! # }
//! ```

mod breaker;
mod cascade;
mod fallback;
mod retry;
mod timeout;

use std::sync::Arc;

pub use breaker::{BreakerState, CircuitBreaker, CircuitBreakerLayer};
pub use cascade::{Cascade, CascadeDecision, CascadeLayer};
pub use fallback::{Fallback, FallbackLayer};
pub use retry::{Retry, RetryLayer, RetryPolicy};
pub use timeout::{Timeout, TimeoutLayer};

use super::ChatModel;

/// Wraps a chat model in another.
pub trait ChatLayer: Send + Sync {
    /// Returns `inner` wrapped by this layer.
    fn layer(&self, inner: Arc<dyn ChatModel>) -> Arc<dyn ChatModel>;
}

/// Builds a layered chat model; the first layer added is the outermost.
pub struct ChatStack {
    base: Arc<dyn ChatModel>,
    layers: Vec<Box<dyn ChatLayer>>,
}

impl ChatStack {
    /// Starts from the model that does the work.
    pub fn new(base: Arc<dyn ChatModel>) -> Self {
        ChatStack {
            base,
            layers: Vec::new(),
        }
    }

    /// Adds a layer inside the ones already added.
    pub fn layer(mut self, layer: impl ChatLayer + 'static) -> Self {
        self.layers.push(Box::new(layer));
        self
    }

    /// The layered model.
    pub fn build(self) -> Arc<dyn ChatModel> {
        self.layers
            .iter()
            .rev()
            .fold(self.base, |inner, l| l.layer(inner))
    }
}
