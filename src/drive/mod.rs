//! Steps: the clients and commands of a scenario, driven in order.
//!
//! Contract: [`run_step`] never fails the run for what the network did. A refused connection,
//! a timeout or a program exiting 1 are outcomes, recorded in the [`StepResult`] and judged by
//! the checks; only a problem of labctl's own (no namespace, the program is not installed)
//! is an error.

mod counters;
mod listening;
mod net;
mod program;
mod protocol;
mod telnet;

use std::time::{Duration, Instant};

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
}

/// Runs one step inside its host.
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
    match &step.action {
        Action::Telnet {
            target,
            send,
            expect_reply,
            syns,
            timeout,
        } => {
            let t = telnet::run(host, target, send.as_bytes(), *syns, *timeout).await;
            result.outcome = t.outcome;
            result.detail = t.detail;
            result.sent = String::from_utf8_lossy(&t.sent).into_owned();
            result.received = String::from_utf8_lossy(&t.received).into_owned();
            if let Some(reply) = expect_reply {
                if result.outcome == StepOutcome::Connected
                    && !result.received.contains(reply.as_str())
                {
                    // The connection worked but the dialogue did not: a failed step.
                    result.outcome = StepOutcome::Failed;
                    result.detail = format!("the reply does not contain {reply:?}");
                }
            }
        }
        Action::Iptables(rule) => {
            let argv: Vec<String> = std::iter::once("iptables".to_string())
                .chain(rule.argv())
                .collect();
            let input = program::Input::none();
            program::run(host, &argv, Duration::from_secs(10), &mut result, input).await?;
        }
        Action::Exec {
            argv,
            timeout,
            stdin,
            hold_stdin,
            signal,
        } => {
            let input = program::Input {
                bytes: stdin,
                hold: *hold_stdin,
                signal: *signal,
            };
            program::run(host, argv, *timeout, &mut result, input).await?;
        }
        Action::Protocol(protocol_step) => protocol::run(host, protocol_step, &mut result).await,
        Action::Net(action) => net::run(lab, step.host, action, &mut result).await?,
        Action::Wait(duration) => tokio::time::sleep(*duration).await,
    }
    result.took = started.elapsed();
    Ok(result)
}
