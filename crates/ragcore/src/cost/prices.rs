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
}

/// A dated price table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PriceTable {
    /// The date the prices were taken (YYYY-MM-DD).
    pub version: String,
    /// Prices by model name.
    pub models: BTreeMap<String, ModelPrice>,
}

const DEFAULT_TOML: &str = include_str!("default_prices.toml");

impl Default for PriceTable {
    fn default() -> Self {
        toml::from_str(DEFAULT_TOML).unwrap_or(PriceTable {
            version: "empty".into(),
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
            if !(p.input_per_million >= 0.0 && p.output_per_million >= 0.0) {
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
    fn negative_price_is_rejected() {
        let e = PriceTable::from_toml("version='x'\n[models.a]\ninput_per_million=-1\n", "p.toml");
        assert!(e.is_err());
    }
}
