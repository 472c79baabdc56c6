//! A shard worker: decodes the records routed to it and runs the call side of
//! the reducer on them; what the agent side must learn goes out as messages,
//! tagged with the sequence number of the record that caused them.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use crossbeam::queue::ArrayQueue;
use crossbeam::sync::Parker;
use rustc_hash::FxHashMap;

use crate::decode::Decoder;
use crate::error::DecodeError;
use crate::event::{Dialect, EventKind, Timestamp};
use crate::state::{AgentMsg, CallSide, Outputs};

use super::latency::{Latency, SAMPLE_EVERY, Stage};
use super::progress::Progress;
use super::ring::{Idle, Receiver, Sender};
use super::stage::Token;

/// Where a record came from: the index of its source and its line (or frame,
/// or offset) there.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Origin {
    /// The source's index, as given to [`Pipeline::push`](super::Pipeline::push).
    pub source: u32,
    /// The line, frame number or offset in that source.
    pub line: u64,
}

/// One record on its way to a shard.
#[derive(Clone, Debug)]
pub(crate) struct Record {
    pub(crate) seq: u64,
    pub(crate) payload: Bytes,
    pub(crate) key: Option<Bytes>,
    pub(crate) origin: Origin,
    pub(crate) ingest: Timestamp,
    pub(crate) born: Instant,
}

/// A batch between two stages, stamped when it left.
#[derive(Debug)]
pub(crate) struct Batch<T> {
    pub(crate) items: Vec<T>,
    pub(crate) sent: Instant,
}

/// What a shard tells the agent stage.
#[derive(Debug)]
pub(crate) enum Outgoing {
    /// A message for the agent side.
    Message { seq: u64, born: Instant, message: AgentMsg },
    /// A record that could not be decoded.
    Reject { seq: u64, origin: Origin, error: DecodeError, raw: Bytes },
}

impl Outgoing {
    pub(crate) fn seq(&self) -> u64 {
        match self {
            Outgoing::Message { seq, .. } | Outgoing::Reject { seq, .. } => *seq,
        }
    }
}

/// The sequence number of the end-of-input flush, after every record.
pub(crate) const END: u64 = u64::MAX - 1;

/// What a shard hands back when it stops.
#[derive(Debug)]
pub(crate) struct ShardDone {
    pub(crate) side: CallSide,
    pub(crate) latency: Latency,
    pub(crate) kinds: FxHashMap<(Dialect, EventKind), u64>,
}

pub(crate) struct Shard<O> {
    pub(crate) input: Receiver<Batch<Record>>,
    pub(crate) output: Sender<Batch<Outgoing>>,
    pub(crate) progress: Arc<Progress>,
    pub(crate) dispatched: Arc<Progress>,
    pub(crate) parker: Parker,
    pub(crate) decoder: Decoder,
    pub(crate) side: CallSide,
    pub(crate) batch: usize,
    pub(crate) stage: Arc<Token<O>>,
    /// Spent record batches go back to the router, which drops them: the
    /// records' `Bytes` are then counted down on the thread that counted them
    /// up, instead of bouncing the block's reference count between cores, and
    /// the router reuses the vectors.
    pub(crate) spent: Arc<ArrayQueue<Vec<Record>>>,
}

impl<O: Outputs> Shard<O> {
    pub(crate) fn run(mut self) -> ShardDone {
        let mut latency = Latency::new();
        let mut kinds: FxHashMap<(Dialect, EventKind), u64> = FxHashMap::default();
        let mut messages: Vec<AgentMsg> = Vec::new();
        let mut out: Vec<Outgoing> = Vec::with_capacity(self.batch);
        let mut processed = 0u64;
        let idle = Idle::new();
        loop {
            // Read the router's mark before looking at the ring: once the ring is
            // empty, every record of ours up to the mark has been handled.
            let dispatched = self.dispatched.read();
            let Some(batch) = self.input.try_recv() else {
                if self.input.is_finished() {
                    break;
                }
                self.progress.publish(dispatched);
                if self.stage.try_run() {
                    idle.reset();
                } else {
                    idle.wait(&self.parker);
                }
                continue;
            };
            idle.reset();
            let taken = Instant::now();
            latency.record_n(
                Stage::RingWait,
                taken.duration_since(batch.sent).as_nanos() as u64,
                batch.items.len() as u64,
            );
            let mut last = 0;
            for record in &batch.items {
                last = record.seq;
                processed += 1;
                let sampled = processed % SAMPLE_EVERY == 1;
                let start = sampled.then(Instant::now);
                match self.decoder.decode(&record.payload, record.key.as_deref()) {
                    Ok(event) => {
                        let decoded = start.map(|start| (start, Instant::now()));
                        *kinds.entry((event.dialect(), event.kind())).or_default() += 1;
                        self.side.apply(&event, record.ingest, &mut messages);
                        if let Some((start, decoded)) = decoded {
                            latency.record(Stage::Decode, (decoded - start).as_nanos() as u64);
                            latency.record(Stage::Reduce, decoded.elapsed().as_nanos() as u64);
                        }
                        for message in messages.drain(..) {
                            out.push(Outgoing::Message {
                                seq: record.seq,
                                born: record.born,
                                message,
                            });
                        }
                    }
                    Err(error) => out.push(Outgoing::Reject {
                        seq: record.seq,
                        origin: record.origin,
                        error,
                        raw: record.payload.clone(),
                    }),
                }
                if out.len() >= self.batch {
                    let batch = Batch { items: std::mem::take(&mut out), sent: Instant::now() };
                    self.output.send(batch, || self.stage.try_run());
                }
            }
            if !out.is_empty() {
                let batch = Batch { items: std::mem::take(&mut out), sent: Instant::now() };
                self.output.send(batch, || self.stage.try_run());
            }
            // If the router's return queue is full, the batch is simply dropped here.
            let _ = self.spent.push(batch.items);
            // Messages first, then the mark (see `progress`).
            self.progress.publish(last);
            self.stage.try_run();
        }
        self.side.finish(&mut messages);
        let now = Instant::now();
        let flushed: Vec<Outgoing> = messages
            .drain(..)
            .map(|message| Outgoing::Message { seq: END, born: now, message })
            .collect();
        if !flushed.is_empty() {
            self.output.send(Batch { items: flushed, sent: now }, || self.stage.try_run());
        }
        self.progress.publish(u64::MAX);
        ShardDone { side: self.side, latency, kinds }
    }
}
