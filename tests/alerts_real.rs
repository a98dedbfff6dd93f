//! Alerts on real traffic: the attack programs defenders meet (nmap -sS/-sN/-sF/-sX/-sO and
//! ping sweep, hping3's port 0 and ICMP info requests, arping, curl with the document's SQL
//! injection and sqlmap's User-Agent, dig axfr, SMTP VRFY/EXPN) run in a lab
//! (`tests/scenarios/alerts-attacks.toml`) raise the catalogue's alerts; ordinary traffic
//! (a download, an FTP session, 50 DNS queries, a traceroute:
//! `tests/scenarios/alerts-ordinary.toml`) and every built-in scenario raise none at `low` or
//! above. Every packet stays inside labctl's own namespaces, between 10.x lab addresses.

mod kit;

use std::path::{Path, PathBuf};

use serde_json::Value;

const TOOLS: &[(&str, &str)] = &[
    ("nmap", "nmap"),
    ("hping3", "hping3"),
    ("arping", "arping"),
    ("curl", "curl"),
    ("dig", "bind9-dnsutils"),
    ("lftp", "lftp"),
    ("traceroute", "traceroute"),
];

fn require_tools() {
    for (program, package) in TOOLS {
        kit::require(program, package);
    }
}

/// labctl with `args`, from the repository root (the scenarios are named relative to it).
fn labctl(args: &[&str]) -> std::process::Output {
    kit::labctl()
        .args(args)
        .current_dir(kit::root())
        .output()
        .expect("run labctl")
}

/// Runs a lab and returns the path of its one capture.
fn run_lab(scenario: &str, tag: &str) -> PathBuf {
    require_tools();
    let out = kit::scratch(&format!("alerts-{tag}")).join("run");
    let o = labctl(&["run", scenario, "--json", "--out", out.to_str().unwrap()]);
    let report: Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("no report ({e}): {}", String::from_utf8_lossy(&o.stderr)));
    assert_eq!(
        report["passed"], true,
        "{scenario} failed: {}",
        report["checks"]
    );
    let path = report["captures"][0]["path"].as_str().expect("a capture");
    PathBuf::from(path)
}

fn alerts(capture: &Path) -> Vec<Value> {
    let o = labctl(&["show", capture.to_str().unwrap(), "--alerts", "--json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let doc: Value = serde_json::from_slice(&o.stdout).expect("alerts json");
    doc["alerts"].as_array().expect("an alerts array").clone()
}

fn rank(severity: &str) -> u8 {
    match severity {
        "info" => 0,
        "low" => 1,
        "medium" => 2,
        "high" => 3,
        other => panic!("unknown severity {other}"),
    }
}

fn find<'a>(alerts: &'a [Value], id: &str, src: &str, dst: &str) -> &'a Value {
    alerts
        .iter()
        .find(|a| a["id"] == id && a["src"] == src && a["dst"] == dst)
        .unwrap_or_else(|| {
            panic!(
                "no {id} {src} > {dst} among {}",
                serde_json::to_string_pretty(alerts).unwrap()
            )
        })
}

#[test]
fn attack_programs_raise_the_catalogue_alerts() {
    let capture = run_lab("tests/scenarios/alerts-attacks.toml", "attacks");
    let all = alerts(&capture);
    let (a, s) = ("10.0.0.66", "10.0.1.2");
    let expected = [
        ("tcp-port-scan", a, s, "medium"),
        ("tcp-scan-source-port-reuse", a, s, "medium"),
        ("tcp-scan-isn-reuse", a, s, "medium"),
        ("tcp-odd-flags", a, s, "high"),
        ("ip-protocol-scan", a, s, "medium"),
        ("tcp-port-zero", a, s, "medium"),
        ("icmp-info-request", a, s, "low"),
        ("icmp-ping-sweep", a, "*", "medium"),
        ("arp-scan", a, "*", "medium"),
        ("arp-gratuitous", a, "ff:ff:ff:ff:ff:ff", "medium"),
        ("http-sqli-or-attack-tool", a, s, "high"),
        ("dns-zone-transfer", a, s, "high"),
        ("smtp-user-enumeration", a, s, "medium"),
    ];
    for (id, src, dst, severity) in expected {
        let alert = find(&all, id, src, dst);
        assert_eq!(alert["severity"], severity, "{alert}");
        let frames = alert["frames"].as_array().unwrap();
        assert!(!frames.is_empty() && frames.len() <= 10, "{alert}");
        assert!(alert["first"].as_f64() <= alert["last"].as_f64(), "{alert}");
        assert!(alert["count"].as_u64().unwrap() >= 1, "{alert}");
    }
    let evidence = |id, dst| {
        find(&all, id, a, dst)["evidence"]
            .as_str()
            .unwrap()
            .to_string()
    };
    // The wire facts the document shows.
    assert!(evidence("tcp-port-zero", s).contains("window 512"));
    assert!(evidence("tcp-port-zero", s).contains("SYN"));
    assert!(evidence("tcp-odd-flags", s).contains("NULL"));
    assert!(evidence("tcp-odd-flags", s).contains("Xmas (FIN+PSH+URG)"));
    assert!(evidence("tcp-odd-flags", s).contains("FIN without ACK"));
    assert!(evidence("tcp-port-scan", s).contains("half-open on 25, 53, 80"));
    assert!(evidence("ip-protocol-scan", s).contains("unassigned 200, 245 with total length 20"));
    assert!(evidence("icmp-info-request", s).contains("timestamp request (13) x2, 2 answered"));
    assert!(evidence("icmp-info-request", s).contains("address mask request (17) x2, 0 answered"));
    assert!(evidence("http-sqli-or-attack-tool", s).contains("User-Agent sqlmap/1.7.2"));
    assert!(evidence("http-sqli-or-attack-tool", s).contains("a quote closing a parameter"));
    assert!(evidence("dns-zone-transfer", s).contains("AXFR of example.test."));
    assert!(evidence("arp-scan", "*").starts_with("ARP scan: 10.0.0.66 asked for"));
    assert!(evidence("arp-gratuitous", "ff:ff:ff:ff:ff:ff").contains("gratuitous ARP reply"));
    // The text view names the alert the same way, one line each.
    let o = labctl(&["show", capture.to_str().unwrap(), "--alerts"]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(text.lines().count(), all.len(), "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("medium tcp-port-scan") && l.contains("10.0.0.66 > 10.0.1.2")),
        "{text}"
    );
    // With a display filter the alerts are those of the frames it keeps: ARP alone raises
    // only ARP alerts; the port-0 probes alone are no port scan.
    let filtered = |expr: &str| -> Vec<String> {
        let o = labctl(&[
            "show",
            capture.to_str().unwrap(),
            "--alerts",
            "--json",
            "-Y",
            expr,
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let doc: Value = serde_json::from_slice(&o.stdout).expect("alerts json");
        let mut ids: Vec<String> = doc["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["id"].as_str().unwrap().to_string())
            .collect();
        ids.sort();
        ids.dedup();
        ids
    };
    assert_eq!(filtered("arp"), ["arp-gratuitous", "arp-scan"]);
    assert_eq!(filtered("tcp.port == 0"), ["tcp-port-zero"]);
    let _ = std::fs::remove_dir_all(capture.parent().unwrap());
}

/// An alert expectation holds only when its alert was raised between its sides, and
/// `labctl test` exempts from the no-alert check only what a lab expects.
#[test]
fn alert_expectations_are_checked_and_exempt_only_their_alerts() {
    require_tools();
    let dir = kit::scratch("alerts-expect");
    let lab = |name: &str, expects: &str| {
        let path = dir.join(format!("{name}.toml"));
        std::fs::write(
            &path,
            format!(
                "name = \"{name}\"\nsnapshot = false\n[hosts.attacker]\n[hosts.server]\n[[links]]\n\
                 ends = [\"attacker:eth0 10.0.0.66/24\", \"server:eth0 10.0.0.2/24\"]\n\
                 capture = \"server\"\n[[steps]]\nhost = \"attacker\"\n\
                 exec = [\"hping3\", \"-S\", \"-c\", \"2\", \"-i\", \"u100000\", \"10.0.0.2\"]\n\
                 timeout = \"30s\"\n{expects}"
            ),
        )
        .unwrap();
        path
    };
    // The probes go to port 0 from the attacker: the expectation holds that way round only.
    let right = lab(
        "zero-right",
        "[[expect]]\nalert = \"tcp-port-zero attacker > server\"\ncount = 2\n",
    );
    let wrong = lab(
        "zero-wrong",
        "[[expect]]\nalert = \"tcp-port-zero server > attacker\"\n\
         [[expect]]\nalert = \"tcp-port-scan attacker > server\"\n",
    );
    let out = dir.join("out");
    let run = |path: &Path| {
        let o = labctl(&[
            "run",
            path.to_str().unwrap(),
            "--json",
            "--out",
            out.to_str().unwrap(),
        ]);
        let report: Value = serde_json::from_slice(&o.stdout).expect("a report");
        (o.status.code(), report)
    };
    let (code, report) = run(&right);
    assert_eq!(code, Some(0), "{}", report["checks"]);
    let (code, report) = run(&wrong);
    assert_eq!(code, Some(1), "{}", report["checks"]);
    let details: Vec<String> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["passed"] == false)
        .map(|c| c["detail"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(details.len(), 2, "{details:?}");
    assert!(
        details[0].starts_with("not between those sides"),
        "{details:?}"
    );
    assert_eq!(
        details[1],
        "no tcp-port-scan alert; alerts seen: tcp-port-zero"
    );
    // The suite: the lab that expects the alert passes; without the expectation it fails.
    let none = lab("zero-unexpected", "");
    let suite = |path: &Path| {
        labctl(&[
            "test",
            path.to_str().unwrap(),
            "--json",
            "--out",
            out.to_str().unwrap(),
        ])
    };
    assert!(suite(&right).status.success());
    let o = suite(&none);
    assert_eq!(o.status.code(), Some(1));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("no alert expected: medium tcp-port-zero"),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn ordinary_traffic_raises_no_alert() {
    let capture = run_lab("tests/scenarios/alerts-ordinary.toml", "ordinary");
    // The traffic is there: 50 queries, the FTP control and data connections, the probes.
    let o = labctl(&["show", capture.to_str().unwrap()]);
    let lines = String::from_utf8_lossy(&o.stdout).into_owned();
    let queries = lines
        .lines()
        .filter(|l| l.contains("DNS query") && l.contains(".example.test."))
        .count();
    assert!(queries >= 50, "{queries} queries:\n{lines}");
    assert!(lines.contains("FTP 220"), "no FTP:\n{lines}");
    assert!(lines.contains(".33434"), "no traceroute probe:\n{lines}");
    let loud: Vec<Value> = alerts(&capture)
        .into_iter()
        .filter(|a| rank(a["severity"].as_str().unwrap()) >= 1)
        .collect();
    assert!(loud.is_empty(), "alerts on ordinary traffic: {loud:#?}");
    let _ = std::fs::remove_dir_all(capture.parent().unwrap());
}

/// `labctl test` fails a lab that expects no alert when its capture has one, and every
/// built-in scenario passes that check; the known traps stay `info`.
#[test]
fn the_suite_fails_a_lab_with_an_unexpected_alert_and_passes_the_builtins() {
    require_tools();
    let out = kit::scratch("alerts-suite").join("run");
    let o = labctl(&["test", "--json", "--out", out.to_str().unwrap()]);
    let summary: Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("no summary ({e}): {}", String::from_utf8_lossy(&o.stderr)));
    assert!(o.status.success(), "labctl test failed: {summary:#}");
    let traps = [
        ("arp-resolution", "arp-gratuitous"),
        ("dns-query", "dns-over-tcp"),
    ];
    for (lab, id) in traps {
        let dir = out.join(lab);
        let pcap = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|x| x == "pcap"))
            .unwrap_or_else(|| panic!("no capture in {}", dir.display()));
        let got = alerts(&pcap);
        assert!(
            got.iter().any(|a| a["id"] == id && a["severity"] == "info"),
            "{lab}: {got:#?}"
        );
        assert!(
            got.iter().all(|a| a["severity"] == "info"),
            "{lab}: {got:#?}"
        );
    }
    let o = labctl(&[
        "test",
        "tests/scenarios/alerts-attacks.toml",
        "--json",
        "--out",
        out.join("attacks").to_str().unwrap(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let summary: Value = serde_json::from_slice(&o.stdout).unwrap();
    let text = summary.to_string();
    assert!(
        text.contains("no alert expected: medium tcp-port-scan"),
        "{text}"
    );
    assert!(
        text.contains("attacker > server"),
        "host names in the failure: {text}"
    );
    let _ = std::fs::remove_dir_all(&out);
}
