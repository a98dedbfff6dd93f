//! `telnet = "HOST:PORT"`: the telnet-style client (connect, send, half-close, read until the
//! server closes), or with `dialogue` a telnet session typed line by line.

use super::{Input, Parsed, StepKind};
use crate::scenario::parse::{DEFAULT_CONNECT_TIMEOUT, net, parse_target, protocol};
use crate::scenario::{Action, ScenarioError, StepOutcome};

pub(in crate::scenario::parse) const KIND: StepKind = StepKind {
    key: "telnet",
    usage: "telnet = \"HOST:PORT\"",
    takes: &[
        "send",
        "expect_reply",
        "syns",
        "dialogue",
        "banner",
        "follow_pasv",
    ],
    hostless: false,
    parse,
};

fn parse(input: &Input) -> Result<Parsed, ScenarioError> {
    let (cx, raw) = (input.cx, input.raw);
    // With a dialogue the session is a protocol client's; without one, the dialogue's keys
    // are refused there.
    if let Some(parsed) = protocol::client(input)? {
        if let Some(syns) = &raw.syns {
            return Err(cx
                .err(syns.span(), "syns does not go with this action")
                .with_hint("syns = N goes with telnet: the step ends as the N-th SYN leaves"));
        }
        return Ok(parsed);
    }
    let target = raw.telnet.as_ref().expect("the kind's key is set");
    let (syns, timeout) = net::syns(cx, raw, input.timeout, DEFAULT_CONNECT_TIMEOUT)?;
    let target = parse_target(cx, target, input.resolver)?;
    Ok(Parsed {
        title: format!("telnet {}", target.text),
        action: Action::Telnet {
            target,
            send: raw.send.clone().unwrap_or_default(),
            expect_reply: raw.expect_reply.clone(),
            syns,
            timeout,
        },
        default: StepOutcome::Connected,
        outcomes: StepOutcome::CLIENT.to_vec(),
        programs: Vec::new(),
    })
}
