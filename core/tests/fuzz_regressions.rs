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

/// reducer_ops crash-adeb841a: a call leg rang at agent a1; a later event of
/// the same leg (here its release) named agent a3. The release went to a3,
/// and a1 kept the ringing leg — and the CallRinging status — for ever.
#[test]
fn a_leg_named_for_another_agent_is_released_at_the_agent_it_had() {
    let (reducer, out) = reduce(&[
        "\t{\"id\":\"EventRinging\",\"tenant\":\"t1\",\"time\":1774599836200000,\"CallThreadID\":\"ct-3\",\"ConnID\":\"0003000000000000\",\"ThisDN\":\"5004\",\"AgentID\":\"a1\",\"CallType\":\"Outbound\",\"EventSequenceNumber\":89}",
        // A duplicate (same sequence number) naming a3: dropped.
        "\t{\"id\":\"EventRinging\",\"tenant\":\"t1\",\"time\":1774602123500000,\"CallThreadID\":\"ct-3\",\"ConnID\":\"0003000000000000\",\"ThisDN\":\"5004\",\"AgentID\":\"a3\",\"CallType\":\"Outbound\",\"EventSequenceNumber\":89}",
        "\t{\"id\":\"EventReleased\",\"tenant\":\"t1\",\"time\":1774605723500000,\"CallThreadID\":\"ct-3\",\"ConnID\":\"0003000000000000\",\"ThisDN\":\"5004\",\"AgentID\":\"a3\"}",
        "\t{\"id\":\"EventLinkConnected\",\"time\":1774609323500000}",
    ]);
    assert_eq!(reducer.calls().open(), 0);
    for agent in reducer.agents().iter() {
        let name = reducer.names().name(agent.agent());
        assert!(agent.leg_conns().is_empty(), "{name} keeps a leg of an ended call");
        assert_eq!(agent.status(), AgentStatus::WaitForNextCall, "{name}");
    }
    assert_one_status_each(&reducer, &out);
}

/// The same move through a DN changing hands: the leg rang at a1 (bound to
/// DN 5001); a3 logged in on 5001 and the call was answered there without an
/// AgentID. The answer belongs to a3, and a1's ringing leg ends.
#[test]
fn a_leg_on_a_dn_that_changed_hands_moves_to_the_new_agent() {
    let (reducer, out) = reduce(&[
        "t1:a1\t{\"id\":\"EventAgentReady\",\"time\":1000000,\"ThisDN\":\"5001\",\"AgentID\":\"a1\"}",
        "\t{\"id\":\"EventRinging\",\"tenant\":\"t1\",\"time\":2000000,\"ConnID\":\"c1\",\"ThisDN\":\"5001\"}",
        "t1:a3\t{\"id\":\"EventAgentReady\",\"time\":3000000,\"ThisDN\":\"5001\",\"AgentID\":\"a3\"}",
        "\t{\"id\":\"EventEstablished\",\"tenant\":\"t1\",\"time\":4000000,\"ConnID\":\"c1\",\"ThisDN\":\"5001\"}",
    ]);
    let status = |name: &str| {
        let agent = reducer.agents().iter().find(|a| reducer.names().name(a.agent()) == name);
        agent.map(|agent| agent.status())
    };
    assert_eq!(status("a1"), Some(AgentStatus::WaitForNextCall));
    assert_eq!(status("a3"), Some(AgentStatus::CallUnknown));
    assert_one_status_each(&reducer, &out);
}

/// reducer_ops crash-5d7698c3: a release stamped before the ringing it ended
/// (time running backwards on one DN) completed the call at that earlier
/// time, while the ringing had already counted 8.9 s: the record rang for
/// 8.9 s of a call that lasted 0 ms.
#[test]
fn a_release_stamped_before_the_ringing_keeps_ring_time_within_the_call() {
    let (mut reducer, mut out) = reduce(&[
        "\t{\"id\":\"EventRinging\",\"tenant\":\"t1\",\"time\":1774597548900000,\"CallThreadID\":\"ct-5\",\"ConnID\":\"0005000000000002\",\"PreviousConnID\":\"0005000000000002\",\"ThisDN\":\"5004\",\"AgentID\":\"a1\",\"CallType\":\"Outbound\"}",
        "\t{\"id\":\"EventRinging\",\"tenant\":\"t1\",\"time\":1774597557800000,\"CallThreadID\":\"ct-5\",\"ConnID\":\"0005000000000002\",\"ThisDN\":\"5004\",\"AgentID\":\"a0\",\"CallType\":\"Outbound\"}",
        "t1:ct-5\t{\"id\":\"EventReleased\",\"tenant\":\"t1\",\"time\":1774596003100000,\"CallThreadID\":\"ct-5\",\"ConnID\":\"0005000000000002\",\"ThisDN\":\"5004\",\"CallState\":\"Ok\"}",
        "\t{\"id\":\"EventLinkConnected\",\"time\":1774607200000000}",
    ]);
    reducer.finish(&mut out);
    assert_eq!(out.records.len(), 1);
    let record = &out.records[0];
    let span_ms = (record.ended.unwrap().0 - record.started.0) / 1000;
    assert_eq!(record.ring_ms, 8_900, "the ringing seen is kept");
    assert!(
        record.ring_ms + record.talk_ms + record.hold_ms <= span_ms,
        "ring {} ms in a call of {span_ms} ms",
        record.ring_ms
    );
}

/// reducer_ops crash-2c376417: EventPartyChanged moved DN 5001's leg from
/// connection L to C0 while the DN already had a party on C0 (an earlier
/// PartyChanged made it). The call then had two parties with one identity;
/// a release ended one, and the thread stayed open for ever.
#[test]
fn a_leg_renamed_onto_a_connection_the_dn_already_has_merges_and_ends() {
    let (reducer, out) = reduce(&[
        "\t{\"id\":\"EventPartyChanged\",\"tenant\":\"t1\",\"time\":1774608727400000,\"ConnID\":\"0000000000000000\",\"PreviousConnID\":\"0001000000000001\",\"ThisDN\":\"5001\",\"AgentID\":\"a3\"}",
        "\t{\"id\":\"EventDialing\",\"tenant\":\"t1\",\"time\":1774610397800000,\"CallThreadID\":\"ct-1\",\"ConnID\":\"0001000000000001\",\"PreviousConnID\":\"0001000000000001\",\"ThisDN\":\"5001\",\"AgentID\":\"a1\",\"CallType\":\"Outbound\"}",
        "\t{\"id\":\"EventPartyChanged\",\"tenant\":\"t1\",\"time\":1774621832900000,\"ConnID\":\"0000000000000000\",\"PreviousConnID\":\"0001000000000001\",\"ThisDN\":\"5001\",\"AgentID\":\"a3\"}",
        "\t{\"id\":\"EventReleased\",\"tenant\":\"t1\",\"time\":1774628132500000,\"ConnID\":\"0000000000000000\",\"PreviousConnID\":\"0001000000000001\",\"ThisDN\":\"5001\",\"AgentID\":\"a3\"}",
        "\t{\"id\":\"EventReleased\",\"tenant\":\"t1\",\"time\":1774628132500000,\"CallThreadID\":\"ct-1\",\"ConnID\":\"0001000000000001\",\"PreviousConnID\":\"0001000000000001\",\"ThisDN\":\"5001\",\"AgentID\":\"a1\"}",
        "\t{\"id\":\"EventLinkConnected\",\"time\":1774631732500000}",
    ]);
    assert_eq!(reducer.calls().open(), 0, "the call ended");
    assert_eq!(out.records.len(), 1);
    for agent in reducer.agents().iter() {
        let name = reducer.names().name(agent.agent());
        assert!(agent.leg_conns().is_empty(), "{name} keeps a leg");
    }
    assert_one_status_each(&reducer, &out);
}

/// reducer_ops crash-7a0056ce: a leg rang at a3 on connection C0; an
/// EventPartyChanged moved DN 5003's leg to C1 naming a1. The rename went to
/// a1, who had no C0 leg, and a3 kept ringing for ever. Now a3's leg ends and
/// a1 gets the leg in the state it is in.
#[test]
fn a_leg_renamed_for_another_agent_ends_at_the_old_agent() {
    let (reducer, out) = reduce(&[
        "\t{\"id\":\"EventRinging\",\"tenant\":\"t1\",\"time\":1774604271300000,\"CallThreadID\":\"ct-3\",\"ConnID\":\"0003000000000000\",\"PreviousConnID\":\"0003000000000000\",\"ThisDN\":\"5003\",\"AgentID\":\"a3\",\"CallType\":\"Outbound\"}",
        "\t{\"id\":\"EventPartyChanged\",\"tenant\":\"t1\",\"time\":1774603007200000,\"ConnID\":\"0003000000000001\",\"PreviousConnID\":\"0003000000000000\",\"ThisDN\":\"5003\",\"AgentID\":\"a1\",\"CallType\":\"Consult\"}",
    ]);
    let status = |name: &str| {
        let agent = reducer.agents().iter().find(|a| reducer.names().name(a.agent()) == name);
        agent.map(|agent| (agent.status(), agent.leg_conns().len()))
    };
    assert_eq!(status("a3"), Some((AgentStatus::WaitForNextCall, 0)), "the leg left a3");
    assert_eq!(status("a1"), Some((AgentStatus::CallRinging, 1)), "a1 has it, still ringing");
    assert_one_status_each(&reducer, &out);
    let (reducer, _) = reduce(&[
        "\t{\"id\":\"EventRinging\",\"tenant\":\"t1\",\"time\":1774604271300000,\"CallThreadID\":\"ct-3\",\"ConnID\":\"0003000000000000\",\"PreviousConnID\":\"0003000000000000\",\"ThisDN\":\"5003\",\"AgentID\":\"a3\",\"CallType\":\"Outbound\"}",
        "\t{\"id\":\"EventPartyChanged\",\"tenant\":\"t1\",\"time\":1774603007200000,\"ConnID\":\"0003000000000001\",\"PreviousConnID\":\"0003000000000000\",\"ThisDN\":\"5003\",\"AgentID\":\"a1\",\"CallType\":\"Consult\"}",
        "\t{\"id\":\"EventReleased\",\"tenant\":\"t1\",\"time\":1774608101900000,\"ConnID\":\"0003000000000001\",\"PreviousConnID\":\"0003000000000000\",\"ThisDN\":\"5003\",\"AgentID\":\"a1\"}",
        "\t{\"id\":\"EventLinkConnected\",\"time\":1774611701900000}",
    ]);
    assert_eq!(reducer.calls().open(), 0);
    assert!(reducer.agents().iter().all(|agent| agent.leg_conns().is_empty()));
}

/// The call records of `lines` through a pipeline of `shards` shards (batch
/// and ring of 1) and through the reference, each sorted.
fn sharded_and_reference(lines: &[&str], shards: usize) -> (Vec<String>, Vec<String>) {
    use bytes::Bytes;
    use ctistream_core::pipeline::{Origin, Pipeline, PipelineConfig};
    let json = |records: &[ctistream_core::state::CallRecord]| {
        let mut lines: Vec<String> = records
            .iter()
            .map(|record| {
                let mut line = Vec::new();
                record.write_json(&mut line);
                String::from_utf8(line).unwrap()
            })
            .collect();
        lines.sort();
        lines
    };
    let (mut reducer, mut out) = reduce(lines);
    reducer.finish(&mut out);
    let config = PipelineConfig {
        shards,
        format: Format::Auto,
        batch: 1,
        ring: 1,
        ..PipelineConfig::default()
    };
    let mut pipeline = Pipeline::start(config, CollectOutputs::default());
    for (line, record) in lines.iter().enumerate() {
        let (key, payload) = record.split_once('\t').unwrap();
        let key = (!key.is_empty()).then(|| Bytes::copy_from_slice(key.as_bytes()));
        let origin = Origin { source: 0, line: line as u64 + 1 };
        pipeline.push(
            Bytes::copy_from_slice(payload.as_bytes()),
            key,
            origin,
            Timestamp(1_774_600_000_000_000),
        );
    }
    let done = pipeline.finish();
    (json(&done.outputs.records), json(&out.records))
}

/// sharded_equals_reference crash-a45e42bc: a leg naming connection L as its
/// PreviousConnID came first; the call whose own ConnID is L came later (order
/// holds only per DN). The reference joins them (a link is an alias of the
/// thread); the router followed only own identities and sent the second
/// record elsewhere: two records instead of one.
#[test]
fn a_call_first_seen_as_a_link_reaches_the_same_shard_as_the_leg_that_named_it() {
    let lines = [
        "\t{\"id\":\"EventAttachedDataChanged\",\"tenant\":\"t1\",\"time\":1774600000000000,\"ConnID\":\"0000000000000000\",\"PreviousConnID\":\"0005000000000002\",\"ThisDN\":\"5000\",\"AgentID\":\"a3\",\"CallType\":\"Internal\"}",
        "\t{\"id\":\"EventDiverted\",\"tenant\":\"t1\",\"time\":1774600950800000,\"CallThreadID\":\"ct-5\",\"ConnID\":\"0005000000000002\",\"ThisDN\":\"7100\",\"CallType\":\"Inbound\",\"ThisQueue\":\"7100\"}",
    ];
    for shards in [2, 3] {
        let (sharded, reference) = sharded_and_reference(&lines, shards);
        assert_eq!(reference.len(), 1, "{reference:?}");
        assert_eq!(sharded, reference, "{shards} shards");
    }
}

/// reducer_ops crash-3ce8b3ea: DN 5000 had a3 talking on C0 and a1 on L; an
/// EventPartyChanged naming a1 merged L into C0. The merged party became a1's,
/// and a3 kept its C0 leg after the call ended.
#[test]
fn a_rename_merging_into_another_agents_leg_ends_that_agents_leg() {
    let (reducer, out) = reduce(&[
        "\t{\"id\":\"EventEstablished\",\"tenant\":\"t1\",\"time\":1774598307600000,\"CallThreadID\":\"ct-0\",\"ConnID\":\"0000000000000000\",\"PreviousConnID\":\"0005000000000002\",\"ThisDN\":\"5000\",\"AgentID\":\"a3\",\"CallType\":\"Consult\"}",
        "\t{\"id\":\"EventEstablished\",\"tenant\":\"t1\",\"time\":1774600619900000,\"ConnID\":\"0005000000000002\",\"PreviousConnID\":\"0000000000000000\",\"ThisDN\":\"5000\",\"AgentID\":\"a1\",\"CallType\":\"Consult\"}",
        "\t{\"id\":\"EventPartyChanged\",\"tenant\":\"t1\",\"time\":1774603347100000,\"CallThreadID\":\"ct-0\",\"ConnID\":\"0000000000000000\",\"PreviousConnID\":\"0005000000000002\",\"ThisDN\":\"5000\",\"AgentID\":\"a1\"}",
        "\t{\"id\":\"EventReleased\",\"tenant\":\"t1\",\"time\":1774609815200000,\"CallThreadID\":\"ct-0\",\"ConnID\":\"0000000000000000\",\"PreviousConnID\":\"0005000000000002\",\"ThisDN\":\"5000\",\"AgentID\":\"a1\"}",
        "\t{\"id\":\"EventLinkConnected\",\"time\":1774613415200000}",
    ]);
    assert_eq!(reducer.calls().open(), 0);
    for agent in reducer.agents().iter() {
        let name = reducer.names().name(agent.agent());
        assert!(agent.leg_conns().is_empty(), "{name} keeps a leg");
        assert_eq!(agent.status(), AgentStatus::WaitForNextCall, "{name}");
    }
    assert_one_status_each(&reducer, &out);
}

/// sharded_equals_reference crash-e689ba62: ConnID C0 began a call of its own;
/// a later record of call ct-3 also named C0. The reference keeps C0 with its
/// own call (a live thread's alias never moves), the router moved C0 to ct-3's
/// shard, and C0's release reached the wrong shard: its call never ended.
#[test]
fn an_identity_already_routed_keeps_its_shard_when_another_call_names_it() {
    let lines = [
        "\t{\"id\":\"EventQueued\",\"tenant\":\"t1\",\"time\":1774600000000000,\"CallThreadID\":\"ct-3\",\"ConnID\":\"0003000000000001\",\"ThisDN\":\"7000\",\"CallType\":\"Inbound\",\"ThisQueue\":\"7000\"}",
        "\t{\"id\":\"EventAttachedDataChanged\",\"tenant\":\"t1\",\"time\":1774599923800000,\"ConnID\":\"0003000000000000\",\"ThisDN\":\"5004\",\"CallType\":\"Outbound\"}",
        "\t{\"id\":\"EventAttachedDataChanged\",\"tenant\":\"t1\",\"time\":1774599130800000,\"CallThreadID\":\"ct-3\",\"ConnID\":\"0003000000000000\",\"ThisDN\":\"5004\",\"CallType\":\"Outbound\"}",
        "\t{\"id\":\"EventReleased\",\"tenant\":\"t1\",\"time\":1774605711400000,\"ConnID\":\"0003000000000000\",\"ThisDN\":\"5004\"}",
    ];
    for shards in [2, 3, 4] {
        let (sharded, reference) = sharded_and_reference(&lines, shards);
        assert_eq!(reference.len(), 2, "{reference:?}");
        assert_eq!(sharded, reference, "{shards} shards");
    }
}

/// Framed payloads, or the framing errors as text.
type Framed = Vec<Result<Vec<u8>, String>>;

/// Frames `input` with a 256-byte limit, read whole and a byte at a time.
fn framed_whole_and_trickled(input: &[u8], framing: ctistream_core::Framing) -> (Framed, Framed) {
    struct OneByte<'a>(&'a [u8]);
    impl std::io::Read for OneByte<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let Some((&first, rest)) = self.0.split_first() else { return Ok(0) };
            buf[0] = first;
            self.0 = rest;
            Ok(1)
        }
    }
    let frame = |reader: &mut dyn std::io::Read| {
        ctistream_core::FrameReader::new(reader, framing)
            .with_max_record(256)
            .map(|frame| frame.map(|f| f.payload.to_vec()).map_err(|e| e.to_string()))
            .collect::<Vec<_>>()
    };
    (frame(&mut &input[..]), frame(&mut OneByte(input)))
}

/// frame_tlog crash-6b6aeeb0: a T-Server log record of exactly the limit
/// (256 bytes without its line break) was framed whole, but refused as too
/// large when read in pieces, while the reader waited for the first byte of
/// the next line: the pending record was measured with its line break.
#[test]
fn a_record_of_exactly_the_limit_frames_the_same_read_whole_or_in_pieces() {
    let header = "@08:03:40.4370 [0] 8.1.101.25 distribute_event: message EventEstablished\n";
    let mut record = header.to_owned();
    while record.len() < 256 - 20 {
        record.push_str("\tAttributeReferenceID\t4\n");
    }
    let pad = 257 - record.len() - "\tAttributeX\t\n".len();
    record.push_str(&format!("\tAttributeX\t{}\n", "y".repeat(pad)));
    assert_eq!(record.len(), 257, "256 bytes and the line break");
    let input = format!("{record}@09:00:12.4460 [0] 8.1.101.25 -- sip: INVITE\n");
    let (whole, trickled) =
        framed_whole_and_trickled(input.as_bytes(), ctistream_core::Framing::Tlog);
    assert_eq!(whole.len(), 1);
    assert!(whole[0].is_ok(), "{whole:?}");
    assert_eq!(trickled, whole);
    // The same edge in line framing: a line of exactly the limit ending in CRLF.
    let line = format!("{{\"id\":\"{}\"}}", "x".repeat(256 - 9));
    assert_eq!(line.len(), 256);
    let input = format!("{line}\r\n{line}\r\n");
    let (whole, trickled) =
        framed_whole_and_trickled(input.as_bytes(), ctistream_core::Framing::Lines);
    assert_eq!(whole.len(), 2);
    assert!(whole.iter().all(Result::is_ok), "{whole:?}");
    assert_eq!(trickled, whole);
}
