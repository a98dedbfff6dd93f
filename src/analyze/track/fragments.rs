//! IPv4 and IPv6 reassembly: fragments are held by datagram (source, destination, protocol,
//! identification) and the one that completes a datagram carries it into the conversations,
//! as Wireshark does.
//!
//! Contract: at most [`MAX_FRAG_GROUPS`] datagrams are held at once (the oldest dropped) and
//! none grows past [`MAX_DATAGRAM`] bytes; overlapping or out-of-range fragments never panic.

use super::*;

/// Fragments of one IPv4 datagram: source, destination, protocol, identification.
pub(super) type FragKey = (IpAddr, IpAddr, u8, u32);

/// Datagrams being reassembled at once; the oldest is dropped past this.
pub(super) const MAX_FRAG_GROUPS: usize = 256;
/// The largest datagram IPv4 can carry.
pub(super) const MAX_DATAGRAM: usize = 65535;

#[derive(Debug, Default)]
pub(super) struct FragGroup {
    /// Fragment data by byte offset.
    pieces: BTreeMap<u32, Vec<u8>>,
    /// Datagram payload length, known once the last fragment (MF clear) arrived.
    total: Option<usize>,
    bytes: usize,
    frames: u32,
}

impl Analyzer {
    /// Holds an IPv4 fragment; the one that completes its datagram carries the reassembled
    /// datagram into the conversations, as Wireshark does.
    pub(super) fn fragment(&mut self, frame: &FrameRef<'_>, ip: &wire::IpInfo, pkt: &Packet) {
        let data = frame.data.get(pkt.ip_payload.clone()).unwrap_or(&[]);
        let key = (ip.src, ip.dst, ip.proto, ip.id);
        if !self.frags.contains_key(&key) {
            if self.frag_order.len() >= MAX_FRAG_GROUPS {
                if let Some(old) = self.frag_order.pop_front() {
                    self.frags.remove(&old);
                }
            }
            self.frag_order.push_back(key);
        }
        let g = self.frags.entry(key).or_default();
        g.frames += 1;
        if g.bytes + data.len() > MAX_DATAGRAM {
            return;
        }
        g.bytes += data.len();
        g.pieces.insert(ip.frag_offset, data.to_vec());
        if !ip.mf {
            g.total = Some(ip.frag_offset as usize + data.len());
        }
        let Some(total) = g.total else { return };
        let mut covered = 0usize;
        for (&off, piece) in &g.pieces {
            if off as usize > covered {
                return;
            }
            covered = covered.max(off as usize + piece.len());
        }
        if covered < total {
            return;
        }
        let Some(g) = self.frags.remove(&key) else {
            return;
        };
        self.frag_order.retain(|k| *k != key);
        let mut datagram = vec![0u8; total];
        for (off, piece) in &g.pieces {
            // Overlapping or bogus fragments may reach past the end the last one set.
            let off = *off as usize;
            if off >= total {
                continue;
            }
            let n = piece.len().min(total - off);
            datagram[off..off + n].copy_from_slice(&piece[..n]);
        }
        let mut whole = Vec::with_capacity(40 + total);
        let written = match (ip.src, ip.dst) {
            (IpAddr::V4(src), IpAddr::V4(dst)) => etherparse::Ipv4Header::new(
                total as u16,
                ip.ttl,
                etherparse::IpNumber(ip.proto),
                src.octets(),
                dst.octets(),
            )
            .is_ok_and(|mut h| {
                // The datagram's own identification, which the endpoint table reads.
                h.identification = ip.id as u16;
                h.write(&mut whole).is_ok()
            }),
            (IpAddr::V6(src), IpAddr::V6(dst)) => u16::try_from(total).is_ok_and(|len| {
                etherparse::Ipv6Header {
                    payload_length: len,
                    next_header: etherparse::IpNumber(ip.proto),
                    hop_limit: ip.ttl,
                    source: src.octets(),
                    destination: dst.octets(),
                    ..Default::default()
                }
                .write(&mut whole)
                .is_ok()
            }),
            _ => false,
        };
        if !written {
            return;
        }
        whole.extend_from_slice(&datagram);
        let re = wire::dissect(wire::LinkType::Raw, &whole);
        let Net::Ip(rip) = &re.net else { return };
        let payload = re.payload_of(&whole);
        let ports = match &re.transport {
            Transport::Tcp(t) => {
                self.tcp(frame, rip, t, payload, &re);
                Some((t.src_port, Proto::Tcp))
            }
            Transport::Udp(u) => {
                self.udp(frame, rip, u, payload, &re);
                Some((u.src_port, Proto::Udp))
            }
            Transport::Icmp(i) => {
                self.icmp(frame, rip, i);
                None
            }
            Transport::None => None,
        };
        if let (Some((sport, proto)), Some((_, i))) = (ports, self.last_conv) {
            let c = &mut self.out.conversations[i];
            if c.proto == proto {
                let d = usize::from(
                    c.initiator
                        != Addr {
                            ip: ip.src,
                            port: sport,
                        },
                );
                c.fragments[d] += u64::from(g.frames);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::fixture::*;

    #[test]
    fn overlapping_fragments_past_the_end_do_not_panic() {
        let mut w = Wire::new();
        let frag = |off: u16, mf: bool, len: usize| {
            let mut h = etherparse::Ipv4Header::new(
                len as u16,
                64,
                etherparse::IpNumber::UDP,
                CLIENT,
                SERVER,
            )
            .unwrap();
            h.identification = 9;
            h.more_fragments = mf;
            h.fragment_offset = etherparse::IpFragOffset::try_new(off).unwrap();
            let mut v = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 8, 0];
            h.write(&mut v).unwrap();
            v.extend(std::iter::repeat_n(7u8, len));
            v
        };
        // 40 bytes at 0, one at 24..32, then a "last" fragment ending at 16.
        w.push(frag(0, true, 40));
        w.push(frag(3, true, 8));
        w.push(frag(1, false, 8));
        let a = w.analyze();
        assert_eq!(a.endpoints.len(), 2);
    }
}
