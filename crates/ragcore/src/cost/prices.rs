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
