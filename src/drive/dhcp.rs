//! The `dhcp` step: labctl's own DHCP client.
//!
//! Contract: `dhcp = "IFACE"` sends DISCOVER, takes the first OFFER, sends REQUEST naming that
//! server, and on ACK probes the address with ARP (sender 0.0.0.0, RFC 5227) before it adds the
//! address and the default route through rtnetlink; a probe answered means the address is in
//! use: the client sends DECLINE and the step fails. The lease is kept in the host's directory
//! (`dhcp-IFACE.lease`, as dhclient keeps its lease file), so the later `renew` (REQUEST to the
//! server, unicast, with the address as `ciaddr`), `release` (RELEASE, then the address and
//! route removed) and `decline` steps know the server and the address. No answer within the
//! step's timeout (3 s by default), a NAK, or no lease to renew is outcome `failed`.
//!
//! The client sets the broadcast flag: before it has an address, its UDP socket (bound to the
//! interface) cannot receive a reply unicast to the offered address, as a client with a packet
//! socket (dhclient, udhcpc) can; RFC 2131 4.1 gives clients that choice. DISCOVER is sent again
//! each second without an offer (a lab server answers the first one in milliseconds, so runs
//! of a lab agree); REQUEST is sent once.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;

use crate::scenario::{Action, DhcpOp, RoutePlan, StepOutcome, StepPlan};
use crate::services::dhcp::bound_udp;
use crate::topology::{self, Host, Lab, RouteChange};
use crate::wire::dhcp::{self, BROADCAST, Message, MessageType, code};

use super::{ROUTED, StepResult};

/// How long each answer is waited for when the step gives no timeout.
const ANSWER_WAIT: Duration = Duration::from_secs(3);
/// How long the client waits for an OFFER before it sends DISCOVER again.
const RESEND: Duration = Duration::from_secs(1);
/// How long an ARP probe is given to be answered (RFC 5227's ANNOUNCE_WAIT is 2 s; a lab link
/// answers in microseconds, and a machine under load in milliseconds).
const PROBE_WAIT: Duration = Duration::from_millis(200);
/// The options the client asks for: those seed questions name, as a desktop client asks.
const REQUESTED: [u8; 9] = [
    code::SUBNET_MASK,
    code::BROADCAST_ADDRESS,
    code::ROUTER,
    code::DNS,
    code::DOMAIN_NAME,
    code::HOST_NAME,
    code::LEASE_TIME,
    code::RENEWAL_TIME,
    code::REBINDING_TIME,
];

/// A lease as the lease file keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Lease {
    addr: Ipv4Addr,
    prefix: u8,
    server: Ipv4Addr,
    router: Option<Ipv4Addr>,
    seconds: u32,
}

impl Lease {
    fn to_text(self) -> String {
        let router = self.router.map_or(String::new(), |r| r.to_string());
        format!(
            "address {}/{}\nserver {}\nrouter {router}\nlease {}\n",
            self.addr, self.prefix, self.server, self.seconds
        )
    }

    fn from_text(text: &str) -> Option<Lease> {
        let field = |k: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(k).map(str::trim).map(str::to_string))
        };
        let address = field("address ")?;
        let (addr, prefix) = address.split_once('/')?;
        Some(Lease {
            addr: addr.parse().ok()?,
            prefix: prefix.parse().ok()?,
            server: field("server ")?.parse().ok()?,
            router: field("router ").and_then(|r| r.parse().ok()),
            seconds: field("lease ")?.parse().ok()?,
        })
    }
}

/// The `dhcp` step kind.
pub(super) async fn drive(
    lab: &Lab,
    step: &StepPlan,
    result: &mut StepResult,
) -> Result<(), super::ProgramError> {
    let Action::Dhcp { iface, op, timeout } = &step.action else {
        unreachable!("{ROUTED}")
    };
    let host = lab.host(step.host);
    let wait = timeout.unwrap_or(ANSWER_WAIT);
    let outcome = match op {
        DhcpOp::Lease => lease(host, iface, wait).await,
        DhcpOp::Renew => renew(host, iface, wait).await,
        DhcpOp::Release | DhcpOp::Decline => give_up(host, iface, *op).await,
    };
    match outcome {
        Ok(detail) => result.detail = detail,
        Err(why) => {
            result.outcome = StepOutcome::Failed;
            result.detail = why;
        }
    }
    Ok(())
}

fn lease_path(host: &Host, iface: &str) -> std::path::PathBuf {
    host.dir.join(format!("dhcp-{iface}.lease"))
}

/// What one exchange of the client needs: its MAC, its socket and a fresh transaction id.
struct Session {
    mac: [u8; 6],
    udp: UdpSocket,
    xid: u32,
}

async fn session(host: &Host, iface: &str) -> Result<Session, String> {
    let mac = topology::mac_of(host, iface)
        .await
        .map_err(|e| e.to_string())?;
    let udp = socket(host, iface)?;
    let xid = transaction_id(mac);
    Ok(Session { mac, udp, xid })
}

/// The client's UDP socket on port 68 of `iface`, made inside the host.
fn socket(host: &Host, iface: &str) -> Result<UdpSocket, String> {
    let name = iface.to_string();
    let std = host
        .netns
        .run(move || bound_udp(&name, 68))
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("cannot open port 68 on {iface}: {e}"))?;
    UdpSocket::from_std(std).map_err(|e| e.to_string())
}

/// A new message of `kind` from `mac`, with the options every client message carries.
fn request(kind: MessageType, xid: u32, mac: [u8; 6], host: &Host) -> Message {
    let mut m = Message::new(1, xid, mac);
    m.push(code::MESSAGE_TYPE, [kind.as_u8()]);
    let mut id = vec![1];
    id.extend_from_slice(&mac);
    m.push(code::CLIENT_ID, id);
    m.push(code::HOST_NAME, host.name.as_bytes().to_vec());
    m
}

fn to(ip: Ipv4Addr, port: u16) -> SocketAddr {
    SocketAddr::V4(SocketAddrV4::new(ip, port))
}

/// Waits for a reply to transaction `xid` whose type is one of `kinds`.
async fn answer(
    udp: &UdpSocket,
    xid: u32,
    kinds: &[MessageType],
    wait: Duration,
) -> Option<Message> {
    let deadline = Instant::now() + wait;
    let mut buf = vec![0u8; 1500];
    loop {
        let left = deadline.checked_duration_since(Instant::now())?;
        let (n, _) = tokio::time::timeout(left, udp.recv_from(&mut buf))
            .await
            .ok()?
            .ok()?;
        let Ok(m) = dhcp::parse(&buf[..n]) else {
            continue;
        };
        if m.op == 2 && m.xid == xid && m.message_type().is_some_and(|t| kinds.contains(&t)) {
            return Some(m);
        }
    }
}

async fn lease(host: &Host, iface: &str, wait: Duration) -> Result<String, String> {
    let Session { mac, udp, xid } = session(host, iface).await?;
    let mut discover = request(MessageType::Discover, xid, mac, host);
    discover.flags = BROADCAST;
    discover.push(code::PARAMETER_REQUEST_LIST, REQUESTED.to_vec());
    // DISCOVER again each second until the step's time is up, as real clients do (RFC 2131
    // 4.1, with a shorter first interval): a lab server answers the first in milliseconds, a
    // real one (dnsmasq) may still be starting.
    let deadline = Instant::now() + wait;
    let offer = loop {
        send(&udp, &discover, to(Ipv4Addr::BROADCAST, 67)).await?;
        let left = deadline.saturating_duration_since(Instant::now());
        if let Some(offer) = answer(&udp, xid, &[MessageType::Offer], left.min(RESEND)).await {
            break offer;
        }
        if Instant::now() >= deadline {
            return Err(format!("no DHCP offer on {iface} within {}", secs(wait)));
        }
    };
    let server = offer
        .addr(code::SERVER_ID)
        .ok_or("the offer has no server identifier")?;
    let mut req = request(MessageType::Request, xid, mac, host);
    req.flags = BROADCAST;
    req.push(code::REQUESTED_IP, offer.yiaddr.octets());
    req.push(code::SERVER_ID, server.octets());
    req.push(code::PARAMETER_REQUEST_LIST, REQUESTED.to_vec());
    send(&udp, &req, to(Ipv4Addr::BROADCAST, 67)).await?;
    let ack = answer(&udp, xid, &[MessageType::Ack, MessageType::Nak], wait)
        .await
        .ok_or_else(|| format!("no DHCP ACK from {server} within {}", secs(wait)))?;
    if ack.message_type() == Some(MessageType::Nak) {
        return Err(format!("{server} refused the request (NAK)"));
    }
    let addr = ack.yiaddr;
    if probe(host, iface, mac, addr)? {
        let mut decline = request(MessageType::Decline, xid, mac, host);
        decline.push(code::REQUESTED_IP, addr.octets());
        decline.push(code::SERVER_ID, server.octets());
        send(&udp, &decline, to(Ipv4Addr::BROADCAST, 67)).await?;
        return Err(format!("{addr} answered the ARP probe: in use, declined"));
    }
    let mask = ack
        .addr(code::SUBNET_MASK)
        .unwrap_or(Ipv4Addr::new(255, 255, 255, 0));
    let lease = Lease {
        addr,
        prefix: u32::from(mask).count_ones() as u8,
        server,
        router: ack.addr(code::ROUTER),
        seconds: ack.u32(code::LEASE_TIME).unwrap_or(0),
    };
    apply(host, iface, &lease).await?;
    std::fs::write(lease_path(host, iface), lease.to_text())
        .map_err(|e| format!("cannot keep the lease: {e}"))?;
    let router = lease
        .router
        .map_or(String::new(), |r| format!(", default route via {r}"));
    Ok(format!(
        "leased {addr}/{} from {server} for {}s{router}",
        lease.prefix, lease.seconds
    ))
}

/// The address and the default route of a lease, through rtnetlink.
async fn apply(host: &Host, iface: &str, lease: &Lease) -> Result<(), String> {
    let index = topology::index_of(host, iface)
        .await
        .map_err(|e| e.to_string())?;
    topology::add_address(host, index, IpAddr::V4(lease.addr), lease.prefix, iface)
        .await
        .map_err(|e| e.to_string())?;
    if let Some(router) = lease.router {
        let route = RoutePlan {
            host: 0,
            dest: None,
            via: Some(IpAddr::V4(router)),
            dev: Some(iface.to_string()),
        };
        topology::change_route(host, &route, RouteChange::Replace)
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

async fn renew(host: &Host, iface: &str, wait: Duration) -> Result<String, String> {
    let held = held(host, iface)?;
    let Session { mac, udp, xid } = session(host, iface).await?;
    let mut req = request(MessageType::Request, xid, mac, host);
    req.ciaddr = held.addr;
    req.push(code::PARAMETER_REQUEST_LIST, REQUESTED.to_vec());
    send(&udp, &req, to(held.server, 67)).await?;
    let ack = answer(&udp, xid, &[MessageType::Ack, MessageType::Nak], wait)
        .await
        .ok_or_else(|| format!("no answer from {} within {}", held.server, secs(wait)))?;
    if ack.message_type() == Some(MessageType::Nak) {
        return Err(format!("{} refused the renewal (NAK)", held.server));
    }
    let seconds = ack.u32(code::LEASE_TIME).unwrap_or(held.seconds);
    let lease = Lease { seconds, ..held };
    std::fs::write(lease_path(host, iface), lease.to_text())
        .map_err(|e| format!("cannot keep the lease: {e}"))?;
    Ok(format!(
        "renewed {} with {} for {seconds}s",
        held.addr, held.server
    ))
}

async fn give_up(host: &Host, iface: &str, op: DhcpOp) -> Result<String, String> {
    let held = held(host, iface)?;
    let Session { mac, udp, xid } = session(host, iface).await?;
    let (m, dest, what) = if op == DhcpOp::Release {
        let mut m = request(MessageType::Release, xid, mac, host);
        m.ciaddr = held.addr;
        m.push(code::SERVER_ID, held.server.octets());
        (m, to(held.server, 67), "released")
    } else {
        let mut m = request(MessageType::Decline, xid, mac, host);
        m.push(code::REQUESTED_IP, held.addr.octets());
        m.push(code::SERVER_ID, held.server.octets());
        (m, to(Ipv4Addr::BROADCAST, 67), "declined")
    };
    send(&udp, &m, dest).await?;
    // The address goes once the message is out: a released address is no longer the
    // client's, and the route through it goes with it.
    topology::flush_ipv4(host, iface)
        .await
        .map_err(|e| e.to_string())?;
    let _ = std::fs::remove_file(lease_path(host, iface));
    Ok(format!("{what} {} to {}", held.addr, held.server))
}

fn held(host: &Host, iface: &str) -> Result<Lease, String> {
    std::fs::read_to_string(lease_path(host, iface))
        .ok()
        .and_then(|t| Lease::from_text(&t))
        .ok_or_else(|| format!("no DHCP lease on {iface}: a dhcp = \"{iface}\" step comes first"))
}

async fn send(udp: &UdpSocket, m: &Message, dest: SocketAddr) -> Result<(), String> {
    udp.send_to(&m.encode(), dest)
        .await
        .map(|_| ())
        .map_err(|e| format!("cannot send to {dest}: {e}"))
}

/// A transaction id that differs between clients and runs (snapshots mask it).
fn transaction_id(mac: [u8; 6]) -> u32 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    now ^ u32::from_be_bytes([mac[2], mac[3], mac[4], mac[5]])
}

fn secs(d: Duration) -> String {
    crate::text::human_duration(d)
}

/// Sends one ARP probe for `addr` (sender 0.0.0.0) and says whether anybody answered for it
/// within [`PROBE_WAIT`].
fn probe(host: &Host, iface: &str, mac: [u8; 6], addr: Ipv4Addr) -> Result<bool, String> {
    let name = iface.to_string();
    let frame = arp_probe(mac, addr);
    host.netns
        .run(move || -> Result<bool, pcap::Error> {
            // Non-blocking: libpcap's read timeout does not end a wait on every kernel, the
            // deadline below does.
            let mut cap = pcap::Capture::from_device(name.as_str())?
                .immediate_mode(true)
                .open()?
                .setnonblock()?;
            cap.filter("arp", true)?;
            cap.sendpacket(frame.as_slice())?;
            let deadline = Instant::now() + PROBE_WAIT;
            while Instant::now() < deadline {
                match cap.next_packet() {
                    Ok(p) => {
                        let pkt = crate::wire::dissect(crate::wire::LinkType::Ethernet, p.data);
                        if let crate::wire::Net::Arp(a) = &pkt.net
                            && a.op == 2
                            && a.sender_ip == addr
                        {
                            return Ok(true);
                        }
                    }
                    Err(pcap::Error::TimeoutExpired | pcap::Error::NoMorePackets) => {
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    Err(e) => return Err(e),
                }
            }
            Ok(false)
        })
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("cannot probe {addr} on {iface}: {e}"))
}

/// An ARP probe (RFC 5227): who has `addr`, tell 0.0.0.0, to broadcast.
fn arp_probe(mac: [u8; 6], addr: Ipv4Addr) -> Vec<u8> {
    let mut f = Vec::with_capacity(42);
    f.extend_from_slice(&[0xff; 6]);
    f.extend_from_slice(&mac);
    f.extend_from_slice(&[0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01]);
    f.extend_from_slice(&mac);
    f.extend_from_slice(&[0; 4]);
    f.extend_from_slice(&[0; 6]);
    f.extend_from_slice(&addr.octets());
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lease_file_round_trips() {
        let l = Lease {
            addr: Ipv4Addr::new(10, 0, 0, 100),
            prefix: 24,
            server: Ipv4Addr::new(10, 0, 0, 1),
            router: None,
            seconds: 600,
        };
        assert_eq!(Lease::from_text(&l.to_text()), Some(l));
        assert_eq!(Lease::from_text("address x"), None);
    }

    #[test]
    fn probe_asks_for_the_address_from_nowhere() {
        let f = arp_probe([2, 0, 0, 0, 0, 1], Ipv4Addr::new(10, 0, 0, 100));
        let p = crate::wire::dissect(crate::wire::LinkType::Ethernet, &f);
        let crate::wire::Net::Arp(a) = p.net else {
            panic!("not arp")
        };
        assert_eq!(
            (a.op, a.sender_ip, a.target_ip),
            (1, Ipv4Addr::UNSPECIFIED, Ipv4Addr::new(10, 0, 0, 100))
        );
    }
}
