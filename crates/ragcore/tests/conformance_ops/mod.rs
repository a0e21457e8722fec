//! The operations conformance suite: one generic test per trait (prompt registry, cost ledger
//! and budgets, answer cache store, event log, placeholder vault, drift log), run against every
//! implementation by `conformance_ops_local.rs` (SQLite / in memory) and
//! `conformance_ops_postgres.rs` (PostgreSQL). Every function gets a fresh, empty instance.

#![allow(dead_code)]

mod cache;
mod ledger;
mod prompts;
mod records;

pub use cache::cache_store;
pub use ledger::ledger_budgets;
pub use prompts::prompt_registry;
pub use records::{drift, event_log, vault};
/// Helpers only `conformance_ops_postgres.rs` uses.
#[allow(unused_imports)]
pub use {
    cache::answer,
    ledger::{month_spent, spend_until_refused},
};

pub type R = Result<(), Box<dyn std::error::Error + Send + Sync>>;
