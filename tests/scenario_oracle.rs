//! Every built-in scenario's captures read by tshark as well as by labctl: the snapshots are
//! blessed from labctl's own analysis, so this is what says that analysis is right. One
//! `labctl test --out DIR` runs them all; then for each pcap in DIR: the conversation tables
//! (`-z conv,tcp`, `-z conv,udp`) and the endpoint tables (`-z endpoints,ip`, `endpoints,ipv6`) equal
//! `labctl show --conversations/--endpoints --json`; the ICMP types and codes, the IP
//! fragments, the SYNs and the ARP opcodes labctl's dissector sees equal tshark's fields; and
//! the facts each scenario is about are in its captures (the ICMP error a lab provokes, the
//! fragments, the retransmitted SYNs, the ARP exchange).

mod kit;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use kit::tshark::{assert_conversations, assert_endpoint_rows, tshark};
use kit::{labctl, labctl_json, scratch};
use labctl::wire::{self, Net, Transport};

/// What labctl's dissector and tshark both report about one capture.
#[derive(Debug, Default, PartialEq, Eq)]
struct Facts {
    /// (type, code) of each ICMPv4 frame, in frame order.
    icmp: Vec<(u8, u8)>,
    /// Frame numbers of IPv4 fragments (more-fragments set or a non-zero offset).
    fragments: Vec<u64>,
    /// Frame numbers of TCP SYNs without ACK.
    syns: Vec<u64>,
    /// ARP opcodes, in frame order.
    arp: Vec<u16>,
}

fn ours(path: &Path) -> Facts {
    let mut facts = Facts::default();
    let mut reader = wire::open(path).expect("labctl reads its own capture");
    while let Some(frame) = reader.next_frame().expect("a frame") {
        let pkt = wire::dissect(frame.linktype, frame.data);
        if let Net::Arp(a) = &pkt.net {
            facts.arp.push(a.op);
        }
        if let Some(ip) = pkt.ip()
            && ip.version == 4
            && (ip.mf || ip.frag_offset > 0)
        {
            facts.fragments.push(frame.number);
        }
        match &pkt.transport {
            Transport::Icmp(i) if !i.v6 => facts.icmp.push((i.icmp_type, i.code)),
            Transport::Tcp(t) if t.flags.syn() && !t.flags.ack() => facts.syns.push(frame.number),
            _ => {}
        }
    }
    facts
}

/// The first value of each row of a `-T fields` column (an ICMP error repeats the fields of
/// the header it quotes after a comma).
fn column(path: &Path, filter: &str, fields: &[&str]) -> Vec<Vec<String>> {
    let mut args = vec!["-Y", filter, "-T", "fields"];
    for f in fields {
        args.extend(["-e", f]);
    }
    tshark(path, &args)
        .lines()
        .map(|l| {
            l.split('\t')
                .map(|v| v.split(',').next().unwrap_or("").to_string())
                .collect()
        })
        .collect()
}

fn theirs(path: &Path) -> Facts {
    let num = |v: &str| -> u64 { v.parse().unwrap_or_else(|_| panic!("a number: {v:?}")) };
    Facts {
        icmp: column(path, "icmp", &["icmp.type", "icmp.code"])
            .iter()
            .map(|r| (num(&r[0]) as u8, num(&r[1]) as u8))
            .collect(),
        fragments: column(
            path,
            "ip",
            &["frame.number", "ip.flags.mf", "ip.frag_offset"],
        )
        .iter()
        // A frame of a bogus IP version matches "ip" in tshark with no flags or offset: it
        // is no fragment.
        .filter(|r| r[1] == "1" || r[1] == "True" || (!r[2].is_empty() && num(&r[2]) > 0))
        .map(|r| num(&r[0]))
        .collect(),
        syns: column(
            path,
            "tcp.flags.syn == 1 && tcp.flags.ack == 0 && !icmp",
            &["frame.number"],
        )
        .iter()
        .map(|r| num(&r[0]))
        .collect(),
        arp: column(path, "arp", &["arp.opcode"])
            .iter()
            .map(|r| num(&r[0]) as u16)
            .collect(),
    }
}

/// What each scenario is about, as it must show in its captures (over all of them).
fn about(scenario: &str, f: &Facts) -> Result<(), String> {
    let icmp = |t: u8, c: u8| {
        if f.icmp.contains(&(t, c)) {
            Ok(())
        } else {
            Err(format!("no ICMP type {t} code {c}"))
        }
    };
    let at_least = |what: &str, n: usize, want: usize| {
        if n >= want {
            Ok(())
        } else {
            Err(format!("{n} {what}, expected at least {want}"))
        }
    };
    match scenario {
        "arp-resolution" => {
            at_least("ARP requests", f.arp.iter().filter(|o| **o == 1).count(), 1)?;
            at_least("ARP replies", f.arp.iter().filter(|o| **o == 2).count(), 1)
        }
        "filter-drop-router" => at_least("SYNs", f.syns.len(), 3),
        "tcp-host-gone" => at_least("SYNs", f.syns.len(), 2),
        "filter-reject-router" => icmp(3, 1),
        "icmp-port-unreachable" => icmp(3, 3),
        "ip-fragmentation" => {
            icmp(3, 4)?;
            at_least("fragments", f.fragments.len(), 2)
        }
        "routing-vpn" => {
            icmp(11, 0)?;
            icmp(3, 3)
        }
        _ => Ok(()),
    }
}

fn pcaps(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "pcap" || x == "pcapng"))
        .collect();
    v.sort();
    v
}

#[test]
fn every_scenario_capture_agrees_with_tshark() {
    let out = scratch("scenario-oracle");
    let run = labctl()
        .args(["test", "--out"])
        .arg(&out)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run labctl test");
    assert_eq!(
        run.status.code(),
        Some(0),
        "labctl test: {}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    let mut checked = BTreeMap::new();
    for scenario in labctl::scenario::BUILTIN {
        let files = pcaps(&out.join(scenario.name));
        assert!(
            !files.is_empty(),
            "{}: no capture in its run",
            scenario.name
        );
        let mut all = Facts::default();
        for path in &files {
            for (flag, proto) in [("--conversations", Some("tcp")), ("--endpoints", None)] {
                let (o, rows) = labctl_json(labctl().args(["show", flag, "--json"]).arg(path));
                assert_eq!(o.status.code(), Some(0), "show {flag} {}", path.display());
                match proto {
                    Some(_) => {
                        assert_conversations(path, "tcp", &rows);
                        assert_conversations(path, "udp", &rows);
                    }
                    None => assert_endpoint_rows(path, &rows),
                }
            }
            let (o, t) = (ours(path), theirs(path));
            assert_eq!(o, t, "{}: labctl's dissection vs tshark's", path.display());
            all.icmp.extend(o.icmp);
            all.fragments.extend(o.fragments);
            all.syns.extend(o.syns);
            all.arp.extend(o.arp);
        }
        if let Err(e) = about(scenario.name, &all) {
            panic!("{}: {e} in {files:?}: {all:?}", scenario.name);
        }
        checked.insert(scenario.name, files.len());
    }
    assert_eq!(checked.len(), labctl::scenario::BUILTIN.len());
    let _ = std::fs::remove_dir_all(&out);
}
