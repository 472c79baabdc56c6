//! The `tlog` dialect: T-Server log text (PROTOCOLS.md `tlog`, DOMAIN.md 1.3).
//!
//! A record is the header line that holds `message EventXxx` plus the TAB-led
//! attribute lines after it, as [`Framing::Tlog`](crate::Framing::Tlog) cuts
//! it (TABs shown as spaces):
//!
//! ```text
//! @16:45:24.5939 [0] 8.1.101.25 distribute_event: message EventReleased
//!     AttributeEventSequenceNumber    0000000000000a1f
//!     AttributeConnID    006c02462a161006
//!     AttributeThisDN    '6001'
//!     AttributeCallType    2
//!     AttributeUserData    [598] 00 16 00 00..
//!         'RTargetAgentSelected'    'agent01'
//! ```
//!
//! Values stay spans of the record: quoted text without its quotes, decimal
//! integers as `Int`, ConnIDs as their 16 hex digits (text: they are names, not
//! numbers), the sequence number as an `Int` read from hex, and each key-value
//! list as one raw span that [`kv_pairs`] walks on demand. Lines may end in
//! `\r` (logs copied through Windows). Attributes that are not indexed are not
//! looked at, so an attribute format this crate does not know never rejects a
//! record; the ones that are indexed are checked strictly.

use std::iter::Peekable;

use memchr::{memchr, memmem, memrchr};

use crate::error::{DecodeError, DecodeResult, ErrorKind};
use crate::event::{Attr, Dialect, Event, EventKind, EventMeta, Span, TEvent, Timestamp, Value};

use super::{DecodeOptions, tlib};

/// What marks a header line; the event name starts after `message `.
const HEADER_MARK: &[u8] = b"message Event";

/// The prefix every attribute name carries in the log.
const ATTRIBUTE_PREFIX: &[u8] = b"Attribute";

/// Decodes one T-Server log record.
pub(crate) fn decode<'a>(
    payload: &'a [u8],
    key: Option<&'a [u8]>,
    options: &DecodeOptions,
) -> DecodeResult<Event<'a>> {
    let mut lines = Lines::new(payload).peekable();
    let header = lines.next().unwrap_or_default();
    let tevent = header_event(header)?;
    let clock = header_clock(header)?;
    let mut event = Event::start(payload, key, Dialect::Tlog, EventKind::TLib(tevent));
    let meta = event.meta_mut();
    let mut epoch = EpochTime::default();
    while let Some(line) = lines.next() {
        attribute_line(payload, line, &mut lines, meta, &mut epoch)?;
    }
    // The event's own time is exact; the line's time of day is when it was logged.
    meta.time = epoch.timestamp().or_else(|| {
        let day = options.log_date.map_or(0, |date| date.0);
        clock.map(|micros| Timestamp(day.saturating_add(micros)))
    });
    tlib::check(&event)?;
    Ok(event)
}

/// Whether `record` starts with a T-Server log event header: a line containing
/// `message Event`.
pub(crate) fn is_event_header(record: &[u8]) -> bool {
    let line_end = memchr(b'\n', record).unwrap_or(record.len());
    memmem::find(&record[..line_end], HEADER_MARK).is_some()
}

/// The top-level key/value pairs of a T-Server log key-value list
/// ([`Value::KvList`], e.g. the raw bytes of `UserData`, `Reasons` or
/// `Extensions` of a `tlog` event), quotes stripped.
///
/// A value that is itself a list comes back raw (its `[len]` header and the
/// deeper lines under it), so it can be walked with `kv_pairs` again. Lines
/// that are not pairs are passed over; nothing here fails or allocates.
///
/// # Examples
///
/// ```
/// use ctistream_core::{Attr, Decoder, Format, kv_pairs};
///
/// let record = "@10:22:33.1234 [0] 8.1.000.12 distribute_event: message EventAgentNotReady\n\
///               \tAttributeThisDN\t'6001'\n\
///               \tAttributeReasons\t[24] 00 01 00 00..\n\
///               \t\t'ReasonCode'\t'Lunch'";
/// let event = Decoder::new(Format::Tlog).decode(record.as_bytes(), None)?;
/// let reasons = event.raw(Attr::Reasons).unwrap_or_default();
/// let code = kv_pairs(reasons).find(|(key, _)| *key == b"ReasonCode").map(|(_, value)| value);
/// assert_eq!(code, Some(&b"Lunch"[..]));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn kv_pairs(raw: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    KvPairs::new(raw)
}

/// One line of a record: where it starts in the payload, and its bytes
/// without the line break (and without a `\r` before it).
#[derive(Clone, Copy, Debug, Default)]
struct Line<'a> {
    start: usize,
    text: &'a [u8],
}

impl<'a> Line<'a> {
    /// How many TABs the line starts with: 1 for an attribute, 2 or more for the
    /// pairs of a key-value list.
    fn tabs(self) -> usize {
        self.text.iter().take_while(|&&b| b == b'\t').count()
    }

    /// The line without its indentation and trailing blanks.
    fn body(self) -> Field<'a> {
        Field { at: self.start, bytes: self.text }.trim()
    }
}

/// The lines of a record, split at `\n`.
struct Lines<'a> {
    payload: &'a [u8],
    pos: usize,
    done: bool,
}

impl<'a> Lines<'a> {
    fn new(payload: &'a [u8]) -> Lines<'a> {
        Lines { payload, pos: 0, done: false }
    }
}

impl<'a> Iterator for Lines<'a> {
    type Item = Line<'a>;

    fn next(&mut self) -> Option<Line<'a>> {
        if self.done {
            return None;
        }
        let rest = self.payload.get(self.pos..).unwrap_or_default();
        let (text, next) = match memchr(b'\n', rest) {
            Some(at) => (rest.get(..at).unwrap_or_default(), self.pos + at + 1),
            None => {
                self.done = true;
                (rest, self.payload.len())
            }
        };
        let line = Line { start: self.pos, text: text.strip_suffix(b"\r").unwrap_or(text) };
        self.pos = next;
        Some(line)
    }
}

/// A piece of a line with its offset in the payload (or in the raw list, for
/// [`kv_pairs`]).
#[derive(Clone, Copy, Debug, Default)]
struct Field<'a> {
    at: usize,
    bytes: &'a [u8],
}

impl<'a> Field<'a> {
    fn span(self) -> Span {
        Span::new(self.at, self.end())
    }

    fn end(self) -> usize {
        self.at + self.bytes.len()
    }

    fn is_empty(self) -> bool {
        self.bytes.is_empty()
    }

    fn first(self) -> Option<u8> {
        self.bytes.first().copied()
    }

    /// The bytes from `from` on (empty past the end).
    fn skip(self, from: usize) -> Field<'a> {
        let from = from.min(self.bytes.len());
        Field { at: self.at + from, bytes: self.bytes.get(from..).unwrap_or_default() }
    }

    /// The first `len` bytes (all of them if fewer).
    fn take(self, len: usize) -> Field<'a> {
        Field { at: self.at, bytes: self.bytes.get(..len).unwrap_or(self.bytes) }
    }

    /// Without leading and trailing blanks.
    fn trim(self) -> Field<'a> {
        let start = self.bytes.iter().position(|&b| !is_blank(b)).unwrap_or(self.bytes.len());
        let end = self.bytes.iter().rposition(|&b| !is_blank(b)).map_or(start, |last| last + 1);
        Field { at: self.at + start, bytes: self.bytes.get(start..end).unwrap_or_default() }
    }

    /// Splits at the first blank: the word before it, and the rest with its
    /// leading blanks removed.
    fn split_word(self) -> (Field<'a>, Field<'a>) {
        let len = self.bytes.iter().position(|&b| is_blank(b)).unwrap_or(self.bytes.len());
        (self.take(len), self.skip(len).trim())
    }
}

/// TAB, space or a stray `\r`: what separates names from values.
fn is_blank(byte: u8) -> bool {
    matches!(byte, b'\t' | b' ' | b'\r')
}

#[cold]
#[inline(never)]
fn malformed(reason: &'static str, at: usize) -> DecodeError {
    DecodeError::new(ErrorKind::Tlog(reason), at)
}

/// The event named after `message ` on the header line.
fn header_event(header: Line<'_>) -> DecodeResult<TEvent> {
    let Some(mark) = memmem::find(header.text, HEADER_MARK) else {
        return Err(malformed("no 'message Event…' header", header.start));
    };
    let after = Field { at: header.start, bytes: header.text }.skip(mark + b"message ".len());
    let (name, _) = after.split_word();
    TEvent::from_name(name.bytes)
        .ok_or_else(|| DecodeError::new(ErrorKind::UnknownEvent, name.at).with_found(name.bytes))
}

/// The time of day of a header line that starts with `@HH:MM:SS.ffff`, in
/// microseconds since midnight; `None` when the line has no `@` time.
fn header_clock(header: Line<'_>) -> DecodeResult<Option<i64>> {
    match header.text.strip_prefix(b"@") {
        None => Ok(None),
        Some(clock) => parse_clock(clock).map(Some).ok_or_else(|| {
            malformed("header time is not @HH:MM:SS.ffff (1 to 6 fraction digits)", header.start)
                .with_found(header.text.get(..20).unwrap_or(header.text))
        }),
    }
}

/// Parses `HH:MM:SS`, optionally `.f` to `.ffffff`, ending the line or followed
/// by a blank.
fn parse_clock(text: &[u8]) -> Option<i64> {
    let pair = |at: usize| -> Option<i64> {
        match text.get(at..at + 2)? {
            [a, b] if a.is_ascii_digit() && b.is_ascii_digit() => {
                Some(i64::from(a - b'0') * 10 + i64::from(b - b'0'))
            }
            _ => None,
        }
    };
    if text.get(2) != Some(&b':') || text.get(5) != Some(&b':') {
        return None;
    }
    let (hours, minutes, seconds) = (pair(0)?, pair(3)?, pair(6)?);
    if hours > 23 || minutes > 59 || seconds > 60 {
        return None;
    }
    let mut end = 8;
    let mut micros = 0;
    if text.get(8) == Some(&b'.') {
        let digits = text.get(9..).unwrap_or_default();
        let count = digits.iter().take_while(|b| b.is_ascii_digit()).count();
        if !(1..=6).contains(&count) {
            return None;
        }
        for &digit in digits.get(..count).unwrap_or_default() {
            micros = micros * 10 + i64::from(digit - b'0');
        }
        for _ in count..6 {
            micros *= 10;
        }
        end = 9 + count;
    }
    if text.get(end).is_some_and(|&b| !is_blank(b)) {
        return None;
    }
    Some(((hours * 60 + minutes) * 60 + seconds) * 1_000_000 + micros)
}

/// `AttributeTimeinSecs` and `AttributeTimeinuSecs`, when the record has them.
#[derive(Debug, Default)]
struct EpochTime {
    secs: Option<i64>,
    micros: Option<i64>,
}

impl EpochTime {
    fn timestamp(&self) -> Option<Timestamp> {
        Some(Timestamp::from_secs_micros(self.secs?, self.micros.unwrap_or(0)))
    }
}

/// Reads one line after the header into `meta`; a key-value list also takes
/// the deeper-indented lines after it from `lines`.
fn attribute_line<'a>(
    payload: &'a [u8],
    line: Line<'a>,
    lines: &mut Peekable<Lines<'a>>,
    meta: &mut EventMeta,
    epoch: &mut EpochTime,
) -> DecodeResult<()> {
    let tabs = line.tabs();
    let body = line.body();
    if body.is_empty() {
        return Ok(());
    }
    if tabs == 0 {
        return Err(malformed("line after the header does not start with TAB", line.start)
            .with_found(body.bytes));
    }
    if tabs > 1 {
        // A pair of a key-value list this crate does not index.
        return Ok(());
    }
    let (name, value) = body.split_word();
    let Some(short) = name.bytes.strip_prefix(ATTRIBUTE_PREFIX) else { return Ok(()) };
    let attr = match short {
        b"TimeinSecs" => {
            epoch.secs = Some(epoch_part(name, value, "AttributeTimeinSecs is not a decimal")?);
            return Ok(());
        }
        b"TimeinuSecs" => {
            epoch.micros = Some(epoch_part(name, value, "AttributeTimeinuSecs is not a decimal")?);
            return Ok(());
        }
        _ => match tlib::attr_by_name(short) {
            Some(attr) => attr,
            None => return Ok(()),
        },
    };
    if value.is_empty() {
        return Err(no_value(name));
    }
    let raw = match attr {
        Attr::ConnID | Attr::PreviousConnID | Attr::TransferConnID | Attr::ConferenceConnID => {
            conn_id(attr, value)?
        }
        Attr::EventSequenceNumber => sequence_number(value)?,
        Attr::UserData | Attr::Reasons | Attr::Extensions => kv_list(value, lines)?,
        _ => scalar(value)?,
    };
    meta.set(attr, tlib::normalize(attr, raw, payload, value.at)?);
    Ok(())
}

#[cold]
fn no_value(name: Field<'_>) -> DecodeError {
    malformed("attribute line has no value", name.at).with_found(name.bytes)
}

/// `AttributeTimeinSecs` / `AttributeTimeinuSecs`: a decimal, possibly followed
/// by the time of day in parentheses (`1774601998 (08:59:58)`).
fn epoch_part(name: Field<'_>, value: Field<'_>, reason: &'static str) -> DecodeResult<i64> {
    if value.is_empty() {
        return Err(no_value(name));
    }
    match scalar(value)? {
        Value::Int(n) => Ok(n),
        _ => Err(malformed(reason, value.at).with_found(value.bytes)),
    }
}

/// A plain value: `'quoted text'`, a decimal (an annotation in parentheses may
/// follow it), or a bare word kept as text.
fn scalar(value: Field<'_>) -> DecodeResult<Value> {
    if value.first() == Some(b'\'') {
        return match quoted(value) {
            Some(inner) => Ok(Value::Text(inner.span())),
            None => Err(malformed("unterminated quoted value", value.at).with_found(value.bytes)),
        };
    }
    let (word, rest) = value.split_word();
    if is_decimal(word.bytes) && (rest.is_empty() || rest.first() == Some(b'(')) {
        // Too large for i64: kept raw, like JSON numbers that do not fit.
        return Ok(parse_decimal(word.bytes).map_or(Value::Number(word.span()), Value::Int));
    }
    Ok(Value::Text(value.span()))
}

/// The text between the opening quote of `value` and the last quote of the
/// line. tlog has no escapes, so a quote inside the text (`'O'Brien'`) is
/// just text; taking the last quote keeps it.
fn quoted(value: Field<'_>) -> Option<Field<'_>> {
    match memrchr(b'\'', value.bytes) {
        Some(close) if close > 0 => Some(value.skip(1).take(close - 1)),
        _ => None,
    }
}

/// `-?[0-9]+`.
fn is_decimal(word: &[u8]) -> bool {
    let digits = word.strip_prefix(b"-").unwrap_or(word);
    !digits.is_empty() && digits.iter().all(u8::is_ascii_digit)
}

/// The value of a word that [`is_decimal`]; `None` when it does not fit `i64`
/// (or is not decimal after all).
fn parse_decimal(word: &[u8]) -> Option<i64> {
    let (negative, digits) = match word.strip_prefix(b"-") {
        Some(digits) => (true, digits),
        None => (false, word),
    };
    let mut value: i64 = 0;
    for &digit in digits {
        let digit = i64::from(char::from(digit).to_digit(10)?);
        value = value.checked_mul(10)?;
        value = if negative { value.checked_sub(digit)? } else { value.checked_add(digit)? };
    }
    Some(value)
}

/// A connection id: exactly 16 hex digits, kept as text so it prints as logged.
fn conn_id(attr: Attr, value: Field<'_>) -> DecodeResult<Value> {
    if value.bytes.len() == 16 && value.bytes.iter().all(u8::is_ascii_hexdigit) {
        return Ok(Value::Text(value.span()));
    }
    let reason = match attr {
        Attr::PreviousConnID => "AttributePreviousConnID is not 16 hex digits",
        Attr::TransferConnID => "AttributeTransferConnID is not 16 hex digits",
        Attr::ConferenceConnID => "AttributeConferenceConnID is not 16 hex digits",
        _ => "AttributeConnID is not 16 hex digits",
    };
    Err(malformed(reason, value.at).with_found(value.bytes))
}

/// `AttributeEventSequenceNumber`: hex (T-Server prints it that way), as an integer.
fn sequence_number(value: Field<'_>) -> DecodeResult<Value> {
    let mut number: u64 = 0;
    for &byte in value.bytes {
        let digit = match byte {
            b'0'..=b'9' => byte - b'0',
            b'a'..=b'f' => byte - b'a' + 10,
            b'A'..=b'F' => byte - b'A' + 10,
            _ => {
                return Err(malformed("AttributeEventSequenceNumber is not hex", value.at)
                    .with_found(value.bytes));
            }
        };
        number = number.checked_mul(16).and_then(|n| n.checked_add(u64::from(digit))).ok_or_else(
            || {
                malformed("AttributeEventSequenceNumber is larger than 64 bits", value.at)
                    .with_found(value.bytes)
            },
        )?;
    }
    i64::try_from(number).map(Value::Int).map_err(|_| {
        malformed("AttributeEventSequenceNumber is larger than 2^63-1", value.at)
            .with_found(value.bytes)
    })
}

/// A key-value list: the `[len] hex..` header and the deeper-indented pair
/// lines after it, checked and kept as one raw span.
fn kv_list<'a>(value: Field<'a>, lines: &mut Peekable<Lines<'a>>) -> DecodeResult<Value> {
    check_list_header(value)?;
    let mut end = value.end();
    while let Some(&line) = lines.peek() {
        if line.tabs() < 2 {
            break;
        }
        lines.next();
        let body = line.body();
        if !body.is_empty() {
            check_pair(body)?;
            end = body.end();
        }
    }
    Ok(Value::KvList(Span::new(value.at, end)))
}

/// The `[len] hex..` that starts every key-value list.
fn check_list_header(value: Field<'_>) -> DecodeResult<()> {
    if value.first() != Some(b'[') {
        return Err(malformed("key-value list does not start with '[len]'", value.at)
            .with_found(value.bytes));
    }
    if memchr(b']', value.bytes).is_none() {
        return Err(malformed("key-value list header '[len]' has no closing ']'", value.at)
            .with_found(value.bytes));
    }
    Ok(())
}

/// Checks the quoting of one `'key'<TAB>value` line of a key-value list.
fn check_pair(body: Field<'_>) -> DecodeResult<()> {
    let pair = split_pair(body);
    if !pair.key_closed {
        return Err(
            malformed("unterminated quoted key in key-value list", body.at).with_found(body.bytes)
        );
    }
    match pair.value.first() {
        Some(b'\'') if quoted(pair.value).is_none() => {
            Err(malformed("unterminated quoted value in key-value list", pair.value.at)
                .with_found(pair.value.bytes))
        }
        Some(b'[') => check_list_header(pair.value),
        _ => Ok(()),
    }
}

/// One pair line of a key-value list, split.
struct Pair<'a> {
    /// The key without its quotes.
    key: Field<'a>,
    /// Whether a quoted key had its closing quote.
    key_closed: bool,
    /// The value as written (quotes, if any, still on).
    value: Field<'a>,
}

/// Splits `'key'<TAB>value` (or `key<TAB>value`). A quoted key ends at the
/// first quote that a blank or the end of the line follows, so keys may hold
/// quotes too.
fn split_pair(body: Field<'_>) -> Pair<'_> {
    if body.first() != Some(b'\'') {
        let (key, value) = body.split_word();
        return Pair { key, key_closed: true, value };
    }
    let bytes = body.bytes;
    let close = (1..bytes.len())
        .find(|&i| bytes.get(i) == Some(&b'\'') && bytes.get(i + 1).is_none_or(|&b| is_blank(b)));
    match close {
        Some(close) => Pair {
            key: body.skip(1).take(close - 1),
            key_closed: true,
            value: body.skip(close + 1).trim(),
        },
        None => Pair { key: body.skip(1), key_closed: false, value: Field::default() },
    }
}

/// The iterator behind [`kv_pairs`].
struct KvPairs<'a> {
    raw: &'a [u8],
    lines: Peekable<Lines<'a>>,
    /// The indentation of the top-level pairs, learned from the first one.
    top: Option<usize>,
}

impl<'a> KvPairs<'a> {
    fn new(raw: &'a [u8]) -> KvPairs<'a> {
        let mut lines = Lines::new(raw).peekable();
        // The first line is the `[len] hex..` header, unless the caller passed
        // the pair lines alone.
        if lines.peek().is_some_and(|line| line.tabs() == 0) {
            lines.next();
        }
        KvPairs { raw, lines, top: None }
    }

    /// A nested list value: from its `[len]` through the last line indented
    /// deeper than the top-level pairs.
    fn nested(&mut self, header: Field<'a>, top: usize) -> &'a [u8] {
        let mut end = header.end();
        while let Some(&line) = self.lines.peek() {
            if line.tabs() <= top {
                break;
            }
            self.lines.next();
            let body = line.body();
            if !body.is_empty() {
                end = body.end();
            }
        }
        self.raw.get(header.at..end).unwrap_or(header.bytes)
    }
}

impl<'a> Iterator for KvPairs<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        while let Some(line) = self.lines.next() {
            let body = line.body();
            if body.is_empty() {
                continue;
            }
            let tabs = line.tabs();
            let top = *self.top.get_or_insert(tabs);
            if tabs != top {
                continue;
            }
            let pair = split_pair(body);
            let value = match pair.value.first() {
                Some(b'[') => self.nested(pair.value, top),
                // An unterminated quote (decode rejects it) yields the rest of the line.
                Some(b'\'') => quoted(pair.value).unwrap_or(pair.value.skip(1)).bytes,
                _ => pair.value.bytes,
            };
            return Some((pair.key.bytes, value));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIST: &[u8] = b"[598] 00 16 00 00..\n\
        \t\t'RTargetAgentSelected'\t'agent01'\n\
        \t\t'Priority'\t5\r\n\
        \t\t'Customer'\t'O'Brien'\n\
        \t\t'Segment'\t[40] 00 02 00 00..\n\
        \t\t\t'Tier'\t'Gold'\n\
        \t\t\t'Since'\t2019\n\
        \t\t'Empty'\t''\n\
        \t\tBare\tword";

    #[test]
    fn kv_pairs_yields_top_level_pairs_without_quotes() {
        let pairs: Vec<_> = kv_pairs(LIST).collect();
        let expected: [(&[u8], &[u8]); 6] = [
            (b"RTargetAgentSelected", b"agent01"),
            (b"Priority", b"5"),
            (b"Customer", b"O'Brien"),
            (b"Segment", b"[40] 00 02 00 00..\n\t\t\t'Tier'\t'Gold'\n\t\t\t'Since'\t2019"),
            (b"Empty", b""),
            (b"Bare", b"word"),
        ];
        assert_eq!(pairs, expected);
    }

    #[test]
    fn kv_pairs_walks_a_nested_list_value() {
        let (_, segment) = kv_pairs(LIST).find(|(key, _)| *key == b"Segment").unwrap();
        let inner: Vec<_> = kv_pairs(segment).collect();
        assert_eq!(inner, [(&b"Tier"[..], &b"Gold"[..]), (&b"Since"[..], &b"2019"[..])]);
    }

    #[test]
    fn kv_pairs_accepts_pair_lines_without_header_and_odd_input() {
        let pairs: Vec<_> = kv_pairs(b"\t\t'a'\t'1'\n\t\t'b' 2").collect();
        assert_eq!(pairs, [(&b"a"[..], &b"1"[..]), (&b"b"[..], &b"2"[..])]);
        assert_eq!(kv_pairs(b"").count(), 0);
        assert_eq!(kv_pairs(b"[0] 00 00 00 00..").count(), 0);
        assert_eq!(kv_pairs(br#"{"ReasonCode":"Lunch"}"#).count(), 0);
        let odd: Vec<_> = kv_pairs(b"[1]\n\t\t'open\n\t\t'k'\t'v\n\t\t'\n\t\t''").collect();
        assert_eq!(odd, [(&b"open"[..], &b""[..]), (b"k", b"v"), (b"", b""), (b"", b"")]);
    }

    #[test]
    fn clock_parses_one_to_six_fraction_digits() {
        assert_eq!(parse_clock(b"10:22:33.1234 [0]"), Some(37_353_123_400));
        assert_eq!(parse_clock(b"00:00:00.5"), Some(500_000));
        assert_eq!(parse_clock(b"23:59:59.999999"), Some(86_399_999_999));
        assert_eq!(parse_clock(b"10:22:33 x"), Some(37_353_000_000));
        for bad in [&b"24:00:00.0"[..], b"10:22:33.", b"10:22:33.1234567", b"10:2:33.1", b"1"] {
            assert_eq!(parse_clock(bad), None, "{}", String::from_utf8_lossy(bad));
        }
        assert_eq!(parse_clock(b"10:22:33.12x"), None);
    }

    #[test]
    fn decimals_and_scalars() {
        assert_eq!(parse_decimal(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_decimal(b"9223372036854775808"), None);
        assert_eq!(parse_decimal(b"12x"), None);
        let field = |bytes: &'static [u8]| Field { at: 0, bytes };
        assert_eq!(scalar(field(b"4294967295")), Ok(Value::Int(4_294_967_295)));
        assert_eq!(scalar(field(b"1774601998 (08:59:58)")), Ok(Value::Int(1_774_601_998)));
        assert_eq!(scalar(field(b"12 apples")), Ok(Value::Text(Span::new(0, 9))));
        assert_eq!(scalar(field(b"''")), Ok(Value::Text(Span::new(1, 1))));
        assert_eq!(scalar(field(b"99999999999999999999")), Ok(Value::Number(Span::new(0, 20))));
        assert!(scalar(field(b"'open")).is_err());
    }
}
