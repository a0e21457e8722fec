//! The server's own Prometheus metrics (requests by route and status, latency histograms,
//! in-flight requests, rate-limited requests) rendered as text; other sources (the pipeline's
//! metrics, when they exist) are appended through [`MetricsSource`].

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// Something else that renders Prometheus text to append to `GET /metrics`.
pub trait MetricsSource: Send + Sync {
    /// The exposition text (complete `# HELP` / `# TYPE` blocks).
    fn render(&self) -> String;
}

#[derive(Default, Clone)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Default)]
struct Inner {
    requests: BTreeMap<(String, String, u16), u64>,
    latency: BTreeMap<String, Histogram>,
}

/// Request counters and latency histograms.
#[derive(Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
    in_flight: AtomicI64,
    extra: Mutex<Vec<Arc<dyn MetricsSource>>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

/// Escapes a label value.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Metrics {
    /// Appends another source's text to every rendering.
    pub fn add_source(&self, source: Arc<dyn MetricsSource>) {
        if let Ok(mut e) = self.extra.lock() {
            e.push(source);
        }
    }

    pub(crate) fn start(&self) {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn finish(&self, route: &str, method: &str, status: u16, elapsed: Duration) {
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
        let Ok(mut m) = self.inner.lock() else {
            return;
        };
        *m.requests
            .entry((route.to_string(), method.to_string(), status))
            .or_default() += 1;
        let h = m.latency.entry(route.to_string()).or_default();
        let secs = elapsed.as_secs_f64();
        for (i, b) in BUCKETS.iter().enumerate() {
            if secs <= *b {
                h.counts[i] += 1;
            }
        }
        h.count += 1;
        h.sum += secs;
    }

    /// The Prometheus exposition text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let (requests, latency) = match self.inner.lock() {
            Ok(m) => (m.requests.clone(), m.latency.clone()),
            Err(_) => (BTreeMap::new(), BTreeMap::new()),
        };
        let _ = writeln!(
            out,
            "# HELP ragcore_http_requests_total HTTP requests answered, by route, method and status.\n# TYPE ragcore_http_requests_total counter"
        );
        for ((route, method, status), n) in &requests {
            let _ = writeln!(
                out,
                "ragcore_http_requests_total{{route=\"{}\",method=\"{}\",status=\"{status}\"}} {n}",
                label(route),
                label(method)
            );
        }
        let _ = writeln!(
            out,
            "# HELP ragcore_http_request_duration_seconds Time to the response head, by route.\n# TYPE ragcore_http_request_duration_seconds histogram"
        );
        for (route, h) in &latency {
            let r = label(route);
            for (i, b) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "ragcore_http_request_duration_seconds_bucket{{route=\"{r}\",le=\"{b}\"}} {}",
                    h.counts[i]
                );
            }
            let _ = writeln!(
                out,
                "ragcore_http_request_duration_seconds_bucket{{route=\"{r}\",le=\"+Inf\"}} {}\nragcore_http_request_duration_seconds_sum{{route=\"{r}\"}} {}\nragcore_http_request_duration_seconds_count{{route=\"{r}\"}} {}",
                h.count, h.sum, h.count
            );
        }
        let _ = writeln!(
            out,
            "# HELP ragcore_http_in_flight Requests being served.\n# TYPE ragcore_http_in_flight gauge\nragcore_http_in_flight {}",
            self.in_flight.load(Ordering::Relaxed)
        );
        if let Ok(extra) = self.extra.lock() {
            for s in extra.iter() {
                out.push_str(&s.render());
                if !out.ends_with('\n') {
                    out.push('\n');
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed;
    impl MetricsSource for Fixed {
        fn render(&self) -> String {
            "# TYPE ragcore_pipeline_x counter\nragcore_pipeline_x 7".into()
        }
    }

    #[test]
    fn counts_buckets_and_appends_sources() {
        let m = Metrics::default();
        m.start();
        m.finish("/v1/ask", "POST", 200, Duration::from_millis(3));
        m.start();
        m.finish("/v1/ask", "POST", 429, Duration::from_millis(30));
        m.add_source(Arc::new(Fixed));
        let t = m.render();
        assert!(t.contains(
            "ragcore_http_requests_total{route=\"/v1/ask\",method=\"POST\",status=\"200\"} 1"
        ));
        assert!(t.contains(
            "ragcore_http_request_duration_seconds_bucket{route=\"/v1/ask\",le=\"0.005\"} 1"
        ));
        assert!(t.contains(
            "ragcore_http_request_duration_seconds_bucket{route=\"/v1/ask\",le=\"0.05\"} 2"
        ));
        assert!(t.contains("ragcore_http_in_flight 0"));
        assert!(t.ends_with("ragcore_pipeline_x 7\n"));
    }
}
