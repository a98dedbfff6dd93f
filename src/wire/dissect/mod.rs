//! Dissection of one frame into an owned [`Packet`] summary, one submodule per protocol layer:
//! [`link`] (Ethernet, Linux cooked, loopback, raw IP), [`arp`], [`ip`] (IPv4 and IPv6 with
//! their fragment fields), [`icmp`] and [`transport`] (TCP and UDP). This module holds the
//! summary types that span the layers and walks a frame through them.
//!
//! Contract: [`dissect`] accepts any bytes for any link type and returns what it could decode,
//! layer by layer; where decoding stopped early, [`Packet::error`] says why. It never panics.
//! Header fields are copied out (they are small); the transport payload is not: [`Packet::payload`]
//! is the range of the captured payload inside the frame, and [`Tcp::payload_len`] /
//! [`Udp::payload_len`] are the lengths on the wire, which exceed the captured part when the
//! snapshot length cut the frame.
//!
//! etherparse does the header work; link types it does not know (Linux cooked v2, BSD
//! loopback) are peeled in [`link`], since each is a fixed header in front of an ether type.
//! Application recognition ([`super::app`]) is called last, with the transport kind and ports.

mod arp;
mod icmp;
mod ip;
mod link;
mod transport;

use std::ops::Range;

use etherparse::{LaxNetSlice, LaxSlicedPacket, TransportSlice};

pub use arp::Arp;
pub use icmp::{EchoKind, Icmp, Quoted};
pub use ip::IpInfo;
pub use link::{Link, Mac};
pub use transport::{Tcp, TcpFlags, TcpOption, Udp};

use super::LinkType;
use super::app::{self, App, Carrier};

/// The network layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Net {
    /// Nothing decodable.
    None,
    /// ARP.
    Arp(Arp),
    /// IPv4 or IPv6.
    Ip(IpInfo),
    /// A network protocol the dissector does not decode (its ether type).
    Other(u16),
}

/// The transport layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transport {
    /// Nothing decodable, or a non-first fragment.
    None,
    /// TCP.
    Tcp(Tcp),
    /// UDP.
    Udp(Udp),
    /// ICMP or ICMPv6.
    Icmp(Icmp),
}

/// Everything the dissector learned about one frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packet {
    /// Link layer.
    pub link: Link,
    /// Network layer.
    pub net: Net,
    /// Transport layer.
    pub transport: Transport,
    /// The captured transport payload, as a range of the frame's bytes.
    pub payload: Range<usize>,
    /// The captured IP payload (what follows the IP header and its extensions), as a range
    /// of the frame's bytes: the data of a fragment.
    pub ip_payload: Range<usize>,
    /// Application layer, when recognised.
    pub app: Option<App>,
    /// Why dissection stopped early, if it did.
    pub error: Option<String>,
}

impl Packet {
    fn empty() -> Packet {
        Packet {
            link: Link::None,
            net: Net::None,
            transport: Transport::None,
            payload: 0..0,
            ip_payload: 0..0,
            app: None,
            error: None,
        }
    }

    /// The IP layer, if any.
    pub fn ip(&self) -> Option<&IpInfo> {
        match &self.net {
            Net::Ip(ip) => Some(ip),
            _ => None,
        }
    }

    /// The TCP layer, if any.
    pub fn tcp(&self) -> Option<&Tcp> {
        match &self.transport {
            Transport::Tcp(t) => Some(t),
            _ => None,
        }
    }

    /// The UDP layer, if any.
    pub fn udp(&self) -> Option<&Udp> {
        match &self.transport {
            Transport::Udp(u) => Some(u),
            _ => None,
        }
    }

    /// The ICMP layer, if any.
    pub fn icmp(&self) -> Option<&Icmp> {
        match &self.transport {
            Transport::Icmp(i) => Some(i),
            _ => None,
        }
    }

    /// The transport payload bytes inside `frame` (the bytes this packet was dissected from).
    pub fn payload_of<'a>(&self, frame: &'a [u8]) -> &'a [u8] {
        frame.get(self.payload.clone()).unwrap_or(&[])
    }
}

/// Dissects one frame. Never panics; see the module documentation.
pub fn dissect(linktype: LinkType, data: &[u8]) -> Packet {
    let mut pkt = Packet::empty();
    let Some(sliced) = link::slice(&mut pkt, linktype, data) else {
        return pkt;
    };
    fill(&mut pkt, &sliced, data);
    pkt
}

/// Offset of `inner` within `outer`; both come from the same frame.
fn offset_in(outer: &[u8], inner: &[u8]) -> usize {
    (inner.as_ptr() as usize)
        .saturating_sub(outer.as_ptr() as usize)
        .min(outer.len())
}

/// Walks the layers etherparse sliced, from the link up to the application.
fn fill(pkt: &mut Packet, s: &LaxSlicedPacket<'_>, data: &[u8]) {
    link::ethernet(pkt, s);
    if let Some((err, layer)) = &s.stop_err {
        pkt.error = Some(format!("{layer}: {err}"));
    }
    let (ip_start, ip) = match &s.net {
        None => {
            if let Some(p) = s.ether_payload() {
                let et = p.ether_type.0;
                if et != etherparse::ether_type::IPV4.0
                    && et != etherparse::ether_type::IPV6.0
                    && et != etherparse::ether_type::ARP.0
                {
                    pkt.net = Net::Other(et);
                }
            }
            return;
        }
        Some(LaxNetSlice::Arp(a)) => {
            pkt.net = arp::net(a);
            return;
        }
        Some(LaxNetSlice::Ipv4(v4)) => ip::v4(v4, data),
        Some(LaxNetSlice::Ipv6(v6)) => ip::v6(v6, data),
    };
    let ip_payload = match &s.net {
        Some(LaxNetSlice::Ipv4(v4)) => v4.payload().clone(),
        Some(LaxNetSlice::Ipv6(v6)) => v6.payload().clone(),
        _ => return,
    };
    // Length on the wire of the IP payload: the header's claim, not what was captured.
    let payload_start = offset_in(data, ip_payload.payload);
    let header_total = payload_start.saturating_sub(ip_start) as u32;
    let wire_payload = if ip.len == ip::IPV6_HEADER_LEN as u32
        && ip.version == 6
        && !ip_payload.payload.is_empty()
    {
        // A jumbogram or a zero length field: trust the capture.
        ip_payload.payload.len() as u32
    } else {
        ip.len.saturating_sub(header_total)
    };
    let is_fragment = ip.is_fragment();
    pkt.ip_payload = payload_start..payload_start + ip_payload.payload.len();
    pkt.net = Net::Ip(ip);
    if is_fragment && ip_payload.fragmented {
        // Only the first fragment carries the transport header; later ones are data.
        if pkt.ip().is_some_and(|i| i.frag_offset != 0) {
            return;
        }
    }
    match &s.transport {
        Some(TransportSlice::Tcp(t)) => transport::tcp(pkt, data, t, wire_payload),
        Some(TransportSlice::Udp(u)) => transport::udp(pkt, data, u, wire_payload),
        Some(TransportSlice::Icmpv4(i)) => {
            let header = (i.type_u8(), i.code_u8(), i.bytes5to8());
            icmp::transport(pkt, data, false, header, i.payload());
        }
        Some(TransportSlice::Icmpv6(i)) => {
            let header = (i.type_u8(), i.code_u8(), i.bytes5to8());
            icmp::transport(pkt, data, true, header, i.payload());
        }
        _ => {}
    }
    let payload = pkt.payload_of(data);
    pkt.app = match &pkt.transport {
        Transport::Tcp(t) => app::recognise(Carrier::Tcp, [t.src_port, t.dst_port], payload),
        Transport::Udp(u) => app::recognise(Carrier::Udp, [u.src_port, u.dst_port], payload),
        _ => None,
    };
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use etherparse::PacketBuilder;

    use super::*;

    /// A TCP SYN from 10.0.0.1:40000 to 10.0.0.2:80 on Ethernet, as a capture holds it:
    /// MSS 1460, SACK permitted, timestamps, window scale 7.
    const SYN: [u8; 74] = [
        0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08,
        0x00, // eth
        0x45, 0x00, 0x00, 0x3c, 0x12, 0x34, 0x40, 0x00, 0x40, 0x06, 0x00, 0x00, // ip
        0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02, //
        0x9c, 0x40, 0x00, 0x50, 0x00, 0x00, 0x03, 0xe8, 0x00, 0x00, 0x00, 0x00, // tcp
        0xa0, 0x02, 0xfa, 0xf0, 0x00, 0x00, 0x00, 0x00, //
        0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 0x00, 0x00, 0x00, 0x01, // options
        0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x07,
    ];

    #[test]
    fn tcp_syn_fixture() {
        let p = dissect(LinkType::Ethernet, &SYN);
        assert_eq!(p.error, None);
        let ip = p.ip().unwrap();
        assert_eq!(ip.src, IpAddr::from([10, 0, 0, 1]));
        assert_eq!(
            (ip.ttl, ip.id, ip.df, ip.mf, ip.len),
            (64, 0x1234, true, false, 60)
        );
        let t = p.tcp().unwrap();
        assert_eq!((t.src_port, t.dst_port, t.seq), (40000, 80, 1000));
        assert!(t.flags.syn() && !t.flags.ack());
        assert_eq!(t.flags.to_string(), "S");
        assert_eq!(t.payload_len, 0);
        assert_eq!(
            t.options(),
            vec![
                TcpOption::Mss(1460),
                TcpOption::SackPermitted,
                TcpOption::Timestamp(1, 0),
                TcpOption::Nop,
                TcpOption::WindowScale(7)
            ]
        );
        assert!(matches!(p.link, Link::Ethernet { vlan: None, .. }));
    }

    #[test]
    fn no_prefix_or_mutation_panics() {
        for link in [
            LinkType::Ethernet,
            LinkType::Raw,
            LinkType::LinuxSll,
            LinkType::LinuxSll2,
            LinkType::Null,
            LinkType::Other(999),
        ] {
            for n in 0..=SYN.len() {
                let _ = dissect(link, &SYN[..n]);
            }
            let mut m = SYN;
            for i in 0..m.len() {
                for v in [0x00, 0x0f, 0x45, 0xff] {
                    let old = m[i];
                    m[i] = v;
                    let _ = dissect(link, &m);
                    m[i] = old;
                }
            }
        }
    }

    /// An IPv4/UDP datagram with no link header, for the layer tests.
    pub(super) fn udp_ip(src: [u8; 4], dst: [u8; 4], sp: u16, dp: u16, payload: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        PacketBuilder::ipv4(src, dst, 64)
            .udp(sp, dp)
            .write(&mut v, payload)
            .unwrap();
        v
    }
}
