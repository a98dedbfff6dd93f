//! The packets of one capture as a ladder (Wireshark's Flow Graph): one column per host, one
//! arrow per packet, each conversation with its own colour and number, and the followed stream
//! of every conversation.
//!
//! Contract: [`Ladder::read`] reads a capture twice (the analysis for conversations and their
//! outcomes, then the frames for arrows); [`Ladder::from_analysis`] reads it once, for the
//! arrows, given the analysis a run already made. Neither fails on bad bytes: a damaged capture is
//! drawn up to its first bad record and the ladder says where it stopped. At most
//! [`MAX_ARROWS`] arrows are kept; the rest are counted in [`Ladder::more`], while streams and
//! conversations still see every frame. [`svg`](mod@svg) draws it.
//!
//! Invariants: the ladder is a pure function of the capture's bytes and the [`Names`]: columns
//! come in the order hosts first appear, conversations in the analysis's first-seen order, and
//! nothing is kept in a hash map's iteration order. Times are relative to the first frame.
//! Every text is kept as it was on the wire: escaping is the renderer's job.

mod svg;
mod words;

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{BufReader, Seek};
use std::net::IpAddr;
use std::time::Duration;

use crate::analyze::{Analysis, Analyzer, ConnOutcome, Conversation, Dir, Handshake, Names, Proto};
use crate::wire::{self, CaptureReader, FrameRef, Net, Packet, Transport};

pub use svg::{PALETTE, colour, svg};
use words::{flag_words, outcome_word, preview};

/// The most arrows one ladder draws.
pub const MAX_ARROWS: usize = 300;

/// The most bytes of a conversation's followed stream kept.
pub const STREAM_CAP: usize = 8 * 1024;

/// What an arrow is marked with, as a shape and a word besides its colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mark {
    /// A SYN nothing answered (no SYN-ACK, no RST, no ICMP error before the next try or the end).
    UnansweredSyn,
    /// A TCP reset.
    Reset,
    /// An ICMP error (unreachable, time exceeded, ...).
    IcmpError,
}

impl Mark {
    /// The word that goes with the shape.
    pub fn word(self) -> &'static str {
        match self {
            Mark::UnansweredSyn => "no answer",
            Mark::Reset => "reset",
            Mark::IcmpError => "ICMP error",
        }
    }
}

/// One packet drawn.
#[derive(Clone, Debug)]
pub struct Arrow {
    /// Frame number (1-based, as Wireshark counts).
    pub frame: u64,
    /// Time since the capture's first frame.
    pub time: Duration,
    /// Column of the sender.
    pub from: usize,
    /// Column of the receiver.
    pub to: usize,
    /// The conversation (index into [`Ladder::conversations`]), if the packet belongs to one.
    pub conv: Option<usize>,
    /// `43958 → 21 [SYN] Seq=0 Len=0`: ports, flags, relative sequence numbers, length.
    pub label: String,
    /// The first bytes of the payload, or the application message, escaped; may be empty.
    pub preview: String,
    /// Set for an unanswered SYN, a reset or an ICMP error.
    pub mark: Option<Mark>,
}

/// One conversation of the ladder, with its followed stream.
#[derive(Clone, Debug)]
pub struct ConvView {
    /// Position in first-seen order: the number on its arrows is this plus one.
    pub index: usize,
    /// Protocol.
    pub proto: Proto,
    /// `client:43958`.
    pub initiator: String,
    /// `server:21`.
    pub responder: String,
    /// The responder's port, as on the wire.
    pub port: u16,
    /// `established`, `refused`, ...
    pub outcome: String,
    /// Whether DNS messages were carried.
    pub dns: bool,
    /// Whether this is an FTP data connection linked to its control connection.
    pub ftp_data: bool,
    /// Every frame of the conversation, in capture order (ICMP errors quoting it included).
    pub frames: Vec<u64>,
    /// Payload in stream order, direction by direction (TCP: retransmissions left out).
    pub stream: Vec<(Dir, Vec<u8>)>,
    /// Payload bytes past [`STREAM_CAP`] that the stream does not show.
    pub stream_cut: u64,
}

/// A capture as a ladder. See the module documentation.
#[derive(Clone, Debug, Default)]
pub struct Ladder {
    /// Frames read.
    pub frames: u64,
    /// Column heads: host names, or addresses no host has.
    pub columns: Vec<String>,
    /// Arrows, at most [`MAX_ARROWS`].
    pub arrows: Vec<Arrow>,
    /// Packets not drawn past the cap.
    pub more: u64,
    /// Frames that are neither IP nor ARP, not drawn.
    pub other: u64,
    /// Conversations in first-seen order.
    pub conversations: Vec<ConvView>,
    /// Why reading stopped before the end of the file, if it did.
    pub problem: Option<String>,
}

/// Which conversations a grading check looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pick {
    /// Conversations to this port (the responder's port, as on the wire).
    Port(u16),
    /// Conversations that carried DNS.
    Dns,
    /// FTP data connections.
    FtpData,
}

impl Ladder {
    /// Reads the capture at `path`; a file that cannot be opened is a ladder with a problem.
    pub fn from_path(path: &std::path::Path, names: &Names) -> Ladder {
        match File::open(path) {
            Ok(file) => Ladder::read(&file, names),
            Err(e) => Ladder {
                problem: Some(format!("cannot open {}: {e}", path.display())),
                ..Ladder::default()
            },
        }
    }

    /// Reads the capture at `path` for its arrows only, with the analysis of the same file
    /// already made (by the run's one pass over it): one more pass, for the page alone.
    pub fn from_analysis(path: &std::path::Path, analysis: &Analysis, names: &Names) -> Ladder {
        let file = match File::open(path) {
            Ok(file) => file,
            Err(e) => {
                return Ladder {
                    problem: Some(format!("cannot open {}: {e}", path.display())),
                    ..Ladder::default()
                };
            }
        };
        Ladder::arrows(&file, analysis, names)
    }

    /// Reads an open capture file from its start (twice; the file is rewound each time).
    pub fn read(file: &File, names: &Names) -> Ladder {
        let mut analyzer = Analyzer::new();
        if let Err(problem) = each_frame(file, |frame| analyzer.push(frame)) {
            // The same problem is met again below and recorded there.
            let _ = problem;
        }
        Ladder::arrows(file, &analyzer.finish(), names)
    }

    /// The arrows of an open capture file whose analysis is `analysis`.
    fn arrows(file: &File, analysis: &Analysis, names: &Names) -> Ladder {
        let mut builder = Builder::new(&analysis.conversations, names);
        let problem = each_frame(file, |frame| builder.push(frame)).err();
        let mut ladder = builder.finish(&analysis.conversations);
        ladder.problem = problem;
        ladder
    }

    /// The arrows of the conversations `pick` selects, in frame order, at most `limit`; and
    /// how many frames those conversations have in all.
    pub fn evidence(&self, pick: Pick, limit: usize) -> (Vec<&Arrow>, usize) {
        let chosen: Vec<usize> = self
            .conversations
            .iter()
            .filter(|c| match pick {
                Pick::Port(p) => c.port == p,
                Pick::Dns => c.dns,
                Pick::FtpData => c.ftp_data,
            })
            .map(|c| c.index)
            .collect();
        let total = chosen
            .iter()
            .map(|&i| self.conversations[i].frames.len())
            .sum();
        let arrows = self
            .arrows
            .iter()
            .filter(|a| a.conv.is_some_and(|c| chosen.contains(&c)))
            .take(limit)
            .collect();
        (arrows, total)
    }
}

/// Feeds every frame of `file` from its start to `push`; the error says where reading stopped.
fn each_frame(file: &File, mut push: impl FnMut(&FrameRef<'_>)) -> Result<(), String> {
    let mut file = file.try_clone().map_err(|e| e.to_string())?;
    file.rewind().map_err(|e| e.to_string())?;
    let mut reader = CaptureReader::new(BufReader::new(file)).map_err(|e| e.to_string())?;
    loop {
        match reader.next_frame() {
            Ok(Some(frame)) => push(&frame),
            Ok(None) => return Ok(()),
            Err(e) => return Err(e.to_string()),
        }
    }
}

/// The conversation key of a packet, without direction: protocol and both ends, lower first.
type Key = (Proto, (IpAddr, u16), (IpAddr, u16));

fn key(proto: Proto, a: (IpAddr, u16), b: (IpAddr, u16)) -> Key {
    if a <= b { (proto, a, b) } else { (proto, b, a) }
}

struct Builder<'a> {
    names: &'a Names,
    first: Option<Duration>,
    columns: Vec<String>,
    /// Conversations by key: (first frame, index), in first-seen order.
    by_key: HashMap<Key, Vec<(u64, usize)>>,
    /// Each conversation's initiator, to tell a packet's direction.
    initiators: Vec<(IpAddr, u16)>,
    /// ICMP error frames tied to their conversation by the analysis.
    icmp: BTreeMap<u64, (usize, String)>,
    /// Initial sequence number per TCP direction (src, sport, dst, dport).
    isn: HashMap<(IpAddr, u16, IpAddr, u16), u32>,
    /// Next relative sequence number expected per conversation and direction.
    next: Vec<[Option<u32>; 2]>,
    views: Vec<ConvView>,
    arrows: Vec<Arrow>,
    more: u64,
    other: u64,
    frames: u64,
}

impl<'a> Builder<'a> {
    fn new(conversations: &[Conversation], names: &'a Names) -> Builder<'a> {
        let mut by_key: HashMap<Key, Vec<(u64, usize)>> = HashMap::new();
        let mut icmp = BTreeMap::new();
        let mut views = Vec::new();
        let mut initiators = Vec::new();
        for (i, c) in conversations.iter().enumerate() {
            let k = key(
                c.proto,
                (c.initiator.ip, c.initiator.port),
                (c.responder.ip, c.responder.port),
            );
            by_key.entry(k).or_default().push((c.first_frame, i));
            initiators.push((c.initiator.ip, c.initiator.port));
            for e in &c.icmp_errors {
                icmp.insert(e.frame, (i, e.description.clone()));
            }
            views.push(ConvView {
                index: i,
                proto: c.proto,
                initiator: names.host_port(&c.initiator.ip, &c.initiator.port.to_string()),
                responder: names.host_port(&c.responder.ip, &c.responder.port.to_string()),
                port: c.responder.port,
                outcome: outcome_word(c.outcome()).to_string(),
                dns: !c.dns.is_empty(),
                ftp_data: c.ftp_data.is_some(),
                frames: Vec::new(),
                stream: Vec::new(),
                stream_cut: 0,
            });
        }
        Builder {
            names,
            first: None,
            columns: Vec::new(),
            by_key,
            initiators,
            icmp,
            isn: HashMap::new(),
            next: vec![[None; 2]; conversations.len()],
            views,
            arrows: Vec::new(),
            more: 0,
            other: 0,
            frames: 0,
        }
    }

    fn column(&mut self, ip: &IpAddr) -> usize {
        let name = self.names.host(ip);
        match self.columns.iter().position(|c| *c == name) {
            Some(i) => i,
            None => {
                self.columns.push(name);
                self.columns.len() - 1
            }
        }
    }

    /// The conversation a packet between `a` and `b` at `frame` belongs to: the latest one
    /// with those ends that had started by then.
    fn conversation(
        &self,
        proto: Proto,
        a: (IpAddr, u16),
        b: (IpAddr, u16),
        frame: u64,
    ) -> Option<usize> {
        self.by_key
            .get(&key(proto, a, b))?
            .iter()
            .rev()
            .find(|(first, _)| *first <= frame)
            .or_else(|| self.by_key.get(&key(proto, a, b))?.first())
            .map(|(_, i)| *i)
    }

    fn push(&mut self, frame: &FrameRef<'_>) {
        self.frames += 1;
        let first = *self.first.get_or_insert(frame.ts);
        let time = frame.ts.saturating_sub(first);
        let pkt = wire::dissect(frame.linktype, frame.data);
        let Some(drawn) = self.describe(frame, &pkt) else {
            self.other += 1;
            return;
        };
        if let Some(c) = drawn.conv {
            self.views[c].frames.push(frame.number);
        }
        if self.arrows.len() == MAX_ARROWS {
            self.more += 1;
            return;
        }
        self.arrows.push(Arrow {
            frame: frame.number,
            time,
            ..drawn
        });
    }

    /// The arrow for one packet (frame and time left for the caller), or `None` when it is
    /// neither IP nor ARP.
    fn describe(&mut self, frame: &FrameRef<'_>, pkt: &Packet) -> Option<Arrow> {
        let (src, dst) = match &pkt.net {
            Net::Arp(a) => (IpAddr::V4(a.sender_ip), IpAddr::V4(a.target_ip)),
            Net::Ip(ip) => (ip.src, ip.dst),
            _ => return None,
        };
        let from = self.column(&src);
        let to = self.column(&dst);
        let mut arrow = Arrow {
            frame: 0,
            time: Duration::ZERO,
            from,
            to,
            conv: None,
            label: String::new(),
            preview: String::new(),
            mark: None,
        };
        let payload = pkt.payload_of(frame.data);
        match (&pkt.net, &pkt.transport) {
            (Net::Arp(a), _) => {
                arrow.label = match a.op {
                    1 if a.is_gratuitous() => format!("ARP announces {}", self.names.host(&src)),
                    1 => format!(
                        "ARP who has {}? tell {}",
                        self.names.host(&dst),
                        self.names.host(&src)
                    ),
                    2 => format!("ARP {} is at its MAC", self.names.host(&src)),
                    op => format!("ARP op {op}"),
                };
            }
            (Net::Ip(_), Transport::Tcp(t)) => {
                let conv = self.conversation(
                    Proto::Tcp,
                    (src, t.src_port),
                    (dst, t.dst_port),
                    frame.number,
                );
                let dir = (src, t.src_port, dst, t.dst_port);
                if t.flags.syn() {
                    self.isn.insert(dir, t.seq);
                }
                let isn = *self.isn.entry(dir).or_insert(t.seq);
                let rel = t.seq.wrapping_sub(isn);
                let rev = self.isn.get(&(dst, t.dst_port, src, t.src_port)).copied();
                let mut label = format!(
                    "{} → {} [{}] Seq={rel}",
                    t.src_port,
                    t.dst_port,
                    flag_words(t.flags)
                );
                if t.flags.ack() {
                    match rev {
                        Some(r) => label.push_str(&format!(" Ack={}", t.ack.wrapping_sub(r))),
                        None => label.push_str(" Ack=?"),
                    }
                }
                label.push_str(&format!(" Len={}", t.payload_len));
                arrow.label = label;
                if t.flags.rst() {
                    arrow.mark = Some(Mark::Reset);
                }
                if let Some(c) = conv {
                    let forward = (src, t.src_port) == self.initiators[c];
                    self.follow_tcp(
                        c,
                        forward,
                        rel.wrapping_add(u32::from(t.flags.syn())),
                        payload,
                    );
                }
                arrow.preview = preview(pkt, payload);
                arrow.conv = conv;
            }
            (Net::Ip(_), Transport::Udp(u)) => {
                let conv = self.conversation(
                    Proto::Udp,
                    (src, u.src_port),
                    (dst, u.dst_port),
                    frame.number,
                );
                arrow.label = format!("{} → {} UDP Len={}", u.src_port, u.dst_port, u.payload_len);
                arrow.preview = preview(pkt, payload);
                if let Some(c) = conv {
                    let forward = (src, u.src_port) == self.initiators[c];
                    self.append(c, forward, payload);
                }
                arrow.conv = conv;
            }
            (Net::Ip(ip), Transport::Icmp(icmp)) => {
                let v6 = ip.version == 6;
                if icmp.is_error() {
                    arrow.mark = Some(Mark::IcmpError);
                    let (conv, description) = match self.icmp.get(&frame.number) {
                        Some((c, d)) => (Some(*c), d.clone()),
                        None => (
                            None,
                            wire::names::icmp_describe(v6, icmp.icmp_type, icmp.code),
                        ),
                    };
                    arrow.conv = conv;
                    arrow.label = format!("ICMP {description}");
                    if let Some(q) = &icmp.quoted {
                        arrow.preview = format!(
                            "quotes {} → {}",
                            self.names.host_port(
                                &q.src,
                                &q.src_port.map_or("-".into(), |p| p.to_string())
                            ),
                            self.names.host_port(
                                &q.dst,
                                &q.dst_port.map_or("-".into(), |p| p.to_string())
                            )
                        );
                    }
                } else {
                    let id = icmp.echo_id();
                    arrow.conv = icmp.echo().and_then(|_| {
                        self.conversation(Proto::Icmp, (src, id), (dst, id), frame.number)
                    });
                    arrow.label = format!(
                        "ICMP {} id={id} seq={}",
                        wire::names::icmp_describe(v6, icmp.icmp_type, icmp.code),
                        icmp.echo_seq()
                    );
                }
            }
            (Net::Ip(ip), _) => {
                arrow.label = match wire::names::ip_proto(ip.proto) {
                    Some(name) => format!("IP {name}"),
                    None => format!("IP proto {}", ip.proto),
                };
                if ip.is_fragment() {
                    arrow
                        .label
                        .push_str(&format!(" fragment offset {}", ip.frag_offset));
                }
            }
            _ => return None,
        }
        Some(arrow)
    }

    /// Appends in-order TCP payload: bytes already followed (retransmissions) are left out.
    fn follow_tcp(&mut self, c: usize, forward: bool, rel_seq: u32, payload: &[u8]) {
        let d = usize::from(!forward);
        let next = self.next[c][d].get_or_insert(rel_seq);
        let end = rel_seq.wrapping_add(payload.len() as u32);
        let skip = next.wrapping_sub(rel_seq);
        if payload.is_empty() || (skip as i32) < 0 || skip as usize >= payload.len() {
            if (skip as i32) < 0 {
                // A hole: the bytes before this segment were not captured; follow on.
                *next = end;
                self.append(c, forward, payload);
            }
            return;
        }
        *next = end;
        self.append(c, forward, &payload[skip as usize..]);
    }

    fn append(&mut self, c: usize, forward: bool, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        let view = &mut self.views[c];
        let kept: usize = view.stream.iter().map(|(_, d)| d.len()).sum();
        let room = STREAM_CAP.saturating_sub(kept);
        let take = &data[..data.len().min(room)];
        view.stream_cut += (data.len() - take.len()) as u64;
        if take.is_empty() {
            return;
        }
        let dir = if forward { Dir::Forward } else { Dir::Reverse };
        match view.stream.last_mut() {
            Some((d, bytes)) if *d == dir => bytes.extend_from_slice(take),
            _ => view.stream.push((dir, take.to_vec())),
        }
    }

    fn finish(mut self, conversations: &[Conversation]) -> Ladder {
        mark_unanswered(&mut self.arrows, conversations);
        Ladder {
            frames: self.frames,
            columns: self.columns,
            arrows: self.arrows,
            more: self.more,
            other: self.other,
            conversations: self.views,
            problem: None,
        }
    }
}

/// Marks each SYN that nothing answered before the next SYN of its conversation, or, for the
/// last one, when the analysis found no answer at all.
fn mark_unanswered(arrows: &mut [Arrow], conversations: &[Conversation]) {
    let mut pending: BTreeMap<usize, usize> = BTreeMap::new();
    for i in 0..arrows.len() {
        let Some(c) = arrows[i].conv else { continue };
        let is_syn = arrows[i].label.contains("[SYN]");
        let answers = arrows[i].label.contains("[SYN, ACK]")
            || arrows[i].mark.is_some_and(|m| m != Mark::UnansweredSyn);
        if is_syn {
            if let Some(p) = pending.insert(c, i) {
                arrows[p].mark = Some(Mark::UnansweredSyn);
            }
        } else if answers {
            pending.remove(&c);
        }
    }
    for (c, i) in pending {
        let silent = conversations.get(c).is_some_and(|conv| {
            conv.tcp.as_ref().is_some_and(|t| {
                t.handshake == Handshake::SynOnly && t.outcome == ConnOutcome::NoAnswer
            })
        });
        if silent {
            arrows[i].mark = Some(Mark::UnansweredSyn);
        }
    }
}
