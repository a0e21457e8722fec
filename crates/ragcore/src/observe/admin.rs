//! The prompt, event and evaluation operations by name with JSON arguments and results, so the
//! Python and Node bindings expose them with conversions only (identical behaviour everywhere).
//!
//! | op | args | result |
//! |---|---|---|
//! | `prompts` | – | list of [`PromptVersion`](crate::prompt::PromptVersion) |
//! | `get_prompt` | `name`, `label` or `version` | a version |
//! | `save_prompt` | `name`, `system`, `user`, `labels?` | the version |
//! | `set_prompt_label` | `name`, `label`, `version`, `force?`, `reason?` | the move (or null) |
//! | `rollback_prompt` | `name`, `label` | the move |
//! | `diff_prompts` | `name`, `a`, `b` | [`PromptDiff`](crate::prompt::PromptDiff) |
//! | `export_prompts` | `format?` (`yaml`/`json`) | the text |
//! | `import_prompts` | `text`, `format?`, `allow_protected?` | [`ImportReport`](crate::prompt::ImportReport) |
//! | `events` | `tenant?`, `limit?`, `since_ms?` | list of [`AskEvent`](super::AskEvent) |
//! | `evaluate` | `golden` (JSONL text), `k?`, `tenant?`, `label?` | [`EvalReport`](crate::eval::EvalReport) |

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

use super::ListEventsRequest;
use crate::error::{Error, Result};
use crate::eval::{evaluate, parse_golden, EvalOptions};
use crate::pipeline::Pipeline;
use crate::prompt::{
    diff_versions, export_prompts, import_prompts, BundleFormat, GetPromptRequest,
    GetVersionRequest, PromoteLabelRequest, PromptBundle, RollbackRequest, SavePromptRequest,
    SetLabelRequest,
};

fn args<T: DeserializeOwned>(op: &str, v: Value) -> Result<T> {
    let v = if v.is_null() {
        Value::Object(Default::default())
    } else {
        v
    };
    serde_json::from_value(v).map_err(|e| Error::invalid(op, format!("bad arguments: {e}")))
}

fn out<T: serde::Serialize>(v: &T) -> Result<Value> {
    serde_json::to_value(v).map_err(|e| Error::Internal(format!("result to JSON: {e}")))
}

fn format(f: Option<String>) -> Result<BundleFormat> {
    match f.as_deref().unwrap_or("yaml") {
        "yaml" | "yml" => Ok(BundleFormat::Yaml),
        "json" => Ok(BundleFormat::Json),
        other => Err(Error::invalid(
            "format",
            format!("{other:?}: use yaml or json"),
        )),
    }
}

#[derive(Deserialize)]
struct NameLabel {
    name: String,
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    version: Option<Value>,
}

#[derive(Deserialize)]
struct Save {
    name: String,
    system: String,
    user: String,
    #[serde(default)]
    labels: Vec<String>,
}

#[derive(Deserialize)]
struct SetLabel {
    name: String,
    label: String,
    version: u32,
    #[serde(default)]
    force: bool,
    #[serde(default)]
    reason: Option<String>,
}

#[derive(Deserialize)]
struct Diff {
    name: String,
    a: Value,
    b: Value,
}

#[derive(Deserialize)]
struct Export {
    #[serde(default)]
    format: Option<String>,
}

#[derive(Deserialize)]
struct Import {
    text: String,
    #[serde(default)]
    format: Option<String>,
    #[serde(default)]
    allow_protected: bool,
}

#[derive(Deserialize)]
struct Events {
    #[serde(default)]
    tenant: Option<String>,
    #[serde(default)]
    limit: Option<usize>,
    #[serde(default)]
    since_ms: Option<i64>,
}

#[derive(Deserialize)]
struct Evaluate {
    golden: String,
    #[serde(default)]
    k: Option<usize>,
    #[serde(default)]
    tenant: Option<String>,
    #[serde(default)]
    label: Option<String>,
}

fn reference(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Runs operation `op` with JSON `arguments` on `pipeline` (see the table above).
pub async fn admin(pipeline: &Pipeline, op: &str, arguments: Value) -> Result<Value> {
    let reg = pipeline.prompts();
    match op {
        "prompts" => out(&reg.list().await?),
        "get_prompt" => {
            let a: NameLabel = args(op, arguments)?;
            let v = match (a.version, a.label) {
                (Some(v), _) => {
                    reg.version(GetVersionRequest {
                        name: a.name,
                        reference: reference(&v),
                    })
                    .await?
                }
                (None, label) => {
                    reg.get(GetPromptRequest {
                        name: a.name,
                        label: label.unwrap_or_else(|| "production".into()),
                    })
                    .await?
                }
            };
            out(&v)
        }
        "save_prompt" => {
            let a: Save = args(op, arguments)?;
            out(&reg
                .save(SavePromptRequest {
                    name: a.name,
                    system: a.system,
                    user: a.user,
                    labels: a.labels,
                })
                .await?)
        }
        "set_prompt_label" => {
            let a: SetLabel = args(op, arguments)?;
            if a.force {
                out(&reg
                    .promote_label(PromoteLabelRequest {
                        name: a.name,
                        label: a.label,
                        version: a.version,
                        reason: a.reason.unwrap_or_else(|| "forced through the API".into()),
                    })
                    .await?)
            } else {
                reg.set_label(SetLabelRequest {
                    name: a.name,
                    label: a.label,
                    version: a.version,
                })
                .await?;
                Ok(Value::Null)
            }
        }
        "rollback_prompt" => {
            let a: NameLabel = args(op, arguments)?;
            let label = a
                .label
                .ok_or_else(|| Error::invalid(op, "label is required"))?;
            out(&reg
                .rollback(RollbackRequest {
                    name: a.name,
                    label,
                })
                .await?)
        }
        "diff_prompts" => {
            let a: Diff = args(op, arguments)?;
            let get = |r: &Value| GetVersionRequest {
                name: a.name.clone(),
                reference: reference(r),
            };
            let (x, y) = (reg.version(get(&a.a)).await?, reg.version(get(&a.b)).await?);
            out(&diff_versions(&x, &y))
        }
        "export_prompts" => {
            let a: Export = args(op, arguments)?;
            Ok(Value::String(
                export_prompts(reg.as_ref())
                    .await?
                    .to_string(format(a.format)?)?,
            ))
        }
        "import_prompts" => {
            let a: Import = args(op, arguments)?;
            let bundle = PromptBundle::parse(&a.text, format(a.format)?)?;
            out(&import_prompts(reg.as_ref(), &bundle, a.allow_protected).await?)
        }
        "events" => {
            let a: Events = args(op, arguments)?;
            let log = pipeline
                .observer()
                .and_then(|o| o.event_log())
                .ok_or_else(|| Error::Config("this pipeline has no event log".into()))?;
            out(&log
                .list(ListEventsRequest {
                    tenant: a.tenant,
                    since_ms: a.since_ms,
                    limit: a.limit,
                })
                .await?)
        }
        "evaluate" => {
            let a: Evaluate = args(op, arguments)?;
            let cases = parse_golden(&a.golden, "golden")?;
            let mut o = EvalOptions::default();
            if let Some(k) = a.k {
                o.k = k;
            }
            if let Some(t) = a.tenant {
                o.tenant = t;
            }
            if let Some(l) = a.label {
                o.label = l;
            }
            out(&evaluate(pipeline, &cases, &o).await?)
        }
        other => Err(Error::invalid(
            "op",
            format!("unknown operation {other:?}; see ragcore::observe::admin for the list"),
        )),
    }
}
