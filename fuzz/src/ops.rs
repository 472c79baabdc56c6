//! Structured random traffic for the reducer targets: a sequence of agent and
//! call operations on a few agents, DNs and calls, built by `arbitrary` and
//! rendered as the records a platform would send (Voice Microservices JSON,
//! plus SDK and IVR agent states).
//!
//! The pools are small on purpose: four agents on five DNs and six calls make
//! the fuzzer collide identities (a DN rebound to another agent, a consult leg
//! linked to a call that already ended, a release before the ringing) instead
//! of spreading events over keys that never meet.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use arbitrary::Arbitrary;

/// The tenant of every record.
pub const TENANT: &str = "t1";

/// Event time of the first operation (µs since the epoch, 2026-03-27).
const BASE_US: i64 = 1_774_600_000_000_000;

/// An index into a pool of `N` names (agents, DNs, calls).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pick<const N: u8>(pub u8);

impl<'a, const N: u8> Arbitrary<'a> for Pick<N> {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(Pick(u8::arbitrary(u)? % N))
    }

    fn size_hint(_depth: usize) -> (usize, Option<usize>) {
        (1, Some(1))
    }
}

/// What an agent does.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
pub enum AgentAction {
    /// EventAgentLogin.
    Login,
    /// EventAgentReady.
    Ready,
    /// EventAgentNotReady with a reason code (or none).
    NotReady(Option<Pick<3>>),
    /// EventAgentNotReady with AgentWorkMode AfterCallWork.
    NotReadyAcw,
    /// EventAgentAfterCallWork.
    AfterCallWork,
    /// EventAgentLogout.
    Logout,
    /// EventDNDOn.
    DndOn,
    /// EventDNDOff.
    DndOff,
}

impl AgentAction {
    fn event(self) -> &'static str {
        match self {
            AgentAction::Login => "EventAgentLogin",
            AgentAction::Ready => "EventAgentReady",
            AgentAction::NotReady(_) | AgentAction::NotReadyAcw => "EventAgentNotReady",
            AgentAction::AfterCallWork => "EventAgentAfterCallWork",
            AgentAction::Logout => "EventAgentLogout",
            AgentAction::DndOn => "EventDNDOn",
            AgentAction::DndOff => "EventDNDOff",
        }
    }
}

/// What happens to a call at a DN.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallAction {
    /// EventQueued at a queue DN.
    Queued,
    /// EventRouteRequest at a routing point.
    RouteRequest,
    /// EventDiverted from a queue DN.
    Diverted,
    /// EventRouteUsed at a routing point.
    RouteUsed,
    /// EventDialing.
    Dialing,
    /// EventRinging.
    Ringing,
    /// EventEstablished.
    Established,
    /// EventHeld.
    Held,
    /// EventRetrieved.
    Retrieved,
    /// EventReleased with a CallState.
    Released(Option<CallStateArg>),
    /// EventAbandoned.
    Abandoned,
    /// EventDestinationBusy.
    DestinationBusy,
    /// EventPartyChanged (transfer completion: the link names the old leg).
    PartyChanged,
    /// EventPartyAdded (conference).
    PartyAdded,
    /// EventAttachedDataChanged (touches the call, no party change).
    AttachedDataChanged,
}

impl CallAction {
    fn event(self) -> &'static str {
        match self {
            CallAction::Queued => "EventQueued",
            CallAction::RouteRequest => "EventRouteRequest",
            CallAction::Diverted => "EventDiverted",
            CallAction::RouteUsed => "EventRouteUsed",
            CallAction::Dialing => "EventDialing",
            CallAction::Ringing => "EventRinging",
            CallAction::Established => "EventEstablished",
            CallAction::Held => "EventHeld",
            CallAction::Retrieved => "EventRetrieved",
            CallAction::Released(_) => "EventReleased",
            CallAction::Abandoned => "EventAbandoned",
            CallAction::DestinationBusy => "EventDestinationBusy",
            CallAction::PartyChanged => "EventPartyChanged",
            CallAction::PartyAdded => "EventPartyAdded",
            CallAction::AttachedDataChanged => "EventAttachedDataChanged",
        }
    }

    /// Queue-side events happen at a queue or routing point, the others at a phone.
    fn at_queue(self) -> bool {
        matches!(
            self,
            CallAction::Queued
                | CallAction::RouteRequest
                | CallAction::Diverted
                | CallAction::RouteUsed
        )
    }
}

/// CallState values of EventReleased.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallStateArg {
    /// Ok.
    Ok,
    /// Transferred.
    Transferred,
    /// Conferenced.
    Conferenced,
    /// NoAnswer.
    NoAnswer,
    /// Busy.
    Busy,
}

/// CallType values.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallTypeArg {
    /// Inbound.
    Inbound,
    /// Outbound.
    Outbound,
    /// Internal.
    Internal,
    /// Consult.
    Consult,
}

/// SDK agent states.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
pub enum SdkStateArg {
    /// offline.
    Offline,
    /// idle.
    Idle,
    /// busy.
    Busy,
    /// wrapup.
    Wrapup,
    /// calling.
    Calling,
    /// ringing.
    Ringing,
    /// talking.
    Talking,
}

/// IVR agent statuses.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
pub enum IvrStatusArg {
    /// LoggedIn.
    LoggedIn,
    /// LoggedOut.
    LoggedOut,
    /// Ready.
    Ready,
    /// NotReady.
    NotReady,
    /// Unknown.
    Unknown,
}

/// How a call event names its call.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ident {
    /// A record key `t1:ct-N` plus CallThreadID and ConnID.
    Keyed,
    /// CallThreadID and ConnID, no record key.
    Thread,
    /// ConnID only (the call key is the ConnID).
    ConnOnly,
}

/// One operation.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// An agent event on a DN, naming the agent or (`named: false`) leaving it
    /// to the DN's binding.
    Agent {
        /// Which agent.
        agent: Pick<4>,
        /// On which DN.
        dn: Pick<5>,
        /// What it does.
        action: AgentAction,
        /// Whether AgentID is sent.
        named: bool,
    },
    /// A call event.
    Call {
        /// Which call (`ct-N`).
        call: Pick<6>,
        /// Which connection of it (0 is the main leg).
        conn: Pick<3>,
        /// Which DN (phones 0–4, or queues 0–1 for queue events).
        dn: Pick<5>,
        /// What happens.
        action: CallAction,
        /// CallType, if sent.
        call_type: Option<CallTypeArg>,
        /// AgentID, if sent.
        agent: Option<Pick<4>>,
        /// PreviousConnID: a connection of another (or the same) call.
        link: Option<(Pick<6>, Pick<3>)>,
        /// How the call is named.
        ident: Ident,
    },
    /// An SDK agentStatus for an agent (same tenant and names as T-Library).
    Sdk {
        /// Which agent.
        agent: Pick<4>,
        /// The state.
        state: SdkStateArg,
        /// The call of a calling/ringing/talking state.
        call: Pick<6>,
    },
    /// An IVR MonitorInfo/Agent status.
    Ivr {
        /// Which agent (the record key names it).
        agent: Pick<4>,
        /// The status.
        status: IvrStatusArg,
    },
    /// EventLinkDisconnected from the server.
    LinkLost,
}

/// An operation and how far event time moves before it (in units of 100 ms;
/// negative steps make time run backwards), optionally with an
/// EventSequenceNumber (see [`Numbering`]).
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Step {
    /// Time step, 100 ms units.
    pub dt: i16,
    /// EventSequenceNumber, if sent (T-Library events only; see [`Numbering`]).
    pub seq: Option<u8>,
    /// The operation.
    pub op: Op,
}

/// A whole input: the operations, then (by the harness) a release of every
/// leg that was used, so that every call can end.
#[derive(Arbitrary, Clone, Debug)]
pub struct Script {
    /// The operations, in record order.
    pub steps: Vec<Step>,
}

/// How the steps' sequence numbers are sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Numbering {
    /// As picked, from a pool of 256: different events may share a number,
    /// which the duplicate filter then drops (any input must keep the
    /// reducer's invariants).
    Pool,
    /// As a T-Server numbers its events: each numbered record gets the next
    /// number, and a pick divisible by 8 sends the record a second time (a
    /// re-delivery). The sharded pipeline filters duplicates per shard, so it
    /// equals the reference only on input where a number names one event.
    ///
    /// Call events also go without a record key in this mode: the pipeline
    /// routes a keyed record by its key alone, so a call's keyed and keyless
    /// records, or keyed legs linked to another key's call, land on
    /// different shards, where the reference joins them (found by
    /// `sharded_equals_reference`; on Kafka a call thread's events share one
    /// key). Keyless records exercise the router's link following.
    Server,
}

/// One rendered record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// The record key (`TENANT:ID`), if any.
    pub key: Option<String>,
    /// The payload.
    pub payload: String,
}

/// The identity fields of a call event: what a release of the same leg must repeat.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct LegIdent {
    key: Option<String>,
    thread: Option<String>,
    conn: String,
    link: Option<String>,
    dn: String,
}

/// What a script renders to.
#[derive(Clone, Debug, Default)]
pub struct Rendered {
    /// The records of the operations, then the releases and a final tick.
    pub records: Vec<Record>,
    /// Where the operations end and the closing releases begin.
    pub ops_end: usize,
    /// The latest event time of the operations (µs).
    pub max_time: i64,
    /// Distinct (DN, connection) legs the calls used.
    pub legs: usize,
}

fn agent_name(agent: Pick<4>) -> String {
    format!("a{}", agent.0)
}

fn phone(dn: Pick<5>) -> String {
    format!("500{}", dn.0)
}

fn queue(dn: Pick<5>) -> String {
    // Two queues, one of them a routing point; the fuzzer's DN picks fold onto them.
    if dn.0.is_multiple_of(2) { "7000".to_owned() } else { "7100".to_owned() }
}

fn conn_id(call: Pick<6>, conn: Pick<3>) -> String {
    format!("00{:02x}{:012x}", call.0, conn.0)
}

fn call_type_name(call_type: CallTypeArg) -> &'static str {
    match call_type {
        CallTypeArg::Inbound => "Inbound",
        CallTypeArg::Outbound => "Outbound",
        CallTypeArg::Internal => "Internal",
        CallTypeArg::Consult => "Consult",
    }
}

/// Appends `,"name":"value"`.
fn field(out: &mut String, name: &str, value: &str) {
    let _ = write!(out, ",\"{name}\":\"{value}\"");
}

impl Script {
    /// Renders the operations, then a release of every call leg used (with
    /// the identity fields of the event that used it, so it reaches the same
    /// thread), then one event an hour later so that every released thread's
    /// linger span has passed.
    pub fn render(&self, numbering: Numbering) -> Rendered {
        let mut rendered = Rendered::default();
        let mut next_seq = 0u32;
        let mut now = BASE_US;
        rendered.max_time = now;
        // Leg identity → the last AgentID sent on it.
        let mut legs: BTreeMap<LegIdent, Option<String>> = BTreeMap::new();
        // Agents an SDK call state was reported for: SDK calls end with the
        // agent's next non-call state, which the closing records send.
        let mut sdk_calls = std::collections::BTreeSet::new();
        for step in &self.steps {
            now += i64::from(step.dt) * 100_000;
            rendered.max_time = rendered.max_time.max(now);
            let numbered = match (numbering, step.seq) {
                (_, None) => None,
                (Numbering::Pool, Some(seq)) => Some(u32::from(seq)),
                (Numbering::Server, Some(_)) => {
                    next_seq += 1;
                    Some(next_seq)
                }
            };
            let redelivered = numbering == Numbering::Server
                && step.seq.is_some_and(|seq| seq.is_multiple_of(8))
                && !matches!(step.op, Op::Sdk { .. } | Op::Ivr { .. });
            let seq =
                numbered.map(|seq| format!(",\"EventSequenceNumber\":{seq}")).unwrap_or_default();
            let record = match step.op {
                Op::Agent { agent, dn, action, named } => {
                    let mut payload = format!(
                        "{{\"id\":\"{}\",\"tenant\":\"{TENANT}\",\"time\":{now}",
                        action.event()
                    );
                    field(&mut payload, "ThisDN", &phone(dn));
                    if named {
                        field(&mut payload, "AgentID", &agent_name(agent));
                    }
                    match action {
                        AgentAction::NotReady(Some(reason)) => {
                            let _ = write!(
                                payload,
                                ",\"Reasons\":{{\"ReasonCode\":\"R{}\"}}",
                                reason.0
                            );
                        }
                        AgentAction::NotReadyAcw => {
                            field(&mut payload, "AgentWorkMode", "AfterCallWork")
                        }
                        _ => {}
                    }
                    payload.push_str(&seq);
                    payload.push('}');
                    let key = named.then(|| format!("{TENANT}:{}", agent_name(agent)));
                    Record { key, payload }
                }
                Op::Call { call, conn, dn, action, call_type, agent, link, ident } => {
                    let dn = if action.at_queue() { queue(dn) } else { phone(dn) };
                    let leg = LegIdent {
                        key: (ident == Ident::Keyed && numbering == Numbering::Pool)
                            .then(|| format!("{TENANT}:ct-{}", call.0)),
                        thread: (ident != Ident::ConnOnly).then(|| format!("ct-{}", call.0)),
                        conn: conn_id(call, conn),
                        link: link.map(|(call, conn)| conn_id(call, conn)),
                        dn,
                    };
                    let agent = agent.map(agent_name);
                    let mut payload = format!(
                        "{{\"id\":\"{}\",\"tenant\":\"{TENANT}\",\"time\":{now}",
                        action.event()
                    );
                    render_leg(&mut payload, &leg, agent.as_deref());
                    if let Some(call_type) = call_type {
                        field(&mut payload, "CallType", call_type_name(call_type));
                    }
                    if let CallAction::Released(Some(state)) = action {
                        field(&mut payload, "CallState", &format!("{state:?}"));
                    }
                    if action.at_queue() {
                        field(&mut payload, "ThisQueue", &leg.dn);
                    }
                    payload.push_str(&seq);
                    payload.push('}');
                    let key = leg.key.clone();
                    legs.insert(leg, agent);
                    Record { key, payload }
                }
                Op::Sdk { agent, state, call } => {
                    let state = format!("{state:?}").to_lowercase();
                    let mut payload = format!(
                        "{{\"eventType\":\"agentStatus\",\"tenantId\":\"{TENANT}\",\"agentNo\":\"{}\",\"state\":\"{state}\"",
                        agent_name(agent)
                    );
                    if matches!(state.as_str(), "calling" | "ringing" | "talking") {
                        sdk_calls.insert(agent);
                        let _ =
                            write!(payload, ",\"mainUniqueId\":\"sdk-{}\",\"callType\":1", call.0);
                    }
                    let _ = write!(payload, ",\"timestamp\":{}}}", now / 1000);
                    Record { key: Some(format!("{TENANT}:{}", agent_name(agent))), payload }
                }
                Op::Ivr { agent, status } => {
                    let payload = format!(
                        "<MonitorInfo><Agent PortNum=\"{}\" Status=\"{status:?}\"/></MonitorInfo>",
                        agent.0
                    );
                    Record { key: Some(format!("{TENANT}:{}", agent_name(agent))), payload }
                }
                Op::LinkLost => Record {
                    key: None,
                    payload: format!(
                        "{{\"id\":\"EventLinkDisconnected\",\"tenant\":\"{TENANT}\",\"time\":{now}{seq}}}"
                    ),
                },
            };
            if redelivered {
                rendered.records.push(record.clone());
            }
            rendered.records.push(record);
        }
        rendered.ops_end = rendered.records.len();
        rendered.legs = legs
            .keys()
            .map(|leg| (&leg.dn, &leg.conn))
            .collect::<std::collections::BTreeSet<_>>()
            .len();
        // Every leg released an hour after the last operation, on its own identity.
        let end = rendered.max_time + 3_600_000_000;
        for (leg, agent) in &legs {
            let mut payload =
                format!("{{\"id\":\"EventReleased\",\"tenant\":\"{TENANT}\",\"time\":{end}");
            render_leg(&mut payload, leg, agent.as_deref());
            payload.push('}');
            rendered.records.push(Record { key: leg.key.clone(), payload });
        }
        for &agent in &sdk_calls {
            let payload = format!(
                "{{\"eventType\":\"agentStatus\",\"tenantId\":\"{TENANT}\",\"agentNo\":\"{}\",\"state\":\"wrapup\",\"timestamp\":{}}}",
                agent_name(agent),
                end / 1000
            );
            rendered
                .records
                .push(Record { key: Some(format!("{TENANT}:{}", agent_name(agent))), payload });
        }
        // A session event an hour later moves the watermark past every linger span.
        let tick = end + 3_600_000_000;
        rendered.records.push(Record {
            key: None,
            payload: format!("{{\"id\":\"EventLinkConnected\",\"time\":{tick}}}"),
        });
        rendered
    }
}

fn render_leg(payload: &mut String, leg: &LegIdent, agent: Option<&str>) {
    if let Some(thread) = &leg.thread {
        field(payload, "CallThreadID", thread);
    }
    field(payload, "ConnID", &leg.conn);
    if let Some(link) = &leg.link {
        field(payload, "PreviousConnID", link);
    }
    field(payload, "ThisDN", &leg.dn);
    if let Some(agent) = agent {
        field(payload, "AgentID", agent);
    }
}
