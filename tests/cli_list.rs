//! `labctl list` through the binary: run from a directory without scenarios/ it lists every
//! built-in scenario (one per file in the repository's scenarios/) with its summary; run beside
//! a scenarios/ directory, a local file overrides the built-in of the same name and a broken
//! one is listed as invalid instead of stopping the listing. Both outputs are insta snapshots.

mod kit;

use kit::{labctl, scratch};
use std::path::Path;

fn list_in(dir: &Path) -> String {
    let o = labctl()
        .arg("list")
        .current_dir(dir)
        .output()
        .expect("run labctl list");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    assert!(stderr.is_empty(), "list wrote to stderr: {stderr}");
    String::from_utf8(o.stdout).expect("list prints UTF-8")
}

/// The names of the scenarios shipped in the repository, which are the built-in ones.
fn shipped() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| {
            let path = e.unwrap().path();
            (path.extension()? == "toml").then(|| path.file_stem()?.to_str().map(String::from))?
        })
        .collect();
    names.sort();
    names
}

#[test]
fn every_built_in_scenario_is_listed_with_its_summary() {
    let dir = scratch("cli-list-builtin");
    let out = list_in(&dir);
    let rows: Vec<&str> = out.lines().collect();
    let names: Vec<&str> = rows
        .iter()
        .map(|r| r.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(names, shipped(), "{out}");
    for row in &rows {
        assert!(row.ends_with("  (built in)"), "{row}");
        let summary = row.split("  ").filter(|f| !f.trim().is_empty()).nth(1);
        assert!(
            summary.is_some_and(|s| s.trim().len() > 10),
            "no summary: {row}"
        );
    }
    insta::assert_snapshot!("built_in", out);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn local_scenarios_override_built_ins_and_broken_ones_are_listed_as_invalid() {
    let dir = scratch("cli-list-local");
    let local = dir.join("scenarios");
    std::fs::create_dir_all(&local).unwrap();
    let shipped = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/homework-redirect.toml"),
    )
    .unwrap();
    let copy: String = shipped
        .lines()
        .map(|l| {
            if l.starts_with("summary = ") {
                "summary = \"a local copy\""
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(local.join("homework-redirect.toml"), copy).unwrap();
    std::fs::write(local.join("broken.toml"), "name = \"x\"\n[hosts.a\n").unwrap();
    std::fs::write(local.join("notes.txt"), "not a scenario").unwrap();
    let out = list_in(&dir);
    assert!(
        out.lines().any(|l| l.starts_with("homework-redirect ")
            && l.contains("a local copy")
            && l.ends_with("(scenarios/homework-redirect.toml)")),
        "{out}"
    );
    assert_eq!(
        out.matches("homework-redirect ").count(),
        1,
        "the built-in is still listed beside the local copy: {out}"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("scenarios/broken.toml") && l.contains("invalid: ")),
        "{out}"
    );
    assert!(!out.contains("notes.txt"), "{out}");
    insta::assert_snapshot!("with_local_scenarios", out);
    let _ = std::fs::remove_dir_all(&dir);
}
