//! Real programs run inside a host, from an argument vector, never through a shell. Their
//! stdout, stderr and exit code are recorded; a program that runs too long is killed.

use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use super::{ROUTED, StepResult};
use crate::scenario::{Action, StepOutcome, StepPlan};
use crate::topology::{Host, Lab};

#[derive(Debug, thiserror::Error)]
pub enum ProgramError {
    #[error("{program} is not installed (looked in PATH){hint}")]
    NotInstalled { program: String, hint: String },
}

/// Debian packages of the programs scenarios commonly run.
fn package_of(program: &str) -> Option<&'static str> {
    Some(match program {
        "iptables" | "iptables-save" | "iptables-restore" => "iptables",
        "nc" => "netcat-openbsd",
        "telnet" => "telnet",
        "curl" => "curl",
        "dig" => "dnsutils",
        "lftp" => "lftp",
        "ftp" => "ftp",
        "swaks" => "swaks",
        "traceroute" => "traceroute",
        "tcpdump" => "tcpdump",
        "ip" => "iproute2",
        "nmap" => "nmap",
        "hping3" => "hping3",
        "arping" => "arping",
        "arpspoof" | "macof" | "tcpkill" | "dnsspoof" => "dsniff",
        _ => return None,
    })
}

/// Finds a program in PATH; a missing one is labctl's problem to report, not a step outcome.
pub fn locate(program: &str) -> Result<std::path::PathBuf, ProgramError> {
    if program.contains('/') {
        return Ok(program.into());
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/sbin:/usr/bin:/sbin:/bin".into());
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/sbin".into()])
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
        .ok_or_else(|| ProgramError::NotInstalled {
            program: program.to_string(),
            hint: package_of(program)
                .map(|pkg| format!(": install it with `apt-get install {pkg}`"))
                .unwrap_or_default(),
        })
}

/// What a program step reads: its input, whether the input stays open after it, and a signal
/// sent once the input has been read and the host's connections are quiet.
pub(super) struct Input<'a> {
    pub bytes: &'a [u8],
    pub hold: bool,
    pub signal: Option<Signal>,
}

impl Input<'_> {
    /// No input: standard input is `/dev/null`.
    pub fn none() -> Input<'static> {
        Input {
            bytes: &[],
            hold: false,
            signal: None,
        }
    }
}

/// The `iptables` kind (and the rules a scenario or a student applies).
pub(super) async fn iptables(
    lab: &Lab,
    step: &StepPlan,
    result: &mut StepResult,
) -> Result<(), ProgramError> {
    let Action::Iptables(rule) = &step.action else {
        unreachable!("{ROUTED}")
    };
    let argv: Vec<String> = std::iter::once("iptables".to_string())
        .chain(rule.argv())
        .collect();
    let host = lab.host(step.host);
    run(host, &argv, Duration::from_secs(10), result, Input::none()).await
}

/// The `exec` kind: a program run from its argument vector.
pub(super) async fn exec(
    lab: &Lab,
    step: &StepPlan,
    result: &mut StepResult,
) -> Result<(), ProgramError> {
    let Action::Exec {
        argv,
        timeout,
        stdin,
        hold_stdin,
        signal,
    } = &step.action
    else {
        unreachable!("{ROUTED}")
    };
    let input = Input {
        bytes: stdin,
        hold: *hold_stdin,
        signal: *signal,
    };
    run(lab.host(step.host), argv, *timeout, result, input).await
}

pub(super) async fn run(
    host: &Host,
    argv: &[String],
    timeout: Duration,
    result: &mut StepResult,
    input: Input<'_>,
) -> Result<(), ProgramError> {
    let path = locate(&argv[0])?;
    let hold_stdin = input.hold || input.signal.is_some();
    let mut command = host.netns.command(path);
    command
        .args(&argv[1..])
        .current_dir(&host.dir)
        .stdin(if input.bytes.is_empty() && !hold_stdin {
            Stdio::null()
        } else {
            Stdio::piped()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut command = tokio::process::Command::from(command);
    command.kill_on_drop(true);
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => {
            result.outcome = StepOutcome::Failed;
            result.detail = format!("cannot start {}: {e}", argv[0]);
            return Ok(());
        }
    };
    let started = std::time::Instant::now();
    // A second descriptor of the input pipe tells how much of the input is still unread.
    let pipe = child
        .stdin
        .as_ref()
        .and_then(|p| p.as_fd().try_clone_to_owned().ok());
    // The input is written while the output is read: a program that answers as it reads
    // (nc) would otherwise block on a full pipe.
    let (written_tx, written_rx) = tokio::sync::oneshot::channel();
    let writer = child.stdin.take().map(|mut pipe| {
        let data = input.bytes.to_vec();
        tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            let _ = pipe.write_all(&data).await;
            let _ = written_tx.send(());
            if hold_stdin {
                // Closed when the program has exited and this task is aborted.
                std::future::pending::<()>().await;
            }
        })
    });
    if let (Some(signal), Some(pipe)) = (input.signal, pipe) {
        let _ = written_rx.await;
        interrupt(host, &mut child, &pipe, signal, started + timeout).await;
    }
    let timeout = timeout.saturating_sub(started.elapsed());
    let waited = tokio::time::timeout(timeout, child.wait_with_output()).await;
    if let Some(writer) = writer {
        writer.abort();
    }
    match waited {
        Ok(Ok(output)) => {
            result.stderr = String::from_utf8_lossy(&output.stderr).into_owned();
            result.stdout = String::from_utf8_lossy(&output.stdout).into_owned();
            result.exit_code = output.status.code();
            let by_signal = output
                .status
                .signal()
                .and_then(|n| Signal::try_from(n).ok());
            let interrupted = by_signal.is_some() && by_signal == input.signal;
            result.outcome = if output.status.success() || interrupted {
                StepOutcome::Ok
            } else {
                StepOutcome::Failed
            };
            result.detail = match (output.status.code(), by_signal) {
                (Some(code), _) => format!("exit {code}"),
                (None, Some(signal)) if interrupted => format!("ended by {signal}, as asked"),
                (None, Some(signal)) => format!("killed by {signal}"),
                (None, None) => "killed by a signal".to_string(),
            };
            if let (Some(signal), false) = (input.signal, interrupted) {
                result.detail = format!("{} (before {signal} was sent)", result.detail);
            }
            let first_error = result.stderr.lines().next().unwrap_or("").trim();
            if result.outcome == StepOutcome::Failed && !first_error.is_empty() {
                result.detail = format!("{}: {first_error}", result.detail);
            }
        }
        Ok(Err(e)) => {
            result.outcome = StepOutcome::Failed;
            result.detail = format!("{}: {e}", argv[0]);
        }
        Err(_) => {
            // Dropping the future kills the child (kill_on_drop).
            result.outcome = StepOutcome::Failed;
            result.detail = format!(
                "still running after {}: killed",
                crate::text::human_duration(timeout)
            );
        }
    }
    Ok(())
}

/// Sends `signal` to the program once it has read all its input and the host's TCP connections
/// are quiet, seen so twice a millisecond apart (the program reads its input, then writes it to
/// a socket: the second look closes that gap). A program that exits first, or a deadline that
/// passes, sends nothing.
async fn interrupt(
    host: &Host,
    child: &mut tokio::process::Child,
    pipe: &OwnedFd,
    signal: Signal,
    deadline: Instant,
) {
    let mut quiet_before = false;
    while Instant::now() < deadline {
        if !matches!(child.try_wait(), Ok(None)) {
            return;
        }
        let read_all = crate::sandbox::pipe_unread(pipe.as_fd()).is_ok_and(|n| n == 0);
        let quiet = read_all && super::listening::quiet(host);
        if quiet && quiet_before {
            if let Some(pid) = child.id().and_then(|p| i32::try_from(p).ok()) {
                let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), signal);
            }
            return;
        }
        quiet_before = quiet;
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}
