//! JavaScript callbacks as core parts: an embedder and guardrails whose work is done by
//! JavaScript functions, called from the core's Tokio threads through napi thread-safe
//! functions and awaited (a returned Promise is awaited too).
//!
//! A callback that throws, rejects or returns something unusable becomes a core
//! [`ragcore::Error::Provider`] (code `provider`): the request fails with a clear message, the
//! process keeps running and nothing is written to the knowledge base.

use async_trait::async_trait;
use napi::bindgen_prelude::{
    Float32ArraySlice, Float64ArraySlice, FnArgs, FromNapiValue, Function, Object, Promise,
    TypeName, Unknown, ValidateNapiValue,
};
use napi::threadsafe_function::ThreadsafeFunction;
use napi::{sys, JsValue, Status};
use ragcore::embed::{l2_normalize, EmbedRequest, EmbedResponse, EmbedderFingerprint, InputType};
use ragcore::guard::{GuardOutcome, GuardRequest};
use ragcore::text::Tokenizer;
use ragcore::{Embedder, Guardrail, Verdict, VerdictAction};

use crate::types::{EmbedderOptions, GuardOptions, GuardResult};

/// Arguments of a JavaScript embedder's `embed(texts, inputType)`.
pub type EmbedArgs = FnArgs<(Vec<String>, String)>;

/// Arguments of a JavaScript guard's `check(text, stage, tenant)`.
pub type GuardArgs = FnArgs<(String, String, String)>;

/// What a JavaScript guard's `check` returns: nothing (pass) or a [`GuardResult`].
pub type GuardReply = Reply<Option<GuardResult>>;

/// One embedding as returned by JavaScript: a `number[]`, a `Float32Array` or a `Float64Array`.
pub struct Vector(pub Vec<f64>);

impl TypeName for Vector {
    fn type_name() -> &'static str {
        "number[] | Float32Array | Float64Array"
    }

    fn value_type() -> napi::ValueType {
        napi::ValueType::Object
    }
}

impl ValidateNapiValue for Vector {}

impl FromNapiValue for Vector {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> napi::Result<Self> {
        // SAFETY: napi hands us a live value of the current callback scope, on its thread.
        let unknown = unsafe { Unknown::from_raw_unchecked(env, value) };
        if !unknown.is_typedarray()? {
            // SAFETY: as above.
            return Ok(Vector(unsafe { Vec::<f64>::from_napi_value(env, value)? }));
        }
        // SAFETY: as above; each slice type checks the typed array's element type.
        if let Ok(v) = unsafe { Float32ArraySlice::from_napi_value(env, value) } {
            return Ok(Vector(v.iter().map(|x| f64::from(*x)).collect()));
        }
        // SAFETY: as above.
        match unsafe { Float64ArraySlice::from_napi_value(env, value) } {
            Ok(v) => Ok(Vector(v.to_vec())),
            Err(_) => Err(napi::Error::new(
                Status::InvalidArg,
                "a typed-array vector must be a Float32Array or a Float64Array",
            )),
        }
    }
}

/// A thread-safe JavaScript function returning a [`Reply`]: called with `Err` on a JavaScript
/// throw instead of crashing (callee-handled off), and weak so a knowledge base that is still
/// referenced never keeps the process alive on its own.
type Callback<Args, T> = ThreadsafeFunction<Args, Reply<T>, Args, Status, false, true, 0>;

/// What a JavaScript callback returned: a value (already converted, or the conversion error),
/// or a Promise of one that is awaited off the JavaScript thread.
pub enum Reply<T: FromNapiValue + 'static> {
    /// A plain value.
    Ready(napi::Result<T>),
    /// A Promise (or an `async` function's result), read as a reply once it resolves.
    Pending(Promise<Reply<T>>),
}

impl<T: FromNapiValue + 'static> FromNapiValue for Reply<T> {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> napi::Result<Self> {
        // SAFETY: napi hands us a live value of the current callback scope, on its thread.
        let unknown = unsafe { Unknown::from_raw_unchecked(env, value) };
        if unknown.is_promise()? {
            // SAFETY: as above; `Promise` registers its `then` on this thread.
            Ok(Reply::Pending(unsafe {
                Promise::from_napi_value(env, value)?
            }))
        } else {
            // SAFETY: as above.
            Ok(Reply::Ready(unsafe { T::from_napi_value(env, value) }))
        }
    }
}

/// Builds the weak thread-safe function of `method` bound to `this`, so class instances and
/// object methods keep their `this`.
fn thread_safe<Args, T>(
    this: &Object<'_>,
    method: &Function<'_, Args, Reply<T>>,
) -> napi::Result<Callback<Args, T>>
where
    Args: napi::bindgen_prelude::JsValuesTupleIntoVec + 'static,
    T: FromNapiValue + 'static,
{
    method
        .bind(this)?
        .build_threadsafe_function::<Args>()
        .callee_handled::<false>()
        .weak::<true>()
        .build()
}

/// Calls a JavaScript callback and awaits its reply. `what` names the callback and `expects`
/// describes a usable return value, both for error messages.
async fn call<Args, T>(
    callback: &Callback<Args, T>,
    args: Args,
    what: &str,
    expects: &str,
) -> Result<T, String>
where
    Args: napi::bindgen_prelude::JsValuesTupleIntoVec + 'static,
    T: FromNapiValue + 'static,
{
    let mut reply = callback
        .call_async_catch(args)
        .await
        .map_err(|e| format!("{what} threw: {}", e.reason))?;
    loop {
        match reply {
            Reply::Ready(value) => {
                return value.map_err(|e| {
                    format!(
                        "{what} returned an unusable value ({}); it must return {expects}",
                        e.reason
                    )
                })
            }
            Reply::Pending(promise) => {
                reply = promise
                    .await
                    .map_err(|e| format!("{what} rejected: {}", e.reason))?;
            }
        }
    }
}

/// An [`Embedder`] whose `embed` is a JavaScript function.
pub struct JsEmbedder {
    model: String,
    dimensions: usize,
    embed: Callback<EmbedArgs, Vec<Vector>>,
}

impl JsEmbedder {
    /// Wraps the embedder object `this` (whose fields were read into `options`).
    pub fn new(this: &Object<'_>, options: EmbedderOptions<'_>) -> napi::Result<Self> {
        Ok(JsEmbedder {
            embed: thread_safe(this, &options.embed)?,
            model: options.model,
            dimensions: options.dimensions as usize,
        })
    }

    fn failure(&self, message: String) -> ragcore::Error {
        ragcore::Error::Provider {
            provider: format!("embedder {:?} (JavaScript)", self.model),
            status: None,
            retryable: false,
            retry_after: None,
            message,
        }
    }

    /// Checks the shape of the vectors and converts them to unit-length `f32` vectors.
    fn vectors(&self, raw: Vec<Vector>, expected: usize) -> ragcore::Result<Vec<Vec<f32>>> {
        if raw.len() != expected {
            return Err(self.failure(format!(
                "embed() returned {} vectors for {expected} texts; return one vector per text, in order",
                raw.len()
            )));
        }
        raw.into_iter()
            .enumerate()
            .map(|(i, Vector(v))| {
                if v.len() != self.dimensions {
                    return Err(self.failure(format!(
                        "embed() returned a vector of {} numbers at index {i}; the embedder was declared with dimensions {}",
                        v.len(),
                        self.dimensions
                    )));
                }
                if v.iter().any(|x| !x.is_finite()) {
                    return Err(self.failure(format!(
                        "embed() returned a vector with a non-finite number (NaN or Infinity) at index {i}"
                    )));
                }
                let mut v: Vec<f32> = v.into_iter().map(|x| x as f32).collect();
                l2_normalize(&mut v);
                Ok(v)
            })
            .collect()
    }
}

#[async_trait]
impl Embedder for JsEmbedder {
    fn fingerprint(&self) -> EmbedderFingerprint {
        EmbedderFingerprint {
            model: self.model.clone(),
            dimensions: self.dimensions,
            normalized: true,
        }
    }

    async fn embed(&self, request: EmbedRequest) -> ragcore::Result<EmbedResponse> {
        if request.texts.is_empty() {
            return Ok(EmbedResponse::default());
        }
        let expected = request.texts.len();
        // The callback reports no token counts; estimate them with the default vocabulary.
        let mut tokens = 0u64;
        for t in &request.texts {
            tokens += Tokenizer::default().count(t)? as u64;
        }
        let input_type = match request.input_type {
            InputType::Query => "query",
            InputType::Passage => "passage",
        };
        let raw = call(
            &self.embed,
            FnArgs::from((request.texts, input_type.to_string())),
            "embed()",
            "an array of vectors (number[] or Float32Array) or a Promise of one",
        )
        .await
        .map_err(|m| self.failure(m))?;
        Ok(EmbedResponse {
            vectors: self.vectors(raw, expected)?,
            tokens,
            estimated: true,
        })
    }
}

/// A [`Guardrail`] whose `check` is a JavaScript function.
pub struct JsGuard {
    name: String,
    check: Callback<GuardArgs, Option<GuardResult>>,
}

impl JsGuard {
    /// Wraps the guard object `this` (whose fields were read into `options`).
    pub fn new(this: &Object<'_>, options: GuardOptions<'_>) -> napi::Result<Self> {
        Ok(JsGuard {
            check: thread_safe(this, &options.check)?,
            name: options.name,
        })
    }

    fn failure(&self, message: String) -> ragcore::Error {
        ragcore::Error::Provider {
            provider: format!("guard {:?} (JavaScript)", self.name),
            status: None,
            retryable: false,
            retry_after: None,
            message,
        }
    }
}

#[async_trait]
impl Guardrail for JsGuard {
    fn name(&self) -> String {
        self.name.clone()
    }

    async fn check(&self, request: GuardRequest) -> ragcore::Result<GuardOutcome> {
        let stage = request.stage.as_str().to_string();
        let args = FnArgs::from((request.text, stage.clone(), request.scope.tenant));
        let result = call(
            &self.check,
            args,
            "check()",
            "null, {action, detail?, text?} or a Promise of one",
        )
        .await
        .map_err(|m| self.failure(m))?;
        let Some(result) = result else {
            return Ok(GuardOutcome {
                verdict: Verdict {
                    name: self.name.clone(),
                    stage,
                    action: VerdictAction::Pass,
                    detail: String::new(),
                },
                rewritten: None,
            });
        };
        let action = match result.action.as_str() {
            "pass" => VerdictAction::Pass,
            "annotate" => VerdictAction::Annotate,
            "redact" => VerdictAction::Redact,
            "block" => VerdictAction::Block,
            other => {
                return Err(self.failure(format!(
                    "check() returned action {other:?}; use 'pass', 'annotate', 'redact' or 'block'"
                )))
            }
        };
        Ok(GuardOutcome {
            rewritten: if action == VerdictAction::Block {
                None
            } else {
                result.text
            },
            verdict: Verdict {
                name: self.name.clone(),
                stage,
                action,
                detail: result.detail.unwrap_or_default(),
            },
        })
    }
}
