//! Any bytes as a capture file: the reader, the dissector, the conversation tracker and every
//! rendering must return, never panic. The same path as the mutation test of
//! tests/analysis_malformed.rs (`labctl::analyze::fixture::read_and_render`).
//! Run: `cargo +nightly fuzz run capture_reader`.

#![no_main]

use labctl::analyze::fixture;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = fixture::read_and_render(data);
});
