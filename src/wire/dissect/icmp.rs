//! ICMP and ICMPv6: echo, errors and the datagram an error quotes.
//!
//! Contract: [`transport`] records an ICMP or ICMPv6 message as the transport layer of a
//! packet; for an error message it also decodes the quoted datagram's addresses, ports and TCP
//! sequence number where the quote holds them. It never panics on a short quote.

use std::net::{IpAddr, Ipv6Addr};

use etherparse::LaxIpSlice;

use super::{Packet, Transport, offset_in};

/// The header an ICMP error quotes: the start of the datagram that caused it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Quoted {
    /// Source of the original datagram (the host the error goes back to).
    pub src: IpAddr,
    /// Its destination.
    pub dst: IpAddr,
    /// Its protocol.
    pub proto: u8,
    /// Its TTL when the erring host saw it.
    pub ttl: u8,
    /// Source port, for TCP and UDP.
    pub src_port: Option<u16>,
    /// Destination port, for TCP and UDP.
    pub dst_port: Option<u16>,
    /// TCP sequence number, when quoted.
    pub tcp_seq: Option<u32>,
    /// Identifier and sequence number of a quoted ICMP or ICMPv6 echo request (an error about
    /// a ping or an ICMP traceroute probe).
    pub echo: Option<(u16, u16)>,
}

/// ICMP or ICMPv6 fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Icmp {
    /// ICMPv6 rather than ICMP.
    pub v6: bool,
    /// Type.
    pub icmp_type: u8,
    /// Code.
    pub code: u8,
    /// Bytes 5 to 8 of the header: echo id and sequence, next-hop MTU, gateway, pointer.
    pub rest: [u8; 4],
    /// The quoted original header, for error messages.
    pub quoted: Option<Quoted>,
}

impl Icmp {
    /// Whether this is an error message (which quotes the datagram that caused it).
    pub fn is_error(&self) -> bool {
        if self.v6 {
            self.icmp_type < 128
        } else {
            matches!(self.icmp_type, 3 | 4 | 5 | 11 | 12)
        }
    }

    /// Whether this is an echo request or reply, and which.
    pub fn echo(&self) -> Option<EchoKind> {
        match (self.v6, self.icmp_type) {
            (false, 8) | (true, 128) => Some(EchoKind::Request),
            (false, 0) | (true, 129) => Some(EchoKind::Reply),
            _ => None,
        }
    }

    /// Echo identifier (bytes 5-6).
    pub fn echo_id(&self) -> u16 {
        u16::from_be_bytes([self.rest[0], self.rest[1]])
    }

    /// Echo sequence number (bytes 7-8).
    pub fn echo_seq(&self) -> u16 {
        u16::from_be_bytes([self.rest[2], self.rest[3]])
    }

    /// The next-hop MTU of "fragmentation needed" (ICMP 3/4) or "packet too big" (ICMPv6 2).
    pub fn mtu(&self) -> Option<u32> {
        match (self.v6, self.icmp_type, self.code) {
            (false, 3, 4) => Some(u32::from(u16::from_be_bytes([self.rest[2], self.rest[3]]))),
            (true, 2, _) => Some(u32::from_be_bytes(self.rest)),
            _ => None,
        }
    }
}

/// Echo request or reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EchoKind {
    /// Echo request (ping).
    Request,
    /// Echo reply.
    Reply,
}

/// An ICMP or ICMPv6 message: its header (type, code, bytes 5 to 8), its payload, and for an
/// error the datagram it quotes.
pub(super) fn transport(
    pkt: &mut Packet,
    data: &[u8],
    v6: bool,
    (icmp_type, code, rest): (u8, u8, [u8; 4]),
    payload: &[u8],
) {
    let start = offset_in(data, payload);
    pkt.payload = start..start + payload.len();
    let mut icmp = Icmp {
        v6,
        icmp_type,
        code,
        rest,
        quoted: None,
    };
    if icmp.is_error() {
        icmp.quoted = quoted(payload);
    }
    pkt.transport = Transport::Icmp(icmp);
}

/// Decodes the datagram an ICMP error quotes: its IP header and the first bytes after it,
/// which hold the ports (and, for TCP, the sequence number).
fn quoted(bytes: &[u8]) -> Option<Quoted> {
    let (ip, _) = LaxIpSlice::from_slice(bytes).ok()?;
    let (src, dst, ttl, payload) = match &ip {
        LaxIpSlice::Ipv4(v4) => {
            let h = v4.header();
            (
                IpAddr::V4(h.source_addr()),
                IpAddr::V4(h.destination_addr()),
                h.ttl(),
                v4.payload().clone(),
            )
        }
        LaxIpSlice::Ipv6(v6) => {
            let h = v6.header();
            (
                IpAddr::V6(Ipv6Addr::from(h.source())),
                IpAddr::V6(Ipv6Addr::from(h.destination())),
                h.hop_limit(),
                v6.payload().clone(),
            )
        }
    };
    let proto = payload.ip_number.0;
    let p = payload.payload;
    let ports = (proto == 6 || proto == 17) && p.len() >= 4;
    Some(Quoted {
        src,
        dst,
        proto,
        ttl,
        src_port: ports.then(|| u16::from_be_bytes([p[0], p[1]])),
        dst_port: ports.then(|| u16::from_be_bytes([p[2], p[3]])),
        tcp_seq: (proto == 6 && p.len() >= 8).then(|| u32::from_be_bytes([p[4], p[5], p[6], p[7]])),
        echo: (matches!((proto, p.first()), (1, Some(8)) | (58, Some(128))) && p.len() >= 8).then(
            || {
                (
                    u16::from_be_bytes([p[4], p[5]]),
                    u16::from_be_bytes([p[6], p[7]]),
                )
            },
        ),
    })
}

#[cfg(test)]
mod tests {
    use etherparse::PacketBuilder;

    use super::super::{dissect, tests::udp_ip};
    use crate::wire::LinkType;
    use std::net::IpAddr;

    #[test]
    fn icmp_port_unreachable_quotes_the_udp_probe() {
        let probe = udp_ip([10, 0, 0, 1], [10, 0, 0, 2], 5000, 161, b"probe");
        let mut v = Vec::new();
        PacketBuilder::ipv4([10, 0, 0, 2], [10, 0, 0, 1], 64)
            .icmpv4_raw(3, 3, [0; 4])
            .write(&mut v, &probe[..28])
            .unwrap();
        let p = dissect(LinkType::Raw, &v);
        let i = p.icmp().unwrap();
        assert!(i.is_error());
        let q = i.quoted.as_ref().unwrap();
        assert_eq!(q.src, IpAddr::from([10, 0, 0, 1]));
        assert_eq!(
            (q.proto, q.src_port, q.dst_port),
            (17, Some(5000), Some(161))
        );
    }

    #[test]
    fn fragmentation_needed_names_the_mtu() {
        let mut v = Vec::new();
        let quoted = udp_ip([10, 0, 0, 1], [10, 0, 0, 2], 5000, 9, &[0; 100]);
        PacketBuilder::ipv4([10, 0, 0, 254], [10, 0, 0, 1], 64)
            .icmpv4_raw(3, 4, [0, 0, 0x05, 0x78])
            .write(&mut v, &quoted[..28])
            .unwrap();
        let p = dissect(LinkType::Raw, &v);
        assert_eq!(p.icmp().unwrap().mtu(), Some(1400));
    }
}
