//! Checks: a run's results against the scenario's expectations and its expected flow snapshot.
//!
//! Contract: checks only read what earlier stages produced (step results, files in the run's
//! host directories, the analysis of each capture and facts drawn from it, the rendered flows);
//! they never touch the network.
//! Every check yields one [`CheckResult`] with a line of detail that says what was seen when it
//! fails. Expectations are judged through [`EXPECT_CHECKS`], one row per kind of the scenario's
//! expectation registry.

pub mod alerts;
pub mod filter;
pub mod net;
pub mod snapshot;

use std::path::{Path, PathBuf};

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

/// What a run produced that the expectation checks read.
pub struct Seen<'a> {
    /// A host's directory of the run.
    pub host_dir: &'a dyn Fn(usize) -> PathBuf,
    pub conversations: &'a [ConversationFact],
    pub analyses: &'a [&'a Analysis],
    /// The flows, wire facts and rule counters the wire and kernel checks read.
    pub net: net::NetSeen<'a>,
    /// What each capture's display-filter expectations counted in the analysis pass.
    pub filtered: &'a [filter::FilterCounts<'a>],
    /// The alerts of each capture, when the plan has alert expectations.
    pub alerts: &'a alerts::AlertsSeen,
}

/// How one kind of expectation is judged: the check side of the expectation registry
/// (`scenario::parse::expects`), one row per key of its table, matched by [`Expect::kind`].
pub struct ExpectCheck {
    /// The key of the kind, as the scenario's registry names it.
    pub kind: &'static str,
    /// Where the report lists these checks: by rank, then in the file's order (files and
    /// conversations first, then DNS questions, then wire and kernel facts).
    rank: u8,
    /// Judges one expectation of this kind, given its index in the plan.
    judge: fn(&Plan, usize, &Expect, &Seen) -> CheckResult,
}

/// Every expectation kind's check.
pub const EXPECT_CHECKS: &[ExpectCheck] = &[
    ExpectCheck {
        kind: "file",
        rank: 0,
        judge: file,
    },
    ExpectCheck {
        kind: "conversation",
        rank: 0,
        judge: conversation,
    },
    ExpectCheck {
        kind: "dns",
        rank: 1,
        judge: dns,
    },
    ExpectCheck {
        kind: "rule",
        rank: 2,
        judge: net::counter,
    },
    ExpectCheck {
        kind: "flow",
        rank: 2,
        judge: net::flow,
    },
    ExpectCheck {
        kind: "no_flow",
        rank: 2,
        judge: net::flow,
    },
    ExpectCheck {
        kind: "capture",
        rank: 2,
        judge: net::capture,
    },
    ExpectCheck {
        kind: "filter",
        rank: 3,
        judge: filter::judge,
    },
    ExpectCheck {
        kind: "alert",
        rank: 3,
        judge: alerts::judge,
    },
];

/// The message of a row given an expectation of another kind, which [`expectations`] never
/// does (it picks the row by [`Expect::kind`]).
pub(super) const ROUTED: &str = "the expectation table routes only its own kind here";

/// Checks the scenario's `[[expect]]` entries, each by the row of [`EXPECT_CHECKS`] of its kind.
pub fn expectations(plan: &Plan, seen: &Seen) -> Vec<CheckResult> {
    let mut judged: Vec<(u8, CheckResult)> = plan
        .expects
        .iter()
        .enumerate()
        .map(|(i, expect)| {
            let row = EXPECT_CHECKS
                .iter()
                .find(|c| c.kind == expect.kind())
                .expect("every expectation kind has a check (unit-tested)");
            (row.rank, (row.judge)(plan, i, expect, seen))
        })
        .collect();
    // Stable: within a rank, the file's order.
    judged.sort_by_key(|(rank, _)| *rank);
    judged.into_iter().map(|(_, c)| c).collect()
}

fn file(plan: &Plan, _: usize, expect: &Expect, seen: &Seen) -> CheckResult {
    let Expect::File {
        host, path, check, ..
    } = expect
    else {
        unreachable!("{ROUTED}")
    };
    let file = (seen.host_dir)(*host).join(path);
    file_check(&format!("{}:{path}", plan.hosts[*host].name), &file, check)
}

fn conversation(plan: &Plan, _: usize, expect: &Expect, seen: &Seen) -> CheckResult {
    let Expect::Conversation { what, text, .. } = expect else {
        unreachable!("{ROUTED}")
    };
    let client = &plan.hosts[what.client].name;
    let server = &plan.hosts[what.server].name;
    let name = format!("conversation {text}");
    // Several conversations may match (FTP reuses its passive port): the expectation holds
    // when one of them has everything it asks for.
    let judged: Vec<CheckResult> = seen
        .conversations
        .iter()
        .filter(|c| &c.client == client && &c.server == server && c.server_port == what.port)
        .map(|conv| conversation_check(&name, what, conv))
        .collect();
    match judged.iter().position(|c| c.passed) {
        Some(i) => judged[i].clone(),
        None => judged.into_iter().next().unwrap_or_else(|| {
            CheckResult::new(name, false, "no such conversation on the wire".into())
        }),
    }
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

/// A DNS expectation against the DNS exchanges of the run's captures: the question must have
/// been asked alone and answered with the expected response code and record. The detail
/// quotes responses as the flows show them.
fn dns(_: &Plan, _: usize, expect: &Expect, seen: &Seen) -> CheckResult {
    let Expect::Dns {
        qtype,
        name,
        rcode,
        answer,
        ..
    } = expect
    else {
        unreachable!("{ROUTED}")
    };
    let mut wanted = Vec::new();
    wanted.extend(rcode.iter().map(|r| r.as_str()));
    wanted.extend(answer.iter().map(|a| a.as_str()));
    let title = format!("dns {qtype} {name} -> {}", wanted.join(" "));
    let asked: Vec<&DnsExchange> = seen
        .analyses
        .iter()
        .flat_map(|a| &a.conversations)
        .flat_map(|c| &c.dns)
        .filter(|x| matches!(x.questions.as_slice(), [q] if &q.qtype == qtype && &q.name == name))
        .collect();
    let matches = |x: &&&DnsExchange| {
        // No response is never the expected code: a scenario names a real one.
        let code = x.rcode.as_deref().unwrap_or("no response");
        rcode.as_ref().is_none_or(|r| r == code)
            && answer.as_ref().is_none_or(|a| x.records().any(|r| &r == a))
    };
    match asked.iter().find(matches) {
        Some(x) => CheckResult::new(title, true, x.response_text()),
        None if asked.is_empty() => {
            CheckResult::new(title, false, "no such question on the wire".into())
        }
        None => CheckResult::new(
            title,
            false,
            format!(
                "answered {}",
                asked
                    .iter()
                    .map(|x| x.response_text())
                    .collect::<Vec<_>>()
                    .join(" | ")
            ),
        ),
    }
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

#[cfg(test)]
mod tests {
    use super::{EXPECT_CHECKS, Seen, expectations, net::NetSeen};
    use crate::scenario::{Origin, expect_kinds, parse};

    #[test]
    fn every_expectation_kind_has_one_check_and_every_check_a_kind() {
        let kinds: Vec<&str> = expect_kinds().map(|(key, _)| key).collect();
        let checks: Vec<&str> = EXPECT_CHECKS.iter().map(|c| c.kind).collect();
        assert_eq!(
            kinds, checks,
            "the scenario's and the check's tables differ"
        );
    }

    #[test]
    fn each_kind_is_judged_by_its_row() {
        let base = "name = \"t\"\n[hosts.client]\n[hosts.server]\n[[links]]\n\
                    ends = [\"client:eth0 10.0.0.1/24\", \"server:eth0 10.0.0.2/24\"]\ncapture = true\n";
        // A directory that does not exist: the file expectation reads nothing.
        let dir = std::env::temp_dir().join("labctl-check-test-no-such-directory");
        let host_dir = |_: usize| dir.clone();
        let seen = Seen {
            host_dir: &host_dir,
            conversations: &[],
            analyses: &[],
            net: NetSeen {
                flows: "",
                captures: &[],
                counters: &[],
            },
            filtered: &[],
            alerts: &Default::default(),
        };
        for (key, example) in expect_kinds() {
            let text = format!("{base}[[expect]]\n{example}\n");
            let plan = parse(&text, Origin::File("x.toml".into())).expect(example);
            // Nothing was seen, so only `no_flow` holds, and each check's name is its kind's.
            let [judged] = expectations(&plan, &seen).try_into().expect("one check");
            assert_eq!(judged.passed, key == "no_flow", "{key}: {judged:?}");
            let title = judged.name.split_whitespace().next().unwrap_or_default();
            let want = match key {
                "rule" | "file" | "conversation" | "dns" | "capture" | "filter" | "alert" => key,
                _ => "flows",
            };
            assert_eq!(title, want, "{key}: {judged:?}");
        }
    }
}
