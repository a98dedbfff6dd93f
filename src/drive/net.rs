//! Network-layer steps: a UDP probe, the built-in traceroute, `ip route` commands, links going
//! down, a host leaving the network, gratuitous ARP, sysctls.
//!
//! Sockets are created inside the host (`netns.run`) and used from the runtime or from a plain
//! thread that never changes namespace: a socket keeps the namespace it was created in.

use std::io::{self, Read};
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::os::fd::{AsFd, OwnedFd};
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags, PollTimeout};
use nix::sys::socket::{AddressFamily, SockFlag, SockProtocol, SockType, socket};

use crate::rules::RouteCmd;
use crate::scenario::{Action, Cidr, NetAction, RoutePlan, StepOutcome, StepPlan, Target};
use crate::topology::{self, Host, Lab, RouteChange};

use super::{ROUTED, StepResult};

/// The first destination port of traceroute's UDP probes, as the `traceroute` program uses.
const TRACEROUTE_PORT: u16 = 33434;
/// How long traceroute waits for the answer to one probe before printing `*`. Under
/// `cargo xtask stress` (8 suites of 4 labs at once on 2 cores shared with other builds; two
/// stress runs, 48 runs of each lab) the slowest traceroute hop answered in 4.9 ms and the
/// slowest whole UDP probe step took 53 ms; before lab links were made ready before the first
/// step an answer took up to 1.04 s (a first ARP request lost and sent again a second later).
/// 2 s is well over three times any of these, and costs time only on a hop that never answers
/// (the `traceroute` program waits up to 5 s).
const PROBE_WAIT: Duration = Duration::from_secs(2);

/// The network step kinds (`udp`, `traceroute`, `route`, `link`, `host_gone`, `announce`,
/// `sysctl`).
pub(super) async fn drive(
    lab: &Lab,
    step: &StepPlan,
    result: &mut StepResult,
) -> Result<(), super::ProgramError> {
    let Action::Net(action) = &step.action else {
        unreachable!("{ROUTED}")
    };
    run(lab, step.host, action, result).await
}

async fn run(
    lab: &Lab,
    host_id: usize,
    action: &NetAction,
    result: &mut StepResult,
) -> Result<(), super::ProgramError> {
    let host = lab.host(host_id);
    match action {
        NetAction::Udp {
            target,
            payload,
            timeout,
        } => {
            udp(host, target, payload, *timeout, result).await;
        }
        NetAction::Traceroute {
            dest,
            max_hops,
            hops,
            ..
        } => {
            traceroute(lab, host, *dest, *max_hops, hops.as_deref(), result).await;
        }
        NetAction::Route {
            command, expect, ..
        } => {
            route(host, command, result).await?;
            if let Some(expect) = expect {
                if result.outcome == StepOutcome::Ok && !result.received.contains(expect.as_str()) {
                    result.outcome = StepOutcome::Failed;
                    result.detail = format!("{:?} does not contain {expect:?}", result.received);
                }
            }
        }
        NetAction::Link { iface, up } => {
            let state = if *up { "up" } else { "down" };
            outcome(result, topology::set_link(host, iface, *up).await, || {
                format!("{iface} is {state}")
            });
        }
        NetAction::RemoveHost => match topology::remove_addresses(host).await {
            Ok(ifaces) => {
                result.detail = format!(
                    "addresses removed from {}: frames still arrive, nothing answers",
                    ifaces.join(", ")
                )
            }
            Err(e) => fail(result, e.to_string()),
        },
        NetAction::Announce { iface } => {
            announce(lab, host_id, iface, result).await;
        }
        NetAction::Listening { port } => super::listening::run(host, *port, result),
        NetAction::Sysctl { key, value } => {
            let path = key.replace('.', "/");
            match host.netns.sysctl(&path, value) {
                Ok(Ok(())) => result.detail = format!("{key} = {value}"),
                Ok(Err(e)) => fail(result, format!("cannot set {key}: {e}")),
                Err(e) => fail(result, e.to_string()),
            }
        }
    }
    Ok(())
}

fn fail(result: &mut StepResult, detail: String) {
    result.outcome = StepOutcome::Failed;
    result.detail = detail;
}

fn outcome<E: std::fmt::Display>(
    result: &mut StepResult,
    r: Result<(), E>,
    ok: impl FnOnce() -> String,
) {
    match r {
        Ok(()) => result.detail = ok(),
        Err(e) => fail(result, e.to_string()),
    }
}

/// Sends one datagram from a connected socket, so ICMP errors about it come back as errors on
/// the socket, and waits for an answer.
async fn udp(host: &Host, target: &Target, payload: &[u8], timeout: Duration, r: &mut StepResult) {
    let addr = SocketAddr::new(target.addr, target.port);
    let made = host.netns.run(move || -> io::Result<UdpSocket> {
        let bind: SocketAddr = if addr.is_ipv4() {
            "0.0.0.0:0".parse().expect("literal")
        } else {
            "[::]:0".parse().expect("literal")
        };
        let socket = UdpSocket::bind(bind)?;
        socket.connect(addr)?;
        socket.set_nonblocking(true)?;
        Ok(socket)
    });
    let socket = match made {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return fail(r, format!("cannot create a socket: {e}")),
        Err(e) => return fail(r, e.to_string()),
    };
    let socket = match tokio::net::UdpSocket::from_std(socket) {
        Ok(s) => s,
        Err(e) => return fail(r, format!("cannot use the socket: {e}")),
    };
    if let Err(e) = socket.send(payload).await {
        r.outcome = udp_outcome(&e);
        r.detail = format!("send failed: {}", e.to_string().to_lowercase());
        return;
    }
    r.sent = String::from_utf8_lossy(&payload[..payload.len().min(200)]).into_owned();
    let mut buf = vec![0u8; 65_536];
    match tokio::time::timeout(timeout, socket.recv(&mut buf)).await {
        Err(_) => {
            r.outcome = StepOutcome::TimedOut;
            r.detail = format!("no answer within {}", crate::text::human_duration(timeout));
        }
        Ok(Ok(n)) => {
            r.outcome = StepOutcome::Connected;
            r.detail = format!("answered with {n} bytes");
            r.received = String::from_utf8_lossy(&buf[..n]).into_owned();
        }
        Ok(Err(e)) => {
            r.outcome = udp_outcome(&e);
            r.detail = match e.raw_os_error() {
                Some(libc::ECONNREFUSED) => "port unreachable (ICMP 3/3)".to_string(),
                Some(libc::EMSGSIZE) => {
                    let mtu = nix::sys::socket::getsockopt(
                        &socket.as_fd(),
                        nix::sys::socket::sockopt::IpMtu,
                    )
                    .map(|m| format!(": path MTU {m}"))
                    .unwrap_or_default();
                    format!("fragmentation needed (ICMP 3/4){mtu}")
                }
                _ => e.to_string().to_lowercase(),
            };
        }
    }
}

fn udp_outcome(e: &io::Error) -> StepOutcome {
    match e.raw_os_error() {
        Some(libc::ECONNREFUSED) => StepOutcome::Refused,
        Some(libc::EMSGSIZE | libc::EHOSTUNREACH | libc::ENETUNREACH | libc::EPERM) => {
            StepOutcome::Unreachable
        }
        _ => StepOutcome::Failed,
    }
}

/// One line of traceroute's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Hop {
    ttl: u8,
    from: Option<IpAddr>,
    /// ICMP type and code of the answer.
    icmp: (u8, u8),
    /// From the probe sent to its answer.
    rtt: Duration,
}

async fn traceroute(
    lab: &Lab,
    host: &Host,
    dest: IpAddr,
    max_hops: u8,
    expected: Option<&[String]>,
    r: &mut StepResult,
) {
    let IpAddr::V4(_) = dest else {
        return fail(r, "the built-in traceroute speaks IPv4".into());
    };
    let made = host.netns.run(|| -> io::Result<(UdpSocket, OwnedFd)> {
        let udp = UdpSocket::bind("0.0.0.0:0")?;
        let raw = socket(
            AddressFamily::Inet,
            SockType::Raw,
            SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK,
            SockProtocol::Icmp,
        )?;
        Ok((udp, raw))
    });
    let (udp, raw) = match made {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return fail(r, format!("cannot create the probe sockets: {e}")),
        Err(e) => return fail(r, e.to_string()),
    };
    // Blocking waits on a plain thread; the sockets already belong to the host.
    let probed = tokio::task::spawn_blocking(move || probe_path(udp, raw, dest, max_hops)).await;
    let hops = match probed {
        Ok(Ok(hops)) => hops,
        Ok(Err(e)) => return fail(r, format!("traceroute: {e}")),
        Err(e) => return fail(r, format!("traceroute: {e}")),
    };
    let mut names = Vec::new();
    for hop in &hops {
        let line = match hop.from {
            Some(addr) => {
                let name = lab.name_of(addr).unwrap_or("?").to_string();
                // As traceroute prints it: the time from the probe to its answer.
                let ms = hop.rtt.as_secs_f64() * 1000.0;
                let line = format!("{:2}  {name} ({addr})  {ms:.3} ms", hop.ttl);
                names.push(name);
                line
            }
            None => {
                names.push("*".into());
                format!("{:2}  *", hop.ttl)
            }
        };
        r.received.push_str(&line);
        r.received.push('\n');
    }
    let reached = hops.last().is_some_and(|h| h.from == Some(dest));
    r.detail = format!(
        "{} {}: {}",
        hops.len(),
        if hops.len() == 1 { "hop" } else { "hops" },
        names.join(" > ")
    );
    if !reached {
        r.outcome = StepOutcome::Failed;
        r.detail.push_str(&format!(" (did not reach {dest})"));
    }
    if let Some(expected) = expected {
        if names != expected {
            r.outcome = StepOutcome::Failed;
            r.detail = format!(
                "the path is {}, expected {}",
                names.join(" > "),
                expected.join(" > ")
            );
        }
    }
}

fn probe_path(udp: UdpSocket, raw: OwnedFd, dest: IpAddr, max_hops: u8) -> io::Result<Vec<Hop>> {
    let local_port = udp.local_addr()?.port();
    let mut raw = std::fs::File::from(raw);
    let mut hops = Vec::new();
    for ttl in 1..=max_hops {
        let port = TRACEROUTE_PORT + u16::from(ttl) - 1;
        udp.set_ttl(u32::from(ttl))?;
        // The clock starts before the send: on veth the answer is often made within it.
        let sent = Instant::now();
        udp.send_to(&[0x40; 32], SocketAddr::new(dest, port))?;
        let deadline = sent + PROBE_WAIT;
        let mut hop = Hop {
            ttl,
            from: None,
            icmp: (0, 0),
            rtt: Duration::ZERO,
        };
        let mut buf = [0u8; 1500];
        loop {
            // Once the wait is over, an answer already queued still counts: this thread
            // waking up late on a busy machine is not a silent hop.
            let left = deadline.saturating_duration_since(Instant::now());
            let ms = match left.is_zero() {
                true => 0,
                false => u16::try_from(left.as_millis().max(1)).unwrap_or(u16::MAX),
            };
            let mut fds = [PollFd::new(raw.as_fd(), PollFlags::POLLIN)];
            if nix::poll::poll(&mut fds, PollTimeout::from(ms))? == 0 {
                break;
            }
            let n = match raw.read(&mut buf) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Err(e),
            };
            if let Some((from, icmp)) = answer_to(&buf[..n], dest, local_port, port) {
                hop.from = Some(from);
                hop.icmp = icmp;
                hop.rtt = sent.elapsed();
                break;
            }
        }
        let done = hop.from == Some(dest) || hop.icmp.0 == 3;
        hops.push(hop);
        if done {
            break;
        }
    }
    Ok(hops)
}

/// If `packet` (an IPv4 packet read from a raw ICMP socket) is an ICMP error about our probe
/// from `src_port` to `dest:port`, who sent it and its type and code.
fn answer_to(packet: &[u8], dest: IpAddr, src_port: u16, port: u16) -> Option<(IpAddr, (u8, u8))> {
    let ihl = usize::from(packet.first()? & 0x0f) * 4;
    let from = IpAddr::from(<[u8; 4]>::try_from(packet.get(12..16)?).ok()?);
    let icmp = packet.get(ihl..)?;
    let (kind, code) = (*icmp.first()?, *icmp.get(1)?);
    if kind != 11 && kind != 3 {
        return None;
    }
    let quoted = icmp.get(8..)?;
    let qihl = usize::from(quoted.first()? & 0x0f) * 4;
    let qdst = IpAddr::from(<[u8; 4]>::try_from(quoted.get(16..20)?).ok()?);
    let qproto = *quoted.get(9)?;
    let udp = quoted.get(qihl..qihl + 4)?;
    let (qsport, qdport) = (
        u16::from_be_bytes([udp[0], udp[1]]),
        u16::from_be_bytes([udp[2], udp[3]]),
    );
    (qproto == 17 && qdst == dest && qsport == src_port && qdport == port)
        .then_some((from, (kind, code)))
}

async fn route(
    host: &Host,
    command: &RouteCmd,
    r: &mut StepResult,
) -> Result<(), super::ProgramError> {
    let change = match command {
        RouteCmd::Get(addr) => {
            // `ip route get` prints the route the kernel chose, the way people read it.
            let argv: Vec<String> = ["ip", "route", "get"]
                .iter()
                .map(|s| s.to_string())
                .chain([addr.to_string()])
                .collect();
            super::program::run(
                host,
                &argv,
                Duration::from_secs(5),
                r,
                super::program::Input::none(),
            )
            .await?;
            r.received = r
                .stdout
                .lines()
                .next()
                .unwrap_or("")
                .split(" uid ")
                .next()
                .unwrap_or("")
                .trim()
                .to_string();
            r.stdout.clear();
            if r.outcome == StepOutcome::Ok {
                r.detail = r.received.clone();
            }
            return Ok(());
        }
        RouteCmd::Add(_) => RouteChange::Add,
        RouteCmd::Replace(_) => RouteChange::Replace,
        RouteCmd::Del(_) => RouteChange::Del,
    };
    let route = command.route().expect("add, replace and del carry a route");
    let plan = RoutePlan {
        host: 0,
        dest: Some(Cidr {
            addr: route.dest().addr(),
            prefix: route.dest().prefix(),
        })
        .filter(|c| c.prefix != 0),
        via: route.via(),
        dev: route.dev().map(|d| d.as_str().to_string()),
    };
    outcome(r, topology::change_route(host, &plan, change).await, || {
        "done".to_string()
    });
    Ok(())
}

/// A gratuitous ARP request (sender and target address both the interface's own), sent to
/// broadcast through libpcap as `arping -U` does.
async fn announce(lab: &Lab, host_id: usize, iface: &str, r: &mut StepResult) {
    let host = lab.host(host_id);
    let Some(addr) = lab
        .addresses
        .iter()
        .find(|a| a.host == host_id && a.iface == iface)
        .map(|a| a.addr)
    else {
        return fail(r, format!("{iface} has no address to announce"));
    };
    let IpAddr::V4(ip) = addr else {
        return fail(r, "gratuitous ARP is IPv4".into());
    };
    let mac = match topology::mac_of(host, iface).await {
        Ok(mac) => mac,
        Err(e) => return fail(r, e.to_string()),
    };
    let frame = gratuitous_arp(mac, ip.octets());
    let name = iface.to_string();
    let sent = host.netns.run(move || -> Result<(), pcap::Error> {
        let mut capture = pcap::Capture::from_device(name.as_str())?.open()?;
        capture.sendpacket(frame.as_slice())
    });
    match sent {
        Ok(Ok(())) => r.detail = format!("who-has {ip} tell {ip}, to broadcast"),
        Ok(Err(e)) => fail(r, format!("cannot send on {iface}: {e}")),
        Err(e) => fail(r, e.to_string()),
    }
}

fn gratuitous_arp(mac: [u8; 6], ip: [u8; 4]) -> Vec<u8> {
    let mut f = Vec::with_capacity(42);
    f.extend_from_slice(&[0xff; 6]);
    f.extend_from_slice(&mac);
    f.extend_from_slice(&[0x08, 0x06]);
    // Ethernet, IPv4, 6-byte and 4-byte addresses, request.
    f.extend_from_slice(&[0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01]);
    f.extend_from_slice(&mac);
    f.extend_from_slice(&ip);
    f.extend_from_slice(&[0; 6]);
    f.extend_from_slice(&ip);
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gratuitous_arp_names_its_own_address_twice() {
        let f = gratuitous_arp([2, 0, 0, 0, 0, 1], [10, 0, 0, 1]);
        assert_eq!(f.len(), 42);
        assert_eq!(&f[28..32], &[10, 0, 0, 1]);
        assert_eq!(&f[38..42], &[10, 0, 0, 1]);
        let p = crate::wire::dissect(crate::wire::LinkType::Ethernet, &f);
        let crate::wire::Net::Arp(arp) = &p.net else {
            panic!("{p:?}")
        };
        assert!(arp.is_gratuitous());
    }

    #[test]
    fn time_exceeded_about_our_probe_is_an_answer() {
        // Outer IPv4 from 10.0.0.254, ICMP 11/0, quoting IPv4 to 198.51.100.8, UDP 40000 > 33434.
        let mut p = vec![
            0x45, 0, 0, 56, 0, 0, 0, 0, 64, 1, 0, 0, 10, 0, 0, 254, 10, 0, 0, 1,
        ];
        p.extend_from_slice(&[11, 0, 0, 0, 0, 0, 0, 0]);
        p.extend_from_slice(&[0x45, 0, 0, 60, 0, 0, 0, 0, 1, 17, 0, 0, 10, 0, 0, 1]);
        p.extend_from_slice(&[198, 51, 100, 8]);
        p.extend_from_slice(&[0x9c, 0x40, 0x82, 0x9a, 0, 40, 0, 0]);
        let dest: IpAddr = "198.51.100.8".parse().unwrap();
        assert_eq!(
            answer_to(&p, dest, 40000, 33434),
            Some(("10.0.0.254".parse().unwrap(), (11, 0)))
        );
        assert_eq!(answer_to(&p, dest, 40001, 33434), None);
        assert_eq!(answer_to(&p[..30], dest, 40000, 33434), None);
    }
}
