//! What a checkpoint costs: the pipeline's state with agents logged in and
//! call threads open, paused and encoded (the time the pipeline stands
//! still), its size, and the time to read it back.

use std::fmt;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ctistream_core::pipeline::{EncodedState, Origin, Pipeline, PipelineConfig, PipelineState};
use ctistream_core::state::NoOutputs;
use ctistream_core::{Format, Timestamp};

/// What [`measure`] found.
#[derive(Clone, Debug)]
pub struct CheckpointReport {
    /// Agents logged in.
    pub agents: usize,
    /// Call threads open.
    pub calls: usize,
    /// Pipeline shards.
    pub shards: usize,
    /// Encoded state.
    pub bytes: usize,
    /// How long the pipeline stood still for a checkpoint taken as a run
    /// takes them, into the buffers of the one before: draining, stopping
    /// the shards, encoding, starting them again.
    pub pause: Duration,
    /// Of the pause, encoding the state.
    pub encode: Duration,
    /// The pause of a run's first checkpoint, whose buffers are new memory.
    pub first_pause: Duration,
    /// Decoding the state back.
    pub load: Duration,
}

/// Feeds `agents` logins and `calls` answered calls through a pipeline of
/// `shards` shards, then takes a checkpoint of it and reads it back.
///
/// # Errors
/// When the state read back is not the one written (a bug).
pub fn measure(agents: usize, calls: usize, shards: usize) -> anyhow::Result<CheckpointReport> {
    let config = PipelineConfig { shards, format: Format::Genesys, ..PipelineConfig::default() };
    let mut pipeline = Pipeline::start(config, NoOutputs);
    let mut line = 0;
    let mut push = |pipeline: &mut Pipeline<NoOutputs>, record: String| {
        line += 1;
        let origin = Origin { source: 0, line };
        pipeline.push(Bytes::from(record), None, origin, Timestamp(0));
    };
    for agent in 0..agents {
        for event in ["EventAgentLogin", "EventAgentReady"] {
            push(
                &mut pipeline,
                format!(
                    r#"{{"id":"{event}","ThisDN":"{}","AgentID":"agent{agent:06}","ThisQueue":"Sales","CustomerID":"t1","time":"2026-11-20T09:00:00Z"}}"#,
                    100_000 + agent
                ),
            );
        }
    }
    for call in 0..calls {
        let dn = 100_000 + call % agents.max(1);
        for event in ["EventRinging", "EventEstablished"] {
            push(
                &mut pipeline,
                format!(
                    r#"{{"id":"{event}","CallThreadID":"ct-{call:07}","ConnID":"006c0246{call:08x}","CallUUID":"05B9PTFV4D1EJ{call:07}","ThisDN":"{dn}","ThisQueue":"Sales","CallType":"Inbound","ANI":"+14155550123","DNIS":"8005550100","CustomerID":"t1","time":"2026-11-20T09:00:01Z"}}"#
                ),
            );
        }
    }
    // Everything applied before the clock starts: the pause measures the
    // checkpoint, not the backlog.
    pipeline.pause(|_, _| ());
    let mut encoded = EncodedState::default();
    let mut checkpoint = |pipeline: &mut Pipeline<NoOutputs>| {
        let started = Instant::now();
        let (done, encode) = pipeline.pause(|state, _| {
            let encoding = Instant::now();
            (state.encode_into(&mut encoded), encoding.elapsed())
        });
        done.map(|()| (started.elapsed(), encode))
    };
    let (first_pause, _) = checkpoint(&mut pipeline)?;
    let (pause, encode) = checkpoint(&mut pipeline)?;
    let mut bytes = Vec::with_capacity(encoded.len());
    for chunk in encoded.chunks() {
        bytes.extend_from_slice(chunk);
    }
    let started = Instant::now();
    let state = PipelineState::decode(&bytes)?;
    let load = started.elapsed();
    let open: usize = state.call_sides().iter().map(|side| side.calls().open()).sum();
    anyhow::ensure!(open == calls, "{open} open calls read back of {calls}");
    drop(pipeline.finish());
    Ok(CheckpointReport {
        agents,
        calls,
        shards,
        bytes: bytes.len(),
        pause,
        encode,
        first_pause,
        load,
    })
}

impl fmt::Display for CheckpointReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "checkpoint of {} agents and {} open calls on {} shards",
            self.agents, self.calls, self.shards
        )?;
        writeln!(f, "checkpoint_bytes={}", self.bytes)?;
        writeln!(
            f,
            "checkpoint_bytes_per_open_call={:.0}",
            self.bytes as f64 / self.calls.max(1) as f64
        )?;
        writeln!(f, "checkpoint_pause_ms={:.1}", self.pause.as_secs_f64() * 1e3)?;
        writeln!(f, "checkpoint_encode_ms={:.1}", self.encode.as_secs_f64() * 1e3)?;
        writeln!(f, "checkpoint_first_pause_ms={:.1}", self.first_pause.as_secs_f64() * 1e3)?;
        writeln!(f, "checkpoint_load_ms={:.1}", self.load.as_secs_f64() * 1e3)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checkpoint_holds_every_open_call() {
        let report = measure(50, 400, 2).unwrap();
        assert_eq!(report.calls, 400);
        assert!(report.bytes > 400 * 20, "{} bytes for 400 calls", report.bytes);
        assert!(report.to_string().contains("checkpoint_pause_ms="));
    }
}
