//! Rules files: the format `iptables-save` writes and `iptables-restore` reads, as firewalls
//! are kept in version control (`/etc/iptables/rules.v4`).
//!
//! ```text
//! *filter
//! :INPUT DROP [0:0]
//! :SERVICES - [0:0]
//! -A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
//! -A INPUT -j SERVICES
//! [12:720] -A SERVICES -p tcp -m tcp --dport 22 -j ACCEPT
//! COMMIT
//! ```
//!
//! Contract: [`parse_restore`] reads the whole file into the commands it makes, in order, each
//! with its 1-based line: a built-in chain's declaration is its policy (`-P`), a user chain's
//! is `-N` (or `-F` when the chain already exists, as `iptables-restore --noflush` flushes it),
//! and every rule line is read by [`parse_rule`] with the table of its `*TABLE` block, exactly
//! as a single rule is. Each command is applied to the caller's [`Ruleset`], so a jump to a
//! chain nobody declared, or a rule in a chain the table lacks, is refused as iptables refuses
//! it. Packet and byte counters (`[0:0]`) are read and ignored. Refused, with the line and the
//! 0-based char column of the word at fault: an unknown table, anything before the first
//! `*TABLE`, a `-t` inside a block (the block names the table), a policy on a user chain, a
//! table left without `COMMIT`, and any line that is none of `*TABLE`, `:CHAIN POLICY
//! [p:b]`, a rule, `COMMIT`, a blank or a `#` comment.
//!
//! Invariants: input is untrusted; nothing here panics, runs a program or touches a kernel.

use super::eval::Ruleset;
use super::lex::{self, Token, q, suggest};
use super::{BuiltinChain, ParseError, Rule, Table, Target, parse_rule};

/// One command of a rules file and the 1-based line it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreCommand {
    pub line: usize,
    pub rule: Rule,
}

/// A rules file that cannot be loaded: the 1-based line, and the word at fault in it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {error}")]
pub struct RestoreError {
    pub line: usize,
    /// Its column is a 0-based char index into that line.
    pub error: ParseError,
}

/// What may start a line of a rules file, for errors.
const LINE_KINDS: &str =
    "*TABLE, :CHAIN POLICY [0:0], a rule (-A CHAIN ...), COMMIT, a blank line or a # comment";

/// Reads a rules file into its commands, applying each to `ruleset` (the host's rules so far).
pub fn parse_restore(
    text: &str,
    ruleset: &mut Ruleset,
) -> Result<Vec<RestoreCommand>, RestoreError> {
    let mut commands = Vec::new();
    // The open block's table and the line of its `*TABLE`.
    let mut open: Option<(Table, usize)> = None;
    let mut any_table = false;
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let at = |error: ParseError| RestoreError { line, error };
        let words = lex::split(raw).map_err(at)?;
        let Some(first) = words.first() else {
            // Blank, or a comment (`split` stops at a word that starts with `#`).
            continue;
        };
        if let Some(name) = first.text.strip_prefix('*') {
            if let Some((table, opened)) = open {
                return Err(at(lex::err(
                    first,
                    format!(
                        "*{name} begins before the *{} block of line {opened} is committed",
                        table.name()
                    ),
                    "COMMIT on a line of its own at the end of each table's block",
                )));
            }
            let table = table_named(first, name).map_err(at)?;
            extra_words(&words[1..]).map_err(at)?;
            open = Some((table, line));
            any_table = true;
        } else if first.text == "COMMIT" {
            if open.take().is_none() {
                return Err(at(lex::err(
                    first,
                    "COMMIT outside a table's block",
                    "a *TABLE line (*filter) before the table's chains and rules",
                )));
            }
            extra_words(&words[1..]).map_err(at)?;
        } else if let Some(name) = first.text.strip_prefix(':') {
            let table = in_table(&open, first).map_err(at)?;
            let rule = declaration(table, first, name, &words[1..], ruleset).map_err(at)?;
            apply(ruleset, &rule, &words, line).map_err(at)?;
            commands.push(RestoreCommand { line, rule });
        } else if first.text.starts_with('-') || first.text.starts_with('[') {
            let table = in_table(&open, first).map_err(at)?;
            let rule = rule_line(table, raw, &words).map_err(at)?;
            apply(ruleset, &rule, &words, line).map_err(at)?;
            commands.push(RestoreCommand { line, rule });
        } else {
            return Err(at(lex::err(
                first,
                format!("{} does not begin a line of a rules file", q(&first.text)),
                LINE_KINDS,
            )));
        }
    }
    if let Some((table, opened)) = open {
        let word = Token {
            text: format!("*{}", table.name()),
            col: text
                .lines()
                .nth(opened - 1)
                .map_or(0, |l| l.chars().take_while(|c| c.is_whitespace()).count()),
        };
        return Err(RestoreError {
            line: opened,
            error: lex::err(
                &word,
                format!("the *{} block is never committed", table.name()),
                "a COMMIT line at the end of the table's block",
            ),
        });
    }
    if !any_table {
        return Err(RestoreError {
            line: 1,
            error: ParseError::new(
                0,
                "",
                "no table in the file",
                "a *TABLE line (*filter), the table's chains and rules, then COMMIT",
            ),
        });
    }
    Ok(commands)
}

fn table_named(word: &Token, name: &str) -> Result<Table, ParseError> {
    if let Some(table) = Table::ALL.into_iter().find(|t| t.name() == name) {
        return Ok(table);
    }
    let names: Vec<&str> = Table::ALL.iter().map(|t| t.name()).collect();
    let mut e = lex::err(
        word,
        format!("unknown table {}", q(name)),
        format!("one of {}", names.join(", ")),
    );
    e.suggestion = suggest(name, &names).map(|s| format!("*{s}"));
    Err(e)
}

fn in_table(open: &Option<(Table, usize)>, word: &Token) -> Result<Table, ParseError> {
    open.map(|(table, _)| table).ok_or_else(|| {
        lex::err(
            word,
            format!("{} before any table", q(&word.text)),
            "a *TABLE line (*filter) before the table's chains and rules",
        )
    })
}

fn extra_words(rest: &[Token]) -> Result<(), ParseError> {
    match rest.first() {
        Some(w) => Err(lex::err(
            w,
            format!("unexpected {}", q(&w.text)),
            "the end of the line",
        )),
        None => Ok(()),
    }
}

/// `[PACKETS:BYTES]`, which `iptables-save -c` writes; the values are not used.
fn counters(word: &Token) -> Result<(), ParseError> {
    let ok = word
        .text
        .strip_prefix('[')
        .and_then(|w| w.strip_suffix(']'))
        .and_then(|w| w.split_once(':'))
        .is_some_and(|(p, b)| {
            [p, b]
                .iter()
                .all(|n| !n.is_empty() && n.bytes().all(|c| c.is_ascii_digit()))
        });
    if ok {
        Ok(())
    } else {
        Err(lex::err(
            word,
            format!("bad counters {}", q(&word.text)),
            "[PACKETS:BYTES], e.g. [0:0]",
        ))
    }
}

/// `:CHAIN POLICY [p:b]`: a built-in chain's policy, or a user chain (policy `-`).
fn declaration(
    table: Table,
    first: &Token,
    name: &str,
    rest: &[Token],
    ruleset: &Ruleset,
) -> Result<Rule, ParseError> {
    let name_word = Token {
        text: name.to_string(),
        col: first.col + 1,
    };
    let Some(policy) = rest.first() else {
        return Err(ParseError::new(
            first.col + first.text.chars().count(),
            "",
            format!("no policy for chain {}", q(name)),
            "ACCEPT or DROP for a built-in chain, - for a user chain",
        ));
    };
    if let Some(c) = rest.get(1) {
        counters(c)?;
    }
    extra_words(rest.get(2..).unwrap_or(&[]))?;
    let builtin = BuiltinChain::from_name(name).filter(|c| table.has_builtin(*c));
    let (command, words) = match builtin {
        Some(_) => (
            format!("-t {} -P {name} {}", table.name(), policy.text),
            [&name_word, policy],
        ),
        None if policy.text != "-" => {
            return Err(lex::err(
                policy,
                format!(
                    "{} is not a built-in chain of the {} table: it has no policy",
                    q(name),
                    table.name()
                ),
                format!(
                    "- as the policy of a user chain, or one of the built-in chains {}",
                    chain_names(table)
                ),
            ));
        }
        None if ruleset.chain(table, name).is_some() => (
            format!("-t {} -F {name}", table.name()),
            [&name_word, policy],
        ),
        None => (
            format!("-t {} -N {name}", table.name()),
            [&name_word, policy],
        ),
    };
    // The parser read the words of `command`, not of the file's line: its error names a word,
    // which is the chain or the policy.
    parse_rule(&command).map_err(|mut e| {
        let word = words
            .into_iter()
            .find(|w| w.text == e.token)
            .unwrap_or(&name_word);
        e.col = word.col;
        e
    })
}

fn chain_names(table: Table) -> String {
    let names: Vec<&str> = table.builtin_chains().iter().map(|c| c.name()).collect();
    names.join(", ")
}

/// A rule line, with or without counters before it, read with the block's table.
fn rule_line(table: Table, raw: &str, words: &[Token]) -> Result<Rule, ParseError> {
    let skip = match words.first() {
        Some(w) if w.text.starts_with('[') => {
            counters(w)?;
            1
        }
        _ => 0,
    };
    if let Some(t) = words
        .iter()
        .find(|w| w.text == "-t" || w.text == "--table" || w.text.starts_with("--table="))
    {
        return Err(lex::err(
            t,
            format!("{} inside a table's block", q(&t.text)),
            format!(
                "the rule without it: the *{} line above names its table",
                table.name()
            ),
        ));
    }
    // The rule as written, from its first word on (counters left out).
    let start = words.get(skip).map_or(raw.chars().count(), |w| w.col);
    let rest: String = raw.chars().skip(start).collect();
    if rest.trim().is_empty() {
        return Err(ParseError::new(
            start,
            "",
            "counters without a rule",
            "a rule after the counters, e.g. [0:0] -A INPUT -j ACCEPT",
        ));
    }
    let prefix = format!("-t {} ", table.name());
    parse_rule(&format!("{prefix}{rest}")).map_err(|mut e| {
        e.col = (e.col + start)
            .saturating_sub(prefix.chars().count())
            .max(start);
        e
    })
}

/// Applies a command to the rule set; what iptables would refuse in that state is an error
/// at the word it is about (the chain, or the chain jumped to).
fn apply(
    ruleset: &mut Ruleset,
    rule: &Rule,
    words: &[Token],
    line: usize,
) -> Result<(), ParseError> {
    ruleset.apply(rule, line).map_err(|problem| {
        let table = rule.table();
        let chain = rule.chain().map(|c| c.name().to_string());
        let missing_chain = chain
            .as_deref()
            .filter(|c| ruleset.chain(table, c).is_none());
        let jump = match rule.target() {
            Some(Target::Jump(c)) => Some(c.as_str().to_string()),
            _ => None,
        };
        let about = missing_chain.map(str::to_string).or(jump);
        let word = about
            .as_deref()
            .and_then(|name| {
                words
                    .iter()
                    .find(|w| w.text == name || w.text == format!(":{name}"))
            })
            .or(words.first());
        let (col, token) = word.map_or((0, String::new()), |w| (w.col, w.text.clone()));
        ParseError::new(
            col,
            token,
            problem,
            format!(
                "a chain declared in the *{} block (:NAME - [0:0]) before rules use it",
                table.name()
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::Policy;
    use crate::rules::eval::{Decision, Packet};

    const FILE: &str = "# Generated by iptables-save v1.8.9 (nf_tables)\n\
*filter\n\
:INPUT DROP [0:0]\n\
:FORWARD DROP [3:180]\n\
:OUTPUT ACCEPT [0:0]\n\
:SERVICES - [0:0]\n\
[5:300] -A INPUT -i lo -j ACCEPT\n\
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n\
-A INPUT -j SERVICES\n\
-A SERVICES -p tcp -m tcp --dport 22 -j ACCEPT\n\
COMMIT\n\
*nat\n\
:PREROUTING ACCEPT [0:0]\n\
-A PREROUTING -i eth0 -p tcp -m tcp --dport 2222 -j REDIRECT --to-ports 22\n\
COMMIT\n";

    fn load(text: &str) -> Result<(Vec<RestoreCommand>, Ruleset), RestoreError> {
        let mut ruleset = Ruleset::new();
        let commands = parse_restore(text, &mut ruleset)?;
        Ok((commands, ruleset))
    }

    fn fails(text: &str) -> RestoreError {
        load(text).expect_err("must be refused")
    }

    fn syn(dport: u16) -> Packet {
        Packet::test_syn(dport)
    }

    #[test]
    fn a_saved_file_is_read_into_the_commands_it_makes() {
        let (commands, ruleset) = load(FILE).unwrap();
        let shown: Vec<String> = commands
            .iter()
            .map(|c| format!("{} {}", c.line, c.rule))
            .collect();
        assert_eq!(
            shown,
            [
                "3 -t filter -P INPUT DROP",
                "4 -t filter -P FORWARD DROP",
                "5 -t filter -P OUTPUT ACCEPT",
                "6 -t filter -N SERVICES",
                "7 -t filter -A INPUT -i lo -j ACCEPT",
                "8 -t filter -A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
                "9 -t filter -A INPUT -j SERVICES",
                "10 -t filter -A SERVICES -p tcp -m tcp --dport 22 -j ACCEPT",
                "13 -t nat -P PREROUTING ACCEPT",
                "14 -t nat -A PREROUTING -i eth0 -p tcp -m tcp --dport 2222 -j REDIRECT --to-ports 22",
            ]
        );
        // The rule set is the kernel's: SSH passes through the user chain, the rest meets the
        // policy.
        let walk = ruleset.walk(Table::Filter, BuiltinChain::Input, &syn(22));
        assert_eq!(walk.chains, ["INPUT", "SERVICES"]);
        assert!(matches!(walk.decision, Decision::Rule { line: 10, .. }));
        let walk = ruleset.walk(Table::Filter, BuiltinChain::Input, &syn(80));
        assert_eq!(walk.decision, Decision::Policy(Policy::Drop));
    }

    #[test]
    fn a_user_chain_declared_again_is_flushed_as_restore_does() {
        let text = "*filter\n:X - [0:0]\n-A X -j ACCEPT\nCOMMIT\n*filter\n:X - [0:0]\nCOMMIT\n";
        let (commands, ruleset) = load(text).unwrap();
        assert_eq!(commands[2].rule.to_string(), "-t filter -F X");
        assert!(ruleset.chain(Table::Filter, "X").unwrap().is_empty());
    }

    #[test]
    fn unknown_table_points_at_its_name() {
        let e = fails("*filtre\nCOMMIT\n");
        assert_eq!((e.line, e.error.col), (1, 0), "{e}");
        assert!(e.error.problem.contains("unknown table \"filtre\""), "{e}");
        assert_eq!(e.error.suggestion.as_deref(), Some("*filter"));
        let e = fails("*security\nCOMMIT\n");
        assert!(e.error.expected.contains("filter, nat, mangle, raw"), "{e}");
    }

    #[test]
    fn a_rule_before_any_table_is_refused() {
        let e = fails("# rules\n-A INPUT -j ACCEPT\n*filter\nCOMMIT\n");
        assert_eq!((e.line, e.error.col), (2, 0), "{e}");
        assert!(e.error.problem.contains("before any table"), "{e}");
        let e = fails(":INPUT DROP [0:0]\n");
        assert_eq!(e.line, 1, "{e}");
        assert!(e.error.problem.contains("before any table"), "{e}");
    }

    #[test]
    fn a_missing_commit_is_refused_where_the_block_begins() {
        let e = fails("# saved\n*filter\n:INPUT DROP [0:0]\n-A INPUT -j ACCEPT\n");
        assert_eq!((e.line, e.error.col), (2, 0), "{e}");
        assert!(e.error.problem.contains("never committed"), "{e}");
        let e = fails("*filter\n-A INPUT -j ACCEPT\n*nat\nCOMMIT\n");
        assert_eq!(e.line, 3, "{e}");
        assert!(e.error.problem.contains("line 1 is committed"), "{e}");
        let e = fails("COMMIT\n");
        assert!(e.error.problem.contains("outside"), "{e}");
        let e = fails("# nothing\n\n");
        assert!(e.error.problem.contains("no table"), "{e}");
    }

    #[test]
    fn a_bad_rule_is_refused_at_its_word_with_counters_before_it() {
        let e = fails("*filter\n[0:0] -A INPUT -p tcp --dport 22 -j ACCPET\nCOMMIT\n");
        assert_eq!(e.line, 2, "{e}");
        assert_eq!(e.error.col, 36, "{e}");
        assert_eq!(e.error.token, "ACCPET");
        assert_eq!(e.error.suggestion.as_deref(), Some("ACCEPT"));
        let e = fails(
            "*nat\n-A PREROUTING -p tcp --dport 80 -j DNAT --to-destination 10.0.0.2\n-A FORWARD -j ACCEPT\nCOMMIT\n",
        );
        assert_eq!(e.line, 3, "{e}");
        assert_eq!((e.error.col, e.error.token.as_str()), (3, "FORWARD"), "{e}");
    }

    #[test]
    fn table_options_policies_and_jumps_are_checked() {
        let e = fails("*filter\n-t nat -A PREROUTING -j ACCEPT\nCOMMIT\n");
        assert_eq!((e.line, e.error.col), (2, 0), "{e}");
        assert!(e.error.problem.contains("inside a table's block"), "{e}");
        let e = fails("*filter\n:SERVICES ACCEPT [0:0]\nCOMMIT\n");
        assert_eq!((e.line, e.error.col), (2, 10), "{e}");
        assert!(e.error.problem.contains("has no policy"), "{e}");
        let e = fails("*filter\n:INPUT REJECT [0:0]\nCOMMIT\n");
        assert_eq!(
            (e.line, e.error.col, e.error.token.as_str()),
            (2, 7, "REJECT"),
            "{e}"
        );
        let e = fails("*filter\n-A INPUT -j SERVICES\nCOMMIT\n");
        assert_eq!((e.line, e.error.col), (2, 12), "{e}");
        assert!(e.error.problem.contains("SERVICES"), "{e}");
        let e = fails("*filter\n-A NOPE -j ACCEPT\nCOMMIT\n");
        assert_eq!(
            (e.line, e.error.col, e.error.token.as_str()),
            (2, 3, "NOPE"),
            "{e}"
        );
        let e = fails("*filter\n:INPUT DROP [x:0]\nCOMMIT\n");
        assert!(e.error.problem.contains("bad counters"), "{e}");
        let e = fails("*filter\niptables -A INPUT -j ACCEPT\nCOMMIT\n");
        assert!(e.error.problem.contains("does not begin a line"), "{e}");
    }

    #[test]
    fn random_files_of_the_format_s_words_never_panic_and_errors_stay_on_their_line() {
        const WORDS: &[&str] = &[
            "*filter",
            "*nat",
            "*raw",
            ":INPUT",
            ":SERVICES",
            ":PREROUTING",
            "DROP",
            "ACCEPT",
            "-",
            "[0:0]",
            "[1:x]",
            "-A",
            "-I",
            "-N",
            "-P",
            "-X",
            "-F",
            "INPUT",
            "SERVICES",
            "-j",
            "-p",
            "tcp",
            "--dport",
            "22",
            "-t",
            "COMMIT",
            "#",
            "\"",
            "'",
            "\\",
            "\n",
            "\n",
            "\n",
            "é",
            "!",
        ];
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..3_000 {
            let n = (next() % 30) as usize;
            let text: String = (0..n)
                .map(|_| WORDS[(next() % WORDS.len() as u64) as usize])
                .collect::<Vec<_>>()
                .join(" ");
            if let Err(e) = load(&text) {
                let lines = text.lines().count().max(1);
                assert!(e.line >= 1 && e.line <= lines, "{e} in {text:?}");
                let line = text.lines().nth(e.line - 1).unwrap_or("");
                assert!(e.error.col <= line.chars().count(), "{e} in {text:?}");
            }
        }
    }

    #[test]
    fn no_input_panics() {
        for text in [
            "*",
            ":",
            "[",
            "*filter\n:",
            "*filter\n[1:2]",
            "*filter\n[1:2] \n",
            "\u{feff}*filter",
        ] {
            let _ = load(text);
        }
    }
}
