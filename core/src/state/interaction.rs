//! The interaction reducer: Orchestration Server (`ors`) events reduced to one
//! record per interaction and a summary of action results.
//!
//! See [`InteractionReducer`] for what it keeps and what it costs.

use std::borrow::Cow;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::fmt;
use std::io::Write as _;
use std::sync::Arc;

use crate::event::{Attr, Event, EventKind, OrsEvent, OrsNamespace, Timestamp, Value};
use crate::output::write_json_string;

/// The settings of an [`InteractionReducer`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct InteractionConfig {
    /// How long (event time, milliseconds) a request may wait for its result
    /// before it counts as timed out; also how long a deleted interaction is
    /// remembered. `0` or less disables timeouts (tombstones are then limited by
    /// the cap only). Default 30 000.
    pub request_timeout_ms: i64,
    /// The most interactions plus pending requests tracked at once (at least 1).
    /// Past it the least recently active one is evicted and counted.
    /// Default 1 000 000.
    pub max_open: usize,
}

impl Default for InteractionConfig {
    fn default() -> Self {
        InteractionConfig { request_timeout_ms: 30_000, max_open: 1_000_000 }
    }
}

/// One interaction's life, as written to the interaction output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InteractionRecord {
    /// The tenant.
    pub tenant: String,
    /// The interaction id.
    pub interaction: String,
    /// When `interaction.added` came; `None` if the interaction was first seen
    /// through another event.
    pub added: Option<Timestamp>,
    /// When `interaction.deleted` came; `None` for an interaction still open at
    /// the end of input.
    pub deleted: Option<Timestamp>,
    /// Whether `interaction.present` came.
    pub presented: bool,
    /// The `resultof` of the last `interaction.notcontrolled` (empty text when
    /// it had none); `None` if the interaction was never reported not controlled.
    pub not_controlled: Option<String>,
    /// `interaction.partyadded` events.
    pub parties: u32,
    /// Action results (`.done` and `error.`) for this interaction.
    pub results: u32,
    /// The failed ones (`error.<ns>.<action>`) among `results`.
    pub errors: u32,
    /// The interaction this one was merged into (`interaction.onmerge`).
    pub merged_into: Option<String>,
    /// Events applied to this interaction (an `onmerge` counts for both
    /// interactions it names).
    pub events: u32,
}

impl InteractionRecord {
    /// Appends the record as one NDJSON line (with its `\n`), keys in field
    /// order, times in RFC 3339, `null` where absent:
    ///
    /// ```text
    /// {"tenant":"t1","interaction":"ixn-1","added":"2026-11-20T09:15:00.100Z",
    ///  "deleted":"2026-11-20T09:16:00.000Z","presented":false,"not_controlled":"redirect",
    ///  "parties":1,"results":2,"errors":1,"merged_into":"ixn-2","events":13}
    /// ```
    pub fn write_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"tenant\":");
        write_json_string(out, self.tenant.as_bytes());
        out.extend_from_slice(b",\"interaction\":");
        write_json_string(out, self.interaction.as_bytes());
        out.extend_from_slice(b",\"added\":");
        write_time(out, self.added);
        out.extend_from_slice(b",\"deleted\":");
        write_time(out, self.deleted);
        out.extend_from_slice(b",\"presented\":");
        out.extend_from_slice(if self.presented { b"true" } else { b"false" });
        out.extend_from_slice(b",\"not_controlled\":");
        write_opt_string(out, self.not_controlled.as_deref());
        let _ = write!(
            out,
            ",\"parties\":{},\"results\":{},\"errors\":{},\"merged_into\":",
            self.parties, self.results, self.errors
        );
        write_opt_string(out, self.merged_into.as_deref());
        let _ = writeln!(out, ",\"events\":{}}}", self.events);
    }
}

/// Request→result latencies in milliseconds: count, sum, minimum, maximum and a
/// log-bucket histogram for percentiles.
///
/// Values below 64 ms are kept exactly; above, each power of two is cut into 32
/// buckets, so a percentile is at most 1/32 (about 3 %) above the true value.
/// Percentiles never leave `[min, max]`, so they are exact for one value.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LatencyStats {
    count: u64,
    sum_ms: u64,
    min_ms: u64,
    max_ms: u64,
    /// Counts per bucket, grown to the highest bucket used.
    buckets: Vec<u64>,
}

/// Sub-buckets per power of two (as a power of two).
const SUB_BITS: u32 = 5;
/// Sub-buckets per power of two.
const SUB: u64 = 1 << SUB_BITS;
/// Values at or above this many milliseconds (about 35 years) share the last
/// bucket; their minimum, maximum and sum stay exact.
const HISTOGRAM_LIMIT: u64 = 1 << 40;

impl LatencyStats {
    /// Adds one latency.
    pub fn record(&mut self, ms: u64) {
        if self.count == 0 || ms < self.min_ms {
            self.min_ms = ms;
        }
        if self.count == 0 || ms > self.max_ms {
            self.max_ms = ms;
        }
        self.count += 1;
        self.sum_ms = self.sum_ms.saturating_add(ms);
        let bucket = bucket_of(ms);
        if self.buckets.len() <= bucket {
            self.buckets.resize(bucket + 1, 0);
        }
        self.buckets[bucket] += 1;
    }

    /// Adds every latency of `other`.
    pub fn merge(&mut self, other: &LatencyStats) {
        if other.count == 0 {
            return;
        }
        if self.count == 0 || other.min_ms < self.min_ms {
            self.min_ms = other.min_ms;
        }
        if self.count == 0 || other.max_ms > self.max_ms {
            self.max_ms = other.max_ms;
        }
        self.count += other.count;
        self.sum_ms = self.sum_ms.saturating_add(other.sum_ms);
        if self.buckets.len() < other.buckets.len() {
            self.buckets.resize(other.buckets.len(), 0);
        }
        for (mine, theirs) in self.buckets.iter_mut().zip(&other.buckets) {
            *mine += theirs;
        }
    }

    /// How many latencies were recorded.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Their sum (saturating).
    pub fn sum_ms(&self) -> u64 {
        self.sum_ms
    }

    /// The smallest; `None` when empty.
    pub fn min_ms(&self) -> Option<u64> {
        (self.count > 0).then_some(self.min_ms)
    }

    /// The largest; `None` when empty.
    pub fn max_ms(&self) -> Option<u64> {
        (self.count > 0).then_some(self.max_ms)
    }

    /// The mean; `None` when empty.
    pub fn mean_ms(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum_ms as f64 / self.count as f64)
    }

    /// The `q` quantile (`0.5` for the median): the smallest recorded value
    /// (to bucket precision) with at least `q` of all values at or below it.
    /// `None` when empty or when `q` is not a number.
    pub fn quantile(&self, q: f64) -> Option<u64> {
        if self.count == 0 || q.is_nan() {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.count as f64).ceil() as u64).clamp(1, self.count);
        let mut seen = 0;
        for (bucket, &n) in self.buckets.iter().enumerate() {
            seen += n;
            if seen >= rank {
                return Some(bucket_high(bucket).clamp(self.min_ms, self.max_ms));
            }
        }
        Some(self.max_ms)
    }

    /// The median.
    pub fn p50(&self) -> Option<u64> {
        self.quantile(0.5)
    }

    /// The 99th percentile.
    pub fn p99(&self) -> Option<u64> {
        self.quantile(0.99)
    }

    /// Appends `{"count":…,"sum":…,"min":…,"max":…,"p50":…,"p99":…}` (`null`
    /// for the last four when empty).
    pub fn write_json(&self, out: &mut Vec<u8>) {
        let _ = write!(out, "{{\"count\":{},\"sum\":{},\"min\":", self.count, self.sum_ms);
        write_opt_u64(out, self.min_ms());
        out.extend_from_slice(b",\"max\":");
        write_opt_u64(out, self.max_ms());
        out.extend_from_slice(b",\"p50\":");
        write_opt_u64(out, self.p50());
        out.extend_from_slice(b",\"p99\":");
        write_opt_u64(out, self.p99());
        out.push(b'}');
    }
}

/// The histogram bucket of a value.
fn bucket_of(ms: u64) -> usize {
    let ms = ms.min(HISTOGRAM_LIMIT - 1);
    if ms < 2 * SUB {
        return ms as usize;
    }
    let top = 63 - ms.leading_zeros(); // ≥ SUB_BITS + 1
    let shift = top - SUB_BITS;
    let sub = (ms >> shift) - SUB;
    (2 * SUB + u64::from(shift - 1) * SUB + sub) as usize
}

/// The highest value that falls in `bucket`.
fn bucket_high(bucket: usize) -> u64 {
    let bucket = bucket as u64;
    if bucket < 2 * SUB {
        return bucket;
    }
    let octave = (bucket - 2 * SUB) / SUB;
    let sub = (bucket - 2 * SUB) % SUB;
    ((SUB + sub + 1) << (octave + 1)) - 1
}

/// The results of one action (`<ns>.<action>`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ActionStats {
    /// The namespace.
    pub namespace: OrsNamespace,
    /// The action (`redirect`, `transcript.send`, …), as written in the event
    /// name. Past 4 096 distinct actions, further ones are counted as `(other)`.
    pub action: String,
    /// Requests seen.
    pub requests: u64,
    /// `<ns>.<action>.done` results.
    pub done: u64,
    /// `error.<ns>.<action>` results.
    pub failed: u64,
    /// Failed results per error kind (the `error` attribute as text, `(none)`
    /// when absent), in order of first occurrence. Past 64 kinds, further ones
    /// are counted as `(other)`.
    pub errors: Vec<(String, u64)>,
    /// Results whose request was not seen (or had already timed out or been
    /// evicted).
    pub unmatched: u64,
    /// Requests with no result within the timeout.
    pub timed_out: u64,
    /// Request→result latency of the matched results.
    pub latency: LatencyStats,
}

/// The most distinct actions kept apart; further ones share `(other)`.
const MAX_ACTIONS: usize = 4096;
/// The most distinct error kinds kept apart per action.
const MAX_ERROR_KINDS: usize = 64;
/// The name shared by actions or error kinds past their limit.
const OTHER: &str = "(other)";
/// The error kind of a failure without an `error` attribute.
const NO_ERROR_KIND: &[u8] = b"(none)";

impl ActionStats {
    fn new(namespace: OrsNamespace, action: &[u8]) -> ActionStats {
        ActionStats {
            namespace,
            action: String::from_utf8_lossy(action).into_owned(),
            requests: 0,
            done: 0,
            failed: 0,
            errors: Vec::new(),
            unmatched: 0,
            timed_out: 0,
            latency: LatencyStats::default(),
        }
    }

    fn count_error(&mut self, kind: &[u8]) {
        if let Some((_, n)) = self.errors.iter_mut().find(|(known, _)| known.as_bytes() == kind) {
            *n += 1;
            return;
        }
        if self.errors.len() < MAX_ERROR_KINDS {
            self.errors.push((String::from_utf8_lossy(kind).into_owned(), 1));
            return;
        }
        match self.errors.iter_mut().find(|(known, _)| known == OTHER) {
            Some((_, n)) => *n += 1,
            None => self.errors.push((OTHER.to_owned(), 1)),
        }
    }

    /// The error count of `kind` (`0` if never seen).
    pub fn errors_of(&self, kind: &str) -> u64 {
        self.errors.iter().find(|(known, _)| known == kind).map_or(0, |(_, n)| *n)
    }
}

/// What the interaction reducer has seen: lifecycle counts, requests and
/// results per action, latencies.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct InteractionSummary {
    /// ORS events applied.
    pub events: u64,
    /// Other events passed to [`InteractionReducer::apply`] and ignored.
    pub ignored: u64,
    /// Lifecycle events by kind, in the order of [`OrsEvent::INTERACTION_EVENTS`]
    /// (see [`lifecycle_count`](Self::lifecycle_count)).
    pub lifecycle: [u64; OrsEvent::INTERACTION_EVENTS.len()],
    /// Interaction lives started (`added`, or any first event).
    pub interactions_started: u64,
    /// Interactions ended by `interaction.deleted`.
    pub interactions_finished: u64,
    /// Interactions open now.
    pub open_interactions: u64,
    /// Interactions evicted to stay within `max_open`.
    pub evicted_interactions: u64,
    /// Events for an interaction deleted shortly before (ignored).
    pub after_delete: u64,
    /// Requests and results naming no interaction (neither key, `interactionid`
    /// nor, for a result, a request that named one).
    pub unattributed: u64,
    /// Action requests seen.
    pub requests: u64,
    /// Requests without a `requestid`, which no result can match.
    pub uncorrelated_requests: u64,
    /// Requests whose (tenant, `requestid`) was already pending (the first is kept).
    pub duplicate_requests: u64,
    /// Requests waiting for their result now.
    pub open_requests: u64,
    /// Requests evicted to stay within `max_open`.
    pub evicted_requests: u64,
    /// Requests still waiting at [`InteractionReducer::flush`].
    pub unanswered_at_end: u64,
    /// `.done` results.
    pub done: u64,
    /// `error.` results.
    pub failed: u64,
    /// Results matched to their request.
    pub matched: u64,
    /// Results whose request was not seen (or had timed out or been evicted).
    pub unmatched_results: u64,
    /// Requests with no result within the timeout.
    pub timed_out: u64,
    /// Request→result latency over all actions.
    pub latency: LatencyStats,
    /// Per action, in order of first occurrence.
    pub actions: Vec<ActionStats>,
}

impl InteractionSummary {
    /// The count of one lifecycle event (`0` for requests and results).
    pub fn lifecycle_count(&self, event: OrsEvent) -> u64 {
        lifecycle_index(event).map_or(0, |index| self.lifecycle[index])
    }

    /// The results of `<namespace>.<action>`, if any were seen.
    pub fn action(&self, namespace: OrsNamespace, action: &str) -> Option<&ActionStats> {
        self.actions.iter().find(|stats| stats.namespace == namespace && stats.action == action)
    }

    /// The actions sorted by namespace, then name.
    fn sorted_actions(&self) -> Vec<&ActionStats> {
        let mut sorted: Vec<&ActionStats> = self.actions.iter().collect();
        sorted.sort_by(|a, b| {
            (a.namespace as usize, &a.action).cmp(&(b.namespace as usize, &b.action))
        });
        sorted
    }

    /// Appends the summary as one JSON line (with its `\n`):
    ///
    /// ```text
    /// {"events":…,"ignored":…,
    ///  "interactions":{"started":…,"finished":…,"open":…,"evicted":…,"after_delete":…,"unattributed":…},
    ///  "lifecycle":{"interaction.added":…, … every lifecycle event},
    ///  "requests":{"seen":…,"uncorrelated":…,"duplicate":…,"open":…,"matched":…,"timed_out":…,
    ///              "evicted":…,"unanswered_at_end":…},
    ///  "results":{"done":…,"failed":…,"unmatched":…},
    ///  "latency_ms":{"count":…,"sum":…,"min":…,"max":…,"p50":…,"p99":…},
    ///  "actions":[{"namespace":"interaction","action":"redirect","requests":…,"done":…,
    ///              "failed":…,"errors":{"kind":n,…},"unmatched":…,"timed_out":…,
    ///              "latency_ms":{…}}, …]}
    /// ```
    /// Actions are sorted by namespace (interaction, voice, msgbased, chat), then name.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        let _ = write!(
            out,
            "{{\"events\":{},\"ignored\":{},\"interactions\":{{\"started\":{},\"finished\":{},\
             \"open\":{},\"evicted\":{},\"after_delete\":{},\"unattributed\":{}}},\"lifecycle\":{{",
            self.events,
            self.ignored,
            self.interactions_started,
            self.interactions_finished,
            self.open_interactions,
            self.evicted_interactions,
            self.after_delete,
            self.unattributed,
        );
        for (index, ((_, name), count)) in
            OrsEvent::INTERACTION_EVENTS.iter().zip(&self.lifecycle).enumerate()
        {
            if index > 0 {
                out.push(b',');
            }
            write_json_string(out, name.as_bytes());
            let _ = write!(out, ":{count}");
        }
        let _ = write!(
            out,
            "}},\"requests\":{{\"seen\":{},\"uncorrelated\":{},\"duplicate\":{},\"open\":{},\
             \"matched\":{},\"timed_out\":{},\"evicted\":{},\"unanswered_at_end\":{}}},\
             \"results\":{{\"done\":{},\"failed\":{},\"unmatched\":{}}},\"latency_ms\":",
            self.requests,
            self.uncorrelated_requests,
            self.duplicate_requests,
            self.open_requests,
            self.matched,
            self.timed_out,
            self.evicted_requests,
            self.unanswered_at_end,
            self.done,
            self.failed,
            self.unmatched_results,
        );
        self.latency.write_json(out);
        out.extend_from_slice(b",\"actions\":[");
        for (index, stats) in self.sorted_actions().into_iter().enumerate() {
            if index > 0 {
                out.push(b',');
            }
            out.extend_from_slice(b"{\"namespace\":");
            write_json_string(out, stats.namespace.name().as_bytes());
            out.extend_from_slice(b",\"action\":");
            write_json_string(out, stats.action.as_bytes());
            let _ = write!(
                out,
                ",\"requests\":{},\"done\":{},\"failed\":{},\"errors\":{{",
                stats.requests, stats.done, stats.failed
            );
            for (index, (kind, count)) in stats.errors.iter().enumerate() {
                if index > 0 {
                    out.push(b',');
                }
                write_json_string(out, kind.as_bytes());
                let _ = write!(out, ":{count}");
            }
            let _ = write!(
                out,
                "}},\"unmatched\":{},\"timed_out\":{},\"latency_ms\":",
                stats.unmatched, stats.timed_out
            );
            stats.latency.write_json(out);
            out.push(b'}');
        }
        out.extend_from_slice(b"]}\n");
    }
}

/// A table for people (the `ors_sample.ndjson` fixture):
///
/// ```text
/// interactions: 4 started, 1 finished, 3 open, 0 evicted, 0 events after delete, 0 unattributed
/// lifecycle: interaction.added 1, interaction.deleted 1, interaction.present 1, …
/// requests: 2 seen, 2 matched, 0 timed out, 0 open, 0 duplicate, 0 uncorrelated, 0 evicted, 0 unanswered at end
/// results: 3 done, 2 failed, 3 unmatched
/// latency ms: n=2 p50=40 p99=2000 min=40 max=2000 mean=1020.0
///
/// action                   requests     done   failed unmatched timed_out    lat_n   p50_ms   p99_ms   max_ms
/// interaction.redirect            1        1        0         0         0        1     2000     2000     2000
/// voice.singlesteptransfer        0        0        1         1         0        0        -        -        -
///   errors: 1141 ×1
/// msgbased.placeinqueue           1        1        0         0         0        1       40       40       40
/// chat.join                       0        0        1         1         0        0        -        -        -
///   errors: NOT_FOUND ×1
/// chat.transcript.send            0        1        0         1         0        0        -        -        -
/// ```
impl fmt::Display for InteractionSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "interactions: {} started, {} finished, {} open, {} evicted, {} events after delete, \
             {} unattributed",
            self.interactions_started,
            self.interactions_finished,
            self.open_interactions,
            self.evicted_interactions,
            self.after_delete,
            self.unattributed,
        )?;
        f.write_str("lifecycle:")?;
        let mut any = false;
        for ((_, name), count) in OrsEvent::INTERACTION_EVENTS.iter().zip(&self.lifecycle) {
            if *count > 0 {
                write!(f, "{} {name} {count}", if any { "," } else { "" })?;
                any = true;
            }
        }
        if !any {
            f.write_str(" none")?;
        }
        writeln!(f)?;
        writeln!(
            f,
            "requests: {} seen, {} matched, {} timed out, {} open, {} duplicate, {} uncorrelated, \
             {} evicted, {} unanswered at end",
            self.requests,
            self.matched,
            self.timed_out,
            self.open_requests,
            self.duplicate_requests,
            self.uncorrelated_requests,
            self.evicted_requests,
            self.unanswered_at_end,
        )?;
        writeln!(
            f,
            "results: {} done, {} failed, {} unmatched",
            self.done, self.failed, self.unmatched_results
        )?;
        write!(f, "latency ms: ")?;
        write_latency_line(f, &self.latency)?;
        writeln!(f)?;
        let sorted = self.sorted_actions();
        if sorted.is_empty() {
            return Ok(());
        }
        let names: Vec<String> = sorted
            .iter()
            .map(|stats| format!("{}.{}", stats.namespace.name(), stats.action))
            .collect();
        let width = names.iter().map(String::len).max().unwrap_or(0).max("action".len());
        writeln!(
            f,
            "\n{:<width$} {:>8} {:>8} {:>8} {:>9} {:>9} {:>8} {:>8} {:>8} {:>8}",
            "action",
            "requests",
            "done",
            "failed",
            "unmatched",
            "timed_out",
            "lat_n",
            "p50_ms",
            "p99_ms",
            "max_ms",
        )?;
        let dash = |value: Option<u64>| value.map_or_else(|| "-".to_owned(), |v| v.to_string());
        for (stats, name) in sorted.iter().zip(&names) {
            writeln!(
                f,
                "{name:<width$} {:>8} {:>8} {:>8} {:>9} {:>9} {:>8} {:>8} {:>8} {:>8}",
                stats.requests,
                stats.done,
                stats.failed,
                stats.unmatched,
                stats.timed_out,
                stats.latency.count(),
                dash(stats.latency.p50()),
                dash(stats.latency.p99()),
                dash(stats.latency.max_ms()),
            )?;
            if !stats.errors.is_empty() {
                f.write_str("  errors:")?;
                for (index, (kind, count)) in stats.errors.iter().enumerate() {
                    write!(f, "{} {kind} ×{count}", if index > 0 { "," } else { "" })?;
                }
                writeln!(f)?;
            }
        }
        Ok(())
    }
}

fn write_latency_line(f: &mut fmt::Formatter<'_>, latency: &LatencyStats) -> fmt::Result {
    match (latency.p50(), latency.p99(), latency.min_ms(), latency.max_ms(), latency.mean_ms()) {
        (Some(p50), Some(p99), Some(min), Some(max), Some(mean)) => write!(
            f,
            "n={} p50={p50} p99={p99} min={min} max={max} mean={mean:.1}",
            latency.count()
        ),
        _ => f.write_str("n=0"),
    }
}

/// The open state of one interaction.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct Interaction {
    added: Option<Timestamp>,
    presented: bool,
    not_controlled: Option<String>,
    parties: u32,
    results: u32,
    errors: u32,
    merged_into: Option<String>,
    events: u32,
}

/// A request waiting for its result.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Request {
    at: Timestamp,
    /// Index into the summary's actions.
    action: u32,
    /// The key of the interaction it named, for a result that names none.
    interaction: Option<Arc<[u8]>>,
}

/// Reduces Orchestration Server events to interaction records and a summary of
/// action results.
///
/// # What it keeps
///
/// - **Interactions**, keyed by tenant ([`Event::tenant`]) and interaction id
///   (the record key's ID, else `interactionid`; for `interaction.onmerge` the
///   key's ID, else `tointeractionid`). `interaction.added` starts one; any other
///   first event for an unknown interaction starts one too, with `added: None`.
///   `interaction.present` sets `presented`, `interaction.notcontrolled` keeps its
///   `resultof`, `interaction.partyadded` counts a party, `interaction.onmerge`
///   marks the `interactionid` interaction as merged into the target, and
///   `interaction.deleted` ends it: its [`InteractionRecord`] waits for
///   [`InteractionReducer::drain_finished`] and its state is freed.
/// - **Tombstones**: a deleted interaction is remembered for
///   [`InteractionConfig::request_timeout_ms`] of event time (the results of its
///   last requests may still come in that window). Events for it meanwhile are
///   counted ([`InteractionSummary::after_delete`]) and otherwise ignored, so a
///   repeated `deleted` never emits a second record. Only `interaction.added`
///   starts a new life under the same id at once.
/// - **Pending requests**: an action request `<ns>.<action>` in the stream is
///   kept by (tenant, `requestid`) with its event time. Its result
///   (`<ns>.<action>.done` or `error.<ns>.<action>`) takes it out and records the
///   request→result latency (event times, never negative). Requests and
///   results are events of the interaction they name (key or `interactionid`;
///   a result naming none counts for its request's interaction). A request with no
///   result within `request_timeout_ms` of event time is counted as timed out
///   when a later event moves time past its deadline (the reducer's clock is
///   the latest event time it has seen).
///
/// Interactions plus pending requests are capped at
/// [`InteractionConfig::max_open`]: past it, the least recently active one is
/// evicted (without a record) and counted. Tombstones have the same cap of their
/// own.
///
/// # Cost
///
/// One hash lookup per event (two for a result: its request, its interaction).
/// The composite keys are built in
/// a reused buffer; only a key seen for the first time allocates (its one shared
/// copy), as do the first occurrences of an action name or an error kind.
/// Recency is an intrusive list over a slab, so touching an entry is O(1).
///
/// # Examples
///
/// ```
/// use ctistream_core::{Decoder, Format, InteractionReducer, OrsNamespace};
///
/// let records = [
///     r#"{"name":"interaction.added","time":"2026-11-20T09:15:00.000Z","tenant":"t1","data":{"interactionid":"ixn-1"}}"#,
///     r#"{"name":"voice.redirect","time":"2026-11-20T09:15:01.000Z","tenant":"t1","data":{"requestid":"r-1","interactionid":"ixn-1"}}"#,
///     r#"{"name":"voice.redirect.done","time":"2026-11-20T09:15:01.250Z","tenant":"t1","data":{"requestid":"r-1"}}"#,
///     r#"{"name":"interaction.deleted","time":"2026-11-20T09:16:00.000Z","tenant":"t1","data":{"interactionid":"ixn-1"}}"#,
/// ];
/// let decoder = Decoder::new(Format::Ors);
/// let mut reducer = InteractionReducer::default();
/// let mut finished = Vec::new();
/// for record in records {
///     let event = decoder.decode(record.as_bytes(), None)?;
///     let at = event.time().expect("ORS records carry their time");
///     reducer.apply(&event, at);
///     reducer.drain_finished(&mut finished);
/// }
/// assert_eq!(finished.len(), 1);
/// assert_eq!((finished[0].interaction.as_str(), finished[0].results, finished[0].events), ("ixn-1", 1, 4));
/// let redirect = reducer.summary().action(OrsNamespace::Voice, "redirect").unwrap();
/// assert_eq!((redirect.done, redirect.latency.p50()), (1, Some(250)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct InteractionReducer {
    config: InteractionConfig,
    /// `max_open`, at least 1 and at most what a slot index holds.
    cap: usize,
    /// Open interactions, least recently active first.
    live: Table<Interaction>,
    /// Recently deleted interactions and when they were deleted, oldest first.
    gone: Table<Timestamp>,
    /// Pending requests, oldest first.
    requests: Table<Request>,
    /// Request deadlines (µs), soonest first, with the request's slot and
    /// generation; entries of answered requests are skipped when they surface.
    deadlines: BinaryHeap<Reverse<(i64, u32, u32)>>,
    /// Records finished and not yet taken (taken after every event, so
    /// empty whenever the state is saved).
    #[serde(skip)]
    finished: Vec<InteractionRecord>,
    summary: InteractionSummary,
    /// Per namespace: action name → index into `summary.actions`.
    action_index: [HashMap<Box<[u8]>, u32>; 4],
    /// The latest event time seen.
    clock: Option<Timestamp>,
    /// Activity counter, for eviction across interactions and requests.
    stamp: u64,
    /// The composite key being looked up (scratch space).
    #[serde(skip)]
    key: Vec<u8>,
}

impl Default for InteractionReducer {
    fn default() -> Self {
        InteractionReducer::new(InteractionConfig::default())
    }
}

impl InteractionReducer {
    /// A reducer with `config`.
    pub fn new(config: InteractionConfig) -> InteractionReducer {
        InteractionReducer {
            config,
            cap: config.max_open.clamp(1, (NIL - 1) as usize),
            live: Table::default(),
            gone: Table::default(),
            requests: Table::default(),
            deadlines: BinaryHeap::new(),
            finished: Vec::new(),
            summary: InteractionSummary::default(),
            action_index: Default::default(),
            clock: None,
            stamp: 0,
            key: Vec::with_capacity(64),
        }
    }

    /// The settings.
    pub fn config(&self) -> &InteractionConfig {
        &self.config
    }

    /// Applies one ORS event (others are counted as ignored). `at` is the event
    /// time (event.time() or ingest time, given by the caller); it also moves
    /// the reducer's clock forward, which times out requests and forgets old
    /// tombstones.
    pub fn apply(&mut self, event: &Event<'_>, at: Timestamp) {
        let EventKind::Ors(kind) = event.kind() else {
            self.summary.ignored += 1;
            return;
        };
        self.summary.events += 1;
        self.advance(at);
        let tenant = event.tenant();
        match kind {
            OrsEvent::Request(namespace) => self.request(event, namespace, tenant, at),
            OrsEvent::Done(namespace) => self.result(event, namespace, tenant, at, false),
            OrsEvent::Failed(namespace) => self.result(event, namespace, tenant, at, true),
            OrsEvent::OnMerge => self.merge(event, tenant),
            lifecycle => self.lifecycle(event, lifecycle, tenant, at),
        }
        self.summary.open_interactions = self.live.len() as u64;
        self.summary.open_requests = self.requests.len() as u64;
    }

    /// Moves the records of interactions that were deleted into `out` (and frees
    /// their state), in the order they were deleted.
    pub fn drain_finished(&mut self, out: &mut Vec<InteractionRecord>) {
        out.append(&mut self.finished);
    }

    /// At end of input: the deleted interactions not drained yet, then every
    /// open interaction as a record with `deleted: None` (least recently active
    /// first). Pending requests are counted as unanswered and dropped; the
    /// reducer is empty afterwards (its summary stays).
    pub fn flush(&mut self, out: &mut Vec<InteractionRecord>) {
        self.drain_finished(out);
        while let Some((key, interaction)) = self.live.front().and_then(|s| self.live.remove(s)) {
            out.push(record(&key, interaction, None));
        }
        self.summary.unanswered_at_end += self.requests.len() as u64;
        self.requests.clear();
        self.gone.clear();
        self.deadlines.clear();
        self.summary.open_interactions = 0;
        self.summary.open_requests = 0;
    }

    /// Results per action and error kind, request→result latency, counts.
    pub fn summary(&self) -> &InteractionSummary {
        &self.summary
    }

    /// Moves the clock to `at` if later: times out requests whose deadline it
    /// passed and forgets tombstones older than the timeout.
    fn advance(&mut self, at: Timestamp) {
        if self.clock.is_some_and(|clock| at <= clock) {
            return;
        }
        self.clock = Some(at);
        let timeout = self.timeout_micros();
        if timeout <= 0 {
            return;
        }
        while let Some(&Reverse((deadline, slot, generation))) = self.deadlines.peek() {
            if deadline >= at.0 {
                break;
            }
            self.deadlines.pop();
            if !self.requests.is_current(slot, generation) {
                continue;
            }
            if let Some((_, request)) = self.requests.remove(slot) {
                self.summary.timed_out += 1;
                if let Some(stats) = self.summary.actions.get_mut(request.action as usize) {
                    stats.timed_out += 1;
                }
            }
        }
        while let Some(slot) = self.gone.front() {
            let expired = self.gone.value(slot).is_some_and(|d| d.0.saturating_add(timeout) < at.0);
            if !expired || self.gone.remove(slot).is_none() {
                break;
            }
        }
    }

    fn timeout_micros(&self) -> i64 {
        self.config.request_timeout_ms.saturating_mul(1000)
    }

    fn lifecycle(&mut self, event: &Event<'_>, kind: OrsEvent, tenant: &[u8], at: Timestamp) {
        if let Some(index) = lifecycle_index(kind) {
            self.summary.lifecycle[index] += 1;
        }
        let Some(id) = keyed_id(event, &[Attr::InteractionId]) else {
            self.summary.unattributed += 1;
            return;
        };
        set_key(&mut self.key, tenant, &id);
        let Some(slot) = self.touch(kind == OrsEvent::Added) else { return };
        let Some(interaction) = self.live.value_mut(slot) else { return };
        match kind {
            OrsEvent::Added => {
                interaction.added.get_or_insert(at);
            }
            OrsEvent::Present => interaction.presented = true,
            OrsEvent::NotControlled => {
                let result_of = event.text(Attr::ResultOf);
                let text = interaction.not_controlled.get_or_insert_with(String::new);
                text.clear();
                text.push_str(result_of.as_deref().unwrap_or_default());
            }
            OrsEvent::PartyAdded => {
                interaction.parties = interaction.parties.saturating_add(1);
            }
            OrsEvent::Deleted => self.finish(slot, at),
            _ => {}
        }
    }

    /// `interaction.onmerge`: the keyed interaction (the target) is touched,
    /// and the `interactionid` one marked as merged into `tointeractionid`.
    fn merge(&mut self, event: &Event<'_>, tenant: &[u8]) {
        if let Some(index) = lifecycle_index(OrsEvent::OnMerge) {
            self.summary.lifecycle[index] += 1;
        }
        let keyed = keyed_id(event, &[Attr::ToInteractionId, Attr::InteractionId]);
        let mut keyed_slot = None;
        if let Some(id) = &keyed {
            set_key(&mut self.key, tenant, id);
            keyed_slot = self.touch(false);
        }
        let source = attr_id(event, Attr::InteractionId);
        let Some(target) = attr_id(event, Attr::ToInteractionId).or_else(|| keyed.clone()) else {
            return;
        };
        let Some(source) = source.filter(|source| *source != target) else { return };
        let slot = if keyed.as_ref() == Some(&source) {
            keyed_slot
        } else {
            set_key(&mut self.key, tenant, &source);
            self.touch(false)
        };
        if let Some(interaction) = slot.and_then(|slot| self.live.value_mut(slot)) {
            let text = interaction.merged_into.get_or_insert_with(String::new);
            text.clear();
            text.push_str(&String::from_utf8_lossy(&target));
        }
    }

    fn request(
        &mut self,
        event: &Event<'_>,
        namespace: OrsNamespace,
        tenant: &[u8],
        at: Timestamp,
    ) {
        self.summary.requests += 1;
        let action = self.action_slot(namespace, event.ors_action().unwrap_or(b"?"));
        if let Some(stats) = self.summary.actions.get_mut(action as usize) {
            stats.requests += 1;
        }
        let interaction = match keyed_id(event, &[Attr::InteractionId]) {
            Some(id) => {
                set_key(&mut self.key, tenant, &id);
                self.touch(false).and_then(|slot| self.live.key(slot).cloned())
            }
            None => {
                self.summary.unattributed += 1;
                None
            }
        };
        let Some(request_id) = attr_id(event, Attr::RequestId) else {
            self.summary.uncorrelated_requests += 1;
            return;
        };
        set_key(&mut self.key, tenant, &request_id);
        if self.requests.find(&self.key).is_some() {
            self.summary.duplicate_requests += 1;
            return;
        }
        self.make_room();
        self.stamp += 1;
        let request = Request { at, action, interaction };
        let slot = self.requests.insert(Arc::from(&self.key[..]), request, self.stamp);
        let timeout = self.timeout_micros();
        if timeout > 0 {
            let generation = self.requests.generation(slot);
            self.deadlines.push(Reverse((at.0.saturating_add(timeout), slot, generation)));
            if self.deadlines.len() > 2 * self.requests.len() + 1024 {
                let requests = &self.requests;
                self.deadlines.retain(|Reverse((_, slot, generation))| {
                    requests.is_current(*slot, *generation)
                });
            }
        }
    }

    fn result(
        &mut self,
        event: &Event<'_>,
        namespace: OrsNamespace,
        tenant: &[u8],
        at: Timestamp,
        failed: bool,
    ) {
        let action = self.action_slot(namespace, event.ors_action().unwrap_or(b"?"));
        let mut request = None;
        if let Some(request_id) = attr_id(event, Attr::RequestId) {
            set_key(&mut self.key, tenant, &request_id);
            if let Some(slot) = self.requests.find(&self.key) {
                request = self.requests.remove(slot).map(|(_, request)| request);
            }
        }
        let latency = request.as_ref().map(|request| {
            let micros = at.0.saturating_sub(request.at.0).max(0);
            (micros / 1000).unsigned_abs()
        });
        let mut digits = [0u8; 24];
        let error = if failed { Some(error_kind(event, &mut digits)) } else { None };
        let summary = &mut self.summary;
        match latency {
            Some(ms) => {
                summary.matched += 1;
                summary.latency.record(ms);
            }
            None => summary.unmatched_results += 1,
        }
        if failed {
            summary.failed += 1;
        } else {
            summary.done += 1;
        }
        if let Some(stats) = summary.actions.get_mut(action as usize) {
            match &error {
                Some(kind) => {
                    stats.failed += 1;
                    stats.count_error(kind);
                }
                None => stats.done += 1,
            }
            match latency {
                Some(ms) => stats.latency.record(ms),
                None => stats.unmatched += 1,
            }
        }
        if let Some(id) = keyed_id(event, &[Attr::InteractionId]) {
            set_key(&mut self.key, tenant, &id);
        } else if let Some(key) = request.and_then(|request| request.interaction) {
            self.key.clear();
            self.key.extend_from_slice(&key);
        } else {
            self.summary.unattributed += 1;
            return;
        }
        if let Some(interaction) = self.touch(false).and_then(|slot| self.live.value_mut(slot)) {
            interaction.results = interaction.results.saturating_add(1);
            if failed {
                interaction.errors = interaction.errors.saturating_add(1);
            }
        }
    }

    /// The live interaction keyed by `self.key`, counting this event: found, or
    /// created (evicting if need be). `None` when it was deleted recently and
    /// `revive` (an `added`) is false: the event is then counted as after delete.
    fn touch(&mut self, revive: bool) -> Option<u32> {
        self.stamp += 1;
        if let Some(slot) = self.live.find(&self.key) {
            self.live.touch(slot, self.stamp);
            if let Some(interaction) = self.live.value_mut(slot) {
                interaction.events = interaction.events.saturating_add(1);
            }
            return Some(slot);
        }
        let mut key = None;
        if let Some(tombstone) = self.gone.find(&self.key) {
            if !revive {
                self.summary.after_delete += 1;
                return None;
            }
            key = self.gone.remove(tombstone).map(|(key, _)| key);
        }
        self.make_room();
        let key = key.unwrap_or_else(|| Arc::from(&self.key[..]));
        self.summary.interactions_started += 1;
        let interaction = Interaction { events: 1, ..Interaction::default() };
        Some(self.live.insert(key, interaction, self.stamp))
    }

    /// Ends the interaction in `slot`: its record waits in `finished`, its key
    /// stays as a tombstone.
    fn finish(&mut self, slot: u32, at: Timestamp) {
        let Some((key, interaction)) = self.live.remove(slot) else { return };
        self.finished.push(record(&key, interaction, Some(at)));
        self.summary.interactions_finished += 1;
        self.stamp += 1;
        self.gone.insert(key, at, self.stamp);
        while self.gone.len() > self.cap {
            if self.gone.front().and_then(|oldest| self.gone.remove(oldest)).is_none() {
                break;
            }
        }
    }

    /// Evicts the least recently active interaction or request until one more
    /// fits under the cap.
    fn make_room(&mut self) {
        while self.live.len() + self.requests.len() >= self.cap {
            let interaction = self.live.front();
            let request = self.requests.front();
            let evict_request = match (interaction, request) {
                (Some(interaction), Some(request)) => {
                    self.requests.stamp(request) < self.live.stamp(interaction)
                }
                (None, Some(_)) => true,
                (Some(_), None) => false,
                (None, None) => break,
            };
            // A failed removal would mean broken links: stop rather than spin.
            if evict_request {
                if request.and_then(|slot| self.requests.remove(slot)).is_none() {
                    break;
                }
                self.summary.evicted_requests += 1;
            } else {
                if interaction.and_then(|slot| self.live.remove(slot)).is_none() {
                    break;
                }
                self.summary.evicted_interactions += 1;
            }
        }
    }

    /// The index of `<namespace>.<action>` in the summary, added if new.
    fn action_slot(&mut self, namespace: OrsNamespace, action: &[u8]) -> u32 {
        let index = &mut self.action_index[namespace as usize];
        if let Some(&slot) = index.get(action) {
            return slot;
        }
        let action =
            if self.summary.actions.len() >= MAX_ACTIONS { OTHER.as_bytes() } else { action };
        if let Some(&slot) = index.get(action) {
            return slot;
        }
        let slot = self.summary.actions.len() as u32;
        self.summary.actions.push(ActionStats::new(namespace, action));
        index.insert(action.into(), slot);
        slot
    }
}

impl InteractionReducer {
    /// The reducers of `shards` shards holding what `olds` held: each open
    /// interaction and tombstone goes to the shard `place` names for its
    /// (tenant, interaction id), each pending request with the interaction
    /// it named (to the first shard if it named none), in each old
    /// reducer's order of recency; the summaries are added into the first.
    pub(crate) fn reshard(
        olds: Vec<InteractionReducer>,
        config: InteractionConfig,
        shards: usize,
        mut place: impl FnMut(&[u8], &[u8]) -> usize,
    ) -> Vec<InteractionReducer> {
        let shards = shards.max(1);
        let mut news: Vec<InteractionReducer> =
            (0..shards).map(|_| InteractionReducer::new(config)).collect();
        let mut target = |key: &[u8]| {
            let (tenant, id) = split_composite(key);
            place(tenant, id).min(shards - 1)
        };
        for mut old in olds {
            for (key, interaction, stamp) in old.live.drain_oldest_first() {
                news[target(&key)].live.insert(key, interaction, stamp);
            }
            for (key, deleted, stamp) in old.gone.drain_oldest_first() {
                news[target(&key)].gone.insert(key, deleted, stamp);
            }
            for (key, request, stamp) in old.requests.drain_oldest_first() {
                let new = &mut news[request.interaction.as_deref().map_or(0, &mut target)];
                // The action's index is the new reducer's.
                let action = match old.summary.actions.get(request.action as usize) {
                    Some(stats) => new.action_slot(stats.namespace, stats.action.as_bytes()),
                    None => request.action,
                };
                let at = request.at;
                let slot = new.requests.insert(key, Request { action, ..request }, stamp);
                let timeout = new.timeout_micros();
                if timeout > 0 {
                    let generation = new.requests.generation(slot);
                    new.deadlines.push(Reverse((at.0.saturating_add(timeout), slot, generation)));
                }
            }
            for new in &mut news {
                new.clock = new.clock.max(old.clock);
                new.stamp = new.stamp.max(old.stamp);
            }
            news[0].summary.merge(&old.summary);
        }
        for new in &mut news {
            // Actions joined by name: the index follows the summary's list.
            new.action_index = Default::default();
            for (slot, stats) in (0u32..).zip(&new.summary.actions) {
                new.action_index[stats.namespace as usize]
                    .insert(stats.action.as_bytes().into(), slot);
            }
            new.summary.open_interactions = new.live.len() as u64;
            new.summary.open_requests = new.requests.len() as u64;
        }
        news
    }
}

/// The record of an interaction from its key and state.
fn record(key: &[u8], interaction: Interaction, deleted: Option<Timestamp>) -> InteractionRecord {
    let (tenant, id) = split_composite(key);
    InteractionRecord {
        tenant: String::from_utf8_lossy(tenant).into_owned(),
        interaction: String::from_utf8_lossy(id).into_owned(),
        added: interaction.added,
        deleted,
        presented: interaction.presented,
        not_controlled: interaction.not_controlled,
        parties: interaction.parties,
        results: interaction.results,
        errors: interaction.errors,
        merged_into: interaction.merged_into,
        events: interaction.events,
    }
}

/// Writes the composite key of (tenant, id) into `key`: the tenant's length
/// (4 bytes, little endian), the tenant, the id. Unambiguous whatever bytes the
/// two hold.
fn set_key(key: &mut Vec<u8>, tenant: &[u8], id: &[u8]) {
    key.clear();
    let len = u32::try_from(tenant.len()).unwrap_or(u32::MAX);
    key.extend_from_slice(&len.to_le_bytes());
    key.extend_from_slice(tenant);
    key.extend_from_slice(id);
}

/// The (tenant, id) of a composite key.
fn split_composite(key: &[u8]) -> (&[u8], &[u8]) {
    let Some((len, rest)) = key.split_first_chunk::<4>() else { return (b"", key) };
    let len = u32::from_le_bytes(*len) as usize;
    match (rest.get(..len), rest.get(len..)) {
        (Some(tenant), Some(id)) => (tenant, id),
        _ => (b"", rest),
    }
}

/// The interaction an event is about: the record key's ID, else the first of
/// `attrs` that is present and not empty.
fn keyed_id<'a>(event: &Event<'a>, attrs: &[Attr]) -> Option<Cow<'a, [u8]>> {
    if let Some(id) = event.key_id().filter(|id| !id.is_empty()) {
        return Some(Cow::Borrowed(id));
    }
    attrs.iter().find_map(|&attr| attr_id(event, attr))
}

/// An identifier attribute as bytes (escapes decoded); `None` if absent,
/// null or empty.
fn attr_id<'a>(event: &Event<'a>, attr: Attr) -> Option<Cow<'a, [u8]>> {
    let id = match event.get(attr)? {
        Value::Text(_) | Value::Number(_) => Cow::Borrowed(event.raw(attr)?),
        Value::JsonEscaped(_) | Value::XmlEscaped(_) | Value::Int(_) => match event.text(attr)? {
            Cow::Borrowed(text) => Cow::Borrowed(text.as_bytes()),
            Cow::Owned(text) => Cow::Owned(text.into_bytes()),
        },
        _ => return None,
    };
    (!id.is_empty()).then_some(id)
}

/// The error kind of a failed result: the `error` attribute as text, with
/// integer codes formatted into `digits` (no allocation); `(none)` if absent.
fn error_kind<'a>(event: &Event<'a>, digits: &'a mut [u8; 24]) -> Cow<'a, [u8]> {
    if let Some(Value::Int(code)) = event.get(Attr::ErrorCode) {
        let mut cursor = std::io::Cursor::new(&mut digits[..]);
        let _ = write!(cursor, "{code}");
        let len = cursor.position() as usize;
        return Cow::Borrowed(&digits[..len]);
    }
    attr_id(event, Attr::ErrorCode).unwrap_or(Cow::Borrowed(NO_ERROR_KIND))
}

/// The position of a lifecycle event in [`OrsEvent::INTERACTION_EVENTS`].
fn lifecycle_index(event: OrsEvent) -> Option<usize> {
    OrsEvent::INTERACTION_EVENTS.iter().position(|(known, _)| *known == event)
}

fn write_time(out: &mut Vec<u8>, time: Option<Timestamp>) {
    match time {
        Some(time) => {
            out.push(b'"');
            time.write_rfc3339(out);
            out.push(b'"');
        }
        None => out.extend_from_slice(b"null"),
    }
}

fn write_opt_string(out: &mut Vec<u8>, text: Option<&str>) {
    match text {
        Some(text) => write_json_string(out, text.as_bytes()),
        None => out.extend_from_slice(b"null"),
    }
}

fn write_opt_u64(out: &mut Vec<u8>, value: Option<u64>) {
    match value {
        Some(value) => {
            let _ = write!(out, "{value}");
        }
        None => out.extend_from_slice(b"null"),
    }
}

/// No slot.
const NIL: u32 = u32::MAX;

/// A slot of a [`Table`].
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Node<V> {
    entry: Option<(Arc<[u8]>, V)>,
    prev: u32,
    next: u32,
    /// The activity counter at the last touch.
    stamp: u64,
    /// Bumped when the slot is freed, so stale references can tell.
    generation: u32,
}

/// A map from byte keys to values that also keeps them in recency order (an
/// intrusive doubly linked list over a slab): find, insert, touch, remove and
/// "oldest" are O(1). The key is one shared allocation, held by the map and the
/// slot.
#[derive(Debug)]
struct Table<V> {
    map: HashMap<Arc<[u8]>, u32>,
    nodes: Vec<Node<V>>,
    free: Vec<u32>,
    head: u32,
    tail: u32,
}

// Saved as the slab and its list; the key map is rebuilt on load.
impl<V: serde::Serialize> serde::Serialize for Table<V> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        (&self.nodes, &self.free, self.head, self.tail).serialize(serializer)
    }
}

impl<'de, V: serde::Deserialize<'de>> serde::Deserialize<'de> for Table<V> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let (nodes, free, head, tail) =
            <(Vec<Node<V>>, Vec<u32>, u32, u32)>::deserialize(deserializer)?;
        let links_fit = |slot: u32| slot == NIL || (slot as usize) < nodes.len();
        let fits = [head, tail].into_iter().chain(free.iter().copied()).all(links_fit)
            && nodes.iter().all(|node| links_fit(node.prev) && links_fit(node.next));
        if !fits {
            return Err(serde::de::Error::custom("a table link points outside the table"));
        }
        let map = nodes
            .iter()
            .enumerate()
            .filter_map(|(slot, node)| {
                node.entry.as_ref().map(|(key, _)| (key.clone(), slot as u32))
            })
            .collect();
        Ok(Table { map, nodes, free, head, tail })
    }
}

impl<V> Default for Table<V> {
    fn default() -> Self {
        Table { map: HashMap::new(), nodes: Vec::new(), free: Vec::new(), head: NIL, tail: NIL }
    }
}

impl<V> Table<V> {
    fn len(&self) -> usize {
        self.map.len()
    }

    fn find(&self, key: &[u8]) -> Option<u32> {
        self.map.get(key).copied()
    }

    /// Inserts an absent key as the most recent entry.
    fn insert(&mut self, key: Arc<[u8]>, value: V, stamp: u64) -> u32 {
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None => {
                self.nodes.push(Node {
                    entry: None,
                    prev: NIL,
                    next: NIL,
                    stamp: 0,
                    generation: 0,
                });
                (self.nodes.len() - 1) as u32
            }
        };
        if let Some(old) = self.map.insert(Arc::clone(&key), slot) {
            // Not reached (callers insert absent keys); keep the table consistent anyway.
            self.unlink(old);
            self.release(old);
        }
        let node = &mut self.nodes[slot as usize];
        node.entry = Some((key, value));
        node.stamp = stamp;
        self.link_back(slot);
        slot
    }

    /// Makes `slot` the most recent entry.
    fn touch(&mut self, slot: u32, stamp: u64) {
        let Some(node) = self.nodes.get_mut(slot as usize) else { return };
        if node.entry.is_none() {
            return;
        }
        node.stamp = stamp;
        if self.tail != slot {
            self.unlink(slot);
            self.link_back(slot);
        }
    }

    fn remove(&mut self, slot: u32) -> Option<(Arc<[u8]>, V)> {
        let entry = self.nodes.get_mut(slot as usize)?.entry.take()?;
        self.map.remove(&entry.0[..]);
        self.unlink(slot);
        self.free.push(slot);
        self.nodes[slot as usize].generation = self.nodes[slot as usize].generation.wrapping_add(1);
        Some(entry)
    }

    /// Frees a slot whose entry left the map already.
    fn release(&mut self, slot: u32) {
        if let Some(node) = self.nodes.get_mut(slot as usize) {
            if node.entry.take().is_some() {
                node.generation = node.generation.wrapping_add(1);
                self.free.push(slot);
            }
        }
    }

    fn clear(&mut self) {
        self.map.clear();
        self.nodes.clear();
        self.free.clear();
        self.head = NIL;
        self.tail = NIL;
    }

    /// The least recent entry.
    /// Takes every entry out, least recently active first: (key, value,
    /// stamp).
    fn drain_oldest_first(&mut self) -> Vec<(Arc<[u8]>, V, u64)> {
        let mut entries = Vec::with_capacity(self.len());
        while let Some(slot) = self.front() {
            let stamp = self.stamp(slot);
            match self.remove(slot) {
                Some((key, value)) => entries.push((key, value, stamp)),
                None => break,
            }
        }
        entries
    }

    fn front(&self) -> Option<u32> {
        (self.head != NIL).then_some(self.head)
    }

    fn stamp(&self, slot: u32) -> u64 {
        self.nodes.get(slot as usize).map_or(0, |node| node.stamp)
    }

    fn generation(&self, slot: u32) -> u32 {
        self.nodes.get(slot as usize).map_or(0, |node| node.generation)
    }

    /// Whether `slot` still holds the entry it held at `generation`.
    fn is_current(&self, slot: u32, generation: u32) -> bool {
        self.nodes
            .get(slot as usize)
            .is_some_and(|node| node.generation == generation && node.entry.is_some())
    }

    fn key(&self, slot: u32) -> Option<&Arc<[u8]>> {
        self.nodes.get(slot as usize)?.entry.as_ref().map(|(key, _)| key)
    }

    fn value(&self, slot: u32) -> Option<&V> {
        self.nodes.get(slot as usize)?.entry.as_ref().map(|(_, value)| value)
    }

    fn value_mut(&mut self, slot: u32) -> Option<&mut V> {
        self.nodes.get_mut(slot as usize)?.entry.as_mut().map(|(_, value)| value)
    }

    fn link_back(&mut self, slot: u32) {
        let tail = self.tail;
        if let Some(node) = self.nodes.get_mut(slot as usize) {
            node.prev = tail;
            node.next = NIL;
        }
        match self.nodes.get_mut(tail as usize) {
            Some(node) => node.next = slot,
            None => self.head = slot,
        }
        self.tail = slot;
    }

    fn unlink(&mut self, slot: u32) {
        let Some(node) = self.nodes.get(slot as usize) else { return };
        let (prev, next) = (node.prev, node.next);
        match self.nodes.get_mut(prev as usize) {
            Some(node) => node.next = next,
            None => self.head = next,
        }
        match self.nodes.get_mut(next as usize) {
            Some(node) => node.prev = prev,
            None => self.tail = prev,
        }
        if let Some(node) = self.nodes.get_mut(slot as usize) {
            node.prev = NIL;
            node.next = NIL;
        }
    }
}

impl InteractionSummary {
    /// Adds `other`'s counts (summaries of shards that each saw their own
    /// interactions); actions and error kinds are joined by name.
    pub fn merge(&mut self, other: &InteractionSummary) {
        self.events += other.events;
        self.ignored += other.ignored;
        for (mine, theirs) in self.lifecycle.iter_mut().zip(other.lifecycle) {
            *mine += theirs;
        }
        self.interactions_started += other.interactions_started;
        self.interactions_finished += other.interactions_finished;
        self.open_interactions += other.open_interactions;
        self.evicted_interactions += other.evicted_interactions;
        self.after_delete += other.after_delete;
        self.unattributed += other.unattributed;
        self.requests += other.requests;
        self.uncorrelated_requests += other.uncorrelated_requests;
        self.duplicate_requests += other.duplicate_requests;
        self.open_requests += other.open_requests;
        self.evicted_requests += other.evicted_requests;
        self.unanswered_at_end += other.unanswered_at_end;
        self.done += other.done;
        self.failed += other.failed;
        self.matched += other.matched;
        self.unmatched_results += other.unmatched_results;
        self.timed_out += other.timed_out;
        self.latency.merge(&other.latency);
        for theirs in &other.actions {
            let mine = match self
                .actions
                .iter_mut()
                .find(|a| a.namespace == theirs.namespace && a.action == theirs.action)
            {
                Some(mine) => mine,
                None => {
                    self.actions.push(theirs.clone());
                    continue;
                }
            };
            mine.requests += theirs.requests;
            mine.done += theirs.done;
            mine.failed += theirs.failed;
            mine.unmatched += theirs.unmatched;
            mine.timed_out += theirs.timed_out;
            mine.latency.merge(&theirs.latency);
            for (kind, count) in &theirs.errors {
                match mine.errors.iter_mut().find(|(k, _)| k == kind) {
                    Some((_, mine)) => *mine += count,
                    None => mine.errors.push((kind.clone(), *count)),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_cover_values_in_order_with_bounded_error() {
        let mut previous = 0;
        for ms in (0..5000).chain([65_535, 65_536, 1 << 39, (1 << 40) - 1, u64::MAX]) {
            let bucket = bucket_of(ms);
            assert!(bucket >= previous, "{ms}");
            previous = bucket;
            let high = bucket_high(bucket);
            assert!(high >= ms.min(HISTOGRAM_LIMIT - 1), "{ms} > {high}");
            if ms < 64 {
                assert_eq!(high, ms);
            } else if ms < HISTOGRAM_LIMIT {
                assert!((high - ms) * 32 <= ms, "{ms} → {high}");
                assert!(bucket == 0 || bucket_high(bucket - 1) < ms, "{ms}");
            }
        }
    }

    #[test]
    fn quantiles_stay_within_min_and_max() {
        let mut stats = LatencyStats::default();
        assert_eq!((stats.p50(), stats.min_ms(), stats.mean_ms()), (None, None, None));
        for ms in 1..=100 {
            stats.record(ms);
        }
        assert_eq!((stats.p50(), stats.p99(), stats.quantile(0.0)), (Some(50), Some(99), Some(1)));
        assert_eq!(stats.quantile(1.0), Some(100));
        assert_eq!(stats.quantile(f64::NAN), None);
        let mut one = LatencyStats::default();
        one.record(12_345);
        assert_eq!((one.p50(), one.p99()), (Some(12_345), Some(12_345)));
        stats.merge(&one);
        assert_eq!((stats.count(), stats.max_ms(), stats.sum_ms()), (101, Some(12_345), 17_395));
    }

    #[test]
    fn composite_keys_round_trip_and_do_not_collide() {
        let mut key = Vec::new();
        set_key(&mut key, b"t:1", b"x");
        assert_eq!(split_composite(&key), (&b"t:1"[..], &b"x"[..]));
        let mut other = Vec::new();
        set_key(&mut other, b"t", b":1x");
        assert_ne!(key, other);
        assert_eq!(split_composite(b"\xff\xff\xff\xffab"), (&b""[..], &b"ab"[..]));
        assert_eq!(split_composite(b"ab"), (&b""[..], &b"ab"[..]));
    }

    #[test]
    fn table_keeps_recency_order_through_touch_and_remove() {
        let mut table = Table::default();
        let a = table.insert(Arc::from(&b"a"[..]), 1, 1);
        let b = table.insert(Arc::from(&b"b"[..]), 2, 2);
        let c = table.insert(Arc::from(&b"c"[..]), 3, 3);
        table.touch(a, 4);
        assert_eq!(table.front(), Some(b));
        let generation = table.generation(b);
        assert_eq!(table.remove(b).map(|(_, v)| v), Some(2));
        assert!(!table.is_current(b, generation));
        assert_eq!(table.front(), Some(c));
        let d = table.insert(Arc::from(&b"d"[..]), 4, 5);
        assert_eq!(d, b, "slots are reused");
        assert!(!table.is_current(d, generation), "a reused slot has a new generation");
        assert_eq!(table.remove(c).map(|(_, v)| v), Some(3));
        assert_eq!(table.remove(a).map(|(_, v)| v), Some(1));
        assert_eq!(table.front(), Some(d));
        assert_eq!(table.remove(d).map(|(_, v)| v), Some(4));
        assert_eq!((table.front(), table.len(), table.remove(d)), (None, 0, None));
    }
}
