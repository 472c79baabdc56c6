//! Streams another reader took over (a Kafka partition revoked in a
//! rebalance, whose commit stops at its oldest open call): the pipeline
//! forgets the calls still open on them without writing them — their next
//! reader rebuilds and writes them whole — and writes everything else as
//! before. A stream read again from such a commit replays what its first
//! reader wrote without writing it again.

mod scenario;

use ctistream_core::pipeline::{Origin, Pipeline, PipelineConfig, PipelineDone};
use ctistream_core::state::{
    AgentChange, AgentConfig, CallRecord, CollectOutputs, Outputs, OwnedAgentChange, ReducerConfig,
    write_agent_snapshots,
};
use ctistream_core::{Format, Frame, FrameReader, Framing, Timestamp};
use scenario::{call_lines, genesys, traffic};

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
            released_count = pipeline.release_streams(&[1]).calls;
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

/// Outputs kept in memory, with the open-call floors last reported.
#[derive(Default)]
struct Handover {
    kept: CollectOutputs,
    floors: Vec<(u32, u64)>,
}

impl Outputs for Handover {
    fn agent_change(&mut self, change: &AgentChange<'_>) {
        self.kept.agent_change(change);
    }

    fn call_record(&mut self, record: &CallRecord) {
        self.kept.call_record(record);
    }

    fn open_from(&mut self, _through: u64, floors: &[(u32, u64)]) {
        self.floors = floors.to_vec();
    }
}

/// The reducer as `ctistream run` sets it up: agents keep where their
/// sessions began.
fn with_sessions() -> ReducerConfig {
    let agents = AgentConfig { sessions: true, ..AgentConfig::default() };
    ReducerConfig { agents, ..ReducerConfig::default() }
}

/// The agent snapshots at the end, as written.
fn snapshots<O>(done: &PipelineDone<O>) -> String {
    let mut text = Vec::new();
    write_agent_snapshots(&done.agent_sides(), &mut text);
    String::from_utf8(text).unwrap()
}

/// A stream handed from one reader to the next, as a Kafka partition moves
/// in a rebalance: the first reader's commit stops at its oldest open call
/// (the floor), and the next reads again from there. What the first wrote
/// the next replays, without writing it again; together they write what one
/// reader of the whole stream writes, each call once.
///
/// Call events are on stream 1 and agent events on stream 0, and both
/// move: the agent events are read again from the login of the oldest
/// session still open (the agent stream's floor), so the next reader's agent
/// states, and the DN bindings that name a call's agents, are the first
/// one's.
#[test]
fn streams_read_again_from_their_floors_replay_what_their_first_reader_wrote() {
    hand_over(&[0, 1], |frame| {
        let call = frame.key.as_deref().is_some_and(|key| !key.starts_with(b"t1:a"));
        Some(Origin { source: u32::from(call), line: frame.line })
    });
}

/// As above, with each call thread's events split over two streams (keys
/// that split call threads over partitions), and no agent events (whose
/// sessions would hold the streams back further): a thread holds back every
/// stream it reached, so neither is replayed from the middle of a call.
#[test]
fn a_call_thread_split_over_streams_holds_each_back() {
    hand_over(&[1, 2], |frame| {
        let call = frame.key.as_deref().is_some_and(|key| !key.starts_with(b"t1:a"));
        call.then(|| Origin { source: 1 + (frame.line % 2) as u32, line: frame.line })
    });
}

/// A first reader reads half of the traffic (each frame on the stream
/// `origin` gives it, if any; agent events on stream 0), the next reads each
/// of `streams` again from its floor, replaying what the first had read:
/// together they write what one reader of the whole writes, each call (and,
/// with agent events, each agent change) once, and the next ends with the
/// same agents.
fn hand_over(streams: &[u32], origin: impl Fn(&Frame) -> Option<Origin>) {
    let text = genesys(&traffic(6));
    let frames: Vec<Frame> = FrameReader::new(text.as_bytes(), Framing::Lines)
        .map(Result::unwrap)
        .filter(|frame| origin(frame).is_some())
        .collect();
    let origin = |frame: &Frame| origin(frame).unwrap();
    for shards in [1, 3] {
        let config = || PipelineConfig {
            shards,
            format: Format::Genesys,
            batch: 16,
            ring: 4,
            reducer: with_sessions(),
            ..PipelineConfig::default()
        };
        let mut whole = Pipeline::start(config(), CollectOutputs::default());
        for frame in &frames {
            whole.push(frame.payload.clone(), frame.key.clone(), origin(frame), Timestamp(0));
        }
        let whole = whole.finish();
        let whole_agents = snapshots(&whole);
        let (whole, whole_changes) = (call_lines(&whole.outputs), whole.outputs.changes);

        let cut = frames.len() / 2;
        let mut first = Pipeline::start(config(), Handover::default());
        for frame in &frames[..cut] {
            first.push(frame.payload.clone(), frame.key.clone(), origin(frame), Timestamp(0));
        }
        first.pause(|_, _| ());
        let mut first = first.close_keeping_open();
        let held: Vec<u32> = first.outputs.floors.iter().map(|&(stream, _)| stream).collect();
        assert_eq!(held, streams, "a floor on each stream");
        let floor = |stream: u32| {
            first.outputs.floors.iter().find(|(s, _)| *s == stream).map_or(u64::MAX, |f| f.1)
        };
        let through = frames[cut - 1].line;
        assert!(streams.iter().all(|s| floor(*s) < through), "calls were open at the cut");
        let written_first = call_lines(&first.outputs.kept);
        let changes_first = std::mem::take(&mut first.outputs.kept.changes);

        let mut next = Pipeline::start(config(), CollectOutputs::default());
        let mut replayed = 0;
        for frame in &frames {
            let (payload, key, origin) = (frame.payload.clone(), frame.key.clone(), origin(frame));
            match frame.line {
                line if line < floor(origin.source) => {}
                line if line <= through => {
                    next.replay(payload, key, origin, Timestamp(0));
                    replayed += 1;
                }
                _ => next.push(payload, key, origin, Timestamp(0)),
            }
        }
        assert!(replayed > 50, "{replayed} records replayed");
        let next = next.finish();
        // Without agent events (stream 0) agents are known from call legs
        // alone, which begin no session: only the calls are handed over.
        let agents = streams.contains(&0);
        assert!(!agents || snapshots(&next) == whole_agents, "{shards} shards: agent states");
        // Each agent's changes in order; shards interleave agents at will.
        let by_agent = |changes: &[OwnedAgentChange]| {
            let mut changes = changes.to_vec();
            changes.sort_by(|a, b| a.agent.cmp(&b.agent));
            changes
        };
        let mut changes = changes_first;
        changes.extend(next.outputs.changes.iter().cloned());
        assert!(
            !agents || by_agent(&changes) == by_agent(&whole_changes),
            "{shards} shards: each agent change once"
        );
        let next = next.outputs;
        let mut both = written_first;
        both.extend(call_lines(&next));
        both.sort();
        let missing: Vec<&String> = whole.iter().filter(|line| !both.contains(line)).collect();
        let extra: Vec<&String> = both.iter().filter(|line| !whole.contains(line)).collect();
        assert!(missing.is_empty() && extra.is_empty(), "missing {missing:?}, extra {extra:?}");
        assert_eq!(both.len(), whole.len(), "{shards} shards: each call once");
    }
}

/// Replayed records change the state and write nothing: no call record, no
/// agent change, no reject; what is still open at the end is written.
#[test]
fn replayed_records_write_nothing_until_the_end() {
    let text = genesys(&traffic(2));
    let frames: Vec<Frame> =
        FrameReader::new(text.as_bytes(), Framing::Lines).map(Result::unwrap).collect();
    let mut pipeline = Pipeline::start(
        PipelineConfig { shards: 2, format: Format::Genesys, ..PipelineConfig::default() },
        CollectOutputs::default(),
    );
    for frame in &frames[..frames.len() / 2] {
        let origin = Origin { source: 0, line: frame.line };
        pipeline.replay(frame.payload.clone(), frame.key.clone(), origin, Timestamp(0));
    }
    pipeline.replay(
        b"{not json".to_vec().into(),
        None,
        Origin { source: 0, line: 0 },
        Timestamp(0),
    );
    let done = pipeline.close_keeping_open();
    assert!(done.outputs.records.is_empty(), "{:?}", done.outputs.records);
    assert!(done.outputs.changes.is_empty(), "{:?}", done.outputs.changes);
    let open = done.call_sides().iter().map(|side| side.calls().open()).sum::<usize>();
    assert!(open > 0, "the replayed calls are held");
}

/// A released stream takes along the agents whose session began on it (their
/// login's reader speaks for them now), and their share of the statistics.
#[test]
fn a_released_stream_takes_the_agents_logged_in_on_it_along() {
    let text = genesys(&traffic(2));
    let frames: Vec<Frame> =
        FrameReader::new(text.as_bytes(), Framing::Lines).map(Result::unwrap).collect();
    let run = |release: &[u32]| {
        let config = PipelineConfig {
            shards: 2,
            format: Format::Genesys,
            reducer: with_sessions(),
            ..Default::default()
        };
        let mut pipeline = Pipeline::start(config, CollectOutputs::default());
        for frame in &frames[..frames.len() / 2] {
            let call = frame.key.as_deref().is_some_and(|key| !key.starts_with(b"t1:a"));
            let origin = Origin { source: u32::from(call), line: frame.line };
            pipeline.push(frame.payload.clone(), frame.key.clone(), origin, Timestamp(0));
        }
        let released = pipeline.release_streams(release);
        let done = pipeline.close_keeping_open();
        let snapshot: Vec<String> = snapshots(&done).lines().map(str::to_owned).collect();
        (released, snapshot)
    };
    let (_, all) = run(&[]);
    let (released, kept) = run(&[0]);
    assert!(released.agents > 0, "agents were logged in on stream 0");
    assert_eq!(released.calls, 0, "every call began on stream 1");
    assert_eq!(kept.len() + released.agents, all.len());
    assert!(kept.iter().all(|agent| all.contains(agent)), "the others are untouched");
    let (released, _) = run(&[1]);
    assert_eq!(released.agents, 0, "no session began on the call stream");
    assert!(released.calls > 0);
}
