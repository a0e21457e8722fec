//! Conversions between JavaScript values and core types: arguments are checked field by field
//! (a wrong type is a `TypeError`, a bad value an `Error`, both with code `invalid_input`, and
//! the message names the field, e.g. `documents[2].id`); results become the camelCase objects
//! of [`crate::types`].

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use napi::bindgen_prelude::{JsObjectValue, Object, Unknown};
use napi::{Env, JsValue, ValueType};
use ragcore::types::DEFAULT_TENANT;
use ragcore::{Document, DocumentKind, IngestRequest, LocalOptions, Scope};
use serde_json::{Map, Value};

use crate::callbacks::{JsEmbedder, JsGuard};
use crate::errors::Failure;
use crate::types::{
    Answer, Citation, Cost, DocumentInput, EmbedderOptions, GuardOptions, Hit, IngestError,
    IngestOptions, IngestReport, ScopeOptions, Usage, Verdict,
};

// ---------------------------------------------------------------------------------------------
// JavaScript values (on the JavaScript thread)
// ---------------------------------------------------------------------------------------------

/// A JavaScript value's type for error messages (`array` and `null` told apart).
fn type_name(value: &Unknown<'_>) -> &'static str {
    match value.get_type() {
        Ok(ValueType::Undefined) => "undefined",
        Ok(ValueType::Null) => "null",
        Ok(ValueType::Boolean) => "boolean",
        Ok(ValueType::Number) => "number",
        Ok(ValueType::String) => "string",
        Ok(ValueType::Symbol) => "symbol",
        Ok(ValueType::Object) if value.is_array().unwrap_or(false) => "array",
        Ok(ValueType::Object) => "object",
        Ok(ValueType::Function) => "function",
        Ok(ValueType::External) => "external",
        _ => "an unknown value",
    }
}

/// Whether a value is `undefined` or `null`.
pub fn is_nullish(value: &Unknown<'_>) -> bool {
    matches!(
        value.get_type(),
        Ok(ValueType::Undefined) | Ok(ValueType::Null)
    )
}

/// A napi failure while reading an argument (a throwing getter, a dead environment).
fn unreadable(field: &str, error: &napi::Error) -> Failure {
    Failure::invalid(field, format!("cannot be read: {}", error.reason))
}

/// A required string argument.
pub fn string_arg(value: Option<Unknown<'_>>, field: &str) -> Result<String, Failure> {
    let got = value.as_ref().map_or("undefined", type_name);
    match value {
        Some(v) if got == "string" => v
            .coerce_to_string()
            .and_then(|s| s.into_utf8())
            .and_then(|s| s.into_owned())
            .map_err(|e| unreadable(field, &e)),
        _ => Err(Failure::wrong_type(field, "a string", got)),
    }
}

/// An optional object argument: `undefined`/`null` give `None`, anything but a plain object is
/// a `TypeError`.
pub fn object_arg<'env>(
    value: Option<Unknown<'env>>,
    field: &str,
) -> Result<Option<Object<'env>>, Failure> {
    let Some(value) = value.filter(|v| !is_nullish(v)) else {
        return Ok(None);
    };
    match type_name(&value) {
        "object" => value
            .coerce_to_object()
            .map(Some)
            .map_err(|e| unreadable(field, &e)),
        got => Err(Failure::wrong_type(field, "an object", got)),
    }
}

/// Rejects properties the API does not know (a typo would otherwise be silently ignored).
fn check_object_keys(object: &Object<'_>, allowed: &[&str], field: &str) -> Result<(), Failure> {
    let keys = Object::keys(object).map_err(|e| unreadable(field, &e))?;
    match keys.iter().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(unknown_key(field, k, allowed)),
        None => Ok(()),
    }
}

fn unknown_key(field: &str, key: &str, allowed: &[&str]) -> Failure {
    Failure::invalid(
        field,
        format!("unknown property {key:?}; expected {}", allowed.join(", ")),
    )
}

fn property<'env>(
    object: &Object<'env>,
    name: &str,
    field: &str,
) -> Result<Unknown<'env>, Failure> {
    object
        .get_named_property_unchecked::<Unknown<'env>>(name)
        .map_err(|e| unreadable(field, &e))
}

/// The embedder object of `open()`'s options (any object: a class instance may carry more
/// properties than the three read here).
fn embedder(object: &Object<'_>) -> Result<JsEmbedder, Failure> {
    let model = string_arg(
        Some(property(object, "model", "options.embedder.model")?),
        "options.embedder.model",
    )?;
    if model.trim().is_empty() {
        return Err(Failure::invalid(
            "options.embedder.model",
            "must not be empty",
        ));
    }
    let field = "options.embedder.dimensions";
    let dims = property(object, "dimensions", field)?;
    let dimensions = match type_name(&dims) {
        "number" => dims
            .coerce_to_number()
            .and_then(|n| n.get_double())
            .map_err(|e| unreadable(field, &e))?,
        got => return Err(Failure::wrong_type(field, "a number", got)),
    };
    if dimensions.fract() != 0.0 || !(1.0..=65536.0).contains(&dimensions) {
        return Err(Failure::invalid(
            field,
            format!("must be a whole number from 1 to 65536, got {dimensions}"),
        ));
    }
    let field = "options.embedder.embed";
    let embed = property(object, "embed", field)?;
    if type_name(&embed) != "function" {
        return Err(Failure::wrong_type(field, "a function", type_name(&embed)));
    }
    let options = EmbedderOptions {
        model,
        dimensions: dimensions as u32,
        embed: object
            .get_named_property_unchecked("embed")
            .map_err(|e| unreadable(field, &e))?,
    };
    JsEmbedder::new(object, options).map_err(|e| unreadable(field, &e))
}

/// One guard object of `open()`'s options.
fn guard(object: &Object<'_>, field: &str) -> Result<JsGuard, Failure> {
    let name_field = format!("{field}.name");
    let name = string_arg(Some(property(object, "name", &name_field)?), &name_field)?;
    if name.trim().is_empty() {
        return Err(Failure::invalid(&name_field, "must not be empty"));
    }
    let check_field = format!("{field}.check");
    let check = property(object, "check", &check_field)?;
    if type_name(&check) != "function" {
        return Err(Failure::wrong_type(
            &check_field,
            "a function",
            type_name(&check),
        ));
    }
    let options = GuardOptions {
        name,
        check: object
            .get_named_property_unchecked("check")
            .map_err(|e| unreadable(&check_field, &e))?,
    };
    JsGuard::new(object, options).map_err(|e| unreadable(&check_field, &e))
}

/// `open()`'s options (`OpenOptions` in `index.d.ts`) as core [`LocalOptions`], with the
/// JavaScript callbacks wrapped as thread-safe functions.
pub fn open_options(env: &Env, value: Option<Unknown<'_>>) -> Result<LocalOptions, Failure> {
    let mut local = LocalOptions::default();
    let Some(options) = object_arg(value, "options")? else {
        return Ok(local);
    };
    check_object_keys(
        &options,
        &[
            "embedder",
            "guards",
            "guardPolicy",
            "rerank",
            "budgets",
            "cache",
        ],
        "options",
    )?;
    let field = "options.budgets";
    let budgets = property(&options, "budgets", field)?;
    if !is_nullish(&budgets) {
        let json = json_arg(env, budgets, field)?;
        local.budgets = serde_json::from_value(json)
            .map_err(|e| Failure::invalid(field, format!("is not a budget config: {e}")))?;
    }
    let field = "options.cache";
    let cache = property(&options, "cache", field)?;
    if !is_nullish(&cache) {
        let json = json_arg(env, cache, field)?;
        local.cache = Some(
            serde_json::from_value(json)
                .map_err(|e| Failure::invalid(field, format!("is not a cache config: {e}")))?,
        );
    }
    let field = "options.guardPolicy";
    let policy = property(&options, "guardPolicy", field)?;
    if !is_nullish(&policy) {
        let json = json_arg(env, policy, field)?;
        local.config.guards = serde_json::from_value(json)
            .map_err(|e| Failure::invalid(field, format!("is not a guard policy: {e}")))?;
    }
    let field = "options.rerank";
    let rerank = property(&options, "rerank", field)?;
    if !is_nullish(&rerank) {
        let name = string_arg(Some(rerank), field)?;
        local.reranker = ragcore::retrieve::rerank::by_name(&name, local.config.segmenter)?;
    }
    let field = "options.embedder";
    if let Some(object) = object_arg(Some(property(&options, "embedder", field)?), field)? {
        local.embedder = Some(Arc::new(embedder(&object)?));
    }
    let field = "options.guards";
    let guards = property(&options, "guards", field)?;
    if !is_nullish(&guards) {
        if type_name(&guards) != "array" {
            return Err(Failure::wrong_type(field, "an array", type_name(&guards)));
        }
        let list = guards
            .coerce_to_object()
            .map_err(|e| unreadable(field, &e))?;
        let len: u32 = list
            .get_named_property_unchecked("length")
            .map_err(|e| unreadable(field, &e))?;
        for i in 0..len {
            let item_field = format!("{field}[{i}]");
            let item: Unknown<'_> = list
                .get_element(i)
                .map_err(|e| unreadable(&item_field, &e))?;
            let Some(object) = object_arg(Some(item), &item_field)? else {
                return Err(Failure::wrong_type(&item_field, "an object", "null"));
            };
            let g: Arc<dyn ragcore::Guardrail> = Arc::new(guard(&object, &item_field)?);
            local.input_guards.push(g.clone());
            local.output_guards.push(g);
        }
    }
    Ok(local)
}

/// Reads a plain-data argument (no functions) as JSON.
fn json_arg(env: &Env, value: Unknown<'_>, field: &str) -> Result<Value, Failure> {
    env.from_js_value::<Value, _>(value).map_err(|e| Failure {
        type_error: true,
        ..Failure::invalid(
            field,
            format!(
                "must hold only strings, numbers, booleans, arrays and objects ({})",
                e.reason
            ),
        )
    })
}

// ---------------------------------------------------------------------------------------------
// Plain data (JSON)
// ---------------------------------------------------------------------------------------------

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn json_object<'v>(
    value: &'v Value,
    field: &str,
    allowed: &[&str],
) -> Result<&'v Map<String, Value>, Failure> {
    let Value::Object(map) = value else {
        return Err(Failure::wrong_type(field, "an object", json_type(value)));
    };
    match map.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(unknown_key(field, k, allowed)),
        None => Ok(map),
    }
}

/// The property `key`, absent when missing, `null` or `undefined`.
fn json_get<'v>(map: &'v Map<String, Value>, key: &str) -> Option<&'v Value> {
    map.get(key).filter(|v| !v.is_null())
}

fn json_string(value: &Value, field: &str) -> Result<String, Failure> {
    match value {
        Value::String(s) => Ok(s.clone()),
        other => Err(Failure::wrong_type(field, "a string", json_type(other))),
    }
}

fn json_opt_string(
    map: &Map<String, Value>,
    key: &str,
    field: &str,
) -> Result<Option<String>, Failure> {
    json_get(map, key)
        .map(|v| json_string(v, &format!("{field}.{key}")))
        .transpose()
}

fn json_strings(value: &Value, field: &str) -> Result<Vec<String>, Failure> {
    let Value::Array(items) = value else {
        return Err(Failure::wrong_type(
            field,
            "an array of strings",
            json_type(value),
        ));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, v)| json_string(v, &format!("{field}[{i}]")))
        .collect()
}

fn json_opt_strings(
    map: &Map<String, Value>,
    key: &str,
    field: &str,
) -> Result<Option<Vec<String>>, Failure> {
    json_get(map, key)
        .map(|v| json_strings(v, &format!("{field}.{key}")))
        .transpose()
}

/// A `{tenant?, principals?}` argument; `undefined`/`null` give the default scope.
pub fn scope_arg(env: &Env, value: Option<Unknown<'_>>, field: &str) -> Result<Scope, Failure> {
    let Some(value) = value.filter(|v| !is_nullish(v)) else {
        return Ok(scope(ScopeOptions {
            tenant: None,
            principals: None,
        }));
    };
    if type_name(&value) != "object" {
        return Err(Failure::wrong_type(field, "an object", type_name(&value)));
    }
    let json = json_arg(env, value, field)?;
    let map = json_object(&json, field, &["tenant", "principals"])?;
    Ok(scope(ScopeOptions {
        tenant: json_opt_string(map, "tenant", field)?,
        principals: json_opt_strings(map, "principals", field)?,
    }))
}

/// The core scope of a [`ScopeOptions`]; the core validates the identifiers.
pub fn scope(options: ScopeOptions) -> Scope {
    Scope::tenant(options.tenant.unwrap_or_else(|| DEFAULT_TENANT.into()))
        .with_principals(options.principals.unwrap_or_default())
}

fn document_input(value: &Value, field: &str) -> Result<DocumentInput, Failure> {
    let map = json_object(
        value,
        field,
        &["id", "text", "title", "kind", "acl", "source", "metadata"],
    )?;
    let required = |key: &str| -> Result<String, Failure> {
        let f = format!("{field}.{key}");
        match json_get(map, key) {
            Some(v) => json_string(v, &f),
            None => Err(Failure::wrong_type(&f, "a string", "undefined")),
        }
    };
    let metadata = match json_get(map, "metadata") {
        None => None,
        Some(Value::Object(m)) => Some(
            m.iter()
                .map(|(k, v)| Ok((k.clone(), json_string(v, &format!("{field}.metadata.{k}"))?)))
                .collect::<Result<HashMap<_, _>, Failure>>()?,
        ),
        Some(other) => {
            return Err(Failure::wrong_type(
                &format!("{field}.metadata"),
                "an object of strings",
                json_type(other),
            ))
        }
    };
    Ok(DocumentInput {
        id: required("id")?,
        text: required("text")?,
        title: json_opt_string(map, "title", field)?,
        kind: json_opt_string(map, "kind", field)?,
        acl: json_opt_strings(map, "acl", field)?,
        source: json_opt_string(map, "source", field)?,
        metadata,
    })
}

/// `ingest()`'s argument (`IngestOptions` in `index.d.ts`) as a core [`IngestRequest`].
pub fn ingest_arg(env: &Env, value: Option<Unknown<'_>>) -> Result<IngestRequest, Failure> {
    let field = "request";
    let got = value.as_ref().map_or("undefined", type_name);
    let value = match value {
        Some(v) if got == "object" => v,
        _ => {
            return Err(Failure::wrong_type(
                field,
                "an object {paths?, documents?, tenant?, acl?}",
                got,
            ))
        }
    };
    let json = json_arg(env, value, field)?;
    let map = json_object(&json, field, &["paths", "documents", "tenant", "acl"])?;
    let documents = match json_get(map, "documents") {
        None => None,
        Some(Value::Array(items)) => Some(
            items
                .iter()
                .enumerate()
                .map(|(i, v)| document_input(v, &format!("documents[{i}]")))
                .collect::<Result<Vec<_>, _>>()?,
        ),
        Some(other) => {
            return Err(Failure::wrong_type(
                "documents",
                "an array",
                json_type(other),
            ))
        }
    };
    ingest_request(IngestOptions {
        paths: json_get(map, "paths")
            .map(|v| json_strings(v, "paths"))
            .transpose()?,
        documents,
        tenant: json_get(map, "tenant")
            .map(|v| json_string(v, "tenant"))
            .transpose()?,
        acl: json_get(map, "acl")
            .map(|v| json_strings(v, "acl"))
            .transpose()?,
    })
}

/// The core request of an [`IngestOptions`].
pub fn ingest_request(options: IngestOptions) -> Result<IngestRequest, Failure> {
    let documents = options
        .documents
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(i, d)| document(d, i))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(IngestRequest {
        paths: options
            .paths
            .unwrap_or_default()
            .into_iter()
            .map(Into::into)
            .collect(),
        documents,
        tenant: options.tenant.unwrap_or_else(|| DEFAULT_TENANT.into()),
        acl: options.acl.unwrap_or_default(),
    })
}

fn document(input: DocumentInput, index: usize) -> Result<Document, Failure> {
    let mut d = Document::new(input.id, input.text);
    if let Some(title) = input.title {
        d.title = title;
    }
    if let Some(source) = input.source {
        d.source = source;
    }
    d.kind = match input.kind.as_deref() {
        None | Some("text") => DocumentKind::Text,
        Some("faq") => DocumentKind::Faq,
        Some(other) => {
            return Err(Failure::invalid(
                &format!("documents[{index}].kind"),
                format!("unknown kind {other:?}; use 'text' or 'faq'"),
            ))
        }
    };
    d.acl = input.acl.unwrap_or_default();
    d.metadata = input
        .metadata
        .unwrap_or_default()
        .into_iter()
        .collect::<BTreeMap<_, _>>();
    Ok(d)
}

// ---------------------------------------------------------------------------------------------
// Results
// ---------------------------------------------------------------------------------------------

/// A count as a JavaScript number (exact up to 2^53, far beyond any real count).
fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn kind_name(kind: DocumentKind) -> String {
    kind.as_str().into()
}

fn action_name(action: ragcore::VerdictAction) -> String {
    action.as_str().into()
}

impl From<ragcore::IngestReport> for IngestReport {
    fn from(r: ragcore::IngestReport) -> Self {
        IngestReport {
            kb_version: count(r.kb_version),
            documents_seen: count(r.documents_seen),
            documents_added: count(r.documents_added),
            documents_changed: count(r.documents_changed),
            documents_unchanged: count(r.documents_unchanged),
            chunks_added: count(r.chunks_added),
            chunks_removed: count(r.chunks_removed),
            chunks_embedded: count(r.chunks_embedded),
            embedding_tokens: count(r.embedding_tokens),
            errors: r
                .errors
                .into_iter()
                .map(|e| IngestError {
                    kind: e.kind,
                    message: e.message,
                })
                .collect(),
        }
    }
}

impl From<ragcore::Hit> for Hit {
    fn from(h: ragcore::Hit) -> Self {
        Hit {
            kind: kind_name(h.kind),
            chunk_id: h.chunk_id,
            document_id: h.document_id,
            title: h.title,
            context: h.context,
            text: h.text,
            score: f64::from(h.score),
            vector_score: h.vector_score.map(f64::from),
            lexical_score: h.lexical_score.map(f64::from),
        }
    }
}

impl From<ragcore::Citation> for Citation {
    fn from(c: ragcore::Citation) -> Self {
        Citation {
            index: c.index,
            chunk_id: c.chunk_id,
            document_id: c.document_id,
            title: c.title,
            snippet: c.snippet,
            score: f64::from(c.score),
        }
    }
}

impl From<ragcore::Usage> for Usage {
    fn from(u: ragcore::Usage) -> Self {
        Usage {
            prompt_tokens: count(u.prompt_tokens),
            completion_tokens: count(u.completion_tokens),
            embedding_tokens: count(u.embedding_tokens),
            estimated: u.estimated,
            cached_prompt_tokens: count(u.cached_prompt_tokens),
            reasoning_tokens: count(u.reasoning_tokens),
        }
    }
}

impl From<ragcore::Cost> for Cost {
    fn from(c: ragcore::Cost) -> Self {
        Cost {
            input_usd: c.input_usd,
            output_usd: c.output_usd,
            embedding_usd: c.embedding_usd,
            total_usd: c.total_usd,
        }
    }
}

impl From<ragcore::Verdict> for Verdict {
    fn from(v: ragcore::Verdict) -> Self {
        Verdict {
            action: action_name(v.action),
            name: v.name,
            stage: v.stage,
            detail: v.detail,
        }
    }
}

impl From<ragcore::Answer> for Answer {
    fn from(a: ragcore::Answer) -> Self {
        Answer {
            text: a.text,
            citations: a.citations.into_iter().map(Into::into).collect(),
            no_answer: a.no_answer,
            kb_version: count(a.kb_version),
            prompt_version: a.prompt_version,
            model: a.model,
            usage: a.usage.into(),
            cost: a.cost.into(),
            timings: a.timings.into_iter().collect(),
            verdicts: a.verdicts.into_iter().map(Into::into).collect(),
            degraded: a.degraded,
            cache: a.cache.as_str().to_string(),
        }
    }
}
