//! Latency histograms (HdrHistogram) per pipeline stage, in nanoseconds.
//!
//! Each thread records into its own [`Latency`] (no sharing, no lock) and
//! hands a copy to whoever merges them. Hot loops time batches, and time single
//! records only one in [`SAMPLE_EVERY`], since a clock read costs about as
//! much as decoding a short record.

use std::fmt::{self, Write as _};
use std::io::{self, Write};
use std::path::Path;

use hdrhistogram::Histogram;

/// One record in this many is timed individually for the decode and reduce
/// histograms.
pub const SAMPLE_EVERY: u64 = 32;

/// A stage of the pipeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Stage {
    /// The router's time per record: reading, framing, routing, and decoding
    /// where it decodes (broadcast records, and a shard's records while the
    /// shard is behind).
    Source,
    /// From a batch leaving the router to a shard taking it.
    RingWait,
    /// Decoding one record (sampled).
    Decode,
    /// Reducing one decoded record on the call side (sampled).
    Reduce,
    /// From a message leaving a shard to the agent side applying it, per
    /// message (batch-timed), including the wait for record order.
    AgentWait,
    /// Applying one message on the agent side and queueing its outputs (time
    /// spent handing them to the sink is not counted; `end_to_end` includes it).
    Emit,
    /// From ingest to the output it caused.
    EndToEnd,
    /// From an agent change to the ready-agent view readers see.
    ReadyView,
}

impl Stage {
    /// Every stage, in pipeline order.
    pub const ALL: [Stage; 8] = [
        Stage::Source,
        Stage::RingWait,
        Stage::Decode,
        Stage::Reduce,
        Stage::AgentWait,
        Stage::Emit,
        Stage::EndToEnd,
        Stage::ReadyView,
    ];

    /// The name in tables and file names.
    pub const fn name(self) -> &'static str {
        match self {
            Stage::Source => "source",
            Stage::RingWait => "ring_wait",
            Stage::Decode => "decode",
            Stage::Reduce => "reduce",
            Stage::AgentWait => "agent_wait",
            Stage::Emit => "emit",
            Stage::EndToEnd => "end_to_end",
            Stage::ReadyView => "ready_view",
        }
    }
}

/// One histogram per stage.
#[derive(Clone, Debug)]
pub struct Latency {
    histograms: Vec<Histogram<u64>>,
}

impl Default for Latency {
    fn default() -> Self {
        Latency::new()
    }
}

impl Latency {
    /// Empty histograms: 1 ns to 60 s, two significant digits.
    pub fn new() -> Latency {
        // Fixed, valid bounds: hdrhistogram cannot refuse them.
        let histogram =
            Histogram::new_with_bounds(1, 60_000_000_000, 2).expect("valid histogram bounds");
        Latency { histograms: vec![histogram; Stage::ALL.len()] }
    }

    fn index(stage: Stage) -> usize {
        Stage::ALL.iter().position(|s| *s == stage).unwrap_or(0)
    }

    /// Records one value (ns); values past the range count as the maximum.
    #[inline]
    pub fn record(&mut self, stage: Stage, nanos: u64) {
        self.histograms[Self::index(stage)].saturating_record(nanos.max(1));
    }

    /// Records `count` values of `nanos` (a batch's average per record).
    #[inline]
    pub fn record_n(&mut self, stage: Stage, nanos: u64, count: u64) {
        if count > 0 {
            let _ = self.histograms[Self::index(stage)].record_n(nanos.max(1), count);
        }
    }

    /// The histogram of a stage.
    pub fn histogram(&self, stage: Stage) -> &Histogram<u64> {
        &self.histograms[Self::index(stage)]
    }

    /// Adds `other`'s counts.
    pub fn merge(&mut self, other: &Latency) {
        for (mine, theirs) in self.histograms.iter_mut().zip(&other.histograms) {
            let _ = mine.add(theirs);
        }
    }

    /// The percentile table: one row per stage with values, in microseconds.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{:<11} {:>12} {:>9} {:>9} {:>9} {:>9} {:>9}",
            "stage (µs)", "count", "p50", "p90", "p99", "p99.9", "max"
        );
        for stage in Stage::ALL {
            let h = self.histogram(stage);
            if h.is_empty() {
                continue;
            }
            let us = |nanos: u64| nanos as f64 / 1000.0;
            let _ = writeln!(
                out,
                "{:<11} {:>12} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>9.1}",
                stage.name(),
                h.len(),
                us(h.value_at_quantile(0.5)),
                us(h.value_at_quantile(0.9)),
                us(h.value_at_quantile(0.99)),
                us(h.value_at_quantile(0.999)),
                us(h.max()),
            );
        }
        out
    }

    /// Writes one HdrHistogram percentile distribution file per non-empty
    /// stage, `<dir>/<stage>.hgrm`, values in microseconds.
    ///
    /// # Errors
    /// When the directory or a file cannot be written.
    pub fn write_hgrm(&self, dir: &Path) -> io::Result<()> {
        std::fs::create_dir_all(dir)?;
        for stage in Stage::ALL {
            let h = self.histogram(stage);
            if h.is_empty() {
                continue;
            }
            let mut file = io::BufWriter::new(std::fs::File::create(
                dir.join(format!("{}.hgrm", stage.name())),
            )?);
            write_percentiles(h, &mut file)?;
            file.flush()?;
        }
        Ok(())
    }
}

/// The percentile distribution text HdrHistogram tools read
/// (`Value Percentile TotalCount 1/(1-Percentile)`, values in µs).
fn write_percentiles(h: &Histogram<u64>, out: &mut impl Write) -> io::Result<()> {
    writeln!(
        out,
        "{:>12} {:>14} {:>10} {:>14}\n",
        "Value", "Percentile", "TotalCount", "1/(1-Percentile)"
    )?;
    let mut total = 0u64;
    for step in h.iter_quantiles(1) {
        total += step.count_since_last_iteration();
        let quantile = step.quantile_iterated_to();
        let inverse = if quantile < 1.0 {
            format!("{:>14.2}", 1.0 / (1.0 - quantile))
        } else {
            String::new()
        };
        writeln!(
            out,
            "{:>12.3} {:>14.12} {:>10} {}",
            step.value_iterated_to() as f64 / 1000.0,
            quantile,
            total,
            inverse
        )?;
    }
    writeln!(
        out,
        "#[Mean    = {:>12.3}, StdDeviation   = {:>12.3}]",
        h.mean() / 1000.0,
        h.stdev() / 1000.0
    )?;
    writeln!(
        out,
        "#[Max     = {:>12.3}, Total count    = {:>12}]",
        h.max() as f64 / 1000.0,
        h.len()
    )?;
    writeln!(out, "#[Buckets = {:>12}, SubBuckets     = {:>12}]", h.buckets(), h.distinct_values())
}

impl fmt::Display for Latency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.table())
    }
}
