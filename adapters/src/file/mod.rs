//! Files at both ends of the pipeline.
//!
//! - [`FileSourceConfig`] / [`FileSource`]: a path or `-` (standard input)
//!   framed into records once, for `ctistream reduce` and `inspect`. A regular
//!   file is memory-mapped and framed in place: every record is a slice of the
//!   mapping, nothing is copied from the page cache. Standard input and other
//!   streams are read in blocks.
//! - [`FileTailConfig`] / [`FileTail`]: a file as a pipeline
//!   [`Source`](ctistream_core::connect::Source), read to its end or followed
//!   as it grows and rotates, with marks that remember byte offsets.
//! - [`FileSinkConfig`] / [`FileSink`]: a file as a pipeline
//!   [`Sink`](ctistream_core::connect::Sink), appending NDJSON lines, fsyncing
//!   on flush and rotating by size.

mod position;
mod sink;
mod tail;

pub use position::{FileIdentity, TailPosition};
pub use sink::{FileSink, FileSinkConfig};
pub use tail::{FileTail, FileTailConfig};

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use ctistream_core::{Frame, FrameError, FrameReader, FrameStats, Framing, MemoryFrames};

/// Makes the data written to `file` durable (`fdatasync`). What is not a
/// regular file and refuses that with `EINVAL` — `/dev/null`, a terminal, a
/// pipe: nothing there to make durable — counts as synced.
///
/// # Errors
/// When the sync fails otherwise.
pub fn sync_written(file: &File) -> io::Result<()> {
    match file.sync_data() {
        Err(error)
            if error.kind() == io::ErrorKind::InvalidInput
                && !file.metadata().is_ok_and(|m| m.file_type().is_file()) =>
        {
            Ok(())
        }
        synced => synced,
    }
}

/// Where a file source reads from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileSourceConfig {
    /// The path; `-` means standard input.
    pub path: PathBuf,
    /// How records are delimited.
    pub framing: Framing,
    /// The record size limit in bytes.
    pub max_record: usize,
}

impl FileSourceConfig {
    /// A config for `path` with `framing` and the default record limit.
    pub fn new(path: impl Into<PathBuf>, framing: Framing) -> FileSourceConfig {
        FileSourceConfig {
            path: path.into(),
            framing,
            max_record: ctistream_core::DEFAULT_MAX_RECORD,
        }
    }

    /// Whether this config reads standard input.
    pub fn is_stdin(&self) -> bool {
        self.path == Path::new("-")
    }

    /// The name used in record origins (`file:line`): the path as given, or `stdin`.
    pub fn origin_name(&self) -> String {
        if self.is_stdin() { "stdin".to_owned() } else { self.path.display().to_string() }
    }

    /// Opens the file and returns its record reader.
    ///
    /// # Errors
    /// The I/O error of opening (or mapping) the file, with the path in its message.
    pub fn build(&self) -> io::Result<FileSource> {
        if self.is_stdin() {
            let reader: Box<dyn Read + Send> = Box::new(io::stdin());
            let frames = FrameReader::new(reader, self.framing).with_max_record(self.max_record);
            return Ok(FileSource { frames: Frames::Stream(frames), size: None });
        }
        let context = |error: io::Error| {
            io::Error::new(error.kind(), format!("cannot open {}: {error}", self.path.display()))
        };
        let file = File::open(&self.path).map_err(context)?;
        let metadata = file.metadata().map_err(context)?;
        if metadata.is_file() && metadata.len() > 0 {
            let data = map(&file).map_err(context)?;
            let frames = MemoryFrames::new(data, self.framing).with_max_record(self.max_record);
            return Ok(FileSource { frames: Frames::Memory(frames), size: Some(metadata.len()) });
        }
        // Pipes, devices and empty files are read as streams.
        let reader: Box<dyn Read + Send> = Box::new(file);
        let frames = FrameReader::new(reader, self.framing).with_max_record(self.max_record);
        Ok(FileSource { frames: Frames::Stream(frames), size: metadata.is_file().then_some(0) })
    }
}

/// Maps `file` read-only and wraps the mapping in `Bytes` (the mapping lives
/// as long as any record sliced from it).
#[allow(unsafe_code)]
fn map(file: &File) -> io::Result<Bytes> {
    // SAFETY: the mapping is read-only and private to this process, and its
    // bytes are only ever read as `&[u8]`. What this cannot rule out is another
    // process truncating or rewriting the file while it is mapped: reading a
    // truncated page then raises SIGBUS, and rewritten bytes may be seen. That
    // is the same contract ripgrep's memory-mapped search accepts; ctistream
    // maps only the inputs a user names for one run, and a file that is being
    // appended to is followed with the streaming reader (`follow=true`), not
    // mapped. The caller's assertion that inputs are not truncated meanwhile is
    // what this relies on.
    let mmap = unsafe { memmap2::Mmap::map(file)? };
    Ok(Bytes::from_owner(mmap))
}

/// The records of a file source, from a mapping or a stream.
pub enum Frames {
    /// A memory-mapped file, framed in place.
    Memory(MemoryFrames),
    /// A stream read in blocks.
    Stream(FrameReader<Box<dyn Read + Send>>),
}

impl Frames {
    /// What framing has seen so far.
    pub fn stats(&self) -> &FrameStats {
        match self {
            Frames::Memory(frames) => frames.stats(),
            Frames::Stream(frames) => frames.stats(),
        }
    }

    /// Bytes consumed so far (for progress).
    pub fn position(&self) -> u64 {
        match self {
            Frames::Memory(frames) => frames.position(),
            Frames::Stream(frames) => frames.stats().bytes,
        }
    }
}

impl std::fmt::Debug for Frames {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self {
            Frames::Memory(_) => "Memory",
            Frames::Stream(_) => "Stream",
        };
        f.debug_struct("Frames").field("kind", &kind).field("stats", self.stats()).finish()
    }
}

impl Iterator for Frames {
    type Item = Result<Frame, FrameError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Frames::Memory(frames) => frames.next(),
            Frames::Stream(frames) => frames.next(),
        }
    }
}

/// An open file source: an iterator of frames.
#[derive(Debug)]
pub struct FileSource {
    /// The framed records.
    pub frames: Frames,
    /// The file size when known (for progress).
    pub size: Option<u64>,
}
