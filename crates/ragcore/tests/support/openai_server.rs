//! A real HTTP server on 127.0.0.1 that speaks the OpenAI API (`/v1/embeddings`,
//! `/v1/chat/completions`, and a Cohere-style `/v1/rerank`), with scripted faults. Tests talk to it through the real clients.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};

/// A chat answer that makes the server reply with the request's system message.
pub const ECHO_SYSTEM: &str = "<<echo the system message>>";

/// What the server does for one request.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Answer normally.
    Ok,
    /// Return this status and body.
    Status(u16, String),
    /// Return a body that is not JSON.
    Malformed,
    /// Wait this long before answering normally.
    Delay(std::time::Duration),
    /// 429 with a `Retry-After` header of this many seconds.
    RateLimited(u64),
    /// Streaming only: send this many content events, then close the connection without a
    /// finish reason or `[DONE]`.
    Truncated(usize),
    /// Streaming only: one content event, then an event whose data is not JSON.
    MalformedEvent,
    /// Streaming only: the status and headers at once, the first event after this long.
    SlowFirstToken(std::time::Duration),
    /// Streaming only: no `usage` event even when `include_usage` was asked for.
    NoUsage,
}

/// Shared state: scripted faults (consumed in order, then `Ok`), and what was received.
#[derive(Default)]
pub struct ServerState {
    /// Faults for the next requests.
    pub script: Mutex<VecDeque<Fault>>,
    /// Bodies received.
    pub requests: Mutex<Vec<Value>>,
    /// Authorization headers received.
    pub auth: Mutex<Vec<String>>,
    /// The chat answer to give.
    pub chat_answer: Mutex<String>,
    /// Answers given first, one per chat request, before `chat_answer`.
    pub chat_answers: Mutex<VecDeque<String>>,
    /// Embedding dimensions.
    pub dims: usize,
    /// The `usage` object of chat replies (streamed and not).
    pub usage: Mutex<Value>,
    /// Streaming faults taken by the next streamed replies (consumed in order).
    pub stream_script: Mutex<VecDeque<Fault>>,
    /// When set, computes the chat answer from the request body (a scripted "model" that
    /// follows the prompt), instead of `chat_answer`.
    pub responder: Mutex<Option<Responder>>,
}

/// Computes a chat answer from the request body.
pub type Responder = Arc<dyn Fn(&Value) -> String + Send + Sync>;

/// A running server.
pub struct TestServer {
    /// `http://127.0.0.1:PORT/v1`
    pub base_url: String,
    /// Its state.
    pub state: Arc<ServerState>,
    handle: tokio::task::JoinHandle<()>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.handle.abort();
    }
}

impl TestServer {
    /// Starts a server on an ephemeral port.
    pub async fn start(dims: usize) -> std::io::Result<TestServer> {
        let state = Arc::new(ServerState {
            dims,
            ..Default::default()
        });
        *state.chat_answer.lock().unwrap_or_else(|e| e.into_inner()) =
            "Returns are accepted within 7 days [1].".into();
        *state.usage.lock().unwrap_or_else(|e| e.into_inner()) =
            json!({"prompt_tokens": 123, "completion_tokens": 17, "total_tokens": 140});
        let app = Router::new()
            .route("/v1/embeddings", post(embeddings))
            .route("/v1/chat/completions", post(chat))
            .route("/v1/rerank", post(rerank))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let addr = listener.local_addr()?;
        let handle = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(TestServer {
            base_url: format!("http://{addr}/v1"),
            state,
            handle,
        })
    }

    /// Queues faults for the next requests.
    pub fn script(&self, faults: impl IntoIterator<Item = Fault>) {
        self.state
            .script
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(faults);
    }

    /// Queues chat answers for the next chat requests (then `chat_answer` again). An answer
    /// of [`ECHO_SYSTEM`] replies with the request's system message (a prompt leak).
    pub fn answers<S: Into<String>>(&self, answers: impl IntoIterator<Item = S>) {
        self.state
            .chat_answers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(answers.into_iter().map(Into::into));
    }

    /// The bodies of the chat requests received.
    pub fn chat_requests(&self) -> Vec<Value> {
        self.state
            .requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|b| b.get("messages").is_some())
            .cloned()
            .collect()
    }

    /// Sets the chat answer.
    pub fn answer(&self, text: &str) {
        *self
            .state
            .chat_answer
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = text.to_string();
    }

    /// Sets the usage object of chat replies.
    pub fn set_usage(&self, usage: Value) {
        *self.state.usage.lock().unwrap_or_else(|e| e.into_inner()) = usage;
    }

    /// Queues streaming faults (`Truncated`, `MalformedEvent`, `SlowFirstToken`, `NoUsage`)
    /// for the next streamed replies; `Ok` streams normally.
    pub fn script_stream(&self, faults: impl IntoIterator<Item = Fault>) {
        self.state
            .stream_script
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(faults);
    }

    /// Answers chat requests with `f(body)`.
    pub fn respond_with(&self, f: impl Fn(&Value) -> String + Send + Sync + 'static) {
        *self
            .state
            .responder
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(f));
    }

    /// Number of requests received.
    pub fn request_count(&self) -> usize {
        self.state
            .requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    }
}

async fn next_fault(state: &ServerState, body: &Value, headers: &HeaderMap) -> Option<Response> {
    state
        .requests
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(body.clone());
    if let Some(a) = headers.get("authorization").and_then(|v| v.to_str().ok()) {
        state
            .auth
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(a.to_string());
    }
    let fault = state
        .script
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .pop_front()
        .unwrap_or(Fault::Ok);
    match fault {
        Fault::Ok => None,
        Fault::Status(code, body) => Some(
            (
                StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                body,
            )
                .into_response(),
        ),
        Fault::Malformed => Some((StatusCode::OK, "{not json").into_response()),
        Fault::Delay(d) => {
            tokio::time::sleep(d).await;
            None
        }
        Fault::Truncated(_) | Fault::MalformedEvent | Fault::SlowFirstToken(_) | Fault::NoUsage => {
            None
        }
        Fault::RateLimited(secs) => Some(
            (
                StatusCode::TOO_MANY_REQUESTS,
                [("retry-after", secs.to_string())],
                r#"{"error":{"type":"rate_limit_exceeded","message":"slow down"}}"#,
            )
                .into_response(),
        ),
    }
}

/// A deterministic embedding: character histogram hashed into `dims` buckets, normalised.
fn embed_text(text: &str, dims: usize) -> Vec<f32> {
    let mut v = vec![0f32; dims];
    for c in text.chars() {
        v[(c as usize * 31) % dims] += 1.0;
    }
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-6);
    v.iter().map(|x| x / n).collect()
}

async fn embeddings(
    State(state): State<Arc<ServerState>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Some(r) = next_fault(&state, &body, &headers).await {
        return r;
    }
    let inputs: Vec<String> = match &body["input"] {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a
            .iter()
            .filter_map(|x| x.as_str().map(String::from))
            .collect(),
        _ => {
            return (
                StatusCode::BAD_REQUEST,
                r#"{"error":{"message":"bad input"}}"#,
            )
                .into_response()
        }
    };
    let data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .map(|(i, t)| json!({"object": "embedding", "index": i, "embedding": embed_text(t, state.dims)}))
        .collect();
    let tokens: usize = inputs.iter().map(|t| t.chars().count().div_ceil(2)).sum();
    Json(json!({"object": "list", "data": data, "model": body["model"], "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}))
        .into_response()
}

async fn chat(
    State(state): State<Arc<ServerState>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Some(r) = next_fault(&state, &body, &headers).await {
        return r;
    }
    let queued = state
        .chat_answers
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .pop_front();
    let responder = state
        .responder
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let mut answer = match (queued, responder) {
        (Some(q), _) => q,
        (None, Some(f)) => f(&body),
        (None, None) => state
            .chat_answer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone(),
    };
    if answer == ECHO_SYSTEM {
        answer = body["messages"][0]["content"]
            .as_str()
            .unwrap_or("")
            .to_string();
    }
    let usage = state
        .usage
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    if body["stream"] == json!(true) {
        let fault = state
            .stream_script
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop_front()
            .unwrap_or(Fault::Ok);
        let include_usage = body["stream_options"]["include_usage"] == json!(true);
        return sse_reply(&answer, &body["model"], usage, include_usage, fault);
    }
    Json(json!({
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "model": body["model"],
        "choices": [{"index": 0, "message": {"role": "assistant", "content": answer}, "finish_reason": "stop"}],
        "usage": usage
    }))
    .into_response()
}

/// A streamed chat completion: the answer in word-sized content events, a finish event, the
/// usage event (when asked for) and `[DONE]`, shaped by a streaming fault.
fn sse_reply(
    answer: &str,
    model: &Value,
    usage: Value,
    include_usage: bool,
    fault: Fault,
) -> Response {
    use futures::stream::StreamExt;
    let chunk = |delta: Value, finish: Value| {
        format!(
            "data: {}\n\n",
            json!({"id": "chatcmpl-test", "object": "chat.completion.chunk", "model": model,
                   "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
        )
    };
    let mut pieces: Vec<String> = Vec::new();
    let mut cur = String::new();
    for c in answer.chars() {
        cur.push(c);
        if c == ' ' {
            pieces.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        pieces.push(cur);
    }
    let mut frames: Vec<String> = vec![chunk(
        json!({"role": "assistant", "content": ""}),
        Value::Null,
    )];
    let content: Vec<String> = pieces
        .iter()
        .map(|p| chunk(json!({"content": p}), Value::Null))
        .collect();
    let mut first_delay = std::time::Duration::ZERO;
    match fault {
        Fault::Truncated(n) => frames.extend(content.into_iter().take(n)),
        Fault::MalformedEvent => {
            frames.extend(content.into_iter().take(1));
            frames.push("data: {\"choices\": [{\"delta\": {\"content\": \"x\"\n\n".into());
        }
        other => {
            if let Fault::SlowFirstToken(d) = other {
                first_delay = d;
            }
            frames.extend(content);
            frames.push(chunk(json!({}), json!("stop")));
            if include_usage && !matches!(other, Fault::NoUsage) {
                frames.push(format!(
                    "data: {}\n\n",
                    json!({"id": "chatcmpl-test", "object": "chat.completion.chunk", "model": model, "choices": [], "usage": usage})
                ));
            }
            frames.push("data: [DONE]\n\n".into());
        }
    }
    let stream =
        futures::stream::iter(frames.into_iter().enumerate()).then(move |(i, f)| async move {
            if i == 1 && !first_delay.is_zero() {
                tokio::time::sleep(first_delay).await;
            }
            Ok::<_, std::convert::Infallible>(axum::body::Bytes::from(f))
        });
    Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "text/event-stream")
        .body(axum::body::Body::from_stream(stream))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// Cohere-style rerank: each document scores the share of the query's words it contains.
async fn rerank(
    State(state): State<Arc<ServerState>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Some(r) = next_fault(&state, &body, &headers).await {
        return r;
    }
    let query = body["query"].as_str().unwrap_or_default().to_lowercase();
    let words: Vec<&str> = query.split_whitespace().collect();
    let docs: Vec<String> = body["documents"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|d| d.as_str().unwrap_or_default().to_lowercase())
                .collect()
        })
        .unwrap_or_default();
    let mut results: Vec<(usize, f64)> = docs
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let hit = words.iter().filter(|w| d.contains(**w)).count();
            (i, hit as f64 / words.len().max(1) as f64)
        })
        .collect();
    results.sort_by(|a, b| b.1.total_cmp(&a.1));
    if let Some(n) = body["top_n"].as_u64() {
        results.truncate(n as usize);
    }
    let results: Vec<Value> = results
        .iter()
        .map(|(i, s)| json!({"index": i, "relevance_score": s}))
        .collect();
    Json(json!({"results": results, "usage": {"total_tokens": 42}})).into_response()
}
