//! The words on a ladder's arrows: TCP flags as Wireshark names them, a payload preview (the
//! application message, or the first bytes escaped), and a conversation's outcome.
//!
//! Contract: every function returns text already made printable by [`escape`]; HTML escaping is
//! left to the drawing.

use crate::analyze::ConnOutcome;
use crate::text::escape;
use crate::wire::{self, App, Packet};

/// How many bytes of payload an arrow's preview shows.
const PREVIEW: usize = 40;

/// `SYN`, `SYN, ACK`, `PSH, ACK`, `FIN, ACK`, `RST, ACK`, as Wireshark writes them.
pub(super) fn flag_words(flags: wire::TcpFlags) -> String {
    let mut words = Vec::new();
    for (on, word) in [
        (flags.fin(), "FIN"),
        (flags.syn(), "SYN"),
        (flags.rst(), "RST"),
        (flags.psh(), "PSH"),
        (flags.ack(), "ACK"),
    ] {
        if on {
            words.push(word);
        }
    }
    // Wireshark lists SYN before FIN; the order above is the header's bit order.
    if flags.syn() && flags.fin() {
        words.swap(0, 1);
    }
    if words.is_empty() {
        "none".into()
    } else {
        words.join(", ")
    }
}

/// The application message, or the first bytes of the payload, escaped.
pub(super) fn preview(pkt: &Packet, payload: &[u8]) -> String {
    match &pkt.app {
        Some(App::Lines { proto, lines }) => {
            let text: Vec<String> = lines.iter().map(|l| escape(l.as_bytes())).collect();
            cut(&format!("{} {}", proto.name(), text.join(" | ")))
        }
        Some(App::Dhcp(m)) => cut(&m.summary()),
        Some(App::Dns(dns)) => {
            let q: Vec<String> = dns
                .questions
                .iter()
                .map(|q| format!("{} {}", q.qtype, q.name))
                .collect();
            cut(&format!(
                "DNS {} {}",
                if dns.response { "response" } else { "query" },
                escape(q.join(", ").as_bytes())
            ))
        }
        None if payload.is_empty() => String::new(),
        None => {
            let shown = escape(&payload[..payload.len().min(PREVIEW)]);
            if payload.len() > PREVIEW {
                format!("\"{shown}\"…")
            } else {
                format!("\"{shown}\"")
            }
        }
    }
}

/// At most 60 characters.
fn cut(s: &str) -> String {
    if s.chars().count() <= 60 {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(59).collect::<String>())
    }
}

pub(super) fn outcome_word(o: ConnOutcome) -> &'static str {
    match o {
        ConnOutcome::Established => "established",
        ConnOutcome::HalfOpen => "half open",
        ConnOutcome::Refused => "refused",
        ConnOutcome::Reset => "reset",
        ConnOutcome::Rejected => "rejected by ICMP",
        ConnOutcome::NoAnswer => "no answer",
        ConnOutcome::Answered => "answered",
    }
}
