//! The rerank stage's share of an answer: its tokens join the answer's usage and its cost is
//! priced at the reranker's model (the built-in reranker costs nothing).

use super::Pipeline;
use crate::cost::PriceRequest;
use crate::error::Result;
use crate::retrieve::Retrieval;
use crate::types::{Cost, Usage};

impl Pipeline {
    /// Adds what the reranker spent during `retrieval` to `usage` and `cost`.
    pub(crate) fn add_rerank_spend(
        &self,
        retrieval: &Retrieval,
        usage: &mut Usage,
        cost: &mut Cost,
    ) -> Result<()> {
        let Some(model) = &retrieval.rerank_model else {
            return Ok(());
        };
        let u = retrieval.rerank_usage;
        if u.prompt_tokens + u.completion_tokens + u.embedding_tokens == 0 {
            return Ok(());
        }
        let c = self.inner.cost.price(&PriceRequest {
            chat_model: model.clone(),
            embedding_model: String::new(),
            usage: u,
        })?;
        cost.add(&c);
        usage.add(&u);
        Ok(())
    }
}
