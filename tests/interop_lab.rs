//! The real clients people use, run as `exec` steps inside a lab against labctl's servers
//! bound in the server host's namespace: curl (HTTP, and FTP with EPSV and with PASV), lftp,
//! the `ftp` program (tnftp) in passive mode, swaks, dig (UDP, +tcp, NXDOMAIN), nc and telnet.
//! The lab (`tests/scenarios/interop-lab.toml`) runs once; each test checks one client's step.

mod kit;

use std::path::PathBuf;
use std::sync::OnceLock;

use serde_json::Value;

use kit::{assert_contains, labctl, labctl_json, require, scratch};

const CLIENTS: &[(&str, &str)] = &[
    ("curl", "curl"),
    ("lftp", "lftp"),
    ("ftp", "tnftp"),
    ("swaks", "swaks"),
    ("dig", "bind9-dnsutils"),
    ("nc", "netcat-openbsd"),
    ("telnet", "telnet"),
];

struct Lab {
    report: Value,
    out: PathBuf,
}

fn lab() -> &'static Lab {
    static LAB: OnceLock<Lab> = OnceLock::new();
    LAB.get_or_init(|| {
        for (program, package) in CLIENTS {
            require(program, package);
        }
        let out = scratch("interop-lab");
        let (_, report) = labctl_json(
            labctl()
                .args(["run", "tests/scenarios/interop-lab.toml", "--json", "--out"])
                .arg(&out)
                .current_dir(env!("CARGO_MANIFEST_DIR")),
        );
        Lab { report, out }
    })
}

/// The step whose command line starts with `title`, after checking it exited 0.
fn step(title: &str) -> (String, String) {
    let steps = lab().report["steps"].as_array().expect("steps");
    let s = steps
        .iter()
        .find(|s| s["title"].as_str().unwrap_or("").starts_with(title))
        .unwrap_or_else(|| panic!("no step {title:?}"));
    let stdout = s["stdout"].as_str().unwrap_or("").to_string();
    let stderr = s["stderr"].as_str().unwrap_or("").to_string();
    assert_eq!(
        s["exit_code"], 0,
        "{title}: {}\nstdout: {stdout}\nstderr: {stderr}",
        s["detail"]
    );
    (stdout, stderr)
}

/// The built-in client step titled `title`, after checking it came out ok.
fn builtin(title: &str) -> &'static Value {
    let steps = lab().report["steps"].as_array().expect("steps");
    let s = steps
        .iter()
        .find(|s| s["title"] == title)
        .unwrap_or_else(|| panic!("no step {title:?}"));
    assert_eq!(s["outcome"], "ok", "{s:#}");
    s
}

#[test]
fn every_check_of_the_lab_passes() {
    let report = &lab().report;
    let failed: Vec<&Value> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["passed"] != true)
        .collect();
    assert!(failed.is_empty(), "failed checks: {failed:#?}");
}

#[test]
fn curl_gets_the_page() {
    let (stdout, _) = step("curl -sS http://server/");
    assert_eq!(stdout, "<h1>served inside the lab</h1>\n");
}

#[test]
fn curl_ftp_with_epsv() {
    let (stdout, stderr) = step("curl -sS -v --ftp-pasv ftp://");
    assert_eq!(stdout, "Debian mirror of the lab.\n");
    assert_contains(
        &stderr,
        &["> EPSV", "< 229 Entering Extended Passive Mode (|||40000|)"],
    );
}

#[test]
fn curl_ftp_with_pasv_names_the_servers_lab_address() {
    let (stdout, stderr) = step("curl -sS -v --ftp-pasv --disable-epsv");
    assert_eq!(stdout, "Debian mirror of the lab.\n");
    assert_contains(
        &stderr,
        &["> PASV", "< 227 Entering Passive Mode (10,0,0,2,156,64)"],
    );
}

#[test]
fn lftp_reads_inline_and_directory_files() {
    let (stdout, _) = step("lftp");
    assert_eq!(stdout, "Debian mirror of the lab.\npub/notes.txt\n");
}

#[test]
fn tnftp_fetches_in_passive_mode() {
    let (stdout, _) = step("ftp -p");
    assert_eq!(stdout, "notes from a real directory\n");
}

#[test]
fn swaks_delivers_to_the_mailbox() {
    let (stdout, _) = step("swaks");
    assert_contains(
        &stdout,
        &["<-  250 2.0.0 Ok: queued as", "<-  221 2.0.0 Bye"],
    );
    let mailbox = std::fs::read_to_string(lab().out.join("hosts/server/mailbox")).unwrap();
    assert!(mailbox.starts_with("From alice@example.test "), "{mailbox}");
    assert_contains(
        &mailbox,
        &["Subject: from swaks", "Sent by swaks inside the lab."],
    );
}

#[test]
fn dig_over_udp_gets_the_mx() {
    let (stdout, _) = step("dig @server example.test MX");
    assert_contains(
        &stdout,
        &[
            "status: NOERROR",
            "example.test.\t\t3600\tIN\tMX\t10 mail.example.test.",
            "(UDP)",
        ],
    );
}

#[test]
fn dig_over_tcp() {
    let (stdout, _) = step("dig @server +tcp");
    assert_contains(
        &stdout,
        &["www.example.test.\t3600\tIN\tA\t10.0.0.2", "(TCP)"],
    );
}

#[test]
fn dig_nxdomain() {
    let (stdout, _) = step("dig @server nosuch");
    assert_contains(&stdout, &["status: NXDOMAIN", "AUTHORITY: 1"]);
}

#[test]
fn nc_reads_the_smtp_banner() {
    let (stdout, _) = step("nc -N");
    assert_eq!(stdout, "220 mail.example.test ESMTP labctl\r\n");
}

#[test]
fn telnet_reads_the_ftp_banner() {
    let (stdout, _) = step("telnet server 21");
    assert_contains(
        &stdout,
        &["Connected to server.", "220 (labctl FTP)", "221 Goodbye."],
    );
}

#[test]
fn builtin_smtp_finds_the_mail_host_by_mx() {
    let s = builtin("smtp mx example.test (resolver server)");
    let transcript = kit::strings(&s["transcript"]);
    assert!(
        transcript.contains(&"== mail for example.test goes to mail.example.test. at 10.0.0.2:25"),
        "{transcript:#?}"
    );
    assert!(
        transcript.contains(&"-> ..a line that starts with a dot"),
        "{transcript:#?}"
    );
}

#[test]
fn builtin_http_sends_the_urls_host() {
    let s = builtin("http GET http://www.example.test/index.html");
    assert_eq!(s["received"], "<h1>served inside the lab</h1>\n");
    assert_contains(&s["transcript"].to_string(), &["-> Host: www.example.test"]);
}

#[test]
fn virtual_hosts_are_chosen_by_the_host_header() {
    let s = builtin("http GET http://docs.example.test/");
    assert_eq!(s["received"], "<h1>the docs site</h1>\n");
    let (stdout, _) = step("curl -sS -H Host: DOCS.example.test");
    assert_eq!(stdout, "<h1>the docs site</h1>\n");
    // Without that Host, the same server gives its default site.
    let (stdout, _) = step("curl -sS http://server/");
    assert_eq!(stdout, "<h1>served inside the lab</h1>\n");
}
