//! The rubrics of the other graded labs: every lab's reference solution scores full marks,
//! and wrong answers or a capture of the wrong exchange lose their points with feedback that
//! says what the capture really shows.

mod kit;

use std::path::{Path, PathBuf};

use kit::grading::{Expect, Says, assert_grade, each_row, grade};
use kit::{labctl, labctl_json, scratch};

fn lab_dir(lab: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("labs").join(lab)
}

#[test]
fn every_reference_solution_scores_full_marks() {
    // filter-redirect's reference has no capture: the lab's own capture of the run stands
    // for it. Every lab of the tree, so a new one joins without an edit here.
    let mut labs: Vec<String> =
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("labs"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.join("rubric.toml").is_file())
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
    labs.sort();
    assert!(labs.len() >= 6, "labs found: {labs:?}");
    for lab in &labs {
        let (out, g) = labctl_json(labctl().args(["grade", lab, "--reference", "--json"]));
        assert_eq!(g["score"], g["max"], "{lab}: {g:#}");
        assert_eq!(out.status.code(), Some(0), "{lab}");
    }
}

/// What a file of the submission holds.
enum Content {
    Text(&'static [u8]),
    /// A copy of a file of the repository.
    Copy(&'static str),
    /// The file is not there.
    Gone,
}

/// A wrong submission: a lab's reference (or nothing) with some files replaced, and what the
/// grade must say about it.
struct Wrong {
    name: &'static str,
    lab: &'static str,
    /// Start from the lab's reference submission, or from an empty directory.
    reference: bool,
    files: Vec<(&'static str, Content)>,
    expect: Expect,
}

fn wrong_submissions() -> Vec<Wrong> {
    use Content::*;
    use Says::*;
    let on_lo =
        "your rule matches packets arriving on lo, but the client's connections arrive on eth0";
    let in_output = "your rule is in nat OUTPUT: it only redirects connections made on the \
                     server itself; incoming connections pass nat PREROUTING (line 1)";
    vec![
        // FTP answers are checked against the student's own 227 reply.
        Wrong {
            name: "ftp-wrong",
            lab: "ftp-by-hand",
            reference: true,
            files: vec![("answers.toml", Text(b"pasv_port = 156\n"))],
            expect: Expect {
                score: None,
                lost: Some(vec!["pasv-port"]),
                says: vec![(
                    "pasv-port",
                    Is("pasv_port = 156 is not the data port of the 227 reply in your capture: \
                        (10,0,0,21,156,64) gives p1*256+p2 = 40000"),
                )],
            },
        },
        // The homework's capture handed in for the FTP lab: a connection to 21, but no FTP.
        Wrong {
            name: "ftp-other",
            lab: "ftp-by-hand",
            reference: true,
            files: vec![
                ("ftp.pcap", Gone),
                (
                    "homework.pcap",
                    Copy("labs/homework-redirect/reference/homework.pcap"),
                ),
                ("answers.toml", Text(b"not toml at all =")),
            ],
            expect: Expect {
                score: Some(2),
                lost: None,
                says: vec![
                    ("data", Has("no 227 reply")),
                    ("pasv-port", Starts("answers.toml is not valid TOML")),
                ],
            },
        },
        // DNS answers name the mail host of the captured MX.
        Wrong {
            name: "dns-wrong",
            lab: "dns-query",
            reference: true,
            files: vec![
                ("answers.toml", Text(b"mail_host = \"ns1.example.test\"\n")),
                ("commands.sh", Text(b"dig @10.0.0.53 example.test\n")),
            ],
            expect: Expect {
                score: None,
                lost: Some(vec!["dig-mx", "mail-host"]),
                says: vec![("mail-host", Has("(mail.example.test, preference 10)"))],
            },
        },
        // A trailing dot and capitals are the same name.
        Wrong {
            name: "dns-dotted",
            lab: "dns-query",
            reference: true,
            files: vec![(
                "answers.toml",
                Text(b"mail_host = \"Mail.Example.Test.\"\n"),
            )],
            expect: Expect {
                score: Some(8),
                lost: None,
                says: vec![],
            },
        },
        Wrong {
            name: "dns-none",
            lab: "dns-query",
            reference: true,
            files: vec![("answers.toml", Gone)],
            expect: Expect {
                score: None,
                lost: None,
                says: vec![("mail-host", Is("no answers.toml in your submission"))],
            },
        },
        // DHCP answers are the facts of the student's own Offer, Request and ACK: each wrong
        // one loses its point, and only its point.
        Wrong {
            name: "dhcp-wrong",
            lab: "dhcp",
            reference: true,
            files: vec![(
                "answers.toml",
                Text(
                    b"offered_address = \"10.0.0.1\"\nserver_id = \"10.0.0.1\"\n\
                      server_name = \"server\"\nlease_seconds = 1800\nt1_seconds = 1800\n\
                      t2_seconds = 3150\nrelay_agent = \"10.0.0.1\"\nack = \"unicast\"\n\
                      after_ack = \"arp\"\n",
                ),
            )],
            expect: Expect {
                score: Some(6),
                lost: Some(vec!["offered-address", "lease", "relay", "ack-delivery"]),
                says: vec![
                    ("lease", Has("lease_seconds = \"1800\" is not the ACK's lease time")),
                    ("ack-delivery", Has("is not how the ACK travels")),
                ],
            },
        },
        // No relay written as the empty address, the probe in words: the same answers.
        Wrong {
            name: "dhcp-same",
            lab: "dhcp",
            reference: true,
            files: vec![(
                "answers.toml",
                Text(
                    b"offered_address = \"10.0.0.100\"\nserver_id = \"10.0.0.1\"\n\
                      server_name = \"Server\"\nlease_seconds = 3600\nt1_seconds = 1800\n\
                      t2_seconds = 3150\nrelay_agent = \"0.0.0.0\"\nack = \"Broadcast\"\n\
                      after_ack = \"ARP probe\"\n",
                ),
            )],
            expect: Expect {
                score: Some(10),
                lost: None,
                says: vec![],
            },
        },
        // A rule on lo never sees the client's connections.
        Wrong {
            name: "on-lo",
            lab: "homework-redirect",
            reference: true,
            files: commands_sh(b"nc -l -p 27664 > dump.txt\n\
                    iptables -t nat -A PREROUTING -i lo -p tcp --dport 21 -j REDIRECT --to-ports 27664\n"),
            expect: Expect {
                score: None,
                lost: Some(vec!["redirect-works", "answered-from-21", "rule-match"]),
                says: vec![
                    ("rule-match", Starts(on_lo)),
                    ("redirect-works", Has(on_lo)),
                ],
            },
        },
        // filter-redirect's rule in OUTPUT loses the lab and the chain.
        Wrong {
            name: "filter-output",
            lab: "filter-redirect",
            reference: false,
            files: commands_sh(b"sudo iptables -t nat -A OUTPUT -p tcp --dport 25 -j REDIRECT --to-ports 25025\n"),
            expect: Expect {
                score: Some(2),
                lost: None,
                says: vec![
                    ("rule-chain", Is(in_output)),
                    ("banner-through-25", Has("was refused")),
                    ("banner-through-25", Ends(in_output)),
                ],
            },
        },
        // A flush after the rule is named as what undid it.
        Wrong {
            name: "flushed",
            lab: "homework-redirect",
            reference: true,
            files: commands_sh(b"nc -l -p 27664 > dump.txt\n\
                    sudo iptables -t nat -A PREROUTING -i eth0 -p tcp --dport 21 -j REDIRECT --to-ports 27664\n\
                    sudo iptables -t nat -F\n"),
            expect: Expect {
                score: None,
                lost: Some(vec!["redirect-works", "answered-from-21"]),
                says: vec![(
                    "redirect-works",
                    Ends("line 3 (\"sudo iptables -t nat -F\") blocks the connection or undoes your rule"),
                )],
            },
        },
    ]
}

/// A submission's files: only its commands.sh.
fn commands_sh(text: &'static [u8]) -> Vec<(&'static str, Content)> {
    vec![("commands.sh", Content::Text(text))]
}

/// The submission directory of a row.
fn hand_in(row: &Wrong) -> PathBuf {
    let dir = scratch(row.name);
    if row.reference {
        for entry in std::fs::read_dir(lab_dir(row.lab).join("reference")).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), dir.join(entry.file_name())).unwrap();
        }
    }
    for (file, content) in &row.files {
        let path = dir.join(file);
        let _ = std::fs::remove_file(&path);
        match content {
            Content::Text(bytes) => std::fs::write(path, bytes).unwrap(),
            Content::Copy(from) => {
                std::fs::copy(Path::new(env!("CARGO_MANIFEST_DIR")).join(from), path).unwrap();
            }
            Content::Gone => {}
        }
    }
    dir
}

#[test]
fn every_wrong_submission_loses_its_points_with_feedback_that_says_what_the_capture_shows() {
    each_row(
        &wrong_submissions(),
        |row| row.name,
        |row| {
            assert_grade(&grade(row.lab, &hand_in(row)), &row.expect);
        },
    );
}
