//! The Kafka sink: keyed messages from an idempotent producer, acknowledged
//! by `flush`.
//!
//! Every [`Sink::write`] becomes one message: the key as given, the line
//! without its newline as the value. librdkafka batches and sends them in the
//! background; its delivery reports are counted here. [`Sink::flush`] waits
//! until no message is in flight and fails if any delivery failed since the
//! previous flush, so a successful flush means the brokers hold everything
//! written before it (with `acks=all`, every in-sync replica does).
//!
//! When the broker is unreachable librdkafka keeps retrying until
//! `message.timeout.ms` (librdkafka's default is five minutes); a flush waits
//! that long at most and then reports the expired messages.

use std::io;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use ctistream_core::connect::{Connect, Health, Sink};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::DeliveryResult;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer, ProducerContext};
use rdkafka::{ClientContext, Statistics};

use super::config::KafkaSinkConfig;
use super::error::Error;
use super::health::SharedHealth;

/// How long `write` lets librdkafka drain a full queue before trying again.
const QUEUE_FULL_WAIT: Duration = Duration::from_millis(50);
/// How often a waiting `flush` looks up from librdkafka.
const FLUSH_STEP: Duration = Duration::from_millis(200);

/// A running Kafka sink (see the [module docs](self)).
pub struct KafkaSink {
    name: String,
    topic: String,
    producer: BaseProducer<DeliveryContext>,
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
        let name = self.name();
        let context = DeliveryContext {
            failures: Mutex::new(Failures::default()),
            health: SharedHealth::new(),
        };
        let producer = self
            .client_config()?
            .create_with_context(context)
            .map_err(|e| Error::kafka(format!("{name}: cannot create the producer"), e))?;
        Ok(KafkaSink { name, topic: self.topic.clone(), producer })
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
        let mut record = BaseRecord::to(&self.topic).key(key).payload(value);
        loop {
            match self.producer.send(record) {
                Ok(()) => {
                    // Serve delivery reports and callbacks as we go.
                    self.producer.poll(Duration::ZERO);
                    return Ok(());
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    self.producer.poll(QUEUE_FULL_WAIT);
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
        // Every message in flight is delivered or fails within
        // message.timeout.ms, so this ends.
        while let Err(error) = self.producer.flush(FLUSH_STEP) {
            if error != KafkaError::Flush(RDKafkaErrorCode::OperationTimedOut) {
                return Err(Error::kafka(format!("{}: flush failed", self.name), error).into());
            }
        }
        let failures = std::mem::take(&mut *self.producer.context().failures());
        match failures.first {
            None => Ok(()),
            Some(first) => Err(Error::kafka(
                format!(
                    "{}: {} message(s) not delivered since the last flush; the first",
                    self.name, failures.count
                ),
                first,
            )
            .into()),
        }
    }

    fn health(&self) -> Health {
        // Serve pending callbacks so the answer is current.
        self.producer.poll(Duration::ZERO);
        self.producer.context().health.get()
    }

    fn close(&mut self) -> io::Result<()> {
        self.flush()
    }
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
    health: SharedHealth,
}

impl DeliveryContext {
    fn failures(&self) -> MutexGuard<'_, Failures> {
        // Two plain counters stay valid whatever panicked.
        self.failures.lock().unwrap_or_else(PoisonError::into_inner)
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
        if let Err((error, _)) = result {
            self.health.degrade(format!("delivery failed: {error}"));
            let mut failures = self.failures();
            failures.count += 1;
            failures.first.get_or_insert_with(|| error.clone());
        }
    }
}
