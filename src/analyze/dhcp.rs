//! DHCP facts: who asks, what is offered and acknowledged, by whom, with which options, one
//! fact per DHCP message in capture order, and their line in the flow snapshot.
//!
//! Contract: a [`DhcpFact`] holds nothing that changes from run to run of the same lab: no
//! transaction id, no MAC address (the client is `client-N`, numbered by first appearance of
//! its hardware address in the capture), no client identifier (it is made from the MAC) and no
//! seconds-elapsed field. Addresses are rendered through the host names, so a server shows as
//! its host.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};

use serde::Serialize;

use crate::wire::dhcp::{self, Message, MessageType, code};

use super::Names;

/// One DHCP message as a fact.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DhcpFact {
    /// Frame that carried it.
    pub frame: u64,
    /// Message type; `None` for plain BOOTP.
    pub kind: Option<MessageType>,
    /// IP source.
    pub from: IpAddr,
    /// IP destination.
    pub to: IpAddr,
    /// The client, numbered from 1 by first appearance of its hardware address.
    pub client: usize,
    /// The broadcast flag.
    pub broadcast: bool,
    /// `ciaddr`, when set.
    pub client_ip: Option<Ipv4Addr>,
    /// `yiaddr`, when set: the address given.
    pub your_ip: Option<Ipv4Addr>,
    /// `giaddr`, when set: the relay agent.
    pub relay: Option<Ipv4Addr>,
    /// The server host name field (`sname`), when set and not holding options.
    pub server_name: Option<String>,
    /// The options in wire order, as (code, value in words); the message type and the client
    /// identifier left out.
    pub options: Vec<(u8, String)>,
}

/// Numbers clients by hardware address in order of appearance.
#[derive(Debug, Default)]
pub(crate) struct Clients(Vec<Vec<u8>>);

impl Clients {
    /// The fact for one message from `from` to `to`, seen in `frame`.
    pub(crate) fn fact(&mut self, frame: u64, from: IpAddr, to: IpAddr, m: &Message) -> DhcpFact {
        let hw = m.chaddr[..usize::from(m.hlen).min(16)].to_vec();
        let client = match self.0.iter().position(|c| *c == hw) {
            Some(i) => i + 1,
            None => {
                self.0.push(hw);
                self.0.len()
            }
        };
        let set = |a: Ipv4Addr| Some(a).filter(|a| !a.is_unspecified());
        DhcpFact {
            frame,
            kind: m.message_type(),
            from,
            to,
            client,
            broadcast: m.broadcast(),
            client_ip: set(m.ciaddr),
            your_ip: set(m.yiaddr),
            relay: set(m.giaddr),
            server_name: Some(dhcp::option_value(&dhcp::DhcpOption {
                code: code::HOST_NAME,
                data: m.sname.clone(),
            }))
            .filter(|n| !n.is_empty()),
            options: m
                .options
                .iter()
                .filter(|o| !matches!(o.code, code::MESSAGE_TYPE | code::CLIENT_ID))
                .map(|o| (o.code, value(o)))
                .collect(),
        }
    }
}

/// An option's value in words; the request list by the options' names.
fn value(o: &dhcp::DhcpOption) -> String {
    if o.code == code::PARAMETER_REQUEST_LIST {
        let names: Vec<String> = o
            .data
            .iter()
            .map(|&c| match dhcp::option_name(c) {
                "Unknown" => c.to_string(),
                n => n.to_string(),
            })
            .collect();
        return names.join(", ");
    }
    dhcp::option_value(o)
}

/// The fact's line in the flow snapshot:
/// `dhcp Offer server > 255.255.255.255  client-1  your client  broadcast  [Subnet Mask 255.255.255.0] ...`.
pub fn line(f: &DhcpFact, names: &Names) -> String {
    let kind = f.kind.map_or("BOOTP", MessageType::name);
    let mut s = format!(
        "dhcp {kind} {} > {}  client-{}",
        names.host(&f.from),
        names.host(&f.to),
        f.client
    );
    let v4 = |a: Ipv4Addr| names.host(&IpAddr::V4(a));
    if let Some(a) = f.client_ip {
        let _ = write!(s, "  ciaddr {}", v4(a));
    }
    if let Some(a) = f.your_ip {
        let _ = write!(s, "  yiaddr {}", v4(a));
    }
    if let Some(a) = f.relay {
        let _ = write!(s, "  relay {}", v4(a));
    }
    if let Some(n) = &f.server_name {
        let _ = write!(s, "  sname {n}");
    }
    if f.broadcast {
        s.push_str("  broadcast-flag");
    }
    for (c, v) in &f.options {
        let shown = match *c {
            code::SERVER_ID | code::REQUESTED_IP | code::ROUTER | code::DNS => v
                .split(',')
                .map(|a| a.parse::<Ipv4Addr>().map_or(a.to_string(), v4))
                .collect::<Vec<_>>()
                .join(","),
            _ => v.clone(),
        };
        let _ = write!(s, "  [{} {shown}]", dhcp::option_name(*c));
    }
    s
}
