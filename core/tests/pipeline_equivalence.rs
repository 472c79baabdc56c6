//! The sharded pipeline gives exactly the single-threaded reducer's outputs,
//! for every shard count, batch size and ring size, in two dialects.

mod scenario;

use bytes::Bytes;
use ctistream_core::pipeline::{Origin, Pipeline, PipelineConfig};
use ctistream_core::state::{self, CollectOutputs, Reducer, ReducerConfig};
use ctistream_core::{Decoder, Format, Frame, FrameReader, Framing, Timestamp};
use scenario::{genesys, tlog, traffic};

/// The outputs in a form that does not depend on interleaving across agents
/// and calls: records sorted, snapshots, changes grouped per agent in order.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    calls: Vec<String>,
    agents: String,
    changes: Vec<String>,
    stats: String,
    counters: state::ReduceCounters,
}

fn frames(text: &str, format: Format) -> Vec<Frame> {
    let framing = if format == Format::Tlog { Framing::Tlog } else { Framing::Lines };
    FrameReader::new(text.as_bytes(), framing).map(Result::unwrap).collect()
}

fn summarize(out: &CollectOutputs) -> (Vec<String>, Vec<String>) {
    let calls = scenario::call_lines(out);
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
    changes.sort_by(|a, b| a.split(':').next().cmp(&b.split(':').next()));
    (calls, changes)
}

fn reference(frames: &[Frame], format: Format) -> Outcome {
    let decoder = Decoder::new(format);
    let mut reducer = Reducer::new(ReducerConfig::default());
    let mut out = CollectOutputs::default();
    for frame in frames {
        let event = decoder.decode(&frame.payload, frame.key.as_deref()).unwrap();
        reducer.apply(&event, Timestamp(0), &mut out);
    }
    reducer.finish(&mut out);
    let (calls, changes) = summarize(&out);
    let mut agents = Vec::new();
    reducer.write_agent_snapshots(&mut agents);
    let mut stats = Vec::new();
    reducer.write_stats(reducer.watermark(), &mut stats);
    Outcome {
        calls,
        agents: String::from_utf8(agents).unwrap(),
        changes,
        stats: String::from_utf8(stats).unwrap(),
        counters: reducer.counters(),
    }
}

/// The shape of a sharded run: shards, records per batch, batches per ring,
/// and from how many waiting batches the router decodes for a shard.
#[derive(Clone, Copy, Debug)]
struct Shape {
    shards: usize,
    batch: usize,
    ring: usize,
    decode_ahead: usize,
}

fn sharded(frames: &[Frame], format: Format, shape: Shape) -> Outcome {
    let Shape { shards, batch, ring, decode_ahead } = shape;
    let config =
        PipelineConfig { shards, format, batch, ring, decode_ahead, ..PipelineConfig::default() };
    let mut pipeline = Pipeline::start(config, CollectOutputs::default());
    for frame in frames {
        let origin = Origin { source: 0, line: frame.line };
        pipeline.push(frame.payload.clone(), frame.key.clone(), origin, Timestamp(0));
    }
    let done = pipeline.finish();
    let (calls, changes) = summarize(&done.outputs);
    let mut agents = Vec::new();
    state::write_agent_snapshots(&done.agent_sides(), &mut agents);
    let watermark = done.calls.iter().map(|side| side.watermark()).max().unwrap_or_default();
    let mut stats = Vec::new();
    state::write_stats(&done.call_sides(), &done.agent_sides(), watermark, &mut stats);
    Outcome {
        calls,
        agents: String::from_utf8(agents).unwrap(),
        changes,
        stats: String::from_utf8(stats).unwrap(),
        counters: done.counters(),
    }
}

#[test]
fn every_shard_count_gives_the_reference_outputs() {
    let events = traffic(12);
    for (format, text) in [(Format::Genesys, genesys(&events)), (Format::Tlog, tlog(&events))] {
        let frames = frames(&text, format);
        let expected = reference(&frames, format);
        assert!(expected.calls.len() >= 12 * 13, "{format}: {} calls", expected.calls.len());
        let shapes = [(1, 256, 64), (2, 256, 64), (3, 7, 2), (4, 1, 1), (8, 33, 4)];
        // The router decoding every record, none but broadcast ones, and as
        // the pipeline does by default (when a shard's ring backs up).
        for decode_ahead in [0, usize::MAX, PipelineConfig::default().decode_ahead] {
            for (shards, batch, ring) in shapes {
                let shape = Shape { shards, batch, ring, decode_ahead };
                let got = sharded(&frames, format, shape);
                assert_eq!(got.calls, expected.calls, "{format} {shape:?}");
                assert_eq!(got.agents, expected.agents, "{format} {shape:?}");
                assert_eq!(got.changes, expected.changes, "{format} {shape:?}");
                assert_eq!(got.stats, expected.stats, "{format} {shape:?}");
                assert_eq!(got.counters, expected.counters, "{format} {shape:?}");
            }
        }
    }
}

#[test]
fn rejects_reach_the_outputs_once_with_their_origin() {
    #[derive(Default)]
    struct Rejects(Vec<(u64, String)>);
    impl state::Outputs for Rejects {
        fn reject(&mut self, origin: Origin, error: &ctistream_core::DecodeError, _: &[u8]) {
            self.0.push((origin.line, error.to_string()));
        }
    }
    // Whether the router or the shard tried to decode them, once each.
    for decode_ahead in [0, usize::MAX] {
        let config =
            PipelineConfig { shards: 3, batch: 2, decode_ahead, ..PipelineConfig::default() };
        let mut pipeline = Pipeline::start(config, Rejects::default());
        let lines = [
            "{\"id\":\"EventRinging\"",
            "<Port>",
            "{\"id\":\"EventAgentReady\",\"ThisDN\":\"1\"}",
            "garbage",
        ];
        for round in 0..50u64 {
            for (i, line) in lines.iter().enumerate() {
                let origin = Origin { source: 0, line: round * 4 + i as u64 + 1 };
                pipeline.push(
                    Bytes::from_static(line.as_bytes()),
                    Some(Bytes::from(format!("t:{i}"))),
                    origin,
                    Timestamp(0),
                );
            }
        }
        let done = pipeline.finish();
        let mut rejects = done.outputs.0;
        // Shards deliver in their own order; each reject is reported exactly once.
        rejects.sort();
        assert_eq!(rejects.len(), 150, "decode_ahead={decode_ahead}");
        let lines: Vec<u64> = rejects.iter().map(|(line, _)| *line).collect();
        let expected: Vec<u64> =
            (0..50u64).flat_map(|round| [1, 2, 4].map(|i| round * 4 + i)).collect();
        assert_eq!(lines, expected, "lines 1, 2 and 4 of every round of four");
        assert_eq!(rejects[0], (1, "record ends inside a JSON value at byte 20".to_owned()));
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(16))]

    /// Random traffic sizes, live-like reordering across DNs, shard counts,
    /// batch and ring sizes, in either dialect: always the reference outputs.
    #[test]
    fn random_pipelines_give_the_reference_outputs(
        copies in 1usize..4,
        seed in 1u64..u64::MAX,
        shards in 1usize..6,
        batch in 1usize..64,
        ring in 1usize..8,
        decode_ahead in proptest::prop_oneof![0usize..4, proptest::strategy::Just(usize::MAX)],
        in_tlog in proptest::prelude::any::<bool>(),
    ) {
        let events = scenario::jitter(&traffic(copies), 1_500, &mut scenario::Rng(seed));
        let (format, text) = if in_tlog { (Format::Tlog, tlog(&events)) } else { (Format::Genesys, genesys(&events)) };
        let frames = frames(&text, format);
        let expected = reference(&frames, format);
        let got = sharded(&frames, format, Shape { shards, batch, ring, decode_ahead });
        proptest::prop_assert_eq!(got, expected);
    }
}

#[test]
fn a_routing_thread_reads_the_ready_view_while_the_pipeline_runs() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

    let events = traffic(40);
    let frames = frames(&genesys(&events), Format::Genesys);
    let config = PipelineConfig { shards: 2, format: Format::Genesys, ..PipelineConfig::default() };
    let mut pipeline = Pipeline::start(config, state::NoOutputs);
    let view = pipeline.ready_view();
    let (stop, reads, seen) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
    );
    let reader = {
        let (stop, reads, seen) = (stop.clone(), reads.clone(), seen.clone());
        std::thread::spawn(move || {
            let mut slowest = std::time::Duration::ZERO;
            while !stop.load(Ordering::Relaxed) {
                let started = std::time::Instant::now();
                if view.longest_idle("t1", "Sales").is_some() {
                    seen.fetch_add(1, Ordering::Relaxed);
                }
                slowest = slowest.max(started.elapsed());
                reads.fetch_add(1, Ordering::Relaxed);
            }
            slowest
        })
    };
    for chunk in frames.chunks(64) {
        for frame in chunk {
            pipeline.push(
                frame.payload.clone(),
                frame.key.clone(),
                Origin { source: 0, line: frame.line },
                Timestamp(0),
            );
        }
        pipeline.flush();
        // The reader reads while the shards work on the chunk, however the
        // scheduler shares out a busy machine; until it has seen ready
        // agents the run is stretched over several publishing intervals
        // (views are published at most every PUBLISH_EVERY).
        let (before, waited) = (reads.load(Ordering::Relaxed), std::time::Instant::now());
        while reads.load(Ordering::Relaxed) < before + 2
            && waited.elapsed() < std::time::Duration::from_secs(1)
        {
            std::thread::yield_now();
        }
        if seen.load(Ordering::Relaxed) == 0 {
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
    }
    let done = pipeline.finish();
    stop.store(true, Ordering::Relaxed);
    let slowest = reader.join().unwrap();
    assert!(reads.load(Ordering::Relaxed) > 100, "the reader ran alongside");
    assert!(seen.load(Ordering::Relaxed) > 0, "and saw ready agents");
    assert!(!done.latency.histogram(ctistream_core::pipeline::Stage::ReadyView).is_empty());
    // A read never waits on the pipeline: no lock, just loads (generous bound
    // for a busy 2-core machine).
    assert!(slowest < std::time::Duration::from_millis(50), "slowest read {slowest:?}");
}

/// Logs outputs and watermarks in the order the pipeline gives them.
#[derive(Default)]
struct MarkLog {
    calls: Vec<String>,
    /// Agent changes delivered so far.
    changes: usize,
    /// (watermark, call records delivered before it, agent changes before it).
    marks: Vec<(u64, usize, usize)>,
    /// The latest watermark, for the pushing thread to watch.
    latest: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl state::Outputs for MarkLog {
    fn call_record(&mut self, record: &state::CallRecord) {
        self.calls.push(record.call.clone());
    }

    fn agent_change(&mut self, _: &state::AgentChange<'_>) {
        self.changes += 1;
    }

    fn delivered(&mut self, through: u64) {
        self.marks.push((through, self.calls.len(), self.changes));
        self.latest.store(through, std::sync::atomic::Ordering::Release);
    }
}

#[test]
fn a_watermark_comes_after_every_call_record_its_records_caused() {
    let events = traffic(6);
    let text = genesys(&events);
    let frames = frames(&text, Format::Genesys);
    // The record that ends each call thread is its last one (records are
    // numbered from 1 in push order).
    let mut ends = std::collections::HashMap::new();
    for (index, frame) in frames.iter().enumerate() {
        let event = Decoder::new(Format::Genesys).decode(&frame.payload, None).unwrap();
        if let Some(call) = event.text(ctistream_core::Attr::CallThreadID) {
            ends.insert(call.into_owned(), index as u64 + 1);
        }
    }
    // Without linger a call's record is emitted by the record that ends it.
    let reducer = ReducerConfig {
        calls: state::CallConfig { linger_ms: 0, ..state::CallConfig::default() },
        ..ReducerConfig::default()
    };
    // How many agent changes the first n records cause, one thread.
    let changes_after = {
        #[derive(Default)]
        struct Count(usize);
        impl state::Outputs for Count {
            fn agent_change(&mut self, _: &state::AgentChange<'_>) {
                self.0 += 1;
            }
        }
        let decoder = Decoder::new(Format::Genesys);
        let mut single = Reducer::new(reducer);
        let mut count = Count::default();
        let mut after = vec![0];
        for frame in &frames {
            let event = decoder.decode(&frame.payload, None).unwrap();
            single.apply(&event, Timestamp(0), &mut count);
            after.push(count.0);
        }
        after
    };
    assert!(*changes_after.last().unwrap() > 10, "the traffic changes agents");
    // Batches of 1 and 7 records also send outputs in batches of 2 and 14
    // while held-back agent messages are applied, before the mark.
    for (shards, batch) in [(1, 16), (2, 7), (3, 1)] {
        let config = PipelineConfig { shards, batch, reducer, ..PipelineConfig::default() };
        let log = MarkLog::default();
        let latest = log.latest.clone();
        let mut pipeline = Pipeline::start(config, log);
        // Idle shards still move their watermarks up to the last record:
        // waiting for that every 50 records gives one mark at least per wait,
        // however slowly a loaded machine runs the shards.
        let caught_up = |pipeline: &mut Pipeline<MarkLog>| {
            pipeline.flush();
            let started = std::time::Instant::now();
            while latest.load(std::sync::atomic::Ordering::Acquire) < pipeline.pushed()
                && started.elapsed() < std::time::Duration::from_secs(10)
            {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        };
        for (index, frame) in frames.iter().enumerate() {
            let origin = Origin { source: 0, line: index as u64 };
            pipeline.push(frame.payload.clone(), frame.key.clone(), origin, Timestamp(0));
            assert_eq!(pipeline.pushed(), index as u64 + 1);
            if index % 50 == 0 {
                caught_up(&mut pipeline);
            }
        }
        caught_up(&mut pipeline);
        let done = pipeline.finish();
        let log = done.outputs;
        assert!(log.marks.len() > 3, "shards={shards}: {} marks", log.marks.len());
        let last = log.marks.last().unwrap().0;
        assert_eq!(last, frames.len() as u64, "shards={shards}: the final watermark");
        for window in log.marks.windows(2) {
            assert!(window[0].0 < window[1].0, "shards={shards}: marks only move forward");
        }
        for &(through, _, changes) in &log.marks {
            let caused = changes_after[through as usize];
            assert!(
                changes >= caused,
                "shards={shards}: records up to {through} change agents {caused} times, \
                 {changes} delivered by that mark"
            );
        }
        for &(through, seen, _) in &log.marks {
            let before: std::collections::HashSet<&String> = log.calls[..seen].iter().collect();
            for (call, &end) in &ends {
                if end <= through {
                    assert!(
                        before.contains(call),
                        "shards={shards}: {call} ended at record {end}, not delivered by mark {through}"
                    );
                }
            }
        }
    }
}
