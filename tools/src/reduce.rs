//! `ctistream reduce`: read files of events and reduce them into agent
//! snapshots, call detail records, agent status changes and queue statistics.

use std::fmt;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use ctistream_core::state::{
    CallRecord, InteractionRecord, InteractionSummary, Interner, Outputs, ReduceCounters, Reducer,
    ReducerConfig, StatusChange,
};

use crate::input::{InputOptions, InputReport, grouped, read_events};

/// Where `reduce` writes and how it reduces.
#[derive(Clone, Debug)]
pub struct ReduceOptions {
    /// The inputs.
    pub input: InputOptions,
    /// Agent snapshots at end of input.
    pub agents_out: PathBuf,
    /// Call detail records.
    pub calls_out: PathBuf,
    /// Agent status changes as they happen.
    pub changes_out: Option<PathBuf>,
    /// Queue statistics at end of input.
    pub stats_out: Option<PathBuf>,
    /// Orchestration interaction records.
    pub interactions_out: Option<PathBuf>,
    /// Reducer settings.
    pub config: ReducerConfig,
}

/// What `reduce` did.
#[derive(Clone, Debug)]
pub struct ReduceSummary {
    /// What reading the inputs found.
    pub input: InputReport,
    /// What the reducer did.
    pub counters: ReduceCounters,
    /// Agents in the snapshot.
    pub agents: usize,
    /// Call threads still open at end of input (flushed with `"ended":null`).
    pub open_calls: usize,
    /// Orchestration results, errors and latency.
    pub interactions: InteractionSummary,
}

/// An NDJSON output file with a reused line buffer.
#[derive(Debug)]
struct NdjsonFile {
    path: PathBuf,
    out: BufWriter<File>,
    line: Vec<u8>,
    error: Option<std::io::Error>,
}

impl NdjsonFile {
    fn create(path: &Path, what: &str) -> anyhow::Result<NdjsonFile> {
        let file = File::create(path)
            .with_context(|| format!("cannot create {what} output {}", path.display()))?;
        Ok(NdjsonFile {
            path: path.to_owned(),
            out: BufWriter::with_capacity(1 << 16, file),
            line: Vec::with_capacity(512),
            error: None,
        })
    }

    /// Writes what `fill` appends; the first error is kept for `finish`.
    fn write(&mut self, fill: impl FnOnce(&mut Vec<u8>)) {
        self.line.clear();
        fill(&mut self.line);
        if self.error.is_none() {
            if let Err(error) = self.out.write_all(&self.line) {
                self.error = Some(error);
            }
        }
    }

    fn finish(mut self) -> anyhow::Result<()> {
        let path = self.path.display().to_string();
        if let Some(error) = self.error.take() {
            return Err(error).with_context(|| format!("cannot write {path}"));
        }
        self.out.flush().with_context(|| format!("cannot write {path}"))?;
        self.out.get_ref().sync_all().with_context(|| format!("cannot sync {path}"))
    }
}

/// The changes and call records, written as they happen.
struct FileOutputs {
    calls: NdjsonFile,
    changes: Option<NdjsonFile>,
    interactions: Option<NdjsonFile>,
}

impl Outputs for FileOutputs {
    fn agent_change(&mut self, change: &StatusChange, names: &Interner) {
        if let Some(changes) = self.changes.as_mut() {
            changes.write(|line| change.write_json(names, line));
        }
    }

    fn call_record(&mut self, record: &CallRecord) {
        self.calls.write(|line| record.write_json(line));
    }

    fn interaction_record(&mut self, record: &InteractionRecord) {
        if let Some(interactions) = self.interactions.as_mut() {
            interactions.write(|line| record.write_json(line));
        }
    }
}

/// Reduces the inputs and writes every output.
///
/// # Errors
/// When an input cannot be read or an output cannot be created or written;
/// outputs are created before any input is read, so a bad path fails fast.
pub fn reduce(options: &ReduceOptions) -> anyhow::Result<ReduceSummary> {
    let mut agents = NdjsonFile::create(&options.agents_out, "agents")?;
    let calls = NdjsonFile::create(&options.calls_out, "calls")?;
    let changes = options
        .changes_out
        .as_deref()
        .map(|path| NdjsonFile::create(path, "changes"))
        .transpose()?;
    let mut stats =
        options.stats_out.as_deref().map(|path| NdjsonFile::create(path, "stats")).transpose()?;
    let interactions = options
        .interactions_out
        .as_deref()
        .map(|path| NdjsonFile::create(path, "interactions"))
        .transpose()?;
    let mut outputs = FileOutputs { calls, changes, interactions };
    let mut reducer = Reducer::new(options.config);
    let started = Instant::now();
    let mut input = read_events(&options.input, |event, ingest| {
        reducer.apply(event, ingest, &mut outputs);
        Ok(())
    })?;
    let open_calls = reducer.calls().open();
    reducer.finish(&mut outputs);
    input.elapsed = started.elapsed();
    agents.write(|line| reducer.write_agent_snapshots(line));
    if let Some(stats) = stats.as_mut() {
        stats.write(|line| reducer.write_stats(reducer.watermark(), line));
    }
    let FileOutputs { calls, changes, interactions } = outputs;
    for file in [Some(agents), Some(calls), changes, stats, interactions].into_iter().flatten() {
        file.finish()?;
    }
    Ok(ReduceSummary {
        input,
        counters: reducer.counters(),
        agents: reducer.agents().len(),
        open_calls,
        interactions: reducer.interactions().clone(),
    })
}

impl fmt::Display for ReduceSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.input)?;
        let c = &self.counters;
        writeln!(f, "\nreduced {} events:", grouped(c.events))?;
        writeln!(f, "  agents               {:>10}", grouped(self.agents as u64))?;
        writeln!(f, "  agent status changes {:>10}", grouped(c.agent_changes))?;
        writeln!(f, "  call records         {:>10}", grouped(c.call_records))?;
        writeln!(f, "  calls open at end    {:>10}", grouped(self.open_calls as u64))?;
        writeln!(f, "  duplicates dropped   {:>10}", grouped(c.duplicates))?;
        writeln!(f, "  unattributed events  {:>10}", grouped(c.unattributed))?;
        if c.interaction_records > 0 {
            writeln!(f, "  interaction records  {:>10}", grouped(c.interaction_records))?;
            write!(f, "\n{}", self.interactions)?;
        }
        if c.uncertain_marks > 0 {
            writeln!(f, "  agents made uncertain by a lost link {}", grouped(c.uncertain_marks))?;
        }
        Ok(())
    }
}
