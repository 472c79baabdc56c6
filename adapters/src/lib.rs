//! ctistream-adapters: sources and sinks at both ends of the ctistream pipeline.
//!
//! Each transport is one cargo feature:
//!
//! - `file` (default): [`file::FileSource`] opens a path (or `-` for standard
//!   input) and frames it with [`ctistream_core::FrameReader`].
//! - `socket`: `socket::TcpSource`, a TCP server that clients send records
//!   to (lines or length-prefixed frames, one stream per connection), and
//!   `socket::TcpSink`, a TCP server that streams the NDJSON output to every
//!   connected subscriber. Both are built from their configs through
//!   [`ctistream_core::connect::Connect`] and run on threads, without an async
//!   runtime.

#![deny(missing_docs)]
// One `unsafe` call, memory-mapping input files, lives in `file::map`; it
// carries its safety argument there.
#![deny(unsafe_code)]

#[cfg(feature = "file")]
pub mod file;
#[cfg(feature = "socket")]
pub mod socket;
