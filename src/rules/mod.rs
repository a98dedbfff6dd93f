//! Rules and routes: the iptables and `ip route` commands a scenario or a student writes,
//! parsed into typed values before anything touches a kernel.
//!
//! Contract:
//! - [`parse_rule`] reads one iptables command in the syntax the course teaches and returns a
//!   [`Rule`]; [`Rule::argv`] is what to pass to the `iptables` program (run directly, never
//!   through a shell) and `Display` is the canonical text, the same as `iptables -S` prints.
//!   Supported: tables filter, nat, mangle, raw; built-in and user chains; commands `-A`,
//!   `-I`, `-D`, `-P`, `-N`, `-F`, `-X`; matches `-p`, `-s`, `-d`, `-i`, `-o`, `--sport`,
//!   `--dport` (numbers, ranges, service names), `-m tcp/udp/icmp/multiport/state/conntrack`
//!   with `--tcp-flags`, `--syn`, `--icmp-type`, `--sports/--dports/--ports`, `--state`,
//!   `--ctstate`, and `!`; targets ACCEPT, DROP, REJECT (`--reject-with`), REDIRECT, DNAT,
//!   SNAT, MASQUERADE, LOG, RETURN and user chains. Long option spellings (`--append`,
//!   `--jump`, `--to-port` ...) are accepted, and a leading `sudo` and `iptables`.
//! - [`eval`] builds a rule set command by command and walks a packet through it: what a
//!   student's rules mean for the lab's traffic, whatever their form.
//! - [`parse_restore`] reads a rules file as `iptables-save` writes it (`*filter`, chain
//!   policies, user chains, rules, `COMMIT`), each rule with [`parse_rule`], into the commands
//!   it makes, checked against an [`eval::Ruleset`] as iptables-restore would check them.
//! - [`parse_route`] reads one `ip route add|del|replace|get` command and returns a
//!   [`RouteCmd`] for the topology stage to apply through netlink.
//! - [`script_commands`] splits a file of commands (a student's submission) into single
//!   commands, joining backslash-continued lines, and maps an error's column back to the
//!   file's line and column.
//! - Anything else is refused with a [`ParseError`]: the 0-based char column and the word at
//!   fault, what was found and what was expected, and a "did you mean" when a known word is
//!   close. The caller adds the file and line.
//!
//! Invariants: input is untrusted (students' submissions); no input makes these parsers
//! panic, and nothing here runs a program or touches a namespace.

pub mod eval;
mod iface;
mod iptables;
mod lex;
mod names;
mod parse;
mod restore;
mod route;

pub use iface::{Iface, IfaceError};
pub use iptables::{
    BuiltinChain, Chain, ChainName, Command, ConnState, ConnStates, IcmpMatch, IcmpType, Ipv4Net,
    Match, MultiportMatch, NatTo, Neg, Policy, PortDirection, PortRange, Protocol, RejectWith,
    Rule, RuleSpec, Table, Target, TcpFlags, TcpMatch, UdpMatch,
};
pub(crate) use lex::suggest;
pub use lex::{ScriptCommand, script_commands};
pub use parse::parse_rule;
pub use restore::{RestoreCommand, RestoreError, parse_restore};
pub use route::{Family, IpNet, Route, RouteCmd, RouteError, parse_route};

/// A rule or route that cannot be parsed: where, which word, and what was expected.
///
/// Displayed as `{problem}: expected {expected}`, followed by ` (did you mean {suggestion}?)`
/// when there is one, e.g. `unknown target "REDIRCT": expected one of ACCEPT, DROP, ...
/// (did you mean REDIRECT?)`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{problem}: expected {expected}{}", suggestion_suffix(.suggestion))]
pub struct ParseError {
    /// 0-based char column of the word in the line given to the parser (the end of the line
    /// when something is missing).
    pub col: usize,
    /// The word at fault as the program would have received it; empty when something is
    /// missing at the end.
    pub token: String,
    /// What is wrong, naming the word.
    pub problem: String,
    /// What would have been accepted there.
    pub expected: String,
    /// A close known word, when the word looks like a misspelling of it.
    pub suggestion: Option<String>,
}

/// The error of [`parse_rule`].
pub type RuleError = ParseError;

impl ParseError {
    pub(crate) fn new(
        col: usize,
        token: impl Into<String>,
        problem: impl Into<String>,
        expected: impl Into<String>,
    ) -> ParseError {
        ParseError {
            col,
            token: token.into(),
            problem: problem.into(),
            expected: expected.into(),
            suggestion: None,
        }
    }

    /// The same error, suggesting the one of `known` nearest to `word` (if one is near).
    pub(crate) fn near(mut self, word: &str, known: &[&str]) -> ParseError {
        self.suggestion = lex::suggest(word, known).map(str::to_owned);
        self
    }
}

fn suggestion_suffix(suggestion: &Option<String>) -> String {
    suggestion
        .as_ref()
        .map(|s| format!(" (did you mean {s}?)"))
        .unwrap_or_default()
}
