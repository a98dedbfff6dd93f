//! What a set of iptables rules does to one packet: the rule set built command by command
//! (`-N`, `-A`, `-I` at a position, `-D`, `-P`, `-F`, `-X`) and a packet walked through a
//! built-in chain as the kernel does it: rules in order, jumps into user chains, `RETURN`,
//! non-terminating targets (LOG, no `-j`), and the chain's policy at the end.
//!
//! Contract: [`Ruleset::apply`] refuses what iptables refuses in the same state (a jump to a
//! chain that does not exist, `-X` of a chain still referenced, a position past the end), so
//! a rule set built from the commands iptables accepted is the kernel's. [`Ruleset::walk`]
//! returns the [`Decision`] and every chain and line it passed; [`why_not`] says in words
//! which condition of a rule a packet fails. Matches are sets: protocols, port ranges and
//! `multiport` lists, address prefixes, interfaces with a `+` wildcard, `!` negations,
//! `state`/`conntrack` states, TCP flags.
//!
//! Invariants: pure (nothing here touches a kernel); a walk ends (jump depth is bounded, as
//! the kernel refuses loops).

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use super::{
    BuiltinChain, Command, ConnState, Iface, Match, Neg, Policy, PortDirection, Protocol, Rule,
    RuleSpec, Table, Target,
};

/// The deepest chain of jumps followed; iptables refuses loops, so this is only a guard.
const MAX_DEPTH: usize = 32;

/// One packet as the rules see it at one hook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    pub proto: Protocol,
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub sport: u16,
    pub dport: u16,
    pub in_iface: Option<String>,
    pub out_iface: Option<String>,
    /// The connection tracking state of the packet.
    pub state: ConnState,
    /// TCP flags set (for `--syn`, `--tcp-flags`).
    pub flags: u8,
}

#[cfg(test)]
impl Packet {
    /// What the tests walk: a new connection's SYN from 10.0.0.1:40000 to 10.0.0.2, in eth0.
    pub(crate) fn test_syn(dport: u16) -> Packet {
        Packet {
            proto: Protocol::Tcp,
            src: "10.0.0.1".parse().unwrap(),
            dst: "10.0.0.2".parse().unwrap(),
            sport: 40000,
            dport,
            in_iface: Some("eth0".into()),
            out_iface: None,
            state: ConnState::New,
            flags: super::TcpFlags::SYN,
        }
    }
}

/// A rule as it sits in a chain, with the line of the command that put it there.
#[derive(Debug, Clone)]
pub struct Entry {
    pub line: usize,
    pub spec: RuleSpec,
}

/// What a walk ended with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// A terminating target of a rule on `line` (ACCEPT, DROP, REJECT, REDIRECT, DNAT ...).
    Rule { line: usize, target: Target },
    /// No rule decided: the built-in chain's policy.
    Policy(Policy),
}

/// A walk: the decision and the path to it.
#[derive(Debug, Clone)]
pub struct Walk {
    pub decision: Decision,
    /// The chains entered, in order (the built-in chain first).
    pub chains: Vec<String>,
    /// The lines of the rules that matched, in order (jumps, LOG, the deciding rule).
    pub matched: Vec<usize>,
}

/// Every table's chains and policies.
#[derive(Debug, Clone, Default)]
pub struct Ruleset {
    chains: BTreeMap<(&'static str, String), Vec<Entry>>,
    policies: BTreeMap<(&'static str, &'static str), Policy>,
}

impl Ruleset {
    pub fn new() -> Ruleset {
        let mut r = Ruleset::default();
        for table in [Table::Filter, Table::Nat, Table::Mangle, Table::Raw] {
            for chain in table.builtin_chains() {
                r.chains
                    .insert((table.name(), chain.name().to_string()), Vec::new());
            }
        }
        r
    }

    /// The rules of a chain, if it exists.
    pub fn chain(&self, table: Table, chain: &str) -> Option<&[Entry]> {
        self.chains
            .get(&(table.name(), chain.to_string()))
            .map(Vec::as_slice)
    }

    /// Applies one command as iptables would; `Err` when iptables would refuse it.
    pub fn apply(&mut self, rule: &Rule, line: usize) -> Result<(), String> {
        let t = rule.table().name();
        let exists = |s: &Self, c: &str| s.chains.contains_key(&(t, c.to_string()));
        let jump_ok = |s: &Self, spec: &RuleSpec| match &spec.target {
            Some(Target::Jump(c)) => exists(s, c.as_str()),
            _ => true,
        };
        match rule.command() {
            Command::Append { chain, spec } | Command::Insert { chain, spec, .. } => {
                if !exists(self, chain.name()) {
                    return Err(format!("no chain {} in {t}", chain.name()));
                }
                if !jump_ok(self, spec) {
                    return Err(format!("no chain {} to jump to", spec_target(spec)));
                }
                let entries = self
                    .chains
                    .get_mut(&(t, chain.name().to_string()))
                    .expect("checked");
                let entry = Entry {
                    line,
                    spec: spec.clone(),
                };
                match rule.command() {
                    Command::Insert { position, .. } => {
                        let at = position.unwrap_or(1) as usize - 1;
                        if at > entries.len() {
                            return Err("index of insertion too big".into());
                        }
                        entries.insert(at, entry);
                    }
                    _ => entries.push(entry),
                }
            }
            Command::Delete { chain, spec } => {
                let entries = self
                    .chains
                    .get_mut(&(t, chain.name().to_string()))
                    .ok_or("no such chain")?;
                let at = entries
                    .iter()
                    .position(|e| e.spec == *spec)
                    .ok_or("no such rule")?;
                entries.remove(at);
            }
            Command::DeleteNumber { chain, number } => {
                let entries = self
                    .chains
                    .get_mut(&(t, chain.name().to_string()))
                    .ok_or("no such chain")?;
                let at = *number as usize;
                if at == 0 || at > entries.len() {
                    return Err("index of deletion too big".into());
                }
                entries.remove(at - 1);
            }
            Command::Policy { chain, policy } => {
                self.policies.insert((t, chain.name()), *policy);
            }
            Command::NewChain { chain } => {
                if exists(self, chain.as_str()) {
                    return Err("chain already exists".into());
                }
                self.chains
                    .insert((t, chain.as_str().to_string()), Vec::new());
            }
            Command::Flush { chain } => {
                for ((table, name), entries) in self.chains.iter_mut() {
                    if *table == t && chain.as_ref().is_none_or(|c| c.name() == name) {
                        entries.clear();
                    }
                }
            }
            Command::DeleteChain { chain } => {
                let user: Vec<String> = self
                    .chains
                    .keys()
                    .filter(|(table, name)| {
                        *table == t
                            && BuiltinChain::from_name(name).is_none()
                            && chain.as_ref().is_none_or(|c| c.as_str() == name)
                    })
                    .map(|(_, n)| n.clone())
                    .collect();
                for name in user {
                    let referenced = self.chains.iter().any(|((table, _), entries)| {
                        *table == t
                            && entries.iter().any(|e| {
                                matches!(&e.spec.target, Some(Target::Jump(c)) if c.as_str() == name)
                            })
                    });
                    if referenced || !self.chains[&(t, name.clone())].is_empty() {
                        return Err(format!("chain {name} is in use or not empty"));
                    }
                    self.chains.remove(&(t, name));
                }
            }
        }
        Ok(())
    }

    /// The policy of a built-in chain (ACCEPT unless set).
    pub fn policy(&self, table: Table, chain: BuiltinChain) -> Policy {
        self.policies
            .get(&(table.name(), chain.name()))
            .copied()
            .unwrap_or(Policy::Accept)
    }

    /// Walks `packet` through a built-in chain of a table.
    pub fn walk(&self, table: Table, chain: BuiltinChain, packet: &Packet) -> Walk {
        let mut walk = Walk {
            decision: Decision::Policy(self.policy(table, chain)),
            chains: Vec::new(),
            matched: Vec::new(),
        };
        if let Some(d) = self.walk_chain(table, chain.name(), packet, 0, &mut walk) {
            walk.decision = d;
        }
        walk
    }

    fn walk_chain(
        &self,
        table: Table,
        chain: &str,
        packet: &Packet,
        depth: usize,
        walk: &mut Walk,
    ) -> Option<Decision> {
        walk.chains.push(chain.to_string());
        let entries = self.chain(table, chain)?;
        for e in entries {
            if why_not(&e.spec, packet).is_some() {
                continue;
            }
            walk.matched.push(e.line);
            match &e.spec.target {
                None | Some(Target::Log { .. }) => {}
                Some(Target::Return) => return None,
                Some(Target::Jump(c)) if depth < MAX_DEPTH => {
                    if let Some(d) = self.walk_chain(table, c.as_str(), packet, depth + 1, walk) {
                        return Some(d);
                    }
                }
                Some(Target::Jump(_)) => return None,
                Some(t) => {
                    return Some(Decision::Rule {
                        line: e.line,
                        target: t.clone(),
                    });
                }
            }
        }
        None
    }

    /// The rules that jump to `chain` in `table`, with the chain they sit in.
    pub fn jumps_to<'a>(
        &'a self,
        table: Table,
        chain: &'a str,
    ) -> impl Iterator<Item = (&'a str, &'a Entry)> + 'a {
        self.chains
            .iter()
            .filter(move |((t, _), _)| *t == table.name())
            .flat_map(|((_, name), entries)| entries.iter().map(move |e| (name.as_str(), e)))
            .filter(move |(_, e)| matches!(&e.spec.target, Some(Target::Jump(c)) if c.as_str() == chain))
    }

    /// Whether a chain of `table` is reached from the built-in `from` through jumps (taken or
    /// not): the chain itself, or a chain some rule of a reached chain jumps to.
    pub fn reachable(&self, table: Table, from: BuiltinChain, chain: &str) -> bool {
        let mut seen = vec![from.name().to_string()];
        let mut i = 0;
        while i < seen.len() {
            if seen[i] == chain {
                return true;
            }
            for e in self.chain(table, &seen[i].clone()).unwrap_or(&[]) {
                if let Some(Target::Jump(c)) = &e.spec.target
                    && !seen.iter().any(|s| s == c.as_str())
                {
                    seen.push(c.as_str().to_string());
                }
            }
            i += 1;
        }
        false
    }
}

fn spec_target(spec: &RuleSpec) -> &str {
    spec.target.as_ref().map_or("", Target::name)
}

fn iface_matches(pattern: &Iface, name: Option<&str>) -> bool {
    let Some(name) = name else {
        // A chain without that interface (no -o in PREROUTING): iptables matches an empty name.
        return pattern.as_str() == "+";
    };
    match pattern.as_str().strip_suffix('+') {
        Some(prefix) => name.starts_with(prefix),
        None => name == pattern.as_str(),
    }
}

fn neg<T>(n: &Neg<T>, holds: bool) -> bool {
    holds != n.negated
}

/// Why `spec` does not match `packet`, in words ("port 2121, but the packet goes to port
/// 21"); `None` when it matches.
pub fn why_not(spec: &RuleSpec, p: &Packet) -> Option<Mismatch> {
    if let Some(n) = &spec.protocol
        && !neg(n, n.value == p.proto)
    {
        return Some(Mismatch::Protocol);
    }
    if let Some(n) = &spec.source
        && !neg(n, n.value.contains(p.src))
    {
        return Some(Mismatch::Source);
    }
    if let Some(n) = &spec.destination
        && !neg(n, n.value.contains(p.dst))
    {
        return Some(Mismatch::Destination);
    }
    if let Some(n) = &spec.in_interface
        && !neg(n, iface_matches(&n.value, p.in_iface.as_deref()))
    {
        return Some(Mismatch::InInterface);
    }
    if let Some(n) = &spec.out_interface
        && !neg(n, iface_matches(&n.value, p.out_iface.as_deref()))
    {
        return Some(Mismatch::OutInterface);
    }
    for m in &spec.matches {
        let ports = |sport: &Option<Neg<super::PortRange>>,
                     dport: &Option<Neg<super::PortRange>>| {
            if let Some(n) = sport
                && !neg(n, n.value.contains(p.sport))
            {
                return Some(Mismatch::SourcePort);
            }
            if let Some(n) = dport
                && !neg(n, n.value.contains(p.dport))
            {
                return Some(Mismatch::DestinationPort);
            }
            None
        };
        let fails = match m {
            Match::Tcp(t) => {
                if p.proto != Protocol::Tcp {
                    Some(Mismatch::Protocol)
                } else if let Some(f) = &t.flags
                    && !neg(f, p.flags & f.value.mask == f.value.set)
                {
                    Some(Mismatch::Flags)
                } else {
                    ports(&t.sport, &t.dport)
                }
            }
            Match::Udp(u) => {
                if p.proto != Protocol::Udp {
                    Some(Mismatch::Protocol)
                } else {
                    ports(&u.sport, &u.dport)
                }
            }
            Match::Icmp(_) => (p.proto != Protocol::Icmp).then_some(Mismatch::Protocol),
            Match::Multiport(mp) => {
                let any = |port: u16| mp.ports.iter().any(|r| r.contains(port));
                let holds = match mp.direction {
                    PortDirection::Source => any(p.sport),
                    PortDirection::Destination => any(p.dport),
                    PortDirection::Either => any(p.sport) || any(p.dport),
                };
                (holds == mp.negated).then_some(match mp.direction {
                    PortDirection::Source => Mismatch::SourcePort,
                    _ => Mismatch::DestinationPort,
                })
            }
            Match::State(n) | Match::Conntrack(n) => {
                (!neg(n, n.value.contains(p.state))).then_some(Mismatch::State)
            }
        };
        if fails.is_some() {
            return fails;
        }
    }
    None
}

/// The condition of a rule a packet fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mismatch {
    Protocol,
    Source,
    Destination,
    InInterface,
    OutInterface,
    SourcePort,
    DestinationPort,
    Flags,
    State,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::parse_rule;

    fn set(lines: &[&str]) -> Ruleset {
        let mut r = Ruleset::new();
        for (i, l) in lines.iter().enumerate() {
            r.apply(&parse_rule(l).unwrap(), i + 1).unwrap();
        }
        r
    }

    fn syn(dport: u16) -> Packet {
        Packet::test_syn(dport)
    }

    fn decided(r: &Ruleset, p: &Packet) -> Option<usize> {
        match r.walk(Table::Nat, BuiltinChain::Prerouting, p).decision {
            Decision::Rule { line, .. } => Some(line),
            Decision::Policy(_) => None,
        }
    }

    #[test]
    fn ranges_lists_and_user_chains_match_as_sets() {
        let r = set(&["-t nat -A PREROUTING -p tcp --dport 20:21 -j REDIRECT --to-ports 27664"]);
        assert_eq!(decided(&r, &syn(21)), Some(1));
        assert_eq!(decided(&r, &syn(22)), None);
        let r = set(&[
            "-t nat -A PREROUTING -p tcp -m multiport --dports 25,587 -j REDIRECT --to-ports 25025",
        ]);
        assert_eq!(decided(&r, &syn(25)), Some(1));
        let r = set(&[
            "-t nat -N HOMEWORK",
            "-t nat -A PREROUTING -i eth+ -j HOMEWORK",
            "-t nat -A HOMEWORK -p tcp ! --dport 21 -j RETURN",
            "-t nat -A HOMEWORK -p tcp -j REDIRECT --to-ports 27664",
        ]);
        let w = r.walk(Table::Nat, BuiltinChain::Prerouting, &syn(21));
        assert_eq!(w.chains, ["PREROUTING", "HOMEWORK"]);
        assert!(matches!(w.decision, Decision::Rule { line: 4, .. }));
        assert_eq!(decided(&r, &syn(80)), None);
    }

    #[test]
    fn positions_deletes_flushes_and_refusals_follow_iptables() {
        let mut r = set(&[
            "-t nat -A PREROUTING -p tcp --dport 21 -j REDIRECT --to-ports 27664",
            "-t nat -I PREROUTING 1 -p tcp -j ACCEPT",
        ]);
        assert_eq!(decided(&r, &syn(21)), Some(2));
        r.apply(&parse_rule("-t nat -D PREROUTING 1").unwrap(), 3)
            .unwrap();
        assert_eq!(decided(&r, &syn(21)), Some(1));
        r.apply(&parse_rule("-t nat -F").unwrap(), 4).unwrap();
        assert_eq!(decided(&r, &syn(21)), None);
        assert!(
            r.apply(&parse_rule("-t nat -A PREROUTING -j NOPE").unwrap(), 5)
                .is_err()
        );
        assert!(
            r.apply(&parse_rule("-t nat -I PREROUTING 3 -j ACCEPT").unwrap(), 6)
                .is_err()
        );
        let mut f = set(&[
            "-P INPUT DROP",
            "-A INPUT -p tcp --syn -m state --state NEW -j ACCEPT",
        ]);
        let w = f.walk(Table::Filter, BuiltinChain::Input, &syn(21));
        assert!(matches!(w.decision, Decision::Rule { line: 2, .. }));
        f.apply(&parse_rule("-F INPUT").unwrap(), 3).unwrap();
        let w = f.walk(Table::Filter, BuiltinChain::Input, &syn(21));
        assert_eq!(w.decision, Decision::Policy(Policy::Drop));
    }
}
