//! The rerank stage's share of an answer: its tokens join the answer's usage, its cost is
//! priced at the reranker's model (the built-in reranker costs nothing) and it is settled
//! against the budgets like the generation call.

use super::Pipeline;
use crate::cost::{PriceRequest, SpentCall};
use crate::error::Result;
use crate::retrieve::Retrieval;
use crate::types::{Cost, Usage};

impl Pipeline {
    /// Adds what the reranker spent during `retrieval` to `usage` and `cost`, and returns it
    /// as a call to settle against the budgets (None when it spent nothing).
    pub(crate) fn add_rerank_spend(
        &self,
        retrieval: &Retrieval,
        usage: &mut Usage,
        cost: &mut Cost,
    ) -> Result<Option<SpentCall>> {
        let Some(model) = &retrieval.rerank_model else {
            return Ok(None);
        };
        let u = retrieval.rerank_usage;
        if u.prompt_tokens + u.completion_tokens + u.embedding_tokens == 0 {
            return Ok(None);
        }
        let c = self.inner.cost.price(&PriceRequest {
            chat_model: model.clone(),
            embedding_model: String::new(),
            usage: u,
        })?;
        cost.add(&c);
        usage.add(&u);
        Ok(Some(SpentCall {
            model: model.clone(),
            usage: u,
            cost_usd: c.total_usd,
        }))
    }
}
