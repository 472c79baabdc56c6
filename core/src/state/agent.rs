//! The agent reducer: one state machine per (tenant, agent), fed by agent
//! events of every dialect and by the call legs on the agent's DN.
//!
//! An agent's status is its highest-priority ongoing activity (PROTOCOLS.md
//! "Unified agent status"): the base state (ready, not ready, after-call work)
//! and every call leg on its DN each propose a status, and the highest wins; a
//! held leg proposes `CallOnHold`, which is how a held call hides its talk; not
//! logged in overrides everything. Time is accounted in event time per
//! activity; durations never run backwards when events arrive late.

use std::hash::BuildHasher;

use hashbrown::HashTable;
use rustc_hash::FxBuildHasher;
use smallvec::SmallVec;

use crate::event::{AgentStatus, CallType, Timestamp};
use crate::output::write_json_string;
use crate::pipeline::Origin;

use super::floors::StreamFloors;
use super::intern::{Interner, Sym};

/// The agent's own state, before call legs are considered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Base {
    /// Ready for calls.
    Ready,
    /// Not ready (with a reason code, possibly none).
    NotReady,
    /// Wrap-up after a call.
    AfterCallWork,
}

/// What a call leg on the agent's DN is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum LegState {
    /// The agent is placing the call.
    Dialing,
    /// The call rings at the agent.
    Ringing,
    /// Connected.
    Talking,
    /// Connected and on hold.
    Held,
}

/// A change to one call leg of an agent, derived from a call event on the
/// agent's DN. In a sharded pipeline this is the message a call shard sends to
/// the agent's shard.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LegUpdate {
    /// The leg is now in this state (the call type may refine the leg's type).
    State(LegState),
    /// The leg moved to another connection (transfer completion).
    Renamed {
        /// The connection it had.
        from: u64,
    },
    /// The leg ended.
    Released,
}

/// One call leg on the agent's DN (16 bytes: most agents have none or one).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct Leg {
    /// A hash of the connection (ConnID, else the call key).
    conn: u64,
    state: LegState,
    /// The call type's code (kept small; see [`CallType::from_code`]).
    call_type: i8,
    /// Whether the leg was connected at some point (a handled call when it ends).
    connected: bool,
}

impl Leg {
    fn call_type(&self) -> CallType {
        CallType::from_code(i64::from(self.call_type))
    }
}

/// An agent's call legs: nothing on the heap until the first leg.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
struct Legs(Option<Box<SmallVec<[Leg; 2]>>>);

impl Legs {
    fn iter(&self) -> std::slice::Iter<'_, Leg> {
        self.0.as_deref().map_or(&[][..], |legs| &legs[..]).iter()
    }

    fn iter_mut(&mut self) -> std::slice::IterMut<'_, Leg> {
        match self.0.as_deref_mut() {
            Some(legs) => legs.iter_mut(),
            None => [].iter_mut(),
        }
    }

    /// Adds a leg; past [`MAX_LEGS`] the oldest is dropped, and `true` says so.
    fn push(&mut self, leg: Leg) -> bool {
        let legs = self.0.get_or_insert_with(Box::default);
        let full = legs.len() >= MAX_LEGS;
        if full {
            legs.remove(0);
        }
        legs.push(leg);
        full
    }

    fn remove(&mut self, at: usize) -> Leg {
        let legs = self.0.as_deref_mut().expect("a leg at a found position");
        let leg = legs.remove(at);
        if legs.is_empty() {
            // Free the box: the agent is off the phone.
            self.0 = None;
        }
        leg
    }
}

/// The most call legs one agent keeps. A phone holds a few calls at once (one
/// talking, some held, a consultation); legs beyond that are calls whose end
/// never reached the agent (a lost EventReleased, an evicted call thread),
/// and the oldest of them goes, counted ([`AgentTable::dropped_legs`]), so a
/// stream of unended calls cannot grow one agent without bound.
pub const MAX_LEGS: usize = 16;

/// A call type as a leg stores it (unknown codes outside `i8` become Unknown).
fn type_code(call_type: CallType) -> i8 {
    i8::try_from(call_type.code()).unwrap_or(0)
}

/// DN device flags.
pub mod flags {
    /// Do not disturb.
    pub const DND: u8 = 1;
    /// Calls are forwarded.
    pub const FORWARD: u8 = 2;
    /// Muted.
    pub const MUTE: u8 = 4;
    /// The DN is out of service.
    pub const OUT_OF_SERVICE: u8 = 8;
    /// The handset is off hook.
    pub const OFF_HOOK: u8 = 16;
}

/// Indexes into [`AgentState::totals`].
mod total {
    pub(super) const LOGIN: usize = 0;
    pub(super) const READY: usize = 1;
    pub(super) const NOT_READY: usize = 2;
    pub(super) const ACW: usize = 3;
    pub(super) const RINGING: usize = 4;
    pub(super) const TALKING: usize = 5;
    pub(super) const HOLD: usize = 6;
}

/// Time per activity in microseconds, each a 48-bit count (8.9 years) in six
/// bytes: 42 bytes instead of 56 for seven `i64`s, which matters at hundreds
/// of thousands of agents. Sums saturate rather than wrap.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct Totals([[u8; 6]; 7]);

impl Totals {
    const MAX: u64 = (1 << 48) - 1;

    fn get(&self, bucket: usize) -> i64 {
        let mut word = [0u8; 8];
        word[..6].copy_from_slice(&self.0[bucket]);
        u64::from_le_bytes(word) as i64
    }

    fn add(&mut self, bucket: usize, micros: i64) {
        let sum = (self.get(bucket) as u64).saturating_add(micros.max(0) as u64).min(Self::MAX);
        self.0[bucket].copy_from_slice(&sum.to_le_bytes()[..6]);
    }
}

/// The names of the totals, in output order.
pub const TOTAL_NAMES: [&str; 7] =
    ["login", "ready", "not_ready", "acw", "ringing", "talking", "hold"];

/// The state of one agent.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct AgentState {
    tenant: Sym,
    agent: Sym,
    dn: Sym,
    queue: Sym,
    reason: Sym,
    server: u32,
    logged_in: bool,
    base: Base,
    flags: u8,
    uncertain: bool,
    status: AgentStatus,
    /// The call legs on the agent's DN; boxed because most agents, most of the
    /// time, have none (8 bytes instead of an inline slot).
    legs: Legs,
    since: Timestamp,
    /// The latest event time applied (time never runs backwards from here).
    last: Timestamp,
    calls_handled: u32,
    totals: Totals,
}

/// While an agent event has an agent logged in: per input stream, the
/// position of the first record that changed the agent since (the login on
/// its own stream, the first call leg on a call stream). The agent's state
/// is rebuilt by reading each stream again from there, so commits stop
/// there ([`AgentTable::open_floors`]). Kept beside the agents, not in
/// them: a table that does not track sessions pays nothing for them.
type SessionStarts = SmallVec<[(u32, u64); 2]>;

/// Notes `origin` in `starts` if it is the session's first record on its
/// stream.
fn note_start(starts: &mut SessionStarts, origin: Origin, sessions: &mut StreamFloors) {
    if !starts.iter().any(|(stream, _)| *stream == origin.source) {
        starts.push((origin.source, origin.line));
        sessions.hold((origin.source, origin.line));
    }
}

/// Ends the session of `key`'s agent, if it has one: its starts no longer
/// hold their streams back. (A free function: `release_streams` calls it
/// while the agent table itself is borrowed.)
fn close_session(
    by_agent: &mut rustc_hash::FxHashMap<(Sym, Sym), SessionStarts>,
    sessions: &mut StreamFloors,
    key: (Sym, Sym),
) {
    for start in by_agent.remove(&key).unwrap_or_default() {
        sessions.release(start);
    }
}

/// An agent taken out of a table ([`AgentTable::take_all`]) with its
/// session, to be put into one ([`AgentTable::adopt`]).
pub(crate) struct MovedAgent {
    pub(crate) state: AgentState,
    session: Option<SessionStarts>,
}

impl MovedAgent {
    /// Maps the agent's names into another table's (its session holds none).
    pub(crate) fn remap(&mut self, to: impl FnMut(Sym) -> Sym) {
        self.state.remap(to);
    }
}

/// A status change, as the changes output reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatusChange {
    /// The tenant.
    pub tenant: Sym,
    /// The agent.
    pub agent: Sym,
    /// The agent's queue (for statistics), empty if unknown.
    pub queue: Sym,
    /// The new status.
    pub status: AgentStatus,
    /// The status before; `None` when the agent was first seen.
    pub previous: Option<AgentStatus>,
    /// When it changed (event time).
    pub at: Timestamp,
    /// The reason code of a not-ready or after-call-work status, if any.
    pub reason: Sym,
    /// The queue the agent was counted under before (differs from `queue` when
    /// the agent moved).
    pub previous_queue: Sym,
    /// When the previous status began.
    pub previous_since: Timestamp,
}

impl StatusChange {
    /// The change that reports an agent seen for the first time (no previous
    /// status); callers fill in the status.
    fn first_seen(who: AgentRef) -> StatusChange {
        StatusChange {
            tenant: who.tenant,
            agent: who.agent,
            queue: Sym::EMPTY,
            status: AgentStatus::LoggedOut,
            previous: None,
            at: who.at,
            reason: Sym::EMPTY,
            previous_queue: Sym::EMPTY,
            previous_since: who.at,
        }
    }

    /// The change that announces `state`, an agent just created, as it
    /// stands.
    fn announcing(state: &AgentState, who: AgentRef) -> StatusChange {
        StatusChange {
            queue: state.queue,
            status: state.status,
            at: state.since,
            previous_since: state.since,
            ..StatusChange::first_seen(who)
        }
    }
}

impl AgentState {
    fn new(tenant: Sym, agent: Sym, at: Timestamp) -> AgentState {
        AgentState {
            tenant,
            agent,
            dn: Sym::EMPTY,
            queue: Sym::EMPTY,
            reason: Sym::EMPTY,
            server: 0,
            logged_in: false,
            base: Base::NotReady,
            flags: 0,
            uncertain: false,
            status: AgentStatus::LoggedOut,
            legs: Legs::default(),
            since: at,
            last: at,
            calls_handled: 0,
            totals: Totals::default(),
        }
    }

    /// The status now.
    pub fn status(&self) -> AgentStatus {
        self.status
    }

    /// The agent's DN (empty when unknown).
    pub fn dn(&self) -> Sym {
        self.dn
    }

    /// The agent's queue (empty when unknown).
    pub fn queue(&self) -> Sym {
        self.queue
    }

    /// The tenant.
    pub fn tenant(&self) -> Sym {
        self.tenant
    }

    /// The agent id.
    pub fn agent(&self) -> Sym {
        self.agent
    }

    /// When the current status began.
    pub fn since(&self) -> Timestamp {
        self.since
    }

    /// Calls this agent was connected on that have ended.
    pub fn calls_handled(&self) -> u32 {
        self.calls_handled
    }

    /// The connections of the agent's current call legs.
    pub fn leg_conns(&self) -> SmallVec<[u64; 2]> {
        self.legs.iter().map(|leg| leg.conn).collect()
    }

    /// DN flags (see [`flags`]).
    pub fn flags(&self) -> u8 {
        self.flags
    }

    /// Whether the agent's T-Server lost its link since the agent's last event.
    pub fn uncertain(&self) -> bool {
        self.uncertain
    }

    /// Milliseconds in each activity, in [`TOTAL_NAMES`] order.
    pub fn totals_ms(&self) -> [i64; 7] {
        std::array::from_fn(|bucket| self.totals.get(bucket) / 1000)
    }

    /// The reason shown with the status: the reason code of a not-ready or
    /// after-call-work status.
    pub fn reason(&self) -> Option<Sym> {
        match self.status {
            AgentStatus::NotReadyForNextCall | AgentStatus::AfterCallWork => {
                self.reason.non_empty()
            }
            _ => None,
        }
    }

    fn compute_status(&self) -> AgentStatus {
        if !self.logged_in {
            return AgentStatus::LoggedOut;
        }
        let base = match self.base {
            Base::Ready => AgentStatus::WaitForNextCall,
            Base::NotReady => AgentStatus::NotReadyForNextCall,
            Base::AfterCallWork => AgentStatus::AfterCallWork,
        };
        self.legs.iter().fold(base, |status, leg| {
            status.max(match leg.state {
                LegState::Dialing => AgentStatus::CallDialing,
                LegState::Ringing => AgentStatus::CallRinging,
                LegState::Held => AgentStatus::CallOnHold,
                LegState::Talking => AgentStatus::connected(leg.call_type()),
            })
        })
    }

    /// Accounts the time from the last event to `at` to what was going on.
    fn advance(&mut self, at: Timestamp) {
        let elapsed = at.micros_since(self.last);
        if elapsed <= 0 {
            return;
        }
        self.last = at;
        if self.logged_in {
            self.totals.add(total::LOGIN, elapsed);
        }
        let bucket = match self.status {
            AgentStatus::WaitForNextCall => Some(total::READY),
            AgentStatus::NotReadyForNextCall => Some(total::NOT_READY),
            AgentStatus::AfterCallWork => Some(total::ACW),
            _ => None,
        };
        if let Some(bucket) = bucket {
            self.totals.add(bucket, elapsed);
        }
        let any = |state| self.legs.iter().any(|leg| leg.state == state);
        let (ringing, talking, held) =
            (any(LegState::Ringing), any(LegState::Talking), any(LegState::Held));
        if ringing {
            self.totals.add(total::RINGING, elapsed);
        }
        if talking {
            self.totals.add(total::TALKING, elapsed);
        }
        if held {
            self.totals.add(total::HOLD, elapsed);
        }
    }

    /// Recomputes the status after a change made at `at`; the change, if any.
    fn settle(
        &mut self,
        at: Timestamp,
        previous_queue: Sym,
        previous_reason: Sym,
    ) -> Option<StatusChange> {
        let status = self.compute_status();
        let shown = |status, reason: Sym| match status {
            AgentStatus::NotReadyForNextCall | AgentStatus::AfterCallWork => reason,
            _ => Sym::EMPTY,
        };
        // A new reason code within not-ready is a new state (Stat Server reports
        // NotReady -> NotReady with a new reason), so it is a change too.
        let reason_changed = shown(status, self.reason) != shown(self.status, previous_reason);
        if status == self.status && previous_queue == self.queue && !reason_changed {
            return None;
        }
        let previous = self.status;
        let previous_since = self.since;
        if status != previous || reason_changed {
            self.status = status;
            self.since = at.max(self.last);
        }
        Some(StatusChange {
            previous_since,
            tenant: self.tenant,
            agent: self.agent,
            queue: self.queue,
            status,
            previous: Some(previous),
            at: self.since,
            reason: self.reason().unwrap_or(Sym::EMPTY),
            previous_queue,
        })
    }

    /// Writes the agent snapshot of PROTOCOLS.md as one NDJSON line.
    pub fn write_json(&self, names: &Interner, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"tenant\":");
        write_json_string(out, names.name(self.tenant).as_bytes());
        out.extend_from_slice(b",\"agent\":");
        write_json_string(out, names.name(self.agent).as_bytes());
        out.extend_from_slice(b",\"dn\":");
        write_optional(out, names, self.dn);
        out.extend_from_slice(b",\"status\":\"");
        out.extend_from_slice(self.status.name().as_bytes());
        out.extend_from_slice(b"\",\"reason\":");
        write_optional(out, names, self.reason().unwrap_or(Sym::EMPTY));
        out.extend_from_slice(b",\"since\":\"");
        self.since.write_rfc3339(out);
        out.extend_from_slice(b"\",\"calls_handled\":");
        push_int(out, i64::from(self.calls_handled));
        out.extend_from_slice(b",\"totals_ms\":{");
        for (i, (name, value)) in TOTAL_NAMES.iter().zip(self.totals_ms()).enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.push(b'"');
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b"\":");
            push_int(out, value);
        }
        out.extend_from_slice(b"}}\n");
    }
}

/// Writes a symbol as a JSON string, or `null` when empty.
pub(crate) fn write_optional(out: &mut Vec<u8>, names: &Interner, sym: Sym) {
    if sym.is_empty() {
        out.extend_from_slice(b"null");
    } else {
        write_json_string(out, names.name(sym).as_bytes());
    }
}

/// Appends an integer in decimal.
pub(crate) fn push_int(out: &mut Vec<u8>, value: i64) {
    let mut buf = [0u8; 20];
    let mut n = value.unsigned_abs();
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if value < 0 {
        out.push(b'-');
    }
    out.extend_from_slice(&buf[at..]);
}

fn agent_hash(tenant: Sym, agent: Sym) -> u64 {
    FxBuildHasher.hash_one((tenant, agent))
}

/// The agent table as saved state: its agents in a list.
mod agent_list {
    use hashbrown::HashTable;
    use serde::{Deserialize, Deserializer, Serializer};

    use super::{AgentState, agent_hash};

    pub(super) fn serialize<S: Serializer>(
        agents: &HashTable<AgentState>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(agents.iter())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<HashTable<AgentState>, D::Error> {
        let states = Vec::<AgentState>::deserialize(deserializer)?;
        let mut agents = HashTable::with_capacity(states.len());
        for state in states {
            agents.insert_unique(agent_hash(state.tenant, state.agent), state, |state| {
                agent_hash(state.tenant, state.agent)
            });
        }
        Ok(agents)
    }
}

/// Every agent's state.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct AgentTable {
    /// Keyed by each state's own (tenant, agent): no key stored twice.
    /// Saved as a list of states, hashed again on load.
    #[serde(with = "agent_list")]
    agents: HashTable<AgentState>,
    dropped_legs: u64,
    /// At most this many agents (at least 1).
    max_agents: usize,
    /// Agents forgotten to stay within `max_agents`.
    evicted: u64,
    /// The agents forgotten since the owner last asked: (tenant, queue,
    /// status), for the statistics to stop counting them.
    #[serde(skip)]
    gone: Vec<(Sym, Sym, AgentStatus)>,
    /// Per input stream, the positions where the sessions of logged-in
    /// agents began (with how many began there).
    sessions: StreamFloors,
    /// Whether sessions are tracked ([`with_sessions`](Self::with_sessions)).
    track_sessions: bool,
    /// The session of each agent logged in by an agent event, by (tenant,
    /// agent), while sessions are tracked.
    by_agent: rustc_hash::FxHashMap<(Sym, Sym), SessionStarts>,
}

/// What an agent event does to the agent's own state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AgentOp {
    /// Logged in on a DN, into a queue (either may be empty).
    Login,
    /// Logged in, with no ready state yet (IVR `LoggedIn`: transient).
    LoginTransient,
    /// Logged out.
    Logout,
    /// Ready.
    Ready,
    /// Not ready, with `reason` (may be empty).
    NotReady,
    /// After-call work, with `reason` (may be empty).
    AfterCallWork,
    /// A DN flag set or cleared.
    Flag {
        /// The flag (see [`flags`]).
        flag: u8,
        /// Set or cleared.
        on: bool,
    },
    /// Nothing but the binding and the time (the event only touches the agent).
    Touch,
}

/// Where an agent event comes from: who, on which DN and queue, when.
#[derive(Clone, Copy, Debug)]
pub struct AgentRef {
    /// The tenant.
    pub tenant: Sym,
    /// The agent.
    pub agent: Sym,
    /// The DN (empty if the event has none).
    pub dn: Sym,
    /// The queue (empty if the event has none).
    pub queue: Sym,
    /// A hash of the reporting server (0 if none).
    pub server: u64,
    /// Event time.
    pub at: Timestamp,
    /// The record the event comes from.
    pub origin: Origin,
}

impl Default for AgentTable {
    fn default() -> Self {
        AgentTable::new(super::AgentConfig::default().max_agents)
    }
}

impl AgentTable {
    /// An empty table keeping at most `max_agents` agents.
    pub fn new(max_agents: usize) -> AgentTable {
        AgentTable {
            agents: HashTable::new(),
            dropped_legs: 0,
            max_agents: max_agents.max(1),
            evicted: 0,
            gone: Vec::new(),
            sessions: StreamFloors::default(),
            track_sessions: false,
            by_agent: rustc_hash::FxHashMap::default(),
        }
    }

    /// While an agent event has the agent logged in (and sessions are
    /// tracked): per input stream, the position of the first record that
    /// changed it since (see [`open_floors`](Self::open_floors)); empty
    /// otherwise.
    pub fn session_starts(&self, tenant: Sym, agent: Sym) -> &[(u32, u64)] {
        self.by_agent.get(&(tenant, agent)).map_or(&[], |starts| &starts[..])
    }

    /// Ends the session of (tenant, agent), if it has one.
    fn end_session(&mut self, tenant: Sym, agent: Sym) {
        close_session(&mut self.by_agent, &mut self.sessions, (tenant, agent));
    }

    /// The table tracking agents' sessions for the commit floors
    /// ([`open_floors`](Self::open_floors)) or not (then none are held back,
    /// and an agent costs no more than its state).
    pub fn with_sessions(mut self, track: bool) -> AgentTable {
        self.track_sessions = track;
        self
    }

    /// Agents forgotten to stay within [`AgentConfig::max_agents`](super::AgentConfig::max_agents).
    pub fn evicted(&self) -> u64 {
        self.evicted
    }

    /// The agents forgotten since the last call: (tenant, queue, status).
    pub(crate) fn drain_gone(&mut self) -> std::vec::Drain<'_, (Sym, Sym, AgentStatus)> {
        self.gone.drain(..)
    }

    /// Makes room for `who`'s agent if it is new and the table is full: the
    /// least recently active sixteenth of the agents (by their latest event
    /// time; at least one) is forgotten. One pass per `max_agents / 16` new
    /// agents: amortized O(1) each.
    fn make_room(&mut self, who: &AgentRef) {
        if self.agents.len() < self.max_agents || self.get(who.tenant, who.agent).is_some() {
            return;
        }
        let mut by_age: Vec<(Timestamp, Sym, Sym)> =
            self.agents.iter().map(|state| (state.last, state.tenant, state.agent)).collect();
        let batch = (by_age.len() / 16).clamp(1, by_age.len().max(1));
        if by_age.is_empty() {
            return;
        }
        by_age.select_nth_unstable(batch - 1);
        for &(_, tenant, agent) in &by_age[..batch] {
            let found = self
                .agents
                .find_entry(agent_hash(tenant, agent), |s| s.tenant == tenant && s.agent == agent);
            if let Ok(entry) = found {
                let (state, _) = entry.remove();
                self.gone.push((state.tenant, state.queue, state.status));
                self.evicted += 1;
                self.end_session(tenant, agent);
            }
        }
    }

    /// One agent's state.
    pub fn get(&self, tenant: Sym, agent: Sym) -> Option<&AgentState> {
        self.agents.find(agent_hash(tenant, agent), |s| s.tenant == tenant && s.agent == agent)
    }

    /// Every agent.
    pub fn iter(&self) -> impl Iterator<Item = &AgentState> {
        self.agents.iter()
    }

    /// How many agents are tracked.
    pub fn len(&self) -> usize {
        self.agents.len()
    }

    /// Whether no agent is tracked.
    pub fn is_empty(&self) -> bool {
        self.agents.is_empty()
    }

    /// Call legs dropped to stay within [`MAX_LEGS`] per agent.
    pub fn dropped_legs(&self) -> u64 {
        self.dropped_legs
    }

    /// The state of `who`'s agent, created if new (`true` then). A function of
    /// the table alone, so the caller can still count into other fields.
    fn entry<'t>(
        agents: &'t mut HashTable<AgentState>,
        who: &AgentRef,
    ) -> (&'t mut AgentState, bool) {
        let mut created = false;
        let (tenant, agent) = (who.tenant, who.agent);
        let entry = agents.entry(
            agent_hash(tenant, agent),
            |s| s.tenant == tenant && s.agent == agent,
            |s| agent_hash(s.tenant, s.agent),
        );
        let state = entry.or_insert_with(|| {
            created = true;
            AgentState::new(tenant, agent, who.at)
        });
        (state.into_mut(), created)
    }

    /// Per input stream, the position of the first record that changed an
    /// agent an agent event has logged in, since that login: the state of
    /// every logged-in agent is rebuilt by reading the streams again from
    /// there, so a source commits no further. (An agent a call leg implies is
    /// logged in, with no login seen, holds nothing back; nor does what an
    /// agent did before its current session.) Streams with nothing held are
    /// not listed.
    pub fn open_floors(&self, out: &mut impl Extend<(u32, u64)>) {
        self.sessions.floors(out);
    }

    /// Applies an agent event.
    pub fn apply(&mut self, who: AgentRef, op: AgentOp, reason: Sym) -> Option<StatusChange> {
        let change = self.apply_op(who, op, reason);
        self.note_session(&who, op);
        change
    }

    /// Keeps the session of `who`'s agent after an agent event `op`: a
    /// session begins at an event that logs the agent in (a login or a
    /// ready, not-ready or after-call-work state; not a flag or a touch,
    /// which a reader starting there would apply to an agent logged out),
    /// notes the first record of each stream that changes the agent (call
    /// legs too, in `leg_with`), and ends where an agent event logs it out.
    /// (An agent with a session is logged in: only a logout or an eviction
    /// logs it out, and both end the session; so the agent's state need not
    /// be looked up again.)
    fn note_session(&mut self, who: &AgentRef, op: AgentOp) {
        if !self.track_sessions {
            return;
        }
        let key = (who.tenant, who.agent);
        match op {
            AgentOp::Logout => self.end_session(who.tenant, who.agent),
            AgentOp::Login
            | AgentOp::LoginTransient
            | AgentOp::Ready
            | AgentOp::NotReady
            | AgentOp::AfterCallWork => {
                let starts = self.by_agent.entry(key).or_default();
                note_start(starts, who.origin, &mut self.sessions);
            }
            AgentOp::Flag { .. } | AgentOp::Touch => {
                if let Some(starts) = self.by_agent.get_mut(&key) {
                    note_start(starts, who.origin, &mut self.sessions);
                }
            }
        }
    }

    fn apply_op(&mut self, who: AgentRef, op: AgentOp, reason: Sym) -> Option<StatusChange> {
        self.make_room(&who);
        let (state, created) = Self::entry(&mut self.agents, &who);
        let (previous_queue, previous_reason) = (state.queue, state.reason);
        state.advance(who.at);
        state.uncertain = false;
        if !who.dn.is_empty() {
            state.dn = who.dn;
        }
        if !who.queue.is_empty() {
            state.queue = who.queue;
        }
        if who.server != 0 {
            state.server = who.server as u32;
        }
        match op {
            AgentOp::Login => {
                if !state.logged_in {
                    state.logged_in = true;
                    state.base = Base::NotReady;
                    state.reason = Sym::EMPTY;
                }
            }
            AgentOp::LoginTransient => {
                // IVR `LoggedIn` is a step towards Ready or NotReady: login time
                // counts from here, but the status stays what was last reported
                // until the ready state arrives.
                if !state.logged_in {
                    state.logged_in = true;
                    state.base = Base::NotReady;
                    state.reason = Sym::EMPTY;
                    if !created {
                        return None;
                    }
                    // An agent first seen here is still announced, as shown
                    // (logged out): otherwise it would sit in the table, and in
                    // the snapshots, without the changes output or the
                    // statistics ever counting it (found by `reducer_ops`).
                    return Some(StatusChange::announcing(state, who));
                }
            }
            AgentOp::Logout => {
                state.logged_in = false;
                state.base = Base::NotReady;
                state.reason = Sym::EMPTY;
            }
            AgentOp::Ready => {
                state.logged_in = true;
                state.base = Base::Ready;
                state.reason = Sym::EMPTY;
            }
            AgentOp::NotReady => {
                state.logged_in = true;
                state.base = Base::NotReady;
                state.reason = reason;
            }
            AgentOp::AfterCallWork => {
                state.logged_in = true;
                state.base = Base::AfterCallWork;
                state.reason = reason;
            }
            AgentOp::Flag { flag, on } => {
                if on {
                    state.flags |= flag;
                } else {
                    state.flags &= !flag;
                }
            }
            AgentOp::Touch => {}
        }
        let change = state.settle(who.at, previous_queue, previous_reason);
        let (status, queue, since, shown_reason) =
            (state.status, state.queue, state.since, state.reason());
        if created {
            return Some(StatusChange {
                queue,
                status,
                at: since,
                previous_since: since,
                reason: shown_reason.unwrap_or(Sym::EMPTY),
                ..StatusChange::first_seen(who)
            });
        }
        change
    }

    /// Applies a call leg change to `agent` (creating the agent if unseen: a call
    /// event named it). A leg on an agent not known to be logged in implies a
    /// login: the agent is clearly at the phone.
    pub fn leg(
        &mut self,
        who: AgentRef,
        conn: u64,
        update: LegUpdate,
        call_type: Option<CallType>,
    ) -> Option<StatusChange> {
        self.leg_with(who, conn, update, call_type, false)
    }

    /// Like [`leg`](Self::leg), for dialects whose agent state is absolute (the
    /// SDK's `calling`, `ringing`, `talking`): the call replaces the agent's
    /// not-ready or after-call-work state instead of ranking against it, and
    /// the next agent state sets it anew.
    pub fn leg_absolute(
        &mut self,
        who: AgentRef,
        conn: u64,
        update: LegUpdate,
        call_type: Option<CallType>,
    ) -> Option<StatusChange> {
        self.leg_with(who, conn, update, call_type, true)
    }

    fn leg_with(
        &mut self,
        who: AgentRef,
        conn: u64,
        update: LegUpdate,
        call_type: Option<CallType>,
        absolute: bool,
    ) -> Option<StatusChange> {
        self.make_room(&who);
        let (state, created) = Self::entry(&mut self.agents, &who);
        let previous_queue = state.queue;
        state.advance(who.at);
        state.uncertain = false;
        if !who.dn.is_empty() {
            state.dn = who.dn;
        }
        if !state.logged_in && created {
            // An agent first seen on a call is at the phone: logged in, and
            // available as far as anyone knows (not ready would hide the ringing).
            state.logged_in = true;
            state.base = Base::Ready;
        }
        if absolute {
            state.logged_in = true;
            state.base = Base::Ready;
        }
        match update {
            LegUpdate::State(leg_state) => {
                match state.legs.iter_mut().find(|leg| leg.conn == conn) {
                    Some(leg) => {
                        leg.state = leg_state;
                        if let Some(call_type) = call_type.filter(|t| *t != CallType::Unknown) {
                            leg.call_type = type_code(call_type);
                        }
                        leg.connected |= leg_state == LegState::Talking;
                    }
                    None => {
                        let dropped = state.legs.push(Leg {
                            conn,
                            state: leg_state,
                            call_type: type_code(call_type.unwrap_or(CallType::Unknown)),
                            connected: leg_state == LegState::Talking,
                        });
                        self.dropped_legs += u64::from(dropped);
                    }
                }
            }
            LegUpdate::Renamed { from } => {
                let merge = from != conn && state.legs.iter().any(|leg| leg.conn == conn);
                match state.legs.iter().position(|leg| leg.conn == from) {
                    // A leg on the new connection already: the old one merges
                    // into it (one leg per connection, or a release would leave
                    // the other behind).
                    Some(at) if merge => {
                        let old = state.legs.remove(at);
                        if let Some(leg) = state.legs.iter_mut().find(|leg| leg.conn == conn) {
                            leg.state = old.state;
                            leg.connected |= old.connected;
                        }
                    }
                    Some(at) => {
                        if let Some(leg) = state.legs.iter_mut().nth(at) {
                            leg.conn = conn;
                            if let Some(call_type) = call_type.filter(|t| *t != CallType::Unknown) {
                                leg.call_type = type_code(call_type);
                            }
                        }
                    }
                    None => {}
                }
            }
            LegUpdate::Released => {
                if let Some(at) = state.legs.iter().position(|leg| leg.conn == conn) {
                    let leg = state.legs.remove(at);
                    if leg.connected && leg.call_type() != CallType::Consult {
                        state.calls_handled += 1;
                    }
                }
            }
        }
        // A leg never logs an agent in or out; it may be the session's
        // first record on its stream.
        if self.track_sessions
            && let Some(starts) = self.by_agent.get_mut(&(who.tenant, who.agent))
        {
            note_start(starts, who.origin, &mut self.sessions);
        }
        let change = state.settle(who.at, previous_queue, state.reason);
        if created {
            return Some(StatusChange::announcing(state, who));
        }
        change
    }

    /// Marks every agent last reported by `server` uncertain (its T-Server lost
    /// the switch link); each agent's next event clears the mark.
    pub fn link_lost(&mut self, server: u64) -> usize {
        let mut marked = 0;
        for state in self.agents.iter_mut().filter(|state| state.server == server as u32) {
            state.uncertain = true;
            marked += 1;
        }
        marked
    }

    /// Brings every agent's totals up to `at` (the end of input): login time runs
    /// to the agent's last event only, as PROTOCOLS.md defines it, so this only
    /// matters for callers that want totals "as of now".
    pub fn advance_all(&mut self, at: Timestamp) {
        for state in self.agents.iter_mut() {
            state.advance(at);
        }
    }
}

impl AgentState {
    /// Gives every interned name a symbol of another table of names.
    pub(crate) fn remap(&mut self, mut to: impl FnMut(Sym) -> Sym) {
        self.tenant = to(self.tenant);
        self.agent = to(self.agent);
        self.dn = to(self.dn);
        self.queue = to(self.queue);
        self.reason = to(self.reason);
    }
}

impl AgentTable {
    /// Takes every agent out (the legs dropped so far stay counted).
    /// Forgets the agents whose session began on one of `streams` (their
    /// login's stream went to another reader, which replays the session and
    /// speaks for them now): how many.
    pub fn release_streams(&mut self, streams: &[u32]) -> usize {
        let before = self.agents.len();
        let (sessions, gone, by_agent) = (&mut self.sessions, &mut self.gone, &mut self.by_agent);
        self.agents.retain(|state| {
            let key = (state.tenant, state.agent);
            let began = by_agent.get(&key).and_then(|starts| starts.first());
            if !began.is_some_and(|(stream, _)| streams.contains(stream)) {
                return true;
            }
            close_session(by_agent, sessions, key);
            gone.push((state.tenant, state.queue, state.status));
            false
        });
        before - self.agents.len()
    }

    pub(crate) fn take_all(&mut self) -> Vec<MovedAgent> {
        self.sessions = StreamFloors::default();
        let mut by_agent = std::mem::take(&mut self.by_agent);
        self.agents
            .drain()
            .map(|state| {
                let session = by_agent.remove(&(state.tenant, state.agent));
                MovedAgent { state, session }
            })
            .collect()
    }

    /// Puts in an agent taken from another table, its names already this
    /// table's (its session comes along); an agent already here is replaced.
    pub(crate) fn adopt(&mut self, moved: MovedAgent) {
        let MovedAgent { state, session } = moved;
        let (tenant, agent) = (state.tenant, state.agent);
        self.end_session(tenant, agent);
        if let Some(starts) = session {
            for &start in &starts {
                self.sessions.hold(start);
            }
            self.by_agent.insert((tenant, agent), starts);
        }
        let hash = agent_hash(tenant, agent);
        match self.agents.find_mut(hash, |s| s.tenant == tenant && s.agent == agent) {
            Some(slot) => *slot = state,
            None => {
                self.agents.insert_unique(hash, state, |s| agent_hash(s.tenant, s.agent));
            }
        }
    }

    /// Adds another table's count of dropped legs.
    pub(crate) fn absorb_counts(&mut self, other: &AgentTable) {
        self.dropped_legs += other.dropped_legs;
        self.evicted += other.evicted;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hold_hides_talk_and_consult_outranks_hold() {
        let mut names = Interner::default();
        let (tenant, agent) = (names.intern(b"t1"), names.intern(b"a1"));
        let mut table = AgentTable::default();
        let who = |at| AgentRef {
            tenant,
            agent,
            dn: Sym::EMPTY,
            queue: Sym::EMPTY,
            server: 0,
            at: Timestamp(at),
            origin: Origin::default(),
        };
        table.apply(who(0), AgentOp::Ready, Sym::EMPTY);
        let talk = LegUpdate::State(LegState::Talking);
        let change = table.leg(who(1), 1, talk, Some(CallType::Inbound)).unwrap();
        assert_eq!(change.status, AgentStatus::CallInbound);
        let change = table.leg(who(2), 1, LegUpdate::State(LegState::Held), None).unwrap();
        assert_eq!(change.status, AgentStatus::CallOnHold);
        let change = table.leg(who(3), 2, talk, Some(CallType::Consult)).unwrap();
        assert_eq!(change.status, AgentStatus::CallConsult);
        let change = table.leg(who(4), 2, LegUpdate::Released, None).unwrap();
        assert_eq!(change.status, AgentStatus::CallOnHold);
        assert_eq!(table.get(tenant, agent).unwrap().calls_handled(), 0, "consults are not calls");
        table.leg(who(5), 1, LegUpdate::Released, None);
        assert_eq!(table.get(tenant, agent).unwrap().calls_handled(), 1);
        assert_eq!(table.get(tenant, agent).unwrap().status(), AgentStatus::WaitForNextCall);
    }

    #[test]
    fn a_logged_in_agent_holds_each_stream_back_to_its_first_record_since_login() {
        let mut names = Interner::default();
        let tenant = names.intern(b"t1");
        let (a1, a2) = (names.intern(b"a1"), names.intern(b"a2"));
        let mut table = AgentTable::new(2).with_sessions(true);
        let who = |agent, stream, line| AgentRef {
            tenant,
            agent,
            dn: Sym::EMPTY,
            queue: Sym::EMPTY,
            server: 0,
            at: Timestamp(line as i64),
            origin: Origin { source: stream, line },
        };
        let floors = |table: &AgentTable| {
            let mut floors = Vec::new();
            table.open_floors(&mut floors);
            floors.sort_unstable();
            floors
        };
        let talk = LegUpdate::State(LegState::Talking);
        // A leg alone implies a login, and holds nothing back; nor does a
        // flag or a touch (a reader starting there would find a2 logged out).
        table.leg(who(a2, 1, 3), 7, talk, None);
        table.apply(who(a2, 0, 4), AgentOp::Flag { flag: 1, on: true }, Sym::EMPTY);
        table.apply(who(a2, 0, 4), AgentOp::Touch, Sym::EMPTY);
        assert_eq!(floors(&table), []);
        table.apply(who(a1, 0, 5), AgentOp::Login, Sym::EMPTY);
        table.apply(who(a1, 0, 6), AgentOp::Ready, Sym::EMPTY);
        table.leg(who(a1, 1, 9), 1, talk, Some(CallType::Inbound));
        table.leg(who(a1, 1, 12), 1, LegUpdate::Released, None);
        assert_eq!(floors(&table), [(0, 5), (1, 9)]);
        table.apply(who(a1, 0, 20), AgentOp::Logout, Sym::EMPTY);
        assert_eq!(floors(&table), []);
        // A new session; then the agent is forgotten at the cap, and with it
        // what it held back.
        table.apply(who(a1, 0, 30), AgentOp::Ready, Sym::EMPTY);
        assert_eq!(floors(&table), [(0, 30)]);
        table.apply(who(a2, 0, 31), AgentOp::Login, Sym::EMPTY);
        table.apply(who(names.intern(b"a3"), 0, 40), AgentOp::Touch, Sym::EMPTY);
        assert_eq!(table.evicted(), 1);
        assert_eq!(floors(&table), [(0, 31)], "the least recent agent, a1, went");
        // Taken out and put back (a reshard), the sessions come along.
        let moved = table.take_all();
        assert_eq!(floors(&table), []);
        for agent in moved {
            table.adopt(agent);
        }
        assert_eq!(floors(&table), [(0, 31)]);
    }
}
