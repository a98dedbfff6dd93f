//! Many submissions at once: each graded by a `labctl grade LAB DIR --json` child in its own
//! sandbox ([`crate::jobs`]), in parallel, into a gradebook ([`super::gradebook`]) and, for a
//! shard of a class, a results file ([`super::shard`]).
//!
//! Contract: everything that can be wrong with the command line is found before anything is
//! graded (exit 2): two submissions with the same directory name, a roster that does not
//! parse, a submission that matches no one or two people in it, a shard that does not exist.
//! Submissions are named by their directory's name and taken in that name's order. A
//! submission whose child fails still gets its row (score 0 and the reason); it never stops
//! the others, and the batch's verdict is [`Verdict::Ungraded`]. Points lost are in the rows,
//! not in the verdict: a batch in which every submission was graded has [`Verdict::Passed`].

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::gradebook::{self, BookFormat, Roster, Row};
use super::shard::Shard;
use super::{Format, Grade, GradeArgs, Rubric};
use crate::jobs::{self, Job, Progress};
use crate::verdict::{Error, Verdict};

/// The roster a gradebook format needs: Canvas's and no other.
pub fn roster(format: BookFormat, path: Option<&Path>) -> Result<Option<Roster>, Error> {
    match (format, path) {
        (BookFormat::Canvas, Some(p)) => Ok(Some(Roster::read(p)?)),
        (BookFormat::Canvas, None) => Err(Error::msg(
            "--gradebook-format canvas needs --roster FILE (the gradebook exported from Canvas)",
        )),
        (_, Some(_)) => Err(Error::msg(
            "--roster is read only for --gradebook-format canvas",
        )),
        (_, None) => Ok(None),
    }
}

/// A submission's name in a gradebook: its directory's name.
fn name(dir: &Path) -> String {
    let named = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .or_else(|| {
            let full = std::fs::canonicalize(dir).ok()?;
            Some(full.file_name()?.to_string_lossy().into_owned())
        });
    named.unwrap_or_else(|| dir.display().to_string())
}

pub fn run(args: &GradeArgs, rubric: &Rubric, dirs: &[PathBuf]) -> Result<Verdict, Error> {
    if matches!(args.output(), Format::Gradescope | Format::Prairielearn) {
        return Err(Error::msg(
            "--format gradescope and prairielearn print one submission's result: grade one \
             directory at a time",
        ));
    }
    let mut class: Vec<(String, PathBuf)> = dirs.iter().map(|d| (name(d), d.clone())).collect();
    class.sort();
    if let Some(w) = class.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(Error::msg(format!(
            "two submissions are named {:?} ({} and {}): a gradebook names each by its \
             directory",
            w[0].0,
            w[0].1.display(),
            w[1].1.display()
        )));
    }
    let roster = roster(args.gradebook_format, args.roster.as_deref())?;
    if let (Some(r), Some(path)) = (&roster, &args.roster) {
        let names: Vec<String> = class.iter().map(|(n, _)| n.clone()).collect();
        r.matches(&names)
            .map_err(|e| Error::msg(format!("{}: {e}", path.display())))?;
    }
    let shard = match args.shard.as_deref() {
        None => None,
        Some("auto") => Some(Shard::auto(&|n| std::env::var(n).ok()).map_err(Error::msg)?),
        Some(s) => Some(Shard::parse(s).map_err(Error::msg)?),
    };
    let selected: Vec<(String, PathBuf)> = class
        .into_iter()
        .enumerate()
        .filter(|(p, _)| shard.is_none_or(|s| s.holds(*p)))
        .map(|(_, c)| c)
        .collect();
    let jobs: Vec<Job> = selected
        .iter()
        .map(|(name, d)| Job {
            label: name.clone(),
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
    let mut rows: Vec<Row> = finished
        .into_iter()
        .map(|f| {
            let grade = match (f.code, serde_json::from_slice::<Grade>(&f.stdout)) {
                (Some(0 | 1), Ok(g)) => Ok(g),
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
    gradebook::sort(&mut rows);
    if let Some(path) = &args.gradebook {
        let text = gradebook::render(args.gradebook_format, rubric, &rows, roster.as_ref());
        std::fs::write(path, text).map_err(|e| Error::msg(format!("{}: {e}", path.display())))?;
    }
    let results = match (shard, &args.results) {
        (Some(shard), Some(dir)) => Some(super::shard::write(dir, shard, rubric, &rows)?),
        _ => None,
    };
    if args.output() == Format::Json {
        let all: Vec<serde_json::Value> = rows
            .iter()
            .map(|r| match &r.grade {
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
                Ok(g) if g.lab_not_run.is_some() => println!(
                    "{:<width$}  {}/{} (lab checks not run)",
                    r.submission, g.score, g.max
                ),
                Ok(g) => println!("{:<width$}  {}/{}", r.submission, g.score, g.max),
                Err(e) => println!("{:<width$}  {e}", r.submission),
            }
        }
        if let Some(path) = &args.gradebook {
            println!("gradebook: {}", path.display());
        }
        if let Some(path) = &results {
            println!("results: {}", path.display());
        }
    }
    Ok(if rows.iter().all(|r| r.grade.is_ok()) {
        Verdict::Passed
    } else {
        Verdict::Ungraded
    })
}
