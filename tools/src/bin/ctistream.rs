//! The `ctistream` command: `inspect`, `reduce`, `gen`, `demo`, `bench` and
//! `run`, each a thin layer over `ctistream_tools` and `ctistream_core`.

use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand, ValueEnum};
use ctistream_core::pipeline::default_shards;
use ctistream_core::state::{CallConfig, ReducerConfig, StatsConfig};
use ctistream_core::{
    DEFAULT_MAX_DEPTH, DEFAULT_MAX_RECORD, DecodeOptions, Format, Framing, Timestamp,
};
use ctistream_tools::generate::GenDialect;
use ctistream_tools::input::InputOptions;
use ctistream_tools::inspect::inspect;
use ctistream_tools::reduce::{ReduceOptions, reduce};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A stream processor for contact-center telephony (CTI) events.
#[derive(Debug, Parser)]
#[command(name = "ctistream", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Decode files of events and report what was understood and what was rejected.
    Inspect(InputArgs),
    /// Reduce files of events into agent snapshots, call detail records, agent
    /// status changes and queue statistics.
    Reduce(ReduceArgs),
    /// Generate a seeded, reproducible contact center's events.
    Gen(GenArgs),
    /// Simulate a contact-center hour in memory, run it through the pipeline
    /// and print what an operator would watch: agents, queues, service level,
    /// abandons, handle time, and the pipeline's latency.
    Demo(DemoArgs),
    /// Run one generated workload side by side through the byte-scan floor,
    /// ctistream's decoder and full pipeline, and a lean and a naive baseline;
    /// print throughput, latency and the ratios.
    Bench(BenchArgs),
    /// Run as a service between Kafka topics, files and TCP sockets: read
    /// every source, reduce on the sharded pipeline, write each output to its
    /// sink, and commit source positions once the outputs are durable.
    Run(RunCliArgs),
}

#[derive(Debug, Args)]
#[command(after_help = "ENDPOINTS:\n  \
  file:PATH[?follow=true&framing=lines|length|tlog|auto&position=POSFILE]\n    \
  (sink: file:PATH[?rotate_bytes=N])\n  \
  tcp://HOST:PORT[?framing=lines|length&token=T&max_connections=N&idle_timeout=SECS]\n    \
  (a source listens for senders; a sink listens for subscribers: ?max_subscribers=N)\n  \
  kafka://BOOTSTRAP/TOPIC[,TOPIC][?group=G]   (default group ctistream-reducer)")]
struct RunCliArgs {
    /// Where records come from (repeatable).
    #[arg(long = "from", value_name = "SOURCE")]
    from: Vec<String>,
    /// Agent snapshots, written when the run stops.
    #[arg(long, value_name = "SINK")]
    agents_to: Option<String>,
    /// Call detail records, as calls end.
    #[arg(long, value_name = "SINK")]
    calls_to: Option<String>,
    /// Agent status changes, as they happen.
    #[arg(long, value_name = "SINK")]
    changes_to: Option<String>,
    /// Queue statistics, written when the run stops.
    #[arg(long, value_name = "SINK")]
    stats_to: Option<String>,
    /// Orchestration interaction records.
    #[arg(long, value_name = "SINK")]
    interactions_to: Option<String>,
    /// Records that could not be framed or decoded, with origin and reason.
    #[arg(long, value_name = "SINK")]
    rejects_to: Option<String>,
    /// Stop after this many seconds with no input (batch use and tests).
    #[arg(long, value_name = "SECS")]
    until_idle: Option<f64>,
    /// Commit source positions this often (once their outputs are durable)
    /// [default: 1].
    #[arg(long, value_name = "SECS")]
    commit_every: Option<f64>,
    /// Serve Prometheus metrics at tcp://HOST:PORT.
    #[arg(long, value_name = "URL")]
    metrics: Option<String>,
    /// Keep a checkpoint (reducer state, source and sink positions) in this
    /// directory, and resume from the one there at start.
    #[arg(long, value_name = "DIR")]
    checkpoint_dir: Option<PathBuf>,
    /// Take a checkpoint this often [default: 10].
    #[arg(long, value_name = "SECS")]
    checkpoint_every: Option<f64>,
    /// The same graph (sources, sinks, options) from a TOML file; the command
    /// line overrides it.
    #[arg(long, value_name = "FILE.toml")]
    config: Option<PathBuf>,
    /// Validate the configuration, print it, and exit.
    #[arg(long)]
    check: bool,
    /// Shard threads [default: one less than the cores, at least 1].
    #[arg(long, value_name = "N")]
    shards: Option<usize>,
    /// Input dialect [default: auto].
    #[arg(long, value_parser = parse_format)]
    format: Option<Format>,
    /// Longest record accepted, in bytes [default: 1 MiB].
    #[arg(long, value_name = "BYTES")]
    max_record: Option<usize>,
    /// How long (event time) a finished call waits for late events [default: 2000].
    #[arg(long, value_name = "MS")]
    linger_ms: Option<i64>,
}

#[derive(Debug, Args)]
struct BenchArgs {
    /// About this many events [default: 4,000,000; 400,000 with --quick].
    #[arg(long)]
    events: Option<u64>,
    /// Pipeline shards [default: one less than the cores, at least 1].
    #[arg(long)]
    shards: Option<usize>,
    /// A small workload that finishes in well under 30 s on two cores.
    #[arg(long)]
    quick: bool,
    /// Workload seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Draw the latency percentile curves of every run into this SVG file.
    #[arg(long, value_name = "PATH.svg")]
    plot: Option<PathBuf>,
    /// Write each run's latency histogram as an .hgrm file into this directory.
    #[arg(long, value_name = "DIR")]
    histograms_out: Option<PathBuf>,
    /// Measure only the reducer's resident memory: 100,000 agents logged in
    /// and 1,000,000 call threads open (a full bench runs this in a process
    /// of its own at the end).
    #[arg(long)]
    memory: bool,
}

#[derive(Debug, Args)]
struct DemoArgs {
    /// Agents per tenant.
    #[arg(long, default_value_t = 500)]
    agents: usize,
    /// Tenants.
    #[arg(long, default_value_t = 2)]
    tenants: usize,
    /// Simulated minutes after the morning's logins.
    #[arg(long, default_value_t = 60)]
    minutes: u32,
    /// Random seed: the same seed gives the same hour.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The dialect the simulated platform speaks.
    #[arg(long, value_enum, default_value = "mixed")]
    dialect: GenDialect,
    /// Pipeline shards [default: one less than the cores, at least 1].
    #[arg(long)]
    shards: Option<usize>,
}

#[derive(Debug, Args)]
struct GenArgs {
    /// Agents per tenant.
    #[arg(long, default_value_t = 200)]
    agents: usize,
    /// Calls in all.
    #[arg(long, default_value_t = 10_000)]
    calls: usize,
    /// Random seed: the same seed gives the same output.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output dialect.
    #[arg(long, value_enum, default_value = "genesys")]
    dialect: GenDialect,
    /// Tenants.
    #[arg(long, default_value_t = 1)]
    tenants: usize,
    /// Calls per second of simulated time, all tenants together [default: what
    /// keeps the agents about 85% busy, agents × tenants × 0.85 / 180 s].
    #[arg(long, value_name = "CALLS_PER_S")]
    rate: Option<f64>,
    /// Where to write the events: a file, `-` for standard output,
    /// `kafka://BOOTSTRAP/TOPIC` (one keyed message per event; not for tlog or
    /// mixed) or `tcp://HOST:PORT[?token=T]` (a `run --from tcp://` listener).
    #[arg(long, value_name = "PATH|URL")]
    out: String,
    /// Also write each call's expected outcome (NDJSON), for checking reducers.
    #[arg(long, value_name = "PATH")]
    expected_out: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct ReduceArgs {
    #[command(flatten)]
    input: InputArgs,
    /// Agent snapshots at end of input (NDJSON).
    #[arg(long, value_name = "PATH")]
    agents_out: PathBuf,
    /// Call detail records (NDJSON), one per call thread.
    #[arg(long, value_name = "PATH")]
    calls_out: PathBuf,
    /// Agent status changes as they happen (NDJSON).
    #[arg(long, value_name = "PATH")]
    changes_out: Option<PathBuf>,
    /// Statistics per tenant and queue at end of input (NDJSON).
    #[arg(long, value_name = "PATH")]
    stats_out: Option<PathBuf>,
    /// Orchestration interaction records (NDJSON), one per interaction.
    #[arg(long, value_name = "PATH")]
    interactions_out: Option<PathBuf>,
    /// Write each stage's latency as an HdrHistogram percentile file (.hgrm).
    #[arg(long, value_name = "DIR")]
    histograms_out: Option<PathBuf>,
    /// Shard threads [default: one less than the cores, at least 1].
    #[arg(long, value_name = "N")]
    shards: Option<usize>,
    /// How long (event time) a finished call waits for late events from other
    /// DNs before its record is written.
    #[arg(long, default_value_t = 2_000, value_name = "MS")]
    linger_ms: i64,
    /// Answered within this wait counts towards the service level.
    #[arg(long, default_value_t = 20_000, value_name = "MS")]
    service_level_ms: i64,
    /// Abandons within this wait are short abandons.
    #[arg(long, default_value_t = 5_000, value_name = "MS")]
    short_abandon_ms: i64,
}

#[derive(Debug, Args)]
struct InputArgs {
    /// Input files; `-` reads standard input.
    #[arg(required = true, value_name = "FILE")]
    inputs: Vec<PathBuf>,
    /// Input dialect; `auto` detects it per record.
    #[arg(long, default_value = "auto", value_parser = parse_format)]
    format: Format,
    /// Record framing; by default lines for JSON/XML dialects, T-Server log
    /// records for `tlog`, and mixed for `auto`.
    #[arg(long, value_enum)]
    framing: Option<FramingArg>,
    /// Write rejected records as NDJSON (`origin`, `reason`, `raw`).
    #[arg(long, value_name = "PATH")]
    rejects_out: Option<PathBuf>,
    /// The date T-Server log times of day fall on (YYYY-MM-DD).
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    log_date: Option<Timestamp>,
    /// Longest record accepted, in bytes.
    #[arg(long, default_value_t = DEFAULT_MAX_RECORD, value_name = "BYTES")]
    max_record: usize,
    /// Deepest JSON nesting accepted.
    #[arg(long, default_value_t = DEFAULT_MAX_DEPTH, value_name = "LEVELS")]
    max_depth: u32,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum FramingArg {
    /// One record per line, optionally `KEY<TAB>PAYLOAD`.
    Lines,
    /// 4-byte big-endian length before each record.
    Length,
    /// T-Server log records.
    Tlog,
    /// Mixed lines and T-Server log records.
    Auto,
}

impl From<FramingArg> for Framing {
    fn from(arg: FramingArg) -> Framing {
        match arg {
            FramingArg::Lines => Framing::Lines,
            FramingArg::Length => Framing::LengthPrefixed,
            FramingArg::Tlog => Framing::Tlog,
            FramingArg::Auto => Framing::Auto,
        }
    }
}

fn parse_format(text: &str) -> Result<Format, String> {
    text.parse().map_err(|error: ctistream_core::UnknownFormat| error.to_string())
}

fn parse_date(text: &str) -> Result<Timestamp, String> {
    Timestamp::parse_date(text.as_bytes())
        .ok_or_else(|| format!("'{text}' is not a date YYYY-MM-DD"))
}

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(error) => {
            if error.chain().any(|cause| {
                cause
                    .downcast_ref::<io::Error>()
                    .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::SUCCESS;
            }
            eprintln!("ctistream: error: {error:#}");
            ExitCode::from(2)
        }
    }
}

impl From<InputArgs> for InputOptions {
    fn from(args: InputArgs) -> InputOptions {
        InputOptions {
            inputs: args.inputs,
            format: args.format,
            framing: args.framing.map(Framing::from),
            rejects_out: args.rejects_out,
            decode: DecodeOptions { max_depth: args.max_depth, log_date: args.log_date },
            max_record: args.max_record,
        }
    }
}

fn run() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    match cli.command {
        Command::Inspect(args) => {
            let report = inspect(&args.into())?;
            let mut stdout = io::stdout().lock();
            write!(stdout, "{report}").context("cannot write the report")?;
            stdout.flush().context("cannot write the report")?;
        }
        Command::Gen(args) => generate(args)?,
        Command::Demo(args) => demo(args)?,
        Command::Bench(args) => bench(args)?,
        Command::Run(args) => run_service(args)?,
        Command::Reduce(args) => {
            let options = ReduceOptions {
                input: args.input.into(),
                agents_out: args.agents_out,
                calls_out: args.calls_out,
                changes_out: args.changes_out,
                stats_out: args.stats_out,
                interactions_out: args.interactions_out,
                histograms_out: args.histograms_out,
                shards: args.shards.unwrap_or_else(default_shards),
                config: ReducerConfig {
                    calls: CallConfig { linger_ms: args.linger_ms, ..CallConfig::default() },
                    stats: StatsConfig {
                        service_level_ms: args.service_level_ms,
                        short_abandon_ms: args.short_abandon_ms,
                        ..StatsConfig::default()
                    },
                    ..ReducerConfig::default()
                },
            };
            let summary = reduce(&options)?;
            eprint!("{summary}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn run_service(args: RunCliArgs) -> anyhow::Result<()> {
    use ctistream_tools::run::plan::{RunArgs, RunPlan};
    let run_args = RunArgs {
        from: args.from,
        agents: args.agents_to,
        calls: args.calls_to,
        changes: args.changes_to,
        stats: args.stats_to,
        interactions: args.interactions_to,
        rejects: args.rejects_to,
        until_idle: args.until_idle,
        commit_every: args.commit_every,
        metrics: args.metrics,
        checkpoint_dir: args.checkpoint_dir,
        checkpoint_every: args.checkpoint_every,
        shards: args.shards,
        format: args.format,
        max_record: args.max_record,
        linger_ms: args.linger_ms,
    };
    let plan = RunPlan::build(&run_args, args.config.as_deref())?;
    if args.check {
        print!("configuration ok\n{plan}");
        return Ok(());
    }
    eprint!("{plan}");
    let summary = ctistream_tools::run::run(&plan)?;
    eprint!("{summary}");
    Ok(())
}

fn generate(args: GenArgs) -> anyhow::Result<()> {
    use ctistream_tools::generate::{GenOptions, OUTCOMES, generate};
    let options = GenOptions {
        agents: args.agents,
        calls: args.calls,
        seed: args.seed,
        dialect: args.dialect,
        tenants: args.tenants,
        rate: args.rate.unwrap_or_else(|| GenOptions::staffed_rate(args.agents, args.tenants)),
        until_ms: None,
    };
    if !(options.rate.is_finite() && options.rate > 0.0) {
        anyhow::bail!("--rate {}: must be a positive number of calls per second", options.rate);
    }
    let out = ctistream_tools::gen_out::open(&args.out, options.dialect)?;
    let mut out = ctistream_tools::background_write::BackgroundWriter::new(out);
    let mut expected = match &args.expected_out {
        Some(path) => Some(io::BufWriter::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot create expected output {}", path.display()))?,
        )),
        None => None,
    };
    let bar = ctistream_tools::progress::count_bar(args.calls as u64, "calls");
    let started = std::time::Instant::now();
    let summary =
        generate(&options, &mut out, expected.as_mut().map(|e| e as &mut dyn Write), |calls| {
            bar.set_position(calls)
        })
        .context("cannot write the events")?;
    bar.finish_and_clear();
    out.finish().with_context(|| format!("cannot write the events to {}", args.out))?;
    if let Some(expected) = expected.as_mut() {
        expected.flush().context("cannot write the expected outcomes")?;
    }
    // Until the last byte is written, not just generated.
    let secs = started.elapsed().as_secs_f64().max(1e-9);
    eprintln!(
        "generated {} events of {} calls ({:.1} MB, {:.1} simulated hours) in {:.2} s: {:.0} events/s",
        summary.events,
        summary.calls,
        summary.bytes as f64 / 1e6,
        summary.simulated_ms as f64 / 3.6e6,
        secs,
        summary.events as f64 / secs,
    );
    let outcomes: Vec<String> =
        OUTCOMES.iter().zip(summary.outcomes).map(|(name, n)| format!("{name} {n}")).collect();
    eprintln!("outcomes: {}", outcomes.join(", "));
    Ok(())
}

fn demo(args: DemoArgs) -> anyhow::Result<()> {
    use ctistream_tools::demo::{DemoOptions, demo};
    if args.agents == 0 || args.tenants == 0 || args.minutes == 0 {
        anyhow::bail!("--agents, --tenants and --minutes must be at least 1");
    }
    let defaults = DemoOptions::default();
    let options = DemoOptions {
        agents: args.agents,
        tenants: args.tenants,
        minutes: args.minutes,
        seed: args.seed,
        dialect: args.dialect,
        shards: args.shards.unwrap_or(defaults.shards).max(1),
        ..defaults
    };
    print_report(&demo(&options, step_notes())?)
}

/// Agents and open call threads the memory measurement holds.
const MEMORY_AGENTS: usize = 100_000;
const MEMORY_CALLS: usize = 1_000_000;

fn bench(args: BenchArgs) -> anyhow::Result<()> {
    use ctistream_tools::bench::{BenchOptions, QUICK_EVENTS, bench, checkpoint, memory};
    if args.memory {
        let report = memory::measure(MEMORY_AGENTS, MEMORY_CALLS)
            .context("cannot read the resident size")?;
        print_report(&report)?;
        // After the peak was read: this state is the pipeline's, on top.
        let shards = args.shards.unwrap_or(2).max(1);
        return print_report(&checkpoint::measure(MEMORY_AGENTS, MEMORY_CALLS, shards)?);
    }
    let events = args.events.unwrap_or(if args.quick { QUICK_EVENTS } else { 4_000_000 });
    if events < 1000 {
        anyhow::bail!("--events {events}: at least 1000 events make a workload worth measuring");
    }
    let options = BenchOptions {
        events,
        shards: args.shards.unwrap_or_else(default_shards).max(1),
        seed: args.seed,
        plot: args.plot,
        histograms_out: args.histograms_out,
    };
    let mut note = step_notes();
    print_report(&bench(&options, &mut note)?)?;
    if args.quick {
        println!("memory: not measured with --quick (ctistream bench --memory)");
        return Ok(());
    }
    // In a fresh process: the peak resident size must be the state's, not
    // the workload's this process generated.
    note("memory");
    let exe = std::env::current_exe().context("cannot find this program to measure memory")?;
    let child = std::process::Command::new(exe)
        .args(["bench", "--memory"])
        .output()
        .context("cannot run the memory measurement")?;
    if !child.status.success() {
        anyhow::bail!("memory measurement failed: {}", String::from_utf8_lossy(&child.stderr));
    }
    io::stdout().write_all(&child.stdout)?;
    Ok(())
}

/// Says what a long command is doing, on a terminal only (the report itself
/// goes to standard output and stays clean for scripts).
fn step_notes() -> impl FnMut(&str) {
    let terminal = io::stderr().is_terminal();
    move |step| {
        if terminal {
            eprintln!("{step}…");
        }
    }
}

fn print_report(report: &impl std::fmt::Display) -> anyhow::Result<()> {
    let mut stdout = io::stdout().lock();
    write!(stdout, "{report}").context("cannot write the report")?;
    stdout.flush().context("cannot write the report")?;
    Ok(())
}
