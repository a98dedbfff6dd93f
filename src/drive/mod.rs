//! Steps: the clients and commands of a scenario, driven in order.
//!
//! Contract: [`run_step`] never fails the run for what the network did. A refused connection,
//! a timeout or a program exiting 1 are outcomes, recorded in the [`StepResult`] and judged by
//! the checks; only a problem of labctl's own (no namespace, the program is not installed)
//! is an error.

mod counters;
mod craft;
mod dhcp;
mod listening;
mod net;
mod ping;
mod program;
mod protocol;
mod telnet;

use std::time::{Duration, Instant};

use futures::FutureExt;
use futures::future::LocalBoxFuture;
use serde::Serialize;

use crate::scenario::{Action, StepOutcome, StepPlan};
use crate::topology::Lab;

pub use counters::{CounterError, RuleCounter, read_counters, same_rule};
pub use listening::listening;
pub use program::{ProgramError, locate};

/// What a step did, for checks and the report.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct StepResult {
    pub host: String,
    /// One line saying what the step is, e.g. `telnet server:21`.
    pub title: String,
    pub outcome: StepOutcome,
    pub expected: StepOutcome,
    /// What the client or program said, in a few words (`connection refused`, `exit 1`).
    pub detail: String,
    /// Bytes sent and received by a client.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sent: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub received: String,
    /// Output of a program.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub stdout: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub stderr: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// A protocol client's session, line by line (`-> sent`, `<- received`, `== note`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transcript: Vec<String>,
    #[serde(
        serialize_with = "crate::text::millis",
        deserialize_with = "crate::text::de_millis"
    )]
    pub took: Duration,
    /// Scenario line of the step.
    pub line: usize,
}

impl StepResult {
    pub fn passed(&self) -> bool {
        self.outcome == self.expected
    }

    /// The bytes the step moved, one labelled line each after its transcript (`sent`,
    /// `received`, `stdout`, `stderr`, the text quoted), the empty ones left out.
    pub fn streams(&self) -> impl Iterator<Item = String> + '_ {
        [
            ("sent", &self.sent),
            ("received", &self.received),
            ("stdout", &self.stdout),
            ("stderr", &self.stderr),
        ]
        .into_iter()
        .filter(|(_, text)| !text.is_empty())
        .map(|(label, text)| format!("{label:<8} {}", crate::text::quote(text.as_bytes())))
    }
}

/// A step kind's drive function: runs the step inside its host, filling in the result.
type Drive = for<'a> fn(
    &'a Lab,
    &'a StepPlan,
    &'a mut StepResult,
) -> LocalBoxFuture<'a, Result<(), ProgramError>>;

/// How one kind of step is driven: the drive side of the step registry
/// (`scenario::parse::steps`), one row per key of its table, matched by `StepPlan::kind`.
pub struct DriveKind {
    /// The key of the kind, as the scenario's registry names it.
    pub kind: &'static str,
    drive: Drive,
}

/// Every step kind's drive function. The protocol clients and the network steps share one
/// function per family, which matches on the step's action.
pub const DRIVE_KINDS: &[DriveKind] = &[
    DriveKind {
        kind: "telnet",
        drive: |lab, step, result| telnet::drive(lab, step, result).boxed_local(),
    },
    DriveKind {
        kind: "iptables",
        drive: |lab, step, result| program::iptables(lab, step, result).boxed_local(),
    },
    DriveKind {
        kind: "exec",
        drive: |lab, step, result| program::exec(lab, step, result).boxed_local(),
    },
    DriveKind {
        kind: "wait",
        drive: |_, step, _| wait(step).boxed_local(),
    },
    DriveKind {
        kind: "ftp",
        drive: |lab, step, result| protocol::drive(lab, step, result).boxed_local(),
    },
    DriveKind {
        kind: "smtp",
        drive: |lab, step, result| protocol::drive(lab, step, result).boxed_local(),
    },
    DriveKind {
        kind: "http",
        drive: |lab, step, result| protocol::drive(lab, step, result).boxed_local(),
    },
    DriveKind {
        kind: "dns",
        drive: |lab, step, result| protocol::drive(lab, step, result).boxed_local(),
    },
    DriveKind {
        kind: "udp",
        drive: |lab, step, result| net::drive(lab, step, result).boxed_local(),
    },
    DriveKind {
        kind: "traceroute",
        drive: |lab, step, result| net::drive(lab, step, result).boxed_local(),
    },
    DriveKind {
        kind: "route",
        drive: |lab, step, result| net::drive(lab, step, result).boxed_local(),
    },
    DriveKind {
        kind: "link",
        drive: |lab, step, result| net::drive(lab, step, result).boxed_local(),
    },
    DriveKind {
        kind: "host_gone",
        drive: |lab, step, result| net::drive(lab, step, result).boxed_local(),
    },
    DriveKind {
        kind: "announce",
        drive: |lab, step, result| net::drive(lab, step, result).boxed_local(),
    },
    DriveKind {
        kind: "sysctl",
        drive: |lab, step, result| net::drive(lab, step, result).boxed_local(),
    },
    DriveKind {
        kind: "listening",
        drive: |lab, step, result| net::drive(lab, step, result).boxed_local(),
    },
    DriveKind {
        kind: "craft",
        drive: |lab, step, result| craft::drive(lab, step, result).boxed_local(),
    },
    DriveKind {
        kind: "ping",
        drive: |lab, step, result| ping::drive(lab, step, result).boxed_local(),
    },
    DriveKind {
        kind: "dhcp",
        drive: |lab, step, result| dhcp::drive(lab, step, result).boxed_local(),
    },
];

/// What a drive function says when given a step of another kind, which [`run_step`] never
/// does (it picks the row by the step's kind).
pub(super) const ROUTED: &str = "the drive table routes only its own kind here";

/// `wait = "DURATION"`.
async fn wait(step: &StepPlan) -> Result<(), ProgramError> {
    let Action::Wait(duration) = &step.action else {
        unreachable!("{ROUTED}")
    };
    tokio::time::sleep(*duration).await;
    Ok(())
}

/// Runs one step inside its host, by the row of [`DRIVE_KINDS`] of its kind.
pub async fn run_step(lab: &Lab, step: &StepPlan) -> Result<StepResult, ProgramError> {
    let host = lab.host(step.host);
    let started = Instant::now();
    let mut result = StepResult {
        host: host.name.clone(),
        title: step.title.clone(),
        outcome: StepOutcome::Ok,
        expected: step.expect,
        detail: String::new(),
        sent: String::new(),
        received: String::new(),
        stdout: String::new(),
        stderr: String::new(),
        exit_code: None,
        transcript: Vec::new(),
        took: Duration::ZERO,
        line: step.line,
    };
    let row = DRIVE_KINDS
        .iter()
        .find(|d| d.kind == step.kind)
        .expect("every step kind has a drive row (unit-tested)");
    (row.drive)(lab, step, &mut result).await?;
    result.took = started.elapsed();
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::DRIVE_KINDS;

    #[test]
    fn every_step_kind_has_one_drive_row_and_every_row_a_kind() {
        let kinds: Vec<&str> = crate::scenario::step_kinds().collect();
        let drives: Vec<&str> = DRIVE_KINDS.iter().map(|d| d.kind).collect();
        assert_eq!(
            kinds, drives,
            "the scenario's and the drive's tables differ"
        );
    }
}
