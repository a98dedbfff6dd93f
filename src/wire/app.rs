//! Application-layer recognition: DNS and DHCP messages and the command/reply lines of FTP, SMTP and
//! HTTP.
//!
//! Contract: [`recognise`] looks at one transport payload, given only its transport kind and
//! ports (so this module needs nothing from the dissector), and returns a summary when it is
//! DNS (port 53, UDP or TCP with its length prefix), DHCP (UDP port 67 or 68), FTP (21), SMTP (25, 587) or HTTP (80,
//! 8080, or any port whose payload starts like an HTTP request or status line). It never
//! panics; a payload that claims to be DNS but does not decode yields no summary. Line
//! protocols are summarised one segment at a time: a command split across segments shows as
//! two partial lines, as in tcpdump.

use hickory_proto::op::{Message, MessageType};

/// The longest line kept, in bytes, and the most lines kept per segment.
const MAX_LINE: usize = 200;
const MAX_LINES: usize = 32;

/// A line-based application protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AppProto {
    /// FTP control connection.
    Ftp,
    /// SMTP.
    Smtp,
    /// HTTP/1.x.
    Http,
}

impl AppProto {
    /// Upper-case name, as Wireshark's protocol column shows it.
    pub fn name(self) -> &'static str {
        match self {
            AppProto::Ftp => "FTP",
            AppProto::Smtp => "SMTP",
            AppProto::Http => "HTTP",
        }
    }
}

/// A recognised application message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum App {
    /// A DNS message.
    Dns(Dns),
    /// A DHCP message (boxed: it is the largest summary).
    Dhcp(Box<super::dhcp::Message>),
    /// Command or reply lines of a line protocol (CR LF removed, lossy UTF-8).
    Lines {
        /// Which protocol.
        proto: AppProto,
        /// The lines of this segment.
        lines: Vec<String>,
    },
}

/// One DNS question.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct DnsQuestion {
    /// The name asked about, with its trailing dot.
    pub name: String,
    /// The record type (A, MX, ...).
    pub qtype: String,
}

/// One DNS resource record.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct DnsRecord {
    /// Owner name.
    pub name: String,
    /// Record type.
    pub rtype: String,
    /// Time to live.
    pub ttl: u32,
    /// The record data in presentation form (`10 mail.example.test.` for an MX).
    pub data: String,
}

/// A DNS message summary.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Dns {
    /// Transaction id.
    pub id: u16,
    /// Response (QR set) rather than query.
    pub response: bool,
    /// Response code name (NOERROR, NXDOMAIN, ...).
    pub rcode: String,
    /// Authoritative answer.
    pub authoritative: bool,
    /// Truncated (TC).
    pub truncated: bool,
    /// Recursion desired.
    pub recursion_desired: bool,
    /// Questions.
    pub questions: Vec<DnsQuestion>,
    /// Answer records.
    pub answers: Vec<DnsRecord>,
    /// Number of authority records.
    pub authority_count: usize,
    /// Number of additional records (the EDNS OPT record excluded).
    pub additional_count: usize,
}

/// The transport protocol a payload arrived on: all that recognition needs besides the ports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Carrier {
    /// A TCP segment.
    Tcp,
    /// A UDP datagram.
    Udp,
}

/// Recognises the application message in one transport payload carried by `carrier` between
/// `ports` (source, destination).
pub fn recognise(carrier: Carrier, ports: [u16; 2], payload: &[u8]) -> Option<App> {
    if payload.is_empty() {
        return None;
    }
    match carrier {
        Carrier::Udp if ports.contains(&53) => dns(payload).map(App::Dns),
        // Wireshark's DHCP dissector is registered on both BOOTP ports.
        Carrier::Udp if ports.contains(&67) || ports.contains(&68) => super::dhcp::parse(payload)
            .ok()
            .map(|m| App::Dhcp(Box::new(m))),
        Carrier::Tcp => {
            if ports.contains(&53) {
                // DNS over TCP prefixes each message with its length; only a segment holding
                // one whole message is decoded.
                if payload.len() >= 2 {
                    let n = usize::from(u16::from_be_bytes([payload[0], payload[1]]));
                    if payload.len() >= n + 2 {
                        return dns(&payload[2..n + 2]).map(App::Dns);
                    }
                }
                return None;
            }
            let proto = if ports.contains(&21) {
                AppProto::Ftp
            } else if ports.contains(&25) || ports.contains(&587) {
                AppProto::Smtp
            } else if looks_like_http(payload) {
                AppProto::Http
            } else {
                return None;
            };
            if proto == AppProto::Http && !looks_like_http(payload) {
                // Body segments of a response carry no command line.
                return None;
            }
            let lines = lines(payload, proto)?;
            Some(App::Lines { proto, lines })
        }
        _ => None,
    }
}

/// Whether a payload starts like an HTTP/1.x request line or status line.
pub fn looks_like_http(p: &[u8]) -> bool {
    const STARTS: [&[u8]; 9] = [
        b"GET ",
        b"HEAD ",
        b"POST ",
        b"PUT ",
        b"DELETE ",
        b"OPTIONS ",
        b"CONNECT ",
        b"PATCH ",
        b"HTTP/1.",
    ];
    STARTS.iter().any(|s| p.starts_with(s))
}

/// Splits a text payload into lines (for HTTP, those of its head: up to the blank line);
/// binary payloads (an SMTP attachment, a TLS hello on a text port) give `None`.
pub fn lines(payload: &[u8], proto: AppProto) -> Option<Vec<String>> {
    let text_bytes = payload
        .iter()
        .filter(|&&b| {
            b == b'\r' || b == b'\n' || b == b'\t' || (0x20..0x7f).contains(&b) || b >= 0x80
        })
        .count();
    if text_bytes * 10 < payload.len() * 9 {
        return None;
    }
    let mut out = Vec::new();
    for raw in payload.split(|&b| b == b'\n') {
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if proto == AppProto::Http && raw.is_empty() {
            // The blank line ends the HTTP head; what follows is the body.
            break;
        }
        if out.len() == MAX_LINES {
            break;
        }
        let cut = &raw[..raw.len().min(MAX_LINE)];
        out.push(String::from_utf8_lossy(cut).into_owned());
    }
    // A payload ending in a newline leaves one empty piece after it.
    if out.last().is_some_and(|l| l.is_empty()) {
        out.pop();
    }
    Some(out)
}

/// Decodes a DNS message.
pub fn dns(bytes: &[u8]) -> Option<Dns> {
    let msg = Message::from_vec(bytes).ok()?;
    let md = &msg.metadata;
    let record = |r: &hickory_proto::rr::Record| DnsRecord {
        name: r.name.to_string(),
        rtype: r.record_type().to_string(),
        ttl: r.ttl,
        data: r.data.to_string(),
    };
    Some(Dns {
        id: md.id,
        response: md.message_type == MessageType::Response,
        rcode: rcode_name(u16::from(md.response_code)),
        authoritative: md.authoritative,
        truncated: md.truncation,
        recursion_desired: md.recursion_desired,
        questions: msg
            .queries
            .iter()
            .map(|q| DnsQuestion {
                name: q.name().to_string(),
                qtype: q.query_type().to_string(),
            })
            .collect(),
        answers: msg.answers.iter().map(record).collect(),
        authority_count: msg.authorities.len(),
        additional_count: msg.additionals.len(),
    })
}

/// The mnemonic dig prints for a response code.
fn rcode_name(code: u16) -> String {
    match code {
        0 => "NOERROR".into(),
        1 => "FORMERR".into(),
        2 => "SERVFAIL".into(),
        3 => "NXDOMAIN".into(),
        4 => "NOTIMP".into(),
        5 => "REFUSED".into(),
        6 => "YXDOMAIN".into(),
        7 => "YXRRSET".into(),
        8 => "NXRRSET".into(),
        9 => "NOTAUTH".into(),
        10 => "NOTZONE".into(),
        16 => "BADVERS".into(),
        other => format!("RCODE{other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_and_carrier_choose_the_protocol() {
        let ftp = recognise(Carrier::Tcp, [40000, 21], b"USER anna\r\nPASS x\r\n");
        assert_eq!(
            ftp,
            Some(App::Lines {
                proto: AppProto::Ftp,
                lines: vec!["USER anna".into(), "PASS x".into()],
            })
        );
        // Port 21 over UDP is no FTP, and a UDP payload on port 53 that is not DNS is nothing.
        assert_eq!(recognise(Carrier::Udp, [40000, 21], b"USER anna\r\n"), None);
        assert_eq!(recognise(Carrier::Udp, [40000, 53], b"xx"), None);
        assert!(recognise(Carrier::Tcp, [40000, 8000], b"GET / HTTP/1.1\r\n\r\n").is_some());
    }
}
