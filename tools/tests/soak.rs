//! A soak test: `ctistream run` fed over TCP at a steady rate, with
//! checkpoints on, for a bounded time. Resident memory and the end-to-end
//! latency percentiles are sampled over time (from /proc and from the
//! Prometheus endpoint); the test fails if memory keeps growing after the
//! warm-up or the p99.9 latency drifts, and prints every sample.
//!
//! `CTISTREAM_SOAK_SECS` (default 75) and `CTISTREAM_SOAK_RATE` (events per
//! second, default 3000) make it longer or heavier:
//!
//! ```text
//! CTISTREAM_SOAK_SECS=3600 cargo test --release -p ctistream-tools --test soak -- --nocapture
//! ```

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::service::Service;
use common::{Outdir, generated};

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|value| value.parse().ok()).unwrap_or(default)
}

/// Resident memory of `pid`, in KiB.
fn resident_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|line| {
            line.strip_prefix("VmRSS:")?.trim().strip_suffix("kB")?.trim().parse().ok()
        })
        .unwrap_or(0)
}

/// The cumulative end-to-end latency buckets served at `address`:
/// (upper bound in seconds, count), `+Inf` last.
fn end_to_end_buckets(address: &str) -> Vec<(f64, u64)> {
    let Ok(mut stream) = TcpStream::connect(address) else { return Vec::new() };
    let mut page = String::new();
    if stream.write_all(b"GET /metrics HTTP/1.1\r\n\r\n").is_err()
        || stream.read_to_string(&mut page).is_err()
    {
        return Vec::new();
    }
    let prefix = "ctistream_stage_latency_seconds_bucket{stage=\"end_to_end\",le=\"";
    page.lines()
        .filter_map(|line| {
            let rest = line.strip_prefix(prefix)?;
            let (bound, count) = rest.split_once("\"} ")?;
            let bound = if bound == "+Inf" { f64::INFINITY } else { bound.parse().ok()? };
            Some((bound, count.trim().parse().ok()?))
        })
        .collect()
}

/// The bucket bound the `quantile` of the latencies recorded between two
/// scrapes falls in (`None` without any).
fn quantile(before: &[(f64, u64)], after: &[(f64, u64)], quantile: f64) -> Option<f64> {
    let window: Vec<(f64, u64)> = after
        .iter()
        .map(|&(bound, count)| {
            let earlier = before.iter().find(|(b, _)| *b == bound).map_or(0, |(_, c)| *c);
            (bound, count.saturating_sub(earlier))
        })
        .collect();
    let total = window.last()?.1;
    if total == 0 {
        return None;
    }
    let wanted = (total as f64 * quantile).ceil() as u64;
    window.iter().find(|(_, count)| *count >= wanted).map(|(bound, _)| *bound)
}

/// One sample: seconds since the start, resident MiB, events sent so far,
/// and the latency buckets then.
struct Sample {
    at: f64,
    resident_mib: f64,
    sent: usize,
    buckets: Vec<(f64, u64)>,
}

#[test]
fn a_steady_load_keeps_memory_flat_and_latency_steady() {
    let seconds = setting("CTISTREAM_SOAK_SECS", 75);
    let rate = setting("CTISTREAM_SOAK_RATE", 3000) as usize;
    let dir = Outdir::new("soak");
    // Enough calls for the whole run (about ten events a call).
    let calls = (seconds as usize * rate / 9).max(1000).to_string();
    let input = generated(&dir, "300", &calls, "21");
    let text = std::fs::read_to_string(&input).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let needed = seconds as usize * rate;
    assert!(lines.len() >= needed, "{} events generated, {needed} needed", lines.len());

    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let metrics = probe.local_addr().unwrap().to_string();
    drop(probe);
    let (calls_out, changes_out) = (dir.path("calls"), dir.path("changes"));
    let mut service = Service::start(&[
        "run",
        "--from",
        "tcp://127.0.0.1:0",
        "--calls-to",
        &format!("file:{calls_out}"),
        "--changes-to",
        &format!("file:{changes_out}"),
        "--checkpoint-dir",
        &dir.path("state"),
        "--checkpoint-every",
        "2",
        "--metrics",
        &format!("tcp://{metrics}"),
        "--shards",
        "2",
    ]);
    let source = service.wait_for("ready: source ");
    let address = source.rsplit("tcp://").next().unwrap().trim().to_owned();
    let pid = service.child.id();
    let mut sender = TcpStream::connect(&address).unwrap();

    // Steady: every 10 ms, the events due by then.
    let started = Instant::now();
    let mut sent = 0;
    let mut samples: Vec<Sample> = Vec::new();
    let mut next_sample = Duration::ZERO;
    while started.elapsed() < Duration::from_secs(seconds) {
        let due = (started.elapsed().as_secs_f64() * rate as f64) as usize;
        if due > sent {
            let upto = due.min(lines.len());
            let chunk = lines[sent..upto].join("\n") + "\n";
            sender.write_all(chunk.as_bytes()).unwrap();
            sent = upto;
        }
        if started.elapsed() >= next_sample {
            samples.push(Sample {
                at: started.elapsed().as_secs_f64(),
                resident_mib: resident_kib(pid) as f64 / 1024.0,
                sent,
                buckets: end_to_end_buckets(&metrics),
            });
            next_sample += Duration::from_secs(3);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    drop(sender);
    let (status, stderr) = service.terminate();
    assert!(status.success(), "{stderr}");

    // The samples, for whoever reads the log.
    eprintln!("   t s  resident MiB   events  p50 ≤   p99 ≤  p99.9 ≤ (per window)");
    for pair in samples.windows(2) {
        let (before, now) = (&pair[0], &pair[1]);
        let show =
            |q| quantile(&before.buckets, &now.buckets, q).map_or("-".into(), |b| format!("{b}"));
        eprintln!(
            "{:>6.0} {:>12.1} {:>8} {:>6} {:>7} {:>8}",
            now.at,
            now.resident_mib,
            now.sent,
            show(0.5),
            show(0.99),
            show(0.999)
        );
    }
    assert!(samples.len() >= 8, "{} samples", samples.len());

    // Memory: after the warm-up (the first fifth: tables and buffers grow to
    // their working size), the last quarter stays within 15% (and 12 MiB)
    // of the samples just after the warm-up.
    let n = samples.len();
    let mean =
        |part: &[Sample]| part.iter().map(|s| s.resident_mib).sum::<f64>() / part.len() as f64;
    let settled = mean(&samples[n / 5..n * 2 / 5]);
    let last = mean(&samples[n * 3 / 4..]);
    assert!(
        last <= settled * 1.15 + 12.0,
        "resident memory grew from {settled:.1} MiB to {last:.1} MiB at a steady load"
    );

    // Latency: the p99.9 over the last third of the run is not more than ten
    // times (one decade of buckets) that over the third after the warm-up,
    // unless both are within 10 ms.
    let span = |from: usize, to: usize, q: f64| {
        quantile(&samples[from].buckets, &samples[to.min(n - 1)].buckets, q).unwrap_or(0.0)
    };
    let early = span(n / 5, n / 2, 0.999);
    let late = span(n * 2 / 3, n - 1, 0.999);
    assert!(early > 0.0 && late > 0.0, "no latency recorded: {early} {late}");
    assert!(
        late <= (early * 10.0).max(0.01),
        "p99.9 drifted from ≤{early} s to ≤{late} s at a steady load"
    );
    // And everything sent was taken in: the source counted every event.
    assert!(stderr.contains(&format!("records: {sent} read")), "{stderr}");
}
