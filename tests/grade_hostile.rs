//! Hostile and broken submissions: shell syntax and command substitution in commands.sh,
//! `iptables -F`, rules on `lo`, symbolic links to files outside the submission, a FIFO, a
//! 300 MB capture of zeros, bytes that are not UTF-8. Each still gets a score and feedback;
//! none runs anything, changes the host's rules, links or files, or shows what is outside
//! the submission. And a batch of them, graded in parallel into one gradebook.

mod kit;

use std::path::Path;
use std::process::Command;

use kit::grading::{check, grade, lost};
use kit::{labctl, scratch};

const LAB: &str = "homework-redirect";
const GOOD: &str = "nc -l -p 27664 > dump.txt\n\
    sudo iptables -t nat -A PREROUTING -i eth0 -p tcp --dport 21 -j REDIRECT --to-ports 27664\n";

fn reference_pcap() -> std::path::PathBuf {
    kit::grading::reference().join("homework.pcap")
}

/// What the host has that a submission must not change: its rules and its links.
fn host_state() -> String {
    let mut state = String::new();
    for args in [
        &["iptables", "-S"][..],
        &["iptables", "-t", "nat", "-S"],
        &["ip", "-o", "link", "show"],
    ] {
        let out = Command::new(args[0]).args(&args[1..]).output().unwrap();
        assert!(out.status.success(), "{args:?}");
        state.push_str(&String::from_utf8_lossy(&out.stdout));
    }
    state
}

/// A submission whose commands.sh tries everything a shell would do, flushes the tables,
/// adds rules on lo, and has bytes that are not UTF-8; the rule itself is right.
fn hostile(dir: &Path, marker: &Path) -> std::path::PathBuf {
    let sub = dir.join("hostile");
    std::fs::create_dir_all(&sub).unwrap();
    let m = |n: u32| marker.join(format!("pwned{n}")).display().to_string();
    let mut script = format!(
        "iptables -F\nsudo iptables -t nat -F\n\
         sudo iptables -t nat -A PREROUTING -i eth0 -p tcp --dport 21 -j REDIRECT --to-ports 27664\n\
         iptables -A INPUT -i lo -j DROP\n\
         iptables -t nat -A PREROUTING -i lo -p tcp --dport 22 -j REDIRECT --to-ports 27664\n\
         nc -l -p 27664 > dump.txt; touch {}\n\
         $(touch {})\n\
         `touch {}`\n\
         iptables -A INPUT -s \"$(touch {})\" -j DROP\n\
         iptables -A INPUT -p tcp --dport 9 -j LOG --log-prefix 'x; touch {}'\n\
         ip link del eth0 && ip link add evil type veth\n\
         rm -rf / --no-preserve-root | tee {}\n",
        m(1),
        m(2),
        m(3),
        m(4),
        m(5),
        m(6)
    )
    .into_bytes();
    script.extend_from_slice(b"echo \xff\xfe\xc3 not text\n");
    std::fs::write(sub.join("commands.sh"), script).unwrap();
    std::fs::copy(reference_pcap(), sub.join("homework.pcap")).unwrap();
    sub
}

#[test]
fn hostile_commands_run_nothing_touch_nothing_and_are_graded() {
    let dir = scratch("hostile");
    let marker = dir.join("markers");
    std::fs::create_dir_all(&marker).unwrap();
    let before = host_state();
    let sub = hostile(&dir, &marker);
    let g = grade(LAB, &sub);
    assert_eq!(host_state(), before, "the host's rules or links changed");
    assert_eq!(
        std::fs::read_dir(&marker).unwrap().count(),
        0,
        "a command of the submission ran"
    );
    // The right rule was applied despite everything around it.
    assert_eq!(g["score"], 12, "{g:#}");
    let notes = g["notes"].to_string();
    kit::assert_contains(&notes, &["not UTF-8 on line 13", "shell expansion"]);
}

#[test]
fn links_fifos_and_garbage_captures_reveal_nothing_and_still_get_a_score() {
    let (dir, secret) = kit::scratch_file(
        "links",
        "secret.txt",
        "SECRET-MARKER\nsudo iptables -t nat -A PREROUTING -i eth0 -p tcp --dport 21 -j REDIRECT --to-ports 27664\n",
    );
    let sub = dir.join("sub");
    std::fs::create_dir_all(&sub).unwrap();
    std::os::unix::fs::symlink(&secret, sub.join("commands.sh")).unwrap();
    std::os::unix::fs::symlink(&secret, sub.join("answers.toml")).unwrap();
    std::os::unix::fs::symlink(reference_pcap(), sub.join("homework.pcap")).unwrap();
    let out = labctl().args(["grade", LAB]).arg(&sub).output().unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(!all.contains("SECRET-MARKER"), "{all}");
    assert!(all.contains("score 0/13"), "{all}");
    let g = grade(LAB, &sub);
    assert!(
        check(&g, "capture-file").1.contains("is a symbolic link"),
        "{g:#}"
    );
    assert!(
        g["notes"]
            .to_string()
            .contains("commands.sh is a symbolic link"),
        "{g:#}"
    );

    // A FIFO would block a reader forever: it is refused unopened.
    let fifo = dir.join("fifo");
    std::fs::create_dir_all(&fifo).unwrap();
    std::fs::write(fifo.join("commands.sh"), GOOD).unwrap();
    // The display filter is still tried on the lab's capture.
    std::fs::write(
        fifo.join("answers.toml"),
        "filter = \"tcp.port in {21, 27664}\"\n",
    )
    .unwrap();
    nix::unistd::mkfifo(&fifo.join("homework.pcap"), nix::sys::stat::Mode::S_IRWXU).unwrap();
    let g = grade(LAB, &fifo);
    assert_eq!(
        lost(&g),
        ["capture-file", "capture-27664", "capture-21"],
        "{g:#}"
    );
    assert!(
        check(&g, "capture-file")
            .1
            .contains("is not a regular file")
    );

    // 300 MB of zeros (sparse: made in an instant) is over the size limit and refused
    // unread; 60 MB of zeros is under it and refused at its first bytes.
    for (mb, says) in [
        (300, "is 300 MB, over the 100 MB limit"),
        (
            60,
            "is not a pcap or pcapng capture (it starts with the bytes 00000000)",
        ),
    ] {
        let zeros = dir.join(format!("zeros{mb}"));
        std::fs::create_dir_all(&zeros).unwrap();
        std::fs::write(zeros.join("commands.sh"), GOOD).unwrap();
        let f = std::fs::File::create(zeros.join("capture.pcap")).unwrap();
        f.set_len(mb * 1024 * 1024).unwrap();
        let g = grade(LAB, &zeros);
        assert_eq!(g["score"], 8, "{g:#}");
        assert!(check(&g, "capture-file").1.contains(says), "{g:#}");
    }
}

#[test]
fn a_batch_grades_every_submission_into_one_gradebook() {
    let dir = scratch("batch");
    let marker = dir.join("markers");
    std::fs::create_dir_all(&marker).unwrap();
    let hostile = hostile(&dir, &marker);
    let empty = dir.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let reference = Path::new(env!("CARGO_MANIFEST_DIR")).join("labs/homework-redirect/reference");
    let book = dir.join("grades.csv");
    let out = labctl()
        .args(["grade", LAB])
        .args([&reference, &empty, &hostile])
        .arg("--gradebook")
        .arg(&book)
        .args(["--jobs", "2"])
        .output()
        .unwrap();
    kit::assert_exit(&out, 0);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("3/3 graded"), "progress: {stderr}");
    let csv = std::fs::read_to_string(&book).unwrap();
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(
        rows[0],
        "submission,score,max,\"redirect-works\",\"answered-from-21\",\"rule-table\",\
         \"rule-chain\",\"rule-match\",\"listener\",\"capture-file\",\"capture-27664\",\
         \"capture-21\",\"display-filter\",error"
    );
    assert_eq!(rows.len(), 4, "{csv}");
    let score = |row: &str| row.split(',').nth(1).unwrap().to_string();
    // Sorted by directory name: empty, hostile, reference.
    assert!(rows[1].starts_with("\"empty\","), "{csv}");
    assert_eq!(score(rows[1]), "0", "{csv}");
    assert!(rows[1].ends_with(",0,0,0,0,0,0,0,0,0,0,"), "{csv}");
    assert!(rows[2].starts_with("\"hostile\","), "{csv}");
    assert_eq!(score(rows[2]), "12", "{csv}");
    assert!(rows[3].starts_with("\"reference\","), "{csv}");
    assert_eq!(score(rows[3]), "13", "{csv}");
    assert_eq!(std::fs::read_dir(&marker).unwrap().count(), 0);
}
