//! The ready-agent view: which agents are ready, per tenant and queue,
//! longest-idle first — what a routing thread asks before it picks a target.
//!
//! Each shard owns some agents; it rebuilds the view of its agents at most
//! every [`PUBLISH_EVERY`] when something changed, and swaps it in with
//! `arc-swap`. A rebuild passes over all of the shard's agents, so with very
//! many agents it waits longer: never less than [`BUILD_SHARE`] times its own
//! last cost, which keeps rebuilding under a tenth of the shard's time. A
//! reader loads every shard's current `Arc` without a lock and reads
//! consistent per-shard snapshots. How old a view is when published is
//! recorded in the `ready_view` latency histogram.

use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use rustc_hash::FxHashMap;

use crate::event::{AgentStatus, Timestamp};
use crate::state::{AgentSide, Sym};

use super::latency::{Latency, Stage};

/// The longest a view lags its agents while they change, unless rebuilding it
/// costs more than a tenth of that (see [`BUILD_SHARE`]).
pub const PUBLISH_EVERY: Duration = Duration::from_millis(20);

/// A view is rebuilt at most once per this many times the last rebuild's cost.
pub const BUILD_SHARE: u32 = 10;

/// How long after a rebuild that took `cost` the next may start.
fn publish_interval(cost: Duration) -> Duration {
    PUBLISH_EVERY.max(cost.saturating_mul(BUILD_SHARE))
}

/// A ready agent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadyAgent {
    /// The agent id.
    pub agent: String,
    /// The agent's DN, empty if unknown.
    pub dn: String,
    /// Since when the agent has been ready.
    pub idle_since: Timestamp,
}

/// One shard's ready agents.
#[derive(Clone, Debug, Default)]
pub struct ReadyView {
    queues: FxHashMap<(String, String), Vec<ReadyAgent>>,
}

impl ReadyView {
    /// The ready agents of `queue` in `tenant` (the empty queue: agents with
    /// none), longest idle first.
    pub fn ready(&self, tenant: &str, queue: &str) -> &[ReadyAgent] {
        self.queues.get(&(tenant.to_owned(), queue.to_owned())).map_or(&[], Vec::as_slice)
    }

    fn build(side: &AgentSide) -> ReadyView {
        let names = side.names();
        // Grouped by symbols first: the queue's names are copied once per
        // queue, not once per ready agent.
        let mut by_sym: FxHashMap<(Sym, Sym), Vec<ReadyAgent>> = FxHashMap::default();
        for agent in side.agents().iter().filter(|a| a.status() == AgentStatus::WaitForNextCall) {
            by_sym.entry((agent.tenant(), agent.queue())).or_default().push(ReadyAgent {
                agent: names.name(agent.agent()).to_owned(),
                dn: names.name(agent.dn()).to_owned(),
                idle_since: agent.since(),
            });
        }
        let queues = by_sym
            .into_iter()
            .map(|((tenant, queue), mut agents)| {
                agents.sort_by(|a, b| (a.idle_since, &a.agent).cmp(&(b.idle_since, &b.agent)));
                ((names.name(tenant).to_owned(), names.name(queue).to_owned()), agents)
            })
            .collect();
        ReadyView { queues }
    }
}

/// A handle any thread can read the view through, without locks.
#[derive(Clone, Debug)]
pub struct ReadyHandle {
    shards: Arc<Vec<ArcSwap<ReadyView>>>,
}

impl ReadyHandle {
    pub(crate) fn new(shards: usize) -> ReadyHandle {
        let views =
            (0..shards.max(1)).map(|_| ArcSwap::from_pointee(ReadyView::default())).collect();
        ReadyHandle { shards: Arc::new(views) }
    }

    /// The agent that has waited longest in `queue` of `tenant`, if any is ready.
    pub fn longest_idle(&self, tenant: &str, queue: &str) -> Option<ReadyAgent> {
        self.shards
            .iter()
            .filter_map(|view| view.load().ready(tenant, queue).first().cloned())
            .min_by(|a, b| (a.idle_since, &a.agent).cmp(&(b.idle_since, &b.agent)))
    }

    /// Every ready agent of `queue` in `tenant`, longest idle first.
    pub fn ready(&self, tenant: &str, queue: &str) -> Vec<ReadyAgent> {
        let mut all: Vec<ReadyAgent> =
            self.shards.iter().flat_map(|view| view.load().ready(tenant, queue).to_vec()).collect();
        all.sort_by(|a, b| (a.idle_since, &a.agent).cmp(&(b.idle_since, &b.agent)));
        all
    }

    /// How many agents are ready, in all queues.
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|view| view.load().queues.values().map(Vec::len).sum::<usize>())
            .sum()
    }

    /// Whether no agent is ready.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A shard's end: rebuilds and publishes its view.
#[derive(Debug)]
pub(crate) struct ReadyPublisher {
    handle: ReadyHandle,
    shard: usize,
    published_changes: u64,
    last: Instant,
    /// How long the last rebuild took.
    cost: Duration,
    dirty_since: Option<Instant>,
}

impl ReadyPublisher {
    pub(crate) fn new(handle: ReadyHandle, shard: usize) -> ReadyPublisher {
        ReadyPublisher {
            handle,
            shard,
            published_changes: 0,
            last: Instant::now(),
            cost: Duration::ZERO,
            dirty_since: None,
        }
    }

    /// Publishes a new view if agents changed and the last one is old enough
    /// (or at once when `force`).
    pub(crate) fn publish(&mut self, side: &AgentSide, latency: &mut Latency, force: bool) {
        let changes = side.counters().agent_changes;
        if changes == self.published_changes {
            return;
        }
        let now = Instant::now();
        let dirty_since = *self.dirty_since.get_or_insert(now);
        if !force && now.duration_since(self.last) < publish_interval(self.cost) {
            return;
        }
        self.handle.shards[self.shard].store(Arc::new(ReadyView::build(side)));
        self.cost = now.elapsed();
        latency.record(Stage::ReadyView, dirty_since.elapsed().as_nanos() as u64);
        self.published_changes = changes;
        self.last = now;
        self.dirty_since = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_costly_rebuild_waits_ten_times_its_cost_and_a_cheap_one_the_usual_interval() {
        assert_eq!(publish_interval(Duration::ZERO), PUBLISH_EVERY);
        assert_eq!(publish_interval(Duration::from_micros(300)), PUBLISH_EVERY);
        assert_eq!(publish_interval(Duration::from_millis(2)), PUBLISH_EVERY);
        assert_eq!(publish_interval(Duration::from_millis(5)), Duration::from_millis(50));
        assert_eq!(publish_interval(Duration::MAX), Duration::MAX);
    }
}
