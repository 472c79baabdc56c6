//! Reading inputs: open every file, frame and decode every record, send
//! rejects to the rejects output, count what was understood (per dialect and
//! event kind) and what was rejected (per reason, with the first place each
//! reason occurred), and hand each decoded event to the caller.

use std::collections::{BTreeMap, HashMap};
use std::fmt::{self, Write as _};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use ctistream_adapters::file::FileSourceConfig;
use ctistream_core::{
    DecodeOptions, Decoder, Dialect, Event, EventKind, Format, FrameError, Framing, Timestamp,
};

use crate::progress::bytes_bar;
use crate::rejects::RejectsWriter;

/// What to read and how.
#[derive(Clone, Debug)]
pub struct InputOptions {
    /// Files to read; `-` is standard input.
    pub inputs: Vec<PathBuf>,
    /// The input format.
    pub format: Format,
    /// The framing; `None` picks the format's own (lines, T-Server log, auto).
    pub framing: Option<Framing>,
    /// Where to write rejects as NDJSON.
    pub rejects_out: Option<PathBuf>,
    /// Decoder limits and the T-Server log date.
    pub decode: DecodeOptions,
    /// The record size limit in bytes.
    pub max_record: usize,
}

/// The framing a format implies when none is given.
pub fn default_framing(format: Format) -> Framing {
    match format {
        Format::Auto => Framing::Auto,
        Format::Tlog => Framing::Tlog,
        _ => Framing::Lines,
    }
}

/// How often one reject reason occurred, and where first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReasonCount {
    /// How many records were rejected for it.
    pub count: u64,
    /// The origin (`file:line`) of the first.
    pub first: String,
    /// The full message of the first, with its position.
    pub example: String,
}

/// What reading the inputs found.
#[derive(Clone, Debug, Default)]
pub struct InputReport {
    /// Files read.
    pub files: usize,
    /// Bytes read.
    pub bytes: u64,
    /// Records framed or refused by framing.
    pub records: u64,
    /// Records decoded.
    pub accepted: u64,
    /// Records rejected.
    pub rejected: u64,
    /// Log lines skipped as not events.
    pub skipped: u64,
    /// Blank lines.
    pub blank: u64,
    /// Accepted records per dialect and event kind.
    pub by_kind: BTreeMap<(Dialect, &'static str), u64>,
    /// Rejected records per reason.
    pub by_reason: BTreeMap<String, ReasonCount>,
    /// Rejects written to `--rejects-out`.
    pub rejects_written: u64,
    /// Wall time of the run.
    pub elapsed: Duration,
}

impl InputReport {
    fn reject(&mut self, origin: String, class: String, message: String) {
        self.rejected += 1;
        self.by_reason.entry(class).and_modify(|reason| reason.count += 1).or_insert(ReasonCount {
            count: 1,
            first: origin,
            example: message,
        });
    }

    /// Accepted records of one dialect.
    pub fn dialect_total(&self, dialect: Dialect) -> u64 {
        self.by_kind.iter().filter(|((d, _), _)| *d == dialect).map(|(_, n)| n).sum()
    }
}

/// Reads every input, decodes every record, and calls `on_event` with each
/// decoded event and its ingest time.
///
/// # Errors
/// When an input cannot be opened or read, the rejects output cannot be
/// written, or `on_event` fails. Malformed records are not errors: they are
/// counted and reported.
pub fn read_events<F>(options: &InputOptions, mut on_event: F) -> anyhow::Result<InputReport>
where
    F: FnMut(&Event<'_>, Timestamp) -> anyhow::Result<()>,
{
    let started = Instant::now();
    let decoder = Decoder::with_options(options.format, options.decode.clone());
    let framing = options.framing.unwrap_or_else(|| default_framing(options.format));
    let mut rejects = options.rejects_out.as_deref().map(RejectsWriter::create).transpose()?;
    let mut report = InputReport::default();
    let mut ingest = now();
    // Counted by kind first (a hash of a small Copy key), names resolved once at the end.
    let mut by_kind: HashMap<(Dialect, EventKind), u64> = HashMap::new();
    let configs: Vec<FileSourceConfig> = options
        .inputs
        .iter()
        .map(|path| {
            let mut config = FileSourceConfig::new(path, framing);
            config.max_record = options.max_record;
            config
        })
        .collect();
    let sources = configs
        .iter()
        .map(|config| config.build().map(|source| (config.origin_name(), source)))
        .collect::<Result<Vec<_>, _>>()?;
    let total: Option<u64> = sources.iter().map(|(_, source)| source.size).sum();
    let bar = bytes_bar(total, "inspect");
    let mut bytes_before = 0;
    for (name, mut source) in sources {
        report.files += 1;
        let mut since_tick = 0u32;
        while let Some(frame) = source.frames.next() {
            report.records += 1;
            since_tick += 1;
            if since_tick == 4096 {
                // The clock is read per batch, not per record: an ingest time
                // is only used by records that carry no time of their own.
                since_tick = 0;
                ingest = now();
                bar.set_position(bytes_before + source.frames.stats().bytes);
            }
            let frame = match frame {
                Ok(frame) => frame,
                Err(FrameError::Io(error)) => {
                    return Err(anyhow::Error::new(FrameError::Io(error)))
                        .with_context(|| format!("cannot read {name}"));
                }
                Err(error) => {
                    let origin = format!("{name}:{}", error.line().unwrap_or(0));
                    if let Some(rejects) = rejects.as_mut() {
                        let raw = error.head().map_or(&b""[..], |head| &head[..]);
                        rejects.write(&origin, &error.to_string(), raw)?;
                    }
                    report.reject(origin, error.class(), error.to_string());
                    continue;
                }
            };
            match decoder.decode(&frame.payload, frame.key.as_deref()) {
                Ok(event) => {
                    report.accepted += 1;
                    *by_kind.entry((event.dialect(), event.kind())).or_default() += 1;
                    on_event(&event, ingest)?;
                }
                Err(error) => {
                    let origin = format!("{name}:{}", frame.line);
                    let message = error.to_string();
                    if let Some(rejects) = rejects.as_mut() {
                        rejects.write(&origin, &message, &frame.payload)?;
                    }
                    report.reject(origin, error.class(), message);
                }
            }
        }
        let stats = source.frames.stats();
        report.bytes += stats.bytes;
        report.skipped += stats.skipped;
        report.blank += stats.blank;
        bytes_before += stats.bytes;
    }
    bar.finish_and_clear();
    if let Some(rejects) = rejects {
        report.rejects_written = rejects.written();
        rejects.finish().context("cannot write the rejects output")?;
    }
    for ((dialect, kind), count) in by_kind {
        *report.by_kind.entry((dialect, kind.name())).or_default() += count;
    }
    report.elapsed = started.elapsed();
    Ok(report)
}

/// The wall clock as a timestamp.
pub fn now() -> Timestamp {
    let since_epoch =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    Timestamp(since_epoch.as_micros() as i64)
}

/// Formats an integer with thousands separators.
pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

impl fmt::Display for InputReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.elapsed.as_secs_f64().max(1e-9);
        writeln!(
            f,
            "{} records from {} file{} ({:.1} MB) in {:.3} s: {} records/s, {:.1} MB/s",
            grouped(self.records),
            self.files,
            if self.files == 1 { "" } else { "s" },
            self.bytes as f64 / 1e6,
            secs,
            grouped((self.records as f64 / secs) as u64),
            self.bytes as f64 / 1e6 / secs,
        )?;
        writeln!(
            f,
            "accepted {}  rejected {}  skipped log lines {}  blank lines {}",
            grouped(self.accepted),
            grouped(self.rejected),
            grouped(self.skipped),
            grouped(self.blank),
        )?;
        let width = self.by_kind.keys().map(|(_, name)| name.len()).max().unwrap_or(0);
        for dialect in Dialect::ALL {
            let total = self.dialect_total(dialect);
            if total == 0 {
                continue;
            }
            writeln!(f, "\n{dialect}: {}", grouped(total))?;
            let mut kinds: Vec<_> =
                self.by_kind.iter().filter(|((d, _), _)| *d == dialect).collect();
            kinds.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            for ((_, name), count) in kinds {
                writeln!(f, "  {name:<width$}  {:>10}", grouped(*count))?;
            }
        }
        if !self.by_reason.is_empty() {
            writeln!(f, "\nrejected by reason:")?;
            let mut reasons: Vec<_> = self.by_reason.iter().collect();
            reasons.sort_by(|a, b| b.1.count.cmp(&a.1.count).then(a.0.cmp(b.0)));
            for (class, reason) in reasons {
                let mut line = String::new();
                let _ = write!(line, "  {:>8}  {class}", grouped(reason.count));
                writeln!(f, "{line}\n            first at {}: {}", reason.first, reason.example)?;
            }
        }
        if self.rejects_written > 0 {
            writeln!(f, "\n{} rejects written", grouped(self.rejects_written))?;
        }
        Ok(())
    }
}
