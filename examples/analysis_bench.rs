//! The analysis benchmark behind `cargo xtask bench`.
//!
//! `analysis_bench generate DIR [MB] [SMALL]` captures real loopback traffic with tcpdump:
//! DIR/bulk.pcap, TCP bulk transfers in Ethernet-sized segments (1448-byte MSS) until the file
//! holds at least MB megabytes, and DIR/small.pcap, at least SMALL small UDP datagrams.
//! `analysis_bench measure DIR LABCTL` times labctl's conversation analysis of both files in
//! this process (a streamed read; its peak memory; best of three, page cache warm), then the
//! command a user runs, `LABCTL show DIR/bulk.pcap --conversations`, against tshark's
//! `-q -z conv,tcp` on the same file, each as a whole process (labctl best of three, tshark
//! once), and prints the figures against the targets: the command in at most 1/20 of
//! tshark's wall time, the analysis in at most 64 MiB.
//!
//! `analysis_bench alerts DIR [SCAN]` times the alert detection: conversations and alerts
//! together over DIR/bulk.pcap against conversations alone (target: at most 1.5 times the
//! time, peak memory at most 64 MiB), and both over DIR/scan.pcap, SCAN SYN probes (one
//! million by default) from one scanner to many ports of many hosts, each a one-packet flow,
//! written here as a scan tool would put them on the wire, in packets per second.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use labctl::analyze;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = PathBuf::from(args.get(1).map_or("target/bench", String::as_str));
    match args.first().map(String::as_str) {
        Some("generate") => {
            let mb: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(300);
            let small: u64 = args
                .get(3)
                .and_then(|s| s.parse().ok())
                .unwrap_or(1_000_000);
            std::fs::create_dir_all(&dir).expect("bench dir");
            generate_bulk(&dir.join("bulk.pcap"), mb * 1_000_000);
            generate_small(&dir.join("small.pcap"), small);
        }
        Some("measure") => {
            let labctl = args
                .get(2)
                .expect("measure DIR LABCTL: the labctl binary to time");
            measure(&dir, Path::new(labctl));
        }
        Some("alerts") => {
            let scan: u64 = args
                .get(2)
                .and_then(|s| s.parse().ok())
                .unwrap_or(1_000_000);
            alerts(&dir, scan);
        }
        _ => {
            eprintln!(
                "usage: analysis_bench generate DIR [MB] [SMALL] | measure DIR | alerts DIR [SCAN]"
            );
            std::process::exit(2);
        }
    }
}

fn tcpdump(filter: &str, path: &Path) -> Child {
    let mut child = Command::new("tcpdump")
        .args([
            "-i",
            "lo",
            "--immediate-mode",
            "-U",
            "-n",
            "-B",
            "262144",
            "-w",
        ])
        .arg(path)
        .arg(filter)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tcpdump must be installed (apt-get install tcpdump) and we must be root");
    let mut err = BufReader::new(child.stderr.take().expect("stderr"));
    let mut line = String::new();
    while err.read_line(&mut line).unwrap_or(0) > 0 {
        if line.contains("listening on") {
            std::thread::spawn(move || {
                let mut rest = String::new();
                let _ = err.read_to_string(&mut rest);
                eprint!("{rest}");
            });
            return child;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("tcpdump did not start: {line}");
}

fn stop(mut child: Child) {
    std::thread::sleep(Duration::from_millis(500));
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT);
    let _ = child.wait();
}

fn generate_bulk(path: &Path, target: u64) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let mss = nix::sys::socket::sockopt::TcpMaxSeg;
    nix::sys::socket::setsockopt(&listener.as_fd(), mss, &1448).expect("mss");
    let port = listener.local_addr().expect("addr").port();
    let cap = tcpdump(&format!("tcp port {port}"), path);
    let server = std::thread::spawn(move || {
        while let Ok((mut s, _)) = listener.accept() {
            let mut buf = vec![0u8; 1 << 20];
            while matches!(s.read(&mut buf), Ok(n) if n > 0) {}
        }
    });
    let chunk: Vec<u8> = (0..1u32 << 20).map(|i| (i * 7 % 251) as u8).collect();
    // Frames carry ~4% headers, and ACKs add more: stop once the file is big enough.
    let mut connections = 0;
    while std::fs::metadata(path).map_or(0, |m| m.len()) < target {
        let c = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        nix::sys::socket::setsockopt(&c.as_fd(), mss, &1448).expect("mss");
        // One MSS per write with Nagle off: each write leaves as one segment, so the
        // capture holds Ethernet-sized frames rather than loopback's 64 KiB GSO packets.
        c.set_nodelay(true).expect("nodelay");
        let mut c = c;
        for _ in 0..32 {
            for piece in chunk.chunks(1448) {
                c.write_all(piece).expect("write");
            }
        }
        drop(c);
        connections += 1;
        std::thread::sleep(Duration::from_millis(50));
    }
    stop(cap);
    drop(server);
    let size = std::fs::metadata(path).map_or(0, |m| m.len());
    println!(
        "{}: {} MB in {connections} connections",
        path.display(),
        size / 1_000_000
    );
}

fn generate_small(path: &Path, count: u64) {
    let rx = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let port = rx.local_addr().expect("addr").port();
    let cap = tcpdump(&format!("udp port {port}"), path);
    let tx = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 64];
        rx.set_read_timeout(Some(Duration::from_secs(2)))
            .expect("timeout");
        while rx.recv(&mut buf).is_ok() {}
    });
    for i in 0..count {
        tx.send_to(&i.to_be_bytes(), ("127.0.0.1", port))
            .expect("send");
        if i % 2000 == 0 {
            // Let the capture keep up.
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    reader.join().expect("reader");
    stop(cap);
    println!("{}: {count} datagrams sent", path.display());
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn measure(dir: &Path, labctl: &Path) {
    let bulk = dir.join("bulk.pcap");
    let small = dir.join("small.pcap");
    let size = std::fs::metadata(&bulk)
        .expect("run `generate` first")
        .len();

    // Both programs read from the page cache: a first pass brings the files in, and the
    // best of three runs evens out other work on a shared machine.
    for f in [&bulk, &small] {
        std::io::copy(
            &mut std::fs::File::open(f).expect("open"),
            &mut std::io::sink(),
        )
        .expect("warm");
    }
    let best = |path: &Path| {
        (0..3)
            .map(|_| {
                let t = Instant::now();
                let a = analyze::analyze_file(path).expect("analyze");
                (t.elapsed(), a)
            })
            .min_by_key(|(d, _)| *d)
            .expect("three runs")
    };
    let (ours, a) = best(&bulk);
    let (small_time, s) = best(&small);
    let rss = peak_rss_kib();

    let t = Instant::now();
    let out = Command::new("tshark")
        .arg("-r")
        .arg(&bulk)
        .args(["-q", "-z", "conv,tcp"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("tshark must be installed (apt-get install tshark)");
    let theirs = t.elapsed();
    assert!(out.success(), "tshark failed on {}", bulk.display());

    // The command as a user runs it, whole process like tshark.
    let command = (0..3)
        .map(|_| {
            let t = Instant::now();
            let status = Command::new(labctl)
                .arg("show")
                .arg(&bulk)
                .arg("--conversations")
                .stdout(Stdio::null())
                .status()
                .expect("run labctl");
            assert!(status.success(), "labctl show failed on {}", bulk.display());
            t.elapsed()
        })
        .min()
        .expect("three runs");
    let ratio = theirs.as_secs_f64() / command.as_secs_f64();
    let pps = s.frames as f64 / small_time.as_secs_f64();
    println!(
        "bulk capture        {} MB, {} frames, {} conversations",
        size / 1_000_000,
        a.frames,
        a.conversations.len()
    );
    println!(
        "labctl conversations {:.3} s ({:.0} MB/s)",
        ours.as_secs_f64(),
        size as f64 / 1e6 / ours.as_secs_f64()
    );
    println!(
        "labctl show --conversations {:.3} s (the whole command)",
        command.as_secs_f64()
    );
    println!(
        "tshark -q -z conv,tcp {:.3} s (the whole command)",
        theirs.as_secs_f64()
    );
    println!(
        "speed-up             {ratio:.1}x (target >= 20x) {}",
        verdict(ratio >= 20.0)
    );
    println!(
        "peak memory          {} MiB (target <= 64 MiB) {}",
        rss / 1024,
        verdict(rss <= 64 * 1024)
    );
    println!(
        "small packets        {} frames in {:.3} s: {:.2} M packets/s",
        s.frames,
        small_time.as_secs_f64(),
        pps / 1e6
    );
}

/// Writes `count` SYN probes from 10.0.0.66 to 250 ports of each of many 10.1.0.0/16 hosts,
/// 10 µs apart, with a fixed source port and sequence number as nmap's SYN scan has them.
fn generate_scan(path: &Path, count: u64) {
    use pcap_file::pcap::{PcapPacket, PcapWriter};
    let file = std::io::BufWriter::new(std::fs::File::create(path).expect("create scan.pcap"));
    let mut w = PcapWriter::new(file).expect("pcap header");
    let mut frame = Vec::with_capacity(64);
    for i in 0..count {
        let host = (i / 250) as u16;
        let port = 1 + (i % 250) as u16 * 7;
        frame.clear();
        etherparse::PacketBuilder::ethernet2([2, 0, 0, 0, 0, 0x66], [2, 0, 0, 1, 0, 1])
            .ipv4([10, 0, 0, 66], [10, 1, (host >> 8) as u8, host as u8], 64)
            .tcp(48123, port, 0x5eed_5eed, 1024)
            .syn()
            .write(&mut frame, &[])
            .expect("probe");
        let ts = Duration::from_secs(1_700_000_000) + Duration::from_micros(10 * i);
        w.write_packet(&PcapPacket::new(ts, frame.len() as u32, &frame))
            .expect("write probe");
    }
    println!("{}: {count} SYN probes written", path.display());
}

fn alerts(dir: &Path, scan_count: u64) {
    let bulk = dir.join("bulk.pcap");
    let scan = dir.join("scan.pcap");
    assert!(bulk.exists(), "run `generate` first");
    if !scan.exists() {
        generate_scan(&scan, scan_count);
    }
    for f in [&bulk, &scan] {
        std::io::copy(
            &mut std::fs::File::open(f).expect("open"),
            &mut std::io::sink(),
        )
        .expect("warm");
    }
    let best = |run: &dyn Fn() -> (u64, usize)| {
        (0..3)
            .map(|_| {
                let t = Instant::now();
                let seen = run();
                (t.elapsed(), seen)
            })
            .min_by_key(|(d, _)| *d)
            .expect("three runs")
    };
    let alone = |path: &Path| {
        let path = path.to_path_buf();
        move || {
            let a = analyze::analyze_file(&path).expect("analyze");
            (a.frames, 0)
        }
    };
    let with = |path: &Path| {
        let path = path.to_path_buf();
        move || {
            let (a, alerts) =
                analyze::analyze_file_with_alerts(&path, Default::default()).expect("analyze");
            (a.frames, alerts.len())
        }
    };
    let (t_alone, _) = best(&alone(&bulk));
    let (t_with, (frames, found)) = best(&with(&bulk));
    let rss = peak_rss_kib();
    let ratio = t_with.as_secs_f64() / t_alone.as_secs_f64();
    println!(
        "bulk capture          {frames} frames: conversations {:.3} s, with alerts {:.3} s \
         ({found} alerts)",
        t_alone.as_secs_f64(),
        t_with.as_secs_f64()
    );
    println!(
        "alerts cost           {ratio:.2}x the time (target <= 1.5x) {}",
        verdict(ratio <= 1.5)
    );
    println!(
        "peak memory           {} MiB (target <= 64 MiB) {}",
        rss / 1024,
        verdict(rss <= 64 * 1024)
    );
    let (s_alone, _) = best(&alone(&scan));
    let (s_with, (frames, found)) = best(&with(&scan));
    println!(
        "scan capture          {frames} one-packet flows: conversations {:.2} M packets/s, \
         with alerts {:.2} M packets/s ({found} alerts), peak memory now {} MiB",
        frames as f64 / s_alone.as_secs_f64() / 1e6,
        frames as f64 / s_with.as_secs_f64() / 1e6,
        peak_rss_kib() / 1024
    );
}

fn verdict(ok: bool) -> &'static str {
    if ok { "ok" } else { "MISSED" }
}
