//! Kafka: a consumer-group source and an idempotent producer sink, on
//! librdkafka (the `kafka` feature).
//!
//! - [`KafkaSourceConfig`] connects to a [`KafkaSource`]: a member of a
//!   consumer group (default [`DEFAULT_GROUP`]) reading topics. Each
//!   partition is a stream labelled `topic/partition`, and a record's position
//!   is its offset, so origins read `voice-callthread/3@1207`. Offsets are
//!   committed only through the mark/commit protocol of
//!   [`Source`](ctistream_core::connect::Source); see [`KafkaSource`] for
//!   rebalances.
//! - [`KafkaSinkConfig`] connects to a [`KafkaSink`]: keyed messages, one per
//!   output line, produced idempotently with `acks=all`; `flush` returns once
//!   the brokers have every message, or reports the ones they do not.
//!
//! Known limit: a topic deleted and created again under the same name while a
//! client runs gets a new topic id, which librdkafka 2.12's metadata cache
//! mishandles (confluentinc/librdkafka#4964; it can crash the process).
//! Restart sources and sinks after recreating a topic.
//!
//! ```no_run
//! use ctistream_adapters::kafka::{KafkaSinkConfig, KafkaSourceConfig};
//! use ctistream_core::connect::{Connect, Sink, Source, drain};
//!
//! let mut sink = KafkaSinkConfig::new("127.0.0.1:9092", "agent-stats").connect()?;
//! sink.write(b"t1:agent7", b"{\"agent\":\"agent7\"}\n")?;
//! sink.flush()?;
//!
//! let mut source = KafkaSourceConfig::new("127.0.0.1:9092", ["voice-callthread"]).connect()?;
//! let _records = drain(&mut source, std::time::Duration::from_secs(1))?;
//! let mark = source.mark();
//! // … once every output of those records is flushed:
//! source.commit(mark)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod chunk;
mod config;
mod error;
mod health;
mod ledger;
mod rewind;
mod sink;
mod source;

pub use config::{DEFAULT_GROUP, KafkaSinkConfig, KafkaSourceConfig, RESERVED_GROUP};
pub use error::Error;
pub use sink::KafkaSink;
pub use source::KafkaSource;
