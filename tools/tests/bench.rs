//! `ctistream bench` as a user runs it: every run reported, the ratio lines in
//! their machine-readable form, the plot and the histograms written. The
//! numbers themselves are measurements, not asserted.

use std::process::Command;

#[test]
fn a_small_bench_reports_every_run_and_the_ratios() {
    let dir = std::env::temp_dir().join(format!("ctistream-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let plot = dir.join("latency.svg");
    let histograms = dir.join("hgrm");
    let output = Command::new(env!("CARGO_BIN_EXE_ctistream"))
        .args(["bench", "--events", "30000", "--shards", "2", "--plot"])
        .arg(&plot)
        .arg("--histograms-out")
        .arg(&histograms)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let text = String::from_utf8(output.stdout).unwrap();
    for run in [
        "floor (memchr lines)",
        "ctistream decode, 1 core",
        "ctistream 1 thread, no rings",
        "ctistream pipeline, 2 shards",
        "ctistream pipeline, 50% load",
        "lean baseline",
        "naive baseline",
    ] {
        assert!(text.contains(run), "{run:?} missing:\n{text}");
    }
    for ratio in [
        "ratio_vs_naive=",
        "ratio_vs_lean=",
        "fraction_of_floor=",
        "machine_stall_p99_us=",
        "machine_wakeup_p99_us=",
    ] {
        let line =
            text.lines().find(|line| line.starts_with(ratio)).unwrap_or_else(|| panic!("{text}"));
        let value: f64 = line[ratio.len()..].parse().unwrap();
        assert!(value.is_finite() && value > 0.0, "{line}");
    }
    assert!(
        text.contains("machine stall floor: a thread that only spins did not run for"),
        "{text}"
    );
    assert!(
        text.contains("machine wake-up floor: a parked thread runs, after another wakes it, in"),
        "{text}"
    );
    // Where the 50%-load run's time goes, stage by stage.
    let stages =
        text.split("pipeline at 50% load, per stage:\n").nth(1).unwrap_or_else(|| panic!("{text}"));
    for stage in ["ring_wait", "decode", "reduce", "agent_wait", "end_to_end"] {
        let row = stages.lines().find(|line| line.starts_with(stage));
        let count =
            row.and_then(|row| row.split_whitespace().nth(1)).and_then(|n| n.parse::<u64>().ok());
        assert!(count.is_some_and(|count| count > 0), "{stage} missing or empty:\n{stages}");
    }
    let svg = std::fs::read_to_string(&plot).unwrap();
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    assert_eq!(svg.matches("<polyline").count(), 5, "all but the floor and decode have latencies");
    for name in [
        "ctistream_1_thread__no_rings",
        "ctistream_pipeline",
        "ctistream_pipeline__50__load",
        "lean_baseline",
        "naive_baseline",
        "machine_stall_floor",
        "machine_wakeup_floor",
    ] {
        let hgrm = std::fs::read_to_string(histograms.join(format!("{name}.hgrm"))).unwrap();
        assert!(hgrm.contains("Percentile") && hgrm.contains("#[Max"), "{name}");
    }
    std::fs::remove_dir_all(&dir).ok();

    let failed = Command::new(env!("CARGO_BIN_EXE_ctistream"))
        .args(["bench", "--events", "10"])
        .output()
        .unwrap();
    assert!(!failed.status.success());
    assert!(String::from_utf8_lossy(&failed.stderr).contains("--events 10"));
}
