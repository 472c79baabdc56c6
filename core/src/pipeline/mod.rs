//! The sharded pipeline: the reducer on every core, with no lock on the hot
//! path, per-key order kept, and every stage measured.
//!
//! ```text
//!  push ──▶ Router ──rings──▶ Shard 0..N ──rings──▶ Agent stage ──▶ Outputs
//!  (caller's  (key hash;        (decode, call side:   (agent side in record
//!   thread)    batches)          threads, interactions) order; records, stats,
//!                                                       ready-agent view)
//! ```
//!
//! The caller's thread is the router: [`Pipeline::push`] hands it records,
//! which it numbers, routes by key ([`route`]) and batches into bounded
//! lock-free rings ([`ring`]), one per shard. Each shard decodes its records and
//! runs the call side of the reducer ([`CallSide`]); what concerns agents
//! leaves as messages tagged with the record's number. The agent stage applies
//! them to the agent side ([`AgentSide`]) in number order, using the shards'
//! progress marks ([`progress`]) to know when no earlier message can still
//! come. That order is the single-threaded reducer's, so the outputs are the
//! same for every shard count.
//!
//! # Examples
//!
//! ```
//! use bytes::Bytes;
//! use ctistream_core::pipeline::{Origin, Pipeline, PipelineConfig};
//! use ctistream_core::state::CollectOutputs;
//! use ctistream_core::Timestamp;
//!
//! let mut pipeline = Pipeline::start(PipelineConfig { shards: 2, ..PipelineConfig::default() }, CollectOutputs::default());
//! let ready = pipeline.ready_view();
//! let records = [
//!     r#"{"id":"EventAgentLogin","ThisDN":"5001","AgentID":"a1","ThisQueue":"Sales","time":"2026-11-20T09:00:00Z"}"#,
//!     r#"{"id":"EventAgentReady","ThisDN":"5001","AgentID":"a1","time":"2026-11-20T09:00:01Z"}"#,
//!     r#"{"id":"EventRinging","CallThreadID":"c1","ThisDN":"5001","CallType":"Inbound","time":"2026-11-20T09:01:00Z"}"#,
//!     r#"{"id":"EventEstablished","CallThreadID":"c1","ThisDN":"5001","CallType":"Inbound","time":"2026-11-20T09:01:04Z"}"#,
//!     r#"{"id":"EventReleased","CallThreadID":"c1","ThisDN":"5001","CallType":"Inbound","time":"2026-11-20T09:03:04Z"}"#,
//! ];
//! for (line, record) in records.iter().enumerate() {
//!     let origin = Origin { source: 0, line: line as u64 + 1 };
//!     pipeline.push(Bytes::from_static(record.as_bytes()), None, origin, Timestamp(0));
//! }
//! let done = pipeline.finish();
//! assert_eq!(done.outputs.records[0].agents, ["a1"]);
//! assert_eq!(done.outputs.records[0].talk_ms, 120_000);
//! // The view any thread can read: a1 is ready again, in Sales.
//! assert_eq!(ready.load().longest_idle("default", "Sales").map(|a| a.agent.as_str()), Some("a1"));
//! println!("{}", done.latency.table());
//! ```

mod latency;
mod progress;
mod ready;
mod ring;
mod route;
mod shard;
mod stage;

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use bytes::Bytes;
use crossbeam::queue::ArrayQueue;
use crossbeam::sync::Parker;
use rustc_hash::FxHashMap;

use crate::decode::{DecodeOptions, Decoder, Format};
use crate::event::{Dialect, EventKind, Timestamp};
use crate::state::{AgentSide, CallSide, Outputs, ReduceCounters, ReducerConfig};

pub use latency::{Latency, SAMPLE_EVERY, Stage};
pub use ready::{PUBLISH_EVERY, ReadyAgent, ReadyHandle, ReadyView};
pub use route::Router;
pub use shard::Origin;

use progress::Progress;
use ready::ReadyPublisher;
use shard::{Batch, Record, Shard, ShardDone};
use stage::{AgentStage, Token};

/// How the pipeline is built.
#[derive(Clone, Debug)]
pub struct PipelineConfig {
    /// Shard threads (at least 1).
    pub shards: usize,
    /// The input format.
    pub format: Format,
    /// Decoder limits.
    pub decode: DecodeOptions,
    /// Reducer settings.
    pub reducer: ReducerConfig,
    /// Records (and messages) per batch.
    pub batch: usize,
    /// Batches each ring holds.
    pub ring: usize,
    /// Drop records instead of waiting when a shard's ring is full (every drop
    /// is counted). Off by default: backpressure waits, nothing is lost.
    pub shed: bool,
    /// Call identities the router remembers to send consultation legs after
    /// their main call (records without a key).
    pub route_links: usize,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            shards: std::thread::available_parallelism().map_or(1, usize::from),
            format: Format::Auto,
            decode: DecodeOptions::default(),
            reducer: ReducerConfig::default(),
            batch: 256,
            ring: 64,
            shed: false,
            route_links: 1 << 20,
        }
    }
}

/// A running pipeline. The thread that owns it is the router.
pub struct Pipeline<O: Outputs + Send + 'static> {
    router: Router,
    dialect: Option<Dialect>,
    senders: Vec<ring::Sender<Batch<Record>>>,
    batches: Vec<Vec<Record>>,
    spent: Vec<Arc<ArrayQueue<Vec<Record>>>>,
    batch: usize,
    shed: bool,
    shed_count: u64,
    seq: u64,
    dispatched: Arc<Progress>,
    shards: Vec<JoinHandle<ShardDone>>,
    stage: Arc<Token<O>>,
    ready: ReadyHandle,
    source: Latency,
    source_mark: Instant,
    source_count: u64,
    round_start: Option<Instant>,
}

impl<O: Outputs + Send + 'static> std::fmt::Debug for Pipeline<O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("shards", &self.senders.len())
            .field("pushed", &self.seq)
            .finish_non_exhaustive()
    }
}

/// What a finished pipeline hands back.
#[derive(Debug)]
pub struct PipelineDone<O> {
    /// The outputs, after every record and the end-of-input flush.
    pub outputs: O,
    /// The agent side: agents (for snapshots) and statistics.
    pub agents: AgentSide,
    /// Each shard's call side (open threads were flushed; interactions summaries).
    pub calls: Vec<CallSide>,
    /// Every stage's latency, merged.
    pub latency: Latency,
    /// Accepted records per dialect and event kind.
    pub kinds: FxHashMap<(Dialect, EventKind), u64>,
    /// Records dropped by load shedding.
    pub shed: u64,
}

impl<O> PipelineDone<O> {
    /// The reducer counters over all shards.
    pub fn counters(&self) -> ReduceCounters {
        let calls: Vec<&CallSide> = self.calls.iter().collect();
        ReduceCounters::of(&calls, &self.agents)
    }
}

impl<O: Outputs + Send + 'static> Pipeline<O> {
    /// Starts the shard threads; `outputs` receives every record and change,
    /// on whichever shard thread is running the agent stage at the time (one at
    /// a time, in record order).
    ///
    /// # Panics
    /// When the operating system refuses to start a thread.
    pub fn start(config: PipelineConfig, outputs: O) -> Pipeline<O> {
        let shards = config.shards.max(1);
        // The agent stage has no thread: shards run it (see `stage`), so nobody
        // needs waking for it; its rings' wake-ups go nowhere useful.
        let stage_parker = Parker::new();
        let dispatched = Arc::new(Progress::default());
        let ready = ReadyHandle::default();
        let mut senders = Vec::with_capacity(shards);
        let mut stage_inputs = Vec::with_capacity(shards);
        let mut marks = Vec::with_capacity(shards);
        let mut shard_parts = Vec::with_capacity(shards);
        let mut spent_queues = Vec::with_capacity(shards);
        for _ in 0..shards {
            let parker = Parker::new();
            let (to_shard, from_router) = ring::channel(config.ring, parker.unparker().clone());
            let (to_stage, from_shard) =
                ring::channel(config.ring, stage_parker.unparker().clone());
            let progress = Arc::new(Progress::default());
            senders.push(to_shard);
            stage_inputs.push(from_shard);
            marks.push(progress.clone());
            let spent = Arc::new(ArrayQueue::new(config.ring.max(1) + 2));
            spent_queues.push(spent.clone());
            shard_parts.push((from_router, to_stage, progress, parker, spent));
        }
        let stage = Arc::new(Token::new(AgentStage {
            pending: stage_inputs.iter().map(|_| Default::default()).collect(),
            inputs: stage_inputs,
            progress: marks,
            side: AgentSide::new(config.reducer.stats),
            outputs,
            ready: ReadyPublisher::new(ready.clone()),
            latency: Latency::new(),
        }));
        let mut handles = Vec::with_capacity(shards);
        for (index, (input, output, progress, parker, spent)) in shard_parts.into_iter().enumerate()
        {
            let shard = Shard {
                input,
                output,
                progress,
                dispatched: dispatched.clone(),
                parker,
                decoder: Decoder::with_options(config.format, config.decode.clone()),
                side: CallSide::new(config.reducer.calls, config.reducer.interactions),
                batch: config.batch,
                stage: stage.clone(),
                spent,
            };
            let handle = std::thread::Builder::new()
                .name(format!("ctistream-shard-{index}"))
                .spawn(move || shard.run())
                .expect("start a shard thread");
            handles.push(handle);
        }
        Pipeline {
            router: Router::new(shards, config.route_links),
            dialect: config.format.dialect(),
            senders,
            batches: (0..shards).map(|_| Vec::with_capacity(config.batch)).collect(),
            spent: spent_queues,
            batch: config.batch.max(1),
            shed: config.shed,
            shed_count: 0,
            seq: 0,
            dispatched,
            shards: handles,
            stage,
            ready,
            source: Latency::new(),
            source_mark: Instant::now(),
            source_count: 0,
            round_start: None,
        }
    }

    /// The ready-agent view, readable from any thread without locks.
    pub fn ready_view(&self) -> ReadyHandle {
        self.ready.clone()
    }

    /// Routes one record (the payload and the key are shared, not copied).
    /// `ingest` is the time used for events that carry none.
    pub fn push(&mut self, payload: Bytes, key: Option<Bytes>, origin: Origin, ingest: Timestamp) {
        self.seq += 1;
        let shard = self.router.shard(&payload, key.as_deref(), self.dialect);
        // The clock is read once per batch-filling round, not per record: a
        // record's "born" time is when the round it joined began, so the
        // end-to-end figure includes its wait in the batch.
        let born = *self.round_start.get_or_insert_with(Instant::now);
        self.batches[shard].push(Record { seq: self.seq, payload, key, origin, ingest, born });
        self.source_count += 1;
        if self.batches[shard].len() >= self.batch {
            self.flush();
        }
    }

    /// Sends every partial batch now (records wait in batches otherwise).
    pub fn flush(&mut self) {
        let now = Instant::now();
        let elapsed = now.duration_since(self.source_mark).as_nanos() as u64;
        if let Some(per) = elapsed.checked_div(self.source_count) {
            self.source.record_n(Stage::Source, per, self.source_count);
        }
        for ((sender, batch), spent) in
            self.senders.iter().zip(self.batches.iter_mut()).zip(&self.spent)
        {
            if batch.is_empty() {
                continue;
            }
            // A spent batch from this shard, emptied here (see `Shard::spent`).
            let fresh = match spent.pop() {
                Some(mut used) => {
                    used.clear();
                    used
                }
                None => Vec::with_capacity(self.batch),
            };
            let items = std::mem::replace(batch, fresh);
            let batch = Batch { items, sent: now };
            if self.shed {
                if let Err(dropped) = sender.try_send(batch) {
                    self.shed_count += dropped.items.len() as u64;
                }
            } else {
                sender.send(batch, || false);
            }
        }
        // Every record numbered so far is in a ring (or counted as shed).
        self.dispatched.publish(self.seq);
        self.source_mark = Instant::now();
        self.source_count = 0;
        self.round_start = None;
    }

    /// Times a shard's ring was found full (backpressure reached the router).
    pub fn backpressure(&self) -> u64 {
        self.senders.iter().map(ring::Sender::full_count).sum()
    }

    /// Drains every ring, flushes every open call thread, stops the threads and
    /// hands back the outputs and state.
    ///
    /// # Panics
    /// When a pipeline thread panicked (a bug: decoding and reducing never
    /// panic on input).
    pub fn finish(mut self) -> PipelineDone<O> {
        self.flush();
        let Pipeline { senders, shards, stage, source, shed_count, .. } = self;
        drop(senders);
        let mut latency = source;
        let mut calls = Vec::with_capacity(shards.len());
        let mut kinds: FxHashMap<(Dialect, EventKind), u64> = FxHashMap::default();
        for shard in shards {
            let done = shard.join().expect("a shard thread panicked");
            latency.merge(&done.latency);
            for (kind, count) in done.kinds {
                *kinds.entry(kind).or_default() += count;
            }
            calls.push(done.side);
        }
        let done = stage.finish().expect("the agent stage is finished once");
        latency.merge(&done.latency);
        PipelineDone {
            outputs: done.outputs,
            agents: done.side,
            calls,
            latency,
            kinds,
            shed: shed_count,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send<T: Send>() {}
    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn handles_cross_threads() {
        assert_send::<Pipeline<crate::state::CollectOutputs>>();
        assert_send_sync::<ReadyHandle>();
        assert_send_sync::<ReadyView>();
        assert_send::<PipelineDone<crate::state::CollectOutputs>>();
        assert_send::<CallSide>();
        assert_send::<AgentSide>();
    }
}
