//! Topology: turns the plan's hosts, links and routes into network namespaces, veth pairs,
//! addresses and routes, through rtnetlink.
//!
//! Contract: [`build`] returns a [`Lab`] in which every host's namespace exists with loopback
//! up, every link's two ends are up with their addresses and MTU, routers forward, and IPv6 is
//! off unless a host asks for it (so captures hold no router solicitations, MLD or DAD). Each
//! host has its own netlink connection, opened inside its namespace, because a netlink socket
//! speaks for the namespace it was created in.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;

use futures::TryStreamExt;
use rtnetlink::packet_route::link::{InfoData, InfoKind, InfoVeth};
use rtnetlink::{Handle, LinkMessageBuilder, LinkUnspec, LinkVeth, RouteMessageBuilder};

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
        if host.forward {
            sysctls.push(("net/ipv4/ip_forward", "1"));
            if host.ipv6 {
                sysctls.push(("net/ipv6/conf/all/forwarding", "1"));
            }
        }
        for (key, value) in sysctls {
            netns
                .sysctl(key, value)?
                .map_err(|source| TopologyError::Sysctl {
                    host: host.name.clone(),
                    key: key.replace('/', "."),
                    source,
                })?;
        }
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
    let lab = Lab { hosts };

    for host in &lab.hosts {
        let lo = index_of(host, "lo").await?;
        set_up(host, lo, "bring lo up").await?;
    }

    for link in &plan.links {
        let [a, b] = &link.ends;
        let (host_a, host_b) = (lab.host(a.host), lab.host(b.host));
        // The peer is created directly inside B (IFLA_NET_NS_FD in the peer's attributes, as
        // `ip link add eth0 type veth peer name eth0 netns B` does): both ends get their final
        // names at once, and no interface is ever moved between namespaces, which would cost
        // the kernel an RCU grace period per link.
        let fd_b = std::os::fd::AsRawFd::as_raw_fd(&host_b.netns.fd());
        let mut peer = LinkUnspec::new_with_name(&b.iface).setns_by_fd(fd_b);
        let mut veth = LinkMessageBuilder::<LinkVeth>::new_with_info_kind(InfoKind::Veth)
            .name(a.iface.clone());
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
            if let Some(cidr) = end.addr {
                add_address(host, index, cidr.addr, cidr.prefix, &end.iface).await?;
            }
            set_up(host, index, &format!("bring {} up", end.iface)).await?;
        }
    }
    for route in &plan.routes {
        let host = lab.host(route.host);
        add_route(host, route).await?;
    }
    Ok(lab)
}

async fn add_route(host: &Host, route: &RoutePlan) -> Result<(), TopologyError> {
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
    let what = match route.dest {
        Some(c) => format!("add route {c}"),
        None => "add default route".to_string(),
    };
    request(host, what, async {
        host.netlink.route().add(message).execute().await
    })
    .await
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

async fn add_address(
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
