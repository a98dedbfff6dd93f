//! What happens to a matching packet: the `-j` targets with their options (REJECT's
//! `--reject-with`, the NAT targets' address and port ranges).
//!
//! Contract: a [`Target`] holds only options valid for it; `Display` of [`NatTo`] writes the
//! form iptables lists.

use std::fmt;
use std::net::Ipv4Addr;

use super::{ChainName, PortRange};

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
