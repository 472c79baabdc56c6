//! The `tlog` dialect through the public API: a realistic T-Server log framed
//! with `Framing::Tlog` and decoded field by field, every T-Library event name,
//! every rejection class with its text and offset, CRLF logs, format detection,
//! and a property test that no input panics the decoder.

use ctistream_core::{
    AgentWorkMode, Attr, CallState, CallType, DecodeError, DecodeOptions, Decoder, Dialect, DnRole,
    ErrorKind, Event, EventKind, Format, FrameReader, FrameStats, Framing, OwnedEvent, TEvent,
    Timestamp, Value, detect, kv_pairs,
};
use proptest::prelude::*;

/// The sample log: an inbound call routed through routing point 5000 and
/// virtual queue VQ_Sales to agent01 on DN 6001, an internal call abandoned
/// while ringing, and the agent's session around them, with the requests,
/// traces and blank lines a real T-Server log has between the events.
const SAMPLE: &str = include_str!("data/tlog_sample.log");

/// 2026-03-27T00:00:00Z, the day of the sample log, in epoch seconds.
const LOG_DAY_SECS: i64 = 1_774_569_600;

/// Non-event lines of the sample outside event records: the file banner,
/// request headers, `message RequestXxx` lines with their attribute lines, and
/// traces.
const SAMPLE_SKIPPED: u64 = 68;

/// Blank lines of the sample.
const SAMPLE_BLANK: u64 = 6;

const CONN_1: &str = "006c02462a161006";
const CONN_2: &str = "006c02462a161007";
const CALLER: &str = "+14155550100";

/// A header line for records built in tests.
const HEADER: &str = "@10:00:00.0000 [0] 8.1.000.00 distribute_event: message ";

fn sample_options() -> DecodeOptions {
    DecodeOptions { log_date: Timestamp::parse_date(b"2026-03-27"), ..DecodeOptions::default() }
}

/// `HH:MM:SS.ffff` on the sample's day.
fn on_log_day(clock: &str) -> Timestamp {
    Timestamp(LOG_DAY_SECS * 1_000_000 + micros_of_day(clock))
}

fn micros_of_day(clock: &str) -> i64 {
    let (hms, fraction) = clock.split_once('.').unwrap();
    let fields: Vec<i64> = hms.split(':').map(|field| field.parse().unwrap()).collect();
    let micros: i64 = format!("{fraction:0<6}").parse().unwrap();
    ((fields[0] * 60 + fields[1]) * 60 + fields[2]) * 1_000_000 + micros
}

/// Frames `input` as a T-Server log and decodes every record; a record that
/// does not decode fails the test with its line and reason.
fn decode_log(input: &[u8], options: DecodeOptions) -> (Vec<OwnedEvent>, FrameStats) {
    let decoder = Decoder::with_options(Format::Tlog, options);
    let mut reader = FrameReader::new(input, Framing::Tlog);
    let mut events = Vec::new();
    for frame in reader.by_ref() {
        let frame = frame.expect("framing");
        let event = decoder
            .decode(&frame.payload, frame.key.as_deref())
            .unwrap_or_else(|error| panic!("line {}: {error}", frame.line));
        events.push(event.into_owned());
    }
    (events, *reader.stats())
}

fn text(event: &Event<'_>, attr: Attr) -> Option<String> {
    event.text(attr).map(|text| text.into_owned())
}

/// The top-level pairs of a key-value list attribute, as strings.
fn pairs(event: &Event<'_>, attr: Attr) -> Vec<(String, String)> {
    let raw = event.raw(attr).unwrap_or_else(|| panic!("{} has no {attr}", event.kind()));
    assert!(matches!(event.get(attr), Some(Value::KvList(_))), "{attr} is a KvList");
    kv_pairs(raw)
        .map(|(key, value)| {
            (String::from_utf8_lossy(key).into_owned(), String::from_utf8_lossy(value).into_owned())
        })
        .collect()
}

fn owned_pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected.iter().map(|(key, value)| ((*key).to_owned(), (*value).to_owned())).collect()
}

/// What every event of the sample is checked for.
struct Expected {
    event: TEvent,
    this_dn: Option<&'static str>,
    conn_id: Option<&'static str>,
    call_type: Option<CallType>,
    call_state: Option<CallState>,
    sequence: i64,
    clock: &'static str,
}

const fn expect(
    event: TEvent,
    this_dn: Option<&'static str>,
    conn_id: Option<&'static str>,
    call_type: Option<CallType>,
    call_state: Option<CallState>,
    sequence: i64,
    clock: &'static str,
) -> Expected {
    Expected { event, this_dn, conn_id, call_type, call_state, sequence, clock }
}

#[rustfmt::skip]
const SAMPLE_EVENTS: [Expected; 23] = {
    use CallState::Ok as Fine;
    use CallType::{Inbound, Internal};
    const RP: Option<&str> = Some("5000");
    const VQ: Option<&str> = Some("VQ_Sales");
    const AGENT_DN: Option<&str> = Some("6001");
    const C1: Option<&str> = Some(CONN_1);
    const C2: Option<&str> = Some(CONN_2);
    [
        expect(TEvent::Registered, AGENT_DN, None, None, None, 0xa01, "08:59:57.9003"),
        expect(TEvent::AgentLogin, AGENT_DN, None, None, None, 0xa02, "08:59:58.0110"),
        expect(TEvent::AgentNotReady, AGENT_DN, None, None, None, 0xa03, "08:59:58.0125"),
        expect(TEvent::AgentReady, AGENT_DN, None, None, None, 0xa04, "09:00:05.2210"),
        expect(TEvent::Queued, RP, C1, Some(Inbound), None, 0xa05, "09:00:12.4471"),
        expect(TEvent::RouteRequest, RP, C1, Some(Inbound), None, 0xa06, "09:00:12.4475"),
        expect(TEvent::Queued, VQ, C1, Some(Inbound), None, 0xa07, "09:00:12.5014"),
        expect(TEvent::Ringing, AGENT_DN, C1, Some(Inbound), Some(Fine), 0xa08, "09:00:13.9188"),
        expect(TEvent::RouteUsed, RP, C1, Some(Inbound), None, 0xa09, "09:00:13.9190"),
        expect(TEvent::Diverted, VQ, C1, Some(Inbound), None, 0xa0a, "09:00:13.9302"),
        expect(TEvent::Established, AGENT_DN, C1, Some(Inbound), Some(Fine), 0xa0b, "09:00:18.1530"),
        expect(TEvent::Held, AGENT_DN, C1, Some(Inbound), Some(Fine), 0xa0c, "09:01:02.3340"),
        expect(TEvent::Retrieved, AGENT_DN, C1, Some(Inbound), Some(Fine), 0xa0d, "09:01:20.0010"),
        expect(TEvent::Released, AGENT_DN, C1, Some(Inbound), Some(Fine), 0xa0e, "09:03:41.7700"),
        expect(TEvent::CallPartyDeleted, AGENT_DN, C1, Some(Inbound), None, 0xa0f, "09:03:41.7702"),
        expect(TEvent::AgentNotReady, AGENT_DN, None, None, None, 0xa10, "09:03:41.7710"),
        expect(TEvent::AgentReady, AGENT_DN, None, None, None, 0xa11, "09:04:30.0500"),
        expect(TEvent::Ringing, AGENT_DN, C2, Some(Internal), Some(Fine), 0xa12, "09:06:11.2000"),
        expect(TEvent::Abandoned, AGENT_DN, C2, Some(Internal), Some(Fine), 0xa13, "09:06:19.8750"),
        expect(TEvent::DndOn, AGENT_DN, None, None, None, 0xa14, "09:07:00.1020"),
        expect(TEvent::Error, AGENT_DN, None, None, None, 0xa15, "09:07:30.0015"),
        expect(TEvent::AgentLogout, AGENT_DN, None, None, None, 0xa16, "09:08:00.4000"),
        expect(TEvent::LinkDisconnected, None, None, None, None, 0xa17, "09:15:42.0003"),
    ]
};

#[test]
fn sample_log_frames_skips_and_decodes_every_event() {
    let (events, stats) = decode_log(SAMPLE.as_bytes(), sample_options());
    assert_eq!(events.len(), SAMPLE_EVENTS.len());
    assert_eq!(stats.records, SAMPLE_EVENTS.len() as u64);
    assert_eq!(stats.skipped, SAMPLE_SKIPPED);
    assert_eq!(stats.blank, SAMPLE_BLANK);
    assert_eq!(stats.errors, 0);
    for (index, (owned, expected)) in events.iter().zip(&SAMPLE_EVENTS).enumerate() {
        let event = owned.event();
        let at = format!("event {index} ({})", expected.event);
        assert_eq!(event.dialect(), Dialect::Tlog, "{at}");
        assert_eq!(event.kind(), EventKind::TLib(expected.event), "{at}");
        assert_eq!(text(&event, Attr::ThisDN).as_deref(), expected.this_dn, "{at}");
        assert_eq!(text(&event, Attr::ConnID).as_deref(), expected.conn_id, "{at}");
        if expected.conn_id.is_some() {
            assert!(matches!(event.get(Attr::ConnID), Some(Value::Text(_))), "{at}: ConnID");
            assert_eq!(event.call_key().map(<[u8]>::to_vec), call_key(&event), "{at}");
        }
        assert_eq!(event.call_type(), expected.call_type, "{at}");
        assert_eq!(event.call_state(), expected.call_state, "{at}");
        assert_eq!(event.get(Attr::EventSequenceNumber), Some(Value::Int(expected.sequence)));
        assert_eq!(event.time(), Some(on_log_day(expected.clock)), "{at}");
    }
}

/// The call key a ConnID-only or CallUUID-carrying event must have.
fn call_key(event: &Event<'_>) -> Option<Vec<u8>> {
    event.raw(Attr::CallUUID).or_else(|| event.raw(Attr::ConnID)).map(<[u8]>::to_vec)
}

#[test]
fn sample_agent_events_carry_work_mode_and_reasons() {
    let (events, _) = decode_log(SAMPLE.as_bytes(), sample_options());
    let event = |index: usize| events[index].event();

    let login = event(1);
    assert_eq!(text(&login, Attr::AgentID).as_deref(), Some("agent01"));
    assert_eq!(text(&login, Attr::ThisQueue).as_deref(), Some("7000"));
    assert_eq!(login.work_mode(), Some(AgentWorkMode::Unknown));
    assert_eq!(login.int(Attr::ReferenceID), Some(2));
    assert_eq!(login.agent_key(), Some(&b"agent01"[..]));

    let not_ready = event(2);
    assert_eq!(not_ready.work_mode(), Some(AgentWorkMode::AuxWork));
    assert_eq!(pairs(&not_ready, Attr::Reasons), owned_pairs(&[("ReasonCode", "Briefing")]));

    assert_eq!(event(3).work_mode(), Some(AgentWorkMode::ManualIn));
    assert_eq!(event(15).work_mode(), Some(AgentWorkMode::AfterCallWork));
    assert!(!event(15).has(Attr::Reasons));
    assert_eq!(event(16).work_mode(), Some(AgentWorkMode::ManualIn));
    assert_eq!(text(&event(21), Attr::AgentID).as_deref(), Some("agent01"));
}

#[test]
fn sample_call_events_carry_parties_and_user_data() {
    let (events, _) = decode_log(SAMPLE.as_bytes(), sample_options());
    let event = |index: usize| events[index].event();

    let queued = event(4);
    assert_eq!(text(&queued, Attr::ThisQueue).as_deref(), Some("5000"));
    assert_eq!(queued.dn_role(Attr::ThisDNRole), Some(DnRole::Destination));
    assert_eq!(text(&queued, Attr::OtherDN).as_deref(), Some(CALLER));
    assert_eq!(queued.dn_role(Attr::OtherDNRole), Some(DnRole::Origination));
    assert_eq!(text(&queued, Attr::ANI).as_deref(), Some(CALLER));
    assert_eq!(text(&queued, Attr::DNIS).as_deref(), Some("5000"));
    assert_eq!(queued.int(Attr::CallID), Some(31));
    assert_eq!(text(&queued, Attr::CallUUID).as_deref(), Some("0KQ7B3L8TC1R5D2Q0G0L5G2LAES00001"));
    assert_eq!(queued.call_key(), Some(&b"0KQ7B3L8TC1R5D2Q0G0L5G2LAES00001"[..]));

    let route_request = event(5);
    assert_eq!(route_request.tenant(), b"Resources");
    assert_eq!(
        pairs(&route_request, Attr::UserData),
        owned_pairs(&[("IVR_Language", "en"), ("AccountNumber", "4471-0098")])
    );

    // The virtual-queue EventQueued has no CallUUID: ConnID is its call key.
    let vq_queued = event(6);
    assert_eq!(vq_queued.call_key(), Some(CONN_1.as_bytes()));
    assert_eq!(pairs(&vq_queued, Attr::UserData).len(), 3);

    let ringing = event(7);
    assert_eq!(text(&ringing, Attr::ThirdPartyDN).as_deref(), Some("5000"));
    assert_eq!(text(&ringing, Attr::AgentID).as_deref(), Some("agent01"));
    assert_eq!(
        pairs(&ringing, Attr::UserData),
        owned_pairs(&[
            ("IVR_Language", "en"),
            ("AccountNumber", "4471-0098"),
            ("RTargetAgentSelected", "agent01"),
            ("RTargetRuleSelected", ""),
            ("RStrategyDBID", "112"),
        ])
    );
    assert_eq!(pairs(&ringing, Attr::Extensions), owned_pairs(&[("OtherTrunkName", "gw-pstn-01")]));

    let route_used = event(8);
    assert_eq!(text(&route_used, Attr::ThirdPartyDN).as_deref(), Some("6001"));
    assert_eq!(route_used.dn_role(Attr::ThirdPartyDNRole), Some(DnRole::Destination));
    assert_eq!(route_used.int(Attr::ReferenceID), Some(17));

    let diverted = event(9);
    assert_eq!(text(&diverted, Attr::ThirdPartyDN).as_deref(), Some("6001"));
    assert_eq!(pairs(&diverted, Attr::Reasons), owned_pairs(&[("RTR", "115")]));
    assert_eq!(
        pairs(&diverted, Attr::UserData),
        owned_pairs(&[("RTargetAgentSelected", "agent01"), ("RTargetObjectSelected", "VQ_Sales")])
    );

    let released = event(13);
    assert_eq!(released.int(Attr::Cause), Some(0));
    assert_eq!(pairs(&released, Attr::UserData).len(), 5);

    let abandoned = event(18);
    assert_eq!(text(&abandoned, Attr::OtherDN).as_deref(), Some("6002"));
    assert_eq!(abandoned.call_key(), Some(&b"0KQ7B3L8TC1R5D2Q0G0L5G2LAES00002"[..]));
}

#[test]
fn sample_session_events_carry_their_attributes() {
    let (events, _) = decode_log(SAMPLE.as_bytes(), sample_options());
    let registered = events[0].event();
    assert_eq!(
        pairs(&registered, Attr::Extensions),
        owned_pairs(&[("AgentStatus", "0"), ("status", "0"), ("conn-1", "")])
    );
    let error = events[20].event();
    assert_eq!(error.int(Attr::ErrorCode), Some(56));
    assert_eq!(text(&error, Attr::ErrorMessage).as_deref(), Some("Invalid agent state"));
    assert_eq!(error.int(Attr::ReferenceID), Some(9));
    let link = events[22].event();
    assert_eq!(pairs(&link, Attr::Extensions), owned_pairs(&[("link", "link-01")]));
}

#[test]
fn header_time_without_log_date_falls_on_1970_01_01() {
    let (events, _) = decode_log(SAMPLE.as_bytes(), DecodeOptions::default());
    // EventAgentLogin has no TimeinSecs: the header's time of day is all there is.
    assert_eq!(events[1].event().time(), Some(Timestamp(micros_of_day("08:59:58.0110"))));
    // TimeinSecs does not depend on the log date.
    assert_eq!(events[0].event().time(), Some(on_log_day("08:59:57.9003")));
}

#[test]
fn header_time_takes_one_to_six_fraction_digits() {
    for (clock, micros) in
        [("10:22:33.1", 100_000), ("10:22:33.123", 123_000), ("10:22:33.123456", 123_456)]
    {
        let record = format!("@{clock} [0] message EventLinkConnected");
        let event = Decoder::new(Format::Tlog).decode(record.as_bytes(), None).unwrap();
        assert_eq!(event.time(), Some(Timestamp(37_353_000_000 + micros)), "{clock}");
    }
    // No `@` time and no TimeinSecs: no time; the pipeline uses ingest time.
    let event = Decoder::new(Format::Tlog).decode(b"message EventLinkConnected", None).unwrap();
    assert_eq!(event.time(), None);
}

#[test]
fn timeinsecs_alone_gives_whole_seconds() {
    let record = format!("{HEADER}EventLinkConnected\n\tAttributeTimeinSecs\t1774602012");
    let event = Decoder::new(Format::Tlog).decode(record.as_bytes(), None).unwrap();
    assert_eq!(event.time(), Some(Timestamp::from_secs_micros(1_774_602_012, 0)));
}

/// A minimal record of `event` that `tlib::check` accepts.
fn minimal(event: TEvent) -> String {
    format!("{HEADER}{}\n\tAttributeThisDN\t'6001'\n\tAttributeConnID\t{CONN_1}", event.name())
}

#[test]
fn every_tlib_event_name_decodes() {
    let decoder = Decoder::new(Format::Tlog);
    for &tevent in TEvent::ALL {
        let record = minimal(tevent);
        let event = decoder
            .decode(record.as_bytes(), None)
            .unwrap_or_else(|error| panic!("{}: {error}", tevent.name()));
        assert_eq!(event.kind(), EventKind::TLib(tevent));
        assert_eq!(event.text(Attr::ThisDN).as_deref(), Some("6001"));
        assert_eq!(event.time(), Some(Timestamp(36_000_000_000)));
    }
}

#[test]
fn every_header_variant_is_recognised() {
    for header in [
        "@16:45:24.5939 [0] 8.1.101.25 distribute_event: message EventReleased",
        "@16:45:24.5939 [0] 8.1.101.25 distribute call/party event: message EventReleased",
        "@16:45:24.5939 [0] 8.1.101.25 send_to_client: message EventReleased",
        "message EventReleased",
    ] {
        let record = format!("{header}\n\tAttributeThisDN\t'6001'\n\tAttributeConnID\t{CONN_1}");
        let event = Decoder::new(Format::Tlog).decode(record.as_bytes(), None).unwrap();
        assert_eq!(event.kind(), EventKind::TLib(TEvent::Released), "{header}");
    }
}

#[test]
fn values_decode_by_their_shape() {
    let record = format!(
        "{HEADER}EventRinging\n\
         \tAttributeThisDN\t'6001'\n\
         \tAttributeConnID\t{CONN_1}\n\
         \tAttributePreviousConnID  006C02462A161001\n\
         \tAttributeTransferConnID\t006c02462a161002\n\
         \tAttributeConferenceConnID\t006c02462a161003\n\
         \tAttributeCallType\tInbound\n\
         \tAttributeCallState\t'Redirected'\n\
         \tAttributeThisDNRole\t2\n\
         \tAttributeOtherDNRole\tOrigination\n\
         \tAttributeAgentWorkMode\t77\n\
         \tAttributeReferenceID\t4294967295\n\
         \tAttributeCallID\t-1\n\
         \tAttributeServer\t18446744073709551616\n\
         \tAttributeOtherDN\tunquoted text\n\
         \tAttributeAgentID\t'O'Brien'\n\
         \tAttributeANI\t''\n\
         \tAttributeNetworkCallID\tnot indexed, not looked at '\n\
         \tAttributeTimeinuSecs\t5\n\
         \tAttributeEventSequenceNumber\tFFFF"
    );
    let event = Decoder::new(Format::Tlog).decode(record.as_bytes(), None).unwrap();
    assert_eq!(event.text(Attr::PreviousConnID).as_deref(), Some("006C02462A161001"));
    assert_eq!(event.text(Attr::TransferConnID).as_deref(), Some("006c02462a161002"));
    assert_eq!(event.text(Attr::ConferenceConnID).as_deref(), Some("006c02462a161003"));
    assert_eq!(event.call_type(), Some(CallType::Inbound));
    assert_eq!(event.call_state(), Some(CallState::Redirected));
    assert_eq!(event.dn_role(Attr::ThisDNRole), Some(DnRole::Destination));
    assert_eq!(event.dn_role(Attr::OtherDNRole), Some(DnRole::Origination));
    // Unknown codes are kept, never rejected.
    assert_eq!(event.work_mode(), Some(AgentWorkMode::Other(77)));
    assert_eq!(event.get(Attr::ReferenceID), Some(Value::Int(4_294_967_295)));
    assert_eq!(event.get(Attr::CallID), Some(Value::Int(-1)));
    assert!(matches!(event.get(Attr::Server), Some(Value::Number(_))));
    assert_eq!(event.text(Attr::Server).as_deref(), Some("18446744073709551616"));
    assert_eq!(event.text(Attr::OtherDN).as_deref(), Some("unquoted text"));
    assert_eq!(event.text(Attr::AgentID).as_deref(), Some("O'Brien"));
    assert_eq!(event.text(Attr::ANI).as_deref(), Some(""));
    assert_eq!(event.get(Attr::EventSequenceNumber), Some(Value::Int(0xffff)));
    // TimeinuSecs without TimeinSecs: the header time stands.
    assert_eq!(event.time(), Some(Timestamp(36_000_000_000)));
}

#[test]
fn nested_key_value_lists_keep_their_deeper_lines() {
    let record = format!(
        "{HEADER}EventAttachedDataChanged\n\
         \tAttributeThisDN\t'6001'\n\
         \tAttributeConnID\t{CONN_1}\n\
         \tAttributeUserData\t[90] 00 02 00 00..\n\
         \t\t'Customer'\t[40] 00 02 00 00..\n\
         \t\t\t'Tier'\t'Gold'\n\
         \t\t\t'Since'\t2019\n\
         \t\t'Language'\t'en'\n\
         \tAttributeCallType\t2"
    );
    let event = Decoder::new(Format::Tlog).decode(record.as_bytes(), None).unwrap();
    let user_data = event.raw(Attr::UserData).unwrap();
    assert!(user_data.starts_with(b"[90]") && user_data.ends_with(b"'Language'\t'en'"));
    let top: Vec<_> = kv_pairs(user_data).map(|(key, _)| key).collect();
    assert_eq!(top, [&b"Customer"[..], b"Language"]);
    let (_, customer) = kv_pairs(user_data).next().unwrap();
    let inner: Vec<_> = kv_pairs(customer).collect();
    assert_eq!(inner, [(&b"Tier"[..], &b"Gold"[..]), (b"Since", b"2019")]);
    assert_eq!(event.call_type(), Some(CallType::Inbound));
}

#[test]
fn unknown_attributes_and_their_lists_are_ignored() {
    let record = format!(
        "{HEADER}EventRinging\n\
         \tAttributeThisDN\t'6001'\n\
         \tAttributeLocationInfo\t[12] 00 01 00 00..\n\
         \t\t'site'\t'unterminated\n\
         \tAttributeCallHistory\n\
         \tNotAnAttribute\t'x\n\
         \tAttributeConnID\t{CONN_1}"
    );
    let event = Decoder::new(Format::Tlog).decode(record.as_bytes(), None).unwrap();
    assert_eq!(event.attrs().count(), 2);
}

fn reject(record: &str) -> DecodeError {
    match Decoder::new(Format::Tlog).decode(record.as_bytes(), None) {
        Ok(event) => panic!("accepted as {}: {record:?}", event.kind()),
        Err(error) => error,
    }
}

/// The offset of `needle` in `record`.
fn offset_of(record: &str, needle: &str) -> usize {
    record.find(needle).unwrap_or_else(|| panic!("{needle:?} not in {record:?}"))
}

#[test]
fn rejects_unknown_event_names() {
    let record = format!("{HEADER}EventBogus\n\tAttributeThisDN\t'6001'");
    let error = reject(&record);
    assert_eq!(error.kind(), &ErrorKind::UnknownEvent);
    assert_eq!(error.to_string(), "unknown event name ('EventBogus') at byte 56");
    assert_eq!(error.offset(), offset_of(&record, "EventBogus"));
}

#[test]
fn rejects_records_without_an_event_header() {
    let error = reject("@10:00:00.0000 [0] message RequestAnswerCall\n\tAttributeThisDN\t'6001'");
    assert_eq!(error.to_string(), "T-Server log: no 'message Event…' header at byte 0");
    assert_eq!(error.class(), "T-Server log: no 'message Event…' header");
}

#[test]
fn rejects_party_events_without_this_dn() {
    let record = format!("{HEADER}EventRinging\n\tAttributeConnID\t{CONN_1}");
    let error = reject(&record);
    assert_eq!(error.to_string(), "EventRinging without ThisDN at byte 0");
    assert_eq!(error.class(), "EventRinging without ThisDN");
    let agent = format!("{HEADER}EventAgentReady\n\tAttributeAgentID\t'agent01'");
    assert_eq!(reject(&agent).to_string(), "EventAgentReady without ThisDN at byte 0");
}

#[test]
fn rejects_call_events_without_a_call_id_unless_keyed() {
    let record = format!("{HEADER}EventEstablished\n\tAttributeThisDN\t'6001'");
    assert_eq!(
        reject(&record).to_string(),
        "EventEstablished without a call id (key, CallThreadID, CallUUID or ConnID) at byte 0"
    );
    let keyed = Decoder::new(Format::Tlog).decode(record.as_bytes(), Some(b"t1:call-9")).unwrap();
    assert_eq!(keyed.call_key(), Some(&b"call-9"[..]));
    assert_eq!(keyed.tenant(), b"t1");
}

#[test]
fn rejects_unterminated_quotes() {
    let record =
        format!("{HEADER}EventRinging\n\tAttributeThisDN\t'6001\n\tAttributeConnID\t{CONN_1}");
    let error = reject(&record);
    let at = offset_of(&record, "'6001");
    assert_eq!(
        error.to_string(),
        format!("T-Server log: unterminated quoted value (''6001') at byte {at}")
    );
    assert_eq!(error.offset(), at);

    let record = format!(
        "{HEADER}EventAgentNotReady\n\tAttributeThisDN\t'6001'\n\
         \tAttributeReasons\t[27] 00 01 00 00..\n\t\t'ReasonCode'\t'Lunch\r\n\tAttributeAgentID\t'a'"
    );
    let error = reject(&record);
    let at = offset_of(&record, "'Lunch");
    assert_eq!(
        error.to_string(),
        format!(
            "T-Server log: unterminated quoted value in key-value list (''Lunch') at byte {at}"
        )
    );

    let record = format!(
        "{HEADER}EventAgentNotReady\n\tAttributeThisDN\t'6001'\n\
         \tAttributeReasons\t[27] 00 01 00 00..\n\t\t'ReasonCode"
    );
    let at = offset_of(&record, "'ReasonCode");
    assert_eq!(
        reject(&record).to_string(),
        format!(
            "T-Server log: unterminated quoted key in key-value list (''ReasonCode') at byte {at}"
        )
    );
}

#[test]
fn rejects_bad_hex() {
    let record = format!(
        "{HEADER}EventRinging\n\tAttributeThisDN\t'6001'\n\tAttributeConnID\t006c02462a16100g"
    );
    let at = offset_of(&record, "006c");
    let error = reject(&record);
    assert_eq!(
        error.to_string(),
        format!(
            "T-Server log: AttributeConnID is not 16 hex digits ('006c02462a16100g') at byte {at}"
        )
    );
    assert_eq!(error.offset(), at);

    let short = format!(
        "{HEADER}EventRinging\n\tAttributeThisDN\t'6001'\n\tAttributePreviousConnID\t6c0246"
    );
    assert_eq!(
        reject(&short).to_string(),
        format!(
            "T-Server log: AttributePreviousConnID is not 16 hex digits ('6c0246') at byte {}",
            offset_of(&short, "6c0246")
        )
    );

    let record =
        format!("{HEADER}EventLinkConnected\n\tAttributeEventSequenceNumber\t00000000000z0a01");
    let at = offset_of(&record, "00000000000z");
    assert_eq!(
        reject(&record).to_string(),
        format!(
            "T-Server log: AttributeEventSequenceNumber is not hex ('00000000000z0a01') at byte {at}"
        )
    );

    let record =
        format!("{HEADER}EventLinkConnected\n\tAttributeEventSequenceNumber\t8000000000000000");
    assert_eq!(
        reject(&record).class(),
        "T-Server log: AttributeEventSequenceNumber is larger than 2^63-1"
    );
}

#[test]
fn rejects_bad_enum_names() {
    let record = format!(
        "{HEADER}EventRinging\n\tAttributeThisDN\t'6001'\n\tAttributeConnID\t{CONN_1}\n\
         \tAttributeCallType\tSideways"
    );
    let error = reject(&record);
    let at = offset_of(&record, "Sideways");
    assert_eq!(error.kind(), &ErrorKind::UnknownEnumName { attr: Attr::CallType });
    assert_eq!(error.to_string(), format!("unknown CallType name ('Sideways') at byte {at}"));

    let record = format!(
        "{HEADER}EventAgentReady\n\tAttributeThisDN\t'6001'\n\tAttributeAgentWorkMode\t'Napping'"
    );
    let at = offset_of(&record, "'Napping'");
    assert_eq!(
        reject(&record).to_string(),
        format!("unknown AgentWorkMode name ('Napping') at byte {at}")
    );
}

#[test]
fn rejects_malformed_lines() {
    let cases: [(&str, &str, &str); 7] = [
        (
            "\tAttributeOtherDN\n",
            "AttributeOtherDN",
            "T-Server log: attribute line has no value ('AttributeOtherDN')",
        ),
        (
            "\tAttributeOtherDN\t  \r\n",
            "AttributeOtherDN",
            "T-Server log: attribute line has no value ('AttributeOtherDN')",
        ),
        (
            "\tAttributeUserData\t[598 00 16 00 00..\n\t\t'k'\t'v'\n",
            "[598",
            "T-Server log: key-value list header '[len]' has no closing ']' ('[598 00 16 00 00..')",
        ),
        (
            "\tAttributeUserData\t'flat'\n",
            "'flat'",
            "T-Server log: key-value list does not start with '[len]' (''flat'')",
        ),
        (
            "\tAttributeTimeinSecs\t12:00:00\n",
            "12:00",
            "T-Server log: AttributeTimeinSecs is not a decimal ('12:00:00')",
        ),
        (
            "\tAttributeTimeinuSecs\tsoon\n",
            "soon",
            "T-Server log: AttributeTimeinuSecs is not a decimal ('soon')",
        ),
        (
            "AttributeThisDN\t'6001'\n",
            "AttributeThisDN",
            "T-Server log: line after the header does not start with TAB ('AttributeThisDN\t'6001'')",
        ),
    ];
    for (line, needle, reason) in cases {
        let record = format!(
            "{HEADER}EventRinging\n{line}\tAttributeThisDN\t'6001'\n\tAttributeConnID\t{CONN_1}"
        );
        let error = reject(&record);
        let at = offset_of(&record, needle);
        assert_eq!(error.to_string(), format!("{reason} at byte {at}"), "{line:?}");
        assert_eq!(error.offset(), at);
    }
}

#[test]
fn rejects_a_malformed_header_time() {
    let error = reject("@10:61:00.0000 [0] message EventLinkConnected");
    assert_eq!(
        error.to_string(),
        "T-Server log: header time is not @HH:MM:SS.ffff (1 to 6 fraction digits) \
         ('@10:61:00.0000 [0] m') at byte 0"
    );
    assert!(matches!(
        reject("@10:00:00.1234567 message EventLinkConnected").kind(),
        ErrorKind::Tlog(_)
    ));
}

/// Compares two events attribute by attribute, key-value lists by their pairs
/// (their raw spans differ by the `\r`s of a CRLF log).
fn assert_same_event(left: &Event<'_>, right: &Event<'_>) {
    assert_eq!(left.kind(), right.kind());
    assert_eq!(left.time(), right.time());
    let left_attrs: Vec<_> = left.attrs().collect();
    let right_attrs: Vec<_> = right.attrs().collect();
    assert_eq!(left_attrs.len(), right_attrs.len(), "{}", left.kind());
    for ((attr, value), (right_attr, right_value)) in left_attrs.into_iter().zip(right_attrs) {
        assert_eq!(attr, right_attr);
        match (value, right_value) {
            (Value::KvList(_), Value::KvList(_)) => {
                let lhs: Vec<_> = kv_pairs(left.raw(attr).unwrap()).collect();
                let rhs: Vec<_> = kv_pairs(right.raw(attr).unwrap()).collect();
                assert_eq!(lhs, rhs, "{} {attr}", left.kind());
            }
            _ => assert_eq!(left.text(attr), right.text(attr), "{} {attr}", left.kind()),
        }
    }
}

#[test]
fn crlf_log_decodes_like_lf_log() {
    let crlf = SAMPLE.replace('\n', "\r\n");
    let (lf_events, lf_stats) = decode_log(SAMPLE.as_bytes(), sample_options());
    let (crlf_events, crlf_stats) = decode_log(crlf.as_bytes(), sample_options());
    assert_eq!(lf_events.len(), crlf_events.len());
    assert_eq!(
        (lf_stats.records, lf_stats.skipped, lf_stats.blank),
        (crlf_stats.records, crlf_stats.skipped, crlf_stats.blank)
    );
    for (lf, crlf) in lf_events.iter().zip(&crlf_events) {
        assert_same_event(&lf.event(), &crlf.event());
    }
    // A record handed over with its `\r`s (not framed) decodes the same too.
    let record = minimal(TEvent::Ringing);
    let with_cr = format!("{}\r", record.replace('\n', "\r\n"));
    let decoder = Decoder::new(Format::Tlog);
    assert_same_event(
        &decoder.decode(record.as_bytes(), None).unwrap(),
        &decoder.decode(with_cr.as_bytes(), None).unwrap(),
    );
}

#[test]
fn auto_format_detects_tlog_records() {
    let record = minimal(TEvent::Established);
    assert_eq!(detect(record.as_bytes(), 128), Ok(Dialect::Tlog));
    let event = Decoder::new(Format::Auto).decode(record.as_bytes(), None).unwrap();
    assert_eq!(event.dialect(), Dialect::Tlog);
    assert_eq!(event.kind(), EventKind::TLib(TEvent::Established));

    // Every record of the sample, decoded with detection, matches the tlog decoding.
    let (expected, _) = decode_log(SAMPLE.as_bytes(), DecodeOptions::default());
    let auto = Decoder::new(Format::Auto);
    let reader = FrameReader::new(SAMPLE.as_bytes(), Framing::Tlog);
    let mut count = 0;
    for (frame, expected) in reader.zip(&expected) {
        let frame = frame.unwrap();
        let event = auto.decode(&frame.payload, None).unwrap();
        assert_eq!(event.dialect(), Dialect::Tlog);
        assert_same_event(&event, &expected.event());
        count += 1;
    }
    assert_eq!(count, SAMPLE_EVENTS.len());
}

#[test]
fn auto_framing_mixes_json_lines_and_log_records() {
    let input = format!(
        "t1:ct-1\t{{\"id\":\"EventRinging\",\"ThisDN\":\"5001\"}}\n\
         {}\n\
         @10:00:00.0001 [0] 8.1.000.00 Trc 04541 RequestAnswerCall received from [548]\n\
         {{\"id\":\"EventAgentReady\",\"ThisDN\":\"5001\"}}\n",
        minimal(TEvent::Released)
    );
    let decoder = Decoder::new(Format::Auto);
    let mut reader = FrameReader::new(input.as_bytes(), Framing::Auto);
    let mut seen = Vec::new();
    for frame in reader.by_ref() {
        let frame = frame.unwrap();
        let event = decoder.decode(&frame.payload, frame.key.as_deref()).unwrap();
        seen.push((event.dialect(), event.kind()));
    }
    assert_eq!(
        seen,
        [
            (Dialect::Genesys, EventKind::TLib(TEvent::Ringing)),
            (Dialect::Tlog, EventKind::TLib(TEvent::Released)),
            (Dialect::Genesys, EventKind::TLib(TEvent::AgentReady)),
        ]
    );
    assert_eq!(reader.stats().skipped, 1);
}

/// Exercises every accessor of a decoded event, so spans that point outside
/// the record would panic here.
fn touch(event: &Event<'_>) {
    for (attr, value) in event.attrs() {
        let _ = (event.text(attr), event.int(attr), event.raw(attr));
        if let Value::KvList(_) = value {
            for (key, value) in kv_pairs(event.raw(attr).unwrap_or_default()) {
                let _ = kv_pairs(value).count() + key.len();
            }
        }
    }
    let _ = (event.call_key(), event.agent_key(), event.tenant(), event.time());
}

/// Pieces of T-Server log lines, to build inputs near the grammar.
fn log_piece() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("\n".to_owned()),
        Just("\r\n".to_owned()),
        Just("\t".to_owned()),
        Just("\t\t".to_owned()),
        Just(" ".to_owned()),
        Just("'".to_owned()),
        Just("[".to_owned()),
        Just("]".to_owned()),
        Just("(".to_owned()),
        Just("-".to_owned()),
        Just("@".to_owned()),
        Just("message Event".to_owned()),
        prop::sample::select(vec![
            "AttributeThisDN",
            "AttributeConnID",
            "AttributePreviousConnID",
            "AttributeCallType",
            "AttributeCallState",
            "AttributeThisDNRole",
            "AttributeAgentWorkMode",
            "AttributeEventSequenceNumber",
            "AttributeTimeinSecs",
            "AttributeTimeinuSecs",
            "AttributeUserData",
            "AttributeReasons",
            "AttributeExtensions",
            "AttributeCause",
            "AttributeReferenceID",
            "AttributeUnknown",
        ])
        .prop_map(str::to_owned),
        "[0-9a-fA-F]{0,18}",
        "-?[0-9]{1,21}",
        "[A-Za-z0-9:. ]{0,12}",
        any::<char>().prop_map(String::from),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_after_a_header_never_panic(
        event in prop::sample::select(TEvent::ALL),
        body in prop::collection::vec(any::<u8>(), 0..512),
    ) {
        let mut record = format!("{HEADER}{}\n", event.name()).into_bytes();
        record.extend_from_slice(&body);
        for format in [Format::Tlog, Format::Auto] {
            if let Ok(event) = Decoder::new(format).decode(&record, None) {
                touch(&event);
            }
        }
        let _ = kv_pairs(&record).count();
    }

    #[test]
    fn log_shaped_input_never_panics(
        event in prop::sample::select(TEvent::ALL),
        pieces in prop::collection::vec(log_piece(), 0..80),
    ) {
        let record = format!("{HEADER}{}\n\t{}", event.name(), pieces.concat());
        let decoder = Decoder::with_options(Format::Tlog, sample_options());
        if let Ok(event) = decoder.decode(record.as_bytes(), Some(b"t:k")) {
            touch(&event);
        }
        let _ = kv_pairs(record.as_bytes()).count();
        let headerless = pieces.concat();
        let _ = decoder.decode(headerless.as_bytes(), None);
        let framed: Vec<_> = FrameReader::new(record.as_bytes(), Framing::Tlog).collect();
        for frame in framed.into_iter().flatten() {
            if let Ok(event) = decoder.decode(&frame.payload, None) {
                touch(&event);
            }
        }
    }
}
