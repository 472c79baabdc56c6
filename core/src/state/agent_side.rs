//! The agent side of the reducer: agents, their DN bindings, queue statistics,
//! and the finishing of call records (which agent sat at each leg).
//!
//! It applies [`AgentMsg`]s in the order of the records that caused them. Leg
//! changes name a DN; the agent on it is the call event's AgentID, else the
//! agent bound to the DN at that moment, and that attribution is remembered
//! per (DN, connection) until the call's record is finished.

use rustc_hash::FxHashMap;

use crate::event::{AgentStatus, CallType, SdkAgentState, Timestamp};

use super::Outputs;
use super::agent::{AgentOp, AgentRef, AgentState, AgentTable, LegState, LegUpdate, StatusChange};
use super::call::{CallDraft, Name};
use super::intern::{Interner, Sym};
use super::message::{AgentBody, AgentMsg};
use super::stats::{Stats, StatsConfig};

/// What the agent side has done.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AgentSideCounters {
    /// Agent or DN events that named no agent and whose DN had none bound.
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

/// Agents, bindings, statistics.
#[derive(Debug, Default)]
pub struct AgentSide {
    names: Interner,
    agents: AgentTable,
    stats: Stats,
    /// The agent attributed to each open (tenant, DN, connection) leg.
    legs: FxHashMap<(Sym, Sym, u64), Sym>,
    counters: AgentSideCounters,
}

impl AgentSide {
    /// An empty agent side.
    pub fn new(stats: StatsConfig) -> AgentSide {
        AgentSide { stats: Stats::new(stats), ..AgentSide::default() }
    }

    /// The interned names of agents, DNs, tenants, queues and reasons.
    pub fn names(&self) -> &Interner {
        &self.names
    }

    /// The agents.
    pub fn agents(&self) -> &AgentTable {
        &self.agents
    }

    /// The statistics.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// What has been done.
    pub fn counters(&self) -> AgentSideCounters {
        self.counters
    }

    /// Applies one message.
    pub fn apply(&mut self, message: AgentMsg, out: &mut impl Outputs) {
        let tenant = self.names.intern(&message.tenant);
        let at = message.at;
        match message.body {
            AgentBody::Op { agent, dn, queue, server, op, reason } => {
                let dn = self.names.intern(&dn);
                let agent = if agent.is_empty() {
                    match self.agents.agent_on(tenant, dn) {
                        Some(agent) => agent,
                        None => {
                            self.counters.unattributed += 1;
                            return;
                        }
                    }
                } else {
                    self.names.intern(&agent)
                };
                let queue = self.names.intern(&queue);
                let reason = self.names.intern(&reason);
                let who = AgentRef { tenant, agent, dn, queue, server, at };
                let change = self.agents.apply(who, op, reason);
                self.report(change, out);
            }
            AgentBody::Leg { dn, agent, conn, update, call_type, server } => {
                let dn = self.names.intern(&dn);
                let agent = if agent.is_empty() {
                    self.agents.agent_on(tenant, dn).unwrap_or(Sym::EMPTY)
                } else {
                    self.names.intern(&agent)
                };
                if let LegUpdate::Renamed { from } = update {
                    self.legs.remove(&(tenant, dn, from));
                }
                if agent.is_empty() {
                    return;
                }
                self.legs.insert((tenant, dn, conn), agent);
                let who = AgentRef { tenant, agent, dn, queue: Sym::EMPTY, server, at };
                let change = self.agents.leg(who, conn, update, call_type);
                self.report(change, out);
            }
            AgentBody::Sdk { agent, dn, reason, state, conn, call_type } => {
                let agent = self.names.intern(&agent);
                let dn = self.names.intern(&dn);
                let reason = self.names.intern(&reason);
                let who = AgentRef { tenant, agent, dn, queue: Sym::EMPTY, server: 0, at };
                self.sdk_status(who, reason, state, conn, call_type, out);
            }
            AgentBody::LinkLost { server } => {
                self.counters.uncertain_marks += self.agents.link_lost(server) as u64;
            }
            AgentBody::Draft(draft) => self.finish_draft(tenant, *draft, out),
            AgentBody::Interaction(record) => {
                self.counters.interaction_records += 1;
                out.interaction_record(&record);
            }
        }
    }

    fn sdk_status(
        &mut self,
        who: AgentRef,
        reason: Sym,
        state: Option<SdkAgentState>,
        conn: u64,
        call_type: Option<crate::event::SdkCallType>,
        out: &mut impl Outputs,
    ) {
        let leg_state = match state {
            Some(SdkAgentState::Calling) => Some(LegState::Dialing),
            Some(SdkAgentState::Ringing) => Some(LegState::Ringing),
            Some(SdkAgentState::Talking) => Some(LegState::Talking),
            _ => None,
        };
        let change = match (state, leg_state) {
            (_, Some(leg_state)) => {
                let call_type = call_type
                    .map(|t| if t.is_outbound() { CallType::Outbound } else { CallType::Inbound });
                self.agents.leg_absolute(who, conn, LegUpdate::State(leg_state), call_type)
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
                None
            }
            (None, None) => None,
        };
        self.report(change, out);
    }

    fn finish_draft(&mut self, tenant: Sym, draft: CallDraft, out: &mut impl Outputs) {
        // Every leg's attribution is forgotten here, whichever way it is named.
        let (names, legs) = (&mut self.names, &mut self.legs);
        let record = draft.finish(|leg| {
            let dn = names.intern(&leg.dn);
            match legs.remove(&(tenant, dn, leg.conn)) {
                Some(agent) => Name::from_slice(names.name(agent).as_bytes()),
                None => Name::new(),
            }
        });
        self.counters.call_records += 1;
        // A thread still open at end of input has not finished: it is reported,
        // but not counted as answered or abandoned.
        if record.ended.is_some() {
            let queue = self.names.intern(record.queue.as_deref().unwrap_or("").as_bytes());
            self.stats.call_record(tenant, queue, &record);
        }
        out.call_record(&record);
    }

    fn report(&mut self, change: Option<StatusChange>, out: &mut impl Outputs) {
        let Some(change) = change else { return };
        let acw_ms = match change.previous {
            Some(AgentStatus::AfterCallWork) if change.status != AgentStatus::AfterCallWork => {
                (change.at.0 - change.previous_since.0).max(0) / 1000
            }
            _ => 0,
        };
        self.counters.agent_changes += 1;
        self.stats.agent_change(&change, acw_ms);
        out.agent_change(&change, &self.names);
    }

    /// Brings every agent's totals up to `at`.
    pub fn advance_all(&mut self, at: Timestamp) {
        self.agents.advance_all(at);
    }
}
