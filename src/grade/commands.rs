//! A student's `commands.sh`, read and never run.
//!
//! Contract: [`Commands::read`] takes the file's bytes (any bytes: not UTF-8, shell syntax,
//! command substitution) and returns every command with its line, program and words. Lines of
//! the `iptables` program (with or without `sudo`, `/sbin/` and the like) are parsed into a
//! typed [`Rule`] for the lab to apply as an argument vector; listing commands (`-L`, `-S`)
//! are recognised and left alone; anything else is only read, to understand what the student
//! did. Every iptables line also gets a [`Loose`] reading, word by word, so that feedback can
//! name the table, chain and ports of a rule even when iptables would refuse it.

use crate::rules::{Rule, script_commands};

/// More than this many commands are not read: a homework has a few dozen.
const MAX_COMMANDS: usize = 1000;

/// One command of commands.sh.
#[derive(Debug, Clone)]
pub struct Line {
    /// 1-based line in commands.sh.
    pub line: usize,
    /// The words, split on blanks with quotes removed (a loose reading for understanding).
    pub words: Vec<String>,
    /// The program, without `sudo` and a directory: `iptables`, `nc`, `telnet`.
    pub program: String,
    pub iptables: Option<Iptables>,
}

/// An iptables line.
#[derive(Debug, Clone)]
pub struct Iptables {
    pub loose: Loose,
    /// Only lists rules (`-L`, `-S`): not applied, not an error.
    pub listing: bool,
    /// The typed rule, or why it cannot be applied.
    pub parsed: Result<Rule, String>,
}

#[derive(Debug, Clone, Default)]
pub struct Commands {
    pub lines: Vec<Line>,
    /// Lines that were not UTF-8 (read with replacement characters).
    pub not_utf8: Vec<usize>,
    /// Commands past [`MAX_COMMANDS`], not read.
    pub ignored: usize,
}

impl Commands {
    pub fn read(bytes: &[u8]) -> Commands {
        let mut not_utf8 = Vec::new();
        for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
            if std::str::from_utf8(line).is_err() {
                not_utf8.push(i + 1);
            }
        }
        let text = String::from_utf8_lossy(bytes);
        let all = script_commands(&text);
        let ignored = all.len().saturating_sub(MAX_COMMANDS);
        let lines = all
            .into_iter()
            .take(MAX_COMMANDS)
            .map(|c| {
                let words = words(c.text);
                let program = program(&words);
                let iptables = matches!(
                    program.as_str(),
                    "iptables" | "iptables-nft" | "iptables-legacy"
                )
                .then(|| {
                    let loose = Loose::read(c.text);
                    Iptables {
                        listing: loose.listing,
                        parsed: crate::rules::parse_rule(c.text).map_err(|e| {
                            let (line, col) = c.position(e.col);
                            format!("line {line}, column {}: {e}", col + 1)
                        }),
                        loose,
                    }
                });
                Line {
                    line: c.line,
                    words,
                    program,
                    iptables,
                }
            })
            .collect();
        Commands {
            lines,
            not_utf8,
            ignored,
        }
    }

    pub fn iptables(&self) -> impl Iterator<Item = (&Line, &Iptables)> {
        self.lines
            .iter()
            .filter_map(|l| l.iptables.as_ref().map(|i| (l, i)))
    }

    /// The line that starts a listener on `port` (`nc -l -p 27664`, `nc -lk 27664`,
    /// `ncat -l 27664`, `socat TCP-LISTEN:27664 ...`).
    pub fn listener(&self, port: u16) -> Option<&Line> {
        let p = port.to_string();
        self.lines.iter().find(|l| match l.program.as_str() {
            "nc" | "ncat" | "netcat" | "nc.openbsd" | "nc.traditional" => {
                let listens = l.words.iter().any(|w| {
                    w == "--listen"
                        || (w.starts_with('-') && !w.starts_with("--") && w.contains('l'))
                });
                listens && l.words.contains(&p)
            }
            "socat" => l.words.iter().any(|w| {
                let w = w.to_ascii_uppercase();
                w.starts_with(&format!("TCP-LISTEN:{p}"))
                    || w.starts_with(&format!("TCP4-LISTEN:{p}"))
                    || w.starts_with(&format!("TCP-L:{p}"))
            }),
            _ => false,
        })
    }
}

impl Commands {
    /// The first line running one of `programs` with every word of `has`.
    pub fn running(&self, programs: &[String], has: &[String]) -> Option<&Line> {
        self.lines.iter().find(|l| {
            programs.contains(&l.program)
                && has.iter().all(|h| {
                    l.words.iter().any(|w| {
                        let w = w.to_ascii_lowercase();
                        let h = h.to_ascii_lowercase();
                        w == h || w.ends_with(&format!("={h}"))
                    })
                })
        })
    }
}

/// Blank-separated words with quotes dropped; a `#` word ends the line.
fn words(text: &str) -> Vec<String> {
    text.split([' ', '\t', '\r', '\n'])
        .filter(|w| !w.is_empty() && *w != "\\")
        .take_while(|w| !w.starts_with('#'))
        .map(|w| w.trim_matches(['"', '\'']).to_string())
        .collect()
}

/// The program a command runs: the first word after `sudo` and its options, without a
/// directory.
fn program(words: &[String]) -> String {
    let mut rest = words.iter().map(String::as_str).peekable();
    while let Some(&w) = rest.peek() {
        if w == "sudo" || w.starts_with('-') && w.len() > 1 {
            rest.next();
        } else {
            break;
        }
    }
    rest.next()
        .map(|w| w.rsplit('/').next().unwrap_or(w).to_string())
        .unwrap_or_default()
}

/// An iptables line read word by word, without judging it: enough to tell a student which
/// table, chain and ports they wrote, even in a rule iptables would refuse.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Loose {
    /// `-t` as written; `None` means the filter table by default.
    pub table: Option<String>,
    /// The chain of `-A` or `-I`.
    pub chain: Option<String>,
    /// The line adds a rule (`-A`, `-I`).
    pub adds: bool,
    pub listing: bool,
    pub proto: Option<String>,
    pub dport: Option<String>,
    pub in_iface: Option<String>,
    pub out_iface: Option<String>,
    pub target: Option<String>,
    /// `--to-ports` / `--to-port`, or the port of `--to-destination`.
    pub to_port: Option<String>,
}

impl Loose {
    pub fn read(text: &str) -> Loose {
        let words = words(text);
        let mut l = Loose::default();
        let mut i = 0;
        let next = |i: usize| words.get(i + 1).cloned();
        while i < words.len() {
            let w = words[i].as_str();
            let (name, inline) = match w.split_once('=') {
                Some((n, v)) if n.starts_with("--") => (n, Some(v.to_string())),
                _ => (w, None),
            };
            let value = || inline.clone().or_else(|| next(i));
            let mut takes = inline.is_none();
            match name {
                "-t" | "--table" => l.table = value(),
                "-A" | "--append" | "-I" | "--insert" => {
                    l.adds = true;
                    l.chain = value();
                }
                "-p" | "--protocol" => l.proto = value(),
                "--dport" | "--destination-port" | "--dports" | "--destination-ports" => {
                    l.dport = value()
                }
                "-i" | "--in-interface" => l.in_iface = value(),
                "-o" | "--out-interface" => l.out_iface = value(),
                "-j" | "--jump" => l.target = value(),
                "--to-ports" | "--to-port" => l.to_port = value(),
                "--to-destination" | "--to" => {
                    l.to_port = value().and_then(|v| v.rsplit_once(':').map(|(_, p)| p.into()))
                }
                "-L" | "--list" | "-S" | "--list-rules" => {
                    l.listing = true;
                    takes = false;
                }
                _ => {
                    // Clustered short options: `-nvL`, `-vL`.
                    if w.starts_with('-')
                        && !w.starts_with("--")
                        && w.len() > 2
                        && w[1..].chars().all(|c| "nvxLSZ".contains(c))
                        && w[1..].contains(['L', 'S'])
                    {
                        l.listing = true;
                    }
                    takes = false;
                }
            }
            i += if takes { 2 } else { 1 };
        }
        l
    }

    /// The table the rule goes to: `-t`, or filter by default.
    pub fn table(&self) -> &str {
        self.table.as_deref().unwrap_or("filter")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iptables_lines_are_parsed_and_other_lines_only_read() {
        let script = b"nc -l -p 27664 > dump.txt &\n\
            sudo /usr/sbin/iptables -t nat -A PREROUTING -i enp0s3 -p tcp --dport 21 \\\n  -j REDIRECT --to-port 27664\n\
            iptables -t nat -nvL\n\
            telnet 10.0.0.2 21 $(rm -rf /)\n\
            iptables -A INPUT -s \"$(cat /etc/shadow)\" -j DROP\n\xff\xfe\n";
        let c = Commands::read(script);
        let programs: Vec<&str> = c.lines.iter().map(|l| l.program.as_str()).collect();
        assert_eq!(
            programs,
            [
                "nc",
                "iptables",
                "iptables",
                "telnet",
                "iptables",
                "\u{fffd}\u{fffd}"
            ]
        );
        assert_eq!(c.not_utf8, [7]);
        assert_eq!(c.listener(27664).map(|l| l.line), Some(1));
        assert!(c.listener(21).is_none());
        let rules: Vec<_> = c.iptables().collect();
        let rule = rules[0].1.parsed.as_ref().unwrap();
        assert_eq!(rule.table().name(), "nat");
        assert_eq!(rules[0].1.loose.in_iface.as_deref(), Some("enp0s3"));
        assert!(rules[1].1.listing);
        let refused = rules[2].1.parsed.as_ref().unwrap_err();
        assert!(refused.contains("shell expansion"), "{refused}");
        assert!(refused.starts_with("line 6, column "), "{refused}");
    }

    #[test]
    fn loose_reading_names_what_was_written() {
        let l = Loose::read(
            "iptables -A PREROUTING -p tcp --dport=2121 -j DNAT --to-destination 10.0.0.2:27664",
        );
        assert_eq!(l.table(), "filter");
        assert_eq!(l.chain.as_deref(), Some("PREROUTING"));
        assert_eq!(l.dport.as_deref(), Some("2121"));
        assert_eq!(l.target.as_deref(), Some("DNAT"));
        assert_eq!(l.to_port.as_deref(), Some("27664"));
        assert!(l.adds && !l.listing);
        assert!(Loose::read("sudo iptables -L -t nat").listing);
    }
}
