//! The iptables vocabulary the parser knows: the targets and match modules it supports, the
//! options it knows (and those it knows but refuses, to say so plainly), and which options
//! belong to which target or match.
//!
//! Contract: these tables and the handlers in `words` and `options` agree on option names;
//! a name here with no handler is refused, never a panic.

use super::*;

/// The targets `-j` accepts besides user chains.
pub(super) const TARGETS: [&str; 9] = [
    "ACCEPT",
    "DROP",
    "REJECT",
    "REDIRECT",
    "DNAT",
    "SNAT",
    "MASQUERADE",
    "LOG",
    "RETURN",
];

pub(super) const TARGETS_EXPECTED: &str = "one of ACCEPT, DROP, REJECT, REDIRECT, DNAT, SNAT, MASQUERADE, \
                                LOG, RETURN or a chain created with -N";

/// iptables targets that exist but are outside what labs use.
pub(super) const UNSUPPORTED_TARGETS: [&str; 20] = [
    "QUEUE",
    "NFQUEUE",
    "MARK",
    "CONNMARK",
    "TOS",
    "TTL",
    "DSCP",
    "CT",
    "NOTRACK",
    "TCPMSS",
    "TEE",
    "CLASSIFY",
    "NFLOG",
    "ULOG",
    "AUDIT",
    "SET",
    "TRACE",
    "CHECKSUM",
    "NETMAP",
    "CLUSTERIP",
];

pub(super) const MODULES: [&str; 6] = ["tcp", "udp", "icmp", "multiport", "state", "conntrack"];

pub(super) const OPTIONS_EXPECTED: &str = "an option such as -p, -s, -d, -i, -o, -m or -j";

/// Every option word this parser knows, for suggestions.
pub(super) const KNOWN_OPTIONS: &[&str] = &[
    "-t",
    "-A",
    "-I",
    "-D",
    "-P",
    "-N",
    "-F",
    "-X",
    "-p",
    "-s",
    "-d",
    "-i",
    "-o",
    "-m",
    "-j",
    "--table",
    "--append",
    "--insert",
    "--delete",
    "--policy",
    "--new-chain",
    "--flush",
    "--delete-chain",
    "--protocol",
    "--source",
    "--destination",
    "--in-interface",
    "--out-interface",
    "--match",
    "--jump",
    "--sport",
    "--dport",
    "--source-port",
    "--destination-port",
    "--tcp-flags",
    "--syn",
    "--icmp-type",
    "--sports",
    "--dports",
    "--ports",
    "--source-ports",
    "--destination-ports",
    "--state",
    "--ctstate",
    "--reject-with",
    "--to-ports",
    "--to-port",
    "--to-destination",
    "--to-source",
    "--log-prefix",
    "--log-level",
];

/// Real iptables options and commands this parser refuses, so the message can say
/// "unsupported" rather than "unknown".
pub(super) const UNSUPPORTED_OPTIONS: &[&str] = &[
    "-L",
    "-S",
    "-Z",
    "-C",
    "-E",
    "-R",
    "-g",
    "-f",
    "-c",
    "-w",
    "-W",
    "-v",
    "-n",
    "-x",
    "-4",
    "-6",
    "--list",
    "--list-rules",
    "--zero",
    "--check",
    "--rename-chain",
    "--replace",
    "--goto",
    "--fragment",
    "--set-counters",
    "--wait",
    "--verbose",
    "--numeric",
    "--exact",
    "--line-numbers",
    "--tcp-option",
    "--random",
    "--random-fully",
    "--persistent",
    "--log-tcp-sequence",
    "--log-tcp-options",
    "--log-ip-options",
    "--log-uid",
    "--comment",
    "--limit",
    "--limit-burst",
    "--ctproto",
    "--ctorigsrc",
    "--ctorigdst",
    "--ctreplsrc",
    "--ctrepldst",
    "--ctstatus",
    "--ctexpire",
    "--ctdir",
    "--mac-source",
    "--uid-owner",
    "--src-range",
    "--dst-range",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TargetKind {
    Accept,
    Drop,
    Return,
    Reject,
    Redirect,
    Masquerade,
    Dnat,
    Snat,
    Log,
}

impl TargetKind {
    pub(super) fn from_name(name: &str) -> Option<TargetKind> {
        Some(match name {
            "ACCEPT" => TargetKind::Accept,
            "DROP" => TargetKind::Drop,
            "RETURN" => TargetKind::Return,
            "REJECT" => TargetKind::Reject,
            "REDIRECT" => TargetKind::Redirect,
            "MASQUERADE" => TargetKind::Masquerade,
            "DNAT" => TargetKind::Dnat,
            "SNAT" => TargetKind::Snat,
            "LOG" => TargetKind::Log,
            _ => return None,
        })
    }

    /// The canonical names of this target's options.
    pub(super) fn options(self) -> &'static [&'static str] {
        match self {
            TargetKind::Reject => &["--reject-with"],
            TargetKind::Redirect | TargetKind::Masquerade => &["--to-ports"],
            TargetKind::Dnat => &["--to-destination"],
            TargetKind::Snat => &["--to-source"],
            TargetKind::Log => &["--log-prefix", "--log-level"],
            TargetKind::Accept | TargetKind::Drop | TargetKind::Return => &[],
        }
    }

    /// Where the kernel lets this target run: its table and built-in chains.
    pub(super) fn allowed(self) -> Option<(Table, &'static [BuiltinChain])> {
        use BuiltinChain::*;
        match self {
            TargetKind::Reject => Some((Table::Filter, &[Input, Forward, Output])),
            TargetKind::Redirect | TargetKind::Dnat => Some((Table::Nat, &[Prerouting, Output])),
            TargetKind::Snat => Some((Table::Nat, &[Postrouting, Input])),
            TargetKind::Masquerade => Some((Table::Nat, &[Postrouting])),
            _ => None,
        }
    }
}

/// Option spellings iptables accepts for the same thing, mapped to the canonical one.
pub(super) fn canonical_option(name: &str) -> &'static str {
    match name {
        "--source-port" | "--sport" => "--sport",
        "--destination-port" | "--dport" => "--dport",
        "--tcp-flags" => "--tcp-flags",
        "--syn" => "--syn",
        "--icmp-type" => "--icmp-type",
        "--source-ports" | "--sports" => "--sports",
        "--destination-ports" | "--dports" => "--dports",
        "--ports" => "--ports",
        "--state" => "--state",
        "--ctstate" => "--ctstate",
        "--reject-with" => "--reject-with",
        "--to-ports" | "--to-port" => "--to-ports",
        "--to-destination" => "--to-destination",
        "--to-source" => "--to-source",
        "--log-prefix" => "--log-prefix",
        "--log-level" => "--log-level",
        _ => "",
    }
}

/// The canonical options a match module takes.
pub(super) fn match_options(m: &Match) -> &'static [&'static str] {
    match m {
        Match::Tcp(_) => &["--sport", "--dport", "--tcp-flags", "--syn"],
        Match::Udp(_) => &["--sport", "--dport"],
        Match::Icmp(_) => &["--icmp-type"],
        Match::Multiport(_) => &["--sports", "--dports", "--ports"],
        Match::State(_) => &["--state"],
        Match::Conntrack(_) => &["--ctstate"],
    }
}
