//! ICMP patterns: `icmp-ping-sweep`, `icmp-info-request`, `icmp-tunnel`.
//!
//! A sweep is one source sending echo requests to many addresses within the window. Info
//! requests are ICMP timestamp (13), information (15) and address mask (17) requests, which
//! no lab sends. A tunnel is read per echo conversation (requester, responder, echo id): the
//! ptunnel magic at the start of the payload settles it; otherwise two of the document's four
//! signs must hold (big payloads, replies that differ from their request, more than one reply
//! to a request, many payload sizes), so an MTU test with `ping -s 1400` (big payloads only)
//! stays silent.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::net::IpAddr;
use std::time::Duration;

use crate::wire::dissect::EchoKind;
use crate::wire::{FrameRef, Net, Packet, Transport};

use super::{At, Book, Entry, Groups, Party, Severity, Thresholds, list, secs};

/// ptunnel's magic number, at payload offset 0 (`kPing_tunnel_magic`).
const PTUNNEL_MAGIC: [u8; 4] = [0xd5, 0x20, 0x08, 0x80];
/// Requests one echo conversation remembers for matching replies.
const MAX_REQUESTS: usize = 256;
/// Payload sizes one echo conversation remembers.
const MAX_SIZES: usize = 64;

/// Notes of one source's echo requests.
#[derive(Debug, Default)]
pub struct Sweep {
    dsts: BTreeSet<IpAddr>,
    answered: BTreeSet<IpAddr>,
    empty: u64,
}

#[derive(Debug, Default)]
struct Info {
    asked: BTreeMap<u8, u64>,
    answered: BTreeMap<u8, u64>,
}

#[derive(Debug)]
struct Echo {
    entry: Entry,
    magic: u64,
    /// Times of the latest big echoes.
    big: VecDeque<Duration>,
    big_burst: bool,
    /// Request payload length and hash by sequence number, and replies seen to it.
    requests: HashMap<u16, (usize, u64, u32)>,
    differing: u64,
    duplicated: u64,
    sizes: BTreeSet<usize>,
    last: Duration,
}

/// ICMP state of one interface.
pub struct Icmp {
    sweep: Groups<IpAddr, IpAddr, Sweep>,
    high: usize,
    info: BTreeMap<(IpAddr, IpAddr), Info>,
    info_hosts: usize,
    echoes: HashMap<(IpAddr, IpAddr, u16), Echo>,
    big_size: usize,
    big_count: usize,
    window: Duration,
    sizes: usize,
}

/// FNV-1a, to compare a reply's payload with its request's without keeping either.
fn hash(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

impl Icmp {
    /// Fresh state with these thresholds.
    pub fn new(cfg: &Thresholds) -> Icmp {
        Icmp {
            sweep: Groups::new(
                cfg.secs("icmp-ping-sweep", "window"),
                cfg.count("icmp-ping-sweep", "targets"),
            ),
            high: cfg.count("icmp-ping-sweep", "high"),
            info: BTreeMap::new(),
            info_hosts: cfg.count("icmp-info-request", "hosts"),
            echoes: HashMap::new(),
            big_size: cfg.count("icmp-tunnel", "size"),
            big_count: cfg.count("icmp-tunnel", "big"),
            window: cfg.secs("icmp-tunnel", "window"),
            sizes: cfg.count("icmp-tunnel", "sizes"),
        }
    }

    /// Looks at one frame.
    pub fn push(&mut self, at: At, frame: &FrameRef<'_>, pkt: &Packet, book: &mut Book) {
        let (Net::Ip(ip), Transport::Icmp(i)) = (&pkt.net, &pkt.transport) else {
            return;
        };
        let (src, dst) = (ip.src, ip.dst);
        if let Some(kind) = i.echo() {
            let payload = pkt.payload_of(frame.data);
            match kind {
                EchoKind::Request => {
                    let g = self.sweep.push(src, at, dst);
                    g.notes.dsts.insert(dst);
                    g.notes.empty += u64::from(payload.is_empty());
                }
                EchoKind::Reply => {
                    if let Some(g) = self.sweep.get_mut(&dst) {
                        g.notes.answered.insert(src);
                    }
                }
            }
            self.echo(at, (src, dst), i.echo_id(), i.echo_seq(), kind, payload);
            return;
        }
        if i.v6 {
            return;
        }
        match i.icmp_type {
            13 | 15 | 17 => {
                book.hit("icmp-info-request", Severity::Low, Party::ips(src, dst), at);
                *self
                    .info
                    .entry((src, dst))
                    .or_default()
                    .asked
                    .entry(i.icmp_type)
                    .or_default() += 1;
            }
            14 | 16 | 18 => {
                if let Some(n) = self.info.get_mut(&(dst, src)) {
                    *n.answered.entry(i.icmp_type - 1).or_default() += 1;
                }
            }
            _ => {}
        }
    }

    fn echo(
        &mut self,
        at: At,
        (src, dst): (IpAddr, IpAddr),
        id: u16,
        seq: u16,
        kind: EchoKind,
        payload: &[u8],
    ) {
        let key = match kind {
            EchoKind::Request => (src, dst, id),
            EchoKind::Reply => (dst, src, id),
        };
        let e = self.echoes.entry(key).or_insert_with(|| Echo {
            entry: Entry::new(at),
            magic: 0,
            big: VecDeque::new(),
            big_burst: false,
            requests: HashMap::new(),
            differing: 0,
            duplicated: 0,
            sizes: BTreeSet::new(),
            last: at.ts,
        });
        e.entry.hit(at.frame, at.ts);
        e.last = at.ts;
        if payload.starts_with(&PTUNNEL_MAGIC) {
            e.magic += 1;
        }
        if payload.len() > self.big_size {
            e.big.push_back(at.ts);
            if e.big.len() > self.big_count {
                e.big.pop_front();
            }
            if e.big.len() >= self.big_count
                && e.big
                    .front()
                    .is_some_and(|t| at.ts.saturating_sub(*t) <= self.window)
            {
                e.big_burst = true;
            }
        }
        if e.sizes.len() < MAX_SIZES {
            e.sizes.insert(payload.len());
        }
        let h = hash(payload);
        match kind {
            EchoKind::Request => {
                if e.requests.len() >= MAX_REQUESTS {
                    e.requests.clear();
                }
                e.requests.insert(seq, (payload.len(), h, 0));
            }
            EchoKind::Reply => {
                if let Some(r) = e.requests.get_mut(&seq) {
                    r.2 += 1;
                    if r.2 == 2 {
                        e.duplicated += 1;
                    }
                    if (r.0, r.1) != (payload.len(), h) {
                        e.differing += 1;
                    }
                }
            }
        }
    }

    /// Drops idle windows and echo conversations with no sign of a tunnel.
    pub fn sweep(&mut self, now: Duration) {
        self.sweep.sweep(now);
        let window = self.window;
        self.echoes.retain(|_, e| {
            e.magic > 0
                || e.big_burst
                || e.differing > 0
                || e.duplicated > 0
                || now.saturating_sub(e.last) <= window
        });
    }

    /// Writes evidence and turns what matched into alerts.
    pub fn finish(self, book: &mut Book) {
        let mut asked_by: BTreeMap<IpAddr, usize> = BTreeMap::new();
        for (src, _) in self.info.keys() {
            *asked_by.entry(*src).or_default() += 1;
        }
        for ((src, dst), n) in &self.info {
            let Some(e) = book.get_mut("icmp-info-request", Party::Ip(*src), Party::Ip(*dst))
            else {
                continue;
            };
            if asked_by.get(src).copied().unwrap_or(0) >= self.info_hosts {
                e.severity = Severity::Medium;
            }
            let name = |t: u8| match t {
                13 => "timestamp request (13)",
                15 => "information request (15)",
                _ => "address mask request (17)",
            };
            let parts = n.asked.iter().map(|(t, k)| {
                let back = n.answered.get(t).copied().unwrap_or(0);
                format!("{} x{k}, {back} answered", name(*t))
            });
            e.evidence = format!("ICMP {}", list(parts, 3));
        }
        for (src, g) in self.sweep.flagged() {
            let mut entry = g.entry;
            let dsts: Vec<IpAddr> = g.notes.dsts.iter().copied().collect();
            entry.severity = if g.win.peak >= self.high {
                Severity::High
            } else {
                Severity::Medium
            };
            let span = match (dsts.first(), dsts.last()) {
                (Some(IpAddr::V4(a)), Some(IpAddr::V4(b))) => super::span_v4(*a, *b),
                (Some(a), Some(b)) => format!("{a} to {b}"),
                _ => String::new(),
            };
            let mut text = format!(
                "ping sweep: {src} pinged {} addresses in {}, {span}, {} answered",
                dsts.len(),
                secs(entry.last.saturating_sub(entry.first)),
                g.notes.answered.len()
            );
            if g.notes.empty > 0 {
                text.push_str(&format!(", {} with an empty payload", g.notes.empty));
            }
            entry.evidence = text;
            book.put("icmp-ping-sweep", Party::Ip(src), Party::Many, entry);
        }
        let mut echoes: Vec<_> = self.echoes.into_iter().collect();
        echoes.sort_by_key(|(k, _)| *k);
        for ((src, dst, id), e) in echoes {
            let signs = [
                (e.big_burst, "big payloads"),
                (e.differing > 0, "replies unlike their requests"),
                (e.duplicated > 0, "several replies to one request"),
                (e.sizes.len() >= self.sizes, "many payload sizes"),
            ];
            let held: Vec<&str> = signs.iter().filter(|s| s.0).map(|s| s.1).collect();
            if e.magic == 0 && held.len() < 2 {
                continue;
            }
            let mut entry = e.entry;
            entry.severity = Severity::High;
            let mut text = format!("ICMP tunnel: echo id {id}");
            if e.magic > 0 {
                text.push_str(&format!(", ptunnel magic D5200880 in {} payloads", e.magic));
            }
            if !held.is_empty() {
                text.push_str(&format!(", {}", held.join(", ")));
            }
            text.push_str(&format!(
                " ({} sizes up to {} bytes, {} replies differ, {} requests answered twice)",
                e.sizes.len(),
                e.sizes.last().copied().unwrap_or(0),
                e.differing,
                e.duplicated
            ));
            entry.evidence = text;
            book.put("icmp-tunnel", Party::Ip(src), Party::Ip(dst), entry);
        }
    }
}
