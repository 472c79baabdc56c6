//! The agent stage: applies the shards' messages to the agent side in record
//! order and emits the outputs.
//!
//! Each shard's messages arrive in its own record order; the stage keeps one
//! queue per shard and applies, smallest sequence number first, every message
//! no shard can still precede: those at or below the lowest progress mark. So
//! the agent side sees exactly the order a single-threaded reducer would, and
//! waits for nobody's lock — a slow shard only delays the messages after it.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use crossbeam::sync::Parker;

use crate::state::{AgentSide, Outputs};

use super::latency::{Latency, Stage};
use super::progress::Progress;
use super::ready::ReadyPublisher;
use super::ring::{Idle, Receiver};
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
    pub(crate) parker: Parker,
    pub(crate) side: AgentSide,
    pub(crate) outputs: O,
    pub(crate) ready: ReadyPublisher,
}

impl<O: Outputs> AgentStage<O> {
    pub(crate) fn run(mut self) -> StageDone<O> {
        let mut latency = Latency::new();
        let mut pending: Vec<VecDeque<(Instant, Outgoing)>> =
            self.inputs.iter().map(|_| VecDeque::new()).collect();
        let idle = Idle::new();
        loop {
            // Marks first, then the rings: everything pushed before a mark is in.
            let safe = self.progress.iter().map(|p| p.read()).min().unwrap_or(u64::MAX);
            for (input, queue) in self.inputs.iter().zip(pending.iter_mut()) {
                while let Some(batch) = input.try_recv() {
                    queue.extend(batch.items.into_iter().map(|item| (batch.sent, item)));
                }
            }
            let started = Instant::now();
            let applied = self.apply_up_to(safe, &mut pending, &mut latency);
            if let Some(per) = (started.elapsed().as_nanos() as u64).checked_div(applied) {
                latency.record_n(Stage::Emit, per, applied);
                idle.reset();
                self.ready.publish(&self.side, &mut latency);
                continue;
            }
            let finished = self.inputs.iter().all(Receiver::is_finished)
                && pending.iter().all(VecDeque::is_empty)
                && safe == u64::MAX;
            if finished {
                break;
            }
            idle.wait(&self.parker);
        }
        self.ready.publish_now(&self.side, &mut latency);
        StageDone { side: self.side, outputs: self.outputs, latency }
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
