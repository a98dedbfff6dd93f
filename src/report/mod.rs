//! Report: what an instructor watches and what CI reads, from one [`Report`] value: each stage
//! with its time, each step and its outcome, the captured packets in a tcpdump-like form, the
//! flows, every check and the verdict. [`Report::text`] is for people, `serde_json` of the same
//! value is the `--json` form, and [`html`] draws it as a self-contained page with the
//! [`topology`] and each capture's [`ladder`].

pub mod html;
pub mod ladder;
pub mod topology;

use std::fmt::Write;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::analyze::{Analysis, Names};
use crate::capture::CaptureFile;
use crate::check::CheckResult;
use crate::check::snapshot::Comparison;
use crate::drive::StepResult;
use crate::text::{Ink, de_millis, human_duration, millis};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Stage {
    pub name: String,
    #[serde(serialize_with = "millis", deserialize_with = "de_millis")]
    pub took: Duration,
    pub summary: String,
}

/// The packets of one capture, rendered one line each, and its analysis.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CaptureView {
    #[serde(flatten)]
    pub file: CaptureFile,
    pub lines: Vec<String>,
    /// What the run's one pass over the capture found, for the HTML report and grading (the
    /// JSON form keeps to the lines and the flows).
    #[serde(skip)]
    pub analysis: Analysis,
}

/// One run's report. Its JSON form is what `labctl run --json` prints and `report.json`
/// holds; `labctl test` reads a child's back into this type. The values that are not in the
/// JSON (`topology`, `names`, each capture's analysis) are empty in a report read back.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub scenario: String,
    pub summary: String,
    pub origin: String,
    pub out: PathBuf,
    pub stages: Vec<Stage>,
    pub steps: Vec<StepResult>,
    pub captures: Vec<CaptureView>,
    pub flows: String,
    /// What the snapshot compares when it is not the flows (`snapshot = "alerts"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_text: Option<String>,
    pub snapshot: Comparison,
    /// Every check; when the scenario has an expected snapshot (`snapshot` is not
    /// [`Comparison::Missing`]), the last is the snapshot's (see [`Report::snapshot_check`]).
    pub checks: Vec<CheckResult>,
    pub passed: bool,
    #[serde(serialize_with = "millis", deserialize_with = "de_millis")]
    pub took: Duration,
    /// The lab as the HTML report draws it (the JSON form keeps to the run's results).
    #[serde(skip)]
    pub topology: topology::Topology,
    /// Host names by address, for drawing the captures.
    #[serde(skip)]
    pub names: Names,
}

impl Report {
    /// The check that the flows match the expected snapshot, when the scenario has one.
    pub fn snapshot_check(&self) -> Option<&CheckResult> {
        match self.snapshot {
            Comparison::Missing | Comparison::Off => None,
            _ => self.checks.last(),
        }
    }

    /// Every check but the snapshot's: the steps' and the scenario's expectations'.
    pub fn expectation_checks(&self) -> &[CheckResult] {
        let snapshot = usize::from(self.snapshot_check().is_some());
        &self.checks[..self.checks.len() - snapshot]
    }

    /// The report as an instructor reads it in a terminal.
    pub fn text(&self, color: bool) -> String {
        let ink = Ink { color };
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{} {}",
            ink.bold(&format!("labctl run {}", self.scenario)),
            ink.paint("2", &format!("({})", self.origin))
        );
        if !self.summary.is_empty() {
            let _ = writeln!(out, "  {}", self.summary);
        }
        let _ = writeln!(out, "\n{}", ink.bold("stages"));
        for stage in &self.stages {
            let _ = writeln!(
                out,
                "  {:<10} {:>9}  {}",
                stage.name,
                human_duration(stage.took),
                stage.summary
            );
        }
        let _ = writeln!(out, "\n{}", ink.bold("steps"));
        for (i, step) in self.steps.iter().enumerate() {
            let mark = ink.mark(step.passed(), "ok  ", "FAIL");
            let _ = writeln!(
                out,
                "  {mark} {:>2}. {:<8} {:<48} {:<11} {:>9}  {}",
                i + 1,
                step.host,
                step.title,
                step.outcome.as_str(),
                human_duration(step.took),
                step.detail
            );
            for line in step.transcript.iter().cloned().chain(step.streams()) {
                let _ = writeln!(out, "                {line}");
            }
        }
        for capture in &self.captures {
            let _ = writeln!(
                out,
                "\n{} {}",
                ink.bold(&format!(
                    "capture {}:{}",
                    capture.file.host, capture.file.iface
                )),
                ink.paint(
                    "2",
                    &format!(
                        "({} packets, {})",
                        capture.file.packets,
                        capture.file.path.display()
                    )
                )
            );
            for line in &capture.lines {
                let _ = writeln!(out, "  {line}");
            }
        }
        let _ = writeln!(out, "\n{}", ink.bold("flows"));
        for line in self.flows.lines() {
            let _ = writeln!(out, "  {line}");
        }
        if let Some(text) = &self.snapshot_text {
            let _ = writeln!(out, "\n{}", ink.bold("snapshot (alerts)"));
            for line in text.lines() {
                let _ = writeln!(out, "  {line}");
            }
        }
        let _ = writeln!(out, "\n{}", ink.bold("checks"));
        for check in &self.checks {
            let mark = ink.mark(check.passed, "ok  ", "FAIL");
            let _ = writeln!(out, "  {mark} {}", check.name);
            if !check.detail.is_empty() {
                let _ = writeln!(out, "         {}", ink.paint("2", &check.detail));
            }
        }
        // A comparison that did not happen is said, not left out: a silent skip reads as a pass.
        match &self.snapshot {
            Comparison::Missing => {
                let _ = writeln!(
                    out,
                    "  {} flows not compared: no expected snapshot (`labctl test --bless` records one)",
                    ink.paint("33", "note")
                );
            }
            Comparison::Off => {
                let _ = writeln!(
                    out,
                    "  {} flows not compared: the scenario says snapshot = false",
                    ink.paint("2", "note")
                );
            }
            _ => {}
        }
        if let Comparison::Differs { diff } = &self.snapshot {
            let _ = writeln!(
                out,
                "\n{}",
                ink.bold("flow snapshot differs (- expected, + this run)")
            );
            for line in diff.lines() {
                let _ = writeln!(out, "  {}", ink.diff_line(line));
            }
        }
        let failed = self.checks.iter().filter(|c| !c.passed).count();
        let verdict = ink.verdict(
            self.passed,
            &format!("PASSED ({} checks)", self.checks.len()),
            &format!("FAILED ({failed} of {} checks)", self.checks.len()),
        );
        let _ = writeln!(
            out,
            "\n{verdict} in {}; artifacts in {}",
            human_duration(self.took),
            self.out.display()
        );
        out
    }
}

/// The opening tag of a picture in a page: its size, and `label` (escaped here) for readers
/// that cannot see it.
fn svg_open(class: &str, width: usize, height: usize, label: &str) -> String {
    format!(
        "<svg class=\"{class}\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" \
         height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\" \
         aria-label=\"{}\">\n",
        crate::text::markup(label)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Report {
        /// A report of scenario `x` with one stage and the given snapshot and checks.
        pub(crate) fn sample(snapshot: Comparison, checks: Vec<CheckResult>) -> Report {
            Report {
                scenario: "x".into(),
                summary: "a lab".into(),
                origin: "scenarios/x.toml".into(),
                out: "out".into(),
                stages: vec![Stage {
                    name: "steps".into(),
                    took: Duration::from_micros(12_345),
                    summary: "1 steps".into(),
                }],
                steps: Vec::new(),
                captures: Vec::new(),
                flows: "tcp a > b\n".into(),
                snapshot_text: None,
                snapshot,
                checks,
                passed: false,
                took: Duration::from_millis(7),
                topology: Default::default(),
                names: Names::new(),
            }
        }
    }

    /// What `labctl test` reads back is what the child printed, and the snapshot check is
    /// told from the others by the report's snapshot comparison.
    #[test]
    fn a_report_reads_back_as_printed() {
        let snapshot = Comparison::Differs {
            diff: "-a\n+b\n".into(),
        };
        let mut checks: Vec<CheckResult> = serde_json::from_str(
            r#"[{"name": "step 1 telnet server:21 on client: connected", "passed": false, "detail": "refused"}]"#,
        )
        .unwrap();
        checks.extend(snapshot.check());
        let report = Report::sample(snapshot, checks);
        let printed = serde_json::to_string_pretty(&report).unwrap();
        let back: Report = serde_json::from_str(&printed).unwrap();
        assert_eq!(serde_json::to_string_pretty(&back).unwrap(), printed);
        assert_eq!(back.expectation_checks(), &report.checks[..1]);
        assert!(back.snapshot_check().is_some_and(|c| !c.passed));
        let without = Report {
            snapshot: Comparison::Missing,
            checks: report.checks[..1].to_vec(),
            ..back
        };
        assert_eq!(without.snapshot_check(), None);
        assert_eq!(without.expectation_checks().len(), 1);
    }
}
