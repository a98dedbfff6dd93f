//! The conversation tracker: frames in, [`Analysis`] out.
//!
//! Contract: [`Analyzer::push`] takes frames in capture order and [`Analyzer::finish`] returns
//! the facts; memory grows with the number of conversations (each keeps a transcript of at
//! most [`Transcript::CAP`] bytes per direction and a bounded out-of-order buffer), never with
//! the number of packets.
//!
//! The TCP tracker is hand-written because it is the lesson itself: it follows each direction's
//! sequence space relative to its initial sequence number, delivers payload in stream order
//! (holding segments that arrive early), counts retransmissions (data already delivered) and
//! out-of-order segments (data filling a gap within 3 ms of the gap appearing, as Wireshark
//! does), and reads the handshake and close from the flags. A SYN with a new sequence number on
//! a conversation that has closed starts a new conversation, as Wireshark starts a new stream.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;
use std::time::Duration;

use crate::wire::{self, App, FrameRef, Net, Packet, Transport};

use super::{
    Addr, Analysis, ArpFact, Close, Conversation, Dir, DnsExchange, Echo, Endpoint, FtpData,
    FtpMode, Handshake, IcmpError, Outcome, Proto, TcpFacts,
};

/// Out-of-order data held per direction while waiting for a gap to fill.
const MAX_PENDING: usize = 1024 * 1024;
/// A gap filled sooner than this is reordering, later a retransmission.
const REORDER_WINDOW: Duration = Duration::from_millis(3);

/// A piece of a followed TCP stream, in stream order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FollowChunk {
    /// Which way it went.
    pub dir: Dir,
    /// Frame that completed it.
    pub frame: u64,
    /// The bytes.
    pub data: Vec<u8>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Key {
    proto: Proto,
    lo: Addr,
    hi: Addr,
}

impl Key {
    fn new(proto: Proto, a: Addr, b: Addr) -> Key {
        if a <= b {
            Key {
                proto,
                lo: a,
                hi: b,
            }
        } else {
            Key {
                proto,
                lo: b,
                hi: a,
            }
        }
    }
}

#[derive(Debug, Default)]
struct TcpDir {
    /// Sequence number of relative offset 0 (the SYN, or one before the first byte seen).
    base: Option<u32>,
    /// Next relative offset expected in stream order.
    next: u64,
    /// Highest relative offset seen.
    max: u64,
    /// Segments ahead of `next`, by relative offset: captured bytes and length on the wire.
    pending: BTreeMap<u64, (Vec<u8>, u64)>,
    pending_bytes: usize,
    /// Bytes of sequence space skipped because the capture never saw them.
    missing: u64,
    /// Frame of the latest segment, for follow chunks delivered late.
    last_frame: u64,
    /// When the current gap appeared.
    gap_since: Option<Duration>,
    /// Relative offset of the FIN, once seen.
    fin_at: Option<u64>,
    syn_seen: bool,
}

impl TcpDir {
    fn rel(&self, seq: u32) -> i64 {
        let base = self.base.unwrap_or(seq);
        let next_abs = base.wrapping_add(self.next as u32);
        self.next as i64 + i64::from(seq.wrapping_sub(next_abs) as i32)
    }
}

#[derive(Debug, Default)]
struct TcpState {
    dirs: [TcpDir; 2],
    syn: bool,
    synack: bool,
    final_ack: bool,
    syns: u32,
    close: Close,
    /// Whether the payload may hold FTP commands and replies: the responder listens on 21
    /// or greeted with a 220 banner. Gating on this keeps bulk data from being scanned.
    ftp_candidate: Option<bool>,
    retrans: [u32; 2],
    ooo: [u32; 2],
    mss: [Option<u16>; 2],
}

impl TcpState {
    fn closed(&self) -> bool {
        self.close.rst.is_some() || (self.close.fin[0] && self.close.fin[1])
    }
}

#[derive(Debug)]
struct FtpExpect {
    control: usize,
    mode: FtpMode,
    /// The side that will accept the data connection.
    listener: IpAddr,
    /// Alternative listener address (the control connection's server, when a PASV reply
    /// names another address, as behind NAT).
    alt: IpAddr,
    port: u16,
}

/// Streams frames into conversations. See the module documentation.
#[derive(Debug, Default)]
pub struct Analyzer {
    out: Analysis,
    index: HashMap<Key, usize, FastHash>,
    /// The conversation of the previous packet: bulk traffic hits it almost every time.
    last_conv: Option<(Key, usize)>,
    /// The endpoints of the previous packet (source, destination, their indexes).
    last_pair: Option<(IpAddr, IpAddr, usize, usize)>,
    tcp: Vec<Option<TcpState>>,
    per_proto: [usize; 3],
    endpoints: HashMap<IpAddr, usize, FastHash>,
    arp_seen: HashSet<ArpFact>,
    ftp: Vec<FtpExpect>,
    follow: Option<usize>,
    followed: Vec<FollowChunk>,
    frags: HashMap<FragKey, FragGroup, FastHash>,
    frag_order: std::collections::VecDeque<FragKey>,
}

/// Fragments of one IPv4 datagram: source, destination, protocol, identification.
type FragKey = (IpAddr, IpAddr, u8, u32);

/// Datagrams being reassembled at once; the oldest is dropped past this.
const MAX_FRAG_GROUPS: usize = 256;
/// The largest datagram IPv4 can carry.
const MAX_DATAGRAM: usize = 65535;

#[derive(Debug, Default)]
struct FragGroup {
    /// Fragment data by byte offset.
    pieces: BTreeMap<u32, Vec<u8>>,
    /// Datagram payload length, known once the last fragment (MF clear) arrived.
    total: Option<usize>,
    bytes: usize,
    frames: u32,
}

/// A multiply-rotate hasher (as in rustc's FxHash): the keys are addresses and ports from
/// the capture, and a collision attack on an analysis of one's own file gains nothing, so the
/// speed matters more than SipHash's resistance.
#[derive(Clone, Copy, Debug, Default)]
struct FastHash;

#[derive(Clone, Copy, Debug, Default)]
struct FastHasher(u64);

impl std::hash::BuildHasher for FastHash {
    type Hasher = FastHasher;
    fn build_hasher(&self) -> FastHasher {
        FastHasher(0)
    }
}

impl std::hash::Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            self.add(u64::from_le_bytes(b));
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    fn write_u16(&mut self, i: u16) {
        self.add(u64::from(i));
    }
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

impl FastHasher {
    fn add(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

fn initial_ttl(ttl: u8) -> u8 {
    match ttl {
        0..=32 => 32,
        33..=64 => 64,
        65..=128 => 128,
        _ => 255,
    }
}

impl Analyzer {
    /// A fresh analyzer.
    pub fn new() -> Analyzer {
        Analyzer::default()
    }

    /// Also records TCP stream `stream` (Wireshark's `tcp.stream`) in full, for
    /// [`Analyzer::finish_follow`].
    pub fn follow(&mut self, stream: usize) {
        self.follow = Some(stream);
    }

    /// Adds one frame.
    pub fn push(&mut self, frame: &FrameRef<'_>) {
        let pkt = wire::dissect(frame.linktype, frame.data);
        self.push_dissected(frame, &pkt);
    }

    /// Adds one frame already dissected (`pkt` must come from `frame.data`).
    pub fn push_dissected(&mut self, frame: &FrameRef<'_>, pkt: &Packet) {
        self.out.frames += 1;
        if self.out.first_ts.is_none() {
            self.out.first_ts = Some(frame.ts);
        }
        self.out.last_ts = Some(frame.ts);
        match &pkt.net {
            Net::Arp(arp) => self.arp(frame, arp, pkt),
            Net::Ip(ip) => {
                self.endpoint(ip.src, ip.dst, frame.orig_len, ip.ttl);
                if ip.version == 4 && ip.is_fragment() {
                    self.fragment(frame, ip, pkt);
                    return;
                }
                let payload = pkt.payload_of(frame.data);
                match &pkt.transport {
                    Transport::Tcp(t) => self.tcp(frame, ip, t, payload, pkt),
                    Transport::Udp(u) => self.udp(frame, ip, u, payload, pkt),
                    Transport::Icmp(i) => self.icmp(frame, ip, i),
                    Transport::None => {}
                }
            }
            _ => {}
        }
    }

    /// Holds an IPv4 fragment; the one that completes its datagram carries the reassembled
    /// datagram into the conversations, as Wireshark does.
    fn fragment(&mut self, frame: &FrameRef<'_>, ip: &wire::IpInfo, pkt: &Packet) {
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
        let (IpAddr::V4(src), IpAddr::V4(dst)) = (ip.src, ip.dst) else {
            return;
        };
        let Ok(header) = etherparse::Ipv4Header::new(
            total as u16,
            ip.ttl,
            etherparse::IpNumber(ip.proto),
            src.octets(),
            dst.octets(),
        ) else {
            return;
        };
        let mut whole = Vec::with_capacity(20 + total);
        if header.write(&mut whole).is_err() {
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

    /// The facts.
    pub fn finish(self) -> Analysis {
        self.finish_follow().0
    }

    /// The facts, and the followed stream's chunks.
    pub fn finish_follow(mut self) -> (Analysis, Vec<FollowChunk>) {
        for i in 0..self.out.conversations.len() {
            self.settle(i);
        }
        (self.out, self.followed)
    }

    fn arp(&mut self, frame: &FrameRef<'_>, arp: &wire::Arp, pkt: &Packet) {
        let broadcast = match &pkt.link {
            wire::Link::Ethernet { dst, .. } => *dst == wire::Mac::BROADCAST,
            wire::Link::Cooked { pkttype, .. } => *pkttype == 1,
            _ => true,
        };
        let fact = if arp.is_gratuitous() {
            ArpFact::Gratuitous {
                owner: IpAddr::V4(arp.sender_ip),
            }
        } else if arp.op == 1 && broadcast {
            ArpFact::Request {
                asker: IpAddr::V4(arp.sender_ip),
                target: IpAddr::V4(arp.target_ip),
            }
        } else if arp.op == 2 {
            ArpFact::Reply {
                owner: IpAddr::V4(arp.sender_ip),
                to: IpAddr::V4(arp.target_ip),
            }
        } else {
            // Unicast requests are the kernel re-checking a cache entry; whether one falls
            // inside a lab run depends on timers, so they are not facts.
            return;
        };
        if self.arp_seen.insert(fact.clone()) {
            self.out.arp.push(fact);
            self.out.arp_frames.push(frame.number);
        }
    }

    fn endpoint_index(&mut self, addr: IpAddr) -> usize {
        let eps = &mut self.out.endpoints;
        *self.endpoints.entry(addr).or_insert_with(|| {
            eps.push(blank_endpoint(addr));
            eps.len() - 1
        })
    }

    fn endpoint(&mut self, src: IpAddr, dst: IpAddr, len: u32, ttl: u8) {
        let len = u64::from(len);
        // Most packets belong to the same pair of hosts as the one before.
        let (s, d) = match self.last_pair {
            Some((a, b, ia, ib)) if a == src && b == dst => (ia, ib),
            Some((a, b, ia, ib)) if a == dst && b == src => (ib, ia),
            _ => {
                let s = self.endpoint_index(src);
                let d = self.endpoint_index(dst);
                self.last_pair = Some((src, dst, s, d));
                (s, d)
            }
        };
        let eps = &mut self.out.endpoints;
        let e = &mut eps[s];
        e.tx_packets += 1;
        e.tx_bytes += len;
        e.min_ttl = Some(e.min_ttl.map_or(ttl, |m| m.min(ttl)));
        e.max_ttl = Some(e.max_ttl.map_or(ttl, |m| m.max(ttl)));
        let max = e.max_ttl.unwrap_or(ttl);
        e.hops = Some(initial_ttl(max) - max);
        eps[d].rx_packets += 1;
        eps[d].rx_bytes += len;
    }

    /// Finds or creates the conversation of a packet from `src` to `dst`; returns its index
    /// and the packet's direction.
    fn conversation(
        &mut self,
        proto: Proto,
        src: Addr,
        dst: Addr,
        frame: &FrameRef<'_>,
    ) -> (usize, Dir, bool) {
        let key = Key::new(proto, src, dst);
        let cached = self.last_conv.filter(|(k, _)| *k == key).map(|(_, i)| i);
        if let Some(i) = cached.or_else(|| self.index.get(&key).copied()) {
            self.last_conv = Some((key, i));
            let c = &self.out.conversations[i];
            let dir = if c.initiator == src && c.responder == dst {
                Dir::Forward
            } else {
                Dir::Reverse
            };
            return (i, dir, false);
        }
        let i = self.new_conversation(proto, src, dst, frame);
        self.index.insert(key, i);
        self.last_conv = Some((key, i));
        (i, Dir::Forward, true)
    }

    fn new_conversation(
        &mut self,
        proto: Proto,
        src: Addr,
        dst: Addr,
        frame: &FrameRef<'_>,
    ) -> usize {
        let index = self.out.conversations.len();
        let p = proto as usize;
        let stream = self.per_proto[p];
        self.per_proto[p] += 1;
        self.out.conversations.push(Conversation {
            index,
            stream,
            proto,
            initiator: src,
            responder: dst,
            first_frame: frame.number,
            start: frame.ts,
            end: frame.ts,
            packets: [0; 2],
            bytes: [0; 2],
            payload_bytes: [0; 2],
            transcript: Default::default(),
            ttl: [None; 2],
            fragments: [0; 2],
            tcp: None,
            outcome: Outcome::NoAnswer,
            echo: (proto == Proto::Icmp).then(Echo::default),
            icmp_errors: Vec::new(),
            dns: Vec::new(),
            ftp_data: None,
            ftp_control: false,
        });
        self.tcp.push((proto == Proto::Tcp).then(TcpState::default));
        if proto == Proto::Tcp {
            self.link_ftp(index);
        }
        index
    }

    fn count(&mut self, i: usize, dir: Dir, frame: &FrameRef<'_>, ttl: u8) {
        let c = &mut self.out.conversations[i];
        let d = dir.idx();
        c.packets[d] += 1;
        c.bytes[d] += u64::from(frame.orig_len);
        c.end = c.end.max(frame.ts);
        if c.ttl[d].is_none() {
            c.ttl[d] = Some(ttl);
        }
    }

    fn tcp(
        &mut self,
        frame: &FrameRef<'_>,
        ip: &wire::IpInfo,
        t: &wire::Tcp,
        payload: &[u8],
        pkt: &Packet,
    ) {
        let src = Addr {
            ip: ip.src,
            port: t.src_port,
        };
        let dst = Addr {
            ip: ip.dst,
            port: t.dst_port,
        };
        let (mut i, mut dir, mut fresh) = self.conversation(Proto::Tcp, src, dst, frame);
        let is_syn = t.flags.syn() && !t.flags.ack();
        if is_syn && !fresh {
            // Port reuse: a new SYN on a finished conversation opens a new one.
            let st = self.tcp[i].as_ref();
            let same_syn = st.is_some_and(|s| {
                let d = &s.dirs[dir.idx()];
                d.syn_seen && d.base == Some(t.seq)
            });
            if st.is_some_and(TcpState::closed) && !same_syn {
                self.settle(i);
                i = self.new_conversation(Proto::Tcp, src, dst, frame);
                let key = Key::new(Proto::Tcp, src, dst);
                self.index.insert(key, i);
                self.last_conv = Some((key, i));
                dir = Dir::Forward;
                fresh = true;
            }
        }
        if fresh && t.flags.syn() && t.flags.ack() {
            // The capture began between SYN and SYN-ACK: the receiver of the SYN-ACK opened it.
            let c = &mut self.out.conversations[i];
            std::mem::swap(&mut c.initiator, &mut c.responder);
            dir = Dir::Reverse;
        }
        self.count(i, dir, frame, ip.ttl);
        let d = dir.idx();
        let following = self.follow == Some(self.out.conversations[i].stream);
        let Some(st) = self.tcp[i].as_mut() else {
            return;
        };
        let flags = t.flags;
        // Handshake.
        if flags.syn() {
            if flags.ack() {
                if dir == Dir::Reverse {
                    st.synack = true;
                }
            } else if dir == Dir::Forward {
                st.syn = true;
                st.syns += 1;
            }
            if st.mss[d].is_none() {
                st.mss[d] = t.mss();
            }
        } else if flags.ack() && dir == Dir::Forward && st.synack && !st.final_ack {
            let peer_base = st.dirs[1].base;
            if peer_base.is_some_and(|b| t.ack == b.wrapping_add(1)) {
                st.final_ack = true;
            }
        }
        if flags.rst() && st.close.rst.is_none() {
            st.close.rst = Some(dir);
        }
        // Sequence space.
        let td = &mut st.dirs[d];
        td.last_frame = frame.number;
        if flags.syn() {
            if td.syn_seen && td.base == Some(t.seq) {
                if payload.is_empty() {
                    st.retrans[d] += 1;
                    return;
                }
            } else {
                td.base = Some(t.seq);
                td.syn_seen = true;
                td.next = 1;
                td.max = 1;
            }
        } else if td.base.is_none() {
            if flags.rst() && t.payload_len == 0 {
                // A bare RST says nothing about the stream's position.
                return;
            }
            td.base = Some(t.seq.wrapping_sub(1));
            td.next = 1;
            td.max = 1;
        }
        let rel = if flags.syn() { 1 } else { td.rel(t.seq) };
        let len = u64::from(t.payload_len);
        let c = &mut self.out.conversations[i];
        if len > 0 && !flags.rst() {
            let end = rel + len as i64;
            if end <= td.next as i64 {
                // Keep-alives carry one old byte (or none) to provoke an ACK; they are not
                // retransmissions of data.
                let keepalive = len <= 1 && rel == td.next as i64 - 1;
                if !keepalive {
                    st.retrans[d] += 1;
                }
            } else if rel > td.next as i64 {
                // Early data: hold it until the gap fills.
                let relu = rel as u64;
                if td.pending.contains_key(&relu) {
                    st.retrans[d] += 1;
                } else {
                    if td.pending_bytes + payload.len() > MAX_PENDING {
                        // The gap is not going to fill: the capture lost those bytes.
                        skip_gap(td, c, dir, following, &mut self.followed);
                    }
                    td.pending_bytes += payload.len();
                    td.pending.insert(relu, (payload.to_vec(), len));
                    if td.gap_since.is_none() {
                        td.gap_since = Some(frame.ts);
                    }
                }
                td.max = td.max.max(end as u64);
                drain(td, c, dir, following, &mut self.followed);
            } else {
                // In order, possibly overlapping data already delivered.
                if rel < td.next as i64 {
                    st.retrans[d] += 1;
                } else if (rel as u64) < td.max {
                    let quick = td
                        .gap_since
                        .is_some_and(|g| frame.ts.saturating_sub(g) < REORDER_WINDOW);
                    if quick {
                        st.ooo[d] += 1;
                    } else {
                        st.retrans[d] += 1;
                    }
                }
                let skip = (td.next as i64 - rel) as usize;
                let fresh_bytes = payload.get(skip..).unwrap_or(&[]);
                deliver(
                    c,
                    dir,
                    fresh_bytes,
                    following,
                    frame.number,
                    &mut self.followed,
                );
                // Bytes cut off by the snapshot length still advance the stream.
                c.payload_bytes[d] += (end - td.next as i64) as u64;
                td.next = end as u64;
                td.max = td.max.max(td.next);
                drain(td, c, dir, following, &mut self.followed);
            }
        }
        if flags.fin() {
            let at = (rel + len as i64).max(0) as u64;
            if !st.close.fin[d] {
                st.close.fin[d] = true;
                if st.close.fin_first.is_none() {
                    st.close.fin_first = Some(dir);
                }
                td.fin_at = Some(at);
            } else if len == 0 && td.fin_at == Some(at) {
                st.retrans[d] += 1;
            }
        }
        if let Some(td) = st.dirs.get_mut(d) {
            if td.fin_at == Some(td.next) {
                // The FIN takes one sequence number.
                td.next += 1;
                td.max = td.max.max(td.next);
            }
        }
        if let Some(App::Dns(dns)) = &pkt.app {
            dns_exchange(&mut self.out.conversations[i], dns, frame);
        }
        if !payload.is_empty() {
            let c = &self.out.conversations[i];
            let port21 = c.responder.port == 21;
            let candidate = match self.tcp[i].as_mut() {
                Some(st) => match st.ftp_candidate {
                    Some(v) => v,
                    None if dir == Dir::Reverse || port21 => {
                        let v = port21 || payload.starts_with(b"220");
                        st.ftp_candidate = Some(v);
                        v
                    }
                    // The client spoke first; wait for the server's first words.
                    None => false,
                },
                None => false,
            };
            if candidate {
                self.scan_ftp(i, dir, payload);
            }
        }
    }

    fn udp(
        &mut self,
        frame: &FrameRef<'_>,
        ip: &wire::IpInfo,
        u: &wire::Udp,
        payload: &[u8],
        pkt: &Packet,
    ) {
        let src = Addr {
            ip: ip.src,
            port: u.src_port,
        };
        let dst = Addr {
            ip: ip.dst,
            port: u.dst_port,
        };
        let (i, dir, _) = self.conversation(Proto::Udp, src, dst, frame);
        self.count(i, dir, frame, ip.ttl);
        let c = &mut self.out.conversations[i];
        c.payload_bytes[dir.idx()] += u64::from(u.payload_len);
        c.transcript[dir.idx()].push(payload);
        if let Some(App::Dns(dns)) = &pkt.app {
            dns_exchange(c, dns, frame);
        }
    }

    fn icmp(&mut self, frame: &FrameRef<'_>, ip: &wire::IpInfo, icmp: &wire::Icmp) {
        if let Some(kind) = icmp.echo() {
            let id = icmp.echo_id();
            let src = Addr {
                ip: ip.src,
                port: id,
            };
            let dst = Addr {
                ip: ip.dst,
                port: id,
            };
            let (i, dir, fresh) = self.conversation(Proto::Icmp, src, dst, frame);
            if fresh && kind == wire::dissect::EchoKind::Reply {
                let c = &mut self.out.conversations[i];
                std::mem::swap(&mut c.initiator, &mut c.responder);
            }
            let dir = if fresh && kind == wire::dissect::EchoKind::Reply {
                Dir::Reverse
            } else {
                dir
            };
            self.count(i, dir, frame, ip.ttl);
            if let Some(e) = self.out.conversations[i].echo.as_mut() {
                match kind {
                    wire::dissect::EchoKind::Request => e.requests += 1,
                    wire::dissect::EchoKind::Reply => e.replies += 1,
                }
            }
            return;
        }
        if !icmp.is_error() {
            return;
        }
        let Some(q) = &icmp.quoted else {
            return;
        };
        let qsrc = Addr {
            ip: q.src,
            port: q.src_port.unwrap_or(0),
        };
        let qdst = Addr {
            ip: q.dst,
            port: q.dst_port.unwrap_or(0),
        };
        let proto = match q.proto {
            6 => Some(Proto::Tcp),
            17 => Some(Proto::Udp),
            _ => None,
        };
        let conv = proto.and_then(|p| self.index.get(&Key::new(p, qsrc, qdst)).copied());
        let err = IcmpError {
            frame: frame.number,
            ts: frame.ts,
            from: ip.src,
            to: ip.dst,
            v6: icmp.v6,
            icmp_type: icmp.icmp_type,
            code: icmp.code,
            description: wire::names::icmp_describe(icmp.v6, icmp.icmp_type, icmp.code),
            mtu: icmp.mtu(),
            quoted_proto: q.proto,
            quoted_src: qsrc,
            quoted_dst: qdst,
            conversation: conv,
        };
        match conv {
            Some(i) => self.out.conversations[i].icmp_errors.push(err),
            None => self.out.unmatched_icmp_errors.push(err),
        }
    }

    /// Computes a conversation's final facts from its state.
    fn settle(&mut self, i: usize) {
        let following = self.follow == Some(self.out.conversations[i].stream);
        if let Some(Some(st)) = self.tcp.get_mut(i) {
            let c = &mut self.out.conversations[i];
            for (d, dir) in [(0, Dir::Forward), (1, Dir::Reverse)] {
                let td = &mut st.dirs[d];
                while !td.pending.is_empty() {
                    skip_gap(td, c, dir, following, &mut self.followed);
                }
                if td.fin_at == Some(td.next) {
                    td.next += 1;
                }
            }
        }
        let c = &mut self.out.conversations[i];
        let rejected = c
            .icmp_errors
            .iter()
            .any(|e| !matches!((e.v6, e.icmp_type), (false, 11) | (true, 3)));
        if let Some(Some(st)) = self.tcp.get(i) {
            let handshake = match (st.syn, st.synack, st.final_ack) {
                (true, true, true) => Handshake::Complete,
                (true, true, false) => Handshake::Half,
                (true, false, _) => Handshake::SynOnly,
                (false, true, _) => Handshake::Half,
                (false, false, _) => Handshake::None,
            };
            let data = c.payload_bytes[0] + c.payload_bytes[1] > 0;
            let both_fin = st.close.fin[0] && st.close.fin[1];
            let outcome = if st.synack || (!st.syn && c.packets[1] > 0) {
                if st.close.rst.is_some() && !both_fin {
                    Outcome::Reset
                } else if st.synack && !st.final_ack && !data {
                    Outcome::HalfOpen
                } else {
                    Outcome::Established
                }
            } else if st.close.rst == Some(Dir::Reverse) {
                Outcome::Refused
            } else if rejected {
                Outcome::Rejected
            } else {
                Outcome::NoAnswer
            };
            let missing = [st.dirs[0].missing, st.dirs[1].missing];
            c.tcp = Some(TcpFacts {
                handshake,
                close: st.close,
                outcome,
                syns: st.syns,
                retransmissions: st.retrans,
                out_of_order: st.ooo,
                missing_bytes: missing,
                mss: st.mss,
            });
        } else {
            c.outcome = if c.packets[1] > 0 {
                Outcome::Answered
            } else if rejected {
                Outcome::Rejected
            } else {
                Outcome::NoAnswer
            };
        }
    }

    /// Looks for FTP data-port announcements in a TCP payload.
    fn scan_ftp(&mut self, i: usize, dir: Dir, payload: &[u8]) {
        let c = &self.out.conversations[i];
        let (server, client) = (c.responder.ip, c.initiator.ip);
        for line in payload.split(|&b| b == b'\n') {
            let Some((mode, ip, port)) = ftp_announcement(line) else {
                continue;
            };
            // Replies come from the server, commands from the client.
            let from_server = matches!(mode, FtpMode::Pasv | FtpMode::Epsv);
            if from_server != (dir == Dir::Reverse) {
                continue;
            }
            let listener = match mode {
                FtpMode::Pasv | FtpMode::Port => {
                    ip.unwrap_or(if from_server { server } else { client })
                }
                FtpMode::Epsv => server,
                FtpMode::Eprt => ip.unwrap_or(client),
            };
            let alt = if from_server { server } else { client };
            self.ftp.push(FtpExpect {
                control: i,
                mode,
                listener,
                alt,
                port,
            });
            self.out.conversations[i].ftp_control = true;
        }
    }

    fn link_ftp(&mut self, i: usize) {
        let resp = self.out.conversations[i].responder;
        let found = self
            .ftp
            .iter()
            .rev()
            .find(|e| e.port == resp.port && (e.listener == resp.ip || e.alt == resp.ip));
        if let Some(e) = found {
            self.out.conversations[i].ftp_data = Some(FtpData {
                control: e.control,
                mode: e.mode,
                port: e.port,
            });
        }
    }
}

fn blank_endpoint(addr: IpAddr) -> Endpoint {
    Endpoint {
        addr,
        tx_packets: 0,
        tx_bytes: 0,
        rx_packets: 0,
        rx_bytes: 0,
        min_ttl: None,
        max_ttl: None,
        hops: None,
    }
}

/// Delivers held segments that are now in stream order.
fn drain(
    td: &mut TcpDir,
    c: &mut Conversation,
    dir: Dir,
    following: bool,
    out: &mut Vec<FollowChunk>,
) {
    let d = dir.idx();
    while let Some((&at, _)) = td.pending.first_key_value() {
        if at > td.next {
            break;
        }
        let Some((at, (data, wire_len))) = td.pending.pop_first() else {
            break;
        };
        td.pending_bytes -= data.len();
        let end = at + wire_len;
        if end > td.next {
            let skip = ((td.next - at) as usize).min(data.len());
            deliver(c, dir, &data[skip..], following, td.last_frame, out);
            c.payload_bytes[d] += end - td.next;
            td.next = end;
        }
    }
    if td.pending.is_empty() {
        td.gap_since = None;
    }
    td.max = td.max.max(td.next);
}

/// Gives up on the gap before the first held segment: counts it missing and moves on.
fn skip_gap(
    td: &mut TcpDir,
    c: &mut Conversation,
    dir: Dir,
    following: bool,
    out: &mut Vec<FollowChunk>,
) {
    if let Some((&at, _)) = td.pending.first_key_value() {
        if at > td.next {
            td.missing += at - td.next;
            td.next = at;
        }
    }
    drain(td, c, dir, following, out);
}

fn deliver(
    c: &mut Conversation,
    dir: Dir,
    data: &[u8],
    following: bool,
    frame: u64,
    out: &mut Vec<FollowChunk>,
) {
    if data.is_empty() {
        return;
    }
    c.transcript[dir.idx()].push(data);
    if following {
        out.push(FollowChunk {
            dir,
            frame,
            data: data.to_vec(),
        });
    }
}

fn dns_exchange(c: &mut Conversation, dns: &wire::Dns, frame: &FrameRef<'_>) {
    let blank = |query_frame, query_ts| DnsExchange {
        id: dns.id,
        questions: dns.questions.clone(),
        query_frame,
        query_ts,
        response_frame: None,
        rcode: None,
        answers: Vec::new(),
        response_time: None,
    };
    if !dns.response {
        c.dns.push(blank(Some(frame.number), Some(frame.ts)));
        return;
    }
    let pos = c
        .dns
        .iter()
        .position(|x| x.id == dns.id && x.response_frame.is_none() && x.query_frame.is_some());
    let slot = match pos {
        Some(p) => &mut c.dns[p],
        None => {
            // A response whose query was not captured.
            c.dns.push(blank(None, None));
            let last = c.dns.len() - 1;
            &mut c.dns[last]
        }
    };
    slot.response_frame = Some(frame.number);
    slot.rcode = Some(dns.rcode.clone());
    slot.answers = dns.answers.clone();
    slot.response_time = slot.query_ts.map(|q| frame.ts.saturating_sub(q));
}

/// Parses a PASV/EPSV reply or PORT/EPRT command line: (mode, announced address, port).
pub(crate) fn ftp_announcement(line: &[u8]) -> Option<(FtpMode, Option<IpAddr>, u16)> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let text = std::str::from_utf8(line).ok()?;
    let upper = text.get(..4)?.to_ascii_uppercase();
    match upper.as_str() {
        "227 " => {
            let (ip, port) = six_numbers(&text[4..])?;
            Some((FtpMode::Pasv, Some(ip), port))
        }
        "PORT" => {
            let (ip, port) = six_numbers(text.get(4..)?)?;
            Some((FtpMode::Port, Some(ip), port))
        }
        "229 " => {
            let open = text.find('(')?;
            let inner = &text[open + 1..];
            let delim = inner.chars().next()?;
            let fields: Vec<&str> = inner.split(delim).collect();
            // (|||port|) splits into ["", "", "", "port", ")"].
            let port = fields.get(3)?.parse().ok()?;
            Some((FtpMode::Epsv, None, port))
        }
        "EPRT" => {
            let rest = text.get(4..)?.trim_start();
            let delim = rest.chars().next()?;
            let fields: Vec<&str> = rest.split(delim).collect();
            // |1|addr|port| splits into ["", "1", "addr", "port", ""].
            let ip = fields.get(2)?.parse().ok();
            let port = fields.get(3)?.parse().ok()?;
            Some((FtpMode::Eprt, ip, port))
        }
        _ => None,
    }
}

/// Finds `h1,h2,h3,h4,p1,p2` in text and returns the address and port.
fn six_numbers(text: &str) -> Option<(IpAddr, u16)> {
    let start = text.find(|c: char| c.is_ascii_digit())?;
    let nums: Vec<u16> = text[start..]
        .split(|c: char| !c.is_ascii_digit() && c != ',')
        .next()?
        .split(',')
        .map(|n| n.parse::<u16>().ok())
        .collect::<Option<Vec<u16>>>()?;
    if nums.len() != 6 || nums.iter().any(|&n| n > 255) {
        return None;
    }
    let ip = IpAddr::from([nums[0] as u8, nums[1] as u8, nums[2] as u8, nums[3] as u8]);
    Some((ip, nums[4] * 256 + nums[5]))
}

#[cfg(test)]
mod tests {
    use super::super::fixture::*;
    use super::*;

    #[test]
    fn orderly_session() {
        let mut w = Wire::new();
        w.session(
            40000,
            80,
            b"GET / HTTP/1.1\r\n\r\n",
            b"HTTP/1.1 200 OK\r\n\r\nhi",
        );
        let a = w.analyze();
        assert_eq!(a.conversations.len(), 1);
        let c = &a.conversations[0];
        assert_eq!(c.initiator.port, 40000);
        let t = c.tcp.as_ref().unwrap();
        assert_eq!(t.handshake, Handshake::Complete);
        assert_eq!(t.outcome, Outcome::Established);
        assert_eq!(t.close.fin_first, Some(Dir::Forward));
        assert_eq!(t.close.fin, [true, true]);
        assert_eq!(c.payload_bytes, [18, 21]);
        assert_eq!(c.transcript[1].bytes, b"HTTP/1.1 200 OK\r\n\r\nhi");
        assert_eq!(t.retransmissions, [0, 0]);
        assert_eq!(c.packets, [6, 4]);
    }

    #[test]
    fn refused_and_no_answer() {
        let mut w = Wire::new();
        w.tcp(CLIENT, SERVER, 40001, 81, 7, 0, S, b"");
        w.tcp(SERVER, CLIENT, 81, 40001, 0, 8, R | A, b"");
        w.tcp(CLIENT, SERVER, 40002, 25, 9, 0, S, b"");
        w.tcp(CLIENT, SERVER, 40002, 25, 9, 0, S, b"");
        let a = w.analyze();
        let t0 = a.conversations[0].tcp.as_ref().unwrap();
        assert_eq!(
            (t0.handshake, t0.outcome),
            (Handshake::SynOnly, Outcome::Refused)
        );
        assert_eq!(t0.close.rst, Some(Dir::Reverse));
        let t1 = a.conversations[1].tcp.as_ref().unwrap();
        assert_eq!(
            (t1.outcome, t1.syns, t1.retransmissions[0]),
            (Outcome::NoAnswer, 2, 1)
        );
    }

    #[test]
    fn retransmission_and_reordering() {
        let mut w = Wire::new();
        let (c, s) = (100u32, 900u32);
        w.tcp(CLIENT, SERVER, 40000, 9, c, 0, S, b"");
        w.tcp(SERVER, CLIENT, 9, 40000, s, c + 1, S | A, b"");
        w.tcp(CLIENT, SERVER, 40000, 9, c + 1, s + 1, A, b"");
        w.tcp(CLIENT, SERVER, 40000, 9, c + 1, s + 1, A, b"aaaa");
        // The same segment again: a retransmission.
        w.tcp(CLIENT, SERVER, 40000, 9, c + 1, s + 1, A, b"aaaa");
        // cccc overtakes bbbb.
        w.tcp(CLIENT, SERVER, 40000, 9, c + 9, s + 1, A, b"cccc");
        w.now -= Duration::from_millis(9);
        w.tcp(CLIENT, SERVER, 40000, 9, c + 5, s + 1, A, b"bbbb");
        let a = w.analyze();
        let conv = &a.conversations[0];
        let t = conv.tcp.as_ref().unwrap();
        assert_eq!(t.retransmissions, [1, 0]);
        assert_eq!(t.out_of_order, [1, 0]);
        assert_eq!(conv.transcript[0].bytes, b"aaaabbbbcccc");
        assert_eq!(conv.payload_bytes[0], 12);
    }

    #[test]
    fn port_reuse_after_close_is_a_new_conversation() {
        let mut w = Wire::new();
        w.session(40000, 7, b"one", b"");
        // The same ports again, with a new initial sequence number.
        w.tcp(CLIENT, SERVER, 40000, 7, 77_000, 0, S, b"");
        w.tcp(SERVER, CLIENT, 7, 40000, 88_000, 77_001, S | A, b"");
        let a = w.analyze();
        assert_eq!(a.conversations.len(), 2);
        assert_eq!(a.conversations[1].stream, 1);
        assert_eq!(
            a.conversations[1].tcp.as_ref().unwrap().handshake,
            Handshake::Half
        );
    }

    #[test]
    fn pasv_links_the_data_connection() {
        let mut w = Wire::new();
        let (c, s) = (100u32, 900u32);
        w.tcp(CLIENT, SERVER, 40000, 21, c, 0, S, b"");
        w.tcp(SERVER, CLIENT, 21, 40000, s, c + 1, S | A, b"");
        w.tcp(CLIENT, SERVER, 40000, 21, c + 1, s + 1, A, b"");
        let reply = b"227 Entering Passive Mode (10,0,0,2,156,64).\r\n";
        w.tcp(SERVER, CLIENT, 21, 40000, s + 1, c + 1, P | A, reply);
        w.session(40001, 156 * 256 + 64, b"", b"file bytes");
        let a = w.analyze();
        assert!(a.conversations[0].ftp_control);
        let d = a.conversations[1].ftp_data.unwrap();
        assert_eq!((d.control, d.mode, d.port), (0, FtpMode::Pasv, 40000));
    }

    #[test]
    fn epsv_on_another_port_links_after_a_220_banner() {
        let mut w = Wire::new();
        let (c, s) = (100u32, 900u32);
        w.tcp(CLIENT, SERVER, 40000, 2121, c, 0, S, b"");
        w.tcp(SERVER, CLIENT, 2121, 40000, s, c + 1, S | A, b"");
        w.tcp(CLIENT, SERVER, 40000, 2121, c + 1, s + 1, A, b"");
        let banner = b"220 ready\r\n";
        w.tcp(SERVER, CLIENT, 2121, 40000, s + 1, c + 1, P | A, banner);
        let reply = b"229 Entering Extended Passive Mode (|||40100|)\r\n";
        w.tcp(
            SERVER,
            CLIENT,
            2121,
            40000,
            s + 1 + banner.len() as u32,
            c + 1,
            P | A,
            reply,
        );
        w.session(40001, 40100, b"", b"listing");
        // A data connection whose payload mentions 227 is not scanned: it never sent a 220.
        w.session(40002, 9, b"", b"227 (10,0,0,2,1,1)\r\n");
        w.session(40003, 257, b"", b"");
        let a = w.analyze();
        let d = a.conversations[1].ftp_data.expect("linked");
        assert_eq!((d.control, d.mode, d.port), (0, FtpMode::Epsv, 40100));
        assert!(!a.conversations[2].ftp_control);
        assert_eq!(a.conversations[3].ftp_data, None);
    }

    #[test]
    fn dns_query_matches_its_response() {
        let mut w = Wire::new();
        w.udp(CLIENT, SERVER, 40000, 53, &Wire::dns_message(0x1234, None));
        w.udp(CLIENT, SERVER, 40000, 53, &Wire::dns_message(0x9999, None));
        w.udp(
            SERVER,
            CLIENT,
            53,
            40000,
            &Wire::dns_message(0x1234, Some("mail.example.test.")),
        );
        let a = w.analyze();
        let c = &a.conversations[0];
        assert_eq!(c.dns.len(), 2);
        let x = &c.dns[0];
        assert_eq!(
            (x.id, x.query_frame, x.response_frame),
            (0x1234, Some(1), Some(3))
        );
        assert_eq!(x.rcode.as_deref(), Some("NOERROR"));
        assert_eq!(x.answers[0].data, "10 mail.example.test.");
        assert_eq!(x.response_time, Some(Duration::from_millis(20)));
        assert_eq!(c.dns[1].response_frame, None);
    }

    #[test]
    fn ping_is_an_echo_conversation() {
        let mut w = Wire::new();
        for seq in 1..=3 {
            let mut v = Vec::new();
            etherparse::PacketBuilder::ethernet2([1; 6], [2; 6])
                .ipv4(CLIENT, SERVER, 64)
                .icmpv4_echo_request(77, seq)
                .write(&mut v, b"ping")
                .unwrap();
            w.push(v);
            let mut v = Vec::new();
            etherparse::PacketBuilder::ethernet2([2; 6], [1; 6])
                .ipv4(SERVER, CLIENT, 61)
                .icmpv4_echo_reply(77, seq)
                .write(&mut v, b"ping")
                .unwrap();
            w.push(v);
        }
        let a = w.analyze();
        assert_eq!(a.conversations.len(), 1);
        let c = &a.conversations[0];
        assert_eq!(c.proto, Proto::Icmp);
        assert_eq!(
            c.echo,
            Some(Echo {
                requests: 3,
                replies: 3
            })
        );
        assert_eq!(c.outcome, Outcome::Answered);
        let server = a
            .endpoints
            .iter()
            .find(|e| e.addr == IpAddr::from(SERVER))
            .unwrap();
        assert_eq!(server.hops, Some(3));
        assert_eq!(a.capture_near(), vec![IpAddr::from(CLIENT)]);
        let mut names = crate::analyze::Names::new();
        names.insert(IpAddr::from(CLIENT), "client");
        names.insert(IpAddr::from(SERVER), "server");
        let table = crate::analyze::table::endpoints_text(&a, &names);
        assert!(
            table.ends_with("capture taken next to client; server 3 hops away\n"),
            "{table}"
        );
    }

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

    #[test]
    fn ftp_announcements_parse() {
        let ip = Some(IpAddr::from([10, 0, 0, 2]));
        assert_eq!(
            ftp_announcement(b"227 Entering Passive Mode (10,0,0,2,156,64)\r"),
            Some((FtpMode::Pasv, ip, 40000))
        );
        assert_eq!(
            ftp_announcement(b"227 =10,0,0,2,0,21"),
            Some((FtpMode::Pasv, ip, 21))
        );
        assert_eq!(
            ftp_announcement(b"port 10,0,0,2,1,1"),
            Some((FtpMode::Port, ip, 257))
        );
        assert_eq!(
            ftp_announcement(b"229 Entering Extended Passive Mode (|||6446|)"),
            Some((FtpMode::Epsv, None, 6446))
        );
        assert_eq!(
            ftp_announcement(b"EPRT |1|10.0.0.2|6275|"),
            Some((FtpMode::Eprt, ip, 6275))
        );
        assert_eq!(ftp_announcement(b"227 nonsense (1,2,3)"), None);
        assert_eq!(ftp_announcement(b"227 (300,0,0,0,1,1)"), None);
        assert_eq!(ftp_announcement(b"\xff\xfe"), None);
    }

    #[test]
    fn icmp_error_ties_to_the_udp_flow() {
        let mut w = Wire::new();
        w.udp(CLIENT, SERVER, 5000, 161, b"probe");
        let mut quoted = Vec::new();
        etherparse::PacketBuilder::ipv4(CLIENT, SERVER, 64)
            .udp(5000, 161)
            .write(&mut quoted, b"probe")
            .unwrap();
        let mut v = Vec::new();
        etherparse::PacketBuilder::ethernet2([2; 6], [1; 6])
            .ipv4(SERVER, CLIENT, 64)
            .icmpv4_raw(3, 3, [0; 4])
            .write(&mut v, &quoted)
            .unwrap();
        w.push(v);
        let a = w.analyze();
        let c = &a.conversations[0];
        assert_eq!(c.outcome, Outcome::Rejected);
        assert_eq!(c.icmp_errors.len(), 1);
        assert_eq!(
            c.icmp_errors[0].description,
            "destination-unreachable port-unreachable (3/3)"
        );
    }
}
