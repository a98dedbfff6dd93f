//! `labctl test` through the real binary: the shipped scenarios all pass; a broken firewall (a
//! REDIRECT to the wrong port, a missing rule) fails with exit 1 and a readable diff of the
//! flows; bad input is exit 2 with nothing run; `--bless` writes snapshots where it says;
//! JUnit and JSON come out for CI.

mod kit;

use std::path::{Path, PathBuf};
use std::process::Output;

use kit::{assert_exit, described, scratch};

const SCENARIO: &str = "tests/scenarios/redirect-check.toml";
const SNAPSHOT: &str = "tests/scenarios/snapshots/redirect-check.snap";

fn labctl(args: &[&str], out: &Path) -> Output {
    kit::labctl()
        .arg("test")
        .args(args)
        .arg("--out")
        .arg(out)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap()
}

/// The redirect scenario with `from` replaced by `to`, beside a copy of its snapshot.
fn broken(dir: &Path, from: &str, to: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join(SCENARIO)).unwrap();
    assert!(text.contains(from));
    let file = dir.join("redirect-check.toml");
    std::fs::write(&file, text.replace(from, to)).unwrap();
    std::fs::create_dir_all(dir.join("snapshots")).unwrap();
    std::fs::copy(
        root.join(SNAPSHOT),
        dir.join("snapshots/redirect-check.snap"),
    )
    .unwrap();
    file
}

#[test]
fn every_shipped_scenario_passes() {
    let dir = scratch("all");
    let junit = dir.join("junit.xml");
    let o = labctl(
        &["--jobs", "2", "--junit", junit.to_str().unwrap()],
        &dir.join("runs"),
    );
    assert_exit(&o, 0);
    let stdout = String::from_utf8_lossy(&o.stdout);
    for name in [
        "homework-redirect",
        "routing-vpn",
        "filter-drop",
        "tcp-host-gone",
        "netcat-handshake",
    ] {
        assert!(
            stdout.contains(&format!("ok    {name}")),
            "{name}: {stdout}"
        );
    }
    assert!(stdout.contains(" 0 failed, 0 could not run"), "{stdout}");
    // The progress line, one line per lab when stderr is not a terminal.
    kit::assert_stderr_has(&o, "test routing-vpn ok");
    let xml = std::fs::read_to_string(&junit).unwrap();
    kit::assert_contains(
        &xml,
        &["failures=\"0\" errors=\"0\"", "name=\"routing-vpn\""],
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_redirect_to_the_wrong_port_fails_with_a_diff() {
    let dir = scratch("wrong-port");
    let file = broken(&dir, "--to-ports 27664", "--to-ports 27665");
    let junit = dir.join("junit.xml");
    let o = labctl(
        &[file.to_str().unwrap(), "--junit", junit.to_str().unwrap()],
        &dir.join("runs"),
    );
    assert_exit(&o, 1);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("FAIL  redirect-check"), "{stdout}");
    // The client is refused: the step and the dump file say so, and the flows differ.
    kit::assert_contains(
        &stdout,
        &[
            "expected connected, got refused",
            "flows differ from the expected snapshot",
            "-#1 tcp client:* > server:21  handshake complete  close fin client-first  outcome established",
            "+#1 tcp client:* > server:21  handshake syn-only  close rst server  outcome refused",
        ],
    );
    // No colour codes when stdout is not a terminal.
    assert!(!stdout.contains('\u{1b}'), "{stdout}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    kit::assert_contains(&xml, &["failures=\"1\"", "<failure message="]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_missing_rule_fails_with_a_diff_and_json() {
    let dir = scratch("missing-rule");
    let file = broken(
        &dir,
        "[[rules]]\nhost = \"server\"\niptables = \"-t nat -A PREROUTING -i eth0 -p tcp -m tcp --dport 21 -j REDIRECT --to-ports 27664\"\n",
        "",
    );
    let o = labctl(&[file.to_str().unwrap(), "--json"], &dir.join("runs"));
    assert_exit(&o, 1);
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(json["failed"], 1);
    let scenario = &json["scenarios"][0];
    assert_eq!(scenario["status"], "failed");
    let diff = scenario["diff"].as_str().unwrap();
    assert!(
        diff.contains("+#1 tcp client:* > server:21  handshake syn-only"),
        "{diff}"
    );
    let failures = scenario["failures"].to_string();
    assert!(failures.contains("file server:dump.txt"), "{failures}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn unknown_scenarios_and_bad_files_are_exit_2_before_any_lab() {
    let dir = scratch("bad-input");
    let o = labctl(&["homework-redirect", "no-such-lab"], &dir.join("runs"));
    assert_exit(&o, 2);
    kit::assert_stderr_has(&o, "no scenario named \"no-such-lab\"");
    assert!(
        !dir.join("runs").exists(),
        "a lab ran before the input was checked"
    );
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "name = \"bad\"\n[hosts.a]\nforwrd = true\n").unwrap();
    let o = labctl(&[bad.to_str().unwrap()], &dir.join("runs"));
    assert_exit(&o, 2);
    kit::assert_stderr_has(&o, "bad.toml:3:1");
    let o = labctl(&["--jobs", "0"], &dir.join("runs"));
    assert_exit(&o, 2);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bless_writes_the_snapshot_beside_the_scenario_and_says_where() {
    let dir = scratch("bless");
    let file = broken(&dir, "--to-ports 27664", "--to-ports 27665");
    let o = labctl(&[file.to_str().unwrap(), "--bless"], &dir.join("runs"));
    // The snapshot is rewritten; the failed step and file check still fail the run.
    assert_exit(&o, 1);
    let written = dir.join("snapshots/redirect-check.snap");
    kit::assert_stdout_has(
        &o,
        &format!("wrote the expected snapshot {}", written.display()),
    );
    let snap = std::fs::read_to_string(&written).unwrap();
    assert!(snap.starts_with("---\n"), "{snap}");
    assert!(
        snap.contains("handshake syn-only  close rst server  outcome refused"),
        "{snap}"
    );
    // Now the flows match: only the step and file checks fail, without a diff.
    let o = labctl(&[file.to_str().unwrap()], &dir.join("runs2"));
    assert_exit(&o, 1);
    assert!(
        !String::from_utf8_lossy(&o.stdout).contains("flows differ"),
        "{}",
        described(&o)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Outside the repository (a scratch directory with no ./scenarios), `--bless` of a built-in
/// scenario whose flows match its built-in snapshot passes and writes nothing: no
/// ./scenarios/snapshots appears there and the repository's snapshot is untouched.
#[test]
fn bless_of_a_matching_built_in_outside_the_repository_writes_nothing() {
    let dir = scratch("bless-builtin");
    let shipped =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/snapshots/tcp-refused.snap");
    let before = std::fs::read(&shipped).unwrap();
    let o = kit::labctl()
        .args(["test", "tcp-refused", "--bless", "--out"])
        .arg(dir.join("runs"))
        .current_dir(&dir)
        .output()
        .unwrap();
    assert_exit(&o, 0);
    assert!(
        !String::from_utf8_lossy(&o.stdout).contains("wrote the expected snapshot"),
        "{}",
        described(&o)
    );
    assert!(!dir.join("scenarios").exists(), "{}", described(&o));
    assert_eq!(std::fs::read(&shipped).unwrap(), before);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A scenario without a snapshot fails the suite, saying how to record one; `snapshot = false`
/// at its top level passes it, and `labctl run` says the flows were not compared.
#[test]
fn a_missing_snapshot_fails_unless_the_scenario_says_snapshot_false() {
    let dir = scratch("no-snapshot");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text_of = std::fs::read_to_string(root.join(SCENARIO)).unwrap();
    let file = dir.join("redirect-check.toml");
    std::fs::write(&file, &text_of).unwrap();
    let o = labctl(&[file.to_str().unwrap()], &dir.join("runs"));
    assert_exit(&o, 1);
    kit::assert_stdout_has(&o, "no expected snapshot");
    let run = kit::labctl()
        .args(["run"])
        .arg(&file)
        .arg("--out")
        .arg(dir.join("run"))
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&run.stdout).contains("flows not compared: no expected snapshot"),
        "{}",
        described(&run)
    );
    let off = text_of.replacen(
        "name = \"redirect-check\"",
        "name = \"redirect-check\"\nsnapshot = false",
        1,
    );
    assert_ne!(off, text_of);
    std::fs::write(&file, off).unwrap();
    let o = labctl(&[file.to_str().unwrap()], &dir.join("runs2"));
    assert_exit(&o, 0);
    let o = labctl(&[file.to_str().unwrap(), "--bless"], &dir.join("runs3"));
    assert_exit(&o, 0);
    assert!(
        !dir.join("snapshots").exists(),
        "nothing to bless: {}",
        described(&o)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
