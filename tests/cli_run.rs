//! `labctl run` through the binary. The text report of homework-redirect, with what changes
//! from run to run masked (durations, packet times, TCP timestamps, ephemeral ports, MAC
//! addresses, the artifacts path), is an insta snapshot: stage lines, steps, the capture,
//! flows, checks and the verdict. `--json` prints the same report as one document, also
//! written to report.json. A run that cannot happen (unknown scenario, a TOML error, a bad
//! iptables rule, a program that is not installed) is exit 2 with the place named, and leaves
//! no artifacts directory behind.
//!
//! Runs need the sandbox (user, mount, network and PID namespaces); as root in CI they get it.
//! Every run is made with its working directory in a scratch directory, where the default
//! artifacts directory `labctl-runs/` is created.

mod kit;

use kit::{labctl, scratch, stage_names};
use std::path::{Path, PathBuf};
use std::process::Output;

fn run_in(cwd: &Path, args: &[&str]) -> Output {
    labctl()
        .arg("run")
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("run labctl")
}

/// Fails with what is missing when the sandbox was refused, rather than with a confusing diff.
fn assert_ran(o: &Output) {
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        !stderr.contains("namespace") || o.status.code() != Some(2),
        "the run needs the sandbox (user, mount, network and PID namespaces), which was \
         refused; run the tests as root or enable unprivileged user namespaces: {stderr}"
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "stderr: {stderr}\nstdout: {}",
        String::from_utf8_lossy(&o.stdout)
    );
}

/// The one directory a run left under `cwd/labctl-runs/`.
fn artifacts(cwd: &Path) -> PathBuf {
    let runs: Vec<PathBuf> = std::fs::read_dir(cwd.join("labctl-runs"))
        .expect("the run made labctl-runs/ in its working directory")
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(runs.len(), 1, "{runs:?}");
    runs.into_iter().next().unwrap()
}

fn is_duration_unit(rest: &str) -> Option<usize> {
    ["µs", "ms", "ns", "s"]
        .into_iter()
        .find(|u| rest.starts_with(u))
        .map(str::len)
        .filter(|&n| !rest[n..].starts_with(|c: char| c.is_alphanumeric()))
}

/// Masks what differs between runs of the same scenario, keeping the rest byte for byte.
fn mask(text: &str, out: &str) -> String {
    let text = text.replace(out, "[out]");
    let mut lines = Vec::new();
    for line in text.lines() {
        let mut masked = String::new();
        let mut rest = line;
        while let Some(c) = rest.chars().next() {
            let after_dot = masked.ends_with('.');
            let boundary = !masked.ends_with(|p: char| p.is_alphanumeric());
            let digits = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .unwrap_or(rest.len());
            if boundary && c.is_ascii_digit() {
                let number = &rest[..digits];
                let after = &rest[digits..];
                if let Some(unit) = is_duration_unit(after).filter(|_| !after_dot) {
                    masked.push_str("[t]");
                    rest = &after[unit..];
                    continue;
                }
                // Packet times (seconds with six decimals) and ephemeral ports (the kernel
                // picks them from 32768 up; the lab's own ports are below).
                let six_decimals = number.split_once('.').is_some_and(|(_, f)| f.len() == 6);
                let ephemeral = masked.ends_with(['.', ':'])
                    && !number.contains('.')
                    && number.parse::<u32>().is_ok_and(|p| p >= 32768);
                if six_decimals && !after_dot {
                    masked.push_str("[time]");
                    rest = after;
                    continue;
                }
                if ephemeral {
                    masked.push_str("[port]");
                    rest = after;
                    continue;
                }
            }
            masked.push(c);
            rest = &rest[c.len_utf8()..];
        }
        lines.push(mask_words(&masked));
    }
    // Masked fields change the columns' widths: keep the column breaks, not their widths.
    lines
        .iter()
        .map(|l| {
            let indent = l.len() - l.trim_start().len();
            let body: Vec<&str> = l
                .trim_start()
                .split("  ")
                .filter(|f| !f.is_empty())
                .collect();
            format!("{}{}", &l[..indent], body.join("  ").replace("   ", "  "))
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// MAC addresses and TCP timestamp values, whole words.
fn mask_words(line: &str) -> String {
    let mut words: Vec<String> = line.split(' ').map(String::from).collect();
    for i in 0..words.len() {
        let w = words[i].trim_end_matches(',').to_string();
        let w = w.as_str();
        let mac = w.len() == 17
            && w.split(':').count() == 6
            && w.split(':')
                .all(|b| b.len() == 2 && b.chars().all(|c| c.is_ascii_hexdigit()));
        if mac {
            words[i] = words[i].replacen(w, "[mac]", 1);
        }
        // `TS val N ecr M,nop,...`: the number is the word's leading digits.
        let digits: String = w.chars().take_while(char::is_ascii_digit).collect();
        let timestamp = i > 0 && (words[i - 1] == "val" || words[i - 1] == "ecr");
        if timestamp && !digits.is_empty() && digits != "0" {
            words[i] = words[i].replacen(&digits, "[ts]", 1);
        }
    }
    words.join(" ")
}

#[test]
fn the_text_report_of_homework_redirect() {
    let cwd = scratch("cli-run-text");
    let o = run_in(&cwd, &["homework-redirect"]);
    assert_ran(&o);
    let out = artifacts(&cwd);
    let relative = out
        .strip_prefix(&cwd)
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        relative.starts_with("labctl-runs/homework-redirect-"),
        "{relative}"
    );
    let stdout = String::from_utf8(o.stdout).expect("the report is UTF-8");
    assert!(
        o.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // The sections, in order.
    let mut at = 0;
    for heading in [
        "labctl run homework-redirect (builtin:homework-redirect)\n",
        "\nstages\n",
        "\nsteps\n",
        "\ncapture server:eth0 (",
        "\nflows\n",
        "\nchecks\n",
        "\nPASSED (7 checks) in ",
    ] {
        let found = stdout[at..]
            .find(heading)
            .unwrap_or_else(|| panic!("no {heading:?} after byte {at}:\n{stdout}"));
        at += found + heading.len();
    }
    assert!(
        stdout
            .trim_end()
            .ends_with(&format!("artifacts in {relative}")),
        "{stdout}"
    );
    // The flows in the report are the flows.txt the run wrote.
    let flows = std::fs::read_to_string(out.join("flows.txt")).unwrap();
    let flows_section: String = stdout
        .split("\nflows\n")
        .nth(1)
        .and_then(|s| s.split("\n\n").next())
        .unwrap()
        .lines()
        .map(|l| format!("{}\n", l.strip_prefix("  ").unwrap_or(l)))
        .collect();
    assert_eq!(flows_section, flows);
    insta::assert_snapshot!("homework_redirect_text", mask(&stdout, &relative));
    let _ = std::fs::remove_dir_all(&cwd);
}

#[test]
fn the_json_report_of_homework_redirect() {
    let cwd = scratch("cli-run-json");
    let out = cwd.join("out");
    let o = run_in(
        &cwd,
        &[
            "homework-redirect",
            "--json",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_ran(&o);
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).expect("stdout is JSON");
    let keys: Vec<&str> = report
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    let mut want = [
        "scenario", "summary", "origin", "out", "stages", "steps", "captures", "flows", "snapshot",
        "checks", "passed", "took",
    ];
    want.sort();
    let mut keys_sorted = keys.clone();
    keys_sorted.sort();
    assert_eq!(keys_sorted, want, "{report:#}");
    assert_eq!(report["scenario"], "homework-redirect");
    assert_eq!(report["passed"], true);
    assert_eq!(report["out"], out.to_str().unwrap());
    let stages = stage_names(&report);
    assert_eq!(
        stages,
        [
            "sandbox", "topology", "captures", "services", "steps", "stop", "analysis", "checks"
        ]
    );
    assert_eq!(report["steps"].as_array().unwrap().len(), 3, "{report:#}");
    let captures = report["captures"].as_array().unwrap();
    assert_eq!(captures.len(), 1);
    assert_eq!(captures[0]["host"], "server");
    assert!(captures[0]["packets"].as_u64().unwrap() >= 14, "{report:#}");
    let checks = report["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 7);
    assert!(checks.iter().all(|c| c["passed"] == true), "{report:#}");
    assert!(report["flows"].as_str().unwrap().contains("#2 tcp"));
    // The same report is kept with the artifacts; nothing went to ./labctl-runs.
    let kept: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(kept, report);
    assert!(!cwd.join("labctl-runs").exists());
    let _ = std::fs::remove_dir_all(&cwd);
}

/// Runs that cannot happen: exit 2, one error naming the place, and no artifacts directory,
/// neither the default one nor an `--out` one.
#[test]
fn a_run_that_cannot_happen_is_exit_2_and_leaves_nothing() {
    let cwd = scratch("cli-run-cannot");
    let shipped = |name: &str| {
        std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("scenarios/{name}.toml")),
        )
        .unwrap()
    };
    let homework = shipped("homework-redirect");
    let rule = "--dport 21 -j REDIRECT --to-ports 27664";
    assert!(homework.contains(rule));
    let files = [
        (
            "toml-error.toml",
            "name = \"x\"\nsummary = \"y\"\n[hosts.a]\nfoo = = 1\n".to_string(),
        ),
        (
            "bad-rule.toml",
            homework.replace(
                rule,
                "--dport 21 --bogus-option -j REDIRECT --to-ports 27664",
            ),
        ),
        (
            "bad-port.toml",
            homework.replace(rule, "--dport 21 -j REDIRECT --to-ports 99999"),
        ),
        (
            "no-program.toml",
            shipped("netcat-handshake").replace("exec = [\"nc\"", "exec = [\"labctl-no-such\""),
        ),
    ];
    for (name, text) in &files {
        std::fs::write(cwd.join(name), text).unwrap();
    }
    let cases: [(&str, &[&str]); 5] = [
        (
            "no-such-scenario",
            &["no scenario named", "no-such-scenario", "homework-redirect"],
        ),
        ("toml-error.toml", &["toml-error.toml:4:7:", "expected"]),
        (
            "bad-rule.toml",
            &["bad-rule.toml:28:", "--bogus-option", "hint:"],
        ),
        (
            "bad-port.toml",
            &["bad-port.toml:28:", "99999", "out of range"],
        ),
        ("no-program.toml", &["labctl-no-such", "not installed"]),
    ];
    for (scenario, needles) in cases {
        for extra in [&[][..], &["--json"], &["--out", "explicit-out"]] {
            let mut args = vec![scenario];
            args.extend_from_slice(extra);
            let o = run_in(&cwd, &args);
            let stderr = String::from_utf8_lossy(&o.stderr);
            assert_eq!(o.status.code(), Some(2), "{args:?}: {stderr}");
            assert!(o.stdout.is_empty(), "{args:?} printed a report");
            assert!(stderr.starts_with("labctl: "), "{args:?}: {stderr}");
            for needle in needles {
                assert!(
                    stderr.to_lowercase().contains(&needle.to_lowercase()),
                    "{args:?}: {needle:?} not in {stderr}"
                );
            }
            assert!(
                !cwd.join("labctl-runs").exists() && !cwd.join("explicit-out").exists(),
                "{args:?} left an artifacts directory"
            );
        }
    }
    let _ = std::fs::remove_dir_all(&cwd);
}
