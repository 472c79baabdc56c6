//! A small language for call-model scenarios: events written once, rendered as
//! Voice Microservices JSON (`genesys`, keyed lines as on the Kafka topics) and
//! as T-Server log text (`tlog`), then reduced; so every scenario runs in two
//! dialects and must give the same outputs in both.
#![allow(dead_code)]

pub mod models;

use std::fmt::Write as _;

use ctistream_core::state::{CollectOutputs, Reducer, ReducerConfig};
use ctistream_core::{
    AgentWorkMode, CallState, CallType, Cause, Decoder, DnRole, Format, FrameReader, Framing,
    Timestamp,
};

/// The scenario clock starts here: 2026-11-20T09:00:00Z.
pub const BASE_SECS: i64 = 1_795_165_200;

/// One event of a scenario.
#[derive(Clone, Debug)]
pub struct Ev {
    /// Milliseconds after the base time.
    pub t: i64,
    /// The T-Library event name.
    pub name: &'static str,
    /// Attributes (T-Library names). Pseudo-attributes: `@thread` (the call
    /// thread: CallThreadID and record key in genesys, CallUUID in tlog) and
    /// `@uuid` (a CallUUID for tlog other than the thread's, for consult legs).
    pub attrs: Vec<(&'static str, String)>,
}

impl Ev {
    /// The value of an attribute.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.attrs.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str())
    }
}

/// An event at `t` seconds (fractions allowed).
pub fn ev(t: f64, name: &'static str, attrs: &[(&'static str, &str)]) -> Ev {
    Ev {
        t: (t * 1000.0).round() as i64,
        name,
        attrs: attrs.iter().map(|(n, v)| (*n, (*v).to_owned())).collect(),
    }
}

const ENUMS: [&str; 7] = [
    "CallType",
    "CallState",
    "ThisDNRole",
    "OtherDNRole",
    "ThirdPartyDNRole",
    "AgentWorkMode",
    "Cause",
];
const CONN_IDS: [&str; 4] = ["ConnID", "PreviousConnID", "TransferConnID", "ConferenceConnID"];

fn enum_code(attr: &str, name: &str) -> i64 {
    let bytes = name.as_bytes();
    let code = match attr {
        "CallType" => CallType::from_name(bytes).map(CallType::code),
        "CallState" => CallState::from_name(bytes).map(CallState::code),
        "AgentWorkMode" => AgentWorkMode::from_name(bytes).map(AgentWorkMode::code),
        "Cause" => Cause::from_name(bytes).map(Cause::code),
        _ => DnRole::from_name(bytes).map(DnRole::code),
    };
    code.unwrap_or_else(|| panic!("{attr} {name}"))
}

fn json_string(text: &str) -> String {
    serde_json::to_string(text).unwrap()
}

/// Renders the scenario as keyed Voice Microservices JSON lines: call events
/// keyed `t1:<thread>`, agent events `t1:<agent>`.
pub fn genesys(events: &[Ev]) -> String {
    let mut out = String::new();
    for event in events {
        let key = event.get("@thread").or(event.get("AgentID"));
        if let Some(key) = key {
            let _ = write!(out, "t1:{key}\t");
        }
        let time = Timestamp::from_secs_micros(BASE_SECS, event.t * 1000);
        let _ = write!(out, "{{\"id\":\"{}\",\"time\":\"{time}\"", event.name);
        if key.is_none() {
            out.push_str(",\"CustomerID\":\"t1\"");
        }
        for (name, value) in &event.attrs {
            match *name {
                "@thread" => {
                    let _ = write!(out, ",\"CallThreadID\":{}", json_string(value));
                }
                "@uuid" => {}
                "ReasonCode" => {
                    let _ = write!(out, ",\"Reasons\":{{\"ReasonCode\":{}}}", json_string(value));
                }
                _ => {
                    let _ = write!(out, ",\"{name}\":{}", json_string(value));
                }
            }
        }
        out.push_str("}\n");
    }
    out
}

/// Renders the scenario as a T-Server log, with request and trace lines in
/// between as real logs have them.
pub fn tlog(events: &[Ev]) -> String {
    let mut out =
        String::from("Application name: SIPServer_01\nLocal Time: 2026-11-20T09:00:00.000\n\n");
    for (i, event) in events.iter().enumerate() {
        let secs = BASE_SECS + event.t.div_euclid(1000);
        let micros = event.t.rem_euclid(1000) * 1000;
        let day = secs % 86_400;
        let _ = writeln!(
            out,
            "@{:02}:{:02}:{:02}.{:03} [0] 8.1.101.25 distribute_event: message {}",
            day / 3600,
            day / 60 % 60,
            day % 60,
            micros / 1000,
            event.name
        );
        let _ = writeln!(out, "\tAttributeEventSequenceNumber\t{:016x}", 0x100 + i);
        let _ = writeln!(out, "\tAttributeCustomerID\t't1'");
        let _ = writeln!(
            out,
            "\tAttributeTimeinSecs\t{secs} ({:02}:{:02}:{:02})",
            day / 3600,
            day / 60 % 60,
            day % 60
        );
        let _ = writeln!(out, "\tAttributeTimeinuSecs\t{micros}");
        let uuid = event.get("@uuid").or(event.get("@thread"));
        if let Some(uuid) = uuid {
            let _ = writeln!(out, "\tAttributeCallUUID\t'{uuid}'");
        }
        for (name, value) in &event.attrs {
            if name.starts_with('@') {
                continue;
            }
            if *name == "ReasonCode" {
                let _ = writeln!(
                    out,
                    "\tAttributeReasons\t[22] 00 01 00 00..\n\t\t'ReasonCode'\t'{value}'"
                );
            } else if ENUMS.contains(name) {
                let _ = writeln!(out, "\tAttribute{name}\t{}", enum_code(name, value));
            } else if CONN_IDS.contains(name) {
                let _ = writeln!(out, "\tAttribute{name}\t{value}");
            } else {
                let _ = writeln!(out, "\tAttribute{name}\t'{value}'");
            }
        }
        if i % 3 == 0 {
            out.push_str(
                "@09:00:00.000 [0] 8.1.101.25 Trc 04541 RequestAnswerCall received from [548]\n",
            );
            out.push_str("message RequestAnswerCall\n\tAttributeThisDN\t'5001'\n");
        }
    }
    out
}

/// What a reduction produced, as NDJSON text per output.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reduced {
    /// Call detail records, one line each, sorted.
    pub calls: Vec<String>,
    /// Agent snapshots at end of input.
    pub agents: Vec<String>,
    /// Status changes per agent, in order: `agent: status(previous)@ms reason`.
    pub changes: Vec<String>,
    /// Records rejected on the way.
    pub rejects: Vec<String>,
}

/// Frames, decodes and reduces `input` as `format` with `config`.
pub fn reduce_with(input: &str, format: Format, config: ReducerConfig) -> Reduced {
    let framing = if format == Format::Tlog { Framing::Tlog } else { Framing::Lines };
    let decoder = Decoder::new(format);
    let mut reducer = Reducer::new(config);
    let mut out = CollectOutputs::default();
    let mut rejects = Vec::new();
    for frame in FrameReader::new(input.as_bytes(), framing) {
        let frame = frame.unwrap();
        match decoder.decode(&frame.payload, frame.key.as_deref()) {
            Ok(event) => reducer.apply(&event, Timestamp(0), &mut out),
            Err(error) => rejects.push(format!("line {}: {error}", frame.line)),
        }
    }
    reducer.finish(&mut out);
    let calls = call_lines(&out);
    let mut snapshots = Vec::new();
    reducer.write_agent_snapshots(&mut snapshots);
    let agents = String::from_utf8(snapshots).unwrap().lines().map(str::to_owned).collect();
    let mut changes: Vec<String> = out
        .changes
        .iter()
        .map(|change| {
            format!(
                "{}: {:?}({:?})@{} {}",
                change.agent,
                change.status,
                change.previous,
                (change.at.0 - BASE_SECS * 1_000_000) / 1000,
                change.reason.as_deref().unwrap_or("")
            )
        })
        .collect();
    // Per-agent order is what is guaranteed; agents interleave freely.
    changes.sort_by(|a, b| a.split(':').next().cmp(&b.split(':').next()));
    Reduced { calls, agents, changes, rejects }
}

/// The call records of `out` as NDJSON lines (without their newlines), sorted.
pub fn call_lines(out: &CollectOutputs) -> Vec<String> {
    let mut calls: Vec<String> = out
        .records
        .iter()
        .map(|record| {
            let mut line = Vec::new();
            record.write_json(&mut line);
            String::from_utf8(line).unwrap().trim_end().to_owned()
        })
        .collect();
    calls.sort();
    calls
}

/// Reduces `input` with the default configuration.
pub fn reduce(input: &str, format: Format) -> Reduced {
    reduce_with(input, format, ReducerConfig::default())
}

/// Runs the scenario in both dialects, asserts they agree and nothing was
/// rejected, and returns the outputs.
pub fn run(events: &[Ev]) -> Reduced {
    let from_genesys = reduce(&genesys(events), Format::Genesys);
    let from_tlog = reduce(&tlog(events), Format::Tlog);
    assert!(from_genesys.rejects.is_empty(), "genesys rejects: {:#?}", from_genesys.rejects);
    assert!(from_tlog.rejects.is_empty(), "tlog rejects: {:#?}", from_tlog.rejects);
    assert_eq!(from_genesys, from_tlog, "the dialects disagree");
    from_genesys
}

/// Agents a1..a3 log in on DNs 5001..5003 into queue `Sales` and become ready.
pub fn staffed() -> Vec<Ev> {
    let mut events = Vec::new();
    for (agent, dn) in [("a1", "5001"), ("a2", "5002"), ("a3", "5003")] {
        events.push(ev(
            0.0,
            "EventAgentLogin",
            &[
                ("ThisDN", dn),
                ("AgentID", agent),
                ("ThisQueue", "Sales"),
                ("AgentWorkMode", "ManualIn"),
            ],
        ));
        events.push(ev(
            1.0,
            "EventAgentReady",
            &[("ThisDN", dn), ("AgentID", agent), ("AgentWorkMode", "ManualIn")],
        ));
    }
    events
}

/// Realistic traffic: every call model of [`models`], `copies` times over, each
/// copy with its own agents, DNs, call threads and ConnIDs and shifted in time
/// so copies overlap; merged in time order (each DN's own order kept).
pub fn traffic(copies: usize) -> Vec<Ev> {
    use models::*;
    let builders: [fn() -> Vec<Ev>; 11] = [
        basic,
        routed,
        queued,
        abandoned_in_queue,
        abandoned_ringing,
        abandoned_at_routing_point,
        two_step_transfer,
        single_step_transfer,
        conference,
        outbound,
        agent_session,
    ];
    let mut all = Vec::new();
    for copy in 0..copies {
        let mut events: Vec<(usize, Ev)> = staffed().into_iter().map(|e| (0, e)).collect();
        for (model, build) in builders.iter().enumerate() {
            events.extend(build().into_iter().map(|e| (model, e)));
        }
        let shift = copy as i64 * 37_000;
        for (model, mut event) in events {
            event.t += shift;
            for (name, value) in event.attrs.iter_mut() {
                *value = rename(name, value, copy, model);
            }
            all.push(event);
        }
    }
    all.sort_by_key(|event| event.t);
    all
}

/// Gives copy `copy` of model `model` its own identities.
fn rename(name: &str, value: &str, copy: usize, model: usize) -> String {
    match name {
        "AgentID" => format!("{value}-{copy}"),
        "ThisDN" | "OtherDN" | "ThirdPartyDN" if value.len() == 4 && value.starts_with('5') => {
            format!("{value}{copy:03}")
        }
        "@thread" | "@uuid" => format!("{value}-{copy}"),
        "ConnID" | "PreviousConnID" | "TransferConnID" | "ConferenceConnID" => {
            // Keep 16 hex digits: the copy and the model go into the middle.
            format!("{}{:02x}{:02x}{}", &value[..6], copy % 256, model, &value[10..])
        }
        _ => value.to_owned(),
    }
}

/// A deterministic generator, so a failure names its seed.
pub struct Rng(pub u64);

impl Rng {
    /// The next number below `bound`.
    pub fn below(&mut self, bound: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % bound as u64) as usize
    }
}

/// The DN an event is reported on.
fn dn(event: &Ev) -> &str {
    event.get("ThisDN").unwrap_or("")
}

/// Events reordered as a live stream reorders them: by event time plus a
/// jitter of up to `jitter_ms`, each DN's own order kept.
pub fn jitter(events: &[Ev], jitter_ms: i64, rng: &mut Rng) -> Vec<Ev> {
    let mut keyed: Vec<(i64, usize)> = events
        .iter()
        .enumerate()
        .map(|(i, event)| (event.t + rng.below(jitter_ms as usize + 1) as i64, i))
        .collect();
    keyed.sort();
    let slots: Vec<usize> = keyed.iter().map(|&(_, i)| i).collect();
    // Put each DN's events back into the slots that DN got, in its own order.
    let mut out: Vec<Option<Ev>> = vec![None; events.len()];
    let mut by_dn: std::collections::HashMap<&str, std::collections::VecDeque<&Ev>> =
        Default::default();
    for event in events {
        by_dn.entry(dn(event)).or_default().push_back(event);
    }
    for (slot, &original) in slots.iter().enumerate() {
        let next = by_dn.get_mut(dn(&events[original])).unwrap().pop_front().unwrap();
        out[slot] = Some(next.clone());
    }
    out.into_iter().map(Option::unwrap).collect()
}
