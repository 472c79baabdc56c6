//! The `ivr` dialect (PROTOCOLS.md `ivr`): the sample file field by field,
//! the accepted variations of the XML, every rejection class with its reason
//! and offset, per-record detection, and never panicking on arbitrary input.

use std::collections::HashSet;

use ctistream_core::{
    AgentStatus, Attr, Decoder, Dialect, ErrorKind, Event, EventKind, Format, FrameReader, Framing,
    IvrMessage, IvrStatus, Value, detect,
};
use proptest::prelude::*;

const SAMPLE: &[u8] = include_bytes!("data/ivr_sample.xml");

fn decode(record: &str) -> Result<Event<'_>, ctistream_core::DecodeError> {
    Decoder::new(Format::Ivr).decode(record.as_bytes(), None)
}

fn text(event: &Event<'_>, attr: Attr) -> Option<String> {
    event.text(attr).map(|text| text.into_owned())
}

/// What each record of `data/ivr_sample.xml` must decode to.
#[derive(Debug)]
struct Expected {
    line: u64,
    kind: IvrMessage,
    status: IvrStatus,
    result: Option<IvrStatus>,
    port: Option<&'static str>,
    name: Option<&'static str>,
    switch: Option<&'static str>,
    request: Option<&'static str>,
    version: Option<&'static str>,
    config: Option<&'static str>,
    tenant: &'static str,
    agent_key: Option<&'static str>,
    agent_status: Option<AgentStatus>,
}

const NONE: Expected = Expected {
    line: 0,
    kind: IvrMessage::LoginResp,
    status: IvrStatus::Ok,
    result: None,
    port: None,
    name: None,
    switch: None,
    request: None,
    version: None,
    config: None,
    tenant: "default",
    agent_key: None,
    agent_status: None,
};

fn sample_expectations() -> Vec<Expected> {
    use IvrMessage::*;
    vec![
        Expected {
            line: 1,
            kind: LoginResp,
            status: IvrStatus::Ok,
            result: Some(IvrStatus::Success),
            version: Some("8.5.000.12"),
            config: Some("MonitorPorts=1;MonitorAgents=1"),
            ..NONE
        },
        Expected {
            line: 2,
            kind: LoginResp,
            status: IvrStatus::NoSuchClient,
            result: Some(IvrStatus::InvalidProtocolVersion),
            version: Some("8.1.400.21"),
            ..NONE
        },
        Expected {
            line: 3,
            kind: LoginResp,
            status: IvrStatus::InitInProgress,
            result: Some(IvrStatus::Success),
            version: Some("8.5.001.03"),
            config: Some("Tenant=t1&Site=east"),
            ..NONE
        },
        // Line 4 is blank: skipped by the framing.
        Expected {
            line: 5,
            kind: ServerStatus,
            status: IvrStatus::Ok,
            name: Some("IVR_Server_East"),
            switch: Some("SIP_Switch"),
            request: Some("17"),
            tenant: "t1",
            ..NONE
        },
        Expected {
            line: 6,
            kind: ServerStatus,
            status: IvrStatus::Unavailable,
            name: Some("IVR_Server_West"),
            switch: Some("SIP_Switch"),
            request: Some("18"),
            ..NONE
        },
        Expected {
            line: 7,
            kind: PortStatus,
            status: IvrStatus::Ok,
            port: Some("12"),
            request: Some("19"),
            tenant: "t1",
            // A port status is not an agent event: the port, not the key.
            agent_key: Some("12"),
            ..NONE
        },
        Expected {
            line: 8,
            kind: PortStatus,
            status: IvrStatus::Unavailable,
            port: Some("13"),
            tenant: "t1",
            agent_key: Some("13"),
            ..NONE
        },
        Expected {
            line: 9,
            kind: PortStatus,
            status: IvrStatus::Ok,
            port: Some("14"),
            request: Some("21"),
            agent_key: Some("14"),
            ..NONE
        },
        Expected {
            line: 10,
            kind: AgentStatus,
            status: IvrStatus::LoggedIn,
            port: Some("12"),
            tenant: "t1",
            agent_key: Some("port-12"),
            agent_status: None,
            ..NONE
        },
        Expected {
            line: 11,
            kind: AgentStatus,
            status: IvrStatus::Ready,
            port: Some("12"),
            request: Some("20"),
            tenant: "t1",
            agent_key: Some("port-12"),
            agent_status: Some(ctistream_core::AgentStatus::WaitForNextCall),
            ..NONE
        },
        Expected {
            line: 12,
            kind: AgentStatus,
            status: IvrStatus::NotReady,
            port: Some("7"),
            tenant: "t2",
            agent_key: Some("port-7"),
            agent_status: Some(ctistream_core::AgentStatus::NotReadyForNextCall),
            ..NONE
        },
        Expected {
            line: 13,
            kind: AgentStatus,
            status: IvrStatus::LoggedOut,
            port: Some("7"),
            agent_key: Some("7"),
            agent_status: Some(ctistream_core::AgentStatus::LoggedOut),
            ..NONE
        },
        Expected {
            line: 14,
            kind: AgentStatus,
            status: IvrStatus::Unknown,
            port: Some("21"),
            agent_key: Some("21"),
            agent_status: Some(ctistream_core::AgentStatus::LoggedOut),
            ..NONE
        },
    ]
}

fn check_sample(format: Format) {
    let decoder = Decoder::new(format);
    let expected = sample_expectations();
    let mut seen = 0;
    for (frame, want) in FrameReader::new(SAMPLE, Framing::Lines).zip(&expected) {
        let frame = frame.unwrap();
        let event = decoder
            .decode(&frame.payload, frame.key.as_deref())
            .unwrap_or_else(|error| panic!("line {}: {error}", frame.line));
        let context = format!("line {}", frame.line);
        assert_eq!(frame.line, want.line, "{context}");
        assert_eq!(event.dialect(), Dialect::Ivr, "{context}");
        assert_eq!(event.kind(), EventKind::Ivr(want.kind), "{context}");
        assert_eq!(event.time(), None, "{context}");
        assert_eq!(event.ivr_status(), Some(want.status), "{context}");
        assert_eq!(event.ivr_result(), want.result, "{context}");
        assert_eq!(text(&event, Attr::PortNum).as_deref(), want.port, "{context}");
        assert_eq!(text(&event, Attr::Name).as_deref(), want.name, "{context}");
        assert_eq!(text(&event, Attr::Switch).as_deref(), want.switch, "{context}");
        assert_eq!(text(&event, Attr::RequestId).as_deref(), want.request, "{context}");
        assert_eq!(text(&event, Attr::ServerVersion).as_deref(), want.version, "{context}");
        assert_eq!(text(&event, Attr::ConfigOptions).as_deref(), want.config, "{context}");
        assert_eq!(event.tenant(), want.tenant.as_bytes(), "{context}");
        assert_eq!(event.agent_key(), want.agent_key.map(str::as_bytes), "{context}");
        assert_eq!(event.ivr_agent_status(), want.agent_status, "{context}");
        assert_eq!(event.key(), frame.key.as_deref(), "{context}");
        seen += 1;
    }
    assert_eq!(seen, expected.len());
}

#[test]
fn sample_file_decodes_field_by_field() {
    check_sample(Format::Ivr);
}

#[test]
fn sample_file_is_detected_by_auto() {
    check_sample(Format::Auto);
    for frame in FrameReader::new(SAMPLE, Framing::Lines) {
        let frame = frame.unwrap();
        assert_eq!(detect(&frame.payload, 128).unwrap(), Dialect::Ivr, "line {}", frame.line);
    }
}

#[test]
fn sample_file_covers_every_message_and_status() {
    let expected = sample_expectations();
    let kinds: HashSet<_> = expected.iter().map(|want| want.kind).collect();
    assert_eq!(kinds.len(), 4, "LoginResp, ServerStatus, PortStatus, AgentStatus");
    let statuses: HashSet<_> =
        expected.iter().flat_map(|want| [Some(want.status), want.result]).flatten().collect();
    let all: HashSet<_> = IvrStatus::ALL.iter().copied().collect();
    assert_eq!(statuses, all);
}

#[test]
fn escaped_values_are_spans_decoded_on_demand() {
    let record = r#"<LoginResp Result="Success" ConfigOptions="a=&lt;1&gt;&amp;b=&#39;2&#x27;"/>"#;
    let event = decode(record).unwrap();
    let Some(Value::XmlEscaped(span)) = event.get(Attr::ConfigOptions) else {
        panic!("{:?}", event.get(Attr::ConfigOptions))
    };
    assert_eq!(span.of(record.as_bytes()), b"a=&lt;1&gt;&amp;b=&#39;2&#x27;");
    assert_eq!(text(&event, Attr::ConfigOptions).as_deref(), Some("a=<1>&b='2'"));
    // Unescaped values are plain text spans.
    assert!(matches!(event.get(Attr::Result), Some(Value::Text(_))));
    assert_eq!(event.raw(Attr::Result), Some(&b"Success"[..]));

    // An enumeration may be written with references too.
    let event =
        decode(r#"<MonitorInfo><Port PortNum="1" Status="&#79;K"/></MonitorInfo>"#).unwrap();
    assert_eq!(event.ivr_status(), Some(IvrStatus::Ok));
    let event = decode("<MonitorInfo><Server><Name>East &amp; West</Name><Status>OK</Status></Server></MonitorInfo>").unwrap();
    assert_eq!(text(&event, Attr::Name).as_deref(), Some("East & West"));
}

#[test]
fn liberal_in_what_is_accepted() {
    let accepted = [
        // Declaration, BOM, comments and processing instructions around the message.
        "\u{feff}<?xml version=\"1.0\"?>\n<!-- hello -->\n<MonitorInfo><Port PortNum=\"12\" Status=\"OK\"/></MonitorInfo>\n<!-- bye -->\n",
        // End tags in another letter case, with trailing whitespace.
        "<MonitorInfo><Port PortNum=\"12\" Status=\"OK\"></PORT ></monitorinfo>",
        // Pretty-printed child elements: whitespace around values is not part of them.
        "<GctiMsg>\n  <MonitorInfo>\n    <Port>\n      <PortNum> 12 </PortNum>\n      <!-- c --><Status>\n OK\n</Status>\n    </Port>\n  </MonitorInfo>\n</GctiMsg>",
        // Unknown attributes and elements are skipped.
        "<MonitorInfo Version=\"2\"><Extra a='1'><b>text &amp; more</b></Extra><Port PortNum=\"12\" Status=\"OK\" Since=\"09:00\"><Detail/></Port></MonitorInfo>",
        // Spaces around '=', single quotes, CDATA value.
        "<MonitorInfo><Port PortNum = '12'><Status><![CDATA[OK]]></Status></Port></MonitorInfo>",
    ];
    for record in accepted {
        let event = decode(record).unwrap_or_else(|error| panic!("{record:?}: {error}"));
        assert_eq!(event.kind(), EventKind::Ivr(IvrMessage::PortStatus), "{record:?}");
        assert_eq!(text(&event, Attr::PortNum).as_deref(), Some("12"), "{record:?}");
        assert_eq!(event.ivr_status(), Some(IvrStatus::Ok), "{record:?}");
    }
    let cdata = decode(
        "<MonitorInfo><Server Status='ok'><Name><![CDATA[A&B <1>]]></Name></Server></MonitorInfo>",
    )
    .unwrap();
    assert_eq!(text(&cdata, Attr::Name).as_deref(), Some("A&B <1>"));
    // An empty optional value is kept, as an empty span.
    let empty =
        decode("<MonitorInfo ReqId=''><Server Status='OK'><Name/></Server></MonitorInfo>").unwrap();
    assert_eq!(text(&empty, Attr::RequestId).as_deref(), Some(""));
    assert_eq!(text(&empty, Attr::Name).as_deref(), Some(""));
}

#[test]
fn rejects_malformed_xml() {
    let cases: &[(&str, &str, usize)] = &[
        (
            r#"<MonitorInfo><Port PortNum="12" Status="OK"/>"#,
            "XML: unclosed element ('MonitorInfo') at byte 0",
            0,
        ),
        (r#"<MonitorInfo><Port PortNum="12" Status="OK""#, "XML: unclosed tag at byte 13", 13),
        (
            r#"<MonitorInfo><Port PortNum="12" Status="OK"></Agent></MonitorInfo>"#,
            "XML: mismatched end tag ('Agent') at byte 44",
            44,
        ),
        ("</MonitorInfo>", "XML: end tag without a start tag ('MonitorInfo') at byte 0", 0),
        (
            r#"<MonitorInfo><Port PortNum=12 Status="OK"/></MonitorInfo>"#,
            "XML: unquoted attribute value at byte 27",
            27,
        ),
        (
            r#"<MonitorInfo><Port PortNum Status="OK"/></MonitorInfo>"#,
            "XML: attribute without '=' at byte 27",
            27,
        ),
        (
            r#"<MonitorInfo><Port PortNum="1<2" Status="OK"/></MonitorInfo>"#,
            "XML: '<' inside a tag at byte 29",
            29,
        ),
        (
            r#"<MonitorInfo><Port 1PortNum="1" Status="OK"/></MonitorInfo>"#,
            "XML: invalid attribute name ('1PortNum') at byte 19",
            19,
        ),
        ("<MonitorInfo>< Port/></MonitorInfo>", "XML: invalid element name ('') at byte 14", 14),
        (
            r#"<MonitorInfo><Port PortNum="12" Status="OK"/></MonitorInfo>junk"#,
            "XML: text after the root element at byte 59",
            59,
        ),
        (
            r#"<MonitorInfo><Port PortNum="12" Status="OK"/></MonitorInfo><MonitorInfo/>"#,
            "XML: second element after the root ('MonitorInfo') at byte 59",
            59,
        ),
        (
            r#"status: <MonitorInfo><Port PortNum="12" Status="OK"/></MonitorInfo>"#,
            "XML: text before the root element at byte 0",
            0,
        ),
        (
            r#"<MonitorInfo>hello<Port PortNum="12" Status="OK"/></MonitorInfo>"#,
            "XML: unexpected text ('hello') at byte 13",
            13,
        ),
        ("<Foo/>", "XML: unknown element ('Foo') at byte 0", 0),
        ("<GctiMsg><Foo/></GctiMsg>", "XML: unknown element ('Foo') at byte 9", 9),
        (
            r#"<MonitorInfo ReqId="4"/>"#,
            "XML: MonitorInfo must have exactly one child (Server, Port or Agent) at byte 0",
            0,
        ),
        (
            "<MonitorInfo><Foo/></MonitorInfo>",
            "XML: MonitorInfo must have exactly one child (Server, Port or Agent) at byte 0",
            0,
        ),
        (
            r#"<MonitorInfo><Port PortNum="12" Status="OK"/><Agent PortNum="12" Status="Ready"/></MonitorInfo>"#,
            "XML: MonitorInfo must have exactly one child (Server, Port or Agent) at byte 45",
            45,
        ),
        ("<GctiMsg></GctiMsg>", "XML: GctiMsg must hold exactly one message at byte 0", 0),
        (
            r#"<GctiMsg><LoginResp Result="Success"/><LoginResp Result="Success"/></GctiMsg>"#,
            "XML: GctiMsg must hold exactly one message at byte 38",
            38,
        ),
        (
            r#"<!DOCTYPE MonitorInfo [<!ENTITY x "OK">]><MonitorInfo><Port PortNum="1" Status="&x;"/></MonitorInfo>"#,
            "XML: DOCTYPE is not allowed at byte 0",
            0,
        ),
        (
            r#"<?xml version="1.0"?><!doctype MonitorInfo><MonitorInfo/>"#,
            "XML: DOCTYPE is not allowed at byte 21",
            21,
        ),
        ("<!ENTITY x 'y'><MonitorInfo/>", "XML: invalid markup declaration at byte 0", 0),
        ("<!-- never closed <MonitorInfo/>", "XML: unclosed comment at byte 0", 0),
        ("<?xml version='1.0'<MonitorInfo/>", "XML: unclosed processing instruction at byte 0", 0),
        ("<MonitorInfo><![CDATA[x</MonitorInfo>", "XML: unclosed CDATA section at byte 13", 13),
        ("<MonitorInfo></MonitorInfo", "XML: unclosed end tag at byte 13", 13),
        (
            r#"<MonitorInfo><Port PortNum="12" Status="&ok;"/></MonitorInfo>"#,
            "XML: unknown entity reference ('&ok;') at byte 40",
            40,
        ),
        (
            r#"<MonitorInfo><Port PortNum="12&amp" Status="OK"/></MonitorInfo>"#,
            "XML: unterminated entity reference at byte 30",
            30,
        ),
        (
            r#"<MonitorInfo><Server Status="OK"><Name>&#0;</Name></Server></MonitorInfo>"#,
            "XML: invalid character reference ('&#0;') at byte 39",
            39,
        ),
        (
            r#"<MonitorInfo><Port Status="OK"><PortNum><n>1</n></PortNum></Port></MonitorInfo>"#,
            "XML: element inside a value ('n') at byte 40",
            40,
        ),
        (
            r#"<MonitorInfo><Port Status="OK"><PortNum>1<!-- -->2</PortNum></Port></MonitorInfo>"#,
            "XML: value split by markup ('PortNum') at byte 31",
            31,
        ),
        (
            r#"<MonitorInfo><Port PortNum="12" portnum="13" Status="OK"/></MonitorInfo>"#,
            "XML: duplicate value ('portnum') at byte 32",
            32,
        ),
        (
            r#"<MonitorInfo><Port PortNum="12" Status="OK"><PortNum>13</PortNum></Port></MonitorInfo>"#,
            "XML: duplicate value ('PortNum') at byte 44",
            44,
        ),
    ];
    for &(record, reason, offset) in cases {
        let error = decode(record).unwrap_err();
        assert_eq!(error.to_string(), reason, "{record:?}");
        assert_eq!(error.offset(), offset, "{record:?}");
        let xml = matches!(error.kind(), ErrorKind::Xml(_));
        assert!(xml, "{record:?}: {:?}", error.kind());
    }
}

#[test]
fn rejects_invalid_utf8() {
    let record = b"<MonitorInfo><Port PortNum=\"1\xff\" Status=\"OK\"/></MonitorInfo>";
    let error = Decoder::new(Format::Ivr).decode(record, None).unwrap_err();
    assert_eq!(error.kind(), &ErrorKind::InvalidUtf8);
    assert_eq!(error.to_string(), "invalid UTF-8 at byte 29");
}

#[test]
fn rejects_records_without_an_element() {
    for record in ["", "   \n", "<!-- only a comment -->", "<?xml version='1.0'?>"] {
        let error = decode(record).unwrap_err();
        assert_eq!(error.kind(), &ErrorKind::MissingEventName, "{record:?}");
        assert_eq!(error.to_string(), "record has no event name at byte 0", "{record:?}");
    }
}

#[test]
fn rejects_deep_nesting() {
    let depth = 40;
    let mut record = String::from(r#"<MonitorInfo><Port PortNum="1" Status="OK">"#);
    record.push_str(&"<x>".repeat(depth));
    record.push_str(&"</x>".repeat(depth));
    record.push_str("</Port></MonitorInfo>");
    let error = decode(&record).unwrap_err();
    assert_eq!(error.kind(), &ErrorKind::DepthLimit(32));
    // MonitorInfo, Port and 30 <x> are the first 32 levels; the 31st <x> is one too many.
    let offset = 43 + 30 * 3;
    assert_eq!(error.to_string(), format!("nesting deeper than 32 levels at byte {offset}"));
}

#[test]
fn rejects_unknown_status_and_result_names() {
    let cases: &[(&str, Attr, &str)] = &[
        (
            r#"<MonitorInfo><Port PortNum="12" Status="Busy"/></MonitorInfo>"#,
            Attr::Status,
            "unknown Status name ('Busy') at byte 40",
        ),
        // Each element has its own names: OK is no agent status, Ready no port status.
        (
            r#"<MonitorInfo><Agent PortNum="12" Status="OK"/></MonitorInfo>"#,
            Attr::Status,
            "unknown Status name ('OK') at byte 41",
        ),
        (
            "<MonitorInfo><Port><PortNum>12</PortNum><Status>Ready</Status></Port></MonitorInfo>",
            Attr::Status,
            "unknown Status name ('Ready') at byte 48",
        ),
        (
            r#"<MonitorInfo><Server Name="s" Status="LoggedIn"/></MonitorInfo>"#,
            Attr::Status,
            "unknown Status name ('LoggedIn') at byte 38",
        ),
        (r#"<LoginResp Result="OK"/>"#, Attr::Result, "unknown Result name ('OK') at byte 19"),
        (
            r#"<LoginResp Result="Success" Status="Ready"/>"#,
            Attr::Status,
            "unknown Status name ('Ready') at byte 36",
        ),
        (
            r#"<MonitorInfo><Port PortNum="12" Status=""/></MonitorInfo>"#,
            Attr::Status,
            "unknown Status name ('') at byte 40",
        ),
    ];
    for &(record, attr, reason) in cases {
        let error = decode(record).unwrap_err();
        assert_eq!(error.kind(), &ErrorKind::UnknownEnumName { attr }, "{record:?}");
        assert_eq!(error.to_string(), reason, "{record:?}");
    }
}

#[test]
fn rejects_missing_required_values() {
    let cases: &[(&str, &str)] = &[
        (
            r#"<MonitorInfo><Agent Status="Ready"/></MonitorInfo>"#,
            "MonitorInfo/Agent without PortNum at byte 13",
        ),
        (
            r#"<MonitorInfo><Agent PortNum="12"/></MonitorInfo>"#,
            "MonitorInfo/Agent without Status at byte 13",
        ),
        (
            r#"<MonitorInfo><Port Status="OK"/></MonitorInfo>"#,
            "MonitorInfo/Port without PortNum at byte 13",
        ),
        (
            r#"<MonitorInfo><Port PortNum="" Status="OK"/></MonitorInfo>"#,
            "MonitorInfo/Port without PortNum at byte 13",
        ),
        (
            "<MonitorInfo><Port><PortNum>  </PortNum><Status>OK</Status></Port></MonitorInfo>",
            "MonitorInfo/Port without PortNum at byte 13",
        ),
        (
            r#"<MonitorInfo><Port PortNum="12"/></MonitorInfo>"#,
            "MonitorInfo/Port without Status at byte 13",
        ),
        (
            r#"<MonitorInfo><Server Name="IVR_1"/></MonitorInfo>"#,
            "MonitorInfo/Server without Status at byte 13",
        ),
        (r#"<LoginResp Status="OK"/>"#, "LoginResp without Result at byte 0"),
    ];
    for &(record, reason) in cases {
        let error = decode(record).unwrap_err();
        assert!(matches!(error.kind(), ErrorKind::MissingAttribute { .. }), "{record:?}");
        assert_eq!(error.to_string(), reason, "{record:?}");
    }
    let error = decode(r#"<MonitorInfo><Agent Status="Ready"/></MonitorInfo>"#).unwrap_err();
    assert_eq!(
        error.kind(),
        &ErrorKind::MissingAttribute {
            event: EventKind::Ivr(IvrMessage::AgentStatus),
            attr: Attr::PortNum
        }
    );
}

#[test]
fn status_helpers_are_for_ivr_events_only() {
    let genesys = Decoder::new(Format::Genesys)
        .decode(br#"{"id":"EventAgentReady","ThisDN":"5001","AgentID":"a1"}"#, None)
        .unwrap();
    assert_eq!(genesys.ivr_status(), None);
    assert_eq!(genesys.ivr_agent_status(), None);
    let port =
        decode(r#"<MonitorInfo><Port PortNum="1" Status="Unavailable"/></MonitorInfo>"#).unwrap();
    assert_eq!(port.ivr_status(), Some(IvrStatus::Unavailable));
    assert_eq!(port.ivr_agent_status(), None, "a port status is no agent status");
}

#[test]
fn owned_events_keep_their_values() {
    let record = r#"<MonitorInfo ReqId="5"><Agent PortNum="33" Status="NotReady"/></MonitorInfo>"#;
    let owned = Decoder::new(Format::Ivr)
        .decode(record.as_bytes(), Some(b"t9:port-33"))
        .unwrap()
        .into_owned();
    let event = owned.event();
    assert_eq!(event.tenant(), b"t9");
    assert_eq!(event.agent_key(), Some(&b"port-33"[..]));
    assert_eq!(text(&event, Attr::PortNum).as_deref(), Some("33"));
    assert_eq!(event.ivr_agent_status(), Some(AgentStatus::NotReadyForNextCall));
}

/// Valid records the mutation property starts from.
const SEEDS: &[&str] = &[
    r#"<?xml version="1.0"?><GctiMsg><MonitorInfo ReqId="1"><Port PortNum="12" Status="OK"/></MonitorInfo></GctiMsg>"#,
    "<MonitorInfo><Agent><PortNum>7</PortNum><Status>NotReady</Status></Agent></MonitorInfo>",
    "<LoginResp IServerVersion='8.5' Result='Success' Status='OK' ConfigOptions='a=&amp;b'/>",
    "<!-- c --><MonitorInfo><Server><Name><![CDATA[x]]></Name><Status>OK</Status></Server></MonitorInfo>",
];

/// Decodes with both the IVR and the auto decoder; whatever is accepted must
/// have every value inside the record.
fn decode_never_panics(record: &[u8]) {
    for format in [Format::Ivr, Format::Auto] {
        if let Ok(event) = Decoder::new(format).decode(record, Some(b"t1:x")) {
            for (attr, value) in event.attrs() {
                if let Value::Text(span) | Value::XmlEscaped(span) = value {
                    assert!(span.end() <= record.len(), "{attr:?} {span:?}");
                }
                let _ = event.text(attr);
            }
            let _ = (event.ivr_status(), event.ivr_agent_status(), event.agent_key());
        }
    }
}

/// How a generated record writes its names and values.
#[derive(Clone, Debug)]
struct Style {
    upper: bool,
    child_elements: bool,
    single_quotes: bool,
    wrapped: bool,
}

fn style() -> impl Strategy<Value = Style> {
    (any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>()).prop_map(
        |(upper, child_elements, single_quotes, wrapped)| Style {
            upper,
            child_elements,
            single_quotes,
            wrapped,
        },
    )
}

fn agent_record(style: &Style, port: &str, status: IvrStatus) -> String {
    let name = |n: &str| if style.upper { n.to_ascii_uppercase() } else { n.to_owned() };
    let q = if style.single_quotes { '\'' } else { '"' };
    let agent = if style.child_elements {
        format!(
            "<{a}>\n <{p}>{port}</{p}>\n <{s}>{status}</{s}>\n</{a}>",
            a = name("Agent"),
            p = name("PortNum"),
            s = name("Status"),
        )
    } else {
        format!(
            "<{} {}={q}{port}{q} {}={q}{status}{q}/>",
            name("Agent"),
            name("PortNum"),
            name("Status")
        )
    };
    let message = format!("<{m}>{agent}</{m}>", m = name("MonitorInfo"));
    if style.wrapped { format!("<GctiMsg>{message}</GctiMsg>") } else { message }
}

const AGENT_STATUSES: [IvrStatus; 5] = [
    IvrStatus::LoggedIn,
    IvrStatus::LoggedOut,
    IvrStatus::Ready,
    IvrStatus::NotReady,
    IvrStatus::Unknown,
];

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(record in proptest::collection::vec(any::<u8>(), 0..512)) {
        decode_never_panics(&record);
    }

    #[test]
    fn xml_like_text_never_panics(record in "[<>/=\"'&;#x!?\\[\\]a-zA-Z0-9 \n-]{0,300}") {
        decode_never_panics(record.as_bytes());
        let wrapped = format!("<MonitorInfo><Port PortNum='1' Status='OK'>{record}</Port></MonitorInfo>");
        decode_never_panics(wrapped.as_bytes());
    }

    #[test]
    fn mutated_messages_never_panic(
        seed in 0..SEEDS.len(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), 0u8..4, any::<u8>()), 1..8),
    ) {
        let mut record = SEEDS[seed].as_bytes().to_vec();
        for (at, op, byte) in edits {
            let len = record.len();
            match op {
                0 if len > 0 => { record.remove(at.index(len)); }
                1 => record.insert(at.index(len + 1), byte),
                2 if len > 0 => record[at.index(len)] = byte,
                _ => record.truncate(at.index(len + 1)),
            }
        }
        decode_never_panics(&record);
    }

    #[test]
    fn agent_records_round_trip(
        style in style(),
        port in "[0-9]{1,5}",
        status in prop::sample::select(AGENT_STATUSES.to_vec()),
    ) {
        let record = agent_record(&style, &port, status);
        let event = Decoder::new(Format::Auto)
            .decode(record.as_bytes(), None)
            .map_err(|error| TestCaseError::fail(format!("{record}: {error}")))?;
        prop_assert_eq!(event.kind(), EventKind::Ivr(IvrMessage::AgentStatus));
        prop_assert_eq!(text(&event, Attr::PortNum), Some(port.clone()));
        prop_assert_eq!(event.ivr_status(), Some(status));
        prop_assert_eq!(event.agent_key(), Some(port.as_bytes()));
    }
}
