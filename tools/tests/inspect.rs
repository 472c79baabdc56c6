//! `ctistream inspect` run as a user would: on the mixed sample of all five
//! dialects, on standard input, and with inputs that cannot be opened.

mod common;

use common::*;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/mixed.txt")
}

fn temp_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("ctistream-{}-{name}", std::process::id()))
}

#[test]
fn mixed_sample_reports_every_dialect_and_every_broken_record() {
    let rejects = temp_path("rejects.ndjson");
    let output = ctistream(&[
        "inspect",
        sample().to_str().unwrap(),
        "--rejects-out",
        rejects.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let report = String::from_utf8(output.stdout).unwrap();
    assert!(report.starts_with("23 records from 1 file"), "{report}");
    assert!(
        report.contains("accepted 19  rejected 4  skipped log lines 1  blank lines 1"),
        "{report}"
    );
    for expected in [
        "genesys: 5",
        "tlog: 2",
        "ors: 4",
        "sdk: 4",
        "ivr: 4",
        "  EventQueued ",
        "  interaction.added ",
        "  MonitorInfo/Agent ",
        "first at ",
    ] {
        assert!(report.contains(expected), "missing {expected:?} in\n{report}");
    }
    let text = std::fs::read_to_string(&rejects).unwrap();
    let lines: Vec<serde_json::Value> =
        text.lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    let got: Vec<(String, String)> = lines
        .iter()
        .map(|reject| {
            let keys: Vec<&str> = reject.as_object().unwrap().keys().map(String::as_str).collect();
            assert_eq!(keys, ["origin", "raw", "reason"], "serde_json sorts keys");
            (
                reject["origin"].as_str().unwrap().to_owned(),
                reject["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let origin = |line: u32| format!("{}:{line}", sample().display());
    assert_eq!(
        got,
        [
            (origin(25), "EventRinging without ThisDN at byte 0".to_owned()),
            (origin(28), "XML: mismatched end tag ('MonitorInfo') at byte 61".to_owned()),
            (origin(41), "expected ',' or '}' after object member at byte 109".to_owned()),
            (
                origin(45),
                "not a record of any known dialect (genesys, tlog, ors, sdk, ivr) at byte 0"
                    .to_owned()
            ),
        ]
    );
    assert_eq!(lines[3]["raw"], "call ended, agent went to wrap-up");
    assert!(text.starts_with("{\"origin\":"), "keys in contract order: {text}");
    std::fs::remove_file(rejects).ok();
}

#[test]
fn reads_standard_input_with_an_explicit_format() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ctistream"))
        .args(["inspect", "-", "--format", "genesys"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"t1:ct-1\t{\"id\":\"EventRinging\",\"ThisDN\":\"1\"}\n<Port/>\n")
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    let report = String::from_utf8(output.stdout).unwrap();
    assert!(report.contains("accepted 1  rejected 1"), "{report}");
    assert!(report.contains("first at stdin:2: expected a JSON value at byte 0"), "{report}");
}

#[test]
fn missing_inputs_and_bad_options_fail_with_a_clear_message() {
    let output = ctistream(&["inspect", "/nonexistent/events.ndjson"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot open /nonexistent/events.ndjson"), "{stderr}");

    let output = ctistream(&["inspect", "x", "--format", "xml"]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("unknown format 'xml'"));

    let output = ctistream(&["inspect", "x", "--log-date", "2026-13-01"]);
    assert!(String::from_utf8_lossy(&output.stderr).contains("is not a date YYYY-MM-DD"));

    let unwritable = ctistream(&[
        "inspect",
        sample().to_str().unwrap(),
        "--rejects-out",
        "/nonexistent/dir/rejects.ndjson",
    ]);
    assert_eq!(unwritable.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unwritable.stderr).contains("cannot create rejects output"));
}

#[test]
fn oversized_records_are_rejected_with_their_line() {
    let input = temp_path("big.ndjson");
    let big = format!("{{\"id\":\"EventRinging\",\"ThisDN\":\"{}\"}}", "9".repeat(300));
    std::fs::write(&input, format!("{big}\n{{\"id\":\"EventAgentReady\",\"ThisDN\":\"1\"}}\n"))
        .unwrap();
    let output = ctistream(&["inspect", input.to_str().unwrap(), "--max-record", "200"]);
    let report = String::from_utf8(output.stdout).unwrap();
    assert!(report.contains("accepted 1  rejected 1"), "{report}");
    assert!(report.contains("record longer than the limit of 200 bytes"), "{report}");
    assert!(report.contains(&format!("first at {}:1", input.display())), "{report}");
    std::fs::remove_file(input).ok();
}
