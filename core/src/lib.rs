//! ctistream-core: the event model, zero-copy decoders and record framing of
//! ctistream, a stream processor for contact-center telephony (CTI) events.
//!
//! # Brief overview
//!
//! - A [`FrameReader`] cuts a byte stream into records ([`Frame`]): newline
//!   delimited with an optional `KEY<TAB>` prefix, 4-byte length prefixed, or
//!   multi-line T-Server log records. Frames are `bytes::Bytes` slices of large
//!   read buffers: no copy per record.
//! - A [`Decoder`] turns a record into an [`Event`]: its [`EventKind`], time,
//!   key and an index of [`Attr`]ibute values that point into the record. Five
//!   dialects ([`Dialect`]) are understood; [`Format::Auto`] detects them per
//!   record.
//! - Malformed records give a [`DecodeError`] with the byte offset and a reason
//!   a person can act on; decoding goes on with the next record.
//!
//! # Example
//!
//! ```
//! use ctistream_core::{Attr, Decoder, Format, FrameReader, Framing};
//!
//! let input = "t1:ct-1\t{\"id\":\"EventRinging\",\"ThisDN\":\"5001\",\"AgentID\":\"a1001\"}\n\
//!              {\"id\":\"EventRinging\",\"ThisDN\":\"5001\"\n";
//! let decoder = Decoder::new(Format::Genesys);
//! let mut accepted = 0;
//! let mut reasons = Vec::new();
//! for frame in FrameReader::new(input.as_bytes(), Framing::Lines) {
//!     let frame = frame?;
//!     match decoder.decode(&frame.payload, frame.key.as_deref()) {
//!         Ok(event) => {
//!             assert_eq!(event.text(Attr::AgentID).as_deref(), Some("a1001"));
//!             accepted += 1;
//!         }
//!         Err(error) => reasons.push(format!("line {}: {error}", frame.line)),
//!     }
//! }
//! assert_eq!(accepted, 1);
//! assert_eq!(reasons, ["line 2: record ends inside a JSON value at byte 36"]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

pub mod checkpoint;
pub mod connect;
mod decode;
mod error;
mod event;
mod frame;
mod loom;
mod output;
pub mod pipeline;
pub mod state;

pub use crate::decode::json::{unescape_json, validate as validate_json};
pub use crate::decode::tlog::kv_pairs;
pub use crate::decode::{
    DEFAULT_MAX_DEPTH, DecodeOptions, Decoder, Format, UnknownFormat, decode_as, detect,
    unescape_xml,
};
pub use crate::error::{DecodeError, DecodeResult, ErrorKind, JsonError};
pub use crate::event::{
    AgentStatus, AgentWorkMode, Attr, CallState, CallType, Category, Cause, DEFAULT_TENANT,
    Dialect, DnRole, Event, EventBuilder, EventKind, IvrMessage, IvrStatus, OrsEvent, OrsNamespace,
    OwnedEvent, SdkAgentState, SdkCallType, SdkEvent, Span, TEvent, Timestamp, Value, split_key,
};
pub use crate::frame::{
    DEFAULT_MAX_RECORD, Frame, FrameError, FrameReader, FrameStats, Framing, MemoryFrames,
};
pub use crate::output::write_json_string;
pub use crate::state::{
    ActionStats, InteractionConfig, InteractionRecord, InteractionReducer, InteractionSummary,
    LatencyStats,
};
