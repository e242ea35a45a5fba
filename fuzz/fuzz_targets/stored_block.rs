//! Fuzz target: see `sightline::fuzz_entry::stored_block`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    sightline::fuzz_entry::stored_block(data);
});
