//! The call side of the reducer: call threads and orchestration interactions,
//! keyed by call, plus a copy of the DN bindings fed by every agent event so
//! that call legs are attributed to agents where they are seen. It finishes
//! call detail records itself; what agents must learn leaves as
//! [`AgentMsg`]s.

use std::borrow::Cow;

use crate::event::{
    AgentWorkMode, Attr, Category, Dialect, Event, EventKind, IvrMessage, IvrStatus, SdkEvent,
    TEvent, Timestamp, Value,
};

use crate::pipeline::Origin;

use super::Outputs;
use super::agent::{AgentOp, LegUpdate, flags};
use super::binding::Bindings;
use super::call::{CallConfig, CallDraft, CallEvent, CallTable, Name, conn_hash};
use super::dedupe::Dedupe;
use super::interaction::{
    InteractionConfig, InteractionRecord, InteractionReducer, InteractionSummary,
};
use super::intern::{Interner, Sym};
use super::message::{AgentBody, AgentMsg};
use super::stats::{OVERFLOW_QUEUE, Stats, StatsConfig};

/// What the call side has done.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CallSideCounters {
    /// Events applied (duplicates excluded).
    pub events: u64,
    /// Agent or DN events that named no agent and whose DN had none bound.
    pub unattributed: u64,
    /// Call detail records emitted.
    pub call_records: u64,
    /// Orchestration interaction records emitted.
    pub interaction_records: u64,
}

/// Call threads and interactions of the records routed to one place.
///
/// It can be saved and loaded with serde (a checkpoint) between events: what
/// is only in flight during an event (drafts, finished records) is not kept.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct CallSide {
    names: Interner,
    bindings: Bindings,
    calls: CallTable,
    interactions: InteractionReducer,
    stats: Stats,
    dedupe: Dedupe,
    watermark: Timestamp,
    counters: CallSideCounters,
    #[serde(skip)]
    drafts: Vec<CallDraft>,
    #[serde(skip)]
    finished_interactions: Vec<InteractionRecord>,
    /// Whether this side counts what it applies (off for the copies of
    /// broadcast agent events that another shard counts).
    #[serde(skip, default = "counting_by_default")]
    counting: bool,
    /// Whether the next events are replayed: their earlier reader wrote and
    /// counted the records they complete.
    #[serde(skip)]
    replaying: bool,
    duplicates: u64,
    /// The calls that were waiting when the input ended and open threads
    /// were flushed: (tenant, queue, since). Statistics written after the end
    /// still show them.
    #[serde(skip)]
    waiting_at_end: Vec<(Sym, Sym, Timestamp)>,
    /// The interned names are rebuilt from what is still held once they
    /// pass this many ([`super::compact_floor`]).
    #[serde(default)]
    compact_at: usize,
}

fn counting_by_default() -> bool {
    true
}

impl Default for CallSide {
    fn default() -> Self {
        CallSide::new(CallConfig::default(), InteractionConfig::default(), StatsConfig::default())
    }
}

impl CallSide {
    /// An empty call side.
    pub fn new(calls: CallConfig, interactions: InteractionConfig, stats: StatsConfig) -> CallSide {
        let mut names = Interner::default();
        let mut stats = Stats::new(stats);
        stats.set_overflow(names.intern(OVERFLOW_QUEUE.as_bytes()));
        CallSide {
            names,
            bindings: Bindings::new(calls.max_bindings),
            calls: CallTable::new(calls),
            interactions: InteractionReducer::new(interactions),
            stats,
            dedupe: Dedupe::new(calls.max_servers),
            watermark: Timestamp::default(),
            counters: CallSideCounters::default(),
            drafts: Vec::new(),
            finished_interactions: Vec::new(),
            counting: true,
            replaying: false,
            duplicates: 0,
            waiting_at_end: Vec::new(),
            compact_at: super::COMPACT_FLOOR,
        }
    }

    /// The DN bindings (which agent sits at which DN).
    pub fn bindings(&self) -> &Bindings {
        &self.bindings
    }

    /// Forgets names nothing holds any more (calls ended, bindings
    /// dropped): a fresh table of names, every symbol of the open threads,
    /// the bindings and the statistics mapped into it. Rebuilt once the
    /// table has doubled, the cost is amortized O(1) per name.
    fn compact_names(&mut self) {
        let old = std::mem::take(&mut self.names);
        let mut names = Interner::default();
        self.stats = self.stats.renamed(&old, &mut names);
        for mut moved in self.calls.take_threads() {
            moved.remap(|sym| names.intern(old.name(sym).as_bytes()));
            self.calls.adopt(moved);
        }
        self.bindings = self.bindings.remapped(|sym| names.intern(old.name(sym).as_bytes()));
        self.names = names;
        self.compact_at = super::compact_floor(self.names.len());
    }

    /// Whether the next events are counted (the pipeline turns this off for
    /// the copies of an agent event that every shard applies for its bindings).
    pub fn set_counting(&mut self, counting: bool) {
        self.counting = counting;
    }

    /// Whether the next events are replayed (see
    /// [`Pipeline::replay`](crate::pipeline::Pipeline::replay)): the call and
    /// interaction records they complete are dropped, neither written nor
    /// counted, since the stream's earlier reader did both.
    pub fn set_replaying(&mut self, replaying: bool) {
        self.replaying = replaying;
    }

    /// The open call threads.
    pub fn calls(&self) -> &CallTable {
        &self.calls
    }

    /// Calls waiting in a queue, `(tenant, queue, since)`: now, or, once
    /// [`CallSide::finish`] has flushed the open threads, when the input ended.
    pub fn waiting(&self) -> impl Iterator<Item = (Sym, Sym, Timestamp)> + '_ {
        self.calls.waiting().chain(self.waiting_at_end.iter().copied())
    }

    /// This side's interned names (tenants, DNs, queues).
    pub fn names(&self) -> &Interner {
        &self.names
    }

    /// The call statistics (answered, abandoned, waits, handle time).
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Orchestration results so far.
    pub fn interactions(&self) -> &InteractionSummary {
        self.interactions.summary()
    }

    /// The latest event time seen.
    pub fn watermark(&self) -> Timestamp {
        self.watermark
    }

    /// Per input stream, the position of the first event of the oldest call
    /// thread that has no record yet: a source must not commit at or past it,
    /// or a crash loses that call (the events before the commit are not read
    /// again). Streams with no open thread are not listed.
    pub fn open_floors(&self, out: &mut impl Extend<(u32, u64)>) {
        self.calls.open_floors(out);
    }

    /// What has been done.
    pub fn counters(&self) -> CallSideCounters {
        self.counters
    }

    /// Events dropped as duplicates.
    pub fn duplicates(&self) -> u64 {
        self.duplicates
    }

    /// The duplicate filter (its windows and evictions).
    pub fn dedupe(&self) -> &Dedupe {
        &self.dedupe
    }

    /// Applies one event read at `origin` (its input stream, a partition or a
    /// file, and its position there; the stream is the
    /// scope in which a server's sequence numbers keep their order). What the
    /// agent side must learn is appended to `messages`; finished call and
    /// interaction records go to `out`.
    /// `owns_agents` says whether this side speaks for the agent of an agent
    /// event (in the pipeline every shard sees every agent event, for its
    /// bindings, and only the agent's owner reports it): a function of the
    /// tenant and agent.
    pub fn apply(
        &mut self,
        event: &Event<'_>,
        origin: Origin,
        ingest: Timestamp,
        messages: &mut Vec<AgentMsg>,
        out: &mut impl Outputs,
        owns_agent: impl Fn(&[u8], &[u8]) -> bool,
    ) {
        let stream = origin.source;
        let at = event.time().unwrap_or(ingest);
        self.watermark = self.watermark.max(at);
        if !self.first_sight(stream, event) {
            self.duplicates += u64::from(self.counting);
            return;
        }
        self.counters.events += u64::from(self.counting);
        let message =
            |body| AgentMsg { tenant: Name::from_slice(event.tenant()), at, origin, body };
        match event.kind() {
            EventKind::TLib(tevent) => match tevent.category() {
                Category::Agent | Category::Dn => {
                    if let Some(body) = self.agent_event(event, tevent, &owns_agent) {
                        messages.push(message(body));
                    }
                }
                Category::Call => self.call_event(event, origin, tevent, at, messages),
                Category::Session | Category::Interaction => {
                    if tevent == TEvent::LinkDisconnected {
                        messages.push(message(AgentBody::LinkLost { server: server_hash(event) }));
                    }
                }
            },
            EventKind::Sdk(SdkEvent::AgentStatus) => {
                if let Some(agent) = agent_name(event) {
                    messages.push(message(AgentBody::Sdk {
                        agent: Name::from_slice(&agent),
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
                if let (Some(op), Some(agent)) = (op, agent_name(event)) {
                    messages.push(message(AgentBody::Op {
                        agent: Name::from_slice(&agent),
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
        self.calls.poll(stream, at, &self.names, &mut self.drafts);
        self.drain(out);
        if self.names.len() > self.compact_at.max(super::COMPACT_FLOOR) {
            self.compact_names();
        }
    }

    /// Forgets the open call threads that began on `streams`, without
    /// records (see [`CallTable::release_streams`]): how many.
    pub fn release_streams(&mut self, streams: &[u32]) -> usize {
        self.calls.release_streams(streams)
    }

    /// Flushes every open call thread and interaction (end of input).
    pub fn finish(&mut self, out: &mut impl Outputs) {
        // What is open at the end is this reader's to write.
        self.replaying = false;
        self.waiting_at_end.extend(self.calls.waiting());
        self.calls.flush(&self.names, &mut self.drafts);
        self.interactions.flush(&mut self.finished_interactions);
        self.drain(out);
    }

    fn drain(&mut self, out: &mut impl Outputs) {
        if self.replaying {
            self.drafts.clear();
            self.finished_interactions.clear();
            return;
        }
        for draft in self.drafts.drain(..) {
            // Legs were attributed when seen: nothing is left to look up.
            let record = draft.finish(|_| Name::new());
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
        for record in self.finished_interactions.drain(..) {
            self.counters.interaction_records += 1;
            out.interaction_record(&record);
        }
    }

    /// Whether the event is new by (Server, EventSequenceNumber). Without a
    /// `Server` (T-Server logs rarely print it: one log is one server), the
    /// numbers are taken as the one server's of the stream.
    fn first_sight(&mut self, stream: u32, event: &Event<'_>) -> bool {
        if !matches!(event.dialect(), Dialect::Genesys | Dialect::Tlog) {
            return true;
        }
        match event.int(Attr::EventSequenceNumber) {
            Some(seq) => self.dedupe.first_sight(stream, server_hash(event), seq as u64),
            None => true,
        }
    }

    fn sym(&mut self, event: &Event<'_>, attr: Attr) -> Sym {
        match event.raw(attr) {
            Some(raw)
                if !matches!(
                    event.get(attr),
                    Some(Value::JsonEscaped(_) | Value::XmlEscaped(_))
                ) =>
            {
                self.names.intern(raw)
            }
            _ => match event.text(attr) {
                Some(text) => self.names.intern(text.as_bytes()),
                None => Sym::EMPTY,
            },
        }
    }

    /// Updates the bindings from an agent or DN event and, if this side speaks
    /// for the agent, says what it does.
    fn agent_event(
        &mut self,
        event: &Event<'_>,
        tevent: TEvent,
        owns_agent: &impl Fn(&[u8], &[u8]) -> bool,
    ) -> Option<AgentBody> {
        let tenant = self.names.intern(event.tenant());
        let dn_text = event.text(Attr::ThisDN).unwrap_or_default();
        let dn = dn_text.as_bytes();
        let agent = match agent_name(event) {
            Some(agent) => self.names.intern(&agent),
            None => match self.bindings.agent_on(tenant, dn) {
                Some(agent) => agent,
                None => {
                    self.counters.unattributed += u64::from(self.counting);
                    return None;
                }
            },
        };
        let op = agent_op(event, tevent);
        if op == AgentOp::Logout {
            self.bindings.unbind(tenant, agent, dn);
        } else {
            self.bindings.bind(tenant, agent, dn);
        }
        let agent_name = self.names.name(agent).as_bytes();
        if !owns_agent(event.tenant(), agent_name) {
            return None;
        }
        let reason = event
            .kv_text(Attr::Reasons, "ReasonCode")
            .or_else(|| event.kv_text(Attr::Extensions, "ReasonCode"))
            .map(|reason| Name::from_slice(reason.as_bytes()))
            .unwrap_or_default();
        Some(AgentBody::Op {
            agent: Name::from_slice(agent_name),
            dn: Name::from_slice(dn),
            queue: name(event, Attr::ThisQueue),
            server: server_hash(event),
            op,
            reason,
        })
    }

    fn call_event(
        &mut self,
        event: &Event<'_>,
        origin: Origin,
        tevent: TEvent,
        at: Timestamp,
        out: &mut Vec<AgentMsg>,
    ) {
        let Some(key) = event.call_key() else { return };
        let tenant = self.names.intern(event.tenant());
        let dn = self.sym(event, Attr::ThisDN);
        let queue = self.sym(event, Attr::ThisQueue);
        let agent = match unescaped(event, Attr::AgentID).filter(|id| !id.is_empty()) {
            Some(id) => self.names.intern(&id),
            None => {
                self.bindings.agent_on(tenant, self.names.name(dn).as_bytes()).unwrap_or(Sym::EMPTY)
            }
        };
        let text = |attr| event.raw(attr).filter(|raw| !raw.is_empty());
        let call = CallEvent {
            tenant,
            stream: origin.source,
            position: origin.line,
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
        let Some(effect) = self.calls.apply(&call) else { return };
        // An event without AgentID on an unbound DN still belongs to the agent
        // an earlier event of the same leg named (AgentID on ringing only).
        let agent = if agent.is_empty() { effect.agent } else { agent };
        if agent.is_empty() {
            return;
        }
        for (moved_from, moved_conn) in
            effect.moved_from.into_iter().flatten().filter(|(from, _)| *from != agent)
        {
            // The leg now belongs to another agent: it ends at the one it had
            // (found by `reducer_ops`: a stale leg kept that agent on the call).
            out.push(AgentMsg {
                tenant: Name::from_slice(event.tenant()),
                at,
                origin,
                body: AgentBody::Leg {
                    dn: Name::from_slice(self.names.name(dn).as_bytes()),
                    agent: Name::from_slice(self.names.name(moved_from).as_bytes()),
                    conn: moved_conn,
                    update: LegUpdate::Released,
                    call_type: None,
                    server: server_hash(event),
                },
            });
        }
        out.push(AgentMsg {
            tenant: Name::from_slice(event.tenant()),
            at,
            origin,
            body: AgentBody::Leg {
                dn: Name::from_slice(self.names.name(dn).as_bytes()),
                agent: Name::from_slice(self.names.name(agent).as_bytes()),
                conn: effect.conn,
                update: effect.update,
                call_type: effect.call_type,
                server: server_hash(event),
            },
        });
    }
}

impl CallSide {
    /// The call sides of `shards` shards holding what `olds` held: each
    /// open call thread goes to the shard `place` names for it (given its
    /// tenant's name), every side gets the DN bindings and every duplicate
    /// window, and the first one the statistics and counters.
    ///
    /// Orchestration interactions go to the shard `place_interaction` names
    /// for their (tenant, interaction id).
    pub(crate) fn reshard(
        mut olds: Vec<CallSide>,
        config: &super::ReducerConfig,
        shards: usize,
        mut place: impl FnMut(&[u8], &super::call::MovedThread) -> usize,
        place_interaction: impl FnMut(&[u8], &[u8]) -> usize,
    ) -> Vec<CallSide> {
        let shards = shards.max(1);
        let interactions = olds
            .iter_mut()
            .map(|side| {
                std::mem::replace(
                    &mut side.interactions,
                    InteractionReducer::new(config.interactions),
                )
            })
            .collect();
        let interactions = InteractionReducer::reshard(
            interactions,
            config.interactions,
            shards,
            place_interaction,
        );
        let mut news: Vec<CallSide> = (0..shards)
            .map(|_| CallSide::new(config.calls, config.interactions, config.stats))
            .collect();
        for old in &mut olds {
            for mut moved in old.calls.take_threads() {
                let tenant = old.names.name(moved.tenant()).as_bytes();
                let new = &mut news[place(tenant, &moved).min(shards - 1)];
                moved.remap(|sym| new.names.intern(old.names.name(sym).as_bytes()));
                new.calls.adopt(moved);
            }
            for (index, new) in news.iter_mut().enumerate() {
                new.calls.absorb_clocks(&old.calls, index == 0);
                new.dedupe.absorb(&old.dedupe, index == 0);
                new.watermark = new.watermark.max(old.watermark);
            }
            let first = &mut news[0];
            let (stats, names) = (&mut first.stats, &mut first.names);
            stats.absorb(&old.stats, |sym| names.intern(old.names.name(sym).as_bytes()));
            let counters = &mut first.counters;
            counters.events += old.counters.events;
            counters.unattributed += old.counters.unattributed;
            counters.call_records += old.counters.call_records;
            counters.interaction_records += old.counters.interaction_records;
            first.duplicates += old.duplicates;
        }
        // Every side keeps the same bindings (every agent event reaches all).
        if let Some(old) = olds.first() {
            for new in &mut news {
                let names = &mut new.names;
                new.bindings =
                    old.bindings.remapped(|sym| names.intern(old.names.name(sym).as_bytes()));
            }
        }
        for (new, interactions) in news.iter_mut().zip(interactions) {
            new.interactions = interactions;
        }
        news
    }
}

/// The value of `attr` as the name it stands for: the bytes as sent, or, for
/// a value written with JSON or XML escapes, its unescaped text. Names are
/// keys: `"a\u0031"` and `"a1"` are one agent.
fn unescaped<'a>(event: &Event<'a>, attr: Attr) -> Option<Cow<'a, [u8]>> {
    match event.get(attr)? {
        Value::JsonEscaped(_) | Value::XmlEscaped(_) => {
            event.text(attr).map(|text| Cow::Owned(text.into_owned().into_bytes()))
        }
        _ => event.raw(attr).map(Cow::Borrowed),
    }
}

/// The agent an agent event is about ([`Event::agent_key`], its attribute
/// unescaped): the record key's ID, else AgentID, AgentNo or PortNum.
fn agent_name<'a>(event: &Event<'a>) -> Option<Cow<'a, [u8]>> {
    if event.kind().is_agent_event() {
        if let Some(id) = event.key_id() {
            return Some(Cow::Borrowed(id));
        }
    }
    [Attr::AgentID, Attr::AgentNo, Attr::PortNum]
        .into_iter()
        .find_map(|attr| unescaped(event, attr).filter(|name| !name.is_empty()))
}

/// An attribute's text as a [`Name`] (empty when absent).
fn name(event: &Event<'_>, attr: Attr) -> Name {
    event.text(attr).map(|text| Name::from_slice(text.as_bytes())).unwrap_or_default()
}

/// What a T-Library agent or DN event does to the agent's state.
fn agent_op(event: &Event<'_>, tevent: TEvent) -> AgentOp {
    let flag = |flag, on| AgentOp::Flag { flag, on };
    match tevent {
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
