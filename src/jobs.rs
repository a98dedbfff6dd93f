//! Batches: many labs at once, each a labctl child process in its own sandbox.
//!
//! Contract: [`run_all`] runs every [`Job`] to completion, at most `parallel` at a time, and
//! returns one [`Finished`] per job in the order given, whatever each child did (a child that
//! cannot start is a finished job with `code: None` and the reason in `stderr`). One job never
//! stops the others. Children die with the process that started them.

use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// One child run: `labctl <args>`.
#[derive(Debug, Clone)]
pub struct Job {
    /// What the progress line calls it (a scenario name, a submission directory).
    pub label: String,
    pub args: Vec<OsString>,
}

#[derive(Debug, Clone)]
pub struct Finished {
    pub label: String,
    /// The child's exit code; `None` when it could not start or was killed by a signal.
    pub code: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub took: Duration,
}

/// The labctl executable to run children from.
pub fn exe() -> PathBuf {
    std::env::current_exe().unwrap_or_else(|_| "/proc/self/exe".into())
}

/// Runs the jobs, `parallel` at a time, calling `progress` after each one finishes with the
/// number finished so far.
pub fn run_all(
    jobs: Vec<Job>,
    parallel: usize,
    progress: &(dyn Fn(&Finished, usize, usize) + Sync),
) -> Vec<Finished> {
    let total = jobs.len();
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Finished>>> = Mutex::new(vec![None; total]);
    let exe = exe();
    std::thread::scope(|scope| {
        for _ in 0..parallel.clamp(1, total.max(1)) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(job) = jobs.get(i) else { break };
                    // The child is started and waited for on this thread: its parent-death
                    // signal follows the thread that forked it.
                    let finished = run_one(&exe, job);
                    let n = done.fetch_add(1, Ordering::SeqCst) + 1;
                    progress(&finished, n, total);
                    results.lock().expect("no job panics holding the lock")[i] = Some(finished);
                }
            });
        }
    });
    results
        .into_inner()
        .expect("no job panics holding the lock")
        .into_iter()
        .map(|f| f.expect("every job ran"))
        .collect()
}

fn run_one(exe: &PathBuf, job: &Job) -> Finished {
    let started = Instant::now();
    let output = crate::sandbox::child(exe)
        .args(&job.args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output();
    match output {
        Ok(out) => Finished {
            label: job.label.clone(),
            code: out.status.code(),
            stdout: out.stdout,
            stderr: out.stderr,
            took: started.elapsed(),
        },
        Err(e) => Finished {
            label: job.label.clone(),
            code: None,
            stdout: Vec::new(),
            stderr: format!("cannot start {}: {e}", exe.display()).into_bytes(),
            took: started.elapsed(),
        },
    }
}

/// A progress line on stderr: redrawn in place on a terminal, one line per job otherwise (CI
/// logs).
pub struct Progress {
    terminal: bool,
    verb: &'static str,
    /// What exit code 1 means for this kind of job (`FAILED` for a test).
    code_one: &'static str,
}

impl Progress {
    pub fn new(verb: &'static str) -> Progress {
        Progress {
            terminal: std::io::stderr().is_terminal(),
            verb,
            code_one: "FAILED",
        }
    }

    /// Names what exit code 1 means (for grading: points were lost, not a failure).
    pub fn code_one(mut self, label: &'static str) -> Progress {
        self.code_one = label;
        self
    }

    pub fn update(&self, finished: &Finished, done: usize, total: usize) {
        let width = 24;
        let filled = (done * width).checked_div(total).unwrap_or(width);
        let bar: String = "#".repeat(filled) + &"-".repeat(width - filled);
        let status = match finished.code {
            Some(0) => "ok",
            Some(1) => self.code_one,
            Some(_) | None => "ERROR",
        };
        let line = format!(
            "[{bar}] {done}/{total} {} {} {status} ({} ms)",
            self.verb,
            finished.label,
            finished.took.as_millis()
        );
        let mut err = std::io::stderr().lock();
        if self.terminal {
            let _ = write!(err, "\r\x1b[2K{line}");
            if done == total {
                let _ = writeln!(err);
            }
        } else {
            let _ = writeln!(err, "{line}");
        }
    }
}
