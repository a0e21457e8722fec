//! [`GuardPolicy`]: what each guard does when it fires, per tenant. A guard reports what it
//! found (a [`crate::Verdict`]); the policy decides what happens: block the request, use the
//! redacted text, only annotate the answer, regenerate the answer once with a stricter
//! instruction, or only log. The default policy is the guards' own behaviour (secrets and PII
//! redacted, injection blocked, leaked PII in answers redacted, low groundedness annotated), so
//! an empty policy changes nothing.
//!
//! The policy is plain data (serde) and loads from TOML:
//!
//! ```toml
//! pii_mode = "placeholder"        # mask | hash | placeholder (reversible, through the vault)
//! vault_ttl_secs = 86400
//! canary = true
//!
//! [actions]
//! injection = "block"
//! pii = "redact"
//! canary = "block"
//!
//! [[banned_topics]]
//! name = "medical advice"
//! terms = ["diagnosis", "處方", "prescription"]
//!
//! [[tenants]]
//! tenant = "acme"
//! pii_mode = "mask"
//! [tenants.actions]
//! groundedness = "regenerate"
//! [[tenants.banned_topics]]
//! name = "competitors"
//! terms = ["globex"]
//! ```
//!
//! A tenant entry overrides the defaults field by field (an action set for the tenant wins over
//! the default action of that guard; `banned_topics` given for a tenant replace the default
//! list). Tenants are a list rather than a map so that configuration overlays (the Python
//! `config=` dict) replace them as a whole.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::types::VerdictAction;

/// What happens when a guard fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyAction {
    /// Refuse the request with [`Error::Blocked`].
    Block,
    /// Continue with the guard's rewritten text (masked, hashed or placeholder values). A guard
    /// that cannot rewrite (injection, canary, banned topic) blocks instead: the policy fails
    /// closed.
    Redact,
    /// Continue with the text unchanged; the verdict says what was found.
    Annotate,
    /// On an answer: call the chat model once more with a stricter instruction and check again;
    /// a second failure blocks. On a question (nothing to regenerate) it blocks.
    Regenerate,
    /// Continue unchanged and record the finding only in the log (verdict action `log_only`).
    LogOnly,
}

impl PolicyAction {
    /// `block`, `redact`, `annotate`, `regenerate` or `log_only`.
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyAction::Block => "block",
            PolicyAction::Redact => "redact",
            PolicyAction::Annotate => "annotate",
            PolicyAction::Regenerate => "regenerate",
            PolicyAction::LogOnly => "log_only",
        }
    }

    /// The policy action that reproduces what a guard decided on its own.
    pub fn from_verdict(action: VerdictAction) -> Option<PolicyAction> {
        match action {
            VerdictAction::Pass => None,
            VerdictAction::Annotate => Some(PolicyAction::Annotate),
            VerdictAction::Redact => Some(PolicyAction::Redact),
            VerdictAction::Block => Some(PolicyAction::Block),
            VerdictAction::Regenerate => Some(PolicyAction::Regenerate),
            VerdictAction::LogOnly => Some(PolicyAction::LogOnly),
        }
    }
}

/// How personal data in questions is replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PiiMode {
    /// `[EMAIL]`: irreversible.
    #[default]
    Mask,
    /// `[EMAIL_3F2A9C]`: a stable keyed hash, irreversible.
    Hash,
    /// `<EMAIL_1>`: a typed placeholder numbered within the request; the value is kept in the
    /// tenant's vault and restored in the answer the user sees.
    Placeholder,
}

/// The action per guard; `None` keeps the guard's own decision. Field names are the guard names
/// used in verdicts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GuardActions {
    /// `input_length`: questions over the length limit (default block).
    pub input_length: Option<PolicyAction>,
    /// `secrets`: API keys and tokens in questions (default redact).
    pub secrets: Option<PolicyAction>,
    /// `injection`: prompt injection in questions (default block).
    pub injection: Option<PolicyAction>,
    /// `classifier`: the external injection/moderation classifier (default block).
    pub classifier: Option<PolicyAction>,
    /// `pii`: personal data in questions (default redact).
    pub pii: Option<PolicyAction>,
    /// `banned_topic`: a question or answer on a banned topic (default block).
    pub banned_topic: Option<PolicyAction>,
    /// `canary`: the answer repeats the system prompt's canary or a long part of the system
    /// prompt (default block).
    pub canary: Option<PolicyAction>,
    /// `pii_leak`: personal data in the answer that is not in the passages (default redact).
    pub pii_leak: Option<PolicyAction>,
    /// `groundedness`: the answer's groundedness is below the threshold (default annotate).
    pub groundedness: Option<PolicyAction>,
    /// Actions for other guards (custom `Guardrail`s) by name.
    pub other: Vec<NamedAction>,
}

/// An action for a guard not listed in [`GuardActions`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamedAction {
    /// The guard's name (`Guardrail::name`).
    pub guard: String,
    /// What to do when it fires.
    pub action: PolicyAction,
}

impl GuardActions {
    /// The configured action for a guard name.
    pub fn get(&self, guard: &str) -> Option<PolicyAction> {
        match guard {
            "input_length" => self.input_length,
            "secrets" => self.secrets,
            "injection" => self.injection,
            "classifier" => self.classifier,
            "pii" => self.pii,
            "banned_topic" => self.banned_topic,
            "canary" => self.canary,
            "pii_leak" => self.pii_leak,
            "groundedness" => self.groundedness,
            other => self
                .other
                .iter()
                .find(|n| n.guard == other)
                .map(|n| n.action),
        }
    }

    /// `self` with the actions of `over` laid on top.
    fn overlay(&self, over: &GuardActions) -> GuardActions {
        let mut other = self.other.clone();
        for n in &over.other {
            other.retain(|o| o.guard != n.guard);
            other.push(n.clone());
        }
        GuardActions {
            input_length: over.input_length.or(self.input_length),
            secrets: over.secrets.or(self.secrets),
            injection: over.injection.or(self.injection),
            classifier: over.classifier.or(self.classifier),
            pii: over.pii.or(self.pii),
            banned_topic: over.banned_topic.or(self.banned_topic),
            canary: over.canary.or(self.canary),
            pii_leak: over.pii_leak.or(self.pii_leak),
            groundedness: over.groundedness.or(self.groundedness),
            other,
        }
    }
}

/// A topic the assistant must not discuss: any of its terms in a question or an answer fires
/// the `banned_topic` guard. Terms match case-insensitively after the injection normalisation
/// (full-width folded, zero-width characters removed, Traditional → Simplified for common
/// characters); ASCII terms match whole words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BannedTopic {
    /// The topic's name, reported in verdicts (never the matched text).
    pub name: String,
    /// Words or phrases that mark the topic.
    pub terms: Vec<String>,
}

/// The policy of one tenant; every field left `None` falls back to the defaults.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TenantPolicy {
    /// The tenant this entry applies to.
    pub tenant: String,
    /// Actions per guard.
    pub actions: GuardActions,
    /// How personal data in questions is replaced.
    pub pii_mode: Option<PiiMode>,
    /// Banned topics (replace the default list when given).
    pub banned_topics: Option<Vec<BannedTopic>>,
    /// Put a canary token in the system prompt and check answers for it.
    pub canary: Option<bool>,
}

/// Guard policy of a pipeline: defaults plus per-tenant overrides (see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GuardPolicy {
    /// Actions per guard for every tenant.
    pub actions: GuardActions,
    /// How personal data in questions is replaced (default mask).
    pub pii_mode: PiiMode,
    /// Banned topics for every tenant.
    pub banned_topics: Vec<BannedTopic>,
    /// Put a canary token in the system prompt and check answers for it (default true).
    pub canary: bool,
    /// How long vault entries (placeholder → value) live, in seconds (default one day).
    pub vault_ttl_secs: u64,
    /// Per-tenant overrides.
    pub tenants: Vec<TenantPolicy>,
}

impl Default for GuardPolicy {
    fn default() -> Self {
        GuardPolicy {
            actions: GuardActions::default(),
            pii_mode: PiiMode::Mask,
            banned_topics: Vec::new(),
            canary: true,
            vault_ttl_secs: 86_400,
            tenants: Vec::new(),
        }
    }
}

/// The policy in force for one tenant.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedPolicy {
    /// Actions per guard.
    pub actions: GuardActions,
    /// How personal data in questions is replaced.
    pub pii_mode: PiiMode,
    /// Banned topics.
    pub banned_topics: Vec<BannedTopic>,
    /// Whether the canary is armed.
    pub canary: bool,
    /// Vault entry lifetime in seconds.
    pub vault_ttl_secs: u64,
}

impl GuardPolicy {
    /// Parses a policy from TOML (see the module docs for the format).
    pub fn from_toml_str(text: &str) -> Result<GuardPolicy> {
        let p: GuardPolicy = toml::from_str(text).map_err(|e| {
            Error::Config(format!(
                "invalid guard policy: {e}; see the ragcore::guard::policy docs for the fields"
            ))
        })?;
        p.validate()?;
        Ok(p)
    }

    /// Reads a policy from a TOML file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<GuardPolicy> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| Error::Load {
            path: path.to_path_buf(),
            location: None,
            reason: format!("cannot read the guard policy: {e}"),
        })?;
        Self::from_toml_str(&text).map_err(|e| match e {
            Error::Config(m) => Error::Config(format!("{}: {m}", path.display())),
            other => other,
        })
    }

    /// Checks the policy: tenant names are set and unique, topics have terms, the TTL is
    /// positive.
    pub fn validate(&self) -> Result<()> {
        if self.vault_ttl_secs == 0 {
            return Err(Error::invalid(
                "guards.vault_ttl_secs",
                "must be positive (seconds a placeholder stays resolvable)",
            ));
        }
        let check_topics = |field: &str, topics: &[BannedTopic]| -> Result<()> {
            for (i, t) in topics.iter().enumerate() {
                if t.name.trim().is_empty() {
                    return Err(Error::invalid(
                        format!("{field}[{i}].name"),
                        "must not be empty",
                    ));
                }
                if t.terms.iter().all(|s| s.trim().is_empty()) {
                    return Err(Error::invalid(
                        format!("{field}[{i}].terms"),
                        format!("topic {:?} needs at least one non-empty term", t.name),
                    ));
                }
            }
            Ok(())
        };
        check_topics("guards.banned_topics", &self.banned_topics)?;
        for (i, t) in self.tenants.iter().enumerate() {
            if t.tenant.trim().is_empty() {
                return Err(Error::invalid(
                    format!("guards.tenants[{i}].tenant"),
                    "must name the tenant the entry applies to",
                ));
            }
            if self.tenants[..i].iter().any(|o| o.tenant == t.tenant) {
                return Err(Error::invalid(
                    format!("guards.tenants[{i}].tenant"),
                    format!("tenant {:?} is listed twice; merge the entries", t.tenant),
                ));
            }
            if let Some(topics) = &t.banned_topics {
                check_topics(&format!("guards.tenants[{i}].banned_topics"), topics)?;
            }
        }
        Ok(())
    }

    /// The policy in force for `tenant` (defaults with the tenant's entry laid on top).
    pub fn for_tenant(&self, tenant: &str) -> ResolvedPolicy {
        let base = ResolvedPolicy {
            actions: self.actions.clone(),
            pii_mode: self.pii_mode,
            banned_topics: self.banned_topics.clone(),
            canary: self.canary,
            vault_ttl_secs: self.vault_ttl_secs,
        };
        match self.tenants.iter().find(|t| t.tenant == tenant) {
            None => base,
            Some(t) => ResolvedPolicy {
                actions: base.actions.overlay(&t.actions),
                pii_mode: t.pii_mode.unwrap_or(base.pii_mode),
                banned_topics: t.banned_topics.clone().unwrap_or(base.banned_topics),
                canary: t.canary.unwrap_or(base.canary),
                vault_ttl_secs: base.vault_ttl_secs,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_tenant_overrides_and_errors() -> Result<()> {
        let p = GuardPolicy::from_toml_str(
            r#"
pii_mode = "placeholder"
[actions]
injection = "annotate"
other = [{ guard = "mine", action = "log_only" }]
[[banned_topics]]
name = "weapons"
terms = ["rifle"]
[[tenants]]
tenant = "acme"
pii_mode = "mask"
canary = false
[tenants.actions]
injection = "block"
groundedness = "regenerate"
"#,
        )?;
        let d = p.for_tenant("globex");
        assert_eq!(d.pii_mode, PiiMode::Placeholder);
        assert_eq!(d.actions.get("injection"), Some(PolicyAction::Annotate));
        assert_eq!(d.actions.get("mine"), Some(PolicyAction::LogOnly));
        assert_eq!(d.actions.get("groundedness"), None);
        assert!(d.canary);
        let a = p.for_tenant("acme");
        assert_eq!(a.pii_mode, PiiMode::Mask);
        assert_eq!(a.actions.get("injection"), Some(PolicyAction::Block));
        assert_eq!(
            a.actions.get("groundedness"),
            Some(PolicyAction::Regenerate)
        );
        assert_eq!(a.actions.get("mine"), Some(PolicyAction::LogOnly));
        assert_eq!(a.banned_topics.len(), 1);
        assert!(!a.canary);
        for bad in [
            "[actions]\ninjection = \"explode\"",
            "unknown_field = 1",
            "[[tenants]]\npii_mode = \"mask\"",
            "[[banned_topics]]\nname = \"x\"\nterms = []",
            "vault_ttl_secs = 0",
        ] {
            assert!(GuardPolicy::from_toml_str(bad).is_err(), "{bad}");
        }
        assert_eq!(GuardPolicy::from_toml_str("")?, GuardPolicy::default());
        Ok(())
    }
}
