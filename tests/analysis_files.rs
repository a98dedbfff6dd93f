//! Files written by the tests themselves (pcap in both byte orders and resolutions, pcapng,
//! IP fragments): labctl reads them as tshark does, and the flow snapshot of the same traffic
//! is identical whatever the file format.

mod kit;

use std::path::Path;

use kit::frames::{CLIENT, SERVER, Wire};
use kit::{scratch, tshark::*};
use labctl::analyze::{self, Names, table};
use labctl::wire;

fn names() -> Names {
    Wire::names()
}

fn lab() -> Wire {
    let mut s = Wire::nanosecond_clock();
    s.session(40000, 27664, b"hello on 27664\r\n", b"");
    s.udp(CLIENT, SERVER, 5353, 9999, b"small");
    let big: Vec<u8> = (0..3000u32).map(|i| b'a' + (i % 26) as u8).collect();
    s.udp_fragmented(CLIENT, SERVER, 5353, 9999, &big, 1500, 0x4242);
    s.udp(SERVER, CLIENT, 9999, 5353, b"ack");
    s
}

#[test]
fn every_format_reads_the_same_frames_as_tshark() {
    let dir = scratch("formats");
    let s = lab();
    let files = [
        ("le-us.pcap", false, false),
        ("be-us.pcap", true, false),
        ("le-ns.pcap", false, true),
        ("be-ns.pcap", true, true),
    ];
    let mut flows = Vec::new();
    for (name, big, nanos) in files {
        let path = dir.join(name);
        s.write_pcap(&path, big, nanos);
        flows.push(check_file(&path, &s));
    }
    let ng = dir.join("lab.pcapng");
    s.write_pcapng(&ng);
    flows.push(check_file(&ng, &s));
    for f in &flows[1..] {
        assert_eq!(
            f, &flows[0],
            "the flow snapshot must not depend on the file format"
        );
    }
}

fn check_file(path: &Path, s: &Wire) -> String {
    let cap = wire::read_file(path).expect("read");
    assert_eq!(cap.frames.len(), s.frames.len(), "{}", path.display());
    let times = tshark(path, &["-T", "fields", "-e", "frame.time_epoch"]);
    for (f, t) in cap.frames.iter().zip(times.lines()) {
        let theirs: f64 = t.parse().expect("epoch");
        assert!(
            (f.ts.as_secs_f64() - theirs).abs() < 1e-6,
            "{}: {} vs {theirs}",
            path.display(),
            f.ts.as_secs_f64()
        );
    }
    let a = analyze::analyze_file(path).expect("analyze");
    let theirs = parse_conv(&tshark(path, &["-q", "-z", "conv,udp"]));
    let ours: Vec<_> = table::conversation_rows(&a)
        .into_iter()
        .filter(|r| r.proto == "udp")
        .collect();
    assert_eq!(ours.len(), theirs.len());
    for (o, t) in ours.iter().zip(&theirs) {
        assert_eq!((&o.a, &o.b), (&t.a, &t.b));
        assert_eq!(
            (o.packets_a_to_b, o.packets_b_to_a),
            (t.frames_a_to_b, t.frames_b_to_a),
            "fragments count once, in the frame that completes the datagram"
        );
        assert_eq!(wireshark_size(o.bytes_a_to_b), t.bytes_a_to_b);
    }
    let ep = parse_endpoints(&tshark(path, &["-q", "-z", "endpoints,ip"]));
    let ours = table::endpoint_rows(&a);
    for t in &ep {
        let o = ours
            .iter()
            .find(|o| o.address == t.address)
            .expect("endpoint");
        assert_eq!((o.packets, o.bytes), (t.packets, t.bytes), "{}", t.address);
    }
    analyze::render_flows(&a, &names())
}

#[test]
fn fragmented_datagram_is_reassembled() {
    let a = lab().analyze();
    let c = a
        .conversations
        .iter()
        .find(|c| c.responder.port == 9999)
        .expect("udp conversation");
    assert_eq!(c.packets, [2, 1]);
    assert_eq!(c.fragments, [3, 0]);
    assert_eq!(c.payload_bytes[0], 3005);
    assert_eq!(&c.transcript[0].bytes[..8], b"smallabc");
    let flows = analyze::render_flows(&a, &names());
    assert!(
        flows.contains("client > server  2 datagrams  3005 bytes  in 3 fragments"),
        "{flows}"
    );
}
