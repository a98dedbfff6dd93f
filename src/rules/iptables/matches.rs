//! What an iptables rule matches on: addresses and networks, protocols, port ranges, and the
//! `-m` modules the course uses (tcp, udp, icmp, multiport, state/conntrack).
//!
//! Contract: every value here has been checked by the parser; `Display` writes the spelling
//! `iptables -S` uses, so canonical text compares equal with what the kernel lists.

use std::fmt;
use std::net::Ipv4Addr;

use super::Neg;

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
    pub(super) fn write(&self, sep: char) -> String {
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

    pub(super) fn write_set(bits: u8) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

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
