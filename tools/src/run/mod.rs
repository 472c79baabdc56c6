//! `ctistream run`: the long-running service. Sources (files, TCP, Kafka)
//! feed the sharded pipeline; its outputs go to sinks (files, TCP
//! subscribers, Kafka topics), each on a thread of its own.
//!
//! Delivery is at-least-once end to end: the driver takes a mark of every
//! source every `commit_every`, notes the pipeline's record number with it,
//! and commits the marks only once every sink has made the outputs of those
//! records durable (see [`ctistream_core::connect`]).

pub mod checkpoint;
pub(crate) mod connect;
pub mod endpoint;
mod metrics;
mod outputs;
pub mod plan;
mod worker;

use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use ctistream_core::connect::{
    Health, Intake, Polled, Source, SourceRecord, SourceReject, StreamLabel,
};
use ctistream_core::pipeline::{
    EncodedState, Latency, Origin, Pipeline, PipelineConfig, PipelineState,
};
use ctistream_core::state::{self, AgentConfig, CallSide, ReducerConfig};
use ctistream_core::{Framing, Timestamp};
use rustc_hash::FxHashMap;

use crate::input::{RejectLog, SharedRejects, now};

use self::checkpoint::{Pending, RunCheckpoint};
use self::endpoint::Endpoint;
use self::metrics::{Metrics, MetricsServer};
use self::outputs::{FlushPoint, Lane, OriginNames, Routes, SinkOutputs};
use self::plan::RunPlan;
use self::worker::{LineBatch, SinkWorker};

/// How long `until_idle` waits longer before the first record: connecting
/// and joining a consumer group are not idleness.
const STARTUP_ALLOWANCE: Duration = Duration::from_secs(10);

/// What a run did.
#[derive(Debug)]
pub struct RunSummary {
    /// Records read from all sources.
    pub records: u64,
    /// Records rejected (framing and decoding), with reasons.
    pub rejects: crate::input::InputReport,
    /// Outputs written.
    pub outputs: u64,
    /// Call records flushed open at the end (`"ended":null`).
    pub open_calls: u64,
    /// Source commits made.
    pub commits: u64,
    /// Checkpoints written.
    pub checkpoints: u64,
    /// Why the run stopped.
    pub stopped: String,
    /// Wall time.
    pub elapsed: Duration,
    /// Every stage's latency.
    pub latency: Latency,
}

impl fmt::Display for RunSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.elapsed.as_secs_f64().max(1e-9);
        writeln!(f, "stopped: {}", self.stopped)?;
        writeln!(
            f,
            "records: {} read, {} rejected, {:.0} records/s over {:.1} s",
            self.records,
            self.rejects.rejected,
            self.records as f64 / secs,
            secs
        )?;
        for (reason, count) in &self.rejects.by_reason {
            writeln!(f, "  rejected {}: {} (first at {})", reason, count.count, count.first)?;
        }
        writeln!(
            f,
            "outputs: {} written ({} open calls flushed at the end); {} commits, {} checkpoints",
            self.outputs, self.open_calls, self.commits, self.checkpoints
        )?;
        write!(f, "{}", self.latency.table())
    }
}

/// Set by SIGINT or SIGTERM: drain, flush, commit, exit.
fn stop_signal() -> anyhow::Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, stop.clone())
            .context("cannot install the signal handler")?;
    }
    Ok(stop)
}

/// One source with what the driver keeps about it.
struct Running {
    source: Box<dyn Source>,
    /// Origin numbers of this source's streams.
    streams: FxHashMap<u32, u32>,
    /// Origin numbers a checkpoint gave this source's streams, by label: a
    /// stream seen again (the same file, the same topic partition) gets its
    /// number back, whatever the source numbers it now.
    resumed: FxHashMap<String, u32>,
    ended: bool,
    records: Arc<AtomicU64>,
    /// Whether the source was up when last asked.
    up: bool,
}

impl Running {
    /// Whether the source is up now; says so on stderr when that changes
    /// (a broker lost and found again), never more often.
    fn check_up(&mut self) -> bool {
        let health = self.source.health();
        let up = matches!(health, Health::Up);
        if up != self.up {
            match &health {
                Health::Up => eprintln!("ctistream: source {}: up again", self.source.name()),
                Health::Degraded(why) | Health::Down(why) => {
                    eprintln!("ctistream: source {}: {why}", self.source.name());
                }
            }
            self.up = up;
        }
        up
    }
}

/// Collects one poll's records so stream names can be registered before the
/// records enter the pipeline.
#[derive(Default)]
struct PollIntake {
    records: Vec<SourceRecord>,
    rejects: Vec<SourceReject>,
}

impl Intake for PollIntake {
    fn record(&mut self, record: SourceRecord) {
        self.records.push(record);
    }

    fn reject(&mut self, reject: SourceReject) {
        self.rejects.push(reject);
    }
}

/// Runs the plan until the sources end, `until_idle` passes with no input, or
/// a signal arrives; then drains the pipeline, flushes every sink, commits
/// and returns what happened.
///
/// # Errors
/// When a source or sink cannot be opened, a source fails for good, or a sink
/// fails (then nothing past its last acknowledgement is committed).
pub fn run(plan: &RunPlan) -> anyhow::Result<RunSummary> {
    let stop = stop_signal()?;
    run_until(plan, &stop)
}

/// [`run`] with the stop flag given (tests stop a run this way).
///
/// # Errors
/// As [`run`].
pub fn run_until(plan: &RunPlan, stop: &AtomicBool) -> anyhow::Result<RunSummary> {
    let started = Instant::now();
    let source_urls: Vec<String> = plan.sources.iter().map(Endpoint::identity).collect();
    let resumed = match &plan.checkpoint_dir {
        Some(dir) => {
            let saved = RunCheckpoint::load(dir)?;
            if let Some(saved) = &saved {
                saved.check_sources(&source_urls, dir)?;
            }
            saved
        }
        None => None,
    };
    // Sinks first: a bad output fails before any input is consumed.
    let OpenSinks { workers, worker_of, agents_lane, stats_lane, routes } =
        open_sinks(plan, resumed.as_ref())?;
    let mut sources = open_sources(plan, resumed.as_ref())?;
    // What listens where (a port 0 in the plan becomes a real one here).
    for worker in &workers {
        eprintln!("ready: sink {}", worker.name);
    }
    for running in &sources {
        eprintln!("ready: source {}", running.source.name());
    }
    // Streams keep the origin numbers they had: per-stream reducer state
    // (duplicate windows, clocks, open-call floors) is keyed by them.
    let names: OriginNames =
        Arc::new(RwLock::new(resumed.as_ref().map(RunCheckpoint::labels).unwrap_or_default()));
    for (origin, (source, _, label, _)) in
        resumed.iter().flat_map(|saved| saved.origins.iter()).enumerate()
    {
        if let Some(running) = sources.get_mut(*source as usize) {
            running.resumed.insert(label.clone(), origin as u32);
        }
    }
    let rejects: SharedRejects = RejectLog::create(None)?;
    let flush = Arc::new(FlushPoint::default());
    let lanes = workers.iter().map(|worker| Lane::new(worker.sender.clone())).collect();
    let outputs = SinkOutputs::new(lanes, routes, flush.clone(), names.clone(), rejects.clone());
    let output_count = outputs.outputs.clone();
    let reject_sender = routes.rejects.map(|lane| workers[lane].sender.clone());
    let records_before = resumed.as_ref().map_or(0, |saved| saved.records);
    let fresh = resumed.is_none();
    let mut pipeline = open_pipeline(plan, resumed, outputs)?;
    let metrics = Metrics::new(
        sources.iter().map(|s| (s.source.name().to_owned(), s.records.clone())).collect(),
        workers.iter().map(|w| (w.name.clone(), w.state.clone(), w.health.clone())).collect(),
        output_count.clone(),
    );
    let server =
        plan.metrics.map(|address| MetricsServer::start(address, metrics.text())).transpose()?;
    if let Some(server) = &server {
        eprintln!("ready: metrics tcp://{}", server.address());
    }
    let bar = crate::progress::running_counter("records");

    let mut intake = PollIntake::default();
    let mut pending: VecDeque<(u64, Vec<u64>)> = VecDeque::new();
    let mut commits = 0u64;
    let mut records = 0u64;
    let mut last_input = Instant::now();
    // Idle time counts only while every source and sink is up: a broker out
    // of reach is not a drained stream, and a full disk is not done writing.
    let mut idle_since = Instant::now();
    let mut last_mark = Instant::now();
    let mut last_report = Instant::now();
    let mut marked_seq = 0u64;
    let mut checkpoints = 0u64;
    let mut checkpointed_seq = 0u64;
    let mut last_checkpoint = Instant::now();
    let mut taken: Option<Pending> = None;
    // The state of the checkpoint being taken, encoded into buffers kept
    // from one checkpoint to the next.
    let mut encoded = EncodedState::default();
    if plan.checkpoint_dir.is_some() && fresh {
        // A first checkpoint before any input: a run killed within its first
        // interval resumes from it (its sinks cut back or read back) instead
        // of starting over on top of the outputs it already wrote.
        let through = pipeline.pushed();
        let checkpoint =
            take_checkpoint(&mut pipeline, &mut sources, &source_urls, &names, 0, &mut encoded)?;
        taken = Some(Pending { through, checkpoint });
    }
    let mut failure: Option<anyhow::Error> = None;
    let stopped = loop {
        if stop.load(Ordering::Acquire) {
            break "signal: drained, flushed and committed".to_owned();
        }
        if let Some((name, error)) = workers
            .iter()
            .find(|w| w.state.failed.load(Ordering::Acquire))
            .map(|w| (w.name.clone(), w.state.error().unwrap_or_default()))
        {
            failure = Some(anyhow::anyhow!(
                "sink {name} failed: {error}; nothing after its last acknowledgement was committed"
            ));
            break format!("sink {name} failed");
        }
        let live = sources.iter().filter(|s| !s.ended).count();
        if live == 0 {
            break "every source ended".to_owned();
        }
        // Wait only when the last round brought nothing, split over the sources.
        let quiet = last_input.elapsed() > Duration::from_millis(5);
        let wait = if quiet { Duration::from_millis(20) / live as u32 } else { Duration::ZERO };
        let polled = poll_sources(
            &mut sources,
            wait,
            &mut intake,
            &mut pipeline,
            &names,
            &rejects,
            reject_sender.as_ref(),
        );
        let round = match polled {
            Ok(round) => round,
            Err(error) => {
                failure = Some(error);
                break "a source failed".to_owned();
            }
        };
        records += round as u64;
        if round > 0 {
            last_input = Instant::now();
            idle_since = last_input;
            bar.inc(round as u64);
        } else {
            // Nothing new: send what waits in partial batches.
            pipeline.flush();
            let mut all_up = true;
            for running in sources.iter_mut().filter(|s| !s.ended) {
                all_up &= running.check_up();
            }
            // Nor is a sink holding outputs it could not write yet.
            all_up &= workers.iter().all(|worker| worker.is_up());
            if !all_up {
                idle_since = Instant::now();
            }
            // Before the first record, connecting and joining a consumer group
            // (several seconds) does not count as idle.
            let allowance = if records == 0 { STARTUP_ALLOWANCE } else { Duration::ZERO };
            if plan.until_idle.is_some_and(|idle| idle_since.elapsed() >= idle + allowance) {
                break format!("no input for {:?}", plan.until_idle.unwrap_or_default());
            }
        }
        // With checkpoints, sources commit only what a saved checkpoint
        // covers (its marks are taken with it), and sinks flush with each
        // checkpoint: a restart resumes from the checkpoint, and a commit past
        // it would skip records its state lacks.
        let checkpointing = plan.checkpoint_dir.is_some();
        if !checkpointing
            && last_mark.elapsed() >= plan.commit_every
            && pipeline.pushed() > marked_seq
        {
            marked_seq = pipeline.pushed();
            let marks = sources.iter_mut().map(|s| s.source.mark()).collect();
            pending.push_back((marked_seq, marks));
            flush.wanted.store(marked_seq, Ordering::Release);
            pipeline.flush();
            last_mark = Instant::now();
        }
        let acked = acknowledged(&workers, &flush);
        let acked = if checkpointing { acked.min(checkpointed_seq) } else { acked };
        // Never past a call still open then: its first events are needed to
        // rebuild it if this process dies before writing it.
        let floors =
            pending.front().filter(|(seq, _)| *seq <= acked).and_then(|_| flush.floors_for(acked));
        if let Some(floors) = floors {
            while pending.front().is_some_and(|(seq, _)| *seq <= acked) {
                let (_, marks) = pending.pop_front().unwrap_or_default();
                commit(&mut sources, &marks, &floors);
                commits += 1;
            }
        }
        if let Some(dir) = &plan.checkpoint_dir {
            let due = last_checkpoint.elapsed() >= plan.checkpoint_every
                && pipeline.pushed() > checkpointed_seq;
            if taken.is_none() && due {
                // The flush the checkpoint needs is a commit point too.
                let through = pipeline.pushed();
                let marks = sources.iter_mut().map(|s| s.source.mark()).collect();
                pending.push_back((through, marks));
                flush.wanted.store(through, Ordering::Release);
                marked_seq = through;
                last_mark = Instant::now();
                let checkpoint = take_checkpoint(
                    &mut pipeline,
                    &mut sources,
                    &source_urls,
                    &names,
                    records_before + records,
                    &mut encoded,
                )?;
                taken = Some(Pending { through, checkpoint });
                last_checkpoint = Instant::now();
            }
            if let Some(pending_checkpoint) = taken.take() {
                match sink_positions(&workers, &worker_of, pending_checkpoint.through) {
                    SinkPositions::Ready(positions) => {
                        let through = pending_checkpoint.through;
                        let mut checkpoint = pending_checkpoint.checkpoint;
                        checkpoint.sinks = positions;
                        // A checkpoint that cannot be written (its disk is
                        // full) is not fatal: commits wait at the last one
                        // saved, and the next is tried at the next interval.
                        match checkpoint.save_with(&encoded, dir) {
                            Ok(()) => {
                                checkpoints += 1;
                                checkpointed_seq = through;
                            }
                            Err(error) => eprintln!(
                                "ctistream: warning: checkpoint not saved: {error:#}; sources \
                                 commit no further until one is"
                            ),
                        }
                    }
                    SinkPositions::Waiting => taken = Some(pending_checkpoint),
                    SinkPositions::Lost => eprintln!(
                        "ctistream: warning: checkpoint after record {} dropped: a sink's \
                         position for it is no longer known; the next one is taken in {:?}",
                        pending_checkpoint.through, plan.checkpoint_every
                    ),
                }
            }
        }
        if last_report.elapsed() >= Duration::from_secs(1) {
            metrics.publish(&pipeline.latency(), pipeline.backpressure(), commits);
            last_report = Instant::now();
        }
    };
    bar.finish_and_clear();

    // Drain: every record in, then every output out, then durable, then commit.
    let final_marks: Vec<u64> = sources.iter_mut().map(|s| s.source.mark()).collect();
    release_taken_over(&mut pipeline, &mut sources);
    // With a checkpoint, a run stopped by a signal keeps its open calls in
    // the last checkpoint, for the run that resumes from it; a run whose
    // input ended writes them out (open), as it would without one.
    let input_ended = !stop.load(Ordering::Acquire);
    let last_checkpoint = match &plan.checkpoint_dir {
        Some(_) if failure.is_none() => {
            if input_ended {
                pipeline.flush_open();
            }
            Some(take_checkpoint(
                &mut pipeline,
                &mut sources,
                &source_urls,
                &names,
                records_before + records,
                &mut encoded,
            )?)
        }
        _ => None,
    };
    let mut done = if last_checkpoint.is_some() && !input_ended {
        pipeline.close_keeping_open()
    } else {
        pipeline.finish()
    };
    let held = held_state(&done);
    push_snapshots(&mut done, agents_lane, stats_lane);
    let outputs = &mut done.outputs;
    outputs.flush_all(u64::MAX);
    let open_calls = outputs.open_calls;
    // The lanes' senders go with the outputs, so the sink threads see the end.
    let (latency, outputs) = (done.latency, done.outputs);
    drop((outputs, reject_sender));
    let mut sink_errors = Vec::new();
    let states: Vec<_> = workers.iter().map(|worker| worker.state.clone()).collect();
    for worker in workers {
        if let Err(error) = worker.finish() {
            sink_errors.push(error);
        }
    }
    if sink_errors.is_empty() && failure.is_none() {
        // The checkpoint before the commit: a commit never passes the last
        // checkpoint saved.
        let saved = match (last_checkpoint, &plan.checkpoint_dir) {
            (Some(mut checkpoint), Some(dir)) => {
                // Every sink closed: its position now holds everything.
                checkpoint.sinks = worker_of
                    .iter()
                    .map(|(url, index)| {
                        (url.clone(), states[*index].durable_at(u64::MAX).flatten())
                    })
                    .collect();
                checkpoint.save_with(&encoded, dir)
            }
            _ => Ok(()),
        };
        match saved {
            Ok(()) => {
                checkpoints += u64::from(plan.checkpoint_dir.is_some());
                // Everything read is durable now, but the group's offsets
                // stay at what is still held: the calls kept open for the
                // checkpoint and the sessions of logged-in agents. Whoever
                // reads next (this member from its checkpoint, or another
                // after a rebalance or without one) replays from there and
                // has the same state.
                commit(&mut sources, &final_marks, &held);
                commits += 1;
            }
            Err(error) => {
                failure = Some(error.context("the last checkpoint was not saved, nor committed"));
            }
        }
    }
    for running in &mut sources {
        if let Err(error) = running.source.close() {
            eprintln!("ctistream: warning: closing {}: {error}", running.source.name());
        }
    }
    metrics.publish(&latency, 0, commits);
    drop(server);
    if let Some(failure) = failure {
        return Err(failure);
    }
    if !sink_errors.is_empty() {
        bail!("{}; the last positions were not committed", sink_errors.join("; "));
    }
    let mut report = crate::input::InputReport::default();
    RejectLog::finish(&rejects, &mut report)?;
    Ok(RunSummary {
        records,
        rejects: report,
        outputs: output_count.load(Ordering::Relaxed),
        open_calls,
        commits,
        checkpoints,
        stopped,
        elapsed: started.elapsed(),
        latency,
    })
}

/// The pipeline of the plan, started fresh or resumed from the state of
/// `resumed` (spread over the plan's shards if it had another count).
fn open_pipeline(
    plan: &RunPlan,
    resumed: Option<RunCheckpoint>,
    outputs: SinkOutputs,
) -> anyhow::Result<Pipeline<SinkOutputs>> {
    let config = PipelineConfig {
        shards: plan.shards,
        format: plan.format,
        decode: plan.decode.clone(),
        // Agents keep where their sessions began: sources commit no further,
        // and whoever reads the streams next replays them.
        reducer: ReducerConfig {
            agents: AgentConfig { sessions: true, ..plan.reducer.agents },
            ..plan.reducer
        },
        ..PipelineConfig::default()
    };
    let Some(saved) = resumed else {
        return Ok(Pipeline::start(config, outputs));
    };
    let dir = plan.checkpoint_dir.as_deref().unwrap_or(std::path::Path::new("."));
    let place = checkpoint::path_in(dir);
    let state = PipelineState::decode(&saved.pipeline)
        .with_context(|| format!("{}: the reducer state", place.display()))?;
    if state.shards() != plan.shards {
        eprintln!(
            "resuming: the state of {} shards is spread over {}",
            state.shards(),
            plan.shards
        );
    }
    let pipeline = Pipeline::resume(config, outputs, state)
        .with_context(|| format!("{}: cannot resume", place.display()))?;
    eprintln!("resumed: {} ({} records read before it)", place.display(), saved.records);
    Ok(pipeline)
}

/// Polls every live source once, waiting up to `wait` in each, and pushes
/// what it read into the pipeline (framing rejects to the reject log and
/// lane): how many records.
fn poll_sources(
    sources: &mut [Running],
    wait: Duration,
    intake: &mut PollIntake,
    pipeline: &mut Pipeline<SinkOutputs>,
    names: &OriginNames,
    rejects: &SharedRejects,
    reject_sender: Option<&crossbeam::channel::Sender<LineBatch>>,
) -> anyhow::Result<usize> {
    let mut round = 0usize;
    for running in sources.iter_mut().filter(|s| !s.ended) {
        let polled = running.source.poll(wait, intake).map_err(|error| {
            anyhow::Error::new(error).context(format!("source {} failed", running.source.name()))
        })?;
        if polled == Polled::Ended {
            running.ended = true;
        }
        let ingest = now();
        let polled_records = intake.records.len();
        for record in intake.records.drain(..) {
            let source = origin_number(running, record.stream, names);
            let origin = Origin { source, line: record.position };
            if record.replayed {
                pipeline.replay(record.payload, record.key, origin, ingest);
            } else {
                pipeline.push(record.payload, record.key, origin, ingest);
            }
        }
        round += polled_records;
        for reject in intake.rejects.drain(..) {
            let source = origin_number(running, reject.stream, names);
            report_framing_reject(&reject, source, names, rejects, reject_sender);
        }
        running.records.fetch_add(polled_records as u64, Ordering::Relaxed);
    }
    Ok(round)
}

/// Hands the agent snapshots and queue statistics of the finished pipeline
/// to their lanes, if the plan has them.
fn push_snapshots(
    done: &mut ctistream_core::pipeline::PipelineDone<SinkOutputs>,
    agents_lane: Option<usize>,
    stats_lane: Option<usize>,
) {
    if let Some(lane) = agents_lane {
        let mut text = Vec::new();
        state::write_agent_snapshots(&done.agent_sides(), &mut text);
        done.outputs.push_lines(lane, &text, &["tenant", "agent"]);
    }
    if let Some(lane) = stats_lane {
        let watermark = done.calls.iter().map(CallSide::watermark).max().unwrap_or(Timestamp(0));
        let mut text = Vec::new();
        state::write_stats(&done.call_sides(), &done.agent_sides(), watermark, &mut text);
        done.outputs.push_lines(lane, &text, &["tenant", "queue"]);
    }
}

/// The state of the pipeline after the records pushed so far, with the
/// position of every source just after them and the streams' origin numbers
/// (sink positions are added once the sinks have flushed).
fn take_checkpoint(
    pipeline: &mut Pipeline<SinkOutputs>,
    sources: &mut [Running],
    urls: &[String],
    names: &OriginNames,
    records: u64,
    encoded: &mut EncodedState,
) -> anyhow::Result<RunCheckpoint> {
    let through = pipeline.pushed();
    // Every sink flushes through exactly this record, so each says where
    // the outputs of the records before it end (and a run that has written
    // nothing yet still gets a flush, and a position, for it).
    pipeline
        .pause(|state, outputs| {
            outputs.flush_all(through);
            state.encode_into(encoded)
        })
        .context("cannot save the state")?;
    let labels = names.read().unwrap_or_else(PoisonError::into_inner).clone();
    let mut origins: Vec<(u32, (u32, u32, String, char))> = Vec::with_capacity(labels.len());
    for (source, running) in (0u32..).zip(sources.iter()) {
        for (&stream, &origin) in &running.streams {
            let label = &labels[origin as usize];
            origins.push((origin, (source, stream, label.label.clone(), label.separator)));
        }
    }
    // By origin number: each stream has one, from 0 in first-seen order.
    origins.sort_by_key(|(origin, _)| *origin);
    Ok(RunCheckpoint {
        sources: urls
            .iter()
            .zip(sources.iter_mut())
            .map(|(url, running)| (url.clone(), running.source.save_position()))
            .collect(),
        sinks: Vec::new(),
        origins: origins.into_iter().map(|(_, origin)| origin).collect(),
        records,
        pipeline: Vec::new(),
    })
}

/// Where the sinks stand for a checkpoint.
enum SinkPositions {
    /// Every sink flushed through the checkpoint's record: its position then.
    Ready(Vec<(String, Option<Vec<u8>>)>),
    /// A sink has not flushed that far yet.
    Waiting,
    /// A sink flushed past it and no longer remembers where it stood.
    Lost,
}

fn sink_positions(workers: &[SinkWorker], urls: &[(String, usize)], through: u64) -> SinkPositions {
    let mut positions = Vec::with_capacity(urls.len());
    for (url, index) in urls {
        let state = &workers[*index].state;
        match state.durable_at(through) {
            Some(at) => positions.push((url.clone(), at)),
            None if state.acked.load(Ordering::Acquire) > through => return SinkPositions::Lost,
            None => return SinkPositions::Waiting,
        }
    }
    SinkPositions::Ready(positions)
}

/// The record number every sink has made durable (the pipeline's watermark
/// when there are no sinks to wait for).
fn acknowledged(workers: &[SinkWorker], flush: &FlushPoint) -> u64 {
    workers
        .iter()
        .map(|w| w.state.acked.load(Ordering::Acquire))
        .min()
        .unwrap_or_else(|| flush.delivered.load(Ordering::Acquire))
}

/// The sink threads of a run and which outputs go to which.
struct OpenSinks {
    workers: Vec<SinkWorker>,
    /// Each sink's URL and its worker (one worker per distinct sink).
    worker_of: Vec<(String, usize)>,
    agents_lane: Option<usize>,
    stats_lane: Option<usize>,
    routes: Routes,
}

/// Opens every sink of the plan once (two outputs to one URL share it), each
/// rewound to its position in the checkpoint resumed from, on a thread.
fn open_sinks(plan: &RunPlan, resumed: Option<&RunCheckpoint>) -> anyhow::Result<OpenSinks> {
    let mut workers: Vec<SinkWorker> = Vec::new();
    let mut worker_of: Vec<(String, usize)> = Vec::new();
    let mut lane_for = |endpoint: Option<&endpoint::Endpoint>| -> anyhow::Result<Option<usize>> {
        let Some(endpoint) = endpoint else { return Ok(None) };
        let id = endpoint.identity();
        if let Some((_, index)) = worker_of.iter().find(|(seen, _)| *seen == id) {
            return Ok(Some(*index));
        }
        let mut sink = connect::sink(endpoint)?;
        // What was written after the checkpoint is written again.
        if let Some(at) = resumed.and_then(|saved| saved.sink_position(&id)) {
            sink.rewind_to(at)
                .with_context(|| format!("sink {id}: rewinding to the checkpoint"))?;
        }
        workers.push(SinkWorker::start(sink));
        worker_of.push((id, workers.len() - 1));
        Ok(Some(workers.len() - 1))
    };
    let sinks = &plan.sinks;
    let agents_lane = lane_for(sinks.agents.as_ref())?;
    let stats_lane = lane_for(sinks.stats.as_ref())?;
    let routes = Routes {
        calls: lane_for(sinks.calls.as_ref())?,
        changes: lane_for(sinks.changes.as_ref())?,
        interactions: lane_for(sinks.interactions.as_ref())?,
        rejects: lane_for(sinks.rejects.as_ref())?,
    };
    Ok(OpenSinks { workers, worker_of, agents_lane, stats_lane, routes })
}

/// Opens every source of the plan, each at its position in the checkpoint
/// resumed from.
fn open_sources(plan: &RunPlan, resumed: Option<&RunCheckpoint>) -> anyhow::Result<Vec<Running>> {
    let mut sources: Vec<Running> = Vec::with_capacity(plan.sources.len());
    for (index, endpoint) in plan.sources.iter().enumerate() {
        let mut source = connect::source(endpoint, plan)?;
        if let Some(at) = resumed.and_then(|saved| saved.sources[index].1.as_deref()) {
            source
                .resume_from(at)
                .with_context(|| format!("source {endpoint}: resuming at the checkpoint"))?;
        }
        sources.push(Running {
            source,
            streams: FxHashMap::default(),
            resumed: FxHashMap::default(),
            ended: false,
            records: Arc::default(),
            up: true,
        });
    }
    Ok(sources)
}

/// Leaves the streams another reader took over (Kafka partitions revoked)
/// to it: the calls open on them are that reader's to write whole and the
/// agents logged in there its to report (written here too they would come
/// twice: calls once open, agents stale), and the sources forget them, so
/// the last checkpoint does not say they were read.
fn release_taken_over(pipeline: &mut Pipeline<SinkOutputs>, sources: &mut [Running]) {
    let mut taken_over = Vec::new();
    for running in sources.iter_mut() {
        let (origins, streams): (Vec<u32>, Vec<u32>) = running
            .streams
            .iter()
            .filter(|(stream, _)| running.source.released(**stream))
            .map(|(stream, origin)| (*origin, *stream))
            .unzip();
        taken_over.extend(origins);
        running.source.forget_streams(&streams);
    }
    let left = pipeline.release_streams(&taken_over);
    if left.calls > 0 || left.agents > 0 {
        eprintln!(
            "ctistream: {} open call(s) and {} logged-in agent(s) left to the readers that \
             took over {} stream(s)",
            left.calls,
            left.agents,
            taken_over.len()
        );
    }
}

/// Per stream (origin number), the first record of state the stopped
/// pipeline still holds: calls kept open, logged-in agents' sessions.
fn held_state<O>(done: &ctistream_core::pipeline::PipelineDone<O>) -> Vec<(u32, u64)> {
    let mut held = Vec::new();
    for side in done.call_sides() {
        side.open_floors(&mut held);
    }
    for side in done.agent_sides() {
        side.open_floors(&mut held);
    }
    held.sort_unstable();
    held.dedup_by_key(|(stream, _)| *stream);
    held
}

/// Commits one mark per source, none past its streams' `floors` (origin
/// number, position); a failed commit is reported and the next mark tries
/// again.
fn commit(sources: &mut [Running], marks: &[u64], floors: &[(u32, u64)]) {
    for (running, &mark) in sources.iter_mut().zip(marks) {
        let own: Vec<(u32, u64)> = running
            .streams
            .iter()
            .filter_map(|(&stream, &origin)| {
                floors.iter().find(|(o, _)| *o == origin).map(|&(_, position)| (stream, position))
            })
            .collect();
        if let Err(error) = running.source.commit_within(mark, &own) {
            eprintln!("ctistream: warning: commit of {} failed: {error}", running.source.name());
        }
    }
}

/// The origin number of a source's stream, registering its name the first
/// time it is seen.
fn origin_number(running: &mut Running, stream: u32, names: &OriginNames) -> u32 {
    let (source, resumed) = (&running.source, &running.resumed);
    *running.streams.entry(stream).or_insert_with(|| {
        let label = source.stream_label(stream);
        if let Some(&origin) = resumed.get(&label.label) {
            return origin;
        }
        let mut names = names.write().unwrap_or_else(PoisonError::into_inner);
        names.push(label);
        (names.len() - 1) as u32
    })
}

/// A record the source could not frame: counted and written to the rejects sink.
fn report_framing_reject(
    reject: &SourceReject,
    source: u32,
    names: &OriginNames,
    rejects: &SharedRejects,
    sink: Option<&crossbeam::channel::Sender<LineBatch>>,
) {
    let label = names
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .get(source as usize)
        .cloned()
        .unwrap_or_else(|| StreamLabel::new("?", ':'));
    let origin = label.origin(reject.position);
    if let Some(sink) = sink {
        let mut batch = LineBatch::default();
        batch.push(&[origin.as_bytes()], |out| {
            crate::rejects::write_reject(out, &origin, &reject.reason, &reject.raw);
        });
        let _ = sink.send(batch);
    }
    rejects.lock().unwrap_or_else(PoisonError::into_inner).reject(
        origin,
        reject.class.clone(),
        reject.reason.clone(),
        &[],
    );
}

/// The framing a source uses when its URL names none.
pub fn default_framing(endpoint_framing: Option<Framing>, plan: &RunPlan) -> Framing {
    endpoint_framing.unwrap_or_else(|| crate::input::default_framing(plan.format))
}
