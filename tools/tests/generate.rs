//! `ctistream gen` at scale: the generated contact center reduces to exactly
//! the call outcomes the generator meant, in every dialect and shard count,
//! and the same seed gives the same bytes.

mod common;

use common::*;

use std::collections::HashMap;

/// (tenant, call) → (outcome, sorted agents).
fn outcomes(records: &[serde_json::Value]) -> HashMap<(String, String), (String, Vec<String>)> {
    records
        .iter()
        .map(|r| {
            let mut agents: Vec<String> = r["agents"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap().to_owned())
                .collect();
            agents.sort();
            let key =
                (r["tenant"].as_str().unwrap().to_owned(), r["call"].as_str().unwrap().to_owned());
            (key, (r["outcome"].as_str().unwrap().to_owned(), agents))
        })
        .collect()
}

fn generate(out: &Outdir, dialect: &str, seed: &str) {
    let output = ctistream(&[
        "gen",
        "--agents",
        "60",
        "--calls",
        "3000",
        "--tenants",
        "2",
        "--seed",
        seed,
        "--dialect",
        dialect,
        "--out",
        &out.path("events.txt"),
        "--expected-out",
        &out.path("expected.ndjson"),
    ]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let summary = String::from_utf8(output.stderr).unwrap();
    assert!(summary.contains("of 3000 calls"), "{summary}");
}

fn reduce_matches_expected(dialect: &str) {
    let out = Outdir::new(dialect);
    generate(&out, dialect, "7");
    let expected = outcomes(&out.lines("expected.ndjson"));
    assert_eq!(expected.len(), 3000);
    // Realistic proportions: most calls answered, some of every other kind.
    let mut by_outcome: HashMap<&str, usize> = HashMap::new();
    for (outcome, _) in expected.values() {
        *by_outcome.entry(outcome.as_str()).or_default() += 1;
    }
    assert!(by_outcome["Answered"] > 2400, "{by_outcome:?}");
    for outcome in ["AbandonedInQueue", "AbandonedRinging", "Busy", "NoAnswer"] {
        assert!(by_outcome.get(outcome).copied().unwrap_or(0) > 5, "{outcome}: {by_outcome:?}");
    }
    for shards in ["1", "2", "3"] {
        let calls = format!("calls-{shards}.ndjson");
        let output = ctistream(&[
            "reduce",
            &out.path("events.txt"),
            "--shards",
            shards,
            "--agents-out",
            &out.path("agents.ndjson"),
            "--calls-out",
            &out.path(&calls),
            "--rejects-out",
            &out.path("rejects.ndjson"),
        ]);
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        assert_eq!(std::fs::read_to_string(out.path("rejects.ndjson")).unwrap(), "");
        let got = outcomes(&out.lines(&calls));
        assert_eq!(got.len(), expected.len(), "{dialect}, {shards} shards");
        for (key, want) in &expected {
            assert_eq!(got.get(key), Some(want), "{dialect}, {shards} shards, call {key:?}");
        }
        // Every agent logged out at the end of the day.
        let agents = out.lines("agents.ndjson");
        assert_eq!(agents.len(), 120);
        assert!(agents.iter().all(|a| a["status"] == "LoggedOut"), "{dialect}: {agents:?}");
    }
}

#[test]
fn genesys_traffic_reduces_to_the_expected_outcomes() {
    reduce_matches_expected("genesys");
}

#[test]
fn tlog_traffic_reduces_to_the_expected_outcomes() {
    reduce_matches_expected("tlog");
}

#[test]
fn mixed_traffic_reduces_to_the_expected_outcomes() {
    reduce_matches_expected("mixed");
}

#[test]
fn the_same_seed_gives_the_same_bytes() {
    let (a, b, c) = (Outdir::new("seed-a"), Outdir::new("seed-b"), Outdir::new("seed-c"));
    generate(&a, "mixed", "11");
    generate(&b, "mixed", "11");
    generate(&c, "mixed", "12");
    let read = |dir: &Outdir| std::fs::read(dir.path("events.txt")).unwrap();
    assert_eq!(read(&a), read(&b));
    assert_ne!(read(&a), read(&c));
}

#[test]
fn unsupported_outputs_and_rates_fail_clearly() {
    let output =
        ctistream(&["gen", "--calls", "10", "--out", "kafka://localhost:9092/voice-callthread"]);
    assert!(!output.status.success());
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(message.contains("--out kafka://") && message.contains("write to a file"), "{message}");
    let output = ctistream(&["gen", "--calls", "10", "--rate", "0", "--out", "-"]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("--rate 0"));
}
