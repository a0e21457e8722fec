//! [`PgOps`]: every operations component on one pool, opened together (the prompt registry, the
//! cost ledger, the answer-cache store, the event log, the placeholder vault and the drift
//! log), so `Pipeline::open_postgres` wires them with one call.

use std::sync::Arc;

use super::PgPool;
use crate::cache::PgCacheStore;
use crate::cost::PgCostLedger;
use crate::drift::PgDriftLog;
use crate::error::Result;
use crate::guard::PgVault;
use crate::observe::PgEventLog;
use crate::prompt::PgPromptRegistry;

/// The PostgreSQL operations components of one knowledge base (one pool / schema).
#[derive(Clone, Debug)]
pub struct PgOps {
    /// Prompt versions and labels.
    pub prompts: Arc<PgPromptRegistry>,
    /// Spend and budget reservations (give it to `Budgets`).
    pub ledger: Arc<PgCostLedger>,
    /// Where `AnswerCache::with_store` keeps entries.
    pub cache_store: Arc<PgCacheStore>,
    /// Ask events (give it to `Observer::with_event_log`).
    pub events: Arc<PgEventLog>,
    /// Reversible placeholders.
    pub vault: Arc<PgVault>,
    /// Drift records (add a centroid source with `PgDriftLog::with_centroids`).
    pub drift: Arc<PgDriftLog>,
}

impl PgOps {
    /// Opens (creating tables when missing) every component on `pool`, concurrently.
    pub async fn open(pool: PgPool) -> Result<Self> {
        let (prompts, ledger, cache_store, events, vault, drift) = tokio::try_join!(
            PgPromptRegistry::open(pool.clone()),
            PgCostLedger::open(pool.clone()),
            PgCacheStore::open(pool.clone()),
            PgEventLog::open(pool.clone()),
            PgVault::open(pool.clone()),
            PgDriftLog::open(pool),
        )?;
        Ok(PgOps {
            prompts: Arc::new(prompts),
            ledger: Arc::new(ledger),
            cache_store: Arc::new(cache_store),
            events: Arc::new(events),
            vault: Arc::new(vault),
            drift: Arc::new(drift),
        })
    }
}
