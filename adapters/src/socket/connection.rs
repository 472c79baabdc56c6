//! One client connection of the record server: its reader thread frames the
//! bytes with core's [`FrameReader`], checks the handshake and the limits, and
//! hands records over to the source in batches.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::{self, Read};
use std::mem;
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use crossbeam::channel::Sender;
use ctistream_core::connect::{SourceRecord, SourceReject};
use ctistream_core::{Frame, FrameError, FrameReader, Framing};

/// At most this many records travel in one hand-over, so that one fast client
/// cannot make a poll hand out far more than its share.
const BATCH: usize = 256;

/// What reader threads send to the source, in the order it happened on each
/// connection.
#[derive(Debug)]
pub(super) enum Delivery {
    /// A connection opened (always its first message).
    Opened { stream: u32, peer: SocketAddr },
    /// Records framed on one connection.
    Records(Vec<SourceRecord>),
    /// A frame that cost its connection: the connection is closed after it.
    Reject(SourceReject),
    /// A connection closed (always its last message).
    Closed { stream: u32 },
}

/// What every connection is held to (from the source's config).
#[derive(Clone, Debug)]
pub(super) struct Rules {
    pub(super) framing: Framing,
    pub(super) max_record: usize,
    pub(super) records_per_connection: Option<u64>,
    pub(super) idle_timeout: Option<Duration>,
    pub(super) token: Option<Bytes>,
}

/// Connection counters shared between the reader threads, the acceptor and
/// the source's `stats()`.
#[derive(Debug, Default)]
pub(super) struct Counters {
    pub(super) accepted: AtomicU64,
    pub(super) refused_over_cap: AtomicU64,
    pub(super) closed_idle: AtomicU64,
    pub(super) closed_for_limit: AtomicU64,
    pub(super) closed_bad_frame: AtomicU64,
    pub(super) bad_handshakes: AtomicU64,
    pub(super) bytes: AtomicU64,
}

impl Counters {
    /// Adds `n` to `counter`. Counters are statistics read as a snapshot: no
    /// other memory depends on them, so relaxed ordering is enough.
    pub(super) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// The current value of `counter`.
    pub(super) fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// The open connections, so that `close` can shut them down, and whether the
/// server is stopping (checked under the same lock, so no connection is
/// admitted after `close` has shut the others down).
#[derive(Debug, Default)]
pub(super) struct Registry {
    inner: Mutex<RegistryInner>,
}

#[derive(Debug, Default)]
struct RegistryInner {
    stopping: bool,
    sockets: HashMap<u32, TcpStream>,
}

/// Whether a new connection may start.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Admission {
    Admitted,
    OverCap,
    Stopping,
}

impl Registry {
    fn lock(&self) -> MutexGuard<'_, RegistryInner> {
        // A reader thread cannot panic while holding the lock (no code that
        // can runs under it), but a poisoned map is still a valid map.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers `socket` as connection `stream` if the cap allows.
    pub(super) fn admit(&self, stream: u32, socket: &TcpStream, cap: usize) -> Admission {
        let mut inner = self.lock();
        if inner.stopping {
            return Admission::Stopping;
        }
        if inner.sockets.len() >= cap {
            return Admission::OverCap;
        }
        match socket.try_clone() {
            Ok(handle) => {
                inner.sockets.insert(stream, handle);
                Admission::Admitted
            }
            // Out of descriptors: the connection cannot be served.
            Err(_) => Admission::OverCap,
        }
    }

    /// Connection `stream` is over.
    pub(super) fn leave(&self, stream: u32) {
        self.lock().sockets.remove(&stream);
    }

    /// How many connections are open.
    pub(super) fn len(&self) -> usize {
        self.lock().sockets.len()
    }

    /// Refuses new connections and shuts down the open ones: their readers see
    /// the end of the stream and finish.
    pub(super) fn stop_all(&self) {
        let mut inner = self.lock();
        inner.stopping = true;
        for socket in inner.sockets.values() {
            let _ = socket.shutdown(Shutdown::Both);
        }
    }
}

/// How a connection ended.
#[derive(Debug, PartialEq, Eq)]
enum Ending {
    /// The client closed it, or the server is stopping.
    Finished,
    /// Silent for the idle timeout.
    Idle,
    /// The per-connection record limit was reached.
    Limit,
    /// A frame could not be framed (too long, cut off).
    BadFrame,
    /// The first frame was not the token.
    BadHandshake,
    /// The source is gone or the socket failed.
    Broken,
}

/// A connection being served by its reader thread.
#[derive(Debug)]
pub(super) struct Connection {
    pub(super) stream: u32,
    pub(super) peer: SocketAddr,
    pub(super) socket: TcpStream,
    pub(super) rules: Arc<Rules>,
    pub(super) counters: Arc<Counters>,
    pub(super) registry: Arc<Registry>,
    pub(super) deliveries: Sender<Delivery>,
}

impl Connection {
    /// Serves the connection to its end (the body of its reader thread).
    pub(super) fn serve(self) {
        let stream = self.stream;
        if self.deliveries.send(Delivery::Opened { stream, peer: self.peer }).is_ok() {
            self.read_records();
            let _ = self.deliveries.send(Delivery::Closed { stream });
        }
        let _ = self.socket.shutdown(Shutdown::Both);
        self.registry.leave(stream);
    }

    /// Frames the connection's bytes until it ends, handing records over,
    /// then closes it and counts why.
    fn read_records(&self) {
        let Ok(socket) = self.socket.try_clone() else { return };
        if socket.set_read_timeout(self.rules.idle_timeout).is_err() {
            return;
        }
        let batch = Rc::new(RefCell::new(Vec::with_capacity(BATCH)));
        let input = HandOver {
            socket,
            batch: Rc::clone(&batch),
            deliveries: self.deliveries.clone(),
            counters: Arc::clone(&self.counters),
        };
        let frames =
            FrameReader::new(input, self.rules.framing).with_max_record(self.rules.max_record);
        let (ending, reject) = self.frame_all(frames, &batch);
        // The client is cut off at once, not after the hand-over below (which
        // may wait for the driver). Shut down explicitly: the registry holds a
        // second handle on the socket, so dropping ours would not close it.
        let _ = self.socket.shutdown(Shutdown::Both);
        self.count(&ending);
        // Whatever was framed before the connection ended is kept, and comes
        // before the reject that ended it.
        if self.send_batch(&batch) {
            if let Some(reject) = reject {
                let _ = self.deliveries.send(Delivery::Reject(reject));
            }
        }
    }

    fn count(&self, ending: &Ending) {
        let counters = &self.counters;
        match ending {
            Ending::Idle => Counters::add(&counters.closed_idle, 1),
            Ending::Limit => Counters::add(&counters.closed_for_limit, 1),
            Ending::BadFrame => Counters::add(&counters.closed_bad_frame, 1),
            Ending::BadHandshake => Counters::add(&counters.bad_handshakes, 1),
            Ending::Finished | Ending::Broken => {}
        }
    }

    /// Goes through the frames; returns why they stopped, with the reject to
    /// report when a frame was at fault. Records are pushed to `batch`, which
    /// [`HandOver`] sends before each read.
    fn frame_all(
        &self,
        frames: FrameReader<HandOver>,
        batch: &RefCell<Vec<SourceRecord>>,
    ) -> (Ending, Option<SourceReject>) {
        let mut awaiting_token = self.rules.token.clone();
        let mut records = 0u64;
        for frame in frames {
            let frame = match frame {
                Ok(frame) => frame,
                Err(error) => return self.framing_failed(&error),
            };
            if let Some(token) = awaiting_token.take() {
                if is_token(&frame, &token) {
                    continue;
                }
                // The attempt is not copied into the reject: a near miss of a
                // shared secret does not belong in the rejects output.
                let reason = "handshake: the first frame is not the shared token".to_owned();
                let reject = self.reject(frame.line, reason.clone(), reason, Bytes::new());
                return (Ending::BadHandshake, Some(reject));
            }
            let full = {
                let mut batch = batch.borrow_mut();
                batch.push(SourceRecord {
                    payload: frame.payload,
                    key: frame.key,
                    stream: self.stream,
                    position: frame.line,
                    replayed: false,
                });
                batch.len() >= BATCH
            };
            if full && !self.send_batch(batch) {
                return (Ending::Broken, None);
            }
            records += 1;
            if self.rules.records_per_connection.is_some_and(|limit| records >= limit) {
                return (Ending::Limit, None);
            }
        }
        (Ending::Finished, None)
    }

    /// Sorts out a framing error: a timeout is idleness, another I/O error a
    /// broken connection, anything else a bad frame to reject.
    fn framing_failed(&self, error: &FrameError) -> (Ending, Option<SourceReject>) {
        match error {
            FrameError::Io(io) => match io.kind() {
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => (Ending::Idle, None),
                _ => (Ending::Broken, None),
            },
            _ => {
                let position = error.line().unwrap_or(0);
                let raw = error.head().cloned().unwrap_or_default();
                let reject = self.reject(position, error.to_string(), error.class(), raw);
                (Ending::BadFrame, Some(reject))
            }
        }
    }

    fn reject(&self, position: u64, reason: String, class: String, raw: Bytes) -> SourceReject {
        SourceReject { stream: self.stream, position, reason, class, raw }
    }

    /// Sends the records framed so far (if any); false when the source is gone.
    fn send_batch(&self, batch: &RefCell<Vec<SourceRecord>>) -> bool {
        if batch.borrow().is_empty() {
            return true;
        }
        let records = mem::replace(&mut *batch.borrow_mut(), Vec::with_capacity(BATCH));
        self.deliveries.send(Delivery::Records(records)).is_ok()
    }
}

/// Whether `frame` is exactly `token`. A line framer splits `KEY<TAB>REST`,
/// so a token with a TAB in it comes back in two parts.
fn is_token(frame: &Frame, token: &[u8]) -> bool {
    match &frame.key {
        None => frame.payload == token,
        Some(key) => {
            token.len() == key.len() + 1 + frame.payload.len()
                && token.starts_with(key)
                && token[key.len()] == b'\t'
                && token.ends_with(&frame.payload)
        }
    }
}

/// The socket as the frame reader sees it: before each read, which may block,
/// the records framed so far are handed to the source, so none wait for the
/// client's next bytes. A full channel blocks here, and the client's sends
/// then block once the kernel buffers fill: backpressure reaches the client.
#[derive(Debug)]
struct HandOver {
    socket: TcpStream,
    batch: Rc<RefCell<Vec<SourceRecord>>>,
    deliveries: Sender<Delivery>,
    counters: Arc<Counters>,
}

impl Read for HandOver {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let records = mem::take(&mut *self.batch.borrow_mut());
        if !records.is_empty() && self.deliveries.send(Delivery::Records(records)).is_err() {
            return Err(io::Error::new(io::ErrorKind::BrokenPipe, "the source is closed"));
        }
        let read = self.socket.read(buf)?;
        Counters::add(&self.counters.bytes, read as u64);
        Ok(read)
    }
}
