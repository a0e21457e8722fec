//! Import and export of prompts as YAML or JSON, so prompts can live in git. Versions are
//! identified by their content hash: importing the same bundle twice changes nothing, and
//! version numbers of the target registry are its own.

use serde::{Deserialize, Serialize};

use super::{
    PromoteLabelRequest, PromptRegistry, SavePromptRequest, SetLabelRequest, SqlitePromptRegistry,
    LATEST_LABEL,
};
use crate::error::{Error, Result};

/// The file format of a bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BundleFormat {
    /// YAML (`.yaml`, `.yml`).
    Yaml,
    /// JSON (`.json`).
    Json,
}

impl BundleFormat {
    /// The format for a file name (`.json` is JSON, anything else YAML).
    pub fn for_path(path: &std::path::Path) -> BundleFormat {
        match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("json") => BundleFormat::Json,
            _ => BundleFormat::Yaml,
        }
    }
}

/// One exported version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportedPrompt {
    /// Prompt name.
    pub name: String,
    /// Version number in the exporting registry (informational).
    #[serde(default)]
    pub version: u32,
    /// Content hash (checked on import when present).
    #[serde(default)]
    pub hash: String,
    /// Labels pointing at it (`latest` is implied and ignored).
    #[serde(default)]
    pub labels: Vec<String>,
    /// System template.
    pub system: String,
    /// User template.
    pub user: String,
}

/// A set of prompt versions, as written to a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromptBundle {
    /// Versions, oldest first per prompt.
    pub prompts: Vec<ExportedPrompt>,
}

impl PromptBundle {
    /// Writes the bundle.
    pub fn to_string(&self, format: BundleFormat) -> Result<String> {
        match format {
            BundleFormat::Json => serde_json::to_string_pretty(self)
                .map_err(|e| Error::Internal(format!("prompt bundle to JSON: {e}"))),
            BundleFormat::Yaml => serde_yaml_ng::to_string(self)
                .map_err(|e| Error::Internal(format!("prompt bundle to YAML: {e}"))),
        }
    }

    /// Reads a bundle; errors name the line and column.
    pub fn parse(text: &str, format: BundleFormat) -> Result<PromptBundle> {
        match format {
            BundleFormat::Json => serde_json::from_str(text)
                .map_err(|e| Error::invalid("prompt bundle", format!("bad JSON: {e}"))),
            BundleFormat::Yaml => serde_yaml_ng::from_str(text)
                .map_err(|e| Error::invalid("prompt bundle", format!("bad YAML: {e}"))),
        }
    }
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportReport {
    /// `name@version` of versions that were new.
    pub saved: Vec<String>,
    /// `name@version` of versions already present (same content hash).
    pub unchanged: Vec<String>,
    /// `name:label -> version` moves made.
    pub labels_moved: Vec<String>,
    /// Protected labels not moved (import without `allow_protected`).
    pub protected_skipped: Vec<String>,
}

/// Every version of every prompt with its labels.
pub async fn export_prompts(registry: &dyn PromptRegistry) -> Result<PromptBundle> {
    let prompts = registry
        .list()
        .await?
        .into_iter()
        .map(|p| ExportedPrompt {
            name: p.name,
            version: p.version,
            hash: p.hash,
            labels: p.labels.into_iter().filter(|l| l != LATEST_LABEL).collect(),
            system: p.system,
            user: p.user,
        })
        .collect();
    Ok(PromptBundle { prompts })
}

/// Imports a bundle: every template is checked and hashed before anything is stored (a bad entry
/// stores nothing), versions are saved (deduplicated by content hash), then labels are moved;
/// protected labels move only when `allow_protected` (the explicit override).
pub async fn import_prompts(
    registry: &dyn PromptRegistry,
    bundle: &PromptBundle,
    allow_protected: bool,
) -> Result<ImportReport> {
    for (i, p) in bundle.prompts.iter().enumerate() {
        super::template::check(&p.system, &p.user).map_err(|e| {
            Error::invalid(
                format!("prompt bundle entry {i} ({})", p.name),
                e.to_string(),
            )
        })?;
        if !p.hash.is_empty() && p.hash != SqlitePromptRegistry::content_hash(&p.system, &p.user) {
            return Err(Error::invalid(
                format!("prompt bundle entry {i} ({})", p.name),
                format!(
                    "hash {} does not match the templates (edited by hand? remove the hash line)",
                    p.hash
                ),
            ));
        }
    }
    let protected = registry.protected_labels().await?;
    let before: Vec<String> = registry
        .list()
        .await?
        .iter()
        .map(|p| p.hash.clone())
        .collect();
    let mut report = ImportReport::default();
    for p in &bundle.prompts {
        let saved = registry
            .save(SavePromptRequest {
                name: p.name.clone(),
                system: p.system.clone(),
                user: p.user.clone(),
                labels: vec![],
            })
            .await?;
        if before.contains(&saved.hash) {
            report.unchanged.push(saved.id());
        } else {
            report.saved.push(saved.id());
        }
        for l in p.labels.iter().filter(|l| *l != LATEST_LABEL) {
            if saved.labels.contains(l) {
                continue;
            }
            let key = format!("{}:{l} -> {}", p.name, saved.version);
            if protected.contains(l) {
                if !allow_protected {
                    report.protected_skipped.push(key);
                    continue;
                }
                registry
                    .promote_label(PromoteLabelRequest {
                        name: p.name.clone(),
                        label: l.clone(),
                        version: saved.version,
                        reason: "import (explicit override)".into(),
                    })
                    .await?;
            } else {
                registry
                    .set_label(SetLabelRequest {
                        name: p.name.clone(),
                        label: l.clone(),
                        version: saved.version,
                    })
                    .await?;
            }
            report.labels_moved.push(key);
        }
    }
    Ok(report)
}
