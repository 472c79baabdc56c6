//! The file source and sink on real files: every framing read to the end,
//! oversized records, following growth and rotation, marks and commits, sink
//! rotation, durability on flush and failures that name the path.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ctistream_adapters::file::{
    FileIdentity, FileSinkConfig, FileTail, FileTailConfig, TailPosition,
};
use ctistream_core::Framing;
use ctistream_core::connect::{CollectIntake, Connect, Health, Polled, Sink, Source, drain};

/// How long a followed file may take to show a change before a test fails.
const PATIENCE: Duration = Duration::from_secs(10);

fn temp() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

fn append(path: &Path, bytes: &[u8]) {
    let mut file = OpenOptions::new().create(true).append(true).open(path).expect("open");
    file.write_all(bytes).expect("append");
}

/// Payloads (as text) and positions of what was read.
fn records(intake: &CollectIntake) -> Vec<(String, u64)> {
    intake
        .records
        .iter()
        .map(|record| (String::from_utf8_lossy(&record.payload).into_owned(), record.position))
        .collect()
}

fn expected(records: &[(&str, u64)]) -> Vec<(String, u64)> {
    records.iter().map(|&(payload, position)| (payload.to_owned(), position)).collect()
}

/// Reads a whole file that is not followed.
fn read_to_end(config: &FileTailConfig) -> CollectIntake {
    let mut source = config.connect().expect("connect");
    let intake = drain(&mut source, PATIENCE).expect("drain");
    assert_eq!(source.poll(Duration::ZERO, &mut CollectIntake::default()).unwrap(), Polled::Ended);
    intake
}

/// A followed config that looks at the file often, so tests stay quick.
fn followed(path: &Path, framing: Framing) -> FileTailConfig {
    let mut config = FileTailConfig::new(path, framing).follow(true);
    config.poll_interval = Duration::from_millis(2);
    config
}

/// Polls until `intake` holds `count` records, failing after [`PATIENCE`].
fn poll_until(source: &mut FileTail, intake: &mut CollectIntake, count: usize) {
    let deadline = Instant::now() + PATIENCE;
    while intake.records.len() < count {
        assert!(
            Instant::now() < deadline,
            "only {} of {count} records arrived: {:?}",
            intake.records.len(),
            records(intake)
        );
        source.poll(Duration::from_millis(10), intake).expect("poll");
    }
}

/// Polls for a while and returns what arrived (to show nothing more does).
fn poll_for(source: &mut FileTail, intake: &mut CollectIntake, time: Duration) {
    let deadline = Instant::now() + time;
    while Instant::now() < deadline {
        source.poll(Duration::from_millis(5), intake).expect("poll");
    }
}

#[test]
fn ndjson_is_read_to_the_end_with_line_positions() {
    let dir = temp();
    let path = dir.path().join("calls.ndjson");
    fs::write(&path, "{\"a\":1}\n\n{\"b\":2}\r\n{\"c\":3}").unwrap();
    let config = FileTailConfig::new(&path, Framing::Lines);
    let intake = read_to_end(&config);
    assert_eq!(records(&intake), expected(&[("{\"a\":1}", 1), ("{\"b\":2}", 3), ("{\"c\":3}", 4)]));
    assert!(intake.rejects.is_empty());
    let source = config.connect().unwrap();
    assert_eq!(source.stream_label(0).origin(3), format!("{}:3", path.display()));
    assert_eq!(source.name(), format!("file:{}", path.display()));
}

#[test]
fn keyed_lines_carry_their_keys() {
    let dir = temp();
    let path = dir.path().join("topic.dump");
    fs::write(&path, "t1:c1\t{\"a\":1}\n{\"b\":2}\nt2:a7\t{\"c\":3}\n").unwrap();
    let intake = read_to_end(&FileTailConfig::new(&path, Framing::Lines));
    let keys: Vec<_> = intake
        .records
        .iter()
        .map(|record| record.key.as_ref().map(|key| String::from_utf8_lossy(key).into_owned()))
        .collect();
    assert_eq!(keys, [Some("t1:c1".to_owned()), None, Some("t2:a7".to_owned())]);
    assert_eq!(records(&intake), expected(&[("{\"a\":1}", 1), ("{\"b\":2}", 2), ("{\"c\":3}", 3)]));
}

#[test]
fn length_prefixed_frames_are_numbered_and_a_cut_frame_is_rejected() {
    let dir = temp();
    let path = dir.path().join("frames.bin");
    let mut data = Vec::new();
    for payload in [&b"abc"[..], b"", b"de"] {
        data.extend_from_slice(&(payload.len() as u32).to_be_bytes());
        data.extend_from_slice(payload);
    }
    data.extend_from_slice(&9u32.to_be_bytes());
    data.extend_from_slice(b"xy");
    fs::write(&path, &data).unwrap();
    let intake = read_to_end(&FileTailConfig::new(&path, Framing::LengthPrefixed));
    assert_eq!(records(&intake), expected(&[("abc", 1), ("de", 3)]));
    assert_eq!(intake.rejects.len(), 1);
    assert_eq!(intake.rejects[0].position, 4);
    assert!(intake.rejects[0].reason.contains("length-prefixed"), "{}", intake.rejects[0].reason);
    assert_eq!(&intake.rejects[0].raw[..], b"xy");
}

#[test]
fn tlog_records_span_their_continuation_lines() {
    let dir = temp();
    let path = dir.path().join("tserver.log");
    fs::write(
        &path,
        "@10:22:33.1234 [0] 8.1.000.12 distribute_event: message EventReleased\n\
         \tAttributeThisDN\t'6001'\n\
         @10:22:33.2000 Trc 04541 RequestAnswerCall received\n\
         @10:22:34.0000 [0] 8.1.000.12 distribute_event: message EventRinging\n\
         \tAttributeThisDN\t'6002'\n",
    )
    .unwrap();
    let intake = read_to_end(&FileTailConfig::new(&path, Framing::Tlog));
    let positions: Vec<_> = intake.records.iter().map(|record| record.position).collect();
    assert_eq!(positions, [1, 4], "the trace line between them is skipped");
    for (record, dn) in intake.records.iter().zip(["'6001'", "'6002'"]) {
        let text = String::from_utf8_lossy(&record.payload);
        assert_eq!(text.lines().count(), 2, "{text}");
        assert!(text.ends_with(dn), "{text}");
    }
}

#[test]
fn an_oversized_record_is_rejected_with_its_line_and_its_neighbours_survive() {
    let dir = temp();
    let path = dir.path().join("calls.ndjson");
    let long = format!("{{\"pad\":\"{}\"}}", "x".repeat(100));
    fs::write(&path, format!("{{\"a\":1}}\n{long}\n{{\"b\":2}}\n")).unwrap();
    let mut config = FileTailConfig::new(&path, Framing::Lines);
    config.max_record = 32;
    let intake = read_to_end(&config);
    assert_eq!(records(&intake), expected(&[("{\"a\":1}", 1), ("{\"b\":2}", 3)]));
    assert_eq!(intake.rejects.len(), 1);
    let reject = &intake.rejects[0];
    assert_eq!((reject.stream, reject.position), (0, 2));
    assert!(reject.reason.contains("longer than the limit of 32 bytes"), "{}", reject.reason);
    assert!(long.as_bytes().starts_with(&reject.raw));
    let source = config.connect().unwrap();
    assert_eq!(source.stream_label(0).origin(reject.position), format!("{}:2", path.display()));
}

#[test]
fn a_missing_file_that_is_not_followed_fails_naming_the_path() {
    let dir = temp();
    let path = dir.path().join("absent.ndjson");
    let error = FileTailConfig::new(&path, Framing::Lines).connect().unwrap_err();
    assert!(error.to_string().contains(&path.display().to_string()), "{error}");
}

#[test]
fn follow_picks_up_appended_lines_and_a_line_written_in_two_halves() {
    let dir = temp();
    let path = dir.path().join("live.ndjson");
    fs::write(&path, "{\"a\":1}\n").unwrap();
    let mut source = followed(&path, Framing::Lines).connect().unwrap();
    let mut intake = CollectIntake::default();
    poll_until(&mut source, &mut intake, 1);

    append(&path, b"{\"b\":");
    poll_for(&mut source, &mut intake, Duration::from_millis(30));
    assert_eq!(intake.records.len(), 1, "half a line is not a record: {:?}", records(&intake));

    append(&path, b"2}\n{\"c\":3}\n");
    poll_until(&mut source, &mut intake, 3);
    assert_eq!(records(&intake), expected(&[("{\"a\":1}", 1), ("{\"b\":2}", 2), ("{\"c\":3}", 3)]));
    assert_eq!(source.health(), Health::Up);
    assert_eq!(source.poll(Duration::from_millis(5), &mut intake).unwrap(), Polled::Idle);
}

#[test]
fn follow_survives_rename_and_recreate() {
    let dir = temp();
    let path = dir.path().join("live.ndjson");
    fs::write(&path, "{\"n\":1}\n{\"n\":2}\n").unwrap();
    let mut source = followed(&path, Framing::Lines).connect().unwrap();
    let mut intake = CollectIntake::default();
    poll_until(&mut source, &mut intake, 2);

    // The writer still holds the old file after the rename and finishes it,
    // the last line without its newline; then the new file is created.
    let mut old = OpenOptions::new().append(true).open(&path).unwrap();
    old.write_all(b"{\"n\":3}\n").unwrap();
    fs::rename(&path, dir.path().join("live.ndjson.1")).unwrap();
    old.write_all(b"{\"n\":4}\n{\"n\":5}").unwrap();
    let deadline = Instant::now() + PATIENCE;
    while source.health() == Health::Up {
        assert!(Instant::now() < deadline, "a missing path is never noticed");
        source.poll(Duration::from_millis(5), &mut intake).unwrap();
    }
    assert!(matches!(source.health(), Health::Degraded(_)), "{}", source.health());
    fs::write(&path, "{\"n\":6}\n{\"n\":7}\n").unwrap();

    poll_until(&mut source, &mut intake, 7);
    poll_for(&mut source, &mut intake, Duration::from_millis(30));
    assert_eq!(
        records(&intake),
        expected(&[
            ("{\"n\":1}", 1),
            ("{\"n\":2}", 2),
            ("{\"n\":3}", 3),
            ("{\"n\":4}", 4),
            ("{\"n\":5}", 5),
            ("{\"n\":6}", 1),
            ("{\"n\":7}", 2),
        ])
    );
    assert_eq!(source.health(), Health::Up);
    let new_file = FileIdentity::of(&fs::metadata(&path).unwrap());
    assert_eq!(source.position(), TailPosition { file: new_file, offset: 16 });
}

#[test]
fn follow_survives_copy_truncate() {
    let dir = temp();
    let path = dir.path().join("live.ndjson");
    let before =
        "{\"n\":1,\"pad\":\"....\"}\n{\"n\":2,\"pad\":\"....\"}\n{\"n\":3,\"pad\":\"....\"}\n";
    fs::write(&path, before).unwrap();
    let mut source = followed(&path, Framing::Lines).connect().unwrap();
    let mut intake = CollectIntake::default();
    poll_until(&mut source, &mut intake, 3);

    fs::copy(&path, dir.path().join("live.ndjson.1")).unwrap();
    OpenOptions::new().write(true).open(&path).unwrap().set_len(0).unwrap();
    append(&path, b"{\"n\":4}\n");
    poll_until(&mut source, &mut intake, 4);
    append(&path, b"{\"n\":5}\n");
    poll_until(&mut source, &mut intake, 5);
    poll_for(&mut source, &mut intake, Duration::from_millis(30));

    let numbers: Vec<_> = records(&intake)
        .into_iter()
        .map(|(payload, line)| (payload[5..6].to_owned(), line))
        .collect();
    let want: Vec<_> =
        [("1", 1), ("2", 2), ("3", 3), ("4", 1), ("5", 2)].map(|(n, l)| (n.to_owned(), l)).into();
    assert_eq!(numbers, want);
}

#[test]
fn a_followed_path_that_is_missing_is_waited_for() {
    let dir = temp();
    let path = dir.path().join("later.ndjson");
    let mut source =
        followed(&path, Framing::Lines).connect().expect("a followed path may appear later");
    let mut intake = CollectIntake::default();
    assert_eq!(source.poll(Duration::from_millis(5), &mut intake).unwrap(), Polled::Idle);
    match source.health() {
        Health::Degraded(why) => assert!(why.contains(&path.display().to_string()), "{why}"),
        other => panic!("expected degraded, got {other}"),
    }
    fs::write(&path, "{\"a\":1}\n").unwrap();
    poll_until(&mut source, &mut intake, 1);
    assert_eq!(source.health(), Health::Up);
}

#[test]
fn marks_and_commits_track_the_byte_offset() {
    let dir = temp();
    let path = dir.path().join("live.ndjson");
    fs::write(&path, "{\"a\":1}\n").unwrap();
    let identity = FileIdentity::of(&fs::metadata(&path).unwrap());
    let mut source = followed(&path, Framing::Lines).connect().unwrap();
    let mut intake = CollectIntake::default();
    assert_eq!(source.committed_position(), None);
    poll_until(&mut source, &mut intake, 1);
    let first = source.mark();

    // A partial line is not covered by a mark: a restart must read it whole.
    append(&path, b"{\"b\":2}\n{\"c\"");
    poll_until(&mut source, &mut intake, 2);
    let second = source.mark();
    assert_ne!(first, second);
    assert_eq!(source.committed_position(), None, "nothing is committed before commit");

    source.commit(first).unwrap();
    assert_eq!(source.committed_position(), Some(TailPosition { file: identity, offset: 8 }));
    source.commit(second).unwrap();
    assert_eq!(source.committed_position(), Some(TailPosition { file: identity, offset: 16 }));
    assert!(source.commit(first).is_err(), "a mark is committed once");
}

#[test]
fn a_closed_source_is_down_and_ended() {
    let dir = temp();
    let path = dir.path().join("calls.ndjson");
    fs::write(&path, "{\"a\":1}\n").unwrap();
    let mut source = followed(&path, Framing::Lines).connect().unwrap();
    assert_eq!(source.health(), Health::Up);
    source.close().unwrap();
    assert!(!source.health().is_up());
    let mut intake = CollectIntake::default();
    assert_eq!(source.poll(Duration::ZERO, &mut intake).unwrap(), Polled::Ended);
    assert!(intake.records.is_empty());
}

/// `PATH.1`, `PATH.2`, … then `PATH`, as many as there are.
#[test]
fn a_kept_position_resumes_the_next_run_at_the_last_commit_with_line_numbers() {
    let dir = temp();
    let path = dir.path().join("events.log");
    let kept = dir.path().join("events.pos");
    append(&path, b"one\ntwo\n\nthree\n");
    let config =
        FileTailConfig { position_file: Some(kept.clone()), ..followed(&path, Framing::Lines) };
    let mut first = config.connect().unwrap();
    let mut intake = CollectIntake::default();
    poll_until(&mut first, &mut intake, 3);
    let mark = first.mark();
    // Handed out after the mark, never committed: read again next time.
    append(&path, b"four\n");
    poll_until(&mut first, &mut intake, 4);
    first.commit(mark).unwrap();
    first.close().unwrap();
    assert!(kept.is_file(), "the commit kept the position");

    append(&path, b"five\n");
    let mut second = config.connect().unwrap();
    let mut intake = CollectIntake::default();
    poll_until(&mut second, &mut intake, 2);
    assert_eq!(records(&intake), expected(&[("four", 5), ("five", 6)]), "lines count on");

    // The path now names another file: the kept position is not its, so it
    // is read from its start.
    fs::remove_file(&path).unwrap();
    append(&path, b"new\n");
    let mut third = config.connect().unwrap();
    let mut intake = CollectIntake::default();
    poll_until(&mut third, &mut intake, 1);
    assert_eq!(records(&intake), expected(&[("new", 1)]));

    // A damaged position file is refused, not guessed around.
    fs::write(&kept, b"CTISCKPT garbage").unwrap();
    let error = config.connect().unwrap_err();
    assert!(error.to_string().contains("position file"), "{error}");
    assert!(error.to_string().contains("events.pos"), "{error}");
}

fn rotated_files(path: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for n in 1.. {
        let numbered = PathBuf::from(format!("{}.{n}", path.display()));
        if !numbered.exists() {
            break;
        }
        files.push(numbered);
    }
    files.push(path.to_owned());
    files
}

#[test]
fn a_sink_on_a_device_writes_through_without_fsync_and_refuses_rotation() {
    // /dev/null refuses fsync (EINVAL): throwing an output away must not fail
    // every flush.
    let mut sink = FileSinkConfig::new("/dev/null").connect().unwrap();
    sink.write(b"", b"{\"a\":1}").unwrap();
    sink.flush().unwrap();
    let saved = sink.durable_position().unwrap();
    sink.write(b"", b"{\"a\":2}").unwrap();
    sink.rewind_to(&saved).unwrap();
    sink.flush().unwrap();
    let error = FileSinkConfig::new("/dev/null").rotate_at(100).connect().unwrap_err();
    assert_eq!(error.to_string(), "cannot rotate /dev/null: not a regular file");
}

#[test]
fn sink_rotation_keeps_every_line_whole_and_in_order() {
    let dir = temp();
    let path = dir.path().join("out.ndjson");
    let mut sink = FileSinkConfig::new(&path).rotate_at(100).connect().unwrap();
    let mut written = Vec::new();
    for n in 0..60 {
        let line = if n == 30 {
            format!("{{\"n\":{n},\"pad\":\"{}\"}}\n", "y".repeat(150))
        } else {
            format!("{{\"n\":{n},\"pad\":\"{}\"}}\n", "x".repeat(n % 25))
        };
        sink.write(b"tenant:key", line.as_bytes()).unwrap();
        written.extend_from_slice(line.as_bytes());
        if n % 7 == 0 {
            sink.flush().unwrap();
        }
    }
    sink.close().unwrap();

    let files = rotated_files(&path);
    assert!(files.len() > 5, "expected several rotations, got {files:?}");
    let mut joined = Vec::new();
    for file in &files {
        let data = fs::read(file).unwrap();
        assert!(data.ends_with(b"\n"), "{} ends inside a line", file.display());
        let lines = data.split(|&b| b == b'\n').filter(|line| !line.is_empty()).count();
        assert!(data.len() <= 100 || lines == 1, "{} is over the limit", file.display());
        joined.extend_from_slice(&data);
    }
    assert_eq!(String::from_utf8(joined).unwrap(), String::from_utf8(written).unwrap());
}

#[test]
fn sink_rotation_numbers_on_after_earlier_files() {
    let dir = temp();
    let path = dir.path().join("out.ndjson");
    fs::write(dir.path().join("out.ndjson.1"), "{\"old\":1}\n").unwrap();
    fs::write(dir.path().join("out.ndjson.2"), "{\"old\":2}\n").unwrap();
    fs::write(&path, "{\"old\":3}\n").unwrap();
    let mut sink = FileSinkConfig::new(&path).rotate_at(20).connect().unwrap();
    sink.write(b"", b"{\"new\":4,\"x\":1}\n").unwrap();
    sink.flush().unwrap();
    assert_eq!(fs::read_to_string(dir.path().join("out.ndjson.1")).unwrap(), "{\"old\":1}\n");
    assert_eq!(fs::read_to_string(dir.path().join("out.ndjson.3")).unwrap(), "{\"old\":3}\n");
    assert_eq!(fs::read_to_string(&path).unwrap(), "{\"new\":4,\"x\":1}\n");
}

#[test]
fn a_flushed_sink_is_on_disk_when_the_file_is_reopened() {
    let dir = temp();
    let path = dir.path().join("out.ndjson");
    let mut sink = FileSinkConfig::new(&path).connect().unwrap();
    sink.write(b"t:1", b"{\"a\":1}\n").unwrap();
    sink.write(b"t:2", b"{\"b\":2}").unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"", "lines are buffered until a flush");
    sink.flush().unwrap();
    assert_eq!(fs::read_to_string(&path).unwrap(), "{\"a\":1}\n{\"b\":2}\n");
    assert_eq!(sink.health(), Health::Up);

    // A new sink appends to what is there.
    drop(sink);
    let mut sink = FileSinkConfig::new(&path).connect().unwrap();
    sink.write(b"", b"{\"c\":3}\n").unwrap();
    sink.close().unwrap();
    assert_eq!(fs::read_to_string(&path).unwrap(), "{\"a\":1}\n{\"b\":2}\n{\"c\":3}\n");
    assert!(!sink.health().is_up());
    assert!(sink.write(b"", b"{}\n").is_err(), "a closed sink takes nothing");
}

#[test]
fn a_sink_in_a_missing_directory_fails_naming_the_path() {
    let dir = temp();
    let path = dir.path().join("no/such/dir/out.ndjson");
    let error = FileSinkConfig::new(&path).connect().unwrap_err();
    assert!(error.to_string().contains(&path.display().to_string()), "{error}");
}

#[test]
fn a_full_disk_fails_the_flush_and_acknowledges_nothing() {
    let full = Path::new("/dev/full");
    if !full.exists() {
        return;
    }
    let mut sink = FileSinkConfig::new(full).connect().unwrap();
    sink.write(b"", b"{\"a\":1}\n").unwrap();
    let error = sink.flush().unwrap_err();
    assert!(error.to_string().contains("/dev/full"), "{error}");
    assert!(matches!(sink.health(), Health::Degraded(_)), "{}", sink.health());
    // The line is still owed, so the next flush tries to write it again.
    let again = sink.flush().unwrap_err();
    assert!(again.to_string().contains("cannot write"), "{again}");
    assert!(matches!(sink.health(), Health::Degraded(_)), "{}", sink.health());
}

#[test]
fn a_saved_position_resumes_reading_after_the_last_record_handed_out() {
    let dir = temp();
    let path = dir.path().join("events.log");
    append(&path, b"one\ntwo\nthree\n");
    let config = followed(&path, Framing::Lines);
    let mut first = config.connect().unwrap();
    let mut intake = CollectIntake::default();
    poll_until(&mut first, &mut intake, 3);
    let saved = first.save_position().expect("a file can resume");
    first.close().unwrap();

    append(&path, b"four\n");
    let mut second = config.connect().unwrap();
    second.resume_from(&saved).unwrap();
    let mut intake = CollectIntake::default();
    poll_until(&mut second, &mut intake, 1);
    assert_eq!(records(&intake), expected(&[("four", 4)]), "nothing read twice, lines count on");

    let error = config.connect().unwrap().resume_from(b"not a position").unwrap_err();
    assert!(error.to_string().contains("not a file position"), "{error}");
}

/// Lines `from..to` as the sink tests write them.
fn numbered_lines(from: usize, to: usize) -> Vec<String> {
    (from..to).map(|n| format!("{{\"n\":{n},\"pad\":\"{}\"}}\n", "x".repeat(n % 13))).collect()
}

#[test]
fn a_rewound_sink_drops_what_was_written_after_its_durable_position() {
    for rotate in [None, Some(90)] {
        let dir = temp();
        let path = dir.path().join("out.ndjson");
        let config = FileSinkConfig { rotate_bytes: rotate, ..FileSinkConfig::new(&path) };
        let mut sink = config.connect().unwrap();
        assert_eq!(sink.durable_position(), None, "nothing flushed yet");
        for line in numbered_lines(0, 10) {
            sink.write(b"", line.as_bytes()).unwrap();
        }
        sink.flush().unwrap();
        let saved = sink.durable_position().expect("flushed");
        // Written after the checkpoint (and, with rotation, rotated past it),
        // then a crash.
        for line in numbered_lines(10, 40) {
            sink.write(b"", line.as_bytes()).unwrap();
        }
        sink.flush().unwrap();
        drop(sink);

        let mut restarted = config.connect().unwrap();
        restarted.rewind_to(&saved).unwrap();
        for line in numbered_lines(10, 20) {
            restarted.write(b"", line.as_bytes()).unwrap();
        }
        restarted.close().unwrap();
        let joined: String =
            rotated_files(&path).iter().map(|file| fs::read_to_string(file).unwrap()).collect();
        assert_eq!(joined, numbered_lines(0, 20).concat(), "rotation {rotate:?}");
        if rotate.is_some() {
            assert!(rotated_files(&path).len() > 3, "the run rotated");
        }
    }
}

#[test]
fn a_sink_that_lost_durable_lines_is_not_rewound() {
    let dir = temp();
    let path = dir.path().join("out.ndjson");
    let mut sink = FileSinkConfig::new(&path).connect().unwrap();
    sink.write(b"", b"{\"n\":1}\n").unwrap();
    sink.flush().unwrap();
    let saved = sink.durable_position().unwrap();
    drop(sink);
    fs::write(&path, b"").unwrap();
    let error = FileSinkConfig::new(&path).connect().unwrap().rewind_to(&saved).unwrap_err();
    assert!(error.to_string().contains("shorter than"), "{error}");
    let error = FileSinkConfig::new(&path).connect().unwrap().rewind_to(b"x").unwrap_err();
    assert!(error.to_string().contains("not a file position"), "{error}");
}
