//! `labctl grade homework-redirect` on submissions made by the real programs (nc, telnet,
//! tcpdump on a link and with `-i any`, pcapng through editcap, the student's iptables rule on
//! a real server namespace): correct ones get full marks, and each realistic mistake loses the
//! points it should, with feedback that names the mistake.

mod grade_support;

use grade_support::{
    Capture, Session, check, commands, grade, labctl, lost, record, require, scratch, submission,
};

const LAB: &str = "homework-redirect";
const RULE: &[&str] = &[
    "-t",
    "nat",
    "-A",
    "PREROUTING",
    "-i",
    "eth0",
    "-p",
    "tcp",
    "--dport",
    "21",
    "-j",
    "REDIRECT",
    "--to-ports",
    "27664",
];

fn line(rule: &[&str]) -> String {
    format!("sudo iptables {}", rule.join(" "))
}

fn good_session(capture: Capture) -> Session<'static> {
    Session {
        capture,
        rule: Some(RULE),
        ports: &[27664, 21],
        message: true,
    }
}

#[test]
fn correct_submissions_get_full_marks_whatever_the_capture_tool() {
    let dir = scratch("real-good");
    let pcap = record(&dir, &good_session(Capture::Eth0));
    let sub = submission(
        &dir.join("eth0"),
        &commands(&line(RULE)),
        Some((&pcap, "homework.pcap")),
    );
    let g = grade(LAB, &sub);
    assert_eq!(
        (g["score"].as_u64(), g["max"].as_u64()),
        (Some(12), Some(12)),
        "{g:#}"
    );
    assert!(g["notes"].as_array().unwrap().is_empty(), "{g:#}");

    // `tcpdump -i any` (Linux cooked capture), saved as pcapng by editcap; the student's
    // laptop calls its interface enp0s3.
    require("editcap", "wireshark-common");
    let any = scratch("real-any");
    let cooked = record(&any, &good_session(Capture::Any));
    let pcapng = any.join("homework.pcapng");
    let s = std::process::Command::new("editcap")
        .args(["-F", "pcapng"])
        .arg(&cooked)
        .arg(&pcapng)
        .status()
        .unwrap();
    assert!(s.success());
    let rule = line(RULE).replace("eth0", "enp0s3");
    let sub = submission(
        &any.join("sub"),
        &commands(&rule),
        Some((&pcapng, "capture.pcapng")),
    );
    let g = grade(LAB, &sub);
    assert_eq!(g["score"], 12, "{g:#}");
    let notes = g["notes"].to_string();
    assert!(
        notes.contains("\\\"enp0s3\\\"") && notes.contains("applied to eth0"),
        "the mapping is said: {notes}"
    );
    assert!(
        check(&g, "rule-match")
            .1
            .ends_with("(enp0s3 read as the lab's eth0)"),
        "{g:#}"
    );

    // The same capture, cut short as by `kill -9`, and then no capture at all.
    let bytes = std::fs::read(&pcap).unwrap();
    let cut = dir.join("cut");
    submission(&cut, &commands(&line(RULE)), None);
    std::fs::write(cut.join("homework.pcap"), &bytes[..bytes.len() - 10]).unwrap();
    let g = grade(LAB, &cut);
    assert_eq!(lost(&g), ["capture-file"], "{g:#}");
    assert!(
        check(&g, "capture-file").1.contains("is cut short at byte"),
        "{g:#}"
    );

    let none = submission(&dir.join("none"), &commands(&line(RULE)), None);
    let g = grade(LAB, &none);
    assert_eq!(g["score"], 8, "{g:#}");
    assert_eq!(lost(&g), ["capture-file", "capture-27664", "capture-21"]);
    assert!(
        check(&g, "capture-file")
            .1
            .starts_with("no capture in your submission")
    );
}

/// Records a session with the student's wrong rule and grades it with that rule.
fn mistake(name: &str, rule: &[&str]) -> serde_json::Value {
    let dir = scratch(name);
    let pcap = record(
        &dir,
        &Session {
            rule: Some(rule),
            ..good_session(Capture::Eth0)
        },
    );
    grade(
        LAB,
        &submission(
            &dir.join("sub"),
            &commands(&line(rule)),
            Some((&pcap, "hw.pcap")),
        ),
    )
}

/// A rule mistake loses the lab's behaviour (3 + 1), the rule check at fault (1), and the
/// capture of the session to 21, which the server refused (2).
fn assert_rule_mistake(g: &serde_json::Value, check_name: &str, says: &str) {
    assert_eq!(g["score"], 5, "{g:#}");
    assert_eq!(
        lost(g),
        [
            "redirect-works",
            "answered-from-21",
            check_name,
            "capture-21"
        ],
        "{g:#}"
    );
    let (_, feedback) = check(g, check_name);
    assert!(feedback.contains(says), "{check_name}: {feedback}");
    assert!(check(g, "redirect-works").1.contains(says), "{g:#}");
    assert!(check(g, "capture-21").1.contains("was refused"), "{g:#}");
}

#[test]
fn output_instead_of_prerouting() {
    let g = mistake(
        "real-output",
        &[
            "-t",
            "nat",
            "-A",
            "OUTPUT",
            "-p",
            "tcp",
            "--dport",
            "21",
            "-j",
            "REDIRECT",
            "--to-ports",
            "27664",
        ],
    );
    assert_rule_mistake(
        &g,
        "rule-chain",
        "your rule is in nat OUTPUT: it only redirects connections made on the server itself; \
         incoming connections pass nat PREROUTING",
    );
}

#[test]
fn wrong_chain() {
    let g = mistake(
        "real-input",
        &[
            "-t",
            "nat",
            "-A",
            "INPUT",
            "-i",
            "eth0",
            "-p",
            "tcp",
            "--dport",
            "21",
            "-j",
            "REDIRECT",
            "--to-ports",
            "27664",
        ],
    );
    assert_rule_mistake(
        &g,
        "rule-chain",
        "REDIRECT works only in PREROUTING and OUTPUT",
    );
}

#[test]
fn wrong_table() {
    let g = mistake(
        "real-table",
        &[
            "-A",
            "PREROUTING",
            "-i",
            "eth0",
            "-p",
            "tcp",
            "--dport",
            "21",
            "-j",
            "REDIRECT",
            "--to-ports",
            "27664",
        ],
    );
    assert_rule_mistake(
        &g,
        "rule-table",
        "has no `-t nat`: without -t iptables uses the filter table, and REDIRECT exists only in the nat table",
    );
}

#[test]
fn wrong_port() {
    let g = mistake(
        "real-port",
        &[
            "-t",
            "nat",
            "-A",
            "PREROUTING",
            "-i",
            "eth0",
            "-p",
            "tcp",
            "--dport",
            "2121",
            "-j",
            "REDIRECT",
            "--to-ports",
            "27664",
        ],
    );
    assert_rule_mistake(
        &g,
        "rule-match",
        "your rule matches port 2121, but the client connects to port 21",
    );
}

#[test]
fn capture_of_the_wrong_traffic() {
    let dir = scratch("real-wrong-traffic");
    let pcap = record(
        &dir,
        &Session {
            ports: &[80, 443],
            ..good_session(Capture::Eth0)
        },
    );
    let g = grade(
        LAB,
        &submission(
            &dir.join("sub"),
            &commands(&line(RULE)),
            Some((&pcap, "hw.pcap")),
        ),
    );
    assert_eq!(g["score"], 9, "{g:#}");
    assert_eq!(lost(&g), ["capture-27664", "capture-21"], "{g:#}");
    assert!(
        check(&g, "capture-27664")
            .1
            .contains("has no connection to port 27664; it holds connections to port 80, 443"),
        "{g:#}"
    );
}

#[test]
fn capture_without_the_message() {
    let dir = scratch("real-no-message");
    let pcap = record(
        &dir,
        &Session {
            message: false,
            ..good_session(Capture::Eth0)
        },
    );
    let g = grade(
        LAB,
        &submission(
            &dir.join("sub"),
            &commands(&line(RULE)),
            Some((&pcap, "hw.pcap")),
        ),
    );
    assert_eq!(g["score"], 9, "{g:#}");
    assert_eq!(lost(&g), ["capture-27664", "capture-21"], "{g:#}");
    assert!(
        check(&g, "capture-21").1.contains("carries no message"),
        "{g:#}"
    );
}

#[test]
fn the_reference_solution_scores_full_marks_and_bad_command_lines_exit_2() {
    let junit = scratch("reference").join("grade.xml");
    let out = labctl()
        .args(["grade", LAB, "--reference", "--junit"])
        .arg(&junit)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("score 12/12"), "{text}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("tests=\"9\" failures=\"0\""), "{xml}");

    for args in [
        &["grade", "no-such-lab", "."][..],
        &["grade", LAB, "/no/such/dir"],
        &["grade", LAB],
        &["grade", "../scenarios", "."],
    ] {
        let out = labctl().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty());
    }
}
