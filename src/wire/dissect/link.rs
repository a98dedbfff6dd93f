//! The link layer: Ethernet II (with VLAN tags), Linux cooked capture v1 and v2, BSD
//! loopback and raw IP.
//!
//! Contract: [`slice`](fn@slice) peels the link header of one frame and hands the rest to etherparse, or
//! records in the packet why it could not; it never panics. etherparse knows Ethernet itself;
//! the cooked and loopback headers are fixed-size headers in front of an ether type, read here
//! at the offsets their specifications give (named below).

use std::fmt;

use etherparse::{EtherType, LaxSlicedPacket, LinkSlice};

use super::Packet;
use crate::wire::LinkType;

/// Linux cooked capture v1 (LINKTYPE_LINUX_SLL): a 16-byte header.
const SLL_LEN: usize = 16;
/// v1: packet type (2 bytes).
const SLL_PKTTYPE: usize = 0;
/// v1: link-layer address length (2 bytes).
const SLL_ADDR_LEN: usize = 4;
/// v1: link-layer address (up to 8 bytes; a MAC uses 6).
const SLL_ADDR: usize = 6;
/// v1: protocol, an ether type (2 bytes).
const SLL_PROTO: usize = 14;

/// Linux cooked capture v2 (LINKTYPE_LINUX_SLL2): a 20-byte header.
const SLL2_LEN: usize = 20;
/// v2: protocol, an ether type (2 bytes).
const SLL2_PROTO: usize = 0;
/// v2: interface index (4 bytes).
const SLL2_IFINDEX: usize = 4;
/// v2: packet type (1 byte).
const SLL2_PKTTYPE: usize = 10;
/// v2: link-layer address length (1 byte).
const SLL2_ADDR_LEN: usize = 11;
/// v2: link-layer address (up to 8 bytes; a MAC uses 6).
const SLL2_ADDR: usize = 12;

/// BSD loopback (DLT_NULL, DLT_LOOP): a 4-byte address family.
const LOOPBACK_LEN: usize = 4;

/// Length of a MAC address.
const MAC_LEN: usize = 6;

/// An Ethernet (MAC) address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Mac(pub [u8; 6]);

impl Mac {
    /// ff:ff:ff:ff:ff:ff.
    pub const BROADCAST: Mac = Mac([0xff; 6]);
    /// 00:00:00:00:00:00, the hardware address an ARP request does not know yet.
    pub const ZERO: Mac = Mac([0; 6]);

    pub(super) fn from_slice(b: &[u8]) -> Mac {
        let mut m = [0; 6];
        let n = b.len().min(6);
        m[..n].copy_from_slice(&b[..n]);
        Mac(m)
    }
}

impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            m[0], m[1], m[2], m[3], m[4], m[5]
        )
    }
}

/// The link layer of a frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Link {
    /// Nothing decodable (unknown link type or a frame too short).
    None,
    /// Ethernet II.
    Ethernet {
        /// Source address.
        src: Mac,
        /// Destination address.
        dst: Mac,
        /// VLAN id of the innermost tag, when tagged.
        vlan: Option<u16>,
    },
    /// Linux cooked capture (v1 or v2).
    Cooked {
        /// Packet type: 0 to us, 1 broadcast, 2 multicast, 3 to another host, 4 sent by us.
        pkttype: u16,
        /// Link-layer source address, when it is a MAC address.
        src: Option<Mac>,
        /// Interface index (v2 only).
        ifindex: Option<u32>,
    },
    /// Loopback pseudo-header or raw IP: no link addresses.
    Bare,
}

/// Peels the link header of `data`, filling [`Packet::link`], and slices what follows; `None`
/// when the frame cannot be read further ([`Packet::error`] then says why).
pub(super) fn slice<'a>(
    pkt: &mut Packet,
    linktype: LinkType,
    data: &'a [u8],
) -> Option<LaxSlicedPacket<'a>> {
    let be16 = |at: usize| u16::from_be_bytes([data[at], data[at + 1]]);
    // A frame shorter than its link type's fixed header ends the dissection here.
    let fixed = match linktype {
        LinkType::LinuxSll => Some((SLL_LEN, "linux cooked")),
        LinkType::LinuxSll2 => Some((SLL2_LEN, "linux cooked v2")),
        LinkType::Null | LinkType::Loop => Some((LOOPBACK_LEN, "loopback")),
        _ => None,
    };
    if let Some((len, name)) = fixed
        && data.len() < len
    {
        pkt.error = Some(format!("truncated {name} header ({} bytes)", data.len()));
        return None;
    }
    Some(match linktype {
        LinkType::Ethernet => match LaxSlicedPacket::from_ethernet(data) {
            Ok(s) => s,
            Err(_) => {
                pkt.error = Some(format!("truncated ethernet header ({} bytes)", data.len()));
                return None;
            }
        },
        LinkType::LinuxSll => {
            let addr_len = usize::from(be16(SLL_ADDR_LEN));
            pkt.link = Link::Cooked {
                pkttype: be16(SLL_PKTTYPE),
                src: (addr_len == MAC_LEN)
                    .then(|| Mac::from_slice(&data[SLL_ADDR..SLL_ADDR + MAC_LEN])),
                ifindex: None,
            };
            let proto = be16(SLL_PROTO);
            LaxSlicedPacket::from_ether_type(EtherType(proto), &data[SLL_LEN..])
        }
        LinkType::LinuxSll2 => {
            let addr_len = usize::from(data[SLL2_ADDR_LEN]);
            let i = SLL2_IFINDEX;
            pkt.link = Link::Cooked {
                pkttype: u16::from(data[SLL2_PKTTYPE]),
                src: (addr_len == MAC_LEN)
                    .then(|| Mac::from_slice(&data[SLL2_ADDR..SLL2_ADDR + MAC_LEN])),
                ifindex: Some(u32::from_be_bytes([
                    data[i],
                    data[i + 1],
                    data[i + 2],
                    data[i + 3],
                ])),
            };
            let proto = be16(SLL2_PROTO);
            LaxSlicedPacket::from_ether_type(EtherType(proto), &data[SLL2_LEN..])
        }
        LinkType::Null | LinkType::Loop => {
            pkt.link = Link::Bare;
            // The family is in the writer's byte order for DLT_NULL; whichever reading is
            // small is the right one.
            let be = u32::from_be_bytes([data[0], data[1], data[2], data[3]]);
            let le = u32::from_le_bytes([data[0], data[1], data[2], data[3]]);
            let family = be.min(le);
            let ether = match family {
                2 => etherparse::ether_type::IPV4,
                // AF_INET6 differs between BSDs: 24, 28 or 30.
                24 | 28 | 30 | 10 => etherparse::ether_type::IPV6,
                other => {
                    pkt.error = Some(format!("unknown loopback address family {other}"));
                    return None;
                }
            };
            LaxSlicedPacket::from_ether_type(ether, &data[LOOPBACK_LEN..])
        }
        LinkType::Raw | LinkType::Ipv4 | LinkType::Ipv6 => {
            pkt.link = Link::Bare;
            match LaxSlicedPacket::from_ip(data) {
                Ok(s) => s,
                Err(e) => {
                    pkt.error = Some(format!("bad ip header: {e}"));
                    return None;
                }
            }
        }
        LinkType::Other(v) => {
            pkt.error = Some(format!("link type {v} is not dissected"));
            return None;
        }
    })
}

/// Fills the Ethernet link fields from etherparse's slice, when the frame is Ethernet II.
pub(super) fn ethernet(pkt: &mut Packet, s: &LaxSlicedPacket<'_>) {
    if let Some(LinkSlice::Ethernet2(eth)) = &s.link {
        pkt.link = Link::Ethernet {
            src: Mac(eth.source()),
            dst: Mac(eth.destination()),
            vlan: if s.link_exts.is_empty() {
                None
            } else {
                s.vlan_ids().last().map(|v| v.value())
            },
        };
    }
}

#[cfg(test)]
mod tests {
    use etherparse::PacketBuilder;

    use super::super::{dissect, tests::udp_ip};
    use super::*;

    #[test]
    fn a_frame_shorter_than_its_link_header_says_which() {
        for (lt, len, name) in [
            (LinkType::LinuxSll, 15, "linux cooked"),
            (LinkType::LinuxSll2, 19, "linux cooked v2"),
            (LinkType::Null, 3, "loopback"),
            (LinkType::Ethernet, 13, "ethernet"),
        ] {
            let p = dissect(lt, &vec![0; len]);
            let want = format!("truncated {name} header ({len} bytes)");
            assert_eq!(p.error.as_deref(), Some(want.as_str()), "{lt}");
        }
    }

    #[test]
    fn cooked_v1_v2_null_and_raw_reach_udp() {
        let ip = udp_ip([10, 0, 0, 1], [10, 0, 0, 2], 5000, 161, b"probe");
        let mut sll = vec![0, 4, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, 0x08, 0x00];
        sll.extend(&ip);
        let mut sll2 = vec![
            0x08, 0x00, 0, 0, 0, 0, 0, 3, 0, 1, 4, 6, 2, 0, 0, 0, 0, 1, 0, 0,
        ];
        sll2.extend(&ip);
        let mut null = 2u32.to_le_bytes().to_vec();
        null.extend(&ip);
        for (lt, bytes) in [
            (LinkType::LinuxSll, &sll),
            (LinkType::LinuxSll2, &sll2),
            (LinkType::Null, &null),
            (LinkType::Raw, &ip),
        ] {
            let p = dissect(lt, bytes);
            let u = p.udp().unwrap_or_else(|| panic!("{lt}: {p:?}"));
            assert_eq!(
                (u.src_port, u.dst_port, u.payload_len),
                (5000, 161, 5),
                "{lt}"
            );
            assert_eq!(p.payload_of(bytes), b"probe", "{lt}");
        }
        let p = dissect(LinkType::LinuxSll2, &sll2);
        assert!(matches!(
            p.link,
            Link::Cooked {
                pkttype: 4,
                ifindex: Some(3),
                ..
            }
        ));
    }

    #[test]
    fn vlan_tag_is_read() {
        let mut v = Vec::new();
        PacketBuilder::ethernet2([1; 6], [2; 6])
            .single_vlan(etherparse::VlanId::try_new(42).unwrap())
            .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
            .udp(1, 2)
            .write(&mut v, b"x")
            .unwrap();
        let p = dissect(LinkType::Ethernet, &v);
        assert!(
            matches!(p.link, Link::Ethernet { vlan: Some(42), .. }),
            "{:?}",
            p.link
        );
        assert_eq!(p.udp().unwrap().payload_len, 1);
    }
}
