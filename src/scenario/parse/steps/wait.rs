//! `wait = "DURATION"`: a pause the lesson needs (a timer to expire, for example).

use super::{Input, Parsed, StepKind, command_outcomes};
use crate::scenario::parse::parse_duration;
use crate::scenario::{Action, ScenarioError, StepOutcome};

pub(in crate::scenario::parse) const KIND: StepKind = StepKind {
    key: "wait",
    usage: "wait = \"DURATION\"",
    takes: &[],
    hostless: true,
    parse,
};

fn parse(input: &Input) -> Result<Parsed, ScenarioError> {
    let wait = input.raw.wait.as_ref().expect("the kind's key is set");
    let duration = parse_duration(input.cx, wait)?;
    Ok(Parsed {
        action: Action::Wait(duration),
        default: StepOutcome::Ok,
        outcomes: command_outcomes(),
        title: format!("wait {}", crate::text::human_duration(duration)),
        programs: Vec::new(),
    })
}
