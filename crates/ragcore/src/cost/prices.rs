//! The price table: per model, US dollars per million input and output tokens, with the date
//! the prices were taken. Shipped defaults can be overridden by a TOML file.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Prices of one model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ModelPrice {
    /// USD per million input (prompt or embedding) tokens.
    pub input_per_million: f64,
    /// USD per million output tokens.
    #[serde(default)]
    pub output_per_million: f64,
    /// USD per million input tokens served from the provider's prompt cache (default: the
    /// input price).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached_input_per_million: Option<f64>,
    /// USD per million reasoning tokens (default: the output price; OpenAI bills reasoning as
    /// output).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_per_million: Option<f64>,
}

impl ModelPrice {
    /// The chat cost of a usage: uncached input, cached input, output and reasoning tokens, in
    /// USD, as `(input, output)`. Cached tokens are part of `prompt_tokens` and reasoning tokens
    /// part of `completion_tokens` (as OpenAI reports them).
    pub fn chat_cost(&self, u: &crate::types::Usage) -> (f64, f64) {
        let cached = u.cached_prompt_tokens.min(u.prompt_tokens);
        let reasoning = u.reasoning_tokens.min(u.completion_tokens);
        let input = (u.prompt_tokens - cached) as f64 * self.input_per_million
            + cached as f64
                * self
                    .cached_input_per_million
                    .unwrap_or(self.input_per_million);
        let output = (u.completion_tokens - reasoning) as f64 * self.output_per_million
            + reasoning as f64
                * self
                    .reasoning_per_million
                    .unwrap_or(self.output_per_million);
        (input / 1e6, output / 1e6)
    }
}

/// A dated, versioned price table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PriceTable {
    /// The date the prices were taken (YYYY-MM-DD).
    pub version: String,
    /// Revision of the table on that date (raised when a same-day correction is shipped);
    /// answers' costs can be traced to `version` + `revision`.
    #[serde(default)]
    pub revision: u32,
    /// Prices by model name.
    pub models: BTreeMap<String, ModelPrice>,
}

const DEFAULT_TOML: &str = include_str!("default_prices.toml");

impl Default for PriceTable {
    fn default() -> Self {
        toml::from_str(DEFAULT_TOML).unwrap_or(PriceTable {
            version: "empty".into(),
            revision: 0,
            models: BTreeMap::new(),
        })
    }
}

impl PriceTable {
    /// Parses a price table from TOML text.
    pub fn from_toml(text: &str, origin: &str) -> Result<Self> {
        let t: PriceTable = toml::from_str(text)
            .map_err(|e| Error::load(origin, None, format!("invalid price table: {e}")))?;
        for (m, p) in &t.models {
            let optional_ok = [p.cached_input_per_million, p.reasoning_per_million]
                .iter()
                .all(|o| o.is_none_or(|v| v >= 0.0));
            if !(p.input_per_million >= 0.0 && p.output_per_million >= 0.0 && optional_ok) {
                return Err(Error::load(
                    origin,
                    Some(format!("models.{m}")),
                    "prices must be non-negative numbers",
                ));
            }
        }
        Ok(t)
    }

    /// Loads the shipped defaults, then overrides them with the models of `path`.
    pub fn with_overrides(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::load(path, None, format!("cannot read: {e}")))?;
        let over = Self::from_toml(&text, &path.to_string_lossy())?;
        let mut base = PriceTable {
            version: over.version,
            revision: over.revision,
            ..PriceTable::default()
        };
        base.models.extend(over.models);
        Ok(base)
    }

    /// Price of a model: exact name first, then the longest known prefix (so dated snapshots like
    /// `gpt-4o-mini-2024-07-18` use the `gpt-4o-mini` price).
    pub fn get(&self, model: &str) -> Option<&ModelPrice> {
        self.models.get(model).or_else(|| {
            self.models
                .iter()
                .filter(|(k, _)| model.starts_with(k.as_str()))
                .max_by_key(|(k, _)| k.len())
                .map(|(_, p)| p)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_parse_and_prefix_lookup_works() {
        let t = PriceTable::default();
        assert_ne!(t.version, "empty");
        assert!(t.get("gpt-4o-mini-2024-07-18").is_some());
        assert!(t.get("no-such-model").is_none());
    }

    #[test]
    fn a_file_overrides_and_extends_the_defaults() -> Result<()> {
        let dir = std::env::temp_dir().join(format!("ragcore-prices-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| Error::Internal(e.to_string()))?;
        let f = dir.join("prices.toml");
        std::fs::write(&f, "version = '2026-11-01'\n[models.gpt-4o-mini]\ninput_per_million = 0.2\noutput_per_million = 0.8\n[models.my-llm]\ninput_per_million = 1.0\noutput_per_million = 2.0\n")
            .map_err(|e| Error::Internal(e.to_string()))?;
        let t = PriceTable::with_overrides(&f)?;
        assert_eq!(t.version, "2026-11-01");
        assert_eq!(t.get("gpt-4o-mini").map(|p| p.input_per_million), Some(0.2));
        assert!(
            t.get("my-llm").is_some() && t.get("gpt-4o").is_some(),
            "defaults kept"
        );
        let bad = dir.join("bad.toml");
        std::fs::write(&bad, "version = 1\n").map_err(|e| Error::Internal(e.to_string()))?;
        let e = PriceTable::with_overrides(&bad)
            .err()
            .ok_or_else(|| Error::Internal("accepted".into()))?;
        assert!(
            e.to_string().contains("bad.toml") && e.to_string().contains("invalid price table"),
            "{e}"
        );
        let _ = std::fs::remove_dir_all(&dir);
        Ok(())
    }

    #[test]
    fn negative_price_is_rejected() {
        let e = PriceTable::from_toml("version='x'\n[models.a]\ninput_per_million=-1\n", "p.toml");
        assert!(e.is_err());
    }
}
