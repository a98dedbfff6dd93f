//! Writing a rule back: the argument vector for the `iptables` program and the canonical text.
//!
//! Contract: [`Rule::argv`] gives words to run without a shell, in the order and spelling
//! `iptables -S` uses; `Display` for [`Rule`] joins them, quoting with [`quote`] only where a
//! word would not survive being split again.

use std::fmt;

use super::{Command, Match, Neg, PortDirection, PortRange, Rule, RuleSpec, Target, TcpFlags};

impl Rule {
    /// The arguments for the `iptables` program (without the program name): run them with
    /// `std::process::Command`, never through a shell.
    pub fn argv(&self) -> Vec<String> {
        let mut a = Args(Vec::new());
        a.push("-t").push(self.table.name());
        match &self.command {
            Command::Append { chain, spec } => {
                a.push("-A").push(chain.name());
                a.spec(spec);
            }
            Command::Insert {
                chain,
                position,
                spec,
            } => {
                a.push("-I").push(chain.name());
                if let Some(p) = position {
                    a.push(p.to_string());
                }
                a.spec(spec);
            }
            Command::Delete { chain, spec } => {
                a.push("-D").push(chain.name());
                a.spec(spec);
            }
            Command::DeleteNumber { chain, number } => {
                a.push("-D").push(chain.name()).push(number.to_string());
            }
            Command::Policy { chain, policy } => {
                a.push("-P").push(chain.name()).push(policy.name());
            }
            Command::NewChain { chain } => {
                a.push("-N").push(chain.as_str());
            }
            Command::Flush { chain } => {
                a.push("-F");
                if let Some(c) = chain {
                    a.push(c.name());
                }
            }
            Command::DeleteChain { chain } => {
                a.push("-X");
                if let Some(c) = chain {
                    a.push(c.as_str());
                }
            }
        }
        a.0
    }
}

/// Builds an argument vector.
struct Args(Vec<String>);

impl Args {
    fn push(&mut self, word: impl Into<String>) -> &mut Self {
        self.0.push(word.into());
        self
    }

    /// `! OPTION VALUE...`
    fn neg<T>(&mut self, n: &Neg<T>, option: &str, value: String) -> &mut Self {
        if n.negated {
            self.push("!");
        }
        self.push(option).push(value)
    }

    fn spec(&mut self, spec: &RuleSpec) {
        if let Some(n) = &spec.source {
            self.neg(n, "-s", n.value.to_string());
        }
        if let Some(n) = &spec.destination {
            self.neg(n, "-d", n.value.to_string());
        }
        if let Some(n) = &spec.in_interface {
            self.neg(n, "-i", n.value.to_string());
        }
        if let Some(n) = &spec.out_interface {
            self.neg(n, "-o", n.value.to_string());
        }
        if let Some(n) = &spec.protocol {
            self.neg(n, "-p", n.value.to_string());
        }
        for m in &spec.matches {
            self.push("-m").push(m.module());
            self.match_options(m);
        }
        if let Some(t) = &spec.target {
            self.push("-j").push(t.name());
            self.target_options(t);
        }
    }

    fn match_options(&mut self, m: &Match) {
        let ports = |n: &Neg<PortRange>| n.value.write(':');
        match m {
            Match::Tcp(t) => {
                if let Some(n) = &t.sport {
                    self.neg(n, "--sport", ports(n));
                }
                if let Some(n) = &t.dport {
                    self.neg(n, "--dport", ports(n));
                }
                if let Some(n) = &t.flags {
                    self.neg(n, "--tcp-flags", TcpFlags::write_set(n.value.mask))
                        .push(TcpFlags::write_set(n.value.set));
                }
            }
            Match::Udp(u) => {
                if let Some(n) = &u.sport {
                    self.neg(n, "--sport", ports(n));
                }
                if let Some(n) = &u.dport {
                    self.neg(n, "--dport", ports(n));
                }
            }
            Match::Icmp(i) => {
                if let Some(n) = &i.icmp_type {
                    self.neg(n, "--icmp-type", n.value.to_string());
                }
            }
            Match::Multiport(mp) => {
                let option = match mp.direction {
                    PortDirection::Source => "--sports",
                    PortDirection::Destination => "--dports",
                    PortDirection::Either => "--ports",
                };
                let list: Vec<String> = mp.ports.iter().map(|p| p.write(':')).collect();
                let n = Neg {
                    negated: mp.negated,
                    value: (),
                };
                self.neg(&n, option, list.join(","));
            }
            Match::State(n) => {
                self.neg(n, "--state", n.value.to_string());
            }
            Match::Conntrack(n) => {
                self.neg(n, "--ctstate", n.value.to_string());
            }
        }
    }

    fn target_options(&mut self, t: &Target) {
        match t {
            Target::Accept | Target::Drop | Target::Return | Target::Jump(_) => {}
            Target::Reject { with } => {
                self.push("--reject-with").push(with.name());
            }
            Target::Redirect { to_ports } | Target::Masquerade { to_ports } => {
                if let Some(p) = to_ports {
                    self.push("--to-ports").push(p.write('-'));
                }
            }
            Target::Dnat { to } => {
                self.push("--to-destination").push(to.to_string());
            }
            Target::Snat { to } => {
                self.push("--to-source").push(to.to_string());
            }
            Target::Log { prefix, level } => {
                if let Some(p) = prefix {
                    self.push("--log-prefix").push(p.as_str());
                }
                if *level != 4 {
                    self.push("--log-level").push(level.to_string());
                }
            }
        }
    }
}

impl fmt::Display for Rule {
    /// The canonical text: the arguments of [`Rule::argv`], quoted where a word would
    /// otherwise not survive being split again.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let words: Vec<String> = self.argv().iter().map(|w| quote(w)).collect();
        f.write_str(&words.join(" "))
    }
}

/// `word` as one shell word: bare when it is plain, otherwise in double quotes with `"`, `\`,
/// `$` and backquote escaped (the same form `iptables -S` uses for a LOG prefix).
pub(crate) fn quote(word: &str) -> String {
    let plain = !word.is_empty()
        && !word.starts_with('#')
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.,:/+=@%!".contains(c));
    if plain {
        return word.to_owned();
    }
    let mut out = String::from("\"");
    for c in word.chars() {
        if matches!(c, '"' | '\\' | '$' | '`') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_quoted_only_when_needed() {
        assert_eq!(quote("eth0"), "eth0");
        assert_eq!(quote("x: "), "\"x: \"");
        assert_eq!(quote(""), "\"\"");
        assert_eq!(quote("a\"b\\c$"), "\"a\\\"b\\\\c\\$\"");
        assert_eq!(quote("it's"), "\"it's\"");
        assert_eq!(quote("#x"), "\"#x\"");
    }
}
