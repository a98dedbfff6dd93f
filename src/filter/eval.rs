//! Evaluating a parsed filter on one frame.
//!
//! Contract: [`eval`] answers an [`Expr`] for one dissected frame and its [`Facts`], with
//! Wireshark 4.0's meaning: a field may have several values in one frame (`ip.addr` has the
//! source and the destination, and an ICMP error adds the addresses of the datagram it
//! quotes); `==`, `>`, `contains`, `matches` and `in` hold when some value does; `!=` holds
//! when the field is present and no value is equal; a comparison on an absent field is false.
//! Values are produced one at a time into a callback, so evaluation allocates nothing except
//! for DNS resource records, which are decoded only when a filter asks for them.
//!
//! Fragments: as in Wireshark, a frame holding a fragment of an IP datagram shows its own IP
//! header and no transport layer, except the fragment that completes the datagram, which
//! shows the reassembled datagram's transport and application layers ([`Frame::up`]).

use std::net::IpAddr;

use crate::wire::{App, AppProto, Dns, FrameRef, IpInfo, Link, LinkType, Net, Packet, Tcp, Udp};

use super::fields::{DNS_RCODES, DNS_TYPES, Field, Proto};
use super::parse::{Bytes, Cmp, Expr, Lit, Member};
pub(crate) use super::quoted::quoted;
use super::state::{Facts, HttpHead, HttpPdu};

/// One frame as the evaluator sees it.
pub(crate) struct Frame<'a> {
    pub frame: &'a FrameRef<'a>,
    pub pkt: &'a Packet,
    pub facts: &'a Facts,
    /// For the fragment that completes a datagram: the reassembled datagram, dissected, and
    /// its bytes.
    pub up: Option<(&'a Packet, &'a [u8])>,
    /// The HTTP head this frame completes, gathered from several segments.
    pub http_head: Option<&'a HttpHead>,
}

impl<'a> Frame<'a> {
    /// The packet whose transport and application layers the frame shows, and its bytes:
    /// the reassembled datagram on the fragment that completes one, else the frame itself.
    pub(crate) fn upper(&self) -> (&'a Packet, &'a [u8]) {
        self.up.unwrap_or((self.pkt, self.frame.data))
    }

    /// The HTTP head's lines as HTTP reads this frame: its own, none for a part of a head
    /// still incomplete, the gathered head on the segment that completes it.
    fn http_lines(&self) -> &'a [String] {
        match self.facts.http {
            HttpPdu::Own => lines(self.upper().0, AppProto::Http),
            HttpPdu::Part => &[],
            HttpPdu::Whole => self.http_head.map_or(&[], |h| h.lines.as_slice()),
        }
    }
}

/// One value of a field.
#[derive(Clone, Copy, Debug)]
pub(crate) enum V<'a> {
    U(u64),
    T(f64),
    A(IpAddr),
    M([u8; 6]),
    S(&'a str),
    B(&'a [u8]),
}

/// Answers `e` for one frame.
pub(crate) fn eval(e: &Expr, f: &Frame<'_>) -> bool {
    match e {
        Expr::Or(a, b) => eval(a, f) || eval(b, f),
        Expr::And(a, b) => eval(a, f) && eval(b, f),
        Expr::Not(a) => !eval(a, f),
        Expr::Proto(p) => has_proto(*p, f),
        Expr::Exists(field) => each(*field, f, &mut |_| true),
        Expr::Cmp(field, Cmp::Ne, lit) => {
            let mut seen = false;
            let any = each(*field, f, &mut |v| {
                seen = true;
                equal(v, lit)
            });
            seen && !any
        }
        Expr::Cmp(field, Cmp::AnyNe, lit) => each(*field, f, &mut |v| !equal(v, lit)),
        Expr::Cmp(field, Cmp::Eq, lit) => each(*field, f, &mut |v| equal(v, lit)),
        Expr::Cmp(field, op, lit) => each(*field, f, &mut |v| {
            order(v, lit).is_some_and(|o| match op {
                Cmp::Gt => o.is_gt(),
                Cmp::Ge => o.is_ge(),
                Cmp::Lt => o.is_lt(),
                _ => o.is_le(),
            })
        }),
        Expr::In(field, set) => each(*field, f, &mut |v| {
            set.iter().any(|m| match m {
                Member::One(l) => equal(v, l),
                Member::Range(lo, hi) => {
                    order(v, lo).is_some_and(|o| o.is_ge())
                        && order(v, hi).is_some_and(|o| o.is_le())
                }
            })
        }),
        // As in tshark, an empty string or byte sequence is contained nowhere.
        Expr::Contains(field, needle) => {
            !needle.is_empty()
                && each(
                    *field,
                    f,
                    &mut |v| matches!(v, V::S(s) if s.contains(needle.as_str())),
                )
        }
        Expr::Matches(field, re) => {
            each(*field, f, &mut |v| matches!(v, V::S(s) if re.is_match(s)))
        }
        Expr::BytesContains(what, needle) => {
            !needle.is_empty()
                && bytes(*what, f, &mut |b| {
                    b.windows(needle.len()).any(|w| w == needle.as_slice())
                })
        }
        Expr::BytesMatches(what, re) => bytes(*what, f, &mut |b| re.is_match(b)),
    }
}

/// Calls `k` with each instance of `what`'s bytes in the frame until it returns true.
fn bytes(what: Bytes, f: &Frame<'_>, k: &mut dyn FnMut(&[u8]) -> bool) -> bool {
    let p = match what {
        Bytes::Field(field) => return each(field, f, &mut |v| matches!(v, V::B(b) if k(b))),
        Bytes::Proto(p) => p,
    };
    if !has_proto(p, f) {
        return false;
    }
    let (pkt, data) = (f.pkt, f.frame.data);
    let (lp, ld) = f.upper();
    // The IP header's start, and the end of the datagram in this frame (padding left out).
    let datagram = || {
        let start = net_offset(f)?;
        let end = ip(pkt).map_or(data.len(), |_| pkt.ip_payload.end);
        data.get(start..end.max(start))
    };
    // A transport header and what follows it; an ICMP error's quoted one too.
    let transport = || match ld.get(lp.ip_payload.clone()) {
        Some(b) if !b.is_empty() && (tcp(lp).is_some() || udp(lp).is_some()) => Some(b),
        _ => quoted(lp, ld).map(|q| q.rest),
    };
    let slice = match p {
        Proto::Frame | Proto::Eth => Some(data),
        Proto::Arp => net_offset(f).and_then(|o| data.get(o..)),
        Proto::Ip | Proto::Ipv6 => datagram(),
        Proto::Tcp | Proto::Udp => transport(),
        Proto::Icmp | Proto::Icmpv6 => ld.get(lp.ip_payload.clone()),
        Proto::Http if f.facts.http == HttpPdu::Whole => f.http_head.map(|h| h.bytes.as_slice()),
        Proto::Dns | Proto::Ftp | Proto::FtpData | Proto::Http | Proto::Smtp | Proto::Dhcp => {
            Some(lp.payload_of(ld))
        }
    };
    slice.is_some_and(k)
}

fn equal(v: V<'_>, lit: &Lit) -> bool {
    match (v, lit) {
        (V::U(a), Lit::Uint(b)) => a == *b,
        (V::T(a), Lit::Time(b)) => a == *b,
        (V::A(a), Lit::Net(n, p)) => in_net(a, *n, *p),
        (V::M(a), Lit::Mac(b)) => a == *b,
        (V::S(a), Lit::Str(b)) => a == b,
        (V::B(a), Lit::Bytes(b)) => a == b.as_slice(),
        _ => false,
    }
}

fn order(v: V<'_>, lit: &Lit) -> Option<std::cmp::Ordering> {
    match (v, lit) {
        (V::U(a), Lit::Uint(b)) => Some(a.cmp(b)),
        (V::T(a), Lit::Time(b)) => a.partial_cmp(b),
        (V::A(IpAddr::V4(a)), Lit::Net(IpAddr::V4(b), _)) => Some(a.cmp(b)),
        (V::A(IpAddr::V6(a)), Lit::Net(IpAddr::V6(b), _)) => Some(a.cmp(b)),
        _ => None,
    }
}

fn in_net(a: IpAddr, net: IpAddr, prefix: u8) -> bool {
    match (a, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

/// The frame's IP header, if any.
pub(crate) fn ip(pkt: &Packet) -> Option<&IpInfo> {
    match &pkt.net {
        Net::Ip(ip) => Some(ip),
        _ => None,
    }
}

fn whole(pkt: &Packet) -> bool {
    ip(pkt).is_some_and(|i| !i.is_fragment())
}

/// The frame's TCP header, unless the frame holds a fragment.
pub(crate) fn tcp(pkt: &Packet) -> Option<&Tcp> {
    pkt.tcp().filter(|_| whole(pkt))
}

/// The frame's UDP header, unless the frame holds a fragment.
pub(crate) fn udp(pkt: &Packet) -> Option<&Udp> {
    pkt.udp().filter(|_| whole(pkt))
}

pub(crate) fn icmp(pkt: &Packet) -> Option<&crate::wire::Icmp> {
    pkt.icmp().filter(|_| whole(pkt))
}

pub(crate) fn smtp_port(p: u16) -> bool {
    p == 25 || p == 587
}

fn lines(pkt: &Packet, want: AppProto) -> &[String] {
    match &pkt.app {
        Some(App::Lines { proto, lines }) if *proto == want => lines,
        _ => &[],
    }
}

fn dns(pkt: &Packet) -> Option<&Dns> {
    match &pkt.app {
        Some(App::Dns(d)) => Some(d),
        _ => None,
    }
}

fn dhcp(pkt: &Packet) -> Option<&crate::wire::dhcp::Message> {
    match &pkt.app {
        Some(App::Dhcp(m)) => Some(m),
        _ => None,
    }
}

/// An untagged Ethernet frame of EtherType 0x0800: Wireshark's IPv4 dissector claims it
/// whatever its datagram holds (a bogus version nibble, a header length below 20, an IPv6
/// header it hands on to the IPv6 dissector), so `ip` matches it as in tshark.
fn ipv4_ethertype(f: &Frame<'_>) -> bool {
    matches!(f.pkt.link, Link::Ethernet { vlan: None, .. })
        && f.frame.data.get(12..14) == Some(&[0x08, 0x00][..])
}

fn has_proto(p: Proto, f: &Frame<'_>) -> bool {
    let pkt = f.pkt;
    let (lp, ld) = f.upper();
    let tcp_payload = tcp(lp).filter(|t| t.payload_len > 0);
    let q = || quoted(lp, ld);
    match p {
        Proto::Frame => true,
        Proto::Eth => matches!(pkt.link, Link::Ethernet { .. }),
        Proto::Arp => matches!(pkt.net, Net::Arp(_)),
        Proto::Ip => ip(pkt).is_some_and(|i| i.version == 4) || ipv4_ethertype(f),
        Proto::Ipv6 => ip(pkt).is_some_and(|i| i.version == 6),
        Proto::Icmp => icmp(lp).is_some_and(|i| !i.v6),
        Proto::Icmpv6 => icmp(lp).is_some_and(|i| i.v6),
        Proto::Tcp => tcp(lp).is_some() || q().is_some_and(|q| q.proto == 6 && q.ports.is_some()),
        Proto::Udp => udp(lp).is_some() || q().is_some_and(|q| q.proto == 17 && q.ports.is_some()),
        Proto::Dns => dns(lp).is_some(),
        Proto::Ftp => tcp_payload.is_some_and(|t| t.src_port == 21 || t.dst_port == 21),
        Proto::FtpData => f.facts.ftp_data,
        Proto::Http => !f.http_lines().is_empty(),
        Proto::Smtp => tcp_payload.is_some_and(|t| smtp_port(t.src_port) || smtp_port(t.dst_port)),
        Proto::Dhcp => udp(lp).is_some_and(|u| {
            u.payload_len > 0 && matches!((u.src_port, u.dst_port), (67 | 68, 67 | 68))
        }),
    }
}

/// Where the network header starts in the frame, for the few fields `wire` does not keep.
fn net_offset(f: &Frame<'_>) -> Option<usize> {
    let d = f.frame.data;
    match f.frame.linktype {
        LinkType::Ethernet => {
            let mut off = 12;
            while matches!(d.get(off..off + 2), Some([0x81, 0x00] | [0x88, 0xa8])) {
                off += 4;
            }
            Some(off + 2)
        }
        LinkType::LinuxSll => Some(16),
        LinkType::LinuxSll2 => Some(20),
        LinkType::Null | LinkType::Loop => Some(4),
        LinkType::Raw | LinkType::Ipv4 | LinkType::Ipv6 => Some(0),
        LinkType::Other(_) => None,
    }
}

fn be16(b: &[u8], at: usize) -> Option<u64> {
    b.get(at..at + 2)
        .map(|x| u64::from(u16::from_be_bytes([x[0], x[1]])))
}

/// Calls `k` with each value of `field` in the frame until it returns true; returns whether
/// it did.
pub(crate) fn each(field: Field, f: &Frame<'_>, k: &mut dyn FnMut(V<'_>) -> bool) -> bool {
    use Field as F;
    let pkt = f.pkt;
    let data = f.frame.data;
    let (lp, ld) = f.upper();
    let ip4 = ip(pkt).filter(|i| i.version == 4);
    let ip6 = ip(pkt).filter(|i| i.version == 6);
    let q = quoted(lp, ld);
    let q4 = q.filter(|q| !q.v6);
    let q6 = q.filter(|q| q.v6);
    let qtcp = q.filter(|q| q.proto == 6 && q.ports.is_some());
    let qudp = q.filter(|q| q.proto == 17 && q.ports.is_some());
    let t = tcp(lp);
    let u = udp(lp);
    // The transport payload, when some of it was captured.
    let payload = || Some(lp.payload_of(ld)).filter(|b| !b.is_empty());
    let mac = |m: crate::wire::Mac| V::M(m.0);
    let arp = match &pkt.net {
        Net::Arp(a) => Some(a),
        _ => None,
    };
    let eth = match pkt.link {
        Link::Ethernet { src, dst, .. } => Some((src, dst)),
        _ => None,
    };
    // Two values at most for most fields: the frame's own and the quoted datagram's.
    let two = |k: &mut dyn FnMut(V<'_>) -> bool, a: Option<V<'_>>, b: Option<V<'_>>| {
        a.is_some_and(&mut *k) || b.is_some_and(&mut *k)
    };
    let qflags = |bit: u8| {
        qtcp.and_then(|q| q.rest.get(13))
            .map(|b| V::U(u64::from(b & bit != 0)))
    };
    let flag = |bit: u16| t.map(|t| V::U(u64::from(t.flags.has(bit))));
    match field {
        F::FrameNumber => k(V::U(f.frame.number)),
        F::FrameLen => k(V::U(u64::from(f.frame.orig_len))),
        F::FrameTimeRelative => k(V::T(f.facts.time_rel)),
        F::FrameTimeDelta => k(V::T(f.facts.time_delta)),
        F::EthSrc => eth.is_some_and(|(s, _)| k(mac(s))),
        F::EthDst => eth.is_some_and(|(_, d)| k(mac(d))),
        F::EthAddr => eth.is_some_and(|(s, d)| k(mac(s)) || k(mac(d))),
        F::EthType => eth.is_some() && be16(data, 12).is_some_and(|v| k(V::U(v))),
        F::ArpOpcode => arp.is_some_and(|a| k(V::U(u64::from(a.op)))),
        F::ArpSrcIp => arp.is_some_and(|a| k(V::A(IpAddr::V4(a.sender_ip)))),
        F::ArpDstIp => arp.is_some_and(|a| k(V::A(IpAddr::V4(a.target_ip)))),
        F::ArpSrcMac => arp.is_some_and(|a| k(mac(a.sender_mac))),
        F::ArpDstMac => arp.is_some_and(|a| k(mac(a.target_mac))),
        // As in tshark, these are present only when true.
        F::ArpIsGratuitous => arp.is_some_and(|a| a.is_gratuitous() && k(V::U(1))),
        F::ArpIsProbe => arp.is_some_and(|a| a.is_probe() && k(V::U(1))),
        F::ArpIsAnnouncement => arp.is_some_and(|a| a.is_announcement() && k(V::U(1))),
        F::IpSrc => two(k, ip4.map(|i| V::A(i.src)), q4.map(|q| V::A(q.src))),
        F::IpDst => two(k, ip4.map(|i| V::A(i.dst)), q4.map(|q| V::A(q.dst))),
        F::IpAddr => {
            two(k, ip4.map(|i| V::A(i.src)), ip4.map(|i| V::A(i.dst)))
                || two(k, q4.map(|q| V::A(q.src)), q4.map(|q| V::A(q.dst)))
        }
        F::IpTtl => two(
            k,
            ip4.map(|i| V::U(i.ttl.into())),
            q4.map(|q| V::U(q.ttl.into())),
        ),
        F::IpId => two(
            k,
            ip4.map(|i| V::U(i.id.into())),
            q4.map(|q| V::U(q.id.into())),
        ),
        F::IpProto => two(
            k,
            ip4.map(|i| V::U(i.proto.into())),
            q4.map(|q| V::U(q.proto.into())),
        ),
        F::IpLen => two(
            k,
            ip4.map(|i| V::U(i.len.into())),
            q4.map(|q| V::U(q.len.into())),
        ),
        F::IpVersion => {
            // The IPv6 dissector sets `ip.version` too; a datagram the IPv4 dissector claims
            // by its EtherType shows its version nibble, whatever it is.
            let claimed = ip4.is_none() && ipv4_ethertype(f);
            let nibble = claimed
                .then(|| data.get(net_offset(f)?).map(|b| u64::from(b >> 4)))
                .flatten();
            two(k, ip4.map(|_| V::U(4)), nibble.map(V::U))
                || two(k, ip6.map(|_| V::U(6)), q4.map(|_| V::U(4)))
        }
        F::IpDf => two(
            k,
            ip4.map(|i| V::U(i.df.into())),
            q4.map(|q| V::U(u64::from(q.flags_frag & 0x4000 != 0))),
        ),
        F::IpMf => two(
            k,
            ip4.map(|i| V::U(i.mf.into())),
            q4.map(|q| V::U(u64::from(q.flags_frag & 0x2000 != 0))),
        ),
        F::IpFragOffset => two(
            k,
            // Wireshark 4.0 shows the offset in 8-byte units, as the header holds it.
            ip4.map(|i| V::U(u64::from(i.frag_offset / 8))),
            q4.map(|q| V::U(u64::from(q.flags_frag & 0x1fff))),
        ),
        F::IpDscp => two(
            k,
            ip4.map(|i| V::U(i.dscp.into())),
            q4.map(|q| V::U(q.dscp.into())),
        ),
        F::Ip6Src => two(k, ip6.map(|i| V::A(i.src)), q6.map(|q| V::A(q.src))),
        F::Ip6Dst => two(k, ip6.map(|i| V::A(i.dst)), q6.map(|q| V::A(q.dst))),
        F::Ip6Addr => {
            two(k, ip6.map(|i| V::A(i.src)), ip6.map(|i| V::A(i.dst)))
                || two(k, q6.map(|q| V::A(q.src)), q6.map(|q| V::A(q.dst)))
        }
        F::Ip6Hlim => two(
            k,
            ip6.map(|i| V::U(i.ttl.into())),
            q6.map(|q| V::U(q.ttl.into())),
        ),
        F::Ip6Flow | F::Ip6Nxt => {
            let own = ip6.and_then(|_| {
                let h = data.get(net_offset(f)?..)?;
                Some(if field == F::Ip6Flow {
                    u64::from(u32::from_be_bytes([
                        0,
                        h.get(1)? & 0x0f,
                        *h.get(2)?,
                        *h.get(3)?,
                    ]))
                } else {
                    u64::from(*h.get(6)?)
                })
            });
            let inner = q6.map(|q| {
                if field == F::Ip6Flow {
                    q.flow
                } else {
                    u32::from(q.proto)
                }
            });
            two(k, own.map(V::U), inner.map(|v| V::U(v.into())))
        }
        F::IcmpType | F::IcmpCode | F::Icmp6Type | F::Icmp6Code => {
            let v6 = matches!(field, F::Icmp6Type | F::Icmp6Code);
            let code = matches!(field, F::IcmpCode | F::Icmp6Code);
            let own = icmp(lp)
                .filter(|i| i.v6 == v6)
                .map(|i| if code { i.code } else { i.icmp_type });
            let inner_proto = if v6 { 58 } else { 1 };
            let inner = q
                .filter(|q| q.proto == inner_proto)
                .and_then(|q| q.rest.get(usize::from(code)).copied());
            two(
                k,
                own.map(|v| V::U(v.into())),
                inner.map(|v| V::U(v.into())),
            )
        }
        F::TcpSrcPort | F::TcpDstPort | F::TcpPort | F::UdpSrcPort | F::UdpDstPort | F::UdpPort => {
            // The frame's own ports, and those of the datagram an ICMP error quotes.
            let tcp = matches!(field, F::TcpSrcPort | F::TcpDstPort | F::TcpPort);
            let own = if tcp {
                t.map(|t| (t.src_port, t.dst_port))
            } else {
                u.map(|u| (u.src_port, u.dst_port))
            };
            let quoted = if tcp { qtcp } else { qudp }.and_then(|q| q.ports);
            let src = |p: Option<(u16, u16)>| p.map(|p| V::U(p.0.into()));
            let dst = |p: Option<(u16, u16)>| p.map(|p| V::U(p.1.into()));
            match field {
                F::TcpSrcPort | F::UdpSrcPort => two(k, src(own), src(quoted)),
                F::TcpDstPort | F::UdpDstPort => two(k, dst(own), dst(quoted)),
                _ => two(k, src(own), dst(own)) || two(k, src(quoted), dst(quoted)),
            }
        }
        F::TcpSyn => two(k, flag(crate::wire::TcpFlags::SYN), qflags(0x02)),
        F::TcpAck => two(k, flag(crate::wire::TcpFlags::ACK), qflags(0x10)),
        F::TcpFin => two(k, flag(crate::wire::TcpFlags::FIN), qflags(0x01)),
        F::TcpReset => two(k, flag(crate::wire::TcpFlags::RST), qflags(0x04)),
        F::TcpPush => two(k, flag(crate::wire::TcpFlags::PSH), qflags(0x08)),
        F::TcpUrg => two(k, flag(crate::wire::TcpFlags::URG), qflags(0x20)),
        // The quoted segment is not analysed: its numbers are raw, as Wireshark shows them.
        F::TcpSeq => two(
            k,
            t.map(|_| V::U(f.facts.tcp_seq.into())),
            qtcp.and_then(|q| q.rest.get(4..8))
                .map(|b| V::U(u64::from(u32::from_be_bytes([b[0], b[1], b[2], b[3]])))),
        ),
        F::TcpAckNum => two(
            k,
            t.map(|_| V::U(f.facts.tcp_ack.into())),
            qtcp.and_then(|q| q.rest.get(8..12))
                .map(|b| V::U(u64::from(u32::from_be_bytes([b[0], b[1], b[2], b[3]])))),
        ),
        F::TcpLen => t.is_some_and(|t| k(V::U(t.payload_len.into()))),
        F::TcpStream => two(
            k,
            t.and(f.facts.tcp_stream).map(V::U),
            qtcp.and(f.facts.quoted_stream).map(V::U),
        ),
        F::TcpWindowSize => two(
            k,
            t.map(|_| V::U(f.facts.tcp_window)),
            qtcp.and_then(|q| be16(q.rest, 14)).map(V::U),
        ),
        F::TcpRetransmission => t.is_some() && f.facts.retransmission && k(V::U(1)),
        F::TcpPayload => t.is_some() && payload().is_some_and(|b| k(V::B(b))),
        F::UdpLength => two(
            k,
            u.map(|u| V::U(u64::from(u.payload_len) + 8)),
            qudp.and_then(|q| be16(q.rest, 4)).map(V::U),
        ),
        F::UdpStream => two(
            k,
            u.and(f.facts.udp_stream).map(V::U),
            qudp.and(f.facts.quoted_stream).map(V::U),
        ),
        // An ICMP error's quoted datagram has its UDP payload too.
        F::UdpPayload => {
            u.is_some() && payload().is_some_and(|b| k(V::B(b)))
                || qudp
                    .and_then(|q| q.rest.get(8..))
                    .is_some_and(|b| !b.is_empty() && k(V::B(b)))
        }
        F::DnsId => dns(lp).is_some_and(|d| k(V::U(d.id.into()))),
        F::DnsQryName => {
            dns(lp).is_some_and(|d| d.questions.iter().any(|q| k(V::S(dns_name(&q.name)))))
        }
        F::DnsQryType => dns(lp).is_some_and(|d| {
            d.questions.iter().any(|q| {
                let n = DNS_TYPES
                    .iter()
                    .find(|(n, _)| *n == q.qtype)
                    .map(|(_, v)| *v);
                let n = n.or_else(|| {
                    q.qtype
                        .strip_prefix("Unknown(")
                        .and_then(|s| s.trim_end_matches(')').parse().ok())
                });
                n.is_some_and(|n| k(V::U(n)))
            })
        }),
        F::DnsResponse => dns(lp).is_some_and(|d| k(V::U(d.response.into()))),
        F::DnsRcode => dns(lp).is_some_and(|d| {
            d.response
                && DNS_RCODES
                    .iter()
                    .find(|(n, _)| *n == d.rcode)
                    .is_some_and(|(_, v)| k(V::U(*v)))
        }),
        F::DnsA | F::DnsRespName => dns(lp).is_some() && dns_records(field, lp, ld, k),
        F::FtpCommand | F::FtpArg => {
            let to_server = t.is_some_and(|t| t.dst_port == 21);
            let first = lines(lp, AppProto::Ftp).first().filter(|_| to_server);
            first.is_some_and(|l| {
                let (cmd, arg) = l.split_once(' ').unwrap_or((l, ""));
                if field == F::FtpCommand {
                    k(V::S(cmd))
                } else {
                    l.contains(' ') && k(V::S(arg))
                }
            })
        }
        F::FtpCode => {
            let from_server = t.is_some_and(|t| t.src_port == 21);
            let first = lines(lp, AppProto::Ftp).first().filter(|_| from_server);
            first
                .and_then(|l| reply_code(l))
                .is_some_and(|c| k(V::U(c)))
        }
        // As in tshark, present only when true.
        F::HttpRequest | F::HttpResponse => f
            .http_lines()
            .first()
            .is_some_and(|l| l.starts_with("HTTP/") == (field == F::HttpResponse) && k(V::U(1))),
        F::HttpMethod | F::HttpUri | F::HttpCode => {
            let first = f.http_lines().first();
            first.is_some_and(|l| {
                let mut words = l.split(' ');
                let a = words.next().unwrap_or("");
                let b = words.next();
                let is_response = a.starts_with("HTTP/");
                match field {
                    F::HttpCode => {
                        is_response && b.and_then(|c| c.parse().ok()).is_some_and(|c| k(V::U(c)))
                    }
                    F::HttpMethod => !is_response && k(V::S(a)),
                    _ => !is_response && b.is_some_and(|u| k(V::S(u))),
                }
            })
        }
        F::HttpHost | F::HttpUserAgent => {
            let name = if field == F::HttpHost {
                "host"
            } else {
                "user-agent"
            };
            f.http_lines().iter().skip(1).any(|l| {
                l.split_once(':')
                    .is_some_and(|(h, v)| h.eq_ignore_ascii_case(name) && k(V::S(v.trim())))
            })
        }
        F::SmtpCommand => {
            let to_server = t.is_some_and(|t| smtp_port(t.dst_port));
            to_server
                && !f.facts.smtp_body
                && lines(lp, AppProto::Smtp).iter().any(|l| {
                    let cmd = l.split(' ').next().unwrap_or("");
                    !cmd.is_empty() && k(V::S(cmd))
                })
        }
        F::DhcpType
        | F::DhcpId
        | F::DhcpBroadcast
        | F::DhcpClientIp
        | F::DhcpYourIp
        | F::DhcpRelayIp
        | F::DhcpMac
        | F::DhcpRequestedIp
        | F::DhcpServerId
        | F::DhcpRouter
        | F::DhcpLease
        | F::DhcpHostName
        | F::DhcpRequestItem => dhcp(lp).is_some_and(|m| dhcp_field(field, m, k)),
        F::SmtpCode => {
            let from_server = t.is_some_and(|t| smtp_port(t.src_port));
            from_server
                && lines(lp, AppProto::Smtp)
                    .iter()
                    .any(|l| reply_code(l).is_some_and(|c| k(V::U(c))))
        }
    }
}

/// The values of one DHCP field.
fn dhcp_field(
    field: Field,
    m: &crate::wire::dhcp::Message,
    k: &mut dyn FnMut(V<'_>) -> bool,
) -> bool {
    use crate::wire::dhcp::code;
    use Field as F;
    let addr = |a: std::net::Ipv4Addr| V::A(IpAddr::V4(a));
    let opt_addr =
        |c: u8, k: &mut dyn FnMut(V<'_>) -> bool| m.addrs(c).into_iter().any(|a| k(addr(a)));
    match field {
        F::DhcpType => m
            .option(code::MESSAGE_TYPE)
            .and_then(|d| d.first())
            .is_some_and(|&t| k(V::U(t.into()))),
        F::DhcpId => k(V::U(m.xid.into())),
        F::DhcpBroadcast => k(V::U(m.broadcast().into())),
        F::DhcpClientIp => k(addr(m.ciaddr)),
        F::DhcpYourIp => k(addr(m.yiaddr)),
        F::DhcpRelayIp => k(addr(m.giaddr)),
        // Wireshark shows the hardware address as a MAC only for Ethernet-sized ones.
        F::DhcpMac => m.htype == 1 && m.hlen == 6 && k(V::M(m.mac())),
        F::DhcpRequestedIp => opt_addr(code::REQUESTED_IP, k),
        F::DhcpServerId => opt_addr(code::SERVER_ID, k),
        F::DhcpRouter => opt_addr(code::ROUTER, k),
        F::DhcpLease => m.u32(code::LEASE_TIME).is_some_and(|n| k(V::U(n.into()))),
        F::DhcpHostName => m
            .option(code::HOST_NAME)
            .and_then(|d| std::str::from_utf8(d).ok())
            .is_some_and(|s| k(V::S(s.trim_end_matches('\0')))),
        _ => m.requested().iter().any(|&c| k(V::U(c.into()))),
    }
}

/// A reply's three-digit code.
fn reply_code(line: &str) -> Option<u64> {
    let code = line.get(..3)?;
    if !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if line.len() > 3 && !matches!(line.as_bytes()[3], b' ' | b'-') {
        return None;
    }
    code.parse().ok()
}

/// A DNS name as Wireshark shows it: no trailing dot, the root as `<Root>`.
fn dns_name(name: &str) -> &str {
    match name.strip_suffix('.').unwrap_or(name) {
        "" => "<Root>",
        n => n,
    }
}

/// `dns.a` and `dns.resp.name` over every resource record of the message (answers,
/// authority, additional, and the EDNS record, whose owner is the root).
fn dns_records(field: Field, pkt: &Packet, data: &[u8], k: &mut dyn FnMut(V<'_>) -> bool) -> bool {
    use hickory_proto::rr::RData;
    let mut bytes = pkt.payload_of(data);
    if tcp(pkt).is_some() {
        bytes = bytes.get(2..).unwrap_or(&[]);
    }
    let Ok(msg) = hickory_proto::op::Message::from_vec(bytes) else {
        return false;
    };
    let records = msg
        .answers
        .iter()
        .chain(&msg.authorities)
        .chain(&msg.additionals);
    for r in records {
        let hit = if field == Field::DnsA {
            matches!(&r.data, RData::A(a) if k(V::A(IpAddr::V4(a.0))))
        } else {
            let name = r.name.to_string();
            k(V::S(dns_name(&name)))
        };
        if hit {
            return true;
        }
    }
    field == Field::DnsRespName && msg.edns.is_some() && k(V::S("<Root>"))
}
