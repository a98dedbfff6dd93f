//! The HTML report through the binary, without a browser: `labctl show --html` on a fixed
//! capture pinned by an insta snapshot with times and the version masked; untrusted payload
//! bytes escaped; a page self-contained (no URL but the SVG namespace, no script); and a file
//! that is not a capture leaving no page behind (exit 2); `labctl grade --html` with each
//! check's evidence linked to its arrows, and refused for a batch.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A fresh directory for one test under cargo's scratch space.
fn scratch(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir
}

fn labctl() -> Command {
    Command::new(env!("CARGO_BIN_EXE_labctl"))
}

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// The page with the content of every `class="t"` element (times) and `class="version"`
/// element blanked: the parts allowed to change between renderings.
fn masked(page: &str) -> String {
    let mut out = String::with_capacity(page.len());
    let mut rest = page;
    loop {
        let next = ["class=\"t\">", "class=\"version\">"]
            .iter()
            .filter_map(|m| rest.find(m).map(|i| (i, m.len())))
            .min();
        let Some((at, len)) = next else {
            out.push_str(rest);
            return out;
        };
        out.push_str(&rest[..at + len]);
        rest = &rest[at + len..];
        let end = rest.find('<').unwrap_or(rest.len());
        out.push_str("MASKED");
        rest = &rest[end..];
    }
}

fn show_html(capture: &Path, page: &Path) -> std::process::Output {
    labctl()
        .arg("show")
        .arg(capture)
        .arg("--html")
        .arg(page)
        .output()
        .expect("run labctl show")
}

/// Nothing to fetch: no URL other than the SVG namespace, no script, no external style.
fn assert_self_contained(page: &str) {
    let without_ns = page.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
    for needle in [
        "http://", "https://", "<script", "<link", "@import", "url(", "src=",
    ] {
        assert!(
            !without_ns.contains(needle),
            "the page holds {needle:?}, which could fetch something"
        );
    }
}

#[test]
fn show_page_of_the_redirect_capture() {
    let dir = scratch("html-show-page");
    let page = dir.join("page.html");
    let out = show_html(&data("homework-redirect.pcap"), &page);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let html = std::fs::read_to_string(&page).expect("the page was written");
    assert_self_contained(&html);
    // Port 21 on the wire both ways: the REDIRECT does not show in the packets.
    assert!(html.contains("43958 → 21 [SYN]") && html.contains("21 → 43958 [SYN, ACK]"));
    // Two renderings of the same capture are the same page.
    let again = dir.join("again.html");
    assert_eq!(
        show_html(&data("homework-redirect.pcap"), &again)
            .status
            .code(),
        Some(0)
    );
    assert_eq!(std::fs::read_to_string(&again).unwrap(), html);
    // The page names the file as given on the command line: pin it relative to the data.
    let html = html.replace(&data("").display().to_string(), "tests/data/");
    insta::assert_snapshot!("show_homework_redirect", masked(&html));
}

/// A capture whose payload and whose port carry markup: every byte arrives escaped.
#[test]
fn hostile_payload_is_escaped() {
    let dir = scratch("html-hostile");
    let payload = b"<script>alert('x')</script>\"&\x1b[31m</svg></text>";
    let mut frame = Vec::new();
    etherparse::PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
        .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
        .tcp(40000, 80, 1000, 64240)
        .psh()
        .ack(1)
        .write(&mut frame, payload)
        .expect("a frame");
    let mut pcap = Vec::new();
    pcap.extend_from_slice(&0xa1b2c3d4u32.to_le_bytes());
    pcap.extend_from_slice(&2u16.to_le_bytes());
    pcap.extend_from_slice(&4u16.to_le_bytes());
    pcap.extend_from_slice(&[0; 8]);
    pcap.extend_from_slice(&65535u32.to_le_bytes());
    pcap.extend_from_slice(&1u32.to_le_bytes());
    for word in [1u32, 0, frame.len() as u32, frame.len() as u32] {
        pcap.extend_from_slice(&word.to_le_bytes());
    }
    pcap.extend_from_slice(&frame);
    let capture = dir.join("hostile.pcap");
    std::fs::write(&capture, &pcap).unwrap();
    let page = dir.join("hostile.html");
    let out = show_html(&capture, &page);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let html = std::fs::read_to_string(&page).unwrap();
    assert_self_contained(&html);
    assert!(
        !html.contains("<script"),
        "markup from the wire reached the page"
    );
    assert!(!html.contains('\x1b'), "an escape byte reached the page");
    assert_eq!(html.matches("</svg>").count(), html.matches("<svg").count());
    assert!(
        html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"),
        "the payload is not shown escaped"
    );
}

#[test]
fn not_a_capture_leaves_no_page() {
    let dir = scratch("html-not-a-capture");
    let bogus = dir.join("notes.pcap");
    std::fs::write(&bogus, "these are not packets\n").unwrap();
    let page = dir.join("page.html");
    let out = show_html(&bogus, &page);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("notes.pcap"));
    assert!(!page.exists(), "a page was left behind for a bad file");
}

/// Every `href="#id"` of a page names an element of the page.
fn assert_links_resolve(page: &str) {
    for part in page.split("href=\"#").skip(1) {
        let id = &part[..part.find('"').expect("a closing quote")];
        assert!(
            page.contains(&format!("id=\"{id}\"")),
            "the link to #{id} leads nowhere"
        );
    }
}

/// The reference solution of the FTP lab, graded with a page: each check that looks at
/// packets lists its frames beside its feedback, linked to their arrows.
#[test]
fn grade_page_puts_feedback_beside_its_evidence() {
    let dir = scratch("html-grade");
    let page = dir.join("grade.html");
    let out = labctl()
        .args(["grade", "ftp-by-hand", "--reference", "--html"])
        .arg(&page)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run labctl grade");
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let html = std::fs::read_to_string(&page).expect("the page was written");
    assert_self_contained(&html);
    assert!(html.contains("10 / 10 points"), "no score in the page");
    assert!(
        html.contains("evidence: FTP data connections in your capture"),
        "the data check shows no evidence"
    );
    assert!(html.matches("href=\"#student-f").count() >= 8);
    assert_links_resolve(&html);
}

#[test]
fn grade_page_is_for_one_submission() {
    let dir = scratch("html-grade-batch");
    let out = labctl()
        .args(["grade", "ftp-by-hand", "--reference", "--gradebook"])
        .arg(dir.join("book.csv"))
        .arg("--html")
        .arg(dir.join("grade.html"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run labctl grade");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--html draws one submission"));
    assert!(!dir.join("grade.html").exists() && !dir.join("book.csv").exists());
}
