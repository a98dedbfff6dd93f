//! The built-in ping, and the ICMP echo prober it shares with traceroute's ICMP mode.
//!
//! Contract: [`Echoer`] owns a raw ICMP (or ICMPv6) socket created inside the host, and
//! [`Echoer::probe`] sends one echo request (identifier fixed by the plan, sequence number
//! given, TTL or hop limit given) and waits for what answers it: the echo reply, an ICMP error
//! quoting that very request, or nothing within the wait. Every other ICMP message the socket
//! sees (other pings, neighbour discovery, errors about other packets) is skipped. The request's
//! data is a fixed pattern, so two runs put the same bytes on the wire. Blocking: called on a
//! plain thread (`spawn_blocking`), which never changes namespace.
//!
//! A raw socket rather than ping's datagram socket: a new namespace refuses ICMP datagram
//! sockets (`net.ipv4.ping_group_range` is "1 0"), and the raw socket also receives the ICMP
//! errors about the request, with their sender, which a datagram socket reports only on its
//! error queue.

use std::io;
use std::net::{IpAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsFd, OwnedFd};
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags, PollTimeout};
use nix::sys::socket::{
    AddressFamily, ControlMessageOwned, MsgFlags, SockFlag, SockProtocol, SockType, SockaddrIn,
    SockaddrIn6, recvmsg, sendto, setsockopt, socket, sockopt,
};

use crate::scenario::{Action, PingPlan, StepOutcome, StepPlan};
use crate::topology::{Host, Lab};

use super::{ROUTED, StepResult};

/// ICMP echo request and reply types, IPv4 and IPv6.
const ECHO_REQUEST_V4: u8 = 8;
const ECHO_REPLY_V4: u8 = 0;
const ECHO_REQUEST_V6: u8 = 128;
const ECHO_REPLY_V6: u8 = 129;

/// What answered one echo request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Answer {
    /// The echo reply: its sender, and its TTL (hop limit) as it arrived.
    Reply { from: IpAddr, ttl: Option<u8> },
    /// An ICMP error quoting the request: its sender, type and code, and the MTU it names
    /// (fragmentation needed, packet too big).
    Error {
        from: IpAddr,
        icmp: (u8, u8),
        mtu: Option<u32>,
    },
    /// Nothing within the wait.
    Silence,
}

/// One echo: what answered it and when, from the send.
#[derive(Debug, Clone)]
pub(super) struct Echo {
    pub(super) answer: Answer,
    pub(super) rtt: Duration,
}

/// A raw ICMP socket of a host and the destination and identifier of its echoes.
pub(super) struct Echoer {
    socket: OwnedFd,
    dest: IpAddr,
    id: u16,
}

impl Echoer {
    /// Opens the raw socket inside `host`.
    pub(super) fn open(host: &Host, dest: IpAddr, id: u16) -> Result<Echoer, String> {
        let made = host.netns.run(move || {
            let (family, proto) = match dest {
                IpAddr::V4(_) => (AddressFamily::Inet, SockProtocol::Icmp),
                IpAddr::V6(_) => (AddressFamily::Inet6, SockProtocol::IcmpV6),
            };
            socket(
                family,
                SockType::Raw,
                SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK,
                proto,
            )
        });
        match made {
            // The raw ICMPv6 socket does not see the IPv6 header: the reply's hop limit comes
            // as a control message.
            Ok(Ok(socket)) if dest.is_ipv6() => {
                setsockopt(&socket, sockopt::Ipv6RecvHopLimit, &true)
                    .map_err(|e| format!("cannot ask for the hop limit of replies: {e}"))?;
                Ok(Echoer { socket, dest, id })
            }
            Ok(Ok(socket)) => Ok(Echoer { socket, dest, id }),
            Ok(Err(e)) => Err(format!("cannot create a raw ICMP socket: {e}")),
            Err(e) => Err(e.to_string()),
        }
    }

    /// Sends echo request `seq` with `size` data bytes and waits up to `wait` for its answer.
    pub(super) fn probe(
        &self,
        seq: u16,
        ttl: Option<u8>,
        size: usize,
        wait: Duration,
    ) -> io::Result<Echo> {
        let v6 = self.dest.is_ipv6();
        if let Some(ttl) = ttl {
            let ttl = i32::from(ttl);
            match v6 {
                false => setsockopt(&self.socket, sockopt::Ipv4Ttl, &ttl)?,
                true => setsockopt(&self.socket, sockopt::Ipv6Ttl, &ttl)?,
            }
        }
        let request = echo_request(v6, self.id, seq, size);
        // The clock starts before the send: on veth the answer is often made within it.
        let sent = Instant::now();
        match self.dest {
            IpAddr::V4(a) => sendto(
                std::os::fd::AsRawFd::as_raw_fd(&self.socket),
                &request,
                &SockaddrIn::from(SocketAddrV4::new(a, 0)),
                MsgFlags::empty(),
            )?,
            IpAddr::V6(a) => sendto(
                std::os::fd::AsRawFd::as_raw_fd(&self.socket),
                &request,
                &SockaddrIn6::from(SocketAddrV6::new(a, 0, 0, 0)),
                MsgFlags::empty(),
            )?,
        };
        let deadline = sent + wait;
        let mut buf = vec![0u8; 65_536];
        loop {
            if !readable_by(&self.socket, deadline)? {
                return Ok(Echo {
                    answer: Answer::Silence,
                    rtt: sent.elapsed(),
                });
            }
            let answer = match v6 {
                false => match recv(&self.socket, &mut buf)? {
                    Some(n) => answer_v4(&buf[..n], self.dest, self.id, seq),
                    None => continue,
                },
                true => match recv_v6(&self.socket, &mut buf)? {
                    Some((n, from, hlim)) => answer_v6(&buf[..n], from, self.dest, self.id, seq)
                        .map(|a| match a {
                            Answer::Reply { from, .. } => Answer::Reply { from, ttl: hlim },
                            other => other,
                        }),
                    None => continue,
                },
            };
            if let Some(answer) = answer {
                return Ok(Echo {
                    answer,
                    rtt: sent.elapsed(),
                });
            }
        }
    }
}

/// Waits until `socket` has something to read or `deadline` passes; whether it has. Once the
/// wait is over, an answer already queued still counts: the waiting thread waking up late on
/// a busy machine is not a lost answer.
pub(super) fn readable_by(socket: &OwnedFd, deadline: Instant) -> io::Result<bool> {
    let left = deadline.saturating_duration_since(Instant::now());
    let ms = match left.is_zero() {
        true => 0,
        false => u16::try_from(left.as_millis().max(1)).unwrap_or(u16::MAX),
    };
    let mut fds = [PollFd::new(socket.as_fd(), PollFlags::POLLIN)];
    Ok(nix::poll::poll(&mut fds, PollTimeout::from(ms))? > 0)
}

/// One datagram from the raw ICMP socket (an IPv4 packet, header included); `None` when
/// there was none after all.
fn recv(socket: &OwnedFd, buf: &mut [u8]) -> io::Result<Option<usize>> {
    match nix::unistd::read(socket, buf) {
        Ok(n) => Ok(Some(n)),
        Err(nix::errno::Errno::EAGAIN) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// One message from the raw ICMPv6 socket: its length, its sender and the hop limit it
/// arrived with; `None` when there was none after all.
fn recv_v6(socket: &OwnedFd, buf: &mut [u8]) -> io::Result<Option<(usize, IpAddr, Option<u8>)>> {
    let mut iov = [io::IoSliceMut::new(buf)];
    let mut space = nix::cmsg_space!(libc::c_int);
    let msg = match recvmsg::<SockaddrIn6>(
        std::os::fd::AsRawFd::as_raw_fd(socket),
        &mut iov,
        Some(&mut space),
        MsgFlags::empty(),
    ) {
        Ok(msg) => msg,
        Err(nix::errno::Errno::EAGAIN) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let hlim = msg.cmsgs()?.find_map(|c| match c {
        ControlMessageOwned::Ipv6HopLimit(h) => u8::try_from(h).ok(),
        _ => None,
    });
    Ok(msg.address.map(|a| (msg.bytes, IpAddr::V6(a.ip()), hlim)))
}

/// An echo request: type, code, checksum, identifier, sequence number, then `size` bytes of a
/// fixed pattern (ping's own fill after its timestamp: 0x10, 0x11, ...). The kernel computes
/// an ICMPv6 checksum itself (it covers the IPv6 pseudo-header); the ICMP one is made here.
fn echo_request(v6: bool, id: u16, seq: u16, size: usize) -> Vec<u8> {
    let mut m = Vec::with_capacity(8 + size);
    m.push(if v6 { ECHO_REQUEST_V6 } else { ECHO_REQUEST_V4 });
    m.extend_from_slice(&[0, 0, 0]);
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(&seq.to_be_bytes());
    m.extend((0..size).map(|i| (0x10 + i) as u8));
    if !v6 {
        let sum = checksum(&m);
        m[2..4].copy_from_slice(&sum.to_be_bytes());
    }
    m
}

/// The Internet checksum (RFC 1071).
fn checksum(bytes: &[u8]) -> u16 {
    let mut sum: u32 = bytes
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum();
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Whether `icmp` (an ICMP or ICMPv6 message from its type on) is an echo request `id`/`seq`.
fn is_our_request(icmp: &[u8], v6: bool, id: u16, seq: u16) -> bool {
    let want = if v6 { ECHO_REQUEST_V6 } else { ECHO_REQUEST_V4 };
    icmp.len() >= 8
        && icmp[0] == want
        && icmp[4..6] == id.to_be_bytes()
        && icmp[6..8] == seq.to_be_bytes()
}

/// If `packet` (an IPv4 packet read from a raw ICMP socket) answers echo `id`/`seq` to `dest`:
/// the reply, or an error quoting the request.
fn answer_v4(packet: &[u8], dest: IpAddr, id: u16, seq: u16) -> Option<Answer> {
    let ihl = usize::from(packet.first()? & 0x0f) * 4;
    let from = IpAddr::from(<[u8; 4]>::try_from(packet.get(12..16)?).ok()?);
    let ttl = *packet.get(8)?;
    let icmp = packet.get(ihl..)?;
    let (kind, code) = (*icmp.first()?, *icmp.get(1)?);
    if kind == ECHO_REPLY_V4 {
        let ours =
            icmp.len() >= 8 && icmp[4..6] == id.to_be_bytes() && icmp[6..8] == seq.to_be_bytes();
        return (ours && from == dest).then_some(Answer::Reply {
            from,
            ttl: Some(ttl),
        });
    }
    if !matches!(kind, 3 | 11 | 12) {
        return None;
    }
    let quoted = icmp.get(8..)?;
    let qihl = usize::from(quoted.first()? & 0x0f) * 4;
    let qdst = IpAddr::from(<[u8; 4]>::try_from(quoted.get(16..20)?).ok()?);
    let ours =
        *quoted.get(9)? == 1 && qdst == dest && is_our_request(quoted.get(qihl..)?, false, id, seq);
    let mtu = (kind == 3 && code == 4).then(|| u32::from(u16::from_be_bytes([icmp[6], icmp[7]])));
    ours.then_some(Answer::Error {
        from,
        icmp: (kind, code),
        mtu,
    })
}

/// If `icmp` (an ICMPv6 message from `from`, read from a raw ICMPv6 socket, which strips the
/// IPv6 header) answers echo `id`/`seq` to `dest`: the reply, or an error quoting the request.
fn answer_v6(icmp: &[u8], from: IpAddr, dest: IpAddr, id: u16, seq: u16) -> Option<Answer> {
    let (kind, code) = (*icmp.first()?, *icmp.get(1)?);
    if kind == ECHO_REPLY_V6 {
        let ours =
            icmp.len() >= 8 && icmp[4..6] == id.to_be_bytes() && icmp[6..8] == seq.to_be_bytes();
        return (ours && from == dest).then_some(Answer::Reply { from, ttl: None });
    }
    // Destination unreachable, packet too big, time exceeded, parameter problem.
    if !(1..=4).contains(&kind) {
        return None;
    }
    let quoted = icmp.get(8..)?;
    let qdst = IpAddr::from(<[u8; 16]>::try_from(quoted.get(24..40)?).ok()?);
    // The request carries no extension header: ICMPv6 follows the fixed header.
    let ours =
        *quoted.get(6)? == 58 && qdst == dest && is_our_request(quoted.get(40..)?, true, id, seq);
    let mtu = (kind == 2).then(|| u32::from_be_bytes([icmp[4], icmp[5], icmp[6], icmp[7]]));
    ours.then_some(Answer::Error {
        from,
        icmp: (kind, code),
        mtu,
    })
}

/// `ping = "HOST"`: the echoes one after the other, one line per echo in the step's answer
/// (`received`), and the outcome of the worst echo: an ICMP error `unreachable`, a lost echo
/// `timed-out`, all replies `connected`.
pub(super) async fn drive(
    lab: &Lab,
    step: &StepPlan,
    result: &mut StepResult,
) -> Result<(), super::ProgramError> {
    let Action::Ping(plan) = &step.action else {
        unreachable!("{ROUTED}")
    };
    let host = lab.host(step.host);
    let echoer = match Echoer::open(host, plan.dest, plan.id) {
        Ok(e) => e,
        Err(e) => {
            fail(result, e);
            return Ok(());
        }
    };
    let (count, ttl, size, wait, interval) =
        (plan.count, plan.ttl, plan.size, plan.wait, plan.interval);
    // Blocking waits on a plain thread; the socket already belongs to the host.
    let probed = tokio::task::spawn_blocking(move || -> io::Result<Vec<Echo>> {
        let mut echoes = Vec::new();
        for seq in 1..=count {
            if seq > 1 {
                std::thread::sleep(interval);
            }
            echoes.push(echoer.probe(seq, ttl, size, wait)?);
        }
        Ok(echoes)
    })
    .await;
    let echoes = match probed {
        Ok(Ok(echoes)) => echoes,
        Ok(Err(e)) => {
            fail(result, format!("ping: {}", e.to_string().to_lowercase()));
            return Ok(());
        }
        Err(e) => {
            fail(result, format!("ping: {e}"));
            return Ok(());
        }
    };
    report(lab, plan, &echoes, result);
    Ok(())
}

fn fail(result: &mut StepResult, detail: String) {
    result.outcome = StepOutcome::Failed;
    result.detail = detail;
}

/// A lab address as `name (address)`, or the address alone.
pub(super) fn who(lab: &Lab, addr: IpAddr) -> String {
    match lab.name_of(addr) {
        Some(name) => format!("{name} ({addr})"),
        None => addr.to_string(),
    }
}

/// An ICMP error's type and code in words, as ping prints them.
pub(super) fn error_words(v6: bool, (kind, code): (u8, u8), mtu: Option<u32>) -> String {
    let mtu = mtu.map(|m| format!(" (mtu {m})")).unwrap_or_default();
    match (v6, kind, code) {
        (false, 11, _) | (true, 3, _) => "time exceeded".to_string(),
        (false, 3, 4) | (true, 2, _) => format!("packet too big{mtu}"),
        (false, 3, 0) | (true, 1, 0) => "net unreachable".to_string(),
        (false, 3, 1) | (true, 1, 3) => "host unreachable".to_string(),
        (false, 3, 3) | (true, 1, 4) => "port unreachable".to_string(),
        (false, 3, 13) | (true, 1, 1) => "administratively prohibited".to_string(),
        _ => format!("icmp {kind}/{code}"),
    }
}

/// One line per echo in `received`, the totals in `detail`, the outcome of the worst echo,
/// and `expect_reply` held against the lines.
fn report(lab: &Lab, plan: &PingPlan, echoes: &[Echo], r: &mut StepResult) {
    let v6 = plan.dest.is_ipv6();
    let (mut replies, mut errors, mut lost) = (0, 0, 0);
    for (seq, echo) in (1..).zip(echoes) {
        let ms = echo.rtt.as_secs_f64() * 1000.0;
        let line = match &echo.answer {
            Answer::Reply { from, ttl } => {
                replies += 1;
                let ttl = ttl.map(|t| format!(" ttl={t}")).unwrap_or_default();
                format!(
                    "{} bytes from {}: icmp_seq={seq}{ttl} time={ms:.3} ms",
                    plan.size + 8,
                    who(lab, *from)
                )
            }
            Answer::Error { from, icmp, mtu } => {
                errors += 1;
                format!(
                    "from {}: icmp_seq={seq} {}",
                    who(lab, *from),
                    error_words(v6, *icmp, *mtu)
                )
            }
            Answer::Silence => {
                lost += 1;
                format!(
                    "icmp_seq={seq} no answer within {}",
                    crate::text::human_duration(plan.wait)
                )
            }
        };
        r.received.push_str(&line);
        r.received.push('\n');
    }
    let sent = echoes.len();
    let loss = (sent - replies) * 100 / sent.max(1);
    let unit = if sent == 1 { "request" } else { "requests" };
    r.sent = format!("{sent} echo {unit} of {} data bytes", plan.size);
    r.detail = format!("{sent} transmitted, {replies} received");
    if errors > 0 {
        r.detail.push_str(&format!(", +{errors} errors"));
    }
    r.detail.push_str(&format!(", {loss}% packet loss"));
    r.outcome = if errors > 0 {
        StepOutcome::Unreachable
    } else if lost > 0 {
        StepOutcome::TimedOut
    } else {
        StepOutcome::Connected
    };
    if let Some(expect) = &plan.expect {
        if !r.received.contains(expect.as_str()) {
            r.outcome = StepOutcome::Failed;
            r.detail = format!("{:?} does not contain {expect:?}", r.received);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEST: [u8; 4] = [10, 0, 1, 9];

    /// An IPv4 header from `src` to the client with `proto` and `ttl`, then `rest`.
    fn ipv4(src: [u8; 4], proto: u8, ttl: u8, rest: &[u8]) -> Vec<u8> {
        let mut p = vec![0x45, 0, 0, 0, 0, 0, 0, 0, ttl, proto, 0, 0];
        p.extend_from_slice(&src);
        p.extend_from_slice(&[10, 0, 0, 1]);
        p.extend_from_slice(rest);
        p
    }

    #[test]
    fn the_request_carries_its_id_sequence_and_a_valid_checksum() {
        let r = echo_request(false, 0x1234, 7, 4);
        assert_eq!(&r[..2], &[8, 0]);
        assert_eq!(&r[4..], &[0x12, 0x34, 0, 7, 0x10, 0x11, 0x12, 0x13]);
        // A correct checksum sums (with itself) to zero.
        assert_eq!(checksum(&r), 0);
        let v6 = echo_request(true, 1, 1, 0);
        assert_eq!(v6, [128, 0, 0, 0, 0, 1, 0, 1]);
    }

    #[test]
    fn a_reply_answers_only_its_own_echo() {
        let mut reply = echo_request(false, 40, 2, 8);
        reply[0] = ECHO_REPLY_V4;
        let p = ipv4(DEST, 1, 63, &reply);
        let dest = IpAddr::from(DEST);
        assert_eq!(
            answer_v4(&p, dest, 40, 2),
            Some(Answer::Reply {
                from: dest,
                ttl: Some(63)
            })
        );
        assert_eq!(answer_v4(&p, dest, 40, 3), None);
        assert_eq!(answer_v4(&p, dest, 41, 2), None);
        // Our own request, seen by the raw socket, is no answer.
        let own = ipv4(DEST, 1, 64, &echo_request(false, 40, 2, 8));
        assert_eq!(answer_v4(&own, dest, 40, 2), None);
        assert_eq!(answer_v4(&p[..25], dest, 40, 2), None);
    }

    #[test]
    fn time_exceeded_quoting_the_request_is_its_answer() {
        let dest = IpAddr::from(DEST);
        let quoted_ip = {
            let mut q = vec![0x45, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 10, 0, 0, 1];
            q.extend_from_slice(&DEST);
            q.extend_from_slice(&echo_request(false, 40, 1, 0));
            q
        };
        let mut icmp = vec![11, 0, 0, 0, 0, 0, 0, 0];
        icmp.extend_from_slice(&quoted_ip);
        let p = ipv4([10, 0, 0, 254], 1, 64, &icmp);
        assert_eq!(
            answer_v4(&p, dest, 40, 1),
            Some(Answer::Error {
                from: IpAddr::from([10, 0, 0, 254]),
                icmp: (11, 0),
                mtu: None
            })
        );
        assert_eq!(answer_v4(&p, dest, 40, 2), None);
        assert_eq!(answer_v4(&p[..40], dest, 40, 1), None);
    }

    #[test]
    fn packet_too_big_quoting_an_ipv6_request_names_the_mtu() {
        let dest: IpAddr = "2001:db8:1::9".parse().unwrap();
        let router: IpAddr = "2001:db8::fe".parse().unwrap();
        let IpAddr::V6(d) = dest else { unreachable!() };
        let mut quoted = vec![0x60, 0, 0, 0, 0, 0, 58, 64];
        quoted.extend_from_slice(&[0; 16]);
        quoted.extend_from_slice(&d.octets());
        quoted.extend_from_slice(&echo_request(true, 9, 3, 16));
        let mut icmp = vec![2, 0, 0, 0, 0, 0, 0x05, 0x00];
        icmp.extend_from_slice(&quoted);
        assert_eq!(
            answer_v6(&icmp, router, dest, 9, 3),
            Some(Answer::Error {
                from: router,
                icmp: (2, 0),
                mtu: Some(1280)
            })
        );
        assert_eq!(answer_v6(&icmp, router, dest, 9, 4), None);
        let mut reply = echo_request(true, 9, 3, 16);
        reply[0] = ECHO_REPLY_V6;
        assert_eq!(
            answer_v6(&reply, dest, dest, 9, 3),
            Some(Answer::Reply {
                from: dest,
                ttl: None
            })
        );
        // A neighbour solicitation is no answer.
        assert_eq!(answer_v6(&[135, 0, 0, 0], router, dest, 9, 3), None);
    }
}
