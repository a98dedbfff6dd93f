//! Any bytes as the files of a student's submission: commands.sh (not UTF-8, shell syntax,
//! iptables lines with or without sudo) and answers.toml must be read, never panic.
//! Run: `cargo +nightly fuzz run submission`.

#![no_main]

use labctl::grade::{Commands, answers, commands::Loose};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let commands = Commands::read(data);
    for line in &commands.lines {
        let _ = Loose::read(&line.words.join(" "));
    }
    let _ = answers::read(&String::from_utf8_lossy(data));
});
