//! A file as a [`Source`]: read to its end, or followed as it grows and
//! rotates (`tail -F`).
//!
//! Records are framed by core's [`FrameReader`] in large blocks; every record
//! is a `Bytes` slice of a block. A followed file is read in the reader's
//! following mode, so a last line without its newline is held until the
//! newline arrives.
//!
//! Rotation is noticed when the reader is at the end of the data: the path is
//! looked at, and if it now names another file (another inode: renamed away
//! and recreated) or the open file got shorter than what was read
//! (copy-truncate), the open file is read to its end, its held last record is
//! framed, and reading goes on from the start of the file now at the path.
//! Lines appended between the last read and a copy-truncate are lost: that is
//! a property of copy-truncate itself, which no reader can avoid.

use std::collections::VecDeque;
use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ctistream_core::connect::{
    Connect, Health, Intake, Polled, Source, SourceRecord, SourceReject, StreamLabel,
};
use ctistream_core::{Frame, FrameError, FrameReader, Framing, checkpoint};

use super::position::{FileIdentity, TailPosition};

/// At most this many records and rejects are handed out per poll, so the
/// driver stays responsive.
const MAX_PER_POLL: usize = 4096;

/// How to read a file as a source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileTailConfig {
    /// The file.
    pub path: PathBuf,
    /// How records are delimited.
    pub framing: Framing,
    /// The record size limit in bytes; longer records are rejected.
    pub max_record: usize,
    /// Whether to keep reading as the file grows and rotates (`true`), or to
    /// end at the end of the file (`false`). A followed file's last record is
    /// handed out once it is known to be complete: a line when its newline
    /// arrives, a T-Server log record when the next record begins (or the
    /// file is rotated).
    pub follow: bool,
    /// How often a followed file is looked at again when it has nothing new.
    pub poll_interval: Duration,
    /// Where committed positions are kept across runs: on connect, reading
    /// resumes there if it names the file now at the path; every commit
    /// rewrites it atomically (a [`checkpoint`](ctistream_core::checkpoint)
    /// file). `None`: every run reads the file from its start.
    pub position_file: Option<PathBuf>,
}

impl FileTailConfig {
    /// Reads `path` with `framing` to its end, with the default record limit.
    pub fn new(path: impl Into<PathBuf>, framing: Framing) -> FileTailConfig {
        FileTailConfig {
            path: path.into(),
            framing,
            max_record: ctistream_core::DEFAULT_MAX_RECORD,
            follow: false,
            poll_interval: Duration::from_millis(100),
            position_file: None,
        }
    }

    /// The same config, following the file (`true`) or not.
    pub fn follow(mut self, follow: bool) -> FileTailConfig {
        self.follow = follow;
        self
    }

    /// Opens the file at the path and frames it from its start, or from
    /// `resume` if that position is in this file.
    fn open_at(&self, resume: Option<TailPosition>) -> io::Result<OpenFile> {
        let mut file = File::open(&self.path)?;
        let metadata = file.metadata()?;
        if metadata.is_dir() {
            return Err(io::Error::other("it is a directory"));
        }
        let identity = FileIdentity::of(&metadata);
        let (base_offset, line_base) = match resume {
            Some(at) if at.file.is_some() && at.file == identity && at.offset <= metadata.len() => {
                // Lines before the position are counted so origins keep
                // their line numbers (a memchr pass: fast even for big logs).
                let lines = count_lines(&mut file, at.offset)?;
                file.seek(SeekFrom::Start(at.offset))?;
                (at.offset, lines)
            }
            _ => (0, 0),
        };
        let file = Arc::new(file);
        let mut frames =
            FrameReader::new(Arc::clone(&file), self.framing).with_max_record(self.max_record);
        if self.follow {
            frames = frames.following();
        }
        Ok(OpenFile { file, identity, frames, stage: Stage::Reading, base_offset, line_base })
    }

    /// Opens the file at the path and frames it from its start.
    fn open(&self) -> io::Result<OpenFile> {
        self.open_at(None)
    }

    /// The position kept in the position file, if there is one.
    fn kept_position(&self) -> io::Result<Option<TailPosition>> {
        let Some(path) = &self.position_file else { return Ok(None) };
        let payload = checkpoint::read(path).map_err(|error| {
            io::Error::new(io::ErrorKind::InvalidData, format!("position file {error}"))
        })?;
        payload
            .map(|payload| {
                TailPosition::decode(&payload).ok_or_else(|| {
                    io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("position file {}: not a file position", path.display()),
                    )
                })
            })
            .transpose()
    }
}

impl Connect for FileTailConfig {
    type Running = FileTail;

    /// Opens the file. A followed path that does not exist yet is waited for
    /// (the source is degraded meanwhile); any other failure to open is an
    /// error naming the path.
    fn connect(&self) -> io::Result<FileTail> {
        let name = format!("file:{}", self.path.display());
        let mut missing = None;
        let kept = self.kept_position()?;
        let current = match self.open_at(kept) {
            Ok(open) => Some(open),
            Err(error) if self.follow && error.kind() == io::ErrorKind::NotFound => {
                missing = Some(error.to_string());
                None
            }
            Err(error) => {
                return Err(io::Error::new(
                    error.kind(),
                    format!("cannot open {}: {error}", self.path.display()),
                ));
            }
        };
        Ok(FileTail {
            label: StreamLabel::new(self.path.display().to_string(), ':'),
            name,
            config: self.clone(),
            current,
            replacement: None,
            missing,
            marks: VecDeque::new(),
            next_mark: 1,
            committed: None,
            closed: false,
        })
    }
}

/// How far the open file has been read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    /// Reading as it grows.
    Reading,
    /// Replaced at the path: reading what is left of it.
    Draining,
    /// Read to its end and its last record framed.
    Finished,
}

/// One file being read.
#[derive(Debug)]
struct OpenFile {
    /// The file, shared with the reader so it can be looked at while read.
    file: Arc<File>,
    identity: Option<FileIdentity>,
    frames: FrameReader<Arc<File>>,
    stage: Stage,
    /// Where in the file reading started (a kept position, or 0).
    base_offset: u64,
    /// Lines before `base_offset`, added to the reader's line numbers.
    line_base: u64,
}

impl OpenFile {
    /// Whether the file at the path (`metadata`) is no longer this one, or
    /// this one got shorter than what was read of it.
    fn replaced_by(&self, metadata: &fs::Metadata) -> io::Result<bool> {
        let identity = FileIdentity::of(metadata);
        if identity.is_some() && identity != self.identity {
            return Ok(true);
        }
        Ok(self.file.metadata()?.len() < self.base_offset + self.frames.stats().bytes)
    }
}

/// Newlines in the first `end` bytes of `file` (read from its start).
fn count_lines(file: &mut File, end: u64) -> io::Result<u64> {
    file.seek(SeekFrom::Start(0))?;
    let mut limited = Read::take(&mut *file, end);
    let mut buffer = vec![0u8; 1 << 20];
    let mut lines = 0;
    loop {
        let n = match limited.read(&mut buffer) {
            Ok(0) => return Ok(lines),
            Ok(n) => n,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        lines += memchr::memchr_iter(b'\n', &buffer[..n]).count() as u64;
    }
}

/// What one step of reading found.
enum Step {
    Frame(Result<Frame, FrameError>),
    /// Something changed (a file opened, finished or switched): step again.
    Again,
    /// Nothing new for now.
    Waiting,
    /// The file was read to its end and is not followed.
    Ended,
}

/// A running file source: a file read to its end, or followed as it grows.
///
/// A followed file survives rotation. When the reader is at the end of the
/// data it looks at the path: if the path now names another file (renamed
/// away and recreated) or the open file got shorter than what was read
/// (copy-truncate), the open file is read to its end, its last record is
/// handed out even without a newline, and reading goes on from the start of
/// the file now at the path. Lines appended between the last read and a
/// copy-truncate are lost, as with any reader of copy-truncated logs. While a
/// followed path does not exist the source is degraded and waits for it.
///
/// It has one stream, 0, labelled with the path and `:`; a record's position
/// is its 1-based line (for length-prefixed framing, its frame number) in the
/// file it was read from, so origins read `path:line`. After a rotation the
/// numbering starts again at 1 in the new file.
///
/// A mark covers the [`TailPosition`] reading had reached when it was taken;
/// [`committed_position`](Self::committed_position) is the position of the
/// last committed mark. With [`FileTailConfig::position_file`] each commit
/// also writes it there, and the next connect resumes at it when the path
/// still names that file (device and inode; a file recreated with a reused
/// inode and grown past the old offset cannot be told apart), counting the
/// lines before it so positions go on from where they were.
#[derive(Debug)]
pub struct FileTail {
    name: String,
    label: StreamLabel,
    config: FileTailConfig,
    /// The file being read; `None` while a followed path does not exist yet.
    current: Option<OpenFile>,
    /// The file that replaced `current` at the path, read once `current` is finished.
    replacement: Option<OpenFile>,
    /// Why the path could not be opened, while it cannot.
    missing: Option<String>,
    /// Marks handed out and not yet committed, oldest first.
    marks: VecDeque<(u64, TailPosition)>,
    next_mark: u64,
    committed: Option<TailPosition>,
    closed: bool,
}

impl FileTail {
    /// Where reading has got to: the file and the offset of the first record
    /// not yet handed out. This is what [`mark`](Source::mark) records.
    pub fn position(&self) -> TailPosition {
        match &self.current {
            Some(open) => TailPosition {
                file: open.identity,
                offset: open.base_offset + open.frames.resume_offset(),
            },
            None => TailPosition::default(),
        }
    }

    /// The position of the last committed mark: a restart resumes reading
    /// there. `None` before the first commit.
    pub fn committed_position(&self) -> Option<TailPosition> {
        self.committed
    }

    /// Lines before where reading of the current file started.
    fn line_base(&self) -> u64 {
        self.current.as_ref().map_or(0, |open| open.line_base)
    }

    /// Reads the next record or notices what changed.
    fn step(&mut self) -> io::Result<Step> {
        let Some(current) = self.current.as_mut() else {
            return self.look_at_path();
        };
        if let Some(frame) = current.frames.next() {
            return Ok(Step::Frame(frame));
        }
        match current.stage {
            Stage::Reading if self.config.follow => self.look_at_path(),
            Stage::Reading | Stage::Draining => {
                // Everything the file had is read: frame a last line without newline.
                current.frames.finish();
                current.stage = Stage::Finished;
                Ok(Step::Again)
            }
            Stage::Finished => match self.replacement.take() {
                Some(next) => {
                    self.current = Some(next);
                    Ok(Step::Again)
                }
                None => Ok(Step::Ended),
            },
        }
    }

    /// Looks at the path of a followed file: opens it when it appeared, and
    /// starts draining the open file when another one replaced it.
    fn look_at_path(&mut self) -> io::Result<Step> {
        let path = &self.config.path;
        let metadata = match fs::metadata(path) {
            Ok(metadata) => metadata,
            Err(error) => {
                // Between a rename and the new file's creation, or never created
                // yet: keep reading what is open, and wait.
                self.missing = Some(error.to_string());
                return Ok(Step::Waiting);
            }
        };
        self.missing = None;
        let replaced = match &self.current {
            None => true,
            Some(current) => {
                current.replaced_by(&metadata).map_err(|error| context(path, error))?
            }
        };
        if !replaced {
            return Ok(Step::Waiting);
        }
        let next = match self.config.open() {
            Ok(next) => next,
            Err(error) => {
                self.missing = Some(error.to_string());
                return Ok(Step::Waiting);
            }
        };
        match self.current.as_mut() {
            None => self.current = Some(next),
            Some(current) => {
                current.stage = Stage::Draining;
                self.replacement = Some(next);
            }
        }
        Ok(Step::Again)
    }

    /// Hands a framing error to the rejects, or fails on a read error.
    fn reject(&self, error: FrameError, intake: &mut dyn Intake) -> io::Result<()> {
        if let FrameError::Io(cause) = &error {
            return Err(io::Error::new(
                cause.kind(),
                format!("reading {}: {cause}", self.config.path.display()),
            ));
        }
        intake.reject(SourceReject {
            stream: 0,
            position: error.line().map_or(0, |line| self.line_base() + line),
            reason: error.to_string(),
            class: error.class(),
            raw: error.head().cloned().unwrap_or_default(),
        });
        Ok(())
    }
}

/// `error` with the path in its message.
fn context(path: &Path, error: io::Error) -> io::Error {
    io::Error::new(error.kind(), format!("{}: {error}", path.display()))
}

impl Source for FileTail {
    fn name(&self) -> &str {
        &self.name
    }

    fn poll(&mut self, wait: Duration, intake: &mut dyn Intake) -> io::Result<Polled> {
        if self.closed {
            return Ok(Polled::Ended);
        }
        let deadline = Instant::now().checked_add(wait);
        let mut records = 0;
        let mut handed = 0;
        while handed < MAX_PER_POLL {
            match self.step()? {
                Step::Frame(Ok(frame)) => {
                    intake.record(SourceRecord {
                        payload: frame.payload,
                        key: frame.key,
                        stream: 0,
                        position: self.line_base() + frame.line,
                        replayed: false,
                    });
                    records += 1;
                    handed += 1;
                }
                Step::Frame(Err(error)) => {
                    self.reject(error, intake)?;
                    handed += 1;
                }
                Step::Again => {}
                Step::Ended if records > 0 => break,
                Step::Ended => return Ok(Polled::Ended),
                Step::Waiting if handed > 0 => break,
                Step::Waiting => {
                    let now = Instant::now();
                    let left = deadline
                        .map_or(self.config.poll_interval, |at| at.saturating_duration_since(now));
                    if left.is_zero() {
                        return Ok(Polled::Idle);
                    }
                    std::thread::sleep(left.min(self.config.poll_interval));
                }
            }
        }
        Ok(if records > 0 { Polled::Records(records) } else { Polled::Idle })
    }

    fn stream_label(&self, _stream: u32) -> StreamLabel {
        self.label.clone()
    }

    fn mark(&mut self) -> u64 {
        let mark = self.next_mark;
        self.next_mark += 1;
        let position = self.position();
        self.marks.push_back((mark, position));
        mark
    }

    fn commit(&mut self, mark: u64) -> io::Result<()> {
        // Marks come back in order: the ones before `mark` are covered by it.
        while let Some(&(taken, position)) = self.marks.front() {
            if taken > mark {
                break;
            }
            self.marks.pop_front();
            if taken == mark {
                self.committed = Some(position);
                if let Some(path) = &self.config.position_file {
                    checkpoint::write(path, &position.encode()).map_err(|error| {
                        io::Error::other(format!("{}: keeping the position: {error}", self.name))
                    })?;
                }
                return Ok(());
            }
        }
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{}: mark {mark} was not handed out or is already committed", self.name),
        ))
    }

    fn save_position(&mut self) -> Option<Vec<u8>> {
        Some(self.position().encode())
    }

    /// Reopens the path at `saved` when it still names that file; when it
    /// names another (the file was rotated away since), reading starts at
    /// the new file's beginning and the warning says what was skipped.
    fn resume_from(&mut self, saved: &[u8]) -> io::Result<()> {
        let at = TailPosition::decode(saved).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: not a file position", self.name),
            )
        })?;
        let open = match self.config.open_at(Some(at)) {
            Ok(open) => open,
            Err(error) if self.config.follow && error.kind() == io::ErrorKind::NotFound => {
                self.missing = Some(error.to_string());
                self.current = None;
                return Ok(());
            }
            Err(error) => return Err(context(&self.config.path, error)),
        };
        if at.offset > 0 && open.base_offset != at.offset {
            eprintln!(
                "ctistream: warning: {} is no longer the file read up to byte {} (rotated or \
                 truncated since); reading it from its start",
                self.config.path.display(),
                at.offset
            );
        }
        self.current = Some(open);
        self.replacement = None;
        self.missing = None;
        Ok(())
    }

    fn health(&self) -> Health {
        if self.closed {
            return Health::Down("closed".into());
        }
        match &self.missing {
            Some(why) if self.config.follow => Health::Degraded(format!(
                "cannot open {} ({why}); waiting for it to appear",
                self.config.path.display()
            )),
            _ => Health::Up,
        }
    }

    fn close(&mut self) -> io::Result<()> {
        self.closed = true;
        self.current = None;
        self.replacement = None;
        Ok(())
    }
}
