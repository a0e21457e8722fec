//! [`NativeKnowledgeBase`]: one opened knowledge base, with each operation in two forms, `*_async`
//! (returns an awaitable) and `*_blocking` (blocks with the GIL released). The Python classes
//! `ragcore.AsyncKnowledgeBase` and `ragcore.KnowledgeBase` wrap it and turn the dicts it
//! returns into typed objects.

use std::path::PathBuf;
use std::sync::Arc;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
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

    async fn retrieve(pipeline: Pipeline, question: String, scope: Scope) -> Settled<Json> {
        Settled(capture(async move { to_json(&pipeline.retrieve(&question, &scope).await?) }).await)
    }
}

#[pymethods]
impl NativeKnowledgeBase {
    /// Opens (or creates) the knowledge base in `path`; returns an awaitable.
    #[staticmethod]
    #[pyo3(signature = (path, *, embedder=None, chat=None, guards=None, config=None, rerank=None))]
    fn open_async<'py>(
        py: Python<'py>,
        path: &Bound<'py, PyAny>,
        embedder: Option<&Bound<'py, PyAny>>,
        chat: Option<&Bound<'py, PyAny>>,
        guards: Option<&Bound<'py, PyAny>>,
        config: Option<&Bound<'py, PyAny>>,
        rerank: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let args = OpenArgs::read(path, embedder, chat, guards, config, rerank)?;
        awaitable(py, args.open())
    }

    /// Opens (or creates) the knowledge base in `path`, blocking.
    #[staticmethod]
    #[pyo3(signature = (path, *, embedder=None, chat=None, guards=None, config=None, rerank=None))]
    fn open_blocking(
        py: Python<'_>,
        path: &Bound<'_, PyAny>,
        embedder: Option<&Bound<'_, PyAny>>,
        chat: Option<&Bound<'_, PyAny>>,
        guards: Option<&Bound<'_, PyAny>>,
        config: Option<&Bound<'_, PyAny>>,
        rerank: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<NativeKnowledgeBase> {
        let args = OpenArgs::read(path, embedder, chat, guards, config, rerank)?;
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
