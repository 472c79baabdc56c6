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
//! The bytes are [postcard](https://docs.rs/postcard) of the serde form of
//! the state. They carry no version or checksum of their own: the checkpoint
//! container ([`crate::checkpoint`]) does.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::state::{AgentSide, CallSide, ReducerConfig};

use super::route::Router;

/// Every shard's reducer state and the router's, between two records.
#[derive(Debug, Serialize, Deserialize)]
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

    /// The state as bytes.
    ///
    /// # Errors
    /// Never for the state types of this crate; a [`StateError`] would name
    /// what postcard could not write.
    pub fn encode(&self) -> Result<Vec<u8>, StateError> {
        postcard::to_allocvec(self).map_err(|error| StateError(format!("saving state: {error}")))
    }

    /// The state read back from [`encode`](Self::encode)'s bytes.
    ///
    /// # Errors
    /// When the bytes are not such a state (another build's layout, a
    /// truncated or damaged buffer): refused whole, never half-read.
    pub fn decode(bytes: &[u8]) -> Result<PipelineState, StateError> {
        let (state, rest) = postcard::take_from_bytes::<PipelineState>(bytes)
            .map_err(|error| StateError(format!("unreadable pipeline state: {error}")))?;
        if !rest.is_empty() {
            return Err(StateError(format!(
                "unreadable pipeline state: {} bytes after its end",
                rest.len()
            )));
        }
        if state.shards.is_empty() {
            return Err(StateError("unreadable pipeline state: no shard".to_owned()));
        }
        Ok(state)
    }

    /// The same state spread over `shards` shards: open call threads and
    /// orchestration interactions go to the shard their key picks and the
    /// router is told to send their later records there; agents go to their
    /// owner; DN bindings and duplicate
    /// windows go to every shard; statistics and counters are added up. A
    /// pipeline resumed from it gives what one with the old shard count
    /// would have given.
    ///
    /// # Errors
    /// None today; the `Result` leaves room for state that cannot move.
    pub fn reshard(self, shards: usize) -> Result<PipelineState, StateError> {
        let shards = shards.max(1);
        let from = self.shards.len();
        if shards == from {
            return Ok(self);
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
        Ok(PipelineState {
            reducer: self.reducer,
            router,
            shards: calls
                .into_iter()
                .zip(agents)
                .map(|(call, agents)| ShardState { call, agents })
                .collect(),
        })
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
