//! The sharded pipeline: the reducer on every core, with no lock on the hot
//! path, per-key order kept, and every stage measured.
//!
//! ```text
//!  push ──▶ Router ──rings──▶ Shard 0..N ───────rings──────▶ Sink ──▶ Outputs
//!  (caller's  (key hash;       (decode unless the  ◀──┐
//!   thread)    agent events     router did; call    shard-to-shard rings:
//!              to every shard;  side; agent side    agent legs to their owner)
//!              decodes ahead    of its agents)
//!              for a lagging
//!              shard)
//! ```
//!
//! The caller's thread is the router: [`Pipeline::push`] hands it records,
//! which it numbers, routes by key ([`Router`]) and batches into bounded
//! lock-free rings, one per shard; agent and DN events go to every shard, so
//! each shard's call side keeps the DN bindings. The router decodes those
//! broadcast records once for every shard, and a shard's records while that
//! shard is behind ([`PipelineConfig::decode_ahead`]); each shard decodes the
//! rest of its records and runs both halves of the reducer: the call side
//! ([`CallSide`]) on its call threads, and the agent side ([`AgentSide`]) on
//! the agents it owns (by hash). A call leg of an agent owned elsewhere goes
//! to that shard as a message tagged with the record's number, through a
//! shard-to-shard ring; every shard applies its agents' messages in number
//! order, using all shards' progress marks to know when no earlier message can
//! still come. That order is the single-threaded reducer's, so the outputs
//! are the same for every shard count. Outputs go through one ring per shard
//! to a sink task that shards run in turn.
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
//! assert_eq!(ready.longest_idle("default", "Sales").map(|a| a.agent), Some("a1".to_owned()));
//! println!("{}", done.latency.table());
//! ```

mod latency;
mod progress;
mod ready;
mod ring;
mod route;
mod saved;
mod shard;
mod stage;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Instant;

use arc_swap::ArcSwap;
use bytes::Bytes;
use crossbeam::sync::Parker;
use rustc_hash::FxHashMap;

use crate::decode::{DecodeOptions, Decoder, Format};
use crate::error::DecodeResult;
use crate::event::{Dialect, Event, EventKind, Timestamp};
use crate::state::{AgentSide, CallSide, Outputs, ReduceCounters, ReducerConfig};

pub use latency::{Latency, SAMPLE_EVERY, Stage};
pub use ready::{BUILD_SHARE, PUBLISH_EVERY, ReadyAgent, ReadyHandle, ReadyView};
pub use route::{Route, Router};
pub use saved::{EncodedState, PipelineState, StateError};
pub use shard::Origin;

use progress::Progress;
use ready::ReadyPublisher;
use saved::ShardState;
use shard::{Batch, Record, RecordBatch, Records, Shard, ShardDone};
use stage::{Sink, Token};

/// The shards a pipeline has unless told otherwise: one less than the cores,
/// at least one. The router (framing, routing, batching) is a thread of its
/// own, and a shard per core beside it makes them time-slice: on two cores,
/// one shard with the router decoding for it while it is behind
/// ([`PipelineConfig::decode_ahead`]) reduced 1.93 M events in 0.97–1.00 s,
/// two shards in 1.11–1.16 s (BENCHMARKS.md, 2026-12-06).
pub fn default_shards() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    cores.saturating_sub(1).clamp(1, MAX_SHARDS)
}

/// The most shards a pipeline is configured with (`ctistream run` refuses
/// more): beyond this, shards only add rings and messages.
pub const MAX_SHARDS: usize = 256;

/// How the pipeline is built.
#[derive(Clone, Debug)]
pub struct PipelineConfig {
    /// Shard threads (at least 1) [default: [`default_shards`]].
    pub shards: usize,
    /// The input format.
    pub format: Format,
    /// Decoder limits.
    pub decode: DecodeOptions,
    /// Reducer settings.
    pub reducer: ReducerConfig,
    /// Records (and messages) per batch; outputs go to the sink in batches of
    /// about twice this.
    pub batch: usize,
    /// Batches each ring holds.
    pub ring: usize,
    /// Drop records instead of waiting when a shard's ring is full (every drop
    /// is counted). Off by default: backpressure waits, nothing is lost.
    pub shed: bool,
    /// Call identities the router remembers to send consultation legs after
    /// their main call (records without a key).
    pub route_links: usize,
    /// The router decodes a shard's next batch itself when the shard had not
    /// yet taken this many of the batches before it (read as the last batch
    /// was sent): the shard is behind and the router would only wait on it,
    /// so the decoding moves from the busy thread to the idle one (one shard
    /// on two cores: BENCHMARKS.md, 2026-12-06). 0: always; above `ring`
    /// (a ring holds no more) or `usize::MAX`: never. Broadcast records are
    /// decoded on the router whatever this says (once for every shard).
    pub decode_ahead: usize,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            shards: default_shards(),
            format: Format::Auto,
            decode: DecodeOptions::default(),
            reducer: ReducerConfig::default(),
            batch: 256,
            ring: 64,
            shed: false,
            route_links: 1 << 20,
            decode_ahead: 1,
        }
    }
}

/// A running pipeline. The thread that owns it is the router.
pub struct Pipeline<O: Outputs + Send + 'static> {
    config: PipelineConfig,
    router: Router,
    dialect: Option<Dialect>,
    threads: Threads<O>,
    batches: Vec<Records>,
    /// Decodes broadcast records once, for every shard, and a shard's records
    /// while it is behind (`PipelineConfig::decode_ahead`).
    decoder: Decoder,
    /// Per shard: whether the router decodes its records, as its ring stood
    /// when the last batch was sent.
    decode_here: Vec<bool>,
    /// Records decoded here, for sampling the decode stage's latency.
    router_decodes: u64,
    batch: usize,
    shed: bool,
    shed_count: u64,
    seq: u64,
    ready: ReadyHandle,
    reports: Arc<Vec<ArcSwap<Latency>>>,
    source: Latency,
    /// What threads stopped by [`Pipeline::pause`] measured and counted.
    paused_latency: Latency,
    paused_kinds: FxHashMap<(Dialect, EventKind), u64>,
    source_mark: Instant,
    source_count: u64,
    round_start: Option<Instant>,
}

/// The running part of a pipeline: shard threads, their rings and the sink.
/// [`Pipeline::pause`] stops them and starts new ones on the same state.
struct Threads<O> {
    senders: Vec<ring::Sender<RecordBatch>>,
    dispatched: Arc<Progress>,
    shards: Vec<JoinHandle<ShardDone>>,
    sink: Arc<Token<O>>,
    /// Set before the input ends when the shards are to flush their open
    /// call threads (the end of input), clear when they stop to be resumed.
    flush_open: Arc<AtomicBool>,
}

impl<O: Outputs + Send + 'static> std::fmt::Debug for Pipeline<O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("shards", &self.threads.senders.len())
            .field("pushed", &self.seq)
            .finish_non_exhaustive()
    }
}

/// What [`Pipeline::release_streams`] forgot.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Released {
    /// Open call threads.
    pub calls: usize,
    /// Agents.
    pub agents: usize,
}

/// What a finished pipeline hands back.
#[derive(Debug)]
pub struct PipelineDone<O> {
    /// The outputs, after every record and the end-of-input flush.
    pub outputs: O,
    /// Each shard's agent side: agents (for snapshots) and agent statistics.
    pub agents: Vec<AgentSide>,
    /// Each shard's call side (open threads were flushed; call statistics,
    /// interaction summaries).
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
        let agents: Vec<&AgentSide> = self.agents.iter().collect();
        ReduceCounters::of(&calls, &agents)
    }

    /// The agent sides, as the state writers take them.
    pub fn agent_sides(&self) -> Vec<&AgentSide> {
        self.agents.iter().collect()
    }

    /// The call sides, as the state writers take them.
    pub fn call_sides(&self) -> Vec<&CallSide> {
        self.calls.iter().collect()
    }
}

impl<O: Outputs + Send + 'static> Pipeline<O> {
    /// Starts the shard threads; `outputs` receives every record and change,
    /// on whichever shard thread is running the sink at the time (one at a
    /// time).
    ///
    /// # Panics
    /// When the operating system refuses to start a thread.
    pub fn start(config: PipelineConfig, outputs: O) -> Pipeline<O> {
        let shards = config.shards.max(1);
        let state = PipelineState {
            reducer: config.reducer,
            router: Router::new(shards, config.route_links),
            shards: (0..shards)
                .map(|_| ShardState {
                    call: CallSide::new(
                        config.reducer.calls,
                        config.reducer.interactions,
                        config.reducer.stats,
                    ),
                    agents: AgentSide::new(config.reducer.stats, config.reducer.agents),
                })
                .collect(),
        };
        Pipeline::launch(config, outputs, state)
    }

    /// Starts a pipeline that goes on from `state` (taken by
    /// [`pause`](Self::pause), perhaps in another process from a checkpoint).
    /// Records pushed to it give exactly the outputs the paused pipeline
    /// would have given them.
    ///
    /// A state taken with another number of shards is spread over this
    /// pipeline's first ([`PipelineState::reshard`]).
    ///
    /// # Errors
    /// When the state was built with other reducer settings, or cannot move
    /// to `config`'s number of shards.
    ///
    /// # Panics
    /// When the operating system refuses to start a thread.
    pub fn resume(
        config: PipelineConfig,
        outputs: O,
        state: PipelineState,
    ) -> Result<Pipeline<O>, StateError> {
        state.check_fits(&config.reducer)?;
        let state = state.reshard(config.shards);
        Ok(Pipeline::launch(config, outputs, state))
    }

    fn launch(config: PipelineConfig, outputs: O, state: PipelineState) -> Pipeline<O> {
        let shards = state.shards();
        let ready = ReadyHandle::new(shards);
        // One latency report per shard and one for the sink, refreshed about
        // every second by their owners (a copy per second, never per event).
        let reports: Arc<Vec<ArcSwap<Latency>>> =
            Arc::new((0..=shards).map(|_| ArcSwap::from_pointee(Latency::new())).collect());
        let PipelineState { router, shards: sides, .. } = state;
        let threads = spawn(&config, sides, outputs, &ready, &reports);
        Pipeline {
            router,
            dialect: config.format.dialect(),
            threads,
            batches: (0..shards).map(|_| Records::with_capacity(config.batch)).collect(),
            decoder: Decoder::with_options(config.format, config.decode.clone()),
            decode_here: vec![config.decode_ahead == 0; shards],
            router_decodes: 0,
            batch: config.batch.max(1),
            shed: config.shed,
            shed_count: 0,
            seq: 0,
            ready,
            reports,
            source: Latency::new(),
            paused_latency: Latency::new(),
            paused_kinds: FxHashMap::default(),
            source_mark: Instant::now(),
            source_count: 0,
            round_start: None,
            config,
        }
    }

    /// Waits until every record pushed so far has been applied and its
    /// outputs delivered, stops the shard threads, hands the state and the
    /// outputs to `save`, then starts the threads again on the same state
    /// and goes on. This is how a checkpoint is taken: the state `save` sees
    /// is exactly the effect of records 1 to [`pushed`](Self::pushed), the
    /// outputs have been given everything those records caused and told so
    /// ([`Outputs::delivered`], with the open calls' floors), and nothing
    /// else is in flight. The pipeline is stopped while `save` runs.
    ///
    /// # Panics
    /// When a pipeline thread panicked, or a thread cannot be started again.
    pub fn pause<R>(&mut self, save: impl FnOnce(&PipelineState, &mut O) -> R) -> R {
        let (mut outputs, sides) = self.stop(false);
        let state = PipelineState {
            reducer: self.config.reducer,
            router: std::mem::replace(&mut self.router, Router::new(1, 1)),
            shards: sides,
        };
        let mut floors: Vec<(u32, u64)> = Vec::new();
        for shard in &state.shards {
            shard.call.open_floors(&mut floors);
            shard.agents.open_floors(&mut floors);
        }
        floors.sort_unstable();
        floors.dedup_by_key(|(stream, _)| *stream);
        outputs.open_from(self.seq, &floors);
        outputs.delivered(self.seq);
        let saved = save(&state, &mut outputs);
        let PipelineState { router, shards: sides, .. } = state;
        self.router = router;
        self.threads = spawn(&self.config, sides, outputs, &self.ready, &self.reports);
        saved
    }

    /// Ends the shard threads after every record pushed so far (flushing the
    /// open call threads if `flush_open`) and takes back the outputs and the
    /// shards' state; counters and latencies are kept for the end.
    fn stop(&mut self, flush_open: bool) -> (O, Vec<ShardState>) {
        self.flush();
        let threads = &mut self.threads;
        threads.flush_open.store(flush_open, Ordering::Release);
        threads.senders.clear();
        let mut sides = Vec::with_capacity(threads.shards.len());
        for shard in threads.shards.drain(..) {
            let done = shard.join().expect("a shard thread panicked");
            self.paused_latency.merge(&done.latency);
            for (kind, count) in done.kinds {
                *self.paused_kinds.entry(kind).or_default() += count;
            }
            sides.push(ShardState { call: done.call, agents: done.agents });
        }
        let (outputs, sink_latency) = threads.sink.finish().expect("the sink is finished once");
        self.paused_latency.merge(&sink_latency);
        (outputs, sides)
    }

    /// The ready-agent view, readable from any thread without locks.
    pub fn ready_view(&self) -> ReadyHandle {
        self.ready.clone()
    }

    /// Routes one record (the payload and the key are shared, not copied).
    /// `ingest` is the time used for events that carry none.
    pub fn push(&mut self, payload: Bytes, key: Option<Bytes>, origin: Origin, ingest: Timestamp) {
        self.route(payload, key, origin, ingest, false);
    }

    /// Routes a record whose outputs an earlier reader of its stream made
    /// durable (see [`SourceRecord::replayed`](crate::connect::SourceRecord::replayed)):
    /// it changes the state as [`push`](Self::push) does, but no call,
    /// interaction, agent change or reject comes of it, and the call and
    /// interaction records it completes are not counted in the statistics
    /// (the earlier reader counted them). Agents' current statuses are
    /// counted: they are state.
    pub fn replay(
        &mut self,
        payload: Bytes,
        key: Option<Bytes>,
        origin: Origin,
        ingest: Timestamp,
    ) {
        self.route(payload, key, origin, ingest, true);
    }

    fn route(
        &mut self,
        payload: Bytes,
        key: Option<Bytes>,
        origin: Origin,
        ingest: Timestamp,
        replayed: bool,
    ) {
        self.seq += 1;
        // The clock is read once per batch-filling round, not per record: a
        // record's "born" time is when the round it joined began, so the
        // end-to-end figure includes its wait in the batch.
        let born = *self.round_start.get_or_insert_with(Instant::now);
        let seq = self.seq;
        self.source_count += 1;
        // A record takes the payload and key by move, not a clone and a drop:
        // every record of a file shares one reference count, and each clone
        // or drop is an atomic operation on it. (A broadcast record is cloned
        // for every shard but the last.)
        let record = |payload, key, primary| Record {
            seq,
            payload,
            key,
            origin,
            ingest,
            born,
            primary,
            replayed,
            decoded: false,
        };
        let targets = match self.router.route(&payload, key.as_deref(), self.dialect) {
            Route::One(shard) => shard..shard + 1,
            Route::All => 0..self.batches.len(),
        };
        // Decoded here: a broadcast record once rather than on every shard,
        // and a shard's record while the shard is behind. A record that does
        // not decode goes as it is: its primary shard decodes it again and
        // rejects it. The event is kept before the record goes in, so the
        // payload and key move into the last batch instead of being cloned.
        let broadcast = targets.len() > 1;
        let decoded = (broadcast || self.decode_here[targets.start])
            // (Matched by reference: moving the event out of the result
            // would copy its inline index.)
            && match self.decode(&payload, key.as_deref()) {
                Ok(ref event) => {
                    for batch in &mut self.batches[targets.clone()] {
                        batch.keep_event(event.meta());
                    }
                    true
                }
                Err(_) => false,
            };
        let (first, last) = (targets.start, targets.end - 1);
        for shard in first..last {
            let copy = record(payload.clone(), key.clone(), shard == first);
            self.batches[shard].push(copy, decoded);
        }
        self.batches[last].push(record(payload, key, last == first), decoded);
        let full = self.batches[targets].iter().any(|batch| batch.items.len() >= self.batch);
        if full {
            self.flush();
        }
    }

    /// Decodes a record on the router, timing one in [`SAMPLE_EVERY`]. (The
    /// result is kept as it is: `ok()` would copy the event, index and all.)
    fn decode<'r>(&mut self, payload: &'r [u8], key: Option<&'r [u8]>) -> DecodeResult<Event<'r>> {
        self.router_decodes += 1;
        if self.router_decodes % SAMPLE_EVERY != 1 {
            return self.decoder.decode(payload, key);
        }
        let start = Instant::now();
        let event = self.decoder.decode(payload, key);
        self.source.record(Stage::Decode, start.elapsed().as_nanos() as u64);
        event
    }

    /// The number of the last record pushed (records are numbered from 1).
    /// [`Outputs::delivered`] reports progress in these numbers: a driver
    /// notes this number with its sources' positions, and once the outputs
    /// have been told it is delivered, those positions are safe to commit.
    pub fn pushed(&self) -> u64 {
        self.seq
    }

    /// Sends every partial batch now (records wait in batches otherwise).
    pub fn flush(&mut self) {
        let now = Instant::now();
        let elapsed = now.duration_since(self.source_mark).as_nanos() as u64;
        if let Some(per) = elapsed.checked_div(self.source_count) {
            self.source.record_n(Stage::Source, per, self.source_count);
        }
        let threads = &self.threads;
        let decode_ahead = self.config.decode_ahead;
        let senders = threads.senders.iter().zip(&mut self.decode_here);
        for ((sender, decode_here), batch) in senders.zip(self.batches.iter_mut()) {
            if batch.items.is_empty() {
                continue;
            }
            // A batch the shard gave back as it was, emptied here: its
            // records' `Bytes` are counted down on the thread that counted
            // them up, instead of bouncing the file's reference count between
            // cores, and the vectors are reused.
            let fresh = match sender.take_spare() {
                Some(mut used) => {
                    used.records.clear();
                    used.records
                }
                None => Records::with_capacity(self.batch),
            };
            let records = std::mem::replace(batch, fresh);
            let batch = RecordBatch { records, sent: now };
            // Read before sending: the batches the shard has not taken yet.
            let waiting = sender.queued();
            if self.shed {
                if let Err(dropped) = sender.try_send(batch) {
                    self.shed_count += dropped.records.items.len() as u64;
                }
            } else {
                sender.send(batch, || false);
            }
            *decode_here = waiting >= decode_ahead;
        }
        // Every record numbered so far is in a ring (or counted as shed).
        threads.dispatched.publish(self.seq);
        self.source_mark = Instant::now();
        self.source_count = 0;
        self.round_start = None;
    }

    /// Every stage's latency so far: the router's, merged with the shards' and
    /// the sink's latest reports (each refreshed about every second while the
    /// pipeline runs). Readable any time, from the router's thread.
    pub fn latency(&self) -> Latency {
        let mut merged = self.source.clone();
        merged.merge(&self.paused_latency);
        for report in self.reports.iter() {
            merged.merge(&report.load());
        }
        merged
    }

    /// How many sends to a shard found its ring full (backpressure reached
    /// the router).
    pub fn backpressure(&self) -> u64 {
        self.threads.senders.iter().map(ring::Sender::full_count).sum()
    }

    /// Drains every ring, flushes every open call thread, stops the threads and
    /// hands back the outputs and state.
    ///
    /// # Panics
    /// When a pipeline thread panicked (a bug: decoding and reducing never
    /// panic on input).
    pub fn finish(self) -> PipelineDone<O> {
        self.done(true)
    }

    /// Stops like [`finish`](Self::finish) but keeps the open call threads
    /// open: their records are not written, and the call sides handed back
    /// still hold them. For a run that stops to be resumed later from a
    /// checkpoint taken just before ([`pause`](Self::pause)), where those
    /// calls go on.
    ///
    /// # Panics
    /// As [`finish`](Self::finish).
    pub fn close_keeping_open(self) -> PipelineDone<O> {
        self.done(false)
    }

    /// Flushes every open call thread and interaction now, as the end of
    /// input does, and goes on: for a run whose input has ended that takes a
    /// last checkpoint after the flush.
    ///
    /// # Panics
    /// As [`pause`](Self::pause).
    pub fn flush_open(&mut self) {
        let (outputs, sides) = self.stop(true);
        self.threads = spawn(&self.config, sides, outputs, &self.ready, &self.reports);
    }

    /// Forgets the open call threads that began on the input streams with
    /// origin numbers `streams`, without writing them, and the agents whose
    /// session began there, and goes on: streams another reader took over
    /// from a position that keeps everything those calls and sessions need,
    /// so that reader writes the calls whole and speaks for the agents, and
    /// this pipeline must not write them too (open, twice, or stale).
    ///
    /// # Panics
    /// As [`pause`](Self::pause).
    pub fn release_streams(&mut self, streams: &[u32]) -> Released {
        let mut released = Released::default();
        if streams.is_empty() {
            return released;
        }
        let (outputs, mut sides) = self.stop(false);
        for side in &mut sides {
            released.calls += side.call.release_streams(streams);
            released.agents += side.agents.release_streams(streams);
        }
        self.threads = spawn(&self.config, sides, outputs, &self.ready, &self.reports);
        released
    }

    fn done(mut self, flush_open: bool) -> PipelineDone<O> {
        let (outputs, sides) = self.stop(flush_open);
        let mut latency = self.source;
        latency.merge(&self.paused_latency);
        let (calls, agents) = sides.into_iter().map(|side| (side.call, side.agents)).unzip();
        PipelineDone {
            outputs,
            agents,
            calls,
            latency,
            kinds: self.paused_kinds,
            shed: self.shed_count,
        }
    }
}

/// Starts one thread per shard on `sides`, with their rings and the sink.
fn spawn<O: Outputs + Send + 'static>(
    config: &PipelineConfig,
    sides: Vec<ShardState>,
    outputs: O,
    ready: &ReadyHandle,
    reports: &Arc<Vec<ArcSwap<Latency>>>,
) -> Threads<O> {
    let shards = sides.len();
    let dispatched = Arc::new(Progress::default());
    let flush_open = Arc::new(AtomicBool::new(false));
    let parkers: Vec<Parker> = (0..shards).map(|_| Parker::new()).collect();
    let progress: Vec<Arc<Progress>> = (0..shards).map(|_| Arc::new(Progress::default())).collect();
    // Shard-to-shard rings: to_agents[i][j] carries i's messages for j.
    let mut to_agents: Vec<Vec<Option<ring::Sender<Batch<shard::Msg>>>>> =
        (0..shards).map(|_| (0..shards).map(|_| None).collect()).collect();
    let mut from_shards: Vec<Vec<Option<ring::Receiver<Batch<shard::Msg>>>>> =
        (0..shards).map(|_| (0..shards).map(|_| None).collect()).collect();
    for (from, row) in to_agents.iter_mut().enumerate() {
        for (to, slot) in row.iter_mut().enumerate() {
            if from != to {
                let (sender, receiver) = ring::channel(config.ring, parkers[to].unparker().clone());
                *slot = Some(sender);
                from_shards[to][from] = Some(receiver);
            }
        }
    }
    let sink_parker = Parker::new();
    let mut sink_inputs = Vec::with_capacity(shards);
    let mut output_senders = Vec::with_capacity(shards);
    for _ in 0..shards {
        let (sender, receiver) = ring::channel(config.ring, sink_parker.unparker().clone());
        output_senders.push(sender);
        sink_inputs.push(receiver);
    }
    let sink = Arc::new(Token::new(Sink {
        inputs: sink_inputs,
        outputs,
        latency: Latency::new(),
        report: (reports.clone(), shards),
        reported: Instant::now(),
        marks: vec![0; shards],
        floors: vec![stage::Floors::new(); shards],
        delivered: 0,
    }));
    let mut senders = Vec::with_capacity(shards);
    let mut handles = Vec::with_capacity(shards);
    let parts = parkers.into_iter().zip(to_agents).zip(from_shards).zip(output_senders).zip(sides);
    for (index, ((((parker, to_agents), from_shards), output), side)) in parts.enumerate() {
        let (to_shard, from_router) = ring::channel(config.ring, parker.unparker().clone());
        senders.push(to_shard);
        let mut ready = ReadyPublisher::new(ready.clone(), index);
        // A resumed shard's agents are ready (or not) before any new event.
        ready.publish(&side.agents, &mut Latency::new(), true);
        let shard = Shard {
            index,
            shards,
            input: from_router,
            to_agents,
            from_shards,
            progress: progress.clone(),
            dispatched: dispatched.clone(),
            parker,
            decoder: Decoder::with_options(config.format, config.decode.clone()),
            call: side.call,
            agents: side.agents,
            output,
            sink: sink.clone(),
            ready,
            output_batch: 2 * config.batch.max(1),
            report: reports.clone(),
            through: 0,
            marked: 0,
            flush_open: flush_open.clone(),
        };
        let handle = std::thread::Builder::new()
            .name(format!("ctistream-shard-{index}"))
            .spawn(move || shard.run())
            .expect("start a shard thread");
        handles.push(handle);
    }
    Threads { senders, dispatched, shards: handles, sink, flush_open }
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
        assert_send_sync::<Router>();
        assert_send::<PipelineDone<crate::state::CollectOutputs>>();
        assert_send::<CallSide>();
        assert_send::<AgentSide>();
    }
}
