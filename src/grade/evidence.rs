//! What grading looks at, gathered before any check is scored: the student's capture read and
//! analysed (up to the first bad byte), the lab run's capture analysed with host names, and
//! facts read from either (PASV data ports, MX hosts).

use std::fs::File;
use std::net::IpAddr;

use crate::analyze::FrameSink;
use crate::analyze::{Analysis, Analyzer, Conversation, Names};
use crate::report::Report;
use crate::wire::{self, CaptureReader, WireError};

use super::attack::{Attack, Tracer};

use super::submission::{FileProblem, Submission, shown};

/// The student's capture as graded.
#[derive(Debug)]
pub struct CaptureSeen {
    /// The file name graded, if there was one.
    pub name: Option<String>,
    /// What the frames read before any problem show; `None` when no frame could be read.
    pub analysis: Option<Analysis>,
    /// Why the capture could not be read to its end, in the student's terms.
    pub problem: Option<String>,
    /// What an attack left in it, read when the rubric asks (see [`super::attack`]).
    pub attack: Option<Attack>,
    /// The file, for a check that reads it again (a student's display filter).
    pub file: Option<File>,
}

impl CaptureSeen {
    /// Reads the submission's capture; `attacks` also reads what an attack left in it.
    pub fn read(submission: &mut Submission, attacks: bool) -> CaptureSeen {
        let capture = match &mut submission.capture {
            Err((name, problem)) => {
                let problem = match (&*name, &*problem) {
                    (None, FileProblem::Missing) => {
                        "no capture in your submission: hand in the .pcap or .pcapng file that \
                         tcpdump or Wireshark wrote"
                            .to_string()
                    }
                    (name, problem) => format!(
                        "your capture {} {}",
                        shown(name.as_deref().unwrap_or("")),
                        problem.describe()
                    ),
                };
                return CaptureSeen {
                    name: name.clone(),
                    analysis: None,
                    problem: Some(problem),
                    attack: None,
                    file: None,
                };
            }
            Ok(c) => c,
        };
        let name = capture.name.clone();
        let file = match capture.file.try_clone() {
            Ok(f) => f,
            Err(e) => {
                return CaptureSeen {
                    name: Some(name.clone()),
                    analysis: None,
                    problem: Some(format!(
                        "your capture {} cannot be read ({e})",
                        shown(&name)
                    )),
                    attack: None,
                    file: None,
                };
            }
        };
        let again = capture.file.try_clone().ok();
        let (analysis, attack, problem) = analyse(file, attacks);
        CaptureSeen {
            file: again,
            problem: problem.map(|p| format!("your capture {} {p}", shown(&name))),
            name: Some(name),
            analysis,
            attack,
        }
    }
}

/// Streams a capture through the analysis (and, with `attacks`, the [`Tracer`] of an
/// attack's facts, in the same pass); a problem part way keeps what was read before it.
fn analyse(file: File, attacks: bool) -> (Option<Analysis>, Option<Attack>, Option<String>) {
    let mut reader = match CaptureReader::new(std::io::BufReader::new(file)) {
        Ok(r) => r,
        Err(e) => return (None, None, Some(describe(&e))),
    };
    let mut analyzer = Analyzer::new();
    let mut tracer = attacks.then(Tracer::default);
    let mut frames = 0u64;
    let problem = loop {
        match reader.next_frame() {
            Ok(Some(frame)) => {
                frames += 1;
                match &mut tracer {
                    None => analyzer.push(&frame),
                    Some(t) => {
                        let pkt = wire::dissect(frame.linktype, frame.data);
                        analyzer.push_dissected(&frame, &pkt);
                        t.push(&frame, &pkt);
                    }
                }
            }
            Ok(None) => break None,
            Err(e) => break Some(describe(&e)),
        }
    };
    let problem = match (problem, frames) {
        (None, 0) => Some("holds no packets: start the capture before the exercise".into()),
        (p, _) => p,
    };
    let analysis = analyzer.finish();
    let attack = tracer.map(|t| t.finish(&analysis));
    (Some(analysis), attack, problem)
}

fn describe(e: &WireError) -> String {
    match e {
        WireError::Empty => "is empty (0 bytes)".into(),
        WireError::BadMagic { magic } => format!(
            "is not a pcap or pcapng capture (it starts with the bytes {magic:08x}): save it \
             from tcpdump -w or Wireshark's File > Save As"
        ),
        WireError::Truncated { offset, .. } => format!(
            "is cut short at byte {offset}: the last packet is incomplete (stop tcpdump with \
             Ctrl-C so it finishes writing the file); the packets before it were graded"
        ),
        other => format!("is damaged: {other}; the packets before the damage were graded"),
    }
}

/// The lab run: its report, and the conversations of its captures with host names.
pub struct LabSeen {
    pub report: Report,
    pub names: Names,
    pub conversations: Vec<Conversation>,
}

impl LabSeen {
    pub fn new(report: Report, names: Names) -> LabSeen {
        let conversations = report
            .captures
            .iter()
            .flat_map(|c| c.analysis.conversations.iter().cloned())
            .collect();
        LabSeen {
            report,
            names,
            conversations,
        }
    }

    /// The TCP conversations `client > server:port` of the lab's captures.
    pub fn find(&self, client: &str, server: &str, port: u16) -> Vec<&Conversation> {
        self.conversations
            .iter()
            .filter(|c| {
                c.tcp.is_some()
                    && self.names.host(&c.initiator.ip) == client
                    && self.names.host(&c.responder.ip) == server
                    && c.responder.port == port
            })
            .collect()
    }
}

/// The `227 ... (h1,h2,h3,h4,p1,p2)` replies of a capture: (index of the control
/// conversation, reply text, p1*256+p2).
pub fn pasv_replies(analysis: &Analysis) -> Vec<(usize, String, u16)> {
    let mut out = Vec::new();
    for (i, c) in analysis.conversations.iter().enumerate() {
        if c.tcp.is_none() {
            continue;
        }
        let text = String::from_utf8_lossy(&c.transcript[1].bytes);
        for line in text.lines().filter(|l| l.starts_with("227")) {
            let Some(inner) = line
                .split_once('(')
                .and_then(|(_, r)| r.split_once(')'))
                .map(|(i, _)| i)
            else {
                continue;
            };
            let n: Vec<u16> = inner
                .split(',')
                .filter_map(|x| x.trim().parse().ok())
                .collect();
            if n.len() == 6 && n[4] < 256 && n[5] < 256 {
                out.push((i, format!("({inner})"), n[4] * 256 + n[5]));
            }
        }
    }
    out
}

/// The `227` replies of a capture: (reply text, p1*256+p2).
pub fn pasv_ports(analysis: &Analysis) -> Vec<(String, u16)> {
    pasv_replies(analysis)
        .into_iter()
        .map(|(_, r, p)| (r, p))
        .collect()
}

/// The MX records answered in a capture: (preference, mail host normalised), each once, in
/// the order first seen.
pub fn mx_records(analysis: &Analysis) -> Vec<(u16, String)> {
    let mut out: Vec<(u16, String)> = Vec::new();
    let records = analysis
        .conversations
        .iter()
        .flat_map(|c| c.dns.iter())
        .flat_map(|d| d.answers.iter())
        .filter(|r| r.rtype == "MX");
    for r in records {
        let mut words = r.data.split_whitespace();
        let (Some(pref), Some(host)) = (words.next().and_then(|p| p.parse().ok()), words.next())
        else {
            continue;
        };
        let rec = (pref, normal_host(host));
        if !out.contains(&rec) {
            out.push(rec);
        }
    }
    out
}

pub fn normal_host(name: &str) -> String {
    name.trim().trim_end_matches('.').to_ascii_lowercase()
}

/// `10.0.0.1` as a person reads it in their capture.
pub fn ip(addr: &IpAddr) -> String {
    addr.to_string()
}
