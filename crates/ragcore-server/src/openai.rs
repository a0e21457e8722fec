//! The OpenAI-compatible surface: `POST /v1/chat/completions` (plain and `stream: true`) and
//! `GET /v1/models`. The last user message is answered through the pipeline; what OpenAI's
//! schema has no place for (citations, KB and prompt versions, cost, verdicts, timings) is in
//! the `ragcore` extension object, which plain clients ignore.

use std::convert::Infallible;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures::stream::{self, StreamExt};
use ragcore::{Answer, AskRequest};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::stream::{answer_stream, AnswerEvent};
use crate::AppState;

#[derive(Deserialize)]
pub(crate) struct ChatCompletionRequest {
    model: String,
    messages: Vec<InMessage>,
    #[serde(default)]
    stream: Option<bool>,
}

#[derive(Deserialize)]
struct InMessage {
    role: String,
    #[serde(default)]
    content: Option<Content>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Content {
    Text(String),
    Parts(Vec<Part>),
}

#[derive(Deserialize)]
struct Part {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    text: Option<String>,
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn completion_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "chatcmpl-{:x}{:06x}",
        unix_now(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// The question: the text of the last user message.
fn question_of(messages: &[InMessage]) -> Result<String, ApiError> {
    let last = messages
        .iter()
        .rev()
        .find(|m| m.role == "user")
        .ok_or_else(|| {
            ApiError::bad_request(
                "no_user_message",
                "`messages` has no message with role \"user\"; the last user message is the question",
            )
        })?;
    let text = match &last.content {
        Some(Content::Text(t)) => t.clone(),
        Some(Content::Parts(parts)) => parts
            .iter()
            .filter(|p| p.kind == "text")
            .filter_map(|p| p.text.clone())
            .collect::<Vec<_>>()
            .join("\n"),
        None => String::new(),
    };
    if text.trim().is_empty() {
        return Err(ApiError::bad_request(
            "empty_question",
            "the last user message has no text",
        ));
    }
    Ok(text)
}

fn check_model(state: &AppState, model: &str) -> Result<(), ApiError> {
    if state.config().models.iter().any(|m| m == model) {
        return Ok(());
    }
    Err(ApiError::not_found(
        "model_not_found",
        format!(
            "the model `{model}` does not exist; available: {} (GET /v1/models)",
            state.config().models.join(", ")
        ),
    ))
}

/// The `ragcore` extension object: the answer without its text.
pub(crate) fn extension(answer: &Answer) -> Value {
    let mut v = serde_json::to_value(answer).unwrap_or(Value::Null);
    if let Some(o) = v.as_object_mut() {
        o.remove("text");
    }
    v
}

fn usage(answer: &Answer) -> Value {
    let u = &answer.usage;
    json!({
        "prompt_tokens": u.prompt_tokens,
        "completion_tokens": u.completion_tokens,
        "total_tokens": u.prompt_tokens + u.completion_tokens,
    })
}

pub(crate) async fn chat_completions(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<ChatCompletionRequest>,
) -> Result<Response, ApiError> {
    check_model(&state, &req.model)?;
    let question = question_of(&req.messages)?;
    let ask = AskRequest::new(question, caller.scope);
    if req.stream.unwrap_or(false) {
        return stream_completion(state, req.model, ask).await;
    }
    let answer = state.pipeline().ask(ask).await?;
    Ok(Json(json!({
        "id": completion_id(),
        "object": "chat.completion",
        "created": unix_now(),
        "model": req.model,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": answer.text},
            "finish_reason": "stop",
        }],
        "usage": usage(&answer),
        "ragcore": extension(&answer),
    }))
    .into_response())
}

async fn stream_completion(
    state: AppState,
    model: String,
    ask: AskRequest,
) -> Result<Response, ApiError> {
    let mut events = answer_stream(state.pipeline().clone(), ask);
    // An error before any text is answered with a status code, not inside the stream.
    let first = match events.next().await {
        Some(Ok(e)) => e,
        Some(Err(e)) => return Err(e.into()),
        None => return Err(ApiError::internal()),
    };
    let id = completion_id();
    let created = unix_now();
    let chunk = move |delta: Value, finish: Option<&str>, extra: Option<(&str, Value)>| {
        let mut c = json!({
            "id": id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        });
        if let (Some((k, v)), Some(o)) = (extra, c.as_object_mut()) {
            if k == "usage" {
                o.insert("choices".into(), json!([]));
            }
            o.insert(k.into(), v);
        }
        Event::default().data(c.to_string())
    };
    let opening = chunk(json!({"role": "assistant", "content": ""}), None, None);
    let body = stream::once(async { Ok(first) })
        .chain(events)
        .flat_map(move |e| {
            let out: Vec<Event> = match e {
                Ok(AnswerEvent::Delta(t)) => vec![chunk(json!({"content": t}), None, None)],
                Ok(AnswerEvent::Done(answer)) => vec![
                    chunk(
                        json!({}),
                        Some("stop"),
                        Some(("ragcore", extension(&answer))),
                    ),
                    chunk(json!({}), None, Some(("usage", usage(&answer)))),
                    Event::default().data("[DONE]"),
                ],
                Err(e) => {
                    let api: ApiError = e.into();
                    vec![
                        Event::default().data(
                            json!({"error": {"message": api.message, "type": api.kind, "code": api.code}})
                                .to_string(),
                        ),
                        Event::default().data("[DONE]"),
                    ]
                }
            };
            stream::iter(out)
        });
    let all = stream::once(async move { opening })
        .chain(body)
        .map(Ok::<Event, Infallible>);
    Ok(Sse::new(all).into_response())
}

pub(crate) async fn models(State(state): State<AppState>, _caller: Caller) -> Json<Value> {
    let data: Vec<Value> = state
        .config()
        .models
        .iter()
        .map(|m| json!({"id": m, "object": "model", "created": 0, "owned_by": "ragcore"}))
        .collect();
    Json(json!({"object": "list", "data": data}))
}
