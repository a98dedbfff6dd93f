//! Many submissions at once: each graded by a `labctl grade LAB DIR --json` child in its own
//! sandbox ([`crate::jobs`]), in parallel, into a gradebook with one CSV row per submission.
//! A submission whose child fails still gets its row (score 0 and the reason); it never stops
//! the others, and the batch's verdict is [`Verdict::Ungraded`]. Points lost are in the rows,
//! not in the verdict: a batch in which every submission was graded has [`Verdict::Passed`].

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::{Grade, GradeArgs, Rubric};
use crate::jobs::{self, Job, Progress};
use crate::verdict::{Error, Verdict};

/// One gradebook row: the child's grade, or why there is none.
struct Row {
    submission: String,
    grade: Result<Grade, String>,
}

pub fn run(args: &GradeArgs, rubric: &Rubric, dirs: &[PathBuf]) -> Result<Verdict, Error> {
    let jobs: Vec<Job> = dirs
        .iter()
        .map(|d| Job {
            label: d.display().to_string(),
            args: vec![
                OsString::from("grade"),
                OsString::from(&rubric.lab),
                d.clone().into_os_string(),
                OsString::from("--json"),
            ],
        })
        .collect();
    let progress = Progress::new("graded").code_one("points lost");
    let finished = jobs::run_all(jobs, args.jobs.max(1), &|f, done, total| {
        progress.update(f, done, total)
    });
    let rows: Vec<Row> = finished
        .into_iter()
        .map(|f| {
            let grade = match (f.code, serde_json::from_slice::<Grade>(&f.stdout)) {
                (Some(0 | 1), Ok(grade)) => Ok(grade),
                _ => {
                    let err = String::from_utf8_lossy(&f.stderr);
                    let first = err
                        .lines()
                        .find(|l| !l.trim().is_empty())
                        .unwrap_or("no output");
                    Err(format!(
                        "not graded (exit {}): {}",
                        f.code.map_or("by signal".into(), |c| c.to_string()),
                        first.trim()
                    ))
                }
            };
            Row {
                submission: f.label,
                grade,
            }
        })
        .collect();
    if let Some(path) = &args.gradebook {
        std::fs::write(path, gradebook(rubric, &rows))
            .map_err(|e| Error::msg(format!("{}: {e}", path.display())))?;
    }
    if args.json {
        let all: Vec<serde_json::Value> = rows
            .iter()
            .map(|r| match &r.grade {
                // As a JSON value, as it has always been printed: keys in alphabetical order.
                Ok(g) => serde_json::to_value(g).expect("a grade serialises"),
                Err(e) => serde_json::json!({"submission": r.submission, "error": e}),
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&all).expect("JSON values")
        );
    } else {
        let width = rows.iter().map(|r| r.submission.len()).max().unwrap_or(0);
        for r in &rows {
            match &r.grade {
                Ok(g) => println!("{:<width$}  {}/{}", r.submission, g.score, g.max),
                Err(e) => println!("{:<width$}  {e}", r.submission),
            }
        }
        if let Some(path) = &args.gradebook {
            println!("gradebook: {}", Path::new(path).display());
        }
    }
    Ok(if rows.iter().all(|r| r.grade.is_ok()) {
        Verdict::Passed
    } else {
        Verdict::Ungraded
    })
}

/// A CSV field, quoted; a leading `= + - @` is defused so a spreadsheet shows it as text.
fn field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// `submission,score,max,<check>...,error`: one row per submission, points per check.
fn gradebook(rubric: &Rubric, rows: &[Row]) -> String {
    let mut out = String::from("submission,score,max");
    for c in &rubric.checks {
        out.push(',');
        out.push_str(&field(&c.name));
    }
    out.push_str(",error\n");
    for r in rows {
        out.push_str(&field(&r.submission));
        match &r.grade {
            Ok(g) => {
                out.push_str(&format!(",{},{}", g.score, g.max));
                for c in &rubric.checks {
                    let points = g
                        .checks
                        .iter()
                        .find(|x| x.name == c.name)
                        .map(|x| x.points.to_string())
                        .unwrap_or_default();
                    out.push_str(&format!(",{points}"));
                }
                out.push_str(",\n");
            }
            Err(e) => {
                out.push_str(&format!(",0,{}", rubric.max()));
                out.push_str(&",".repeat(rubric.checks.len()));
                out.push_str(&format!(",{}\n", field(e)));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_defused() {
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("=cmd|' /C calc'!A0"), "\"'=cmd|' /C calc'!A0\"");
    }
}
