//! The call models of DOMAIN.md section 2 as event lists.

use super::{Ev, ev, staffed};

/// One attribute of a scenario event.
type Attr = (&'static str, &'static str);

/// The attributes a call's events share, followed by `extra`.
fn with(common: &[Attr], extra: &[Attr]) -> Vec<Attr> {
    common.iter().chain(extra).copied().collect()
}

pub const C1: &str = "006c02462a161001";
pub const C2: &str = "006c02462a161002";

/// The staff of [`staffed`] followed by `call`.
pub fn with_staff(call: Vec<Ev>) -> Vec<Ev> {
    let mut events = staffed();
    events.extend(call);
    events
}

/// a1 (5001) calls a2 (5002), a2 answers, a1 hangs up.
pub fn basic() -> Vec<Ev> {
    vec![
        ev(
            10.0,
            "EventDialing",
            &[
                ("@thread", "ct-1"),
                ("ConnID", C1),
                ("ThisDN", "5001"),
                ("ThisDNRole", "Origination"),
                ("OtherDN", "5002"),
                ("OtherDNRole", "Destination"),
                ("CallType", "Internal"),
            ],
        ),
        ev(
            10.1,
            "EventRinging",
            &[
                ("@thread", "ct-1"),
                ("ConnID", C1),
                ("ThisDN", "5002"),
                ("ThisDNRole", "Destination"),
                ("OtherDN", "5001"),
                ("OtherDNRole", "Origination"),
                ("CallType", "Internal"),
                ("CallState", "Ok"),
            ],
        ),
        ev(
            14.1,
            "EventEstablished",
            &[
                ("@thread", "ct-1"),
                ("ConnID", C1),
                ("ThisDN", "5002"),
                ("ThisDNRole", "Destination"),
                ("OtherDN", "5001"),
                ("CallType", "Internal"),
            ],
        ),
        ev(
            14.1,
            "EventEstablished",
            &[
                ("@thread", "ct-1"),
                ("ConnID", C1),
                ("ThisDN", "5001"),
                ("ThisDNRole", "Origination"),
                ("OtherDN", "5002"),
                ("CallType", "Internal"),
            ],
        ),
        ev(
            74.1,
            "EventReleased",
            &[
                ("@thread", "ct-1"),
                ("ConnID", C1),
                ("ThisDN", "5001"),
                ("CallType", "Internal"),
                ("CallState", "Ok"),
            ],
        ),
        ev(
            74.2,
            "EventReleased",
            &[
                ("@thread", "ct-1"),
                ("ConnID", C1),
                ("ThisDN", "5002"),
                ("CallType", "Internal"),
                ("CallState", "Ok"),
            ],
        ),
    ]
}
/// Inbound call: routing point 7000 and virtual queue VQ_Sales route it to a1.
pub fn routed() -> Vec<Ev> {
    let t = |extra: &[Attr]| {
        with(&[("@thread", "ct-2"), ("ConnID", C1), ("CallType", "Inbound")], extra)
    };
    vec![
        ev(
            20.0,
            "EventRouteRequest",
            &t(&[
                ("ThisDN", "7000"),
                ("ThisQueue", "7000"),
                ("OtherDN", "+14155550123"),
                ("OtherDNRole", "Origination"),
                ("ANI", "+14155550123"),
                ("DNIS", "8005550100"),
            ]),
        ),
        ev(
            20.5,
            "EventQueued",
            &t(&[
                ("ThisDN", "VQ_Sales"),
                ("ThisQueue", "VQ_Sales"),
                ("ThisDNRole", "Destination"),
                ("OtherDN", "+14155550123"),
                ("OtherDNRole", "Origination"),
            ]),
        ),
        ev(
            23.0,
            "EventRinging",
            &t(&[
                ("ThisDN", "5001"),
                ("ThisDNRole", "Destination"),
                ("ThisQueue", "7000"),
                ("OtherDN", "+14155550123"),
                ("AgentID", "a1"),
                ("CallState", "Ok"),
            ]),
        ),
        ev(
            23.0,
            "EventRouteUsed",
            &t(&[
                ("ThisDN", "7000"),
                ("ThisQueue", "7000"),
                ("ThirdPartyDN", "5001"),
                ("ThirdPartyDNRole", "Destination"),
            ]),
        ),
        ev(
            23.0,
            "EventDiverted",
            &t(&[
                ("ThisDN", "VQ_Sales"),
                ("ThisQueue", "VQ_Sales"),
                ("ThirdPartyDN", "5001"),
                ("ThirdPartyDNRole", "Destination"),
            ]),
        ),
        ev(
            28.0,
            "EventEstablished",
            &t(&[
                ("ThisDN", "5001"),
                ("ThisDNRole", "Destination"),
                ("OtherDN", "+14155550123"),
                ("AgentID", "a1"),
            ]),
        ),
        ev(
            88.0,
            "EventReleased",
            &t(&[("ThisDN", "5001"), ("OtherDN", "+14155550123"), ("CallState", "Ok")]),
        ),
        ev(
            88.2,
            "EventAgentNotReady",
            &[("ThisDN", "5001"), ("AgentID", "a1"), ("AgentWorkMode", "AfterCallWork")],
        ),
        ev(
            118.2,
            "EventAgentReady",
            &[("ThisDN", "5001"), ("AgentID", "a1"), ("AgentWorkMode", "ManualIn")],
        ),
    ]
}

/// Internal caller 5009 (no agent) through ACD queue 6000 to a2.
pub fn queued() -> Vec<Ev> {
    let t = |extra: &[Attr]| {
        with(&[("@thread", "ct-3"), ("ConnID", C1), ("CallType", "Internal")], extra)
    };
    vec![
        ev(
            30.0,
            "EventDialing",
            &t(&[("ThisDN", "5009"), ("ThisDNRole", "Origination"), ("OtherDN", "6000")]),
        ),
        ev(
            30.1,
            "EventQueued",
            &t(&[
                ("ThisDN", "6000"),
                ("ThisQueue", "6000"),
                ("OtherDN", "5009"),
                ("OtherDNRole", "Origination"),
            ]),
        ),
        ev(
            36.1,
            "EventRinging",
            &t(&[
                ("ThisDN", "5002"),
                ("ThisQueue", "6000"),
                ("ThisDNRole", "Destination"),
                ("OtherDN", "5009"),
                ("OtherDNRole", "Origination"),
                ("CallState", "Ok"),
            ]),
        ),
        ev(
            36.1,
            "EventDiverted",
            &t(&[("ThisDN", "6000"), ("ThisQueue", "6000"), ("ThirdPartyDN", "5002")]),
        ),
        ev(
            39.1,
            "EventEstablished",
            &t(&[("ThisDN", "5002"), ("ThisQueue", "6000"), ("OtherDN", "5009")]),
        ),
        ev(39.1, "EventEstablished", &t(&[("ThisDN", "5009"), ("OtherDN", "5002")])),
        ev(99.1, "EventReleased", &t(&[("ThisDN", "5009"), ("CallState", "Ok")])),
        ev(99.1, "EventReleased", &t(&[("ThisDN", "5002"), ("CallState", "Ok")])),
    ]
}

/// Abandoned in queue: the caller leaves after 12 s in ACD queue 6000.
pub fn abandoned_in_queue() -> Vec<Ev> {
    let t = |extra: &[Attr]| {
        with(
            &[
                ("@thread", "ct-4"),
                ("ConnID", C1),
                ("CallType", "Inbound"),
                ("ANI", "+14155550199"),
            ],
            extra,
        )
    };
    vec![
        ev(
            40.0,
            "EventQueued",
            &t(&[("ThisDN", "6000"), ("ThisQueue", "6000"), ("OtherDN", "+14155550199")]),
        ),
        ev(
            52.0,
            "EventAbandoned",
            &t(&[("ThisDN", "6000"), ("ThisQueue", "6000"), ("CallState", "Ok")]),
        ),
    ]
}

/// Abandoned while ringing at a3.
pub fn abandoned_ringing() -> Vec<Ev> {
    let t = |extra: &[Attr]| {
        with(&[("@thread", "ct-5"), ("ConnID", C1), ("CallType", "Inbound")], extra)
    };
    vec![
        ev(50.0, "EventQueued", &t(&[("ThisDN", "6000"), ("ThisQueue", "6000")])),
        ev(
            54.0,
            "EventRinging",
            &t(&[
                ("ThisDN", "5003"),
                ("ThisQueue", "6000"),
                ("ThisDNRole", "Destination"),
                ("CallState", "Ok"),
            ]),
        ),
        ev(
            54.0,
            "EventDiverted",
            &t(&[("ThisDN", "6000"), ("ThisQueue", "6000"), ("ThirdPartyDN", "5003")]),
        ),
        ev(
            60.0,
            "EventAbandoned",
            &t(&[("ThisDN", "5003"), ("ThisQueue", "6000"), ("CallState", "Ok")]),
        ),
    ]
}

/// Abandoned at a routing point before it was routed.
pub fn abandoned_at_routing_point() -> Vec<Ev> {
    let t = |extra: &[Attr]| {
        with(&[("@thread", "ct-6"), ("ConnID", C1), ("CallType", "Inbound")], extra)
    };
    vec![
        ev(
            60.0,
            "EventRouteRequest",
            &t(&[("ThisDN", "7000"), ("ThisQueue", "7000"), ("DNIS", "8005550100")]),
        ),
        ev(
            63.5,
            "EventAbandoned",
            &t(&[("ThisDN", "7000"), ("ThisQueue", "7000"), ("CallState", "Ok")]),
        ),
    ]
}

/// Two-step transfer: a1 answers, holds, consults a2 (C2), a2 answers, a1
/// completes the transfer, the caller talks to a2.
pub fn two_step_transfer() -> Vec<Ev> {
    let main = |extra: &[Attr]| {
        with(&[("@thread", "ct-7"), ("ConnID", C1), ("CallType", "Inbound")], extra)
    };
    let consult = |extra: &[Attr]| {
        with(
            &[
                ("@thread", "ct-7"),
                ("@uuid", "ct-7-consult"),
                ("ConnID", C2),
                ("CallType", "Consult"),
            ],
            extra,
        )
    };
    vec![
        ev(
            100.0,
            "EventRinging",
            &main(&[
                ("ThisDN", "5001"),
                ("ThisDNRole", "Destination"),
                ("OtherDN", "+14155550123"),
                ("ANI", "+14155550123"),
            ]),
        ),
        ev(102.0, "EventEstablished", &main(&[("ThisDN", "5001"), ("OtherDN", "+14155550123")])),
        ev(130.0, "EventHeld", &main(&[("ThisDN", "5001"), ("OtherDN", "+14155550123")])),
        ev(
            130.5,
            "EventDialing",
            &consult(&[
                ("ThisDN", "5001"),
                ("ThisDNRole", "Origination"),
                ("OtherDN", "5002"),
                ("PreviousConnID", C1),
            ]),
        ),
        ev(
            130.6,
            "EventRinging",
            &consult(&[
                ("ThisDN", "5002"),
                ("ThisDNRole", "Destination"),
                ("OtherDN", "5001"),
                ("PreviousConnID", C1),
            ]),
        ),
        ev(133.6, "EventEstablished", &consult(&[("ThisDN", "5002"), ("OtherDN", "5001")])),
        ev(133.6, "EventEstablished", &consult(&[("ThisDN", "5001"), ("OtherDN", "5002")])),
        ev(150.0, "EventReleased", &consult(&[("ThisDN", "5001"), ("CallState", "Transferred")])),
        ev(
            150.0,
            "EventReleased",
            &main(&[("ThisDN", "5001"), ("OtherDN", "+14155550123"), ("CallState", "Transferred")]),
        ),
        ev(
            150.0,
            "EventPartyChanged",
            &main(&[
                ("ThisDN", "5002"),
                ("PreviousConnID", C2),
                ("OtherDN", "+14155550123"),
                ("ThirdPartyDN", "5001"),
                ("ThirdPartyDNRole", "TransferredBy"),
                ("CallState", "Transferred"),
            ]),
        ),
        ev(
            210.0,
            "EventReleased",
            &main(&[("ThisDN", "5002"), ("OtherDN", "+14155550123"), ("CallState", "Ok")]),
        ),
    ]
}

/// Single-step transfer from a1 to a3.
pub fn single_step_transfer() -> Vec<Ev> {
    let t = |extra: &[Attr]| {
        with(&[("@thread", "ct-8"), ("ConnID", C1), ("CallType", "Inbound")], extra)
    };
    vec![
        ev(
            200.0,
            "EventRinging",
            &t(&[("ThisDN", "5001"), ("ThisDNRole", "Destination"), ("OtherDN", "+14155550177")]),
        ),
        ev(201.0, "EventEstablished", &t(&[("ThisDN", "5001"), ("OtherDN", "+14155550177")])),
        ev(
            221.0,
            "EventReleased",
            &t(&[("ThisDN", "5001"), ("ThirdPartyDN", "5003"), ("CallState", "Transferred")]),
        ),
        ev(
            221.0,
            "EventRinging",
            &t(&[
                ("ThisDN", "5003"),
                ("ThisDNRole", "Destination"),
                ("OtherDN", "+14155550177"),
                ("ThirdPartyDN", "5001"),
                ("ThirdPartyDNRole", "TransferredBy"),
            ]),
        ),
        ev(224.0, "EventEstablished", &t(&[("ThisDN", "5003"), ("OtherDN", "+14155550177")])),
        ev(284.0, "EventReleased", &t(&[("ThisDN", "5003"), ("CallState", "Ok")])),
    ]
}

/// Conference: a1 consults a2 and completes a conference; a1 leaves, a2
/// stays with the caller.
pub fn conference() -> Vec<Ev> {
    let main = |extra: &[Attr]| {
        with(&[("@thread", "ct-9"), ("ConnID", C1), ("CallType", "Inbound")], extra)
    };
    let consult = |extra: &[Attr]| {
        with(
            &[
                ("@thread", "ct-9"),
                ("@uuid", "ct-9-consult"),
                ("ConnID", C2),
                ("CallType", "Consult"),
            ],
            extra,
        )
    };
    vec![
        ev(300.0, "EventRinging", &main(&[("ThisDN", "5001"), ("ThisDNRole", "Destination")])),
        ev(301.0, "EventEstablished", &main(&[("ThisDN", "5001")])),
        ev(310.0, "EventHeld", &main(&[("ThisDN", "5001")])),
        ev(
            310.2,
            "EventDialing",
            &consult(&[
                ("ThisDN", "5001"),
                ("ThisDNRole", "Origination"),
                ("OtherDN", "5002"),
                ("PreviousConnID", C1),
            ]),
        ),
        ev(
            310.3,
            "EventRinging",
            &consult(&[("ThisDN", "5002"), ("ThisDNRole", "Destination"), ("PreviousConnID", C1)]),
        ),
        ev(312.3, "EventEstablished", &consult(&[("ThisDN", "5002")])),
        ev(312.3, "EventEstablished", &consult(&[("ThisDN", "5001")])),
        ev(320.0, "EventReleased", &consult(&[("ThisDN", "5001"), ("CallState", "Conferenced")])),
        ev(320.0, "EventRetrieved", &main(&[("ThisDN", "5001")])),
        ev(
            320.0,
            "EventPartyAdded",
            &main(&[("ThisDN", "5001"), ("OtherDN", "5002"), ("OtherDNRole", "NewParty")]),
        ),
        ev(
            320.0,
            "EventPartyChanged",
            &main(&[
                ("ThisDN", "5002"),
                ("PreviousConnID", C2),
                ("ThisDNRole", "ConferenceMember"),
                ("CallState", "Conferenced"),
            ]),
        ),
        ev(350.0, "EventReleased", &main(&[("ThisDN", "5001"), ("CallState", "Ok")])),
        ev(
            350.0,
            "EventPartyDeleted",
            &main(&[("ThisDN", "5002"), ("OtherDN", "5001"), ("OtherDNRole", "DeletedParty")]),
        ),
        ev(380.0, "EventReleased", &main(&[("ThisDN", "5002"), ("CallState", "Ok")])),
    ]
}

/// Outbound calls by a3: answered, busy, and not answered.
pub fn outbound() -> Vec<Ev> {
    let call = |thread: &'static str, conn: &'static str, extra: &[Attr]| {
        with(
            &[("@thread", thread), ("ConnID", conn), ("CallType", "Outbound"), ("ThisDN", "5003")],
            extra,
        )
    };
    let (c1, c2, c3) = ("006c02462a16a001", "006c02462a16a002", "006c02462a16a003");
    vec![
        ev(400.0, "EventOffHook", &[("ThisDN", "5003")]),
        ev(
            400.5,
            "EventDialing",
            &call("ob-1", c1, &[("ThisDNRole", "Origination"), ("OtherDN", "914155550100")]),
        ),
        ev(401.5, "EventNetworkReached", &call("ob-1", c1, &[("OtherDN", "914155550100")])),
        ev(409.5, "EventEstablished", &call("ob-1", c1, &[("OtherDN", "914155550100")])),
        ev(469.5, "EventReleased", &call("ob-1", c1, &[("CallState", "Ok")])),
        ev(469.6, "EventOnHook", &[("ThisDN", "5003")]),
        ev(
            480.0,
            "EventDialing",
            &call("ob-2", c2, &[("ThisDNRole", "Origination"), ("OtherDN", "914155550101")]),
        ),
        ev(482.0, "EventDestinationBusy", &call("ob-2", c2, &[("CallState", "Busy")])),
        ev(
            490.0,
            "EventDialing",
            &call("ob-3", c3, &[("ThisDNRole", "Origination"), ("OtherDN", "914155550102")]),
        ),
        ev(520.0, "EventReleased", &call("ob-3", c3, &[("CallState", "NoAnswer")])),
    ]
}

/// An agent's session: login, not ready with a reason, ready, a call, after-call
/// work, ready, logout.
pub fn agent_session() -> Vec<Ev> {
    let t = |extra: &[Attr]| {
        with(
            &[("@thread", "ct-10"), ("ConnID", C1), ("CallType", "Inbound"), ("ThisDN", "5004")],
            extra,
        )
    };
    vec![
        ev(
            600.0,
            "EventAgentLogin",
            &[("ThisDN", "5004"), ("AgentID", "a4"), ("ThisQueue", "Support")],
        ),
        ev(
            600.0,
            "EventAgentNotReady",
            &[
                ("ThisDN", "5004"),
                ("AgentID", "a4"),
                ("AgentWorkMode", "AuxWork"),
                ("ReasonCode", "Meeting"),
            ],
        ),
        ev(
            660.0,
            "EventAgentReady",
            &[("ThisDN", "5004"), ("AgentID", "a4"), ("AgentWorkMode", "ManualIn")],
        ),
        ev(700.0, "EventRinging", &t(&[("ThisDNRole", "Destination")])),
        ev(702.0, "EventEstablished", &t(&[])),
        ev(742.0, "EventReleased", &t(&[("CallState", "Ok")])),
        ev(742.0, "EventAgentNotReady", &[("ThisDN", "5004"), ("AgentWorkMode", "AfterCallWork")]),
        ev(772.0, "EventAgentReady", &[("ThisDN", "5004"), ("AgentWorkMode", "ManualIn")]),
        ev(800.0, "EventAgentLogout", &[("ThisDN", "5004"), ("AgentID", "a4")]),
    ]
}
