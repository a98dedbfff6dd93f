//! ARP patterns: `arp-gratuitous`, `arp-unsolicited-reply`, `arp-scan`, `arp-binding-change`.
//!
//! A binding is the MAC address an IPv4 address was first announced with in the ARP sender
//! fields on this interface (arpwatch's table); bindings are kept per capture interface, never
//! across interfaces, so a proxy-ARP router answering on one link is no change on another.
//! Frames with an all-zero sender MAC (loopback captures) and ARP probes (sender 0.0.0.0)
//! teach no binding. A request is broadcast when its Ethernet destination is ff:ff:ff:ff:ff:ff
//! (or the cooked header says broadcast); the kernel's unicast re-probes are not scans.

use std::collections::{BTreeSet, HashMap};
use std::net::Ipv4Addr;
use std::time::Duration;

use crate::wire::{self, Link, Mac, Net, Packet};

use super::{At, Book, Groups, Party, Severity, Thresholds, secs, span_v4};

/// Addresses an ARP scan keeps for its evidence.
const MAX_TARGETS: usize = 65536;
/// Requests remembered for the unsolicited-reply check before the oldest are forgotten.
const MAX_REQUESTS: usize = 4096;

#[derive(Debug, Default)]
struct Binding {
    /// MACs in the order the address was bound to them (the first is the original).
    history: Vec<Mac>,
    /// `from -> to` changes, with whether it flipped back to an earlier MAC.
    changes: Vec<(Mac, Mac, bool)>,
}

/// Targets of one sender's broadcast requests.
#[derive(Debug, Default)]
pub struct Targets(BTreeSet<Ipv4Addr>);

/// ARP state of one interface.
pub struct Arp {
    window: Duration,
    high: usize,
    /// When `(asker, target)` last asked, for the unsolicited-reply check.
    requests: HashMap<(Ipv4Addr, Ipv4Addr), Duration>,
    scans: Groups<(Mac, Ipv4Addr), Ipv4Addr, Targets>,
    bindings: HashMap<Ipv4Addr, Binding>,
}

impl Arp {
    /// Fresh state with these thresholds.
    pub fn new(cfg: &Thresholds) -> Arp {
        Arp {
            window: cfg.secs("arp-unsolicited-reply", "window"),
            high: cfg.count("arp-scan", "high"),
            requests: HashMap::new(),
            scans: Groups::new(
                cfg.secs("arp-scan", "window"),
                cfg.count("arp-scan", "targets"),
            ),
            bindings: HashMap::new(),
        }
    }

    /// Looks at one frame.
    pub fn push(&mut self, at: At, pkt: &Packet, book: &mut Book) {
        let Net::Arp(a) = &pkt.net else { return };
        let (broadcast, link_src) = match &pkt.link {
            Link::Ethernet { src, dst, .. } => (*dst == Mac::BROADCAST, Some(*src)),
            Link::Cooked { pkttype, src, .. } => (*pkttype == 1, *src),
            _ => (false, None),
        };
        // Loopback captures carry all-zero Ethernet headers: no MAC rule applies there.
        if a.sender_mac == Mac::default() || link_src == Some(Mac::default()) {
            return;
        }
        let probe = a.sender_ip.is_unspecified();
        let changed = if probe { false } else { self.bind(at, a, book) };
        if a.is_gratuitous() && !probe {
            let severity = if a.op == 2 || changed {
                Severity::Medium
            } else {
                Severity::Info
            };
            let e = book.hit(
                "arp-gratuitous",
                severity,
                (Party::Ip(a.sender_ip.into()), Party::Mac(Mac::BROADCAST)),
                at,
            );
            let kind = if a.op == 2 { "reply" } else { "request" };
            e.evidence = format!(
                "gratuitous ARP {kind}: {} announces itself at {}{}",
                a.sender_ip,
                a.sender_mac,
                if changed { ", a changed binding" } else { "" }
            );
            return;
        }
        match a.op {
            1 => {
                if self.requests.len() >= MAX_REQUESTS {
                    let now = at.ts;
                    let window = self.window;
                    self.requests
                        .retain(|_, t| now.saturating_sub(*t) <= window);
                }
                self.requests.insert((a.sender_ip, a.target_ip), at.ts);
                if broadcast && !probe {
                    let g = self
                        .scans
                        .push((a.sender_mac, a.sender_ip), at, a.target_ip);
                    if g.notes.0.len() < MAX_TARGETS {
                        g.notes.0.insert(a.target_ip);
                    }
                }
            }
            2 => self.reply(at, a, book),
            _ => {}
        }
    }

    /// An `op=2` that answers no request seen within the window.
    fn reply(&mut self, at: At, a: &wire::Arp, book: &mut Book) {
        let asked = self
            .requests
            .get(&(a.target_ip, a.sender_ip))
            .is_some_and(|t| at.ts.saturating_sub(*t) <= self.window);
        // A capture that starts mid-exchange misses the request of an early reply.
        if asked || at.ts <= self.window {
            return;
        }
        let e = book.hit(
            "arp-unsolicited-reply",
            Severity::Medium,
            (Party::Ip(a.sender_ip.into()), Party::Ip(a.target_ip.into())),
            at,
        );
        e.evidence = format!(
            "ARP reply nobody asked for: {} is-at {}, told to {} ({} times)",
            a.sender_ip, a.sender_mac, a.target_ip, e.count
        );
    }

    /// Learns or checks the binding the sender fields carry; true when it changed.
    fn bind(&mut self, at: At, a: &wire::Arp, book: &mut Book) -> bool {
        let b = self.bindings.entry(a.sender_ip).or_default();
        match b.history.last() {
            None => {
                b.history.push(a.sender_mac);
                false
            }
            Some(&cur) if cur == a.sender_mac => false,
            Some(&cur) => {
                let flip = b.history.contains(&a.sender_mac);
                b.changes.push((cur, a.sender_mac, flip));
                b.history.push(a.sender_mac);
                book.hit(
                    "arp-binding-change",
                    Severity::High,
                    (Party::Ip(a.sender_ip.into()), Party::Many),
                    at,
                );
                true
            }
        }
    }

    /// Writes the evidence of the alerts that needed the whole capture.
    pub fn finish(self, book: &mut Book) {
        for (ip, b) in &self.bindings {
            if b.changes.is_empty() {
                continue;
            }
            let Some(e) = book.get_mut("arp-binding-change", Party::Ip((*ip).into()), Party::Many)
            else {
                continue;
            };
            let (from, to, _) = b.changes[0];
            let mut text = format!("{ip} changed ethernet address from {from} to {to}");
            let flips = b.changes.iter().filter(|c| c.2).count();
            if b.changes.len() > 1 {
                text.push_str(&format!(", {} changes", b.changes.len()));
            }
            if flips > 0 {
                let back = b.changes.iter().find(|c| c.2).map(|c| c.1).unwrap_or(from);
                text.push_str(&format!(", flip-flop back to {back}"));
                if flips > 1 {
                    text.push_str(&format!(" ({flips} times)"));
                }
            }
            e.evidence = text;
        }
        // A reply nobody asked for that also changed a binding is the poisoning itself.
        let poisoned: Vec<Party> = self
            .bindings
            .iter()
            .filter(|(_, b)| !b.changes.is_empty())
            .map(|(ip, _)| Party::Ip((*ip).into()))
            .collect();
        for (src, _, e) in book.of("arp-unsolicited-reply") {
            if poisoned.contains(&src) {
                e.severity = Severity::High;
            }
        }
        for ((_, spa), g) in self.scans.flagged() {
            let targets = &g.notes.0;
            let (Some(lo), Some(hi)) = (targets.first(), targets.last()) else {
                continue;
            };
            let mut entry = g.entry;
            entry.severity = if g.win.peak >= self.high {
                Severity::High
            } else {
                Severity::Medium
            };
            let sequential = u32::from(*hi) - u32::from(*lo) + 1 == targets.len() as u32;
            entry.evidence = format!(
                "ARP scan: {spa} asked for {} addresses in {}, {}{} (up to {} within the window)",
                targets.len(),
                secs(entry.last.saturating_sub(entry.first)),
                span_v4(*lo, *hi),
                if sequential { ", consecutive" } else { "" },
                g.win.peak,
            );
            book.put("arp-scan", Party::Ip(spa.into()), Party::Many, entry);
        }
    }
}
