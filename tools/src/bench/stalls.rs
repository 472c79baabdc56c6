//! The machine's own latency floor: how long a record arriving at a random
//! moment would wait for a thread that does nothing but run.
//!
//! A thread spins reading the clock; every gap between two reads is time it
//! did not run (the scheduler, or the host of a virtual machine, took its
//! CPU). Records arriving during a gap wait for its end, so each gap counts
//! its arrivals — one per microsecond — at waits spread evenly from zero to
//! its length. No pipeline can show a lower tail than this on the same
//! machine; on a guest whose host takes the CPUs away ("steal"), it bounds
//! what any latency target can mean.

use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use super::new_histogram;

/// Gaps up to this are the loop itself running, not a stall.
const RUNNING_GAP_NS: u64 = 1_000;

/// What the probe saw.
#[derive(Debug)]
pub struct Stalls {
    /// How long it ran.
    pub elapsed: Duration,
    /// The time its thread did not run, in gaps over a microsecond.
    pub stalled: Duration,
    /// The share of all CPUs' time the host took meanwhile (`steal` in
    /// `/proc/stat`), where the kernel reports it.
    pub steal: Option<f64>,
    /// The wait of a record arriving at a random moment (ns), one arrival per
    /// microsecond of the probe.
    pub wait: Histogram<u64>,
}

impl Stalls {
    /// The share of the probe's time its thread did not run.
    pub fn stalled_fraction(&self) -> f64 {
        self.stalled.as_secs_f64() / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Spins for `duration`, timing its own stalls.
pub fn probe(duration: Duration) -> Stalls {
    let steal_before = steal_ticks();
    let started = Instant::now();
    let mut wait = new_histogram();
    let mut stalled = Duration::ZERO;
    let mut running_ns = 0u64;
    let mut last = started;
    while last.duration_since(started) < duration {
        let now = Instant::now();
        let gap = now.duration_since(last);
        let gap_ns = gap.as_nanos() as u64;
        if gap_ns <= RUNNING_GAP_NS {
            running_ns += gap_ns;
        } else {
            stalled += gap;
            record_gap(&mut wait, gap_ns);
        }
        last = now;
    }
    let elapsed = started.elapsed();
    // Arrivals while the thread ran wait for the rest of one loop turn at
    // most: well under a microsecond.
    let _ = wait.record_n(RUNNING_GAP_NS / 2, running_ns / 1_000);
    let steal = steal_before.zip(steal_ticks()).map(|((before, cpus), (after, _))| {
        let ticks_per_sec = 100.0; // USER_HZ: /proc/stat counts in 1/100 s on Linux
        (after.saturating_sub(before)) as f64
            / ticks_per_sec
            / (elapsed.as_secs_f64().max(1e-9) * cpus as f64)
    });
    Stalls { elapsed, stalled, steal, wait }
}

/// Counts a gap's arrivals, one per microsecond, at waits spread evenly over
/// the gap: one step per arrival up to sixteen (the histogram keeps two or
/// three digits anyway), each at the middle of its share of the gap.
fn record_gap(wait: &mut Histogram<u64>, gap_ns: u64) {
    let arrivals = (gap_ns / 1_000).max(1);
    let steps = arrivals.min(16);
    for step in 0..steps {
        let count = arrivals / steps + u64::from(step < arrivals % steps);
        let _ = wait.record_n((gap_ns * (2 * step + 1) / (2 * steps)).max(1), count);
    }
}

/// All CPUs' steal ticks so far and how many CPUs there are (`/proc/stat`).
fn steal_ticks() -> Option<(u64, usize)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let total = stat.lines().next()?;
    let steal = total.split_whitespace().nth(8)?.parse().ok()?;
    let cpus =
        stat.lines().filter(|line| line.starts_with("cpu") && !line.starts_with("cpu ")).count();
    Some((steal, cpus.max(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gap_counts_one_arrival_per_microsecond_at_waits_up_to_its_length() {
        let mut wait = new_histogram();
        record_gap(&mut wait, 2_000_000);
        assert_eq!(wait.len(), 2_000);
        assert!(wait.max() <= 2_000_000 + 2_000_000 / 100, "{}", wait.max());
        let median = wait.value_at_quantile(0.5) as f64;
        assert!((median - 1_000_000.0).abs() < 100_000.0, "{median}");
        let mut short = new_histogram();
        record_gap(&mut short, 1_500);
        assert_eq!(short.len(), 1, "a gap under two microseconds still counts one arrival");
        assert!((700..=800).contains(&short.max()), "at the middle of the gap: {}", short.max());
        // Five arrivals over 5 µs: at 0.5, 1.5, … 4.5 µs, not bunched low.
        let mut five = new_histogram();
        record_gap(&mut five, 5_000);
        assert_eq!(five.len(), 5);
        let (low, high) = (five.min(), five.max());
        assert!((490..=510).contains(&low) && (4_450..=4_550).contains(&high), "{low} {high}");
    }

    #[test]
    fn the_probe_runs_for_its_time_and_counts_every_microsecond_once() {
        let stalls = probe(Duration::from_millis(50));
        assert!(stalls.elapsed >= Duration::from_millis(50));
        assert!(stalls.stalled <= stalls.elapsed);
        // One arrival per microsecond of the probe, give or take the rounding
        // of each gap to whole microseconds.
        let micros = stalls.elapsed.as_micros() as u64;
        assert!(stalls.wait.len() <= micros + 1, "{} > {micros}", stalls.wait.len());
        assert!(stalls.wait.len() * 10 >= micros * 8, "{} of {micros}", stalls.wait.len());
        if let Some(steal) = stalls.steal {
            assert!((0.0..=1.0).contains(&steal), "{steal}");
        }
    }
}
