//! The datagram an ICMP or ICMPv6 error quotes, read from the captured bytes.
//!
//! Contract: [`quoted`] returns the quoted IP header's fields and the bytes after it (the
//! start of the quoted TCP, UDP or ICMP header), or `None` when the frame is not an ICMP error
//! or the quote is too short for an IP header. Wireshark dissects these quoted headers as
//! part of the error, so `ip.src`, `udp.port` or `tcp.flags.syn` also see them.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::wire::Packet;

use super::eval::icmp;

/// The header of the datagram an ICMP error quotes, read from the captured bytes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct QuotedIp<'a> {
    pub v6: bool,
    pub src: IpAddr,
    pub dst: IpAddr,
    pub proto: u8,
    pub ttl: u8,
    pub len: u32,
    pub id: u32,
    pub flags_frag: u16,
    pub dscp: u8,
    pub flow: u32,
    pub ports: Option<(u16, u16)>,
    /// The bytes after the quoted IP header.
    pub rest: &'a [u8],
}

/// The quoted datagram of an ICMP or ICMPv6 error.
pub(crate) fn quoted<'a>(pkt: &Packet, data: &'a [u8]) -> Option<QuotedIp<'a>> {
    let i = icmp(pkt)?;
    if !i.is_error() {
        return None;
    }
    let b = pkt.payload_of(data);
    let q = if !i.v6 {
        let h = b.get(..20)?;
        let ihl = usize::from(h[0] & 0x0f) * 4;
        if h[0] >> 4 != 4 || ihl < 20 {
            return None;
        }
        QuotedIp {
            v6: false,
            src: IpAddr::V4(Ipv4Addr::new(h[12], h[13], h[14], h[15])),
            dst: IpAddr::V4(Ipv4Addr::new(h[16], h[17], h[18], h[19])),
            proto: h[9],
            ttl: h[8],
            len: u32::from(u16::from_be_bytes([h[2], h[3]])),
            id: u32::from(u16::from_be_bytes([h[4], h[5]])),
            flags_frag: u16::from_be_bytes([h[6], h[7]]),
            dscp: h[1] >> 2,
            flow: 0,
            ports: None,
            rest: b.get(ihl..).unwrap_or(&[]),
        }
    } else {
        let h = b.get(..40)?;
        let a16 = |o: usize| {
            let mut x = [0u8; 16];
            x.copy_from_slice(&h[o..o + 16]);
            IpAddr::V6(Ipv6Addr::from(x))
        };
        QuotedIp {
            v6: true,
            src: a16(8),
            dst: a16(24),
            proto: h[6],
            ttl: h[7],
            len: 40 + u32::from(u16::from_be_bytes([h[4], h[5]])),
            id: 0,
            flags_frag: 0,
            dscp: ((h[0] & 0x0f) << 2) | (h[1] >> 6),
            flow: u32::from_be_bytes([0, h[1] & 0x0f, h[2], h[3]]),
            ports: None,
            rest: &b[40..],
        }
    };
    let ports = matches!(q.proto, 6 | 17)
        .then(|| q.rest.get(..4))
        .flatten()
        .map(|p| {
            (
                u16::from_be_bytes([p[0], p[1]]),
                u16::from_be_bytes([p[2], p[3]]),
            )
        });
    Some(QuotedIp { ports, ..q })
}
