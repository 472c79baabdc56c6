//! The call-thread reducer: one record per (tenant, call thread), built from the
//! per-DN event sequences of every party, emitted as a call detail record when
//! the thread's last party is released, and then freed.
//!
//! Only per-DN order is guaranteed on the wire, so the thread is a set of
//! independent per-party state machines (one per DN and connection), and every
//! field of the record is computed from them at emission with order-free
//! aggregates (minimum, sum, earliest). A thread whose parties are all released
//! lingers for a configurable span of event time before it is emitted, so a late
//! event from another DN reopens it instead of starting a second record.
//!
//! That span is measured on the clock of the input stream the thread's last
//! event came from (the latest event time read from that Kafka partition or
//! file), not on the latest time of all input: a consumer may read one
//! partition an hour ahead of another, and a global clock would emit the
//! lagging partition's threads at their first release, splitting every
//! transfer in two.
//!
//! Consultation legs join their main call through the alias index: every key,
//! ConnID and CallUUID a thread has seen maps to it, and an event whose own
//! identity is new but whose `PreviousConnID` / `TransferConnID` /
//! `ConferenceConnID` is known joins that thread.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::hash::BuildHasher;

use hashbrown::HashTable;
use rustc_hash::{FxBuildHasher, FxHashMap};
use smallvec::SmallVec;

use crate::event::{CallState, CallType, TEvent, Timestamp};
use crate::output::write_json_string;

use super::agent::{LegState, LegUpdate, push_int};
use super::floors::StreamFloors;
use super::intern::{Interner, Sym};

/// How a call ended (PROTOCOLS.md "Call detail record").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// A party other than the caller answered (for outbound calls: the far end).
    Answered,
    /// The caller left while queued or at a routing point.
    AbandonedInQueue,
    /// The caller left while an agent's phone rang.
    AbandonedRinging,
    /// The destination was busy.
    Busy,
    /// Nobody answered.
    NoAnswer,
    /// Anything else (errors, unanswered with no reason).
    Failed,
}

impl Outcome {
    /// The name used in outputs.
    pub const fn name(self) -> &'static str {
        match self {
            Outcome::Answered => "Answered",
            Outcome::AbandonedInQueue => "AbandonedInQueue",
            Outcome::AbandonedRinging => "AbandonedRinging",
            Outcome::Busy => "Busy",
            Outcome::NoAnswer => "NoAnswer",
            Outcome::Failed => "Failed",
        }
    }
}

/// A call detail record (PROTOCOLS.md), owned: one allocation set per call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallRecord {
    /// The tenant.
    pub tenant: String,
    /// The call thread.
    pub call: String,
    /// The type of the main call.
    pub call_type: CallType,
    /// Calling number.
    pub ani: Option<String>,
    /// Called number.
    pub dnis: Option<String>,
    /// The first event's time.
    pub started: Timestamp,
    /// When the last party was released; `None` when flushed open.
    pub ended: Option<Timestamp>,
    /// How it ended.
    pub outcome: Outcome,
    /// The first queue or routing point it waited in.
    pub queue: Option<String>,
    /// Agents connected in the thread, in the order they first connected.
    pub agents: Vec<String>,
    /// Queue entry to the first ringing at an agent (or to the abandon).
    pub queue_ms: i64,
    /// Time agents' phones rang, summed over agents.
    pub ring_ms: i64,
    /// Time agent legs were connected, excluding hold.
    pub talk_ms: i64,
    /// Time agent legs were on hold.
    pub hold_ms: i64,
    /// Completed single-step and two-step transfers.
    pub transfers: u32,
    /// Whether a conference was made.
    pub conference: bool,
    /// Events applied to the thread (duplicates excluded).
    pub events: u32,
    /// Queue entry to answer (answered calls) or to the end (others), for
    /// service level and speed of answer; not part of the NDJSON record.
    pub wait_ms: Option<i64>,
}

impl CallRecord {
    /// Writes the record as one NDJSON line, keys in PROTOCOLS.md order.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        let text = |out: &mut Vec<u8>, value: &Option<String>| match value {
            Some(value) => write_json_string(out, value.as_bytes()),
            None => out.extend_from_slice(b"null"),
        };
        out.extend_from_slice(b"{\"tenant\":");
        write_json_string(out, self.tenant.as_bytes());
        out.extend_from_slice(b",\"call\":");
        write_json_string(out, self.call.as_bytes());
        out.extend_from_slice(b",\"type\":\"");
        out.extend_from_slice(call_type_name(self.call_type).as_bytes());
        out.extend_from_slice(b"\",\"ani\":");
        text(out, &self.ani);
        out.extend_from_slice(b",\"dnis\":");
        text(out, &self.dnis);
        out.extend_from_slice(b",\"started\":\"");
        self.started.write_rfc3339(out);
        out.extend_from_slice(b"\",\"ended\":");
        match self.ended {
            Some(ended) => {
                out.push(b'"');
                ended.write_rfc3339(out);
                out.push(b'"');
            }
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"outcome\":\"");
        out.extend_from_slice(self.outcome.name().as_bytes());
        out.extend_from_slice(b"\",\"queue\":");
        text(out, &self.queue);
        out.extend_from_slice(b",\"agents\":[");
        for (i, agent) in self.agents.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_json_string(out, agent.as_bytes());
        }
        for (name, value) in [
            ("],\"queue_ms\":", self.queue_ms),
            (",\"ring_ms\":", self.ring_ms),
            (",\"talk_ms\":", self.talk_ms),
            (",\"hold_ms\":", self.hold_ms),
            (",\"transfers\":", i64::from(self.transfers)),
        ] {
            out.extend_from_slice(name.as_bytes());
            push_int(out, value);
        }
        out.extend_from_slice(b",\"conference\":");
        out.extend_from_slice(if self.conference { b"true" } else { b"false" });
        out.extend_from_slice(b",\"events\":");
        push_int(out, i64::from(self.events));
        out.extend_from_slice(b"}\n");
    }
}

/// The output name of a call type (`Other` codes print as `Unknown`).
fn call_type_name(call_type: CallType) -> &'static str {
    match call_type {
        CallType::Other(_) => "Unknown",
        known => known.name(),
    }
}

/// A short owned name (tenant, DN, agent) that needs no heap up to 16 bytes:
/// what travels between the call side and the agent side (kept small because
/// messages are moved several times on their way).
pub type Name = SmallVec<[u8; 16]>;

/// One phone leg of a finished call thread, for the agent side to attribute.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DraftLeg {
    /// The DN.
    pub dn: Name,
    /// The connection hash.
    pub conn: u64,
    /// The agent named on the leg's own events (AgentID), empty if none.
    pub agent: Name,
    /// When the leg was answered.
    pub answered: Option<Timestamp>,
    /// Ringing time (µs).
    pub ring_us: i64,
    /// Talk time excluding hold (µs).
    pub talk_us: i64,
    /// Hold time (µs).
    pub hold_us: i64,
}

/// A finished (or flushed) call thread: the record without the fields that
/// depend on which agent sat at each DN, plus the legs to work them out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallDraft {
    /// The record, with `agents` empty and ring/talk/hold zero.
    pub record: CallRecord,
    /// The phone legs.
    pub legs: Vec<DraftLeg>,
}

impl CallDraft {
    /// Completes the record: `agent_of(leg)` is called once per leg and names
    /// the agent the DN's binding gave it (empty for none); a leg's own AgentID
    /// wins. Only agent legs count towards `agents`, ring, talk and hold.
    pub fn finish(mut self, mut agent_of: impl FnMut(&DraftLeg) -> Name) -> CallRecord {
        let mut answered: SmallVec<[(Timestamp, String); 4]> = SmallVec::new();
        let (mut ring, mut talk, mut hold) = (0, 0, 0);
        for leg in &self.legs {
            let bound = agent_of(leg);
            let agent = if leg.agent.is_empty() { bound } else { leg.agent.clone() };
            if agent.is_empty() {
                continue;
            }
            ring = leg.ring_us.saturating_add(ring);
            talk = leg.talk_us.saturating_add(talk);
            hold = leg.hold_us.saturating_add(hold);
            if let Some(at) = leg.answered {
                answered.push((at, String::from_utf8_lossy(&agent).into_owned()));
            }
        }
        // Ties (two legs answered in the same instant) go by name, so the order
        // never depends on arrival order.
        answered.sort();
        for (_, agent) in answered {
            if !self.record.agents.contains(&agent) {
                self.record.agents.push(agent);
            }
        }
        self.record.ring_ms = ring / 1000;
        self.record.talk_ms = talk / 1000;
        self.record.hold_ms = hold / 1000;
        self.record
    }
}

/// What a party is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
enum PartyKind {
    /// An ACD queue, routing point or virtual queue.
    Queue,
    /// A phone: an agent's, or any monitored DN.
    Leg,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
enum PartyState {
    Idle,
    Queued,
    Dialing,
    Ringing,
    Talking,
    Held,
    Released,
}

/// One DN's part in the thread, on one connection.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
struct Party {
    dn: Sym,
    agent: Sym,
    /// The queue name this party reported (ThisQueue, else its DN).
    queue: Sym,
    conn: u64,
    kind: PartyKind,
    state: PartyState,
    originator: bool,
    consult: bool,
    abandoned: bool,
    busy: bool,
    no_answer: bool,
    /// Queue entry, or first ringing, depending on the kind.
    entered: Option<Timestamp>,
    answered: Option<Timestamp>,
    /// When the party left (released, diverted, abandoned).
    left: Option<Timestamp>,
    /// Start of the current ringing, talk or hold segment.
    segment: Timestamp,
    ring_us: i64,
    talk_us: i64,
    hold_us: i64,
}

impl Party {
    fn new(dn: Sym, conn: u64, kind: PartyKind) -> Party {
        Party {
            dn,
            agent: Sym::EMPTY,
            queue: Sym::EMPTY,
            conn,
            kind,
            state: PartyState::Idle,
            originator: false,
            consult: false,
            abandoned: false,
            busy: false,
            no_answer: false,
            entered: None,
            answered: None,
            left: None,
            // Before any time: the first event's time starts the first segment.
            segment: Timestamp(i64::MIN),
            ring_us: 0,
            talk_us: 0,
            hold_us: 0,
        }
    }

    /// Closes the current segment at `at`, or at the segment's start if `at`
    /// is earlier: a party's clock never runs backwards, so its ring, talk and
    /// hold are consecutive spans that end by the time it leaves (a release
    /// stamped before the ringing counted the ringing past the call's end —
    /// found by `reducer_ops`). Returns the time used.
    fn close_segment(&mut self, at: Timestamp) -> Timestamp {
        let at = at.max(self.segment);
        let elapsed = at.micros_since(self.segment);
        match self.state {
            PartyState::Ringing => self.ring_us = self.ring_us.saturating_add(elapsed),
            PartyState::Talking => self.talk_us = self.talk_us.saturating_add(elapsed),
            PartyState::Held => self.hold_us = self.hold_us.saturating_add(elapsed),
            _ => {}
        }
        self.segment = at;
        at
    }

    fn enter(&mut self, state: PartyState, at: Timestamp) {
        self.close_segment(at);
        self.state = state;
    }

    fn release(&mut self, at: Timestamp) {
        let at = self.close_segment(at);
        self.state = PartyState::Released;
        self.left = Some(self.left.map_or(at, |left| left.max(at)));
    }

    fn released(&self) -> bool {
        self.state == PartyState::Released
    }

    /// What an agent's leg on this party is doing, if it is on the phone.
    fn leg_state(&self) -> Option<LegState> {
        match self.state {
            PartyState::Dialing => Some(LegState::Dialing),
            PartyState::Ringing => Some(LegState::Ringing),
            PartyState::Talking => Some(LegState::Talking),
            PartyState::Held => Some(LegState::Held),
            PartyState::Idle | PartyState::Queued | PartyState::Released => None,
        }
    }
}

/// The resolved parts of a call event that the call reducer uses.
#[derive(Clone, Copy, Debug)]
pub struct CallEvent<'e> {
    /// The tenant.
    pub tenant: Sym,
    /// The input stream the event was read from (a partition, a file).
    pub stream: u32,
    /// Its position in that stream (a Kafka offset, a line).
    pub position: u64,
    /// The event.
    pub kind: TEvent,
    /// Event time.
    pub at: Timestamp,
    /// The call key (key ID, CallThreadID, CallUUID or ConnID).
    pub key: &'e [u8],
    /// ConnID, if any.
    pub conn: Option<&'e [u8]>,
    /// CallUUID, if any.
    pub uuid: Option<&'e [u8]>,
    /// PreviousConnID, TransferConnID and ConferenceConnID, if any.
    pub links: [Option<&'e [u8]>; 3],
    /// ThisDN.
    pub dn: Sym,
    /// ThisQueue.
    pub queue: Sym,
    /// The AgentID of the event, empty if none (the DN's binding is the agent
    /// side's to resolve).
    pub agent: Sym,
    /// CallType.
    pub call_type: Option<CallType>,
    /// CallState.
    pub call_state: Option<CallState>,
    /// ANI.
    pub ani: Option<&'e [u8]>,
    /// DNIS.
    pub dnis: Option<&'e [u8]>,
}

/// A change to a leg on an agent's DN, for the agent reducer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LegEffect {
    /// The connection hash of the leg.
    pub conn: u64,
    /// What happened to it.
    pub update: LegUpdate,
    /// The call type of the leg, if the event said.
    pub call_type: Option<CallType>,
    /// The agent known at the leg: this event's (AgentID or the DN's
    /// binding), else one an earlier event of the same leg named.
    pub agent: Sym,
    /// The agents the leg was attributed to before this event, with the
    /// connection each had, when this event names another agent: the leg
    /// moves, and the agent side must release it at each former agent, or
    /// that agent would show the call for ever (found by `reducer_ops`). Two
    /// when a rename merges a leg into the DN's party on the new connection:
    /// the renamed leg's agent and the merged party's.
    pub moved_from: [Option<(Sym, u64)>; 2],
}

/// Bytes saved as one byte string rather than a sequence of single bytes
/// (serde's default for `[u8]`): encoding a checkpoint copies them whole.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
struct ByteString(#[serde(with = "serde_bytes")] Box<[u8]>);

impl std::ops::Deref for ByteString {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.0
    }
}

/// The first value of a field by event time (ties keep the first seen), so
/// the record does not depend on arrival order across DNs.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
struct Earliest<T> {
    value: Option<T>,
    at: i64,
}

impl<T> Default for Earliest<T> {
    fn default() -> Self {
        Earliest { value: None, at: 0 }
    }
}

impl<T> Earliest<T> {
    fn offer(&mut self, at: Timestamp, value: impl FnOnce() -> T) {
        if self.value.is_none() || at.0 < self.at {
            self.value = Some(value());
            self.at = at.0;
        }
    }
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
struct CallThread {
    tenant: Sym,
    /// The identity shown as `call`: the key of the earliest main-call event.
    key: Earliest<ByteString>,
    /// The hashes of the aliases registered for this thread, to find and remove
    /// them when it ends (the keys themselves live once, in the index).
    aliases: SmallVec<[u64; 3]>,
    call_type: Earliest<CallType>,
    ani: Earliest<Box<str>>,
    dnis: Earliest<Box<str>>,
    started: Timestamp,
    parties: SmallVec<[Party; 2]>,
    consult_conns: SmallVec<[u64; 2]>,
    transfers: u32,
    conference: bool,
    events: u32,
    /// The table's activity count when an event last reached the thread: its
    /// version, unique across threads (so a completion entry left by an
    /// evicted thread can never match the thread that reuses its slot), and
    /// its recency for eviction.
    active: u64,
    /// The input stream and position of the event that opened the thread.
    first: (u32, u64),
    /// Its first event on each other input stream it reached (keys that
    /// split a call thread over partitions): those streams are held back
    /// there too, or a reader replaying them would rebuild part of it.
    elsewhere: SmallVec<[(u32, u64); 1]>,
}

/// Hashes bytes to a connection id (FxHash: fast, and only used to tell a
/// handful of connections of one thread apart).
pub fn conn_hash(bytes: &[u8]) -> u64 {
    FxBuildHasher.hash_one(bytes)
}

#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Alias {
    tenant: Sym,
    /// Saved as one byte string, not a sequence of bytes: a checkpoint
    /// holds millions of these.
    #[serde(with = "serde_bytes")]
    key: Box<[u8]>,
    thread: u32,
}

fn alias_hash(tenant: Sym, key: &[u8]) -> u64 {
    FxBuildHasher.hash_one((tenant, key))
}

/// The alias index as saved state: its entries in a list.
mod alias_list {
    use hashbrown::HashTable;
    use serde::{Deserialize, Deserializer, Serializer};

    use super::{Alias, alias_hash};

    pub(super) fn serialize<S: Serializer>(
        index: &HashTable<Alias>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(index.iter())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<HashTable<Alias>, D::Error> {
        let aliases = Vec::<Alias>::deserialize(deserializer)?;
        let mut index = HashTable::with_capacity(aliases.len());
        for alias in aliases {
            index.insert_unique(alias_hash(alias.tenant, &alias.key), alias, |alias| {
                alias_hash(alias.tenant, &alias.key)
            });
        }
        Ok(index)
    }
}

/// Settings of the call reducer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CallConfig {
    /// How long (event time, ms) a thread whose parties are all released waits
    /// for late events from other DNs before its record is emitted.
    pub linger_ms: i64,
    /// The most call threads kept open (per call side: per shard in the
    /// pipeline). Calls whose end never arrives (a lost EventReleased, a
    /// stream of made-up call ids) would otherwise hold memory for ever; past
    /// the cap the least recently active threads are evicted without a record
    /// and counted ([`CallTable::evicted`]).
    pub max_open: usize,
    /// The most (input stream, server) windows of sequence numbers the
    /// duplicate filter keeps (per call side; 512 bytes each). Past it the
    /// least recently seen are dropped and counted.
    pub max_servers: usize,
    /// The most DNs bound to agents (per call side). DN names come from the
    /// input: past the cap some bindings are dropped and counted
    /// ([`Bindings::new`](super::Bindings::new)).
    pub max_bindings: usize,
}

impl Default for CallConfig {
    fn default() -> Self {
        CallConfig {
            linger_ms: 2_000,
            max_open: 1_000_000,
            max_servers: 4_096,
            max_bindings: 1_000_000,
        }
    }
}

/// Every open call thread.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct CallTable {
    config: CallConfig,
    threads: Vec<Option<CallThread>>,
    free: Vec<u32>,
    /// Saved as a list of aliases, hashed again on load.
    #[serde(with = "alias_list")]
    index: HashTable<Alias>,
    /// Per input stream: its clock and the threads lingering on it.
    streams: FxHashMap<u32, StreamClock>,
    /// Per input stream: where its open threads began (position → threads).
    open_starts: StreamFloors,
    open: usize,
    /// Events applied so far: the activity clock of `CallThread::active`.
    activity: u64,
    evicted: u64,
}

/// An input stream's clock and the threads whose last event came from it.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct StreamClock {
    /// The latest event time read from the stream.
    watermark: Timestamp,
    /// Threads whose parties are all released: (when, thread, version).
    complete: BinaryHeap<Reverse<(Timestamp, u32, u64)>>,
}

impl Default for CallTable {
    fn default() -> Self {
        CallTable::new(CallConfig::default())
    }
}

impl CallTable {
    /// An empty table.
    pub fn new(config: CallConfig) -> CallTable {
        CallTable {
            config,
            threads: Vec::new(),
            free: Vec::new(),
            index: HashTable::new(),
            streams: FxHashMap::default(),
            open_starts: StreamFloors::default(),
            open: 0,
            activity: 0,
            evicted: 0,
        }
    }

    /// Threads evicted to stay within [`CallConfig::max_open`].
    pub fn evicted(&self) -> u64 {
        self.evicted
    }

    /// Open call threads.
    pub fn open(&self) -> usize {
        self.open
    }

    /// Per input stream, the position of the first event of its oldest open
    /// thread (see [`CallSide::open_floors`](super::CallSide::open_floors)).
    pub fn open_floors(&self, out: &mut impl Extend<(u32, u64)>) {
        self.open_starts.floors(out);
    }

    fn find(&self, tenant: Sym, key: &[u8]) -> Option<u32> {
        self.index
            .find(alias_hash(tenant, key), |alias| alias.tenant == tenant && &*alias.key == key)
            .map(|alias| alias.thread)
    }

    fn add_alias(&mut self, id: u32, key: &[u8]) {
        let Some(thread) = self.threads[id as usize].as_mut() else { return };
        let tenant = thread.tenant;
        if self
            .index
            .find(alias_hash(tenant, key), |a| a.tenant == tenant && &*a.key == key)
            .is_some()
        {
            return;
        }
        thread.aliases.push(alias_hash(tenant, key));
        self.index.insert_unique(
            alias_hash(tenant, key),
            Alias { tenant, key: key.into(), thread: id },
            |alias| alias_hash(alias.tenant, &alias.key),
        );
    }

    /// The thread of `event`, created if new; joined through links when its own
    /// identity is unknown.
    fn thread_of(&mut self, event: &CallEvent<'_>) -> u32 {
        let tenant = event.tenant;
        let own = [Some(event.key), event.conn, event.uuid];
        let keys = || own.iter().chain(event.links.iter()).flatten().enumerate();
        let found = keys().find_map(|(n, key)| Some((self.find(tenant, key)?, n)));
        let (id, indexed) = match found {
            Some((id, n)) => (id, Some(n)),
            None => (self.open_thread(event), None),
        };
        // The key that found the thread is indexed already: no second probe.
        for (n, key) in keys() {
            if Some(n) != indexed {
                self.add_alias(id, key);
            }
        }
        id
    }

    /// A new thread for `event`; when the table is full, the least recently
    /// active threads are evicted first.
    fn open_thread(&mut self, event: &CallEvent<'_>) -> u32 {
        let tenant = event.tenant;
        if self.open >= self.config.max_open.max(1) {
            self.evict();
        }
        let thread = CallThread {
            tenant,
            key: Earliest::default(),
            aliases: SmallVec::new(),
            call_type: Earliest::default(),
            ani: Earliest::default(),
            dnis: Earliest::default(),
            started: event.at,
            parties: SmallVec::new(),
            consult_conns: SmallVec::new(),
            transfers: 0,
            conference: false,
            events: 0,
            active: self.activity,
            first: (event.stream, event.position),
            elsewhere: SmallVec::new(),
        };
        self.open += 1;
        self.open_starts.hold(thread.first);
        match self.free.pop() {
            Some(id) => {
                self.threads[id as usize] = Some(thread);
                id
            }
            None => {
                self.threads.push(Some(thread));
                (self.threads.len() - 1) as u32
            }
        }
    }

    /// Applies one call event; returns the effect on the leg of `event.dn`.
    pub fn apply(&mut self, event: &CallEvent<'_>) -> Option<LegEffect> {
        let id = self.thread_of(event);
        let thread = self.threads[id as usize].as_mut()?;
        self.activity += 1;
        thread.active = self.activity;
        if event.stream != thread.first.0
            && !thread.elsewhere.iter().any(|(stream, _)| *stream == event.stream)
        {
            thread.elsewhere.push((event.stream, event.position));
            self.open_starts.hold((event.stream, event.position));
        }
        // Who had the leg before: the party on the event's own connection,
        // or, for a rename (EventPartyChanged), on the one it leaves.
        let party_agent = |thread: &CallThread, conn: u64| {
            thread
                .parties
                .iter()
                .find(|p| p.dn == event.dn && p.conn == conn && !p.released())
                .map_or(Sym::EMPTY, |p| p.agent)
        };
        let own_conn = conn_hash(event.conn.unwrap_or(event.key));
        let before_own = party_agent(thread, own_conn);
        let before_renamed = match (event.kind, event.links[0]) {
            (TEvent::PartyChanged, Some(from)) => party_agent(thread, conn_hash(from)),
            _ => Sym::EMPTY,
        };
        let effect = thread.apply(event).map(|mut effect| {
            let party = thread.parties.iter().find(|p| p.dn == event.dn && p.conn == effect.conn);
            effect.agent = party.map_or(Sym::EMPTY, |p| p.agent);
            if let LegUpdate::Renamed { from } = effect.update {
                if !before_renamed.is_empty() && before_renamed != effect.agent {
                    effect.moved_from[0] = Some((before_renamed, from));
                    // The new agent never had the leg to rename: it gets it as
                    // it is.
                    if let Some(state) = party.and_then(Party::leg_state) {
                        effect.update = LegUpdate::State(state);
                    }
                }
            }
            if !before_own.is_empty() && before_own != effect.agent {
                effect.moved_from[1] = Some((before_own, effect.conn));
            }
            effect
        });
        if let Some(at) = thread.completed_at() {
            let clock = self.streams.entry(event.stream).or_default();
            clock.complete.push(Reverse((at, id, thread.active)));
        }
        effect
    }

    /// Advances the clock of input `stream` to `at` and emits, into `out`,
    /// the records of the stream's threads complete for longer than the linger
    /// span before it.
    pub fn poll(&mut self, stream: u32, at: Timestamp, names: &Interner, out: &mut Vec<CallDraft>) {
        let clock = self.streams.entry(stream).or_default();
        clock.watermark = clock.watermark.max(at);
        let watermark = clock.watermark;
        while let Some((id, version)) = self.lingered(stream, watermark) {
            let current = self.threads[id as usize].as_ref().map(|thread| thread.active);
            if current == Some(version) {
                self.emit(id, names, out);
            }
        }
    }

    /// The next thread of `stream` whose linger ended by `watermark`, taken
    /// off its queue.
    fn lingered(&mut self, stream: u32, watermark: Timestamp) -> Option<(u32, u64)> {
        let linger = self.config.linger_ms.saturating_mul(1000);
        let complete = &mut self.streams.get_mut(&stream)?.complete;
        let &Reverse((at, id, version)) = complete.peek()?;
        if at.0.saturating_add(linger) > watermark.0 {
            return None;
        }
        complete.pop();
        Some((id, version))
    }

    /// Emits every open thread (end of input): complete ones with their end,
    /// others with `ended: None`; ordered by start time.
    pub fn flush(&mut self, names: &Interner, out: &mut Vec<CallDraft>) {
        let mut ids: Vec<u32> = (0..self.threads.len() as u32)
            .filter(|&id| self.threads[id as usize].is_some())
            .collect();
        ids.sort_by_key(|&id| self.threads[id as usize].as_ref().map(|t| t.started));
        for id in ids {
            self.emit(id, names, out);
        }
        self.streams.clear();
    }

    fn emit(&mut self, id: u32, names: &Interner, out: &mut Vec<CallDraft>) {
        if let Some(thread) = self.remove(id) {
            out.push(thread.draft(thread.completed_at(), names));
        }
    }

    /// Forgets, without a record, every thread that began on one of
    /// `streams`, lingering ones too: the streams went to another reader
    /// that reads them again from before those threads began (a Kafka
    /// partition revoked after a commit held at its oldest open call), and
    /// that reader writes them whole. How many were forgotten.
    pub fn release_streams(&mut self, streams: &[u32]) -> usize {
        let ids: Vec<u32> = (0..self.threads.len() as u32)
            .filter(|&id| {
                self.threads[id as usize].as_ref().is_some_and(|t| streams.contains(&t.first.0))
            })
            .collect();
        for &id in &ids {
            self.remove(id);
        }
        for stream in streams {
            self.streams.remove(stream);
        }
        ids.len()
    }

    /// Takes a thread out of the table, with its aliases.
    fn remove(&mut self, id: u32) -> Option<CallThread> {
        let thread = self.threads[id as usize].take()?;
        self.open -= 1;
        for &start in std::iter::once(&thread.first).chain(&thread.elsewhere) {
            self.open_starts.release(start);
        }
        self.free.push(id);
        for &hash in &thread.aliases {
            if let Ok(entry) = self.index.find_entry(hash, |alias| alias.thread == id) {
                entry.remove();
            }
        }
        Some(thread)
    }

    /// Makes room for one more thread: evicts the least recently active
    /// sixteenth of the open threads (at least one). Evicting a batch keeps the
    /// cost amortized O(1) per new thread without an ordered index: one pass
    /// over the table every `max_open / 16` new threads.
    #[cold]
    fn evict(&mut self) {
        let mut open: Vec<(u64, u32)> = (0..self.threads.len() as u32)
            .filter_map(|id| self.threads[id as usize].as_ref().map(|t| (t.active, id)))
            .collect();
        let batch = (open.len() / 16).max(1).min(open.len());
        if batch == 0 {
            return;
        }
        open.select_nth_unstable(batch - 1);
        for &(_, id) in &open[..batch] {
            if self.remove(id).is_some() {
                self.evicted += 1;
            }
        }
    }
}

impl CallThread {
    fn party(&mut self, dn: Sym, conn: u64, kind: PartyKind) -> &mut Party {
        let at = match self.parties.iter().position(|p| p.dn == dn && p.conn == conn) {
            Some(at) => at,
            None => {
                self.parties.push(Party::new(dn, conn, kind));
                self.parties.len() - 1
            }
        };
        &mut self.parties[at]
    }

    fn apply(&mut self, event: &CallEvent<'_>) -> Option<LegEffect> {
        use TEvent::*;
        let at = event.at;
        self.events += 1;
        self.started = self.started.min(at);
        let conn = conn_hash(event.conn.unwrap_or(event.key));
        let consult_event = event.call_type == Some(CallType::Consult);
        let linked = event.links[0].is_some();
        if (consult_event || (linked && matches!(event.kind, Dialing | Ringing)))
            && !self.consult_conns.contains(&conn)
        {
            self.consult_conns.push(conn);
        }
        let is_consult = self.consult_conns.contains(&conn);
        if !is_consult {
            self.key.offer(at, || ByteString(event.key.into()));
            if let Some(call_type) = event.call_type.filter(|t| *t != CallType::Unknown) {
                self.call_type.offer(at, || call_type);
            }
            if let Some(ani) = event.ani.filter(|a| !a.is_empty()) {
                self.ani.offer(at, || String::from_utf8_lossy(ani).into());
            }
            if let Some(dnis) = event.dnis.filter(|d| !d.is_empty()) {
                self.dnis.offer(at, || String::from_utf8_lossy(dnis).into());
            }
        }
        if event.dn.is_empty() {
            return None;
        }
        let leg = |update| {
            Some(LegEffect {
                conn,
                update,
                call_type: event.call_type,
                agent: Sym::EMPTY,
                moved_from: [None; 2],
            })
        };
        match event.kind {
            Queued | RouteRequest => {
                let party = self.party(event.dn, conn, PartyKind::Queue);
                party.kind = PartyKind::Queue;
                party.queue = if event.queue.is_empty() { event.dn } else { event.queue };
                party.entered = Some(party.entered.map_or(at, |t| t.min(at)));
                if party.state == PartyState::Idle {
                    party.enter(PartyState::Queued, at);
                }
                None
            }
            Diverted | RouteUsed => {
                let party = self.party(event.dn, conn, PartyKind::Queue);
                party.kind = PartyKind::Queue;
                if party.queue.is_empty() {
                    party.queue = if event.queue.is_empty() { event.dn } else { event.queue };
                }
                party.release(at);
                None
            }
            Abandoned => {
                let queue_like = !event.queue.is_empty() && event.queue == event.dn;
                let kind = if queue_like { PartyKind::Queue } else { PartyKind::Leg };
                let party = self.party(event.dn, conn, kind);
                party.abandoned = true;
                party.release(at);
                if party.kind == PartyKind::Queue {
                    return None;
                }
                self.set_agent(event, conn);
                leg(LegUpdate::Released)
            }
            Dialing => {
                let party = self.party(event.dn, conn, PartyKind::Leg);
                party.originator = true;
                party.consult = is_consult;
                party.entered.get_or_insert(at);
                party.enter(PartyState::Dialing, at);
                self.set_agent(event, conn);
                leg(LegUpdate::State(LegState::Dialing))
            }
            Ringing => {
                let party = self.party(event.dn, conn, PartyKind::Leg);
                party.consult = is_consult;
                party.entered = Some(party.entered.map_or(at, |t| t.min(at)));
                party.enter(PartyState::Ringing, at);
                self.set_agent(event, conn);
                leg(LegUpdate::State(LegState::Ringing))
            }
            Established => {
                let party = self.party(event.dn, conn, PartyKind::Leg);
                party.consult = is_consult;
                party.answered.get_or_insert(at);
                party.entered.get_or_insert(at);
                party.enter(PartyState::Talking, at);
                self.set_agent(event, conn);
                leg(LegUpdate::State(LegState::Talking))
            }
            Held => {
                let party = self.party(event.dn, conn, PartyKind::Leg);
                party.enter(PartyState::Held, at);
                self.set_agent(event, conn);
                leg(LegUpdate::State(LegState::Held))
            }
            Retrieved => {
                let party = self.party(event.dn, conn, PartyKind::Leg);
                party.enter(PartyState::Talking, at);
                self.set_agent(event, conn);
                leg(LegUpdate::State(LegState::Talking))
            }
            DestinationBusy => {
                let party = self.party(event.dn, conn, PartyKind::Leg);
                party.busy = true;
                party.release(at);
                self.set_agent(event, conn);
                leg(LegUpdate::Released)
            }
            Released => {
                let known_queue = self
                    .parties
                    .iter()
                    .any(|p| p.dn == event.dn && p.conn == conn && p.kind == PartyKind::Queue);
                let kind = if known_queue { PartyKind::Queue } else { PartyKind::Leg };
                let state = event.call_state;
                let party = self.party(event.dn, conn, kind);
                let was_ringing = party.state == PartyState::Ringing;
                match state {
                    Some(CallState::NoAnswer) => party.no_answer = true,
                    Some(CallState::Busy) => party.busy = true,
                    Some(CallState::Ok) | None if was_ringing && !party.originator => {
                        // The caller hung up while this phone rang.
                        party.abandoned = true;
                    }
                    _ => {}
                }
                party.release(at);
                if kind == PartyKind::Queue {
                    return None;
                }
                if state == Some(CallState::Transferred) && !is_consult {
                    self.transfers += 1;
                }
                if state == Some(CallState::Conferenced) {
                    self.conference = true;
                }
                self.set_agent(event, conn);
                leg(LegUpdate::Released)
            }
            PartyChanged => {
                if event.call_state == Some(CallState::Conferenced) {
                    self.conference = true;
                }
                let from = event.links[0].map(conn_hash)?;
                self.consult_conns.retain(|c| *c != conn);
                // The DN may already have a party on the new connection: the
                // leg then merges into it (the old one ends here) rather than
                // becoming a second party with the same identity, which no
                // release could ever end (found by `reducer_ops`).
                let merge =
                    from != conn && self.parties.iter().any(|p| p.dn == event.dn && p.conn == conn);
                let renamed = match self
                    .parties
                    .iter_mut()
                    .find(|p| p.dn == event.dn && p.conn == from && !p.released())
                {
                    Some(party) if merge => {
                        party.release(at);
                        true
                    }
                    Some(party) => {
                        party.conn = conn;
                        party.consult = false;
                        true
                    }
                    None => false,
                };
                if !renamed || merge {
                    let party = self.party(event.dn, conn, PartyKind::Leg);
                    party.answered.get_or_insert(at);
                    party.entered.get_or_insert(at);
                    party.enter(PartyState::Talking, at);
                }
                self.set_agent(event, conn);
                if renamed {
                    return leg(LegUpdate::Renamed { from });
                }
                leg(LegUpdate::State(LegState::Talking))
            }
            PartyAdded => {
                self.conference = true;
                None
            }
            _ => None,
        }
    }

    fn set_agent(&mut self, event: &CallEvent<'_>, conn: u64) {
        if event.agent.is_empty() {
            return;
        }
        if let Some(party) = self.parties.iter_mut().find(|p| p.dn == event.dn && p.conn == conn) {
            party.agent = event.agent;
        }
    }

    /// When every party was released, if they all are. A queue counts as left
    /// once a phone rang or answered (some switches do not report the divert).
    fn completed_at(&self) -> Option<Timestamp> {
        if self.parties.is_empty() {
            return None;
        }
        let reached_phone = self
            .parties
            .iter()
            .any(|p| p.kind == PartyKind::Leg && (p.entered.is_some() || p.answered.is_some()));
        let mut end = Timestamp(i64::MIN);
        for party in &self.parties {
            match (party.kind, party.released()) {
                (_, true) => end = end.max(party.left.unwrap_or(self.started)),
                (PartyKind::Queue, false) if reached_phone => {}
                _ => return None,
            }
        }
        Some(end.max(self.started))
    }

    fn outcome(&self) -> Outcome {
        let outbound = self.call_type.value == Some(CallType::Outbound);
        let main = || self.parties.iter().filter(|p| p.kind == PartyKind::Leg && !p.consult);
        if main().any(|p| p.answered.is_some() && (!p.originator || outbound)) {
            return Outcome::Answered;
        }
        if main().any(|p| p.abandoned && !p.originator) {
            return Outcome::AbandonedRinging;
        }
        let queued = self.parties.iter().any(|p| p.kind == PartyKind::Queue);
        let rang = main().any(|p| !p.originator && p.entered.is_some());
        if self.parties.iter().any(|p| p.kind == PartyKind::Queue && p.abandoned)
            || (queued && !rang)
        {
            return Outcome::AbandonedInQueue;
        }
        if main().any(|p| p.busy) {
            return Outcome::Busy;
        }
        if main().any(|p| p.no_answer) || rang {
            return Outcome::NoAnswer;
        }
        Outcome::Failed
    }

    /// The record, less what needs the agents (the agent side completes it with
    /// [`CallDraft::finish`]).
    fn draft(&self, ended: Option<Timestamp>, names: &Interner) -> CallDraft {
        let first_queue = self
            .parties
            .iter()
            .filter(|p| p.kind == PartyKind::Queue)
            .min_by_key(|p| p.entered.unwrap_or(Timestamp(i64::MAX)));
        let first_ring = self
            .parties
            .iter()
            .filter(|p| p.kind == PartyKind::Leg && !p.originator && !p.consult)
            .filter_map(|p| p.entered)
            .min();
        let queue_ms = match first_queue.and_then(|q| q.entered) {
            Some(entered) => {
                let until = first_ring
                    .or_else(|| {
                        self.parties
                            .iter()
                            .filter(|p| p.kind == PartyKind::Queue)
                            .filter_map(|p| p.left)
                            .max()
                    })
                    .or(ended)
                    .unwrap_or(entered);
                until.micros_since(entered) / 1000
            }
            None => 0,
        };
        let first_answer = self
            .parties
            .iter()
            .filter(|p| p.kind == PartyKind::Leg && !p.originator && !p.consult)
            .filter_map(|p| p.answered)
            .min();
        let wait_ms = first_queue.and_then(|q| q.entered).and_then(|entered| {
            let until = first_answer.or(ended)?;
            Some(until.micros_since(entered) / 1000)
        });
        let legs = self
            .parties
            .iter()
            .filter(|p| p.kind == PartyKind::Leg)
            .map(|p| DraftLeg {
                dn: Name::from_slice(names.name(p.dn).as_bytes()),
                conn: p.conn,
                agent: Name::from_slice(names.name(p.agent).as_bytes()),
                answered: p.answered,
                ring_us: p.ring_us,
                talk_us: p.talk_us,
                hold_us: p.hold_us,
            })
            .collect();
        let record = CallRecord {
            tenant: names.name(self.tenant).to_owned(),
            call: self
                .key
                .value
                .as_deref()
                .map(|key| String::from_utf8_lossy(key).into_owned())
                .unwrap_or_default(),
            call_type: self.call_type.value.unwrap_or(CallType::Unknown),
            ani: self.ani.value.as_deref().map(str::to_owned),
            dnis: self.dnis.value.as_deref().map(str::to_owned),
            started: self.started,
            ended,
            outcome: self.outcome(),
            queue: first_queue.map(|q| names.name(q.queue).to_owned()),
            agents: Vec::new(),
            queue_ms,
            ring_ms: 0,
            talk_ms: 0,
            hold_ms: 0,
            transfers: self.transfers,
            conference: self.conference,
            events: self.events,
            wait_ms,
        };
        CallDraft { record, legs }
    }

    /// The queue the call waits in now, and since when, if it is waiting.
    fn waiting(&self) -> Option<(Sym, Timestamp)> {
        let reached_phone = self.parties.iter().any(|p| p.kind == PartyKind::Leg && !p.originator);
        if reached_phone {
            return None;
        }
        self.parties
            .iter()
            .filter(|p| p.kind == PartyKind::Queue && p.state == PartyState::Queued)
            .filter_map(|p| p.entered.map(|at| (p.queue, at)))
            .min_by_key(|&(_, at)| at)
    }
}

impl CallTable {
    /// Calls waiting now: `(tenant, queue, since)` for each.
    pub fn waiting(&self) -> impl Iterator<Item = (Sym, Sym, Timestamp)> + '_ {
        self.threads.iter().flatten().filter_map(|thread| {
            thread.waiting().map(|(queue, since)| (thread.tenant, queue, since))
        })
    }
}

/// An open call thread taken out of its table, to be put in another one
/// (another shard's, when a saved state changes its shard count).
#[derive(Debug)]
pub struct MovedThread {
    thread: CallThread,
    /// Every identity the thread answers to (its aliases' keys).
    keys: Vec<Box<[u8]>>,
    /// The input stream and time it completed at, if it is lingering.
    lingering: Option<(u32, Timestamp)>,
}

impl MovedThread {
    /// The thread's tenant.
    pub fn tenant(&self) -> Sym {
        self.thread.tenant
    }

    /// Every identity the thread answers to: its key, connection ids,
    /// UUIDs and linked calls.
    pub fn keys(&self) -> impl Iterator<Item = &[u8]> {
        self.keys.iter().map(|key| &key[..])
    }

    /// The identity the thread is shown by (its earliest main-call key),
    /// else any of its identities.
    pub fn main_key(&self) -> &[u8] {
        self.thread.key.value.as_deref().or(self.keys.first().map(|key| &key[..])).unwrap_or(b"")
    }

    /// Gives every interned name a symbol of another table of names.
    pub(crate) fn remap(&mut self, mut to: impl FnMut(Sym) -> Sym) {
        let thread = &mut self.thread;
        thread.tenant = to(thread.tenant);
        for party in &mut thread.parties {
            party.dn = to(party.dn);
            party.agent = to(party.agent);
            party.queue = to(party.queue);
        }
    }
}

impl CallTable {
    /// Takes every open thread out, least recently active first, with its
    /// identities and its place in the linger queue. The table keeps its
    /// streams' clocks and its counters.
    pub(crate) fn take_threads(&mut self) -> Vec<MovedThread> {
        let mut lingering: FxHashMap<u32, (u32, Timestamp)> = FxHashMap::default();
        for (&stream, clock) in &self.streams {
            for &Reverse((at, id, version)) in &clock.complete {
                let current = self.threads.get(id as usize).and_then(Option::as_ref);
                if current.is_some_and(|thread| thread.active == version) {
                    lingering.insert(id, (stream, at));
                }
            }
        }
        let mut keys: FxHashMap<u32, Vec<Box<[u8]>>> = FxHashMap::default();
        for alias in self.index.drain() {
            keys.entry(alias.thread).or_default().push(alias.key);
        }
        let mut moved: Vec<MovedThread> = (0u32..)
            .zip(std::mem::take(&mut self.threads))
            .filter_map(|(id, thread)| {
                Some(MovedThread {
                    thread: thread?,
                    keys: keys.remove(&id).unwrap_or_default(),
                    lingering: lingering.get(&id).copied(),
                })
            })
            .collect();
        moved.sort_by_key(|moved| moved.thread.active);
        self.free.clear();
        self.open_starts.clear();
        self.open = 0;
        for clock in self.streams.values_mut() {
            clock.complete.clear();
        }
        moved
    }

    /// Puts a thread taken from another table (its names already this
    /// table's) in as the most recently active, with its identities, its
    /// start for the commit floors, and its place in the linger queue.
    pub(crate) fn adopt(&mut self, moved: MovedThread) {
        let MovedThread { mut thread, keys, lingering } = moved;
        self.activity += 1;
        thread.active = self.activity;
        thread.aliases.clear();
        let id = match self.free.pop() {
            Some(id) => id,
            None => {
                self.threads.push(None);
                (self.threads.len() - 1) as u32
            }
        };
        if let Some((stream, at)) = lingering {
            let clock = self.streams.entry(stream).or_default();
            clock.complete.push(Reverse((at, id, thread.active)));
        }
        for &start in std::iter::once(&thread.first).chain(&thread.elsewhere) {
            self.open_starts.hold(start);
        }
        self.threads[id as usize] = Some(thread);
        self.open += 1;
        for key in keys {
            self.add_alias(id, &key);
        }
    }

    /// Takes on another table's stream clocks (the later time of each) and,
    /// with `counts`, adds its eviction count.
    pub(crate) fn absorb_clocks(&mut self, other: &CallTable, counts: bool) {
        for (&stream, clock) in &other.streams {
            let mine = self.streams.entry(stream).or_default();
            mine.watermark = mine.watermark.max(clock.watermark);
        }
        if counts {
            self.evicted += other.evicted;
        }
    }
}
