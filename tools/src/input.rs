//! Reading inputs: open every file, frame it, hand each record to the caller,
//! and keep the reject log and the counts a report needs.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::Context;
use ctistream_adapters::file::FileSourceConfig;
use ctistream_core::{
    DecodeOptions, Dialect, EventKind, Format, Frame, FrameError, Framing, Timestamp,
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

/// Rejected records: counted by reason and written to the rejects output.
/// Shared between the reading thread (framing rejects) and whoever decodes
/// (decode rejects); rejects are rare, so a mutex is fine here.
#[derive(Debug, Default)]
pub struct RejectLog {
    writer: Option<RejectsWriter>,
    by_reason: BTreeMap<String, ReasonCount>,
    rejected: u64,
    error: Option<std::io::Error>,
}

/// A [`RejectLog`] several threads write to.
pub type SharedRejects = Arc<Mutex<RejectLog>>;

impl RejectLog {
    /// A log writing to `path` if given.
    ///
    /// # Errors
    /// When the rejects output cannot be created.
    pub fn create(path: Option<&std::path::Path>) -> anyhow::Result<SharedRejects> {
        let writer = path.map(RejectsWriter::create).transpose()?;
        Ok(Arc::new(Mutex::new(RejectLog { writer, ..RejectLog::default() })))
    }

    /// Records one reject; a write error is kept for [`finish`](Self::finish).
    pub fn reject(&mut self, origin: String, class: String, message: String, raw: &[u8]) {
        self.rejected += 1;
        if let Some(writer) = self.writer.as_mut() {
            if let Err(error) = writer.write(&origin, &message, raw) {
                self.error.get_or_insert(error);
            }
        }
        self.by_reason.entry(class).and_modify(|reason| reason.count += 1).or_insert(ReasonCount {
            count: 1,
            first: origin,
            example: message,
        });
    }

    /// Flushes the output; the counts go into `report`.
    ///
    /// # Errors
    /// The first write error, or the flush's.
    pub fn finish(shared: &SharedRejects, report: &mut InputReport) -> anyhow::Result<()> {
        let mut log = shared.lock().unwrap_or_else(PoisonError::into_inner);
        report.rejected += log.rejected;
        report.by_reason = std::mem::take(&mut log.by_reason);
        if let Some(error) = log.error.take() {
            return Err(error).context("cannot write the rejects output");
        }
        if let Some(writer) = log.writer.take() {
            report.rejects_written = writer.written();
            writer.finish().context("cannot write the rejects output")?;
        }
        Ok(())
    }
}

/// What reading the inputs found.
#[derive(Clone, Debug, Default)]
pub struct InputReport {
    /// Files read.
    pub files: usize,
    /// Their names, as origins print them.
    pub sources: Vec<String>,
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
    /// Accepted records of one dialect.
    pub fn dialect_total(&self, dialect: Dialect) -> u64 {
        self.by_kind.iter().filter(|((d, _), _)| *d == dialect).map(|(_, n)| n).sum()
    }

    /// Adds per-kind counts (and the accepted total).
    pub fn add_kinds<'k>(
        &mut self,
        kinds: impl IntoIterator<Item = (&'k (Dialect, EventKind), &'k u64)>,
    ) {
        for ((dialect, kind), count) in kinds {
            self.accepted += count;
            *self.by_kind.entry((*dialect, kind.name())).or_default() += count;
        }
    }
}

/// Reads every input and calls `on_frame(frame, source index, ingest time)`
/// for each record; framing rejects (too large, truncated) go to `rejects`.
///
/// # Errors
/// When an input cannot be opened or read, or `on_frame` fails.
pub fn read_frames<F>(
    options: &InputOptions,
    rejects: &SharedRejects,
    mut on_frame: F,
) -> anyhow::Result<InputReport>
where
    F: FnMut(Frame, u32, Timestamp) -> anyhow::Result<()>,
{
    let started = Instant::now();
    let framing = options.framing.unwrap_or_else(|| default_framing(options.format));
    let mut report = InputReport::default();
    let mut ingest = now();
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
    let bar = bytes_bar(total, "reading");
    let mut bytes_before = 0;
    for (index, (name, mut source)) in sources.into_iter().enumerate() {
        report.files += 1;
        report.sources.push(name.clone());
        let mut since_tick = 0u32;
        while let Some(frame) = source.frames.next() {
            report.records += 1;
            since_tick += 1;
            if since_tick == 4096 {
                // The clock is read per batch, not per record: an ingest time is
                // only used by records that carry no time of their own.
                since_tick = 0;
                ingest = now();
                bar.set_position(bytes_before + source.frames.position());
            }
            match frame {
                Ok(frame) => on_frame(frame, index as u32, ingest)?,
                Err(FrameError::Io(error)) => {
                    return Err(anyhow::Error::new(FrameError::Io(error)))
                        .with_context(|| format!("cannot read {name}"));
                }
                Err(error) => {
                    let origin = format!("{name}:{}", error.line().unwrap_or(0));
                    let raw = error.head().map_or(&b""[..], |head| &head[..]);
                    let mut log = rejects.lock().unwrap_or_else(PoisonError::into_inner);
                    log.reject(origin, error.class(), error.to_string(), raw);
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
    report.elapsed = started.elapsed();
    Ok(report)
}

/// Counts accepted events by kind while decoding inline (no pipeline).
#[derive(Debug, Default)]
pub struct KindCounter {
    counts: HashMap<(Dialect, EventKind), u64>,
}

impl KindCounter {
    /// Counts one accepted event.
    pub fn count(&mut self, dialect: Dialect, kind: EventKind) {
        *self.counts.entry((dialect, kind)).or_default() += 1;
    }

    /// The counts so far.
    pub fn counts(&self) -> impl Iterator<Item = (&(Dialect, EventKind), &u64)> {
        self.counts.iter()
    }
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
                writeln!(f, "  {:>8}  {class}", grouped(reason.count))?;
                writeln!(f, "            first at {}: {}", reason.first, reason.example)?;
            }
        }
        if self.rejects_written > 0 {
            writeln!(f, "\n{} rejects written", grouped(self.rejects_written))?;
        }
        Ok(())
    }
}

/// The name a path has in origins (`file:line`): as given, or `stdin` for `-`.
pub fn origin_name(path: &std::path::Path) -> String {
    FileSourceConfig::new(path, Framing::Lines).origin_name()
}
