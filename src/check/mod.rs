//! Checks: a run's results against the scenario's expectations and its expected flow snapshot.
//!
//! Contract: checks only read what earlier stages produced (step results, files in the run's
//! host directories, the analysis of each capture and facts drawn from it, the rendered flows);
//! they never touch the network.
//! Every check yields one [`CheckResult`] with a line of detail that says what was seen when it
//! fails.

pub mod filter;
pub mod net;
pub mod snapshot;

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::analyze::{Analysis, ConnOutcome, DnsExchange, Handshake};
use crate::drive::StepResult;
use crate::scenario::{Expect, FileCheck, Plan};
use crate::text::quote;

/// A TCP conversation as the checks see it: hosts by name, the server's port, and what
/// happened. Built by the analysis stage from the capture.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConversationFact {
    pub client: String,
    pub server: String,
    pub server_port: u16,
    pub handshake: Handshake,
    pub outcome: ConnOutcome,
    pub client_sent: Vec<u8>,
    pub server_sent: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckResult {
    pub name: String,
    pub passed: bool,
    pub detail: String,
}

impl CheckResult {
    fn new(name: String, passed: bool, detail: String) -> CheckResult {
        CheckResult {
            name,
            passed,
            detail,
        }
    }
}

/// Checks every step's outcome against what the scenario expects of it.
pub fn steps(steps: &[StepResult]) -> Vec<CheckResult> {
    steps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let name = format!("step {} {} on {}: {}", i + 1, s.title, s.host, s.expected);
            let detail = if s.passed() {
                s.detail.clone()
            } else {
                format!("expected {}, got {} ({})", s.expected, s.outcome, s.detail)
            };
            CheckResult::new(name, s.passed(), detail)
        })
        .collect()
}

/// Checks the scenario's file and conversation `[[expect]]` entries (wire and kernel facts are
/// [`net::expectations`]). `host_dir` gives a host's directory of the run.
pub fn expectations(
    plan: &Plan,
    host_dir: &dyn Fn(usize) -> std::path::PathBuf,
    conversations: &[ConversationFact],
) -> Vec<CheckResult> {
    plan.expects
        .iter()
        .filter_map(|expect| match expect {
            // Judged by [`net::expectations`] and [`filter::expectations`].
            Expect::Net { .. } | Expect::Filter { .. } => None,
            Expect::File {
                host, path, check, ..
            } => {
                let file = host_dir(*host).join(path);
                Some(file_check(
                    &format!("{}:{path}", plan.hosts[*host].name),
                    &file,
                    check,
                ))
            }
            Expect::Conversation { what, text, .. } => {
                let client = &plan.hosts[what.client].name;
                let server = &plan.hosts[what.server].name;
                let name = format!("conversation {text}");
                // Several conversations may match (FTP reuses its passive port): the
                // expectation holds when one of them has everything it asks for.
                let judged: Vec<CheckResult> = conversations
                    .iter()
                    .filter(|c| {
                        &c.client == client && &c.server == server && c.server_port == what.port
                    })
                    .map(|conv| conversation_check(&name, what, conv))
                    .collect();
                Some(match judged.iter().position(|c| c.passed) {
                    Some(i) => judged[i].clone(),
                    None => judged.into_iter().next().unwrap_or_else(|| {
                        CheckResult::new(name, false, "no such conversation on the wire".into())
                    }),
                })
            }
            // Judged on the analysis by [`dns`].
            Expect::Dns { .. } => None,
        })
        .collect()
}

fn conversation_check(
    name: &str,
    what: &crate::scenario::ConversationExpect,
    conv: &ConversationFact,
) -> CheckResult {
    let name = name.to_string();
    let mut problems = Vec::new();
    let mut seen = Vec::new();
    if let Some(h) = &what.handshake {
        if conv.handshake.name() != h {
            problems.push(format!(
                "handshake {} (expected {h})",
                conv.handshake.name()
            ));
        } else {
            seen.push(format!("handshake {h}"));
        }
    }
    if let Some(o) = &what.outcome {
        if conv.outcome.name() != o {
            problems.push(format!("outcome {} (expected {o})", conv.outcome.name()));
        } else {
            seen.push(format!("outcome {o}"));
        }
    }
    for (who, expected, actual) in [
        ("client", &what.client_sent, &conv.client_sent),
        ("server", &what.server_sent, &conv.server_sent),
    ] {
        if let Some(expected) = expected {
            if expected.as_bytes() != actual.as_slice() {
                problems.push(format!(
                    "{who} sent {} (expected {})",
                    quote(actual),
                    quote(expected.as_bytes())
                ));
            } else {
                seen.push(format!("{who} sent {}", quote(actual)));
            }
        }
    }
    for (who, expected, actual) in [
        ("client", &what.client_sent_contains, &conv.client_sent),
        ("server", &what.server_sent_contains, &conv.server_sent),
    ] {
        if let Some(expected) = expected {
            let e = expected.as_bytes();
            if e.is_empty() || actual.windows(e.len()).any(|w| w == e) {
                seen.push(format!("{who} sent {}", quote(e)));
            } else {
                problems.push(format!(
                    "{who} sent {} (expected it to contain {})",
                    quote(actual),
                    quote(e)
                ));
            }
        }
    }
    if problems.is_empty() {
        CheckResult::new(name, true, seen.join(", "))
    } else {
        CheckResult::new(name, false, problems.join("; "))
    }
}

/// Checks the scenario's DNS expectations against the DNS exchanges of the run's captures:
/// each question must have been asked alone and answered with the expected response code and
/// record. The detail quotes responses as the flows show them.
pub fn dns(plan: &Plan, analyses: &[&Analysis]) -> Vec<CheckResult> {
    plan.expects
        .iter()
        .filter_map(|expect| {
            let Expect::Dns {
                qtype,
                name,
                rcode,
                answer,
                ..
            } = expect
            else {
                return None;
            };
            let mut wanted = Vec::new();
            wanted.extend(rcode.iter().map(|r| r.as_str()));
            wanted.extend(answer.iter().map(|a| a.as_str()));
            let title = format!("dns {qtype} {name} -> {}", wanted.join(" "));
            let seen: Vec<&DnsExchange> = analyses
                .iter()
                .flat_map(|a| &a.conversations)
                .flat_map(|c| &c.dns)
                .filter(|x| {
                    matches!(x.questions.as_slice(), [q] if &q.qtype == qtype && &q.name == name)
                })
                .collect();
            let matches = |x: &&&DnsExchange| {
                // No response is never the expected code: a scenario names a real one.
                let code = x.rcode.as_deref().unwrap_or("no response");
                rcode.as_ref().is_none_or(|r| r == code)
                    && answer.as_ref().is_none_or(|a| x.records().any(|r| &r == a))
            };
            Some(match seen.iter().find(matches) {
                Some(x) => CheckResult::new(title, true, x.response_text()),
                None if seen.is_empty() => {
                    CheckResult::new(title, false, "no such question on the wire".into())
                }
                None => CheckResult::new(
                    title,
                    false,
                    format!(
                        "answered {}",
                        seen.iter()
                            .map(|x| x.response_text())
                            .collect::<Vec<_>>()
                            .join(" | ")
                    ),
                ),
            })
        })
        .collect()
}

fn file_check(name: &str, file: &Path, check: &FileCheck) -> CheckResult {
    let (what, expected) = match check {
        FileCheck::Equals(e) => ("equals", e),
        FileCheck::Contains(c) => ("contains", c),
    };
    let name = format!("file {name} {what} {}", quote(expected.as_bytes()));
    let content = match std::fs::read(file) {
        Ok(content) => content,
        Err(e) => return CheckResult::new(name, false, format!("cannot read it: {e}")),
    };
    let passed = match check {
        FileCheck::Equals(e) => content == e.as_bytes(),
        FileCheck::Contains(c) => {
            content.windows(c.len().max(1)).any(|w| w == c.as_bytes()) || c.is_empty()
        }
    };
    let detail = if passed {
        format!("{} bytes", content.len())
    } else {
        format!("the file holds {}", quote(&content))
    };
    CheckResult::new(name, passed, detail)
}
