//! The interaction reducer (DESIGN.md "Reducers": Interaction) over decoded
//! `ors` records, through the public API only.

use std::collections::HashMap;

use ctistream_core::{
    Decoder, Format, InteractionConfig, InteractionRecord, InteractionReducer, OrsEvent,
    OrsNamespace, Timestamp,
};
use proptest::prelude::*;

mod common;

/// A reducer fed record by record, with the records it finished.
struct Harness {
    reducer: InteractionReducer,
    finished: Vec<InteractionRecord>,
}

impl Harness {
    fn new(config: InteractionConfig) -> Harness {
        Harness { reducer: InteractionReducer::new(config), finished: Vec::new() }
    }

    /// Decodes `line` (`KEY<TAB>PAYLOAD` or a bare payload), applies it at its
    /// event time and drains; returns the records this line finished.
    fn feed(&mut self, line: &str) -> Vec<InteractionRecord> {
        let (key, payload) = match line.split_once('\t') {
            Some((key, payload)) => (Some(key.as_bytes()), payload),
            None => (None, line),
        };
        let event = Decoder::new(Format::Ors)
            .decode(payload.as_bytes(), key)
            .unwrap_or_else(|error| panic!("{line}: {error}"));
        let at = event.time().expect("every test record has a time");
        self.reducer.apply(&event, at);
        let mut out = Vec::new();
        self.reducer.drain_finished(&mut out);
        self.finished.extend(out.iter().cloned());
        out
    }

    fn feed_all(&mut self, lines: &[String]) {
        for line in lines {
            self.feed(line);
        }
    }

    fn flush(&mut self) -> Vec<InteractionRecord> {
        let mut out = Vec::new();
        self.reducer.flush(&mut out);
        out
    }
}

/// An ORS record of tenant `t1` at `2026-11-20T<time>Z`.
fn ors(name: &str, time: &str, data: &str) -> String {
    format!(r#"{{"name":"{name}","time":"2026-11-20T{time}Z","tenant":"t1","data":{{{data}}}}}"#)
}

/// An ORS record at an epoch-millisecond time.
fn ors_ms(name: &str, millis: i64, data: &str) -> String {
    format!(r#"{{"name":"{name}","time":{millis},"tenant":"t1","data":{{{data}}}}}"#)
}

fn ts(time: &str) -> Timestamp {
    Timestamp::parse_rfc3339(format!("2026-11-20T{time}Z").as_bytes()).expect("time")
}

fn json(record: &InteractionRecord) -> String {
    let mut out = Vec::new();
    record.write_json(&mut out);
    String::from_utf8(out).expect("UTF-8")
}

fn summary_json(reducer: &InteractionReducer) -> String {
    let mut out = Vec::new();
    reducer.summary().write_json(&mut out);
    String::from_utf8(out).expect("UTF-8")
}

#[test]
fn full_lifecycle_gives_one_record_with_every_field() {
    let mut h = Harness::new(InteractionConfig::default());
    let lines = [
        format!(
            "t1:ixn-7\t{}",
            ors("interaction.added", "10:00:00.000", r#""interactionid":"ixn-7""#)
        ),
        ors("interaction.partyadded", "10:00:00.010", r#""interactionid":"ixn-7","partyid":"p-1""#),
        ors("interaction.partyadded", "10:00:00.020", r#""interactionid":"ixn-7","partyid":"p-2""#),
        ors("interaction.present", "10:00:00.500", r#""interactionid":"ixn-7""#),
        ors("voice.redirect", "10:00:01.000", r#""requestid":"r-1","interactionid":"ixn-7""#),
        ors("voice.redirect.done", "10:00:01.250", r#""requestid":"r-1","interactionid":"ixn-7""#),
        ors(
            "error.interaction.attach",
            "10:00:02.000",
            r#""requestid":"r-2","interactionid":"ixn-7","error":"invalid_parameter""#,
        ),
        ors(
            "interaction.notcontrolled",
            "10:00:03.000",
            r#""interactionid":"ixn-7","resultof":"redirect""#,
        ),
        ors(
            "interaction.onmerge",
            "10:00:04.000",
            r#""interactionid":"ixn-7","tointeractionid":"ixn-8""#,
        ),
    ];
    for line in &lines {
        assert!(h.feed(line).is_empty(), "nothing finishes before deleted: {line}");
    }
    let deleted = format!(
        "t1:ixn-7\t{}",
        ors("interaction.deleted", "10:00:05.500", r#""interactionid":"ixn-7""#)
    );
    let records = h.feed(&deleted);
    let expected = InteractionRecord {
        tenant: "t1".into(),
        interaction: "ixn-7".into(),
        added: Some(ts("10:00:00.000")),
        deleted: Some(ts("10:00:05.500")),
        presented: true,
        not_controlled: Some("redirect".into()),
        parties: 2,
        results: 2,
        errors: 1,
        merged_into: Some("ixn-8".into()),
        events: 10,
    };
    assert_eq!(records, [expected]);
    assert_eq!(
        json(&records[0]),
        "{\"tenant\":\"t1\",\"interaction\":\"ixn-7\",\"added\":\"2026-11-20T10:00:00.000Z\",\
         \"deleted\":\"2026-11-20T10:00:05.500Z\",\"presented\":true,\"not_controlled\":\"redirect\",\
         \"parties\":2,\"results\":2,\"errors\":1,\"merged_into\":\"ixn-8\",\"events\":10}\n"
    );
    // The merge target is open; the deleted one is not flushed again.
    let open = h.flush();
    assert_eq!(open.len(), 1);
    assert_eq!(
        json(&open[0]),
        "{\"tenant\":\"t1\",\"interaction\":\"ixn-8\",\"added\":null,\"deleted\":null,\
         \"presented\":false,\"not_controlled\":null,\"parties\":0,\"results\":0,\"errors\":0,\
         \"merged_into\":null,\"events\":1}\n"
    );
    let summary = h.reducer.summary();
    assert_eq!(
        (summary.events, summary.interactions_started, summary.interactions_finished),
        (10, 2, 1)
    );
    assert_eq!(summary.lifecycle_count(OrsEvent::PartyAdded), 2);
    assert_eq!(summary.lifecycle_count(OrsEvent::Done(OrsNamespace::Voice)), 0);
    assert_eq!((summary.open_interactions, summary.open_requests), (0, 0));
}

#[test]
fn request_to_result_latency_comes_from_event_times() {
    let base = 1_795_166_100_000;
    let mut h = Harness::new(InteractionConfig::default());
    h.feed_all(&[
        ors_ms("interaction.added", base, r#""interactionid":"ixn-1""#),
        ors_ms("voice.redirect", base + 1000, r#""requestid":"r-1","interactionid":"ixn-1""#),
        ors_ms("voice.redirect", base + 1500, r#""requestid":"r-2","interactionid":"ixn-1""#),
        ors_ms(
            "msgbased.placeinqueue",
            base + 1600,
            r#""requestid":"r-3","interactionid":"ixn-1""#,
        ),
        // No interactionid: the result counts for the interaction of its request.
        ors_ms("voice.redirect.done", base + 2234, r#""requestid":"r-1""#),
        // A result stamped before its request (clock skew) has latency 0.
        ors_ms("voice.redirect.done", base + 1400, r#""requestid":"r-2""#),
        ors_ms("msgbased.placeinqueue.done", base + 1640, r#""requestid":"r-3""#),
    ]);
    let summary = h.reducer.summary();
    let redirect = summary.action(OrsNamespace::Voice, "redirect").expect("redirect");
    assert_eq!((redirect.requests, redirect.done, redirect.unmatched), (2, 2, 0));
    assert_eq!(redirect.latency.count(), 2);
    assert_eq!((redirect.latency.min_ms(), redirect.latency.max_ms()), (Some(0), Some(1234)));
    assert_eq!((redirect.latency.p50(), redirect.latency.p99()), (Some(0), Some(1234)));
    assert_eq!(redirect.latency.sum_ms(), 1234);
    let queue = summary.action(OrsNamespace::MsgBased, "placeinqueue").expect("placeinqueue");
    assert_eq!((queue.latency.count(), queue.latency.p50()), (1, Some(40)));
    assert_eq!((summary.matched, summary.unmatched_results, summary.open_requests), (3, 0, 0));
    assert_eq!((summary.latency.count(), summary.latency.max_ms()), (3, Some(1234)));
    assert_eq!(summary.unattributed, 0);
    let open = h.flush();
    assert_eq!((open[0].interaction.as_str(), open[0].results, open[0].events), ("ixn-1", 3, 7));
}

#[test]
fn failures_are_counted_per_action_and_error_kind() {
    let mut h = Harness::new(InteractionConfig::default());
    let fail = |error: &str| {
        let data = format!(r#""requestid":"r","interactionid":"ixn-1"{error}"#);
        ors("error.voice.singlesteptransfer", "10:00:00.000", &data)
    };
    h.feed_all(&[
        fail(r#","error":"invalid_parameter""#),
        fail(r#","error":1141,"description":"Invalid destination DN""#),
        fail(r#","error":"invalid_parameter""#),
        fail(""),
        fail(r#","error":null"#),
        fail(r#","error":"in\u0076alid_parameter""#),
        ors("error.chat.join", "10:00:01.000", r#""requestid":"q","error":"NOT_FOUND""#),
    ]);
    let summary = h.reducer.summary();
    let transfer = summary.action(OrsNamespace::Voice, "singlesteptransfer").expect("transfer");
    assert_eq!(
        transfer.errors,
        [("invalid_parameter".to_owned(), 3), ("1141".to_owned(), 1), ("(none)".to_owned(), 2)]
    );
    assert_eq!((transfer.failed, transfer.done, transfer.errors_of("1141")), (6, 0, 1));
    let join = summary.action(OrsNamespace::Chat, "join").expect("join");
    assert_eq!((join.failed, join.errors_of("NOT_FOUND"), join.errors_of("other")), (1, 1, 0));
    assert_eq!((summary.failed, summary.done, summary.unattributed), (7, 0, 1));
    let open = h.flush();
    assert_eq!((open[0].results, open[0].errors), (6, 6));
}

#[test]
fn results_without_their_request_are_unmatched() {
    let mut h = Harness::new(InteractionConfig::default());
    h.feed_all(&[
        ors("chat.transcript.send.done", "10:00:00.000", r#""requestid":"r-11","interactionid":"ch-5""#),
        ors("voice.answer", "10:00:01.000", r#""requestid":"r-1","interactionid":"ixn-1""#),
        ors("voice.answer", "10:00:01.100", r#""requestid":"r-1","interactionid":"ixn-1""#),
        ors("voice.answer.done", "10:00:01.200", r#""requestid":"r-1","interactionid":"ixn-1""#),
        // A repeated result finds no request any more.
        ors("voice.answer.done", "10:00:01.300", r#""requestid":"r-1","interactionid":"ixn-1""#),
        // Same request id, other tenant: not the same request.
        r#"t2:ixn-1	{"name":"voice.answer.done","time":"2026-11-20T10:00:01.400Z","data":{"requestid":"r-1"}}"#
            .to_owned(),
        // A request without requestid cannot be matched.
        ors("voice.answer", "10:00:02.000", r#""interactionid":"ixn-1""#),
    ]);
    let summary = h.reducer.summary();
    assert_eq!(
        (summary.requests, summary.duplicate_requests, summary.uncorrelated_requests),
        (3, 1, 1)
    );
    assert_eq!((summary.matched, summary.unmatched_results, summary.done), (1, 3, 4));
    let send = summary.action(OrsNamespace::Chat, "transcript.send").expect("send");
    assert_eq!((send.done, send.unmatched, send.latency.count()), (1, 1, 0));
    let answer = summary.action(OrsNamespace::Voice, "answer").expect("answer");
    assert_eq!((answer.requests, answer.done, answer.unmatched), (3, 3, 2));
    assert_eq!((answer.latency.count(), answer.latency.p50()), (1, Some(200)));
    let open = h.flush();
    let tenants: Vec<(&str, &str)> =
        open.iter().map(|r| (r.tenant.as_str(), r.interaction.as_str())).collect();
    // Least recently active first: the request without requestid touched t1's ixn-1 last.
    assert_eq!(tenants, [("t1", "ch-5"), ("t2", "ixn-1"), ("t1", "ixn-1")]);
}

#[test]
fn requests_time_out_as_event_time_advances() {
    let base = 1_795_166_100_000;
    let config = InteractionConfig { request_timeout_ms: 1000, ..InteractionConfig::default() };
    let mut h = Harness::new(config);
    let tick =
        |ms: i64| ors_ms("interaction.partystatechanged", base + ms, r#""interactionid":"x""#);
    h.feed(&ors_ms("voice.redirect", base, r#""requestid":"r-1""#));
    h.feed(&tick(1000));
    assert_eq!(h.reducer.summary().timed_out, 0, "a result exactly at the timeout is in time");
    h.feed(&tick(500));
    h.feed(&tick(1001));
    assert_eq!(h.reducer.summary().timed_out, 1);
    assert_eq!(h.reducer.summary().open_requests, 0);
    // Its late result is unmatched.
    h.feed(&ors_ms("voice.redirect.done", base + 1100, r#""requestid":"r-1""#));
    assert_eq!(h.reducer.summary().unmatched_results, 1);
    // Deadlines come due in time order, not arrival order.
    h.feed(&ors_ms("voice.hold", base + 1500, r#""requestid":"r-2""#));
    h.feed(&ors_ms("voice.hold", base + 1200, r#""requestid":"r-3""#));
    h.feed(&tick(2300));
    assert_eq!(h.reducer.summary().timed_out, 2, "r-3 (due at 2200) but not r-2 (due at 2500)");
    h.feed(&tick(2500));
    assert_eq!(h.reducer.summary().timed_out, 2);
    h.feed(&tick(2501));
    assert_eq!(h.reducer.summary().timed_out, 3);
    // A request stamped long ago times out at the next move of the clock, not before.
    h.feed(&ors_ms("voice.hold", base + 100, r#""requestid":"r-4""#));
    h.feed(&tick(2000));
    assert_eq!((h.reducer.summary().timed_out, h.reducer.summary().open_requests), (3, 1));
    h.feed(&tick(2502));
    let summary = h.reducer.summary();
    assert_eq!((summary.timed_out, summary.open_requests), (4, 0));
    let redirect = summary.action(OrsNamespace::Voice, "redirect").expect("redirect");
    let hold = summary.action(OrsNamespace::Voice, "hold").expect("hold");
    assert_eq!((redirect.timed_out, redirect.unmatched, hold.timed_out), (1, 1, 3));
    // Timeouts off: requests wait until the end and are counted there.
    let mut h = Harness::new(InteractionConfig { request_timeout_ms: 0, ..config });
    h.feed(&ors_ms("voice.redirect", base, r#""requestid":"r-1""#));
    h.feed(&tick(10_000_000));
    assert_eq!((h.reducer.summary().timed_out, h.reducer.summary().open_requests), (0, 1));
    h.flush();
    assert_eq!((h.reducer.summary().unanswered_at_end, h.reducer.summary().open_requests), (1, 0));
}

#[test]
fn onmerge_marks_the_merged_interaction() {
    let mut h = Harness::new(InteractionConfig::default());
    h.feed_all(&[
        ors("interaction.added", "10:00:00.000", r#""interactionid":"ixn-1""#),
        ors("interaction.added", "10:00:00.100", r#""interactionid":"ixn-2""#),
        // Keyed by the target, as the call key of onmerge is.
        format!(
            "t1:ixn-2\t{}",
            ors(
                "interaction.onmerge",
                "10:00:01.000",
                r#""interactionid":"ixn-1","tointeractionid":"ixn-2""#
            )
        ),
        // Keyed by the source: the target is named by tointeractionid.
        format!(
            "t1:ixn-3\t{}",
            ors(
                "interaction.onmerge",
                "10:00:02.000",
                r#""interactionid":"ixn-3","tointeractionid":"ixn-4""#
            )
        ),
        // Unkeyed, merging into itself: no merge to record.
        ors(
            "interaction.onmerge",
            "10:00:03.000",
            r#""interactionid":"ixn-5","tointeractionid":"ixn-5""#,
        ),
    ]);
    let open = h.flush();
    let merged: Vec<(&str, Option<&str>, u32)> =
        open.iter().map(|r| (r.interaction.as_str(), r.merged_into.as_deref(), r.events)).collect();
    assert_eq!(
        merged,
        [
            ("ixn-2", None, 2),
            ("ixn-1", Some("ixn-2"), 2),
            ("ixn-3", Some("ixn-4"), 1),
            ("ixn-5", None, 1)
        ]
    );
    assert_eq!(h.reducer.summary().lifecycle_count(OrsEvent::OnMerge), 3);
}

#[test]
fn events_after_delete_do_not_emit_again() {
    let config = InteractionConfig { request_timeout_ms: 1000, ..InteractionConfig::default() };
    let mut h = Harness::new(config);
    let deleted = |time: &str| ors("interaction.deleted", time, r#""interactionid":"ixn-1""#);
    h.feed(&ors("interaction.added", "10:00:00.000", r#""interactionid":"ixn-1""#));
    h.feed(&ors("voice.release", "10:00:00.500", r#""requestid":"r-1","interactionid":"ixn-1""#));
    assert_eq!(h.feed(&deleted("10:00:00.900")).len(), 1);
    assert!(h.feed(&deleted("10:00:00.901")).is_empty(), "a repeated deleted");
    assert!(h.feed(&deleted("10:00:00.900")).is_empty(), "the same deleted again");
    // The result of its last request still counts for the action, not the record.
    h.feed(&ors(
        "voice.release.done",
        "10:00:01.000",
        r#""requestid":"r-1","interactionid":"ixn-1""#,
    ));
    h.feed(&ors("interaction.partydeleted", "10:00:01.100", r#""interactionid":"ixn-1""#));
    let summary = h.reducer.summary();
    assert_eq!((summary.after_delete, summary.open_interactions, summary.matched), (4, 0, 1));
    assert_eq!(summary.interactions_started, 1);
    // A new `added` starts a new life under the same id at once.
    h.feed(&ors("interaction.added", "10:00:01.200", r#""interactionid":"ixn-1""#));
    assert_eq!(h.feed(&deleted("10:00:01.300"))[0].added, Some(ts("10:00:01.200")));
    // Once the tombstone is older than the timeout, any event starts a new life.
    h.feed(&ors("interaction.present", "10:00:02.301", r#""interactionid":"ixn-1""#));
    let records = h.feed(&deleted("10:00:02.400"));
    assert_eq!((records[0].added, records[0].presented, records[0].events), (None, true, 2));
    assert_eq!(h.finished.len(), 3);
    assert_eq!(h.reducer.summary().interactions_started, 3);
    assert!(h.flush().is_empty());
}

#[test]
fn oldest_entries_are_evicted_past_max_open() {
    let config = InteractionConfig { max_open: 3, ..InteractionConfig::default() };
    let mut h = Harness::new(config);
    let added =
        |id: &str| ors("interaction.added", "10:00:00.000", &format!(r#""interactionid":"{id}""#));
    h.feed_all(&[added("ixn-1"), added("ixn-2"), added("ixn-3")]);
    h.feed(&ors("interaction.partyadded", "10:00:00.000", r#""interactionid":"ixn-1""#));
    h.feed(&added("ixn-4"));
    assert_eq!(h.reducer.summary().evicted_interactions, 1, "ixn-2 was the least recently active");
    h.feed(&ors("voice.redirect", "10:00:00.000", r#""requestid":"r-1","interactionid":"ixn-3""#));
    assert_eq!(h.reducer.summary().evicted_interactions, 2, "ixn-1 made room for the request");
    h.feed(&ors("interaction.present", "10:00:00.000", r#""interactionid":"ixn-2""#));
    let summary = h.reducer.summary();
    assert_eq!((summary.evicted_interactions, summary.evicted_requests), (3, 0));
    assert_eq!((summary.open_interactions, summary.open_requests), (2, 1));
    let open = h.flush();
    let ids: Vec<(&str, Option<Timestamp>)> =
        open.iter().map(|r| (r.interaction.as_str(), r.added)).collect();
    assert_eq!(ids, [("ixn-3", Some(ts("10:00:00.000"))), ("ixn-2", None)]);
    assert_eq!(h.reducer.summary().unanswered_at_end, 1);

    // Requests are evicted oldest first too; their results are then unmatched.
    let mut h = Harness::new(InteractionConfig { max_open: 2, ..config });
    for id in ["r-1", "r-2", "r-3"] {
        h.feed(&ors("voice.redirect", "10:00:00.000", &format!(r#""requestid":"{id}""#)));
    }
    h.feed(&ors("voice.redirect.done", "10:00:00.000", r#""requestid":"r-1""#));
    h.feed(&ors("voice.redirect.done", "10:00:00.000", r#""requestid":"r-3""#));
    let summary = h.reducer.summary();
    assert_eq!((summary.evicted_requests, summary.unmatched_results, summary.matched), (1, 1, 1));
    assert_eq!((summary.open_requests, summary.unattributed), (1, 5));
}

#[test]
fn sample_interactions_reduce_to_records_and_summary() {
    let decoder = Decoder::new(Format::Ors);
    let mut reducer = InteractionReducer::default();
    let mut finished = Vec::new();
    for frame in common::frames("ors_sample.ndjson") {
        let event = decoder.decode(&frame.payload, frame.key.as_deref()).expect("sample decodes");
        reducer.apply(&event, event.time().expect("sample times"));
        reducer.drain_finished(&mut finished);
    }
    let mut lines = String::new();
    for record in &finished {
        lines.push_str(&json(record));
    }
    assert_eq!(
        lines,
        "{\"tenant\":\"t1\",\"interaction\":\"ixn-1\",\"added\":\"2026-11-20T09:15:00.100Z\",\
         \"deleted\":\"2026-11-20T09:16:00.000Z\",\"presented\":false,\"not_controlled\":\"redirect\",\
         \"parties\":1,\"results\":2,\"errors\":1,\"merged_into\":\"ixn-2\",\"events\":13}\n"
    );
    let mut open = Vec::new();
    reducer.flush(&mut open);
    let open: Vec<(&str, bool, u32, u32, u32)> = open
        .iter()
        .map(|r| (r.interaction.as_str(), r.presented, r.results, r.errors, r.events))
        .collect();
    assert_eq!(
        open,
        [("ixn-2", false, 0, 0, 1), ("em-77", true, 1, 0, 3), ("ch-5", false, 2, 1, 3)]
    );
    assert_eq!(
        summary_json(&reducer),
        concat!(
            r#"{"events":19,"ignored":0,"#,
            r#""interactions":{"started":4,"finished":1,"open":0,"evicted":0,"after_delete":0,"unattributed":0},"#,
            r#""lifecycle":{"interaction.added":1,"interaction.deleted":1,"interaction.present":1,"#,
            r#""interaction.notcontrolled":1,"interaction.partyadded":1,"interaction.partydeleted":1,"#,
            r#""interaction.partystatechanged":2,"interaction.udata.changed":1,"interaction.ondivert":0,"#,
            r#""interaction.onrouterequest":1,"interaction.onsinglesteptransfer":0,"#,
            r#""interaction.onsinglestepconference":0,"interaction.onmerge":1,"interaction.property.changed":1},"#,
            r#""requests":{"seen":2,"uncorrelated":0,"duplicate":0,"open":0,"matched":2,"timed_out":0,"#,
            r#""evicted":0,"unanswered_at_end":0},"#,
            r#""results":{"done":3,"failed":2,"unmatched":3},"#,
            r#""latency_ms":{"count":2,"sum":2040,"min":40,"max":2000,"p50":40,"p99":2000},"#,
            r#""actions":["#,
            r#"{"namespace":"interaction","action":"redirect","requests":1,"done":1,"failed":0,"errors":{},"#,
            r#""unmatched":0,"timed_out":0,"latency_ms":{"count":1,"sum":2000,"min":2000,"max":2000,"p50":2000,"p99":2000}},"#,
            r#"{"namespace":"voice","action":"singlesteptransfer","requests":0,"done":0,"failed":1,"errors":{"1141":1},"#,
            r#""unmatched":1,"timed_out":0,"latency_ms":{"count":0,"sum":0,"min":null,"max":null,"p50":null,"p99":null}},"#,
            r#"{"namespace":"msgbased","action":"placeinqueue","requests":1,"done":1,"failed":0,"errors":{},"#,
            r#""unmatched":0,"timed_out":0,"latency_ms":{"count":1,"sum":40,"min":40,"max":40,"p50":40,"p99":40}},"#,
            r#"{"namespace":"chat","action":"join","requests":0,"done":0,"failed":1,"errors":{"NOT_FOUND":1},"#,
            r#""unmatched":1,"timed_out":0,"latency_ms":{"count":0,"sum":0,"min":null,"max":null,"p50":null,"p99":null}},"#,
            r#"{"namespace":"chat","action":"transcript.send","requests":0,"done":1,"failed":0,"errors":{},"#,
            r#""unmatched":1,"timed_out":0,"latency_ms":{"count":0,"sum":0,"min":null,"max":null,"p50":null,"p99":null}}"#,
            "]}\n",
        )
    );
}

#[test]
fn summary_prints_as_a_table() {
    let mut h = Harness::new(InteractionConfig::default());
    h.feed_all(&[
        ors("interaction.added", "10:00:00.000", r#""interactionid":"ixn-1""#),
        ors("voice.redirect", "10:00:01.000", r#""requestid":"r-1","interactionid":"ixn-1""#),
        ors("voice.redirect.done", "10:00:03.000", r#""requestid":"r-1""#),
        ors("error.chat.join", "10:00:04.000", r#""requestid":"r-2","error":"NOT_FOUND""#),
    ]);
    let table = h.reducer.summary().to_string();
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(
        lines[..5],
        [
            "interactions: 1 started, 0 finished, 1 open, 0 evicted, 0 events after delete, 1 unattributed",
            "lifecycle: interaction.added 1",
            "requests: 1 seen, 1 matched, 0 timed out, 0 open, 0 duplicate, 0 uncorrelated, 0 evicted, 0 unanswered at end",
            "results: 1 done, 1 failed, 1 unmatched",
            "latency ms: n=1 p50=2000 p99=2000 min=2000 max=2000 mean=2000.0",
        ]
    );
    assert_eq!(lines[5], "");
    let header: Vec<&str> = lines[6].split_whitespace().collect();
    assert_eq!(
        header,
        [
            "action",
            "requests",
            "done",
            "failed",
            "unmatched",
            "timed_out",
            "lat_n",
            "p50_ms",
            "p99_ms",
            "max_ms"
        ]
    );
    let row = |line: &str| line.split_whitespace().map(str::to_owned).collect::<Vec<_>>();
    assert_eq!(
        row(lines[7]),
        ["voice.redirect", "1", "1", "0", "0", "0", "1", "2000", "2000", "2000"]
    );
    assert_eq!(row(lines[8]), ["chat.join", "0", "0", "1", "1", "0", "0", "-", "-", "-"]);
    assert_eq!(lines[9], "  errors: NOT_FOUND ×1");
    assert_eq!(lines.len(), 10);
    assert_eq!(lines[6].len(), lines[7].len(), "columns line up");
    let empty = InteractionReducer::default().summary().to_string();
    assert!(empty.contains("lifecycle: none\n") && empty.ends_with("latency ms: n=0\n"), "{empty}");
}

#[test]
fn reducer_moves_to_a_shard_thread() {
    fn send<T: Send + 'static>() {}
    send::<InteractionReducer>();
    send::<InteractionRecord>();
}

#[test]
fn other_dialects_are_ignored() {
    let mut reducer = InteractionReducer::default();
    let record = br#"{"id":"EventRinging","CallThreadID":"ct-1","ThisDN":"5001"}"#;
    let event = Decoder::new(Format::Genesys).decode(record, Some(b"t1:ct-1")).expect("genesys");
    reducer.apply(&event, Timestamp(0));
    let summary = reducer.summary();
    assert_eq!((summary.ignored, summary.events, summary.interactions_started), (1, 0, 0));
}

/// The names a random event is drawn from: every lifecycle event, and a
/// request, result and error of two actions in every namespace.
fn catalog() -> Vec<String> {
    let mut names: Vec<String> =
        OrsEvent::INTERACTION_EVENTS.iter().map(|(_, name)| (*name).to_owned()).collect();
    for namespace in OrsNamespace::ALL {
        for action in ["redirect", "udata.update"] {
            let ns = namespace.name();
            names.push(format!("{ns}.{action}"));
            names.push(format!("{ns}.{action}.done"));
            names.push(format!("error.{ns}.{action}"));
        }
    }
    names
}

/// One random record: name, key, tenant, interaction, target, request, time,
/// error kind.
type Step = (usize, Option<u8>, u8, u8, u8, Option<u8>, i64, Option<u8>);

fn step() -> impl Strategy<Value = Step> {
    (
        0usize..1000,
        prop::option::of(0u8..4),
        0u8..2,
        0u8..4,
        0u8..4,
        prop::option::weighted(0.8, 0u8..4),
        0i64..5000,
        prop::option::of(0u8..3),
    )
}

/// The record of a step, with its key (if any).
fn step_record(names: &[String], step: &Step) -> (Option<String>, String) {
    let (name, key, tenant, id, to, request, time, error) = *step;
    let name = &names[name % names.len()];
    let mut data = format!(r#""interactionid":"i{id}","tointeractionid":"i{to}""#);
    if let Some(request) = request {
        data.push_str(&format!(r#","requestid":"r{request}""#));
    }
    if let Some(error) = error {
        data.push_str(&format!(r#","error":"e{error}""#));
    }
    let record = format!(
        r#"{{"name":"{name}","time":{},"tenant":"t{tenant}","data":{{{data}}}}}"#,
        1_795_166_100_000 + time
    );
    (key.map(|key| format!("t{tenant}:i{key}")), record)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn random_streams_keep_the_invariants(
        steps in prop::collection::vec(step(), 0..120),
        max_open in 1usize..8,
        timeout in -1i64..3000,
        roomy in any::<bool>(),
    ) {
        // Roomy: no eviction and no forgetting, so every life ends exactly
        // once and a deleted interaction only comes back through `added`.
        let config = if roomy {
            InteractionConfig { request_timeout_ms: 0, max_open: 1_000_000 }
        } else {
            InteractionConfig { request_timeout_ms: timeout, max_open }
        };
        let names = catalog();
        let decoder = Decoder::new(Format::Ors);
        let mut reducer = InteractionReducer::new(config);
        let mut out = Vec::new();
        let mut emitted = 0u64;
        // Per (tenant, id): whether its record was emitted since its last `added`.
        let mut done_since_added: HashMap<(String, String), bool> = HashMap::new();
        let (mut first, mut last) = (i64::MAX, i64::MIN);
        for step in &steps {
            let (key, record) = step_record(&names, step);
            let event = decoder.decode(record.as_bytes(), key.as_deref().map(str::as_bytes)).unwrap();
            let at = event.time().unwrap();
            first = first.min(at.0);
            last = last.max(at.0);
            reducer.apply(&event, at);
            let summary = reducer.summary();
            prop_assert!(summary.open_interactions + summary.open_requests <= config.max_open as u64);
            out.clear();
            reducer.drain_finished(&mut out);
            prop_assert!(out.len() <= 1, "one event ends at most one interaction");
            let name = &names[step.0 % names.len()];
            if name == "interaction.added" {
                let id = key.as_deref().map_or_else(|| format!("i{}", step.3), |key| key[3..].to_owned());
                done_since_added.insert((format!("t{}", step.2), id), false);
            }
            for record in &out {
                prop_assert_eq!(name.as_str(), "interaction.deleted");
                prop_assert_eq!(record.deleted, Some(at));
                prop_assert!(record.events >= 1);
                prop_assert!(record.errors <= record.results);
                let done = done_since_added
                    .entry((record.tenant.clone(), record.interaction.clone()))
                    .or_insert(false);
                if roomy {
                    prop_assert!(!*done, "{:?} emitted twice in one life", record);
                }
                *done = true;
                emitted += 1;
            }
        }
        out.clear();
        reducer.flush(&mut out);
        for record in &out {
            prop_assert_eq!(record.deleted, None);
            if roomy {
                let key = (record.tenant.clone(), record.interaction.clone());
                prop_assert!(!done_since_added.get(&key).copied().unwrap_or(false));
            }
        }
        let summary = reducer.summary();
        // Every life ends once: deleted, open at the end, or evicted.
        prop_assert_eq!(emitted, summary.interactions_finished);
        prop_assert_eq!(
            summary.interactions_started,
            emitted + out.len() as u64 + summary.evicted_interactions
        );
        // Every kept request ends once: matched, timed out, evicted or unanswered.
        prop_assert_eq!(
            summary.requests - summary.uncorrelated_requests - summary.duplicate_requests,
            summary.matched + summary.timed_out + summary.evicted_requests + summary.unanswered_at_end
        );
        prop_assert_eq!(summary.latency.count(), summary.matched);
        if let Some(max) = summary.latency.max_ms() {
            prop_assert!(max as i64 * 1000 <= last - first, "latency within the span of times");
        }
        let per_action: u64 = summary.actions.iter().map(|a| a.done + a.failed).sum();
        prop_assert_eq!(per_action, summary.done + summary.failed);
        let lifecycle: u64 = summary.lifecycle.iter().sum();
        prop_assert_eq!(summary.events, lifecycle + summary.requests + summary.done + summary.failed);
        if roomy {
            prop_assert_eq!(summary.evicted_interactions + summary.evicted_requests + summary.timed_out, 0);
        }
        let mut json = Vec::new();
        summary.write_json(&mut json);
        prop_assert!(ctistream_core::validate_json(&json[..json.len() - 1], 16).is_ok());
        let _ = summary.to_string();
    }
}
