//! Prompts: a registry of versioned templates with labels, rendering with minijinja, and packing
//! retrieved passages into a token budget.

mod packing;
mod registry;
mod template;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::Result;

pub use packing::{pack_passages, PackedPassage};
pub use registry::SqlitePromptRegistry;
pub use template::{render, RenderedPrompt, DEFAULT_NO_ANSWER_TEXT, DEFAULT_PROMPT_NAME};

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

/// Fetch the version of a prompt a label points at.
#[derive(Debug, Clone)]
pub struct GetPromptRequest {
    /// Prompt name.
    pub name: String,
    /// Label (`production`, `latest`, ...).
    pub label: String,
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
    /// Labels to point at the new version (`latest` always moves).
    pub labels: Vec<String>,
}

/// Point a label at a version.
#[derive(Debug, Clone)]
pub struct SetLabelRequest {
    /// Prompt name.
    pub name: String,
    /// The label.
    pub label: String,
    /// The version it should point at.
    pub version: u32,
}

/// Stores prompt versions and labels.
#[async_trait]
pub trait PromptRegistry: Send + Sync {
    /// The version a label points at.
    async fn get(&self, request: GetPromptRequest) -> Result<PromptVersion>;
    /// Stores a new version (or returns the existing one with identical content).
    async fn save(&self, request: SavePromptRequest) -> Result<PromptVersion>;
    /// Moves a label.
    async fn set_label(&self, request: SetLabelRequest) -> Result<()>;
    /// Every version of every prompt.
    async fn list(&self) -> Result<Vec<PromptVersion>>;
}
