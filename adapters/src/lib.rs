//! ctistream-adapters: sources and sinks at both ends of the ctistream pipeline.
//!
//! Each transport is one cargo feature. This release has the `file` source:
//! [`file::FileSource`] opens a path (or `-` for standard input) and frames it
//! with [`ctistream_core::FrameReader`]. The opt-in `kafka` feature adds
//! `kafka::KafkaSource` (a consumer-group member committing only acknowledged
//! offsets) and `kafka::KafkaSink` (an idempotent producer whose flush is the
//! brokers' acknowledgement).

#![deny(missing_docs)]
// One `unsafe` call, memory-mapping input files, lives in `file::map`; it
// carries its safety argument there.
#![deny(unsafe_code)]

#[cfg(feature = "file")]
pub mod file;
#[cfg(feature = "kafka")]
pub mod kafka;
