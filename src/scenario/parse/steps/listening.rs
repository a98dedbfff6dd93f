//! `listening = "tcp:PORT"`: the host's listening TCP sockets, as `ss -ltn` lists them; the
//! step is `ok` when one listens on the port.

use super::{Input, Parsed, StepKind, command_outcomes};
use crate::scenario::parse::{net, tcp_port};
use crate::scenario::{Action, NetAction, ScenarioError, StepOutcome};

pub(in crate::scenario::parse) const KIND: StepKind = StepKind::plain("listening", &[], parse);

fn parse(input: &Input) -> Result<Parsed, ScenarioError> {
    let listening = input.raw.listening.as_ref().expect("the kind's key is set");
    let port = tcp_port(
        input.cx,
        listening,
        "listening",
        "listening = \"tcp:1234\": passes when a socket listens on that port",
    )?;
    let action = NetAction::Listening { port };
    Ok(Parsed {
        title: net::title(&action, input.host_name),
        action: Action::Net(action),
        default: StepOutcome::Ok,
        outcomes: command_outcomes(),
        programs: Vec::new(),
    })
}
