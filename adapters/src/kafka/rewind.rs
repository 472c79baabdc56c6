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
//! Other producers' messages past the position are read too and simply never
//! matched. Outputs of the restarted run that differ from the crashed run's
//! (possible where the reducer's result depends on the order partitions are
//! read in; see ARCHITECTURE.md) are produced, and the crashed run's versions
//! stay on the topic.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};

use super::error::Error;

/// How long reading back what was written after a checkpoint may take.
const READ_BACK_LIMIT: Duration = Duration::from_secs(120);
/// Metadata and watermark requests.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Per partition, the offset below which every message a sink made durable
/// lies.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Ends(pub(crate) BTreeMap<i32, i64>);

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
    left: usize,
}

impl Written {
    fn add(&mut self, key: &[u8], value: &[u8], partition: i32, offset: i64) {
        self.messages.entry((key.into(), value.into())).or_default().push_back((partition, offset));
        self.left += 1;
    }

    /// Takes one message equal to `key`/`value` if there is one: where it is.
    pub(crate) fn take(&mut self, key: &[u8], value: &[u8]) -> Option<(i32, i64)> {
        if self.left == 0 {
            return None;
        }
        // A borrowed lookup: the map's keys are boxed slices.
        let lookup: Content = (key.into(), value.into());
        let places = self.messages.get_mut(&lookup)?;
        let place = places.pop_front()?;
        if places.is_empty() {
            self.messages.remove(&lookup);
        }
        self.left -= 1;
        Some(place)
    }

    /// Messages not matched yet.
    pub(crate) fn len(&self) -> usize {
        self.left
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

/// Reads every message of `topic` from `from` (per partition; a partition
/// not listed from its beginning) to the end it has now.
pub(crate) fn read_after(
    config: &ClientConfig,
    topic: &str,
    from: &Ends,
) -> Result<Written, Error> {
    let mut config = config.clone();
    config
        .set("group.id", "ctistream-sink-rewind")
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false");
    let consumer: BaseConsumer = config
        .create()
        .map_err(|e| Error::kafka(format!("topic {topic}: cannot read it back"), e))?;
    let ends = high_watermarks(consumer.client(), topic)?;
    let mut assignment = TopicPartitionList::new();
    // Per partition, the next offset to read and where to stop.
    let mut todo: BTreeMap<i32, (i64, i64)> = BTreeMap::new();
    for (&partition, &end) in &ends.0 {
        let start = match from.0.get(&partition) {
            Some(&start) => start,
            None => {
                let (low, _) = consumer
                    .fetch_watermarks(topic, partition, REQUEST_TIMEOUT)
                    .map_err(|e| Error::kafka(format!("topic {topic}: cannot read offsets"), e))?;
                low
            }
        };
        if start < end {
            assignment
                .add_partition_offset(topic, partition, Offset::Offset(start))
                .map_err(|e| Error::kafka(format!("topic {topic}: cannot read it back"), e))?;
            todo.insert(partition, (start, end));
        }
    }
    let mut written = Written::default();
    if todo.is_empty() {
        return Ok(written);
    }
    consumer
        .assign(&assignment)
        .map_err(|e| Error::kafka(format!("topic {topic}: cannot read it back"), e))?;
    let deadline = Instant::now() + READ_BACK_LIMIT;
    while !todo.is_empty() {
        if Instant::now() > deadline {
            return Err(Error::new(format!(
                "topic {topic}: reading back what was written after the checkpoint took over \
                 {READ_BACK_LIMIT:?} ({} partitions unfinished)",
                todo.len()
            )));
        }
        let Some(message) = consumer.poll(Duration::from_millis(200)) else { continue };
        let message =
            message.map_err(|e| Error::kafka(format!("topic {topic}: cannot read it back"), e))?;
        let (partition, offset) = (message.partition(), message.offset());
        let Some(&(_, end)) = todo.get(&partition) else { continue };
        if offset < end {
            let key = message.key().unwrap_or_default();
            written.add(key, message.payload().unwrap_or_default(), partition, offset);
        }
        if offset + 1 >= end {
            todo.remove(&partition);
        }
    }
    Ok(written)
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
}
