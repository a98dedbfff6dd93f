//! Crafted frames for the patterns no Debian program makes on its own (a bogus IP version,
//! ARP poisoning with its flip-flop back, an unsolicited reply, the ptunnel magic), the traps
//! that must stay silent or `info`, and thresholds changed as a scenario would.

use std::time::Duration;

use etherparse::PacketBuilder;

use super::*;
use crate::analyze::Analyzer;
use crate::wire::{self, Frame, LinkType};

const ATTACKER: [u8; 6] = [2, 0, 0, 0, 0, 0x66];
const CLIENT: [u8; 6] = [2, 0, 0, 0, 0, 1];
const SERVER: [u8; 6] = [2, 0, 0, 0, 0, 2];

#[derive(Default)]
struct Frames {
    frames: Vec<Frame>,
    now: Duration,
}

impl Frames {
    fn push(&mut self, gap_ms: u64, data: Vec<u8>) {
        self.now += Duration::from_millis(gap_ms);
        self.frames.push(Frame {
            number: self.frames.len() as u64 + 1,
            ts: Duration::from_secs(1_700_000_000) + self.now,
            orig_len: data.len() as u32,
            linktype: LinkType::Ethernet,
            data,
        });
    }

    fn arp(&mut self, gap_ms: u64, op: u16, sha: [u8; 6], spa: [u8; 4], tpa: [u8; 4], to: [u8; 6]) {
        let mut f = Vec::new();
        f.extend_from_slice(&to);
        f.extend_from_slice(&sha);
        f.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0, 6, 4]);
        f.extend_from_slice(&op.to_be_bytes());
        f.extend_from_slice(&sha);
        f.extend_from_slice(&spa);
        f.extend_from_slice(if op == 1 { &[0; 6] } else { &to });
        f.extend_from_slice(&tpa);
        self.push(gap_ms, f);
    }

    fn echo(&mut self, gap_ms: u64, request: bool, seq: u16, payload: &[u8]) {
        let (src, dst, smac, dmac) = if request {
            ([10, 0, 0, 1], [10, 0, 0, 2], CLIENT, SERVER)
        } else {
            ([10, 0, 0, 2], [10, 0, 0, 1], SERVER, CLIENT)
        };
        let b = PacketBuilder::ethernet2(smac, dmac).ipv4(src, dst, 64);
        let b = if request {
            b.icmpv4_echo_request(7, seq)
        } else {
            b.icmpv4_echo_reply(7, seq)
        };
        let mut v = Vec::new();
        b.write(&mut v, payload).unwrap();
        self.push(gap_ms, v);
    }

    fn alerts(&self, cfg: Thresholds) -> Vec<Alert> {
        let mut analyzer = Analyzer::new();
        let mut detector = Detector::new(cfg);
        for f in &self.frames {
            let frame = f.as_ref();
            let pkt = wire::dissect(frame.linktype, frame.data);
            analyzer.push_dissected(&frame, &pkt);
            detector.push(&frame, &pkt);
        }
        detector.finish(&analyzer.finish())
    }
}

fn ids(alerts: &[Alert]) -> Vec<(&'static str, Severity)> {
    alerts.iter().map(|a| (a.id, a.severity)).collect()
}

#[test]
fn every_threshold_of_the_registry_is_read_and_changeable() {
    let mut cfg = Thresholds::new();
    for spec in REGISTRY {
        for t in spec.thresholds {
            assert_eq!(cfg.get(spec.id, t.key), t.default);
            cfg.set(&format!("{}.{}", spec.id, t.key), t.default * 2.0)
                .unwrap();
            assert_eq!(cfg.get(spec.id, t.key), t.default * 2.0);
        }
    }
    // Every detector reads its thresholds when it starts.
    drop(Detector::new(cfg.clone()).finish(&Analysis::default()));
    let refused = [
        ("arp-scan", 1.0, "ID.KEY"),
        ("arp-scna.targets", 1.0, "no alert `arp-scna`"),
        ("arp-scan.target", 1.0, "it has targets"),
        ("arp-scan.targets", 0.0, "positive"),
        ("tcp-odd-flags.x", 1.0, "no threshold"),
    ];
    for (key, value, says) in refused {
        let e = cfg.set(key, value).unwrap_err();
        assert!(e.contains(says), "{key} = {value}: {e}");
    }
}

#[test]
fn arp_scan_threshold_is_the_scenarios_to_change() {
    let mut w = Frames::default();
    for i in 1..=15u8 {
        w.arp(3, 1, ATTACKER, [10, 0, 0, 66], [10, 0, 0, i], [0xff; 6]);
    }
    let found = w.alerts(Thresholds::new());
    assert_eq!(ids(&found), [("arp-scan", Severity::Medium)]);
    assert_eq!(
        found[0].evidence,
        "ARP scan: 10.0.0.66 asked for 15 addresses in 0.042 s, 10.0.0.1 to .15, consecutive \
         (up to 15 within the window)"
    );
    assert_eq!(found[0].frames, (1..=10).collect::<Vec<u64>>());
    let mut cfg = Thresholds::new();
    cfg.set("arp-scan.targets", 20.0).unwrap();
    assert!(w.alerts(cfg).is_empty());
}

#[test]
fn arp_poisoning_changes_the_binding_and_flips_back() {
    let mut w = Frames::default();
    // The client learns the server's address the ordinary way.
    w.arp(10, 1, CLIENT, [10, 0, 0, 1], [10, 0, 0, 2], [0xff; 6]);
    w.arp(1, 2, SERVER, [10, 0, 0, 2], [10, 0, 0, 1], CLIENT);
    // Past the first seconds, the attacker tells the client the server is at its MAC.
    for gap in [6000, 2000, 2000] {
        w.arp(gap, 2, ATTACKER, [10, 0, 0, 2], [10, 0, 0, 1], CLIENT);
    }
    // And the restore: the true MAC again.
    w.arp(2000, 2, SERVER, [10, 0, 0, 2], [10, 0, 0, 1], CLIENT);
    let found = w.alerts(Thresholds::new());
    let change = found.iter().find(|a| a.id == "arp-binding-change").unwrap();
    assert_eq!(change.severity, Severity::High);
    assert_eq!(change.src, Party::Ip([10, 0, 0, 2].into()));
    assert_eq!(
        change.evidence,
        "10.0.0.2 changed ethernet address from 02:00:00:00:00:02 to 02:00:00:00:00:66, \
         2 changes, flip-flop back to 02:00:00:00:00:02"
    );
    assert_eq!(change.frames, [3, 6]);
    let reply = found
        .iter()
        .find(|a| a.id == "arp-unsolicited-reply")
        .unwrap();
    assert_eq!(reply.severity, Severity::High);
    assert_eq!(reply.dst, Party::Ip([10, 0, 0, 1].into()));
    assert_eq!(reply.count, 4);
}

#[test]
fn ordinary_arp_and_a_gratuitous_request_stay_info() {
    let mut w = Frames::default();
    w.arp(10, 1, CLIENT, [10, 0, 0, 1], [10, 0, 0, 2], [0xff; 6]);
    w.arp(1, 2, SERVER, [10, 0, 0, 2], [10, 0, 0, 1], CLIENT);
    w.arp(6000, 1, SERVER, [10, 0, 0, 2], [10, 0, 0, 2], [0xff; 6]);
    // A host asking for one neighbour again and again (tcp-host-gone).
    for _ in 0..20 {
        w.arp(1000, 1, CLIENT, [10, 0, 0, 1], [10, 0, 0, 9], [0xff; 6]);
    }
    assert_eq!(
        ids(&w.alerts(Thresholds::new())),
        [("arp-gratuitous", Severity::Info)]
    );
}

#[test]
fn a_bogus_ip_version_is_reported_per_mac_pair() {
    let mut w = Frames::default();
    for (i, v) in [7u8, 7, 5, 15].into_iter().enumerate() {
        let mut f = Vec::new();
        PacketBuilder::ethernet2(ATTACKER, SERVER)
            .ipv4([10, 0, 0, 66], [10, 0, 0, 2], 64)
            .udp(1000 + i as u16, 53)
            .write(&mut f, &vec![0; 100 * i])
            .unwrap();
        f[14] = (v << 4) | 5;
        w.push(5, f);
    }
    let found = w.alerts(Thresholds::new());
    assert_eq!(ids(&found), [("ip-invalid-version", Severity::Medium)]);
    assert_eq!(found[0].src, Party::Mac(crate::wire::Mac(ATTACKER)));
    assert_eq!(
        found[0].evidence,
        "bogus IP version (5, must be 4, 7, must be 4, 15, must be 4) in 4 frames of 42 to 342 bytes"
    );
}

#[test]
fn the_ptunnel_magic_is_a_tunnel_and_a_big_ping_is_not() {
    let mut w = Frames::default();
    for seq in 0..5 {
        let mut p = vec![0xd5, 0x20, 0x08, 0x80];
        p.extend_from_slice(&[seq as u8; 200]);
        w.echo(100, true, seq, &p);
        w.echo(1, false, seq, &p);
    }
    let found = w.alerts(Thresholds::new());
    assert_eq!(ids(&found), [("icmp-tunnel", Severity::High)]);
    assert!(
        found[0]
            .evidence
            .contains("ptunnel magic D5200880 in 10 payloads")
    );
    // An MTU test: big, but every reply the same as its request.
    let mut w = Frames::default();
    for seq in 0..10 {
        w.echo(1000, true, seq, &[0x42; 1400]);
        w.echo(1, false, seq, &[0x42; 1400]);
    }
    assert!(w.alerts(Thresholds::new()).is_empty());
    // Replies unlike their requests, twice each, and of many sizes: two signs are enough.
    let mut w = Frames::default();
    for seq in 0..4u16 {
        w.echo(100, true, seq, &vec![1; 10 + usize::from(seq)]);
        w.echo(1, false, seq, &vec![2; 300]);
        w.echo(1, false, seq, &vec![3; 300]);
    }
    let found = w.alerts(Thresholds::new());
    assert_eq!(ids(&found), [("icmp-tunnel", Severity::High)]);
}

#[test]
fn odd_flag_names_follow_the_document() {
    use crate::wire::TcpFlags as T;
    assert_eq!(tcp::odd_flags(0), Some("NULL"));
    assert_eq!(tcp::odd_flags(T::FIN), Some("FIN without ACK"));
    assert_eq!(
        tcp::odd_flags(T::FIN | T::PSH | T::URG),
        Some("Xmas (FIN+PSH+URG)")
    );
    assert_eq!(tcp::odd_flags(T::SYN | T::FIN), Some("SYN+FIN"));
    assert_eq!(tcp::odd_flags(T::SYN | T::RST), Some("SYN+RST"));
    for normal in [
        T::SYN,
        T::SYN | T::ACK,
        T::ACK,
        T::FIN | T::ACK,
        T::RST,
        T::RST | T::ACK,
    ] {
        assert_eq!(tcp::odd_flags(normal), None, "{normal:#x}");
    }
}

#[test]
fn sql_injection_signs_and_attack_tools() {
    assert_eq!(
        app::sqli_signs("/newsdetails.php?id=26%27"),
        ["a quote closing a parameter"]
    );
    assert_eq!(
        app::sqli_signs("/newsdetails.php?id=26%20and%201=2--%20-"),
        ["an SQL comment", "and/or N=N"]
    );
    assert_eq!(
        app::sqli_signs("/x?q=1+UNION+ALL+SELECT+2"),
        ["union select"]
    );
    for clean in [
        "/",
        "/index.html",
        "/a--b/c",
        "/search?q=android+order",
        "/x?sort=desc",
    ] {
        assert!(app::sqli_signs(clean).is_empty(), "{clean}");
    }
    assert_eq!(
        app::attack_tool("sqlmap/1.1.4#stable (http://sqlmap.org)"),
        Some("sqlmap")
    );
    assert_eq!(
        app::attack_tool(
            "Mozilla/5.0 (compatible; Nmap Scripting Engine; https://nmap.org/book/nse.html)"
        ),
        Some("Nmap NSE")
    );
    assert_eq!(app::attack_tool("curl/7.88.1"), None);
}
