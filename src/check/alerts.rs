//! Alert expectations: `[[expect]] alert = "ID SRC > DST"` against the alerts the detection
//! pass raised on the run's captures.
//!
//! Contract: the run detects only when its plan has alert expectations (so `labctl run` of
//! any other lab pays nothing for detection), with the plan's thresholds, in the same pass
//! as the analysis; here the alerts are only compared. An expectation holds when one alert of
//! any capture has its id, sides that match (a host matches any of its addresses and the MAC
//! addresses of its interfaces; `*` matches anyone, the many of a sweep included), and the
//! severity and count asked for, if asked.

use std::fmt::Write as _;

use super::CheckResult;
use crate::analyze::alerts::{Alert, Party};
use crate::scenario::{AlertSide, Expect, HostId, Plan};
use crate::wire::Mac;

/// What the run's detection saw: each capture's alerts, and the lab's MAC addresses by host.
#[derive(Default)]
pub struct AlertsSeen {
    /// `HOST:IFACE` and the alerts of that capture.
    pub captures: Vec<(String, Vec<Alert>)>,
    /// Every interface's MAC address and its host.
    pub macs: Vec<(Mac, HostId)>,
}

impl AlertsSeen {
    /// The host an alert's side is, when the lab knows it.
    fn host_of(&self, plan: &Plan, party: &Party) -> Option<HostId> {
        match party {
            Party::Ip(ip) => plan
                .addresses()
                .find(|(a, _)| a == ip)
                .and_then(|(_, name)| plan.hosts.iter().position(|h| h.name == name)),
            Party::Mac(mac) => self.macs.iter().find(|(m, _)| m == mac).map(|(_, h)| *h),
            Party::Many => None,
        }
    }

    /// A side as the report shows it: the host's name when known.
    fn name(&self, plan: &Plan, party: &Party) -> String {
        match self.host_of(plan, party) {
            Some(h) => plan.hosts[h].name.clone(),
            None => party.to_string(),
        }
    }

    fn matches(&self, plan: &Plan, side: &AlertSide, party: &Party) -> bool {
        match (side, party) {
            (AlertSide::Any, _) => true,
            (AlertSide::Host(h), p) => self.host_of(plan, p) == Some(*h),
            (AlertSide::Ip(ip), Party::Ip(p)) => ip == p,
            (AlertSide::Mac(m), Party::Mac(p)) => *m == p.0,
            _ => false,
        }
    }

    /// `severity id src > dst xN: evidence`, host names where known.
    fn describe(&self, plan: &Plan, a: &Alert) -> String {
        format!(
            "{} {} {} > {} x{}: {}",
            a.severity,
            a.id,
            self.name(plan, &a.src),
            self.name(plan, &a.dst),
            a.count,
            a.evidence
        )
    }
}

/// Judges one `alert` expectation (the `alert` row of [`super::EXPECT_CHECKS`]).
pub(super) fn judge(plan: &Plan, _: usize, expect: &Expect, seen: &super::Seen) -> CheckResult {
    let Expect::Alert { what, text, .. } = expect else {
        unreachable!("{}", super::ROUTED)
    };
    let seen = seen.alerts;
    let mut name = format!("alert {text}");
    if let Some(s) = what.severity {
        let _ = write!(name, " ({s})");
    }
    if let Some(c) = what.count {
        let _ = write!(name, ", count {c}");
    }
    let all: Vec<(&str, &Alert)> = seen
        .captures
        .iter()
        .flat_map(|(capture, alerts)| alerts.iter().map(move |a| (capture.as_str(), a)))
        .collect();
    let same: Vec<&(&str, &Alert)> = all
        .iter()
        .filter(|(_, a)| {
            a.id == what.id
                && seen.matches(plan, &what.src, &a.src)
                && seen.matches(plan, &what.dst, &a.dst)
        })
        .collect();
    let holds = |a: &Alert| {
        what.severity.is_none_or(|s| a.severity == s) && what.count.is_none_or(|c| c.holds(a.count))
    };
    if let Some((capture, a)) = same.iter().find(|(_, a)| holds(a)) {
        return CheckResult::new(name, true, format!("{capture}: {}", seen.describe(plan, a)));
    }
    let detail = if let Some((capture, a)) = same.first() {
        format!("{capture}: {}", seen.describe(plan, a))
    } else {
        let others: Vec<String> = all
            .iter()
            .filter(|(_, a)| a.id == what.id)
            .map(|(c, a)| format!("{c}: {}", seen.describe(plan, a)))
            .collect();
        if others.is_empty() {
            let mut ids: Vec<&str> = all.iter().map(|(_, a)| a.id).collect();
            ids.sort_unstable();
            ids.dedup();
            if ids.is_empty() {
                format!("no {} alert; no alert at all", what.id)
            } else {
                format!("no {} alert; alerts seen: {}", what.id, ids.join(", "))
            }
        } else {
            format!("not between those sides: {}", others.join("; "))
        }
    };
    CheckResult::new(name, false, detail)
}

/// The alerts as a `snapshot = "alerts"` lab compares them: for each capture, one line per
/// alert with only what stays the same from run to run (severity, id, who against whom by
/// host name), sorted; no time, count or evidence, which carry ports, sequence numbers and
/// timing the tools randomise.
pub fn snapshot(plan: &Plan, seen: &AlertsSeen) -> String {
    let mut out = String::new();
    for (capture, alerts) in &seen.captures {
        let _ = writeln!(out, "alerts on {capture}");
        let mut lines: Vec<String> = alerts
            .iter()
            .map(|a| {
                format!(
                    "  {} {} {} > {}",
                    a.severity,
                    a.id,
                    seen.name(plan, &a.src),
                    seen.name(plan, &a.dst)
                )
            })
            .collect();
        lines.sort();
        lines.dedup();
        for line in lines {
            let _ = writeln!(out, "{line}");
        }
    }
    out
}
