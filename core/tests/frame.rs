//! Framing: lines with keys, length prefixes, T-Server log records, the record
//! size limit, and independence from how the stream is cut into reads.

use std::io::Read;

use ctistream_core::{Frame, FrameError, FrameReader, Framing};
use proptest::prelude::*;

/// A reader that hands out the input in reads of the given sizes (cycled).
struct Chunked<'a> {
    data: &'a [u8],
    sizes: Vec<usize>,
    turn: usize,
}

impl Read for Chunked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let size = self.sizes[self.turn % self.sizes.len()].max(1);
        self.turn += 1;
        let n = size.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

type Outcome = Vec<Result<(String, Option<String>, u64), String>>;

fn frames(
    reader: impl Read,
    framing: Framing,
    limit: usize,
) -> (Outcome, ctistream_core::FrameStats) {
    let mut reader = FrameReader::new(reader, framing).with_max_record(limit);
    let outcome = reader
        .by_ref()
        .map(|frame| match frame {
            Ok(Frame { payload, key, line, .. }) => Ok((
                String::from_utf8_lossy(&payload).into_owned(),
                key.map(|key| String::from_utf8_lossy(&key).into_owned()),
                line,
            )),
            Err(error) => Err(format!("{}@{}", error.class(), error.line().unwrap_or(0))),
        })
        .collect();
    (outcome, *reader.stats())
}

fn ok(
    payload: &str,
    key: Option<&str>,
    line: u64,
) -> Result<(String, Option<String>, u64), String> {
    Ok((payload.to_owned(), key.map(str::to_owned), line))
}

#[test]
fn lines_split_keys_skip_blanks_and_strip_crlf() {
    let input = "t1:ct-1\t{\"id\":1}\r\n\n   \n{\"a\":\"x\ty\"}\n<Port/>\nnokey\n  {\"b\":2}";
    let (outcome, stats) = frames(input.as_bytes(), Framing::Lines, 1 << 20);
    assert_eq!(
        outcome,
        vec![
            ok("{\"id\":1}", Some("t1:ct-1"), 1),
            ok("{\"a\":\"x\ty\"}", None, 4),
            ok("<Port/>", None, 5),
            ok("nokey", None, 6),
            ok("  {\"b\":2}", None, 7),
        ]
    );
    assert_eq!((stats.blank, stats.records), (2, 5));
}

#[test]
fn oversized_lines_are_reported_and_skipped_across_reads() {
    let long = "x".repeat(100);
    let input = format!("{{\"a\":1}}\n{long}\n{{\"b\":2}}\n{long}");
    for sizes in [vec![1000], vec![7], vec![1, 3, 64]] {
        let reader = Chunked { data: input.as_bytes(), sizes, turn: 0 };
        let (outcome, stats) = frames(reader, Framing::Lines, 50);
        assert_eq!(
            outcome,
            vec![
                ok("{\"a\":1}", None, 1),
                Err("record longer than the limit of 50 bytes@2".into()),
                ok("{\"b\":2}", None, 3),
                Err("record longer than the limit of 50 bytes@4".into()),
            ]
        );
        assert_eq!(stats.errors, 2);
    }
}

#[test]
fn length_prefixed_frames_with_limits_and_truncation() {
    let mut input = Vec::new();
    for payload in [&b"{\"a\":1}"[..], b"", &[b'z'; 40][..], b"<Port/>"] {
        input.extend_from_slice(&(payload.len() as u32).to_be_bytes());
        input.extend_from_slice(payload);
    }
    input.extend_from_slice(&[0, 0, 0, 9, b'{']);
    for sizes in [vec![4096], vec![1], vec![5, 2]] {
        let reader = Chunked { data: &input, sizes, turn: 0 };
        let (outcome, stats) = frames(reader, Framing::LengthPrefixed, 32);
        assert_eq!(
            outcome,
            vec![
                ok("{\"a\":1}", None, 1),
                Err("record longer than the limit of 32 bytes@3".into()),
                ok("<Port/>", None, 4),
                Err("stream ends inside a length-prefixed frame@5".into()),
            ]
        );
        assert_eq!(stats.blank, 1, "the empty frame");
    }
}

const LOG: &str = "\
@09:15:02.1250 [0] 8.1.101.25 distribute_event: message EventRinging
\tAttributeThisDN\t'5001'
\tAttributeConnID\t006c02462a161006
\tAttributeUserData\t[22] 00 01 00 00..
\t\t'Language'\t'en'
@09:15:02.2000 Trc 04541 RequestAnswerCall received from [7] (00000010 Agent Desktop)
@09:15:02.2001 [0] 8.1.101.25 send_to_server: message RequestAnswerCall
\tAttributeThisDN\t'5001'

@09:15:09.2500 [0] 8.1.101.25 distribute_event: message EventEstablished
\tAttributeThisDN\t'5001'
";

#[test]
fn tlog_records_span_their_continuation_lines_and_skip_the_rest() {
    for sizes in [vec![8192], vec![1], vec![13, 2, 40]] {
        let reader = Chunked { data: LOG.as_bytes(), sizes, turn: 0 };
        let (outcome, stats) = frames(reader, Framing::Tlog, 1 << 20);
        let ringing = LOG.lines().take(5).collect::<Vec<_>>().join("\n");
        let established = LOG.lines().skip(9).collect::<Vec<_>>().join("\n");
        assert_eq!(outcome, vec![ok(&ringing, None, 1), ok(&established, None, 10)]);
        assert_eq!((stats.skipped, stats.blank), (3, 1), "trace, request header and its attribute");
    }
}

#[test]
fn oversized_tlog_records_skip_their_continuation() {
    let mut log = String::from("@1 message EventRinging\n");
    for i in 0..50 {
        log.push_str(&format!("\tAttributeOther{i}\t'{}'\n", "v".repeat(20)));
    }
    log.push_str("@2 message EventReleased\n\tAttributeThisDN\t'1'\n");
    for sizes in [vec![100_000], vec![3], vec![64]] {
        let reader = Chunked { data: log.as_bytes(), sizes, turn: 0 };
        let (outcome, _) = frames(reader, Framing::Tlog, 400);
        assert_eq!(
            outcome,
            vec![
                Err("record longer than the limit of 400 bytes@1".into()),
                ok("@2 message EventReleased\n\tAttributeThisDN\t'1'", None, 52),
            ]
        );
    }
}

#[test]
fn auto_framing_mixes_dialects_and_skips_log_noise() {
    let input = format!(
        "t1:ct-1\t{{\"id\":\"EventRinging\"}}\n{LOG}<MonitorInfo/>\nt1:p\t <Agent/>\ngarbage here\n"
    );
    let (outcome, stats) = frames(input.as_bytes(), Framing::Auto, 1 << 20);
    let payloads: Vec<_> = outcome.iter().map(|r| r.as_ref().unwrap().0.clone()).collect();
    assert_eq!(payloads.len(), 6, "{payloads:#?}");
    assert!(payloads[1].starts_with("@09:15:02.1250") && payloads[1].ends_with("'en'"));
    assert!(payloads[2].contains("EventEstablished"));
    assert_eq!(payloads[3], "<MonitorInfo/>");
    assert_eq!(outcome[4], ok(" <Agent/>", Some("t1:p"), 14));
    assert_eq!(payloads[5], "garbage here", "handed to the decoder, which rejects it");
    assert_eq!(stats.skipped, 3);
}

#[test]
fn read_errors_end_the_stream() {
    struct Failing;
    impl Read for Failing {
        fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("disk on fire"))
        }
    }
    let mut reader = FrameReader::new(Failing, Framing::Lines);
    assert!(matches!(reader.next(), Some(Err(FrameError::Io(_)))));
    assert!(reader.next().is_none());
}

proptest! {
    #[test]
    fn framing_does_not_depend_on_read_sizes(
        lines in proptest::collection::vec("[ -~\t]{0,40}", 0..30),
        sizes in proptest::collection::vec(1usize..50, 1..5),
        framing in prop_oneof![Just(Framing::Lines), Just(Framing::Tlog), Just(Framing::Auto)],
        limit in 5usize..60,
    ) {
        let input = lines.join("\n");
        let whole = frames(input.as_bytes(), framing, limit);
        let chunked = frames(Chunked { data: input.as_bytes(), sizes, turn: 0 }, framing, limit);
        prop_assert_eq!(whole, chunked);
    }

    #[test]
    fn length_prefixed_framing_never_panics(
        bytes in proptest::collection::vec(any::<u8>(), 0..200),
        sizes in proptest::collection::vec(1usize..20, 1..4),
    ) {
        let whole = frames(&bytes[..], Framing::LengthPrefixed, 64);
        let chunked = frames(Chunked { data: &bytes, sizes, turn: 0 }, Framing::LengthPrefixed, 64);
        prop_assert_eq!(whole, chunked);
    }
}

fn memory_frames(input: &[u8], framing: Framing, limit: usize) -> (Outcome, u64, u64) {
    let mut frames =
        ctistream_core::MemoryFrames::new(bytes::Bytes::copy_from_slice(input), framing)
            .with_max_record(limit);
    let outcome = frames
        .by_ref()
        .map(|frame| match frame {
            Ok(Frame { payload, key, line, .. }) => Ok((
                String::from_utf8_lossy(&payload).into_owned(),
                key.map(|key| String::from_utf8_lossy(&key).into_owned()),
                line,
            )),
            Err(error) => Err(format!("{}@{}", error.class(), error.line().unwrap_or(0))),
        })
        .collect();
    (outcome, frames.stats().skipped, frames.stats().blank)
}

proptest! {
    #[test]
    fn framing_in_memory_equals_framing_a_stream(
        lines in proptest::collection::vec("[ -~\t]{0,40}", 0..30),
        framing in prop_oneof![Just(Framing::Lines), Just(Framing::Tlog), Just(Framing::Auto), Just(Framing::LengthPrefixed)],
        limit in 5usize..60,
    ) {
        let input = lines.join("\n");
        let (streamed, stats) = frames(input.as_bytes(), framing, limit);
        let (in_memory, skipped, blank) = memory_frames(input.as_bytes(), framing, limit);
        prop_assert_eq!(streamed, in_memory);
        prop_assert_eq!((stats.skipped, stats.blank), (skipped, blank));
    }
}

#[test]
fn records_longer_than_the_scan_window_are_framed_in_memory() {
    let mut log = String::from("@1 message EventRinging\n");
    for i in 0..60_000 {
        log.push_str(&format!("\tAttributeX{i}\t'{}'\n", "v".repeat(20)));
    }
    log.push_str("@2 message EventReleased\n\tAttributeThisDN\t'1'\n");
    let (frames, _, _) = memory_frames(log.as_bytes(), Framing::Tlog, 4 << 20);
    assert_eq!(frames.len(), 2);
    assert!(frames[0].as_ref().unwrap().0.len() > 1 << 20, "one record of about 2 MB");
}
