//! Copying record bytes out of librdkafka's buffers into large shared chunks.
//!
//! A message's payload lives in librdkafka's memory only until the message is
//! dropped, so it must be copied once. Copying into one large buffer and
//! splitting a `Bytes` slice off it costs one memcpy and no allocation per
//! record; a chunk is freed when the last record sliced from it is dropped.

use bytes::{Bytes, BytesMut};

/// The size of a fresh chunk: large enough that allocation is rare, small
/// enough that a few long-lived records do not pin much memory.
const CHUNK: usize = 1 << 20;

/// A bump buffer handing out `Bytes` copies.
#[derive(Debug, Default)]
pub(crate) struct Chunks {
    free: BytesMut,
}

impl Chunks {
    /// A copy of `data` as a slice of the current chunk.
    pub(crate) fn copy(&mut self, data: &[u8]) -> Bytes {
        if self.free.capacity() - self.free.len() < data.len() {
            // A record larger than a chunk gets a chunk of its own size.
            self.free = BytesMut::with_capacity(CHUNK.max(data.len()));
        }
        self.free.extend_from_slice(data);
        self.free.split_to(data.len()).freeze()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_share_a_chunk_until_it_is_full() {
        let mut chunks = Chunks::default();
        let a = chunks.copy(b"first");
        let b = chunks.copy(b"second");
        assert_eq!((&a[..], &b[..]), (&b"first"[..], &b"second"[..]));
        // The second copy follows the first in the same allocation.
        assert_eq!(a.as_ptr().wrapping_add(a.len()), b.as_ptr());
        let big = chunks.copy(&vec![7; CHUNK + 1]);
        assert_eq!(big.len(), CHUNK + 1);
        assert_eq!(&chunks.copy(b"")[..], b"");
    }
}
