//! Topology: turns the plan's hosts, links and routes into network namespaces, veth pairs,
//! addresses and routes, through rtnetlink.
//!
//! Contract: [`build`] returns a [`Lab`] in which every host's namespace exists with loopback
//! up, every link's two ends are up with their addresses and MTU, routers forward, and IPv6 is
//! off unless a host asks for it (so captures hold no router solicitations, MLD or DAD), ICMP
//! errors are never rate-limited, and the neighbour timers are pinned ([`NEIGHBOUR_TIMERS`]) so
//! that no ARP entry is re-validated during a lab, however slowly it runs. A switch is a
//! namespace of its own whose bridge joins its links ([`switch`]). Each host has its
//! own netlink connection, opened inside its namespace, because a netlink socket speaks for the
//! namespace it was created in.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;

use futures::TryStreamExt;
use rtnetlink::packet_route::link::{InfoData, InfoKind, InfoVeth, LinkAttribute, State};
use rtnetlink::packet_route::route::{RouteProtocol, RouteScope};
use rtnetlink::{Handle, LinkMessageBuilder, LinkUnspec, LinkVeth, RouteMessageBuilder};

mod switch;

use crate::sandbox::{Netns, SandboxError};
use crate::scenario::{HostId, Plan, RoutePlan};

#[derive(Debug, thiserror::Error)]
pub enum TopologyError {
    #[error(transparent)]
    Sandbox(#[from] SandboxError),
    #[error("host {host}: cannot open a netlink connection: {source}")]
    Netlink {
        host: String,
        source: std::io::Error,
    },
    #[error("host {host}: cannot set {key}: {source}")]
    Sysctl {
        host: String,
        key: String,
        source: std::io::Error,
    },
    #[error("host {host}: {what}: {source}")]
    Request {
        host: String,
        what: String,
        source: rtnetlink::Error,
    },
    #[error("host {host}: no interface {iface}")]
    NoInterface { host: String, iface: String },
    #[error("host {host}: {ifaces} not ready to carry frames after {seconds} s")]
    NotReady {
        host: String,
        ifaces: String,
        seconds: u64,
    },
}

/// One built host: its namespace, its netlink handle and its directory in the run's output.
pub struct Host {
    pub name: String,
    pub netns: Netns,
    pub netlink: Handle,
    /// Files of this host's services (`<out>/hosts/<name>/`).
    pub dir: PathBuf,
}

/// The built lab. Dropping it closes every namespace descriptor; the kernel then removes the
/// namespaces once no process or socket uses them.
pub struct Lab {
    pub hosts: Vec<Host>,
    /// Every configured address: its host, interface and name, for steps that name hops
    /// (traceroute) or announce an address.
    pub addresses: Vec<LabAddress>,
}

#[derive(Debug, Clone)]
pub struct LabAddress {
    pub host: HostId,
    pub iface: String,
    pub addr: IpAddr,
}

impl Lab {
    /// The host name owning `addr`, if it is a lab address.
    pub fn name_of(&self, addr: IpAddr) -> Option<&str> {
        self.addresses
            .iter()
            .find(|a| a.addr == addr)
            .map(|a| self.hosts[a.host].name.as_str())
    }
}

impl Lab {
    pub fn host(&self, id: HostId) -> &Host {
        &self.hosts[id]
    }
}

/// Builds the lab described by `plan`. Must run inside the sandbox, on a tokio runtime.
pub async fn build(plan: &Plan, out: &std::path::Path) -> Result<Lab, TopologyError> {
    let runtime = tokio::runtime::Handle::current();
    // Hosts get their own small TCP and UDP hash tables instead of sharing the machine-wide
    // ones: reading a host's /proc/net/tcp (how a run knows TCP has settled) then walks a few
    // hundred buckets instead of the whole machine's table. Kernels before 5.19 and 6.2 lack
    // these settings, which only costs time.
    for key in [
        "net/ipv4/tcp_child_ehash_entries",
        "net/ipv4/udp_child_hash_entries",
    ] {
        let _ = std::fs::write(format!("/proc/sys/{key}"), "256");
    }
    let mut hosts = Vec::with_capacity(plan.hosts.len());
    for host in &plan.hosts {
        let netns = Netns::create(&host.name)?;
        let mut sysctls = vec![];
        if !host.ipv6 {
            sysctls.push(("net/ipv6/conf/all/disable_ipv6", "1"));
            sysctls.push(("net/ipv6/conf/default/disable_ipv6", "1"));
        }
        // ICMP errors are rate-limited per destination by default (one a second after a short
        // burst), and all together per namespace (icmp_msgs_per_sec): a traceroute or a run of
        // probes would see some answers and not others. No type is limited at all (ratemask
        // 0 takes them out of both limits); the per-destination limit is off as well.
        sysctls.push(("net/ipv4/icmp_ratemask", "0"));
        // A new namespace copies the machine's TCP buffer sizes, which tuned machines (and
        // tools such as Mininet) raise: the window and window scale a SYN advertises come
        // from them. Labs take the kernel's defaults, so their handshakes read the same on
        // every machine (window scale 7 wherever net.core.rmem_max is below 8 MiB).
        sysctls.push(("net/ipv4/tcp_rmem", "4096 131072 6291456"));
        sysctls.push(("net/ipv4/tcp_wmem", "4096 16384 4194304"));
        sysctls.push(("net/ipv4/icmp_ratelimit", "0"));
        if host.ipv6 {
            sysctls.push(("net/ipv6/icmp/ratelimit", "0"));
            // What a lab's IPv6 wire shows is what its steps send: no duplicate address
            // detection (an address is usable at once, with no probes), no router
            // solicitations, and no address made up from a random MAC (a link-local address
            // is one the scenario gives). Interfaces made later take `default`.
            sysctls.extend(IPV6_QUIET.iter().copied());
        }
        if host.forward {
            sysctls.push(("net/ipv4/ip_forward", "1"));
            if host.ipv6 {
                sysctls.push(("net/ipv6/conf/all/forwarding", "1"));
            }
        }
        // Since Linux 6.11 the first SYN retransmissions are a second apart
        // (tcp_syn_linear_timeouts = 4) before the backoff of RFC 6298 starts; labs show the
        // textbook backoff (1 s, 2 s, 4 s). Older kernels lack the setting and already back off.
        netns
            .sysctls(&sysctls, &[("net/ipv4/tcp_syn_linear_timeouts", "0")])?
            .map_err(|(key, source)| TopologyError::Sysctl {
                host: host.name.clone(),
                key: key.replace('/', "."),
                source,
            })?;
        let rt = runtime.clone();
        let (connection, netlink, _) = netns
            .run(move || {
                // The socket is created here, inside the host; the tokio reactor only polls it.
                let _guard = rt.enter();
                rtnetlink::new_connection()
            })?
            .map_err(|source| TopologyError::Netlink {
                host: host.name.clone(),
                source,
            })?;
        tokio::spawn(connection);
        let dir = out.join("hosts").join(&host.name);
        hosts.push(Host {
            name: host.name.clone(),
            netns,
            netlink,
            dir,
        });
    }
    let addresses = plan
        .links
        .iter()
        .flat_map(|l| l.ends.iter())
        .flat_map(|e| {
            e.addr.iter().chain(&e.extra).map(|c| LabAddress {
                host: e.host,
                iface: e.iface.clone(),
                addr: c.addr,
            })
        })
        .collect();
    let lab = Lab { hosts, addresses };

    for (host, host_plan) in lab.hosts.iter().zip(&plan.hosts) {
        let lo = index_of(host, "lo").await?;
        if let Some(mtu) = host_plan.lo.mtu {
            // One segment per packet: without offload, a large write leaves loopback as the
            // MSS-sized segments a real link carries.
            let message = LinkUnspec::new_with_index(lo)
                .mtu(mtu)
                .append_extra_attribute(LinkAttribute::GsoMaxSegs(1))
                .build();
            request(host, format!("set lo mtu {mtu}"), async {
                host.netlink.link().set(message).execute().await
            })
            .await?;
        }
        set_up(host, lo, "bring lo up").await?;
    }

    for (i, link) in plan.links.iter().enumerate() {
        let [a, b] = &link.ends;
        let (host_a, host_b) = (lab.host(a.host), lab.host(b.host));
        // Each end gets its own interface index, never its peer's (in separate namespaces both
        // would otherwise be 2). The kernel's link watch handles a veth whose index equals its
        // peer's as an ordinary event, at most once a second for the whole machine, and until
        // it runs one end drops every frame (see `wait_ready`); a veth with an index of its
        // own is urgent and is ready at once.
        let index = FIRST_LINK_INDEX + 2 * i as u32;
        // The peer is created directly inside B (IFLA_NET_NS_FD in the peer's attributes, as
        // `ip link add eth0 type veth peer name eth0 netns B` does): both ends get their final
        // names at once, and no interface is ever moved between namespaces, which would cost
        // the kernel an RCU grace period per link.
        let fd_b = std::os::fd::AsRawFd::as_raw_fd(&host_b.netns.fd());
        let mut peer = LinkUnspec::new_with_name(&b.iface)
            .index(index + 1)
            .setns_by_fd(fd_b);
        let mut veth = LinkMessageBuilder::<LinkVeth>::new_with_info_kind(InfoKind::Veth)
            .name(a.iface.clone())
            .index(index);
        if let Some(mtu) = link.mtu {
            veth = veth.mtu(mtu);
            peer = peer.mtu(mtu);
        }
        let veth = veth.set_info_data(InfoData::Veth(InfoVeth::Peer(peer.build())));
        request(
            host_a,
            format!("create veth {} <-> {}:{}", a.iface, host_b.name, b.iface),
            async { host_a.netlink.link().add(veth.build()).execute().await },
        )
        .await?;

        for end in [a, b] {
            let host = lab.host(end.host);
            let index = index_of(host, &end.iface).await?;
            for cidr in end.addr.iter().chain(&end.extra) {
                add_address(host, index, cidr.addr, cidr.prefix, &end.iface).await?;
            }
            set_up(host, index, &format!("bring {} up", end.iface)).await?;
        }
    }
    switch::build(plan, &lab).await?;
    for (id, host) in lab.hosts.iter().enumerate() {
        let ifaces = link_ifaces(plan, id);
        pin_neighbour_timers(host, ifaces.clone(), plan.hosts[id].ipv6)?;
        wait_ready(host, &ifaces).await?;
    }
    for route in &plan.routes {
        let host = lab.host(route.host);
        add_route(host, route).await?;
    }
    Ok(lab)
}

/// The names of `host`'s link ends, in the plan's order.
fn link_ifaces(plan: &Plan, host: HostId) -> Vec<String> {
    plan.links
        .iter()
        .flat_map(|l| l.ends.iter())
        .filter(|e| e.host == host)
        .map(|e| e.iface.clone())
        .collect()
}

/// The neighbour (ARP, NDP) timers of every lab interface. A namespace's interfaces start from
/// the machine's `neigh.default` settings, and the kernel re-validates an entry some seconds
/// after it goes stale: left alone, a lab slowed down by a busy machine gains ARP exchanges
/// (a server that learnt the client from its ARP request asks again 5 s after its SYN-ACK).
/// Pinned so that no entry changes state within a lab's lifetime, and an unanswered address
/// fails as the textbook says: three broadcasts one second apart.
pub const NEIGHBOUR_TIMERS: &[(&str, &str)] = &[
    // Reachable for 5 to 15 minutes after a confirmation (half to one and a half times this).
    ("base_reachable_time_ms", "600000"),
    // A stale entry used again is checked (unicast ARP) after 10 minutes instead of 5 s.
    ("delay_first_probe_time", "600"),
    // Stale entries are not collected for 10 minutes (60 s by default).
    ("gc_stale_time", "600"),
    // The kernel's own defaults, pinned against a machine that changed them.
    ("retrans_time_ms", "1000"),
    ("mcast_solicit", "3"),
    ("ucast_solicit", "3"),
];

/// The IPv6 settings of a host with IPv6 on: what its wire shows is what its steps send. No
/// duplicate address detection (an address is usable at once, with no probes), no router
/// solicitations, and no address made up from a random MAC (a link-local address is one the
/// scenario gives). Interfaces made later take `default`.
const IPV6_QUIET: &[(&str, &str)] = &[
    ("net/ipv6/conf/all/accept_dad", "0"),
    ("net/ipv6/conf/default/accept_dad", "0"),
    ("net/ipv6/conf/all/dad_transmits", "0"),
    ("net/ipv6/conf/default/dad_transmits", "0"),
    ("net/ipv6/conf/all/router_solicitations", "0"),
    ("net/ipv6/conf/default/router_solicitations", "0"),
    ("net/ipv6/conf/default/addr_gen_mode", "1"),
];

/// The interface index of the first link's first end; link `i` has this plus `2 i` and `2 i + 1`.
const FIRST_LINK_INDEX: u32 = 10;

/// How long a lab's links may take to carry frames on a very busy machine before the run gives up.
const READY_DEADLINE: std::time::Duration = std::time::Duration::from_secs(30);

/// Waits until each of `ifaces` carries frames: operationally up, with its queueing discipline
/// attached. When a veth pair comes up, the end brought up first gets its carrier from the
/// kernel's link watch, a deferred work item that takes the RTNL lock; until it runs, the end
/// has the `noop` discipline and drops every frame unseen (no capture shows it). On a busy
/// machine, with other labs holding RTNL, that took over a second: a lab's first ARP request
/// vanished and went again 1 s later, with the first SYN queued behind it, and the wire changed.
async fn wait_ready(host: &Host, ifaces: &[String]) -> Result<(), TopologyError> {
    wait_links(host, ifaces, |attributes| {
        attributes.contains(&LinkAttribute::OperState(State::Up))
            && !attributes.contains(&LinkAttribute::Qdisc("noop".into()))
    })
    .await
}

/// Waits until each of `ifaces` exists and its attributes satisfy `ready`, polling every
/// millisecond up to [`READY_DEADLINE`], and names the interfaces still waiting when it gives up.
async fn wait_links(
    host: &Host,
    ifaces: &[String],
    ready: impl Fn(&[LinkAttribute]) -> bool,
) -> Result<(), TopologyError> {
    let deadline = std::time::Instant::now() + READY_DEADLINE;
    loop {
        let links: Vec<_> = request(host, "list links".into(), async {
            host.netlink.link().get().execute().try_collect().await
        })
        .await?;
        let waiting: Vec<&str> = ifaces
            .iter()
            .map(String::as_str)
            .filter(|iface| {
                !links.iter().any(|link| {
                    link.attributes
                        .contains(&LinkAttribute::IfName(iface.to_string()))
                        && ready(&link.attributes)
                })
            })
            .collect();
        if waiting.is_empty() {
            return Ok(());
        }
        if std::time::Instant::now() >= deadline {
            return Err(TopologyError::NotReady {
                host: host.name.clone(),
                ifaces: waiting.join(", "),
                seconds: READY_DEADLINE.as_secs(),
            });
        }
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
}

/// Writes [`NEIGHBOUR_TIMERS`] for `ifaces` of `host`, in one pass inside the namespace.
fn pin_neighbour_timers(host: &Host, ifaces: Vec<String>, ipv6: bool) -> Result<(), TopologyError> {
    let families: &[&str] = if ipv6 { &["ipv4", "ipv6"] } else { &["ipv4"] };
    host.netns
        .run(move || {
            for iface in &ifaces {
                for family in families {
                    for (key, value) in NEIGHBOUR_TIMERS {
                        let key = format!("net/{family}/neigh/{iface}/{key}");
                        if let Err(e) = std::fs::write(format!("/proc/sys/{key}"), value) {
                            return Err((key, e));
                        }
                    }
                }
            }
            Ok(())
        })?
        .map_err(|(key, source)| TopologyError::Sysctl {
            host: host.name.clone(),
            key: key.replace('/', "."),
            source,
        })
}

/// Adds a route, replaces one (`replace`), or deletes the route that matches.
pub async fn change_route(
    host: &Host,
    route: &RoutePlan,
    how: RouteChange,
) -> Result<(), TopologyError> {
    let mut message = route_message(host, route).await?;
    if let RouteChange::Del = how {
        // As `ip route del` does: any scope and any origin match, so the kernel's own routes
        // (a link's connected route, scope link, proto kernel) can be deleted too.
        message.header.scope = RouteScope::NoWhere;
        message.header.protocol = RouteProtocol::Unspec;
    }
    let what = match route.dest {
        Some(c) => format!("{how:?} route {c}").to_lowercase(),
        None => format!("{how:?} default route").to_lowercase(),
    };
    request(host, what, async {
        match how {
            RouteChange::Add => host.netlink.route().add(message).execute().await,
            RouteChange::Replace => host.netlink.route().add(message).replace().execute().await,
            RouteChange::Del => host.netlink.route().del(message).execute().await,
        }
    })
    .await
}

#[derive(Debug, Clone, Copy)]
pub enum RouteChange {
    Add,
    Replace,
    Del,
}

/// Takes an interface down or brings it up.
pub async fn set_link(host: &Host, iface: &str, up: bool) -> Result<(), TopologyError> {
    let index = index_of(host, iface).await?;
    let message = if up {
        LinkUnspec::new_with_index(index).up().build()
    } else {
        LinkUnspec::new_with_index(index).down().build()
    };
    let what = format!("set {iface} {}", if up { "up" } else { "down" });
    request(host, what, async {
        host.netlink.link().set(message).execute().await
    })
    .await
}

/// Removes every address of every interface but loopback: the host stays plugged in, so the
/// frames sent to it still arrive, but nothing answers them (no ARP reply, no RST, no ICMP).
/// Returns the interfaces it emptied.
pub async fn remove_addresses(host: &Host) -> Result<Vec<String>, TopologyError> {
    let lo = index_of(host, "lo").await?;
    let addresses: Vec<_> = request(host, "list addresses".into(), async {
        host.netlink.address().get().execute().try_collect().await
    })
    .await?;
    let mut emptied = Vec::new();
    for message in addresses {
        if message.header.index == lo {
            continue;
        }
        let index = message.header.index;
        request(
            host,
            format!("remove an address of interface {index}"),
            async { host.netlink.address().del(message).execute().await },
        )
        .await?;
        emptied.push(index);
    }
    let mut names = Vec::new();
    let links: Vec<_> = request(host, "list links".into(), async {
        host.netlink.link().get().execute().try_collect().await
    })
    .await?;
    for link in links {
        if emptied.contains(&link.header.index) {
            for attr in &link.attributes {
                if let LinkAttribute::IfName(name) = attr {
                    names.push(name.clone());
                }
            }
        }
    }
    names.sort();
    names.dedup();
    Ok(names)
}

/// The hardware address of `iface`.
pub async fn mac_of(host: &Host, iface: &str) -> Result<[u8; 6], TopologyError> {
    let index = index_of(host, iface).await?;
    let link = host
        .netlink
        .link()
        .get()
        .match_index(index)
        .execute()
        .try_next()
        .await;
    if let Ok(Some(link)) = link {
        for attr in link.attributes {
            if let LinkAttribute::Address(mac) = attr {
                if let Ok(mac) = <[u8; 6]>::try_from(mac.as_slice()) {
                    return Ok(mac);
                }
            }
        }
    }
    Err(TopologyError::NoInterface {
        host: host.name.clone(),
        iface: iface.to_string(),
    })
}

async fn add_route(host: &Host, route: &RoutePlan) -> Result<(), TopologyError> {
    change_route(host, route, RouteChange::Add).await
}

async fn route_message(
    host: &Host,
    route: &RoutePlan,
) -> Result<rtnetlink::packet_route::route::RouteMessage, TopologyError> {
    let index = match &route.dev {
        Some(dev) => Some(index_of(host, dev).await?),
        None => None,
    };
    let (dest, prefix) = match route.dest {
        Some(c) => (Some(c.addr), c.prefix),
        None => (None, 0),
    };
    let v6 = dest.is_some_and(|a| a.is_ipv6()) || route.via.is_some_and(|a| a.is_ipv6());
    let message = if v6 {
        let mut b = RouteMessageBuilder::<Ipv6Addr>::new();
        if let Some(IpAddr::V6(d)) = dest {
            b = b.destination_prefix(d, prefix);
        }
        if let Some(IpAddr::V6(via)) = route.via {
            b = b.gateway(via);
        }
        if let Some(i) = index {
            b = b.output_interface(i);
        }
        b.build()
    } else {
        let mut b = RouteMessageBuilder::<Ipv4Addr>::new();
        if let Some(IpAddr::V4(d)) = dest {
            b = b.destination_prefix(d, prefix);
        }
        if let Some(IpAddr::V4(via)) = route.via {
            b = b.gateway(via);
        }
        if let Some(i) = index {
            b = b.output_interface(i);
        }
        b.build()
    };
    Ok(message)
}

async fn request<T>(
    host: &Host,
    what: String,
    fut: impl std::future::Future<Output = Result<T, rtnetlink::Error>>,
) -> Result<T, TopologyError> {
    fut.await.map_err(|source| TopologyError::Request {
        host: host.name.clone(),
        what,
        source,
    })
}

/// The interface index of `iface` in `host`.
pub async fn index_of(host: &Host, iface: &str) -> Result<u32, TopologyError> {
    let found = host
        .netlink
        .link()
        .get()
        .match_name(iface.to_string())
        .execute()
        .try_next()
        .await;
    match found {
        Ok(Some(link)) => Ok(link.header.index),
        _ => Err(TopologyError::NoInterface {
            host: host.name.clone(),
            iface: iface.to_string(),
        }),
    }
}

async fn set_up(host: &Host, index: u32, what: &str) -> Result<(), TopologyError> {
    request(host, what.to_string(), async {
        host.netlink
            .link()
            .set(LinkUnspec::new_with_index(index).up().build())
            .execute()
            .await
    })
    .await
}

/// Adds an address to an interface (`ip addr add ADDR/PREFIX dev IFACE`).
pub async fn add_address(
    host: &Host,
    index: u32,
    addr: IpAddr,
    prefix: u8,
    iface: &str,
) -> Result<(), TopologyError> {
    request(host, format!("add {addr}/{prefix} to {iface}"), async {
        host.netlink
            .address()
            .add(index, addr, prefix)
            .execute()
            .await
    })
    .await
}

/// Removes every IPv4 address of `iface` (`ip -4 addr flush dev IFACE`), as a DHCP client does
/// when it gives its lease up.
pub async fn flush_ipv4(host: &Host, iface: &str) -> Result<(), TopologyError> {
    let index = index_of(host, iface).await?;
    let addresses: Vec<_> = request(host, format!("list addresses of {iface}"), async {
        host.netlink
            .address()
            .get()
            .set_link_index_filter(index)
            .execute()
            .try_collect()
            .await
    })
    .await?;
    for message in addresses {
        if message.header.family != rtnetlink::packet_route::AddressFamily::Inet {
            continue;
        }
        request(host, format!("remove an address of {iface}"), async {
            host.netlink.address().del(message).execute().await
        })
        .await?;
    }
    Ok(())
}
