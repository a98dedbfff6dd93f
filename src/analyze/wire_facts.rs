//! Packet-level facts of one capture that the conversations do not keep: the send times of
//! each SYN, the fragments of each fragmented datagram, every TCP payload length, the smallest
//! TTL per source, and how many frames carried a non-zero Ethernet header. The checks of a
//! scenario's `capture` expectations judge them (SYN backoff, fragments, MSS-sized segments,
//! a loopback's zero Ethernet header, the side a capture was taken on).
//!
//! Contract: [`WireFacts`] is fed each frame with its dissection, in capture order, in the same
//! pass as the analysis (see [`super::analyze_file_feeding`]); it never fails and keeps a
//! pure function of the frames it was given. Its maps are ordered, so whoever reads them sees
//! the same order every time.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use super::FrameSink;
use crate::wire::{FrameRef, Link, Net, Packet, Transport};

/// A SYN's identity: source, source port, destination, destination port, sequence number.
pub type SynKey = (IpAddr, u16, IpAddr, u16, u32);

/// Packet-level facts of one capture. See the module documentation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WireFacts {
    /// Capture times of each SYN (without ACK), retransmissions included.
    pub syns: BTreeMap<SynKey, Vec<Duration>>,
    /// Fragments per (source, IP id): (offset, more fragments), in capture order.
    pub fragments: BTreeMap<(IpAddr, u32), Vec<(u32, bool)>>,
    /// TCP segments that carried a payload, by payload length.
    pub tcp_payloads: BTreeMap<u32, u64>,
    /// Frames seen.
    pub frames: u64,
    /// Frames whose link header is not an Ethernet header with zero source and destination.
    pub nonzero_ethernet: u64,
    /// Smallest TTL seen per source address.
    pub ttl: BTreeMap<IpAddr, u8>,
}

impl FrameSink for WireFacts {
    fn push(&mut self, frame: &FrameRef<'_>, packet: &Packet) {
        self.frames += 1;
        match &packet.link {
            Link::Ethernet { src, dst, .. } if src.0 == [0; 6] && dst.0 == [0; 6] => {}
            _ => self.nonzero_ethernet += 1,
        }
        let Net::Ip(ip) = &packet.net else { return };
        let ttl = self.ttl.entry(ip.src).or_insert(ip.ttl);
        *ttl = (*ttl).min(ip.ttl);
        if ip.is_fragment() {
            self.fragments
                .entry((ip.src, ip.id))
                .or_default()
                .push((ip.frag_offset, ip.mf));
        }
        if let Transport::Tcp(tcp) = &packet.transport {
            if tcp.flags.syn() && !tcp.flags.ack() {
                self.syns
                    .entry((ip.src, tcp.src_port, ip.dst, tcp.dst_port, tcp.seq))
                    .or_default()
                    .push(frame.ts);
            }
            if tcp.payload_len > 0 {
                *self.tcp_payloads.entry(tcp.payload_len).or_default() += 1;
            }
        }
    }
}
