//! `cargo xtask fuzz [TARGET] [--seconds N]`: every fuzz target of fuzz/ (or only TARGET) run
//! for N seconds each (default 60) with cargo-fuzz on the nightly toolchain.
//!
//! Contract: cargo-fuzz is installed with `cargo install` when missing, and the nightly
//! toolchain with rustup; every target is built before the first one runs, so a target that
//! does not build fails the task before any time is spent fuzzing. An empty corpus
//! (fuzz/corpus/TARGET) is seeded from the repository's own inputs (scenarios, rubrics,
//! reference submissions, captures), so the fuzzer starts from valid files and mutates them.
//! A crash stops the task with exit 1 and names the input libFuzzer saved
//! (fuzz/artifacts/TARGET/) and the command that replays it; such an input becomes a
//! regression test named after what broke, next to the code that broke.
//!
//! Invariants: corpus and artifacts stay under fuzz/ (ignored by git); nothing here runs as part
//! of a lab.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

use crate::{Result, flag, root, status};

/// Every target in fuzz/Cargo.toml, in the order they run.
pub const TARGETS: &[&str] = &[
    "capture_reader",
    "dissect",
    "filter",
    "scenario",
    "iptables",
    "rubric",
    "submission",
    "ftp",
    "smtp",
    "http",
    "dns",
    "dhcp",
];

/// One input slower than this is reported as a hang (libFuzzer's default is 20 minutes).
const INPUT_TIMEOUT_S: u32 = 10;

pub fn fuzz(args: &[String]) -> Result<ExitCode> {
    let seconds = flag(args, "--seconds", 60)?;
    let only = args
        .first()
        .filter(|a| !a.starts_with('-'))
        .map(String::as_str);
    let targets: Vec<&str> = match only {
        None => TARGETS.to_vec(),
        Some(t) if TARGETS.contains(&t) => vec![t],
        Some(t) => {
            return Err(format!(
                "no fuzz target {t:?} (targets: {})",
                TARGETS.join(", ")
            ));
        }
    };
    ensure_nightly()?;
    ensure_cargo_fuzz()?;
    // Build every target, even when one runs: a target that no longer builds is found here.
    status("cargo fuzz build", nightly().args(["fuzz", "build"]))?;
    let mut summary = Vec::new();
    for target in &targets {
        seed(target)?;
        let (execs, took) = run_target(target, seconds)?;
        summary.push(format!(
            "  {target:<15} {took:>5.0} s  {execs:>11} inputs  corpus {}",
            count(&corpus(target))
        ));
    }
    println!(
        "fuzzed {} target(s), {seconds} s each, no crash:",
        targets.len()
    );
    for line in summary {
        println!("{line}");
    }
    Ok(ExitCode::SUCCESS)
}

/// `cargo` of the nightly toolchain, at the workspace root (cargo-fuzz looks for fuzz/ there).
fn nightly() -> Command {
    let mut c = Command::new("rustup");
    c.args(["run", "nightly", "cargo"]);
    // Set by the stable cargo that runs xtask; it would win over `rustup run nightly`.
    c.env_remove("RUSTUP_TOOLCHAIN");
    c.env_remove("CARGO");
    c.current_dir(root());
    c
}

/// Whether `command` runs and exits 0, its output thrown away: a tool is there.
fn present(command: &mut Command) -> bool {
    command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn ensure_nightly() -> Result<()> {
    if present(
        Command::new("rustup")
            .args(["run", "nightly", "rustc", "--version"])
            .env_remove("RUSTUP_TOOLCHAIN"),
    ) {
        return Ok(());
    }
    status(
        "rustup toolchain install nightly",
        Command::new("rustup").args(["toolchain", "install", "nightly", "--profile", "minimal"]),
    )
}

fn ensure_cargo_fuzz() -> Result<()> {
    if present(nightly().args(["fuzz", "--version"])) {
        return Ok(());
    }
    let started = Instant::now();
    status(
        "cargo install cargo-fuzz",
        Command::new("cargo").args(["install", "--locked", "cargo-fuzz"]),
    )?;
    eprintln!(
        "xtask: cargo-fuzz installed in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn corpus(target: &str) -> PathBuf {
    root().join("fuzz/corpus").join(target)
}

fn count(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |d| d.count())
}

/// Seeds an empty corpus with the repository's own inputs for this target.
fn seed(target: &str) -> Result<()> {
    let dir = corpus(target);
    if count(&dir) > 0 {
        return Ok(());
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let r = root();
    let files_in = |sub: &str, ext: &str| -> Vec<PathBuf> {
        let mut found = Vec::new();
        let mut stack = vec![r.join(sub)];
        while let Some(d) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&d) else {
                continue;
            };
            for e in entries.flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.to_string_lossy().ends_with(ext) {
                    found.push(p);
                }
            }
        }
        found.sort();
        found
    };
    let mut seeds: Vec<Vec<u8>> = Vec::new();
    let mut add_files = |files: Vec<PathBuf>| {
        for f in files {
            if let Ok(bytes) = std::fs::read(&f) {
                seeds.push(bytes);
            }
        }
    };
    match target {
        "capture_reader" => {
            add_files(files_in("tests/data", ".pcap"));
            add_files(files_in("labs", ".pcap"));
        }
        "scenario" => add_files(files_in("scenarios", ".toml")),
        "rubric" => add_files(files_in("labs", "rubric.toml")),
        "submission" | "iptables" => {
            add_files(files_in("labs", "commands.sh"));
            add_files(files_in("labs", "answers.toml"));
        }
        "filter" => {
            for f in [
                "tcp.port == 21 && ip.src == 10.0.0.1",
                "ftp || ftp-data",
                "udp.stream eq 1 and dns.qry.name contains \"example\"",
                "ip.flags.mf == 1 or ip.frag_offset > 0",
                "tcp.flags.syn == 1 && !(tcp.flags.ack == 1)",
                "frame.len >= 60 && eth.type == 0x0800",
                "host 10.0.0.1 and tcp port 21",
                "not arp and (udp or icmp)",
            ] {
                seeds.push(f.as_bytes().to_vec());
            }
        }
        "ftp" => seeds.push(
            b"USER anonymous\r\nPASS x\r\nPWD\r\nCWD debian\r\nPASV\r\nLIST\r\nTYPE I\r\n\
              EPSV\r\nRETR README\r\nCWD /incoming\r\nPASV\r\nSTOR up.txt\r\nQUIT\r\n"
                .to_vec(),
        ),
        "smtp" => seeds.push(
            b"EHLO client.example.test\r\nMAIL FROM:<a@example.test>\r\n\
              RCPT TO:<b@example.test>\r\nDATA\r\nSubject: hi\r\n\r\n..dot\r\n.\r\nQUIT\r\n"
                .to_vec(),
        ),
        "http" => seeds.push(b"GET /docs HTTP/1.1\r\nHost: www.example.test:80\r\n\r\n".to_vec()),
        _ => {}
    }
    for (i, bytes) in seeds.iter().enumerate() {
        let path = dir.join(format!("seed-{i:03}"));
        std::fs::write(&path, bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}

/// Runs one target; returns how many inputs it tried and how long it ran.
fn run_target(target: &str, seconds: usize) -> Result<(u64, f64)> {
    eprintln!("xtask: fuzzing {target} for {seconds} s");
    let started = Instant::now();
    let out = nightly()
        .args(["fuzz", "run", target, "--"])
        .arg(format!("-max_total_time={seconds}"))
        .arg(format!("-timeout={INPUT_TIMEOUT_S}"))
        .arg("-rss_limit_mb=2048")
        .arg("-print_final_stats=1")
        .stdout(Stdio::null())
        .output()
        .map_err(|e| format!("cargo fuzz run {target}: {e}"))?;
    let took = started.elapsed().as_secs_f64();
    let log = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        let artifact = log
            .lines()
            .find_map(|l| l.split_once("Test unit written to ").map(|(_, p)| p.trim()))
            .unwrap_or("(no input saved; see the log above)");
        let tail: Vec<&str> = log.lines().rev().take(40).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        eprintln!("{}", tail.join("\n"));
        return Err(format!(
            "fuzz target {target} failed ({}) after {took:.0} s; input: {artifact}; replay: \
             cargo +nightly fuzz run {target} {artifact}; turn it into a regression test named \
             after what broke",
            out.status
        ));
    }
    let execs = log
        .lines()
        .find_map(|l| l.strip_prefix("stat::number_of_executed_units:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0);
    Ok((execs, took))
}
