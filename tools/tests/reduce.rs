//! `ctistream reduce` run as a user would, on the mixed sample: every output
//! file in its PROTOCOLS.md shape, the summary on stderr, and clear failures.

mod common;

use common::*;

use std::path::{Path, PathBuf};

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/mixed.txt")
}

#[test]
fn mixed_sample_reduces_into_every_output() {
    let out = Outdir::new("mixed");
    let output = ctistream(&[
        "reduce",
        sample().to_str().unwrap(),
        "--agents-out",
        &out.path("agents.ndjson"),
        "--calls-out",
        &out.path("calls.ndjson"),
        "--changes-out",
        &out.path("changes.ndjson"),
        "--stats-out",
        &out.path("stats.ndjson"),
        "--rejects-out",
        &out.path("rejects.ndjson"),
    ]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let summary = String::from_utf8(output.stderr).unwrap();
    assert!(summary.contains("accepted 19  rejected 4"), "{summary}");
    assert!(summary.contains("call records                  1"), "{summary}");

    // The tlog queue entry and release join the genesys ringing and answer of
    // the same ConnID into one call thread.
    assert_eq!(
        out.text("calls.ndjson"),
        concat!(
            r#"{"tenant":"t1","call":"05B9PTFV4D1EJ3N7","type":"Inbound","ani":null,"dnis":null,"#,
            r#""started":"2026-11-20T09:15:00.010Z","ended":"2026-11-20T09:17:30.500Z","outcome":"Answered","#,
            r#""queue":"8005550100","agents":["a1001"],"queue_ms":1040,"ring_ms":3200,"talk_ms":146250,"#,
            r#""hold_ms":0,"transfers":0,"conference":false,"events":4}"#,
            "\n"
        )
    );
    let agents = out.lines("agents.ndjson");
    let a1001 = agents.iter().find(|agent| agent["agent"] == "a1001").unwrap();
    assert_eq!(a1001["status"], "AfterCallWork");
    assert_eq!(a1001["reason"], "Wrap");
    assert_eq!(a1001["calls_handled"], 1);
    assert_eq!(a1001["totals_ms"]["talking"], 146_250);
    let a2002 = agents.iter().find(|agent| agent["agent"] == "a2002").unwrap();
    assert_eq!(
        (a2002["status"].as_str(), a2002["dn"].as_str()),
        (Some("AfterCallWork"), Some("5002"))
    );
    let port = agents.iter().find(|agent| agent["agent"] == "12").unwrap();
    assert_eq!(port["status"], "LoggedOut", "IVR port 12 logged out last");
    let first = out.text("agents.ndjson").lines().next().unwrap().to_owned();
    assert!(
        first.starts_with(r#"{"tenant":"default","agent":"12","dn":null,"status":"#),
        "{first}"
    );

    let changes = out.lines("changes.ndjson");
    let sdk: Vec<(&str, &str)> = changes
        .iter()
        .filter(|change| change["agent"] == "a2002")
        .map(|change| {
            (change["status"].as_str().unwrap(), change["previous"].as_str().unwrap_or("-"))
        })
        .collect();
    assert_eq!(
        sdk,
        [
            ("WaitForNextCall", "-"),
            ("CallInbound", "WaitForNextCall"),
            ("AfterCallWork", "CallInbound")
        ]
    );
    let keys: Vec<&str> = changes[0].as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys.len(), 6);
    assert!(out.text("changes.ndjson").starts_with(r#"{"tenant":"#));

    let stats = out.lines("stats.ndjson");
    let queue = stats.iter().find(|row| row["queue"] == "8005550100").unwrap();
    assert_eq!((queue["answered"].as_u64(), queue["abandoned"].as_u64()), (Some(1), Some(0)));
    assert_eq!(queue["service_level"], 1.0);
    assert_eq!(queue["asa_ms"], 4240, "queued 09:15:00.010, answered 09:15:04.250");
    assert_eq!(queue["aht_ms"], 146_250);
    assert_eq!(out.lines("rejects.ndjson").len(), 4);
}

#[test]
fn outputs_can_be_devices_that_hold_nothing_to_sync() {
    // `/dev/null` refuses fsync (EINVAL); throwing outputs away is still a
    // normal way to time a run.
    let sample = sample();
    let mut args = vec!["reduce", sample.to_str().unwrap()];
    for flag in ["--agents-out", "--calls-out", "--changes-out", "--stats-out", "--rejects-out"] {
        args.extend([flag, "/dev/null"]);
    }
    let output = ctistream(&args);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let summary = String::from_utf8(output.stderr).unwrap();
    assert!(summary.contains("accepted 19  rejected 4"), "{summary}");
}

#[test]
fn outputs_that_cannot_be_created_fail_before_reading() {
    let output = ctistream(&[
        "reduce",
        sample().to_str().unwrap(),
        "--agents-out",
        "/nonexistent/dir/agents.ndjson",
        "--calls-out",
        "/tmp/calls.ndjson",
    ]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cannot create agents output /nonexistent/dir/agents.ndjson"),
        "{stderr}"
    );

    let missing = ctistream(&["reduce", sample().to_str().unwrap(), "--agents-out", "/tmp/a"]);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("--calls-out"));
}

#[test]
fn unreadable_input_fails_with_its_name() {
    let out = Outdir::new("missing");
    let output = ctistream(&[
        "reduce",
        "/nonexistent/events.log",
        "--format",
        "tlog",
        "--agents-out",
        &out.path("agents.ndjson"),
        "--calls-out",
        &out.path("calls.ndjson"),
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("cannot open /nonexistent/events.log")
    );
}
