//! Gradebooks: one row per submission, in labctl's CSV, as a Canvas gradebook import or as a
//! Moodle grade import; and the Canvas roster the Canvas form is matched against.
//!
//! Contract: [`render`] depends only on each row's submission name, score, maximum, checks
//! (name, points, feedback) and why it was not graded, which is all a shard's results file
//! keeps, so a gradebook merged from shards is byte for byte the one a single run writes. Rows
//! come sorted by submission name ([`sort`]); the text of a row that could not be graded is
//! the grader's, with nothing that changes from run to run.
//!
//! A roster is untrusted input: [`Roster::parse`] names the line of anything it cannot read,
//! and [`Roster::matches`] names the submission that matches no one or two people, before
//! anything is graded.

use std::path::Path;

use super::{Grade, Rubric};
use crate::verdict::Error;

/// A gradebook's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum BookFormat {
    /// `submission,score,max,<check>...,error`
    #[default]
    Csv,
    /// Canvas: Student, ID, SIS User ID, SIS Login ID, Section, then the lab's column
    Canvas,
    /// Moodle: username (the submission's directory name), grade, feedback
    Moodle,
}

/// One gradebook row: a submission by its directory name, and its grade or why there is none.
#[derive(Debug, Clone)]
pub struct Row {
    pub submission: String,
    pub grade: Result<Grade, String>,
}

/// Puts rows in gradebook order: by submission name, bytewise.
pub fn sort(rows: &mut [Row]) {
    rows.sort_by(|a, b| a.submission.cmp(&b.submission));
}

/// A CSV field, quoted; a leading `= + - @` is defused so a spreadsheet shows it as text.
pub fn field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// The gradebook text of `rows` (already sorted) for `rubric`'s lab.
pub fn render(
    format: BookFormat,
    rubric: &Rubric,
    rows: &[Row],
    roster: Option<&Roster>,
) -> String {
    match format {
        BookFormat::Csv => csv(rubric, rows),
        BookFormat::Canvas => canvas(rubric, rows, roster),
        BookFormat::Moodle => moodle(rows),
    }
}

/// `submission,score,max,<check>...,error`: one row per submission, points per check.
fn csv(rubric: &Rubric, rows: &[Row]) -> String {
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
                        .map(|x| {
                            if x.ran {
                                x.points.to_string()
                            } else {
                                "not run".into()
                            }
                        })
                        .unwrap_or_default();
                    out.push_str(&format!(",{points}"));
                }
                match &g.lab_not_run {
                    None => out.push_str(",\n"),
                    Some(cause) => out.push_str(&format!(",{}\n", field(&lab_not_run(cause)))),
                }
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

fn lab_not_run(cause: &str) -> String {
    format!("lab checks not run: {cause}")
}

/// The Canvas import: the roster's five columns, then the lab's, with Canvas's "Points
/// Possible" row first. A submission that could not be graded leaves its cell empty, which
/// Canvas reads as "no change", never as a zero.
fn canvas(rubric: &Rubric, rows: &[Row], roster: Option<&Roster>) -> String {
    let column = format!("{} ({})", rubric.title, rubric.lab);
    let mut out = format!(
        "Student,ID,SIS User ID,SIS Login ID,Section,{}\n",
        field(&column)
    );
    out.push_str(&format!("    Points Possible,,,,,{}\n", rubric.max()));
    let people = roster.map(|r| r.people.as_slice()).unwrap_or_default();
    for r in rows {
        let Some(p) = people.iter().find(|p| p.sis_login_id == r.submission) else {
            continue;
        };
        let score = match &r.grade {
            Ok(g) if g.lab_not_run.is_none() => g.score.to_string(),
            _ => String::new(),
        };
        out.push_str(&format!(
            "{},{},{},{},{},{score}\n",
            field(&p.student),
            field(&p.id),
            field(&p.sis_user_id),
            field(&p.sis_login_id),
            field(&p.section)
        ));
    }
    out
}

/// The Moodle import: the directory's name as username, the grade, one line of feedback per
/// check.
fn moodle(rows: &[Row]) -> String {
    let mut out = String::from("username,grade,feedback\n");
    for r in rows {
        let (grade, feedback) = match &r.grade {
            Ok(g) => {
                let mut lines: Vec<String> = g
                    .checks
                    .iter()
                    .map(|c| format!("{} {}/{}: {}", c.name, c.points, c.max, c.feedback))
                    .collect();
                if let Some(cause) = &g.lab_not_run {
                    lines.insert(0, lab_not_run(cause));
                }
                let grade = if g.lab_not_run.is_none() {
                    g.score.to_string()
                } else {
                    String::new()
                };
                (grade, lines.join("\n"))
            }
            Err(e) => (String::new(), e.clone()),
        };
        out.push_str(&format!(
            "{},{grade},{}\n",
            field(&r.submission),
            field(&feedback)
        ));
    }
    out
}

/// One person of a Canvas roster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub student: String,
    pub id: String,
    pub sis_user_id: String,
    pub sis_login_id: String,
    pub section: String,
    /// The roster line the person starts on (1-based).
    pub line: usize,
}

/// The instructor's Canvas roster: the gradebook as Canvas exports it.
#[derive(Debug, Clone, Default)]
pub struct Roster {
    pub people: Vec<Person>,
}

const ROSTER_COLUMNS: [&str; 5] = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"];

/// Records of a CSV text, each with the line it starts on; quoted fields may hold commas,
/// quotes (doubled) and line breaks. Errors name the line.
fn records(text: &str) -> Result<Vec<(usize, Vec<String>)>, String> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    let mut line = 1;
    while chars.peek().is_some() {
        let start = line;
        let mut fields = Vec::new();
        let mut field = String::new();
        let mut quoted = false;
        let mut was_quoted = false;
        loop {
            let Some(c) = chars.next() else {
                if quoted {
                    return Err(format!("line {start}: a quoted field is never closed"));
                }
                break;
            };
            match c {
                '"' if quoted => {
                    if chars.peek() == Some(&'"') {
                        chars.next();
                        field.push('"');
                    } else {
                        quoted = false;
                    }
                }
                '"' if field.is_empty() && !was_quoted => {
                    quoted = true;
                    was_quoted = true;
                }
                '"' => return Err(format!("line {line}: a quote inside an unquoted field")),
                '\n' if quoted => {
                    line += 1;
                    field.push('\n');
                }
                '\n' => {
                    line += 1;
                    break;
                }
                '\r' if !quoted && chars.peek() == Some(&'\n') => {}
                ',' if !quoted => {
                    fields.push(std::mem::take(&mut field));
                    was_quoted = false;
                }
                c if was_quoted && !quoted => {
                    return Err(format!("line {line}: {c:?} after a closing quote"));
                }
                c => field.push(c),
            }
        }
        fields.push(field);
        if fields.iter().any(|f| !f.is_empty()) {
            out.push((start, fields));
        }
    }
    Ok(out)
}

impl Roster {
    /// Reads a roster file; errors name the file and line.
    pub fn read(path: &Path) -> Result<Roster, Error> {
        let bytes =
            std::fs::read(path).map_err(|e| Error::msg(format!("{}: {e}", path.display())))?;
        let text = String::from_utf8(bytes)
            .map_err(|_| Error::msg(format!("{}: not UTF-8 text", path.display())))?;
        Roster::parse(&text).map_err(|e| Error::msg(format!("{}: {e}", path.display())))
    }

    /// Parses a roster: a header naming the five columns (in any order, among others), then
    /// one person per line. Canvas's "Points Possible" and muted rows are skipped.
    pub fn parse(text: &str) -> Result<Roster, String> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut records = records(text)?.into_iter();
        let Some((line, header)) = records.next() else {
            return Err(
                "line 1: empty, expected a header with the columns Student, ID, SIS \
                        User ID, SIS Login ID, Section"
                    .into(),
            );
        };
        let mut at = [0; 5];
        for (i, name) in ROSTER_COLUMNS.iter().enumerate() {
            at[i] = header.iter().position(|h| h.trim() == *name).ok_or_else(|| {
                format!("line {line}: the header has no {name:?} column (a Canvas gradebook export has Student, ID, SIS User ID, SIS Login ID, Section)")
            })?;
        }
        let mut people: Vec<Person> = Vec::new();
        for (line, fields) in records {
            if fields.len() != header.len() {
                return Err(format!(
                    "line {line}: {} fields, the header has {}",
                    fields.len(),
                    header.len()
                ));
            }
            let get = |i: usize| fields[at[i]].trim().to_string();
            if get(0).contains("Points Possible") || get(0).contains("Muted") {
                continue;
            }
            let person = Person {
                student: get(0),
                id: get(1),
                sis_user_id: get(2),
                sis_login_id: get(3),
                section: get(4),
                line,
            };
            if person.sis_login_id.is_empty() {
                return Err(format!(
                    "line {line}: {:?} has no SIS Login ID",
                    person.student
                ));
            }
            people.push(person);
        }
        Ok(Roster { people })
    }

    /// Checks that each submission name is the SIS Login ID of exactly one person.
    pub fn matches(&self, submissions: &[String]) -> Result<(), String> {
        for name in submissions {
            let found: Vec<&Person> = self
                .people
                .iter()
                .filter(|p| p.sis_login_id == *name)
                .collect();
            match found.as_slice() {
                [_] => {}
                [] => {
                    return Err(format!(
                        "submission {name:?} matches no one in the roster (no SIS Login ID {name:?})"
                    ));
                }
                many => {
                    return Err(format!(
                        "submission {name:?} matches {} people in the roster (lines {})",
                        many.len(),
                        many.iter()
                            .map(|p| p.line.to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
            }
        }
        Ok(())
    }
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

    const ROSTER: &str = "Student,ID,SIS User ID,SIS Login ID,Section,Lab 1 (77)\n\
        \x20   Points Possible,,,,,12\n\
        \"Doe, Alice\",101,S1,alice,A,\n\
        Bob Roe,102,S2,bob,\"B\nevening\",\n\
        Carol,103,S3,carol,A,\n";

    #[test]
    fn a_canvas_roster_is_read_with_quotes_and_line_numbers() {
        let r = Roster::parse(ROSTER).unwrap();
        assert_eq!(r.people.len(), 3);
        assert_eq!(r.people[0].student, "Doe, Alice");
        assert_eq!(r.people[1].section, "B\nevening");
        assert_eq!(r.people[2].line, 6);
        r.matches(&["alice".into(), "carol".into()]).unwrap();
    }

    #[test]
    fn a_roster_that_does_not_parse_is_named_by_its_line() {
        let e = Roster::parse("Student,ID,SIS User ID,Section\n").unwrap_err();
        assert!(
            e.starts_with("line 1:") && e.contains("SIS Login ID"),
            "{e}"
        );
        let e = Roster::parse(&format!("{ROSTER}Dan,104,S4\n")).unwrap_err();
        assert!(e.starts_with("line 7:") && e.contains("3 fields"), "{e}");
        let e = Roster::parse(&format!("{ROSTER}\"Eve,105,S5,eve,A,\n")).unwrap_err();
        assert!(
            e.starts_with("line 7:") && e.contains("never closed"),
            "{e}"
        );
        let e = Roster::parse(&format!("{ROSTER}Fay,106,S6,,A,\n")).unwrap_err();
        assert!(
            e.starts_with("line 7:") && e.contains("no SIS Login ID"),
            "{e}"
        );
    }

    #[test]
    fn a_submission_matching_no_one_or_two_people_is_named() {
        let r = Roster::parse(&format!("{ROSTER}Carol Twin,107,S7,carol,B,\n")).unwrap();
        let e = r.matches(&["alice".into(), "zed".into()]).unwrap_err();
        assert!(e.contains("\"zed\" matches no one"), "{e}");
        let e = r.matches(&["carol".into()]).unwrap_err();
        assert!(
            e.contains("matches 2 people") && e.contains("lines 6, 7"),
            "{e}"
        );
    }
}
