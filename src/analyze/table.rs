//! Conversation and endpoint tables, as text and as JSON rows.
//!
//! Contract: the numbers are Wireshark's: packets are frames, bytes are frame lengths on the
//! wire, `start` is seconds since the first frame of the capture and `duration` seconds from a
//! conversation's first to last frame; side A is the initiator. An endpoint sending to itself
//! (loopback) counts each frame once sent and once received, as tshark's `endpoints,ip` does.
//! Rows keep the analysis order: conversations first-seen, endpoints by first appearance.

use std::fmt::Write as _;

use serde::Serialize;

use super::{Analysis, Names};

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
    /// Frames sent.
    pub tx_packets: u64,
    /// Frame bytes sent.
    pub tx_bytes: u64,
    /// Frames received.
    pub rx_packets: u64,
    /// Frame bytes received.
    pub rx_bytes: u64,
    /// Hops from the capture point, from the TTL.
    pub hops: Option<u8>,
}

/// The conversation rows, raw addresses.
pub fn conversation_rows(a: &Analysis) -> Vec<ConversationRow> {
    let origin = a.first_ts.unwrap_or_default();
    a.conversations
        .iter()
        .map(|c| ConversationRow {
            proto: c.proto.to_string(),
            a: c.initiator.to_string(),
            b: c.responder.to_string(),
            packets_a_to_b: c.packets[0],
            bytes_a_to_b: c.bytes[0],
            packets_b_to_a: c.packets[1],
            bytes_b_to_a: c.bytes[1],
            start: c.start.saturating_sub(origin).as_secs_f64(),
            duration: c.duration().as_secs_f64(),
        })
        .collect()
}

/// The endpoint rows.
pub fn endpoint_rows(a: &Analysis) -> Vec<EndpointRow> {
    a.endpoints
        .iter()
        .map(|e| EndpointRow {
            address: e.addr.to_string(),
            packets: e.tx_packets + e.rx_packets,
            bytes: e.tx_bytes + e.rx_bytes,
            tx_packets: e.tx_packets,
            tx_bytes: e.tx_bytes,
            rx_packets: e.rx_packets,
            rx_bytes: e.rx_bytes,
            hops: e.hops,
        })
        .collect()
}

/// The conversation table as text, hosts named.
pub fn conversations_text(a: &Analysis, names: &Names) -> String {
    let origin = a.first_ts.unwrap_or_default();
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
        ]
        .map(String::from)
        .to_vec(),
    ];
    for c in &a.conversations {
        rows.push(vec![
            c.proto.to_string(),
            names.host_port(&c.initiator.ip, &c.initiator.port.to_string()),
            names.host_port(&c.responder.ip, &c.responder.port.to_string()),
            c.packets[0].to_string(),
            c.bytes[0].to_string(),
            c.packets[1].to_string(),
            c.bytes[1].to_string(),
            format!("{:.6}", c.start.saturating_sub(origin).as_secs_f64()),
            format!("{:.6}", c.duration().as_secs_f64()),
        ]);
    }
    columns(&rows)
}

/// The endpoint table as text, hosts named.
pub fn endpoints_text(a: &Analysis, names: &Names) -> String {
    let mut rows = vec![
        [
            "address", "packets", "bytes", "tx pkts", "tx bytes", "rx pkts", "rx bytes", "hops",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for e in &a.endpoints {
        let named = names.host(&e.addr);
        let addr = if named == e.addr.to_string() {
            named
        } else {
            format!("{named} ({})", e.addr)
        };
        rows.push(vec![
            addr,
            (e.tx_packets + e.rx_packets).to_string(),
            (e.tx_bytes + e.rx_bytes).to_string(),
            e.tx_packets.to_string(),
            e.tx_bytes.to_string(),
            e.rx_packets.to_string(),
            e.rx_bytes.to_string(),
            e.hops.map_or_else(|| "-".into(), |h| h.to_string()),
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
        .filter_map(|e| match e.hops {
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
