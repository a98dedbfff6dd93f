//! The IP layer: IPv4 and IPv6 headers, and the fragment fields of both.
//!
//! Contract: [`v4`] and [`v6`] copy the header fields of etherparse's lax slices into an owned
//! [`IpInfo`], with the header's offset in the frame; [`ipv6_fragment`] walks an IPv6 extension
//! chain by hand to find the fragment header. Nothing here panics: every length read from the
//! wire is checked against the bytes present.

use std::net::{IpAddr, Ipv6Addr};

use etherparse::{LaxIpv4Slice, LaxIpv6Slice};

use super::offset_in;

/// Length of the fixed IPv6 header; extension headers follow it.
pub(super) const IPV6_HEADER_LEN: usize = 40;

/// IPv6 next-header values of the extension headers walked before the fragment header.
const HOP_BY_HOP: u8 = 0;
const ROUTING: u8 = 43;
const FRAGMENT: u8 = 44;
const AUTHENTICATION: u8 = 51;
const DESTINATION_OPTIONS: u8 = 60;

/// IPv4 or IPv6 header fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IpInfo {
    /// 4 or 6.
    pub version: u8,
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// Payload protocol (after IPv6 extension headers).
    pub proto: u8,
    /// TTL or hop limit.
    pub ttl: u8,
    /// Differentiated services code point.
    pub dscp: u8,
    /// ECN bits.
    pub ecn: u8,
    /// Identification (IPv4), or the fragment header's identification (IPv6), else 0.
    pub id: u32,
    /// Don't fragment (IPv4).
    pub df: bool,
    /// More fragments.
    pub mf: bool,
    /// Fragment offset in bytes.
    pub frag_offset: u32,
    /// Length of the IP packet on the wire, header included.
    pub len: u32,
    /// The IPv6 flow label (0 for IPv4).
    pub flow_label: u32,
}

impl IpInfo {
    /// True for any fragment of a fragmented datagram.
    pub fn is_fragment(&self) -> bool {
        self.mf || self.frag_offset != 0
    }
}

/// The fields of an IPv4 header, and the header's offset in `data`.
pub(super) fn v4(v4: &LaxIpv4Slice<'_>, data: &[u8]) -> (usize, IpInfo) {
    let h = v4.header();
    let hs = h.slice();
    let info = IpInfo {
        version: 4,
        src: IpAddr::V4(h.source_addr()),
        dst: IpAddr::V4(h.destination_addr()),
        proto: v4.payload().ip_number.0,
        ttl: h.ttl(),
        dscp: h.dcp().value(),
        ecn: h.ecn().value(),
        id: u32::from(h.identification()),
        df: h.dont_fragment(),
        mf: h.more_fragments(),
        frag_offset: u32::from(h.fragments_offset().value()) * 8,
        len: u32::from(h.total_len()),
        flow_label: 0,
    };
    (offset_in(data, hs), info)
}

/// The fields of an IPv6 header (with the fragment header's, when there is one), and the
/// header's offset in `data`.
pub(super) fn v6(v6: &LaxIpv6Slice<'_>, data: &[u8]) -> (usize, IpInfo) {
    let h = v6.header();
    let hs = h.slice();
    let mut info = IpInfo {
        version: 6,
        src: IpAddr::V6(Ipv6Addr::from(h.source())),
        dst: IpAddr::V6(Ipv6Addr::from(h.destination())),
        proto: v6.payload().ip_number.0,
        ttl: h.hop_limit(),
        dscp: h.dscp().value(),
        ecn: h.ecn().value(),
        id: 0,
        df: false,
        mf: false,
        frag_offset: 0,
        len: IPV6_HEADER_LEN as u32 + u32::from(h.payload_length()),
        flow_label: h.flow_label().value(),
    };
    let start = offset_in(data, hs);
    // The extension chain is walked here rather than with etherparse's iterator: fuzzing
    // showed that iterator reading past the end of a chain cut short by the capture.
    let after = data.get(start + IPV6_HEADER_LEN..).unwrap_or(&[]);
    if let Some((id, offset, mf)) = ipv6_fragment(h.next_header().0, after) {
        info.id = id;
        info.frag_offset = offset;
        info.mf = mf;
    }
    (start, info)
}

/// Finds the fragment header in an IPv6 extension chain: (identification, byte offset, more
/// fragments). Every length is checked against the bytes present.
pub(super) fn ipv6_fragment(mut next: u8, mut rest: &[u8]) -> Option<(u32, u32, bool)> {
    // At most a handful of extension headers precede the fragment header in real traffic.
    for _ in 0..8 {
        match next {
            FRAGMENT => {
                let f = rest.get(..8)?;
                let off_flags = u16::from_be_bytes([f[2], f[3]]);
                let id = u32::from_be_bytes([f[4], f[5], f[6], f[7]]);
                return Some((id, u32::from(off_flags & 0xfff8), off_flags & 1 == 1));
            }
            // Hop-by-hop, routing and destination options: length in 8-byte units beyond the
            // first 8; the authentication header counts 4-byte units beyond the first 8.
            HOP_BY_HOP | ROUTING | DESTINATION_OPTIONS | AUTHENTICATION => {
                let h = rest.get(..2)?;
                let len = if next == AUTHENTICATION {
                    (usize::from(h[1]) + 2) * 4
                } else {
                    (usize::from(h[1]) + 1) * 8
                };
                next = h[0];
                rest = rest.get(len..)?;
            }
            _ => return None,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::super::Transport;
    use super::super::dissect;
    use super::*;
    use crate::wire::LinkType;

    #[test]
    fn ipv4_fragment_flags_and_offset() {
        let mut v = vec![
            0x45, 0x08, 0x00, 0x1c, 0xab, 0xcd, 0x20, 0x02, 0x40, 0x11, 0, 0, 10, 0, 0, 1, 10, 0,
            0, 2,
        ];
        v.extend([0; 8]);
        let p = dissect(LinkType::Raw, &v);
        let ip = p.ip().unwrap();
        assert_eq!(
            (ip.id, ip.mf, ip.df, ip.frag_offset, ip.dscp),
            (0xabcd, true, false, 16, 2)
        );
        assert_eq!(p.transport, Transport::None);
    }

    #[test]
    fn ipv6_extension_chain_cut_short() {
        let frame: [u8; 49] = [
            0x6e, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xd1, 0xd1,
            0xd1, 0, 0, 0x47, 0x47, 0x47, 0x47, 0x47, 0x47, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0a,
            0x2f, 0, 0,
        ];
        let p = dissect(LinkType::Raw, &frame);
        assert!(p.ip().is_some_and(|ip| ip.version == 6));
    }

    #[test]
    fn ipv6_fragment_header_is_read() {
        // Next header 0 (hop-by-hop, 8 bytes) then 44 (fragment): offset 185*8, MF, id 0xabcdef01.
        let ext = [
            44, 0, 0, 0, 0, 0, 0, 0, 17, 0, 0x05, 0xc9, 0xab, 0xcd, 0xef, 0x01,
        ];
        assert_eq!(ipv6_fragment(0, &ext), Some((0xabcd_ef01, 1480, true)));
        assert_eq!(ipv6_fragment(0, &ext[..12]), None);
        assert_eq!(ipv6_fragment(6, &ext), None);
    }
}
