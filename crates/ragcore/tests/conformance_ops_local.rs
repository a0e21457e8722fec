//! The operations conformance suite (`conformance_ops/`) against the embedded implementations:
//! SQLite prompt registry, cost ledger, event log, vault and drift log, and the in-memory
//! answer-cache store.

mod conformance_ops;

use std::sync::Arc;

use conformance_ops as suite;
use ragcore::cache::MemoryCacheStore;
use ragcore::cost::SqliteCostLedger;
use ragcore::guard::SqliteVault;
use ragcore::observe::SqliteEventLog;
use ragcore::prompt::SqlitePromptRegistry;
use ragcore::SqliteDriftLog;
use suite::R;

fn db() -> std::io::Result<(tempfile::TempDir, std::path::PathBuf)> {
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("kb.sqlite");
    Ok((dir, file))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn prompt_registry() -> R {
    let (_d, f) = db()?;
    suite::prompt_registry(Arc::new(SqlitePromptRegistry::open(f)?)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ledger_budgets() -> R {
    let (_d, f) = db()?;
    suite::ledger_budgets(Arc::new(SqliteCostLedger::open(f)?)).await
}

#[tokio::test]
async fn cache_store() -> R {
    suite::cache_store(Arc::new(MemoryCacheStore::new())).await
}

#[tokio::test]
async fn event_log() -> R {
    let (_d, f) = db()?;
    suite::event_log(Arc::new(SqliteEventLog::open(f)?)).await
}

#[tokio::test]
async fn vault() -> R {
    let (_d, f) = db()?;
    suite::vault(Arc::new(SqliteVault::open(f)?)).await
}

#[tokio::test]
async fn drift() -> R {
    let (_d, f) = db()?;
    suite::drift(Arc::new(SqliteDriftLog::open(f)?)).await
}
