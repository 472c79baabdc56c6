//! Reducers: events in, live state and derived records out.
//!
//! A [`Reducer`] owns the agent table ([`AgentTable`]), the open call threads
//! ([`CallTable`]), the per-queue statistics ([`Stats`]) and the duplicate
//! filter. [`Reducer::apply`] takes one decoded [`Event`] and reports what it
//! caused through an [`Outputs`] implementation: agent status changes as they
//! happen, and call detail records when a call thread ends. At end of input,
//! [`Reducer::finish`] flushes the threads still open.
//!
//! Inside, the reducer is two sides that meet only through messages
//! ([`AgentMsg`]): the [`CallSide`] (call threads and interactions, keyed by
//! call) and the [`AgentSide`] (agents, DN bindings, statistics, keyed by
//! agent). Call events reach the agent side as leg changes on a DN; finished
//! threads reach it as drafts it completes with the agents of each leg. The
//! sharded pipeline runs one call side per shard and applies the messages to
//! the agent side in record order, so it gives this reducer's outputs exactly.

mod agent;
mod agent_side;
mod call;
mod call_side;
mod dedupe;
mod interaction;
mod intern;
mod message;
mod stats;

use std::collections::BTreeMap;

use crate::event::{Event, Timestamp};

pub use agent::{
    AgentOp, AgentRef, AgentState, AgentTable, Base, LegState, LegUpdate, StatusChange,
    TOTAL_NAMES, flags,
};
pub use agent_side::{AgentSide, AgentSideCounters};
pub use call::{
    CallConfig, CallDraft, CallEvent, CallRecord, CallTable, DraftLeg, LegEffect, Name, Outcome,
    conn_hash,
};
pub use call_side::CallSide;
pub use dedupe::Dedupe;
pub use interaction::{
    ActionStats, InteractionConfig, InteractionRecord, InteractionReducer, InteractionSummary,
    LatencyStats,
};
pub use intern::{Interner, Sym};
pub use message::{AgentBody, AgentMsg};
pub use stats::{QueueStats, Stats, StatsConfig, Waiting, status_index, write_queue_json};

/// Receives what the reducer derives. Both methods default to doing nothing.
pub trait Outputs {
    /// An agent's status changed (or an agent was first seen).
    fn agent_change(&mut self, change: &StatusChange, names: &Interner) {
        let _ = (change, names);
    }

    /// A call thread ended (or was flushed open at end of input).
    fn call_record(&mut self, record: &CallRecord) {
        let _ = record;
    }

    /// An orchestration interaction ended (or was flushed open at end of input).
    fn interaction_record(&mut self, record: &InteractionRecord) {
        let _ = record;
    }

    /// A record could not be decoded (the pipeline decodes on its shards and
    /// reports here; the single-threaded [`Reducer`] never calls this).
    fn reject(&mut self, origin: crate::pipeline::Origin, error: &crate::DecodeError, raw: &[u8]) {
        let _ = (origin, error, raw);
    }
}

/// Discards every output.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoOutputs;

impl Outputs for NoOutputs {}

impl<O: Outputs + ?Sized> Outputs for &mut O {
    fn agent_change(&mut self, change: &StatusChange, names: &Interner) {
        (**self).agent_change(change, names);
    }

    fn call_record(&mut self, record: &CallRecord) {
        (**self).call_record(record);
    }

    fn interaction_record(&mut self, record: &InteractionRecord) {
        (**self).interaction_record(record);
    }

    fn reject(&mut self, origin: crate::pipeline::Origin, error: &crate::DecodeError, raw: &[u8]) {
        (**self).reject(origin, error, raw);
    }
}

/// Collects every output in memory (tests, small batch jobs).
#[derive(Clone, Debug, Default)]
pub struct CollectOutputs {
    /// Status changes as `(tenant, agent, change)`.
    pub changes: Vec<(String, String, StatusChange)>,
    /// Call detail records.
    pub records: Vec<CallRecord>,
    /// Interaction records.
    pub interactions: Vec<InteractionRecord>,
}

impl Outputs for CollectOutputs {
    fn agent_change(&mut self, change: &StatusChange, names: &Interner) {
        let (tenant, agent) = (names.name(change.tenant), names.name(change.agent));
        self.changes.push((tenant.to_owned(), agent.to_owned(), *change));
    }

    fn call_record(&mut self, record: &CallRecord) {
        self.records.push(record.clone());
    }

    fn interaction_record(&mut self, record: &InteractionRecord) {
        self.interactions.push(record.clone());
    }
}

/// Settings of a [`Reducer`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReducerConfig {
    /// Call-thread settings.
    pub calls: CallConfig,
    /// Statistics thresholds.
    pub stats: StatsConfig,
    /// Orchestration interaction settings.
    pub interactions: InteractionConfig,
}

/// What the reducer has done, for summaries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReduceCounters {
    /// Events applied.
    pub events: u64,
    /// Events dropped as duplicates (same Server and EventSequenceNumber; a
    /// stream without `Server` is taken as one server's).
    pub duplicates: u64,
    /// Agent or DN events that named no agent and whose DN has none bound.
    pub unattributed: u64,
    /// Agent status changes reported.
    pub agent_changes: u64,
    /// Call detail records emitted.
    pub call_records: u64,
    /// Agents marked uncertain by a lost CTI link.
    pub uncertain_marks: u64,
    /// Orchestration interaction records emitted.
    pub interaction_records: u64,
}

impl ReduceCounters {
    /// The counters of a call side and an agent side together.
    pub fn of(calls: &[&CallSide], agents: &AgentSide) -> ReduceCounters {
        let agent = agents.counters();
        ReduceCounters {
            events: calls.iter().map(|side| side.events()).sum(),
            duplicates: calls.iter().map(|side| side.duplicates()).sum(),
            unattributed: agent.unattributed,
            agent_changes: agent.agent_changes,
            call_records: agent.call_records,
            uncertain_marks: agent.uncertain_marks,
            interaction_records: agent.interaction_records,
        }
    }
}

/// The single-threaded reducer of every dialect's events.
///
/// # Examples
///
/// ```
/// use ctistream_core::{Decoder, Format, Timestamp};
/// use ctistream_core::state::{CollectOutputs, Outcome, Reducer};
///
/// let events = [
///     r#"{"id":"EventAgentLogin","ThisDN":"5001","AgentID":"a1","time":"2026-11-20T09:00:00Z"}"#,
///     r#"{"id":"EventAgentReady","ThisDN":"5001","AgentID":"a1","time":"2026-11-20T09:00:01Z"}"#,
///     r#"{"id":"EventRinging","CallThreadID":"c1","ThisDN":"5001","CallType":"Inbound","time":"2026-11-20T09:01:00Z"}"#,
///     r#"{"id":"EventEstablished","CallThreadID":"c1","ThisDN":"5001","CallType":"Inbound","time":"2026-11-20T09:01:05Z"}"#,
///     r#"{"id":"EventReleased","CallThreadID":"c1","ThisDN":"5001","CallType":"Inbound","time":"2026-11-20T09:03:05Z"}"#,
/// ];
/// let decoder = Decoder::new(Format::Genesys);
/// let mut reducer = Reducer::default();
/// let mut out = CollectOutputs::default();
/// for record in events {
///     let event = decoder.decode(record.as_bytes(), None)?;
///     reducer.apply(&event, Timestamp(0), &mut out);
/// }
/// reducer.finish(&mut out);
/// let call = &out.records[0];
/// assert_eq!((call.outcome, call.ring_ms, call.talk_ms), (Outcome::Answered, 5_000, 120_000));
/// assert_eq!(call.agents, ["a1"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Default)]
pub struct Reducer {
    calls: CallSide,
    agents: AgentSide,
    messages: Vec<AgentMsg>,
}

impl Reducer {
    /// A reducer with `config`.
    pub fn new(config: ReducerConfig) -> Reducer {
        Reducer {
            calls: CallSide::new(config.calls, config.interactions),
            agents: AgentSide::new(config.stats),
            messages: Vec::new(),
        }
    }

    /// The interned names of the agent side (to read the symbols of agent
    /// states, status changes and statistics).
    pub fn names(&self) -> &Interner {
        self.agents.names()
    }

    /// The agents.
    pub fn agents(&self) -> &AgentTable {
        self.agents.agents()
    }

    /// The open call threads.
    pub fn calls(&self) -> &CallTable {
        self.calls.calls()
    }

    /// The statistics.
    pub fn stats(&self) -> &Stats {
        self.agents.stats()
    }

    /// Orchestration results per action and error kind, request→result latency.
    pub fn interactions(&self) -> &InteractionSummary {
        self.calls.interactions()
    }

    /// What has been done so far.
    pub fn counters(&self) -> ReduceCounters {
        ReduceCounters::of(&[&self.calls], &self.agents)
    }

    /// The latest event time seen.
    pub fn watermark(&self) -> Timestamp {
        self.calls.watermark()
    }

    /// Applies one event. `ingest` is used when the event carries no time.
    pub fn apply(&mut self, event: &Event<'_>, ingest: Timestamp, out: &mut impl Outputs) {
        self.calls.apply(event, ingest, &mut self.messages);
        for message in self.messages.drain(..) {
            self.agents.apply(message, out);
        }
    }

    /// Flushes every open call thread and interaction (end of input).
    pub fn finish(&mut self, out: &mut impl Outputs) {
        self.calls.finish(&mut self.messages);
        for message in self.messages.drain(..) {
            self.agents.apply(message, out);
        }
    }

    /// Writes every agent snapshot (PROTOCOLS.md), sorted by tenant and agent.
    pub fn write_agent_snapshots(&self, out: &mut Vec<u8>) {
        write_agent_snapshots(&self.agents, out);
    }

    /// Writes the statistics of every queue as of `at` (the calls waiting are
    /// those open now).
    pub fn write_stats(&self, at: Timestamp, out: &mut Vec<u8>) {
        write_stats(&[&self.calls], &self.agents, at, out);
    }
}

/// Writes every agent snapshot of `agents`, sorted by tenant and agent.
pub fn write_agent_snapshots(agents: &AgentSide, out: &mut Vec<u8>) {
    let names = agents.names();
    let mut states: Vec<&AgentState> = agents.agents().iter().collect();
    states.sort_by(|a, b| {
        (names.name(a.tenant()), names.name(a.agent()))
            .cmp(&(names.name(b.tenant()), names.name(b.agent())))
    });
    for state in states {
        state.write_json(names, out);
    }
}

/// Writes the statistics of every queue as of `at`: counters from the agent
/// side, calls waiting from the open threads of every call side.
pub fn write_stats(calls: &[&CallSide], agents: &AgentSide, at: Timestamp, out: &mut Vec<u8>) {
    let names = agents.names();
    let empty = QueueStats::default();
    let mut rows: BTreeMap<(String, String), (&QueueStats, Waiting)> = BTreeMap::new();
    for ((tenant, queue), stats) in agents.stats().sorted(names) {
        let key = (names.name(tenant).to_owned(), names.name(queue).to_owned());
        rows.insert(key, (stats, Waiting::default()));
    }
    for side in calls {
        let call_names = side.names();
        for (tenant, queue, since) in side.calls().waiting() {
            let key = (call_names.name(tenant).to_owned(), call_names.name(queue).to_owned());
            let row = rows.entry(key).or_insert((&empty, Waiting::default()));
            row.1.calls += 1;
            row.1.longest_ms = row.1.longest_ms.max((at.0 - since.0).max(0) / 1000);
        }
    }
    for ((tenant, queue), (stats, waiting)) in rows {
        write_queue_json(out, &tenant, &queue, stats, waiting, at);
    }
}
