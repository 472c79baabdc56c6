//! `ctistream run --checkpoint-dir`: a run killed with SIGKILL at random
//! points and restarted, again and again, or stopped by SIGTERM and
//! restarted, writes exactly what one uninterrupted run writes: no call
//! record lost or written twice, agent changes and totals counted once, the
//! same statistics. Damaged or unfitting checkpoints are refused whole.

mod common;

use std::io::Write;
use std::time::{Duration, Instant};

use common::service::Service;
use common::{Outdir, ctistream, generated, reduced, sorted_lines};

/// Appends `lines` to `path` in chunks, a pause after each, on a thread:
/// the input of a followed source arriving over time.
fn trickle(
    path: &str,
    lines: Vec<String>,
    chunk: usize,
    pause: Duration,
) -> std::thread::JoinHandle<()> {
    let path = path.to_owned();
    std::thread::spawn(move || {
        for part in lines.chunks(chunk) {
            let mut file = std::fs::OpenOptions::new().append(true).open(&path).unwrap();
            file.write_all((part.join("\n") + "\n").as_bytes()).unwrap();
            drop(file);
            std::thread::sleep(pause);
        }
    })
}

/// The run every test starts: a followed file to the four outputs, with a
/// checkpoint every 100 ms.
fn run_args(dir: &Outdir, input: &str, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = vec![
        "run".into(),
        "--from".into(),
        format!("file:{input}?follow=true"),
        "--shards".into(),
        "2".into(),
        "--checkpoint-dir".into(),
        dir.path("state"),
        "--checkpoint-every".into(),
        "0.1".into(),
    ];
    for what in ["calls", "agents", "changes", "stats"] {
        args.push(format!("--{what}-to"));
        args.push(format!("file:{}", dir.path(what)));
    }
    args.extend(extra.iter().map(|arg| (*arg).to_owned()));
    args
}

fn start(args: &[String]) -> Service {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Service::start(&args)
}

/// Waits until the checkpoint file exists, at most 30 s.
fn wait_for_checkpoint(dir: &Outdir, service: &Service) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let path = std::path::Path::new(&dir.path("state")).join("ctistream.ckpt");
    while !path.exists() {
        assert!(Instant::now() < deadline, "no checkpoint written: {:?}", service.seen);
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The last run: resumes from the checkpoint, reads `input` to its end (not
/// followed) and stops; its stderr. It must succeed and say it resumed.
fn resume_to_the_end(dir: &Outdir, input: &str) -> String {
    let mut last = run_args(dir, input, &["--until-idle", "1"]);
    last.retain(|arg| !arg.contains("follow=true"));
    last.insert(2, format!("file:{input}"));
    let out = ctistream(&last.iter().map(String::as_str).collect::<Vec<_>>());
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("resumed: "), "{stderr}");
    stderr
}

/// Compares the four outputs with `reduce`'s over `input`. Agent and queue
/// snapshots are written at every stop: the last ones are compared.
fn assert_outputs_are_reduce(dir: &Outdir, input: &str, context: &str) {
    let expected = reduced(dir, input);
    for (index, what) in ["calls", "agents", "changes", "stats"].iter().enumerate() {
        let mut got = sorted_lines(&dir.path(what));
        if matches!(*what, "agents" | "stats") {
            let text = dir.text(what);
            let lines: Vec<&str> = text.lines().collect();
            let last = &lines[lines.len().saturating_sub(expected[index].len())..];
            got = last.iter().map(|line| (*line).to_owned()).collect();
            got.sort();
        }
        assert!(!got.is_empty(), "{what}: nothing written");
        if got != expected[index] {
            let missing = expected[index].iter().filter(|line| !got.contains(line)).count();
            let extra = got.iter().filter(|line| !expected[index].contains(line)).count();
            panic!(
                "{context}: {what} differ from reduce: {} lines, {} expected; {missing} \
                 missing, {extra} not expected",
                got.len(),
                expected[index].len()
            );
        }
    }
}

#[test]
fn sigkill_at_random_points_then_restarts_write_what_one_run_writes() {
    let dir = Outdir::new("checkpoint-kill");
    let all = generated(&dir, "40", "3000", "5");
    let lines: Vec<String> =
        std::fs::read_to_string(&all).unwrap().lines().map(str::to_owned).collect();
    let input = dir.path("in.ndjson");
    std::fs::write(&input, "").unwrap();
    let writer = trickle(&input, lines, 400, Duration::from_millis(40));
    let args = run_args(&dir, &input, &[]);
    // A fixed sequence of pseudo-random kill delays after a checkpoint exists.
    let mut seed = 0x9e37_79b9_u64;
    let mut kills = 0;
    while !writer.is_finished() || kills == 0 {
        let service = start(&args);
        wait_for_checkpoint(&dir, &service);
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        std::thread::sleep(Duration::from_millis(50 + (seed >> 33) % 400));
        let stderr = service.kill();
        assert!(kills == 0 || stderr.contains("resumed: "), "{stderr}");
        kills += 1;
    }
    writer.join().unwrap();
    resume_to_the_end(&dir, &input);
    eprintln!("{kills} kills");
    assert!(kills >= 3, "only {kills} kills: the input arrived too fast");
    assert_outputs_are_reduce(&dir, &all, &format!("after {kills} kills"));
}

/// The first checkpoint is taken before any input: a run killed within
/// its first interval, after writing outputs, resumes from it (its file
/// sinks cut back) instead of writing those outputs a second time.
#[test]
fn a_run_killed_within_its_first_interval_resumes_from_its_start() {
    let dir = Outdir::new("checkpoint-first-interval");
    let all = generated(&dir, "40", "8000", "6");
    let input = dir.path("in.ndjson");
    std::fs::copy(&all, &input).unwrap();
    let written = || {
        ["calls", "changes"]
            .iter()
            .any(|what| std::fs::metadata(dir.path(what)).is_ok_and(|file| file.len() > 0))
    };
    let mut args = run_args(&dir, &input, &[]);
    let every = args.iter().position(|arg| arg == "--checkpoint-every").unwrap() + 1;
    args[every] = "3600".into();
    let service = start(&args);
    let deadline = Instant::now() + Duration::from_secs(60);
    // Sinks write out a full buffer before any flush.
    while !written() {
        assert!(Instant::now() < deadline, "no output written: {:?}", service.seen);
        std::thread::sleep(Duration::from_millis(10));
    }
    let stderr = service.kill();
    assert!(!stderr.contains("resumed: "), "{stderr}");
    let stderr = resume_to_the_end(&dir, &input);
    assert!(stderr.contains("(0 records read before it)"), "{stderr}");
    assert_outputs_are_reduce(&dir, &all, "killed within the first interval");
}

#[test]
fn sigterm_keeps_open_calls_for_the_next_run() {
    let dir = Outdir::new("checkpoint-term");
    let all = generated(&dir, "20", "600", "8");
    let text = std::fs::read_to_string(&all).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let (first, second) = lines.split_at(lines.len() / 2);
    let input = dir.path("in.ndjson");
    std::fs::write(&input, first.join("\n") + "\n").unwrap();
    let args = run_args(&dir, &input, &[]);
    let mut service = start(&args);
    service.wait_for("ready: source");
    // Everything there is read once the run has been idle a while.
    std::thread::sleep(Duration::from_millis(800));
    let (status, stderr) = service.terminate();
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains(&format!("records: {} read", first.len())), "{stderr}");
    assert!(stderr.contains("(0 open calls flushed at the end)"), "{stderr}");
    let calls = std::fs::read_to_string(dir.path("calls")).unwrap();
    assert!(!calls.contains("\"ended\":null"), "open calls were kept, not written");

    std::fs::OpenOptions::new()
        .append(true)
        .open(&input)
        .unwrap()
        .write_all((second.join("\n") + "\n").as_bytes())
        .unwrap();
    let out = ctistream(
        &run_args(&dir, &input, &["--until-idle", "0.5"])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains(&format!("records: {} read", second.len())), "{stderr}");
    // The agents and stats snapshots are written at each stop: compare the
    // calls and changes, which are written once each.
    let expected = reduced(&dir, &all);
    assert_eq!(sorted_lines(&dir.path("calls")), expected[0]);
    assert_eq!(sorted_lines(&dir.path("changes")), expected[2]);
}

#[test]
fn a_damaged_or_unfitting_checkpoint_is_refused_whole() {
    let dir = Outdir::new("checkpoint-refuse");
    let input = generated(&dir, "10", "100", "3");
    let args = run_args(&dir, &input, &["--until-idle", "0.3"]);
    let run = |args: &[String]| {
        let out = ctistream(&args.iter().map(String::as_str).collect::<Vec<_>>());
        (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (ok, stderr) = run(&args);
    assert!(ok, "{stderr}");
    let calls = dir.text("calls");
    let checkpoint = std::path::Path::new(&dir.path("state")).join("ctistream.ckpt");
    let saved = std::fs::read(&checkpoint).unwrap();

    let mut other_source = args.clone();
    other_source[2] = format!("file:{}?follow=true", dir.path("other.ndjson"));
    std::fs::write(dir.path("other.ndjson"), "").unwrap();
    let (ok, stderr) = run(&other_source);
    assert!(!ok && stderr.contains("was taken by a run reading"), "{stderr}");

    let mut damaged = saved.clone();
    let middle = damaged.len() / 2;
    damaged[middle] ^= 0x40;
    std::fs::write(&checkpoint, &damaged).unwrap();
    let (ok, stderr) = run(&args);
    assert!(!ok && stderr.contains("damaged checkpoint"), "{stderr}");
    assert!(stderr.contains("ctistream.ckpt"), "{stderr}");
    assert_eq!(dir.text("calls"), calls, "a refused run writes nothing");
}

#[test]
fn a_restart_with_another_shard_count_goes_on_from_the_checkpoint() {
    let dir = Outdir::new("checkpoint-reshard");
    let all = generated(&dir, "30", "1200", "9");
    let text = std::fs::read_to_string(&all).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let input = dir.path("in.ndjson");
    std::fs::write(&input, "").unwrap();
    // A third of the input per run; the first two are stopped by SIGTERM,
    // their open calls kept in the checkpoint; each run has other shards.
    for (round, shards) in ["2", "3", "1"].into_iter().enumerate() {
        let part = &lines[lines.len() * round / 3..lines.len() * (round + 1) / 3];
        let mut file = std::fs::OpenOptions::new().append(true).open(&input).unwrap();
        file.write_all((part.join("\n") + "\n").as_bytes()).unwrap();
        let mut args = run_args(&dir, &input, &[]);
        args[4] = shards.to_owned();
        let stderr = if round < 2 {
            let mut service = start(&args);
            service.wait_for("ready: source");
            // Time to read the part; what is not read yet, the next run reads.
            std::thread::sleep(Duration::from_millis(700));
            let (status, stderr) = service.terminate();
            assert!(status.success(), "{stderr}");
            stderr
        } else {
            args.extend(["--until-idle".to_owned(), "0.5".to_owned()]);
            let out = ctistream(&args.iter().map(String::as_str).collect::<Vec<_>>());
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            String::from_utf8_lossy(&out.stderr).into_owned()
        };
        let moved = [
            "",
            "the state of 2 shards is spread over 3",
            "the state of 3 shards is spread over 1",
        ];
        assert!(stderr.contains(moved[round]), "{stderr}");
    }
    assert_outputs_are_reduce(&dir, &all, "2, then 3, then 1 shards");
}
