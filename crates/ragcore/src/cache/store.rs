//! Where cached answers live: the [`CacheStore`] trait behind [`AnswerCache`](super::AnswerCache),
//! and [`MemoryCacheStore`] (per process, the default). The PostgreSQL store
//! (`PgCacheStore`, feature `postgres`) shares entries between replicas.
//!
//! A store only keeps and finds entries; the decisions (TTL, threshold, the opposite-question
//! signature, the counters) are made by `AnswerCache`, so every store behaves the same.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use sha2::{Digest, Sha256};

use super::Partition;
use crate::error::{Error, Result};
use crate::types::Answer;

impl Partition {
    /// A stable key of the partition (SHA-256 of its fields, hex): equal partitions have
    /// equal keys, and any field differing gives another key.
    pub fn key(&self) -> String {
        let fields = serde_json::json!([
            self.tenant,
            self.principals,
            self.prompt_version,
            self.kb_version,
            self.model
        ]);
        let mut h = Sha256::new();
        h.update(fields.to_string().as_bytes());
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// One cached answer.
#[derive(Debug, Clone, PartialEq)]
pub struct CacheEntry {
    /// The normalised question ([`normalize_question`](super::normalize_question)).
    pub normalized: String,
    /// The question's polarity signature ([`signature`](super::signature)).
    pub signature: Vec<String>,
    /// The question's embedding (may be empty; stores may leave it empty in lookup results).
    pub vector: Vec<f32>,
    /// The answer.
    pub answer: Answer,
    /// Chunk ids the answer cites.
    pub cited: Vec<String>,
    /// The best retrieved chunk when the answer was made: a semantic hit needs the new
    /// question to rank the same chunk first.
    pub top: Option<String>,
    /// When it was stored (ms since the Unix epoch).
    pub stored_ms: i64,
}

/// Store an entry in a partition.
#[derive(Debug, Clone)]
pub struct PutRequest {
    /// [`Partition::key`].
    pub partition: String,
    /// The partition's tenant (kept for operators; isolation is by `partition`).
    pub tenant: String,
    /// The entry; an entry with the same normalised question in the partition is replaced.
    pub entry: CacheEntry,
    /// Entries kept per partition: the oldest beyond it are evicted.
    pub max_entries: usize,
    /// Entries of the partition stored at or before this time (ms) are expired and may be
    /// deleted now.
    pub expired_at_or_before_ms: i64,
}

/// Find entries in one partition.
#[derive(Debug, Clone)]
pub struct StoreLookup {
    /// [`Partition::key`].
    pub partition: String,
    /// The normalised question (exact stage).
    pub normalized: String,
    /// The question's embedding (semantic stage; empty: skip it).
    pub vector: Vec<f32>,
    /// Whether to run the semantic stage when the exact one finds nothing.
    pub semantic: bool,
    /// Entries stored at or before this time (ms) are expired: never returned (a store may
    /// delete them here or at the partition's next `put`).
    pub expired_at_or_before_ms: i64,
    /// The chunks retrieved for this request, best first. Entries citing a chunk not in this
    /// list are never returned (but kept: other questions see other chunks); the semantic
    /// stage only considers entries whose `top` is this list's first chunk.
    pub visible_chunks: Vec<String>,
}

/// What a store found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoreLookupResult {
    /// The entry with the same normalised question.
    pub exact: Option<CacheEntry>,
    /// The entry with the most similar question (cosine similarity), when no exact one was
    /// found and the semantic stage ran.
    pub nearest: Option<(f32, CacheEntry)>,
}

/// Keeps cached answers, keyed by partition. Implementations are shared by all requests.
#[async_trait]
pub trait CacheStore: Send + Sync {
    /// Among the partition's unexpired entries whose cited chunks are all visible, finds the
    /// exact entry, else (when asked) the nearest one with the same best chunk.
    async fn lookup(&self, request: StoreLookup) -> Result<StoreLookupResult>;
    /// Stores an entry.
    async fn put(&self, request: PutRequest) -> Result<()>;
    /// Drops every entry citing one of these chunks; returns how many.
    async fn invalidate_chunks(&self, chunk_ids: Vec<String>) -> Result<u64>;
    /// Drops everything.
    async fn clear(&self) -> Result<()>;
}

/// Cosine similarity (0 when the lengths differ or a vector is zero).
pub(crate) fn cosine(a: &[f32], b: &[f32]) -> f32 {
    if a.len() != b.len() || a.is_empty() {
        return 0.0;
    }
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na * nb)
    }
}

/// Entries in memory, per process (the default store).
#[derive(Default)]
pub struct MemoryCacheStore {
    entries: Mutex<HashMap<String, Vec<CacheEntry>>>,
}

impl std::fmt::Debug for MemoryCacheStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MemoryCacheStore")
    }
}

impl MemoryCacheStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn map(&self) -> Result<std::sync::MutexGuard<'_, HashMap<String, Vec<CacheEntry>>>> {
        self.entries
            .lock()
            .map_err(|_| Error::poisoned("answer cache"))
    }
}

#[async_trait]
impl CacheStore for MemoryCacheStore {
    async fn lookup(&self, req: StoreLookup) -> Result<StoreLookupResult> {
        let mut map = self.map()?;
        let Some(list) = map.get_mut(&req.partition) else {
            return Ok(StoreLookupResult::default());
        };
        list.retain(|e| e.stored_ms > req.expired_at_or_before_ms);
        let servable = |e: &&CacheEntry| e.cited.iter().all(|c| req.visible_chunks.contains(c));
        if let Some(e) = list
            .iter()
            .filter(servable)
            .find(|e| e.normalized == req.normalized)
        {
            return Ok(StoreLookupResult {
                exact: Some(e.clone()),
                nearest: None,
            });
        }
        let nearest = if req.semantic && !req.vector.is_empty() {
            let top = req.visible_chunks.first();
            list.iter()
                .filter(servable)
                .filter(|e| !e.vector.is_empty() && e.top.as_ref() == top)
                .map(|e| (cosine(&e.vector, &req.vector), e))
                .max_by(|a, b| a.0.total_cmp(&b.0))
                .map(|(s, e)| (s, e.clone()))
        } else {
            None
        };
        Ok(StoreLookupResult {
            exact: None,
            nearest,
        })
    }

    async fn put(&self, req: PutRequest) -> Result<()> {
        let mut map = self.map()?;
        let list = map.entry(req.partition).or_default();
        list.retain(|e| {
            e.normalized != req.entry.normalized && e.stored_ms > req.expired_at_or_before_ms
        });
        while list.len() >= req.max_entries.max(1) {
            list.remove(0);
        }
        list.push(req.entry);
        Ok(())
    }

    async fn invalidate_chunks(&self, chunk_ids: Vec<String>) -> Result<u64> {
        let mut map = self.map()?;
        let mut n = 0;
        for list in map.values_mut() {
            let before = list.len();
            list.retain(|e| !e.cited.iter().any(|c| chunk_ids.contains(c)));
            n += (before - list.len()) as u64;
        }
        Ok(n)
    }

    async fn clear(&self) -> Result<()> {
        self.map()?.clear();
        Ok(())
    }
}
