//! The pipeline's state between two records, as a checkpoint keeps it: every
//! shard's call side and agent side, and the router's memory of which shard
//! each call identity went to.
//!
//! [`Pipeline::pause`](super::Pipeline::pause) takes it when every record
//! pushed so far has been applied and every output delivered, so nothing is
//! in flight: a pipeline resumed from it
//! ([`Pipeline::resume`](super::Pipeline::resume)) gives, for the records
//! that follow, exactly the outputs the paused one would have given.
//!
//! The bytes are a count of parts, then each part's length and bytes: the
//! settings and the router, then each shard, each [postcard](https://docs.rs/postcard)
//! of its serde form, so shards are encoded and decoded in parallel. They
//! carry no version or checksum of their own: the checkpoint container
//! ([`crate::checkpoint`]) does.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::state::{AgentSide, CallSide, ReducerConfig};

use super::route::Router;

/// Every shard's reducer state and the router's, between two records.
#[derive(Debug)]
pub struct PipelineState {
    /// The settings the state was built with (caps, linger, thresholds).
    pub(crate) reducer: ReducerConfig,
    pub(crate) router: Router,
    pub(crate) shards: Vec<ShardState>,
}

/// One shard's half of the reducer and its agents.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct ShardState {
    pub(crate) call: CallSide,
    pub(crate) agents: AgentSide,
}

/// A [`PipelineState`] encoded as parts ([`PipelineState::encode_into`]):
/// the bytes of [`PipelineState::encode`] are its [`chunks`](Self::chunks)
/// one after another. Kept between checkpoints, its buffers are reused.
#[derive(Debug, Default)]
pub struct EncodedState {
    /// The settings and router, then each shard, each led by its framing
    /// (the part count before the first, each part's length).
    parts: Vec<Vec<u8>>,
}

impl EncodedState {
    /// The length of the encoded bytes.
    pub fn len(&self) -> usize {
        self.parts.iter().map(Vec::len).sum()
    }

    /// Whether it holds no state (nothing encoded into it yet).
    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }

    /// The encoded bytes, in pieces to write one after another.
    pub fn chunks(&self) -> Vec<&[u8]> {
        self.parts.iter().map(Vec::as_slice).collect()
    }
}

/// Bytes before each part: its length (u64), filled in once it is encoded.
const LENGTH: usize = 8;

/// Encodes `value` into `buffer` after a length field, then fills that in.
fn encode_part<T: serde::Serialize>(
    value: &T,
    mut buffer: Vec<u8>,
) -> Result<Vec<u8>, postcard::Error> {
    let start = buffer.len();
    buffer.extend_from_slice(&[0; LENGTH]);
    let mut buffer = postcard::to_extend(value, buffer)?;
    let length = (buffer.len() - start - LENGTH) as u64;
    buffer[start..start + LENGTH].copy_from_slice(&length.to_le_bytes());
    Ok(buffer)
}

/// Saved state that cannot be read or does not fit the pipeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateError(String);

impl fmt::Display for StateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StateError {}

impl PipelineState {
    /// The number of shards the state was taken from.
    pub fn shards(&self) -> usize {
        self.shards.len()
    }

    /// The reducer settings the state was built with.
    pub fn reducer(&self) -> &ReducerConfig {
        &self.reducer
    }

    /// Each shard's call side (open call threads, statistics, duplicate filter).
    pub fn call_sides(&self) -> Vec<&CallSide> {
        self.shards.iter().map(|shard| &shard.call).collect()
    }

    /// Each shard's agent side (its agents and their statistics).
    pub fn agent_sides(&self) -> Vec<&AgentSide> {
        self.shards.iter().map(|shard| &shard.agents).collect()
    }

    /// The state as bytes: the settings and the router, then each shard,
    /// each part postcard on its own and encoded on a thread of its own (the
    /// pipeline stands still meanwhile).
    ///
    /// # Errors
    /// Never for the state types of this crate; a [`StateError`] would name
    /// what postcard could not write.
    pub fn encode(&self) -> Result<Vec<u8>, StateError> {
        let mut encoded = EncodedState::default();
        self.encode_into(&mut encoded)?;
        let mut out = Vec::with_capacity(encoded.len());
        for chunk in encoded.chunks() {
            out.extend_from_slice(chunk);
        }
        Ok(out)
    }

    /// [`encode`](Self::encode)'s bytes as parts in `encoded`, reusing its
    /// buffers: a run that checkpoints again and again encodes into memory
    /// it already touched. (On a virtual machine, the first touch of fresh
    /// pages cost more than the encoding itself: 1.1 s of a 1.6 s encoding
    /// of a million open calls.)
    ///
    /// # Errors
    /// As [`encode`](Self::encode); `encoded` then holds no state.
    pub fn encode_into(&self, encoded: &mut EncodedState) -> Result<(), StateError> {
        let failed = |error: postcard::Error| StateError(format!("saving state: {error}"));
        let mut buffers = std::mem::take(&mut encoded.parts);
        buffers.resize_with(self.shards.len() + 1, Vec::new);
        for buffer in &mut buffers {
            buffer.clear();
        }
        let mut buffers = buffers.into_iter();
        let mut head = buffers.next().unwrap_or_default();
        // The part count leads the bytes.
        head.extend_from_slice(&(self.shards.len() as u32 + 1).to_le_bytes());
        let parts: Vec<Result<Vec<u8>, postcard::Error>> = std::thread::scope(|scope| {
            let shards: Vec<_> = self
                .shards
                .iter()
                .zip(buffers)
                .map(|(shard, mut buffer)| {
                    // Sized for the usual 300 bytes an open call and 100 an
                    // agent: growing a buffer of hundreds of megabytes by
                    // doubling costs more than encoding into it.
                    let size = shard.call.calls().open() * 320 + shard.agents.agents().len() * 128;
                    buffer.reserve(size + (1 << 16));
                    scope.spawn(move || encode_part(shard, buffer))
                })
                .collect();
            let head = encode_part(&(&self.reducer, &self.router), head);
            std::iter::once(head)
                .chain(
                    shards
                        .into_iter()
                        .map(|shard| shard.join().unwrap_or(Err(postcard::Error::SerdeSerCustom))),
                )
                .collect()
        });
        encoded.parts = parts.into_iter().collect::<Result<_, _>>().map_err(failed)?;
        Ok(())
    }

    /// The state read back from [`encode`](Self::encode)'s bytes, its shards
    /// decoded in parallel.
    ///
    /// # Errors
    /// When the bytes are not such a state (another build's layout, a
    /// truncated or damaged buffer): refused whole, never half-read.
    pub fn decode(bytes: &[u8]) -> Result<PipelineState, StateError> {
        let unreadable = |why: String| StateError(format!("unreadable pipeline state: {why}"));
        let parts = split_parts(bytes).map_err(unreadable)?;
        let Some((head, shards)) = parts.split_first() else {
            return Err(unreadable("no part".to_owned()));
        };
        if shards.is_empty() {
            return Err(unreadable("no shard".to_owned()));
        }
        let (reducer, router) = whole::<(ReducerConfig, Router)>(head).map_err(unreadable)?;
        let shards: Result<Vec<ShardState>, String> = std::thread::scope(|scope| {
            let decoding: Vec<_> =
                shards.iter().map(|part| scope.spawn(move || whole::<ShardState>(part))).collect();
            decoding
                .into_iter()
                .map(|shard| {
                    shard.join().unwrap_or_else(|_| Err("a shard could not be read".into()))
                })
                .collect()
        });
        Ok(PipelineState { reducer, router, shards: shards.map_err(unreadable)? })
    }

    /// The same state spread over `shards` shards: open call threads and
    /// orchestration interactions go to the shard their key picks and the
    /// router is told to send their later records there; agents go to their
    /// owner; DN bindings and duplicate
    /// windows go to every shard; statistics and counters are added up. A
    /// pipeline resumed from it gives what one with the old shard count
    /// would have given.
    ///
    pub fn reshard(self, shards: usize) -> PipelineState {
        let shards = shards.max(1);
        if shards == self.shards.len() {
            return self;
        }
        let router = self.router.empty_like(shards);
        let (calls, agents): (Vec<CallSide>, Vec<AgentSide>) =
            self.shards.into_iter().map(|shard| (shard.call, shard.agents)).unzip();
        // Both placements pin what they place; they take turns with the router.
        let router = std::cell::RefCell::new(router);
        let calls = CallSide::reshard(
            calls,
            &self.reducer,
            shards,
            |tenant, moved| {
                let mut router = router.borrow_mut();
                let target = router.keyed_shard(tenant, moved.main_key());
                router.pin(tenant, moved.keys(), target);
                target as usize
            },
            |tenant, id| {
                let mut router = router.borrow_mut();
                let target = router.keyed_shard(tenant, id);
                router.pin(tenant, std::iter::once(id), target);
                target as usize
            },
        );
        let router = router.into_inner();
        let agents = AgentSide::reshard(agents, &self.reducer, shards, |tenant, agent| {
            super::shard::owner(tenant, agent, shards)
        });
        PipelineState {
            reducer: self.reducer,
            router,
            shards: calls
                .into_iter()
                .zip(agents)
                .map(|(call, agents)| ShardState { call, agents })
                .collect(),
        }
    }

    /// Whether a pipeline built with `reducer` may go on from this state.
    pub(crate) fn check_fits(&self, reducer: &ReducerConfig) -> Result<(), StateError> {
        if self.reducer != *reducer {
            return Err(StateError(format!(
                "the saved state was built with other reducer settings ({:?}) than this \
                 run's ({:?}); run with the same settings, or start without the checkpoint",
                self.reducer, reducer
            )));
        }
        Ok(())
    }
}

/// The parts of an encoded state: a count, then each part's length and bytes.
fn split_parts(bytes: &[u8]) -> Result<Vec<&[u8]>, String> {
    let (count, mut rest) =
        bytes.split_first_chunk::<4>().ok_or_else(|| "shorter than its header".to_owned())?;
    let count = u32::from_le_bytes(*count) as usize;
    let mut parts = Vec::with_capacity(count.min(4096));
    for index in 0..count {
        let (len, after) = rest
            .split_first_chunk::<8>()
            .ok_or_else(|| format!("part {index} of {count} is missing"))?;
        let len = usize::try_from(u64::from_le_bytes(*len)).unwrap_or(usize::MAX);
        if len > after.len() {
            return Err(format!("part {index} of {count} is cut short"));
        }
        let (part, after) = after.split_at(len);
        parts.push(part);
        rest = after;
    }
    if !rest.is_empty() {
        return Err(format!("{} bytes after its end", rest.len()));
    }
    Ok(parts)
}

/// `T` read from all of `part`.
fn whole<'de, T: Deserialize<'de>>(part: &'de [u8]) -> Result<T, String> {
    let (value, rest) = postcard::take_from_bytes::<T>(part).map_err(|error| error.to_string())?;
    if rest.is_empty() { Ok(value) } else { Err(format!("{} bytes after a part", rest.len())) }
}
