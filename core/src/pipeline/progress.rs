//! Progress marks: how far each thread of the pipeline has got, in record
//! sequence numbers. They are what lets the agent side apply messages from
//! every shard in record order without waiting on any shard's lock.
//!
//! The protocol (model-checked in `tests::loom_progress`): a shard pushes the
//! messages caused by records up to `s` into its ring, then publishes `s`
//! (release). The agent stage reads a shard's mark (acquire), then drains that
//! shard's ring: everything the shard pushed before publishing is visible, so
//! once every shard's mark is at least `s`, no message with sequence `≤ s` can
//! still be on its way, and those messages can be applied in order.

use crossbeam::utils::CachePadded;

use crate::loom::sync::atomic::{AtomicU64, Ordering};

/// One thread's progress, on its own cache line (shards publish often; a
/// shared line would bounce between cores).
#[derive(Debug, Default)]
pub(crate) struct Progress {
    value: CachePadded<AtomicU64>,
}

impl Progress {
    /// Publishes that everything up to and including `seq` is done (and its
    /// messages pushed). Marks only move forward.
    pub(crate) fn publish(&self, seq: u64) {
        self.value.fetch_max(seq, Ordering::Release);
    }

    /// The latest published mark; what was pushed before it is visible.
    pub(crate) fn read(&self) -> u64 {
        self.value.load(Ordering::Acquire)
    }
}

#[cfg(all(test, loom))]
mod tests {
    use std::collections::VecDeque;

    use loom::sync::{Arc, Mutex};

    use super::Progress;

    /// A message pushed before a mark is published is seen by whoever reads
    /// the mark first and then drains the queue.
    #[test]
    fn loom_progress() {
        loom::model(|| {
            let queue = Arc::new(Mutex::new(VecDeque::new()));
            let progress = Arc::new(Progress::default());
            let shard = {
                let (queue, progress) = (queue.clone(), progress.clone());
                loom::thread::spawn(move || {
                    for seq in 1..=2u64 {
                        queue.lock().unwrap().push_back(seq);
                        progress.publish(seq);
                    }
                })
            };
            let mut seen = Vec::new();
            for _ in 0..2 {
                let mark = progress.read();
                seen.extend(queue.lock().unwrap().drain(..));
                assert!(seen.iter().filter(|&&seq| seq <= mark).count() as u64 == mark);
                loom::thread::yield_now();
            }
            shard.join().unwrap();
        });
    }
}
