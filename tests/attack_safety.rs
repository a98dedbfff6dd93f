//! The attack labs are safe by structure: they run only inside labctl's own namespaces,
//! against lab addresses, never through a shell, and leave the machine that runs them as it
//! was.
//!
//! - From each `scenarios/attack-*.toml` plan: every address is a lab address (10.0.0.0/8 or
//!   a documentation range), no route leads anywhere but to a lab host, every program (step
//!   or service) is started from an argument vector whose program is no shell or interpreter,
//!   and every address or URL among its arguments is a lab address, a lab host, or the
//!   loopback of the lab host it runs in.
//! - Running every attack lab for real: no interface appears in this test's own network
//!   namespace while they run (no veth of a lab has its peer here), and this namespace's
//!   links, iptables rules (`iptables-save`, counters and dates left out) and neighbour
//!   entries for lab addresses are the same afterwards.

mod kit;

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use labctl::scenario::{Action, Plan, ServiceKind};

/// Programs that would run their arguments as code: an attack never goes through one.
const SHELLS: &[&str] = &[
    "sh", "bash", "dash", "zsh", "ksh", "csh", "busybox", "env", "xargs", "sudo", "su", "python",
    "python3", "perl", "ruby", "nsenter", "ip",
];

fn attack_labs() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut labs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("scenarios/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("attack-") && n.ends_with(".toml"))
        })
        .collect();
    labs.sort();
    assert!(labs.len() >= 6, "the attack labs are missing: {labs:?}");
    labs
}

fn load(path: &std::path::Path) -> Plan {
    labctl::scenario::load(path.to_str().expect("utf-8 path"))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// 10.0.0.0/8 and the three documentation ranges.
fn lab_address(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            o[0] == 10
                || (o[0], o[1], o[2]) == (192, 0, 2)
                || (o[0], o[1], o[2]) == (198, 51, 100)
                || (o[0], o[1], o[2]) == (203, 0, 113)
        }
        // IPv6 documentation prefix 2001:db8::/32 only.
        IpAddr::V6(v6) => v6.segments()[..2] == [0x2001, 0x0db8],
    }
}

/// The addresses an argument names: `10.0.0.2`, `10.0.0.0/24`, `10.0.0.1-50`, `@10.0.0.2`,
/// or the host of a URL; host names come back as words to look up among the lab's hosts.
fn named_in(arg: &str) -> Option<String> {
    let arg = arg.trim_start_matches('@');
    // A URL is an argument that starts with its scheme (not a User-Agent quoting one).
    if let Some((scheme, rest)) = arg.split_once("://") {
        if !scheme.is_empty() && scheme.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Some(rest.split(['/', ':', '?']).next().unwrap_or("").to_string());
        }
    }
    let first = arg.split(['/', '-']).next().unwrap_or("");
    first.parse::<IpAddr>().is_ok().then(|| first.to_string())
}

/// Every program a plan starts, with its arguments.
fn programs(plan: &Plan) -> Vec<&[String]> {
    let steps = plan.steps.iter().filter_map(|s| match &s.action {
        Action::Exec { argv, .. } => Some(argv.as_slice()),
        _ => None,
    });
    let services = plan.services.iter().filter_map(|s| match &s.kind {
        ServiceKind::Program { argv, .. } => Some(argv.as_slice()),
        _ => None,
    });
    steps.chain(services).collect()
}

#[test]
fn attack_labs_name_only_lab_addresses_and_start_no_shell() {
    for path in attack_labs() {
        let plan = load(&path);
        let name = &plan.name;
        let lab: Vec<IpAddr> = plan.addresses().map(|(a, _)| a).collect();
        for addr in &lab {
            assert!(lab_address(addr), "{name}: {addr} is not a lab address");
        }
        // A route leads only to a lab host: its gateway is one of the lab's own addresses.
        for route in &plan.routes {
            if let Some(dest) = &route.dest {
                assert!(lab_address(&dest.addr), "{name}: a route to {dest}");
            }
            match route.via {
                Some(via) => assert!(lab.contains(&via), "{name}: a route via {via}"),
                None => assert!(
                    route.dest.is_some(),
                    "{name}: a default route without gateway"
                ),
            }
        }
        let programs = programs(&plan);
        // The traffic comes from a real tool, or from a craft step, which sends only to a
        // host on the same link (checked when the scenario is loaded).
        let crafts = plan
            .steps
            .iter()
            .filter(|s| matches!(s.action, Action::Craft(_)))
            .count();
        assert!(
            !programs.is_empty() || crafts > 0,
            "{name}: an attack lab runs a real tool or a craft step"
        );
        for argv in programs {
            let program = argv[0].rsplit('/').next().unwrap_or_default();
            assert!(
                !SHELLS.contains(&program),
                "{name}: {argv:?} goes through {program}"
            );
            for arg in &argv[1..] {
                let Some(target) = named_in(arg) else {
                    continue;
                };
                // Loopback is the lab host's own, inside its namespace (the tunnel's ends).
                let ok = match target.parse::<IpAddr>() {
                    Ok(ip) => lab_address(&ip) || ip.is_loopback(),
                    Err(_) => plan.hosts.iter().any(|h| h.name == target),
                };
                assert!(ok, "{name}: {argv:?} names {target}, outside the lab");
            }
            // The scanners must not ask a DNS server outside: -n everywhere nmap runs.
            if program == "nmap" {
                assert!(
                    argv.iter().any(|a| a == "-n"),
                    "{name}: {argv:?} without -n"
                );
            }
        }
    }
}

fn output(program: &str, args: &[&str]) -> String {
    kit::stdout_of(Command::new(kit::require(program, "iproute2")).args(args))
}

/// This namespace's links by name, with their flags and addresses (no counters).
fn links() -> BTreeSet<String> {
    output("ip", &["-o", "link", "show"])
        .lines()
        .map(|l| {
            // "3: eth0@if4: <BROADCAST,...> mtu 1500 ... link/ether aa:bb:.. brd ..": the index
            // and the queue state change on their own; the name, flags and address do not.
            let words: Vec<&str> = l.split_whitespace().collect();
            let name = words.get(1).copied().unwrap_or_default();
            let flags = words.get(2).copied().unwrap_or_default();
            let mac = words
                .iter()
                .position(|w| w.starts_with("link/"))
                .and_then(|i| words.get(i + 1))
                .copied()
                .unwrap_or_default();
            format!("{name} {flags} {mac}")
        })
        .collect()
}

fn link_names() -> BTreeSet<String> {
    links()
        .into_iter()
        .map(|l| l.split(' ').next().unwrap_or_default().to_string())
        .collect()
}

/// The rules, without the dates of the comment lines and the packet counters.
fn rules() -> String {
    kit::require("iptables-save", "iptables");
    output("iptables-save", &[])
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            if l.starts_with(':') {
                // ":INPUT ACCEPT [12:3456]": the chain and policy, not the counters.
                l.split(" [").next().unwrap_or(l).to_string()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Neighbour entries for lab addresses.
fn lab_neighbours() -> Vec<String> {
    output("ip", &["neigh", "show"])
        .lines()
        .filter(|l| {
            l.split_whitespace()
                .next()
                .and_then(|a| a.parse::<IpAddr>().ok())
                .is_some_and(|a| lab_address(&a))
        })
        .map(|l| l.split_whitespace().take(5).collect::<Vec<_>>().join(" "))
        .collect()
}

#[test]
fn running_the_attack_labs_leaves_this_namespace_as_it_was() {
    for tool in ["nmap", "hping3", "arpspoof"] {
        kit::require(tool, if tool == "arpspoof" { "dsniff" } else { tool });
    }
    let (links_before, rules_before, neigh_before) = (links(), rules(), lab_neighbours());
    let names_before = link_names();
    // A watcher looks for any new interface here while the labs run.
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = {
        let stop = stop.clone();
        let before = names_before.clone();
        std::thread::spawn(move || {
            let mut appeared = BTreeSet::new();
            while !stop.load(Ordering::Acquire) {
                appeared.extend(link_names().difference(&before).cloned());
                std::thread::sleep(Duration::from_millis(20));
            }
            appeared
        })
    };
    let dir = kit::scratch("attack-safety");
    for path in attack_labs() {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let (o, report) = kit::labctl_json(kit::labctl().args([
            "run",
            path.to_str().unwrap(),
            "--json",
            "--out",
            dir.join(&name).to_str().unwrap(),
        ]));
        assert_eq!(
            report["passed"],
            true,
            "{name} failed (exit {:?}): {}",
            o.status.code(),
            report["checks"]
        );
    }
    stop.store(true, Ordering::Release);
    let appeared = watcher.join().expect("the watcher");
    assert!(
        appeared.is_empty(),
        "interfaces appeared in this namespace while the attack labs ran: {appeared:?}"
    );
    assert_eq!(links(), links_before, "this namespace's links changed");
    assert_eq!(
        rules(),
        rules_before,
        "this namespace's iptables rules changed"
    );
    assert_eq!(
        lab_neighbours(),
        neigh_before,
        "this namespace's neighbour entries for lab addresses changed"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_argument_reader_finds_addresses_and_urls() {
    assert_eq!(named_in("10.0.0.1-50").as_deref(), Some("10.0.0.1"));
    assert_eq!(named_in("10.0.0.0/24").as_deref(), Some("10.0.0.0"));
    assert_eq!(named_in("@10.0.0.2").as_deref(), Some("10.0.0.2"));
    assert_eq!(
        named_in("http://server/newsdetails.php?id=1").as_deref(),
        Some("server")
    );
    assert_eq!(named_in("http://8.8.8.8/").as_deref(), Some("8.8.8.8"));
    assert!(!lab_address(&"8.8.8.8".parse().unwrap()));
    assert_eq!(named_in("-sS"), None);
    assert_eq!(named_in("sqlmap/1.7.2#stable (https://sqlmap.org)"), None);
    assert_eq!(named_in("1-200"), None);
}
