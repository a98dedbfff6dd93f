//! `labctl grade --html`: the graded submission as a page of the HTML report, each check's
//! feedback beside the frames that are its evidence.
//!
//! Contract: [`page`] maps each rubric check to the conversations it looks at (the lab's
//! connection to the reference rule's port for rule checks, the named conversation for lab
//! conversation checks, the student's conversations to a port, DNS or FTP data for capture
//! checks) and hands the drawing to [`crate::report::html::grade_page`]. Checks that read only
//! files or commands.sh have no frames and show their feedback alone.

use crate::analyze::Names;
use crate::report::html::{GradeView, GradedCheck, Source, grade_page};
use crate::report::ladder::{Ladder, Pick};

use super::Graded;
use super::rubric::{Fact, Kind, Rubric};

/// The page of one graded submission; `None` when the lab did not run (the page draws it).
pub fn page(rubric: &Rubric, graded: &Graded) -> Option<String> {
    let lab = graded.lab.as_ref()?;
    let reference_port = rubric.rules.as_ref().and_then(|spec| {
        spec.reference
            .dports()
            .iter()
            .find(|p| !p.negated)
            .map(|p| p.value.first)
    });
    let checks = rubric
        .checks
        .iter()
        .zip(&graded.grade.checks)
        .map(|(check, result)| GradedCheck {
            name: result.name.clone(),
            points: result.points,
            max: result.max,
            passed: result.passed,
            feedback: result.feedback.clone(),
            hint: result.hint.clone(),
            evidence: evidence(&check.kind, reference_port),
        })
        .collect();
    // The student's capture is read through the file the submission opened (no link followed),
    // without host names: its addresses are the student's, not the lab's.
    let student = graded
        .submission
        .capture
        .as_ref()
        .ok()
        .map(|c| (c.name.clone(), Ladder::read(&c.file, &Names::new())));
    Some(grade_page(&GradeView {
        lab: graded.grade.lab.clone(),
        submission: graded.grade.submission.clone(),
        score: graded.grade.score,
        max: graded.grade.max,
        checks,
        notes: graded.grade.notes.clone(),
        report: &lab.report,
        student,
    }))
}

/// The conversations a check of this kind looks at.
fn evidence(kind: &Kind, reference_port: Option<u16>) -> Option<(Source, Pick)> {
    match kind {
        Kind::RuleTable { .. } | Kind::RuleChain { .. } | Kind::RuleMatch { .. } => {
            reference_port.map(|p| (Source::Lab, Pick::Port(p)))
        }
        Kind::LabConversation { conversation, .. } => conversation
            .rsplit_once(':')
            .and_then(|(_, port)| port.trim().parse().ok())
            .map(|p| (Source::Lab, Pick::Port(p))),
        Kind::CaptureConversation { port, .. } | Kind::CaptureNoPort { port } => {
            Some((Source::Student, Pick::Port(*port)))
        }
        Kind::CaptureDns { .. } => Some((Source::Student, Pick::Dns)),
        Kind::CaptureFtpData => Some((Source::Student, Pick::FtpData)),
        // The 227 reply a PASV port is read from travels on the FTP control connection.
        Kind::Answer {
            fact: Fact::PasvPort,
            ..
        } => Some((Source::Student, Pick::Port(21))),
        Kind::Answer {
            fact: Fact::MxHost, ..
        } => Some((Source::Student, Pick::Dns)),
        // What an attack left is in many conversations, none of them the answer's.
        Kind::Answer { fact, .. } if fact.of_attack().is_some() => None,
        // Every other fact is a DHCP one, read from the messages to and from port 67.
        Kind::Answer { .. } => Some((Source::Student, Pick::Port(67))),
        Kind::LabFile { .. }
        | Kind::Listener { .. }
        | Kind::Command { .. }
        | Kind::CaptureFile
        | Kind::Filter { .. } => None,
    }
}
