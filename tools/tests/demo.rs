//! `ctistream demo`: its wallboard numbers are what the single-threaded
//! reducer makes of the same generated events, and the command prints every
//! section an operator reads.

use std::process::Command;

use bytes::Bytes;
use ctistream_core::state::{self, CollectOutputs, Reducer, ReducerConfig};
use ctistream_core::{Decoder, Format, MemoryFrames, Timestamp};
use ctistream_tools::demo::{DemoOptions, demo};
use ctistream_tools::generate::{GenDialect, generate};
use ctistream_tools::input::default_framing;

fn options(dialect: GenDialect) -> DemoOptions {
    DemoOptions { agents: 40, tenants: 2, minutes: 25, seed: 5, dialect, shards: 3, queue_rows: 4 }
}

fn matches_the_reference_reducer(dialect: GenDialect) {
    let options = options(dialect);
    let report = demo(&options, |_| {}).unwrap();

    let mut events = Vec::new();
    generate(&options.gen_options(), &mut events, None, |_| {}).unwrap();
    let decoder = Decoder::new(Format::Auto);
    let mut reducer = Reducer::new(ReducerConfig::default());
    let mut out = CollectOutputs::default();
    let frames = MemoryFrames::new(Bytes::from(events), default_framing(Format::Auto));
    for frame in frames {
        let frame = frame.unwrap();
        let event = decoder.decode(&frame.payload, frame.key.as_deref()).unwrap();
        reducer.apply(&event, Timestamp(0), &mut out);
    }
    // The end of input flushes open threads; the calls waiting then are kept.
    reducer.finish(&mut out);
    let at = reducer.watermark();
    let queues = state::queue_stats(&[reducer.call_side()], &[reducer.agent_side()], at);
    let mut agents = [0u32; 12];
    for agent in reducer.agents().iter() {
        agents[state::status_index(agent.status())] += 1;
    }

    assert_eq!(report.rejected, 0);
    assert_eq!(report.events, reducer.counters().events);
    assert_eq!(report.at, at);
    assert_eq!(report.agents, agents);
    assert_eq!(report.queues, queues);
    // A live picture: everyone still logged in, calls in progress and waiting.
    assert_eq!(agents[11], 0, "nobody logged out at the cut");
    assert_eq!(agents.iter().sum::<u32>(), 80);
    assert!(report.talking > 0);
    assert!(queues.values().map(|(_, waiting)| waiting.calls).sum::<u32>() > 0, "{queues:?}");
    assert!(queues.values().map(|(stats, _)| stats.answered).sum::<u64>() > 300);
}

#[test]
fn genesys_demo_matches_the_reference_reducer() {
    matches_the_reference_reducer(GenDialect::Genesys);
}

#[test]
fn mixed_demo_matches_the_reference_reducer() {
    matches_the_reference_reducer(GenDialect::Mixed);
}

#[test]
fn the_command_prints_the_wallboard() {
    let output = Command::new(env!("CARGO_BIN_EXE_ctistream"))
        .args(["demo", "--agents", "30", "--minutes", "15", "--shards", "2"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let text = String::from_utf8(output.stdout).unwrap();
    for section in [
        "15 simulated minutes at 2 tenants × 30 agents",
        "processed them on 2 shards",
        ", 0 rejected",
        ": 60 logged in",
        "Ready",
        "After-call work",
        "SL 20s",
        "all queues",
        "end_to_end",
    ] {
        assert!(text.contains(section), "{section:?} missing from:\n{text}");
    }
    let failed = Command::new(env!("CARGO_BIN_EXE_ctistream"))
        .args(["demo", "--minutes", "0"])
        .output()
        .unwrap();
    assert!(!failed.status.success());
    assert!(String::from_utf8_lossy(&failed.stderr).contains("--minutes must be at least 1"));
}
