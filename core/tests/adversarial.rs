//! Hostile inputs beyond fuzzing (issue 7): extreme nesting and sizes, invalid
//! UTF-8, NUL bytes, CRLF lines, byte order marks, duplicate keys, numbers out
//! of range, events for calls and agents never seen, and millions of distinct
//! keys against the reducers' memory caps. Each test says what it proves.

mod common;

use std::fs;
use std::io::Write as _;

use ctistream_core::state::{
    AgentConfig, CallConfig, CollectOutputs, Dedupe, MAX_LEGS, NoOutputs, OVERFLOW_QUEUE, Outputs,
    Reducer, ReducerConfig, StatsConfig,
};
use ctistream_core::{
    Attr, DecodeError, Decoder, ErrorKind, Event, EventKind, Format, Frame, FrameError,
    FrameReader, Framing, MemoryFrames, TEvent, Timestamp, Value, kv_pairs,
};

fn data(file: &str) -> Vec<u8> {
    let path = format!("{}/tests/data/{file}", env!("CARGO_MANIFEST_DIR"));
    fs::read(&path).unwrap_or_else(|error| panic!("{path}: {error}"))
}

/// Every payload (key cut off) of a fixture, framed as `framing`.
fn payloads(file: &str, framing: Framing) -> Vec<Vec<u8>> {
    FrameReader::new(&data(file)[..], framing)
        .map(|frame| frame.expect("fixtures frame").payload.to_vec())
        .collect()
}

/// The fixtures as (format, records).
fn fixtures() -> Vec<(Format, Vec<Vec<u8>>)> {
    vec![
        (Format::Genesys, payloads("genesys_sample.ndjson", Framing::Lines)),
        (Format::Ors, payloads("ors_sample.ndjson", Framing::Lines)),
        (Format::Sdk, payloads("sdk_sample.ndjson", Framing::Lines)),
        (Format::Ivr, payloads("ivr_sample.xml", Framing::Lines)),
        (Format::Tlog, payloads("tlog_sample.log", Framing::Tlog)),
    ]
}

/// Decoding never panics, and gives either an event whose accessors all work
/// or an error positioned inside the record.
fn decode_checked(format: Format, record: &[u8], key: Option<&[u8]>) -> Result<(), DecodeError> {
    match Decoder::new(format).decode(record, key) {
        Ok(event) => {
            let _ = (event.call_key(), event.agent_key(), event.tenant(), event.time());
            for (attr, _) in event.attrs() {
                let _ = (event.text(attr), event.int(attr), event.raw(attr));
            }
            Ok(())
        }
        Err(error) => {
            assert!(error.offset() <= record.len(), "{error} past {} bytes", record.len());
            Err(error)
        }
    }
}

/// Reduces records (decoding each as `format`; rejects are skipped) and returns
/// the reducer and what it output.
fn reduce(format: Format, records: &[(Option<&[u8]>, Vec<u8>)]) -> (Reducer, CollectOutputs) {
    let decoder = Decoder::new(format);
    let mut reducer = Reducer::new(ReducerConfig::default());
    let mut out = CollectOutputs::default();
    for (key, record) in records {
        if let Ok(event) = decoder.decode(record, *key) {
            reducer.apply(&event, Timestamp(0), &mut out);
        }
    }
    reducer.finish(&mut out);
    (reducer, out)
}

/// Every output line the reducer can write (call records, snapshots,
/// statistics) parses as JSON: outputs stay valid whatever the input held.
fn assert_outputs_are_json(reducer: &Reducer, out: &CollectOutputs) {
    let mut text = Vec::new();
    for record in &out.records {
        record.write_json(&mut text);
    }
    for change in &out.changes {
        change.view().write_json(&mut text);
    }
    reducer.write_agent_snapshots(&mut text);
    reducer.write_stats(reducer.watermark(), &mut text);
    for line in text.split(|&b| b == b'\n').filter(|line| !line.is_empty()) {
        if let Err(error) = serde_json::from_slice::<serde_json::Value>(line) {
            panic!("{error}: {}", String::from_utf8_lossy(line));
        }
    }
}

// ---------------------------------------------------------------- nesting

const DEEP: usize = 100_000;

fn nested_json(open: &str, close: &str) -> String {
    format!("{}{}", open.repeat(DEEP), close.repeat(DEEP))
}

#[test]
fn json_nested_100_000_deep_is_refused_at_the_depth_limit_in_every_json_dialect() {
    let arrays = nested_json("[", "]");
    let objects = nested_json("{\"a\":", "}");
    for nested in [&arrays, &objects] {
        for (format, record) in [
            (Format::Genesys, format!("{{\"id\":\"EventRinging\",\"UserData\":{nested}}}")),
            (Format::Ors, format!("{{\"name\":\"interaction.added\",\"data\":{nested}}}")),
            (Format::Sdk, format!("{{\"eventType\":\"ringing\",\"extra\":{nested}}}")),
            (Format::Auto, format!("{{\"id\":\"EventRinging\",\"UserData\":{nested}}}")),
        ] {
            let error = decode_checked(format, record.as_bytes(), None).unwrap_err();
            assert_eq!(error.kind(), &ErrorKind::DepthLimit(128), "{format}");
            assert!(error.offset() < 1_000, "{format}: refused at byte {}", error.offset());
        }
    }
    assert!(ctistream_core::validate_json(arrays.as_bytes(), 128).is_err());
}

#[test]
fn xml_nested_100_000_deep_is_refused_without_recursion() {
    let record = format!(
        "<MonitorInfo>{}<Agent PortNum=\"1\" Status=\"Ready\"/>{}</MonitorInfo>",
        "<x>".repeat(DEEP),
        "</x>".repeat(DEEP)
    );
    let error = decode_checked(Format::Ivr, record.as_bytes(), None).unwrap_err();
    assert!(error.to_string().contains("nest"), "{error}");
}

// ---------------------------------------------------------------- sizes

const MIB: usize = 1 << 20;

#[test]
fn a_string_of_almost_1_mib_decodes_and_reads_back_whole() {
    let big = "x".repeat(MIB - 200);
    let record =
        format!("{{\"id\":\"EventAttachedDataChanged\",\"ConnID\":\"{big}\",\"ThisDN\":\"1\"}}");
    let input =
        format!("{record}\n{{\"id\":\"EventRinging\",\"ThisDN\":\"2\",\"ConnID\":\"c\"}}\n");
    let frames: Vec<Frame> =
        FrameReader::new(input.as_bytes(), Framing::Lines).map(Result::unwrap).collect();
    assert_eq!(frames.len(), 2);
    let event = Decoder::new(Format::Genesys).decode(&frames[0].payload, None).unwrap();
    assert_eq!(event.text(Attr::ConnID).unwrap().len(), big.len());
    assert_eq!(event.call_key().map(<[u8]>::len), Some(big.len()));
    // The reducer takes a 1 MiB call key and writes it out again.
    let (reducer, out) = reduce(Format::Genesys, &[(None, frames[0].payload.to_vec())]);
    assert_eq!(out.records.len(), 1);
    assert_eq!(out.records[0].call.len(), big.len());
    assert_outputs_are_json(&reducer, &out);
}

#[test]
fn a_line_over_1_mib_is_refused_and_framing_goes_on_with_the_next_record() {
    for framing in [Framing::Lines, Framing::Auto, Framing::Tlog] {
        let big = format!("message EventRinging {}\n", "y".repeat(MIB + 1));
        let after = "message EventRinging\n\tAttributeThisDN\t'5001'\n{\"id\":\"EventRinging\"}\n";
        let input = format!("{big}{after}");
        let frames: Vec<Result<Frame, FrameError>> =
            FrameReader::new(input.as_bytes(), framing).collect();
        assert!(
            matches!(frames[0], Err(FrameError::TooLarge { line: 1, limit: MIB, .. })),
            "{framing:?}: {:?}",
            frames[0].as_ref().map(|f| f.line)
        );
        assert!(frames[1..].iter().all(Result::is_ok), "{framing:?}");
        assert!(frames.len() >= 2, "{framing:?}: nothing after the oversized line");
        let head = frames[0].as_ref().unwrap_err().head().unwrap();
        assert_eq!(head.len(), 4096, "the reject keeps the first 4 KiB only");
    }
}

// ---------------------------------------------------------------- invalid UTF-8

#[test]
fn invalid_utf8_at_every_byte_of_every_fixture_never_panics_and_json_refuses_it() {
    let mut refused = 0;
    let mut accepted = 0;
    for (format, records) in fixtures() {
        for record in records {
            for at in 0..record.len() {
                for bad in [0xFF_u8, 0xC3, 0x80] {
                    let mut edited = record.clone();
                    edited[at] = bad;
                    let result = decode_checked(format, &edited, Some(b"t1:\xFFkey"));
                    if std::str::from_utf8(&edited).is_err()
                        && format != Format::Ivr
                        && format != Format::Tlog
                    {
                        // JSON text must be UTF-8 (RFC 8259 section 8.1).
                        assert!(result.is_err(), "{format} took invalid UTF-8 at {at}");
                    }
                    match result {
                        Ok(()) => accepted += 1,
                        Err(_) => refused += 1,
                    }
                }
            }
        }
    }
    assert!(refused > 0 && accepted > 0, "{refused} refused, {accepted} accepted");
}

#[test]
fn invalid_utf8_in_keys_and_names_gives_valid_json_outputs() {
    let records: Vec<(Option<&[u8]>, Vec<u8>)> = vec![
        (Some(b"t\xFF1:a\xFE1"), b"{\"id\":\"EventAgentLogin\",\"ThisDN\":\"5001\"}".to_vec()),
        (Some(b"t\xFF1:a\xFE1"), b"{\"id\":\"EventAgentReady\",\"ThisDN\":\"5001\"}".to_vec()),
        (
            Some(b"t\xFF1:c\xC3"),
            b"{\"id\":\"EventRinging\",\"ThisDN\":\"5001\",\"ConnID\":\"c1\"}".to_vec(),
        ),
        (
            Some(b"t\xFF1:c\xC3"),
            b"{\"id\":\"EventEstablished\",\"ThisDN\":\"5001\",\"ConnID\":\"c1\"}".to_vec(),
        ),
        (
            Some(b"t\xFF1:c\xC3"),
            b"{\"id\":\"EventReleased\",\"ThisDN\":\"5001\",\"ConnID\":\"c1\"}".to_vec(),
        ),
    ];
    let (reducer, out) = reduce(Format::Genesys, &records);
    assert_eq!(out.records.len(), 1);
    assert_eq!(out.records[0].call, "c\u{FFFD}");
    assert_eq!(out.records[0].tenant, "t\u{FFFD}1");
    assert_eq!(out.records[0].agents, ["a\u{FFFD}1"]);
    assert_outputs_are_json(&reducer, &out);
    // The tlog and IVR decoders take bytes as they come: invalid UTF-8 in a
    // value reaches the reducer and is replaced there, never written raw.
    let tlog =
        b"message EventAgentReady\n\tAttributeThisDN\t'50\xFF01'\n\tAttributeAgentID\t'a\xFF'\n";
    let (reducer, out) = reduce(Format::Tlog, &[(None, tlog.to_vec())]);
    assert_eq!(out.changes.len(), 1);
    assert_eq!(out.changes[0].agent, "a\u{FFFD}");
    assert_outputs_are_json(&reducer, &out);
}

// ---------------------------------------------------------------- NUL bytes

#[test]
fn nul_bytes_are_refused_raw_in_json_and_kept_escaped() {
    let raw = b"{\"id\":\"EventRinging\",\"ThisDN\":\"50\x0001\",\"ConnID\":\"c\"}";
    let error = decode_checked(Format::Genesys, raw, None).unwrap_err();
    assert_eq!(error.offset(), 33, "{error}");
    let escaped = br#"{"id":"EventAgentLogin","ThisDN":"50\u000001","AgentID":"a\u0000"}"#;
    let event = Decoder::new(Format::Genesys).decode(escaped, None).unwrap();
    assert_eq!(event.text(Attr::ThisDN).as_deref(), Some("50\u{0}01"));
    // Names are keys, unescaped: `a\u0000` and the same name written with
    // another escape are one agent, whose name holds the NUL; outputs escape
    // it again and stay valid JSON.
    let ready = br#"{"id":"EventAgentReady","ThisDN":"50\u000001","AgentID":"\u0061\u0000"}"#;
    let (reducer, out) =
        reduce(Format::Genesys, &[(None, escaped.to_vec()), (None, ready.to_vec())]);
    assert_eq!(reducer.agents().len(), 1, "the same agent both times");
    assert_eq!(out.changes.len(), 2);
    assert_eq!(out.changes[0].agent, "a\u{0}");
    assert_outputs_are_json(&reducer, &out);
}

#[test]
fn nul_bytes_in_lines_tlog_and_xml_neither_split_records_nor_panic() {
    let input = b"t1:k\x00\t{\"id\":\"EventRinging\"}\n\x00\n{\"id\":\x00}\n";
    let frames: Vec<Frame> =
        FrameReader::new(&input[..], Framing::Lines).map(Result::unwrap).collect();
    assert_eq!(frames.len(), 3, "NUL is data, not a separator");
    assert_eq!(frames[0].key.as_deref(), Some(&b"t1:k\x00"[..]));
    let tlog = b"message EventAgentReady\n\tAttributeThisDN\t'5\x0001'\n\tAttributeAgentID\t'a1'\n";
    let event = Decoder::new(Format::Tlog).decode(tlog, None).unwrap();
    assert_eq!(event.text(Attr::ThisDN).as_deref(), Some("5\u{0}01"));
    for xml in
        [&b"<MonitorInfo><Agent PortNum=\"1\x00\" Status=\"Ready\"/></MonitorInfo>"[..], b"<\x00/>"]
    {
        let _ = decode_checked(Format::Ivr, xml, None);
    }
}

/// Found by the NUL test: agent names were interned as written, escapes
/// included, so `"a\u00e9"` and `"aé"` were two agents (and the output named
/// one `a\\u00e9`). Agent and call events now agree on the unescaped name,
/// in JSON and in XML.
#[test]
fn escaped_and_plain_agent_names_are_one_agent_in_every_dialect() {
    let (reducer, out) = reduce(
        Format::Auto,
        &[
            (None, br#"{"id":"EventAgentLogin","ThisDN":"5001","AgentID":"Jos\u00e9"}"#.to_vec()),
            (None, r#"{"id":"EventAgentReady","ThisDN":"5001","AgentID":"José"}"#.into()),
            (
                None,
                br#"{"id":"EventRinging","ThisDN":"5001","ConnID":"c","AgentID":"Jos\u00e9"}"#
                    .to_vec(),
            ),
            (None, br#"{"id":"EventEstablished","ThisDN":"5001","ConnID":"c"}"#.to_vec()),
            (None, br#"{"id":"EventReleased","ThisDN":"5001","ConnID":"c"}"#.to_vec()),
            (
                None,
                b"<MonitorInfo><Agent PortNum=\"&#55;\" Status=\"Ready\"/></MonitorInfo>".to_vec(),
            ),
            (
                None,
                b"<MonitorInfo><Agent PortNum=\"7\" Status=\"NotReady\"/></MonitorInfo>".to_vec(),
            ),
        ],
    );
    let mut agents: Vec<&str> =
        reducer.agents().iter().map(|a| reducer.names().name(a.agent())).collect();
    agents.sort();
    assert_eq!(agents, ["7", "José"]);
    assert_eq!(out.records[0].agents, ["José"]);
    let names = reducer.names();
    let jose = reducer.agents().iter().find(|a| names.name(a.agent()) == "José").unwrap();
    assert_eq!(jose.calls_handled(), 1);
    assert_outputs_are_json(&reducer, &out);
}

// ---------------------------------------------------------------- CRLF and BOM

/// The kinds and attribute texts of a stream's events.
fn events(input: &[u8], framing: Framing, format: Format) -> Vec<String> {
    let decoder = Decoder::new(format);
    MemoryFrames::new(bytes::Bytes::copy_from_slice(input), framing)
        .map(|frame| {
            let frame = frame.unwrap();
            let event: Event<'_> = decoder.decode(&frame.payload, frame.key.as_deref()).unwrap();
            let attrs: Vec<String> = event
                .attrs()
                .map(|(attr, value)| match value {
                    // Key-value lists are kept raw (line breaks included) and
                    // read through `kv_pairs`: compare what that gives.
                    Value::KvList(span) => {
                        let pairs: Vec<_> = kv_pairs(span.of(&frame.payload)).collect();
                        format!("{attr:?}={pairs:?}")
                    }
                    _ => format!("{attr:?}={:?}", event.text(attr)),
                })
                .collect();
            format!("{:?} {:?} {attrs:?}", event.kind(), event.time())
        })
        .collect()
}

fn crlf(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for &b in text {
        if b == b'\n' {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}

#[test]
fn crlf_line_ends_give_the_same_events_as_lf_in_every_dialect() {
    for (file, framing, format) in [
        ("genesys_sample.ndjson", Framing::Lines, Format::Genesys),
        ("ors_sample.ndjson", Framing::Lines, Format::Ors),
        ("sdk_sample.ndjson", Framing::Lines, Format::Sdk),
        ("ivr_sample.xml", Framing::Lines, Format::Ivr),
        ("tlog_sample.log", Framing::Tlog, Format::Tlog),
    ] {
        let lf = data(file);
        let expected = events(&lf, framing, format);
        assert!(!expected.is_empty());
        assert_eq!(events(&crlf(&lf), framing, format), expected, "{file}");
    }
}

#[test]
fn a_byte_order_mark_at_the_start_of_a_stream_is_skipped_in_every_text_framing() {
    const BOM: &[u8] = b"\xEF\xBB\xBF";
    for (file, framing, format) in [
        ("genesys_sample.ndjson", Framing::Lines, Format::Genesys),
        ("sdk_sample.ndjson", Framing::Auto, Format::Auto),
        ("tlog_sample.log", Framing::Tlog, Format::Tlog),
    ] {
        let plain = data(file);
        let with_bom = [BOM, &plain].concat();
        assert_eq!(events(&with_bom, framing, format), events(&plain, framing, format), "{file}");
        // Read a byte at a time, the BOM is recognised all the same.
        let trickled: Vec<Frame> =
            FrameReader::new(OneByte(&with_bom), framing).map(Result::unwrap).collect();
        let whole: Vec<Frame> = FrameReader::new(&plain[..], framing).map(Result::unwrap).collect();
        let payloads =
            |frames: &[Frame]| frames.iter().map(|f| f.payload.clone()).collect::<Vec<_>>();
        assert_eq!(payloads(&trickled), payloads(&whole), "{file}");
        assert_eq!(trickled[0].offset, whole[0].offset + 3, "offsets count the BOM");
    }
    // Inside a record a BOM is data: JSON refuses it, the IVR decoder allows it.
    let json = [BOM, b"{\"id\":\"EventRinging\"}"].concat();
    assert!(decode_checked(Format::Genesys, &json, None).is_err());
    let xml = [BOM, b"<MonitorInfo><Agent PortNum=\"1\" Status=\"Ready\"/></MonitorInfo>"].concat();
    assert!(decode_checked(Format::Ivr, &xml, None).is_ok());
    // A line that merely begins with part of a BOM is not touched.
    let frames: Vec<Frame> =
        FrameReader::new(&b"\xEF\xBBx\n"[..], Framing::Lines).map(Result::unwrap).collect();
    assert_eq!(&frames[0].payload[..], b"\xEF\xBBx");
}

/// A reader that returns one byte per read.
struct OneByte<'a>(&'a [u8]);

impl std::io::Read for OneByte<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let Some((&first, rest)) = self.0.split_first() else { return Ok(0) };
        if buf.is_empty() {
            return Ok(0);
        }
        buf[0] = first;
        self.0 = rest;
        Ok(1)
    }
}

// ---------------------------------------------------------------- duplicate keys

#[test]
fn duplicate_json_members_take_the_last_value_in_every_json_dialect() {
    let genesys =
        br#"{"id":"EventRinging","id":"EventEstablished","ThisDN":"1","ThisDN":"2","ConnID":"c"}"#;
    let event = Decoder::new(Format::Genesys).decode(genesys, None).unwrap();
    assert_eq!(event.kind(), EventKind::TLib(TEvent::Established));
    assert_eq!(event.text(Attr::ThisDN).as_deref(), Some("2"));
    let sdk = br#"{"eventType":"agentStatus","tenantId":"t","agentNo":"1","agentNo":"2","state":"busy","state":"idle"}"#;
    let event = Decoder::new(Format::Sdk).decode(sdk, None).unwrap();
    assert_eq!(event.agent_key(), Some(&b"2"[..]));
    let ors = br#"{"name":"interaction.added","data":{"interactionid":"i1","interactionid":"i2"}}"#;
    let event = Decoder::new(Format::Ors).decode(ors, None).unwrap();
    assert_eq!(event.call_key(), Some(&b"i2"[..]));
}

#[test]
fn duplicate_xml_attributes_are_refused_or_resolved_without_panic() {
    let xml = br#"<MonitorInfo><Agent PortNum="1" PortNum="2" Status="Ready" Status="NotReady"/></MonitorInfo>"#;
    if let Ok(event) = Decoder::new(Format::Ivr).decode(xml, None) {
        assert!(matches!(event.agent_key(), Some(b"1" | b"2")));
    }
}

// ---------------------------------------------------------------- numbers out of range

#[test]
fn numbers_out_of_range_are_refused_where_a_value_is_needed() {
    for record in [
        r#"{"id":"EventRinging","time":1e400,"ThisDN":"1"}"#,
        r#"{"id":"EventRinging","time":99999999999999999999,"ThisDN":"1"}"#,
        r#"{"id":"EventRinging","time":-9223372036854775809,"ThisDN":"1"}"#,
        r#"{"id":"EventRinging","CallType":18446744073709551616,"ThisDN":"1"}"#,
        r#"{"id":"EventRinging","TimeinSecs":1.5e300,"ThisDN":"1"}"#,
        r#"{"id":99999999999999999999,"ThisDN":"1"}"#,
    ] {
        assert!(decode_checked(Format::Genesys, record.as_bytes(), None).is_err(), "{record}");
    }
    // Unknown enumeration codes within range are kept raw, never refused.
    let event = Decoder::new(Format::Genesys)
        .decode(
            br#"{"id":"EventRinging","CallType":-5,"Cause":999999,"ThisDN":"1","ConnID":"c"}"#,
            None,
        )
        .unwrap();
    assert_eq!(event.int(Attr::CallType), Some(-5));
    let tlog = b"message EventRinging\n\tAttributeEventSequenceNumber\tffffffffffffffffff\n";
    assert!(decode_checked(Format::Tlog, tlog, None).is_err(), "a sequence number over 64 bits");
}

/// Regression: a `TimeinSecs` of 18 digits saturates the event time at the
/// ends of `i64`; the agent reducer subtracted such times and overflowed
/// (a panic in debug builds, wrapped durations in release).
#[test]
fn event_times_at_the_ends_of_i64_neither_overflow_nor_give_negative_durations() {
    let lines = [
        r#"{"id":"EventAgentReady","TimeinSecs":999999999999999999,"ThisDN":"1","AgentID":"a"}"#,
        r#"{"id":"EventAgentNotReady","TimeinSecs":-999999999999999999,"ThisDN":"1","AgentID":"a"}"#,
        r#"{"id":"EventQueued","TimeinSecs":-999999999999999999,"ThisDN":"q","ThisQueue":"q","ConnID":"c"}"#,
        r#"{"id":"EventRinging","TimeinSecs":-999999999999999999,"ThisDN":"1","ConnID":"c"}"#,
        r#"{"id":"EventEstablished","TimeinSecs":999999999999999999,"ThisDN":"1","ConnID":"c"}"#,
        r#"{"id":"EventHeld","TimeinSecs":-999999999999999999,"ThisDN":"1","ConnID":"c"}"#,
        r#"{"id":"EventReleased","TimeinSecs":999999999999999999,"ThisDN":"1","ConnID":"c"}"#,
        r#"{"id":"EventAgentAfterCallWork","TimeinSecs":999999999999999999,"ThisDN":"1","AgentID":"a"}"#,
        r#"{"id":"EventAgentReady","TimeinSecs":-999999999999999999,"ThisDN":"1","AgentID":"a"}"#,
    ];
    let records: Vec<(Option<&[u8]>, Vec<u8>)> =
        lines.iter().map(|line| (None, line.as_bytes().to_vec())).collect();
    let (reducer, out) = reduce(Format::Genesys, &records);
    assert_eq!(out.records.len(), 1);
    let record = &out.records[0];
    for value in [record.queue_ms, record.ring_ms, record.talk_ms, record.hold_ms] {
        assert!(value >= 0, "{record:?}");
    }
    assert!(record.ended.unwrap() >= record.started);
    for window in out.changes.windows(2) {
        assert!(window[1].at >= window[0].at, "time runs backwards in {:?}", out.changes);
    }
    assert_outputs_are_json(&reducer, &out);
    // The same with any ingest time the caller passes (records without time).
    let mut reducer = Reducer::default();
    let mut out = CollectOutputs::default();
    let decoder = Decoder::new(Format::Genesys);
    for (ingest, line) in [
        (i64::MAX, r#"{"id":"EventAgentReady","ThisDN":"1","AgentID":"a"}"#),
        (i64::MIN, r#"{"id":"EventAgentNotReady","ThisDN":"1","AgentID":"a"}"#),
        (i64::MIN, r#"{"id":"EventRinging","ThisDN":"1","ConnID":"c"}"#),
        (i64::MAX, r#"{"id":"EventReleased","ThisDN":"1","ConnID":"c"}"#),
    ] {
        let event = decoder.decode(line.as_bytes(), None).unwrap();
        reducer.apply(&event, Timestamp(ingest), &mut out);
    }
    reducer.finish(&mut out);
    assert_eq!(out.records.len(), 1);
    assert!(out.records[0].ring_ms >= 0);
}

// ---------------------------------------------------------------- unknown calls and agents

#[test]
fn events_for_calls_never_seen_start_nothing_that_outlives_them() {
    let lines = [
        // Mid-call events of calls whose start was never seen.
        r#"{"id":"EventReleased","time":1000000,"ThisDN":"5001","ConnID":"u1","AgentID":"a9"}"#,
        r#"{"id":"EventEstablished","time":2000000,"ThisDN":"5002","ConnID":"u2"}"#,
        r#"{"id":"EventRetrieved","time":2000000,"ThisDN":"5003","ConnID":"u3"}"#,
        r#"{"id":"EventPartyChanged","time":3000000,"ThisDN":"5004","ConnID":"u4","PreviousConnID":"never"}"#,
        r#"{"id":"EventDiverted","time":3000000,"ThisDN":"7000","ConnID":"u5"}"#,
        r#"{"id":"EventAbandoned","time":3000000,"ThisDN":"7000","ThisQueue":"7000","ConnID":"u6"}"#,
        // The rest of them ends later.
        r#"{"id":"EventReleased","time":4000000,"ThisDN":"5002","ConnID":"u2"}"#,
        r#"{"id":"EventReleased","time":4000000,"ThisDN":"5003","ConnID":"u3"}"#,
        r#"{"id":"EventReleased","time":4000000,"ThisDN":"5004","ConnID":"u4"}"#,
        r#"{"id":"EventLinkConnected","time":99000000}"#,
    ];
    let decoder = Decoder::new(Format::Genesys);
    let mut reducer = Reducer::default();
    let mut out = CollectOutputs::default();
    for line in lines {
        let event = decoder.decode(line.as_bytes(), None).unwrap();
        reducer.apply(&event, Timestamp(0), &mut out);
    }
    assert_eq!(reducer.calls().open(), 0, "every call ended and was emitted");
    assert_eq!(out.records.len(), 6);
    for record in &out.records {
        assert!(record.ended.is_some() && record.ring_ms >= 0 && record.talk_ms >= 0, "{record:?}");
    }
    let u2 = out.records.iter().find(|r| r.call == "u2").unwrap();
    assert_eq!(u2.talk_ms, 0, "talk is counted from the answer seen, no agent on the leg");
    for agent in reducer.agents().iter() {
        assert!(agent.leg_conns().is_empty());
    }
}

#[test]
fn agent_events_for_agents_never_seen_create_one_state_each() {
    let lines = [
        r#"{"id":"EventAgentLogout","time":1000000,"ThisDN":"5001","AgentID":"x1"}"#,
        r#"{"id":"EventAgentReady","time":1000000,"ThisDN":"5002","AgentID":"x2"}"#,
        r#"{"id":"EventAgentNotReady","time":1000000,"ThisDN":"5003","AgentID":"x3"}"#,
        r#"{"id":"EventDNDOn","time":1000000,"ThisDN":"5009"}"#,
    ];
    let records: Vec<(Option<&[u8]>, Vec<u8>)> =
        lines.iter().map(|line| (None, line.as_bytes().to_vec())).collect();
    let (reducer, out) = reduce(Format::Genesys, &records);
    assert_eq!(reducer.agents().len(), 3);
    assert_eq!(reducer.counters().unattributed, 1, "a DN event with no agent bound");
    let statuses: Vec<String> =
        out.changes.iter().map(|c| format!("{}:{:?}", c.agent, c.status)).collect();
    assert_eq!(statuses, ["x1:LoggedOut", "x2:WaitForNextCall", "x3:NotReadyForNextCall"]);
    assert!(out.changes.iter().all(|c| c.previous.is_none()));
}

// ---------------------------------------------------------------- millions of keys

/// Keeps count of outputs only (millions of them would not fit in memory).
#[derive(Default)]
struct Count {
    records: u64,
    changes: u64,
}

impl Outputs for Count {
    fn agent_change(&mut self, _: &ctistream_core::state::AgentChange<'_>) {
        self.changes += 1;
    }

    fn call_record(&mut self, _: &ctistream_core::state::CallRecord) {
        self.records += 1;
    }
}

/// A million calls ring at one agent and never end (their EventReleased is
/// lost): open threads stay at the configured cap, the agent keeps at most
/// `MAX_LEGS` legs, and every eviction is counted. (A debug build, as
/// `cargo test` runs it, takes 200 000 calls — twenty times the cap, the same
/// property — to keep the test near two seconds; `--release` runs the million.)
#[test]
fn a_million_calls_that_never_end_stay_within_max_open_and_max_legs() {
    const CALLS: u64 = if cfg!(debug_assertions) { 200_000 } else { 1_000_000 };
    const CAP: usize = 10_000;
    let config = ReducerConfig {
        calls: CallConfig { max_open: CAP, ..CallConfig::default() },
        ..ReducerConfig::default()
    };
    let mut reducer = Reducer::new(config);
    let mut out = Count::default();
    let decoder = Decoder::new(Format::Genesys);
    let mut record = Vec::with_capacity(128);
    let mut most_open = 0;
    for call in 0..CALLS {
        record.clear();
        write!(
            record,
            r#"{{"id":"EventRinging","time":{},"ThisDN":"5001","AgentID":"a1","ConnID":"{call:016x}"}}"#,
            1_000_000 + call * 1000
        )
        .unwrap();
        let event = decoder.decode(&record, None).unwrap();
        reducer.apply(&event, Timestamp(0), &mut out);
        most_open = most_open.max(reducer.calls().open());
    }
    assert_eq!(most_open, CAP, "open threads never pass the cap");
    let counters = reducer.counters();
    assert_eq!(counters.evicted_calls, CALLS - reducer.calls().open() as u64);
    assert_eq!(out.records, 0, "evicted calls leave no record");
    let names = reducer.names();
    let agent = reducer.agents().iter().find(|a| names.name(a.agent()) == "a1").unwrap();
    assert_eq!(agent.leg_conns().len(), MAX_LEGS);
    assert_eq!(counters.dropped_legs, CALLS - MAX_LEGS as u64);
    // The latest calls are the ones kept: the newest still ends normally.
    let last = format!(
        r#"{{"id":"EventReleased","time":{},"ThisDN":"5001","AgentID":"a1","ConnID":"{:016x}"}}"#,
        1_000_000 + CALLS * 1000,
        CALLS - 1
    );
    let event = decoder.decode(last.as_bytes(), None).unwrap();
    reducer.apply(&event, Timestamp(0), &mut out);
    let tick = r#"{"id":"EventLinkConnected","time":99000000000000}"#;
    reducer.apply(&decoder.decode(tick.as_bytes(), None).unwrap(), Timestamp(0), &mut out);
    assert_eq!(out.records, 1);
    assert_eq!(reducer.calls().open(), CAP - 1);
}

/// Two million distinct `Server` values (each would keep a 512-byte window of
/// sequence numbers): the duplicate filter keeps at most `max_servers` and
/// counts the rest as evicted, and still catches duplicates of recent servers.
#[test]
fn two_million_distinct_servers_stay_within_max_servers() {
    const SERVERS: u64 = 2_000_000;
    const CAP: usize = 4_096;
    let mut dedupe = Dedupe::new(CAP);
    let mut most = 0;
    for server in 0..SERVERS {
        assert!(dedupe.first_sight(0, server, 1));
        most = most.max(dedupe.servers());
    }
    assert_eq!(most, CAP);
    assert_eq!(dedupe.evicted(), SERVERS - dedupe.servers() as u64);
    assert!(!dedupe.first_sight(0, SERVERS - 1, 1), "the latest server is still known");
    assert_eq!(dedupe.duplicates(), 1);
    // Through the reducer: the counters report the evictions.
    let config = ReducerConfig {
        calls: CallConfig { max_servers: 16, ..CallConfig::default() },
        ..ReducerConfig::default()
    };
    let mut reducer = Reducer::new(config);
    let decoder = Decoder::new(Format::Genesys);
    for server in 0..1_000 {
        let record = format!(
            r#"{{"id":"EventAgentReady","ThisDN":"1","AgentID":"a","Server":"s{server}","EventSequenceNumber":7}}"#
        );
        let event = decoder.decode(record.as_bytes(), None).unwrap();
        reducer.apply(&event, Timestamp(0), &mut NoOutputs);
    }
    assert_eq!(reducer.call_side().dedupe().servers(), 16);
    assert_eq!(reducer.counters().evicted_servers, 1_000 - 16);
    assert_eq!(reducer.counters().duplicates, 0);
}

/// A call evicted after it completed leaves its completion entry behind; the
/// next call takes its slot. That entry must not emit the new call before it
/// ends (versions are unique across the table, not per slot).
#[test]
fn an_evicted_calls_completion_never_emits_the_call_that_reuses_its_slot() {
    let config = ReducerConfig {
        calls: CallConfig { max_open: 1, ..CallConfig::default() },
        ..ReducerConfig::default()
    };
    let mut reducer = Reducer::new(config);
    let mut out = CollectOutputs::default();
    let decoder = Decoder::new(Format::Genesys);
    for line in [
        r#"{"id":"EventRinging","time":1000000,"ThisDN":"5001","ConnID":"a"}"#,
        r#"{"id":"EventReleased","time":1500000,"ThisDN":"5001","ConnID":"a"}"#,
        // Call b evicts a, still lingering, and takes its slot.
        r#"{"id":"EventRinging","time":1600000,"ThisDN":"5002","ConnID":"b"}"#,
        r#"{"id":"EventEstablished","time":1700000,"ThisDN":"5002","ConnID":"b"}"#,
        // Far past a's linger span.
        r#"{"id":"EventLinkConnected","time":99000000}"#,
    ] {
        let event = decoder.decode(line.as_bytes(), None).unwrap();
        reducer.apply(&event, Timestamp(0), &mut out);
    }
    assert_eq!(reducer.counters().evicted_calls, 1);
    assert!(out.records.is_empty(), "emitted {:?}", out.records);
    assert_eq!(reducer.calls().open(), 1, "b is still talking");
}

/// Agents counted by status in `reducer`'s statistics, over every queue.
fn agents_counted(reducer: &Reducer) -> u64 {
    let side = reducer.agent_side();
    side.stats()
        .sorted(side.names())
        .iter()
        .map(|(_, stats)| stats.agents.iter().map(|&n| u64::from(n)).sum::<u64>())
        .sum()
}

/// A million agents (each on its own DN, in its own queue, with its own
/// not-ready reason) log in and are never seen again: the agent table, the
/// DN bindings and the statistics stay at their caps with every eviction
/// counted, the interned names are rebuilt as they pile up, and the
/// statistics still count each agent kept exactly once. (A debug build takes
/// 150 000 agents, fifteen times the cap; `--release` the million.)
#[test]
fn a_million_distinct_agents_dns_and_queues_stay_within_their_caps() {
    const AGENTS: u64 = if cfg!(debug_assertions) { 150_000 } else { 1_000_000 };
    const CAP: usize = 10_000;
    let config = ReducerConfig {
        calls: CallConfig { max_bindings: CAP, ..CallConfig::default() },
        agents: AgentConfig { max_agents: CAP, ..AgentConfig::default() },
        stats: StatsConfig { max_queues: 2_000, ..StatsConfig::default() },
        ..ReducerConfig::default()
    };
    let mut reducer = Reducer::new(config);
    let decoder = Decoder::new(Format::Genesys);
    let mut out = Count::default();
    let (mut most_agents, mut most_bindings, mut most_names, mut most_rows) = (0, 0, 0, 0);
    let mut record = Vec::with_capacity(256);
    for agent in 0..AGENTS {
        for event in ["EventAgentLogin", "EventAgentNotReady"] {
            record.clear();
            write!(
                record,
                r#"{{"id":"{event}","time":{},"ThisDN":"dn{agent}","AgentID":"agent{agent}","ThisQueue":"q{agent}","Reasons":{{"ReasonCode":"r{agent}"}}}}"#,
                1_000_000 + agent * 1000
            )
            .unwrap();
            let event = decoder.decode(&record, None).unwrap();
            reducer.apply(&event, Timestamp(0), &mut out);
        }
        most_agents = most_agents.max(reducer.agents().len());
        most_bindings = most_bindings.max(reducer.call_side().bindings().len());
        most_names = most_names.max(reducer.names().len().max(reducer.call_side().names().len()));
        most_rows = most_rows.max(reducer.stats().len().max(reducer.call_side().stats().len()));
    }
    assert_eq!(most_agents, CAP, "agents never pass the cap");
    assert_eq!(most_bindings, CAP, "bindings never pass the cap");
    // Each agent brings four names (agent, DN, queue, reason): without the
    // rebuilds the agent side would hold four million.
    assert!(most_names <= 2 * (1 << 16) + 8 * CAP, "{most_names} names held");
    assert!(most_rows <= 2_001, "{most_rows} statistics rows");
    let counters = reducer.counters();
    assert_eq!(counters.evicted_agents, AGENTS - reducer.agents().len() as u64);
    assert!(counters.evicted_bindings >= AGENTS - CAP as u64, "{counters:?}");
    assert!(counters.overflowed_queues > 0, "{counters:?}");
    assert_eq!(out.changes, 2 * AGENTS, "every agent's changes were reported");
    // The statistics count the agents kept, each once, the overflow queue
    // included.
    assert_eq!(agents_counted(&reducer), reducer.agents().len() as u64);
    let side = reducer.agent_side();
    let overflow = side.names().get(OVERFLOW_QUEUE.as_bytes()).expect("the overflow queue");
    let tenant = side.names().get(b"default").expect("the default tenant");
    let others = side.stats().queue(tenant, overflow).expect("an overflow row");
    assert!(others.agents.iter().sum::<u32>() > 0, "recent agents counted under (other)");
    // The latest agent is still known by name after the rebuilds.
    let last = side.names().get(format!("agent{}", AGENTS - 1).as_bytes()).unwrap();
    let state = reducer.agents().get(tenant, last).expect("the latest agent is kept");
    assert_eq!(side.names().name(state.dn()), format!("dn{}", AGENTS - 1));
}
