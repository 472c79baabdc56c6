//! One test per problem the fuzz targets found (`fuzz/README.md`), named after
//! what went wrong, with the input inline as the records the target rendered.
//! Each asserts the invariant the target checks.

use ctistream_core::state::{CollectOutputs, Reducer, status_index};
use ctistream_core::{AgentStatus, Decoder, Format, Timestamp};

/// `KEY<TAB>PAYLOAD` lines (an empty key is none), as `CTISTREAM_FUZZ_DUMP`
/// prints them, through the single-threaded reducer.
fn reduce(lines: &[&str]) -> (Reducer, CollectOutputs) {
    let decoder = Decoder::new(Format::Auto);
    let mut reducer = Reducer::default();
    let mut out = CollectOutputs::default();
    for line in lines {
        let (key, payload) = line.split_once('\t').expect("KEY<TAB>PAYLOAD");
        let key = (!key.is_empty()).then_some(key.as_bytes());
        let event = decoder.decode(payload.as_bytes(), key).expect("the rendered records decode");
        reducer.apply(&event, Timestamp(1_774_600_000_000_000), &mut out);
    }
    (reducer, out)
}

/// Every agent is counted by the statistics under exactly its one status,
/// and its last reported change is that status.
fn assert_one_status_each(reducer: &Reducer, out: &CollectOutputs) {
    let names = reducer.names();
    let mut by_status = [0u32; 12];
    for agent in reducer.agents().iter() {
        by_status[status_index(agent.status())] += 1;
        let name = names.name(agent.agent());
        let last = out.changes.iter().rev().find(|c| c.agent == name).map(|c| c.status);
        assert_eq!(last, Some(agent.status()), "{name}: last change is not the status");
    }
    let mut counted = [0u32; 12];
    for (_, queue) in reducer.stats().sorted(names) {
        for (sum, n) in counted.iter_mut().zip(queue.agents) {
            *sum += n;
        }
    }
    assert_eq!(counted, by_status, "statistics do not count each agent once");
}

/// reducer_ops crash-3018de15: an IVR `LoggedIn` for an agent never seen
/// created its state without reporting it, so the agent was in the snapshots
/// but in no change and in no statistics count.
#[test]
fn ivr_logged_in_for_an_unknown_agent_is_announced_and_counted() {
    let (reducer, out) = reduce(&[
        "t1:a1\t<MonitorInfo><Agent PortNum=\"1\" Status=\"LoggedIn\"/></MonitorInfo>",
        "\t{\"id\":\"EventLinkConnected\",\"time\":1774607201300000}",
    ]);
    assert_eq!(out.changes.len(), 1);
    assert_eq!((out.changes[0].status, out.changes[0].previous), (AgentStatus::LoggedOut, None));
    assert_one_status_each(&reducer, &out);
    // LoggedIn stays transient: the next Ready is the first real status.
    let (reducer, out) = reduce(&[
        "t1:a1\t<MonitorInfo><Agent PortNum=\"1\" Status=\"LoggedIn\"/></MonitorInfo>",
        "t1:a1\t<MonitorInfo><Agent PortNum=\"1\" Status=\"Ready\"/></MonitorInfo>",
    ]);
    let statuses: Vec<_> = out.changes.iter().map(|c| (c.previous, c.status)).collect();
    assert_eq!(
        statuses,
        [
            (None, AgentStatus::LoggedOut),
            (Some(AgentStatus::LoggedOut), AgentStatus::WaitForNextCall)
        ]
    );
    assert_one_status_each(&reducer, &out);
}
