//! Scoring: each rubric check against the evidence, with one line of feedback in the
//! student's terms. A check passes or fails whole; a failed check's feedback says what was
//! seen and, where labctl can tell, why (the rule's table or chain, the port, the capture).

use crate::analyze::{Analysis, ConnOutcome, Handshake};
use crate::text::quote;

use crate::rules::Rule;

use super::answers;
use super::attack;
use super::commands::{Commands, Iptables, Line, Loose};
use super::evidence::{CaptureSeen, LabSeen, ip, normal_host, pasv_ports};
use super::rubric::{Check, Fact, Kind, Rubric, RulesSpec, split_conversation};
use super::rulecheck::{Aspect, rule_check};

/// Everything a check may look at.
pub struct Evidence<'a> {
    pub rubric: &'a Rubric,
    pub commands: &'a Commands,
    /// Why commands.sh could not be read, if it could not.
    pub commands_problem: Option<String>,
    /// Problems of applying the student's rules in the lab (refused by iptables or by the
    /// parser), already worded for the student.
    pub rule_problems: Vec<String>,
    /// How many of the student's rules were applied.
    pub applied: usize,
    /// The rules iptables accepted in the lab, in order, as applied (interfaces mapped):
    /// (commands.sh line, rule).
    pub rules: Vec<(usize, Rule)>,
    /// The lab run; `None` when the lab could not run on this host.
    pub lab: Option<&'a LabSeen>,
    pub capture: &'a CaptureSeen,
    pub answers: Result<toml::Table, String>,
}

/// A check's verdict: passed, and the specific feedback when there is one (why it failed, or
/// the pass line with what else the student's rule does).
pub fn score(check: &Check, ev: &Evidence) -> (bool, Option<String>) {
    let rule = match &check.kind {
        Kind::RuleTable { accept } => Some((*accept, Aspect::Table)),
        Kind::RuleChain { accept } => Some((*accept, Aspect::Chain)),
        Kind::RuleMatch { accept } => Some((*accept, Aspect::Match)),
        _ => None,
    };
    if let Some((accept, aspect)) = rule {
        return match rule_check(ev, accept, aspect) {
            Ok(None) => (true, None),
            Ok(Some(note)) => (true, Some(format!("{}: {note}", check.pass))),
            Err(why) => (false, Some(why)),
        };
    }
    let verdict = match &check.kind {
        Kind::RuleTable { .. } | Kind::RuleChain { .. } | Kind::RuleMatch { .. } => {
            unreachable!("rule checks are scored above")
        }
        Kind::LabFile { file, contains } => lab_file(ev, file, contains),
        Kind::LabConversation {
            conversation,
            client_sent,
            server_contains,
        } => lab_conversation(
            ev,
            conversation,
            client_sent.as_deref(),
            server_contains.as_deref(),
        ),
        Kind::Command { program, has } => match ev.commands.running(program, has) {
            Some(_) => Ok(()),
            None => Err(missing_commands(ev).unwrap_or_else(|| {
                format!(
                    "commands.sh has no {} command{}",
                    program.join(" or "),
                    if has.is_empty() {
                        String::new()
                    } else {
                        format!(" with {}", has.join(" "))
                    }
                )
            })),
        },
        Kind::CaptureNoPort { port } => capture_no_port(ev, *port),
        Kind::Listener { port } => match ev.commands.listener(*port) {
            Some(_) => Ok(()),
            None => Err(missing_commands(ev).unwrap_or_else(|| {
                format!(
                    "commands.sh never starts a listener on port {port} (for example \
                     `nc -l -p {port} > dump.txt`)"
                )
            })),
        },
        Kind::CaptureFile => match &ev.capture.problem {
            None => Ok(()),
            Some(p) => Err(p.clone()),
        },
        Kind::CaptureConversation {
            port,
            message,
            reply,
        } => capture_conversation(ev, *port, *message, *reply),
        Kind::CaptureDns { rtype } => capture_dns(ev, rtype),
        Kind::CaptureFtpData => capture_ftp_data(ev),
        Kind::Answer {
            key,
            fact,
            accept,
            bases,
        } => answer(ev, key, *fact, accept, bases),
        Kind::Filter { key, ports } => super::filtercheck::check(ev, key, ports),
    };
    match verdict {
        Ok(()) => (true, None),
        Err(why) => (false, Some(why)),
    }
}

type Verdict = Result<(), String>;

fn missing_commands(ev: &Evidence) -> Option<String> {
    ev.commands_problem.clone()
}

/// The student's line that best stands for the reference rule: one with the same target, else
/// one naming the reference's ports, else the last rule added.
pub(super) fn candidate<'a>(
    commands: &'a Commands,
    spec: &RulesSpec,
) -> Option<(&'a Line, &'a Iptables)> {
    let adds: Vec<_> = commands
        .iptables()
        .filter(|(_, i)| i.loose.adds && !i.listing)
        .collect();
    let r = &spec.loose;
    adds.iter()
        .find(|(_, i)| i.loose.target.is_some() && i.loose.target == r.target)
        .or_else(|| {
            adds.iter().find(|(_, i)| {
                (i.loose.dport.is_some() && i.loose.dport == r.dport)
                    || (i.loose.to_port.is_some() && i.loose.to_port == r.to_port)
            })
        })
        .or(adds.last())
        .copied()
}

pub(super) fn no_rule(ev: &Evidence) -> String {
    missing_commands(ev).unwrap_or_else(|| {
        "commands.sh adds no iptables rule (no iptables line with -A or -I)".to_string()
    })
}

pub(super) fn spec<'a>(ev: &'a Evidence) -> &'a RulesSpec {
    ev.rubric
        .rules
        .as_ref()
        .expect("the rubric was validated: rule checks come with [rules]")
}

pub(super) fn table_problem(got: &Loose, want: &Loose) -> Option<String> {
    if got.table() == want.table() {
        return None;
    }
    let target = want.target.as_deref().unwrap_or("the rule");
    let nat_only = matches!(target, "REDIRECT" | "DNAT" | "SNAT" | "MASQUERADE");
    let why = if nat_only {
        format!("{target} exists only in the {} table", want.table())
    } else {
        format!("the rule belongs in the {} table", want.table())
    };
    Some(match &got.table {
        None => format!(
            "has no `-t {}`: without -t iptables uses the filter table, and {why}",
            want.table()
        ),
        Some(t) => format!("is in the {t} table; {why}"),
    })
}

fn verb(target: Option<&str>) -> &'static str {
    match target {
        Some("REDIRECT") => "redirects",
        Some("DNAT") => "rewrites",
        Some("DROP") => "drops",
        Some("REJECT") => "rejects",
        Some("ACCEPT") => "accepts",
        _ => "matches",
    }
}

pub(super) fn chain_problem(ev: &Evidence, got: &Loose, want: &Loose) -> Option<String> {
    let host = &ev.rubric.plan.hosts[spec(ev).host].name;
    let t = got.table();
    let rt = want.table();
    let rc = want.chain.as_deref().unwrap_or("");
    let c = got.chain.as_deref().unwrap_or("");
    let target = got.target.as_deref().or(want.target.as_deref());
    let v = verb(target);
    if c == rc {
        return None;
    }
    if c.eq_ignore_ascii_case(rc) {
        return Some(format!(
            "chain names are case-sensitive: your rule names {c:?}, which is not the built-in {rc}"
        ));
    }
    let nat_target = matches!(target, Some("REDIRECT" | "DNAT"));
    Some(match (rc, c) {
        ("PREROUTING", "OUTPUT") => format!(
            "your rule is in {t} OUTPUT: it only {v} connections made on the {host} itself; \
             incoming connections pass {rt} PREROUTING"
        ),
        ("PREROUTING", "INPUT" | "POSTROUTING") if nat_target => format!(
            "your rule is in {t} {c}: {} works only in PREROUTING and OUTPUT, so iptables \
             refuses it there; incoming connections must be redirected in {rt} PREROUTING, \
             before the routing decision",
            target.unwrap_or("the target")
        ),
        ("PREROUTING", "FORWARD") => format!(
            "your rule is in {t} FORWARD: that chain sees only packets routed through the \
             {host} to another host; connections to the {host} itself pass {rt} PREROUTING"
        ),
        ("OUTPUT", "INPUT") => format!(
            "your rule is in {t} INPUT: it sees packets arriving for the {host}, not the \
             connections it makes; those pass {rt} OUTPUT"
        ),
        ("OUTPUT", "PREROUTING") => format!(
            "your rule is in {t} PREROUTING: it sees only packets arriving from the network; \
             connections the {host} makes itself pass {rt} OUTPUT"
        ),
        (_, "") => "your line does not add a rule to a chain (-A or -I)".to_string(),
        _ => format!("your rule is in {t} {c}; the lab needs {rt} {rc}"),
    })
}

fn port_of(word: Option<&str>) -> Option<u16> {
    let w = word?;
    w.parse().ok().or(match w {
        "ftp" => Some(21),
        "ssh" => Some(22),
        "telnet" => Some(23),
        "smtp" => Some(25),
        "domain" => Some(53),
        "http" => Some(80),
        _ => None,
    })
}

pub(super) fn match_problem(ev: &Evidence, got: &Loose, want: &Loose) -> Option<String> {
    let host = &ev.rubric.plan.hosts[spec(ev).host].name;
    if let Some(p) = &want.proto
        && got.proto.as_deref().map(str::to_ascii_lowercase).as_deref() != Some(p.as_str())
    {
        return Some(match &got.proto {
            None => format!("your rule has no `-p {p}`: a port match needs the protocol"),
            Some(g) => format!("your rule matches protocol {g}, but the client uses {p}"),
        });
    }
    if let Some(want_port) = port_of(want.dport.as_deref()) {
        match (&got.dport, port_of(got.dport.as_deref())) {
            (None, _) => {
                return Some(format!(
                    "your rule has no --dport {want_port}: it catches every connection to the \
                     {host}, not only those to port {want_port}"
                ));
            }
            (Some(_), Some(p)) if p == want_port => {}
            (Some(g), _) => {
                return Some(format!(
                    "your rule matches port {g}, but the client connects to port {want_port}"
                ));
            }
        }
    }
    if let Some(want_if) = &want.in_iface
        && let Some(g) = &got.in_iface
        && g != want_if
        && (g == "lo"
            || ev
                .rubric
                .plan
                .links
                .iter()
                .flat_map(|l| l.ends.iter())
                .any(|e| e.iface == *g))
    {
        // A name the lab has, but not the one the client's packets arrive on.
        return Some(format!(
            "your rule matches packets arriving on {g}, but the client's connections arrive \
             on {want_if}"
        ));
    }
    if want.target != got.target {
        let ok = matches!(
            (want.target.as_deref(), got.target.as_deref()),
            (Some("REDIRECT"), Some("DNAT"))
        );
        if !ok {
            return Some(format!(
                "your rule jumps to {}, but the lab needs {}",
                got.target.as_deref().unwrap_or("no target (-j is missing)"),
                want.target.as_deref().unwrap_or("no target")
            ));
        }
    }
    if let Some(want_to) = port_of(want.to_port.as_deref())
        && port_of(got.to_port.as_deref()) != Some(want_to)
    {
        return Some(match &got.to_port {
            None => format!(
                "your rule does not say where to send the connections: add --to-ports {want_to}"
            ),
            Some(g) => format!(
                "your rule sends the connections to port {g}, but the server listens on {want_to}"
            ),
        });
    }
    None
}

/// Why the lab did not behave: the first thing wrong with the student's rule, or what
/// happened to it.
fn lab_why(ev: &Evidence) -> String {
    // By meaning when the rules can be judged; word by word only when they cannot.
    let problem = match super::rulecheck::lab_problem(ev) {
        Some(p) => p,
        None => ev.rubric.rules.as_ref().and_then(|spec| {
            let (line, rule) = candidate(ev.commands, spec)?;
            table_problem(&rule.loose, &spec.loose)
                .map(|p| format!("your rule {p}"))
                .or_else(|| chain_problem(ev, &rule.loose, &spec.loose))
                .or_else(|| match_problem(ev, &rule.loose, &spec.loose))
                .map(|p| format!("{p} (line {})", line.line))
        }),
    };
    if let Some(p) = problem.or_else(|| ev.rule_problems.first().cloned()) {
        return p;
    }
    match ev.rubric.rules.as_ref().map(|s| candidate(ev.commands, s)) {
        Some(None) => no_rule(ev),
        _ if ev.applied == 0 => "none of your rules could be applied".into(),
        _ => match blocker(ev) {
            Some(line) => format!(
                "line {} ({}) blocks the connection or undoes your rule",
                line.line,
                quote(line.words.join(" ").as_bytes())
            ),
            None => "another of your commands undid or blocked your rule".into(),
        },
    }
}

/// A line that drops traffic or removes rules: a DROP policy, a DROP or REJECT rule, a flush
/// or a delete after the student's rule.
fn blocker<'a>(ev: &'a Evidence) -> Option<&'a Line> {
    let after = ev
        .rubric
        .rules
        .as_ref()
        .and_then(|s| candidate(ev.commands, s))
        .map_or(0, |(l, _)| l.line);
    ev.commands.iptables().find_map(|(line, ipt)| {
        let words = &line.words;
        let has = |w: &str| words.iter().any(|x| x == w);
        let blocks = (has("-P") || has("--policy")) && has("DROP")
            || matches!(ipt.loose.target.as_deref(), Some("DROP" | "REJECT"))
            || line.line > after
                && ["-F", "--flush", "-D", "--delete", "-X"]
                    .iter()
                    .any(|w| has(w));
        (blocks && ipt.parsed.is_ok()).then_some(line)
    })
}

fn lab_file(ev: &Evidence, file: &str, contains: &str) -> Verdict {
    let (host, path) = file.split_once(':').expect("validated HOST:PATH");
    let Some(lab) = ev.lab else {
        return Err(super::NOT_RUN.into());
    };
    let full = lab.report.out.join("hosts").join(host).join(path);
    let bytes = std::fs::read(&full).unwrap_or_default();
    let found = !contains.is_empty()
        && bytes
            .windows(contains.len())
            .any(|w| w == contains.as_bytes());
    if found {
        return Ok(());
    }
    Err(format!(
        "with your rules, the lab's message {} did not reach {path} on the {host}: {}",
        quote(contains.as_bytes()),
        lab_why(ev)
    ))
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    needle.is_empty()
        || haystack
            .windows(needle.len())
            .any(|w| w == needle.as_bytes())
}

fn lab_conversation(
    ev: &Evidence,
    conversation: &str,
    client_sent: Option<&str>,
    server_contains: Option<&str>,
) -> Verdict {
    let (client, server, port) = split_conversation(conversation).expect("validated");
    let Some(lab) = ev.lab else {
        return Err(super::NOT_RUN.into());
    };
    let found = lab.find(client, server, port);
    let done = found.iter().find(|c| {
        c.tcp
            .as_ref()
            .is_some_and(|t| t.handshake == Handshake::Complete)
            && client_sent.is_none_or(|s| c.transcript[0].bytes == s.as_bytes())
            && server_contains.is_none_or(|s| contains(&c.transcript[1].bytes, s))
    });
    if done.is_some() {
        return Ok(());
    }
    let seen = match found.last() {
        None => "never appeared on the wire".to_string(),
        Some(c) => match c.outcome() {
            ConnOutcome::Refused => "was refused (RST): nothing listens on that port".into(),
            ConnOutcome::NoAnswer => "got no answer to its SYN".into(),
            ConnOutcome::Rejected => "was rejected with an ICMP error".into(),
            ConnOutcome::Established => {
                "was established but did not carry the expected data".into()
            }
            other => format!("ended as {other:?}"),
        },
    };
    Err(format!(
        "with your rules, the lab client's connection to {server}:{port} {seen}; {}",
        lab_why(ev)
    ))
}

fn analysis<'a>(ev: &'a Evidence) -> Result<&'a Analysis, String> {
    ev.capture.analysis.as_ref().ok_or_else(|| {
        ev.capture
            .problem
            .clone()
            .unwrap_or_else(|| "no capture to look at".into())
    })
}

fn ports_seen(a: &Analysis) -> String {
    let mut ports: Vec<u16> = a
        .conversations
        .iter()
        .filter(|c| c.tcp.is_some())
        .map(|c| c.responder.port)
        .collect();
    ports.sort();
    ports.dedup();
    ports
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn capture_no_port(ev: &Evidence, port: u16) -> Verdict {
    let a = analysis(ev)?;
    match a
        .conversations
        .iter()
        .find(|c| c.tcp.is_some() && (c.responder.port == port || c.initiator.port == port))
    {
        None => Ok(()),
        Some(c) => Err(format!(
            "port {port} appears on the wire in your capture ({} > {}:{}): either the client \
             connected to it directly, or the capture was not taken where the client sees \
             the traffic",
            ip(&c.initiator.ip),
            ip(&c.responder.ip),
            c.responder.port
        )),
    }
}

fn capture_conversation(ev: &Evidence, port: u16, message: bool, reply: bool) -> Verdict {
    let a = analysis(ev)?;
    let to_port: Vec<_> = a
        .conversations
        .iter()
        .filter(|c| c.tcp.is_some() && c.responder.port == port)
        .collect();
    if to_port.is_empty() {
        let tcp = a.conversations.iter().filter(|c| c.tcp.is_some()).count();
        return Err(if tcp == 0 {
            format!(
                "your capture holds no TCP connection at all ({} packets): capture the \
                 interface the lab's traffic crosses, while it happens",
                a.frames
            )
        } else {
            format!(
                "your capture has no connection to port {port}; it holds connections to port \
                 {}: did you capture the right traffic?",
                ports_seen(a)
            )
        });
    }
    let good = |c: &&&crate::analyze::Conversation| {
        c.tcp
            .as_ref()
            .is_some_and(|t| t.handshake == Handshake::Complete)
    };
    let Some(best) = to_port
        .iter()
        .filter(good)
        .max_by_key(|c| c.payload_bytes[0])
    else {
        let c = to_port[0];
        let who = format!("{} > {}:{port}", ip(&c.initiator.ip), ip(&c.responder.ip));
        let tcp = c.tcp.as_ref().expect("tcp conversations only");
        return Err(match (tcp.handshake, c.outcome()) {
            (_, ConnOutcome::Refused) => format!(
                "in your capture the connection {who} was refused (the server answered RST): \
                 nothing received connections on port {port} when you tried"
            ),
            (Handshake::SynOnly, _) => {
                format!("in your capture the SYN {who} got no answer")
            }
            (Handshake::None, _) => format!(
                "your capture starts in the middle of the connection {who}: start the capture \
                 before telnet"
            ),
            _ => format!("in your capture the connection {who} did not complete its handshake"),
        });
    };
    if message && best.payload_bytes[0] == 0 {
        return Err(format!(
            "the connection to port {port} in your capture carries no message from the client: \
             type a line in telnet before quitting"
        ));
    }
    if reply && best.payload_bytes[1] == 0 {
        return Err(format!(
            "the connection to port {port} in your capture carries nothing from the server"
        ));
    }
    Ok(())
}

fn capture_dns(ev: &Evidence, rtype: &str) -> Verdict {
    let a = analysis(ev)?;
    let exchanges: Vec<_> = a.conversations.iter().flat_map(|c| c.dns.iter()).collect();
    if exchanges.is_empty() {
        return Err("your capture holds no DNS query".into());
    }
    let of_type: Vec<_> = exchanges
        .iter()
        .filter(|d| {
            d.questions
                .iter()
                .any(|q| q.qtype.eq_ignore_ascii_case(rtype))
        })
        .collect();
    if of_type.is_empty() {
        let mut types: Vec<&str> = exchanges
            .iter()
            .flat_map(|d| d.questions.iter().map(|q| q.qtype.as_str()))
            .collect();
        types.sort();
        types.dedup();
        return Err(format!(
            "your capture holds DNS queries for {}, not {rtype}",
            types.join(", ")
        ));
    }
    if !of_type.iter().any(|d| d.response_frame.is_some()) {
        return Err(format!("your {rtype} query has no answer in your capture"));
    }
    Ok(())
}

fn capture_ftp_data(ev: &Evidence) -> Verdict {
    let a = analysis(ev)?;
    if a.conversations
        .iter()
        .any(|c| c.ftp_data.is_some() && c.payload_bytes.iter().sum::<u64>() > 0)
    {
        return Ok(());
    }
    if pasv_ports(a).is_empty() {
        return Err("your capture holds no 227 reply to PASV and no FTP data connection".into());
    }
    Err(
        "your capture shows the 227 reply but no data connection to the port it names: \
         connect to that port before RETR"
            .into(),
    )
}

fn answer(ev: &Evidence, key: &str, fact: Fact, accept: &[toml::Value], bases: &[u32]) -> Verdict {
    let table = ev.answers.as_ref().map_err(Clone::clone)?;
    let given = match table.get(key) {
        None => return Err(format!("answers.toml has no `{key} = ...`")),
        Some(toml::Value::String(s)) => s.trim().to_string(),
        Some(toml::Value::Integer(i)) => i.to_string(),
        Some(other) => other.to_string(),
    };
    let number = |text: &str| answers::number(text, bases);
    if !accept.is_empty() {
        // The rubric's own list replaces the fact read from the capture.
        let ok = accept.iter().any(|v| match v {
            toml::Value::Integer(i) => number(&given) == Some(*i),
            toml::Value::String(s) => normal_host(s) == normal_host(&given),
            _ => false,
        });
        return if ok {
            Ok(())
        } else {
            Err(format!("{key} = {given} is not an accepted answer"))
        };
    }
    let a = analysis(ev)?;
    if let Some(fact) = fact.of_attack() {
        let attack = ev
            .capture
            .attack
            .as_ref()
            .ok_or_else(|| "no capture to look at".to_string())?;
        return attack::judge(attack, fact, key, &given);
    }
    match fact {
        Fact::PasvPort => answers::pasv(a, key, &given, number(&given)),
        Fact::MxHost => answers::mx(a, key, &given),
        dhcp => answers::dhcp(a, dhcp, key, &given, number(&given)),
    }
}
