//! IP patterns: `ip-invalid-version` and `ip-protocol-scan`.
//!
//! A bogus version is read from the frame's bytes, since the dissector gives up on such a
//! header: the EtherType (after any VLAN tags) or the cooked header's protocol says IPv4 or
//! IPv6 and the first nibble disagrees. It is aggregated per pair of MAC addresses, as the
//! frames carry no IP address anyone can trust.
//!
//! A protocol scan is one source reaching one destination with many IP protocol numbers
//! within the window (nmap `-sO`), or with any unassigned number (143-252). Each pair keeps
//! the protocols it used with the time each was last seen, so the per-packet cost of ordinary
//! traffic (one or two protocols per pair) is a short scan of a short list.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;
use std::time::Duration;

use crate::wire::{FrameRef, Link, LinkType, Net, Packet, Transport};

use super::{At, Book, Entry, Party, Severity, Thresholds, list, secs};

/// Unassigned IP protocol numbers (IANA), as nmap `-sO` walks them.
const UNASSIGNED: std::ops::RangeInclusive<u8> = 143..=252;

#[derive(Debug, Default)]
struct Bogus {
    versions: BTreeSet<(u16, u8)>,
    min_len: u32,
    max_len: u32,
}

#[derive(Debug)]
struct Pair {
    /// Protocol and when it was last seen.
    protos: Vec<(u8, Duration)>,
    /// Probes: first sightings of a protocol.
    entry: Entry,
    peak: usize,
    unassigned_empty: BTreeSet<u8>,
    unassigned: BTreeSet<u8>,
    /// Protocol-unreachable errors sent back.
    unreachable: u64,
    last: Duration,
}

/// IP state of one interface.
pub struct Ip {
    protocols: usize,
    window: Duration,
    pairs: HashMap<(IpAddr, IpAddr), Pair>,
    bogus: BTreeMap<(Party, Party), Bogus>,
}

/// The network-layer type a link header announces, and where the network header starts.
fn network_start(frame: &FrameRef<'_>, pkt: &Packet) -> Option<(u16, usize)> {
    let d = frame.data;
    let be = |i: usize| d.get(i..i + 2).map(|b| u16::from_be_bytes([b[0], b[1]]));
    match frame.linktype {
        LinkType::Ethernet => {
            let mut off = 12;
            let mut et = be(off)?;
            // 802.1Q and 802.1ad tags.
            while et == 0x8100 || et == 0x88a8 {
                off += 4;
                et = be(off)?;
            }
            Some((et, off + 2))
        }
        LinkType::LinuxSll => Some((be(14)?, 16)),
        LinkType::LinuxSll2 => Some((be(0)?, 20)),
        LinkType::Raw | LinkType::Ipv4 | LinkType::Ipv6 if matches!(pkt.link, Link::Bare) => {
            let v = d.first()? >> 4;
            // Raw IP names no type: the nibble is all there is, and only 4 and 6 exist.
            Some((if v == 6 { 0x86dd } else { 0x0800 }, 0))
        }
        _ => None,
    }
}

impl Ip {
    /// Fresh state with these thresholds.
    pub fn new(cfg: &Thresholds) -> Ip {
        Ip {
            protocols: cfg.count("ip-protocol-scan", "protocols"),
            window: cfg.secs("ip-protocol-scan", "window"),
            pairs: HashMap::new(),
            bogus: BTreeMap::new(),
        }
    }

    /// Looks at one frame.
    pub fn push(&mut self, at: At, frame: &FrameRef<'_>, pkt: &Packet, book: &mut Book) {
        match &pkt.net {
            Net::Ip(ip) => {
                if ip.frag_offset == 0 {
                    self.protocol(at, (ip.src, ip.dst), ip.proto, ip.len);
                }
                if let Transport::Icmp(i) = &pkt.transport
                    && !i.v6
                    && i.icmp_type == 3
                    && i.code == 2
                    && let Some(q) = &i.quoted
                    && let Some(p) = self.pairs.get_mut(&(q.src, q.dst))
                {
                    p.unreachable += 1;
                }
            }
            Net::None | Net::Other(_) => self.version(at, frame, pkt, book),
            Net::Arp(_) => {}
        }
    }

    fn version(&mut self, at: At, frame: &FrameRef<'_>, pkt: &Packet, book: &mut Book) {
        let Some((et, start)) = network_start(frame, pkt) else {
            return;
        };
        let Some(first) = frame.data.get(start) else {
            return;
        };
        let v = first >> 4;
        let must = match et {
            0x0800 => 4,
            0x86dd => 6,
            _ => return,
        };
        if v == must {
            return;
        }
        let (src, dst) = match &pkt.link {
            Link::Ethernet { src, dst, .. } => (Party::Mac(*src), Party::Mac(*dst)),
            Link::Cooked { src: Some(s), .. } => (Party::Mac(*s), Party::Many),
            _ => (Party::Many, Party::Many),
        };
        book.hit("ip-invalid-version", Severity::Medium, (src, dst), at);
        let b = self.bogus.entry((src, dst)).or_insert(Bogus {
            min_len: u32::MAX,
            ..Bogus::default()
        });
        b.versions.insert((must.into(), v));
        b.min_len = b.min_len.min(frame.orig_len);
        b.max_len = b.max_len.max(frame.orig_len);
    }

    fn protocol(&mut self, at: At, (src, dst): (IpAddr, IpAddr), proto: u8, len: u32) {
        let window = self.window;
        let p = self.pairs.entry((src, dst)).or_insert_with(|| Pair {
            protos: Vec::new(),
            entry: Entry::new(at),
            peak: 0,
            unassigned_empty: BTreeSet::new(),
            unassigned: BTreeSet::new(),
            unreachable: 0,
            last: at.ts,
        });
        p.last = at.ts;
        match p.protos.iter_mut().find(|(n, _)| *n == proto) {
            Some(seen) if at.ts.saturating_sub(seen.1) <= window => {
                seen.1 = at.ts;
                return;
            }
            Some(seen) => seen.1 = at.ts,
            None => p.protos.push((proto, at.ts)),
        }
        p.entry.hit(at.frame, at.ts);
        let live = p
            .protos
            .iter()
            .filter(|(_, t)| at.ts.saturating_sub(*t) <= window)
            .count();
        p.peak = p.peak.max(live);
        if UNASSIGNED.contains(&proto) {
            p.unassigned.insert(proto);
            // A bare 20-byte header: nothing but the protocol number is being asked.
            if len <= 20 {
                p.unassigned_empty.insert(proto);
            }
        }
    }

    /// Drops pairs idle for longer than the window that never looked like a scan.
    pub fn sweep(&mut self, now: Duration) {
        let (window, n) = (self.window, self.protocols);
        self.pairs.retain(|_, p| {
            p.peak >= n || !p.unassigned.is_empty() || now.saturating_sub(p.last) <= window
        });
    }

    /// Turns the pairs that scanned into alerts.
    pub fn finish(self, book: &mut Book) {
        for ((src, dst), b) in self.bogus {
            if let Some(e) = book.get_mut("ip-invalid-version", src, dst) {
                let versions = list(
                    b.versions
                        .iter()
                        .map(|(must, v)| format!("{v}, must be {must}")),
                    4,
                );
                e.evidence = format!(
                    "bogus IP version ({versions}) in {} frames of {} to {} bytes",
                    e.count, b.min_len, b.max_len
                );
            }
        }
        let mut pairs: Vec<_> = self.pairs.into_iter().collect();
        pairs.sort_by_key(|(k, _)| *k);
        for ((src, dst), p) in pairs {
            if p.peak < self.protocols && p.unassigned.is_empty() {
                continue;
            }
            let mut entry = p.entry;
            entry.severity = Severity::Medium;
            let mut protos: Vec<u8> = p.protos.iter().map(|(n, _)| *n).collect();
            protos.sort_unstable();
            let mut text = format!(
                "IP protocol scan: {} protocols ({}) in {}",
                protos.len(),
                list(&protos, 8),
                secs(entry.last.saturating_sub(entry.first))
            );
            if !p.unassigned.is_empty() {
                text.push_str(&format!(", unassigned {}", list(&p.unassigned, 6)));
                if !p.unassigned_empty.is_empty() {
                    text.push_str(" with total length 20");
                }
            }
            if p.unreachable > 0 {
                text.push_str(&format!(", {} protocol unreachable back", p.unreachable));
            }
            entry.evidence = text;
            book.put("ip-protocol-scan", Party::Ip(src), Party::Ip(dst), entry);
        }
    }
}
