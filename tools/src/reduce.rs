//! `ctistream reduce`: read files of events and reduce them, on the sharded
//! pipeline, into agent snapshots, call detail records, agent status changes,
//! queue statistics and interaction records.

use std::fmt;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::PoisonError;
use std::time::Instant;

use anyhow::Context;
use ctistream_adapters::file::sync_written;
use ctistream_core::pipeline::{Latency, Origin, Pipeline, PipelineConfig};
use ctistream_core::state::{
    self, AgentChange, CallRecord, CallSide, InteractionRecord, InteractionSummary, Outputs,
    ReduceCounters, ReducerConfig,
};
use ctistream_core::{DecodeError, Timestamp};

use crate::input::{
    InputOptions, InputReport, RejectLog, SharedRejects, grouped, origin_name, read_frames,
};

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
    /// Latency histograms as `.hgrm` files.
    pub histograms_out: Option<PathBuf>,
    /// Shard threads.
    pub shards: usize,
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
    pub open_calls: u64,
    /// Orchestration results, errors and latency.
    pub interactions: InteractionSummary,
    /// Shard threads used.
    pub shards: usize,
    /// Every stage's latency.
    pub latency: Latency,
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
        sync_written(self.out.get_ref()).with_context(|| format!("cannot sync {path}"))
    }
}

/// The outputs written as they happen, on the pipeline's agent stage.
#[derive(Debug)]
struct FileOutputs {
    calls: NdjsonFile,
    changes: Option<NdjsonFile>,
    interactions: Option<NdjsonFile>,
    rejects: SharedRejects,
    sources: Vec<String>,
    open_calls: u64,
}

impl Outputs for FileOutputs {
    fn agent_change(&mut self, change: &AgentChange<'_>) {
        if let Some(changes) = self.changes.as_mut() {
            changes.write(|line| change.write_json(line));
        }
    }

    fn call_record(&mut self, record: &CallRecord) {
        if record.ended.is_none() {
            self.open_calls += 1;
        }
        self.calls.write(|line| record.write_json(line));
    }

    fn interaction_record(&mut self, record: &InteractionRecord) {
        if let Some(interactions) = self.interactions.as_mut() {
            interactions.write(|line| record.write_json(line));
        }
    }

    fn reject(&mut self, origin: Origin, error: &DecodeError, raw: &[u8]) {
        let source = self.sources.get(origin.source as usize).map_or("?", String::as_str);
        let origin = format!("{source}:{}", origin.line);
        let mut log = self.rejects.lock().unwrap_or_else(PoisonError::into_inner);
        log.reject(origin, error.class(), error.to_string(), raw);
    }
}

/// Reduces the inputs on the pipeline and writes every output.
///
/// # Errors
/// When an input cannot be read or an output cannot be created or written;
/// outputs are created before any input is read, so a bad path fails fast.
pub fn reduce(options: &ReduceOptions) -> anyhow::Result<ReduceSummary> {
    let mut agents = NdjsonFile::create(&options.agents_out, "agents")?;
    let calls = NdjsonFile::create(&options.calls_out, "calls")?;
    let changes =
        options.changes_out.as_deref().map(|p| NdjsonFile::create(p, "changes")).transpose()?;
    let mut stats =
        options.stats_out.as_deref().map(|p| NdjsonFile::create(p, "stats")).transpose()?;
    let interactions = options
        .interactions_out
        .as_deref()
        .map(|p| NdjsonFile::create(p, "interactions"))
        .transpose()?;
    if let Some(dir) = &options.histograms_out {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create histograms directory {}", dir.display()))?;
    }
    let rejects = RejectLog::create(options.input.rejects_out.as_deref())?;
    let outputs = FileOutputs {
        calls,
        changes,
        interactions,
        rejects: rejects.clone(),
        sources: options.input.inputs.iter().map(|path| origin_name(path)).collect(),
        open_calls: 0,
    };
    let config = PipelineConfig {
        shards: options.shards.max(1),
        format: options.input.format,
        decode: options.input.decode.clone(),
        reducer: options.config,
        ..PipelineConfig::default()
    };
    let started = Instant::now();
    let mut pipeline = Pipeline::start(config, outputs);
    let read = read_frames(&options.input, &rejects, |frame, source, ingest| {
        let origin = Origin { source, line: frame.line };
        pipeline.push(frame.payload, frame.key, origin, ingest);
        Ok(())
    });
    // Drain and stop the pipeline whatever happened to the input.
    let done = pipeline.finish();
    let mut input = read?;
    input.elapsed = started.elapsed();
    input.add_kinds(done.kinds.iter());
    RejectLog::finish(&rejects, &mut input)?;

    agents.write(|line| state::write_agent_snapshots(&done.agent_sides(), line));
    let watermark = done.calls.iter().map(CallSide::watermark).max().unwrap_or(Timestamp(0));
    if let Some(stats) = stats.as_mut() {
        stats.write(|line| {
            state::write_stats(&done.call_sides(), &done.agent_sides(), watermark, line)
        });
    }
    let counters = done.counters();
    let mut interactions_summary = InteractionSummary::default();
    for side in &done.calls {
        interactions_summary.merge(side.interactions());
    }
    if let Some(dir) = &options.histograms_out {
        done.latency
            .write_hgrm(dir)
            .with_context(|| format!("cannot write histograms to {}", dir.display()))?;
    }
    let outputs = done.outputs;
    let open_calls = outputs.open_calls;
    for file in [Some(agents), Some(outputs.calls), outputs.changes, stats, outputs.interactions]
        .into_iter()
        .flatten()
    {
        file.finish()?;
    }
    Ok(ReduceSummary {
        input,
        counters,
        agents: done.agents.iter().map(|side| side.agents().len()).sum(),
        open_calls,
        interactions: interactions_summary,
        shards: options.shards.max(1),
        latency: done.latency,
    })
}

impl fmt::Display for ReduceSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.input)?;
        let c = &self.counters;
        writeln!(
            f,
            "\nreduced {} events on {} shard{}:",
            grouped(c.events),
            self.shards,
            if self.shards == 1 { "" } else { "s" }
        )?;
        writeln!(f, "  agents               {:>10}", grouped(self.agents as u64))?;
        writeln!(f, "  agent status changes {:>10}", grouped(c.agent_changes))?;
        writeln!(f, "  call records         {:>10}", grouped(c.call_records))?;
        writeln!(f, "  calls open at end    {:>10}", grouped(self.open_calls))?;
        writeln!(f, "  duplicates dropped   {:>10}", grouped(c.duplicates))?;
        writeln!(f, "  unattributed events  {:>10}", grouped(c.unattributed))?;
        if c.interaction_records > 0 {
            writeln!(f, "  interaction records  {:>10}", grouped(c.interaction_records))?;
            write!(f, "\n{}", self.interactions)?;
        }
        if c.uncertain_marks > 0 {
            writeln!(f, "  agents made uncertain by a lost link {}", grouped(c.uncertain_marks))?;
        }
        write!(f, "\nlatency:\n{}", self.latency.table())
    }
}
