//! Observability of the request path: an [`AskEvent`] per request, recorded by an [`Observer`]
//! into [`Metrics`] (Prometheus text), an [`EventLog`] (SQLite, JSONL export) and an
//! [`AlertEngine`]; GenAI semantic-convention attributes on the `tracing` spans (`trace`), an
//! OTLP exporter behind the `otel` feature, and a self-contained HTML dashboard (`report`).

mod admin;
mod alerts;
mod event;
mod log;
mod metrics;
#[cfg(feature = "otel")]
pub mod otel;
#[cfg(feature = "postgres")]
mod pg_log;
mod report;
pub mod trace;

use std::sync::Arc;

pub use admin::admin;
pub use alerts::{
    percentile, Alert, AlertEngine, AlertMetric, AlertRule, AlertSink, CallbackSink, WebhookSink,
};
pub use event::{cache_hit_of, groundedness_of, new_request_id, now_ms, AskEvent};
pub use log::{events_to_jsonl, AppendEventRequest, EventLog, ListEventsRequest, SqliteEventLog};
pub use metrics::Metrics;
#[cfg(feature = "postgres")]
pub use pg_log::PgEventLog;
pub use report::{render_report, ReportInput, StaleDocument};

use crate::error::{Error, Result};
use crate::guard::PiiRedactor;
use crate::types::{Answer, Scope};

/// Records every finished `ask`: metrics, the event log (when set) and alert rules (when set).
/// Personal data in questions, answers and error messages is redacted before anything is kept.
pub struct Observer {
    metrics: Metrics,
    events: Option<Arc<dyn EventLog>>,
    alerts: Option<Arc<AlertEngine>>,
    redactor: Option<Arc<PiiRedactor>>,
}

impl std::fmt::Debug for Observer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Observer")
            .field("event_log", &self.events.is_some())
            .field("alerts", &self.alerts.as_ref().map(|a| a.rules().len()))
            .finish()
    }
}

impl Default for Observer {
    fn default() -> Self {
        Observer::new()
    }
}

impl Observer {
    /// Metrics only.
    pub fn new() -> Self {
        Observer {
            metrics: Metrics::default(),
            events: None,
            alerts: None,
            redactor: None,
        }
    }

    /// Writes one event per request to `log`.
    pub fn with_event_log(mut self, log: Arc<dyn EventLog>) -> Self {
        self.events = Some(log);
        self
    }

    /// Evaluates alert rules on every request.
    pub fn with_alerts(mut self, engine: Arc<AlertEngine>) -> Self {
        self.alerts = Some(engine);
        self
    }

    /// Redacts personal data in what is recorded.
    pub fn with_redactor(mut self, redactor: Arc<PiiRedactor>) -> Self {
        self.redactor = Some(redactor);
        self
    }

    /// Uses a metrics registry with this low-groundedness threshold.
    pub fn with_min_groundedness(mut self, min: f32) -> Self {
        self.metrics = Metrics::new(min);
        self
    }

    /// The metrics registry.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The event log, when one is set.
    pub fn event_log(&self) -> Option<&Arc<dyn EventLog>> {
        self.events.as_ref()
    }

    /// The alert engine, when one is set.
    pub fn alerts(&self) -> Option<&Arc<AlertEngine>> {
        self.alerts.as_ref()
    }

    fn redact(&self, text: &str) -> String {
        match &self.redactor {
            Some(r) => r.redact(text).0,
            None => text.to_string(),
        }
    }

    /// The event for a finished request, personal data redacted.
    pub fn event_for(
        &self,
        scope: &Scope,
        question: &str,
        result: &Result<Answer>,
        latency_ms: f64,
    ) -> AskEvent {
        let q = self.redact(question);
        match result {
            Ok(a) => {
                let mut e = AskEvent::from_answer(scope, &q, a, latency_ms);
                e.answer = self.redact(&e.answer);
                e
            }
            Err(err) => {
                let mut e = AskEvent::from_error(scope, &q, err, latency_ms);
                e.error = e.error.map(|m| self.redact(&m));
                for v in &mut e.verdicts {
                    v.detail = self.redact(&v.detail);
                }
                e
            }
        }
    }

    /// Records a finished request. Failures to record are logged and counted
    /// (`ragcore_event_log_failures_total`), never returned: observing must not fail an answer.
    pub async fn record(
        &self,
        scope: &Scope,
        question: &str,
        result: &Result<Answer>,
        latency_ms: f64,
    ) -> AskEvent {
        let event = self.event_for(scope, question, result, latency_ms);
        if let Err(e) = self.record_event(&event).await {
            tracing::warn!(target: "ragcore::observe", error = %e, "recording the ask event failed");
        }
        event
    }

    /// Records an event already built (replay of a stored log, or events from elsewhere).
    pub async fn record_event(&self, event: &AskEvent) -> Result<()> {
        self.metrics.observe(event)?;
        let mut first_err: Option<Error> = None;
        if let Some(log) = &self.events {
            if let Err(e) = log
                .append(AppendEventRequest {
                    event: event.clone(),
                })
                .await
            {
                self.metrics.event_log_failed()?;
                first_err = Some(e);
            }
        }
        if let Some(a) = &self.alerts {
            for fired in a.observe(event).await? {
                self.metrics.alert_fired(&fired.rule)?;
            }
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// The Prometheus text exposition.
    pub fn metrics_text(&self) -> Result<String> {
        self.metrics.render()
    }
}
