//! tshark's answers about a capture file, parsed, for comparing labctl's analysis with.

use std::path::Path;
use std::process::Command;

use super::require;

/// Runs tshark on a file and returns its standard output.
pub fn tshark(path: &Path, args: &[&str]) -> String {
    super::stdout_of(
        Command::new(require("tshark", "tshark"))
            .arg("-r")
            .arg(path)
            .args(args),
    )
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
    let row = |line: &str| {
        let t: Vec<&str> = line.split_whitespace().collect();
        // A <-> B  frames size unit  frames size unit  frames size unit  start  duration
        assert_eq!(t.len(), 14, "unexpected conversation row: {line}");
        TsharkConv {
            a: t[0].to_string(),
            b: t[2].to_string(),
            frames_b_to_a: t[3].parse().expect("frames"),
            bytes_b_to_a: format!("{} {}", t[4], t[5]),
            frames_a_to_b: t[6].parse().expect("frames"),
            bytes_a_to_b: format!("{} {}", t[7], t[8]),
            start: t[12].parse().expect("start"),
            duration: t[13].parse().expect("duration"),
        }
    };
    text.lines()
        .filter(|l| l.contains("<->"))
        .map(row)
        .collect()
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
    let row = |line: &str| {
        let t: Vec<&str> = line.split_whitespace().collect();
        if t.len() != 7 || t[0].parse::<std::net::IpAddr>().is_err() {
            return None;
        }
        let n: Vec<u64> = t[1..].iter().map(|x| x.parse().expect("number")).collect();
        let [packets, bytes, tx_packets, tx_bytes, rx_packets, rx_bytes] = n[..] else {
            unreachable!("seven columns");
        };
        let address = t[0].to_string();
        Some(TsharkEndpoint {
            address,
            packets,
            bytes,
            tx_packets,
            tx_bytes,
            rx_packets,
            rx_bytes,
        })
    };
    text.lines().filter_map(row).collect()
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

/// labctl's conversation rows of one protocol (`show --conversations --json`, or
/// `table::conversation_rows` as JSON) must match tshark's `-z conv,tcp|udp`, row for row:
/// frames and bytes each way, start and duration.
pub fn assert_conversations(path: &Path, proto: &str, ours: &serde_json::Value) {
    let kind = format!("conv,{proto}");
    let theirs = parse_conv(&tshark(path, &["-q", "-z", &kind]));
    let ours: Vec<&serde_json::Value> = ours
        .as_array()
        .expect("conversation rows")
        .iter()
        .filter(|r| r["proto"] == proto)
        .collect();
    assert_eq!(
        ours.len(),
        theirs.len(),
        "{kind} of {}: number of conversations: {ours:#?} vs {theirs:#?}",
        path.display()
    );
    let n = |v: &serde_json::Value| v.as_u64().expect("a count");
    let f = |v: &serde_json::Value| v.as_f64().expect("seconds");
    for t in &theirs {
        let o = ours
            .iter()
            .find(|o| o["a"] == t.a.as_str() && o["b"] == t.b.as_str())
            .unwrap_or_else(|| {
                panic!(
                    "{kind}: tshark has {} <-> {}, labctl not: {ours:#?}",
                    t.a, t.b
                )
            });
        let what = format!("{kind} {} <-> {} in {}", t.a, t.b, path.display());
        assert_eq!(
            n(&o["packets_a_to_b"]),
            t.frames_a_to_b,
            "{what}: frames A->B"
        );
        assert_eq!(
            n(&o["packets_b_to_a"]),
            t.frames_b_to_a,
            "{what}: frames B->A"
        );
        assert_eq!(
            wireshark_size(n(&o["bytes_a_to_b"])),
            t.bytes_a_to_b,
            "{what}: bytes A->B"
        );
        assert_eq!(
            wireshark_size(n(&o["bytes_b_to_a"])),
            t.bytes_b_to_a,
            "{what}: bytes B->A"
        );
        assert!(
            (f(&o["start"]) - t.start).abs() < 2e-6,
            "{what}: start {} vs {}",
            o["start"],
            t.start
        );
        assert!(
            (f(&o["duration"]) - t.duration).abs() < 1e-4,
            "{what}: duration {} vs {}",
            o["duration"],
            t.duration
        );
    }
}

/// labctl's endpoint rows (`show --endpoints --json`) must match tshark's `-z endpoints,ip`
/// and `-z endpoints,ipv6` (tshark has a table per IP version, labctl one for both).
pub fn assert_endpoint_rows(path: &Path, ours: &serde_json::Value) {
    let mut theirs = parse_endpoints(&tshark(path, &["-q", "-z", "endpoints,ip"]));
    theirs.extend(parse_endpoints(&tshark(
        path,
        &["-q", "-z", "endpoints,ipv6"],
    )));
    let ours = ours.as_array().expect("endpoint rows");
    assert_eq!(
        ours.len(),
        theirs.len(),
        "endpoints of {}: {ours:#?} vs {theirs:#?}",
        path.display()
    );
    for t in &theirs {
        let o = ours
            .iter()
            .find(|o| o["address"] == t.address.as_str())
            .unwrap_or_else(|| panic!("endpoint {} missing from {ours:#?}", t.address));
        let got: Vec<u64> = [
            "packets",
            "bytes",
            "tx_packets",
            "tx_bytes",
            "rx_packets",
            "rx_bytes",
        ]
        .iter()
        .map(|k| o[*k].as_u64().expect("a count"))
        .collect();
        assert_eq!(
            got,
            [
                t.packets,
                t.bytes,
                t.tx_packets,
                t.tx_bytes,
                t.rx_packets,
                t.rx_bytes
            ],
            "endpoint {} in {} (packets, bytes, tx, tx bytes, rx, rx bytes)",
            t.address,
            path.display()
        );
    }
}
