//! One thread per sink: it writes the batches of serialized outputs it is
//! handed and, at each flush point, makes them durable and acknowledges the
//! record number the flush covers.
//!
//! A sink that fails once is never acknowledged again: lines lost in a failed
//! write must not be covered by a later successful flush (that would commit
//! source positions whose outputs never arrived). The driver sees the failure
//! and stops the run without committing past it.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use crossbeam::channel::{Receiver, Sender, bounded};
use ctistream_core::connect::{Health, Sink};

/// Batches queued in front of a sink before whoever hands them over waits
/// (backpressure from a slow sink to the pipeline and then the sources).
const QUEUE: usize = 64;

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
    /// Set once a write or flush failed.
    pub failed: AtomicBool,
    /// The first failure, for the message.
    pub error: Mutex<Option<String>>,
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
}

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

    /// Stops taking batches, flushes and closes the sink, and waits for it;
    /// returns the first failure.
    pub fn finish(self) -> Result<(), String> {
        let SinkWorker { name, sender, state, thread, .. } = self;
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
    for batch in batches {
        if !state.failed.load(Ordering::Acquire) {
            for (key, line) in batch.entries() {
                if let Err(error) = sink.write(key, line) {
                    state.fail("write", &error);
                    break;
                }
            }
            state.lines.fetch_add(batch.len() as u64, Ordering::Relaxed);
            if let Some(through) = batch.flush_through {
                match sink.flush() {
                    Ok(()) if !state.failed.load(Ordering::Acquire) => {
                        state.acked.fetch_max(through, Ordering::Release);
                    }
                    Ok(()) => {}
                    Err(error) => state.fail("flush", &error),
                }
            }
        }
        *health.lock().unwrap_or_else(PoisonError::into_inner) = sink.health();
    }
    if let Err(error) = sink.close() {
        state.fail("close", &error);
    } else if !state.failed.load(Ordering::Acquire) {
        // Closing flushed everything: all of it is acknowledged.
        state.acked.store(u64::MAX, Ordering::Release);
    }
    *health.lock().unwrap_or_else(PoisonError::into_inner) = sink.health();
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
}
