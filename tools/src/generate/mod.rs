//! `ctistream gen`: a seeded, reproducible contact center.
//!
//! Agents log in, become ready, take calls, wrap up, sometimes take a break,
//! and log out at the end; calls arrive at random (a Poisson process at
//! `rate` calls per second of simulated time) and follow the call models of
//! DOMAIN.md section 2 in realistic proportions: routed through a routing
//! point and a virtual queue to the agent who has been free longest, answered
//! (with holds), abandoned in queue or while ringing, transferred (two-step and
//! single-step), conferenced; agents also place outbound calls (answered, busy,
//! no answer). Each DN's events are written in order and DNs interleave by
//! event time, as a T-Server produces them.
//!
//! The simulation is a heap of future events: calls are generated in arrival
//! order, their events pushed ahead, and everything due before the next
//! arrival is written out, so memory holds only the calls in progress.
//! The expected outcome of every call is written too, so tests can check the
//! reducers at scale.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fmt::Write as _;
use std::io::{self, Write};
use std::time::{Duration, Instant};

use ctistream_core::{CallState, CallType, TEvent, Timestamp};

mod desktop;
mod orchestration;

/// The dialects `gen` writes (also its `--dialect` values).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum GenDialect {
    /// Keyed Voice Microservices JSON lines, as on the Kafka topics.
    Genesys,
    /// T-Server log text.
    Tlog,
    /// Orchestration Server interaction events for the routed calls (added,
    /// route request, redirect request and result, party added and
    /// established, deleted); outbound calls are not orchestrated.
    Ors,
    /// Agent desktop SDK events: each agent's status (idle, busy with a
    /// reason, wrap-up, calling, ringing, talking, offline).
    Sdk,
    /// IVR Server agent monitoring messages (LoggedIn, Ready, NotReady,
    /// LoggedOut), keyed by agent, on the agent's port.
    Ivr,
    /// Each tenant in Voice Microservices JSON or T-Server log, alternately.
    Mixed,
}

/// What to generate.
#[derive(Clone, Debug)]
pub struct GenOptions {
    /// Agents per tenant.
    pub agents: usize,
    /// Calls in all.
    pub calls: usize,
    /// The random seed (the same seed gives the same bytes).
    pub seed: u64,
    /// The output dialect.
    pub dialect: GenDialect,
    /// Tenants (`t1`, `t2`, …).
    pub tenants: usize,
    /// Calls per second of simulated time (all tenants together).
    pub rate: f64,
    /// Cut the day off at this simulated time (ms after the first login):
    /// nothing later is written, so calls in progress stay open and agents
    /// logged in, as a live feed looks when it is read mid-day. `None` runs
    /// the day to its end, every call finished and every agent logged out.
    pub until_ms: Option<i64>,
}

/// What `gen` wrote.
#[derive(Clone, Debug, Default)]
pub struct GenSummary {
    /// Events written.
    pub events: u64,
    /// Calls generated (including outbound).
    pub calls: u64,
    /// Bytes written.
    pub bytes: u64,
    /// Calls by expected outcome, in `OUTCOMES` order.
    pub outcomes: [u64; 6],
    /// Simulated time covered (ms).
    pub simulated_ms: i64,
    /// Wall time.
    pub elapsed: Duration,
}

impl GenOptions {
    /// The arrival rate that keeps `agents` agents per tenant about 85% busy:
    /// an inbound call holds an agent for about three minutes (ringing, talk,
    /// holds, after-call work and the odd break), so a tenant's agents answer
    /// `agents × 0.85 / 180` calls a second before queues grow without bound.
    #[must_use]
    pub fn staffed_rate(agents: usize, tenants: usize) -> f64 {
        (agents.max(2) * tenants.max(1)) as f64 * 0.85 / 180.0
    }
}

/// The outcome names, as call records write them.
pub const OUTCOMES: [&str; 6] =
    ["Answered", "AbandonedInQueue", "AbandonedRinging", "Busy", "NoAnswer", "Failed"];

/// The simulation clock starts at 2026-11-20T08:00:00Z.
const START_MS: i64 = 1_795_161_600_000;

/// A small, fast, seeded generator (xorshift64*).
#[derive(Clone, Debug)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `[lo, hi)`.
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % (hi - lo).max(1) as u64) as i64
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    /// Exponentially distributed with mean `mean` (ms).
    fn exponential(&mut self, mean: f64) -> i64 {
        let uniform = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        (-mean * (1.0 - uniform).ln()) as i64
    }
}

/// A party of an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Party {
    None,
    Agent(u32),
    RoutingPoint(u16),
    VirtualQueue(u16),
    Caller(u32),
    External(u32),
}

/// One event to write.
#[derive(Clone, Debug)]
struct Ev {
    t: i64,
    kind: TEvent,
    tenant: u16,
    /// The call (index), or `u32::MAX` for agent events.
    call: u32,
    /// 0: main connection; 1: consultation.
    leg: u8,
    this: Party,
    other: Party,
    third: Party,
    /// The queue of `this` (agent events: the agent's queue).
    queue: Option<u16>,
    call_type: CallType,
    call_state: Option<CallState>,
    /// Agent events: after-call work; not ready with a reason.
    acw: bool,
    reason: Option<&'static str>,
    /// Consultation events carry their main connection.
    previous: bool,
    /// The call's last event: its interaction ends here.
    ends: bool,
}

impl Ev {
    fn agent(t: i64, kind: TEvent, tenant: u16, agent: u32, queue: u16) -> Ev {
        Ev {
            t,
            kind,
            tenant,
            call: u32::MAX,
            leg: 0,
            this: Party::Agent(agent),
            other: Party::None,
            third: Party::None,
            queue: Some(queue),
            call_type: CallType::Unknown,
            call_state: None,
            acw: false,
            reason: None,
            previous: false,
            ends: false,
        }
    }

    fn call(t: i64, kind: TEvent, tenant: u16, call: u32, this: Party, call_type: CallType) -> Ev {
        Ev {
            t,
            kind,
            tenant,
            call,
            leg: 0,
            this,
            other: Party::None,
            third: Party::None,
            queue: None,
            call_type,
            call_state: None,
            acw: false,
            reason: None,
            previous: false,
            ends: false,
        }
    }
}

/// Future events, earliest first (ties in the order they were scheduled, which
/// keeps each DN's order). The heap orders small keys; the events wait in a
/// slab, so sifting moves 24 bytes rather than whole events.
#[derive(Debug, Default)]
struct Schedule {
    /// (due, scheduling order, slot).
    heap: BinaryHeap<Reverse<(i64, u64, u32)>>,
    slots: Vec<Ev>,
    free: Vec<u32>,
    order: u64,
}

impl Schedule {
    fn push(&mut self, ev: Ev) {
        self.order += 1;
        let due = ev.t;
        let slot = match self.free.pop() {
            Some(slot) => {
                self.slots[slot as usize] = ev;
                slot
            }
            None => {
                self.slots.push(ev);
                (self.slots.len() - 1) as u32
            }
        };
        self.heap.push(Reverse((due, self.order, slot)));
    }

    /// The next event due at or before `until`.
    fn pop_until(&mut self, until: i64) -> Option<Ev> {
        if self.heap.peek().is_some_and(|Reverse((due, _, _))| *due <= until) {
            let Reverse((_, _, slot)) = self.heap.pop()?;
            self.free.push(slot);
            return Some(self.slots[slot as usize].clone());
        }
        None
    }

    fn latest(&self) -> Option<i64> {
        self.heap.iter().map(|Reverse((due, _, _))| *due).max()
    }
}

/// Per tenant: agents by queue, with the time each is free.
#[derive(Debug)]
struct Tenant {
    queues: u16,
    /// (free at, agent) per queue, earliest first.
    free: Vec<BinaryHeap<Reverse<(i64, u32)>>>,
    agents: u32,
}

/// Writes the generated traffic to `out` (and the expected outcomes to
/// `expected`), calling `progress(calls)` now and then.
///
/// # Errors
/// When writing fails.
pub fn generate(
    options: &GenOptions,
    out: &mut impl Write,
    mut expected: Option<&mut dyn Write>,
    mut progress: impl FnMut(u64),
) -> io::Result<GenSummary> {
    let started = Instant::now();
    let mut rng = Rng(options.seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let tenants = options.tenants.max(1);
    let agents = options.agents.max(2) as u32;
    let queues = (agents / 25).clamp(1, 20) as u16;
    let mut world: Vec<Tenant> = (0..tenants)
        .map(|_| Tenant { queues, free: (0..queues).map(|_| BinaryHeap::new()).collect(), agents })
        .collect();
    let mut schedule = Schedule::default();
    // Logins and ready, staggered over the first minute.
    for (index, tenant) in world.iter_mut().enumerate() {
        for agent in 0..tenant.agents {
            let queue = (agent % u32::from(tenant.queues)) as u16;
            let login = rng.range(0, 60_000);
            schedule.push(Ev::agent(login, TEvent::AgentLogin, index as u16, agent, queue));
            let ready = login + rng.range(1_000, 5_000);
            schedule.push(Ev::agent(ready, TEvent::AgentReady, index as u16, agent, queue));
            tenant.free[queue as usize].push(Reverse((ready, agent)));
        }
    }
    let mut summary = GenSummary::default();
    let mut writer = Writer::new(options.dialect, options.seed);
    let mut arrival = 60_000i64;
    let mean_gap = 1000.0 / options.rate.max(0.001);
    let mut last_t = 0;
    let until = options.until_ms.unwrap_or(i64::MAX);
    for call in 0..options.calls as u32 {
        arrival += rng.exponential(mean_gap);
        if arrival > until {
            break;
        }
        // Everything due before this arrival can be written: later calls start later.
        while let Some(ev) = schedule.pop_until(arrival) {
            last_t = last_t.max(ev.t);
            summary.bytes += writer.write(&ev, out)? as u64;
        }
        let tenant = (rng.next() % tenants as u64) as u16;
        let mut events =
            simulate_call(&mut world[tenant as usize], &mut rng, tenant, call, arrival);
        mark_last(&mut events.events);
        summary.calls += 1;
        summary.outcomes[events.outcome] += 1;
        if let Some(expected) = expected.as_deref_mut() {
            writer.expected(tenant, call, &events, expected)?;
        }
        for ev in events.events {
            schedule.push(ev);
        }
        if call % 4096 == 0 {
            progress(u64::from(call));
        }
    }
    // The rest of the day: breaks end, agents log out after their last call.
    let end = schedule.latest().unwrap_or(arrival) + 60_000;
    for (index, tenant) in world.iter().enumerate().filter(|_| options.until_ms.is_none()) {
        for (queue, free) in tenant.free.iter().enumerate() {
            for Reverse((free_at, agent)) in free.iter() {
                let at = (*free_at).max(end - 30_000) + i64::from(*agent % 1000);
                schedule.push(Ev::agent(
                    at,
                    TEvent::AgentLogout,
                    index as u16,
                    *agent,
                    queue as u16,
                ));
            }
        }
    }
    while let Some(ev) = schedule.pop_until(until) {
        last_t = last_t.max(ev.t);
        summary.bytes += writer.write(&ev, out)? as u64;
    }
    summary.events = writer.records;
    progress(options.calls as u64);
    summary.simulated_ms = last_t;
    summary.elapsed = started.elapsed();
    Ok(summary)
}

/// Marks the call's last event (the latest; of equal times, the last made).
fn mark_last(events: &mut [Ev]) {
    let last = events
        .iter()
        .enumerate()
        .filter(|(_, ev)| ev.call != u32::MAX)
        .max_by_key(|(index, ev)| (ev.t, *index))
        .map(|(index, _)| index);
    if let Some(index) = last {
        events[index].ends = true;
    }
}

/// A call's events, its outcome and the agents connected.
struct CallEvents {
    events: Vec<Ev>,
    outcome: usize,
    agents: Vec<u32>,
}

/// The agent of `queue` free earliest, taken off the free list.
fn take_agent(tenant: &mut Tenant, queue: u16) -> (i64, u32) {
    let free = &mut tenant.free[queue as usize];
    free.pop().map_or((i64::MAX, 0), |Reverse(slot)| slot)
}

fn release_agent(tenant: &mut Tenant, queue: u16, agent: u32, at: i64) {
    tenant.free[queue as usize].push(Reverse((at, agent)));
}

/// Simulates one call arriving at `at`.
fn simulate_call(
    tenant: &mut Tenant,
    rng: &mut Rng,
    tenant_index: u16,
    call: u32,
    at: i64,
) -> CallEvents {
    let t = tenant_index;
    let mut events = Vec::with_capacity(16);
    let queue = (rng.next() % u64::from(tenant.queues)) as u16;
    let roll = rng.next() % 100;
    if roll < 4 {
        return outbound(tenant, rng, t, call, at, queue, events);
    }
    let caller = Party::Caller(call);
    let rp = Party::RoutingPoint(queue);
    let vq = Party::VirtualQueue(queue);
    let inbound = CallType::Inbound;
    let ev = |time, kind, this| {
        let mut e = Ev::call(time, kind, t, call, this, inbound);
        e.other = caller;
        e.queue = Some(queue);
        e
    };
    events.push(ev(at, TEvent::RouteRequest, rp));
    events.push(ev(at + rng.range(100, 400), TEvent::Queued, vq));
    let (free_at, agent) = take_agent(tenant, queue);
    let patience = rng.range(8_000, 120_000);
    let ring_at = free_at.max(at + 1_000) + rng.range(200, 800);
    if free_at == i64::MAX || ring_at - at > patience {
        // The caller gives up in the virtual queue.
        let left = at + patience;
        events.push(ev(left, TEvent::Abandoned, vq));
        events.push(ev(left + 5, TEvent::Abandoned, rp));
        if free_at != i64::MAX {
            release_agent(tenant, queue, agent, free_at);
        }
        return CallEvents { events, outcome: 1, agents: Vec::new() };
    }
    let me = Party::Agent(agent);
    let mut ringing = ev(ring_at, TEvent::Ringing, me);
    ringing.third = rp;
    events.push(ringing);
    let mut used = ev(ring_at + 10, TEvent::RouteUsed, rp);
    used.third = me;
    events.push(used);
    let mut diverted = ev(ring_at + 10, TEvent::Diverted, vq);
    diverted.third = me;
    events.push(diverted);
    let ring = rng.range(2_000, 9_000);
    if rng.chance(4) {
        events.push(ev(ring_at + ring, TEvent::Abandoned, me));
        release_agent(tenant, queue, agent, ring_at + ring + 500);
        return CallEvents { events, outcome: 2, agents: Vec::new() };
    }
    let answered = ring_at + ring;
    events.push(ev(answered, TEvent::Established, me));
    let mut now = answered + rng.range(20_000, 240_000);
    if rng.chance(20) {
        events.push(ev(now, TEvent::Held, me));
        now += rng.range(10_000, 60_000);
        events.push(ev(now, TEvent::Retrieved, me));
        now += rng.range(10_000, 60_000);
    }
    let mut agents = vec![agent];
    let transfer = rng.next() % 100;
    let other_queue = (queue + 1) % tenant.queues;
    let (other_free, other) = take_agent(tenant, other_queue);
    let other_ok = other_free != i64::MAX && other_free <= now && other != agent;
    if !(other_ok && transfer < 7) {
        if other_free != i64::MAX {
            release_agent(tenant, other_queue, other, other_free);
        }
        let mut released = ev(now, TEvent::Released, me);
        released.call_state = Some(CallState::Ok);
        events.push(released);
        wrap_up(tenant, rng, t, agent, queue, now, &mut events);
        return CallEvents { events, outcome: 0, agents };
    }
    let them = Party::Agent(other);
    agents.push(other);
    let end = if transfer < 5 {
        // Two-step transfer (3 in 5) or conference (2 in 5) through a consultation.
        let conference = transfer >= 3;
        let consult = |time, kind, this: Party| {
            let mut e = Ev::call(time, kind, t, call, this, CallType::Consult);
            e.leg = 1;
            e.previous = true;
            e.queue = Some(queue);
            e
        };
        events.push(ev(now, TEvent::Held, me));
        let mut dialing = consult(now + 300, TEvent::Dialing, me);
        dialing.other = them;
        events.push(dialing);
        let mut consult_ring = consult(now + 400, TEvent::Ringing, them);
        consult_ring.other = me;
        events.push(consult_ring);
        let talk = now + rng.range(3_000, 8_000);
        events.push(consult(talk, TEvent::Established, them));
        events.push(consult(talk, TEvent::Established, me));
        let complete = talk + rng.range(10_000, 40_000);
        let mut done = consult(complete, TEvent::Released, me);
        done.call_state =
            Some(if conference { CallState::Conferenced } else { CallState::Transferred });
        events.push(done);
        let mut changed = ev(complete, TEvent::PartyChanged, them);
        changed.previous = true;
        changed.third = me;
        if conference {
            events.push(ev(complete, TEvent::Retrieved, me));
            let mut added = ev(complete, TEvent::PartyAdded, me);
            added.other = them;
            events.push(added);
            changed.call_state = Some(CallState::Conferenced);
            events.push(changed);
            let leaves = complete + rng.range(20_000, 60_000);
            let mut released = ev(leaves, TEvent::Released, me);
            released.call_state = Some(CallState::Ok);
            events.push(released);
            wrap_up(tenant, rng, t, agent, queue, leaves, &mut events);
            leaves + rng.range(20_000, 120_000)
        } else {
            let mut released = ev(complete, TEvent::Released, me);
            released.call_state = Some(CallState::Transferred);
            events.push(released);
            changed.call_state = Some(CallState::Transferred);
            events.push(changed);
            wrap_up(tenant, rng, t, agent, queue, complete, &mut events);
            complete + rng.range(20_000, 180_000)
        }
    } else {
        // Single-step transfer.
        let mut released = ev(now, TEvent::Released, me);
        released.third = them;
        released.call_state = Some(CallState::Transferred);
        events.push(released);
        wrap_up(tenant, rng, t, agent, queue, now, &mut events);
        let mut rings = ev(now + 200, TEvent::Ringing, them);
        rings.third = me;
        events.push(rings);
        events.push(ev(now + rng.range(2_000, 6_000), TEvent::Established, them));
        now + rng.range(30_000, 180_000)
    };
    let mut released = ev(end, TEvent::Released, them);
    released.call_state = Some(CallState::Ok);
    events.push(released);
    wrap_up(tenant, rng, t, other, other_queue, end, &mut events);
    CallEvents { events, outcome: 0, agents }
}

/// After the agent's part of a call ended at `released`: not ready in after-call
/// work, sometimes a break, then ready; the agent is free for the next call
/// from the moment it is ready again.
#[allow(clippy::too_many_arguments)]
fn wrap_up(
    tenant: &mut Tenant,
    rng: &mut Rng,
    t: u16,
    agent: u32,
    queue: u16,
    released: i64,
    events: &mut Vec<Ev>,
) {
    let mut acw = Ev::agent(released + 100, TEvent::AgentNotReady, t, agent, queue);
    acw.acw = true;
    events.push(acw);
    let mut ready_at = released + 100 + rng.range(5_000, 30_000);
    if rng.chance(5) {
        let mut pause = Ev::agent(ready_at, TEvent::AgentNotReady, t, agent, queue);
        pause.reason = Some(["Break", "Lunch", "Training", "Meeting"][(rng.next() % 4) as usize]);
        events.push(pause);
        ready_at += rng.range(60_000, 300_000);
    }
    events.push(Ev::agent(ready_at, TEvent::AgentReady, t, agent, queue));
    release_agent(tenant, queue, agent, ready_at);
}

/// An agent's outbound call: answered, busy or not answered.
fn outbound(
    tenant: &mut Tenant,
    rng: &mut Rng,
    t: u16,
    call: u32,
    at: i64,
    queue: u16,
    mut events: Vec<Ev>,
) -> CallEvents {
    let (free_at, agent) = take_agent(tenant, queue);
    if free_at == i64::MAX {
        return CallEvents { events, outcome: 5, agents: Vec::new() };
    }
    let start = free_at.max(at);
    let me = Party::Agent(agent);
    let far = Party::External(call);
    let ev = |time, kind| {
        let mut e = Ev::call(time, kind, t, call, me, CallType::Outbound);
        e.other = far;
        e
    };
    events.push(ev(start, TEvent::Dialing));
    events.push(ev(start + 800, TEvent::NetworkReached));
    let roll = rng.next() % 10;
    let (outcome, agents, end) = if roll < 6 {
        let answered = start + rng.range(5_000, 20_000);
        events.push(ev(answered, TEvent::Established));
        let end = answered + rng.range(30_000, 180_000);
        let mut released = ev(end, TEvent::Released);
        released.call_state = Some(CallState::Ok);
        events.push(released);
        (0, vec![agent], end)
    } else if roll < 8 {
        let end = start + rng.range(2_000, 5_000);
        let mut busy = ev(end, TEvent::DestinationBusy);
        busy.call_state = Some(CallState::Busy);
        events.push(busy);
        (3, Vec::new(), end)
    } else {
        let end = start + 30_000;
        let mut released = ev(end, TEvent::Released);
        released.call_state = Some(CallState::NoAnswer);
        events.push(released);
        (4, Vec::new(), end)
    };
    wrap_up(tenant, rng, t, agent, queue, end, &mut events);
    CallEvents { events, outcome, agents }
}

/// How a dialect writes a string attribute around its value.
#[derive(Clone, Copy)]
enum Syntax {
    /// `,"Name":"value"`
    Json,
    /// `\tAttributeName\t'value'` and a newline
    Tlog,
}

impl Syntax {
    fn open(self, line: &mut String, name: &str) {
        match self {
            Syntax::Json => {
                line.push_str(",\"");
                line.push_str(name);
                line.push_str("\":\"");
            }
            Syntax::Tlog => {
                line.push_str("\tAttribute");
                line.push_str(name);
                line.push_str("\t'");
            }
        }
    }

    fn close(self, line: &mut String) {
        line.push_str(match self {
            Syntax::Json => "\"",
            Syntax::Tlog => "'\n",
        });
    }

    fn party(self, line: &mut String, name: &str, party: Party, queue: Option<u16>) {
        self.open(line, name);
        Writer::party(line, party, queue);
        self.close(line);
    }

    /// The parties of a call event: this DN (and its queue), the other and
    /// third parties, and the agent at a ringing or dialing phone.
    fn call_parties(self, line: &mut String, ev: &Ev) {
        self.party(line, "ThisDN", ev.this, ev.queue);
        if let (Some(queue), Party::RoutingPoint(_) | Party::VirtualQueue(_)) = (ev.queue, ev.this)
        {
            self.party(line, "ThisQueue", ev.this, Some(queue));
        }
        if ev.other != Party::None {
            self.party(line, "OtherDN", ev.other, None);
        }
        if ev.third != Party::None {
            self.party(line, "ThirdPartyDN", ev.third, None);
        }
        if let Party::Agent(agent) = ev.this {
            if matches!(ev.kind, TEvent::Ringing | TEvent::Dialing) {
                self.open(line, "AgentID");
                let _ = write!(line, "a{agent}");
                self.close(line);
            }
        }
    }
}

/// Renders events in a dialect, reusing one line buffer.
struct Writer {
    dialect: GenDialect,
    line: String,
    time: Vec<u8>,
    seq: u64,
    seed: u64,
    /// Records written.
    records: u64,
}

impl Writer {
    fn new(dialect: GenDialect, seed: u64) -> Writer {
        Writer {
            dialect,
            line: String::with_capacity(1024),
            time: Vec::with_capacity(32),
            seq: 0,
            seed,
            records: 0,
        }
    }

    fn party(line: &mut String, party: Party, queue: Option<u16>) {
        match party {
            Party::None => {}
            Party::Agent(agent) => {
                let _ = write!(line, "{}", 50_000 + agent);
            }
            Party::RoutingPoint(queue) => {
                let _ = write!(line, "{}", 7_000 + queue);
            }
            Party::VirtualQueue(queue) => {
                let _ = write!(line, "VQ_{queue}");
            }
            Party::Caller(call) => {
                let _ = write!(line, "+1415{:07}", call % 10_000_000);
            }
            Party::External(call) => {
                let _ = write!(line, "9650{:07}", call % 10_000_000);
            }
        }
        let _ = queue;
    }

    fn tenant_dialect(&self, tenant: u16) -> GenDialect {
        match self.dialect {
            GenDialect::Mixed if tenant % 2 == 0 => GenDialect::Genesys,
            GenDialect::Mixed => GenDialect::Tlog,
            other => other,
        }
    }

    /// Writes one event; returns the bytes written.
    fn write(&mut self, ev: &Ev, out: &mut impl Write) -> io::Result<usize> {
        self.seq += 1;
        self.line.clear();
        match self.tenant_dialect(ev.tenant) {
            GenDialect::Tlog => self.tlog(ev),
            GenDialect::Sdk => desktop::sdk(&mut self.line, ev),
            GenDialect::Ivr => desktop::ivr(&mut self.line, ev),
            GenDialect::Ors => orchestration::ors(&mut self.line, ev),
            GenDialect::Genesys | GenDialect::Mixed => {
                self.time.clear();
                Timestamp((START_MS + ev.t) * 1000).write_rfc3339(&mut self.time);
                self.genesys(ev);
            }
        }
        if self.line.is_empty() {
            // Not an event this dialect carries: not numbered, not counted.
            self.seq -= 1;
            return Ok(0);
        }
        // Orchestration Server reports some events as two interaction events.
        self.records += match self.tenant_dialect(ev.tenant) {
            GenDialect::Ors => memchr::memchr_iter(b'\n', self.line.as_bytes()).count() as u64,
            _ => 1,
        };
        out.write_all(self.line.as_bytes())?;
        Ok(self.line.len())
    }

    fn genesys(&mut self, ev: &Ev) {
        let line = &mut self.line;
        let tenant = ev.tenant + 1;
        let time = std::str::from_utf8(&self.time).unwrap_or_default();
        if ev.call == u32::MAX {
            let Party::Agent(agent) = ev.this else { return };
            let _ = write!(
                line,
                "t{tenant}:a{agent}\t{{\"id\":\"{}\",\"time\":\"{time}\",\"Server\":{}",
                ev.kind.name(),
                1 + tenant
            );
            let _ = write!(line, ",\"ThisDN\":\"{}\",\"AgentID\":\"a{agent}\"", 50_000 + agent);
            if let Some(queue) = ev.queue {
                // The routing point calls for this queue enter by: call records name it too.
                let _ = write!(line, ",\"ThisQueue\":\"{}\"", 7_000 + queue);
            }
            match (ev.acw, ev.reason, ev.kind) {
                (true, _, _) => line.push_str(",\"AgentWorkMode\":\"AfterCallWork\""),
                (_, Some(reason), _) => {
                    let _ = write!(
                        line,
                        ",\"AgentWorkMode\":\"AuxWork\",\"Reasons\":{{\"ReasonCode\":\"{reason}\"}}"
                    );
                }
                (_, None, TEvent::AgentReady) => line.push_str(",\"AgentWorkMode\":\"ManualIn\""),
                _ => {}
            }
        } else {
            let _ = write!(
                line,
                "t{tenant}:ct-{}\t{{\"id\":\"{}\",\"time\":\"{time}\",\"Server\":{},\"CallThreadID\":\"ct-{}\",\"ConnID\":\"{:012x}{:04x}@sip\"",
                ev.call,
                ev.kind.name(),
                1 + tenant,
                ev.call,
                u64::from(ev.call) ^ (self.seed & 0xffff_ffff),
                ev.leg
            );
            if ev.previous {
                let _ = write!(
                    line,
                    ",\"PreviousConnID\":\"{:012x}{:04x}@sip\"",
                    u64::from(ev.call) ^ (self.seed & 0xffff_ffff),
                    1 - ev.leg.min(1)
                );
            }
            Syntax::Json.call_parties(line, ev);
            let _ = write!(line, ",\"CallType\":\"{}\"", ev.call_type.name());
            if let Some(state) = ev.call_state {
                let _ = write!(line, ",\"CallState\":\"{}\"", state.name());
            }
            if ev.call_type == CallType::Inbound
                && matches!(ev.kind, TEvent::RouteRequest | TEvent::Ringing)
            {
                Syntax::Json.party(line, "ANI", Party::Caller(ev.call), None);
                line.push_str(",\"DNIS\":\"8005550100\"");
            }
        }
        let _ = writeln!(line, ",\"EventSequenceNumber\":{}}}", self.seq);
    }

    fn tlog(&mut self, ev: &Ev) {
        let line = &mut self.line;
        let tenant = ev.tenant + 1;
        let secs = (START_MS + ev.t).div_euclid(1000);
        let millis = (START_MS + ev.t).rem_euclid(1000);
        let day = secs % 86_400;
        let _ = write!(
            line,
            "@{:02}:{:02}:{:02}.{millis:03}0 [0] 8.1.101.25 distribute_event: message {}\n\tAttributeEventSequenceNumber\t{:016x}\n\tAttributeCustomerID\t't{tenant}'\n\tAttributeTimeinSecs\t{secs} ({:02}:{:02}:{:02})\n\tAttributeTimeinuSecs\t{}\n",
            day / 3600,
            day / 60 % 60,
            day % 60,
            ev.kind.name(),
            self.seq,
            day / 3600,
            day / 60 % 60,
            day % 60,
            millis * 1000,
        );
        if ev.call == u32::MAX {
            let Party::Agent(agent) = ev.this else { return };
            let _ = write!(
                line,
                "\tAttributeThisDN\t'{}'\n\tAttributeAgentID\t'a{agent}'\n",
                50_000 + agent
            );
            if let Some(queue) = ev.queue {
                let _ = writeln!(line, "\tAttributeThisQueue\t'{}'", 7_000 + queue);
            }
            if ev.acw {
                line.push_str("\tAttributeAgentWorkMode\t3\n");
            } else if let Some(reason) = ev.reason {
                let _ = write!(
                    line,
                    "\tAttributeAgentWorkMode\t4\n\tAttributeReasons\t[20] 00 01 00 00..\n\t\t'ReasonCode'\t'{reason}'\n"
                );
            }
            return;
        }
        let conn = u64::from(ev.call) ^ (self.seed & 0xffff_ffff);
        let _ = write!(
            line,
            "\tAttributeConnID\t{:012x}{:04x}\n\tAttributeCallUUID\t't{tenant}-ct-{}-{}'\n",
            conn, ev.leg, ev.call, ev.leg
        );
        if ev.previous {
            let _ =
                writeln!(line, "\tAttributePreviousConnID\t{:012x}{:04x}", conn, 1 - ev.leg.min(1));
        }
        Syntax::Tlog.call_parties(line, ev);
        let _ = writeln!(line, "\tAttributeCallType\t{}", ev.call_type.code());
        if let Some(state) = ev.call_state {
            let _ = writeln!(line, "\tAttributeCallState\t{}", state.code());
        }
        if ev.call_type == CallType::Inbound
            && matches!(ev.kind, TEvent::RouteRequest | TEvent::Ringing)
        {
            Syntax::Tlog.party(line, "ANI", Party::Caller(ev.call), None);
            line.push_str("\tAttributeDNIS\t'8005550100'\n");
        }
    }

    /// Writes one expected outcome: `{"tenant","call","outcome","agents"}`.
    fn expected(
        &self,
        tenant: u16,
        call: u32,
        events: &CallEvents,
        out: &mut dyn Write,
    ) -> io::Result<()> {
        let tenant = tenant + 1;
        let key = match self.tenant_dialect(tenant - 1) {
            GenDialect::Tlog => format!("t{tenant}-ct-{call}-0"),
            _ => format!("ct-{call}"),
        };
        let agents: Vec<String> = events.agents.iter().map(|a| format!("\"a{a}\"")).collect();
        writeln!(
            out,
            "{{\"tenant\":\"t{tenant}\",\"call\":\"{key}\",\"outcome\":\"{}\",\"agents\":[{}]}}",
            OUTCOMES[events.outcome],
            agents.join(",")
        )
    }
}
