//! What a `run` connects and how it reduces: built from the command line, a
//! TOML config file, or both (the command line wins), and validated before
//! anything is opened.
//!
//! ```toml
//! sources = ["kafka://127.0.0.1:9092/voice-callthread,voice-agentstate?group=ops"]
//!
//! [sinks]
//! calls = "kafka://127.0.0.1:9092/cti-calls"
//! changes = "tcp://127.0.0.1:7001"
//! agents = "file:out/agents.ndjson"
//! rejects = "file:out/rejects.ndjson?rotate_bytes=100000000"
//!
//! [options]
//! shards = 2
//! until_idle = 5.0      # seconds
//! commit_every = 1.0    # seconds
//! metrics = "tcp://127.0.0.1:9100"
//! checkpoint_dir = "state/"
//! checkpoint_every = 10.0   # seconds
//! ```

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use ctistream_core::pipeline::{MAX_SHARDS, default_shards};
use ctistream_core::state::{CallConfig, ReducerConfig, StatsConfig};
use ctistream_core::{DEFAULT_MAX_DEPTH, DEFAULT_MAX_RECORD, DecodeOptions, Format};
use serde::Deserialize;

use super::endpoint::{Direction, Endpoint};

/// The outputs a run can write, each to at most one sink.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SinkPlan {
    /// Agent snapshots at the end of the run.
    pub agents: Option<Endpoint>,
    /// Call detail records as calls end.
    pub calls: Option<Endpoint>,
    /// Agent status changes as they happen.
    pub changes: Option<Endpoint>,
    /// Queue statistics at the end of the run.
    pub stats: Option<Endpoint>,
    /// Orchestration interaction records.
    pub interactions: Option<Endpoint>,
    /// Rejected records.
    pub rejects: Option<Endpoint>,
}

impl SinkPlan {
    /// Each output kind with its sink, in a fixed order.
    pub fn each(&self) -> [(&'static str, Option<&Endpoint>); 6] {
        [
            ("agents", self.agents.as_ref()),
            ("calls", self.calls.as_ref()),
            ("changes", self.changes.as_ref()),
            ("stats", self.stats.as_ref()),
            ("interactions", self.interactions.as_ref()),
            ("rejects", self.rejects.as_ref()),
        ]
    }
}

/// Everything a run needs, checked.
#[derive(Clone, Debug)]
pub struct RunPlan {
    /// Where records come from.
    pub sources: Vec<Endpoint>,
    /// Where outputs go.
    pub sinks: SinkPlan,
    /// Shard threads.
    pub shards: usize,
    /// The input dialect (`auto` detects it per record).
    pub format: Format,
    /// Decoder limits.
    pub decode: DecodeOptions,
    /// The longest record accepted.
    pub max_record: usize,
    /// Reducer settings.
    pub reducer: ReducerConfig,
    /// Stop after this long with no input.
    pub until_idle: Option<Duration>,
    /// How often source positions are committed (once their outputs are durable).
    pub commit_every: Duration,
    /// Where the Prometheus text endpoint listens.
    pub metrics: Option<SocketAddr>,
    /// Where checkpoints are kept (and resumed from), if anywhere.
    pub checkpoint_dir: Option<PathBuf>,
    /// How often a checkpoint is taken.
    pub checkpoint_every: Duration,
}

/// What the command line says (every field optional but the sources).
#[derive(Clone, Debug, Default)]
pub struct RunArgs {
    /// `--from` URLs.
    pub from: Vec<String>,
    /// `--agents-to` and friends, by output kind.
    pub agents: Option<String>,
    /// `--calls-to`.
    pub calls: Option<String>,
    /// `--changes-to`.
    pub changes: Option<String>,
    /// `--stats-to`.
    pub stats: Option<String>,
    /// `--interactions-to`.
    pub interactions: Option<String>,
    /// `--rejects-to`.
    pub rejects: Option<String>,
    /// `--until-idle` seconds.
    pub until_idle: Option<f64>,
    /// `--commit-every` seconds.
    pub commit_every: Option<f64>,
    /// `--metrics tcp://HOST:PORT`.
    pub metrics: Option<String>,
    /// `--checkpoint-dir`.
    pub checkpoint_dir: Option<PathBuf>,
    /// `--checkpoint-every` seconds.
    pub checkpoint_every: Option<f64>,
    /// `--shards`.
    pub shards: Option<usize>,
    /// `--format`.
    pub format: Option<Format>,
    /// `--max-record`.
    pub max_record: Option<usize>,
    /// `--linger-ms`.
    pub linger_ms: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    sources: Vec<String>,
    #[serde(default)]
    sinks: SinksFile,
    #[serde(default)]
    options: OptionsFile,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SinksFile {
    agents: Option<String>,
    calls: Option<String>,
    changes: Option<String>,
    stats: Option<String>,
    interactions: Option<String>,
    rejects: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct OptionsFile {
    shards: Option<usize>,
    format: Option<String>,
    until_idle: Option<f64>,
    commit_every: Option<f64>,
    metrics: Option<String>,
    checkpoint_dir: Option<PathBuf>,
    checkpoint_every: Option<f64>,
    max_record: Option<usize>,
    max_depth: Option<u32>,
    linger_ms: Option<i64>,
    service_level_ms: Option<i64>,
    short_abandon_ms: Option<i64>,
}

impl RunPlan {
    /// Builds the plan from the command line and, if given, a config file.
    ///
    /// # Errors
    /// When the file cannot be read or parsed, or anything in either is
    /// invalid; the message says where (`--calls-to`, `run.toml: sinks.calls`).
    pub fn build(args: &RunArgs, config: Option<&Path>) -> anyhow::Result<RunPlan> {
        let file = match config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read config {}", path.display()))?;
                toml::from_str::<ConfigFile>(&text)
                    .with_context(|| format!("config {} is not valid", path.display()))?
            }
            None => ConfigFile::default(),
        };
        let place = config.map_or(String::new(), |path| format!("{}: ", path.display()));
        let mut sources = Vec::new();
        for (index, url) in file.sources.iter().enumerate() {
            let endpoint = Endpoint::parse(url, Direction::Source)
                .with_context(|| format!("{place}sources[{index}]"))?;
            sources.push(endpoint);
        }
        for url in &args.from {
            sources.push(Endpoint::parse(url, Direction::Source).context("--from")?);
        }
        if sources.is_empty() {
            bail!("no source: give --from URL or `sources = [...]` in a config file");
        }
        let sink = |cli: &Option<String>, file: &Option<String>, kind: &str| match (cli, file) {
            (Some(url), _) => Endpoint::parse(url, Direction::Sink)
                .map(Some)
                .with_context(|| format!("--{kind}-to")),
            (None, Some(url)) => Endpoint::parse(url, Direction::Sink)
                .map(Some)
                .with_context(|| format!("{place}sinks.{kind}")),
            (None, None) => Ok(None),
        };
        let sinks = SinkPlan {
            agents: sink(&args.agents, &file.sinks.agents, "agents")?,
            calls: sink(&args.calls, &file.sinks.calls, "calls")?,
            changes: sink(&args.changes, &file.sinks.changes, "changes")?,
            stats: sink(&args.stats, &file.sinks.stats, "stats")?,
            interactions: sink(&args.interactions, &file.sinks.interactions, "interactions")?,
            rejects: sink(&args.rejects, &file.sinks.rejects, "rejects")?,
        };
        if sinks.each().iter().all(|(_, sink)| sink.is_none()) {
            bail!(
                "no output: give --calls-to, --agents-to, --changes-to, --stats-to, \
                 --interactions-to or --rejects-to (or [sinks] in a config file)"
            );
        }
        let options = &file.options;
        let format = match (args.format, &options.format) {
            (Some(format), _) => format,
            (None, Some(text)) => text
                .parse()
                .map_err(|error: ctistream_core::UnknownFormat| anyhow::anyhow!("{error}"))
                .with_context(|| format!("{place}options.format"))?,
            (None, None) => Format::Auto,
        };
        let seconds = |value: Option<f64>, what: &str| -> anyhow::Result<Option<Duration>> {
            value
                .map(|secs| {
                    Duration::try_from_secs_f64(secs).ok().filter(|d| !d.is_zero()).with_context(
                        || format!("{what} {secs}: must be a positive number of seconds"),
                    )
                })
                .transpose()
        };
        let until_idle = seconds(args.until_idle.or(options.until_idle), "until_idle")?;
        let commit_every = seconds(args.commit_every.or(options.commit_every), "commit_every")?
            .unwrap_or(Duration::from_secs(1));
        let checkpoint_every =
            seconds(args.checkpoint_every.or(options.checkpoint_every), "checkpoint_every")?
                .unwrap_or(Duration::from_secs(10));
        // A relative directory in the config file is the file's neighbour.
        let checkpoint_dir = match (&args.checkpoint_dir, &options.checkpoint_dir) {
            (Some(dir), _) => Some(dir.clone()),
            (None, Some(dir)) => Some(match config.and_then(Path::parent) {
                Some(base) if dir.is_relative() => base.join(dir),
                _ => dir.clone(),
            }),
            (None, None) => None,
        };
        let metrics = match args.metrics.as_ref().or(options.metrics.as_ref()) {
            Some(url) => match Endpoint::parse(url, Direction::Sink).context("metrics")? {
                Endpoint::Tcp { listen, .. } => Some(listen),
                _ => bail!("metrics '{url}': expected tcp://HOST:PORT"),
            },
            None => None,
        };
        let shards = args.shards.or(options.shards).unwrap_or_else(default_shards);
        if shards == 0 || shards > MAX_SHARDS {
            bail!("shards {shards}: must be between 1 and {MAX_SHARDS}");
        }
        let defaults = ReducerConfig::default();
        let reducer = ReducerConfig {
            calls: CallConfig {
                linger_ms: args.linger_ms.or(options.linger_ms).unwrap_or(defaults.calls.linger_ms),
                ..defaults.calls
            },
            stats: StatsConfig {
                service_level_ms: options
                    .service_level_ms
                    .unwrap_or(defaults.stats.service_level_ms),
                short_abandon_ms: options
                    .short_abandon_ms
                    .unwrap_or(defaults.stats.short_abandon_ms),
                ..defaults.stats
            },
            ..defaults
        };
        let plan = RunPlan {
            sources,
            sinks,
            shards,
            format,
            decode: DecodeOptions {
                max_depth: options.max_depth.unwrap_or(DEFAULT_MAX_DEPTH),
                log_date: None,
            },
            max_record: args.max_record.or(options.max_record).unwrap_or(DEFAULT_MAX_RECORD),
            reducer,
            until_idle,
            commit_every,
            metrics,
            checkpoint_dir,
            checkpoint_every,
        };
        plan.check_addresses()?;
        Ok(plan)
    }

    /// Two listeners on one address, or a file both read and written, cannot
    /// work; say so before opening anything.
    fn check_addresses(&self) -> anyhow::Result<()> {
        let mut listeners: Vec<(SocketAddr, String)> = Vec::new();
        let mut listen = |address: SocketAddr, what: String| {
            if address.port() != 0 {
                if let Some((_, first)) = listeners.iter().find(|(a, _)| *a == address) {
                    bail!("{what} and {first} both listen on {address}");
                }
            }
            listeners.push((address, what));
            Ok(())
        };
        for source in &self.sources {
            if let Endpoint::Tcp { listen: address, .. } = source {
                listen(*address, format!("source {source}"))?;
            }
        }
        let mut tcp_sinks: Vec<&Endpoint> = Vec::new();
        for (kind, sink) in self.sinks.each() {
            match sink {
                // Outputs may share a TCP sink; one listener serves them.
                Some(sink @ Endpoint::Tcp { listen: address, .. })
                    if !tcp_sinks.contains(&sink) =>
                {
                    tcp_sinks.push(sink);
                    listen(*address, format!("the {kind} sink"))?;
                }
                Some(Endpoint::File { path, .. }) => {
                    let read = self.sources.iter().any(
                        |source| matches!(source, Endpoint::File { path: p, .. } if p == path),
                    );
                    if read {
                        bail!("{} is both read and written by this run", path.display());
                    }
                }
                _ => {}
            }
        }
        if let Some(address) = self.metrics {
            listen(address, "the metrics endpoint".into())?;
        }
        Ok(())
    }
}

impl fmt::Display for RunPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "sources:")?;
        for source in &self.sources {
            writeln!(f, "  {source}")?;
        }
        writeln!(f, "outputs:")?;
        for (kind, sink) in self.sinks.each() {
            if let Some(sink) = sink {
                writeln!(f, "  {kind:<13}-> {sink}")?;
            }
        }
        write!(
            f,
            "options: {} shard(s), format {}, commit every {:?}",
            self.shards, self.format, self.commit_every
        )?;
        if let Some(idle) = self.until_idle {
            write!(f, ", stop after {idle:?} idle")?;
        }
        if let Some(metrics) = self.metrics {
            write!(f, ", metrics on http://{metrics}/metrics")?;
        }
        if let Some(dir) = &self.checkpoint_dir {
            write!(f, ", checkpoint in {} every {:?}", dir.display(), self.checkpoint_every)?;
        }
        writeln!(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(from: &[&str], calls: Option<&str>) -> RunArgs {
        RunArgs {
            from: from.iter().map(|s| s.to_string()).collect(),
            calls: calls.map(str::to_owned),
            shards: Some(2),
            ..RunArgs::default()
        }
    }

    fn config(text: &str) -> tempfile::NamedTempFile {
        use std::io::Write;
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(text.as_bytes()).unwrap();
        file
    }

    #[test]
    fn command_line_alone() {
        let plan =
            RunPlan::build(&args(&["file:in.ndjson"], Some("file:calls.ndjson")), None).unwrap();
        assert_eq!(plan.sources.len(), 1);
        assert!(plan.sinks.calls.is_some());
        assert_eq!(plan.commit_every, Duration::from_secs(1));
        assert_eq!(plan.format, Format::Auto);
    }

    #[test]
    fn config_file_and_command_line_merge_with_the_command_line_winning() {
        let file = config(
            r#"
sources = ["kafka://127.0.0.1:9092/voice-callthread"]
[sinks]
calls = "file:from-config.ndjson"
agents = "tcp://127.0.0.1:7001"
[options]
until_idle = 2.5
shards = 3
"#,
        );
        let plan = RunPlan::build(
            &args(&["file:more.ndjson"], Some("file:cli.ndjson")),
            Some(file.path()),
        )
        .unwrap();
        assert_eq!(plan.sources.len(), 2);
        assert_eq!(plan.shards, 2, "the command line wins");
        assert_eq!(plan.until_idle, Some(Duration::from_millis(2500)));
        let Some(Endpoint::File { path, .. }) = &plan.sinks.calls else { panic!() };
        assert_eq!(path, Path::new("cli.ndjson"));
        assert!(matches!(plan.sinks.agents, Some(Endpoint::Tcp { .. })));
    }

    #[test]
    fn mistakes_are_refused_with_where_they_are() {
        let message = |text: &str| {
            let file = config(text);
            let error = RunPlan::build(&RunArgs::default(), Some(file.path())).unwrap_err();
            format!("{error:#}")
        };
        let unknown = message("sources = [\"file:x\"]\n[sinks]\ncall = \"file:y\"\n");
        assert!(unknown.contains("unknown field `call`"), "{unknown}");
        let bad_url = message("sources = [\"file:x\"]\n[sinks]\ncalls = \"kafka://b\"\n");
        assert!(bad_url.contains("sinks.calls") && bad_url.contains("no topic"), "{bad_url}");
        let no_source = message("[sinks]\ncalls = \"file:y\"\n");
        assert!(no_source.contains("no source"), "{no_source}");
        let no_sink = message("sources = [\"file:x\"]\n");
        assert!(no_sink.contains("no output"), "{no_sink}");
        let clash = message(
            "sources = [\"tcp://127.0.0.1:7000\"]\n[sinks]\ncalls = \"tcp://127.0.0.1:7000\"\n",
        );
        assert!(clash.contains("both listen on 127.0.0.1:7000"), "{clash}");
        let loop_back = message("sources = [\"file:x\"]\n[sinks]\ncalls = \"file:x\"\n");
        assert!(loop_back.contains("both read and written"), "{loop_back}");
        let idle = message(
            "sources = [\"file:x\"]\n[sinks]\ncalls = \"file:y\"\n[options]\nuntil_idle = -1\n",
        );
        assert!(idle.contains("positive number of seconds"), "{idle}");
        let syntax = message("sources = [\n");
        assert!(syntax.contains("is not valid"), "{syntax}");
    }
}
