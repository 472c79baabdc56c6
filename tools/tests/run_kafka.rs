//! `ctistream run` between a real Kafka-protocol broker's topics (tansu on
//! loopback, see adapters/tests/common/broker.rs): the same records as
//! `ctistream reduce`, offsets committed for what was written, a consumer
//! group rebalance that loses no call, and a broker restart survived.

#[path = "../../adapters/tests/common/broker.rs"]
mod broker;
mod common;

use std::collections::BTreeMap;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use broker::Broker;
use common::{Outdir, ctistream};
use ctistream_adapters::kafka::{KafkaSinkConfig, KafkaSourceConfig};
use ctistream_core::connect::{CollectIntake, Connect, Polled, Sink, Source};

/// Group timeouts short enough for tests (librdkafka properties in the URL).
const FAST_GROUP: &str = "session.timeout.ms=6000&heartbeat.interval.ms=500";

/// Generated keyed events (`KEY<TAB>JSON` lines, as on the topics).
fn events(dir: &Outdir, calls: &str) -> String {
    let path = dir.path("events.ndjson");
    let out =
        ctistream(&["gen", "--agents", "30", "--calls", calls, "--seed", "11", "--out", &path]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    std::fs::read_to_string(&path).unwrap()
}

/// Produces keyed lines with the Kafka sink (keys pick the partitions).
fn produce(broker: &Broker, topic: &str, lines: &[&str]) {
    let mut sink = KafkaSinkConfig::new(broker.bootstrap(), topic).connect().unwrap();
    for line in lines {
        let (key, value) = line.split_once('\t').unwrap();
        sink.write(key.as_bytes(), value.as_bytes()).unwrap();
    }
    sink.flush().expect("the broker takes the events");
    sink.close().unwrap();
}

/// Reads `topic` from the start with a fresh group until `quiet` passes with
/// nothing new; returns the values.
fn consume(broker: &Broker, topic: &str, group: &str, quiet: Duration) -> Vec<String> {
    let mut source = KafkaSourceConfig::new(broker.bootstrap(), [topic])
        .with_group(group)
        .with_property("session.timeout.ms", "6000")
        .with_property("heartbeat.interval.ms", "500")
        .connect()
        .unwrap();
    let mut intake = CollectIntake::default();
    let mut last = Instant::now();
    let deadline = Instant::now() + Duration::from_secs(60);
    // Joining the group takes a while: quiet counts from the first record.
    while (intake.records.is_empty() || last.elapsed() < quiet) && Instant::now() < deadline {
        if let Polled::Records(_) = source.poll(Duration::from_millis(100), &mut intake).unwrap() {
            last = Instant::now();
        }
    }
    source.close().unwrap();
    intake.records.iter().map(|r| String::from_utf8_lossy(&r.payload).into_owned()).collect()
}

/// The value of the Prometheus counter `name` served at `address`, 0 while
/// the endpoint is not up yet.
fn counter(address: &str, name: &str) -> u64 {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(address) else { return 0 };
    let mut page = String::new();
    if stream.write_all(b"GET /metrics HTTP/1.1\r\n\r\n").is_err()
        || stream.read_to_string(&mut page).is_err()
    {
        return 0;
    }
    page.lines().filter_map(|line| line.strip_prefix(name)?.trim().parse::<u64>().ok()).sum()
}

/// Waits for a `ctistream run` child at most `limit`; past it the child is
/// killed and the test fails with its stderr, rather than hanging CI.
fn finish(mut child: std::process::Child, limit: Duration) -> Output {
    let deadline = Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!("run did not stop within {limit:?}:\n{}", String::from_utf8_lossy(&out.stderr));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    child.wait_with_output().unwrap()
}

fn run(args: &[&str]) -> Output {
    let output =
        Command::new(env!("CARGO_BIN_EXE_ctistream")).arg("run").args(args).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    output
}

/// Produces keyed lines to `topic` on a thread, `chunk` at a time with a
/// pause after each: events arriving while a run reads them.
fn trickle(
    bootstrap: &str,
    topic: &str,
    lines: Vec<String>,
    chunk: usize,
    pause: Duration,
) -> std::thread::JoinHandle<()> {
    let mut sink = KafkaSinkConfig::new(bootstrap, topic).connect().unwrap();
    std::thread::spawn(move || {
        for part in lines.chunks(chunk) {
            for line in part {
                let (key, value) = line.split_once('\t').unwrap();
                sink.write(key.as_bytes(), value.as_bytes()).unwrap();
            }
            sink.flush().unwrap();
            std::thread::sleep(pause);
        }
    })
}

/// What the SIGKILL tests start from: 600 calls of events (not produced yet;
/// they trickle in during the test) and `reduce`'s calls over them, a broker
/// with an input topic of `partitions` partitions and a 2-partition output
/// topic, and the run's URLs.
struct KillSetup {
    dir: Outdir,
    expected: Vec<String>,
    lines: Vec<String>,
    broker: Broker,
    bootstrap: String,
    source: String,
    calls: String,
}

impl KillSetup {
    fn new(name: &str, group: &str, partitions: u32) -> KillSetup {
        let dir = Outdir::new(name);
        let text = events(&dir, "600");
        let expected = reduce_calls(&dir, &dir.path("events.ndjson"));
        let lines = text.lines().map(str::to_owned).collect();
        let broker = Broker::start();
        broker.create_topic("voice-callthread", partitions);
        broker.create_topic("cti-calls", 2);
        let bootstrap = broker.bootstrap();
        let source = format!("kafka://{bootstrap}/voice-callthread?group={group}&{FAST_GROUP}");
        let calls = format!("kafka://{bootstrap}/cti-calls");
        KillSetup { dir, expected, lines, broker, bootstrap, source, calls }
    }
}

fn reduce_calls(dir: &Outdir, input: &str) -> Vec<String> {
    let (calls, agents) = (dir.path("r-calls"), dir.path("r-agents"));
    let out = ctistream(&["reduce", input, "--calls-out", &calls, "--agents-out", &agents]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    sorted(std::fs::read_to_string(&calls).unwrap().lines().map(str::to_owned).collect())
}

fn sorted(mut lines: Vec<String>) -> Vec<String> {
    lines.sort();
    lines
}

#[test]
fn topic_to_topic_gives_what_reduce_gives_and_commits_what_it_wrote() {
    let dir = Outdir::new("run-kafka");
    let text = events(&dir, "400");
    let expected = reduce_calls(&dir, &dir.path("events.ndjson"));
    let broker = Broker::start();
    broker.create_topic("voice-callthread", 1);
    broker.create_topic("cti-calls", 3);
    produce(&broker, "voice-callthread", &text.lines().collect::<Vec<_>>());
    let bootstrap = broker.bootstrap();
    let source = format!("kafka://{bootstrap}/voice-callthread?group=reducers&{FAST_GROUP}");
    let agents = dir.path("agents");
    let out = run(&[
        "--from",
        &source,
        "--calls-to",
        &format!("kafka://{bootstrap}/cti-calls"),
        "--agents-to",
        &format!("file:{agents}"),
        "--until-idle",
        "3",
        "--commit-every",
        "0.2",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines = text.lines().count();
    assert!(stderr.contains(&format!("records: {lines} read, 0 rejected")), "{stderr}");
    let got = sorted(consume(&broker, "cti-calls", "check", Duration::from_secs(3)));
    assert_eq!(got.len(), expected.len(), "call records on the topic");
    assert_eq!(got, expected, "call records on the topic differ from reduce");
    // The group's offsets cover everything it wrote: a second run reads nothing.
    let again =
        run(&["--from", &source, "--agents-to", &format!("file:{agents}2"), "--until-idle", "3"]);
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(stderr.contains("records: 0 read"), "{stderr}");
}

#[test]
fn a_member_joining_mid_stream_takes_partitions_and_no_call_is_lost() {
    let dir = Outdir::new("run-kafka-group");
    let text = events(&dir, "600");
    let expected = reduce_calls(&dir, &dir.path("events.ndjson"));
    let lines: Vec<&str> = text.lines().collect();
    let (first, second) = lines.split_at(lines.len() / 2);
    let broker = Broker::start();
    broker.create_topic("voice-callthread", 4);
    produce(&broker, "voice-callthread", first);
    let source = format!("kafka://{}/voice-callthread?group=pair&{FAST_GROUP}", broker.bootstrap());
    let member = |name: &str| {
        let calls = dir.path(&format!("calls-{name}"));
        let child = Command::new(env!("CARGO_BIN_EXE_ctistream"))
            .args(["run", "--from", &source, "--calls-to", &format!("file:{calls}")])
            .args(["--until-idle", "8", "--commit-every", "0.2"])
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        (child, calls)
    };
    let (a, calls_a) = member("a");
    // The first member alone reads the first half (its call records appear
    // and stop growing: it has written what it can) before the second joins
    // and takes partitions from it.
    let deadline = Instant::now() + Duration::from_secs(30);
    let written = || std::fs::read_to_string(&calls_a).map_or(0, |t| t.lines().count());
    let mut last = (0, Instant::now());
    while last.0 < 100 || last.1.elapsed() < Duration::from_secs(2) {
        assert!(Instant::now() < deadline, "the first member wrote {} call records", last.0);
        std::thread::sleep(Duration::from_millis(100));
        let now = written();
        if now != last.0 {
            last = (now, Instant::now());
        }
    }
    let (b, calls_b) = member("b");
    std::thread::sleep(Duration::from_secs(2));
    produce(&broker, "voice-callthread", second);
    let mut read = 0;
    let mut all = Vec::new();
    for (child, calls) in [(a, calls_a), (b, calls_b)] {
        let out = finish(child, Duration::from_secs(120));
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{stderr}");
        let count = stderr
            .lines()
            .find_map(|l| l.strip_prefix("records: ")?.split(' ').next()?.parse::<usize>().ok())
            .unwrap_or_else(|| panic!("no summary in {stderr}"));
        assert!(count > 0, "each member read records:\n{stderr}");
        read += count;
        all.extend(std::fs::read_to_string(&calls).unwrap().lines().map(str::to_owned));
    }
    assert!(read >= lines.len(), "{read} records read of {}: some were lost", lines.len());
    let expected: BTreeMap<String, serde_json::Value> =
        expected.iter().map(|line| record_of(line)).collect();
    let mut got: BTreeMap<String, Vec<serde_json::Value>> = BTreeMap::new();
    for line in &all {
        let (call, record) = record_of(line);
        got.entry(call).or_default().push(record);
    }
    let missing: Vec<_> = expected.keys().filter(|call| !got.contains_key(*call)).collect();
    assert!(missing.is_empty(), "calls never reported: {missing:?}");
    // Every call is whole somewhere: the first member never committed past
    // the first event of a call it still held, so the new owner of a moved
    // partition read those calls again from their start.
    let mut extras = 0;
    let mut open = 0;
    for (call, records) in &got {
        let want = &expected[call];
        assert!(records.contains(want), "{call} never whole: {records:?}");
        for record in records.iter().filter(|record| *record != want) {
            open += usize::from(record["ended"].is_null());
            let tail = record["ended"] == want["ended"]
                && record["events"].as_u64() < want["events"].as_u64();
            assert!(record["ended"].is_null() || tail, "{call}: {record} is not whole or a tail");
        }
        extras += records.len() - 1;
    }
    // The calls the first member held on the partitions it lost are the new
    // owner's to write: none comes open from the member that lost them.
    assert_eq!(open, 0, "{open} open records");
    // What the first member had written before the rebalance, the new owner
    // replayed (to rebuild the calls still open) without writing it again.
    assert_eq!(extras, 0, "{extras} extra records for {} calls", expected.len());
}

/// Seconds from one `2026-11-20T08:18:00.541Z` time to a later one of the
/// same hour.
fn seconds_between(earlier: &str, later: &str) -> f64 {
    let seconds = |time: &str| {
        let (minutes, seconds) = (&time[14..16], &time[17..23]);
        minutes.parse::<f64>().unwrap() * 60.0 + seconds.parse::<f64>().unwrap()
    };
    assert_eq!(earlier[..13], later[..13], "the same hour");
    seconds(later) - seconds(earlier)
}

/// A call record's `tenant:call` and the record.
fn record_of(line: &str) -> (String, serde_json::Value) {
    let value: serde_json::Value = serde_json::from_str(line).unwrap();
    let call = format!("{}:{}", value["tenant"].as_str().unwrap(), value["call"].as_str().unwrap());
    (call, value)
}

/// The broker is killed (SIGKILL) and started again while a Kafka to Kafka
/// run with checkpoints goes on; its data (topics, messages, the group's
/// offsets) is kept in its S3 store. The run rides it out and every call is
/// on the output topic once.
#[test]
fn a_broker_killed_and_restarted_mid_stream_loses_nothing() {
    let dir = Outdir::new("run-kafka-restart");
    let text = events(&dir, "400");
    let expected = reduce_calls(&dir, &dir.path("events.ndjson"));
    let lines: Vec<&str> = text.lines().collect();
    let (first, second) = lines.split_at(lines.len() / 2);
    let mut broker = Broker::start_durable();
    broker.create_topic("voice-callthread", 2);
    broker.create_topic("cti-calls", 2);
    produce(&broker, "voice-callthread", first);
    let bootstrap = broker.bootstrap();
    let source = format!("kafka://{bootstrap}/voice-callthread?group=restart&{FAST_GROUP}");
    let state = dir.path("state");
    let child = Command::new(env!("CARGO_BIN_EXE_ctistream"))
        .args(["run", "--from", &source, "--calls-to", &format!("kafka://{bootstrap}/cti-calls")])
        .args(["--checkpoint-dir", &state, "--checkpoint-every", "0.5", "--until-idle", "6"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The run reads the first half and checkpoints; then the broker dies and
    // comes back, and the second half arrives.
    // (The first checkpoint is the one taken at the start, before any
    // record; a later one covers records.)
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = Vec::new();
    while seen.len() < 2 {
        assert!(Instant::now() < deadline, "no checkpoint after records before the restart");
        if let Some(time) = checkpoint_time(&state).filter(|time| !seen.contains(time)) {
            seen.push(time);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_secs(1));
    broker.stop();
    std::thread::sleep(Duration::from_secs(2));
    broker.resume();
    produce(&broker, "voice-callthread", second);
    let out = finish(child, Duration::from_secs(180));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let got = sorted(consume(&broker, "cti-calls", "check", Duration::from_secs(3)));
    let twice = got.windows(2).filter(|pair| pair[0] == pair[1]).count();
    let mut distinct = got.clone();
    distinct.dedup();
    assert_eq!(distinct, expected, "{stderr}");
    assert_eq!(twice, 0, "{twice} records written twice\n{stderr}");
}

#[test]
fn a_broker_outage_mid_stream_is_survived_and_nothing_is_lost() {
    let dir = Outdir::new("run-kafka-outage");
    let text = events(&dir, "400");
    let expected = reduce_calls(&dir, &dir.path("events.ndjson"));
    let lines: Vec<&str> = text.lines().collect();
    let (first, second) = lines.split_at(lines.len() / 2);
    let broker = Broker::start_relayed();
    broker.create_topic("voice-callthread", 2);
    broker.create_topic("cti-calls", 2);
    produce(&broker, "voice-callthread", first);
    let bootstrap = broker.bootstrap();
    let source = format!("kafka://{bootstrap}/voice-callthread?group=outage&{FAST_GROUP}");
    let child = Command::new(env!("CARGO_BIN_EXE_ctistream"))
        .args(["run", "--from", &source, "--calls-to", &format!("kafka://{bootstrap}/cti-calls")])
        .args(["--until-idle", "4", "--commit-every", "0.2"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The run reads the first half; then the broker is out of reach for
    // longer than the group's session timeout and the idle time, and back.
    std::thread::sleep(Duration::from_secs(4));
    broker.cut();
    std::thread::sleep(Duration::from_secs(8));
    broker.restore();
    produce(&broker, "voice-callthread", second);
    let out = finish(child, Duration::from_secs(120));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains(&format!("records: {} read", lines.len())), "{stderr}");
    assert!(stderr.contains("up again"), "the outage was seen and its end:\n{stderr}");
    let got = sorted(consume(&broker, "cti-calls", "check", Duration::from_secs(3)));
    assert_eq!(got.len(), expected.len(), "call records on the topic:\n{stderr}");
    assert_eq!(got, expected, "call records on the topic differ from reduce");
    // Commits went on after the outage: the group has nothing left to read.
    let calls = format!("file:{}", dir.path("again"));
    let again = run(&["--from", &source, "--calls-to", &calls, "--until-idle", "3"]);
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(stderr.contains("records: 0 read"), "{stderr}");
}

#[test]
fn gen_produces_keyed_events_to_a_topic_that_run_reduces() {
    let dir = Outdir::new("run-kafka-gen");
    let text = events(&dir, "300");
    let expected = reduce_calls(&dir, &dir.path("events.ndjson"));
    let broker = Broker::start();
    broker.create_topic("voice-callthread", 3);
    let topic = format!("kafka://{}/voice-callthread", broker.bootstrap());
    let gen_args = ["gen", "--agents", "30", "--calls", "300", "--seed", "11", "--out", &topic];
    let out = common::ctistream(&gen_args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // One message per event, keyed as the line was.
    let messages = consume(&broker, "voice-callthread", "check", Duration::from_secs(2));
    assert_eq!(messages.len(), text.lines().count());
    let calls = dir.path("calls");
    run(&["--from", &format!("{topic}?{FAST_GROUP}"), "--calls-to", &format!("file:{calls}")]
        .into_iter()
        .chain(["--until-idle", "2"])
        .collect::<Vec<_>>());
    let got = sorted(std::fs::read_to_string(&calls).unwrap().lines().map(str::to_owned).collect());
    assert_eq!(got, expected);
    // A T-Server log is not one event per line: refused before connecting.
    let out = common::ctistream(&["gen", "--dialect", "tlog", "--calls", "5", "--out", &topic]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("use --dialect genesys, ors, sdk or ivr"), "{stderr}");
}

/// A run stopped cleanly without a checkpoint (a rolling restart) commits
/// everything it wrote but keeps the group's offset at the logins of the
/// agents still logged in: the next run replays their sessions, writes again
/// only the calls still lingering at the stop, and ends with `reduce`'s
/// agents and calls.
#[test]
fn a_clean_stop_leaves_the_logged_in_agents_to_the_next_run() {
    let dir = Outdir::new("run-kafka-rolling");
    let text = events(&dir, "300");
    let expected = reduce_calls(&dir, &dir.path("events.ndjson"));
    let lines: Vec<&str> = text.lines().collect();
    let (first, second) = lines.split_at(lines.len() / 2);
    let broker = Broker::start();
    // One partition: events in the file's order (see the kill -9 test).
    broker.create_topic("voice-callthread", 1);
    let source =
        format!("kafka://{}/voice-callthread?group=rolling&{FAST_GROUP}", broker.bootstrap());
    let member = |name: &str| {
        let (calls, agents) =
            (dir.path(&format!("calls-{name}")), dir.path(&format!("agents-{name}")));
        run(&[
            "--from",
            &source,
            "--calls-to",
            &format!("file:{calls}"),
            "--agents-to",
            &format!("file:{agents}"),
            "--until-idle",
            "2",
        ]);
        (calls, agents)
    };
    produce(&broker, "voice-callthread", first);
    let (calls_a, _) = member("a");
    produce(&broker, "voice-callthread", second);
    let (calls_b, agents_b) = member("b");
    let read = |path: &str| -> Vec<String> {
        std::fs::read_to_string(path).unwrap().lines().map(str::to_owned).collect()
    };
    let want_agents = sorted(read(&dir.path("r-agents")));
    assert_eq!(sorted(read(&agents_b)), want_agents, "the agents as reduce has them");
    // Calls open at the first stop were written then without an end; every
    // call's whole record is there, and none written twice whole.
    let mut got = read(&calls_a);
    got.extend(read(&calls_b));
    let whole = sorted(got.into_iter().filter(|line| !line.contains("\"ended\":null")).collect());
    let missing: Vec<&String> = expected.iter().filter(|line| !whole.contains(line)).collect();
    let extra: Vec<&String> = whole.iter().filter(|line| !expected.contains(line)).collect();
    assert!(missing.is_empty() && extra.is_empty(), "missing {missing:?}\nextra {extra:?}");
    // Calls complete but within their 2 s linger when the first run's input
    // ended were written whole at its stop, and come again when the next
    // run's linger ends: the one at-least-once window of a clean stop.
    let last = first.iter().filter_map(|line| line.split("\"time\":\"").nth(1)).max().unwrap();
    let last = &last[..24];
    let mut twice: Vec<&String> =
        whole.windows(2).filter(|w| w[0] == w[1]).map(|w| &w[0]).collect();
    twice.dedup();
    for call in &twice {
        let ended: serde_json::Value = serde_json::from_str(call).unwrap();
        let ended = ended["ended"].as_str().unwrap();
        assert!(
            ended <= last && seconds_between(ended, last) <= 2.0,
            "written twice, though it ended more than 2 s before {last}: {call}"
        );
    }
    assert_eq!(whole.len(), expected.len() + twice.len());
}

#[test]
fn kill_9_mid_stream_then_a_restart_loses_no_call() {
    let KillSetup { dir, expected, lines, broker, bootstrap, source, calls } =
        KillSetup::new("run-kafka-kill", "k9", 1);
    let agents = dir.path("agents");
    let start = |metrics: &str| {
        Command::new(env!("CARGO_BIN_EXE_ctistream"))
            .args(["run", "--from", &source, "--calls-to", &calls, "--commit-every", "0.2"])
            .args(["--until-idle", "4", "--metrics", &format!("tcp://{metrics}")])
            .args(["--agents-to", &format!("file:{agents}")])
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    // The events trickle in while the first run reads them; it is killed
    // without warning once it has written and committed some of them.
    let metrics = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().to_string()
    };
    let mut first = start(&metrics);
    let producer = trickle(&bootstrap, "voice-callthread", lines, 200, Duration::from_millis(300));
    let deadline = Instant::now() + Duration::from_secs(60);
    while counter(&metrics, "ctistream_commits_total") < 3
        || counter(&metrics, "ctistream_outputs_total") == 0
    {
        assert!(Instant::now() < deadline, "the first run never wrote and committed");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!producer.is_finished(), "killed mid-stream, not after it");
    let killed = Command::new("kill").args(["-9", &first.id().to_string()]).status().unwrap();
    assert!(killed.success());
    assert!(!first.wait().unwrap().success(), "killed");
    producer.join().unwrap();
    // The restart resumes at the group's last commit.
    let out = finish(start("127.0.0.1:0"), Duration::from_secs(120));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    // At least once, and whole: every call's record as `reduce` gives it
    // reached the topic, from the first run (committed only once written) or
    // from the second, which read again from the first event of every call
    // still open at the last commit, replaying (without writing them again)
    // the records whose outputs that commit says are durable. Calls written
    // after that commit come twice.
    let got = consume(&broker, "cti-calls", "check", Duration::from_secs(3));
    let written: std::collections::HashSet<&String> = got.iter().collect();
    for want in &expected {
        assert!(written.contains(want), "lost or cut: {want}\n{stderr}");
    }
    assert!(got.len() >= expected.len());
    // The commit never passed the login of an agent still logged in, nor
    // the first call event that changed it since: the restart replayed
    // their sessions (each agent here logs in once and out at the end), so
    // every agent ends as `reduce` has it, totals and all. (One partition:
    // read from several, an agent's status events and its calls' legs meet
    // in another order than the file's, and its totals differ from
    // `reduce`'s with or without a crash.)
    let snapshot = |path: &str| {
        sorted(std::fs::read_to_string(path).unwrap().lines().map(str::to_owned).collect())
    };
    let want = snapshot(&dir.path("r-agents"));
    assert_eq!(want.len(), 30);
    assert_eq!(snapshot(&agents), want);
}

/// When the checkpoint in `dir` was last written, if it exists.
fn checkpoint_time(dir: &str) -> Option<std::time::SystemTime> {
    std::fs::metadata(std::path::Path::new(dir).join("ctistream.ckpt")).ok()?.modified().ok()
}

#[test]
fn sigkill_at_random_points_with_checkpoints_then_restarts_write_each_call_once() {
    let KillSetup { dir, expected, lines, broker, bootstrap, source, calls } =
        KillSetup::new("run-kafka-checkpoint", "ck", 2);
    let state = dir.path("state");
    let args = |extra: &[&str]| -> Vec<String> {
        ["run", "--from", &source, "--calls-to", &calls]
            .iter()
            .chain(&["--checkpoint-dir", &state, "--checkpoint-every", "0.2", "--shards", "2"])
            .chain(extra)
            .map(|arg| (*arg).to_owned())
            .collect()
    };
    let producer = trickle(&bootstrap, "voice-callthread", lines, 150, Duration::from_millis(250));
    // Killed without warning at a pseudo-random moment after each new
    // checkpoint, while the events still arrive.
    let mut seed = 0x2545_f491_u64;
    let mut kills = 0;
    while !producer.is_finished() {
        let before = checkpoint_time(&state);
        let round: Vec<String> = args(&[]);
        let service =
            common::service::Service::start(&round.iter().map(String::as_str).collect::<Vec<_>>());
        let deadline = Instant::now() + Duration::from_secs(60);
        while checkpoint_time(&state) == before {
            assert!(Instant::now() < deadline, "no new checkpoint: {:?}", service.seen);
            std::thread::sleep(Duration::from_millis(20));
        }
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        std::thread::sleep(Duration::from_millis(100 + (seed >> 33) % 600));
        service.kill();
        kills += 1;
    }
    producer.join().unwrap();
    let last = args(&["--until-idle", "4"]);
    let out = finish(
        Command::new(env!("CARGO_BIN_EXE_ctistream"))
            .args(&last[..])
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
        Duration::from_secs(120),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(kills >= 2, "only {kills} kills");
    // Every call's whole record once: the sink read back what each killed
    // run wrote after its checkpoint and did not produce it again.
    let got = sorted(consume(&broker, "cti-calls", "check", Duration::from_secs(3)));
    let twice = got.windows(2).filter(|pair| pair[0] == pair[1]).count();
    let mut distinct = got.clone();
    distinct.dedup();
    assert_eq!(distinct, expected, "after {kills} kills\n{stderr}");
    assert_eq!(twice, 0, "{twice} records written twice after {kills} kills\n{stderr}");
}
