//! A grade in the formats course platforms import: Gradescope's `results.json` and
//! PrairieLearn's external grading result. Both are built from the [`Grade`] alone, so they
//! say what the text and JSON forms say.
//!
//! Field lists, as published (checked when this was written):
//! - Gradescope, <https://gradescope-autograders.readthedocs.io/en/latest/specs/> ("Output
//!   format"): top level `score` (optional if every test has one), `execution_time` (seconds),
//!   `output`, `tests[]`; each test `score`, `max_score`, `status` (`passed` or `failed`),
//!   `name`, `output`, `visibility` (`hidden`, `after_due_date`, `after_published`,
//!   `visible`).
//! - PrairieLearn, docs/externalGrading.md of PrairieLearn/PrairieLearn ("Grading results"):
//!   `gradable` (false: "invalid, not gradable", no points awarded or lost, with
//!   `format_errors`), `score` in [0.0, 1.0], `message`, `output`, `tests[]` with `name`,
//!   `points`, `max_points`, `message`, `output`.
//!
//! Invariants: a check that did not run (the lab could not run on this host) is never shown
//! as passed: Gradescope `failed` with an output that says so, and PrairieLearn's whole result
//! `gradable: false`, so the student loses neither points nor an attempt.

use std::time::Duration;

use serde_json::{Value, json};

use super::{CheckGrade, Grade};

/// What `labctl grade` prints on standard output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// One line per check, for people
    #[default]
    Text,
    /// The grade as labctl's own JSON
    Json,
    /// Gradescope's results.json
    Gradescope,
    /// PrairieLearn's external grading results.json
    Prairielearn,
}

/// The notes and, when the lab did not run, why: text that concerns the whole submission.
fn summary(grade: &Grade) -> String {
    let mut out = String::new();
    if let Some(cause) = &grade.lab_not_run {
        out.push_str(&format!(
            "The lab could not run on the grading host: {cause}\n"
        ));
    }
    for note in &grade.notes {
        out.push_str(&format!("- {note}\n"));
    }
    out
}

/// The feedback of one check with its hint, as one text.
fn check_output(feedback: &str, hint: Option<&str>) -> String {
    match hint {
        Some(h) => format!("{feedback}\nhint: {h}"),
        None => feedback.to_string(),
    }
}

/// Gradescope's `results.json`.
pub fn gradescope(grade: &Grade, took: Duration) -> Value {
    // One test a check.
    let test = |c: &CheckGrade| {
        json!({
            "name": c.name,
            "score": c.points,
            "max_score": c.max,
            "status": if c.passed && c.ran { "passed" } else { "failed" },
            "output": check_output(&c.feedback, c.hint.as_deref()),
            "visibility": "visible",
        })
    };
    let tests: Vec<Value> = grade.checks.iter().map(test).collect();
    json!({
        "score": grade.score,
        "execution_time": took.as_secs(),
        "output": format!("score {}/{}\n{}", grade.score, grade.max, summary(grade)),
        "tests": tests,
    })
}

/// PrairieLearn's external grading result.
pub fn prairielearn(grade: &Grade) -> Value {
    let score = if grade.max == 0 {
        1.0
    } else {
        f64::from(grade.score) / f64::from(grade.max)
    };
    // One test a check.
    let test = |c: &CheckGrade| {
        json!({
            "name": c.name,
            "points": c.points,
            "max_points": c.max,
            "message": c.feedback,
            "output": c.hint.clone().unwrap_or_default(),
        })
    };
    let tests: Vec<Value> = grade.checks.iter().map(test).collect();
    let mut out = json!({
        "gradable": grade.lab_not_run.is_none(),
        "score": score,
        "message": match &grade.lab_not_run {
            None => format!("score {}/{}", grade.score, grade.max),
            Some(_) => "not graded: the lab could not run on the grading host".to_string(),
        },
        "output": summary(grade),
        "tests": tests,
    });
    if let Some(cause) = &grade.lab_not_run {
        out["format_errors"] = json!([format!(
            "the lab could not run on the grading host: {cause}"
        )]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grade::CheckGrade;

    fn grade(lab_ran: bool) -> Grade {
        let check = |name: &str, passed: bool, ran: bool| CheckGrade {
            name: name.into(),
            points: if passed { 2 } else { 0 },
            max: 2,
            passed,
            ran,
            feedback: format!("{name} feedback"),
            hint: (!passed).then(|| "look again".to_string()),
        };
        Grade {
            lab: "lab".into(),
            submission: "alice".into(),
            score: 2,
            max: 6,
            checks: vec![
                check("rules", true, true),
                check("answers", false, true),
                check("lab", false, lab_ran),
            ],
            notes: vec!["a note".into()],
            lab_not_run: (!lab_ran).then(|| "unshare failed with ENOSPC".into()),
        }
    }

    #[test]
    fn gradescope_has_the_published_fields() {
        let v = gradescope(&grade(true), Duration::from_millis(2500));
        assert_eq!(v["score"], 2);
        assert_eq!(v["execution_time"], 2);
        assert!(v["output"].as_str().unwrap().contains("a note"));
        let t = &v["tests"][1];
        assert_eq!(t["name"], "answers");
        assert_eq!(
            (t["score"].as_u64(), t["max_score"].as_u64()),
            (Some(0), Some(2))
        );
        assert_eq!(t["status"], "failed");
        assert_eq!(t["output"], "answers feedback\nhint: look again");
        assert_eq!(t["visibility"], "visible");
        assert_eq!(v["tests"][0]["status"], "passed");
    }

    #[test]
    fn a_lab_that_did_not_run_is_failed_for_gradescope_and_not_gradable_for_prairielearn() {
        let g = grade(false);
        let v = gradescope(&g, Duration::ZERO);
        assert_eq!(v["tests"][2]["status"], "failed");
        assert!(v["output"].as_str().unwrap().contains("ENOSPC"));
        let v = prairielearn(&g);
        assert_eq!(v["gradable"], false);
        assert!(v["format_errors"][0].as_str().unwrap().contains("ENOSPC"));
    }

    #[test]
    fn prairielearn_scores_between_0_and_1() {
        let v = prairielearn(&grade(true));
        assert_eq!(v["gradable"], true);
        assert!((v["score"].as_f64().unwrap() - 2.0 / 6.0).abs() < 1e-9);
        assert_eq!(v["message"], "score 2/6");
        let t = &v["tests"][1];
        assert_eq!(
            (t["points"].as_u64(), t["max_points"].as_u64()),
            (Some(0), Some(2))
        );
        assert_eq!(t["message"], "answers feedback");
        assert_eq!(t["output"], "look again");
        assert!(v.get("format_errors").is_none());
    }
}
