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
    // Nobody at the broker's address: the messages time out, and gen says so.
    let unreachable = "kafka://127.0.0.1:1/voice-callthread?message.timeout.ms=1500";
    let output = ctistream(&["gen", "--calls", "10", "--out", unreachable]);
    assert!(!output.status.success());
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(message.contains("cannot write the events to kafka://127.0.0.1:1"), "{message}");
    assert!(message.contains("not delivered"), "{message}");
    let output = ctistream(&["gen", "--calls", "10", "--out", "kafka://127.0.0.1:1"]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("no topic"), "a URL without a topic");
    let output = ctistream(&["gen", "--calls", "10", "--rate", "0", "--out", "-"]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("--rate 0"));
}

/// Reduces `events.txt` to agents, calls and `outputs` (`(flag, file)`); no
/// record rejected.
fn reduce_outputs(out: &Outdir, outputs: &[(&str, &str)]) {
    let mut args = vec!["reduce".to_owned(), out.path("events.txt")];
    let always = [
        ("--agents-out", "agents.ndjson"),
        ("--calls-out", "calls.ndjson"),
        ("--rejects-out", "rejects.ndjson"),
    ];
    for (flag, file) in outputs.iter().chain(&always) {
        args.extend([(*flag).to_owned(), out.path(file)]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = ctistream(&args);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(out.text("rejects.ndjson"), "");
}

#[test]
fn sdk_traffic_gives_each_agent_the_calls_it_answered() {
    let out = Outdir::new("sdk");
    generate(&out, "sdk", "7");
    let mut answered: HashMap<(String, String), u64> = HashMap::new();
    for ((tenant, _), (outcome, agents)) in outcomes(&out.lines("expected.ndjson")) {
        for agent in agents.into_iter().filter(|_| outcome == "Answered") {
            *answered.entry((tenant.clone(), agent)).or_default() += 1;
        }
    }
    reduce_outputs(&out, &[]);
    assert_eq!(out.text("calls.ndjson"), "", "desktops report agents, not call records");
    let agents = out.lines("agents.ndjson");
    assert_eq!(agents.len(), 120);
    for agent in &agents {
        let key = (
            agent["tenant"].as_str().unwrap().to_owned(),
            agent["agent"].as_str().unwrap().to_owned(),
        );
        assert_eq!(agent["status"], "LoggedOut", "{agent}");
        assert_eq!(agent["calls_handled"], answered.get(&key).copied().unwrap_or(0), "{agent}");
        assert!(agent["totals_ms"]["talking"].as_u64().unwrap() > 0, "{agent}");
    }
}

#[test]
fn ivr_traffic_logs_every_agent_in_and_out() {
    let out = Outdir::new("ivr");
    generate(&out, "ivr", "7");
    reduce_outputs(&out, &[("--changes-out", "changes.ndjson")]);
    let agents = out.lines("agents.ndjson");
    assert_eq!(agents.len(), 120);
    assert!(agents.iter().all(|a| a["status"] == "LoggedOut"), "{agents:?}");
    let changes = out.lines("changes.ndjson");
    for status in ["WaitForNextCall", "NotReadyForNextCall", "LoggedOut"] {
        let count = changes.iter().filter(|c| c["status"] == status).count();
        assert!(count >= 120, "{status}: {count} changes");
    }
}

#[test]
fn ors_traffic_gives_one_finished_interaction_per_routed_call() {
    let out = Outdir::new("ors");
    generate(&out, "ors", "7");
    let expected = outcomes(&out.lines("expected.ndjson"));
    reduce_outputs(&out, &[("--interactions-out", "interactions.ndjson")]);
    let interactions = out.lines("interactions.ndjson");
    let mut seen = std::collections::HashSet::new();
    for record in &interactions {
        let key = (
            record["tenant"].as_str().unwrap().to_owned(),
            record["interaction"].as_str().unwrap().to_owned(),
        );
        assert!(seen.insert(key.clone()), "{key:?} twice");
        let (outcome, _) = expected.get(&key).unwrap_or_else(|| panic!("{key:?} is no call"));
        assert!(!record["deleted"].is_null(), "{record}");
        // Routed to an agent: one redirect and its result, the agent a party.
        let routed = outcome != "AbandonedInQueue";
        assert_eq!(record["results"], u64::from(routed), "{outcome}: {record}");
        assert_eq!(record["parties"].as_u64().unwrap() > 0, routed, "{outcome}: {record}");
    }
    // Every inbound call is an interaction; outbound ones (busy, no answer) are not.
    for ((tenant, call), (outcome, _)) in &expected {
        let key = (tenant.clone(), call.clone());
        match outcome.as_str() {
            "AbandonedInQueue" | "AbandonedRinging" => assert!(seen.contains(&key), "{key:?}"),
            "Busy" | "NoAnswer" => assert!(!seen.contains(&key), "{key:?}"),
            _ => {}
        }
    }
    assert!(interactions.len() * 100 > expected.len() * 90, "{} interactions", interactions.len());
}
