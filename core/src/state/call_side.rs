//! The call side of the reducer: call threads and orchestration interactions,
//! keyed by call. It decodes nothing itself; it turns events into call state
//! and into [`AgentMsg`]s for the agent side.

use crate::event::{
    AgentWorkMode, Attr, Category, Dialect, Event, EventKind, IvrMessage, IvrStatus, SdkEvent,
    TEvent, Timestamp, Value,
};

use super::agent::{AgentOp, flags};
use super::call::{CallConfig, CallDraft, CallEvent, CallTable, Name, conn_hash};
use super::dedupe::Dedupe;
use super::interaction::{
    InteractionConfig, InteractionRecord, InteractionReducer, InteractionSummary,
};
use super::intern::{Interner, Sym};
use super::message::{AgentBody, AgentMsg};

/// Call threads and interactions of the records routed to one place.
#[derive(Debug)]
pub struct CallSide {
    names: Interner,
    calls: CallTable,
    interactions: InteractionReducer,
    dedupe: Dedupe,
    watermark: Timestamp,
    events: u64,
    drafts: Vec<CallDraft>,
    finished_interactions: Vec<InteractionRecord>,
}

impl Default for CallSide {
    fn default() -> Self {
        CallSide::new(CallConfig::default(), InteractionConfig::default())
    }
}

impl CallSide {
    /// An empty call side.
    pub fn new(calls: CallConfig, interactions: InteractionConfig) -> CallSide {
        CallSide {
            names: Interner::default(),
            calls: CallTable::new(calls),
            interactions: InteractionReducer::new(interactions),
            dedupe: Dedupe::default(),
            watermark: Timestamp::default(),
            events: 0,
            drafts: Vec::new(),
            finished_interactions: Vec::new(),
        }
    }

    /// The open call threads.
    pub fn calls(&self) -> &CallTable {
        &self.calls
    }

    /// This side's interned names (tenants, DNs, queues of the call table).
    pub fn names(&self) -> &Interner {
        &self.names
    }

    /// Orchestration results so far.
    pub fn interactions(&self) -> &InteractionSummary {
        self.interactions.summary()
    }

    /// The latest event time seen.
    pub fn watermark(&self) -> Timestamp {
        self.watermark
    }

    /// Events applied (duplicates excluded).
    pub fn events(&self) -> u64 {
        self.events
    }

    /// Events dropped as duplicates.
    pub fn duplicates(&self) -> u64 {
        self.dedupe.duplicates()
    }

    /// Applies one event; what the agent side must learn is appended to `out`.
    pub fn apply(&mut self, event: &Event<'_>, ingest: Timestamp, out: &mut Vec<AgentMsg>) {
        let at = event.time().unwrap_or(ingest);
        self.watermark = self.watermark.max(at);
        if !self.first_sight(event) {
            return;
        }
        self.events += 1;
        let tenant = Name::from_slice(event.tenant());
        let message = |body| AgentMsg { tenant: tenant.clone(), at, body };
        match event.kind() {
            EventKind::TLib(tevent) => match tevent.category() {
                Category::Agent | Category::Dn => out.push(message(agent_op(event, tevent))),
                Category::Call => self.call_event(event, tevent, at, out),
                Category::Session | Category::Interaction => {
                    if tevent == TEvent::LinkDisconnected {
                        out.push(message(AgentBody::LinkLost { server: server_hash(event) }));
                    }
                }
            },
            EventKind::Sdk(SdkEvent::AgentStatus) => {
                if let Some(agent) = event.agent_key() {
                    out.push(message(AgentBody::Sdk {
                        agent: Name::from_slice(agent),
                        dn: name(event, Attr::ThisDN),
                        reason: name(event, Attr::Reason),
                        state: event.sdk_state(),
                        conn: event.raw(Attr::MainUniqueId).map_or(0, conn_hash),
                        call_type: event.sdk_call_type(),
                    }));
                }
            }
            EventKind::Ivr(IvrMessage::AgentStatus) => {
                let op = match event.ivr_status() {
                    Some(IvrStatus::LoggedIn) => Some(AgentOp::LoginTransient),
                    Some(IvrStatus::Ready) => Some(AgentOp::Ready),
                    Some(IvrStatus::NotReady) => Some(AgentOp::NotReady),
                    Some(IvrStatus::LoggedOut | IvrStatus::Unknown) => Some(AgentOp::Logout),
                    _ => None,
                };
                if let (Some(op), Some(agent)) = (op, event.agent_key()) {
                    out.push(message(AgentBody::Op {
                        agent: Name::from_slice(agent),
                        dn: Name::new(),
                        queue: Name::new(),
                        server: 0,
                        op,
                        reason: Name::new(),
                    }));
                }
            }
            EventKind::Ors(_) => {
                self.interactions.apply(event, at);
                self.interactions.drain_finished(&mut self.finished_interactions);
            }
            EventKind::Sdk(_) | EventKind::Ivr(_) => {}
        }
        self.calls.poll(self.watermark, &self.names, &mut self.drafts);
        self.drain(out);
    }

    /// Flushes every open call thread and interaction (end of input).
    pub fn finish(&mut self, out: &mut Vec<AgentMsg>) {
        self.calls.flush(&self.names, &mut self.drafts);
        self.interactions.flush(&mut self.finished_interactions);
        self.drain(out);
    }

    fn drain(&mut self, out: &mut Vec<AgentMsg>) {
        for draft in self.drafts.drain(..) {
            let tenant = Name::from_slice(draft.record.tenant.as_bytes());
            let at = draft.record.ended.unwrap_or(draft.record.started);
            out.push(AgentMsg { tenant, at, body: AgentBody::Draft(Box::new(draft)) });
        }
        for record in self.finished_interactions.drain(..) {
            let tenant = Name::from_slice(record.tenant.as_bytes());
            let at = record.deleted.or(record.added).unwrap_or_default();
            out.push(AgentMsg { tenant, at, body: AgentBody::Interaction(Box::new(record)) });
        }
    }

    /// Whether the event is new by (Server, EventSequenceNumber). Without a
    /// `Server` (T-Server logs rarely print it: one log is one server), the
    /// numbers are taken as the one server's of the stream.
    fn first_sight(&mut self, event: &Event<'_>) -> bool {
        if !matches!(event.dialect(), Dialect::Genesys | Dialect::Tlog) {
            return true;
        }
        match event.int(Attr::EventSequenceNumber) {
            Some(seq) => self.dedupe.first_sight(server_hash(event), seq as u64),
            None => true,
        }
    }

    fn sym(&mut self, event: &Event<'_>, attr: Attr) -> Sym {
        match event.text(attr) {
            Some(text) => self.names.intern(text.as_bytes()),
            None => Sym::EMPTY,
        }
    }

    fn call_event(
        &mut self,
        event: &Event<'_>,
        tevent: TEvent,
        at: Timestamp,
        out: &mut Vec<AgentMsg>,
    ) {
        let Some(key) = event.call_key() else { return };
        let tenant = self.names.intern(event.tenant());
        let dn = self.sym(event, Attr::ThisDN);
        let queue = self.sym(event, Attr::ThisQueue);
        let agent_id = event.raw(Attr::AgentID).filter(|id| !id.is_empty());
        let agent = agent_id.map_or(Sym::EMPTY, |id| self.names.intern(id));
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
        if let Some(effect) = self.calls.apply(&call) {
            out.push(AgentMsg {
                tenant: Name::from_slice(event.tenant()),
                at,
                body: AgentBody::Leg {
                    dn: Name::from_slice(self.names.name(dn).as_bytes()),
                    agent: agent_id.map(Name::from_slice).unwrap_or_default(),
                    conn: effect.conn,
                    update: effect.update,
                    call_type: effect.call_type,
                    server: server_hash(event),
                },
            });
        }
    }
}

/// An attribute's text as a [`Name`] (empty when absent).
fn name(event: &Event<'_>, attr: Attr) -> Name {
    event.text(attr).map(|text| Name::from_slice(text.as_bytes())).unwrap_or_default()
}

/// What a T-Library agent or DN event does.
fn agent_op(event: &Event<'_>, tevent: TEvent) -> AgentBody {
    let reason = event
        .kv_text(Attr::Reasons, "ReasonCode")
        .or_else(|| event.kv_text(Attr::Extensions, "ReasonCode"))
        .map(|reason| Name::from_slice(reason.as_bytes()))
        .unwrap_or_default();
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
    AgentBody::Op {
        agent: event.agent_key().map(Name::from_slice).unwrap_or_default(),
        dn: name(event, Attr::ThisDN),
        queue: name(event, Attr::ThisQueue),
        server: server_hash(event),
        op,
        reason,
    }
}

/// A hash of the event's `Server` (0 when absent).
pub(crate) fn server_hash(event: &Event<'_>) -> u64 {
    match event.get(Attr::Server) {
        Some(Value::Int(n)) => conn_hash(&n.to_le_bytes()) | 1,
        Some(_) => event.raw(Attr::Server).map_or(0, |raw| conn_hash(raw) | 1),
        None => 0,
    }
}
