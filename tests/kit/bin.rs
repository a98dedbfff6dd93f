//! The labctl binary under test, the repository it runs from, running it for the JSON it
//! prints, and what a finished run said, for assertion messages.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root, where the shipped scenarios, labs and docs are.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// All a finished command said: its exit code, stdout and stderr.
pub fn described(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Fails the test unless the command exited with `code`, showing all it said.
pub fn assert_exit(o: &Output, code: i32) {
    assert_eq!(o.status.code(), Some(code), "{}", described(o));
}

/// Fails the test unless the command's stdout contains `needle`, showing all it said.
pub fn assert_stdout_has(o: &Output, needle: &str) {
    assert_said(o, "stdout", &o.stdout, needle);
}

/// Fails the test unless the command's stderr contains `needle`, showing all it said.
pub fn assert_stderr_has(o: &Output, needle: &str) {
    assert_said(o, "stderr", &o.stderr, needle);
}

fn assert_said(o: &Output, stream: &str, bytes: &[u8], needle: &str) {
    assert!(
        String::from_utf8_lossy(bytes).contains(needle),
        "no {needle:?} on {stream}: {}",
        described(o)
    );
}

/// The names of the stages of a `labctl run --json` report, in order.
pub fn stage_names(report: &serde_json::Value) -> Vec<&str> {
    report["stages"]
        .as_array()
        .expect("stages")
        .iter()
        .map(|s| s["name"].as_str().expect("a stage name"))
        .collect()
}

/// The strings of a JSON array of strings; panics, showing the value, on anything else.
pub fn strings(v: &serde_json::Value) -> Vec<&str> {
    let items = v.as_array().unwrap_or_else(|| panic!("not an array: {v}"));
    items
        .iter()
        .map(|s| s.as_str().unwrap_or_else(|| panic!("not a string: {s}")))
        .collect()
}

/// `labctl`, the binary cargo built for these tests.
pub fn labctl() -> Command {
    Command::new(env!("CARGO_BIN_EXE_labctl"))
}

/// `labctl run SCENARIO --out OUT` for a scenario that must be refused: exits 2, prints
/// nothing on stdout and builds nothing (no `OUT`). Returns its stderr; `what` names the case
/// in failures.
pub fn run_refused(scenario: &Path, out: &Path, what: &str) -> String {
    let run = run_command(scenario, out).output().expect("run labctl");
    let stderr = String::from_utf8_lossy(&run.stderr).into_owned();
    assert_eq!(run.status.code(), Some(2), "{what}: {stderr}");
    assert!(run.stdout.is_empty(), "{what}: printed on stdout");
    assert!(!out.exists(), "{what}: a bad scenario built something");
    stderr
}

/// `labctl run SCENARIO --out OUT --json`: the output and the report.
pub fn run_json(scenario: &Path, out: &Path) -> (Output, serde_json::Value) {
    labctl_json(run_command(scenario, out).arg("--json"))
}

/// `labctl run SCENARIO --out OUT`, for more arguments to follow.
pub fn run_command(scenario: &Path, out: &Path) -> Command {
    let mut command = labctl();
    command.arg("run").arg(scenario).arg("--out").arg(out);
    command
}

/// `labctl show CAPTURE ARGS...`, run to its end.
pub fn show<S: AsRef<OsStr>>(capture: &Path, args: &[S]) -> Output {
    labctl()
        .arg("show")
        .arg(capture)
        .args(args)
        .output()
        .expect("run labctl show")
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
