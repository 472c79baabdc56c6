#![no_main]
//! Framing (`LengthPrefixed`) is independent of read sizes and respects the record limit.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| ctistream_fuzz::check_framing(
    ctistream_fuzz::Framing::LengthPrefixed,
    data
));
