//! The agent reducer fed by every dialect: IVR and SDK statuses, DN flags and
//! bindings, lost CTI links, reason codes, and agent events it cannot attribute.

use ctistream_core::state::{CollectOutputs, Reducer, flags};
use ctistream_core::{AgentStatus, Decoder, Format, Timestamp};

/// Reduces `records` (decoded with `Format::Auto`; `KEY<TAB>` prefixes honoured)
/// with ingest times one second apart.
fn reduce(records: &[&str]) -> (Reducer, CollectOutputs) {
    let decoder = Decoder::new(Format::Auto);
    let mut reducer = Reducer::default();
    let mut out = CollectOutputs::default();
    for (i, record) in records.iter().enumerate() {
        let (key, payload) = match record.split_once('\t') {
            Some((key, payload)) if !record.starts_with('{') && !record.starts_with('<') => {
                (Some(key.as_bytes()), payload)
            }
            _ => (None, *record),
        };
        let event =
            decoder.decode(payload.as_bytes(), key).unwrap_or_else(|e| panic!("{record}: {e}"));
        reducer.apply(&event, Timestamp(1_000_000 * (i as i64 + 1)), &mut out);
    }
    reducer.finish(&mut out);
    (reducer, out)
}

fn statuses(out: &CollectOutputs, agent: &str) -> Vec<(AgentStatus, Option<AgentStatus>)> {
    out.changes
        .iter()
        .filter(|change| change.agent == agent)
        .map(|change| (change.status, change.previous))
        .collect()
}

fn snapshot(reducer: &Reducer, agent: &str) -> serde_json::Value {
    let mut out = Vec::new();
    reducer.write_agent_snapshots(&mut out);
    String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
        .find(|snapshot| snapshot["agent"] == agent)
        .unwrap_or_else(|| panic!("no snapshot for {agent}"))
}

#[test]
fn ivr_logged_in_is_transient_and_unknown_is_logged_out() {
    let (reducer, out) = reduce(&[
        r#"<MonitorInfo><Agent PortNum="12" Status="LoggedIn"/></MonitorInfo>"#,
        r#"<MonitorInfo><Agent PortNum="12" Status="Ready"/></MonitorInfo>"#,
        r#"<GctiMsg><MonitorInfo><Agent PortNum="12" Status="NotReady"/></MonitorInfo></GctiMsg>"#,
        r#"<MonitorInfo><Agent PortNum="12" Status="Unknown"/></MonitorInfo>"#,
        "t1:port-7\t<MonitorInfo><Agent PortNum=\"7\" Status=\"Ready\"/></MonitorInfo>",
    ]);
    use AgentStatus::*;
    assert_eq!(
        statuses(&out, "12"),
        [
            (LoggedOut, None),
            (WaitForNextCall, Some(LoggedOut)),
            (NotReadyForNextCall, Some(WaitForNextCall)),
            (LoggedOut, Some(NotReadyForNextCall))
        ],
        "LoggedIn only announces the port, as logged out; Unknown counts as logged out"
    );
    let port = snapshot(&reducer, "12");
    assert_eq!(port["totals_ms"]["login"], 3_000, "logged in from LoggedIn (1 s) to Unknown (4 s)");
    assert_eq!(port["totals_ms"]["ready"], 1_000);
    assert_eq!(snapshot(&reducer, "port-7")["tenant"], "t1", "the record key names the agent");
}

#[test]
fn sdk_states_map_onto_the_unified_status() {
    let sdk = |state: &str, extra: &str, ms: i64| {
        format!(
            r#"{{"eventType":"agentStatus","tenantId":"t9","agentNo":"1001","state":"{state}","exten":"8001","timestamp":{ms}{extra}}}"#
        )
    };
    let records = [
        sdk("idle", "", 1_000),
        sdk("busy", r#","pauseDescription":"Lunch""#, 2_000),
        sdk("idle", "", 62_000),
        sdk("ringing", r#","callType":1,"mainUniqueId":"m-1""#, 70_000),
        sdk("talking", r#","callType":1,"mainUniqueId":"m-1""#, 72_000),
        sdk("wrapup", "", 132_000),
        sdk("calling", r#","callType":6,"mainUniqueId":"m-2""#, 150_000),
        sdk("talking", r#","callType":6,"mainUniqueId":"m-2""#, 155_000),
        sdk("idle", "", 175_000),
        sdk("offline", "", 200_000),
    ];
    let records: Vec<&str> = records.iter().map(String::as_str).collect();
    let (reducer, out) = reduce(&records);
    use AgentStatus::*;
    let seen: Vec<AgentStatus> = statuses(&out, "1001").into_iter().map(|(s, _)| s).collect();
    assert_eq!(
        seen,
        [
            WaitForNextCall,
            NotReadyForNextCall,
            WaitForNextCall,
            CallRinging,
            CallInbound,
            AfterCallWork,
            CallDialing,
            CallOutbound,
            WaitForNextCall,
            LoggedOut
        ]
    );
    let lunch = out.changes.iter().find(|c| c.status == NotReadyForNextCall).unwrap();
    assert_eq!(lunch.reason.as_deref(), Some("Lunch"));
    let agent = snapshot(&reducer, "1001");
    assert_eq!(agent["tenant"], "t9");
    assert_eq!(agent["dn"], "8001");
    assert_eq!(agent["calls_handled"], 2);
    assert_eq!(agent["totals_ms"]["talking"], 60_000 + 20_000);
    assert_eq!(agent["totals_ms"]["acw"], 18_000);
    assert_eq!(agent["totals_ms"]["not_ready"], 60_000);
}

#[test]
fn dn_events_find_their_agent_through_the_login_binding() {
    let (reducer, out) = reduce(&[
        r#"{"id":"EventAgentLogin","ThisDN":"5001","AgentID":"a1","CustomerID":"t1","time":"2026-11-20T09:00:00Z"}"#,
        r#"{"id":"EventDNDOn","ThisDN":"5001","CustomerID":"t1","time":"2026-11-20T09:00:01Z"}"#,
        r#"{"id":"EventForwardSet","ThisDN":"5001","OtherDN":"5999","CustomerID":"t1","time":"2026-11-20T09:00:02Z"}"#,
        r#"{"id":"EventDNDOff","ThisDN":"5001","CustomerID":"t1","time":"2026-11-20T09:00:03Z"}"#,
        r#"{"id":"EventAgentNotReady","ThisDN":"5001","CustomerID":"t1","AgentWorkMode":"AuxWork","Extensions":{"ReasonCode":"Training"},"time":"2026-11-20T09:00:04Z"}"#,
        r#"{"id":"EventDNDOn","ThisDN":"5777","CustomerID":"t1","time":"2026-11-20T09:00:05Z"}"#,
    ]);
    let names = reducer.names();
    let (tenant, agent) = (names.get(b"t1").unwrap(), names.get(b"a1").unwrap());
    let state = reducer.agents().get(tenant, agent).unwrap();
    assert_eq!(state.flags(), flags::FORWARD, "DND set then cleared, forward still set");
    assert_eq!(names.name(state.reason().unwrap()), "Training", "ReasonCode from Extensions");
    assert_eq!(reducer.counters().unattributed, 1, "DN 5777 has no agent");
    assert_eq!(out.changes.len(), 2, "login and not ready; flags are not statuses");
}

#[test]
fn a_lost_link_marks_that_servers_agents_uncertain_until_they_report_again() {
    let (reducer, _) = reduce(&[
        r#"{"id":"EventAgentReady","ThisDN":"5001","AgentID":"a1","Server":7,"CustomerID":"t1"}"#,
        r#"{"id":"EventAgentReady","ThisDN":"5002","AgentID":"a2","Server":7,"CustomerID":"t1"}"#,
        r#"{"id":"EventAgentReady","ThisDN":"6001","AgentID":"b1","Server":8,"CustomerID":"t1"}"#,
        r#"{"id":"EventLinkDisconnected","Server":7,"CustomerID":"t1"}"#,
        r#"{"id":"EventAgentNotReady","ThisDN":"5002","AgentID":"a2","Server":7,"CustomerID":"t1"}"#,
    ]);
    let names = reducer.names();
    let tenant = names.get(b"t1").unwrap();
    let uncertain =
        |agent: &[u8]| reducer.agents().get(tenant, names.get(agent).unwrap()).unwrap().uncertain();
    assert!(uncertain(b"a1"), "server 7 lost its link and a1 has not reported since");
    assert!(!uncertain(b"a2"), "a2 reported after the link came back");
    assert!(!uncertain(b"b1"), "server 8 kept its link");
    assert_eq!(reducer.counters().uncertain_marks, 2);
}

#[test]
fn a_call_leg_on_an_unseen_agent_implies_a_login() {
    let (reducer, out) = reduce(&[
        r#"{"id":"EventRinging","CallThreadID":"c1","ThisDN":"5001","AgentID":"a1","CallType":"Inbound","CustomerID":"t1"}"#,
        r#"{"id":"EventEstablished","CallThreadID":"c1","ThisDN":"5001","CallType":"Inbound","CustomerID":"t1"}"#,
    ]);
    use AgentStatus::*;
    assert_eq!(statuses(&out, "a1"), [(CallRinging, None), (CallInbound, Some(CallRinging))]);
    assert_eq!(snapshot(&reducer, "a1")["status"], "CallInbound");
    assert_eq!(out.records.len(), 1);
    assert_eq!(out.records[0].ended, None, "still connected at end of input");
}
