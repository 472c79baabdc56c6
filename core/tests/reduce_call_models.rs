//! The call models of DOMAIN.md section 2, each as a scenario reduced from two
//! dialects (Voice Microservices JSON and T-Server logs), with every field of
//! every output asserted.

mod scenario;

use scenario::models::*;
use scenario::run;

/// The staff's changes in every model: a1–a3 log in not ready, then ready.
const STAFF_READY: [&str; 6] = [
    r#"a1: NotReadyForNextCall(None)@0 "#,
    r#"a1: WaitForNextCall(Some(NotReadyForNextCall))@1000 "#,
    r#"a2: NotReadyForNextCall(None)@0 "#,
    r#"a2: WaitForNextCall(Some(NotReadyForNextCall))@1000 "#,
    r#"a3: NotReadyForNextCall(None)@0 "#,
    r#"a3: WaitForNextCall(Some(NotReadyForNextCall))@1000 "#,
];

/// [`STAFF_READY`] followed by a model's own changes.
fn staff_then(rest: &[&'static str]) -> Vec<&'static str> {
    STAFF_READY.iter().chain(rest).copied().collect()
}

/// The snapshot of an agent who logged in, became ready and took no call.
const IDLE_A1: &str = r#"{"tenant":"t1","agent":"a1","dn":"5001","status":"WaitForNextCall","reason":null,"since":"2026-11-20T09:00:01.000Z","calls_handled":0,"totals_ms":{"login":1000,"ready":0,"not_ready":1000,"acw":0,"ringing":0,"talking":0,"hold":0}}"#;
const IDLE_A2: &str = r#"{"tenant":"t1","agent":"a2","dn":"5002","status":"WaitForNextCall","reason":null,"since":"2026-11-20T09:00:01.000Z","calls_handled":0,"totals_ms":{"login":1000,"ready":0,"not_ready":1000,"acw":0,"ringing":0,"talking":0,"hold":0}}"#;
const IDLE_A3: &str = r#"{"tenant":"t1","agent":"a3","dn":"5003","status":"WaitForNextCall","reason":null,"since":"2026-11-20T09:00:01.000Z","calls_handled":0,"totals_ms":{"login":1000,"ready":0,"not_ready":1000,"acw":0,"ringing":0,"talking":0,"hold":0}}"#;

/// 2.1 Basic internal call: a1 calls a2, a2 answers.
#[test]
fn model_basic_call() {
    let out = run(&with_staff(basic()));
    assert_eq!(
        out.calls,
        [
            r#"{"tenant":"t1","call":"ct-1","type":"Internal","ani":null,"dnis":null,"started":"2026-11-20T09:00:10.000Z","ended":"2026-11-20T09:01:14.200Z","outcome":"Answered","queue":null,"agents":["a1","a2"],"queue_ms":0,"ring_ms":4000,"talk_ms":120100,"hold_ms":0,"transfers":0,"conference":false,"events":6}"#,
        ]
    );
    assert_eq!(
        out.agents,
        [
            r#"{"tenant":"t1","agent":"a1","dn":"5001","status":"WaitForNextCall","reason":null,"since":"2026-11-20T09:01:14.100Z","calls_handled":1,"totals_ms":{"login":74100,"ready":9000,"not_ready":1000,"acw":0,"ringing":0,"talking":60000,"hold":0}}"#,
            r#"{"tenant":"t1","agent":"a2","dn":"5002","status":"WaitForNextCall","reason":null,"since":"2026-11-20T09:01:14.200Z","calls_handled":1,"totals_ms":{"login":74200,"ready":9100,"not_ready":1000,"acw":0,"ringing":4000,"talking":60100,"hold":0}}"#,
            IDLE_A3,
        ]
    );
    assert_eq!(
        out.changes,
        [
            r#"a1: NotReadyForNextCall(None)@0 "#,
            r#"a1: WaitForNextCall(Some(NotReadyForNextCall))@1000 "#,
            r#"a1: CallDialing(Some(WaitForNextCall))@10000 "#,
            r#"a1: CallInternal(Some(CallDialing))@14100 "#,
            r#"a1: WaitForNextCall(Some(CallInternal))@74100 "#,
            r#"a2: NotReadyForNextCall(None)@0 "#,
            r#"a2: WaitForNextCall(Some(NotReadyForNextCall))@1000 "#,
            r#"a2: CallRinging(Some(WaitForNextCall))@10100 "#,
            r#"a2: CallInternal(Some(CallRinging))@14100 "#,
            r#"a2: WaitForNextCall(Some(CallInternal))@74200 "#,
            r#"a3: NotReadyForNextCall(None)@0 "#,
            r#"a3: WaitForNextCall(Some(NotReadyForNextCall))@1000 "#,
        ]
    );
}

/// 2.2 Inbound call through a routing point and a virtual queue to a1, then after-call work.
#[test]
fn model_routed_inbound_call() {
    let out = run(&with_staff(routed()));
    assert_eq!(
        out.calls,
        [
            r#"{"tenant":"t1","call":"ct-2","type":"Inbound","ani":"+14155550123","dnis":"8005550100","started":"2026-11-20T09:00:20.000Z","ended":"2026-11-20T09:01:28.000Z","outcome":"Answered","queue":"7000","agents":["a1"],"queue_ms":3000,"ring_ms":5000,"talk_ms":60000,"hold_ms":0,"transfers":0,"conference":false,"events":7}"#,
        ]
    );
    assert_eq!(
        out.agents,
        [
            r#"{"tenant":"t1","agent":"a1","dn":"5001","status":"WaitForNextCall","reason":null,"since":"2026-11-20T09:01:58.200Z","calls_handled":1,"totals_ms":{"login":118200,"ready":22200,"not_ready":1000,"acw":30000,"ringing":5000,"talking":60000,"hold":0}}"#,
            IDLE_A2,
            IDLE_A3,
        ]
    );
    assert_eq!(
        out.changes,
        [
            r#"a1: NotReadyForNextCall(None)@0 "#,
            r#"a1: WaitForNextCall(Some(NotReadyForNextCall))@1000 "#,
            r#"a1: CallRinging(Some(WaitForNextCall))@23000 "#,
            r#"a1: CallInbound(Some(CallRinging))@28000 "#,
            r#"a1: WaitForNextCall(Some(CallInbound))@88000 "#,
            r#"a1: AfterCallWork(Some(WaitForNextCall))@88200 "#,
            r#"a1: WaitForNextCall(Some(AfterCallWork))@118200 "#,
            r#"a2: NotReadyForNextCall(None)@0 "#,
            r#"a2: WaitForNextCall(Some(NotReadyForNextCall))@1000 "#,
            r#"a3: NotReadyForNextCall(None)@0 "#,
            r#"a3: WaitForNextCall(Some(NotReadyForNextCall))@1000 "#,
        ]
    );
}

/// 2.3 Internal call through ACD queue 6000 to a2.
#[test]
fn model_call_queued_on_an_acd_queue() {
    let out = run(&with_staff(queued()));
    assert_eq!(
        out.calls,
        [
            r#"{"tenant":"t1","call":"ct-3","type":"Internal","ani":null,"dnis":null,"started":"2026-11-20T09:00:30.000Z","ended":"2026-11-20T09:01:39.100Z","outcome":"Answered","queue":"6000","agents":["a2"],"queue_ms":6000,"ring_ms":3000,"talk_ms":60000,"hold_ms":0,"transfers":0,"conference":false,"events":8}"#,
        ]
    );
    assert_eq!(
        out.agents,
        [
            IDLE_A1,
            r#"{"tenant":"t1","agent":"a2","dn":"5002","status":"WaitForNextCall","reason":null,"since":"2026-11-20T09:01:39.100Z","calls_handled":1,"totals_ms":{"login":99100,"ready":35100,"not_ready":1000,"acw":0,"ringing":3000,"talking":60000,"hold":0}}"#,
            IDLE_A3,
        ]
    );
    assert_eq!(
        out.changes,
        [
            r#"a1: NotReadyForNextCall(None)@0 "#,
            r#"a1: WaitForNextCall(Some(NotReadyForNextCall))@1000 "#,
            r#"a2: NotReadyForNextCall(None)@0 "#,
            r#"a2: WaitForNextCall(Some(NotReadyForNextCall))@1000 "#,
            r#"a2: CallRinging(Some(WaitForNextCall))@36100 "#,
            r#"a2: CallInternal(Some(CallRinging))@39100 "#,
            r#"a2: WaitForNextCall(Some(CallInternal))@99100 "#,
            r#"a3: NotReadyForNextCall(None)@0 "#,
            r#"a3: WaitForNextCall(Some(NotReadyForNextCall))@1000 "#,
        ]
    );
}

/// 2.4 The caller leaves while queued.
#[test]
fn model_abandoned_in_queue() {
    let out = run(&with_staff(abandoned_in_queue()));
    assert_eq!(
        out.calls,
        [
            r#"{"tenant":"t1","call":"ct-4","type":"Inbound","ani":"+14155550199","dnis":null,"started":"2026-11-20T09:00:40.000Z","ended":"2026-11-20T09:00:52.000Z","outcome":"AbandonedInQueue","queue":"6000","agents":[],"queue_ms":12000,"ring_ms":0,"talk_ms":0,"hold_ms":0,"transfers":0,"conference":false,"events":2}"#,
        ]
    );
    assert_eq!(out.agents, [IDLE_A1, IDLE_A2, IDLE_A3,]);
    assert_eq!(out.changes, staff_then(&[]));
}

/// 2.4 The caller leaves while a3 rings.
#[test]
fn model_abandoned_while_ringing() {
    let out = run(&with_staff(abandoned_ringing()));
    assert_eq!(
        out.calls,
        [
            r#"{"tenant":"t1","call":"ct-5","type":"Inbound","ani":null,"dnis":null,"started":"2026-11-20T09:00:50.000Z","ended":"2026-11-20T09:01:00.000Z","outcome":"AbandonedRinging","queue":"6000","agents":[],"queue_ms":4000,"ring_ms":6000,"talk_ms":0,"hold_ms":0,"transfers":0,"conference":false,"events":4}"#,
        ]
    );
    assert_eq!(
        out.agents,
        [
            IDLE_A1,
            IDLE_A2,
            r#"{"tenant":"t1","agent":"a3","dn":"5003","status":"WaitForNextCall","reason":null,"since":"2026-11-20T09:01:00.000Z","calls_handled":0,"totals_ms":{"login":60000,"ready":53000,"not_ready":1000,"acw":0,"ringing":6000,"talking":0,"hold":0}}"#,
        ]
    );
    assert_eq!(
        out.changes,
        staff_then(&[
            r#"a3: CallRinging(Some(WaitForNextCall))@54000 "#,
            r#"a3: WaitForNextCall(Some(CallRinging))@60000 "#,
        ])
    );
}

/// 2.4 The caller leaves at a routing point.
#[test]
fn model_abandoned_at_a_routing_point() {
    let out = run(&with_staff(abandoned_at_routing_point()));
    assert_eq!(
        out.calls,
        [
            r#"{"tenant":"t1","call":"ct-6","type":"Inbound","ani":null,"dnis":"8005550100","started":"2026-11-20T09:01:00.000Z","ended":"2026-11-20T09:01:03.500Z","outcome":"AbandonedInQueue","queue":"7000","agents":[],"queue_ms":3500,"ring_ms":0,"talk_ms":0,"hold_ms":0,"transfers":0,"conference":false,"events":2}"#,
        ]
    );
    assert_eq!(out.agents, [IDLE_A1, IDLE_A2, IDLE_A3,]);
    assert_eq!(out.changes, staff_then(&[]));
}

/// 2.5 Two-step transfer from a1 to a2 through a consultation call.
#[test]
fn model_two_step_transfer() {
    let out = run(&with_staff(two_step_transfer()));
    assert_eq!(
        out.calls,
        [
            r#"{"tenant":"t1","call":"ct-7","type":"Inbound","ani":"+14155550123","dnis":null,"started":"2026-11-20T09:01:40.000Z","ended":"2026-11-20T09:03:30.000Z","outcome":"Answered","queue":null,"agents":["a1","a2"],"queue_ms":0,"ring_ms":5000,"talk_ms":120800,"hold_ms":20000,"transfers":1,"conference":false,"events":11}"#,
        ]
    );
    assert_eq!(
        out.agents,
        [
            r#"{"tenant":"t1","agent":"a1","dn":"5001","status":"WaitForNextCall","reason":null,"since":"2026-11-20T09:02:30.000Z","calls_handled":1,"totals_ms":{"login":150000,"ready":99000,"not_ready":1000,"acw":0,"ringing":2000,"talking":44400,"hold":20000}}"#,
            r#"{"tenant":"t1","agent":"a2","dn":"5002","status":"WaitForNextCall","reason":null,"since":"2026-11-20T09:03:30.000Z","calls_handled":1,"totals_ms":{"login":210000,"ready":129600,"not_ready":1000,"acw":0,"ringing":3000,"talking":76400,"hold":0}}"#,
            IDLE_A3,
        ]
    );
    assert_eq!(
        out.changes,
        [
            r#"a1: NotReadyForNextCall(None)@0 "#,
            r#"a1: WaitForNextCall(Some(NotReadyForNextCall))@1000 "#,
            r#"a1: CallRinging(Some(WaitForNextCall))@100000 "#,
            r#"a1: CallInbound(Some(CallRinging))@102000 "#,
            r#"a1: CallOnHold(Some(CallInbound))@130000 "#,
            r#"a1: CallConsult(Some(CallOnHold))@133600 "#,
            r#"a1: CallOnHold(Some(CallConsult))@150000 "#,
            r#"a1: WaitForNextCall(Some(CallOnHold))@150000 "#,
            r#"a2: NotReadyForNextCall(None)@0 "#,
            r#"a2: WaitForNextCall(Some(NotReadyForNextCall))@1000 "#,
            r#"a2: CallRinging(Some(WaitForNextCall))@130600 "#,
            r#"a2: CallConsult(Some(CallRinging))@133600 "#,
            r#"a2: CallInbound(Some(CallConsult))@150000 "#,
            r#"a2: WaitForNextCall(Some(CallInbound))@210000 "#,
            r#"a3: NotReadyForNextCall(None)@0 "#,
            r#"a3: WaitForNextCall(Some(NotReadyForNextCall))@1000 "#,
        ]
    );
}

/// 2.6 Single-step transfer from a1 to a3.
#[test]
fn model_single_step_transfer() {
    let out = run(&with_staff(single_step_transfer()));
    assert_eq!(
        out.calls,
        [
            r#"{"tenant":"t1","call":"ct-8","type":"Inbound","ani":null,"dnis":null,"started":"2026-11-20T09:03:20.000Z","ended":"2026-11-20T09:04:44.000Z","outcome":"Answered","queue":null,"agents":["a1","a3"],"queue_ms":0,"ring_ms":4000,"talk_ms":80000,"hold_ms":0,"transfers":1,"conference":false,"events":6}"#,
        ]
    );
    assert_eq!(
        out.agents,
        [
            r#"{"tenant":"t1","agent":"a1","dn":"5001","status":"WaitForNextCall","reason":null,"since":"2026-11-20T09:03:41.000Z","calls_handled":1,"totals_ms":{"login":221000,"ready":199000,"not_ready":1000,"acw":0,"ringing":1000,"talking":20000,"hold":0}}"#,
            IDLE_A2,
            r#"{"tenant":"t1","agent":"a3","dn":"5003","status":"WaitForNextCall","reason":null,"since":"2026-11-20T09:04:44.000Z","calls_handled":1,"totals_ms":{"login":284000,"ready":220000,"not_ready":1000,"acw":0,"ringing":3000,"talking":60000,"hold":0}}"#,
        ]
    );
    assert_eq!(
        out.changes,
        [
            r#"a1: NotReadyForNextCall(None)@0 "#,
            r#"a1: WaitForNextCall(Some(NotReadyForNextCall))@1000 "#,
            r#"a1: CallRinging(Some(WaitForNextCall))@200000 "#,
            r#"a1: CallInbound(Some(CallRinging))@201000 "#,
            r#"a1: WaitForNextCall(Some(CallInbound))@221000 "#,
            r#"a2: NotReadyForNextCall(None)@0 "#,
            r#"a2: WaitForNextCall(Some(NotReadyForNextCall))@1000 "#,
            r#"a3: NotReadyForNextCall(None)@0 "#,
            r#"a3: WaitForNextCall(Some(NotReadyForNextCall))@1000 "#,
            r#"a3: CallRinging(Some(WaitForNextCall))@221000 "#,
            r#"a3: CallInbound(Some(CallRinging))@224000 "#,
            r#"a3: WaitForNextCall(Some(CallInbound))@284000 "#,
        ]
    );
}

/// 2.7 Conference of a1, a2 and the caller; a1 leaves.
#[test]
fn model_conference() {
    let out = run(&with_staff(conference()));
    assert_eq!(
        out.calls,
        [
            r#"{"tenant":"t1","call":"ct-9","type":"Inbound","ani":null,"dnis":null,"started":"2026-11-20T09:05:00.000Z","ended":"2026-11-20T09:06:20.000Z","outcome":"Answered","queue":null,"agents":["a1","a2"],"queue_ms":0,"ring_ms":3000,"talk_ms":114400,"hold_ms":10000,"transfers":0,"conference":true,"events":14}"#,
        ]
    );
    assert_eq!(
        out.agents,
        [
            r#"{"tenant":"t1","agent":"a1","dn":"5001","status":"WaitForNextCall","reason":null,"since":"2026-11-20T09:05:50.000Z","calls_handled":1,"totals_ms":{"login":350000,"ready":299000,"not_ready":1000,"acw":0,"ringing":1000,"talking":46700,"hold":10000}}"#,
            r#"{"tenant":"t1","agent":"a2","dn":"5002","status":"WaitForNextCall","reason":null,"since":"2026-11-20T09:06:20.000Z","calls_handled":1,"totals_ms":{"login":380000,"ready":309300,"not_ready":1000,"acw":0,"ringing":2000,"talking":67700,"hold":0}}"#,
            IDLE_A3,
        ]
    );
    assert_eq!(
        out.changes,
        [
            r#"a1: NotReadyForNextCall(None)@0 "#,
            r#"a1: WaitForNextCall(Some(NotReadyForNextCall))@1000 "#,
            r#"a1: CallRinging(Some(WaitForNextCall))@300000 "#,
            r#"a1: CallInbound(Some(CallRinging))@301000 "#,
            r#"a1: CallOnHold(Some(CallInbound))@310000 "#,
            r#"a1: CallConsult(Some(CallOnHold))@312300 "#,
            r#"a1: CallOnHold(Some(CallConsult))@320000 "#,
            r#"a1: CallInbound(Some(CallOnHold))@320000 "#,
            r#"a1: WaitForNextCall(Some(CallInbound))@350000 "#,
            r#"a2: NotReadyForNextCall(None)@0 "#,
            r#"a2: WaitForNextCall(Some(NotReadyForNextCall))@1000 "#,
            r#"a2: CallRinging(Some(WaitForNextCall))@310300 "#,
            r#"a2: CallConsult(Some(CallRinging))@312300 "#,
            r#"a2: CallInbound(Some(CallConsult))@320000 "#,
            r#"a2: WaitForNextCall(Some(CallInbound))@380000 "#,
            r#"a3: NotReadyForNextCall(None)@0 "#,
            r#"a3: WaitForNextCall(Some(NotReadyForNextCall))@1000 "#,
        ]
    );
}

/// 2.8 Outbound calls: answered, busy, not answered.
#[test]
fn model_outbound_calls() {
    let out = run(&with_staff(outbound()));
    assert_eq!(
        out.calls,
        [
            r#"{"tenant":"t1","call":"ob-1","type":"Outbound","ani":null,"dnis":null,"started":"2026-11-20T09:06:40.500Z","ended":"2026-11-20T09:07:49.500Z","outcome":"Answered","queue":null,"agents":["a3"],"queue_ms":0,"ring_ms":0,"talk_ms":60000,"hold_ms":0,"transfers":0,"conference":false,"events":4}"#,
            r#"{"tenant":"t1","call":"ob-2","type":"Outbound","ani":null,"dnis":null,"started":"2026-11-20T09:08:00.000Z","ended":"2026-11-20T09:08:02.000Z","outcome":"Busy","queue":null,"agents":[],"queue_ms":0,"ring_ms":0,"talk_ms":0,"hold_ms":0,"transfers":0,"conference":false,"events":2}"#,
            r#"{"tenant":"t1","call":"ob-3","type":"Outbound","ani":null,"dnis":null,"started":"2026-11-20T09:08:10.000Z","ended":"2026-11-20T09:08:40.000Z","outcome":"NoAnswer","queue":null,"agents":[],"queue_ms":0,"ring_ms":0,"talk_ms":0,"hold_ms":0,"transfers":0,"conference":false,"events":2}"#,
        ]
    );
    assert_eq!(
        out.agents,
        [
            IDLE_A1,
            IDLE_A2,
            r#"{"tenant":"t1","agent":"a3","dn":"5003","status":"WaitForNextCall","reason":null,"since":"2026-11-20T09:08:40.000Z","calls_handled":1,"totals_ms":{"login":520000,"ready":418000,"not_ready":1000,"acw":0,"ringing":0,"talking":60000,"hold":0}}"#,
        ]
    );
    assert_eq!(
        out.changes,
        staff_then(&[
            r#"a3: CallDialing(Some(WaitForNextCall))@400500 "#,
            r#"a3: CallOutbound(Some(CallDialing))@409500 "#,
            r#"a3: WaitForNextCall(Some(CallOutbound))@469500 "#,
            r#"a3: CallDialing(Some(WaitForNextCall))@480000 "#,
            r#"a3: WaitForNextCall(Some(CallDialing))@482000 "#,
            r#"a3: CallDialing(Some(WaitForNextCall))@490000 "#,
            r#"a3: WaitForNextCall(Some(CallDialing))@520000 "#,
        ])
    );
}

/// 2.9 Login, not ready with a reason, ready, a call, after-call work, logout.
#[test]
fn model_agent_session() {
    let out = run(&with_staff(agent_session()));
    assert_eq!(
        out.calls,
        [
            r#"{"tenant":"t1","call":"ct-10","type":"Inbound","ani":null,"dnis":null,"started":"2026-11-20T09:11:40.000Z","ended":"2026-11-20T09:12:22.000Z","outcome":"Answered","queue":null,"agents":["a4"],"queue_ms":0,"ring_ms":2000,"talk_ms":40000,"hold_ms":0,"transfers":0,"conference":false,"events":3}"#,
        ]
    );
    assert_eq!(
        out.agents,
        [
            IDLE_A1,
            IDLE_A2,
            IDLE_A3,
            r#"{"tenant":"t1","agent":"a4","dn":"5004","status":"LoggedOut","reason":null,"since":"2026-11-20T09:13:20.000Z","calls_handled":1,"totals_ms":{"login":200000,"ready":68000,"not_ready":60000,"acw":30000,"ringing":2000,"talking":40000,"hold":0}}"#,
        ]
    );
    assert_eq!(
        out.changes,
        staff_then(&[
            r#"a4: NotReadyForNextCall(None)@600000 "#,
            r#"a4: NotReadyForNextCall(Some(NotReadyForNextCall))@600000 Meeting"#,
            r#"a4: WaitForNextCall(Some(NotReadyForNextCall))@660000 "#,
            r#"a4: CallRinging(Some(WaitForNextCall))@700000 "#,
            r#"a4: CallInbound(Some(CallRinging))@702000 "#,
            r#"a4: WaitForNextCall(Some(CallInbound))@742000 "#,
            r#"a4: AfterCallWork(Some(WaitForNextCall))@742000 "#,
            r#"a4: WaitForNextCall(Some(AfterCallWork))@772000 "#,
            r#"a4: LoggedOut(Some(WaitForNextCall))@800000 "#,
        ])
    );
}
