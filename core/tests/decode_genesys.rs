//! The `genesys` dialect: Voice Microservices JSON, decoded field by field.

use ctistream_core::{
    AgentWorkMode, Attr, CallState, CallType, Cause, Decoder, Dialect, DnRole, ErrorKind,
    EventKind, Format, FrameReader, Framing, TEvent, Timestamp, Value,
};

const SAMPLE: &str = include_str!("data/genesys_sample.ndjson");

fn decode_sample() -> Vec<(u64, ctistream_core::OwnedEvent)> {
    let decoder = Decoder::new(Format::Genesys);
    FrameReader::new(SAMPLE.as_bytes(), Framing::Lines)
        .map(|frame| {
            let frame = frame.unwrap();
            let event = decoder
                .decode(&frame.payload, frame.key.as_deref())
                .unwrap_or_else(|error| panic!("line {}: {error}", frame.line));
            (frame.line, event.into_owned())
        })
        .collect()
}

fn ts(text: &str) -> Timestamp {
    Timestamp::parse_rfc3339(text.as_bytes()).unwrap()
}

#[test]
fn sample_decodes_with_every_field() {
    let events = decode_sample();
    let lines: Vec<u64> = events.iter().map(|(line, _)| *line).collect();
    assert_eq!(lines, [1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15], "blank line 4 skipped");
    let event = |i: usize| events[i].1.event();

    let login = event(0);
    assert_eq!(login.kind(), EventKind::TLib(TEvent::AgentLogin));
    assert_eq!(login.dialect(), Dialect::Genesys);
    assert_eq!(login.tenant(), b"t1");
    assert_eq!(login.agent_key(), Some(&b"a1001"[..]));
    assert_eq!(login.work_mode(), Some(AgentWorkMode::ManualIn));
    assert_eq!(login.text(Attr::ThisQueue).as_deref(), Some("Sales"));
    assert_eq!(login.int(Attr::EventSequenceNumber), Some(101));
    assert_eq!(login.int(Attr::Server), Some(1));
    assert_eq!(login.time(), Some(ts("2026-11-20T09:00:00Z")));

    let not_ready = event(1);
    assert_eq!(not_ready.work_mode(), Some(AgentWorkMode::AuxWork));
    assert_eq!(not_ready.raw(Attr::Reasons), Some(&br#"{"ReasonCode":"Break"}"#[..]));

    let queued = event(3);
    assert_eq!(queued.kind(), EventKind::TLib(TEvent::Queued));
    assert_eq!(queued.call_key(), Some(&b"ct-1"[..]));
    assert_eq!(queued.text(Attr::ConnID).as_deref(), Some("006c02462a161006@sip-1"));
    assert_eq!(queued.text(Attr::CallUUID).as_deref(), Some("05B9PTFV4D1EJ3N7"));
    assert_eq!(queued.int(Attr::CallID), Some(16));
    assert_eq!(queued.dn_role(Attr::OtherDNRole), Some(DnRole::Origination));
    assert_eq!(queued.call_type(), Some(CallType::Inbound));
    assert_eq!(queued.text(Attr::ANI).as_deref(), Some("+14155550123"));
    assert_eq!(queued.text(Attr::DNIS).as_deref(), Some("8005550100"));
    assert_eq!(queued.time(), Some(Timestamp::from_secs_micros(1_795_165_502, 125_000)));

    let route_request = event(4);
    assert_eq!(route_request.call_type(), Some(CallType::Inbound), "integer enum");
    assert_eq!(route_request.time(), Some(Timestamp(1_795_165_502_200_000)), "epoch micros");
    assert_eq!(
        route_request.raw(Attr::UserData),
        Some(&br#"{"Language":"en","Segment":{"tier":"gold","score":97}}"#[..])
    );

    let ringing = event(5);
    assert_eq!(ringing.kind(), EventKind::TLib(TEvent::Ringing));
    assert_eq!(ringing.dn_role(Attr::ThisDNRole), Some(DnRole::Destination));
    assert_eq!(ringing.dn_role(Attr::OtherDNRole), Some(DnRole::Origination));
    assert_eq!(ringing.call_state(), Some(CallState::Ok));
    assert_eq!(ringing.text(Attr::ThirdPartyDN).as_deref(), Some("8005550100"));
    assert_eq!(ringing.text(Attr::AgentID).as_deref(), Some("a1001"));
    assert_eq!(ringing.time(), Some(ts("2026-11-20T09:45:04Z")));

    assert_eq!(event(6).dn_role(Attr::ThirdPartyDNRole), Some(DnRole::Destination));
    assert_eq!(event(7).kind(), EventKind::TLib(TEvent::Established));
    assert_eq!(event(8).kind(), EventKind::TLib(TEvent::Held));
    assert_eq!(event(9).call_state(), Some(CallState::Ok), "name form");

    let released = event(10);
    assert_eq!(released.kind(), EventKind::TLib(TEvent::Released));
    assert_eq!(released.cause(), Some(Cause::Empty));

    assert_eq!(event(11).work_mode(), Some(AgentWorkMode::AfterCallWork));

    let abandoned = event(12);
    assert_eq!(abandoned.kind(), EventKind::TLib(TEvent::Abandoned));
    assert_eq!(abandoned.key(), None);
    assert_eq!(abandoned.tenant(), b"t2", "CustomerID names the tenant when no key does");
    assert_eq!(abandoned.call_key(), Some(&b"ct-2"[..]));

    let error = event(13);
    assert_eq!(error.kind(), EventKind::TLib(TEvent::Error));
    assert_eq!(error.tenant(), b"default");
    assert_eq!(error.text(Attr::ErrorMessage).as_deref(), Some("Invalid \"DN\" état"));
    assert!(matches!(error.get(Attr::ErrorMessage), Some(Value::JsonEscaped(_))));
}

/// A minimal record for `event` that satisfies the mandatory attributes.
fn minimal(name: &str) -> String {
    format!(r#"{{"id":"{name}","ThisDN":"5001","ConnID":"0a1b2c3d4e5f6071","Server":3}}"#)
}

#[test]
fn every_t_library_event_decodes_by_name_and_by_code() {
    let decoder = Decoder::new(Format::Genesys);
    for &event in TEvent::ALL {
        let record = minimal(event.name());
        let decoded = decoder.decode(record.as_bytes(), None).unwrap();
        assert_eq!(decoded.kind(), EventKind::TLib(event));
        assert_eq!(decoded.text(Attr::ThisDN).as_deref(), Some("5001"));
        let by_code = record.replace(&format!("\"{}\"", event.name()), &event.code().to_string());
        assert_eq!(
            decoder.decode(by_code.as_bytes(), None).unwrap().kind(),
            EventKind::TLib(event)
        );
    }
    let unknown_code = decoder.decode(br#"{"id":999,"ThisDN":"1"}"#, None).unwrap();
    assert_eq!(unknown_code.kind(), EventKind::TLib(TEvent::Other(999)), "unknown ids kept raw");
}

#[test]
fn enumerations_accept_names_codes_and_keep_unknown_codes() {
    let decoder = Decoder::new(Format::Genesys);
    let record =
        |fields: &str| format!(r#"{{"id":"EventRinging","ThisDN":"1","ConnID":"c",{fields}}}"#);
    for &call_type in CallType::ALL {
        let by_name = record(&format!(r#""CallType":"{}""#, call_type.name()));
        let by_code = record(&format!(r#""CallType":{}"#, call_type.code()));
        for text in [by_name, by_code] {
            assert_eq!(decoder.decode(text.as_bytes(), None).unwrap().call_type(), Some(call_type));
        }
    }
    let lower = record(r#""CallState":"transferred","AgentWorkMode":"aftercallwork""#);
    let event = decoder.decode(lower.as_bytes(), None).unwrap();
    assert_eq!(event.call_state(), Some(CallState::Transferred));
    assert_eq!(event.work_mode(), Some(AgentWorkMode::AfterCallWork));
    let raw = record(r#""CallState":57,"Cause":"1stepTransfer""#);
    let event = decoder.decode(raw.as_bytes(), None).unwrap();
    assert_eq!(event.call_state(), Some(CallState::Other(57)));
    assert_eq!(event.call_state().unwrap().to_string(), "57");
    assert_eq!(event.cause(), Some(Cause::OneStepTransfer));
}

#[test]
fn keys_and_tenants_follow_the_contract() {
    let decoder = Decoder::new(Format::Genesys);
    let call = br#"{"id":"EventRinging","ThisDN":"5001","CallThreadID":"ct-9","CallUUID":"U","ConnID":"C","CustomerID":"payload-tenant"}"#;
    let keyed = decoder.decode(call, Some(b"t7:ct-key")).unwrap();
    assert_eq!(keyed.tenant(), b"t7", "the key wins over the payload");
    assert_eq!(keyed.call_key(), Some(&b"ct-key"[..]));
    let unkeyed = decoder.decode(call, None).unwrap();
    assert_eq!(unkeyed.tenant(), b"payload-tenant");
    assert_eq!(unkeyed.call_key(), Some(&b"ct-9"[..]), "CallThreadID first");
    let no_thread = br#"{"id":"EventRinging","ThisDN":"5001","CallUUID":"U","ConnID":"C"}"#;
    assert_eq!(decoder.decode(no_thread, None).unwrap().call_key(), Some(&b"U"[..]));
    let conn_only = br#"{"id":"EventRinging","ThisDN":"5001","ConnID":"C"}"#;
    assert_eq!(decoder.decode(conn_only, None).unwrap().call_key(), Some(&b"C"[..]));
    let agent = br#"{"id":"EventAgentReady","ThisDN":"5001","AgentID":"a7"}"#;
    assert_eq!(decoder.decode(agent, Some(b"t1:a-key")).unwrap().agent_key(), Some(&b"a-key"[..]));
    assert_eq!(decoder.decode(agent, None).unwrap().agent_key(), Some(&b"a7"[..]));
}

#[test]
fn duplicate_keys_keep_the_last_value() {
    let record = br#"{"id":"EventRinging","ThisDN":"1","ThisDN":"2","ConnID":"c"}"#;
    let event = Decoder::new(Format::Genesys).decode(record, None).unwrap();
    assert_eq!(event.text(Attr::ThisDN).as_deref(), Some("2"));
    assert_eq!(event.attrs().filter(|(attr, _)| *attr == Attr::ThisDN).count(), 1);
}

#[test]
fn owned_events_outlive_their_record() {
    let owned = {
        let record = minimal("EventEstablished").into_bytes();
        Decoder::new(Format::Genesys).decode(&record, Some(b"t1:x")).unwrap().into_owned()
    };
    let event = owned.event();
    assert_eq!(event.kind(), EventKind::TLib(TEvent::Established));
    assert_eq!(event.tenant(), b"t1");
    assert_eq!(event.text(Attr::ConnID).as_deref(), Some("0a1b2c3d4e5f6071"));
}

fn reject(record: &str) -> (String, ErrorKind, usize) {
    let error = Decoder::new(Format::Genesys).decode(record.as_bytes(), None).unwrap_err();
    (error.to_string(), error.kind().clone(), error.offset())
}

#[test]
fn every_rejection_class_says_where_and_why() {
    let cases: &[(&str, &str)] = &[
        (
            r#"{"id":"EventRinging","ThisDN":"5001" "ConnID":"c"}"#,
            "expected ',' or '}' after object member at byte 37",
        ),
        (r#"{"id":"EventRinging","ConnID":"c"}"#, "EventRinging without ThisDN at byte 0"),
        (
            r#"{"id":"EventRinging","ThisDN":"5001"}"#,
            "EventRinging without a call id (key, CallThreadID, CallUUID or ConnID) at byte 0",
        ),
        (r#"{"ThisDN":"5001"}"#, "record has no event name at byte 0"),
        (r#"{"id":"EventBanana","ThisDN":"5001"}"#, "unknown event name ('EventBanana') at byte 6"),
        (
            r#"{"id":"EventRinging","ThisDN":"1","ConnID":"c","CallType":"Sideways"}"#,
            "unknown CallType name ('Sideways') at byte 58",
        ),
        (
            r#"{"id":"EventRinging","ThisDN":"1","ConnID":"c","CallType":true}"#,
            "CallType must be an enumeration name or integer at byte 58",
        ),
        (
            r#"{"id":"EventRinging","ThisDN":{"a":1},"ConnID":"c"}"#,
            "ThisDN must be a string or a number at byte 30",
        ),
        (
            r#"{"id":"EventAgentReady","ThisDN":"1","time":"yesterday"}"#,
            "invalid time (expected RFC 3339 text or epoch microseconds) ('yesterday') at byte 44",
        ),
        (
            r#"{"id":"EventAgentReady","ThisDN":"1","TimeinSecs":"x"}"#,
            "TimeinSecs must be an integer at byte 50",
        ),
        (r#"[{"id":"EventRinging"}]"#, "record is not a JSON object at byte 0"),
        (r#"{"id":"EventRinging"} x"#, "unexpected data after the JSON object at byte 22"),
        (r#"{"id":"EventRinging","ThisDN":"50"#, "record ends inside a JSON value at byte 33"),
        (
            "{\"id\":\"EventRinging\",\"ThisDN\":\"a\tb\"}",
            "unescaped control character in string at byte 32",
        ),
        (
            r#"{"id":"EventRinging","ThisDN":"\x41"}"#,
            "invalid escape sequence in string at byte 31",
        ),
        (
            r#"{"id":"EventRinging","CallID":012}"#,
            "expected ',' or '}' after object member at byte 31",
        ),
        (r#"{"id":"EventRinging","CallID":1.}"#, "invalid number at byte 32"),
        (
            r#"{"id":"EventRinging","x":tru}"#,
            "invalid literal (expected true, false or null) at byte 25",
        ),
        (r#"{"id":"EventRinging",}"#, "expected a string key at byte 21"),
        (r#"{"id" "EventRinging"}"#, "expected ':' after object key at byte 6"),
    ];
    let mismatches: Vec<String> = cases
        .iter()
        .filter(|(record, expected)| reject(record).0 != *expected)
        .map(|(record, expected)| {
            format!("{record}\n  got:  {}\n  want: {expected}", reject(record).0)
        })
        .collect();
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn invalid_utf8_is_rejected_at_its_offset() {
    let mut record = br#"{"id":"EventRinging","ThisDN":"50","ConnID":"c"}"#.to_vec();
    record[32] = 0xff;
    let error = Decoder::new(Format::Genesys).decode(&record, None).unwrap_err();
    assert_eq!(error.to_string(), "invalid UTF-8 at byte 32");
}

#[test]
fn nesting_is_limited_without_recursion() {
    let deep = |levels: usize| {
        format!(
            r#"{{"id":"EventRinging","ThisDN":"1","ConnID":"c","UserData":{}{}}}"#,
            "[".repeat(levels),
            "]".repeat(levels)
        )
    };
    let decoder = Decoder::new(Format::Genesys);
    assert!(decoder.decode(deep(127).as_bytes(), None).is_ok(), "128 levels with the record");
    let error = decoder.decode(deep(128).as_bytes(), None).unwrap_err();
    assert_eq!(error.kind(), &ErrorKind::DepthLimit(128));
    let hostile = deep(100_000);
    assert_eq!(
        decoder.decode(hostile.as_bytes(), None).unwrap_err().kind(),
        &ErrorKind::DepthLimit(128)
    );
    let unclosed = format!(r#"{{"id":"EventRinging","UserData":{}"#, "{\"a\":".repeat(100_000));
    assert!(decoder.decode(unclosed.as_bytes(), None).is_err());
}

#[test]
fn auto_detects_genesys_records() {
    let record = minimal("EventDialing");
    let event = Decoder::new(Format::Auto).decode(record.as_bytes(), None).unwrap();
    assert_eq!(event.dialect(), Dialect::Genesys);
    assert_eq!(event.kind(), EventKind::TLib(TEvent::Dialing));
}
