//! A writer that hands full buffers to a thread of its own, so formatting the
//! next buffer overlaps the system calls writing the last one. On two cores
//! this is what lets `ctistream gen` reach a file at the generator's speed
//! rather than at the sum of both.

use std::io::{self, Write};
use std::thread::JoinHandle;

use crossbeam::channel::{Receiver, Sender, bounded};

/// The size of each buffer handed over.
const BUFFER: usize = 1 << 20;

/// Buffers in flight between the two threads.
const IN_FLIGHT: usize = 4;

/// Writes through a background thread; call [`BackgroundWriter::finish`] to
/// learn whether every byte reached the destination.
#[derive(Debug)]
pub struct BackgroundWriter {
    buffer: Vec<u8>,
    full: Option<Sender<Vec<u8>>>,
    empty: Receiver<Vec<u8>>,
    thread: Option<JoinHandle<io::Result<()>>>,
}

impl BackgroundWriter {
    /// Starts the thread writing to `out`.
    pub fn new(mut out: impl Write + Send + 'static) -> BackgroundWriter {
        let (full, full_rx) = bounded::<Vec<u8>>(IN_FLIGHT);
        let (empty_tx, empty) = bounded::<Vec<u8>>(IN_FLIGHT + 1);
        let thread = std::thread::Builder::new()
            .name("ctistream-writer".into())
            .spawn(move || {
                for mut buffer in full_rx {
                    out.write_all(&buffer)?;
                    buffer.clear();
                    // The other side may be gone already; the buffer is then dropped.
                    let _ = empty_tx.try_send(buffer);
                }
                out.flush()
            })
            .expect("the writer thread starts");
        BackgroundWriter {
            buffer: Vec::with_capacity(BUFFER),
            full: Some(full),
            empty,
            thread: Some(thread),
        }
    }

    /// Hands the current buffer over; fails when the writer thread has stopped
    /// on an error (which [`BackgroundWriter::finish`] then reports).
    fn hand_over(&mut self) -> io::Result<()> {
        let next = self.empty.try_recv().unwrap_or_else(|_| Vec::with_capacity(BUFFER));
        let full = std::mem::replace(&mut self.buffer, next);
        let sent = self.full.as_ref().is_some_and(|sender| sender.send(full).is_ok());
        if sent { Ok(()) } else { Err(io::Error::other("the writer thread stopped")) }
    }

    /// Writes what is buffered, waits for the thread and returns its result:
    /// the first error writing or flushing, if any.
    ///
    /// # Errors
    /// The destination's error.
    pub fn finish(mut self) -> io::Result<()> {
        let handed = if self.buffer.is_empty() { Ok(()) } else { self.hand_over() };
        self.full = None;
        let thread = self.thread.take().expect("finish runs once");
        let written =
            thread.join().unwrap_or_else(|_| Err(io::Error::other("the writer thread panicked")));
        written.and(handed)
    }
}

impl Write for BackgroundWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(bytes);
        if self.buffer.len() >= BUFFER {
            self.hand_over()?;
        }
        Ok(bytes.len())
    }

    /// Buffers are handed over when full and at [`BackgroundWriter::finish`];
    /// flushing in between would only make the buffers smaller.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for BackgroundWriter {
    fn drop(&mut self) {
        self.full = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    struct Failing;

    impl Write for Failing {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::other("disk full"))
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn every_byte_arrives_in_order() {
        let sink = Shared::default();
        let mut writer = BackgroundWriter::new(sink.clone());
        let mut expected = Vec::new();
        for i in 0..200_000u32 {
            let line = format!("line {i}\n");
            writer.write_all(line.as_bytes()).unwrap();
            expected.extend_from_slice(line.as_bytes());
        }
        writer.finish().unwrap();
        assert_eq!(*sink.0.lock().unwrap(), expected);
    }

    #[test]
    fn a_failing_destination_is_reported() {
        let mut writer = BackgroundWriter::new(Failing);
        let mut failed_early = false;
        for _ in 0..(IN_FLIGHT + 8) {
            failed_early |= writer.write_all(&[b'x'; BUFFER]).is_err();
        }
        let error = writer.finish().unwrap_err();
        assert_eq!(error.to_string(), "disk full");
        assert!(failed_early, "writes fail once the thread has stopped");
    }
}
