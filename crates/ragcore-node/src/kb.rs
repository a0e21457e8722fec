//! The `KnowledgeBase` class: a thin wrapper over a core [`Pipeline`]. Every method returns a
//! Promise; failures (bad arguments included) reject it with a coded error (see
//! [`crate::errors`]).

use napi::bindgen_prelude::{PromiseRaw, Unknown};
use napi::Env;
use napi_derive::napi;
use ragcore::{AskRequest, Pipeline};

use crate::convert;
use crate::errors::{promise, rejected, Failure};
use crate::types::{Answer, Hit, IngestReport};

/// A knowledge base in a directory on disk (SQLite + HNSW), queried with hybrid retrieval and
/// answered with citations. Create one with `KnowledgeBase.open()`.
#[napi]
pub struct KnowledgeBase {
    pipeline: Pipeline,
}

#[napi]
impl KnowledgeBase {
    /// Opens (or creates) the knowledge base in directory `path`. Without options it runs
    /// offline: the hashing embedder, the extractive answerer and the built-in guards.
    #[napi(
        ts_args_type = "path: string, options?: OpenOptions | null",
        ts_return_type = "Promise<KnowledgeBase>"
    )]
    pub fn open<'env>(
        env: &'env Env,
        path: Option<Unknown<'env>>,
        options: Option<Unknown<'env>>,
    ) -> napi::Result<PromiseRaw<'env, KnowledgeBase>> {
        let parsed = convert::string_arg(path, "path").and_then(|path| {
            if path.trim().is_empty() {
                return Err(Failure::invalid("path", "must not be empty"));
            }
            Ok((path, convert::open_options(options)?))
        });
        let (path, options) = match parsed {
            Ok(p) => p,
            Err(failure) => return rejected(env, failure),
        };
        promise(env, async move {
            let pipeline = Pipeline::open_local(path, options).await?;
            Ok(KnowledgeBase { pipeline })
        })
    }

    /// Adds files, directories and/or documents as one new knowledge-base version. Files and
    /// documents that cannot be used are listed in `errors`; the rest is ingested.
    #[napi(
        ts_args_type = "request: IngestOptions",
        ts_return_type = "Promise<IngestReport>"
    )]
    pub fn ingest<'env>(
        &self,
        env: &'env Env,
        request: Option<Unknown<'env>>,
    ) -> napi::Result<PromiseRaw<'env, IngestReport>> {
        let request = match convert::ingest_arg(env, request) {
            Ok(r) => r,
            Err(failure) => return rejected(env, failure),
        };
        let pipeline = self.pipeline.clone();
        promise(
            env,
            async move { Ok(pipeline.ingest(request).await?.into()) },
        )
    }

    /// Answers `question` from what the scope may see, with citations; refuses honestly
    /// (`noAnswer: true`) when the knowledge base has nothing relevant.
    #[napi(
        ts_args_type = "question: string, scope?: ScopeOptions | null",
        ts_return_type = "Promise<Answer>"
    )]
    pub fn ask<'env>(
        &self,
        env: &'env Env,
        question: Option<Unknown<'env>>,
        scope: Option<Unknown<'env>>,
    ) -> napi::Result<PromiseRaw<'env, Answer>> {
        let parsed = convert::string_arg(question, "question")
            .and_then(|q| Ok((q, convert::scope_arg(env, scope, "scope")?)));
        let (question, scope) = match parsed {
            Ok(p) => p,
            Err(failure) => return rejected(env, failure),
        };
        let pipeline = self.pipeline.clone();
        promise(env, async move {
            Ok(pipeline.ask(AskRequest::new(question, scope)).await?.into())
        })
    }

    /// The passages `question` would be answered from, best first, without generating.
    #[napi(
        ts_args_type = "question: string, scope?: ScopeOptions | null",
        ts_return_type = "Promise<Hit[]>"
    )]
    pub fn retrieve<'env>(
        &self,
        env: &'env Env,
        question: Option<Unknown<'env>>,
        scope: Option<Unknown<'env>>,
    ) -> napi::Result<PromiseRaw<'env, Vec<Hit>>> {
        let parsed = convert::string_arg(question, "question")
            .and_then(|q| Ok((q, convert::scope_arg(env, scope, "scope")?)));
        let (question, scope) = match parsed {
            Ok(p) => p,
            Err(failure) => return rejected(env, failure),
        };
        let pipeline = self.pipeline.clone();
        promise(env, async move {
            let hits = pipeline.retrieve(&question, &scope).await?;
            Ok(hits.into_iter().map(Hit::from).collect())
        })
    }

    /// Prompt registry, event log and evaluation operations by name with an object of
    /// arguments (the same operations as `ragcore::observe::admin` in Rust and `kb.prompts()`,
    /// `kb.save_prompt()`, ... in Python): `prompts`, `get_prompt`, `save_prompt`,
    /// `set_prompt_label`, `rollback_prompt`, `diff_prompts`, `export_prompts`, `import_prompts`,
    /// `events`, `evaluate`. Argument keys are snake_case, as in the Rust structs.
    #[napi(
        ts_args_type = "op: string, args?: Record<string, unknown> | null",
        ts_return_type = "Promise<any>"
    )]
    pub fn admin<'env>(
        &self,
        env: &'env Env,
        op: String,
        args: Option<serde_json::Value>,
    ) -> napi::Result<PromiseRaw<'env, serde_json::Value>> {
        let pipeline = self.pipeline.clone();
        promise(env, async move {
            let args = args.unwrap_or(serde_json::Value::Null);
            Ok(ragcore::observe::admin(&pipeline, &op, args).await?)
        })
    }

    /// The metrics of this handle's asks in the Prometheus text format.
    #[napi]
    pub fn metrics_text(&self, env: &Env) -> napi::Result<String> {
        self.pipeline
            .metrics_text()
            .map_err(|e| Failure::from(e).into_js(env))
    }
}
