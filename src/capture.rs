//! Captures: one capture per captured link end, written as a standard pcap file (Ethernet,
//! microsecond timestamps, snapshot length 262144, as tcpdump writes).
//!
//! How: a packet socket bound to the interface, both directions, the way libpcap captures on
//! Linux but without its receive ring (see [`crate::sandbox::packet_socket`]: setting up a
//! ring waits for an RCU grace period, 10 to 16 ms on every run). libpcap still compiles a
//! link's `capture_filter`, which the kernel runs on the socket. On loopback, the copy of each
//! frame seen as sent is dropped and a VLAN tag the kernel took off is put back, as libpcap
//! does.
//!
//! Contract: [`start`] returns only once every capture is active, so the first step's first
//! packet is recorded. [`Running::stop`] returns once every capture has recorded every packet its
//! interface has counted since the start (or a deadline passed, which the result reports), and
//! every file is flushed. Each capture runs on its own thread inside its host's namespace.
//!
//! Why counters: the kernel hands a packet to captures as it crosses the interface, and the
//! receiving side does so asynchronously. Comparing the packets recorded with the interface's
//! own rx + tx counters is an exact "everything is in" test, with no fixed sleep.

use std::io::IoSliceMut;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags, PollTimeout};
use nix::sys::socket::{ControlMessageOwned, LinkAddr, MsgFlags, recvmsg};
use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};

use crate::sandbox::SandboxError;
use crate::scenario::HostId;
use crate::topology::Lab;

/// How long [`Running::stop`] waits for late packets before giving up on the counters.
const FLUSH_DEADLINE: Duration = Duration::from_millis(500);
/// The longest a stopping capture sleeps before checking its deadline again.
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
    #[error("capture on {host}:{iface}: {source}")]
    Io {
        host: String,
        iface: String,
        source: std::io::Error,
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
    /// Closed to tell the capture to stop: its end of the pipe then reads end-of-file, which
    /// wakes its poll at once.
    stop: Option<OwnedFd>,
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
        let (worker_stop, stop) =
            nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| CaptureError::Io {
                host: host.name.clone(),
                iface: point.iface.clone(),
                source: e.into(),
            })?;
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
            stop: Some(stop),
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
    pub fn stop(mut self) -> Result<Vec<CaptureFile>, CaptureError> {
        for w in &mut self.workers {
            w.stop = None;
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

/// The longest frame kept whole, as libpcap's default snapshot length.
const SNAPLEN: usize = 262_144;
/// Frame bytes a capture socket may hold unread. On loopback a single write arrives as a
/// burst of 64 KiB segments all at once.
fn queue_bytes(iface: &str) -> usize {
    if iface == "lo" { 16 << 20 } else { 4 << 20 }
}

/// `PACKET_OUTGOING`: a frame the host sent.
const OUTGOING: u8 = 4;
/// `tpacket_auxdata.tp_status` bits: a VLAN tag, and its protocol identifier, are valid.
const VLAN_VALID: u32 = 0x10;
const VLAN_TPID_VALID: u32 = 0x40;

fn capture(
    host: String,
    iface: String,
    path: PathBuf,
    filter: Option<String>,
    ready: mpsc::Sender<Result<(), CaptureError>>,
    stop: OwnedFd,
) -> Result<(CaptureFile, OwnedFd), CaptureError> {
    let err = |source| CaptureError::Io {
        host: host.clone(),
        iface: iface.clone(),
        source,
    };
    let opened = (|| -> Result<_, CaptureError> {
        let program = match &filter {
            Some(expr) => bpf(expr).map_err(|source| CaptureError::Pcap {
                host: host.clone(),
                iface: iface.clone(),
                source,
            })?,
            None => Vec::new(),
        };
        let index = nix::net::if_::if_nametoindex(iface.as_str()).map_err(|e| err(e.into()))?;
        let socket =
            crate::sandbox::packet_socket(index, &program, queue_bytes(&iface)).map_err(err)?;
        let file = std::fs::File::create(&path).map_err(err)?;
        let header = PcapHeader {
            snaplen: SNAPLEN as u32,
            datalink: pcap_file::DataLink::ETHERNET,
            ts_resolution: pcap_file::TsResolution::MicroSecond,
            ..PcapHeader::default()
        };
        let writer = PcapWriter::with_header(std::io::BufWriter::new(file), header)
            .map_err(|e| err(std::io::Error::other(e)))?;
        Ok((socket, writer))
    })();
    let (socket, mut writer) = match opened {
        Ok(opened) => opened,
        Err(e) => {
            let _ = ready.send(Err(e));
            return Err(CaptureError::Lost { host, iface });
        }
    };
    let baseline = interface_packets(&iface);
    let _ = ready.send(Ok(()));

    // Four bytes in front, where a VLAN tag the kernel took off is put back.
    let mut buf = vec![0u8; SNAPLEN + 4];
    let mut recorded: u64 = 0;
    let mut kept: u64 = 0;
    let mut target: Option<(u64, Instant)> = None;
    let mut stopped = false;
    loop {
        // Reads until the socket is empty, then a short poll, so the stop flag is seen
        // promptly.
        while let Some(frame) = receive(&socket, &mut buf).map_err(err)? {
            // On loopback every frame is seen twice, sent then received: kept once, as
            // libpcap does.
            if frame.outgoing && iface == "lo" {
                continue;
            }
            let data = frame.bytes(&buf);
            writer
                .write_packet(&PcapPacket::new(frame.ts, frame.len, data))
                .map_err(|e| err(std::io::Error::other(e)))?;
            recorded += 1;
        }
        if target.is_none() && stopped {
            let counted = interface_packets(&iface).saturating_sub(baseline);
            target = Some((counted, Instant::now() + FLUSH_DEADLINE));
        }
        // A filtered capture keeps only some of the interface's packets: it waits instead for
        // what the kernel's filter let through to the socket, from the socket's own counters
        // (read again each round, as late packets still pass the filter).
        if let (Some((counted, deadline)), true) = (target, filter.is_some()) {
            if let Ok((received, dropped)) = crate::sandbox::packet_statistics(socket.as_fd()) {
                kept += u64::from(received.saturating_sub(dropped));
            }
            target = Some((kept.min(counted), deadline));
        }
        if let Some((counted, deadline)) = target {
            if recorded >= counted || Instant::now() >= deadline {
                writer
                    .into_writer()
                    .into_inner()
                    .map_err(|e| err(e.into_error()))?;
                let file = CaptureFile {
                    host,
                    iface,
                    path,
                    packets: recorded,
                    missing: counted.saturating_sub(recorded),
                };
                return Ok((file, socket));
            }
        }
        if stopped {
            // Waiting for late frames: woken by one, or soon to check the deadline.
            let mut fds = [PollFd::new(socket.as_fd(), PollFlags::POLLIN)];
            let _ = nix::poll::poll(&mut fds, PollTimeout::from(POLL_MS));
        } else {
            // Woken by a frame or by the stop; nothing else to watch.
            let mut fds = [
                PollFd::new(socket.as_fd(), PollFlags::POLLIN),
                PollFd::new(stop.as_fd(), PollFlags::POLLIN),
            ];
            let _ = nix::poll::poll(&mut fds, PollTimeout::NONE);
            stopped = fds[1].revents().is_some_and(|r| !r.is_empty());
        }
    }
}

/// One frame read from a capture socket; its bytes stay in the read buffer.
struct Received {
    ts: Duration,
    /// Length on the wire, with a VLAN tag put back.
    len: u32,
    /// Bytes in the buffer, from `start`.
    caplen: usize,
    start: usize,
    outgoing: bool,
}

impl Received {
    fn bytes<'b>(&self, buf: &'b [u8]) -> &'b [u8] {
        &buf[self.start..self.start + self.caplen]
    }
}

/// Reads the next frame into `buf[4..]`, or `None` when none is waiting. A VLAN tag the
/// kernel took off is put back in front of the EtherType, as libpcap does, which moves the
/// frame's start four bytes back.
fn receive(socket: &OwnedFd, buf: &mut [u8]) -> std::io::Result<Option<Received>> {
    let mut cmsg = nix::cmsg_space!(nix::sys::time::TimeSpec, [u8; 32]);
    let (len, outgoing, ts, vlan) = {
        let mut iov = [IoSliceMut::new(&mut buf[4..])];
        let msg = match recvmsg::<LinkAddr>(
            socket.as_raw_fd(),
            &mut iov,
            Some(&mut cmsg),
            MsgFlags::MSG_TRUNC,
        ) {
            Ok(msg) => msg,
            Err(nix::errno::Errno::EAGAIN | nix::errno::Errno::EINTR) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let outgoing = msg.address.is_some_and(|a| a.pkttype() == OUTGOING);
        let mut ts = None;
        let mut vlan = None;
        for c in msg.cmsgs().into_iter().flatten() {
            match c {
                ControlMessageOwned::ScmTimestampns(t) => {
                    ts = Some(Duration::new(t.tv_sec() as u64, t.tv_nsec() as u32));
                }
                ControlMessageOwned::Unknown(u)
                    if u.cmsg_header.cmsg_level == libc::SOL_PACKET
                        && u.cmsg_header.cmsg_type == libc::PACKET_AUXDATA =>
                {
                    vlan = auxdata_vlan(&u.data_bytes);
                }
                _ => {}
            }
        }
        (msg.bytes, outgoing, ts, vlan)
    };
    let ts = ts.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
    });
    let mut caplen = len.min(SNAPLEN);
    let mut start = 4;
    let mut wire_len = len;
    if let Some((tpid, tci)) = vlan.filter(|_| caplen >= 12) {
        buf.copy_within(4..16, 0);
        buf[12..14].copy_from_slice(&tpid.to_be_bytes());
        buf[14..16].copy_from_slice(&tci.to_be_bytes());
        start = 0;
        caplen = (caplen + 4).min(SNAPLEN + 4);
        wire_len += 4;
    }
    Ok(Some(Received {
        ts,
        len: u32::try_from(wire_len).unwrap_or(u32::MAX),
        caplen,
        start,
        outgoing,
    }))
}

/// The VLAN tag (protocol identifier, tag control) a `tpacket_auxdata` carries, if any.
fn auxdata_vlan(aux: &[u8]) -> Option<(u16, u16)> {
    let u16_at = |i: usize| aux.get(i..i + 2).map(|b| u16::from_ne_bytes([b[0], b[1]]));
    let status = u32::from_ne_bytes(aux.get(0..4)?.try_into().ok()?);
    let tci = u16_at(16)?;
    if tci == 0 && status & VLAN_VALID == 0 {
        return None;
    }
    let tpid = match u16_at(18) {
        Some(t) if status & VLAN_TPID_VALID != 0 => t,
        _ => 0x8100,
    };
    Some((tpid, tci))
}

/// `expr` compiled by libpcap for Ethernet, as the kernel runs it: every accepting return
/// keeps the whole frame.
fn bpf(expr: &str) -> Result<Vec<crate::sandbox::BpfInsn>, pcap::Error> {
    let program = pcap::Capture::dead(pcap::Linktype::ETHERNET)?.compile(expr, true)?;
    // The pcap crate shows each instruction as "code jt jf k".
    let parse = |text: &str| {
        let mut f = text.split(' ');
        let code: u16 = f.next()?.parse().ok()?;
        let jt = f.next()?.parse().ok()?;
        let jf = f.next()?.parse().ok()?;
        let k: u32 = f.next()?.parse().ok()?;
        // BPF_RET | BPF_K with a length: libpcap's dead handle has a 65535 snapshot.
        let k = if code == 0x06 && k != 0 {
            SNAPLEN as u32
        } else {
            k
        };
        Some((code, jt, jf, k))
    };
    program
        .get_instructions()
        .iter()
        .map(|i| {
            let text = i.to_string();
            parse(&text).ok_or_else(|| {
                pcap::Error::PcapError(format!("unreadable BPF instruction {text:?}"))
            })
        })
        .collect()
}

/// Sends whole Ethernet frames, as they are, out of `iface` of the calling thread's namespace
/// (frames no program sends: gratuitous ARP, bogus IP versions), through a packet socket that
/// keeps nothing it receives.
pub fn send_frames(iface: &str, frames: &[Vec<u8>]) -> std::io::Result<()> {
    let index = nix::net::if_::if_nametoindex(iface)?;
    // BPF_RET 0: every frame refused, none queued.
    let socket = crate::sandbox::packet_socket(index, &[(0x06, 0, 0, 0)], 0)?;
    for frame in frames {
        loop {
            match nix::sys::socket::send(socket.as_raw_fd(), frame, MsgFlags::empty()) {
                Ok(_) => break,
                Err(nix::errno::Errno::EAGAIN | nix::errno::Errno::ENOBUFS) => {
                    let mut fds = [PollFd::new(socket.as_fd(), PollFlags::POLLOUT)];
                    nix::poll::poll(&mut fds, PollTimeout::from(POLL_MS))?;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(())
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
    fn filters_keep_whole_frames() {
        let program = bpf("tcp port 21").unwrap();
        let returns: Vec<u32> = program
            .iter()
            .filter(|i| i.0 == 0x06)
            .map(|i| i.3)
            .collect();
        assert!(returns.contains(&0), "{program:?}");
        assert!(returns.contains(&(SNAPLEN as u32)), "{program:?}");
        assert!(bpf("tcp port").is_err());
    }

    #[test]
    fn a_vlan_tag_the_kernel_took_off_is_read_from_the_auxiliary_data() {
        let aux = |status: u32, tci: u16, tpid: u16| {
            let mut v = Vec::new();
            v.extend(status.to_ne_bytes());
            v.extend([0u8; 12]);
            v.extend(tci.to_ne_bytes());
            v.extend(tpid.to_ne_bytes());
            v
        };
        assert_eq!(auxdata_vlan(&aux(0, 0, 0)), None);
        assert_eq!(auxdata_vlan(&aux(VLAN_VALID, 0, 0)), Some((0x8100, 0)));
        assert_eq!(auxdata_vlan(&aux(0, 7, 0)), Some((0x8100, 7)));
        assert_eq!(
            auxdata_vlan(&aux(VLAN_VALID | VLAN_TPID_VALID, 5, 0x88a8)),
            Some((0x88a8, 5))
        );
        assert_eq!(auxdata_vlan(&[1, 2, 3]), None);
    }

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
