//! The agent stage: applies the shards' messages to the agent side in record
//! order and emits the outputs.
//!
//! Each shard's messages arrive in its own record order; the stage keeps one
//! queue per shard and applies, smallest sequence number first, every message
//! no shard can still precede: those at or below the lowest progress mark. So
//! the agent side sees exactly the order a single-threaded reducer would.
//!
//! The stage has no thread of its own. It is a task any shard runs when it
//! can take the stage's token ([`Token::try_run`]): between batches, while
//! idle, and while waiting on a full ring. Nobody ever waits for the token —
//! a shard that finds it taken goes on with its own records — so with one
//! shard the work runs on one thread, and with N shards it spreads over them.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use std::sync::{Mutex, TryLockError};

use crate::state::{AgentSide, Outputs};

use super::latency::{Latency, Stage};
use super::progress::Progress;
use super::ready::ReadyPublisher;
use super::ring::Receiver;
use super::shard::{Batch, Outgoing};

/// What the agent stage hands back when it stops.
#[derive(Debug)]
pub(crate) struct StageDone<O> {
    pub(crate) side: AgentSide,
    pub(crate) outputs: O,
    pub(crate) latency: Latency,
}

pub(crate) struct AgentStage<O> {
    pub(crate) inputs: Vec<Receiver<Batch<Outgoing>>>,
    pub(crate) progress: Vec<Arc<Progress>>,
    pub(crate) pending: Vec<VecDeque<(Instant, Outgoing)>>,
    pub(crate) side: AgentSide,
    pub(crate) outputs: O,
    pub(crate) ready: ReadyPublisher,
    pub(crate) latency: Latency,
}

/// The right to run the agent stage, taken without ever waiting.
pub(crate) struct Token<O> {
    stage: Mutex<Option<AgentStage<O>>>,
}

impl<O: Outputs> Token<O> {
    pub(crate) fn new(stage: AgentStage<O>) -> Token<O> {
        Token { stage: Mutex::new(Some(stage)) }
    }

    /// Runs one step of the stage if no other thread is running it; returns
    /// whether it ran and applied something.
    pub(crate) fn try_run(&self) -> bool {
        let mut guard = match self.stage.try_lock() {
            Ok(guard) => guard,
            // Another shard is running the stage: go on with our own work.
            Err(TryLockError::WouldBlock) => return false,
            // A panic elsewhere is reported when that thread is joined.
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
        };
        guard.as_mut().is_some_and(|stage| stage.step() > 0)
    }

    /// Runs the stage to the end (every shard has finished) and hands back
    /// what it holds. Called once, after the shards are joined.
    pub(crate) fn finish(&self) -> Option<StageDone<O>> {
        let mut guard = self.stage.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut stage = guard.take()?;
        while !stage.finished() {
            stage.step();
        }
        stage.ready.publish_now(&stage.side, &mut stage.latency);
        Some(StageDone { side: stage.side, outputs: stage.outputs, latency: stage.latency })
    }
}

impl<O: Outputs> AgentStage<O> {
    /// Drains the shards' rings and applies what is safe; returns how many
    /// messages were applied.
    pub(crate) fn step(&mut self) -> u64 {
        // Marks first, then the rings: everything pushed before a mark is in.
        let safe = self.progress.iter().map(|p| p.read()).min().unwrap_or(u64::MAX);
        for (input, queue) in self.inputs.iter().zip(self.pending.iter_mut()) {
            while let Some(batch) = input.try_recv() {
                queue.extend(batch.items.into_iter().map(|item| (batch.sent, item)));
            }
        }
        let started = Instant::now();
        let mut pending = std::mem::take(&mut self.pending);
        let mut latency = std::mem::take(&mut self.latency);
        let applied = self.apply_up_to(safe, &mut pending, &mut latency);
        if let Some(per) = (started.elapsed().as_nanos() as u64).checked_div(applied) {
            latency.record_n(Stage::Emit, per, applied);
            self.ready.publish(&self.side, &mut latency);
        }
        self.pending = pending;
        self.latency = latency;
        applied
    }

    /// Whether every shard has finished and every message is applied.
    fn finished(&self) -> bool {
        self.progress.iter().all(|p| p.read() == u64::MAX)
            && self.inputs.iter().all(Receiver::is_finished)
            && self.pending.iter().all(VecDeque::is_empty)
    }

    /// Applies, in sequence order, every pending message at or below `safe`.
    fn apply_up_to(
        &mut self,
        safe: u64,
        pending: &mut [VecDeque<(Instant, Outgoing)>],
        latency: &mut Latency,
    ) -> u64 {
        let mut applied = 0;
        // One clock read per pass, not per message.
        let now = Instant::now();
        loop {
            let next = pending
                .iter()
                .enumerate()
                .filter_map(|(i, queue)| queue.front().map(|(_, item)| (item.seq(), i)))
                .filter(|&(seq, _)| seq <= safe)
                .min();
            let Some((_, shard)) = next else { return applied };
            let Some((sent, item)) = pending[shard].pop_front() else { return applied };
            match item {
                Outgoing::Message { born, message, .. } => {
                    latency.record(Stage::AgentWait, now.duration_since(sent).as_nanos() as u64);
                    self.side.apply(message, &mut self.outputs);
                    latency.record(Stage::EndToEnd, now.duration_since(born).as_nanos() as u64);
                }
                Outgoing::Reject { origin, error, raw, .. } => {
                    self.outputs.reject(origin, &error, &raw);
                }
            }
            applied += 1;
        }
    }
}
