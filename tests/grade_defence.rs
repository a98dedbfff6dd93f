//! The defence lab `find-the-attacker`, graded on captures the student would hand in: the lab
//! run for real (nmap's SYN scan, arpspoof's poisoning and its restore, on a hub, captured on
//! the monitor port), once as written and once with nmap's connect scan. The expected facts
//! are read with tshark, not with labctl: the scanner's Ethernet source, the ports that
//! answered SYN-ACK, the MAC address the poisoning announced. Each row of the table is one
//! answers.toml graded with `labctl grade --json`: full marks, or exactly the answer's points
//! lost with feedback that says why. Needs root, as the other grade tests.

mod kit;

use std::path::{Path, PathBuf};

use kit::grading::{check, each_row, grade, lost};
use kit::scratch;
use kit::tshark::tshark;

const ATTACKER: &str = "10.0.0.66";
const SERVER: &str = "10.0.0.20";

/// What tshark reads in a capture of the lab.
struct Facts {
    capture: PathBuf,
    attacker_mac: String,
    server_mac: String,
    /// The MAC address frames claimed for the server that is not its own.
    poisoned_mac: Option<String>,
    open: Vec<u16>,
    closed: Vec<u16>,
}

fn distinct(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if !out.iter().any(|o| o == line) {
            out.push(line.to_string());
        }
    }
    out
}

fn ports(capture: &Path, flags: &str) -> Vec<u16> {
    let filter = format!("ip.src == {SERVER} && ip.dst == {ATTACKER} && {flags}");
    let mut p: Vec<u16> = distinct(&tshark(
        capture,
        &["-Y", &filter, "-T", "fields", "-e", "tcp.srcport"],
    ))
    .iter()
    .map(|p| p.parse().unwrap())
    .collect();
    p.sort();
    p
}

fn facts(capture: PathBuf) -> Facts {
    let one = |filter: &str, field: &str| {
        distinct(&tshark(
            &capture,
            &["-Y", filter, "-T", "fields", "-e", field],
        ))
    };
    let attacker_mac = one(&format!("ip.src == {ATTACKER} && !icmp"), "eth.src");
    assert_eq!(
        attacker_mac.len(),
        1,
        "the scanner's MAC addresses: {attacker_mac:?}"
    );
    let server_mac = one(&format!("ip.src == {SERVER} && !icmp"), "eth.src");
    assert_eq!(
        server_mac.len(),
        1,
        "the server's MAC addresses: {server_mac:?}"
    );
    let claimed = one(
        &format!("arp.opcode == 2 && arp.src.proto_ipv4 == {SERVER}"),
        "arp.src.hw_mac",
    );
    let poisoned_mac = claimed.into_iter().find(|m| *m != server_mac[0]);
    Facts {
        open: ports(&capture, "tcp.flags.syn == 1 && tcp.flags.ack == 1"),
        closed: ports(&capture, "tcp.flags.reset == 1"),
        attacker_mac: attacker_mac[0].clone(),
        server_mac: server_mac[0].clone(),
        poisoned_mac,
        capture,
    }
}

/// Runs the lab (or its scenario with `edit` applied) and returns the monitor's capture.
fn run_lab(dir: &Path, edit: impl Fn(String) -> String) -> PathBuf {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/find-the-attacker.toml"),
    )
    .unwrap();
    std::fs::create_dir_all(dir).unwrap();
    let scenario = dir.join("find-the-attacker.toml");
    std::fs::write(&scenario, edit(text)).unwrap();
    let out = dir.join("run");
    let run = kit::run_command(&scenario, &out).output().unwrap();
    assert!(
        run.status.code() != Some(2),
        "the lab could not run: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    out.join("monitor-eth0.pcap")
}

/// One answers.toml and what its grade must be: `says` empty for full marks, else the one
/// check that loses its points and what its feedback says. `{mac}`, `{server_mac}`,
/// `{poisoned}` and `{open}` are filled from the capture's facts.
struct Row {
    name: &'static str,
    answers: &'static [(&'static str, &'static str)],
    lost: &'static str,
    says: &'static str,
}

const RIGHT: &[(&str, &str)] = &[
    ("attacker_ip", "\"10.0.0.66\""),
    ("attacker_mac", "\"{mac}\""),
    ("scan_kind", "\"syn\""),
    ("open_ports", "[{open}]"),
    ("poisoned_binding", "\"10.0.0.20 is-at {poisoned}\""),
];

/// `text` with the placeholders of a row filled from the capture's facts.
fn fill(text: &str, f: &Facts) -> String {
    let open: Vec<String> = f.open.iter().map(u16::to_string).collect();
    let reversed: Vec<String> = open.iter().rev().cloned().collect();
    text.replace("{mac}", &f.attacker_mac)
        .replace("{MAC}", &f.attacker_mac.to_uppercase().replace(':', "-"))
        .replace("{server_mac}", &f.server_mac)
        .replace("{poisoned}", f.poisoned_mac.as_deref().unwrap_or("none"))
        .replace("{open}", &open.join(", "))
        .replace("{open_rev}", &reversed.join(" "))
        .replace("{closed}", &f.closed[0].to_string())
}

/// The row's answers.toml: the right answers, with the row's own in their place.
fn answers(row: &Row, f: &Facts) -> String {
    RIGHT
        .iter()
        .map(|(key, value)| {
            let given = row
                .answers
                .iter()
                .find(|(k, _)| k == key)
                .map_or(*value, |(_, v)| *v);
            format!("{key} = {}\n", fill(given, f))
        })
        .collect()
}

fn table(root: &Path, f: &Facts, rows: &[Row]) {
    each_row(
        rows,
        |r| r.name,
        |r| {
            let dir = root.join(r.name);
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::copy(&f.capture, dir.join("capture.pcap")).unwrap();
            let text = answers(r, f);
            std::fs::write(dir.join("answers.toml"), &text).unwrap();
            let g = grade("find-the-attacker", &dir);
            if r.lost.is_empty() {
                assert_eq!(g["score"], g["max"], "{text}: {g:#}");
                return;
            }
            assert_eq!(lost(&g), [r.lost], "{text}: {g:#}");
            let (points, feedback) = check(&g, r.lost);
            assert_eq!(points, 0);
            let says = fill(r.says, f);
            assert!(
                feedback.contains(&says),
                "{text}: {feedback:?} does not say {says:?}"
            );
        },
    );
}

const fn row(
    name: &'static str,
    answers: &'static [(&'static str, &'static str)],
    lost: &'static str,
    says: &'static str,
) -> Row {
    Row {
        name,
        answers,
        lost,
        says,
    }
}

const SYN_ROWS: &[Row] = &[
    row("right", &[], "", ""),
    // The same answers as a networker may write them.
    row(
        "written-otherwise",
        &[
            ("attacker_mac", "\"{MAC}\""),
            ("scan_kind", "\"TCP SYN (half-open) scan\""),
            ("open_ports", "\"{open_rev}\""),
            ("poisoned_binding", "\"{poisoned} = 10.0.0.20\""),
        ],
        "",
        "",
    ),
    row("stealth", &[("scan_kind", "\"-sS\"")], "", ""),
    row(
        "victim-as-attacker",
        &[("attacker_ip", "\"10.0.0.20\"")],
        "attacker-ip",
        "10.0.0.20 is the scanned host; the probes to its ports came from 10.0.0.66",
    ),
    row(
        "client-as-attacker",
        &[("attacker_ip", "\"10.0.0.10\"")],
        "attacker-ip",
        "10.0.0.10 scanned nothing in your capture",
    ),
    row(
        "server-mac",
        &[("attacker_mac", "\"{server_mac}\"")],
        "attacker-mac",
        "{server_mac} is the Ethernet source of 10.0.0.20's packets; the scanner 10.0.0.66's \
         came from {mac}",
    ),
    row(
        "connect-for-syn",
        &[("scan_kind", "\"connect\"")],
        "scan-kind",
        "your capture shows a SYN scan, not a connect scan",
    ),
    row(
        "ping-sweep",
        &[("scan_kind", "\"ping sweep\"")],
        "scan-kind",
        "names no kind of TCP scan",
    ),
    row(
        "closed-port-listed",
        &[("open_ports", "[{open}, {closed}]")],
        "open-ports",
        "{closed} is closed: it answered the scan with RST",
    ),
    row(
        "port-missed",
        &[("open_ports", "[21]")],
        "open-ports",
        "misses 25, which answered the scan's SYN with SYN-ACK",
    ),
    row(
        "true-binding",
        &[("poisoned_binding", "\"10.0.0.20 is-at {server_mac}\"")],
        "poisoned-binding",
        "{server_mac} is 10.0.0.20's true address, the one the poisoning replaced",
    ),
    row(
        "wrong-address",
        &[("poisoned_binding", "\"10.0.0.10 is-at {poisoned}\"")],
        "poisoned-binding",
        "10.0.0.10's ARP binding never changed in your capture",
    ),
    row(
        "no-binding",
        &[("poisoned_binding", "\"the server\"")],
        "poisoned-binding",
        "write the binding as \"IP is-at MAC\"",
    ),
];

#[test]
fn find_the_attacker_is_graded_on_the_students_own_capture() {
    let root = scratch("grade-defence");
    let syn = facts(run_lab(&root.join("syn"), |t| t));
    assert_eq!(syn.open, [21, 25, 80], "open ports in tshark's reading");
    assert!(syn.poisoned_mac.as_deref() == Some(syn.attacker_mac.as_str()));
    table(&root.join("syn-rows"), &syn, SYN_ROWS);

    // The reference answers, on another run's capture: the MAC addresses differ (each run
    // makes its own), so the MAC answers lose their points and nothing else does.
    let dir = root.join("reference-answers");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(&syn.capture, dir.join("capture.pcap")).unwrap();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("labs/find-the-attacker/reference/answers.toml"),
        dir.join("answers.toml"),
    )
    .unwrap();
    let g = grade("find-the-attacker", &dir);
    assert_eq!(lost(&g), ["attacker-mac", "poisoned-binding"], "{g:#}");

    // nmap's connect scan: the same answers now miss the kind, and only the kind.
    let connect = facts(run_lab(&root.join("connect"), |t| {
        t.replace("\"-sS\"", "\"-sT\"")
    }));
    assert_eq!(connect.open, [21, 25, 80]);
    let rows = [
        row("connect-right", &[("scan_kind", "\"connect\"")], "", ""),
        row(
            "syn-for-connect",
            &[("scan_kind", "\"SYN\"")],
            "scan-kind",
            "your capture shows a connect scan, not a SYN scan: the scanner completed the \
             handshake with each open port",
        ),
    ];
    table(&root.join("connect-rows"), &connect, &rows);
}
