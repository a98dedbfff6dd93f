//! alerts: suspicious traffic found in the same pass over the frames as the conversations.
//!
//! The patterns are those of the defenders' catalogue (`DETECTIONS.md`), each under the
//! catalogue's id, with the catalogue's thresholds ([`REGISTRY`]). A [`Detector`] takes every
//! frame with its dissection ([`Detector::push`]) and keeps its state per capture interface
//! (pcapng interface, or the one interface of a pcap file), with windows timed on the capture
//! timestamps, never on the clock. [`Detector::finish`] reads the conversations the analysis
//! built in the same pass (a failed TCP attempt is a conversation outcome) and returns the
//! alerts, sorted.
//!
//! One file per layer: [`arp`], [`ip`], [`tcp`], [`icmp`], [`app`]. Each detector adds hits
//! to a [`Book`] under `(id, src, dst)`; an alert is one such entry: its severity, first and
//! last time, count, first frames and one line of evidence in the document's terms.
//!
//! Contract: the alerts are a pure function of the capture's bytes and the [`Thresholds`];
//! memory is bounded by the distinct keys inside the windows (windows idle for longer than
//! their span are swept), never by the number of packets; nothing panics on any input.
//! Severity `info` is shown but never counts against a lab that expects no alert.

pub mod app;
pub mod arp;
mod book;
pub mod icmp;
pub mod ip;
pub mod tcp;
mod window;

pub use book::{Book, Entry};
pub use window::{At, Group, Groups, Window};

// The catalogue (ids, severities, thresholds) sits below the scenario, which names them.
pub use crate::catalogue::{REGISTRY, Severity, Spec, Threshold, Thresholds, spec};

use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;
use std::net::IpAddr;
use std::time::Duration;

use serde::Serialize;

use crate::wire::{FrameRef, Mac, Packet};

use super::{Analysis, Names};

/// One side of an alert: an IP address, or a MAC address for alerts with no IP side.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Party {
    /// An IP address.
    Ip(IpAddr),
    /// A MAC address.
    Mac(Mac),
    /// Many addresses (a sweep): no single victim.
    Many,
}

impl Party {
    /// The two sides of an alert between two IP addresses.
    pub fn ips(src: IpAddr, dst: IpAddr) -> (Party, Party) {
        (Party::Ip(src), Party::Ip(dst))
    }

    /// The address as text, with the host name when `names` knows it.
    pub fn named(&self, names: &Names) -> String {
        match self {
            Party::Ip(ip) => names.host(ip),
            other => other.to_string(),
        }
    }
}

impl fmt::Display for Party {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Party::Ip(ip) => write!(f, "{ip}"),
            Party::Mac(mac) => write!(f, "{mac}"),
            Party::Many => f.write_str("*"),
        }
    }
}

/// How many frame numbers an alert keeps.
pub const MAX_FRAMES: usize = 10;

/// One alert: a pattern seen from `src` against `dst`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alert {
    /// The catalogue id (`tcp-port-scan`).
    pub id: &'static str,
    /// How much it matters.
    pub severity: Severity,
    /// Who did it.
    pub src: Party,
    /// Against whom ([`Party::Many`] for sweeps).
    pub dst: Party,
    /// First matching frame, from the start of the capture.
    pub first: Duration,
    /// Last matching frame, from the start of the capture.
    pub last: Duration,
    /// Matching packets (or events: requests, commands, attempts).
    pub count: u64,
    /// One line in the document's terms.
    pub evidence: String,
    /// The first [`MAX_FRAMES`] matching frame numbers.
    pub frames: Vec<u64>,
}

impl Alert {
    /// `severity id src > dst first-last count evidence`, with host names.
    pub fn line(&self, names: &Names) -> String {
        format!(
            "{:<6} {:<26} {} > {}  {:.3}s-{:.3}s  x{}  {}",
            self.severity.name(),
            self.id,
            self.src.named(names),
            self.dst.named(names),
            self.first.as_secs_f64(),
            self.last.as_secs_f64(),
            self.count,
            self.evidence
        )
    }
}

/// The JSON form of an alert (`labctl show --alerts --json`).
#[derive(Clone, Debug, Serialize)]
pub struct AlertJson {
    pub id: &'static str,
    pub severity: Severity,
    pub src: String,
    pub dst: String,
    pub first: f64,
    pub last: f64,
    pub count: u64,
    pub evidence: String,
    pub frames: Vec<u64>,
}

impl From<&Alert> for AlertJson {
    fn from(a: &Alert) -> AlertJson {
        AlertJson {
            id: a.id,
            severity: a.severity,
            src: a.src.to_string(),
            dst: a.dst.to_string(),
            first: a.first.as_secs_f64(),
            last: a.last.as_secs_f64(),
            count: a.count,
            evidence: a.evidence.clone(),
            frames: a.frames.clone(),
        }
    }
}

/// The per-interface state of every layer.
struct Iface {
    arp: arp::Arp,
    ip: ip::Ip,
    tcp: tcp::Tcp,
    icmp: icmp::Icmp,
    app: app::App,
    book: Book,
}

/// Frames between sweeps of idle windows.
const SWEEP_EVERY: u64 = 1 << 16;

/// The detection pass. See the module documentation.
pub struct Detector {
    cfg: Thresholds,
    ifaces: HashMap<u32, Iface>,
    start: Option<Duration>,
    frames: u64,
}

impl Detector {
    /// A detector with these thresholds.
    pub fn new(cfg: Thresholds) -> Detector {
        Detector {
            cfg,
            ifaces: HashMap::new(),
            start: None,
            frames: 0,
        }
    }

    /// Looks at one frame and its dissection.
    pub fn push(&mut self, frame: &FrameRef<'_>, pkt: &Packet) {
        let start = *self.start.get_or_insert(frame.ts);
        let at = At {
            frame: frame.number,
            ts: frame.ts.saturating_sub(start),
        };
        self.frames += 1;
        let cfg = &self.cfg;
        let st = self.ifaces.entry(frame.interface).or_insert_with(|| Iface {
            arp: arp::Arp::new(cfg),
            ip: ip::Ip::new(cfg),
            tcp: tcp::Tcp::new(cfg),
            icmp: icmp::Icmp::new(cfg),
            app: app::App::new(cfg),
            book: Book::default(),
        });
        st.ip.push(at, frame, pkt, &mut st.book);
        st.arp.push(at, pkt, &mut st.book);
        st.tcp.push(at, frame, pkt, &mut st.book);
        st.icmp.push(at, frame, pkt, &mut st.book);
        st.app.push(at, frame, pkt, &mut st.book);
        if self.frames % SWEEP_EVERY == 0 {
            for st in self.ifaces.values_mut() {
                st.ip.sweep(at.ts);
                st.tcp.sweep(at.ts);
                st.icmp.sweep(at.ts);
            }
        }
    }

    /// The alerts, given the analysis of the same frames, sorted by first time then id.
    pub fn finish(self, analysis: &Analysis) -> Vec<Alert> {
        let mut book = Book::default();
        let mut ifaces: Vec<(u32, Iface)> = self.ifaces.into_iter().collect();
        ifaces.sort_by_key(|(i, _)| *i);
        for (_, mut st) in ifaces {
            st.arp.finish(&mut st.book);
            st.ip.finish(&mut st.book);
            st.tcp.finish(&mut st.book);
            st.icmp.finish(&mut st.book);
            st.app.finish(&mut st.book);
            book.merge(st.book);
        }
        let start = self.start.unwrap_or_default();
        tcp::port_scans(&self.cfg, analysis, start, &mut book);
        tcp::escalate(&mut book);
        let mut out: Vec<Alert> = book
            .entries
            .into_iter()
            .map(|((id, src, dst), e)| Alert {
                id,
                severity: e.severity,
                src,
                dst,
                first: e.first,
                last: e.last,
                count: e.count,
                evidence: e.evidence,
                frames: e.frames,
            })
            .collect();
        out.sort_by(|a, b| (a.first, a.id, a.src, a.dst).cmp(&(b.first, b.id, b.src, b.dst)));
        out
    }
}

/// Lists addresses the way the document does: `10.0.0.1 to .52` when they share a /24 prefix.
pub fn span_v4(lo: std::net::Ipv4Addr, hi: std::net::Ipv4Addr) -> String {
    let (a, b) = (lo.octets(), hi.octets());
    if lo == hi {
        format!("{lo}")
    } else if a[..3] == b[..3] {
        format!("{lo} to .{}", b[3])
    } else {
        format!("{lo} to {hi}")
    }
}

/// `a, b, c` for at most `max` items, then `and N more`.
pub fn list<T: fmt::Display>(items: impl IntoIterator<Item = T>, max: usize) -> String {
    let all: Vec<String> = items.into_iter().map(|i| i.to_string()).collect();
    let mut s = all.iter().take(max).cloned().collect::<Vec<_>>().join(", ");
    if all.len() > max {
        s.push_str(&format!(" and {} more", all.len() - max));
    }
    s
}

/// Seconds for evidence: `1.1 s`, `0.041 s`.
pub fn secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 1.0 {
        format!("{s:.1} s")
    } else {
        format!("{s:.3} s")
    }
}

#[cfg(test)]
mod tests;
