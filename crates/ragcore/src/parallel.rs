//! CPU-parallel work (HNSW linking, chunking and segmentation of an ingest, hashing
//! embeddings of a batch) runs on one rayon pool per process, never on rayon's global pool:
//! the global pool's threads do not survive `fork()`, and a forked child (a Python worker
//! process) that used it would wait forever.

use std::sync::Arc;

/// The rayon pool owned by this process (at most 8 threads). A forked child gets a pool of its
/// own; the parent's (threadless there) is leaked rather than dropped. `None` if no pool can be
/// built (callers then work sequentially or on the global pool).
pub(crate) fn pool() -> Option<Arc<rayon::ThreadPool>> {
    static POOL: std::sync::Mutex<Option<(u32, Arc<rayon::ThreadPool>)>> =
        std::sync::Mutex::new(None);
    let pid = std::process::id();
    let mut guard = POOL.lock().ok()?;
    if let Some((owner, pool)) = guard.as_ref() {
        if *owner == pid {
            return Some(pool.clone());
        }
    }
    if let Some(old) = guard.take() {
        std::mem::forget(old);
    }
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .min(8);
    let pool = Arc::new(
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .ok()?,
    );
    *guard = Some((pid, pool.clone()));
    Some(pool)
}

/// Runs `f` (which may use rayon's parallel iterators) on this process's pool: inline when the
/// caller is already on a rayon pool, and as it is (its iterators then use rayon's global pool)
/// when no pool can be built.
pub(crate) fn install<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    if rayon::current_thread_index().is_some() {
        return f();
    }
    match pool() {
        Some(p) => p.install(f),
        None => f(),
    }
}
