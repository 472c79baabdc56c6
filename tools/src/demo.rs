//! `ctistream demo`: a simulated contact-center hour, generated in memory, run
//! through the full pipeline, and summed up the way an operator's wallboard
//! would: agents by status, queues with the calls waiting in them, service
//! level, abandons, speed of answer and handle time, then the pipeline's own
//! latency. No file, broker or network is involved.
//!
//! The generated day is cut off at the end of the hour (see
//! [`GenOptions::until_ms`]), so the summary is a live picture: agents are
//! still logged in, calls are still in progress and some still wait.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use ctistream_core::pipeline::{Origin, Pipeline, PipelineConfig, default_shards};
use ctistream_core::state::{self, CallRecord, CallSide, Outputs, QueueStats, Waiting};
use ctistream_core::{AgentStatus, DecodeError, Format, MemoryFrames, Timestamp};

use crate::generate::{GenDialect, GenOptions, GenSummary, generate};
use crate::input::{grouped, now};
use crate::progress::bytes_bar;

/// What to simulate.
#[derive(Clone, Debug)]
pub struct DemoOptions {
    /// Agents per tenant.
    pub agents: usize,
    /// Tenants.
    pub tenants: usize,
    /// Simulated minutes after the morning's logins.
    pub minutes: u32,
    /// The random seed.
    pub seed: u64,
    /// The dialect the generated platform speaks.
    pub dialect: GenDialect,
    /// Pipeline shards.
    pub shards: usize,
    /// Queues listed one by one (the busiest); the rest are summed.
    pub queue_rows: usize,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions {
            agents: 500,
            tenants: 2,
            minutes: 60,
            seed: 1,
            dialect: GenDialect::Mixed,
            shards: default_shards(),
            queue_rows: 10,
        }
    }
}

impl DemoOptions {
    /// The generator's options for this demo: the agents kept about 85% busy,
    /// the day cut off `minutes` after the morning's logins.
    pub fn gen_options(&self) -> GenOptions {
        let minutes = i64::from(self.minutes.max(1));
        let rate = GenOptions::staffed_rate(self.agents, self.tenants);
        GenOptions {
            agents: self.agents,
            // More than the time can hold: the cut ends the calls.
            calls: (rate * minutes as f64 * 60.0 * 1.5) as usize + 100,
            seed: self.seed,
            dialect: self.dialect,
            tenants: self.tenants,
            rate,
            until_ms: Some(60_000 + minutes * 60_000),
        }
    }
}

/// The operator's summary of the simulated hour.
#[derive(Debug)]
pub struct DemoReport {
    options: DemoOptions,
    generated: GenSummary,
    processed: Duration,
    /// Events the pipeline accepted.
    pub events: u64,
    /// Records rejected (none: the generator writes valid events).
    pub rejected: u64,
    /// The first rejection, if any, for the report.
    first_reject: Option<String>,
    /// The picture's time: the latest event time seen.
    pub at: Timestamp,
    /// Logged-in agents by status, in [`AgentStatus::ALL`] order.
    pub agents: [u32; 12],
    /// Per (tenant, queue): counters and the calls waiting at the cut.
    pub queues: BTreeMap<(String, String), (QueueStats, Waiting)>,
    /// Calls in progress at the cut (open, an agent connected).
    pub talking: u64,
    /// Finished call records.
    pub finished: u64,
    latency: String,
}

/// Collects what the summary needs from the pipeline's outputs.
#[derive(Debug, Default)]
struct DemoOutputs {
    /// Calls open at the cut with an agent connected.
    talking: u64,
    finished: u64,
    rejected: u64,
    first_reject: Option<String>,
}

impl Outputs for DemoOutputs {
    fn call_record(&mut self, record: &CallRecord) {
        if record.ended.is_some() {
            self.finished += 1;
        } else if !record.agents.is_empty() {
            self.talking += 1;
        }
    }

    fn reject(&mut self, origin: Origin, error: &DecodeError, _raw: &[u8]) {
        self.rejected += 1;
        if self.first_reject.is_none() {
            self.first_reject = Some(format!("line {}: {error}", origin.line));
        }
    }
}

/// Runs the demo, calling `note` with a line of progress between the steps.
///
/// # Errors
/// Only if generating into memory fails, which it does not short of memory.
pub fn demo(options: &DemoOptions, mut note: impl FnMut(&str)) -> anyhow::Result<DemoReport> {
    let gen_options = options.gen_options();
    note("generating the hour's events in memory");
    let mut events = Vec::new();
    let generated =
        generate(&gen_options, &mut events, None, |_| {}).context("cannot generate the events")?;
    note("running them through the pipeline");
    let started = Instant::now();
    let config = PipelineConfig { shards: options.shards.max(1), ..PipelineConfig::default() };
    let framing = crate::input::default_framing(Format::Auto);
    let mut frames = MemoryFrames::new(Bytes::from(events), framing);
    let bar = bytes_bar(Some(generated.bytes), "processing");
    let mut pipeline = Pipeline::start(config, DemoOutputs::default());
    let mut ingest = now();
    let mut pushed = 0u32;
    while let Some(frame) = frames.next() {
        // Generated lines are all well formed and under the record limit.
        let Ok(frame) = frame else { continue };
        pushed = pushed.wrapping_add(1);
        if pushed % 4096 == 0 {
            ingest = now();
            bar.set_position(frames.position());
        }
        let origin = Origin { source: 0, line: frame.line };
        pipeline.push(frame.payload, frame.key, origin, ingest);
    }
    let done = pipeline.finish();
    bar.finish_and_clear();
    let processed = started.elapsed();

    let call_sides: Vec<&CallSide> = done.calls.iter().collect();
    let at = call_sides.iter().map(|side| side.watermark()).max().unwrap_or(Timestamp(0));
    let queues = state::queue_stats(&call_sides, &done.agent_sides(), at);
    let mut agents = [0u32; 12];
    for side in done.agent_sides() {
        for agent in side.agents().iter() {
            agents[state::status_index(agent.status())] += 1;
        }
    }
    let counters = done.counters();
    let outputs = done.outputs;
    Ok(DemoReport {
        options: options.clone(),
        generated,
        processed,
        events: counters.events,
        rejected: outputs.rejected,
        first_reject: outputs.first_reject,
        at,
        agents,
        queues,
        talking: outputs.talking,
        finished: outputs.finished,
        latency: done.latency.table(),
    })
}

/// Labels for the agent statuses an operator groups together.
const AGENT_GROUPS: [(&str, &[AgentStatus]); 6] = [
    ("Ready", &[AgentStatus::WaitForNextCall]),
    (
        "On a call",
        &[
            AgentStatus::CallInbound,
            AgentStatus::CallOutbound,
            AgentStatus::CallInternal,
            AgentStatus::CallConsult,
            AgentStatus::CallUnknown,
        ],
    ),
    ("Ringing or dialing", &[AgentStatus::CallRinging, AgentStatus::CallDialing]),
    ("On hold", &[AgentStatus::CallOnHold]),
    ("After-call work", &[AgentStatus::AfterCallWork]),
    ("Not ready", &[AgentStatus::NotReadyForNextCall]),
];

/// `m:ss`, or `-` for none.
struct Clock(Option<i64>);

impl fmt::Display for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self.0 {
            Some(ms) => format!("{}:{:02}", ms / 60_000, ms / 1000 % 60),
            None => "-".to_owned(),
        };
        f.pad(&text)
    }
}

/// A percentage, or `-` for none.
struct Percent(Option<f64>);

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self.0 {
            Some(share) => format!("{:.1}%", share * 100.0),
            None => "-".to_owned(),
        };
        f.pad(&text)
    }
}

impl DemoReport {
    fn queue_row(
        f: &mut fmt::Formatter<'_>,
        name: &str,
        stats: &QueueStats,
        waiting: Waiting,
    ) -> fmt::Result {
        let logged_in: u32 = stats.agents[..11].iter().sum();
        writeln!(
            f,
            "  {name:<16} {:>7} {:>8} {:>8} {:>9} {:>9} {:>8} {:>7} {:>7}",
            grouped(u64::from(logged_in)),
            waiting.calls,
            Clock((waiting.calls > 0).then_some(waiting.longest_ms)),
            grouped(stats.answered),
            grouped(stats.abandoned()),
            Percent(stats.service_level()),
            Clock(stats.asa_ms()),
            Clock(stats.aht_ms()),
        )
    }
}

impl fmt::Display for DemoReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let o = &self.options;
        let dialect = match o.dialect {
            GenDialect::Genesys => "Voice Microservices JSON",
            GenDialect::Tlog => "T-Server log",
            GenDialect::Ors => "Orchestration Server interaction events",
            GenDialect::Sdk => "agent desktop SDK events",
            GenDialect::Ivr => "IVR Server agent messages",
            GenDialect::Mixed => "Voice Microservices JSON and T-Server log",
        };
        writeln!(
            f,
            "ctistream demo: {} simulated minutes at {} tenant{} × {} agents (seed {})",
            o.minutes,
            o.tenants,
            if o.tenants == 1 { "" } else { "s" },
            o.agents,
            o.seed
        )?;
        let g = &self.generated;
        writeln!(
            f,
            "  generated {} events of {} calls ({:.1} MB of {dialect}) in {:.2} s",
            grouped(g.events),
            grouped(g.calls),
            g.bytes as f64 / 1e6,
            g.elapsed.as_secs_f64()
        )?;
        let secs = self.processed.as_secs_f64().max(1e-9);
        writeln!(
            f,
            "  processed them on {} shard{} in {:.2} s: {} events/s, {} rejected",
            o.shards.max(1),
            if o.shards.max(1) == 1 { "" } else { "s" },
            secs,
            grouped((self.events as f64 / secs) as u64),
            grouped(self.rejected)
        )?;
        if let Some(reject) = &self.first_reject {
            writeln!(f, "  first rejection: {reject}")?;
        }

        let mut clock = Vec::new();
        self.at.write_rfc3339(&mut clock);
        let clock = String::from_utf8_lossy(&clock);
        let logged_in: u32 = self.agents[..11].iter().sum();
        writeln!(f, "\nAgents at {clock}: {} logged in", grouped(u64::from(logged_in)))?;
        for (label, statuses) in AGENT_GROUPS {
            let count: u32 =
                statuses.iter().map(|&status| self.agents[state::status_index(status)]).sum();
            let share = if logged_in == 0 { 0.0 } else { f64::from(count) / f64::from(logged_in) };
            writeln!(f, "  {label:<20} {:>7}  {:>5.1}%", grouped(u64::from(count)), share * 100.0)?;
        }

        let threshold = ctistream_core::state::StatsConfig::default().service_level_ms / 1000;
        writeln!(
            f,
            "\nQueues ({} in progress, {} finished calls)",
            grouped(self.talking),
            grouped(self.finished)
        )?;
        writeln!(
            f,
            "  {:<16} {:>7} {:>8} {:>8} {:>9} {:>9} {:>8} {:>7} {:>7}",
            "tenant queue",
            "agents",
            "waiting",
            "longest",
            "answered",
            "abandoned",
            format!("SL {threshold}s"),
            "ASA",
            "AHT"
        )?;
        // The busiest first: most waiting, then longest wait, then most answered.
        let mut rows: Vec<_> =
            self.queues.iter().filter(|((_, queue), _)| !queue.is_empty()).collect();
        rows.sort_by_key(|(_, (stats, waiting))| {
            std::cmp::Reverse((waiting.calls, waiting.longest_ms, stats.answered))
        });
        let mut rest = (QueueStats::default(), Waiting::default(), 0usize);
        let mut all = (QueueStats::default(), Waiting::default());
        for (index, ((tenant, queue), (stats, waiting))) in rows.iter().enumerate() {
            all.0.add(stats);
            all.1.calls += waiting.calls;
            all.1.longest_ms = all.1.longest_ms.max(waiting.longest_ms);
            if index < o.queue_rows {
                Self::queue_row(f, &format!("{tenant} {queue}"), stats, *waiting)?;
            } else {
                rest.0.add(stats);
                rest.1.calls += waiting.calls;
                rest.1.longest_ms = rest.1.longest_ms.max(waiting.longest_ms);
                rest.2 += 1;
            }
        }
        if rest.2 > 0 {
            Self::queue_row(f, &format!("{} more queues", rest.2), &rest.0, rest.1)?;
        }
        Self::queue_row(f, "all queues", &all.0, all.1)?;
        writeln!(
            f,
            "  (SL: answered within {threshold} s of all calls but short abandons; ASA: average speed of answer; AHT: talk + hold + after-call work)"
        )?;

        writeln!(f, "\nLatency through the pipeline (the hour is replayed as fast as it goes, so")?;
        writeln!(
            f,
            "end-to-end time is mostly waiting in full rings; live traffic sees decode + reduce):"
        )?;
        write!(f, "{}", self.latency)
    }
}
