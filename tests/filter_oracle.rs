//! Oracle tests for `labctl show -Y` and `-f`: every display filter of the corpus selects as
//! many frames as `tshark -r F -Y EXPR`, every capture filter as many as `tcpdump -r F EXPR`,
//! and every bad filter exits 2 naming its place.
//!
//! The captures are real: the lab captures of every built-in scenario (`labctl test --out`,
//! run in labctl's own namespaces, then concatenated into one file so that stream numbers,
//! port reuse and retransmissions across labs are exercised too), and a bulk transfer and
//! short connections made here over loopback and captured with tcpdump. These tests need
//! root, tshark, tcpdump and mergecap.

mod kit;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use kit::netns::Netns;
use kit::{require, scratch, sniff::*};

/// Display filters, as a course writes them. An HTTP head typed over telnet comes in
/// several segments: tshark (and labctl) show HTTP only on the segment that completes it,
/// with the whole head. The switch and poisoning labs capture one connection twice,
/// microseconds apart: each copy of a SYN or a FIN is a retransmission, however soon it comes.
const CORPUS: &[&str] = &[
    "tcp",
    "udp",
    "arp",
    "icmp",
    "ip",
    "ipv6",
    "icmpv6",
    "dns",
    "ftp",
    "ftp-data",
    "http",
    "smtp",
    "dhcp",
    "!arp",
    "not arp and not icmp",
    "frame.number <= 50",
    "frame.len > 100",
    "frame.len < 60",
    "frame.time_relative > 1",
    "frame.time_delta > 0.5",
    "frame.time_delta < 0.0001",
    "eth.dst == ff:ff:ff:ff:ff:ff",
    "eth.src == 00:00:00:00:00:00",
    "eth.addr == 00:00:00:00:00:00",
    "eth.type == 0x0806",
    "eth.type == 0x0800",
    "arp.opcode == 2",
    "arp.opcode == 1",
    "arp.src.proto_ipv4 == 10.0.0.1",
    "arp.dst.proto_ipv4 == 10.0.0.254",
    "arp.dst.hw_mac == 00:00:00:00:00:00",
    "ip.addr == 10.0.0.2",
    "ip.addr != 10.0.0.2",
    "!(ip.addr == 10.0.0.2)",
    "ip.addr ~= 10.0.0.2",
    "ip.src == 10.0.0.1",
    "ip.dst == 10.0.0.0/24",
    "ip.addr == 10.0.0.0/24",
    "ip.addr == 198.51.100.0/24 or ip.addr == 192.0.2.0/24",
    "ip.ttl < 64",
    "ip.ttl == 64",
    "ip.ttl < 5",
    "ip.id == 0",
    "ip.proto == 17",
    "ip.proto == 1",
    "ip.len > 1000",
    "ip.version == 4",
    "ip.version == 6",
    "ip.version",
    // The fragment that completes a datagram shows the reassembled UDP or ICMP.
    "udp.length > 1000",
    "udp && ip.flags.mf == 0 && ip.frag_offset > 0",
    "icmp && ip.frag_offset > 0",
    "ip.flags.df == 1",
    "ip.flags.df == 0",
    "ip.flags.mf == 1",
    "ip.frag_offset > 0",
    "ip.frag_offset == 122",
    "ip.dsfield.dscp == 0",
    "ip.dsfield.dscp > 0",
    "icmp.type == 3",
    "icmp.type == 11",
    "icmp.type == 8",
    "icmp.code == 3",
    "icmp.type == 0 || icmp.type == 8",
    "tcp.port == 21",
    "tcp.port == 23",
    "tcp.port != 23",
    "tcp.srcport == 25",
    "tcp.dstport == 80",
    "tcp.port in {21, 25, 80}",
    "tcp.port in {20..30}",
    "tcp.port in {20 .. 25, 80}",
    "tcp.flags.syn == 1 && tcp.flags.ack == 0",
    "tcp.flags.syn == 1 and tcp.flags.ack == 1",
    "tcp.flags.syn",
    "tcp.flags.reset == 1",
    "tcp.flags.fin == 1",
    "tcp.flags.push == 1",
    "tcp.flags.urg == 1",
    "tcp.flags.syn == True",
    "tcp.seq == 0",
    "tcp.seq == 1",
    "tcp.seq > 100",
    "tcp.ack == 1",
    "tcp.ack > 1000",
    "tcp.len > 0",
    "tcp.len == 0",
    "tcp.len > 1000",
    "tcp.stream eq 1",
    "tcp.stream == 0",
    "tcp.stream > 3",
    "tcp.stream in {2, 4, 6}",
    "tcp.window_size > 1000",
    "tcp.window_size < 1000",
    "tcp.window_size == 0",
    "udp.port == 53",
    "udp.srcport == 53",
    "udp.dstport > 33000",
    "udp.length < 50",
    "udp.stream == 2",
    "udp.port in {33434..33534}",
    "dns.id",
    "dns.qry.name == \"example.test\"",
    "dns.qry.name contains \"nosuch\"",
    "dns.qry.name matches \"^EXAMPLE\"",
    "dns.qry.type == 15",
    "dns.flags.response == 1",
    "dns.flags.response == 0",
    "dns.flags.rcode == 3",
    "dns.flags.rcode == 0",
    "dns.a == 192.0.2.25",
    "dns.a",
    "dns.resp.name == \"mail.example.test\"",
    "dns.resp.name == \"<Root>\"",
    "ftp.request.command == \"USER\"",
    "ftp.request.command == \"PASV\" or ftp.request.command == \"EPSV\"",
    "ftp.request.arg == \"anonymous\"",
    "ftp.request.arg contains \"deb\"",
    "ftp.response.code == 227",
    "ftp.response.code >= 500",
    "ftp.response.code in {220, 221}",
    "http.request.method == \"GET\"",
    "http.request.uri contains \"/\"",
    "http.response.code == 200",
    "http.response.code == 404",
    "http.user_agent contains \"curl\"",
    "smtp.req.command == \"HELO\"",
    "smtp.req.command == \"EHLO\"",
    "smtp.req.command",
    "smtp.response.code == 250",
    "smtp.response.code == 354",
    "(tcp.port == 21 || tcp.port == 23) && tcp.len > 0",
    "tcp && !(tcp.port == 21)",
    "tcp.port == 21 or ftp-data",
    "ip.addr eq 10.0.0.1 and tcp.port eq 23",
    "tcp.srcport gt 1024 and tcp.dstport le 1024",
    "frame.len ge 60 and frame.len lt 100",
    "dhcp.option.dhcp == 1",
    "dhcp.option.dhcp == 5 and dhcp.flags.bc == 1",
    "dhcp.ip.your == 10.0.0.100",
    "dhcp.option.requested_ip_address == 10.0.0.100",
    "dhcp.hw.mac_addr",
    "dhcp.option.dhcp_server_id == 10.0.0.1",
    "dhcp.option.ip_address_lease_time == 3600",
    "dhcp.option.request_list_item == 3",
    "dhcp.ip.client == 10.0.0.100",
    // IPv6 and ICMPv6 (the ipv6-ndp lab): NDP, echo, packet too big, fragments.
    "icmpv6.type == 135",
    "icmpv6.type == 136",
    "icmpv6.type == 128 || icmpv6.type == 129",
    "icmpv6.type == 2",
    "icmpv6.code == 0",
    "ipv6.dst == ff02::1:ff00:fe",
    "ipv6.addr == 2001:db8:1::/64",
    "ipv6.src == fe80::1",
    "ipv6.hlim == 255",
    "ipv6.hlim < 64",
    "ipv6.flow == 0",
    "ipv6.nxt == 44",
    // ICMP errors about echo requests (the ping and traceroute-icmp labs).
    "icmp.type == 11 && icmp.code == 0",
    // Bytes: a protocol's bytes run from its header to the end of what it carries.
    "frame contains \"USER\"",
    "frame contains \"user\"",
    "frame matches \"user\"",
    "frame matches \"(?-i)USER\"",
    "tcp contains \"PASV\"",
    "tcp.payload contains \"227\"",
    "tcp.payload",
    "udp.payload",
    "udp.payload contains 00:00:01:00:01",
    "http contains \"200 OK\"",
    "http contains \"Host\"",
    "http.host",
    "http.host == \"www.example.test\"",
    "http.request",
    "http.response && http.response.code != 200",
    "http && tcp.len < 10",
    "smtp contains \"MAIL FROM\"",
    "dns contains \"example\"",
    "ftp matches \"^2[0-9]{2} \"",
    "ip contains 0a:00:00:02",
    "ipv6 contains 20:01:0d:b8",
    "eth contains ff:ff:ff:ff:ff:ff",
    "arp contains 0a:00:00:fe",
    "udp contains 00:35",
    "icmp contains 45:00",
    "icmpv6 contains 3a",
    "frame contains 0a:00:00:01 && !ip.addr == 10.0.0.1",
    "tcp.payload == \"QUIT\\r\\n\"",
    "tcp.analysis.retransmission",
    "tcp.analysis.retransmission && tcp.flags.fin == 1",
    "tcp.analysis.retransmission && tcp.flags.syn == 1",
    // Hex bytes run together, an odd last digit a byte of its own, and 0x pairs.
    "frame contains 6c6c6f",
    "frame contains 256",
    "frame contains 0x41",
    // An empty string or byte sequence is contained nowhere.
    "frame contains \"\"",
    "dns.qry.name contains \"\"", // String escapes make bytes: hex, octal, C's letters, a character by its number.
    "frame contains \"\\x55SER\"",
    "frame contains \"\\125SER\"",
    "frame contains \"\\x5\"",
    "frame contains \"\\0\"",
    "tcp.payload contains \"\\r\\n\"",
    "frame contains \"\\xff\"",
    "frame contains \"\\377\"",
    "frame contains \"\\u0040\"",
    "frame contains \"\\u00e9\"",
    "frame matches \"\\x55\\x53ER\"",
    "frame matches \"\\xff\"",
    "frame matches \"\\\\\\xff\"",
    "frame matches \"us\\x2er\"",
    "ftp.request.command == \"\\x55SER\"",
    "http.host contains \"\\x65xample\"",
];

/// Display filters for the loopback captures: bulk data, window scaling, many streams.
const LOOPBACK_CORPUS: &[&str] = &[
    "tcp.len > 1000",
    "tcp.len > 60000",
    "tcp.window_size > 100000",
    "tcp.window_size < 70000",
    "tcp.seq > 1000000",
    "tcp.ack > 2000000",
    "tcp.stream == 7",
    "tcp.stream >= 30",
    "tcp.flags.fin == 1 && tcp.stream in {3..9}",
    "tcp.analysis.retransmission",
    "tcp.flags.push == 1 and tcp.len < 100",
];

/// Capture filters, as tcpdump is taught.
const BPF: &[&str] = &[
    "arp",
    "tcp",
    "udp",
    "icmp",
    "host 10.0.0.2",
    "host 10.0.0.2 and port 23",
    "port 21 or port 20",
    "tcp[tcpflags] & tcp-syn != 0",
    "tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn",
    "net 10.0.0.0/24",
    "src host 10.0.0.1 and not arp",
    "udp port 53",
    "ip[6:2] & 0x1fff != 0",
    "greater 500",
    "ether broadcast",
    "icmp[icmptype] == icmp-unreach",
];

fn labctl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_labctl"))
        .args(args)
        .output()
        .expect("run labctl")
}

fn run(cmd: &str, args: &[&str]) -> Output {
    Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("run {cmd}: {e}"))
}

fn lines(o: &Output) -> usize {
    String::from_utf8_lossy(&o.stdout).lines().count()
}

/// The captures of every built-in scenario, concatenated into one file (made once).
fn lab_capture() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        require("tshark", "tshark");
        require("tcpdump", "tcpdump");
        require("mergecap", "wireshark-common");
        let dir = scratch("filter-labs");
        let out = dir.join("runs");
        let o = labctl(&["test", "--out", out.to_str().unwrap()]);
        // A snapshot difference (exit 1) still leaves every capture; only a run that could not
        // happen (2) leaves none.
        assert!(
            matches!(o.status.code(), Some(0 | 1)),
            "labctl test could not run (root is needed): {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let mut pcaps: Vec<PathBuf> = std::fs::read_dir(&out)
            .expect("artifacts dir")
            .flatten()
            .flat_map(|d| std::fs::read_dir(d.path()).into_iter().flatten().flatten())
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "pcap"))
            .collect();
        pcaps.sort();
        assert!(
            pcaps.len() >= 20,
            "expected a capture per scenario, got {pcaps:?}"
        );
        let all = dir.join("labs.pcap");
        let mut args = vec!["-a", "-F", "pcap", "-w", all.to_str().unwrap()];
        args.extend(pcaps.iter().map(|p| p.to_str().unwrap()));
        let m = run("mergecap", &args);
        assert!(
            m.status.success(),
            "mergecap: {}",
            String::from_utf8_lossy(&m.stderr)
        );
        all
    })
}

/// Bulk data and 40 short connections over loopback, captured with tcpdump (made once).
fn loopback_capture() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let dir = scratch("filter-loopback");
        let (l, port) = listener();
        let cap = Sniffer::tcpdump("lo", &format!("tcp port {port}"), &dir.join("bulk.pcap"));
        bulk(l, 2_000_000);
        let bulk_path = cap.stop();
        let (l, port) = listener();
        let cap = Sniffer::tcpdump("lo", &format!("tcp port {port}"), &dir.join("short.pcap"));
        short_connections(l, 40);
        let short_path = cap.stop();
        let all = dir.join("loopback.pcap");
        let m = run(
            "mergecap",
            &[
                "-a",
                "-F",
                "pcap",
                "-w",
                all.to_str().unwrap(),
                bulk_path.to_str().unwrap(),
                short_path.to_str().unwrap(),
            ],
        );
        assert!(
            m.status.success(),
            "mergecap: {}",
            String::from_utf8_lossy(&m.stderr)
        );
        all
    })
}

/// Compares every filter's count with tshark's; reports every difference at once.
fn assert_display_counts(path: &Path, corpus: &[&str]) {
    let file = path.to_str().unwrap();
    let total = lines(&run("tshark", &["-r", file]));
    let mut wrong = Vec::new();
    let mut selective = 0;
    for expr in corpus {
        let theirs = run("tshark", &["-r", file, "-Y", expr]);
        assert!(
            theirs.status.success(),
            "tshark refused {expr:?}: {}",
            String::from_utf8_lossy(&theirs.stderr)
        );
        let theirs = lines(&theirs);
        let ours = labctl(&["show", file, "-Y", expr, "--count"]);
        let text = String::from_utf8_lossy(&ours.stdout).trim().to_string();
        match text.parse::<usize>() {
            Ok(n) if ours.status.success() && n == theirs => {}
            _ => wrong.push(format!(
                "{expr:?}: labctl {text:?} {}, tshark {theirs}",
                String::from_utf8_lossy(&ours.stderr).trim()
            )),
        }
        if theirs > 0 && theirs < total {
            selective += 1;
        }
    }
    assert!(
        wrong.is_empty(),
        "counts differ from tshark:\n{}",
        wrong.join("\n")
    );
    // A corpus whose filters all select nothing (or everything) would prove little.
    assert!(
        selective * 4 >= corpus.len() * 3,
        "only {selective} of {} filters select some but not all of {total} frames",
        corpus.len()
    );
}

#[test]
fn display_filters_count_as_tshark_on_lab_captures() {
    assert!(CORPUS.len() >= 60);
    assert_display_counts(lab_capture(), CORPUS);
}

#[test]
fn display_filters_count_as_tshark_on_loopback_captures() {
    assert_display_counts(loopback_capture(), LOOPBACK_CORPUS);
}

/// Display filters for fragmented datagrams: the fragment that completes one shows the
/// reassembled ICMP, ICMPv6 or UDP, the others only IP.
const FRAGMENT_CORPUS: &[&str] = &[
    "icmp",
    "icmp.type == 8",
    "icmp.type == 0",
    "icmpv6",
    "icmpv6.type == 128",
    "udp",
    "udp.length > 2000",
    "udp.port == 9",
    "ip.flags.mf == 1",
    "ip.frag_offset > 0",
    "icmp && ip.frag_offset > 0",
    "ip && !icmp",
    "ipv6.nxt == 44",
    "ipv6 && !icmpv6",
    "frame.len > 1000",
];

/// Pings and datagrams of 3000 bytes over a 1280-byte link, IPv4 and IPv6, captured with
/// tcpdump on the sender's side.
fn fragments_capture() -> PathBuf {
    require("ping", "iputils-ping");
    let dir = scratch("filter-fragments");
    let pcap = dir.join("fragments.pcap");
    let (client, server) = Netns::pair("10.0.0.2/24");
    for (ns, addr) in [(&client, "2001:db8::1/64"), (&server, "2001:db8::2/64")] {
        ns.ok("ip", &["link", "set", "eth0", "mtu", "1280"]);
        ns.ok("ip", &["-6", "addr", "add", addr, "dev", "eth0", "nodad"]);
    }
    let cap = client.tcpdump("eth0", &pcap, "");
    client.ok("ping", &["-c", "3", "-i", "0.2", "-s", "3000", "10.0.0.2"]);
    client.ok(
        "ping",
        &["-6", "-c", "3", "-i", "0.2", "-s", "3000", "2001:db8::2"],
    );
    let big = "x".repeat(3000);
    for to in ["10.0.0.2", "2001:db8::2"] {
        client.ok(
            "sh",
            &[
                "-c",
                &format!("printf {big} | nc -u -w1 -q0 {to} 9 || true"),
            ],
        );
    }
    cap.interrupt();
    pcap
}

#[test]
fn display_filters_count_as_tshark_on_fragmented_datagrams() {
    require("tshark", "tshark");
    require("tcpdump", "tcpdump");
    assert_display_counts(&fragments_capture(), FRAGMENT_CORPUS);
}

/// Display filters for the kinds of ARP Wireshark names: gratuitous (a request or a reply
/// about the sender's own address), probe (from 0.0.0.0, before an address is used) and
/// announcement (a gratuitous request that asks no hardware address).
const ARP_CORPUS: &[&str] = &[
    "arp",
    "arp.opcode == 1",
    "arp.opcode == 2",
    "arp.isgratuitous",
    "arp.isgratuitous == 1",
    "arp.isgratuitous == 0",
    "!arp.isgratuitous",
    "arp && !arp.isgratuitous",
    "arp.isgratuitous && arp.opcode == 2",
    "arp.isprobe",
    "arp.isannouncement",
    "arp.isprobe || arp.isannouncement",
    "arp.src.proto_ipv4 == 0.0.0.0",
    "arp.dst.hw_mac == 00:00:00:00:00:00",
];

/// Every kind of ARP, made by real programs and by the kernel: address resolution (ping),
/// a probe (`arping -0`), gratuitous requests and replies (`arping -U`, `arping -U -P`, with
/// the broadcast as the target MAC) and the kernel's own announcement when a link comes up
/// with `arp_notify` set.
fn arp_capture() -> PathBuf {
    require("ping", "iputils-ping");
    require("sysctl", "procps");
    let dir = scratch("filter-arp");
    let pcap = dir.join("arp.pcap");
    let (client, server) = Netns::pair("10.0.0.2/24");
    client.ok("sysctl", &["-qw", "net.ipv4.conf.eth0.arp_notify=1"]);
    client.ok("ip", &["link", "set", "eth0", "down"]);
    let cap = server.tcpdump("eth0", &pcap, "");
    client.ok("ip", &["link", "set", "eth0", "up"]);
    client.ok("ping", &["-c", "2", "-i", "0.2", "10.0.0.2"]);
    for args in [
        &["-0", "-c", "2"][..],
        &["-U", "-c", "2"],
        &["-U", "-P", "-c", "2"],
    ] {
        // arping exits 1 when nobody answers, which is what a probe and a gratuitous ARP
        // expect.
        let to = if args[0] == "-0" {
            "10.0.0.9"
        } else {
            "10.0.0.1"
        };
        let out = client
            .command("arping")
            .args(args)
            .args(["-w", "0.3", "-i", "eth0", to])
            .output()
            .expect("arping");
        assert!(
            out.status.code().is_some_and(|c| c <= 1),
            "arping {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    cap.interrupt();
    pcap
}

#[test]
fn display_filters_count_as_tshark_on_every_kind_of_arp() {
    require("tshark", "tshark");
    require("tcpdump", "tcpdump");
    require("arping", "arping");
    let pcap = arp_capture();
    // Each kind was really made, so the counts below compare something.
    for kind in [
        "arp.isprobe",
        "arp.isannouncement",
        "arp.isgratuitous && arp.opcode == 2",
    ] {
        let theirs = run("tshark", &["-r", pcap.to_str().unwrap(), "-Y", kind]);
        assert!(lines(&theirs) > 0, "no {kind} in the capture");
    }
    assert_display_counts(&pcap, ARP_CORPUS);
}

/// Display filters for HTTP messages longer than a segment: tshark shows HTTP on the segment
/// that completes a message, with the whole of it.
const HTTP_CORPUS: &[&str] = &[
    "http",
    "http.request",
    "http.response",
    "http.response.code == 200",
    "http.request.method == \"HEAD\"",
    "http contains \"tail-of-the-big-file\"",
    "http contains \"last-chunk\"",
    "http && tcp.len > 1000",
    "http && tcp.len < 200",
    "tcp.len > 0 && !http",
    "frame.len > 1000 && http.response",
];

/// curl fetching a small file, a 200 kB one and the big one's head (HEAD) from labctl's own
/// HTTP server, and a chunked reply from a canned nc server; captured by tcpdump on the
/// client side.
fn http_capture() -> PathBuf {
    let dir = scratch("filter-http");
    let root = dir.join("www");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(root.join("small.txt"), "hello\n").unwrap();
    let mut big = "x".repeat(200_000);
    big.push_str("tail-of-the-big-file\n");
    std::fs::write(root.join("big.txt"), big).unwrap();
    let pcap = dir.join("http.pcap");
    let (client, server) = Netns::pair("10.0.0.2/24");
    let serve = kit::process::Killed(
        server
            .command(env!("CARGO_BIN_EXE_labctl"))
            .args(["serve", "http", "--listen", "10.0.0.2:80", "--root"])
            .arg(&root)
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("labctl serve http"),
    );
    // A chunked reply over many segments, sent as soon as the client connects.
    let mut chunked =
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n".to_vec();
    chunked.extend(b"30000\r\n");
    chunked.extend(vec![b'y'; 0x30000]);
    chunked.extend(b"\r\na\r\nlast-chunk\r\n0\r\n\r\n");
    let reply = dir.join("chunked.http");
    std::fs::write(&reply, chunked).unwrap();
    let nc = kit::process::Killed(
        server
            .command("sh")
            .args(["-c", &format!("nc -l -p 8080 -q 1 < {}", reply.display())])
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("nc"),
    );
    let cap = client.tcpdump("eth0", &pcap, "tcp");
    let curl = |args: &[&str]| {
        let mut all = vec![
            "-s",
            "-o",
            "/dev/null",
            "--retry",
            "5",
            "--retry-connrefused",
        ];
        all.extend_from_slice(args);
        client.ok("curl", &all);
    };
    curl(&["http://10.0.0.2/small.txt"]);
    curl(&["http://10.0.0.2/big.txt"]);
    curl(&["-I", "http://10.0.0.2/big.txt"]);
    curl(&["http://10.0.0.2:8080/chunked"]);
    // tcpdump drops what it has not written yet when interrupted: wait for the last chunk.
    let started = std::time::Instant::now();
    while !std::fs::read(&pcap)
        .unwrap_or_default()
        .windows(17)
        .any(|w| w == b"last-chunk\r\n0\r\n\r\n")
    {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "tcpdump never wrote the chunked reply's end"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    cap.interrupt();
    drop((serve, nc));
    pcap
}

#[test]
fn display_filters_count_as_tshark_on_http_messages_over_several_segments() {
    require("tshark", "tshark");
    require("tcpdump", "tcpdump");
    require("curl", "curl");
    require("nc", "netcat-openbsd");
    let pcap = http_capture();
    // The same frames, not only as many: the segment that completes each message.
    let file = pcap.to_str().unwrap();
    for expr in ["http", "http.response"] {
        let theirs = run(
            "tshark",
            &["-r", file, "-Y", expr, "-T", "fields", "-e", "frame.number"],
        );
        let ours = labctl(&["show", file, "-Y", expr]);
        let numbers: Vec<String> = String::from_utf8_lossy(&ours.stdout)
            .lines()
            .filter_map(|l| l.split_whitespace().next().map(String::from))
            .collect();
        let theirs: Vec<String> = String::from_utf8_lossy(&theirs.stdout)
            .lines()
            .map(String::from)
            .collect();
        assert_eq!(numbers, theirs, "{expr}: labctl's frames, then tshark's");
        assert!(theirs.len() >= 4, "{expr}: only {theirs:?}");
    }
    assert_display_counts(&pcap, HTTP_CORPUS);
}

#[test]
fn capture_filters_count_as_tcpdump() {
    let file = lab_capture().to_str().unwrap();
    let mut wrong = Vec::new();
    for expr in BPF {
        let theirs = run("tcpdump", &["-nr", file, expr]);
        assert!(theirs.status.success(), "tcpdump refused {expr:?}");
        let theirs = lines(&theirs);
        let ours = labctl(&["show", file, "-f", expr, "--count", "--json"]);
        let text = String::from_utf8_lossy(&ours.stdout).trim().to_string();
        if text != format!("{{\"count\":{theirs}}}") {
            wrong.push(format!("{expr:?}: labctl {text}, tcpdump {theirs}"));
        }
        // The packet lines agree too.
        let shown = labctl(&["show", file, "-f", expr]);
        if lines(&shown) != theirs {
            wrong.push(format!(
                "{expr:?}: {} packet lines, tcpdump {theirs}",
                lines(&shown)
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "counts differ from tcpdump:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn both_filters_select_frames_passing_both() {
    let file = lab_capture().to_str().unwrap();
    let count = |args: &[&str]| -> usize {
        let mut all = vec!["show", file, "--count"];
        all.extend_from_slice(args);
        let o = labctl(&all);
        assert!(o.status.success(), "{args:?}");
        String::from_utf8_lossy(&o.stdout)
            .trim()
            .parse()
            .expect("a count")
    };
    let both = count(&["-f", "tcp", "-Y", "tcp.port == 21"]);
    let alone = count(&["-Y", "tcp.port == 21"]);
    assert_eq!(both, alone);
    assert!(both > 0);
    assert_eq!(count(&["-f", "udp", "-Y", "tcp.port == 21"]), 0);
    // Every view is restricted: the conversation table of a filter on one port lists that
    // port only.
    let o = labctl(&[
        "show",
        file,
        "--conversations",
        "--json",
        "-Y",
        "tcp.port == 21",
    ]);
    let rows: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let rows = rows.as_array().expect("rows");
    assert!(!rows.is_empty());
    for r in rows {
        let (a, b) = (r["a"].as_str().unwrap(), r["b"].as_str().unwrap());
        assert!(a.ends_with(":21") || b.ends_with(":21"), "{r}");
    }
}

#[test]
fn bad_filters_exit_2_naming_their_place() {
    let file = lab_capture().to_str().unwrap();
    // (option, filter, column shown to the reader (1-based), text that must appear)
    let table: &[(&str, &str, usize, &str)] = &[
        ("-Y", "tcp.prot == 1", 1, "did you mean tcp.port?"),
        ("-Y", "ip.scr == 10.0.0.1", 1, "did you mean ip.src?"),
        ("-Y", "tcp.port == 1 &&", 17, "unexpected end of filter"),
        ("-Y", "tcp.len > 1000 foo", 16, "\"foo\" was unexpected"),
        ("-Y", "tcp.port in {21 25 80}", 17, "\"25\" was unexpected"),
        ("-Y", "ip.addr == 10.0.0.300", 12, "not an address"),
        ("-Y", "tcp.port == http", 13, "not an unsigned integer"),
        ("-Y", "(tcp.port == 21", 16, "expected \")\""),
        ("-Y", "tcp == 1", 5, "is a protocol"),
        (
            "-Y",
            "frame contains hello",
            16,
            "neither a quoted string nor bytes",
        ),
        ("-Y", "frame matches 68:65", 15, "expected a quoted pattern"),
        ("-Y", "tcp.payload > 00", 13, "cannot be ordered"),
        (
            "-Y",
            "udp.payload == 6g",
            16,
            "not a quoted string or bytes",
        ),
        ("-Y", "tcp matches \"(\"", 13, "bad regular expression"),
        ("-Y", "ip.src = 10.0.0.1", 8, "did you mean ==?"),
        (
            "-Y",
            "http.host matches \"(\"",
            19,
            "bad regular expression",
        ),
        ("-Y", "dns.qry.name == \"abc", 17, "unterminated string"),
        ("-Y", "tcp.port == 21 $", 16, "unexpected character"),
        ("-Y", "dns.qry.type == MX", 17, "not an unsigned integer"),
        (
            "-Y",
            "frame contains \"a\\qb\"",
            18,
            "\\q is not a valid character escape sequence",
        ),
        ("-Y", "frame contains \"\\x\"", 17, "\\x is not a valid"),
        (
            "-Y",
            "frame contains \"\\777\"",
            17,
            "\\777 is larger than 255",
        ),
        (
            "-Y",
            "frame contains \"\\u0055\"",
            17,
            "\\u0055 is not a valid universal character name",
        ),
    ];
    for (opt, expr, col, text) in table {
        let o = labctl(&["show", file, opt, expr]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{expr:?}: {err}");
        assert!(o.stdout.is_empty(), "{expr:?} printed frames");
        assert!(err.contains(&format!("column {col}:")), "{expr:?}: {err}");
        assert!(err.contains(text), "{expr:?}: {err}");
        // The caret sits under the column.
        let caret = err
            .lines()
            .find(|l| l.trim_start().starts_with('^'))
            .expect("a caret line");
        assert_eq!(caret.find('^'), Some(4 + col - 1), "{expr:?}: {err}");
    }
    for expr in [
        "host 10.0.0.2 and",
        "portt 23",
        "tcp[tcpflags] & tcp-sin != 0",
    ] {
        let o = labctl(&["show", file, "-f", expr]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{expr:?}: {err}");
        assert!(err.contains("bad capture filter"), "{expr:?}: {err}");
        assert!(o.stdout.is_empty(), "{expr:?} printed frames");
    }
}
