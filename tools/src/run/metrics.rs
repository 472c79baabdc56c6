//! The Prometheus text endpoint (`--metrics tcp://HOST:PORT`): counters per
//! source and sink, sink health, and every pipeline stage's latency as a
//! Prometheus histogram. The driver renders the text about once a second; a
//! small thread serves the latest rendering to any HTTP GET, so a scrape
//! never touches the pipeline.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::Context;
use ctistream_core::connect::Health;
use ctistream_core::pipeline::{Latency, Stage};

use super::worker::SinkState;

/// Upper bounds of the latency buckets, in seconds (1 µs to 10 s).
const BUCKETS: [f64; 22] = [
    1e-6, 2e-6, 5e-6, 1e-5, 2e-5, 5e-5, 1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2, 2e-2, 5e-2, 0.1,
    0.2, 0.5, 1.0, 2.0, 5.0, 10.0,
];

/// The latest rendering, shared with the server thread.
pub type MetricsText = Arc<Mutex<Arc<String>>>;

/// What the driver publishes.
#[derive(Debug)]
pub struct Metrics {
    sources: Vec<(String, Arc<AtomicU64>)>,
    sinks: Vec<(String, Arc<SinkState>, Arc<Mutex<Health>>)>,
    outputs: Arc<AtomicU64>,
    text: MetricsText,
}

impl Metrics {
    /// Metrics over these sources' record counters, these sinks and the
    /// output counter.
    pub fn new(
        sources: Vec<(String, Arc<AtomicU64>)>,
        sinks: Vec<(String, Arc<SinkState>, Arc<Mutex<Health>>)>,
        outputs: Arc<AtomicU64>,
    ) -> Metrics {
        Metrics { sources, sinks, outputs, text: Arc::default() }
    }

    /// The shared rendering (for the server).
    pub fn text(&self) -> MetricsText {
        self.text.clone()
    }

    /// Renders the current figures.
    pub fn publish(&self, latency: &Latency, backpressure: u64, commits: u64) {
        let mut out = String::with_capacity(8 << 10);
        counter(&mut out, "ctistream_source_records_total", "Records read, per source.");
        for (name, records) in &self.sources {
            let _ = writeln!(
                out,
                "ctistream_source_records_total{{source=\"{}\"}} {}",
                escape(name),
                records.load(Ordering::Relaxed)
            );
        }
        counter(&mut out, "ctistream_outputs_total", "Outputs produced by the reducers.");
        let _ = writeln!(out, "ctistream_outputs_total {}", self.outputs.load(Ordering::Relaxed));
        counter(&mut out, "ctistream_commits_total", "Source positions committed.");
        let _ = writeln!(out, "ctistream_commits_total {commits}");
        counter(
            &mut out,
            "ctistream_backpressure_total",
            "Times the router found a shard's ring full.",
        );
        let _ = writeln!(out, "ctistream_backpressure_total {backpressure}");
        counter(&mut out, "ctistream_sink_lines_total", "Outputs written, per sink.");
        for (name, state, _) in &self.sinks {
            let lines = state.lines.load(Ordering::Relaxed);
            let _ =
                writeln!(out, "ctistream_sink_lines_total{{sink=\"{}\"}} {lines}", escape(name));
        }
        let _ = writeln!(out, "# HELP ctistream_sink_up Whether a sink is working (1) or not (0).");
        let _ = writeln!(out, "# TYPE ctistream_sink_up gauge");
        for (name, state, health) in &self.sinks {
            let health = health.lock().unwrap_or_else(PoisonError::into_inner);
            let up = health.is_up() && !state.failed.load(Ordering::Relaxed);
            let _ =
                writeln!(out, "ctistream_sink_up{{sink=\"{}\"}} {}", escape(name), u8::from(up));
        }
        let _ = writeln!(
            out,
            "# HELP ctistream_stage_latency_seconds Time spent in each pipeline stage."
        );
        let _ = writeln!(out, "# TYPE ctistream_stage_latency_seconds histogram");
        for stage in Stage::ALL {
            let histogram = latency.histogram(stage);
            let name = stage.name();
            for bound in BUCKETS {
                let nanos = (bound * 1e9) as u64;
                let count = histogram.count_between(0, nanos);
                let _ = writeln!(
                    out,
                    "ctistream_stage_latency_seconds_bucket{{stage=\"{name}\",le=\"{bound}\"}} {count}"
                );
            }
            let total = histogram.len();
            let sum = histogram.mean() * total as f64 / 1e9;
            let _ = writeln!(
                out,
                "ctistream_stage_latency_seconds_bucket{{stage=\"{name}\",le=\"+Inf\"}} {total}"
            );
            let _ = writeln!(out, "ctistream_stage_latency_seconds_sum{{stage=\"{name}\"}} {sum}");
            let _ =
                writeln!(out, "ctistream_stage_latency_seconds_count{{stage=\"{name}\"}} {total}");
        }
        *self.text.lock().unwrap_or_else(PoisonError::into_inner) = Arc::new(out);
    }
}

fn counter(out: &mut String, name: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} counter");
}

/// Label values escape backslash, quote and newline.
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// The HTTP server thread.
#[derive(Debug)]
pub struct MetricsServer {
    address: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl MetricsServer {
    /// Listens on `address` and serves `text`.
    ///
    /// # Errors
    /// When the address cannot be bound.
    pub fn start(address: SocketAddr, text: MetricsText) -> anyhow::Result<MetricsServer> {
        let listener = TcpListener::bind(address)
            .with_context(|| format!("cannot listen for metrics on {address}"))?;
        let address = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = stop.clone();
            std::thread::Builder::new()
                .name("ctistream-metrics".into())
                .spawn(move || {
                    for stream in listener.incoming() {
                        if stop.load(Ordering::Acquire) {
                            break;
                        }
                        if let Ok(stream) = stream {
                            let body = text.lock().unwrap_or_else(PoisonError::into_inner).clone();
                            // A scraper that misbehaves only loses its own answer.
                            let _ = answer(stream, &body);
                        }
                    }
                })
                .context("cannot start the metrics thread")?
        };
        Ok(MetricsServer { address, stop, thread: Some(thread) })
    }

    /// Where it listens.
    pub fn address(&self) -> SocketAddr {
        self.address
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect_timeout(&self.address, Duration::from_millis(200));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn answer(mut stream: TcpStream, body: &str) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    stream.set_write_timeout(Some(Duration::from_secs(2)))?;
    // Read the request head (whatever the path: there is one page).
    let mut head = [0u8; 2048];
    let mut read = 0;
    while read < head.len() {
        let n = stream.read(&mut head[read..])?;
        if n == 0 {
            break;
        }
        read += n;
        if head[..read].windows(4).any(|w| w == b"\r\n\r\n") {
            break;
        }
    }
    write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    stream.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scrape_gets_counters_and_histograms() {
        let records = Arc::new(AtomicU64::new(42));
        let metrics = Metrics::new(
            vec![("file:calls \"a\".ndjson".into(), records)],
            vec![("file:out".into(), Arc::default(), Arc::new(Mutex::new(Health::Up)))],
            Arc::new(AtomicU64::new(7)),
        );
        let mut latency = Latency::new();
        latency.record(Stage::Decode, 3_000);
        latency.record(Stage::Decode, 2_000_000);
        metrics.publish(&latency, 5, 3);
        let server = MetricsServer::start("127.0.0.1:0".parse().unwrap(), metrics.text()).unwrap();
        let mut stream = TcpStream::connect(server.address).unwrap();
        stream.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let mut page = String::new();
        stream.read_to_string(&mut page).unwrap();
        assert!(page.starts_with("HTTP/1.1 200 OK\r\n"), "{page}");
        for line in [
            "ctistream_source_records_total{source=\"file:calls \\\"a\\\".ndjson\"} 42",
            "ctistream_outputs_total 7",
            "ctistream_commits_total 3",
            "ctistream_backpressure_total 5",
            "ctistream_sink_up{sink=\"file:out\"} 1",
            "ctistream_stage_latency_seconds_bucket{stage=\"decode\",le=\"0.000005\"} 1",
            "ctistream_stage_latency_seconds_bucket{stage=\"decode\",le=\"0.005\"} 2",
            "ctistream_stage_latency_seconds_count{stage=\"decode\"} 2",
        ] {
            assert!(page.contains(line), "missing {line} in\n{page}");
        }
    }
}
