//! Streaming chat: [`ChatEvent`]s (text deltas, then the complete [`ChatResponse`]) and helpers
//! the layers use to decide on the first event (retry, timeout, breaker and fallback only act
//! before the first token reaches the caller).

use std::pin::Pin;

use futures::stream::{self, BoxStream, StreamExt};

use super::ChatResponse;
use crate::error::{Error, Result};

/// One event of a streamed reply.
#[derive(Debug, Clone, PartialEq)]
pub enum ChatEvent {
    /// A piece of the answer text, in order.
    Delta(String),
    /// The complete reply (text, model, usage, refusal); always the last event of a stream that
    /// did not fail.
    Done(ChatResponse),
}

/// A streamed reply: events until `Done`, or an error (a stream that ends without `Done` is
/// truncated and yields an error as its last item).
pub type ChatStream = BoxStream<'static, Result<ChatEvent>>;

/// A stream of one finished reply: the whole text as one delta, then `Done`. The default
/// `chat_stream` of models that cannot stream.
pub fn single_reply(response: ChatResponse) -> ChatStream {
    let mut events = Vec::with_capacity(2);
    if !response.text.is_empty() {
        events.push(Ok(ChatEvent::Delta(response.text.clone())));
    }
    events.push(Ok(ChatEvent::Done(response)));
    stream::iter(events).boxed()
}

/// Waits for the first event of `stream`: an error there (the request failed before any token)
/// is returned as `Err`, so layers can retry or fall back; otherwise the stream is given back
/// with that event still at its head.
pub async fn first_event(mut stream: ChatStream) -> Result<ChatStream> {
    match stream.next().await {
        None => Err(truncated("the stream ended before any event")),
        Some(Err(e)) => Err(e),
        Some(Ok(ev)) => Ok(stream::once(async move { Ok(ev) }).chain(stream).boxed()),
    }
}

/// Collects a stream into its final reply (the deltas are dropped; `Done` carries the text).
pub async fn collect(mut stream: Pin<&mut ChatStream>) -> Result<ChatResponse> {
    while let Some(ev) = stream.next().await {
        if let ChatEvent::Done(r) = ev? {
            return Ok(r);
        }
    }
    Err(truncated("the stream ended without a final reply"))
}

/// The error of a stream cut short (retryable: asking again may succeed).
pub(crate) fn truncated(what: &str) -> Error {
    Error::Provider {
        provider: "chat-stream".into(),
        status: None,
        retryable: true,
        retry_after: None,
        message: format!("{what} (truncated stream); retry or use the non-streaming call"),
    }
}
