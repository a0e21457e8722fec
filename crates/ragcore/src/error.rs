//! The one error type of the core, classified by kind and by whether a retry can help.

use std::path::PathBuf;

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Coarse classification of an [`Error`], stable across Rust, Python and Node
/// (bindings map each kind to an exception class or an error `code`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The caller passed something invalid (empty question, bad option, bad template).
    InvalidInput,
    /// A configuration value is missing or wrong.
    Config,
    /// A file could not be loaded (unreadable, empty, binary, bad encoding, malformed row).
    Load,
    /// The knowledge base on disk could not be read or written.
    Storage,
    /// Something that was asked for does not exist (tenant, prompt, label, document).
    NotFound,
    /// A model or embedding provider failed.
    Provider,
    /// A guardrail blocked the request.
    Blocked,
    /// A budget or rate limit was exceeded.
    BudgetExceeded,
    /// An operation did not finish in time.
    Timeout,
    /// The stored knowledge base does not match the configured embedder or chunker.
    Incompatible,
    /// A bug or an unexpected state inside ragcore (a poisoned lock, a failed task).
    Internal,
}

impl ErrorKind {
    /// A stable snake_case code for this kind (used as the Node error `code`).
    pub fn code(self) -> &'static str {
        match self {
            ErrorKind::InvalidInput => "invalid_input",
            ErrorKind::Config => "config",
            ErrorKind::Load => "load",
            ErrorKind::Storage => "storage",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Provider => "provider",
            ErrorKind::Blocked => "blocked",
            ErrorKind::BudgetExceeded => "budget_exceeded",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Incompatible => "incompatible",
            ErrorKind::Internal => "internal",
        }
    }
}

/// Everything that can go wrong in ragcore. Messages say what was wrong and what to do;
/// they never contain secrets (API keys are `SecretString` and are never formatted).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The caller passed an invalid value.
    #[error("invalid {field}: {reason}")]
    InvalidInput {
        /// Which argument or field was wrong.
        field: String,
        /// What was wrong with it and what to do.
        reason: String,
    },
    /// A configuration value is missing or wrong.
    #[error("configuration error: {0}")]
    Config(String),
    /// A file could not be loaded.
    #[error("cannot load {path}{}: {reason}", location.as_ref().map(|l| format!(" ({l})")).unwrap_or_default())]
    Load {
        /// The file.
        path: PathBuf,
        /// Where in the file (row, line, field), when known.
        location: Option<String>,
        /// What was wrong.
        reason: String,
    },
    /// The knowledge base storage failed.
    #[error("storage error: {0}")]
    Storage(String),
    /// Something asked for does not exist.
    #[error("{what} not found: {name}")]
    NotFound {
        /// The kind of thing (tenant, prompt, label ...).
        what: &'static str,
        /// Its name.
        name: String,
    },
    /// A model or embedding provider failed.
    #[error("provider {provider} failed{}: {message}", status.map(|s| format!(" with HTTP {s}")).unwrap_or_default())]
    Provider {
        /// Which provider (e.g. `openai-chat`, `openai-embeddings`).
        provider: String,
        /// HTTP status when there was one.
        status: Option<u16>,
        /// Whether retrying the same call can help (429 rate limit, 5xx, connection reset).
        retryable: bool,
        /// How long the provider asked us to wait (`Retry-After`), when it said.
        retry_after: Option<std::time::Duration>,
        /// What went wrong (never the request headers or the key).
        message: String,
    },
    /// A guardrail blocked the request.
    #[error("blocked by guard {guard}: {reason}")]
    Blocked {
        /// The guard's name.
        guard: String,
        /// Why.
        reason: String,
    },
    /// A budget or rate limit was exceeded.
    #[error("budget exceeded: {budget}: {detail}")]
    BudgetExceeded {
        /// Which budget or rate limit (e.g. `tenant acme per month`).
        budget: String,
        /// Spent in the current period, in USD, when the budget is about money.
        spent_usd: Option<f64>,
        /// The limit in USD, when the budget is about money.
        limit_usd: Option<f64>,
        /// When the period resets (UTC, `YYYY-MM-DDTHH:MM:SSZ`), when known.
        resets_at: Option<String>,
        /// What happened and what to do.
        detail: String,
    },
    /// An operation did not finish in time.
    #[error("{operation} timed out after {millis} ms")]
    Timeout {
        /// What timed out.
        operation: String,
        /// The limit.
        millis: u64,
    },
    /// A shared service (the PostgreSQL server) cannot be reached or dropped the connection:
    /// retryable, reported as a storage error.
    #[error("{service} unavailable: {message}")]
    Unavailable {
        /// Which service (e.g. `postgres`).
        service: String,
        /// What went wrong (never the connection password).
        message: String,
    },
    /// The stored knowledge base does not match the configured parts.
    #[error("incompatible knowledge base: {0}")]
    Incompatible(String),
    /// An unexpected internal state.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// The coarse kind of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::InvalidInput { .. } => ErrorKind::InvalidInput,
            Error::Config(_) => ErrorKind::Config,
            Error::Load { .. } => ErrorKind::Load,
            Error::Storage(_) | Error::Unavailable { .. } => ErrorKind::Storage,
            Error::NotFound { .. } => ErrorKind::NotFound,
            Error::Provider { .. } => ErrorKind::Provider,
            Error::Blocked { .. } => ErrorKind::Blocked,
            Error::BudgetExceeded { .. } => ErrorKind::BudgetExceeded,
            Error::Timeout { .. } => ErrorKind::Timeout,
            Error::Incompatible(_) => ErrorKind::Incompatible,
            Error::Internal(_) => ErrorKind::Internal,
        }
    }

    /// Whether retrying the same operation can succeed (transient provider failures and timeouts).
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Provider { retryable, .. } => *retryable,
            Error::Timeout { .. } | Error::Unavailable { .. } => true,
            _ => false,
        }
    }

    /// The wait a provider asked for (`Retry-After`), when it gave one.
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            Error::Provider { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// Whether the error means this model cannot answer now, so another model may be tried: a
    /// timeout, a transport failure, an open circuit breaker, or an HTTP 401/403/404/408/429/5xx
    /// (quota and auth errors included). A malformed request (400, 422) is not: another model
    /// would reject it too.
    pub fn is_unavailable(&self) -> bool {
        match self {
            Error::Timeout { .. } => true,
            Error::Provider { status: None, .. } => true,
            Error::Provider {
                status: Some(s),
                retryable,
                ..
            } => *retryable || matches!(s, 401 | 403 | 404 | 408 | 429) || *s >= 500,
            _ => false,
        }
    }

    /// Shorthand for an [`Error::InvalidInput`].
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::InvalidInput {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// Shorthand for an [`Error::Load`].
    pub fn load(
        path: impl Into<PathBuf>,
        location: Option<String>,
        reason: impl Into<String>,
    ) -> Self {
        Error::Load {
            path: path.into(),
            location,
            reason: reason.into(),
        }
    }

    /// A poisoned lock becomes an internal error instead of a crash.
    pub(crate) fn poisoned(what: &str) -> Self {
        Error::Internal(format!("lock on {what} was poisoned by an earlier panic"))
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::Storage(e.to_string())
    }
}

impl From<tokio::task::JoinError> for Error {
    fn from(e: tokio::task::JoinError) -> Self {
        Error::Internal(format!("background task failed: {e}"))
    }
}
