//! One thread per sink: it writes the batches of serialized outputs it is
//! handed and, at each flush point, makes them durable and acknowledges the
//! record number the flush covers.
//!
//! A sink that keeps what it could not write ([`Sink::keeps_unwritten`], a
//! file on a full disk) is flushed again, with growing pauses, until it takes
//! everything; meanwhile the thread takes no new batches, so its queue fills
//! and backpressure reaches the pipeline and the sources. Any other failure is
//! final: lines lost in a failed write must not be covered by a later
//! successful flush (that would commit source positions whose outputs never
//! arrived). The driver sees the failure and stops the run without committing
//! past it.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam::channel::{Receiver, RecvTimeoutError, Sender, bounded};
use ctistream_core::connect::{Health, Sink};

/// Batches queued in front of a sink before whoever hands them over waits
/// (backpressure from a slow sink to the pipeline and then the sources).
const QUEUE: usize = 64;

/// The first pause before flushing a sink that kept what it could not write,
/// doubling up to [`RETRY_MAX`].
const RETRY_FIRST: Duration = Duration::from_millis(50);
const RETRY_MAX: Duration = Duration::from_secs(1);

/// How often an idle sink's health is asked again.
const HEALTH_EVERY: Duration = Duration::from_millis(200);

/// Serialized outputs on their way to a sink: each entry is a key then a
/// line, back to back in `data`.
#[derive(Debug, Default)]
pub struct LineBatch {
    data: Vec<u8>,
    /// Per entry: where its key ends and where its line ends, in `data`.
    ends: Vec<(usize, usize)>,
    /// Flush after writing, and acknowledge this record number.
    pub flush_through: Option<u64>,
}

impl LineBatch {
    /// Adds one output: `key`, then the line `fill` writes (ending in '\n').
    pub fn push(&mut self, key: &[&[u8]], fill: impl FnOnce(&mut Vec<u8>)) {
        for (i, part) in key.iter().enumerate() {
            if i > 0 {
                self.data.push(b':');
            }
            self.data.extend_from_slice(part);
        }
        let key_end = self.data.len();
        fill(&mut self.data);
        self.ends.push((key_end, self.data.len()));
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.data.len()
    }

    /// Outputs held.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether it holds no output.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Each output as (key, line).
    pub fn entries(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        let mut start = 0;
        self.ends.iter().map(move |&(key_end, line_end)| {
            let entry = (&self.data[start..key_end], &self.data[key_end..line_end]);
            start = line_end;
            entry
        })
    }
}

/// What a sink thread shares with the rest of the run.
#[derive(Debug, Default)]
pub struct SinkState {
    /// The highest record number whose outputs this sink made durable.
    pub acked: AtomicU64,
    /// Outputs written.
    pub lines: AtomicU64,
    /// Set once a write or flush failed for good.
    pub failed: AtomicBool,
    /// The first failure, for the message.
    pub error: Mutex<Option<String>>,
    /// Flushes that failed and were tried again (the sink kept its lines).
    pub retries: AtomicU64,
    /// Set when the run is stopping: a sink being retried gives up.
    pub stopping: AtomicBool,
    /// The latest flushes: the record number each covered and what the sink
    /// then said it had made durable ([`Sink::durable_position`]), newest
    /// last; the close comes as `u64::MAX`. A checkpoint keeps the position
    /// of the flush that covers exactly its record number.
    pub durable: Mutex<VecDeque<(u64, Option<Vec<u8>>)>>,
}

impl SinkState {
    fn fail(&self, what: &str, error: &std::io::Error) {
        let mut first = self.error.lock().unwrap_or_else(PoisonError::into_inner);
        first.get_or_insert_with(|| format!("{what}: {error}"));
        self.failed.store(true, Ordering::Release);
    }

    /// The first failure, if any.
    pub fn error(&self) -> Option<String> {
        self.error.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// What the flush covering exactly record number `through` made
    /// durable: `None` until that flush succeeded (or once it is too old to
    /// be kept); `Some(None)` for a sink that cannot say.
    pub fn durable_at(&self, through: u64) -> Option<Option<Vec<u8>>> {
        let history = self.durable.lock().unwrap_or_else(PoisonError::into_inner);
        history.iter().rev().find(|(covered, _)| *covered == through).map(|(_, at)| at.clone())
    }

    fn flushed(&self, through: u64, sink: &dyn Sink) {
        let mut history = self.durable.lock().unwrap_or_else(PoisonError::into_inner);
        if history.len() >= DURABLE_HISTORY {
            history.pop_front();
        }
        history.push_back((through, sink.durable_position()));
    }
}

/// Flushes remembered in [`SinkState::durable`].
const DURABLE_HISTORY: usize = 64;

/// A sink running on its own thread.
#[derive(Debug)]
pub struct SinkWorker {
    /// The sink's name, for messages and metrics.
    pub name: String,
    /// Where batches go.
    pub sender: Sender<LineBatch>,
    /// What the thread reports.
    pub state: Arc<SinkState>,
    /// The sink's health, refreshed after each batch.
    pub health: Arc<Mutex<Health>>,
    thread: JoinHandle<()>,
}

impl SinkWorker {
    /// Starts the thread.
    ///
    /// # Panics
    /// When the operating system refuses to start a thread.
    pub fn start(sink: Box<dyn Sink>) -> SinkWorker {
        let (sender, receiver) = bounded(QUEUE);
        let state = Arc::new(SinkState::default());
        let name = sink.name().to_owned();
        let health = Arc::new(Mutex::new(sink.health()));
        let thread = {
            let (state, health) = (state.clone(), health.clone());
            std::thread::Builder::new()
                .name("ctistream-sink".into())
                .spawn(move || serve(sink, &receiver, &state, &health))
                .expect("start a sink thread")
        };
        SinkWorker { name, sender, state, health, thread }
    }

    /// Whether the sink was up after its last batch.
    pub fn is_up(&self) -> bool {
        matches!(*self.health.lock().unwrap_or_else(PoisonError::into_inner), Health::Up)
    }

    /// Stops taking batches, flushes and closes the sink, and waits for it;
    /// returns the first failure.
    pub fn finish(self) -> Result<(), String> {
        let SinkWorker { name, sender, state, thread, .. } = self;
        // A sink still waiting for room gives up: the run is ending.
        state.stopping.store(true, Ordering::Release);
        // The thread ends once every sender is gone (the lanes' went first).
        drop(sender);
        if thread.join().is_err() {
            return Err(format!("{name}: the sink thread panicked"));
        }
        state.error().map_or(Ok(()), Err)
    }
}

fn serve(
    mut sink: Box<dyn Sink>,
    batches: &Receiver<LineBatch>,
    state: &SinkState,
    health: &Mutex<Health>,
) {
    loop {
        match batches.recv_timeout(HEALTH_EVERY) {
            Ok(batch) if !state.failed.load(Ordering::Acquire) => {
                deliver(sink.as_mut(), &batch, state, health);
            }
            Ok(_) => {}
            // Asked again when idle too: a sink that recovers (a broker back)
            // after its last batch must not stay marked as degraded.
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        *health.lock().unwrap_or_else(PoisonError::into_inner) = sink.health();
    }
    if let Err(error) = sink.close() {
        state.fail("close", &error);
    } else if !state.failed.load(Ordering::Acquire) {
        // Closing flushed everything: all of it is acknowledged.
        state.flushed(u64::MAX, sink.as_ref());
        state.acked.store(u64::MAX, Ordering::Release);
    }
    *health.lock().unwrap_or_else(PoisonError::into_inner) = sink.health();
}

/// Writes `batch` and, at its flush point, makes it durable and acknowledges
/// it. A sink that keeps what it could not write is flushed until it takes
/// it, right away when a write fails too: the thread takes nothing more
/// meanwhile, so what waits is bounded by the queue in front of it, not held
/// in the sink's buffer.
fn deliver(sink: &mut dyn Sink, batch: &LineBatch, state: &SinkState, health: &Mutex<Health>) {
    for (key, line) in batch.entries() {
        if let Err(error) = sink.write(key, line) {
            if !sink.keeps_unwritten() {
                state.fail("write", &error);
                return;
            }
            // The line is kept: no more until the sink has room again.
            if !flush_until_taken(sink, state, health, Some(error)) {
                return;
            }
        }
    }
    state.lines.fetch_add(batch.len() as u64, Ordering::Relaxed);
    let Some(through) = batch.flush_through else { return };
    if flush_until_taken(sink, state, health, None) {
        state.flushed(through, sink);
        state.acked.fetch_max(through, Ordering::Release);
    }
}

/// Flushes `sink` until it succeeds, pausing longer each time, while it keeps
/// what it could not write; `first` is a failure already seen. Returns whether
/// everything is durable; on a failure that may have lost outputs, or when the
/// run is stopping, the sink is failed for good and this returns `false`.
fn flush_until_taken(
    sink: &mut dyn Sink,
    state: &SinkState,
    health: &Mutex<Health>,
    first: Option<std::io::Error>,
) -> bool {
    let mut pause = RETRY_FIRST;
    let mut waiting_since: Option<Instant> = None;
    let mut result = first.map_or_else(|| sink.flush(), Err);
    loop {
        match result {
            Ok(()) => {
                if let Some(since) = waiting_since {
                    eprintln!(
                        "ctistream: sink {}: writing again after {:.1} s",
                        sink.name(),
                        since.elapsed().as_secs_f64()
                    );
                }
                return true;
            }
            Err(error) if sink.keeps_unwritten() && !state.stopping.load(Ordering::Acquire) => {
                if waiting_since.is_none() {
                    eprintln!(
                        "ctistream: sink {}: {error}; holding its outputs and trying again",
                        sink.name()
                    );
                    waiting_since = Some(Instant::now());
                }
                state.retries.fetch_add(1, Ordering::Relaxed);
                *health.lock().unwrap_or_else(PoisonError::into_inner) = sink.health();
                std::thread::sleep(pause);
                pause = (pause * 2).min(RETRY_MAX);
            }
            Err(error) => {
                state.fail("flush", &error);
                return false;
            }
        }
        result = sink.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_gives_back_each_key_and_line() {
        let mut batch = LineBatch::default();
        batch.push(&[b"t1", b"ct-1"], |out| out.extend_from_slice(b"{\"a\":1}\n"));
        batch.push(&[b"t1"], |out| out.extend_from_slice(b"{}\n"));
        let entries: Vec<_> = batch.entries().collect();
        assert_eq!(entries, [(&b"t1:ct-1"[..], &b"{\"a\":1}\n"[..]), (&b"t1"[..], &b"{}\n"[..])]);
        assert_eq!(batch.len(), 2);
    }

    /// A sink whose flushes fail `failures` times, keeping its lines (a full
    /// disk) or not.
    struct Flaky {
        written: Arc<Mutex<Vec<Vec<u8>>>>,
        held: Vec<Vec<u8>>,
        failures: usize,
        keeps: bool,
    }

    impl Sink for Flaky {
        fn name(&self) -> &str {
            "flaky"
        }

        fn write(&mut self, _key: &[u8], line: &[u8]) -> std::io::Result<()> {
            self.held.push(line.to_vec());
            Ok(())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            if self.failures > 0 {
                self.failures -= 1;
                if !self.keeps {
                    self.held.clear();
                }
                return Err(std::io::Error::from(std::io::ErrorKind::StorageFull));
            }
            self.written.lock().unwrap().append(&mut self.held);
            Ok(())
        }

        fn health(&self) -> Health {
            if self.failures > 0 { Health::Degraded("full".into()) } else { Health::Up }
        }

        fn keeps_unwritten(&self) -> bool {
            self.keeps
        }

        fn close(&mut self) -> std::io::Result<()> {
            self.flush()
        }
    }

    fn batch(lines: &[&str], through: u64) -> LineBatch {
        let mut batch = LineBatch { flush_through: Some(through), ..LineBatch::default() };
        for line in lines {
            batch.push(&[b"k"], |out| out.extend_from_slice(line.as_bytes()));
        }
        batch
    }

    fn flaky(failures: usize, keeps: bool) -> (SinkWorker, Arc<Mutex<Vec<Vec<u8>>>>) {
        let written = Arc::new(Mutex::new(Vec::new()));
        let sink = Flaky { written: written.clone(), held: Vec::new(), failures, keeps };
        (SinkWorker::start(Box::new(sink)), written)
    }

    #[test]
    fn a_sink_that_keeps_its_lines_is_flushed_until_it_takes_them() {
        let (worker, written) = flaky(3, true);
        worker.sender.send(batch(&["a\n", "b\n"], 7)).unwrap();
        worker.sender.send(batch(&["c\n"], 9)).unwrap();
        let started = Instant::now();
        while worker.state.acked.load(Ordering::Acquire) < 9 {
            assert!(started.elapsed() < Duration::from_secs(10), "never acknowledged");
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(worker.state.retries.load(Ordering::Relaxed), 3);
        assert!(!worker.state.failed.load(Ordering::Acquire));
        worker.finish().unwrap();
        assert_eq!(*written.lock().unwrap(), [&b"a\n"[..], b"b\n", b"c\n"]);
    }

    #[test]
    fn a_sink_that_lost_lines_is_never_acknowledged_again() {
        let (worker, written) = flaky(1, false);
        worker.sender.send(batch(&["a\n"], 7)).unwrap();
        worker.sender.send(batch(&["b\n"], 9)).unwrap();
        let error = worker.finish().unwrap_err();
        assert!(error.starts_with("flush:"), "{error}");
        assert_eq!(*written.lock().unwrap(), Vec::<Vec<u8>>::new(), "nothing after the loss");
    }
}
