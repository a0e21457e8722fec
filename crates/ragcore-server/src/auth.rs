//! API keys: each key is stored as its SHA-256 and mapped to a [`Scope`]; a presented key is
//! hashed and compared against every stored hash in constant time. Per-key rate limits use a
//! token bucket (`governor`).

use std::num::NonZeroU32;

use axum::http::{header, HeaderMap};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use ragcore::Scope;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::KeyConfig;
use crate::error::ApiError;

/// Who is calling: the key's id, its scope, and whether it may use the admin endpoints.
#[derive(Debug, Clone, PartialEq)]
pub struct Caller {
    /// The key id from the configuration (never the key).
    pub key_id: String,
    /// Tenant and principals the key sees.
    pub scope: Scope,
    /// May call `/admin/*`.
    pub admin: bool,
}

struct KeyEntry {
    config: KeyConfig,
    hash: [u8; 32],
    limiter: Option<DefaultDirectRateLimiter>,
}

/// The configured keys with their rate limiters.
pub struct KeyStore {
    keys: Vec<KeyEntry>,
    clock: DefaultClock,
}

impl std::fmt::Debug for KeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyStore")
            .field(
                "keys",
                &self.keys.iter().map(|k| &k.config.id).collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// The SHA-256 of a key as lower-case hex (what `sha256` in the configuration holds).
pub fn hash_key(key: &str) -> String {
    let d = Sha256::digest(key.as_bytes());
    d.iter().map(|b| format!("{b:02x}")).collect()
}

fn decode_hex(s: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    if s.len() != 64 {
        return None;
    }
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

impl KeyStore {
    /// Builds the store; fails on a malformed hash.
    pub fn new(keys: &[KeyConfig]) -> Result<Self, crate::ServerError> {
        let mut out = Vec::with_capacity(keys.len());
        for k in keys {
            let hash = decode_hex(&k.sha256.to_ascii_lowercase()).ok_or_else(|| {
                crate::ServerError::Config(format!("key {:?}: sha256 is not 64 hex digits", k.id))
            })?;
            let limiter = NonZeroU32::new(k.requests_per_minute).map(|rpm| {
                let burst = NonZeroU32::new(k.burst).unwrap_or(NonZeroU32::MIN);
                RateLimiter::direct(Quota::per_minute(rpm).allow_burst(burst))
            });
            out.push(KeyEntry {
                config: k.clone(),
                hash,
                limiter,
            });
        }
        Ok(KeyStore {
            keys: out,
            clock: DefaultClock::default(),
        })
    }

    /// The caller for the `Authorization: Bearer …` (or `x-api-key`) header, after its rate
    /// limit: 401 without a key, with an unknown or a revoked one; 429 when the key's bucket is
    /// empty.
    pub fn authenticate(&self, headers: &HeaderMap) -> Result<Caller, ApiError> {
        let presented = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .or_else(|| headers.get("x-api-key").and_then(|v| v.to_str().ok()))
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .ok_or_else(|| {
                ApiError::unauthorized(
                    "missing_api_key",
                    "no API key: send `Authorization: Bearer <key>`",
                )
            })?;
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        // Compare against every key so the time taken does not depend on which one matches.
        let mut found: Option<&KeyEntry> = None;
        for k in &self.keys {
            if bool::from(k.hash.ct_eq(&digest)) {
                found = Some(k);
            }
        }
        let k = found
            .ok_or_else(|| ApiError::unauthorized("invalid_api_key", "the API key is not valid"))?;
        if k.config.revoked {
            return Err(ApiError::unauthorized(
                "revoked_api_key",
                "the API key has been revoked; ask the operator for a new one",
            ));
        }
        if let Some(l) = &k.limiter {
            if let Err(not_until) = l.check() {
                let wait = not_until.wait_time_from(self.clock.now());
                return Err(ApiError::rate_limited(wait.as_secs().max(1)));
            }
        }
        Ok(Caller {
            key_id: k.config.id.clone(),
            scope: Scope::tenant(k.config.tenant.clone())
                .with_principals(k.config.principals.iter().cloned()),
            admin: k.config.admin,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: &str, secret: &str, revoked: bool) -> KeyConfig {
        KeyConfig {
            id: id.into(),
            sha256: hash_key(secret),
            tenant: "acme".into(),
            principals: vec!["staff".into()],
            requests_per_minute: 60,
            burst: 2,
            admin: false,
            revoked,
        }
    }

    fn bearer(k: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            format!("Bearer {k}").parse().expect("header"),
        );
        h
    }

    #[test]
    fn hash_is_sha256_hex() {
        assert_eq!(
            hash_key("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn keys_map_to_scopes_and_bad_keys_are_refused() {
        let s =
            KeyStore::new(&[key("a", "sk-a", false), key("old", "sk-old", true)]).expect("store");
        let c = s.authenticate(&bearer("sk-a")).expect("valid");
        assert_eq!(c.scope.tenant, "acme");
        assert_eq!(c.scope.principals, vec!["staff".to_string()]);
        assert_eq!(
            s.authenticate(&bearer("sk-b")).expect_err("wrong").code,
            "invalid_api_key"
        );
        assert_eq!(
            s.authenticate(&bearer("sk-old")).expect_err("revoked").code,
            "revoked_api_key"
        );
        assert_eq!(
            s.authenticate(&HeaderMap::new()).expect_err("none").code,
            "missing_api_key"
        );
    }

    #[test]
    fn the_burst_is_enforced_per_key() {
        let s = KeyStore::new(&[key("a", "sk-a", false), key("b", "sk-b", false)]).expect("store");
        assert!(s.authenticate(&bearer("sk-a")).is_ok());
        assert!(s.authenticate(&bearer("sk-a")).is_ok());
        let e = s.authenticate(&bearer("sk-a")).expect_err("limited");
        assert_eq!(e.status.as_u16(), 429);
        assert!(e.retry_after.is_some());
        assert!(
            s.authenticate(&bearer("sk-b")).is_ok(),
            "other keys are not affected"
        );
    }
}
