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
mod binding;
mod call;
mod call_side;
mod dedupe;
mod floors;
mod interaction;
mod intern;
mod message;
mod stats;

use std::collections::BTreeMap;

use crate::event::{Event, Timestamp};

pub use agent::{
    AgentOp, AgentRef, AgentState, AgentTable, Base, LegState, LegUpdate, MAX_LEGS, StatusChange,
    TOTAL_NAMES, flags,
};
pub use agent_side::{AgentSide, AgentSideCounters};
pub use binding::Bindings;
pub use call::{
    CallConfig, CallDraft, CallEvent, CallRecord, CallTable, DraftLeg, LegEffect, Name, Outcome,
    conn_hash,
};
pub use call_side::{CallSide, CallSideCounters};
pub use dedupe::Dedupe;
pub use interaction::{
    ActionStats, InteractionConfig, InteractionRecord, InteractionReducer, InteractionSummary,
    LatencyStats,
};
pub use intern::{Interner, Sym};
pub use message::{AgentBody, AgentMsg};
pub use stats::{
    OVERFLOW_QUEUE, QueueStats, Stats, StatsConfig, Waiting, status_index, write_queue_json,
};

/// Below this many interned names a side never rebuilds its names table.
pub(crate) const COMPACT_FLOOR: usize = 1 << 16;

/// When a names table of `len` names is rebuilt next: once it has doubled.
pub(crate) fn compact_floor(len: usize) -> usize {
    len.saturating_mul(2).max(COMPACT_FLOOR)
}

/// An agent status change, with its names (what the changes output writes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AgentChange<'a> {
    /// The tenant.
    pub tenant: &'a str,
    /// The agent.
    pub agent: &'a str,
    /// The new status.
    pub status: crate::event::AgentStatus,
    /// The status before; `None` when the agent was first seen.
    pub previous: Option<crate::event::AgentStatus>,
    /// When it changed (event time).
    pub at: Timestamp,
    /// The reason code of a not-ready or after-call-work status.
    pub reason: Option<&'a str>,
}

impl<'a> AgentChange<'a> {
    /// The change `change` with its symbols read from `names`.
    pub fn of(change: &StatusChange, names: &'a Interner) -> AgentChange<'a> {
        AgentChange {
            tenant: names.name(change.tenant),
            agent: names.name(change.agent),
            status: change.status,
            previous: change.previous,
            at: change.at,
            reason: change.reason.non_empty().map(|reason| names.name(reason)),
        }
    }

    /// Writes the change as one NDJSON line:
    /// `{"tenant","agent","status","previous","at","reason"}`.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        use crate::output::write_json_string;
        out.extend_from_slice(b"{\"tenant\":");
        write_json_string(out, self.tenant.as_bytes());
        out.extend_from_slice(b",\"agent\":");
        write_json_string(out, self.agent.as_bytes());
        out.extend_from_slice(b",\"status\":\"");
        out.extend_from_slice(self.status.name().as_bytes());
        out.extend_from_slice(b"\",\"previous\":");
        match self.previous {
            Some(previous) => {
                out.push(b'"');
                out.extend_from_slice(previous.name().as_bytes());
                out.push(b'"');
            }
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"at\":\"");
        self.at.write_rfc3339(out);
        out.extend_from_slice(b"\",\"reason\":");
        match self.reason {
            Some(reason) => write_json_string(out, reason.as_bytes()),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b"}\n");
    }

    /// An owned copy.
    pub fn to_owned_change(&self) -> OwnedAgentChange {
        OwnedAgentChange {
            tenant: self.tenant.to_owned(),
            agent: self.agent.to_owned(),
            status: self.status,
            previous: self.previous,
            at: self.at,
            reason: self.reason.map(str::to_owned),
        }
    }
}

/// An [`AgentChange`] that owns its names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnedAgentChange {
    /// The tenant.
    pub tenant: String,
    /// The agent.
    pub agent: String,
    /// The new status.
    pub status: crate::event::AgentStatus,
    /// The status before; `None` when the agent was first seen.
    pub previous: Option<crate::event::AgentStatus>,
    /// When it changed.
    pub at: Timestamp,
    /// The reason code, if any.
    pub reason: Option<String>,
}

impl OwnedAgentChange {
    /// The borrowed view.
    pub fn view(&self) -> AgentChange<'_> {
        AgentChange {
            tenant: &self.tenant,
            agent: &self.agent,
            status: self.status,
            previous: self.previous,
            at: self.at,
            reason: self.reason.as_deref(),
        }
    }
}

/// Receives what the reducer derives. Every method defaults to doing nothing.
pub trait Outputs {
    /// An agent's status changed (or an agent was first seen).
    fn agent_change(&mut self, change: &AgentChange<'_>) {
        let _ = change;
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

    /// Every output caused by records numbered up to `through` (see
    /// [`Pipeline::pushed`](crate::pipeline::Pipeline::pushed)) has been given
    /// to these outputs. Called by the pipeline as its shards' watermarks
    /// move; outputs that forward to sinks pass it on as a flush point.
    /// Outputs flushed at end of input come after the last call and are
    /// covered by [`Pipeline::finish`](crate::pipeline::Pipeline::finish).
    fn delivered(&mut self, through: u64) {
        let _ = through;
    }

    /// Called just before each [`delivered`](Self::delivered): per input
    /// stream (`Origin::source`), the position (`Origin::line`) of the first
    /// event of the oldest call thread that has no record yet. Records from
    /// there on are still needed to rebuild that call: a source must not
    /// commit at or past the floor, or a crash loses the call. Streams with
    /// no open call are not listed.
    fn open_from(&mut self, through: u64, floors: &[(u32, u64)]) {
        let _ = (through, floors);
    }

    /// The pipeline has nothing to deliver right now: a good moment for
    /// outputs that batch to pass on what they hold. Called often while the
    /// pipeline idles, so it must be cheap when there is nothing to do.
    fn idle(&mut self) {}
}

/// Discards every output.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoOutputs;

impl Outputs for NoOutputs {}

impl<O: Outputs + ?Sized> Outputs for &mut O {
    fn agent_change(&mut self, change: &AgentChange<'_>) {
        (**self).agent_change(change);
    }

    fn call_record(&mut self, record: &CallRecord) {
        (**self).call_record(record);
    }

    fn interaction_record(&mut self, record: &InteractionRecord) {
        (**self).interaction_record(record);
    }

    fn delivered(&mut self, through: u64) {
        (**self).delivered(through);
    }

    fn open_from(&mut self, through: u64, floors: &[(u32, u64)]) {
        (**self).open_from(through, floors);
    }

    fn reject(&mut self, origin: crate::pipeline::Origin, error: &crate::DecodeError, raw: &[u8]) {
        (**self).reject(origin, error, raw);
    }

    fn idle(&mut self) {
        (**self).idle();
    }
}

/// Collects every output in memory (tests, small batch jobs).
#[derive(Clone, Debug, Default)]
pub struct CollectOutputs {
    /// Status changes.
    pub changes: Vec<OwnedAgentChange>,
    /// Call detail records.
    pub records: Vec<CallRecord>,
    /// Interaction records.
    pub interactions: Vec<InteractionRecord>,
}

impl Outputs for CollectOutputs {
    fn agent_change(&mut self, change: &AgentChange<'_>) {
        self.changes.push(change.to_owned_change());
    }

    fn call_record(&mut self, record: &CallRecord) {
        self.records.push(record.clone());
    }

    fn interaction_record(&mut self, record: &InteractionRecord) {
        self.interactions.push(record.clone());
    }
}

/// Settings of a [`Reducer`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReducerConfig {
    /// Call-thread settings.
    pub calls: CallConfig,
    /// Statistics thresholds.
    pub stats: StatsConfig,
    /// Orchestration interaction settings.
    pub interactions: InteractionConfig,
    /// Agent table settings.
    pub agents: AgentConfig,
}

/// Settings of the agent table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AgentConfig {
    /// The most agents kept (per agent side: per shard in the pipeline).
    /// Agent names come from the input, and a stream naming millions of
    /// agents would otherwise hold each for ever: past the cap the least
    /// recently active agents are forgotten (they no longer count in the
    /// statistics) and counted ([`ReduceCounters::evicted_agents`]).
    pub max_agents: usize,
    /// Whether each logged-in agent keeps where its session began, so that
    /// sources commit no further ([`AgentTable::open_floors`]) and a reader
    /// of the same streams after a crash or a rebalance replays the session
    /// and has the same agents. On in `ctistream run`; off by default (a
    /// batch reduce has nothing to commit), and then it costs nothing.
    pub sessions: bool,
}

impl Default for AgentConfig {
    fn default() -> Self {
        AgentConfig { max_agents: 1_000_000, sessions: false }
    }
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
    /// Open call threads evicted (without a record) to stay within
    /// [`CallConfig::max_open`].
    pub evicted_calls: u64,
    /// Duplicate-filter server windows dropped to stay within
    /// [`CallConfig::max_servers`].
    pub evicted_servers: u64,
    /// Agent call legs dropped to stay within [`MAX_LEGS`] per agent.
    pub dropped_legs: u64,
    /// Agents forgotten to stay within [`AgentConfig::max_agents`].
    pub evicted_agents: u64,
    /// DN bindings dropped to stay within [`CallConfig::max_bindings`].
    pub evicted_bindings: u64,
    /// Statistics updates counted under the overflow queue
    /// ([`StatsConfig::max_queues`]).
    pub overflowed_queues: u64,
}

impl ReduceCounters {
    /// The counters of call sides and agent sides together.
    pub fn of(calls: &[&CallSide], agents: &[&AgentSide]) -> ReduceCounters {
        let mut counters = ReduceCounters::default();
        for side in calls {
            let c = side.counters();
            counters.events += c.events;
            counters.duplicates += side.duplicates();
            counters.unattributed += c.unattributed;
            counters.call_records += c.call_records;
            counters.interaction_records += c.interaction_records;
            counters.evicted_calls += side.calls().evicted();
            counters.evicted_servers += side.dedupe().evicted();
            counters.evicted_bindings += side.bindings().evicted();
            counters.overflowed_queues += side.stats().overflowed();
        }
        for side in agents {
            let c = side.counters();
            counters.agent_changes += c.agent_changes;
            counters.uncertain_marks += c.uncertain_marks;
            counters.dropped_legs += side.agents().dropped_legs();
            counters.evicted_agents += side.agents().evicted();
            counters.overflowed_queues += side.stats().overflowed();
        }
        counters
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
            calls: CallSide::new(config.calls, config.interactions, config.stats),
            agents: AgentSide::new(config.stats, config.agents),
            messages: Vec::new(),
        }
    }

    /// The interned names of the agent side (to read the symbols of agent
    /// states).
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

    /// The agent statistics (agents by status, after-call work); the call
    /// statistics are [`CallSide::stats`] (see [`write_stats`]).
    pub fn stats(&self) -> &Stats {
        self.agents.stats()
    }

    /// The call side.
    pub fn call_side(&self) -> &CallSide {
        &self.calls
    }

    /// The agent side.
    pub fn agent_side(&self) -> &AgentSide {
        &self.agents
    }

    /// Orchestration results per action and error kind, request→result latency.
    pub fn interactions(&self) -> &InteractionSummary {
        self.calls.interactions()
    }

    /// What has been done so far.
    pub fn counters(&self) -> ReduceCounters {
        ReduceCounters::of(&[&self.calls], &[&self.agents])
    }

    /// The latest event time seen.
    pub fn watermark(&self) -> Timestamp {
        self.calls.watermark()
    }

    /// Applies one event. `ingest` is used when the event carries no time.
    /// All events are taken as one input stream; see [`Reducer::apply_from`].
    pub fn apply(&mut self, event: &Event<'_>, ingest: Timestamp, out: &mut impl Outputs) {
        self.apply_from(crate::pipeline::Origin::default(), event, ingest, out);
    }

    /// Applies one event read at `origin` (a Kafka partition and offset, a
    /// file and line): duplicates are told by sequence number, and released
    /// calls wait out their linger, within the event's input stream, where a
    /// server's events keep their order.
    pub fn apply_from(
        &mut self,
        origin: crate::pipeline::Origin,
        event: &Event<'_>,
        ingest: Timestamp,
        out: &mut impl Outputs,
    ) {
        self.calls.apply(event, origin, ingest, &mut self.messages, out, |_, _| true);
        for message in self.messages.drain(..) {
            self.agents.apply(message, out);
        }
    }

    /// Flushes every open call thread and interaction (end of input).
    pub fn finish(&mut self, out: &mut impl Outputs) {
        self.calls.finish(out);
    }

    /// Writes every agent snapshot (PROTOCOLS.md), sorted by tenant and agent.
    pub fn write_agent_snapshots(&self, out: &mut Vec<u8>) {
        write_agent_snapshots(&[&self.agents], out);
    }

    /// Writes the statistics of every queue as of `at` (the calls waiting are
    /// those open now).
    pub fn write_stats(&self, at: Timestamp, out: &mut Vec<u8>) {
        write_stats(&[&self.calls], &[&self.agents], at, out);
    }
}

/// Writes every agent snapshot of the agent sides, sorted by tenant and agent.
pub fn write_agent_snapshots(sides: &[&AgentSide], out: &mut Vec<u8>) {
    let mut states: Vec<(&str, &str, &AgentState, &Interner)> = Vec::new();
    for side in sides {
        let names = side.names();
        for state in side.agents().iter() {
            states.push((names.name(state.tenant()), names.name(state.agent()), state, names));
        }
    }
    states.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
    for (_, _, state, names) in states {
        state.write_json(names, out);
    }
}

/// The statistics of every (tenant, queue) as of `at`: the call sides' call
/// counters and the agent sides' agent counters added up, and the calls
/// waiting (see [`CallSide::waiting`]); sorted by tenant and queue name.
pub fn queue_stats(
    calls: &[&CallSide],
    agents: &[&AgentSide],
    at: Timestamp,
) -> BTreeMap<(String, String), (QueueStats, Waiting)> {
    let mut rows: BTreeMap<(String, String), (QueueStats, Waiting)> = BTreeMap::new();
    let counters = calls
        .iter()
        .map(|side| (side.names(), side.stats()))
        .chain(agents.iter().map(|side| (side.names(), side.stats())));
    for (names, stats) in counters {
        for ((tenant, queue), queue_stats) in stats.sorted(names) {
            let key = (names.name(tenant).to_owned(), names.name(queue).to_owned());
            rows.entry(key).or_default().0.add(queue_stats);
        }
    }
    for side in calls {
        let names = side.names();
        for (tenant, queue, since) in side.waiting() {
            let key = (names.name(tenant).to_owned(), names.name(queue).to_owned());
            let waiting = &mut rows.entry(key).or_default().1;
            waiting.calls += 1;
            waiting.longest_ms = waiting.longest_ms.max(at.micros_since(since) / 1000);
        }
    }
    rows
}

/// Writes the statistics of every queue as of `at` (see [`queue_stats`]).
pub fn write_stats(calls: &[&CallSide], agents: &[&AgentSide], at: Timestamp, out: &mut Vec<u8>) {
    let rows = queue_stats(calls, agents, at);
    for ((tenant, queue), (stats, waiting)) in rows {
        write_queue_json(out, &tenant, &queue, &stats, waiting, at);
    }
}
