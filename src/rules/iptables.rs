//! The typed iptables rule: what a parsed command means, and how it is written back.
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

use std::fmt;
use std::net::Ipv4Addr;

use super::iface::Iface;

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

/// An IPv4 network; `addr` has no bits set beyond `prefix`, as iptables stores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ipv4Net {
    pub(crate) addr: Ipv4Addr,
    pub(crate) prefix: u8,
}

impl Ipv4Net {
    /// The network containing `addr` with a prefix of `prefix` bits (at most 32).
    pub fn new(addr: Ipv4Addr, prefix: u8) -> Option<Ipv4Net> {
        if prefix > 32 {
            return None;
        }
        let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
        Some(Ipv4Net {
            addr: Ipv4Addr::from(u32::from(addr) & mask),
            prefix,
        })
    }

    pub fn addr(&self) -> Ipv4Addr {
        self.addr
    }

    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    pub fn contains(&self, addr: Ipv4Addr) -> bool {
        Ipv4Net::new(addr, self.prefix).is_some_and(|n| n.addr == self.addr)
    }
}

impl fmt::Display for Ipv4Net {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// The protocols `-p` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    Tcp,
    Udp,
    Icmp,
}

impl Protocol {
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Icmp => "icmp",
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An inclusive port range; a single port has `first == last`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PortRange {
    pub first: u16,
    pub last: u16,
}

impl PortRange {
    pub fn single(port: u16) -> PortRange {
        PortRange {
            first: port,
            last: port,
        }
    }

    pub fn contains(&self, port: u16) -> bool {
        (self.first..=self.last).contains(&port)
    }

    /// Written with `sep` between the ends, as matches (`:`) and targets (`-`) differ.
    fn write(&self, sep: char) -> String {
        if self.first == self.last {
            self.first.to_string()
        } else {
            format!("{}{sep}{}", self.first, self.last)
        }
    }
}

/// A `-m` module and its options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Match {
    Tcp(TcpMatch),
    Udp(UdpMatch),
    Icmp(IcmpMatch),
    Multiport(MultiportMatch),
    /// `-m state --state ...`
    State(Neg<ConnStates>),
    /// `-m conntrack --ctstate ...`
    Conntrack(Neg<ConnStates>),
}

impl Match {
    pub fn module(&self) -> &'static str {
        match self {
            Match::Tcp(_) => "tcp",
            Match::Udp(_) => "udp",
            Match::Icmp(_) => "icmp",
            Match::Multiport(_) => "multiport",
            Match::State(_) => "state",
            Match::Conntrack(_) => "conntrack",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TcpMatch {
    pub sport: Option<Neg<PortRange>>,
    pub dport: Option<Neg<PortRange>>,
    /// `--syn` is stored as the flags it stands for.
    pub flags: Option<Neg<TcpFlags>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UdpMatch {
    pub sport: Option<Neg<PortRange>>,
    pub dport: Option<Neg<PortRange>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IcmpMatch {
    /// Always set in a parsed rule (iptables requires it); `None` only while parsing.
    pub icmp_type: Option<Neg<IcmpType>>,
}

/// An ICMP type and optionally one code; type 255 without a code is iptables' `any`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IcmpType {
    pub kind: u8,
    pub code: Option<u8>,
}

impl fmt::Display for IcmpType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.kind, self.code) {
            (255, None) => f.write_str("any"),
            (kind, None) => write!(f, "{kind}"),
            (kind, Some(code)) => write!(f, "{kind}/{code}"),
        }
    }
}

/// `--tcp-flags MASK SET`: of the flags in `mask`, exactly those in `set` are on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TcpFlags {
    pub mask: u8,
    pub set: u8,
}

impl TcpFlags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
    pub const URG: u8 = 0x20;
    pub const ALL: u8 = 0x3f;
    /// The flag names in the order iptables prints them.
    pub const NAMES: [(&'static str, u8); 6] = [
        ("FIN", Self::FIN),
        ("SYN", Self::SYN),
        ("RST", Self::RST),
        ("PSH", Self::PSH),
        ("ACK", Self::ACK),
        ("URG", Self::URG),
    ];

    /// What `--syn` stands for: SYN set, RST, ACK and FIN clear.
    pub const SYN_ONLY: TcpFlags = TcpFlags {
        mask: Self::FIN | Self::SYN | Self::RST | Self::ACK,
        set: Self::SYN,
    };

    fn write_set(bits: u8) -> String {
        if bits == 0 {
            return "NONE".into();
        }
        let names: Vec<&str> = Self::NAMES
            .iter()
            .filter(|&&(_, b)| bits & b != 0)
            .map(|&(n, _)| n)
            .collect();
        names.join(",")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MultiportMatch {
    pub negated: bool,
    pub direction: PortDirection,
    /// At most 15 ports, a range counting as two, as the kernel module allows.
    pub ports: Vec<PortRange>,
}

/// Which port `-m multiport` compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PortDirection {
    /// `--sports`
    Source,
    /// `--dports`
    Destination,
    /// `--ports`: either one.
    Either,
}

/// A connection tracking state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConnState {
    Invalid,
    New,
    Related,
    Established,
    Untracked,
    /// `--ctstate` only.
    Snat,
    /// `--ctstate` only.
    Dnat,
}

impl ConnState {
    /// In the order iptables prints them.
    pub const ALL: [ConnState; 7] = [
        ConnState::Invalid,
        ConnState::New,
        ConnState::Related,
        ConnState::Established,
        ConnState::Untracked,
        ConnState::Snat,
        ConnState::Dnat,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ConnState::Invalid => "INVALID",
            ConnState::New => "NEW",
            ConnState::Related => "RELATED",
            ConnState::Established => "ESTABLISHED",
            ConnState::Untracked => "UNTRACKED",
            ConnState::Snat => "SNAT",
            ConnState::Dnat => "DNAT",
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// A non-empty set of connection tracking states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ConnStates(u8);

impl ConnStates {
    pub fn contains(self, state: ConnState) -> bool {
        self.0 & state.bit() != 0
    }

    pub fn iter(self) -> impl Iterator<Item = ConnState> {
        ConnState::ALL
            .into_iter()
            .filter(move |s| self.contains(*s))
    }

    pub(crate) fn insert(&mut self, state: ConnState) {
        self.0 |= state.bit();
    }

    pub(crate) fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl fmt::Display for ConnStates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.iter().map(ConnState::name).collect();
        f.write_str(&names.join(","))
    }
}

/// What happens to a matching packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Accept,
    Drop,
    Return,
    Reject {
        with: RejectWith,
    },
    /// nat PREROUTING/OUTPUT: deliver to this host, on `to_ports` if given.
    Redirect {
        to_ports: Option<PortRange>,
    },
    /// nat POSTROUTING: source NAT to the outgoing interface's address.
    Masquerade {
        to_ports: Option<PortRange>,
    },
    Dnat {
        to: NatTo,
    },
    Snat {
        to: NatTo,
    },
    /// `level` is the syslog level, 0..=7; 4 (warning) is the default.
    Log {
        prefix: Option<String>,
        level: u8,
    },
    /// A jump to a chain created with `-N`.
    Jump(ChainName),
}

impl Target {
    /// The word after `-j`.
    pub fn name(&self) -> &str {
        match self {
            Target::Accept => "ACCEPT",
            Target::Drop => "DROP",
            Target::Return => "RETURN",
            Target::Reject { .. } => "REJECT",
            Target::Redirect { .. } => "REDIRECT",
            Target::Masquerade { .. } => "MASQUERADE",
            Target::Dnat { .. } => "DNAT",
            Target::Snat { .. } => "SNAT",
            Target::Log { .. } => "LOG",
            Target::Jump(chain) => chain.as_str(),
        }
    }
}

/// `--reject-with` values; iptables' default is `icmp-port-unreachable`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RejectWith {
    NetUnreachable,
    HostUnreachable,
    #[default]
    PortUnreachable,
    ProtoUnreachable,
    NetProhibited,
    HostProhibited,
    AdminProhibited,
    TcpReset,
}

impl RejectWith {
    pub const ALL: [RejectWith; 8] = [
        RejectWith::NetUnreachable,
        RejectWith::HostUnreachable,
        RejectWith::PortUnreachable,
        RejectWith::ProtoUnreachable,
        RejectWith::NetProhibited,
        RejectWith::HostProhibited,
        RejectWith::AdminProhibited,
        RejectWith::TcpReset,
    ];

    pub fn name(self) -> &'static str {
        match self {
            RejectWith::NetUnreachable => "icmp-net-unreachable",
            RejectWith::HostUnreachable => "icmp-host-unreachable",
            RejectWith::PortUnreachable => "icmp-port-unreachable",
            RejectWith::ProtoUnreachable => "icmp-proto-unreachable",
            RejectWith::NetProhibited => "icmp-net-prohibited",
            RejectWith::HostProhibited => "icmp-host-prohibited",
            RejectWith::AdminProhibited => "icmp-admin-prohibited",
            RejectWith::TcpReset => "tcp-reset",
        }
    }

    /// The short spelling iptables also accepts.
    pub(crate) fn alias(self) -> &'static str {
        match self {
            RejectWith::NetUnreachable => "net-unreach",
            RejectWith::HostUnreachable => "host-unreach",
            RejectWith::PortUnreachable => "port-unreach",
            RejectWith::ProtoUnreachable => "proto-unreach",
            RejectWith::NetProhibited => "net-prohib",
            RejectWith::HostProhibited => "host-prohib",
            RejectWith::AdminProhibited => "admin-prohib",
            RejectWith::TcpReset => "tcp-rst",
        }
    }
}

/// `--to-destination` / `--to-source`: `[ADDR[-ADDR]][:PORT[-PORT]]`, at least one part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NatTo {
    pub addrs: Option<(Ipv4Addr, Ipv4Addr)>,
    pub ports: Option<PortRange>,
}

impl fmt::Display for NatTo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.addrs {
            Some((a, b)) if a == b => write!(f, "{a}")?,
            Some((a, b)) => write!(f, "{a}-{b}")?,
            None => {}
        }
        if let Some(ports) = self.ports {
            write!(f, ":{}", ports.write('-'))?;
        }
        Ok(())
    }
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

    /// The arguments for the `iptables` program (without the program name): run them with
    /// `std::process::Command`, never through a shell.
    pub fn argv(&self) -> Vec<String> {
        let mut a = Args(Vec::new());
        a.push("-t").push(self.table.name());
        match &self.command {
            Command::Append { chain, spec } => {
                a.push("-A").push(chain.name());
                a.spec(spec);
            }
            Command::Insert {
                chain,
                position,
                spec,
            } => {
                a.push("-I").push(chain.name());
                if let Some(p) = position {
                    a.push(p.to_string());
                }
                a.spec(spec);
            }
            Command::Delete { chain, spec } => {
                a.push("-D").push(chain.name());
                a.spec(spec);
            }
            Command::DeleteNumber { chain, number } => {
                a.push("-D").push(chain.name()).push(number.to_string());
            }
            Command::Policy { chain, policy } => {
                a.push("-P").push(chain.name()).push(policy.name());
            }
            Command::NewChain { chain } => {
                a.push("-N").push(chain.as_str());
            }
            Command::Flush { chain } => {
                a.push("-F");
                if let Some(c) = chain {
                    a.push(c.name());
                }
            }
            Command::DeleteChain { chain } => {
                a.push("-X");
                if let Some(c) = chain {
                    a.push(c.as_str());
                }
            }
        }
        a.0
    }
}

/// Builds an argument vector.
struct Args(Vec<String>);

impl Args {
    fn push(&mut self, word: impl Into<String>) -> &mut Self {
        self.0.push(word.into());
        self
    }

    /// `! OPTION VALUE...`
    fn neg<T>(&mut self, n: &Neg<T>, option: &str, value: String) -> &mut Self {
        if n.negated {
            self.push("!");
        }
        self.push(option).push(value)
    }

    fn spec(&mut self, spec: &RuleSpec) {
        if let Some(n) = &spec.source {
            self.neg(n, "-s", n.value.to_string());
        }
        if let Some(n) = &spec.destination {
            self.neg(n, "-d", n.value.to_string());
        }
        if let Some(n) = &spec.in_interface {
            self.neg(n, "-i", n.value.to_string());
        }
        if let Some(n) = &spec.out_interface {
            self.neg(n, "-o", n.value.to_string());
        }
        if let Some(n) = &spec.protocol {
            self.neg(n, "-p", n.value.to_string());
        }
        for m in &spec.matches {
            self.push("-m").push(m.module());
            self.match_options(m);
        }
        if let Some(t) = &spec.target {
            self.push("-j").push(t.name());
            self.target_options(t);
        }
    }

    fn match_options(&mut self, m: &Match) {
        let ports = |n: &Neg<PortRange>| n.value.write(':');
        match m {
            Match::Tcp(t) => {
                if let Some(n) = &t.sport {
                    self.neg(n, "--sport", ports(n));
                }
                if let Some(n) = &t.dport {
                    self.neg(n, "--dport", ports(n));
                }
                if let Some(n) = &t.flags {
                    self.neg(n, "--tcp-flags", TcpFlags::write_set(n.value.mask))
                        .push(TcpFlags::write_set(n.value.set));
                }
            }
            Match::Udp(u) => {
                if let Some(n) = &u.sport {
                    self.neg(n, "--sport", ports(n));
                }
                if let Some(n) = &u.dport {
                    self.neg(n, "--dport", ports(n));
                }
            }
            Match::Icmp(i) => {
                if let Some(n) = &i.icmp_type {
                    self.neg(n, "--icmp-type", n.value.to_string());
                }
            }
            Match::Multiport(mp) => {
                let option = match mp.direction {
                    PortDirection::Source => "--sports",
                    PortDirection::Destination => "--dports",
                    PortDirection::Either => "--ports",
                };
                let list: Vec<String> = mp.ports.iter().map(|p| p.write(':')).collect();
                let n = Neg {
                    negated: mp.negated,
                    value: (),
                };
                self.neg(&n, option, list.join(","));
            }
            Match::State(n) => {
                self.neg(n, "--state", n.value.to_string());
            }
            Match::Conntrack(n) => {
                self.neg(n, "--ctstate", n.value.to_string());
            }
        }
    }

    fn target_options(&mut self, t: &Target) {
        match t {
            Target::Accept | Target::Drop | Target::Return | Target::Jump(_) => {}
            Target::Reject { with } => {
                self.push("--reject-with").push(with.name());
            }
            Target::Redirect { to_ports } | Target::Masquerade { to_ports } => {
                if let Some(p) = to_ports {
                    self.push("--to-ports").push(p.write('-'));
                }
            }
            Target::Dnat { to } => {
                self.push("--to-destination").push(to.to_string());
            }
            Target::Snat { to } => {
                self.push("--to-source").push(to.to_string());
            }
            Target::Log { prefix, level } => {
                if let Some(p) = prefix {
                    self.push("--log-prefix").push(p.as_str());
                }
                if *level != 4 {
                    self.push("--log-level").push(level.to_string());
                }
            }
        }
    }
}

impl fmt::Display for Rule {
    /// The canonical text: the arguments of [`Rule::argv`], quoted where a word would
    /// otherwise not survive being split again.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let words: Vec<String> = self.argv().iter().map(|w| quote(w)).collect();
        f.write_str(&words.join(" "))
    }
}

/// `word` as one shell word: bare when it is plain, otherwise in double quotes with `"`, `\`,
/// `$` and backquote escaped (the same form `iptables -S` uses for a LOG prefix).
pub(crate) fn quote(word: &str) -> String {
    let plain = !word.is_empty()
        && !word.starts_with('#')
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.,:/+=@%!".contains(c));
    if plain {
        return word.to_owned();
    }
    let mut out = String::from("\"");
    for c in word.chars() {
        if matches!(c, '"' | '\\' | '$' | '`') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
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
    fn networks_drop_host_bits() {
        let n = Ipv4Net::new(Ipv4Addr::new(10, 0, 0, 5), 24).unwrap();
        assert_eq!(n.to_string(), "10.0.0.0/24");
        assert!(n.contains(Ipv4Addr::new(10, 0, 0, 200)));
        assert!(!n.contains(Ipv4Addr::new(10, 0, 1, 1)));
        assert_eq!(
            Ipv4Net::new(Ipv4Addr::new(1, 2, 3, 4), 0)
                .unwrap()
                .to_string(),
            "0.0.0.0/0"
        );
        assert_eq!(
            Ipv4Net::new(Ipv4Addr::new(1, 2, 3, 4), 32)
                .unwrap()
                .to_string(),
            "1.2.3.4/32"
        );
        assert!(Ipv4Net::new(Ipv4Addr::new(1, 2, 3, 4), 33).is_none());
    }

    #[test]
    fn words_are_quoted_only_when_needed() {
        assert_eq!(quote("eth0"), "eth0");
        assert_eq!(quote("x: "), "\"x: \"");
        assert_eq!(quote(""), "\"\"");
        assert_eq!(quote("a\"b\\c$"), "\"a\\\"b\\\\c\\$\"");
        assert_eq!(quote("it's"), "\"it's\"");
        assert_eq!(quote("#x"), "\"#x\"");
    }

    #[test]
    fn tables_know_their_builtin_chains() {
        assert!(Table::Nat.has_builtin(BuiltinChain::Prerouting));
        assert!(!Table::Filter.has_builtin(BuiltinChain::Prerouting));
        assert!(!Table::Raw.has_builtin(BuiltinChain::Input));
        assert_eq!(Table::Mangle.builtin_chains().len(), 5);
    }

    #[test]
    fn tcp_flag_sets_print_in_iptables_order() {
        assert_eq!(
            TcpFlags::write_set(TcpFlags::SYN_ONLY.mask),
            "FIN,SYN,RST,ACK"
        );
        assert_eq!(TcpFlags::write_set(0), "NONE");
        assert_eq!(
            TcpFlags::write_set(TcpFlags::ALL),
            "FIN,SYN,RST,PSH,ACK,URG"
        );
    }
}
