//! Bounded single-producer, single-consumer channels between pipeline stages:
//! a crossbeam `ArrayQueue` (lock-free, head and tail on their own cache
//! lines) of batches, with waiting that spins, then parks.
//!
//! Each item is a batch of records or messages, so the atomics are paid once
//! per batch. A full ring makes the producer wait — backpressure, nothing is
//! dropped — spinning briefly (`Backoff`) and then parking until the consumer
//! takes a batch; an empty ring parks the consumer the same way. Parking is
//! crossbeam's `Parker`: a wake-up sent before the park is not lost, and a
//! park times out after [`PARK`] anyway, so a missed wake-up costs at most that.

use std::sync::Arc;
use std::time::Duration;

use crossbeam::queue::ArrayQueue;
use crossbeam::sync::{Parker, Unparker};
use crossbeam::utils::Backoff;

use crate::loom::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// The longest a waiting thread sleeps before looking again.
pub(crate) const PARK: Duration = Duration::from_millis(1);

#[derive(Debug)]
struct Shared<T> {
    queue: ArrayQueue<T>,
    wake_consumer: Unparker,
    wake_producer: Unparker,
    closed: AtomicBool,
    /// Times the producer found the ring full.
    full: AtomicU64,
}

/// The producing end.
#[derive(Debug)]
pub(crate) struct Sender<T> {
    shared: Arc<Shared<T>>,
    parker: Parker,
}

/// The consuming end.
#[derive(Debug)]
pub(crate) struct Receiver<T> {
    shared: Arc<Shared<T>>,
}

/// A channel of `capacity` batches; the consumer is woken through `consumer`
/// (one parker can serve several rings: the agent stage waits on all shards).
pub(crate) fn channel<T>(capacity: usize, consumer: Unparker) -> (Sender<T>, Receiver<T>) {
    let parker = Parker::new();
    let shared = Arc::new(Shared {
        queue: ArrayQueue::new(capacity.max(1)),
        wake_consumer: consumer,
        wake_producer: parker.unparker().clone(),
        closed: AtomicBool::new(false),
        full: AtomicU64::new(0),
    });
    (Sender { shared: shared.clone(), parker }, Receiver { shared })
}

impl<T> Sender<T> {
    /// Sends `item`, waiting while the ring is full; `help` is called while
    /// waiting (a shard runs the agent stage, which is what drains its ring).
    pub(crate) fn send(&self, mut item: T, mut help: impl FnMut() -> bool) {
        let backoff = Backoff::new();
        let mut counted = false;
        loop {
            match self.shared.queue.push(item) {
                Ok(()) => {
                    self.shared.wake_consumer.unpark();
                    return;
                }
                Err(back) => {
                    item = back;
                    if !counted {
                        counted = true;
                        self.shared.full.fetch_add(1, Ordering::Relaxed);
                    }
                    if help() {
                        continue;
                    }
                    if backoff.is_completed() {
                        self.parker.park_timeout(PARK);
                    } else {
                        backoff.snooze();
                    }
                }
            }
        }
    }

    /// Tries once; gives the item back when the ring is full (load shedding).
    pub(crate) fn try_send(&self, item: T) -> Result<(), T> {
        let result = self.shared.queue.push(item);
        if result.is_ok() {
            self.shared.wake_consumer.unpark();
        }
        result
    }

    /// How many sends found the ring full and had to wait.
    pub(crate) fn full_count(&self) -> u64 {
        self.shared.full.load(Ordering::Relaxed)
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        self.shared.closed.store(true, Ordering::Release);
        self.shared.wake_consumer.unpark();
    }
}

impl<T> Receiver<T> {
    /// Takes a batch if one is there.
    pub(crate) fn try_recv(&self) -> Option<T> {
        let item = self.shared.queue.pop();
        if item.is_some() {
            self.shared.wake_producer.unpark();
        }
        item
    }

    /// Whether the sender is gone and nothing is left.
    pub(crate) fn is_finished(&self) -> bool {
        self.shared.closed.load(Ordering::Acquire) && self.shared.queue.is_empty()
    }
}

/// Waits for work the way the rings do: spin a little, then park.
#[derive(Debug)]
pub(crate) struct Idle {
    backoff: Backoff,
}

impl Idle {
    pub(crate) fn new() -> Idle {
        Idle { backoff: Backoff::new() }
    }

    /// Called when a look for work found none.
    pub(crate) fn wait(&self, parker: &Parker) {
        if self.backoff.is_completed() {
            parker.park_timeout(PARK);
        } else {
            self.backoff.snooze();
        }
    }

    /// Called when work was found.
    pub(crate) fn reset(&self) {
        self.backoff.reset();
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn a_full_ring_makes_the_producer_wait_and_nothing_is_lost() {
        let consumer = Parker::new();
        let (sender, receiver) = channel::<u32>(2, consumer.unparker().clone());
        let producer = std::thread::spawn(move || {
            for i in 0..1000 {
                sender.send(i, || false);
            }
            sender.full_count()
        });
        let mut got = Vec::new();
        let idle = Idle::new();
        while !receiver.is_finished() {
            match receiver.try_recv() {
                Some(i) => {
                    got.push(i);
                    idle.reset();
                }
                None => idle.wait(&consumer),
            }
        }
        let full = producer.join().unwrap();
        assert_eq!(got, (0..1000).collect::<Vec<_>>());
        assert!(full > 0, "a ring of 2 must have been full at some point");
    }
}
