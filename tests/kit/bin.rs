//! The labctl binary under test, and running it for the JSON it prints.

use std::path::Path;
use std::process::{Command, Output};

/// `labctl`, the binary cargo built for these tests.
pub fn labctl() -> Command {
    Command::new(env!("CARGO_BIN_EXE_labctl"))
}

/// `labctl run SCENARIO --out OUT` for a scenario that must be refused: exits 2, prints
/// nothing on stdout and builds nothing (no `OUT`). Returns its stderr; `what` names the case
/// in failures.
pub fn run_refused(scenario: &Path, out: &Path, what: &str) -> String {
    let run = labctl()
        .arg("run")
        .arg(scenario)
        .arg("--out")
        .arg(out)
        .output()
        .expect("run labctl");
    let stderr = String::from_utf8_lossy(&run.stderr).into_owned();
    assert_eq!(run.status.code(), Some(2), "{what}: {stderr}");
    assert!(run.stdout.is_empty(), "{what}: printed on stdout");
    assert!(!out.exists(), "{what}: a bad scenario built something");
    stderr
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
