//! Knowledge-base versions seen from the pipeline: rollback to an earlier version, re-embedding
//! with a new embedder, and the snapshot gate that keeps readers off half-applied writes.
//!
//! The gate: a write changes SQLite (one transaction) and then the in-memory HNSW graph and
//! visibility table. A reader that searched between the two, or read the version before and
//! searched after, could cite passages of two versions. Every write that changes live chunks
//! holds the gate exclusively from its commit until the index has caught up; `ask` holds it
//! shared from reading the version number until retrieval is done, so an answer's citations
//! always come from `answer.kb_version`. Embedding happens before the gate is taken, so readers
//! wait only for the commit itself.

use serde::{Deserialize, Serialize};

use super::Pipeline;
use crate::embed::{EmbedRequest, InputType};
use crate::error::{Error, Result};
use crate::store::{ReplaceVectorsRequest, RollbackRequest, UpsertResult};
use crate::types::validate_ident;

/// How often retrieval is retried when another process commits during it.
pub(crate) const SNAPSHOT_TRIES: usize = 8;

/// The shared/exclusive gate between readers (retrieval) and writers (commits).
pub(crate) type KbGate = tokio::sync::RwLock<()>;

/// What a re-embedding did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReembedReport {
    /// The new knowledge-base version.
    pub kb_version: u64,
    /// Live chunks re-embedded.
    pub chunks_embedded: u64,
    /// Embedding tokens spent.
    pub embedding_tokens: u64,
    /// The embedder now stored with the knowledge base.
    pub embedder: String,
}

impl Pipeline {
    /// Holds the snapshot gate shared (readers: from reading the KB version until retrieval is
    /// done).
    pub(crate) async fn read_snapshot(&self) -> tokio::sync::RwLockReadGuard<'_, ()> {
        self.inner.kb_gate.read().await
    }

    /// Reads the KB version and retrieves. When other processes write to the store
    /// ([`crate::VectorStore::concurrent_writers`]) the version is read again afterwards: every
    /// search statement saw one committed state, and if the version did not move they all saw
    /// `version`; if it moved, retrieval runs again (up to [`SNAPSHOT_TRIES`] times).
    pub(crate) async fn retrieve_one_version(
        &self,
        question: &str,
        scope: &crate::types::Scope,
    ) -> Result<(u64, crate::retrieve::Retrieval)> {
        use tracing::Instrument;
        let store = &self.inner.store;
        let mut tries = 0;
        loop {
            let version = store.kb_version().await?;
            let retrieval = self
                .inner
                .retriever
                .retrieve(question, scope)
                .instrument(tracing::info_span!("ragcore.retrieve"))
                .await?;
            if !store.concurrent_writers() || store.kb_version().await? == version {
                return Ok((version, retrieval));
            }
            tries += 1;
            if tries >= SNAPSHOT_TRIES {
                return Err(Error::Unavailable {
                    service: "knowledge base".into(),
                    message: format!(
                        "the knowledge base changed during each of {SNAPSHOT_TRIES} retrievals; retry"
                    ),
                });
            }
            tracing::debug!(target: "ragcore::retrieve", version, "KB version moved during retrieval; retrieving again");
        }
    }

    /// Holds the snapshot gate exclusively (writers: around the commit and index update).
    pub(crate) async fn write_snapshot(&self) -> tokio::sync::RwLockWriteGuard<'_, ()> {
        self.inner.kb_gate.write().await
    }

    /// Writes a new version whose live documents equal those of `to_version`, for one tenant
    /// (`Some`) or all of them (`None`). Stored chunks and vectors are reused, nothing is
    /// embedded, and the versions in between stay in the history (a rollback can be rolled
    /// back). Returns what changed; `kb_version` is the new version (unchanged when the live
    /// documents already equal those of `to_version`).
    pub async fn rollback(&self, tenant: Option<&str>, to_version: u64) -> Result<UpsertResult> {
        if let Some(t) = tenant {
            validate_ident("tenant", t)?;
        }
        let request = RollbackRequest {
            tenant: tenant.map(str::to_string),
            to_version,
            segmenter: self.inner.config.segmenter,
        };
        let _gate = self.write_snapshot().await;
        let res = self.inner.store.rollback(request).await?;
        tracing::info!(target: "ragcore::ingest", to_version, kb_version = res.kb_version,
            added = res.documents_added, changed = res.documents_changed,
            removed = res.documents_removed, "rollback committed");
        Ok(res)
    }

    /// Re-embeds every live chunk with this pipeline's embedder, in place, as a new version,
    /// and stores the embedder's fingerprint with the knowledge base. Use it after changing the
    /// embedder: open with [`crate::LocalOptions::reembed`] set (a normal open refuses a
    /// knowledge base built with another embedder). Versions before the re-embedding can no
    /// longer be restored by [`Pipeline::rollback`].
    pub async fn reembed(&self) -> Result<ReembedReport> {
        let texts = self.inner.store.live_chunk_texts().await?;
        let mut report = ReembedReport {
            embedder: self.inner.embedder.fingerprint().to_string(),
            ..Default::default()
        };
        let mut vectors = Vec::with_capacity(texts.len());
        for batch in texts.chunks(self.texts_per_embed_call()) {
            let resp = self
                .inner
                .embedder
                .embed(EmbedRequest {
                    texts: batch.iter().map(|t| t.text.clone()).collect(),
                    input_type: InputType::Passage,
                })
                .await?;
            if resp.vectors.len() != batch.len() {
                return Err(Error::Provider {
                    provider: "embedder".into(),
                    status: None,
                    retryable: false,
                    retry_after: None,
                    message: format!(
                        "asked for {} vectors, got {}; nothing was changed",
                        batch.len(),
                        resp.vectors.len()
                    ),
                });
            }
            report.embedding_tokens += resp.tokens;
            report.chunks_embedded += batch.len() as u64;
            vectors.extend(batch.iter().map(|t| t.row).zip(resp.vectors));
        }
        let _gate = self.write_snapshot().await;
        report.kb_version = self
            .inner
            .store
            .replace_vectors(ReplaceVectorsRequest {
                fingerprint: self.inner.embedder.fingerprint(),
                vectors,
            })
            .await?;
        tracing::info!(target: "ragcore::ingest", kb_version = report.kb_version,
            chunks = report.chunks_embedded, embedder = %report.embedder, "re-embedding committed");
        Ok(report)
    }
}

impl Pipeline {
    /// What one ask contributes to the drift statistics (`None` without a drift log). The
    /// question has been through the input guards, so personal data is already redacted; it
    /// is kept only when the ask ends unanswered. Takes the query vector out of `retrieval`.
    pub(crate) fn drift_sample(
        &self,
        question: &str,
        scope: &crate::types::Scope,
        retrieval: &mut crate::retrieve::Retrieval,
    ) -> Option<crate::drift::AskRecord> {
        self.inner.drift.as_ref()?;
        let top_score = retrieval.no_answer.top_similarity.or_else(|| {
            retrieval
                .hits
                .iter()
                .filter_map(|h| h.vector_score)
                .reduce(f32::max)
        });
        Some(crate::drift::AskRecord {
            day: crate::types::today(),
            tenant: scope.tenant.clone(),
            top_score,
            no_answer: false,
            query_vector: retrieval.query_vector.take(),
            question: Some(question.to_string()),
        })
    }

    /// Records an ask's drift sample with its outcome. A failure to record is logged, never
    /// fails the ask.
    pub(crate) async fn record_drift(
        &self,
        sample: Option<crate::drift::AskRecord>,
        no_answer: bool,
    ) {
        let (Some(log), Some(mut record)) = (&self.inner.drift, sample) else {
            return;
        };
        record.no_answer = no_answer;
        if !no_answer {
            record.question = None;
        }
        if let Err(e) = log.record(record).await {
            tracing::warn!(target: "ragcore::drift", "ask not recorded for drift statistics: {e}");
        }
    }

    /// Drift of the recent questions against the baseline window, and the FAQ gaps, for a
    /// tenant (a `Config` error when the pipeline has no drift log).
    pub async fn drift_report(
        &self,
        mut request: crate::drift::DriftReportRequest,
    ) -> Result<crate::drift::DriftReport> {
        validate_ident("tenant", &request.tenant)?;
        let Some(log) = &self.inner.drift else {
            return Err(Error::Config(
                "this pipeline has no drift log; add one with PipelineBuilder::drift_log".into(),
            ));
        };
        request.segmenter = self.inner.config.segmenter;
        log.report(request).await
    }
}
