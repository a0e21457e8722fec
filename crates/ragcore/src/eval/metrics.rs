//! Ranking metrics (recall@k, reciprocal rank, nDCG@k) on a ranked list of ids.

use std::collections::HashSet;

/// The ids of `ranked` with duplicates removed, order kept.
pub fn dedup(ranked: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut seen = HashSet::new();
    ranked
        .into_iter()
        .filter(|x| seen.insert(x.clone()))
        .collect()
}

/// Share of `relevant` found in the first `k` of `ranked`.
pub fn recall_at(ranked: &[String], relevant: &HashSet<String>, k: usize) -> f64 {
    if relevant.is_empty() {
        return 0.0;
    }
    let found = ranked
        .iter()
        .take(k)
        .filter(|x| relevant.contains(*x))
        .count();
    found as f64 / relevant.len() as f64
}

/// 1 / rank of the first relevant id within the first `k` (0 when none).
pub fn reciprocal_rank(ranked: &[String], relevant: &HashSet<String>, k: usize) -> f64 {
    ranked
        .iter()
        .take(k)
        .position(|x| relevant.contains(x))
        .map(|p| 1.0 / (p as f64 + 1.0))
        .unwrap_or(0.0)
}

/// Binary-relevance nDCG over the first `k`.
pub fn ndcg_at(ranked: &[String], relevant: &HashSet<String>, k: usize) -> f64 {
    let dcg: f64 = ranked
        .iter()
        .take(k)
        .enumerate()
        .filter(|(_, x)| relevant.contains(*x))
        .map(|(i, _)| 1.0 / (i as f64 + 2.0).log2())
        .sum();
    let ideal: f64 = (0..relevant.len().min(k))
        .map(|i| 1.0 / (i as f64 + 2.0).log2())
        .sum();
    if ideal == 0.0 {
        0.0
    } else {
        dcg / ideal
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn ranking_metrics_by_hand() {
        let rel: HashSet<String> = s(&["b", "d"]).into_iter().collect();
        let ranked = s(&["a", "b", "c", "d"]);
        assert_eq!(recall_at(&ranked, &rel, 1), 0.0);
        assert_eq!(recall_at(&ranked, &rel, 2), 0.5);
        assert_eq!(recall_at(&ranked, &rel, 4), 1.0);
        assert_eq!(reciprocal_rank(&ranked, &rel, 10), 0.5);
        // DCG = 1/log2(3) + 1/log2(5); IDCG = 1 + 1/log2(3).
        let want = (1.0 / 3f64.log2() + 1.0 / 5f64.log2()) / (1.0 + 1.0 / 3f64.log2());
        assert!((ndcg_at(&ranked, &rel, 4) - want).abs() < 1e-12);
        assert_eq!(ndcg_at(&s(&["b", "d"]), &rel, 4), 1.0);
        assert_eq!(dedup(s(&["x", "y", "x"])), s(&["x", "y"]));
    }
}
