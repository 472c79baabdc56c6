//! The Kafka source: a consumer-group member committing acknowledged offsets.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use ctistream_core::connect::{Connect, Health, Intake, Polled, Source, SourceRecord, StreamLabel};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::KafkaError;
use rdkafka::{ClientContext, Message, Offset, Statistics, TopicPartitionList};

use super::chunk::Chunks;
use super::config::KafkaSourceConfig;
use super::error::Error;
use super::health::SharedHealth;
use super::ledger::{Admit, Commit, Ledger};

/// At most this many records per poll, so the driver stays responsive.
const MAX_PER_POLL: usize = 4096;

/// The Kafka source: a consumer-group member whose offsets move only when the
/// pipeline acknowledges a mark.
///
/// # Marks and commits
/// [`Source::mark`] notes, for every partition assigned to this member, the
/// offset after the last record handed out. [`Source::commit`] commits exactly
/// those offsets (merged with earlier marks), synchronously: never a position
/// the pipeline has not acknowledged, since librdkafka's automatic commit and
/// offset store are off.
///
/// # Rebalances
/// When partitions are revoked, the positions already acknowledged for them
/// are committed (again, if a commit failed) before they go, and pending marks
/// forget them: those records were never acknowledged, and a later commit must
/// not overwrite the progress of the member that now owns them.
///
/// - A partition that moves to another member resumes there at the last
///   acknowledged commit, which stops at the first record of the oldest call
///   still open: records after it are read again by the new owner. The
///   per-call state this member built from the partition does not travel
///   with it: the partition counts as released ([`Source::released`]), and
///   the driver forgets the calls still open on it and the agents logged in
///   on it, which the new owner rebuilds from the commit.
/// - Each commit also says how far the partition's outputs are durable (the
///   acknowledged offset, usually past the held commit), committed as the
///   offset of a companion group ([`KafkaSourceConfig::durable_group`]; a
///   commit's metadata would do, but not every Kafka-protocol broker keeps
///   it). The next reader of the partition, after a rebalance or a crash,
///   reads it at assignment and hands the records below it out as
///   [`SourceRecord::replayed`]: the pipeline rebuilds the open calls from
///   them without writing again what the earlier reader wrote. What remains
///   at-least-once is the output of records handed out after the last
///   acknowledgement (at most one commit interval).
/// - A partition that comes back to this member (an eager rebalance revokes
///   and reassigns everything) is re-delivered from the last commit; records
///   this member has already handed out are skipped, so the pipeline does not
///   apply them twice. (The skip trusts offsets to only grow: a topic deleted
///   and created again restarts at 0, and this member would skip its records
///   up to the old position; restart the source after recreating a topic.)
///
/// # Broker trouble
/// librdkafka reconnects and retries by itself; [`Source::health`] is
/// degraded with librdkafka's reason meanwhile and up again once the brokers
/// are connected. `poll` keeps returning (idle) and never panics.
pub struct KafkaSource {
    name: String,
    /// `None` once closed.
    consumer: Option<BaseConsumer<GroupContext>>,
    context: Arc<GroupContext>,
    chunks: Chunks,
}

impl std::fmt::Debug for KafkaSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaSource").field("name", &self.name).finish_non_exhaustive()
    }
}

impl Connect for KafkaSourceConfig {
    type Running = KafkaSource;

    /// Creates the consumer and subscribes; partitions are assigned in the
    /// first polls, once the group has formed.
    ///
    /// # Errors
    /// An invalid config (no topics, the reserved `callthread` group, a
    /// property librdkafka does not know) or a failed subscription.
    fn connect(&self) -> io::Result<KafkaSource> {
        let name = self.name();
        let config = self.client_config()?;
        let durable: BaseConsumer = self.durable_config()?.create().map_err(|e| {
            Error::kafka(
                format!("{name}: cannot create the client of group {}", self.durable_group()),
                e,
            )
        })?;
        let context = GroupContext {
            ledger: Mutex::new(Ledger::default()),
            durable,
            health: SharedHealth::new(),
            joining: AtomicBool::new(true),
        };
        let consumer: BaseConsumer<GroupContext> = config
            .create_with_context(context)
            .map_err(|e| Error::kafka(format!("{name}: cannot create the consumer"), e))?;
        let topics: Vec<&str> = self.topics.iter().map(String::as_str).collect();
        consumer
            .subscribe(&topics)
            .map_err(|e| Error::kafka(format!("{name}: cannot subscribe"), e))?;
        let context = Arc::clone(consumer.context());
        Ok(KafkaSource { name, consumer: Some(consumer), context, chunks: Chunks::default() })
    }
}

impl Source for KafkaSource {
    fn name(&self) -> &str {
        &self.name
    }

    fn poll(&mut self, wait: Duration, intake: &mut dyn Intake) -> io::Result<Polled> {
        let Some(consumer) = &self.consumer else { return Ok(Polled::Ended) };
        // The companion client joins nothing and gets no messages; polling
        // it serves its events (errors, logs) so they do not pile up.
        let _ = self.context.durable.poll(Duration::ZERO);
        let deadline = Instant::now() + wait;
        let mut handed = 0;
        while handed < MAX_PER_POLL {
            // Wait only for the first record; then take what has arrived.
            let timeout = if handed == 0 {
                deadline.saturating_duration_since(Instant::now())
            } else {
                Duration::ZERO
            };
            let message = match consumer.poll(timeout) {
                None => break,
                Some(Ok(message)) => message,
                Some(Err(error)) => {
                    // Fetch and partition errors pass; librdkafka retries.
                    self.context.health.degrade(error.to_string());
                    break;
                }
            };
            let (stream, admitted) = {
                let mut ledger = self.context.ledger();
                let stream = ledger.stream(message.topic(), message.partition());
                (stream, ledger.admit(stream, message.offset()))
            };
            if admitted == Admit::Skip {
                continue;
            }
            let payload = self.chunks.copy(message.payload().unwrap_or_default());
            let key = message.key().map(|key| self.chunks.copy(key));
            let position = u64::try_from(message.offset()).unwrap_or_default();
            let replayed = admitted == Admit::Replay;
            intake.record(SourceRecord { payload, key, stream, position, replayed });
            handed += 1;
        }
        Ok(if handed == 0 { Polled::Idle } else { Polled::Records(handed) })
    }

    fn stream_label(&self, stream: u32) -> StreamLabel {
        let label = self.context.ledger().label(stream).unwrap_or_else(|| format!("?{stream}"));
        StreamLabel::new(label, '@')
    }

    fn mark(&mut self) -> u64 {
        self.context.ledger().mark()
    }

    fn commit(&mut self, mark: u64) -> io::Result<()> {
        self.commit_within(mark, &[])
    }

    /// Commits the mark's offsets, none at or past a stream's floor (the
    /// first record of its oldest open call), so that the member that reads
    /// the partition next, this one after a crash or another after a
    /// rebalance, rebuilds those calls from their start. The floors also hold
    /// the commit made when partitions are revoked.
    fn commit_within(&mut self, mark: u64, floors: &[(u32, u64)]) -> io::Result<()> {
        let positions = {
            let mut ledger = self.context.ledger();
            ledger.hold(floors);
            ledger.acknowledge(mark)
        }
        .map_err(|unknown| {
            Error::new(format!(
                "{}: mark {} was never taken (the last is {})",
                self.name, unknown.mark, unknown.last_taken
            ))
        })?;
        let Some(consumer) = &self.consumer else {
            return Err(Error::new(format!("{}: closed", self.name)).into());
        };
        commit(consumer, &self.context, &positions)
            .map_err(|e| Error::kafka(format!("{}: offset commit failed", self.name), e).into())
    }

    /// A partition revoked from this member (or lost with its session):
    /// the group's commit for it stops at its oldest open call, so its next
    /// owner rebuilds those calls.
    fn released(&self, stream: u32) -> bool {
        self.context.ledger().released(stream)
    }

    fn forget_streams(&mut self, streams: &[u32]) {
        self.context.ledger().forget(streams);
    }

    /// Per assigned partition, the offset after the last record handed out,
    /// as lines of `topic partition offset`.
    fn save_position(&mut self) -> Option<Vec<u8>> {
        let mut text = String::new();
        for (topic, partition, next) in self.context.ledger().handed_out() {
            text.push_str(&format!("{topic} {partition} {next}\n"));
        }
        Some(text.into_bytes())
    }

    /// Records below the saved offsets are skipped when the group delivers
    /// them again (from its last commit, which a run with checkpoints keeps
    /// at or before its last checkpoint).
    fn resume_from(&mut self, saved: &[u8]) -> io::Result<()> {
        let invalid = || Error::new(format!("{}: not a Kafka position", self.name));
        let text = std::str::from_utf8(saved).map_err(|_| invalid())?;
        let mut positions = Vec::new();
        for line in text.lines() {
            let fields: Vec<&str> = line.split(' ').collect();
            let [topic, partition, next] = fields[..] else { return Err(invalid().into()) };
            let partition = partition.parse().map_err(|_| invalid())?;
            let next = next.parse().map_err(|_| invalid())?;
            positions.push((topic.to_owned(), partition, next));
        }
        self.context.ledger().resume(&positions);
        Ok(())
    }

    fn health(&self) -> Health {
        if self.consumer.is_none() {
            return Health::Down("closed".to_owned());
        }
        match self.context.health.get() {
            Health::Up if self.context.joining.load(Ordering::Acquire) => Health::Degraded(
                "joining the consumer group (no partitions assigned yet)".to_owned(),
            ),
            health => health,
        }
    }

    fn close(&mut self) -> io::Result<()> {
        // Dropping the consumer leaves the group: librdkafka revokes the
        // partitions (committing what is acknowledged) and the others
        // rebalance at once instead of after the session timeout.
        self.consumer = None;
        Ok(())
    }
}

/// Commits synchronously: each partition's offset to the group, then how
/// far its outputs are durable to the companion group; notes both in the
/// ledger. (Either order is safe: what the companion group holds is always
/// durable, at worst less of it is replayed and more written again.)
fn commit(
    consumer: &BaseConsumer<GroupContext>,
    context: &GroupContext,
    commits: &[Commit],
) -> Result<(), KafkaError> {
    if commits.is_empty() {
        return Ok(());
    }
    let mut offsets = TopicPartitionList::with_capacity(commits.len());
    let mut durable = TopicPartitionList::with_capacity(commits.len());
    for commit in commits {
        offsets.add_partition_offset(
            &commit.topic,
            commit.partition,
            Offset::Offset(commit.next),
        )?;
        durable.add_partition_offset(
            &commit.topic,
            commit.partition,
            Offset::Offset(commit.durable),
        )?;
    }
    consumer.commit(&offsets, CommitMode::Sync)?;
    context.durable.commit(&durable, CommitMode::Sync)?;
    context.ledger().committed(commits);
    Ok(())
}

/// How long reading how far newly assigned partitions are durable may take
/// before they are read without replay (at-least-once, as before).
const DURABLE_TIMEOUT: Duration = Duration::from_secs(10);

/// Reads how far the outputs of `assigned` are durable (the companion
/// group's commits), so that what the partitions' earlier readers made
/// durable is replayed, not written again. Only where the group has a commit
/// of its own at or before that offset: a group deleted (or new) reads from
/// the start and writes everything, whatever the companion says.
fn read_durable(
    consumer: &BaseConsumer<GroupContext>,
    context: &GroupContext,
    assigned: &TopicPartitionList,
) -> Result<(), KafkaError> {
    let group = consumer.committed_offsets(assigned.clone(), DURABLE_TIMEOUT)?;
    let durable = context.durable.committed_offsets(assigned.clone(), DURABLE_TIMEOUT)?;
    let mut ledger = context.ledger();
    for element in durable.elements() {
        let (topic, partition) = (element.topic(), element.partition());
        let committed = group.find_partition(topic, partition).map(|e| e.offset());
        if let (Offset::Offset(offset), Some(Offset::Offset(committed))) =
            (element.offset(), committed)
        {
            if committed <= offset {
                ledger.durable_at(topic, partition, offset);
            }
        }
    }
    Ok(())
}

/// The consumer's callbacks: rebalances update the ledger, errors and
/// statistics the health.
struct GroupContext {
    ledger: Mutex<Ledger>,
    /// A client of the companion group
    /// ([`KafkaSourceConfig::durable_group`]): it never joins, it only
    /// commits and reads how far each partition's outputs are durable.
    durable: BaseConsumer,
    health: SharedHealth,
    /// Between subscribing, or losing the partitions (a revocation, a
    /// session that expired while the brokers were out of reach), and the
    /// next assignment: records may be waiting that this member cannot fetch
    /// yet, so it is not idle.
    joining: AtomicBool,
}

impl GroupContext {
    fn ledger(&self) -> MutexGuard<'_, Ledger> {
        // The ledger stays consistent between its method calls.
        self.ledger.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl ClientContext for GroupContext {
    fn stats(&self, statistics: Statistics) {
        self.health.on_statistics(&statistics);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        self.health.on_error(&error, reason);
    }
}

impl ConsumerContext for GroupContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Revoke(partitions) => {
                self.joining.store(true, Ordering::Release);
                let revoked = partitions.elements();
                let last = self.ledger().revoke(revoked.iter().map(|p| (p.topic(), p.partition())));
                if let Err(error) = commit(consumer, self, &last) {
                    // The new owner re-reads from the previous commit: more
                    // duplicates, nothing lost.
                    self.health.degrade(format!("commit before revocation failed: {error}"));
                }
            }
            Rebalance::Assign(partitions) => {
                let assigned = partitions.elements();
                self.ledger().assign(assigned.iter().map(|p| (p.topic(), p.partition())));
                if let Err(error) = read_durable(consumer, self, partitions) {
                    // Their outputs come again instead: more duplicates,
                    // nothing lost.
                    self.health.degrade(format!(
                        "reading how far the outputs are durable failed: {error}"
                    ));
                }
                self.joining.store(false, Ordering::Release);
            }
            Rebalance::Error(error) => self.health.degrade(format!("rebalance: {error}")),
        }
    }
}
