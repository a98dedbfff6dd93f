//! IPv4 and IPv6 reassembly: the fragment that completes a datagram carries it into the
//! conversations, as Wireshark does ([`wire::reassembly`] holds the fragments).

use super::*;

impl Analyzer {
    /// Holds an IPv4 fragment; the one that completes its datagram carries the reassembled
    /// datagram into the conversations, as Wireshark does.
    pub(super) fn fragment(&mut self, frame: &FrameRef<'_>, ip: &wire::IpInfo, pkt: &Packet) {
        let data = frame.data.get(pkt.ip_payload.clone()).unwrap_or(&[]);
        let Some(g) = self.frags.push(ip, data) else {
            return;
        };
        let whole = g.bytes;
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
                c.fragments[d] += u64::from(g.fragments);
            }
        }
    }
}
