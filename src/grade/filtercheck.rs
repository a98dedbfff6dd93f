//! The `filter` rubric check: a display filter from `answers.toml`, judged by the frames it
//! selects and never by how it is written.
//!
//! Contract: the student's filter is compiled with the same compiler as `labctl show -Y`; one
//! that does not compile fails the check with the compiler's message (column, problem,
//! did-you-mean), never a crash. A filter that compiles runs over the student's capture and
//! over each of the lab run's captures. The frames it should select are the frames of the TCP
//! conversations whose server port is one of the rubric's `ports` (conversations as the
//! analysis found them: the same 4-tuple, either direction); every other frame (ARP, other
//! ports, ICMP, ...) must be left out. The check passes when, on every capture looked at, the
//! filter selects exactly those frames; otherwise the feedback names, per capture, what it lets
//! through (`2 ARP frames`) and what it misses (`the conversation to port 21`, or `3 of the 12
//! frames of the conversation to port 21`). A conversation that a capture does not hold is
//! not held against the filter on that capture.
//!
//! Each capture is read once more, frame by frame; the tallies are per conversation and per
//! kind of frame, so memory does not grow with the capture.

use std::collections::BTreeMap;
use std::io::{Read, Seek};
use std::net::IpAddr;

use crate::analyze::{Analysis, Proto};
use crate::filter::DisplayFilter;
use crate::wire::{self, CaptureReader, Net, Packet, Transport};

use super::score::Evidence;

/// A TCP connection's ends, in a fixed order so both directions give the same key.
type Tuple = ((IpAddr, u16), (IpAddr, u16));

fn tuple(a: (IpAddr, u16), b: (IpAddr, u16)) -> Tuple {
    if a <= b { (a, b) } else { (b, a) }
}

/// What one filter selected of one capture.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Per wanted port: (frames selected, frames of its conversations).
    pub wanted: BTreeMap<u16, (u64, u64)>,
    /// Per kind of frame that should have been left out: frames selected.
    pub unwanted: BTreeMap<String, u64>,
}

impl Tally {
    pub fn exact(&self) -> bool {
        self.unwanted.is_empty() && self.wanted.values().all(|(got, all)| got == all)
    }

    /// What is wrong, in the student's terms: "lets through 2 ARP frames; misses the
    /// conversation to port 21".
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        let extra: Vec<String> = self
            .unwanted
            .iter()
            .map(|(what, n)| format!("{n} {what} frame{}", if *n == 1 { "" } else { "s" }))
            .collect();
        if !extra.is_empty() {
            out.push(format!("lets through {}", join(&extra)));
        }
        let missed: Vec<String> = self
            .wanted
            .iter()
            .filter(|(_, (got, all))| got < all)
            .map(|(port, (got, all))| match got {
                0 => format!("the conversation to port {port}"),
                _ => format!(
                    "{} of the {all} frames of the conversation to port {port}",
                    all - got
                ),
            })
            .collect();
        if !missed.is_empty() {
            out.push(format!("misses {}", join(&missed)));
        }
        out
    }
}

fn join(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// What kind of frame this is, for "lets through N ... frames".
fn kind_of(pkt: &Packet, server_port: Option<u16>) -> String {
    match (&pkt.net, &pkt.transport) {
        (Net::Arp(_), _) => "ARP".into(),
        (_, Transport::Tcp(t)) => match server_port {
            Some(p) => format!("TCP port {p}"),
            None => format!("TCP port {}", t.dst_port.min(t.src_port)),
        },
        (_, Transport::Udp(u)) if pkt.app.is_some() && (u.src_port == 53 || u.dst_port == 53) => {
            "DNS".into()
        }
        (_, Transport::Udp(u)) => format!("UDP port {}", u.dst_port.min(u.src_port)),
        (_, Transport::Icmp(i)) if i.v6 => "ICMPv6".into(),
        (_, Transport::Icmp(_)) => "ICMP".into(),
        (Net::Ip(ip), _) if ip.version == 6 => "other IPv6".into(),
        (Net::Ip(_), _) => "other IPv4".into(),
        _ => "non-IP".into(),
    }
}

/// Runs `filter` over the capture `reader` reads, whose analysis is `analysis`, and tallies
/// the frames it selects against those of the TCP conversations to `ports`. Stops at the first
/// damaged frame, as the analysis does.
pub fn tally<R: Read>(
    reader: &mut CaptureReader<R>,
    filter: &DisplayFilter,
    analysis: &Analysis,
    ports: &[u16],
) -> Tally {
    // Every TCP conversation's server port, by its 4-tuple.
    let servers: BTreeMap<Tuple, u16> = analysis
        .conversations
        .iter()
        .filter(|c| c.proto == Proto::Tcp)
        .map(|c| {
            (
                tuple(
                    (c.initiator.ip, c.initiator.port),
                    (c.responder.ip, c.responder.port),
                ),
                c.responder.port,
            )
        })
        .collect();
    let mut out = Tally::default();
    let mut matcher = filter.matcher();
    while let Ok(Some(frame)) = reader.next_frame() {
        let pkt = wire::dissect(frame.linktype, frame.data);
        let selected = matcher.matches(&frame, &pkt);
        let server = match (pkt.ip(), pkt.tcp()) {
            (Some(ip), Some(t)) => servers
                .get(&tuple((ip.src, t.src_port), (ip.dst, t.dst_port)))
                .copied(),
            _ => None,
        };
        match server.filter(|p| ports.contains(p)) {
            Some(port) => {
                let (got, all) = out.wanted.entry(port).or_default();
                *all += 1;
                *got += u64::from(selected);
            }
            None if selected => *out.unwanted.entry(kind_of(&pkt, server)).or_default() += 1,
            None => {}
        }
    }
    out
}

/// The check: `answers.toml`'s `key` is a display filter that selects exactly the frames of
/// the TCP conversations to `ports`, on the student's capture and on the lab's.
pub fn check(ev: &Evidence, key: &str, ports: &[u16]) -> Result<(), String> {
    let table = ev.answers.as_ref().map_err(Clone::clone)?;
    let text = match table.get(key) {
        None => return Err(format!("answers.toml has no `{key} = \"...\"`")),
        Some(toml::Value::String(s)) => s.trim().to_string(),
        Some(other) => {
            return Err(format!(
                "answers.toml's {key} must be a display filter in quotes, not {other}"
            ));
        }
    };
    let shown = crate::text::quote(text.as_bytes());
    let filter = DisplayFilter::compile(&text)
        .map_err(|e| format!("your filter {shown} is not a display filter Wireshark reads: {e}"))?;
    let mut looked = 0;
    let mut wrong = Vec::new();
    if let (Some(file), Some(analysis)) = (&ev.capture.file, &ev.capture.analysis) {
        let mut file = file.try_clone().map_err(|e| e.to_string())?;
        if file.rewind().is_ok()
            && let Ok(mut reader) = CaptureReader::new(std::io::BufReader::new(file))
        {
            looked += 1;
            let t = tally(&mut reader, &filter, analysis, ports);
            if !t.exact() {
                wrong.push(format!("in your capture it {}", t.problems().join("; ")));
            }
        }
    }
    if let Some(lab) = ev.lab {
        for c in &lab.report.captures {
            let Ok(mut reader) = wire::open(&c.file.path) else {
                continue;
            };
            looked += 1;
            let t = tally(&mut reader, &filter, &c.analysis, ports);
            if !t.exact() {
                wrong.push(format!(
                    "in the lab's capture on {}:{} it {}",
                    c.file.host,
                    c.file.iface,
                    t.problems().join("; ")
                ));
            }
        }
    }
    if looked == 0 {
        return Err(ev
            .capture
            .problem
            .clone()
            .unwrap_or_else(|| "no capture to try your filter on".into()));
    }
    match wrong.is_empty() {
        true => Ok(()),
        false => Err(format!("your filter {shown}: {}", wrong.join("; "))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_name_what_is_let_through_and_missed() {
        let mut t = Tally::default();
        t.wanted.insert(21, (0, 10));
        t.wanted.insert(27664, (9, 12));
        t.unwanted.insert("ARP".into(), 2);
        t.unwanted.insert("ICMP".into(), 1);
        assert!(!t.exact());
        assert_eq!(
            t.problems(),
            [
                "lets through 2 ARP frames and 1 ICMP frame",
                "misses the conversation to port 21 and 3 of the 12 frames of the conversation \
                 to port 27664"
            ]
        );
        let ok = Tally {
            wanted: [(21, (4, 4))].into(),
            unwanted: BTreeMap::new(),
        };
        assert!(ok.exact() && ok.problems().is_empty());
    }
}
