//! Parsing one iptables command line into a [`Rule`]. This file holds the parser's state and
//! the drafts it fills; [`vocabulary`] the names it knows, [`words`] the loop over the words and
//! the main options, [`options`] the options of matches and targets, [`validate`] the checks
//! on the whole rule, and [`values`] the parsing of single values (addresses, ports, ...).
//!
//! Contract: [`parse_rule`] accepts the iptables syntax the course teaches (see the module
//! docs of `rules` for the list) and refuses everything else with a [`ParseError`] naming the
//! offending word, its column and what was expected. It reads the words in one pass the way
//! iptables does (an option belongs to the target if the target has it, else to a loaded
//! match, else to the match `-p` implies), then checks the whole rule against what iptables
//! and the kernel would refuse: chains that do not exist in the table, targets outside the
//! tables and chains they work in, ports without a protocol that has them, `-i` where packets
//! have no input interface, and so on.
//!
//! A `-j` word that is not a built-in target names a user chain, unless it is within two
//! typos of a built-in target or a cut-short one (`REDIRCT`, `accept`, `MASQ`): that is
//! reported as a misspelling, since one line cannot know which chains exist, and `-N` refuses
//! such names so that every chain it creates can be jumped to.
//!
//! Invariants: no input makes it panic; every error's column is a char index into the line.

mod options;
mod validate;
mod values;
mod vocabulary;
mod words;

use std::net::{Ipv4Addr, Ipv6Addr};

use super::ParseError;
use super::iface::Iface;
use super::iptables::{
    BuiltinChain, Chain, ChainName, Command, ConnState, ConnStates, IcmpMatch, IcmpType, Ipv4Net,
    Match, MultiportMatch, NatTo, Neg, Policy, PortDirection, PortRange, Protocol, RejectWith,
    Rule, RuleSpec, Table, Target, TcpFlags, TcpMatch, UdpMatch,
};
use super::lex::{self, Token, err, iface_error, q};
use super::names;
use vocabulary::TargetKind;

/// Parses one iptables command, with or without a leading `sudo` and `iptables`.
///
/// ```
/// let rule = labctl::rules::parse_rule(
///     "iptables -t nat -A PREROUTING -i eth0 -p tcp --dport 21 -j REDIRECT --to-port 27664",
/// ).unwrap();
/// assert_eq!(
///     rule.to_string(),
///     "-t nat -A PREROUTING -i eth0 -p tcp -m tcp --dport 21 -j REDIRECT --to-ports 27664",
/// );
/// ```
pub fn parse_rule(line: &str) -> Result<Rule, ParseError> {
    let tokens = lex::split(line)?;
    let parser = Parser {
        tokens,
        pos: 0,
        end: line.chars().count(),
        inline: None,
        negation: None,
        table: None,
        command: None,
        first_spec_option: None,
        source: None,
        destination: None,
        in_interface: None,
        out_interface: None,
        protocol: None,
        matches: Vec::new(),
        target: None,
    };
    parser.run()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Append,
    Insert,
    Delete,
    Policy,
    NewChain,
    Flush,
    DeleteChain,
}

impl Kind {
    fn has_spec(self) -> bool {
        matches!(self, Kind::Append | Kind::Insert | Kind::Delete)
    }
}

/// A value and the word it came from, for errors found after the whole line is read.
#[derive(Debug, Clone)]
struct At<T> {
    value: T,
    at: Token,
}

struct CommandDraft {
    kind: Kind,
    at: Token,
    chain: Option<Token>,
    number: Option<At<u32>>,
    policy: Option<Token>,
}

/// The `-j` target as read so far: its kind and the options given for it.
struct TargetDraft {
    kind: Option<TargetKind>,
    /// Set for a jump to a user chain.
    chain: Option<ChainName>,
    at: Token,
    reject_with: Option<At<RejectWith>>,
    to_ports: Option<At<PortRange>>,
    nat_to: Option<At<NatTo>>,
    log_prefix: Option<At<String>>,
    log_level: Option<At<u8>>,
}

/// A parsed match option value, before it is stored in its match.
enum MatchValue {
    Ports(PortRange),
    Flags(TcpFlags),
    Icmp(IcmpType),
    PortList(PortDirection, Vec<PortRange>),
    States(ConnStates),
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    /// Char length of the line: the column of "missing ..." errors.
    end: usize,
    /// The value of a `--option=value` word, taken by the option's value read.
    inline: Option<Token>,
    /// A `!` waiting for the option it negates.
    negation: Option<Token>,
    table: Option<At<Table>>,
    command: Option<CommandDraft>,
    /// The first option that only makes sense in a rule, to refuse it with `-P`, `-N` ...
    first_spec_option: Option<Token>,
    source: Option<At<Neg<Ipv4Net>>>,
    destination: Option<At<Neg<Ipv4Net>>>,
    in_interface: Option<At<Neg<Iface>>>,
    out_interface: Option<At<Neg<Iface>>>,
    /// `value.value` is `None` for `-p all`.
    protocol: Option<At<Neg<Option<Protocol>>>>,
    /// Each match with the word that loaded it (`-m`'s value, or the option that implied it).
    matches: Vec<At<Match>>,
    target: Option<TargetDraft>,
}

/// The dispatch tables above and the handlers agree on option names; should they ever
/// drift apart, the rule is refused rather than the program stopped.
fn unreachable_option<T>(opt: &Token, canon: &str) -> Result<T, ParseError> {
    Err(err(
        opt,
        format!(
            "option {} is not handled (canonical {canon:?})",
            q(&opt.text)
        ),
        "a supported option",
    ))
}

/// Stores `value` in an empty slot; `None` if the slot was already set.
fn set_once<T>(slot: &mut Option<Neg<T>>, negated: bool, value: T) -> Option<()> {
    if slot.is_some() {
        return None;
    }
    *slot = Some(Neg { negated, value });
    Some(())
}

fn put_once<T>(slot: &mut Option<At<T>>, value: T, at: Token) -> Option<()> {
    if slot.is_some() {
        return None;
    }
    *slot = Some(At { value, at });
    Some(())
}

fn no_negation(negated: Option<Token>, opt: &Token) -> Result<(), ParseError> {
    match negated {
        None => Ok(()),
        Some(neg) => Err(err(
            &neg,
            format!("\"!\" before {}, which cannot be negated", q(&opt.text)),
            "! only before -s, -d, -i, -o, -p or a match option such as --dport",
        )),
    }
}
