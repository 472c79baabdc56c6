//! Streams another reader took over (a Kafka partition revoked in a
//! rebalance, whose commit stops at its oldest open call): the pipeline
//! forgets the calls still open on them without writing them — their next
//! reader rebuilds and writes them whole — and writes everything else as
//! before.

mod scenario;

use ctistream_core::pipeline::{Origin, Pipeline, PipelineConfig, PipelineDone};
use ctistream_core::state::{CallRecord, CollectOutputs};
use ctistream_core::{Format, Frame, FrameReader, Framing, Timestamp};
use scenario::{genesys, traffic};

/// Two input streams, the call threads split between them by key (lines
/// without a key on stream 0).
fn stream_of(key: &[u8]) -> u32 {
    u32::from(key.iter().fold(0u8, |sum, byte| sum.wrapping_add(*byte)) & 1)
}

fn record_stream(record: &CallRecord) -> u32 {
    stream_of(format!("{}:{}", record.tenant, record.call).as_bytes())
}

/// The records of a run over `frames` that `stop` ends, as JSON lines.
fn run(
    frames: &[Frame],
    shards: usize,
    stop: impl FnOnce(Pipeline<CollectOutputs>) -> PipelineDone<CollectOutputs>,
) -> Vec<(u32, String)> {
    let config = PipelineConfig {
        shards,
        format: Format::Genesys,
        batch: 16,
        ring: 4,
        ..PipelineConfig::default()
    };
    let mut pipeline = Pipeline::start(config, CollectOutputs::default());
    for frame in frames {
        let stream = stream_of(frame.key.as_deref().unwrap_or_default());
        let origin = Origin { source: stream, line: frame.line };
        pipeline.push(frame.payload.clone(), frame.key.clone(), origin, Timestamp(0));
    }
    let done = stop(pipeline);
    let mut records: Vec<(u32, String)> = done
        .outputs
        .records
        .iter()
        .map(|record| {
            let mut line = Vec::new();
            record.write_json(&mut line);
            (record_stream(record), String::from_utf8(line).unwrap())
        })
        .collect();
    records.sort();
    records
}

#[test]
fn a_released_stream_leaves_its_open_calls_unwritten_and_nothing_else() {
    let text = genesys(&traffic(6));
    let frames: Vec<Frame> =
        FrameReader::new(text.as_bytes(), Framing::Lines).map(Result::unwrap).collect();
    // Half the records: many calls still open, many written.
    let cut = frames.len() / 2;
    for shards in [1, 3] {
        let written_during = run(&frames[..cut], shards, Pipeline::close_keeping_open);
        let all = run(&frames[..cut], shards, Pipeline::finish);
        let mut released_count = 0;
        let released = run(&frames[..cut], shards, |mut pipeline| {
            released_count = pipeline.release_streams(&[1]);
            pipeline.finish()
        });
        // Written at the end, i.e. open (or lingering) when released.
        let at_end: Vec<&(u32, String)> =
            all.iter().filter(|record| !written_during.contains(record)).collect();
        assert!(at_end.iter().any(|(stream, _)| *stream == 1), "calls open on stream 1");
        assert!(at_end.iter().any(|(stream, _)| *stream == 0), "calls open on stream 0");
        let mut expected = written_during.clone();
        expected.extend(at_end.iter().filter(|(stream, _)| *stream == 0).map(|r| (*r).clone()));
        expected.sort();
        assert_eq!(released, expected, "{shards} shards");
        let forgotten = at_end.iter().filter(|(stream, _)| *stream == 1).count();
        assert_eq!(released_count, forgotten, "{shards} shards");
    }
}
