//! `labctl grade` exit codes through the binary. One submission: 0 for full marks (the lab's
//! reference), 1 when points are lost. A batch (`--gradebook`, `--jobs`): 0 when every
//! submission was graded, whatever the scores, and 1 when one could not be graded, which still
//! gets its row in the CSV with score 0 and the reason. Rows are named by the submission's
//! directory name and sorted by it.
//!
//! Grading runs the lab in the sandbox; as root in CI it is there.

mod kit;

use kit::grading::reference;
use kit::{assert_exit, described, labctl, scratch};
use std::process::Stdio;
use std::time::{Duration, Instant};

const LAB: &str = "homework-redirect";

/// The gradebook's rows after the header, as (submission, score, max, error). Only the
/// submission and the error are quoted; the points in between are plain numbers.
fn rows(csv: &str) -> Vec<(String, String, String, String)> {
    let mut lines = csv.lines();
    let header = lines.next().expect("a header");
    assert!(
        header.starts_with("submission,score,max,") && header.ends_with(",error"),
        "{header}"
    );
    lines
        .map(|l| {
            let (submission, rest) = l[1..].split_once("\",").expect("a quoted submission");
            let mut fields = rest.split(',');
            let score = fields.next().unwrap().to_string();
            let max = fields.next().unwrap().to_string();
            let error = match l.strip_suffix('"') {
                Some(open) => open[open.rfind(",\"").expect("a quoted error") + 2..].to_string(),
                None => l.rsplit_once(',').unwrap().1.to_string(),
            };
            (submission.to_string(), score, max, error)
        })
        .collect()
}

#[test]
fn one_submission_exits_0_for_full_marks_and_1_for_points_lost() {
    let o = labctl()
        .args(["grade", LAB])
        .arg(reference())
        .output()
        .unwrap();
    assert_exit(&o, 0);
    kit::assert_stdout_has(&o, "score 13/13");

    let empty = scratch("cli-grade-single").join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let o = labctl().args(["grade", LAB]).arg(&empty).output().unwrap();
    assert_exit(&o, 1);
    kit::assert_stdout_has(&o, "score 0/13");
}

#[test]
fn a_batch_where_every_submission_is_graded_exits_0_whatever_the_scores() {
    let dir = scratch("cli-grade-graded");
    let empty = dir.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let book = dir.join("grades.csv");
    let o = labctl()
        .args(["grade", LAB])
        .arg(reference())
        .arg(&empty)
        .arg("--gradebook")
        .arg(&book)
        .args(["--jobs", "2"])
        .output()
        .unwrap();
    assert_exit(&o, 0);
    let csv = std::fs::read_to_string(&book).unwrap();
    let rows = rows(&csv);
    let fields: Vec<[&str; 4]> = rows
        .iter()
        .map(|r| [&r.0[..], &r.1[..], &r.2[..], &r.3[..]])
        .collect();
    assert_eq!(
        fields,
        [["empty", "0", "13", ""], ["reference", "13", "13", ""]],
        "{csv}"
    );
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains(&format!("gradebook: {}", book.display())),
        "{stdout}"
    );
}

/// The direct children of `pid`, from /proc.
fn children(pid: u32) -> usize {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| std::fs::read_to_string(e.ok()?.path().join("stat")).ok())
        .filter(|stat| {
            // `pid (comm) state ppid ...`: comm may hold spaces and parentheses.
            stat.rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<u32>().ok())
                == Some(pid)
        })
        .count()
}

/// A submission that vanishes after the batch has started cannot be graded: its row says so,
/// the others are graded as usual, and the batch exits 1.
#[test]
fn a_batch_with_a_submission_that_cannot_be_graded_exits_1() {
    let dir = scratch("cli-grade-ungraded");
    let empty = dir.join("empty");
    let vanishing = dir.join("vanishing");
    std::fs::create_dir_all(&empty).unwrap();
    std::fs::create_dir_all(&vanishing).unwrap();
    let book = dir.join("grades.csv");
    // Two at a time: the third submission is graded only after one of the first two is done,
    // so it can be removed once both first children are running.
    let mut batch = labctl()
        .args(["grade", LAB])
        .arg(reference())
        .arg(&empty)
        .arg(&vanishing)
        .arg("--gradebook")
        .arg(&book)
        .args(["--jobs", "2"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while children(batch.id()) < 2 {
        if start.elapsed() > Duration::from_secs(30) || batch.try_wait().unwrap().is_some() {
            let _ = batch.kill();
            panic!(
                "the batch never ran two graders at once: {}",
                described(&batch.wait_with_output().unwrap())
            );
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    std::fs::remove_dir(&vanishing).unwrap();
    let o = batch.wait_with_output().unwrap();
    assert_exit(&o, 1);
    let stderr = String::from_utf8_lossy(&o.stderr);
    kit::assert_contains(&stderr, &["3/3 graded", "ERROR"]);
    let csv = std::fs::read_to_string(&book).unwrap();
    let rows = rows(&csv);
    assert_eq!(rows.len(), 3, "{csv}");
    assert_eq!(rows[0].0, "empty");
    assert_eq!((&rows[0].1[..], &rows[0].3[..]), ("0", ""), "{csv}");
    assert_eq!(rows[1].0, "reference");
    assert_eq!((&rows[1].1[..], &rows[1].3[..]), ("13", ""), "{csv}");
    assert_eq!(rows[2].0, "vanishing");
    assert_eq!((&rows[2].1[..], &rows[2].2[..]), ("0", "13"), "{csv}");
    assert!(rows[2].3.contains("not graded"), "{csv}");
    assert!(
        rows[2].3.contains("vanishing"),
        "the reason names the directory: {csv}"
    );
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("vanishing") && l.contains("not graded")),
        "{stdout}"
    );
}
