//! Support for the analysis tests: capturing real loopback traffic with tcpdump or tshark,
//! making that traffic with std sockets on 127.0.0.1, and reading tshark's answers.
//!
//! Every capture filters on ports the test itself bound, so tests running in parallel do not
//! see each other's traffic. Nothing is ever sent outside loopback.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::Duration;

/// Fails the test with what to install when a program is missing.
pub fn require(tool: &str, package: &str) {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .stdout(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(
        found,
        "this test needs `{tool}`: install it (Debian: apt-get install {package})"
    );
}

/// A scratch directory for one test.
pub fn scratch(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("analysis")
        .join(format!("{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// A running capture.
pub struct Sniffer {
    child: Child,
    /// How long packets may sit in the kernel's capture buffer before the capture sees them.
    settle: Duration,
    path: PathBuf,
    stderr: Option<thread::JoinHandle<String>>,
}

impl Sniffer {
    /// `tcpdump -i IFACE -U -w PATH FILTER`, returned once tcpdump says it is listening.
    pub fn tcpdump(iface: &str, filter: &str, path: &Path) -> Sniffer {
        require("tcpdump", "tcpdump");
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
            .arg(filter)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn tcpdump");
        // Immediate mode hands each packet over at once.
        Sniffer::ready(child, path, "listening on", Duration::from_millis(300))
    }

    /// `tshark -i IFACE -f FILTER -w PATH` (pcapng), returned once tshark is capturing.
    pub fn tshark(iface: &str, filter: &str, path: &Path) -> Sniffer {
        require("tshark", "tshark");
        let child = Command::new("tshark")
            .args(["-i", iface, "-f", filter, "-w"])
            .arg(path)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn tshark");
        // dumpcap reads the kernel's ring in blocks retired every second or so.
        Sniffer::ready(child, path, "Capture started", Duration::from_millis(1500))
    }

    fn ready(mut child: Child, path: &Path, marker: &str, settle: Duration) -> Sniffer {
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
            settle,
            path: path.to_path_buf(),
            stderr: Some(handle),
        }
    }

    /// Stops the capture (SIGINT, so it flushes) and returns the file.
    pub fn stop(mut self) -> PathBuf {
        // Packets sent just now may still be in the capture buffer.
        thread::sleep(self.settle);
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

/// Frames made packet by packet, for files the tests write themselves.
pub struct Synth {
    pub frames: Vec<(Duration, Vec<u8>)>,
    pub now: Duration,
}

pub const CLIENT: [u8; 4] = [10, 0, 0, 1];
pub const SERVER: [u8; 4] = [10, 0, 0, 2];

impl Synth {
    pub fn new() -> Synth {
        Synth {
            frames: Vec::new(),
            now: Duration::new(1_700_000_000, 123_456_789),
        }
    }

    pub fn push(&mut self, data: Vec<u8>) {
        self.now += Duration::from_micros(1500);
        self.frames.push((self.now, data));
    }

    /// One TCP segment on Ethernet; `flags` is a string of S, A, P, F, R.
    #[allow(clippy::too_many_arguments)]
    pub fn tcp(
        &mut self,
        src: [u8; 4],
        dst: [u8; 4],
        sp: u16,
        dp: u16,
        seq: u32,
        ack: u32,
        flags: &str,
        payload: &[u8],
    ) {
        let mut b =
            etherparse::PacketBuilder::ethernet2([2, 0, 0, 0, 0, src[3]], [2, 0, 0, 0, 0, dst[3]])
                .ipv4(src, dst, 64)
                .tcp(sp, dp, seq, 64000);
        for f in flags.chars() {
            b = match f {
                'S' => b.syn(),
                'A' => b.ack(ack),
                'P' => b.psh(),
                'F' => b.fin(),
                'R' => b.rst(),
                _ => b,
            };
        }
        let mut v = Vec::new();
        b.write(&mut v, payload).expect("tcp frame");
        self.push(v);
    }

    /// A client-server session on `port`: handshake, one request, one reply, FIN close.
    pub fn session(&mut self, sp: u16, port: u16, request: &[u8], reply: &[u8]) {
        let (c, s) = (7000u32, 9000u32);
        let (q, r) = (request.len() as u32, reply.len() as u32);
        self.tcp(CLIENT, SERVER, sp, port, c, 0, "S", b"");
        self.tcp(SERVER, CLIENT, port, sp, s, c + 1, "SA", b"");
        self.tcp(CLIENT, SERVER, sp, port, c + 1, s + 1, "A", b"");
        self.tcp(CLIENT, SERVER, sp, port, c + 1, s + 1, "PA", request);
        self.tcp(SERVER, CLIENT, port, sp, s + 1, c + 1 + q, "PA", reply);
        self.tcp(CLIENT, SERVER, sp, port, c + 1 + q, s + 1 + r, "FA", b"");
        self.tcp(SERVER, CLIENT, port, sp, s + 1 + r, c + 2 + q, "FA", b"");
        self.tcp(CLIENT, SERVER, sp, port, c + 2 + q, s + 2 + r, "A", b"");
    }

    /// A UDP datagram on Ethernet.
    pub fn udp(&mut self, src: [u8; 4], dst: [u8; 4], sp: u16, dp: u16, payload: &[u8]) {
        let mut v = Vec::new();
        etherparse::PacketBuilder::ethernet2([2, 0, 0, 0, 0, src[3]], [2, 0, 0, 0, 0, dst[3]])
            .ipv4(src, dst, 64)
            .udp(sp, dp)
            .write(&mut v, payload)
            .expect("udp frame");
        self.push(v);
    }

    /// A UDP datagram cut into IPv4 fragments that fit `mtu`, as a router would send it.
    #[allow(clippy::too_many_arguments)]
    pub fn udp_fragmented(
        &mut self,
        src: [u8; 4],
        dst: [u8; 4],
        sp: u16,
        dp: u16,
        payload: &[u8],
        mtu: usize,
        id: u16,
    ) {
        let mut whole = Vec::new();
        etherparse::PacketBuilder::ipv4(src, dst, 64)
            .udp(sp, dp)
            .write(&mut whole, payload)
            .expect("udp datagram");
        let data = &whole[20..];
        let step = (mtu - 20) / 8 * 8;
        let mut off = 0;
        while off < data.len() {
            let end = (off + step).min(data.len());
            let mut h = etherparse::Ipv4Header::new(
                (end - off) as u16,
                64,
                etherparse::IpNumber::UDP,
                src,
                dst,
            )
            .expect("fragment header");
            h.identification = id;
            h.more_fragments = end < data.len();
            h.fragment_offset =
                etherparse::IpFragOffset::try_new((off / 8) as u16).expect("offset");
            h.header_checksum = h.calc_header_checksum();
            let mut frame = vec![2, 0, 0, 0, 0, dst[3], 2, 0, 0, 0, 0, src[3], 0x08, 0x00];
            h.write(&mut frame).expect("write header");
            frame.extend_from_slice(&data[off..end]);
            self.push(frame);
            off = end;
        }
    }

    /// The analysis of these frames, without a file.
    pub fn analyze_in_memory(&self) -> labctl::analyze::Analysis {
        let frames: Vec<labctl::wire::Frame> = self
            .frames
            .iter()
            .enumerate()
            .map(|(i, (ts, data))| labctl::wire::Frame {
                number: i as u64 + 1,
                ts: *ts,
                orig_len: data.len() as u32,
                linktype: labctl::wire::LinkType::Ethernet,
                data: data.clone(),
            })
            .collect();
        labctl::analyze::analyze(frames.iter().map(labctl::wire::Frame::as_ref))
    }

    /// Writes a classic pcap with pcap-file.
    pub fn write_pcap(&self, path: &Path, big_endian: bool, nanos: bool) {
        use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
        let header = PcapHeader {
            endianness: if big_endian {
                pcap_file::Endianness::Big
            } else {
                pcap_file::Endianness::Little
            },
            ts_resolution: if nanos {
                pcap_file::TsResolution::NanoSecond
            } else {
                pcap_file::TsResolution::MicroSecond
            },
            ..PcapHeader::default()
        };
        let file = std::fs::File::create(path).expect("create pcap");
        let mut w = PcapWriter::with_header(file, header).expect("pcap header");
        for (ts, data) in &self.frames {
            w.write_packet(&PcapPacket::new(*ts, data.len() as u32, data))
                .expect("write packet");
        }
    }

    /// Writes a pcapng with pcap-file: one Ethernet interface (nanosecond timestamps).
    pub fn write_pcapng(&self, path: &Path) {
        use pcap_file::pcapng::PcapNgWriter;
        use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketBlock;
        use pcap_file::pcapng::blocks::interface_description::{
            InterfaceDescriptionBlock, InterfaceDescriptionOption,
        };
        let file = std::fs::File::create(path).expect("create pcapng");
        let mut w = PcapNgWriter::new(file).expect("pcapng header");
        let mut idb = InterfaceDescriptionBlock::new(pcap_file::DataLink::ETHERNET, 65535);
        idb.options.push(InterfaceDescriptionOption::IfTsResol(9));
        w.write_pcapng_block(idb).expect("idb");
        for (ts, data) in &self.frames {
            let epb = EnhancedPacketBlock {
                interface_id: 0,
                timestamp: *ts,
                original_len: data.len() as u32,
                data: std::borrow::Cow::Borrowed(data),
                options: vec![],
            };
            w.write_pcapng_block(epb).expect("epb");
        }
    }
}
