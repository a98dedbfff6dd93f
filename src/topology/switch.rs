//! Switches: one Linux bridge per switch, inside the switch's own namespace, with the switch's
//! link ends (`p1`, `p2`, ...) as its ports.
//!
//! Contract: [`build`] returns once every port of every switch forwards frames. The bridge runs
//! no spanning tree (it would send BPDUs into every capture and hold ports in listening and
//! learning for 30 s) and no multicast snooping (every multicast is flooded, as by a plain
//! switch); the switch's namespace has no address and IPv6 off, so the bridge itself sends
//! nothing. In hub mode, learning is off on every port: the bridge never knows where a MAC
//! lives, so it floods every unicast frame to every other port, as a hub repeats it.

use rtnetlink::packet_route::link::{
    BridgePortState, BridgeStpState, InfoBridgePort, InfoPortData, LinkAttribute, LinkInfo,
};
use rtnetlink::{LinkBridge, LinkBridgePort, LinkUnspec};

use super::{Lab, TopologyError, index_of, link_ifaces, request, wait_links};
use crate::scenario::Plan;

/// The bridge's name inside a switch's namespace.
const BRIDGE: &str = "br0";

/// Builds the bridge of every switch of the plan and waits until each port forwards.
pub async fn build(plan: &Plan, lab: &Lab) -> Result<(), TopologyError> {
    for (id, host_plan) in plan.hosts.iter().enumerate() {
        let Some(switch) = host_plan.switch else {
            continue;
        };
        let host = lab.host(id);
        let bridge = LinkBridge::new(BRIDGE)
            .stp_state(BridgeStpState::Disabled)
            .forward_delay(0)
            .mcast_snooping(false)
            .build();
        request(host, format!("create bridge {BRIDGE}"), async {
            host.netlink.link().add(bridge).execute().await
        })
        .await?;
        let bridge = index_of(host, BRIDGE).await?;
        let ports = link_ifaces(plan, id);
        for port in &ports {
            let index = index_of(host, port).await?;
            let enslave = LinkUnspec::new_with_index(index).controller(bridge).build();
            request(host, format!("add {port} to {BRIDGE}"), async {
                host.netlink.link().set(enslave).execute().await
            })
            .await?;
            if switch.hub {
                let no_learning = LinkBridgePort::new(index)
                    .learning(false)
                    .flood(true)
                    .build();
                request(host, format!("turn learning off on {port}"), async {
                    host.netlink.link().set_port(no_learning).execute().await
                })
                .await?;
            }
        }
        // Without spanning tree a port forwards as soon as the bridge and the port are up with
        // carrier; until then the bridge drops the frames it receives.
        wait_links(host, &ports, forwarding).await?;
    }
    Ok(())
}

fn forwarding(attributes: &[LinkAttribute]) -> bool {
    attributes.iter().any(|a| match a {
        LinkAttribute::LinkInfo(infos) => infos.iter().any(|info| match info {
            LinkInfo::PortData(InfoPortData::BridgePort(port)) => {
                port.contains(&InfoBridgePort::State(BridgePortState::Forwarding))
            }
            _ => false,
        }),
        _ => false,
    })
}
