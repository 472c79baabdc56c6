//! The `ors` dialect (PROTOCOLS.md `ors`): Orchestration Server interaction
//! events, through the public API only.

use ctistream_core::{
    Attr, CallState, Cause, DecodeError, DecodeOptions, Decoder, Dialect, ErrorKind, Event,
    EventKind, Format, JsonError, OrsEvent, OrsNamespace, TEvent, detect,
};
use proptest::prelude::*;

mod common;

use common::{at, frames, mutate_json, text};

fn decode(record: &str) -> Result<Event<'_>, DecodeError> {
    common::decode_as(Format::Ors, record)
}

fn reject(record: &str) -> DecodeError {
    common::reject_as(Format::Ors, record)
}

/// What every fixture line is checked for.
struct Expected {
    line: u64,
    kind: OrsEvent,
    call: &'static str,
    time: &'static str,
    action: Option<&'static str>,
    keyed: bool,
}

fn expect(
    line: u64,
    kind: OrsEvent,
    call: &'static str,
    time: &'static str,
    action: Option<&'static str>,
    keyed: bool,
) -> Expected {
    Expected { line, kind, call, time, action, keyed }
}

#[test]
fn sample_interactions_decode_with_their_fields() {
    use OrsNamespace::*;
    let frames = frames("ors_sample.ndjson");
    let decoder = Decoder::new(Format::Ors);
    let events: Vec<Event<'_>> = frames
        .iter()
        .map(|frame| {
            decoder
                .decode(&frame.payload, frame.key.as_deref())
                .unwrap_or_else(|error| panic!("line {}: {error}", frame.line))
        })
        .collect();
    let expected = [
        expect(1, OrsEvent::Added, "ixn-1", "2026-11-20T09:15:00.100Z", None, true),
        expect(2, OrsEvent::PartyAdded, "ixn-1", "2026-11-20T09:15:00.102Z", None, true),
        expect(3, OrsEvent::OnRouteRequest, "ixn-1", "2026-11-20T09:15:00.150Z", None, false),
        expect(
            4,
            OrsEvent::Request(Interaction),
            "ixn-1",
            "2026-11-20T09:15:01.000Z",
            Some("redirect"),
            false,
        ),
        expect(
            5,
            OrsEvent::Done(Interaction),
            "ixn-1",
            "2026-11-20T09:15:03.000Z",
            Some("redirect"),
            false,
        ),
        expect(
            6,
            OrsEvent::Failed(Voice),
            "ixn-1",
            "2026-11-20T09:15:04.250Z",
            Some("singlesteptransfer"),
            false,
        ),
        expect(7, OrsEvent::PartyStateChanged, "ixn-1", "2026-11-20T09:15:05.500Z", None, true),
        expect(8, OrsEvent::PartyStateChanged, "ixn-1", "2026-11-20T09:15:06.000Z", None, false),
        expect(9, OrsEvent::NotControlled, "ixn-1", "2026-11-20T09:15:06.100Z", None, false),
        expect(10, OrsEvent::PartyDeleted, "ixn-1", "2026-11-20T09:15:06.200Z", None, false),
        expect(11, OrsEvent::UdataChanged, "ixn-1", "2026-11-20T09:15:07.000Z", None, false),
        expect(12, OrsEvent::OnMerge, "ixn-2", "2026-11-20T09:15:09.000Z", None, true),
        expect(13, OrsEvent::Deleted, "ixn-1", "2026-11-20T09:16:00.000Z", None, true),
        expect(15, OrsEvent::Present, "em-77", "2026-11-20T09:20:00.000Z", None, false),
        expect(
            16,
            OrsEvent::Request(MsgBased),
            "em-77",
            "2026-11-20T09:20:00.050Z",
            Some("placeinqueue"),
            false,
        ),
        expect(
            17,
            OrsEvent::Done(MsgBased),
            "em-77",
            "2026-11-20T09:20:00.090Z",
            Some("placeinqueue"),
            false,
        ),
        expect(
            18,
            OrsEvent::Done(Chat),
            "ch-5",
            "2026-11-20T09:21:30.000Z",
            Some("transcript.send"),
            false,
        ),
        expect(19, OrsEvent::Failed(Chat), "ch-5", "2026-11-20T09:21:31.000Z", Some("join"), false),
        expect(20, OrsEvent::PropertyChanged, "ch-5", "2026-11-20T09:21:32.000Z", None, false),
    ];
    assert_eq!(events.len(), expected.len(), "the blank line 14 is skipped");
    for ((event, frame), want) in events.iter().zip(&frames).zip(&expected) {
        let line = want.line;
        assert_eq!(frame.line, line);
        assert_eq!(event.dialect(), Dialect::Ors, "line {line}");
        assert_eq!(event.kind(), EventKind::Ors(want.kind), "line {line}");
        assert_eq!(event.call_key(), Some(want.call.as_bytes()), "line {line}");
        assert_eq!(event.agent_key(), None, "line {line}");
        assert_eq!(event.tenant(), b"t1", "line {line}");
        assert_eq!(event.key().is_some(), want.keyed, "line {line}");
        assert_eq!(event.time().map(|time| time.to_string()).as_deref(), Some(want.time));
        assert_eq!(event.ors_action(), want.action.map(str::as_bytes), "line {line}");
        assert_eq!(text(event, Attr::Action).as_deref(), want.action, "line {line}");
    }

    let by_line = |line: u64| &events[expected.iter().position(|e| e.line == line).unwrap()];

    let added = by_line(1);
    assert_eq!(text(added, Attr::InteractionId).as_deref(), Some("ixn-1"));
    assert_eq!(text(added, Attr::FocusDeviceId).as_deref(), Some("7001"));
    assert_eq!(text(added, Attr::PartyId).as_deref(), Some("p-1"));
    assert_eq!(text(added, Attr::PartyState).as_deref(), Some("Queued"));
    assert_eq!(added.cc_event(), Some(TEvent::RouteRequest));
    assert_eq!(added.call_state(), Some(CallState::Ok));
    assert_eq!(
        text(added, Attr::Hints).as_deref(),
        Some(r#"{"ccevent":"EventRouteRequest","callstate":"Ok"}"#)
    );
    assert_eq!(text(added, Attr::Tenant).as_deref(), Some("t1"));

    let party_added = by_line(2);
    assert_eq!(party_added.cc_event(), Some(TEvent::RouteRequest), "ccevent 71 as an integer");
    assert_eq!(party_added.int(Attr::CcEvent), Some(71));
    assert_eq!(text(party_added, Attr::PartyId).as_deref(), Some("p-2"));

    let route_request = by_line(3);
    assert_eq!(text(route_request, Attr::FocusDeviceId).as_deref(), Some("7001"));
    assert!(!route_request.has(Attr::Hints));

    let request = by_line(4);
    assert_eq!(text(request, Attr::RequestId).as_deref(), Some("req-1"));
    let done = by_line(5);
    assert_eq!(text(done, Attr::RequestId).as_deref(), Some("req-1"));
    assert_eq!(done.kind().name(), "interaction.*.done");

    let failed = by_line(6);
    assert_eq!(text(failed, Attr::RequestId).as_deref(), Some("req-2"));
    assert_eq!(failed.int(Attr::ErrorCode), Some(1141));
    assert_eq!(text(failed, Attr::ErrorMessage).as_deref(), Some("Invalid destination DN"));
    assert_eq!(failed.kind().to_string(), "error.voice.*");

    let established = by_line(7);
    assert_eq!(established.cc_event(), Some(TEvent::Established));
    assert_eq!(established.cause(), Some(Cause::Transfer));
    assert_eq!(established.call_state(), Some(CallState::Transferred), "from the hints");
    assert_eq!(text(established, Attr::PartyState).as_deref(), Some("Connected"));
    assert_eq!(text(established, Attr::FocusDeviceId).as_deref(), Some("5001"));

    let held = by_line(8);
    assert_eq!(held.cc_event(), Some(TEvent::Held));
    assert_eq!(held.cause(), Some(Cause::Redirect));
    assert_eq!(held.call_state(), Some(CallState::Redirected), "data.callstate beats the hint");

    let not_controlled = by_line(9);
    assert_eq!(text(not_controlled, Attr::ResultOf).as_deref(), Some("redirect"));

    let party_deleted = by_line(10);
    assert_eq!(party_deleted.cc_event(), Some(TEvent::PartyDeleted));
    assert_eq!(party_deleted.cause(), Some(Cause::Redirect));

    let merge = by_line(12);
    assert_eq!(text(merge, Attr::ToInteractionId).as_deref(), Some("ixn-2"));
    assert_eq!(text(merge, Attr::InteractionId).as_deref(), Some("ixn-1"));

    let deleted = by_line(13);
    assert!(!deleted.has(Attr::Tenant), "tenant comes from the key");
    assert_eq!(deleted.call_state(), Some(CallState::RemoteRelease));

    let chat_error = by_line(19);
    assert_eq!(text(chat_error, Attr::ErrorCode).as_deref(), Some("NOT_FOUND"));
    assert_eq!(text(chat_error, Attr::ErrorMessage).as_deref(), Some("chat session ch-5 closed"));
}

#[test]
fn every_lifecycle_event_decodes() {
    for (event, name) in OrsEvent::INTERACTION_EVENTS {
        let id = if event == OrsEvent::OnMerge { "tointeractionid" } else { "interactionid" };
        let record = format!(r#"{{"name":"{name}","data":{{"{id}":"ixn-9"}}}}"#);
        let decoded = decode(&record).unwrap_or_else(|error| panic!("{name}: {error}"));
        assert_eq!(decoded.kind(), EventKind::Ors(event));
        assert_eq!(decoded.kind().name(), name);
        assert_eq!(decoded.call_key(), Some(&b"ixn-9"[..]));
        assert_eq!(decoded.ors_action(), None);
        assert_eq!(decoded.time(), None);
        assert_eq!(decoded.tenant(), b"default");
    }
}

#[test]
fn every_action_result_and_request_in_every_namespace_decodes() {
    for namespace in OrsNamespace::ALL {
        let ns = namespace.name();
        let cases = [
            (format!("{ns}.accept.done"), OrsEvent::Done(namespace), "accept"),
            (format!("error.{ns}.accept"), OrsEvent::Failed(namespace), "accept"),
            (format!("{ns}.accept"), OrsEvent::Request(namespace), "accept"),
            (format!("{ns}.udata.update.done"), OrsEvent::Done(namespace), "udata.update"),
            (format!("error.{ns}.udata.update"), OrsEvent::Failed(namespace), "udata.update"),
            (format!("{ns}.udata.update"), OrsEvent::Request(namespace), "udata.update"),
            (format!("{ns}.done"), OrsEvent::Request(namespace), "done"),
        ];
        for (name, kind, action) in cases {
            for id in ["requestid", "interactionid"] {
                let record = format!(r#"{{"name":"{name}","data":{{"{id}":"r-1"}}}}"#);
                let event = decode(&record).unwrap_or_else(|error| panic!("{record}: {error}"));
                assert_eq!(event.kind(), EventKind::Ors(kind), "{record}");
                assert_eq!(event.ors_action(), Some(action.as_bytes()), "{record}");
                let start = record.find(action).unwrap();
                assert_eq!(
                    event.get(Attr::Action),
                    Some(ctistream_core::Value::Text(ctistream_core::Span {
                        start: start as u32,
                        len: action.len() as u32
                    }))
                );
            }
        }
    }
}

#[test]
fn escaped_names_are_decoded_and_the_action_still_borrows_the_record() {
    let record = r#"{"name":"interaction.re\u0064irect.done","data":{"requestid":"r"}}"#;
    let event = decode(record).unwrap();
    assert_eq!(event.kind(), EventKind::Ors(OrsEvent::Done(OrsNamespace::Interaction)));
    assert_eq!(event.ors_action(), Some(&br"re\u0064irect"[..]));
    assert_eq!(text(&event, Attr::Action).as_deref(), Some("redirect"));

    let record = r#"{"name":"voice\u002eredirect\u002Edone","data":{"requestid":"r"}}"#;
    let event = decode(record).unwrap();
    assert_eq!(event.kind(), EventKind::Ors(OrsEvent::Done(OrsNamespace::Voice)));
    assert_eq!(event.ors_action(), Some(&b"redirect"[..]));

    let record = r#"{"name":"error\/chat.\u00e9t\u00e9","data":{"requestid":"r"}}"#;
    let error = reject(record);
    assert_eq!(error.to_string(), "unknown event name ('error/chat.été') at byte 8");

    let record = r#"{"name":"error.chat.\u00e9t\u00e9","data":{"requestid":"r"}}"#;
    let event = decode(record).unwrap();
    assert_eq!(event.kind(), EventKind::Ors(OrsEvent::Failed(OrsNamespace::Chat)));
    assert_eq!(text(&event, Attr::Action).as_deref(), Some("été"));

    let record = r#"{"name":"interaction\u002eadded","data":{"interactionid":"i"}}"#;
    assert_eq!(decode(record).unwrap().kind(), EventKind::Ors(OrsEvent::Added));
}

#[test]
fn time_is_rfc3339_or_epoch_milliseconds() {
    let cases = [
        (r#""2026-11-20T09:15:02.125Z""#, "2026-11-20T09:15:02.125Z"),
        (r#""2026-11-20T10:15:02.125+01:00""#, "2026-11-20T09:15:02.125Z"),
        ("1795166102125", "2026-11-20T09:15:02.125Z"),
        ("0", "1970-01-01T00:00:00.000Z"),
    ];
    for (time, expected) in cases {
        let record = format!(
            r#"{{"time":{time},"name":"interaction.added","data":{{"interactionid":"i"}}}}"#
        );
        let event = decode(&record).unwrap();
        assert_eq!(event.time().map(|t| t.to_string()).as_deref(), Some(expected), "{time}");
    }
    let event = decode(r#"{"name":"interaction.added","data":{"interactionid":"i"}}"#).unwrap();
    assert_eq!(event.time(), None, "no time: the pipeline uses the ingest time");
}

#[test]
fn keys_and_tenants_follow_the_record_key_first() {
    let record = br#"{"name":"interaction.added","tenant":"t9","data":{"interactionid":"ixn-1"}}"#;
    let decoder = Decoder::new(Format::Ors);
    let keyed = decoder.decode(record, Some(b"t1:ixn-7")).unwrap();
    assert_eq!(keyed.tenant(), b"t1");
    assert_eq!(keyed.call_key(), Some(&b"ixn-7"[..]));
    let unkeyed = decoder.decode(record, None).unwrap();
    assert_eq!(unkeyed.tenant(), b"t9");
    assert_eq!(unkeyed.call_key(), Some(&b"ixn-1"[..]));

    // Merge: the surviving interaction is the key.
    let merge =
        br#"{"name":"interaction.onmerge","data":{"interactionid":"a","tointeractionid":"b"}}"#;
    assert_eq!(decoder.decode(merge, None).unwrap().call_key(), Some(&b"b"[..]));
    let merge = br#"{"name":"interaction.onmerge","data":{"interactionid":"a"}}"#;
    assert_eq!(decoder.decode(merge, None).unwrap().call_key(), Some(&b"a"[..]));

    // Ids written as numbers key like their digits.
    let numeric = br#"{"name":"interaction.added","tenant":42,"data":{"interactionid":  123456}}"#;
    let event = decoder.decode(numeric, None).unwrap();
    assert_eq!(event.call_key(), Some(&b"123456"[..]));
    assert_eq!(event.tenant(), b"42");
}

#[test]
fn enumerations_accept_names_and_codes_and_keep_unknown_codes() {
    let record = r#"{"name":"interaction.partystatechanged","data":{"interactionid":"i",
        "hints":{"ccevent":999,"cause":77,"callstate":"held"}}}"#;
    let event = decode(record).unwrap();
    assert_eq!(event.cc_event(), Some(TEvent::Other(999)));
    assert_eq!(event.cause(), Some(Cause::Other(77)));
    assert_eq!(event.call_state(), Some(CallState::Held), "names in any letter case");

    let record = r#"{"name":"interaction.partystatechanged","data":{"interactionid":"i",
        "callstate":"Dropped","hints":{"ccevent":"EventReleased","callstate":"Ok","cause":"1stepTransfer"}}}"#;
    let event = decode(record).unwrap();
    assert_eq!(event.cc_event(), Some(TEvent::Released));
    assert_eq!(event.call_state(), Some(CallState::Dropped));
    assert_eq!(event.cause(), Some(Cause::OneStepTransfer));

    // Unknown members, null hints and nested values are ignored.
    let record = r#"{"name":"interaction.added","extra":[1,{"a":null}],"data":{"interactionid":"i",
        "hints":null,"udata":{"k":[true,false]},"partyid":null}}"#;
    let event = decode(record).unwrap();
    assert!(!event.has(Attr::Hints));
    assert_eq!(event.text(Attr::PartyId), None);
}

#[test]
fn rejections_say_what_and_where() {
    let cases: Vec<(&str, String, &str)> = vec![
        // Event names.
        (
            r#"{"name":"foo","data":{"interactionid":"i"}}"#,
            "unknown event name ('foo')".into(),
            r#""foo""#,
        ),
        (r#"{"name":"","data":{"interactionid":"i"}}"#, "unknown event name ('')".into(), r#""""#),
        (
            r#"{"name":"email.send.done","data":{"requestid":"r"}}"#,
            "unknown event name ('email.send.done')".into(),
            r#""email"#,
        ),
        (
            r#"{"name":"error.ivr.play","data":{"requestid":"r"}}"#,
            "unknown event name ('error.ivr.play')".into(),
            r#""error"#,
        ),
        (
            r#"{"name":"voice.","data":{"requestid":"r"}}"#,
            "unknown event name ('voice.')".into(),
            r#""voice"#,
        ),
        (
            r#"{"name":"voice..done","data":{"requestid":"r"}}"#,
            "unknown event name ('voice..done')".into(),
            r#""voice"#,
        ),
        (r#"{"data":{"interactionid":"i"}}"#, "record has no event name".into(), "{"),
        (
            r#"{"name":null,"data":{"interactionid":"i"}}"#,
            "record has no event name".into(),
            "null",
        ),
        (r#"{"name":7,"data":{"interactionid":"i"}}"#, "name must be a string".into(), "7"),
        // Time.
        (
            r#"{"name":"interaction.added","time":"yesterday","data":{"interactionid":"i"}}"#,
            "invalid time (expected RFC 3339 text or epoch milliseconds) ('yesterday')".into(),
            r#""yesterday"#,
        ),
        (
            r#"{"name":"interaction.added","time":1.7e12,"data":{"interactionid":"i"}}"#,
            "invalid time (expected RFC 3339 text or epoch milliseconds)".into(),
            "1.7e12",
        ),
        // Data and hints.
        (
            r#"{"name":"interaction.added","data":["interactionid"]}"#,
            "data must be an object".into(),
            "[",
        ),
        (r#"{"name":"interaction.added","data":null}"#, "data must be an object".into(), "null"),
        (
            r#"{"name":"interaction.added","data":{"interactionid":"i","hints":"EventRinging"}}"#,
            "hints must be an object".into(),
            r#""EventRinging"#,
        ),
        (
            r#"{"name":"interaction.added","data":{"interactionid":{"id":"i"}}}"#,
            "InteractionId must be a string or a number".into(),
            r#"{"id"#,
        ),
        // Required attributes.
        (
            r#"{"name":"interaction.partyadded","data":{"partyid":"p-1"}}"#,
            "interaction.partyadded without InteractionId".into(),
            r#"{"partyid"#,
        ),
        (
            r#"{"name":"interaction.deleted"}"#,
            "interaction.deleted without InteractionId".into(),
            "{",
        ),
        (
            r#"{"name":"interaction.added","data":{"interactionid":""}}"#,
            "interaction.added without InteractionId".into(),
            r#"{"interactionid"#,
        ),
        (
            r#"{"name":"interaction.onmerge","data":{"requestid":"r"}}"#,
            "interaction.onmerge without InteractionId".into(),
            r#"{"requestid"#,
        ),
        (
            r#"{"name":"voice.redirect.done","data":{"partyid":"p"}}"#,
            "voice.*.done without RequestId".into(),
            r#"{"partyid"#,
        ),
        (r#"{"name":"error.chat.send","data":{}}"#, "error.chat.* without RequestId".into(), "{}"),
        (r#"{"name":"msgbased.accept"}"#, "msgbased.* request without RequestId".into(), "{"),
        // Enumerations.
        (
            r#"{"name":"interaction.added","data":{"interactionid":"i","hints":{"ccevent":"EventBogus"}}}"#,
            "unknown CcEvent name ('EventBogus')".into(),
            r#""EventBogus"#,
        ),
        (
            r#"{"name":"interaction.added","data":{"interactionid":"i","hints":{"ccevent":true}}}"#,
            "CcEvent must be an event name or integer".into(),
            "true",
        ),
        (
            r#"{"name":"interaction.added","data":{"interactionid":"i","hints":{"cause":"Because"}}}"#,
            "unknown Cause name ('Because')".into(),
            r#""Because"#,
        ),
        (
            r#"{"name":"interaction.added","data":{"interactionid":"i","callstate":"Gone"}}"#,
            "unknown CallState name ('Gone')".into(),
            r#""Gone"#,
        ),
        (
            r#"{"name":"interaction.added","data":{"interactionid":"i","callstate":[0]}}"#,
            "CallState must be an enumeration name or integer".into(),
            "[0]",
        ),
    ];
    for (record, reason, needle) in cases {
        let error = reject(record);
        // Offsets point at the offending value; "{" at the data object or byte 0.
        let offset = match needle {
            "{" => 0,
            _ if needle.starts_with('{') && record.starts_with(r#"{"name":"#) => {
                record.rfind(needle).unwrap()
            }
            _ => at(record, needle),
        };
        assert_eq!(error.to_string(), format!("{reason} at byte {offset}"), "{record}");
        assert_eq!(error.offset(), offset, "{record}");
    }
}

#[test]
fn rejection_kinds_are_typed() {
    let kind = |record: &str| reject(record).kind().clone();
    assert_eq!(kind(r#"{"name":"x"}"#), ErrorKind::UnknownEvent);
    assert_eq!(kind(r#"{"time":0}"#), ErrorKind::MissingEventName);
    assert_eq!(
        kind(r#"{"name":"interaction.added"}"#),
        ErrorKind::MissingAttribute {
            event: EventKind::Ors(OrsEvent::Added),
            attr: Attr::InteractionId
        }
    );
    assert_eq!(
        kind(
            r#"{"name":"interaction.added","data":{"interactionid":"i","hints":{"ccevent":"X"}}}"#
        ),
        ErrorKind::UnknownEnumName { attr: Attr::CcEvent }
    );
    assert_eq!(
        kind(r#"{"name":"interaction.added","data":1}"#),
        ErrorKind::InvalidValue { field: "data", expected: "an object" }
    );
    assert_eq!(
        kind(r#"{"name":"interaction.added","time":"x"}"#),
        ErrorKind::InvalidTime("milliseconds")
    );
}

#[test]
fn json_syntax_errors_are_reported_with_their_offset() {
    let cases = [
        (
            r#"{"name":"interaction.added" "data":{}}"#,
            "expected ',' or '}' after object member at byte 28",
        ),
        (
            r#"{"name":"interaction.added","data":{"interactionid":"i",}}"#,
            "expected a string key at byte 56",
        ),
        (
            r#"{"name":"interaction.added","data":{"interactionid" "i"}}"#,
            "expected ':' after object key at byte 52",
        ),
        (
            r#"{"name":"interaction.added","data":{"hints":{"ccevent":6x}}}"#,
            "expected ',' or '}' after object member at byte 56",
        ),
        (
            r#"{"name":"interaction.added","data":{"interactionid":"i"}"#,
            "record ends inside a JSON value at byte 56",
        ),
        (
            r#"{"name":"interaction.added","data":{"x":tru}}"#,
            "invalid literal (expected true, false or null) at byte 40",
        ),
        (
            r#"{"name":"interaction.added","data":{"x":01}}"#,
            "expected ',' or '}' after object member at byte 41",
        ),
        (
            r#"{"name":"interaction.added","data":{"x":"\q"}}"#,
            "invalid escape sequence in string at byte 41",
        ),
        (
            "{\"name\":\"interaction.added\",\"data\":{\"x\":\"a\tb\"}}",
            "unescaped control character in string at byte 42",
        ),
        (r#"{"name":"interaction.added"} {}"#, "unexpected data after the JSON object at byte 29"),
        (r#"["name","interaction.added"]"#, "record is not a JSON object at byte 0"),
        (r#"  "#, "record ends inside a JSON value at byte 2"),
    ];
    for (record, expected) in cases {
        assert_eq!(reject(record).to_string(), expected, "{record}");
    }
    let error = Decoder::new(Format::Ors)
        .decode(b"{\"name\":\"interaction.added\",\"data\":{\"x\":\"\xff\"}}", None)
        .unwrap_err();
    assert_eq!(error.to_string(), "invalid UTF-8 at byte 41");
    assert_eq!(error.kind(), &ErrorKind::InvalidUtf8);
    assert!(matches!(
        reject(r#"{"name":"interaction.added" "data":{}}"#).kind(),
        ErrorKind::Json(JsonError::ExpectedCommaOrBrace)
    ));
}

#[test]
fn nesting_is_limited_inside_data_and_hints() {
    let options = DecodeOptions { max_depth: 3, ..DecodeOptions::default() };
    let decoder = Decoder::with_options(Format::Ors, options);
    let ok = br#"{"name":"interaction.added","data":{"interactionid":"i","hints":{"cause":1}}}"#;
    assert_eq!(decoder.decode(ok, None).unwrap().cause(), Some(Cause::Acd));
    let deep =
        br#"{"name":"interaction.added","data":{"interactionid":"i","hints":{"x":{"y":1}}}}"#;
    let error = decoder.decode(deep, None).unwrap_err();
    assert_eq!(error.to_string(), "nesting deeper than 3 levels at byte 69");
}

#[test]
fn auto_detects_ors_records_by_their_name_key() {
    let decoder = Decoder::new(Format::Auto);
    for record in [
        r#"{"name":"interaction.added","data":{"interactionid":"i"}}"#,
        r#"{"data":{"interactionid":"i","name":"not this one"},"tenant":"t1","name":"interaction.added"}"#,
        r#"  {"time":1795166102125,"name":"voice.redirect.done","data":{"requestid":"r"}}"#,
    ] {
        assert_eq!(detect(record.as_bytes(), 128).unwrap(), Dialect::Ors, "{record}");
        let event = decoder.decode(record.as_bytes(), None).unwrap();
        assert_eq!(event.dialect(), Dialect::Ors);
    }
    let error = decoder.decode(br#"{"name":"nope"}"#, None).unwrap_err();
    assert_eq!(error.to_string(), "unknown event name ('nope') at byte 8");
}

/// Every line of the sample file, for mutation.
fn sample_lines() -> Vec<Vec<u8>> {
    frames("ors_sample.ndjson").into_iter().map(|frame| frame.payload.to_vec()).collect()
}

fn check_no_panic(payload: &[u8], key: Option<&[u8]>) {
    for format in [Format::Ors, Format::Auto] {
        match Decoder::new(format).decode(payload, key) {
            Ok(event) => {
                // Accessors must not panic either, and spans stay in the record.
                let _ = (event.cc_event(), event.ors_action(), event.call_key(), event.tenant());
                for (attr, _) in event.attrs() {
                    let _ = event.text(attr);
                    if let Some(raw) = event.raw(attr) {
                        assert!(raw.len() <= payload.len());
                    }
                }
            }
            Err(error) => {
                assert!(error.offset() <= payload.len(), "{error} beyond {}", payload.len());
                let _ = error.to_string();
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes_never_panic(payload in proptest::collection::vec(any::<u8>(), 0..256)) {
        check_no_panic(&payload, None);
    }

    #[test]
    fn mutated_records_never_panic(
        line in 0usize..19,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), 0u8..3, any::<u8>()), 1..6),
    ) {
        let lines = sample_lines();
        let mut payload = lines[line % lines.len()].clone();
        mutate_json(&mut payload, &edits);
        check_no_panic(&payload, Some(b"t1:ixn-1"));
    }

    #[test]
    fn arbitrary_names_are_classified_or_rejected(name in "[a-z.]{0,24}") {
        let record = format!(r#"{{"name":"{name}","data":{{"interactionid":"i","requestid":"r"}}}}"#);
        match decode(&record) {
            Ok(event) => {
                let EventKind::Ors(kind) = event.kind() else { panic!("not ors") };
                if let Some(action) = event.ors_action() {
                    prop_assert!(!action.is_empty());
                    prop_assert!(name.contains(std::str::from_utf8(action).unwrap()));
                } else {
                    prop_assert_eq!(kind.name(), name.as_str());
                }
            }
            Err(error) => prop_assert_eq!(error.kind(), &ErrorKind::UnknownEvent),
        }
    }
}
