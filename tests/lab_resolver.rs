//! The lab's own `/etc/resolv.conf`, through the binary: a host of the lab resolves through
//! the lab's DNS service (`dig` without `@server`), and a program that rewrites the resolver
//! file (as dhclient's script or resolvconf do) writes the run's copy, never the machine's.
//! Needs root, as every lab.

mod kit;

use kit::{assert_exit, run_json, scratch_file};

const SCENARIO: &str = r#"name = "resolver"
snapshot = false
[hosts.client]
[hosts.ns]
[[links]]
ends = ["client:eth0 10.0.0.1/24", "ns:eth0 10.0.0.53/24"]
[services.dns]
host = "ns"
kind = "dns"
zone = """
$ORIGIN example.test.
$TTL 3600
@ IN SOA ns1 hostmaster ( 1 7200 3600 1209600 300 )
  IN NS ns1
  IN A 192.0.2.7
"""
[[steps]]
host = "client"
exec = ["dig", "+short", "+tries=1", "example.test"]
[[steps]]
host = "client"
exec = ["tee", "/etc/resolv.conf"]
send = "nameserver 192.0.2.99\n"
"#;

#[test]
fn a_lab_resolves_through_its_own_dns_and_never_writes_the_machines_resolver() {
    let before = std::fs::read("/etc/resolv.conf").ok();
    let (dir, path) = scratch_file("lab-resolver", "resolver.toml", SCENARIO);
    let out = dir.join("run");
    let (o, report) = run_json(&path, &out);
    assert_exit(&o, 0);
    assert_eq!(report["steps"][0]["stdout"], "192.0.2.7\n", "{report:#}");
    assert_eq!(
        std::fs::read("/etc/resolv.conf").ok(),
        before,
        "the machine's file changed"
    );
    let copy = std::fs::read_to_string(out.join("etc-resolv.conf")).unwrap();
    assert_eq!(
        copy, "nameserver 192.0.2.99\n",
        "the run's copy took the write"
    );
}
