//! TCP patterns: `tcp-port-scan`, `tcp-odd-flags`, `tcp-scan-source-port-reuse`,
//! `tcp-scan-isn-reuse`, `tcp-port-zero`.
//!
//! The port scan counts failed attempts as Zeek does: a SYN refused by a RST, a SYN never
//! answered (or answered by an ICMP error), or a SYN/ACK the initiator reset without data
//! (nmap's half-open probe of an open port). Those are conversation outcomes, so it is read
//! from the conversations the analysis built in the same pass ([`port_scans`]); the rest is
//! per packet. Only SYNs without ACK count towards the reuse patterns, so traceroute's one
//! UDP source port and SYN retransmissions (same port, same sequence number) stay silent; an
//! active FTP server's data connections come from port 20 and are left out.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;
use std::time::Duration;

use crate::analyze::{Analysis, ConnOutcome, Dir, Handshake, Proto};
use crate::wire::{FrameRef, Net, Packet, TcpFlags, Transport};

use super::{At, Book, Entry, Groups, Party, Severity, Thresholds, list, secs};

const F: u16 = TcpFlags::FIN;
const S: u16 = TcpFlags::SYN;
const R: u16 = TcpFlags::RST;
const P: u16 = TcpFlags::PSH;
const A: u16 = TcpFlags::ACK;
const U: u16 = TcpFlags::URG;

/// Ports an alert keeps for its evidence.
const MAX_PORTS: usize = 65536;

/// The name of an impossible or scan-only flag combination, `None` for a normal one.
pub fn odd_flags(flags: u16) -> Option<&'static str> {
    let f = flags & (F | S | R | P | A | U);
    Some(match f {
        0 => "NULL",
        _ if f & (S | F) == S | F && f & (P | U) == P | U => "SYN+FIN+PSH+URG",
        _ if f & (S | F) == S | F => "SYN+FIN",
        _ if f & (S | R) == S | R => "SYN+RST",
        _ if f & (F | P | U) == F | P | U && f & A == 0 => "Xmas (FIN+PSH+URG)",
        _ if f & F != 0 && f & A == 0 => "FIN without ACK",
        _ if f & (S | A | R) == 0 => "no SYN/ACK/RST",
        _ => return None,
    })
}

#[derive(Debug, Default)]
struct Odd {
    kinds: BTreeMap<&'static str, u64>,
    ports: BTreeSet<u16>,
    windows: BTreeSet<u16>,
    rst_back: u64,
}

#[derive(Debug, Default)]
struct Zero {
    sports: BTreeSet<u16>,
    windows: BTreeSet<u16>,
    kinds: BTreeSet<&'static str>,
    answers: u64,
}

/// Notes of a source port's SYNs.
#[derive(Debug, Default)]
pub struct Reuse {
    dsts: BTreeSet<IpAddr>,
    ports: BTreeSet<u16>,
}

/// TCP state of one interface.
pub struct Tcp {
    odd: HashMap<(IpAddr, IpAddr), Odd>,
    zero: HashMap<(IpAddr, IpAddr), Zero>,
    sport: Groups<(IpAddr, u16), (IpAddr, u16), Reuse>,
    isn: Groups<(IpAddr, IpAddr, u32), u16, BTreeSet<u16>>,
}

impl Tcp {
    /// Fresh state with these thresholds.
    pub fn new(cfg: &Thresholds) -> Tcp {
        Tcp {
            odd: HashMap::new(),
            zero: HashMap::new(),
            sport: Groups::new(
                cfg.secs("tcp-scan-source-port-reuse", "window"),
                cfg.count("tcp-scan-source-port-reuse", "targets"),
            ),
            isn: Groups::new(
                cfg.secs("tcp-scan-isn-reuse", "window"),
                cfg.count("tcp-scan-isn-reuse", "ports"),
            ),
        }
    }

    /// Looks at one frame.
    pub fn push(&mut self, at: At, _frame: &FrameRef<'_>, pkt: &Packet, book: &mut Book) {
        let Net::Ip(ip) = &pkt.net else { return };
        let (src, dst) = (ip.src, ip.dst);
        match &pkt.transport {
            Transport::Tcp(t) => {
                let flags = t.flags.0;
                if t.src_port == 0 || t.dst_port == 0 {
                    let kind = if flags & (S | A) == S {
                        "SYN"
                    } else if flags & R != 0 {
                        "RST"
                    } else {
                        "TCP"
                    };
                    self.port_zero(at, (src, dst), (t.src_port, t.dst_port), kind, book);
                    if let Some(z) = self.zero.get_mut(&(src, dst)) {
                        z.windows.insert(t.window);
                    }
                }
                if let Some(kind) = odd_flags(flags) {
                    book.hit("tcp-odd-flags", Severity::Medium, Party::ips(src, dst), at);
                    let o = self.odd.entry((src, dst)).or_default();
                    *o.kinds.entry(kind).or_default() += 1;
                    if o.ports.len() < MAX_PORTS {
                        o.ports.insert(t.dst_port);
                    }
                    o.windows.insert(t.window);
                } else if flags & R != 0
                    && let Some(o) = self.odd.get_mut(&(dst, src))
                {
                    o.rst_back += 1;
                }
                if flags & (S | A) == S && t.src_port != 20 {
                    let g = self.sport.push((src, t.src_port), at, (dst, t.dst_port));
                    if g.notes.ports.len() < MAX_PORTS {
                        g.notes.dsts.insert(dst);
                        g.notes.ports.insert(t.dst_port);
                    }
                    let g = self.isn.push((src, dst, t.seq), at, t.dst_port);
                    if g.notes.len() < MAX_PORTS {
                        g.notes.insert(t.dst_port);
                    }
                }
            }
            Transport::Udp(u) if u.src_port == 0 || u.dst_port == 0 => {
                self.port_zero(at, (src, dst), (u.src_port, u.dst_port), "UDP", book);
            }
            _ => {}
        }
    }

    fn port_zero(
        &mut self,
        at: At,
        (src, dst): (IpAddr, IpAddr),
        (sport, dport): (u16, u16),
        kind: &'static str,
        book: &mut Book,
    ) {
        // From port 0 back to a prober: the answer, counted on the probe's alert.
        if dport != 0
            && let Some(z) = self.zero.get_mut(&(dst, src))
        {
            z.answers += 1;
            return;
        }
        book.hit("tcp-port-zero", Severity::Medium, Party::ips(src, dst), at);
        let z = self.zero.entry((src, dst)).or_default();
        z.kinds.insert(kind);
        if sport != 0 && z.sports.len() < MAX_PORTS {
            z.sports.insert(sport);
        }
    }

    /// Drops idle windows that never looked like a scan.
    pub fn sweep(&mut self, now: Duration) {
        self.sport.sweep(now);
        self.isn.sweep(now);
    }

    /// Writes evidence and turns flagged windows into alerts.
    pub fn finish(self, book: &mut Book) {
        for ((src, dst), o) in &self.odd {
            if let Some(e) = book.get_mut("tcp-odd-flags", Party::Ip(*src), Party::Ip(*dst)) {
                let kinds = list(o.kinds.iter().map(|(k, n)| format!("{n} {k}")), 7);
                let mut text = format!(
                    "odd TCP flags: {kinds} to {} ports, window {}",
                    o.ports.len(),
                    list(&o.windows, 4)
                );
                if o.rst_back > 0 {
                    text.push_str(&format!(", {} answered by RST", o.rst_back));
                }
                e.evidence = text;
            }
        }
        for ((src, dst), z) in &self.zero {
            if let Some(e) = book.get_mut("tcp-port-zero", Party::Ip(*src), Party::Ip(*dst)) {
                let from = match (z.sports.first(), z.sports.last()) {
                    (Some(a), Some(b)) if a != b => format!(" from source ports {a} to {b}"),
                    (Some(a), _) => format!(" from source port {a}"),
                    _ => String::new(),
                };
                let mut text = format!("port 0: {} {} packets{from}", e.count, list(&z.kinds, 3));
                if !z.windows.is_empty() {
                    text.push_str(&format!(", window {}", list(&z.windows, 4)));
                }
                if z.answers > 0 {
                    text.push_str(&format!(", {} answered", z.answers));
                }
                e.evidence = text;
            }
        }
        for ((src, sport), g) in self.sport.flagged() {
            let dst = match g.notes.dsts.len() {
                1 => g.notes.dsts.first().map_or(Party::Many, |d| Party::Ip(*d)),
                _ => Party::Many,
            };
            let mut entry = g.entry;
            entry.severity = Severity::Medium;
            entry.evidence = format!(
                "source port {sport} reused for {} SYNs to {} ports of {} hosts in {}",
                entry.count,
                g.notes.ports.len(),
                g.notes.dsts.len(),
                secs(entry.last.saturating_sub(entry.first))
            );
            book.put("tcp-scan-source-port-reuse", Party::Ip(src), dst, entry);
        }
        for ((src, dst, seq), g) in self.isn.flagged() {
            let mut entry = g.entry;
            entry.severity = Severity::Medium;
            entry.evidence = format!(
                "sequence number {seq} reused in {} SYNs to {} ports",
                entry.count,
                g.notes.len()
            );
            book.put("tcp-scan-isn-reuse", Party::Ip(src), Party::Ip(dst), entry);
        }
    }
}

/// What a failed attempt was, for the evidence.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Failed {
    Refused,
    Open,
    Unanswered,
    Rejected,
}

/// A failed attempt: when, to which port, its first frame, what became of it.
type Try = (Duration, u16, u64, Failed);

/// Port scans from the conversations: per scanner and victim, the distinct destination ports
/// of failed attempts within the window.
pub fn port_scans(cfg: &Thresholds, analysis: &Analysis, start: Duration, book: &mut Book) {
    let need = cfg.count("tcp-port-scan", "ports");
    let window = cfg.secs("tcp-port-scan", "window");
    let mut by_pair: BTreeMap<(IpAddr, IpAddr), Vec<Try>> = BTreeMap::new();
    for c in &analysis.conversations {
        let Some(t) = &c.tcp else { continue };
        if c.proto != Proto::Tcp || t.handshake == Handshake::None {
            continue;
        }
        let no_data = c.payload_bytes == [0, 0];
        let failed = match t.outcome {
            ConnOutcome::Refused => Failed::Refused,
            ConnOutcome::NoAnswer => Failed::Unanswered,
            ConnOutcome::Rejected => Failed::Rejected,
            ConnOutcome::HalfOpen => Failed::Open,
            ConnOutcome::Reset if no_data && t.close.rst == Some(Dir::Forward) => Failed::Open,
            _ => continue,
        };
        by_pair
            .entry((c.initiator.ip, c.responder.ip))
            .or_default()
            .push((
                c.start.saturating_sub(start),
                c.responder.port,
                c.first_frame,
                failed,
            ));
    }
    for ((src, dst), mut tries) in by_pair {
        tries.sort_unstable_by_key(|t| (t.0, t.2));
        let mut win: super::Window<u16> = super::Window::new(window);
        for t in &tries {
            win.push(t.0, t.1);
        }
        if win.peak < need {
            continue;
        }
        let mut entry = Entry::new(super::At {
            frame: tries[0].2,
            ts: tries[0].0,
        });
        entry.severity = Severity::Medium;
        let mut frames: Vec<u64> = tries.iter().map(|t| t.2).collect();
        frames.sort_unstable();
        for t in &tries {
            entry.hit(t.2, t.0);
        }
        entry.frames = frames.into_iter().take(super::MAX_FRAMES).collect();
        let ports: BTreeSet<u16> = tries.iter().map(|t| t.1).collect();
        let open: BTreeSet<u16> = tries
            .iter()
            .filter(|t| t.3 == Failed::Open)
            .map(|t| t.1)
            .collect();
        let count = |k: Failed| tries.iter().filter(|t| t.3 == k).count();
        let (lo, hi) = (
            ports.first().copied().unwrap_or(0),
            ports.last().copied().unwrap_or(0),
        );
        let mut text = format!(
            "port scan: {src} tried {} ports of {dst} in {}, {lo} to {hi}: {} refused, {} unanswered",
            ports.len(),
            secs(entry.last.saturating_sub(entry.first)),
            count(Failed::Refused),
            count(Failed::Unanswered) + count(Failed::Rejected),
        );
        if !open.is_empty() {
            text.push_str(&format!(", half-open on {}", list(&open, 8)));
        }
        entry.evidence = text;
        book.put("tcp-port-scan", Party::Ip(src), Party::Ip(dst), entry);
    }
}

/// Odd flags together with a port scan are the scan itself: high.
pub fn escalate(book: &mut Book) {
    let scans: Vec<(Party, Party)> = book.of("tcp-port-scan").map(|(s, d, _)| (s, d)).collect();
    for (s, d, e) in book.of("tcp-odd-flags") {
        if scans.contains(&(s, d)) {
            e.severity = Severity::High;
        }
    }
}
