//! Framing: cutting a byte stream into records.
//!
//! [`FrameReader`] reads large blocks, finds the records in them and hands each
//! out as a [`Frame`] whose payload and key are `Bytes` slices of the block: no
//! copy per record. Four [`Framing`]s are supported (PROTOCOLS.md "Records and
//! keys"); records longer than the limit (default 1 MiB) are reported as
//! [`FrameError::TooLarge`] and skipped, never buffered without bound.

mod scan;

use std::collections::VecDeque;
use std::fmt;
use std::io::{self, Read};
use std::sync::Arc;

use bytes::{Bytes, BytesMut};

use scan::{Pending, Scan, Scanner};

/// The default record size limit: 1 MiB.
pub const DEFAULT_MAX_RECORD: usize = 1 << 20;

/// How much to read at a time.
const READ_SIZE: usize = 256 * 1024;

/// How much of an oversized record a [`FrameError::TooLarge`] keeps.
const ERROR_HEAD: usize = 4096;

/// How records are delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Framing {
    /// One record per line, optionally `KEY<TAB>PAYLOAD`; a line whose first
    /// non-blank byte is `{` or `<` has no key. Blank lines are skipped.
    Lines,
    /// Each record preceded by its length as 4 bytes, big-endian.
    LengthPrefixed,
    /// T-Server logs: a record starts at a line containing `message Event` and
    /// goes on over the lines that begin with TAB. Other lines are skipped.
    Tlog,
    /// Mixed input: JSON and XML lines (keyed or not) and T-Server log records.
    /// Log lines that are not events are skipped.
    Auto,
}

/// One record of the stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// The record.
    pub payload: Bytes,
    /// The key from outside the payload (`KEY<TAB>`), if any.
    pub key: Option<Bytes>,
    /// The 1-based line the record starts on (for length-prefixed framing, the
    /// 1-based frame number).
    pub line: u64,
    /// The byte offset of the record in the stream.
    pub offset: u64,
}

/// A record that could not be framed. After `TooLarge` and `Truncated` the reader
/// goes on with the next record; after `Io` it stops.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum FrameError {
    /// A record longer than the limit; it was skipped.
    TooLarge {
        /// The line (or frame number) the record starts on.
        line: u64,
        /// The byte offset of the record.
        offset: u64,
        /// The limit in bytes.
        limit: usize,
        /// The first 4 KiB of the record, for the rejects output.
        head: Bytes,
    },
    /// The stream ended inside a length-prefixed frame.
    Truncated {
        /// The frame number.
        line: u64,
        /// The byte offset of the frame.
        offset: u64,
        /// The bytes that were there.
        head: Bytes,
    },
    /// Reading failed.
    Io(Arc<io::Error>),
}

impl FrameError {
    /// The line (or frame number) of the failed record, if any.
    pub fn line(&self) -> Option<u64> {
        match self {
            FrameError::TooLarge { line, .. } | FrameError::Truncated { line, .. } => Some(*line),
            FrameError::Io(_) => None,
        }
    }

    /// The start of the failed record, if any.
    pub fn head(&self) -> Option<&Bytes> {
        match self {
            FrameError::TooLarge { head, .. } | FrameError::Truncated { head, .. } => Some(head),
            FrameError::Io(_) => None,
        }
    }

    /// The reason without position, for counting rejects by reason.
    pub fn class(&self) -> String {
        match self {
            FrameError::TooLarge { limit, .. } => {
                format!("record longer than the limit of {limit} bytes")
            }
            FrameError::Truncated { .. } => "stream ends inside a length-prefixed frame".into(),
            FrameError::Io(error) => format!("read error: {error}"),
        }
    }
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::TooLarge { offset, .. } | FrameError::Truncated { offset, .. } => {
                write!(f, "{} at stream byte {offset}", self.class())
            }
            FrameError::Io(_) => f.write_str(&self.class()),
        }
    }
}

impl std::error::Error for FrameError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            FrameError::Io(error) => Some(error.as_ref()),
            _ => None,
        }
    }
}

impl From<io::Error> for FrameError {
    fn from(error: io::Error) -> FrameError {
        FrameError::Io(Arc::new(error))
    }
}

/// Counters of what framing saw besides records.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FrameStats {
    /// Bytes read from the stream.
    pub bytes: u64,
    /// Records handed out.
    pub records: u64,
    /// Blank lines (and empty frames) skipped.
    pub blank: u64,
    /// Log lines skipped because they are not events (T-Server requests, traces).
    pub skipped: u64,
    /// Records refused as too large or truncated.
    pub errors: u64,
}

/// Reads records from a byte stream.
///
/// # Examples
///
/// ```
/// use ctistream_core::{FrameReader, Framing};
///
/// let log = "@10:22:33.1234 [0] 8.1.000.12 distribute_event: message EventReleased\n\
///            \tAttributeThisDN\t'6001'\n\
///            @10:22:33.2000 Trc 04541 RequestAnswerCall received\n";
/// let mut reader = FrameReader::new(log.as_bytes(), Framing::Tlog);
/// let frame = reader.next().unwrap()?;
/// assert!(frame.payload.ends_with(b"'6001'"));
/// assert_eq!(frame.line, 1);
/// assert!(reader.next().is_none());
/// assert_eq!(reader.stats().skipped, 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct FrameReader<R> {
    reader: R,
    /// Read data, `filled` bytes of it, then spare room reads go into.
    buf: BytesMut,
    filled: usize,
    /// The block the pending records are slices of.
    block: Bytes,
    pending: VecDeque<Pending>,
    scanner: Scanner,
    eof: bool,
    failed: bool,
    /// A read of nothing means "nothing yet", not the end (see [`FrameReader::following`]).
    follow: bool,
    stats: FrameStats,
}

impl<R: Read> FrameReader<R> {
    /// A reader of `framing` records from `reader`, with the default 1 MiB limit.
    pub fn new(reader: R, framing: Framing) -> FrameReader<R> {
        FrameReader {
            reader,
            buf: BytesMut::with_capacity(READ_SIZE),
            filled: 0,
            block: Bytes::new(),
            pending: VecDeque::new(),
            scanner: Scanner::new(framing, DEFAULT_MAX_RECORD),
            eof: false,
            failed: false,
            follow: false,
            stats: FrameStats::default(),
        }
    }

    /// Reads a stream that grows (a followed file): a read that returns
    /// nothing means "nothing yet", so the iterator returns `None` while a
    /// record is incomplete and goes on when it is called again after more
    /// data arrived. A partial last record is held until it is complete or
    /// [`finish`](Self::finish) is called.
    pub fn following(mut self) -> FrameReader<R> {
        self.follow = true;
        self
    }

    /// The followed stream has really ended: nothing more is read, and what
    /// is held (a last line without its newline) is framed as at the end of
    /// the stream by the next calls of `next`.
    pub fn finish(&mut self) {
        self.eof = true;
    }

    /// The stream offset where the first record not yet handed out starts:
    /// reading again from there repeats no record handed out and misses none.
    /// While the rest of an oversized record is being skipped it is that
    /// record's start, so a resumed reader refuses it again rather than
    /// framing its tail.
    pub fn resume_offset(&self) -> u64 {
        match self.pending.front() {
            Some(pending) => pending.offset,
            None => self.scanner.resume_offset(),
        }
    }

    /// Sets the record size limit in bytes.
    pub fn with_max_record(mut self, limit: usize) -> FrameReader<R> {
        self.scanner.limit = limit.max(1);
        self
    }

    /// What framing has seen so far.
    pub fn stats(&self) -> &FrameStats {
        &self.stats
    }

    /// Reads once into the buffer and returns how much was read; sets `eof`
    /// when the stream ends (never when following).
    fn fill(&mut self) -> io::Result<usize> {
        // The spare room after the data is kept between reads and grown only
        // when it runs low: growing it by a whole block before every read
        // zeroed 256 KiB per read, so a peer sending a few bytes at a time
        // cost a 256 KiB memset each (found by the framing fuzz targets,
        // which trickle their input).
        if self.buf.len() - self.filled < READ_SIZE / 4 {
            self.buf.resize(self.filled + READ_SIZE, 0);
        }
        let read = loop {
            match self.reader.read(&mut self.buf[self.filled..]) {
                Ok(read) => break read,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => return Err(error),
            }
        };
        self.filled += read;
        self.stats.bytes += read as u64;
        self.eof = read == 0 && !self.follow;
        Ok(read)
    }

    /// Frames what the buffer holds, then freezes the consumed prefix as the
    /// block the pending records point into.
    fn cut(&mut self) {
        let consumed = self.scanner.scan(&self.buf[..self.filled], self.eof, &mut self.pending);
        self.block = self.buf.split_to(consumed).freeze();
        self.filled -= consumed;
        let (skipped, blank) = self.scanner.take_counts();
        self.stats.skipped += skipped;
        self.stats.blank += blank;
    }

    fn frame(&mut self, pending: Pending) -> Result<Frame, FrameError> {
        make_frame(&self.block, self.scanner.limit, &mut self.stats, pending)
    }
}

/// Turns a scanned position into a frame (or a framing error) sliced from `block`.
fn make_frame(
    block: &Bytes,
    limit: usize,
    stats: &mut FrameStats,
    pending: Pending,
) -> Result<Frame, FrameError> {
    let slice = |range: std::ops::Range<usize>| block.slice(range);
    match pending.scan {
        Scan::Record { payload, key } => {
            stats.records += 1;
            Ok(Frame {
                payload: slice(payload),
                key: key.map(slice),
                line: pending.line,
                offset: pending.offset,
            })
        }
        Scan::TooLarge { head } => {
            stats.errors += 1;
            let head = slice(head.start..head.end.min(head.start + ERROR_HEAD));
            Err(FrameError::TooLarge { line: pending.line, offset: pending.offset, limit, head })
        }
        Scan::Truncated { head } => {
            stats.errors += 1;
            let head = slice(head.start..head.end.min(head.start + ERROR_HEAD));
            Err(FrameError::Truncated { line: pending.line, offset: pending.offset, head })
        }
    }
}

/// Reads records from bytes already in memory (a memory-mapped file, a
/// received buffer): frames are slices of `data` itself, nothing is copied.
///
/// # Examples
///
/// ```
/// use bytes::Bytes;
/// use ctistream_core::{Framing, MemoryFrames};
///
/// let data = Bytes::from_static(b"t1:c1\t{\"id\":1}\n\n{\"id\":2}\n");
/// let frames: Vec<_> = MemoryFrames::new(data.clone(), Framing::Lines).collect::<Result<_, _>>()?;
/// assert_eq!(frames.len(), 2);
/// assert_eq!(frames[0].key.as_deref(), Some(&b"t1:c1"[..]));
/// assert_eq!(frames[1].line, 3);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct MemoryFrames {
    data: Bytes,
    pos: usize,
    block: Bytes,
    pending: VecDeque<Pending>,
    scanner: Scanner,
    stats: FrameStats,
}

/// How much of the data one scan looks at (grown while a record needs more).
const WINDOW: usize = 1 << 20;

impl MemoryFrames {
    /// Frames `data` with `framing` and the default 1 MiB record limit.
    pub fn new(data: Bytes, framing: Framing) -> MemoryFrames {
        let stats = FrameStats { bytes: data.len() as u64, ..FrameStats::default() };
        MemoryFrames {
            data,
            pos: 0,
            block: Bytes::new(),
            pending: VecDeque::new(),
            scanner: Scanner::new(framing, DEFAULT_MAX_RECORD),
            stats,
        }
    }

    /// Sets the record size limit in bytes.
    pub fn with_max_record(mut self, limit: usize) -> MemoryFrames {
        self.scanner.limit = limit.max(1);
        self
    }

    /// What framing has seen so far.
    pub fn stats(&self) -> &FrameStats {
        &self.stats
    }

    /// Bytes framed so far (for progress).
    pub fn position(&self) -> u64 {
        self.pos as u64
    }
}

impl Iterator for MemoryFrames {
    type Item = Result<Frame, FrameError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(pending) = self.pending.pop_front() {
                return Some(make_frame(&self.block, self.scanner.limit, &mut self.stats, pending));
            }
            if self.pos >= self.data.len() {
                return None;
            }
            // Scan a window; widen it while nothing in it is complete (a record
            // longer than the window), up to the end of the data.
            let mut window = WINDOW;
            loop {
                let end = (self.pos + window).min(self.data.len());
                let eof = end == self.data.len();
                let consumed = self.scanner.scan(&self.data[self.pos..end], eof, &mut self.pending);
                let (skipped, blank) = self.scanner.take_counts();
                self.stats.skipped += skipped;
                self.stats.blank += blank;
                if consumed > 0 || eof {
                    self.block = self.data.slice(self.pos..self.pos + consumed);
                    self.pos += consumed.max(usize::from(eof) * (end - self.pos));
                    break;
                }
                window *= 2;
            }
        }
    }
}

impl<R: Read> Iterator for FrameReader<R> {
    type Item = Result<Frame, FrameError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(pending) = self.pending.pop_front() {
                return Some(self.frame(pending));
            }
            if self.failed || (self.eof && self.filled == 0) {
                return None;
            }
            if self.eof {
                // The scanner consumes everything at end of stream.
                self.cut();
                self.buf.clear();
                self.filled = 0;
                continue;
            }
            match self.fill() {
                Ok(0) if self.follow => return None,
                Ok(_) => {}
                Err(error) => {
                    self.failed = true;
                    return Some(Err(error.into()));
                }
            }
            self.cut();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::rc::Rc;

    use super::*;

    /// A stream that grows while it is read, like a followed file.
    #[derive(Clone, Default)]
    struct Growing {
        data: Rc<RefCell<Vec<u8>>>,
        read: usize,
    }

    impl Growing {
        fn append(&self, bytes: &[u8]) {
            self.data.borrow_mut().extend_from_slice(bytes);
        }
    }

    impl Read for Growing {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let data = self.data.borrow();
            let n = buf.len().min(data.len() - self.read);
            buf[..n].copy_from_slice(&data[self.read..self.read + n]);
            self.read += n;
            Ok(n)
        }
    }

    fn payloads(reader: &mut FrameReader<Growing>) -> Vec<(String, u64)> {
        reader
            .by_ref()
            .map(|frame| {
                let frame = frame.expect("framed");
                (String::from_utf8_lossy(&frame.payload).into_owned(), frame.line)
            })
            .collect()
    }

    #[test]
    fn a_followed_stream_holds_a_partial_line_until_its_newline() {
        let stream = Growing::default();
        let mut reader = FrameReader::new(stream.clone(), Framing::Lines).following();
        stream.append(b"{\"a\":1}\n{\"b\":");
        assert_eq!(payloads(&mut reader), [("{\"a\":1}".to_owned(), 1)]);
        assert_eq!(reader.resume_offset(), 8);
        assert!(reader.next().is_none(), "a partial line is not a record yet");
        stream.append(b"2}\n{\"c\":3}");
        assert_eq!(payloads(&mut reader), [("{\"b\":2}".to_owned(), 2)]);
        assert_eq!(reader.resume_offset(), 16);
        reader.finish();
        assert_eq!(payloads(&mut reader), [("{\"c\":3}".to_owned(), 3)]);
        assert_eq!(reader.resume_offset(), 23);
    }

    #[test]
    fn resume_offset_points_at_the_first_record_not_handed_out() {
        let input = b"{\"a\":1}\n\n{\"b\":2}\n{\"c\":3}\n";
        let mut reader = FrameReader::new(&input[..], Framing::Lines);
        assert_eq!(reader.resume_offset(), 0);
        reader.next();
        assert_eq!(reader.resume_offset(), 9, "the blank line is before the next record");
        reader.next();
        assert_eq!(reader.resume_offset(), 17);
    }

    #[test]
    fn resume_offset_repeats_an_oversized_record_being_skipped() {
        let stream = Growing::default();
        let mut reader =
            FrameReader::new(stream.clone(), Framing::Lines).with_max_record(4).following();
        stream.append(b"ok\n0123456789");
        assert_eq!(reader.next().map(|frame| frame.map(|f| f.line).ok()), Some(Some(1)));
        assert!(matches!(reader.next(), Some(Err(FrameError::TooLarge { line: 2, .. }))));
        assert!(reader.next().is_none());
        assert_eq!(reader.resume_offset(), 3, "inside the oversized line, resume at its start");
        stream.append(b"abc\nnext\n");
        assert_eq!(payloads(&mut reader), [("next".to_owned(), 3)]);
        assert_eq!(reader.resume_offset(), 22);
    }
}
