//! Cost: a dated price table, the [`CostMeter`] trait, an in-process meter that totals spend
//! per tenant, the persistent [`CostLedger`] (SQLite), [`Budgets`] with reservations, and RPM/TPM
//! [`RateLimits`].

mod budget;
mod ledger;
#[cfg(feature = "postgres")]
mod pg_ledger;
mod prices;
mod rate;
mod sqlite_ledger;

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;

use crate::error::{Error, Result};
use crate::types::{Cost, Scope, Usage};

pub use budget::{
    Admission, AdmitRequest, AlertCallback, BudgetAlert, BudgetConfig, BudgetRule, Budgets,
    OverBudget, Spender, SpentCall,
};
pub use ledger::{
    now_ms, BudgetCheck, CostLedger, Dimension, LedgerEntry, Period, ReportBy, ReportRequest,
    ReportRow, ReserveOutcome, ReserveRequest, SettleRequest, SpentRequest,
};
#[cfg(feature = "postgres")]
pub use pg_ledger::PgCostLedger;
pub use prices::{ModelPrice, PriceTable};
pub use rate::{RateLimit, RateLimits};
pub use sqlite_ledger::SqliteCostLedger;

/// Price one request's usage.
#[derive(Debug, Clone)]
pub struct PriceRequest {
    /// The chat model that produced the completion (`extractive` or `none` cost nothing).
    pub chat_model: String,
    /// The embedding model (the embedder fingerprint's model).
    pub embedding_model: String,
    /// Tokens used.
    pub usage: Usage,
}

/// Record what a request cost.
#[derive(Debug, Clone)]
pub struct RecordRequest {
    /// Who spent it.
    pub scope: Scope,
    /// The model.
    pub model: String,
    /// Tokens used.
    pub usage: Usage,
    /// Money spent.
    pub cost: Cost,
}

/// Prices usage and records spend.
#[async_trait]
pub trait CostMeter: Send + Sync {
    /// The cost of a usage under the current prices.
    fn price(&self, request: &PriceRequest) -> Result<Cost>;

    /// Records spend (a ledger, budgets and reports build on this).
    async fn record(&self, request: RecordRequest) -> Result<()>;

    /// Usage and cost recorded so far per tenant, when this meter keeps totals (`None` when it
    /// only forwards records elsewhere).
    fn spend_by_tenant(&self) -> Result<Option<BTreeMap<String, (Usage, Cost)>>> {
        Ok(None)
    }
}

/// A [`CostMeter`] pricing with a [`PriceTable`] and keeping running totals in memory.
#[derive(Debug, Default)]
pub struct TableMeter {
    prices: PriceTable,
    totals: Mutex<BTreeMap<String, (Usage, Cost)>>,
}

impl TableMeter {
    /// A meter with the given prices.
    pub fn new(prices: PriceTable) -> Self {
        TableMeter {
            prices,
            totals: Mutex::new(BTreeMap::new()),
        }
    }

    /// The price table.
    pub fn prices(&self) -> &PriceTable {
        &self.prices
    }

    /// Usage and cost recorded so far, per tenant.
    pub fn totals(&self) -> Result<BTreeMap<String, (Usage, Cost)>> {
        Ok(self
            .totals
            .lock()
            .map_err(|_| Error::poisoned("cost totals"))?
            .clone())
    }
}

#[async_trait]
impl CostMeter for TableMeter {
    fn price(&self, request: &PriceRequest) -> Result<Cost> {
        let mut cost = Cost::default();
        let u = &request.usage;
        if u.prompt_tokens + u.completion_tokens > 0 {
            if let Some(p) = self.prices.get(&request.chat_model) {
                (cost.input_usd, cost.output_usd) = p.chat_cost(u);
            } else {
                tracing::warn!(target: "ragcore::cost", model = %request.chat_model, "no price for model; cost counted as 0");
            }
        }
        if u.embedding_tokens > 0 {
            let m = request
                .embedding_model
                .strip_prefix("openai:")
                .unwrap_or(&request.embedding_model);
            let m = m.split('|').next().unwrap_or(m);
            if let Some(p) = self.prices.get(m) {
                cost.embedding_usd = u.embedding_tokens as f64 * p.input_per_million / 1e6;
            }
        }
        cost.total_usd = cost.input_usd + cost.output_usd + cost.embedding_usd;
        Ok(cost)
    }

    async fn record(&self, request: RecordRequest) -> Result<()> {
        let mut t = self
            .totals
            .lock()
            .map_err(|_| Error::poisoned("cost totals"))?;
        let e = t.entry(request.scope.tenant).or_default();
        e.0.add(&request.usage);
        e.1.add(&request.cost);
        Ok(())
    }

    fn spend_by_tenant(&self) -> Result<Option<BTreeMap<String, (Usage, Cost)>>> {
        self.totals().map(Some)
    }
}
