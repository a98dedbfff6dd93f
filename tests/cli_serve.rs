//! `labctl serve KIND` through the binary, for every kind it has (dump, ftp, smtp, http, dns):
//! started on a free loopback port, it answers one real request made with plain sockets, and
//! Ctrl-C (SIGINT) ends it with exit 0. Readiness is found by retrying the connection, never by
//! a fixed sleep. A port already taken, or a root or zone that cannot be served, is exit 2 with
//! a message naming the address or the file.

mod kit;

use kit::{labctl, scratch};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::Path;
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

const DEADLINE: Duration = Duration::from_secs(10);

/// A loopback port free for both TCP and UDP at the time of asking.
fn free_port() -> u16 {
    loop {
        let udp = UdpSocket::bind("127.0.0.1:0").expect("bind udp loopback");
        let port = udp.local_addr().unwrap().port();
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// A `labctl serve` process; killed on drop if the test did not stop it.
struct Server {
    child: Option<Child>,
    addr: SocketAddr,
}

impl Server {
    /// Starts `labctl serve KIND --listen ADDR ARGS` and waits until it accepts connections.
    /// Another process may take the free port between the asking and the binding: then the
    /// server exits at once and is started again on another port.
    fn start(kind: &str, args: &[&str]) -> Server {
        for _ in 0..5 {
            let addr: SocketAddr = ([127, 0, 0, 1], free_port()).into();
            let mut child = labctl()
                .args(["serve", kind, "--listen", &addr.to_string()])
                .args(args)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("start labctl serve");
            let start = Instant::now();
            loop {
                if let Some(status) = child.try_wait().unwrap() {
                    let mut err = String::new();
                    let _ = child.stderr.take().unwrap().read_to_string(&mut err);
                    assert!(
                        err.contains("cannot listen"),
                        "labctl serve {kind} exited ({status}) before listening: {err}"
                    );
                    break;
                }
                if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                    return Server {
                        child: Some(child),
                        addr,
                    };
                }
                assert!(
                    start.elapsed() < DEADLINE,
                    "labctl serve {kind} does not accept connections on {addr}"
                );
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        panic!("no free loopback port for labctl serve {kind} after 5 tries");
    }

    /// Ctrl-C: the server must end by itself with exit 0 and print nothing on stdout.
    fn interrupt(mut self) -> Output {
        let child = self.child.take().unwrap();
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).expect("send SIGINT");
        let out = wait(child, "ending after Ctrl-C");
        assert_eq!(
            out.status.code(),
            Some(0),
            "exit after Ctrl-C; stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.stdout.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        out
    }

    fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(self.addr).expect("connect to the server");
        s.set_read_timeout(Some(DEADLINE)).unwrap();
        s
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Waits for a `labctl serve` that should end by itself; kills it and fails if it does not.
fn wait(mut child: Child, doing: &str) -> Output {
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > DEADLINE {
            let _ = child.kill();
            panic!("labctl serve kept running for {DEADLINE:?} instead of {doing}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().unwrap()
}

/// A line-based dialogue (FTP, SMTP) over one connection.
struct Dialogue {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Dialogue {
    fn new(stream: TcpStream) -> Dialogue {
        Dialogue {
            writer: stream.try_clone().unwrap(),
            reader: BufReader::new(stream),
        }
    }

    /// Reads one reply, multi-line or not, and checks its code; returns its last line.
    fn expect(&mut self, code: &str) -> String {
        loop {
            let mut line = String::new();
            self.reader.read_line(&mut line).expect("read a reply");
            assert!(!line.is_empty(), "connection closed waiting for {code}");
            assert!(line.starts_with(code), "expected {code}, got {line:?}");
            if line.as_bytes().get(3) == Some(&b' ') {
                return line.trim_end().to_string();
            }
        }
    }

    fn send(&mut self, line: &str, code: &str) -> String {
        self.writer
            .write_all(format!("{line}\r\n").as_bytes())
            .unwrap();
        self.expect(code)
    }
}

/// Polls until the file's text satisfies `want`, as the server may write after the reply.
fn wait_for_file(path: &Path, want: impl Fn(&str) -> bool) -> String {
    let start = Instant::now();
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if want(&text) {
            return text;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "{} never held what was sent; it holds {text:?}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn dump_appends_what_a_client_sends() {
    let dir = scratch("cli-serve-dump");
    let file = dir.join("dump.txt");
    let server = Server::start("dump", &["--file", file.to_str().unwrap()]);
    let mut c = server.connect();
    c.write_all(b"hello dump\r\n").unwrap();
    drop(c);
    // Each client's bytes are appended as they come: wait, so the order is known.
    wait_for_file(&file, |t| t == "hello dump\r\n");
    let mut c = server.connect();
    c.write_all(b"second client\n").unwrap();
    drop(c);
    wait_for_file(&file, |t| t == "hello dump\r\nsecond client\n");
    let out = server.interrupt();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("dump server on 127.0.0.1:") && stderr.contains("dump.txt"),
        "startup line: {stderr}"
    );
}

#[test]
fn ftp_logs_in_and_retrieves_a_file_in_passive_mode() {
    let dir = scratch("cli-serve-ftp");
    std::fs::write(dir.join("hello.txt"), "hello from ftp\n").unwrap();
    let server = Server::start("ftp", &["--root", dir.to_str().unwrap(), "--read-only"]);
    let mut d = Dialogue::new(server.connect());
    d.expect("220");
    d.send("USER anonymous", "331");
    d.send("PASS guest@example.test", "230");
    d.send("TYPE I", "200");
    let pasv = d.send("PASV", "227");
    let inner = pasv
        .split('(')
        .nth(1)
        .and_then(|s| s.split(')').next())
        .unwrap_or_else(|| panic!("no address in {pasv:?}"));
    let n: Vec<u16> = inner
        .split(',')
        .map(|x| x.trim().parse().unwrap())
        .collect();
    assert_eq!(n[..4], [127, 0, 0, 1], "{pasv}");
    let data_addr = SocketAddr::from(([127, 0, 0, 1], n[4] * 256 + n[5]));
    let mut data = TcpStream::connect(data_addr).expect("connect to the PASV port");
    data.set_read_timeout(Some(DEADLINE)).unwrap();
    d.send("RETR hello.txt", "150");
    let mut got = String::new();
    data.read_to_string(&mut got).unwrap();
    assert_eq!(got, "hello from ftp\n");
    d.expect("226");
    // Read-only: an upload is refused with a permanent error.
    d.send("STOR new.txt", "5");
    d.send("QUIT", "221");
    assert!(!dir.join("new.txt").exists());
    server.interrupt();
}

#[test]
fn smtp_takes_a_message_into_the_mailbox() {
    let dir = scratch("cli-serve-smtp");
    let mailbox = dir.join("mbox");
    let server = Server::start(
        "smtp",
        &[
            "--mailbox",
            mailbox.to_str().unwrap(),
            "--hostname",
            "mail.example.test",
        ],
    );
    let mut d = Dialogue::new(server.connect());
    let banner = d.expect("220");
    assert!(banner.contains("mail.example.test"), "{banner}");
    d.send("EHLO client.example.test", "250");
    d.send("MAIL FROM:<alice@example.test>", "250");
    d.send("RCPT TO:<bob@example.test>", "250");
    d.send("DATA", "354");
    d.send(
        "Subject: lab\r\n\r\nhello by smtp\r\n..a line that began with a dot\r\n.",
        "250",
    );
    d.send("QUIT", "221");
    let mbox = wait_for_file(&mailbox, |t| t.contains("hello by smtp"));
    assert!(mbox.starts_with("From "), "{mbox}");
    kit::assert_contains(&mbox, &["alice@example.test", "Subject: lab"]);
    assert!(
        mbox.contains("\n.a line that began with a dot"),
        "dot-stuffing undone: {mbox}"
    );
    server.interrupt();
}

fn http_get(server: &Server, path: &str) -> String {
    let mut c = server.connect();
    write!(
        c,
        "GET {path} HTTP/1.1\r\nHost: www.example.test\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    c.read_to_string(&mut response).unwrap();
    response
}

#[test]
fn http_serves_a_file_and_404s_the_rest() {
    let dir = scratch("cli-serve-http");
    std::fs::write(dir.join("index.html"), "<h1>hello by http</h1>\n").unwrap();
    let server = Server::start("http", &["--root", dir.to_str().unwrap()]);
    let ok = http_get(&server, "/index.html");
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
    assert!(ok.ends_with("\r\n\r\n<h1>hello by http</h1>\n"), "{ok}");
    let missing = http_get(&server, "/nothing-here.html");
    assert!(missing.starts_with("HTTP/1.1 404"), "{missing}");
    let escape = http_get(&server, "/../../etc/passwd");
    assert!(!escape.contains("root:"), "{escape}");
    server.interrupt();
}

/// A DNS query for `name`, type A, class IN, recursion desired, as RFC 1035 lays it out.
fn dns_query(id: u16, name: &str) -> Vec<u8> {
    let mut q = Vec::new();
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.trim_end_matches('.').split('.') {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 1, 0, 1]);
    q
}

/// (rcode, answer count) of a response to query `id`; panics if it is not one.
fn dns_header(id: u16, response: &[u8]) -> (u8, u16) {
    assert!(response.len() >= 12, "short response: {response:?}");
    assert_eq!(u16::from_be_bytes([response[0], response[1]]), id);
    assert!(response[2] & 0x80 != 0, "QR bit not set: {response:?}");
    (
        response[3] & 0x0f,
        u16::from_be_bytes([response[6], response[7]]),
    )
}

/// The answer record `www A 192.0.2.80`: type A, class IN, any TTL, 4 bytes of address.
fn has_www_address(response: &[u8]) -> bool {
    response
        .windows(14)
        .any(|w| w[..4] == [0, 1, 0, 1] && w[8..] == [0, 4, 192, 0, 2, 80])
}

#[test]
fn dns_answers_over_udp_and_tcp_from_a_zone_file() {
    let (_dir, zone) = kit::scratch_file(
        "cli-serve-dns",
        "example.test.zone",
        "$TTL 3600\n\
         @    IN SOA ns1 hostmaster ( 2024010101 7200 3600 1209600 300 )\n\
         \x20    IN NS  ns1\n\
         ns1  IN A   192.0.2.53\n\
         www  IN A   192.0.2.80\n",
    );
    let server = Server::start(
        "dns",
        &[
            "--zone",
            zone.to_str().unwrap(),
            "--origin",
            "example.test.",
        ],
    );
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    udp.set_read_timeout(Some(DEADLINE)).unwrap();
    let mut buf = [0u8; 1500];
    udp.send_to(&dns_query(0x4242, "www.example.test"), server.addr)
        .unwrap();
    let (n, from) = udp.recv_from(&mut buf).expect("an answer over UDP");
    assert_eq!(from, server.addr);
    assert_eq!(dns_header(0x4242, &buf[..n]), (0, 1), "{:?}", &buf[..n]);
    assert!(has_www_address(&buf[..n]), "{:?}", &buf[..n]);

    udp.send_to(&dns_query(0x4343, "nosuch.example.test"), server.addr)
        .unwrap();
    let (n, _) = udp.recv_from(&mut buf).expect("an answer over UDP");
    assert_eq!(dns_header(0x4343, &buf[..n]).0, 3, "NXDOMAIN expected");

    // Over TCP each message is preceded by its length in two bytes.
    let mut c = server.connect();
    let q = dns_query(0x4444, "www.example.test");
    c.write_all(&(q.len() as u16).to_be_bytes()).unwrap();
    c.write_all(&q).unwrap();
    let mut len = [0u8; 2];
    c.read_exact(&mut len).unwrap();
    let mut response = vec![0u8; u16::from_be_bytes(len) as usize];
    c.read_exact(&mut response).unwrap();
    assert_eq!(dns_header(0x4444, &response), (0, 1), "{response:?}");
    assert!(has_www_address(&response), "{response:?}");
    drop(c);
    server.interrupt();
}

/// What cannot be served is exit 2 at once, before any client, naming the address or file.
#[test]
fn a_taken_port_or_a_bad_root_or_zone_is_exit_2() {
    let dir = scratch("cli-serve-bad");
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let missing = dir.join("missing");
    let garbage_zone = dir.join("garbage.zone");
    std::fs::write(&garbage_zone, "www IN A (\n").unwrap();
    let file = dir.join("f").to_str().unwrap().to_string();
    let free = format!("127.0.0.1:{}", free_port());
    let missing = missing.to_str().unwrap();
    let garbage_zone = garbage_zone.to_str().unwrap();
    // (kind, --listen, the option naming what is served, its value, what the error names)
    let cases = [
        ("dump", &addr, "--file", &file[..], &addr[..]),
        ("http", &addr, "--root", "/", &addr),
        ("smtp", &addr, "--mailbox", &file, &addr),
        ("ftp", &addr, "--read-only", "", &addr),
        ("ftp", &free, "--root", missing, missing),
        ("http", &free, "--root", missing, missing),
        ("dns", &free, "--zone", missing, missing),
        ("dns", &free, "--zone", garbage_zone, "zone"),
    ];
    for (kind, listen, option, value, needle) in cases {
        let mut args = vec!["serve", kind, "--listen", listen, option];
        if !value.is_empty() {
            args.push(value);
        }
        let child = labctl()
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let out = wait(child, "refusing");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}");
        assert!(
            stderr.starts_with("labctl: ") && stderr.contains(needle),
            "{args:?}: {needle:?} not named in {stderr}"
        );
    }
    drop(taken);
}
