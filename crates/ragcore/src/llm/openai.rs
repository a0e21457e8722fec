//! [`OpenAiChat`]: any OpenAI-compatible `/v1/chat/completions` (non-streaming).

use async_trait::async_trait;
use serde_json::json;

use super::{ChatModel, ChatRequest, ChatResponse};
use crate::error::{Error, Result};
use crate::http::Endpoint;
use crate::text::Tokenizer;
use crate::types::Usage;

/// Settings of an [`OpenAiChat`].
#[derive(Debug, Clone)]
pub struct OpenAiChatConfig {
    /// Where the API lives and its key.
    pub endpoint: Endpoint,
    /// Model name sent in the request and used for pricing.
    pub model: String,
    /// Default upper bound on output tokens.
    pub max_tokens: u32,
    /// Default temperature.
    pub temperature: f32,
}

impl OpenAiChatConfig {
    /// Settings for `model` at `endpoint` (512 output tokens, temperature 0).
    pub fn new(endpoint: Endpoint, model: impl Into<String>) -> Self {
        OpenAiChatConfig {
            endpoint,
            model: model.into(),
            max_tokens: 512,
            temperature: 0.0,
        }
    }
}

/// A chat model behind an OpenAI-compatible HTTP API.
#[derive(Debug, Clone)]
pub struct OpenAiChat {
    config: OpenAiChatConfig,
    client: reqwest::Client,
}

const PROVIDER: &str = "openai-chat";

impl OpenAiChat {
    /// Builds the client; fails on a bad URL or an empty model name.
    pub fn new(config: OpenAiChatConfig) -> Result<Self> {
        if config.model.trim().is_empty() {
            return Err(Error::invalid("chat.model", "must not be empty"));
        }
        let client = config.endpoint.client()?;
        Ok(OpenAiChat { config, client })
    }
}

#[async_trait]
impl ChatModel for OpenAiChat {
    fn name(&self) -> String {
        self.config.model.clone()
    }

    async fn chat(&self, request: ChatRequest) -> Result<ChatResponse> {
        let body = json!({
            "model": self.config.model,
            "messages": request.messages,
            "max_tokens": request.max_tokens.unwrap_or(self.config.max_tokens),
            "temperature": request.temperature.unwrap_or(self.config.temperature),
        });
        let v = self
            .config
            .endpoint
            .post_json(&self.client, PROVIDER, "chat/completions", &body)
            .await?;
        let text = v
            .pointer("/choices/0/message/content")
            .and_then(|c| c.as_str())
            .ok_or_else(|| Error::Provider {
                provider: PROVIDER.into(),
                status: None,
                retryable: true,
                retry_after: None,
                message: "response has no choices[0].message.content".into(),
            })?
            .trim()
            .to_string();
        let model = v
            .get("model")
            .and_then(|m| m.as_str())
            .unwrap_or(&self.config.model)
            .to_string();
        let prompt = v.pointer("/usage/prompt_tokens").and_then(|t| t.as_u64());
        let completion = v
            .pointer("/usage/completion_tokens")
            .and_then(|t| t.as_u64());
        let usage = match (prompt, completion) {
            (Some(p), Some(c)) => Usage {
                prompt_tokens: p,
                completion_tokens: c,
                embedding_tokens: 0,
                estimated: false,
            },
            _ => {
                let tk = Tokenizer::for_model(&self.config.model);
                let mut p = 0u64;
                for m in &request.messages {
                    p += tk.count(&m.content)? as u64 + 4;
                }
                Usage {
                    prompt_tokens: p + 3,
                    completion_tokens: tk.count(&text)? as u64,
                    embedding_tokens: 0,
                    estimated: true,
                }
            }
        };
        let refused =
            !request.no_answer_text.is_empty() && is_refusal(&text, &request.no_answer_text);
        Ok(ChatResponse {
            text,
            model,
            usage,
            refused,
        })
    }
}

/// Whether a model reply is the refusal sentence (or starts with one of its halves). Bindings
/// use it for chat models written in Python or JavaScript.
pub fn is_refusal(text: &str, no_answer: &str) -> bool {
    let t = text.trim();
    t == no_answer.trim()
        || no_answer
            .split(['。', '.'])
            .map(str::trim)
            .filter(|s| s.len() > 8)
            .any(|s| t.starts_with(s))
}
