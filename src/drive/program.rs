//! Real programs run inside a host, from an argument vector, never through a shell. Their
//! stdout, stderr and exit code are recorded; a program that runs too long is killed.

use std::process::Stdio;
use std::time::Duration;

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
        "iptables" | "iptables-save" => "iptables",
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
    run(host, &argv, Duration::from_secs(10), result, &[], false).await
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
    } = &step.action
    else {
        unreachable!("{ROUTED}")
    };
    run(
        lab.host(step.host),
        argv,
        *timeout,
        result,
        stdin,
        *hold_stdin,
    )
    .await
}

pub(super) async fn run(
    host: &Host,
    argv: &[String],
    timeout: Duration,
    result: &mut StepResult,
    stdin: &[u8],
    hold_stdin: bool,
) -> Result<(), ProgramError> {
    let path = locate(&argv[0])?;
    let mut command = host.netns.command(path);
    command
        .args(&argv[1..])
        .current_dir(&host.dir)
        .stdin(if stdin.is_empty() && !hold_stdin {
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
    // The input is written while the output is read: a program that answers as it reads
    // (nc) would otherwise block on a full pipe.
    let input = child.stdin.take().map(|mut pipe| {
        let data = stdin.to_vec();
        tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            let _ = pipe.write_all(&data).await;
            if hold_stdin {
                // Closed when the program has exited and this task is aborted.
                std::future::pending::<()>().await;
            }
        })
    });
    let waited = tokio::time::timeout(timeout, child.wait_with_output()).await;
    if let Some(input) = input {
        input.abort();
    }
    match waited {
        Ok(Ok(output)) => {
            result.stderr = String::from_utf8_lossy(&output.stderr).into_owned();
            result.stdout = String::from_utf8_lossy(&output.stdout).into_owned();
            result.exit_code = output.status.code();
            result.outcome = if output.status.success() {
                StepOutcome::Ok
            } else {
                StepOutcome::Failed
            };
            result.detail = match output.status.code() {
                Some(code) => format!("exit {code}"),
                None => "killed by a signal".to_string(),
            };
            let first_error = result.stderr.lines().next().unwrap_or("").trim();
            if !output.status.success() && !first_error.is_empty() {
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
