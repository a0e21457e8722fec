//! The answer cache: exact (normalised question) then semantic (embedding similarity above a
//! threshold), partitioned by tenant, principals, prompt version, KB version and model, with a
//! TTL and an opposite-question check ([`signature`]). Entries live in a [`CacheStore`]: in
//! memory per process by default ([`MemoryCacheStore`]), or shared by replicas in PostgreSQL
//! (`PgCacheStore`, feature `postgres`). The decisions and counters are made here, the same for
//! every store; the counters are per process.
//!
//! The pipeline looks up after retrieval (so the scope has been applied and the KB version is
//! known) and before generation; a hit is served only when every chunk the cached answer cites
//! is among this request's retrieved hits, so an answer citing a changed, deleted or no longer
//! visible chunk is dropped. Answers are stored after the output checks; degraded answers and
//! refusals are not cached.

#[cfg(feature = "postgres")]
mod pg;
mod polarity;
mod store;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::types::{Answer, CacheStatus};

#[cfg(feature = "postgres")]
pub use pg::PgCacheStore;
pub use polarity::signature;
pub use store::{
    CacheEntry, CacheStore, MemoryCacheStore, PutRequest, StoreLookup, StoreLookupResult,
};

/// Cache settings. Serde form: `{ttl_secs, semantic_threshold, max_entries}` (missing keys keep
/// their defaults, unknown keys are refused; `semantic_threshold: null` = exact only).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CacheConfig {
    /// How long an entry lives.
    #[serde(rename = "ttl_secs", with = "ttl_secs")]
    pub ttl: Duration,
    /// Cosine similarity (0..1) of question embeddings above which a cached question counts as
    /// the same question; `None` disables the semantic stage (exact only).
    pub semantic_threshold: Option<f32>,
    /// Entries kept per partition (oldest evicted first).
    pub max_entries: usize,
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            ttl: Duration::from_secs(24 * 3600),
            semantic_threshold: Some(0.9),
            max_entries: 10_000,
        }
    }
}

impl CacheConfig {
    /// Checks the settings: a threshold in 0..=1 and room for at least one entry.
    pub fn validate(&self) -> Result<()> {
        if let Some(t) = self.semantic_threshold {
            if !(0.0..=1.0).contains(&t) {
                return Err(Error::invalid(
                    "cache.semantic_threshold",
                    format!("{t} is not a cosine similarity between 0 and 1 (null: exact only)"),
                ));
            }
        }
        if self.max_entries == 0 {
            return Err(Error::invalid(
                "cache.max_entries",
                "must be at least 1 (leave the cache out to disable it)",
            ));
        }
        Ok(())
    }
}

/// `Duration` as whole or fractional seconds.
mod ttl_secs {
    use std::time::Duration;

    use serde::{de::Error as _, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let secs = f64::deserialize(d)?;
        Duration::try_from_secs_f64(secs).map_err(|_| {
            D::Error::custom(format!(
                "ttl_secs {secs} is not a non-negative number of seconds"
            ))
        })
    }
}

/// What a cached answer is valid for: a hit needs all of it to match.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Partition {
    /// Tenant.
    pub tenant: String,
    /// Principals, sorted.
    pub principals: Vec<String>,
    /// `name@version` of the prompt.
    pub prompt_version: String,
    /// The KB version the answer was retrieved from.
    pub kb_version: u64,
    /// The chat model configured.
    pub model: String,
}

/// Hit and miss counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CacheStats {
    /// Exact hits.
    pub exact_hits: u64,
    /// Semantic hits.
    pub semantic_hits: u64,
    /// Misses.
    pub misses: u64,
    /// Similar questions refused by the opposite-question check.
    pub opposite_rejections: u64,
}

/// The answer cache.
pub struct AnswerCache {
    config: CacheConfig,
    store: Arc<dyn CacheStore>,
    exact: AtomicU64,
    semantic: AtomicU64,
    misses: AtomicU64,
    opposite: AtomicU64,
}

impl std::fmt::Debug for AnswerCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnswerCache")
            .field("config", &self.config)
            .finish()
    }
}

/// The key of the exact stage: the question lower-cased, full-width folded, with whitespace and
/// punctuation removed.
pub fn normalize_question(q: &str) -> String {
    crate::text::normalize(q)
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == '\'')
        .collect()
}

/// A cache lookup.
#[derive(Debug, Clone)]
pub struct LookupRequest<'a> {
    /// The partition of this request.
    pub partition: &'a Partition,
    /// The question (after input guards).
    pub question: &'a str,
    /// Its embedding, for the semantic stage (empty: exact only).
    pub vector: &'a [f32],
    /// Chunk ids retrieved for this request, best first; a cached answer citing others is not
    /// served, and a semantic hit needs the same best chunk as when the answer was made.
    pub visible_chunks: &'a [String],
}

impl AnswerCache {
    /// An empty cache in memory (this process only).
    pub fn new(config: CacheConfig) -> Self {
        Self::with_store(config, Arc::new(MemoryCacheStore::new()))
    }

    /// A cache keeping its entries in `store` (e.g. `PgCacheStore`, shared by replicas).
    pub fn with_store(config: CacheConfig, store: Arc<dyn CacheStore>) -> Self {
        AnswerCache {
            config,
            store,
            exact: AtomicU64::new(0),
            semantic: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            opposite: AtomicU64::new(0),
        }
    }

    /// Entries stored at or before this time (ms since the epoch) are past the TTL.
    fn expired_at_or_before_ms(&self) -> i64 {
        let ttl_ms = i64::try_from(self.config.ttl.as_millis()).unwrap_or(i64::MAX);
        crate::cost::now_ms().saturating_sub(ttl_ms)
    }

    /// The settings.
    pub fn config(&self) -> &CacheConfig {
        &self.config
    }

    /// Counters so far (this process).
    pub fn stats(&self) -> CacheStats {
        CacheStats {
            exact_hits: self.exact.load(Ordering::Relaxed),
            semantic_hits: self.semantic.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            opposite_rejections: self.opposite.load(Ordering::Relaxed),
        }
    }

    /// Finds a cached answer: exact first, then the most similar question above the threshold
    /// with the same polarity signature and the same best retrieved chunk. Expired entries are
    /// dropped; entries citing chunks not in `visible_chunks` are skipped (they stay valid for
    /// the asks that see those chunks).
    pub async fn lookup(&self, req: &LookupRequest<'_>) -> Result<Option<(Answer, CacheStatus)>> {
        let found = self
            .store
            .lookup(StoreLookup {
                partition: req.partition.key(),
                normalized: normalize_question(req.question),
                vector: req.vector.to_vec(),
                semantic: self.config.semantic_threshold.is_some(),
                expired_at_or_before_ms: self.expired_at_or_before_ms(),
                visible_chunks: req.visible_chunks.to_vec(),
            })
            .await?;
        if let Some(e) = found.exact {
            self.exact.fetch_add(1, Ordering::Relaxed);
            return Ok(Some((e.answer, CacheStatus::ExactHit)));
        }
        if let (Some(threshold), Some((sim, e))) = (self.config.semantic_threshold, found.nearest) {
            if sim >= threshold {
                if e.signature == signature(req.question) {
                    self.semantic.fetch_add(1, Ordering::Relaxed);
                    return Ok(Some((e.answer, CacheStatus::SemanticHit)));
                }
                self.opposite.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        Ok(None)
    }

    /// Stores an answer (not degraded answers or refusals).
    pub async fn store(
        &self,
        partition: Partition,
        question: &str,
        vector: Vec<f32>,
        answer: &Answer,
    ) -> Result<()> {
        if answer.degraded || answer.no_answer {
            return Ok(());
        }
        self.store
            .put(PutRequest {
                partition: partition.key(),
                tenant: partition.tenant.clone(),
                entry: CacheEntry {
                    normalized: normalize_question(question),
                    signature: signature(question),
                    vector,
                    answer: answer.clone(),
                    cited: answer
                        .citations
                        .iter()
                        .map(|c| c.chunk_id.clone())
                        .collect(),
                    top: answer.retrieved.first().cloned(),
                    stored_ms: crate::cost::now_ms(),
                },
                max_entries: self.config.max_entries,
                expired_at_or_before_ms: self.expired_at_or_before_ms(),
            })
            .await
    }

    /// Drops every entry citing one of these chunks (call when chunks change outside the
    /// pipeline; the pipeline itself checks citations on every hit).
    pub async fn invalidate_chunks(&self, chunk_ids: &[String]) -> Result<usize> {
        let n = self.store.invalidate_chunks(chunk_ids.to_vec()).await?;
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }

    /// Removes everything.
    pub async fn clear(&self) -> Result<()> {
        self.store.clear().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Opposite questions (negated or antonyms) in both languages: the signatures differ.
    #[test]
    fn opposite_questions_have_different_signatures() {
        let pairs = [
            ("能退貨嗎", "不能退貨嗎"),
            ("可以退款嗎？", "不可以退款嗎？"),
            ("有運費嗎", "沒有運費嗎"),
            ("會收手續費嗎", "不會收手續費嗎"),
            ("需要發票嗎", "不需要發票嗎"),
            ("訂單已出貨可以取消嗎", "訂單未出貨可以取消嗎"),
            ("可以用信用卡付款嗎", "無法用信用卡付款嗎"),
            ("到貨之前可以改地址嗎", "到貨之後可以改地址嗎"),
            ("最多可以退幾件", "最少可以退幾件"),
            ("如何開啟通知", "如何關閉通知"),
            ("如何訂閱電子報", "如何取消訂閱電子報"),
            ("can I cancel my order", "can't I cancel my order"),
            ("Can I return a used item?", "Can I not return a used item?"),
            ("is shipping free", "isn't shipping free"),
            ("do you ship to Taiwan", "don't you ship to Taiwan"),
            ("will I be charged", "won't I be charged"),
            ("can I pay with cash", "cannot I pay with cash"),
            (
                "should I keep the receipt",
                "should I never keep the receipt",
            ),
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
            ("how to increase my limit", "how to decrease my limit"),
            (
                "how do I subscribe to the newsletter",
                "how do I unsubscribe from the newsletter",
            ),
        ];
        assert!(pairs.len() >= 20);
        for (a, b) in pairs {
            assert_ne!(signature(a), signature(b), "{a} / {b}");
        }
        // Question forms with 否 are not negations; paraphrases keep the signature.
        assert_eq!(signature("是否可以退貨"), signature("可以退貨嗎"));
        assert_eq!(
            signature("can I cancel my order?"),
            signature("how can I cancel an order")
        );
    }

    #[test]
    fn settings_read_from_json_with_defaults_and_clear_errors() {
        let c: CacheConfig =
            serde_json::from_str(r#"{"ttl_secs": 60, "semantic_threshold": null}"#).unwrap();
        assert_eq!(c.ttl, Duration::from_secs(60));
        assert_eq!(c.semantic_threshold, None);
        assert_eq!(c.max_entries, CacheConfig::default().max_entries);
        let e = serde_json::from_str::<CacheConfig>(r#"{"ttl": 60}"#).unwrap_err();
        assert!(e.to_string().contains("unknown field `ttl`"), "{e}");
        let e = serde_json::from_str::<CacheConfig>(r#"{"ttl_secs": -1}"#).unwrap_err();
        assert!(e.to_string().contains("ttl_secs -1"), "{e}");
        let bad = CacheConfig {
            semantic_threshold: Some(1.5),
            ..Default::default()
        };
        assert!(bad
            .validate()
            .unwrap_err()
            .to_string()
            .contains("cache.semantic_threshold"));
        assert!(CacheConfig::default().validate().is_ok());
    }

    #[test]
    fn normalisation_ignores_case_width_space_and_punctuation() {
        assert_eq!(
            normalize_question("Can I  return it？"),
            normalize_question("can i return it?")
        );
        assert_eq!(
            normalize_question("ＡＢＣ 退貨"),
            normalize_question("abc退貨")
        );
    }
}
