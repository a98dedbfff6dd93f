//! What the student's rules do to the lab's own connection, compared with what the reference
//! rule does: the rule checks judge meaning, not spelling.
//!
//! Contract: [`RuleMeaning::new`] builds the student's rule set from the iptables lines the
//! lab applied (interfaces already mapped onto the lab's), walks the lab's connection (the
//! rubric's `lab-conversation`, else the reference's port from the host across the
//! reference's link) through the reference's table and chain, and through the hooks the
//! connection's packets pass after it (raw, mangle, filter; the first packet, the client's
//! later packets and the server's replies). [`RuleMeaning::effect`] is where the connection
//! ends up; [`RuleMeaning::blocked`] names a DROP, REJECT or DROP policy on its path.
//!
//! Invariants: pure; the lab run stays the authority on whether the rules work (score.rs
//! never fails a rule check with a reason this module contradicts the run with).

use std::net::{IpAddr, Ipv4Addr};

use crate::rules::eval::{Decision, Mismatch, Packet, Ruleset, Walk, why_not};
use crate::rules::{
    BuiltinChain, Chain, Command, ConnState, Policy, PortRange, Protocol, Rule, RuleSpec, Table,
    Target, TcpFlags,
};

use super::rubric::{Kind, Rubric, RulesSpec, split_conversation};

/// Where the lab's connection ends up after the nat table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// No NAT: it goes to the address and port the client asked for.
    Untouched,
    /// To this host, on this port.
    Local(u16),
    /// To another address.
    Elsewhere(Ipv4Addr, u16),
    /// Dropped or rejected in the nat table by the rule on this line.
    Dropped(usize),
}

/// The student's rule set and what it does to the lab's connection.
pub struct RuleMeaning {
    pub set: Ruleset,
    pub table: Table,
    pub chain: BuiltinChain,
    /// The lab connection's first packet as the reference's chain sees it.
    pub packet: Packet,
    /// The walk of that packet through the student's rules.
    pub walk: Walk,
    pub effect: Effect,
    /// The reference rule's effect.
    pub want: Effect,
    /// A rule or policy that drops the connection's packets after NAT: (line, where).
    pub blocked: Option<(Option<usize>, String)>,
}

impl RuleMeaning {
    /// `rules` are the lab's applied rules, (commands.sh line, rule), in order.
    pub fn new(rubric: &Rubric, spec: &RulesSpec, rules: &[(usize, Rule)]) -> Option<RuleMeaning> {
        let table = spec.reference.table();
        let chain = spec.reference.chain()?.builtin()?;
        let packet = lab_packet(rubric, spec)?;
        let own = own_addresses(rubric, spec);
        let mut reference = Ruleset::new();
        reference.apply(&spec.reference, 0).ok()?;
        let want = effect(&reference.walk(table, chain, &packet), &packet, &own);
        let mut set = Ruleset::new();
        for (line, rule) in rules {
            // What iptables refused in the lab is not in its rule set either.
            let _ = set.apply(rule, *line);
        }
        let walk = set.walk(table, chain, &packet);
        let effect = effect(&walk, &packet, &own);
        let blocked = match effect {
            Effect::Local(port) if chain == BuiltinChain::Prerouting => {
                blocked(&set, &packet, port)
            }
            _ => None,
        };
        Some(RuleMeaning {
            set,
            table,
            chain,
            packet,
            walk,
            effect,
            want,
            blocked,
        })
    }

    /// The line of the student's rule that gave the connection its NAT, if one did.
    pub fn fired(&self) -> Option<(usize, &Target)> {
        match &self.walk.decision {
            Decision::Rule { line, target } => Some((*line, target)),
            Decision::Policy(_) => None,
        }
    }

    /// The rule on `line` as it sits in the set.
    pub fn entry(&self, line: usize) -> Option<(&str, &RuleSpec)> {
        self.set_chains()
            .find(|(_, l, _)| *l == line)
            .map(|(c, _, s)| (c, s))
    }

    fn set_chains(&self) -> impl Iterator<Item = (&str, usize, &RuleSpec)> {
        self.walk.chains.iter().flat_map(move |c| {
            self.set
                .chain(self.table, c)
                .unwrap_or(&[])
                .iter()
                .map(move |e| (c.as_str(), e.line, &e.spec))
        })
    }

    /// What else than the lab's connection the rule on `line` catches, compared with the
    /// reference: "also port 20", "every TCP port", "UDP too".
    pub fn broader(&self, reference: &Rule, line: usize) -> Option<String> {
        let (_, spec) = self.entry(line)?;
        let mut also = Vec::new();
        if spec.protocol.is_none() {
            also.push("every protocol, not only TCP".to_string());
        }
        let want: Vec<PortRange> = reference.dports().iter().map(|n| n.value).collect();
        let got = Rule {
            table: reference.table(),
            command: Command::Append {
                chain: Chain::Builtin(BuiltinChain::Prerouting),
                spec: spec.clone(),
            },
        }
        .dports();
        if got.is_empty() && !want.is_empty() {
            also.push("every port, not only the one the client uses".into());
        } else if got.iter().all(|n| !n.negated) {
            let extra: Vec<String> = got
                .iter()
                .filter(|n| !want.contains(&n.value))
                .map(|n| n.value)
                .map(|r| match r.first == r.last {
                    true => r.first.to_string(),
                    false => {
                        let others: Vec<String> = (r.first..=r.last)
                            .filter(|p| !want.iter().any(|w| w.contains(*p)))
                            .take(3)
                            .map(|p| p.to_string())
                            .collect();
                        if r.last - r.first > 3 {
                            format!("{}:{}", r.first, r.last)
                        } else {
                            others.join(", ")
                        }
                    }
                })
                .filter(|s| !s.is_empty())
                .collect();
            if !extra.is_empty() {
                also.push(format!("port {}", extra.join(", ")));
            }
        }
        (!also.is_empty()).then(|| format!("it also catches {}", also.join(" and ")))
    }

    /// Why the reference's packet does not match the rule on `line`, if it does not.
    pub fn mismatch(&self, spec: &RuleSpec) -> Option<Mismatch> {
        why_not(spec, &self.packet)
    }
}

/// The lab's connection: the rubric's `lab-conversation` (client > server:port), else the
/// reference's first destination port from the first host linked to the rules' host.
fn lab_packet(rubric: &Rubric, spec: &RulesSpec) -> Option<Packet> {
    let plan = &rubric.plan;
    let conv = rubric.checks.iter().find_map(|c| match &c.kind {
        Kind::LabConversation { conversation, .. } => split_conversation(conversation),
        _ => None,
    });
    let dport = match conv {
        Some((_, _, port)) => port,
        None => spec.reference.dports().first()?.value.first,
    };
    let client = conv.and_then(|(c, _, _)| plan.host_id(c));
    let link = plan.links.iter().find(|l| {
        l.ends.iter().any(|e| e.host == spec.host)
            && client.is_none_or(|c| l.ends.iter().any(|e| e.host == c))
    })?;
    let (server_end, client_end) = if link.ends[0].host == spec.host {
        (&link.ends[0], &link.ends[1])
    } else {
        (&link.ends[1], &link.ends[0])
    };
    let v4 = |e: &crate::scenario::LinkEnd| match e.addr.map(|c| c.addr) {
        Some(IpAddr::V4(a)) => Some(a),
        _ => None,
    };
    let proto = match &spec.reference.spec()?.protocol {
        Some(n) if !n.negated => n.value,
        _ => Protocol::Tcp,
    };
    Some(Packet {
        proto,
        src: v4(client_end)?,
        dst: v4(server_end)?,
        sport: 40000,
        dport,
        in_iface: Some(server_end.iface.clone()),
        out_iface: None,
        state: ConnState::New,
        flags: TcpFlags::SYN,
    })
}

fn own_addresses(rubric: &Rubric, spec: &RulesSpec) -> Vec<Ipv4Addr> {
    let mut own: Vec<Ipv4Addr> = rubric
        .plan
        .links
        .iter()
        .flat_map(|l| l.ends.iter())
        .filter(|e| e.host == spec.host)
        .filter_map(|e| match e.addr.map(|c| c.addr) {
            Some(IpAddr::V4(a)) => Some(a),
            _ => None,
        })
        .collect();
    own.push(Ipv4Addr::LOCALHOST);
    own
}

fn effect(walk: &Walk, p: &Packet, own: &[Ipv4Addr]) -> Effect {
    let Decision::Rule { line, target } = &walk.decision else {
        return Effect::Untouched;
    };
    match target {
        Target::Redirect { to_ports } => Effect::Local(to_ports.map_or(p.dport, |r| r.first)),
        Target::Dnat { to } => {
            let addr = to.addrs.map_or(p.dst, |(a, _)| a);
            let port = to.ports.map_or(p.dport, |r| r.first);
            // DNAT to 127.0.0.1 from outside is dropped as a martian (no route_localnet).
            if own.contains(&addr) && !addr.is_loopback() {
                Effect::Local(port)
            } else {
                Effect::Elsewhere(addr, port)
            }
        }
        Target::Drop | Target::Reject { .. } => Effect::Dropped(*line),
        _ => Effect::Untouched,
    }
}

/// The first DROP, REJECT or DROP policy the connection's packets meet after NAT sent them to
/// `port` on this host.
fn blocked(set: &Ruleset, syn: &Packet, port: u16) -> Option<(Option<usize>, String)> {
    let natted = Packet {
        dport: port,
        ..syn.clone()
    };
    let est = |p: &Packet| Packet {
        state: ConnState::Established,
        flags: TcpFlags::ACK,
        ..p.clone()
    };
    let reply = Packet {
        src: syn.dst,
        dst: syn.src,
        sport: port,
        dport: syn.sport,
        in_iface: None,
        out_iface: syn.in_iface.clone(),
        state: ConnState::Established,
        flags: TcpFlags::SYN | TcpFlags::ACK,
        ..syn.clone()
    };
    use BuiltinChain::*;
    let path: [(Table, BuiltinChain, &Packet, &str); 11] = [
        (Table::Raw, Prerouting, syn, "the client's first packet"),
        (Table::Mangle, Prerouting, syn, "the client's first packet"),
        (Table::Mangle, Input, &natted, "the client's first packet"),
        (Table::Filter, Input, &natted, "the client's first packet"),
        (
            Table::Raw,
            Prerouting,
            &est(syn),
            "the client's later packets",
        ),
        (
            Table::Mangle,
            Prerouting,
            &est(syn),
            "the client's later packets",
        ),
        (
            Table::Mangle,
            Input,
            &est(&natted),
            "the client's later packets",
        ),
        (
            Table::Filter,
            Input,
            &est(&natted),
            "the client's later packets",
        ),
        (Table::Raw, Output, &reply, "the server's replies"),
        (Table::Mangle, Output, &reply, "the server's replies"),
        (Table::Filter, Output, &reply, "the server's replies"),
    ];
    path.into_iter().find_map(|(table, chain, p, what)| {
        let w = set.walk(table, chain, p);
        let at = format!("{} {}", table.name(), w.chains.join(" > "));
        match w.decision {
            Decision::Rule {
                line,
                target: t @ (Target::Drop | Target::Reject { .. }),
            } => Some((
                Some(line),
                format!(
                    "{} {what} in {at}",
                    if t == Target::Drop {
                        "drops"
                    } else {
                        "rejects"
                    }
                ),
            )),
            Decision::Policy(Policy::Drop) => Some((
                None,
                format!(
                    "the DROP policy of {} {} drops {what}",
                    table.name(),
                    chain.name()
                ),
            )),
            _ => None,
        }
    })
}
