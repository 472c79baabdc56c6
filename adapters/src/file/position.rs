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

impl TailPosition {
    /// The position as kept in a position file: `device inode offset`, or
    /// `- - offset` without a file identity.
    pub fn encode(&self) -> Vec<u8> {
        match self.file {
            Some(file) => format!("{} {} {}\n", file.device, file.inode, self.offset),
            None => format!("- - {}\n", self.offset),
        }
        .into_bytes()
    }

    /// A position [`encode`](Self::encode) wrote; `None` for anything else.
    pub fn decode(bytes: &[u8]) -> Option<TailPosition> {
        let text = std::str::from_utf8(bytes).ok()?;
        let mut fields = text.split_ascii_whitespace();
        let (device, inode, offset) = (fields.next()?, fields.next()?, fields.next()?);
        if fields.next().is_some() {
            return None;
        }
        let file = match (device, inode) {
            ("-", "-") => None,
            (device, inode) => {
                Some(FileIdentity { device: device.parse().ok()?, inode: inode.parse().ok()? })
            }
        };
        Some(TailPosition { file, offset: offset.parse().ok()? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_position_reads_back_as_written_and_nothing_else_reads() {
        let at = TailPosition { file: Some(FileIdentity { device: 2049, inode: 77 }), offset: 9 };
        assert_eq!(TailPosition::decode(&at.encode()), Some(at));
        let anonymous = TailPosition { file: None, offset: 3 };
        assert_eq!(TailPosition::decode(&anonymous.encode()), Some(anonymous));
        for bad in [&b""[..], b"1 2", b"1 2 3 4", b"a b 3", b"1 2 -3", b"\xff"] {
            assert_eq!(TailPosition::decode(bad), None, "{bad:?}");
        }
    }
}
