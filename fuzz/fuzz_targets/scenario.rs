//! Any text as a scenario file: the parser and validator must return a plan or an error, never
//! panic. The origin is built in, so nothing is read from disk (a file origin would read a
//! site's directory). Run: `cargo +nightly fuzz run scenario`.

#![no_main]

use labctl::scenario::{self, Origin};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(e) = scenario::parse(text, Origin::Builtin("fuzz")) {
        let _ = e.to_string();
    }
});
