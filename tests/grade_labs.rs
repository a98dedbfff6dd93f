//! The rubrics of the other graded labs: every lab's reference solution scores full marks,
//! and wrong answers or a capture of the wrong exchange lose their points with feedback that
//! says what the capture really shows.

mod grade_support;

use std::path::{Path, PathBuf};

use grade_support::{check, grade, labctl, lost, scratch};

fn lab_dir(lab: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("labs").join(lab)
}

/// A copy of a lab's reference submission, with some files replaced.
fn variant(name: &str, lab: &str, replace: &[(&str, &[u8])]) -> PathBuf {
    let dir = scratch(name);
    for entry in std::fs::read_dir(lab_dir(lab).join("reference")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.join(entry.file_name())).unwrap();
    }
    for (file, bytes) in replace {
        let path = dir.join(file);
        let _ = std::fs::remove_file(&path);
        if !bytes.is_empty() {
            std::fs::write(path, bytes).unwrap();
        }
    }
    dir
}

#[test]
fn every_reference_solution_scores_full_marks() {
    // filter-redirect's reference has no capture: the lab's own capture of the run stands
    // for it.
    for lab in [
        "homework-redirect",
        "filter-redirect",
        "ftp-by-hand",
        "dns-query",
    ] {
        let out = labctl()
            .args(["grade", lab, "--reference", "--json"])
            .output()
            .unwrap();
        let g: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(g["score"], g["max"], "{lab}: {g:#}");
        assert_eq!(out.status.code(), Some(0), "{lab}");
    }
}

#[test]
fn ftp_answers_are_checked_against_the_students_own_227_reply() {
    let wrong = variant(
        "ftp-wrong",
        "ftp-by-hand",
        &[("answers.toml", b"pasv_port = 156\n")],
    );
    let g = grade("ftp-by-hand", &wrong);
    assert_eq!(lost(&g), ["pasv-port"], "{g:#}");
    assert_eq!(
        check(&g, "pasv-port").1,
        "pasv_port = 156 is not the data port of the 227 reply in your capture: \
         (10,0,0,21,156,64) gives p1*256+p2 = 40000"
    );

    // The homework's capture handed in for the FTP lab: a connection to 21, but no FTP.
    let homework = lab_dir("homework-redirect").join("reference/homework.pcap");
    let other = variant(
        "ftp-other",
        "ftp-by-hand",
        &[
            ("ftp.pcap", b""),
            ("homework.pcap", &std::fs::read(homework).unwrap()),
            ("answers.toml", b"not toml at all ="),
        ],
    );
    let g = grade("ftp-by-hand", &other);
    assert_eq!(g["score"], 2, "{g:#}");
    assert!(check(&g, "data").1.contains("no 227 reply"), "{g:#}");
    assert!(
        check(&g, "pasv-port")
            .1
            .starts_with("answers.toml is not valid TOML"),
        "{g:#}"
    );
}

#[test]
fn dns_answers_name_the_mail_host_of_the_captured_mx() {
    let wrong = variant(
        "dns-wrong",
        "dns-query",
        &[
            ("answers.toml", b"mail_host = \"ns1.example.test\"\n"),
            ("commands.sh", b"dig @10.0.0.53 example.test\n"),
        ],
    );
    let g = grade("dns-query", &wrong);
    assert_eq!(lost(&g), ["dig-mx", "mail-host"], "{g:#}");
    assert!(
        check(&g, "mail-host")
            .1
            .contains("(mail.example.test, preference 10)"),
        "{g:#}"
    );
    // A trailing dot and capitals are the same name.
    let dotted = variant(
        "dns-dotted",
        "dns-query",
        &[("answers.toml", b"mail_host = \"Mail.Example.Test.\"\n")],
    );
    assert_eq!(grade("dns-query", &dotted)["score"], 8);
    // No answers at all.
    let none = variant("dns-none", "dns-query", &[("answers.toml", b"")]);
    let g = grade("dns-query", &none);
    assert_eq!(
        check(&g, "mail-host").1,
        "no answers.toml in your submission"
    );
}

#[test]
fn a_rule_on_lo_never_sees_the_clients_connections() {
    let commands = b"nc -l -p 27664 > dump.txt\n\
        iptables -t nat -A PREROUTING -i lo -p tcp --dport 21 -j REDIRECT --to-ports 27664\n";
    let sub = variant("on-lo", "homework-redirect", &[("commands.sh", commands)]);
    let g = grade("homework-redirect", &sub);
    assert_eq!(
        lost(&g),
        ["redirect-works", "answered-from-21", "rule-match"],
        "{g:#}"
    );
    let says =
        "your rule matches packets arriving on lo, but the client's connections arrive on eth0";
    assert!(check(&g, "rule-match").1.starts_with(says), "{g:#}");
    assert!(check(&g, "redirect-works").1.contains(says), "{g:#}");
}

#[test]
fn filter_redirect_in_output_loses_the_lab_and_the_chain() {
    let sub = scratch("filter-output");
    std::fs::write(
        sub.join("commands.sh"),
        "sudo iptables -t nat -A OUTPUT -p tcp --dport 25 -j REDIRECT --to-ports 25025\n",
    )
    .unwrap();
    let g = grade("filter-redirect", &sub);
    assert_eq!(g["score"], 2, "{g:#}");
    let says = "your rule is in nat OUTPUT: it only redirects connections made on the server \
                itself; incoming connections pass nat PREROUTING (line 1)";
    assert_eq!(check(&g, "rule-chain").1, says);
    assert!(
        check(&g, "banner-through-25").1.contains("was refused"),
        "{g:#}"
    );
    assert!(check(&g, "banner-through-25").1.ends_with(says), "{g:#}");
}

#[test]
fn a_flush_after_the_rule_is_named_as_what_undid_it() {
    let commands = b"nc -l -p 27664 > dump.txt\n\
        sudo iptables -t nat -A PREROUTING -i eth0 -p tcp --dport 21 -j REDIRECT --to-ports 27664\n\
        sudo iptables -t nat -F\n";
    let sub = variant("flushed", "homework-redirect", &[("commands.sh", commands)]);
    let g = grade("homework-redirect", &sub);
    assert_eq!(lost(&g), ["redirect-works", "answered-from-21"], "{g:#}");
    assert!(
        check(&g, "redirect-works").1.ends_with(
            "line 3 (\"sudo iptables -t nat -F\") blocks the connection or undoes your rule"
        ),
        "{g:#}"
    );
}
