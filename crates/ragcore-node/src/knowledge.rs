//! The argument of `KnowledgeBase.knowledge()`: a plain object read as the core's
//! [`KnowledgeOp`].

use napi::bindgen_prelude::Unknown;
use napi::Env;
use napi_derive::napi;
use ragcore::pipeline::KnowledgeOp;

use crate::errors::Failure;

/// The TypeScript shape of a knowledge operation (see `KnowledgeBase.knowledge`).
#[napi(object)]
pub struct KnowledgeOpShape {
    /// `sync`, `versions`, `diff`, `documents`, `rollback`, `verify`, `repair`, `reembed` or
    /// `drift`.
    pub op: String,
}

/// Reads the operation object; a missing or malformed one is an `invalid_input` failure.
pub fn op_arg(env: &Env, value: Option<Unknown<'_>>) -> Result<KnowledgeOp, Failure> {
    let Some(value) = value else {
        return Err(Failure::invalid(
            "op",
            "is required, e.g. {op: \"versions\"}",
        ));
    };
    let json = env
        .from_js_value::<serde_json::Value, _>(value)
        .map_err(|e| Failure {
            type_error: true,
            ..Failure::invalid("op", format!("must be a plain object ({})", e.reason))
        })?;
    Ok(KnowledgeOp::from_json(json)?)
}
