//! The naive baseline: what a user writes first. Every line is parsed into a
//! `serde_json::Value` on the reading thread and sent with `std::sync::mpsc`
//! to a worker that keeps agents and call threads in `HashMap<String, _>` and
//! formats its outputs with `format!`.
//!
//! It reduces the events to the same kinds of output as ctistream — agent
//! status snapshots and a call record when a call thread ends — by the rules a
//! first version has: an agent event or a call event on an agent's DN sets the
//! agent's status (login and not ready: not ready; ready: ready; logout: logged
//! out; ringing; established and retrieved: talking; held; released: after-call
//! work), counting calls answered; a call thread counts parties in (ringing,
//! dialing, route request) and out (released, abandoned, busy, route used) and
//! writes a call record — answered or not, with its agents — when the count
//! falls to zero. That is less than ctistream's reducers do (no legs,
//! durations, transfers, statistics, dedupe or reordering), which favours this
//! baseline in the comparison.

use std::collections::HashMap;
use std::sync::mpsc;
use std::time::Instant;

use serde_json::Value;

use super::{BaselineRun, new_histogram};

struct Message {
    tenant: String,
    event: Value,
    read: Instant,
}

#[derive(Default)]
struct Call {
    parties: i64,
    answered: bool,
    agents: Vec<String>,
    started: String,
}

#[derive(Default)]
struct Agent {
    status: String,
    since: String,
    calls: u64,
}

/// Runs the naive baseline over keyed genesys lines.
pub fn run(data: &[u8]) -> BaselineRun {
    let started = Instant::now();
    let (sender, receiver) = mpsc::channel::<Message>();
    let worker = std::thread::spawn(move || {
        let mut latency = new_histogram();
        let mut agents: HashMap<String, Agent> = HashMap::new();
        let mut dn_agent: HashMap<String, String> = HashMap::new();
        let mut calls: HashMap<String, Call> = HashMap::new();
        let mut output = String::new();
        let mut records = 0u64;
        for message in receiver {
            let event = &message.event;
            let field =
                |name: &str| event.get(name).and_then(Value::as_str).unwrap_or("").to_string();
            let id = field("id");
            let time = field("time");
            let dn = field("ThisDN");
            let mut agent_id = field("AgentID");
            if !agent_id.is_empty() && !dn.is_empty() {
                dn_agent.insert(format!("{}:{}", message.tenant, dn), agent_id.clone());
            } else if let Some(bound) = dn_agent.get(&format!("{}:{}", message.tenant, dn)) {
                agent_id = bound.clone();
            }
            let thread = field("CallThreadID");
            if !thread.is_empty() {
                let key = format!("{}:{}", message.tenant, thread);
                let call = calls
                    .entry(key.clone())
                    .or_insert_with(|| Call { started: time.clone(), ..Call::default() });
                match id.as_str() {
                    "EventRinging" | "EventDialing" | "EventRouteRequest" => call.parties += 1,
                    "EventEstablished" => {
                        call.answered = true;
                        if !agent_id.is_empty() && !call.agents.contains(&agent_id) {
                            call.agents.push(agent_id.clone());
                        }
                    }
                    "EventReleased"
                    | "EventAbandoned"
                    | "EventDestinationBusy"
                    | "EventRouteUsed" => call.parties -= 1,
                    _ => {}
                }
                if call.parties <= 0 {
                    let call = calls.remove(&key).unwrap_or_default();
                    let outcome = if call.answered { "Answered" } else { "NotAnswered" };
                    output.push_str(&format!(
                        "{{\"tenant\":\"{}\",\"call\":\"{}\",\"started\":\"{}\",\"ended\":\"{}\",\"outcome\":\"{}\",\"agents\":{:?}}}\n",
                        message.tenant, thread, call.started, time, outcome, call.agents
                    ));
                    records += 1;
                }
            }
            if !agent_id.is_empty() {
                let status = match id.as_str() {
                    "EventAgentLogin" | "EventAgentNotReady" => "NotReadyForNextCall",
                    "EventAgentReady" => "WaitForNextCall",
                    "EventAgentLogout" => "LoggedOut",
                    "EventRinging" => "CallRinging",
                    "EventEstablished" | "EventRetrieved" => "CallInbound",
                    "EventHeld" => "CallOnHold",
                    "EventReleased" => "AfterCallWork",
                    _ => "",
                };
                if !status.is_empty() {
                    let agent =
                        agents.entry(format!("{}:{}", message.tenant, agent_id)).or_default();
                    if status == "CallInbound" && agent.status == "CallRinging" {
                        agent.calls += 1;
                    }
                    agent.status = status.to_string();
                    agent.since = time.clone();
                }
            }
            if output.len() > 1 << 20 {
                output.clear();
            }
            let _ = latency.record(message.read.elapsed().as_nanos() as u64);
        }
        let mut snapshot = String::new();
        for (key, agent) in &agents {
            snapshot.push_str(&format!(
                "{{\"agent\":\"{key}\",\"status\":\"{}\",\"since\":\"{}\",\"calls_handled\":{}}}\n",
                agent.status, agent.since, agent.calls
            ));
        }
        (latency, records, snapshot.len())
    });
    let (mut events, mut rejected) = (0u64, 0u64);
    for line in data.split(|&b| b == b'\n').filter(|line| !line.is_empty()) {
        events += 1;
        let Ok(line) = std::str::from_utf8(line) else {
            rejected += 1;
            continue;
        };
        let (key, json) = line.split_once('\t').unwrap_or(("", line));
        let Ok(event) = serde_json::from_str::<Value>(json) else {
            rejected += 1;
            continue;
        };
        let tenant = key.split(':').next().unwrap_or("").to_string();
        let _ = sender.send(Message { tenant, event, read: Instant::now() });
    }
    drop(sender);
    let (latency, records, _) = worker.join().expect("the naive worker does not panic");
    BaselineRun {
        events,
        rejected,
        elapsed: started.elapsed(),
        latency: Some(latency),
        call_records: records,
    }
}
