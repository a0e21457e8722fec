//! [`OpenAiChat`]: any OpenAI-compatible `/v1/chat/completions`, whole replies or streamed
//! (server-sent events with `stream_options.include_usage`).

use async_trait::async_trait;
use serde_json::{json, Value};

use super::{sse, ChatModel, ChatRequest, ChatResponse, ChatStream};
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
        reply(&request, text, v.get("usage"), model, &self.config.model)
    }

    async fn chat_stream(&self, request: ChatRequest) -> Result<ChatStream> {
        let body = json!({
            "model": self.config.model,
            "messages": request.messages,
            "max_tokens": request.max_tokens.unwrap_or(self.config.max_tokens),
            "temperature": request.temperature.unwrap_or(self.config.temperature),
            "stream": true,
            "stream_options": {"include_usage": true},
        });
        let keep = sse::request_for_estimate(&request);
        let configured = self.config.model.clone();
        let finish: sse::Finisher = Box::new(move |text, usage, model| {
            reply(
                &keep,
                text.trim().to_string(),
                usage.as_ref(),
                model,
                &configured,
            )
        });
        sse::open(
            &self.config.endpoint,
            &self.client,
            PROVIDER,
            &body,
            self.config.model.clone(),
            finish,
        )
        .await
    }
}

/// The reply with usage from the provider's `usage` object (with cached and reasoning token
/// details) when it has one, else counted with the model's tokenizer and marked estimated.
fn reply(
    request: &ChatRequest,
    text: String,
    usage: Option<&Value>,
    model: String,
    configured: &str,
) -> Result<ChatResponse> {
    let usage = match provider_usage(usage) {
        Some(u) => u,
        None => estimate_usage(request, &text, configured)?,
    };
    let refused = !request.no_answer_text.is_empty() && is_refusal(&text, &request.no_answer_text);
    Ok(ChatResponse {
        text,
        model,
        usage,
        refused,
        calls: Vec::new(),
    })
}

/// Usage as the provider reported it, when it reported prompt and completion tokens.
pub(crate) fn provider_usage(u: Option<&Value>) -> Option<Usage> {
    let u = u?;
    let n = |p: &str| u.pointer(p).and_then(|t| t.as_u64());
    Some(Usage {
        prompt_tokens: n("/prompt_tokens")?,
        completion_tokens: n("/completion_tokens")?,
        embedding_tokens: 0,
        estimated: false,
        cached_prompt_tokens: n("/prompt_tokens_details/cached_tokens").unwrap_or(0),
        reasoning_tokens: n("/completion_tokens_details/reasoning_tokens").unwrap_or(0),
    })
}

/// Usage counted locally with the model's tokenizer (chat framing: 4 tokens per message, 3 for
/// the reply), marked estimated.
pub(crate) fn estimate_usage(request: &ChatRequest, text: &str, model: &str) -> Result<Usage> {
    let tk = Tokenizer::for_model(model);
    let mut p = 0u64;
    for m in &request.messages {
        p += tk.count(&m.content)? as u64 + 4;
    }
    Ok(Usage {
        prompt_tokens: p + 3,
        completion_tokens: tk.count(text)? as u64,
        estimated: true,
        ..Default::default()
    })
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
