//! Decode errors: what was wrong, where (byte offset in the record), and a
//! reason a person can act on. Constructors are `#[cold]` so the happy path
//! pays nothing for them.

use std::fmt;

use crate::event::{Attr, EventKind};

/// The result of decoding one record.
pub type DecodeResult<T> = Result<T, DecodeError>;

/// Why a record was rejected, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    kind: ErrorKind,
    offset: usize,
    found: Option<Box<str>>,
}

/// The class of a decode error. Each variant's text is its reason class, used to
/// count rejects by reason.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The record is not valid UTF-8.
    InvalidUtf8,
    /// The JSON is malformed.
    Json(JsonError),
    /// Objects and arrays nest deeper than the configured limit.
    DepthLimit(u32),
    /// The record is valid JSON but not an object.
    NotAnObject,
    /// The record has no event name (`id`, `name`, `eventType`, element, `message Event…`).
    MissingEventName,
    /// The event name is not one this dialect has.
    UnknownEvent,
    /// An attribute has a value of the wrong type.
    InvalidValue {
        /// The attribute or field name.
        field: &'static str,
        /// What was expected, e.g. "a string or an integer".
        expected: &'static str,
    },
    /// An enumeration name that the attribute's table does not have.
    UnknownEnumName {
        /// The attribute.
        attr: Attr,
    },
    /// The event lacks an attribute it cannot be processed without.
    MissingAttribute {
        /// The event.
        event: EventKind,
        /// The attribute that is missing.
        attr: Attr,
    },
    /// A call event with no call identity (key, CallThreadID, CallUUID or ConnID).
    MissingCallId {
        /// The event.
        event: EventKind,
    },
    /// The event time is not RFC 3339 text or an epoch integer in the dialect's
    /// unit (`"microseconds"` for genesys, `"milliseconds"` for ors and sdk).
    InvalidTime(&'static str),
    /// The T-Server log record is malformed.
    Tlog(&'static str),
    /// The XML is malformed, or not an IVR Server message.
    Xml(&'static str),
    /// With `--format auto`: the record is not JSON, XML or a T-Server log event,
    /// or is JSON of no known dialect.
    UnrecognizedDialect,
    /// The record is longer than the configured limit.
    RecordTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
}

/// What the JSON grammar expected at the error position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum JsonError {
    /// A value was expected.
    ExpectedValue,
    /// `:` after an object key.
    ExpectedColon,
    /// A string key (or `}` right after `{`).
    ExpectedKey,
    /// `,` or `}` after an object member.
    ExpectedCommaOrBrace,
    /// `,` or `]` after an array element.
    ExpectedCommaOrBracket,
    /// A malformed number.
    InvalidNumber,
    /// A malformed escape sequence.
    InvalidEscape,
    /// An unescaped control character inside a string.
    ControlCharacter,
    /// `true`, `false` or `null` misspelled.
    InvalidLiteral,
    /// The record ended inside a value.
    UnexpectedEnd,
    /// Something follows the top-level value.
    TrailingData,
}

impl JsonError {
    fn reason(self) -> &'static str {
        match self {
            JsonError::ExpectedValue => "expected a JSON value",
            JsonError::ExpectedColon => "expected ':' after object key",
            JsonError::ExpectedKey => "expected a string key",
            JsonError::ExpectedCommaOrBrace => "expected ',' or '}' after object member",
            JsonError::ExpectedCommaOrBracket => "expected ',' or ']' after array element",
            JsonError::InvalidNumber => "invalid number",
            JsonError::InvalidEscape => "invalid escape sequence in string",
            JsonError::ControlCharacter => "unescaped control character in string",
            JsonError::InvalidLiteral => "invalid literal (expected true, false or null)",
            JsonError::UnexpectedEnd => "record ends inside a JSON value",
            JsonError::TrailingData => "unexpected data after the JSON object",
        }
    }
}

impl DecodeError {
    #[cold]
    #[inline(never)]
    pub(crate) fn new(kind: ErrorKind, offset: usize) -> DecodeError {
        DecodeError { kind, offset, found: None }
    }

    #[cold]
    #[inline(never)]
    pub(crate) fn json(error: JsonError, offset: usize) -> DecodeError {
        DecodeError::new(ErrorKind::Json(error), offset)
    }

    /// Attaches the offending text (cut to 64 bytes) so the reason can quote it.
    #[cold]
    #[inline(never)]
    pub(crate) fn with_found(mut self, found: &[u8]) -> DecodeError {
        let cut = &found[..found.len().min(64)];
        self.found = Some(String::from_utf8_lossy(cut).into());
        self
    }

    /// What kind of error this is.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// The byte offset in the record payload where the problem was found.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// The reason without position or quoted text, for counting rejects by reason
    /// (`"expected ',' or '}' after object member"`, `"EventRinging without ThisDN"`).
    pub fn class(&self) -> String {
        self.kind.to_string()
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::InvalidUtf8 => f.write_str("invalid UTF-8"),
            ErrorKind::Json(error) => f.write_str(error.reason()),
            ErrorKind::DepthLimit(limit) => write!(f, "nesting deeper than {limit} levels"),
            ErrorKind::NotAnObject => f.write_str("record is not a JSON object"),
            ErrorKind::MissingEventName => f.write_str("record has no event name"),
            ErrorKind::UnknownEvent => f.write_str("unknown event name"),
            ErrorKind::InvalidValue { field, expected } => {
                write!(f, "{field} must be {expected}")
            }
            ErrorKind::UnknownEnumName { attr } => write!(f, "unknown {attr} name"),
            ErrorKind::MissingAttribute { event, attr } => write!(f, "{event} without {attr}"),
            ErrorKind::MissingCallId { event } => {
                write!(f, "{event} without a call id (key, CallThreadID, CallUUID or ConnID)")
            }
            ErrorKind::InvalidTime(unit) => {
                write!(f, "invalid time (expected RFC 3339 text or epoch {unit})")
            }
            ErrorKind::Tlog(reason) => write!(f, "T-Server log: {reason}"),
            ErrorKind::Xml(reason) => write!(f, "XML: {reason}"),
            ErrorKind::UnrecognizedDialect => {
                f.write_str("not a record of any known dialect (genesys, tlog, ors, sdk, ivr)")
            }
            ErrorKind::RecordTooLarge { limit } => {
                write!(f, "record longer than the limit of {limit} bytes")
            }
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.kind)?;
        if let Some(found) = &self.found {
            write!(f, " ('{found}')")?;
        }
        write!(f, " at byte {}", self.offset)
    }
}

impl std::error::Error for DecodeError {}
