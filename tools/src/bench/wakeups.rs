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
//! parked thread, once running, records how long that took. A wake-up still
//! unanswered at the next moment is not replaced: that moment is skipped and
//! counted, and the slow one is timed from its own start.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crossbeam::sync::Parker;
use hdrhistogram::Histogram;

use super::new_histogram;

/// No wake-up is waiting to be answered.
const NO_PENDING_WAKEUP: u64 = u64::MAX;

/// What the probe saw.
#[derive(Debug)]
pub struct Wakeups {
    /// From unpark to the woken thread running (ns), one per wake-up answered.
    pub delay: Histogram<u64>,
    /// Moments skipped because the previous wake-up was still unanswered (one
    /// slow wake-up can skip several).
    pub overran: u64,
}

/// Wakes a parked thread up to `count` times, `spacing` apart (long enough for
/// it to park again and its CPU to go idle).
pub fn probe(count: u32, spacing: Duration) -> Wakeups {
    let started = Instant::now();
    let since_start = move || started.elapsed().as_nanos() as u64;
    // When the pending wake-up was sent, in ns since `started`.
    let sent = Arc::new(AtomicU64::new(NO_PENDING_WAKEUP));
    let done = Arc::new(AtomicBool::new(false));
    let parker = Parker::new();
    let unparker = parker.unparker().clone();
    let sleeper = {
        let (sent, done) = (Arc::clone(&sent), Arc::clone(&done));
        std::thread::spawn(move || {
            let mut delay = new_histogram();
            loop {
                parker.park_timeout(spacing * 4);
                let at = sent.swap(NO_PENDING_WAKEUP, Ordering::AcqRel);
                if at != NO_PENDING_WAKEUP {
                    let _ = delay.record(since_start().saturating_sub(at).max(1));
                } else if done.load(Ordering::Acquire) {
                    return delay;
                }
            }
        })
    };
    let mut overran = 0;
    for _ in 0..count {
        std::thread::sleep(spacing);
        let now = since_start();
        match sent.compare_exchange(NO_PENDING_WAKEUP, now, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => unparker.unpark(),
            Err(_) => overran += 1,
        }
    }
    // The last wake-up answered (the sleeper looks at least every four
    // spacings), then the end announced.
    while sent.load(Ordering::Acquire) != NO_PENDING_WAKEUP {
        std::thread::sleep(spacing);
    }
    done.store(true, Ordering::Release);
    unparker.unpark();
    let delay = match sleeper.join() {
        Ok(delay) => delay,
        Err(panic) => std::panic::resume_unwind(panic),
    };
    Wakeups { delay, overran }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_wake_up_is_timed_or_counted_as_overrun_and_none_outlasts_the_run() {
        let started = Instant::now();
        let wakeups = probe(50, Duration::from_micros(200));
        let elapsed = started.elapsed().as_nanos() as u64;
        assert_eq!(wakeups.delay.len() + wakeups.overran, 50);
        assert!(!wakeups.delay.is_empty(), "the first wake-up is always sent");
        assert!(wakeups.delay.min() >= 1);
        assert!(wakeups.delay.max() <= elapsed, "{} > {elapsed}", wakeups.delay.max());
    }
}
