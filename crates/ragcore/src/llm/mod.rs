//! Chat models: the [`ChatModel`] trait, [`OpenAiChat`] for any OpenAI-compatible
//! `/v1/chat/completions`, and [`ExtractiveAnswerer`], the offline default and degradation path.

mod extractive;
pub mod layers;
mod openai;
mod sse;
pub mod stream;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::prompt::PackedPassage;
use crate::types::Usage;

pub use extractive::ExtractiveAnswerer;
pub use openai::{is_refusal, OpenAiChat, OpenAiChatConfig};
pub use stream::{ChatEvent, ChatStream};

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Instructions.
    System,
    /// The user's turn.
    User,
    /// The model's turn.
    Assistant,
}

/// One chat message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// Author.
    pub role: Role,
    /// Text.
    pub content: String,
}

/// A request to a chat model. Besides the rendered messages it carries the question and the
/// passages, so answerers that do not read prompts (the extractive one) can work from them.
#[derive(Debug, Clone, Default)]
pub struct ChatRequest {
    /// Rendered messages.
    pub messages: Vec<ChatMessage>,
    /// The user's question, as asked.
    pub question: String,
    /// The numbered passages in the prompt.
    pub passages: Vec<PackedPassage>,
    /// The exact refusal sentence the prompt asks for.
    pub no_answer_text: String,
    /// Upper bound on output tokens.
    pub max_tokens: Option<u32>,
    /// Sampling temperature.
    pub temperature: Option<f32>,
}

/// A chat model's reply.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatResponse {
    /// The answer text.
    pub text: String,
    /// The model that answered.
    pub model: String,
    /// Tokens used (prompt and completion).
    pub usage: Usage,
    /// True when the model said the passages do not contain the answer.
    pub refused: bool,
    /// Earlier calls made for this reply that must be paid for too (a cascade's small model
    /// before it escalated), in order. Empty for a single call.
    pub calls: Vec<ModelCall>,
}

/// One model call that was made and must be costed.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelCall {
    /// The model called.
    pub model: String,
    /// Its usage.
    pub usage: Usage,
}

/// Generates an answer.
#[async_trait]
pub trait ChatModel: Send + Sync {
    /// The model's name as reported on answers and used for pricing.
    fn name(&self) -> String;

    /// Answers one request.
    async fn chat(&self, request: ChatRequest) -> Result<ChatResponse>;

    /// Answers one request as a stream of text deltas ending with the complete reply. Models
    /// that cannot stream keep this default: one delta with the whole text, then `Done`.
    async fn chat_stream(&self, request: ChatRequest) -> Result<ChatStream> {
        Ok(stream::single_reply(self.chat(request).await?))
    }
}
