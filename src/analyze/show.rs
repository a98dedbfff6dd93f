//! `labctl show FILE`: the analysis of one capture file, printed.
//!
//! Contract: [`show`] reads the file as a stream and writes one view to `out`: packet lines,
//! the conversation table, the endpoint table, one TCP stream followed as text, or the flow
//! snapshot; each also as JSON. It needs no privileges. Errors are [`ShowError`]s: a bad file
//! carries the byte offset of the bad record (the caller maps it to exit code 2).
//!
//! Filters restrict every view to the frames they select: a capture filter (BPF) first, as if
//! the other frames had never been captured, then a display filter, which sees every frame
//! the capture filter kept (its `tcp.stream` and sequence analysis need them). `--follow N`
//! names Wireshark's stream N of the whole capture and shows the chunks of matching frames.
//! `count` prints only the number of matching frames. `--conversations` takes `--by ip|tcp|udp`
//! and `--sort bytes|packets` ([`table::ConvView`]); `-v` packet lines carry the time since the
//! previous line shown; `--flows` is the person's rendering (real ports, DNS response times,
//! FTP data ports), not the snapshot's. `--detail N` (in `detail`) prints every header field of
//! one frame; `-x` adds each frame's bytes to the packet lines or the detail.

use std::io::{self, Write};
use std::path::PathBuf;

use serde::Serialize;

use crate::filter::{CaptureFilter, DisplayFilter, FilterError};
use crate::verdict::{Error, Verdict};
use crate::wire::{self, FrameRef, WireError};

use super::{Analyzer, Dir, Names, PacketLines, table};
use crate::text::{escape, escape_lines};

/// What `labctl show` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShowView {
    /// One tcpdump-like line per packet (default).
    Packets,
    /// `--conversations`.
    Conversations,
    /// `--endpoints`.
    Endpoints,
    /// `--follow N`: TCP stream N (Wireshark's `tcp.stream`) as text, both directions.
    Follow(usize),
    /// `--flows`: the normalised snapshot checks compare.
    Flows,
    /// `--alerts`: suspicious traffic, one line per alert.
    Alerts,
    /// `--detail N`: every header field of frame N with its bytes (see `detail`).
    Detail(u64),
}

/// `labctl show`'s command line: the file, at most one view flag (none is the packet lines),
/// and the form.
#[derive(Clone, Debug, clap::Args)]
pub struct ShowArgs {
    /// The capture file
    pub file: PathBuf,
    /// Conversation table (packets and frame bytes each way), as Wireshark's Conversations
    #[arg(long, group = "view")]
    pub conversations: bool,
    /// Endpoint table, as Wireshark's Endpoints
    #[arg(long, group = "view")]
    pub endpoints: bool,
    /// TCP stream N as text, both directions (Follow TCP Stream)
    #[arg(long, value_name = "N", group = "view")]
    pub follow: Option<usize>,
    /// The normalised flows that snapshots compare
    #[arg(long, group = "view")]
    pub flows: bool,
    /// Suspicious traffic (scans, ARP poisoning, tunnels, SQL injection), one line per alert
    #[arg(long, group = "view")]
    pub alerts: bool,
    /// Packet lines with the IP header (tos, ttl, id, offset, flags), as tcpdump -v
    #[arg(short, long)]
    pub verbose: bool,
    /// JSON instead of text
    #[arg(long)]
    pub json: bool,
    /// Also write the capture as an HTML page (packet ladder, conversations, streams) to FILE
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Host names for addresses (may be empty; the command line gives none).
    #[arg(skip)]
    pub names: Names,
    /// Only frames matching this Wireshark display filter (e.g. 'tcp.port == 21 && !arp')
    #[arg(short = 'Y', long, value_name = "EXPR")]
    pub display_filter: Option<String>,
    /// Only frames matching this BPF capture filter (e.g. 'host 10.0.0.2 and port 23')
    #[arg(short = 'f', long, value_name = "EXPR")]
    pub capture_filter: Option<String>,
    /// Print only the number of matching frames
    #[arg(long)]
    pub count: bool,
    /// Every header field of frame N (from 1) with its value and bytes, as tshark -V
    #[arg(long, value_name = "N", group = "view",
          conflicts_with_all = ["display_filter", "capture_filter", "count", "html"])]
    pub detail: Option<u64>,
    /// Add each frame's bytes in hex and ASCII, as tshark -x (packet lines or --detail)
    #[arg(short = 'x')]
    pub hex: bool,
    /// With --conversations: address pairs (ip, as Wireshark's IPv4/IPv6 tabs), or only tcp
    /// or udp conversations
    #[arg(long, value_name = "KIND", requires = "conversations")]
    pub by: Option<table::ConvBy>,
    /// With --conversations: the busiest first, by bytes or packets
    #[arg(long, value_name = "KEY", requires = "conversations")]
    pub sort: Option<table::ConvSort>,
}

impl ShowArgs {
    /// Text output of `view` of `file`, without host names.
    pub fn new(file: PathBuf, view: ShowView) -> ShowArgs {
        ShowArgs {
            file,
            conversations: view == ShowView::Conversations,
            endpoints: view == ShowView::Endpoints,
            follow: match view {
                ShowView::Follow(n) => Some(n),
                _ => None,
            },
            flows: view == ShowView::Flows,
            alerts: view == ShowView::Alerts,
            verbose: false,
            json: false,
            html: None,
            names: Names::new(),
            display_filter: None,
            capture_filter: None,
            count: false,
            detail: match view {
                ShowView::Detail(n) => Some(n),
                _ => None,
            },
            hex: false,
            by: None,
            sort: None,
        }
    }

    /// The view the flags ask for; the packet lines when none does.
    pub fn view(&self) -> ShowView {
        match (self.conversations, self.endpoints, self.follow, self.flows) {
            (true, _, _, _) => ShowView::Conversations,
            (_, true, _, _) => ShowView::Endpoints,
            (_, _, Some(n), _) => ShowView::Follow(n),
            (_, _, _, true) => ShowView::Flows,
            _ if self.alerts => ShowView::Alerts,
            _ if self.detail.is_some() => ShowView::Detail(self.detail.expect("checked")),
            _ => ShowView::Packets,
        }
    }
}

/// Why `labctl show` failed.
#[derive(Debug, thiserror::Error)]
pub enum ShowError {
    /// The capture file is unreadable or malformed.
    #[error(transparent)]
    Wire(#[from] WireError),
    /// `--follow N` named a stream the capture does not have.
    #[error("no tcp stream {stream}: the capture has {count} tcp streams (numbered from 0)")]
    NoStream {
        /// The stream asked for.
        stream: usize,
        /// How many there are.
        count: usize,
    },
    /// `--detail N` named a frame the capture does not have.
    #[error("no frame {frame}: the capture has {count} frames (numbered from 1)")]
    NoFrame {
        /// The frame asked for.
        frame: u64,
        /// How many there are.
        count: u64,
    },
    /// Writing the output failed.
    #[error("cannot write output: {0}")]
    Write(#[from] io::Error),
    /// Serialising JSON failed.
    #[error("cannot encode json: {0}")]
    Json(#[from] serde_json::Error),
    /// A filter that does not compile: for a display filter the message, the filter and a
    /// caret under the place; for a capture filter libpcap's message.
    #[error("{}", filter_message(kind, text, error))]
    Filter {
        /// "display" or "capture".
        kind: &'static str,
        /// The filter as given.
        text: String,
        /// What is wrong and where.
        error: FilterError,
    },
}

fn filter_message(kind: &str, text: &str, error: &FilterError) -> String {
    if kind == "capture" {
        format!("bad capture filter \"{text}\": {}", error.problem)
    } else {
        format!("bad display filter at {}", error.render(text))
    }
}

impl ShowError {
    /// The reader of the output went away (`labctl show x.pcap | head`): not a failure.
    pub fn is_broken_pipe(&self) -> bool {
        match self {
            ShowError::Write(e) => e.kind() == io::ErrorKind::BrokenPipe,
            ShowError::Json(e) => e.io_error_kind() == Some(io::ErrorKind::BrokenPipe),
            _ => false,
        }
    }
}

#[derive(Serialize)]
struct PacketJson<'a> {
    frame: u64,
    time: f64,
    /// With `-v`: seconds since the previous frame shown.
    #[serde(skip_serializing_if = "Option::is_none")]
    delta: Option<f64>,
    length: u32,
    line: &'a str,
    /// With `-x`: the frame's bytes, as `tshark -x` lines.
    #[serde(skip_serializing_if = "Option::is_none")]
    hex: Option<Vec<String>>,
}

#[derive(Serialize)]
struct FollowJson {
    stream: usize,
    a: String,
    b: String,
    chunks: Vec<ChunkJson>,
}

#[derive(Serialize)]
struct ChunkJson {
    from: &'static str,
    frame: u64,
    bytes: usize,
    text: String,
}

#[derive(Serialize)]
struct FlowsJson<'a> {
    flows: &'a str,
}

/// Runs `labctl show`, printing on standard output. A reader that goes away before the end
/// (`labctl show x.pcap | head`) has what it wanted: that is [`Verdict::Passed`], not an error.
pub fn main(args: &ShowArgs) -> Result<Verdict, Error> {
    match show(args, &mut io::stdout().lock()) {
        Ok(()) => Ok(Verdict::Passed),
        Err(e) if e.is_broken_pipe() => Ok(Verdict::Passed),
        // What is wrong inside a file is told with the file's name; an open error already
        // names it.
        Err(ShowError::Wire(e)) if !matches!(e, WireError::Open { .. }) => {
            Err(Error::msg(format!("{}: {e}", args.file.display())))
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Serialize)]
struct CountJson {
    count: u64,
}

/// The compiled filters of one `labctl show`.
struct Filters {
    capture: Option<CaptureFilter>,
    display: Option<DisplayFilter>,
}

impl Filters {
    fn compile(args: &ShowArgs) -> Result<Filters, ShowError> {
        let bad = |kind, text: &String, error| ShowError::Filter {
            kind,
            text: text.clone(),
            error,
        };
        let capture = match &args.capture_filter {
            Some(t) => Some(CaptureFilter::new(t).map_err(|e| bad("capture", t, e))?),
            None => None,
        };
        let display = match &args.display_filter {
            Some(t) => Some(DisplayFilter::compile(t).map_err(|e| bad("display", t, e))?),
            None => None,
        };
        Ok(Filters { capture, display })
    }
}

/// The filters of one `labctl show` applied over its capture, frame after frame.
struct Selection<'f> {
    capture: Option<CaptureFilter>,
    display: Option<crate::filter::Matcher<'f>>,
    text: &'f Option<String>,
}

impl Selection<'_> {
    /// Calls `each` with every frame, dissected, and whether it passes both filters: `None`
    /// when the capture filter drops it, so the display filter never sees it.
    fn walk(
        &mut self,
        reader: &mut wire::CaptureReader<std::fs::File>,
        mut each: impl FnMut(&FrameRef<'_>, &wire::Packet, Option<bool>) -> Result<(), ShowError>,
    ) -> Result<(), ShowError> {
        while let Some(frame) = reader.next_frame()? {
            let pkt = wire::dissect(frame.linktype, frame.data);
            let keep = self.select(&frame, &pkt)?;
            each(&frame, &pkt, keep)?;
        }
        Ok(())
    }

    fn select(
        &mut self,
        frame: &FrameRef<'_>,
        pkt: &wire::Packet,
    ) -> Result<Option<bool>, ShowError> {
        if let Some(c) = &mut self.capture {
            let keep = c.matches(frame).map_err(|error| ShowError::Filter {
                kind: "capture",
                text: self.text.clone().unwrap_or_default(),
                error,
            })?;
            if !keep {
                return Ok(None);
            }
        }
        Ok(Some(
            self.display.as_mut().is_none_or(|m| m.matches(frame, pkt)),
        ))
    }
}

/// Writes the view `args` asks for to `out`. See the module documentation.
pub fn show(args: &ShowArgs, out: &mut dyn Write) -> Result<(), ShowError> {
    if let ShowView::Detail(n) = args.view() {
        return super::detail::detail_out(args, n, out);
    }
    let Filters { capture, display } = Filters::compile(args)?;
    let filtered = display.is_some();
    let mut selection = Selection {
        capture,
        display: display.as_ref().map(DisplayFilter::matcher),
        text: &args.capture_filter,
    };
    // One pass over a file that may be large: read in place where it can be mapped.
    let mut reader = wire::open_with(&args.file, crate::sandbox::map_whole)?;
    if args.count {
        let mut n = 0u64;
        selection.walk(&mut reader, |_, _, keep| {
            n += u64::from(keep == Some(true));
            Ok(())
        })?;
        if args.json {
            serde_json::to_writer(&mut *out, &CountJson { count: n })?;
            writeln!(out)?;
        } else {
            writeln!(out, "{n}")?;
        }
        return Ok(());
    }
    let view = args.view();
    if view == ShowView::Alerts {
        // Detection and the conversations it reads (failed TCP attempts) see only the frames
        // the filters keep, in one pass, as if the capture held nothing else.
        let mut analyzer = Analyzer::new();
        let mut detector = super::alerts::Detector::new(Default::default());
        selection.walk(&mut reader, |frame, pkt, keep| {
            if keep == Some(true) {
                analyzer.push_dissected(frame, pkt);
                detector.push(frame, pkt);
            }
            Ok(())
        })?;
        let analysis = analyzer.finish();
        let alerts = detector.finish(&analysis);
        return alerts_out(out, &alerts, args);
    }
    match view {
        ShowView::Packets => {
            let mut lines = PacketLines::new(args.names.clone()).verbose(args.verbose);
            let mut first = None;
            selection.walk(&mut reader, |frame, pkt, keep| {
                let Some(keep) = keep else { return Ok(()) };
                // Every kept frame goes through the renderer, shown or not: its times and
                // relative sequence numbers count from the capture's first frame and SYN.
                let line = lines.line(frame, pkt);
                let t0 = *first.get_or_insert(frame.ts);
                if !keep {
                    return Ok(());
                }
                let delta = args.verbose.then(|| lines.delta(frame.ts).as_secs_f64());
                lines.shown(frame.ts);
                if args.json {
                    let row = PacketJson {
                        frame: frame.number,
                        time: frame.ts.saturating_sub(t0).as_secs_f64(),
                        delta,
                        length: frame.orig_len,
                        line: &line,
                        hex: args.hex.then(|| wire::detail::hex_dump(frame.data)),
                    };
                    serde_json::to_writer(&mut *out, &row)?;
                    writeln!(out)?;
                } else {
                    writeln!(out, "{line}")?;
                    if args.hex {
                        super::detail::hex_lines(out, frame.data)?;
                    }
                }
                Ok(())
            })?;
            // A file libpcap reads only by overlooking its own header deserves a word, but
            // only when asked for detail: the frames themselves are fine.
            let oversized = reader.oversized();
            if args.verbose && oversized.count > 0 {
                eprintln!("labctl: warning: {oversized}");
            }
        }
        view => {
            let mut analyzer = Analyzer::new();
            let following = matches!(view, ShowView::Follow(_));
            if let ShowView::Follow(n) = view {
                analyzer.follow(n);
            }
            // Frames the filters selected, for following a stream through a filter.
            let mut kept = std::collections::HashSet::new();
            selection.walk(&mut reader, |frame, pkt, keep| {
                if following {
                    // Stream N is Wireshark's over every captured frame.
                    if keep.is_some() {
                        analyzer.push_dissected(frame, pkt);
                    }
                    if keep == Some(true) && filtered {
                        kept.insert(frame.number);
                    }
                } else if keep == Some(true) {
                    analyzer.push_dissected(frame, pkt);
                }
                Ok(())
            })?;
            let (analysis, mut chunks) = analyzer.finish_follow();
            let conv_view = table::ConvView {
                by: args.by,
                sort: args.sort,
            };
            if filtered {
                chunks.retain(|c| kept.contains(&c.frame));
            }
            match view {
                ShowView::Conversations if args.json => {
                    let rows: Vec<_> =
                        table::conversation_rows_in(&analysis, conv_view, &Names::new())
                            .into_iter()
                            .map(|(row, _, _)| row)
                            .collect();
                    serde_json::to_writer_pretty(&mut *out, &rows)?;
                    writeln!(out)?;
                }
                ShowView::Conversations => out.write_all(
                    table::conversations_text_in(&analysis, conv_view, &args.names).as_bytes(),
                )?,
                ShowView::Endpoints if args.json => {
                    serde_json::to_writer_pretty(&mut *out, &table::endpoint_rows(&analysis))?;
                    writeln!(out)?;
                }
                ShowView::Endpoints => {
                    out.write_all(table::endpoints_text(&analysis, &args.names).as_bytes())?
                }
                ShowView::Flows => {
                    let flows = super::render_flows_shown(&analysis, &args.names);
                    if args.json {
                        serde_json::to_writer_pretty(&mut *out, &FlowsJson { flows: &flows })?;
                        writeln!(out)?;
                    } else {
                        out.write_all(flows.as_bytes())?;
                    }
                }
                ShowView::Follow(n) => {
                    let count = analysis
                        .conversations
                        .iter()
                        .filter(|c| c.proto == super::Proto::Tcp)
                        .count();
                    let Some(c) = analysis.tcp_stream(n) else {
                        return Err(ShowError::NoStream { stream: n, count });
                    };
                    let a = args
                        .names
                        .host_port(&c.initiator.ip, &c.initiator.port.to_string());
                    let b = args
                        .names
                        .host_port(&c.responder.ip, &c.responder.port.to_string());
                    if args.json {
                        let doc = FollowJson {
                            stream: n,
                            a: a.clone(),
                            b: b.clone(),
                            chunks: chunks
                                .iter()
                                .map(|ch| ChunkJson {
                                    from: if ch.dir == Dir::Forward { "a" } else { "b" },
                                    frame: ch.frame,
                                    bytes: ch.data.len(),
                                    text: escape(&ch.data),
                                })
                                .collect(),
                        };
                        serde_json::to_writer_pretty(&mut *out, &doc)?;
                        writeln!(out)?;
                    } else {
                        follow_text(out, n, &a, &b, &chunks)?;
                    }
                }
                ShowView::Packets | ShowView::Alerts | ShowView::Detail(_) => {}
            }
        }
    }
    Ok(())
}

/// `--alerts`: one line per alert, or `{"alerts": [...]}`.
fn alerts_out(
    out: &mut dyn Write,
    alerts: &[super::alerts::Alert],
    args: &ShowArgs,
) -> Result<(), ShowError> {
    if args.json {
        let list: Vec<super::alerts::AlertJson> = alerts.iter().map(Into::into).collect();
        serde_json::to_writer_pretty(&mut *out, &serde_json::json!({ "alerts": list }))?;
        writeln!(out)?;
    } else {
        for a in alerts {
            writeln!(out, "{}", a.line(&args.names))?;
        }
    }
    Ok(())
}

/// The stream as text: a header per change of direction, then the bytes, with control bytes
/// other than newline and tab escaped so the terminal shows exactly what was sent.
fn follow_text(
    out: &mut dyn Write,
    n: usize,
    a: &str,
    b: &str,
    chunks: &[super::FollowChunk],
) -> io::Result<()> {
    writeln!(out, "tcp stream {n}: {a} > {b}")?;
    let mut i = 0;
    while i < chunks.len() {
        let dir = chunks[i].dir;
        let mut j = i;
        let mut data = Vec::new();
        while j < chunks.len() && chunks[j].dir == dir {
            data.extend_from_slice(&chunks[j].data);
            j += 1;
        }
        let (from, to) = if dir == Dir::Forward { (a, b) } else { (b, a) };
        writeln!(out, "--- {from} > {to}, {} bytes", data.len())?;
        let text = escape_lines(&data);
        out.write_all(text.as_bytes())?;
        if !text.ends_with('\n') {
            writeln!(out)?;
        }
        i = j;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_view_survives_the_flags() {
        for view in [
            ShowView::Packets,
            ShowView::Conversations,
            ShowView::Endpoints,
            ShowView::Follow(3),
            ShowView::Flows,
            ShowView::Alerts,
            ShowView::Detail(4),
        ] {
            assert_eq!(ShowArgs::new("x.pcap".into(), view).view(), view);
        }
    }
}
