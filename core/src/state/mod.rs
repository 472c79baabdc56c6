//! Reducers: events in, live state and derived records out.
//!
//! A [`Reducer`] owns the agent table ([`AgentTable`]), the open call threads
//! ([`CallTable`]), the per-queue statistics ([`Stats`]) and the duplicate
//! filter. [`Reducer::apply`] takes one decoded [`Event`] and reports what it
//! caused through an [`Outputs`] implementation: agent status changes as they
//! happen, and call detail records when a call thread ends. At end of input,
//! [`Reducer::finish`] flushes the threads still open.
//!
//! Call events reach the agent reducer as leg changes on the agent's DN
//! ([`LegUpdate`]): in the sharded pipeline these become the small activity
//! messages one shard sends to the shard that owns the agent.

mod agent;
mod call;
mod dedupe;
mod interaction;
mod intern;
mod stats;

use crate::event::{
    AgentWorkMode, Attr, Category, Dialect, Event, EventKind, IvrMessage, IvrStatus, SdkAgentState,
    SdkEvent, TEvent, Timestamp, Value,
};

pub use agent::{
    AgentOp, AgentRef, AgentState, AgentTable, Base, LegState, LegUpdate, StatusChange,
    TOTAL_NAMES, flags,
};
pub use call::{
    CallConfig, CallEvent, CallRecord, CallTable, LegEffect, Outcome, conn_hash, thread_size,
};
pub use dedupe::Dedupe;
pub use interaction::{
    ActionStats, InteractionConfig, InteractionRecord, InteractionReducer, InteractionSummary,
    LatencyStats,
};
pub use intern::{Interner, Sym};
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
    names: Interner,
    agents: AgentTable,
    calls: CallTable,
    stats: Stats,
    interactions: InteractionReducer,
    dedupe: Dedupe,
    watermark: Timestamp,
    counters: ReduceCounters,
    records: Vec<CallRecord>,
    interaction_records: Vec<InteractionRecord>,
}

impl Reducer {
    /// A reducer with `config`.
    pub fn new(config: ReducerConfig) -> Reducer {
        Reducer {
            calls: CallTable::new(config.calls),
            stats: Stats::new(config.stats),
            interactions: InteractionReducer::new(config.interactions),
            ..Reducer::default()
        }
    }

    /// The interned names (to read the symbols of states and changes).
    pub fn names(&self) -> &Interner {
        &self.names
    }

    /// The agents.
    pub fn agents(&self) -> &AgentTable {
        &self.agents
    }

    /// The open call threads.
    pub fn calls(&self) -> &CallTable {
        &self.calls
    }

    /// The statistics.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Orchestration results per action and error kind, request→result latency.
    pub fn interactions(&self) -> &InteractionSummary {
        self.interactions.summary()
    }

    /// What has been done so far.
    pub fn counters(&self) -> ReduceCounters {
        ReduceCounters { duplicates: self.dedupe.duplicates(), ..self.counters }
    }

    /// The latest event time seen.
    pub fn watermark(&self) -> Timestamp {
        self.watermark
    }

    /// Applies one event. `ingest` is used when the event carries no time.
    pub fn apply(&mut self, event: &Event<'_>, ingest: Timestamp, out: &mut impl Outputs) {
        let at = event.time().unwrap_or(ingest);
        self.watermark = self.watermark.max(at);
        if !self.first_sight(event) {
            return;
        }
        self.counters.events += 1;
        let tenant = self.names.intern(event.tenant());
        match event.kind() {
            EventKind::TLib(tevent) => match tevent.category() {
                Category::Agent | Category::Dn => {
                    self.tlib_agent_event(event, tevent, tenant, at, out)
                }
                Category::Call => self.call_event(event, tevent, tenant, at, out),
                Category::Session | Category::Interaction => {
                    if tevent == TEvent::LinkDisconnected {
                        let marked = self.agents.link_lost(server_hash(event));
                        self.counters.uncertain_marks += marked as u64;
                    }
                }
            },
            EventKind::Sdk(sdk) => self.sdk_event(event, sdk, tenant, at, out),
            EventKind::Ivr(IvrMessage::AgentStatus) => self.ivr_agent(event, tenant, at, out),
            EventKind::Ors(_) => {
                self.interactions.apply(event, at);
                self.interactions.drain_finished(&mut self.interaction_records);
            }
            EventKind::Ivr(_) => {}
        }
        self.calls.poll(self.watermark, &self.names, &mut self.records);
        self.drain_records(out);
    }

    /// Flushes every open call thread (end of input).
    pub fn finish(&mut self, out: &mut impl Outputs) {
        self.calls.flush(&self.names, &mut self.records);
        self.interactions.flush(&mut self.interaction_records);
        self.drain_records(out);
    }

    /// Writes every agent snapshot (PROTOCOLS.md), sorted by tenant and agent.
    pub fn write_agent_snapshots(&self, out: &mut Vec<u8>) {
        let names = &self.names;
        let mut agents: Vec<&AgentState> = self.agents.iter().collect();
        agents.sort_by(|a, b| {
            (names.name(a.tenant()), names.name(a.agent()))
                .cmp(&(names.name(b.tenant()), names.name(b.agent())))
        });
        for agent in agents {
            agent.write_json(names, out);
        }
    }

    /// Writes the statistics of every queue as of `at` (the calls waiting are
    /// those open now).
    pub fn write_stats(&self, at: Timestamp, out: &mut Vec<u8>) {
        let mut waiting: rustc_hash::FxHashMap<(Sym, Sym), Waiting> = Default::default();
        for (tenant, queue, since) in self.calls.waiting() {
            let slot = waiting.entry((tenant, queue)).or_default();
            slot.calls += 1;
            slot.longest_ms = slot.longest_ms.max((at.0 - since.0).max(0) / 1000);
        }
        let empty = QueueStats::default();
        let mut keys: Vec<(Sym, Sym)> =
            self.stats.sorted(&self.names).iter().map(|(k, _)| *k).collect();
        for key in waiting.keys() {
            if !keys.contains(key) {
                keys.push(*key);
            }
        }
        keys.sort_by(|a, b| {
            (self.names.name(a.0), self.names.name(a.1))
                .cmp(&(self.names.name(b.0), self.names.name(b.1)))
        });
        for key in keys {
            let stats = self.stats.queue(key.0, key.1).unwrap_or(&empty);
            let waiting = waiting.get(&key).copied().unwrap_or_default();
            write_queue_json(out, &self.names, key, stats, waiting, at);
        }
    }

    fn drain_records(&mut self, out: &mut impl Outputs) {
        for record in self.interaction_records.drain(..) {
            self.counters.interaction_records += 1;
            out.interaction_record(&record);
        }
        for record in self.records.drain(..) {
            self.counters.call_records += 1;
            // A thread still open at end of input has not finished: it is
            // reported, but not counted as answered or abandoned.
            if record.ended.is_some() {
                let tenant = self.names.intern(record.tenant.as_bytes());
                let queue = self.names.intern(record.queue.as_deref().unwrap_or("").as_bytes());
                self.stats.call_record(tenant, queue, &record);
            }
            out.call_record(&record);
        }
    }

    /// Whether the event is new by (Server, EventSequenceNumber).
    fn first_sight(&mut self, event: &Event<'_>) -> bool {
        if !matches!(event.dialect(), Dialect::Genesys | Dialect::Tlog) {
            return true;
        }
        // Without a `Server` (T-Server logs rarely print it: one log is one
        // server), the numbers are taken as the one server's of the stream.
        match event.int(Attr::EventSequenceNumber) {
            Some(seq) => self.dedupe.first_sight(server_hash(event), seq as u64),
            None => true,
        }
    }

    fn report(&mut self, change: Option<StatusChange>, out: &mut impl Outputs) {
        let Some(change) = change else { return };
        let acw_ms = match change.previous {
            Some(crate::AgentStatus::AfterCallWork)
                if change.status != change.previous.unwrap_or(change.status) =>
            {
                (change.at.0 - change.previous_since.0).max(0) / 1000
            }
            _ => 0,
        };
        self.counters.agent_changes += 1;
        self.stats.agent_change(&change, acw_ms);
        out.agent_change(&change, &self.names);
    }

    fn sym(&mut self, event: &Event<'_>, attr: Attr) -> Sym {
        match event.text(attr) {
            Some(text) => self.names.intern(text.as_bytes()),
            None => Sym::EMPTY,
        }
    }

    fn tlib_agent_event(
        &mut self,
        event: &Event<'_>,
        tevent: TEvent,
        tenant: Sym,
        at: Timestamp,
        out: &mut impl Outputs,
    ) {
        let dn = self.sym(event, Attr::ThisDN);
        let agent = match event.agent_key() {
            Some(agent) => self.names.intern(agent),
            None => match self.agents.agent_on(tenant, dn) {
                Some(agent) => agent,
                None => {
                    self.counters.unattributed += 1;
                    return;
                }
            },
        };
        let queue = self.sym(event, Attr::ThisQueue);
        let reason = match event
            .kv_text(Attr::Reasons, "ReasonCode")
            .or_else(|| event.kv_text(Attr::Extensions, "ReasonCode"))
        {
            Some(reason) => self.names.intern(reason.as_bytes()),
            None => Sym::EMPTY,
        };
        let flag = |flag, on| AgentOp::Flag { flag, on };
        let op = match tevent {
            TEvent::AgentLogin => AgentOp::Login,
            TEvent::AgentLogout => AgentOp::Logout,
            TEvent::AgentReady => AgentOp::Ready,
            TEvent::AgentNotReady if event.work_mode() == Some(AgentWorkMode::AfterCallWork) => {
                AgentOp::AfterCallWork
            }
            TEvent::AgentNotReady => AgentOp::NotReady,
            TEvent::AgentAfterCallWork => AgentOp::AfterCallWork,
            TEvent::DndOn => flag(flags::DND, true),
            TEvent::DndOff => flag(flags::DND, false),
            TEvent::ForwardSet => flag(flags::FORWARD, true),
            TEvent::ForwardCancel => flag(flags::FORWARD, false),
            TEvent::MuteOn => flag(flags::MUTE, true),
            TEvent::MuteOff => flag(flags::MUTE, false),
            TEvent::DnOutOfService => flag(flags::OUT_OF_SERVICE, true),
            TEvent::DnBackInService => flag(flags::OUT_OF_SERVICE, false),
            TEvent::OffHook => flag(flags::OFF_HOOK, true),
            TEvent::OnHook => flag(flags::OFF_HOOK, false),
            _ => AgentOp::Touch,
        };
        let who = AgentRef { tenant, agent, dn, queue, server: server_hash(event), at };
        let change = self.agents.apply(who, op, reason);
        self.report(change, out);
    }

    fn call_event(
        &mut self,
        event: &Event<'_>,
        tevent: TEvent,
        tenant: Sym,
        at: Timestamp,
        out: &mut impl Outputs,
    ) {
        let Some(key) = event.call_key() else { return };
        let dn = self.sym(event, Attr::ThisDN);
        let queue = self.sym(event, Attr::ThisQueue);
        let agent = match event.raw(Attr::AgentID).filter(|id| !id.is_empty()) {
            Some(id) => self.names.intern(id),
            None => self.agents.agent_on(tenant, dn).unwrap_or(Sym::EMPTY),
        };
        let text = |attr| event.raw(attr).filter(|raw| !raw.is_empty());
        let call = CallEvent {
            tenant,
            kind: tevent,
            at,
            key,
            conn: text(Attr::ConnID),
            uuid: text(Attr::CallUUID),
            links: [
                text(Attr::PreviousConnID),
                text(Attr::TransferConnID),
                text(Attr::ConferenceConnID),
            ],
            dn,
            queue,
            agent,
            call_type: event.call_type(),
            call_state: event.call_state(),
            ani: text(Attr::ANI),
            dnis: text(Attr::DNIS),
        };
        let effect = self.calls.apply(&call);
        if let (Some(effect), false) = (effect, agent.is_empty()) {
            let who =
                AgentRef { tenant, agent, dn, queue: Sym::EMPTY, server: server_hash(event), at };
            let change = self.agents.leg(who, effect.conn, effect.update, effect.call_type);
            self.report(change, out);
        }
    }

    fn sdk_event(
        &mut self,
        event: &Event<'_>,
        sdk: SdkEvent,
        tenant: Sym,
        at: Timestamp,
        out: &mut impl Outputs,
    ) {
        if sdk != SdkEvent::AgentStatus {
            return;
        }
        let Some(agent) = event.agent_key() else { return };
        let agent = self.names.intern(agent);
        let dn = self.sym(event, Attr::ThisDN);
        let reason = self.sym(event, Attr::Reason);
        let who = AgentRef { tenant, agent, dn, queue: Sym::EMPTY, server: 0, at };
        let call = event.raw(Attr::MainUniqueId).map(conn_hash);
        let leg_state = match event.sdk_state() {
            Some(SdkAgentState::Calling) => Some(LegState::Dialing),
            Some(SdkAgentState::Ringing) => Some(LegState::Ringing),
            Some(SdkAgentState::Talking) => Some(LegState::Talking),
            _ => None,
        };
        let change = match (event.sdk_state(), leg_state) {
            (_, Some(leg_state)) => {
                let call_type = event.sdk_call_type().map(|t| {
                    if t.is_outbound() {
                        crate::CallType::Outbound
                    } else {
                        crate::CallType::Inbound
                    }
                });
                self.agents.leg_absolute(
                    who,
                    call.unwrap_or(0),
                    LegUpdate::State(leg_state),
                    call_type,
                )
            }
            (Some(state), None) => {
                let op = match state {
                    SdkAgentState::Offline | SdkAgentState::Invalid => AgentOp::Logout,
                    SdkAgentState::Idle => AgentOp::Ready,
                    SdkAgentState::Busy => AgentOp::NotReady,
                    SdkAgentState::Wrapup => AgentOp::AfterCallWork,
                    _ => AgentOp::Touch,
                };
                // The new base state first, then the legs end: talking → wrapup is
                // one change, not talking → ready → wrapup in the same instant.
                let change = self.agents.apply(who, op, reason);
                self.report(change, out);
                self.release_sdk_legs(who, out);
                None
            }
            (None, None) => None,
        };
        self.report(change, out);
    }

    fn release_sdk_legs(&mut self, who: AgentRef, out: &mut impl Outputs) {
        let conns: smallvec::SmallVec<[u64; 2]> =
            self.agents.get(who.tenant, who.agent).map(AgentState::leg_conns).unwrap_or_default();
        for conn in conns {
            let change = self.agents.leg(who, conn, LegUpdate::Released, None);
            self.report(change, out);
        }
    }

    fn ivr_agent(&mut self, event: &Event<'_>, tenant: Sym, at: Timestamp, out: &mut impl Outputs) {
        let Some(agent) = event.agent_key() else { return };
        let agent = self.names.intern(agent);
        let op = match event.ivr_status() {
            Some(IvrStatus::LoggedIn) => AgentOp::LoginTransient,
            Some(IvrStatus::Ready) => AgentOp::Ready,
            Some(IvrStatus::NotReady) => AgentOp::NotReady,
            Some(IvrStatus::LoggedOut | IvrStatus::Unknown) => AgentOp::Logout,
            _ => return,
        };
        let who = AgentRef { tenant, agent, dn: Sym::EMPTY, queue: Sym::EMPTY, server: 0, at };
        let change = self.agents.apply(who, op, Sym::EMPTY);
        self.report(change, out);
    }
}

/// A hash of the event's `Server` (0 when absent).
fn server_hash(event: &Event<'_>) -> u64 {
    match event.get(Attr::Server) {
        Some(Value::Int(n)) => conn_hash(&n.to_le_bytes()) | 1,
        Some(_) => event.raw(Attr::Server).map_or(0, |raw| conn_hash(raw) | 1),
        None => 0,
    }
}
