//! Statistics per tenant and queue, the figures a contact-center real-time
//! statistics server computes (DOMAIN.md 3.3): agents by status, calls waiting
//! and the longest wait, answered and abandoned calls (in queue, while ringing,
//! short abandons), service level, average speed of answer and average handle
//! time.
//!
//! Counters move as things happen: agent status changes move an agent between
//! status counts, call records add to the call counters, and after-call work is
//! added when an agent leaves it. Calls waiting are read from the open call
//! threads when a snapshot is taken.

use rustc_hash::FxHashMap;

use crate::event::{AgentStatus, Timestamp};
use crate::output::write_json_string;

use super::agent::{StatusChange, push_int};
use super::call::{CallRecord, Outcome};
use super::intern::{Interner, Sym};

/// Thresholds of the statistics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StatsConfig {
    /// Calls answered within this wait count towards the service level (ms).
    pub service_level_ms: i64,
    /// Abandons within this wait are short abandons, left out of the service
    /// level (ms).
    pub short_abandon_ms: i64,
    /// The most (tenant, queue) rows kept (per side). Queue names come from
    /// the input, and a stream naming millions of queues would otherwise
    /// hold a row for each for ever: past the cap, new queues are counted
    /// together under the queue [`OVERFLOW_QUEUE`], and the overflow is
    /// counted ([`Stats::overflowed`]).
    pub max_queues: usize,
}

impl Default for StatsConfig {
    fn default() -> Self {
        StatsConfig { service_level_ms: 20_000, short_abandon_ms: 5_000, max_queues: 100_000 }
    }
}

/// The queue that counts the queues past [`StatsConfig::max_queues`].
pub const OVERFLOW_QUEUE: &str = "(other)";

/// The counters of one queue.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct QueueStats {
    /// Agents by status (index: the status's position in [`AgentStatus::ALL`]).
    pub agents: [u32; 12],
    /// Calls answered.
    pub answered: u64,
    /// Calls answered within the service-level threshold.
    pub answered_in_threshold: u64,
    /// Calls abandoned in queue.
    pub abandoned_in_queue: u64,
    /// Calls abandoned while ringing.
    pub abandoned_ringing: u64,
    /// Abandons within the short-abandon threshold.
    pub short_abandoned: u64,
    /// Sum of queue-entry-to-answer waits of answered calls (ms).
    pub answer_wait_ms: i64,
    /// Sum of talk and hold of answered calls (ms).
    pub handle_ms: i64,
    /// Sum of after-call work of the queue's agents (ms).
    pub acw_ms: i64,
}

impl QueueStats {
    /// Adds `other`'s counters (every counter is a count or a sum).
    pub fn add(&mut self, other: &QueueStats) {
        for (mine, theirs) in self.agents.iter_mut().zip(other.agents) {
            *mine += theirs;
        }
        self.answered += other.answered;
        self.answered_in_threshold += other.answered_in_threshold;
        self.abandoned_in_queue += other.abandoned_in_queue;
        self.abandoned_ringing += other.abandoned_ringing;
        self.short_abandoned += other.short_abandoned;
        self.answer_wait_ms = self.answer_wait_ms.saturating_add(other.answer_wait_ms);
        self.handle_ms = self.handle_ms.saturating_add(other.handle_ms);
        self.acw_ms = self.acw_ms.saturating_add(other.acw_ms);
    }

    /// Abandoned calls, in queue and ringing.
    pub fn abandoned(&self) -> u64 {
        self.abandoned_in_queue + self.abandoned_ringing
    }

    /// answered within threshold / (answered + abandoned − short abandons);
    /// `None` with no calls.
    pub fn service_level(&self) -> Option<f64> {
        let base = (self.answered + self.abandoned()).saturating_sub(self.short_abandoned);
        (base > 0).then(|| self.answered_in_threshold as f64 / base as f64)
    }

    /// Average speed of answer (ms); `None` with no answered call.
    pub fn asa_ms(&self) -> Option<i64> {
        (self.answered > 0).then(|| self.answer_wait_ms / self.answered as i64)
    }

    /// Average handle time (talk + hold + after-call work) per answered call (ms).
    pub fn aht_ms(&self) -> Option<i64> {
        (self.answered > 0)
            .then(|| self.handle_ms.saturating_add(self.acw_ms) / self.answered as i64)
    }
}

/// Statistics of every (tenant, queue).
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Stats {
    config: StatsConfig,
    queues: FxHashMap<(Sym, Sym), QueueStats>,
    /// The symbol of [`OVERFLOW_QUEUE`] in the owner's names (set by the
    /// owner: the statistics hold no names of their own).
    overflow: Sym,
    /// Updates counted under the overflow queue.
    overflowed: u64,
}

impl Stats {
    /// Empty statistics with `config`.
    pub fn new(config: StatsConfig) -> Stats {
        Stats { config, queues: FxHashMap::default(), overflow: Sym::EMPTY, overflowed: 0 }
    }

    /// Names the overflow queue: `overflow` is [`OVERFLOW_QUEUE`]'s symbol in
    /// the names the keys are read with.
    pub(crate) fn set_overflow(&mut self, overflow: Sym) {
        self.overflow = overflow;
    }

    /// Updates counted under [`OVERFLOW_QUEUE`] because the table was full.
    pub fn overflowed(&self) -> u64 {
        self.overflowed
    }

    /// (Tenant, queue) rows kept.
    pub fn len(&self) -> usize {
        self.queues.len()
    }

    /// Whether no row is kept.
    pub fn is_empty(&self) -> bool {
        self.queues.is_empty()
    }

    /// The thresholds.
    pub fn config(&self) -> &StatsConfig {
        &self.config
    }

    /// One queue's counters.
    pub fn queue(&self, tenant: Sym, queue: Sym) -> Option<&QueueStats> {
        self.queues.get(&(tenant, queue))
    }

    /// The row of (tenant, queue), or, once the table is full and it has
    /// none, the tenant's overflow row. A full table never loses a row, so a
    /// queue goes to the same row for good.
    fn slot(&mut self, tenant: Sym, queue: Sym) -> &mut QueueStats {
        let full = self.queues.len() >= self.config.max_queues.max(1);
        let key = if full && !self.queues.contains_key(&(tenant, queue)) {
            self.overflowed += 1;
            (tenant, self.overflow)
        } else {
            (tenant, queue)
        };
        self.queues.entry(key).or_default()
    }

    /// An agent is forgotten (evicted): it no longer counts under its status.
    pub(crate) fn forget_agent(&mut self, tenant: Sym, queue: Sym, status: AgentStatus) {
        let count = &mut self.slot(tenant, queue).agents[status_index(status)];
        *count = count.saturating_sub(1);
    }

    /// Moves an agent between status counts; `acw_ms` is the after-call work
    /// that just ended, if the agent left it.
    pub fn agent_change(&mut self, change: &StatusChange, acw_ms: i64) {
        if let Some(previous) = change.previous {
            let old = self.slot(change.tenant, change.previous_queue);
            let count = &mut old.agents[status_index(previous)];
            *count = count.saturating_sub(1);
            old.acw_ms = old.acw_ms.saturating_add(acw_ms);
        }
        self.slot(change.tenant, change.queue).agents[status_index(change.status)] += 1;
    }

    /// Adds a finished call to its queue's counters (calls with no queue are
    /// counted under the empty queue).
    pub fn call_record(&mut self, tenant: Sym, queue: Sym, record: &CallRecord) {
        let config = self.config;
        let wait = record.wait_ms.unwrap_or(record.queue_ms);
        let slot = self.slot(tenant, queue);
        match record.outcome {
            Outcome::Answered => {
                slot.answered += 1;
                if wait <= config.service_level_ms {
                    slot.answered_in_threshold += 1;
                }
                slot.answer_wait_ms = slot.answer_wait_ms.saturating_add(wait);
                // Sums saturate: a call spanning the whole time range (times come from
                // outside) must not overflow the queue's totals.
                let handled = record.talk_ms.saturating_add(record.hold_ms);
                slot.handle_ms = slot.handle_ms.saturating_add(handled);
            }
            Outcome::AbandonedInQueue | Outcome::AbandonedRinging => {
                if record.outcome == Outcome::AbandonedInQueue {
                    slot.abandoned_in_queue += 1;
                } else {
                    slot.abandoned_ringing += 1;
                }
                if wait < config.short_abandon_ms {
                    slot.short_abandoned += 1;
                }
            }
            _ => {}
        }
    }

    /// Adds `other`'s counters (their names read from `names`, this side's
    /// symbols given by `to`).
    pub(crate) fn absorb(&mut self, other: &Stats, mut to: impl FnMut(Sym) -> Sym) {
        for (&(tenant, queue), stats) in &other.queues {
            self.slot(to(tenant), to(queue)).add(stats);
        }
        self.overflowed += other.overflowed;
    }

    /// The same statistics keyed by the symbols of `names` (they were keyed
    /// by `old`'s); the overflow queue is `names`'s [`OVERFLOW_QUEUE`].
    pub(crate) fn renamed(&self, old: &Interner, names: &mut Interner) -> Stats {
        let mut renamed = Stats::new(self.config);
        renamed.set_overflow(names.intern(OVERFLOW_QUEUE.as_bytes()));
        renamed.absorb(self, |sym| names.intern(old.name(sym).as_bytes()));
        renamed
    }

    /// Counts agents by status again from `agents` (tenant, queue, status):
    /// each agent once, under its queue and current status, as the changes
    /// that made them would have.
    pub(crate) fn recount_agents(
        &mut self,
        agents: impl IntoIterator<Item = (Sym, Sym, AgentStatus)>,
    ) {
        for stats in self.queues.values_mut() {
            stats.agents = [0; 12];
        }
        for (tenant, queue, status) in agents {
            self.slot(tenant, queue).agents[status_index(status)] += 1;
        }
    }

    /// Every (tenant, queue) with counters, sorted by names.
    pub fn sorted<'s>(&'s self, names: &Interner) -> Vec<((Sym, Sym), &'s QueueStats)> {
        let mut queues: Vec<_> = self.queues.iter().map(|(key, stats)| (*key, stats)).collect();
        queues.sort_by(|a, b| {
            (names.name(a.0.0), names.name(a.0.1)).cmp(&(names.name(b.0.0), names.name(b.0.1)))
        });
        queues
    }
}

/// The position of a status in [`AgentStatus::ALL`].
pub fn status_index(status: AgentStatus) -> usize {
    AgentStatus::ALL.iter().position(|s| *s == status).unwrap_or(0)
}

/// Calls waiting in one queue at a point in time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Waiting {
    /// How many.
    pub calls: u32,
    /// The longest wait so far (ms).
    pub longest_ms: i64,
}

/// Writes one queue's statistics as an NDJSON line:
/// `{"tenant","queue","at","agents":{status: n, …},"waiting","longest_wait_ms",
/// "answered","abandoned","abandoned_in_queue","abandoned_ringing",
/// "short_abandoned","service_level","asa_ms","aht_ms"}`.
pub fn write_queue_json(
    out: &mut Vec<u8>,
    tenant: &str,
    queue: &str,
    stats: &QueueStats,
    waiting: Waiting,
    at: Timestamp,
) {
    out.extend_from_slice(b"{\"tenant\":");
    write_json_string(out, tenant.as_bytes());
    out.extend_from_slice(b",\"queue\":");
    if queue.is_empty() {
        out.extend_from_slice(b"null");
    } else {
        write_json_string(out, queue.as_bytes());
    }
    out.extend_from_slice(b",\"at\":\"");
    at.write_rfc3339(out);
    out.extend_from_slice(b"\",\"agents\":{");
    for (i, status) in AgentStatus::ALL.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.push(b'"');
        out.extend_from_slice(status.name().as_bytes());
        out.extend_from_slice(b"\":");
        push_int(out, i64::from(stats.agents[i]));
    }
    out.push(b'}');
    let optional = |out: &mut Vec<u8>, value: Option<i64>| match value {
        Some(value) => push_int(out, value),
        None => out.extend_from_slice(b"null"),
    };
    for (name, value) in [
        (",\"waiting\":", i64::from(waiting.calls)),
        (",\"longest_wait_ms\":", waiting.longest_ms),
        (",\"answered\":", stats.answered as i64),
        (",\"abandoned\":", stats.abandoned() as i64),
        (",\"abandoned_in_queue\":", stats.abandoned_in_queue as i64),
        (",\"abandoned_ringing\":", stats.abandoned_ringing as i64),
        (",\"short_abandoned\":", stats.short_abandoned as i64),
    ] {
        out.extend_from_slice(name.as_bytes());
        push_int(out, value);
    }
    out.extend_from_slice(b",\"service_level\":");
    match stats.service_level() {
        Some(level) => out.extend_from_slice(format!("{:.4}", level).as_bytes()),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"asa_ms\":");
    optional(out, stats.asa_ms());
    out.extend_from_slice(b",\"aht_ms\":");
    optional(out, stats.aht_ms());
    out.extend_from_slice(b"}\n");
}
