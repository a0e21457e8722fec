//! The in-memory approximate-nearest-neighbour index over the chunk vectors (ragcore's own HNSW
//! graph, `hnsw/`), with the visibility table that enforces a [`Scope`] inside the search, an
//! exact scan for small allowed sets, and persistence next to the database.
//!
//! The vectors are held once, in the graph's storage; the exact scan reads them there too. The
//! graph is built lazily: while no tenant has more live vectors than `exact_max` (so every search
//! is an exact scan anyway) an insert only stores vectors and visibility. The insert that makes a
//! tenant cross the limit links every stored vector, and from then on inserts keep the graph
//! linked. Searches walk the graph only when it is complete.
//!
//! SQLite stays the source of truth: the graph file is only a cache for fast start. A manifest
//! records which database rows the file covers; on open the file is loaded only when the manifest
//! agrees with the database, then caught up with newer rows. Anything else rebuilds from SQLite.
//!
//! [`Scope`]: crate::types::Scope

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::hnsw::Graph;
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
    /// Whether a graph file was written (false while the graph is not built yet: open then
    /// re-reads the vectors from the database, which is all a graph-less index holds). Manifests
    /// of the former hnsw_rs format lack it and are rebuilt.
    #[serde(default)]
    graph: bool,
}

/// The vector index of one knowledge base.
pub struct AnnIndex {
    config: AnnConfig,
    dimensions: usize,
    /// The vectors (once) and the HNSW graph over them.
    graph: Graph,
    /// Node of every stored row id (tombstones included).
    node_of: FxHashMap<i64, u32>,
    /// Visibility by node; `None` for a removed row (a tombstone, never returned). Looked up
    /// for every node a filtered walk visits, hence indexed by node.
    visible: Vec<Option<Visibility>>,
    /// Number of live rows.
    live: usize,
    /// Count of live vectors per tenant, for the planner.
    per_tenant: HashMap<u32, usize>,
    /// Count of live vectors per tenant that carry an ACL: a tenant without any, owning every
    /// vector of the graph, is searched without a filter.
    per_tenant_acl: HashMap<u32, usize>,
    max_rowid: i64,
    /// Whether the graph is kept linked (set once a tenant holds more than `exact_max` vectors).
    graph_on: bool,
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
        let mut graph = Graph::new(dimensions, config.max_connections, config.ef_construction);
        graph.reserve(expected);
        AnnIndex {
            config,
            dimensions,
            graph,
            node_of: FxHashMap::default(),
            visible: Vec::with_capacity(expected),
            live: 0,
            per_tenant: HashMap::new(),
            per_tenant_acl: HashMap::new(),
            max_rowid: 0,
            graph_on: false,
        }
    }

    /// Vectors stored in the index, tombstones included.
    pub fn graph_len(&self) -> usize {
        self.graph.len()
    }

    /// Whether the HNSW graph is built and covers every stored vector (otherwise every search
    /// is an exact scan).
    pub fn graph_built(&self) -> bool {
        self.graph_on && self.graph.linked() == self.graph.len()
    }

    /// Sets the search-time candidate list size (the recall / speed trade-off).
    pub fn set_ef_search(&mut self, ef_search: usize) {
        self.config.ef_search = ef_search.max(1);
    }

    /// Adds vectors (already normalised) with their visibility. Row ids must be new (a row id
    /// already stored is replaced: its old vector becomes a tombstone).
    pub fn insert(&mut self, items: Vec<(i64, Vec<f32>, Visibility)>) -> Result<()> {
        if items.is_empty() {
            return Ok(());
        }
        for (rowid, v, _) in &items {
            if v.len() != self.dimensions {
                return Err(Error::Internal(format!(
                    "vector index: vector of row {rowid} has {} dims, index has {}",
                    v.len(),
                    self.dimensions
                )));
            }
        }
        if self.graph.len() + items.len() >= u32::MAX as usize {
            return Err(Error::Internal(
                "vector index: more than 4 billion vectors".into(),
            ));
        }
        self.graph.reserve(items.len());
        self.visible.reserve(items.len());
        for (rowid, v, vis) in items {
            self.remove(&[rowid]);
            let node = self.graph.push(rowid, &v);
            self.node_of.insert(rowid, node);
            self.max_rowid = self.max_rowid.max(rowid);
            self.count(&vis, 1);
            self.visible.push(Some(vis));
        }
        if !self.graph_on && self.per_tenant.values().any(|&n| n > self.config.exact_max) {
            self.graph_on = true;
        }
        if self.graph_on {
            self.graph.link_pending();
        }
        Ok(())
    }

    /// Marks rows as removed: they stay in the graph as tombstones but are never returned.
    pub fn remove(&mut self, rowids: &[i64]) {
        for id in rowids {
            let Some(&node) = self.node_of.get(id) else {
                continue;
            };
            if let Some(vis) = self.visible.get_mut(node as usize).and_then(Option::take) {
                self.count(&vis, -1);
            }
        }
    }

    /// Rebuilds the graph from the live vectors when tombstones (removed chunks still in the
    /// graph) exceed `compact_fraction` of it, so deletions give memory and speed back. Returns
    /// whether it compacted.
    pub fn compact_if_needed(&mut self) -> Result<bool> {
        let stored = self.graph.len();
        let dead = stored.saturating_sub(self.live);
        if stored < 64 || (dead as f32) <= self.config.compact_fraction * stored as f32 {
            return Ok(false);
        }
        let mut items: Vec<(i64, Vec<f32>, Visibility)> = Vec::with_capacity(self.live);
        for (node, vis) in self.visible.iter().enumerate() {
            if let (Some(vis), Some(&rowid)) = (vis, self.graph.ids().get(node)) {
                items.push((rowid, self.graph.vector(node).to_vec(), vis.clone()));
            }
        }
        items.sort_by_key(|i| i.0);
        let mut fresh = AnnIndex::new(self.config, self.dimensions, items.len());
        fresh.insert(items)?;
        fresh.max_rowid = fresh.max_rowid.max(self.max_rowid);
        tracing::info!(target: "ragcore::store", tombstones = dead, live = fresh.live, "vector index compacted");
        std::mem::swap(self, &mut fresh);
        Ok(true)
    }

    /// Updates the ACL of live rows (when a document's ACL changes without its text changing).
    pub fn set_visibility(&mut self, rowid: i64, vis: Visibility) {
        let Some(&node) = self.node_of.get(&rowid) else {
            return;
        };
        let old = match self.visible.get_mut(node as usize) {
            Some(slot) if slot.is_some() => slot.replace(vis.clone()),
            _ => None,
        };
        if let Some(old) = old {
            self.count(&old, -1);
            self.count(&vis, 1);
        }
    }

    /// Adds (`delta` 1) or removes (-1) one live vector from the planner's counts.
    fn count(&mut self, vis: &Visibility, delta: isize) {
        let bump = |n: &mut usize| *n = n.saturating_add_signed(delta);
        bump(&mut self.live);
        bump(self.per_tenant.entry(vis.tenant).or_insert(0));
        if vis.acl.is_some() {
            bump(self.per_tenant_acl.entry(vis.tenant).or_insert(0));
        }
    }

    /// The visibility of a live row.
    fn visibility(&self, rowid: i64) -> Option<&Visibility> {
        let node = *self.node_of.get(&rowid)?;
        self.visible.get(node as usize)?.as_ref()
    }

    /// The `k` nearest visible vectors for a scope, best first.
    ///
    /// The planner, cheapest first:
    /// - *exact*: while the graph is not built, when the scope sees few vectors (`exact_max`,
    ///   `exact_fraction`) or when a scan of them costs fewer distance evaluations than the
    ///   graph walk would (`ef × walk_cost_per_ef`, with `ef` widened by 1/sqrt of the share the
    ///   scope sees);
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
        let stored = self.graph.len();
        let share = tenant_total as f32 / stored.max(1) as f32;
        let base_ef = self.config.ef_search.max(2 * k);
        // Only visible rows enter a filtered walk's results, so its `ef` needs widening only for
        // the graph's connectivity through invisible rows: by 1/sqrt(share).
        let ef = ((base_ef as f32 / share.max(0.0025).sqrt()).ceil() as usize).min(MAX_EF);
        let walk_cost = ef.saturating_mul(self.config.walk_cost_per_ef);
        if !self.graph_built()
            || tenant_total <= self.config.exact_max
            || share < self.config.exact_fraction
            || tenant_total <= walk_cost
        {
            return self.exact(query, k, tenant, principals);
        }
        let acl_rows = self.per_tenant_acl.get(&tenant).copied().unwrap_or(0);
        let allowed = |node: u32| {
            self.visible
                .get(node as usize)
                .and_then(Option::as_ref)
                .is_some_and(|v| v.allows(tenant, principals))
        };
        let found = if tenant_total == stored && acl_rows == 0 {
            // Every vector in the graph is live and this tenant's: nothing to filter.
            self.graph.search(query, k, base_ef, None)
        } else {
            self.graph.search(query, k, ef, Some(&allowed))
        };
        let ids = self.graph.ids();
        found
            .into_iter()
            .filter_map(|(node, similarity)| {
                ids.get(node as usize)
                    .map(|&rowid| Neighbour { rowid, similarity })
            })
            .collect()
    }

    /// Whether a row is live in the index.
    pub fn is_visible(&self, rowid: i64) -> bool {
        self.visibility(rowid).is_some()
    }

    /// Row ids the index can return.
    pub fn visible_rowids(&self) -> impl Iterator<Item = i64> + '_ {
        self.visible
            .iter()
            .zip(self.graph.ids())
            .filter_map(|(v, &id)| v.as_ref().map(|_| id))
    }

    /// Exact search over the vectors the scope may see.
    pub fn exact(
        &self,
        query: &[f32],
        k: usize,
        tenant: u32,
        principals: &[String],
    ) -> Vec<Neighbour> {
        if query.len() != self.dimensions {
            return Vec::new();
        }
        let ids = self.graph.ids();
        let mut scored: Vec<Neighbour> = self
            .visible
            .iter()
            .enumerate()
            .filter(|(_, v)| v.as_ref().is_some_and(|v| v.allows(tenant, principals)))
            .filter_map(|(node, _)| {
                ids.get(node).map(|&rowid| Neighbour {
                    rowid,
                    similarity: self.graph.dot(query, node),
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

    /// Writes the graph next to the database (when it is built) and records what it covers in a
    /// manifest. A graph-less index writes only the manifest: its vectors are in the database.
    pub fn persist(&self, dir: &Path, kb_version: u64) -> Result<()> {
        let old = read_manifest(dir);
        let basename = format!("ann-v{kb_version}");
        let with_graph = self.graph_built();
        if with_graph {
            let path = graph_path(dir, &basename);
            self.graph.write_file(&path).map_err(|e| {
                Error::Storage(format!(
                    "cannot write the vector index {}: {e}",
                    path.display()
                ))
            })?;
        }
        let m = Manifest {
            basename: basename.clone(),
            dimensions: self.dimensions,
            max_rowid: self.max_rowid,
            count: self.graph.len(),
            kb_version,
            graph: with_graph,
        };
        let tmp = dir.join("ann.json.tmp");
        let json = serde_json::to_vec_pretty(&m).map_err(|e| Error::Internal(e.to_string()))?;
        std::fs::write(&tmp, json)
            .map_err(|e| Error::Storage(format!("cannot write {}: {e}", tmp.display())))?;
        std::fs::rename(&tmp, manifest_path(dir))
            .map_err(|e| Error::Storage(format!("cannot write the vector index manifest: {e}")))?;
        if let Some(old) = old {
            if old.basename != basename || !with_graph {
                for f in graph_files(dir, &old.basename) {
                    let _ = std::fs::remove_file(f);
                }
            }
        }
        Ok(())
    }

    /// Loads the persisted graph when its manifest matches the database (same dimensions, no rows
    /// beyond the database's, not newer than the database) and the file is intact. Returns
    /// `None` when it must be rebuilt. Rows are registered as live with [`AnnIndex::adopt`].
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
        if !m.graph {
            // Nothing but the manifest was written: the vectors come from the database.
            return None;
        }
        let path = graph_path(dir, &m.basename);
        let Some(graph) = Graph::read_file(&path, dimensions) else {
            tracing::warn!(target: "ragcore::store", file = %path.display(), "vector index file is missing or unreadable; rebuilding");
            return None;
        };
        if graph.len() != m.count {
            tracing::warn!(target: "ragcore::store", "vector index file does not match its manifest; rebuilding");
            return None;
        }
        let mut node_of = FxHashMap::default();
        node_of.reserve(graph.len());
        for (node, &id) in graph.ids().iter().enumerate() {
            if node_of.insert(id, node as u32).is_some() || id > m.max_rowid {
                tracing::warn!(target: "ragcore::store", "vector index file has inconsistent row ids; rebuilding");
                return None;
            }
        }
        let n = graph.len();
        let idx = AnnIndex {
            config,
            dimensions,
            graph,
            node_of,
            visible: vec![None; n],
            live: 0,
            per_tenant: HashMap::new(),
            per_tenant_acl: HashMap::new(),
            max_rowid: m.max_rowid,
            graph_on: true,
        };
        Some((idx, m.max_rowid))
    }

    /// Registers a live row that the loaded graph already contains (a row it lacks is inserted).
    pub fn adopt(&mut self, rowid: i64, vector: Vec<f32>, vis: Visibility) {
        let Some(&node) = self.node_of.get(&rowid) else {
            if let Err(e) = self.insert(vec![(rowid, vector, vis)]) {
                tracing::warn!(target: "ragcore::store", "vector index: cannot adopt row {rowid}: {e}");
            }
            return;
        };
        let old = match self.visible.get_mut(node as usize) {
            Some(slot) => slot.replace(vis.clone()),
            None => return,
        };
        if let Some(old) = old {
            self.count(&old, -1);
        }
        self.count(&vis, 1);
    }
}

/// The widest candidate list a search uses.
const MAX_EF: usize = 4096;

fn manifest_path(dir: &Path) -> PathBuf {
    dir.join("ann.json")
}

/// The graph file of a manifest's basename.
fn graph_path(dir: &Path, basename: &str) -> PathBuf {
    dir.join(format!("{basename}.hnsw.rc"))
}

/// Every file a manifest's basename may name: this format's, and the former hnsw_rs pair.
fn graph_files(dir: &Path, basename: &str) -> [PathBuf; 3] {
    [
        graph_path(dir, basename),
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
                        idx.visibility(hit.rowid)
                            .is_some_and(|v| v.allows(tenant, principals)),
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
        let q1 = idx.graph.vector(0).to_vec();
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

    fn items(
        vs: &[Vec<f32>],
        first: i64,
        tenant: impl Fn(usize) -> u32,
    ) -> Vec<(i64, Vec<f32>, Visibility)> {
        vs.iter()
            .enumerate()
            .map(|(i, v)| (first + i as i64, v.clone(), vis(tenant(i), None)))
            .collect()
    }

    #[test]
    fn the_graph_is_built_exactly_when_a_tenant_crosses_the_exact_scan_limit() {
        let config = AnnConfig {
            exact_max: 500,
            exact_fraction: 0.0,
            walk_cost_per_ef: 0,
            ef_search: 64,
            ..AnnConfig::default()
        };
        let mut idx = AnnIndex::new(config, DIM, 0);
        let queries = vectors(30, 17);
        // Two tenants of 400 and 100 rows: every search is exact, no graph is built.
        let vs = vectors(500, 21);
        idx.insert(items(&vs, 1, |i| if i < 400 { 1 } else { 2 }))
            .unwrap();
        assert!(!idx.graph_built());
        assert_eq!(idx.graph.linked(), 0);
        for q in &queries {
            assert_eq!(idx.search(q, 10, 1, &[]), idx.exact(q, 10, 1, &[]));
            assert_eq!(idx.search(q, 10, 2, &[]), idx.exact(q, 10, 2, &[]));
        }
        // 100 more rows for tenant 1: exactly at the limit, still no graph.
        idx.insert(items(&vectors(100, 22), 501, |_| 1)).unwrap();
        assert!(!idx.graph_built());
        // One more: tenant 1 crosses the limit, every stored row is linked.
        idx.insert(items(&vectors(1, 23), 601, |_| 1)).unwrap();
        assert!(idx.graph_built());
        assert_eq!(idx.graph.linked(), 601);
        assert!(recall(&idx, &queries, 1, &[]) >= 0.95);
        // From then on inserts keep the graph complete.
        idx.insert(items(&vectors(200, 24), 602, |_| 2)).unwrap();
        assert!(idx.graph_built());
        assert_eq!(idx.graph.linked(), 801);
        assert!(recall(&idx, &queries, 1, &[]) >= 0.95);
        for q in &queries {
            // Tenant 2 (300 rows) is below the limit: exact.
            assert_eq!(idx.search(q, 10, 2, &[]), idx.exact(q, 10, 2, &[]));
        }
    }

    #[test]
    fn persist_then_load_gives_identical_search_results() {
        let dir = tempfile::tempdir().unwrap();
        let vs = vectors(2500, 31);
        let mut idx = AnnIndex::new(graph_config(), DIM, vs.len());
        idx.insert(items(&vs, 1, |i| (i % 3) as u32)).unwrap();
        idx.remove(&[5, 6, 7]);
        idx.persist(dir.path(), 4).unwrap();
        let (mut back, covered) = AnnIndex::load(dir.path(), graph_config(), DIM, 2500, 4).unwrap();
        assert_eq!(covered, 2500);
        for (i, v) in vs.iter().enumerate() {
            let rowid = i as i64 + 1;
            if ![5, 6, 7].contains(&rowid) {
                back.adopt(rowid, v.clone(), vis((i % 3) as u32, None));
            }
        }
        for q in vectors(30, 32) {
            for t in 0..3 {
                assert_eq!(back.search(&q, 10, t, &[]), idx.search(&q, 10, t, &[]));
            }
        }
        // A database older than the file, or other dimensions: rebuild.
        assert!(AnnIndex::load(dir.path(), graph_config(), DIM, 2499, 4).is_none());
        assert!(AnnIndex::load(dir.path(), graph_config(), DIM, 2500, 3).is_none());
        assert!(AnnIndex::load(dir.path(), graph_config(), DIM + 1, 2500, 4).is_none());
        // A corrupted or truncated graph file: rebuild, no panic.
        let file = graph_path(dir.path(), "ann-v4");
        let good = std::fs::read(&file).unwrap();
        std::fs::write(&file, &good[..good.len() / 3]).unwrap();
        assert!(AnnIndex::load(dir.path(), graph_config(), DIM, 2500, 4).is_none());
        std::fs::write(&file, b"garbage").unwrap();
        assert!(AnnIndex::load(dir.path(), graph_config(), DIM, 2500, 4).is_none());
        // A newer persist replaces the file of the old version.
        idx.persist(dir.path(), 5).unwrap();
        assert!(!file.exists());
        assert!(graph_path(dir.path(), "ann-v5").exists());
    }

    #[test]
    fn an_index_without_a_graph_persists_only_its_manifest() {
        let dir = tempfile::tempdir().unwrap();
        let mut idx = AnnIndex::new(AnnConfig::default(), DIM, 0);
        idx.insert(items(&vectors(300, 41), 1, |_| 1)).unwrap();
        assert!(!idx.graph_built());
        idx.persist(dir.path(), 1).unwrap();
        assert!(manifest_path(dir.path()).exists());
        assert!(!graph_path(dir.path(), "ann-v1").exists());
        assert!(AnnIndex::load(dir.path(), AnnConfig::default(), DIM, 300, 1).is_none());
        remove_persisted(dir.path());
        assert!(!manifest_path(dir.path()).exists());
    }

    #[test]
    fn compaction_drops_tombstones_and_keeps_results() {
        let vs = vectors(1000, 51);
        let mut idx = AnnIndex::new(graph_config(), DIM, vs.len());
        idx.insert(items(&vs, 1, |_| 1)).unwrap();
        let removed: Vec<i64> = (1..=400).collect();
        idx.remove(&removed);
        assert!(idx.compact_if_needed().unwrap());
        assert_eq!(idx.graph_len(), 600);
        assert!(idx.graph_built());
        let queries = vectors(30, 52);
        assert!(recall(&idx, &queries, 1, &[]) >= 0.95);
        for q in &queries {
            assert!(idx.search(q, 10, 1, &[]).iter().all(|h| h.rowid > 400));
        }
    }
}
