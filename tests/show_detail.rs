//! `labctl show --detail N` and `-x` against tshark on the captures in tests/data: every field
//! labctl shows for every frame is a field of `tshark -T pdml` with the same name, byte
//! offset, length and value; every layer's header sits where tshark's protocol does; and the
//! hex dump of every frame is the lines `tshark -x` prints. A frame number out of range exits
//! 2 with a clear message.

mod kit;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use kit::tshark::tshark;
use kit::{labctl, labctl_json};

const CAPTURES: &[&str] = &[
    "homework-redirect.pcap",
    "dns-query.pcap",
    "ip-fragmentation-client.pcap",
    "ip-fragmentation-server.pcap",
];

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// One `<proto>` or `<field>` element of PDML: its attributes.
type Element = BTreeMap<String, String>;

/// tshark's PDML of a capture: per frame, the protos and the fields (hidden ones included).
fn pdml(path: &Path) -> Vec<(Vec<Element>, Vec<Element>)> {
    let attr = regex::Regex::new(r#"(\w+)="([^"]*)""#).unwrap();
    let mut frames = Vec::new();
    for line in tshark(path, &["-T", "pdml"]).lines() {
        let line = line.trim_start();
        let element = || -> Element {
            attr.captures_iter(line)
                .map(|c| (c[1].to_string(), c[2].to_string()))
                .collect()
        };
        if line.starts_with("<packet>") {
            frames.push((Vec::new(), Vec::new()));
        } else if line.starts_with("<proto ") {
            frames.last_mut().expect("a packet").0.push(element());
        } else if line.starts_with("<field ") {
            frames.last_mut().expect("a packet").1.push(element());
        }
    }
    frames
}

fn detail(path: &Path, n: usize) -> serde_json::Value {
    let (out, json) =
        labctl_json(
            labctl()
                .arg("show")
                .arg(path)
                .args(["--detail", &n.to_string(), "--json"]),
        );
    assert!(out.status.success(), "{path:?} frame {n}");
    json
}

/// Compares every layer and field labctl shows for every frame of `path` with tshark's PDML,
/// counting the fields compared by name.
fn compare_with_tshark(path: &Path, compared: &mut BTreeMap<String, usize>) -> usize {
    let name = path.display();
    let frames = pdml(path);
    for (i, (protos, fields)) in frames.iter().enumerate() {
        let n = i + 1;
        let ours = detail(path, n);
        assert_eq!(ours["frame"], n as u64);
        for layer in ours["layers"].as_array().unwrap() {
            let proto = layer["proto"].as_str().unwrap();
            let (offset, length) = (layer["offset"].to_string(), layer["length"].to_string());
            // ICMP's protocol in PDML spans the quoted datagram too; the others are headers.
            if !proto.starts_with("icmp") {
                assert!(
                    protos
                        .iter()
                        .any(|p| p["name"] == proto && p["pos"] == offset && p["size"] == length),
                    "{name} frame {n}: tshark has no {proto} at {offset}+{length}: {protos:?}"
                );
            }
            for f in layer["fields"].as_array().unwrap() {
                let field = f["name"].as_str().unwrap();
                let (pos, size) = (f["offset"].to_string(), f["length"].to_string());
                let value = f["value"].as_str().unwrap();
                let theirs: Vec<&Element> = fields
                    .iter()
                    .filter(|e| e["name"] == field && e["pos"] == pos && e["size"] == size)
                    .collect();
                assert!(
                    !theirs.is_empty(),
                    "{name} frame {n}: tshark has no {field} at {pos}+{size}"
                );
                assert!(
                    theirs.iter().any(|e| e["show"] == value),
                    "{name} frame {n}: {field} is {value:?} here, {:?} in tshark",
                    theirs.iter().map(|e| &e["show"]).collect::<Vec<_>>()
                );
                *compared.entry(field.to_string()).or_insert(0) += 1;
            }
        }
    }
    frames.len()
}

#[test]
fn every_field_of_every_frame_is_tsharks() {
    let mut compared = BTreeMap::new();
    for name in CAPTURES {
        let frames = compare_with_tshark(&data(name), &mut compared);
        assert!(frames >= 5, "{name}: {frames} frames");
    }
    // Every kind of header the captures hold was compared, field by field.
    for field in [
        "eth.dst",
        "arp.opcode",
        "arp.src.proto_ipv4",
        "ip.flags",
        "ip.frag_offset",
        "ip.ttl",
        "ip.checksum",
        "tcp.seq_raw",
        "tcp.flags",
        "tcp.options",
        "tcp.payload",
        "udp.length",
        "udp.payload",
        "icmp.type",
        "icmp.code",
    ] {
        assert!(
            compared.contains_key(field),
            "{field} never compared: {compared:?}"
        );
    }
}

/// IPv6 (traffic class and flow label set), ICMPv6 and ICMP echoes, which the lab captures
/// lack, built with etherparse and compared the same way, dumps included.
#[test]
fn ipv6_and_echo_fields_are_tsharks() {
    use etherparse::PacketBuilder;
    let (a, b) = ([0x02, 0, 0, 0, 0, 1], [0x02, 0, 0, 0, 0, 2]);
    let (a6, b6) = (
        "2001:db8::1"
            .parse::<std::net::Ipv6Addr>()
            .unwrap()
            .octets(),
        "2001:db8::2"
            .parse::<std::net::Ipv6Addr>()
            .unwrap()
            .octets(),
    );
    let mut frames = Vec::new();
    let mut udp6 = Vec::new();
    PacketBuilder::ethernet2(a, b)
        .ipv6(a6, b6, 64)
        .udp(5353, 53)
        .write(&mut udp6, b"query")
        .unwrap();
    // Traffic class 0xb8 (EF) and flow label 0x12345: not in the UDP checksum.
    udp6[14] = 0x6b;
    udp6[15] = 0x81;
    udp6[16] = 0x23;
    udp6[17] = 0x45;
    frames.push(udp6);
    let mut echo6 = Vec::new();
    PacketBuilder::ethernet2(a, b)
        .ipv6(a6, b6, 255)
        .icmpv6_echo_request(0x1234, 7)
        .write(&mut echo6, b"ping")
        .unwrap();
    frames.push(echo6);
    let mut tcp6 = Vec::new();
    PacketBuilder::ethernet2(a, b)
        .ipv6(a6, b6, 64)
        .tcp(40000, 80, 1000, 64240)
        .syn()
        .write(&mut tcp6, &[])
        .unwrap();
    frames.push(tcp6);
    let mut echo4 = Vec::new();
    PacketBuilder::ethernet2(a, b)
        .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
        .icmpv4_echo_request(0x4321, 3)
        .write(&mut echo4, b"ping")
        .unwrap();
    frames.push(echo4);
    let dir = kit::scratch("show-detail-v6");
    let path = dir.join("v6.pcap");
    let mut wire = kit::frames::Wire::new();
    for f in frames {
        wire.push(f);
    }
    wire.write_pcap(&path, false, false);
    let mut compared = BTreeMap::new();
    assert_eq!(compare_with_tshark(&path, &mut compared), 4);
    compare_dumps(&path);
    for field in [
        "ipv6.tclass",
        "ipv6.flow",
        "ipv6.plen",
        "ipv6.nxt",
        "ipv6.hlim",
        "ipv6.src",
        "icmpv6.type",
        "icmpv6.echo.identifier",
        "icmpv6.echo.sequence_number",
        "icmp.ident",
        "icmp.seq",
        "tcp.flags",
    ] {
        assert!(
            compared.contains_key(field),
            "{field} never compared: {compared:?}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Each frame's hex lines in `tshark -x` output. A frame that completes a fragmented datagram
/// has two dumps, `Frame (N bytes):` and then `Reassembled IPv4 (N bytes):`: the first is the
/// frame's.
fn tshark_dumps(path: &Path) -> Vec<Vec<String>> {
    tshark(path, &["-x"])
        .split("\n\n")
        .filter(|b| !b.trim().is_empty())
        .map(|b| {
            b.lines()
                .filter(|l| !l.starts_with("Frame ("))
                .take_while(|l| !l.starts_with("Reassembled"))
                .map(str::to_string)
                .collect()
        })
        .collect()
}

/// `labctl show -x` gives each frame's packet line, then `tshark -x`'s lines for it, then a
/// blank line.
fn compare_dumps(path: &Path) {
    let theirs = tshark_dumps(path);
    let out = labctl().arg("show").arg(path).arg("-x").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let ours: Vec<Vec<String>> = text
        .split("\n\n")
        .filter(|b| !b.trim().is_empty())
        .map(|b| b.lines().skip(1).map(str::to_string).collect())
        .collect();
    assert_eq!(ours.len(), theirs.len(), "{path:?}");
    for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
        assert_eq!(a, b, "{path:?} frame {}", i + 1);
    }
}

#[test]
fn the_hex_dump_is_tshark_x_line_for_line() {
    for name in CAPTURES {
        let path = data(name);
        compare_dumps(&path);
        // The same lines after the fields of --detail.
        let out = kit::show(&path, &["--detail", "3", "-x"]);
        let text = String::from_utf8(out.stdout).unwrap();
        let dump: Vec<String> = text
            .split("\n\n")
            .nth(1)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect();
        assert_eq!(dump, tshark_dumps(&path)[2], "{name} --detail 3 -x");
    }
}

#[test]
fn a_frame_out_of_range_exits_2_saying_how_many_there_are() {
    let path = data("homework-redirect.pcap");
    let frames = tshark(&path, &[]).lines().count();
    for n in [0, frames + 1] {
        let out = kit::show(&path, &["--detail", &n.to_string()]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(out.stdout.is_empty());
        assert!(
            stderr.contains(&format!(
                "no frame {n}: the capture has {frames} frames (numbered from 1)"
            )),
            "{stderr}"
        );
    }
    // The text view names each layer and each field with its bytes.
    let out = kit::show(&path, &["--detail", "3"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("Frame 3: 74 bytes on wire, 74 bytes captured\n"),
        "{text}"
    );
    assert!(
        text.contains("Internet Protocol Version 4, bytes 14-33\n"),
        "{text}"
    );
    assert!(
        text.contains("    ip.src                 26-29    Source Address: 10.0.0.1\n"),
        "{text}"
    );
}
