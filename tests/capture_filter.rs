//! `capture_filter = "BPF"` on a scenario link, through the binary: the lab's capture keeps
//! only what the expression matches (judged by tshark on the file labctl wrote), the stop stage
//! waits for what the filter kept (nothing reported missing), and a bad expression is refused
//! at its place with libpcap's message, exit 2, nothing built. Needs root, as every lab.

mod kit;

use kit::tshark::tshark;
use kit::{assert_exit, assert_stderr_has, root, run_command, run_json, scratch_file};

fn scenario(filter: &str) -> String {
    let text = std::fs::read_to_string(root().join("scenarios/homework-redirect.toml")).unwrap();
    assert!(
        text.contains("\ncapture = \"server\"\n"),
        "the lab's link captures the server"
    );
    text.replace(
        "\ncapture = \"server\"\n",
        &format!("\ncapture = \"server\"\ncapture_filter = {filter:?}\n"),
    )
}

#[test]
fn a_link_capture_keeps_only_what_its_filter_matches() {
    let (dir, path) = scratch_file(
        "capture-filter",
        "filtered.toml",
        scenario("tcp port 27664 or tcp port 21"),
    );
    let out = dir.join("run");
    let (o, report) = run_json(&path, &out);
    assert_exit(&o, 0);
    let capture = &report["captures"][0];
    assert_eq!(capture["missing"], 0, "{capture:#}");
    let pcap = out.join("server-eth0.pcap");
    let count = |expr: &str| tshark(&pcap, &["-Y", expr]).lines().count();
    assert_eq!(count("arp"), 0, "ARP is left out");
    assert_eq!(count("!(tcp.port == 21 || tcp.port == 27664)"), 0);
    assert!(
        count("tcp.port == 21 && tcp.flags.syn == 1") >= 2,
        "the redirected handshake"
    );
    assert!(
        count("tcp.port == 27664 && tcp.flags.syn == 1") >= 2,
        "the direct handshake"
    );
    assert_eq!(
        tshark(&pcap, &[]).lines().count() as u64,
        capture["packets"].as_u64().unwrap()
    );
}

#[test]
fn a_bad_capture_filter_is_refused_at_its_place() {
    let (dir, path) = scratch_file("capture-filter-bad", "bad.toml", scenario("tcp port 99999"));
    let out = dir.join("run");
    let o = run_command(&path, &out).output().unwrap();
    assert_exit(&o, 2);
    assert_stderr_has(
        &o,
        "bad capture filter \"tcp port 99999\": illegal port number",
    );
    assert_stderr_has(&o, "hint: capture_filter takes a BPF expression");
    assert!(!out.exists(), "nothing is left behind");
}
