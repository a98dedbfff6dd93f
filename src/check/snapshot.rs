//! Expected flow snapshots, stored as insta snapshot files (`scenarios/snapshots/<name>.snap`),
//! so `cargo insta review` and `labctl test --bless` work on the same files.
//!
//! An insta file is a small metadata header between `---` lines and the snapshot body. labctl
//! compares bodies with trailing whitespace trimmed, as insta does, and writes the same header
//! insta writes, so either tool can update a file the other reads.

use std::path::Path;

use similar::{ChangeTag, TextDiff};

/// Outcome of comparing the run's flows with the expected snapshot.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum Comparison {
    Matches,
    Differs {
        diff: String,
    },
    /// The scenario has no expected snapshot yet.
    Missing,
    /// The scenario says `snapshot = false`: its flows are not compared with anything.
    Off,
}

impl Comparison {
    /// The check a comparison makes in a run's report: none when there is no expected
    /// snapshot. A report puts it after every other check.
    pub fn check(&self) -> Option<super::CheckResult> {
        let name = "flows match the expected snapshot".to_string();
        match self {
            Comparison::Matches => Some(super::CheckResult::new(name, true, String::new())),
            Comparison::Differs { .. } => Some(super::CheckResult::new(
                name,
                false,
                "see the diff below; `labctl test --bless` records this run's flows as expected"
                    .into(),
            )),
            Comparison::Missing | Comparison::Off => None,
        }
    }
}

/// The body of an insta snapshot file (everything after the metadata header).
pub fn body(file_text: &str) -> &str {
    let Some(rest) = file_text.strip_prefix("---\n") else {
        return file_text;
    };
    match rest.find("\n---\n") {
        Some(end) => &rest[end + 5..],
        None => file_text,
    }
}

/// Compares the rendered flows with the expected snapshot file's text.
pub fn compare(expected_file: Option<&str>, actual: &str) -> Comparison {
    let Some(expected_file) = expected_file else {
        return Comparison::Missing;
    };
    let expected = body(expected_file).trim_end();
    let actual = actual.trim_end();
    if expected == actual {
        Comparison::Matches
    } else {
        Comparison::Differs {
            diff: unified_diff(expected, actual),
        }
    }
}

/// A unified diff, expected (`-`) against actual (`+`), with three lines of context.
pub fn unified_diff(expected: &str, actual: &str) -> String {
    let diff = TextDiff::from_lines(expected, actual);
    let mut out = String::new();
    for group in diff.grouped_ops(3) {
        for op in group {
            for change in diff.iter_changes(&op) {
                let sign = match change.tag() {
                    ChangeTag::Delete => '-',
                    ChangeTag::Insert => '+',
                    ChangeTag::Equal => ' ',
                };
                out.push(sign);
                out.push_str(change.value().trim_end_matches('\n'));
                out.push('\n');
            }
        }
        out.push_str("...\n");
    }
    out
}

/// Writes `flows` as the expected snapshot at `path`, in insta's format.
pub fn write(path: &Path, flows: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, render_file(flows))
}

/// The whole text of a snapshot file for `flows`.
pub fn render_file(flows: &str) -> String {
    format!(
        "---\nsource: tests/flows.rs\nexpression: flows\n---\n{}\n",
        flows.trim_end()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_skips_the_insta_header() {
        let file = render_file("tcp a > b\n  x\n");
        assert_eq!(body(&file), "tcp a > b\n  x\n");
        assert_eq!(compare(Some(&file), "tcp a > b\n  x"), Comparison::Matches);
    }

    #[test]
    fn a_difference_comes_with_a_unified_diff() {
        let file = render_file("tcp client > server:21\n  handshake complete\n");
        let Comparison::Differs { diff } = compare(
            Some(&file),
            "tcp client > server:2121\n  handshake complete\n",
        ) else {
            panic!("must differ")
        };
        assert!(
            diff.contains("-tcp client > server:21\n+tcp client > server:2121\n"),
            "{diff}"
        );
    }

    #[test]
    fn no_file_is_missing() {
        assert_eq!(compare(None, "x"), Comparison::Missing);
    }
}
