//! Admission and settlement on the request path: before generation the estimated cost is
//! reserved against the budgets (and the rate limits are taken); after it every priced call is
//! written to the cost ledger and the reservation released. Also prices replies made of several
//! calls (a cascade's small model, then the large one).

use super::ask::AskState;
use super::Pipeline;
use crate::cost::{AdmitRequest, OverBudget, Spender, SpentCall};
use crate::error::{Error, Result};
use crate::llm::{ChatModel, ChatRequest, ChatResponse};
use crate::text::Tokenizer;
use crate::types::{Cost, Verdict, VerdictAction};

/// Output tokens assumed for a reservation when the request sets no `max_tokens`.
const DEFAULT_MAX_OUTPUT: u64 = 512;

impl Pipeline {
    /// Reserves the estimated cost of `chat_req`. `Ok(None)`: admitted (the admission is kept on
    /// the state); `Ok(Some(e))`: refused under the degrade policy; `Err`: refused under the
    /// error policy.
    pub(crate) async fn admit(
        &self,
        state: &mut AskState,
        chat_req: &ChatRequest,
    ) -> Result<Option<Error>> {
        let Some(budgets) = &self.inner.budgets else {
            return Ok(None);
        };
        let model = self.inner.chat.name();
        let spender = Spender::new(&state.scope, state.feature.as_deref());
        // Counting the rendered prompt is the costliest part of admission; only a rate limit or
        // a hard budget reads the estimate.
        let mut prompt_tokens = 0u64;
        if budgets.uses_estimate(&spender) {
            let tk = Tokenizer::for_model(&model);
            prompt_tokens = 3;
            for m in &chat_req.messages {
                prompt_tokens += tk.count(&m.content)? as u64 + 4;
            }
        }
        let request = AdmitRequest {
            spender,
            model,
            prompt_tokens,
            max_output_tokens: chat_req.max_tokens.map_or(DEFAULT_MAX_OUTPUT, u64::from),
        };
        match budgets.admit(request).await {
            Ok(a) => {
                state.admission = Some(a);
                Ok(None)
            }
            Err(e @ Error::BudgetExceeded { .. })
                if budgets.over_budget() == OverBudget::Degrade =>
            {
                Ok(Some(e))
            }
            Err(e) => Err(e),
        }
    }

    /// Admission, then the model (or the extractive answer when over budget by policy).
    pub(crate) async fn generate_admitted(
        &self,
        state: &mut AskState,
        chat_req: ChatRequest,
    ) -> Result<(ChatResponse, bool)> {
        match self.admit(state, &chat_req).await? {
            None => self.generate(state, chat_req).await,
            Some(e) => self.degrade_over_budget(state, chat_req, e).await,
        }
    }

    /// The extractive answer instead of a model call, flagged, with a `budget` verdict.
    pub(crate) async fn degrade_over_budget(
        &self,
        state: &mut AskState,
        chat_req: ChatRequest,
        e: Error,
    ) -> Result<(ChatResponse, bool)> {
        tracing::warn!(target: "ragcore::cost", error = %e, "over budget; answering extractively (degraded)");
        state.verdicts.push(Verdict {
            name: "budget".into(),
            stage: "admission".into(),
            action: VerdictAction::Annotate,
            detail: e.to_string(),
        });
        Ok((self.inner.fallback.chat(chat_req).await?, true))
    }

    /// Prices a reply: the final call with the request's embedding usage, plus every earlier
    /// call (a cascade's small model). Adds the earlier calls' usage to the state and returns the
    /// total cost and the calls for the ledger.
    pub(crate) fn price_reply(
        &self,
        state: &mut AskState,
        resp: &ChatResponse,
    ) -> Result<(Cost, Vec<SpentCall>)> {
        let main = self.price(&state.usage, &resp.model)?;
        let mut total = main;
        let mut calls = Vec::with_capacity(resp.calls.len() + 1);
        for c in &resp.calls {
            let cost = self.price(&c.usage, &c.model)?;
            total.add(&cost);
            state.usage.add(&c.usage);
            calls.push(SpentCall {
                model: c.model.clone(),
                usage: c.usage,
                cost_usd: cost.total_usd,
            });
        }
        let mut main_usage = state.usage;
        for c in &resp.calls {
            main_usage.prompt_tokens -= c.usage.prompt_tokens;
            main_usage.completion_tokens -= c.usage.completion_tokens;
            main_usage.cached_prompt_tokens -= c.usage.cached_prompt_tokens;
            main_usage.reasoning_tokens -= c.usage.reasoning_tokens;
            main_usage.embedding_tokens -= c.usage.embedding_tokens;
        }
        calls.push(SpentCall {
            model: resp.model.clone(),
            usage: main_usage,
            cost_usd: main.total_usd,
        });
        Ok((total, calls))
    }

    /// Writes the calls to the ledger and releases the reservation. A ledger failure is logged,
    /// not returned: the answer is already paid for and the reservation expires on its own.
    pub(crate) async fn settle_spend(&self, state: &AskState, calls: Vec<SpentCall>) {
        let Some(budgets) = &self.inner.budgets else {
            return;
        };
        let spender = Spender::new(&state.scope, state.feature.as_deref());
        if let Err(e) = budgets
            .settle(&spender, state.admission.as_ref(), calls)
            .await
        {
            tracing::error!(target: "ragcore::cost", error = %e, "could not write the cost ledger");
        }
    }
}
