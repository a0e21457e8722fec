//! One conformance suite for every [`ragcore::VectorStore`] backend: generic checks taking an
//! opened pipeline, instantiated per backend by `conformance_local.rs` and
//! `conformance_postgres.rs` through [`conformance_tests!`].
//!
//! A backend is a function `async fn(name: &'static str) -> ragcore::Result<Option<Opened>>`
//! that opens a fresh, empty knowledge base for the check `name` (`None`: the backend is not
//! available here, the check is skipped with a notice). More check modules (e.g. `ops.rs` for
//! budgets, prompts and cache) add a `pub mod` line here and their names to the macro.
#![allow(dead_code)]
// The checks are test code called from `#[test]` functions: they fail loudly.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

pub mod store;

/// An opened pipeline and whatever must live as long as it (a temporary directory).
pub struct Opened {
    /// The pipeline under test.
    pub kb: ragcore::Pipeline,
    /// Kept alive until the check ends.
    pub _guard: Box<dyn std::any::Any + Send>,
}

/// One `#[tokio::test]` per check of [`store`], each on a fresh knowledge base from `$open`.
#[macro_export]
macro_rules! conformance_tests {
    ($open:path) => {
        $crate::conformance_tests!(@each $open;
            ingest_then_reingest_embeds_nothing,
            sync_adds_edits_and_deletes_in_one_version,
            versions_diff_and_rollback,
            scope_isolation_never_leaks,
            searches_agree_on_the_fixture,
            hybrid_search_equals_fusing_both_searches,
            ask_cites_one_version,
            verify_is_consistent_after_writes,
        );
    };
    (@each $open:path; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let Some(opened) = $open(stringify!($name)).await.expect("open the backend") else {
                    return;
                };
                conformance::store::$name(&opened.kb).await;
            }
        )*
    };
}
