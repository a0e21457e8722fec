//! Knowledge operations as data, for the bindings: one [`KnowledgeOp`] (deserialised from the
//! caller's arguments) runs the matching pipeline or store call and returns its result as JSON,
//! so the Python and Node wrappers only convert values and map errors.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{Pipeline, SyncRequest};
use crate::drift::DriftReportRequest;
use crate::error::{Error, Result};

/// One knowledge operation and its arguments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum KnowledgeOp {
    /// [`Pipeline::sync`].
    Sync {
        /// The directory.
        root: PathBuf,
        /// The tenant.
        tenant: String,
        /// Principals for documents without their own ACL.
        #[serde(default)]
        acl: Vec<String>,
        /// Commit nothing when a file fails.
        #[serde(default)]
        strict: bool,
    },
    /// Every version ([`crate::VectorStore::versions`]).
    Versions,
    /// Documents added, changed and removed between two versions.
    Diff {
        /// The tenant.
        tenant: String,
        /// The older version (exclusive).
        from: u64,
        /// The newer version (inclusive).
        to: u64,
    },
    /// The live documents of a tenant.
    Documents {
        /// The tenant.
        tenant: String,
    },
    /// [`Pipeline::rollback`].
    Rollback {
        /// The tenant (`None`: all).
        #[serde(default)]
        tenant: Option<String>,
        /// The version to restore.
        to_version: u64,
    },
    /// Consistency check of the ledger, chunks, vectors and indexes.
    Verify,
    /// Fixes what verify found and verifies again.
    Repair,
    /// [`Pipeline::reembed`].
    Reembed,
    /// [`Pipeline::drift_report`].
    Drift {
        /// The tenant.
        tenant: String,
        /// Days in the recent window (default 7).
        #[serde(default)]
        recent_days: Option<u32>,
        /// Days in the baseline window (default 28).
        #[serde(default)]
        baseline_days: Option<u32>,
        /// Last day of the recent window (default today).
        #[serde(default)]
        today: Option<String>,
    },
}

fn json<T: Serialize>(v: &T) -> Result<serde_json::Value> {
    serde_json::to_value(v).map_err(|e| Error::Internal(format!("cannot serialise a result: {e}")))
}

impl KnowledgeOp {
    /// Parses an operation from JSON (`{"op": "rollback", "to_version": 3}`), saying what is
    /// wrong with it.
    pub fn from_json(value: serde_json::Value) -> Result<Self> {
        serde_json::from_value(value)
            .map_err(|e| Error::invalid("knowledge operation", e.to_string()))
    }
}

impl Pipeline {
    /// Runs one knowledge operation and returns its result as JSON.
    pub async fn knowledge(&self, op: KnowledgeOp) -> Result<serde_json::Value> {
        let store = &self.inner.store;
        match op {
            KnowledgeOp::Sync {
                root,
                tenant,
                acl,
                strict,
            } => json(
                &self
                    .sync(SyncRequest {
                        root,
                        tenant,
                        acl,
                        strict,
                    })
                    .await?,
            ),
            KnowledgeOp::Versions => json(&store.versions().await?),
            KnowledgeOp::Diff { tenant, from, to } => json(&store.diff(&tenant, from, to).await?),
            KnowledgeOp::Documents { tenant } => json(&store.documents(&tenant).await?),
            KnowledgeOp::Rollback { tenant, to_version } => {
                json(&self.rollback(tenant.as_deref(), to_version).await?)
            }
            KnowledgeOp::Verify => json(&store.verify().await?),
            KnowledgeOp::Repair => json(&store.repair().await?),
            KnowledgeOp::Reembed => json(&self.reembed().await?),
            KnowledgeOp::Drift {
                tenant,
                recent_days,
                baseline_days,
                today,
            } => {
                let mut req = DriftReportRequest::new(tenant);
                if let Some(d) = recent_days {
                    req.recent_days = d;
                }
                if let Some(d) = baseline_days {
                    req.baseline_days = d;
                }
                req.today = today;
                json(&self.drift_report(req).await?)
            }
        }
    }
}
