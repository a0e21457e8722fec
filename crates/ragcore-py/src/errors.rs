//! Error mapping in both directions: a [`ragcore::Error`] becomes an instance of the exception
//! class of its kind in `ragcore.errors`; an exception raised by a Python callback becomes a
//! [`ragcore::Error`] (and is kept, so that it is attached as `__cause__` of the exception the
//! caller finally sees).

use std::future::Future;
use std::sync::{Arc, Mutex};

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::IntoPyObjectExt;
use ragcore::{Error, ErrorKind};

/// A failed operation: the core error, and the Python exception that caused it when a callback
/// raised.
#[derive(Debug)]
pub struct Failure {
    /// The core error.
    pub error: Error,
    /// The exception a Python callback raised, when that is what failed.
    pub cause: Option<PyErr>,
}

impl Failure {
    /// Converts to the Python exception of the error's kind, chained to its cause.
    pub fn into_py_err(self, py: Python<'_>) -> PyErr {
        let err = to_py_err(py, &self.error);
        if let Some(cause) = self.cause {
            err.set_cause(py, Some(cause));
        }
        err
    }
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Failure { error, cause: None }
    }
}

/// The Python exception for a core error: `ragcore.errors.<Kind>Error(message)` with the
/// attributes `kind`, `retryable` and `message`.
pub fn to_py_err(py: Python<'_>, error: &Error) -> PyErr {
    let message = error.to_string();
    let kind = error.kind().code();
    let retryable = error.is_retryable();
    let built = py
        .import("ragcore.errors")
        .and_then(|m| m.getattr("_from_native"))
        .and_then(|f| f.call1((message.as_str(), kind, retryable)));
    match built {
        Ok(exc) => PyErr::from_value(exc),
        Err(import_failed) => {
            let err = PyRuntimeError::new_err(format!("[{kind}] {message}"));
            err.set_cause(py, Some(import_failed));
            err
        }
    }
}

/// The outcome of an operation, converted to Python (value or exception) only when the GIL is
/// held to deliver it.
pub struct Settled<T>(pub Result<T, Failure>);

impl<'py, T> IntoPyObject<'py> for Settled<T>
where
    T: IntoPyObject<'py>,
{
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        match self.0 {
            Ok(value) => value.into_bound_py_any(py),
            Err(failure) => Err(failure.into_py_err(py)),
        }
    }
}

impl<T> Settled<T> {
    /// The value, or the failure as a Python exception.
    pub fn into_result(self, py: Python<'_>) -> PyResult<T> {
        self.0.map_err(|f| f.into_py_err(py))
    }
}

/// Exceptions raised by callbacks during one operation, with the core error message each became.
type Raised = Arc<Mutex<Vec<(String, PyErr)>>>;

tokio::task_local! {
    static RAISED: Raised;
}

/// Runs one operation, remembering the exceptions its Python callbacks raise; when the operation
/// fails with the error a callback's exception became, that exception is the failure's cause.
pub async fn capture<F, T>(fut: F) -> Result<T, Failure>
where
    F: Future<Output = ragcore::Result<T>>,
{
    let raised: Raised = Arc::default();
    let result = RAISED.scope(raised.clone(), fut).await;
    result.map_err(|error| {
        let message = error.to_string();
        let mut list = raised.lock().unwrap_or_else(|p| p.into_inner());
        let cause = list
            .iter()
            .position(|(m, _)| message.contains(m.as_str()))
            .map(|i| list.swap_remove(i).1);
        Failure { error, cause }
    })
}

/// An exception raised by a Python callback, and the core error it becomes.
pub struct Raise {
    /// The core error.
    pub error: Error,
    /// The exception.
    pub exception: PyErr,
}

impl Raise {
    /// The core error, remembering the exception as the cause of the operation's failure (call
    /// it inside the operation's task, where [`capture`] can find it).
    pub fn into_error(self) -> Error {
        let message = self.error.to_string();
        // Outside an operation (no scope) there is nothing to attach the exception to.
        let _ = RAISED.try_with(|raised| {
            raised
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push((message, self.exception));
        });
        self.error
    }
}

/// The core error for an exception raised by a Python callback. `who` names the callback (e.g.
/// `Python embedder 'demo'`), `call` the method (e.g. `embed()`). A `ragcore.errors` exception
/// keeps its kind where the core has a matching variant (blocked, budget exceeded) and its
/// `retryable` flag otherwise.
pub fn from_callback(py: Python<'_>, err: PyErr, who: &str, call: &str) -> Raise {
    let value = err.value(py);
    let type_name = value
        .get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "Exception".into());
    let text = value
        .str()
        .map(|s| s.to_string())
        .unwrap_or_else(|_| String::new());
    let detail = if text.is_empty() {
        format!("{call} raised {type_name}")
    } else {
        format!("{call} raised {type_name}: {text}")
    };
    let kind: Option<String> = value
        .getattr("kind")
        .ok()
        .and_then(|k| k.extract().ok())
        .filter(|_| is_ragcore_error(py, value));
    let retryable = value
        .getattr("retryable")
        .ok()
        .and_then(|r| r.extract::<bool>().ok())
        .unwrap_or(false)
        && is_ragcore_error(py, value);
    let error = match kind.as_deref() {
        Some("blocked") => Error::Blocked {
            guard: who.to_string(),
            reason: detail,
        },
        Some("budget_exceeded") => Error::BudgetExceeded {
            budget: who.to_string(),
            spent_usd: None,
            limit_usd: None,
            resets_at: None,
            detail,
        },
        _ => Error::Provider {
            provider: who.to_string(),
            status: None,
            retryable,
            retry_after: None,
            message: detail,
        },
    };
    Raise {
        error,
        exception: err,
    }
}

/// A core error for a callback that returned something unusable (wrong type, wrong shape).
pub fn bad_return(who: &str, message: String) -> Error {
    Error::Provider {
        provider: who.to_string(),
        status: None,
        retryable: false,
        retry_after: None,
        message,
    }
}

fn is_ragcore_error(py: Python<'_>, value: &Bound<'_, PyAny>) -> bool {
    py.import("ragcore.errors")
        .and_then(|m| m.getattr("RagcoreError"))
        .and_then(|cls| value.is_instance(&cls))
        .unwrap_or(false)
}

/// The kind codes, for the module constant `ERROR_KINDS`.
pub fn kind_codes() -> Vec<&'static str> {
    [
        ErrorKind::InvalidInput,
        ErrorKind::Config,
        ErrorKind::Load,
        ErrorKind::Storage,
        ErrorKind::NotFound,
        ErrorKind::Provider,
        ErrorKind::Blocked,
        ErrorKind::BudgetExceeded,
        ErrorKind::Timeout,
        ErrorKind::Incompatible,
        ErrorKind::Internal,
    ]
    .into_iter()
    .map(ErrorKind::code)
    .collect()
}
