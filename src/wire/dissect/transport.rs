//! The transport layer: TCP (flags and options) and UDP.
//!
//! Contract: [`tcp`] and [`udp`] record etherparse's transport slice as the transport layer of
//! a packet, with the captured payload as a range of the frame and the payload length on the
//! wire (which exceeds the captured part when the snapshot length cut the frame). TCP options
//! are kept raw (40 bytes at most) and decoded on demand by [`Tcp::options`]. Nothing here
//! panics.

use std::fmt;

use etherparse::{TcpOptionElement, TcpOptionsIterator, TcpSlice, UdpSlice};

use super::{Packet, Transport, offset_in};

/// The most option bytes a TCP header holds (a 60-byte header less the fixed 20).
const MAX_OPTIONS: usize = 40;
/// Byte of the TCP header whose low bit is the NS flag (the rest is the data offset).
const NS_BYTE: usize = 12;
/// Byte of the TCP header holding the flags FIN to CWR.
const FLAGS_BYTE: usize = 13;
/// Length of the UDP header.
const UDP_HEADER_LEN: u32 = 8;

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
    opts: [u8; MAX_OPTIONS],
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

/// Records a TCP segment; `wire_payload` is the IP payload's length on the wire.
pub(super) fn tcp(pkt: &mut Packet, data: &[u8], t: &TcpSlice<'_>, wire_payload: u32) {
    let hdr = t.header_slice();
    let opts = t.options();
    let mut raw = [0u8; MAX_OPTIONS];
    let n = opts.len().min(MAX_OPTIONS);
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
        flags: TcpFlags(u16::from(hdr[FLAGS_BYTE]) | (u16::from(hdr[NS_BYTE] & 1) << 8)),
        window: t.window_size(),
        header_len: header_len as u8,
        payload_len: wire_payload.saturating_sub(header_len),
        opts: raw,
        opts_len: n as u8,
    });
}

/// Records a UDP datagram; `wire_payload` is the IP payload's length on the wire.
pub(super) fn udp(pkt: &mut Packet, data: &[u8], u: &UdpSlice<'_>, wire_payload: u32) {
    let payload = u.payload();
    let start = offset_in(data, payload);
    pkt.payload = start..start + payload.len();
    let from_len = u32::from(u.length()).saturating_sub(UDP_HEADER_LEN);
    pkt.transport = Transport::Udp(Udp {
        src_port: u.source_port(),
        dst_port: u.destination_port(),
        payload_len: if u32::from(u.length()) >= UDP_HEADER_LEN {
            from_len
        } else {
            wire_payload.saturating_sub(UDP_HEADER_LEN)
        },
    });
}

#[cfg(test)]
mod tests {
    use etherparse::PacketBuilder;

    use super::super::dissect;
    use crate::wire::LinkType;

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
