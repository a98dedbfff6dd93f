//! Conversation and endpoint tables, as text and as JSON rows.
//!
//! Contract: the numbers are Wireshark's: packets are frames, bytes are frame lengths on the
//! wire, `start` is seconds since the first frame of the capture and `duration` seconds from a
//! conversation's first to last frame; side A is the initiator. An endpoint sending to itself
//! (loopback) counts each frame once sent and once received, as tshark's `endpoints,ip` does.
//! Rows keep the analysis order (conversations first-seen, endpoints by first appearance)
//! unless a [`ConvView`] sorts them, busiest first, ties in that order. By `ip`, a row is an
//! address pair with every IP frame between them (Wireshark's IPv4 and IPv6 tabs); by `tcp` or
//! `udp`, the conversations of that protocol. A TCP row carries the handshake's round-trip
//! time as Wireshark's `tcp.analysis.initial_rtt` (SYN to the ACK of the SYN-ACK).

use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;

use super::{Analysis, HostTraits, Names, Proto, Traffic};

/// Which conversations a table lists (`--by`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ConvBy {
    /// Address pairs, every IP frame (Wireshark's IPv4 and IPv6 tabs).
    Ip,
    /// TCP conversations.
    Tcp,
    /// UDP conversations.
    Udp,
}

/// The order of a table (`--sort`): the busiest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ConvSort {
    /// Most frame bytes (both ways) first.
    Bytes,
    /// Most frames (both ways) first.
    Packets,
}

/// How the conversation table is cut and ordered; the default is every conversation in
/// first-seen order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ConvView {
    pub by: Option<ConvBy>,
    pub sort: Option<ConvSort>,
}

/// One row of the conversation table (the `--conversations --json` shape).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ConversationRow {
    /// "tcp", "udp" or "icmp".
    pub proto: String,
    /// Side A, "address:port" (the initiator).
    pub a: String,
    /// Side B, "address:port".
    pub b: String,
    /// Frames from A to B.
    pub packets_a_to_b: u64,
    /// Frame bytes from A to B.
    pub bytes_a_to_b: u64,
    /// Frames from B to A.
    pub packets_b_to_a: u64,
    /// Frame bytes from B to A.
    pub bytes_b_to_a: u64,
    /// Seconds from the capture's first frame to the conversation's first.
    pub start: f64,
    /// Seconds from the conversation's first frame to its last.
    pub duration: f64,
    /// TCP: seconds from the first frame to the ACK that completed the handshake.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rtt: Option<f64>,
}

/// One row of the endpoint table (the `--endpoints --json` shape).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EndpointRow {
    /// The IP address.
    pub address: String,
    /// Frames sent and received.
    pub packets: u64,
    /// Frame bytes sent and received.
    pub bytes: u64,
    /// Frames and frame bytes each way.
    #[serde(flatten)]
    pub traffic: Traffic,
    /// Distance, initial TTL, operating system family, DSCP and ECN marks, IP ID pattern.
    #[serde(flatten)]
    pub traits: HostTraits,
}

/// The conversation rows, raw addresses.
pub fn conversation_rows(a: &Analysis) -> Vec<ConversationRow> {
    conversation_rows_in(a, ConvView::default(), &Names::new())
        .into_iter()
        .map(|(row, _, _)| row)
        .collect()
}

/// The rows `view` asks for, each with its two sides named by `names`.
pub fn conversation_rows_in(
    a: &Analysis,
    view: ConvView,
    names: &Names,
) -> Vec<(ConversationRow, String, String)> {
    let origin = a.first_ts.unwrap_or_default();
    // One row from what pairs and conversations both have: (first, last) times, counts per
    // direction.
    let row = |proto: String, ends: [String; 2], times: [Duration; 2], packets, bytes, rtt| {
        let [a, b] = ends;
        let [first, last]: [Duration; 2] = times;
        let [packets_a_to_b, packets_b_to_a]: [u64; 2] = packets;
        let [bytes_a_to_b, bytes_b_to_a]: [u64; 2] = bytes;
        ConversationRow {
            proto,
            a,
            b,
            packets_a_to_b,
            bytes_a_to_b,
            packets_b_to_a,
            bytes_b_to_a,
            start: first.saturating_sub(origin).as_secs_f64(),
            duration: last.saturating_sub(first).as_secs_f64(),
            rtt,
        }
    };
    let mut rows: Vec<(ConversationRow, String, String)> = match view.by {
        Some(ConvBy::Ip) => a
            .ip_pairs
            .iter()
            .map(|p| {
                let proto = if p.a.is_ipv4() { "ip" } else { "ipv6" };
                let ends = [p.a.to_string(), p.b.to_string()];
                let r = row(
                    proto.into(),
                    ends,
                    [p.start, p.end],
                    p.packets,
                    p.bytes,
                    None,
                );
                (r, names.host(&p.a), names.host(&p.b))
            })
            .collect(),
        by => a
            .conversations
            .iter()
            .filter(|c| match by {
                Some(ConvBy::Tcp) => c.proto == Proto::Tcp,
                Some(ConvBy::Udp) => c.proto == Proto::Udp,
                _ => true,
            })
            .map(|c| {
                let rtt = c.tcp.as_ref().and_then(|t| t.rtt).map(|d| d.as_secs_f64());
                let ends = [c.initiator.to_string(), c.responder.to_string()];
                let times = [c.start, c.start + c.duration()];
                let r = row(c.proto.to_string(), ends, times, c.packets, c.bytes, rtt);
                let named = |e: &super::Addr| names.host_port(&e.ip, &e.port.to_string());
                (r, named(&c.initiator), named(&c.responder))
            })
            .collect(),
    };
    // A stable sort: ties keep their first-seen order.
    match view.sort {
        Some(ConvSort::Bytes) => {
            rows.sort_by_key(|(r, _, _)| std::cmp::Reverse(r.bytes_a_to_b + r.bytes_b_to_a))
        }
        Some(ConvSort::Packets) => {
            rows.sort_by_key(|(r, _, _)| std::cmp::Reverse(r.packets_a_to_b + r.packets_b_to_a))
        }
        None => {}
    }
    rows
}

/// The endpoint rows.
pub fn endpoint_rows(a: &Analysis) -> Vec<EndpointRow> {
    a.endpoints
        .iter()
        .map(|e| EndpointRow {
            address: e.addr.to_string(),
            packets: e.traffic.packets(),
            bytes: e.traffic.bytes(),
            traffic: e.traffic,
            traits: e.traits.clone(),
        })
        .collect()
}

/// The conversation table as text, hosts named.
pub fn conversations_text(a: &Analysis, names: &Names) -> String {
    conversations_text_in(a, ConvView::default(), names)
}

/// The table `view` asks for as text, hosts named; a TCP conversation's handshake round-trip
/// time in the last column.
pub fn conversations_text_in(a: &Analysis, view: ConvView, names: &Names) -> String {
    let mut rows = vec![
        [
            "proto",
            "A",
            "B",
            "A>B pkts",
            "A>B bytes",
            "B>A pkts",
            "B>A bytes",
            "start",
            "duration",
            "rtt",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for (r, a, b) in conversation_rows_in(a, view, names) {
        rows.push(vec![
            r.proto,
            a,
            b,
            r.packets_a_to_b.to_string(),
            r.bytes_a_to_b.to_string(),
            r.packets_b_to_a.to_string(),
            r.bytes_b_to_a.to_string(),
            format!("{:.6}", r.start),
            format!("{:.6}", r.duration),
            r.rtt.map_or_else(|| "-".into(), |s| format!("{s:.6}")),
        ]);
    }
    columns(&rows)
}

/// The endpoint table as text, hosts named.
pub fn endpoints_text(a: &Analysis, names: &Names) -> String {
    let mut rows = vec![
        [
            "address",
            "packets",
            "bytes",
            "tx pkts",
            "tx bytes",
            "rx pkts",
            "rx bytes",
            "hops",
            "initial ttl",
            "os",
            "dscp",
            "ecn",
            "ip id",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for e in &a.endpoints {
        let (t, h) = (&e.traffic, &e.traits);
        let named = names.host(&e.addr);
        let addr = if named == e.addr.to_string() {
            named
        } else {
            format!("{named} ({})", e.addr)
        };
        rows.push(vec![
            addr,
            t.packets().to_string(),
            t.bytes().to_string(),
            t.tx_packets.to_string(),
            t.tx_bytes.to_string(),
            t.rx_packets.to_string(),
            t.rx_bytes.to_string(),
            h.hops.map_or_else(|| "-".into(), |h| h.to_string()),
            h.initial_ttl.map_or_else(|| "-".into(), |t| t.to_string()),
            h.os.clone().unwrap_or_else(|| "-".into()),
            or_dash(h.dscp.join(",")),
            or_dash(h.ecn.join(",")),
            h.ip_id.clone().unwrap_or_else(|| "-".into()),
        ]);
    }
    let mut text = columns(&rows);
    text.push_str(&capture_side(a, names));
    text
}

/// Which side the capture was taken on, read from the TTLs: the endpoints whose packets arrive
/// with their initial TTL are next to the capture point; the others are that many routers away.
fn capture_side(a: &Analysis, names: &Names) -> String {
    let near = a.capture_near();
    let far: Vec<String> = a
        .endpoints
        .iter()
        .filter_map(|e| match e.traits.hops {
            Some(h) if h > 0 => Some(format!("{} {h} hops away", names.host(&e.addr))),
            _ => None,
        })
        .collect();
    if near.is_empty() || far.is_empty() {
        return String::new();
    }
    let near: Vec<String> = near.iter().map(|addr| names.host(addr)).collect();
    format!(
        "capture taken next to {}; {}\n",
        near.join(", "),
        far.join(", ")
    )
}

fn or_dash(s: String) -> String {
    if s.is_empty() { "-".into() } else { s }
}

/// Left-aligned columns separated by two spaces, no trailing spaces.
fn columns(rows: &[Vec<String>]) -> String {
    let n = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..n)
        .map(|i| {
            rows.iter()
                .map(|r| r.get(i).map_or(0, String::len))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for r in rows {
        let mut line = String::new();
        for (i, cell) in r.iter().enumerate() {
            if i + 1 == r.len() {
                line.push_str(cell);
            } else {
                let _ = write!(line, "{cell:<w$}  ", w = widths[i]);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
