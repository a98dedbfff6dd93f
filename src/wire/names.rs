//! Names for protocol numbers: ICMP and ICMPv6 types and codes, IP protocols.
//!
//! Contract: names are lowercase and hyphenated, stable across releases, since flow
//! snapshots contain them; unknown numbers have no name and callers print the number.

/// Name of an ICMP (`v6 == false`) or ICMPv6 type.
pub fn icmp_type(v6: bool, t: u8) -> Option<&'static str> {
    Some(match (v6, t) {
        (false, 0) => "echo-reply",
        (false, 3) => "destination-unreachable",
        (false, 4) => "source-quench",
        (false, 5) => "redirect",
        (false, 8) => "echo-request",
        (false, 9) => "router-advertisement",
        (false, 10) => "router-solicitation",
        (false, 11) => "time-exceeded",
        (false, 12) => "parameter-problem",
        (false, 13) => "timestamp-request",
        (false, 14) => "timestamp-reply",
        (true, 1) => "destination-unreachable",
        (true, 2) => "packet-too-big",
        (true, 3) => "time-exceeded",
        (true, 4) => "parameter-problem",
        (true, 128) => "echo-request",
        (true, 129) => "echo-reply",
        (true, 130) => "mld-query",
        (true, 131) => "mld-report",
        (true, 132) => "mld-done",
        (true, 133) => "router-solicitation",
        (true, 134) => "router-advertisement",
        (true, 135) => "neighbor-solicitation",
        (true, 136) => "neighbor-advertisement",
        (true, 137) => "redirect",
        (true, 143) => "mldv2-report",
        _ => return None,
    })
}

/// Name of an ICMP or ICMPv6 code, for the types whose codes mean something.
pub fn icmp_code(v6: bool, t: u8, c: u8) -> Option<&'static str> {
    Some(match (v6, t, c) {
        (false, 3, 0) => "net-unreachable",
        (false, 3, 1) => "host-unreachable",
        (false, 3, 2) => "protocol-unreachable",
        (false, 3, 3) => "port-unreachable",
        (false, 3, 4) => "fragmentation-needed",
        (false, 3, 5) => "source-route-failed",
        (false, 3, 6) => "net-unknown",
        (false, 3, 7) => "host-unknown",
        (false, 3, 8) => "source-host-isolated",
        (false, 3, 9) => "net-prohibited",
        (false, 3, 10) => "host-prohibited",
        (false, 3, 11) => "net-tos-unreachable",
        (false, 3, 12) => "host-tos-unreachable",
        (false, 3, 13) => "admin-prohibited",
        (false, 3, 14) => "host-precedence-violation",
        (false, 3, 15) => "precedence-cutoff",
        (false, 5, 0) => "net",
        (false, 5, 1) => "host",
        (false, 5, 2) => "tos-net",
        (false, 5, 3) => "tos-host",
        (false, 11, 0) => "ttl-exceeded",
        (false, 11, 1) => "reassembly-time-exceeded",
        (false, 12, 0) => "pointer",
        (false, 12, 1) => "missing-option",
        (false, 12, 2) => "bad-length",
        (true, 1, 0) => "no-route",
        (true, 1, 1) => "admin-prohibited",
        (true, 1, 2) => "beyond-scope",
        (true, 1, 3) => "address-unreachable",
        (true, 1, 4) => "port-unreachable",
        (true, 1, 5) => "source-policy-failed",
        (true, 1, 6) => "reject-route",
        (true, 3, 0) => "hop-limit-exceeded",
        (true, 3, 1) => "reassembly-time-exceeded",
        (true, 4, 0) => "erroneous-header",
        (true, 4, 1) => "unrecognized-next-header",
        (true, 4, 2) => "unrecognized-option",
        _ => return None,
    })
}

/// "type-name code-name (t/c)", falling back to numbers: the form flow snapshots use.
pub fn icmp_describe(v6: bool, t: u8, c: u8) -> String {
    let tn = icmp_type(v6, t).map_or_else(|| format!("type-{t}"), str::to_string);
    match icmp_code(v6, t, c) {
        Some(cn) => format!("{tn} {cn} ({t}/{c})"),
        None => format!("{tn} ({t}/{c})"),
    }
}

/// Name of an IP protocol number.
pub fn ip_proto(p: u8) -> Option<&'static str> {
    Some(match p {
        1 => "icmp",
        2 => "igmp",
        6 => "tcp",
        17 => "udp",
        41 => "ipv6",
        47 => "gre",
        50 => "esp",
        51 => "ah",
        58 => "icmpv6",
        89 => "ospf",
        112 => "vrrp",
        132 => "sctp",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_unreachable_is_named_with_numbers() {
        assert_eq!(
            icmp_describe(false, 3, 3),
            "destination-unreachable port-unreachable (3/3)"
        );
        assert_eq!(icmp_describe(false, 8, 0), "echo-request (8/0)");
        assert_eq!(icmp_describe(true, 200, 1), "type-200 (200/1)");
    }

    #[test]
    fn fragmentation_needed_and_ttl_exceeded() {
        assert_eq!(icmp_code(false, 3, 4), Some("fragmentation-needed"));
        assert_eq!(icmp_code(false, 11, 0), Some("ttl-exceeded"));
        assert_eq!(icmp_type(true, 2), Some("packet-too-big"));
    }
}
