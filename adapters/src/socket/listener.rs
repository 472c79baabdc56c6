//! Binding a listening socket and accepting on it until told to stop; shared
//! by the record server and the subscriber server.

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

/// How long the acceptor sleeps when nobody is connecting.
///
/// The listener is non-blocking and polled rather than blocked in `accept`:
/// std has no way to interrupt a blocking `accept` from another thread, and
/// the usual trick (connecting to ourselves to wake it) hangs `close` when that
/// connection is filtered. A new connection waits at most this long, which is
/// nothing next to a TCP handshake over a real network; 100 wake-ups a second
/// cost nothing measurable.
const ACCEPT_POLL: Duration = Duration::from_millis(10);

/// Binds `listen` (port 0 picks a free port) for the component `what`.
///
/// # Errors
/// When the address does not resolve or cannot be bound; the message names the
/// component and the address.
pub(super) fn bind(what: &str, listen: &str) -> io::Result<TcpListener> {
    let context = |error: io::Error| {
        io::Error::new(error.kind(), format!("{what}: cannot listen on {listen}: {error}"))
    };
    let listener = TcpListener::bind(listen).map_err(context)?;
    listener.set_nonblocking(true).map_err(context)?;
    Ok(listener)
}

/// A stop flag that the accepting thread and its owner share.
#[derive(Clone, Debug, Default)]
pub(super) struct StopFlag(Arc<AtomicBool>);

impl StopFlag {
    /// Asks the acceptor (and whoever else watches the flag) to stop.
    pub(super) fn raise(&self) {
        self.0.store(true, Ordering::Release);
    }

    /// Whether a stop was asked for.
    pub(super) fn is_raised(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// Accepts connections on `listener` and hands each, in blocking mode, to
/// `admit` until `stop` is raised.
///
/// Accept errors (a connection reset before it was accepted, running out of
/// file descriptors) are waited out rather than ending the server: the next
/// client may well succeed.
pub(super) fn accept_until(
    listener: &TcpListener,
    stop: &StopFlag,
    mut admit: impl FnMut(TcpStream, SocketAddr),
) {
    while !stop.is_raised() {
        match listener.accept() {
            Ok((socket, peer)) => {
                // Accepted sockets inherit non-blocking mode on some platforms.
                if socket.set_nonblocking(false).is_ok() {
                    admit(socket, peer);
                }
            }
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => thread::sleep(ACCEPT_POLL),
        }
    }
}

/// A server's health from its accepting thread: down once closed (`None`) or
/// once the thread has ended, up while it accepts.
pub(super) fn acceptor_health(
    acceptor: Option<&thread::JoinHandle<()>>,
) -> ctistream_core::connect::Health {
    use ctistream_core::connect::Health;
    match acceptor {
        None => Health::Down("closed".to_owned()),
        Some(thread) if thread.is_finished() => {
            Health::Down("the accepting thread ended".to_owned())
        }
        Some(_) => Health::Up,
    }
}
