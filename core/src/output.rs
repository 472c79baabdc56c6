//! Helpers for writing the NDJSON outputs of PROTOCOLS.md without a
//! serialization framework: appending to a reused `Vec<u8>` allocates only when
//! the buffer grows.

/// Appends `text` as a JSON string (quoted, escaped). Invalid UTF-8 is replaced
/// with U+FFFD so the output is always valid JSON.
///
/// # Examples
/// ```
/// let mut out = Vec::new();
/// ctistream_core::write_json_string(&mut out, b"a\"b\n\x01");
/// assert_eq!(out, br#""a\"b\n\u0001""#);
/// ```
pub fn write_json_string(out: &mut Vec<u8>, text: &[u8]) {
    out.push(b'"');
    // ASCII, nearly all names and identifiers, needs no UTF-8 decoding.
    if text.is_ascii() {
        write_escaped(out, text);
    } else {
        for chunk in text.utf8_chunks() {
            write_escaped(out, chunk.valid().as_bytes());
            if !chunk.invalid().is_empty() {
                out.extend_from_slice("\u{FFFD}".as_bytes());
            }
        }
    }
    out.push(b'"');
}

fn write_escaped(out: &mut Vec<u8>, text: &[u8]) {
    let mut start = 0;
    for (i, &byte) in text.iter().enumerate() {
        let escape: &[u8] = match byte {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&text[start..i]);
        if escape.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(byte >> 4)]);
            out.push(HEX[usize::from(byte & 0xf)]);
        } else {
            out.extend_from_slice(escape);
        }
        start = i + 1;
    }
    out.extend_from_slice(&text[start..]);
}

#[cfg(test)]
mod tests {
    use super::write_json_string;

    fn json(text: &[u8]) -> String {
        let mut out = Vec::new();
        write_json_string(&mut out, text);
        String::from_utf8(out).expect("always valid UTF-8")
    }

    #[test]
    fn ascii_and_non_ascii_text_escape_alike() {
        assert_eq!(json(b"a\tb\"c\\"), r#""a\tb\"c\\""#);
        assert_eq!(json("é\t\"ü\x01".as_bytes()), "\"é\\t\\\"ü\\u0001\"");
    }

    #[test]
    fn invalid_utf8_becomes_replacement_characters_between_escaped_text() {
        assert_eq!(json(b"a\xff\n\xc3"), "\"a\u{FFFD}\\n\u{FFFD}\"");
    }
}
