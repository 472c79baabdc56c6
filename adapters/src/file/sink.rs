//! A file as a [`Sink`]: NDJSON lines appended through a large buffer,
//! made durable by `fsync` on flush, rotated by size.
//!
//! Rotation renames the full file to `PATH.N`, numbering on from the highest
//! `N` already there, and starts a new `PATH`; so `PATH.1`, `PATH.2`, …, then
//! `PATH` hold every line in the order written. A line is never split across
//! two files.
//!
//! A failed write keeps what was not written and tries it again at the next
//! write or flush, so nothing is lost or doubled. A failed `fsync` is final:
//! the kernel may have dropped the data it could not write, and a later
//! `fsync` that succeeds would not bring it back, so the sink refuses all
//! later flushes rather than acknowledge data that may be gone.
//!
//! A path that is a device or a pipe (`/dev/null`, a FIFO) is written through
//! as a stream: there is nothing to fsync (the kernel refuses), to rotate or to
//! truncate, so a rewind to a checkpoint cannot take lines back there.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use ctistream_core::connect::{Connect, Health, Sink};

/// Lines are collected up to this many bytes before they are written.
const BUFFER: usize = 1 << 20;

/// Where a file sink writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileSinkConfig {
    /// The file lines are appended to (created if missing).
    pub path: PathBuf,
    /// Rotate before the file would grow past this many bytes; `None` never
    /// rotates. A single line longer than this gets a file of its own.
    pub rotate_bytes: Option<u64>,
}

impl FileSinkConfig {
    /// Appends to `path` without rotation.
    pub fn new(path: impl Into<PathBuf>) -> FileSinkConfig {
        FileSinkConfig { path: path.into(), rotate_bytes: None }
    }

    /// The same config, rotating at `bytes`.
    pub fn rotate_at(mut self, bytes: u64) -> FileSinkConfig {
        self.rotate_bytes = Some(bytes);
        self
    }

    /// `error` with the path in its message.
    fn context(&self, doing: &str, error: io::Error) -> io::Error {
        io::Error::new(error.kind(), format!("{doing} {}: {error}", self.path.display()))
    }
}

impl Connect for FileSinkConfig {
    type Running = FileSink;

    /// Opens (or creates) the file for appending.
    ///
    /// # Errors
    /// When the file cannot be opened, or rotation is asked of a path that is
    /// not a regular file.
    fn connect(&self) -> io::Result<FileSink> {
        let file = open_append(&self.path).map_err(|error| self.context("cannot open", error))?;
        let metadata = file.metadata().map_err(|error| self.context("cannot open", error))?;
        let regular = metadata.file_type().is_file();
        if !regular && self.rotate_bytes.is_some() {
            let why = io::Error::new(io::ErrorKind::InvalidInput, "not a regular file");
            return Err(self.context("cannot rotate", why));
        }
        let size = metadata.len();
        let last = last_rotation(&self.path).map_err(|error| self.context("cannot list", error))?;
        Ok(FileSink {
            name: format!("file:{}", self.path.display()),
            config: self.clone(),
            file,
            regular,
            size,
            buffer: Vec::with_capacity(BUFFER),
            next_rotation: last + 1,
            renamed: false,
            trouble: None,
            sync_failed: None,
            durable: None,
            closed: false,
        })
    }
}

/// A running file sink: lines are appended through a large buffer, a flush
/// writes them and fsyncs the file, and a file about to outgrow
/// [`FileSinkConfig::rotate_bytes`] is renamed to `PATH.N` (numbering on from
/// the highest `N` there) before a new `PATH` is started, so `PATH.1`, …,
/// `PATH.N`, `PATH` hold every line in order and no line is split.
///
/// A failed write keeps what it could not write for the next flush; a failed
/// fsync is final and every later flush fails: the kernel may have dropped
/// the data it could not write, and a later fsync would not bring it back.
#[derive(Debug)]
pub struct FileSink {
    name: String,
    config: FileSinkConfig,
    /// The file at the path.
    file: File,
    /// Whether it is a regular file, which can be rotated and truncated (not a
    /// device or a pipe: see the module).
    regular: bool,
    /// Its size counting what is still buffered.
    size: u64,
    /// Lines not yet written to `file`.
    buffer: Vec<u8>,
    /// The `N` the next rotation renames the file to (`PATH.N`).
    next_rotation: u64,
    /// The file was renamed away but no new `PATH` could be created yet.
    renamed: bool,
    /// The last write or rotation error, until a flush succeeds.
    trouble: Option<String>,
    /// Why an fsync failed; the sink acknowledges nothing after one.
    sync_failed: Option<String>,
    /// What the last successful flush made durable.
    durable: Option<FileSinkPosition>,
    closed: bool,
}

/// What a file sink has made durable: how many files were rotated away
/// (`PATH.1` to `PATH.N`) and the length of `PATH`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct FileSinkPosition {
    rotations: u64,
    size: u64,
}

impl FileSinkPosition {
    /// `rotations size`, as text.
    fn encode(self) -> Vec<u8> {
        format!("{} {}\n", self.rotations, self.size).into_bytes()
    }

    fn decode(bytes: &[u8]) -> Option<FileSinkPosition> {
        let text = std::str::from_utf8(bytes).ok()?;
        let mut fields = text.split_ascii_whitespace();
        let position = FileSinkPosition {
            rotations: fields.next()?.parse().ok()?,
            size: fields.next()?.parse().ok()?,
        };
        fields.next().is_none().then_some(position)
    }
}

impl FileSink {
    /// Fails when the sink can take nothing more.
    fn check_usable(&self) -> io::Result<()> {
        if self.closed {
            return Err(io::Error::other(format!("{} is closed", self.name)));
        }
        if let Some(why) = &self.sync_failed {
            return Err(io::Error::other(format!(
                "{}: an earlier fsync failed ({why}); data may be lost",
                self.name
            )));
        }
        Ok(())
    }

    /// Writes out the buffer, keeping whatever could not be written.
    // `write_all` would not say how much it wrote before failing; this loop
    // handles short writes itself so the unwritten rest is kept, exactly.
    #[allow(clippy::disallowed_methods)]
    fn write_buffer(&mut self) -> io::Result<()> {
        let mut written = 0;
        let result = loop {
            if written == self.buffer.len() {
                break Ok(());
            }
            match self.file.write(&self.buffer[written..]) {
                Ok(0) => break Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => written += n,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => break Err(error),
            }
        };
        self.buffer.drain(..written);
        result.map_err(|error| self.failed("cannot write", error))
    }

    /// Writes out the buffer and fsyncs the file.
    fn sync(&mut self) -> io::Result<()> {
        self.write_buffer()?;
        if let Err(error) = super::sync_written(&self.file) {
            self.sync_failed = Some(error.to_string());
            return Err(self.failed("cannot fsync", error));
        }
        Ok(())
    }

    /// Closes the full file as `PATH.N` and starts an empty `PATH`. When it
    /// fails after the rename, the next write or flush retries creating `PATH`.
    fn rotate(&mut self) -> io::Result<()> {
        let path = self.config.path.clone();
        if !self.renamed {
            self.sync()?;
            let rotated = numbered(&path, self.next_rotation);
            fs::rename(&path, &rotated).map_err(|error| self.failed("cannot rotate", error))?;
            self.next_rotation += 1;
            self.renamed = true;
        }
        self.file = open_append(&path).map_err(|error| self.failed("cannot create", error))?;
        self.renamed = false;
        self.size = 0;
        // Make the rename and the new file durable too.
        sync_parent(&path).map_err(|error| self.failed("cannot fsync the directory of", error))
    }

    /// Notes `error` for health and names the path in it.
    fn failed(&mut self, doing: &str, error: io::Error) -> io::Error {
        self.trouble = Some(error.to_string());
        self.config.context(doing, error)
    }
}

impl Sink for FileSink {
    fn name(&self) -> &str {
        &self.name
    }

    /// Appends `line` (a newline is added if it has none); the key is not
    /// written, files have no place for it. The line is kept even when this
    /// returns an error (a rotation or a write-out failed): it is written by
    /// a later flush, and only a successful flush acknowledges it.
    fn write(&mut self, _key: &[u8], line: &[u8]) -> io::Result<()> {
        self.check_usable()?;
        let newline = !line.ends_with(b"\n");
        let len = (line.len() + usize::from(newline)) as u64;
        let full =
            self.config.rotate_bytes.is_some_and(|limit| self.size > 0 && self.size + len > limit);
        let rotated = if full || self.renamed { self.rotate() } else { Ok(()) };
        self.buffer.extend_from_slice(line);
        if newline {
            self.buffer.push(b'\n');
        }
        self.size += len;
        rotated?;
        if self.buffer.len() >= BUFFER {
            self.write_buffer()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.check_usable()?;
        if self.renamed {
            self.rotate()?;
        }
        self.sync()?;
        self.trouble = None;
        self.durable =
            Some(FileSinkPosition { rotations: self.next_rotation - 1, size: self.size });
        Ok(())
    }

    fn durable_position(&self) -> Option<Vec<u8>> {
        self.durable.map(|position| position.encode())
    }

    /// Undoes what was written after `saved`: files rotated since are
    /// removed and the file that was `PATH` then becomes `PATH` again,
    /// truncated to the length it had.
    fn rewind_to(&mut self, saved: &[u8]) -> io::Result<()> {
        if !self.regular {
            // What a stream was given cannot be taken back.
            return Ok(());
        }
        let at = FileSinkPosition::decode(saved).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: not a file position", self.name),
            )
        })?;
        let path = self.config.path.clone();
        let last = self.next_rotation - 1;
        if at.rotations > last {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!(
                    "{}: {} is missing (the checkpoint counts {} rotated files)",
                    self.name,
                    numbered(&path, at.rotations).display(),
                    at.rotations
                ),
            ));
        }
        if at.rotations < last {
            // The file that was PATH at the checkpoint was rotated to PATH.N
            // with N one past the rotations then.
            let then = numbered(&path, at.rotations + 1);
            fs::rename(&then, &path).map_err(|error| self.failed("cannot restore", error))?;
            for later in at.rotations + 2..=last {
                let later = numbered(&path, later);
                fs::remove_file(&later).map_err(|error| self.failed("cannot remove", error))?;
            }
        }
        let file = open_append(&path).map_err(|error| self.failed("cannot open", error))?;
        let len = file.metadata().map_err(|error| self.failed("cannot open", error))?.len();
        if len < at.size {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "{}: {} bytes, shorter than the {} the checkpoint saw durable",
                    self.name, len, at.size
                ),
            ));
        }
        file.set_len(at.size).map_err(|error| self.failed("cannot truncate", error))?;
        file.sync_all().map_err(|error| self.failed("cannot fsync", error))?;
        sync_parent(&path).map_err(|error| self.failed("cannot fsync the directory of", error))?;
        self.file = file;
        self.size = at.size;
        self.next_rotation = at.rotations + 1;
        self.buffer.clear();
        self.durable = Some(at);
        Ok(())
    }

    fn health(&self) -> Health {
        if self.closed {
            return Health::Down("closed".into());
        }
        match (&self.sync_failed, &self.trouble) {
            (Some(why), _) => Health::Down(format!("fsync failed: {why}")),
            (None, Some(why)) => Health::Degraded(why.clone()),
            (None, None) => Health::Up,
        }
    }

    /// Lines that could not be written stay in the buffer for the next
    /// flush, so a disk that fills up loses nothing; only a failed fsync
    /// (the kernel may have dropped pages) or closing ends that.
    fn keeps_unwritten(&self) -> bool {
        !self.closed && self.sync_failed.is_none()
    }

    fn close(&mut self) -> io::Result<()> {
        if self.closed {
            return Ok(());
        }
        let flushed = self.flush();
        self.closed = true;
        flushed
    }
}

/// Opens `path` for appending, creating it.
fn open_append(path: &Path) -> io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

/// `PATH.N`.
fn numbered(path: &Path, n: u64) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{n}"));
    PathBuf::from(name)
}

/// The directory `path` is in (`.` for a bare file name).
fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// The highest `N` of the `PATH.N` files already there (0 when none), so
/// rotation numbers on after an earlier run's files.
fn last_rotation(path: &Path) -> io::Result<u64> {
    let Some(name) = path.file_name().and_then(|name| name.to_str()) else { return Ok(0) };
    let prefix = format!("{name}.");
    let mut last = 0;
    for entry in fs::read_dir(parent(path))? {
        let entry = entry?;
        let n = entry
            .file_name()
            .to_str()
            .and_then(|other| other.strip_prefix(&prefix))
            .and_then(|suffix| suffix.parse::<u64>().ok());
        last = last.max(n.unwrap_or(0));
    }
    Ok(last)
}

/// Fsyncs the directory holding `path`, so a rename or creation in it lasts.
fn sync_parent(path: &Path) -> io::Result<()> {
    if cfg!(unix) { File::open(parent(path))?.sync_all() } else { Ok(()) }
}
