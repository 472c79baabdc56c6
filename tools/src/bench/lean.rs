//! The lean baseline: what a skilled user writes. One thread; lines are taken
//! in batches of 256, each parsed with sonic-rs into a struct borrowing its
//! strings from the input, and reduced into hash maps with the Fx hasher keyed
//! by owned `(tenant, id)` strings, looked up without allocating.
//!
//! The rules, shared with the naive baseline: an agent event or a call event
//! on an agent's DN sets the agent's status (login and not ready: not ready;
//! ready: ready; logout: logged out; ringing; established and retrieved:
//! talking; held; released: after-call work), counting calls answered; a call
//! thread counts parties in (ringing, dialing, route request) and out
//! (released, abandoned, busy, route used) and writes a call record —
//! answered or not, with its agents — when the count falls to zero. This is
//! less than ctistream's reducers do (no legs, durations, transfers,
//! statistics, dedupe or reordering), which favours the baselines.

use std::time::Instant;

use std::hash::{Hash, Hasher};

use hashbrown::{Equivalent, HashMap};
use rustc_hash::FxBuildHasher;
use serde::Deserialize;

use super::{BaselineRun, new_histogram};

#[derive(Deserialize)]
struct LeanEvent<'a> {
    #[serde(borrow)]
    id: &'a str,
    #[serde(borrow, default)]
    time: &'a str,
    #[serde(rename = "ThisDN", borrow, default)]
    this_dn: &'a str,
    #[serde(rename = "AgentID", borrow, default)]
    agent_id: &'a str,
    #[serde(rename = "CallThreadID", borrow, default)]
    call_thread: &'a str,
}

#[derive(Default)]
struct Call {
    parties: i32,
    answered: bool,
    agents: Vec<Box<str>>,
    started: Box<str>,
}

#[derive(Clone, Copy, Default)]
struct Agent {
    status: u8,
    since_len: u8,
    calls: u32,
}

const STATUS: [&str; 7] = [
    "NotReadyForNextCall",
    "WaitForNextCall",
    "LoggedOut",
    "CallRinging",
    "CallInbound",
    "CallOnHold",
    "AfterCallWork",
];

/// An owned `(tenant, id)` key.
#[derive(PartialEq, Eq)]
struct Key(Box<str>, Box<str>);

/// A borrowed `(tenant, id)`, hashed and compared like [`Key`], for lookups
/// that allocate only when they insert.
#[derive(Clone, Copy)]
struct KeyRef<'a>(&'a str, &'a str);

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        KeyRef(&self.0, &self.1).hash(state);
    }
}

impl Hash for KeyRef<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.hash(state);
        self.1.hash(state);
    }
}

impl Equivalent<Key> for KeyRef<'_> {
    fn equivalent(&self, key: &Key) -> bool {
        *self.0 == *key.0 && *self.1 == *key.1
    }
}

type Map<V> = HashMap<Key, V, FxBuildHasher>;

fn entry<'m, V: Default>(map: &'m mut Map<V>, key: KeyRef<'_>) -> &'m mut V {
    if !map.contains_key(&key) {
        map.insert(Key(key.0.into(), key.1.into()), V::default());
    }
    map.get_mut(&key).expect("just inserted")
}

#[derive(Default)]
struct State {
    agents: Map<Agent>,
    dn_agent: Map<Box<str>>,
    calls: Map<Call>,
    output: Vec<u8>,
    records: u64,
}

impl State {
    fn apply(&mut self, tenant: &str, event: &LeanEvent<'_>) {
        let dn = KeyRef(tenant, event.this_dn);
        if !event.agent_id.is_empty() && !event.this_dn.is_empty() {
            let bound = entry(&mut self.dn_agent, dn);
            if **bound != *event.agent_id {
                *bound = event.agent_id.into();
            }
        }
        let agent_id: &str = if event.agent_id.is_empty() {
            self.dn_agent.get(&dn).map_or("", |agent| agent)
        } else {
            event.agent_id
        };
        if !event.call_thread.is_empty() {
            let key = KeyRef(tenant, event.call_thread);
            let call = entry(&mut self.calls, key);
            if call.started.is_empty() {
                call.started = event.time.into();
            }
            match event.id {
                "EventRinging" | "EventDialing" | "EventRouteRequest" => call.parties += 1,
                "EventEstablished" => {
                    call.answered = true;
                    if !agent_id.is_empty() && !call.agents.iter().any(|a| &**a == agent_id) {
                        call.agents.push(agent_id.into());
                    }
                }
                "EventReleased" | "EventAbandoned" | "EventDestinationBusy" | "EventRouteUsed" => {
                    call.parties -= 1
                }
                _ => {}
            }
            if call.parties <= 0 {
                if let Some(call) = self.calls.remove(&key) {
                    write_record(&mut self.output, tenant, event, &call);
                    self.records += 1;
                }
            }
        }
        if !agent_id.is_empty() {
            let status = match event.id {
                "EventAgentLogin" | "EventAgentNotReady" => 0,
                "EventAgentReady" => 1,
                "EventAgentLogout" => 2,
                "EventRinging" => 3,
                "EventEstablished" | "EventRetrieved" => 4,
                "EventHeld" => 5,
                "EventReleased" => 6,
                _ => u8::MAX,
            };
            if status != u8::MAX {
                let agent = entry(&mut self.agents, KeyRef(tenant, agent_id));
                if status == 4 && agent.status == 3 {
                    agent.calls += 1;
                }
                agent.status = status;
                agent.since_len = event.time.len() as u8;
            }
        }
    }
}

fn write_record(out: &mut Vec<u8>, tenant: &str, event: &LeanEvent<'_>, call: &Call) {
    out.extend_from_slice(b"{\"tenant\":\"");
    out.extend_from_slice(tenant.as_bytes());
    out.extend_from_slice(b"\",\"call\":\"");
    out.extend_from_slice(event.call_thread.as_bytes());
    out.extend_from_slice(b"\",\"started\":\"");
    out.extend_from_slice(call.started.as_bytes());
    out.extend_from_slice(b"\",\"ended\":\"");
    out.extend_from_slice(event.time.as_bytes());
    out.extend_from_slice(if call.answered {
        b"\",\"outcome\":\"Answered\",\"agents\":["
    } else {
        b"\",\"outcome\":\"NotAnswered\",\"agents\":["
    });
    for (i, agent) in call.agents.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.push(b'"');
        out.extend_from_slice(agent.as_bytes());
        out.push(b'"');
    }
    out.extend_from_slice(b"]}\n");
    if out.len() > 1 << 20 {
        out.clear();
    }
}

/// Runs the lean baseline over keyed genesys lines.
pub fn run(data: &[u8]) -> BaselineRun {
    let started = Instant::now();
    let mut latency = new_histogram();
    let mut state = State::default();
    let mut events = 0u64;
    let mut lines = memchr::memchr_iter(b'\n', data);
    let mut start = 0;
    loop {
        let batch_read = Instant::now();
        let mut in_batch = 0u64;
        for end in lines.by_ref().take(256) {
            let line = &data[start..end];
            start = end + 1;
            let (tenant, json) = match memchr::memchr(b'\t', line) {
                Some(tab) => (&line[..tab], &line[tab + 1..]),
                None => (&b""[..], line),
            };
            let tenant = tenant.split(|&b| b == b':').next().unwrap_or_default();
            let (Ok(tenant), Ok(event)) =
                (std::str::from_utf8(tenant), sonic_rs::from_slice::<LeanEvent<'_>>(json))
            else {
                continue;
            };
            state.apply(tenant, &event);
            in_batch += 1;
        }
        if in_batch == 0 {
            break;
        }
        events += in_batch;
        let _ = latency.record_n(batch_read.elapsed().as_nanos() as u64, in_batch);
    }
    let mut snapshot = Vec::new();
    for (Key(tenant, agent), state) in &state.agents {
        snapshot.extend_from_slice(tenant.as_bytes());
        snapshot.extend_from_slice(agent.as_bytes());
        snapshot.extend_from_slice(STATUS[usize::from(state.status.min(6))].as_bytes());
        snapshot.extend_from_slice(&state.calls.to_le_bytes());
    }
    std::hint::black_box(&snapshot);
    BaselineRun {
        events,
        elapsed: started.elapsed(),
        latency: Some(latency),
        call_records: state.records,
    }
}
