//! `ctistream bench`: one generated workload run side by side, in one process,
//! through the byte-scan floor, ctistream's decoder alone, ctistream's full
//! pipeline, and two baselines a user might write instead (`lean`, `naive`).
//! Every run reads the same bytes from memory and ratios compare runs made
//! minutes apart on the same machine, never figures from elsewhere.

pub mod checkpoint;
mod lean;
pub mod memory;
mod naive;
mod plot;
pub mod stalls;
pub mod wakeups;

use std::fmt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use ctistream_core::pipeline::{Origin, Pipeline, PipelineConfig, Stage};
use ctistream_core::state::{CallRecord, Outputs, Reducer, ReducerConfig};
use ctistream_core::{Decoder, Format, Framing, MemoryFrames};
use hdrhistogram::Histogram;

use crate::generate::{GenDialect, GenOptions, generate};
use crate::input::{grouped, now};

/// What to run.
#[derive(Clone, Debug)]
pub struct BenchOptions {
    /// About this many events are generated.
    pub events: u64,
    /// Pipeline shards.
    pub shards: usize,
    /// The random seed of the workload.
    pub seed: u64,
    /// Where to draw the latency percentile curves (SVG).
    pub plot: Option<PathBuf>,
    /// Where to write one `.hgrm` file per run.
    pub histograms_out: Option<PathBuf>,
}

/// Events in a `--quick` run: done in well under 30 s on two cores.
pub const QUICK_EVENTS: u64 = 400_000;

/// One run's measurements.
#[derive(Debug)]
pub struct Run {
    /// Its name in the report.
    pub name: &'static str,
    /// Records processed.
    pub events: u64,
    /// Wall time.
    pub elapsed: Duration,
    /// End-to-end latency per record (ns), where the run has one.
    pub latency: Option<Histogram<u64>>,
}

impl Run {
    /// Records per second.
    pub fn rate(&self) -> f64 {
        self.events as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// What a baseline reports back.
#[derive(Debug)]
struct BaselineRun {
    /// Records read, `rejected` among them.
    events: u64,
    /// Records the baseline could not read.
    rejected: u64,
    elapsed: Duration,
    latency: Option<Histogram<u64>>,
    call_records: u64,
}

/// The whole comparison.
#[derive(Debug)]
pub struct BenchReport {
    /// Generated events.
    pub events: u64,
    /// Their size in bytes.
    pub bytes: u64,
    /// Calls in the workload.
    pub calls: u64,
    /// Shards of the pipeline run.
    pub shards: usize,
    /// Floor, decode, single thread, pipeline, pipeline at half its peak,
    /// lean, naive, in that order.
    pub runs: Vec<Run>,
    /// The pipeline's per-stage latency table at half its peak (where the
    /// end-to-end time goes).
    pub half_load_stages: String,
    /// The machine's own latency floor, probed for as long as the 50%-load
    /// run took.
    pub stalls: stalls::Stalls,
    /// How long a parked thread takes to run once woken, on this machine.
    pub wakeups: wakeups::Wakeups,
}

impl BenchReport {
    fn run(&self, name: &str) -> &Run {
        self.runs.iter().find(|run| run.name == name).expect("every run is made")
    }

    /// Full pipeline events/s ÷ the naive baseline's.
    pub fn ratio_vs_naive(&self) -> f64 {
        self.run(PIPELINE).rate() / self.run(NAIVE).rate()
    }

    /// Full pipeline events/s ÷ the lean baseline's.
    pub fn ratio_vs_lean(&self) -> f64 {
        self.run(PIPELINE).rate() / self.run(LEAN).rate()
    }

    /// ctistream's decode alone on one core ÷ the byte-scan floor on one core.
    pub fn fraction_of_floor(&self) -> f64 {
        self.run(DECODE).rate() / self.run(FLOOR).rate()
    }

    /// ctistream's decode alone ÷ simd-json's tape parser, both on one core
    /// over the same records.
    pub fn decode_vs_simd_json(&self) -> f64 {
        self.run(DECODE).rate() / self.run(SIMD_JSON).rate()
    }
}

const FLOOR: &str = "floor (memchr lines)";
const DECODE: &str = "ctistream decode, 1 core";
const SIMD_JSON: &str = "simd-json tape, 1 core";
const REDUCER: &str = "ctistream 1 thread, no rings";
const PIPELINE: &str = "ctistream pipeline";
const PIPELINE_HALF: &str = "ctistream pipeline, 50% load";
const STALLS: &str = "machine stall floor";
const WAKEUPS: &str = "machine wake-up floor";
/// Wake-ups timed by the probe: about a second at their spacing.
const WAKEUP_COUNT: u32 = 4_000;
/// Spaced as the 50%-load run's batches reach a shard (a few hundred µs).
const WAKEUP_SPACING: Duration = Duration::from_micros(250);
const LEAN: &str = "lean baseline";
const NAIVE: &str = "naive baseline";

/// An empty latency histogram: 1 ns to 1 hour, 3 significant figures.
fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000_000, 3).expect("valid histogram bounds")
}

/// Generates the workload and makes every run, calling `note` before each.
///
/// # Errors
/// When the plot or histograms cannot be written.
pub fn bench(options: &BenchOptions, mut note: impl FnMut(&str)) -> anyhow::Result<BenchReport> {
    // About 9.8 events per call in the generated mix.
    let calls = (options.events / 10).max(100) as usize;
    let agents = (calls / 100).clamp(50, 20_000);
    let workload = GenOptions {
        agents,
        calls,
        seed: options.seed,
        dialect: GenDialect::Genesys,
        tenants: 4,
        rate: GenOptions::staffed_rate(agents, 4),
        until_ms: None,
    };
    note("generating the workload");
    let mut data = Vec::new();
    let summary =
        generate(&workload, &mut data, None, |_| {}).context("cannot generate the workload")?;
    let data = Bytes::from(data);

    let mut runs = Vec::new();
    note(FLOOR);
    runs.push(floor(&data));
    note(DECODE);
    runs.push(decode_only(&data));
    note(SIMD_JSON);
    runs.push(simd_json_tape(&data));
    note(REDUCER);
    runs.push(single_thread(&data));
    note(PIPELINE);
    let peak = pipeline(&data, options.shards.max(1));
    note(PIPELINE_HALF);
    // Latency is judged below capacity: at half the peak just measured.
    let half = peak.rate() / 2.0;
    runs.push(peak);
    let (half_load, half_load_stages) =
        pipeline_at(&data, options.shards.max(1), Some(half), PIPELINE_HALF);
    note(STALLS);
    let stalls =
        stalls::probe(half_load.elapsed.clamp(Duration::from_secs(1), Duration::from_secs(5)));
    note(WAKEUPS);
    let wakeups = wakeups::probe(WAKEUP_COUNT, WAKEUP_SPACING);
    runs.push(half_load);
    note(LEAN);
    let lean = lean::run(&data);
    runs.push(Run {
        name: LEAN,
        events: lean.events,
        elapsed: lean.elapsed,
        latency: lean.latency,
    });
    note(NAIVE);
    let naive = naive::run(&data);
    runs.push(Run {
        name: NAIVE,
        events: naive.events,
        elapsed: naive.elapsed,
        latency: naive.latency,
    });
    // Both baselines reduce to call records; a workload they could not read
    // would make every ratio meaningless.
    anyhow::ensure!(
        lean.call_records > 0
            && naive.call_records > 0
            && lean.events == summary.events
            && naive.events == summary.events
            && lean.rejected + naive.rejected == 0,
        "the baselines did not read the workload ({} and {} of {} events, {} and {} rejected, \
         {} and {} call records)",
        lean.events,
        naive.events,
        summary.events,
        lean.rejected,
        naive.rejected,
        lean.call_records,
        naive.call_records
    );

    let report = BenchReport {
        events: summary.events,
        bytes: summary.bytes,
        calls: summary.calls,
        shards: options.shards.max(1),
        runs,
        half_load_stages,
        stalls,
        wakeups,
    };
    if let Some(dir) = &options.histograms_out {
        write_hgrm(&report, dir)?;
    }
    if let Some(path) = &options.plot {
        let svg = plot::percentile_svg(&report.runs);
        std::fs::write(path, svg)
            .with_context(|| format!("cannot write the plot {}", path.display()))?;
    }
    Ok(report)
}

/// The physical limit of reading the input: finding every line end.
fn floor(data: &[u8]) -> Run {
    let started = Instant::now();
    let lines = memchr::memchr_iter(b'\n', data).count() as u64;
    std::hint::black_box(lines);
    Run { name: FLOOR, events: lines, elapsed: started.elapsed(), latency: None }
}

/// ctistream's framing and decoding on this thread, nothing else.
fn decode_only(data: &Bytes) -> Run {
    let started = Instant::now();
    let decoder = Decoder::new(Format::Genesys);
    let mut events = 0u64;
    for frame in MemoryFrames::new(data.clone(), Framing::Lines).flatten() {
        if let Ok(event) = decoder.decode(&frame.payload, frame.key.as_deref()) {
            std::hint::black_box(&event);
            events += 1;
        }
    }
    Run { name: DECODE, events, elapsed: started.elapsed(), latency: None }
}

/// simd-json's tape (its fastest, lowest-level parse: validation and a flat
/// node list, no values built) over the same framed records on this thread.
/// simd-json parses in place, so each record is first copied into a reused
/// buffer (a memcpy of a few hundred bytes); its scratch buffers and tape
/// are reused too, so neither side allocates per record.
fn simd_json_tape(data: &Bytes) -> Run {
    let started = Instant::now();
    let mut scratch = Vec::with_capacity(4096);
    let mut buffers = simd_json::Buffers::default();
    let mut spare = simd_json::Tape::null().reset();
    let mut events = 0u64;
    for frame in MemoryFrames::new(data.clone(), Framing::Lines).flatten() {
        scratch.clear();
        scratch.extend_from_slice(&frame.payload);
        let mut tape = spare.reset();
        if simd_json::fill_tape(&mut scratch, &mut buffers, &mut tape).is_ok() {
            std::hint::black_box(&tape);
            events += 1;
        }
        spare = tape.reset();
    }
    Run { name: SIMD_JSON, events, elapsed: started.elapsed(), latency: None }
}

/// ctistream's decoder and reducer on this thread, no pipeline: what the
/// pipeline's shards, rings and messages cost shows against this.
fn single_thread(data: &Bytes) -> Run {
    single_thread_into(data, &mut SerializeOutputs::default())
}

/// [`single_thread`] with its outputs going to `outputs`.
fn single_thread_into(data: &Bytes, outputs: &mut impl Outputs) -> Run {
    let started = Instant::now();
    let decoder = Decoder::new(Format::Genesys);
    let mut reducer = Reducer::new(ReducerConfig::default());
    let mut events = 0u64;
    let mut latency = new_histogram();
    let mut batch_start = Instant::now();
    let mut in_batch = 0u64;
    let mut ingest = now();
    for frame in MemoryFrames::new(data.clone(), Framing::Lines).flatten() {
        if let Ok(event) = decoder.decode(&frame.payload, frame.key.as_deref()) {
            reducer.apply(&event, ingest, outputs);
            events += 1;
            in_batch += 1;
        }
        if in_batch == 256 {
            // Batch-timed like the lean baseline: each record waits at most its batch.
            let _ = latency.record_n(batch_start.elapsed().as_nanos() as u64, in_batch);
            in_batch = 0;
            batch_start = Instant::now();
            ingest = now();
        }
    }
    reducer.finish(outputs);
    if in_batch > 0 {
        let _ = latency.record_n(batch_start.elapsed().as_nanos() as u64, in_batch);
    }
    Run { name: REDUCER, events, elapsed: started.elapsed(), latency: Some(latency) }
}

/// Serializes call records as `reduce --calls-out` would, into a buffer that
/// is reused (the bench measures processing, not the disk).
#[derive(Debug, Default)]
struct SerializeOutputs {
    buffer: Vec<u8>,
    records: u64,
}

impl Outputs for SerializeOutputs {
    fn call_record(&mut self, record: &CallRecord) {
        record.write_json(&mut self.buffer);
        self.records += 1;
        if self.buffer.len() > 1 << 20 {
            self.buffer.clear();
        }
    }
}

/// The full pipeline: framing on this thread, decode and reduce on the shards
/// (this thread decodes ahead for a shard that is behind).
fn pipeline(data: &Bytes, shards: usize) -> Run {
    pipeline_at(data, shards, None, PIPELINE).0
}

/// The pipeline fed at `pace` records per second (as fast as it goes with
/// `None`). A paced source hands over what it has before it waits, as a live
/// source does when its input goes quiet, so records do not wait for a batch
/// to fill. With the run, its per-stage latency table.
fn pipeline_at(
    data: &Bytes,
    shards: usize,
    pace: Option<f64>,
    name: &'static str,
) -> (Run, String) {
    let started = Instant::now();
    let config = PipelineConfig { shards, format: Format::Genesys, ..PipelineConfig::default() };
    let mut pipeline = Pipeline::start(config, SerializeOutputs::default());
    // Paced from here, not from `started`: records due while the pipeline
    // was being set up (its state, rings and threads) arrived as one burst,
    // and the backlog they left was much of what the run's p99 measured.
    let paced_from = Instant::now();
    let mut ingest = now();
    let mut events = 0u64;
    for frame in MemoryFrames::new(data.clone(), Framing::Lines).flatten() {
        events += 1;
        if events % 64 == 0 {
            if let Some(rate) = pace {
                let due = paced_from + Duration::from_secs_f64(events as f64 / rate);
                let ahead = due.saturating_duration_since(Instant::now());
                if !ahead.is_zero() {
                    pipeline.flush();
                    std::thread::sleep(ahead);
                }
            }
            ingest = now();
        }
        pipeline.push(frame.payload, frame.key, Origin { source: 0, line: frame.line }, ingest);
    }
    let done = pipeline.finish();
    let elapsed = started.elapsed();
    let latency = done.latency.histogram(Stage::EndToEnd).clone();
    (Run { name, events, elapsed, latency: Some(latency) }, done.latency.table())
}

fn write_hgrm(report: &BenchReport, dir: &std::path::Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for run in &report.runs {
        let Some(histogram) = &run.latency else { continue };
        let name: String =
            run.name.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
        let path = dir.join(format!("{name}.hgrm"));
        std::fs::write(&path, percentile_distribution(histogram))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    let path = dir.join("machine_stall_floor.hgrm");
    std::fs::write(&path, percentile_distribution(&report.stalls.wait))
        .with_context(|| format!("cannot write {}", path.display()))?;
    let path = dir.join("machine_wakeup_floor.hgrm");
    std::fs::write(&path, percentile_distribution(&report.wakeups.delay))
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// How many of `histogram`'s values (ns) are longer than `limit`.
fn slower_than(histogram: &Histogram<u64>, limit: Duration) -> u64 {
    let limit = limit.as_nanos() as u64;
    if histogram.max() <= limit { 0 } else { histogram.count_between(limit + 1, histogram.max()) }
}

/// HdrHistogram's percentile distribution text, values in microseconds.
fn percentile_distribution(histogram: &Histogram<u64>) -> String {
    use std::fmt::Write as _;
    let mut out = String::from("       Value     Percentile TotalCount 1/(1-Percentile)\n\n");
    for step in histogram.iter_quantiles(5) {
        let quantile = step.quantile_iterated_to();
        let inverse =
            if quantile < 1.0 { format!("{:.2}", 1.0 / (1.0 - quantile)) } else { "inf".into() };
        let _ = writeln!(
            out,
            "{:12.3} {:14.12} {:10} {:>14}",
            step.value_iterated_to() as f64 / 1000.0,
            quantile,
            step.count_since_last_iteration(),
            inverse
        );
    }
    let _ = writeln!(
        out,
        "#[Mean    = {:12.3}, StdDeviation   = {:12.3}]\n#[Max     = {:12.3}, Total count    = {:12}]",
        histogram.mean() / 1000.0,
        histogram.stdev() / 1000.0,
        histogram.max() as f64 / 1000.0,
        histogram.len()
    );
    out
}

impl fmt::Display for BenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "workload: {} events of {} calls ({:.1} MB of keyed Voice Microservices JSON), in memory",
            grouped(self.events),
            grouped(self.calls),
            self.bytes as f64 / 1e6
        )?;
        writeln!(
            f,
            "{:<28} {:>12} {:>9} {:>9} {:>10} {:>10} {:>10}",
            "run", "events/s", "MB/s", "ns/event", "p50 µs", "p99 µs", "p99.9 µs"
        )?;
        for run in &self.runs {
            let secs = run.elapsed.as_secs_f64().max(1e-9);
            let name = if run.name == PIPELINE {
                format!(
                    "{PIPELINE}, {} shard{}",
                    self.shards,
                    if self.shards == 1 { "" } else { "s" }
                )
            } else {
                run.name.to_owned()
            };
            let percentile = |q: f64| match &run.latency {
                Some(h) if !h.is_empty() => {
                    format!("{:.1}", h.value_at_quantile(q) as f64 / 1000.0)
                }
                _ => "-".to_owned(),
            };
            writeln!(
                f,
                "{name:<28} {:>12} {:>9.0} {:>9.1} {:>10} {:>10} {:>10}",
                grouped(run.rate() as u64),
                self.bytes as f64 / 1e6 / secs,
                secs * 1e9 / run.events.max(1) as f64,
                percentile(0.5),
                percentile(0.99),
                percentile(0.999),
            )?;
        }
        writeln!(f, "ratio_vs_naive={:.2}", self.ratio_vs_naive())?;
        writeln!(f, "ratio_vs_lean={:.2}", self.ratio_vs_lean())?;
        writeln!(f, "fraction_of_floor={:.2}", self.fraction_of_floor())?;
        writeln!(f, "decode_vs_simd_json={:.2}", self.decode_vs_simd_json())?;
        let stalls = &self.stalls;
        let wait_us = |q: f64| stalls.wait.value_at_quantile(q) as f64 / 1000.0;
        let steal = match stalls.steal {
            Some(steal) => format!(" (the host took {:.1}% of the CPUs' time)", steal * 100.0),
            None => String::new(),
        };
        writeln!(
            f,
            "{STALLS}: a thread that only spins did not run for {:.1}% of {:.1} s{steal}; a record \
             arriving at a random moment waits for it p50 {:.1} µs, p99 {:.1} µs, p99.9 {:.1} µs",
            stalls.stalled_fraction() * 100.0,
            stalls.elapsed.as_secs_f64(),
            wait_us(0.5),
            wait_us(0.99),
            wait_us(0.999),
        )?;
        writeln!(f, "machine_stall_p99_us={:.1}", wait_us(0.99))?;
        let delay = &self.wakeups.delay;
        let delay_us = |q: f64| delay.value_at_quantile(q) as f64 / 1000.0;
        writeln!(
            f,
            "{WAKEUPS}: a parked thread runs, after another wakes it, in p50 {:.1} µs, p99 {:.1} \
             µs, p99.9 {:.1} µs, max {:.1} µs ({} wake-ups {} µs apart, {} of them slower than \
             that, {} skipped while one was pending); a pipeline stage waiting for work at part \
             load pays this",
            delay_us(0.5),
            delay_us(0.99),
            delay_us(0.999),
            delay.max() as f64 / 1000.0,
            delay.len(),
            WAKEUP_SPACING.as_micros(),
            slower_than(delay, WAKEUP_SPACING),
            self.wakeups.overran,
        )?;
        writeln!(f, "machine_wakeup_p99_us={:.1}", delay_us(0.99))?;
        write!(f, "pipeline at 50% load, per stage:\n{}", self.half_load_stages)
    }
}

#[cfg(test)]
mod tests {
    use ctistream_core::state::{CollectOutputs, OwnedAgentChange};

    use super::*;

    fn workload(calls: usize) -> Bytes {
        let options = GenOptions {
            agents: 60,
            calls,
            seed: 3,
            dialect: GenDialect::Genesys,
            tenants: 2,
            rate: GenOptions::staffed_rate(60, 2),
            until_ms: None,
        };
        let mut data = Vec::new();
        generate(&options, &mut data, None, |_| {}).unwrap();
        Bytes::from(data)
    }

    #[test]
    fn the_lean_baseline_runs_the_same_reducers_to_the_same_outputs() {
        let data = workload(2000);
        let lines = memchr::memchr_iter(b'\n', &data).count() as u64;
        let mut from_lean = CollectOutputs::default();
        let lean = lean::reduce(&data, &mut from_lean);
        let mut from_ctistream = CollectOutputs::default();
        let ctistream = single_thread_into(&data, &mut from_ctistream);
        assert_eq!((lean.events, lean.rejected, ctistream.events), (lines, 0, lines));
        assert_eq!(lean.latency.as_ref().unwrap().len(), lines);
        // Every generated call ends in a record (consultations are threads of
        // their own), and sonic-rs's reading of each record reduces to exactly
        // what ctistream's decoder gives.
        assert!(from_lean.records.len() >= 2000, "{}", from_lean.records.len());
        let json = |records: &[CallRecord]| {
            let mut out = Vec::new();
            records.iter().for_each(|record| record.write_json(&mut out));
            String::from_utf8(out).unwrap()
        };
        assert_eq!(json(&from_lean.records), json(&from_ctistream.records));
        let changes = |changes: &[OwnedAgentChange]| {
            let mut out = Vec::new();
            changes.iter().for_each(|change| change.view().write_json(&mut out));
            String::from_utf8(out).unwrap()
        };
        assert_eq!(changes(&from_lean.changes), changes(&from_ctistream.changes));
    }

    #[test]
    fn the_lean_baseline_refuses_what_the_decoder_refuses() {
        let data = b"t1:ct-1\t{\"id\":\"EventRinging\",\"CallThreadID\":\"ct-1\"}\n\
            t1:ct-1\t{\"id\":\"EventNoSuchThing\",\"ThisDN\":\"1\"}\n\
            t1:ct-1\t{\"id\":\"EventRinging\",\"CallThreadID\":\"ct-1\",\"ThisDN\":\"1\",\"CallType\":\"Sideways\"}\n\
            t1:ct-1\t{\"id\":\"EventRinging\",\"time\":\"yesterday\",\"CallThreadID\":\"ct-1\",\"ThisDN\":\"1\"}\n\
            t1:ct-1\t{\"id\":\"EventRinging\",\"CallThreadID\":\"ct-1\",\"ThisDN\":\"1\"}\n";
        let decoder = Decoder::new(Format::Genesys);
        let frames: Vec<_> =
            MemoryFrames::new(Bytes::from_static(data), Framing::Lines).flatten().collect();
        let by_decoder: Vec<bool> = frames
            .iter()
            .map(|frame| decoder.decode(&frame.payload, frame.key.as_deref()).is_ok())
            .collect();
        let by_lean: Vec<bool> = frames
            .iter()
            .map(|frame| lean::read(&frame.payload, frame.key.as_deref()).is_some())
            .collect();
        assert_eq!(by_decoder, [false, false, false, false, true]);
        assert_eq!(by_lean, by_decoder);
        let lean = lean::reduce(data, &mut CollectOutputs::default());
        assert_eq!((lean.events, lean.rejected), (5, 4));
    }

    #[test]
    fn the_naive_baseline_reads_every_event_and_ends_every_call() {
        let data = workload(2000);
        let lines = memchr::memchr_iter(b'\n', &data).count() as u64;
        let naive = naive::run(&data);
        assert_eq!((naive.events, naive.rejected), (lines, 0));
        assert!(naive.call_records >= 2000, "{}", naive.call_records);
        assert_eq!(naive.latency.as_ref().unwrap().len(), lines);
    }

    #[test]
    fn the_floor_and_the_decoders_see_every_record() {
        let data = workload(500);
        let lines = memchr::memchr_iter(b'\n', &data).count() as u64;
        assert_eq!(floor(&data).events, lines);
        assert_eq!(decode_only(&data).events, lines);
        assert_eq!(simd_json_tape(&data).events, lines, "simd-json parses every record");
        let run = pipeline(&data, 2);
        assert_eq!(run.events, lines);
        assert!(!run.latency.unwrap().is_empty());
    }
}
