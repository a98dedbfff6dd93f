//! What a display filter knows about a frame beyond its own bytes: facts that depend on the
//! frames before it, computed as Wireshark computes them.
//!
//! Contract: [`Tracker::observe`] takes every frame in capture order (whether or not it will
//! match) and returns its [`Facts`]: time since the first frame and since the previous one,
//! `tcp.stream` and `udp.stream` numbers, relative TCP sequence and acknowledgement numbers,
//! the scaled window, `tcp.analysis.retransmission`, whether a segment is FTP data (a port an
//! FTP control connection announced), whether an SMTP client segment is message body, and
//! whether a segment belongs to an HTTP head that spans several segments ([`HttpPdu`]).
//! Memory grows with the number of conversations, never with the number of frames.
//!
//! The TCP rules are ported from Wireshark 4.0's packet-tcp.c: a SYN whose sequence number
//! differs from the direction's base starts a new stream; the base is the SYN's sequence
//! number, else one before the first sequence number seen (or one before the acknowledgement
//! number the other side sends); a segment carrying data, SYN or FIN that does not advance
//! past the highest sequence number seen that way is a retransmission unless it is a
//! keep-alive or out of order (within the handshake's round-trip time of the highest
//! segment, 3 ms without a handshake, and not a copy of it: a copy ends where the highest one
//! did, its SYN or FIN counted); data already acknowledged is a retransmission however soon
//! it comes (Wireshark's spurious retransmission, which also sets
//! `tcp.analysis.retransmission`). An ICMP
//! error's quoted TCP or UDP header is looked up in (or opens) its conversation, as Wireshark
//! does, so later stream numbers agree.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

use crate::wire::{App, AppProto, FrameRef, Packet, TcpFlags};

use super::eval;

/// Per-frame facts. See the module documentation.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Facts {
    /// Seconds since the first frame (negative when the clock went back).
    pub time_rel: f64,
    /// Seconds since the previous frame.
    pub time_delta: f64,
    /// `tcp.stream` of the frame's own TCP segment.
    pub tcp_stream: Option<u64>,
    /// Relative sequence number.
    pub tcp_seq: u32,
    /// Relative acknowledgement number (raw when the ACK flag is clear).
    pub tcp_ack: u32,
    /// Window after scaling.
    pub tcp_window: u64,
    /// `tcp.analysis.retransmission`.
    pub retransmission: bool,
    /// `udp.stream` of the frame's own UDP datagram.
    pub udp_stream: Option<u64>,
    /// Stream of the TCP or UDP conversation an ICMP error quotes.
    pub quoted_stream: Option<u64>,
    /// A segment with payload on an announced FTP data connection.
    pub ftp_data: bool,
    /// An SMTP client segment inside DATA (message body, not commands).
    pub smtp_body: bool,
    /// How HTTP reads the segment.
    pub http: HttpPdu,
}

/// How the HTTP dissector reads a TCP segment. As in Wireshark (which reassembles HTTP heads
/// and bodies by default), a message not complete in its segment (its head up to the blank
/// line, then the body its `Content-Length` or chunked encoding announces; none for a reply
/// to HEAD, 1xx, 204 or 304) waits for the segments that follow in sequence: those before the
/// last show no HTTP, and the last shows the whole message.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum HttpPdu {
    /// The segment is read on its own.
    #[default]
    Own,
    /// Part of a head still incomplete: no HTTP in this frame.
    Part,
    /// The segment that completes a message begun earlier: [`Tracker::http_head`] holds it.
    Whole,
}

/// An HTTP message gathered from several segments.
#[derive(Debug)]
pub(crate) struct HttpHead {
    /// Its head's lines, the request or status line first, without the blank line.
    pub lines: Vec<String>,
    /// Its bytes: the head, blank line included, and the body.
    pub bytes: Vec<u8>,
}

/// A message being gathered in one direction of a connection.
#[derive(Debug)]
struct HttpPending {
    /// The sequence number the next segment must start at.
    next: u32,
    bytes: Vec<u8>,
    /// A reply to HEAD: no body, whatever its head announces.
    bodiless: bool,
}

/// A message that grows past this is given up on, its segments then read on their own.
const HTTP_MESSAGE_MAX: usize = 64 << 20;

/// Which facts the filter needs, so a filter on `tcp.len` pays for no TCP tracking.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Needs {
    pub tcp: bool,
    pub udp: bool,
    pub ftp: bool,
    pub smtp: bool,
    pub http: bool,
}

type Key = (IpAddr, u16, IpAddr, u16);

fn key(a: IpAddr, ap: u16, b: IpAddr, bp: u16) -> Key {
    if (a, ap) <= (b, bp) {
        (a, ap, b, bp)
    } else {
        (b, bp, a, ap)
    }
}

/// One direction of a TCP conversation, in relative sequence space.
#[derive(Debug)]
struct Half {
    base: Option<u32>,
    nextseq: u32,
    nextseq_ns: i128,
    lastack: u32,
    lastack_ns: i128,
    dupacks: u32,
    window: u64,
    keepalive: bool,
    syn_seen: bool,
    wscale: Option<u8>,
}

impl Default for Half {
    fn default() -> Half {
        // Wireshark starts the window at its maximum so that no segment looks like a
        // zero-window probe before a window was seen.
        Half {
            base: None,
            nextseq: 0,
            nextseq_ns: 0,
            lastack: 0,
            lastack_ns: 0,
            dupacks: 0,
            window: u64::from(u32::MAX),
            keepalive: false,
            syn_seen: false,
            wscale: None,
        }
    }
}

#[derive(Debug)]
struct TcpConv {
    stream: u64,
    /// The first sender: direction 0.
    a: (IpAddr, u16),
    dirs: [Half; 2],
    mru_syn_ns: Option<i128>,
    first_rtt_ns: Option<i128>,
}

/// An FTP data endpoint announced on a control connection: the side that listens, its port,
/// and the peer allowed to connect.
type FtpExpect = (IpAddr, u16, IpAddr);

/// Streams facts over the frames of one capture. See the module documentation.
#[derive(Debug, Default)]
pub(crate) struct Tracker {
    needs: Needs,
    first_ns: Option<i128>,
    prev_ns: Option<i128>,
    tcp: HashMap<Key, usize>,
    convs: Vec<TcpConv>,
    udp: HashMap<Key, u64>,
    ftp: Vec<FtpExpect>,
    /// SMTP connections by key: true once the server accepted DATA (354).
    smtp: HashMap<Key, SmtpState>,
    /// HTTP messages being gathered, by direction (source, then destination).
    http: HashMap<Key, HttpPending>,
    /// HEAD requests not answered yet, by connection.
    http_head_requests: HashMap<Key, u32>,
    /// The head the last frame completed, when it did.
    http_head: Option<HttpHead>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SmtpState {
    DataSent,
    Body,
}

/// Where an HTTP head ends: just past its blank line.
fn head_end(b: &[u8]) -> Option<usize> {
    b.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

/// Where the HTTP message that starts `b` ends, once all of it is there.
fn message_end(b: &[u8], bodiless: bool) -> Option<usize> {
    let head_len = head_end(b)?;
    let head = String::from_utf8_lossy(&b[..head_len]);
    let mut lines = head.split("\r\n");
    let first = lines.next().unwrap_or("");
    let status = first
        .strip_prefix("HTTP/")
        .and_then(|r| r.split(' ').nth(1))
        .and_then(|c| c.parse::<u16>().ok());
    if bodiless || status.is_some_and(|c| c / 100 == 1 || c == 204 || c == 304) {
        return Some(head_len);
    }
    let header = |name: &str| {
        lines.clone().find_map(|l| {
            let (h, v) = l.split_once(':')?;
            h.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    };
    if header("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked")) {
        return chunked_end(&b[head_len..]).map(|n| head_len + n);
    }
    match header("content-length").and_then(|v| v.parse::<usize>().ok()) {
        Some(n) => (b.len() - head_len >= n).then_some(head_len + n),
        None => Some(head_len),
    }
}

/// The length of a chunked body once its last chunk and trailer are there.
fn chunked_end(b: &[u8]) -> Option<usize> {
    let mut at = 0;
    loop {
        let line = b.get(at..)?.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&b[at..at + line]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        at += line + 2;
        if size == 0 {
            // The trailer: header lines up to a blank one.
            loop {
                let end = b.get(at..)?.windows(2).position(|w| w == b"\r\n")?;
                at += end + 2;
                if end == 0 {
                    return Some(at);
                }
            }
        }
        at = at.checked_add(size)?.checked_add(2)?;
        if at > b.len() {
            return None;
        }
    }
}

fn ns(d: Duration) -> i128 {
    d.as_nanos() as i128
}

fn lt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

fn le(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) <= 0
}

/// Wireshark measures elapsed time as an unsigned count: a clock that went back reads as
/// a very long time.
fn elapsed(now: i128, then: i128) -> u64 {
    (now - then) as u64
}

impl Tracker {
    pub(crate) fn new(needs: Needs) -> Tracker {
        Tracker {
            needs,
            ..Tracker::default()
        }
    }

    /// The facts of the next frame. See the module documentation.
    /// `up` is the reassembled datagram on the fragment that completes one, and its bytes.
    pub(crate) fn observe(
        &mut self,
        frame: &FrameRef<'_>,
        pkt: &Packet,
        up: Option<(&Packet, &[u8])>,
    ) -> Facts {
        let now = ns(frame.ts);
        self.http_head = None;
        let first = *self.first_ns.get_or_insert(now);
        let prev = self.prev_ns.replace(now).unwrap_or(now);
        let mut f = Facts {
            time_rel: (now - first) as f64 / 1e9,
            time_delta: (now - prev) as f64 / 1e9,
            ..Facts::default()
        };
        let Some(ip) = eval::ip(pkt) else { return f };
        let (pkt, data) = up.unwrap_or((pkt, frame.data));
        if self.needs.tcp || self.needs.udp {
            if let Some(q) = eval::quoted(pkt, data) {
                if let Some((sp, dp)) = q.ports {
                    let k = key(q.src, sp, q.dst, dp);
                    f.quoted_stream = match q.proto {
                        6 if self.needs.tcp => Some(self.tcp_lookup(k, (q.src, sp))),
                        17 if self.needs.udp => Some(self.udp_lookup(k)),
                        _ => None,
                    };
                }
            }
        }
        if let Some(u) = eval::udp(pkt) {
            if self.needs.udp {
                f.udp_stream = Some(self.udp_lookup(key(ip.src, u.src_port, ip.dst, u.dst_port)));
            }
        }
        let Some(t) = eval::tcp(pkt) else { return f };
        let k = key(ip.src, t.src_port, ip.dst, t.dst_port);
        if self.needs.tcp {
            self.tcp_segment(&mut f, now, k, (ip.src, t.src_port), t);
        }
        if self.needs.ftp && t.payload_len > 0 {
            f.ftp_data = self.ftp.iter().any(|&(l, lp, peer)| {
                (ip.src == l && t.src_port == lp && ip.dst == peer)
                    || (ip.dst == l && t.dst_port == lp && ip.src == peer)
            }) || t.src_port == 20
                || t.dst_port == 20;
            if let Some(App::Lines {
                proto: AppProto::Ftp,
                lines,
            }) = &pkt.app
            {
                let server = t.src_port == 21;
                for line in lines {
                    if let Some(e) = ftp_announce(line, server, ip.src, ip.dst) {
                        self.ftp.push(e);
                    }
                }
            }
        }
        if self.needs.smtp
            && t.payload_len > 0
            && (eval::smtp_port(t.src_port) || eval::smtp_port(t.dst_port))
        {
            f.smtp_body = self.smtp_segment(k, eval::smtp_port(t.dst_port), pkt);
        }
        if self.needs.http && t.payload_len > 0 {
            let dir = (ip.src, t.src_port, ip.dst, t.dst_port);
            f.http = self.http_segment(dir, t.seq, pkt.payload_of(data));
        }
        f
    }

    /// The head the last observed frame completed ([`HttpPdu::Whole`]).
    pub(crate) fn http_head(&self) -> Option<&HttpHead> {
        self.http_head.as_ref()
    }

    fn http_segment(&mut self, dir: Key, seq: u32, payload: &[u8]) -> HttpPdu {
        let len = payload.len() as u32;
        if let Some(p) = self.http.get_mut(&dir) {
            if seq != p.next {
                // A copy of a part already gathered shows no HTTP either; past a gap the
                // message cannot be completed, and the segment is read on its own.
                if lt(seq, p.next) {
                    return HttpPdu::Part;
                }
                self.http.remove(&dir);
                return HttpPdu::Own;
            }
            p.bytes.extend_from_slice(payload);
            p.next = p.next.wrapping_add(len);
            let Some(end) = message_end(&p.bytes, p.bodiless) else {
                if p.bytes.len() > HTTP_MESSAGE_MAX {
                    self.http.remove(&dir);
                }
                return HttpPdu::Part;
            };
            let mut bytes = self.http.remove(&dir).map(|p| p.bytes).unwrap_or_default();
            bytes.truncate(end);
            let lines = crate::wire::app::lines(&bytes, AppProto::Http).unwrap_or_default();
            self.http_head = Some(HttpHead { lines, bytes });
            return HttpPdu::Whole;
        }
        if !crate::wire::app::looks_like_http(payload) {
            return HttpPdu::Own;
        }
        let first = payload.split(|&b| b == b'\n').next().unwrap_or(&[]);
        let bodiless = self.http_note_head(dir, std::str::from_utf8(first).ok());
        if message_end(payload, bodiless).is_some() {
            return HttpPdu::Own;
        }
        self.http.insert(
            dir,
            HttpPending {
                next: seq.wrapping_add(len),
                bytes: payload.to_vec(),
                bodiless,
            },
        );
        HttpPdu::Part
    }

    /// Notes a message's first line: a HEAD request is remembered, and the reply it gets is
    /// bodiless (the return value).
    fn http_note_head(&mut self, dir: Key, first: Option<&str>) -> bool {
        let conn = key(dir.0, dir.1, dir.2, dir.3);
        let first = first.unwrap_or("");
        if first.starts_with("HEAD ") {
            *self.http_head_requests.entry(conn).or_default() += 1;
            return false;
        }
        if !first.starts_with("HTTP/") {
            return false;
        }
        match self.http_head_requests.get_mut(&conn) {
            Some(n) if *n > 0 => {
                *n -= 1;
                true
            }
            _ => false,
        }
    }

    fn udp_lookup(&mut self, k: Key) -> u64 {
        let n = self.udp.len() as u64;
        *self.udp.entry(k).or_insert(n)
    }

    fn new_conv(&mut self, k: Key, a: (IpAddr, u16)) -> usize {
        self.convs.push(TcpConv {
            stream: self.convs.len() as u64,
            a,
            dirs: Default::default(),
            mru_syn_ns: None,
            first_rtt_ns: None,
        });
        let i = self.convs.len() - 1;
        self.tcp.insert(k, i);
        i
    }

    fn tcp_lookup(&mut self, k: Key, src: (IpAddr, u16)) -> u64 {
        let i = match self.tcp.get(&k) {
            Some(&i) => i,
            None => self.new_conv(k, src),
        };
        self.convs[i].stream
    }

    fn tcp_segment(
        &mut self,
        f: &mut Facts,
        now: i128,
        k: Key,
        src: (IpAddr, u16),
        t: &crate::wire::Tcp,
    ) {
        let flags = t.flags;
        let syn_only = flags.syn() && !flags.ack();
        let i = match self.tcp.get(&k) {
            Some(&i) => {
                let c = &self.convs[i];
                let d = usize::from(c.a != src);
                if syn_only && c.dirs[d].base.is_some_and(|b| b != t.seq) {
                    self.new_conv(k, src)
                } else {
                    i
                }
            }
            None => self.new_conv(k, src),
        };
        let c = &mut self.convs[i];
        f.tcp_stream = Some(c.stream);
        let d = usize::from(c.a != src);
        if syn_only {
            c.mru_syn_ns = Some(now);
        } else if !flags.syn() && flags.ack() && c.first_rtt_ns.is_none() {
            if let Some(s) = c.mru_syn_ns {
                c.first_rtt_ns = Some(now - s);
            }
        }
        let (fwd, rev) = if d == 0 {
            let (x, y) = c.dirs.split_at_mut(1);
            (&mut x[0], &mut y[0])
        } else {
            let (x, y) = c.dirs.split_at_mut(1);
            (&mut y[0], &mut x[0])
        };
        if fwd.base.is_none() {
            fwd.base = Some(if flags.syn() {
                t.seq
            } else {
                t.seq.wrapping_sub(1)
            });
        }
        if rev.base.is_none() && flags.ack() {
            rev.base = Some(t.ack.wrapping_sub(1));
        }
        let seq = t.seq.wrapping_sub(fwd.base.unwrap_or(0));
        let ack = if flags.ack() {
            t.ack.wrapping_sub(rev.base.unwrap_or(0))
        } else {
            t.ack
        };
        if flags.syn() {
            fwd.syn_seen = true;
            fwd.wscale = t.options().into_iter().find_map(|o| match o {
                crate::wire::TcpOption::WindowScale(s) => Some(s.min(14)),
                _ => None,
            });
        }
        // As Wireshark: a direction's windows are scaled by its own SYN's shift, unless the
        // other side's SYN was seen without the option (then neither side scales); a peer
        // whose SYN was never captured does not turn scaling off.
        let shift = match (fwd.wscale, rev.wscale) {
            (Some(s), Some(_)) if !flags.syn() && fwd.syn_seen && rev.syn_seen => s,
            (Some(s), None) if !flags.syn() && fwd.syn_seen && !rev.syn_seen => s,
            _ => 0,
        };
        let window = u64::from(t.window) << shift;
        f.tcp_seq = seq;
        f.tcp_ack = ack;
        f.tcp_window = window;
        f.retransmission = analyse(
            fwd,
            rev,
            c.first_rtt_ns,
            now,
            seq,
            ack,
            t.payload_len,
            flags,
            window,
        );
    }

    /// Whether this SMTP segment is message body; moves the DATA state along.
    fn smtp_segment(&mut self, k: Key, to_server: bool, pkt: &Packet) -> bool {
        let lines = match &pkt.app {
            Some(App::Lines { lines, .. }) => lines.as_slice(),
            _ => &[],
        };
        let state = self.smtp.get(&k).copied();
        if to_server {
            if state == Some(SmtpState::Body) {
                if lines.last().is_some_and(|l| l == ".") {
                    self.smtp.remove(&k);
                }
                return true;
            }
            if lines.iter().any(|l| l.eq_ignore_ascii_case("DATA")) {
                self.smtp.insert(k, SmtpState::DataSent);
            }
        } else if state == Some(SmtpState::DataSent) {
            if lines.first().is_some_and(|l| l.starts_with("354")) {
                self.smtp.insert(k, SmtpState::Body);
            } else {
                self.smtp.remove(&k);
            }
        }
        false
    }
}

/// Wireshark's sequence analysis for one segment; returns whether it is a retransmission
/// (plain or fast).
#[allow(clippy::too_many_arguments)]
fn analyse(
    fwd: &mut Half,
    rev: &Half,
    first_rtt: Option<i128>,
    now: i128,
    seq: u32,
    ack: u32,
    seglen: u32,
    flags: TcpFlags,
    window: u64,
) -> bool {
    let sfr = flags.has(TcpFlags::SYN) || flags.fin() || flags.rst();
    let mut zero_window_probe = false;
    let mut keepalive = false;
    if seglen == 1 && seq == fwd.nextseq && rev.window == 0 {
        zero_window_probe = true;
    } else {
        if seglen <= 1 && seq == fwd.nextseq.wrapping_sub(1) && !sfr {
            keepalive = true;
        }
        let same = seglen == 0
            && window != 0
            && window == fwd.window
            && seq == fwd.nextseq
            && ack == fwd.lastack
            && !sfr;
        if same && !rev.keepalive {
            fwd.dupacks += 1;
        }
    }
    if ack != fwd.lastack {
        fwd.dupacks = 0;
    }
    let mut retransmission = false;
    let syn_fin = flags.syn() || flags.fin();
    if (seglen > 0 || syn_fin) && !keepalive {
        let mut not_advanced = fwd.nextseq != 0 && lt(seq, fwd.nextseq);
        if seglen > 1 && fwd.nextseq.wrapping_sub(1) == seq {
            not_advanced = false;
        }
        // Data the other side has already acknowledged is a spurious retransmission, which
        // Wireshark marks a retransmission too.
        let spurious = seglen > 0 && rev.lastack != 0 && le(seq.wrapping_add(seglen), rev.lastack);
        if spurious && not_advanced {
            retransmission = true;
        } else if not_advanced {
            let fast =
                rev.dupacks >= 2 && rev.lastack == seq && elapsed(now, rev.lastack_ns) < 20_000_000;
            let threshold = match first_rtt {
                Some(r) if r != 0 => r as u64,
                _ => 3_000_000,
            };
            // A copy of the highest segment (its end, SYN or FIN counted, is the next
            // sequence number) is a retransmission however soon it comes.
            let end = seq.wrapping_add(seglen).wrapping_add(u32::from(syn_fin));
            let out_of_order = elapsed(now, fwd.nextseq_ns) < threshold && fwd.nextseq != end;
            retransmission = fast || !out_of_order;
        }
    }
    if seglen > 0 || syn_fin {
        let mut next = seq.wrapping_add(seglen);
        if syn_fin {
            next = next.wrapping_add(1);
        }
        if (lt(fwd.nextseq, next) || fwd.nextseq == 0) && !zero_window_probe {
            fwd.nextseq = next;
            fwd.nextseq_ns = now;
        }
    }
    fwd.window = window;
    fwd.lastack = ack;
    fwd.lastack_ns = now;
    fwd.keepalive = keepalive;
    retransmission
}

/// A data endpoint announced by an FTP line: `227 ... (h1,h2,h3,h4,p1,p2)` and
/// `229 ... (|||port|)` from the server, `PORT h1,...,p2` and `EPRT |1|addr|port|` from the
/// client.
fn ftp_announce(line: &str, from_server: bool, src: IpAddr, dst: IpAddr) -> Option<FtpExpect> {
    let six = |s: &str| -> Option<(IpAddr, u16)> {
        let n: Vec<u8> = s
            .split(',')
            .map(|p| p.trim().parse().ok())
            .collect::<Option<Vec<u8>>>()?;
        (n.len() == 6).then(|| {
            let ip = IpAddr::from([n[0], n[1], n[2], n[3]]);
            (ip, u16::from(n[4]) << 8 | u16::from(n[5]))
        })
    };
    if from_server {
        if let Some(rest) = line.strip_prefix("227") {
            let inner = rest.split_once('(')?.1.split_once(')')?.0;
            let (ip, port) = six(inner)?;
            return Some((ip, port, dst));
        }
        if let Some(rest) = line.strip_prefix("229") {
            let inner = rest.split_once('(')?.1.split_once(')')?.0;
            let port = inner
                .trim_matches(|c: char| !c.is_ascii_digit())
                .parse()
                .ok()?;
            return Some((src, port, dst));
        }
        return None;
    }
    let (cmd, arg) = line.split_once(' ')?;
    if cmd.eq_ignore_ascii_case("PORT") {
        let (ip, port) = six(arg)?;
        return Some((ip, port, dst));
    }
    if cmd.eq_ignore_ascii_case("EPRT") {
        let d = arg.chars().next()?;
        let parts: Vec<&str> = arg.split(d).collect();
        let ip = parts.get(2)?.parse().ok()?;
        let port = parts.get(3)?.parse().ok()?;
        return Some((ip, port, dst));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ftp_announcements_name_the_listener() {
        let s: IpAddr = "10.0.0.2".parse().unwrap();
        let c: IpAddr = "10.0.0.1".parse().unwrap();
        assert_eq!(
            ftp_announce("227 Entering Passive Mode (10,0,0,2,107,17).", true, s, c),
            Some((s, 27409, c))
        );
        assert_eq!(
            ftp_announce("229 Entering Extended Passive Mode (|||40000|)", true, s, c),
            Some((s, 40000, c))
        );
        assert_eq!(
            ftp_announce("PORT 10,0,0,1,156,64", false, c, s),
            Some((c, 40000, s))
        );
        assert_eq!(
            ftp_announce("EPRT |1|10.0.0.1|40000|", false, c, s),
            Some((c, 40000, s))
        );
        assert_eq!(ftp_announce("230 Login successful.", true, s, c), None);
    }

    fn half() -> (Half, Half) {
        (Half::default(), Half::default())
    }

    #[test]
    fn a_segment_sent_again_later_is_a_retransmission() {
        let (mut a, b) = half();
        let ack = TcpFlags(TcpFlags::ACK | TcpFlags::PSH);
        assert!(!analyse(&mut a, &b, None, 0, 1, 1, 100, ack, 500));
        assert!(!analyse(&mut a, &b, None, 1_000, 101, 1, 100, ack, 500));
        // The first segment again, 200 ms later.
        assert!(analyse(&mut a, &b, None, 200_000_000, 1, 1, 100, ack, 500));
        // A gap filled within 3 ms without a handshake is reordering.
        let (mut a, b) = half();
        assert!(!analyse(&mut a, &b, None, 0, 101, 1, 100, ack, 500));
        assert!(!analyse(&mut a, &b, None, 1_000, 1, 1, 100, ack, 500));
    }

    #[test]
    fn data_already_acknowledged_is_a_retransmission_however_soon() {
        let (mut a, mut b) = half();
        let data = TcpFlags(TcpFlags::ACK | TcpFlags::PSH);
        assert!(!analyse(&mut a, &b, None, 0, 1, 1, 100, data, 500));
        assert!(!analyse(&mut a, &b, None, 1_000, 101, 1, 100, data, 500));
        // The other side acknowledges both segments.
        let ack = TcpFlags(TcpFlags::ACK);
        assert!(!analyse(&mut b, &a, None, 2_000, 1, 201, 0, ack, 500));
        // The first segment again 1 µs later: soon enough to pass for reordering, but its
        // data is acknowledged already (Wireshark's spurious retransmission).
        assert!(analyse(&mut a, &b, None, 3_000, 1, 1, 100, data, 500));
    }

    #[test]
    fn syn_sent_again_is_a_retransmission_keepalive_is_not() {
        let (mut a, b) = half();
        let syn = TcpFlags(TcpFlags::SYN);
        assert!(!analyse(&mut a, &b, None, 0, 0, 0, 0, syn, 64240));
        assert!(analyse(
            &mut a,
            &b,
            None,
            1_000_000_000,
            0,
            0,
            0,
            syn,
            64240
        ));
        let (mut a, b) = half();
        let ack = TcpFlags(TcpFlags::ACK);
        assert!(!analyse(&mut a, &b, None, 0, 1, 1, 10, ack, 500));
        // A keep-alive: one byte before the next sequence number.
        assert!(!analyse(
            &mut a,
            &b,
            None,
            9_000_000_000,
            10,
            1,
            1,
            ack,
            500
        ));
    }

    #[test]
    fn an_http_message_ends_where_its_head_says() {
        let head = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n";
        let mut m = head.to_vec();
        assert_eq!(message_end(&m, false), None, "the body is not there yet");
        m.extend(b"helloEXTRA");
        assert_eq!(message_end(&m, false), Some(head.len() + 5));
        assert_eq!(message_end(head, true), Some(head.len()), "a reply to HEAD");
        let not_modified = b"HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n";
        assert_eq!(message_end(not_modified, false), Some(not_modified.len()));
        let get = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
        assert_eq!(message_end(get, false), Some(get.len()));
        assert_eq!(message_end(b"GET / HTTP/1.1\r\nHost: x\r\n", false), None);
    }

    #[test]
    fn a_chunked_body_ends_after_its_last_chunk_and_trailer() {
        assert_eq!(chunked_end(b"5\r\nhello\r\n0\r\n\r\n"), Some(15));
        assert_eq!(
            chunked_end(b"5;ext=1\r\nhello\r\n0\r\nX-T: 1\r\n\r\n"),
            Some(29)
        );
        assert_eq!(chunked_end(b"5\r\nhello\r\n"), None);
        assert_eq!(chunked_end(b"5\r\nhel"), None);
        assert_eq!(chunked_end(b"zz\r\n"), None);
        assert_eq!(chunked_end(b"ffffffffffffffff\r\n"), None, "no overflow");
    }
}
