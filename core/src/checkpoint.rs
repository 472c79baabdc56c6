//! The checkpoint file: a versioned, checksummed container written atomically,
//! and refused whole when it is damaged or from another format version.
//!
//! ```text
//! offset  size  field
//!      0     8  magic "CTISCKPT"
//!      8     4  format version (u32, little-endian)
//!     12     8  payload length in bytes (u64, little-endian)
//!     20     4  CRC-32 (IEEE) of the payload (u32, little-endian)
//!     24     n  payload
//! ```
//!
//! Writing goes to `NAME.tmp` in the same directory, fsyncs it, renames it over
//! `NAME` and fsyncs the directory: a crash leaves either the old checkpoint or
//! the new one, never a mix. Reading checks the magic, the version, the length
//! and the checksum before handing out one byte of the payload.
//!
//! What goes into the payload (reducer state, source positions) is the
//! caller's; this module only makes sure it comes back exactly or not at all.

use std::fmt;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The first eight bytes of every checkpoint.
pub const MAGIC: &[u8; 8] = b"CTISCKPT";

/// The format version this build writes and reads (2: agents keep where
/// their sessions began, for the commit floors).
pub const FORMAT_VERSION: u32 = 2;

const HEADER: usize = 24;

/// Why a checkpoint was not loaded.
#[derive(Debug)]
pub enum CheckpointError {
    /// Reading or writing failed.
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        error: io::Error,
    },
    /// The file does not start with [`MAGIC`]: not a checkpoint.
    NotACheckpoint {
        /// The file.
        path: PathBuf,
    },
    /// Written by a build with another format version.
    Version {
        /// The file.
        path: PathBuf,
        /// The version in the file.
        found: u32,
    },
    /// Shorter or longer than its header says (a torn or appended-to file).
    Length {
        /// The file.
        path: PathBuf,
        /// Payload bytes the header announces.
        expected: u64,
        /// Payload bytes present.
        found: u64,
    },
    /// The payload does not match its checksum.
    Checksum {
        /// The file.
        path: PathBuf,
        /// The checksum in the header.
        expected: u32,
        /// The checksum of the payload present.
        found: u32,
    },
}

impl fmt::Display for CheckpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckpointError::Io { path, error } => write!(f, "{}: {error}", path.display()),
            CheckpointError::NotACheckpoint { path } => {
                write!(f, "{}: not a ctistream checkpoint (no {MAGIC:?} header)", path.display())
            }
            CheckpointError::Version { path, found } => write!(
                f,
                "{}: checkpoint format version {found}, this build reads version \
                 {FORMAT_VERSION}; start without it (or with the build that wrote it)",
                path.display()
            ),
            CheckpointError::Length { path, expected, found } => write!(
                f,
                "{}: damaged checkpoint: the header announces {expected} bytes of state, the \
                 file holds {found}",
                path.display()
            ),
            CheckpointError::Checksum { path, expected, found } => write!(
                f,
                "{}: damaged checkpoint: checksum {found:08x} where the header says \
                 {expected:08x}",
                path.display()
            ),
        }
    }
}

impl std::error::Error for CheckpointError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CheckpointError::Io { error, .. } => Some(error),
            _ => None,
        }
    }
}

/// Writes `payload` as the checkpoint at `path`, atomically: after a crash at
/// any point, `path` holds the previous checkpoint or this one.
///
/// # Errors
/// When the temporary file cannot be written or synced, or the rename or the
/// directory sync fails; the previous checkpoint is then untouched.
pub fn write(path: &Path, payload: &[u8]) -> Result<(), CheckpointError> {
    write_parts(path, &[payload])
}

/// [`write()`] with the payload given as `parts` one after another, written
/// as they are: a state of hundreds of megabytes is not copied into one
/// buffer first.
///
/// # Errors
/// As [`write()`].
pub fn write_parts(path: &Path, parts: &[&[u8]]) -> Result<(), CheckpointError> {
    let io = |error| CheckpointError::Io { path: path.to_owned(), error };
    let temporary = temporary_of(path);
    let mut file = File::create(&temporary).map_err(io)?;
    let mut checksum = crc32fast::Hasher::new();
    let mut length = 0u64;
    for part in parts {
        checksum.update(part);
        length += part.len() as u64;
    }
    let mut header = [0u8; HEADER];
    header[..8].copy_from_slice(MAGIC);
    header[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    header[12..20].copy_from_slice(&length.to_le_bytes());
    header[20..24].copy_from_slice(&checksum.finalize().to_le_bytes());
    let mut written = file.write_all(&header);
    for part in parts {
        written = written.and_then(|()| file.write_all(part));
    }
    if let Err(error) = written.and_then(|()| file.sync_all()) {
        let _ = fs::remove_file(&temporary);
        return Err(io(error));
    }
    drop(file);
    fs::rename(&temporary, path).map_err(io)?;
    sync_directory_of(path).map_err(io)
}

/// Reads the checkpoint at `path`: its payload, or why it cannot be used.
/// `Ok(None)` when there is none.
///
/// # Errors
/// A file that cannot be read, is not a checkpoint, is of another format
/// version, or is damaged (length or checksum).
pub fn read(path: &Path) -> Result<Option<Vec<u8>>, CheckpointError> {
    let mut bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(CheckpointError::Io { path: path.to_owned(), error }),
    };
    let path = path.to_owned();
    if bytes.len() < 8 || &bytes[..8] != MAGIC {
        return Err(CheckpointError::NotACheckpoint { path });
    }
    let field = |range: std::ops::Range<usize>| bytes.get(range).unwrap_or(&[]).to_vec();
    let Ok(version) = <[u8; 4]>::try_from(field(8..12)) else {
        return Err(CheckpointError::Length { path, expected: 0, found: 0 });
    };
    let found = u32::from_le_bytes(version);
    if found != FORMAT_VERSION {
        return Err(CheckpointError::Version { path, found });
    }
    let present = bytes.len().saturating_sub(HEADER) as u64;
    let (Ok(length), Ok(checksum)) =
        (<[u8; 8]>::try_from(field(12..20)), <[u8; 4]>::try_from(field(20..24)))
    else {
        return Err(CheckpointError::Length { path, expected: 0, found: present });
    };
    let expected = u64::from_le_bytes(length);
    if expected != present {
        return Err(CheckpointError::Length { path, expected, found: present });
    }
    let expected = u32::from_le_bytes(checksum);
    let payload = bytes.split_off(HEADER);
    let found = crc32fast::hash(&payload);
    if found != expected {
        return Err(CheckpointError::Checksum { path, expected, found });
    }
    Ok(Some(payload))
}

/// `NAME.tmp` beside `NAME`.
fn temporary_of(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_owned();
    name.push(".tmp");
    path.with_file_name(name)
}

/// Makes a rename in the directory of `path` durable.
fn sync_directory_of(path: &Path) -> io::Result<()> {
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    File::open(directory)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("ctistream-ckpt-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir.join("state.ckpt")
    }

    #[test]
    fn a_checkpoint_comes_back_exactly_and_replaces_the_last_one() {
        let path = scratch("roundtrip");
        assert!(read(&path).unwrap().is_none(), "none yet");
        write(&path, b"first").unwrap();
        write(&path, b"second state").unwrap();
        assert_eq!(read(&path).unwrap().unwrap(), b"second state");
        assert!(!temporary_of(&path).exists(), "no temporary file left behind");
        write(&path, b"").unwrap();
        assert_eq!(read(&path).unwrap().unwrap(), b"");
        write_parts(&path, &[b"second", b" ", b"", b"state"]).unwrap();
        assert_eq!(read(&path).unwrap().unwrap(), b"second state", "parts make one payload");
    }

    #[test]
    fn a_damaged_or_foreign_checkpoint_is_refused_whole_with_the_reason() {
        let path = scratch("damaged");
        write(&path, b"agent state and positions").unwrap();
        let good = fs::read(&path).unwrap();

        let mut flipped = good.clone();
        *flipped.last_mut().unwrap() ^= 1;
        fs::write(&path, &flipped).unwrap();
        let error = read(&path).unwrap_err();
        assert!(matches!(error, CheckpointError::Checksum { .. }), "{error}");
        assert!(error.to_string().contains("damaged checkpoint: checksum"), "{error}");

        fs::write(&path, &good[..good.len() - 3]).unwrap();
        let error = read(&path).unwrap_err();
        assert!(
            matches!(error, CheckpointError::Length { expected: 25, found: 22, .. }),
            "{error}"
        );

        let mut newer = good.clone();
        newer[8..12].copy_from_slice(&(FORMAT_VERSION + 1).to_le_bytes());
        fs::write(&path, &newer).unwrap();
        let error = read(&path).unwrap_err();
        let expected =
            format!("version {}, this build reads version {FORMAT_VERSION}", FORMAT_VERSION + 1);
        assert!(error.to_string().contains(&expected), "{error}");

        for foreign in [&b""[..], b"{\"not\":\"a checkpoint\"}", &good[..10]] {
            fs::write(&path, foreign).unwrap();
            let error = read(&path).unwrap_err();
            assert!(
                matches!(
                    error,
                    CheckpointError::NotACheckpoint { .. } | CheckpointError::Length { .. }
                ),
                "{error}"
            );
        }
    }

    #[test]
    fn a_failed_write_leaves_the_last_checkpoint() {
        let path = scratch("failed");
        write(&path, b"kept").unwrap();
        // The temporary's name is taken by a directory: creating it fails.
        fs::create_dir(temporary_of(&path)).unwrap();
        assert!(matches!(write(&path, b"lost"), Err(CheckpointError::Io { .. })));
        assert_eq!(read(&path).unwrap().unwrap(), b"kept");
    }
}
