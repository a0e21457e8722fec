//! `ask_stream` for Python: a native handle over the core's answer stream whose `next_async` /
//! `next_blocking` return the next event as a dict (`{"delta": str}` or `{"answer": {...}}`), or
//! `None` at the end. `_kb.py` wraps it in an async iterator and a sync iterator.

use std::sync::Arc;

use futures::StreamExt;
use pyo3::prelude::*;
use ragcore::pipeline::{AnswerStream, StreamEvent};
use serde_json::json;

use crate::convert::{to_json, Json};
use crate::errors::{capture, Settled};
use crate::runtime::{awaitable, block_on};

/// A streamed answer being read.
#[pyclass(frozen, module = "ragcore._ragcore")]
pub struct NativeAnswerStream {
    inner: Arc<tokio::sync::Mutex<AnswerStream>>,
}

impl NativeAnswerStream {
    /// Wraps a core stream.
    pub fn new(stream: AnswerStream) -> Self {
        NativeAnswerStream {
            inner: Arc::new(tokio::sync::Mutex::new(stream)),
        }
    }

    async fn next(inner: Arc<tokio::sync::Mutex<AnswerStream>>) -> Settled<Json> {
        Settled(
            capture(async move {
                let mut s = inner.lock().await;
                Ok(match s.next().await {
                    None => Json(serde_json::Value::Null),
                    Some(ev) => match ev? {
                        StreamEvent::Delta(d) => Json(json!({ "delta": d })),
                        StreamEvent::Answer(a) => Json(json!({ "answer": to_json(&*a)?.0 })),
                    },
                })
            })
            .await,
        )
    }
}

#[pymethods]
impl NativeAnswerStream {
    /// The next event; returns an awaitable of a dict, or of `None` at the end.
    fn next_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        awaitable(py, Self::next(self.inner.clone()))
    }

    /// The next event, blocking: a dict, or `None` at the end.
    fn next_blocking<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        block_on(py, Self::next(self.inner.clone()))?.into_pyobject(py)
    }
}
