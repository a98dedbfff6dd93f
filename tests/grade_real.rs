//! `labctl grade homework-redirect` on submissions made by the real programs (nc, telnet,
//! tcpdump on a link and with `-i any`, pcapng through editcap, the student's iptables rule on
//! a real server namespace): correct ones get full marks, and each realistic mistake loses the
//! points it should, with feedback that names the mistake.

mod kit;

use kit::grading::{
    Capture, Expect, Says, Session, assert_grade, check, commands, each_row, grade, lost, record,
    submission,
};
use kit::{labctl, require, scratch};

const LAB: &str = "homework-redirect";
/// The right rule, as the student types it after `sudo iptables`.
const GOOD: &str = "-t nat -A PREROUTING -i eth0 -p tcp --dport 21 -j REDIRECT --to-ports 27664";

fn words(rule: &str) -> Vec<&str> {
    rule.split_whitespace().collect()
}

fn line(rule: &[&str]) -> String {
    format!("sudo iptables {}", rule.join(" "))
}

fn good_session<'a>(capture: Capture, rule: &'a [&'a str]) -> Session<'a> {
    Session {
        capture,
        rule: Some(rule),
        ports: &[27664, 21],
        message: true,
    }
}

#[test]
fn correct_submissions_get_full_marks_whatever_the_capture_tool() {
    let rule = words(GOOD);
    let dir = scratch("real-good");
    let pcap = record(&dir, &good_session(Capture::Eth0, &rule));
    let sub = submission(
        &dir.join("eth0"),
        &commands(&line(&rule)),
        Some((&pcap, "homework.pcap")),
    );
    let g = grade(LAB, &sub);
    assert_eq!(
        (g["score"].as_u64(), g["max"].as_u64()),
        (Some(13), Some(13)),
        "{g:#}"
    );
    assert!(g["notes"].as_array().unwrap().is_empty(), "{g:#}");

    // `tcpdump -i any` (Linux cooked capture), saved as pcapng by editcap; the student's
    // laptop calls its interface enp0s3.
    require("editcap", "wireshark-common");
    let any = scratch("real-any");
    let cooked = record(&any, &good_session(Capture::Any, &rule));
    let pcapng = any.join("homework.pcapng");
    let s = std::process::Command::new("editcap")
        .args(["-F", "pcapng"])
        .arg(&cooked)
        .arg(&pcapng)
        .status()
        .unwrap();
    assert!(s.success());
    let renamed = line(&rule).replace("eth0", "enp0s3");
    let sub = submission(
        &any.join("sub"),
        &commands(&renamed),
        Some((&pcapng, "capture.pcapng")),
    );
    let g = grade(LAB, &sub);
    assert_eq!(g["score"], 13, "{g:#}");
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
    submission(&cut, &commands(&line(&rule)), None);
    std::fs::write(cut.join("homework.pcap"), &bytes[..bytes.len() - 10]).unwrap();
    let g = grade(LAB, &cut);
    assert_eq!(lost(&g), ["capture-file"], "{g:#}");
    assert!(
        check(&g, "capture-file").1.contains("is cut short at byte"),
        "{g:#}"
    );

    let none = submission(&dir.join("none"), &commands(&line(&rule)), None);
    let g = grade(LAB, &none);
    assert_eq!(g["score"], 9, "{g:#}");
    assert_eq!(lost(&g), ["capture-file", "capture-27664", "capture-21"]);
    assert!(
        check(&g, "capture-file")
            .1
            .starts_with("no capture in your submission")
    );
}

/// A realistic mistake: what the student did, and what the grade must say about it.
struct Mistake {
    name: &'static str,
    /// The iptables arguments the student typed on the server (and wrote in commands.sh).
    rule: &'static str,
    /// The ports the client telnets to, in order.
    ports: &'static [u16],
    /// Whether the student typed a message in each telnet session.
    message: bool,
    expect: Expect,
}

/// A rule mistake loses the lab's behaviour (3 + 1), the rule check at fault (1), and the
/// capture of the session to 21, which the server refused (2).
fn rule_mistake(
    name: &'static str,
    rule: &'static str,
    at_fault: &'static str,
    says: &'static str,
) -> Mistake {
    Mistake {
        name,
        rule,
        ports: &[27664, 21],
        message: true,
        expect: Expect {
            score: Some(6),
            lost: Some(vec![
                "redirect-works",
                "answered-from-21",
                at_fault,
                "capture-21",
            ]),
            says: vec![
                (at_fault, Says::Has(says)),
                ("redirect-works", Says::Has(says)),
                ("capture-21", Says::Has("was refused")),
            ],
        },
    }
}

/// A capture of the wrong exchange loses the two checks of the capture (3 points).
fn capture_mistake(
    name: &'static str,
    ports: &'static [u16],
    message: bool,
    at_fault: &'static str,
    says: &'static str,
) -> Mistake {
    Mistake {
        name,
        rule: GOOD,
        ports,
        message,
        expect: Expect {
            score: Some(10),
            lost: Some(vec!["capture-27664", "capture-21"]),
            says: vec![(at_fault, Says::Has(says))],
        },
    }
}

fn mistakes() -> Vec<Mistake> {
    vec![
        rule_mistake(
            "output-instead-of-prerouting",
            "-t nat -A OUTPUT -p tcp --dport 21 -j REDIRECT --to-ports 27664",
            "rule-chain",
            "your rule is in nat OUTPUT: it only redirects connections made on the server itself; \
             incoming connections pass nat PREROUTING",
        ),
        rule_mistake(
            "wrong-chain",
            "-t nat -A INPUT -i eth0 -p tcp --dport 21 -j REDIRECT --to-ports 27664",
            "rule-chain",
            "REDIRECT works only in PREROUTING and OUTPUT",
        ),
        rule_mistake(
            "wrong-table",
            "-A PREROUTING -i eth0 -p tcp --dport 21 -j REDIRECT --to-ports 27664",
            "rule-table",
            "has no `-t nat`: without -t iptables uses the filter table, and REDIRECT exists only in the nat table",
        ),
        rule_mistake(
            "wrong-port",
            "-t nat -A PREROUTING -i eth0 -p tcp --dport 2121 -j REDIRECT --to-ports 27664",
            "rule-match",
            "your rule matches port 2121, but the client connects to port 21",
        ),
        capture_mistake(
            "capture-of-the-wrong-traffic",
            &[80, 443],
            true,
            "capture-27664",
            "has no connection to port 27664; it holds connections to port 80, 443",
        ),
        capture_mistake(
            "capture-without-the-message",
            &[27664, 21],
            false,
            "capture-21",
            "carries no message",
        ),
    ]
}

/// Each mistake is made for real (the session recorded with the student's rule and ports),
/// handed in with its commands.sh and capture, and graded.
#[test]
fn every_realistic_mistake_loses_its_points_with_feedback_that_names_it() {
    each_row(
        &mistakes(),
        |m| m.name,
        |m| {
            let rule = words(m.rule);
            let dir = scratch(&format!("real-{}", m.name));
            let pcap = record(
                &dir,
                &Session {
                    capture: Capture::Eth0,
                    rule: Some(&rule),
                    ports: m.ports,
                    message: m.message,
                },
            );
            let g = grade(
                LAB,
                &submission(
                    &dir.join("sub"),
                    &commands(&line(&rule)),
                    Some((&pcap, "hw.pcap")),
                ),
            );
            assert_grade(&g, &m.expect);
        },
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
    kit::assert_exit(&out, 0);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("score 13/13"), "{text}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("tests=\"10\" failures=\"0\""), "{xml}");

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
