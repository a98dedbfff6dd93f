//! The rule parser against the real `iptables` program: every argv the parser produces for
//! the valid corpus is accepted, and `iptables -S` lists each appended rule exactly as the
//! rule's canonical text. The other way round, lines the parser refuses because iptables or
//! the kernel would are refused by them too.
//!
//! Everything runs inside a throwaway user + network namespace held open by a `sleep`
//! started with `unshare`; the host's own iptables rules are never touched (the test checks
//! it is in a different network namespace before the first command).

mod kit;

use kit::Netns;
use kit::rules_corpus as corpus;
use labctl::rules::{Command, parse_rule};

fn list(ns: &Netns, table: &str, chain: &str) -> Vec<String> {
    let out = ns.ok("iptables", &["-t", table, "-S", chain]);
    out.lines().map(str::to_owned).collect()
}

#[test]
fn iptables_accepts_every_parsed_rule_and_lists_it_canonically() {
    let (ok, _, err) = Netns::new().run("iptables", &["--version"]);
    assert!(
        ok,
        "iptables does not run: install the Debian package iptables ({err})"
    );
    let ns = Netns::new();
    for &(line, canonical) in corpus::VALID {
        let rule = parse_rule(line).unwrap_or_else(|e| panic!("{line:?}: {e}"));
        let table = rule.table().name();
        let (ok, _, err) = ns.run("iptables", &rule.argv());
        assert!(
            ok,
            "iptables refused {:?} (from {line:?}): {err}",
            rule.argv()
        );
        let prefix = format!("-t {table} ");
        let chain = rule.chain().map(|c| c.name().to_owned());
        match rule.command() {
            Command::Append { chain, .. } => {
                let listed = list(&ns, table, chain.name());
                let expected = canonical.strip_prefix(&prefix).unwrap();
                assert_eq!(
                    listed.last().map(String::as_str),
                    Some(expected),
                    "{line:?}"
                );
            }
            Command::Insert {
                chain,
                position,
                spec,
            } => {
                // The chain's listing starts with its -P or -N line, then the rules.
                let listed = list(&ns, table, chain.name());
                let at = position.unwrap_or(1) as usize;
                let back = parse_rule(&format!("{prefix}{}", listed[at])).unwrap();
                assert_eq!(
                    back.spec(),
                    Some(spec),
                    "{line:?}: listed as {:?}",
                    listed[at]
                );
            }
            Command::Policy { chain, policy } => {
                let listed = list(&ns, table, chain.name());
                assert_eq!(
                    listed[0],
                    format!("-P {chain} {}", policy.name()),
                    "{line:?}"
                );
            }
            Command::NewChain { chain } => {
                assert_eq!(
                    list(&ns, table, chain.as_str()),
                    vec![format!("-N {chain}")]
                );
            }
            Command::DeleteChain { chain: Some(c) } => {
                let (ok, _, _) = ns.run("iptables", &["-t", table, "-S", c.as_str()]);
                assert!(!ok, "{line:?}: chain {c} still exists");
            }
            Command::Flush { chain: Some(c) } => {
                assert_eq!(
                    list(&ns, table, c.name()).len(),
                    1,
                    "{line:?}: {chain:?} not empty"
                );
            }
            _ => {}
        }
    }
}

#[test]
fn iptables_accepts_random_rules_the_parser_accepts() {
    let ns = Netns::new();
    let mut tried = 0;
    for line in corpus::random_lines(8_000, 0xfeed) {
        let Ok(rule) = parse_rule(&line) else {
            continue;
        };
        let (ok, _, err) = ns.run("iptables", &rule.argv());
        assert!(ok, "iptables refused {line:?} (as {rule}): {err}");
        let table = rule.table().name();
        let chain = rule.chain().unwrap();
        let listed = list(&ns, table, chain.name());
        let expected = rule.to_string();
        let expected = expected.strip_prefix(&format!("-t {table} ")).unwrap();
        assert_eq!(
            listed.last().map(String::as_str),
            Some(expected),
            "{line:?}"
        );
        tried += 1;
        if tried == 400 {
            break;
        }
    }
    assert_eq!(tried, 400, "too few random rules parsed");
}

#[test]
fn iptables_itself_refuses_what_the_parser_refuses_as_invalid() {
    // Lines iptables or the kernel reject; the parser must reject them before running anything.
    // Each with the reason iptables gives: a refusal for any other reason (no permission, no
    // nf_tables in the kernel) would say nothing about the rule.
    let refused = [
        (
            "-t filter -A INPUT -p tcp --dport 21 -j REDIRECT --to-ports 8080",
            "failed (Invalid argument)",
        ),
        (
            "-t nat -A POSTROUTING -p tcp -j REDIRECT --to-ports 80",
            "failed (Invalid argument)",
        ),
        (
            "-t nat -A PREROUTING -j MASQUERADE",
            "failed (Invalid argument)",
        ),
        ("-t mangle -A INPUT -j REJECT", "failed (Invalid argument)"),
        (
            "-t nat -A PREROUTING -p tcp --dport 25 -j DROP",
            "not intended for filtering",
        ),
        (
            "-t nat -A PREROUTING -j SNAT --to-source 10.0.0.1",
            "failed (Invalid argument)",
        ),
        ("-A OUTPUT -i eth0 -j DROP", "Can't use -i with OUTPUT"),
        ("-A INPUT -o eth0 -j DROP", "Can't use -o with INPUT"),
        (
            "-A INPUT -p icmp --dport 25 -j DROP",
            "unknown option \"--dport\"",
        ),
        (
            "-A INPUT -m tcp --dport 25 -j DROP",
            "TCP match requires '-p tcp'",
        ),
        ("-A INPUT -m tcp -j DROP", "failed (Invalid argument)"),
        (
            "-A INPUT -m multiport --dports 1,2 -j DROP",
            "multiport needs `-p tcp', `-p udp', `-p udplite', `-p sctp' or `-p dccp'",
        ),
        (
            "-A INPUT -p udp -j REJECT --reject-with tcp-reset",
            "failed (Invalid argument)",
        ),
        (
            "-t nat -A PREROUTING -j DNAT --to-destination 10.0.0.2:80",
            "Need TCP, UDP, SCTP or DCCP with port specification",
        ),
        (
            "-t nat -A PREROUTING -j DNAT",
            "DNAT: option \"--to-destination\" must be specified",
        ),
        (
            "-t nat -A PREROUTING -j REDIRECT --to-ports 80",
            "Need TCP, UDP, SCTP or DCCP with port specification",
        ),
        (
            "-A INPUT -p tcp --dport 70000 -j DROP",
            "invalid port/service `70000' specified",
        ),
        (
            "-A INPUT -p tcp --dport 2000:1000 -j DROP",
            "invalid portrange (min > max)",
        ),
        (
            "-A INPUT -p tcp -m multiport --dports 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16 -j DROP",
            "too many ports specified",
        ),
        (
            "-A INPUT -p tcp --syn --tcp-flags ALL SYN -j DROP",
            "Only one of `--syn' or `--tcp-flags'  allowed",
        ),
        (
            "-A INPUT -p tcp --dport 25 --dport 26 -j DROP",
            "Only one `--destination-port' allowed",
        ),
        ("-A INPUT -j LOG --log-level 8", "log level \"8\" unknown"),
        (
            "-A INPUT -p icmp -m icmp -j DROP",
            "icmp: option \"--icmp-type\" must be specified",
        ),
        (
            "-A INPUT -j DROP -j ACCEPT",
            "multiple -j flags not allowed",
        ),
        (
            "-A INPUT -i eth0 -i eth1 -j ACCEPT",
            "multiple -i flags not allowed",
        ),
        (
            "-A INPUT -s 10.0.0.0/33 -j DROP",
            "invalid mask `33' specified",
        ),
        (
            "-A INPUT ! -s 0.0.0.0/0 -j DROP",
            "failed (Invalid argument)",
        ),
        ("-A INPUT -j accept", "Chain 'accept' does not exist"),
        (
            "-t nat -A PREROUTNG -j ACCEPT",
            "No chain/target/match by that name",
        ),
        (
            "-A PREROUTING -j ACCEPT",
            "No chain/target/match by that name",
        ),
        ("-P FORWARD REJECT", "Bad policy name"),
        ("-t nat -P PREROUTING DROP", "not intended for filtering"),
        ("-P INPUT drop", "Bad policy name"),
        ("-X INPUT", "No chain/target/match by that name"),
        ("-N INPUT", "Chain already exists"),
        (
            "-N abcdefghijabcdefghijabcdefghi",
            "chain name `abcdefghijabcdefghijabcdefghi' too long (must be under 29 chars)",
        ),
        ("-I INPUT 0 -j ACCEPT", "Invalid rule number `0'"),
        ("-t NAT -A OUTPUT -j ACCEPT", "table 'NAT' does not exist"),
        ("-A INPUT -j ACCEPT extra", "Bad argument `extra'"),
    ];
    let ns = Netns::new();
    for (line, reason) in refused {
        assert!(parse_rule(line).is_err(), "parser accepted {line:?}");
        let args: Vec<&str> = line.split_whitespace().collect();
        let (ok, _, err) = ns.run("iptables", &args);
        assert!(!ok, "iptables accepted {line:?}, which the parser refuses");
        assert!(
            err.contains(reason),
            "iptables refused {line:?} for another reason than {reason:?}: {err}"
        );
    }
    // And iptables accepts a valid rule here: the refusals above were of the rules, not of
    // the namespace. (Checked last: a table touched before changes some reasons, such as
    // deleting a built-in chain.)
    let valid = ["-A", "INPUT", "-p", "tcp", "--dport", "25", "-j", "DROP"];
    let (ok, _, err) = ns.run("iptables", &valid);
    assert!(
        ok,
        "iptables refuses even a valid rule in the namespace: {err}"
    );
    assert_eq!(
        list(&ns, "filter", "INPUT").len(),
        2,
        "the valid rule is listed"
    );
}
