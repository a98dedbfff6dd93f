//! Wire and kernel expectations: rule counters, lines of the flows, and packet-level facts of
//! a capture (SYN backoff, fragments, MSS-sized segments, a loopback's zero Ethernet header,
//! the side a capture was taken on).
//!
//! Contract: like every check, these only read what the run produced: counters read after
//! the steps, the rendered flows, and the [`WireFacts`] the analysis pass gathered from each
//! capture (no capture file is read here).

use std::net::IpAddr;
use std::time::Duration;

use super::{CheckResult, ROUTED, Seen};
use crate::analyze::WireFacts;
use crate::scenario::{Count, Expect, NetExpect, Plan, WireFact};

/// What the run produced that these checks read.
pub struct NetSeen<'a> {
    /// The flows of the whole run, every capture's.
    pub flows: &'a str,
    /// What each capture showed.
    pub captures: &'a [CaptureSeen<'a>],
    /// For each expectation of the plan, in order: the packet counter of its rule when it is
    /// a counter expectation (or why it could not be read).
    pub counters: &'a [Option<Result<u64, String>>],
}

/// One capture's share of the run, by host name and interface: its own flows (without the
/// `capture HOST:IFACE` header the run's flows give it) and its wire facts.
pub struct CaptureSeen<'a> {
    pub host: &'a str,
    pub iface: &'a str,
    pub flows: &'a str,
    pub facts: &'a WireFacts,
}

impl CaptureSeen<'_> {
    fn is(&self, host: &str, iface: &str) -> bool {
        self.host == host && self.iface == iface
    }
}

/// A rule counter expectation: the packets its rule matched, read after the steps.
pub(super) fn counter(_: &Plan, index: usize, expect: &Expect, seen: &Seen) -> CheckResult {
    let Expect::Net {
        what: NetExpect::Counter { packets, .. },
        text,
        ..
    } = expect
    else {
        unreachable!("{ROUTED}")
    };
    let name = format!("rule {text}: {packets} packets");
    match seen.net.counters.get(index).cloned().flatten() {
        Some(Ok(n)) => CheckResult::new(name, packets.holds(n), format!("{n} packets matched")),
        Some(Err(e)) => CheckResult::new(name, false, e),
        None => CheckResult::new(name, false, "the counter was not read".into()),
    }
}

/// `flow` and `no_flow`: a line of the flows (of one capture, with `capture`) shows the text,
/// or none does.
pub(super) fn flow(plan: &Plan, _: usize, expect: &Expect, seen: &Seen) -> CheckResult {
    let Expect::Net {
        what:
            NetExpect::Flow {
                text,
                present,
                capture,
            },
        ..
    } = expect
    else {
        unreachable!("{ROUTED}")
    };
    let scope = capture
        .as_ref()
        .map(|(host, iface)| (plan.hosts[*host].name.as_str(), iface.as_str()));
    let whose = scope
        .map(|(host, iface)| format!(" on {host}:{iface}"))
        .unwrap_or_default();
    let name = if *present {
        format!("flows{whose} show {text:?}")
    } else {
        format!("flows{whose} never show {text:?}")
    };
    let lines = match scope {
        None => seen.net.flows,
        Some((host, iface)) => match seen.net.captures.iter().find(|c| c.is(host, iface)) {
            Some(captured) => captured.flows,
            // A line never seen proves nothing about a capture that was not made.
            None => {
                return CheckResult::new(name, false, "no capture on that interface".into());
            }
        },
    };
    let found = lines.lines().find(|l| l.contains(text.as_str()));
    let detail = match found {
        Some(line) => format!("seen: {}", line.trim()),
        None => "no such line".to_string(),
    };
    CheckResult::new(name, found.is_some() == *present, detail)
}

/// Packet-level facts of one capture.
pub(super) fn capture(plan: &Plan, _: usize, expect: &Expect, seen: &Seen) -> CheckResult {
    let Expect::Net {
        what: NetExpect::Capture { host, iface, facts },
        ..
    } = expect
    else {
        unreachable!("{ROUTED}")
    };
    let host_name = &plan.hosts[*host].name;
    let name = format!(
        "capture {host_name}:{iface}: {}",
        facts
            .iter()
            .map(|f| describe(plan, f))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let Some(captured) = seen.net.captures.iter().find(|c| c.is(host_name, iface)) else {
        return CheckResult::new(name, false, "no capture on that interface".into());
    };
    let (passed, detail) = wire_facts(plan, captured.facts, facts);
    CheckResult::new(name, passed, detail)
}

fn describe(plan: &Plan, fact: &WireFact) -> String {
    match fact {
        WireFact::SynBackoff(c) => format!("SYN sent {c} times with exponential backoff"),
        WireFact::Fragments(c) => format!("{c} fragments with growing offsets"),
        WireFact::MssSegments(m) => format!("segments of {m} bytes (the MSS)"),
        WireFact::ZeroEthernet => "all-zero Ethernet addresses".into(),
        WireFact::CaptureSide(h) => format!("taken on {}'s side", plan.hosts[*h].name),
    }
}

fn wire_facts(plan: &Plan, facts: &WireFacts, wanted: &[WireFact]) -> (bool, String) {
    let mut passed = true;
    let mut details = Vec::new();
    for fact in wanted {
        let (ok, detail) = match fact {
            WireFact::SynBackoff(count) => syn_backoff(facts, *count),
            WireFact::Fragments(count) => fragments(facts, *count),
            WireFact::MssSegments(mss) => {
                let largest = facts.tcp_payloads.keys().next_back().copied().unwrap_or(0);
                let full = facts.tcp_payloads.get(mss).copied().unwrap_or(0);
                (
                    largest == *mss && full >= 2,
                    format!("largest TCP payload {largest} bytes, {full} segments of {mss}"),
                )
            }
            WireFact::ZeroEthernet => (
                facts.frames > 0 && facts.nonzero_ethernet == 0,
                format!(
                    "{} of {} frames with a non-zero Ethernet header",
                    facts.nonzero_ethernet, facts.frames
                ),
            ),
            WireFact::CaptureSide(host) => capture_side(plan, facts, *host),
        };
        passed &= ok;
        details.push(detail);
    }
    (passed, details.join("; "))
}

fn syn_backoff(facts: &WireFacts, count: Count) -> (bool, String) {
    let Some(times) = facts.syns.values().max_by_key(|t| t.len()) else {
        return (false, "no SYN in the capture".into());
    };
    let gaps: Vec<Duration> = times
        .windows(2)
        .map(|w| w[1].saturating_sub(w[0]))
        .collect();
    // Each retransmission waits about twice as long as the one before (RFC 6298 backoff).
    let doubling = gaps
        .windows(2)
        .all(|g| g[1].as_secs_f64() >= 1.5 * g[0].as_secs_f64());
    let shown: Vec<String> = gaps
        .iter()
        .map(|g| format!("{:.1}s", g.as_secs_f64()))
        .collect();
    (
        count.holds(times.len() as u64) && doubling && times.len() >= 2,
        format!(
            "the SYN sent {} times, gaps {}",
            times.len(),
            if shown.is_empty() {
                "none".to_string()
            } else {
                shown.join(", ")
            }
        ),
    )
}

fn fragments(facts: &WireFacts, count: Count) -> (bool, String) {
    let Some(frags) = facts.fragments.values().max_by_key(|f| f.len()) else {
        return (false, "no IP fragment in the capture".into());
    };
    let growing = frags.windows(2).all(|w| w[1].0 > w[0].0);
    let mf_ok = frags
        .iter()
        .enumerate()
        .all(|(i, (_, mf))| *mf == (i + 1 < frags.len()));
    let offsets: Vec<String> = frags.iter().map(|(o, _)| o.to_string()).collect();
    (
        count.holds(frags.len() as u64) && growing && mf_ok,
        format!(
            "{} fragments at offsets {}, MF on all but the last: {}",
            frags.len(),
            offsets.join(", "),
            if mf_ok { "yes" } else { "no" }
        ),
    )
}

fn capture_side(plan: &Plan, facts: &WireFacts, host: usize) -> (bool, String) {
    let name_of = |addr: &IpAddr| {
        plan.addresses()
            .find(|(a, _)| a == addr)
            .map(|(_, n)| n.to_string())
    };
    // Hops from the TTL: initial TTLs are 64, 128 or 255; the nearest one above the TTL seen.
    let mut hops: Vec<(String, u8)> = facts
        .ttl
        .iter()
        .filter_map(|(addr, ttl)| {
            let initial = [32u8, 64, 128, 255].into_iter().find(|i| i >= ttl)?;
            Some((name_of(addr)?, initial - ttl))
        })
        .collect();
    hops.sort();
    hops.dedup();
    let near: Vec<&str> = hops
        .iter()
        .filter(|(_, h)| *h == 0)
        .map(|(n, _)| n.as_str())
        .collect();
    let want = &plan.hosts[host].name;
    let detail = hops
        .iter()
        .map(|(n, h)| format!("{n} {h} hops away"))
        .collect::<Vec<_>>()
        .join(", ");
    (near.contains(&want.as_str()), detail)
}
