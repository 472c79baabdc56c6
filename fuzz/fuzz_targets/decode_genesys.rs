#![no_main]
//! Decoding as `genesys`: an event of that dialect, or an error inside the record.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| ctistream_fuzz::check_decode(
    ctistream_fuzz::DecodeFormat::Genesys,
    data
));
