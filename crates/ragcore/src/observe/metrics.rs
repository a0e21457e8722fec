//! [`Metrics`]: counters and histograms in the Prometheus text format (0.0.4), hand-written:
//! a dozen series with small label sets do not need a metrics crate, and the default build stays
//! free of one. Everything is fed by [`Metrics::observe`], one call per finished `ask`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

use super::event::{triggers, AskEvent};
use crate::error::{Error, Result};
use crate::types::CacheStatus;

/// Latency buckets in milliseconds.
const LATENCY_BUCKETS: &[f64] = &[
    1.0, 2.5, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0, 10000.0, 30000.0,
];
/// Groundedness buckets (score 0..1).
const SCORE_BUCKETS: &[f64] = &[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0];

#[derive(Debug, Clone)]
struct Histogram {
    bounds: &'static [f64],
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Histogram {
    fn new(bounds: &'static [f64]) -> Self {
        Histogram {
            bounds,
            counts: vec![0; bounds.len()],
            sum: 0.0,
            count: 0,
        }
    }
    fn observe(&mut self, v: f64) {
        for (i, b) in self.bounds.iter().enumerate() {
            if v <= *b {
                self.counts[i] += 1;
            }
        }
        self.sum += v;
        self.count += 1;
    }
}

#[derive(Debug, Default)]
struct State {
    asks: BTreeMap<(String, String), u64>,
    errors: BTreeMap<String, u64>,
    tokens: BTreeMap<&'static str, u64>,
    cost: BTreeMap<String, f64>,
    cache: BTreeMap<&'static str, u64>,
    guards: BTreeMap<(String, String), u64>,
    degraded: u64,
    low_grounded: u64,
    answered: u64,
    no_answer: u64,
    stage: BTreeMap<String, Histogram>,
    latency: Option<Histogram>,
    groundedness: Option<Histogram>,
    event_log_failures: u64,
    alerts: BTreeMap<String, u64>,
}

/// The metrics registry. Cheap to share behind an `Arc`; all methods take `&self`.
#[derive(Debug)]
pub struct Metrics {
    min_groundedness: f32,
    state: Mutex<State>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new(0.5)
    }
}

fn esc(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Metrics {
    /// A registry; answers below `min_groundedness` count as low-grounded.
    pub fn new(min_groundedness: f32) -> Self {
        Metrics {
            min_groundedness,
            state: Mutex::new(State::default()),
        }
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, State>> {
        self.state.lock().map_err(|_| Error::poisoned("metrics"))
    }

    /// Records one finished request (answered, refused or failed). This is the one entry
    /// point: a new feature that wants a series adds a field to [`AskEvent`] and a line here.
    pub fn observe(&self, e: &AskEvent) -> Result<()> {
        let mut s = self.lock()?;
        *s.asks
            .entry((e.tenant.clone(), e.outcome.clone()))
            .or_default() += 1;
        if let Some(k) = &e.error_kind {
            *s.errors.entry(k.clone()).or_default() += 1;
        }
        *s.tokens.entry("prompt").or_default() += e.usage.prompt_tokens;
        *s.tokens.entry("completion").or_default() += e.usage.completion_tokens;
        *s.tokens.entry("embedding").or_default() += e.usage.embedding_tokens;
        *s.cost.entry(e.tenant.clone()).or_default() += e.cost_usd;
        // Only asks that consulted the cache count (no cache configured: no series).
        if e.outcome != "error" && e.cache != CacheStatus::Bypass {
            *s.cache
                .entry(if e.cache_hit { "hit" } else { "miss" })
                .or_default() += 1;
        }
        for v in triggers(&e.verdicts) {
            *s.guards
                .entry((v.name.clone(), v.action.as_str().to_string()))
                .or_default() += 1;
        }
        if e.degraded {
            s.degraded += 1;
        }
        match e.outcome.as_str() {
            "answered" => s.answered += 1,
            "no_answer" => s.no_answer += 1,
            _ => {}
        }
        for (stage, ms) in &e.timings {
            s.stage
                .entry(stage.clone())
                .or_insert_with(|| Histogram::new(LATENCY_BUCKETS))
                .observe(*ms);
        }
        s.latency
            .get_or_insert_with(|| Histogram::new(LATENCY_BUCKETS))
            .observe(e.latency_ms);
        if let Some(g) = e.groundedness {
            if g < self.min_groundedness {
                s.low_grounded += 1;
            }
            s.groundedness
                .get_or_insert_with(|| Histogram::new(SCORE_BUCKETS))
                .observe(f64::from(g));
        }
        Ok(())
    }

    /// Counts an event that could not be written to the event log.
    pub fn event_log_failed(&self) -> Result<()> {
        self.lock()?.event_log_failures += 1;
        Ok(())
    }

    /// Counts a fired alert.
    pub fn alert_fired(&self, rule: &str) -> Result<()> {
        *self.lock()?.alerts.entry(rule.to_string()).or_default() += 1;
        Ok(())
    }

    /// The Prometheus text exposition of everything recorded.
    pub fn render(&self) -> Result<String> {
        let s = self.lock()?;
        let mut o = String::new();
        let family = |o: &mut String, name: &str, kind: &str, help: &str| {
            let _ = writeln!(o, "# HELP {name} {help}\n# TYPE {name} {kind}");
        };
        family(
            &mut o,
            "ragcore_asks_total",
            "counter",
            "Requests by tenant and outcome (answered, no_answer, error).",
        );
        for ((t, out), n) in &s.asks {
            let _ = writeln!(
                o,
                "ragcore_asks_total{{tenant=\"{}\",outcome=\"{}\"}} {n}",
                esc(t),
                esc(out)
            );
        }
        family(
            &mut o,
            "ragcore_errors_total",
            "counter",
            "Failed requests by error kind.",
        );
        for (k, n) in &s.errors {
            let _ = writeln!(o, "ragcore_errors_total{{kind=\"{}\"}} {n}", esc(k));
        }
        family(
            &mut o,
            "ragcore_tokens_total",
            "counter",
            "Tokens by type (prompt, completion, embedding).",
        );
        for (k, n) in &s.tokens {
            let _ = writeln!(o, "ragcore_tokens_total{{type=\"{k}\"}} {n}");
        }
        family(
            &mut o,
            "ragcore_cost_usd_total",
            "counter",
            "Cost in USD by tenant.",
        );
        for (t, c) in &s.cost {
            let _ = writeln!(o, "ragcore_cost_usd_total{{tenant=\"{}\"}} {c}", esc(t));
        }
        family(
            &mut o,
            "ragcore_cache_requests_total",
            "counter",
            "Answer-cache lookups by result (hit, miss).",
        );
        for (k, n) in &s.cache {
            let _ = writeln!(o, "ragcore_cache_requests_total{{result=\"{k}\"}} {n}");
        }
        family(
            &mut o,
            "ragcore_guard_triggers_total",
            "counter",
            "Verdicts other than pass, by guard and action.",
        );
        for ((g, a), n) in &s.guards {
            let _ = writeln!(
                o,
                "ragcore_guard_triggers_total{{guard=\"{}\",action=\"{}\"}} {n}",
                esc(g),
                esc(a)
            );
        }
        family(
            &mut o,
            "ragcore_degraded_total",
            "counter",
            "Answers given extractively after a model error.",
        );
        let _ = writeln!(o, "ragcore_degraded_total {}", s.degraded);
        family(
            &mut o,
            "ragcore_low_groundedness_total",
            "counter",
            "Answers whose groundedness is below the threshold.",
        );
        let _ = writeln!(o, "ragcore_low_groundedness_total {}", s.low_grounded);
        family(
            &mut o,
            "ragcore_no_answer_rate",
            "gauge",
            "Share of non-failed requests refused as not in the knowledge base.",
        );
        let done = s.answered + s.no_answer;
        let rate = if done == 0 {
            0.0
        } else {
            s.no_answer as f64 / done as f64
        };
        let _ = writeln!(o, "ragcore_no_answer_rate {rate}");
        family(
            &mut o,
            "ragcore_event_log_failures_total",
            "counter",
            "Events that could not be written to the event log.",
        );
        let _ = writeln!(
            o,
            "ragcore_event_log_failures_total {}",
            s.event_log_failures
        );
        family(
            &mut o,
            "ragcore_alerts_fired_total",
            "counter",
            "Alerts fired by rule.",
        );
        for (r, n) in &s.alerts {
            let _ = writeln!(o, "ragcore_alerts_fired_total{{rule=\"{}\"}} {n}", esc(r));
        }
        family(
            &mut o,
            "ragcore_stage_latency_ms",
            "histogram",
            "Latency of each request stage in milliseconds.",
        );
        for (stage, h) in &s.stage {
            write_histogram(
                &mut o,
                "ragcore_stage_latency_ms",
                &format!("stage=\"{}\",", esc(stage)),
                h,
            );
        }
        family(
            &mut o,
            "ragcore_ask_latency_ms",
            "histogram",
            "End-to-end latency of ask in milliseconds.",
        );
        if let Some(h) = &s.latency {
            write_histogram(&mut o, "ragcore_ask_latency_ms", "", h);
        }
        family(
            &mut o,
            "ragcore_groundedness",
            "histogram",
            "Groundedness score (0..1) of answers.",
        );
        if let Some(h) = &s.groundedness {
            write_histogram(&mut o, "ragcore_groundedness", "", h);
        }
        Ok(o)
    }
}

fn write_histogram(o: &mut String, name: &str, labels: &str, h: &Histogram) {
    for (b, c) in h.bounds.iter().zip(&h.counts) {
        let _ = writeln!(o, "{name}_bucket{{{labels}le=\"{b}\"}} {c}");
    }
    let _ = writeln!(o, "{name}_bucket{{{labels}le=\"+Inf\"}} {}", h.count);
    let trimmed = labels.trim_end_matches(',');
    let braces = if trimmed.is_empty() {
        String::new()
    } else {
        format!("{{{trimmed}}}")
    };
    let _ = writeln!(o, "{name}_sum{braces} {}", h.sum);
    let _ = writeln!(o, "{name}_count{braces} {}", h.count);
}
