//! The sandbox: private namespaces for a whole run, and one network namespace per lab host.
//!
//! Contract:
//! - [`run_lab`] is the one way into the sandbox, called before any thread exists. It moves
//!   the process into a new user, mount, network and PID namespace and
//!   forks: the child is PID 1 of that PID namespace and goes on with the run (no second
//!   `exec`: it already holds the validated scenario), while the outer process only waits and
//!   passes the verdict on. Inside, it runs the lab on a single-threaded runtime. Every call a
//!   lab needs from the host (the namespaces, the id maps, private mounts, a network sysctl) is
//!   made by the outer process before the fork, so a refusal is named by its call
//!   ([`Refusal`]); [`probe`] makes the same calls in a throw-away child for the commands that
//!   must know before they start (`labctl test`, `labctl grade`).
//! - The inner process reports its exit code with [`finish`] once its output is written; the outer
//!   process exits with it at once, while the kernel is still tearing the lab down (closing
//!   capture sockets waits for RCU grace periods). If the inner process dies without a verdict,
//!   the outer one reports how it ended.
//! - Every lab host is an anonymous network namespace held by a file descriptor ([`Netns`]). No
//!   `/run/netns` entry, no interface and no iptables rule is ever created outside the sandbox.
//! - Nothing outside this module enters a namespace. Code that must run inside a host goes through
//!   [`Netns::run`] (a closure on a short-lived dedicated thread), [`Netns::spawn`] (a long-lived
//!   dedicated thread, for captures) or [`Netns::command`] (a child process that starts inside).
//!   Tokio worker threads never change namespace; sockets are created inside and handed over,
//!   since a socket keeps the namespace it was created in.
//!
//! Why this is leak-free: the kernel removes a namespace when nothing refers to it any more. The
//! inner process is PID 1 of its PID namespace, so when it dies every process started in the lab
//! dies with it; it also dies with the outer process (parent-death signal, and a pipe whose end
//! closes when the outer process is gone, which covers the race before the signal is armed).
//! SIGKILL at any moment therefore leaves nothing behind on the host.
#![allow(unsafe_code)]

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::thread;

use nix::mount::{MsFlags, mount};
use nix::sched::{CloneFlags, setns, unshare};
use nix::sys::wait::WaitStatus;
use nix::unistd::{ForkResult, Gid, Uid};

use crate::verdict::{Error, Verdict};

mod refusal;

use refusal::refused;
pub use refusal::{Call, HostLimits, Refusal, explain};

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// The host refused one of the calls a lab needs; the refusal names which and why.
    #[error("{0}")]
    Refused(Refusal),
    #[error("cannot write {path}: {source}")]
    IdMap {
        path: &'static str,
        source: io::Error,
    },
    #[error("cannot start the sandboxed run ({what}): {source}")]
    Spawn {
        what: &'static str,
        source: io::Error,
    },
    #[error("cannot make the sandbox's mounts private: {source}")]
    MountPrivate { source: nix::Error },
    #[error("cannot bind {what} over {target}: {source}")]
    Bind {
        what: String,
        target: String,
        source: nix::Error,
    },
    #[error("cannot create a network namespace for host {host}: {source}")]
    NewNetns { host: String, source: io::Error },
    #[error("cannot enter the network namespace of host {host}: {source}")]
    Enter { host: String, source: nix::Error },
    #[error("a thread inside host {host} panicked")]
    ThreadPanicked { host: String },
}

/// Where [`enter`] left the process.
enum Entered {
    /// This is the outer process; the sandboxed run has finished with this exit code.
    Finished(i32),
    /// This is the process inside the sandbox: go on with the run.
    Inside,
}

/// Inside the sandbox, the pipe end on which [`finish`] reports the exit code.
static VERDICT: Mutex<Option<File>> = Mutex::new(None);

/// Moves the run into its sandbox. Must be called before any thread is started: the kernel
/// refuses a new user namespace to a multi-threaded process, and the inner process is a fork
/// of this one that goes on running its code.
fn enter() -> Result<Entered, SandboxError> {
    let uid = Uid::current();
    let gid = Gid::current();
    unshare(
        CloneFlags::CLONE_NEWUSER
            | CloneFlags::CLONE_NEWNS
            | CloneFlags::CLONE_NEWNET
            | CloneFlags::CLONE_NEWPID,
    )
    .map_err(|errno| refused(Call::Unshare, errno))?;
    // A process may map only its own ids into the namespace it has just created; that is all
    // a lab needs (root inside, the caller's ids outside), for root and for everyone else.
    write_proc("/proc/self/setgroups", "deny")?;
    write_proc("/proc/self/uid_map", &format!("0 {uid} 1"))?;
    write_proc("/proc/self/gid_map", &format!("0 {gid} 1"))?;
    // Mounts made for the run (the lab's /etc/hosts) must never propagate to the host. The
    // rest of what [`probe`] tries is made here too, where it costs a system call each, so
    // that a refusal is named now and not deep in the topology: a network sysctl, opened for
    // writing only (a read-only /proc/sys refuses the open) so that nothing changes yet.
    mount_private()?;
    const SYSCTL: &str = "/proc/sys/net/ipv4/ip_forward";
    File::options()
        .write(true)
        .open(SYSCTL)
        .map_err(|source| proc_error(SYSCTL, source))?;

    let pipe = || {
        nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| SandboxError::Spawn {
            what: "pipe",
            source: e.into(),
        })
    };
    let (lifeline_read, lifeline_write) = pipe()?;
    let (verdict_read, verdict_write) = pipe()?;
    // What is buffered now would otherwise be written twice, once by each process.
    let _ = io::stdout().flush();
    let _ = io::stderr().flush();
    // SAFETY: the process is single-threaded (the kernel has just granted it a new user
    // namespace, which it refuses to a multi-threaded process), so the child is a whole copy
    // of it, free to go on running any code.
    let forked = unsafe { nix::unistd::fork() }.map_err(|e| SandboxError::Spawn {
        what: "fork",
        source: e.into(),
    })?;
    let child = match forked {
        ForkResult::Child => {
            // The first process forked after unsharing the PID namespace is its PID 1: when
            // it dies, the kernel kills every process of the lab. It dies with the outer
            // process: the signal from now on, the lifeline for a death before this call.
            // SAFETY: prctl with two integer arguments.
            if unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) } != 0 {
                // SAFETY: _exit ends the process without running any Rust code.
                unsafe { libc::_exit(137) };
            }
            drop(lifeline_write);
            drop(verdict_read);
            watch_lifeline(File::from(lifeline_read));
            *VERDICT.lock().unwrap_or_else(|e| e.into_inner()) = Some(File::from(verdict_write));
            return Ok(Entered::Inside);
        }
        ForkResult::Parent { child } => child,
    };
    drop(lifeline_read);
    drop(verdict_write);
    let mut verdict = [0u8; 1];
    if matches!(File::from(verdict_read).read(&mut verdict), Ok(1)) {
        // The run is over and its output written; the inner process is only tearing down.
        return Ok(Entered::Finished(i32::from(verdict[0])));
    }
    let status = loop {
        match nix::sys::wait::waitpid(child, None) {
            Err(nix::Error::EINTR) => continue,
            other => {
                break other.map_err(|e| SandboxError::Spawn {
                    what: "waitpid",
                    source: e.into(),
                })?;
            }
        }
    };
    drop(lifeline_write);
    Ok(Entered::Finished(match status {
        WaitStatus::Exited(_, code) => code,
        WaitStatus::Signaled(_, signal, _) => {
            eprintln!(
                "labctl: the sandboxed run was killed by signal {}",
                signal as i32
            );
            2
        }
        _ => 2,
    }))
}

/// Builds a lab in the sandbox: the one way in for every command that runs a lab (`labctl run`,
/// and `labctl grade` of one submission). Must be called before any thread exists.
///
/// The process forks into the sandbox and waits; it then returns the inner process's verdict
/// as its exit code tells it: 0 [`Verdict::Passed`], 1 [`Verdict::Failed`], any other code
/// [`Error::exited`] (the inner process has printed why). Inside, `lab` runs on a
/// single-threaded tokio runtime with `out`, and its result is returned; `main` prints the
/// error, if any, and reports the exit code with [`finish`].
pub fn run_lab<F, Fut>(out: &Path, lab: F) -> Result<Verdict, Error>
where
    F: FnOnce(PathBuf) -> Fut,
    Fut: Future<Output = Result<Verdict, Error>>,
{
    if let Entered::Finished(code) = enter()? {
        return match code.clamp(0, 255) as u8 {
            0 => Ok(Verdict::Passed),
            1 => Ok(Verdict::Failed),
            code => Err(Error::exited(code)),
        };
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::msg(format!("cannot start the runtime: {e}")))?;
    runtime.block_on(lab(out.to_path_buf()))
}

/// Inside the sandbox, reports the run's exit code to the outer process, which exits with it at
/// once. Standard output and error are flushed and then pointed at `/dev/null`, so a reader of
/// this run's output sees its end now, not when the kernel has finished tearing the lab down.
/// Outside the sandbox it does nothing.
pub fn finish(code: u8) {
    let Some(mut verdict) = VERDICT.lock().unwrap_or_else(|e| e.into_inner()).take() else {
        return;
    };
    let _ = io::stdout().flush();
    let _ = io::stderr().flush();
    if let Ok(null) = File::options().write(true).open("/dev/null") {
        // SAFETY: dup2 onto the standard descriptors, whose buffered writers were just flushed;
        // the descriptor numbers stay valid, only what they refer to changes.
        unsafe {
            libc::dup2(null.as_raw_fd(), 1);
            libc::dup2(null.as_raw_fd(), 2);
        }
    }
    let _ = verdict.write_all(&[code]);
}

/// Makes this process ignore SIGINT and SIGTERM, so that Ctrl-C on a kept lab reaches only the
/// inner process, which ends the lab cleanly and reports. The inner process installs its own
/// handler.
pub fn ignore_interrupt() {
    use nix::sys::signal::{SigHandler, Signal, signal};
    for sig in [Signal::SIGINT, Signal::SIGTERM] {
        // SAFETY: installing SIG_IGN runs no code in a signal context.
        let _ = unsafe { signal(sig, SigHandler::SigIgn) };
    }
}

/// This process's id as the host sees it. `/proc` is the host's mount, so `/proc/self` names
/// the process in the host's PID namespace even from inside the sandbox, where it is PID 1.
pub fn host_pid() -> Option<u32> {
    std::fs::read_link("/proc/self")
        .ok()?
        .to_str()?
        .parse()
        .ok()
}

/// A command, for a person at the host's prompt, that opens `shell` inside `netns`: the same
/// user and mount namespaces as the run (so lab host names resolve), and the host's network
/// namespace, reached through the descriptor this process holds for it.
pub fn shell_command(netns: &Netns, shell: &str) -> Option<String> {
    let pid = host_pid()?;
    let fd = netns.fd().as_raw_fd();
    Some(format!(
        "nsenter -t {pid} -U -m --net=/proc/{pid}/fd/{fd} {shell}"
    ))
}

/// Makes every mount of this mount namespace private, so nothing a run mounts reaches the
/// host; a refusal is named by its call.
fn mount_private() -> Result<(), SandboxError> {
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .map_err(|errno| match errno {
        nix::Error::EPERM | nix::Error::EACCES => refused(Call::MountPrivate, errno),
        source => SandboxError::MountPrivate { source },
    })
}

fn write_proc(path: &'static str, content: &str) -> Result<(), SandboxError> {
    std::fs::write(path, content).map_err(|source| proc_error(path, source))
}

fn proc_error(path: &'static str, source: io::Error) -> SandboxError {
    match source.raw_os_error() {
        Some(errno) => refused(Call::Write(path), nix::Error::from_raw(errno)),
        None => SandboxError::IdMap { path, source },
    }
}

/// Exits at once when the outer process is gone, whatever killed it: `lifeline` is the read
/// end of a pipe whose only write end the outer process holds.
fn watch_lifeline(mut lifeline: File) {
    thread::Builder::new()
        .name("lifeline".into())
        .spawn(move || {
            let mut byte = [0u8; 1];
            // Only EOF (or an error) can come: the outer process never writes.
            let _ = lifeline.read(&mut byte);
            // SAFETY: _exit ends the process without running any Rust code; nothing is shared.
            unsafe { libc::_exit(137) };
        })
        .expect("spawning the lifeline thread");
}

/// Binds `file` over `target` inside the sandbox's private mount namespace (the lab's
/// `/etc/hosts`, so real programs resolve lab host names).
pub fn bind_file(file: &Path, target: &Path) -> Result<(), SandboxError> {
    mount(
        Some(file),
        target,
        None::<&str>,
        MsFlags::MS_BIND,
        None::<&str>,
    )
    .map_err(|source| SandboxError::Bind {
        what: file.display().to_string(),
        target: target.display().to_string(),
        source,
    })
}

/// An anonymous network namespace, alive as long as this value (or a process inside) is.
#[derive(Debug)]
pub struct Netns {
    host: String,
    fd: OwnedFd,
}

impl Netns {
    /// Creates a fresh network namespace for `host`, with loopback down and nothing else.
    pub fn create(host: &str) -> Result<Netns, SandboxError> {
        let err = |source| SandboxError::NewNetns {
            host: host.to_string(),
            source,
        };
        // unshare changes only the calling thread's network namespace: do it on a throwaway
        // thread and keep a descriptor to the result.
        let fd = thread::scope(|s| {
            s.spawn(|| -> io::Result<OwnedFd> {
                unshare(CloneFlags::CLONE_NEWNET).map_err(io::Error::from)?;
                Ok(File::open("/proc/thread-self/ns/net")?.into())
            })
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("thread panicked")))
        })
        .map_err(err)?;
        Ok(Netns {
            host: host.to_string(),
            fd,
        })
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    /// The namespace descriptor, for netlink requests that move links into it.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// A second handle to the same namespace, for closures that outlive the borrow of this
    /// one (a server's data-socket binder, a client's connect function).
    pub fn try_clone(&self) -> io::Result<Netns> {
        Ok(Netns {
            host: self.host.clone(),
            fd: self.fd.try_clone()?,
        })
    }

    /// Runs `f` on a dedicated thread inside this namespace and returns its result.
    pub fn run<T: Send>(&self, f: impl FnOnce() -> T + Send) -> Result<T, SandboxError> {
        thread::scope(|s| {
            s.spawn(|| {
                self.enter_current_thread()?;
                Ok(f())
            })
            .join()
            .unwrap_or_else(|_| {
                Err(SandboxError::ThreadPanicked {
                    host: self.host.clone(),
                })
            })
        })
    }

    /// Starts a long-lived named thread inside this namespace.
    pub fn spawn<T: Send + 'static>(
        &self,
        name: String,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<thread::JoinHandle<Result<T, SandboxError>>, SandboxError> {
        let fd = self
            .fd
            .try_clone()
            .map_err(|source| SandboxError::NewNetns {
                host: self.host.clone(),
                source,
            })?;
        let host = self.host.clone();
        thread::Builder::new()
            .name(name)
            .spawn(move || {
                setns(&fd, CloneFlags::CLONE_NEWNET)
                    .map_err(|source| SandboxError::Enter { host, source })?;
                Ok(f())
            })
            .map_err(|source| SandboxError::NewNetns {
                host: self.host.clone(),
                source,
            })
    }

    /// A command whose process starts inside this namespace. It is run from an argument vector,
    /// never through a shell. SIGINT, SIGQUIT and SIGTERM have their default action in it, as at
    /// a terminal, even when labctl itself was started with them ignored (a background job of
    /// a shell ignores SIGINT, and exec keeps an ignored signal ignored): a step's `signal` and
    /// the SIGINT that ends a program service must reach the program.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new(program);
        let fd = self.fd.as_raw_fd();
        // SAFETY: between fork and exec the closure makes only async-signal-safe system calls:
        // setns on a descriptor that `self` keeps open for the whole life of the Command's use,
        // and signal(2) to restore default dispositions.
        unsafe {
            command.pre_exec(move || {
                if libc::setns(fd, libc::CLONE_NEWNET) != 0 {
                    return Err(io::Error::last_os_error());
                }
                for sig in [libc::SIGINT, libc::SIGQUIT, libc::SIGTERM] {
                    libc::signal(sig, libc::SIG_DFL);
                }
                Ok(())
            });
        }
        command
    }

    /// Reads a file of this namespace's view of `/proc/net` or `/proc/sys/net`, which the
    /// kernel resolves by the reading thread's namespace.
    pub fn read_proc(&self, path: &str) -> Result<io::Result<String>, SandboxError> {
        let path = path.to_string();
        self.run(move || std::fs::read_to_string(path))
    }

    /// Writes a per-namespace sysctl such as `net/ipv4/ip_forward`.
    pub fn sysctl(&self, key: &str, value: &str) -> Result<io::Result<()>, SandboxError> {
        Ok(self.sysctls(&[(key, value)], &[])?.map_err(|(_, e)| e))
    }

    /// Writes several sysctls in one pass inside the namespace (one thread, one `setns`):
    /// every `(key, value)` of `writes`, stopping at the first that fails, which is returned
    /// with its key; then those of `optional`, settings older kernels lack, whose failures are
    /// ignored.
    pub fn sysctls(
        &self,
        writes: &[(&str, &str)],
        optional: &[(&str, &str)],
    ) -> Result<Result<(), (String, io::Error)>, SandboxError> {
        let write = |key: &str, value: &str| {
            File::options()
                .write(true)
                .open(format!("/proc/sys/{key}"))?
                .write_all(value.as_bytes())
        };
        self.run(|| {
            for (key, value) in writes {
                write(key, value).map_err(|e| (key.to_string(), e))?;
            }
            for (key, value) in optional {
                let _ = write(key, value);
            }
            Ok(())
        })
    }

    fn enter_current_thread(&self) -> Result<(), SandboxError> {
        setns(&self.fd, CloneFlags::CLONE_NEWNET).map_err(|source| SandboxError::Enter {
            host: self.host.clone(),
            source,
        })
    }
}

/// A labctl child process that dies with this one: batch commands (`labctl test`,
/// `labctl grade --jobs`) run each lab as such a child, in the child's own sandbox.
pub fn child(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut command = Command::new(program);
    // SAFETY: between fork and exec the closure makes one async-signal-safe system call.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
    command
}

/// How many segments the kernel has retransmitted on a TCP socket (`tcpi_total_retrans` of
/// `TCP_INFO`): for a socket still connecting, the SYNs sent after the first. The count grows
/// only when a retransmission is handed to IP (not when the kernel holds it back because the
/// previous SYN still waits in a queue, for an ARP answer say), in the retransmission timer with
/// the socket locked; `TCP_INFO` takes the same lock. Lives here because it is a raw
/// `getsockopt`.
pub fn tcp_retransmitted(socket: BorrowedFd<'_>) -> io::Result<u32> {
    // SAFETY: an all-zero tcp_info is a valid value (plain integers).
    let mut info: libc::tcp_info = unsafe { std::mem::zeroed() };
    // SAFETY: tcp_info is plain integers, so any bytes the kernel writes make a valid value.
    let len = unsafe { getsockopt(socket, libc::IPPROTO_TCP, libc::TCP_INFO, &mut info) }?;
    let end = std::mem::offset_of!(libc::tcp_info, tcpi_total_retrans) + 4;
    if len < end {
        return Err(io::Error::other(
            "this kernel's TCP_INFO has no retransmission total",
        ));
    }
    Ok(info.tcpi_total_retrans)
}

/// How many bytes wait unread in a pipe (`FIONREAD`, which either end answers): 0 once the
/// program at the other end has read all its input. Lives here because it is a raw `ioctl`.
pub fn pipe_unread(pipe: BorrowedFd<'_>) -> io::Result<usize> {
    let mut unread: libc::c_int = 0;
    // SAFETY: FIONREAD writes one c_int through the pointer, which is valid for the call; the
    // descriptor is borrowed for the call.
    let r = unsafe { libc::ioctl(pipe.as_raw_fd(), libc::FIONREAD, &raw mut unread) };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(usize::try_from(unread).unwrap_or(0))
}

/// The whole of `file` mapped read-only into memory, for the rest of the process, and
/// [`unmapped_behind`] to give back what was read: for a one-shot command reading a large
/// capture, which then reads frames in place instead of copying the file through a buffer.
/// `None` for what cannot be mapped (a pipe, an empty file); the caller reads it as a stream
/// instead. The file must not shrink while the process reads it (the kernel would end the
/// process with SIGBUS): capture files are only appended to. Lives here because mapping
/// memory is `unsafe`.
pub fn map_whole(file: &File) -> Option<crate::wire::Mapped> {
    let meta = file.metadata().ok()?;
    if !meta.is_file() {
        return None;
    }
    let len = std::num::NonZeroUsize::new(usize::try_from(meta.len()).ok()?)?;
    // SAFETY: a private read-only mapping of a regular file, never unmapped, so the slice
    // below stays valid for the rest of the process; its bytes are only read.
    let ptr = unsafe {
        nix::sys::mman::mmap(
            None,
            len,
            nix::sys::mman::ProtFlags::PROT_READ,
            nix::sys::mman::MapFlags::MAP_PRIVATE,
            file,
            0,
        )
    }
    .ok()?;
    // SAFETY: the mapping just made, `len` bytes long and readable; advice changes no byte.
    let bytes = unsafe {
        let _ =
            nix::sys::mman::madvise(ptr, len.get(), nix::sys::mman::MmapAdvise::MADV_SEQUENTIAL);
        std::slice::from_raw_parts(ptr.as_ptr().cast::<u8>(), len.get())
    };
    Some((bytes, unmapped_behind))
}

/// Gives back the memory of the whole pages inside `read`, a part of a [`map_whole`] mapping
/// that will not be read again. The bytes stay readable (a read maps them in again from the
/// file), so no slice into them is left dangling.
fn unmapped_behind(read: &'static [u8]) {
    let page = 4096usize;
    let start = (read.as_ptr() as usize).next_multiple_of(page);
    let end = (read.as_ptr() as usize + read.len()) / page * page;
    if end <= start {
        return;
    }
    if let Some(ptr) = std::ptr::NonNull::new(start as *mut std::ffi::c_void) {
        // SAFETY: whole pages of a private read-only file mapping that stays mapped; dropping
        // them only makes the next read fetch them from the file again.
        let _ = unsafe {
            nix::sys::mman::madvise(ptr, end - start, nix::sys::mman::MmapAdvise::MADV_DONTNEED)
        };
    }
}

/// One instruction of a classic BPF program: code, jump if true, jump if false, constant.
pub type BpfInsn = (u16, u8, u8, u32);

/// Opens a packet socket that records every frame crossing interface `ifindex` of the calling
/// thread's namespace, both directions: `filter` (classic BPF, empty for none) attached before
/// the socket is bound, so no frame passes unfiltered; up to `rcvbuf` bytes of frames queued
/// (or `net.core.rmem_max`, whichever is less, without CAP_NET_ADMIN over the machine);
/// each frame's arrival time (`SCM_TIMESTAMPNS`) and its VLAN tag as the kernel took it off
/// (`PACKET_AUXDATA`) given with it. Non-blocking. No receive ring is set up: setting one up
/// waits for an RCU grace period in the kernel, several milliseconds on every capture of every
/// run. Lives here because the socket options are raw `setsockopt`s.
pub fn packet_socket(ifindex: u32, filter: &[BpfInsn], rcvbuf: usize) -> io::Result<OwnedFd> {
    let check = |r: libc::c_int| {
        if r == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    };
    // Protocol 0: the socket receives nothing until it is bound, and binding it once, with
    // its protocol and interface, registers it without the grace period a rebind costs.
    // SAFETY: plain socket(2) call; the result is checked and owned at once.
    let fd = unsafe {
        libc::socket(
            libc::AF_PACKET,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
            0,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned by socket(2) and nothing else owns it.
    let socket = unsafe { OwnedFd::from_raw_fd(fd) };
    let int_option = |level: libc::c_int, name: libc::c_int, value: libc::c_int| {
        // SAFETY: the option value is one c_int, valid for the call.
        check(unsafe {
            libc::setsockopt(
                socket.as_raw_fd(),
                level,
                name,
                (&raw const value).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        })
    };
    // Past net.core.rmem_max only with CAP_NET_ADMIN over the machine, which a rootless lab
    // has not: then as much as rmem_max allows.
    let rcvbuf = libc::c_int::try_from(rcvbuf).unwrap_or(libc::c_int::MAX);
    int_option(libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, rcvbuf)
        .or_else(|_| int_option(libc::SOL_SOCKET, libc::SO_RCVBUF, rcvbuf))?;
    int_option(libc::SOL_SOCKET, libc::SO_TIMESTAMPNS, 1)?;
    int_option(libc::SOL_PACKET, libc::PACKET_AUXDATA, 1)?;
    if !filter.is_empty() {
        let mut code: Vec<libc::sock_filter> = filter
            .iter()
            .map(|&(code, jt, jf, k)| libc::sock_filter { code, jt, jf, k })
            .collect();
        let program = libc::sock_fprog {
            len: u16::try_from(code.len()).map_err(|_| io::Error::other("BPF program too long"))?,
            filter: code.as_mut_ptr(),
        };
        // SAFETY: the program and the instructions it points to are valid for the call; the
        // kernel copies them.
        check(unsafe {
            libc::setsockopt(
                socket.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_ATTACH_FILTER,
                (&raw const program).cast(),
                std::mem::size_of::<libc::sock_fprog>() as libc::socklen_t,
            )
        })?;
    }
    // SAFETY: an all-zero sockaddr_ll is a valid value.
    let mut addr: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    addr.sll_family = libc::AF_PACKET as u16;
    addr.sll_protocol = (libc::ETH_P_ALL as u16).to_be();
    addr.sll_ifindex = libc::c_int::try_from(ifindex)
        .map_err(|_| io::Error::other("interface index out of range"))?;
    // SAFETY: `addr` is a sockaddr_ll of the size given, valid for the call.
    check(unsafe {
        libc::bind(
            socket.as_raw_fd(),
            (&raw const addr).cast(),
            std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    })?;
    Ok(socket)
}

/// Frames a packet socket received since the last call and, of those, the ones dropped for
/// want of room (`PACKET_STATISTICS`, which the kernel resets on each read). Lives here
/// because it is a raw `getsockopt`.
pub fn packet_statistics(socket: BorrowedFd<'_>) -> io::Result<(u32, u32)> {
    let mut stats = libc::tpacket_stats {
        tp_packets: 0,
        tp_drops: 0,
    };
    // SAFETY: tpacket_stats is two integers, so any bytes the kernel writes make a valid value.
    unsafe {
        getsockopt(
            socket,
            libc::SOL_PACKET,
            libc::PACKET_STATISTICS,
            &mut stats,
        )
    }?;
    Ok((stats.tp_packets, stats.tp_drops))
}

/// Reads the socket option `level`/`name` into `value`; returns how many bytes the kernel
/// wrote (at most the size of `T`).
///
/// # Safety
///
/// `T` must be a C struct of plain integers, for which any bytes are a valid value.
unsafe fn getsockopt<T>(
    socket: BorrowedFd<'_>,
    level: libc::c_int,
    name: libc::c_int,
    value: &mut T,
) -> io::Result<usize> {
    let mut len = std::mem::size_of::<T>() as libc::socklen_t;
    // SAFETY: `value` is writable for `len` bytes; the kernel writes at most `len` bytes and
    // reports how many in `len`; the descriptor is borrowed for the call.
    let r = unsafe {
        libc::getsockopt(
            socket.as_raw_fd(),
            level,
            name,
            (value as *mut T).cast(),
            &mut len,
        )
    };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(len as usize)
}

/// Checks, in a throw-away child process, that this host allows every call a lab makes: the
/// namespaces, the id maps, a private mount tree and a write to a network sysctl. The child
/// makes the calls and exits; nothing it does outlives it.
pub fn probe() -> Result<(), Refusal> {
    use std::ffi::CString;
    let uid_map = format!("0 {} 1", Uid::current());
    let gid_map = format!("0 {} 1", Gid::current());
    // Built before the fork: the child of a process that may have threads must not allocate.
    let writes: [(&'static str, CString, Vec<u8>); 4] = [
        (
            "/proc/self/setgroups",
            c"/proc/self/setgroups".into(),
            b"deny".to_vec(),
        ),
        (
            "/proc/self/uid_map",
            c"/proc/self/uid_map".into(),
            uid_map.into_bytes(),
        ),
        (
            "/proc/self/gid_map",
            c"/proc/self/gid_map".into(),
            gid_map.into_bytes(),
        ),
        (
            "/proc/sys/net/ipv4/ip_forward",
            c"/proc/sys/net/ipv4/ip_forward".into(),
            b"1".to_vec(),
        ),
    ];
    let (step_read, step_write) =
        nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|errno| Refusal {
            call: Call::Unshare,
            errno,
            cause: "no pipe for the probe".into(),
            fix: "free file descriptors".into(),
        })?;
    let names = writes.each_ref().map(|(name, _, _)| *name);
    // SAFETY: the child makes only async-signal-safe system calls (unshare, open, write,
    // close, mount, _exit) on memory built before the fork; it allocates nothing and never
    // returns. On a refusal it writes which call failed and its errno to the pipe.
    let forked = unsafe { nix::unistd::fork() };
    match forked {
        Ok(ForkResult::Child) => unsafe {
            let step_fd = step_write.as_raw_fd();
            let fail = |step: u8| -> ! {
                let errno = *libc::__errno_location();
                let mut report = [step, 0, 0, 0, 0];
                report[1..].copy_from_slice(&errno.to_ne_bytes());
                libc::write(step_fd, report.as_ptr().cast(), report.len());
                libc::_exit(1)
            };
            let flags =
                libc::CLONE_NEWUSER | libc::CLONE_NEWNS | libc::CLONE_NEWNET | libc::CLONE_NEWPID;
            if libc::unshare(flags) != 0 {
                fail(0);
            }
            for (i, (_, path, bytes)) in writes.iter().enumerate() {
                let fd = libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
                if fd < 0 || libc::write(fd, bytes.as_ptr().cast(), bytes.len()) < 0 {
                    fail(1 + i as u8);
                }
                libc::close(fd);
                if i == 2
                    && libc::mount(
                        std::ptr::null(),
                        c"/".as_ptr(),
                        std::ptr::null(),
                        libc::MS_REC | libc::MS_PRIVATE,
                        std::ptr::null(),
                    ) != 0
                {
                    fail(9);
                }
            }
            libc::_exit(0)
        },
        // No child to probe with (no memory, no process slot): the run will meet the same
        // problem and say so.
        Err(_) => Ok(()),
        Ok(ForkResult::Parent { child }) => {
            drop(step_write);
            let mut report = [0u8; 5];
            let read = File::from(step_read).read(&mut report);
            while let Err(nix::Error::EINTR) = nix::sys::wait::waitpid(child, None) {}
            if !matches!(read, Ok(5)) {
                return Ok(());
            }
            let errno = i32::from_ne_bytes([report[1], report[2], report[3], report[4]]);
            let call = match report[0] {
                0 => Call::Unshare,
                9 => Call::MountPrivate,
                n => Call::Write(names[usize::from(n - 1).min(3)]),
            };
            Err(explain(
                call,
                nix::Error::from_raw(errno),
                &HostLimits::read(),
            ))
        }
    }
}
