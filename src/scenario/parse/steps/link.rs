//! `link = "IFACE down"` or `"IFACE up"`: take an interface of the host down or bring it up.

use super::{Input, Parsed, StepKind, command_outcomes};
use crate::scenario::{Action, NetAction, ScenarioError, StepOutcome};

pub(in crate::scenario::parse) const KIND: StepKind = StepKind {
    key: "link",
    usage: "link",
    takes: &[],
    hostless: false,
    parse,
};

fn parse(input: &Input) -> Result<Parsed, ScenarioError> {
    let cx = input.cx;
    let link = input.raw.link.as_ref().expect("the kind's key is set");
    let words: Vec<&str> = link.get_ref().split_whitespace().collect();
    let up = match words.as_slice() {
        [_, "up"] => true,
        [_, "down"] => false,
        _ => {
            return Err(cx
                .err(cx.inner(link), format!("bad link {:?}", link.get_ref()))
                .with_hint("link = \"IFACE down\" or \"IFACE up\""));
        }
    };
    let iface = words[0].to_string();
    let state = if up { "up" } else { "down" };
    Ok(Parsed {
        title: format!("ip link set {iface} {state}"),
        action: Action::Net(NetAction::Link { iface, up }),
        default: StepOutcome::Ok,
        outcomes: command_outcomes(),
        programs: Vec::new(),
    })
}
