//! `labctl grade` where course platforms and job runners look: Gradescope's and PrairieLearn's
//! result formats checked against the field lists their published specs give, Canvas and
//! Moodle gradebooks (and a Canvas roster that does not fit, refused before anything is
//! graded), a class graded in four shards by GNU parallel and merged into the gradebook one
//! run writes, byte for byte, and a host whose `user.max_user_namespaces` is 0, where every
//! check that needs no lab is still scored.

mod kit;

use kit::grading::{class, reference, shard_files};
use kit::{assert_exit, described, labctl, require, root, scratch};
use serde_json::Value;
use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const LAB: &str = "homework-redirect";

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().expect("an object").keys().cloned().collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

fn json_of(args: &[&str], dir: &Path) -> (Output, Value) {
    let o = labctl()
        .args(["grade", LAB])
        .arg(dir)
        .args(args)
        .output()
        .unwrap();
    let v = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", described(&o)));
    (o, v)
}

/// Every field the Gradescope spec lists for a results.json and for each test, and the ones
/// labctl must give (https://gradescope-autograders.readthedocs.io/en/latest/specs/).
const GRADESCOPE_TOP: &[&str] = &[
    "score",
    "execution_time",
    "output",
    "output_format",
    "test_output_format",
    "test_name_format",
    "visibility",
    "stdout_visibility",
    "extra_data",
    "tests",
    "leaderboard",
];
const GRADESCOPE_TEST: &[&str] = &[
    "score",
    "max_score",
    "status",
    "name",
    "name_format",
    "number",
    "output",
    "output_format",
    "tags",
    "visibility",
    "extra_data",
];
const GRADESCOPE_VISIBILITY: &[&str] = &["hidden", "after_due_date", "after_published", "visible"];

#[test]
fn gradescope_results_have_the_published_fields() {
    for (dir, score) in [(reference(), 13), (scratch("gs-empty"), 0)] {
        let (o, v) = json_of(&["--format", "gradescope"], &dir);
        assert_eq!(
            o.status.code(),
            Some(if score == 13 { 0 } else { 1 }),
            "{}",
            described(&o)
        );
        let top = keys(&v);
        assert!(top.is_subset(&set(GRADESCOPE_TOP)), "{top:?}");
        assert!(set(&["score", "execution_time", "output", "tests"]).is_subset(&top));
        assert_eq!(v["score"], score);
        assert!(v["execution_time"].is_u64());
        let tests = v["tests"].as_array().unwrap();
        assert_eq!(tests.len(), 10);
        let mut total = 0;
        for t in tests {
            let k = keys(t);
            assert!(k.is_subset(&set(GRADESCOPE_TEST)), "{k:?}");
            assert_eq!(
                k,
                set(&[
                    "name",
                    "score",
                    "max_score",
                    "status",
                    "output",
                    "visibility"
                ])
            );
            let (s, max) = (
                t["score"].as_u64().unwrap(),
                t["max_score"].as_u64().unwrap(),
            );
            assert!(s <= max);
            total += s;
            let status = t["status"].as_str().unwrap();
            assert_eq!(status, if s == max { "passed" } else { "failed" }, "{t}");
            assert!(GRADESCOPE_VISIBILITY.contains(&t["visibility"].as_str().unwrap()));
            assert!(!t["output"].as_str().unwrap().is_empty());
        }
        assert_eq!(total, score);
    }
}

/// The fields of PrairieLearn's "Grading results" (docs/externalGrading.md).
const PRAIRIELEARN_TOP: &[&str] = &[
    "gradable",
    "score",
    "message",
    "output",
    "images",
    "tests",
    "format_errors",
];
const PRAIRIELEARN_TEST: &[&str] = &[
    "name",
    "description",
    "points",
    "max_points",
    "message",
    "output",
    "images",
];

#[test]
fn prairielearn_results_have_the_published_fields() {
    for (dir, score) in [(reference(), 1.0), (scratch("pl-empty"), 0.0)] {
        let (_, v) = json_of(&["--format", "prairielearn"], &dir);
        let top = keys(&v);
        assert!(top.is_subset(&set(PRAIRIELEARN_TOP)), "{top:?}");
        assert_eq!(
            top,
            set(&["gradable", "score", "message", "output", "tests"])
        );
        assert_eq!(v["gradable"], true);
        let s = v["score"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&s) && (s - score).abs() < 1e-9, "{v}");
        for t in v["tests"].as_array().unwrap() {
            let k = keys(t);
            assert!(k.is_subset(&set(PRAIRIELEARN_TEST)), "{k:?}");
            assert_eq!(
                k,
                set(&["name", "points", "max_points", "message", "output"])
            );
            assert!(t["points"].as_u64() <= t["max_points"].as_u64());
        }
    }
}

#[test]
fn json_is_format_json_and_the_platform_formats_grade_one_submission() {
    let (_, a) = json_of(&["--json"], &reference());
    let (_, b) = json_of(&["--format", "json"], &reference());
    assert_eq!(a, b);
    assert!(
        a["checks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["ran"] == true)
    );
    let o = labctl()
        .args(["grade", LAB, "--reference", "--format", "gradescope"])
        .arg(scratch("gs-two"))
        .output()
        .unwrap();
    assert_exit(&o, 2);
    kit::assert_stderr_has(&o, "one directory at a time");
}

/// The class as a Canvas gradebook export lists it.
const ROSTER: &str = "Student,ID,SIS User ID,SIS Login ID,Section,Lab 1 (77)\n\
    \x20   Points Possible,,,,,13\n\
    \"Doe, Alice\",101,S1,alice,A,\n\
    Bob Roe,102,S2,bob,B,\n\
    Carol Poe,103,S3,carol,A,\n\
    Dave Moe,104,S4,dave,B,\n\
    Mallory Foe,105,S5,mallory,A,\n\
    Zoe Joe,106,S6,zoe,B,\n";

fn grade_batch(dirs: &[PathBuf], extra: &[&str], book: &Path) -> Output {
    labctl()
        .args(["grade", LAB])
        .args(dirs)
        .arg("--gradebook")
        .arg(book)
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn canvas_and_moodle_gradebooks() {
    let dir = scratch("books");
    let dirs = class(&dir);
    std::fs::write(dir.join("roster.csv"), ROSTER).unwrap();
    let book = dir.join("canvas.csv");
    let o = grade_batch(
        &dirs,
        &[
            "--gradebook-format",
            "canvas",
            "--roster",
            dir.join("roster.csv").to_str().unwrap(),
            "--jobs",
            "2",
        ],
        &book,
    );
    assert_exit(&o, 0);
    let csv = std::fs::read_to_string(&book).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "Student,ID,SIS User ID,SIS Login ID,Section,\"Redirect a port with iptables (homework-redirect)\""
            .replace("Redirect a port with iptables", &title()),
        "{csv}"
    );
    assert_eq!(lines[1], "    Points Possible,,,,,13");
    assert_eq!(
        lines[2], "\"Doe, Alice\",\"101\",\"S1\",\"alice\",\"A\",13",
        "{csv}"
    );
    assert!(
        lines[3].starts_with("\"Bob Roe\",\"102\",\"S2\",\"bob\",\"B\","),
        "{csv}"
    );
    assert_eq!(
        lines[5], "\"Dave Moe\",\"104\",\"S4\",\"dave\",\"B\",0",
        "{csv}"
    );
    assert_eq!(lines.len(), 8, "{csv}");

    let book = dir.join("moodle.csv");
    let o = grade_batch(
        &dirs,
        &["--gradebook-format", "moodle", "--jobs", "2"],
        &book,
    );
    assert_exit(&o, 0);
    let csv = std::fs::read_to_string(&book).unwrap();
    assert!(
        csv.starts_with("username,grade,feedback\n\"alice\",13,\"redirect-works 3/3: "),
        "{csv}"
    );
    assert!(csv.contains("\n\"dave\",0,\"redirect-works 0/3: "), "{csv}");
    let users: Vec<&str> = csv
        .lines()
        .filter_map(|l| l.strip_prefix('"')?.split_once("\",").map(|(u, _)| u))
        .filter(|u| ["alice", "bob", "carol", "dave", "mallory", "zoe"].contains(u))
        .collect();
    assert_eq!(
        users,
        ["alice", "bob", "carol", "dave", "mallory", "zoe"],
        "{csv}"
    );
}

fn title() -> String {
    let rubric =
        std::fs::read_to_string(root().join("labs/homework-redirect/rubric.toml")).unwrap();
    let v: toml::Table = rubric.parse().unwrap();
    v["title"].as_str().unwrap().to_string()
}

#[test]
fn a_roster_that_does_not_fit_is_refused_before_anything_is_graded() {
    let dir = scratch("roster-bad");
    let dirs = class(&dir);
    let cases = [
        (
            "Student,ID,SIS User ID,Section\n".to_string(),
            "line 1",
            "SIS Login ID",
        ),
        (
            format!("{ROSTER}\"Eve,107,S7,eve,A,\n"),
            "line 9",
            "never closed",
        ),
        (
            ROSTER.replace("Zoe Joe,106,S6,zoe,B,\n", ""),
            "\"zoe\"",
            "matches no one",
        ),
        (
            format!("{ROSTER}Bob Twin,108,S8,bob,A,\n"),
            "lines 4, 9",
            "matches 2 people",
        ),
    ];
    for (i, (roster, place, says)) in cases.iter().enumerate() {
        let path = dir.join(format!("roster{i}.csv"));
        std::fs::write(&path, roster).unwrap();
        let book = dir.join(format!("book{i}.csv"));
        let o = grade_batch(
            &dirs,
            &[
                "--gradebook-format",
                "canvas",
                "--roster",
                path.to_str().unwrap(),
            ],
            &book,
        );
        assert_exit(&o, 2);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains(path.to_str().unwrap()) && err.contains(place) && err.contains(says),
            "{err}"
        );
        assert!(!err.contains("graded"), "nothing is graded: {err}");
        assert!(!book.exists());
    }
    let o = grade_batch(&dirs, &["--gradebook-format", "canvas"], &dir.join("x.csv"));
    assert_exit(&o, 2);
    kit::assert_stderr_has(&o, "needs --roster");
}

#[test]
fn four_shards_run_by_gnu_parallel_merge_into_the_one_run_gradebook() {
    let parallel = require("parallel", "parallel");
    let dir = scratch("shards");
    let dirs = class(&dir);
    let single = dir.join("single.csv");
    let o = grade_batch(&dirs, &["--jobs", "2"], &single);
    assert_exit(&o, 0);

    let results = dir.join("results");
    let o = Command::new(parallel)
        .args(["--will-cite", "-j4", "-N0"])
        .arg(env!("CARGO_BIN_EXE_labctl"))
        .args(["grade", LAB])
        .args(dirs.iter().rev())
        .args(["--shard", "auto", "--results"])
        .arg(&results)
        .args([":::", "1", "2", "3", "4"])
        .env("LABCTL_SHARDS", "4")
        .output()
        .unwrap();
    assert_exit(&o, 0);
    let files = shard_files(&results);
    // Sorted alice bob carol dave mallory zoe: shard 0 has alice and mallory.
    let shard0 = std::fs::read_to_string(&files[0]).unwrap();
    let lines: Vec<Value> = shard0
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines[0]["submissions"],
        serde_json::json!(["alice", "mallory"])
    );
    for l in &lines[1..] {
        assert_eq!(
            keys(l),
            set(&[
                "submission",
                "lab",
                "lab_hash",
                "labctl_version",
                "shard",
                "score",
                "max",
                "checks"
            ])
        );
        assert_eq!(l["shard"], "0/4");
        assert_eq!(l["labctl_version"], env!("CARGO_PKG_VERSION"));
    }

    let merged = dir.join("merged.csv");
    let merge = |files: &[PathBuf], book: &Path| {
        labctl()
            .arg("merge-grades")
            .args(files)
            .arg("--gradebook")
            .arg(book)
            .output()
            .unwrap()
    };
    let o = merge(&files, &merged);
    assert_exit(&o, 0);
    assert_eq!(
        std::fs::read(&merged).unwrap(),
        std::fs::read(&single).unwrap(),
        "merged:\n{}\nsingle:\n{}",
        std::fs::read_to_string(&merged).unwrap(),
        std::fs::read_to_string(&single).unwrap()
    );

    // What merge-grades refuses, with exit 1 and no gradebook.
    let refused = |files: Vec<PathBuf>, says: &str| {
        let book = dir.join("refused.csv");
        let _ = std::fs::remove_file(&book);
        let o = merge(&files, &book);
        assert_exit(&o, 1);
        kit::assert_stderr_has(&o, says);
        assert!(!book.exists());
    };
    refused(files[..3].to_vec(), "shard 3/4 is missing");
    refused(
        [files.clone(), vec![files[1].clone()]].concat(),
        "shard 1/4 is given twice",
    );
    let edited = |name: &str, edit: &dyn Fn(&str) -> String| {
        let path = dir.join(name);
        std::fs::write(&path, edit(&shard0)).unwrap();
        [vec![path], files[1..].to_vec()].concat()
    };
    refused(
        edited("lost.jsonl", &|t| {
            t.lines()
                .filter(|l| !l.contains("\"submission\":\"mallory\""))
                .map(|l| format!("{l}\n"))
                .collect()
        }),
        "submission \"mallory\" of shard 0/4 has no result",
    );
    refused(
        edited("twice.jsonl", &|t| {
            let last = t.lines().last().unwrap();
            format!("{t}{last}\n")
        }),
        "submission \"mallory\" is graded twice",
    );
    refused(
        edited("old.jsonl", &|t| {
            t.replace(env!("CARGO_PKG_VERSION"), "0.0.1")
        }),
        "labctl 0.0.1",
    );
    refused(
        edited("other.jsonl", &|t| {
            let v: Value = serde_json::from_str(t.lines().next().unwrap()).unwrap();
            t.replace(v["lab_hash"].as_str().unwrap(), "0123456789abcdef")
        }),
        "another version of lab homework-redirect",
    );
    refused(
        edited("class.jsonl", &|t| {
            t.replace("\"mallory\"]", "\"mallory\",\"nina\"]")
        }),
        "\"nina\"",
    );
}

/// Runs labctl as `nobody` (uid 65534) inside a user namespace whose
/// `user.max_user_namespaces` is 0: the limit applies to every namespace made inside it. The
/// maps are written from outside (the test runs as root); the shell inside waits for them, and
/// a fresh exec then has root's capabilities in the namespace to set the limit before it
/// becomes nobody.
fn restricted(args: &[&str]) -> Output {
    let home = scratch("restricted-home");
    std::fs::set_permissions(&home, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    let mut child = Command::new(require("unshare", "util-linux"))
        .arg("-U")
        .args(["sh", "-c", "read go && exec \"$@\"", "sh"])
        .args([
            "sh",
            "-c",
            "echo 0 > /proc/sys/user/max_user_namespaces && exec setpriv --reuid=65534 \
             --regid=65534 --clear-groups \"$@\"",
            "sh",
        ])
        .arg(env!("CARGO_BIN_EXE_labctl"))
        .args(args)
        .current_dir(root())
        .env("HOME", &home)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    // The maps can be written once `unshare` has made the namespace.
    let ours = std::fs::read_link("/proc/self/ns/user").unwrap();
    let start = std::time::Instant::now();
    while std::fs::read_link(format!("/proc/{pid}/ns/user"))
        .ok()
        .as_ref()
        == Some(&ours)
    {
        assert!(
            start.elapsed().as_secs() < 10,
            "unshare -U never made its namespace"
        );
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    std::fs::write(format!("/proc/{pid}/uid_map"), "0 0 65536").unwrap();
    std::fs::write(format!("/proc/{pid}/gid_map"), "0 0 65536").unwrap();
    child.stdin.take().unwrap().write_all(b"go\n").unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn a_host_without_user_namespaces_names_the_cause_and_grades_what_needs_no_lab() {
    require("setpriv", "util-linux");
    let cause = "user.max_user_namespaces = 0";
    for args in [&["run", LAB][..], &["test", LAB][..]] {
        let o = restricted(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", described(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("unshare(CLONE_NEWUSER") && err.contains("ENOSPC"),
            "{err}"
        );
        assert!(
            err.contains(cause) && err.contains("sysctl -w user.max_user_namespaces="),
            "{err}"
        );
        assert!(
            !err.contains("unprivileged_userns_clone"),
            "no hint about other settings: {err}"
        );
    }

    let reference = reference();
    let r = reference.to_str().unwrap();
    let o = restricted(&["grade", LAB, r, "--json"]);
    assert_exit(&o, 1);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.matches(cause).count(), 1, "the cause, once: {err}");
    let g: Value = serde_json::from_slice(&o.stdout).unwrap();
    let checks = g["checks"].as_array().unwrap();
    let not_run: Vec<&str> = checks
        .iter()
        .filter(|c| c["ran"] == false)
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(not_run, ["redirect-works", "answered-from-21"], "{g:#}");
    // Everything else is judged from commands.sh and the student's capture, as on any host.
    assert!(
        checks
            .iter()
            .filter(|c| c["ran"] == true)
            .all(|c| c["passed"] == true),
        "{g:#}"
    );
    assert_eq!(g["score"], 9);
    assert!(g["lab_not_run"].as_str().unwrap().contains(cause));

    let o = restricted(&["grade", LAB, r, "--format", "gradescope"]);
    assert_exit(&o, 1);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let first = &v["tests"][0];
    assert_eq!(first["status"], "failed");
    assert!(
        first["output"].as_str().unwrap().contains("not run"),
        "{v:#}"
    );
    assert_eq!(v["score"], 9);

    let o = restricted(&["grade", LAB, r, "--format", "prairielearn"]);
    assert_exit(&o, 1);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["gradable"], false, "{v:#}");
    assert!(v["format_errors"][0].as_str().unwrap().contains(cause));
}
