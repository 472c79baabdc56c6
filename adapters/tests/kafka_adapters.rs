//! The Kafka source and sink against a real Kafka-protocol broker (tansu, from
//! tools/kafka-broker.sh; see tests/common/broker.rs). Each test starts its
//! own broker on a free loopback port, so they run in parallel.

#![cfg(feature = "kafka")]

#[path = "common/broker.rs"]
mod broker;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use broker::Broker;
use ctistream_adapters::kafka::{KafkaSink, KafkaSinkConfig, KafkaSource, KafkaSourceConfig};
use ctistream_core::connect::{CollectIntake, Connect, Health, Sink, Source, SourceRecord};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

/// How long any one wait in these tests may take before it fails.
const PATIENCE: Duration = Duration::from_secs(30);

/// A source in `group` reading `topic`, with timeouts short enough for tests.
fn source(broker: &Broker, topic: &str, group: &str) -> KafkaSource {
    KafkaSourceConfig::new(broker.bootstrap(), [topic])
        .with_group(group)
        .with_property("session.timeout.ms", "6000")
        .with_property("heartbeat.interval.ms", "500")
        .connect()
        .expect("connect the source")
}

/// Produces `(partition, key, value)` records and waits for all of them.
fn produce(broker: &Broker, topic: &str, records: &[(i32, String, String)]) {
    let producer: BaseProducer =
        ClientConfig::new().set("bootstrap.servers", broker.bootstrap()).create().unwrap();
    for (partition, key, value) in records {
        producer
            .send(BaseRecord::to(topic).partition(*partition).key(key).payload(value))
            .map_err(|(error, _)| error)
            .expect("queue a record");
    }
    producer.flush(PATIENCE).expect("the broker takes the records");
}

/// `per_partition` records in each of 3 partitions, numbered from `first`:
/// key `k{partition}-{n}`, value `v{partition}-{n}`.
fn numbered(first: usize, per_partition: usize) -> Vec<(i32, String, String)> {
    (0..3)
        .flat_map(|p| (first..first + per_partition).map(move |n| (p, n)))
        .map(|(p, n)| (p, format!("k{p}-{n}"), format!("v{p}-{n}")))
        .collect()
}

/// Polls until `want` records arrived (or fails after `PATIENCE`).
fn read(source: &mut KafkaSource, want: usize) -> Vec<SourceRecord> {
    let mut intake = CollectIntake::default();
    let deadline = Instant::now() + PATIENCE;
    while intake.records.len() < want {
        assert!(
            Instant::now() < deadline,
            "{}: {} of {want} records within {PATIENCE:?}",
            source.name(),
            intake.records.len()
        );
        source.poll(Duration::from_millis(100), &mut intake).expect("poll");
    }
    intake.records
}

/// Polls for `quiet` and returns whatever arrived.
fn read_for(source: &mut KafkaSource, quiet: Duration) -> Vec<SourceRecord> {
    let mut intake = CollectIntake::default();
    let deadline = Instant::now() + quiet;
    while Instant::now() < deadline {
        source.poll(Duration::from_millis(100), &mut intake).expect("poll");
    }
    intake.records
}

/// `(partition label, offset)` of each record, as its origin names it.
fn origins(source: &KafkaSource, records: &[SourceRecord]) -> Vec<String> {
    records.iter().map(|r| source.stream_label(r.stream).origin(r.position)).collect()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Waits until `check` holds, failing with `what` after `PATIENCE`.
fn wait_until(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !check() {
        assert!(Instant::now() < deadline, "not within {PATIENCE:?}: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn the_source_reads_every_partition_with_keys_streams_and_offsets() {
    let broker = Broker::start();
    broker.create_topic("calls", 3);
    produce(&broker, "calls", &numbered(0, 10));

    let mut source = source(&broker, "calls", "reader");
    let records = read(&mut source, 30);
    assert_eq!(records.len(), 30);
    for record in &records {
        let label = source.stream_label(record.stream);
        assert_eq!(label.separator, '@');
        let partition = label.label.strip_prefix("calls/").expect("label is topic/partition");
        let n = record.position;
        assert_eq!(text(record.key.as_deref().unwrap()), format!("k{partition}-{n}"));
        assert_eq!(text(&record.payload), format!("v{partition}-{n}"));
    }
    let seen: BTreeSet<String> = origins(&source, &records).into_iter().collect();
    let expected: BTreeSet<String> =
        (0..3).flat_map(|p| (0..10).map(move |n| format!("calls/{p}@{n}"))).collect();
    assert_eq!(seen, expected);
    assert_eq!(source.health(), Health::Up);
    source.close().unwrap();
    assert!(!source.health().is_up());
}

#[test]
fn a_commit_covers_its_mark_and_nothing_after_it() {
    let broker = Broker::start();
    broker.create_topic("calls", 3);
    produce(&broker, "calls", &numbered(0, 10));

    let mut first = source(&broker, "calls", "reducer");
    read(&mut first, 30);
    let acknowledged = first.mark();
    produce(&broker, "calls", &numbered(10, 2));
    read(&mut first, 6);
    let _pending = first.mark();
    first.commit(acknowledged).expect("commit the first mark");
    // Leaving the group must not commit the unacknowledged records either.
    first.close().unwrap();
    assert!(first.commit(acknowledged + 5).is_err(), "a mark never taken is refused");

    let mut second = source(&broker, "calls", "reducer");
    let again = read(&mut second, 6);
    let mut resumed = origins(&second, &again);
    resumed.sort();
    let mut expected: Vec<String> =
        (0..3).flat_map(|p| (10..12).map(move |n| format!("calls/{p}@{n}"))).collect();
    expected.sort();
    assert_eq!(resumed, expected, "resumes right after the mark, re-reads what followed");
    assert!(read_for(&mut second, Duration::from_secs(1)).is_empty());
}

#[test]
fn a_second_member_shares_the_partitions_and_nothing_is_lost() {
    let broker = Broker::start();
    broker.create_topic("calls", 3);
    produce(&broker, "calls", &numbered(0, 10));

    let mut first = source(&broker, "calls", "reducer");
    let initial = read(&mut first, 30);
    let mut got_first = origins(&first, &initial);
    // Nothing committed: the partitions the second member takes are read
    // again from the start there; those the first keeps are not repeated.
    let mut second = source(&broker, "calls", "reducer");
    let mut got_second = Vec::new();
    let mut produced = false;
    let deadline = Instant::now() + PATIENCE * 2;
    loop {
        let a = read_for(&mut first, Duration::from_millis(300));
        got_first.extend(origins(&first, &a));
        let b = read_for(&mut second, Duration::from_millis(300));
        got_second.extend(origins(&second, &b));
        if !produced && !got_second.is_empty() {
            // The group has settled: new records go to both members.
            produce(&broker, "calls", &numbered(10, 10));
            produced = true;
        }
        let union: BTreeSet<&String> = got_first.iter().chain(&got_second).collect();
        if produced && union.len() == 60 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the two members got {} of 60 records (first {}, second {})",
            union.len(),
            got_first.len(),
            got_second.len()
        );
    }
    let once: BTreeSet<&String> = got_first.iter().collect();
    assert_eq!(once.len(), got_first.len(), "the first member repeated records: {got_first:?}");
    let partitions =
        |got: &[String]| got.iter().map(|o| o.split('@').next().unwrap().to_owned()).collect();
    let (of_first, of_second): (BTreeSet<String>, BTreeSet<String>) =
        (partitions(&got_first[30..]), partitions(&got_second));
    assert!(!of_second.is_empty(), "the second member got no partition");
    assert!(of_first.is_disjoint(&of_second), "{of_first:?} and {of_second:?} overlap");
}

/// A commit held back at an open call (its floor) says, in its metadata, how
/// far outputs are durable: the next reader of the partition replays the
/// records in between (state only, no outputs) and hands out the rest.
#[test]
fn the_next_reader_replays_what_a_held_commit_says_is_written() {
    let broker = Broker::start();
    broker.create_topic("calls", 3);
    produce(&broker, "calls", &numbered(0, 10));

    let mut first = source(&broker, "calls", "reducer");
    let records = read(&mut first, 30);
    assert!(records.iter().all(|record| !record.replayed), "nothing to replay on a new group");
    let zero = records
        .iter()
        .find(|record| first.stream_label(record.stream).label == "calls/0")
        .map(|record| record.stream)
        .unwrap();
    let mark = first.mark();
    // A call that began at offset 4 of partition 0 is still open.
    first.commit_within(mark, &[(zero, 4)]).expect("commit");
    first.close().unwrap();

    let mut second = source(&broker, "calls", "reducer");
    let again = read(&mut second, 6);
    let replayed: Vec<(String, bool)> = again
        .iter()
        .map(|record| (second.stream_label(record.stream).origin(record.position), record.replayed))
        .collect();
    let expected: Vec<(String, bool)> = (4..10).map(|n| (format!("calls/0@{n}"), true)).collect();
    assert_eq!(replayed, expected);
    produce(&broker, "calls", &numbered(10, 1));
    let new = read(&mut second, 3);
    assert!(new.iter().all(|record| !record.replayed), "past the durable offset: handed out");
    // The second reader's commit, held at the same call, says its outputs
    // are durable up to 11 now: a third reader replays 4 to 10, and reads
    // nothing else again.
    let mark = second.mark();
    let zero = again[0].stream;
    second.commit_within(mark, &[(zero, 4)]).expect("commit");
    second.close().unwrap();
    let mut third = source(&broker, "calls", "reducer");
    let last = read(&mut third, 7);
    let replayed: Vec<String> = last
        .iter()
        .filter(|record| record.replayed)
        .map(|record| third.stream_label(record.stream).origin(record.position))
        .collect();
    let expected: Vec<String> = (4..11).map(|n| format!("calls/0@{n}")).collect();
    assert_eq!(replayed, expected);
    assert!(read_for(&mut third, Duration::from_secs(1)).is_empty());
}

/// The companion group counts only beside a commit of the group itself: a
/// group with no commit (new, or deleted to read a topic again) reads from
/// the start and replays nothing, whatever its companion holds.
#[test]
fn a_group_without_commits_replays_nothing_whatever_its_companion_says() {
    let broker = Broker::start();
    broker.create_topic("calls", 3);
    produce(&broker, "calls", &numbered(0, 4));
    let config = KafkaSourceConfig::new(broker.bootstrap(), ["calls"]).with_group("fresh");
    let companion: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", broker.bootstrap())
        .set("group.id", config.durable_group())
        .create()
        .unwrap();
    let mut stale = TopicPartitionList::new();
    for partition in 0..3 {
        stale.add_partition_offset("calls", partition, Offset::Offset(4)).unwrap();
    }
    companion.commit(&stale, CommitMode::Sync).expect("commit");
    let mut source = source(&broker, "calls", "fresh");
    let records = read(&mut source, 12);
    assert!(records.iter().all(|record| !record.replayed), "the group has no commit");
}

#[test]
fn the_sink_writes_keyed_messages_that_read_back() {
    let broker = Broker::start();
    broker.create_topic("agent-stats", 3);
    let mut sink = sink(&broker, "agent-stats");
    for n in 0..100 {
        sink.write(format!("t1:agent{}", n % 7).as_bytes(), format!("{{\"n\":{n}}}\n").as_bytes())
            .unwrap();
    }
    sink.flush().expect("the broker acknowledges every message");
    assert_eq!(sink.health(), Health::Up);

    let mut source = source(&broker, "agent-stats", "check");
    let records = read(&mut source, 100);
    let keys: BTreeMap<String, String> =
        records.iter().map(|r| (text(&r.payload), text(r.key.as_deref().unwrap()))).collect();
    let expected: BTreeMap<String, String> =
        (0..100).map(|n| (format!("{{\"n\":{n}}}"), format!("t1:agent{}", n % 7))).collect();
    assert_eq!(keys, expected);
    sink.close().unwrap();
}

/// A rewound sink does not write again what the crashed sink wrote after
/// its position, however the restarted run orders those outputs, even
/// across a second crash taken before it wrote them all; another
/// producer's identical messages are not its own and are not skipped.
#[test]
fn a_rewound_sink_writes_each_output_once_across_two_crashes() {
    let broker = Broker::start();
    broker.create_topic("calls", 2);
    let line = |n: u32| (format!("t1:call{n}"), format!("{{\"call\":{n}}}\n"));
    let write = |sink: &mut KafkaSink, numbers: &[u32]| {
        for &n in numbers {
            let (key, value) = line(n);
            sink.write(key.as_bytes(), value.as_bytes()).unwrap();
        }
        sink.flush().expect("the broker acknowledges every message");
    };
    // The first run: a checkpoint after call 0, then calls 1 to 6 written
    // before it is killed.
    let mut first = sink(&broker, "calls");
    write(&mut first, &[0]);
    let checkpoint = first.durable_position().expect("a Kafka sink has a position");
    write(&mut first, &[1, 2, 3, 4, 5, 6]);
    drop(first);
    // Another producer writes a message the third run writes too.
    let mut other = sink(&broker, "calls");
    write(&mut other, &[8]);
    // The second run writes 5 and 1 again, then new call 7, takes a
    // checkpoint and is killed.
    let mut second = sink(&broker, "calls");
    second.rewind_to(&checkpoint).unwrap();
    write(&mut second, &[5, 1, 7]);
    let second_checkpoint = second.durable_position().unwrap();
    drop(second);
    // The third run writes the rest again, and new call 8.
    let mut third = sink(&broker, "calls");
    third.rewind_to(&second_checkpoint).unwrap();
    write(&mut third, &[2, 6, 3, 4, 8]);
    third.close().unwrap();

    let mut source = source(&broker, "calls", "check");
    let mut got: Vec<String> = read(&mut source, 10).iter().map(|r| text(&r.payload)).collect();
    got.extend(read_for(&mut source, Duration::from_secs(2)).iter().map(|r| text(&r.payload)));
    got.sort();
    let mut expected: Vec<String> =
        (0..=8).chain([8]).map(|n| line(n).1.trim_end().to_owned()).collect();
    expected.sort();
    assert_eq!(got, expected, "calls 0 to 8 once, and the other producer's call 8");
}

fn sink(broker: &Broker, topic: &str) -> KafkaSink {
    KafkaSinkConfig::new(broker.bootstrap(), topic)
        // Expire undeliverable messages soon, so a failed flush comes quickly.
        .with_property("message.timeout.ms", "8000")
        .connect()
        .expect("connect the sink")
}

fn degraded(health: &Health) -> bool {
    matches!(health, Health::Degraded(_))
}

/// The broker loses everything in a restart (memory storage), topics too.
/// Clients must never see a topic come back under the same name with a new
/// topic id: librdkafka 2.12's metadata cache keeps a dangling entry then and
/// may crash (confluentinc/librdkafka#4964). So the producer that wrote during
/// the outage fails its flush (and is retired) before the topic is created
/// again, and the watching source reads a topic that is not created again.
#[test]
fn a_broker_restart_never_passes_for_delivered_data() {
    let mut broker = Broker::start();
    broker.create_topic("agent-stats", 3);
    broker.create_topic("watched", 1);
    let mut sink = sink(&broker, "agent-stats");
    let line = |batch: &str, n: usize| format!("{{\"batch\":\"{batch}\",\"n\":{n}}}\n");
    for n in 0..20 {
        sink.write(b"t1:a", line("before", n).as_bytes()).unwrap();
    }
    sink.flush().expect("flush before the restart");
    let mut watcher = source(&broker, "watched", "watch");
    read_for(&mut watcher, Duration::from_secs(1));
    // Connected; still joining its group (tansu waits 3 s for more members),
    // which is not yet assigned partitions: bundled librdkafka 2.12 can crash
    // when an assigned topic comes back with a new id (librdkafka#4964).
    let health = watcher.health();
    let joining = matches!(&health, Health::Degraded(why) if why.starts_with("joining"));
    assert!(health == Health::Up || joining, "{health:?}");

    // Down: both ends notice and say why.
    broker.stop();
    wait_until("the sink reports the broker down", || degraded(&sink.health()));
    wait_until("the source reports the broker down", || {
        read_for(&mut watcher, Duration::from_millis(100));
        degraded(&watcher.health())
    });
    let Health::Degraded(why) = sink.health() else { unreachable!() };
    assert!(!why.is_empty());
    for n in 0..20 {
        sink.write(b"t1:a", line("during", n).as_bytes()).unwrap();
    }

    // Back, empty: what was written during the outage has nowhere to go, and
    // the flush must say so rather than pass.
    broker.resume();
    let during = sink.flush();
    assert!(during.is_err(), "the broker lost the topic, yet the flush passed");
    wait_until("the source is up again", || {
        read_for(&mut watcher, Duration::from_millis(100));
        watcher.health() == Health::Up
    });

    // The topic again; a failed flush retired the producer, writing goes on
    // with a new one and flushes succeed.
    broker.create_topic("agent-stats", 3);
    for n in 0..20 {
        sink.write(b"t1:a", line("after", n).as_bytes()).unwrap();
    }
    sink.flush().expect("flushes succeed once the broker is back");
    wait_until("the sink is up again", || sink.health() == Health::Up);

    // What the successful flush acknowledged is there, and nothing else.
    let mut check = source(&broker, "agent-stats", "check");
    let lines: BTreeSet<String> = read(&mut check, 20).iter().map(|r| text(&r.payload)).collect();
    let after: BTreeSet<String> = (0..20).map(|n| line("after", n).trim_end().to_owned()).collect();
    assert_eq!(lines, after);
    assert!(read_for(&mut check, Duration::from_millis(500)).is_empty());
}
