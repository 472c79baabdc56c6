//! The fuzz dictionaries (`fuzz/dict/`) hold every name the decoders match by
//! name table. A name missing from its dialect's dictionary is one the fuzzer
//! has to spell out a byte at a time, each new name a new edge: `decode_ors`
//! found one every few minutes and never reached a coverage plateau while
//! `ors.dict` lacked 92 of the names `data.hints` decodes.

use std::collections::HashSet;
use std::path::Path;

use ctistream_core::{
    AgentWorkMode, CallState, CallType, Cause, DnRole, IvrStatus, OrsEvent, OrsNamespace,
    SdkAgentState, SdkCallType, SdkEvent, TEvent,
};

/// The entries of `fuzz/dict/<name>.dict` in libFuzzer's format: one
/// `"..."` per line (optionally `label=` before it), `\\`, `\"` and `\xNN`
/// escapes, `#` comments.
fn dictionary(name: &str) -> HashSet<Vec<u8>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../fuzz/dict/{name}.dict"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty() && !line.trim_start().starts_with('#'))
        .map(|(at, line)| {
            let quoted = &line[line
                .find('"')
                .unwrap_or_else(|| panic!("{name}.dict:{}: no quoted entry", at + 1))..];
            unquote(quoted)
                .unwrap_or_else(|| panic!("{name}.dict:{}: not one quoted entry: {line}", at + 1))
        })
        .collect()
}

/// A dictionary entry's bytes, or `None` if it is not one quoted string.
fn unquote(quoted: &str) -> Option<Vec<u8>> {
    let inner = quoted.strip_prefix('"')?.strip_suffix('"')?.as_bytes();
    let mut bytes = Vec::with_capacity(inner.len());
    let mut rest = inner;
    while let Some((&byte, after)) = rest.split_first() {
        rest = after;
        if byte != b'\\' {
            bytes.push(byte);
            continue;
        }
        let (&escaped, after) = rest.split_first()?;
        rest = after;
        match escaped {
            b'\\' | b'"' => bytes.push(escaped),
            b'x' => {
                let hex = std::str::from_utf8(rest.get(..2)?).ok()?;
                bytes.push(u8::from_str_radix(hex, 16).ok()?);
                rest = &rest[2..];
            }
            _ => return None,
        }
    }
    Some(bytes)
}

/// The names in `wanted` (as the dialect writes them, by `spell`) that
/// `dict` lacks.
fn missing<'a>(
    dict: &HashSet<Vec<u8>>,
    wanted: impl IntoIterator<Item = &'a str>,
    spell: fn(&str) -> String,
) -> Vec<String> {
    wanted.into_iter().map(spell).filter(|entry| !dict.contains(entry.as_bytes())).collect()
}

fn json_string(name: &str) -> String {
    format!("\"{name}\"")
}

fn bare(name: &str) -> String {
    name.to_owned()
}

/// The wire names of every variant of the given name tables.
macro_rules! names {
    ($($table:ty),+) => {{
        let mut names: Vec<&'static str> = Vec::new();
        $( names.extend(<$table>::ALL.iter().map(|v| v.name())); )+
        names
    }};
}

/// The T-Library names the genesys and tlog dialects decode: events and the
/// enumerated attributes.
fn tlib_names() -> Vec<&'static str> {
    names!(TEvent, CallType, CallState, DnRole, AgentWorkMode, Cause)
}

#[test]
fn genesys_dictionary_has_every_tlib_name_as_a_json_string() {
    assert_eq!(missing(&dictionary("genesys"), tlib_names(), json_string), Vec::<String>::new());
}

#[test]
fn tlog_dictionary_has_every_tlib_name() {
    assert_eq!(missing(&dictionary("tlog"), tlib_names(), bare), Vec::<String>::new());
}

#[test]
fn ors_dictionary_has_every_event_namespace_and_hint_name() {
    let dict = dictionary("ors");
    let events = OrsEvent::INTERACTION_EVENTS.iter().map(|(_, name)| *name);
    assert_eq!(missing(&dict, events, json_string), Vec::<String>::new());
    let namespaces = OrsNamespace::ALL.iter().map(|ns| ns.name());
    assert_eq!(missing(&dict, namespaces, |ns| format!("\"{ns}.")), Vec::<String>::new());
    // `data.hints`: `ccevent`, `callstate` and `cause`.
    let hints = names!(TEvent, CallState, Cause);
    assert_eq!(missing(&dict, hints, json_string), Vec::<String>::new());
}

#[test]
fn sdk_dictionary_has_every_event_call_type_and_agent_state() {
    let names = names!(SdkEvent, SdkCallType, SdkAgentState);
    assert_eq!(missing(&dictionary("sdk"), names, json_string), Vec::<String>::new());
}

#[test]
fn ivr_dictionary_has_every_status() {
    assert_eq!(missing(&dictionary("ivr"), names!(IvrStatus), bare), Vec::<String>::new());
}

#[test]
fn dictionary_entries_unquote_as_libfuzzer_reads_them() {
    assert_eq!(unquote(r#""\"id\"""#), Some(b"\"id\"".to_vec()));
    assert_eq!(unquote(r#""\x09\\""#), Some(b"\t\\".to_vec()));
    assert_eq!(unquote(r#""\q""#), None);
    assert_eq!(unquote("unquoted"), None);
}
