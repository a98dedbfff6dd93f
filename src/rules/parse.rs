//! Parsing one iptables command line into a [`Rule`].
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

/// The targets `-j` accepts besides user chains.
const TARGETS: [&str; 9] = [
    "ACCEPT",
    "DROP",
    "REJECT",
    "REDIRECT",
    "DNAT",
    "SNAT",
    "MASQUERADE",
    "LOG",
    "RETURN",
];

const TARGETS_EXPECTED: &str = "one of ACCEPT, DROP, REJECT, REDIRECT, DNAT, SNAT, MASQUERADE, \
                                LOG, RETURN or a chain created with -N";

/// iptables targets that exist but are outside what labs use.
const UNSUPPORTED_TARGETS: [&str; 20] = [
    "QUEUE",
    "NFQUEUE",
    "MARK",
    "CONNMARK",
    "TOS",
    "TTL",
    "DSCP",
    "CT",
    "NOTRACK",
    "TCPMSS",
    "TEE",
    "CLASSIFY",
    "NFLOG",
    "ULOG",
    "AUDIT",
    "SET",
    "TRACE",
    "CHECKSUM",
    "NETMAP",
    "CLUSTERIP",
];

const MODULES: [&str; 6] = ["tcp", "udp", "icmp", "multiport", "state", "conntrack"];

const OPTIONS_EXPECTED: &str = "an option such as -p, -s, -d, -i, -o, -m or -j";

/// Every option word this parser knows, for suggestions.
const KNOWN_OPTIONS: &[&str] = &[
    "-t",
    "-A",
    "-I",
    "-D",
    "-P",
    "-N",
    "-F",
    "-X",
    "-p",
    "-s",
    "-d",
    "-i",
    "-o",
    "-m",
    "-j",
    "--table",
    "--append",
    "--insert",
    "--delete",
    "--policy",
    "--new-chain",
    "--flush",
    "--delete-chain",
    "--protocol",
    "--source",
    "--destination",
    "--in-interface",
    "--out-interface",
    "--match",
    "--jump",
    "--sport",
    "--dport",
    "--source-port",
    "--destination-port",
    "--tcp-flags",
    "--syn",
    "--icmp-type",
    "--sports",
    "--dports",
    "--ports",
    "--source-ports",
    "--destination-ports",
    "--state",
    "--ctstate",
    "--reject-with",
    "--to-ports",
    "--to-port",
    "--to-destination",
    "--to-source",
    "--log-prefix",
    "--log-level",
];

/// Real iptables options and commands this parser refuses, so the message can say
/// "unsupported" rather than "unknown".
const UNSUPPORTED_OPTIONS: &[&str] = &[
    "-L",
    "-S",
    "-Z",
    "-C",
    "-E",
    "-R",
    "-g",
    "-f",
    "-c",
    "-w",
    "-W",
    "-v",
    "-n",
    "-x",
    "-4",
    "-6",
    "--list",
    "--list-rules",
    "--zero",
    "--check",
    "--rename-chain",
    "--replace",
    "--goto",
    "--fragment",
    "--set-counters",
    "--wait",
    "--verbose",
    "--numeric",
    "--exact",
    "--line-numbers",
    "--tcp-option",
    "--random",
    "--random-fully",
    "--persistent",
    "--log-tcp-sequence",
    "--log-tcp-options",
    "--log-ip-options",
    "--log-uid",
    "--comment",
    "--limit",
    "--limit-burst",
    "--ctproto",
    "--ctorigsrc",
    "--ctorigdst",
    "--ctreplsrc",
    "--ctrepldst",
    "--ctstatus",
    "--ctexpire",
    "--ctdir",
    "--mac-source",
    "--uid-owner",
    "--src-range",
    "--dst-range",
];

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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TargetKind {
    Accept,
    Drop,
    Return,
    Reject,
    Redirect,
    Masquerade,
    Dnat,
    Snat,
    Log,
}

impl TargetKind {
    fn from_name(name: &str) -> Option<TargetKind> {
        Some(match name {
            "ACCEPT" => TargetKind::Accept,
            "DROP" => TargetKind::Drop,
            "RETURN" => TargetKind::Return,
            "REJECT" => TargetKind::Reject,
            "REDIRECT" => TargetKind::Redirect,
            "MASQUERADE" => TargetKind::Masquerade,
            "DNAT" => TargetKind::Dnat,
            "SNAT" => TargetKind::Snat,
            "LOG" => TargetKind::Log,
            _ => return None,
        })
    }

    /// The canonical names of this target's options.
    fn options(self) -> &'static [&'static str] {
        match self {
            TargetKind::Reject => &["--reject-with"],
            TargetKind::Redirect | TargetKind::Masquerade => &["--to-ports"],
            TargetKind::Dnat => &["--to-destination"],
            TargetKind::Snat => &["--to-source"],
            TargetKind::Log => &["--log-prefix", "--log-level"],
            TargetKind::Accept | TargetKind::Drop | TargetKind::Return => &[],
        }
    }

    /// Where the kernel lets this target run: its table and built-in chains.
    fn allowed(self) -> Option<(Table, &'static [BuiltinChain])> {
        use BuiltinChain::*;
        match self {
            TargetKind::Reject => Some((Table::Filter, &[Input, Forward, Output])),
            TargetKind::Redirect | TargetKind::Dnat => Some((Table::Nat, &[Prerouting, Output])),
            TargetKind::Snat => Some((Table::Nat, &[Postrouting, Input])),
            TargetKind::Masquerade => Some((Table::Nat, &[Postrouting])),
            _ => None,
        }
    }
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

impl Parser {
    fn run(mut self) -> Result<Rule, ParseError> {
        self.program_words()?;
        while let Some(tok) = self.next() {
            if tok.text == "!" {
                if self.negation.is_some() {
                    return Err(err(
                        &tok,
                        "a second \"!\"",
                        "one ! before the option it negates",
                    ));
                }
                self.negation = Some(tok);
                continue;
            }
            if tok.text.starts_with('-') && tok.text.len() > 1 {
                self.option(tok)?;
            } else {
                return Err(self.stray(&tok));
            }
        }
        if let Some(neg) = self.negation.take() {
            return Err(err(
                &neg,
                "\"!\" at the end of the rule",
                "an option after it, e.g. ! -s 10.0.0.1",
            ));
        }
        self.finish()
    }

    fn next(&mut self) -> Option<Token> {
        let tok = self.tokens.get(self.pos)?.clone();
        self.pos += 1;
        Some(tok)
    }

    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    /// Skips `sudo` and `iptables` at the start; refuses other programs.
    fn program_words(&mut self) -> Result<(), ParseError> {
        let mut sudo = false;
        if self.peek().is_some_and(|t| t.text == "sudo") {
            self.pos += 1;
            sudo = true;
        }
        let Some(tok) = self.peek().cloned() else {
            let at = Token {
                text: String::new(),
                col: self.end,
            };
            return Err(err(
                &at,
                if sudo {
                    "nothing after sudo"
                } else {
                    "empty rule"
                },
                "an iptables command such as -A INPUT -p tcp --dport 22 -j ACCEPT",
            ));
        };
        let program = tok.text.rsplit('/').next().unwrap_or_default();
        if matches!(program, "iptables" | "iptables-nft" | "iptables-legacy") {
            self.pos += 1;
        } else if sudo || !tok.text.starts_with('-') && tok.text != "!" {
            let problem = if matches!(program, "ip6tables" | "ip6tables-nft" | "ip6tables-legacy") {
                format!("unsupported program {}", q(&tok.text))
            } else {
                format!("unexpected word {}", q(&tok.text))
            };
            return Err(err(
                &tok,
                problem,
                "iptables or an iptables option such as -A",
            ));
        }
        Ok(())
    }

    /// A word where an option was expected.
    fn stray(&self, tok: &Token) -> ParseError {
        let mut e = err(
            tok,
            format!("unexpected word {}", q(&tok.text)),
            OPTIONS_EXPECTED,
        );
        if TARGETS.contains(&tok.text.as_str()) {
            e.suggestion = Some(format!("-j {}", tok.text));
        }
        e
    }

    /// The value of the option `opt`: its `=value`, or the next word.
    fn value(&mut self, opt: &Token, expected: &str) -> Result<Token, ParseError> {
        if let Some(v) = self.inline.take() {
            return Ok(v);
        }
        match self.next() {
            None => Err(ParseError::new(
                self.end,
                "",
                format!("missing value after {}", q(&opt.text)),
                expected,
            )),
            Some(v) if v.text == "!" => Err(err(
                &v,
                format!("\"!\" after {}", q(&opt.text)),
                format!("\"!\" before the option: ! {} VALUE", opt.text),
            )),
            Some(v) => Ok(v),
        }
    }

    fn option(&mut self, tok: Token) -> Result<(), ParseError> {
        let name = match tok.text.split_once('=') {
            Some((name, value)) if tok.text.starts_with("--") => {
                self.inline = Some(Token {
                    text: value.to_owned(),
                    col: tok.col + name.chars().count() + 1,
                });
                name.to_owned()
            }
            _ => tok.text.clone(),
        };
        let negated = self.negation.take();
        match name.as_str() {
            "-t" | "--table" => {
                no_negation(negated, &tok)?;
                self.table(&tok)?;
            }
            "-A" | "--append" => self.command(Kind::Append, tok.clone(), negated)?,
            "-I" | "--insert" => self.command(Kind::Insert, tok.clone(), negated)?,
            "-D" | "--delete" => self.command(Kind::Delete, tok.clone(), negated)?,
            "-P" | "--policy" => self.command(Kind::Policy, tok.clone(), negated)?,
            "-N" | "--new-chain" | "--new" => self.command(Kind::NewChain, tok.clone(), negated)?,
            "-F" | "--flush" => self.command(Kind::Flush, tok.clone(), negated)?,
            "-X" | "--delete-chain" => self.command(Kind::DeleteChain, tok.clone(), negated)?,
            "-p" | "--protocol" => {
                self.spec_option(&tok);
                self.protocol(&tok, negated)?;
            }
            "-s" | "--source" | "--src" => {
                self.spec_option(&tok);
                let net = self.address(&tok, negated, self.source.is_some())?;
                self.source = Some(net);
            }
            "-d" | "--destination" | "--dst" => {
                self.spec_option(&tok);
                let net = self.address(&tok, negated, self.destination.is_some())?;
                self.destination = Some(net);
            }
            "-i" | "--in-interface" => {
                self.spec_option(&tok);
                let iface = self.interface(&tok, negated, self.in_interface.is_some())?;
                self.in_interface = Some(iface);
            }
            "-o" | "--out-interface" => {
                self.spec_option(&tok);
                let iface = self.interface(&tok, negated, self.out_interface.is_some())?;
                self.out_interface = Some(iface);
            }
            "-m" | "--match" => {
                self.spec_option(&tok);
                no_negation(negated, &tok)?;
                self.module(&tok)?;
            }
            "-j" | "--jump" => {
                self.spec_option(&tok);
                no_negation(negated, &tok)?;
                self.jump(&tok)?;
            }
            _ if UNSUPPORTED_OPTIONS.contains(&name.as_str()) => {
                let what = if matches!(
                    name.as_str(),
                    "-L" | "-S"
                        | "-Z"
                        | "-C"
                        | "-E"
                        | "-R"
                        | "--list"
                        | "--list-rules"
                        | "--zero"
                        | "--check"
                        | "--rename-chain"
                        | "--replace"
                ) {
                    "unsupported command"
                } else {
                    "unsupported option"
                };
                return Err(err(
                    &tok,
                    format!("{what} {}", q(&name)),
                    "one of the commands -A, -I, -D, -P, -N, -F, -X with the options labs use \
                     (-p, -s, -d, -i, -o, -m, -j and their match and target options)",
                ));
            }
            _ if name.starts_with("--") => {
                self.spec_option(&tok);
                self.extension_option(&tok, &name, negated)?;
            }
            _ => {
                let mut e = err(
                    &tok,
                    format!("unknown option {}", q(&name)),
                    OPTIONS_EXPECTED,
                );
                e.suggestion = lex::suggest(&name, KNOWN_OPTIONS).map(str::to_owned);
                return Err(e);
            }
        }
        if let Some(extra) = self.inline.take() {
            return Err(err(
                &extra,
                format!("option {} takes no value", q(&name)),
                format!("{name} on its own"),
            ));
        }
        Ok(())
    }

    fn spec_option(&mut self, tok: &Token) {
        if self.first_spec_option.is_none() {
            self.first_spec_option = Some(tok.clone());
        }
    }

    fn table(&mut self, opt: &Token) -> Result<(), ParseError> {
        let v = self.value(opt, "a table: filter, nat, mangle or raw")?;
        if self.table.is_some() {
            return Err(err(opt, "a second -t", "one -t per rule"));
        }
        let Some(table) = Table::ALL.into_iter().find(|t| t.name() == v.text) else {
            let names: Vec<&str> = Table::ALL.iter().map(|t| t.name()).collect();
            let mut e = err(
                &v,
                format!("unknown table {}", q(&v.text)),
                "one of filter, nat, mangle, raw",
            );
            e.suggestion = lex::suggest(&v.text, &names).map(str::to_owned);
            return Err(e);
        };
        self.table = Some(At {
            value: table,
            at: v,
        });
        Ok(())
    }

    fn command(
        &mut self,
        kind: Kind,
        tok: Token,
        negated: Option<Token>,
    ) -> Result<(), ParseError> {
        no_negation(negated, &tok)?;
        if let Some(first) = &self.command {
            return Err(err(
                &tok,
                format!(
                    "a second command {} after {}",
                    q(&tok.text),
                    q(&first.at.text)
                ),
                "one of -A, -I, -D, -P, -N, -F, -X per line",
            ));
        }
        let mut draft = CommandDraft {
            kind,
            at: tok.clone(),
            chain: None,
            number: None,
            policy: None,
        };
        match kind {
            Kind::Flush | Kind::DeleteChain => {
                // The chain is optional: take the next word only if it is not an option.
                draft.chain = self.inline.take().or_else(|| {
                    let next = self.peek()?;
                    if next.text.starts_with('-') || next.text == "!" {
                        return None;
                    }
                    self.next()
                });
            }
            _ => {
                draft.chain = Some(self.value(&tok, "a chain name such as INPUT")?);
            }
        }
        match kind {
            Kind::Insert | Kind::Delete => {
                if let Some(next) = self.peek().filter(|t| is_number(&t.text)).cloned() {
                    self.pos += 1;
                    let n = next.text.parse::<u32>().ok().filter(|&n| n >= 1);
                    let Some(n) = n else {
                        return Err(err(
                            &next,
                            format!("invalid rule number {}", q(&next.text)),
                            "a rule position counting from 1",
                        ));
                    };
                    draft.number = Some(At { value: n, at: next });
                }
            }
            Kind::Policy => {
                draft.policy = Some(self.value(&tok, "a policy: ACCEPT or DROP")?);
            }
            _ => {}
        }
        self.command = Some(draft);
        Ok(())
    }

    fn protocol(&mut self, opt: &Token, negated: Option<Token>) -> Result<(), ParseError> {
        let v = self.value(opt, "a protocol: tcp, udp, icmp or all")?;
        if self.protocol.is_some() {
            return Err(err(opt, "a second -p", "one -p per rule"));
        }
        let protocol = match v.text.to_ascii_lowercase().as_str() {
            "tcp" | "6" => Some(Protocol::Tcp),
            "udp" | "17" => Some(Protocol::Udp),
            "icmp" | "1" => Some(Protocol::Icmp),
            "all" | "0" => None,
            _ => {
                let mut e = err(
                    &v,
                    format!("unsupported protocol {}", q(&v.text)),
                    "one of tcp, udp, icmp, all",
                );
                e.suggestion =
                    lex::suggest(&v.text, &["tcp", "udp", "icmp", "all"]).map(str::to_owned);
                return Err(e);
            }
        };
        if protocol.is_none()
            && let Some(neg) = &negated
        {
            return Err(err(
                neg,
                "\"! -p all\", which matches nothing",
                "-p without !",
            ));
        }
        self.protocol = Some(At {
            value: Neg {
                negated: negated.is_some(),
                value: protocol,
            },
            at: opt.clone(),
        });
        Ok(())
    }

    fn address(
        &mut self,
        opt: &Token,
        negated: Option<Token>,
        duplicate: bool,
    ) -> Result<At<Neg<Ipv4Net>>, ParseError> {
        let v = self.value(
            opt,
            "an IPv4 address or network, e.g. 10.0.0.1 or 10.0.0.0/24",
        )?;
        if duplicate {
            return Err(err(opt, format!("a second {}", opt.text), "one per rule"));
        }
        let net = parse_net(&v)?;
        if net.prefix == 0
            && let Some(neg) = &negated
        {
            return Err(err(
                neg,
                format!("\"! {} {}\", which matches nothing", opt.text, v.text),
                "a network that is not 0.0.0.0/0 after !",
            ));
        }
        Ok(At {
            value: Neg {
                negated: negated.is_some(),
                value: net,
            },
            at: opt.clone(),
        })
    }

    fn interface(
        &mut self,
        opt: &Token,
        negated: Option<Token>,
        duplicate: bool,
    ) -> Result<At<Neg<Iface>>, ParseError> {
        let v = self.value(opt, "an interface name such as eth0")?;
        if duplicate {
            return Err(err(opt, format!("a second {}", opt.text), "one per rule"));
        }
        let iface = v.text.parse::<Iface>().map_err(|e| iface_error(&v, &e))?;
        Ok(At {
            value: Neg {
                negated: negated.is_some(),
                value: iface,
            },
            at: opt.clone(),
        })
    }

    fn module(&mut self, opt: &Token) -> Result<(), ParseError> {
        let v = self.value(
            opt,
            "a match module: tcp, udp, icmp, multiport, state or conntrack",
        )?;
        let m = match v.text.as_str() {
            "tcp" => Match::Tcp(TcpMatch::default()),
            "udp" => Match::Udp(UdpMatch::default()),
            "icmp" => Match::Icmp(IcmpMatch::default()),
            "multiport" => Match::Multiport(MultiportMatch {
                negated: false,
                direction: PortDirection::Destination,
                ports: Vec::new(),
            }),
            "state" => Match::State(Neg {
                negated: false,
                value: ConnStates::default(),
            }),
            "conntrack" => Match::Conntrack(Neg {
                negated: false,
                value: ConnStates::default(),
            }),
            other => {
                let mut e = err(
                    &v,
                    format!("unsupported match module {}", q(other)),
                    "one of tcp, udp, icmp, multiport, state, conntrack",
                );
                e.suggestion = lex::suggest(other, &MODULES).map(str::to_owned);
                return Err(e);
            }
        };
        if let Some(first) = self
            .matches
            .iter()
            .find(|m2| m2.value.module() == m.module())
        {
            return Err(err(
                &v,
                format!("module {} loaded twice", q(&v.text)),
                format!(
                    "one -m {} (already loaded at column {})",
                    v.text, first.at.col
                ),
            ));
        }
        self.matches.push(At { value: m, at: v });
        Ok(())
    }

    fn jump(&mut self, opt: &Token) -> Result<(), ParseError> {
        let v = self.value(opt, TARGETS_EXPECTED)?;
        if self.target.is_some() {
            return Err(err(opt, "a second -j", "one target per rule"));
        }
        let kind = TargetKind::from_name(&v.text);
        let chain = if kind.is_some() {
            None
        } else {
            Some(target_chain(&v)?)
        };
        self.target = Some(TargetDraft {
            kind,
            chain,
            at: v,
            reject_with: None,
            to_ports: None,
            nat_to: None,
            log_prefix: None,
            log_level: None,
        });
        Ok(())
    }

    /// A `--long` option of a match or target.
    fn extension_option(
        &mut self,
        opt: &Token,
        name: &str,
        negated: Option<Token>,
    ) -> Result<(), ParseError> {
        let canon = canonical_option(name);
        // The target's own options come first, as in iptables.
        if let Some(kind) = self.target.as_ref().and_then(|t| t.kind)
            && kind.options().contains(&canon)
        {
            no_negation(negated, opt)?;
            return self.target_option(opt, canon);
        }
        let loaded = self
            .matches
            .iter()
            .position(|m| match_options(&m.value).contains(&canon));
        if let Some(index) = loaded {
            return self.match_option(index, opt, canon, negated);
        }
        // `-p tcp` makes iptables load the tcp match for an option only it knows.
        if let Some(At {
            value:
                Neg {
                    negated: false,
                    value: Some(protocol),
                },
            ..
        }) = self.protocol
        {
            let implied = match protocol {
                Protocol::Tcp => Match::Tcp(TcpMatch::default()),
                Protocol::Udp => Match::Udp(UdpMatch::default()),
                Protocol::Icmp => Match::Icmp(IcmpMatch::default()),
            };
            if match_options(&implied).contains(&canon)
                && !self
                    .matches
                    .iter()
                    .any(|m| m.value.module() == implied.module())
            {
                self.matches.push(At {
                    value: implied,
                    at: opt.clone(),
                });
                return self.match_option(self.matches.len() - 1, opt, canon, negated);
            }
        }
        Err(self.misplaced_option(opt, name, canon))
    }

    /// Explains why an option has no owner in this rule.
    fn misplaced_option(&self, opt: &Token, name: &str, canon: &str) -> ParseError {
        let protocol = self.protocol.as_ref().map(|p| &p.value);
        let with_protocol = |needs: &str| -> ParseError {
            match protocol {
                None => err(
                    opt,
                    format!("option {} without a protocol", q(name)),
                    format!("{needs} before {name}"),
                ),
                Some(p) => {
                    let given = format!(
                        "{}-p {}",
                        if p.negated { "! " } else { "" },
                        p.value.map_or("all", Protocol::name)
                    );
                    err(
                        opt,
                        format!("option {} does not apply to {}", q(name), q(&given)),
                        needs.to_owned(),
                    )
                }
            }
        };
        match canon {
            "--sport" | "--dport" => with_protocol("-p tcp or -p udp"),
            "--tcp-flags" | "--syn" => with_protocol("-p tcp"),
            "--icmp-type" => with_protocol("-p icmp"),
            "--sports" | "--dports" | "--ports" => err(
                opt,
                format!("option {} without -m multiport", q(name)),
                format!("-p tcp (or udp) -m multiport before {name}"),
            ),
            "--state" => err(
                opt,
                format!("option {} without -m state", q(name)),
                "-m state before --state",
            ),
            "--ctstate" => err(
                opt,
                format!("option {} without -m conntrack", q(name)),
                "-m conntrack before --ctstate",
            ),
            "--reject-with" | "--to-ports" | "--to-destination" | "--to-source"
            | "--log-prefix" | "--log-level" => {
                let owners = match canon {
                    "--reject-with" => "-j REJECT",
                    "--to-ports" => "-j REDIRECT or -j MASQUERADE",
                    "--to-destination" => "-j DNAT",
                    "--to-source" => "-j SNAT",
                    _ => "-j LOG",
                };
                match &self.target {
                    None => err(
                        opt,
                        format!("option {} before its target", q(name)),
                        format!("{owners} before {name}"),
                    ),
                    Some(t) => {
                        let options = t.kind.map_or(&[][..], TargetKind::options);
                        err(
                            opt,
                            format!("option {} does not apply to -j {}", q(name), t.at.text),
                            if options.is_empty() {
                                format!(
                                    "no options after -j {} ({name} belongs to {owners})",
                                    t.at.text
                                )
                            } else {
                                format!(
                                    "one of {} ({name} belongs to {owners})",
                                    options.join(", ")
                                )
                            },
                        )
                    }
                }
            }
            _ => {
                let problem = if UNSUPPORTED_OPTIONS.contains(&name) {
                    "unsupported option"
                } else {
                    "unknown option"
                };
                let mut e = err(
                    opt,
                    format!("{problem} {}", q(name)),
                    "an option of iptables or of a supported match or target",
                );
                e.suggestion = lex::suggest(name, KNOWN_OPTIONS).map(str::to_owned);
                e
            }
        }
    }

    fn match_option(
        &mut self,
        index: usize,
        opt: &Token,
        canon: &'static str,
        negated: Option<Token>,
    ) -> Result<(), ParseError> {
        let value = match canon {
            "--sport" | "--dport" => {
                let v = self.value(opt, "a port, a service name or a range like 1024:65535")?;
                MatchValue::Ports(parse_port_range(&v, ':')?)
            }
            "--syn" => MatchValue::Flags(TcpFlags::SYN_ONLY),
            "--tcp-flags" => {
                let expected = "two comma-separated flag lists, e.g. --tcp-flags SYN,ACK SYN";
                let mask = self.value(opt, expected)?;
                let set = self.value(opt, expected)?;
                if set.text.starts_with('-') {
                    return Err(err(
                        &set,
                        format!("{} with one flag list", q(&opt.text)),
                        expected,
                    ));
                }
                MatchValue::Flags(TcpFlags {
                    mask: parse_flags(&mask)?,
                    set: parse_flags(&set)?,
                })
            }
            "--icmp-type" => {
                let v = self.value(opt, "an ICMP type such as echo-request, 8 or 3/1")?;
                MatchValue::Icmp(parse_icmp_type(&v)?)
            }
            "--sports" | "--dports" | "--ports" => {
                let v = self.value(opt, "a comma-separated list of ports, e.g. 21,25,8000:8080")?;
                let direction = match canon {
                    "--sports" => PortDirection::Source,
                    "--dports" => PortDirection::Destination,
                    _ => PortDirection::Either,
                };
                MatchValue::PortList(direction, parse_port_list(&v)?)
            }
            "--state" | "--ctstate" => {
                let v = self.value(opt, "comma-separated states, e.g. ESTABLISHED,RELATED")?;
                MatchValue::States(parse_states(&v, canon == "--ctstate")?)
            }
            _ => unreachable_option(opt, canon)?,
        };
        let negated = negated.is_some();
        let twice = || {
            err(
                opt,
                format!("option {} given twice", q(&opt.text)),
                format!("one {canon} per rule"),
            )
        };
        let slot = &mut self.matches[index].value;
        match (slot, value) {
            (Match::Tcp(t), MatchValue::Ports(p)) => {
                let field = if canon == "--sport" {
                    &mut t.sport
                } else {
                    &mut t.dport
                };
                set_once(field, negated, p).ok_or_else(twice)?;
            }
            (Match::Udp(u), MatchValue::Ports(p)) => {
                let field = if canon == "--sport" {
                    &mut u.sport
                } else {
                    &mut u.dport
                };
                set_once(field, negated, p).ok_or_else(twice)?;
            }
            (Match::Tcp(t), MatchValue::Flags(f)) => {
                if t.flags.is_some() {
                    return Err(err(
                        opt,
                        format!("option {} after --syn or --tcp-flags", q(&opt.text)),
                        "one of --syn or --tcp-flags per rule",
                    ));
                }
                set_once(&mut t.flags, negated, f).ok_or_else(twice)?;
            }
            (Match::Icmp(i), MatchValue::Icmp(ty)) => {
                set_once(&mut i.icmp_type, negated, ty).ok_or_else(twice)?;
            }
            (Match::Multiport(mp), MatchValue::PortList(direction, ports)) => {
                if !mp.ports.is_empty() {
                    return Err(err(
                        opt,
                        format!("a second port list {}", q(&opt.text)),
                        "one of --sports, --dports or --ports per -m multiport",
                    ));
                }
                *mp = MultiportMatch {
                    negated,
                    direction,
                    ports,
                };
            }
            (Match::State(s) | Match::Conntrack(s), MatchValue::States(states)) => {
                if !s.value.is_empty() {
                    return Err(twice());
                }
                *s = Neg {
                    negated,
                    value: states,
                };
            }
            _ => unreachable_option(opt, canon)?,
        }
        Ok(())
    }

    fn target_option(&mut self, opt: &Token, canon: &'static str) -> Result<(), ParseError> {
        let twice = || {
            err(
                opt,
                format!("option {} given twice", q(&opt.text)),
                format!("one {canon} per rule"),
            )
        };
        match canon {
            "--reject-with" => {
                let v = self.value(opt, "an ICMP error such as icmp-port-unreachable")?;
                let with = parse_reject_with(&v)?;
                let t = self.target_mut(opt, canon)?;
                put_once(&mut t.reject_with, with, v).ok_or_else(twice)
            }
            "--to-ports" => {
                let v = self.value(opt, "a port or a range like 8000-8010")?;
                let ports = parse_port_range(&v, '-')?;
                let t = self.target_mut(opt, canon)?;
                put_once(&mut t.to_ports, ports, opt.clone()).ok_or_else(twice)
            }
            "--to-destination" | "--to-source" => {
                let v = self.value(opt, "ADDRESS[-ADDRESS][:PORT[-PORT]], e.g. 10.0.0.2:8080")?;
                let to = parse_nat_to(&v)?;
                let t = self.target_mut(opt, canon)?;
                put_once(&mut t.nat_to, to, opt.clone()).ok_or_else(twice)
            }
            "--log-prefix" => {
                let v = self.value(opt, "a prefix of at most 29 characters")?;
                if v.text.is_empty() || v.text.len() > 29 || v.text.chars().any(char::is_control) {
                    return Err(err(
                        &v,
                        format!("invalid log prefix {}", q(&v.text)),
                        "1 to 29 bytes of printable text",
                    ));
                }
                let prefix = v.text.clone();
                let t = self.target_mut(opt, canon)?;
                put_once(&mut t.log_prefix, prefix, v).ok_or_else(twice)
            }
            "--log-level" => {
                let v = self.value(opt, "a level 0-7 or a name such as info")?;
                let Some(level) = names::log_level(&v.text) else {
                    let mut e = err(
                        &v,
                        format!("unknown log level {}", q(&v.text)),
                        "a number 0-7 or one of emerg, alert, crit, err, warning, notice, info, debug",
                    );
                    e.suggestion =
                        lex::suggest(&v.text, &names::log_level_names()).map(str::to_owned);
                    return Err(e);
                };
                let t = self.target_mut(opt, canon)?;
                put_once(&mut t.log_level, level, v).ok_or_else(twice)
            }
            _ => unreachable_option(opt, canon),
        }
    }

    fn target_mut(&mut self, opt: &Token, canon: &str) -> Result<&mut TargetDraft, ParseError> {
        // Only called for options the rule's target was found to have.
        match self.target.as_mut() {
            Some(t) => Ok(t),
            None => unreachable_option(opt, canon),
        }
    }

    /// Checks the whole rule and builds it.
    fn finish(mut self) -> Result<Rule, ParseError> {
        let Some(command) = self.command.take() else {
            let first = self.tokens.first().cloned().unwrap_or(Token {
                text: String::new(),
                col: 0,
            });
            return Err(err(
                &first,
                "no command in the rule",
                "one of -A, -I, -D, -P, -N, -F, -X with a chain, e.g. -A INPUT",
            ));
        };
        let table = self.table.as_ref().map_or(Table::Filter, |t| t.value);
        let spec_allowed =
            command.kind.has_spec() && !(command.kind == Kind::Delete && command.number.is_some());
        if !spec_allowed && let Some(opt) = &self.first_spec_option {
            return Err(err(
                opt,
                format!("option {} with {}", q(&opt.text), command.at.text),
                match command.kind {
                    Kind::Policy => "only a built-in chain and ACCEPT or DROP after -P",
                    Kind::NewChain => "only the new chain's name after -N",
                    Kind::Flush => "at most a chain name after -F",
                    Kind::DeleteChain => "at most a chain name after -X",
                    _ => "only the chain and the rule number after -D CHAIN NUMBER",
                },
            ));
        }
        let chain = match &command.chain {
            Some(tok) => Some(resolve_chain(table, tok)?),
            None => None,
        };
        let command = match (command.kind, chain) {
            (Kind::Policy, Some(chain)) => {
                let Chain::Builtin(builtin) = chain else {
                    let at = command.chain.unwrap_or(command.at);
                    return Err(err(
                        &at,
                        format!("policy for user chain {}", q(&at.text)),
                        format!("a built-in chain of table {table}: {}", builtin_list(table)),
                    ));
                };
                let at = command.policy.unwrap_or(command.at);
                Command::Policy {
                    chain: builtin,
                    policy: parse_policy(table, &at)?,
                }
            }
            (Kind::NewChain, Some(chain)) => {
                let at = command.chain.unwrap_or(command.at);
                match chain {
                    Chain::User(name) => {
                        // `-j` would read such a name as a misspelt target, so the chain could
                        // never be jumped to: refuse it where it is created.
                        if let Some(near) = lex::suggest(name.as_str(), &TARGETS) {
                            return Err(err(
                                &at,
                                format!("chain name {} is too close to target {near}", q(&at.text)),
                                "a name that -j cannot mistake for a built-in target",
                            ));
                        }
                        Command::NewChain { chain: name }
                    }
                    Chain::Builtin(_) => {
                        return Err(err(
                            &at,
                            format!("-N {}, a built-in chain that always exists", at.text),
                            "a new name for a chain of your own",
                        ));
                    }
                }
            }
            (Kind::Flush, chain) => Command::Flush { chain },
            (Kind::DeleteChain, chain) => match chain {
                None => Command::DeleteChain { chain: None },
                Some(Chain::User(name)) => Command::DeleteChain { chain: Some(name) },
                Some(Chain::Builtin(_)) => {
                    let at = command.chain.unwrap_or(command.at);
                    return Err(err(
                        &at,
                        format!("-X {}, a built-in chain that cannot be deleted", at.text),
                        "a chain created with -N",
                    ));
                }
            },
            (Kind::Delete, Some(chain)) if command.number.is_some() => Command::DeleteNumber {
                chain,
                number: command.number.map_or(1, |n| n.value),
            },
            (kind, Some(chain)) => {
                let spec = self.spec(table, &chain)?;
                match kind {
                    Kind::Append => Command::Append { chain, spec },
                    Kind::Insert => Command::Insert {
                        chain,
                        position: command.number.map(|n| n.value),
                        spec,
                    },
                    _ => Command::Delete { chain, spec },
                }
            }
            // Every command but -F and -X reads its chain as a required value.
            (_, None) => {
                return Err(err(
                    &command.at,
                    "missing chain",
                    "a chain name such as INPUT",
                ));
            }
        };
        Ok(Rule { table, command })
    }

    /// Checks and builds the matches and target of an `-A`, `-I` or `-D` rule.
    fn spec(&mut self, table: Table, chain: &Chain) -> Result<RuleSpec, ParseError> {
        let protocol = self.protocol.as_ref().map(|p| &p.value);
        let plain =
            |wanted: Protocol| protocol.is_some_and(|p| !p.negated && p.value == Some(wanted));
        let has_ports = plain(Protocol::Tcp) || plain(Protocol::Udp);
        for m in &self.matches {
            let needs = match &m.value {
                Match::Tcp(_) if !plain(Protocol::Tcp) => "-p tcp",
                Match::Udp(_) if !plain(Protocol::Udp) => "-p udp",
                Match::Icmp(_) if !plain(Protocol::Icmp) => "-p icmp",
                Match::Multiport(_) if !has_ports => "-p tcp or -p udp",
                _ => "",
            };
            if !needs.is_empty() {
                return Err(err(
                    &m.at,
                    format!("-m {} without {needs}", m.value.module()),
                    format!("{needs} in the same rule"),
                ));
            }
            let missing = match &m.value {
                Match::Multiport(mp) if mp.ports.is_empty() => "--dports, --sports or --ports",
                Match::State(s) if s.value.is_empty() => "--state",
                Match::Conntrack(s) if s.value.is_empty() => "--ctstate",
                Match::Icmp(i) if i.icmp_type.is_none() => "--icmp-type",
                _ => "",
            };
            if !missing.is_empty() {
                return Err(err(
                    &m.at,
                    format!("-m {} without {missing}", m.value.module()),
                    format!("{missing} after -m {}", m.value.module()),
                ));
            }
        }
        if let Some(builtin) = chain.builtin() {
            if let Some(i) = &self.in_interface
                && !builtin.has_in_interface()
            {
                return Err(err(
                    &i.at,
                    format!("-i in chain {builtin}, where packets have no input interface"),
                    "-o for the outgoing interface, or a chain that sees arriving packets \
                     (PREROUTING, INPUT, FORWARD)",
                ));
            }
            if let Some(o) = &self.out_interface
                && !builtin.has_out_interface()
            {
                return Err(err(
                    &o.at,
                    format!("-o in chain {builtin}, where packets have no output interface yet"),
                    "-i for the incoming interface, or a chain that sees leaving packets \
                     (FORWARD, OUTPUT, POSTROUTING)",
                ));
            }
        }
        let target = match self.target.take() {
            None => None,
            Some(t) => Some(build_target(
                t,
                table,
                chain,
                has_ports,
                plain(Protocol::Tcp),
            )?),
        };
        // iptables drops a plain 0.0.0.0/0, which matches everything; so does the canonical form.
        let net = |n: Option<At<Neg<Ipv4Net>>>| n.map(|n| n.value).filter(|n| n.value.prefix > 0);
        Ok(RuleSpec {
            source: net(self.source.take()),
            destination: net(self.destination.take()),
            in_interface: self.in_interface.take().map(|i| i.value),
            out_interface: self.out_interface.take().map(|o| o.value),
            protocol: self.protocol.take().and_then(|p| {
                let negated = p.value.negated;
                p.value.value.map(|value| Neg { negated, value })
            }),
            matches: self.matches.drain(..).map(|m| m.value).collect(),
            target,
        })
    }
}

fn build_target(
    t: TargetDraft,
    table: Table,
    chain: &Chain,
    has_ports: bool,
    is_tcp: bool,
) -> Result<Target, ParseError> {
    let Some(kind) = t.kind else {
        let name = t.chain.unwrap_or_else(|| ChainName(t.at.text.clone()));
        if let Chain::User(own) = chain
            && *own == name
        {
            return Err(err(
                &t.at,
                format!("rule in chain {own} jumps to {own} itself"),
                "a jump to another chain (a loop is refused by the kernel)",
            ));
        }
        return Ok(Target::Jump(name));
    };
    if let Some((wanted, chains)) = kind.allowed() {
        let names: Vec<&str> = chains.iter().map(|c| c.name()).collect();
        let place = format!("table {wanted}, chain {}", names.join(" or "));
        if table != wanted {
            return Err(err(
                &t.at,
                format!("target {} in table {table}", t.at.text),
                format!(
                    "-t {wanted}: {} works only in {place} (the rule is in {table} {chain})",
                    t.at.text
                ),
            ));
        }
        if let Some(builtin) = chain.builtin()
            && !chains.contains(&builtin)
        {
            return Err(err(
                &t.at,
                format!("target {} in chain {table} {builtin}", t.at.text),
                place,
            ));
        }
    }
    let need_ports = |at: &Token| {
        err(
            at,
            format!("ports in {} without -p tcp or -p udp", q(&at.text)),
            "-p tcp or -p udp in the same rule: only those protocols have ports",
        )
    };
    Ok(match kind {
        TargetKind::Accept => Target::Accept,
        TargetKind::Drop if table == Table::Nat => {
            return Err(err(
                &t.at,
                "target DROP in table nat",
                "-t filter: the nat table is not for filtering, iptables refuses DROP there",
            ));
        }
        TargetKind::Drop => Target::Drop,
        TargetKind::Return => Target::Return,
        TargetKind::Reject => {
            let with = match t.reject_with {
                Some(w) if w.value == RejectWith::TcpReset && !is_tcp => {
                    return Err(err(
                        &w.at,
                        "tcp-reset without -p tcp",
                        "-p tcp in the same rule, or an ICMP error such as icmp-port-unreachable",
                    ));
                }
                Some(w) => w.value,
                None => RejectWith::default(),
            };
            Target::Reject { with }
        }
        TargetKind::Redirect | TargetKind::Masquerade => {
            if let Some(p) = &t.to_ports
                && !has_ports
            {
                return Err(need_ports(&p.at));
            }
            let to_ports = t.to_ports.map(|p| p.value);
            if kind == TargetKind::Redirect {
                Target::Redirect { to_ports }
            } else {
                Target::Masquerade { to_ports }
            }
        }
        TargetKind::Dnat | TargetKind::Snat => {
            let option = if kind == TargetKind::Dnat {
                "--to-destination"
            } else {
                "--to-source"
            };
            let Some(to) = t.nat_to else {
                return Err(err(
                    &t.at,
                    format!("-j {} without {option}", t.at.text),
                    format!("{option} ADDRESS[:PORT] after -j {}", t.at.text),
                ));
            };
            if to.value.ports.is_some() && !has_ports {
                return Err(need_ports(&to.at));
            }
            if kind == TargetKind::Dnat {
                Target::Dnat { to: to.value }
            } else {
                Target::Snat { to: to.value }
            }
        }
        TargetKind::Log => Target::Log {
            prefix: t.log_prefix.map(|p| p.value),
            level: t.log_level.map_or(4, |l| l.value),
        },
    })
}

/// Option spellings iptables accepts for the same thing, mapped to the canonical one.
fn canonical_option(name: &str) -> &'static str {
    match name {
        "--source-port" | "--sport" => "--sport",
        "--destination-port" | "--dport" => "--dport",
        "--tcp-flags" => "--tcp-flags",
        "--syn" => "--syn",
        "--icmp-type" => "--icmp-type",
        "--source-ports" | "--sports" => "--sports",
        "--destination-ports" | "--dports" => "--dports",
        "--ports" => "--ports",
        "--state" => "--state",
        "--ctstate" => "--ctstate",
        "--reject-with" => "--reject-with",
        "--to-ports" | "--to-port" => "--to-ports",
        "--to-destination" => "--to-destination",
        "--to-source" => "--to-source",
        "--log-prefix" => "--log-prefix",
        "--log-level" => "--log-level",
        _ => "",
    }
}

/// The canonical options a match module takes.
fn match_options(m: &Match) -> &'static [&'static str] {
    match m {
        Match::Tcp(_) => &["--sport", "--dport", "--tcp-flags", "--syn"],
        Match::Udp(_) => &["--sport", "--dport"],
        Match::Icmp(_) => &["--icmp-type"],
        Match::Multiport(_) => &["--sports", "--dports", "--ports"],
        Match::State(_) => &["--state"],
        Match::Conntrack(_) => &["--ctstate"],
    }
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

fn is_number(text: &str) -> bool {
    !text.is_empty() && text.chars().all(|c| c.is_ascii_digit())
}

fn builtin_list(table: Table) -> String {
    let names: Vec<&str> = table.builtin_chains().iter().map(|c| c.name()).collect();
    names.join(", ")
}

/// The chain a command names, in `table`.
fn resolve_chain(table: Table, tok: &Token) -> Result<Chain, ParseError> {
    if let Some(builtin) = BuiltinChain::from_name(&tok.text) {
        if table.has_builtin(builtin) {
            return Ok(Chain::Builtin(builtin));
        }
        let mut e = err(
            tok,
            format!("chain {} does not exist in table {table}", tok.text),
            format!("one of {} or a chain created with -N", builtin_list(table)),
        );
        e.suggestion = Table::ALL
            .into_iter()
            .find(|t| t.has_builtin(builtin))
            .map(|t| format!("-t {t}"));
        return Err(e);
    }
    let all: Vec<&str> = BuiltinChain::ALL.iter().map(|c| c.name()).collect();
    if let Some(near) = lex::suggest(&tok.text, &all) {
        let mut e = err(
            tok,
            format!("unknown chain {}", q(&tok.text)),
            format!(
                "a built-in chain of table {table} ({}) or a chain created with -N",
                builtin_list(table)
            ),
        );
        e.suggestion = Some(near.to_owned());
        return Err(e);
    }
    Ok(Chain::User(chain_name(tok)?))
}

/// A user chain's name, as `-N` and `-j` accept it.
fn chain_name(tok: &Token) -> Result<ChainName, ParseError> {
    let text = tok.text.as_str();
    let problem = if text.is_empty() {
        Some("empty")
    } else if text.len() > 28 {
        Some("longer than 28 characters")
    } else if text.starts_with('-') {
        Some("starts with -")
    } else if !text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        Some("characters other than letters, digits, _ - .")
    } else if TARGETS.contains(&text) || text == "QUEUE" {
        Some("the name of a target")
    } else {
        None
    };
    match problem {
        Some(p) => Err(err(
            tok,
            format!("invalid chain name {} ({p})", q(text)),
            "up to 28 letters, digits, _ - . not starting with - and not a target's name",
        )),
        None => Ok(ChainName(text.to_owned())),
    }
}

/// The word after `-j` when it is not a built-in target: a user chain, unless it looks like a
/// misspelt target or names something that cannot be jumped to.
fn target_chain(tok: &Token) -> Result<ChainName, ParseError> {
    let text = tok.text.as_str();
    if let Some(near) = lex::suggest(text, &TARGETS) {
        let mut e = err(tok, format!("unknown target {}", q(text)), TARGETS_EXPECTED);
        e.suggestion = Some(near.to_owned());
        return Err(e);
    }
    if UNSUPPORTED_TARGETS.contains(&text) {
        return Err(err(
            tok,
            format!("unsupported target {}", q(text)),
            TARGETS_EXPECTED,
        ));
    }
    if BuiltinChain::from_name(text).is_some() {
        return Err(err(
            tok,
            format!("jump to built-in chain {text}"),
            format!("{TARGETS_EXPECTED} (built-in chains cannot be jumped to)"),
        ));
    }
    chain_name(tok).map_err(|mut e| {
        e.problem = format!("unknown target {}", q(text));
        e.expected = TARGETS_EXPECTED.to_owned();
        e
    })
}

fn parse_policy(table: Table, tok: &Token) -> Result<Policy, ParseError> {
    let policy = match tok.text.as_str() {
        "ACCEPT" => Policy::Accept,
        "DROP" => Policy::Drop,
        other => {
            let mut e = err(
                tok,
                format!("invalid policy {}", q(other)),
                "ACCEPT or DROP",
            );
            e.suggestion = lex::suggest(other, &["ACCEPT", "DROP"]).map(str::to_owned);
            return Err(e);
        }
    };
    if table == Table::Nat && policy == Policy::Drop {
        return Err(err(
            tok,
            "policy DROP in table nat",
            "ACCEPT: the nat table is not for filtering (drop in table filter instead)",
        ));
    }
    Ok(policy)
}

/// `A.B.C.D`, `A.B.C.D/LEN` or `A.B.C.D/MASK`.
fn parse_net(tok: &Token) -> Result<Ipv4Net, ParseError> {
    let text = tok.text.as_str();
    let expected = "an IPv4 address or network, e.g. 10.0.0.1 or 10.0.0.0/24";
    if text.contains(',') {
        return Err(err(
            tok,
            format!("address list {}", q(text)),
            "one address or network per rule (write one rule for each)",
        ));
    }
    let (addr_text, mask_text) = match text.split_once('/') {
        Some((a, m)) => (a, Some(m)),
        None => (text, None),
    };
    // `0/0` is the old way tutorials write "anywhere"; iptables reads a lone 0 as 0.0.0.0.
    let parsed = if addr_text == "0" {
        Ok(Ipv4Addr::UNSPECIFIED)
    } else {
        addr_text.parse::<Ipv4Addr>()
    };
    let Ok(addr) = parsed else {
        let problem = if addr_text.parse::<Ipv6Addr>().is_ok() {
            format!(
                "unsupported IPv6 address {} (ip6tables is not supported)",
                q(text)
            )
        } else if addr_text.chars().any(|c| c.is_ascii_alphabetic()) {
            format!("host name {} (names are not resolved)", q(text))
        } else {
            format!("invalid address {}", q(text))
        };
        return Err(err(tok, problem, expected));
    };
    let prefix = match mask_text {
        None => 32,
        Some(m) if is_number(m) => match m.parse::<u8>() {
            Ok(p) if p <= 32 => p,
            _ => {
                return Err(err(
                    tok,
                    format!("invalid prefix length in {}", q(text)),
                    "a prefix length 0-32, e.g. 10.0.0.0/24",
                ));
            }
        },
        Some(m) => match m.parse::<Ipv4Addr>().map(u32::from) {
            Ok(mask) if mask.leading_ones() + mask.trailing_zeros() == 32 => {
                mask.leading_ones() as u8
            }
            _ => {
                return Err(err(
                    tok,
                    format!("invalid netmask in {}", q(text)),
                    "a prefix length 0-32 or a contiguous netmask like 255.255.255.0",
                ));
            }
        },
    };
    Ipv4Net::new(addr, prefix)
        .ok_or_else(|| err(tok, format!("invalid network {}", q(text)), expected))
}

/// A part of a word (an element of a list), located for errors. The column is exact when the
/// word was not quoted, which is how such words are written.
fn part(tok: &Token, offset_chars: usize, text: &str) -> Token {
    Token {
        text: text.to_owned(),
        col: tok.col + offset_chars,
    }
}

fn parse_port(tok: &Token) -> Result<u16, ParseError> {
    let text = tok.text.as_str();
    if is_number(text) {
        return text.parse::<u16>().map_err(|_| {
            err(
                tok,
                format!("port {} out of range", q(text)),
                "a port number 0-65535 or a service name",
            )
        });
    }
    names::service_port(text).ok_or_else(|| {
        let mut e = err(
            tok,
            format!("unknown port or service {}", q(text)),
            "a port number 0-65535 or a service name such as ssh, smtp, http",
        );
        e.suggestion = lex::suggest(text, &names::service_names()).map(str::to_owned);
        e
    })
}

/// `P`, or a range `A<sep>B`; with `:` (matches) either end may be left out.
fn parse_port_range(tok: &Token, sep: char) -> Result<PortRange, ParseError> {
    let Some((a, b)) = tok.text.split_once(sep) else {
        return parse_port(tok).map(PortRange::single);
    };
    let open = sep == ':';
    let first = if a.is_empty() && open {
        0
    } else {
        parse_port(&part(tok, 0, a))?
    };
    let b_tok = part(tok, a.chars().count() + 1, b);
    let last = if b.is_empty() && open {
        u16::MAX
    } else {
        parse_port(&b_tok)?
    };
    if first > last {
        return Err(err(
            tok,
            format!("port range {} goes backwards", q(&tok.text)),
            format!("the lower port first: {last}{sep}{first}"),
        ));
    }
    Ok(PortRange { first, last })
}

/// A multiport list: ports and `A:B` ranges, at most 15 ports with a range counting as two.
fn parse_port_list(tok: &Token) -> Result<Vec<PortRange>, ParseError> {
    let mut ports = Vec::new();
    let mut offset = 0;
    let mut slots = 0;
    for item in tok.text.split(',') {
        let item_tok = part(tok, offset, item);
        offset += item.chars().count() + 1;
        if item.is_empty() || item.starts_with(':') || item.ends_with(':') {
            return Err(err(
                &item_tok,
                format!("invalid port list entry {} in {}", q(item), q(&tok.text)),
                "ports or ranges like 8000:8080 separated by commas",
            ));
        }
        let range = parse_port_range(&item_tok, ':')?;
        slots += if range.first == range.last { 1 } else { 2 };
        if slots > 15 {
            return Err(err(
                &item_tok,
                format!("too many ports in {}", q(&tok.text)),
                "at most 15 ports, a range counting as two",
            ));
        }
        ports.push(range);
    }
    Ok(ports)
}

fn parse_flags(tok: &Token) -> Result<u8, ParseError> {
    let mut bits = 0;
    let mut offset = 0;
    for name in tok.text.split(',') {
        let item = part(tok, offset, name);
        offset += name.chars().count() + 1;
        let upper = name.to_ascii_uppercase();
        bits |= match upper.as_str() {
            "ALL" => TcpFlags::ALL,
            "NONE" => 0,
            _ => match TcpFlags::NAMES.iter().find(|(n, _)| *n == upper) {
                Some(&(_, b)) => b,
                None => {
                    let mut e = err(
                        &item,
                        format!("unknown tcp flag {}", q(name)),
                        "flags among FIN, SYN, RST, PSH, ACK, URG, ALL, NONE",
                    );
                    let all = ["FIN", "SYN", "RST", "PSH", "ACK", "URG", "ALL", "NONE"];
                    e.suggestion = lex::suggest(name, &all).map(str::to_owned);
                    return Err(e);
                }
            },
        };
    }
    Ok(bits)
}

fn parse_icmp_type(tok: &Token) -> Result<IcmpType, ParseError> {
    let text = tok.text.as_str();
    if let Some((kind, code)) = names::icmp_type(text) {
        return Ok(IcmpType { kind, code });
    }
    let byte = |s: &str| is_number(s).then(|| s.parse::<u8>().ok()).flatten();
    let parsed = match text.split_once('/') {
        Some((k, c)) => byte(k).zip(byte(c)).map(|(kind, code)| IcmpType {
            kind,
            code: Some(code),
        }),
        None => byte(text).map(|kind| IcmpType { kind, code: None }),
    };
    parsed.ok_or_else(|| {
        let mut e = err(
            tok,
            format!("unknown icmp type {}", q(text)),
            "an ICMP type name such as echo-request, a number 0-255, or TYPE/CODE like 3/1",
        );
        e.suggestion = lex::suggest(text, &names::icmp_type_names()).map(str::to_owned);
        e
    })
}

fn parse_states(tok: &Token, ctstate: bool) -> Result<ConnStates, ParseError> {
    let mut states = ConnStates::default();
    let mut offset = 0;
    let allowed: Vec<&str> = ConnState::ALL
        .iter()
        .filter(|s| ctstate || !matches!(s, ConnState::Snat | ConnState::Dnat))
        .map(|s| s.name())
        .collect();
    for name in tok.text.split(',') {
        let item = part(tok, offset, name);
        offset += name.chars().count() + 1;
        let upper = name.to_ascii_uppercase();
        let Some(state) = ConnState::ALL
            .into_iter()
            .find(|s| s.name() == upper && allowed.contains(&s.name()))
        else {
            let mut e = err(
                &item,
                format!("unknown state {}", q(name)),
                format!("states among {}", allowed.join(", ")),
            );
            e.suggestion = lex::suggest(name, &allowed).map(str::to_owned);
            return Err(e);
        };
        states.insert(state);
    }
    Ok(states)
}

fn parse_reject_with(tok: &Token) -> Result<RejectWith, ParseError> {
    let text = tok.text.as_str();
    if let Some(w) = RejectWith::ALL
        .into_iter()
        .find(|w| w.name() == text || w.alias() == text)
    {
        return Ok(w);
    }
    let names: Vec<&str> = RejectWith::ALL.iter().map(|w| w.name()).collect();
    let mut e = err(
        tok,
        format!("unknown reject type {}", q(text)),
        format!("one of {}", names.join(", ")),
    );
    e.suggestion = lex::suggest(text, &names).map(str::to_owned);
    Err(e)
}

/// `[ADDR[-ADDR]][:PORT[-PORT]]` for DNAT and SNAT.
fn parse_nat_to(tok: &Token) -> Result<NatTo, ParseError> {
    let text = tok.text.as_str();
    let expected = "ADDRESS[-ADDRESS][:PORT[-PORT]], e.g. 10.0.0.2 or 10.0.0.2:8080";
    let (addr_text, port_text) = match text.split_once(':') {
        Some((a, p)) => (a, Some(p)),
        None => (text, None),
    };
    if addr_text.is_empty() && port_text.is_none_or(str::is_empty) {
        return Err(err(tok, format!("empty address {}", q(text)), expected));
    }
    let addr = |s: &str, offset: usize| {
        s.parse::<Ipv4Addr>().map_err(|_| {
            err(
                &part(tok, offset, s),
                format!("invalid address {} in {}", q(s), q(text)),
                expected,
            )
        })
    };
    let addrs = if addr_text.is_empty() {
        None
    } else {
        let (a, b) = match addr_text.split_once('-') {
            Some((a, b)) => (addr(a, 0)?, addr(b, a.chars().count() + 1)?),
            None => {
                let a = addr(addr_text, 0)?;
                (a, a)
            }
        };
        if u32::from(a) > u32::from(b) {
            return Err(err(
                tok,
                format!("address range {} goes backwards", q(addr_text)),
                "the lower address first",
            ));
        }
        Some((a, b))
    };
    let ports = match port_text {
        None => None,
        Some(p) => Some(parse_port_range(
            &part(tok, addr_text.chars().count() + 1, p),
            '-',
        )?),
    };
    Ok(NatTo { addrs, ports })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tok(text: &str) -> Token {
        Token {
            text: text.into(),
            col: 10,
        }
    }

    #[test]
    fn networks_take_prefixes_and_masks() {
        assert_eq!(
            parse_net(&tok("10.0.0.5")).unwrap().to_string(),
            "10.0.0.5/32"
        );
        assert_eq!(
            parse_net(&tok("10.0.0.5/24")).unwrap().to_string(),
            "10.0.0.0/24"
        );
        assert_eq!(
            parse_net(&tok("10.0.0.0/255.255.0.0")).unwrap().to_string(),
            "10.0.0.0/16"
        );
        assert_eq!(parse_net(&tok("0/0")).unwrap().to_string(), "0.0.0.0/0");
        assert_eq!(parse_net(&tok("0")).unwrap().to_string(), "0.0.0.0/32");
        assert!(parse_net(&tok("10.0.0.0/255.0.255.0")).is_err());
        assert!(parse_net(&tok("10.0.0.0/33")).is_err());
        assert!(parse_net(&tok("::1")).unwrap_err().problem.contains("IPv6"));
        assert!(
            parse_net(&tok("localhost"))
                .unwrap_err()
                .problem
                .contains("host name")
        );
    }

    #[test]
    fn port_ranges_fill_open_ends_and_refuse_backwards_ones() {
        let r = |s: &str| parse_port_range(&tok(s), ':').map(|p| (p.first, p.last));
        assert_eq!(r("25").unwrap(), (25, 25));
        assert_eq!(r("smtp").unwrap(), (25, 25));
        assert_eq!(r(":1000").unwrap(), (0, 1000));
        assert_eq!(r("1000:").unwrap(), (1000, 65535));
        assert!(r("2000:1000").is_err());
        assert!(r("70000").is_err());
        let e = r("25:smtpp").unwrap_err();
        assert_eq!((e.token.as_str(), e.col), ("smtpp", 13));
        assert_eq!(e.suggestion.as_deref(), Some("smtp"));
        assert!(parse_port_range(&tok("80:"), '-').is_err());
    }

    #[test]
    fn multiport_lists_count_ranges_twice() {
        assert_eq!(parse_port_list(&tok("21,25,80:90")).unwrap().len(), 3);
        let fourteen: Vec<String> = (1..=14).map(|p| p.to_string()).collect();
        assert!(parse_port_list(&tok(&fourteen.join(","))).is_ok());
        assert!(parse_port_list(&tok(&format!("{},100:200", fourteen.join(",")))).is_err());
        assert_eq!(parse_port_list(&tok("21,,25")).unwrap_err().col, 13);
    }

    #[test]
    fn nat_destinations_take_addresses_ports_and_ranges() {
        let n = |s: &str| parse_nat_to(&tok(s)).map(|n| n.to_string());
        assert_eq!(n("10.0.0.2").unwrap(), "10.0.0.2");
        assert_eq!(n("10.0.0.2:8080").unwrap(), "10.0.0.2:8080");
        assert_eq!(
            n("10.0.0.1-10.0.0.3:1000-2000").unwrap(),
            "10.0.0.1-10.0.0.3:1000-2000"
        );
        assert_eq!(n(":80").unwrap(), ":80");
        assert!(n("").is_err());
        assert!(n(":").is_err());
        assert!(n("10.0.0.5-10.0.0.1").is_err());
        assert_eq!(parse_nat_to(&tok("10.0.0.2:htp")).unwrap_err().col, 19);
    }

    #[test]
    fn icmp_types_take_names_numbers_and_codes() {
        let t = |s: &str| parse_icmp_type(&tok(s)).map(|t| t.to_string());
        assert_eq!(t("echo-request").unwrap(), "8");
        assert_eq!(t("port-unreachable").unwrap(), "3/3");
        assert_eq!(t("3/1").unwrap(), "3/1");
        assert_eq!(t("255").unwrap(), "any");
        assert!(t("3/300").is_err());
        assert_eq!(
            parse_icmp_type(&tok("echo-requst"))
                .unwrap_err()
                .suggestion
                .as_deref(),
            Some("echo-request")
        );
    }
}
