//! Helpers shared by the decoder tests (each test binary uses a subset).
#![allow(dead_code)]

use std::fs::File;

use ctistream_core::{Attr, DecodeError, Decoder, Event, Format, Frame, FrameReader, Framing};

/// Decodes `record` as `format`, without a key.
pub fn decode_as(format: Format, record: &str) -> Result<Event<'_>, DecodeError> {
    Decoder::new(format).decode(record.as_bytes(), None)
}

/// The error for a record that must be rejected.
pub fn reject_as(format: Format, record: &str) -> DecodeError {
    match decode_as(format, record) {
        Ok(event) => panic!("accepted {record}: {event:?}"),
        Err(error) => error,
    }
}

/// The offset of the first occurrence of `needle` in `record`.
pub fn at(record: &str, needle: &str) -> usize {
    record.find(needle).unwrap_or_else(|| panic!("{needle} not in {record}"))
}

/// The line frames of a fixture under `tests/data/`.
pub fn frames(file: &str) -> Vec<Frame> {
    let path = format!("{}/tests/data/{file}", env!("CARGO_MANIFEST_DIR"));
    let file = File::open(&path).unwrap_or_else(|error| panic!("{path}: {error}"));
    FrameReader::new(file, Framing::Lines).collect::<Result<_, _>>().expect("framing")
}

/// An attribute as owned text.
pub fn text(event: &Event<'_>, attr: Attr) -> Option<String> {
    event.text(attr).map(|text| text.into_owned())
}
