use super::*;

const DIM: usize = 48;

fn rng(seed: u64) -> impl FnMut() -> f32 {
    let mut s = seed.max(1);
    move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 11) as f32 / (1u64 << 53) as f32 - 0.5
    }
}

fn normalise(mut v: Vec<f32>) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
    v.iter_mut().for_each(|x| *x /= norm);
    v
}

/// Uniformly random unit vectors.
fn random(n: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut next = rng(seed);
    (0..n)
        .map(|_| normalise((0..DIM).map(|_| next()).collect()))
        .collect()
}

/// Unit vectors in 20 tight clusters (many near-duplicates: what the heuristic is for).
fn clustered(n: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut next = rng(seed);
    let centres: Vec<Vec<f32>> = (0..20)
        .map(|_| (0..DIM).map(|_| next()).collect())
        .collect();
    (0..n)
        .map(|i| {
            let c = &centres[(i * 7) % centres.len()];
            normalise(c.iter().map(|x| x + 0.15 * next()).collect())
        })
        .collect()
}

fn build(vs: &[Vec<f32>], threads: usize) -> Graph {
    let mut g = Graph::new(DIM, 16, 100);
    for (i, v) in vs.iter().enumerate() {
        g.push(i as i64 + 1, v);
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("pool");
    pool.install(|| g.link_pending());
    g
}

fn truth(g: &Graph, q: &[f32], k: usize, ok: &dyn Fn(u32) -> bool) -> Vec<u32> {
    let mut s: Vec<(f32, u32)> = (0..g.len() as u32)
        .filter(|&i| ok(i))
        .map(|i| (g.dot(q, i as usize), i))
        .collect();
    s.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    s.into_iter().take(k).map(|x| x.1).collect()
}

fn recall(g: &Graph, queries: &[Vec<f32>], ef: usize, filter: Option<&dyn Fn(u32) -> bool>) -> f64 {
    let (mut hit, mut total) = (0, 0);
    let all = |_: u32| true;
    for q in queries {
        let t = truth(g, q, 10, filter.unwrap_or(&all));
        let found = g.search(q, 10, ef, filter);
        for w in found.windows(2) {
            assert!(w[0].1 >= w[1].1, "not best first");
        }
        if let Some(f) = filter {
            assert!(
                found.iter().all(|&(n, _)| f(n)),
                "a filtered-out node was returned"
            );
        }
        total += t.len();
        hit += found.iter().filter(|(n, _)| t.contains(n)).count();
    }
    hit as f64 / total as f64
}

#[test]
fn recall_against_exact_search_on_random_and_clustered_vectors() {
    for (name, vs, qs) in [
        ("random", random(4000, 1), random(100, 2)),
        (
            "clustered",
            clustered(4000, 3),
            clustered(4100, 3).split_off(4000),
        ),
    ] {
        let g = build(&vs, 2);
        let r = recall(&g, &qs, 64, None);
        assert!(r >= 0.95, "{name}: unfiltered recall {r}");
        // A tenant owning 30% of the rows (filtered walk, ef widened as the planner does).
        let owned = |n: u32| (n as usize * 7919) % 10 < 3;
        let r = recall(&g, &qs, 120, Some(&owned));
        assert!(r >= 0.95, "{name}: filtered recall {r}");
    }
}

#[test]
fn heuristic_keeps_a_diverse_neighbour_list() {
    // Two tight clusters: a node's list must reach the other cluster, not only near-duplicates.
    let vs = clustered(600, 9);
    let g = build(&vs, 1);
    for node in 0..g.len() as u32 {
        let n = Graph::slots(g.list(node, 0)).len();
        assert!(n >= 1 && n <= g.m0, "node {node} has {n} neighbours");
    }
}

#[test]
fn a_concurrent_build_gives_a_connected_graph() {
    let vs = clustered(5000, 5);
    let g = build(&vs, 4);
    assert_eq!(g.linked(), g.len());
    let (entry, _) = unpack_entry(g.entry.load(Ordering::Relaxed));
    let mut seen = vec![false; g.len()];
    let mut stack = vec![entry];
    seen[entry as usize] = true;
    // A search descends through the upper layers and walks layer 0: every node must be
    // reachable from the entry point over the union of the layers' links.
    while let Some(n) = stack.pop() {
        for layer in 0..=g.levels[n as usize] {
            for s in Graph::slots(g.list(n, layer)) {
                let nb = s.load(Ordering::Relaxed) as usize;
                assert!(nb < g.len());
                if !seen[nb] {
                    seen[nb] = true;
                    stack.push(nb as u32);
                }
            }
        }
    }
    let reached = seen.iter().filter(|&&s| s).count();
    // `link_orphans` reconnects whatever pruning and the parallel build cut off.
    assert_eq!(
        reached,
        g.len(),
        "only {reached} of {} nodes reachable from the entry point",
        g.len()
    );
}

#[test]
fn linking_in_batches_matches_linking_at_once_in_recall() {
    let vs = random(3000, 21);
    let qs = random(60, 22);
    let mut g = Graph::new(DIM, 16, 100);
    for chunk in vs.chunks(700) {
        for v in chunk {
            let n = g.len() as i64;
            g.push(n + 1, v);
        }
        g.link_pending();
        assert_eq!(g.linked(), g.len());
    }
    assert!(recall(&g, &qs, 64, None) >= 0.95);
}

#[test]
fn write_then_read_gives_identical_search_results() {
    let dir = tempfile::tempdir().expect("dir");
    let vs = clustered(2000, 7);
    let g = build(&vs, 2);
    let path = dir.path().join("g.hnsw.rc");
    g.write_file(&path).expect("write");
    let back = Graph::read_file(&path, DIM).expect("read");
    assert_eq!(back.ids(), g.ids());
    for q in clustered(30, 8) {
        assert_eq!(back.search(&q, 10, 50, None), g.search(&q, 10, 50, None));
    }
    // Wrong dimensions: refused.
    assert!(Graph::read_file(&path, DIM + 1).is_none());
}

#[test]
fn a_truncated_or_corrupted_file_is_refused_not_a_panic() {
    let dir = tempfile::tempdir().expect("dir");
    let g = build(&random(300, 11), 1);
    let path = dir.path().join("g.hnsw.rc");
    g.write_file(&path).expect("write");
    let good = std::fs::read(&path).expect("read");
    let bad = dir.path().join("bad.hnsw.rc");
    for cut in [
        0,
        1,
        7,
        8,
        40,
        good.len() / 2,
        good.len() - 9,
        good.len() - 1,
    ] {
        std::fs::write(&bad, &good[..cut]).expect("write");
        assert!(Graph::read_file(&bad, DIM).is_none(), "truncated at {cut}");
    }
    let mut next = rng(5);
    for _ in 0..50 {
        let mut b = good.clone();
        let at = ((next() + 0.5) * (b.len() - 1) as f32) as usize;
        b[at] ^= 0x5a;
        std::fs::write(&bad, &b).expect("write");
        assert!(Graph::read_file(&bad, DIM).is_none(), "flipped byte {at}");
    }
    // A well-formed checksum over bad content (a neighbour index out of range) is refused too.
    let mut body = good[..good.len() - 8].to_vec();
    let layer0_at = 8 + 4 * 4 + 8 + 4 + 4 + 300 * 8 + 300;
    body[layer0_at + 4..layer0_at + 8].copy_from_slice(&9999u32.to_le_bytes());
    let digest = xxhash_rust::xxh3::xxh3_64(&body);
    body.extend_from_slice(&digest.to_le_bytes());
    std::fs::write(&bad, &body).expect("write");
    assert!(
        Graph::read_file(&bad, DIM).is_none(),
        "out-of-range neighbour"
    );
    assert!(Graph::read_file(&dir.path().join("missing"), DIM).is_none());
}

#[test]
fn an_empty_graph_finds_nothing_and_round_trips() {
    let dir = tempfile::tempdir().expect("dir");
    let g = Graph::new(DIM, 16, 100);
    assert!(g.search(&[0.1; DIM], 5, 10, None).is_empty());
    let path = dir.path().join("e.hnsw.rc");
    g.write_file(&path).expect("write");
    assert_eq!(Graph::read_file(&path, DIM).expect("read").len(), 0);
}

#[test]
fn heap_keys_order_like_distances() {
    let ds = [-1.5f32, -0.0, 0.0, 1e-9, 0.3, 1.0, 2.0];
    for w in ds.windows(2) {
        assert!(key(w[0], 5) <= key(w[1], 1) || w[0] == w[1]);
    }
    for d in ds {
        assert_eq!(unkey(key(d, 7)), (d, 7));
    }
}
