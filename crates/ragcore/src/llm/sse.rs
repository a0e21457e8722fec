//! Server-sent events of an OpenAI-compatible streaming chat completion
//! (`stream: true`, `stream_options.include_usage`), turned into [`ChatEvent`]s.

use std::collections::VecDeque;

use futures::stream::{self, StreamExt};
use secrecy::ExposeSecret;
use serde_json::Value;

use super::stream::{truncated, ChatEvent, ChatStream};
use super::{ChatRequest, ChatResponse};
use crate::error::{Error, Result};
use crate::http::{parse_retry_after, Endpoint};

/// Turns a finished stream (text, last usage object, model) into the final reply.
pub(crate) type Finisher =
    Box<dyn Fn(String, Option<Value>, String) -> Result<ChatResponse> + Send + Sync>;

/// Sends the request and returns the stream of events; an HTTP error status is an `Err` here
/// (before any event), classified like the non-streaming call.
pub(crate) async fn open(
    endpoint: &Endpoint,
    client: &reqwest::Client,
    provider: &'static str,
    body: &Value,
    model: String,
    finish: Finisher,
) -> Result<ChatStream> {
    let mut req = client
        .post(endpoint.url("chat/completions"))
        .header(reqwest::header::ACCEPT, "text/event-stream")
        .json(body);
    if let Some(k) = &endpoint.api_key {
        req = req.bearer_auth(k.expose_secret());
    }
    let resp = req
        .send()
        .await
        .map_err(|e| endpoint.transport_error(provider, e))?;
    let status = resp.status();
    if !status.is_success() {
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let text = resp.text().await.unwrap_or_default();
        let mut err = endpoint.status_error(provider, status.as_u16(), &text);
        if let Error::Provider {
            retry_after: ra, ..
        } = &mut err
        {
            *ra = retry_after;
        }
        return Err(err);
    }
    let state = SseState {
        resp,
        endpoint: endpoint.clone(),
        provider,
        buf: Vec::new(),
        pending: VecDeque::new(),
        text: String::new(),
        usage: None,
        model,
        finish_reason: false,
        done: false,
        finish,
    };
    Ok(stream::unfold(state, |mut st| async move {
        loop {
            if let Some(ev) = st.pending.pop_front() {
                return Some((ev, st));
            }
            if st.done {
                return None;
            }
            match st.resp.chunk().await {
                Ok(Some(bytes)) => {
                    st.buf.extend_from_slice(&bytes);
                    st.drain_events();
                }
                Ok(None) => {
                    st.done = true;
                    if st.finish_reason {
                        // No `[DONE]` but the model said it finished: accept.
                        st.complete();
                    } else {
                        st.pending.push_back(Err(truncated(&format!(
                            "{} stream ended after {} characters without finish_reason or [DONE]",
                            st.provider,
                            st.text.chars().count()
                        ))));
                    }
                }
                Err(e) => {
                    st.done = true;
                    let err = st.endpoint.transport_error(st.provider, e);
                    st.pending.push_back(Err(err));
                }
            }
        }
    })
    .boxed())
}

struct SseState {
    resp: reqwest::Response,
    endpoint: Endpoint,
    provider: &'static str,
    buf: Vec<u8>,
    pending: VecDeque<Result<ChatEvent>>,
    text: String,
    usage: Option<Value>,
    model: String,
    finish_reason: bool,
    done: bool,
    finish: Finisher,
}

impl SseState {
    /// Parses every complete event in the buffer.
    fn drain_events(&mut self) {
        while !self.done {
            let Some((end, sep)) = find_separator(&self.buf) else {
                return;
            };
            let raw: Vec<u8> = self.buf.drain(..end + sep).collect();
            let event = String::from_utf8_lossy(&raw[..end]).to_string();
            let data: Vec<&str> = event
                .lines()
                .filter_map(|l| l.strip_prefix("data:"))
                .map(str::trim_start)
                .collect();
            if data.is_empty() {
                continue; // a comment or keep-alive
            }
            let data = data.join("\n");
            if data.trim() == "[DONE]" {
                self.done = true;
                self.complete();
                return;
            }
            if let Err(e) = self.on_data(&data) {
                self.done = true;
                self.pending.push_back(Err(e));
            }
        }
    }

    fn on_data(&mut self, data: &str) -> Result<()> {
        let v: Value = serde_json::from_str(data).map_err(|e| Error::Provider {
            provider: self.provider.into(),
            status: Some(200),
            retryable: true,
            retry_after: None,
            message: format!("malformed JSON in a stream event: {e}"),
        })?;
        if let Some(err) = v.get("error") {
            let msg = err
                .get("message")
                .and_then(|m| m.as_str())
                .unwrap_or("error event in stream");
            return Err(Error::Provider {
                provider: self.provider.into(),
                status: None,
                retryable: true,
                retry_after: None,
                message: self.endpoint.scrub(msg),
            });
        }
        if let Some(m) = v.get("model").and_then(|m| m.as_str()) {
            if !m.is_empty() {
                self.model = m.to_string();
            }
        }
        if let Some(u) = v.get("usage").filter(|u| !u.is_null()) {
            self.usage = Some(u.clone());
        }
        if let Some(choice) = v.pointer("/choices/0") {
            if let Some(d) = choice.pointer("/delta/content").and_then(|c| c.as_str()) {
                if !d.is_empty() {
                    self.text.push_str(d);
                    self.pending.push_back(Ok(ChatEvent::Delta(d.to_string())));
                }
            }
            if choice.get("finish_reason").is_some_and(|f| !f.is_null()) {
                self.finish_reason = true;
            }
        }
        Ok(())
    }

    fn complete(&mut self) {
        let text = std::mem::take(&mut self.text);
        let r = (self.finish)(text, self.usage.take(), self.model.clone());
        self.pending.push_back(r.map(ChatEvent::Done));
    }
}

/// The end of the first event in `buf` and the separator's length (`\n\n` or `\r\n\r\n`).
fn find_separator(buf: &[u8]) -> Option<(usize, usize)> {
    let lf = buf.windows(2).position(|w| w == b"\n\n").map(|i| (i, 2));
    let crlf = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| (i, 4));
    match (lf, crlf) {
        (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
        (a, b) => a.or(b),
    }
}

/// Keeps the request for estimating usage when the provider reports none.
pub(crate) fn request_for_estimate(r: &ChatRequest) -> ChatRequest {
    ChatRequest {
        messages: r.messages.clone(),
        no_answer_text: r.no_answer_text.clone(),
        ..Default::default()
    }
}
