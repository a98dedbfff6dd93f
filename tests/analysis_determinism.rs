//! The flow snapshot of the same exchange, captured again and again on loopback with new
//! ephemeral ports, new initial sequence numbers and new timing each time, must be byte for
//! byte the same.

mod kit;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream, UdpSocket};

use kit::{scratch, sniff::*};
use labctl::analyze::{self, Names};

/// One run of the little lab: a line each way over TCP with the client closing first, a
/// refused connection, a UDP question and answer, and a UDP probe to a closed port.
fn run(
    dir: &std::path::Path,
    round: usize,
    tcp_port: u16,
    refused: u16,
    udp_port: u16,
    closed: u16,
) -> String {
    let listener = TcpListener::bind(("127.0.0.1", tcp_port)).expect("bind tcp");
    let udp = UdpSocket::bind(("127.0.0.1", udp_port)).expect("bind udp");
    let filter = format!(
        "tcp port {tcp_port} or tcp port {refused} or udp port {udp_port} or udp port {closed} or (icmp and ip[50:2] = {closed})"
    );
    let cap = Sniffer::tcpdump("lo", &filter, &dir.join(format!("run{round}.pcap")));
    let server = std::thread::spawn(move || {
        let (s, _) = listener.accept().expect("accept");
        let mut r = BufReader::new(s.try_clone().expect("clone"));
        let mut line = String::new();
        r.read_line(&mut line).expect("read");
        (&s).write_all(b"250 ok\r\n").expect("write");
        let mut rest = Vec::new();
        let _ = r.read_to_end(&mut rest);
    });
    let mut c = TcpStream::connect(("127.0.0.1", tcp_port)).expect("connect");
    c.write_all(b"HELO client\r\n").expect("write");
    let mut reply = [0u8; 8];
    c.read_exact(&mut reply).expect("reply");
    c.shutdown(Shutdown::Both).expect("close");
    drop(c);
    server.join().expect("server");
    let err = TcpStream::connect(("127.0.0.1", refused)).expect_err("nothing listens there");
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
    let client = UdpSocket::bind("127.0.0.1:0").expect("bind client");
    client
        .send_to(b"question?", ("127.0.0.1", udp_port))
        .expect("send");
    let mut buf = [0u8; 64];
    let (n, from) = udp.recv_from(&mut buf).expect("recv");
    udp.send_to(&buf[..n], from).expect("answer");
    client.recv_from(&mut buf).expect("answer back");
    client
        .send_to(b"probe\n", ("127.0.0.1", closed))
        .expect("probe");
    std::thread::sleep(std::time::Duration::from_millis(50));
    let path = cap.stop();
    let mut names = Names::new();
    names.insert([127, 0, 0, 1].into(), "host");
    analyze::render_flows(&analyze::analyze_file(&path).expect("analyze"), &names)
}

#[test]
fn same_exchange_same_snapshot() {
    let dir = scratch("determinism");
    let (l, tcp_port) = listener();
    drop(l);
    let refused = listener().1;
    let udp_port = closed_udp_port();
    let closed = closed_udp_port();
    let first = run(&dir, 0, tcp_port, refused, udp_port, closed);
    for word in [
        "handshake complete",
        "outcome refused",
        "outcome answered",
        "port-unreachable",
        "\"HELO client\\r\\n\"",
    ] {
        assert!(first.contains(word), "snapshot lacks {word:?}:\n{first}");
    }
    for round in 1..6 {
        let again = run(&dir, round, tcp_port, refused, udp_port, closed);
        assert_eq!(again, first, "round {round} rendered a different snapshot");
    }
}
