//! The answer cache in the pipeline: exact and semantic hits visible on the answer and counted;
//! 0 hits across tenants, principals or KB versions; 0 hits for negated or opposite questions
//! (a list of pairs in Chinese and English, with the similarity threshold at 0 so only the
//! opposite-question check stands in the way); citations of changed chunks invalidate.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use ragcore::cache::{AnswerCache, CacheConfig, LookupRequest, Partition};
use ragcore::embed::{EmbedRequest, InputType};
use ragcore::{
    AskRequest, CacheStatus, Embedder, HashingEmbedder, IngestRequest, LocalOptions, Pipeline,
    Scope,
};

type R = Result<(), Box<dyn std::error::Error>>;

/// The hashing embedder, counting the query embeddings it makes.
#[derive(Default)]
struct CountingEmbedder {
    inner: HashingEmbedder,
    queries: AtomicUsize,
}

impl CountingEmbedder {
    fn query_calls(&self) -> usize {
        self.queries.load(Ordering::SeqCst)
    }
}

#[async_trait::async_trait]
impl Embedder for CountingEmbedder {
    fn fingerprint(&self) -> ragcore::embed::EmbedderFingerprint {
        self.inner.fingerprint()
    }
    async fn embed(&self, request: EmbedRequest) -> ragcore::Result<ragcore::embed::EmbedResponse> {
        if request.input_type == InputType::Query {
            self.queries.fetch_add(1, Ordering::SeqCst);
        }
        self.inner.embed(request).await
    }
}

fn sample() -> String {
    format!("{}/../../examples/faq", env!("CARGO_MANIFEST_DIR"))
}

async fn kb(dir: &std::path::Path, threshold: Option<f32>) -> ragcore::Result<Pipeline> {
    let p = Pipeline::open_local(
        dir,
        LocalOptions {
            cache: Some(CacheConfig {
                semantic_threshold: threshold,
                ..Default::default()
            }),
            ..Default::default()
        },
    )
    .await?;
    for t in ["acme", "globex"] {
        p.ingest(IngestRequest::paths(t, [sample()])).await?;
    }
    Ok(p)
}

async fn ask(p: &Pipeline, q: &str, scope: Scope) -> ragcore::Result<ragcore::Answer> {
    p.ask(AskRequest::new(q, scope)).await
}

#[tokio::test]
async fn repeated_questions_hit_and_scopes_and_versions_never_share() -> R {
    let dir = tempfile::tempdir()?;
    let p = kb(dir.path(), Some(0.9)).await?;
    let acme = Scope::tenant("acme");
    let a = ask(&p, "退貨要在幾天內申請？", acme.clone()).await?;
    assert_eq!(a.cache, CacheStatus::Miss);
    assert!(!a.no_answer);
    let b = ask(&p, "退貨要在幾天內申請", acme.clone()).await?;
    assert_eq!(
        b.cache,
        CacheStatus::ExactHit,
        "punctuation is normalised away"
    );
    assert_eq!(
        (b.text.as_str(), b.citations.clone()),
        (a.text.as_str(), a.citations.clone())
    );
    assert!(b.verdicts.iter().any(|v| v.name == "cache"));
    // Another tenant with the same documents, or other principals: a miss.
    let g = ask(&p, "退貨要在幾天內申請？", Scope::tenant("globex")).await?;
    assert_eq!(g.cache, CacheStatus::Miss);
    let u = ask(
        &p,
        "退貨要在幾天內申請？",
        acme.clone().with_principals(["sales"]),
    )
    .await?;
    assert_eq!(u.cache, CacheStatus::Miss);
    // A new KB version: a miss, then a hit again.
    p.ingest(IngestRequest::documents(
        "acme",
        vec![ragcore::Document::faq(
            "new",
            "營業時間？",
            "週一到週五 9:00-18:00。",
        )],
    ))
    .await?;
    let n = ask(&p, "退貨要在幾天內申請？", acme.clone()).await?;
    assert_eq!(n.cache, CacheStatus::Miss);
    assert!(n.kb_version > a.kb_version);
    assert_eq!(
        ask(&p, "退貨要在幾天內申請？", acme).await?.cache,
        CacheStatus::ExactHit
    );
    let s = p.answer_cache().ok_or("no cache")?.stats();
    assert_eq!((s.exact_hits, s.semantic_hits), (2, 0), "{s:?}");
    Ok(())
}

#[tokio::test]
async fn a_negated_question_misses_in_the_pipeline() -> R {
    let dir = tempfile::tempdir()?;
    let p = kb(dir.path(), Some(0.0)).await?;
    let acme = Scope::tenant("acme");
    let a = ask(&p, "退貨需要付運費嗎？", acme.clone()).await?;
    assert!(!a.no_answer);
    let b = ask(&p, "退貨不需要付運費嗎？", acme.clone()).await?;
    assert_eq!(b.cache, CacheStatus::Miss);
    let c = ask(&p, "退貨需要付運費嗎", acme).await?;
    assert_eq!(c.cache, CacheStatus::ExactHit);
    assert!(
        p.answer_cache()
            .ok_or("no cache")?
            .stats()
            .opposite_rejections
            >= 1
    );
    Ok(())
}

const OPPOSITE_PAIRS: &[(&str, &str)] = &[
    ("能退貨嗎", "不能退貨嗎"),
    ("可以退款嗎？", "不可以退款嗎？"),
    ("退貨需要付運費嗎", "退貨不需要付運費嗎"),
    ("有提供保固嗎", "沒有提供保固嗎"),
    ("會收手續費嗎", "不會收手續費嗎"),
    ("訂單已出貨可以取消嗎", "訂單未出貨可以取消嗎"),
    ("可以用信用卡付款嗎", "無法用信用卡付款嗎"),
    ("到貨之前可以改地址嗎", "到貨之後可以改地址嗎"),
    ("最多可以退幾件", "最少可以退幾件"),
    ("如何開啟通知", "如何關閉通知"),
    ("如何訂閱電子報", "如何取消訂閱電子報"),
    ("產品保固期間可以換貨嗎", "產品保固期間別換貨嗎"),
    ("can I cancel my order", "can't I cancel my order"),
    ("Can I return a used item?", "Can I not return a used item?"),
    ("is shipping free", "isn't shipping free"),
    ("do you ship to Taiwan", "don't you ship to Taiwan"),
    ("will I be charged a fee", "won't I be charged a fee"),
    ("can I pay with cash", "cannot I pay with cash"),
    (
        "can I return it with the box",
        "can I return it without the box",
    ),
    (
        "what happens before delivery",
        "what happens after delivery",
    ),
    (
        "how do I enable two-factor login",
        "how do I disable two-factor login",
    ),
    ("what is the maximum refund", "what is the minimum refund"),
    (
        "how to increase my credit limit",
        "how to decrease my credit limit",
    ),
    (
        "how do I subscribe to the newsletter",
        "how do I unsubscribe from the newsletter",
    ),
];

#[tokio::test]
async fn no_opposite_question_ever_hits_even_at_similarity_zero() -> R {
    let embedder = HashingEmbedder::default();
    let cache = AnswerCache::new(CacheConfig {
        semantic_threshold: Some(0.0),
        ..Default::default()
    });
    let part = Partition {
        tenant: "acme".into(),
        principals: vec![],
        prompt_version: "qa@1".into(),
        kb_version: 1,
        model: "m".into(),
    };
    let embed = |q: &str| {
        let q = q.to_string();
        let e = &embedder;
        async move {
            let r = e
                .embed(EmbedRequest {
                    texts: vec![q],
                    input_type: InputType::Query,
                })
                .await?;
            Ok::<_, ragcore::Error>(r.vectors.into_iter().next().unwrap_or_default())
        }
    };
    let answer = |text: &str| ragcore::Answer {
        text: text.into(),
        citations: vec![],
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
        retrieved: vec![],
    };
    assert!(OPPOSITE_PAIRS.len() >= 20);
    let mut hits = Vec::new();
    for (a, b) in OPPOSITE_PAIRS {
        cache.clear().await?;
        cache
            .store(part.clone(), a, embed(a).await?, &answer(a))
            .await?;
        let vb = embed(b).await?;
        let found = cache
            .lookup(&LookupRequest {
                partition: &part,
                question: b,
                vector: &vb,
                visible_chunks: &[],
            })
            .await?;
        if found.is_some() {
            hits.push((*a, *b));
        }
        // The same question still hits (the check is not just refusing everything).
        let va = embed(a).await?;
        let again = cache
            .lookup(&LookupRequest {
                partition: &part,
                question: &format!("{a}?"),
                vector: &va,
                visible_chunks: &[],
            })
            .await?;
        assert!(again.is_some(), "{a}");
    }
    assert!(hits.is_empty(), "opposite questions hit: {hits:?}");
    assert_eq!(
        cache.stats().opposite_rejections,
        OPPOSITE_PAIRS.len() as u64
    );
    Ok(())
}

#[tokio::test]
async fn answers_citing_a_changed_chunk_are_dropped() -> R {
    let cache = AnswerCache::new(CacheConfig::default());
    let part = Partition {
        tenant: "acme".into(),
        principals: vec![],
        prompt_version: "qa@1".into(),
        kb_version: 1,
        model: "m".into(),
    };
    let dir = tempfile::tempdir()?;
    let p = kb(dir.path(), None).await?;
    let a = ask(&p, "退貨要在幾天內申請？", Scope::tenant("acme")).await?;
    let cited: Vec<String> = a.citations.iter().map(|c| c.chunk_id.clone()).collect();
    assert!(!cited.is_empty());
    cache.store(part.clone(), "q", vec![], &a).await?;
    let look = |visible: Vec<String>| {
        let (cache, part) = (&cache, &part);
        async move {
            cache
                .lookup(&LookupRequest {
                    partition: part,
                    question: "q",
                    vector: &[],
                    visible_chunks: &visible,
                })
                .await
        }
    };
    // The cited chunk is not among the retrieved ones (changed: a new chunk id; deleted; or
    // hidden from this asker): not served. The entry itself stays for asks that do see it.
    assert!(look(cited.clone()).await?.is_some());
    assert!(look(vec!["other".to_string()]).await?.is_none());
    assert!(
        look(cited.clone()).await?.is_some(),
        "a skipped entry is not evicted"
    );
    // Invalidation by chunk id drops it for good.
    assert_eq!(cache.invalidate_chunks(&cited).await?, 1);
    assert!(look(cited.clone()).await?.is_none());
    Ok(())
}

/// Regression: a lookup for one question must not evict the entries of other questions (their
/// cited chunks are simply not among this question's passages). Asking A, B, C, then A, B, C
/// again hits all three.
#[tokio::test]
async fn interleaved_questions_all_hit_on_the_second_round() -> R {
    let dir = tempfile::tempdir()?;
    let counter = Arc::new(CountingEmbedder::default());
    let p = Pipeline::open_local(
        dir.path(),
        LocalOptions {
            embedder: Some(counter.clone()),
            cache: Some(CacheConfig::default()),
            ..Default::default()
        },
    )
    .await?;
    p.ingest(IngestRequest::paths("acme", [sample()])).await?;
    let acme = Scope::tenant("acme");
    let questions = ["退貨要在幾天內申請？", "運費怎麼算？", "可以開發票嗎？"];
    let mut first = Vec::new();
    for q in questions {
        let a = ask(&p, q, acme.clone()).await?;
        assert_eq!(a.cache, CacheStatus::Miss, "{q}");
        first.push(a);
    }
    // The semantic stage reuses the retrieval's question embedding: a miss embeds the question
    // once, as a bare retrieval does.
    let before = counter.query_calls();
    p.retrieve_full(questions[0], &acme, None).await?;
    let per_retrieval = counter.query_calls() - before;
    let before = counter.query_calls();
    ask(&p, "發票可以改抬頭嗎？", acme.clone()).await?;
    assert_eq!(counter.query_calls() - before, per_retrieval);
    let distinct: std::collections::HashSet<_> = first
        .iter()
        .filter_map(|a| a.citations.first().map(|c| c.chunk_id.clone()))
        .collect();
    assert!(distinct.len() >= 2, "the questions cite different chunks");
    for (q, a) in questions.iter().zip(&first) {
        let again = ask(&p, q, acme.clone()).await?;
        assert_eq!(again.cache, CacheStatus::ExactHit, "{q}");
        assert_eq!(again.text, a.text);
    }
    let stats = p.answer_cache().map(|c| c.stats()).unwrap_or_default();
    assert_eq!(stats.exact_hits, 3);
    Ok(())
}

/// A semantic hit needs the new question to rank the same passage first as the cached one did:
/// similar wording about another FAQ entry must not be served that entry's answer.
#[tokio::test]
async fn semantic_hits_need_the_same_best_passage() -> R {
    let cache = AnswerCache::new(CacheConfig {
        semantic_threshold: Some(0.5),
        ..Default::default()
    });
    let part = Partition {
        tenant: "acme".into(),
        principals: vec![],
        prompt_version: "qa@1".into(),
        kb_version: 1,
        model: "m".into(),
    };
    let answer = ragcore::Answer {
        text: "Masks are recommended indoors [1].".into(),
        citations: vec![],
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
        retrieved: vec!["masks".into(), "distancing".into()],
    };
    let v = |x: f32| vec![1.0, x, 0.0];
    cache
        .store(part.clone(), "should I wear a mask", v(0.1), &answer)
        .await?;
    let look = |visible: Vec<String>| {
        let (cache, part) = (&cache, &part);
        async move {
            cache
                .lookup(&LookupRequest {
                    partition: part,
                    question: "do I need to wear a face mask",
                    vector: &v(0.12),
                    visible_chunks: &visible,
                })
                .await
        }
    };
    let other_first = look(vec!["distancing".into(), "masks".into()]).await?;
    assert!(other_first.is_none(), "another passage ranks first: a miss");
    let same_first = look(vec!["masks".into(), "distancing".into()]).await?;
    assert_eq!(same_first.map(|(_, s)| s), Some(CacheStatus::SemanticHit));
    Ok(())
}
