//! `cargo xtask bench filter`: a display filter over the analysis benchmark's bulk capture
//! (target/bench/bulk.pcap, made by `bench analysis` the first time), `labctl show BIG -Y
//! 'tcp.len > 1000' --count` against `tshark -r BIG -Y 'tcp.len > 1000' | wc -l`, as whole
//! processes: wall time (labctl best of three, page cache warm; tshark once) and labctl's peak
//! memory (GNU time's maximum resident set). Both must count the same frames. Targets: labctl
//! in at most 1/20 of tshark's wall time, in at most 64 MiB.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::{Result, analysis_example, build_release, ensure_packages, root, verdict};

const FILTER: &str = "tcp.len > 1000";

pub fn bench_filter(mb: usize, small: usize) -> Result<bool> {
    ensure_packages(&["tshark", "time"])?;
    let dir = root().join("target").join("bench");
    let bulk = dir.join("bulk.pcap");
    if !(bulk.exists() && dir.join("small.pcap").exists()) {
        let dir_s = dir.to_string_lossy().into_owned();
        analysis_example(&["generate", &dir_s, &mb.to_string(), &small.to_string()])?;
    }
    let labctl = build_release()?;
    // Both read from the page cache.
    std::io::copy(
        &mut std::fs::File::open(&bulk).map_err(|e| format!("{}: {e}", bulk.display()))?,
        &mut std::io::sink(),
    )
    .map_err(|e| e.to_string())?;
    let size = std::fs::metadata(&bulk).map_err(|e| e.to_string())?.len();

    let mut best: Option<(Duration, u64, u64)> = None;
    for _ in 0..3 {
        let run = labctl_count(&labctl, &bulk)?;
        if best.is_none_or(|b| run.0 < b.0) {
            best = Some(run);
        }
    }
    let (ours, count, peak_kib) = best.expect("three runs");

    let started = Instant::now();
    let mut child = Command::new("tshark")
        .arg("-r")
        .arg(&bulk)
        .args(["-Y", FILTER])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("tshark: {e}"))?;
    // `| wc -l`, counted here.
    let mut lines = 0u64;
    let mut out = child.stdout.take().expect("piped");
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = out.read(&mut buf).map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        lines += buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
    }
    let status = child.wait().map_err(|e| e.to_string())?;
    let theirs = started.elapsed();
    if !status.success() {
        return Err(format!("tshark failed on {} ({status})", bulk.display()));
    }
    if lines != count {
        return Err(format!(
            "labctl counts {count} frames, tshark {lines}: the filter disagrees"
        ));
    }
    let ratio = ours.as_secs_f64() / theirs.as_secs_f64();
    let mib = peak_kib as f64 / 1024.0;
    println!(
        "bulk capture          {} MB, {count} frames match {FILTER:?}",
        size / 1_000_000
    );
    println!(
        "labctl show -Y --count {:.3} s ({:.0} MB/s), peak memory {mib:.1} MiB",
        ours.as_secs_f64(),
        size as f64 / 1e6 / ours.as_secs_f64()
    );
    println!("tshark -Y | wc -l      {:.3} s", theirs.as_secs_f64());
    println!(
        "ratio                  {ratio:.4} (target <= 0.05) {}",
        verdict(ratio <= 0.05)
    );
    println!(
        "peak memory            {mib:.1} MiB (target <= 64 MiB) {}",
        verdict(mib <= 64.0)
    );
    Ok(ratio <= 0.05 && mib <= 64.0)
}

/// One `labctl show BIG -Y FILTER --count` under GNU time: wall time, the count, peak KiB.
fn labctl_count(labctl: &Path, bulk: &Path) -> Result<(Duration, u64, u64)> {
    let started = Instant::now();
    let out = Command::new("/usr/bin/time")
        .args(["-f", "%M"])
        .arg(labctl)
        .arg("show")
        .arg(bulk)
        .args(["-Y", FILTER, "--count"])
        .output()
        .map_err(|e| format!("/usr/bin/time labctl: {e}"))?;
    let took = started.elapsed();
    if !out.status.success() {
        return Err(format!(
            "labctl show failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let count = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .map_err(|e| format!("labctl --count printed no number: {e}"))?;
    let peak = String::from_utf8_lossy(&out.stderr)
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .ok_or("GNU time printed no peak memory")?;
    Ok((took, count, peak))
}
