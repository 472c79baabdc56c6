//! Bounded single-producer, single-consumer channels between pipeline stages:
//! a crossbeam `ArrayQueue` (lock-free, head and tail on their own cache
//! lines) of batches, with waiting that spins, then parks.
//!
//! Each item is a batch of records or messages, so the atomics are paid once
//! per batch. A full ring makes the producer wait — backpressure, nothing is
//! dropped — spinning briefly (`Backoff`) and then parking until the consumer
//! has emptied half the ring ([`WaitingProducer`]: one wake-up per half ring,
//! not one per batch, which cost a futex call and two context switches per
//! batch while a fast producer met a full ring); an empty ring parks the
//! consumer. Parking is crossbeam's `Parker`: a wake-up sent before the park
//! is not lost, and a park times out after [`PARK`] anyway, so a missed
//! wake-up costs at most that.

use std::sync::Arc;
use std::time::Duration;

use crossbeam::queue::ArrayQueue;
use crossbeam::sync::{Parker, Unparker};
use crossbeam::utils::Backoff;

use crate::loom::sync::atomic::{AtomicBool, AtomicU64, Ordering, fence};

/// The longest a waiting thread sleeps before looking again.
pub(crate) const PARK: Duration = Duration::from_millis(1);

/// A producer's request to be woken once the consumer has made room (model-
/// checked in `loom_tests::loom_waiting_producer`).
///
/// The producer announces itself and then looks for room once more before it
/// parks; the consumer takes an item and then looks for an announcement. Each
/// side's write comes before its read, with a `SeqCst` fence between, so at
/// least one of them sees the other: the producer finds the room, or the
/// consumer finds the announcement and wakes it.
#[derive(Debug, Default)]
pub(crate) struct WaitingProducer(AtomicBool);

impl WaitingProducer {
    /// The producer is about to park: after this it must look for room once
    /// more, and park only if there is none.
    pub(crate) fn announce(&self) {
        self.0.store(true, Ordering::SeqCst);
        fence(Ordering::SeqCst);
    }

    /// The producer found room after announcing itself.
    pub(crate) fn withdraw(&self) {
        self.0.store(false, Ordering::Relaxed);
    }

    /// The consumer took an item; whether to wake the producer now (`room`:
    /// it has taken enough). True once per announcement.
    pub(crate) fn take_wake(&self, room: bool) -> bool {
        if !room {
            return false;
        }
        fence(Ordering::SeqCst);
        self.0.load(Ordering::Relaxed) && self.0.swap(false, Ordering::AcqRel)
    }
}

#[derive(Debug)]
struct Shared<T> {
    queue: ArrayQueue<T>,
    wake_consumer: Unparker,
    wake_producer: Unparker,
    waiting_producer: WaitingProducer,
    closed: AtomicBool,
    /// Times the producer found the ring full.
    full: AtomicU64,
    /// Items the consumer is done with, given back for the producer to fill
    /// again: batches allocated on one thread and freed on another made the
    /// allocator hand back and re-fault fresh pages. (Record batches come
    /// back unemptied: the router drops their records itself.)
    spare: ArrayQueue<T>,
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
        waiting_producer: WaitingProducer::default(),
        closed: AtomicBool::new(false),
        full: AtomicU64::new(0),
        spare: ArrayQueue::new(capacity.max(1) + 2),
    });
    (Sender { shared: shared.clone(), parker }, Receiver { shared })
}

impl<T> Sender<T> {
    /// Sends `item`, waiting while the ring is full; `help` is called while
    /// waiting (a shard runs the agent stage, which is what drains its ring).
    pub(crate) fn send(&self, mut item: T, mut help: impl FnMut() -> bool) {
        let backoff = Backoff::new();
        let mut counted = false;
        let mut announced = false;
        loop {
            match self.shared.queue.push(item) {
                Ok(()) => {
                    if announced {
                        // In on the look after announcing: nobody to wake.
                        self.shared.waiting_producer.withdraw();
                    }
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
                    if !backoff.is_completed() {
                        backoff.snooze();
                        continue;
                    }
                    if !announced {
                        // Announce, then look once more (the loop's push)
                        // before parking: see `WaitingProducer`.
                        announced = true;
                        self.shared.waiting_producer.announce();
                        continue;
                    }
                    self.parker.park_timeout(PARK);
                    // Woken (the flag is down), or timed out (it is not):
                    // either way down, and announced again before the next park.
                    self.shared.waiting_producer.withdraw();
                    announced = false;
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

    /// Items sent and not yet taken (a moment's reading: the consumer may be
    /// taking one as it is read).
    pub(crate) fn queued(&self) -> usize {
        self.shared.queue.len()
    }

    /// An item the consumer gave back, if one is waiting.
    pub(crate) fn take_spare(&self) -> Option<T> {
        self.shared.spare.pop()
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
            let queue = &self.shared.queue;
            if self.shared.waiting_producer.take_wake(queue.len() <= queue.capacity() / 2) {
                self.shared.wake_producer.unpark();
            }
        }
        item
    }

    /// Gives an item back to the producer to reuse its allocation; dropped
    /// here when the producer already has a ring's worth waiting.
    pub(crate) fn give_back(&self, item: T) {
        let _ = self.shared.spare.push(item);
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

#[cfg(all(test, loom))]
mod loom_tests {
    use loom::sync::Arc;
    use loom::sync::atomic::{AtomicUsize, Ordering, fence};

    use super::WaitingProducer;

    /// A ring of `CAPACITY` slots as crossbeam's `ArrayQueue` keeps it: the
    /// producer moves `tail` and finds the ring full through a `SeqCst`
    /// fence and a relaxed read of `head`; the consumer moves `head` with a
    /// `SeqCst` read-modify-write.
    struct Ring {
        head: AtomicUsize,
        tail: AtomicUsize,
    }

    const CAPACITY: usize = 2;

    impl Ring {
        fn full() -> Ring {
            Ring { head: AtomicUsize::new(0), tail: AtomicUsize::new(CAPACITY) }
        }

        fn try_push(&self) -> bool {
            let tail = self.tail.load(Ordering::Relaxed);
            fence(Ordering::SeqCst);
            let head = self.head.load(Ordering::Relaxed);
            if tail - head >= CAPACITY {
                return false;
            }
            self.tail.store(tail + 1, Ordering::Release);
            true
        }

        /// Takes one item (there is one); how many are left.
        fn pop(&self) -> usize {
            let head = self.head.fetch_add(1, Ordering::SeqCst) + 1;
            self.tail.load(Ordering::Acquire) - head
        }
    }

    /// A producer that finds the ring full and parks is always woken or finds
    /// room: no lost wake-up (loom reports a deadlock otherwise). The consumer
    /// wakes it once the ring is half empty.
    #[test]
    fn loom_waiting_producer() {
        loom::model(|| {
            let ring = Arc::new(Ring::full());
            let waiting = Arc::new(WaitingProducer::default());
            let producer = {
                let (ring, waiting) = (ring.clone(), waiting.clone());
                loom::thread::spawn(move || {
                    while !ring.try_push() {
                        waiting.announce();
                        if ring.try_push() {
                            waiting.withdraw();
                            return;
                        }
                        loom::thread::park();
                    }
                })
            };
            for _ in 0..CAPACITY {
                let left = ring.pop();
                if waiting.take_wake(left <= CAPACITY / 2) {
                    producer.thread().unpark();
                }
            }
            producer.join().unwrap();
        });
    }
}
