//! The iptables rule parser against corpora: valid lines print as their canonical text and
//! parse back to the same rule; malformed and unsupported lines are refused with an error
//! that names the word at fault, at its column.

#[path = "common/rules_corpus.rs"]
mod corpus;

use labctl::rules::{ParseError, parse_route, parse_rule, script_commands};

#[test]
fn valid_rules_print_canonically_and_round_trip() {
    for &(line, canonical) in corpus::VALID {
        let rule = parse_rule(line).unwrap_or_else(|e| panic!("{line:?}: {e}"));
        assert_eq!(rule.to_string(), canonical, "{line:?}");
        let again = parse_rule(canonical).unwrap_or_else(|e| panic!("{canonical:?}: {e}"));
        assert_eq!(again, rule, "{canonical:?}");
        // argv is Display's words, unquoted.
        let words: Vec<String> = again.argv();
        assert_eq!(words.first().map(String::as_str), Some("-t"));
        assert_eq!(
            parse_rule(&shell_join(&words)).unwrap(),
            rule,
            "{canonical:?}"
        );
    }
}

/// Joins argv for the parser with single quotes, a different quoting from Display's.
fn shell_join(words: &[String]) -> String {
    let quoted: Vec<String> = words
        .iter()
        .map(|w| format!("'{}'", w.replace('\'', r"'\''")))
        .collect();
    quoted.join(" ")
}

/// (line, the word the error must name). The column must point at that word.
const INVALID: &[(&str, &str)] = &[
    // Misspellings get a suggestion.
    ("-A INPUT -j REDIRCT", "REDIRCT"),
    ("-A INPUT -j accept", "accept"),
    ("-A INPUT -j DORP", "DORP"),
    ("-t nat -A PREROUTNG -j ACCEPT", "PREROUTNG"),
    ("-t NAT -A OUTPUT -j ACCEPT", "NAT"),
    ("-t nat -a OUTPUT -j ACCEPT", "-a"),
    ("-A INPUT -p tcp --dprt 22 -j ACCEPT", "--dprt"),
    ("-A INPUT -p tcp --dport smtpp -j DROP", "smtpp"),
    ("-A INPUT -m state --state NEWW -j ACCEPT", "NEWW"),
    (
        "-A INPUT -p icmp --icmp-type echo-requst -j ACCEPT",
        "echo-requst",
    ),
    (
        "-A INPUT -p tcp -j REJECT --reject-with icmp-host-unreach",
        "icmp-host-unreach",
    ),
    ("-A INPUT -m conntrak --ctstate NEW -j ACCEPT", "conntrak"),
    // Chains and tables that do not fit together.
    ("-A PREROUTING -j ACCEPT", "PREROUTING"),
    ("-t raw -A INPUT -j ACCEPT", "INPUT"),
    (
        "-t filter -A INPUT -p tcp --dport 21 -j REDIRECT --to-ports 8080",
        "REDIRECT",
    ),
    (
        "-t nat -A POSTROUTING -p tcp -j REDIRECT --to-ports 80",
        "REDIRECT",
    ),
    ("-t nat -A PREROUTING -j MASQUERADE", "MASQUERADE"),
    ("-t mangle -A INPUT -j REJECT", "REJECT"),
    ("-t nat -A PREROUTING -p tcp --dport 25 -j DROP", "DROP"),
    ("-t nat -A PREROUTING -j SNAT --to-source 10.0.0.1", "SNAT"),
    ("-A OUTPUT -i eth0 -j DROP", "-i"),
    ("-A INPUT -o eth0 -j DROP", "-o"),
    ("-t nat -A POSTROUTING -i eth0 -j MASQUERADE", "-i"),
    // Options that need a protocol or module.
    ("-A INPUT --dport 25 -j DROP", "--dport"),
    ("-A INPUT -p icmp --dport 25 -j DROP", "--dport"),
    ("-A INPUT ! -p tcp --dport 25 -j DROP", "--dport"),
    ("-A INPUT -p tcp --icmp-type 8 -j DROP", "--icmp-type"),
    ("-A INPUT -m tcp --dport 25 -j DROP", "tcp"),
    ("-A INPUT -p udp -m tcp -j DROP", "tcp"),
    ("-A INPUT -m multiport --dports 1,2 -j DROP", "multiport"),
    ("-A INPUT -p tcp --dports 1,2 -j DROP", "--dports"),
    ("-A INPUT -m state -j ACCEPT", "state"),
    ("-A INPUT --state NEW -j ACCEPT", "--state"),
    (
        "-A INPUT -p udp -j REJECT --reject-with tcp-reset",
        "tcp-reset",
    ),
    (
        "-t nat -A PREROUTING -j DNAT --to-destination 10.0.0.2:80",
        "--to-destination",
    ),
    (
        "-t nat -A PREROUTING -j REDIRECT --to-ports 80",
        "--to-ports",
    ),
    // Targets and their options.
    ("-t nat -A PREROUTING -j DNAT", "DNAT"),
    ("-A INPUT -p tcp -j ACCEPT --to-ports 80", "--to-ports"),
    (
        "-t nat -A PREROUTING -p tcp --to-ports 80 -j REDIRECT",
        "--to-ports",
    ),
    (
        "-t nat -A OUTPUT -p tcp -j DNAT --to-source 10.0.0.1",
        "--to-source",
    ),
    ("-A INPUT -j INPUT", "INPUT"),
    ("-A INPUT -j QUEUE", "QUEUE"),
    ("-A MYCHAIN -j MYCHAIN", "MYCHAIN"),
    (
        "-A INPUT -j LOG --log-prefix abcdefghijabcdefghijabcdefghij",
        "abcdefghijabcdefghijabcdefghij",
    ),
    ("-A INPUT -j LOG --log-level 8", "8"),
    ("-A INPUT -j LOG --log-prefix ''", ""),
    ("-A INPUT -p icmp -m icmp -j DROP", "icmp"),
    (
        "-A INPUT -p tcp -j REJECT --reject-with tcp-reset --reject-with tcp-reset",
        "--reject-with",
    ),
    ("-A INPUT -j DROP -j ACCEPT", "-j"),
    ("-A INPUT -j bad/name", "bad/name"),
    // Values out of range or malformed.
    ("-A INPUT -p tcp --dport 70000 -j DROP", "70000"),
    ("-A INPUT -p tcp --dport 2000:1000 -j DROP", "2000:1000"),
    (
        "-t nat -A PREROUTING -p tcp -j REDIRECT --to-ports 80-70",
        "80-70",
    ),
    (
        "-A INPUT -p tcp -m multiport --dports 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16 -j DROP",
        "16",
    ),
    ("-A INPUT -p tcp -m multiport --dports 21,,25 -j DROP", ""),
    ("-A INPUT -s 10.0.0.1,10.0.0.2 -j DROP", "10.0.0.1,10.0.0.2"),
    ("-A INPUT -d ::1 -j DROP", "::1"),
    ("-A INPUT -s 10.0.0.0/33 -j DROP", "10.0.0.0/33"),
    ("-A INPUT -s localhost -j DROP", "localhost"),
    ("-A INPUT -i eth0@if3 -j DROP", "eth0@if3"),
    ("-A INPUT -p gre -j DROP", "gre"),
    ("-A INPUT -p tcp --tcp-flags SYN -j DROP", "-j"),
    ("-A INPUT -m state --state SNAT -j ACCEPT", "SNAT"),
    ("-D INPUT 0", "0"),
    ("-I INPUT 99999999999 -j ACCEPT", "99999999999"),
    // Duplicates and conflicts.
    ("-A INPUT -i eth0 -i eth1 -j ACCEPT", "-i"),
    ("-A INPUT -p tcp --dport 25 --dport 26 -j DROP", "--dport"),
    (
        "-A INPUT -p tcp --syn --tcp-flags ALL SYN -j DROP",
        "--tcp-flags",
    ),
    ("-A INPUT -p tcp -m tcp -m tcp --dport 22 -j ACCEPT", "tcp"),
    (
        "-A INPUT -p tcp -m multiport --dports 25 --sports 80 -j DROP",
        "--sports",
    ),
    ("-A INPUT -p tcp --dport 22 -j ACCEPT -A OUTPUT", "-A"),
    // Negation in the wrong place.
    ("-A INPUT -p tcp --dport ! 25 -j DROP", "!"),
    ("-A INPUT -s ! 10.0.0.1 -j DROP", "!"),
    ("! -A INPUT -j ACCEPT", "!"),
    ("-A INPUT ! -j ACCEPT", "!"),
    ("-A INPUT -j ACCEPT !", "!"),
    ("-A INPUT ! ! -s 10.0.0.1 -j ACCEPT", "!"),
    ("-A INPUT ! -s 0.0.0.0/0 -j DROP", "!"),
    ("-A INPUT ! -p all -j DROP", "!"),
    // Commands and their arguments.
    ("-P FORWARD REJECT", "REJECT"),
    ("-P FORWARD drop", "drop"),
    ("-t nat -P PREROUTING DROP", "DROP"),
    ("-P MYCHAIN DROP", "MYCHAIN"),
    ("-N INPUT", "INPUT"),
    ("-N ACCEPT", "ACCEPT"),
    ("-N LOGS", "LOGS"),
    ("-X INPUT", "INPUT"),
    (
        "-N abcdefghijabcdefghijabcdefghi",
        "abcdefghijabcdefghijabcdefghi",
    ),
    ("-N -foo", "-foo"),
    ("-F INPUT -p tcp", "-p"),
    ("-D INPUT 2 -j ACCEPT", "-j"),
    ("-A INPUT -p tcp --syn=1 -j DROP", "1"),
    ("iptables -L -n", "-L"),
    ("iptables -A INPUT -g MYCHAIN", "-g"),
    ("-A INPUT -m limit --limit 5/min -j ACCEPT", "limit"),
    ("-A INPUT -m comment --comment x -j ACCEPT", "comment"),
    ("-j ACCEPT", "-j"),
    // Other programs, stray words, shell syntax.
    ("ip6tables -A INPUT -j DROP", "ip6tables"),
    ("sudo ip route add 10.0.0.0/8 dev eth0", "ip"),
    ("sudo -A INPUT -j DROP", "-A"),
    ("-A INPUT -j ACCEPT extra", "extra"),
    ("-A INPUT ACCEPT", "ACCEPT"),
    ("-A INPUT -j ACCEPT; reboot", ";"),
    ("-A INPUT -j ACCEPT && reboot", "&"),
    ("-A INPUT -j LOG --log-prefix \"$(id)\"", "$"),
    ("-A INPUT -j LOG --log-prefix 'unterminated", "'"),
    // Missing pieces: the error sits at the end of the line with an empty word.
    ("", ""),
    ("sudo", ""),
    ("-A", ""),
    ("-A INPUT -p", ""),
    ("-A INPUT -j", ""),
    ("-t nat -A PREROUTING -p tcp --tcp-flags SYN", ""),
    ("-P INPUT", ""),
];

fn check(line: &str, token: &str) -> ParseError {
    let e = match parse_rule(line) {
        Ok(rule) => panic!("{line:?} was accepted as {rule}"),
        Err(e) => e,
    };
    assert_eq!(e.token, token, "{line:?}: {e}");
    let at: String = line.chars().skip(e.col).collect();
    if token.is_empty() {
        // The end of the line, an empty list entry, or an empty quoted word.
        assert!(
            at.is_empty() || at.starts_with([',', '\'']),
            "{line:?} col {}: {e}",
            e.col
        );
    } else {
        assert!(
            at.starts_with(token),
            "{line:?}: col {} is at {at:?}: {e}",
            e.col
        );
    }
    let message = e.to_string();
    assert!(message.contains(": expected "), "{message}");
    assert!(!message.starts_with(char::is_uppercase), "{message}");
    assert!(!message.ends_with('.'), "{message}");
    e
}

#[test]
fn malformed_and_unsupported_rules_name_the_word_at_fault() {
    assert!(INVALID.len() >= 30);
    let mut report = String::new();
    for &(line, token) in INVALID {
        let e = check(line, token);
        report.push_str(&format!("{line}\n  {}: {e}\n", e.col));
    }
    insta::assert_snapshot!(report);
}

#[test]
fn a_misspelt_target_is_explained_with_a_suggestion() {
    let e =
        parse_rule("iptables -t nat -A PREROUTING -p tcp --dport 21 -j REDIRCT --to-port 27664")
            .unwrap_err();
    assert_eq!(
        e.to_string(),
        "unknown target \"REDIRCT\": expected one of ACCEPT, DROP, REJECT, REDIRECT, DNAT, SNAT, \
         MASQUERADE, LOG, RETURN or a chain created with -N (did you mean REDIRECT?)"
    );
    assert_eq!((e.col, e.token.as_str()), (51, "REDIRCT"));
    assert_eq!(e.suggestion.as_deref(), Some("REDIRECT"));
}

#[test]
fn random_rules_that_parse_round_trip_through_their_canonical_text() {
    let mut accepted = 0;
    for line in corpus::random_lines(20_000, 0x5eed) {
        let Ok(rule) = parse_rule(&line) else {
            continue;
        };
        accepted += 1;
        let text = rule.to_string();
        let again = parse_rule(&text).unwrap_or_else(|e| panic!("{line:?} -> {text:?}: {e}"));
        assert_eq!(again, rule, "{line:?} -> {text:?}");
        assert_eq!(again.to_string(), text);
    }
    // The sweep must exercise both sides of the checks.
    assert!(
        (1_000..19_000).contains(&accepted),
        "{accepted} of 20000 accepted"
    );
}

#[test]
fn garbage_never_panics() {
    // Every prefix and every single-char deletion of the valid corpus, plus noise.
    let mut lines: Vec<String> = Vec::new();
    for &(line, canonical) in corpus::VALID {
        for text in [line, canonical] {
            let chars: Vec<char> = text.chars().collect();
            for i in 0..chars.len() {
                lines.push(chars[..i].iter().collect());
                let mut cut = chars.clone();
                cut.remove(i);
                lines.push(cut.into_iter().collect());
            }
        }
    }
    lines.extend(
        [
            "\0",
            "-",
            "--",
            "---",
            "--=",
            "-A=INPUT",
            "--append=",
            "'",
            "\"",
            "\\",
            "é ü 日本",
            "-A \u{7f}",
        ]
        .map(String::from),
    );
    for line in &lines {
        if let Err(e) = parse_rule(line) {
            assert!(e.col <= line.chars().count(), "{line:?}: {e}");
        }
    }
}

#[test]
fn a_submission_script_reports_errors_by_file_line_and_column() {
    let script = "\
# homework: redirect 21 to the dump server
sudo iptables -t nat -A PREROUTING -i eth0 \\
    -m tcp -p tcp --dport 21 \\
    -j REDIRECT --to-port 27664

sudo ip ro add 8.8.8.8/32 dev vpn0
iptables -t nat -A PREROUTING -i eth0 \\
    -m tcp -p tcp --dport 21 \\
    -j REDIRCT --to-port 27664
";
    let mut results = Vec::new();
    for cmd in script_commands(script) {
        let words: Vec<&str> = cmd.text.split_whitespace().collect();
        let outcome = if words.contains(&"ip") {
            parse_route(cmd.text).map(|r| r.to_string())
        } else {
            parse_rule(cmd.text).map(|r| r.to_string())
        };
        results.push(outcome.map_err(|e| (cmd.position(e.col), e.token)));
    }
    assert_eq!(
        results,
        [
            Ok("-t nat -A PREROUTING -i eth0 -p tcp -m tcp --dport 21 -j REDIRECT --to-ports 27664"
                .to_owned()),
            Ok("ip route add 8.8.8.8 dev vpn0".to_owned()),
            Err(((9, 7), "REDIRCT".to_owned())),
        ]
    );
}
