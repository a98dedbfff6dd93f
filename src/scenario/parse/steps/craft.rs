//! `craft = "bogus-ip-version > HOST"`: frames labctl builds itself and sends through
//! libpcap, as `announce` does, for the attacks no Debian program makes (the document's
//! "Bogus IPv4 version").
//!
//! Contract: the target is a host on one of the step host's own subnets, resolved here to
//! both link ends, so the frames go straight to it and never leave the link.

use super::{Input, Parsed, StepKind, command_outcomes};
use crate::scenario::{Action, CraftAction, CraftKind, ScenarioError, StepOutcome};

pub(in crate::scenario::parse) const KIND: StepKind = StepKind {
    key: "craft",
    usage: "craft = \"bogus-ip-version > HOST\"",
    takes: &[],
    hostless: false,
    parse,
};

const KINDS: &[(&str, CraftKind)] = &[("bogus-ip-version", CraftKind::BogusIpVersion)];

fn parse(input: &Input) -> Result<Parsed, ScenarioError> {
    let (cx, resolver) = (input.cx, input.resolver);
    let craft = input.raw.craft.as_ref().expect("the kind's key is set");
    let inner = cx.inner(craft);
    let text = craft.get_ref();
    let hint = "craft = \"bogus-ip-version > server\": what to build, then the host on the same link it goes to";
    let Some((what, target)) = text.split_once('>') else {
        return Err(cx.bad(craft, "craft step", hint));
    };
    let (what, target) = (what.trim(), target.trim());
    let Some((_, kind)) = KINDS.iter().find(|(k, _)| *k == what) else {
        let known: Vec<&str> = KINDS.iter().map(|(k, _)| *k).collect();
        let at = inner.start + text.find(what).unwrap_or(0);
        return Err(cx
            .err(
                at..at + what.len().max(1),
                format!("unknown craft {what:?}"),
            )
            .with_hint(format!("craft builds: {}", known.join(", "))));
    };
    let at = inner.start + text.rfind(target).unwrap_or(0);
    let target_id = resolver.host(target, at..at + target.len().max(1))?;
    let host = resolver
        .hosts()
        .iter()
        .position(|h| h.name == input.host_name);
    let ends: Vec<_> = resolver
        .links()
        .iter()
        .flat_map(|l| l.ends.iter())
        .filter(|e| e.addr.is_some())
        .collect();
    // A pair of ends, one of each host, whose addresses share a subnet: one link, or one switch.
    let pair = ends.iter().filter(|a| Some(a.host) == host).find_map(|a| {
        let ca = a.addr.expect("filtered");
        ends.iter()
            .filter(|b| b.host == target_id)
            .find(|b| same_subnet(ca, b.addr.expect("filtered").addr))
            .map(|b| (a.iface.clone(), (*b).clone()))
    });
    let Some((iface, end)) = pair else {
        return Err(cx
            .err(
                at..at + target.len().max(1),
                format!("{target} is on no subnet of {}", input.host_name),
            )
            .with_hint("crafted frames go to a host on the same link or switch"));
    };
    Ok(Parsed {
        title: format!("craft {what} > {target}"),
        action: Action::Craft(CraftAction {
            what: *kind,
            iface,
            target: target_id,
            target_iface: end.iface.clone(),
            target_addr: end.addr.expect("filtered").addr,
        }),
        default: StepOutcome::Ok,
        outcomes: command_outcomes(),
        programs: Vec::new(),
    })
}

/// Whether `addr` is in the subnet of `cidr`.
fn same_subnet(cidr: crate::scenario::Cidr, addr: std::net::IpAddr) -> bool {
    match (cidr.addr, addr) {
        (std::net::IpAddr::V4(a), std::net::IpAddr::V4(b)) => {
            let mask = u32::MAX
                .checked_shl(32 - u32::from(cidr.prefix))
                .unwrap_or(0);
            u32::from(a) & mask == u32::from(b) & mask
        }
        _ => false,
    }
}
