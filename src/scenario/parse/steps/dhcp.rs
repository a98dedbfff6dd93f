//! `dhcp = "IFACE"`: the built-in DHCP client gets a lease on the interface (DISCOVER, OFFER,
//! REQUEST, ACK, then an ARP probe for the address) and applies it; `"IFACE renew"` renews
//! it with the server that gave it, `"IFACE release"` gives it back, `"IFACE decline"` tells
//! the server the address is in use. Outcome `ok` or `failed` (no offer, a NAK, no lease to
//! renew).

use super::{Input, Parsed, StepKind, command_outcomes};
use crate::scenario::{Action, DhcpOp, ScenarioError, StepOutcome};

pub(in crate::scenario::parse) const KIND: StepKind = StepKind {
    key: "dhcp",
    usage: "dhcp = \"IFACE\"",
    takes: &[],
    hostless: false,
    parse,
};

fn parse(input: &Input) -> Result<Parsed, ScenarioError> {
    let cx = input.cx;
    let raw = input.raw.dhcp.as_ref().expect("the kind's key is set");
    let words: Vec<&str> = raw.get_ref().split_whitespace().collect();
    let op = match words.as_slice() {
        [_] => DhcpOp::Lease,
        [_, "renew"] => DhcpOp::Renew,
        [_, "release"] => DhcpOp::Release,
        [_, "decline"] => DhcpOp::Decline,
        _ => {
            return Err(cx
                .err(cx.inner(raw), format!("bad dhcp step {:?}", raw.get_ref()))
                .with_hint(
                    "dhcp = \"IFACE\", \"IFACE renew\", \"IFACE release\" or \"IFACE decline\"",
                ));
        }
    };
    let iface = words[0].to_string();
    let title = match op {
        DhcpOp::Lease => format!("dhcp client on {iface}"),
        DhcpOp::Renew => format!("dhcp renew on {iface}"),
        DhcpOp::Release => format!("dhcp release on {iface}"),
        DhcpOp::Decline => format!("dhcp decline on {iface}"),
    };
    Ok(Parsed {
        title,
        action: Action::Dhcp {
            iface,
            op,
            timeout: input.timeout,
        },
        default: StepOutcome::Ok,
        outcomes: command_outcomes(),
        programs: Vec::new(),
    })
}
