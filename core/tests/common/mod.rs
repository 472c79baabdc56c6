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

/// Bytes that JSON gives meaning to.
const JSON_BYTES: &[u8] = b"{}[]\":,.\\ 0e-nul";

/// Applies byte edits to `payload`: each `(position, op, byte)` replaces
/// (op 0), inserts (op 1) or removes (op 2) at the position. Half the bytes
/// are mapped to JSON's own alphabet, so edited records stay near-valid.
pub fn mutate_json(payload: &mut Vec<u8>, edits: &[(proptest::sample::Index, u8, u8)]) {
    for &(ref index, op, byte) in edits {
        if payload.is_empty() {
            payload.push(byte);
            continue;
        }
        let at = index.index(payload.len());
        let byte =
            if byte % 2 == 0 { JSON_BYTES[usize::from(byte / 2) % JSON_BYTES.len()] } else { byte };
        match op {
            0 => payload[at] = byte,
            1 => payload.insert(at, byte),
            _ => {
                payload.remove(at);
            }
        }
    }
}
