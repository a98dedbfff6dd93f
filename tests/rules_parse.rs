//! The iptables rule parser against corpora: valid lines print as their canonical text and
//! parse back to the same rule; malformed and unsupported lines are refused with an error
//! that names the word at fault, at its column.

mod kit;

use kit::rules_corpus as corpus;

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
    assert!(corpus::INVALID.len() >= 30);
    let mut report = String::new();
    for &(line, token) in corpus::INVALID {
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
