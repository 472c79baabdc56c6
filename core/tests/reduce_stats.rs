//! Queue statistics: agents by status, calls waiting and the longest wait,
//! answered and abandoned calls, service level, speed of answer and handle
//! time, computed from one queue's traffic in two dialects.

mod scenario;

use ctistream_core::state::{CollectOutputs, Reducer};
use ctistream_core::{Decoder, Format, FrameReader, Framing, Timestamp};
use scenario::{BASE_SECS, Ev, ev, genesys, tlog};

const Q: &str = "6000";

/// One event of a call: seconds, event name, attributes beyond the call's own.
type Step<'a> = (f64, &'static str, &'a [(&'static str, &'static str)]);

fn queued_call(thread: &'static str, conn: &'static str, events: &[Step<'_>]) -> Vec<Ev> {
    events
        .iter()
        .map(|(t, name, extra)| {
            let mut attrs = vec![("@thread", thread), ("ConnID", conn), ("CallType", "Inbound")];
            attrs.extend_from_slice(extra);
            ev(*t, name, &attrs)
        })
        .collect()
}

/// Three agents in queue 6000 and five calls: two answered (one within the
/// 20 s threshold), a short and a long abandon in queue, an abandon while ringing.
fn traffic() -> Vec<Ev> {
    let q = [("ThisDN", Q), ("ThisQueue", Q)];
    let mut events = Vec::new();
    for (agent, dn) in [("a1", "5001"), ("a2", "5002"), ("a3", "5003")] {
        events.push(ev(
            0.0,
            "EventAgentLogin",
            &[("ThisDN", dn), ("AgentID", agent), ("ThisQueue", Q)],
        ));
        events.push(ev(0.0, "EventAgentReady", &[("ThisDN", dn), ("AgentID", agent)]));
    }
    events.extend(queued_call(
        "q1",
        "00000000000000a1",
        &[
            (0.5, "EventQueued", &q),
            (10.0, "EventRinging", &[("ThisDN", "5001"), ("ThisQueue", Q)]),
            (10.0, "EventDiverted", &q),
            (12.5, "EventEstablished", &[("ThisDN", "5001")]),
            (72.5, "EventReleased", &[("ThisDN", "5001"), ("CallState", "Ok")]),
        ],
    ));
    events.push(ev(
        72.5,
        "EventAgentNotReady",
        &[("ThisDN", "5001"), ("AgentWorkMode", "AfterCallWork")],
    ));
    events.push(ev(92.5, "EventAgentReady", &[("ThisDN", "5001")]));
    events.extend(queued_call(
        "q2",
        "00000000000000a2",
        &[
            (5.0, "EventQueued", &q),
            (30.0, "EventRinging", &[("ThisDN", "5002"), ("ThisQueue", Q)]),
            (30.0, "EventDiverted", &q),
            (35.0, "EventEstablished", &[("ThisDN", "5002")]),
            (40.0, "EventHeld", &[("ThisDN", "5002")]),
            (50.0, "EventRetrieved", &[("ThisDN", "5002")]),
            (95.0, "EventReleased", &[("ThisDN", "5002"), ("CallState", "Ok")]),
        ],
    ));
    events.extend(queued_call(
        "q3",
        "00000000000000a3",
        &[(20.0, "EventQueued", &q), (23.0, "EventAbandoned", &q)],
    ));
    events.extend(queued_call(
        "q4",
        "00000000000000a4",
        &[(25.0, "EventQueued", &q), (45.0, "EventAbandoned", &q)],
    ));
    events.extend(queued_call(
        "q5",
        "00000000000000a5",
        &[
            (40.0, "EventQueued", &q),
            (44.0, "EventRinging", &[("ThisDN", "5003"), ("ThisQueue", Q)]),
            (44.0, "EventDiverted", &q),
            (50.0, "EventAbandoned", &[("ThisDN", "5003"), ("ThisQueue", Q), ("CallState", "Ok")]),
        ],
    ));
    // Time order, each DN's own order kept (a stable sort by time does both).
    events.sort_by_key(|event| event.t);
    events
}

/// Reduces `text` up to `until` seconds (finishing the input when `until` is
/// past the traffic or `finish` is set) and returns the stats line of queue
/// 6000 as of `until`.
fn stats_at(text: &str, format: Format, until: f64) -> serde_json::Value {
    stats_after(text, format, until, until > 1000.0)
}

fn stats_after(text: &str, format: Format, until: f64, finish: bool) -> serde_json::Value {
    let framing = if format == Format::Tlog { Framing::Tlog } else { Framing::Lines };
    let decoder = Decoder::new(format);
    let mut reducer = Reducer::default();
    let mut out = CollectOutputs::default();
    let until_us = BASE_SECS * 1_000_000 + (until * 1e6) as i64;
    for frame in FrameReader::new(text.as_bytes(), framing) {
        let frame = frame.unwrap();
        let event = decoder.decode(&frame.payload, frame.key.as_deref()).unwrap();
        if event.time().is_some_and(|t| t.0 > until_us) {
            break;
        }
        reducer.apply(&event, Timestamp(0), &mut out);
    }
    if finish {
        reducer.finish(&mut out);
    }
    let mut lines = Vec::new();
    reducer.write_stats(Timestamp(until_us), &mut lines);
    String::from_utf8(lines)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
        .find(|row| row["queue"] == Q)
        .expect("a row for the queue")
}

#[test]
fn finished_traffic_gives_service_level_speed_of_answer_and_handle_time() {
    let events = traffic();
    for (format, text) in [(Format::Genesys, genesys(&events)), (Format::Tlog, tlog(&events))] {
        let row = stats_at(&text, format, 10_000.0);
        assert_eq!(row["tenant"], "t1");
        assert_eq!(row["answered"], 2, "{format}");
        assert_eq!(row["abandoned"], 3);
        assert_eq!(row["abandoned_in_queue"], 2);
        assert_eq!(row["abandoned_ringing"], 1);
        assert_eq!(row["short_abandoned"], 1, "q3 left after 3 s");
        // 1 answered within 20 s / (2 answered + 3 abandoned - 1 short).
        assert_eq!(row["service_level"], 0.25);
        // Waits to answer: 12 s and 30 s.
        assert_eq!(row["asa_ms"], 21_000);
        // Talk + hold: 60 s and 50 s + 10 s; after-call work: 20 s; over 2 calls.
        assert_eq!(row["aht_ms"], 70_000);
        assert_eq!((row["waiting"].as_u64(), row["longest_wait_ms"].as_u64()), (Some(0), Some(0)));
        let agents = &row["agents"];
        assert_eq!(agents["WaitForNextCall"], 3, "{agents}");
        assert_eq!(agents["LoggedOut"], 0);
    }
}

#[test]
fn calls_waiting_are_read_live() {
    let text = genesys(&traffic());
    let row = stats_at(&text, Format::Genesys, 28.0);
    // q2 waits since 5 s, q4 since 25 s; q1 rang at 10 s, q3 left at 23 s.
    assert_eq!(row["waiting"], 2);
    assert_eq!(row["longest_wait_ms"], 23_000);
    assert_eq!(row["answered"], 0, "q1 is answered but not finished yet");
    assert_eq!(row["agents"]["CallInbound"], 1, "a1 talks on q1");
    assert_eq!(row["agents"]["WaitForNextCall"], 2);
}

#[test]
fn calls_waiting_when_the_input_ends_stay_in_the_statistics() {
    // A file cut off mid-traffic: finishing flushes the open call threads, and
    // the statistics written afterwards still show the two calls waiting.
    let text = genesys(&traffic());
    let row = stats_after(&text, Format::Genesys, 28.0, true);
    assert_eq!(row["waiting"], 2);
    assert_eq!(row["longest_wait_ms"], 23_000);
}
