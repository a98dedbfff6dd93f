//! Test fixtures: frames built packet by packet, as a lab would put them on the wire.

use std::net::IpAddr;
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

#[derive(Default)]
pub struct Wire {
    pub frames: Vec<Frame>,
    pub now: Duration,
}

impl Wire {
    pub fn new() -> Wire {
        Wire {
            frames: Vec::new(),
            now: Duration::from_secs(1_700_000_000),
        }
    }

    pub fn names() -> Names {
        let mut n = Names::new();
        n.insert(IpAddr::from(CLIENT), "client");
        n.insert(IpAddr::from(SERVER), "server");
        n
    }

    pub fn push(&mut self, data: Vec<u8>) {
        self.now += Duration::from_millis(10);
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

    /// A whole TCP session: handshake, `request` from the client, `reply` from the server,
    /// then the client closes first.
    pub fn session(&mut self, sp: u16, dp: u16, request: &[u8], reply: &[u8]) {
        let (c, s) = (1000u32, 5000u32);
        let q = request.len() as u32;
        let r = reply.len() as u32;
        self.tcp(CLIENT, SERVER, sp, dp, c, 0, S, b"");
        self.tcp(SERVER, CLIENT, dp, sp, s, c + 1, S | A, b"");
        self.tcp(CLIENT, SERVER, sp, dp, c + 1, s + 1, A, b"");
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

    pub fn analyze(&self) -> Analysis {
        super::analyze(self.frames.iter().map(Frame::as_ref))
    }
}
