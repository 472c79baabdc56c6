//! Taking back what a Kafka sink wrote after a checkpoint, without deleting
//! anything from the topic.
//!
//! A topic cannot be truncated, so the sink does the next best thing. Its
//! durable position is, per partition, an offset below which every message
//! it had made durable lies. When a restarted run rewinds the sink to the
//! position of its checkpoint, the sink reads what the topic holds past it:
//! what the crashed run wrote after the checkpoint. The restarted run, going
//! on from the checkpoint's state and input positions, writes the same
//! outputs again; each one found among those messages (same key, same value)
//! is not produced a second time. A consumer of the topic sees every output
//! once.
//!
//! Every message carries its writer's id in a header (`ctistream-writer`),
//! kept in the sink's position so a restarted run writes under the crashed
//! run's id. Other producers' messages past the position (another member of
//! the consumer group writing the same topic) are skipped by it. Outputs of
//! the restarted run that differ from the crashed run's (possible where the
//! reducer's result depends on the order partitions are read in; see
//! ARCHITECTURE.md) are produced, and the crashed run's versions stay on the
//! topic.
//!
//! The read-back does not stop at the high watermark the broker reports:
//! tansu reports the base offset of the last record batch plus one, short
//! of the batch's other records. It reads to that watermark at least, then
//! on until the partitions stay quiet for a moment.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Headers;
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};

use super::error::Error;

/// How long reading back what was written after a checkpoint may take.
const READ_BACK_LIMIT: Duration = Duration::from_secs(120);
/// How long the read-back goes on without a message once it reached every
/// partition's reported high watermark.
const QUIET: Duration = Duration::from_millis(500);
/// How long it goes on at most once past the reported watermarks (a topic
/// other producers keep writing to is never quiet).
const PAST_WATERMARKS: Duration = Duration::from_secs(5);
/// The header naming the sink that wrote a message.
pub(crate) const WRITER_HEADER: &str = "ctistream-writer";
/// Metadata and watermark requests.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Per partition, the offset below which every message a sink made durable
/// lies.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Ends(pub(crate) BTreeMap<i32, i64>);

/// A Kafka sink's durable position: its writer id and its ends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Position {
    pub(crate) writer: u64,
    pub(crate) ends: Ends,
}

impl Position {
    /// A `writer ID` line, then `partition offset` lines.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut text = format!("writer {:016x}\n", self.writer).into_bytes();
        text.extend(self.ends.encode());
        text
    }

    pub(crate) fn decode(bytes: &[u8]) -> Option<Position> {
        let text = std::str::from_utf8(bytes).ok()?;
        let (first, rest) = text.split_once('\n')?;
        let writer = u64::from_str_radix(first.strip_prefix("writer ")?, 16).ok()?;
        Some(Position { writer, ends: Ends::decode(rest.as_bytes())? })
    }
}

impl Ends {
    /// Raises partition `partition`'s end to `next` if that is further.
    pub(crate) fn reach(&mut self, partition: i32, next: i64) {
        let end = self.0.entry(partition).or_insert(next);
        *end = (*end).max(next);
    }

    /// `partition offset` lines.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut text = String::new();
        for (partition, next) in &self.0 {
            text.push_str(&format!("{partition} {next}\n"));
        }
        text.into_bytes()
    }

    pub(crate) fn decode(bytes: &[u8]) -> Option<Ends> {
        let mut ends = Ends::default();
        for line in std::str::from_utf8(bytes).ok()?.lines() {
            let (partition, next) = line.split_once(' ')?;
            ends.0.insert(partition.parse().ok()?, next.parse().ok()?);
        }
        Some(ends)
    }
}

/// A message's key and value.
type Content = (Box<[u8]>, Box<[u8]>);

/// Messages already on the topic, by key and value, with where each is
/// (partition, offset).
#[derive(Debug, Default)]
pub(crate) struct Written {
    messages: HashMap<Content, VecDeque<(i32, i64)>>,
    /// Where the messages not matched yet are, in offset order per
    /// partition: a position past one of them would lose it from the next
    /// read-back.
    places: BTreeSet<(i32, i64)>,
}

impl Written {
    fn add(&mut self, key: &[u8], value: &[u8], partition: i32, offset: i64) {
        self.messages.entry((key.into(), value.into())).or_default().push_back((partition, offset));
        self.places.insert((partition, offset));
    }

    /// Takes one message equal to `key`/`value` if there is one: where it is.
    pub(crate) fn take(&mut self, key: &[u8], value: &[u8]) -> Option<(i32, i64)> {
        if self.places.is_empty() {
            return None;
        }
        // A borrowed lookup: the map's keys are boxed slices.
        let lookup: Content = (key.into(), value.into());
        let places = self.messages.get_mut(&lookup)?;
        let place = places.pop_front()?;
        if places.is_empty() {
            self.messages.remove(&lookup);
        }
        self.places.remove(&place);
        Some(place)
    }

    /// Messages not matched yet.
    pub(crate) fn len(&self) -> usize {
        self.places.len()
    }

    /// `ends`, each partition's end held back to its first message not
    /// matched yet.
    ///
    /// The restarted run writes the crashed run's outputs again in its own
    /// order, and its new messages land after all of the crashed run's. A
    /// checkpoint taken while some of those are still to come must keep
    /// them in its read-back, or a second crash would produce them twice.
    pub(crate) fn hold_back(&self, ends: &Ends) -> Ends {
        let mut held = ends.clone();
        for (&partition, end) in &mut held.0 {
            if let Some(&(_, first)) =
                self.places.range((partition, i64::MIN)..).next().filter(|(p, _)| *p == partition)
            {
                *end = (*end).min(first);
            }
        }
        held
    }
}

/// The high watermark (the offset the next message will get) of every
/// partition of `topic`.
pub(crate) fn high_watermarks<C: rdkafka::client::ClientContext>(
    client: &rdkafka::client::Client<C>,
    topic: &str,
) -> Result<Ends, Error> {
    let what = |doing: &str| format!("topic {topic}: cannot {doing}");
    let metadata = client
        .fetch_metadata(Some(topic), REQUEST_TIMEOUT)
        .map_err(|e| Error::kafka(what("read its metadata"), e))?;
    let mut ends = Ends::default();
    for found in metadata.topics().iter().filter(|found| found.name() == topic) {
        for partition in found.partitions() {
            let (_, high) = client
                .fetch_watermarks(topic, partition.id(), REQUEST_TIMEOUT)
                .map_err(|e| Error::kafka(what("read its offsets"), e))?;
            ends.reach(partition.id(), high);
        }
    }
    Ok(ends)
}

/// Reads every message `writer` wrote to `topic` from `from` (per
/// partition; a partition not listed from its beginning) to its end.
pub(crate) fn read_after(
    config: &ClientConfig,
    topic: &str,
    from: &Ends,
    writer: u64,
) -> Result<Written, Error> {
    let failed = |e| Error::kafka(format!("topic {topic}: cannot read it back"), e);
    let mut config = config.clone();
    config
        .set("group.id", "ctistream-sink-rewind")
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false");
    let consumer: BaseConsumer = config.create().map_err(failed)?;
    let marks = high_watermarks(consumer.client(), topic)?;
    let mut assignment = TopicPartitionList::new();
    // Partitions whose reported high watermark is not reached yet: where
    // it is.
    let mut short: BTreeMap<i32, i64> = BTreeMap::new();
    for (&partition, &mark) in &marks.0 {
        let saved = from.0.get(&partition).copied();
        let start = saved.map_or(Offset::Beginning, Offset::Offset);
        assignment.add_partition_offset(topic, partition, start).map_err(failed)?;
        if saved.is_none_or(|start| start < mark) {
            short.insert(partition, mark);
        }
    }
    let mut written = Written::default();
    if marks.0.is_empty() {
        return Ok(written);
    }
    consumer.assign(&assignment).map_err(failed)?;
    let writer = writer_id(writer);
    let deadline = Instant::now() + READ_BACK_LIMIT;
    let mut last_message = Instant::now();
    let mut reached: Option<Instant> = None;
    loop {
        let now = Instant::now();
        if reached.is_none() && short.is_empty() {
            reached = Some(now);
        }
        match reached {
            Some(at) if now - last_message.max(at) >= QUIET || now - at >= PAST_WATERMARKS => {
                return Ok(written);
            }
            None if now > deadline => {
                return Err(Error::new(format!(
                    "topic {topic}: reading back what was written after the checkpoint took \
                     over {READ_BACK_LIMIT:?} ({} partitions unfinished)",
                    short.len()
                )));
            }
            _ => {}
        }
        let Some(message) = consumer.poll(Duration::from_millis(100)) else { continue };
        let message = message.map_err(failed)?;
        last_message = Instant::now();
        let (partition, offset) = (message.partition(), message.offset());
        if short.get(&partition).is_some_and(|&mark| offset + 1 >= mark) {
            short.remove(&partition);
        }
        let mine = message.headers().is_some_and(|headers| {
            headers.iter().any(|h| h.key == WRITER_HEADER && h.value == Some(&writer[..]))
        });
        if mine {
            let key = message.key().unwrap_or_default();
            written.add(key, message.payload().unwrap_or_default(), partition, offset);
        }
    }
}

/// The header value naming writer `id`.
pub(crate) fn writer_id(id: u64) -> [u8; 16] {
    let mut text = [0u8; 16];
    let hex = format!("{id:016x}");
    text.copy_from_slice(hex.as_bytes());
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ends_read_back_as_written() {
        let mut ends = Ends::default();
        ends.reach(2, 10);
        ends.reach(0, 4);
        ends.reach(2, 7);
        assert_eq!(Ends::decode(&ends.encode()), Some(ends.clone()));
        assert_eq!(ends.0.get(&2), Some(&10), "an end never goes back");
        for bad in [&b"x"[..], b"1", b"1 x", b"\xff"] {
            assert_eq!(Ends::decode(bad), None);
        }
        let position = Position { writer: 0xfeed_0000_0000_0001, ends: ends.clone() };
        assert_eq!(Position::decode(&position.encode()), Some(position));
        for bad in [&b"0 4\n"[..], b"writer zz\n0 4\n", b"writer 1\nx"] {
            assert_eq!(Position::decode(bad), None);
        }
    }

    #[test]
    fn each_written_message_is_matched_once() {
        let mut written = Written::default();
        written.add(b"k", b"v", 0, 5);
        written.add(b"k", b"v", 1, 9);
        written.add(b"k", b"w", 0, 6);
        assert_eq!(written.take(b"k", b"v"), Some((0, 5)));
        assert_eq!(written.take(b"k", b"v"), Some((1, 9)));
        assert_eq!(written.take(b"k", b"v"), None);
        assert_eq!(written.take(b"j", b"w"), None);
        assert_eq!(written.len(), 1);
    }

    #[test]
    fn a_position_stays_before_every_message_not_matched_yet() {
        let mut written = Written::default();
        written.add(b"a", b"1", 0, 5);
        written.add(b"b", b"2", 0, 6);
        written.add(b"c", b"3", 1, 9);
        let mut ends = Ends::default();
        ends.reach(0, 12);
        ends.reach(1, 12);
        ends.reach(2, 12);
        let held = |written: &Written| written.hold_back(&ends).0.into_iter().collect::<Vec<_>>();
        assert_eq!(held(&written), [(0, 5), (1, 9), (2, 12)]);
        written.take(b"a", b"1");
        assert_eq!(held(&written), [(0, 6), (1, 9), (2, 12)]);
        written.take(b"c", b"3");
        written.take(b"b", b"2");
        assert_eq!(held(&written), [(0, 12), (1, 12), (2, 12)]);
    }
}
