//! ARP over Ethernet and IPv4: who has this address, and the answer.
//!
//! Contract: [`net`] turns etherparse's ARP slice into the network layer of a packet: an
//! [`Arp`] for the Ethernet/IPv4 pairing, [`Net::Other`] for any other hardware or protocol
//! address sizes. It never panics: etherparse has checked the address lengths.

use std::net::Ipv4Addr;

use etherparse::ArpPacketSlice;

use super::Net;
use super::link::Mac;

/// An ARP packet (Ethernet/IPv4 only; other ARP is [`Net::Other`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Arp {
    /// 1 request, 2 reply.
    pub op: u16,
    /// Sender hardware address.
    pub sender_mac: Mac,
    /// Sender protocol address.
    pub sender_ip: Ipv4Addr,
    /// Target hardware address.
    pub target_mac: Mac,
    /// Target protocol address.
    pub target_ip: Ipv4Addr,
}

impl Arp {
    /// A gratuitous ARP announces the sender's own address: a request or a reply whose sender
    /// and target IP are equal (Wireshark's `arp.isgratuitous`).
    pub fn is_gratuitous(&self) -> bool {
        matches!(self.op, 1 | 2) && self.sender_ip == self.target_ip
    }

    /// An ARP announcement (RFC 5227): a gratuitous request that asks no hardware address
    /// (target MAC all zeros) (Wireshark's `arp.isannouncement`).
    pub fn is_announcement(&self) -> bool {
        self.op == 1 && self.is_gratuitous() && self.target_mac == Mac::ZERO
    }

    /// An ARP probe (RFC 5227): a request from 0.0.0.0 that asks no hardware address, made
    /// before an address is used to see whether anyone has it; an announcement is not a probe
    /// (Wireshark's `arp.isprobe`).
    pub fn is_probe(&self) -> bool {
        self.op == 1
            && self.sender_ip.is_unspecified()
            && self.target_mac == Mac::ZERO
            && !self.is_gratuitous()
    }
}

/// The network layer an ARP packet gives.
pub(super) fn net(arp: &ArpPacketSlice<'_>) -> Net {
    if arp.hw_addr_size() == 6 && arp.proto_addr_size() == 4 {
        let ip4 = |b: &[u8]| Ipv4Addr::new(b[0], b[1], b[2], b[3]);
        Net::Arp(Arp {
            op: arp.operation().0,
            sender_mac: Mac::from_slice(arp.sender_hw_addr()),
            sender_ip: ip4(arp.sender_protocol_addr()),
            target_mac: Mac::from_slice(arp.target_hw_addr()),
            target_ip: ip4(arp.target_protocol_addr()),
        })
    } else {
        Net::Other(etherparse::ether_type::ARP.0)
    }
}

#[cfg(test)]
mod tests {
    use super::super::dissect;
    use super::*;
    use crate::wire::LinkType;

    #[test]
    fn gratuitous_arp() {
        let mut v = vec![0xff; 6];
        v.extend([2, 0, 0, 0, 0, 1, 0x08, 0x06]);
        v.extend([0, 1, 0x08, 0, 6, 4, 0, 1]);
        v.extend([2, 0, 0, 0, 0, 1, 10, 0, 0, 1]);
        v.extend([0, 0, 0, 0, 0, 0, 10, 0, 0, 1]);
        let p = dissect(LinkType::Ethernet, &v);
        let Net::Arp(a) = &p.net else { panic!("{p:?}") };
        assert_eq!(a.op, 1);
        assert!(a.is_gratuitous());
    }
}
