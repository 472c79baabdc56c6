//! ctistream-adapters: sources and sinks at both ends of the ctistream pipeline.
//!
//! Each transport is one cargo feature (the `ctistream` binary enables all):
//!
//! - `file` (default): [`file::FileSource`] opens a path (or `-` for standard
//!   input) once and frames it with [`ctistream_core::FrameReader`]
//!   (`ctistream reduce`); [`file::FileTail`], from a [`file::FileTailConfig`],
//!   is a pipeline [`Source`](ctistream_core::connect::Source) that reads a
//!   file to its end or follows it through growth and rotation;
//!   [`file::FileSink`], from a [`file::FileSinkConfig`], is a pipeline
//!   [`Sink`](ctistream_core::connect::Sink) appending NDJSON lines, with
//!   fsync on flush and size-based rotation.
//! - `socket`: `socket::TcpSource`, a TCP server that clients send records
//!   to (lines or length-prefixed frames, one stream per connection), and
//!   `socket::TcpSink`, a TCP server that streams the NDJSON output to every
//!   connected subscriber. Both run on threads, without an async runtime.
//! - `kafka`: `kafka::KafkaSource`, a consumer group member whose offsets are
//!   committed only as far as the outputs are durable, and `kafka::KafkaSink`,
//!   an idempotent keyed producer (librdkafka, built from its bundled source).

#![deny(missing_docs)]
// One `unsafe` call, memory-mapping input files, lives in `file::map`; it
// carries its safety argument there.
#![deny(unsafe_code)]

#[cfg(feature = "file")]
pub mod file;
#[cfg(feature = "kafka")]
pub mod kafka;
#[cfg(feature = "socket")]
pub mod socket;
