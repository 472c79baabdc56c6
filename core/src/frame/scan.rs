//! The framing state machine: finds record boundaries in a buffer, remembering
//! across buffers the line count and whether it is skipping an oversized record.

use std::collections::VecDeque;
use std::ops::Range;

use memchr::{memchr, memmem};

use super::Framing;

/// The UTF-8 byte order mark.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// What the scanner found at one place of the buffer.
#[derive(Clone, Debug)]
pub(super) enum Scan {
    /// A record (and its key), as ranges of the buffer.
    Record { payload: Range<usize>, key: Option<Range<usize>> },
    /// A record over the limit; `head` is what of it the buffer holds.
    TooLarge { head: Range<usize> },
    /// The stream ended inside a length-prefixed frame.
    Truncated { head: Range<usize> },
}

/// A found record or error with its position in the stream.
#[derive(Clone, Debug)]
pub(super) struct Pending {
    pub(super) scan: Scan,
    pub(super) line: u64,
    pub(super) offset: u64,
}

/// What to throw away before framing again, after an oversized record.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Discard {
    #[default]
    Nothing,
    /// The rest of the current line.
    Line,
    /// The rest of the current line, then the TAB-led lines after it.
    LineThenContinuation,
    /// TAB-led continuation lines of a T-Server log record.
    Continuation,
    /// This many bytes of a length-prefixed frame.
    Bytes(u64),
}

/// How one line is framed.
enum LineClass {
    Blank,
    Skip,
    Record { payload: Range<usize>, key: Option<Range<usize>> },
    TlogHeader,
}

#[derive(Debug)]
pub(super) struct Scanner {
    framing: Framing,
    pub(super) limit: usize,
    /// Lines (or frames) consumed so far.
    line: u64,
    /// Stream offset of the start of the buffer.
    offset: u64,
    discard: Discard,
    /// Stream offset of the oversized record being discarded.
    discard_from: u64,
    skipped: u64,
    blank: u64,
}

impl Scanner {
    pub(super) fn new(framing: Framing, limit: usize) -> Scanner {
        Scanner {
            framing,
            limit,
            line: 0,
            offset: 0,
            discard: Discard::Nothing,
            discard_from: 0,
            skipped: 0,
            blank: 0,
        }
    }

    /// Where framing would start again from scratch: the start of the
    /// unconsumed data, or of the oversized record being discarded.
    pub(super) fn resume_offset(&self) -> u64 {
        if self.discard == Discard::Nothing { self.offset } else { self.discard_from }
    }

    /// Skipped and blank line counts since the last call.
    pub(super) fn take_counts(&mut self) -> (u64, u64) {
        (std::mem::take(&mut self.skipped), std::mem::take(&mut self.blank))
    }

    /// Frames `buf` into `out`; returns how many bytes are done with. At `eof`
    /// everything is consumed.
    pub(super) fn scan(&mut self, buf: &[u8], eof: bool, out: &mut VecDeque<Pending>) -> usize {
        let consumed = match self.framing {
            Framing::LengthPrefixed => self.scan_length_prefixed(buf, eof, out),
            _ => self.scan_lines(buf, eof, out),
        };
        self.offset += consumed as u64;
        consumed
    }

    fn push(&self, out: &mut VecDeque<Pending>, scan: Scan, line: u64, at: usize) {
        out.push_back(Pending { scan, line, offset: self.offset + at as u64 });
    }

    /// Skips what an oversized record left; returns where framing resumes, or
    /// `None` when the whole buffer was discarded.
    fn discard_lines(&mut self, buf: &[u8], eof: bool) -> Option<usize> {
        let mut pos = 0;
        loop {
            match self.discard {
                Discard::Nothing => return Some(pos),
                Discard::Line | Discard::LineThenContinuation => match memchr(b'\n', &buf[pos..]) {
                    Some(at) => {
                        pos += at + 1;
                        self.line += 1;
                        self.discard = match self.discard {
                            Discard::LineThenContinuation => Discard::Continuation,
                            _ => Discard::Nothing,
                        };
                    }
                    None => {
                        if eof {
                            self.discard = Discard::Nothing;
                        }
                        return None;
                    }
                },
                Discard::Continuation => match buf.get(pos) {
                    Some(b'\t') => self.discard = Discard::LineThenContinuation,
                    Some(_) => self.discard = Discard::Nothing,
                    None => {
                        if eof {
                            self.discard = Discard::Nothing;
                        }
                        return None;
                    }
                },
                Discard::Bytes(_) => unreachable!("byte discard in line framing"),
            }
        }
    }

    fn scan_lines(&mut self, buf: &[u8], eof: bool, out: &mut VecDeque<Pending>) -> usize {
        let Some(mut pos) = self.discard_lines(buf, eof) else { return buf.len() };
        // A UTF-8 byte order mark at the very start of a text stream (files
        // saved by Windows tools) is not part of the first record: without
        // this, the first line's `{` is not its first byte and the record is
        // rejected. Elsewhere a BOM is data, for the decoder to judge.
        if self.offset == 0 && pos == 0 {
            if buf.starts_with(BOM) {
                pos = BOM.len();
            } else if !eof && buf.len() < BOM.len() && BOM.starts_with(buf) {
                // Too few bytes to tell yet: wait for more, so that the outcome
                // does not depend on read sizes.
                return 0;
            }
        }
        while pos < buf.len() {
            let start = pos;
            let end = match memchr(b'\n', &buf[pos..]) {
                Some(at) => pos + at,
                None if eof => buf.len(),
                None => {
                    // A CR at the end may be the line's own (CRLF), which the
                    // complete line drops: do not count it yet, or a line of
                    // exactly the limit is refused only when read in pieces.
                    if trim_cr(buf, start, buf.len()).len() > self.limit {
                        self.push(
                            out,
                            Scan::TooLarge { head: start..buf.len() },
                            self.line + 1,
                            start,
                        );
                        self.discard = Discard::Line;
                        self.discard_from = self.offset + start as u64;
                        return buf.len();
                    }
                    return start;
                }
            };
            let next = (end + 1).min(buf.len());
            let line = trim_cr(buf, start, end);
            let line_no = self.line + 1;
            // Any line over the limit is refused before it is classified, so the
            // outcome cannot depend on how much of it one read delivered.
            let class = if line.len() > self.limit {
                self.push(out, Scan::TooLarge { head: line.clone() }, line_no, start);
                LineClass::Blank
            } else {
                classify(self.framing, buf, line.clone())
            };
            match class {
                LineClass::Blank if line.len() > self.limit => {}
                LineClass::Blank => self.blank += 1,
                LineClass::Skip => self.skipped += 1,
                LineClass::Record { payload, key } => {
                    self.push(out, Scan::Record { payload, key }, line_no, start);
                }
                LineClass::TlogHeader => match self.tlog_record(buf, start, next, eof) {
                    TlogRecord::Complete { end: record_end, next, lines } => {
                        let payload = start..trim_newline(buf, start, record_end);
                        let scan = if payload.len() > self.limit {
                            Scan::TooLarge { head: payload }
                        } else {
                            Scan::Record { payload, key: None }
                        };
                        self.push(out, scan, line_no, start);
                        self.line += lines;
                        pos = next;
                        continue;
                    }
                    TlogRecord::Incomplete { lines } => {
                        // Measured as the complete record would be, without
                        // its last line break: a record of exactly the limit
                        // waiting for the next line's first byte was refused
                        // only when read in pieces (found by `frame_tlog`).
                        if trim_newline(buf, start, buf.len()) - start > self.limit {
                            self.push(
                                out,
                                Scan::TooLarge { head: start..buf.len() },
                                line_no,
                                start,
                            );
                            self.line += lines;
                            self.discard = if buf.ends_with(b"\n") {
                                Discard::Continuation
                            } else {
                                Discard::LineThenContinuation
                            };
                            self.discard_from = self.offset + start as u64;
                            return buf.len();
                        }
                        return start;
                    }
                },
            }
            self.line += 1;
            pos = next;
        }
        pos
    }

    /// Finds the end of the T-Server log record whose header line starts at
    /// `start` and whose first continuation line would start at `next`.
    fn tlog_record(&self, buf: &[u8], start: usize, mut next: usize, eof: bool) -> TlogRecord {
        let _ = start;
        let mut lines = 1;
        if next == buf.len() && !eof && !buf.ends_with(b"\n") {
            return TlogRecord::Incomplete { lines: 0 };
        }
        loop {
            match buf.get(next) {
                Some(b'\t') => match memchr(b'\n', &buf[next..]) {
                    Some(at) => {
                        next += at + 1;
                        lines += 1;
                    }
                    None if eof => {
                        lines += 1;
                        return TlogRecord::Complete { end: buf.len(), next: buf.len(), lines };
                    }
                    None => return TlogRecord::Incomplete { lines },
                },
                Some(_) => return TlogRecord::Complete { end: next, next, lines },
                None if eof => return TlogRecord::Complete { end: next, next, lines },
                None => return TlogRecord::Incomplete { lines },
            }
        }
    }

    fn scan_length_prefixed(
        &mut self,
        buf: &[u8],
        eof: bool,
        out: &mut VecDeque<Pending>,
    ) -> usize {
        let mut pos = 0;
        if let Discard::Bytes(left) = self.discard {
            let skip = left.min(buf.len() as u64);
            pos = skip as usize;
            self.discard =
                if skip == left { Discard::Nothing } else { Discard::Bytes(left - skip) };
            if pos == buf.len() {
                return pos;
            }
        }
        loop {
            let available = buf.len() - pos;
            if available < 4 {
                if eof && available > 0 {
                    self.line += 1;
                    self.push(out, Scan::Truncated { head: pos..buf.len() }, self.line, pos);
                    return buf.len();
                }
                return pos;
            }
            let header: [u8; 4] = buf[pos..pos + 4].try_into().unwrap_or_default();
            let len = u32::from_be_bytes(header) as usize;
            let body = pos + 4;
            if len == 0 {
                self.blank += 1;
                self.line += 1;
                pos = body;
                continue;
            }
            if len > self.limit {
                self.line += 1;
                let held = (buf.len() - body).min(len);
                self.push(out, Scan::TooLarge { head: body..body + held }, self.line, pos);
                if held < len {
                    self.discard = Discard::Bytes((len - held) as u64);
                    self.discard_from = self.offset + pos as u64;
                    return buf.len();
                }
                pos = body + len;
                continue;
            }
            if buf.len() - body < len {
                if eof {
                    self.line += 1;
                    self.push(out, Scan::Truncated { head: body..buf.len() }, self.line, pos);
                    return buf.len();
                }
                return pos;
            }
            self.line += 1;
            self.push(out, Scan::Record { payload: body..body + len, key: None }, self.line, pos);
            pos = body + len;
        }
    }
}

enum TlogRecord {
    /// The record ends at `end` (after its last newline); framing goes on at `next`.
    Complete { end: usize, next: usize, lines: u64 },
    /// The buffer ends inside the record; `lines` were seen so far.
    Incomplete { lines: u64 },
}

/// The line `start..end` without a trailing `\r`.
fn trim_cr(buf: &[u8], start: usize, end: usize) -> Range<usize> {
    if end > start && buf[end - 1] == b'\r' { start..end - 1 } else { start..end }
}

/// `start..end` without trailing `\n` / `\r\n`.
fn trim_newline(buf: &[u8], start: usize, mut end: usize) -> usize {
    while end > start && matches!(buf[end - 1], b'\n' | b'\r') {
        end -= 1;
    }
    end
}

/// Whether `line` heads a T-Server log event record.
fn is_tlog_header(line: &[u8]) -> bool {
    memmem::find(line, b"message Event").is_some()
}

fn classify(framing: Framing, buf: &[u8], line: Range<usize>) -> LineClass {
    let text = &buf[line.clone()];
    let Some(first) = text.iter().position(|b| !matches!(b, b' ' | b'\t')) else {
        return LineClass::Blank;
    };
    let unkeyed = LineClass::Record { payload: line.clone(), key: None };
    let keyed = |tab: usize| LineClass::Record {
        payload: line.start + tab + 1..line.end,
        key: Some(line.start..line.start + tab),
    };
    let starts_record = |byte: u8| matches!(byte, b'{' | b'<');
    match framing {
        Framing::Lines => {
            if starts_record(text[first]) {
                return unkeyed;
            }
            match memchr(b'\t', text) {
                Some(tab) => keyed(tab),
                None => unkeyed,
            }
        }
        Framing::Tlog => {
            if is_tlog_header(text) {
                LineClass::TlogHeader
            } else {
                LineClass::Skip
            }
        }
        Framing::Auto => {
            if starts_record(text[first]) {
                return unkeyed;
            }
            let tab = memchr(b'\t', text);
            if let Some(tab) = tab {
                let after = &text[tab + 1..];
                if after
                    .iter()
                    .find(|b| !matches!(b, b' ' | b'\t'))
                    .is_some_and(|&b| starts_record(b))
                {
                    return keyed(tab);
                }
            }
            if is_tlog_header(text) {
                return LineClass::TlogHeader;
            }
            let looks_like_log = matches!(text[0], b'@' | b'\t' | b' ' | b'0'..=b'9')
                || memmem::find(text, b"message ").is_some();
            match (looks_like_log, tab) {
                (true, _) => LineClass::Skip,
                (false, Some(tab)) => keyed(tab),
                (false, None) => unkeyed,
            }
        }
        Framing::LengthPrefixed => unkeyed,
    }
}
