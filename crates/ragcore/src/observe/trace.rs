//! Spans with OpenTelemetry GenAI semantic-convention attributes, through `tracing`:
//! `gen_ai.operation.name`, `gen_ai.request.model`, `gen_ai.response.model`,
//! `gen_ai.usage.input_tokens`, `gen_ai.usage.output_tokens`, plus `ragcore.cost_usd`,
//! `ragcore.prompt_version`, `ragcore.kb_version`, `ragcore.no_answer` and `error.type`.
//! Any subscriber sees them; the `otel` feature exports them over OTLP.

use tracing::field::Empty;
use tracing::Span;

use crate::error::Result;
use crate::types::{Answer, Scope};

/// The root span of one `ask`.
pub fn ask_span(scope: &Scope, model: &str) -> Span {
    tracing::info_span!(
        "ragcore.ask",
        tenant = %scope.tenant,
        "gen_ai.operation.name" = "chat",
        "gen_ai.request.model" = %model,
        "gen_ai.response.model" = Empty,
        "gen_ai.usage.input_tokens" = Empty,
        "gen_ai.usage.output_tokens" = Empty,
        "ragcore.cost_usd" = Empty,
        "ragcore.prompt_version" = Empty,
        "ragcore.kb_version" = Empty,
        "ragcore.no_answer" = Empty,
        "error.type" = Empty,
    )
}

/// The span of the generation stage (the model call).
pub fn generate_span(model: &str) -> Span {
    tracing::info_span!(
        "ragcore.generate",
        "gen_ai.operation.name" = "chat",
        "gen_ai.request.model" = %model,
        "gen_ai.response.model" = Empty,
        "gen_ai.usage.input_tokens" = Empty,
        "gen_ai.usage.output_tokens" = Empty,
    )
}

/// Records the outcome of a generation on its span.
pub fn record_generation(span: &Span, model: &str, input_tokens: u64, output_tokens: u64) {
    span.record("gen_ai.response.model", model);
    span.record("gen_ai.usage.input_tokens", input_tokens);
    span.record("gen_ai.usage.output_tokens", output_tokens);
}

/// Records the outcome of an `ask` on its root span.
pub fn record_ask(span: &Span, result: &Result<Answer>) {
    match result {
        Ok(a) => {
            span.record("gen_ai.response.model", a.model.as_str());
            span.record("gen_ai.usage.input_tokens", a.usage.prompt_tokens);
            span.record("gen_ai.usage.output_tokens", a.usage.completion_tokens);
            span.record("ragcore.cost_usd", a.cost.total_usd);
            span.record("ragcore.prompt_version", a.prompt_version.as_str());
            span.record("ragcore.kb_version", a.kb_version);
            span.record("ragcore.no_answer", a.no_answer);
        }
        Err(e) => {
            span.record("error.type", e.kind().code());
        }
    }
}
