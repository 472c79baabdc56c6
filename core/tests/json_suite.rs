//! The JSONTestSuite parsing cases (`../shared/testdata/JSONTestSuite`), run
//! against the validator and against every JSON dialect decoder with the case
//! embedded as an attribute value: `y_` accepted, `n_` rejected, `i_` either,
//! never a panic.

use std::path::PathBuf;

use ctistream_core::{Decoder, Format, validate_json};

fn suite_dir() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let candidates = [
        here.join("../../shared/testdata/JSONTestSuite/test_parsing"),
        here.join("../shared/testdata/JSONTestSuite/test_parsing"),
    ];
    candidates
        .into_iter()
        .find(|dir| dir.is_dir())
        .expect("JSONTestSuite not found beside the checkout (../shared/testdata/JSONTestSuite)")
}

fn cases() -> Vec<(String, Vec<u8>)> {
    let mut cases: Vec<_> = std::fs::read_dir(suite_dir())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .collect();
    cases.sort();
    assert!(cases.len() > 300, "expected the whole suite, found {} cases", cases.len());
    cases
}

/// Embeds `case` as the value of `Extensions` so that a case that leaves a
/// container open cannot borrow the record's closing brace: the newline ends
/// any open string, and the members after it close exactly one object.
fn embed(template: &[u8], case: &[u8]) -> Vec<u8> {
    let at = template.windows(6).position(|w| w == b"@CASE@").unwrap();
    [&template[..at], case, &template[at + 6..]].concat()
}

const TEMPLATES: [(Format, &str); 3] = [
    (
        Format::Genesys,
        "{\"Extensions\":@CASE@\n,\"id\":\"EventRinging\",\"ThisDN\":\"5001\",\"ConnID\":\"0a1b\"}",
    ),
    (
        Format::Ors,
        "{\"name\":\"interaction.added\",\"data\":{\"interactionid\":\"i1\",\"extra\":@CASE@\n}}",
    ),
    (Format::Sdk, "{\"eventType\":\"ping\",\"payload\":@CASE@\n,\"tenantId\":\"t1\"}"),
];

#[test]
fn validator_agrees_with_the_suite() {
    let mut disagreements = Vec::new();
    for (name, bytes) in cases() {
        let result = validate_json(&bytes, 128);
        match (&name[..2], &result) {
            ("y_", Err(error)) => disagreements.push(format!("{name}: rejected: {error}")),
            ("n_", Ok(())) => disagreements.push(format!("{name}: accepted")),
            _ => {}
        }
    }
    assert!(disagreements.is_empty(), "{disagreements:#?}");
}

#[test]
fn every_json_decoder_agrees_with_the_suite_on_embedded_cases() {
    for (format, template) in TEMPLATES {
        let decoder = Decoder::new(format);
        let auto = Decoder::new(Format::Auto);
        let mut disagreements = Vec::new();
        for (name, case) in cases() {
            let record = embed(template.as_bytes(), &case);
            let result = decoder.decode(&record, None);
            let auto_result = auto.decode(&record, None);
            assert_eq!(result.is_ok(), auto_result.is_ok(), "{format} {name}: auto differs");
            match (&name[..2], &result) {
                ("y_", Err(error)) => disagreements.push(format!("{name}: rejected: {error}")),
                ("n_", Ok(_)) => disagreements.push(format!("{name}: accepted")),
                _ => {}
            }
        }
        assert!(disagreements.is_empty(), "{format}: {disagreements:#?}");
    }
}

#[test]
fn rejections_name_a_reason_and_a_position_inside_the_record() {
    let decoder = Decoder::new(Format::Genesys);
    for (name, case) in cases().into_iter().filter(|(name, _)| name.starts_with("n_")) {
        let record = embed(TEMPLATES[0].1.as_bytes(), &case);
        let error = decoder.decode(&record, None).unwrap_err();
        assert!(error.offset() <= record.len(), "{name}: offset {} past the end", error.offset());
        let text = error.to_string();
        assert!(text.ends_with(&format!(" at byte {}", error.offset())), "{name}: {text}");
        assert!(!error.class().is_empty());
    }
}
