//! RPM / TPM rate limits per scope (tenant, user or feature), with the `governor` crate's GCRA
//! limiters keyed by the scope's value. In-process: each process enforces its own limits.

use std::num::NonZeroU32;

use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::HashMapStateStore;
use governor::{Quota, RateLimiter};
use serde::{Deserialize, Serialize};

use super::ledger::Dimension;
use crate::error::{Error, Result};

/// One rate limit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// Counted per tenant, user or feature.
    pub dimension: Dimension,
    /// Only this value, or each value separately when `None`.
    #[serde(default)]
    pub value: Option<String>,
    /// Requests per minute.
    #[serde(default)]
    pub rpm: Option<u32>,
    /// Tokens (prompt + maximum output) per minute.
    #[serde(default)]
    pub tpm: Option<u32>,
}

type Keyed = RateLimiter<String, HashMapStateStore<String>, DefaultClock>;

struct Limiter {
    limit: RateLimit,
    requests: Option<(NonZeroU32, Keyed)>,
    tokens: Option<(NonZeroU32, Keyed)>,
}

/// A set of rate limits.
#[derive(Default)]
pub struct RateLimits {
    limiters: Vec<Limiter>,
    clock: DefaultClock,
}

impl std::fmt::Debug for RateLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.limiters.iter().map(|l| &l.limit))
            .finish()
    }
}

fn keyed(per_minute: u32, field: &str) -> Result<Option<(NonZeroU32, Keyed)>> {
    if per_minute == 0 {
        return Err(Error::invalid(
            field,
            "must be at least 1 per minute (leave it unset for no limit)",
        ));
    }
    let n = NonZeroU32::new(per_minute).ok_or_else(|| Error::invalid(field, "must be positive"))?;
    Ok(Some((n, RateLimiter::hashmap(Quota::per_minute(n)))))
}

impl RateLimits {
    /// True when no limit is configured (every request passes without a check).
    pub fn is_empty(&self) -> bool {
        self.limiters.is_empty()
    }

    /// Builds the limiters.
    pub fn new(limits: Vec<RateLimit>) -> Result<Self> {
        let mut limiters = Vec::new();
        for limit in limits {
            let requests = match limit.rpm {
                Some(r) => keyed(r, "rate_limit.rpm")?,
                None => None,
            };
            let tokens = match limit.tpm {
                Some(t) => keyed(t, "rate_limit.tpm")?,
                None => None,
            };
            limiters.push(Limiter {
                limit,
                requests,
                tokens,
            });
        }
        Ok(RateLimits {
            limiters,
            clock: DefaultClock::default(),
        })
    }

    /// Takes one request and `tokens` tokens from every limit that applies, or fails with
    /// [`Error::BudgetExceeded`] naming the limit and when to retry.
    pub fn check(&self, value_of: impl Fn(Dimension) -> String, tokens: u64) -> Result<()> {
        for l in &self.limiters {
            let value = value_of(l.limit.dimension);
            if l.limit.value.as_deref().is_some_and(|v| v != value) {
                continue;
            }
            let name = |unit: &str, n: NonZeroU32| {
                format!("{} {} at {n} {unit}", l.limit.dimension.as_str(), value)
            };
            if let Some((n, rl)) = &l.requests {
                if let Err(not_until) = rl.check_key(&value) {
                    let wait = not_until.wait_time_from(self.clock.now());
                    return Err(limited(name("requests/minute", *n), wait));
                }
            }
            if let Some((n, rl)) = &l.tokens {
                let want = u32::try_from(tokens.max(1)).unwrap_or(u32::MAX);
                let cells = NonZeroU32::new(want).unwrap_or(NonZeroU32::MIN);
                match rl.check_key_n(&value, cells) {
                    Ok(Ok(())) => {}
                    Ok(Err(not_until)) => {
                        let wait = not_until.wait_time_from(self.clock.now());
                        return Err(limited(name("tokens/minute", *n), wait));
                    }
                    Err(_) => {
                        return Err(Error::BudgetExceeded {
                            budget: name("tokens/minute", *n),
                            spent_usd: None,
                            limit_usd: None,
                            resets_at: None,
                            detail: format!("one request needs {tokens} tokens, more than the limit allows in a minute; raise the TPM limit or lower max_tokens"),
                        });
                    }
                }
            }
        }
        Ok(())
    }
}

fn limited(budget: String, wait: std::time::Duration) -> Error {
    Error::BudgetExceeded {
        budget,
        spent_usd: None,
        limit_usd: None,
        resets_at: None,
        detail: format!(
            "rate limit reached; retry in {:.1} s or raise the limit",
            wait.as_secs_f64()
        ),
    }
}
