//! Conversions between Python values and the core's types: JSON-like values (both ways),
//! documents given as dicts, and the pipeline configuration given as a (partial) dict.

use std::collections::BTreeMap;
use std::sync::Arc;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use ragcore::{Document, DocumentKind, PipelineConfig};
use serde_json::{Map, Number, Value};

/// How deep nested containers may be before conversion gives up (cycles, runaway data).
const MAX_DEPTH: usize = 64;

/// A JSON value on its way to Python (dicts, lists, str, int, float, bool, None).
pub struct Json(pub Value);

impl<'py> IntoPyObject<'py> for Json {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json_to_py(py, &self.0)
    }
}

/// Serialises a core value into a [`Json`] for Python.
pub fn to_json<T: serde::Serialize>(value: &T) -> ragcore::Result<Json> {
    serde_json::to_value(value)
        .map(Json)
        .map_err(|e| ragcore::Error::Internal(format!("cannot convert a result for Python: {e}")))
}

/// Builds the Python value of a JSON value.
pub fn json_to_py<'py>(py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any()
            } else if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any()
            } else {
                n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any()
            }
        }
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(json_to_py(py, item)?)?;
            }
            list.into_any()
        }
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (k, v) in map {
                dict.set_item(k, json_to_py(py, v)?)?;
            }
            dict.into_any()
        }
    })
}

/// Reads a JSON-like Python value (dict with str keys, list, tuple, str, int, float, bool,
/// None); `what` names it in error messages.
pub fn py_to_json(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Value> {
    py_to_json_at(obj, what, 0)
}

fn py_to_json_at(obj: &Bound<'_, PyAny>, what: &str, depth: usize) -> PyResult<Value> {
    if depth > MAX_DEPTH {
        return Err(PyValueError::new_err(format!(
            "{what} is nested more than {MAX_DEPTH} levels deep"
        )));
    }
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if obj.is_instance_of::<PyInt>() {
        if let Ok(i) = obj.extract::<i64>() {
            return Ok(Value::from(i));
        }
        return Ok(Value::from(obj.extract::<u64>()?));
    }
    if obj.is_instance_of::<PyFloat>() {
        let f: f64 = obj.extract()?;
        return Number::from_f64(f).map(Value::Number).ok_or_else(|| {
            PyValueError::new_err(format!("{what} must be a finite number, got {f}"))
        });
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Value::String(s.to_cow()?.into_owned()));
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        let mut map = Map::new();
        for (k, v) in d.iter() {
            let key: String = k.extract().map_err(|_| {
                PyTypeError::new_err(format!("{what} keys must be str, got {}", type_name(&k)))
            })?;
            let value = py_to_json_at(&v, &format!("{what}[{key:?}]"), depth + 1)?;
            map.insert(key, value);
        }
        return Ok(Value::Object(map));
    }
    if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        let mut items = Vec::new();
        for (i, item) in obj.try_iter()?.enumerate() {
            items.push(py_to_json_at(&item?, &format!("{what}[{i}]"), depth + 1)?);
        }
        return Ok(Value::Array(items));
    }
    Err(PyTypeError::new_err(format!(
        "{what} must be a dict, list, str, int, float, bool or None, got {}",
        type_name(obj)
    )))
}

/// The Python type name of a value, for messages.
pub fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "object".into())
}

/// Reads a list of strings (a bare `str` is refused: it is almost always a missing `[...]`).
pub fn str_list(obj: Option<&Bound<'_, PyAny>>, what: &str) -> PyResult<Vec<String>> {
    let Some(obj) = obj else {
        return Ok(Vec::new());
    };
    if obj.is_none() {
        return Ok(Vec::new());
    }
    if obj.is_instance_of::<PyString>() {
        return Err(PyTypeError::new_err(format!(
            "{what} must be a list of str, got a single str (wrap it in a list)"
        )));
    }
    let iter = obj.try_iter().map_err(|_| {
        PyTypeError::new_err(format!(
            "{what} must be a list of str, got {}",
            type_name(obj)
        ))
    })?;
    let mut out = Vec::new();
    for (i, item) in iter.enumerate() {
        let item = item?;
        let s: String = item.extract().map_err(|_| {
            PyTypeError::new_err(format!(
                "{what}[{i}] must be a str, got {}",
                type_name(&item)
            ))
        })?;
        out.push(s);
    }
    Ok(out)
}

/// Reads a required `str` argument with a clear message on `None` or another type.
pub fn required_str(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<String> {
    if obj.is_none() {
        return Err(PyTypeError::new_err(format!(
            "{what} must be a str, got None"
        )));
    }
    obj.extract::<String>()
        .map_err(|_| PyTypeError::new_err(format!("{what} must be a str, got {}", type_name(obj))))
}

const DOCUMENT_KEYS: [&str; 7] = ["id", "text", "title", "kind", "acl", "metadata", "source"];

/// Reads the `documents=` argument: a list of dicts with `id` and `text` (required) and
/// `title`, `kind` (`"text"` or `"faq"`), `acl`, `metadata`, `source` (optional; title and
/// source default to the id).
pub fn documents(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<Document>> {
    let Some(obj) = obj.filter(|o| !o.is_none()) else {
        return Ok(Vec::new());
    };
    if obj.is_instance_of::<PyDict>() || obj.is_instance_of::<PyString>() {
        return Err(PyTypeError::new_err(format!(
            "documents must be a list of dicts, got a single {} (wrap it in a list)",
            type_name(obj)
        )));
    }
    let iter = obj.try_iter().map_err(|_| {
        PyTypeError::new_err(format!(
            "documents must be a list of dicts, got {}",
            type_name(obj)
        ))
    })?;
    let mut out = Vec::new();
    for (i, item) in iter.enumerate() {
        out.push(document(&item?, &format!("documents[{i}]"))?);
    }
    Ok(out)
}

fn document(item: &Bound<'_, PyAny>, what: &str) -> PyResult<Document> {
    let dict = item.cast::<PyDict>().map_err(|_| {
        PyTypeError::new_err(format!(
            "{what} must be a dict with 'id' and 'text', got {}",
            type_name(item)
        ))
    })?;
    for key in dict.keys() {
        let k: String = key.extract().unwrap_or_default();
        if !DOCUMENT_KEYS.contains(&k.as_str()) {
            return Err(PyValueError::new_err(format!(
                "{what} has an unknown key {k:?}; allowed: {}",
                DOCUMENT_KEYS.join(", ")
            )));
        }
    }
    let get = |key: &str| -> PyResult<Option<Bound<'_, PyAny>>> {
        Ok(dict.get_item(key)?.filter(|v| !v.is_none()))
    };
    let field = |key: &str| format!("{what}[{key:?}]");
    let id = match get("id")? {
        Some(v) => required_str(&v, &field("id"))?,
        None => return Err(PyValueError::new_err(format!("{what} has no 'id'"))),
    };
    let text = match get("text")? {
        Some(v) => required_str(&v, &field("text"))?,
        None => return Err(PyValueError::new_err(format!("{what} has no 'text'"))),
    };
    let mut doc = Document::new(id, text);
    if let Some(v) = get("title")? {
        doc.title = required_str(&v, &field("title"))?;
    }
    if let Some(v) = get("source")? {
        doc.source = required_str(&v, &field("source"))?;
    }
    if let Some(v) = get("kind")? {
        doc.kind = match required_str(&v, &field("kind"))?.as_str() {
            "text" => DocumentKind::Text,
            "faq" => DocumentKind::Faq,
            other => {
                return Err(PyValueError::new_err(format!(
                    "{} must be \"text\" or \"faq\", got {other:?}",
                    field("kind")
                )))
            }
        };
    }
    doc.acl = str_list(get("acl")?.as_ref(), &field("acl"))?;
    if let Some(v) = get("metadata")? {
        let meta = v.cast::<PyDict>().map_err(|_| {
            PyTypeError::new_err(format!(
                "{} must be a dict of str to str, got {}",
                field("metadata"),
                type_name(&v)
            ))
        })?;
        let mut map = BTreeMap::new();
        for (k, val) in meta.iter() {
            let key = required_str(&k, &format!("{} key", field("metadata")))?;
            let value = required_str(&val, &format!("{}[{key:?}]", field("metadata")))?;
            map.insert(key, value);
        }
        doc.metadata = map;
    }
    Ok(doc)
}

/// Reads the `config=` argument: a dict of [`PipelineConfig`] fields, nested like its JSON form;
/// fields not given keep their defaults, unknown fields are refused.
pub fn config(obj: Option<&Bound<'_, PyAny>>) -> PyResult<PipelineConfig> {
    let Some(obj) = obj.filter(|o| !o.is_none()) else {
        return Ok(PipelineConfig::default());
    };
    if !obj.is_instance_of::<PyDict>() {
        return Err(PyTypeError::new_err(format!(
            "config must be a dict, got {}",
            type_name(obj)
        )));
    }
    let given = py_to_json(obj, "config")?;
    let mut merged = serde_json::to_value(PipelineConfig::default())
        .map_err(|e| PyValueError::new_err(format!("cannot read the default config: {e}")))?;
    merge(&mut merged, given, "config")?;
    serde_json::from_value(merged)
        .map_err(|e| PyValueError::new_err(format!("invalid config: {e}")))
}

/// Reads a dict argument into a serde settings type (`what` names it in errors).
fn settings<T: serde::de::DeserializeOwned>(
    obj: Option<&Bound<'_, PyAny>>,
    what: &str,
) -> PyResult<Option<T>> {
    let Some(obj) = obj.filter(|o| !o.is_none()) else {
        return Ok(None);
    };
    if !obj.is_instance_of::<PyDict>() {
        return Err(PyTypeError::new_err(format!(
            "{what} must be a dict, got {}",
            type_name(obj)
        )));
    }
    let given = py_to_json(obj, what)?;
    serde_json::from_value(given)
        .map(Some)
        .map_err(|e| PyValueError::new_err(format!("invalid {what}: {e}")))
}

/// Reads the `budgets=` argument: `{"rules": [...], "over_budget": "error" | "degrade",
/// "rate_limits": [...], "on_alert": callable}` (the Rust `BudgetConfig`); unknown keys are
/// refused. `on_alert(alert: dict)` is called when a soft limit is crossed; an exception it
/// raises goes to `sys.unraisablehook` and never fails the ask.
pub fn budgets(obj: Option<&Bound<'_, PyAny>>) -> PyResult<ragcore::cost::BudgetConfig> {
    let Some(obj) = obj.filter(|o| !o.is_none()) else {
        return Ok(Default::default());
    };
    let Ok(dict) = obj.cast::<PyDict>() else {
        return Err(PyTypeError::new_err(format!(
            "budgets must be a dict, got {}",
            type_name(obj)
        )));
    };
    let data = dict.copy()?;
    let callback = match data.get_item("on_alert")? {
        Some(cb) if !cb.is_none() => {
            if !cb.is_callable() {
                return Err(PyTypeError::new_err(format!(
                    "budgets[\"on_alert\"] must be callable (it receives the alert as a dict), got {}",
                    type_name(&cb)
                )));
            }
            Some(cb.unbind())
        }
        _ => None,
    };
    data.del_item("on_alert").ok();
    let mut config: ragcore::cost::BudgetConfig =
        settings(Some(data.as_any()), "budgets")?.unwrap_or_default();
    if let Some(cb) = callback {
        config.on_alert = Some(Arc::new(move |alert: &ragcore::cost::BudgetAlert| {
            let Ok(json) = serde_json::to_value(alert) else {
                return;
            };
            Python::attach(|py| {
                let called = json_to_py(py, &json).and_then(|d| cb.call1(py, (d,)));
                if let Err(e) = called {
                    // Reported through sys.unraisablehook, like an exception in __del__.
                    e.write_unraisable(py, Some(cb.bind(py)));
                }
            });
        }));
    }
    Ok(config)
}

/// Reads the `cache=` argument: `{"ttl_secs", "semantic_threshold", "max_entries"}` (the Rust
/// `CacheConfig`; `{}` for the defaults); `None`: no answer cache.
pub fn cache(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<ragcore::cache::CacheConfig>> {
    settings(obj, "cache")
}

/// Overlays `given` on `base`: objects merge key by key (a key unknown to `base` is an error),
/// anything else replaces the base value.
fn merge(base: &mut Value, given: Value, path: &str) -> PyResult<()> {
    match (base, given) {
        (Value::Object(base), Value::Object(given)) => {
            for (k, v) in given {
                let here = format!("{path}.{k}");
                match base.get_mut(&k) {
                    Some(slot) if slot.is_object() && v.is_object() && same_variant(slot, &v) => {
                        merge(slot, v, &here)?
                    }
                    Some(slot) => *slot = v,
                    None => {
                        let known: Vec<&str> = base.keys().map(String::as_str).collect();
                        return Err(PyValueError::new_err(format!(
                            "unknown config key {here:?}; known keys here: {}",
                            known.join(", ")
                        )));
                    }
                }
            }
            Ok(())
        }
        (slot, v) => {
            *slot = v;
            Ok(())
        }
    }
}

/// Internally tagged enums (e.g. `fusion = {"method": "rrf", ...}`) merge only within the same
/// variant; naming another variant replaces the value whole, since that variant has other fields.
fn same_variant(base: &Value, given: &Value) -> bool {
    match (base.get("method"), given.get("method")) {
        (Some(b), Some(g)) => b == g,
        _ => true,
    }
}
