//! The homework's display-filter question, graded by the frames a filter selects: each row is
//! one `answers.toml` handed in with homework-redirect's reference commands and a capture
//! (the reference capture, or the same merged by `mergecap` with a capture of DNS traffic, so
//! that a filter too broad shows), graded through `labctl grade --json`. Filters written
//! differently that select the same frames get the point; the others lose exactly that point
//! with feedback naming what they let through or miss. Every verdict on the student's capture
//! is held to tshark's: tshark must select exactly the frames of the two telnet sessions with
//! a filter that passes, and refuse a filter the feedback calls unreadable. Needs root, as the
//! other grade tests (the lab runs).

mod kit;

use std::path::{Path, PathBuf};
use std::process::Command;

use kit::grading::{Expect, Says, assert_grade, each_row, grade};
use kit::{require, scratch};

const LAB: &str = "homework-redirect";
const CHECK: &str = "display-filter";
/// The frames that should be selected, in tshark's words.
const RIGHT: &str = "tcp.port in {21, 27664}";

fn reference() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("labs/homework-redirect/reference")
}

/// The reference capture with a capture of DNS traffic (ARP, DNS over UDP and TCP port 53)
/// merged in.
fn busy_capture(dir: &Path) -> PathBuf {
    require("mergecap", "wireshark-common");
    let out = dir.join("busy.pcap");
    let status = Command::new("mergecap")
        .args(["-F", "pcap", "-w"])
        .arg(&out)
        .arg(reference().join("homework.pcap"))
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/dns-query.pcap"))
        .status()
        .expect("run mergecap");
    assert!(status.success());
    out
}

/// The frame numbers tshark selects with `filter`, or `None` when tshark refuses it.
fn tshark_frames(capture: &Path, filter: &str) -> Option<Vec<u64>> {
    require("tshark", "tshark");
    let out = Command::new("tshark")
        .arg("-r")
        .arg(capture)
        .args(["-Y", filter, "-T", "fields", "-e", "frame.number"])
        .output()
        .expect("run tshark");
    out.status.success().then(|| {
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| l.trim().parse().expect("a frame number"))
            .collect()
    })
}

struct Row {
    filter: &'static str,
    /// On the capture with DNS traffic merged in, rather than the reference capture.
    busy: bool,
    /// `None`: the point is given.
    says: Option<Says>,
}

const fn ok(filter: &'static str, busy: bool) -> Row {
    Row {
        filter,
        busy,
        says: None,
    }
}

const fn wrong(filter: &'static str, busy: bool, says: Says) -> Row {
    Row {
        filter,
        busy,
        says: Some(says),
    }
}

fn rows() -> Vec<Row> {
    vec![
        ok("tcp.port in {21, 27664}", false),
        ok("tcp.port in {21, 27664}", true),
        ok("tcp.port in {21,27664}", true),
        ok("tcp.port == 21 || tcp.port == 27664", true),
        ok("tcp.port eq 27664 or tcp.port eq 21", true),
        ok("tcp.port in {21..21, 27664}", true),
        ok(
            "(tcp.dstport == 21 or tcp.srcport == 21) or tcp.port == 27664",
            true,
        ),
        ok("ip.addr == 10.0.0.2 && tcp", true),
        ok("ip.src == 10.0.0.2 or ip.dst == 10.0.0.2", true),
        ok("ip.addr == 10.0.0.0/30 and tcp", false),
        // Right on a capture that holds nothing else, too broad on one that does.
        ok("tcp && !arp", false),
        ok("!arp", false),
        wrong(
            "tcp && !arp",
            true,
            Says::Is(
                "your filter \"tcp && !arp\": in your capture it lets through 10 TCP port 53 \
                 frames",
            ),
        ),
        wrong(
            "!arp",
            true,
            Says::Starts(
                "your filter \"!arp\": in your capture it lets through 4 DNS frames and 10 TCP \
                 port 53 frames",
            ),
        ),
        wrong(
            "tcp || arp",
            false,
            Says::Starts(
                "your filter \"tcp || arp\": in your capture it lets through 2 ARP frames",
            ),
        ),
        wrong(
            "tcp.port == 21",
            false,
            Says::Is(
                "your filter \"tcp.port == 21\": in your capture it misses the conversation to \
                 port 27664; in the lab's capture on server:eth0 it misses the conversation to \
                 port 27664",
            ),
        ),
        wrong(
            "tcp.port == 27664 && tcp.len > 0",
            false,
            Says::Starts(
                "your filter \"tcp.port == 27664 && tcp.len > 0\": in your capture it misses \
                 the conversation to port 21 and 7 of the 8 frames of the conversation to \
                 port 27664;",
            ),
        ),
        wrong(
            "ip.addr == 10.0.0.0/30 and tcp",
            true,
            Says::Is(
                "your filter \"ip.addr == 10.0.0.0/30 and tcp\": in your capture it lets \
                 through 10 TCP port 53 frames",
            ),
        ),
        wrong(
            "ip.addr == 10.0.0.1",
            true,
            Says::Starts(
                "your filter \"ip.addr == 10.0.0.1\": in your capture it lets through 4 DNS \
                 frames and 10 TCP port 53 frames",
            ),
        ),
        // Wireshark 4.0 separates the members of a set with commas: tshark refuses this too.
        wrong(
            "tcp.port in {21 27664}",
            false,
            Says::Is(
                "your filter \"tcp.port in {21 27664}\" is not a display filter Wireshark \
                 reads: column 17: \"27664\" was unexpected here: expected \",\" or \"}\"",
            ),
        ),
        wrong(
            "tcp.prot == 21",
            false,
            Says::Ends("unknown field or protocol \"tcp.prot\" (did you mean tcp.port?)"),
        ),
        wrong(
            "tcp.port == 21 ||",
            false,
            Says::Starts("your filter \"tcp.port == 21 ||\" is not a display filter"),
        ),
    ]
}

fn hand_in(dir: &Path, answers: &str, capture: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::copy(reference().join("commands.sh"), dir.join("commands.sh")).unwrap();
    std::fs::copy(capture, dir.join("homework.pcap")).unwrap();
    std::fs::write(dir.join("answers.toml"), answers).unwrap();
    dir.to_path_buf()
}

#[test]
fn a_filter_is_judged_by_the_frames_it_selects() {
    let dir = scratch("grade-filter");
    let busy = busy_capture(&dir);
    let plain = reference().join("homework.pcap");
    let rows = rows();
    each_row(
        &rows,
        |r| r.filter,
        |row| {
            let capture = if row.busy { &busy } else { &plain };
            // tshark's verdict on the student's capture, which labctl's must not contradict.
            let want = tshark_frames(capture, RIGHT).expect("tshark reads the right filter");
            let theirs = tshark_frames(capture, row.filter);
            match (&row.says, &theirs) {
                (None, Some(frames)) => assert_eq!(frames, &want, "tshark selects otherwise"),
                (None, None) => panic!("tshark refuses a filter the row gives the point"),
                (Some(Says::Is(s) | Says::Starts(s)), None) => {
                    assert!(s.contains("is not a display filter"), "tshark refuses it")
                }
                (Some(_), None) => {}
                (Some(_), Some(frames)) => assert_ne!(frames, &want, "tshark selects the same"),
            }
            let quoted = toml::Value::String(row.filter.to_string());
            let sub = hand_in(
                &dir.join(format!("{}-{:x}", row.busy, fxhash(row.filter))),
                &format!("filter = {quoted}\n"),
                capture,
            );
            let g = grade(LAB, &sub);
            let expect = match row.says {
                None => Expect {
                    score: Some(13),
                    lost: Some(vec![]),
                    says: vec![(CHECK, Says::Is(PASS))],
                },
                Some(says) => Expect {
                    score: Some(12),
                    lost: Some(vec![CHECK]),
                    says: vec![(CHECK, says)],
                },
            };
            assert_grade(&g, &expect);
        },
    );
}

const PASS: &str = "your display filter shows exactly the two telnet sessions, nothing else";

/// A small stable hash, to give each row a directory of its own.
fn fxhash(s: &str) -> u64 {
    s.bytes().fold(0xcbf29ce484222325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
    })
}

#[test]
fn no_filter_or_one_that_is_not_text_is_told_so() {
    let dir = scratch("grade-filter-missing");
    let plain = reference().join("homework.pcap");
    for (answers, says) in [
        ("other = 1\n", "answers.toml has no `filter = \"...\"`"),
        (
            "filter = 21\n",
            "answers.toml's filter must be a display filter in quotes, not 21",
        ),
    ] {
        let sub = hand_in(&dir.join(fxhash(answers).to_string()), answers, &plain);
        let g = grade(LAB, &sub);
        assert_grade(
            &g,
            &Expect {
                score: Some(12),
                lost: Some(vec![CHECK]),
                says: vec![(CHECK, Says::Is(says))],
            },
        );
    }
}
