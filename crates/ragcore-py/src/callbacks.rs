//! Python objects as core parts: [`PyEmbedder`] (an [`Embedder`]), [`PyGuard`] (a
//! [`Guardrail`]) and [`PyChat`] (a [`ChatModel`]). Their methods may be plain functions or
//! coroutines. A call runs on a blocking thread of the runtime with the GIL held only there; a
//! coroutine is awaited on the event loop of the `await` that started the operation, or, under
//! the blocking facade, on a private event loop. Exceptions and unusable return values become
//! core errors that name the callback (see [`crate::errors::from_callback`]).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use async_trait::async_trait;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};
use ragcore::embed::{l2_normalize, EmbedRequest, EmbedResponse, EmbedderFingerprint, InputType};
use ragcore::guard::{GuardOutcome, GuardRequest, GuardStage};
use ragcore::llm::{ChatRequest, ChatResponse};
use ragcore::text::Tokenizer;
use ragcore::{ChatModel, Embedder, Error, Guardrail, Usage, Verdict, VerdictAction};

use crate::convert::{to_json, type_name};
use crate::errors::{bad_return, from_callback};
use crate::runtime::task_locals;

type PyFuture = Pin<Box<dyn Future<Output = PyResult<Py<PyAny>>> + Send>>;

/// What a Python call gave back: a value, or an awaitable being awaited on the caller's loop.
enum Called {
    Ready(Py<PyAny>),
    Pending(PyFuture),
}

/// A Python object and the name used for it in errors and verdicts.
struct Callback {
    obj: Arc<Py<PyAny>>,
    who: String,
}

impl Callback {
    /// Calls `obj.<method>(*args)` where `args` builds the arguments with the GIL held, awaits
    /// the result when it is awaitable, and returns it.
    async fn call<A>(&self, method: &'static str, args: A) -> ragcore::Result<Py<PyAny>>
    where
        A: for<'py> FnOnce(Python<'py>) -> PyResult<Bound<'py, pyo3::types::PyTuple>>
            + Send
            + 'static,
    {
        let obj = self.obj.clone();
        let who = self.who.clone();
        let locals = task_locals();
        let call = format!("{method}()");
        let called = blocking(move |py| {
            let run = || -> PyResult<Called> {
                let result = obj.bind(py).call_method1(method, args(py)?)?;
                if !result.hasattr("__await__")? {
                    return Ok(Called::Ready(result.unbind()));
                }
                match &locals {
                    Some(locals) => Ok(Called::Pending(Box::pin(
                        pyo3_async_runtimes::into_future_with_locals(locals, result)?,
                    ))),
                    None => {
                        let event_loop = py.import("asyncio")?.call_method0("new_event_loop")?;
                        let value = event_loop.call_method1("run_until_complete", (result,));
                        event_loop.call_method0("close")?;
                        Ok(Called::Ready(value?.unbind()))
                    }
                }
            };
            run().map_err(|e| Box::new(from_callback(py, e, &who, &call)))
        })
        .await?
        .map_err(|raised| raised.into_error())?;
        match called {
            Called::Ready(value) => Ok(value),
            Called::Pending(fut) => match fut.await {
                Ok(value) => Ok(value),
                Err(e) => {
                    let who = self.who.clone();
                    let call = format!("{method}()");
                    let raised = blocking(move |py| from_callback(py, e, &who, &call)).await?;
                    Err(raised.into_error())
                }
            },
        }
    }
}

/// Runs `f` with the GIL on a blocking thread of the runtime (never on a worker thread, which
/// would stall other tasks while waiting for the GIL).
async fn blocking<T, F>(f: F) -> ragcore::Result<T>
where
    F: for<'py> FnOnce(Python<'py>) -> T + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(move || Python::attach(f))
        .await
        .map_err(|e| Error::Internal(format!("a Python callback thread failed: {e}")))
}

fn attr_str(obj: &Bound<'_, PyAny>, attr: &str, role: &str) -> PyResult<String> {
    let value = obj.getattr(attr).map_err(|_| {
        PyTypeError::new_err(format!(
            "the {role} ({}) has no attribute {attr:?} (a str)",
            type_name(obj)
        ))
    })?;
    let s: String = value.extract().map_err(|_| {
        PyTypeError::new_err(format!(
            "the {role}'s {attr:?} must be a str, got {}",
            type_name(&value)
        ))
    })?;
    if s.trim().is_empty() {
        return Err(PyValueError::new_err(format!(
            "the {role}'s {attr:?} must not be empty"
        )));
    }
    Ok(s)
}

fn require_method(
    obj: &Bound<'_, PyAny>,
    method: &str,
    role: &str,
    signature: &str,
) -> PyResult<()> {
    let callable = obj
        .getattr(method)
        .map(|m| m.is_callable())
        .unwrap_or(false);
    if callable {
        Ok(())
    } else {
        Err(PyTypeError::new_err(format!(
            "the {role} ({}) has no method {method}{signature}",
            type_name(obj)
        )))
    }
}

/// A Python embedder: attributes `model: str` and `dimensions: int`, and
/// `embed(texts: list[str], input_type: str) -> list[list[float]]` (`input_type` is `"query"`
/// or `"passage"`). Vectors are checked (count, length, finite) and L2-normalised.
pub struct PyEmbedder {
    callback: Callback,
    fingerprint: EmbedderFingerprint,
}

impl PyEmbedder {
    /// Wraps `obj`, reading and checking `model` and `dimensions` once.
    pub fn new(obj: &Bound<'_, PyAny>) -> PyResult<Self> {
        let role = "embedder";
        let model = attr_str(obj, "model", role)?;
        let dims_obj = obj.getattr("dimensions").map_err(|_| {
            PyTypeError::new_err(format!(
                "the embedder ({}) has no attribute \"dimensions\" (an int)",
                type_name(obj)
            ))
        })?;
        if dims_obj.is_instance_of::<pyo3::types::PyBool>() {
            return Err(PyTypeError::new_err(
                "the embedder's \"dimensions\" must be an int, got bool",
            ));
        }
        let dimensions: i64 = dims_obj.extract().map_err(|_| {
            PyTypeError::new_err(format!(
                "the embedder's \"dimensions\" must be an int, got {}",
                type_name(&dims_obj)
            ))
        })?;
        if dimensions <= 0 || dimensions > 65_536 {
            return Err(PyValueError::new_err(format!(
                "the embedder's \"dimensions\" must be between 1 and 65536, got {dimensions}"
            )));
        }
        require_method(obj, "embed", role, "(texts, input_type)")?;
        Ok(PyEmbedder {
            callback: Callback {
                obj: Arc::new(obj.clone().unbind()),
                who: format!("Python embedder {model:?}"),
            },
            fingerprint: EmbedderFingerprint {
                model,
                dimensions: dimensions as usize,
                normalized: true,
            },
        })
    }
}

#[async_trait]
impl Embedder for PyEmbedder {
    fn fingerprint(&self) -> EmbedderFingerprint {
        self.fingerprint.clone()
    }

    async fn embed(&self, request: EmbedRequest) -> ragcore::Result<EmbedResponse> {
        let n = request.texts.len();
        let tokenizer = Tokenizer::for_model(&self.fingerprint.model);
        let mut tokens = 0u64;
        for t in &request.texts {
            tokens += tokenizer.count(t)? as u64;
        }
        let input_type = match request.input_type {
            InputType::Query => "query",
            InputType::Passage => "passage",
        };
        let texts = request.texts;
        let value = self
            .callback
            .call("embed", move |py| (texts, input_type).into_pyobject(py))
            .await?;
        let who = self.callback.who.clone();
        let dims = self.fingerprint.dimensions;
        let vectors = blocking(move |py| read_vectors(value.bind(py), n, dims, &who)).await??;
        Ok(EmbedResponse {
            vectors,
            tokens,
            estimated: true,
        })
    }
}

fn read_vectors(
    value: &Bound<'_, PyAny>,
    n: usize,
    dims: usize,
    who: &str,
) -> ragcore::Result<Vec<Vec<f32>>> {
    let shape = || {
        bad_return(
            who,
            format!(
                "embed() must return a list of {n} vectors (lists of {dims} floats), got {}",
                type_name(value)
            ),
        )
    };
    if value.is_instance_of::<PyString>() {
        return Err(shape());
    }
    let rows = value.try_iter().map_err(|_| shape())?;
    let mut vectors = Vec::with_capacity(n);
    for (i, row) in rows.enumerate() {
        let row = row.map_err(|_| shape())?;
        let mut v: Vec<f32> = row.extract().map_err(|_| {
            bad_return(
                who,
                format!(
                    "embed() returned {} for text {i}; expected a list of {dims} floats",
                    type_name(&row)
                ),
            )
        })?;
        if v.len() != dims {
            return Err(bad_return(
                who,
                format!(
                    "embed() returned a vector of {} dimensions for text {i}; the embedder \
                     declares dimensions = {dims}",
                    v.len()
                ),
            ));
        }
        if v.iter().any(|x| !x.is_finite()) {
            return Err(bad_return(
                who,
                format!("embed() returned a vector with NaN or infinite values for text {i}"),
            ));
        }
        l2_normalize(&mut v);
        vectors.push(v);
    }
    if vectors.len() != n {
        return Err(bad_return(
            who,
            format!("embed() returned {} vectors for {n} texts", vectors.len()),
        ));
    }
    Ok(vectors)
}

/// A Python guard: attribute `name: str` and `check(text: str, stage: str, tenant: str)`
/// returning `None` (pass) or a dict `{"action": "pass" | "annotate" | "redact" | "block",
/// "detail": str, "text": str}` (`text` is the rewritten text, required for `redact`). An
/// optional attribute `stages` (e.g. `("input",)`) limits where it runs (default both).
pub struct PyGuard {
    callback: Callback,
    name: String,
    /// Runs on questions.
    pub input: bool,
    /// Runs on answers.
    pub output: bool,
}

impl PyGuard {
    /// Wraps `obj`, reading and checking `name` and `stages` once.
    pub fn new(obj: &Bound<'_, PyAny>) -> PyResult<Self> {
        let role = "guard";
        let name = attr_str(obj, "name", role)?;
        require_method(obj, "check", role, "(text, stage, tenant)")?;
        let (mut input, mut output) = (true, true);
        if let Ok(stages) = obj.getattr("stages") {
            if !stages.is_none() {
                let list = crate::convert::str_list(Some(&stages), "the guard's \"stages\"")?;
                input = false;
                output = false;
                for s in list {
                    match s.as_str() {
                        "input" => input = true,
                        "output" => output = true,
                        other => {
                            return Err(PyValueError::new_err(format!(
                                "the guard's \"stages\" may hold \"input\" and \"output\", got {other:?}"
                            )))
                        }
                    }
                }
            }
        }
        Ok(PyGuard {
            callback: Callback {
                obj: Arc::new(obj.clone().unbind()),
                who: format!("Python guard {name:?}"),
            },
            name,
            input,
            output,
        })
    }
}

#[async_trait]
impl Guardrail for PyGuard {
    fn name(&self) -> String {
        self.name.clone()
    }

    async fn check(&self, request: GuardRequest) -> ragcore::Result<GuardOutcome> {
        let stage = request.stage;
        let args = (request.text, stage.as_str(), request.scope.tenant);
        let value = self
            .callback
            .call("check", move |py| args.into_pyobject(py))
            .await?;
        let who = self.callback.who.clone();
        let name = self.name.clone();
        blocking(move |py| read_guard_outcome(value.bind(py), &name, stage, &who)).await?
    }
}

fn read_guard_outcome(
    value: &Bound<'_, PyAny>,
    name: &str,
    stage: GuardStage,
    who: &str,
) -> ragcore::Result<GuardOutcome> {
    let verdict = |action, detail: String| Verdict {
        name: name.to_string(),
        stage: stage.as_str().to_string(),
        action,
        detail,
    };
    if value.is_none() {
        return Ok(GuardOutcome {
            verdict: verdict(VerdictAction::Pass, String::new()),
            rewritten: None,
        });
    }
    let dict = value.cast::<PyDict>().map_err(|_| {
        bad_return(
            who,
            format!(
                "check() must return None or a dict with \"action\", got {}",
                type_name(value)
            ),
        )
    })?;
    let get_str = |key: &str| -> ragcore::Result<Option<String>> {
        match dict.get_item(key) {
            Ok(Some(v)) if !v.is_none() => v.extract::<String>().map(Some).map_err(|_| {
                bad_return(
                    who,
                    format!(
                        "check() returned {key:?} of type {}; expected a str",
                        type_name(&v)
                    ),
                )
            }),
            _ => Ok(None),
        }
    };
    let action = match get_str("action")?.as_deref() {
        None | Some("pass") => VerdictAction::Pass,
        Some("annotate") => VerdictAction::Annotate,
        Some("redact") => VerdictAction::Redact,
        Some("block") => VerdictAction::Block,
        Some(other) => {
            return Err(bad_return(
                who,
                format!(
                    "check() returned action {other:?}; expected \"pass\", \"annotate\", \
                     \"redact\" or \"block\""
                ),
            ))
        }
    };
    let detail = get_str("detail")?.unwrap_or_default();
    let text = get_str("text")?;
    let rewritten = match action {
        VerdictAction::Redact => Some(text.ok_or_else(|| {
            bad_return(
                who,
                "check() returned action \"redact\" without the rewritten \"text\"".into(),
            )
        })?),
        _ => None,
    };
    Ok(GuardOutcome {
        verdict: verdict(action, detail),
        rewritten,
    })
}

/// A Python chat model: attribute `name: str` and `chat(messages, question, passages)` returning
/// the answer text (a str, with `[n]` markers citing passage `n`) or a dict `{"text": str,
/// "refused": bool, "prompt_tokens": int, "completion_tokens": int}`. `messages` are dicts
/// `{"role", "content"}`; `passages` dicts `{"index", "chunk_id", "title", "text", "tokens",
/// "is_faq"}`.
pub struct PyChat {
    callback: Callback,
    name: String,
}

impl PyChat {
    /// Wraps `obj`, reading and checking `name` once.
    pub fn new(obj: &Bound<'_, PyAny>) -> PyResult<Self> {
        let role = "chat model";
        let name = attr_str(obj, "name", role)?;
        require_method(obj, "chat", role, "(messages, question, passages)")?;
        Ok(PyChat {
            callback: Callback {
                obj: Arc::new(obj.clone().unbind()),
                who: format!("Python chat model {name:?}"),
            },
            name,
        })
    }
}

#[async_trait]
impl ChatModel for PyChat {
    fn name(&self) -> String {
        self.name.clone()
    }

    async fn chat(&self, request: ChatRequest) -> ragcore::Result<ChatResponse> {
        let messages = to_json(&request.messages)?;
        let passages = to_json(&request.passages)?;
        let question = request.question.clone();
        let value = self
            .callback
            .call("chat", move |py| {
                (messages, question, passages).into_pyobject(py)
            })
            .await?;
        let who = self.callback.who.clone();
        let reply = blocking(move |py| read_reply(value.bind(py), &who)).await??;
        let tokenizer = Tokenizer::for_model(&self.name);
        let usage = match (reply.prompt_tokens, reply.completion_tokens) {
            (Some(p), Some(c)) => Usage {
                prompt_tokens: p,
                completion_tokens: c,
                embedding_tokens: 0,
                estimated: false,
                ..Default::default()
            },
            (p, c) => {
                let mut prompt = 3u64;
                for m in &request.messages {
                    prompt += tokenizer.count(&m.content)? as u64 + 4;
                }
                Usage {
                    prompt_tokens: p.unwrap_or(prompt),
                    completion_tokens: match c {
                        Some(c) => c,
                        None => tokenizer.count(&reply.text)? as u64,
                    },
                    embedding_tokens: 0,
                    estimated: true,
                    ..Default::default()
                }
            }
        };
        let refused = reply.refused.unwrap_or_else(|| {
            !request.no_answer_text.is_empty()
                && ragcore::llm::is_refusal(&reply.text, &request.no_answer_text)
        });
        Ok(ChatResponse {
            text: reply.text,
            model: self.name.clone(),
            usage,
            refused,
            calls: Vec::new(),
        })
    }
}

/// What a Python chat model answered.
struct Reply {
    text: String,
    refused: Option<bool>,
    prompt_tokens: Option<u64>,
    completion_tokens: Option<u64>,
}

fn read_reply(value: &Bound<'_, PyAny>, who: &str) -> ragcore::Result<Reply> {
    if let Ok(text) = value.extract::<String>() {
        return Ok(Reply {
            text,
            refused: None,
            prompt_tokens: None,
            completion_tokens: None,
        });
    }
    let dict = value.cast::<PyDict>().map_err(|_| {
        bad_return(
            who,
            format!(
                "chat() must return a str or a dict with \"text\", got {}",
                type_name(value)
            ),
        )
    })?;
    let item = |key: &str| dict.get_item(key).ok().flatten().filter(|v| !v.is_none());
    let text = item("text")
        .and_then(|v| v.extract::<String>().ok())
        .ok_or_else(|| bad_return(who, "chat() returned a dict without a str \"text\"".into()))?;
    let refused = match item("refused") {
        Some(v) => Some(
            v.extract::<bool>()
                .map_err(|_| bad_return(who, "chat() returned a non-bool \"refused\"".into()))?,
        ),
        None => None,
    };
    let count = |key: &str| -> ragcore::Result<Option<u64>> {
        match item(key) {
            Some(v) => v
                .extract::<u64>()
                .map(Some)
                .map_err(|_| bad_return(who, format!("chat() returned a non-integer {key:?}"))),
            None => Ok(None),
        }
    };
    Ok(Reply {
        text,
        refused,
        prompt_tokens: count("prompt_tokens")?,
        completion_tokens: count("completion_tokens")?,
    })
}
