//! A shard worker. It decodes the records routed to it and runs both halves
//! of the reducer: the call side on its call threads (with its own copy of
//! the DN bindings, fed by every agent event, which every shard receives), and
//! the agent side on the agents it owns. A call leg of an agent owned
//! elsewhere leaves as a message to that shard; each shard applies the
//! messages for its agents in record order, using every shard's progress mark
//! to know when no earlier message can still come. Outputs go to the sink.

use std::collections::VecDeque;
use std::hash::BuildHasher;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use bytes::Bytes;
use crossbeam::sync::Parker;
use rustc_hash::{FxBuildHasher, FxHashMap};
use smallvec::SmallVec;

use crate::decode::Decoder;
use crate::error::DecodeResult;
use crate::event::{Attr, Dialect, Event, EventKind, EventMeta, Timestamp, Value};
use crate::state::{
    AgentChange, AgentMsg, AgentSide, CallRecord, CallSide, InteractionRecord, Name, Outputs,
};

use super::latency::{Latency, SAMPLE_EVERY, Stage};
use super::progress::Progress;
use super::ready::ReadyPublisher;
use super::ring::{Idle, Receiver, Sender};
use super::stage::{ChangeItem, Floors, OutputItem, Token};

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
    /// Whether this shard counts and reports the record (false for the copies
    /// of a broadcast record on all shards but one).
    pub(crate) primary: bool,
    /// Applied to the state without outputs ([`Pipeline::replay`](super::Pipeline::replay)).
    pub(crate) replayed: bool,
    /// Whether the router decoded this record (broadcast records, once for
    /// every shard, and a shard's records while it is behind): its event is
    /// the next one in its batch's [`Records::decoded`].
    pub(crate) decoded: bool,
}

/// A batch of records on its way to a shard, stamped when it left.
#[derive(Debug)]
pub(crate) struct RecordBatch {
    pub(crate) records: Records,
    pub(crate) sent: Instant,
}

/// The records of a batch for one shard, with the events the router decoded for
/// some of them. The vectors go back to the router to be reused.
#[derive(Debug, Default)]
pub(crate) struct Records {
    pub(crate) items: Vec<Record>,
    /// The router's events, in the order of their records.
    decoded: Vec<Decoded>,
    /// Their attributes, end to end.
    attrs: Vec<(Attr, Value)>,
}

/// An event the router decoded, kept apart from its attributes: an
/// [`EventMeta`] moved whole copies its inline index (about 600 bytes) where a
/// record has a dozen attributes, and those copies were a tenth of the router.
#[derive(Clone, Copy, Debug)]
struct Decoded {
    dialect: Dialect,
    kind: EventKind,
    time: Option<Timestamp>,
    present: u128,
    /// Where its attributes are in [`Records::attrs`].
    attrs: (usize, usize),
}

impl Records {
    pub(crate) fn with_capacity(records: usize) -> Records {
        Records { items: Vec::with_capacity(records), decoded: Vec::new(), attrs: Vec::new() }
    }

    pub(crate) fn clear(&mut self) {
        self.items.clear();
        self.decoded.clear();
        self.attrs.clear();
    }

    /// Keeps the router's event for the record pushed next.
    pub(crate) fn keep_event(&mut self, meta: &EventMeta) {
        let start = self.attrs.len();
        self.attrs.extend_from_slice(&meta.attrs);
        self.decoded.push(Decoded {
            dialect: meta.dialect,
            kind: meta.kind,
            time: meta.time,
            present: meta.present,
            attrs: (start, self.attrs.len()),
        });
    }

    /// Adds `record`; `decoded` says its event was kept just before.
    pub(crate) fn push(&mut self, mut record: Record, decoded: bool) {
        record.decoded = decoded;
        self.items.push(record);
    }
}

/// The event of `record`: the router's (the next of `decoded`), or decoded
/// here.
fn event_of<'r>(
    record: &'r Record,
    decoded: &mut std::slice::Iter<'_, Decoded>,
    attrs: &[(Attr, Value)],
    decoder: &Decoder,
) -> DecodeResult<Event<'r>> {
    let routed = if record.decoded { decoded.next() } else { None };
    debug_assert!(routed.is_some() || !record.decoded, "a record flagged decoded has its event");
    match routed {
        Some(routed) => {
            let (start, end) = routed.attrs;
            let meta = EventMeta {
                dialect: routed.dialect,
                kind: routed.kind,
                time: routed.time,
                attrs: SmallVec::from_slice(&attrs[start..end]),
                present: routed.present,
            };
            Ok(Event::with_meta(&record.payload, record.key.as_deref(), meta))
        }
        None => decoder.decode(&record.payload, record.key.as_deref()),
    }
}

/// A batch between two stages, stamped when it left.
#[derive(Debug)]
pub(crate) struct Batch<T> {
    pub(crate) items: Vec<T>,
    pub(crate) sent: Instant,
}

/// A message for an agent side, tagged with its record's number.
#[derive(Debug)]
pub(crate) struct Msg {
    pub(crate) seq: u64,
    pub(crate) born: Instant,
    pub(crate) message: AgentMsg,
    /// From a replayed record: changes the agent, reports nothing.
    pub(crate) replayed: bool,
}

/// The shard that owns an agent.
pub(crate) fn owner(tenant: &[u8], agent: &[u8], shards: usize) -> usize {
    (FxBuildHasher.hash_one((tenant, agent)) % shards.max(1) as u64) as usize
}

/// What a shard hands back when it stops.
#[derive(Debug)]
pub(crate) struct ShardDone {
    pub(crate) call: CallSide,
    pub(crate) agents: AgentSide,
    pub(crate) latency: Latency,
    pub(crate) kinds: FxHashMap<(Dialect, EventKind), u64>,
}

/// Outputs produced on a shard, queued for the sink.
struct Queued<'a> {
    items: &'a mut Vec<OutputItem>,
    born: Instant,
}

impl Outputs for Queued<'_> {
    fn agent_change(&mut self, change: &AgentChange<'_>) {
        self.items.push(OutputItem::Change(
            ChangeItem {
                tenant: Name::from_slice(change.tenant.as_bytes()),
                agent: Name::from_slice(change.agent.as_bytes()),
                status: change.status,
                previous: change.previous,
                at: change.at,
                reason: change.reason.map(|r| Name::from_slice(r.as_bytes())).unwrap_or_default(),
            },
            self.born,
        ));
    }

    fn call_record(&mut self, record: &CallRecord) {
        self.items.push(OutputItem::Call(Box::new(record.clone()), self.born));
    }

    fn interaction_record(&mut self, record: &InteractionRecord) {
        self.items.push(OutputItem::Interaction(Box::new(record.clone()), self.born));
    }
}

pub(crate) struct Shard<O> {
    pub(crate) index: usize,
    pub(crate) shards: usize,
    pub(crate) input: Receiver<RecordBatch>,
    /// To the other shards' agent sides (`None` at this shard's own index).
    pub(crate) to_agents: Vec<Option<Sender<Batch<Msg>>>>,
    /// From the other shards (`None` at this shard's own index).
    pub(crate) from_shards: Vec<Option<Receiver<Batch<Msg>>>>,
    pub(crate) progress: Vec<Arc<Progress>>,
    pub(crate) dispatched: Arc<Progress>,
    pub(crate) parker: Parker,
    pub(crate) decoder: Decoder,
    pub(crate) call: CallSide,
    pub(crate) agents: AgentSide,
    pub(crate) output: Sender<Batch<OutputItem>>,
    pub(crate) sink: Arc<Token<O>>,
    pub(crate) ready: ReadyPublisher,
    /// Outputs handed to the sink at most about this many at a time while
    /// agent messages are applied (twice the record batch).
    pub(crate) output_batch: usize,
    /// Where this shard's latency is reported, at its own index.
    pub(crate) report: Arc<Vec<ArcSwap<Latency>>>,
    /// Every output of records numbered up to this has been queued for the
    /// sink: the `safe` mark of the last agent pass (the call side's outputs
    /// for our records up to our own mark, which `safe` never exceeds, are
    /// queued by then too).
    pub(crate) through: u64,
    /// The last watermark sent to the sink.
    pub(crate) marked: u64,
    /// Read once the input has ended: whether the open call threads are
    /// flushed (the end of input) or kept (a pause; see `Pipeline::pause`).
    pub(crate) flush_open: Arc<AtomicBool>,
}

/// How often a thread refreshes its latency report.
pub(crate) const REPORT_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// The agent side's inbox: messages per source shard, in each source's order.
struct Inbox {
    pending: Vec<VecDeque<(Instant, Msg)>>,
}

impl Inbox {
    fn drain(&mut self, from: &[Option<Receiver<Batch<Msg>>>]) {
        for (source, queue) in from.iter().zip(self.pending.iter_mut()) {
            if let Some(source) = source {
                while let Some(mut batch) = source.try_recv() {
                    let sent = batch.sent;
                    queue.extend(batch.items.drain(..).map(|msg| (sent, msg)));
                    source.give_back(batch);
                }
            }
        }
    }

    /// The next message at or below `safe`, smallest number first.
    fn next(&mut self, safe: u64) -> Option<(Instant, Msg)> {
        let (_, source) = self
            .pending
            .iter()
            .enumerate()
            .filter_map(|(i, queue)| queue.front().map(|(_, msg)| (msg.seq, i)))
            .filter(|&(seq, _)| seq <= safe)
            .min()?;
        self.pending[source].pop_front()
    }

    fn is_empty(&self) -> bool {
        self.pending.iter().all(VecDeque::is_empty)
    }
}

impl<O: Outputs> Shard<O> {
    pub(crate) fn run(mut self) -> ShardDone {
        let mut latency = Latency::new();
        let mut kinds: FxHashMap<(Dialect, EventKind), u64> = FxHashMap::default();
        let mut messages: Vec<AgentMsg> = Vec::new();
        let mut outbox: Vec<Vec<Msg>> = (0..self.shards).map(|_| Vec::new()).collect();
        let mut outputs: Vec<OutputItem> = Vec::new();
        let mut inbox = Inbox { pending: (0..self.shards).map(|_| VecDeque::new()).collect() };
        let mut processed = 0u64;
        let mut reported = Instant::now();
        let idle = Idle::new();
        loop {
            // Read the router's mark before looking at the ring: once the ring is
            // empty, every record of ours up to the mark has been handled.
            let dispatched = self.dispatched.read();
            let Some(batch) = self.input.try_recv() else {
                if self.input.is_finished() {
                    break;
                }
                self.progress[self.index].publish(dispatched);
                let applied = self.apply_agents(&mut inbox, &mut outputs, &mut latency);
                self.flush_outputs(&mut outputs);
                if applied > 0 || self.sink.try_run() {
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
                batch.records.items.len() as u64,
            );
            let mut last = 0;
            let mut routed = batch.records.decoded.iter();
            for record in &batch.records.items {
                last = record.seq;
                processed += 1;
                let sampled = processed % SAMPLE_EVERY == 1;
                let start = sampled.then(Instant::now);
                self.call.set_counting(record.primary);
                self.call.set_replaying(record.replayed);
                // Matched by reference: the event is large (its attribute
                // index is inline) and moving it out of the result is a copy.
                match event_of(record, &mut routed, &batch.records.attrs, &self.decoder) {
                    Ok(ref event) => {
                        let decoded = start.map(|start| (start, Instant::now()));
                        if record.primary {
                            *kinds.entry((event.dialect(), event.kind())).or_default() += 1;
                        }
                        let (index, shards) = (self.index, self.shards);
                        let mut queued = Queued { items: &mut outputs, born: record.born };
                        self.call.apply(
                            event,
                            record.origin,
                            record.ingest,
                            &mut messages,
                            &mut queued,
                            |t, a| owner(t, a, shards) == index,
                        );
                        if let Some((start, decoded)) = decoded {
                            // The router times the records it decoded.
                            if !record.decoded {
                                let nanos = (decoded - start).as_nanos() as u64;
                                latency.record(Stage::Decode, nanos);
                            }
                            latency.record(Stage::Reduce, decoded.elapsed().as_nanos() as u64);
                        }
                        for message in messages.drain(..) {
                            // A link loss is every shard's own business (each
                            // decoded the broadcast record); the rest goes to
                            // the agent's owner.
                            let target = match message.body {
                                crate::state::AgentBody::LinkLost { .. } => self.index,
                                _ => owner(&message.tenant, message.agent(), self.shards),
                            };
                            outbox[target].push(Msg {
                                seq: record.seq,
                                born: record.born,
                                message,
                                replayed: record.replayed,
                            });
                        }
                    }
                    Err(error) if record.primary && !record.replayed => outputs
                        .push(OutputItem::Reject(record.origin, error, record.payload.clone())),
                    Err(_) => {}
                }
            }
            debug_assert!(routed.next().is_none(), "every event the router kept was used");
            // Back to the router as it is, to be emptied there (see
            // `Pipeline::flush`); dropped here only if the router already
            // holds a ring's worth.
            self.input.give_back(batch);
            self.send_messages(&mut outbox, &mut inbox);
            // Messages first, then the mark (see `progress`).
            self.progress[self.index].publish(last);
            self.apply_agents(&mut inbox, &mut outputs, &mut latency);
            self.flush_outputs(&mut outputs);
            self.sink.try_run();
            if reported.elapsed() >= REPORT_EVERY {
                self.report[self.index].store(Arc::new(latency.clone()));
                reported = Instant::now();
            }
        }
        // Every message of ours is out: say so, then let the others know we
        // send no more, and finish applying theirs.
        self.progress[self.index].publish(u64::MAX);
        for sender in &mut self.to_agents {
            sender.take();
        }
        loop {
            self.apply_agents(&mut inbox, &mut outputs, &mut latency);
            self.flush_outputs(&mut outputs);
            let others_done = self.progress.iter().all(|p| p.read() == u64::MAX)
                && self.from_shards.iter().flatten().all(Receiver::is_finished);
            if others_done {
                inbox.drain(&self.from_shards);
                if inbox.is_empty() {
                    break;
                }
                continue;
            }
            if !self.sink.try_run() {
                idle.wait(&self.parker);
            }
        }
        if self.flush_open.load(Ordering::Acquire) {
            let mut queued = Queued { items: &mut outputs, born: Instant::now() };
            self.call.finish(&mut queued);
        }
        self.ready.publish(&self.agents, &mut latency, true);
        self.flush_outputs(&mut outputs);
        ShardDone { call: self.call, agents: self.agents, latency, kinds }
    }

    /// Sends each other shard its messages; our own go straight to the inbox.
    fn send_messages(&mut self, outbox: &mut [Vec<Msg>], inbox: &mut Inbox) {
        let now = Instant::now();
        for (target, messages) in outbox.iter_mut().enumerate() {
            if messages.is_empty() {
                continue;
            }
            match &self.to_agents[target] {
                Some(sender) => {
                    let items = take_batch(messages, sender.take_spare().map(|spare| spare.items));
                    // While the target's ring is full, drain our own inbox: the
                    // target may be waiting on a full ring to us.
                    let from = &self.from_shards;
                    sender.send(Batch { items, sent: now }, || {
                        inbox.drain(from);
                        false
                    });
                }
                // Our own: moved across, the vector kept for the next batch.
                None => inbox.pending[self.index].extend(messages.drain(..).map(|msg| (now, msg))),
            }
        }
    }

    /// Applies every message no shard can still precede; returns how many.
    fn apply_agents(
        &mut self,
        inbox: &mut Inbox,
        outputs: &mut Vec<OutputItem>,
        latency: &mut Latency,
    ) -> u64 {
        // Marks first, then the rings: everything pushed before a mark is in.
        let safe = self.progress.iter().map(|p| p.read()).min().unwrap_or(u64::MAX);
        self.through = self.through.max(safe);
        inbox.drain(&self.from_shards);
        let started = Instant::now();
        let mut applied = 0u64;
        let mut sending = Duration::ZERO;
        while let Some((sent, msg)) = inbox.next(safe) {
            latency.record(Stage::AgentWait, started.duration_since(sent).as_nanos() as u64);
            self.agents.set_replaying(msg.replayed);
            let mut queued = Queued { items: outputs, born: msg.born };
            self.agents.apply(msg.message, &mut queued);
            applied += 1;
            // A held-back shard releases thousands of messages at once: their
            // outputs go out a batch at a time, so batches keep one size and
            // are refilled as they are (one grown to the burst was
            // reallocated, copied and paged in afresh each time).
            if outputs.len() >= self.output_batch {
                let send_started = Instant::now();
                self.send_outputs(outputs);
                sending += send_started.elapsed();
            }
        }
        // Emit is the agent side's work; time in the sink is not counted.
        let applying = started.elapsed().saturating_sub(sending);
        if let Some(per) = (applying.as_nanos() as u64).checked_div(applied) {
            latency.record_n(Stage::Emit, per, applied);
            self.ready.publish(&self.agents, latency, false);
        }
        applied
    }

    fn flush_outputs(&mut self, outputs: &mut Vec<OutputItem>) {
        // The end-of-input mark (u64::MAX) is not passed on: the open calls
        // flushed at the end come after it, and `finish` covers them.
        if self.through > self.marked && self.through != u64::MAX {
            self.marked = self.through;
            let mut floors = Floors::new();
            self.call.open_floors(&mut floors);
            self.agents.open_floors(&mut floors);
            outputs.push(OutputItem::Mark(self.through, floors));
        }
        if !outputs.is_empty() {
            self.send_outputs(outputs);
        }
    }

    /// Hands the outputs queued so far to the sink, no mark with them.
    fn send_outputs(&mut self, outputs: &mut Vec<OutputItem>) {
        // A batch that once grew far past the usual size is let go rather
        // than kept at its peak for the pipeline's life.
        let spare = self
            .output
            .take_spare()
            .map(|spare| spare.items)
            .filter(|items| items.capacity() <= 4 * self.output_batch);
        let batch = Batch { items: take_batch(outputs, spare), sent: Instant::now() };
        let sink = &self.sink;
        self.output.send(batch, || sink.try_run());
    }
}

/// Takes a batch out of `items`, leaving in its place `spare` (an emptied
/// batch the consumer gave back) or, while none has come back, room for
/// another as large: a batch grown from empty would reallocate and copy
/// itself several times over.
fn take_batch<T>(items: &mut Vec<T>, spare: Option<Vec<T>>) -> Vec<T> {
    debug_assert!(spare.as_ref().is_none_or(Vec::is_empty));
    let next = spare.unwrap_or_else(|| Vec::with_capacity(items.len()));
    std::mem::replace(items, next)
}
