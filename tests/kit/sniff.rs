//! Captures of real loopback traffic with tcpdump or tshark, and that traffic made with std
//! sockets on 127.0.0.1. Every capture filters on ports the test itself bound, so tests
//! running in parallel do not see each other's traffic; nothing is sent outside loopback.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::Duration;

use super::require;

/// A running capture. It also captures one datagram to a port of its own (the sentinel):
/// [`Sniffer::stop`] sends it, waits until the file holds it (so everything sent before it is
/// in the file too: one interface's packets reach a capture in order), stops the capture and
/// cuts the sentinel off the file.
pub struct Sniffer {
    child: Child,
    sentinel: UdpSocket,
    path: PathBuf,
    stderr: Option<thread::JoinHandle<String>>,
}

/// A bound loopback socket whose port marks the end of a capture, and the filter that adds it.
fn sentinel(filter: &str) -> (UdpSocket, String) {
    let (socket, port) = udp_socket();
    (socket, format!("({filter}) or (udp dst port {port})"))
}

impl Sniffer {
    /// `tcpdump -i IFACE -U -w PATH FILTER`, returned once tcpdump says it is listening.
    pub fn tcpdump(iface: &str, filter: &str, path: &Path) -> Sniffer {
        require("tcpdump", "tcpdump");
        let (socket, filter) = sentinel(filter);
        let child = Command::new("tcpdump")
            .args([
                "-i",
                iface,
                "--immediate-mode",
                "-U",
                "-n",
                "-B",
                "65536",
                "-w",
            ])
            .arg(path)
            .arg(&filter)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn tcpdump");
        Sniffer::ready(child, socket, path, "listening on")
    }

    /// `tshark -i IFACE -f FILTER -w PATH` (pcapng), returned once tshark is capturing.
    pub fn tshark(iface: &str, filter: &str, path: &Path) -> Sniffer {
        require("tshark", "tshark");
        let (socket, filter) = sentinel(filter);
        let child = Command::new("tshark")
            .args(["-i", iface, "-f", &filter, "-w"])
            .arg(path)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn tshark");
        Sniffer::ready(child, socket, path, "Capture started")
    }

    fn ready(mut child: Child, sentinel: UdpSocket, path: &Path, marker: &str) -> Sniffer {
        let stderr = child.stderr.take().expect("stderr piped");
        let mut lines = BufReader::new(stderr);
        let mut seen = String::new();
        loop {
            let mut line = String::new();
            let n = lines.read_line(&mut line).unwrap_or(0);
            if n == 0 {
                let _ = child.wait();
                panic!("capture did not start (are we root, or do we have CAP_NET_RAW?): {seen}");
            }
            seen.push_str(&line);
            if line.contains(marker) {
                break;
            }
        }
        // Keep draining stderr so the capture never blocks or dies on a closed pipe.
        let handle = thread::spawn(move || {
            let mut rest = String::new();
            let _ = lines.read_to_string(&mut rest);
            rest
        });
        Sniffer {
            child,
            sentinel,
            path: path.to_path_buf(),
            stderr: Some(handle),
        }
    }

    /// The byte offset of the sentinel's record once the file holds it.
    fn sentinel_offset(&self) -> Option<u64> {
        let port = self.sentinel.local_addr().ok()?.port();
        let mut reader = labctl::wire::open(&self.path).ok()?;
        // A record being written is a truncated tail: not there yet.
        while let Ok(Some(frame)) = reader.next_frame() {
            let pkt = labctl::wire::dissect(frame.linktype, frame.data);
            if let labctl::wire::Transport::Udp(u) = &pkt.transport
                && u.dst_port == port
            {
                return Some(frame.offset);
            }
        }
        None
    }

    /// Stops the capture once it holds everything sent before (see [`Sniffer`]), and returns
    /// the file without the sentinel.
    pub fn stop(mut self) -> PathBuf {
        let to = self.sentinel.local_addr().expect("sentinel address");
        let start = std::time::Instant::now();
        let offset = loop {
            // Sent again while waiting: a capture that was not yet reading the first time
            // (dumpcap hands packets over in blocks) still gets one.
            self.sentinel
                .send_to(b"end", to)
                .expect("send the sentinel");
            if let Some(offset) = self.sentinel_offset() {
                break offset;
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "the capture {} never showed its end marker",
                self.path.display()
            );
            thread::sleep(Duration::from_millis(20));
        };
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT);
        let status = self.child.wait().expect("wait for capture");
        let err = self
            .stderr
            .take()
            .map(|h| h.join().unwrap_or_default())
            .unwrap_or_default();
        assert!(
            self.path.exists(),
            "capture wrote no file ({status}): {err}"
        );
        // Everything from the sentinel on (more sentinels, dumpcap's statistics block) goes.
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(&self.path)
            .expect("open the capture");
        file.set_len(offset).expect("cut the sentinel off");
        self.path.clone()
    }
}

/// A TCP listener on 127.0.0.1 with an OS-chosen port.
pub fn listener() -> (TcpListener, u16) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    (l, port)
}

/// One bulk transfer: the client sends `size` bytes, the server answers "ok\n" after
/// reading them all, then both close.
pub fn bulk(listener: TcpListener, size: usize) {
    let port = listener.local_addr().expect("addr").port();
    let server = thread::spawn(move || {
        let (mut s, _) = listener.accept().expect("accept");
        let mut got = 0usize;
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = s.read(&mut buf).expect("server read");
            if n == 0 {
                break;
            }
            got += n;
        }
        s.write_all(b"ok\n").expect("server write");
        got
    });
    let mut c = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let chunk: Vec<u8> = (0..65536u32).map(|i| (i % 251) as u8).collect();
    let mut left = size;
    while left > 0 {
        let n = left.min(chunk.len());
        c.write_all(&chunk[..n]).expect("client write");
        left -= n;
    }
    c.shutdown(Shutdown::Write).expect("shutdown");
    let mut reply = String::new();
    c.read_to_string(&mut reply).expect("client read");
    assert_eq!(reply, "ok\n");
    assert_eq!(server.join().expect("server"), size);
}

/// `count` short connections: a line each way, the client closes first.
pub fn short_connections(listener: TcpListener, count: usize) {
    let port = listener.local_addr().expect("addr").port();
    let server = thread::spawn(move || {
        for _ in 0..count {
            let (s, _) = listener.accept().expect("accept");
            let mut r = BufReader::new(s.try_clone().expect("clone"));
            let mut line = String::new();
            r.read_line(&mut line).expect("read line");
            (&s).write_all(format!("echo {line}").as_bytes())
                .expect("write");
            let mut rest = Vec::new();
            let _ = r.read_to_end(&mut rest);
        }
    });
    for i in 0..count {
        let mut c = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        c.write_all(format!("hello {i}\r\n").as_bytes())
            .expect("write");
        let mut r = BufReader::new(c.try_clone().expect("clone"));
        let mut line = String::new();
        r.read_line(&mut line).expect("read");
        assert_eq!(line, format!("echo hello {i}\r\n"));
        c.shutdown(Shutdown::Both).expect("shutdown");
    }
    server.join().expect("server");
}

/// A UDP socket on 127.0.0.1 with an OS-chosen port.
pub fn udp_socket() -> (UdpSocket, u16) {
    let s = UdpSocket::bind("127.0.0.1:0").expect("bind udp");
    let port = s.local_addr().expect("addr").port();
    (s, port)
}

/// A port with nothing bound to it (bound once by us, then released).
pub fn closed_udp_port() -> u16 {
    udp_socket().1
}
