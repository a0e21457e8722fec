//! LLM as reranker: any [`ChatModel`] is shown the numbered passages and asked for their order.

use std::sync::Arc;

use async_trait::async_trait;

use super::{RerankRequest, RerankResponse, Reranker};
use crate::error::Result;
use crate::llm::{ChatMessage, ChatModel, ChatRequest, Role};

/// Characters of each passage shown to the model.
const PASSAGE_CHARS: usize = 600;

/// Asks a chat model to order the passages by relevance; passages it leaves out keep their
/// retrieval order after the ones it ranked.
#[derive(Clone)]
pub struct LlmReranker {
    model: Arc<dyn ChatModel>,
}

impl std::fmt::Debug for LlmReranker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmReranker")
            .field("model", &self.model.name())
            .finish()
    }
}

impl LlmReranker {
    /// A reranker over `model`.
    pub fn new(model: Arc<dyn ChatModel>) -> Self {
        LlmReranker { model }
    }
}

/// Passage numbers (1-based) in the order the model gave them, each once, in range.
fn parse_order(text: &str, n: usize) -> Vec<usize> {
    let mut out = Vec::new();
    for tok in text.split(|c: char| !c.is_ascii_digit()) {
        if let Ok(i) = tok.parse::<usize>() {
            if (1..=n).contains(&i) && !out.contains(&(i - 1)) {
                out.push(i - 1);
            }
        }
    }
    out
}

#[async_trait]
impl Reranker for LlmReranker {
    fn name(&self) -> String {
        self.model.name()
    }

    async fn rerank(&self, request: RerankRequest) -> Result<RerankResponse> {
        let RerankRequest {
            question,
            hits,
            top_k,
        } = request;
        if hits.len() < 2 {
            return Ok(RerankResponse {
                hits,
                model: self.name(),
                usage: Default::default(),
            });
        }
        let mut listing = String::new();
        for (i, h) in hits.iter().enumerate() {
            let text: String = h.text.chars().take(PASSAGE_CHARS).collect();
            listing.push_str(&format!("[{}] {}\n{}\n\n", i + 1, h.title, text));
        }
        let user = format!(
            "Question: {question}\n\nPassages:\n{listing}Reply with the numbers of the {} passages most \
             useful for answering the question, most useful first, separated by commas. Reply with \
             numbers only.",
            top_k.min(hits.len())
        );
        let resp = self
            .model
            .chat(ChatRequest {
                messages: vec![
                    ChatMessage {
                        role: Role::System,
                        content: "You rank passages by how well they answer a question.".into(),
                    },
                    ChatMessage {
                        role: Role::User,
                        content: user,
                    },
                ],
                question,
                max_tokens: Some(64),
                temperature: Some(0.0),
                ..Default::default()
            })
            .await?;
        let order = parse_order(&resp.text, hits.len());
        let n = hits.len();
        let mut scores = vec![0.0f32; n];
        for (rank, &i) in order.iter().enumerate() {
            scores[i] = (n + n - rank) as f32;
        }
        for (i, s) in scores.iter_mut().enumerate() {
            if *s == 0.0 {
                *s = (n - i) as f32;
            }
        }
        let max = (2 * n) as f32;
        let scores: Vec<f32> = scores.iter().map(|s| s / max).collect();
        Ok(RerankResponse {
            hits: super::reorder(hits, &scores),
            model: resp.model,
            usage: resp.usage,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::parse_order;

    #[test]
    fn order_is_parsed_once_each_and_in_range() {
        assert_eq!(parse_order("3, 1, 3, 9, 2", 3), vec![2, 0, 1]);
        assert_eq!(parse_order("none", 3), Vec::<usize>::new());
        assert_eq!(parse_order("[2] then [1]", 2), vec![1, 0]);
    }
}
