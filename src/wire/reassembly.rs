//! IP reassembly: the fragments of a datagram held until the one that completes it, which
//! then carries the whole datagram, as Wireshark shows the transport layer on that frame only.
//!
//! Contract: [`Reassembler::push`] takes every fragment in capture order and returns the
//! datagram it completes, rebuilt as an IPv4 or IPv6 header (the datagram's own addresses,
//! protocol, identification and TTL) followed by the payload, ready for [`dissect`] with
//! [`LinkType::Raw`]. At most [`MAX_GROUPS`] datagrams are held at once (the oldest dropped)
//! and none grows past [`MAX_DATAGRAM`] bytes; overlapping, repeated or out-of-range fragments
//! never panic (where fragments overlap, the later offset wins).
//!
//! [`dissect`]: fn@super::dissect
//! [`LinkType::Raw`]: super::LinkType::Raw

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::IpAddr;

use super::IpInfo;

/// Datagrams being reassembled at once; the oldest is dropped past this.
pub const MAX_GROUPS: usize = 256;
/// The largest datagram IPv4 can carry.
pub const MAX_DATAGRAM: usize = 65535;

/// Fragments of one datagram: source, destination, protocol, identification.
type Key = (IpAddr, IpAddr, u8, u32);

#[derive(Debug, Default)]
struct Group {
    /// Fragment data by byte offset.
    pieces: BTreeMap<u32, Vec<u8>>,
    /// Datagram payload length, known once the last fragment (MF clear) arrived.
    total: Option<usize>,
    bytes: usize,
    frames: u32,
}

/// A datagram completed by a fragment.
#[derive(Debug)]
pub struct Datagram {
    /// A rebuilt IP header and the whole payload.
    pub bytes: Vec<u8>,
    /// How many frames carried it.
    pub fragments: u32,
}

/// Holds fragments until their datagram is whole. See the module documentation.
#[derive(Debug, Default)]
pub struct Reassembler {
    groups: HashMap<Key, Group>,
    order: VecDeque<Key>,
}

impl Reassembler {
    /// Holds one fragment (`ip` its header, `data` the bytes after the IP headers); returns
    /// the datagram when this fragment completes it.
    pub fn push(&mut self, ip: &IpInfo, data: &[u8]) -> Option<Datagram> {
        let key = (ip.src, ip.dst, ip.proto, ip.id);
        if !self.groups.contains_key(&key) {
            if self.order.len() >= MAX_GROUPS {
                if let Some(old) = self.order.pop_front() {
                    self.groups.remove(&old);
                }
            }
            self.order.push_back(key);
        }
        let g = self.groups.entry(key).or_default();
        g.frames += 1;
        if g.bytes + data.len() > MAX_DATAGRAM {
            return None;
        }
        g.bytes += data.len();
        g.pieces.insert(ip.frag_offset, data.to_vec());
        if !ip.mf {
            g.total = Some(ip.frag_offset as usize + data.len());
        }
        let total = g.total?;
        let mut covered = 0usize;
        for (&off, piece) in &g.pieces {
            if off as usize > covered {
                return None;
            }
            covered = covered.max(off as usize + piece.len());
        }
        if covered < total {
            return None;
        }
        let g = self.groups.remove(&key)?;
        self.order.retain(|k| *k != key);
        let mut bytes = header(ip, total)?;
        let start = bytes.len();
        bytes.resize(start + total, 0);
        for (off, piece) in &g.pieces {
            // Overlapping or bogus fragments may reach past the end the last one set.
            let off = *off as usize;
            if off >= total {
                continue;
            }
            let n = piece.len().min(total - off);
            bytes[start + off..start + off + n].copy_from_slice(&piece[..n]);
        }
        Some(Datagram {
            bytes,
            fragments: g.frames,
        })
    }
}

/// The header of the reassembled datagram: `total` payload bytes, no fragmentation.
fn header(ip: &IpInfo, total: usize) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(40 + total);
    let proto = etherparse::IpNumber(ip.proto);
    match (ip.src, ip.dst) {
        (IpAddr::V4(src), IpAddr::V4(dst)) => {
            let mut h = etherparse::Ipv4Header::new(
                u16::try_from(total).ok()?,
                ip.ttl,
                proto,
                src.octets(),
                dst.octets(),
            )
            .ok()?;
            // The datagram's own identification, which the endpoint table reads.
            h.identification = ip.id as u16;
            h.write(&mut out).ok()?;
        }
        (IpAddr::V6(src), IpAddr::V6(dst)) => etherparse::Ipv6Header {
            payload_length: u16::try_from(total).ok()?,
            next_header: proto,
            hop_limit: ip.ttl,
            source: src.octets(),
            destination: dst.octets(),
            ..Default::default()
        }
        .write(&mut out)
        .ok()?,
        _ => return None,
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{LinkType, Transport, dissect};

    fn frag(off: u16, mf: bool, len: usize) -> Vec<u8> {
        let mut h = etherparse::Ipv4Header::new(
            len as u16,
            64,
            etherparse::IpNumber::UDP,
            [10, 0, 0, 1],
            [10, 0, 0, 2],
        )
        .unwrap();
        h.identification = 9;
        h.more_fragments = mf;
        h.fragment_offset = etherparse::IpFragOffset::try_new(off).unwrap();
        let mut v = Vec::new();
        h.write(&mut v).unwrap();
        v.extend(std::iter::repeat_n(7u8, len));
        v
    }

    fn push(r: &mut Reassembler, bytes: &[u8]) -> Option<Datagram> {
        let pkt = dissect(LinkType::Raw, bytes);
        let crate::wire::Net::Ip(ip) = &pkt.net else {
            panic!("not IP")
        };
        r.push(ip, &bytes[pkt.ip_payload.clone()])
    }

    #[test]
    fn the_fragment_that_completes_a_datagram_carries_it_whatever_the_order() {
        let mut first = frag(0, true, 16);
        // A UDP header saying 24 bytes in all.
        first[20..28].copy_from_slice(&[0, 53, 0, 99, 0, 24, 0, 0]);
        let mut r = Reassembler::default();
        assert!(push(&mut r, &frag(2, false, 8)).is_none());
        let d = push(&mut r, &first).expect("whole");
        assert_eq!(d.fragments, 2);
        let pkt = dissect(LinkType::Raw, &d.bytes);
        assert!(matches!(pkt.transport, Transport::Udp(ref u) if u.dst_port == 99));
        assert!(r.groups.is_empty() && r.order.is_empty());
    }

    #[test]
    fn overlapping_fragments_past_the_end_do_not_panic() {
        let mut r = Reassembler::default();
        // 40 bytes at 0, 8 at 24..32, then a "last" fragment ending at 16.
        assert!(push(&mut r, &frag(0, true, 40)).is_none());
        assert!(push(&mut r, &frag(3, true, 8)).is_none());
        let d = push(&mut r, &frag(1, false, 8)).expect("whole");
        assert_eq!(d.bytes.len(), 20 + 16);
    }

    #[test]
    fn the_oldest_datagram_is_dropped_past_the_limit() {
        let mut r = Reassembler::default();
        for id in 0..=MAX_GROUPS as u16 {
            let mut f = frag(0, true, 8);
            f[4..6].copy_from_slice(&id.to_be_bytes());
            // The checksum is not checked by the dissector.
            assert!(push(&mut r, &f).is_none());
        }
        assert_eq!(r.groups.len(), MAX_GROUPS);
        assert_eq!(r.order.len(), MAX_GROUPS);
    }
}
