//! `askStream` and `costReport` for Node: an `AnswerStream` whose `next()` resolves to the next
//! event (`{ delta }` or `{ answer }`) or `null` at the end, and the cost ledger report.

use std::sync::Arc;

use futures::StreamExt;
use napi::bindgen_prelude::{PromiseRaw, Unknown};
use napi::Env;
use napi_derive::napi;
use ragcore::pipeline::StreamEvent as CoreEvent;
use ragcore::AskRequest;

use crate::convert;
use crate::errors::{promise, rejected, Failure};
use crate::kb::KnowledgeBase;
use crate::types::{Answer, Usage};

/// One event of `askStream`: a text `delta` as the model produces it, or the final `answer`
/// (always last; its text is authoritative).
#[napi(object, object_from_js = false)]
pub struct StreamEvent {
    /// A piece of the answer text.
    pub delta: Option<String>,
    /// The final answer.
    pub answer: Option<Answer>,
}

/// A streamed answer being read: `await stream.next()` until it returns `null`.
#[napi]
pub struct AnswerStream {
    inner: Arc<tokio::sync::Mutex<ragcore::pipeline::AnswerStream>>,
}

#[napi]
impl AnswerStream {
    /// The next event, or `null` at the end.
    #[napi(ts_return_type = "Promise<StreamEvent | null>")]
    pub fn next<'env>(
        &self,
        env: &'env Env,
    ) -> napi::Result<PromiseRaw<'env, Option<StreamEvent>>> {
        let inner = self.inner.clone();
        promise(env, async move {
            let mut s = inner.lock().await;
            Ok(match s.next().await {
                None => None,
                Some(ev) => Some(match ev? {
                    CoreEvent::Delta(d) => StreamEvent {
                        delta: Some(d),
                        answer: None,
                    },
                    CoreEvent::Answer(a) => StreamEvent {
                        delta: None,
                        answer: Some((*a).into()),
                    },
                }),
            })
        })
    }
}

/// One group of a cost report.
#[napi(object, object_from_js = false)]
pub struct CostRow {
    /// The tenant, model, day, feature or principal.
    pub key: String,
    /// Priced calls.
    pub requests: i64,
    /// Summed tokens.
    pub usage: Usage,
    /// Summed US dollars.
    pub cost_usd: f64,
}

#[napi]
impl KnowledgeBase {
    /// Like `ask`, streamed: resolves to an `AnswerStream` of text deltas then the answer.
    #[napi(
        ts_args_type = "question: string, scope?: ScopeOptions | null",
        ts_return_type = "Promise<AnswerStream>"
    )]
    pub fn ask_stream<'env>(
        &self,
        env: &'env Env,
        question: Option<Unknown<'env>>,
        scope: Option<Unknown<'env>>,
    ) -> napi::Result<PromiseRaw<'env, AnswerStream>> {
        let parsed = convert::string_arg(question, "question")
            .and_then(|q| Ok((q, convert::scope_arg(env, scope, "scope")?)));
        let (question, scope) = match parsed {
            Ok(p) => p,
            Err(failure) => return rejected(env, failure),
        };
        let pipeline = self.pipeline().clone();
        promise(env, async move {
            let s = pipeline
                .ask_stream(AskRequest::new(question, scope))
                .await?;
            Ok(AnswerStream {
                inner: Arc::new(tokio::sync::Mutex::new(s)),
            })
        })
    }

    /// Spend from the cost ledger grouped `by` tenant (default), model, day, feature or
    /// principal, most expensive first; `tenant` restricts it to one tenant.
    #[napi(
        ts_args_type = "by?: string | null, tenant?: string | null",
        ts_return_type = "Promise<CostRow[]>"
    )]
    pub fn cost_report<'env>(
        &self,
        env: &'env Env,
        by: Option<String>,
        tenant: Option<String>,
    ) -> napi::Result<PromiseRaw<'env, Vec<CostRow>>> {
        let pipeline = self.pipeline().clone();
        promise(env, async move {
            let by = ragcore::cost::ReportBy::parse(by.as_deref().unwrap_or("tenant"))?;
            let budgets = pipeline
                .budgets()
                .ok_or_else(|| Failure::from(ragcore::Error::Config("no cost ledger".into())))?;
            let rows = budgets
                .ledger()
                .report(ragcore::cost::ReportRequest {
                    by,
                    tenant,
                    since_ms: None,
                })
                .await?;
            Ok(rows
                .into_iter()
                .map(|r| CostRow {
                    key: r.key,
                    requests: i64::try_from(r.requests).unwrap_or(i64::MAX),
                    usage: r.usage.into(),
                    cost_usd: r.cost_usd,
                })
                .collect())
        })
    }
}
