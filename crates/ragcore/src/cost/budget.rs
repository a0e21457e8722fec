//! [`Budgets`]: spend limits per tenant, user (principal) or feature over a day or a month, and
//! RPM/TPM rate limits per scope. Before a model call the estimated cost (prompt tokens + the
//! maximum output, priced) is reserved in the [`CostLedger`]; after it the reservation is
//! replaced by the actual spend. A hard limit refuses (error or degraded answer, by
//! [`OverBudget`] policy); a soft limit calls the alert callback once when crossed.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::ledger::{
    now_ms, BudgetCheck, CostLedger, Dimension, LedgerEntry, Period, ReserveOutcome,
    ReserveRequest, SettleRequest, SpentRequest,
};
use super::rate::{RateLimit, RateLimits};
use super::{ModelPrice, PriceTable};
use crate::error::{Error, Result};
use crate::types::{Scope, Usage};

/// One budget.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetRule {
    /// What it is counted over.
    pub dimension: Dimension,
    /// The tenant, user or feature it applies to; `None` gives each one its own budget of this
    /// size.
    #[serde(default)]
    pub value: Option<String>,
    /// Day or month (UTC).
    pub period: Period,
    /// Requests that would go over this many USD are refused (reserved estimates count).
    #[serde(default)]
    pub hard_limit_usd: Option<f64>,
    /// Crossing this many USD calls the alert callback.
    #[serde(default)]
    pub soft_limit_usd: Option<f64>,
}

impl BudgetRule {
    /// A rule for every value of `dimension` (each tenant, each user, each feature).
    pub fn each(dimension: Dimension, period: Period) -> Self {
        BudgetRule {
            dimension,
            value: None,
            period,
            hard_limit_usd: None,
            soft_limit_usd: None,
        }
    }

    /// A rule for one tenant, user or feature.
    pub fn only(dimension: Dimension, value: impl Into<String>, period: Period) -> Self {
        BudgetRule {
            value: Some(value.into()),
            ..Self::each(dimension, period)
        }
    }

    /// Sets the hard limit.
    pub fn hard(mut self, usd: f64) -> Self {
        self.hard_limit_usd = Some(usd);
        self
    }

    /// Sets the soft limit.
    pub fn soft(mut self, usd: f64) -> Self {
        self.soft_limit_usd = Some(usd);
        self
    }

    fn applies(&self, value: &str) -> bool {
        self.value.as_deref().is_none_or(|v| v == value)
    }

    fn name(&self, value: &str) -> String {
        format!(
            "{} {} per {}",
            self.dimension.as_str(),
            if value.is_empty() { "(none)" } else { value },
            self.period.as_str()
        )
    }

    fn validate(&self) -> Result<()> {
        for (what, v) in [
            ("hard_limit_usd", self.hard_limit_usd),
            ("soft_limit_usd", self.soft_limit_usd),
        ] {
            if let Some(v) = v {
                if !(v.is_finite() && v >= 0.0) {
                    return Err(Error::invalid(
                        format!("budget.{what}"),
                        format!("{v} is not a non-negative amount of USD"),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// What happens when a hard limit (or a rate limit) is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OverBudget {
    /// Return [`Error::BudgetExceeded`].
    #[default]
    Error,
    /// Answer extractively from the passages (no model cost), flagged `degraded`.
    Degrade,
}

/// A soft limit was crossed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BudgetAlert {
    /// The budget (`tenant acme per month`).
    pub budget: String,
    /// Spent in the period so far, USD.
    pub spent_usd: f64,
    /// The soft limit, USD.
    pub soft_limit_usd: f64,
    /// The hard limit, when there is one.
    pub hard_limit_usd: Option<f64>,
    /// When the period resets (UTC).
    pub resets_at: String,
}

/// Called when a soft limit is crossed (once per crossing). Must not block.
pub type AlertCallback = Arc<dyn Fn(&BudgetAlert) + Send + Sync>;

/// Who spends: the columns of ledger rows and budget checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spender {
    /// Tenant.
    pub tenant: String,
    /// User (first principal), empty when none.
    pub principal: String,
    /// Feature, `default` when none.
    pub feature: String,
}

impl Spender {
    /// From a scope and an optional feature.
    pub fn new(scope: &Scope, feature: Option<&str>) -> Self {
        Spender {
            tenant: scope.tenant.clone(),
            principal: scope.principals.first().cloned().unwrap_or_default(),
            feature: feature.unwrap_or("default").to_string(),
        }
    }

    fn value(&self, d: Dimension) -> &str {
        match d {
            Dimension::Tenant => &self.tenant,
            Dimension::Principal => &self.principal,
            Dimension::Feature => &self.feature,
        }
    }

    fn entry(
        &self,
        at_ms: i64,
        model: &str,
        usage: Usage,
        cost_usd: f64,
        prices: &str,
    ) -> LedgerEntry {
        LedgerEntry {
            at_ms,
            tenant: self.tenant.clone(),
            principal: self.principal.clone(),
            feature: self.feature.clone(),
            model: model.to_string(),
            usage,
            cost_usd,
            prices: prices.to_string(),
        }
    }
}

/// Admit a model call.
#[derive(Debug, Clone)]
pub struct AdmitRequest {
    /// Who spends.
    pub spender: Spender,
    /// The model to be called.
    pub model: String,
    /// Prompt tokens (counted locally).
    pub prompt_tokens: u64,
    /// Output tokens at most.
    pub max_output_tokens: u64,
}

/// An admitted call: settle it with the actual spend.
#[derive(Debug, Clone, PartialEq)]
pub struct Admission {
    /// The reservation, when a hard limit applied.
    pub reservation: Option<i64>,
    /// The reserved estimate, USD.
    pub estimate_usd: f64,
}

/// One priced call to settle.
#[derive(Debug, Clone, PartialEq)]
pub struct SpentCall {
    /// The model (`none`, `extractive` or a chat model).
    pub model: String,
    /// Its tokens.
    pub usage: Usage,
    /// Its cost, USD.
    pub cost_usd: f64,
}

/// Budget settings (for `LocalOptions` and the bindings). Its serde form (JSON, TOML, a Python
/// dict, a JavaScript object) is `{rules: [...], over_budget: "error" | "degrade",
/// rate_limits: [...]}`; unknown keys are refused; the alert callback is set in code.
#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BudgetConfig {
    /// The budgets.
    pub rules: Vec<BudgetRule>,
    /// What a hard limit or rate limit does.
    pub over_budget: OverBudget,
    /// RPM/TPM limits.
    pub rate_limits: Vec<RateLimit>,
    /// Called when a soft limit is crossed.
    #[serde(skip)]
    pub on_alert: Option<AlertCallback>,
}

impl std::fmt::Debug for BudgetConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BudgetConfig")
            .field("rules", &self.rules)
            .field("over_budget", &self.over_budget)
            .field("rate_limits", &self.rate_limits)
            .field("on_alert", &self.on_alert.is_some())
            .finish()
    }
}

/// Budgets, rate limits and the ledger they are kept in.
#[derive(Clone)]
pub struct Budgets {
    ledger: Arc<dyn CostLedger>,
    prices: PriceTable,
    rules: Vec<BudgetRule>,
    policy: OverBudget,
    alert: Option<AlertCallback>,
    rates: Arc<RateLimits>,
}

impl std::fmt::Debug for Budgets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Budgets")
            .field("rules", &self.rules)
            .field("policy", &self.policy)
            .field("rate_limits", &self.rates)
            .finish()
    }
}

impl Budgets {
    /// Budgets kept in `ledger`, pricing estimates with `prices`; no limits yet (every request is
    /// still recorded).
    pub fn new(ledger: Arc<dyn CostLedger>, prices: PriceTable) -> Self {
        Budgets {
            ledger,
            prices,
            rules: Vec::new(),
            policy: OverBudget::default(),
            alert: None,
            rates: Arc::new(RateLimits::default()),
        }
    }

    /// Budgets from settings.
    pub fn from_config(
        ledger: Arc<dyn CostLedger>,
        prices: PriceTable,
        config: BudgetConfig,
    ) -> Result<Self> {
        let mut b = Budgets::new(ledger, prices)
            .policy(config.over_budget)
            .rate_limits(RateLimits::new(config.rate_limits)?);
        for r in config.rules {
            b = b.rule(r)?;
        }
        if let Some(a) = config.on_alert {
            b = b.on_alert(a);
        }
        Ok(b)
    }

    /// Adds a budget.
    pub fn rule(mut self, rule: BudgetRule) -> Result<Self> {
        rule.validate()?;
        self.rules.push(rule);
        Ok(self)
    }

    /// Sets the policy for hard limits and rate limits.
    pub fn policy(mut self, policy: OverBudget) -> Self {
        self.policy = policy;
        self
    }

    /// Sets the soft-limit alert callback.
    pub fn on_alert(mut self, alert: AlertCallback) -> Self {
        self.alert = Some(alert);
        self
    }

    /// Sets the rate limits.
    pub fn rate_limits(mut self, rates: RateLimits) -> Self {
        self.rates = Arc::new(rates);
        self
    }

    /// The policy.
    pub fn over_budget(&self) -> OverBudget {
        self.policy
    }

    /// The ledger.
    pub fn ledger(&self) -> &Arc<dyn CostLedger> {
        &self.ledger
    }

    /// The rules.
    pub fn rules(&self) -> &[BudgetRule] {
        &self.rules
    }

    fn price_of(&self, model: &str) -> Option<&ModelPrice> {
        self.prices.get(model)
    }

    fn prices_id(&self) -> String {
        format!("{}#{}", self.prices.version, self.prices.revision)
    }

    /// The estimated cost of a call: all prompt tokens at the input price and the maximum output
    /// at the output price (an upper bound, so a reservation is never too small).
    pub fn estimate_usd(&self, model: &str, prompt_tokens: u64, max_output_tokens: u64) -> f64 {
        self.price_of(model).map_or(0.0, |p| {
            (prompt_tokens as f64 * p.input_per_million
                + max_output_tokens as f64
                    * p.output_per_million
                        .max(p.reasoning_per_million.unwrap_or(0.0)))
                / 1e6
        })
    }

    /// Whether [`Budgets::admit`] uses the request's token estimate for `spender`: only a rate
    /// limit or a hard limit that applies does. When this is false the caller may pass 0 prompt
    /// tokens and skip counting the prompt.
    pub fn uses_estimate(&self, spender: &Spender) -> bool {
        !self.rates.is_empty()
            || self
                .rules
                .iter()
                .any(|r| r.hard_limit_usd.is_some() && r.applies(spender.value(r.dimension)))
    }

    /// Checks the rate limits and reserves the estimate against every hard limit that applies;
    /// an exceeded limit is an [`Error::BudgetExceeded`] (the caller applies the policy).
    pub async fn admit(&self, request: AdmitRequest) -> Result<Admission> {
        let s = &request.spender;
        self.rates.check(
            |d| s.value(d).to_string(),
            request.prompt_tokens + request.max_output_tokens,
        )?;
        let at = now_ms();
        let estimate = self.estimate_usd(
            &request.model,
            request.prompt_tokens,
            request.max_output_tokens,
        );
        let checks: Vec<BudgetCheck> = self
            .rules
            .iter()
            .filter(|r| r.applies(s.value(r.dimension)))
            .filter_map(|r| {
                r.hard_limit_usd.map(|limit| BudgetCheck {
                    name: r.name(s.value(r.dimension)),
                    dimension: r.dimension,
                    value: s.value(r.dimension).to_string(),
                    period: r.period,
                    limit_usd: limit,
                })
            })
            .collect();
        if checks.is_empty() {
            return Ok(Admission {
                reservation: None,
                estimate_usd: estimate,
            });
        }
        let entry = s.entry(
            at,
            &request.model,
            Usage::default(),
            estimate,
            &self.prices_id(),
        );
        match self.ledger.reserve(ReserveRequest { entry, checks }).await? {
            ReserveOutcome::Reserved(id) => Ok(Admission {
                reservation: Some(id),
                estimate_usd: estimate,
            }),
            ReserveOutcome::Exceeded { check, spent_usd } => Err(Error::BudgetExceeded {
                budget: check.name.clone(),
                spent_usd: Some(spent_usd),
                limit_usd: Some(check.limit_usd),
                resets_at: Some(check.period.resets_at(at)),
                detail: format!(
                    "spent ${spent_usd:.6} of ${:.6} (this request needs up to ${estimate:.6}); it resets at {}. Raise the limit or wait",
                    check.limit_usd,
                    check.period.resets_at(at)
                ),
            }),
        }
    }

    /// Records what was spent (one ledger row per call) and drops the reservation; calls the
    /// alert callback for every soft limit this spend crossed.
    pub async fn settle(
        &self,
        spender: &Spender,
        admission: Option<&Admission>,
        calls: Vec<SpentCall>,
    ) -> Result<()> {
        let at = now_ms();
        let total: f64 = calls.iter().map(|c| c.cost_usd).sum();
        let prices = self.prices_id();
        let entries = calls
            .into_iter()
            .map(|c| spender.entry(at, &c.model, c.usage, c.cost_usd, &prices))
            .collect();
        self.ledger
            .settle(SettleRequest {
                reservation: admission.and_then(|a| a.reservation),
                entries,
            })
            .await?;
        let Some(alert) = &self.alert else {
            return Ok(());
        };
        for r in &self.rules {
            let value = spender.value(r.dimension);
            let Some(soft) = r.soft_limit_usd.filter(|_| r.applies(value)) else {
                continue;
            };
            let spent = self
                .ledger
                .spent(SpentRequest {
                    dimension: r.dimension,
                    value: value.to_string(),
                    period: r.period,
                    at_ms: at,
                })
                .await?;
            if spent >= soft && spent - total < soft {
                alert(&BudgetAlert {
                    budget: r.name(value),
                    spent_usd: spent,
                    soft_limit_usd: soft,
                    hard_limit_usd: r.hard_limit_usd,
                    resets_at: r.period.resets_at(at),
                });
            }
        }
        Ok(())
    }
}
