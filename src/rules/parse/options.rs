//! The `--long` options of matches and targets: an option belongs to the target if the target
//! has it, else to a loaded match, else to the match `-p` implies, as in iptables.
//!
//! Contract: an option no loaded match or target takes is refused with the module that would
//! take it, so the student learns which `-m` or `-j` is missing.

use super::values::*;
use super::vocabulary::*;
use super::*;

impl Parser {
    /// A `--long` option of a match or target.
    pub(super) fn extension_option(
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
    pub(super) fn misplaced_option(&self, opt: &Token, name: &str, canon: &str) -> ParseError {
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

    pub(super) fn match_option(
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
            (
                Match::Tcp(TcpMatch { sport, dport, .. }) | Match::Udp(UdpMatch { sport, dport }),
                MatchValue::Ports(p),
            ) => {
                let field = if canon == "--sport" { sport } else { dport };
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

    pub(super) fn target_option(
        &mut self,
        opt: &Token,
        canon: &'static str,
    ) -> Result<(), ParseError> {
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

    pub(super) fn target_mut(
        &mut self,
        opt: &Token,
        canon: &str,
    ) -> Result<&mut TargetDraft, ParseError> {
        // Only called for options the rule's target was found to have.
        match self.target.as_mut() {
            Some(t) => Ok(t),
            None => unreachable_option(opt, canon),
        }
    }
}
