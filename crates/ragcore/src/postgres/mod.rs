//! PostgreSQL + pgvector backends (feature `postgres`): the same traits as the embedded
//! default, on one shared database, so many service replicas share one knowledge base, prompt
//! registry, cost ledger, budgets, answer cache and event log.
//!
//! Every implementation takes a [`PgPool`] (connect once with [`PgPool::connect`] and share it).
//! Each one creates its own tables on first use with [`PgPool::ensure_schema`], which serialises
//! concurrent creators with an advisory lock, so two processes starting at once do not race.

mod ops;
mod pipeline;
mod pool;
mod row;

pub use ops::PgOps;
pub use pipeline::PostgresOptions;
pub use pool::{map_err, PgConfig, PgPool};
pub(crate) use row::col;
