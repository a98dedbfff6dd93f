//! Dissection of one frame into an owned [`Packet`] summary.
//!
//! Contract: [`dissect`] accepts any bytes for any link type and returns what it could decode,
//! layer by layer; where decoding stopped early, [`Packet::error`] says why. It never panics.
//! Header fields are copied out (they are small); the transport payload is not: [`Packet::payload`]
//! is the range of the captured payload inside the frame, and [`Tcp::payload_len`] /
//! [`Udp::payload_len`] are the lengths on the wire, which exceed the captured part when the
//! snapshot length cut the frame.
//!
//! etherparse does the header work; link types it does not know (Linux cooked v2, BSD
//! loopback) are peeled here, since each is a fixed header in front of an ether type.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::ops::Range;

use etherparse::{
    EtherType, LaxIpSlice, LaxNetSlice, LaxSlicedPacket, LinkSlice, TcpOptionElement,
    TcpOptionsIterator, TransportSlice,
};

use super::LinkType;
use super::app::{self, App, Carrier};

/// An Ethernet (MAC) address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Mac(pub [u8; 6]);

impl Mac {
    /// ff:ff:ff:ff:ff:ff.
    pub const BROADCAST: Mac = Mac([0xff; 6]);

    fn from_slice(b: &[u8]) -> Mac {
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
    /// A gratuitous ARP announces the sender's own address: sender and target IP are equal
    /// (Wireshark's `arp.isgratuitous`).
    pub fn is_gratuitous(&self) -> bool {
        self.sender_ip == self.target_ip
    }
}

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
}

impl IpInfo {
    /// True for any fragment of a fragmented datagram.
    pub fn is_fragment(&self) -> bool {
        self.mf || self.frag_offset != 0
    }
}

/// TCP flag bits, as in the header (FIN = 0x01 ... CWR = 0x80, NS = 0x100).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct TcpFlags(pub u16);

impl TcpFlags {
    /// FIN.
    pub const FIN: u16 = 0x01;
    /// SYN.
    pub const SYN: u16 = 0x02;
    /// RST.
    pub const RST: u16 = 0x04;
    /// PSH.
    pub const PSH: u16 = 0x08;
    /// ACK.
    pub const ACK: u16 = 0x10;
    /// URG.
    pub const URG: u16 = 0x20;
    /// ECE.
    pub const ECE: u16 = 0x40;
    /// CWR.
    pub const CWR: u16 = 0x80;

    /// Whether all bits of `bits` are set.
    pub fn has(self, bits: u16) -> bool {
        self.0 & bits == bits
    }
    /// SYN set.
    pub fn syn(self) -> bool {
        self.has(Self::SYN)
    }
    /// ACK set.
    pub fn ack(self) -> bool {
        self.has(Self::ACK)
    }
    /// FIN set.
    pub fn fin(self) -> bool {
        self.has(Self::FIN)
    }
    /// RST set.
    pub fn rst(self) -> bool {
        self.has(Self::RST)
    }
    /// PSH set.
    pub fn psh(self) -> bool {
        self.has(Self::PSH)
    }
}

impl fmt::Display for TcpFlags {
    /// tcpdump's notation: S, F, R, P, U, E, W, and `.` for ACK.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::new();
        for (bit, c) in [
            (Self::SYN, 'S'),
            (Self::FIN, 'F'),
            (Self::RST, 'R'),
            (Self::PSH, 'P'),
            (Self::URG, 'U'),
            (Self::ECE, 'E'),
            (Self::CWR, 'W'),
            (Self::ACK, '.'),
        ] {
            if self.has(bit) {
                s.push(c);
            }
        }
        if s.is_empty() {
            s.push_str("none");
        }
        f.write_str(&s)
    }
}

/// A decoded TCP option.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TcpOption {
    /// No-operation padding.
    Nop,
    /// Maximum segment size.
    Mss(u16),
    /// Window scale shift.
    WindowScale(u8),
    /// SACK permitted.
    SackPermitted,
    /// SACK blocks (left, right edges).
    Sack(Vec<(u32, u32)>),
    /// Timestamps (value, echo reply).
    Timestamp(u32, u32),
    /// An option etherparse does not know, or a malformed option list from here on.
    Unknown(u8),
}

/// TCP header fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tcp {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Sequence number (absolute).
    pub seq: u32,
    /// Acknowledgement number (absolute).
    pub ack: u32,
    /// Flags.
    pub flags: TcpFlags,
    /// Window field (unscaled).
    pub window: u16,
    /// Header length in bytes.
    pub header_len: u8,
    /// Payload length on the wire.
    pub payload_len: u32,
    opts: [u8; 40],
    opts_len: u8,
}

impl Tcp {
    /// The options, decoded.
    pub fn options(&self) -> Vec<TcpOption> {
        let mut out = Vec::new();
        let raw = &self.opts[..usize::from(self.opts_len)];
        for opt in TcpOptionsIterator::from_slice(raw) {
            out.push(match opt {
                Ok(TcpOptionElement::Noop) => TcpOption::Nop,
                Ok(TcpOptionElement::MaximumSegmentSize(v)) => TcpOption::Mss(v),
                Ok(TcpOptionElement::WindowScale(v)) => TcpOption::WindowScale(v),
                Ok(TcpOptionElement::SelectiveAcknowledgementPermitted) => TcpOption::SackPermitted,
                Ok(TcpOptionElement::SelectiveAcknowledgement(first, rest)) => {
                    let mut blocks = vec![first];
                    blocks.extend(rest.iter().flatten());
                    TcpOption::Sack(blocks)
                }
                Ok(TcpOptionElement::Timestamp(v, e)) => TcpOption::Timestamp(v, e),
                Err(e) => {
                    let kind = match e {
                        etherparse::TcpOptionReadError::UnexpectedEndOfSlice {
                            option_id, ..
                        } => option_id,
                        etherparse::TcpOptionReadError::UnexpectedSize { option_id, .. } => {
                            option_id
                        }
                        etherparse::TcpOptionReadError::UnknownId(id) => id,
                    };
                    out.push(TcpOption::Unknown(kind));
                    break;
                }
            });
        }
        out
    }

    /// The MSS option, if present.
    pub fn mss(&self) -> Option<u16> {
        self.options().into_iter().find_map(|o| match o {
            TcpOption::Mss(v) => Some(v),
            _ => None,
        })
    }
}

/// UDP header fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Udp {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Payload length on the wire (from the UDP length field, else the IP length).
    pub payload_len: u32,
}

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
    let sliced = match linktype {
        LinkType::Ethernet => match LaxSlicedPacket::from_ethernet(data) {
            Ok(s) => s,
            Err(_) => {
                pkt.error = Some(format!("truncated ethernet header ({} bytes)", data.len()));
                return pkt;
            }
        },
        LinkType::LinuxSll => {
            if data.len() < 16 {
                pkt.error = Some(format!(
                    "truncated linux cooked header ({} bytes)",
                    data.len()
                ));
                return pkt;
            }
            let addr_len = usize::from(u16::from_be_bytes([data[4], data[5]]));
            pkt.link = Link::Cooked {
                pkttype: u16::from_be_bytes([data[0], data[1]]),
                src: (addr_len == 6).then(|| Mac::from_slice(&data[6..12])),
                ifindex: None,
            };
            let proto = u16::from_be_bytes([data[14], data[15]]);
            LaxSlicedPacket::from_ether_type(EtherType(proto), &data[16..])
        }
        LinkType::LinuxSll2 => {
            if data.len() < 20 {
                pkt.error = Some(format!(
                    "truncated linux cooked v2 header ({} bytes)",
                    data.len()
                ));
                return pkt;
            }
            let addr_len = usize::from(data[11]);
            pkt.link = Link::Cooked {
                pkttype: u16::from(data[10]),
                src: (addr_len == 6).then(|| Mac::from_slice(&data[12..18])),
                ifindex: Some(u32::from_be_bytes([data[4], data[5], data[6], data[7]])),
            };
            let proto = u16::from_be_bytes([data[0], data[1]]);
            LaxSlicedPacket::from_ether_type(EtherType(proto), &data[20..])
        }
        LinkType::Null | LinkType::Loop => {
            if data.len() < 4 {
                pkt.error = Some(format!("truncated loopback header ({} bytes)", data.len()));
                return pkt;
            }
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
                    return pkt;
                }
            };
            LaxSlicedPacket::from_ether_type(ether, &data[4..])
        }
        LinkType::Raw | LinkType::Ipv4 | LinkType::Ipv6 => {
            pkt.link = Link::Bare;
            match LaxSlicedPacket::from_ip(data) {
                Ok(s) => s,
                Err(e) => {
                    pkt.error = Some(format!("bad ip header: {e}"));
                    return pkt;
                }
            }
        }
        LinkType::Other(v) => {
            pkt.error = Some(format!("link type {v} is not dissected"));
            return pkt;
        }
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

fn fill(pkt: &mut Packet, s: &LaxSlicedPacket<'_>, data: &[u8]) {
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
        Some(LaxNetSlice::Arp(arp)) => {
            if arp.hw_addr_size() == 6 && arp.proto_addr_size() == 4 {
                let ip4 = |b: &[u8]| Ipv4Addr::new(b[0], b[1], b[2], b[3]);
                pkt.net = Net::Arp(Arp {
                    op: arp.operation().0,
                    sender_mac: Mac::from_slice(arp.sender_hw_addr()),
                    sender_ip: ip4(arp.sender_protocol_addr()),
                    target_mac: Mac::from_slice(arp.target_hw_addr()),
                    target_ip: ip4(arp.target_protocol_addr()),
                });
            } else {
                pkt.net = Net::Other(etherparse::ether_type::ARP.0);
            }
            return;
        }
        Some(LaxNetSlice::Ipv4(v4)) => {
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
            };
            (offset_in(data, hs), info)
        }
        Some(LaxNetSlice::Ipv6(v6)) => {
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
                len: 40 + u32::from(h.payload_length()),
            };
            let start = offset_in(data, hs);
            // The extension chain is walked here rather than with etherparse's iterator: fuzzing
            // showed that iterator reading past the end of a chain cut short by the capture.
            let after = data.get(start + 40..).unwrap_or(&[]);
            if let Some((id, offset, mf)) = ipv6_fragment(h.next_header().0, after) {
                info.id = id;
                info.frag_offset = offset;
                info.mf = mf;
            }
            (start, info)
        }
    };
    let ip_payload = match &s.net {
        Some(LaxNetSlice::Ipv4(v4)) => v4.payload().clone(),
        Some(LaxNetSlice::Ipv6(v6)) => v6.payload().clone(),
        _ => return,
    };
    // Length on the wire of the IP payload: the header's claim, not what was captured.
    let payload_start = offset_in(data, ip_payload.payload);
    let header_total = payload_start.saturating_sub(ip_start) as u32;
    let wire_payload = if ip.len == 40 && ip.version == 6 && !ip_payload.payload.is_empty() {
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
        Some(TransportSlice::Tcp(t)) => {
            let hdr = t.header_slice();
            let opts = t.options();
            let mut raw = [0u8; 40];
            let n = opts.len().min(40);
            raw[..n].copy_from_slice(&opts[..n]);
            let header_len = hdr.len() as u32;
            let payload = t.payload();
            let start = offset_in(data, payload);
            pkt.payload = start..start + payload.len();
            pkt.transport = Transport::Tcp(Tcp {
                src_port: t.source_port(),
                dst_port: t.destination_port(),
                seq: t.sequence_number(),
                ack: t.acknowledgment_number(),
                flags: TcpFlags(u16::from(hdr[13]) | (u16::from(hdr[12] & 1) << 8)),
                window: t.window_size(),
                header_len: header_len as u8,
                payload_len: wire_payload.saturating_sub(header_len),
                opts: raw,
                opts_len: n as u8,
            });
        }
        Some(TransportSlice::Udp(u)) => {
            let payload = u.payload();
            let start = offset_in(data, payload);
            pkt.payload = start..start + payload.len();
            let from_len = u32::from(u.length()).saturating_sub(8);
            pkt.transport = Transport::Udp(Udp {
                src_port: u.source_port(),
                dst_port: u.destination_port(),
                payload_len: if u.length() >= 8 {
                    from_len
                } else {
                    wire_payload.saturating_sub(8)
                },
            });
        }
        Some(TransportSlice::Icmpv4(i)) => {
            let header = (i.type_u8(), i.code_u8(), i.bytes5to8());
            icmp_transport(pkt, data, false, header, i.payload());
        }
        Some(TransportSlice::Icmpv6(i)) => {
            let header = (i.type_u8(), i.code_u8(), i.bytes5to8());
            icmp_transport(pkt, data, true, header, i.payload());
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

/// Finds the fragment header in an IPv6 extension chain: (identification, byte offset, more
/// fragments). Every length is checked against the bytes present.
fn ipv6_fragment(mut next: u8, mut rest: &[u8]) -> Option<(u32, u32, bool)> {
    // At most a handful of extension headers precede the fragment header in real traffic.
    for _ in 0..8 {
        match next {
            44 => {
                let f = rest.get(..8)?;
                let off_flags = u16::from_be_bytes([f[2], f[3]]);
                let id = u32::from_be_bytes([f[4], f[5], f[6], f[7]]);
                return Some((id, u32::from(off_flags & 0xfff8), off_flags & 1 == 1));
            }
            // Hop-by-hop, routing and destination options: length in 8-byte units beyond the
            // first 8; the authentication header counts 4-byte units beyond the first 8.
            0 | 43 | 60 | 51 => {
                let h = rest.get(..2)?;
                let len = if next == 51 {
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

/// Decodes the datagram an ICMP error quotes: its IP header and the first bytes after it,
/// which hold the ports (and, for TCP, the sequence number).
/// An ICMP or ICMPv6 message: its header (type, code, bytes 5 to 8), its payload, and for an
/// error the datagram it quotes.
fn icmp_transport(
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
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::PacketBuilder;

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

    #[test]
    fn snaplen_cut_keeps_the_wire_length() {
        let b = PacketBuilder::ethernet2([1; 6], [2; 6])
            .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
            .tcp(1, 2, 100, 1000)
            .ack(5)
            .psh();
        let mut v = Vec::new();
        b.write(&mut v, &[b'x'; 1000]).unwrap();
        let p = dissect(LinkType::Ethernet, &v[..96]);
        let t = p.tcp().unwrap();
        assert_eq!(t.payload_len, 1000);
        assert_eq!(p.payload.len(), 96 - 54);
    }

    #[test]
    fn ethernet_padding_is_not_payload() {
        let b = PacketBuilder::ethernet2([1; 6], [2; 6])
            .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
            .tcp(1, 2, 100, 1000)
            .ack(5);
        let mut v = Vec::new();
        b.write(&mut v, &[]).unwrap();
        v.extend([0; 6]);
        let p = dissect(LinkType::Ethernet, &v);
        assert_eq!(p.tcp().unwrap().payload_len, 0);
        assert!(p.payload_of(&v).is_empty());
    }

    fn udp_ip(src: [u8; 4], dst: [u8; 4], sp: u16, dp: u16, payload: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        PacketBuilder::ipv4(src, dst, 64)
            .udp(sp, dp)
            .write(&mut v, payload)
            .unwrap();
        v
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

    /// Found by the dissect fuzz target: an IPv6 packet whose extension chain is cut short
    /// made etherparse's extension iterator read out of bounds.
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

    #[test]
    fn ipv6_tcp() {
        let mut v = Vec::new();
        PacketBuilder::ipv6(
            [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
            [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2],
            61,
        )
        .tcp(1234, 80, 5, 100)
        .syn()
        .write(&mut v, &[])
        .unwrap();
        let p = dissect(LinkType::Ipv6, &v);
        assert_eq!(p.ip().unwrap().ttl, 61);
        assert_eq!(p.ip().unwrap().version, 6);
        assert!(p.tcp().unwrap().flags.syn());
    }
}
