//! A pipeline paused between two records, its state saved as bytes and a new
//! pipeline resumed from them, gives exactly the outputs of one uninterrupted
//! run: no call record lost or repeated, agent changes and totals counted
//! once, statistics and counters equal. This is what a checkpoint restores.

mod scenario;

use ctistream_core::pipeline::{Origin, Pipeline, PipelineConfig, PipelineState};
use ctistream_core::state::{self, CollectOutputs, ReducerConfig};
use ctistream_core::{Format, Frame, FrameReader, Framing, Timestamp};
use scenario::{genesys, tlog, traffic};

/// What a run gave, in a form that does not depend on interleaving across
/// shards: records sorted, changes sorted, snapshots and statistics.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    calls: Vec<String>,
    interactions: Vec<String>,
    changes: Vec<String>,
    agents: String,
    stats: String,
    counters: state::ReduceCounters,
}

fn frames(text: &str, framing: Framing) -> Vec<Frame> {
    FrameReader::new(text.as_bytes(), framing).map(Result::unwrap).collect()
}

fn config(format: Format, shards: usize) -> PipelineConfig {
    PipelineConfig { shards, format, batch: 16, ring: 4, ..PipelineConfig::default() }
}

fn push_all(pipeline: &mut Pipeline<CollectOutputs>, frames: &[Frame]) {
    for frame in frames {
        let origin = Origin { source: 0, line: frame.line };
        pipeline.push(frame.payload.clone(), frame.key.clone(), origin, Timestamp(0));
    }
}

/// The outcome of `outputs` (everything a run wrote, perhaps over several
/// processes) and the final pipeline's state.
fn outcome(
    outputs: &CollectOutputs,
    done: &ctistream_core::pipeline::PipelineDone<CollectOutputs>,
) -> Outcome {
    let mut changes: Vec<String> = outputs
        .changes
        .iter()
        .map(|c| {
            format!(
                "{}/{} {:?}<-{:?} @{} {:?}",
                c.tenant, c.agent, c.status, c.previous, c.at.0, c.reason
            )
        })
        .collect();
    changes.sort();
    let mut interactions: Vec<String> = outputs
        .interactions
        .iter()
        .map(|record| {
            let mut line = Vec::new();
            record.write_json(&mut line);
            String::from_utf8(line).unwrap()
        })
        .collect();
    interactions.sort();
    let mut agents = Vec::new();
    state::write_agent_snapshots(&done.agent_sides(), &mut agents);
    let watermark = done.calls.iter().map(|side| side.watermark()).max().unwrap_or_default();
    let mut stats = Vec::new();
    state::write_stats(&done.call_sides(), &done.agent_sides(), watermark, &mut stats);
    Outcome {
        calls: scenario::call_lines(outputs),
        interactions,
        changes,
        agents: String::from_utf8(agents).unwrap(),
        stats: String::from_utf8(stats).unwrap(),
        counters: done.counters(),
    }
}

fn uninterrupted(frames: &[Frame], config: PipelineConfig) -> Outcome {
    let mut pipeline = Pipeline::start(config, CollectOutputs::default());
    push_all(&mut pipeline, frames);
    let done = pipeline.finish();
    outcome(&done.outputs, &done)
}

/// Runs `frames[..cut]`, saves the state as bytes with what was output so
/// far, drops that pipeline's threads (as a crash would: what it would have
/// written later is lost), and resumes a new pipeline from the bytes for
/// the rest.
fn interrupted_at(frames: &[Frame], cut: usize, config: PipelineConfig) -> Outcome {
    resumed_elsewhere(frames, cut, config.clone(), config)
}

/// [`interrupted_at`] with the second pipeline built as `then` says (another
/// number of shards).
fn resumed_elsewhere(
    frames: &[Frame],
    cut: usize,
    config: PipelineConfig,
    then: PipelineConfig,
) -> Outcome {
    let mut first = Pipeline::start(config, CollectOutputs::default());
    push_all(&mut first, &frames[..cut]);
    let (bytes, mut written) =
        first.pause(|state, outputs| (state.encode().unwrap(), outputs.clone()));
    drop(first.finish());
    let state = PipelineState::decode(&bytes).unwrap();
    let mut second = Pipeline::resume(then, CollectOutputs::default(), state).unwrap();
    push_all(&mut second, &frames[cut..]);
    let done = second.finish();
    written.changes.extend(done.outputs.changes.iter().cloned());
    written.records.extend(done.outputs.records.iter().cloned());
    written.interactions.extend(done.outputs.interactions.iter().cloned());
    outcome(&written, &done)
}

#[test]
fn a_run_resumed_from_saved_state_gives_the_uninterrupted_outputs() {
    let events = traffic(6);
    for (format, text, framing) in [
        (Format::Genesys, genesys(&events), Framing::Lines),
        (Format::Tlog, tlog(&events), Framing::Tlog),
    ] {
        let frames = frames(&text, framing);
        for shards in [1, 3] {
            let expected = uninterrupted(&frames, config(format, shards));
            assert!(expected.calls.len() >= 6 * 13, "{format}: {} calls", expected.calls.len());
            for cut in [1, frames.len() / 3, frames.len() / 2, frames.len() - 1] {
                let got = interrupted_at(&frames, cut, config(format, shards));
                assert_eq!(got, expected, "{format}, {shards} shards, cut after {cut} records");
            }
        }
    }
}

#[test]
fn interactions_resume_mid_life() {
    let text = include_str!("data/ors_sample.ndjson");
    let frames = frames(text, Framing::Lines);
    let expected = uninterrupted(&frames, config(Format::Ors, 2));
    assert!(!expected.interactions.is_empty());
    for cut in 1..frames.len() {
        let got = interrupted_at(&frames, cut, config(Format::Ors, 2));
        assert_eq!(got, expected, "cut after {cut} records");
    }
}

#[test]
fn pausing_in_place_changes_nothing() {
    let text = genesys(&traffic(4));
    let frames = frames(&text, Framing::Lines);
    let expected = uninterrupted(&frames, config(Format::Genesys, 2));
    let mut pipeline = Pipeline::start(config(Format::Genesys, 2), CollectOutputs::default());
    for chunk in frames.chunks(97) {
        push_all(&mut pipeline, chunk);
        let delivered = pipeline.pause(|state, _| state.shards());
        assert_eq!(delivered, 2);
    }
    let done = pipeline.finish();
    assert_eq!(outcome(&done.outputs, &done), expected);
}

/// Records replayed after a restore (a source that resumes a little before
/// its saved position) are dropped as duplicates: the filter's windows are
/// part of the state.
#[test]
fn records_seen_before_the_pause_are_duplicates_after_it() {
    let text = genesys(&traffic(3));
    let numbered: String = (1..)
        .zip(text.lines())
        .map(|(seq, line)| {
            let body = line.strip_suffix('}').unwrap();
            format!("{body},\"Server\":7,\"EventSequenceNumber\":{seq}}}\n")
        })
        .collect();
    let frames = frames(&numbered, Framing::Lines);
    let expected = uninterrupted(&frames, config(Format::Genesys, 2));
    let cut = frames.len() / 2;
    let mut replayed = frames[..cut].to_vec();
    replayed.extend_from_slice(&frames[cut - 40..]);
    let got = interrupted_at(&replayed, cut, config(Format::Genesys, 2));
    assert_eq!(got.counters.duplicates, 40);
    assert_eq!(got.calls, expected.calls);
    assert_eq!(got.changes, expected.changes);
    assert_eq!(got.agents, expected.agents);
}

#[test]
fn damaged_or_unfitting_state_is_refused() {
    let text = genesys(&traffic(2));
    let frames = frames(&text, Framing::Lines);
    let mut pipeline = Pipeline::start(config(Format::Genesys, 2), CollectOutputs::default());
    push_all(&mut pipeline, &frames[..frames.len() / 2]);
    let bytes = pipeline.pause(|state, _| state.encode().unwrap());
    drop(pipeline.finish());

    for len in [0, 1, bytes.len() / 2, bytes.len() - 1] {
        let error = PipelineState::decode(&bytes[..len]).unwrap_err();
        assert!(error.to_string().contains("unreadable pipeline state"), "{error}");
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(PipelineState::decode(&longer).unwrap_err().to_string().contains("after its end"));

    let state = PipelineState::decode(&bytes).unwrap();
    let mut other = config(Format::Genesys, 2);
    other.reducer = ReducerConfig {
        calls: state::CallConfig { linger_ms: 5_000, ..state::CallConfig::default() },
        ..ReducerConfig::default()
    };
    let error = Pipeline::resume(other, CollectOutputs::default(), state).unwrap_err();
    assert!(error.to_string().contains("other reducer settings"), "{error}");
}

/// The same traffic without record keys: routed by the identities in the
/// records, so moved calls are found through the router's identity map.
fn keyless(frames: &[Frame]) -> Vec<Frame> {
    frames.iter().map(|frame| Frame { key: None, ..frame.clone() }).collect()
}

#[test]
fn a_state_resumed_with_another_shard_count_gives_the_uninterrupted_outputs() {
    let events = traffic(6);
    for (format, text, framing) in [
        (Format::Genesys, genesys(&events), Framing::Lines),
        (Format::Tlog, tlog(&events), Framing::Tlog),
    ] {
        let keyed = frames(&text, framing);
        for (what, frames) in [("keyed", keyed.clone()), ("keyless", keyless(&keyed))] {
            let expected = uninterrupted(&frames, config(format, 2));
            for (before, after) in [(1, 3), (3, 1), (2, 4), (4, 2), (3, 2)] {
                for cut in [frames.len() / 3, frames.len() / 2, frames.len() * 4 / 5] {
                    let got = resumed_elsewhere(
                        &frames,
                        cut,
                        config(format, before),
                        config(format, after),
                    );
                    assert_eq!(
                        got, expected,
                        "{format} {what}: {before} shards then {after}, cut after {cut}"
                    );
                }
            }
        }
    }
}

/// The `interactionid` of an ORS record (its text as written).
fn interaction_id(payload: &[u8]) -> String {
    let text = String::from_utf8_lossy(payload);
    let (_, rest) = text.split_once("\"interactionid\"").expect("an interaction id");
    let rest = rest.trim_start().trim_start_matches(':').trim_start();
    rest.trim_start_matches('"').split('"').next().unwrap_or_default().to_owned()
}

/// Interactions, with their pending requests and tombstones, move between
/// shard counts. (The sample without its `interaction.onmerge`: a merge
/// names two interactions, which can be on two shards, so its outputs
/// depend on the shard count even without a restart.)
#[test]
fn interactions_resume_mid_life_with_another_shard_count() {
    let text: String = include_str!("data/ors_sample.ndjson")
        .lines()
        .filter(|line| !line.contains("onmerge"))
        .map(|line| format!("{line}\n"))
        .collect();
    let frames = frames(&text, Framing::Lines);
    // Every record of an interaction keyed alike: all by `t1:ID`, or none
    // (the sample mixes both, which the router sends to different shards).
    let keyed: Vec<Frame> = frames
        .iter()
        .map(|frame| {
            let id = interaction_id(&frame.payload);
            Frame { key: Some(format!("t1:{id}").into_bytes().into()), ..frame.clone() }
        })
        .collect();
    for (what, frames) in [("keyed", keyed), ("keyless", keyless(&frames))] {
        let expected = uninterrupted(&frames, config(Format::Ors, 2));
        assert!(!expected.interactions.is_empty());
        for shards in [1, 3] {
            let other = uninterrupted(&frames, config(Format::Ors, shards));
            assert_eq!(other, expected, "{what}: no restart, {shards} shards");
        }
        for (before, after) in [(2, 3), (3, 1), (1, 2)] {
            for cut in 1..frames.len() {
                let got = resumed_elsewhere(
                    &frames,
                    cut,
                    config(Format::Ors, before),
                    config(Format::Ors, after),
                );
                assert_eq!(got, expected, "{what}: {before} shards then {after}, cut after {cut}");
            }
        }
    }
}
