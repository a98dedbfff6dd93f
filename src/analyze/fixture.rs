//! Frames built packet by packet, as a lab would put them on the wire: the one frame
//! synthesiser of the unit tests here, the integration tests (tests/kit) and the fuzz seeds.
//! Hidden from the documentation; nothing in a run uses it.
//!
//! Contract: the same calls give the same bytes and timestamps; frames are Ethernet, numbered
//! from 1, and each comes one clock step after the previous one.

use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use etherparse::PacketBuilder;

use crate::wire::{Frame, LinkType};

use super::{Analysis, Names};

pub const CLIENT: [u8; 4] = [10, 0, 0, 1];
pub const SERVER: [u8; 4] = [10, 0, 0, 2];

/// Flag letters for [`Wire::tcp`].
pub const S: u8 = 1;
pub const A: u8 = 2;
pub const P: u8 = 4;
pub const F: u8 = 8;
pub const R: u8 = 16;

pub struct Wire {
    pub frames: Vec<Frame>,
    pub now: Duration,
    /// Time between two frames.
    pub step: Duration,
}

impl Default for Wire {
    fn default() -> Wire {
        Wire::new()
    }
}

impl Wire {
    /// Frames 10 ms apart from a whole second.
    pub fn new() -> Wire {
        Wire {
            frames: Vec::new(),
            now: Duration::from_secs(1_700_000_000),
            step: Duration::from_millis(10),
        }
    }

    /// Frames 1.5 ms apart from a time with nanoseconds, so that a file written with
    /// microsecond timestamps differs from one written with nanoseconds.
    pub fn nanosecond_clock() -> Wire {
        Wire {
            now: Duration::new(1_700_000_000, 123_456_789),
            step: Duration::from_micros(1500),
            ..Wire::new()
        }
    }

    pub fn names() -> Names {
        let mut n = Names::new();
        n.insert(IpAddr::from(CLIENT), "client");
        n.insert(IpAddr::from(SERVER), "server");
        n
    }

    pub fn push(&mut self, data: Vec<u8>) {
        self.now += self.step;
        self.frames.push(Frame {
            number: self.frames.len() as u64 + 1,
            ts: self.now,
            orig_len: data.len() as u32,
            linktype: LinkType::Ethernet,
            data,
        });
    }

    #[allow(clippy::too_many_arguments)]
    pub fn tcp(
        &mut self,
        src: [u8; 4],
        dst: [u8; 4],
        sp: u16,
        dp: u16,
        seq: u32,
        ack: u32,
        flags: u8,
        payload: &[u8],
    ) {
        let mut b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, src[3]], [2, 0, 0, 0, 0, dst[3]])
            .ipv4(src, dst, 64)
            .tcp(sp, dp, seq, 64000);
        if flags & S != 0 {
            b = b.syn();
        }
        if flags & A != 0 {
            b = b.ack(ack);
        }
        if flags & P != 0 {
            b = b.psh();
        }
        if flags & F != 0 {
            b = b.fin();
        }
        if flags & R != 0 {
            b = b.rst();
        }
        let mut v = Vec::new();
        b.write(&mut v, payload).expect("tcp fixture");
        self.push(v);
    }

    pub fn udp(&mut self, src: [u8; 4], dst: [u8; 4], sp: u16, dp: u16, payload: &[u8]) {
        let mut v = Vec::new();
        PacketBuilder::ethernet2([2, 0, 0, 0, 0, src[3]], [2, 0, 0, 0, 0, dst[3]])
            .ipv4(src, dst, 64)
            .udp(sp, dp)
            .write(&mut v, payload)
            .expect("udp fixture");
        self.push(v);
    }

    /// A three-way handshake from the client's port `sp` to the server's `dp`, with initial
    /// sequence numbers `c` (client) and `s` (server).
    pub fn handshake(&mut self, sp: u16, dp: u16, c: u32, s: u32) {
        self.tcp(CLIENT, SERVER, sp, dp, c, 0, S, b"");
        self.tcp(SERVER, CLIENT, dp, sp, s, c + 1, S | A, b"");
        self.tcp(CLIENT, SERVER, sp, dp, c + 1, s + 1, A, b"");
    }

    /// A whole TCP session: handshake, `request` from the client, `reply` from the server,
    /// then the client closes first.
    pub fn session(&mut self, sp: u16, dp: u16, request: &[u8], reply: &[u8]) {
        let (c, s) = (1000u32, 5000u32);
        let q = request.len() as u32;
        let r = reply.len() as u32;
        self.handshake(sp, dp, c, s);
        if q > 0 {
            self.tcp(CLIENT, SERVER, sp, dp, c + 1, s + 1, P | A, request);
            self.tcp(SERVER, CLIENT, dp, sp, s + 1, c + 1 + q, A, b"");
        }
        if r > 0 {
            self.tcp(SERVER, CLIENT, dp, sp, s + 1, c + 1 + q, P | A, reply);
            self.tcp(CLIENT, SERVER, sp, dp, c + 1 + q, s + 1 + r, A, b"");
        }
        self.tcp(CLIENT, SERVER, sp, dp, c + 1 + q, s + 1 + r, F | A, b"");
        self.tcp(SERVER, CLIENT, dp, sp, s + 1 + r, c + 2 + q, F | A, b"");
        self.tcp(CLIENT, SERVER, sp, dp, c + 2 + q, s + 2 + r, A, b"");
    }

    /// A DNS query (or, with `answer`, its response) for the MX of example.test.
    pub fn dns_message(id: u16, answer: Option<&str>) -> Vec<u8> {
        use hickory_proto::op::{Message, MessageType, OpCode, Query};
        use hickory_proto::rr::rdata::MX;
        use hickory_proto::rr::{Name, RData, Record, RecordType};
        let name = Name::from_ascii("example.test.").expect("name");
        let mut m = Message::new(
            id,
            if answer.is_some() {
                MessageType::Response
            } else {
                MessageType::Query
            },
            OpCode::Query,
        );
        m.add_query(Query::query(name.clone(), RecordType::MX));
        if let Some(host) = answer {
            let mx = MX::new(10, Name::from_ascii(host).expect("host"));
            m.add_answer(Record::from_rdata(name, 300, RData::MX(mx)));
        }
        m.to_vec().expect("dns message")
    }

    /// A UDP datagram cut into IPv4 fragments that fit `mtu`, as a router would send it.
    #[allow(clippy::too_many_arguments)]
    pub fn udp_fragmented(
        &mut self,
        src: [u8; 4],
        dst: [u8; 4],
        sp: u16,
        dp: u16,
        payload: &[u8],
        mtu: usize,
        id: u16,
    ) {
        let mut whole = Vec::new();
        PacketBuilder::ipv4(src, dst, 64)
            .udp(sp, dp)
            .write(&mut whole, payload)
            .expect("udp datagram");
        let data = &whole[20..];
        let step = (mtu - 20) / 8 * 8;
        let mut off = 0;
        while off < data.len() {
            let end = (off + step).min(data.len());
            let mut h = etherparse::Ipv4Header::new(
                (end - off) as u16,
                64,
                etherparse::IpNumber::UDP,
                src,
                dst,
            )
            .expect("fragment header");
            h.identification = id;
            h.more_fragments = end < data.len();
            h.fragment_offset =
                etherparse::IpFragOffset::try_new((off / 8) as u16).expect("offset");
            h.header_checksum = h.calc_header_checksum();
            let mut frame = vec![2, 0, 0, 0, 0, dst[3], 2, 0, 0, 0, 0, src[3], 0x08, 0x00];
            h.write(&mut frame).expect("write header");
            frame.extend_from_slice(&data[off..end]);
            self.push(frame);
            off = end;
        }
    }

    pub fn analyze(&self) -> Analysis {
        super::analyze(self.frames.iter().map(Frame::as_ref))
    }

    /// Writes a classic pcap in either byte order, with microsecond or nanosecond timestamps.
    pub fn write_pcap(&self, path: &Path, big_endian: bool, nanos: bool) {
        use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
        let header = PcapHeader {
            endianness: if big_endian {
                pcap_file::Endianness::Big
            } else {
                pcap_file::Endianness::Little
            },
            ts_resolution: if nanos {
                pcap_file::TsResolution::NanoSecond
            } else {
                pcap_file::TsResolution::MicroSecond
            },
            ..PcapHeader::default()
        };
        let file = std::fs::File::create(path).expect("create pcap");
        let mut w = PcapWriter::with_header(file, header).expect("pcap header");
        for f in &self.frames {
            w.write_packet(&PcapPacket::new(f.ts, f.orig_len, &f.data))
                .expect("write packet");
        }
    }

    /// Writes a pcapng: one Ethernet interface, nanosecond timestamps.
    pub fn write_pcapng(&self, path: &Path) {
        use pcap_file::pcapng::PcapNgWriter;
        use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketBlock;
        use pcap_file::pcapng::blocks::interface_description::{
            InterfaceDescriptionBlock, InterfaceDescriptionOption,
        };
        let file = std::fs::File::create(path).expect("create pcapng");
        let mut w = PcapNgWriter::new(file).expect("pcapng header");
        let mut idb = InterfaceDescriptionBlock::new(pcap_file::DataLink::ETHERNET, 65535);
        idb.options.push(InterfaceDescriptionOption::IfTsResol(9));
        w.write_pcapng_block(idb).expect("idb");
        for f in &self.frames {
            let epb = EnhancedPacketBlock {
                interface_id: 0,
                timestamp: f.ts,
                original_len: f.orig_len,
                data: std::borrow::Cow::Borrowed(&f.data),
                options: vec![],
            };
            w.write_pcapng_block(epb).expect("epb");
        }
    }
}

/// Any bytes as a capture file, through the reader, the dissector, the conversation tracker
/// (following stream 0) and every text rendering; returns the analysis when the file could be
/// opened. What the fuzz target and the mutation test run: it must return, never panic.
pub fn read_and_render(bytes: &[u8]) -> Option<Analysis> {
    let mut reader = crate::wire::CaptureReader::new(bytes).ok()?;
    let mut analyzer = super::Analyzer::new();
    analyzer.follow(0);
    let mut lines = super::PacketLines::new(Names::new());
    while let Ok(Some(frame)) = reader.next_frame() {
        let pkt = crate::wire::dissect(frame.linktype, frame.data);
        let _ = lines.line(&frame, &pkt);
        analyzer.push_dissected(&frame, &pkt);
    }
    let (analysis, _) = analyzer.finish_follow();
    let _ = super::render_flows(&analysis, &Names::new());
    let _ = super::table::conversations_text(&analysis, &Names::new());
    let _ = super::table::endpoints_text(&analysis, &Names::new());
    Some(analysis)
}
