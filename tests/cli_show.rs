//! `labctl show` through the binary: every view (packet lines, `-v`, `--conversations`,
//! `--endpoints`, `--follow N`, `--flows`), as text and as `--json`, on fixed captures under
//! tests/data/ (taken once from real runs of homework-redirect, dns-query and
//! ip-fragmentation), pinned by one insta snapshot per capture; and the exit code 2 with the
//! path named for a file that is missing or is not a capture.
//!
//! The snapshots record stdout, stderr and the exit code of each invocation, so a change in
//! any of them is seen. Every `--json` output must also parse.

mod kit;

use kit::show;

use std::path::{Path, PathBuf};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// JSON views print one document, except the packet lines, which are one document per line.
fn assert_json(view: &[&str], stdout: &str) {
    let packets = !view.iter().any(|v| v.starts_with("--") && *v != "--json");
    if packets {
        assert!(!stdout.trim().is_empty(), "{view:?}: no packet lines");
        for line in stdout.lines() {
            let v: serde_json::Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{view:?}: line is not JSON ({e}): {line}"));
            assert!(
                v["frame"].is_u64() && v["line"].is_string(),
                "{view:?}: {v}"
            );
        }
    } else {
        serde_json::from_str::<serde_json::Value>(stdout)
            .unwrap_or_else(|e| panic!("{view:?}: output is not JSON ({e}): {stdout}"));
    }
}

/// Every view of one capture, as one document: `$ labctl show ARGS`, exit code, stdout, stderr.
fn every_view(file: &Path) -> String {
    let mut views: Vec<Vec<String>> = [
        &[][..],
        &["-v"],
        &["--conversations"],
        &["--endpoints"],
        &["--flows"],
    ]
    .iter()
    .map(|v| v.iter().map(|s| s.to_string()).collect())
    .collect();
    // Every TCP stream, and the first number past the last, which is refused.
    for n in 0..16 {
        let follow = vec!["--follow".to_string(), n.to_string()];
        let code = show(file, &[&follow[0], &follow[1]]).status.code();
        views.push(follow);
        if code != Some(0) {
            assert_eq!(code, Some(2), "--follow {n} past the last stream");
            break;
        }
    }
    let mut doc = String::new();
    for view in views {
        for json in [false, true] {
            let mut args: Vec<&str> = view.iter().map(String::as_str).collect();
            if json {
                args.push("--json");
            }
            let o = show(file, &args);
            let stdout = String::from_utf8(o.stdout).expect("show prints UTF-8");
            let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
            match o.status.code() {
                Some(0) => {
                    assert!(stderr.is_empty(), "{args:?}: {stderr}");
                    if json {
                        assert_json(&args, &stdout);
                    }
                }
                Some(2) => assert!(stdout.is_empty(), "{args:?} failed but printed {stdout}"),
                other => panic!("{args:?}: exit {other:?}\n{stderr}"),
            }
            let line: Vec<&str> = ["labctl", "show"]
                .into_iter()
                .chain(args.iter().copied())
                .chain(["FILE"])
                .collect();
            doc.push_str(&format!(
                "$ {}\nexit {}\n{stdout}",
                line.join(" "),
                o.status.code().unwrap_or(-1)
            ));
            if !stdout.ends_with('\n') && !stdout.is_empty() {
                doc.push('\n');
            }
            if !stderr.is_empty() {
                doc.push_str(&format!("stderr: {stderr}"));
            }
            doc.push('\n');
        }
    }
    doc
}

#[test]
fn every_view_of_a_redirected_tcp_capture() {
    insta::assert_snapshot!(
        "homework_redirect",
        every_view(&data("homework-redirect.pcap"))
    );
}

#[test]
fn every_view_of_dns_over_udp_and_tcp() {
    insta::assert_snapshot!("dns_query", every_view(&data("dns-query.pcap")));
}

#[test]
fn every_view_of_icmp_errors_before_the_router() {
    insta::assert_snapshot!(
        "ip_fragmentation_client",
        every_view(&data("ip-fragmentation-client.pcap"))
    );
}

#[test]
fn every_view_of_fragments_after_the_router() {
    insta::assert_snapshot!(
        "ip_fragmentation_server",
        every_view(&data("ip-fragmentation-server.pcap"))
    );
}

/// A missing file and a file that is no capture: exit 2, nothing on stdout, one line on stderr
/// naming the path and the problem, in every view.
#[test]
fn missing_and_garbage_files_exit_2_naming_the_path() {
    let dir = kit::scratch("cli-show-bad");
    let garbage = dir.join("garbage.pcap");
    std::fs::write(&garbage, b"this is not a capture file at all\n").unwrap();
    let empty = dir.join("empty.pcap");
    std::fs::write(&empty, b"").unwrap();
    let missing = dir.join("missing.pcap");
    let cases: [(&Path, &[&str]); 3] = [
        (&missing, &["no such file", "missing.pcap"]),
        (&garbage, &["garbage.pcap", "not a pcap or pcapng file"]),
        (&empty, &["empty.pcap", "empty file"]),
    ];
    for (file, needles) in cases {
        for view in [
            &[][..],
            &["--json"],
            &["-v"],
            &["--conversations"],
            &["--endpoints", "--json"],
            &["--follow", "0"],
            &["--flows"],
        ] {
            let o = show(file, view);
            let stderr = String::from_utf8_lossy(&o.stderr);
            assert_eq!(o.status.code(), Some(2), "{file:?} {view:?}: {stderr}");
            assert!(o.stdout.is_empty(), "{file:?} {view:?} printed to stdout");
            assert!(
                stderr.starts_with("labctl: ") && stderr.lines().count() == 1,
                "{file:?} {view:?}: {stderr}"
            );
            assert!(
                stderr.contains(&file.display().to_string()),
                "{view:?}: the path is not named: {stderr}"
            );
            for needle in needles {
                assert!(
                    stderr.to_lowercase().contains(needle),
                    "{view:?}: {needle:?} not in {stderr}"
                );
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Two views at once are a usage error from the argument parser, exit 2 before any reading.
#[test]
fn two_views_at_once_are_refused() {
    let o = show(
        &data("homework-redirect.pcap"),
        &["--flows", "--conversations"],
    );
    kit::assert_exit(&o, 2);
    assert!(o.stdout.is_empty());
    kit::assert_stderr_has(&o, "cannot be used with");
}
