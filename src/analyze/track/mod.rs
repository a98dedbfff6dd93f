//! The conversation tracker: frames in, [`Analysis`] out. This file holds the analyzer, the
//! conversation table, endpoints, ARP, UDP and ICMP; [`tcp`] the TCP sequence tracking,
//! [`fragments`] IPv4 reassembly, [`ftp`] the linking of FTP data connections to their
//! control connection, and [`dns`] the matching of DNS queries and responses.
//!
//! Contract: [`Analyzer::push`] takes frames in capture order and [`Analyzer::finish`] returns
//! the facts; memory grows with the number of conversations (each keeps a transcript of at
//! most [`Transcript::CAP`](crate::analyze::Transcript::CAP) bytes per direction and a bounded out-of-order buffer), never with
//! the number of packets.
//!
//! The TCP tracker is hand-written because it is the lesson itself: it follows each direction's
//! sequence space relative to its initial sequence number, delivers payload in stream order
//! (holding segments that arrive early), counts retransmissions (data already delivered) and
//! out-of-order segments (data filling a gap within 3 ms of the gap appearing, as Wireshark
//! does), and reads the handshake and close from the flags. A SYN with a new sequence number on
//! a conversation that has closed starts a new conversation, as Wireshark starts a new stream.

mod dns;
mod fragments;
mod ftp;
mod hosts;
mod tcp;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;
use std::time::Duration;

use crate::wire::{self, App, FrameRef, Net, Packet, Transport};

use super::{
    Addr, Analysis, ArpFact, Close, ConnOutcome, Conversation, Dir, DnsExchange, Echo, Endpoint,
    FtpData, FtpMode, Handshake, HostTraits, IcmpError, IpPair, NdpFact, Proto, TcpFacts, Traffic,
};

use dns::dns_exchange;
use ftp::FtpExpect;
use hosts::HostState;
pub use tcp::FollowChunk;
use tcp::TcpState;

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

/// Streams frames into conversations. See the module documentation.
#[derive(Debug, Default)]
pub struct Analyzer {
    out: Analysis,
    index: HashMap<Key, usize, FastHash>,
    /// The conversation of the previous packet: bulk traffic hits it almost every time.
    last_conv: Option<(Key, usize)>,
    /// The endpoints of the previous packet (source, destination, their indexes, the index
    /// of their pair).
    last_pair: Option<(IpAddr, IpAddr, usize, usize, usize)>,
    /// IP pairs by their endpoints' indexes, lower first.
    pairs: HashMap<(usize, usize), usize, FastHash>,
    /// Per endpoint, what its packets say about it.
    hosts: Vec<HostState>,
    /// Per conversation, the last IPv4 identification each way.
    conv_ids: Vec<[Option<u16>; 2]>,
    /// The endpoint index of the last packet's sender.
    sender: usize,
    tcp: Vec<Option<TcpState>>,
    per_proto: [usize; 3],
    endpoints: HashMap<IpAddr, usize, FastHash>,
    arp_seen: HashSet<ArpFact>,
    dhcp_clients: super::dhcp::Clients,
    ndp_seen: HashSet<NdpFact>,
    ftp: Vec<FtpExpect>,
    follow: Option<usize>,
    followed: Vec<FollowChunk>,
    frags: wire::reassembly::Reassembler,
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
                self.endpoint(ip, frame, pkt);
                if ip.is_fragment() {
                    self.fragment(frame, ip, pkt);
                    return;
                }
                let payload = pkt.payload_of(frame.data);
                match &pkt.transport {
                    Transport::Tcp(t) => self.tcp(frame, ip, t, payload, pkt),
                    Transport::Udp(u) => self.udp(frame, ip, u, payload, pkt),
                    Transport::Icmp(i) if i.v6 && matches!(i.icmp_type, 135 | 136) => {
                        self.ndp(ip, i, payload)
                    }
                    Transport::Icmp(i) => self.icmp(frame, ip, i),
                    Transport::None => {}
                }
            }
            _ => {}
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
        for (e, h) in self.out.endpoints.iter_mut().zip(&self.hosts) {
            e.traits = h.traits();
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

    /// A neighbour solicitation or advertisement; `body` is the message after its first 8
    /// bytes, which begins with the target address.
    fn ndp(&mut self, ip: &wire::IpInfo, icmp: &wire::Icmp, body: &[u8]) {
        let Some(target) = body.get(..16).and_then(|t| <[u8; 16]>::try_from(t).ok()) else {
            return;
        };
        let target = IpAddr::from(target);
        let fact = match icmp.icmp_type {
            135 if ip.dst.is_multicast() => NdpFact::Solicit {
                asker: ip.src,
                target,
                group: ip.dst,
            },
            136 => NdpFact::Advert {
                owner: target,
                to: ip.dst,
            },
            _ => return,
        };
        if self.ndp_seen.insert(fact.clone()) {
            self.out.ndp.push(fact);
        }
    }

    fn endpoint_index(&mut self, addr: IpAddr) -> usize {
        let eps = &mut self.out.endpoints;
        let hosts = &mut self.hosts;
        *self.endpoints.entry(addr).or_insert_with(|| {
            eps.push(blank_endpoint(addr));
            hosts.push(HostState::default());
            eps.len() - 1
        })
    }

    fn endpoint(&mut self, ip: &wire::IpInfo, frame: &FrameRef<'_>, pkt: &Packet) {
        let (src, dst, ttl) = (ip.src, ip.dst, ip.ttl);
        let len = u64::from(frame.orig_len);
        // Most packets belong to the same pair of hosts as the one before.
        let (s, d, p) = match self.last_pair {
            Some((a, b, ia, ib, p)) if a == src && b == dst => (ia, ib, p),
            Some((a, b, ia, ib, p)) if a == dst && b == src => (ib, ia, p),
            _ => {
                let s = self.endpoint_index(src);
                let d = self.endpoint_index(dst);
                let pairs = &mut self.out.ip_pairs;
                let p = *self.pairs.entry((s.min(d), s.max(d))).or_insert_with(|| {
                    pairs.push(IpPair {
                        a: src,
                        b: dst,
                        packets: [0; 2],
                        bytes: [0; 2],
                        start: frame.ts,
                        end: frame.ts,
                    });
                    pairs.len() - 1
                });
                self.last_pair = Some((src, dst, s, d, p));
                (s, d, p)
            }
        };
        let pair = &mut self.out.ip_pairs[p];
        let way = usize::from(pair.a != src);
        pair.packets[way] += 1;
        pair.bytes[way] += len;
        pair.end = pair.end.max(frame.ts);
        self.hosts[s].sent(ip, pkt);
        self.sender = s;
        let eps = &mut self.out.endpoints;
        let e = &mut eps[s];
        e.traffic.tx_packets += 1;
        e.traffic.tx_bytes += len;
        e.min_ttl = Some(e.min_ttl.map_or(ttl, |m| m.min(ttl)));
        e.max_ttl = Some(e.max_ttl.map_or(ttl, |m| m.max(ttl)));
        eps[d].traffic.rx_packets += 1;
        eps[d].traffic.rx_bytes += len;
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
            outcome: ConnOutcome::NoAnswer,
            echo: (proto == Proto::Icmp).then(Echo::default),
            icmp_errors: Vec::new(),
            dns: Vec::new(),
            ftp_data: None,
            ftp_control: false,
            ftp_ports: Vec::new(),
        });
        self.tcp.push((proto == Proto::Tcp).then(TcpState::default));
        if proto == Proto::Tcp {
            self.link_ftp(index);
        }
        index
    }

    fn count(&mut self, i: usize, dir: Dir, frame: &FrameRef<'_>, ip: &wire::IpInfo) {
        let ttl = ip.ttl;
        if i >= self.conv_ids.len() {
            self.conv_ids.resize(i + 1, [None; 2]);
        }
        self.hosts[self.sender].id(ip, &mut self.conv_ids[i][dir.idx()]);
        let c = &mut self.out.conversations[i];
        let d = dir.idx();
        c.packets[d] += 1;
        c.bytes[d] += u64::from(frame.orig_len);
        c.end = c.end.max(frame.ts);
        if c.ttl[d].is_none() {
            c.ttl[d] = Some(ttl);
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
        let (src, dst) = ends(ip, u.src_port, u.dst_port);
        let (i, dir, _) = self.conversation(Proto::Udp, src, dst, frame);
        self.count(i, dir, frame, ip);
        let c = &mut self.out.conversations[i];
        c.payload_bytes[dir.idx()] += u64::from(u.payload_len);
        c.transcript[dir.idx()].push(payload);
        match &pkt.app {
            Some(App::Dns(dns)) => dns_exchange(c, dns, frame),
            Some(App::Dhcp(m)) => {
                let fact = self.dhcp_clients.fact(frame.number, ip.src, ip.dst, m);
                self.out.dhcp.push(fact);
            }
            _ => {}
        }
    }

    fn icmp(&mut self, frame: &FrameRef<'_>, ip: &wire::IpInfo, icmp: &wire::Icmp) {
        if let Some(kind) = icmp.echo() {
            let id = icmp.echo_id();
            let (src, dst) = ends(ip, id, id);
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
            self.count(i, dir, frame, ip);
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
        // An echo conversation is keyed by its identifier on both ends (see `ends`).
        let echo_id = q.echo.map(|(id, _)| id);
        let qsrc = Addr {
            ip: q.src,
            port: q.src_port.or(echo_id).unwrap_or(0),
        };
        let qdst = Addr {
            ip: q.dst,
            port: q.dst_port.or(echo_id).unwrap_or(0),
        };
        let proto = match q.proto {
            6 => Some(Proto::Tcp),
            17 => Some(Proto::Udp),
            1 | 58 if echo_id.is_some() => Some(Proto::Icmp),
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
}

/// A packet's two ends: its source and destination addresses with the given ports (or, for
/// an ICMP echo, its identifier on both).
pub(super) fn ends(ip: &wire::IpInfo, src_port: u16, dst_port: u16) -> (Addr, Addr) {
    let end = |ip, port| Addr { ip, port };
    (end(ip.src, src_port), end(ip.dst, dst_port))
}

fn blank_endpoint(addr: IpAddr) -> Endpoint {
    Endpoint {
        addr,
        traffic: Traffic::default(),
        min_ttl: None,
        max_ttl: None,
        traits: HostTraits::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture::*;
    use super::*;

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
            (Handshake::SynOnly, ConnOutcome::Refused)
        );
        assert_eq!(t0.close.rst, Some(Dir::Reverse));
        let t1 = a.conversations[1].tcp.as_ref().unwrap();
        assert_eq!(
            (t1.outcome, t1.syns, t1.retransmissions[0]),
            (ConnOutcome::NoAnswer, 2, 1)
        );
    }

    #[test]
    fn ping_is_an_echo_conversation() {
        let mut w = Wire::new();
        // Each request from the client, then its reply from the server, three hops away.
        let sides = [(CLIENT, SERVER, 64, false), (SERVER, CLIENT, 61, true)];
        for seq in 1..=3 {
            for (src, dst, ttl, reply) in sides {
                let mac = |ip: [u8; 4]| [ip[3]; 6];
                let ip =
                    etherparse::PacketBuilder::ethernet2(mac(src), mac(dst)).ipv4(src, dst, ttl);
                let echo = if reply {
                    ip.icmpv4_echo_reply(77, seq)
                } else {
                    ip.icmpv4_echo_request(77, seq)
                };
                let mut v = Vec::new();
                echo.write(&mut v, b"ping").unwrap();
                w.push(v);
            }
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
        assert_eq!(c.outcome, ConnOutcome::Answered);
        let server = a
            .endpoints
            .iter()
            .find(|e| e.addr == IpAddr::from(SERVER))
            .unwrap();
        assert_eq!(server.traits.hops, Some(3));
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
    fn time_exceeded_about_a_ping_ties_to_its_echo_conversation() {
        let mut w = Wire::new();
        let mut request = Vec::new();
        etherparse::PacketBuilder::ipv4(CLIENT, SERVER, 1)
            .icmpv4_echo_request(77, 1)
            .write(&mut request, b"ping")
            .unwrap();
        let mut v = Vec::new();
        etherparse::PacketBuilder::ethernet2([1; 6], [2; 6])
            .ipv4(CLIENT, SERVER, 1)
            .icmpv4_echo_request(77, 1)
            .write(&mut v, b"ping")
            .unwrap();
        w.push(v);
        let mut v = Vec::new();
        etherparse::PacketBuilder::ethernet2([2; 6], [1; 6])
            .ipv4([10, 0, 0, 254], CLIENT, 64)
            .icmpv4_raw(11, 0, [0; 4])
            .write(&mut v, &request[..28])
            .unwrap();
        w.push(v);
        let a = w.analyze();
        assert!(a.unmatched_icmp_errors.is_empty());
        let c = &a.conversations[0];
        assert_eq!(c.proto, Proto::Icmp);
        assert_eq!(c.icmp_errors.len(), 1);
        assert_eq!(
            c.icmp_errors[0].description,
            "time-exceeded ttl-exceeded (11/0)"
        );
    }

    /// An Ethernet frame with an IPv6 header from `src` to `dst` (next header `next`, hop
    /// limit 255) and `payload`.
    fn ipv6(src: &str, dst: &str, next: u8, extra: &[u8], payload: &[u8]) -> Vec<u8> {
        let (s, d): (std::net::Ipv6Addr, std::net::Ipv6Addr) =
            (src.parse().unwrap(), dst.parse().unwrap());
        let mut v = vec![0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 1, 0x86, 0xdd];
        let len = (extra.len() + payload.len()) as u16;
        v.extend_from_slice(&[0x60, 0, 0, 0]);
        v.extend_from_slice(&len.to_be_bytes());
        v.extend_from_slice(&[next, 255]);
        v.extend_from_slice(&s.octets());
        v.extend_from_slice(&d.octets());
        v.extend_from_slice(extra);
        v.extend_from_slice(payload);
        v
    }

    #[test]
    fn neighbour_discovery_is_facts_like_arp() {
        let target: std::net::Ipv6Addr = "2001:db8::fe".parse().unwrap();
        let mut ns = vec![135, 0, 0, 0, 0, 0, 0, 0];
        ns.extend_from_slice(&target.octets());
        let mut na = vec![136, 0, 0, 0, 0x60, 0, 0, 0];
        na.extend_from_slice(&target.octets());
        let mut w = Wire::new();
        w.push(ipv6("2001:db8::1", "ff02::1:ff00:fe", 58, &[], &ns));
        w.push(ipv6("2001:db8::fe", "2001:db8::1", 58, &[], &na));
        // A unicast solicitation (the kernel re-checking a neighbour) is no fact.
        w.push(ipv6("2001:db8::1", "2001:db8::fe", 58, &[], &ns));
        // Nor is a message cut short.
        w.push(ipv6("2001:db8::1", "ff02::1:ff00:fe", 58, &[], &ns[..12]));
        let a = w.analyze();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(
            a.ndp,
            [
                NdpFact::Solicit {
                    asker: ip("2001:db8::1"),
                    target: ip("2001:db8::fe"),
                    group: ip("ff02::1:ff00:fe"),
                },
                NdpFact::Advert {
                    owner: ip("2001:db8::fe"),
                    to: ip("2001:db8::1"),
                }
            ]
        );
        assert!(a.conversations.is_empty());
        let mut names = crate::analyze::Names::new();
        names.insert(ip("2001:db8::1"), "client");
        names.insert(ip("2001:db8::fe"), "router");
        let flows = crate::analyze::render_flows(&a, &names);
        assert!(
            flows.starts_with(
                "ndp client asks for router 2001:db8::fe  to ff02::1:ff00:fe\n\
                 ndp router answers client  for 2001:db8::fe\n"
            ),
            "{flows}"
        );
    }

    #[test]
    fn an_ipv6_echo_in_fragments_is_reassembled() {
        // Echo request id 7 seq 1 with 24 data bytes, in two fragments of 16 bytes each.
        let mut echo = vec![128, 0, 0, 0, 0, 7, 0, 1];
        echo.extend_from_slice(&[0x10; 24]);
        let frag = |offset: u16, more: bool| {
            let field = offset | u16::from(more);
            let mut h = vec![58, 0];
            h.extend_from_slice(&field.to_be_bytes());
            h.extend_from_slice(&[0, 0, 0, 9]);
            h
        };
        let mut w = Wire::new();
        w.push(ipv6(
            "2001:db8::1",
            "2001:db8::9",
            44,
            &frag(0, true),
            &echo[..16],
        ));
        w.push(ipv6(
            "2001:db8::1",
            "2001:db8::9",
            44,
            &frag(16, false),
            &echo[16..],
        ));
        let a = w.analyze();
        assert_eq!(a.conversations.len(), 1, "{a:?}");
        assert_eq!(
            a.conversations[0].echo,
            Some(Echo {
                requests: 1,
                replies: 0
            })
        );
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
        assert_eq!(c.outcome, ConnOutcome::Rejected);
        assert_eq!(c.icmp_errors.len(), 1);
        assert_eq!(
            c.icmp_errors[0].description,
            "destination-unreachable port-unreachable (3/3)"
        );
    }
}
