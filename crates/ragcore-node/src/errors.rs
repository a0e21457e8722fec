//! How failures reach JavaScript: every rejected Promise carries an `Error` whose `code` is the
//! stable ragcore kind code (`invalid_input`, `not_found`, `provider`, ...) and whose `retryable`
//! says whether trying again can help.
//!
//! napi's own errors use a napi status (`InvalidArg`, `GenericFailure`) as the `code`, so a
//! failure is carried to the JavaScript thread as a [`Failure`] and only turned into an error
//! object there, where one can be built and decorated.

use std::fmt::Display;
use std::future::Future;

use napi::bindgen_prelude::{JsObjectValue, PromiseRaw, ToNapiValue};
use napi::{Env, JsError, JsTypeError, JsValue};

/// The `code` of errors caused by a bad argument (wrong type, missing or invalid value).
pub const INVALID_INPUT: &str = "invalid_input";

/// A failure on its way to JavaScript: the ragcore error kind code, the message, whether a
/// retry can help, and whether it is a JavaScript `TypeError` (an argument of the wrong type).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The stable ragcore kind code, e.g. `invalid_input`.
    pub code: &'static str,
    /// The message shown to the caller.
    pub message: String,
    /// Whether retrying the same call can succeed.
    pub retryable: bool,
    /// Thrown as a `TypeError` rather than a plain `Error`.
    pub type_error: bool,
}

impl Failure {
    /// An argument of the wrong type: a `TypeError` with code `invalid_input`.
    pub fn wrong_type(field: &str, expected: &str, got: &str) -> Self {
        Failure {
            code: INVALID_INPUT,
            message: format!("invalid {field}: expected {expected}, got {got}"),
            retryable: false,
            type_error: true,
        }
    }

    /// An argument of the right type but an unusable value: an `Error` with code
    /// `invalid_input`, worded like the core's own [`ragcore::Error::InvalidInput`].
    pub fn invalid(field: &str, reason: impl Display) -> Self {
        ragcore::Error::invalid(field, reason.to_string()).into()
    }

    /// Builds the JavaScript error object (with `code` and `retryable`) and wraps it so napi
    /// throws or rejects with exactly that object. Must run on the JavaScript thread.
    pub fn into_js(self, env: &Env) -> napi::Error {
        let error = napi::Error::new(self.code.to_string(), self.message);
        let value = if self.type_error {
            JsTypeError::from(error).into_unknown(*env)
        } else {
            JsError::from(error).into_unknown(*env)
        };
        if let Ok(mut object) = value.coerce_to_object() {
            // Best effort: an error without `retryable` is still an error with the right code.
            let _ = object.set_named_property("retryable", self.retryable);
        }
        napi::Error::from(value)
    }
}

impl From<ragcore::Error> for Failure {
    fn from(error: ragcore::Error) -> Self {
        Failure {
            code: error.kind().code(),
            message: error.to_string(),
            retryable: error.is_retryable(),
            type_error: false,
        }
    }
}

/// Runs `work` on napi's Tokio runtime and returns a Promise that resolves with its value or
/// rejects with its [`Failure`] as a coded JavaScript error.
pub fn promise<'env, T, F>(env: &'env Env, work: F) -> napi::Result<PromiseRaw<'env, T>>
where
    T: ToNapiValue + Send + 'static,
    F: Future<Output = Result<T, Failure>> + Send + 'static,
{
    env.spawn_future_with_callback(async move { Ok(work.await) }, |env, result| {
        result.map_err(|failure| failure.into_js(env))
    })
}

/// A Promise already rejected with `failure` (bad arguments are reported the same way as every
/// other failure of an asynchronous method: as a rejection, never as a synchronous throw).
pub fn rejected<T>(env: &Env, failure: Failure) -> napi::Result<PromiseRaw<'_, T>>
where
    T: ToNapiValue + Send + 'static,
{
    promise(env, async move { Err(failure) })
}

/// The stable `code` of every error a ragcore Promise rejects with (`err.code`), one per
/// ragcore error kind; errors also carry `err.retryable`. Arguments of the wrong type reject
/// with a `TypeError` whose code is `invalid_input`.
#[napi_derive::napi(string_enum = "snake_case")]
pub enum ErrorCode {
    /// A bad argument: wrong type, missing or invalid value, empty question.
    InvalidInput,
    /// A configuration value is missing or wrong.
    Config,
    /// A file could not be loaded.
    Load,
    /// The knowledge base on disk could not be read or written.
    Storage,
    /// Something asked for does not exist (e.g. a tenant with no documents).
    NotFound,
    /// A model or embedding provider failed, including a JavaScript embedder or guard that
    /// threw, rejected or returned something unusable.
    Provider,
    /// A guardrail blocked the request.
    Blocked,
    /// A budget or rate limit was exceeded.
    BudgetExceeded,
    /// An operation did not finish in time.
    Timeout,
    /// The stored knowledge base does not match the configured embedder or chunker.
    Incompatible,
    /// A bug or an unexpected state inside ragcore.
    Internal,
}
