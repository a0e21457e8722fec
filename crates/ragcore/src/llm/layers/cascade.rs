//! [`Cascade`]: the small (cheap) model answers first; the large model is called only when the
//! small answer refuses or is not grounded enough in the passages. Both calls are paid for: the
//! small call is reported in [`ChatResponse::calls`], and `model` names the model whose text is
//! returned.

use std::sync::Arc;

use async_trait::async_trait;

use super::ChatLayer;
use crate::error::Result;
use crate::guard::GroundednessChecker;
use crate::llm::stream::single_reply;
use crate::llm::{ChatModel, ChatRequest, ChatResponse, ChatStream, ModelCall};
use crate::text::Segmenter;

/// Why a cascade escalated (or not), also logged.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CascadeDecision {
    /// The small model's answer was kept (its groundedness).
    Kept(f32),
    /// The small model refused.
    Refused,
    /// The small answer's groundedness was below the threshold.
    Ungrounded(f32),
}

/// Small model first, the wrapped (large) model when needed.
pub struct Cascade<M: ?Sized> {
    large: Arc<M>,
    small: Arc<dyn ChatModel>,
    min_groundedness: f32,
    escalate_on_refusal: bool,
    checker: GroundednessChecker,
}

/// Makes [`Cascade`]s: the layered model becomes the large one.
#[derive(Clone)]
pub struct CascadeLayer {
    small: Arc<dyn ChatModel>,
    /// Small answers scoring below this groundedness (0..1) escalate (default 0.6).
    pub min_groundedness: f32,
    /// A refusal by the small model escalates (default true): the large model may find the
    /// answer the small one missed.
    pub escalate_on_refusal: bool,
    /// Terms used to score groundedness.
    pub segmenter: Segmenter,
}

impl CascadeLayer {
    /// Tries `small` first.
    pub fn new(small: Arc<dyn ChatModel>) -> Self {
        CascadeLayer {
            small,
            min_groundedness: 0.6,
            escalate_on_refusal: true,
            segmenter: Segmenter::default(),
        }
    }

    /// Sets the groundedness threshold.
    pub fn min_groundedness(mut self, t: f32) -> Self {
        self.min_groundedness = t;
        self
    }

    /// Builds a cascade with `large` as the escalation target.
    pub fn wrap<M: ChatModel + ?Sized>(&self, large: Arc<M>) -> Cascade<M> {
        Cascade {
            large,
            small: self.small.clone(),
            min_groundedness: self.min_groundedness,
            escalate_on_refusal: self.escalate_on_refusal,
            checker: GroundednessChecker::new(self.segmenter),
        }
    }
}

impl ChatLayer for CascadeLayer {
    fn layer(&self, inner: Arc<dyn ChatModel>) -> Arc<dyn ChatModel> {
        Arc::new(self.wrap(inner))
    }
}

impl<M: ChatModel + ?Sized> Cascade<M> {
    /// Whether the small reply is good enough.
    pub fn decide(&self, request: &ChatRequest, reply: &ChatResponse) -> CascadeDecision {
        if reply.refused {
            return if self.escalate_on_refusal {
                CascadeDecision::Refused
            } else {
                CascadeDecision::Kept(1.0)
            };
        }
        let passages: Vec<&str> = request.passages.iter().map(|p| p.text.as_str()).collect();
        let g = self.checker.check(&reply.text, &passages).score;
        if g < self.min_groundedness {
            CascadeDecision::Ungrounded(g)
        } else {
            CascadeDecision::Kept(g)
        }
    }
}

#[async_trait]
impl<M: ChatModel + ?Sized> ChatModel for Cascade<M> {
    fn name(&self) -> String {
        self.large.name()
    }

    async fn chat(&self, request: ChatRequest) -> Result<ChatResponse> {
        let small = match self.small.chat(request.clone()).await {
            Ok(r) => r,
            Err(e) if e.is_unavailable() => {
                tracing::warn!(target: "ragcore::llm", small = %self.small.name(), error = %e, "cascade: small model unavailable, asking the large one");
                return self.large.chat(request).await;
            }
            Err(e) => return Err(e),
        };
        let decision = self.decide(&request, &small);
        if let CascadeDecision::Kept(_) = decision {
            return Ok(small);
        }
        tracing::info!(target: "ragcore::llm", small = %small.model, large = %self.large.name(), ?decision, "cascade: escalating");
        let mut large = self.large.chat(request).await?;
        let mut calls = small.calls;
        calls.push(ModelCall {
            model: small.model,
            usage: small.usage,
        });
        calls.append(&mut large.calls);
        large.calls = calls;
        Ok(large)
    }

    /// The small model's answer must be judged whole before anything is shown, so it is not
    /// streamed; the large model (when escalated to) streams.
    async fn chat_stream(&self, request: ChatRequest) -> Result<ChatStream> {
        let small = match self.small.chat(request.clone()).await {
            Ok(r) => r,
            Err(e) if e.is_unavailable() => return self.large.chat_stream(request).await,
            Err(e) => return Err(e),
        };
        if let CascadeDecision::Kept(_) = self.decide(&request, &small) {
            return Ok(single_reply(small));
        }
        let call = ModelCall {
            model: small.model.clone(),
            usage: small.usage,
        };
        let mut earlier = small.calls;
        earlier.push(call);
        let stream = self.large.chat_stream(request).await?;
        use futures::stream::StreamExt;
        Ok(stream
            .map(move |ev| match ev {
                Ok(crate::llm::ChatEvent::Done(mut r)) => {
                    let mut calls = earlier.clone();
                    calls.append(&mut r.calls);
                    r.calls = calls;
                    Ok(crate::llm::ChatEvent::Done(r))
                }
                other => other,
            })
            .boxed())
    }
}
