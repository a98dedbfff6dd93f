//! Shared helpers for the interop and robustness tests: run a labctl server in-process on
//! loopback, and find the real client programs (failing with the Debian package to install
//! when one is missing, never skipping).
#![allow(dead_code)]

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::process::{Command, Output};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::oneshot;

pub type Shutdown = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A server running on its own runtime thread; dropping it shuts the server down.
pub struct Running {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn shutdown_pair() -> (oneshot::Sender<()>, Shutdown) {
    let (tx, rx) = oneshot::channel::<()>();
    (
        tx,
        Box::pin(async move {
            let _ = rx.await;
        }),
    )
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// Starts a TCP server on 127.0.0.1 on a free port.
pub fn start_tcp<F, Fut>(serve: F) -> Running
where
    F: FnOnce(tokio::net::TcpListener, Shutdown) -> Fut + Send + 'static,
    Fut: Future<Output = ()>,
{
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    std_listener.set_nonblocking(true).unwrap();
    let addr = std_listener.local_addr().unwrap();
    let (stop, shutdown) = shutdown_pair();
    let thread = std::thread::spawn(move || {
        runtime().block_on(async move {
            let listener = tokio::net::TcpListener::from_std(std_listener).unwrap();
            serve(listener, shutdown).await;
        });
    });
    Running {
        addr,
        stop: Some(stop),
        thread: Some(thread),
    }
}

/// Starts a UDP + TCP server pair on the same free loopback port.
pub fn start_udp_tcp<F, Fut>(serve: F) -> Running
where
    F: FnOnce(tokio::net::UdpSocket, tokio::net::TcpListener, Shutdown) -> Fut + Send + 'static,
    Fut: Future<Output = ()>,
{
    // Find a port free for both protocols.
    let (udp, tcp) = loop {
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind udp loopback");
        let port = udp.local_addr().unwrap().port();
        if let Ok(tcp) = std::net::TcpListener::bind(("127.0.0.1", port)) {
            break (udp, tcp);
        }
    };
    udp.set_nonblocking(true).unwrap();
    tcp.set_nonblocking(true).unwrap();
    let addr = tcp.local_addr().unwrap();
    let (stop, shutdown) = shutdown_pair();
    let thread = std::thread::spawn(move || {
        runtime().block_on(async move {
            let udp = tokio::net::UdpSocket::from_std(udp).unwrap();
            let tcp = tokio::net::TcpListener::from_std(tcp).unwrap();
            serve(udp, tcp, shutdown).await;
        });
    });
    Running {
        addr,
        stop: Some(stop),
        thread: Some(thread),
    }
}

/// The path of a program the test needs; panics naming the Debian package when it is missing.
pub fn require(program: &str, package: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        let candidate = dir.join(program);
        if candidate.is_file() {
            return candidate;
        }
    }
    panic!(
        "interop test needs the `{program}` program, which is not installed: \
         apt-get install {package}"
    );
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

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A fresh scratch directory under the system temp dir.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("labctl-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
