//! Captures: one libpcap capture per captured link end, written as a standard pcap file.
//!
//! Contract: [`start`] returns only once every capture is active, so the first step's first
//! packet is recorded. [`Running::stop`] returns once every capture has recorded every packet its
//! interface has counted since the start (or a deadline passed, which the result reports), and
//! every file is flushed. Each capture runs on its own thread inside its host's namespace.
//!
//! Why counters: the kernel hands a packet to captures as it crosses the interface, and the
//! receiving side does so asynchronously. Comparing the packets recorded with the interface's
//! own rx + tx counters is an exact "everything is in" test, with no fixed sleep.

use std::os::fd::AsFd;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags, PollTimeout};

use crate::sandbox::SandboxError;
use crate::scenario::HostId;
use crate::topology::Lab;

/// How long [`Running::stop`] waits for late packets before giving up on the counters.
const FLUSH_DEADLINE: Duration = Duration::from_millis(500);
/// The longest a capture thread sleeps before checking for stop.
const POLL_MS: u8 = 2;

#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error(transparent)]
    Sandbox(#[from] SandboxError),
    #[error("capture on {host}:{iface}: {source}")]
    Pcap {
        host: String,
        iface: String,
        source: pcap::Error,
    },
    #[error("capture on {host}:{iface} ended before it was ready")]
    Lost { host: String, iface: String },
}

/// A link end to capture on.
#[derive(Debug, Clone)]
pub struct Point {
    pub host: HostId,
    pub iface: String,
    pub path: PathBuf,
    /// A BPF expression: only the frames it matches are kept, filtered in the kernel.
    pub filter: Option<String>,
}

/// A finished capture.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct CaptureFile {
    pub host: String,
    pub iface: String,
    pub path: PathBuf,
    pub packets: u64,
    /// Packets the interface counted that the capture did not record by the deadline.
    pub missing: u64,
}

struct Worker {
    stop: Arc<AtomicBool>,
    /// The finished file, sent as soon as it is flushed: closing the capture socket afterwards
    /// waits for the kernel (an RCU grace period), and nothing needs to wait with it.
    done: mpsc::Receiver<Result<CaptureFile, CaptureError>>,
    host: String,
}

/// Captures in progress.
pub struct Running {
    workers: Vec<Worker>,
}

/// Starts every capture and waits until all are recording.
pub fn start(lab: &Lab, points: &[Point]) -> Result<Running, CaptureError> {
    let mut workers = Vec::new();
    let mut ready = Vec::new();
    for point in points {
        let host = lab.host(point.host);
        let (ready_tx, ready_rx) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let worker_stop = stop.clone();
        let (done_tx, done) = mpsc::channel();
        let (name, iface, path) = (host.name.clone(), point.iface.clone(), point.path.clone());
        let filter = point.filter.clone();
        // The thread is not joined: it ends on its own once its socket is closed.
        let _detached =
            host.netns
                .spawn(format!("capture {name}:{iface}"), move || {
                    match capture(name, iface, path, filter, ready_tx, worker_stop) {
                        Ok((file, socket)) => {
                            let _ = done_tx.send(Ok(file));
                            drop(socket);
                        }
                        Err(e) => {
                            let _ = done_tx.send(Err(e));
                        }
                    }
                })?;
        workers.push(Worker {
            stop,
            done,
            host: host.name.clone(),
        });
        ready.push((ready_rx, host.name.clone(), point.iface.clone()));
    }
    let running = Running { workers };
    for (rx, host, iface) in ready {
        match rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                running.abort();
                return Err(e);
            }
            Err(_) => {
                running.abort();
                return Err(CaptureError::Lost { host, iface });
            }
        }
    }
    Ok(running)
}

impl Running {
    /// Stops every capture once it has caught up with its interface's counters.
    pub fn stop(self) -> Result<Vec<CaptureFile>, CaptureError> {
        for w in &self.workers {
            w.stop.store(true, Ordering::Release);
        }
        let mut files = Vec::new();
        for w in self.workers {
            let result = w
                .done
                .recv()
                .map_err(|_| SandboxError::ThreadPanicked { host: w.host })?;
            files.push(result?);
        }
        Ok(files)
    }

    fn abort(self) {
        let _ = self.stop();
    }
}

fn capture(
    host: String,
    iface: String,
    path: PathBuf,
    filter: Option<String>,
    ready: mpsc::Sender<Result<(), CaptureError>>,
    stop: Arc<AtomicBool>,
) -> Result<(CaptureFile, pcap::Capture<pcap::Active>), CaptureError> {
    let err = |source| CaptureError::Pcap {
        host: host.clone(),
        iface: iface.clone(),
        source,
    };
    let opened = (|| {
        let mut capture = pcap::Capture::from_device(iface.as_str())?
            .immediate_mode(true)
            .snaplen(262_144)
            // Immediate mode uses a ring of frames as large as the biggest packet an offloading
            // interface can hand over (64 KiB). On loopback a single write arrives as a burst of
            // segments all at once: 16 MiB holds 256 of them. A link between lab hosts gets
            // 8 MiB: the ring is allocated and zeroed when the capture starts, on every run.
            .buffer_size(if iface == "lo" { 16 << 20 } else { 8 << 20 })
            .open()?
            .setnonblock()?;
        if let Some(expr) = &filter {
            capture.filter(expr, true)?;
        }
        let savefile = capture.savefile(&path)?;
        Ok((capture, savefile))
    })();
    let (mut capture, mut savefile) = match opened {
        Ok(opened) => opened,
        Err(e) => {
            let _ = ready.send(Err(err(e)));
            return Err(CaptureError::Lost { host, iface });
        }
    };
    let baseline = interface_packets(&iface);
    let _ = ready.send(Ok(()));

    let mut recorded: u64 = 0;
    let mut target: Option<(u64, Instant)> = None;
    loop {
        // Non-blocking reads until the ring is empty, then a short poll: libpcap's own read
        // timeout is not reliable with TPACKET_V3, and the stop flag must be seen promptly.
        loop {
            match capture.next_packet() {
                Ok(packet) => {
                    savefile.write(&packet);
                    recorded += 1;
                }
                Err(pcap::Error::TimeoutExpired) => break,
                Err(e) => return Err(err(e)),
            }
        }
        if target.is_none() && stop.load(Ordering::Acquire) {
            let counted = interface_packets(&iface).saturating_sub(baseline);
            target = Some((counted, Instant::now() + FLUSH_DEADLINE));
        }
        // A filtered capture keeps only some of the interface's packets: it waits instead for
        // what the kernel's filter let through to the socket, from libpcap's own counters
        // (read again each round, as late packets still pass the filter).
        if let (Some((counted, deadline)), true) = (target, filter.is_some()) {
            let kept = capture
                .stats()
                .map(|s| u64::from(s.received.saturating_sub(s.dropped)))
                .unwrap_or(recorded);
            target = Some((kept.min(counted), deadline));
        }
        if let Some((counted, deadline)) = target {
            if recorded >= counted || Instant::now() >= deadline {
                savefile.flush().map_err(err)?;
                drop(savefile);
                let file = CaptureFile {
                    host,
                    iface,
                    path,
                    packets: recorded,
                    missing: counted.saturating_sub(recorded),
                };
                return Ok((file, capture));
            }
        }
        let mut fds = [PollFd::new(capture.as_fd(), PollFlags::POLLIN)];
        let _ = nix::poll::poll(&mut fds, PollTimeout::from(POLL_MS));
    }
}

/// rx + tx packets of `iface` in the calling thread's namespace (`/proc/thread-self/net/dev`).
fn interface_packets(iface: &str) -> u64 {
    let text = std::fs::read_to_string("/proc/thread-self/net/dev").unwrap_or_default();
    parse_net_dev(&text, iface)
}

fn parse_net_dev(text: &str, iface: &str) -> u64 {
    text.lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim() == iface)
        .map(|(_, fields)| {
            let fields: Vec<u64> = fields
                .split_whitespace()
                .map(|f| f.parse().unwrap_or(0))
                .collect();
            // Receive: bytes packets errs drop fifo frame compressed multicast; then transmit.
            let (rx, tx) = (
                fields.get(1).copied().unwrap_or(0),
                fields.get(9).copied().unwrap_or(0),
            );
            // On loopback every packet is counted twice (sent, then received) but captured
            // once, as it is sent.
            if iface == "lo" { tx } else { rx + tx }
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn net_dev_rx_plus_tx_packets() {
        let text = "Inter-|   Receive                                                |  Transmit\n \
             face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n    \
             lo:       0       0    0    0    0     0          0         0        0       0    0    0    0     0       0          0\n  \
             eth0:    1062      11    0    0    0     0          0         0     1254      12    0    0    0     0       0          0\n";
        assert_eq!(parse_net_dev(text, "eth0"), 23);
        assert_eq!(parse_net_dev(text, "lo"), 0);
        let lo = "    lo:     100       5    0    0    0     0          0         0      100       5    0    0    0     0       0          0\n";
        assert_eq!(parse_net_dev(lo, "lo"), 5);
        assert_eq!(parse_net_dev(text, "eth1"), 0);
    }
}
