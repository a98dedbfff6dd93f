//! Fixed name tables the parsers look words up in: service names for ports, ICMP type names,
//! syslog levels for LOG.
//!
//! Contract: lookups are pure and independent of the machine. iptables itself resolves service
//! names through `/etc/services`, which differs between systems; labctl keeps its own copy of
//! the common entries so a rule means the same thing on every machine that grades it.

/// Well-known service names and their ports, as in Debian's `/etc/services` (plus the usual
/// aliases). Every name here has the same number for TCP and UDP.
const SERVICES: &[(&str, u16)] = &[
    ("echo", 7),
    ("discard", 9),
    ("daytime", 13),
    ("ftp-data", 20),
    ("ftp", 21),
    ("ssh", 22),
    ("telnet", 23),
    ("smtp", 25),
    ("time", 37),
    ("whois", 43),
    ("domain", 53),
    ("bootps", 67),
    ("bootpc", 68),
    ("tftp", 69),
    ("gopher", 70),
    ("finger", 79),
    ("http", 80),
    ("www", 80),
    ("kerberos", 88),
    ("pop3", 110),
    ("sunrpc", 111),
    ("auth", 113),
    ("nntp", 119),
    ("ntp", 123),
    ("netbios-ns", 137),
    ("netbios-dgm", 138),
    ("netbios-ssn", 139),
    ("imap2", 143),
    ("imap", 143),
    ("snmp", 161),
    ("snmp-trap", 162),
    ("bgp", 179),
    ("ldap", 389),
    ("https", 443),
    ("microsoft-ds", 445),
    ("syslog", 514),
    ("submission", 587),
    ("ldaps", 636),
    ("imaps", 993),
    ("pop3s", 995),
    ("openvpn", 1194),
    ("mysql", 3306),
    ("postgresql", 5432),
    ("http-alt", 8080),
];

/// What `name` stands for in a table of names, whatever its case (iptables compares names
/// case-insensitively).
fn look_up<T: Copy>(table: &[(&str, T)], name: &str) -> Option<T> {
    table
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|&(_, v)| v)
}

/// The names of a table, for suggestions.
fn names_of<T>(table: &[(&'static str, T)]) -> Vec<&'static str> {
    table.iter().map(|&(n, _)| n).collect()
}

/// The port a service name stands for.
pub(crate) fn service_port(name: &str) -> Option<u16> {
    look_up(SERVICES, name)
}

/// All service names, for suggestions.
pub(crate) fn service_names() -> Vec<&'static str> {
    names_of(SERVICES)
}

/// ICMP type names iptables knows (`iptables -p icmp -h`), with their type and, for the names
/// that pin one code, that code.
const ICMP_TYPES: &[(&str, u8, Option<u8>)] = &[
    ("any", 255, None),
    ("echo-reply", 0, None),
    ("pong", 0, None),
    ("destination-unreachable", 3, None),
    ("network-unreachable", 3, Some(0)),
    ("host-unreachable", 3, Some(1)),
    ("protocol-unreachable", 3, Some(2)),
    ("port-unreachable", 3, Some(3)),
    ("fragmentation-needed", 3, Some(4)),
    ("source-route-failed", 3, Some(5)),
    ("network-unknown", 3, Some(6)),
    ("host-unknown", 3, Some(7)),
    ("network-prohibited", 3, Some(9)),
    ("host-prohibited", 3, Some(10)),
    ("TOS-network-unreachable", 3, Some(11)),
    ("TOS-host-unreachable", 3, Some(12)),
    ("communication-prohibited", 3, Some(13)),
    ("host-precedence-violation", 3, Some(14)),
    ("precedence-cutoff", 3, Some(15)),
    ("source-quench", 4, None),
    ("redirect", 5, None),
    ("network-redirect", 5, Some(0)),
    ("host-redirect", 5, Some(1)),
    ("TOS-network-redirect", 5, Some(2)),
    ("TOS-host-redirect", 5, Some(3)),
    ("echo-request", 8, None),
    ("ping", 8, None),
    ("router-advertisement", 9, None),
    ("router-solicitation", 10, None),
    ("time-exceeded", 11, None),
    ("ttl-exceeded", 11, None),
    ("ttl-zero-during-transit", 11, Some(0)),
    ("ttl-zero-during-reassembly", 11, Some(1)),
    ("parameter-problem", 12, None),
    ("ip-header-bad", 12, Some(0)),
    ("required-option-missing", 12, Some(1)),
    ("timestamp-request", 13, None),
    ("timestamp-reply", 14, None),
    ("address-mask-request", 17, None),
    ("address-mask-reply", 18, None),
];

/// Type and optional code of an ICMP type name.
pub(crate) fn icmp_type(name: &str) -> Option<(u8, Option<u8>)> {
    ICMP_TYPES
        .iter()
        .find(|(n, _, _)| n.eq_ignore_ascii_case(name))
        .map(|&(_, t, c)| (t, c))
}

pub(crate) fn icmp_type_names() -> Vec<&'static str> {
    ICMP_TYPES.iter().map(|&(n, _, _)| n).collect()
}

/// syslog level names LOG accepts for `--log-level`, with their numbers.
const LOG_LEVELS: &[(&str, u8)] = &[
    ("emerg", 0),
    ("panic", 0),
    ("alert", 1),
    ("crit", 2),
    ("err", 3),
    ("error", 3),
    ("warning", 4),
    ("warn", 4),
    ("notice", 5),
    ("info", 6),
    ("debug", 7),
];

pub(crate) fn log_level(name: &str) -> Option<u8> {
    if let Ok(n) = name.parse::<u8>() {
        return (n <= 7).then_some(n);
    }
    look_up(LOG_LEVELS, name)
}

/// All syslog level names, for suggestions.
pub(crate) fn log_level_names() -> Vec<&'static str> {
    names_of(LOG_LEVELS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_resolve_case_insensitively() {
        assert_eq!(service_port("smtp"), Some(25));
        assert_eq!(service_port("HTTP"), Some(80));
        assert_eq!(service_port("ftp-data"), Some(20));
        assert_eq!(service_port("nope"), None);
    }

    #[test]
    fn icmp_names_carry_type_and_code() {
        assert_eq!(icmp_type("echo-request"), Some((8, None)));
        assert_eq!(icmp_type("port-unreachable"), Some((3, Some(3))));
        assert_eq!(icmp_type("any"), Some((255, None)));
        assert_eq!(icmp_type("tos-host-unreachable"), Some((3, Some(12))));
        assert_eq!(icmp_type("echo"), None);
    }

    #[test]
    fn log_levels_take_numbers_and_names() {
        assert_eq!(log_level("6"), Some(6));
        assert_eq!(log_level("debug"), Some(7));
        assert_eq!(log_level("warning"), Some(4));
        assert_eq!(log_level("8"), None);
        assert_eq!(log_level("loud"), None);
    }
}
