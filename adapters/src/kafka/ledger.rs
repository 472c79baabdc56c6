//! The source's offset bookkeeping: which partition is which stream, how far
//! each was handed out, the marks not yet acknowledged, and what is committed.
//!
//! Offsets here are Kafka's "next offset to read": a commit of `n` means
//! every record before `n` is done. The ledger does no I/O; the source and its
//! rebalance callbacks ask it what to commit and tell it what was.
//!
//! A commit says two things: where the next reader starts (held at the first
//! record of the oldest call still open), committed to the group, and how
//! far the outputs are durable, committed to a companion group. The records
//! between the two are read again only to rebuild the open calls; the next
//! reader replays them without writing their outputs a second time
//! ([`Admit::Replay`]).

use std::collections::{HashMap, VecDeque};

/// One partition the source has seen: a stream of records.
#[derive(Debug)]
struct Partition {
    topic: String,
    partition: i32,
    /// The offset after the last record handed out; re-deliveries below it
    /// (after this member gets its own partition back) are skipped.
    handed_out: Option<i64>,
    /// Whether the partition is assigned to this member now.
    assigned: bool,
    /// Acknowledged through a mark, possibly not committed yet.
    acknowledged: Option<i64>,
    /// Committed to the group by this member during this assignment: the
    /// offset, and how far the outputs were durable then.
    committed: Option<(i64, i64)>,
    /// Records below this offset had their outputs made durable by the
    /// partition's earlier reader (the companion group's commit said so at
    /// assignment): they are replayed.
    replay_until: Option<i64>,
}

/// A mark: next offsets of the partitions it covers, when it was taken.
#[derive(Debug)]
struct Mark {
    token: u64,
    positions: Vec<(u32, i64)>,
}

/// A partition's position: (topic, partition, next offset).
pub(crate) type Position = (String, i32, i64);

/// What to commit for a partition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Commit {
    pub(crate) topic: String,
    pub(crate) partition: i32,
    /// Where the next reader starts.
    pub(crate) next: i64,
    /// The outputs of every record before this offset are durable (at least
    /// `next`).
    pub(crate) durable: i64,
}

/// What to do with a record the broker delivered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Admit {
    /// Handed out before by this member: skipped.
    Skip,
    /// Handed out, its outputs to be written.
    Hand,
    /// Handed out to rebuild state only: the partition's earlier reader
    /// made its outputs durable.
    Replay,
}
/// Why a mark could not be acknowledged.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct UnknownMark {
    pub(crate) mark: u64,
    pub(crate) last_taken: u64,
}

/// Offsets handed out, marked, acknowledged and committed, per partition.
#[derive(Debug, Default)]
pub(crate) struct Ledger {
    /// By stream id.
    partitions: Vec<Partition>,
    ids: HashMap<String, HashMap<i32, u32>>,
    /// Taken and not yet acknowledged, oldest first.
    marks: VecDeque<Mark>,
    last_taken: u64,
    /// Per stream, the offset of the first record of the oldest call still
    /// open: nothing at or past it is committed (see [`Ledger::hold`]).
    holds: HashMap<u32, i64>,
}

impl Ledger {
    /// The stream id of `topic`/`partition`, numbered in order of appearance.
    pub(crate) fn stream(&mut self, topic: &str, partition: i32) -> u32 {
        if let Some(&id) = self.ids.get(topic).and_then(|by_partition| by_partition.get(&partition))
        {
            return id;
        }
        let id = u32::try_from(self.partitions.len()).unwrap_or(u32::MAX);
        self.partitions.push(Partition {
            topic: topic.to_owned(),
            partition,
            handed_out: None,
            assigned: true,
            acknowledged: None,
            committed: None,
            replay_until: None,
        });
        self.ids.entry(topic.to_owned()).or_default().insert(partition, id);
        id
    }

    /// `topic/partition` of a stream, if the source has seen it.
    pub(crate) fn label(&self, stream: u32) -> Option<String> {
        let partition = self.partitions.get(stream as usize)?;
        Some(format!("{}/{}", partition.topic, partition.partition))
    }

    /// Whether and how the record at `offset` is handed out: not if this
    /// member handed it out before (the broker re-delivers from the last
    /// commit when a partition comes back); replayed below the durable
    /// offset of the commit it was assigned at. Notes it as handed out.
    pub(crate) fn admit(&mut self, stream: u32, offset: i64) -> Admit {
        let Some(partition) = self.partitions.get_mut(stream as usize) else { return Admit::Skip };
        if partition.handed_out.is_some_and(|next| offset < next) {
            return Admit::Skip;
        }
        partition.handed_out = Some(offset + 1);
        if partition.replay_until.is_some_and(|until| offset < until) {
            Admit::Replay
        } else {
            Admit::Hand
        }
    }

    /// At its assignment, `topic`/`partition` had its outputs durable up to
    /// `durable` (the companion group's commit): records below it that the
    /// group's commit makes this member read are replayed.
    pub(crate) fn durable_at(&mut self, topic: &str, partition: i32, durable: i64) {
        let id = self.stream(topic, partition);
        self.partitions[id as usize].replay_until = Some(durable);
    }

    /// A mark covering everything handed out from the assigned partitions.
    pub(crate) fn mark(&mut self) -> u64 {
        self.last_taken += 1;
        let positions = (0u32..)
            .zip(&self.partitions)
            .filter(|(_, partition)| partition.assigned)
            .filter_map(|(id, partition)| Some((id, partition.handed_out?)))
            .collect();
        self.marks.push_back(Mark { token: self.last_taken, positions });
        self.last_taken
    }

    /// `mark` (and every mark before it) is acknowledged: the positions to
    /// commit now, beyond what is committed. A mark acknowledged before
    /// yields nothing new.
    pub(crate) fn acknowledge(&mut self, mark: u64) -> Result<Vec<Commit>, UnknownMark> {
        if mark > self.last_taken {
            return Err(UnknownMark { mark, last_taken: self.last_taken });
        }
        while self.marks.front().is_some_and(|front| front.token <= mark) {
            let Some(done) = self.marks.pop_front() else { break };
            for (id, next) in done.positions {
                let partition = &mut self.partitions[id as usize];
                partition.acknowledged = partition.acknowledged.max(Some(next));
            }
        }
        Ok(self.uncommitted(|_| true))
    }

    /// The floors of the pipeline's open calls, replacing the last ones: per
    /// stream, the offset of the first record still needed to rebuild a call
    /// that has no output yet. Commits stop there, so a member that dies, or
    /// the next owner of a partition, reads those calls again from their
    /// start. A stream not listed has nothing open.
    pub(crate) fn hold(&mut self, floors: &[(u32, u64)]) {
        self.holds.clear();
        for &(stream, offset) in floors {
            self.holds.insert(stream, i64::try_from(offset).unwrap_or(i64::MAX));
        }
    }

    /// These commits are made.
    pub(crate) fn committed(&mut self, commits: &[Commit]) {
        for commit in commits {
            let id = self.ids.get(commit.topic.as_str()).and_then(|ids| ids.get(&commit.partition));
            if let Some(id) = id {
                let partition = &mut self.partitions[*id as usize];
                partition.committed = partition.committed.max(Some((commit.next, commit.durable)));
            }
        }
    }

    /// How far each partition this member has read was handed out: what a
    /// checkpoint keeps as this source's position. Partitions not assigned
    /// right now count too (a partition resumed from a checkpoint and not
    /// assigned yet, or between a revocation and its reassignment): the
    /// reducer state holds their records up to there, and a restart must
    /// skip those when they come again.
    pub(crate) fn handed_out(&self) -> Vec<Position> {
        self.partitions
            .iter()
            .filter_map(|p| Some((p.topic.clone(), p.partition, p.handed_out?)))
            .collect()
    }

    /// These released streams' state is gone: they were never read, as far
    /// as a checkpoint is concerned ([`handed_out`](Self::handed_out)).
    pub(crate) fn forget(&mut self, streams: &[u32]) {
        for &stream in streams {
            if let Some(partition) = self.partitions.get_mut(stream as usize) {
                if !partition.assigned {
                    partition.handed_out = None;
                }
            }
        }
    }

    /// Whether stream `stream` is a partition this member had and no longer
    /// has (revoked, or lost with its session).
    pub(crate) fn released(&self, stream: u32) -> bool {
        self.partitions.get(stream as usize).is_some_and(|p| !p.assigned)
    }

    /// Goes on from a checkpoint: each partition was handed out up to its
    /// next offset. The group re-delivers from its last commit, which a run
    /// with checkpoints never moves past its last checkpoint; what comes
    /// again below these offsets is skipped ([`admit`](Self::admit)), as for
    /// a partition that comes back. Partitions are numbered in this order.
    pub(crate) fn resume(&mut self, positions: &[Position]) {
        for (topic, partition, next) in positions {
            let id = self.stream(topic, *partition);
            let partition = &mut self.partitions[id as usize];
            partition.handed_out = partition.handed_out.max(Some(*next));
            // Until the group assigns it.
            partition.assigned = false;
        }
    }

    /// The partitions are (re)assigned to this member.
    pub(crate) fn assign<'a>(&mut self, assigned: impl IntoIterator<Item = (&'a str, i32)>) {
        for (topic, partition) in assigned {
            let id = self.stream(topic, partition);
            self.partitions[id as usize].assigned = true;
        }
    }

    /// The partitions are being taken away: what was acknowledged but not yet
    /// committed for them, to commit before they go. Marks still pending lose
    /// their positions in these partitions: those records were never
    /// acknowledged, and after the revocation another member may own the
    /// partition, whose commits must not be overwritten.
    pub(crate) fn revoke<'a>(
        &mut self,
        revoked: impl IntoIterator<Item = (&'a str, i32)>,
    ) -> Vec<Commit> {
        let mut ids = Vec::new();
        for (topic, partition) in revoked {
            if let Some(&id) = self.ids.get(topic).and_then(|ids| ids.get(&partition)) {
                ids.push(id);
            }
        }
        for mark in &mut self.marks {
            mark.positions.retain(|(id, _)| !ids.contains(id));
        }
        let last = self.uncommitted(|id| ids.contains(&id));
        for &id in &ids {
            let partition = &mut self.partitions[id as usize];
            partition.assigned = false;
            // A later owner commits its own progress; ours is history.
            partition.acknowledged = None;
            partition.committed = None;
            partition.replay_until = None;
        }
        last
    }

    /// Acknowledged positions of chosen streams, held at the open calls'
    /// floors, where they say more than the last commit (a further offset,
    /// or more outputs durable behind a held one).
    fn uncommitted(&self, chosen: impl Fn(u32) -> bool) -> Vec<Commit> {
        (0u32..)
            .zip(&self.partitions)
            .filter(|(id, _)| chosen(*id))
            .filter_map(|(id, partition)| {
                let acknowledged = partition.acknowledged?;
                let next = self.holds.get(&id).map_or(acknowledged, |&hold| hold.min(acknowledged));
                // What a replayed stretch of an earlier reader made durable
                // stays durable: a commit held further back keeps saying so.
                let durable = acknowledged.max(partition.replay_until.unwrap_or(0));
                let (committed, committed_durable) = partition.committed.unzip();
                (committed < Some(next) || committed_durable < Some(durable)).then(|| Commit {
                    topic: partition.topic.clone(),
                    partition: partition.partition,
                    next,
                    durable,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (topic, partition, next offset) of each commit.
    fn offsets(commits: &[Commit]) -> Vec<Position> {
        commits.iter().map(|c| (c.topic.clone(), c.partition, c.next)).collect()
    }

    fn hand_out(ledger: &mut Ledger, topic: &str, partition: i32, offsets: std::ops::Range<i64>) {
        let stream = ledger.stream(topic, partition);
        for offset in offsets {
            assert_eq!(ledger.admit(stream, offset), Admit::Hand);
        }
    }

    #[test]
    fn a_commit_covers_its_mark_and_no_more() {
        let mut ledger = Ledger::default();
        hand_out(&mut ledger, "t", 0, 0..3);
        let first = ledger.mark();
        hand_out(&mut ledger, "t", 0, 3..5);
        hand_out(&mut ledger, "t", 1, 0..2);
        let second = ledger.mark();
        assert_eq!(offsets(&ledger.acknowledge(first).unwrap()), vec![("t".into(), 0, 3)]);
        let commits = ledger.acknowledge(first).unwrap();
        ledger.committed(&commits);
        assert_eq!(offsets(&ledger.acknowledge(first).unwrap()), vec![]);
        assert_eq!(
            offsets(&ledger.acknowledge(second).unwrap()),
            vec![("t".into(), 0, 5), ("t".into(), 1, 2)]
        );
        assert_eq!(ledger.acknowledge(second + 1), Err(UnknownMark { mark: 3, last_taken: 2 }));
    }

    #[test]
    fn a_failed_commit_is_retried_by_the_next() {
        let mut ledger = Ledger::default();
        hand_out(&mut ledger, "t", 0, 0..3);
        let mark = ledger.mark();
        assert_eq!(offsets(&ledger.acknowledge(mark).unwrap()), vec![("t".into(), 0, 3)]);
        // Not committed: the next acknowledgement still carries it.
        let next = ledger.mark();
        assert_eq!(offsets(&ledger.acknowledge(next).unwrap()), vec![("t".into(), 0, 3)]);
    }

    #[test]
    fn revocation_commits_acknowledged_positions_and_drops_pending_ones() {
        let mut ledger = Ledger::default();
        hand_out(&mut ledger, "t", 0, 0..3);
        hand_out(&mut ledger, "t", 1, 0..3);
        let acknowledged = ledger.mark();
        assert_eq!(ledger.acknowledge(acknowledged).unwrap().len(), 2);
        hand_out(&mut ledger, "t", 0, 3..6);
        let pending = ledger.mark();
        // Partition 0 goes; its acknowledged 3 is committed, the pending 6 is not.
        assert_eq!(offsets(&ledger.revoke([("t", 0)])), vec![("t".into(), 0, 3)]);
        assert_eq!(offsets(&ledger.acknowledge(pending).unwrap()), vec![("t".into(), 1, 3)]);
        // Marks taken while it is away do not cover it.
        let away = ledger.mark();
        assert_eq!(offsets(&ledger.acknowledge(away).unwrap()), vec![("t".into(), 1, 3)]);
    }

    #[test]
    fn commits_stop_at_the_first_record_of_the_oldest_open_call() {
        let mut ledger = Ledger::default();
        hand_out(&mut ledger, "t", 0, 0..10);
        hand_out(&mut ledger, "t", 1, 0..10);
        let mark = ledger.mark();
        // A call that began at offset 4 of partition 0 has no record yet.
        ledger.hold(&[(0, 4)]);
        let positions = ledger.acknowledge(mark).unwrap();
        assert_eq!(offsets(&positions), vec![("t".into(), 0, 4), ("t".into(), 1, 10)]);
        // The outputs of partition 0 are durable further than its commit:
        // the next reader replays the records in between.
        assert_eq!(positions[0].durable, 10);
        ledger.committed(&positions);
        // Its record is written: the floor goes, the rest is committed.
        ledger.hold(&[]);
        assert_eq!(offsets(&ledger.acknowledge(mark).unwrap()), vec![("t".into(), 0, 10)]);
        // A revocation commits no further than the floor either.
        hand_out(&mut ledger, "t", 1, 10..20);
        let later = ledger.mark();
        ledger.acknowledge(later).unwrap();
        ledger.hold(&[(1, 12)]);
        assert_eq!(offsets(&ledger.revoke([("t", 1)])), vec![("t".into(), 1, 12)]);
    }

    #[test]
    fn a_resumed_member_skips_what_the_checkpoint_covers() {
        let mut first = Ledger::default();
        hand_out(&mut first, "t", 0, 0..7);
        hand_out(&mut first, "t", 1, 0..3);
        first.revoke([("t", 1)]);
        // A partition not assigned right now keeps its position: the state
        // holds its records up to there.
        let saved = first.handed_out();
        assert_eq!(saved, vec![("t".into(), 0, 7), ("t".into(), 1, 3)]);

        let mut second = Ledger::default();
        second.resume(&saved);
        assert_eq!(second.mark(), 1);
        assert_eq!(offsets(&second.acknowledge(1).unwrap()), vec![], "nothing assigned yet");
        second.assign([("t", 0), ("t", 1)]);
        let (zero, one) = (second.stream("t", 0), second.stream("t", 1));
        assert_eq!(zero, 0, "resumed partitions keep their numbers");
        // Re-delivered from an older commit: up to 7 and 3 were in the
        // checkpoint.
        assert!((2..7).all(|offset| second.admit(zero, offset) == Admit::Skip));
        assert_eq!(second.admit(zero, 7), Admit::Hand);
        assert!(second.admit(one, 2) == Admit::Skip);
        assert_eq!(second.admit(one, 3), Admit::Hand);
        // Forgotten once revoked (its state dropped), a partition is not
        // saved; an assigned one is never forgotten.
        let mut forgetting = Ledger::default();
        forgetting.resume(&saved);
        forgetting.assign([("t", 0)]);
        forgetting.forget(&[0, 1]);
        assert_eq!(forgetting.handed_out(), vec![("t".into(), 0, 7)]);
        // Saved again before partition 1 was ever assigned to the second
        // member: its position is still there.
        let mut third = Ledger::default();
        third.resume(&saved);
        assert_eq!(third.handed_out(), saved);
    }

    #[test]
    fn a_partition_coming_back_skips_what_this_member_handed_out() {
        let mut ledger = Ledger::default();
        hand_out(&mut ledger, "t", 0, 0..5);
        ledger.revoke([("t", 0)]);
        ledger.assign([("t", 0)]);
        let stream = ledger.stream("t", 0);
        // Re-delivered from the last commit (0): 0..5 were handed out already.
        assert!((0..5).all(|offset| ledger.admit(stream, offset) == Admit::Skip));
        assert_eq!(ledger.admit(stream, 5), Admit::Hand);
        let mark = ledger.mark();
        assert_eq!(offsets(&ledger.acknowledge(mark).unwrap()), vec![("t".into(), 0, 6)]);
        assert_eq!(ledger.label(stream).as_deref(), Some("t/0"));
        assert_eq!(ledger.label(stream + 1), None);
    }

    #[test]
    fn a_new_reader_replays_up_to_where_the_last_commit_says_outputs_are_durable() {
        let mut ledger = Ledger::default();
        // The group's commit is 4 (a call open from there); the outputs are
        // durable up to 10.
        ledger.durable_at("t", 0, 10);
        let stream = ledger.stream("t", 0);
        assert!((4..10).all(|offset| ledger.admit(stream, offset) == Admit::Replay));
        assert_eq!(ledger.admit(stream, 10), Admit::Hand);
        // Acknowledged to 7 with a call open from 5: the commit keeps saying
        // that outputs are durable up to 10, for whoever reads it next.
        let mark = ledger.mark();
        ledger.hold(&[(stream, 5)]);
        let commits = ledger.acknowledge(mark).unwrap();
        assert_eq!(offsets(&commits), vec![("t".into(), 0, 5)]);
        assert_eq!(commits[0].durable, 11);
    }
}
