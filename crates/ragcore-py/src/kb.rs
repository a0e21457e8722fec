//! [`NativeKnowledgeBase`]: one opened knowledge base, with each operation in two forms, `*_async`
//! (returns an awaitable) and `*_blocking` (blocks with the GIL released). The Python classes
//! `ragcore.AsyncKnowledgeBase` and `ragcore.KnowledgeBase` wrap it and turn the dicts it
//! returns into typed objects.

use std::path::PathBuf;
use std::sync::Arc;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use ragcore::guard::VaultPurgeRequest;
use ragcore::pipeline::KnowledgeOp;
use ragcore::pipeline::{PseudonymizeRequest, RestoreRequest};
use ragcore::{AskRequest, Embedder, Guardrail, IngestRequest, LocalOptions, Pipeline, Scope};

use crate::callbacks::{PyChat, PyEmbedder, PyGuard};
use crate::convert::{self, to_json, type_name, Json};
use crate::errors::{capture, to_py_err, Settled};
use crate::runtime::{awaitable, block_on, in_forked_child};

/// An opened knowledge base (the native half of `ragcore.KnowledgeBase`).
///
/// It belongs to the process that opened it: after `fork()` the child must open the knowledge
/// base again (SQLite connections and the index's worker threads do not survive a fork), and
/// using the inherited handle raises a `StorageError`.
#[pyclass(frozen, module = "ragcore._ragcore")]
pub struct NativeKnowledgeBase {
    pipeline: Pipeline,
    path: PathBuf,
    owner_pid: u32,
}

impl Drop for NativeKnowledgeBase {
    /// In a forked child the pipeline is leaked instead of dropped: the parent's handles hold
    /// connections that belong to the parent, and dropping an HNSW index uses rayon's global
    /// thread pool, whose threads a child does not have (the drop would hang forever).
    fn drop(&mut self) {
        if in_forked_child() {
            std::mem::forget(self.pipeline.clone());
        }
    }
}

/// The `budgets=` and `cache=` arguments of `open`.
struct Limits<'a, 'py> {
    budgets: Option<&'a Bound<'py, PyAny>>,
    cache: Option<&'a Bound<'py, PyAny>>,
}

/// Everything `open` needs, read from the Python arguments while the GIL is held.
struct OpenArgs {
    path: PathBuf,
    options: LocalOptions,
}

impl OpenArgs {
    fn read(
        path: &Bound<'_, PyAny>,
        embedder: Option<&Bound<'_, PyAny>>,
        chat: Option<&Bound<'_, PyAny>>,
        guards: Option<&Bound<'_, PyAny>>,
        config: Option<&Bound<'_, PyAny>>,
        rerank: Option<&Bound<'_, PyAny>>,
        limits: Limits<'_, '_>,
    ) -> PyResult<Self> {
        if path.is_none() {
            return Err(PyTypeError::new_err(
                "path must be a str or os.PathLike (the knowledge-base directory), got None",
            ));
        }
        let path: PathBuf = path.extract().map_err(|_| {
            PyTypeError::new_err(format!(
                "path must be a str or os.PathLike (the knowledge-base directory), got {}",
                type_name(path)
            ))
        })?;
        let mut options = LocalOptions {
            config: convert::config(config)?,
            budgets: convert::budgets(limits.budgets)?,
            cache: convert::cache(limits.cache)?,
            ..LocalOptions::default()
        };
        if let Some(e) = embedder.filter(|e| !e.is_none()) {
            let e: Arc<dyn Embedder> = Arc::new(PyEmbedder::new(e)?);
            options.embedder = Some(e);
        }
        if let Some(c) = chat.filter(|c| !c.is_none()) {
            options.chat = Some(Arc::new(PyChat::new(c)?));
        }
        if let Some(gs) = guards.filter(|g| !g.is_none()) {
            let iter = gs.try_iter().map_err(|_| {
                PyTypeError::new_err(format!(
                    "guards must be a list of guard objects, got {}",
                    type_name(gs)
                ))
            })?;
            for g in iter {
                let guard = PyGuard::new(&g?)?;
                let (input, output) = (guard.input, guard.output);
                let guard: Arc<dyn Guardrail> = Arc::new(guard);
                if input {
                    options.input_guards.push(guard.clone());
                }
                if output {
                    options.output_guards.push(guard);
                }
            }
        }
        if let Some(r) = rerank.filter(|r| !r.is_none()) {
            let name = convert::required_str(r, "rerank")?;
            options.reranker = ragcore::retrieve::rerank::by_name(&name, options.config.segmenter)
                .map_err(|e| crate::errors::to_py_err(r.py(), &e))?;
        }
        Ok(OpenArgs { path, options })
    }

    async fn open(self) -> Settled<NativeKnowledgeBase> {
        let OpenArgs { path, options } = self;
        let opened = capture(Pipeline::open_local(path.clone(), options)).await;
        Settled(opened.map(|pipeline| NativeKnowledgeBase {
            pipeline,
            path,
            owner_pid: std::process::id(),
        }))
    }
}

fn admin_args(args: Option<&Bound<'_, PyAny>>) -> PyResult<serde_json::Value> {
    match args.filter(|a| !a.is_none()) {
        Some(a) => convert::py_to_json(a, "args"),
        None => Ok(serde_json::Value::Null),
    }
}

fn scope(tenant: &Bound<'_, PyAny>, principals: Option<&Bound<'_, PyAny>>) -> PyResult<Scope> {
    let tenant = convert::required_str(tenant, "tenant")?;
    let principals = convert::str_list(principals, "principals")?;
    Ok(Scope::tenant(tenant).with_principals(principals))
}

fn ingest_request(
    paths: Option<&Bound<'_, PyAny>>,
    documents: Option<&Bound<'_, PyAny>>,
    tenant: &Bound<'_, PyAny>,
    acl: Option<&Bound<'_, PyAny>>,
) -> PyResult<IngestRequest> {
    let paths: Vec<PathBuf> = match paths.filter(|p| !p.is_none()) {
        None => Vec::new(),
        Some(p) if p.is_instance_of::<pyo3::types::PyString>() => {
            return Err(PyTypeError::new_err(
                "paths must be a list of paths, got a single str (wrap it in a list)",
            ))
        }
        Some(p) => p.extract().map_err(|_| {
            PyTypeError::new_err(format!(
                "paths must be a list of str or os.PathLike, got {}",
                type_name(p)
            ))
        })?,
    };
    Ok(IngestRequest {
        paths,
        documents: convert::documents(documents)?,
        tenant: convert::required_str(tenant, "tenant")?,
        acl: convert::str_list(acl, "acl")?,
    })
}

impl NativeKnowledgeBase {
    /// The pipeline, refused in a process other than the one that opened it.
    fn pipeline(&self, py: Python<'_>) -> PyResult<Pipeline> {
        if self.owner_pid == std::process::id() {
            return Ok(self.pipeline.clone());
        }
        Err(to_py_err(
            py,
            &ragcore::Error::Storage(format!(
                "the knowledge base {} was opened in process {} and cannot be used after fork(); \
                 open it again in this process",
                self.path.display(),
                self.owner_pid
            )),
        ))
    }

    async fn ingest(pipeline: Pipeline, request: IngestRequest) -> Settled<Json> {
        Settled(capture(async move { to_json(&pipeline.ingest(request).await?) }).await)
    }

    async fn ask(pipeline: Pipeline, question: String, scope: Scope) -> Settled<Json> {
        let request = AskRequest::new(question, scope);
        Settled(capture(async move { to_json(&pipeline.ask(request).await?) }).await)
    }

    async fn knowledge(pipeline: Pipeline, op: String) -> Settled<Json> {
        Settled(
            capture(async move {
                let value = serde_json::from_str(&op).map_err(|e| {
                    ragcore::Error::invalid("knowledge operation", format!("not JSON: {e}"))
                })?;
                Ok(Json(
                    pipeline.knowledge(KnowledgeOp::from_json(value)?).await?,
                ))
            })
            .await,
        )
    }

    async fn ask_stream(
        pipeline: Pipeline,
        question: String,
        scope: Scope,
    ) -> Settled<crate::stream::NativeAnswerStream> {
        let request = AskRequest::new(question, scope);
        Settled(
            capture(async move {
                Ok(crate::stream::NativeAnswerStream::new(
                    pipeline.ask_stream(request).await?,
                ))
            })
            .await,
        )
    }

    async fn cost_report(pipeline: Pipeline, by: String, tenant: Option<String>) -> Settled<Json> {
        Settled(
            capture(async move {
                let by = ragcore::cost::ReportBy::parse(&by)?;
                let budgets = pipeline.budgets().ok_or_else(|| {
                    ragcore::Error::Config("this knowledge base has no cost ledger".into())
                })?;
                let rows = budgets
                    .ledger()
                    .report(ragcore::cost::ReportRequest {
                        by,
                        tenant,
                        since_ms: None,
                    })
                    .await?;
                to_json(&rows)
            })
            .await,
        )
    }

    async fn admin(pipeline: Pipeline, op: String, args: serde_json::Value) -> Settled<Json> {
        Settled(
            capture(async move { Ok(Json(ragcore::observe::admin(&pipeline, &op, args).await?)) })
                .await,
        )
    }

    async fn retrieve(pipeline: Pipeline, question: String, scope: Scope) -> Settled<Json> {
        Settled(capture(async move { to_json(&pipeline.retrieve(&question, &scope).await?) }).await)
    }

    async fn pseudonymize(pipeline: Pipeline, text: String, scope: Scope) -> Settled<Json> {
        let request = PseudonymizeRequest { text, scope };
        Settled(
            capture(async move {
                let r = pipeline.pseudonymize(request).await?;
                Ok(Json(serde_json::json!({
                    "text": r.text, "vault_id": r.vault_id, "placeholders": r.placeholders,
                })))
            })
            .await,
        )
    }

    async fn restore(pipeline: Pipeline, request: RestoreRequest) -> Settled<Json> {
        Settled(
            capture(async move { Ok(Json(serde_json::json!(pipeline.restore(request).await?))) })
                .await,
        )
    }

    async fn purge_vault(pipeline: Pipeline, request: VaultPurgeRequest) -> Settled<Json> {
        Settled(
            capture(async move {
                Ok(Json(serde_json::json!(
                    pipeline.purge_vault(request).await?
                )))
            })
            .await,
        )
    }
}

fn restore_request(
    text: &Bound<'_, PyAny>,
    tenant: &Bound<'_, PyAny>,
    vault_id: &Bound<'_, PyAny>,
) -> PyResult<RestoreRequest> {
    Ok(RestoreRequest {
        text: convert::required_str(text, "text")?,
        scope: Scope::tenant(convert::required_str(tenant, "tenant")?),
        vault_id: convert::required_str(vault_id, "vault_id")?,
    })
}

fn purge_request(
    tenant: Option<&Bound<'_, PyAny>>,
    expired_only: bool,
) -> PyResult<VaultPurgeRequest> {
    let tenant = match tenant.filter(|t| !t.is_none()) {
        Some(t) => Some(convert::required_str(t, "tenant")?),
        None => None,
    };
    Ok(VaultPurgeRequest {
        tenant,
        vault_id: None,
        expired_only,
    })
}

#[pymethods]
impl NativeKnowledgeBase {
    /// Opens (or creates) the knowledge base in `path`; returns an awaitable.
    #[staticmethod]
    #[pyo3(signature = (path, *, embedder=None, chat=None, guards=None, config=None, rerank=None, budgets=None, cache=None))]
    // One parameter per Python keyword argument: the signature is the Python API.
    #[allow(clippy::too_many_arguments)]
    fn open_async<'py>(
        py: Python<'py>,
        path: &Bound<'py, PyAny>,
        embedder: Option<&Bound<'py, PyAny>>,
        chat: Option<&Bound<'py, PyAny>>,
        guards: Option<&Bound<'py, PyAny>>,
        config: Option<&Bound<'py, PyAny>>,
        rerank: Option<&Bound<'py, PyAny>>,
        budgets: Option<&Bound<'py, PyAny>>,
        cache: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let limits = Limits { budgets, cache };
        let args = OpenArgs::read(path, embedder, chat, guards, config, rerank, limits)?;
        awaitable(py, args.open())
    }

    /// Opens (or creates) the knowledge base in `path`, blocking.
    #[staticmethod]
    #[pyo3(signature = (path, *, embedder=None, chat=None, guards=None, config=None, rerank=None, budgets=None, cache=None))]
    // One parameter per Python keyword argument: the signature is the Python API.
    #[allow(clippy::too_many_arguments)]
    fn open_blocking(
        py: Python<'_>,
        path: &Bound<'_, PyAny>,
        embedder: Option<&Bound<'_, PyAny>>,
        chat: Option<&Bound<'_, PyAny>>,
        guards: Option<&Bound<'_, PyAny>>,
        config: Option<&Bound<'_, PyAny>>,
        rerank: Option<&Bound<'_, PyAny>>,
        budgets: Option<&Bound<'_, PyAny>>,
        cache: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<NativeKnowledgeBase> {
        let limits = Limits { budgets, cache };
        let args = OpenArgs::read(path, embedder, chat, guards, config, rerank, limits)?;
        block_on(py, args.open())?.into_result(py)
    }

    /// Ingests files/directories and documents for a tenant; returns an awaitable of the
    /// report as a dict.
    #[pyo3(signature = (paths, documents, tenant, acl))]
    fn ingest_async<'py>(
        &self,
        py: Python<'py>,
        paths: Option<&Bound<'py, PyAny>>,
        documents: Option<&Bound<'py, PyAny>>,
        tenant: &Bound<'py, PyAny>,
        acl: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let request = ingest_request(paths, documents, tenant, acl)?;
        awaitable(py, Self::ingest(self.pipeline(py)?, request))
    }

    /// Ingests files/directories and documents for a tenant, blocking; returns the report as a
    /// dict.
    #[pyo3(signature = (paths, documents, tenant, acl))]
    fn ingest_blocking<'py>(
        &self,
        py: Python<'py>,
        paths: Option<&Bound<'py, PyAny>>,
        documents: Option<&Bound<'py, PyAny>>,
        tenant: &Bound<'py, PyAny>,
        acl: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let request = ingest_request(paths, documents, tenant, acl)?;
        block_on(py, Self::ingest(self.pipeline(py)?, request))?.into_pyobject(py)
    }

    /// Runs a knowledge operation given as JSON (`{"op": "rollback", "to_version": 3}`; ops:
    /// sync, versions, diff, documents, rollback, verify, repair, reembed, drift); returns an
    /// awaitable of the result.
    #[pyo3(signature = (op))]
    fn knowledge_async<'py>(&self, py: Python<'py>, op: String) -> PyResult<Bound<'py, PyAny>> {
        awaitable(py, Self::knowledge(self.pipeline(py)?, op))
    }

    /// Runs a knowledge operation given as JSON, blocking; returns the result.
    #[pyo3(signature = (op))]
    fn knowledge_blocking<'py>(&self, py: Python<'py>, op: String) -> PyResult<Bound<'py, PyAny>> {
        block_on(py, Self::knowledge(self.pipeline(py)?, op))?.into_pyobject(py)
    }

    /// Answers a question within a scope; returns an awaitable of the answer as a dict.
    #[pyo3(signature = (question, tenant, principals))]
    fn ask_async<'py>(
        &self,
        py: Python<'py>,
        question: &Bound<'py, PyAny>,
        tenant: &Bound<'py, PyAny>,
        principals: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let question = convert::required_str(question, "question")?;
        let scope = scope(tenant, principals)?;
        awaitable(py, Self::ask(self.pipeline(py)?, question, scope))
    }

    /// Answers a question within a scope, blocking; returns the answer as a dict.
    #[pyo3(signature = (question, tenant, principals))]
    fn ask_blocking<'py>(
        &self,
        py: Python<'py>,
        question: &Bound<'py, PyAny>,
        tenant: &Bound<'py, PyAny>,
        principals: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let question = convert::required_str(question, "question")?;
        let scope = scope(tenant, principals)?;
        block_on(py, Self::ask(self.pipeline(py)?, question, scope))?.into_pyobject(py)
    }

    /// Streams the answer to a question; returns an awaitable of a `NativeAnswerStream`.
    #[pyo3(signature = (question, tenant, principals))]
    fn ask_stream_async<'py>(
        &self,
        py: Python<'py>,
        question: &Bound<'py, PyAny>,
        tenant: &Bound<'py, PyAny>,
        principals: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let question = convert::required_str(question, "question")?;
        let scope = scope(tenant, principals)?;
        awaitable(py, Self::ask_stream(self.pipeline(py)?, question, scope))
    }

    /// Streams the answer to a question, blocking until the stream is open.
    #[pyo3(signature = (question, tenant, principals))]
    fn ask_stream_blocking<'py>(
        &self,
        py: Python<'py>,
        question: &Bound<'py, PyAny>,
        tenant: &Bound<'py, PyAny>,
        principals: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let question = convert::required_str(question, "question")?;
        let scope = scope(tenant, principals)?;
        block_on(py, Self::ask_stream(self.pipeline(py)?, question, scope))?.into_pyobject(py)
    }

    /// Spend from the cost ledger grouped `by` tenant, model, day, feature or principal;
    /// returns an awaitable of a list of row dicts.
    #[pyo3(signature = (by, tenant))]
    fn cost_report_async<'py>(
        &self,
        py: Python<'py>,
        by: String,
        tenant: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        awaitable(py, Self::cost_report(self.pipeline(py)?, by, tenant))
    }

    /// Spend from the cost ledger, blocking; returns a list of row dicts.
    #[pyo3(signature = (by, tenant))]
    fn cost_report_blocking<'py>(
        &self,
        py: Python<'py>,
        by: String,
        tenant: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        block_on(py, Self::cost_report(self.pipeline(py)?, by, tenant))?.into_pyobject(py)
    }

    /// Retrieves the passages for a question; returns an awaitable of a list of hit dicts.
    #[pyo3(signature = (question, tenant, principals))]
    fn retrieve_async<'py>(
        &self,
        py: Python<'py>,
        question: &Bound<'py, PyAny>,
        tenant: &Bound<'py, PyAny>,
        principals: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let question = convert::required_str(question, "question")?;
        let scope = scope(tenant, principals)?;
        awaitable(py, Self::retrieve(self.pipeline(py)?, question, scope))
    }

    /// Retrieves the passages for a question, blocking; returns a list of hit dicts.
    #[pyo3(signature = (question, tenant, principals))]
    fn retrieve_blocking<'py>(
        &self,
        py: Python<'py>,
        question: &Bound<'py, PyAny>,
        tenant: &Bound<'py, PyAny>,
        principals: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let question = convert::required_str(question, "question")?;
        let scope = scope(tenant, principals)?;
        block_on(py, Self::retrieve(self.pipeline(py)?, question, scope))?.into_pyobject(py)
    }

    /// Replaces personal data with `<KIND_N>` placeholders kept in the tenant's vault; returns
    /// an awaitable of `{"text", "vault_id", "placeholders"}`.
    #[pyo3(signature = (text, tenant))]
    fn pseudonymize_async<'py>(
        &self,
        py: Python<'py>,
        text: &Bound<'py, PyAny>,
        tenant: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let text = convert::required_str(text, "text")?;
        let scope = Scope::tenant(convert::required_str(tenant, "tenant")?);
        awaitable(py, Self::pseudonymize(self.pipeline(py)?, text, scope))
    }

    /// `pseudonymize`, blocking.
    #[pyo3(signature = (text, tenant))]
    fn pseudonymize_blocking<'py>(
        &self,
        py: Python<'py>,
        text: &Bound<'py, PyAny>,
        tenant: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let text = convert::required_str(text, "text")?;
        let scope = Scope::tenant(convert::required_str(tenant, "tenant")?);
        block_on(py, Self::pseudonymize(self.pipeline(py)?, text, scope))?.into_pyobject(py)
    }

    /// Fills the tenant's placeholders of `vault_id` back into `text`; returns an awaitable of
    /// the text.
    #[pyo3(signature = (text, tenant, vault_id))]
    fn restore_async<'py>(
        &self,
        py: Python<'py>,
        text: &Bound<'py, PyAny>,
        tenant: &Bound<'py, PyAny>,
        vault_id: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let request = restore_request(text, tenant, vault_id)?;
        awaitable(py, Self::restore(self.pipeline(py)?, request))
    }

    /// `restore`, blocking.
    #[pyo3(signature = (text, tenant, vault_id))]
    fn restore_blocking<'py>(
        &self,
        py: Python<'py>,
        text: &Bound<'py, PyAny>,
        tenant: &Bound<'py, PyAny>,
        vault_id: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let request = restore_request(text, tenant, vault_id)?;
        block_on(py, Self::restore(self.pipeline(py)?, request))?.into_pyobject(py)
    }

    /// Deletes vault entries (expired ones, or all of a tenant's); returns an awaitable of the
    /// count.
    #[pyo3(signature = (tenant, expired_only))]
    fn purge_vault_async<'py>(
        &self,
        py: Python<'py>,
        tenant: Option<&Bound<'py, PyAny>>,
        expired_only: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let request = purge_request(tenant, expired_only)?;
        awaitable(py, Self::purge_vault(self.pipeline(py)?, request))
    }

    /// `purge_vault`, blocking.
    #[pyo3(signature = (tenant, expired_only))]
    fn purge_vault_blocking<'py>(
        &self,
        py: Python<'py>,
        tenant: Option<&Bound<'py, PyAny>>,
        expired_only: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let request = purge_request(tenant, expired_only)?;
        block_on(py, Self::purge_vault(self.pipeline(py)?, request))?.into_pyobject(py)
    }

    /// The guard policy in force, as a dict (`config={"guards": ...}` sets it).
    #[getter]
    fn guard_policy<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let v = serde_json::to_value(self.pipeline.guard_policy())
            .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))?;
        convert::json_to_py(py, &v)
    }

    /// A prompt, event or evaluation operation by name with a dict of arguments
    /// (`ragcore::observe::admin`); returns an awaitable of the result.
    #[pyo3(signature = (op, args=None))]
    fn admin_async<'py>(
        &self,
        py: Python<'py>,
        op: String,
        args: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let args = admin_args(args)?;
        awaitable(py, Self::admin(self.pipeline(py)?, op, args))
    }

    /// A prompt, event or evaluation operation by name, blocking; returns the result.
    #[pyo3(signature = (op, args=None))]
    fn admin_blocking<'py>(
        &self,
        py: Python<'py>,
        op: String,
        args: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let args = admin_args(args)?;
        block_on(py, Self::admin(self.pipeline(py)?, op, args))?.into_pyobject(py)
    }

    /// The metrics of this knowledge base's asks in the Prometheus text format.
    fn metrics_text(&self, py: Python<'_>) -> PyResult<String> {
        self.pipeline(py)?
            .metrics_text()
            .map_err(|e| to_py_err(py, &e))
    }

    /// The knowledge-base directory.
    #[getter]
    fn path(&self) -> PathBuf {
        self.path.clone()
    }

    /// The chat model's name (`extractive` for the offline answerer).
    #[getter]
    fn model(&self) -> String {
        self.pipeline.model_name()
    }

    /// The embedding space: `{"model", "dimensions", "normalized"}`.
    #[getter]
    fn embedder<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let fingerprint = self.pipeline.embedder().fingerprint();
        convert::json_to_py(
            py,
            &serde_json::json!({
                "model": fingerprint.model,
                "dimensions": fingerprint.dimensions,
                "normalized": fingerprint.normalized,
            }),
        )
    }

    fn __repr__(&self) -> String {
        format!(
            "NativeKnowledgeBase(path={:?}, embedder={}, chat={:?})",
            self.path.display().to_string(),
            self.pipeline.embedder().fingerprint(),
            self.pipeline.model_name()
        )
    }
}
