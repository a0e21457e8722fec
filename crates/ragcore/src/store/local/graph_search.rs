//! A flat, read-optimised copy of the HNSW graph that hnsw_rs builds, and the beam search over it.
//!
//! Profiling the benchmark (`perf record` on `examples/ann_bench.rs`) showed hnsw_rs's own
//! `search_layer` spending more time on its bookkeeping (an `Arc` allocated per candidate, a
//! SipHash `HashMap` as the visited set, atomic reference counts per neighbour) than on the
//! distances, and its filtered variant never stopping early. This copy keeps the same graph (the
//! same neighbours, so persistence and the graph's recall are hnsw_rs's) as dense arrays: the
//! vectors contiguous, layer 0 as one CSR adjacency of dense `u32` indices, the upper layers per
//! node, and a bitset as the visited set. The search is the standard HNSW one (greedy descent,
//! then a beam of `ef` on layer 0); with a filter, only allowed nodes enter the result list and
//! the walk stops when the nearest candidate is farther than the worst of `ef` allowed results.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use hnsw_rs::prelude::{DistDot, Distance, Hnsw};
use rustc_hash::FxHashMap;

/// Distance (1 - dot) ordered totally, with the dense node index as tie-break.
#[derive(Clone, Copy, PartialEq)]
struct Scored(f32, u32);

impl Eq for Scored {}

impl PartialOrd for Scored {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Scored {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0).then(self.1.cmp(&other.1))
    }
}

/// The flat graph. Node `i` is the `i`-th point; `ids[i]` is its row id.
pub(crate) struct FlatGraph {
    dim: usize,
    ids: Vec<usize>,
    data: Vec<f32>,
    /// Layer 0: neighbours of node `i` are `nb0[off0[i]..off0[i + 1]]`.
    off0: Vec<u32>,
    nb0: Vec<u32>,
    /// Layers 1..: `upper[l - 1][node]` the neighbours on layer `l`.
    upper: Vec<FxHashMap<u32, Vec<u32>>>,
    entry: Option<u32>,
}

impl FlatGraph {
    /// An empty graph (no search finds anything).
    pub fn empty(dim: usize) -> Self {
        FlatGraph {
            dim,
            ids: Vec::new(),
            data: Vec::new(),
            off0: vec![0],
            nb0: Vec::new(),
            upper: Vec::new(),
            entry: None,
        }
    }

    /// Copies the graph of `hnsw` (after inserts, after a load).
    pub fn from_hnsw(hnsw: &Hnsw<'static, f32, DistDot>, dim: usize) -> Self {
        let points: Vec<_> = hnsw.get_point_indexation().into_iter().collect();
        let mut dense: FxHashMap<usize, u32> = FxHashMap::default();
        dense.reserve(points.len());
        for (i, p) in points.iter().enumerate() {
            dense.insert(p.get_origin_id(), i as u32);
        }
        let mut g = FlatGraph::empty(dim);
        g.ids.reserve(points.len());
        g.data.reserve(points.len() * dim);
        g.off0.reserve(points.len());
        let mut top = 0u8;
        for (i, p) in points.iter().enumerate() {
            let v = p.get_v();
            if v.len() != dim {
                return FlatGraph::empty(dim);
            }
            g.ids.push(p.get_origin_id());
            g.data.extend_from_slice(v);
            let level = p.get_point_id().0;
            let neighbourhood = p.get_neighborhood_id();
            for (l, layer) in neighbourhood.iter().enumerate() {
                let nbs = layer.iter().filter_map(|n| dense.get(&n.d_id).copied());
                if l == 0 {
                    g.nb0.extend(nbs);
                } else {
                    while g.upper.len() < l {
                        g.upper.push(FxHashMap::default());
                    }
                    g.upper[l - 1].insert(i as u32, nbs.collect());
                }
            }
            g.off0.push(g.nb0.len() as u32);
            if g.entry.is_none() || level > top {
                top = level;
                g.entry = Some(i as u32);
            }
        }
        g
    }

    /// `1 - dot` through hnsw_rs's SIMD kernel (simdeez: AVX-512 / AVX2 / SSE chosen at run
    /// time), the same the graph was built with.
    #[inline]
    fn dist(&self, q: &[f32], node: u32) -> f32 {
        let i = node as usize * self.dim;
        DistDot.eval(q, &self.data[i..i + self.dim])
    }

    /// The `k` nearest nodes allowed by `allowed` (row id -> bool), as (row id, similarity),
    /// best first.
    pub fn search(
        &self,
        q: &[f32],
        k: usize,
        ef: usize,
        allowed: Option<&dyn Fn(usize) -> bool>,
    ) -> Vec<(usize, f32)> {
        let Some(mut cur) = self.entry else {
            return Vec::new();
        };
        if q.len() != self.dim || k == 0 {
            return Vec::new();
        }
        let ef = ef.max(k);
        let mut cur_d = self.dist(q, cur);
        for layer in self.upper.iter().rev() {
            loop {
                let mut changed = false;
                if let Some(nbs) = layer.get(&cur) {
                    for &n in nbs {
                        let d = self.dist(q, n);
                        if d < cur_d {
                            cur_d = d;
                            cur = n;
                            changed = true;
                        }
                    }
                }
                if !changed {
                    break;
                }
            }
        }
        let n = self.ids.len();
        let mut visited = vec![0u64; n.div_ceil(64)];
        let mut mark = |i: u32| {
            let (w, b) = (i as usize / 64, i as usize % 64);
            let seen = visited[w] & (1 << b) != 0;
            visited[w] |= 1 << b;
            seen
        };
        let ok = |i: u32| allowed.is_none_or(|f| f(self.ids[i as usize]));
        let mut candidates = BinaryHeap::with_capacity(ef * 2);
        let mut results: BinaryHeap<Scored> = BinaryHeap::with_capacity(ef + 1);
        mark(cur);
        candidates.push(Reverse(Scored(cur_d, cur)));
        if ok(cur) {
            results.push(Scored(cur_d, cur));
        }
        while let Some(Reverse(Scored(cd, c))) = candidates.pop() {
            if results.len() >= ef && results.peek().is_some_and(|w| cd > w.0) {
                break;
            }
            let (s, e) = (
                self.off0[c as usize] as usize,
                self.off0[c as usize + 1] as usize,
            );
            for &nb in &self.nb0[s..e] {
                if mark(nb) {
                    continue;
                }
                let d = self.dist(q, nb);
                let worst = results.peek().map_or(f32::INFINITY, |w| w.0);
                if results.len() < ef || d < worst {
                    candidates.push(Reverse(Scored(d, nb)));
                    if ok(nb) {
                        results.push(Scored(d, nb));
                        if results.len() > ef {
                            results.pop();
                        }
                    }
                }
            }
        }
        let mut out = results.into_sorted_vec();
        out.truncate(k);
        out.into_iter()
            .map(|Scored(d, i)| (self.ids[i as usize], 1.0 - d))
            .collect()
    }
}
