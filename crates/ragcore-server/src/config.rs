//! `ragcore.toml`: where to listen, which knowledge base, the API keys and the limits.
//!
//! ```toml
//! bind = "127.0.0.1:8088"
//! kb = "./kb"
//! models = ["ragcore"]            # model names clients may ask for; the first is the default
//! rerank = "lexical"              # `ragcore serve` only: the built-in reranker, or "none"
//!
//! [limits]
//! max_body_bytes = 1048576
//! request_timeout_ms = 30000
//! header_read_timeout_ms = 10000
//! shutdown_grace_ms = 30000
//!
//! [sync]                          # what POST /admin/sync mirrors
//! dir = "./docs"
//! tenant = "acme"
//!
//! [[keys]]
//! id = "acme-web"                 # shown in logs and metrics, never the key itself
//! sha256 = "…64 hex digits…"      # printf %s "$KEY" | sha256sum
//! tenant = "acme"
//! principals = ["staff"]
//! requests_per_minute = 600
//! burst = 60
//! admin = false
//! revoked = false
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::ServerError;

/// The whole server configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Address to listen on.
    #[serde(default = "default_bind")]
    pub bind: SocketAddr,
    /// Knowledge-base directory (relative paths are resolved against the config file).
    #[serde(default = "default_kb")]
    pub kb: PathBuf,
    /// Model names accepted in `model` (chat completions); the first is listed first.
    #[serde(default = "default_models")]
    pub models: Vec<String>,
    /// Size and time limits.
    #[serde(default)]
    pub limits: Limits,
    /// The directory mirrored by `POST /admin/sync`.
    #[serde(default)]
    pub sync: Option<SyncTarget>,
    /// Reranker used by `ragcore serve`: `"lexical"` (the built-in one) or `"none"`.
    #[serde(default)]
    pub rerank: Option<String>,
    /// The API keys.
    #[serde(default)]
    pub keys: Vec<KeyConfig>,
}

fn default_bind() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8088))
}
fn default_kb() -> PathBuf {
    PathBuf::from(".ragcore")
}
fn default_models() -> Vec<String> {
    vec!["ragcore".into()]
}

/// Size and time limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest request body in bytes (413 above).
    pub max_body_bytes: usize,
    /// A request that takes longer is answered 504.
    pub request_timeout_ms: u64,
    /// A client that has not sent its request headers by then is disconnected (slow loris).
    pub header_read_timeout_ms: u64,
    /// On shutdown, in-flight requests get this long to finish.
    pub shutdown_grace_ms: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 1 << 20,
            request_timeout_ms: 30_000,
            header_read_timeout_ms: 10_000,
            shutdown_grace_ms: 30_000,
        }
    }
}

/// The directory an admin sync mirrors into a tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncTarget {
    /// The directory.
    pub dir: PathBuf,
    /// The tenant owning its documents.
    pub tenant: String,
    /// Principals for documents without their own ACL.
    #[serde(default)]
    pub acl: Vec<String>,
}

/// One API key, stored as the SHA-256 of the key (never the key itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyConfig {
    /// A name for logs and metrics.
    pub id: String,
    /// Lower-case hex SHA-256 of the key.
    pub sha256: String,
    /// The tenant whose documents the key sees.
    pub tenant: String,
    /// Principals checked against document ACLs.
    #[serde(default)]
    pub principals: Vec<String>,
    /// Sustained requests per minute (0: unlimited).
    #[serde(default = "default_rpm")]
    pub requests_per_minute: u32,
    /// Requests allowed at once above the sustained rate (at least 1).
    #[serde(default = "default_burst")]
    pub burst: u32,
    /// May call the admin endpoints.
    #[serde(default)]
    pub admin: bool,
    /// A revoked key is refused with 401.
    #[serde(default)]
    pub revoked: bool,
}

fn default_rpm() -> u32 {
    600
}
fn default_burst() -> u32 {
    60
}

impl ServerConfig {
    /// Parses a configuration text; `base` resolves relative paths.
    pub fn parse(text: &str, base: &Path) -> Result<Self, ServerError> {
        let mut c: ServerConfig =
            toml::from_str(text).map_err(|e| ServerError::Config(format!("{e}")))?;
        if c.kb.is_relative() {
            c.kb = base.join(&c.kb);
        }
        if let Some(s) = &mut c.sync {
            if s.dir.is_relative() {
                s.dir = base.join(&s.dir);
            }
        }
        c.validate()?;
        Ok(c)
    }

    /// Reads `path`.
    pub fn load(path: &Path) -> Result<Self, ServerError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ServerError::Config(format!(
                "cannot read {}: {e}; pass --config with the path of ragcore.toml",
                path.display()
            ))
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        Self::parse(&text, base)
            .map_err(|e| ServerError::Config(format!("{}: {e}", path.display())))
    }

    /// Checks keys, models and limits.
    pub fn validate(&self) -> Result<(), ServerError> {
        let bad = |m: String| Err(ServerError::Config(m));
        if self.models.is_empty() {
            return bad("`models` must name at least one model".into());
        }
        if self.limits.max_body_bytes == 0 || self.limits.request_timeout_ms == 0 {
            return bad(
                "limits.max_body_bytes and limits.request_timeout_ms must be positive".into(),
            );
        }
        let mut ids = std::collections::HashSet::new();
        for k in &self.keys {
            if !ids.insert(k.id.as_str()) {
                return bad(format!("key id {:?} is used twice", k.id));
            }
            if k.sha256.len() != 64 || !k.sha256.chars().all(|c| c.is_ascii_hexdigit()) {
                return bad(format!(
                    "key {:?}: sha256 must be 64 hex digits (printf %s \"$KEY\" | sha256sum)",
                    k.id
                ));
            }
            if k.tenant.trim().is_empty() {
                return bad(format!("key {:?}: tenant must not be empty", k.id));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_keys_and_resolves_paths() {
        let c = ServerConfig::parse(
            r#"
kb = "kb"
[sync]
dir = "docs"
tenant = "acme"
[[keys]]
id = "a"
sha256 = "0000000000000000000000000000000000000000000000000000000000000000"
tenant = "acme"
"#,
            Path::new("/srv"),
        )
        .expect("config");
        assert_eq!(c.kb, PathBuf::from("/srv/kb"));
        assert_eq!(c.keys[0].requests_per_minute, 600);
        assert_eq!(c.sync.expect("sync").dir, PathBuf::from("/srv/docs"));
    }

    #[test]
    fn a_short_hash_is_rejected_with_the_fix() {
        let e = ServerConfig::parse(
            "[[keys]]\nid = \"a\"\nsha256 = \"abc\"\ntenant = \"t\"\n",
            Path::new("."),
        )
        .expect_err("bad hash");
        assert!(e.to_string().contains("sha256sum"), "{e}");
    }
}
