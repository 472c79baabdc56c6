//! The machine's wake-up floor: how long a parked thread takes to run again
//! once another thread wakes it.
//!
//! Pipeline stages that find no work park (after a short spin) and are woken
//! by the stage that hands them some; at part load that is most batches. On
//! a virtual machine an idle virtual CPU is halted by the host, and waking it
//! goes through the host: the delay between the wake-up and the thread
//! running is the machine's, not the pipeline's, and no part-load latency can
//! be lower. The stall probe ([`super::stalls`]) does not see it: its thread
//! never sleeps.
//!
//! The probe parks a thread the way the pipeline does (crossbeam's `Parker`);
//! another thread, at spaced moments, notes the time and unparks it; the
//! parked thread, once running, records how long that took.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crossbeam::sync::Parker;
use hdrhistogram::Histogram;

use super::new_histogram;

/// No wake-up is pending.
const NONE: u64 = u64::MAX;

/// What the probe saw.
#[derive(Debug)]
pub struct Wakeups {
    /// From unpark to the woken thread running (ns), one per wake-up.
    pub delay: Histogram<u64>,
}

/// Wakes a parked thread `count` times, `spacing` apart (long enough for it
/// to park again and its CPU to go idle).
pub fn probe(count: u32, spacing: Duration) -> Wakeups {
    let started = Instant::now();
    // When the pending wake-up was sent, in ns since `started`.
    let sent = Arc::new(AtomicU64::new(NONE));
    let parker = Parker::new();
    let unparker = parker.unparker().clone();
    let sleeper = {
        let sent = Arc::clone(&sent);
        std::thread::spawn(move || {
            let mut delay = new_histogram();
            while delay.len() < u64::from(count) {
                parker.park_timeout(spacing * 4);
                let at = sent.swap(NONE, Ordering::Acquire);
                if at != NONE {
                    let now = started.elapsed().as_nanos() as u64;
                    let _ = delay.record(now.saturating_sub(at).max(1));
                }
            }
            delay
        })
    };
    for _ in 0..count {
        std::thread::sleep(spacing);
        sent.store(started.elapsed().as_nanos() as u64, Ordering::Release);
        unparker.unpark();
    }
    // The sleeper may have missed none (a wake-up before its park is kept by
    // the parker), so it ends on the last; a lost one would time out and be
    // sent again below.
    let delay = loop {
        if sleeper.is_finished() {
            break sleeper.join().unwrap_or_else(|_| new_histogram());
        }
        std::thread::sleep(spacing);
        if sent.load(Ordering::Acquire) == NONE {
            sent.store(started.elapsed().as_nanos() as u64, Ordering::Release);
            unparker.unpark();
        }
    };
    Wakeups { delay }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_wake_up_is_timed_and_none_takes_longer_than_the_run() {
        let started = Instant::now();
        let wakeups = probe(50, Duration::from_micros(200));
        let elapsed = started.elapsed().as_nanos() as u64;
        assert_eq!(wakeups.delay.len(), 50);
        assert!(wakeups.delay.min() >= 1);
        assert!(wakeups.delay.max() <= elapsed, "{} > {elapsed}", wakeups.delay.max());
    }
}
