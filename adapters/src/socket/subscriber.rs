//! One subscriber of the NDJSON server: a writer thread that copies queued
//! chunks to its socket, and the accounting the sink uses to tell a slow
//! subscriber from a fast one.
//!
//! Why a thread per subscriber rather than non-blocking sockets: a subscriber
//! that stops reading fills its kernel buffer, and a non-blocking design would
//! then keep its leftover bytes in the sink and need the sink's thread to come
//! back to them, which it only does when the pipeline writes or flushes; a
//! quiet pipeline would leave subscribers behind. A writer thread blocks in
//! `write_all` instead, on its own time, while the sink only ever does a
//! `try_send` of a shared [`Bytes`] chunk (no copy per subscriber) and checks
//! the byte count. Subscribers are few (a dashboard, a tap, a recorder), so a
//! thread each is cheap.

use std::io::Write;
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Instant;

use bytes::Bytes;
use crossbeam::channel::{self, Receiver, Sender, TrySendError};

/// How many chunks may wait for one subscriber; the byte limit is what
/// normally decides, this only bounds the queue when chunks are tiny.
const QUEUED_CHUNKS: usize = 4096;

/// A piece of the output stream: whole lines.
#[derive(Clone, Debug)]
pub(super) struct Chunk {
    pub(super) bytes: Bytes,
    pub(super) lines: u64,
}

/// Counters and the wake-up that writers and the sink share.
#[derive(Debug, Default)]
pub(super) struct Shared {
    pub(super) connected: AtomicU64,
    pub(super) accepted: AtomicU64,
    pub(super) refused_over_cap: AtomicU64,
    pub(super) disconnected_slow: AtomicU64,
    pub(super) disconnected_by_peer: AtomicU64,
    pub(super) lines_sent: AtomicU64,
    /// Notified whenever a writer has handed bytes to the kernel or died, for
    /// a flush waiting on them.
    progress: Condvar,
    progress_lock: Mutex<()>,
}

impl Shared {
    /// Adds `n` to `counter` (statistics only: relaxed).
    pub(super) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Subtracts one from `counter`.
    pub(super) fn sub_one(counter: &AtomicU64) {
        counter.fetch_sub(1, Ordering::Relaxed);
    }

    /// The current value of `counter`.
    pub(super) fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    fn lock(&self) -> MutexGuard<'_, ()> {
        self.progress_lock.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Wakes a waiting flush. Taking the lock orders this after the waiter's
    /// check, so a wake-up cannot fall between its check and its wait.
    fn notify(&self) {
        drop(self.lock());
        self.progress.notify_all();
    }

    /// Waits until `done()` holds or `deadline` passes; returns `done()`.
    pub(super) fn wait_until(&self, deadline: Instant, mut done: impl FnMut() -> bool) -> bool {
        let mut guard = self.lock();
        loop {
            if done() {
                return true;
            }
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                return false;
            };
            guard = match self.progress.wait_timeout(guard, left) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
    }
}

/// What a subscriber's writer thread and the sink both see.
#[derive(Debug, Default)]
struct Progress {
    /// Bytes handed to the kernel.
    written: AtomicU64,
    /// Set once, by whoever ends the subscriber first.
    gone: AtomicBool,
}

/// Why a subscriber is dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Reason {
    /// It could not keep up.
    Slow,
    /// Its socket failed (it closed, or reset).
    Peer,
}

/// The sink's handle on one subscriber.
#[derive(Debug)]
pub(super) struct Subscriber {
    /// `None` once the subscriber is ended: the writer then finishes.
    queue: Option<Sender<Chunk>>,
    /// A second handle on the socket, to shut it down from the sink.
    socket: TcpStream,
    progress: Arc<Progress>,
    /// Bytes queued to it so far.
    queued: u64,
    writer: Option<JoinHandle<()>>,
}

impl Subscriber {
    /// Starts the writer thread for `socket`.
    ///
    /// # Errors
    /// When the socket cannot be duplicated or the thread cannot start.
    pub(super) fn start(socket: TcpStream, shared: &Arc<Shared>) -> std::io::Result<Subscriber> {
        let handle = socket.try_clone()?;
        let (queue, chunks) = channel::bounded(QUEUED_CHUNKS);
        let progress = Arc::new(Progress::default());
        let writer = {
            let (progress, shared) = (Arc::clone(&progress), Arc::clone(shared));
            thread::Builder::new()
                .name("tcp-subscriber".to_owned())
                .spawn(move || write_chunks(socket, &chunks, &progress, &shared))?
        };
        Ok(Subscriber {
            queue: Some(queue),
            socket: handle,
            progress,
            queued: 0,
            writer: Some(writer),
        })
    }

    /// Bytes queued but not yet handed to the kernel.
    pub(super) fn unsent(&self) -> u64 {
        self.queued.saturating_sub(self.progress.written.load(Ordering::Acquire))
    }

    /// Whether the subscriber has ended (dropped, or its socket failed).
    pub(super) fn is_gone(&self) -> bool {
        self.progress.gone.load(Ordering::Acquire)
    }

    /// Whether everything queued has reached the kernel, or never will.
    pub(super) fn is_settled(&self) -> bool {
        self.is_gone() || self.unsent() == 0
    }

    /// Queues `chunk` unless that takes the subscriber's backlog over `limit`.
    /// A caught-up subscriber always takes a chunk, however large, so only a
    /// subscriber that is behind is ever found slow.
    pub(super) fn offer(&mut self, chunk: &Chunk, limit: u64, shared: &Shared) {
        let unsent = self.unsent();
        let len = chunk.bytes.len() as u64;
        if unsent > 0 && unsent + len > limit {
            self.end(Reason::Slow, shared);
            return;
        }
        let Some(queue) = &self.queue else { return };
        match queue.try_send(chunk.clone()) {
            Ok(()) => self.queued += len,
            Err(TrySendError::Full(_)) => self.end(Reason::Slow, shared),
            Err(TrySendError::Disconnected(_)) => self.end(Reason::Peer, shared),
        }
    }

    /// Ends the subscriber for `why` (counted once, whoever ends it first):
    /// its socket is shut down, which also frees a writer blocked on it.
    pub(super) fn end(&mut self, why: Reason, shared: &Shared) {
        // Counted before the shutdown, or the writer would see its write fail
        // first and count a slow subscriber as one that left.
        mark_gone(&self.progress, why, shared);
        self.queue = None;
        let _ = self.socket.shutdown(Shutdown::Both);
    }

    /// Ends the subscriber after what is queued has been written (closing the
    /// sink): the writer finishes its queue and closes the socket.
    pub(super) fn finish(&mut self) -> Option<JoinHandle<()>> {
        self.queue = None;
        self.writer.take()
    }

    /// The writer thread, once the subscriber has ended, to be joined.
    pub(super) fn take_writer(&mut self) -> Option<JoinHandle<()>> {
        self.writer.take()
    }
}

/// Marks a subscriber gone and counts why, unless it already was.
fn mark_gone(progress: &Progress, why: Reason, shared: &Shared) {
    if progress.gone.swap(true, Ordering::AcqRel) {
        return;
    }
    Shared::sub_one(&shared.connected);
    match why {
        Reason::Slow => Shared::add(&shared.disconnected_slow, 1),
        Reason::Peer => Shared::add(&shared.disconnected_by_peer, 1),
    }
    shared.notify();
}

/// The writer thread: copies chunks to the socket until the queue closes or
/// the socket fails.
fn write_chunks(
    mut socket: TcpStream,
    chunks: &Receiver<Chunk>,
    progress: &Progress,
    shared: &Shared,
) {
    for chunk in chunks {
        if socket.write_all(&chunk.bytes).is_err() {
            // Either the peer went away, or the sink shut the socket down to
            // drop us (then the sink has already counted it).
            mark_gone(progress, Reason::Peer, shared);
            return;
        }
        progress.written.fetch_add(chunk.bytes.len() as u64, Ordering::AcqRel);
        Shared::add(&shared.lines_sent, chunk.lines);
        shared.notify();
    }
    let _ = socket.flush();
    let _ = socket.shutdown(Shutdown::Both);
}
