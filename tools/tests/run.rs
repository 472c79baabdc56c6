//! `ctistream run` between files and TCP sockets: the same records as
//! `ctistream reduce` over the same events, configuration checks, metrics,
//! and a clean stop on SIGTERM.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use common::service::Service;
use common::{Outdir, ctistream, generated, reduced, sorted_lines};

/// Generated traffic with one broken record in the middle.
fn events(dir: &Outdir, calls: &str) -> String {
    let path = dir.path("events.ndjson");
    let out =
        ctistream(&["gen", "--agents", "40", "--calls", calls, "--seed", "5", "--out", &path]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut text = std::fs::read_to_string(&path).unwrap();
    let middle = text[..text.len() / 2].rfind('\n').unwrap() + 1;
    text.insert_str(middle, "t1:ct-x\t{\"id\":\"EventRinging\",\n");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn file_to_file_gives_what_reduce_gives() {
    let dir = Outdir::new("run-files");
    let input = events(&dir, "800");
    let expected = reduced(&dir, &input);
    let names = ["calls", "agents", "changes", "stats", "rejects"].map(|n| dir.path(n));
    let out = ctistream(&[
        "run",
        "--from",
        &format!("file:{input}"),
        "--calls-to",
        &format!("file:{}", names[0]),
        "--agents-to",
        &format!("file:{}", names[1]),
        "--changes-to",
        &format!("file:{}", names[2]),
        "--stats-to",
        &format!("file:{}", names[3]),
        "--rejects-to",
        &format!("file:{}", names[4]),
        "--commit-every",
        "0.05",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("stopped: every source ended"), "{stderr}");
    for (index, what) in ["calls", "agents", "changes", "stats"].iter().enumerate() {
        let got = sorted_lines(&names[index]);
        assert!(!got.is_empty(), "{what}: nothing written");
        assert_eq!(got, expected[index], "{what} differ from reduce");
    }
    let rejects = dir.lines("rejects");
    assert_eq!(rejects.len(), 1, "{rejects:?}");
    let origin = rejects[0]["origin"].as_str().unwrap();
    assert!(origin.starts_with(&format!("{input}:")), "{origin}");
    assert!(rejects[0]["reason"].as_str().unwrap().contains("ends inside a JSON value"));
    assert!(stderr.contains("1 rejected"), "{stderr}");
}

#[test]
fn check_prints_the_graph_and_refuses_mistakes() {
    let dir = Outdir::new("run-check");
    let config = dir.path("run.toml");
    std::fs::write(
        &config,
        "sources = [\"kafka://127.0.0.1:9092/voice-callthread,voice-agentstate\"]\n\
         [sinks]\ncalls = \"file:calls.ndjson?rotate_bytes=1000000\"\n\
         changes = \"tcp://127.0.0.1:7001\"\n[options]\nshards = 2\nuntil_idle = 3\n",
    )
    .unwrap();
    let out = ctistream(&["run", "--config", &config, "--check"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for expected in [
        "configuration ok",
        "kafka 127.0.0.1:9092 topics voice-callthread,voice-agentstate (group ctistream-reducer)",
        "calls        -> file calls.ndjson (rotated past 1000000 bytes)",
        "changes      -> tcp listener 127.0.0.1:7001",
        "2 shard(s)",
        "stop after 3s idle",
    ] {
        assert!(stdout.contains(expected), "missing {expected:?} in\n{stdout}");
    }
    std::fs::write(
        &config,
        "sources = [\"file:x\"]\n[sinks]\ncalls = \"kafka://b:9092/t?group=callthread\"\n",
    )
    .unwrap();
    let out = ctistream(&["run", "--config", &config, "--check"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("sinks.calls") && stderr.contains("unknown option 'group'"),
        "{stderr}"
    );
    let out = ctistream(&["run", "--from", "file:x", "--check"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no output"));
}

fn scrape(address: &str) -> String {
    let mut stream = TcpStream::connect(address).unwrap();
    stream.write_all(b"GET /metrics HTTP/1.1\r\n\r\n").unwrap();
    let mut page = String::new();
    stream.read_to_string(&mut page).unwrap();
    page
}

fn address_of(ready: &str) -> String {
    ready.rsplit("tcp://").next().unwrap().trim().to_owned()
}

#[test]
fn tcp_senders_to_tcp_subscribers_with_metrics_and_a_clean_stop() {
    let dir = Outdir::new("run-tcp");
    let input = events(&dir, "300");
    let expected = reduced(&dir, &input);
    let changes = dir.path("changes");
    let mut service = Service::start(&[
        "run",
        "--from",
        "tcp://127.0.0.1:0?max_connections=4",
        "--calls-to",
        "tcp://127.0.0.1:0",
        "--changes-to",
        &format!("file:{changes}"),
        "--metrics",
        "tcp://127.0.0.1:0",
        "--shards",
        "2",
    ]);
    let sink = address_of(&service.wait_for("ready: sink tcp://"));
    let source = address_of(&service.wait_for("ready: source tcp://"));
    let metrics = address_of(&service.wait_for("ready: metrics tcp://"));
    let mut subscriber = TcpStream::connect(&sink).unwrap();
    subscriber.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    // A hostile client first: its oversized garbage costs it its connection only.
    let mut hostile = TcpStream::connect(&source).unwrap();
    let _ = hostile.write_all(&vec![b'x'; 2 << 20]);
    // The events, split over two senders by line.
    let text = std::fs::read_to_string(&input).unwrap();
    let (mut first, mut second) = (String::new(), String::new());
    for (index, line) in text.lines().enumerate() {
        let half = if index < text.lines().count() / 2 { &mut first } else { &mut second };
        half.push_str(line);
        half.push('\n');
    }
    // Two connections one after the other: the second half follows the first.
    for half in [first, second] {
        let mut sender = TcpStream::connect(&source).unwrap();
        sender.write_all(half.as_bytes()).unwrap();
        sender.shutdown(std::net::Shutdown::Write).unwrap();
        let mut rest = Vec::new();
        let _ = sender.read_to_end(&mut rest);
        std::thread::sleep(Duration::from_millis(200));
    }
    // The metrics page counts every record once the service has read them.
    let lines = text.lines().count();
    let deadline = Instant::now() + Duration::from_secs(20);
    let page = loop {
        let page = scrape(&metrics);
        let read = page
            .lines()
            .find(|l| l.starts_with("ctistream_source_records_total{source=\"tcp://"))
            .and_then(|l| l.rsplit(' ').next()?.parse::<usize>().ok());
        if read == Some(lines) || Instant::now() > deadline {
            break page;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(page.contains(&format!("{lines}\n")), "not every record counted:\n{page}");
    assert!(page.contains("ctistream_stage_latency_seconds_count{stage=\"decode\"}"), "{page}");
    // SIGTERM: drain, flush the open calls to the subscriber and the file, exit 0.
    let (status, stderr) = service.terminate();
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("stopped: signal"), "{stderr}");
    assert!(stderr.contains("2 rejected"), "the broken record and the hostile frame: {stderr}");
    let mut received = String::new();
    subscriber.read_to_string(&mut received).unwrap();
    let mut received: Vec<String> = received.lines().map(str::to_owned).collect();
    received.sort();
    assert_eq!(received, expected[0], "calls on the TCP sink differ from reduce");
    assert_eq!(sorted_lines(&changes), expected[2], "changes differ from reduce");
}

#[test]
fn a_followed_file_is_read_as_it_grows_until_idle() {
    let dir = Outdir::new("run-follow");
    let input = events(&dir, "200");
    let expected = reduced(&dir, &input);
    let growing = dir.path("growing.ndjson");
    let calls = dir.path("calls");
    std::fs::write(&growing, "").unwrap();
    let mut service = Service::start(&[
        "run",
        "--from",
        &format!("file:{growing}?follow=true"),
        "--calls-to",
        &format!("file:{calls}"),
        "--until-idle",
        "1.5",
    ]);
    service.wait_for("ready: source");
    let text = std::fs::read_to_string(&input).unwrap();
    let mut file = std::fs::OpenOptions::new().append(true).open(&growing).unwrap();
    for chunk in text.as_bytes().chunks(text.len() / 5 + 1) {
        file.write_all(chunk).unwrap();
        file.flush().unwrap();
        std::thread::sleep(Duration::from_millis(100));
    }
    let status = service.exit_within(Duration::from_secs(120));
    assert!(status.success());
    assert_eq!(sorted_lines(&calls), expected[0]);
    let stderr: Vec<String> = service.lines.iter().collect();
    assert!(stderr.iter().any(|l| l.starts_with("stopped: no input for")), "{stderr:?}");
}

#[test]
fn gen_sends_to_a_tcp_source_with_its_token() {
    let dir = Outdir::new("run-gen-tcp");
    let gen_args = ["gen", "--agents", "20", "--calls", "150", "--seed", "9"];
    let file = generated(&dir, "20", "150", "9");
    let expected = reduced(&dir, &file);
    let calls = dir.path("calls");
    let mut service = Service::start(&[
        "run",
        "--from",
        "tcp://127.0.0.1:0?token=s3cret",
        "--calls-to",
        &format!("file:{calls}"),
        "--until-idle",
        "1.5",
    ]);
    let source = address_of(&service.wait_for("ready: source tcp://"));
    let url = format!("tcp://{source}?token=s3cret");
    let out = ctistream(&[&gen_args[..], &["--out", &url]].concat());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(service.exit_within(Duration::from_secs(120)).success());
    assert_eq!(sorted_lines(&calls), expected[0], "the same calls as from the file");
    // Nobody listening: a clear error, not a hang.
    let out = ctistream(&[&gen_args[..], &["--out", "tcp://127.0.0.1:1"]].concat());
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("tcp://127.0.0.1:1: cannot connect"), "{stderr}");
}

/// A small tmpfs mounted for one test, unmounted when dropped.
struct SmallDisk(std::path::PathBuf);

impl SmallDisk {
    fn mount(at: std::path::PathBuf, size: &str) -> SmallDisk {
        std::fs::create_dir_all(&at).unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&at)
            .status()
            .expect("run mount");
        assert!(status.success(), "this test mounts a tmpfs to fill it up: it needs root");
        SmallDisk(at)
    }

    /// Writes a filler file until the disk is full.
    fn fill(&self) -> std::path::PathBuf {
        let filler = self.0.join("filler");
        let mut file = std::fs::File::create(&filler).unwrap();
        let block = vec![0u8; 4096];
        while file.write_all(&block).is_ok() {}
        filler
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_holds_the_outputs_and_loses_nothing_when_room_returns() {
    let dir = Outdir::new("run-disk-full");
    let input = events(&dir, "300");
    let expected = reduced(&dir, &input);
    let disk = SmallDisk::mount(dir.0.join("disk"), "1m");
    let filler = disk.fill();
    let calls = disk.0.join("calls").to_string_lossy().into_owned();
    let mut service = Service::start(&[
        "run",
        "--from",
        &format!("file:{input}?follow=true"),
        "--calls-to",
        &format!("file:{calls}"),
        "--until-idle",
        "1",
        "--commit-every",
        "0.1",
    ]);
    let full = service.wait_for("ctistream: sink file:");
    assert!(full.contains("No space left on device"), "{full}");
    assert!(full.ends_with("holding its outputs and trying again"), "{full}");
    // Held, not given up: the run waits for room longer than its idle time.
    std::thread::sleep(Duration::from_secs(3));
    assert!(service.child.try_wait().unwrap().is_none(), "the run gave up: {:?}", service.seen);
    std::fs::remove_file(filler).unwrap();
    let again = service.wait_for("ctistream: sink file:");
    assert!(again.contains("writing again"), "{again}");
    assert!(service.exit_within(Duration::from_secs(120)).success());
    assert_eq!(sorted_lines(&calls), expected[0], "every call, once");
}

/// The resident size of process `pid`, in bytes.
fn resident(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib = status.lines().find_map(|l| l.strip_prefix("VmRSS:")).unwrap();
    kib.trim().trim_end_matches("kB").trim().parse::<u64>().unwrap() * 1024
}

#[test]
fn a_stalled_sink_holds_back_the_sender_with_bounded_memory() {
    let dir = Outdir::new("run-stalled");
    let input = generated(&dir, "200", "40000", "3");
    let text = std::fs::read(&input).unwrap();
    let expected = reduced(&dir, &input);
    let disk = SmallDisk::mount(dir.0.join("disk"), "16m");
    let filler = disk.fill();
    let calls = disk.0.join("calls").to_string_lossy().into_owned();
    let mut service = Service::start(&[
        "run",
        "--from",
        "tcp://127.0.0.1:0",
        "--calls-to",
        &format!("file:{calls}"),
        "--until-idle",
        "1",
        "--commit-every",
        "0.1",
    ]);
    let source = address_of(&service.wait_for("ready: source tcp://"));
    let sent = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let sender = {
        let (sent, text) = (sent.clone(), text.clone());
        std::thread::spawn(move || {
            let mut stream = TcpStream::connect(source).unwrap();
            for chunk in text.chunks(64 * 1024) {
                stream.write_all(chunk).unwrap();
                sent.fetch_add(chunk.len(), std::sync::atomic::Ordering::Relaxed);
            }
        })
    };
    service.wait_for("ctistream: sink file:");
    // The sink takes nothing: the pipeline fills, stops taking records, and
    // the sender's socket fills; memory stays what the queues hold.
    // How long filling the queues takes depends on the machine's load: wait
    // until the sender has made no progress for a second, then a second more.
    let mut peak = 0;
    let mut last_sent = usize::MAX;
    let mut still_since = Instant::now();
    let deadline = Instant::now() + Duration::from_secs(60);
    while still_since.elapsed() < Duration::from_secs(1) {
        assert!(Instant::now() < deadline, "the sender was never held back");
        std::thread::sleep(Duration::from_millis(200));
        peak = peak.max(resident(service.child.id()));
        let now = sent.load(std::sync::atomic::Ordering::Relaxed);
        if now != last_sent {
            (last_sent, still_since) = (now, Instant::now());
        }
    }
    std::thread::sleep(Duration::from_secs(1));
    peak = peak.max(resident(service.child.id()));
    let stalled = sent.load(std::sync::atomic::Ordering::Relaxed);
    // Bounded by the queues (source, rings, sink lane: tens of MB with the
    // kernel's socket buffers), not by the input: about half of these 95 MB
    // get in, and nothing more while the sink is stalled.
    assert_eq!(stalled, last_sent, "the sender is held back");
    assert!(stalled < text.len() * 3 / 4, "the sender is held back: {stalled} sent");
    assert!(peak < 256 << 20, "resident memory stays bounded: {} MiB", peak >> 20);
    std::fs::remove_file(filler).unwrap();
    sender.join().unwrap();
    assert!(service.exit_within(Duration::from_secs(120)).success());
    assert_eq!(sorted_lines(&calls), expected[0], "every call, once");
}

#[test]
fn sigterm_under_full_load_stops_soon_with_the_outputs_of_everything_read() {
    let dir = Outdir::new("run-sigterm-load");
    let input = generated(&dir, "200", "60000", "4");
    let calls = dir.path("calls");
    let mut service = Service::start(&[
        "run",
        "--from",
        &format!("file:{input}?follow=true"),
        "--calls-to",
        &format!("file:{calls}"),
        "--commit-every",
        "0.1",
    ]);
    service.wait_for("ready: source");
    std::thread::sleep(Duration::from_millis(150));
    let signalled = Instant::now();
    let (status, stderr) = service.terminate();
    let stopping = signalled.elapsed();
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("stopped: signal"), "{stderr}");
    // Drain, flush, close: bounded by the queues, not by the input left.
    assert!(stopping < Duration::from_secs(10), "{stopping:?} to stop");
    // Everything read went through: the calls are `reduce`'s over those lines
    // (calls still open then included, as both flush them at the end).
    let read: usize = stderr
        .lines()
        .find_map(|l| l.strip_prefix("records: ")?.split(' ').next()?.parse().ok())
        .unwrap_or_else(|| panic!("no summary in {stderr}"));
    let text = std::fs::read_to_string(&input).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(read > 0 && read < lines.len(), "stopped mid-input: {read} of {}", lines.len());
    let prefix = dir.path("prefix.ndjson");
    std::fs::write(&prefix, lines[..read].join("\n") + "\n").unwrap();
    assert_eq!(sorted_lines(&calls), reduced(&dir, &prefix)[0]);
}

#[test]
fn a_kept_file_position_makes_the_next_run_read_only_what_came_since() {
    let dir = Outdir::new("run-position");
    let text = std::fs::read_to_string(generated(&dir, "20", "200", "6")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let (first, second) = lines.split_at(lines.len() / 2);
    let growing = dir.path("growing.ndjson");
    std::fs::write(&growing, first.join("\n") + "\n").unwrap();
    let source = format!("file:{growing}?follow=true&position={}", dir.path("growing.pos"));
    let run = |round: &str| {
        let rejects = dir.path(&format!("rejects-{round}"));
        let out = ctistream(&[
            "run",
            "--from",
            &source,
            "--calls-to",
            &format!("file:{}", dir.path(&format!("calls-{round}"))),
            "--rejects-to",
            &format!("file:{rejects}"),
            "--until-idle",
            "0.5",
            "--commit-every",
            "0.1",
        ]);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{stderr}");
        (stderr, std::fs::read_to_string(rejects).unwrap_or_default())
    };
    let (stderr, _) = run("1");
    assert!(stderr.contains(&format!("records: {} read", first.len())), "{stderr}");
    // More arrives while nothing runs, with a broken record last.
    let mut more = second.join("\n") + "\n";
    more.push_str("t1:ct-x\t{\"id\":\"EventRinging\",\n");
    std::fs::OpenOptions::new()
        .append(true)
        .open(&growing)
        .unwrap()
        .write_all(more.as_bytes())
        .unwrap();
    let (stderr, rejects) = run("2");
    assert!(stderr.contains(&format!("records: {} read", second.len() + 1)), "{stderr}");
    // Its origin is its line in the whole file, not in what this run read.
    let origin = format!("{growing}:{}", lines.len() + 1);
    assert!(rejects.contains(&origin), "{origin} in {rejects}");
}
