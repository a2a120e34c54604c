//! Logging (tracing to stderr) and the Prometheus metrics registry.
//!
//! Metrics are a handful of atomics rendered in the Prometheus text format (version 0.0.4);
//! no metrics crate is needed for that. Labels never carry user data.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber: human-readable lines on stderr, filtered by `filter`
/// (`tracing` syntax, e.g. `info` or `qsign=debug,sqlx=warn`). Safe to call twice.
pub fn init(filter: &str) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    // A second call (tests) keeps the first subscriber.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

/// HTTP request metrics.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Responses by status class: 1xx..5xx at index 0..4.
    responses: [AtomicU64; 5],
    /// Sum of request durations, microseconds.
    duration_micros: AtomicU64,
    /// Requests in progress.
    in_flight: AtomicU64,
}

/// One extra gauge or counter to render beside the HTTP metrics.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// Metric name.
    pub name: &'static str,
    /// Help text.
    pub help: &'static str,
    /// `counter` or `gauge`.
    pub kind: &'static str,
    /// Value.
    pub value: u64,
}

impl Metrics {
    /// Marks a request as started.
    pub fn start(&self) {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
    }

    /// Records a finished request.
    pub fn finish(&self, status: u16, elapsed: Duration) {
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
        let class = usize::from(status / 100).clamp(1, 5) - 1;
        if let Some(counter) = self.responses.get(class) {
            counter.fetch_add(1, Ordering::Relaxed);
        }
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        self.duration_micros.fetch_add(micros, Ordering::Relaxed);
    }

    /// Renders every metric in the Prometheus text format.
    #[must_use]
    pub fn render(&self, extra: &[Sample]) -> String {
        let mut out = String::new();
        out.push_str("# HELP qsign_http_responses_total HTTP responses by status class.\n");
        out.push_str("# TYPE qsign_http_responses_total counter\n");
        let mut total = 0;
        for (i, counter) in self.responses.iter().enumerate() {
            let n = counter.load(Ordering::Relaxed);
            total += n;
            let _ = writeln!(
                out,
                "qsign_http_responses_total{{class=\"{}xx\"}} {n}",
                i + 1
            );
        }
        let seconds = self.duration_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = write!(
            out,
            "# HELP qsign_http_request_duration_seconds Time spent serving requests.\n\
             # TYPE qsign_http_request_duration_seconds summary\n\
             qsign_http_request_duration_seconds_sum {seconds}\n\
             qsign_http_request_duration_seconds_count {total}\n\
             # HELP qsign_http_in_flight_requests Requests being served.\n\
             # TYPE qsign_http_in_flight_requests gauge\n\
             qsign_http_in_flight_requests {}\n",
            self.in_flight.load(Ordering::Relaxed)
        );
        for s in extra {
            let _ = write!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n",
                name = s.name,
                help = s.help,
                kind = s.kind,
                value = s.value
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_counts_by_class() {
        let m = Metrics::default();
        m.start();
        m.finish(200, Duration::from_millis(3));
        m.start();
        m.finish(503, Duration::from_millis(1));
        let text = m.render(&[Sample {
            name: "x_total",
            help: "h",
            kind: "counter",
            value: 7,
        }]);
        assert!(text.contains("qsign_http_responses_total{class=\"2xx\"} 1"));
        assert!(text.contains("qsign_http_responses_total{class=\"5xx\"} 1"));
        assert!(text.contains("qsign_http_request_duration_seconds_count 2"));
        assert!(text.contains("qsign_http_in_flight_requests 0"));
        assert!(text.contains("x_total 7"));
    }
}
