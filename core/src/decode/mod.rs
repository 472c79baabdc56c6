//! Decoders: one record in, one [`Event`] out, or a [`DecodeError`] saying where
//! and why.
//!
//! Pick a [`Format`]: one of the five dialects, or [`Format::Auto`], which looks
//! at each record (first byte, then the first distinguishing JSON key) and
//! hands it to the right decoder. Every decoder borrows the record; none
//! allocates on the success path.

pub(crate) mod genesys;
pub(crate) mod ivr;
pub(crate) mod json;
pub(crate) mod ors;
pub(crate) mod sdk;
pub(crate) mod tlib;
pub(crate) mod tlog;

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use crate::error::{DecodeError, DecodeResult, ErrorKind};
use crate::event::{Dialect, Event, Timestamp};

use json::Scanner;

/// The default nesting limit for JSON records.
pub const DEFAULT_MAX_DEPTH: u32 = 128;

/// Limits and context for decoding.
#[derive(Clone, Debug)]
pub struct DecodeOptions {
    /// Deepest nesting of JSON objects and arrays accepted, the record's own
    /// object included (default 128).
    pub max_depth: u32,
    /// The day T-Server log times of day fall on (`--log-date`); the midnight
    /// that starts it. `None`: 1970-01-01, which keeps times comparable within
    /// one log.
    pub log_date: Option<Timestamp>,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        DecodeOptions { max_depth: DEFAULT_MAX_DEPTH, log_date: None }
    }
}

/// The input format: a dialect, or per-record detection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Format {
    /// Detect the dialect of each record.
    #[default]
    Auto,
    /// Voice Microservices JSON.
    Genesys,
    /// T-Server log text.
    Tlog,
    /// Orchestration Server JSON.
    Ors,
    /// Agent desktop SDK JSON.
    Sdk,
    /// IVR Server XML.
    Ivr,
}

impl Format {
    /// The names accepted by [`Format::from_str`].
    pub const NAMES: [&'static str; 6] = ["auto", "genesys", "tlog", "ors", "sdk", "ivr"];

    /// The single dialect of this format, `None` for `Auto`.
    pub const fn dialect(self) -> Option<Dialect> {
        match self {
            Format::Auto => None,
            Format::Genesys => Some(Dialect::Genesys),
            Format::Tlog => Some(Dialect::Tlog),
            Format::Ors => Some(Dialect::Ors),
            Format::Sdk => Some(Dialect::Sdk),
            Format::Ivr => Some(Dialect::Ivr),
        }
    }
}

impl From<Dialect> for Format {
    fn from(dialect: Dialect) -> Format {
        match dialect {
            Dialect::Genesys => Format::Genesys,
            Dialect::Tlog => Format::Tlog,
            Dialect::Ors => Format::Ors,
            Dialect::Sdk => Format::Sdk,
            Dialect::Ivr => Format::Ivr,
        }
    }
}

/// The error of [`Format::from_str`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownFormat(String);

impl fmt::Display for UnknownFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown format '{}' (expected one of: {})", self.0, Format::NAMES.join(", "))
    }
}

impl std::error::Error for UnknownFormat {}

impl FromStr for Format {
    type Err = UnknownFormat;

    fn from_str(name: &str) -> Result<Format, UnknownFormat> {
        Ok(match name.to_ascii_lowercase().as_str() {
            "auto" => Format::Auto,
            "genesys" => Format::Genesys,
            "tlog" => Format::Tlog,
            "ors" => Format::Ors,
            "sdk" => Format::Sdk,
            "ivr" => Format::Ivr,
            _ => return Err(UnknownFormat(name.to_owned())),
        })
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.dialect().map_or("auto", Dialect::name))
    }
}

/// Decodes records of one [`Format`].
///
/// # Examples
///
/// ```
/// use ctistream_core::{Decoder, Dialect, Format};
///
/// let decoder = Decoder::new(Format::Auto);
/// let event = decoder.decode(br#"<MonitorInfo><Port PortNum="12" Status="OK"/></MonitorInfo>"#, None)?;
/// assert_eq!(event.dialect(), Dialect::Ivr);
///
/// let error = decoder.decode(br#"{"id":"EventRinging","ThisDN":"5001" "ConnID":"0a"}"#, None).unwrap_err();
/// assert_eq!(error.to_string(), "expected ',' or '}' after object member at byte 37");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct Decoder {
    format: Format,
    options: DecodeOptions,
}

impl Decoder {
    /// A decoder for `format` with default options.
    pub fn new(format: Format) -> Decoder {
        Decoder { format, options: DecodeOptions::default() }
    }

    /// A decoder for `format` with `options`.
    pub fn with_options(format: Format, options: DecodeOptions) -> Decoder {
        Decoder { format, options }
    }

    /// The format this decoder reads.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The options in force.
    pub fn options(&self) -> &DecodeOptions {
        &self.options
    }

    /// Decodes one record payload; `key` is the record key (`TENANT:ID`) from
    /// outside the payload, if any.
    ///
    /// # Errors
    /// A [`DecodeError`] with the byte offset in `payload` and the reason.
    #[inline]
    pub fn decode<'a>(&self, payload: &'a [u8], key: Option<&'a [u8]>) -> DecodeResult<Event<'a>> {
        let dialect = match self.format.dialect() {
            Some(dialect) => dialect,
            None => detect(payload, self.options.max_depth)?,
        };
        decode_as(dialect, payload, key, &self.options)
    }
}

/// Decodes `payload` as `dialect`.
///
/// # Errors
/// A [`DecodeError`] with the byte offset in `payload` and the reason.
pub fn decode_as<'a>(
    dialect: Dialect,
    payload: &'a [u8],
    key: Option<&'a [u8]>,
    options: &DecodeOptions,
) -> DecodeResult<Event<'a>> {
    match dialect {
        Dialect::Genesys => genesys::decode(payload, key, options),
        Dialect::Tlog => tlog::decode(payload, key, options),
        Dialect::Ors => ors::decode(payload, key, options),
        Dialect::Sdk => sdk::decode(payload, key, options),
        Dialect::Ivr => ivr::decode(payload, key, options),
    }
}

/// Finds the dialect of one record: `<` is IVR XML; `{` is JSON, told apart by
/// its first top-level key among `id` (genesys), `name` (ors) and `eventType`
/// (sdk); a `message Event…` line is a T-Server log record.
///
/// # Errors
/// [`ErrorKind::UnrecognizedDialect`], or the JSON error that stopped the scan.
pub fn detect(payload: &[u8], max_depth: u32) -> DecodeResult<Dialect> {
    let start = payload.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(payload.len());
    match payload.get(start) {
        Some(b'<') => return Ok(Dialect::Ivr),
        Some(b'{') => return detect_json(payload, start, max_depth),
        _ => {}
    }
    if tlog::is_event_header(payload) {
        return Ok(Dialect::Tlog);
    }
    Err(DecodeError::new(ErrorKind::UnrecognizedDialect, start))
}

/// Scans top-level keys until one names the dialect; stops there, so the cost
/// is usually one member. `id` and `eventType` decide at once; `name` decides
/// for ors only when it reads like an ORS event name, so an SDK record that
/// happens to carry a `name` before its `eventType` is not misread.
fn detect_json(payload: &[u8], start: usize, max_depth: u32) -> DecodeResult<Dialect> {
    const ORS_PREFIXES: [&[u8]; 5] =
        [b"interaction.", b"voice.", b"msgbased.", b"chat.", b"error."];
    let mut found = None;
    let mut ors_name = false;
    let result = json::for_each_member(payload, max_depth, |scanner: &mut Scanner<'_>, key| {
        found = match key {
            b"id" => Some(Dialect::Genesys),
            b"eventType" => Some(Dialect::Sdk),
            _ => None,
        };
        if found.is_some() {
            // Stop the walk early; the chosen decoder validates the whole record.
            return Err(DecodeError::new(ErrorKind::UnrecognizedDialect, usize::MAX));
        }
        let value = scanner.value(1)?;
        if key == b"name" {
            if let crate::event::Value::Text(span) = value {
                let name = span.of(payload);
                if ORS_PREFIXES.iter().any(|prefix| name.starts_with(prefix)) {
                    found = Some(Dialect::Ors);
                    return Err(DecodeError::new(ErrorKind::UnrecognizedDialect, usize::MAX));
                }
            }
            ors_name = true;
        }
        Ok(())
    });
    match (found, result) {
        (Some(dialect), _) => Ok(dialect),
        (None, Err(error)) => Err(error),
        // A `name` of no known namespace: the ors decoder says why it is wrong.
        (None, Ok(())) if ors_name => Ok(Dialect::Ors),
        (None, Ok(())) => Err(DecodeError::new(ErrorKind::UnrecognizedDialect, start)),
    }
}

/// Decodes the entity references of XML text; borrowed when there are none.
pub fn unescape_xml(raw: &[u8]) -> Cow<'_, str> {
    let text = String::from_utf8_lossy(raw);
    let unescaped = match quick_xml::escape::unescape(&text) {
        Ok(Cow::Owned(owned)) => Some(owned),
        _ => None,
    };
    unescaped.map_or(text, Cow::Owned)
}

impl<'a> crate::event::Event<'a> {
    /// The text of `key` in the key-value list `attr` (`UserData`, `Reasons`,
    /// `Extensions`), whether it came as a JSON object (genesys) or a T-Server log
    /// list (tlog). Nested values come back raw; `None` when absent.
    ///
    /// # Examples
    /// ```
    /// use ctistream_core::{Attr, Decoder, Format};
    /// let record = br#"{"id":"EventAgentNotReady","ThisDN":"5001","Reasons":{"ReasonCode":"Break"}}"#;
    /// let event = Decoder::new(Format::Genesys).decode(record, None)?;
    /// assert_eq!(event.kv_text(Attr::Reasons, "ReasonCode").as_deref(), Some("Break"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn kv_text(&self, attr: crate::event::Attr, key: &str) -> Option<Cow<'a, str>> {
        use crate::event::Value;
        let payload = self.payload();
        match self.get(attr)? {
            Value::KvList(span) => tlog::kv_pairs(span.of(payload))
                .find(|(name, _)| *name == key.as_bytes())
                .map(|(_, value)| String::from_utf8_lossy(value)),
            Value::Json(span) => {
                let mut found = None;
                let _ = json::for_each_nested_member(payload, span, u32::MAX, |scanner, name| {
                    let value = scanner.value(2)?;
                    if found.is_none() && name == key.as_bytes() {
                        found = Some(value);
                    }
                    Ok(())
                });
                match found? {
                    Value::Text(span) | Value::Number(span) | Value::Json(span) => {
                        Some(String::from_utf8_lossy(span.of(payload)))
                    }
                    Value::JsonEscaped(span) => {
                        Some(Cow::Owned(json::unescape_json(span.of(payload))))
                    }
                    Value::Int(n) => Some(Cow::Owned(n.to_string())),
                    Value::Bool(b) => Some(Cow::Borrowed(if b { "true" } else { "false" })),
                    _ => None,
                }
            }
            _ => None,
        }
    }
}
