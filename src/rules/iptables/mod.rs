//! The typed iptables rule: what a parsed command means, and how it is written back. This file
//! holds the command and its chains; [`matches`](mod@matches) the addresses, protocols and `-m` modules,
//! [`target`] the `-j` targets, and [`render`] the argument vector and canonical text.
//!
//! Contract: a [`Rule`] is only built by [`parse_rule`](super::parse_rule), which has checked
//! everything iptables and the kernel would check for the supported subset, so applying
//! [`Rule::argv`] with the real `iptables` does not fail for a reason the parser could have
//! known. `Display` writes the canonical text: the order and spelling `iptables -S` uses
//! (`-s -d -i -o -p`, then the matches in the order given, then `-j`; numeric ports and ICMP
//! types; `/32` on addresses; the default `--reject-with`), always prefixed with `-t TABLE`.
//! So a rule and the line the kernel lists for it compare equal as text, and parsing the
//! canonical text gives back the same `Rule`.
//!
//! Invariants: `Rule`'s fields are private, so the only change after parsing is
//! [`Rule::rename_interface`], which swaps one valid name for another and cannot break any of
//! the checks above.

mod matches;
mod render;
mod target;

use std::fmt;

use super::iface::Iface;

pub use matches::{
    ConnState, ConnStates, IcmpMatch, IcmpType, Ipv4Net, Match, MultiportMatch, PortDirection,
    PortRange, Protocol, TcpFlags, TcpMatch, UdpMatch,
};
pub use target::{NatTo, RejectWith, Target};

/// An iptables table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Table {
    Filter,
    Nat,
    Mangle,
    Raw,
}

impl Table {
    pub const ALL: [Table; 4] = [Table::Filter, Table::Nat, Table::Mangle, Table::Raw];

    pub fn name(self) -> &'static str {
        match self {
            Table::Filter => "filter",
            Table::Nat => "nat",
            Table::Mangle => "mangle",
            Table::Raw => "raw",
        }
    }

    /// The built-in chains of this table, in the kernel's hook order.
    pub fn builtin_chains(self) -> &'static [BuiltinChain] {
        use BuiltinChain::*;
        match self {
            Table::Filter => &[Input, Forward, Output],
            Table::Nat => &[Prerouting, Input, Output, Postrouting],
            Table::Mangle => &[Prerouting, Input, Forward, Output, Postrouting],
            Table::Raw => &[Prerouting, Output],
        }
    }

    pub fn has_builtin(self, chain: BuiltinChain) -> bool {
        self.builtin_chains().contains(&chain)
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A chain the kernel provides (one per netfilter hook).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BuiltinChain {
    Prerouting,
    Input,
    Forward,
    Output,
    Postrouting,
}

impl BuiltinChain {
    pub const ALL: [BuiltinChain; 5] = [
        BuiltinChain::Prerouting,
        BuiltinChain::Input,
        BuiltinChain::Forward,
        BuiltinChain::Output,
        BuiltinChain::Postrouting,
    ];

    pub fn name(self) -> &'static str {
        match self {
            BuiltinChain::Prerouting => "PREROUTING",
            BuiltinChain::Input => "INPUT",
            BuiltinChain::Forward => "FORWARD",
            BuiltinChain::Output => "OUTPUT",
            BuiltinChain::Postrouting => "POSTROUTING",
        }
    }

    pub fn from_name(name: &str) -> Option<BuiltinChain> {
        Self::ALL.into_iter().find(|c| c.name() == name)
    }

    /// Whether packets in this chain have an input interface (`-i` can match).
    pub fn has_in_interface(self) -> bool {
        !matches!(self, BuiltinChain::Output | BuiltinChain::Postrouting)
    }

    /// Whether packets in this chain have an output interface (`-o` can match).
    pub fn has_out_interface(self) -> bool {
        !matches!(self, BuiltinChain::Prerouting | BuiltinChain::Input)
    }
}

impl fmt::Display for BuiltinChain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The name of a chain created with `-N`: 1 to 28 chars of `A-Z a-z 0-9 _ . -`, not starting
/// with `-`, and not the name of a built-in chain or target.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ChainName(pub(crate) String);

impl ChainName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ChainName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A chain a rule lives in.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Chain {
    Builtin(BuiltinChain),
    User(ChainName),
}

impl Chain {
    pub fn name(&self) -> &str {
        match self {
            Chain::Builtin(c) => c.name(),
            Chain::User(c) => c.as_str(),
        }
    }

    pub fn builtin(&self) -> Option<BuiltinChain> {
        match self {
            Chain::Builtin(c) => Some(*c),
            Chain::User(_) => None,
        }
    }
}

impl fmt::Display for Chain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A parsed iptables command: its table and what it does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub(crate) table: Table,
    pub(crate) command: Command,
}

/// What an iptables command does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `-A CHAIN spec`
    Append { chain: Chain, spec: RuleSpec },
    /// `-I CHAIN [POSITION] spec`; the position counts from 1 and defaults to 1.
    Insert {
        chain: Chain,
        position: Option<u32>,
        spec: RuleSpec,
    },
    /// `-D CHAIN spec`: delete the first rule equal to `spec`.
    Delete { chain: Chain, spec: RuleSpec },
    /// `-D CHAIN NUMBER`: delete the rule at that position, counting from 1.
    DeleteNumber { chain: Chain, number: u32 },
    /// `-P CHAIN POLICY`
    Policy { chain: BuiltinChain, policy: Policy },
    /// `-N CHAIN`
    NewChain { chain: ChainName },
    /// `-F [CHAIN]`: all chains of the table when none is named.
    Flush { chain: Option<Chain> },
    /// `-X [CHAIN]`: all user chains of the table when none is named.
    DeleteChain { chain: Option<ChainName> },
}

/// A built-in chain's default policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Policy {
    Accept,
    Drop,
}

impl Policy {
    pub fn name(self) -> &'static str {
        match self {
            Policy::Accept => "ACCEPT",
            Policy::Drop => "DROP",
        }
    }
}

/// A condition, possibly negated with `!`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Neg<T> {
    pub negated: bool,
    pub value: T,
}

/// The matches and target of a rule (everything after the chain).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RuleSpec {
    pub source: Option<Neg<Ipv4Net>>,
    pub destination: Option<Neg<Ipv4Net>>,
    pub in_interface: Option<Neg<Iface>>,
    pub out_interface: Option<Neg<Iface>>,
    /// `None` also stands for `-p all`.
    pub protocol: Option<Neg<Protocol>>,
    /// `-m` modules, in the order the kernel evaluates them.
    pub matches: Vec<Match>,
    /// `None` for a rule without `-j`, which only counts packets.
    pub target: Option<Target>,
}

impl Rule {
    pub fn table(&self) -> Table {
        self.table
    }

    pub fn command(&self) -> &Command {
        &self.command
    }

    /// The chain the command acts on; `None` for `-F`/`-X` without a chain.
    pub fn chain(&self) -> Option<Chain> {
        match &self.command {
            Command::Append { chain, .. }
            | Command::Insert { chain, .. }
            | Command::Delete { chain, .. }
            | Command::DeleteNumber { chain, .. } => Some(chain.clone()),
            Command::Policy { chain, .. } => Some(Chain::Builtin(*chain)),
            Command::NewChain { chain } => Some(Chain::User(chain.clone())),
            Command::Flush { chain } => chain.clone(),
            Command::DeleteChain { chain } => chain.clone().map(Chain::User),
        }
    }

    /// The matches and target, for commands that carry a rule (`-A`, `-I`, `-D` with a rule).
    pub fn spec(&self) -> Option<&RuleSpec> {
        match &self.command {
            Command::Append { spec, .. }
            | Command::Insert { spec, .. }
            | Command::Delete { spec, .. } => Some(spec),
            _ => None,
        }
    }

    pub fn target(&self) -> Option<&Target> {
        self.spec()?.target.as_ref()
    }

    /// The destination ports the rule matches on, from `--dport`, `--dports` and `--ports`,
    /// negated or not.
    pub fn dports(&self) -> Vec<Neg<PortRange>> {
        self.ports(true)
    }

    /// The source ports the rule matches on, from `--sport`, `--sports` and `--ports`.
    pub fn sports(&self) -> Vec<Neg<PortRange>> {
        self.ports(false)
    }

    fn ports(&self, destination: bool) -> Vec<Neg<PortRange>> {
        let Some(spec) = self.spec() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for m in &spec.matches {
            match m {
                Match::Tcp(TcpMatch { sport, dport, .. })
                | Match::Udp(UdpMatch { sport, dport }) => {
                    out.extend(if destination { dport } else { sport }.clone())
                }
                Match::Multiport(mp) => {
                    let wanted = match mp.direction {
                        PortDirection::Either => true,
                        PortDirection::Destination => destination,
                        PortDirection::Source => !destination,
                    };
                    if wanted {
                        out.extend(mp.ports.iter().map(|&value| Neg {
                            negated: mp.negated,
                            value,
                        }));
                    }
                }
                _ => {}
            }
        }
        out
    }

    /// The interfaces named by `-i` and `-o`.
    pub fn interfaces(&self) -> Vec<&Iface> {
        self.spec()
            .into_iter()
            .flat_map(|s| [&s.in_interface, &s.out_interface])
            .flatten()
            .map(|n| &n.value)
            .collect()
    }

    /// Replaces every `-i`/`-o` interface named exactly `from` with `to` (grading maps a
    /// student's interface onto the lab's); returns how many were replaced.
    pub fn rename_interface(&mut self, from: &str, to: &Iface) -> usize {
        let spec = match &mut self.command {
            Command::Append { spec, .. }
            | Command::Insert { spec, .. }
            | Command::Delete { spec, .. } => spec,
            _ => return 0,
        };
        let mut renamed = 0;
        for iface in [&mut spec.in_interface, &mut spec.out_interface]
            .into_iter()
            .flatten()
        {
            if iface.value.as_str() == from {
                iface.value = to.clone();
                renamed += 1;
            }
        }
        renamed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accessors_explain_a_rule_for_grading() {
        let rule = crate::rules::parse_rule(
            "-t nat -A OUTPUT -o enp0s3 -p tcp -m multiport --dports 21,25 --sport 1024: \
             -j REDIRECT --to-ports 27664",
        )
        .unwrap();
        assert_eq!(rule.table(), Table::Nat);
        assert_eq!(rule.chain(), Some(Chain::Builtin(BuiltinChain::Output)));
        assert_eq!(
            rule.target(),
            Some(&Target::Redirect {
                to_ports: Some(PortRange::single(27664))
            })
        );
        let ports = |v: Vec<Neg<PortRange>>| -> Vec<(u16, u16)> {
            v.iter().map(|n| (n.value.first, n.value.last)).collect()
        };
        assert_eq!(ports(rule.dports()), [(21, 21), (25, 25)]);
        assert_eq!(ports(rule.sports()), [(1024, 65535)]);
        assert_eq!(rule.interfaces()[0].as_str(), "enp0s3");
        let spec = rule.spec().unwrap();
        assert_eq!(spec.protocol.as_ref().map(|p| p.value), Some(Protocol::Tcp));
        assert_eq!(spec.matches.len(), 2);
    }

    #[test]
    fn interfaces_are_renamed_onto_the_lab() {
        let mut rule =
            crate::rules::parse_rule("-A FORWARD -i enp0s3 ! -o enp0s3 -j ACCEPT").unwrap();
        let eth0: Iface = "eth0".parse().unwrap();
        assert_eq!(rule.rename_interface("enp0s3", &eth0), 2);
        assert_eq!(rule.rename_interface("enp0s3", &eth0), 0);
        assert_eq!(
            rule.to_string(),
            "-t filter -A FORWARD -i eth0 ! -o eth0 -j ACCEPT"
        );
        let mut policy = crate::rules::parse_rule("-P FORWARD DROP").unwrap();
        assert_eq!(policy.rename_interface("eth0", &eth0), 0);
        assert!(policy.interfaces().is_empty());
        assert_eq!(policy.chain(), Some(Chain::Builtin(BuiltinChain::Forward)));
        assert_eq!(policy.target(), None);
    }

    #[test]
    fn tables_know_their_builtin_chains() {
        assert!(Table::Nat.has_builtin(BuiltinChain::Prerouting));
        assert!(!Table::Filter.has_builtin(BuiltinChain::Prerouting));
        assert!(!Table::Raw.has_builtin(BuiltinChain::Input));
        assert_eq!(Table::Mangle.builtin_chains().len(), 5);
    }
}
