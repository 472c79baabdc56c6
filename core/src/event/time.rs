//! Event time: microseconds since the Unix epoch (UTC), parsed from RFC 3339
//! text or from T-Library seconds + microseconds, and printed as RFC 3339.

/// A point in time, in microseconds since 1970-01-01T00:00:00Z.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct Timestamp(pub i64);

/// Microseconds in one day.
const DAY_MICROS: i64 = 86_400_000_000;

/// The 8 bytes at `at`, first byte lowest.
#[inline(always)]
fn word_at(text: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(text.get(at..at + 8)?.try_into().ok()?))
}

/// The layout of 8 bytes of two-digit fields and separators (`00:00:00`).
struct DigitPairs {
    /// The layout itself: `0` where a digit stands, else the separator.
    pattern: u64,
    /// `0x80` in every digit byte.
    digit_high: u64,
    /// `0xff` in every separator byte.
    separators: u64,
}

/// `YYYY-MM-`.
const DATE: DigitPairs = DigitPairs::of(*b"0000-00-");
/// `HH:MM:SS`.
const CLOCK: DigitPairs = DigitPairs::of(*b"00:00:00");

impl DigitPairs {
    /// The layout spelt as text, `0` for every digit.
    const fn of(layout: [u8; 8]) -> DigitPairs {
        let (mut digit_high, mut separators, mut i) = ([0u8; 8], [0u8; 8], 0);
        while i < 8 {
            if layout[i] == b'0' {
                digit_high[i] = 0x80;
            } else {
                separators[i] = 0xff;
            }
            i += 1;
        }
        DigitPairs {
            pattern: u64::from_le_bytes(layout),
            digit_high: u64::from_le_bytes(digit_high),
            separators: u64::from_le_bytes(separators),
        }
    }

    /// `word` checked against the layout, with each two-digit field `d0 d1`
    /// turned into the number `10*d0 + d1` in the byte of `d0`; `None` when a
    /// digit or a separator is off.
    #[inline(always)]
    fn pairs(&self, word: u64) -> Option<Pairs> {
        // Digits become 0..=9 and right separators 0. A byte is a digit when
        // its high bit is clear both before and after adding 0x76 (118): only
        // 0..=9 stay below 0x80. Only a byte at or above 0x8a carries into its
        // neighbour, and such a byte fails by itself (its high bit is set in a
        // digit's place, or it is not 0 in a separator's), so a neighbour the
        // carry made look right never decides the answer.
        let x = word ^ self.pattern;
        let off_digits = (x | x.wrapping_add(0x7676_7676_7676_7676)) & self.digit_high;
        if off_digits | (x & self.separators) != 0 {
            return None;
        }
        // Every byte is at most 9, so neither product nor sum carries.
        Some(Pairs(x.wrapping_mul(10).wrapping_add(x >> 8)))
    }
}

/// Two-digit numbers read by [`DigitPairs::pairs`].
struct Pairs(u64);

impl Pairs {
    /// The number whose first digit stood at byte `at`.
    #[inline(always)]
    fn number_at(&self, at: u32) -> u8 {
        (self.0 >> (8 * at)) as u8
    }
}

impl Timestamp {
    /// From epoch seconds and microseconds (`TimeinSecs` + `TimeinuSecs`).
    pub const fn from_secs_micros(secs: i64, micros: i64) -> Timestamp {
        Timestamp(secs.saturating_mul(1_000_000).saturating_add(micros))
    }

    /// Microseconds from `earlier` to `self`: zero when `earlier` is later, and
    /// saturating rather than overflowing, since event times come from outside
    /// and may be anywhere in `i64` (a `TimeinSecs` of 18 digits saturates).
    pub const fn micros_since(self, earlier: Timestamp) -> i64 {
        let micros = self.0.saturating_sub(earlier.0);
        if micros < 0 { 0 } else { micros }
    }

    /// Milliseconds since the epoch.
    pub const fn as_millis(self) -> i64 {
        self.0.div_euclid(1000)
    }

    /// Parses RFC 3339 UTC or offset time: `2026-11-20T09:15:02.125Z`,
    /// `2026-11-20T09:15:02+01:00`, fractions of up to 9 digits (cut to microseconds).
    /// Returns `None` for anything else.
    pub fn parse_rfc3339(text: &[u8]) -> Option<Timestamp> {
        if text.len() < 20 || !matches!(text[10], b'T' | b't' | b' ') {
            return None;
        }
        // `YYYY-MM-` and `HH:MM:SS` are 8 bytes each: checked and read a word
        // at a time (every record carries a time; this is most of its cost).
        let date = DATE.pairs(word_at(text, 0)?)?;
        let clock = CLOCK.pairs(word_at(text, 11)?)?;
        let (day_tens, day_ones) = (text[8].wrapping_sub(b'0'), text[9].wrapping_sub(b'0'));
        if day_tens > 9 || day_ones > 9 {
            return None;
        }
        let year = i64::from(date.number_at(0)) * 100 + i64::from(date.number_at(2));
        let month = i64::from(date.number_at(5));
        let day = i64::from(day_tens * 10 + day_ones);
        let (hour, minute, second) = (
            i64::from(clock.number_at(0)),
            i64::from(clock.number_at(3)),
            i64::from(clock.number_at(6)),
        );
        if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
            return None;
        }
        if hour > 23 || minute > 59 || second > 60 {
            return None;
        }
        let mut pos = 19;
        let mut micros = 0i64;
        if text[pos] == b'.' {
            pos += 1;
            let first = pos;
            while pos < text.len() && text[pos].is_ascii_digit() {
                if pos - first < 6 {
                    micros = micros * 10 + i64::from(text[pos] - b'0');
                }
                pos += 1;
            }
            let count = pos - first;
            if count == 0 || count > 9 {
                return None;
            }
            for _ in count..6 {
                micros *= 10;
            }
        }
        let offset_secs = match text.get(pos..)? {
            [b'Z' | b'z'] => 0,
            [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
                let field = |a: u8, b: u8| -> Option<i64> {
                    (a.is_ascii_digit() && b.is_ascii_digit())
                        .then(|| i64::from(a - b'0') * 10 + i64::from(b - b'0'))
                };
                let (h, m) = (field(*h1, *h2)?, field(*m1, *m2)?);
                if h > 23 || m > 59 {
                    return None;
                }
                let secs = h * 3600 + m * 60;
                if *sign == b'+' { secs } else { -secs }
            }
            _ => return None,
        };
        let days = days_from_civil(year, month, day);
        let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_secs;
        Some(Timestamp::from_secs_micros(secs, micros))
    }

    /// The midnight (UTC) that starts the day `YYYY-MM-DD`.
    pub fn parse_date(text: &[u8]) -> Option<Timestamp> {
        let mut full = [0u8; 20];
        if text.len() != 10 {
            return None;
        }
        full[..10].copy_from_slice(text);
        full[10..].copy_from_slice(b"T00:00:00Z");
        Self::parse_rfc3339(&full)
    }

    /// The same instant at the start of its UTC day.
    pub const fn start_of_day(self) -> Timestamp {
        Timestamp(self.0 - self.0.rem_euclid(DAY_MICROS))
    }

    /// Writes RFC 3339 UTC with milliseconds: `2026-11-20T09:15:02.125Z`.
    pub fn write_rfc3339(self, out: &mut Vec<u8>) {
        let millis = self.as_millis();
        let (days, day_millis) = (millis.div_euclid(86_400_000), millis.rem_euclid(86_400_000));
        let (year, month, day) = civil_from_days(days);
        let secs = day_millis / 1000;
        let mut buf = [0u8; 24];
        let mut put = |at: usize, value: i64, width: usize| {
            let mut v = value;
            for i in (0..width).rev() {
                buf[at + i] = b'0' + (v % 10) as u8;
                v /= 10;
            }
        };
        put(0, year.rem_euclid(10_000), 4);
        put(5, month, 2);
        put(8, day, 2);
        put(11, secs / 3600, 2);
        put(14, secs / 60 % 60, 2);
        put(17, secs % 60, 2);
        put(20, day_millis % 1000, 3);
        buf[4] = b'-';
        buf[7] = b'-';
        buf[10] = b'T';
        buf[13] = b':';
        buf[16] = b':';
        buf[19] = b'.';
        buf[23] = b'Z';
        out.extend_from_slice(&buf);
    }
}

impl std::fmt::Display for Timestamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut out = Vec::with_capacity(24);
        self.write_rfc3339(&mut out);
        f.write_str(std::str::from_utf8(&out).map_err(|_| std::fmt::Error)?)
    }
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`, <https://howardhinnant.github.io/date_algorithms.html>),
/// for the years RFC 3339 writes (0 to 9999).
#[inline]
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    debug_assert!(
        (0..=9999).contains(&year) && (1..=12).contains(&month) && (1..=31).contains(&day)
    );
    // Counted from one 400-year era earlier, so that every quantity is
    // non-negative and the divisions are plain unsigned ones.
    let y = (year + 400 - i64::from(month <= 2)) as u64;
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = (month as u64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day as u64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146_097 + doe) as i64 - 719_468 - 146_097
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The byte-at-a-time parser this module had before the word-at-a-time
    /// one: the reference the fast one must agree with on every input.
    fn reference_parse(text: &[u8]) -> Option<Timestamp> {
        let digits = |range: std::ops::Range<usize>| -> Option<i64> {
            let bytes = text.get(range)?;
            let mut value = 0i64;
            for &b in bytes {
                if !b.is_ascii_digit() {
                    return None;
                }
                value = value * 10 + i64::from(b - b'0');
            }
            Some(value)
        };
        if text.len() < 20 || text[4] != b'-' || text[7] != b'-' || text[13] != b':' {
            return None;
        }
        if !matches!(text[10], b'T' | b't' | b' ') || text[16] != b':' {
            return None;
        }
        let (year, month, day) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
        let (hour, minute, second) = (digits(11..13)?, digits(14..16)?, digits(17..19)?);
        if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
            return None;
        }
        if hour > 23 || minute > 59 || second > 60 {
            return None;
        }
        // The rest (fraction, offset) is code both share: read it by the fast
        // parser behind the epoch's own date and time.
        let rest = Timestamp::parse_rfc3339(&[&b"1970-01-01T00:00:00"[..], &text[19..]].concat())?;
        let days = days_from_civil(year, month, day);
        let secs = days * 86_400 + hour * 3600 + minute * 60 + second;
        Some(Timestamp(rest.0 + secs * 1_000_000))
    }

    #[test]
    fn word_parser_agrees_with_the_byte_parser_on_valid_and_damaged_times() {
        let valid = [
            &b"2026-11-20T09:15:02.125Z"[..],
            b"2024-02-29T23:59:60Z",
            b"1999-12-31t00:00:00+01:30",
            b"0001-01-01 00:00:00.123456789-23:59",
            b"9999-12-31T23:59:59.000001Z",
        ];
        for text in valid {
            assert!(Timestamp::parse_rfc3339(text).is_some(), "{}", String::from_utf8_lossy(text));
        }
        proptest::proptest!(|(pick in 0..valid.len(), at in 0usize..24, byte in proptest::prelude::any::<u8>())| {
            let mut text = valid[pick].to_vec();
            if at < text.len() {
                text[at] = byte;
            }
            proptest::prop_assert_eq!(Timestamp::parse_rfc3339(&text), reference_parse(&text));
        });
    }

    #[test]
    fn every_position_is_checked_against_every_digit_and_separator() {
        let good = b"2026-11-20T09:15:02Z";
        for at in 0..19 {
            let others = [b'/', b':', b';', b'-', b'A', b'T', 0x80, 0xb0, 0xba, 0xff, 0x00];
            for byte in (b'0'..=b'9').chain(others) {
                let mut text = *good;
                if text[at] == byte {
                    continue;
                }
                text[at] = byte;
                assert_eq!(
                    Timestamp::parse_rfc3339(&text),
                    reference_parse(&text),
                    "{}",
                    String::from_utf8_lossy(&text)
                );
            }
        }
    }

    #[test]
    fn days_from_civil_over_every_year_rfc_3339_writes() {
        // Fixed points, computed independently: 0000-01-01 is 719,528 days
        // before the epoch (proleptic Gregorian), 9999-12-31 is 2,932,896 after.
        assert_eq!(days_from_civil(0, 1, 1), -719_528);
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(9999, 12, 31), 2_932_896);
        for days in (-719_528..=2_932_896).step_by(37) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }
}
