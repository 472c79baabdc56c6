//! File sources: a path or `-` (standard input), framed into records.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use ctistream_core::{FrameReader, Framing};

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
    /// The I/O error of opening the file, with the path in its message.
    pub fn build(&self) -> io::Result<FileSource> {
        let reader: Box<dyn Read + Send> = if self.is_stdin() {
            Box::new(io::stdin())
        } else {
            let file = File::open(&self.path).map_err(|error| {
                io::Error::new(
                    error.kind(),
                    format!("cannot open {}: {error}", self.path.display()),
                )
            })?;
            Box::new(file)
        };
        let size = if self.is_stdin() {
            None
        } else {
            std::fs::metadata(&self.path).ok().map(|m| m.len())
        };
        Ok(FileSource {
            frames: FrameReader::new(reader, self.framing).with_max_record(self.max_record),
            size,
        })
    }
}

/// An open file source: an iterator of frames.
pub struct FileSource {
    /// The framed records.
    pub frames: FrameReader<Box<dyn Read + Send>>,
    /// The file size when known (for progress).
    pub size: Option<u64>,
}

impl std::fmt::Debug for FileSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileSource")
            .field("stats", self.frames.stats())
            .field("size", &self.size)
            .finish()
    }
}
