//! Running a real client program with a deadline, as a person would (its input typed, held
//! open a moment where the program needs that), collecting what it printed; the clients many
//! tests run (`curl`, `nc`), and the checks of what a program printed; a child that is
//! [`Killed`] when the test ends.

use std::process::{Child, Command, ExitStatus, Output};
use std::time::Duration;

/// A child killed when dropped, so a failing test leaves no server, nc or tcpdump behind.
pub struct Killed(pub Child);

impl Killed {
    /// Stops the child as Ctrl-C does and waits for it.
    pub fn interrupt(mut self) -> ExitStatus {
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.0.id() as i32),
            nix::sys::signal::Signal::SIGINT,
        )
        .expect("send SIGINT");
        self.0.wait().expect("wait for the child")
    }
}

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs a command with a deadline, returning its output; panics if it does not finish.
pub fn run(command: Command, stdin: Option<&[u8]>, timeout: Duration) -> Output {
    run_held(command, stdin, Duration::ZERO, timeout)
}

/// Like [`run`], but keeps the child's stdin open for `hold` after writing the input, as a
/// person at a keyboard would: `telnet` quits as soon as its input ends.
pub fn run_held(
    mut command: Command,
    stdin: Option<&[u8]>,
    hold: Duration,
    timeout: Duration,
) -> Output {
    use std::io::Write;
    use std::process::Stdio;
    command
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("spawn client program");
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        let input = input.to_vec();
        std::thread::spawn(move || {
            let _ = pipe.write_all(&input);
            std::thread::sleep(hold);
        });
    }
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = std::io::Read::read_to_end(&mut stdout, &mut buf);
        buf
    });
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = std::io::Read::read_to_end(&mut stderr, &mut buf);
        buf
    });
    let deadline = std::time::Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for client program") {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let stdout = out_reader.join().unwrap();
            panic!(
                "{command:?} did not finish within {timeout:?}; its output so far:\n{}",
                text(&stdout)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: out_reader.join().unwrap(),
        stderr: err_reader.join().unwrap(),
    }
}

/// Bytes a program printed, as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Fails the test unless the program exited 0, showing all it printed; returns its stdout.
pub fn succeeded(program: &str, out: &Output) -> String {
    let stdout = text(&out.stdout);
    assert!(
        out.status.success(),
        "{program} failed: {stdout}{}",
        text(&out.stderr)
    );
    stdout
}

/// Runs `command` to its end and returns its stdout; fails the test, naming the command and
/// showing its stderr, unless it started and exited 0.
pub fn stdout_of(command: &mut Command) -> String {
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    succeeded(&format!("{command:?}"), &out)
}

/// Fails the test unless `haystack` contains every one of `needles`, naming the one missing
/// and showing the whole text.
pub fn assert_contains(haystack: &str, needles: &[&str]) {
    for needle in needles {
        assert!(haystack.contains(needle), "no {needle:?} in:\n{haystack}");
    }
}

/// `curl -sS` with its own and the kit's deadline.
pub fn curl(args: &[&str]) -> Output {
    let mut cmd = Command::new(super::require("curl", "curl"));
    cmd.args(["-sS", "--max-time", "20"]).args(args);
    run(cmd, None, Duration::from_secs(30))
}

/// `nc -N` to a loopback port: types `input`, half-closes, and returns what came back.
pub fn nc(port: u16, input: &str) -> String {
    let mut cmd = Command::new(super::require("nc", "netcat-openbsd"));
    cmd.args(["-N", "127.0.0.1", &port.to_string()]);
    text(&run(cmd, Some(input.as_bytes()), Duration::from_secs(20)).stdout)
}
