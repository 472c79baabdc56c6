//! The lean baseline: what a skilled user writes with ctistream's reducers but
//! without its decoder and pipeline. One thread; lines are taken in batches of
//! 256, each parsed with sonic-rs into a struct borrowing its strings from the
//! input, turned into an [`Event`](ctistream_core::Event) with
//! [`EventBuilder`], and applied to one [`Reducer`] — the same reducers, so the
//! same call records, as ctistream's own runs. What the comparison measures is
//! then ctistream's decoder and pipeline against sonic-rs on one thread.
//!
//! The struct names the attributes of the generated Voice Microservices
//! workload, with the types that workload uses; it is not a full reading of
//! the dialect. Refused and counted as rejected: what ctistream's decoder
//! refuses (an unknown event name, a time that is not RFC 3339, an unknown
//! enumeration name, a missing DN or call identity), and also what this
//! struct cannot read although the decoder accepts it (a string with escapes,
//! which cannot be borrowed; an integer `id` or `time`; `TimeinSecs`;
//! enumeration codes; a string `Server`). The generated workload has none.

use std::time::Instant;

use ctistream_core::state::{Outputs, Reducer, ReducerConfig};
use ctistream_core::{Attr, Dialect, Event, EventBuilder, EventKind, TEvent, Timestamp};
use serde::Deserialize;
use sonic_rs::LazyValue;

use super::{BaselineRun, SerializeOutputs, new_histogram};
use crate::input::now;

/// Records per batch: read, parsed and reduced together, timed together.
const BATCH: usize = 256;

/// The fields of a Voice Microservices event, borrowed from the line.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct LeanEvent<'a> {
    #[serde(rename = "id")]
    id: &'a str,
    #[serde(rename = "time", borrow, default)]
    time: Option<&'a str>,
    #[serde(default)]
    server: Option<i64>,
    #[serde(default)]
    event_sequence_number: Option<i64>,
    #[serde(rename = "CallThreadID", borrow, default)]
    call_thread_id: Option<&'a str>,
    #[serde(rename = "ConnID", borrow, default)]
    conn_id: Option<&'a str>,
    #[serde(rename = "PreviousConnID", borrow, default)]
    previous_conn_id: Option<&'a str>,
    #[serde(rename = "ThisDN", borrow, default)]
    this_dn: Option<&'a str>,
    #[serde(borrow, default)]
    this_queue: Option<&'a str>,
    #[serde(rename = "OtherDN", borrow, default)]
    other_dn: Option<&'a str>,
    #[serde(rename = "ThirdPartyDN", borrow, default)]
    third_party_dn: Option<&'a str>,
    #[serde(rename = "AgentID", borrow, default)]
    agent_id: Option<&'a str>,
    #[serde(borrow, default)]
    agent_work_mode: Option<&'a str>,
    #[serde(borrow, default)]
    call_type: Option<&'a str>,
    #[serde(borrow, default)]
    call_state: Option<&'a str>,
    #[serde(rename = "ANI", borrow, default)]
    ani: Option<&'a str>,
    #[serde(rename = "DNIS", borrow, default)]
    dnis: Option<&'a str>,
    #[serde(borrow, default)]
    reasons: Option<LazyValue<'a>>,
}

impl<'a> LeanEvent<'a> {
    /// The event these fields describe, borrowing `json`.
    /// `None` for a record to count as rejected (see the module).
    fn build(&self, json: &'a [u8], key: Option<&'a [u8]>) -> Option<Event<'a>> {
        let kind = TEvent::from_name(self.id.as_bytes())?;
        let mut event = EventBuilder::new(json, Dialect::Genesys, EventKind::TLib(kind));
        event.key(key);
        if let Some(time) = self.time {
            event.time(Timestamp::parse_rfc3339(time.as_bytes())?);
        }
        for (attr, text) in [
            (Attr::CallThreadID, self.call_thread_id),
            (Attr::ConnID, self.conn_id),
            (Attr::PreviousConnID, self.previous_conn_id),
            (Attr::ThisDN, self.this_dn),
            (Attr::ThisQueue, self.this_queue),
            (Attr::OtherDN, self.other_dn),
            (Attr::ThirdPartyDN, self.third_party_dn),
            (Attr::AgentID, self.agent_id),
            (Attr::AgentWorkMode, self.agent_work_mode),
            (Attr::CallType, self.call_type),
            (Attr::CallState, self.call_state),
            (Attr::ANI, self.ani),
            (Attr::DNIS, self.dnis),
        ] {
            if let Some(text) = text {
                event.text(attr, text.as_bytes()).ok()?;
            }
        }
        for (attr, value) in
            [(Attr::Server, self.server), (Attr::EventSequenceNumber, self.event_sequence_number)]
        {
            if let Some(value) = value {
                event.int(attr, value);
            }
        }
        if let Some(reasons) = &self.reasons {
            // Raw JSON borrowed from the line, as the decoder keeps it.
            let std::borrow::Cow::Borrowed(raw) = reasons.as_raw_cow() else { return None };
            event.json(Attr::Reasons, raw.as_bytes());
        }
        event.build().ok()
    }
}

/// The event of one line's JSON, `None` when it is refused (see the module).
pub(super) fn read<'a>(json: &'a [u8], key: Option<&'a [u8]>) -> Option<Event<'a>> {
    sonic_rs::from_slice::<LeanEvent<'_>>(json).ok()?.build(json, key)
}

/// Runs the lean baseline over keyed genesys lines, serializing call records
/// as the other runs do.
pub fn run(data: &[u8]) -> BaselineRun {
    let mut outputs = SerializeOutputs::default();
    let mut run = reduce(data, &mut outputs);
    run.call_records = outputs.records;
    run
}

/// The lean baseline with its outputs going to `outputs` (its call record count
/// left at zero: the outputs have it).
pub(super) fn reduce(data: &[u8], outputs: &mut impl Outputs) -> BaselineRun {
    let started = Instant::now();
    let mut latency = new_histogram();
    let mut reducer = Reducer::new(ReducerConfig::default());
    let (mut events, mut rejected) = (0u64, 0u64);
    let mut lines = memchr::memchr_iter(b'\n', data);
    let mut start = 0;
    loop {
        let batch_read = Instant::now();
        let ingest = now();
        let mut in_batch = 0u64;
        for end in lines.by_ref().take(BATCH) {
            let line = &data[start..end];
            start = end + 1;
            let (key, json) = match memchr::memchr(b'\t', line) {
                Some(tab) => (Some(&line[..tab]), &line[tab + 1..]),
                None => (None, line),
            };
            in_batch += 1;
            match read(json, key) {
                Some(event) => reducer.apply(&event, ingest, outputs),
                None => rejected += 1,
            }
        }
        if in_batch == 0 {
            break;
        }
        events += in_batch;
        let _ = latency.record_n(batch_read.elapsed().as_nanos() as u64, in_batch);
    }
    reducer.finish(outputs);
    BaselineRun {
        events,
        rejected,
        elapsed: started.elapsed(),
        latency: Some(latency),
        call_records: 0,
    }
}
