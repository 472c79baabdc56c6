//! Input spread over streams as a Kafka topic spreads it over partitions (by
//! record key), each stream read to its end before the next: the call records
//! are those of the one ordered stream.
//!
//! Only per-key order survives partitioning, so nothing about a call may
//! depend on the order across streams: not the duplicate filter (a lagging
//! partition's sequence numbers are far below the leading one's) and not the
//! linger before a released thread is emitted (a lagging partition's release
//! is far behind the leading one's clock).

mod scenario;

use std::hash::BuildHasher;

use ctistream_core::pipeline::{Origin, Pipeline, PipelineConfig};
use ctistream_core::state::{CollectOutputs, Reducer, ReducerConfig};
use ctistream_core::{Decoder, Format, Frame, FrameReader, Framing, Timestamp};
use rustc_hash::FxBuildHasher;
use scenario::{call_lines, genesys, traffic};

const PARTITIONS: usize = 4;

/// Generated traffic as keyed Voice Microservices lines, numbered as one
/// T-Server numbers its events (over twice as many as the duplicate filter's
/// window, so a partition read late falls outside it).
///
/// Call events on an agent's DN name the agent, as call-thread events on the
/// topic do. Without it a leg is attributed through the DN's binding, learned
/// from agent events in other partitions: that depends on how far apart the
/// partitions are read, which no reducer can undo (ARCHITECTURE.md).
fn numbered_traffic() -> Vec<String> {
    let text = genesys(&traffic(120));
    let lines: Vec<String> = (1..)
        .zip(text.lines())
        .map(|(seq, line)| {
            let body = line.strip_suffix('}').expect("a JSON object");
            let agent = agent_named(body).unwrap_or_default();
            format!("{body}{agent},\"Server\":7,\"EventSequenceNumber\":{seq}}}")
        })
        .collect();
    assert!(
        lines.len() > 2 * ctistream_core::state::Dedupe::WINDOW as usize,
        "{} lines",
        lines.len()
    );
    lines
}

/// `,"AgentID":…` for a call event on agent DN `500N` of copy `C` (`500NCCC`,
/// staffed by `aN-C`) that names no agent.
fn agent_named(body: &str) -> Option<String> {
    if body.contains("\"AgentID\"") || !body.contains("\"CallThreadID\"") {
        return None;
    }
    let (_, rest) = body.split_once("\"ThisDN\":\"")?;
    let dn = rest.split('"').next()?;
    let (agent, copy) = (dn.strip_prefix("500")?.get(..1)?, dn.get(4..)?);
    let copy: u32 = copy.parse().ok().filter(|_| dn.len() == 7)?;
    Some(format!(",\"AgentID\":\"a{agent}-{copy}\""))
}

/// The lines of each partition, by key hash, in their original order.
fn partition(lines: &[String]) -> Vec<Vec<String>> {
    let mut partitions = vec![Vec::new(); PARTITIONS];
    for line in lines {
        let key = line.split_once('\t').map_or("", |(key, _)| key);
        partitions[FxBuildHasher.hash_one(key) as usize % PARTITIONS].push(line.clone());
    }
    partitions
}

fn frames(lines: &[String]) -> Vec<Frame> {
    let text = lines.join("\n");
    FrameReader::new(text.as_bytes(), Framing::Lines).map(Result::unwrap).collect()
}

/// Reduces the streams one after another with the single-threaded reducer.
fn reduce(streams: &[Vec<String>]) -> (Vec<String>, u64) {
    let decoder = Decoder::new(Format::Genesys);
    let mut reducer = Reducer::new(ReducerConfig::default());
    let mut out = CollectOutputs::default();
    for (stream, lines) in (0u32..).zip(streams) {
        for frame in frames(lines) {
            let event = decoder.decode(&frame.payload, frame.key.as_deref()).unwrap();
            let origin = Origin { source: stream, line: frame.line };
            reducer.apply_from(origin, &event, Timestamp(0), &mut out);
        }
    }
    reducer.finish(&mut out);
    (call_lines(&out), reducer.counters().duplicates)
}

#[test]
fn partitions_read_one_after_another_give_the_calls_of_the_ordered_stream() {
    let lines = numbered_traffic();
    let (expected, duplicates) = reduce(std::slice::from_ref(&lines));
    assert_eq!(duplicates, 0);
    assert!(expected.len() >= 120 * 10, "{} calls", expected.len());
    let partitions = partition(&lines);
    assert!(partitions.iter().all(|p| p.len() > lines.len() / 8), "keys spread over partitions");
    let (got, duplicates) = reduce(&partitions);
    assert_eq!(duplicates, 0, "a lagging partition is not a replay");
    assert_eq!(got, expected);
    // Last partition first: the order across streams does not matter.
    let reversed: Vec<Vec<String>> = partitions.iter().rev().cloned().collect();
    assert_eq!(reduce(&reversed).0, expected);
}

#[test]
fn the_sharded_pipeline_gives_the_same_calls_from_partitions() {
    let lines = numbered_traffic();
    let (expected, _) = reduce(std::slice::from_ref(&lines));
    let config = PipelineConfig { shards: 3, format: Format::Genesys, ..PipelineConfig::default() };
    let mut pipeline = Pipeline::start(config, CollectOutputs::default());
    for (source, lines) in (0u32..).zip(partition(&lines)) {
        for frame in frames(&lines) {
            let origin = Origin { source, line: frame.line };
            pipeline.push(frame.payload, frame.key, origin, Timestamp(0));
        }
    }
    let done = pipeline.finish();
    assert_eq!(done.counters().duplicates, 0);
    assert_eq!(call_lines(&done.outputs), expected);
}

#[test]
fn a_replay_within_a_partition_is_still_dropped() {
    let lines = numbered_traffic();
    let (expected, _) = reduce(std::slice::from_ref(&lines));
    let mut partitions = partition(&lines);
    // A partition re-delivered from an older commit: its last 100 records again.
    let tail: Vec<String> = partitions[1].iter().rev().take(100).rev().cloned().collect();
    partitions[1].extend(tail);
    let (got, duplicates) = reduce(&partitions);
    assert_eq!(duplicates, 100);
    assert_eq!(got, expected);
}
