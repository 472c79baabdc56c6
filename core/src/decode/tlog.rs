//! The `tlog` dialect (PROTOCOLS.md). Not yet implemented.

use crate::error::{DecodeError, DecodeResult, ErrorKind};
use crate::event::Event;

use super::DecodeOptions;

/// Decodes one `tlog` record.
pub(crate) fn decode<'a>(
    payload: &'a [u8],
    key: Option<&'a [u8]>,
    options: &DecodeOptions,
) -> DecodeResult<Event<'a>> {
    let _ = (payload, key, options);
    Err(DecodeError::new(ErrorKind::UnrecognizedDialect, 0))
}

/// Whether `record` starts with a T-Server log event header: a line containing
/// `message Event`.
pub(crate) fn is_event_header(record: &[u8]) -> bool {
    let line_end = memchr::memchr(b'\n', record).unwrap_or(record.len());
    memchr::memmem::find(&record[..line_end], b"message Event").is_some()
}
