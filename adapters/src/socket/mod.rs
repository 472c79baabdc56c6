//! TCP sockets at both ends of the pipeline, on `std::net` and threads.
//!
//! - [`TcpSourceConfig`] / [`TcpSource`]: a record server. Clients connect and
//!   send records, as lines (`KEY<TAB>PAYLOAD` or bare JSON) or as 4-byte
//!   big-endian length-prefixed frames, framed by core's
//!   [`FrameReader`](ctistream_core::FrameReader). Each connection has a reader
//!   thread; records reach the driver through a bounded channel, so a driver
//!   that falls behind makes readers wait and TCP push back on clients —
//!   nothing is dropped. A client that sends what cannot be framed, too much,
//!   nothing for too long, or the wrong token loses its connection, alone.
//! - [`TcpSinkConfig`] / [`TcpSink`]: an NDJSON server. Subscribers connect
//!   and receive every output line from then on; one that cannot keep up is
//!   disconnected instead of slowing the pipeline.
//!
//! TCP has no replay, so the source's acknowledgement is only bookkeeping
//! (see [`TcpSource`]), and the sink's durability is the kernel's send buffer
//! (see [`TcpSink`]).
//!
//! # Examples
//!
//! ```
//! use std::io::Write;
//! use std::net::TcpStream;
//! use std::time::Duration;
//!
//! use ctistream_adapters::socket::TcpSourceConfig;
//! use ctistream_core::Framing;
//! use ctistream_core::connect::{CollectIntake, Connect, Source};
//!
//! let mut source = TcpSourceConfig::new("127.0.0.1:0", Framing::Lines).connect()?;
//! let mut client = TcpStream::connect(source.local_addr())?;
//! client.write_all(b"t1:c1\t{\"id\":\"EventRinging\"}\n")?;
//!
//! let mut intake = CollectIntake::default();
//! while intake.records.is_empty() {
//!     source.poll(Duration::from_millis(50), &mut intake)?;
//! }
//! let record = &intake.records[0];
//! assert_eq!(record.key.as_deref(), Some(&b"t1:c1"[..]));
//! let origin = source.stream_label(record.stream).origin(record.position);
//! assert_eq!(origin, format!("{}:1", client.local_addr()?));
//! source.close()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod connection;
mod labels;
mod listener;
mod sink;
mod source;
mod subscriber;

pub use sink::{TcpSink, TcpSinkConfig, TcpSinkStats};
pub use source::{TcpSource, TcpSourceConfig, TcpSourceStats};
