//! Fuzz target: see `sightline::fuzz_entry::otlp_protobuf`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    sightline::fuzz_entry::otlp_protobuf(data);
});
