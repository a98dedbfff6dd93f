//! Grading through the binary: submissions made the way a student makes them, with the real
//! programs (two network namespaces joined by a veth link, `nc -l -k -p 27664 > dump` on the
//! server, `tcpdump -w` on its interface or `-i any`, `telnet` from the client, the student's
//! iptables rule applied on the server in between), graded with `labctl grade --json`; and
//! tables of mistakes, one row each, checked by [`each_row`] and [`assert_grade`]; a [`class`]
//! of six submissions for batches, and the [`shard_files`] a class graded in four shards
//! leaves. Recording needs root (as CI runs); a missing program fails the test naming the
//! Debian package.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::process::Killed;
use super::{Netns, labctl, labctl_json, require};

/// The reference submission of homework-redirect, the lab most grading tests grade.
pub fn reference() -> PathBuf {
    super::root().join("labs/homework-redirect/reference")
}

/// Grades `dir` and returns the JSON grade, asserting exit 0 (full marks) or 1 (points lost).
pub fn grade(lab: &str, dir: &Path) -> serde_json::Value {
    graded(labctl().args(["grade", lab]).arg(dir).arg("--json"))
}

/// Runs a `labctl grade ... --json` command line and returns the JSON grade, asserting exit 0
/// (full marks) or 1 (points lost).
pub fn graded(command: &mut Command) -> serde_json::Value {
    let (out, grade) = labctl_json(command);
    let full = grade["score"] == grade["max"];
    assert_eq!(
        out.status.code(),
        Some(if full { 0 } else { 1 }),
        "exit code of a grade {grade:#}"
    );
    grade
}

/// Points and feedback of one check.
pub fn check<'a>(grade: &'a serde_json::Value, name: &str) -> (u64, &'a str) {
    let c = grade["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check {name} in {grade:#}"));
    (
        c["points"].as_u64().unwrap(),
        c["feedback"].as_str().unwrap(),
    )
}

/// The checks that lost points, by name.
pub fn lost(grade: &serde_json::Value) -> Vec<String> {
    grade["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["passed"] == false)
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect()
}

/// Where the student ran tcpdump.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Capture {
    /// `tcpdump -i eth0 -w` on the server.
    Eth0,
    /// `tcpdump -i any -w` on the server (Linux cooked capture).
    Any,
}

/// What the student did, in order.
pub struct Session<'a> {
    pub capture: Capture,
    /// The rule typed on the server between the two telnets, as iptables arguments; `None`
    /// types no rule.
    pub rule: Option<&'a [&'a str]>,
    /// The ports the client telnets to, in order.
    pub ports: &'a [u16],
    /// Whether the student types a message in each telnet session.
    pub message: bool,
}

/// Runs the session for real and returns the capture file written in `dir`.
pub fn record(dir: &Path, session: &Session) -> PathBuf {
    for (p, pkg) in [
        ("nc", "netcat-openbsd"),
        ("telnet", "telnet"),
        ("tcpdump", "tcpdump"),
        ("ip", "iproute2"),
        ("iptables", "iptables"),
        ("nsenter", "util-linux"),
    ] {
        require(p, pkg);
    }
    let (client, server) = Netns::pair("10.0.0.2/24");
    let dump = std::fs::File::create(dir.join("dump.txt")).unwrap();
    let nc = server
        .command("nc")
        .args(["-l", "-k", "-p", "27664"])
        .stdin(Stdio::null())
        .stdout(dump)
        .spawn()
        .unwrap();
    let nc = Killed(nc);
    let pcap = dir.join("homework.pcap");
    let iface = match session.capture {
        Capture::Eth0 => "eth0",
        Capture::Any => "any",
    };
    let tcpdump = server.tcpdump(iface, &pcap, "");
    wait_listening(&nc.0, 27664);

    let mut expected = Vec::new();
    for (i, &port) in session.ports.iter().enumerate() {
        if i == 1
            && let Some(rule) = session.rule
        {
            // A refused rule is a student's mistake, not the test's: carry on.
            let _ = server.command("iptables").args(rule).output().unwrap();
        }
        let message = format!("message {} to {port}\n", i + 1);
        telnet(
            &client,
            port,
            session.message.then_some(message.as_str()),
            &dir.join("dump.txt"),
        );
        expected.push(port);
    }
    wait_captured(&pcap, expected.len());
    assert!(tcpdump.interrupt().success(), "tcpdump exit");
    drop(nc);
    pcap
}

/// Waits until the process has a TCP socket listening on `port` (in its namespace).
fn wait_listening(process: &Child, port: u16) {
    let file = format!("/proc/{}/net/tcp", process.id());
    let local = format!(":{port:04X} ");
    let start = Instant::now();
    loop {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        if text
            .lines()
            .any(|l| l.contains(&local) && l.split_whitespace().nth(3) == Some("0A"))
        {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "nothing listens on {port}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// `telnet 10.0.0.2 PORT`, typing `message` (or nothing), then quitting: once telnet says it
/// is connected (or has given up), and, with a message, once the server's dump holds it.
/// telnet leaves as soon as its input ends, which could be before it has connected or sent.
fn telnet(client: &Netns, port: u16, message: Option<&str>, dump: &Path) -> Output {
    let mut child = client
        .command("telnet")
        .args(["10.0.0.2", &port.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let out = std::thread::spawn(move || {
        let mut all = Vec::new();
        loop {
            let mut line = Vec::new();
            if stdout.read_until(b'\n', &mut line).unwrap_or(0) == 0 {
                let _ = tx.send(false);
                return all;
            }
            if line.starts_with(b"Escape character is") {
                let _ = tx.send(true);
            }
            all.extend(line);
        }
    });
    let mut stderr = child.stderr.take().unwrap();
    let err = std::thread::spawn(move || {
        let mut all = Vec::new();
        let _ = std::io::Read::read_to_end(&mut stderr, &mut all);
        all
    });
    // A dropped SYN leaves telnet trying for minutes: the bound ends that wait, as the person
    // would give up.
    let connected = rx.recv_timeout(Duration::from_secs(5)).unwrap_or(false);
    if let (true, Some(m)) = (connected, message) {
        let before = std::fs::read(dump).unwrap_or_default().len();
        // A connection the server resets (a student's wrong rule) can end telnet before
        // anything is typed: the write then meets a closed pipe, as the person's typing would.
        let _ = stdin.write_all(m.as_bytes());
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(5)
            && std::fs::read(dump).is_ok_and(|d| d.len() < before + m.len())
            && child.try_wait().unwrap().is_none()
        {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    drop(stdin);
    let status = child.wait().unwrap();
    Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

/// Waits until the capture holds `n` TCP conversations, each finished (closed or refused).
fn wait_captured(pcap: &Path, n: usize) {
    let start = Instant::now();
    loop {
        if let Ok(a) = labctl::analyze::analyze_file(pcap) {
            let done = a
                .conversations
                .iter()
                .filter_map(|c| c.tcp.as_ref())
                .filter(|t| (t.close.fin[0] && t.close.fin[1]) || t.close.rst.is_some())
                .count();
            if done >= n {
                return;
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the capture never showed {n} finished connections"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A homework-redirect submission directory with commands.sh, the reference's answers.toml
/// (the display filter) and, if given, a capture under `name`.
pub fn submission(dir: &Path, commands: &str, capture: Option<(&Path, &str)>) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("commands.sh"), commands).unwrap();
    let reference = Path::new(env!("CARGO_MANIFEST_DIR")).join("labs/homework-redirect/reference");
    std::fs::copy(reference.join("answers.toml"), dir.join("answers.toml")).unwrap();
    if let Some((from, name)) = capture {
        std::fs::copy(from, dir.join(name)).unwrap();
    }
    dir.to_path_buf()
}

/// commands.sh of a student, with the rule line given.
pub fn commands(rule: &str) -> String {
    format!(
        "# server\nnc -l -k -p 27664 > dump.txt &\nsudo tcpdump -i eth0 -w homework.pcap &\n\
         # client\ntelnet 10.0.0.2 27664\n# server\n{rule}\n# client\ntelnet 10.0.0.2 21\n"
    )
}

/// What one check's feedback must say.
#[derive(Clone, Copy, Debug)]
pub enum Says {
    /// Exactly this.
    Is(&'static str),
    /// This somewhere in it.
    Has(&'static str),
    Starts(&'static str),
    Ends(&'static str),
}

impl Says {
    fn holds(self, feedback: &str) -> bool {
        match self {
            Says::Is(s) => feedback == s,
            Says::Has(s) => feedback.contains(s),
            Says::Starts(s) => feedback.starts_with(s),
            Says::Ends(s) => feedback.ends_with(s),
        }
    }
}

/// What a grade must be: the score (when it matters), the checks that lost points in rubric
/// order (when they matter), and what some checks' feedback says.
pub struct Expect {
    pub score: Option<u64>,
    pub lost: Option<Vec<&'static str>>,
    pub says: Vec<(&'static str, Says)>,
}

/// Asserts `g` is what `expect` says.
pub fn assert_grade(g: &serde_json::Value, expect: &Expect) {
    if let Some(score) = expect.score {
        assert_eq!(g["score"], score, "score of {g:#}");
    }
    if let Some(want) = &expect.lost {
        assert_eq!(&lost(g), want, "checks that lost points in {g:#}");
    }
    for (name, says) in &expect.says {
        let (_, feedback) = check(g, name);
        assert!(
            says.holds(feedback),
            "feedback of {name} should be {says:?}, is {feedback:?}"
        );
    }
}

/// Runs `each` on every row of a table, all of them even after one fails, then fails naming
/// every row that failed and why.
pub fn each_row<R>(rows: &[R], name: impl Fn(&R) -> &str, each: impl Fn(&R)) {
    let failed: Vec<String> = rows
        .iter()
        .filter_map(|row| {
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| each(row)));
            outcome.err().map(|panic| {
                let why = panic
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| panic.downcast_ref::<&str>().copied())
                    .unwrap_or("(no message)");
                format!("row {}: {why}", name(row))
            })
        })
        .collect();
    assert!(
        failed.is_empty(),
        "{} of {} rows failed:\n{}",
        failed.len(),
        rows.len(),
        failed.join("\n\n")
    );
}

/// A class of six submissions in `dir`, made in a shuffled order so nothing may rely on the
/// order directories are made or read in: zoe, alice and carol hand in homework-redirect's
/// reference (full marks), bob a wrong rule and no capture, mallory and dave nothing.
pub fn class(dir: &Path) -> Vec<PathBuf> {
    let reference = Path::new(env!("CARGO_MANIFEST_DIR")).join("labs/homework-redirect/reference");
    let mut dirs = Vec::new();
    for name in ["zoe", "alice", "mallory", "bob", "carol", "dave"] {
        let d = dir.join(name);
        std::fs::create_dir_all(&d).unwrap();
        if matches!(name, "zoe" | "alice" | "carol") {
            for f in ["commands.sh", "homework.pcap", "answers.toml"] {
                std::fs::copy(reference.join(f), d.join(f)).unwrap();
            }
        }
        if name == "bob" {
            std::fs::write(
                d.join("commands.sh"),
                "iptables -t nat -A OUTPUT -j ACCEPT\n",
            )
            .unwrap();
        }
        dirs.push(d);
    }
    dirs
}

/// The four shard files in `results`, in shard order, after checking their names and that
/// each holds its own shard.
pub fn shard_files(results: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(results)
        .unwrap_or_else(|e| panic!("no results in {}: {e}", results.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let names: Vec<String> = files
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    let want: Vec<String> = (0..4)
        .map(|i| format!("grades.shard-{i}-of-4.jsonl"))
        .collect();
    assert_eq!(names, want);
    for (i, f) in files.iter().enumerate() {
        let body = std::fs::read_to_string(f).unwrap();
        for line in body.lines().skip(1) {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            assert_eq!(v["shard"], format!("{i}/4"), "{}: {line}", f.display());
        }
    }
    files
}
