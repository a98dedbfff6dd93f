//! Any text as iptables and ip route command lines, as a student's commands.sh holds them: the
//! shell lexer, the rule parser, the route parser and the rules-file reader must return, never
//! panic.
//! Run: `cargo +nightly fuzz run iptables`.

#![no_main]

use labctl::rules::{eval::Ruleset, parse_restore, parse_route, parse_rule, script_commands};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = script_commands(&text);
    // The same text as a rules file (iptables-save format).
    if let Err(e) = parse_restore(&text, &mut Ruleset::new()) {
        let _ = e.to_string();
    }
    for line in text.lines() {
        if let Err(e) = parse_rule(line) {
            let _ = e.to_string();
        }
        if let Err(e) = parse_route(line) {
            let _ = e.to_string();
        }
    }
});
