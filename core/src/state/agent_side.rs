//! The agent side of the reducer: agent states and their share of the queue
//! statistics (agents by status, after-call work). It applies [`AgentMsg`]s
//! in the order of the records that caused them; every message names its
//! agent already (the call side resolved it through its DN bindings).

use crate::event::{AgentStatus, CallType, SdkAgentState, SdkCallType, Timestamp};

use super::agent::{AgentOp, AgentRef, AgentState, AgentTable, LegState, LegUpdate, StatusChange};
use super::intern::{Interner, Sym};
use super::message::{AgentBody, AgentMsg};
use super::stats::{OVERFLOW_QUEUE, Stats, StatsConfig};
use super::{AgentChange, Outputs};

/// What the agent side has done.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AgentSideCounters {
    /// Agent status changes reported.
    pub agent_changes: u64,
    /// Agents marked uncertain by a lost CTI link.
    pub uncertain_marks: u64,
}

/// Agent states and their statistics.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct AgentSide {
    names: Interner,
    agents: AgentTable,
    stats: Stats,
    counters: AgentSideCounters,
    /// The interned names are rebuilt from what is still held once they
    /// pass this many ([`super::compact_floor`]).
    #[serde(default)]
    compact_at: usize,
    /// Whether the next messages come from replayed records
    /// ([`set_replaying`](Self::set_replaying)).
    #[serde(skip)]
    replaying: bool,
}

impl Default for AgentSide {
    fn default() -> Self {
        AgentSide::new(StatsConfig::default(), super::AgentConfig::default())
    }
}

impl AgentSide {
    /// An empty agent side.
    pub fn new(stats: StatsConfig, agents: super::AgentConfig) -> AgentSide {
        let mut names = Interner::default();
        let mut stats = Stats::new(stats);
        stats.set_overflow(names.intern(OVERFLOW_QUEUE.as_bytes()));
        AgentSide {
            names,
            agents: AgentTable::new(agents.max_agents).with_sessions(agents.sessions),
            stats,
            counters: AgentSideCounters::default(),
            compact_at: super::COMPACT_FLOOR,
            replaying: false,
        }
    }

    /// Forgets names no agent or statistic holds any more: a fresh table of
    /// names, every symbol mapped into it. Names come from the input, and
    /// agents forgotten at the cap leave theirs behind; rebuilt once the
    /// table has doubled, the cost is amortized O(1) per name.
    fn compact_names(&mut self) {
        let old = std::mem::take(&mut self.names);
        let mut names = Interner::default();
        self.stats = self.stats.renamed(&old, &mut names);
        for mut moved in self.agents.take_all() {
            moved.remap(|sym| names.intern(old.name(sym).as_bytes()));
            self.agents.adopt(moved);
        }
        self.names = names;
        self.compact_at = super::compact_floor(self.names.len());
    }

    /// The interned names of agents, DNs, tenants, queues and reasons.
    pub fn names(&self) -> &Interner {
        &self.names
    }

    /// The agents.
    pub fn agents(&self) -> &AgentTable {
        &self.agents
    }

    /// The agent statistics (agents by status, after-call work).
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Per input stream, where the oldest session of a logged-in agent
    /// began (see [`AgentTable::open_floors`]).
    pub fn open_floors(&self, out: &mut impl Extend<(u32, u64)>) {
        self.agents.open_floors(out);
    }

    /// Forgets the agents whose session began on one of `streams` (see
    /// [`AgentTable::release_streams`]), and their share of the statistics:
    /// how many.
    pub fn release_streams(&mut self, streams: &[u32]) -> usize {
        let released = self.agents.release_streams(streams);
        for (tenant, queue, status) in self.agents.drain_gone() {
            self.stats.forget_agent(tenant, queue, status);
        }
        released
    }

    /// What has been done.
    pub fn counters(&self) -> AgentSideCounters {
        self.counters
    }

    /// Whether the next messages come from replayed records (see
    /// [`Pipeline::replay`](crate::pipeline::Pipeline::replay)): they change
    /// the agents and the counts of agents by status, but the changes are
    /// neither counted nor added to the queues' after-call-work time again
    /// (the stream's earlier reader did that), and they write nothing.
    pub fn set_replaying(&mut self, replaying: bool) {
        self.replaying = replaying;
    }

    /// Applies one message.
    pub fn apply(&mut self, message: AgentMsg, out: &mut impl Outputs) {
        let tenant = self.names.intern(&message.tenant);
        let (at, origin) = (message.at, message.origin);
        match message.body {
            AgentBody::Op { agent, dn, queue, server, op, reason } => {
                let agent = self.names.intern(&agent);
                let dn = self.names.intern(&dn);
                let queue = self.names.intern(&queue);
                let reason = self.names.intern(&reason);
                let who = AgentRef { tenant, agent, dn, queue, server, at, origin };
                let change = self.agents.apply(who, op, reason);
                self.report(change, out);
            }
            AgentBody::Leg { dn, agent, conn, update, call_type, server } => {
                let agent = self.names.intern(&agent);
                let dn = self.names.intern(&dn);
                let who = AgentRef { tenant, agent, dn, queue: Sym::EMPTY, server, at, origin };
                let change = self.agents.leg(who, conn, update, call_type);
                self.report(change, out);
            }
            AgentBody::Sdk { agent, dn, reason, state, conn, call_type } => {
                let agent = self.names.intern(&agent);
                let dn = self.names.intern(&dn);
                let reason = self.names.intern(&reason);
                let who = AgentRef { tenant, agent, dn, queue: Sym::EMPTY, server: 0, at, origin };
                self.sdk_status(who, reason, state, conn, call_type, out);
            }
            AgentBody::LinkLost { server } => {
                self.counters.uncertain_marks += self.agents.link_lost(server) as u64;
            }
        }
        for (tenant, queue, status) in self.agents.drain_gone() {
            self.stats.forget_agent(tenant, queue, status);
        }
        if self.names.len() > self.compact_at.max(super::COMPACT_FLOOR) {
            self.compact_names();
        }
    }

    fn sdk_status(
        &mut self,
        who: AgentRef,
        reason: Sym,
        state: Option<SdkAgentState>,
        conn: u64,
        call_type: Option<SdkCallType>,
        out: &mut impl Outputs,
    ) {
        let leg_state = match state {
            Some(SdkAgentState::Calling) => Some(LegState::Dialing),
            Some(SdkAgentState::Ringing) => Some(LegState::Ringing),
            Some(SdkAgentState::Talking) => Some(LegState::Talking),
            _ => None,
        };
        match (state, leg_state) {
            (_, Some(leg_state)) => {
                let call_type = call_type
                    .map(|t| if t.is_outbound() { CallType::Outbound } else { CallType::Inbound });
                let change =
                    self.agents.leg_absolute(who, conn, LegUpdate::State(leg_state), call_type);
                self.report(change, out);
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
                let conns = self.agents.get(who.tenant, who.agent).map(AgentState::leg_conns);
                for conn in conns.unwrap_or_default() {
                    let change = self.agents.leg(who, conn, LegUpdate::Released, None);
                    self.report(change, out);
                }
            }
            (None, None) => {}
        }
    }

    fn report(&mut self, change: Option<StatusChange>, out: &mut impl Outputs) {
        let Some(change) = change else { return };
        let acw_ms = match change.previous {
            Some(AgentStatus::AfterCallWork)
                if change.status != AgentStatus::AfterCallWork && !self.replaying =>
            {
                change.at.micros_since(change.previous_since) / 1000
            }
            _ => 0,
        };
        self.stats.agent_change(&change, acw_ms);
        if !self.replaying {
            self.counters.agent_changes += 1;
            out.agent_change(&AgentChange::of(&change, &self.names));
        }
    }

    /// The agent sides of `shards` shards holding the agents of `olds`, each
    /// on the shard `owner` names (given tenant and agent names); the first
    /// gets the statistics and counters, and each side counts its own agents
    /// by status.
    pub(crate) fn reshard(
        mut olds: Vec<AgentSide>,
        config: &super::ReducerConfig,
        shards: usize,
        owner: impl Fn(&[u8], &[u8]) -> usize,
    ) -> Vec<AgentSide> {
        let shards = shards.max(1);
        let mut news: Vec<AgentSide> =
            (0..shards).map(|_| AgentSide::new(config.stats, config.agents)).collect();
        for old in &mut olds {
            for mut moved in old.agents.take_all() {
                let (tenant, agent) =
                    (old.names.name(moved.state.tenant()), old.names.name(moved.state.agent()));
                let new = &mut news[owner(tenant.as_bytes(), agent.as_bytes()).min(shards - 1)];
                moved.remap(|sym| new.names.intern(old.names.name(sym).as_bytes()));
                new.agents.adopt(moved);
            }
            let first = &mut news[0];
            first.agents.absorb_counts(&old.agents);
            let (stats, names) = (&mut first.stats, &mut first.names);
            stats.absorb(&old.stats, |sym| names.intern(old.names.name(sym).as_bytes()));
            first.counters.agent_changes += old.counters.agent_changes;
            first.counters.uncertain_marks += old.counters.uncertain_marks;
        }
        for new in &mut news {
            let agents: Vec<_> = new
                .agents
                .iter()
                .map(|state| (state.tenant(), state.queue(), state.status()))
                .collect();
            new.stats.recount_agents(agents);
        }
        news
    }

    /// Brings every agent's totals up to `at`.
    pub fn advance_all(&mut self, at: Timestamp) {
        self.agents.advance_all(at);
    }
}
