//! The in-memory approximate-nearest-neighbour index (hnsw_rs) over the chunk vectors, with the
//! visibility table that enforces a [`Scope`] inside the search, an exact scan for small allowed
//! sets, and persistence next to the database.
//!
//! SQLite stays the source of truth: the graph file is only a cache for fast start. A manifest
//! records which database rows the file covers; on open the file is loaded only when the manifest
//! agrees with the database, then caught up with newer rows. Anything else rebuilds from SQLite.

use std::collections::HashMap;
use std::mem::ManuallyDrop;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use hnsw_rs::hnswio::HnswIo;
use hnsw_rs::prelude::{AnnT, DistDot, Hnsw};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::graph_search::FlatGraph;
use crate::error::{Error, Result};

/// Tuning of the HNSW graph and of the filtered-search planner.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AnnConfig {
    /// Neighbours per node (M).
    pub max_connections: usize,
    /// Candidate list size while building.
    pub ef_construction: usize,
    /// Candidate list size while searching (raised automatically for larger k).
    pub ef_search: usize,
    /// When a scope can see at most this many vectors, search them exactly instead of walking the
    /// graph (a filtered walk over a small allowed set starves and loses recall).
    pub exact_max: usize,
    /// Also search exactly when the allowed share of the index is below this fraction.
    pub exact_fraction: f32,
    /// Rebuild the graph when removed chunks exceed this share of it.
    pub compact_fraction: f32,
    /// Distance evaluations a graph walk costs per unit of `ef` (about 2M), for the planner's
    /// choice between a walk and an exact scan of the vectors a scope sees; 0 turns the cost
    /// comparison off (only `exact_max` and `exact_fraction` then choose the scan).
    #[serde(default = "default_walk_cost_per_ef")]
    pub walk_cost_per_ef: usize,
}

fn default_walk_cost_per_ef() -> usize {
    32
}

impl Default for AnnConfig {
    fn default() -> Self {
        AnnConfig {
            max_connections: 16,
            ef_construction: 200,
            ef_search: 128,
            exact_max: 4096,
            exact_fraction: 0.1,
            compact_fraction: 0.25,
            walk_cost_per_ef: default_walk_cost_per_ef(),
        }
    }
}

/// Who may see one vector.
#[derive(Debug, Clone)]
pub struct Visibility {
    /// Internal tenant number.
    pub tenant: u32,
    /// `None`: no ACL, visible to the whole tenant.
    pub acl: Option<Arc<[String]>>,
}

impl Visibility {
    fn allows(&self, tenant: u32, principals: &[String]) -> bool {
        self.tenant == tenant
            && match &self.acl {
                None => true,
                Some(acl) => acl.iter().any(|a| principals.iter().any(|p| p == a)),
            }
    }
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Manifest {
    basename: String,
    dimensions: usize,
    /// Highest database row id contained in the file.
    max_rowid: i64,
    /// Number of vectors in the file.
    count: usize,
    /// Knowledge-base version the database had when the file was written.
    kb_version: u64,
}

/// The vector index of one knowledge base.
pub struct AnnIndex {
    config: AnnConfig,
    dimensions: usize,
    /// Dropped explicitly on this process's rayon pool (see `Drop`).
    graph: ManuallyDrop<Hnsw<'static, f32, DistDot>>,
    /// The same graph as dense arrays, which every search walks (see `graph_search.rs`).
    flat: FlatGraph,
    /// Vectors by row id (for the exact path and for rebuilding).
    vectors: FxHashMap<i64, Box<[f32]>>,
    /// Live vectors only: a removed chunk is dropped from here and so filtered out of every search.
    /// Looked up for every node a filtered walk visits, hence the fast (Fx) hash of the row id.
    visible: FxHashMap<i64, Visibility>,
    /// Count of live vectors per tenant, for the planner.
    per_tenant: HashMap<u32, usize>,
    /// Count of live vectors per tenant that carry an ACL: a tenant without any, owning every
    /// vector of the graph, is searched without a filter.
    per_tenant_acl: HashMap<u32, usize>,
    max_rowid: i64,
    in_graph: usize,
}

/// One nearest neighbour: database row id and cosine similarity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Neighbour {
    /// Database row id.
    pub rowid: i64,
    /// Cosine similarity (inner product of normalised vectors).
    pub similarity: f32,
}

impl AnnIndex {
    /// An empty index for `dimensions`-d vectors, sized for about `expected` of them.
    pub fn new(config: AnnConfig, dimensions: usize, expected: usize) -> Self {
        let graph = Hnsw::new(
            config.max_connections,
            expected.max(1024),
            16,
            config.ef_construction,
            DistDot {},
        );
        AnnIndex {
            config,
            dimensions,
            graph: ManuallyDrop::new(graph),
            flat: FlatGraph::empty(dimensions),
            vectors: FxHashMap::default(),
            visible: FxHashMap::default(),
            per_tenant: HashMap::new(),
            per_tenant_acl: HashMap::new(),
            max_rowid: 0,
            in_graph: 0,
        }
    }

    /// Vectors in the graph, tombstones included.
    pub fn graph_len(&self) -> usize {
        self.in_graph
    }

    /// Sets the search-time candidate list size (the recall / speed trade-off).
    pub fn set_ef_search(&mut self, ef_search: usize) {
        self.config.ef_search = ef_search.max(1);
    }

    /// Adds vectors (already normalised) with their visibility. Row ids must be new.
    pub fn insert(&mut self, items: Vec<(i64, Vec<f32>, Visibility)>) -> Result<()> {
        if items.is_empty() {
            return Ok(());
        }
        for (rowid, v, _) in &items {
            if v.len() != self.dimensions {
                return Err(Error::Internal(format!(
                    "vector of row {rowid} has {} dims, index has {}",
                    v.len(),
                    self.dimensions
                )));
            }
        }
        self.graph.set_searching_mode(false);
        {
            let batch: Vec<(&[f32], usize)> = items
                .iter()
                .map(|(id, v, _)| (v.as_slice(), *id as usize))
                .collect();
            if batch.len() >= 64 {
                self.graph.parallel_insert_slice(&batch);
            } else {
                for b in batch {
                    self.graph.insert_slice(b);
                }
            }
        }
        self.graph.set_searching_mode(true);
        self.flat = FlatGraph::from_hnsw(&self.graph, self.dimensions);
        self.in_graph += items.len();
        for (rowid, v, vis) in items {
            self.max_rowid = self.max_rowid.max(rowid);
            self.count(&vis, 1);
            self.visible.insert(rowid, vis);
            self.vectors.insert(rowid, v.into_boxed_slice());
        }
        Ok(())
    }

    /// Marks rows as removed: they stay in the graph as tombstones but are never returned.
    pub fn remove(&mut self, rowids: &[i64]) {
        for id in rowids {
            if let Some(vis) = self.visible.remove(id) {
                self.count(&vis, -1);
            }
            self.vectors.remove(id);
        }
    }

    /// Rebuilds the graph from the live vectors when tombstones (removed chunks still in the
    /// graph) exceed `compact_fraction` of it, so deletions give memory and speed back. Returns
    /// whether it compacted.
    pub fn compact_if_needed(&mut self) -> Result<bool> {
        let dead = self.in_graph.saturating_sub(self.visible.len());
        if self.in_graph < 64
            || (dead as f32) <= self.config.compact_fraction * self.in_graph as f32
        {
            return Ok(false);
        }
        let mut items: Vec<(i64, Vec<f32>, Visibility)> = Vec::with_capacity(self.visible.len());
        for (rowid, vis) in &self.visible {
            if let Some(v) = self.vectors.get(rowid) {
                items.push((*rowid, v.to_vec(), vis.clone()));
            }
        }
        items.sort_by_key(|i| i.0);
        let mut fresh = AnnIndex::new(self.config, self.dimensions, items.len());
        fresh.insert(items)?;
        fresh.max_rowid = fresh.max_rowid.max(self.max_rowid);
        tracing::info!(target: "ragcore::store", tombstones = dead, live = fresh.in_graph, "vector index compacted");
        std::mem::swap(self, &mut fresh);
        Ok(true)
    }

    /// Updates the ACL of live rows (when a document's ACL changes without its text changing).
    pub fn set_visibility(&mut self, rowid: i64, vis: Visibility) {
        if let Some(old) = self.visible.remove(&rowid) {
            self.count(&old, -1);
            self.count(&vis, 1);
            self.visible.insert(rowid, vis);
        }
    }

    /// Adds (`delta` 1) or removes (-1) one live vector from the planner's counts.
    fn count(&mut self, vis: &Visibility, delta: isize) {
        let bump = |n: &mut usize| *n = n.saturating_add_signed(delta);
        bump(self.per_tenant.entry(vis.tenant).or_insert(0));
        if vis.acl.is_some() {
            bump(self.per_tenant_acl.entry(vis.tenant).or_insert(0));
        }
    }

    /// The `k` nearest visible vectors for a scope, best first.
    ///
    /// The planner, cheapest first:
    /// - *exact*: when the scope sees few vectors (`exact_max`, `exact_fraction`) or when a scan
    ///   of them costs fewer distance evaluations than the graph walk would
    ///   (`ef × walk_cost_per_ef`, with `ef` widened by 1/sqrt of the share the scope sees);
    /// - *unfiltered walk*: when the scope sees every vector of the graph (one tenant, no ACL,
    ///   no tombstones), the plain HNSW search;
    /// - *filtered walk*: otherwise, with `ef` widened by 1/sqrt(share); only visible
    ///   rows enter the results, the walk stops once `ef` of them are nearer than any candidate.
    pub fn search(
        &self,
        query: &[f32],
        k: usize,
        tenant: u32,
        principals: &[String],
    ) -> Vec<Neighbour> {
        if k == 0 || query.len() != self.dimensions {
            return Vec::new();
        }
        let tenant_total = self.per_tenant.get(&tenant).copied().unwrap_or(0);
        if tenant_total == 0 {
            return Vec::new();
        }
        let share = tenant_total as f32 / self.in_graph.max(1) as f32;
        let base_ef = self.config.ef_search.max(2 * k);
        // Only visible rows enter a filtered walk's results, so its `ef` needs widening only for
        // the graph's connectivity through invisible rows: by 1/sqrt(share).
        let ef = ((base_ef as f32 / share.max(0.0025).sqrt()).ceil() as usize).min(MAX_EF);
        let walk_cost = ef.saturating_mul(self.config.walk_cost_per_ef);
        if tenant_total <= self.config.exact_max
            || share < self.config.exact_fraction
            || tenant_total <= walk_cost
        {
            return self.exact(query, k, tenant, principals);
        }
        let acl_rows = self.per_tenant_acl.get(&tenant).copied().unwrap_or(0);
        let allowed = |id: usize| {
            self.visible
                .get(&(id as i64))
                .is_some_and(|v| v.allows(tenant, principals))
        };
        let found = if tenant_total == self.in_graph && acl_rows == 0 {
            // Every vector in the graph is live and this tenant's: nothing to filter.
            self.flat.search(query, k, base_ef, None)
        } else {
            self.flat.search(query, k, ef, Some(&allowed))
        };
        found
            .into_iter()
            .map(|(id, similarity)| Neighbour {
                rowid: id as i64,
                similarity,
            })
            .collect()
    }

    /// Whether a row is live in the index.
    pub fn is_visible(&self, rowid: i64) -> bool {
        self.visible.contains_key(&rowid)
    }

    /// Row ids the index can return.
    pub fn visible_rowids(&self) -> impl Iterator<Item = i64> + '_ {
        self.visible.keys().copied()
    }

    /// Exact search over the vectors the scope may see.
    pub fn exact(
        &self,
        query: &[f32],
        k: usize,
        tenant: u32,
        principals: &[String],
    ) -> Vec<Neighbour> {
        let mut scored: Vec<Neighbour> = self
            .visible
            .iter()
            .filter(|(_, v)| v.allows(tenant, principals))
            .filter_map(|(id, _)| {
                self.vectors.get(id).map(|v| Neighbour {
                    rowid: *id,
                    similarity: dot(query, v),
                })
            })
            .collect();
        let k = k.min(scored.len());
        if k == 0 {
            return Vec::new();
        }
        scored.select_nth_unstable_by(k - 1, |a, b| {
            b.similarity
                .total_cmp(&a.similarity)
                .then(a.rowid.cmp(&b.rowid))
        });
        scored.truncate(k);
        scored.sort_by(|a, b| {
            b.similarity
                .total_cmp(&a.similarity)
                .then(a.rowid.cmp(&b.rowid))
        });
        scored
    }

    /// Writes the graph next to the database and records what it covers in a manifest.
    pub fn persist(&self, dir: &Path, kb_version: u64) -> Result<()> {
        let old = read_manifest(dir);
        let basename = format!("ann-v{kb_version}");
        let written = self
            .graph
            .file_dump(dir, &basename)
            .map_err(|e| Error::Storage(format!("cannot write the vector index: {e}")))?;
        let m = Manifest {
            basename: written.clone(),
            dimensions: self.dimensions,
            max_rowid: self.max_rowid,
            count: self.in_graph,
            kb_version,
        };
        let tmp = dir.join("ann.json.tmp");
        let json = serde_json::to_vec_pretty(&m).map_err(|e| Error::Internal(e.to_string()))?;
        std::fs::write(&tmp, json)
            .map_err(|e| Error::Storage(format!("cannot write {}: {e}", tmp.display())))?;
        std::fs::rename(&tmp, manifest_path(dir))
            .map_err(|e| Error::Storage(format!("cannot write the vector index manifest: {e}")))?;
        if let Some(old) = old {
            if old.basename != written {
                for f in graph_files(dir, &old.basename) {
                    let _ = std::fs::remove_file(f);
                }
            }
        }
        Ok(())
    }

    /// Loads the persisted graph when its manifest matches the database (same dimensions, no rows
    /// beyond the database's, not newer than the database). Returns `None` when it must be rebuilt.
    pub fn load(
        dir: &Path,
        config: AnnConfig,
        dimensions: usize,
        db_max_rowid: i64,
        db_kb_version: u64,
    ) -> Option<(Self, i64)> {
        let m = read_manifest(dir)?;
        if m.dimensions != dimensions || m.max_rowid > db_max_rowid || m.kb_version > db_kb_version
        {
            tracing::warn!(target: "ragcore::store", "vector index manifest does not match the database; rebuilding");
            return None;
        }
        if !graph_files(dir, &m.basename).iter().all(|f| f.is_file()) {
            tracing::warn!(target: "ragcore::store", "vector index files are missing; rebuilding");
            return None;
        }
        // hnsw_rs's loader asserts on malformed files; a corrupt cache must cost a rebuild,
        // never a crash, so the load runs under catch_unwind.
        let dir_buf = dir.to_path_buf();
        let basename = m.basename.clone();
        let loaded = std::panic::catch_unwind(move || {
            // The graph borrows its loader for its lifetime; the loader is small and lives as long
            // as the process (one per open), which makes the graph 'static.
            let io: &'static mut HnswIo = Box::leak(Box::new(HnswIo::new(&dir_buf, &basename)));
            io.load_hnsw::<f32, DistDot>().ok()
        });
        let mut graph = match loaded {
            Ok(Some(g)) => g,
            _ => {
                tracing::warn!(target: "ragcore::store", "vector index file is unreadable; rebuilding");
                return None;
            }
        };
        if graph.get_nb_point() != m.count {
            return None;
        }
        graph.set_searching_mode(true);
        let flat = FlatGraph::from_hnsw(&graph, dimensions);
        let idx = AnnIndex {
            config,
            dimensions,
            graph: ManuallyDrop::new(graph),
            flat,
            vectors: FxHashMap::default(),
            visible: FxHashMap::default(),
            per_tenant: HashMap::new(),
            per_tenant_acl: HashMap::new(),
            max_rowid: m.max_rowid,
            in_graph: m.count,
        };
        Some((idx, m.max_rowid))
    }

    /// Registers a live row that the loaded graph already contains.
    pub fn adopt(&mut self, rowid: i64, vector: Vec<f32>, vis: Visibility) {
        if let Some(old) = self.visible.remove(&rowid) {
            self.count(&old, -1);
        }
        self.count(&vis, 1);
        self.visible.insert(rowid, vis);
        self.vectors.insert(rowid, vector.into_boxed_slice());
    }
}

/// The widest candidate list a search uses.
const MAX_EF: usize = 4096;

/// Dot product with eight independent accumulators, which the compiler turns into SIMD.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0f32; 8];
    let chunks = n / 8;
    for i in 0..chunks {
        let (x, y) = (&a[i * 8..i * 8 + 8], &b[i * 8..i * 8 + 8]);
        for k in 0..8 {
            acc[k] += x[k] * y[k];
        }
    }
    let mut sum: f32 = acc.iter().sum();
    for i in chunks * 8..n {
        sum += a[i] * b[i];
    }
    sum
}

/// A rayon pool owned by this process. hnsw_rs inserts in parallel on the current rayon pool;
/// the global pool's threads do not survive `fork()`, so a forked child (a Python worker) would
/// wait forever on them. A child gets a pool of its own; the parent's (threadless there) is
/// leaked rather than dropped. `None` (sequential insertion) if no pool can be built.
fn process_pool() -> Option<Arc<rayon::ThreadPool>> {
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

impl Drop for AnnIndex {
    fn drop(&mut self) {
        // hnsw_rs drops its layers in parallel too: do it on this process's pool.
        // SAFETY: `graph` is taken exactly once, here, and never used afterwards.
        let graph = unsafe { ManuallyDrop::take(&mut self.graph) };
        match process_pool() {
            Some(pool) => pool.install(move || drop(graph)),
            None => drop(graph),
        }
    }
}

fn manifest_path(dir: &Path) -> PathBuf {
    dir.join("ann.json")
}

fn graph_files(dir: &Path, basename: &str) -> [PathBuf; 2] {
    [
        dir.join(format!("{basename}.hnsw.graph")),
        dir.join(format!("{basename}.hnsw.data")),
    ]
}

fn read_manifest(dir: &Path) -> Option<Manifest> {
    let bytes = std::fs::read(manifest_path(dir)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Removes the persisted graph (used by tests and by `repair`).
pub(crate) fn remove_persisted(dir: &Path) {
    if let Some(m) = read_manifest(dir) {
        for f in graph_files(dir, &m.basename) {
            let _ = std::fs::remove_file(f);
        }
    }
    let _ = std::fs::remove_file(manifest_path(dir));
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIM: usize = 32;

    /// Deterministic normalised vectors in a few clusters (so neighbours are meaningful).
    fn vectors(n: usize, seed: u64) -> Vec<Vec<f32>> {
        let mut s = seed;
        let mut next = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 11) as f32 / (1u64 << 53) as f32 - 0.5
        };
        let centres: Vec<Vec<f32>> = (0..8).map(|_| (0..DIM).map(|_| next()).collect()).collect();
        (0..n)
            .map(|i| {
                let c = &centres[i % centres.len()];
                let mut v: Vec<f32> = c.iter().map(|x| x + 0.6 * next()).collect();
                let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
                v.iter_mut().for_each(|x| *x /= norm);
                v
            })
            .collect()
    }

    fn vis(tenant: u32, acl: Option<&[&str]>) -> Visibility {
        Visibility {
            tenant,
            acl: acl.map(|a| a.iter().map(|s| s.to_string()).collect::<Vec<_>>().into()),
        }
    }

    /// Forces the graph paths (no exact scan by size) so a small index exercises them.
    fn graph_config() -> AnnConfig {
        AnnConfig {
            exact_max: 0,
            exact_fraction: 0.0,
            walk_cost_per_ef: 0,
            ef_search: 64,
            ..AnnConfig::default()
        }
    }

    fn recall(idx: &AnnIndex, queries: &[Vec<f32>], tenant: u32, principals: &[String]) -> f64 {
        let mut hit = 0;
        let mut total = 0;
        for q in queries {
            let truth: Vec<i64> = idx
                .exact(q, 10, tenant, principals)
                .iter()
                .map(|n| n.rowid)
                .collect();
            let found = idx.search(q, 10, tenant, principals);
            assert_eq!(found.len(), truth.len(), "search returned too few");
            for w in found.windows(2) {
                assert!(w[0].similarity >= w[1].similarity, "not best first");
            }
            total += truth.len();
            hit += found.iter().filter(|n| truth.contains(&n.rowid)).count();
        }
        hit as f64 / total as f64
    }

    #[test]
    fn every_plan_keeps_recall_and_returns_only_visible_rows() {
        let n = 3000;
        let vs = vectors(n, 7);
        // Tenants 1 (60% of the rows), 2 (35%) and 3 (5%) take the filtered walk; rows 0..300
        // of tenant 1 carry an ACL.
        let items: Vec<(i64, Vec<f32>, Visibility)> = vs
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let t = match i % 20 {
                    0..=11 => 1,
                    12..=18 => 2,
                    _ => 3,
                };
                let acl = (t == 1 && i < 300).then_some(&["hr"][..]);
                (i as i64 + 1, v.clone(), vis(t, acl))
            })
            .collect();
        let mut idx = AnnIndex::new(graph_config(), DIM, n);
        idx.insert(items).unwrap();
        let queries = vectors(50, 99);
        let nobody: Vec<String> = Vec::new();
        let hr = vec!["hr".to_string()];
        for (tenant, principals) in [(1, &nobody), (1, &hr), (2, &nobody), (3, &nobody)] {
            let r = recall(&idx, &queries, tenant, principals);
            assert!(r >= 0.95, "tenant {tenant} {principals:?}: recall {r}");
            for q in &queries {
                for hit in idx.search(q, 10, tenant, principals) {
                    let i = (hit.rowid - 1) as usize;
                    assert!(
                        idx.visible[&hit.rowid].allows(tenant, principals),
                        "row {i}"
                    );
                }
            }
        }
        // Tombstones are never returned, whichever plan runs.
        let removed: Vec<i64> = (1..=n as i64).step_by(3).collect();
        idx.remove(&removed);
        for q in &queries {
            for t in [1, 2, 3] {
                for hit in idx.search(q, 10, t, &hr) {
                    assert!(
                        !removed.contains(&hit.rowid),
                        "tombstone {} returned",
                        hit.rowid
                    );
                }
            }
        }
        assert!(recall(&idx, &queries, 1, &hr) >= 0.95);
    }

    #[test]
    fn a_single_tenant_without_acls_is_searched_unfiltered_with_full_recall() {
        let n = 2000;
        let items = vectors(n, 3)
            .into_iter()
            .enumerate()
            .map(|(i, v)| (i as i64 + 1, v, vis(5, None)))
            .collect();
        let mut idx = AnnIndex::new(graph_config(), DIM, n);
        idx.insert(items).unwrap();
        let queries = vectors(40, 11);
        assert!(recall(&idx, &queries, 5, &[]) >= 0.95);
        // Another tenant sees nothing.
        assert!(idx.search(&queries[0], 10, 6, &[]).is_empty());
        // An ACL on one row takes the filtered plans: the row is hidden from others.
        idx.set_visibility(1, vis(5, Some(&["legal"])));
        assert_eq!(idx.per_tenant_acl.get(&5), Some(&1));
        for q in &queries {
            assert!(idx.search(q, 10, 5, &[]).iter().all(|h| h.rowid != 1));
        }
        let q1 = idx.vectors[&1].to_vec();
        let legal = vec!["legal".to_string()];
        assert_eq!(idx.search(&q1, 1, 5, &legal)[0].rowid, 1);
    }

    #[test]
    fn the_planner_scans_exactly_when_a_walk_would_cost_more() {
        let n = 3000;
        let items = vectors(n, 5)
            .into_iter()
            .enumerate()
            .map(|(i, v)| (i as i64 + 1, v, vis(if i % 10 == 0 { 1 } else { 2 }, None)))
            .collect();
        // Default planner: tenant 1 sees 300 rows, fewer than exact_max: exact, same as `exact`.
        let mut idx = AnnIndex::new(AnnConfig::default(), DIM, n);
        idx.insert(items).unwrap();
        for q in vectors(20, 13) {
            assert_eq!(idx.search(&q, 10, 1, &[]), idx.exact(&q, 10, 1, &[]));
        }
    }
}
