//! The rule checks (`rule-table`, `rule-chain`, `rule-match`) judged by what the student's
//! rules do to the lab's connection ([`super::meaning`]), and the reason a lab check gives when
//! the rules did not work.
//!
//! Contract, with `accept = "equivalent"` (the default):
//! - a rule that gives the lab's connection the reference's effect passes all three checks,
//!   with a note when it is reached through a user chain or catches more than asked;
//! - when the lab run shows the rules work, no rule check fails (the run is the authority);
//! - otherwise each check names what is wrong in its own aspect: the table; the chain as
//!   where the connection reaches it from (a user chain nobody jumps to, a jump not taken);
//!   the match as a set (the port range or list, the interface, the addresses, the state) and
//!   the target's effect (the port the connection is sent to).
//!
//! With `accept = "exact"` the literal comparison of score.rs decides.

use crate::rules::eval::Mismatch;
use crate::rules::{Chain, Rule, Target};
use crate::text::quote;

use super::meaning::{Effect, RuleMeaning};
use super::rubric::{Accept, Kind};
use super::score::{
    Evidence, candidate, chain_problem, match_problem, no_rule, spec, table_problem,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aspect {
    Table,
    Chain,
    Match,
}

/// A rule check's verdict: `Ok(note)` passes (with a note to add to the pass line).
pub fn rule_check(ev: &Evidence, accept: Accept, aspect: Aspect) -> Result<Option<String>, String> {
    let spec = spec(ev);
    let literal = || {
        let (line, rule) = candidate(ev.commands, spec).ok_or_else(|| no_rule(ev))?;
        let p = match aspect {
            Aspect::Table => {
                table_problem(&rule.loose, &spec.loose).map(|p| format!("your rule {p}"))
            }
            Aspect::Chain => chain_problem(ev, &rule.loose, &spec.loose),
            Aspect::Match => match_problem(ev, &rule.loose, &spec.loose),
        };
        match p {
            Some(p) => Err(format!("{p} (line {})", line.line)),
            None => Ok(None),
        }
    };
    let meaning = RuleMeaning::new(ev.rubric, spec, &ev.rules);
    let Some(m) = meaning.filter(|_| accept == Accept::Equivalent) else {
        return literal();
    };
    if m.effect == m.want
        && m.want != Effect::Untouched
        && let Some((line, _)) = m.fired()
    {
        return Ok(match aspect {
            Aspect::Table => None,
            Aspect::Chain => (m.walk.chains.len() > 1).then(|| {
                format!(
                    "your rule (line {line}) is in {} {}, reached from {} ({})",
                    m.table.name(),
                    m.walk.chains.last().expect("entered"),
                    m.chain.name(),
                    m.walk.chains.join(" > ")
                )
            }),
            Aspect::Match => m
                .broader(&spec.reference, line)
                .map(|b| format!("your rule (line {line}) works for the lab's connection; {b}")),
        });
    }
    if lab_works(ev) {
        return Ok(None);
    }
    match diagnose(ev, &m, aspect) {
        Some(p) => Err(p),
        None if candidate(ev.commands, spec).is_none() => Err(no_rule(ev)),
        None => Ok(None),
    }
}

/// Whether every lab check of the rubric passed: the run shows the rules work.
fn lab_works(ev: &Evidence) -> bool {
    let mut any = false;
    for c in &ev.rubric.checks {
        if matches!(c.kind, Kind::LabFile { .. } | Kind::LabConversation { .. }) {
            any = true;
            if !super::score::score(c, ev).0 {
                return false;
            }
        }
    }
    any
}

/// The student's rule that stands for the reference: the one that gave the connection a NAT,
/// else the literal candidate; (line, rule as applied, if it was).
fn chosen<'a>(ev: &'a Evidence, m: &RuleMeaning) -> Option<(usize, Option<&'a Rule>)> {
    let nat = m
        .fired()
        .filter(|(_, t)| matches!(t, Target::Redirect { .. } | Target::Dnat { .. }))
        .map(|(l, _)| l);
    let line = nat.or_else(|| candidate(ev.commands, spec(ev)).map(|(l, _)| l.line))?;
    let rule = ev
        .rules
        .iter()
        .find(|(l, _)| *l == line)
        .map(|(_, r)| r)
        .or_else(|| {
            ev.commands
                .lines
                .iter()
                .find(|l| l.line == line)
                .and_then(|l| l.iptables.as_ref()?.parsed.as_ref().ok())
        });
    Some((line, rule))
}

/// What is wrong with the student's rule in one aspect, by meaning.
fn diagnose(ev: &Evidence, m: &RuleMeaning, aspect: Aspect) -> Option<String> {
    let spec = spec(ev);
    let (line, rule) = chosen(ev, m)?;
    let Some(rule) = rule else {
        // Not a rule iptables could take: the word-by-word reading explains it.
        let (l, ipt) = candidate(ev.commands, spec)?;
        let p = match aspect {
            Aspect::Table => {
                table_problem(&ipt.loose, &spec.loose).map(|p| format!("your rule {p}"))
            }
            Aspect::Chain => chain_problem(ev, &ipt.loose, &spec.loose),
            Aspect::Match => match_problem(ev, &ipt.loose, &spec.loose),
        };
        return p.map(|p| format!("{p} (line {})", l.line));
    };
    let loose = &candidate(ev.commands, spec)
        .filter(|(l, _)| l.line == line)
        .map(|(_, i)| i.loose.clone())
        .unwrap_or_else(|| loose_of(rule));
    let at = |p: String| format!("{p} (line {line})");
    match aspect {
        Aspect::Table => table_problem(loose, &spec.loose).map(|p| at(format!("your rule {p}"))),
        Aspect::Chain => {
            if rule.table() != m.table {
                return None;
            }
            match rule.chain()? {
                Chain::Builtin(_) => chain_problem(ev, loose, &spec.loose).map(at),
                Chain::User(name) => {
                    let name = name.as_str();
                    let (t, from) = (m.table.name(), m.chain.name());
                    if !m.set.reachable(m.table, m.chain, name) {
                        return Some(at(format!(
                            "your rule is in {t} {name}, but no rule of {t} {from} jumps to \
                             {name}: packets only pass a user chain that a built-in chain \
                             jumps to"
                        )));
                    }
                    if m.walk.chains.iter().any(|c| c == name) {
                        return None;
                    }
                    let jump = m.set.jumps_to(m.table, name).find_map(|(_, e)| {
                        m.mismatch(&e.spec).map(|why| (e.line, e.spec.clone(), why))
                    });
                    Some(at(match jump {
                        Some((j, js, why)) => format!(
                            "the client's connection never reaches {t} {name}: the jump on \
                             line {j} does not match it ({})",
                            mismatch_words(m, &js, why)
                        ),
                        None => format!(
                            "the client's connection never reaches {t} {name}: an earlier rule \
                             of {t} {from} decides it first"
                        ),
                    }))
                }
            }
        }
        Aspect::Match => {
            let rs = rule.spec()?;
            if let Some(why) = m.mismatch(rs) {
                return Some(at(mismatch_words(m, rs, why)));
            }
            let target = rs.target.as_ref()?;
            let want_port = match m.want {
                Effect::Local(p) => p,
                _ => return None,
            };
            let got = match target {
                Target::Redirect { to_ports: None } => {
                    return Some(at(format!(
                        "your rule does not say where to send the connections: add --to-ports \
                         {want_port}"
                    )));
                }
                Target::Redirect { to_ports: Some(r) } => Effect::Local(r.first),
                Target::Dnat { to } => match m.fired() {
                    // The walk knows the host's own addresses.
                    Some((l, _)) if l == line => m.effect,
                    _ => dnat_effect(m, to),
                },
                other => {
                    return Some(at(format!(
                        "your rule jumps to {}, but the lab needs {}",
                        other.name(),
                        spec.reference.target().map_or("no target", Target::name)
                    )));
                }
            };
            match got {
                Effect::Local(p) if p != want_port => Some(at(format!(
                    "your rule sends the connections to port {p}, but the server listens on \
                     {want_port}"
                ))),
                Effect::Elsewhere(a, p) => Some(at(format!(
                    "your rule sends the connections to {a}:{p}, which is not the server's own \
                     address; the server listens on its port {want_port}"
                ))),
                _ => None,
            }
        }
    }
}

fn dnat_effect(m: &RuleMeaning, to: &crate::rules::NatTo) -> Effect {
    let addr = to.addrs.map_or(m.packet.dst, |(a, _)| a);
    let port = to.ports.map_or(m.packet.dport, |r| r.first);
    if addr == m.packet.dst {
        Effect::Local(port)
    } else {
        Effect::Elsewhere(addr, port)
    }
}

fn loose_of(rule: &Rule) -> super::commands::Loose {
    super::commands::Loose::read(&format!("iptables {rule}"))
}

/// A failed condition in the student's terms.
fn mismatch_words(m: &RuleMeaning, rs: &crate::rules::RuleSpec, why: Mismatch) -> String {
    let p = &m.packet;
    let probe = Rule {
        table: m.table,
        command: crate::rules::Command::Append {
            chain: Chain::Builtin(m.chain),
            spec: rs.clone(),
        },
    };
    match why {
        Mismatch::Protocol => format!(
            "your rule matches protocol {}, but the client uses {}",
            rs.protocol
                .as_ref()
                .map_or("(another)".to_string(), |n| format!(
                    "{}{}",
                    if n.negated { "! " } else { "" },
                    n.value
                )),
            p.proto
        ),
        Mismatch::DestinationPort => {
            let ports: Vec<String> = probe
                .dports()
                .iter()
                .map(|n| {
                    let r = if n.value.first == n.value.last {
                        n.value.first.to_string()
                    } else {
                        format!("{}:{}", n.value.first, n.value.last)
                    };
                    if n.negated { format!("! {r}") } else { r }
                })
                .collect();
            format!(
                "your rule matches port {}, but the client connects to port {}",
                ports.join(","),
                p.dport
            )
        }
        Mismatch::SourcePort => format!(
            "your rule matches a source port the client's connection does not use (it \
             connects to port {})",
            p.dport
        ),
        Mismatch::InInterface => format!(
            "your rule matches packets arriving on {}, but the client's connections arrive \
             on {}",
            rs.in_interface.as_ref().map_or(String::new(), |n| format!(
                "{}{}",
                if n.negated { "! " } else { "" },
                n.value
            )),
            p.in_iface.as_deref().unwrap_or("-")
        ),
        Mismatch::OutInterface => format!(
            "your rule matches an outgoing interface (-o), which packets arriving in {} do not \
             have yet",
            m.chain.name()
        ),
        Mismatch::Source => format!(
            "your rule matches source {}, but the client's connections come from {}",
            rs.source
                .as_ref()
                .map_or(String::new(), |n| n.value.to_string()),
            p.src
        ),
        Mismatch::Destination => format!(
            "your rule matches destination {}, but the client connects to {}",
            rs.destination
                .as_ref()
                .map_or(String::new(), |n| n.value.to_string()),
            p.dst
        ),
        Mismatch::State => "your rule's state match leaves out the client's first packet, \
                            which is NEW"
            .to_string(),
        Mismatch::Flags => {
            "your rule's TCP flags leave out the client's first packet, a SYN".to_string()
        }
    }
}

/// Why the lab did not work, by meaning: a rule that drops the connection on its way, a rule
/// that decides it before the student's, or what is wrong with the student's rule. `None`
/// when the lab has no rules to judge; `Some(None)` when the rules are not the problem.
pub fn lab_problem(ev: &Evidence) -> Option<Option<String>> {
    let spec = ev.rubric.rules.as_ref()?;
    let m = RuleMeaning::new(ev.rubric, spec, &ev.rules)?;
    Some(problem(ev, &m))
}

fn problem(ev: &Evidence, m: &RuleMeaning) -> Option<String> {
    let said = |line: usize| {
        ev.commands
            .lines
            .iter()
            .find(|l| l.line == line)
            .map(|l| format!("line {line} ({})", quote(l.words.join(" ").as_bytes())))
            .unwrap_or_else(|| format!("line {line}"))
    };
    if m.effect == m.want {
        return m.blocked.as_ref().map(|(line, what)| match line {
            Some(l) => format!("{} {what}", said(*l)),
            None => what.clone(),
        });
    }
    if let Effect::Dropped(l) = m.effect {
        return Some(format!(
            "{} drops the connection in {} {}",
            said(l),
            m.table.name(),
            m.walk.chains.join(" > ")
        ));
    }
    for aspect in [Aspect::Table, Aspect::Chain, Aspect::Match] {
        if let Some(p) = diagnose(ev, m, aspect) {
            return Some(p);
        }
    }
    // The student's rule is right, but the walk ended before it: a rule before it decided,
    // or a RETURN left its chain.
    if let Some((mine, _)) = chosen(ev, m)
        && !m.walk.matched.contains(&mine)
        && let Some(&last) = m.walk.matched.last()
    {
        let t = m
            .entry(last)
            .and_then(|(_, s)| s.target.as_ref())
            .map_or("no target", Target::name);
        return Some(format!(
            "{} ({t}) decides the connection in {} {} before your rule on line {mine} is reached",
            said(last),
            m.table.name(),
            m.walk.chains.join(" > ")
        ));
    }
    None
}
