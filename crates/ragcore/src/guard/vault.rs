//! The reversible PII vault: personal data in a question is replaced by typed placeholders
//! (`<EMAIL_1>`, `<PHONE_2>`) before retrieval and the model see it, and the values are restored
//! in the answer the user sees.
//!
//! * [`pseudonymize`] replaces the spans a [`PiiRedactor`] finds with placeholders numbered
//!   within one request (the same value gets the same placeholder) and returns the mapping.
//! * A [`PlaceholderVault`] keeps the mapping per tenant under a random `vault_id`, with a TTL.
//!   [`SqliteVault`] stores it in the knowledge base's `kb.sqlite` (table `guard_vault`).
//!   Resolving takes the tenant *and* the vault id, so one tenant can never resolve another
//!   tenant's placeholders, and one request's placeholders are never filled from another's.
//! * [`restore`] puts the values back into a text.
//!
//! Secrets never enter the vault: a value that the [`SecretScanner`] recognises is masked
//! (`[SECRET]`) instead of being given a placeholder. Values are stored as given: `kb.sqlite`
//! is as sensitive as the documents in it; purge expired entries with
//! [`PlaceholderVault::purge`].

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use rusqlite::{params, Connection};

use super::{PiiRedactor, SecretScanner};
use crate::error::{Error, Result};

/// One placeholder and the value it stands for. `Debug` does not show the value.
#[derive(Clone, PartialEq, Eq)]
pub struct VaultEntry {
    /// The placeholder as it appears in the text (`<EMAIL_1>`).
    pub placeholder: String,
    /// The original value.
    pub value: String,
}

impl std::fmt::Debug for VaultEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VaultEntry")
            .field("placeholder", &self.placeholder)
            .field("value", &"[redacted]")
            .finish()
    }
}

/// Store a request's placeholders.
#[derive(Debug, Clone)]
pub struct VaultStoreRequest {
    /// The tenant the values belong to.
    pub tenant: String,
    /// The id the entries are filed under (random, one per request).
    pub vault_id: String,
    /// The placeholders and their values.
    pub entries: Vec<VaultEntry>,
    /// How long the entries stay resolvable.
    pub ttl: Duration,
}

/// Look up a request's placeholders.
#[derive(Debug, Clone)]
pub struct VaultResolveRequest {
    /// The tenant asking; entries of other tenants are never returned.
    pub tenant: String,
    /// The vault id returned when the entries were stored.
    pub vault_id: String,
}

/// Delete entries.
#[derive(Debug, Clone, Default)]
pub struct VaultPurgeRequest {
    /// Only this tenant's entries (`None`: every tenant).
    pub tenant: Option<String>,
    /// Only the entries of this vault id.
    pub vault_id: Option<String>,
    /// Only entries whose TTL has passed (false: also live ones).
    pub expired_only: bool,
}

/// Persistent placeholder storage, per tenant, with a TTL.
#[async_trait]
pub trait PlaceholderVault: Send + Sync {
    /// Stores entries (an existing placeholder of the same tenant and vault id is replaced).
    async fn store(&self, request: VaultStoreRequest) -> Result<()>;
    /// The live (unexpired) entries of one tenant's vault id; empty when unknown.
    async fn resolve(&self, request: VaultResolveRequest) -> Result<Vec<VaultEntry>>;
    /// Deletes entries; returns how many.
    async fn purge(&self, request: VaultPurgeRequest) -> Result<u64>;
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// A [`PlaceholderVault`] in a SQLite database (the knowledge base's `kb.sqlite`), table
/// `guard_vault` created on open. Expired entries are never resolved and are deleted by
/// [`PlaceholderVault::purge`] (and opportunistically on every store).
#[derive(Clone)]
pub struct SqliteVault {
    conn: Arc<Mutex<Connection>>,
}

impl std::fmt::Debug for SqliteVault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SqliteVault")
    }
}

impl SqliteVault {
    /// Opens (or creates) the vault table in `db_file`.
    pub fn open(db_file: impl AsRef<Path>) -> Result<Self> {
        let conn = Connection::open(db_file.as_ref())?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.busy_timeout(Duration::from_secs(30))?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS guard_vault (
                tenant TEXT NOT NULL,
                vault_id TEXT NOT NULL,
                placeholder TEXT NOT NULL,
                value TEXT NOT NULL,
                created_at INTEGER NOT NULL,
                expires_at INTEGER NOT NULL,
                PRIMARY KEY (tenant, vault_id, placeholder)
            );
            CREATE INDEX IF NOT EXISTS guard_vault_expiry ON guard_vault(expires_at);",
        )?;
        Ok(SqliteVault {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    async fn with_conn<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = conn.lock().map_err(|_| Error::poisoned("guard vault"))?;
            f(&mut conn)
        })
        .await?
    }
}

#[async_trait]
impl PlaceholderVault for SqliteVault {
    async fn store(&self, request: VaultStoreRequest) -> Result<()> {
        crate::types::validate_ident("tenant", &request.tenant)?;
        if request.entries.is_empty() {
            return Ok(());
        }
        self.with_conn(move |conn| {
            let now = now_secs();
            let ttl = i64::try_from(request.ttl.as_secs()).unwrap_or(i64::MAX / 2);
            let tx = conn.transaction()?;
            tx.execute("DELETE FROM guard_vault WHERE expires_at <= ?1", [now])?;
            {
                let mut st = tx.prepare_cached(
                    "INSERT OR REPLACE INTO guard_vault
                     (tenant, vault_id, placeholder, value, created_at, expires_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )?;
                for e in &request.entries {
                    st.execute(params![
                        request.tenant,
                        request.vault_id,
                        e.placeholder,
                        e.value,
                        now,
                        now.saturating_add(ttl)
                    ])?;
                }
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn resolve(&self, request: VaultResolveRequest) -> Result<Vec<VaultEntry>> {
        self.with_conn(move |conn| {
            let mut st = conn.prepare_cached(
                "SELECT placeholder, value FROM guard_vault
                 WHERE tenant = ?1 AND vault_id = ?2 AND expires_at > ?3",
            )?;
            let rows =
                st.query_map(params![request.tenant, request.vault_id, now_secs()], |r| {
                    Ok(VaultEntry {
                        placeholder: r.get(0)?,
                        value: r.get(1)?,
                    })
                })?;
            Ok(rows.collect::<std::result::Result<Vec<_>, _>>()?)
        })
        .await
    }

    async fn purge(&self, request: VaultPurgeRequest) -> Result<u64> {
        self.with_conn(move |conn| {
            let n = conn.execute(
                "DELETE FROM guard_vault
                 WHERE (?1 IS NULL OR tenant = ?1)
                   AND (?2 IS NULL OR vault_id = ?2)
                   AND (?3 = 0 OR expires_at <= ?4)",
                params![
                    request.tenant,
                    request.vault_id,
                    i64::from(request.expired_only),
                    now_secs()
                ],
            )?;
            Ok(n as u64)
        })
        .await
    }
}

/// A text with its personal data replaced by placeholders.
#[derive(Debug, Clone, PartialEq)]
pub struct Pseudonymized {
    /// The text with `<KIND_N>` placeholders.
    pub text: String,
    /// Placeholder → value, in order of first appearance.
    pub entries: Vec<VaultEntry>,
    /// How many values were masked instead because they are secrets.
    pub secrets_masked: usize,
}

/// Replaces the personal data `pii` finds in `text` with `<KIND_N>` placeholders (N counts per
/// kind within this text; the same value gets the same placeholder). A value the `secrets`
/// scanner recognises is masked as `[SECRET]` and not returned. Text that already looks like a
/// placeholder (`<EMAIL_1>` typed by the user) is defused to `‹EMAIL_1›` first, so [`restore`]
/// never fills a placeholder the request did not create.
pub fn pseudonymize(pii: &PiiRedactor, secrets: &SecretScanner, text: &str) -> Pseudonymized {
    let text = defuse_placeholders(text);
    let spans = pii.detect(&text);
    let mut out = String::with_capacity(text.len());
    let mut entries: Vec<VaultEntry> = Vec::new();
    let mut counters: BTreeMap<&str, usize> = BTreeMap::new();
    let mut secrets_masked = 0;
    let mut at = 0;
    for s in &spans {
        let (Some(before), Some(value)) = (text.get(at..s.start), text.get(s.start..s.end)) else {
            continue;
        };
        out.push_str(before);
        at = s.end;
        if !secrets.scan(value).is_empty() {
            out.push_str("[SECRET]");
            secrets_masked += 1;
            continue;
        }
        if let Some(e) = entries.iter().find(|e| e.value == value) {
            out.push_str(&e.placeholder);
            continue;
        }
        let label = s.kind.label();
        let n = counters.entry(label).or_default();
        *n += 1;
        let placeholder = format!("<{label}_{n}>");
        out.push_str(&placeholder);
        entries.push(VaultEntry {
            placeholder,
            value: value.to_string(),
        });
    }
    out.push_str(text.get(at..).unwrap_or(""));
    Pseudonymized {
        text: out,
        entries,
        secrets_masked,
    }
}

/// Replaces `<` `>` around placeholder-shaped text with look-alike angle quotes.
fn defuse_placeholders(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains('<') {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('<') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        match placeholder_len(after) {
            Some(n) => {
                out.push('‹');
                out.push_str(&after[..n]);
                out.push('›');
                rest = &after[n + 1..];
            }
            None => {
                out.push('<');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    std::borrow::Cow::Owned(out)
}

/// The length of `KIND_N` when `s` starts with `KIND_N>`.
fn placeholder_len(s: &str) -> Option<usize> {
    let end = s.find('>')?;
    let inner = &s[..end];
    let (kind, num) = inner.rsplit_once('_')?;
    let ok = !kind.is_empty()
        && kind
            .chars()
            .all(|c| c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit())
        && !num.is_empty()
        && num.chars().all(|c| c.is_ascii_digit());
    ok.then_some(end)
}

/// Puts the values of `entries` back into `text` (`<EMAIL_1>`, also when a model wrote it as
/// `[EMAIL_1]`). Placeholders without an entry stay as they are.
pub fn restore(text: &str, entries: &[VaultEntry]) -> String {
    if entries.is_empty() {
        return text.to_string();
    }
    let mut out = text.to_string();
    // Longest first, so `<EMAIL_1>` never clips `<EMAIL_11>`.
    let mut sorted: Vec<&VaultEntry> = entries.iter().collect();
    sorted.sort_by_key(|e| std::cmp::Reverse(e.placeholder.len()));
    for e in sorted {
        out = out.replace(&e.placeholder, &e.value);
        if let Some(inner) = e
            .placeholder
            .strip_prefix('<')
            .and_then(|p| p.strip_suffix('>'))
        {
            out = out.replace(&format!("[{inner}]"), &e.value);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_round_trip_and_user_placeholders_are_defused() -> Result<()> {
        let pii = PiiRedactor::new()?;
        let sec = SecretScanner::new()?;
        let p = pseudonymize(
            &pii,
            &sec,
            "寄到 amy@example.com 或 bob@example.org，再寄 amy@example.com，電話 0912-345-678 <EMAIL_9>",
        );
        assert_eq!(
            p.text,
            "寄到 <EMAIL_1> 或 <EMAIL_2>，再寄 <EMAIL_1>，電話 <PHONE_1> ‹EMAIL_9›"
        );
        assert_eq!(p.entries.len(), 3);
        let back = restore("Write to <EMAIL_2> or [PHONE_1]; <EMAIL_9>", &p.entries);
        assert_eq!(back, "Write to bob@example.org or 0912-345-678; <EMAIL_9>");
        assert!(!format!("{:?}", p.entries).contains("amy"));
        Ok(())
    }
}
