#![no_main]
//! Random agent and call operations through a sharded pipeline (2 or 3
//! shards, random batch and ring sizes) give exactly the single-threaded
//! reducer's outputs, with the calls closed or flushed open at the end.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (ctistream_fuzz::ops::Script, ctistream_fuzz::reduce::Shape, bool)| {
    let (script, shape, close) = input;
    ctistream_fuzz::dump_if_asked(&script, ctistream_fuzz::ops::Numbering::Server);
    ctistream_fuzz::reduce::check_sharded(&script, shape, close);
});
