//! The answer-cache store conformance test (through `AnswerCache`).

use std::sync::Arc;
use std::time::Duration;

use ragcore::cache::{AnswerCache, CacheConfig, CacheStore, LookupRequest, Partition};
use ragcore::types::{CacheStatus, Citation};
use ragcore::{Answer, Error};

use super::R;

// ---------------------------------------------------------------- answer cache

fn partition(tenant: &str, kb: u64) -> Partition {
    Partition {
        tenant: tenant.into(),
        principals: vec!["alice".into()],
        prompt_version: "qa@1".into(),
        kb_version: kb,
        model: "m".into(),
    }
}

pub fn answer(text: &str, cites: &[&str]) -> Answer {
    Answer {
        text: text.into(),
        citations: cites
            .iter()
            .enumerate()
            .map(|(i, c)| Citation {
                index: i as u32 + 1,
                chunk_id: c.to_string(),
                document_id: "d1".into(),
                title: "t".into(),
                snippet: "s".into(),
                score: 0.5,
            })
            .collect(),
        no_answer: false,
        kb_version: 1,
        prompt_version: "qa@1".into(),
        model: "m".into(),
        usage: Default::default(),
        cost: Default::default(),
        timings: Default::default(),
        verdicts: vec![],
        degraded: false,
        cache: CacheStatus::Miss,
        retrieved: cites.iter().map(|c| c.to_string()).collect(),
    }
}

fn unit(v: &[f32]) -> Vec<f32> {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter().map(|x| x / n).collect()
}

async fn look(
    cache: &AnswerCache,
    p: &Partition,
    q: &str,
    v: &[f32],
    visible: &[&str],
) -> Result<Option<(Answer, CacheStatus)>, Error> {
    let visible: Vec<String> = visible.iter().map(|s| s.to_string()).collect();
    cache
        .lookup(&LookupRequest {
            partition: p,
            question: q,
            vector: v,
            visible_chunks: &visible,
        })
        .await
}

/// Partition isolation, exact and semantic hits, opposite questions, TTL, citation checks,
/// invalidation and eviction, through [`AnswerCache`] over `store`.
pub async fn cache_store(store: Arc<dyn CacheStore>) -> R {
    let cache = AnswerCache::with_store(
        CacheConfig {
            ttl: Duration::from_secs(3600),
            semantic_threshold: Some(0.9),
            max_entries: 3,
        },
        store.clone(),
    );
    let acme = partition("acme", 1);
    let v = unit(&[1.0, 0.2, 0.0, 0.1]);
    let near = unit(&[1.0, 0.25, 0.0, 0.1]);
    let far = unit(&[0.0, 0.0, 1.0, 0.0]);
    cache
        .store(
            acme.clone(),
            "How do I return an item?",
            v.clone(),
            &answer("Within 7 days.", &["c1"]),
        )
        .await?;
    let hit = look(&cache, &acme, "how do i return an item", &far, &["c1"]).await?;
    let (a, status) = hit.ok_or("exact hit expected")?;
    assert_eq!(status, CacheStatus::ExactHit);
    assert_eq!(a.text, "Within 7 days.");
    assert_eq!(a.citations[0].chunk_id, "c1");
    // Other tenant, other principals, other KB version: never.
    for p in [
        partition("globex", 1),
        partition("acme", 2),
        Partition {
            principals: vec!["bob".into()],
            ..acme.clone()
        },
    ] {
        assert!(
            look(&cache, &p, "How do I return an item?", &v, &["c1"])
                .await?
                .is_none(),
            "{p:?}"
        );
    }
    // Semantic: a similar vector and the same polarity.
    let sem = look(&cache, &acme, "return procedure for items?", &near, &["c1"]).await?;
    assert_eq!(sem.map(|s| s.1), Some(CacheStatus::SemanticHit));
    assert!(look(&cache, &acme, "opening hours", &far, &["c1"])
        .await?
        .is_none());
    // The negated question with the very same vector is refused.
    let before = cache.stats().opposite_rejections;
    assert!(
        look(&cache, &acme, "How do I not return an item", &v, &["c1"])
            .await?
            .is_none()
    );
    cache
        .store(
            acme.clone(),
            "can I cancel my order",
            far.clone(),
            &answer("Yes.", &["c2"]),
        )
        .await?;
    // (the best passage is the same: only the polarity check stands in the way)
    assert!(look(
        &cache,
        &acme,
        "can't I cancel my order",
        &far,
        &["c2", "c1"]
    )
    .await?
    .is_none());
    assert_eq!(cache.stats().opposite_rejections, before + 2);
    // An entry citing a chunk this request does not see is not served, and not evicted:
    // the asks that see the chunk still hit.
    assert!(look(&cache, &acme, "can I cancel my order", &far, &["c1"])
        .await?
        .is_none());
    assert_eq!(
        look(&cache, &acme, "can I cancel my order", &far, &["c1", "c2"])
            .await?
            .map(|s| s.1),
        Some(CacheStatus::ExactHit),
        "skipped, not evicted"
    );
    // A semantic hit needs the same best passage as the cached answer had.
    assert!(look(
        &cache,
        &acme,
        "could I cancel my order",
        &far,
        &["c1", "c2"]
    )
    .await?
    .is_none());
    assert_eq!(
        look(
            &cache,
            &acme,
            "could I cancel my order",
            &far,
            &["c2", "c1"]
        )
        .await?
        .map(|s| s.1),
        Some(CacheStatus::SemanticHit)
    );
    // Invalidation by chunk across partitions.
    let globex = partition("globex", 1);
    cache
        .store(
            globex.clone(),
            "refunds?",
            v.clone(),
            &answer("Yes", &["c9"]),
        )
        .await?;
    cache
        .store(acme.clone(), "refunds?", v.clone(), &answer("Yes", &["c9"]))
        .await?;
    assert_eq!(cache.invalidate_chunks(&["c9".to_string()]).await?, 2);
    assert!(look(&cache, &globex, "refunds?", &v, &["c9"])
        .await?
        .is_none());
    // Degraded answers and refusals are not stored.
    let mut degraded = answer("maybe", &["c1"]);
    degraded.degraded = true;
    cache
        .store(acme.clone(), "degraded question", vec![], &degraded)
        .await?;
    assert!(look(&cache, &acme, "degraded question", &[], &["c1"])
        .await?
        .is_none());
    // Eviction: at most 3 per partition, the oldest goes.
    let p3 = partition("evict", 1);
    for q in ["q one", "q two", "q three", "q four"] {
        cache.store(p3.clone(), q, vec![], &answer(q, &[])).await?;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(look(&cache, &p3, "q one", &[], &[]).await?.is_none());
    assert!(look(&cache, &p3, "q four", &[], &[]).await?.is_some());
    // Re-storing a question replaces its answer.
    cache
        .store(p3.clone(), "q four", vec![], &answer("new", &[]))
        .await?;
    let again = look(&cache, &p3, "q four", &[], &[]).await?;
    assert_eq!(again.map(|a| a.0.text), Some("new".to_string()));

    // TTL, over the same store.
    let short = AnswerCache::with_store(
        CacheConfig {
            ttl: Duration::from_millis(400),
            semantic_threshold: None,
            max_entries: 10,
        },
        store.clone(),
    );
    let pt = partition("ttl", 1);
    short
        .store(pt.clone(), "short lived", vec![], &answer("x", &[]))
        .await?;
    assert!(look(&short, &pt, "short lived", &[], &[]).await?.is_some());
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(look(&short, &pt, "short lived", &[], &[]).await?.is_none());
    let s = cache.stats();
    assert!(
        s.exact_hits >= 3 && s.semantic_hits == 2 && s.misses > 5,
        "{s:?}"
    );
    cache.clear().await?;
    assert!(look(&cache, &p3, "q four", &[], &[]).await?.is_none());
    Ok(())
}
