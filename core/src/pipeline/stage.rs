//! The sink: delivers every shard's outputs to the one [`Outputs`] the
//! pipeline was given.
//!
//! The sink has no thread of its own. It is a task any shard runs when it can
//! take the sink's token ([`Token::try_run`]): after a batch, while idle, and
//! while waiting on its full output ring. Nobody ever waits for the token — a
//! shard that finds it taken goes on with its own records.

use std::sync::{Arc, Mutex, PoisonError, TryLockError};

use arc_swap::ArcSwap;
use std::time::Instant;

use smallvec::SmallVec;

use crate::state::{AgentChange, CallRecord, InteractionRecord, Name, Outputs};

use super::latency::{Latency, Stage};
use super::ring::Receiver;
use super::shard::{Batch, Origin, REPORT_EVERY};

/// An agent status change on its way to the sink (names inline, no heap).
#[derive(Clone, Debug)]
pub(crate) struct ChangeItem {
    pub(crate) tenant: Name,
    pub(crate) agent: Name,
    pub(crate) status: crate::event::AgentStatus,
    pub(crate) previous: Option<crate::event::AgentStatus>,
    pub(crate) at: crate::event::Timestamp,
    pub(crate) reason: Name,
}

/// One output on its way to the sink, with the time its record came in.
#[derive(Debug)]
pub(crate) enum OutputItem {
    Change(ChangeItem, Instant),
    Call(Box<CallRecord>, Instant),
    Interaction(Box<InteractionRecord>, Instant),
    Reject(Origin, crate::error::DecodeError, bytes::Bytes),
    /// The shard's watermark: every output of records numbered up to this
    /// is ahead of it in the ring; with the shard's open-call floors then
    /// (see [`Outputs::open_from`]).
    Mark(u64, Floors),
}

/// Per input stream, the position of the first event of the oldest call
/// without a record yet.
pub(crate) type Floors = SmallVec<[(u32, u64); 4]>;

/// The sink's state: the shards' output rings and the outputs.
pub(crate) struct Sink<O> {
    pub(crate) inputs: Vec<Receiver<Batch<OutputItem>>>,
    pub(crate) outputs: O,
    pub(crate) latency: Latency,
    /// The latency reports and the sink's index among them.
    pub(crate) report: (Arc<Vec<ArcSwap<Latency>>>, usize),
    pub(crate) reported: Instant,
    /// Each shard's latest watermark, by ring.
    pub(crate) marks: Vec<u64>,
    /// Each shard's open-call floors at its latest watermark, by ring.
    pub(crate) floors: Vec<Floors>,
    /// What [`Outputs::delivered`] was last told.
    pub(crate) delivered: u64,
}

/// A name as text (names are made from text, so this never fails in practice).
fn str_of(name: &Name) -> &str {
    std::str::from_utf8(name).unwrap_or("")
}

impl<O: Outputs> Sink<O> {
    /// Delivers everything in the rings; returns how many items.
    fn step(&mut self) -> u64 {
        let mut delivered = 0;
        let now = Instant::now();
        for index in 0..self.inputs.len() {
            while let Some(mut batch) = self.inputs[index].try_recv() {
                for item in batch.items.drain(..) {
                    delivered += 1;
                    let born = match item {
                        OutputItem::Change(change, born) => {
                            self.outputs.agent_change(&AgentChange {
                                tenant: str_of(&change.tenant),
                                agent: str_of(&change.agent),
                                status: change.status,
                                previous: change.previous,
                                at: change.at,
                                reason: (!change.reason.is_empty()).then(|| str_of(&change.reason)),
                            });
                            born
                        }
                        OutputItem::Call(record, born) => {
                            self.outputs.call_record(&record);
                            born
                        }
                        OutputItem::Interaction(record, born) => {
                            self.outputs.interaction_record(&record);
                            born
                        }
                        OutputItem::Reject(origin, error, raw) => {
                            self.outputs.reject(origin, &error, &raw);
                            continue;
                        }
                        OutputItem::Mark(through, floors) => {
                            self.floors[index] = floors;
                            self.advance(index, through);
                            continue;
                        }
                    };
                    self.latency
                        .record(Stage::EndToEnd, now.duration_since(born).as_nanos() as u64);
                }
                self.inputs[index].give_back(batch);
            }
        }
        if delivered == 0 {
            self.outputs.idle();
        }
        if self.reported.elapsed() >= REPORT_EVERY {
            let (reports, index) = &self.report;
            reports[*index].store(Arc::new(self.latency.clone()));
            self.reported = Instant::now();
        }
        delivered
    }

    /// Notes shard `index`'s watermark; tells the outputs when the lowest one
    /// moves.
    fn advance(&mut self, index: usize, through: u64) {
        self.marks[index] = self.marks[index].max(through);
        let lowest = self.marks.iter().copied().min().unwrap_or(0);
        if lowest > self.delivered {
            self.delivered = lowest;
            // Each shard's floors are from its own latest mark, at or past
            // `lowest`: threads it closed since had their records put ahead
            // of that mark, so they are delivered by now too.
            let mut merged = Floors::new();
            for &(stream, position) in self.floors.iter().flatten() {
                match merged.iter_mut().find(|(s, _)| *s == stream) {
                    Some((_, floor)) => *floor = (*floor).min(position),
                    None => merged.push((stream, position)),
                }
            }
            self.outputs.open_from(lowest, &merged);
            self.outputs.delivered(lowest);
        }
    }

    fn finished(&self) -> bool {
        self.inputs.iter().all(Receiver::is_finished)
    }
}

/// The right to run the sink, taken without ever waiting.
pub(crate) struct Token<O> {
    sink: Mutex<Option<Sink<O>>>,
}

impl<O: Outputs> Token<O> {
    pub(crate) fn new(sink: Sink<O>) -> Token<O> {
        Token { sink: Mutex::new(Some(sink)) }
    }

    /// Runs the sink if no other thread is running it; returns whether it
    /// delivered something.
    pub(crate) fn try_run(&self) -> bool {
        let mut guard = match self.sink.try_lock() {
            Ok(guard) => guard,
            // Another shard is running the sink: go on with our own work.
            Err(TryLockError::WouldBlock) => return false,
            // A panic elsewhere is reported when that thread is joined.
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
        };
        guard.as_mut().is_some_and(|sink| sink.step() > 0)
    }

    /// Delivers the rest once every shard has stopped, and hands back the
    /// outputs and the sink's latency.
    pub(crate) fn finish(&self) -> Option<(O, Latency)> {
        let mut guard = self.sink.lock().unwrap_or_else(PoisonError::into_inner);
        let mut sink = guard.take()?;
        while !sink.finished() {
            sink.step();
        }
        sink.step();
        Some((sink.outputs, sink.latency))
    }
}
