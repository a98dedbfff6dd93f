//! Program services: a real program started inside its host from an argument vector (never a
//! shell), for the whole lab, with its standard input empty, its standard output in a file of
//! the host's directory (or nowhere) and its standard error in `<service>.stderr` there.
//!
//! Contract: [`start`] returns once the program is up: with `ready = "tcp:PORT"`, once a socket
//! of the host listens on that port (read from the kernel, polled every millisecond; never a
//! fixed sleep); a program that exits first, or does not listen within [`READY_DEADLINE`], fails
//! the run naming it and its first line of standard error. [`Running::stop`] ends it as a
//! person at its terminal would (SIGINT, Ctrl-C), then SIGKILL if it is still there after
//! [`STOP_GRACE`].

use std::fs::File;
use std::process::Stdio;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use super::StartError;
use crate::scenario::ServicePlan;
use crate::topology::Host;

/// How long a program service may take to listen on its `ready` port.
const READY_DEADLINE: Duration = Duration::from_secs(10);
/// How long a program has to exit after SIGINT before it is killed.
// arpspoof re-announces the true bindings three times, a second apart, after SIGINT.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// A started program service.
pub struct Running {
    child: tokio::process::Child,
}

impl Running {
    /// SIGINT, then SIGKILL after [`STOP_GRACE`]; returns once the program is gone.
    pub async fn stop(mut self) {
        if let Ok(None) = self.child.try_wait() {
            if let Some(pid) = self.child.id().and_then(|p| i32::try_from(p).ok()) {
                let _ = kill(Pid::from_raw(pid), Signal::SIGINT);
            }
            if tokio::time::timeout(STOP_GRACE, self.child.wait())
                .await
                .is_err()
            {
                let _ = self.child.kill().await;
            }
        }
    }
}

/// Starts the program of `svc` in `host` and waits until it is ready.
pub async fn start(
    svc: &ServicePlan,
    host: &Host,
    argv: &[String],
    stdout: Option<&str>,
    ready: Option<u16>,
) -> Result<Running, StartError> {
    let fail = |message: String| StartError::Content {
        service: svc.name.clone(),
        message,
    };
    let path = crate::drive::locate(&argv[0]).map_err(|e| fail(e.to_string()))?;
    let file = |name: &str| {
        let path = host.dir.join(name);
        File::create(&path).map_err(|e| fail(format!("cannot create {}: {e}", path.display())))
    };
    let out = match stdout {
        Some(name) => Stdio::from(file(name)?),
        None => Stdio::null(),
    };
    let errors = host.dir.join(format!("{}.stderr", svc.name));
    let mut command = host.netns.command(path);
    command
        .args(&argv[1..])
        .current_dir(&host.dir)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(Stdio::from(file(&format!("{}.stderr", svc.name))?));
    let mut command = tokio::process::Command::from(command);
    command.kill_on_drop(true);
    let mut child = command
        .spawn()
        .map_err(|e| fail(format!("cannot start {}: {e}", argv[0])))?;
    let Some(port) = ready else {
        return Ok(Running { child });
    };
    let deadline = Instant::now() + READY_DEADLINE;
    loop {
        if crate::drive::listening(host)
            .iter()
            .any(|s| s.port() == port)
        {
            return Ok(Running { child });
        }
        let first_error = || {
            std::fs::read_to_string(&errors)
                .ok()
                .and_then(|t| t.lines().next().map(|l| format!(": {}", l.trim())))
                .unwrap_or_default()
        };
        if let Ok(Some(status)) = child.try_wait() {
            return Err(fail(format!(
                "{} ended ({status}) before listening on TCP port {port}{}",
                argv[0],
                first_error()
            )));
        }
        if Instant::now() >= deadline {
            return Err(fail(format!(
                "{} does not listen on TCP port {port} after {} s{}",
                argv[0],
                READY_DEADLINE.as_secs(),
                first_error()
            )));
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}
