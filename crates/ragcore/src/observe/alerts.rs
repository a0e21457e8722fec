//! Alerts: rules over rolling windows of ask events (hallucination rate, no-answer rate, cost
//! burn rate, error rate, p95 latency) that fire [`AlertSink`]s when a rule starts firing (not on
//! every request while it stays above its threshold). Windows are measured on the events' own
//! timestamps, so replaying a stored log gives the same alerts as live traffic.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::AskEvent;
use crate::error::{Error, Result};

/// What a rule measures over its window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "metric", rename_all = "snake_case")]
pub enum AlertMetric {
    /// Share of answers whose groundedness is below `min_groundedness`.
    HallucinationRate {
        /// The groundedness below which an answer counts as hallucinated.
        min_groundedness: f32,
    },
    /// Share of non-failed requests refused as not in the knowledge base.
    NoAnswerRate,
    /// USD per hour spent in the window.
    CostBurnUsdPerHour,
    /// Share of requests that failed.
    ErrorRate,
    /// 95th percentile of end-to-end latency in milliseconds.
    P95LatencyMs,
}

impl AlertMetric {
    /// A stable name (`hallucination_rate`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            AlertMetric::HallucinationRate { .. } => "hallucination_rate",
            AlertMetric::NoAnswerRate => "no_answer_rate",
            AlertMetric::CostBurnUsdPerHour => "cost_burn_usd_per_hour",
            AlertMetric::ErrorRate => "error_rate",
            AlertMetric::P95LatencyMs => "p95_latency_ms",
        }
    }

    /// The metric over `events` spanning `window_secs`; `None` when it has no denominator.
    pub fn value(&self, events: &[&AskEvent], window_secs: u64) -> Option<f64> {
        let share = |num: usize, den: usize| (den > 0).then(|| num as f64 / den as f64);
        match self {
            AlertMetric::HallucinationRate { min_groundedness } => {
                let scored: Vec<f32> = events.iter().filter_map(|e| e.groundedness).collect();
                share(
                    scored.iter().filter(|g| **g < *min_groundedness).count(),
                    scored.len(),
                )
            }
            AlertMetric::NoAnswerRate => {
                let done = events.iter().filter(|e| e.outcome != "error").count();
                share(
                    events.iter().filter(|e| e.outcome == "no_answer").count(),
                    done,
                )
            }
            AlertMetric::CostBurnUsdPerHour => {
                let total: f64 = events.iter().map(|e| e.cost_usd).sum();
                Some(total * 3600.0 / window_secs.max(1) as f64)
            }
            AlertMetric::ErrorRate => share(
                events.iter().filter(|e| e.outcome == "error").count(),
                events.len(),
            ),
            AlertMetric::P95LatencyMs => {
                let mut l: Vec<f64> = events.iter().map(|e| e.latency_ms).collect();
                if l.is_empty() {
                    return None;
                }
                l.sort_by(|a, b| a.total_cmp(b));
                Some(percentile(&l, 0.95))
            }
        }
    }
}

/// The `q` quantile (0..1) of sorted values, nearest rank.
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// One rule: fire when `metric` over the last `window_secs` is above `threshold`, once at
/// least `min_events` events are in the window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertRule {
    /// Name of the rule (unique).
    pub name: String,
    /// What it measures.
    #[serde(flatten)]
    pub metric: AlertMetric,
    /// Window length in seconds.
    pub window_secs: u64,
    /// Fire when the value is above this.
    pub threshold: f64,
    /// Events needed in the window before the rule can fire.
    #[serde(default = "one")]
    pub min_events: usize,
}

fn one() -> usize {
    1
}

impl AlertRule {
    /// The default rules: hallucination > 20% of answers, no-answer > 50%, cost > $5/h,
    /// errors > 5%, p95 latency > 5 s, each over one hour with at least 10 events.
    pub fn defaults() -> Vec<AlertRule> {
        let r = |name: &str, metric, threshold| AlertRule {
            name: name.into(),
            metric,
            window_secs: 3600,
            threshold,
            min_events: 10,
        };
        vec![
            r(
                "hallucination",
                AlertMetric::HallucinationRate {
                    min_groundedness: 0.5,
                },
                0.2,
            ),
            r("no_answer", AlertMetric::NoAnswerRate, 0.5),
            r("cost_burn", AlertMetric::CostBurnUsdPerHour, 5.0),
            r("errors", AlertMetric::ErrorRate, 0.05),
            r("latency_p95", AlertMetric::P95LatencyMs, 5000.0),
        ]
    }

    /// Reads rules from JSON (`[{"name": .., "metric": "error_rate", "window_secs": 600,
    /// "threshold": 0.1, "min_events": 5}, ...]`).
    pub fn parse_json(text: &str) -> Result<Vec<AlertRule>> {
        let rules: Vec<AlertRule> = serde_json::from_str(text)
            .map_err(|e| Error::invalid("alert rules", format!("bad JSON: {e}")))?;
        let mut names = HashSet::new();
        for r in &rules {
            if r.window_secs == 0 {
                return Err(Error::invalid(
                    format!("alert rule {}", r.name),
                    "window_secs must be positive",
                ));
            }
            if !names.insert(r.name.clone()) {
                return Err(Error::invalid(
                    "alert rules",
                    format!("rule name {:?} is used twice", r.name),
                ));
            }
        }
        Ok(rules)
    }
}

/// A rule that started firing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// The rule's name.
    pub rule: String,
    /// The metric's name.
    pub metric: String,
    /// Its value over the window.
    pub value: f64,
    /// The rule's threshold.
    pub threshold: f64,
    /// Events in the window.
    pub events: usize,
    /// Window length in seconds.
    pub window_secs: u64,
    /// When it fired (the triggering event's time), Unix milliseconds.
    pub at_ms: i64,
    /// Tenant of the triggering event.
    pub tenant: String,
}

/// Where fired alerts go.
#[async_trait]
pub trait AlertSink: Send + Sync {
    /// Delivers an alert.
    async fn notify(&self, alert: &Alert) -> Result<()>;
}

/// A sink that calls a function (in-process callbacks).
pub struct CallbackSink<F>(pub F);

#[async_trait]
impl<F: Fn(&Alert) + Send + Sync> AlertSink for CallbackSink<F> {
    async fn notify(&self, alert: &Alert) -> Result<()> {
        (self.0)(alert);
        Ok(())
    }
}

/// A sink that POSTs each alert as JSON to a URL (Slack-compatible `text` field included).
pub struct WebhookSink {
    url: String,
    client: reqwest::Client,
}

impl std::fmt::Debug for WebhookSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSink")
    }
}

impl WebhookSink {
    /// A webhook at `url` (http or https) with a 10 s timeout.
    pub fn new(url: impl Into<String>) -> Result<Self> {
        let url = url.into();
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(Error::invalid(
                "webhook",
                "the URL must start with http:// or https://",
            ));
        }
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| Error::Config(format!("cannot build the webhook client: {e}")))?;
        Ok(WebhookSink { url, client })
    }
}

#[async_trait]
impl AlertSink for WebhookSink {
    async fn notify(&self, alert: &Alert) -> Result<()> {
        let mut body = serde_json::to_value(alert)
            .map_err(|e| Error::Internal(format!("alert to JSON: {e}")))?;
        body["text"] = serde_json::Value::String(format!(
            "ragcore alert {}: {} = {:.4} > {} over {} events ({} s window)",
            alert.rule, alert.metric, alert.value, alert.threshold, alert.events, alert.window_secs
        ));
        let provider = "alert-webhook".to_string();
        let resp = self
            .client
            .post(&self.url)
            .json(&body)
            .send()
            .await
            .map_err(|e| Error::Provider {
                provider: provider.clone(),
                status: None,
                retryable: true,
                retry_after: None,
                message: format!("cannot reach the webhook: {}", e.without_url()),
            })?;
        let status = resp.status();
        if !status.is_success() {
            return Err(Error::Provider {
                provider,
                status: Some(status.as_u16()),
                retryable: status.is_server_error(),
                retry_after: None,
                message: "the webhook refused the alert".into(),
            });
        }
        Ok(())
    }
}

/// Evaluates rules on every event and notifies the sinks when a rule starts firing.
pub struct AlertEngine {
    rules: Vec<AlertRule>,
    sinks: Vec<Arc<dyn AlertSink>>,
    state: Mutex<EngineState>,
}

#[derive(Default)]
struct EngineState {
    window: VecDeque<AskEvent>,
    firing: HashSet<String>,
    fired: Vec<Alert>,
}

impl AlertEngine {
    /// An engine with rules and sinks.
    pub fn new(rules: Vec<AlertRule>, sinks: Vec<Arc<dyn AlertSink>>) -> Self {
        AlertEngine {
            rules,
            sinks,
            state: Mutex::new(EngineState::default()),
        }
    }

    /// The rules.
    pub fn rules(&self) -> &[AlertRule] {
        &self.rules
    }

    /// Alerts fired so far (most recent last).
    pub fn fired(&self) -> Result<Vec<Alert>> {
        Ok(self
            .state
            .lock()
            .map_err(|_| Error::poisoned("alerts"))?
            .fired
            .clone())
    }

    /// Adds an event, evaluates every rule, and returns (after notifying the sinks) the alerts
    /// that started firing. A sink that fails is logged, not fatal.
    pub async fn observe(&self, event: &AskEvent) -> Result<Vec<Alert>> {
        let new = self.evaluate(event)?;
        for a in &new {
            for s in &self.sinks {
                if let Err(e) = s.notify(a).await {
                    tracing::warn!(target: "ragcore::alerts", rule = %a.rule, error = %e, "alert sink failed");
                }
            }
        }
        Ok(new)
    }

    fn evaluate(&self, event: &AskEvent) -> Result<Vec<Alert>> {
        let mut st = self.state.lock().map_err(|_| Error::poisoned("alerts"))?;
        st.window.push_back(event.clone());
        let longest = self.rules.iter().map(|r| r.window_secs).max().unwrap_or(0) as i64 * 1000;
        let now = event.at_ms;
        while st.window.front().is_some_and(|e| e.at_ms < now - longest) {
            st.window.pop_front();
        }
        let mut new = Vec::new();
        for r in &self.rules {
            let from = now - r.window_secs as i64 * 1000;
            let events: Vec<&AskEvent> = st.window.iter().filter(|e| e.at_ms >= from).collect();
            let value = r.metric.value(&events, r.window_secs);
            let above = events.len() >= r.min_events && value.is_some_and(|v| v > r.threshold);
            if above && !st.firing.contains(&r.name) {
                new.push(Alert {
                    rule: r.name.clone(),
                    metric: r.metric.name().into(),
                    value: value.unwrap_or(0.0),
                    threshold: r.threshold,
                    events: events.len(),
                    window_secs: r.window_secs,
                    at_ms: now,
                    tenant: event.tenant.clone(),
                });
            }
            if above {
                st.firing.insert(r.name.clone());
            } else {
                st.firing.remove(&r.name);
            }
        }
        st.fired.extend(new.iter().cloned());
        Ok(new)
    }
}
