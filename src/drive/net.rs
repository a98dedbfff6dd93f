//! Network-layer steps: a UDP probe, the built-in traceroute, `ip route` commands, links going
//! down, a host leaving the network, gratuitous ARP, sysctls.
//!
//! Sockets are created inside the host (`netns.run`) and used from the runtime or from a plain
//! thread that never changes namespace: a socket keeps the namespace it was created in.

use std::io;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::os::fd::{AsFd, OwnedFd};
use std::time::{Duration, Instant};

use nix::sys::socket::{AddressFamily, SockFlag, SockProtocol, SockType, socket};

use crate::rules::RouteCmd;
use crate::scenario::{Action, NetAction, RoutePlan, StepOutcome, StepPlan, Target};
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
    run(lab, step, action, result).await
}

async fn run(
    lab: &Lab,
    step: &StepPlan,
    action: &NetAction,
    result: &mut StepResult,
) -> Result<(), super::ProgramError> {
    let host_id = step.host;
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
            icmp,
            queries,
            ..
        } => {
            // An ICMP trace's echo identifier is the step's line, as ping's: the same every
            // run, and two traces of one run are two conversations.
            let id = (*icmp).then(|| u16::try_from(step.line).unwrap_or(u16::MAX));
            let how = (*dest, id, *queries);
            traceroute(lab, host, how, *max_hops, hops.as_deref(), result).await;
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

/// One probe of traceroute: who answered it (nobody within the wait: `None`), the ICMP type
/// and code of the answer, and the time from the probe to its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Probe {
    from: Option<IpAddr>,
    icmp: (u8, u8),
    rtt: Duration,
}

/// One TTL of traceroute: its probes.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Hop {
    ttl: u8,
    probes: Vec<Probe>,
}

impl Hop {
    /// The first address that answered a probe of this TTL.
    fn from(&self) -> Option<IpAddr> {
        self.probes.iter().find_map(|p| p.from)
    }
}

/// How traceroute probes: UDP datagrams to high ports (errors come back on a raw ICMP
/// socket), or ICMP echo requests (as `traceroute -I`, answered by the destination's reply).
enum Prober {
    Udp { udp: UdpSocket, raw: OwnedFd },
    Icmp(super::ping::Echoer),
}

impl Prober {
    /// Sends probe number `n` (counted from 0 over the whole trace) with `ttl`, and waits.
    fn probe(&self, dest: IpAddr, ttl: u8, n: u16) -> io::Result<Probe> {
        match self {
            Prober::Udp { udp, raw } => udp_probe(udp, raw, dest, ttl, TRACEROUTE_PORT + n),
            Prober::Icmp(echoer) => {
                let echo = echoer.probe(n + 1, Some(ttl), 32, PROBE_WAIT)?;
                let (from, icmp) = match echo.answer {
                    super::ping::Answer::Reply { from, .. } => {
                        (Some(from), if dest.is_ipv6() { (129, 0) } else { (0, 0) })
                    }
                    super::ping::Answer::Error { from, icmp, .. } => (Some(from), icmp),
                    super::ping::Answer::Silence => (None, (0, 0)),
                };
                Ok(Probe {
                    from,
                    icmp,
                    rtt: echo.rtt,
                })
            }
        }
    }
}

async fn traceroute(
    lab: &Lab,
    host: &Host,
    (dest, icmp, queries): (IpAddr, Option<u16>, u8),
    max_hops: u8,
    expected: Option<&[String]>,
    r: &mut StepResult,
) {
    let prober = if let Some(id) = icmp {
        match super::ping::Echoer::open(host, dest, id) {
            Ok(e) => Prober::Icmp(e),
            Err(e) => return fail(r, e),
        }
    } else {
        let IpAddr::V4(_) = dest else {
            return fail(
                r,
                "the built-in UDP traceroute speaks IPv4 (mode = \"icmp\" speaks both)".into(),
            );
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
        match made {
            Ok(Ok((udp, raw))) => Prober::Udp { udp, raw },
            Ok(Err(e)) => return fail(r, format!("cannot create the probe sockets: {e}")),
            Err(e) => return fail(r, e.to_string()),
        }
    };
    // Blocking waits on a plain thread; the sockets already belong to the host.
    let probed =
        tokio::task::spawn_blocking(move || probe_path(&prober, dest, max_hops, queries)).await;
    let hops = match probed {
        Ok(Ok(hops)) => hops,
        Ok(Err(e)) => return fail(r, format!("traceroute: {e}")),
        Err(e) => return fail(r, format!("traceroute: {e}")),
    };
    let mut names = Vec::new();
    for hop in &hops {
        let name = hop.from().map_or("*".to_string(), |a| {
            lab.name_of(a).unwrap_or("?").to_string()
        });
        r.received.push_str(&hop_line(hop, &name));
        r.received.push('\n');
        names.push(name);
    }
    if queries > 1 {
        r.received.push_str(&mtr_summary(&hops, &names));
    }
    let reached = hops.last().is_some_and(|h| h.from() == Some(dest));
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

/// A hop as traceroute prints it: the TTL, who answered, each probe's time or `*`.
fn hop_line(hop: &Hop, name: &str) -> String {
    let mut line = format!("{:2} ", hop.ttl);
    if let Some(addr) = hop.from() {
        line.push_str(&format!(" {name} ({addr}) "));
    }
    for p in &hop.probes {
        match p.from {
            // As traceroute prints it: the time from the probe to its answer.
            Some(_) => line.push_str(&format!(" {:.3} ms ", p.rtt.as_secs_f64() * 1000.0)),
            None => line.push_str(" *"),
        }
    }
    line.trim_end().to_string()
}

/// mtr's report: per hop, the share of probes lost, how many were sent, and the best, average
/// and worst round trip of those answered.
fn mtr_summary(hops: &[Hop], names: &[String]) -> String {
    let width = names.iter().map(String::len).max().unwrap_or(1).max(4);
    let mut out = format!(
        "    {:width$}  {:>6}  {:>3}  {:>5}  {:>5}  {:>5}\n",
        "HOST", "Loss%", "Snt", "Best", "Avg", "Wrst"
    );
    for (hop, name) in hops.iter().zip(names) {
        let answered: Vec<f64> = hop
            .probes
            .iter()
            .filter(|p| p.from.is_some())
            .map(|p| p.rtt.as_secs_f64() * 1000.0)
            .collect();
        let sent = hop.probes.len();
        let loss = (sent - answered.len()) as f64 * 100.0 / sent.max(1) as f64;
        let mut line = format!("{:2}. {name:width$}  {loss:5.1}%  {sent:3}", hop.ttl);
        if !answered.is_empty() {
            let best = answered.iter().copied().fold(f64::INFINITY, f64::min);
            let worst = answered.iter().copied().fold(0.0, f64::max);
            let avg = answered.iter().sum::<f64>() / answered.len() as f64;
            line.push_str(&format!("  {best:5.2}  {avg:5.2}  {worst:5.2}"));
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn probe_path(prober: &Prober, dest: IpAddr, max_hops: u8, queries: u8) -> io::Result<Vec<Hop>> {
    let mut hops = Vec::new();
    let mut n: u16 = 0;
    for ttl in 1..=max_hops {
        let mut hop = Hop {
            ttl,
            probes: Vec::new(),
        };
        for _ in 0..queries {
            hop.probes.push(prober.probe(dest, ttl, n)?);
            n += 1;
        }
        // Reached, or told it cannot be (destination unreachable, ICMP or ICMPv6).
        let done = hop.probes.iter().any(|p| {
            p.from == Some(dest)
                || (p.from.is_some() && p.icmp.0 == if dest.is_ipv6() { 1 } else { 3 })
        });
        hops.push(hop);
        if done {
            break;
        }
    }
    Ok(hops)
}

/// One UDP probe with `ttl` to `dest:port`, and its answer on the raw ICMP socket.
fn udp_probe(
    udp: &UdpSocket,
    raw: &OwnedFd,
    dest: IpAddr,
    ttl: u8,
    port: u16,
) -> io::Result<Probe> {
    let local_port = udp.local_addr()?.port();
    udp.set_ttl(u32::from(ttl))?;
    // The clock starts before the send: on veth the answer is often made within it.
    let sent = Instant::now();
    udp.send_to(&[0x40; 32], SocketAddr::new(dest, port))?;
    let deadline = sent + PROBE_WAIT;
    let mut probe = Probe {
        from: None,
        icmp: (0, 0),
        rtt: Duration::ZERO,
    };
    let mut buf = [0u8; 1500];
    loop {
        if !super::ping::readable_by(raw, deadline)? {
            break;
        }
        let n = match nix::unistd::read(raw, &mut buf) {
            Ok(n) => n,
            Err(nix::errno::Errno::EAGAIN) => continue,
            Err(e) => return Err(e.into()),
        };
        if let Some((from, icmp)) = answer_to(&buf[..n], dest, local_port, port) {
            probe.from = Some(from);
            probe.icmp = icmp;
            probe.rtt = sent.elapsed();
            break;
        }
    }
    Ok(probe)
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
    let plan = RoutePlan::from_route(0, route);
    outcome(r, topology::change_route(host, &plan, change).await, || {
        "done".to_string()
    });
    Ok(())
}

/// A gratuitous ARP request (sender and target address both the interface's own), sent to
/// broadcast through a packet socket as `arping -U` does.
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
    let sent = host
        .netns
        .run(move || crate::capture::send_frames(&name, &[frame]));
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
    fn hops_print_as_traceroute_and_sum_up_as_mtr() {
        let ms = Duration::from_micros;
        let probe = |from: Option<&str>, us| Probe {
            from: from.map(|f| f.parse().unwrap()),
            icmp: (11, 0),
            rtt: ms(us),
        };
        let hops = [
            Hop {
                ttl: 1,
                probes: vec![
                    probe(Some("10.0.0.254"), 100),
                    probe(Some("10.0.0.254"), 300),
                ],
            },
            Hop {
                ttl: 2,
                probes: vec![probe(None, 0), probe(None, 0)],
            },
            Hop {
                ttl: 3,
                probes: vec![probe(None, 0), probe(Some("10.0.2.8"), 500)],
            },
        ];
        assert_eq!(
            hop_line(&hops[0], "r1"),
            " 1  r1 (10.0.0.254)  0.100 ms  0.300 ms"
        );
        assert_eq!(hop_line(&hops[1], "*"), " 2  * *");
        assert_eq!(
            hop_line(&hops[2], "server"),
            " 3  server (10.0.2.8)  * 0.500 ms"
        );
        let names = ["r1".to_string(), "*".to_string(), "server".to_string()];
        assert_eq!(
            mtr_summary(&hops, &names),
            concat!(
                "    HOST     Loss%  Snt   Best    Avg   Wrst\n",
                " 1. r1        0.0%    2   0.10   0.20   0.30\n",
                " 2. *       100.0%    2\n",
                " 3. server   50.0%    2   0.50   0.50   0.50\n",
            )
        );
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
