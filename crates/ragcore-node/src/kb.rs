//! The `KnowledgeBase` class: a thin wrapper over a core [`Pipeline`]. Every method returns a
//! Promise; failures (bad arguments included) reject it with a coded error (see
//! [`crate::errors`]).

use napi::bindgen_prelude::{PromiseRaw, Unknown};
use napi::Env;
use napi_derive::napi;
use ragcore::guard::VaultPurgeRequest;
use ragcore::pipeline::{PseudonymizeRequest, RestoreRequest};
use ragcore::{AskRequest, Pipeline};

use crate::convert;
use crate::errors::{promise, rejected, Failure};
use crate::types::{Answer, Hit, IngestReport, Pseudonymized};

/// A knowledge base in a directory on disk (SQLite + HNSW), queried with hybrid retrieval and
/// answered with citations. Create one with `KnowledgeBase.open()`.
#[napi]
pub struct KnowledgeBase {
    pipeline: Pipeline,
}

impl KnowledgeBase {
    /// The core pipeline (for the other modules' methods).
    pub(crate) fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }
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
            Ok((path, convert::open_options(env, options)?))
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

    /// Runs one knowledge operation, given as a plain object `{op, ...arguments}` with the core's
    /// snake_case names: `{op: "sync", root, tenant, acl?, strict?}`, `{op: "versions"}`,
    /// `{op: "diff", tenant, from, to}`, `{op: "documents", tenant}`,
    /// `{op: "rollback", to_version, tenant?}` (no tenant: all), `{op: "verify"}`,
    /// `{op: "repair"}`, `{op: "reembed"}`, `{op: "drift", tenant, recent_days?, baseline_days?}`.
    /// Resolves to the core's result as a plain object (snake_case keys).
    #[napi(
        ts_args_type = "op: KnowledgeOpShape & Record<string, unknown>",
        ts_return_type = "Promise<any>"
    )]
    pub fn knowledge<'env>(
        &self,
        env: &'env Env,
        op: Option<Unknown<'env>>,
    ) -> napi::Result<PromiseRaw<'env, serde_json::Value>> {
        let op = match crate::knowledge::op_arg(env, op) {
            Ok(op) => op,
            Err(failure) => return rejected(env, failure),
        };
        let pipeline = self.pipeline.clone();
        promise(env, async move { Ok(pipeline.knowledge(op).await?) })
    }

    /// Replaces personal data in `text` with `<EMAIL_1>`-style placeholders kept in the scope's
    /// tenant's vault.
    #[napi(
        ts_args_type = "text: string, scope?: ScopeOptions | null",
        ts_return_type = "Promise<Pseudonymized>"
    )]
    pub fn pseudonymize<'env>(
        &self,
        env: &'env Env,
        text: Option<Unknown<'env>>,
        scope: Option<Unknown<'env>>,
    ) -> napi::Result<PromiseRaw<'env, Pseudonymized>> {
        let parsed = convert::string_arg(text, "text")
            .and_then(|t| Ok((t, convert::scope_arg(env, scope, "scope")?)));
        let (text, scope) = match parsed {
            Ok(p) => p,
            Err(failure) => return rejected(env, failure),
        };
        let pipeline = self.pipeline.clone();
        promise(env, async move {
            let r = pipeline
                .pseudonymize(PseudonymizeRequest { text, scope })
                .await?;
            Ok(Pseudonymized {
                text: r.text,
                vault_id: r.vault_id,
                placeholders: r.placeholders,
            })
        })
    }

    /// Fills the placeholders of `vaultId` back into `text`, from the scope's tenant's vault
    /// only (another tenant's or an expired id leaves the text unchanged).
    #[napi(
        ts_args_type = "text: string, vaultId: string, scope?: ScopeOptions | null",
        ts_return_type = "Promise<string>"
    )]
    pub fn restore<'env>(
        &self,
        env: &'env Env,
        text: Option<Unknown<'env>>,
        vault_id: Option<Unknown<'env>>,
        scope: Option<Unknown<'env>>,
    ) -> napi::Result<PromiseRaw<'env, String>> {
        let parsed = convert::string_arg(text, "text").and_then(|t| {
            Ok(RestoreRequest {
                text: t,
                vault_id: convert::string_arg(vault_id, "vaultId")?,
                scope: convert::scope_arg(env, scope, "scope")?,
            })
        });
        let request = match parsed {
            Ok(r) => r,
            Err(failure) => return rejected(env, failure),
        };
        let pipeline = self.pipeline.clone();
        promise(env, async move { Ok(pipeline.restore(request).await?) })
    }

    /// Deletes the vault entries of `tenant` (all of them) or, without a tenant, every expired
    /// entry; resolves to the number deleted.
    #[napi(
        ts_args_type = "tenant?: string | null",
        ts_return_type = "Promise<number>"
    )]
    pub fn purge_vault<'env>(
        &self,
        env: &'env Env,
        tenant: Option<Unknown<'env>>,
    ) -> napi::Result<PromiseRaw<'env, u32>> {
        let tenant = match tenant.filter(|t| !convert::is_nullish(t)) {
            None => None,
            Some(t) => match convert::string_arg(Some(t), "tenant") {
                Ok(t) => Some(t),
                Err(failure) => return rejected(env, failure),
            },
        };
        let request = VaultPurgeRequest {
            expired_only: tenant.is_none(),
            tenant,
            vault_id: None,
        };
        let pipeline = self.pipeline.clone();
        promise(env, async move {
            let n = pipeline.purge_vault(request).await?;
            Ok(u32::try_from(n).unwrap_or(u32::MAX))
        })
    }

    /// The guard policy in force (set it with the `guardPolicy` open option).
    #[napi(getter, ts_return_type = "Record<string, unknown>")]
    pub fn guard_policy(&self) -> napi::Result<serde_json::Value> {
        serde_json::to_value(self.pipeline.guard_policy())
            .map_err(|e| napi::Error::from_reason(e.to_string()))
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
