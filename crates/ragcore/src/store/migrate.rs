//! Copying a local knowledge base into PostgreSQL (`ragcore migrate`): every live document,
//! chunk and stored vector (nothing is re-embedded) written as one new version, then the
//! document and chunk counts of every tenant compared.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::store::{LocalStore, PostgresStore, VectorStore};

/// What a migration copied.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MigrateReport {
    /// The target's version after the copy (unchanged when it already held everything).
    pub kb_version: u64,
    /// Tenants copied.
    pub tenants: Vec<String>,
    /// Live documents in the source (all tenants).
    pub documents: u64,
    /// Live chunks in the source (all tenants).
    pub chunks: u64,
    /// Documents the target did not hold before.
    pub documents_added: u64,
    /// Documents whose content the target held differently.
    pub documents_changed: u64,
    /// Documents the target already held unchanged.
    pub documents_unchanged: u64,
}

/// Copies `source` into `target` as one version and checks that every tenant's documents and
/// live chunks match afterwards. Running it again copies nothing (unchanged documents are
/// skipped); documents the target holds that the source does not are kept.
pub async fn migrate_local(source: &LocalStore, target: &PostgresStore) -> Result<MigrateReport> {
    let src_fp = source.info().await?.fingerprint;
    let dst_fp = target.info().await?.fingerprint;
    if src_fp != dst_fp {
        return Err(Error::Incompatible(format!(
            "the local knowledge base holds vectors of {src_fp}, the target is opened for {dst_fp}"
        )));
    }
    let requests = source.export_live().await?;
    let mut report = MigrateReport {
        tenants: requests.iter().map(|r| r.tenant.clone()).collect(),
        documents: requests.iter().map(|r| r.documents.len() as u64).sum(),
        chunks: requests
            .iter()
            .flat_map(|r| r.documents.iter())
            .map(|d| d.chunks.len() as u64)
            .sum(),
        ..Default::default()
    };
    let expected: Vec<(String, Vec<(String, String)>)> = requests
        .iter()
        .map(|r| {
            let mut docs: Vec<(String, String)> = r
                .documents
                .iter()
                .map(|d| (d.document.id.clone(), d.content_hash.clone()))
                .collect();
            docs.sort();
            (r.tenant.clone(), docs)
        })
        .collect();
    let res = target.import(requests, "migrate").await?;
    report.kb_version = res.kb_version;
    report.documents_added = res.documents_added;
    report.documents_changed = res.documents_changed;
    report.documents_unchanged = res.documents_unchanged;
    for (tenant, docs) in expected {
        let ids: Vec<String> = docs.iter().map(|d| d.0.clone()).collect();
        let mut got = target.document_hashes(&tenant, &ids).await?;
        got.sort();
        if got != docs {
            return Err(Error::Storage(format!(
                "migration check failed for tenant {tenant:?}: the source has {} documents, the \
                 target {} with the same content",
                docs.len(),
                got.len()
            )));
        }
    }
    let target_chunks = target.live_chunks_of(&report.tenants).await?;
    if target_chunks < report.chunks {
        return Err(Error::Storage(format!(
            "migration check failed: the source has {} live chunks, the target {target_chunks}",
            report.chunks
        )));
    }
    Ok(report)
}
