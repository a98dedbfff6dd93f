//! Project tasks, run as `cargo xtask TASK`.
//!
//! `bench [MB] [SMALL]`: the analysis benchmark. Captures real loopback traffic once into
//! target/bench (at least MB megabytes of TCP bulk transfer, default 300, and SMALL small UDP
//! packets, default 1000000; needs root and tcpdump), then times labctl's conversation analysis
//! against `tshark -q -z conv,tcp` and reports peak memory and packets per second. The work is
//! done by the `analysis_bench` example of the labctl package, built in release mode.

use std::path::PathBuf;
use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("bench") => bench(&args[1..]),
        _ => {
            eprintln!("usage: cargo xtask bench [MB] [SMALL]");
            ExitCode::from(2)
        }
    }
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default()
}

fn example(args: &[&str]) -> bool {
    Command::new(env!("CARGO"))
        .current_dir(root())
        .args([
            "run",
            "--quiet",
            "--release",
            "--package",
            "labctl",
            "--example",
            "analysis_bench",
            "--",
        ])
        .args(args)
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

fn bench(args: &[String]) -> ExitCode {
    let mb = args.first().map_or("300", String::as_str);
    let small = args.get(1).map_or("1000000", String::as_str);
    let dir = root().join("target").join("bench");
    let dir_s = dir.to_string_lossy().into_owned();
    let have = dir.join("bulk.pcap").exists() && dir.join("small.pcap").exists();
    if !have && !example(&["generate", &dir_s, mb, small]) {
        eprintln!("bench: could not capture the traffic (root and tcpdump are needed)");
        return ExitCode::from(2);
    }
    if example(&["measure", &dir_s]) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
