//! The Statistics answers of `labctl show`, each held to tshark's on the same file: the
//! conversation tables `--conversations --by ip|tcp|udp` (`-z conv,ip`, `conv,ipv6`,
//! `conv,tcp`, `conv,udp`), `--sort bytes|packets` (busiest first, by tshark's totals), and the
//! handshake round-trip time of each TCP conversation (`tcp.analysis.initial_rtt`). The
//! captures are lab captures kept in the tree (tests/data, labs/*/reference) and captures of
//! scenarios run here (fragmentation, routing through a VPN), so the test needs root for those
//! runs, and tshark.

mod kit;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use kit::tshark::{assert_conversations, tshark};
use kit::{labctl, labctl_json, scratch};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The captures in the tree, and those of a few scenarios run now (once for every test).
fn captures() -> Vec<PathBuf> {
    static CAPTURES: OnceLock<Vec<PathBuf>> = OnceLock::new();
    CAPTURES.get_or_init(make_captures).clone()
}

fn make_captures() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = [
        "tests/data/homework-redirect.pcap",
        "tests/data/dns-query.pcap",
        "tests/data/ip-fragmentation-client.pcap",
        "tests/data/ip-fragmentation-server.pcap",
        "labs/ftp-by-hand/reference/ftp.pcap",
        "labs/dns-query/reference/dns.pcap",
    ]
    .iter()
    .map(|p| root().join(p))
    .collect();
    let runs = scratch("show-views-runs");
    for scenario in ["routing-vpn", "ftp-client", "ttl-hops"] {
        let dir = runs.join(scenario);
        let o = labctl()
            .args(["run", scenario, "--out"])
            .arg(&dir)
            .output()
            .expect("run labctl");
        assert!(
            o.status.code() == Some(0),
            "labctl run {scenario}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let pcaps = walk(&dir);
        assert!(!pcaps.is_empty(), "labctl run {scenario} left no capture");
        out.extend(pcaps);
    }
    out
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else if p.extension().is_some_and(|x| x == "pcap") {
            out.push(p);
        }
    }
    out.sort();
    out
}

fn show(path: &Path, args: &[&str]) -> serde_json::Value {
    let (o, v) = labctl_json(labctl().arg("show").arg(path).args(args).arg("--json"));
    assert_eq!(o.status.code(), Some(0), "labctl show {args:?}");
    v
}

#[test]
fn conversations_by_ip_tcp_and_udp_match_tshark() {
    for path in captures() {
        let ip = show(&path, &["--conversations", "--by", "ip"]);
        let rows = ip.as_array().unwrap();
        assert!(
            rows.iter()
                .all(|r| r["proto"] == "ip" || r["proto"] == "ipv6"),
            "{ip:#}"
        );
        assert_conversations(&path, "ip", &ip);
        assert_conversations(&path, "ipv6", &ip);
        for proto in ["tcp", "udp"] {
            let rows = show(&path, &["--conversations", "--by", proto]);
            assert!(
                rows.as_array().unwrap().iter().all(|r| r["proto"] == proto),
                "{rows:#}"
            );
            assert_conversations(&path, proto, &rows);
        }
    }
}

#[test]
fn sort_puts_the_busiest_first() {
    for path in captures() {
        for (key, field) in [("bytes", "bytes"), ("packets", "packets")] {
            let rows = show(&path, &["--conversations", "--by", "ip", "--sort", key]);
            let totals: Vec<u64> = rows
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    r[format!("{field}_a_to_b")].as_u64().unwrap()
                        + r[format!("{field}_b_to_a")].as_u64().unwrap()
                })
                .collect();
            let mut sorted = totals.clone();
            sorted.sort_by(|a, b| b.cmp(a));
            assert_eq!(totals, sorted, "{} by {key}", path.display());
            // tshark's busiest pair has the same total.
            let theirs = tshark_totals(&path, field);
            assert_eq!(
                totals.first(),
                theirs.iter().max(),
                "{} by {key}",
                path.display()
            );
        }
    }
}

/// Frames or bytes of each IPv4 and IPv6 pair, counted from tshark's fields.
fn tshark_totals(path: &Path, what: &str) -> Vec<u64> {
    let text = tshark(
        path,
        &[
            "-Y",
            "ip || ipv6",
            "-T",
            "fields",
            "-e",
            "ip.src",
            "-e",
            "ip.dst",
            "-e",
            "ipv6.src",
            "-e",
            "ipv6.dst",
            "-e",
            "frame.len",
        ],
    );
    let mut pairs: BTreeMap<(String, String), u64> = BTreeMap::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        // Tunnelled packets list each layer's address: the outer one is the pair.
        let first = |s: &str| s.split(',').next().unwrap_or("").to_string();
        let (a, b) = if !f[0].is_empty() {
            (first(f[0]), first(f[1]))
        } else {
            (first(f[2]), first(f[3]))
        };
        let key = if a <= b { (a, b) } else { (b, a) };
        *pairs.entry(key).or_default() += if what == "bytes" {
            f[4].parse::<u64>().unwrap()
        } else {
            1
        };
    }
    pairs.into_values().collect()
}

#[test]
fn the_handshake_rtt_is_wiresharks_initial_rtt() {
    let mut seen = 0;
    for path in captures() {
        let rows = show(&path, &["--conversations", "--by", "tcp"]);
        let rows = rows.as_array().unwrap();
        let text = tshark(
            &path,
            &[
                "-Y",
                "tcp.analysis.initial_rtt",
                "-T",
                "fields",
                "-e",
                "tcp.stream",
                "-e",
                "tcp.analysis.initial_rtt",
            ],
        );
        // tshark repeats the value on every later frame of the stream: the first is enough.
        let mut theirs: BTreeMap<usize, f64> = BTreeMap::new();
        for line in text.lines() {
            let (s, rtt) = line.split_once('\t').unwrap();
            theirs
                .entry(s.parse().unwrap())
                .or_insert(rtt.parse().unwrap());
        }
        for (stream, row) in rows.iter().enumerate() {
            match (theirs.get(&stream), row["rtt"].as_f64()) {
                (Some(t), Some(o)) => {
                    assert!((t - o).abs() < 1e-6, "{}: stream {stream}", path.display());
                    seen += 1;
                }
                (None, None) => {}
                (t, o) => panic!(
                    "{}: stream {stream}: tshark {t:?}, labctl {o:?}",
                    path.display()
                ),
            }
        }
    }
    assert!(seen >= 5, "only {seen} handshakes compared");
}

#[test]
fn the_text_table_has_the_rtt_column_and_by_needs_conversations() {
    let path = root().join("tests/data/homework-redirect.pcap");
    let o = kit::show(
        &path,
        &["--conversations", "--by", "tcp", "--sort", "bytes"],
    );
    assert_eq!(o.status.code(), Some(0));
    let text = String::from_utf8(o.stdout).unwrap();
    let header = text.lines().next().unwrap();
    assert!(header.ends_with("start     duration  rtt"), "{text}");
    assert!(
        text.lines()
            .skip(1)
            .all(|l| l.split_whitespace().last().unwrap().parse::<f64>().is_ok()),
        "{text}"
    );
    let o = kit::show(&path, &["--by", "ip"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--conversations"));
}

/// Lines of `labctl show FILE ARGS` (text).
fn show_text(path: &Path, args: &[&str]) -> String {
    let o = labctl().arg("show").arg(path).args(args).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "labctl show {args:?}");
    String::from_utf8(o.stdout).unwrap()
}

#[test]
fn verbose_lines_show_wiresharks_delta_displayed() {
    for path in captures() {
        for filter in ["", "tcp", "!arp && !(tcp.len == 0)"] {
            let mut args = vec!["-v"];
            if !filter.is_empty() {
                args.extend(["-Y", filter]);
            }
            // NUMBER TIME +DELTA ...
            let ours: Vec<(u64, f64)> = show_text(&path, &args)
                .lines()
                .map(|l| {
                    let w: Vec<&str> = l.split_whitespace().collect();
                    let delta = w[2].strip_prefix('+').expect("a delta after the time");
                    (w[0].parse().unwrap(), delta.parse().unwrap())
                })
                .collect();
            let mut targs = vec!["-T", "fields", "-e", "frame.number", "-e"];
            targs.push("frame.time_delta_displayed");
            if !filter.is_empty() {
                targs.extend(["-Y", filter]);
            }
            let theirs: Vec<(u64, f64)> = tshark(&path, &targs)
                .lines()
                .map(|l| {
                    let (n, d) = l.split_once('\t').unwrap();
                    (n.parse().unwrap(), d.parse().unwrap())
                })
                .collect();
            assert_eq!(ours.len(), theirs.len(), "{} -Y {filter:?}", path.display());
            for (o, t) in ours.iter().zip(&theirs) {
                assert_eq!(o.0, t.0, "{} -Y {filter:?}", path.display());
                assert!(
                    (o.1 - t.1).abs() < 1e-6,
                    "{} -Y {filter:?} frame {}: {} vs {}",
                    path.display(),
                    o.0,
                    o.1,
                    t.1
                );
            }
        }
    }
}

#[test]
fn flows_show_dns_response_times_and_ftp_data_ports() {
    let mut times = 0;
    let mut ports = 0;
    for path in captures() {
        let flows = show_text(&path, &["--flows"]);
        // DNS: one time per answered exchange, in the order of the responses.
        let ours: Vec<f64> = flows
            .lines()
            .filter(|l| l.trim_start().starts_with("dns "))
            .filter_map(|l| l.rsplit_once("  time ").map(|(_, t)| t.parse().unwrap()))
            .collect();
        let theirs: Vec<f64> = tshark(&path, &["-Y", "dns.time", "-T", "fields", "-e", "dns.time"])
            .lines()
            .map(|l| l.parse().unwrap())
            .collect();
        let (mut o, mut t) = (ours.clone(), theirs.clone());
        o.sort_by(f64::total_cmp);
        t.sort_by(f64::total_cmp);
        assert_eq!(o.len(), t.len(), "{}: {flows}", path.display());
        for (a, b) in o.iter().zip(&t) {
            assert!((a - b).abs() < 1e-6, "{}: {a} vs {b}", path.display());
        }
        times += ours.len();
        // FTP: the data ports each control connection announced, as on the wire.
        let mut ours: Vec<u16> = flows
            .lines()
            .filter_map(|l| l.trim_start().strip_prefix("ftp data port "))
            .map(|rest| rest.split_whitespace().next().unwrap().parse().unwrap())
            .collect();
        let mut theirs: Vec<u16> = tshark(
            &path,
            &[
                "-Y",
                "ftp.passive.port",
                "-T",
                "fields",
                "-e",
                "ftp.passive.port",
            ],
        )
        .lines()
        .map(|l| l.parse().unwrap())
        .collect();
        ours.sort();
        theirs.sort();
        assert_eq!(ours, theirs, "{}: {flows}", path.display());
        ports += ours.len();
        // A data connection shows its real port.
        for p in &ours {
            assert!(flows.contains(&format!(":{p}  ftp-data of #")), "{flows}");
        }
    }
    assert!(
        times >= 5 && ports >= 2,
        "{times} DNS times, {ports} FTP ports"
    );
}

/// Wireshark's names of the DSCP and ECN values the lab captures carry.
fn dscp_name(d: u8) -> String {
    match d {
        0 => "CS0".into(),
        46 => "EF".into(),
        d if d % 8 == 0 => format!("CS{}", d / 8),
        d if d % 2 == 0 => format!("AF{}{}", d / 8, (d % 8) / 2),
        d => format!("DSCP {d}"),
    }
}

#[test]
fn endpoints_match_tshark_and_name_what_each_host_marks() {
    for path in captures() {
        let rows = show(&path, &["--endpoints"]);
        kit::tshark::assert_endpoint_rows(&path, &rows);
        // DSCP, ECN and the largest TTL each IPv4 host sent, from tshark's fields.
        let text = tshark(
            &path,
            &[
                "-Y",
                "ip",
                "-T",
                "fields",
                "-e",
                "ip.src",
                "-e",
                "ip.dsfield.dscp",
                "-e",
                "ip.dsfield.ecn",
                "-e",
                "ip.ttl",
            ],
        );
        type Marks = (Vec<String>, Vec<String>, u8);
        let mut theirs: BTreeMap<String, Marks> = BTreeMap::new();
        for line in text.lines() {
            let f: Vec<&str> = line.split('\t').collect();
            // The outer header of a tunnelled or quoted packet is the sender's.
            let first = |s: &str| s.split(',').next().unwrap().to_string();
            let e = theirs.entry(first(f[0])).or_default();
            let dscp = dscp_name(first(f[1]).parse().unwrap());
            let ecn = ["Not-ECT", "ECT(1)", "ECT(0)", "CE"][first(f[2]).parse::<usize>().unwrap()];
            if !e.0.contains(&dscp) {
                e.0.push(dscp);
            }
            if !e.1.iter().any(|x| x == ecn) {
                e.1.push(ecn.to_string());
            }
            e.2 = e.2.max(first(f[3]).parse().unwrap());
        }
        for (addr, (mut dscp, mut ecn, max_ttl)) in theirs {
            let row = rows
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["address"] == addr.as_str())
                .unwrap_or_else(|| panic!("{addr} missing in {}", path.display()));
            let names = |v: &serde_json::Value| -> Vec<String> {
                v.as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_str().unwrap().to_string())
                    .collect()
            };
            let (mut ours_dscp, mut ours_ecn) = (names(&row["dscp"]), names(&row["ecn"]));
            for v in [&mut dscp, &mut ecn, &mut ours_dscp, &mut ours_ecn] {
                v.sort();
            }
            assert_eq!(
                (ours_dscp, ours_ecn),
                (dscp, ecn),
                "{addr} in {}",
                path.display()
            );
            // A host that sent more than probes starts its packets at the next of 32, 64,
            // 128, 255 above what it was seen with.
            if let Some(initial) = row["initial_ttl"].as_u64() {
                let want = [32u64, 64, 128, 255]
                    .into_iter()
                    .find(|t| *t >= u64::from(max_ttl))
                    .unwrap();
                assert_eq!(initial, want, "{addr} in {}", path.display());
                let os = match initial {
                    64 => "Linux/Unix",
                    128 => "Windows",
                    255 => "network gear",
                    _ => "",
                };
                assert_eq!(row["os"].as_str().unwrap_or(""), os, "{addr}");
                assert_eq!(row["hops"].as_u64(), Some(initial - u64::from(max_ttl)));
            }
        }
    }
}

#[test]
fn a_host_that_only_sent_traceroute_probes_is_placed_by_them() {
    // routing-vpn's client only traceroutes, captured on its own interfaces: zero hops, and
    // no initial TTL to tell (it set each probe's TTL itself).
    let client: Vec<PathBuf> = captures()
        .into_iter()
        .filter(|p| p.to_string_lossy().contains("routing-vpn"))
        .filter(|p| p.to_string_lossy().contains("client"))
        .collect();
    assert_eq!(client.len(), 2, "{client:?}");
    for path in client {
        let addr = match path.to_string_lossy().contains("vpn0") {
            true => "10.8.0.2",
            false => "10.0.0.1",
        };
        let rows = show(&path, &["--endpoints"]);
        let only = format!("ip.src == {addr} && !icmp");
        let probes = tshark(&path, &["-Y", &only, "-T", "fields", "-e", "ip.ttl"]);
        let ttls: Vec<u8> = probes.lines().map(|l| l.parse().unwrap()).collect();
        assert!(ttls.len() >= 2 && ttls.iter().all(|t| *t < 32), "{ttls:?}");
        let row = rows
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["address"] == addr)
            .unwrap_or_else(|| panic!("{rows:#}"));
        assert_eq!(row["hops"], 0, "{}: {row:#}", path.display());
        assert!(
            row["initial_ttl"].is_null() && row["os"].is_null(),
            "{row:#}"
        );
    }
}
