//! tcpdump-like lines, one per packet.
//!
//! Contract: [`PacketLines::line`] renders one dissected frame as
//! `NUMBER TIME PROTO SRC > DST: DETAILS`, where TIME is seconds since the first frame and
//! hosts are named through [`Names`]. TCP lines read like tcpdump's: flags `[S]`, `[S.]`,
//! `[.]`, `[P.]`, `[F.]`, `[R.]`, sequence and acknowledgement numbers relative to each
//! direction's initial sequence number (0 for the SYN itself), window, options and payload
//! length; a recognised application message (DNS, FTP, SMTP, HTTP) follows after the length.
//! The renderer keeps one initial sequence number per TCP direction, so memory grows with the
//! number of flows, not packets. Verbose lines (`-v`) add after TIME the time since the
//! previous line shown (`+0.000123`, Wireshark's `frame.time_delta_displayed`): a caller that
//! renders frames it does not show says which it shows with [`PacketLines::shown`].

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::IpAddr;
use std::time::Duration;

use crate::wire::{self, App, FrameRef, Net, Packet, TcpOption, Transport};

use super::Names;

/// Stateful renderer of tcpdump-like lines. See the module documentation.
#[derive(Debug, Default)]
pub struct PacketLines {
    names: Names,
    verbose: bool,
    first: Option<Duration>,
    /// Time of the last frame shown, for the delta of the next.
    last_shown: Option<Duration>,
    isn: HashMap<(IpAddr, u16, IpAddr, u16), u32>,
}

/// Renders every frame as one line.
pub fn render_packets<'a>(
    frames: impl IntoIterator<Item = FrameRef<'a>>,
    names: &Names,
) -> Vec<String> {
    let mut lines = PacketLines::new(names.clone());
    frames
        .into_iter()
        .map(|f| {
            let pkt = wire::dissect(f.linktype, f.data);
            let line = lines.line(&f, &pkt);
            lines.shown(f.ts);
            line
        })
        .collect()
}

impl PacketLines {
    /// A renderer using `names`.
    pub fn new(names: Names) -> PacketLines {
        PacketLines {
            names,
            ..PacketLines::default()
        }
    }

    /// Also shows the IP header, as `tcpdump -v` does: `(tos 0x0, ttl 64, id 4660, offset 0,
    /// flags [DF], proto tcp (6), length 60)` for IPv4, `(class 0x0, flowlabel 0x0, hlim 64,
    /// next-header udp (17), payload length 20)` for IPv6.
    pub fn verbose(mut self, on: bool) -> PacketLines {
        self.verbose = on;
        self
    }

    fn ip_details(ip: &wire::IpInfo) -> String {
        let proto = wire::names::ip_proto(ip.proto).unwrap_or("unknown");
        let tos = (ip.dscp << 2) | ip.ecn;
        if ip.version == 4 {
            let flags = match (ip.df, ip.mf) {
                (true, true) => "DF+",
                (true, false) => "DF",
                (false, true) => "+",
                (false, false) => "none",
            };
            format!(
                " (tos {tos:#x}, ttl {}, id {}, offset {}, flags [{flags}], proto {proto} ({}), length {})",
                ip.ttl, ip.id, ip.frag_offset, ip.proto, ip.len
            )
        } else {
            format!(
                " (class {tos:#x}, flowlabel {:#x}, hlim {}, next-header {proto} ({}), payload length {})",
                ip.flow_label,
                ip.ttl,
                ip.proto,
                ip.len.saturating_sub(40)
            )
        }
    }

    /// The frame at `ts` was shown: the next line's delta counts from it.
    pub fn shown(&mut self, ts: Duration) {
        self.last_shown = Some(ts);
    }

    /// Seconds since the last frame shown (0 for the first), for a frame at `ts`.
    pub fn delta(&self, ts: Duration) -> Duration {
        self.last_shown
            .map_or(Duration::ZERO, |t| ts.saturating_sub(t))
    }

    fn hp(&self, ip: &IpAddr, port: u16) -> String {
        format!("{}.{port}", self.names.host(ip))
    }

    /// Renders one frame (`pkt` must be `frame.data` dissected).
    pub fn line(&mut self, frame: &FrameRef<'_>, pkt: &Packet) -> String {
        let first = *self.first.get_or_insert(frame.ts);
        let rel = frame.ts.saturating_sub(first);
        let mut s = format!(
            "{} {}.{:06} ",
            frame.number,
            rel.as_secs(),
            rel.subsec_micros()
        );
        if self.verbose {
            let d = self.delta(frame.ts);
            let _ = write!(s, "+{}.{:06} ", d.as_secs(), d.subsec_micros());
        }
        match &pkt.net {
            Net::Arp(a) => {
                let what = if a.is_gratuitous() {
                    format!(
                        "Announcement {} (gratuitous) is-at {}",
                        self.names.host(&IpAddr::V4(a.sender_ip)),
                        a.sender_mac
                    )
                } else if a.op == 1 {
                    format!(
                        "Request who-has {} tell {}",
                        self.names.host(&IpAddr::V4(a.target_ip)),
                        self.names.host(&IpAddr::V4(a.sender_ip))
                    )
                } else if a.op == 2 {
                    format!(
                        "Reply {} is-at {}",
                        self.names.host(&IpAddr::V4(a.sender_ip)),
                        a.sender_mac
                    )
                } else {
                    format!("op {}", a.op)
                };
                let _ = write!(s, "ARP, {what}, length {}", frame.data.len().min(28));
            }
            Net::Ip(ip) => {
                let fam = match (ip.version, self.verbose) {
                    (6, false) => "IP6".to_string(),
                    (_, false) => "IP".to_string(),
                    (6, true) => format!("IP6{}", Self::ip_details(ip)),
                    (_, true) => format!("IP{}", Self::ip_details(ip)),
                };
                match &pkt.transport {
                    Transport::Tcp(t) => {
                        let _ = write!(
                            s,
                            "{fam} {} > {}: {}",
                            self.hp(&ip.src, t.src_port),
                            self.hp(&ip.dst, t.dst_port),
                            self.tcp(ip, t)
                        );
                    }
                    Transport::Udp(u) => {
                        let _ = write!(
                            s,
                            "{fam} {} > {}: UDP, length {}",
                            self.hp(&ip.src, u.src_port),
                            self.hp(&ip.dst, u.dst_port),
                            u.payload_len
                        );
                    }
                    Transport::Icmp(i) => {
                        let _ = write!(
                            s,
                            "{fam} {} > {}: {}",
                            self.names.host(&ip.src),
                            self.names.host(&ip.dst),
                            self.icmp(i, pkt.payload_of(frame.data))
                        );
                    }
                    Transport::None => {
                        let proto = wire::names::ip_proto(ip.proto)
                            .map_or_else(|| format!("ip-proto-{}", ip.proto), str::to_string);
                        let _ = write!(
                            s,
                            "{fam} {} > {}: {proto}",
                            self.names.host(&ip.src),
                            self.names.host(&ip.dst)
                        );
                    }
                }
                if ip.is_fragment() {
                    let _ = write!(
                        s,
                        " (frag id {} offset {}{})",
                        ip.id,
                        ip.frag_offset,
                        if ip.mf { " [MF]" } else { "" }
                    );
                }
            }
            Net::Other(et) => {
                let _ = write!(s, "ethertype {et:#06x}, length {}", frame.orig_len);
            }
            // A link type the dissector does not know is a fact about the file, not a
            // malformed frame: the line names it, as tshark's protocol column does.
            Net::None if matches!(frame.linktype, wire::LinkType::Other(_)) => {
                let _ = write!(
                    s,
                    "{} (not dissected), length {}",
                    frame.linktype, frame.orig_len
                );
                return s;
            }
            Net::None => {
                let _ = write!(s, "unknown, length {}", frame.orig_len);
            }
        }
        match &pkt.app {
            Some(App::Dns(d)) => {
                let _ = write!(s, ": {}", dns_summary(d));
            }
            Some(App::Dhcp(m)) => {
                let _ = write!(s, ": {}", m.summary());
            }
            Some(App::Lines { proto, lines }) => {
                if let Some(first) = lines.first() {
                    let _ = write!(s, ": {} {}", proto.name(), first);
                    if lines.len() > 1 {
                        let _ = write!(s, " (+{} lines)", lines.len() - 1);
                    }
                }
            }
            None => {}
        }
        if let Some(e) = &pkt.error {
            let _ = write!(s, " [malformed: {e}]");
        }
        s
    }

    fn tcp(&mut self, ip: &wire::IpInfo, t: &wire::Tcp) -> String {
        let key = (ip.src, t.src_port, ip.dst, t.dst_port);
        if t.flags.syn() {
            self.isn.insert(key, t.seq);
        }
        let base = *self.isn.entry(key).or_insert(t.seq.wrapping_sub(1));
        let seq = t.seq.wrapping_sub(base);
        let mut s = format!("Flags [{}], ", t.flags);
        if t.payload_len > 0 {
            let _ = write!(s, "seq {}:{}, ", seq, seq.wrapping_add(t.payload_len));
        } else if t.flags.syn() || t.flags.fin() || t.flags.rst() {
            let _ = write!(s, "seq {seq}, ");
        }
        if t.flags.ack() {
            let rkey = (ip.dst, t.dst_port, ip.src, t.src_port);
            let ack = match self.isn.get(&rkey) {
                Some(b) => t.ack.wrapping_sub(*b),
                None => t.ack,
            };
            let _ = write!(s, "ack {ack}, ");
        }
        let _ = write!(s, "win {}", t.window);
        let opts = t.options();
        if !opts.is_empty() {
            let o: Vec<String> = opts.iter().map(option).collect();
            let _ = write!(s, ", options [{}]", o.join(","));
        }
        let _ = write!(s, ", length {}", t.payload_len);
        s
    }

    /// An ICMP message; `body` is what follows its first 8 bytes.
    fn icmp(&self, i: &wire::Icmp, body: &[u8]) -> String {
        let mut s = format!(
            "{} {}",
            if i.v6 { "ICMP6" } else { "ICMP" },
            wire::names::icmp_describe(i.v6, i.icmp_type, i.code)
        );
        // Neighbour discovery names its target address first, as tcpdump prints it.
        let target = body.get(..16).and_then(|t| <[u8; 16]>::try_from(t).ok());
        match (i.v6, i.icmp_type, target) {
            (true, 135, Some(t)) => {
                let _ = write!(s, ", who has {}", self.names.host(&IpAddr::from(t)));
            }
            (true, 136, Some(t)) => {
                let _ = write!(s, ", tgt is {}", self.names.host(&IpAddr::from(t)));
            }
            _ => {}
        }
        if i.echo().is_some() {
            let _ = write!(s, ", id {}, seq {}", i.echo_id(), i.echo_seq());
        }
        if let Some(m) = i.mtu() {
            let _ = write!(s, ", mtu {m}");
        }
        if let Some(q) = &i.quoted {
            let proto = wire::names::ip_proto(q.proto)
                .map_or_else(|| format!("proto-{}", q.proto), str::to_string);
            match (q.src_port, q.dst_port) {
                (Some(sp), Some(dp)) => {
                    let _ = write!(
                        s,
                        ", quoting {proto} {} > {}",
                        self.hp(&q.src, sp),
                        self.hp(&q.dst, dp)
                    );
                }
                _ => {
                    let _ = write!(
                        s,
                        ", quoting {proto} {} > {}",
                        self.names.host(&q.src),
                        self.names.host(&q.dst)
                    );
                }
            }
        }
        s
    }
}

fn option(o: &TcpOption) -> String {
    match o {
        TcpOption::Nop => "nop".into(),
        TcpOption::Mss(v) => format!("mss {v}"),
        TcpOption::WindowScale(v) => format!("wscale {v}"),
        TcpOption::SackPermitted => "sackOK".into(),
        TcpOption::Sack(b) => {
            let blocks: Vec<String> = b.iter().map(|(l, r)| format!("{{{l}:{r}}}")).collect();
            format!("sack {} {}", b.len(), blocks.join(""))
        }
        TcpOption::Timestamp(v, e) => format!("TS val {v} ecr {e}"),
        TcpOption::Unknown(k) => format!("opt-{k}"),
    }
}

/// `DNS query 0x1a2b MX example.test.` / `DNS response 0x1a2b NOERROR MX 10 mail.example.test.`
pub fn dns_summary(d: &wire::Dns) -> String {
    let q: Vec<String> = d
        .questions
        .iter()
        .map(|q| format!("{} {}", q.qtype, q.name))
        .collect();
    if d.response {
        let a: Vec<String> = d
            .answers
            .iter()
            .map(|r| format!("{} {}", r.rtype, r.data))
            .collect();
        let mut s = format!("DNS response {:#06x} {} {}", d.id, q.join(", "), d.rcode);
        if !a.is_empty() {
            let _ = write!(s, " {}", a.join(", "));
        }
        s
    } else {
        format!("DNS query {:#06x} {}", d.id, q.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture::*;
    use super::*;
    use crate::wire::Frame;

    #[test]
    fn tcpdump_like_lines_with_relative_numbers() {
        let mut w = Wire::new();
        w.session(
            40000,
            80,
            b"GET / HTTP/1.1\r\n\r\n",
            b"HTTP/1.1 200 OK\r\n\r\n",
        );
        let lines = render_packets(w.frames.iter().map(Frame::as_ref), &Wire::names());
        assert_eq!(
            lines[0],
            "1 0.000000 IP client.40000 > server.80: Flags [S], seq 0, win 64000, length 0"
        );
        assert_eq!(
            lines[1],
            "2 0.010000 IP server.80 > client.40000: Flags [S.], seq 0, ack 1, win 64000, length 0"
        );
        assert_eq!(
            lines[3],
            "4 0.030000 IP client.40000 > server.80: Flags [P.], seq 1:19, ack 1, win 64000, length 18: HTTP GET / HTTP/1.1"
        );
        assert!(
            lines[7].contains("Flags [F.], seq 19, ack 20"),
            "{}",
            lines[7]
        );
    }

    #[test]
    fn verbose_shows_the_ip_header() {
        let mut w = Wire::new();
        w.tcp(CLIENT, SERVER, 40000, 80, 1, 0, S, b"");
        let f = w.frames[0].as_ref();
        let pkt = wire::dissect(f.linktype, f.data);
        let line = PacketLines::new(Wire::names()).verbose(true).line(&f, &pkt);
        assert!(
            line.contains("IP (tos 0x0, ttl 64, id 0, offset 0, flags [DF], proto tcp (6), length 40) client.40000"),
            "{line}"
        );
    }

    #[test]
    fn verbose_ipv6_shows_class_flow_label_and_hop_limit_and_ndp_its_target() {
        // Class 0xb8 (DSCP 46), flow label 0x12345, hop limit 255: a neighbour solicitation.
        let target: std::net::Ipv6Addr = "2001:db8::fe".parse().unwrap();
        let mut v = vec![0x6b, 0x81, 0x23, 0x45, 0, 24, 58, 255];
        v.extend_from_slice(
            &"2001:db8::1"
                .parse::<std::net::Ipv6Addr>()
                .unwrap()
                .octets(),
        );
        v.extend_from_slice(
            &"ff02::1:ff00:fe"
                .parse::<std::net::Ipv6Addr>()
                .unwrap()
                .octets(),
        );
        v.extend_from_slice(&[135, 0, 0, 0, 0, 0, 0, 0]);
        v.extend_from_slice(&target.octets());
        let mut frame = vec![0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 1, 0x86, 0xdd];
        frame.extend_from_slice(&v);
        let mut w = Wire::new();
        w.push(frame);
        let f = w.frames[0].as_ref();
        let pkt = wire::dissect(f.linktype, f.data);
        let mut names = Names::new();
        names.insert(IpAddr::V6(target), "router");
        let line = PacketLines::new(names).verbose(true).line(&f, &pkt);
        assert!(
            line.ends_with(
                "IP6 (class 0xb8, flowlabel 0x12345, hlim 255, next-header icmpv6 (58), payload \
                 length 24) 2001:db8::1 > ff02::1:ff00:fe: ICMP6 neighbor-solicitation (135/0), \
                 who has router"
            ),
            "{line}"
        );
    }
}
