//! OTLP export of the `tracing` spans (feature `otel`): the spans of the request path, with
//! their GenAI semantic-convention attributes, go to an OpenTelemetry collector over OTLP/HTTP
//! (protobuf). The batch exporter runs on its own thread; no async runtime is created.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{SpanExporter, WithExportConfig};
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;
use tracing_subscriber::registry::LookupSpan;

use crate::error::{Error, Result};

/// A tracer provider exporting to `endpoint` (e.g. `http://127.0.0.1:4318/v1/traces`) with
/// `service.name` set. Call `shutdown()` on it before exit to flush.
pub fn otlp_tracer_provider(endpoint: &str, service_name: &str) -> Result<SdkTracerProvider> {
    let exporter = SpanExporter::builder()
        .with_http()
        .with_endpoint(endpoint)
        .build()
        .map_err(|e| {
            Error::Config(format!(
                "cannot build the OTLP exporter for {endpoint}: {e}"
            ))
        })?;
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(
            Resource::builder()
                .with_service_name(service_name.to_string())
                .build(),
        )
        .build())
}

/// A `tracing-subscriber` layer sending spans to `provider`.
pub fn otel_layer<S>(
    provider: &SdkTracerProvider,
) -> tracing_opentelemetry::OpenTelemetryLayer<S, opentelemetry_sdk::trace::Tracer>
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
{
    tracing_opentelemetry::layer().with_tracer(provider.tracer("ragcore"))
}
