//! The checkpoint of a run: the pipeline's reducer state with the source
//! positions it stops at and the sink positions that hold its outputs,
//! taken together so a restart goes on exactly from there.
//!
//! Taking one (see [`Pending`]):
//!
//! 1. The driver pauses the pipeline after the last record it pushed
//!    ([`Pipeline::pause`](ctistream_core::pipeline::Pipeline::pause)): the
//!    state is then the effect of exactly the records handed out so far, and
//!    each source's [`save_position`](ctistream_core::connect::Source::save_position)
//!    is just after them. Every sink is asked to flush through that record.
//! 2. Once every sink has flushed it, each sink's durable position is the end
//!    of the outputs of those records, and the checkpoint is written
//!    atomically ([`ctistream_core::checkpoint`]: temp file, fsync, rename;
//!    versioned and checksummed).
//!
//! Resuming: sinks are rewound to their positions (files lose what was
//! written after the checkpoint, which the restarted run writes again),
//! sources go to theirs, the origin numbers of streams are given back (the
//! reducer keys per-stream state by them), and the pipeline resumes from the
//! state. Sinks that cannot rewind (Kafka topics, sockets) see the outputs
//! written after the checkpoint again.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use ctistream_core::checkpoint;
use ctistream_core::connect::StreamLabel;
use ctistream_core::pipeline::EncodedState;
use serde::{Deserialize, Serialize};

/// The file in the checkpoint directory.
pub const FILE_NAME: &str = "ctistream.ckpt";

/// What a checkpoint holds.
#[derive(Debug, Serialize, Deserialize)]
pub struct RunCheckpoint {
    /// Each source (its URL as given) and where to resume it, in plan order.
    pub sources: Vec<(String, Option<Vec<u8>>)>,
    /// Each sink (its URL) and what it had made durable.
    pub sinks: Vec<(String, Option<Vec<u8>>)>,
    /// Every stream seen, by origin number: (source index, stream, label,
    /// separator).
    pub origins: Vec<(u32, u32, String, char)>,
    /// Records read before the checkpoint, over every run so far.
    pub records: u64,
    /// The pipeline state ([`ctistream_core::pipeline::PipelineState`]
    /// bytes) as loaded; empty in a checkpoint being taken, whose state is
    /// written from its parts ([`save_with`](Self::save_with)).
    #[serde(with = "serde_bytes")]
    pub pipeline: Vec<u8>,
}

impl RunCheckpoint {
    /// The checkpoint in `dir`, if there is one.
    ///
    /// # Errors
    /// When it cannot be read, is damaged or from another format version, or
    /// is not a run checkpoint: refused whole, with the path and why.
    pub fn load(dir: &Path) -> anyhow::Result<Option<RunCheckpoint>> {
        let path = dir.join(FILE_NAME);
        let Some(payload) = checkpoint::read(&path)? else { return Ok(None) };
        let (saved, rest) =
            postcard::take_from_bytes::<RunCheckpoint>(&payload).map_err(|error| {
                anyhow::anyhow!("{}: not a run checkpoint: {error}", path.display())
            })?;
        if !rest.is_empty() {
            bail!("{}: not a run checkpoint: {} bytes after its end", path.display(), rest.len());
        }
        Ok(Some(saved))
    }

    /// Writes the checkpoint, with `state` as its pipeline state, into `dir`
    /// (created if missing), replacing the one there atomically. The bytes
    /// are those of the whole checkpoint encoded at once ([`load`](Self::load)
    /// reads them so), but the state's parts go to the file as they are,
    /// never copied into one buffer.
    ///
    /// # Errors
    /// When the directory or the file cannot be written; the previous
    /// checkpoint is then untouched.
    pub fn save_with(&self, state: &EncodedState, dir: &Path) -> anyhow::Result<()> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the checkpoint directory {}", dir.display()))?;
        // Every field but the state, then the state's length as postcard
        // leads a byte string with.
        let head = (&self.sources, &self.sinks, &self.origins, self.records, state.len());
        let head = postcard::to_allocvec(&head).context("cannot encode the checkpoint")?;
        let mut parts = vec![&head[..]];
        parts.extend(state.chunks());
        checkpoint::write_parts(&dir.join(FILE_NAME), &parts)?;
        Ok(())
    }

    /// Fails unless the checkpoint was taken by a run reading `sources`:
    /// positions of other sources mean nothing here.
    pub fn check_sources(&self, sources: &[String], dir: &Path) -> anyhow::Result<()> {
        let saved: Vec<&String> = self.sources.iter().map(|(url, _)| url).collect();
        if saved != sources.iter().collect::<Vec<_>>() {
            bail!(
                "{}: the checkpoint was taken by a run reading {saved:?}; this run reads \
                 {sources:?}. Use another --checkpoint-dir, or remove the checkpoint to start \
                 afresh",
                dir.join(FILE_NAME).display()
            );
        }
        Ok(())
    }

    /// The saved position of the sink `url`, if the checkpoint has one.
    pub fn sink_position(&self, url: &str) -> Option<&[u8]> {
        self.sinks.iter().find(|(saved, _)| saved == url).and_then(|(_, at)| at.as_deref())
    }

    /// The stream labels by origin number.
    pub fn labels(&self) -> Vec<StreamLabel> {
        self.origins
            .iter()
            .map(|(_, _, label, separator)| StreamLabel::new(label.clone(), *separator))
            .collect()
    }
}

/// A checkpoint taken and waiting for its sinks to flush.
#[derive(Debug)]
pub struct Pending {
    /// The record number it stops at.
    pub through: u64,
    /// Everything but the sink positions.
    pub checkpoint: RunCheckpoint,
}

/// Where the checkpoint of `dir` lives (for messages).
pub fn path_in(dir: &Path) -> PathBuf {
    dir.join(FILE_NAME)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ctistream_core::pipeline::{Origin, Pipeline, PipelineConfig};
    use ctistream_core::state::NoOutputs;
    use ctistream_core::{Format, Timestamp};

    #[test]
    fn a_checkpoint_saved_from_parts_loads_as_one() {
        let config =
            PipelineConfig { shards: 2, format: Format::Genesys, ..PipelineConfig::default() };
        let mut pipeline = Pipeline::start(config, NoOutputs);
        for (line, call) in (1..).zip(["ct-1", "ct-2", "ct-3"]) {
            let record = format!(
                r#"{{"id":"EventRinging","CallThreadID":"{call}","ConnID":"00{line}","ThisDN":"7001","CustomerID":"t1","time":"2026-11-20T09:00:01Z"}}"#
            );
            pipeline.push(
                record.into_bytes().into(),
                None,
                Origin { source: 0, line },
                Timestamp(0),
            );
        }
        let mut encoded = EncodedState::default();
        let whole = pipeline.pause(|state, _| {
            state.encode_into(&mut encoded).unwrap();
            state.encode().unwrap()
        });
        drop(pipeline.finish());
        let checkpoint = RunCheckpoint {
            sources: vec![("file:in".into(), Some(b"0 0 12".to_vec())), ("tcp://x".into(), None)],
            sinks: vec![("file:out".into(), Some(b"0 40".to_vec()))],
            origins: vec![(0, 0, "in".into(), ':')],
            records: 3,
            pipeline: Vec::new(),
        };
        let dir = std::env::temp_dir().join(format!("ctistream-ckpt-parts-{}", std::process::id()));
        checkpoint.save_with(&encoded, &dir).unwrap();
        let loaded = RunCheckpoint::load(&dir).unwrap().unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(loaded.pipeline, whole, "the state as one encoding gives it");
        assert_eq!(loaded.sources, checkpoint.sources);
        assert_eq!(loaded.sinks, checkpoint.sinks);
        assert_eq!(loaded.origins, checkpoint.origins);
        assert_eq!(loaded.records, 3);
        assert!(encoded.len() > 100, "open calls were encoded");
    }
}
