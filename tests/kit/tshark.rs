//! tshark's answers about a capture file, parsed, for comparing labctl's analysis with.

use std::path::Path;
use std::process::{Command, Stdio};

use super::require;

/// Runs tshark on a file and returns its standard output.
pub fn tshark(path: &Path, args: &[&str]) -> String {
    require("tshark", "tshark");
    let out = Command::new("tshark")
        .arg("-r")
        .arg(path)
        .args(args)
        .stderr(Stdio::piped())
        .output()
        .expect("run tshark");
    assert!(
        out.status.success(),
        "tshark {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("tshark output is utf-8")
}

/// Wireshark's way of printing a byte count in statistics tables (wsutil `format_size`,
/// SI units, truncating division).
pub fn wireshark_size(bytes: u64) -> String {
    let mut n = bytes;
    for unit in ["bytes", "kB", "MB", "GB"] {
        if n / 1000 < 10 {
            return format!("{n} {unit}");
        }
        n /= 1000;
    }
    format!("{n} TB")
}

/// One row of `tshark -q -z conv,tcp|udp`.
#[derive(Debug, Clone, PartialEq)]
pub struct TsharkConv {
    pub a: String,
    pub b: String,
    pub frames_b_to_a: u64,
    pub bytes_b_to_a: String,
    pub frames_a_to_b: u64,
    pub bytes_a_to_b: String,
    pub start: f64,
    pub duration: f64,
}

/// Parses the rows of a conversation table.
pub fn parse_conv(text: &str) -> Vec<TsharkConv> {
    let mut rows = Vec::new();
    for line in text.lines() {
        if !line.contains("<->") {
            continue;
        }
        let t: Vec<&str> = line.split_whitespace().collect();
        // A <-> B  frames size unit  frames size unit  frames size unit  start  duration
        assert_eq!(t.len(), 14, "unexpected conversation row: {line}");
        rows.push(TsharkConv {
            a: t[0].to_string(),
            b: t[2].to_string(),
            frames_b_to_a: t[3].parse().expect("frames"),
            bytes_b_to_a: format!("{} {}", t[4], t[5]),
            frames_a_to_b: t[6].parse().expect("frames"),
            bytes_a_to_b: format!("{} {}", t[7], t[8]),
            start: t[12].parse().expect("start"),
            duration: t[13].parse().expect("duration"),
        });
    }
    rows
}

/// One row of `tshark -q -z endpoints,ip`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TsharkEndpoint {
    pub address: String,
    pub packets: u64,
    pub bytes: u64,
    pub tx_packets: u64,
    pub tx_bytes: u64,
    pub rx_packets: u64,
    pub rx_bytes: u64,
}

/// Parses the rows of an endpoint table.
pub fn parse_endpoints(text: &str) -> Vec<TsharkEndpoint> {
    let mut rows = Vec::new();
    for line in text.lines() {
        let t: Vec<&str> = line.split_whitespace().collect();
        if t.len() != 7 || t[0].parse::<std::net::IpAddr>().is_err() {
            continue;
        }
        let n: Vec<u64> = t[1..].iter().map(|x| x.parse().expect("number")).collect();
        rows.push(TsharkEndpoint {
            address: t[0].to_string(),
            packets: n[0],
            bytes: n[1],
            tx_packets: n[2],
            tx_bytes: n[3],
            rx_packets: n[4],
            rx_bytes: n[5],
        });
    }
    rows
}

/// The chunks of `tshark -q -z follow,tcp,raw,N`: (from node 1?, bytes), consecutive chunks
/// of one direction merged (tshark splits them per segment, the stream is the same).
pub fn parse_follow_raw(text: &str) -> Vec<(bool, Vec<u8>)> {
    let mut out: Vec<(bool, Vec<u8>)> = Vec::new();
    let mut in_body = false;
    for line in text.lines() {
        if line.starts_with("Node 1:") {
            in_body = true;
            continue;
        }
        if !in_body || line.starts_with("====") {
            continue;
        }
        let node1 = line.starts_with('\t');
        let hex = line.trim();
        if hex.is_empty() {
            continue;
        }
        let bytes: Vec<u8> = (0..hex.len() / 2)
            .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("hex"))
            .collect();
        match out.last_mut() {
            Some((d, data)) if *d == node1 => data.extend(bytes),
            _ => out.push((node1, bytes)),
        }
    }
    out
}
