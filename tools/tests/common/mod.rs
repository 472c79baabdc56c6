//! What the command-line tests share: running the binary and a scratch
//! directory removed when the test ends.

// Each test file uses its own part of this module.
#![allow(dead_code)]

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
