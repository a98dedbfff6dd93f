//! DHCP with the real clients and servers of Debian, all inside one labctl lab (nothing here
//! touches the machine's own interfaces, leases or resolver): busybox `udhcpc` and ISC
//! `dhclient` get leases from `labctl serve dhcp` run as a program in a lab host, `udhcpc` gets
//! one from a `kind = "dhcp"` service, and labctl's `dhcp` step gets one from `dnsmasq`. The
//! clients' hook script and lease files live in the test's scratch directory; the captures
//! must read clean in tshark, with the four DORA messages. `labctl serve dhcp` refuses the
//! interface of a default route (exit 2, saying why), checked in a throwaway namespace.

mod kit;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::Value;

use kit::{Netns, require, run_json, scratch, tshark::tshark};

/// Writes down each lease the real clients report; stops dhclient (in the foreground, so that
/// its step ends) once it is bound.
const HOOK: &str = r#"#!/bin/sh
echo "${1:-$reason} ip=${ip:-$new_ip_address} router=${router:-$new_routers} lease=${lease:-$new_dhcp_lease_time}" >> "$(dirname "$0")/leases.log"
if [ "$reason" = BOUND ]; then kill -TERM "$PPID"; fi
"#;

const LAB: &str = r#"
name = "dhcp-interop"
summary = "real DHCP clients and servers against labctl's"

[hosts.serve]
[hosts.busybox]
[hosts.isc]
[hosts.labsrv]
[hosts.busybox2]
[hosts.masq]
[hosts.client]

# labctl serve dhcp, as a person runs it, with udhcpc and dhclient on one switch.
[switches.lan]
ports = ["serve:eth0 10.0.0.1/24", "busybox:eth0", "isc:eth0"]
capture = ["serve:eth0"]

[services.serve]
host = "serve"
kind = "program"
argv = ["LABCTL", "serve", "dhcp", "--interface", "eth0", "--range", "10.0.0.100-10.0.0.150", "--router", "10.0.0.1", "--dns", "10.0.0.1", "--lease", "10m"]

# The lab's own DHCP service, and udhcpc.
[[links]]
ends = ["labsrv:eth0 10.0.2.1/24", "busybox2:eth0"]
capture = "busybox2"

[services.dhcp]
host = "labsrv"
kind = "dhcp"
range = "10.0.2.100-10.0.2.150"
router = "10.0.2.1"
lease = "1h"

# dnsmasq, and labctl's client. In the sandbox only uid 0 is mapped: dnsmasq stays root and
# changes no group.
[[links]]
ends = ["masq:eth0 10.0.1.1/24", "client:eth0"]
capture = "client"

[services.dnsmasq]
host = "masq"
kind = "program"
argv = ["dnsmasq", "--user=root", "--group=", "--keep-in-foreground", "--port=0", "--no-resolv", "--no-hosts", "--interface=eth0", "--bind-interfaces", "--dhcp-range=10.0.1.50,10.0.1.60,10m", "--dhcp-option=option:router,10.0.1.1", "--dhcp-leasefile=DIR/dnsmasq.leases", "--pid-file="]

[[steps]]
host = "busybox"
exec = ["busybox", "udhcpc", "-i", "eth0", "-n", "-q", "-f", "-t", "5", "-T", "1", "-s", "DIR/hook.sh"]
timeout = "10s"

# dhclient stays in the foreground (-d) until the hook stops it with SIGTERM once bound.
[[steps]]
host = "isc"
exec = ["dhclient", "-1", "-v", "-d", "-sf", "DIR/hook.sh", "-lf", "DIR/dhclient.leases", "-pf", "DIR/dhclient.pid", "eth0"]
timeout = "15s"
outcome = "failed"

[[steps]]
host = "busybox2"
exec = ["busybox", "udhcpc", "-i", "eth0", "-n", "-q", "-f", "-t", "5", "-T", "1", "-s", "DIR/hook.sh"]
timeout = "10s"

[[steps]]
host = "client"
dhcp = "eth0"
timeout = "10s"
"#;

struct Run {
    dir: PathBuf,
    out: PathBuf,
    report: Value,
}

fn run() -> &'static Run {
    static RUN: OnceLock<Run> = OnceLock::new();
    RUN.get_or_init(|| {
        require("busybox", "busybox");
        require("dhclient", "isc-dhcp-client");
        require("dnsmasq", "dnsmasq-base");
        require("tshark", "tshark");
        let dir = scratch("dhcp-interop");
        let hook = dir.join("hook.sh");
        std::fs::write(&hook, HOOK).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
        let lab = LAB
            .replace("DIR", dir.to_str().unwrap())
            .replace("LABCTL", env!("CARGO_BIN_EXE_labctl"));
        let toml = dir.join("dhcp-interop.toml");
        std::fs::write(&toml, lab).unwrap();
        let out = dir.join("out");
        let (_, report) = run_json(&toml, &out);
        Run { dir, out, report }
    })
}

fn step(n: usize) -> &'static Value {
    &run().report["steps"][n]
}

fn leases() -> String {
    std::fs::read_to_string(run().dir.join("leases.log")).unwrap_or_default()
}

/// tshark's one-line summary of every DHCP frame of a capture, checking it reads clean.
fn dhcp_lines(capture: &Path) -> Vec<String> {
    let all = tshark(capture, &[]);
    assert!(
        !all.contains("Malformed"),
        "tshark finds a malformed frame in {}:\n{all}",
        capture.display()
    );
    tshark(capture, &["-Y", "dhcp"])
        .lines()
        .map(str::to_string)
        .collect()
}

/// The four DORA messages, in order, from message `from` on (retransmissions allowed).
fn assert_dora(lines: &[String], from: usize) {
    let mut at = from;
    for kind in ["Discover", "Offer", "Request", "ACK"] {
        let found = lines[at.min(lines.len())..]
            .iter()
            .position(|l| l.contains(&format!("DHCP {kind} ")));
        let Some(i) = found else {
            panic!("no DHCP {kind} after message {at}: {lines:#?}")
        };
        at += i + 1;
    }
}

#[test]
fn udhcpc_gets_a_lease_from_labctl_serve_dhcp() {
    assert_eq!(step(0)["outcome"], "ok", "{}", step(0));
    assert!(
        leases().contains("bound ip=10.0.0.100 router=10.0.0.1 lease=600"),
        "udhcpc's lease: {}",
        leases()
    );
    let lines = dhcp_lines(&run().out.join("serve-eth0.pcap"));
    assert_dora(&lines, 0);
}

#[test]
fn dhclient_gets_a_lease_from_labctl_serve_dhcp() {
    // The hook ends dhclient with SIGTERM once bound: the step is "failed" by design.
    assert_eq!(step(1)["outcome"], "failed", "{}", step(1));
    assert!(
        leases().contains("BOUND ip=10.0.0.101 router=10.0.0.1 lease=600"),
        "dhclient's lease: {}",
        leases()
    );
    let lines = dhcp_lines(&run().out.join("serve-eth0.pcap"));
    assert_eq!(lines.len(), 8, "two DORA exchanges: {lines:#?}");
    assert_dora(&lines, 4);
}

#[test]
fn udhcpc_gets_a_lease_from_a_dhcp_service_in_a_lab() {
    assert_eq!(step(2)["outcome"], "ok", "{}", step(2));
    assert!(
        leases().contains("bound ip=10.0.2.100 router=10.0.2.1 lease=3600"),
        "{}",
        leases()
    );
    let lines = dhcp_lines(&run().out.join("busybox2-eth0.pcap"));
    assert_eq!(lines.len(), 4, "{lines:#?}");
    assert_dora(&lines, 0);
}

#[test]
fn labctl_client_gets_a_lease_from_dnsmasq() {
    let s = step(3);
    assert_eq!(s["outcome"], "ok", "{s}");
    let detail = s["detail"].as_str().unwrap_or("");
    assert!(
        detail.starts_with("leased 10.0.1.") && detail.contains("from 10.0.1.1 for 600s"),
        "{detail}"
    );
    let lines = dhcp_lines(&run().out.join("client-eth0.pcap"));
    // dnsmasq checks the address with a ping before it offers, so the client sends DISCOVER
    // again meanwhile, and each copy gets its offer.
    assert_dora(&lines, 0);
}

#[test]
fn serve_dhcp_refuses_the_interface_of_the_default_route() {
    let ns = Netns::new();
    ns.ok(
        "ip",
        &["link", "add", "d0", "type", "veth", "peer", "name", "d1"],
    );
    ns.ok("ip", &["link", "set", "d0", "up"]);
    ns.ok("ip", &["addr", "add", "192.0.2.10/24", "dev", "d0"]);
    ns.ok("ip", &["route", "add", "default", "via", "192.0.2.1"]);
    let out = ns
        .command(env!("CARGO_BIN_EXE_labctl"))
        .args([
            "serve",
            "dhcp",
            "--interface",
            "d0",
            "--range",
            "192.0.2.100-192.0.2.110",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("refusing to serve on d0") && err.contains("default route"),
        "{err}"
    );
}
