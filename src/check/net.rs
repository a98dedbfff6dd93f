//! Wire and kernel expectations: rule counters, lines of the flows, and packet-level facts of
//! a capture (SYN backoff, fragments, MSS-sized segments, a loopback's zero Ethernet header,
//! the side a capture was taken on).
//!
//! Contract: like every check, these only read what the run produced: counters read after
//! the steps, the rendered flows, and the capture files (read again here, without
//! privileges).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::CheckResult;
use crate::scenario::{Count, Expect, NetExpect, Plan, WireFact};
use crate::wire::{self, Link, Net, Transport};

/// What the run produced that these checks read.
pub struct NetSeen<'a> {
    pub flows: &'a str,
    /// Capture files by host name and interface.
    pub captures: &'a [(String, String, PathBuf)],
    /// For each expectation of the plan, in order: the packet counter of its rule when it is
    /// a counter expectation (or why it could not be read).
    pub counters: &'a [Option<Result<u64, String>>],
}

/// Checks the plan's wire and kernel expectations, in the plan's order.
pub fn expectations(plan: &Plan, seen: &NetSeen) -> Vec<CheckResult> {
    plan.expects
        .iter()
        .enumerate()
        .filter_map(|(i, e)| match e {
            Expect::Net { what, text, .. } => Some(check(plan, i, what, text, seen)),
            _ => None,
        })
        .collect()
}

fn check(plan: &Plan, index: usize, what: &NetExpect, text: &str, seen: &NetSeen) -> CheckResult {
    match what {
        NetExpect::Counter { packets, .. } => {
            let name = format!("rule {text}: {packets} packets");
            match seen.counters.get(index).cloned().flatten() {
                Some(Ok(n)) => {
                    CheckResult::new(name, packets.holds(n), format!("{n} packets matched"))
                }
                Some(Err(e)) => CheckResult::new(name, false, e),
                None => CheckResult::new(name, false, "the counter was not read".into()),
            }
        }
        NetExpect::Flow {
            text,
            present,
            capture,
        } => {
            let scope = capture
                .as_ref()
                .map(|(host, iface)| format!("{}:{iface}", plan.hosts[*host].name));
            let lines = match &scope {
                Some(point) => capture_lines(seen.flows, point, seen.captures),
                None => seen.flows.lines().collect(),
            };
            let found = lines.into_iter().find(|l| l.contains(text.as_str()));
            let whose = scope.map(|s| format!(" on {s}")).unwrap_or_default();
            let name = if *present {
                format!("flows{whose} show {text:?}")
            } else {
                format!("flows{whose} never show {text:?}")
            };
            let detail = match found {
                Some(line) => format!("seen: {}", line.trim()),
                None => "no such line".to_string(),
            };
            CheckResult::new(name, found.is_some() == *present, detail)
        }
        NetExpect::Capture { host, iface, facts } => {
            let host_name = &plan.hosts[*host].name;
            let name = format!(
                "capture {host_name}:{iface}: {}",
                facts
                    .iter()
                    .map(|f| describe(plan, f))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            let Some((_, _, path)) = seen
                .captures
                .iter()
                .find(|(h, i, _)| h == host_name && i == iface)
            else {
                return CheckResult::new(name, false, "no capture on that interface".into());
            };
            match wire_facts(plan, path, facts) {
                Ok((passed, detail)) => CheckResult::new(name, passed, detail),
                Err(e) => CheckResult::new(name, false, e),
            }
        }
    }
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

/// Packet-level facts of one capture file.
#[derive(Default)]
struct Facts {
    /// SYN send times per (source, source port, destination, destination port, sequence).
    syns: BTreeMap<(IpAddr, u16, IpAddr, u16, u32), Vec<Duration>>,
    /// Fragments per (source, id): (offset, more fragments).
    fragments: BTreeMap<(IpAddr, u32), Vec<(u32, bool)>>,
    tcp_payloads: Vec<u32>,
    frames: u64,
    nonzero_ethernet: u64,
    /// Smallest TTL seen per source address.
    ttl: BTreeMap<IpAddr, u8>,
}

fn read_facts(path: &Path) -> Result<Facts, String> {
    let mut facts = Facts::default();
    let mut reader = wire::open(path).map_err(|e| e.to_string())?;
    while let Some(frame) = reader.next_frame().map_err(|e| e.to_string())? {
        facts.frames += 1;
        let packet = wire::dissect(frame.linktype, frame.data);
        match &packet.link {
            Link::Ethernet { src, dst, .. } if src.0 == [0; 6] && dst.0 == [0; 6] => {}
            _ => facts.nonzero_ethernet += 1,
        }
        let Net::Ip(ip) = &packet.net else { continue };
        let ttl = facts.ttl.entry(ip.src).or_insert(ip.ttl);
        *ttl = (*ttl).min(ip.ttl);
        if ip.is_fragment() {
            facts
                .fragments
                .entry((ip.src, ip.id))
                .or_default()
                .push((ip.frag_offset, ip.mf));
        }
        if let Transport::Tcp(tcp) = &packet.transport {
            if tcp.flags.syn() && !tcp.flags.ack() {
                facts
                    .syns
                    .entry((ip.src, tcp.src_port, ip.dst, tcp.dst_port, tcp.seq))
                    .or_default()
                    .push(frame.ts);
            }
            if tcp.payload_len > 0 {
                facts.tcp_payloads.push(tcp.payload_len);
            }
        }
    }
    Ok(facts)
}

fn wire_facts(plan: &Plan, path: &Path, wanted: &[WireFact]) -> Result<(bool, String), String> {
    let facts = read_facts(path)?;
    let mut passed = true;
    let mut details = Vec::new();
    for fact in wanted {
        let (ok, detail) = match fact {
            WireFact::SynBackoff(count) => syn_backoff(&facts, *count),
            WireFact::Fragments(count) => fragments(&facts, *count),
            WireFact::MssSegments(mss) => {
                let largest = facts.tcp_payloads.iter().copied().max().unwrap_or(0);
                let full = facts.tcp_payloads.iter().filter(|p| **p == *mss).count();
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
            WireFact::CaptureSide(host) => capture_side(plan, &facts, *host),
        };
        passed &= ok;
        details.push(detail);
    }
    Ok((passed, details.join("; ")))
}

fn syn_backoff(facts: &Facts, count: Count) -> (bool, String) {
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

fn fragments(facts: &Facts, count: Count) -> (bool, String) {
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

fn capture_side(plan: &Plan, facts: &Facts, host: usize) -> (bool, String) {
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

/// The lines of the flows that belong to the capture `point` (`HOST:IFACE`). With more than one
/// capture, each capture's lines follow a `capture HOST:IFACE` header; a run with a single
/// capture has no header, and all its lines are that capture's.
fn capture_lines<'a>(
    flows: &'a str,
    point: &str,
    captures: &[(String, String, PathBuf)],
) -> Vec<&'a str> {
    if let [(host, iface, _)] = captures {
        return if format!("{host}:{iface}") == point {
            flows.lines().collect()
        } else {
            Vec::new()
        };
    }
    let header = format!("capture {point}");
    let mut inside = false;
    let mut lines = Vec::new();
    for line in flows.lines() {
        if line.starts_with("capture ") {
            inside = line == header;
        } else if inside {
            lines.push(line);
        }
    }
    lines
}
