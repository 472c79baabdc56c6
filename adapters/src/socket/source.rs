//! The record server: clients connect and send framed records.

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use bytes::Bytes;
use crossbeam::channel::{self, Receiver, RecvTimeoutError, Sender};
use ctistream_core::connect::{Connect, Health, Intake, Polled, Source, StreamLabel};
use ctistream_core::{DEFAULT_MAX_RECORD, Framing};

use super::connection::{Admission, Connection, Counters, Delivery, Registry, Rules};
use super::labels::Labels;
use super::listener::{self, StopFlag};

/// A poll hands out about this many records at most (whole batches of up to
/// 256, so a little more), keeping the driver responsive.
const MAX_PER_POLL: usize = 4096;

/// How many batches may wait between the reader threads and the driver. When
/// they are all waiting, readers block, stop reading their sockets, and TCP
/// flow control pushes back on the clients.
const QUEUED_BATCHES: usize = 64;

/// The record server's configuration.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use ctistream_adapters::socket::TcpSourceConfig;
/// use ctistream_core::Framing;
/// use ctistream_core::connect::{Connect, Source};
///
/// let mut config = TcpSourceConfig::new("127.0.0.1:0", Framing::Lines);
/// config.idle_timeout = Some(Duration::from_secs(30));
/// let mut source = config.connect()?;
/// assert_eq!(source.local_addr().ip().to_string(), "127.0.0.1");
/// source.close()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TcpSourceConfig {
    /// The address to listen on (`0.0.0.0:5501`; port 0 picks a free port).
    pub listen: String,
    /// How records are delimited: [`Framing::Lines`] (optionally
    /// `KEY<TAB>PAYLOAD`) or [`Framing::LengthPrefixed`] (4-byte big-endian).
    pub framing: Framing,
    /// The record size limit in bytes (default 1 MiB). A longer record closes
    /// its connection.
    pub max_record: usize,
    /// How many connections may be open at once (default 1024); more are
    /// closed as soon as they are accepted.
    pub max_connections: usize,
    /// After this many records a connection is closed (default: no limit).
    pub records_per_connection: Option<u64>,
    /// A connection silent this long is closed (default 5 minutes; `None`
    /// waits forever).
    pub idle_timeout: Option<Duration>,
    /// When set, a connection's first frame must be exactly this token, else
    /// it is closed; the token frame is not a record (default: none).
    pub token: Option<Bytes>,
}

impl TcpSourceConfig {
    /// A config listening on `listen` with `framing` and the defaults.
    pub fn new(listen: impl Into<String>, framing: Framing) -> TcpSourceConfig {
        TcpSourceConfig {
            listen: listen.into(),
            framing,
            max_record: DEFAULT_MAX_RECORD,
            max_connections: 1024,
            records_per_connection: None,
            idle_timeout: Some(Duration::from_secs(300)),
            token: None,
        }
    }

    /// Checks the settings that binding would not.
    ///
    /// # Errors
    /// `InvalidInput` naming the setting at fault.
    pub fn validate(&self) -> io::Result<()> {
        let invalid = |why: &str| Err(io::Error::new(io::ErrorKind::InvalidInput, why.to_owned()));
        if !matches!(self.framing, Framing::Lines | Framing::LengthPrefixed) {
            return invalid("tcp source: framing must be lines or length-prefixed");
        }
        if self.max_record == 0 || self.max_connections == 0 {
            return invalid("tcp source: max_record and max_connections must be at least 1");
        }
        if self.records_per_connection == Some(0) {
            return invalid("tcp source: records_per_connection must be at least 1");
        }
        if self.idle_timeout == Some(Duration::ZERO) {
            return invalid("tcp source: idle_timeout must be longer than zero");
        }
        if let Some(token) = &self.token {
            // A token that framing would skip or cut can never be matched.
            let blank = token.iter().all(|b| matches!(b, b' ' | b'\t'));
            let cut = self.framing == Framing::Lines
                && (token.contains(&b'\n') || token.ends_with(b"\r"));
            if token.is_empty() || blank || cut || token.len() > self.max_record {
                return invalid("tcp source: the token must be one non-blank frame");
            }
        }
        Ok(())
    }

    fn rules(&self) -> Rules {
        Rules {
            framing: self.framing,
            max_record: self.max_record,
            records_per_connection: self.records_per_connection,
            idle_timeout: self.idle_timeout,
            token: self.token.clone(),
        }
    }
}

impl Connect for TcpSourceConfig {
    type Running = TcpSource;

    /// Validates the config, binds the address and starts accepting.
    fn connect(&self) -> io::Result<TcpSource> {
        self.validate()?;
        let listener = listener::bind("tcp source", &self.listen)?;
        let local_addr = listener.local_addr()?;
        let (sender, receiver) = channel::bounded(QUEUED_BATCHES);
        let acceptor = Acceptor {
            listener,
            stop: StopFlag::default(),
            registry: Arc::new(Registry::default()),
            counters: Arc::new(Counters::default()),
            rules: Arc::new(self.rules()),
            max_connections: self.max_connections,
            deliveries: sender,
            next_stream: 0,
            readers: Vec::new(),
        };
        let (stop, registry, counters) =
            (acceptor.stop.clone(), Arc::clone(&acceptor.registry), Arc::clone(&acceptor.counters));
        let thread = thread::Builder::new()
            .name(format!("tcp-accept-{}", local_addr.port()))
            .spawn(move || acceptor.run())?;
        Ok(TcpSource {
            name: format!("tcp://{local_addr}"),
            local_addr,
            deliveries: Some(receiver),
            stop,
            registry,
            counters,
            acceptor: Some(thread),
            labels: Labels::default(),
            records: 0,
            committed: 0,
        })
    }
}

/// The accepting thread's state: it admits connections and starts a reader
/// thread for each.
#[derive(Debug)]
struct Acceptor {
    listener: TcpListener,
    stop: StopFlag,
    registry: Arc<Registry>,
    counters: Arc<Counters>,
    rules: Arc<Rules>,
    max_connections: usize,
    deliveries: Sender<Delivery>,
    next_stream: u32,
    readers: Vec<JoinHandle<()>>,
}

impl Acceptor {
    /// Accepts until stopped, then waits for every reader to finish.
    fn run(mut self) {
        let listener = self.listener.try_clone();
        if let Ok(listener) = listener {
            let stop = self.stop.clone();
            listener::accept_until(&listener, &stop, |socket, peer| self.admit(socket, peer));
        }
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
    }

    fn admit(&mut self, socket: TcpStream, peer: SocketAddr) {
        // Finished readers are joined as we go so their handles do not pile up.
        self.readers.retain(|reader| !reader.is_finished());
        let stream = self.next_stream;
        match self.registry.admit(stream, &socket, self.max_connections) {
            Admission::Admitted => {}
            Admission::OverCap => {
                Counters::add(&self.counters.refused_over_cap, 1);
                return; // dropping the socket closes it
            }
            Admission::Stopping => return,
        }
        self.next_stream = stream.wrapping_add(1);
        Counters::add(&self.counters.accepted, 1);
        let connection = Connection {
            stream,
            peer,
            socket,
            rules: Arc::clone(&self.rules),
            counters: Arc::clone(&self.counters),
            registry: Arc::clone(&self.registry),
            deliveries: self.deliveries.clone(),
        };
        let spawned =
            thread::Builder::new().name(format!("tcp-conn-{stream}")).spawn(|| connection.serve());
        match spawned {
            Ok(reader) => self.readers.push(reader),
            // No thread for it: the connection is dropped (and so closed).
            Err(_) => self.registry.leave(stream),
        }
    }
}

/// What the record server has done so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpSourceStats {
    /// Connections open now.
    pub open: usize,
    /// Connections accepted (over the cap ones excluded).
    pub accepted: u64,
    /// Connections closed at once because `max_connections` were open.
    pub refused_over_cap: u64,
    /// Connections closed for being silent for the idle timeout.
    pub closed_idle: u64,
    /// Connections closed on reaching `records_per_connection`.
    pub closed_for_limit: u64,
    /// Connections closed for a frame that could not be framed.
    pub closed_bad_frame: u64,
    /// Connections closed because their first frame was not the token.
    pub bad_handshakes: u64,
    /// Records handed out by `poll`.
    pub records: u64,
    /// Bytes received from all connections.
    pub bytes: u64,
    /// The last committed mark.
    pub committed: u64,
}

/// A running record server (see [`TcpSourceConfig`]).
///
/// Each connection is a stream, numbered from 0 in the order connections are
/// accepted; a record's position is its line (lines framing) or frame number
/// (length-prefixed), from 1, counting the token frame when there is one.
/// Origins read `peer:position`, e.g. `127.0.0.1:5501:9`.
///
/// A client that sends something that cannot be framed loses its connection:
/// the records before it are kept, the frame is reported to
/// [`Intake::reject`], and other connections go on.
///
/// # Acknowledgement
///
/// TCP has no replay: a record a client sent cannot be asked for again, and
/// acknowledging to clients is not part of the protocol. [`Source::mark`] is
/// the count of records handed out and [`Source::commit`] only remembers it
/// (see [`TcpSourceStats::committed`]). Delivery is at most what the clients
/// sent; a client that needs more must keep its own records until it sees
/// their outputs.
#[derive(Debug)]
pub struct TcpSource {
    name: String,
    local_addr: SocketAddr,
    /// `None` once closed.
    deliveries: Option<Receiver<Delivery>>,
    stop: StopFlag,
    registry: Arc<Registry>,
    counters: Arc<Counters>,
    acceptor: Option<JoinHandle<()>>,
    labels: Labels,
    records: u64,
    committed: u64,
}

impl TcpSource {
    /// The address the server listens on (with the port chosen for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> TcpSourceStats {
        let counters = &*self.counters;
        TcpSourceStats {
            open: self.registry.len(),
            accepted: Counters::get(&counters.accepted),
            refused_over_cap: Counters::get(&counters.refused_over_cap),
            closed_idle: Counters::get(&counters.closed_idle),
            closed_for_limit: Counters::get(&counters.closed_for_limit),
            closed_bad_frame: Counters::get(&counters.closed_bad_frame),
            bad_handshakes: Counters::get(&counters.bad_handshakes),
            records: self.records,
            bytes: Counters::get(&counters.bytes),
            committed: self.committed,
        }
    }

    /// Hands one delivery to `intake`; returns the records in it.
    fn deliver(&mut self, delivery: Delivery, intake: &mut dyn Intake) -> usize {
        match delivery {
            Delivery::Opened { stream, peer } => self.labels.opened(stream, peer),
            Delivery::Closed { stream } => self.labels.closed(stream),
            Delivery::Reject(reject) => intake.reject(reject),
            Delivery::Records(records) => {
                let count = records.len();
                for record in records {
                    intake.record(record);
                }
                self.records += count as u64;
                return count;
            }
        }
        0
    }
}

impl Source for TcpSource {
    fn name(&self) -> &str {
        &self.name
    }

    fn poll(&mut self, wait: Duration, intake: &mut dyn Intake) -> io::Result<Polled> {
        let Some(deliveries) = self.deliveries.clone() else { return Ok(Polled::Ended) };
        let deadline = Instant::now().checked_add(wait);
        let mut handed = 0;
        while handed < MAX_PER_POLL {
            let delivery = if handed > 0 {
                match deliveries.try_recv() {
                    Ok(delivery) => delivery,
                    Err(_) => break,
                }
            } else {
                let received = match deadline {
                    Some(deadline) => deliveries.recv_deadline(deadline),
                    None => deliveries.recv().map_err(|_| RecvTimeoutError::Disconnected),
                };
                match received {
                    Ok(delivery) => delivery,
                    // Disconnected cannot happen while the acceptor holds a
                    // sender; either way nothing more came within the wait.
                    Err(_) => break,
                }
            };
            handed += self.deliver(delivery, intake);
        }
        Ok(if handed > 0 { Polled::Records(handed) } else { Polled::Idle })
    }

    fn stream_label(&self, stream: u32) -> StreamLabel {
        self.labels.label(stream)
    }

    /// The number of records handed out so far.
    fn mark(&mut self) -> u64 {
        self.records
    }

    /// Remembers the mark: TCP cannot replay, so there is nothing to store.
    fn commit(&mut self, mark: u64) -> io::Result<()> {
        self.committed = mark;
        Ok(())
    }

    fn health(&self) -> Health {
        super::listener::acceptor_health(self.acceptor.as_ref())
    }

    /// Stops accepting, closes every connection (records not yet polled are
    /// dropped with them) and joins the threads.
    fn close(&mut self) -> io::Result<()> {
        self.stop.raise();
        // Readers blocked on a full channel wake up to a closed one.
        self.deliveries = None;
        self.registry.stop_all();
        match self.acceptor.take().map(JoinHandle::join) {
            Some(Err(_)) => {
                Err(io::Error::other(format!("{}: a server thread panicked", self.name)))
            }
            _ => Ok(()),
        }
    }
}

impl Drop for TcpSource {
    fn drop(&mut self) {
        let _ = self.close();
    }
}
