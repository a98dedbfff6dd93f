//! Application patterns: `http-sqli-or-attack-tool`, `smtp-user-enumeration`,
//! `dns-zone-transfer`, `dns-over-tcp`.
//!
//! They read the application lines the dissector already recognised in each segment (HTTP
//! request heads, SMTP commands and replies, DNS messages), so a request split across
//! segments is read piece by piece, as tcpdump shows it. A missing User-Agent is never a
//! sign (`http-by-hand` sends none); the SQL patterns are looked for in the percent-decoded
//! request target, comments only in its query. A TCP connection to port 53 is `info` (a
//! `dig +tcp` is legitimate) and becomes `medium` only when one client opens many.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;

use crate::text::escape;
use crate::wire::{App as Msg, AppProto, FrameRef, Net, Packet, TcpFlags, Transport};

use super::{At, Book, Entry, Groups, Party, Severity, Thresholds, list};

/// Requests an HTTP alert quotes.
const MAX_QUOTES: usize = 3;

#[derive(Debug, Default)]
struct Http {
    reasons: BTreeSet<&'static str>,
    quotes: Vec<String>,
    tools: BTreeSet<String>,
}

#[derive(Debug)]
struct Smtp {
    client: IpAddr,
    server: IpAddr,
    entry: Entry,
    enum_cmds: u64,
    rcpt: u64,
    rejected: u64,
    root: bool,
    users: BTreeSet<String>,
}

#[derive(Debug, Default)]
struct Axfr {
    names: BTreeSet<String>,
    rcodes: BTreeSet<String>,
}

/// Application state of one interface.
pub struct App {
    http: BTreeMap<(IpAddr, IpAddr), Http>,
    smtp: HashMap<(IpAddr, u16, IpAddr, u16), Smtp>,
    smtp_clients: Groups<IpAddr, u64, ()>,
    axfr: BTreeMap<(IpAddr, IpAddr), Axfr>,
    dns_tcp: Groups<IpAddr, (IpAddr, u16), ()>,
    cfg: Thresholds,
}

/// Percent-decodes a request target (`+` is a space in the query).
fn decode(target: &str) -> String {
    let b = target.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match b[i] {
            b'%' if i + 2 < b.len() => match (hex(b[i + 1]), hex(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).to_lowercase()
}

/// `(and|or) N = N` with word boundaries and optional spaces around `=`.
fn tautology(s: &str) -> bool {
    let b = s.as_bytes();
    for (i, _) in s.match_indices(['a', 'o']) {
        let word = if s[i..].starts_with("and") {
            3
        } else if s[i..].starts_with("or") {
            2
        } else {
            continue;
        };
        if i > 0 && b[i - 1].is_ascii_alphanumeric() {
            continue;
        }
        let rest = &s[i + word..];
        let Some(r) = rest.strip_prefix(|c: char| c.is_whitespace()) else {
            continue;
        };
        let r = r.trim_start();
        let digits = r.len() - r.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits == 0 {
            continue;
        }
        let r = r[digits..].trim_start();
        let Some(r) = r.strip_prefix('=') else {
            continue;
        };
        if r.trim_start().starts_with(|c: char| c.is_ascii_digit()) {
            return true;
        }
    }
    false
}

/// The SQL injection signs in a request target, by name.
pub fn sqli_signs(target: &str) -> Vec<&'static str> {
    let t = decode(target);
    let query = t.split_once('?').map_or("", |(_, q)| q);
    let mut signs = Vec::new();
    let quote_after_value = query.match_indices('=').any(|(i, _)| {
        let after = query[i + 1..].trim_start_matches(|c: char| c.is_ascii_digit());
        after.starts_with('\'')
    });
    if quote_after_value {
        signs.push("a quote closing a parameter");
    }
    if query.contains("--") || query.contains('#') || query.contains("/*") {
        signs.push("an SQL comment");
    }
    if tautology(&t) {
        signs.push("and/or N=N");
    }
    let words: Vec<&str> = t
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .filter(|w| !w.is_empty())
        .collect();
    if words.windows(2).any(|w| w == ["union", "select"])
        || words.windows(3).any(|w| w == ["union", "all", "select"])
    {
        signs.push("union select");
    }
    if t.contains("sleep(") || t.contains("benchmark(") {
        signs.push("a timing function");
    }
    if t.contains("information_schema") {
        signs.push("information_schema");
    }
    signs
}

/// The attack tool a User-Agent names, if any.
pub fn attack_tool(ua: &str) -> Option<&'static str> {
    let l = ua.to_ascii_lowercase();
    if l.starts_with("sqlmap") {
        Some("sqlmap")
    } else if l.contains("nmap scripting engine") || l.contains("nmap nse") {
        Some("Nmap NSE")
    } else if l.contains("nikto") {
        Some("Nikto")
    } else if l.contains("masscan") {
        Some("masscan")
    } else {
        None
    }
}

impl App {
    /// Fresh state with these thresholds.
    pub fn new(cfg: &Thresholds) -> App {
        App {
            http: BTreeMap::new(),
            smtp: HashMap::new(),
            smtp_clients: Groups::new(
                cfg.secs("smtp-user-enumeration", "window"),
                cfg.count("smtp-user-enumeration", "client"),
            ),
            axfr: BTreeMap::new(),
            dns_tcp: Groups::new(
                cfg.secs("dns-over-tcp", "window"),
                cfg.count("dns-over-tcp", "connections"),
            ),
            cfg: cfg.clone(),
        }
    }

    /// Looks at one frame.
    pub fn push(&mut self, at: At, _frame: &FrameRef<'_>, pkt: &Packet, book: &mut Book) {
        let Net::Ip(ip) = &pkt.net else { return };
        let (src, dst) = (ip.src, ip.dst);
        if let Transport::Tcp(t) = &pkt.transport
            && t.dst_port == 53
            && t.flags.0 & (TcpFlags::SYN | TcpFlags::ACK) == TcpFlags::SYN
        {
            self.dns_tcp.push(src, at, (dst, t.src_port));
            let e = book.hit("dns-over-tcp", Severity::Info, Party::ips(src, dst), at);
            e.evidence = format!(
                "DNS over TCP: {} connections to port 53 (normal is UDP)",
                e.count
            );
        }
        let Some(app) = &pkt.app else { return };
        let ports = match &pkt.transport {
            Transport::Tcp(t) => (t.src_port, t.dst_port),
            Transport::Udp(u) => (u.src_port, u.dst_port),
            _ => return,
        };
        match app {
            Msg::Dns(d) if !d.response => {
                for q in &d.questions {
                    if q.qtype == "AXFR" || q.qtype == "IXFR" {
                        book.hit(
                            "dns-zone-transfer",
                            Severity::High,
                            Party::ips(src, dst),
                            at,
                        );
                        let a = self.axfr.entry((src, dst)).or_default();
                        a.names.insert(format!("{} of {}", q.qtype, q.name));
                    }
                }
            }
            Msg::Dns(d) => {
                if let Some(a) = self.axfr.get_mut(&(dst, src)) {
                    a.rcodes.insert(d.rcode.clone());
                }
            }
            Msg::Lines {
                proto: AppProto::Http,
                lines,
            } => self.http(at, (src, dst), lines, book),
            Msg::Lines {
                proto: AppProto::Smtp,
                lines,
            } => self.smtp(at, (src, ports.0, dst, ports.1), lines),
            Msg::Lines { .. } | Msg::Dhcp(_) => {}
        }
    }

    fn http(&mut self, at: At, (src, dst): (IpAddr, IpAddr), lines: &[String], book: &mut Book) {
        let Some(first) = lines.first() else { return };
        let mut words = first.split(' ');
        let (Some(_method), Some(target), Some(version)) =
            (words.next(), words.next(), words.next())
        else {
            return;
        };
        if !version.starts_with("HTTP/") {
            return;
        }
        let signs = sqli_signs(target);
        let tool = lines.iter().skip(1).find_map(|l| {
            let (name, value) = l.split_once(':')?;
            if !name.trim().eq_ignore_ascii_case("user-agent") {
                return None;
            }
            attack_tool(value.trim()).map(|t| (t, value.trim().to_string()))
        });
        if signs.is_empty() && tool.is_none() {
            return;
        }
        book.hit(
            "http-sqli-or-attack-tool",
            Severity::High,
            Party::ips(src, dst),
            at,
        );
        let h = self.http.entry((src, dst)).or_default();
        h.reasons.extend(signs);
        if let Some((_, ua)) = tool {
            h.tools.insert(ua);
        }
        if h.quotes.len() < MAX_QUOTES {
            h.quotes.push(escape(first.as_bytes()));
        }
    }

    fn smtp(
        &mut self,
        at: At,
        (src, sport, dst, dport): (IpAddr, u16, IpAddr, u16),
        lines: &[String],
    ) {
        let to_server = dport == 25 || dport == 587;
        let key = if to_server {
            (src, sport, dst, dport)
        } else {
            (dst, dport, src, sport)
        };
        if !to_server {
            if let Some(s) = self.smtp.get_mut(&key) {
                s.rejected += lines
                    .iter()
                    .filter(|l| {
                        l.len() >= 3
                            && l.starts_with('5')
                            && l[..3].bytes().all(|b| b.is_ascii_digit())
                    })
                    .count() as u64;
            }
            return;
        }
        for line in lines {
            let upper = line.to_ascii_uppercase();
            let (is_enum, is_rcpt) = (
                upper.starts_with("VRFY") || upper.starts_with("EXPN"),
                upper.starts_with("RCPT TO"),
            );
            if !is_enum && !is_rcpt {
                continue;
            }
            let s = self.smtp.entry(key).or_insert_with(|| Smtp {
                client: src,
                server: dst,
                entry: Entry::new(at),
                enum_cmds: 0,
                rcpt: 0,
                rejected: 0,
                root: false,
                users: BTreeSet::new(),
            });
            s.entry.hit(at.frame, at.ts);
            let arg = line.get(if is_rcpt { 8 } else { 5 }..).unwrap_or("").trim();
            if s.users.len() < 64 {
                s.users.insert(escape(arg.as_bytes()));
            }
            if is_enum {
                s.enum_cmds += 1;
                if arg.eq_ignore_ascii_case("root") {
                    s.root = true;
                }
                self.smtp_clients.push(src, at, at.frame);
            } else {
                s.rcpt += 1;
            }
        }
    }

    /// Writes evidence and turns what matched into alerts.
    pub fn finish(self, book: &mut Book) {
        for ((src, dst), h) in &self.http {
            if let Some(e) =
                book.get_mut("http-sqli-or-attack-tool", Party::Ip(*src), Party::Ip(*dst))
            {
                let mut parts = Vec::new();
                if !h.reasons.is_empty() {
                    parts.push(format!("SQL injection ({})", list(&h.reasons, 6)));
                }
                if !h.tools.is_empty() {
                    parts.push(format!(
                        "User-Agent {}",
                        list(h.tools.iter().map(|t| escape(t.as_bytes())), 2)
                    ));
                }
                e.evidence = format!(
                    "{} in {} requests: {}",
                    parts.join(", "),
                    e.count,
                    list(&h.quotes, MAX_QUOTES)
                );
            }
        }
        for ((src, dst), a) in &self.axfr {
            if let Some(e) = book.get_mut("dns-zone-transfer", Party::Ip(*src), Party::Ip(*dst)) {
                let answer = if a.rcodes.is_empty() {
                    "no answer".to_string()
                } else {
                    format!("answered {}", list(&a.rcodes, 3))
                };
                e.evidence = format!(
                    "zone transfer: {} asked of {dst}, {answer}",
                    list(&a.names, 3)
                );
            }
        }
        let busy: BTreeSet<IpAddr> = self.dns_tcp.flagged().into_iter().map(|(c, _)| c).collect();
        for (src, _, e) in book.of("dns-over-tcp") {
            if let Party::Ip(ip) = src
                && busy.contains(&ip)
            {
                e.severity = Severity::Medium;
            }
        }
        let cfg = &self.cfg;
        let busy: BTreeSet<IpAddr> = self
            .smtp_clients
            .flagged()
            .into_iter()
            .map(|(c, _)| c)
            .collect();
        let mut sessions: Vec<_> = self.smtp.into_iter().collect();
        sessions.sort_by_key(|(k, _)| *k);
        for (_, s) in sessions {
            let per_session = s.enum_cmds >= cfg.count("smtp-user-enumeration", "session") as u64;
            let rcpt = s.rcpt >= cfg.count("smtp-user-enumeration", "rcpt") as u64
                && s.rejected >= cfg.count("smtp-user-enumeration", "rejected") as u64;
            let client = s.enum_cmds > 0 && busy.contains(&s.client);
            let severity = if per_session || rcpt || client {
                Severity::Medium
            } else if s.root {
                Severity::Low
            } else {
                continue;
            };
            let mut entry = s.entry;
            entry.severity = severity;
            entry.evidence = format!(
                "SMTP user enumeration: {} VRFY/EXPN and {} RCPT TO ({} rejected with 5xx) for {}",
                s.enum_cmds,
                s.rcpt,
                s.rejected,
                list(&s.users, 6)
            );
            book.put(
                "smtp-user-enumeration",
                Party::Ip(s.client),
                Party::Ip(s.server),
                entry,
            );
        }
    }
}
