//! The Kafka sink: keyed messages from an idempotent producer.

use std::io;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use ctistream_core::connect::{Connect, Health, Sink};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{DeliveryResult, Header, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer, ProducerContext};
use rdkafka::{ClientConfig, ClientContext, Message, Statistics};

use super::config::KafkaSinkConfig;
use super::error::Error;
use super::health::SharedHealth;
use super::rewind::{
    Ends, Position, WRITER_HEADER, Written, high_watermarks, read_after, writer_id,
};

/// How long `write` lets librdkafka drain a full queue before trying again.
const QUEUE_FULL_WAIT: Duration = Duration::from_millis(50);
/// How often a waiting `flush` looks up from librdkafka.
const FLUSH_STEP: Duration = Duration::from_millis(200);

/// The Kafka sink: keyed messages from an idempotent producer, acknowledged
/// by `flush`.
///
/// Every [`Sink::write`] becomes one message: the key as given, the line
/// without its newline as the value. librdkafka batches and sends them in the
/// background; its delivery reports are counted here. [`Sink::flush`] waits
/// until no message is in flight and fails if any delivery failed since the
/// previous flush, so a successful flush means the brokers hold everything
/// written before it (with `acks=all`, every in-sync replica does).
///
/// When the broker is unreachable librdkafka keeps retrying until
/// `message.timeout.ms` (librdkafka's default is five minutes); a flush waits
/// that long at most and then reports the expired messages.
///
/// Its durable position ([`Sink::durable_position`]) is, per partition, an
/// offset below which everything it made durable lies; rewound to one
/// ([`Sink::rewind_to`]) after a crash, it does not produce again what the
/// crashed run wrote past it (see the `rewind` module).
///
/// A failed flush also retires the producer, and the next write starts a new
/// one. Nothing acknowledged is lost by that (the old producer has nothing in
/// flight), and it is how the sink gets past an idempotent producer that
/// cannot go on: one whose producer id the cluster no longer knows (a broker
/// that lost its state keeps answering "unknown producer id", and librdkafka
/// retries that until the messages expire), or one that hit a fatal error.
pub struct KafkaSink {
    name: String,
    topic: String,
    config: ClientConfig,
    /// `None` after a failed flush, until the next write.
    producer: Option<BaseProducer<DeliveryContext>>,
    /// Why the last flush failed, for `health` while there is no producer.
    last_failure: Option<String>,
    /// The config of the consumer that reads the topic back on a rewind.
    reader: ClientConfig,
    /// Per partition, where what this sink delivered ends (from delivery
    /// reports, shared with each producer's context).
    ends: Arc<Mutex<Ends>>,
    /// Whether `ends` covers every partition: the topic's high watermarks
    /// are read once, at the first successful flush (or come from a rewind).
    seeded: bool,
    /// What a crashed run wrote after the checkpoint this sink was rewound
    /// to, not yet written again by this run.
    written: Written,
    /// This sink's id, in a header of every message it writes: new for a
    /// fresh start, the crashed run's after a rewind.
    writer: u64,
    /// `writer` as the header's value.
    writer_header: [u8; 16],
}

impl std::fmt::Debug for KafkaSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaSink").field("name", &self.name).finish_non_exhaustive()
    }
}

impl Connect for KafkaSinkConfig {
    type Running = KafkaSink;

    /// Creates the producer; it connects in the background.
    ///
    /// # Errors
    /// An invalid config (no topic, a property librdkafka does not know).
    fn connect(&self) -> io::Result<KafkaSink> {
        let writer = fresh_writer_id();
        let mut sink = KafkaSink {
            name: self.name(),
            topic: self.topic.clone(),
            config: self.client_config()?,
            producer: None,
            last_failure: None,
            reader: self.reader_config(),
            ends: Arc::default(),
            seeded: false,
            written: Written::default(),
            writer,
            writer_header: writer_id(writer),
        };
        sink.producer()?;
        Ok(sink)
    }
}

impl KafkaSink {
    /// The producer, created if the last one was retired.
    fn producer(&mut self) -> io::Result<&BaseProducer<DeliveryContext>> {
        if self.producer.is_none() {
            let context = DeliveryContext {
                failures: Mutex::new(Failures::default()),
                failing: Mutex::new(None),
                health: SharedHealth::new(),
                ends: Arc::clone(&self.ends),
            };
            let producer = self.config.create_with_context(context).map_err(|e| {
                Error::kafka(format!("{}: cannot create the producer", self.name), e)
            })?;
            self.producer = Some(producer);
        }
        Ok(self.producer.as_ref().expect("created above"))
    }

    fn ends(&self) -> MutexGuard<'_, Ends> {
        self.ends.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Sink for KafkaSink {
    fn name(&self) -> &str {
        &self.name
    }

    /// Produces one message; blocks while librdkafka's queue is full (that is
    /// the backpressure on the sink's thread).
    fn write(&mut self, key: &[u8], line: &[u8]) -> io::Result<()> {
        let value = line.strip_suffix(b"\n").unwrap_or(line);
        // Written by the run that crashed after the checkpoint: once is enough.
        if let Some((partition, offset)) = self.written.take(key, value) {
            self.ends().reach(partition, offset + 1);
            return Ok(());
        }
        self.producer()?;
        let producer = self.producer.as_ref().expect("created above");
        // librdkafka takes the headers with the message and frees them after
        // delivery (it allocates its message too), so they cannot be reused.
        let headers = OwnedHeaders::new_with_capacity(1)
            .insert(Header { key: WRITER_HEADER, value: Some(&self.writer_header[..]) });
        let mut record = BaseRecord::to(&self.topic).key(key).payload(value).headers(headers);
        loop {
            match producer.send(record) {
                Ok(()) => {
                    // Serve delivery reports and callbacks as we go.
                    producer.poll(Duration::ZERO);
                    return Ok(());
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    producer.poll(QUEUE_FULL_WAIT);
                    record = back;
                }
                Err((error, _)) => {
                    return Err(
                        Error::kafka(format!("{}: cannot produce", self.name), error).into()
                    );
                }
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        let Some(producer) = &self.producer else { return Ok(()) };
        // Every message in flight is delivered or fails within
        // message.timeout.ms, so this ends.
        while let Err(error) = producer.flush(FLUSH_STEP) {
            if error != KafkaError::Flush(RDKafkaErrorCode::OperationTimedOut) {
                return Err(Error::kafka(format!("{}: flush failed", self.name), error).into());
            }
        }
        let failures = std::mem::take(&mut *producer.context().failures());
        let Some(first) = failures.first else {
            self.last_failure = None;
            if !self.seeded {
                // Partitions this sink has not written to yet end at their
                // high watermark; unknown until the brokers answer.
                if let Ok(marks) = high_watermarks(producer.client(), &self.topic) {
                    let mut ends = self.ends();
                    for (partition, high) in marks.0 {
                        ends.reach(partition, high);
                    }
                    drop(ends);
                    self.seeded = true;
                }
            }
            return Ok(());
        };
        let error = Error::kafka(
            format!(
                "{}: {} message(s) not delivered since the last flush; the first",
                self.name, failures.count
            ),
            first,
        );
        self.last_failure = Some(error.to_string());
        // Nothing is in flight: retiring the producer loses nothing, and a
        // new one gets a new producer id (see the module docs).
        self.producer = None;
        Err(error.into())
    }

    /// Per partition, where what this sink made durable ends, held back
    /// to the first message a crashed run wrote that this run has not
    /// written again yet. Partitions it could not learn the end of yet are
    /// left out (a rewind reads them from their beginning).
    fn durable_position(&self) -> Option<Vec<u8>> {
        let ends = self.written.hold_back(&self.ends());
        Some(Position { writer: self.writer, ends }.encode())
    }

    /// Reads back the messages the topic holds past `saved` that carry the
    /// saved writer id (what the crashed run wrote after its checkpoint);
    /// the outputs this run writes again that are among them are not
    /// produced a second time.
    fn rewind_to(&mut self, saved: &[u8]) -> io::Result<()> {
        let from = Position::decode(saved)
            .ok_or_else(|| Error::new(format!("{}: not a Kafka sink position", self.name)))?;
        self.written = read_after(&self.reader, &self.topic, &from.ends, from.writer)?;
        *self.ends() = from.ends;
        // Written again under the crashed run's id, so a second crash's
        // read-back finds these messages too.
        self.writer = from.writer;
        self.writer_header = writer_id(from.writer);
        self.seeded = true;
        if self.written.len() > 0 {
            eprintln!(
                "ctistream: sink {}: {} message(s) written after the checkpoint are not \
                 produced again",
                self.name,
                self.written.len()
            );
        }
        Ok(())
    }

    fn health(&self) -> Health {
        let Some(producer) = &self.producer else {
            let why = self.last_failure.clone().unwrap_or_else(|| "no producer".to_owned());
            return Health::Degraded(why);
        };
        // Serve pending callbacks so the answer is current.
        producer.poll(Duration::ZERO);
        let context = producer.context();
        match (context.health.get(), context.failing().clone()) {
            (Health::Up, Some(why)) => Health::Degraded(why),
            (health, _) => health,
        }
    }

    fn close(&mut self) -> io::Result<()> {
        let flushed = self.flush();
        self.producer = None;
        flushed
    }
}

/// A writer id no other sink is likely to have: the clock and the process
/// id through std's randomly keyed hasher.
fn fresh_writer_id() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    hasher.write_u128(now.map_or(0, |since| since.as_nanos()));
    hasher.finish()
}

/// Delivery failures since the last flush.
#[derive(Debug, Default)]
struct Failures {
    count: u64,
    first: Option<KafkaError>,
}

/// The producer's callbacks: delivery reports, errors and statistics.
struct DeliveryContext {
    failures: Mutex<Failures>,
    /// The last delivery failed (why); cleared by a successful delivery. A
    /// connected broker that refuses every message is not healthy.
    failing: Mutex<Option<String>>,
    health: SharedHealth,
    /// The sink's delivered ends.
    ends: Arc<Mutex<Ends>>,
}

impl DeliveryContext {
    fn failures(&self) -> MutexGuard<'_, Failures> {
        // Plain values stay valid whatever panicked.
        self.failures.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn failing(&self) -> MutexGuard<'_, Option<String>> {
        self.failing.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl ClientContext for DeliveryContext {
    fn stats(&self, statistics: Statistics) {
        self.health.on_statistics(&statistics);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        self.health.on_error(&error, reason);
    }
}

impl ProducerContext for DeliveryContext {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        match result {
            Ok(message) => {
                *self.failing() = None;
                let mut ends = self.ends.lock().unwrap_or_else(PoisonError::into_inner);
                ends.reach(message.partition(), message.offset() + 1);
            }
            Err((error, _)) => {
                *self.failing() = Some(format!("delivery failed: {error}"));
                let mut failures = self.failures();
                failures.count += 1;
                failures.first.get_or_insert_with(|| error.clone());
            }
        }
    }
}
