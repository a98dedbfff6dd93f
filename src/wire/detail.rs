//! Every header field of one frame with its byte range, as Wireshark's packet details pane
//! (`tshark -V`, `tshark -T pdml`) lists them: what `labctl show --detail N` prints.
//!
//! Contract: [`layers`] reads one frame's bytes into [`Layer`]s (Ethernet, ARP, IPv4, IPv6,
//! ICMP, ICMPv6, TCP, UDP), each with its header's byte range and its [`Field`]s. A field is
//! named as Wireshark names it (`ip.ttl`, `tcp.seq_raw`) and its value is written as
//! Wireshark's `show` attribute writes it (decimal counts, `0x`-prefixed hex for type codes,
//! flags, ids and checksums, colon-separated bytes for options and payloads), at the same
//! offset and length, so each can be compared with tshark's field for field. A layer stops at
//! the first field its bytes do not hold. IP fragments are not reassembled: a fragment's
//! transport header is not read (Wireshark reads it from the reassembled datagram, with
//! other offsets). Link headers other than Ethernet (loopback, Linux cooked) are skipped
//! without fields.
//!
//! Invariants: pure; no input makes it panic (every read is bounds-checked).

use std::net::{Ipv4Addr, Ipv6Addr};

use super::LinkType;

/// One field of a header.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Field {
    /// Wireshark's field name (`ip.src`).
    pub name: &'static str,
    /// What it is, in words (`Source Address`).
    pub title: &'static str,
    /// The value as Wireshark shows it (`10.0.0.1`, `0x0800`, `64`).
    pub value: String,
    /// Byte offset in the frame.
    pub offset: usize,
    /// Length in bytes.
    pub length: usize,
}

/// One protocol's header in the frame.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Layer {
    /// Wireshark's protocol name (`eth`, `ip`, `tcp`).
    pub proto: &'static str,
    /// Its name in words.
    pub title: &'static str,
    /// Byte offset of the header in the frame.
    pub offset: usize,
    /// Length of the header in bytes (the payload is a field of it).
    pub length: usize,
    pub fields: Vec<Field>,
}

/// Reads the fields of a header at `base`, stopping at the first one the bytes do not hold.
struct Reader<'a> {
    data: &'a [u8],
    /// End of the bytes this header may read (IP's total length cuts Ethernet padding off).
    end: usize,
    base: usize,
    fields: Vec<Field>,
}

impl<'a> Reader<'a> {
    fn new(data: &'a [u8], base: usize, end: usize) -> Reader<'a> {
        Reader {
            data,
            end: end.min(data.len()),
            base,
            fields: Vec::new(),
        }
    }

    fn bytes(&self, at: usize, len: usize) -> Option<&'a [u8]> {
        let start = self.base.checked_add(at)?;
        let stop = start.checked_add(len)?;
        (stop <= self.end).then(|| &self.data[start..stop])
    }

    fn u8(&self, at: usize) -> Option<u8> {
        self.bytes(at, 1).map(|b| b[0])
    }

    fn u16(&self, at: usize) -> Option<u16> {
        self.bytes(at, 2).map(|b| u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&self, at: usize) -> Option<u32> {
        self.bytes(at, 4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Adds a field of `len` bytes at `at` whose value `show` renders; `None` when the bytes
    /// are not there.
    fn field(
        &mut self,
        name: &'static str,
        title: &'static str,
        at: usize,
        len: usize,
        value: String,
    ) -> Option<()> {
        self.bytes(at, len)?;
        self.fields.push(Field {
            name,
            title,
            value,
            offset: self.base + at,
            length: len,
        });
        Some(())
    }

    fn dec8(&mut self, name: &'static str, title: &'static str, at: usize) -> Option<u8> {
        let v = self.u8(at)?;
        self.field(name, title, at, 1, v.to_string())?;
        Some(v)
    }

    fn dec16(&mut self, name: &'static str, title: &'static str, at: usize) -> Option<u16> {
        let v = self.u16(at)?;
        self.field(name, title, at, 2, v.to_string())?;
        Some(v)
    }

    fn hex16(&mut self, name: &'static str, title: &'static str, at: usize) -> Option<u16> {
        let v = self.u16(at)?;
        self.field(name, title, at, 2, format!("0x{v:04x}"))?;
        Some(v)
    }

    fn mac(&mut self, name: &'static str, title: &'static str, at: usize) -> Option<()> {
        let b = self.bytes(at, 6)?;
        self.field(name, title, at, 6, colon_hex(b))
    }

    fn ipv4(&mut self, name: &'static str, title: &'static str, at: usize) -> Option<()> {
        let b = self.bytes(at, 4)?;
        let addr = Ipv4Addr::new(b[0], b[1], b[2], b[3]);
        self.field(name, title, at, 4, addr.to_string())
    }

    fn ipv6(&mut self, name: &'static str, title: &'static str, at: usize) -> Option<()> {
        let b: [u8; 16] = self.bytes(at, 16)?.try_into().ok()?;
        self.field(name, title, at, 16, Ipv6Addr::from(b).to_string())
    }

    /// Bytes from `at` to the end, as colons between hex pairs (nothing when there are none).
    fn rest(&mut self, name: &'static str, title: &'static str, at: usize) -> Option<()> {
        let start = self.base + at;
        if start >= self.end {
            return None;
        }
        let b = &self.data[start..self.end];
        self.field(name, title, at, b.len(), colon_hex(b))
    }

    fn layer(self, proto: &'static str, title: &'static str, length: usize) -> Layer {
        Layer {
            proto,
            title,
            offset: self.base,
            length: length.min(self.data.len().saturating_sub(self.base)),
            fields: self.fields,
        }
    }
}

fn colon_hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            s.push(':');
        }
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// What comes after a header: a protocol at an offset, and where its bytes end.
enum Next {
    Ether(u16, usize),
    Ip(u8, usize, usize),
    Stop,
}

/// The layers of one frame. See the module documentation.
pub fn layers(linktype: LinkType, data: &[u8]) -> Vec<Layer> {
    let mut out = Vec::new();
    let mut next = match linktype {
        LinkType::Ethernet => {
            let (layer, next) = ethernet(data);
            out.push(layer);
            next
        }
        LinkType::Raw => match data.first().map(|b| b >> 4) {
            Some(4) => Next::Ether(0x0800, 0),
            Some(6) => Next::Ether(0x86dd, 0),
            _ => Next::Stop,
        },
        LinkType::Ipv4 => Next::Ether(0x0800, 0),
        LinkType::Ipv6 => Next::Ether(0x86dd, 0),
        LinkType::LinuxSll => match Reader::new(data, 0, data.len()).u16(14) {
            Some(t) => Next::Ether(t, 16),
            None => Next::Stop,
        },
        LinkType::LinuxSll2 => match Reader::new(data, 0, data.len()).u16(0) {
            Some(t) => Next::Ether(t, 20),
            None => Next::Stop,
        },
        LinkType::Null | LinkType::Loop => match data.get(4).map(|b| b >> 4) {
            Some(4) => Next::Ether(0x0800, 4),
            Some(6) => Next::Ether(0x86dd, 4),
            _ => Next::Stop,
        },
        LinkType::Other(_) => Next::Stop,
    };
    loop {
        let (layer, after) = match next {
            Next::Ether(0x0806, at) => (arp(data, at), Next::Stop),
            Next::Ether(0x0800, at) => ipv4(data, at),
            Next::Ether(0x86dd, at) => ipv6(data, at),
            Next::Ip(6, at, end) => (tcp(data, at, end), Next::Stop),
            Next::Ip(17, at, end) => (udp(data, at, end), Next::Stop),
            Next::Ip(1, at, end) => (icmp(data, at, end, false), Next::Stop),
            Next::Ip(58, at, end) => (icmp(data, at, end, true), Next::Stop),
            _ => break,
        };
        out.push(layer);
        next = after;
    }
    out
}

fn ethernet(data: &[u8]) -> (Layer, Next) {
    let mut r = Reader::new(data, 0, data.len());
    let ty = (|| {
        r.mac("eth.dst", "Destination", 0)?;
        r.mac("eth.src", "Source", 6)?;
        r.hex16("eth.type", "Type", 12)
    })();
    let next = ty.map_or(Next::Stop, |t| Next::Ether(t, 14));
    (r.layer("eth", "Ethernet II", 14), next)
}

fn arp(data: &[u8], at: usize) -> Layer {
    let mut r = Reader::new(data, at, data.len());
    let _ = (|| {
        r.dec16("arp.hw.type", "Hardware type", 0)?;
        let ptype = r.hex16("arp.proto.type", "Protocol type", 2)?;
        let hlen = r.dec8("arp.hw.size", "Hardware size", 4)?;
        let plen = r.dec8("arp.proto.size", "Protocol size", 5)?;
        r.dec16("arp.opcode", "Opcode", 6)?;
        // Addresses of other sizes are not Ethernet's and IPv4's: Wireshark shows them as
        // bytes under other names.
        if hlen != 6 || plen != 4 || ptype != 0x0800 {
            return None;
        }
        r.mac("arp.src.hw_mac", "Sender MAC address", 8)?;
        r.ipv4("arp.src.proto_ipv4", "Sender IP address", 14)?;
        r.mac("arp.dst.hw_mac", "Target MAC address", 18)?;
        r.ipv4("arp.dst.proto_ipv4", "Target IP address", 24)
    })();
    r.layer("arp", "Address Resolution Protocol", 28)
}

fn ipv4(data: &[u8], at: usize) -> (Layer, Next) {
    let mut r = Reader::new(data, at, data.len());
    let mut hlen = 20;
    let next = (|| {
        let b0 = r.u8(0)?;
        r.field("ip.version", "Version", 0, 1, (b0 >> 4).to_string())?;
        hlen = usize::from(b0 & 0x0f) * 4;
        r.field("ip.hdr_len", "Header Length", 0, 1, hlen.to_string())?;
        let ds = r.u8(1)?;
        r.field(
            "ip.dsfield",
            "Differentiated Services Field",
            1,
            1,
            format!("0x{ds:02x}"),
        )?;
        let total = r.dec16("ip.len", "Total Length", 2)?;
        r.hex16("ip.id", "Identification", 4)?;
        let frag = r.u16(6)?;
        r.field("ip.flags", "Flags", 6, 1, format!("0x{:02x}", frag >> 13))?;
        r.field(
            "ip.frag_offset",
            "Fragment Offset",
            6,
            2,
            (frag & 0x1fff).to_string(),
        )?;
        r.dec8("ip.ttl", "Time to Live", 8)?;
        let proto = r.dec8("ip.proto", "Protocol", 9)?;
        r.hex16("ip.checksum", "Header Checksum", 10)?;
        r.ipv4("ip.src", "Source Address", 12)?;
        r.ipv4("ip.dst", "Destination Address", 16)?;
        // A fragment's transport header is read by Wireshark from the reassembled datagram.
        let fragment = frag & 0x3fff != 0;
        (hlen >= 20 && !fragment).then_some(Next::Ip(
            proto,
            at + hlen,
            at + usize::from(total).max(hlen),
        ))
    })()
    .unwrap_or(Next::Stop);
    (r.layer("ip", "Internet Protocol Version 4", hlen), next)
}

fn ipv6(data: &[u8], at: usize) -> (Layer, Next) {
    let mut r = Reader::new(data, at, data.len());
    let next = (|| {
        let word = r.u32(0)?;
        r.field("ipv6.version", "Version", 0, 1, (word >> 28).to_string())?;
        r.field(
            "ipv6.tclass",
            "Traffic Class",
            0,
            4,
            format!("0x{:08x}", (word >> 20) & 0xff),
        )?;
        r.field(
            "ipv6.flow",
            "Flow Label",
            1,
            3,
            format!("0x{:06x}", word & 0xfffff),
        )?;
        let plen = r.dec16("ipv6.plen", "Payload Length", 4)?;
        let nxt = r.dec8("ipv6.nxt", "Next Header", 6)?;
        r.dec8("ipv6.hlim", "Hop Limit", 7)?;
        r.ipv6("ipv6.src", "Source Address", 8)?;
        r.ipv6("ipv6.dst", "Destination Address", 24)?;
        Some(Next::Ip(nxt, at + 40, at + 40 + usize::from(plen)))
    })()
    .unwrap_or(Next::Stop);
    (r.layer("ipv6", "Internet Protocol Version 6", 40), next)
}

fn tcp(data: &[u8], at: usize, end: usize) -> Layer {
    let mut r = Reader::new(data, at, end);
    let mut hlen = 20;
    let _ = (|| {
        r.dec16("tcp.srcport", "Source Port", 0)?;
        r.dec16("tcp.dstport", "Destination Port", 2)?;
        let seq = r.u32(4)?;
        r.field(
            "tcp.seq_raw",
            "Sequence Number (raw)",
            4,
            4,
            seq.to_string(),
        )?;
        let ack = r.u32(8)?;
        r.field(
            "tcp.ack_raw",
            "Acknowledgment number (raw)",
            8,
            4,
            ack.to_string(),
        )?;
        let off = r.u16(12)?;
        hlen = usize::from(off >> 12) * 4;
        r.field("tcp.hdr_len", "Header Length", 12, 1, hlen.to_string())?;
        r.field(
            "tcp.flags",
            "Flags",
            12,
            2,
            format!("0x{:04x}", off & 0x0fff),
        )?;
        r.dec16("tcp.window_size_value", "Window", 14)?;
        r.hex16("tcp.checksum", "Checksum", 16)?;
        r.dec16("tcp.urgent_pointer", "Urgent Pointer", 18)?;
        if hlen > 20 {
            let options = r.bytes(20, hlen - 20)?;
            r.field("tcp.options", "Options", 20, hlen - 20, colon_hex(options))?;
        }
        if hlen >= 20 {
            r.rest("tcp.payload", "TCP payload", hlen)?;
        }
        Some(())
    })();
    r.layer("tcp", "Transmission Control Protocol", hlen)
}

fn udp(data: &[u8], at: usize, end: usize) -> Layer {
    let mut r = Reader::new(data, at, end);
    let _ = (|| {
        r.dec16("udp.srcport", "Source Port", 0)?;
        r.dec16("udp.dstport", "Destination Port", 2)?;
        r.dec16("udp.length", "Length", 4)?;
        r.hex16("udp.checksum", "Checksum", 6)?;
        r.rest("udp.payload", "UDP payload", 8)
    })();
    r.layer("udp", "User Datagram Protocol", 8)
}

fn icmp(data: &[u8], at: usize, end: usize, v6: bool) -> Layer {
    let mut r = Reader::new(data, at, end);
    let (names, echo, proto, title) = if v6 {
        (
            [
                "icmpv6.type",
                "icmpv6.code",
                "icmpv6.checksum",
                "icmpv6.echo.identifier",
                "icmpv6.echo.sequence_number",
            ],
            [128, 129],
            "icmpv6",
            "Internet Control Message Protocol v6",
        )
    } else {
        (
            [
                "icmp.type",
                "icmp.code",
                "icmp.checksum",
                "icmp.ident",
                "icmp.seq",
            ],
            [8, 0],
            "icmp",
            "Internet Control Message Protocol",
        )
    };
    let _ = (|| {
        let ty = r.dec8(names[0], "Type", 0)?;
        r.dec8(names[1], "Code", 1)?;
        r.hex16(names[2], "Checksum", 2)?;
        if echo.contains(&ty) {
            // Wireshark shows ICMPv6's identifier in hex and ICMP's in decimal.
            if v6 {
                r.hex16(names[3], "Identifier", 4)?;
            } else {
                r.dec16(names[3], "Identifier", 4)?;
            }
            r.dec16(names[4], "Sequence Number", 6)?;
        }
        Some(())
    })();
    r.layer(proto, title, 8)
}

/// The frame's bytes as `tshark -x` prints them: 16 bytes a line, offset, hex, printable ASCII.
pub fn hex_dump(data: &[u8]) -> Vec<String> {
    data.chunks(16)
        .enumerate()
        .map(|(i, chunk)| {
            let hex: Vec<String> = chunk.iter().map(|b| format!("{b:02x}")).collect();
            let ascii: String = chunk
                .iter()
                .map(|&b| {
                    if (0x20..0x7f).contains(&b) {
                        b as char
                    } else {
                        '.'
                    }
                })
                .collect();
            format!("{:04x}  {:<47}   {ascii}", i * 16, hex.join(" "))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An Ethernet frame with a TCP SYN from 10.0.0.1:36272 to 10.0.0.2:27664, with options.
    const SYN: &str = "72206ae3f91d72ca728141dc08004500003c215d40004006055d0a0000010a0000028db06c1007f0ac4e00000000a002faf014310000020405b40402080a818e468c000000000103030a";

    fn bytes(hex: &str) -> Vec<u8> {
        (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect()
    }

    fn field<'a>(layers: &'a [Layer], name: &str) -> &'a Field {
        layers
            .iter()
            .flat_map(|l| &l.fields)
            .find(|f| f.name == name)
            .unwrap_or_else(|| panic!("no {name}"))
    }

    #[test]
    fn a_syn_reads_as_wireshark_shows_it() {
        let layers = layers(LinkType::Ethernet, &bytes(SYN));
        let protos: Vec<(&str, usize, usize)> = layers
            .iter()
            .map(|l| (l.proto, l.offset, l.length))
            .collect();
        assert_eq!(protos, [("eth", 0, 14), ("ip", 14, 20), ("tcp", 34, 40)]);
        let f = field(&layers, "ip.flags");
        assert_eq!((f.value.as_str(), f.offset, f.length), ("0x02", 20, 1));
        let f = field(&layers, "tcp.flags");
        assert_eq!((f.value.as_str(), f.offset, f.length), ("0x0002", 46, 2));
        let f = field(&layers, "tcp.seq_raw");
        assert_eq!((f.value.as_str(), f.offset), ("133213262", 38));
        assert_eq!(field(&layers, "eth.type").value, "0x0800");
        assert_eq!(field(&layers, "ip.id").value, "0x215d");
        assert_eq!(field(&layers, "tcp.options").length, 20);
        assert!(layers[2].fields.iter().all(|f| f.name != "tcp.payload"));
    }

    #[test]
    fn truncated_frames_stop_at_the_first_missing_field() {
        let full = bytes(SYN);
        for cut in 0..full.len() {
            let layers = layers(LinkType::Ethernet, &full[..cut]);
            for f in layers.iter().flat_map(|l| &l.fields) {
                assert!(f.offset + f.length <= cut, "{f:?} past {cut}");
            }
        }
        for lt in [
            LinkType::Raw,
            LinkType::LinuxSll,
            LinkType::LinuxSll2,
            LinkType::Null,
        ] {
            for cut in 0..full.len() {
                let _ = layers(lt, &full[..cut]);
            }
        }
    }

    #[test]
    fn random_frames_of_every_link_type_stay_inside_the_frame() {
        // xorshift: the same frames on every run, with real headers' first bytes mixed in so
        // that the readers get past their first checks.
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let syn = bytes(SYN);
        for _ in 0..5_000 {
            let len = (next() % 120) as usize;
            let mut frame: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            let keep = (next() % 60) as usize;
            for (i, b) in syn.iter().take(keep.min(len)).enumerate() {
                frame[i] = *b;
            }
            let lt =
                LinkType::from_u32([0, 1, 101, 108, 113, 228, 229, 276][(next() % 8) as usize]);
            for f in layers(lt, &frame).iter().flat_map(|l| &l.fields) {
                assert!(f.offset + f.length <= frame.len(), "{f:?} in {frame:02x?}");
            }
            assert_eq!(hex_dump(&frame).len(), frame.len().div_ceil(16));
        }
    }

    #[test]
    fn the_hex_dump_is_tsharks() {
        let lines = hex_dump(&bytes(SYN)[..42]);
        assert_eq!(
            lines,
            [
                "0000  72 20 6a e3 f9 1d 72 ca 72 81 41 dc 08 00 45 00   r j...r.r.A...E.",
                "0010  00 3c 21 5d 40 00 40 06 05 5d 0a 00 00 01 0a 00   .<!]@.@..]......",
                "0020  00 02 8d b0 6c 10 07 f0 ac 4e                     ....l....N",
            ]
        );
    }
}
