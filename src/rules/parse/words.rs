//! The word loop: reads the words of one command in order, the way iptables does, and records
//! the table, the command, the addresses, interfaces, protocol, loaded matches and the target.
//!
//! Contract: each option is checked where it stands (its value, its negation, whether it was
//! given twice); what depends on the whole rule waits for `validate`.

use super::values::*;
use super::vocabulary::*;
use super::*;

impl Parser {
    pub(super) fn run(mut self) -> Result<Rule, ParseError> {
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

    pub(super) fn next(&mut self) -> Option<Token> {
        let tok = self.tokens.get(self.pos)?.clone();
        self.pos += 1;
        Some(tok)
    }

    pub(super) fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    /// Skips `sudo` and `iptables` at the start; refuses other programs.
    pub(super) fn program_words(&mut self) -> Result<(), ParseError> {
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
    pub(super) fn stray(&self, tok: &Token) -> ParseError {
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
    pub(super) fn value(&mut self, opt: &Token, expected: &str) -> Result<Token, ParseError> {
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

    pub(super) fn option(&mut self, tok: Token) -> Result<(), ParseError> {
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

    pub(super) fn spec_option(&mut self, tok: &Token) {
        if self.first_spec_option.is_none() {
            self.first_spec_option = Some(tok.clone());
        }
    }

    pub(super) fn table(&mut self, opt: &Token) -> Result<(), ParseError> {
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

    pub(super) fn command(
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

    pub(super) fn protocol(
        &mut self,
        opt: &Token,
        negated: Option<Token>,
    ) -> Result<(), ParseError> {
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

    pub(super) fn address(
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

    pub(super) fn interface(
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

    pub(super) fn module(&mut self, opt: &Token) -> Result<(), ParseError> {
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

    pub(super) fn jump(&mut self, opt: &Token) -> Result<(), ParseError> {
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
}
