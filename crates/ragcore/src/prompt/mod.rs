//! Prompts: a registry of immutable, content-hashed versions with labels (`production`,
//! `staging`, `latest` automatic; protected labels move only through an explicit promotion),
//! rollback, diffs, import/export (YAML or JSON) so prompts can live in git, rendering with
//! minijinja, and packing retrieved passages into a token budget.

mod diff;
mod labels;
mod packing;
#[cfg(feature = "postgres")]
mod pg_registry;
mod registry;
mod template;
mod transfer;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::Result;

pub use diff::{diff_versions, PromptDiff};
pub use packing::{pack_passages, PackedPassage};
#[cfg(feature = "postgres")]
pub use pg_registry::PgPromptRegistry;
pub use registry::SqlitePromptRegistry;
pub use template::{render, RenderedPrompt, DEFAULT_NO_ANSWER_TEXT, DEFAULT_PROMPT_NAME};
pub use transfer::{
    export_prompts, import_prompts, BundleFormat, ExportedPrompt, ImportReport, PromptBundle,
};

/// The label every new version gets automatically.
pub const LATEST_LABEL: &str = "latest";

/// One immutable version of a prompt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromptVersion {
    /// Prompt name (e.g. `qa`).
    pub name: String,
    /// Version number, starting at 1.
    pub version: u32,
    /// SHA-256 of the content (first 16 hex digits).
    pub hash: String,
    /// The system message template.
    pub system: String,
    /// The user message template.
    pub user: String,
    /// Labels currently pointing at this version.
    pub labels: Vec<String>,
}

impl PromptVersion {
    /// `name@version`, as reported on answers.
    pub fn id(&self) -> String {
        format!("{}@{}", self.name, self.version)
    }
}

/// Fetch the version of a prompt a label points at. A label of the form `@N` pins version `N`
/// (used by evaluation to run a version no label points at yet).
#[derive(Debug, Clone)]
pub struct GetPromptRequest {
    /// Prompt name.
    pub name: String,
    /// Label (`production`, `latest`, ...), or `@N` for version `N`.
    pub label: String,
}

/// Fetch one version by number (`3`, `@3`) or by content hash (at least 4 leading hex digits).
#[derive(Debug, Clone)]
pub struct GetVersionRequest {
    /// Prompt name.
    pub name: String,
    /// Version number or content-hash prefix.
    pub reference: String,
}

/// Save a new version of a prompt. The templates are checked before anything is stored.
#[derive(Debug, Clone)]
pub struct SavePromptRequest {
    /// Prompt name.
    pub name: String,
    /// System message template.
    pub system: String,
    /// User message template.
    pub user: String,
    /// Labels to point at the new version (`latest` always moves). Protected labels are refused
    /// here: promote the version instead.
    pub labels: Vec<String>,
}

/// Point a label at a version. Protected labels (`production` by default) are refused: use
/// [`PromptRegistry::promote_label`], the explicit override.
#[derive(Debug, Clone)]
pub struct SetLabelRequest {
    /// Prompt name.
    pub name: String,
    /// The label.
    pub label: String,
    /// The version it should point at.
    pub version: u32,
}

/// Move any label, protected ones included: the explicit override that a promotion gate (or an
/// operator with `--force`) uses. The reason is kept in the label history.
#[derive(Debug, Clone)]
pub struct PromoteLabelRequest {
    /// Prompt name.
    pub name: String,
    /// The label.
    pub label: String,
    /// The version it should point at.
    pub version: u32,
    /// Why (e.g. `golden set passed: 40 cases`, `forced by operator`).
    pub reason: String,
}

/// Move a label back to the version it pointed at before its last move.
#[derive(Debug, Clone)]
pub struct RollbackRequest {
    /// Prompt name.
    pub name: String,
    /// The label.
    pub label: String,
}

/// The moves of one label, oldest first.
#[derive(Debug, Clone)]
pub struct LabelHistoryRequest {
    /// Prompt name.
    pub name: String,
    /// The label.
    pub label: String,
}

/// One move of a label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelMove {
    /// Prompt name.
    pub name: String,
    /// The label.
    pub label: String,
    /// The version it pointed at before (`None` when the label was new).
    pub from_version: Option<u32>,
    /// The version it points at after.
    pub to_version: u32,
    /// How: `save`, `set`, `promote`, `rollback`, `import`.
    pub how: String,
    /// The reason given (promotions), or empty.
    pub reason: String,
    /// Unix seconds.
    pub at: i64,
}

/// Stores prompt versions and labels.
#[async_trait]
pub trait PromptRegistry: Send + Sync {
    /// The version a label points at (`@N` pins version `N`).
    async fn get(&self, request: GetPromptRequest) -> Result<PromptVersion>;
    /// One version by number or content hash.
    async fn version(&self, request: GetVersionRequest) -> Result<PromptVersion>;
    /// Stores a new version (or returns the existing one with identical content).
    async fn save(&self, request: SavePromptRequest) -> Result<PromptVersion>;
    /// Moves an unprotected label.
    async fn set_label(&self, request: SetLabelRequest) -> Result<()>;
    /// Moves any label, protected ones included (the explicit override).
    async fn promote_label(&self, request: PromoteLabelRequest) -> Result<LabelMove>;
    /// Moves a label back to the version before its last move.
    async fn rollback(&self, request: RollbackRequest) -> Result<LabelMove>;
    /// The moves of a label, oldest first.
    async fn label_history(&self, request: LabelHistoryRequest) -> Result<Vec<LabelMove>>;
    /// The labels that only [`PromptRegistry::promote_label`] may move.
    async fn protected_labels(&self) -> Result<Vec<String>>;
    /// Every version of every prompt.
    async fn list(&self) -> Result<Vec<PromptVersion>>;
}
