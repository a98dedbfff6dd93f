//! A reader that stops early (`labctl ... | head`): labctl ends quietly, never with a panic,
//! whether it writes from outside the sandbox (`show`) or from inside it (`grade`, whose
//! result is printed by the sandboxed process). The reader here closes before labctl writes
//! anything, so every write meets a broken pipe.

mod kit;

use std::process::Stdio;

use kit::{labctl, root};

fn closed_reader(args: &[&str]) -> (Option<i32>, String) {
    let mut child = labctl()
        .args(args)
        .current_dir(root())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run labctl");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("wait for labctl");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn output_to_a_closed_pipe_ends_quietly() {
    let (code, stderr) = closed_reader(&["show", "tests/data/homework-redirect.pcap", "-v"]);
    assert!(!stderr.contains("panicked"), "show: {stderr}");
    assert!(
        matches!(code, Some(0 | 141)),
        "show exit {code:?}: {stderr}"
    );
    // As a pipe writer killed by SIGPIPE would: 128 + 13.
    let (code, stderr) = closed_reader(&["grade", "find-the-attacker", "--reference", "--json"]);
    assert!(!stderr.contains("panicked"), "grade: {stderr}");
    assert_eq!(code, Some(141), "grade: {stderr}");
}
