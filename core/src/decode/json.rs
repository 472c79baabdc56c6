//! A validating, non-recursive JSON scanner over a borrowed record.
//!
//! It checks the whole RFC 8259 grammar (the JSONTestSuite `y_`/`n_` cases), but
//! builds nothing: strings and nested containers come back as [`Span`]s of the
//! record, numbers as `i64` when they fit. Nesting is tracked with a bit stack,
//! not recursion, so hostile depth costs a counter, never the call stack.
//!
//! Speed comes from three choices: UTF-8 is validated once for the whole record
//! (std's validator has an ASCII fast path, and JSON outside strings is ASCII, so
//! this is the same as validating every string); strings are scanned eight bytes
//! at a time for `"`, `\` and control bytes (SWAR); and nothing allocates.

use smallvec::SmallVec;

use crate::error::{DecodeError, DecodeResult, ErrorKind, JsonError};
use crate::event::{Span, Value};

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// Flags the bytes of `word` that need attention inside a string: `"`, `\` and
/// bytes below 0x20. Only the lowest flagged byte is exact (borrows propagate
/// upwards), which is the only one used.
#[inline(always)]
fn string_specials(word: u64) -> u64 {
    let has_zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
    let quote = has_zero(word ^ (ONES * u64::from(b'"')));
    let backslash = has_zero(word ^ (ONES * u64::from(b'\\')));
    let control = word.wrapping_sub(ONES * 0x20) & !word & HIGH;
    quote | backslash | control
}

/// Open containers, one bit each (1 = object), so depth costs no recursion.
struct BitStack {
    words: SmallVec<[u64; 4]>,
    depth: u32,
}

impl BitStack {
    fn new() -> BitStack {
        BitStack { words: SmallVec::new(), depth: 0 }
    }

    #[inline]
    fn push(&mut self, is_object: bool) {
        let (word, bit) = ((self.depth / 64) as usize, self.depth % 64);
        if word == self.words.len() {
            self.words.push(0);
        }
        if is_object {
            self.words[word] |= 1 << bit;
        } else {
            self.words[word] &= !(1 << bit);
        }
        self.depth += 1;
    }

    #[inline]
    fn pop(&mut self) {
        self.depth -= 1;
    }

    #[inline]
    fn top_is_object(&self) -> bool {
        let top = self.depth - 1;
        self.words[(top / 64) as usize] & (1 << (top % 64)) != 0
    }
}

/// A cursor over one JSON record.
#[derive(Debug)]
pub(crate) struct Scanner<'a> {
    buf: &'a [u8],
    pos: usize,
    max_depth: u32,
}

impl<'a> Scanner<'a> {
    /// A scanner over `buf`, allowing `max_depth` levels of nesting in all.
    pub(crate) fn new(buf: &'a [u8], max_depth: u32) -> Scanner<'a> {
        Scanner { buf, pos: 0, max_depth }
    }

    /// The current byte offset.
    #[inline]
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    #[inline]
    fn peek(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }

    #[inline]
    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    #[inline]
    fn error(&self, error: JsonError) -> DecodeError {
        let error = if self.pos >= self.buf.len() { JsonError::UnexpectedEnd } else { error };
        DecodeError::json(error, self.pos)
    }

    /// Reads a string at `"`; returns its content span and whether it has escapes.
    // Always inlined: returning the span through memory from an out-of-line call
    // stalls store-to-load forwarding (two u32 stores read back as one u64),
    // which cost about half of the decode time in profiles.
    #[inline(always)]
    pub(crate) fn string(&mut self) -> DecodeResult<(Span, bool)> {
        debug_assert_eq!(self.peek(), Some(b'"'));
        let buf = self.buf;
        let start = self.pos + 1;
        let mut i = start;
        let mut escaped = false;
        loop {
            while let Some(chunk) = buf.get(i..i + 8) {
                let word = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
                let specials = string_specials(word);
                if specials != 0 {
                    i += (specials.trailing_zeros() / 8) as usize;
                    break;
                }
                i += 8;
            }
            match buf.get(i) {
                Some(b'"') => {
                    self.pos = i + 1;
                    return Ok((Span::new(start, i), escaped));
                }
                Some(b'\\') => {
                    escaped = true;
                    i = self.escape(i)?;
                }
                Some(0..=0x1f) => return Err(DecodeError::json(JsonError::ControlCharacter, i)),
                Some(_) => i += 1,
                None => return Err(DecodeError::json(JsonError::UnexpectedEnd, i)),
            }
        }
    }

    /// Validates the escape at `at` (a backslash); returns the offset after it.
    #[cold]
    fn escape(&self, at: usize) -> DecodeResult<usize> {
        match self.buf.get(at + 1) {
            Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => Ok(at + 2),
            Some(b'u') => match self.buf.get(at + 2..at + 6) {
                Some(hex) if hex.iter().all(u8::is_ascii_hexdigit) => Ok(at + 6),
                Some(_) => Err(DecodeError::json(JsonError::InvalidEscape, at)),
                None => Err(DecodeError::json(JsonError::UnexpectedEnd, self.buf.len())),
            },
            Some(_) => Err(DecodeError::json(JsonError::InvalidEscape, at)),
            None => Err(DecodeError::json(JsonError::UnexpectedEnd, at + 1)),
        }
    }

    /// Reads a number; an integer of at most 18 digits becomes `Value::Int`.
    #[inline(always)]
    fn number(&mut self) -> DecodeResult<Value> {
        let buf = self.buf;
        let start = self.pos;
        let mut i = start;
        let negative = buf[i] == b'-';
        if negative {
            i += 1;
        }
        let digits_start = i;
        match buf.get(i) {
            Some(b'0') => i += 1,
            Some(b'1'..=b'9') => {
                while let Some(b'0'..=b'9') = buf.get(i) {
                    i += 1;
                }
            }
            _ => return Err(DecodeError::json(JsonError::InvalidNumber, i.min(buf.len()))),
        }
        let digits_end = i;
        let mut integral = true;
        if buf.get(i) == Some(&b'.') {
            i += 1;
            if !matches!(buf.get(i), Some(b'0'..=b'9')) {
                return Err(DecodeError::json(JsonError::InvalidNumber, i));
            }
            while let Some(b'0'..=b'9') = buf.get(i) {
                i += 1;
            }
            integral = false;
        }
        if let Some(b'e' | b'E') = buf.get(i) {
            i += 1;
            if let Some(b'+' | b'-') = buf.get(i) {
                i += 1;
            }
            if !matches!(buf.get(i), Some(b'0'..=b'9')) {
                return Err(DecodeError::json(JsonError::InvalidNumber, i));
            }
            while let Some(b'0'..=b'9') = buf.get(i) {
                i += 1;
            }
            integral = false;
        }
        self.pos = i;
        if integral && digits_end - digits_start <= 18 {
            let magnitude = buf[digits_start..digits_end]
                .iter()
                .fold(0i64, |acc, &d| acc * 10 + i64::from(d - b'0'));
            return Ok(Value::Int(if negative { -magnitude } else { magnitude }));
        }
        Ok(Value::Number(Span::new(start, i)))
    }

    fn literal(&mut self) -> DecodeResult<Value> {
        let rest = &self.buf[self.pos..];
        let (len, value) = if rest.starts_with(b"true") {
            (4, Value::Bool(true))
        } else if rest.starts_with(b"false") {
            (5, Value::Bool(false))
        } else if rest.starts_with(b"null") {
            (4, Value::Null)
        } else {
            return Err(DecodeError::json(JsonError::InvalidLiteral, self.pos));
        };
        self.pos += len;
        Ok(value)
    }

    /// Reads any value at the cursor (after whitespace). Objects and arrays are
    /// validated and returned raw as `Value::Json`; `depth` is the nesting depth
    /// of the container holding this value.
    #[inline(always)]
    pub(crate) fn value(&mut self, depth: u32) -> DecodeResult<Value> {
        self.skip_ws();
        match self.peek() {
            Some(b'"') => {
                let (span, escaped) = self.string()?;
                Ok(if escaped { Value::JsonEscaped(span) } else { Value::Text(span) })
            }
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b'{' | b'[') => self.container(depth).map(Value::Json),
            Some(b't' | b'f' | b'n') => self.literal(),
            _ => Err(self.error(JsonError::ExpectedValue)),
        }
    }

    /// Validates the object or array at the cursor without recursion; `depth` is
    /// the nesting depth outside it.
    fn container(&mut self, depth: u32) -> DecodeResult<Span> {
        let start = self.pos;
        let mut stack = BitStack::new();
        'value: loop {
            self.skip_ws();
            match self.peek() {
                Some(open @ (b'{' | b'[')) => {
                    if depth + stack.depth + 1 > self.max_depth {
                        return Err(DecodeError::new(
                            ErrorKind::DepthLimit(self.max_depth),
                            self.pos,
                        ));
                    }
                    self.pos += 1;
                    stack.push(open == b'{');
                    self.skip_ws();
                    match (open, self.peek()) {
                        (b'{', Some(b'}')) | (b'[', Some(b']')) => {
                            self.pos += 1;
                            stack.pop();
                        }
                        (b'{', Some(b'"')) => {
                            self.member_key()?;
                            continue 'value;
                        }
                        (b'{', _) => return Err(self.error(JsonError::ExpectedKey)),
                        _ => continue 'value,
                    }
                }
                Some(b'"') => {
                    self.string()?;
                }
                Some(b'-' | b'0'..=b'9') => {
                    self.number()?;
                }
                Some(b't' | b'f' | b'n') => {
                    self.literal()?;
                }
                _ => return Err(self.error(JsonError::ExpectedValue)),
            }
            // After a value: close containers until one continues with ','.
            loop {
                if stack.depth == 0 {
                    return Ok(Span::new(start, self.pos));
                }
                self.skip_ws();
                let in_object = stack.top_is_object();
                match self.peek() {
                    Some(b',') => {
                        self.pos += 1;
                        if in_object {
                            self.skip_ws();
                            if self.peek() != Some(b'"') {
                                return Err(self.error(JsonError::ExpectedKey));
                            }
                            self.member_key()?;
                        }
                        continue 'value;
                    }
                    Some(b'}') if in_object => {
                        self.pos += 1;
                        stack.pop();
                    }
                    Some(b']') if !in_object => {
                        self.pos += 1;
                        stack.pop();
                    }
                    _ if in_object => return Err(self.error(JsonError::ExpectedCommaOrBrace)),
                    _ => return Err(self.error(JsonError::ExpectedCommaOrBracket)),
                }
            }
        }
    }

    /// Reads `"key"` and the `:` after it.
    #[inline(always)]
    fn member_key(&mut self) -> DecodeResult<(Span, bool)> {
        let key = self.string()?;
        self.skip_ws();
        if self.peek() != Some(b':') {
            return Err(self.error(JsonError::ExpectedColon));
        }
        self.pos += 1;
        Ok(key)
    }
}

/// `buf` as text if it is UTF-8, checked 16 or 32 bytes at a time
/// (simdutf8); only on failure checked again byte by byte (std), for the
/// offset of the first bad byte.
#[inline]
pub(crate) fn utf8(buf: &[u8]) -> DecodeResult<&str> {
    simdutf8::basic::from_utf8(buf).or_else(|_| {
        std::str::from_utf8(buf)
            .map_err(|error| DecodeError::new(ErrorKind::InvalidUtf8, error.valid_up_to()))
    })
}

/// Walks the members of the top-level object of `buf`, calling `on_member` with
/// the scanner (positioned at the value, which it must read with
/// [`Scanner::value`] at depth 1) and the key, unescaped when it had escapes.
/// Validates the whole record: UTF-8, grammar, depth, nothing after the object.
#[inline]
pub(crate) fn for_each_member<'a, F>(
    buf: &'a [u8],
    max_depth: u32,
    on_member: F,
) -> DecodeResult<()>
where
    F: FnMut(&mut Scanner<'a>, &[u8]) -> DecodeResult<()>,
{
    utf8(buf)?;
    let mut scanner = Scanner::new(buf, max_depth);
    scanner.skip_ws();
    if scanner.peek() != Some(b'{') {
        return Err(not_an_object(buf, max_depth));
    }
    if max_depth == 0 {
        return Err(DecodeError::new(ErrorKind::DepthLimit(max_depth), scanner.pos));
    }
    scanner.members(on_member)?;
    scanner.skip_ws();
    if scanner.pos != buf.len() {
        return Err(DecodeError::json(JsonError::TrailingData, scanner.pos));
    }
    Ok(())
}

/// Walks the members of a nested object that was already validated (a
/// `Value::Json` span of `buf` that starts with `{`). `depth` is the object's own
/// nesting depth (2 for an object member of the record), so values read in the
/// callback use `scanner.value(depth)`. Spans stay relative to `buf`.
///
/// # Errors
/// When the span is not an object, or what `on_member` returns.
pub(crate) fn for_each_nested_member<'a, F>(
    buf: &'a [u8],
    object: Span,
    max_depth: u32,
    on_member: F,
) -> DecodeResult<()>
where
    F: FnMut(&mut Scanner<'a>, &[u8]) -> DecodeResult<()>,
{
    let mut scanner = Scanner::new(&buf[..object.end()], max_depth);
    scanner.pos = object.start as usize;
    if scanner.peek() != Some(b'{') {
        return Err(DecodeError::new(ErrorKind::NotAnObject, scanner.pos));
    }
    scanner.members(on_member)
}

impl<'a> Scanner<'a> {
    /// Reads the object at the cursor (a `{`), calling `on_member` per member.
    #[inline]
    fn members<F>(&mut self, mut on_member: F) -> DecodeResult<()>
    where
        F: FnMut(&mut Scanner<'a>, &[u8]) -> DecodeResult<()>,
    {
        let buf = self.buf;
        self.pos += 1;
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(());
        }
        // Zeroed once per object, not per member: only escaped keys use it.
        let mut unescaped = [0u8; 64];
        loop {
            if self.peek() != Some(b'"') {
                return Err(self.error(JsonError::ExpectedKey));
            }
            let (key, escaped) = self.member_key()?;
            let key = match escaped {
                false => key.of(buf),
                true => unescape_key(key.of(buf), &mut unescaped),
            };
            on_member(self, key)?;
            self.skip_ws();
            match self.peek() {
                Some(b',') => {
                    self.pos += 1;
                    self.skip_ws();
                }
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return Err(self.error(JsonError::ExpectedCommaOrBrace)),
            }
        }
    }
}

/// The error for a record that does not start with `{`: its syntax error if it is
/// not JSON at all, else "not an object".
#[cold]
fn not_an_object(buf: &[u8], max_depth: u32) -> DecodeError {
    match validate(buf, max_depth) {
        Ok(()) => DecodeError::new(ErrorKind::NotAnObject, 0),
        Err(error) => error,
    }
}

/// Validates a complete JSON text (any top-level value): UTF-8, grammar and
/// nesting of at most `max_depth` levels.
///
/// # Errors
/// The first problem found, with its byte offset.
///
/// # Examples
/// ```
/// use ctistream_core::validate_json;
/// assert!(validate_json(br#"{"a":[1,2.5e3,"x\u00e9",null]}"#, 128).is_ok());
/// let error = validate_json(br#"{"a":1 "b":2}"#, 128).unwrap_err();
/// assert_eq!(error.to_string(), "expected ',' or '}' after object member at byte 7");
/// ```
pub fn validate(buf: &[u8], max_depth: u32) -> DecodeResult<()> {
    utf8(buf)?;
    let mut scanner = Scanner::new(buf, max_depth);
    scanner.value(0)?;
    scanner.skip_ws();
    if scanner.pos != buf.len() {
        return Err(DecodeError::json(JsonError::TrailingData, scanner.pos));
    }
    Ok(())
}

/// Unescapes a short key into `out`; a key that does not fit is returned as is
/// (it then matches no known attribute, which is right: none is that long).
fn unescape_key<'k>(raw: &'k [u8], out: &'k mut [u8; 64]) -> &'k [u8] {
    let text = unescape_json(raw);
    if text.len() > out.len() {
        return raw;
    }
    out[..text.len()].copy_from_slice(text.as_bytes());
    &out[..text.len()]
}

/// Decodes the escapes of a validated JSON string body (without its quotes).
/// Lone surrogates become U+FFFD.
pub fn unescape_json(raw: &[u8]) -> String {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    let hex4 = |at: usize| -> Option<u32> {
        let digits = raw.get(at..at + 4)?;
        u32::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()
    };
    while i < raw.len() {
        let Some(offset) = memchr::memchr(b'\\', &raw[i..]) else {
            out.extend_from_slice(&raw[i..]);
            break;
        };
        out.extend_from_slice(&raw[i..i + offset]);
        i += offset;
        let simple = match raw.get(i + 1) {
            Some(b'"') => Some(b'"'),
            Some(b'\\') => Some(b'\\'),
            Some(b'/') => Some(b'/'),
            Some(b'b') => Some(8),
            Some(b'f') => Some(12),
            Some(b'n') => Some(b'\n'),
            Some(b'r') => Some(b'\r'),
            Some(b't') => Some(b'\t'),
            _ => None,
        };
        if let Some(byte) = simple {
            out.push(byte);
            i += 2;
            continue;
        }
        let Some(first) = hex4(i + 2) else {
            out.extend_from_slice(&raw[i..]);
            break;
        };
        i += 6;
        let code = if (0xD800..0xDC00).contains(&first) && raw.get(i..i + 2) == Some(b"\\u") {
            match hex4(i + 2) {
                Some(second @ 0xDC00..0xE000) => {
                    i += 6;
                    0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
                }
                _ => 0xFFFD,
            }
        } else {
            first
        };
        let ch = char::from_u32(code).unwrap_or('\u{FFFD}');
        let mut utf8 = [0u8; 4];
        out.extend_from_slice(ch.encode_utf8(&mut utf8).as_bytes());
    }
    String::from_utf8(out).unwrap_or_else(|error| String::from_utf8_lossy(error.as_bytes()).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swar_finds_the_first_special_byte() {
        for position in 0..8 {
            for special in [b'"', b'\\', 0x00, 0x1f] {
                let mut bytes = *b"abcdefgh";
                bytes[position] = special;
                let mask = string_specials(u64::from_le_bytes(bytes));
                assert_eq!(mask.trailing_zeros() / 8, position as u32, "{special:#x}@{position}");
            }
        }
        assert_eq!(string_specials(u64::from_le_bytes(*b"\xc3\xa9 ~!#$%")), 0);
    }

    #[test]
    fn bit_stack_survives_word_boundaries() {
        let mut stack = BitStack::new();
        for level in 0..200 {
            stack.push(level % 3 == 0);
        }
        for level in (0..200).rev() {
            assert_eq!(stack.top_is_object(), level % 3 == 0);
            stack.pop();
        }
    }

    #[test]
    fn unescapes_pairs_and_lone_surrogates() {
        assert_eq!(unescape_json(br#"a\"b\\c\/\n\u00e9\ud83d\ude00"#), "a\"b\\c/\né😀");
        assert_eq!(unescape_json(br"\ud800x"), "\u{FFFD}x");
    }
}
