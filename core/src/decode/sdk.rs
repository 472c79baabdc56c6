//! The `sdk` dialect (PROTOCOLS.md). Not yet implemented.

use crate::error::{DecodeError, DecodeResult, ErrorKind};
use crate::event::Event;

use super::DecodeOptions;

/// Decodes one `sdk` record.
pub(crate) fn decode<'a>(
    payload: &'a [u8],
    key: Option<&'a [u8]>,
    options: &DecodeOptions,
) -> DecodeResult<Event<'a>> {
    let _ = (payload, key, options);
    Err(DecodeError::new(ErrorKind::UnrecognizedDialect, 0))
}
