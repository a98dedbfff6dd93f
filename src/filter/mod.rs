//! filter: which frames of a capture a student's filter selects.
//!
//! Two kinds, as in Wireshark and tcpdump:
//!
//! - [`DisplayFilter`]: the part of Wireshark 4.0's display-filter language a networking
//!   course uses (protocol names, the fields of frame, eth, arp, ip, ipv6, icmp, icmpv6, tcp,
//!   udp, dns, ftp, http and smtp that the course asks about, comparisons, `contains`,
//!   `matches`, sets and ranges, `and`/`or`/`not`, CIDR networks), with Wireshark's meaning,
//!   so that counts agree with `tshark -Y`. Written here (`lex`, `parse`, `fields`, `eval`,
//!   `state`) because no maintained Rust crate reads Wireshark's syntax: wirefilter's last
//!   release is from 2019 and speaks Cloudflare's dialect, min_shark lacks sets, ranges and
//!   the application fields.
//! - [`CaptureFilter`]: a BPF expression compiled by libpcap itself for the capture's link
//!   type and run with libpcap's offline filter, so counts agree with `tcpdump -r`.
//!
//! Contract: compiling checks everything (names, literal types, regular expressions) and
//! reports the first problem as a [`FilterError`] with its column; matching then never fails.
//! A [`Matcher`] must see every frame of the capture in order, matching or not, because
//! `tcp.stream`, relative sequence numbers and `tcp.analysis.retransmission` depend on the
//! frames before. One compiled predicate per frame; nothing is allocated per frame except
//! when a filter names DNS resource-record fields, and on the fragment that completes an IP
//! datagram, which shows the reassembled datagram above IP as in Wireshark.

mod bpf;
mod eval;
mod fields;
mod lex;
mod parse;
mod quoted;
mod state;

use std::fmt;

use crate::wire::reassembly::Reassembler;
use crate::wire::{FrameRef, LinkType, Net, Packet, dissect};

pub use bpf::CaptureFilter;

use fields::{Field, Proto};
use parse::{Bytes, Expr};
use state::{Needs, Tracker};

/// A filter that cannot be used: where, which token, and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct FilterError {
    /// 0-based char column of the token at fault (the end of the text when something is
    /// missing).
    pub col: usize,
    /// The token at fault, as written; empty when something is missing.
    pub token: String,
    /// What is wrong.
    pub problem: String,
    /// A close known name or operator, when the token looks like a misspelling of it.
    pub suggestion: Option<String>,
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "column {}: {}", self.col + 1, self.problem)?;
        if let Some(s) = &self.suggestion {
            write!(f, " (did you mean {s}?)")?;
        }
        Ok(())
    }
}

impl FilterError {
    pub(crate) fn new(col: usize, token: impl Into<String>, problem: impl Into<String>) -> Self {
        FilterError {
            col,
            token: token.into(),
            problem: problem.into(),
            suggestion: None,
        }
    }

    pub(crate) fn hint(mut self, s: &str) -> Self {
        self.suggestion = Some(s.to_string());
        self
    }

    /// The message, the filter and a caret under the token at fault, as tshark prints it.
    pub fn render(&self, src: &str) -> String {
        let width = self.token.chars().count().max(1);
        format!(
            "{self}\n    {src}\n    {}^{}",
            " ".repeat(self.col),
            "~".repeat(width - 1)
        )
    }
}

/// A compiled display filter. See the module documentation.
#[derive(Clone, Debug)]
pub struct DisplayFilter {
    expr: Expr,
    needs: Needs,
}

impl DisplayFilter {
    /// Compiles `src`.
    pub fn compile(src: &str) -> Result<DisplayFilter, FilterError> {
        let expr = parse::parse(src)?;
        let mut needs = Needs::default();
        visit(&expr, &mut needs);
        Ok(DisplayFilter { expr, needs })
    }

    /// A matcher for one pass over one capture.
    pub fn matcher(&self) -> Matcher<'_> {
        Matcher {
            filter: self,
            tracker: Tracker::new(self.needs),
            fragments: Reassembler::default(),
        }
    }
}

/// What a filter needs tracked across frames.
fn visit(e: &Expr, n: &mut Needs) {
    let field = |f: Field, n: &mut Needs| match f {
        Field::TcpStream
        | Field::TcpSeq
        | Field::TcpAckNum
        | Field::TcpWindowSize
        | Field::TcpRetransmission => n.tcp = true,
        Field::UdpStream => n.udp = true,
        Field::SmtpCommand => n.smtp = true,
        Field::HttpRequest
        | Field::HttpResponse
        | Field::HttpMethod
        | Field::HttpUri
        | Field::HttpHost
        | Field::HttpCode
        | Field::HttpUserAgent => n.http = true,
        _ => {}
    };
    match e {
        Expr::Or(a, b) | Expr::And(a, b) => {
            visit(a, n);
            visit(b, n);
        }
        Expr::Not(a) => visit(a, n),
        Expr::Proto(Proto::FtpData) => n.ftp = true,
        Expr::Proto(Proto::Http) => n.http = true,
        Expr::Proto(_) => {}
        Expr::Exists(f)
        | Expr::Cmp(f, _, _)
        | Expr::In(f, _)
        | Expr::Contains(f, _)
        | Expr::Matches(f, _)
        | Expr::BytesContains(Bytes::Field(f), _)
        | Expr::BytesMatches(Bytes::Field(f), _) => field(*f, n),
        Expr::BytesContains(Bytes::Proto(p), _) | Expr::BytesMatches(Bytes::Proto(p), _) => {
            visit(&Expr::Proto(*p), n)
        }
    }
}

/// A display filter applied over one capture, frame after frame.
#[derive(Debug)]
pub struct Matcher<'f> {
    filter: &'f DisplayFilter,
    tracker: Tracker,
    fragments: Reassembler,
}

impl Matcher<'_> {
    /// Whether the next frame matches; `pkt` must be `frame` dissected. Call it for every
    /// frame, in capture order.
    pub fn matches(&mut self, frame: &FrameRef<'_>, pkt: &Packet) -> bool {
        // The fragment that completes a datagram shows the reassembled one above IP.
        let whole = match &pkt.net {
            Net::Ip(ip) if ip.is_fragment() => {
                let data = frame.data.get(pkt.ip_payload.clone()).unwrap_or(&[]);
                self.fragments.push(ip, data).map(|d| d.bytes)
            }
            _ => None,
        };
        let up_pkt = whole.as_deref().map(|b| dissect(LinkType::Raw, b));
        let up = up_pkt.as_ref().zip(whole.as_deref());
        let facts = self.tracker.observe(frame, pkt, up);
        eval::eval(
            &self.filter.expr,
            &eval::Frame {
                frame,
                pkt,
                facts: &facts,
                up,
                http_head: self.tracker.http_head(),
            },
        )
    }
}
