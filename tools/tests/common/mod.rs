//! What the command-line tests share: running the binary and a scratch
//! directory removed when the test ends.

// Each test file uses its own part of this module.
#![allow(dead_code)]

pub mod service;

use std::path::PathBuf;
use std::process::{Command, Output};

/// Runs `ctistream` with `args`.
pub fn ctistream(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ctistream")).args(args).output().expect("ctistream runs")
}

/// A scratch directory, unique to the test process and name.
pub struct Outdir(pub PathBuf);

impl Outdir {
    pub fn new(name: &str) -> Outdir {
        let dir =
            std::env::temp_dir().join(format!("ctistream-test-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Outdir(dir)
    }

    pub fn path(&self, file: &str) -> String {
        self.0.join(file).to_string_lossy().into_owned()
    }

    /// The NDJSON lines of `file`, parsed.
    pub fn lines(&self, file: &str) -> Vec<serde_json::Value> {
        self.text(file).lines().map(|line| serde_json::from_str(line).unwrap()).collect()
    }

    pub fn text(&self, file: &str) -> String {
        std::fs::read_to_string(self.0.join(file)).unwrap()
    }
}

impl Drop for Outdir {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}

/// `ctistream gen` output (no broken record) in `events.ndjson`; its path.
pub fn generated(dir: &Outdir, agents: &str, calls: &str, seed: &str) -> String {
    let path = dir.path("events.ndjson");
    let args = ["gen", "--agents", agents, "--calls", calls, "--seed", seed, "--out", &path];
    let out = ctistream(&args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    path
}

pub fn sorted_lines(path: &str) -> Vec<String> {
    let mut lines: Vec<String> =
        std::fs::read_to_string(path).unwrap().lines().map(str::to_owned).collect();
    lines.sort();
    lines
}

/// What `reduce` writes for `input`, per output.
pub fn reduced(dir: &Outdir, input: &str) -> [Vec<String>; 4] {
    let names = ["r-calls", "r-agents", "r-changes", "r-stats"].map(|n| dir.path(n));
    let out = ctistream(&[
        "reduce",
        input,
        "--calls-out",
        &names[0],
        "--agents-out",
        &names[1],
        "--changes-out",
        &names[2],
        "--stats-out",
        &names[3],
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    names.map(|path| sorted_lines(&path))
}
