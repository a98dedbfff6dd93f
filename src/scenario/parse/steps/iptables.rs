//! `iptables = "RULE"`: a rule applied during the steps, run as the `iptables` program's
//! argument vector inside the host.

use super::{Input, Parsed, StepKind, command_outcomes};
use crate::scenario::parse::parse_iptables;
use crate::scenario::{Action, ScenarioError, StepOutcome};

pub(in crate::scenario::parse) const KIND: StepKind = StepKind {
    key: "iptables",
    usage: "iptables = \"RULE\"",
    takes: &[],
    hostless: false,
    parse,
};

fn parse(input: &Input) -> Result<Parsed, ScenarioError> {
    let rule = input.raw.iptables.as_ref().expect("the kind's key is set");
    let rule = parse_iptables(input.cx, rule)?;
    Ok(Parsed {
        title: format!("iptables {rule}"),
        action: Action::Iptables(rule),
        default: StepOutcome::Ok,
        outcomes: command_outcomes(),
        programs: vec!["iptables".to_string()],
    })
}
