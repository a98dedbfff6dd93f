//! TCP sequence tracking: each direction's sequence space relative to its initial sequence
//! number, payload delivered in stream order (segments that arrive early are held, within a
//! bound), retransmissions and reordering told apart by a 3 ms window, and the handshake and
//! close read from the flags.
//!
//! Contract: memory per conversation is bounded by [`MAX_PENDING`] held bytes per direction;
//! sequence numbers wrap as on the wire.

use super::*;

/// Out-of-order data held per direction while waiting for a gap to fill.
pub(super) const MAX_PENDING: usize = 1024 * 1024;
/// A gap filled sooner than this is reordering, later a retransmission.
pub(super) const REORDER_WINDOW: Duration = Duration::from_millis(3);

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

#[derive(Debug, Default)]
pub(super) struct TcpDir {
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
    pub(super) fn rel(&self, seq: u32) -> i64 {
        let base = self.base.unwrap_or(seq);
        let next_abs = base.wrapping_add(self.next as u32);
        self.next as i64 + i64::from(seq.wrapping_sub(next_abs) as i32)
    }
}

#[derive(Debug, Default)]
pub(super) struct TcpState {
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
    rtt: Option<Duration>,
}

impl TcpState {
    pub(super) fn closed(&self) -> bool {
        self.close.rst.is_some() || (self.close.fin[0] && self.close.fin[1])
    }
}

impl Analyzer {
    pub(super) fn tcp(
        &mut self,
        frame: &FrameRef<'_>,
        ip: &wire::IpInfo,
        t: &wire::Tcp,
        payload: &[u8],
        pkt: &Packet,
    ) {
        let (src, dst) = ends(ip, t.src_port, t.dst_port);
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
        self.count(i, dir, frame, ip);
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
                st.rtt = Some(frame.ts.saturating_sub(self.out.conversations[i].start));
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

    /// Computes a conversation's final facts from its state.
    pub(super) fn settle(&mut self, i: usize) {
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
                    ConnOutcome::Reset
                } else if st.synack && !st.final_ack && !data {
                    ConnOutcome::HalfOpen
                } else {
                    ConnOutcome::Established
                }
            } else if st.close.rst == Some(Dir::Reverse) {
                ConnOutcome::Refused
            } else if rejected {
                ConnOutcome::Rejected
            } else {
                ConnOutcome::NoAnswer
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
                rtt: st.rtt,
            });
        } else {
            c.outcome = if c.packets[1] > 0 {
                ConnOutcome::Answered
            } else if rejected {
                ConnOutcome::Rejected
            } else {
                ConnOutcome::NoAnswer
            };
        }
    }
}

/// Delivers held segments that are now in stream order.
pub(super) fn drain(
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
pub(super) fn skip_gap(
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

pub(super) fn deliver(
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

#[cfg(test)]
mod tests {
    use super::super::super::fixture::*;
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
        assert_eq!(t.outcome, ConnOutcome::Established);
        assert_eq!(t.close.fin_first, Some(Dir::Forward));
        assert_eq!(t.close.fin, [true, true]);
        assert_eq!(c.payload_bytes, [18, 21]);
        assert_eq!(c.transcript[1].bytes, b"HTTP/1.1 200 OK\r\n\r\nhi");
        assert_eq!(t.retransmissions, [0, 0]);
        assert_eq!(c.packets, [6, 4]);
    }

    #[test]
    fn retransmission_and_reordering() {
        let mut w = Wire::new();
        let (c, s) = (100u32, 900u32);
        w.handshake(40000, 9, c, s);
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
}
