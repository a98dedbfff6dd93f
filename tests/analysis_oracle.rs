//! Oracle tests: labctl's analysis of real loopback traffic must agree with tshark's on the
//! same file: the conversation tables (`conv,tcp`, `conv,udp`), the endpoint table
//! (`endpoints,ip`) and a followed stream (`follow,tcp,raw,N`). The traffic is made here with
//! std sockets on 127.0.0.1 and captured with tcpdump or tshark, so these tests need root (or
//! CAP_NET_RAW), tcpdump and tshark.

mod kit;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use kit::{scratch, sniff::*, tshark::*};
use labctl::analyze::{self, Analysis, ConnOutcome, Dir, Proto, table};
use labctl::wire::{self, FileFormat, LinkType};

/// Conversation table rows must match tshark's, row for row.
fn assert_conv_table(path: &Path, a: &Analysis, proto: Proto) {
    let rows = serde_json::to_value(table::conversation_rows(a)).expect("rows as json");
    assert!(
        rows.as_array()
            .unwrap()
            .iter()
            .any(|r| r["proto"] == proto.to_string()),
        "no {proto} conversation in {}",
        path.display()
    );
    assert_conversations(path, &proto.to_string(), &rows);
}

/// Exact per-stream counts from tshark's own stream index, since its table rounds big byte
/// counts to kB.
fn assert_streams_exact(path: &Path, a: &Analysis, proto: Proto) {
    let (field, port) = match proto {
        Proto::Tcp => ("tcp.stream", "tcp.srcport"),
        Proto::Udp => ("udp.stream", "udp.srcport"),
        Proto::Icmp => unreachable!(),
    };
    let filter = if proto == Proto::Tcp {
        "tcp"
    } else {
        "udp && !icmp"
    };
    let text = tshark(
        path,
        &[
            "-Y",
            filter,
            "-T",
            "fields",
            "-e",
            field,
            "-e",
            "ip.src",
            "-e",
            port,
            "-e",
            "frame.len",
        ],
    );
    // stream -> (first source, [packets, bytes] per direction)
    let mut streams: BTreeMap<usize, (String, [u64; 2], [u64; 2])> = BTreeMap::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let stream: usize = f[0].parse().expect("stream index");
        let src = format!("{}:{}", f[1], f[2]);
        let len: u64 = f[3].parse().expect("frame.len");
        let e = streams
            .entry(stream)
            .or_insert_with(|| (src.clone(), [0; 2], [0; 2]));
        let d = usize::from(e.0 != src);
        e.1[d] += 1;
        e.2[d] += len;
    }
    let ours: Vec<_> = a
        .conversations
        .iter()
        .filter(|c| c.proto == proto)
        .collect();
    assert_eq!(ours.len(), streams.len(), "{field}: number of streams");
    for (stream, (first, packets, bytes)) in streams {
        let c = ours
            .iter()
            .find(|c| c.stream == stream)
            .expect("same stream numbering");
        assert_eq!(
            c.initiator.to_string(),
            first,
            "{field} {stream}: who spoke first"
        );
        assert_eq!(c.packets, packets, "{field} {stream}: packets each way");
        assert_eq!(c.bytes, bytes, "{field} {stream}: frame bytes each way");
    }
}

fn assert_endpoints(path: &Path, a: &Analysis) {
    let rows = serde_json::to_value(table::endpoint_rows(a)).expect("rows as json");
    assert_endpoint_rows(path, &rows);
}

fn assert_follow(path: &Path, stream: usize) {
    let theirs = parse_follow_raw(&tshark(
        path,
        &["-q", "-z", &format!("follow,tcp,raw,{stream}")],
    ));
    let mut reader = wire::open(path).expect("open");
    let mut analyzer = analyze::Analyzer::new();
    analyzer.follow(stream);
    while let Some(f) = reader.next_frame().expect("frame") {
        analyzer.push(&f);
    }
    let (_, chunks) = analyzer.finish_follow();
    let mut ours: Vec<(bool, Vec<u8>)> = Vec::new();
    for c in chunks {
        let node1 = c.dir == Dir::Reverse;
        match ours.last_mut() {
            Some((d, data)) if *d == node1 => data.extend(c.data),
            _ => ours.push((node1, c.data)),
        }
    }
    assert!(!theirs.is_empty(), "tshark followed nothing");
    assert_eq!(ours.len(), theirs.len(), "follow {stream}: number of turns");
    for (i, (o, t)) in ours.iter().zip(&theirs).enumerate() {
        assert_eq!(o.0, t.0, "follow {stream}: direction of turn {i}");
        assert!(
            o.1 == t.1,
            "follow {stream}: bytes of turn {i} differ ({} vs {} bytes)",
            o.1.len(),
            t.1.len()
        );
    }
}

/// Every comparison of a TCP capture with tshark: the conversation table, the streams, the
/// endpoints, and the turns of stream `follow`.
fn assert_tcp_matches_tshark(path: &Path, a: &Analysis, follow: usize) {
    assert_conv_table(path, a, Proto::Tcp);
    assert_streams_exact(path, a, Proto::Tcp);
    assert_endpoints(path, a);
    assert_follow(path, follow);
}

/// TCP traffic made by `traffic` on a loopback listener, captured by tcpdump on `iface` into
/// `NAME.pcap` of a scratch directory: the capture and its analysis.
fn captured_tcp(
    name: &str,
    iface: &str,
    traffic: impl FnOnce(std::net::TcpListener),
) -> (PathBuf, Analysis) {
    let dir = scratch(name);
    let (l, port) = listener();
    let cap = Sniffer::tcpdump(
        iface,
        &format!("tcp port {port}"),
        &dir.join(format!("{name}.pcap")),
    );
    traffic(l);
    let path = cap.stop();
    let a = analyze::analyze_file(&path).expect("analyze");
    (path, a)
}

#[test]
fn bulk_transfer_matches_tshark() {
    let (path, a) = captured_tcp("bulk", "lo", |l| bulk(l, 3_000_000));
    assert_tcp_matches_tshark(&path, &a, 0);
    let c = &a.conversations[0];
    assert_eq!(c.payload_bytes, [3_000_000, 3]);
    let t = c.tcp.as_ref().expect("tcp");
    assert_eq!(t.outcome, ConnOutcome::Established);
    assert_eq!(t.close.fin, [true, true]);
}

#[test]
fn many_short_connections_match_tshark() {
    let (path, a) = captured_tcp("short", "lo", |l| short_connections(l, 40));
    assert_eq!(a.conversations.len(), 40);
    assert_tcp_matches_tshark(&path, &a, 7);
    for (i, c) in a.conversations.iter().enumerate() {
        assert_eq!(c.transcript[0].bytes, format!("hello {i}\r\n").as_bytes());
        assert_eq!(
            c.transcript[1].bytes,
            format!("echo hello {i}\r\n").as_bytes()
        );
    }
}

#[test]
fn udp_and_icmp_errors_match_tshark() {
    let dir = scratch("udp");
    let (server, sport) = udp_socket();
    let closed = closed_udp_port();
    let (client, cport) = udp_socket();
    let filter = format!("udp port {sport} or udp port {closed} or (icmp and ip[50:2] = {closed})");
    let cap = Sniffer::tcpdump("lo", &filter, &dir.join("udp.pcap"));
    let mut buf = [0u8; 1500];
    for i in 0..10 {
        client
            .send_to(format!("ping {i}").as_bytes(), ("127.0.0.1", sport))
            .expect("send");
        let (n, from) = server.recv_from(&mut buf).expect("recv");
        server.send_to(&buf[..n], from).expect("echo");
        client.recv_from(&mut buf).expect("reply");
    }
    for _ in 0..3 {
        client
            .send_to(b"probe\n", ("127.0.0.1", closed))
            .expect("send to closed port");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let path = cap.stop();
    let a = analyze::analyze_file(&path).expect("analyze");
    assert_conv_table(&path, &a, Proto::Udp);
    assert_endpoints(&path, &a);
    let probe = a
        .conversations
        .iter()
        .find(|c| c.responder.port == closed && c.initiator.port == cport)
        .expect("the probe conversation");
    assert_eq!(probe.outcome(), ConnOutcome::Rejected);
    assert_eq!(probe.icmp_errors.len(), 3);
    assert_eq!(
        probe.icmp_errors[0].description,
        "destination-unreachable port-unreachable (3/3)"
    );
    let echo = a
        .conversations
        .iter()
        .find(|c| c.responder.port == sport)
        .expect("echo conversation");
    assert_eq!(echo.outcome(), ConnOutcome::Answered);
    assert_eq!(echo.packets, [10, 10]);
}

#[test]
fn cooked_capture_matches_tshark() {
    let (path, a) = captured_tcp("cooked", "any", |l| short_connections(l, 5));
    let capture = wire::read_file(&path).expect("read");
    assert!(
        matches!(
            capture.frames[0].linktype,
            LinkType::LinuxSll | LinkType::LinuxSll2
        ),
        "tcpdump -i any should write a cooked capture, got {}",
        capture.frames[0].linktype
    );
    assert_tcp_matches_tshark(&path, &a, 2);
}

#[test]
fn pcapng_capture_matches_tshark() {
    let dir = scratch("pcapng");
    let (l, port) = listener();
    let (server, sport) = udp_socket();
    let (client, _) = udp_socket();
    let cap = Sniffer::tshark(
        "lo",
        &format!("tcp port {port} or udp port {sport}"),
        &dir.join("lo.pcapng"),
    );
    short_connections(l, 6);
    client
        .send_to(b"over udp", ("127.0.0.1", sport))
        .expect("send");
    let mut buf = [0u8; 64];
    server.recv_from(&mut buf).expect("recv");
    let path = cap.stop();
    let capture = wire::read_file(&path).expect("read");
    assert_eq!(capture.format, FileFormat::PcapNg);
    let a = analyze::analyze_file(&path).expect("analyze");
    assert_conv_table(&path, &a, Proto::Udp);
    assert_tcp_matches_tshark(&path, &a, 3);
    // Timestamps must agree with tshark's to the microsecond.
    let epoch = tshark(
        &path,
        &["-T", "fields", "-e", "frame.time_epoch", "-c", "1"],
    );
    let theirs: f64 = epoch.trim().parse().expect("epoch");
    let ours = capture.frames[0].ts.as_secs_f64();
    assert!(
        (ours - theirs).abs() < 1e-6,
        "first frame time {ours} vs tshark {theirs}"
    );
}
