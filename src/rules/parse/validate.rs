//! Checks on the whole rule once every word is read: chains that exist in the table, targets
//! in the tables and chains they work in, ports only with a protocol that has them, `-i`
//! only where packets have an input interface; then the typed [`Rule`] is built.
//!
//! Contract: a rule that passes these checks is one iptables and the kernel accept.

use super::values::*;
use super::vocabulary::*;
use super::*;

impl Parser {
    /// Checks the whole rule and builds it.
    pub(super) fn finish(mut self) -> Result<Rule, ParseError> {
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
    pub(super) fn spec(&mut self, table: Table, chain: &Chain) -> Result<RuleSpec, ParseError> {
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
            // An interface the chain's packets do not have yet, or no longer.
            let sides = [
                (
                    &self.in_interface,
                    builtin.has_in_interface(),
                    "-i",
                    "input interface",
                    "-o for the outgoing interface, or a chain that sees arriving packets \
                     (PREROUTING, INPUT, FORWARD)",
                ),
                (
                    &self.out_interface,
                    builtin.has_out_interface(),
                    "-o",
                    "output interface yet",
                    "-i for the incoming interface, or a chain that sees leaving packets \
                     (FORWARD, OUTPUT, POSTROUTING)",
                ),
            ];
            for (iface, has, flag, missing, hint) in sides {
                if let Some(iface) = iface
                    && !has
                {
                    return Err(err(
                        &iface.at,
                        format!("{flag} in chain {builtin}, where packets have no {missing}"),
                        hint,
                    ));
                }
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

pub(super) fn build_target(
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
