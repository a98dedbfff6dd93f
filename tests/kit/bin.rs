//! The labctl binary under test, and running it for the JSON it prints.

use std::process::{Command, Output};

/// `labctl`, the binary cargo built for these tests.
pub fn labctl() -> Command {
    Command::new(env!("CARGO_BIN_EXE_labctl"))
}

/// Runs `command` (a labctl command line asking for `--json`) and parses its stdout; panics
/// with the exit code and stderr when stdout is not JSON.
pub fn labctl_json(command: &mut Command) -> (Output, serde_json::Value) {
    let output = command.output().expect("run labctl");
    let json = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "{command:?}: no JSON on stdout ({e}); exit {:?}\nstderr: {}",
            output.status.code(),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (output, json)
}
