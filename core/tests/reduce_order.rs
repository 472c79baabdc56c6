//! Only per-DN order is guaranteed on the wire. Interleaving the per-DN event
//! sequences of a scenario differently must not change any output, and
//! replayed duplicates (same Server and EventSequenceNumber) count once.

mod scenario;

use ctistream_core::Format;
use ctistream_core::state::{CallConfig, ReducerConfig};
use scenario::models::*;
use scenario::{Ev, Reduced, Rng, genesys, jitter, reduce, reduce_with, tlog};

fn scenarios() -> Vec<(&'static str, Vec<Ev>)> {
    vec![
        ("basic", with_staff(basic())),
        ("routed", with_staff(routed())),
        ("queued", with_staff(queued())),
        ("abandoned_in_queue", with_staff(abandoned_in_queue())),
        ("abandoned_ringing", with_staff(abandoned_ringing())),
        ("abandoned_at_routing_point", with_staff(abandoned_at_routing_point())),
        ("two_step_transfer", with_staff(two_step_transfer())),
        ("single_step_transfer", with_staff(single_step_transfer())),
        ("conference", with_staff(conference())),
        ("outbound", with_staff(outbound())),
        ("agent_session", with_staff(agent_session())),
    ]
}

fn dn(event: &Ev) -> &str {
    event.get("ThisDN").unwrap_or("")
}

/// A random merge of the per-DN sequences: any interleaving at all, each DN's
/// own order kept.
fn interleave(events: &[Ev], rng: &mut Rng) -> Vec<Ev> {
    let mut queues: Vec<(String, std::collections::VecDeque<Ev>)> = Vec::new();
    for event in events {
        match queues.iter_mut().find(|(name, _)| name == dn(event)) {
            Some((_, queue)) => queue.push_back(event.clone()),
            None => queues.push((dn(event).to_owned(), [event.clone()].into())),
        }
    }
    let mut out = Vec::with_capacity(events.len());
    while !queues.is_empty() {
        let pick = rng.below(queues.len());
        out.push(queues[pick].1.pop_front().unwrap());
        if queues[pick].1.is_empty() {
            queues.remove(pick);
        }
    }
    out
}

/// Linger long enough that any interleaving of a scenario is absorbed.
fn patient() -> ReducerConfig {
    ReducerConfig {
        calls: CallConfig { linger_ms: 3_600_000, ..CallConfig::default() },
        ..ReducerConfig::default()
    }
}

fn assert_same(name: &str, seed: u64, expected: &Reduced, got: &Reduced) {
    assert!(got.rejects.is_empty(), "{name} seed {seed}: {:?}", got.rejects);
    assert_eq!(expected.calls, got.calls, "{name} seed {seed}: call records differ");
    assert_eq!(expected.agents, got.agents, "{name} seed {seed}: agent snapshots differ");
    assert_eq!(expected.changes, got.changes, "{name} seed {seed}: status changes differ");
}

#[test]
fn any_interleaving_of_dns_gives_the_same_outputs() {
    for (name, events) in scenarios() {
        let expected = reduce_with(&genesys(&events), Format::Genesys, patient());
        assert_eq!(expected, reduce(&genesys(&events), Format::Genesys), "{name}: linger matters");
        for seed in 1..=40u64 {
            let shuffled = interleave(&events, &mut Rng(seed * 7919));
            let format = if seed % 2 == 0 { Format::Genesys } else { Format::Tlog };
            let text = if format == Format::Genesys { genesys(&shuffled) } else { tlog(&shuffled) };
            assert_same(name, seed, &expected, &reduce_with(&text, format, patient()));
        }
    }
}

#[test]
fn live_reordering_within_the_linger_gives_the_same_outputs() {
    for (name, events) in scenarios() {
        let expected = reduce(&genesys(&events), Format::Genesys);
        for seed in 1..=40u64 {
            let shuffled = jitter(&events, 1_500, &mut Rng(seed * 104_729));
            assert_same(name, seed, &expected, &reduce(&genesys(&shuffled), Format::Genesys));
        }
    }
}

#[test]
fn replayed_events_count_once() {
    let events = with_staff(two_step_transfer());
    let log = tlog(&events);
    let expected = reduce(&log, Format::Tlog);
    // Every record delivered twice, the copies late: a consumer replaying a topic.
    let records: Vec<&str> = log.split("\n@").collect();
    let mut doubled = log.clone();
    for record in records.iter().skip(1).step_by(2) {
        doubled.push_str("\n@");
        doubled.push_str(record);
    }
    doubled.push('\n');
    let replayed = reduce(&doubled, Format::Tlog);
    assert!(replayed.rejects.is_empty(), "{:?}", replayed.rejects);
    assert_eq!(expected, replayed);
}
