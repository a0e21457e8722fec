//! ragcore's own HNSW graph (Malkov & Yashunin), built for this store: one structure that is both
//! built and searched, with the vectors held once.
//!
//! Why not a crate: the benchmark (`docs/benchmarks-ann.md`) profiled hnsw_rs, the crate this
//! store used before. Its graph needed twice hnswlib's `ef` for the same recall (its neighbour
//! selection keeps near-duplicates), its insert spent its time in `Arc`s, SipHash maps and
//! `RwLock`s, and searching needed a second, flat copy of the graph (three copies of the vectors
//! in all). This graph follows hnswlib's algorithm instead:
//!
//! - vectors in one contiguous `Vec<f32>`, node `i` being row `ids[i]`;
//! - layer 0 as fixed-stride neighbour lists (`2M` slots + a count) in one array, upper layers
//!   (`M` slots each) per node; a node's level is `floor(-ln U / ln M)`;
//! - **hnswlib's neighbour-selection heuristic**: a candidate is kept only when it is closer to
//!   the new node than to every neighbour already kept, both when a node is linked and when a
//!   full neighbour list is pruned; links are bidirectional;
//! - a batch is inserted in parallel on rayon, one spin lock per node guarding its lists; the
//!   slots are `AtomicU32` read with relaxed loads (plain loads on x86), so a walk that runs
//!   while another thread rewrites a list reads old or new indices, never torn memory;
//! - a walk marks visited nodes in a per-thread epoch array (`visited.rs`), keeps its candidates
//!   and results in binary heaps of packed `(distance, node)` keys, prefetches the vectors of the
//!   neighbours it is about to score and uses an AVX2/FMA dot product (`distance.rs`).
//!
//! Nodes can be appended without being linked (`push`); `link_pending` links all of them. The
//! index above (`ann.rs`) uses that to skip building a graph while every search is an exact scan.

mod distance;
mod persist;
mod visited;

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

use rayon::prelude::*;

use distance::{prefetch, DotFn};
use visited::{with_visited, Visited};

/// Highest level a node can get (a level above ~6 is already improbable for a million nodes).
const MAX_LEVEL: u8 = 15;
/// The entry point before the first node is linked.
const NO_ENTRY: u64 = u64::MAX;
/// Batches at least this large are linked in parallel.
const PARALLEL_MIN: usize = 64;

/// A spin lock guarding one node's neighbour lists while they are rewritten.
struct NodeLock(AtomicBool);

struct NodeGuard<'a>(&'a NodeLock);

impl NodeLock {
    fn new() -> Self {
        NodeLock(AtomicBool::new(false))
    }

    fn lock(&self) -> NodeGuard<'_> {
        let mut spins = 0u32;
        loop {
            if self
                .0
                .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
            {
                return NodeGuard(self);
            }
            while self.0.load(Ordering::Relaxed) {
                spins += 1;
                if spins % 64 == 0 {
                    // The holder may be descheduled on a loaded machine: let it run.
                    std::thread::yield_now();
                } else {
                    std::hint::spin_loop();
                }
            }
        }
    }
}

impl Drop for NodeGuard<'_> {
    fn drop(&mut self) {
        self.0 .0.store(false, Ordering::Release);
    }
}

/// Orders distances as unsigned integers (a total order; negative distances sort first).
#[inline(always)]
fn ord_bits(d: f32) -> u32 {
    let b = d.to_bits();
    if b & 0x8000_0000 != 0 {
        !b
    } else {
        b | 0x8000_0000
    }
}

#[inline(always)]
fn from_ord_bits(b: u32) -> f32 {
    f32::from_bits(if b & 0x8000_0000 != 0 {
        b & 0x7fff_ffff
    } else {
        !b
    })
}

/// `(distance, node)` packed so that integer order is distance order, node as tie-break.
#[inline(always)]
fn key(d: f32, node: u32) -> u64 {
    (u64::from(ord_bits(d)) << 32) | u64::from(node)
}

#[inline(always)]
fn unkey(k: u64) -> (f32, u32) {
    (from_ord_bits((k >> 32) as u32), k as u32)
}

fn pack_entry(node: u32, level: u8) -> u64 {
    (u64::from(level) << 32) | u64::from(node)
}

fn unpack_entry(p: u64) -> (u32, u8) {
    (p as u32, (p >> 32) as u8)
}

/// The level of node `i`: `floor(-ln U * ml)` with `U` from a hash of the node index, so a
/// rebuild of the same rows gives the same levels.
fn level_for(node: usize, ml: f64) -> u8 {
    let mut x = (node as u64) ^ 0x9e37_79b9_7f4a_7c15;
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^= x >> 31;
    let u = ((x >> 11) as f64 + 1.0) / (1u64 << 53) as f64;
    let l = (-u.ln() * ml).floor();
    if l >= f64::from(MAX_LEVEL) {
        MAX_LEVEL
    } else {
        l.max(0.0) as u8
    }
}

/// The HNSW graph and the vectors it indexes.
pub(crate) struct Graph {
    dim: usize,
    /// Neighbours per node on the upper layers (M); layer 0 has `m0 = 2M`.
    m: usize,
    m0: usize,
    ef_construction: usize,
    /// Node `i`'s vector is `data[i * dim..(i + 1) * dim]`.
    data: Vec<f32>,
    ids: Vec<i64>,
    levels: Vec<u8>,
    /// Layer 0: node `i` owns `layer0[i * (m0 + 1)..]`: a count, then `m0` slots.
    layer0: Vec<AtomicU32>,
    /// Layers 1..=level of node `i`: `upper[i][(l - 1) * (m + 1)..]`, a count then `m` slots.
    upper: Vec<Box<[AtomicU32]>>,
    locks: Vec<NodeLock>,
    /// Nodes `0..linked` are in the graph; the rest were pushed and wait for `link_pending`.
    linked: usize,
    /// Entry point and top level, packed (`NO_ENTRY` when empty).
    entry: AtomicU64,
    dot: DotFn,
}

impl Graph {
    /// An empty graph for `dim`-d vectors with `m` neighbours per node.
    pub fn new(dim: usize, m: usize, ef_construction: usize) -> Self {
        let m = m.clamp(2, 255);
        Graph {
            dim,
            m,
            m0: 2 * m,
            ef_construction: ef_construction.max(m),
            data: Vec::new(),
            ids: Vec::new(),
            levels: Vec::new(),
            layer0: Vec::new(),
            upper: Vec::new(),
            locks: Vec::new(),
            linked: 0,
            entry: AtomicU64::new(NO_ENTRY),
            dot: distance::select(),
        }
    }

    /// Nodes stored (linked or not).
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Nodes linked into the graph.
    pub fn linked(&self) -> usize {
        self.linked
    }

    /// Row id of every node, by node index.
    pub fn ids(&self) -> &[i64] {
        &self.ids
    }

    /// The vector of `node` (empty for an unknown node).
    #[inline(always)]
    pub fn vector(&self, node: usize) -> &[f32] {
        self.data
            .get(node * self.dim..(node + 1) * self.dim)
            .unwrap_or(&[])
    }

    /// Inner product of `q` with the vector of `node`.
    #[inline(always)]
    pub fn dot(&self, q: &[f32], node: usize) -> f32 {
        (self.dot)(q, self.vector(node))
    }

    #[inline(always)]
    fn dist(&self, q: &[f32], node: u32) -> f32 {
        1.0 - self.dot(q, node as usize)
    }

    /// Reserves room for `additional` more nodes.
    pub fn reserve(&mut self, additional: usize) {
        self.data.reserve_exact(additional * self.dim);
        self.ids.reserve_exact(additional);
        self.levels.reserve_exact(additional);
        self.layer0.reserve_exact(additional * (self.m0 + 1));
        self.upper.reserve_exact(additional);
        self.locks.reserve_exact(additional);
    }

    /// Appends a node without linking it; returns its index. `v` must have `dim` values.
    pub fn push(&mut self, id: i64, v: &[f32]) -> u32 {
        let node = self.ids.len();
        let level = level_for(node, 1.0 / (self.m as f64).ln());
        self.data.extend_from_slice(v);
        self.ids.push(id);
        self.levels.push(level);
        self.layer0
            .extend((0..self.m0 + 1).map(|_| AtomicU32::new(0)));
        self.upper.push(
            (0..usize::from(level) * (self.m + 1))
                .map(|_| AtomicU32::new(0))
                .collect(),
        );
        self.locks.push(NodeLock::new());
        node as u32
    }

    /// The count-and-slots list of `node` on `layer` (empty when the node has no such layer).
    #[inline(always)]
    fn list(&self, node: u32, layer: u8) -> &[AtomicU32] {
        if layer == 0 {
            let b = node as usize * (self.m0 + 1);
            self.layer0.get(b..b + self.m0 + 1).unwrap_or(&[])
        } else {
            let b = (usize::from(layer) - 1) * (self.m + 1);
            self.upper
                .get(node as usize)
                .and_then(|u| u.get(b..b + self.m + 1))
                .unwrap_or(&[])
        }
    }

    /// The neighbour slots in use in a list.
    #[inline(always)]
    fn slots(list: &[AtomicU32]) -> &[AtomicU32] {
        match list.split_first() {
            Some((count, rest)) => {
                let n = (count.load(Ordering::Relaxed) as usize).min(rest.len());
                &rest[..n]
            }
            None => &[],
        }
    }

    /// Links every pushed node into the graph (in parallel for a large batch).
    pub fn link_pending(&mut self) {
        let (start, end) = (self.linked, self.len());
        if start >= end {
            return;
        }
        let this = &*self;
        if end - start < PARALLEL_MIN {
            (start..end).for_each(|i| this.insert_node(i as u32));
        } else if rayon::current_thread_index().is_some() {
            // Already on a pool (the caller's): use it.
            (start..end)
                .into_par_iter()
                .for_each(|i| this.insert_node(i as u32));
        } else {
            match crate::parallel::pool() {
                Some(pool) => pool.install(|| {
                    (start..end)
                        .into_par_iter()
                        .for_each(|i| this.insert_node(i as u32))
                }),
                None => (start..end).for_each(|i| this.insert_node(i as u32)),
            }
        }
        self.linked = end;
        self.link_orphans();
    }

    /// Makes every linked node reachable from the entry point again. Pruning a full list can
    /// drop a node from all the lists that held it, and a parallel build can leave a small
    /// group that only links to itself (tight clusters do both), which searches could then
    /// never return. Each round finds the nodes a walk from the entry point (over every layer)
    /// does not reach and links each one into the layer-0 list of its nearest reachable
    /// neighbour: into a free slot, or in place of the farthest entry that other lists also
    /// hold. A group with no reachable neighbour at all gets one link from the nearest
    /// reachable node. Runs after a batch, single threaded: O(nodes × 2M) per round, a few
    /// rounds at most.
    fn link_orphans(&self) {
        const ROUNDS: usize = 8;
        let n = self.linked;
        for _ in 0..ROUNDS {
            let reached = self.reachable(n);
            let lost: Vec<u32> = (0..n as u32).filter(|&u| !reached[u as usize]).collect();
            if lost.is_empty() {
                return;
            }
            let mut incoming = vec![0u32; n];
            for node in 0..n as u32 {
                for s in Self::slots(self.list(node, 0)) {
                    if let Some(c) = incoming.get_mut(s.load(Ordering::Relaxed) as usize) {
                        *c += 1;
                    }
                }
            }
            let mut linked_any = false;
            for &u in &lost {
                let own: Vec<u32> = Self::slots(self.list(u, 0))
                    .iter()
                    .map(|s| s.load(Ordering::Relaxed))
                    .filter(|&h| reached.get(h as usize).copied().unwrap_or(false))
                    .collect();
                let host = own
                    .iter()
                    .copied()
                    .find(|&h| Self::slots(self.list(h, 0)).len() < self.m0)
                    .or_else(|| own.first().copied());
                if let Some(h) = host {
                    self.reconnect(h, u, &mut incoming);
                    linked_any = true;
                }
            }
            if !linked_any {
                // The lost nodes only link among themselves: connect the first one.
                let u = lost[0];
                let base = self.vector(u as usize);
                let nearest = (0..n as u32)
                    .filter(|&h| reached[h as usize])
                    .map(|h| (self.dist(base, h), h))
                    .min_by(|a, b| a.0.total_cmp(&b.0))
                    .map(|(_, h)| h);
                match nearest {
                    Some(h) => self.reconnect(h, u, &mut incoming),
                    None => return,
                }
            }
        }
    }

    /// Which of the first `n` nodes a walk from the entry point over every layer reaches.
    fn reachable(&self, n: usize) -> Vec<bool> {
        let mut seen = vec![false; n];
        let (entry, _) = unpack_entry(self.entry.load(Ordering::Acquire));
        if (entry as usize) >= n {
            return seen;
        }
        seen[entry as usize] = true;
        let mut stack = vec![entry];
        while let Some(node) = stack.pop() {
            let top = self.levels.get(node as usize).copied().unwrap_or(0);
            for layer in 0..=top {
                for s in Self::slots(self.list(node, layer)) {
                    let nb = s.load(Ordering::Relaxed) as usize;
                    if nb < n && !seen[nb] {
                        seen[nb] = true;
                        stack.push(nb as u32);
                    }
                }
            }
        }
        seen
    }

    /// Adds `node` to `host`'s layer-0 list: into a free slot, or in place of the farthest
    /// entry that is held by another list too (the farthest of all when none is).
    fn reconnect(&self, host: u32, node: u32, incoming: &mut [u32]) {
        let list = self.list(host, 0);
        let Some((count, slots)) = list.split_first() else {
            return;
        };
        let used = (count.load(Ordering::Relaxed) as usize).min(slots.len());
        if slots[..used]
            .iter()
            .any(|s| s.load(Ordering::Relaxed) == node)
        {
            return;
        }
        if used < slots.len() {
            slots[used].store(node, Ordering::Relaxed);
            count.store(used as u32 + 1, Ordering::Release);
        } else {
            let base = self.vector(host as usize);
            let pick = |shared_only: bool| {
                slots
                    .iter()
                    .enumerate()
                    .map(|(i, s)| (s.load(Ordering::Relaxed), i))
                    .filter(|(e, _)| {
                        !shared_only || incoming.get(*e as usize).is_some_and(|&c| c >= 2)
                    })
                    .map(|(e, i)| (self.dist(base, e), i, e))
                    .max_by(|a, b| a.0.total_cmp(&b.0))
            };
            if let Some((_, i, evicted)) = pick(true).or_else(|| pick(false)) {
                slots[i].store(node, Ordering::Relaxed);
                if let Some(c) = incoming.get_mut(evicted as usize) {
                    *c = c.saturating_sub(1);
                }
            }
        }
        if let Some(c) = incoming.get_mut(node as usize) {
            *c += 1;
        }
    }

    /// Greedy descent on one upper layer: the nearest node reachable from `cur`.
    fn greedy(&self, q: &[f32], mut cur: u32, mut cur_d: f32, layer: u8) -> (u32, f32) {
        let n = self.len() as u32;
        loop {
            let mut changed = false;
            for slot in Self::slots(self.list(cur, layer)) {
                let nb = slot.load(Ordering::Relaxed);
                if nb >= n {
                    continue;
                }
                let d = self.dist(q, nb);
                if d < cur_d {
                    cur_d = d;
                    cur = nb;
                    changed = true;
                }
            }
            if !changed {
                return (cur, cur_d);
            }
        }
    }

    /// Beam search of width `ef` on one layer from `entry`. With a filter, only allowed nodes
    /// enter the results (others are still walked through), and the walk stops once `ef` allowed
    /// results are nearer than the nearest candidate. Returns the result keys, nearest first.
    fn search_layer(
        &self,
        q: &[f32],
        entry: (f32, u32),
        ef: usize,
        layer: u8,
        filter: Option<&dyn Fn(u32) -> bool>,
        visited: &mut Visited,
    ) -> Vec<u64> {
        let n = self.len() as u32;
        let ok = |node: u32| filter.is_none_or(|f| f(node));
        let mut candidates: BinaryHeap<Reverse<u64>> = BinaryHeap::with_capacity(ef * 2);
        let mut results: BinaryHeap<u64> = BinaryHeap::with_capacity(ef + 1);
        let lines = (self.dim * 4).div_ceil(64);
        let mut fresh: Vec<u32> = Vec::with_capacity(self.m0);
        let (d0, e) = entry;
        visited.mark(e);
        candidates.push(Reverse(key(d0, e)));
        if ok(e) {
            results.push(key(d0, e));
        }
        while let Some(Reverse(ck)) = candidates.pop() {
            if results.len() >= ef && results.peek().is_some_and(|&w| ck > w) {
                break;
            }
            fresh.clear();
            for slot in Self::slots(self.list(ck as u32, layer)) {
                let nb = slot.load(Ordering::Relaxed);
                if nb < n && !visited.mark(nb) {
                    prefetch(self.vector(nb as usize), 1);
                    fresh.push(nb);
                }
            }
            for (i, &nb) in fresh.iter().enumerate() {
                if let Some(&next) = fresh.get(i + 1) {
                    prefetch(self.vector(next as usize), lines);
                }
                let k = key(self.dist(q, nb), nb);
                if results.len() < ef || results.peek().is_some_and(|&w| k < w) {
                    candidates.push(Reverse(k));
                    if ok(nb) {
                        results.push(k);
                        if results.len() > ef {
                            results.pop();
                        }
                    }
                }
            }
        }
        results.into_sorted_vec()
    }

    /// hnswlib's neighbour-selection heuristic: from candidates sorted nearest first, keep one
    /// only when it is closer to the base than to every neighbour already kept, up to `m`.
    fn select(&self, candidates: &[(f32, u32)], m: usize) -> Vec<(f32, u32)> {
        if candidates.len() <= m {
            return candidates.to_vec();
        }
        let mut kept: Vec<(f32, u32)> = Vec::with_capacity(m);
        for &(d, c) in candidates {
            if kept.len() >= m {
                break;
            }
            let cv = self.vector(c as usize);
            if kept.iter().all(|&(_, r)| self.dist(cv, r) >= d) {
                kept.push((d, c));
            }
        }
        kept
    }

    /// Writes `chosen` as the list of `node` on `layer`.
    fn set_list(&self, node: u32, layer: u8, chosen: &[(f32, u32)]) {
        let list = self.list(node, layer);
        let Some((count, slots)) = list.split_first() else {
            return;
        };
        let n = chosen.len().min(slots.len());
        for (slot, &(_, c)) in slots.iter().zip(&chosen[..n]) {
            slot.store(c, Ordering::Relaxed);
        }
        count.store(n as u32, Ordering::Release);
    }

    /// Adds `new` (at distance `d`) to the list of `node` on `layer`, pruning a full list with
    /// the heuristic.
    fn add_link(&self, node: u32, new: u32, d: f32, layer: u8) {
        let Some(lock) = self.locks.get(node as usize) else {
            return;
        };
        let _guard = lock.lock();
        let list = self.list(node, layer);
        let Some((count, slots)) = list.split_first() else {
            return;
        };
        let used = (count.load(Ordering::Relaxed) as usize).min(slots.len());
        if slots[..used]
            .iter()
            .any(|s| s.load(Ordering::Relaxed) == new)
        {
            return;
        }
        if used < slots.len() {
            slots[used].store(new, Ordering::Relaxed);
            count.store(used as u32 + 1, Ordering::Release);
            return;
        }
        let base = self.vector(node as usize);
        let mut all: Vec<(f32, u32)> = Vec::with_capacity(used + 1);
        all.push((d, new));
        for s in &slots[..used] {
            let nb = s.load(Ordering::Relaxed);
            all.push((self.dist(base, nb), nb));
        }
        all.sort_by_key(|&(d, c)| key(d, c));
        let kept = self.select(&all, slots.len());
        self.set_list(node, layer, &kept);
    }

    /// Links node `q` (pushed, not yet linked) into the graph. Safe to run concurrently for
    /// different nodes.
    fn insert_node(&self, q: u32) {
        let level = self.levels.get(q as usize).copied().unwrap_or(0);
        let mut packed = self.entry.load(Ordering::Acquire);
        if packed == NO_ENTRY {
            match self.entry.compare_exchange(
                NO_ENTRY,
                pack_entry(q, level),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return,
                Err(now) => packed = now,
            }
        }
        let (ep, top) = unpack_entry(packed);
        if ep == q {
            return;
        }
        let qv = self.vector(q as usize);
        let mut cur = (ep, self.dist(qv, ep));
        for l in (level.saturating_add(1)..=top).rev() {
            cur = self.greedy(qv, cur.0, cur.1, l);
        }
        for l in (0..=level.min(top)).rev() {
            let found: Vec<(f32, u32)> = with_visited(self.len(), |v| {
                self.search_layer(qv, (cur.1, cur.0), self.ef_construction, l, None, v)
            })
            .into_iter()
            .map(unkey)
            .filter(|&(_, c)| c != q)
            .collect();
            let chosen = self.select(&found, self.m);
            {
                let _guard = self.locks.get(q as usize).map(NodeLock::lock);
                self.set_list(q, l, &chosen);
            }
            for &(d, s) in &chosen {
                self.add_link(s, q, d, l);
            }
            if let Some(&(d, c)) = found.first() {
                cur = (c, d);
            }
        }
        if level > top {
            let mut seen = packed;
            while unpack_entry(seen).1 < level {
                match self.entry.compare_exchange(
                    seen,
                    pack_entry(q, level),
                    Ordering::AcqRel,
                    Ordering::Acquire,
                ) {
                    Ok(_) => break,
                    Err(now) => seen = now,
                }
            }
        }
    }

    /// The `k` nearest linked nodes that `filter` allows, as (node, inner product), best first.
    pub fn search(
        &self,
        q: &[f32],
        k: usize,
        ef: usize,
        filter: Option<&dyn Fn(u32) -> bool>,
    ) -> Vec<(u32, f32)> {
        let packed = self.entry.load(Ordering::Acquire);
        if packed == NO_ENTRY || q.len() != self.dim || k == 0 || self.linked == 0 {
            return Vec::new();
        }
        let (ep, top) = unpack_entry(packed);
        let mut cur = (ep, self.dist(q, ep));
        for l in (1..=top).rev() {
            cur = self.greedy(q, cur.0, cur.1, l);
        }
        let found = with_visited(self.len(), |v| {
            self.search_layer(q, (cur.1, cur.0), ef.max(k), 0, filter, v)
        });
        found
            .into_iter()
            .take(k)
            .map(|kk| {
                let (d, node) = unkey(kk);
                (node, 1.0 - d)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests;
