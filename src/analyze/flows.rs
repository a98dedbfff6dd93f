//! The flow snapshot: the normalised rendering `labctl test` compares run to run.
//!
//! Contract: [`render_flows`] is a pure function of the [`Analysis`] and the [`Names`], and of
//! nothing that varies between two runs of the same lab. It shows which conversations happened
//! between which hosts and ports, the TCP handshake, close and outcome, payload bytes and
//! transcript each way, ICMP errors and the flow they quote, DNS questions and answers, FTP
//! data connections and their control connection, ARP facts, DHCP messages (`analyze::dhcp`),
//! and the hop distance of each host
//! those flows name.
//! It leaves out timestamps, absolute sequence numbers, windows, MAC addresses, packet counts
//! of TCP (they follow delayed-ACK timing), retransmission counts, DNS transaction ids and
//! ephemeral ports: an initiator port at or above 1024 shows as `*`, an FTP data port as
//! `<pasv>`, `<epsv>`, `<port>` or `<eprt>`; FTP port announcements and HTTP date headers are
//! masked inside transcripts too.
//!
//! The format, one block per conversation in first-seen order:
//!
//! ```text
//! arp client asks for server
//! arp server answers client
//! #1 tcp client:* > server:27664  handshake complete  close fin client-first  outcome established
//!   client > server  16 bytes  "hello on 27664\r\n"
//!   server > client  0 bytes
//! #2 udp client:* > server:161  outcome rejected
//!   client > server  1 datagram  6 bytes  "probe\n"
//!   server > client  0 datagrams
//!   icmp server > client  destination-unreachable port-unreachable (3/3)
//! #3 udp client:* > dns:53  outcome answered
//!   client > dns  1 datagram  29 bytes
//!   dns > client  1 datagram  61 bytes
//!   dns MX example.test. -> NOERROR  MX 10 mail.example.test.
//! hops client 0  server 0  dns 0
//! ```
//!
//! Sides are host names; when both ends have the same name (a capture on loopback), they are
//! `initiator` and `responder` instead. A transcript of one line is shown after the byte count; a longer one on its own lines
//! below, at most 24 lines of at most 96 bytes, then `... N more bytes`. The direction line of
//! a transcript whose FTP port was masked counts the masked bytes and says `(ports masked)`.
//!
//! [`render_flows_shown`] is the same view for a person (`labctl show --flows`): nothing is
//! masked (ports, FTP announcements, HTTP dates are as on the wire), each DNS exchange has its
//! response time (`time 0.002547`, seconds, Wireshark's `dns.time`), and each FTP control
//! connection lists the data ports it announced (`ftp data port 40000 (pasv) used by #2`).

use std::fmt::Write as _;

use super::transcript::{mask_volatile, transcript_lines};
use super::{Addr, Analysis, Conversation, Dir, FtpMode, IcmpError, Names, Proto};

/// Renders the flow snapshot. See the module documentation.
pub fn render_flows(analysis: &Analysis, names: &Names) -> String {
    render(analysis, names, false)
}

/// Renders the flows as `labctl show --flows` shows them: real ports, DNS response times and
/// FTP data ports. See the module documentation.
pub fn render_flows_shown(analysis: &Analysis, names: &Names) -> String {
    render(analysis, names, true)
}

/// The flows; `real` for a person, not a snapshot: nothing masked, times and ports added.
fn render(analysis: &Analysis, names: &Names, real: bool) -> String {
    let mut out = String::new();
    for fact in &analysis.arp {
        let _ = writeln!(out, "{}", arp_line(fact, names));
    }
    for fact in &analysis.ndp {
        let _ = writeln!(out, "{}", ndp_line(fact, names));
    }
    for fact in &analysis.dhcp {
        let _ = writeln!(out, "{}", super::dhcp::line(fact, names));
    }
    // Conversations and unmatched ICMP errors interleave by first frame.
    let mut items: Vec<(u64, Item<'_>)> = analysis
        .conversations
        .iter()
        .map(|c| (c.first_frame, Item::Conv(c)))
        .collect();
    items.extend(
        analysis
            .unmatched_icmp_errors
            .iter()
            .map(|e| (e.frame, Item::Icmp(e))),
    );
    items.sort_by_key(|(frame, _)| *frame);
    let mut seen_errors: Vec<String> = Vec::new();
    for (_, item) in items {
        match item {
            Item::Conv(c) => conversation(&mut out, analysis, c, names, real),
            Item::Icmp(e) => {
                let line = format!(
                    "icmp {} > {}  {}{}  quoting {}",
                    names.host(&e.from),
                    names.host(&e.to),
                    e.description,
                    mtu(e),
                    quoted_flow(e, names, real)
                );
                if !seen_errors.contains(&line) {
                    let _ = writeln!(out, "{line}");
                    seen_errors.push(line);
                }
            }
        }
    }
    // Hop distances of the hosts the flows above name: link-local neighbour discovery and
    // multicast listeners come and go with timers and random addresses.
    let mut named: Vec<std::net::IpAddr> = Vec::new();
    for c in &analysis.conversations {
        named.extend([c.initiator.ip, c.responder.ip]);
        named.extend(c.icmp_errors.iter().map(|e| e.from));
    }
    named.extend(
        analysis
            .unmatched_icmp_errors
            .iter()
            .flat_map(|e| [e.from, e.to]),
    );
    // Endpoints come by address; a link-local IPv6 address is drawn from a random MAC, so
    // those come last and by host name, keeping the line the same from run to run.
    let mut shown: Vec<_> = analysis
        .endpoints
        .iter()
        .filter(|e| named.contains(&e.addr))
        .collect();
    shown.sort_by_cached_key(|e| match e.addr {
        std::net::IpAddr::V6(a) if a.is_unicast_link_local() => Some(names.host(&e.addr)),
        _ => None,
    });
    let mut hops: Vec<String> = Vec::new();
    for e in shown {
        // A host seen by two addresses (IPv6 link-local and global) at the same distance is
        // one entry.
        if let Some(h) = e
            .traits
            .hops
            .map(|h| format!("{} {h}", names.host(&e.addr)))
        {
            if !hops.contains(&h) {
                hops.push(h);
            }
        }
    }
    if !hops.is_empty() {
        let _ = writeln!(out, "hops {}", hops.join("  "));
    }
    out
}

enum Item<'a> {
    Conv(&'a Conversation),
    Icmp(&'a IcmpError),
}

fn arp_line(fact: &super::ArpFact, names: &Names) -> String {
    match fact {
        super::ArpFact::Request { asker, target } => {
            format!("arp {} asks for {}", names.host(asker), names.host(target))
        }
        super::ArpFact::Reply { owner, to } => {
            format!("arp {} answers {}", names.host(owner), names.host(to))
        }
        super::ArpFact::Gratuitous { owner } => {
            format!("arp {} announces itself (gratuitous)", names.host(owner))
        }
    }
}

fn ndp_line(fact: &super::NdpFact, names: &Names) -> String {
    match fact {
        super::NdpFact::Solicit {
            asker,
            target,
            group,
        } => format!(
            "ndp {} asks for {} {target}  to {}",
            names.host(asker),
            names.host(target),
            names.host(group)
        ),
        // Addresses, which the scenario gives, tell a link-local exchange from a global one.
        super::NdpFact::Advert { owner, to } => {
            format!(
                "ndp {} answers {}  for {owner}",
                names.host(owner),
                names.host(to)
            )
        }
    }
}

fn mtu(e: &IcmpError) -> String {
    e.mtu.map(|m| format!(" mtu {m}")).unwrap_or_default()
}

fn quoted_flow(e: &IcmpError, names: &Names, real: bool) -> String {
    let proto = crate::wire::names::ip_proto(e.quoted_proto)
        .map_or_else(|| format!("proto-{}", e.quoted_proto), str::to_string);
    if matches!(e.quoted_proto, 6 | 17) {
        format!(
            "{proto} {} > {}",
            endpoint(&e.quoted_src, names, !real),
            endpoint(&e.quoted_dst, names, false)
        )
    } else {
        format!(
            "{proto} {} > {}",
            names.host(&e.quoted_src.ip),
            names.host(&e.quoted_dst.ip)
        )
    }
}

/// `host:port`, the port hidden as `*` when `mask` is set and it is ephemeral.
fn endpoint(a: &Addr, names: &Names, mask: bool) -> String {
    if mask && a.port >= 1024 {
        names.host_port(&a.ip, "*")
    } else {
        names.host_port(&a.ip, &a.port.to_string())
    }
}

/// Names the two sides for close lines; roles when both sides have the same name.
fn sides(c: &Conversation, names: &Names) -> [String; 2] {
    let a = names.host(&c.initiator.ip);
    let b = names.host(&c.responder.ip);
    if a == b {
        ["initiator".into(), "responder".into()]
    } else {
        [a, b]
    }
}

fn conversation(
    out: &mut String,
    analysis: &Analysis,
    c: &Conversation,
    names: &Names,
    real: bool,
) {
    let number = c.index + 1;
    let src = endpoint(&c.initiator, names, !real);
    let dst = match c.ftp_data {
        Some(_) if real => endpoint(&c.responder, names, false),
        Some(f) => {
            let tag = match f.mode {
                FtpMode::Pasv => "<pasv>",
                FtpMode::Epsv => "<epsv>",
                FtpMode::Port => "<port>",
                FtpMode::Eprt => "<eprt>",
            };
            names.host_port(&c.responder.ip, tag)
        }
        None => endpoint(&c.responder, names, false),
    };
    let side = sides(c, names);
    match c.proto {
        Proto::Tcp => {
            let Some(t) = &c.tcp else { return };
            let mut head = format!("#{number} tcp {src} > {dst}");
            if let Some(f) = c.ftp_data {
                let _ = write!(head, "  ftp-data of #{}", f.control + 1);
                if real {
                    let _ = write!(head, " ({})", mode_name(f.mode));
                }
            }
            let handshake = t.handshake.name();
            let _ = write!(
                head,
                "  handshake {handshake}  close {}",
                close(&t.close, &side)
            );
            let _ = writeln!(out, "{head}  outcome {}", t.outcome.name());
            for dir in [Dir::Forward, Dir::Reverse] {
                direction(out, c, dir, &side, "bytes", None, real);
            }
            if real {
                ftp_ports(out, analysis, c);
            }
        }
        Proto::Udp => {
            let _ = writeln!(
                out,
                "#{number} udp {src} > {dst}  outcome {}",
                c.outcome.name()
            );
            for dir in [Dir::Forward, Dir::Reverse] {
                let d = c.packets[dir.idx()];
                let unit = if d == 1 { "datagram" } else { "datagrams" };
                direction(
                    out,
                    c,
                    dir,
                    &side,
                    "bytes",
                    Some(format!("{d} {unit}")),
                    real,
                );
            }
        }
        Proto::Icmp => {
            let e = c.echo.unwrap_or_default();
            let _ = writeln!(
                out,
                "#{number} icmp {} > {}  echo  requests {}  replies {}",
                names.host(&c.initiator.ip),
                names.host(&c.responder.ip),
                e.requests,
                e.replies
            );
        }
    }
    let mut seen: Vec<String> = Vec::new();
    for e in &c.icmp_errors {
        let line = format!(
            "  icmp {} > {}  {}{}",
            names.host(&e.from),
            names.host(&e.to),
            e.description,
            mtu(e)
        );
        if !seen.contains(&line) {
            let _ = writeln!(out, "{line}");
            seen.push(line);
        }
    }
    for x in &c.dns {
        let time = match x.response_time {
            Some(t) if real => format!("  time {:.6}", t.as_secs_f64()),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "  dns {} -> {}{time}",
            x.questions_text(),
            x.response_text()
        );
    }
}

fn mode_name(mode: FtpMode) -> &'static str {
    match mode {
        FtpMode::Pasv => "pasv",
        FtpMode::Epsv => "epsv",
        FtpMode::Port => "port",
        FtpMode::Eprt => "eprt",
    }
}

/// The data ports an FTP control connection announced, each with the data connection that
/// used it.
fn ftp_ports(out: &mut String, analysis: &Analysis, c: &Conversation) {
    for (mode, port) in &c.ftp_ports {
        let used: Vec<String> = analysis
            .conversations
            .iter()
            .filter(|d| {
                d.ftp_data
                    .is_some_and(|f| f.control == c.index && f.port == *port && f.mode == *mode)
            })
            .map(|d| format!("#{}", d.index + 1))
            .collect();
        let used = match used.is_empty() {
            true => "not used".to_string(),
            false => format!("used by {}", used.join(", ")),
        };
        let _ = writeln!(out, "  ftp data port {port} ({})  {used}", mode_name(*mode));
    }
}

fn direction(
    out: &mut String,
    c: &Conversation,
    dir: Dir,
    side: &[String; 2],
    unit: &str,
    count: Option<String>,
    real: bool,
) {
    let d = dir.idx();
    let (from, to) = match dir {
        Dir::Forward => (&side[0], &side[1]),
        Dir::Reverse => (&side[1], &side[0]),
    };
    let t = &c.transcript[d];
    let http = t.bytes.starts_with(b"HTTP/1.") || crate::wire::app::looks_like_http(&t.bytes);
    let (masked, resized) = match real {
        true => (t.bytes.clone(), false),
        false => mask_volatile(&t.bytes, c.ftp_control, http),
    };
    let mut bytes = c.payload_bytes[d];
    let mut note = "";
    if resized {
        bytes = bytes - t.bytes.len() as u64 + masked.len() as u64;
        note = " (ports masked)";
    }
    let mut line = format!("  {from} > {to}");
    if let Some(count) = count {
        let _ = write!(line, "  {count}");
    }
    let _ = write!(line, "  {bytes} {unit}{note}");
    if c.fragments[d] > 0 {
        let _ = write!(line, "  in {} fragments", c.fragments[d]);
    }
    // DNS and DHCP are shown decoded; their raw bytes hold random ids (and DHCP's the MAC).
    let bootp = [67, 68].contains(&c.initiator.port) && [67, 68].contains(&c.responder.port);
    let show = !c.dns.is_empty() || bootp || bytes == 0;
    if show {
        let _ = writeln!(out, "{line}");
        return;
    }
    let total = t.total - t.bytes.len() as u64 + masked.len() as u64;
    let lines = transcript_lines(&masked, total);
    if lines.len() == 1 {
        let _ = writeln!(out, "{line}  {}", lines[0]);
    } else {
        let _ = writeln!(out, "{line}");
        for l in lines {
            let _ = writeln!(out, "    {l}");
        }
    }
}

fn close(c: &super::Close, side: &[String; 2]) -> String {
    let mut parts = Vec::new();
    match (c.fin, c.fin_first) {
        ([true, true], Some(first)) => parts.push(format!("fin {}-first", side[first.idx()])),
        ([true, false], _) => parts.push(format!("fin {}-only", side[0])),
        ([false, true], _) => parts.push(format!("fin {}-only", side[1])),
        _ => {}
    }
    if let Some(r) = c.rst {
        parts.push(format!("rst {}", side[r.idx()]));
    }
    if parts.is_empty() {
        "none".into()
    } else {
        parts.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture::*;
    use super::*;

    fn lab() -> Wire {
        lab_on(Wire::new(), 40000, 5000, 7, 7)
    }

    /// The small lab on `w`: the client's ports from `port`, its SNMP probe from `probe`, the
    /// refused SYN's sequence number `isn`, the DNS query's id `id`.
    fn lab_on(mut w: Wire, port: u16, probe: u16, isn: u32, id: u16) -> Wire {
        w.session(port, 27664, b"hello on 27664\r\n", b"");
        w.tcp(CLIENT, SERVER, port + 1, 81, isn, 0, S, b"");
        w.tcp(SERVER, CLIENT, 81, port + 1, 0, isn + 1, R | A, b"");
        w.udp(CLIENT, SERVER, probe, 161, b"probe\n");
        w.session(
            port + 2,
            21,
            b"USER anonymous\r\nPASS x\r\nQUIT\r\n",
            b"220 hi\r\n",
        );
        w.udp(CLIENT, SERVER, port + 3, 53, &Wire::dns_message(id, None));
        w.udp(
            SERVER,
            CLIENT,
            53,
            port + 3,
            &Wire::dns_message(id, Some("mail.example.test.")),
        );
        w
    }

    #[test]
    fn snapshot_of_a_small_lab() {
        let flows = render_flows(&lab().analyze(), &Wire::names());
        insta::assert_snapshot!(flows);
    }

    #[test]
    fn ephemeral_ports_and_times_do_not_show() {
        let a = lab();
        // Same lab, other ports and a later start.
        let mut later = Wire::new();
        later.now += Duration::from_secs(3600);
        let b = lab_on(later, 51000, 6000, 99, 4321);
        assert_eq!(
            render_flows(&a.analyze(), &Wire::names()),
            render_flows(&b.analyze(), &Wire::names())
        );
    }

    use std::time::Duration;
}
