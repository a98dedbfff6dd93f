//! The DNS server against dig: UDP, TCP, NXDOMAIN, REFUSED, PTR, EDNS and truncation, on
//! loopback.

mod kit;

use std::process::Command;
use std::time::Duration;

use kit::{Running, assert_contains, require, run, start_udp_tcp, succeeded};
use labctl::services::dns::{DnsConfig, Zone, serve};

const ZONE: &str = "\
$ORIGIN example.test.
$TTL 3600
@       IN SOA  ns1 hostmaster ( 2024010101 7200 3600 1209600 300 )
        IN NS   ns1
        IN MX   10 mail
ns1     IN A    10.0.0.53
mail    IN A    10.0.0.25
www     IN CNAME web
web     IN A    10.0.0.80
";

const REVERSE: &str = "\
$ORIGIN 0.0.10.in-addr.arpa.
$TTL 3600
@  IN SOA ns1.example.test. hostmaster.example.test. 1 7200 3600 1209600 300
25 IN PTR mail.example.test.
";

fn start() -> Running {
    let mut zone = ZONE.to_string();
    for i in 0..100 {
        zone.push_str(&format!("big IN A 10.0.1.{i}\n"));
    }
    let zones = vec![
        Zone::parse(&zone, None).unwrap(),
        Zone::parse(REVERSE, None).unwrap(),
    ];
    start_udp_tcp(move |udp, tcp, shutdown| serve(udp, tcp, DnsConfig { zones }, shutdown))
}

fn dig(server: &Running, args: &[&str]) -> String {
    let mut cmd = Command::new(require("dig", "bind9-dnsutils"));
    cmd.arg("@127.0.0.1")
        .args(["-p", &server.addr.port().to_string(), "+time=3", "+tries=1"])
        .args(args);
    succeeded("dig", &run(cmd, None, Duration::from_secs(20)))
}

#[test]
fn dig_mx_over_udp() {
    let server = start();
    let out = dig(&server, &["mx", "example.test"]);
    assert_contains(
        &out,
        &[
            "status: NOERROR",
            "flags: qr aa rd;",
            "ANSWER: 1, AUTHORITY: 0, ADDITIONAL: 2",
            "example.test.\t\t3600\tIN\tMX\t10 mail.example.test.",
            "mail.example.test.\t3600\tIN\tA\t10.0.0.25",
            &format!("SERVER: 127.0.0.1#{}(127.0.0.1) (UDP)", server.addr.port()),
        ],
    );
}

#[test]
fn dig_answers_with_edns() {
    let server = start();
    let out = dig(&server, &["a", "web.example.test"]);
    assert_contains(&out, &["; EDNS: version: 0, flags:; udp: 1232"]);
    let out = dig(&server, &["+noedns", "a", "web.example.test"]);
    assert!(!out.contains("OPT PSEUDOSECTION"), "{out}");
    assert_contains(&out, &["web.example.test.\t3600\tIN\tA\t10.0.0.80"]);
}

#[test]
fn dig_over_tcp() {
    let server = start();
    let out = dig(&server, &["+tcp", "a", "www.example.test"]);
    assert_contains(
        &out,
        &[
            "(TCP)",
            "www.example.test.\t3600\tIN\tCNAME\tweb.example.test.",
            "web.example.test.\t3600\tIN\tA\t10.0.0.80",
        ],
    );
}

#[test]
fn dig_nxdomain() {
    let server = start();
    let out = dig(&server, &["a", "nope.example.test"]);
    assert_contains(
        &out,
        &[
            "status: NXDOMAIN",
            "AUTHORITY SECTION",
            "IN\tSOA\tns1.example.test. hostmaster.example.test. 2024010101",
        ],
    );
}

#[test]
fn dig_outside_the_zone_is_refused() {
    let server = start();
    let out = dig(&server, &["a", "www.example.com"]);
    assert_contains(&out, &["status: REFUSED"]);
}

#[test]
fn dig_reverse_lookup() {
    let server = start();
    let out = dig(&server, &["-x", "10.0.0.25"]);
    assert_contains(
        &out,
        &["25.0.0.10.in-addr.arpa.\t3600\tIN\tPTR\tmail.example.test."],
    );
}

#[test]
fn dig_retries_a_truncated_answer_over_tcp() {
    let server = start();
    let out = dig(&server, &["+noedns", "a", "big.example.test"]);
    assert_contains(&out, &["Truncated, retrying in TCP mode.", "ANSWER: 100,"]);
}
