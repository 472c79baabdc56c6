//! The reducer properties: what must hold of the single-threaded reducer's
//! outputs and state for any sequence of operations, and the sharded pipeline
//! giving exactly its outputs.

use std::collections::BTreeMap;

use bytes::Bytes;
use ctistream_core::pipeline::{Origin, Pipeline, PipelineConfig};
use ctistream_core::state::{
    self, CallConfig, CollectOutputs, OwnedAgentChange, Reducer, ReducerConfig, status_index,
};
use ctistream_core::{AgentStatus, Decoder, Format, Timestamp};

use crate::ops::{Numbering, Record, Rendered, Script};

/// Ingest time for records without one (every rendered record has a time;
/// IVR records do not, and take this).
const INGEST: Timestamp = Timestamp(1_774_600_000_000_000);

/// Feeds `records` through a fresh single-threaded reducer, calling `after`
/// with the reducer and outputs so far after each record.
fn reduce(
    records: &[Record],
    config: ReducerConfig,
    mut after: impl FnMut(usize, &Reducer, &CollectOutputs),
) -> (Reducer, CollectOutputs) {
    let decoder = Decoder::new(Format::Auto);
    let mut reducer = Reducer::new(config);
    let mut out = CollectOutputs::default();
    for (i, record) in records.iter().enumerate() {
        let event = decoder
            .decode(record.payload.as_bytes(), record.key.as_deref().map(str::as_bytes))
            .unwrap_or_else(|error| panic!("rendered record {i} rejected: {error}: {record:?}"));
        reducer.apply(&event, INGEST, &mut out);
        after(i, &reducer, &out);
    }
    (reducer, out)
}

/// Runs the script through the reference reducer and checks, on every output
/// and on the state at the end:
///
/// - call records: durations never negative, `ended` not before `started`,
///   queue time within the call's span, ring + talk + hold no more than every
///   leg busy for the call's whole span, each agent listed once;
/// - status changes: per agent a chain (each change's `previous` is the status
///   the one before reported, only the first has none), in non-decreasing time;
///   reasons only on not-ready and after-call work;
/// - agents: exactly one status each — the statistics count every agent under
///   exactly one status, the one its last change reported; ready, not-ready
///   and after-call-work time within login time;
/// - state freed: once every leg is released and the linger span passed, no
///   call thread is open, no agent has a call leg or a call status, and the
///   end-of-input flush has nothing left to emit.
pub fn check_reducer(script: &Script) {
    let rendered = script.render(Numbering::Pool);
    let mut checked_records = 0;
    let (mut reducer, mut out) = reduce(&rendered.records, with_sessions(), |_, _, out| {
        for record in &out.records[checked_records..] {
            check_record(record, &rendered);
        }
        checked_records = out.records.len();
    });
    check_changes(&out.changes);
    check_agents(&reducer, &out.changes);

    assert_eq!(reducer.calls().open(), 0, "call threads left open after every leg was released");
    check_sessions(reducer.agents());
    for agent in reducer.agents().iter() {
        let name = reducer.names().name(agent.agent());
        assert!(agent.leg_conns().is_empty(), "{name} keeps call legs after every call ended");
        let status = agent.status();
        assert!(
            matches!(
                status,
                AgentStatus::WaitForNextCall
                    | AgentStatus::NotReadyForNextCall
                    | AgentStatus::AfterCallWork
                    | AgentStatus::LoggedOut
            ),
            "{name} shows {status:?} after every call ended"
        );
    }
    let emitted = out.records.len();
    reducer.finish(&mut out);
    assert_eq!(out.records.len(), emitted, "the flush found calls that had all ended");
}

/// The reducer as `ctistream run` sets it up: agents keep where their
/// sessions began (checked by [`check_sessions`]).
fn with_sessions() -> ReducerConfig {
    let agents = state::AgentConfig { sessions: true, ..state::AgentConfig::default() };
    ReducerConfig { agents, ..ReducerConfig::default() }
}

/// The agents' commit floors are, per stream, the earliest record a
/// logged-in agent's session holds: the table's index of them stays true
/// through logins, logouts, legs and evictions.
fn check_sessions(agents: &state::AgentTable) {
    let mut want: BTreeMap<u32, u64> = BTreeMap::new();
    for agent in agents.iter() {
        for &(stream, position) in agents.session_starts(agent.tenant(), agent.agent()) {
            let floor = want.entry(stream).or_insert(position);
            *floor = (*floor).min(position);
        }
    }
    let mut got: Vec<(u32, u64)> = Vec::new();
    agents.open_floors(&mut got);
    got.sort_unstable();
    assert_eq!(got, want.into_iter().collect::<Vec<_>>(), "agent session floors");
}

fn check_record(record: &state::CallRecord, rendered: &Rendered) {
    let call = &record.call;
    let ended = record.ended.expect("a record emitted before the end has an end");
    let span_ms = (ended.0 - record.started.0) / 1000;
    assert!(span_ms >= 0, "{call}: ended {ended:?} before started {:?}", record.started);
    for (name, value) in [
        ("queue_ms", record.queue_ms),
        ("ring_ms", record.ring_ms),
        ("talk_ms", record.talk_ms),
        ("hold_ms", record.hold_ms),
    ] {
        assert!(value >= 0, "{call}: {name} = {value}");
    }
    assert!(
        record.queue_ms <= span_ms,
        "{call}: queued {} ms of a {span_ms} ms call",
        record.queue_ms
    );
    if let Some(wait) = record.wait_ms {
        assert!((0..=span_ms).contains(&wait), "{call}: waited {wait} ms of a {span_ms} ms call");
    }
    // Each leg's ring, talk and hold are consecutive segments of its life
    // inside the call's span: together no more than every leg busy throughout.
    let legs = rendered.legs.max(1) as i64;
    let busy = record.ring_ms + record.talk_ms + record.hold_ms;
    assert!(
        busy <= legs * (span_ms + 1),
        "{call}: ring {} + talk {} + hold {} ms exceed {legs} legs × {span_ms} ms",
        record.ring_ms,
        record.talk_ms,
        record.hold_ms
    );
    let mut agents = record.agents.clone();
    agents.sort();
    agents.dedup();
    assert_eq!(agents.len(), record.agents.len(), "{call}: an agent listed twice");
}

fn check_changes(changes: &[OwnedAgentChange]) {
    let mut last: BTreeMap<(&str, &str), (AgentStatus, Timestamp)> = BTreeMap::new();
    for change in changes {
        let who = (change.tenant.as_str(), change.agent.as_str());
        match last.get(&who) {
            None => {
                assert_eq!(change.previous, None, "{who:?}: first change names a previous status")
            }
            Some(&(status, at)) => {
                assert_eq!(change.previous, Some(status), "{who:?}: changes do not chain");
                assert!(change.at >= at, "{who:?}: change at {:?} before {at:?}", change.at);
            }
        }
        if change.reason.is_some() {
            assert!(
                matches!(
                    change.status,
                    AgentStatus::NotReadyForNextCall | AgentStatus::AfterCallWork
                ),
                "{who:?}: a reason on {:?}",
                change.status
            );
        }
        last.insert(who, (change.status, change.at));
    }
}

fn check_agents(reducer: &Reducer, changes: &[OwnedAgentChange]) {
    let names = reducer.names();
    let mut by_status = [0u32; 12];
    for agent in reducer.agents().iter() {
        let (tenant, name) = (names.name(agent.tenant()), names.name(agent.agent()));
        by_status[status_index(agent.status())] += 1;
        let last =
            changes.iter().rev().find(|c| c.tenant == tenant && c.agent == name).map(|c| c.status);
        assert_eq!(last, Some(agent.status()), "{name}: the last change is not the status");
        let [login, ready, not_ready, acw, ..] = agent.totals_ms();
        assert!(
            ready + not_ready + acw <= login,
            "{name}: ready {ready} + not ready {not_ready} + acw {acw} ms > login {login} ms"
        );
    }
    let mut counted = [0u32; 12];
    for (_, queue) in reducer.stats().sorted(names) {
        for (sum, n) in counted.iter_mut().zip(queue.agents) {
            *sum += n;
        }
    }
    assert_eq!(counted, by_status, "the statistics do not count each agent under its one status");
}

/// The outputs of a run in a form that does not depend on interleaving
/// across shards (as `core/tests/pipeline_equivalence.rs` compares them):
/// call records sorted, agent snapshots, changes grouped per agent in order,
/// queue statistics and counters.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    calls: Vec<String>,
    agents: String,
    changes: Vec<String>,
    stats: String,
    counters: state::ReduceCounters,
}

fn summarize(out: &CollectOutputs) -> (Vec<String>, Vec<String>) {
    let mut calls: Vec<String> = out
        .records
        .iter()
        .map(|record| {
            let mut line = Vec::new();
            record.write_json(&mut line);
            String::from_utf8(line).expect("records are JSON text")
        })
        .collect();
    calls.sort();
    let mut changes: Vec<String> = out
        .changes
        .iter()
        .map(|c| {
            format!(
                "{}/{}: {:?}<-{:?} @{} {:?}",
                c.tenant, c.agent, c.status, c.previous, c.at.0, c.reason
            )
        })
        .collect();
    // A stable sort by agent keeps each agent's changes in their order.
    changes.sort_by(|a, b| a.split(':').next().cmp(&b.split(':').next()));
    (calls, changes)
}

/// The shape of a pipeline run the fuzzer picks along with the traffic.
#[derive(arbitrary::Arbitrary, Clone, Copy, Debug)]
pub struct Shape {
    /// 2 or 3 shards.
    pub three_shards: bool,
    /// Batch size (1–16 records).
    pub batch: u8,
    /// Ring size (1–4 batches) in the low two bits; the next two say from how
    /// many waiting batches the router decodes a shard's records (never, 0, 1
    /// or 2: never first, so inputs from before that setting, whose other bits
    /// are mostly zero, keep their meaning).
    pub ring: u8,
}

/// Runs the script's records (without the closing releases when `close` is
/// false, so calls are also flushed open) through the reference reducer and
/// through a sharded pipeline of `shape`: the outputs must be the same.
/// Sequence numbers are a server's ([`Numbering::Server`]): unique per event,
/// repeated only by re-deliveries, which is what the pipeline's per-shard
/// duplicate filters rely on.
pub fn check_sharded(script: &Script, shape: Shape, close: bool) {
    let rendered = script.render(Numbering::Server);
    let records = if close { &rendered.records[..] } else { &rendered.records[..rendered.ops_end] };
    // Threads linger until the end: the router remembers which shard an
    // identity went to for longer than the call side keeps the thread, so an
    // id used again after its thread was emitted can be routed apart from
    // where the reference joins it. Real ids are not reused (found by
    // `sharded_equals_reference`); `reducer_ops` covers the linger path.
    let reducer = ReducerConfig {
        calls: CallConfig { linger_ms: i64::MAX, ..CallConfig::default() },
        ..ReducerConfig::default()
    };
    let (mut reducer, mut out) = reduce(records, reducer, |_, _, _| {});
    reducer.finish(&mut out);
    let (calls, changes) = summarize(&out);
    let mut agents = Vec::new();
    reducer.write_agent_snapshots(&mut agents);
    let mut stats = Vec::new();
    reducer.write_stats(reducer.watermark(), &mut stats);
    let expected = Outcome {
        calls,
        agents: String::from_utf8(agents).expect("snapshots are text"),
        changes,
        stats: String::from_utf8(stats).expect("statistics are text"),
        counters: reducer.counters(),
    };

    let config = PipelineConfig {
        shards: if shape.three_shards { 3 } else { 2 },
        format: Format::Auto,
        batch: usize::from(shape.batch % 16) + 1,
        ring: usize::from(shape.ring % 4) + 1,
        decode_ahead: [usize::MAX, 0, 1, 2][usize::from(shape.ring / 4 % 4)],
        reducer: ReducerConfig {
            calls: CallConfig { linger_ms: i64::MAX, ..CallConfig::default() },
            ..ReducerConfig::default()
        },
        ..PipelineConfig::default()
    };
    let shape = format!(
        "{} shards, batch {}, ring {}, decode ahead {}",
        config.shards, config.batch, config.ring, config.decode_ahead
    );
    let mut pipeline = Pipeline::start(config, CollectOutputs::default());
    for (line, record) in records.iter().enumerate() {
        let origin = Origin { source: 0, line: line as u64 + 1 };
        let key = record.key.clone().map(Bytes::from);
        pipeline.push(Bytes::from(record.payload.clone()), key, origin, INGEST);
    }
    let done = pipeline.finish();
    let (calls, changes) = summarize(&done.outputs);
    let mut agents = Vec::new();
    state::write_agent_snapshots(&done.agent_sides(), &mut agents);
    let watermark = done.calls.iter().map(|side| side.watermark()).max().unwrap_or_default();
    let mut stats = Vec::new();
    state::write_stats(&done.call_sides(), &done.agent_sides(), watermark, &mut stats);
    let got = Outcome {
        calls,
        agents: String::from_utf8(agents).expect("snapshots are text"),
        changes,
        stats: String::from_utf8(stats).expect("statistics are text"),
        counters: done.counters(),
    };
    assert_eq!(got.calls, expected.calls, "call records differ ({shape})");
    assert_eq!(got.changes, expected.changes, "status changes differ ({shape})");
    assert_eq!(got.agents, expected.agents, "agent snapshots differ ({shape})");
    assert_eq!(got.stats, expected.stats, "statistics differ ({shape})");
    assert_eq!(got.counters, expected.counters, "counters differ ({shape})");
}
