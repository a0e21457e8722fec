//! Opening a local knowledge base with a chosen configuration (prompt label, settings file), for
//! the evaluation and prompt commands.

use std::path::Path;

use anyhow::{Context, Result};
use ragcore::{LocalOptions, Pipeline, PipelineConfig};

/// A pipeline config from a JSON file of overrides (any subset of `PipelineConfig`'s fields,
/// e.g. `{"context_tokens": 800, "retrieval": {"fusion": {"linear": {"vector_weight": 0.5}}}}`).
pub(crate) fn config_from(file: Option<&Path>) -> Result<PipelineConfig> {
    let Some(file) = file else {
        return Ok(PipelineConfig::default());
    };
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let overrides: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", file.display()))?;
    let mut base = serde_json::to_value(PipelineConfig::default())?;
    merge(&mut base, overrides);
    serde_json::from_value(base).with_context(|| {
        format!(
            "{}: not a valid pipeline config (see `ragcore eval --help`)",
            file.display()
        )
    })
}

fn merge(base: &mut serde_json::Value, over: serde_json::Value) {
    match (base, over) {
        (serde_json::Value::Object(b), serde_json::Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(&k) {
                    Some(slot) if slot.is_object() && v.is_object() => merge(slot, v),
                    _ => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (b, o) => *b = o,
    }
}

/// Opens `dir` with the models of the environment, `config`, and (when `log_events` is false)
/// without writing the event log (evaluation runs must not pollute production dashboards).
pub(crate) async fn open_with(
    dir: &Path,
    config: PipelineConfig,
    log_events: bool,
) -> Result<Pipeline> {
    let prices = match std::env::var_os("RAGCORE_PRICES") {
        Some(path) => Some(ragcore::PriceTable::with_overrides(Path::new(&path))?),
        None => None,
    };
    let opts = LocalOptions {
        embedder: ragcore::embedder_from_env()?,
        chat: ragcore::chat_from_env()?,
        prices,
        config,
        no_event_log: !log_events,
        ..Default::default()
    };
    Pipeline::open_local(dir, opts)
        .await
        .with_context(|| format!("opening knowledge base {}", dir.display()))
}
