//! analyze: dissected packets -> conversations -> facts -> renderings.
//!
//! Entry points: [`analyze_file`] streams a capture file through an [`Analyzer`] (memory bounded
//! by the conversation table, whatever the file size); [`analyze_file_feeding`] does it while
//! feeding each dissected frame to other [`FrameSink`]s in the same pass (the alert detector,
//! a report's packet lines, the [`WireFacts`] the checks judge), so a run reads each capture
//! once; [`analyze`] does the same for frames already in memory. The result, an [`Analysis`], holds:
//!
//! - [`Conversation`]s (TCP, UDP, ICMP echo) in first-seen order, each with both endpoints, the
//!   initiator, packets and frame bytes each way (frame lengths, as Wireshark counts), payload
//!   bytes and a capped transcript each way, and for TCP the handshake, close, outcome,
//!   retransmissions and out-of-order segments; ICMP errors are tied to the conversation whose
//!   datagram they quote; DNS queries are matched to their responses; an FTP data connection
//!   is linked to its control connection (PASV, EPSV, PORT, EPRT);
//! - [`Endpoint`]s (IP addresses) with packets and bytes sent and received and the hop distance
//!   read from the TTL;
//! - ARP facts (requests, replies, gratuitous announcements).
//!
//! Renderings: [`render_flows`] is the normalised flow snapshot `labctl test` compares (see
//! [`flows`] for its format and what it leaves out), [`PacketLines`] / [`render_packets`] give
//! tcpdump-like lines, [`table`] the conversation and endpoint tables, and [`show()`] drives
//! `labctl show`.
//!
//! Invariants: every rendering is a pure function of the capture's bytes and the [`Names`], so
//! the same capture always renders the same text; the flow snapshot contains no timestamp,
//! ephemeral port, absolute sequence number, window, MAC address or packet count that depends
//! on ACK timing. Nothing here depends on the crate outside `wire`.

pub mod alerts;
mod detail;
pub mod dhcp;
#[doc(hidden)]
pub mod fixture;
pub mod flows;
pub mod packets;
pub mod show;
pub mod table;
mod track;
mod transcript;
pub mod wire_facts;

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use serde::Serialize;

use crate::wire::{self, FrameRef, Packet, WireError};

pub use dhcp::DhcpFact;
pub use flows::{render_flows, render_flows_shown};
pub use packets::{PacketLines, render_packets};
pub use show::{ShowArgs, ShowError, ShowView, show};
pub use track::{Analyzer, FollowChunk};
pub use wire_facts::WireFacts;

/// Lab host names by address. Unknown addresses render as the raw address.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Names(pub BTreeMap<IpAddr, String>);

impl Names {
    /// No names: every address renders raw.
    pub fn new() -> Names {
        Names::default()
    }

    /// Adds or replaces a name.
    pub fn insert(&mut self, addr: IpAddr, name: impl Into<String>) {
        self.0.insert(addr, name.into());
    }

    /// The host name of `addr`, or the address itself.
    pub fn host(&self, addr: &IpAddr) -> String {
        match self.0.get(addr) {
            Some(n) => n.clone(),
            None => addr.to_string(),
        }
    }

    /// `host:port`, with brackets around a raw IPv6 address.
    pub fn host_port(&self, addr: &IpAddr, port: &str) -> String {
        match (self.0.get(addr), addr) {
            (Some(n), _) => format!("{n}:{port}"),
            (None, IpAddr::V6(v6)) => format!("[{v6}]:{port}"),
            (None, IpAddr::V4(v4)) => format!("{v4}:{port}"),
        }
    }
}

/// Transport protocol of a conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
    /// ICMP or ICMPv6 echo (ping).
    Icmp,
}

impl fmt::Display for Proto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
            Proto::Icmp => "icmp",
        })
    }
}

/// An address and port (port 0 for ICMP; for an ICMP echo conversation, the echo id).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Addr {
    /// IP address.
    pub ip: IpAddr,
    /// Port.
    pub port: u16,
}

impl fmt::Display for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.ip {
            IpAddr::V4(v4) => write!(f, "{v4}:{}", self.port),
            IpAddr::V6(v6) => write!(f, "[{v6}]:{}", self.port),
        }
    }
}

/// Which way a packet went within a conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Dir {
    /// From the initiator to the responder.
    Forward,
    /// From the responder to the initiator.
    Reverse,
}

impl Dir {
    /// 0 for forward, 1 for reverse: the index into per-direction arrays.
    pub fn idx(self) -> usize {
        match self {
            Dir::Forward => 0,
            Dir::Reverse => 1,
        }
    }
}

/// Progress of the TCP three-way handshake.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Handshake {
    /// SYN, SYN-ACK and the final ACK.
    Complete,
    /// SYN and SYN-ACK, no final ACK.
    Half,
    /// A SYN and nothing back.
    SynOnly,
    /// No SYN seen (the capture started mid-connection).
    None,
}

impl Handshake {
    /// The word for it in the flows, in JSON and in a scenario's `handshake = "..."`.
    pub fn name(self) -> &'static str {
        match self {
            Handshake::Complete => "complete",
            Handshake::Half => "half",
            Handshake::SynOnly => "syn-only",
            Handshake::None => "none",
        }
    }
}

/// How a TCP conversation ended.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Close {
    /// Which sides sent a FIN, by direction index.
    pub fin: [bool; 2],
    /// The side whose FIN came first.
    pub fin_first: Option<Dir>,
    /// The side whose RST came first.
    pub rst: Option<Dir>,
}

/// What became of a TCP connection attempt, or a UDP exchange.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConnOutcome {
    /// TCP: the connection was established (and possibly closed in order).
    Established,
    /// TCP: SYN and SYN-ACK, but the initiator never completed the handshake.
    HalfOpen,
    /// TCP: the SYN was answered by a RST.
    Refused,
    /// TCP: established, then reset before an orderly close.
    Reset,
    /// An ICMP error answered the conversation's first datagram or SYN.
    Rejected,
    /// Nothing came back.
    NoAnswer,
    /// UDP or ICMP echo: datagrams went both ways.
    Answered,
}

impl ConnOutcome {
    /// The word for it in the flows, in JSON and in a scenario's `outcome = "..."`.
    pub fn name(self) -> &'static str {
        match self {
            ConnOutcome::Established => "established",
            ConnOutcome::HalfOpen => "half-open",
            ConnOutcome::Refused => "refused",
            ConnOutcome::Reset => "reset",
            ConnOutcome::Rejected => "rejected",
            ConnOutcome::NoAnswer => "no-answer",
            ConnOutcome::Answered => "answered",
        }
    }
}

/// TCP-only facts of a conversation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TcpFacts {
    /// Handshake progress.
    pub handshake: Handshake,
    /// How it closed.
    pub close: Close,
    /// Outcome.
    pub outcome: ConnOutcome,
    /// SYNs the initiator sent (more than one means SYN retransmissions).
    pub syns: u32,
    /// Retransmitted segments, per direction.
    pub retransmissions: [u32; 2],
    /// Segments that arrived out of order, per direction.
    pub out_of_order: [u32; 2],
    /// Bytes never seen (holes left at the end), per direction.
    pub missing_bytes: [u64; 2],
    /// MSS announced in the SYN / SYN-ACK, per direction.
    pub mss: [Option<u16>; 2],
    /// The handshake's round-trip time as Wireshark's `tcp.analysis.initial_rtt`: from the
    /// conversation's first frame to the initiator's ACK of the SYN-ACK.
    pub rtt: Option<Duration>,
}

/// The first bytes of one direction's payload, in stream order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Transcript {
    /// Up to [`Transcript::CAP`] bytes.
    #[serde(serialize_with = "crate::text::serialize_bytes")]
    pub bytes: Vec<u8>,
    /// Total payload bytes seen in stream order (may exceed `bytes.len()`).
    pub total: u64,
}

impl Transcript {
    /// How many bytes a transcript keeps.
    pub const CAP: usize = 64 * 1024;

    pub(crate) fn push(&mut self, data: &[u8]) {
        self.total += data.len() as u64;
        let room = Self::CAP.saturating_sub(self.bytes.len());
        self.bytes.extend_from_slice(&data[..data.len().min(room)]);
    }

    /// Whether bytes were dropped past the cap.
    pub fn is_truncated(&self) -> bool {
        self.total > self.bytes.len() as u64
    }
}

/// An ICMP error and the datagram it quotes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct IcmpError {
    /// Frame number of the error.
    pub frame: u64,
    /// Capture time.
    pub ts: Duration,
    /// Who sent the error (the router or host that refused).
    pub from: IpAddr,
    /// Who it went to.
    pub to: IpAddr,
    /// ICMPv6 rather than ICMP.
    pub v6: bool,
    /// ICMP type.
    pub icmp_type: u8,
    /// ICMP code.
    pub code: u8,
    /// "destination-unreachable port-unreachable (3/3)".
    pub description: String,
    /// Next-hop MTU, for fragmentation-needed / packet-too-big.
    pub mtu: Option<u32>,
    /// The quoted datagram's protocol.
    pub quoted_proto: u8,
    /// The quoted datagram's source.
    pub quoted_src: Addr,
    /// The quoted datagram's destination.
    pub quoted_dst: Addr,
    /// The conversation the quoted datagram belongs to, when it is in the capture.
    pub conversation: Option<usize>,
}

/// A DNS query and its response.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DnsExchange {
    /// Transaction id.
    pub id: u16,
    /// The questions.
    pub questions: Vec<wire::DnsQuestion>,
    /// Frame of the query, if it was captured.
    pub query_frame: Option<u64>,
    /// Time of the query.
    pub query_ts: Option<Duration>,
    /// Frame of the response, if one came.
    pub response_frame: Option<u64>,
    /// Response code, if a response came.
    pub rcode: Option<String>,
    /// Answer records.
    pub answers: Vec<wire::DnsRecord>,
    /// Time from query to response.
    pub response_time: Option<Duration>,
}

impl DnsExchange {
    /// The questions as the flows show them: `MX example.test.`, comma-separated.
    pub fn questions_text(&self) -> String {
        self.questions
            .iter()
            .map(|q| format!("{} {}", q.qtype, q.name))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Each answer record as the flows show it: `MX 10 mail.example.test.`.
    pub fn records(&self) -> impl Iterator<Item = String> + '_ {
        self.answers
            .iter()
            .map(|r| format!("{} {}", r.rtype, r.data))
    }

    /// The response as the flows show it: `NOERROR  MX 10 mail.example.test.`, the response
    /// code alone when there is no record, `no response` when none came.
    pub fn response_text(&self) -> String {
        match &self.rcode {
            None => "no response".to_string(),
            Some(rcode) => {
                let records = self.records().collect::<Vec<_>>().join(", ");
                if records.is_empty() {
                    rcode.clone()
                } else {
                    format!("{rcode}  {records}")
                }
            }
        }
    }
}

/// How an FTP data connection was set up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FtpMode {
    /// `227 Entering Passive Mode (h1,h2,h3,h4,p1,p2)`.
    Pasv,
    /// `229 Entering Extended Passive Mode (|||port|)`.
    Epsv,
    /// `PORT h1,h2,h3,h4,p1,p2`.
    Port,
    /// `EPRT |af|addr|port|`.
    Eprt,
}

/// An FTP data connection's link to its control connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct FtpData {
    /// Index of the control conversation.
    pub control: usize,
    /// How the data port was announced.
    pub mode: FtpMode,
    /// The announced port (p1*256+p2 for PASV/PORT).
    pub port: u16,
}

/// ICMP echo counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Echo {
    /// Echo requests.
    pub requests: u32,
    /// Echo replies.
    pub replies: u32,
}

/// One conversation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Conversation {
    /// Position in first-seen order, over all protocols (0-based).
    pub index: usize,
    /// Position among conversations of the same protocol: for TCP, Wireshark's `tcp.stream`.
    pub stream: usize,
    /// Protocol.
    pub proto: Proto,
    /// The side that opened it: the SYN sender, else the first sender.
    pub initiator: Addr,
    /// The other side.
    pub responder: Addr,
    /// Frame number of the first packet.
    pub first_frame: u64,
    /// Time of the first packet.
    pub start: Duration,
    /// Time of the last packet.
    pub end: Duration,
    /// Packets per direction ([forward, reverse]).
    pub packets: [u64; 2],
    /// Frame bytes per direction (frame lengths on the wire).
    pub bytes: [u64; 2],
    /// Payload bytes per direction (TCP: in stream order, retransmissions not counted).
    pub payload_bytes: [u64; 2],
    /// Payload transcript per direction.
    pub transcript: [Transcript; 2],
    /// TTL of the first packet per direction.
    pub ttl: [Option<u8>; 2],
    /// IP fragments per direction, for datagrams that were fragmented on the way (a
    /// reassembled datagram counts as one packet, in the frame of its last fragment, as
    /// Wireshark counts it).
    pub fragments: [u64; 2],
    /// TCP facts.
    pub tcp: Option<TcpFacts>,
    /// UDP / ICMP outcome (TCP's is in `tcp`).
    pub outcome: ConnOutcome,
    /// ICMP echo counts (ICMP conversations).
    pub echo: Option<Echo>,
    /// ICMP errors quoting this conversation's datagrams.
    pub icmp_errors: Vec<IcmpError>,
    /// DNS exchanges carried.
    pub dns: Vec<DnsExchange>,
    /// Set on an FTP data connection.
    pub ftp_data: Option<FtpData>,
    /// Set on an FTP control connection that announced data ports.
    pub ftp_control: bool,
    /// The data ports an FTP control connection announced (PASV and EPSV replies, PORT and
    /// EPRT commands), in order.
    pub ftp_ports: Vec<(FtpMode, u16)>,
}

impl Conversation {
    /// The outcome, whatever the protocol.
    pub fn outcome(&self) -> ConnOutcome {
        self.tcp.as_ref().map_or(self.outcome, |t| t.outcome)
    }

    /// Duration from first to last packet.
    pub fn duration(&self) -> Duration {
        self.end.saturating_sub(self.start)
    }
}

/// One IP address seen in the capture.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Endpoint {
    /// The address.
    pub addr: IpAddr,
    /// What it sent and received.
    #[serde(flatten)]
    pub traffic: Traffic,
    /// Smallest TTL seen on its packets.
    pub min_ttl: Option<u8>,
    /// Largest TTL seen on its packets.
    pub max_ttl: Option<u8>,
    /// What its packets tell of the host.
    #[serde(flatten)]
    pub traits: HostTraits,
}

/// An endpoint's frames and frame bytes, each way.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Traffic {
    /// Packets sent.
    pub tx_packets: u64,
    /// Frame bytes sent.
    pub tx_bytes: u64,
    /// Packets received.
    pub rx_packets: u64,
    /// Frame bytes received.
    pub rx_bytes: u64,
}

impl Traffic {
    /// Frames sent and received.
    pub fn packets(&self) -> u64 {
        self.tx_packets + self.rx_packets
    }

    /// Frame bytes sent and received.
    pub fn bytes(&self) -> u64 {
        self.tx_bytes + self.rx_bytes
    }
}

/// What an endpoint's packets tell of the host that sent them: how far it is, how it starts
/// its TTLs, how it marks and numbers its datagrams.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct HostTraits {
    /// Hops between it and the capture point: its likely initial TTL (32, 64, 128 or 255)
    /// minus the largest TTL seen, traceroute probes left out (a host that sent only probes
    /// is placed by them; unknown when they do not agree).
    pub hops: Option<u8>,
    /// Its likely initial TTL, from packets that are not traceroute probes.
    pub initial_ttl: Option<u8>,
    /// The operating system family that starts packets with that TTL: 64 Linux/Unix, 128
    /// Windows, 255 network gear.
    pub os: Option<String>,
    /// The DSCP values it sent, by name (`CS0`, `AF11`, `EF`), lowest first.
    pub dscp: Vec<String>,
    /// The ECN codepoints it sent, by name (`Not-ECT`, `ECT(1)`, `ECT(0)`, `CE`).
    pub ecn: Vec<String>,
    /// How it numbers IPv4 identifications: `incrementing`, `random` or `zero`; `None` for
    /// too few datagrams or IPv6 only.
    pub ip_id: Option<String>,
}

/// Every IP frame between two addresses, whatever it carries (fragments each count), as
/// Wireshark's IPv4 and IPv6 conversation tabs count them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct IpPair {
    /// The source of the first frame.
    pub a: IpAddr,
    /// The other address.
    pub b: IpAddr,
    /// Frames per direction ([a to b, b to a]).
    pub packets: [u64; 2],
    /// Frame bytes per direction.
    pub bytes: [u64; 2],
    /// Time of the first frame.
    pub start: Duration,
    /// Time of the last frame.
    pub end: Duration,
}

/// What an ARP packet said, without MAC addresses (they change run to run).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum ArpFact {
    /// A request to broadcast: `asker` wants `target`'s MAC.
    Request {
        /// Sender address.
        asker: IpAddr,
        /// Address asked about.
        target: IpAddr,
    },
    /// A reply: `owner` tells `to` its MAC.
    Reply {
        /// Sender (owner of the address).
        owner: IpAddr,
        /// Recipient.
        to: IpAddr,
    },
    /// A gratuitous ARP: `owner` announces its own address.
    Gratuitous {
        /// The announced address.
        owner: IpAddr,
    },
}

/// What a neighbour discovery packet said (IPv6's ARP), without link-layer addresses.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum NdpFact {
    /// A neighbour solicitation to a multicast group (the solicited-node address of
    /// `target`): `asker` wants `target`'s MAC.
    Solicit {
        /// Sender address.
        asker: IpAddr,
        /// Address asked about.
        target: IpAddr,
        /// The group it went to.
        group: IpAddr,
    },
    /// A neighbour advertisement: `owner` tells `to` its MAC.
    Advert {
        /// The address advertised.
        owner: IpAddr,
        /// Recipient.
        to: IpAddr,
    },
}

/// Everything learned from one capture.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Analysis {
    /// Frames read.
    pub frames: u64,
    /// Time of the first frame.
    pub first_ts: Option<Duration>,
    /// Time of the last frame.
    pub last_ts: Option<Duration>,
    /// Conversations in first-seen order.
    pub conversations: Vec<Conversation>,
    /// IP endpoints, by address.
    pub endpoints: Vec<Endpoint>,
    /// IP address pairs (Wireshark's IPv4 and IPv6 conversations), in first-seen order.
    pub ip_pairs: Vec<IpPair>,
    /// Distinct ARP facts in first-seen order (unicast re-probes left out: their timing varies).
    pub arp: Vec<ArpFact>,
    /// ARP facts, each with the frame number that first showed it.
    pub arp_frames: Vec<u64>,
    /// Distinct neighbour discovery facts in first-seen order (unicast solicitations, the
    /// kernel re-checking a neighbour, left out as unicast ARP is).
    pub ndp: Vec<NdpFact>,
    /// ICMP errors whose quoted datagram belongs to no captured conversation.
    pub unmatched_icmp_errors: Vec<IcmpError>,
    /// Every DHCP message, in capture order.
    pub dhcp: Vec<DhcpFact>,
}

impl Analysis {
    /// The TCP conversation with Wireshark stream index `stream`.
    pub fn tcp_stream(&self, stream: usize) -> Option<&Conversation> {
        self.conversations
            .iter()
            .find(|c| c.proto == Proto::Tcp && c.stream == stream)
    }

    /// Addresses the capture was taken next to: endpoints whose packets arrive with their
    /// initial TTL (zero hops).
    pub fn capture_near(&self) -> Vec<IpAddr> {
        self.endpoints
            .iter()
            .filter(|e| e.traits.hops == Some(0))
            .map(|e| e.addr)
            .collect()
    }
}

/// Analyses frames already in memory.
pub fn analyze<'a>(frames: impl IntoIterator<Item = FrameRef<'a>>) -> Analysis {
    let mut analyzer = Analyzer::new();
    for f in frames {
        analyzer.push(&f);
    }
    analyzer.finish()
}

/// Something fed every frame of a capture, with its dissection, in the pass that analyses it:
/// the detection of suspicious traffic, the packet lines of a report, the wire facts.
pub trait FrameSink {
    /// Looks at one frame, in capture order.
    fn push(&mut self, frame: &FrameRef<'_>, packet: &Packet);
}

impl FrameSink for alerts::Detector {
    fn push(&mut self, frame: &FrameRef<'_>, packet: &Packet) {
        alerts::Detector::push(self, frame, packet);
    }
}

/// Streams a capture file through the analysis and every sink, in one pass: each frame is read
/// and dissected once, and given to the analysis and then to each sink in order.
pub fn analyze_file_feeding(
    path: &Path,
    sinks: &mut [&mut dyn FrameSink],
) -> Result<Analysis, WireError> {
    let mut reader = wire::open(path)?;
    let mut analyzer = Analyzer::new();
    while let Some(frame) = reader.next_frame()? {
        let pkt = wire::dissect(frame.linktype, frame.data);
        analyzer.push_dissected(&frame, &pkt);
        for sink in sinks.iter_mut() {
            sink.push(&frame, &pkt);
        }
    }
    Ok(analyzer.finish())
}

/// Streams a capture file through the analysis and the detection of suspicious traffic, in
/// one pass: each frame is dissected once and given to both.
pub fn analyze_file_with_alerts(
    path: &Path,
    thresholds: alerts::Thresholds,
) -> Result<(Analysis, Vec<alerts::Alert>), WireError> {
    let mut detector = alerts::Detector::new(thresholds);
    let analysis = analyze_file_feeding(path, &mut [&mut detector])?;
    let alerts = detector.finish(&analysis);
    Ok((analysis, alerts))
}

/// Streams a capture file through the analysis.
pub fn analyze_file(path: &Path) -> Result<Analysis, WireError> {
    let mut reader = wire::open(path)?;
    let mut analyzer = Analyzer::new();
    while let Some(frame) = reader.next_frame()? {
        analyzer.push(&frame);
    }
    Ok(analyzer.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The words scenarios, flows and checks use are the JSON names, so a check compares what
    /// the report shows.
    #[test]
    fn names_are_the_json_names() {
        let json = |v: serde_json::Value| v.as_str().unwrap().to_string();
        for h in [
            Handshake::Complete,
            Handshake::Half,
            Handshake::SynOnly,
            Handshake::None,
        ] {
            assert_eq!(h.name(), json(serde_json::to_value(h).unwrap()));
        }
        for o in [
            ConnOutcome::Established,
            ConnOutcome::HalfOpen,
            ConnOutcome::Refused,
            ConnOutcome::Reset,
            ConnOutcome::Rejected,
            ConnOutcome::NoAnswer,
            ConnOutcome::Answered,
        ] {
            assert_eq!(o.name(), json(serde_json::to_value(o).unwrap()));
        }
    }
}
