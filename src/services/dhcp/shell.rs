//! The DHCP server's sockets and `labctl serve dhcp`.
//!
//! Contract: [`DhcpSocket::open`] must be called inside the network namespace of the interface
//! it serves (the caller's job, as for every server socket). It makes a UDP socket on port 67
//! bound to the interface (`SO_BINDTODEVICE`, so a broadcast from a client without address
//! arrives and a broadcast reply leaves through that interface only) with `SO_BROADCAST`, and
//! a libpcap handle on the interface to write the one kind of reply a UDP socket cannot send:
//! a unicast to an address the client does not hold yet, addressed to its MAC (RFC 2131 4.1;
//! the kernel would ARP for the address and nobody would answer). Without that handle the
//! server broadcasts such replies, which every client accepts. [`serve`] answers until
//! `shutdown` completes; each message is counted by the run's tracker from its arrival to its
//! reply, so a run waits for a delayed reply before it stops the captures.
//!
//! `labctl serve dhcp` refuses, before it opens anything, an interface that carries its
//! namespace's default route unless `--allow-real-network` is given: a second DHCP server on a
//! real network hands out wrong addresses to every machine on it.

use std::future::Future;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::Duration;

use tokio::net::UdpSocket;

use super::{Dest, DhcpConfig, Server};
use crate::services::conn::next_datagram;
use crate::verdict::Error;

/// The sockets of a server on one interface.
pub struct DhcpSocket {
    udp: std::net::UdpSocket,
    link: Option<Link>,
}

/// A libpcap handle for frames written below IP, with the interface's own MAC.
struct Link {
    pcap: pcap::Capture<pcap::Active>,
    mac: [u8; 6],
}

impl DhcpSocket {
    /// Opens the server's sockets on `iface`, in the current network namespace. See the module
    /// documentation.
    pub fn open(iface: &str) -> io::Result<DhcpSocket> {
        let udp = bound_udp(iface, 67)?;
        let link = mac_of(iface).and_then(|mac| {
            let mut pcap = pcap::Capture::from_device(iface)
                .and_then(|c| c.snaplen(64).open())
                .ok()?;
            // The handle only writes; a filter that matches nothing keeps its buffer empty.
            let _ = pcap.filter("ether proto 0xffff", true);
            Some(Link { pcap, mac })
        });
        Ok(DhcpSocket { udp, link })
    }
}

/// A non-blocking UDP socket on `port` of every address, bound to `iface`, allowed to
/// broadcast: what a DHCP server and a DHCP client without an address both need. A std socket,
/// so that it can be made on a thread inside a namespace and handed to the runtime.
pub fn bound_udp(iface: &str, port: u16) -> io::Result<std::net::UdpSocket> {
    use nix::sys::socket::{setsockopt, sockopt};
    let socket = std::net::UdpSocket::bind(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port))?;
    setsockopt(
        &socket,
        sockopt::BindToDevice,
        &std::ffi::OsString::from(iface),
    )
    .map_err(io::Error::from)?;
    socket.set_broadcast(true)?;
    socket.set_nonblocking(true)?;
    Ok(socket)
}

/// The Ethernet address of `iface` in the current namespace.
pub fn mac_of(iface: &str) -> Option<[u8; 6]> {
    nix::ifaddrs::getifaddrs().ok()?.find_map(|a| {
        let link = a.address.as_ref()?.as_link_addr()?;
        (a.interface_name == iface).then(|| link.addr()).flatten()
    })
}

/// The first IPv4 address of `iface` in the current namespace, with its prefix length.
pub fn ipv4_of(iface: &str) -> Option<(Ipv4Addr, u8)> {
    nix::ifaddrs::getifaddrs().ok()?.find_map(|a| {
        if a.interface_name != iface {
            return None;
        }
        let addr = a.address.as_ref()?.as_sockaddr_in()?.ip();
        let mask = a.netmask.as_ref()?.as_sockaddr_in()?.ip();
        Some((addr, u32::from(mask).count_ones() as u8))
    })
}

/// Answers DHCP messages on `socket` until `shutdown` completes.
pub async fn serve(socket: DhcpSocket, config: DhcpConfig, shutdown: impl Future<Output = ()>) {
    let DhcpSocket { udp, mut link } = socket;
    let Ok(udp) = UdpSocket::from_std(udp) else {
        return;
    };
    let mut server = Server::new(config);
    let mut buf = vec![0u8; 1500];
    tokio::pin!(shutdown);
    while let Some((n, _peer)) = next_datagram(&udp, &mut buf, shutdown.as_mut()).await {
        let _guard = crate::services::track_connection();
        let Some(reply) = server.respond(&buf[..n]) else {
            continue;
        };
        let delay = server.config().delay;
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let bytes = reply.message.encode();
        let to = |ip: Ipv4Addr, port| SocketAddr::V4(SocketAddrV4::new(ip, port));
        // A reply that cannot leave concerns one client, which will ask again.
        let _ = match reply.dest {
            Dest::Relay(ip) => udp.send_to(&bytes, to(ip, 67)).await,
            Dest::Client(ip) => udp.send_to(&bytes, to(ip, 68)).await,
            Dest::Hardware { ip, mac } => match link.as_mut() {
                Some(l) => {
                    let frame = unicast_frame(l.mac, mac, server.config().server, ip, &bytes);
                    l.pcap
                        .sendpacket(frame)
                        .map(|()| 0)
                        .map_err(io::Error::other)
                }
                None => udp.send_to(&bytes, to(Ipv4Addr::BROADCAST, 68)).await,
            },
            Dest::Broadcast => udp.send_to(&bytes, to(Ipv4Addr::BROADCAST, 68)).await,
        };
    }
}

/// An Ethernet frame carrying `payload` from `src:67` to `dst:68`.
fn unicast_frame(
    src_mac: [u8; 6],
    dst_mac: [u8; 6],
    src: Ipv4Addr,
    dst: Ipv4Addr,
    payload: &[u8],
) -> Vec<u8> {
    let mut frame = Vec::with_capacity(payload.len() + 42);
    let builder = etherparse::PacketBuilder::ethernet2(src_mac, dst_mac)
        .ipv4(src.octets(), dst.octets(), 64)
        .udp(67, 68);
    // Writing into a Vec fails only for a payload too large for one datagram, and a DHCP
    // message is at most a few hundred bytes.
    let _ = builder.write(&mut frame, payload);
    frame
}

/// Reads a lease time: a number and a unit, `s`, `m`, `h` or `d` (`600s`, `10m`, `24h`).
pub fn parse_lease(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (n, unit) = t.split_at(split);
    let scale = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => 0,
    };
    let n: u64 = n.parse().unwrap_or(0);
    match n.checked_mul(scale) {
        Some(secs) if secs >= 60 && secs <= u64::from(u32::MAX) => Ok(Duration::from_secs(secs)),
        _ => Err(format!(
            "bad lease time {text:?}: a whole number and a unit, s, m, h or d, from 60s (\"10m\", \"24h\")"
        )),
    }
}

/// Reads a pool `FIRST-LAST`.
pub fn parse_range(text: &str) -> Result<(Ipv4Addr, Ipv4Addr), String> {
    let bad = || {
        format!(
            "bad range {text:?}: two IPv4 addresses, \"FIRST-LAST\" (\"10.0.0.100-10.0.0.150\")"
        )
    };
    let (a, b) = text.split_once('-').ok_or_else(bad)?;
    let a: Ipv4Addr = a.trim().parse().map_err(|_| bad())?;
    let b: Ipv4Addr = b.trim().parse().map_err(|_| bad())?;
    if a > b {
        return Err(format!("bad range {text:?}: {a} comes after {b}"));
    }
    Ok((a, b))
}

/// `labctl serve dhcp --interface IFACE --range A-B [--router R] [--dns D] [--domain NAME]
/// [--lease 10m] [--allow-real-network]`.
#[derive(Debug, Clone, clap::Args)]
pub struct DhcpCliArgs {
    /// The interface to serve (it must have an IPv4 address: the server's identifier)
    #[arg(long, value_name = "IFACE")]
    pub interface: String,
    /// The pool, FIRST-LAST
    #[arg(long, value_name = "A-B", value_parser = parse_range)]
    pub range: (Ipv4Addr, Ipv4Addr),
    /// Default router offered
    #[arg(long, value_name = "ADDR")]
    pub router: Option<Ipv4Addr>,
    /// DNS server offered (repeatable)
    #[arg(long, value_name = "ADDR")]
    pub dns: Vec<Ipv4Addr>,
    /// Domain name offered
    #[arg(long)]
    pub domain: Option<String>,
    /// Lease time (s, m, h or d)
    #[arg(long, default_value = "10m", value_parser = parse_lease)]
    pub lease: Duration,
    /// Serve even on the interface of the default route: a DHCP server on a real network hands
    /// out addresses to every machine there
    #[arg(long)]
    pub allow_real_network: bool,
}

/// The interface that carries the current namespace's IPv4 default route, if any, from
/// `/proc/net/route`.
fn default_route_interface(route_table: &str) -> Option<String> {
    route_table.lines().skip(1).find_map(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        (f.len() >= 8 && f[1] == "00000000" && f[7] == "00000000").then(|| f[0].to_string())
    })
}

/// Checks the interface, opens the sockets in the current namespace and serves until
/// `shutdown` completes.
pub async fn serve_cli(
    args: DhcpCliArgs,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    let iface = &args.interface;
    let routes = std::fs::read_to_string("/proc/net/route").unwrap_or_default();
    if !args.allow_real_network && default_route_interface(&routes).as_deref() == Some(iface) {
        return Err(Error::msg(format!(
            "dhcp: refusing to serve on {iface}: it carries this namespace's default route, so it is \
             likely a real network, where a second DHCP server hands out wrong addresses to every \
             machine; run it inside a lab (labctl run --keep, then nsenter) or give \
             --allow-real-network if this network is yours to break"
        )));
    }
    let (server, prefix) = ipv4_of(iface).ok_or_else(|| {
        Error::msg(format!(
            "dhcp: interface {iface} has no IPv4 address (it does not exist, or the server has \
             no identifier to give)"
        ))
    })?;
    let config = DhcpConfig {
        server,
        prefix,
        range: args.range,
        router: args.router,
        dns: args.dns,
        domain: args.domain,
        lease: args.lease,
        reservations: Default::default(),
        delay: Duration::ZERO,
        name: nix::unistd::gethostname()
            .ok()
            .and_then(|h| h.into_string().ok()),
    };
    if !config.in_subnet(config.range.0) || !config.in_subnet(config.range.1) {
        return Err(Error::msg(format!(
            "dhcp: range {}-{} is not inside {iface}'s network {server}/{prefix}",
            config.range.0, config.range.1
        )));
    }
    let socket = DhcpSocket::open(iface)
        .map_err(|e| Error::msg(format!("dhcp: cannot listen on {iface} port 67: {e}")))?;
    eprintln!(
        "labctl: dhcp server on {iface} ({server}/{prefix}), pool {}-{}",
        config.range.0, config.range.1
    );
    serve(socket, config, shutdown).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_route_is_read_from_proc() {
        let table = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
                     eth0\t0000000A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n\
                     wlan0\t00000000\t0100A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0\n";
        assert_eq!(default_route_interface(table).as_deref(), Some("wlan0"));
        assert_eq!(
            default_route_interface(&table[..table.find("wlan0").unwrap()]),
            None
        );
    }

    #[test]
    fn lease_and_range_syntax() {
        assert_eq!(parse_lease("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_lease("24h"), Ok(Duration::from_secs(86_400)));
        assert!(parse_lease("10").is_err() && parse_lease("5s").is_err());
        assert!(
            parse_range("10.0.0.9-10.0.0.1")
                .unwrap_err()
                .contains("comes after")
        );
        assert_eq!(
            parse_range("10.0.0.1-10.0.0.9"),
            Ok((Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 9)))
        );
    }

    #[test]
    fn unicast_frame_is_addressed_to_the_mac() {
        let f = unicast_frame(
            [2; 6],
            [4; 6],
            Ipv4Addr::new(10, 0, 0, 1),
            Ipv4Addr::new(10, 0, 0, 9),
            b"x",
        );
        assert_eq!(&f[..6], &[4; 6]);
        let p = crate::wire::dissect(crate::wire::LinkType::Ethernet, &f);
        assert_eq!(p.udp().map(|u| (u.src_port, u.dst_port)), Some((67, 68)));
    }
}
