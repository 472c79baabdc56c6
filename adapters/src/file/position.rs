//! Where a followed file has been read to: which file (a path names different
//! files over time, as logs rotate) and the byte offset in it.

use std::fs::Metadata;

/// Which file a path named when it was opened: its device and inode.
///
/// A rotated log keeps its identity under its new name and the file created
/// at the path gets a new one, which is how rotation is told from appending.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FileIdentity {
    /// The device the file is on.
    pub device: u64,
    /// The inode number on that device.
    pub inode: u64,
}

impl FileIdentity {
    /// The identity of the file `metadata` describes; `None` where the
    /// platform has no inodes (rotation by rename is then not detected, only
    /// truncation).
    pub fn of(metadata: &Metadata) -> Option<FileIdentity> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            Some(FileIdentity { device: metadata.dev(), inode: metadata.ino() })
        }
        #[cfg(not(unix))]
        {
            let _ = metadata;
            None
        }
    }
}

/// A place in a followed file: reading `file` again from `offset` repeats no
/// record handed out before it and misses none after it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct TailPosition {
    /// The file; `None` before any file was opened (a followed path that did
    /// not exist yet) or where the platform has no file identities.
    pub file: Option<FileIdentity>,
    /// The byte offset in that file.
    pub offset: u64,
}
