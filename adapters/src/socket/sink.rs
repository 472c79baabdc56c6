//! The NDJSON server: subscribers connect and receive the output stream.

use std::io;
use std::mem;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use ctistream_core::connect::{Connect, Health, Sink};

use super::listener::{self, StopFlag};
use super::subscriber::{Chunk, Reason, Shared, Subscriber};

/// Lines are gathered into chunks of about this size before they are queued
/// to subscribers (or less, for a small buffer limit; see [`chunk_size`]).
const CHUNK: usize = 64 * 1024;

/// The NDJSON server's configuration.
///
/// # Examples
///
/// ```
/// use ctistream_adapters::socket::TcpSinkConfig;
/// use ctistream_core::connect::{Connect, Sink};
///
/// let mut sink = TcpSinkConfig::new("127.0.0.1:0").connect()?;
/// sink.write(b"t1:a1", b"{\"agent\":\"a1\"}\n")?; // nobody is subscribed: dropped
/// sink.flush()?;
/// assert_eq!(sink.subscribers(), 0);
/// sink.close()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TcpSinkConfig {
    /// The address to listen on (port 0 picks a free port).
    pub listen: String,
    /// How many subscribers may be connected at once (default 64); more are
    /// closed as soon as they are accepted.
    pub max_subscribers: usize,
    /// How many bytes may wait for one subscriber (default 8 MiB). A
    /// subscriber that falls further behind is disconnected. Bytes count as
    /// waiting until its writer thread has handed them to the kernel, so size
    /// this well above the output written between two flushes: a burst that
    /// outruns the writer thread's scheduling must not look like a slow reader.
    pub subscriber_buffer: usize,
    /// How long a flush waits for a subscriber to take what was written
    /// (default 1 s); one that has not by then is disconnected as slow.
    pub flush_timeout: Duration,
}

impl TcpSinkConfig {
    /// A config listening on `listen` with the defaults.
    pub fn new(listen: impl Into<String>) -> TcpSinkConfig {
        TcpSinkConfig {
            listen: listen.into(),
            max_subscribers: 64,
            subscriber_buffer: 8 << 20,
            flush_timeout: Duration::from_secs(1),
        }
    }

    /// Checks the settings that binding would not.
    ///
    /// # Errors
    /// `InvalidInput` naming the setting at fault.
    pub fn validate(&self) -> io::Result<()> {
        if self.max_subscribers == 0 || self.subscriber_buffer == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "tcp sink: max_subscribers and subscriber_buffer must be at least 1",
            ));
        }
        Ok(())
    }
}

impl Connect for TcpSinkConfig {
    type Running = TcpSink;

    /// Validates the config, binds the address and starts accepting.
    fn connect(&self) -> io::Result<TcpSink> {
        self.validate()?;
        let listener = listener::bind("tcp sink", &self.listen)?;
        let local_addr = listener.local_addr()?;
        let stop = StopFlag::default();
        let shared = Arc::new(Shared::default());
        let newcomers = Arc::new(Mutex::new(Vec::new()));
        let acceptor = {
            let (stop, shared, newcomers) =
                (stop.clone(), Arc::clone(&shared), Arc::clone(&newcomers));
            let cap = self.max_subscribers as u64;
            thread::Builder::new()
                .name(format!("tcp-sink-accept-{}", local_addr.port()))
                .spawn(move || accept_subscribers(&listener, &stop, &shared, &newcomers, cap))?
        };
        Ok(TcpSink {
            name: format!("tcp://{local_addr}"),
            local_addr,
            limit: self.subscriber_buffer as u64,
            chunk_size: chunk_size(self.subscriber_buffer),
            flush_timeout: self.flush_timeout,
            stop,
            shared,
            newcomers,
            subscribers: Vec::new(),
            pending: BytesMut::new(),
            pending_lines: 0,
            lines_written: 0,
            acceptor: Some(acceptor),
            retired: Vec::new(),
        })
    }
}

/// Chunks are at most half the buffer limit, so a subscriber that is one
/// chunk behind is not yet slow.
fn chunk_size(limit: usize) -> usize {
    (limit / 2).clamp(1, CHUNK)
}

/// Subscribers accepted by the acceptor and not yet taken in by the sink.
type Newcomers = Arc<Mutex<Vec<Subscriber>>>;

/// The accepting thread: starts a writer for each subscriber under the cap.
fn accept_subscribers(
    listener: &TcpListener,
    stop: &StopFlag,
    shared: &Arc<Shared>,
    newcomers: &Newcomers,
    cap: u64,
) {
    listener::accept_until(listener, stop, |socket: TcpStream, _peer: SocketAddr| {
        if Shared::get(&shared.connected) >= cap {
            Shared::add(&shared.refused_over_cap, 1);
            return; // dropping the socket closes it
        }
        if let Ok(subscriber) = Subscriber::start(socket, shared) {
            Shared::add(&shared.connected, 1);
            Shared::add(&shared.accepted, 1);
            newcomers.lock().unwrap_or_else(PoisonError::into_inner).push(subscriber);
        }
    });
}

/// What the NDJSON server has done so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpSinkStats {
    /// Subscribers connected now (one that left is noticed at the next write
    /// to it).
    pub subscribers: u64,
    /// Subscribers accepted.
    pub accepted: u64,
    /// Subscribers closed at once because `max_subscribers` were connected.
    pub refused_over_cap: u64,
    /// Subscribers disconnected for falling behind.
    pub disconnected_slow: u64,
    /// Subscribers that went away (closed, reset).
    pub disconnected_by_peer: u64,
    /// Lines given to the sink.
    pub lines_written: u64,
    /// Lines handed to the kernel, counted once per subscriber.
    pub lines_sent: u64,
}

/// A running NDJSON server (see [`TcpSinkConfig`]).
///
/// Every subscriber receives the output lines from the moment it connects
/// (from the first chunk queued after the sink has taken it in), in order;
/// keys are not sent, the stream is not partitioned. A subscriber is never
/// sent anything, nor expected to send.
///
/// A slow subscriber never holds up the pipeline: lines are queued to each
/// subscriber's own writer thread, and a subscriber whose unsent bytes would
/// pass `subscriber_buffer` is disconnected and counted.
///
/// # Durability
///
/// A socket keeps nothing: [`Sink::flush`] returns once everything written
/// before it has been handed to the kernel for every connected subscriber,
/// or that subscriber has been disconnected (it fell behind the buffer
/// limit, or did not take the data within `flush_timeout`). That is all a
/// subscriber is promised; one that is not connected misses the lines.
#[derive(Debug)]
pub struct TcpSink {
    name: String,
    local_addr: SocketAddr,
    limit: u64,
    chunk_size: usize,
    flush_timeout: Duration,
    stop: StopFlag,
    shared: Arc<Shared>,
    newcomers: Newcomers,
    subscribers: Vec<Subscriber>,
    /// Lines not yet queued to subscribers.
    pending: BytesMut,
    pending_lines: u64,
    lines_written: u64,
    /// `None` once closed.
    acceptor: Option<JoinHandle<()>>,
    /// Writer threads of subscribers that ended, joined at close.
    retired: Vec<JoinHandle<()>>,
}

impl TcpSink {
    /// The address the server listens on (with the port chosen for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// How many subscribers are connected.
    pub fn subscribers(&self) -> usize {
        Shared::get(&self.shared.connected) as usize
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> TcpSinkStats {
        let shared = &*self.shared;
        TcpSinkStats {
            subscribers: Shared::get(&shared.connected),
            accepted: Shared::get(&shared.accepted),
            refused_over_cap: Shared::get(&shared.refused_over_cap),
            disconnected_slow: Shared::get(&shared.disconnected_slow),
            disconnected_by_peer: Shared::get(&shared.disconnected_by_peer),
            lines_written: self.lines_written,
            lines_sent: Shared::get(&shared.lines_sent),
        }
    }

    /// Queues the pending lines to every subscriber, taking in new ones first
    /// and letting go of those that ended. Never blocks on a subscriber.
    fn dispatch(&mut self) {
        let newcomers =
            mem::take(&mut *self.newcomers.lock().unwrap_or_else(PoisonError::into_inner));
        self.subscribers.extend(newcomers);
        if !self.pending.is_empty() {
            let chunk = Chunk {
                bytes: self.pending.split().freeze(),
                lines: mem::take(&mut self.pending_lines),
            };
            for subscriber in &mut self.subscribers {
                if !subscriber.is_gone() {
                    subscriber.offer(&chunk, self.limit, &self.shared);
                }
            }
        }
        self.retire_gone();
    }

    /// Drops the subscribers that ended, keeping their threads to join.
    fn retire_gone(&mut self) {
        let retired = &mut self.retired;
        self.subscribers.retain_mut(|subscriber| {
            if !subscriber.is_gone() {
                return true;
            }
            retired.extend(subscriber.take_writer());
            false
        });
        // Writers of ended subscribers finish quickly (their socket is shut
        // down); join those that have, so the list stays short.
        let (done, running): (Vec<_>, Vec<_>) =
            mem::take(&mut self.retired).into_iter().partition(JoinHandle::is_finished);
        self.retired = running;
        for writer in done {
            let _ = writer.join();
        }
    }
}

impl Sink for TcpSink {
    fn name(&self) -> &str {
        &self.name
    }

    /// Adds `line` to the stream (`key` is not sent). A line without its
    /// final newline gets one, so the stream stays NDJSON.
    fn write(&mut self, key: &[u8], line: &[u8]) -> io::Result<()> {
        let _ = key;
        if self.acceptor.is_none() {
            return Err(io::Error::new(io::ErrorKind::NotConnected, "tcp sink is closed"));
        }
        self.pending.extend_from_slice(line);
        if !line.ends_with(b"\n") {
            self.pending.extend_from_slice(b"\n");
        }
        self.pending_lines += 1;
        self.lines_written += 1;
        if self.pending.len() >= self.chunk_size {
            self.dispatch();
        }
        Ok(())
    }

    /// Queues what was written and waits, up to `flush_timeout`, until every
    /// subscriber has handed it to the kernel; those that have not by then
    /// are disconnected as slow.
    fn flush(&mut self) -> io::Result<()> {
        self.dispatch();
        let deadline = Instant::now() + self.flush_timeout;
        let subscribers = &self.subscribers;
        let settled =
            self.shared.wait_until(deadline, || subscribers.iter().all(Subscriber::is_settled));
        if !settled {
            for subscriber in &mut self.subscribers {
                if !subscriber.is_settled() {
                    subscriber.end(Reason::Slow, &self.shared);
                }
            }
        }
        self.retire_gone();
        Ok(())
    }

    fn health(&self) -> Health {
        super::listener::acceptor_health(self.acceptor.as_ref())
    }

    /// Flushes, stops accepting, ends every subscriber after what it was
    /// sent, and joins the threads.
    fn close(&mut self) -> io::Result<()> {
        let Some(acceptor) = self.acceptor.take() else { return Ok(()) };
        let flushed = self.flush();
        self.stop.raise();
        let accepting = acceptor.join();
        // Subscribers that arrived during the flush get nothing: the end.
        self.dispatch();
        let mut writers = mem::take(&mut self.retired);
        for subscriber in &mut self.subscribers {
            writers.extend(subscriber.finish());
        }
        self.subscribers.clear();
        let mut panicked = accepting.is_err();
        for writer in writers {
            panicked |= writer.join().is_err();
        }
        if panicked {
            return Err(io::Error::other(format!("{}: a server thread panicked", self.name)));
        }
        flushed
    }
}

impl Drop for TcpSink {
    fn drop(&mut self) {
        let _ = self.close();
    }
}
