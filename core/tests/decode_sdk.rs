//! The `sdk` dialect (PROTOCOLS.md `sdk`): agent desktop SDK events, through the
//! public API only.

use std::collections::HashSet;

use ctistream_core::{
    AgentStatus, Attr, DecodeError, Decoder, Dialect, ErrorKind, Event, EventKind, Format,
    JsonError, SdkAgentState, SdkCallType, SdkEvent, detect,
};
use proptest::prelude::*;

mod common;

use common::{at, frames, mutate_json, text};

fn decode(record: &str) -> Result<Event<'_>, DecodeError> {
    common::decode_as(Format::Sdk, record)
}

fn reject(record: &str) -> DecodeError {
    common::reject_as(Format::Sdk, record)
}

fn str_of(bytes: Option<&[u8]>) -> Option<&str> {
    bytes.map(|bytes| std::str::from_utf8(bytes).unwrap())
}

const CALL_1: &str = "medias_1-1645776905.37";
const CALL_2: &str = "medias_1-1645777023.52";
const CALL_3: &str = "medias_2-1645777400.9";

/// The keys, time and state every sample line is checked for.
struct Expected {
    kind: SdkEvent,
    tenant: &'static str,
    agent: Option<&'static str>,
    call: Option<&'static str>,
    millis: i64,
    status: Option<AgentStatus>,
}

const fn line(
    kind: SdkEvent,
    agent: Option<&'static str>,
    call: Option<&'static str>,
    millis: i64,
    status: Option<AgentStatus>,
) -> Expected {
    Expected { kind, tenant: "7000001", agent, call, millis, status }
}

#[test]
fn sample_has_every_event_type_and_decodes_with_its_fields() {
    use SdkEvent::*;
    use ctistream_core::AgentStatus as S;
    let a = Some("1001");
    let sup = Some("1002");
    let (c1, c2, c3) = (Some(CALL_1), Some(CALL_2), Some(CALL_3));
    let expected = [
        line(SessionInit, a, None, 1645776900000, None),
        line(SipSessionInit, a, None, 1645776900200, None),
        line(AgentStatus, a, None, 1645776900400, Some(S::WaitForNextCall)),
        line(Ringing, a, c1, 1645776905370, None),
        line(AgentStatus, a, c1, 1645776905380, Some(S::CallRinging)),
        line(AgentStatus, a, c1, 1645776911020, Some(S::CallInbound)),
        line(AtxferStart, a, c1, 1645776950000, None),
        line(AtxferLink, a, c1, 1645776955000, None),
        line(AtxferError, a, c1, 1645776956000, None),
        line(AtxferEnded, a, c1, 1645776957000, None),
        line(ThreewayAtxferResult, a, c1, 1645776958000, None),
        line(AtxferThreewayUnlink, a, c1, 1645776960000, None),
        line(CompleteAtxferResult, a, c1, 1645776962000, None),
        line(SpyResult, sup, c1, 1645776970000, None),
        line(SpyLink, sup, c1, 1645776970500, None),
        line(SpyUnlink, sup, c1, 1645776975000, None),
        line(WhisperResult, sup, c1, 1645776976000, None),
        line(WhisperLink, sup, c1, 1645776976500, None),
        line(WhisperUnlink, sup, c1, 1645776980000, None),
        line(ThreewayResult, sup, c1, 1645776981000, None),
        line(ThreewayLink, sup, c1, 1645776981500, None),
        line(ThreewayUnlink, sup, c1, 1645776985000, None),
        line(BargeResult, sup, c1, 1645776986000, None),
        line(BargeLink, sup, c1, 1645776986500, None),
        line(BargeUnlink, sup, c1, 1645776990000, None),
        line(DisconnectResult, a, c1, 1645776991000, None),
        line(AgentStatus, a, c1, 1645776991010, Some(S::AfterCallWork)),
        line(InteractReturn, a, c1, 1645776992000, None),
        line(Transcript, a, c1, 1645776993000, None),
        line(AgentStatus, a, None, 1645777000000, Some(S::NotReadyForNextCall)),
        line(PreviewObCallStart, a, c2, 1645777023000, None),
        line(AgentStatus, a, c2, 1645777023100, Some(S::CallDialing)),
        line(PreviewObCallRinging, a, c2, 1645777024000, None),
        line(PreviewObCallBridge, a, c2, 1645777030000, None),
        line(AgentStatus, a, c2, 1645777030010, Some(S::CallOutbound)),
        line(PreviewObCallResult, a, c2, 1645777090000, None),
        line(OrderCallBack, a, None, 1645777100000, None),
        line(QueueStatus, None, None, 1645777101000, None),
        line(ExtenState, a, None, 1645777102000, None),
        // Neither agent nor call in the payload: the record key keys them.
        line(Ping, None, Some("1001"), 1645777110000, None),
        line(WebrtcStats, None, Some("1001"), 1645777111000, None),
        line(ReconnectAttempt, a, None, 1645777112000, None),
        line(SipDisconnected, None, Some("1001"), 1645777113000, None),
        line(SetOfflineResult, a, None, 1645777200000, None),
        line(AgentStatus, a, None, 1645777200050, Some(S::LoggedOut)),
        line(SessionTerminate, a, None, 1645777200100, None),
        line(SipSessionTerminate, a, None, 1645777200200, None),
        line(Other, a, c3, 1645777300000, None),
        line(AgentStatus, Some("1003"), None, 1645777300500, Some(S::LoggedOut)),
        line(AgentStatus, Some("1004"), None, 1645777310000, Some(S::WaitForNextCall)),
        Expected {
            kind: SdkEvent::AgentStatus,
            tenant: "7000002",
            agent: Some("2001"),
            call: c3,
            millis: 1645777320000,
            status: Some(S::CallOutbound),
        },
    ];

    let frames = frames("sdk_sample.ndjson");
    let decoder = Decoder::new(Format::Sdk);
    assert_eq!(frames.len(), expected.len());
    let mut kinds = HashSet::new();
    let mut events = Vec::new();
    for (frame, want) in frames.iter().zip(&expected) {
        let line = frame.line;
        let event = decoder
            .decode(&frame.payload, frame.key.as_deref())
            .unwrap_or_else(|error| panic!("line {line}: {error}"));
        assert_eq!(event.dialect(), Dialect::Sdk, "line {line}");
        assert_eq!(event.kind(), EventKind::Sdk(want.kind), "line {line}");
        assert_eq!(event.tenant(), want.tenant.as_bytes(), "line {line}");
        // Agent events are keyed by agent; call and session events by call
        // (mainUniqueId, else the record key).
        if event.kind().is_agent_event() {
            assert_eq!(str_of(event.agent_key()), want.agent, "line {line}");
        } else {
            assert_eq!(str_of(event.call_key()), want.call, "line {line}");
            assert_eq!(text(&event, Attr::AgentNo).as_deref(), want.agent, "line {line}");
        }
        assert_eq!(
            text(&event, Attr::MainUniqueId).as_deref(),
            want.call.filter(|c| c.contains('-'))
        );
        assert_eq!(event.time().map(|time| time.as_millis()), Some(want.millis), "line {line}");
        assert_eq!(event.sdk_status(), want.status, "line {line}");
        kinds.insert(want.kind);
        events.push(event);
    }
    let catalog: HashSet<SdkEvent> = SdkEvent::ALL.iter().copied().collect();
    assert_eq!(catalog.len(), 40);
    assert!(catalog.is_subset(&kinds), "missing: {:?}", catalog.difference(&kinds));
    assert!(kinds.contains(&SdkEvent::Other));

    // Field by field, on the lines that carry them.
    let idle = &events[2];
    assert_eq!(idle.sdk_state(), Some(SdkAgentState::Idle));
    assert_eq!(text(idle, Attr::StateAction).as_deref(), Some("online"));
    assert_eq!(idle.int(Attr::DeviceStatus), Some(1));
    assert_eq!(text(idle, Attr::ThisDN).as_deref(), Some("01012345678"), "bindEndpoint as text");
    assert_eq!(idle.key(), None);

    let session = &events[0];
    assert!(!session.has(Attr::ThisDN), "bindEndpoint as an object names no DN");

    let ringing = &events[3];
    assert_eq!(ringing.sdk_call_type(), Some(SdkCallType::Inbound));
    assert_eq!(text(ringing, Attr::CustomerNumber).as_deref(), Some("13800138000"));
    assert_eq!(text(ringing, Attr::ThisDN).as_deref(), Some("1001"));
    assert_eq!(ringing.sdk_state(), None);
    assert_eq!(ringing.sdk_status(), None);

    let talking = &events[5];
    assert_eq!(talking.sdk_state(), Some(SdkAgentState::Talking));
    assert_eq!(talking.sdk_call_type(), Some(SdkCallType::Inbound), "callType by name");
    assert_eq!(talking.int(Attr::SdkCallType), Some(1));
    assert_eq!(talking.int(Attr::DeviceStatus), Some(4));

    let wrapup = &events[26];
    assert_eq!(wrapup.sdk_state(), Some(SdkAgentState::Wrapup));
    assert_eq!(wrapup.int(Attr::DeviceStatus), Some(5));

    let transcript = &events[28];
    assert_eq!(transcript.kind().name(), "transcript");

    let busy = &events[29];
    assert_eq!(busy.sdk_state(), Some(SdkAgentState::Busy));
    assert_eq!(text(busy, Attr::StateAction).as_deref(), Some("pause"));
    assert_eq!(busy.int(Attr::PauseType), Some(2));
    assert_eq!(text(busy, Attr::Reason).as_deref(), Some("Lunch break"));

    let preview = &events[30];
    assert_eq!(preview.sdk_call_type(), Some(SdkCallType::PreviewOutbound));
    assert_eq!(text(preview, Attr::CustomerNumber).as_deref(), Some("13900139000"));

    let calling = &events[31];
    assert_eq!(calling.sdk_state(), Some(SdkAgentState::Calling));

    let exten = &events[38];
    assert_eq!(text(exten, Attr::ThisDN).as_deref(), Some("1001"));
    assert_eq!(exten.agent_key(), Some(&b"1001"[..]));

    let ping = &events[39];
    assert_eq!(ping.key(), Some(&b"7000001:1001"[..]));
    assert_eq!(ping.agent_key(), None);

    let offline = &events[44];
    assert_eq!(offline.sdk_state(), Some(SdkAgentState::Offline));
    assert_eq!(offline.int(Attr::DeviceStatus), Some(6));

    let unknown = &events[47];
    assert_eq!(unknown.kind().name(), "Other");

    let invalid = &events[48];
    assert_eq!(invalid.sdk_state(), Some(SdkAgentState::Invalid));
    assert_eq!(text(invalid, Attr::AgentNo).as_deref(), Some("1003"), "cno is agentNo");
    assert_eq!(invalid.time().map(|t| t.to_string()).as_deref(), Some("2022-02-25T08:21:40.500Z"));

    let keyed = &events[49];
    assert!(!keyed.has(Attr::AgentNo));
    assert_eq!(keyed.agent_key(), Some(&b"1004"[..]));

    let numeric = &events[50];
    assert_eq!(numeric.agent_key(), Some(&b"2001"[..]), "numbers key like their digits");
    assert_eq!(numeric.sdk_call_type(), Some(SdkCallType::Outbound));
}

#[test]
fn every_event_type_decodes() {
    for &kind in SdkEvent::ALL.iter().chain(&[SdkEvent::Other]) {
        let name = if kind == SdkEvent::Other { "somethingNew" } else { kind.name() };
        let record = format!(
            r#"{{"eventType":"{name}","tenantId":"t1","agentNo":"1001","mainUniqueId":"m-1","timestamp":1000}}"#
        );
        let event = decode(&record).unwrap_or_else(|error| panic!("{name}: {error}"));
        assert_eq!(event.kind(), EventKind::Sdk(kind), "{name}");
        assert_eq!(event.tenant(), b"t1");
        assert_eq!(event.agent_key(), Some(&b"1001"[..]));
        assert_eq!(event.call_key(), Some(&b"m-1"[..]));
        assert_eq!(event.time().map(|t| t.0), Some(1_000_000));
    }
    // Names match in any letter case, as the other name tables do.
    let event = decode(r#"{"eventType":"AGENTSTATUS","agentNo":"1"}"#).unwrap();
    assert_eq!(event.kind(), EventKind::Sdk(SdkEvent::AgentStatus));
}

#[test]
fn sdk_status_covers_every_state() {
    let cases = [
        (SdkAgentState::Offline, AgentStatus::LoggedOut),
        (SdkAgentState::Invalid, AgentStatus::LoggedOut),
        (SdkAgentState::Idle, AgentStatus::WaitForNextCall),
        (SdkAgentState::Busy, AgentStatus::NotReadyForNextCall),
        (SdkAgentState::Wrapup, AgentStatus::AfterCallWork),
        (SdkAgentState::Calling, AgentStatus::CallDialing),
        (SdkAgentState::Ringing, AgentStatus::CallRinging),
        (SdkAgentState::Talking, AgentStatus::CallInbound),
    ];
    assert_eq!(cases.len(), SdkAgentState::ALL.len());
    for (state, status) in cases {
        let record = format!(r#"{{"eventType":"agentStatus","agentNo":"1","state":"{state}"}}"#);
        let event = decode(&record).unwrap();
        assert_eq!(event.sdk_state(), Some(state));
        assert_eq!(event.sdk_status(), Some(status), "{state}");
    }
}

#[test]
fn talking_is_inbound_or_outbound_by_call_type() {
    for &call_type in SdkCallType::ALL {
        let expected = match call_type {
            SdkCallType::PreviewOutbound
            | SdkCallType::PredictiveOutbound
            | SdkCallType::Outbound => AgentStatus::CallOutbound,
            _ => AgentStatus::CallInbound,
        };
        for value in [call_type.code().to_string(), format!(r#""{}""#, call_type.name())] {
            let record = format!(
                r#"{{"eventType":"agentStatus","agentNo":"1","state":"talking","callType":{value}}}"#
            );
            let event = decode(&record).unwrap();
            assert_eq!(event.sdk_call_type(), Some(call_type), "{value}");
            assert_eq!(event.sdk_status(), Some(expected), "{value}");
        }
    }
    let status = |record: &str| decode(record).unwrap().sdk_status();
    let no_type = r#"{"eventType":"agentStatus","agentNo":"1","state":"talking"}"#;
    assert_eq!(status(no_type), Some(AgentStatus::CallInbound));
    let unknown = r#"{"eventType":"agentStatus","agentNo":"1","state":"talking","callType":99}"#;
    assert_eq!(status(unknown), Some(AgentStatus::CallInbound));
    assert_eq!(decode(unknown).unwrap().sdk_call_type(), Some(SdkCallType::Other(99)));
    let digits = r#"{"eventType":"agentStatus","agentNo":"1","state":"Talking","callType":"6"}"#;
    assert_eq!(status(digits), Some(AgentStatus::CallOutbound));
    let other_state_ignores_type =
        r#"{"eventType":"agentStatus","agentNo":"1","state":"ringing","callType":6}"#;
    assert_eq!(status(other_state_ignores_type), Some(AgentStatus::CallRinging));
}

#[test]
fn fallbacks_apply_whatever_the_member_order() {
    let agent = |record: &str| text(&decode(record).unwrap(), Attr::AgentNo);
    let dn = |record: &str| text(&decode(record).unwrap(), Attr::ThisDN);
    assert_eq!(agent(r#"{"eventType":"ringing","agentNo":"1","cno":"2"}"#).as_deref(), Some("1"));
    assert_eq!(agent(r#"{"eventType":"ringing","cno":"2","agentNo":"1"}"#).as_deref(), Some("1"));
    assert_eq!(agent(r#"{"eventType":"ringing","cno":2}"#).as_deref(), Some("2"));
    assert_eq!(agent(r#"{"eventType":"ringing","agentNo":null,"cno":"2"}"#).as_deref(), Some("2"));
    assert_eq!(
        dn(r#"{"eventType":"ringing","exten":"","bindEndpoint":"9"}"#).as_deref(),
        Some("9")
    );
    assert_eq!(
        dn(r#"{"eventType":"ringing","bindEndpoint":"9","exten":"8"}"#).as_deref(),
        Some("8")
    );
    assert_eq!(
        dn(r#"{"eventType":"ringing","exten":"8","bindEndpoint":"9"}"#).as_deref(),
        Some("8")
    );
    assert_eq!(dn(r#"{"eventType":"ringing","bindEndpoint":"9"}"#).as_deref(), Some("9"));
    assert_eq!(dn(r#"{"eventType":"ringing","bindEndpoint":[1]}"#), None);

    // Time: both members take both forms; the later one wins.
    let millis = |record: &str| decode(record).unwrap().time().map(|t| t.as_millis());
    assert_eq!(millis(r#"{"eventType":"ping","time":1645776905370}"#), Some(1645776905370));
    assert_eq!(
        millis(r#"{"eventType":"ping","timestamp":"2022-02-25T08:15:05.370Z"}"#),
        Some(1645776905370)
    );
    assert_eq!(
        millis(r#"{"eventType":"ping","timestamp":1,"time":"2022-02-25T08:15:05.370Z"}"#),
        Some(1645776905370)
    );
    assert_eq!(millis(r#"{"eventType":"ping"}"#), None);

    // A record key stands in for a missing agentNo; the payload tenant yields to it.
    let keyed = Decoder::new(Format::Sdk)
        .decode(br#"{"eventType":"agentStatus","tenantId":"t9","state":"idle"}"#, Some(b"t1:1001"))
        .unwrap();
    assert_eq!(keyed.tenant(), b"t1");
    assert_eq!(keyed.agent_key(), Some(&b"1001"[..]));
}

#[test]
fn rejections_say_what_and_where() {
    let cases: [(&str, &str, &str); 16] = [
        (r#"{"tenantId":"t1","agentNo":"1001"}"#, "record has no event name", "{"),
        (r#"{"eventType":5,"agentNo":"1001"}"#, "eventType must be a string", "5"),
        (r#"{"eventType":"","agentNo":"1001"}"#, "record has no event name", r#""""#),
        (r#"{"eventType":null,"agentNo":"1001"}"#, "record has no event name", "null"),
        (
            r#"{"eventType":"agentStatus","agentNo":"1001","state":"away"}"#,
            "unknown SdkState name ('away')",
            r#""away"#,
        ),
        (
            r#"{"eventType":"agentStatus","agentNo":"1001","state":2}"#,
            "SdkState must be a state name",
            "2}",
        ),
        (
            r#"{"eventType":"ringing","agentNo":"1001","callType":"fax"}"#,
            "unknown SdkCallType name ('fax')",
            r#""fax"#,
        ),
        (
            r#"{"eventType":"ringing","agentNo":"1001","callType":{}}"#,
            "SdkCallType must be a call type name or integer",
            "{}",
        ),
        (
            r#"{"eventType":"ringing","timestamp":"soon"}"#,
            "invalid time (expected RFC 3339 text or epoch milliseconds) ('soon')",
            r#""soon"#,
        ),
        (
            r#"{"eventType":"ringing","time":1645776905.37}"#,
            "invalid time (expected RFC 3339 text or epoch milliseconds)",
            "1645776905.37",
        ),
        (r#"{"eventType":"agentStatus","state":"idle"}"#, "agentStatus without AgentNo", "{"),
        (
            r#"{"eventType":"agentStatus","agentNo":"","state":"idle"}"#,
            "agentStatus without AgentNo",
            "{",
        ),
        (r#"{"eventType":"agentStatus","agentNo":null}"#, "agentStatus without AgentNo", "{"),
        (
            r#"{"eventType":"ringing","agentNo":{"no":"1001"}}"#,
            "AgentNo must be a string or a number",
            r#"{"no"#,
        ),
        (
            r#"{"eventType":"ringing","mainUniqueId":["m"]}"#,
            "MainUniqueId must be a string or a number",
            r#"["m"#,
        ),
        (
            r#"{"eventType":"agentStatus","agentNo":"1","pauseType":[2]}"#,
            "PauseType must be a string or a number",
            "[2]",
        ),
    ];
    for (record, reason, needle) in cases {
        let error = reject(record);
        let offset = if needle == "{" { 0 } else { at(record, needle) };
        assert_eq!(error.to_string(), format!("{reason} at byte {offset}"), "{record}");
        assert_eq!(error.offset(), offset);
    }
    assert_eq!(
        reject(r#"{"eventType":"agentStatus","agentNo":"1","state":"away"}"#).kind(),
        &ErrorKind::UnknownEnumName { attr: Attr::SdkState }
    );
    assert_eq!(
        reject(r#"{"eventType":"agentStatus"}"#).kind(),
        &ErrorKind::MissingAttribute {
            event: EventKind::Sdk(SdkEvent::AgentStatus),
            attr: Attr::AgentNo
        }
    );
    // Other events need no agent: they are keyed by call or by the record key.
    assert!(decode(r#"{"eventType":"ringing"}"#).is_ok());
}

#[test]
fn json_syntax_errors_are_reported_with_their_offset() {
    let cases = [
        (
            r#"{"eventType":"ping" "timestamp":1}"#,
            "expected ',' or '}' after object member at byte 20",
        ),
        (r#"{"eventType":"ping",}"#, "expected a string key at byte 20"),
        (r#"{"eventType" "ping"}"#, "expected ':' after object key at byte 13"),
        (r#"{"eventType":"ping","timestamp":-}"#, "invalid number at byte 33"),
        (
            r#"{"eventType":"ping","extra":[1,2}"#,
            "expected ',' or ']' after array element at byte 32",
        ),
        (r#"{"eventType":"ping","extra":}"#, "expected a JSON value at byte 28"),
        (r#"{"eventType":"ping","x":"\u12"}"#, "invalid escape sequence in string at byte 25"),
        (r#"{"eventType":"ping""#, "record ends inside a JSON value at byte 19"),
        (r#"{"eventType":"pi"#, "record ends inside a JSON value at byte 16"),
        (r#"{"eventType":"ping"}}"#, "unexpected data after the JSON object at byte 20"),
        (r#""eventType""#, "record is not a JSON object at byte 0"),
    ];
    for (record, expected) in cases {
        assert_eq!(reject(record).to_string(), expected, "{record}");
    }
    assert_eq!(
        reject(r#"{"eventType":"ping" "timestamp":1}"#).kind(),
        &ErrorKind::Json(JsonError::ExpectedCommaOrBrace)
    );
}

#[test]
fn auto_detects_sdk_records_by_their_event_type_key() {
    let decoder = Decoder::new(Format::Auto);
    for record in [
        r#"{"eventType":"agentStatus","tenantId":"t1","agentNo":"1001","state":"idle"}"#,
        r#"{"tenantId":"t1","agentNo":"1001","eventType":"ringing","mainUniqueId":"m"}"#,
        "\t {\"timestamp\":1,\"eventType\":\"ping\"}",
    ] {
        assert_eq!(detect(record.as_bytes(), 128).unwrap(), Dialect::Sdk, "{record}");
        let event = decoder.decode(record.as_bytes(), None).unwrap();
        assert_eq!(event.dialect(), Dialect::Sdk);
    }
    let error = decoder.decode(br#"{"eventType":"agentStatus","state":"gone"}"#, None).unwrap_err();
    assert_eq!(error.to_string(), "unknown SdkState name ('gone') at byte 35");
}

fn check_no_panic(payload: &[u8], key: Option<&[u8]>) {
    for format in [Format::Sdk, Format::Auto] {
        match Decoder::new(format).decode(payload, key) {
            Ok(event) => {
                let _ = (event.sdk_state(), event.sdk_call_type(), event.sdk_status());
                let _ = (event.agent_key(), event.call_key(), event.tenant(), event.time());
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
        line in any::<prop::sample::Index>(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), 0u8..3, any::<u8>()), 1..6),
    ) {
        let frames = frames("sdk_sample.ndjson");
        let mut payload = line.get(&frames).payload.to_vec();
        mutate_json(&mut payload, &edits);
        check_no_panic(&payload, None);
    }

    #[test]
    fn any_event_type_name_is_accepted(name in "\\PC{1,20}") {
        let quoted = serde_like_quote(&name);
        let record = format!(r#"{{"eventType":{quoted},"agentNo":"1"}}"#);
        let event = decode(&record).unwrap();
        let EventKind::Sdk(kind) = event.kind() else { panic!("not sdk") };
        prop_assert_eq!(kind, SdkEvent::from_name(name.as_bytes()));
    }
}

/// Quotes `text` as a JSON string (escaping what JSON requires).
fn serde_like_quote(text: &str) -> String {
    let mut out = String::from("\"");
    for ch in text.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[test]
fn auto_reads_an_sdk_record_with_a_name_before_its_event_type_as_sdk() {
    let record = br#"{"name":"Alice","eventType":"agentStatus","tenantId":"t1","agentNo":"1001","state":"idle"}"#;
    let event =
        ctistream_core::Decoder::new(ctistream_core::Format::Auto).decode(record, None).unwrap();
    assert_eq!(event.dialect(), ctistream_core::Dialect::Sdk);
}
