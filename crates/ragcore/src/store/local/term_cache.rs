//! Document frequencies of query terms, remembered until the knowledge base changes. Every ask
//! needs the df of each question term (for the no-answer check's IDF weights); counting it is
//! an FTS5 query joined to the visibility condition per term, and the same terms (and whole
//! questions) come back ask after ask. An entry is keyed by tenant, principals and term, so a
//! count never crosses a scope. The cache is emptied whenever the database changed: a write on
//! the store's own connection (`total_changes`) or a commit by any other connection or process
//! (`PRAGMA data_version`).

use std::collections::HashMap;
use std::sync::Mutex;

use rusqlite::Connection;

use crate::error::{Error, Result};

/// Entries kept at most; the cache is emptied when it is full (a bound, not an LRU).
const MAX_ENTRIES: usize = 100_000;

/// What the database looked like when the entries were counted.
type Stamp = (i64, u64);

#[derive(Default)]
struct State {
    stamp: Option<Stamp>,
    totals: HashMap<u32, u64>,
    df: HashMap<(u32, String, String), u64>,
}

/// Remembered live-chunk totals per tenant and document frequencies per (tenant, principals,
/// term).
#[derive(Default)]
pub(super) struct TermCache {
    state: Mutex<State>,
}

impl TermCache {
    /// The tenant's live-chunk total and each term's document frequency, from the cache or
    /// counted by `total` / `df` (called with `conn` locked by the caller, so no write can
    /// interleave with the stamp check).
    pub(super) fn stats(
        &self,
        conn: &Connection,
        tenant: u32,
        principals: &str,
        terms: &[String],
        total: impl FnOnce() -> Result<u64>,
        mut df: impl FnMut(&str) -> Result<u64>,
    ) -> Result<(u64, Vec<u64>)> {
        let data_version: i64 = conn
            .prepare_cached("PRAGMA data_version")?
            .query_row([], |r| r.get(0))?;
        let stamp = (data_version, conn.total_changes());
        let mut state = self
            .state
            .lock()
            .map_err(|_| Error::poisoned("term statistics cache"))?;
        if state.stamp != Some(stamp) || state.df.len() >= MAX_ENTRIES {
            *state = State {
                stamp: Some(stamp),
                ..State::default()
            };
        }
        let chunks = match state.totals.get(&tenant) {
            Some(&n) => n,
            None => {
                let n = total()?;
                state.totals.insert(tenant, n);
                n
            }
        };
        let mut out = Vec::with_capacity(terms.len());
        for term in terms {
            let key = (tenant, principals.to_string(), term.clone());
            let n = match state.df.get(&key) {
                Some(&n) => n,
                None => {
                    let n = df(term)?;
                    state.df.insert(key, n);
                    n
                }
            };
            out.push(n);
        }
        Ok((chunks, out))
    }
}
