//! A grade as a person reads it, and as JUnit XML for CI. (JSON is `serde_json` of the
//! [`Grade`] itself.)

use std::fmt::Write;
use std::time::Duration;

use super::Grade;
use crate::text::markup;

/// One line per check: points, name, feedback; notes first, the score last.
pub fn text(grade: &Grade, color: bool) -> String {
    let ink = crate::text::Ink { color };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}",
        ink.bold(&format!("labctl grade {} {}", grade.lab, grade.submission))
    );
    if !grade.notes.is_empty() {
        let _ = writeln!(out, "\n{}", ink.bold("notes"));
        for note in &grade.notes {
            let _ = writeln!(out, "  - {note}");
        }
    }
    let _ = writeln!(out, "\n{}", ink.bold("checks"));
    let width = grade.checks.iter().map(|c| c.name.len()).max().unwrap_or(0);
    for c in &grade.checks {
        let points = if c.ran {
            format!("{:>2}/{:<2}", c.points, c.max)
        } else {
            format!("{:>2}/{:<2}", "-", c.max)
        };
        let mark = if c.ran {
            ink.mark(c.passed, &points, &points)
        } else {
            ink.paint("33", &points)
        };
        let _ = writeln!(out, "  {mark} {:<width$}  {}", c.name, c.feedback);
        if let Some(hint) = &c.hint {
            let _ = writeln!(
                out,
                "        {:<width$}  {}",
                "",
                ink.paint("2", &format!("hint: {hint}"))
            );
        }
    }
    let mut verdict = format!("score {}/{}", grade.score, grade.max);
    if grade.lab_not_run.is_some() {
        verdict.push_str(" (the lab's checks were not run: the lab could not run on this host)");
    }
    let full = grade.score == grade.max;
    let _ = writeln!(out, "\n{}", ink.verdict(full, &verdict, &verdict));
    out
}

/// One test case per check; a check that lost its points is a failure carrying the feedback.
pub fn junit(grade: &Grade, took: Duration) -> String {
    let failures = grade.checks.iter().filter(|c| !c.passed).count();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let suite = format!("grade {} {}", grade.lab, grade.submission);
    let _ = writeln!(
        out,
        "<testsuites tests=\"{}\" failures=\"{failures}\" time=\"{:.3}\">",
        grade.checks.len(),
        took.as_secs_f64()
    );
    let _ = writeln!(
        out,
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" time=\"{:.3}\">",
        markup(&suite),
        grade.checks.len(),
        took.as_secs_f64()
    );
    let _ = writeln!(
        out,
        "    <properties><property name=\"score\" value=\"{}\"/><property name=\"max\" value=\"{}\"/></properties>",
        grade.score, grade.max
    );
    for c in &grade.checks {
        let _ = write!(
            out,
            "    <testcase classname=\"{}\" name=\"{} ({}/{})\"",
            markup(&grade.lab),
            markup(&c.name),
            c.points,
            c.max
        );
        if c.passed {
            let _ = writeln!(out, "/>");
        } else {
            let _ = writeln!(
                out,
                ">\n      <failure message=\"{}\">{}</failure>\n    </testcase>",
                markup(&c.feedback),
                markup(c.hint.as_deref().unwrap_or(""))
            );
        }
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grade::CheckGrade;

    #[test]
    fn junit_escapes_untrusted_text() {
        let grade = Grade {
            lab: "lab".into(),
            submission: "sub<&>\u{1}".into(),
            score: 0,
            max: 1,
            checks: vec![CheckGrade {
                name: "c".into(),
                points: 0,
                max: 1,
                passed: false,
                ran: true,
                feedback: "port \"21\" <x>".into(),
                hint: None,
            }],
            notes: vec![],
            lab_not_run: None,
        };
        let x = junit(&grade, Duration::from_millis(5));
        assert!(
            x.contains("name=\"grade lab sub&lt;&amp;&gt;\\x01\""),
            "{x}"
        );
        assert!(
            x.contains("message=\"port &quot;21&quot; &lt;x&gt;\""),
            "{x}"
        );
        assert!(x.contains("failures=\"1\""));
    }
}
