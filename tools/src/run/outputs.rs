//! The pipeline's outputs as `run` delivers them: each kind serialized to
//! NDJSON into a batch for its sink's thread, and flush points passed on when
//! the pipeline reports that the records the driver is waiting for have been
//! delivered.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use crossbeam::channel::Sender;
use ctistream_core::DecodeError;
use ctistream_core::connect::StreamLabel;
use ctistream_core::pipeline::Origin;
use ctistream_core::state::{AgentChange, CallRecord, InteractionRecord, Outputs};

use crate::input::SharedRejects;
use crate::rejects::write_reject;

use super::worker::LineBatch;

/// A batch is handed to its sink once it holds this much.
const BATCH_BYTES: usize = 64 << 10;

/// The names of every stream seen so far, by origin number (the `source` of
/// an [`Origin`]); written by the driver, read when a reject is reported.
pub type OriginNames = Arc<RwLock<Vec<StreamLabel>>>;

/// One sink's queue as the outputs fill it.
#[derive(Debug)]
pub struct Lane {
    sender: Sender<LineBatch>,
    batch: LineBatch,
}

impl Lane {
    /// A lane feeding a sink thread.
    pub fn new(sender: Sender<LineBatch>) -> Lane {
        Lane { sender, batch: LineBatch::default() }
    }

    fn push(&mut self, key: &[&[u8]], fill: impl FnOnce(&mut Vec<u8>)) {
        self.batch.push(key, fill);
        if self.batch.bytes() >= BATCH_BYTES {
            self.send(None);
        }
    }

    /// Hands the batch over (waiting while the sink's queue is full: that is
    /// the backpressure). A sink thread that has stopped drops it; the run
    /// notices the failed sink.
    fn send(&mut self, flush_through: Option<u64>) {
        let mut batch = std::mem::take(&mut self.batch);
        batch.flush_through = flush_through;
        let _ = self.sender.send(batch);
    }
}

/// Which lane each kind of output goes to (an index into the lanes; several
/// kinds may share a sink).
#[derive(Clone, Copy, Debug, Default)]
pub struct Routes {
    /// Call detail records.
    pub calls: Option<usize>,
    /// Agent status changes.
    pub changes: Option<usize>,
    /// Orchestration interaction records.
    pub interactions: Option<usize>,
    /// Rejected records.
    pub rejects: Option<usize>,
}

/// The flush protocol shared with the driver.
#[derive(Debug, Default)]
pub struct FlushPoint {
    /// The record number the driver wants acknowledged next.
    pub wanted: AtomicU64,
    /// The pipeline's delivered watermark.
    pub delivered: AtomicU64,
    /// For each flush requested, in order: the record number it covers and
    /// the open-call floors then (origin number, position), which the commit
    /// of that record number must not pass.
    pub floors: Mutex<VecDeque<(u64, Floors)>>,
}

/// Open-call floors: (origin number, position).
pub type Floors = Vec<(u32, u64)>;

impl FlushPoint {
    /// The floors of the latest flush at or below `acked` (older ones are
    /// dropped; that one is kept, as later commits up to the next flush need
    /// it too). `None` when no flush is that old: then there is no floor to
    /// hold a commit at, and nothing may be committed yet.
    pub fn floors_for(&self, acked: u64) -> Option<Floors> {
        let mut history = self.floors.lock().unwrap_or_else(PoisonError::into_inner);
        while history.get(1).is_some_and(|(through, _)| *through <= acked) {
            history.pop_front();
        }
        history.front().filter(|(through, _)| *through <= acked).map(|(_, floors)| floors.clone())
    }
}

/// The [`Outputs`] of a `run`.
#[derive(Debug)]
pub struct SinkOutputs {
    lanes: Vec<Lane>,
    routes: Routes,
    flush: Arc<FlushPoint>,
    /// The last record number a flush was requested for.
    flushed: u64,
    /// The open-call floors the pipeline gave with its latest watermark.
    floors: Vec<(u32, u64)>,
    names: OriginNames,
    rejects: SharedRejects,
    /// Call records written with `"ended":null` (flushed open).
    pub open_calls: u64,
    /// Outputs serialized, all kinds.
    pub outputs: Arc<AtomicU64>,
}

impl SinkOutputs {
    /// Outputs serializing into `lanes` as `routes` says.
    pub fn new(
        lanes: Vec<Lane>,
        routes: Routes,
        flush: Arc<FlushPoint>,
        names: OriginNames,
        rejects: SharedRejects,
    ) -> SinkOutputs {
        SinkOutputs {
            lanes,
            routes,
            flush,
            flushed: 0,
            floors: Vec::new(),
            names,
            rejects,
            open_calls: 0,
            outputs: Arc::default(),
        }
    }

    fn lane(&mut self, route: Option<usize>) -> Option<&mut Lane> {
        self.outputs.fetch_add(1, Ordering::Relaxed);
        route.map(|index| &mut self.lanes[index])
    }

    /// Requests a flush of every sink once the driver's wanted record number
    /// has been delivered.
    fn flush_if_wanted(&mut self) {
        let wanted = self.flush.wanted.load(Ordering::Acquire);
        let delivered = self.flush.delivered.load(Ordering::Acquire);
        if wanted > self.flushed && delivered >= wanted {
            self.flushed = delivered;
            let mut history = self.flush.floors.lock().unwrap_or_else(PoisonError::into_inner);
            history.push_back((delivered, self.floors.clone()));
            drop(history);
            for lane in &mut self.lanes {
                lane.send(Some(delivered));
            }
        }
    }

    /// Hands every partial batch over and asks for a flush covering
    /// `through`: the end of the run.
    pub fn flush_all(&mut self, through: u64) {
        for lane in &mut self.lanes {
            lane.send(Some(through));
        }
    }

    /// Adds lines written elsewhere (snapshots at the end) to a lane, each
    /// keyed by the values of `key_fields` in it.
    pub fn push_lines(&mut self, lane: usize, text: &[u8], key_fields: &[&str]) {
        for line in text.split_inclusive(|&b| b == b'\n') {
            let values: Vec<&[u8]> =
                key_fields.iter().map(|field| string_field(line, field).unwrap_or(b"")).collect();
            self.lanes[lane].push(&values, |out| out.extend_from_slice(line));
            self.outputs.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The raw text of a string field of one of our own output lines (written by
/// our serializers: `"field":"value"`, value escaped, so an unescaped quote
/// ends it).
fn string_field<'l>(line: &'l [u8], field: &str) -> Option<&'l [u8]> {
    let pattern = format!("\"{field}\":\"");
    let start = memchr::memmem::find(line, pattern.as_bytes())? + pattern.len();
    let mut end = start;
    while end < line.len() {
        match line[end] {
            b'\\' => end += 2,
            b'"' => return Some(&line[start..end]),
            _ => end += 1,
        }
    }
    None
}

impl Outputs for SinkOutputs {
    fn agent_change(&mut self, change: &AgentChange<'_>) {
        let route = self.routes.changes;
        if let Some(lane) = self.lane(route) {
            let key = [change.tenant.as_bytes(), change.agent.as_bytes()];
            lane.push(&key, |out| change.write_json(out));
        }
    }

    fn call_record(&mut self, record: &CallRecord) {
        if record.ended.is_none() {
            self.open_calls += 1;
        }
        let route = self.routes.calls;
        if let Some(lane) = self.lane(route) {
            let key = [record.tenant.as_bytes(), record.call.as_bytes()];
            lane.push(&key, |out| record.write_json(out));
        }
    }

    fn interaction_record(&mut self, record: &InteractionRecord) {
        let route = self.routes.interactions;
        if let Some(lane) = self.lane(route) {
            let key = [record.tenant.as_bytes(), record.interaction.as_bytes()];
            lane.push(&key, |out| record.write_json(out));
        }
    }

    fn reject(&mut self, origin: Origin, error: &DecodeError, raw: &[u8]) {
        let names = self.names.read().unwrap_or_else(PoisonError::into_inner);
        let origin = match names.get(origin.source as usize) {
            Some(label) => label.origin(origin.line),
            None => format!("#{}:{}", origin.source, origin.line),
        };
        drop(names);
        let message = error.to_string();
        let route = self.routes.rejects;
        if let Some(lane) = self.lane(route) {
            lane.push(&[origin.as_bytes()], |out| write_reject(out, &origin, &message, raw));
        }
        let mut log = self.rejects.lock().unwrap_or_else(PoisonError::into_inner);
        log.reject(origin, error.class(), message, &[]);
    }

    fn open_from(&mut self, _through: u64, floors: &[(u32, u64)]) {
        self.floors.clear();
        self.floors.extend_from_slice(floors);
    }

    fn delivered(&mut self, through: u64) {
        self.flush.delivered.store(through, Ordering::Release);
        self.flush_if_wanted();
    }

    fn idle(&mut self) {
        // Partial batches go out while nothing else happens: a quiet stream's
        // outputs reach their sinks without waiting for a full batch.
        for lane in &mut self.lanes {
            if !lane.batch.is_empty() {
                lane.send(None);
            }
        }
        self.flush_if_wanted();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_of_our_own_lines() {
        let line = br#"{"tenant":"t\"1","agent":"a1","x":2}"#;
        assert_eq!(string_field(line, "tenant"), Some(&br#"t\"1"#[..]));
        assert_eq!(string_field(line, "agent"), Some(&b"a1"[..]));
        assert_eq!(string_field(line, "queue"), None);
    }
}
