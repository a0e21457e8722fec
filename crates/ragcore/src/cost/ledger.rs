//! The cost ledger: every priced request (time, tenant, principal, feature, model, tokens, cost)
//! and the budget reservations of requests in flight, behind the [`CostLedger`] trait. The
//! embedded implementation is [`SqliteCostLedger`](super::SqliteCostLedger); a PostgreSQL one
//! implements the same trait.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::types::{civil_date, Usage};

/// What a budget or rate limit is counted over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    /// The scope's tenant.
    Tenant,
    /// The user: the scope's first principal (the others are groups).
    Principal,
    /// The feature named on the request (`AskRequest::feature`), `default` when none.
    Feature,
}

impl Dimension {
    /// `tenant`, `principal` or `feature` (also the ledger's column).
    pub fn as_str(self) -> &'static str {
        match self {
            Dimension::Tenant => "tenant",
            Dimension::Principal => "principal",
            Dimension::Feature => "feature",
        }
    }
}

/// A budget period, in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    /// A calendar day.
    Day,
    /// A calendar month.
    Month,
}

impl Period {
    /// `day` or `month`.
    pub fn as_str(self) -> &'static str {
        match self {
            Period::Day => "day",
            Period::Month => "month",
        }
    }

    /// The period containing `at_ms` (milliseconds since the Unix epoch): `YYYY-MM-DD` or
    /// `YYYY-MM`.
    pub fn window(self, at_ms: i64) -> String {
        let day = civil_date(at_ms.div_euclid(86_400_000));
        match self {
            Period::Day => day,
            Period::Month => day[..7].to_string(),
        }
    }

    /// When the period containing `at_ms` ends (UTC, `YYYY-MM-DDT00:00:00Z`).
    pub fn resets_at(self, at_ms: i64) -> String {
        let days = at_ms.div_euclid(86_400_000);
        let next = match self {
            Period::Day => days + 1,
            Period::Month => {
                let month = civil_date(days)[..7].to_string();
                let mut d = days + 1;
                while civil_date(d)[..7] == month {
                    d += 1;
                }
                d
            }
        };
        format!("{}T00:00:00Z", civil_date(next))
    }
}

/// One priced model call (or embedding-only request) in the ledger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LedgerEntry {
    /// Milliseconds since the Unix epoch.
    pub at_ms: i64,
    /// Tenant.
    pub tenant: String,
    /// The user (first principal), empty when none.
    pub principal: String,
    /// Feature, `default` when none.
    pub feature: String,
    /// The model (`none` for requests answered without a model, `extractive` when degraded).
    pub model: String,
    /// Tokens.
    pub usage: Usage,
    /// USD.
    pub cost_usd: f64,
    /// The price table it was priced with (`version#revision`).
    pub prices: String,
}

/// One limit a reservation must respect.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BudgetCheck {
    /// A readable name (`tenant acme per month`), used in errors and alerts.
    pub name: String,
    /// Which column.
    pub dimension: Dimension,
    /// Its value for this request.
    pub value: String,
    /// Over which period.
    pub period: Period,
    /// The hard limit in USD.
    pub limit_usd: f64,
}

/// Reserve an estimated cost against every check, atomically.
#[derive(Debug, Clone, PartialEq)]
pub struct ReserveRequest {
    /// Who spends (the columns of the reservation).
    pub entry: LedgerEntry,
    /// Limits to respect; the reservation is made only if it fits all of them.
    pub checks: Vec<BudgetCheck>,
}

/// The result of a reservation.
#[derive(Debug, Clone, PartialEq)]
pub enum ReserveOutcome {
    /// Reserved under this id; settle or release it.
    Reserved(i64),
    /// It does not fit this check: spent (settled + reserved) so far in the period.
    Exceeded {
        /// The check that failed.
        check: BudgetCheck,
        /// USD spent and reserved in the period.
        spent_usd: f64,
    },
}

/// Replace a reservation by what was actually spent.
#[derive(Debug, Clone, PartialEq)]
pub struct SettleRequest {
    /// The reservation to remove, if one was made.
    pub reservation: Option<i64>,
    /// The priced calls to append.
    pub entries: Vec<LedgerEntry>,
}

/// How much was spent (settled and reserved) in one period.
#[derive(Debug, Clone, PartialEq)]
pub struct SpentRequest {
    /// Which column.
    pub dimension: Dimension,
    /// Its value.
    pub value: String,
    /// The period.
    pub period: Period,
    /// A time inside the period (ms since the epoch).
    pub at_ms: i64,
}

/// How a cost report is grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportBy {
    /// Per tenant.
    Tenant,
    /// Per model.
    Model,
    /// Per UTC day.
    Day,
    /// Per feature.
    Feature,
    /// Per user (first principal).
    Principal,
}

impl ReportBy {
    /// Parses `tenant`, `model`, `day`, `feature` or `principal`.
    pub fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "tenant" => ReportBy::Tenant,
            "model" => ReportBy::Model,
            "day" => ReportBy::Day,
            "feature" => ReportBy::Feature,
            "principal" | "user" => ReportBy::Principal,
            other => {
                return Err(crate::error::Error::invalid(
                    "by",
                    format!("{other:?} is not one of tenant, model, day, feature, principal"),
                ))
            }
        })
    }
}

/// Report spend from the ledger.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportRequest {
    /// Grouping.
    pub by: ReportBy,
    /// Only this tenant, when set.
    pub tenant: Option<String>,
    /// Only entries at or after this time (ms since the epoch).
    pub since_ms: Option<i64>,
}

/// One group of a cost report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportRow {
    /// The group (tenant, model, day ...).
    pub key: String,
    /// Ledger entries (priced calls).
    pub requests: u64,
    /// Summed tokens.
    pub usage: Usage,
    /// Summed USD.
    pub cost_usd: f64,
}

/// Persistent spend and reservations. Implementations make `reserve` atomic: concurrent
/// reservations against one budget never both fit when only one does.
#[async_trait]
pub trait CostLedger: Send + Sync {
    /// Reserves `entry.cost_usd` if it fits every check.
    async fn reserve(&self, request: ReserveRequest) -> Result<ReserveOutcome>;
    /// Appends the actual spend and removes the reservation, in one transaction.
    async fn settle(&self, request: SettleRequest) -> Result<()>;
    /// Settled plus reserved spend in a period.
    async fn spent(&self, request: SpentRequest) -> Result<f64>;
    /// Spend grouped for a report, largest cost first.
    async fn report(&self, request: ReportRequest) -> Result<Vec<ReportRow>>;
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_and_resets() {
        // 2026-01-31T12:00:00Z
        let t = 20_484 * 86_400_000 + 43_200_000;
        assert_eq!(Period::Day.window(t), "2026-01-31");
        assert_eq!(Period::Month.window(t), "2026-01");
        assert_eq!(Period::Day.resets_at(t), "2026-02-01T00:00:00Z");
        assert_eq!(Period::Month.resets_at(t), "2026-02-01T00:00:00Z");
        assert_eq!(
            Period::Month.resets_at(t - 20 * 86_400_000),
            "2026-02-01T00:00:00Z"
        );
    }
}
