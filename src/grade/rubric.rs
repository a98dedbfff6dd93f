//! Rubrics: `labs/<lab>/rubric.toml` in, a validated [`Rubric`] out.
//!
//! A rubric names the lab's scenario, where a student's iptables lines are applied and the
//! reference rule they should amount to, and a list of checks, each with its points and one
//! feedback line for pass and one for fail. A check's `kind` says what it looks at: the
//! student's rule as written (`rule-table`, `rule-chain`, `rule-match`), the lab run with the
//! student's rules (`lab-file`, `lab-conversation`), the other commands (`listener`), the
//! student's own capture (`capture-file`, `capture-conversation`, `capture-dns`,
//! `capture-ftp-data`) or their answers (`answer`, and `filter`: a display filter judged by
//! the frames it selects).
//!
//! Contract: [`load`] resolves every name against the scenario (hosts, files, conversations),
//! parses the reference rule, and refuses anything it does not know, naming the file and the
//! problem. Nothing here touches the kernel.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::GradeError;
use super::attack::AttackFact;
use super::commands::Loose;
use crate::rules::{Rule, parse_rule};
use crate::scenario::{self, HostId, Plan};

/// A lab as graded: its rubric, its scenario and where its files are.
#[derive(Debug, Clone)]
pub struct Rubric {
    /// The lab's name (its directory under `labs/`).
    pub lab: String,
    pub dir: PathBuf,
    pub title: String,
    pub plan: Plan,
    pub rules: Option<RulesSpec>,
    /// Captures larger than this are refused unread.
    pub capture_max_bytes: u64,
    pub checks: Vec<Check>,
}

impl Rubric {
    /// Whether grading must run the lab: the rubric applies the student's rules, or a check
    /// reads the lab's run. A lab graded on the student's capture and answers alone does not.
    pub fn runs_lab(&self) -> bool {
        self.rules.is_some()
            || self.checks.iter().any(|c| {
                matches!(
                    c.kind,
                    Kind::RuleTable { .. }
                        | Kind::RuleChain { .. }
                        | Kind::RuleMatch { .. }
                        | Kind::LabFile { .. }
                        | Kind::LabConversation { .. }
                )
            })
    }

    /// Whether a check reads commands.sh (so a missing one is worth a note).
    pub fn reads_commands(&self) -> bool {
        self.rules.is_some()
            || self
                .checks
                .iter()
                .any(|c| matches!(c.kind, Kind::Listener { .. } | Kind::Command { .. }))
    }

    /// Whether a check reads what an attack left in the student's capture (which costs the
    /// detection pass, so only such labs pay for it).
    pub fn reads_attacks(&self) -> bool {
        self.checks
            .iter()
            .any(|c| matches!(&c.kind, Kind::Answer { fact, .. } if fact.of_attack().is_some()))
    }
}

/// Where the student's iptables lines go, and what the reference rule is.
#[derive(Debug, Clone)]
pub struct RulesSpec {
    pub host: HostId,
    pub reference: Rule,
    pub loose: Loose,
}

#[derive(Debug, Clone)]
pub struct Check {
    pub name: String,
    pub points: u32,
    pub pass: String,
    pub fail: String,
    pub kind: Kind,
}

/// What a check looks at. See the module docs.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Kind {
    /// The student's rule is in the reference rule's table.
    RuleTable {
        #[serde(default)]
        accept: Accept,
    },
    /// ... in the reference rule's chain (by default: reached from it, through user chains).
    RuleChain {
        #[serde(default)]
        accept: Accept,
    },
    /// ... matches the reference's protocol, destination port and interface, with its target
    /// and target port (by default: catches the lab's connection and sends it where the
    /// reference does).
    RuleMatch {
        #[serde(default)]
        accept: Accept,
    },
    /// After the lab ran with the student's rules, a host's file contains a text.
    LabFile { file: String, contains: String },
    /// The lab's capture holds a completed TCP conversation, e.g. `client > server:21`.
    LabConversation {
        conversation: String,
        client_sent: Option<String>,
        server_contains: Option<String>,
    },
    /// commands.sh starts a listener (nc, ncat, socat) on a port.
    Listener { port: u16 },
    /// commands.sh runs one of `program` with every word of `has` (case-insensitive; a word
    /// `-type=mx` has `mx`).
    Command {
        program: Vec<String>,
        #[serde(default)]
        has: Vec<String>,
    },
    /// The student handed in a capture that reads to its end.
    CaptureFile,
    /// The student's capture holds a completed TCP connection to a port, with data from the
    /// client when `message` is set.
    CaptureConversation {
        port: u16,
        #[serde(default)]
        message: bool,
        /// The server must have sent something (a banner, a reply).
        #[serde(default)]
        reply: bool,
    },
    /// No TCP conversation in the student's capture uses this port (what NAT hides).
    CaptureNoPort { port: u16 },
    /// The student's capture holds a DNS query of this type and its answer.
    CaptureDns {
        #[serde(rename = "type")]
        rtype: String,
    },
    /// The student's capture holds an FTP data connection linked to its control connection,
    /// carrying at least one byte.
    CaptureFtpData,
    /// answers.toml holds `key`, equal to the fact read from the student's capture, or to one
    /// of `accept` when the rubric lists the accepted values itself.
    Answer {
        key: String,
        fact: Fact,
        #[serde(default)]
        accept: Vec<toml::Value>,
        /// The bases a number may be written in: 10 (always), 16 (`0x9c40`), 8 (`0o...`),
        /// 2 (`0b...`).
        #[serde(default)]
        bases: Vec<u32>,
    },
    /// answers.toml holds `key`, a display filter that selects exactly the frames of the TCP
    /// conversations to `ports` (no ARP, nothing else), on the student's capture and the
    /// lab's: judged by the frames it selects, not by how it is written.
    Filter { key: String, ports: Vec<u16> },
}

/// How a rule check compares the student's rule with the reference.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Accept {
    /// What the rules do to the lab's connection: a port range or list that holds the port, a
    /// user chain reached from the reference's chain, DNAT to the host's own address.
    #[default]
    Equivalent,
    /// The literal form: the reference's table, chain, port and target as written (service
    /// names and long options still read as what they stand for).
    Exact,
}

/// A fact an answer is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fact {
    /// p1*256+p2 of a `227 Entering Passive Mode (h1,h2,h3,h4,p1,p2)` reply.
    PasvPort,
    /// The mail host of an MX answer.
    MxHost,
    /// The address a DHCP server offered (`yiaddr` of the first Offer).
    DhcpOffered,
    /// The server identifier (option 54) of the first Offer.
    DhcpServerId,
    /// The server host name (`sname`) of the first Offer.
    DhcpServerName,
    /// The lease time (option 51) of the first ACK, in seconds.
    DhcpLease,
    /// T1 (option 58) of the first ACK, in seconds.
    DhcpRenewal,
    /// T2 (option 59) of the first ACK, in seconds.
    DhcpRebinding,
    /// How the first ACK travels: `broadcast` or `unicast`.
    DhcpAckDelivery,
    /// The relay agent address of the first Request: `none` when it is 0.0.0.0.
    DhcpRelay,
    /// What follows the first ACK: `arp` when the client probes the address it was given.
    DhcpAfterAck,
    /// The address a port scan came from.
    AttackerIp,
    /// The Ethernet source address of the scanner's packets.
    AttackerMac,
    /// How the scan probed: syn, connect, null, fin or xmas.
    ScanKind,
    /// The ports that answered the scan with SYN-ACK.
    OpenPorts,
    /// An ARP binding an attacker changed: `IP is-at MAC`.
    PoisonedBinding,
}

impl Fact {
    /// The fact as read from what an attack left in the capture, for the facts that are.
    pub fn of_attack(self) -> Option<AttackFact> {
        match self {
            Fact::PasvPort
            | Fact::MxHost
            | Fact::DhcpOffered
            | Fact::DhcpServerId
            | Fact::DhcpServerName
            | Fact::DhcpLease
            | Fact::DhcpRenewal
            | Fact::DhcpRebinding
            | Fact::DhcpAckDelivery
            | Fact::DhcpRelay
            | Fact::DhcpAfterAck => None,
            Fact::AttackerIp => Some(AttackFact::AttackerIp),
            Fact::AttackerMac => Some(AttackFact::AttackerMac),
            Fact::ScanKind => Some(AttackFact::ScanKind),
            Fact::OpenPorts => Some(AttackFact::OpenPorts),
            Fact::PoisonedBinding => Some(AttackFact::PoisonedBinding),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRubric {
    scenario: String,
    title: Option<String>,
    rules: Option<RawRules>,
    capture: Option<RawCapture>,
    #[serde(default)]
    check: Vec<RawCheck>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRules {
    host: String,
    reference: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCapture {
    max_mb: u64,
}

#[derive(Debug, Deserialize)]
struct RawCheck {
    name: String,
    points: u32,
    pass: String,
    fail: String,
    #[serde(flatten)]
    kind: Kind,
}

/// Directories searched for `<lab>/rubric.toml`: `./labs`, then the source tree's `labs`;
/// then the labs built into the binary (see [`super::builtin`]).
pub fn lab_roots() -> Vec<PathBuf> {
    vec![
        PathBuf::from("labs"),
        Path::new(env!("CARGO_MANIFEST_DIR")).join("labs"),
    ]
}

/// Finds and validates a lab's rubric.
pub fn load(lab: &str) -> Result<Rubric, GradeError> {
    let plain = !lab.is_empty()
        && lab
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    let find = |roots: Vec<PathBuf>| {
        roots
            .into_iter()
            .map(|root| root.join(lab))
            .find(|dir| plain && dir.join("rubric.toml").is_file())
    };
    // The labs built into the binary come last, written out only when needed.
    let dir = find(lab_roots()).or_else(|| {
        (plain && super::builtin::names().contains(lab))
            .then(super::builtin::root)
            .flatten()
            .and_then(|root| find(vec![root]))
    });
    let Some(dir) = dir else {
        let mut known = super::builtin::names();
        for root in lab_roots() {
            for entry in std::fs::read_dir(root).into_iter().flatten().flatten() {
                if entry.path().join("rubric.toml").is_file() {
                    known.insert(entry.file_name().to_string_lossy().into_owned());
                }
            }
        }
        return Err(GradeError::NoLab {
            lab: lab.to_string(),
            known: known.into_iter().collect::<Vec<_>>().join(", "),
        });
    };
    let path = dir.join("rubric.toml");
    let text = std::fs::read_to_string(&path).map_err(|e| GradeError::Rubric {
        path: path.clone(),
        msg: e.to_string(),
    })?;
    parse(lab, &dir, &text).map_err(|msg| GradeError::Rubric { path, msg })
}

/// Validates rubric text; `dir` is the lab's directory.
pub fn parse(lab: &str, dir: &Path, text: &str) -> Result<Rubric, String> {
    let raw: RawRubric = toml::from_str(text).map_err(|e| e.to_string())?;
    let plan =
        scenario::load(&raw.scenario).map_err(|e| format!("scenario {:?}: {e}", raw.scenario))?;
    let host = |name: &str| {
        plan.host_id(name).ok_or_else(|| {
            format!(
                "scenario {} has no host {name:?} (hosts: {})",
                plan.name,
                plan.hosts
                    .iter()
                    .map(|h| h.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
    };
    let rules = match &raw.rules {
        None => None,
        Some(r) => {
            let reference = parse_rule(&r.reference)
                .map_err(|e| format!("[rules] reference {:?}: {e}", r.reference))?;
            Some(RulesSpec {
                host: host(&r.host)?,
                loose: Loose::read(&r.reference),
                reference,
            })
        }
    };
    let mut names = BTreeSet::new();
    let mut checks = Vec::new();
    for c in raw.check {
        let at = format!("check {:?}", c.name);
        if c.name.is_empty() || !names.insert(c.name.clone()) {
            return Err(format!("{at}: every check needs a name of its own"));
        }
        if c.points == 0 {
            return Err(format!("{at}: points must be at least 1"));
        }
        match &c.kind {
            Kind::RuleTable { .. } | Kind::RuleChain { .. } | Kind::RuleMatch { .. }
                if rules.is_none() =>
            {
                return Err(format!(
                    "{at}: rule checks need a [rules] section with host and reference"
                ));
            }
            Kind::LabFile { file, .. } => {
                let (h, f) = file
                    .split_once(':')
                    .ok_or_else(|| format!("{at}: file must be HOST:PATH, got {file:?}"))?;
                host(h).map_err(|e| format!("{at}: {e}"))?;
                if f.is_empty() || f.starts_with('/') || f.split('/').any(|p| p == "..") {
                    return Err(format!(
                        "{at}: file {file:?} must be a path inside the host's directory"
                    ));
                }
            }
            Kind::LabConversation { conversation, .. } => {
                let (client, server, _) = split_conversation(conversation).ok_or_else(|| {
                    format!(
                        "{at}: conversation must read CLIENT > SERVER:PORT, got {conversation:?}"
                    )
                })?;
                host(client).map_err(|e| format!("{at}: {e}"))?;
                host(server).map_err(|e| format!("{at}: {e}"))?;
            }
            Kind::Answer { accept, bases, .. } => {
                if let Some(b) = bases.iter().find(|b| ![2, 8, 10, 16].contains(*b)) {
                    return Err(format!("{at}: base {b} is not one of 2, 8, 10, 16"));
                }
                if let Some(v) = accept
                    .iter()
                    .find(|v| !matches!(v, toml::Value::String(_) | toml::Value::Integer(_)))
                {
                    return Err(format!("{at}: accept lists strings or numbers, not {v}"));
                }
            }
            Kind::Filter { ports, .. } if ports.is_empty() => {
                return Err(format!(
                    "{at}: a filter check needs the ports it should select"
                ));
            }
            _ => {}
        }
        checks.push(Check {
            name: c.name,
            points: c.points,
            pass: c.pass,
            fail: c.fail,
            kind: c.kind,
        });
    }
    if checks.is_empty() {
        return Err("a rubric needs at least one [[check]]".into());
    }
    Ok(Rubric {
        lab: lab.to_string(),
        dir: dir.to_path_buf(),
        title: raw.title.unwrap_or_else(|| plan.summary.clone()),
        plan,
        rules,
        capture_max_bytes: raw.capture.map_or(100, |c| c.max_mb) * 1024 * 1024,
        checks,
    })
}

/// `client > server:21` -> (client, server, 21).
pub fn split_conversation(text: &str) -> Option<(&str, &str, u16)> {
    let (client, rest) = text.split_once('>')?;
    let (server, port) = rest.trim().rsplit_once(':')?;
    Some((client.trim(), server.trim(), port.trim().parse().ok()?))
}

impl Rubric {
    pub fn max(&self) -> u32 {
        self.checks.iter().map(|c| c.points).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "scenario = \"homework-redirect\"\n";
    const CHECK: &str = "[[check]]\nname = \"c\"\npoints = 1\npass = \"p\"\nfail = \"f\"\n";

    fn err(text: &str) -> String {
        parse("lab", Path::new("."), text).unwrap_err()
    }

    #[test]
    fn a_rubric_resolves_against_its_scenario() {
        let ok = format!(
            "{HEAD}[rules]\nhost = \"server\"\nreference = \"-t nat -A PREROUTING -p tcp --dport 21 -j REDIRECT --to-ports 27664\"\n\
             {CHECK}kind = \"rule-chain\"\n"
        );
        let r = parse("lab", Path::new("."), &ok).unwrap();
        assert_eq!((r.max(), r.checks.len()), (1, 1));
        assert_eq!(r.rules.unwrap().loose.chain.as_deref(), Some("PREROUTING"));
        assert_eq!(r.capture_max_bytes, 100 * 1024 * 1024);
    }

    #[test]
    fn bad_rubrics_say_what_is_wrong() {
        assert!(
            err(&format!("{HEAD}{CHECK}kind = \"rule-chain\"\n"))
                .contains("need a [rules] section")
        );
        assert!(
            err(&format!("{HEAD}{CHECK}kind = \"rule-chian\"\n"))
                .contains("unknown variant `rule-chian`")
        );
        assert!(
            err(&format!(
                "{HEAD}{CHECK}kind = \"lab-file\"\nfile = \"router:x\"\ncontains = \"y\"\n"
            ))
            .contains("has no host \"router\"")
        );
        assert!(
            err(&format!("{HEAD}{CHECK}kind = \"lab-file\"\nfile = \"server:../../etc/passwd\"\ncontains = \"y\"\n"))
                .contains("must be a path inside the host's directory")
        );
        assert!(err("scenario = \"nope\"\n").contains("scenario \"nope\""));
        assert!(err(HEAD).contains("at least one [[check]]"));
        assert!(matches!(load("../labs"), Err(GradeError::NoLab { .. })));
    }
}
