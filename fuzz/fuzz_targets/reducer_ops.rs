#![no_main]
//! Random agent and call operations through the single-threaded reducer: no
//! panic, and every invariant of `ctistream_fuzz::reduce::check_reducer`
//! holds (durations never negative, call timings add up, one status per agent,
//! state freed when calls end).

use libfuzzer_sys::fuzz_target;

fuzz_target!(|script: ctistream_fuzz::ops::Script| {
    ctistream_fuzz::dump_if_asked(&script, ctistream_fuzz::ops::Numbering::Pool);
    ctistream_fuzz::reduce::check_reducer(&script);
});
