//! What an attack left in a student's capture, for the answers of a defence lab
//! (`labs/find-the-attacker`): who scanned whom and how, which ports answered the scan, the
//! scanner's MAC address, and the ARP bindings that changed.
//!
//! The capture is the student's own: MAC addresses, ports and probe order change from run to
//! run, so the facts come from it alone. They are read in the same pass as the capture's
//! analysis ([`Tracer`] is a [`FrameSink`]), with the catalogue's detection beside them: the
//! scanner is the source of a scan alert (`tcp-port-scan`, or the source-port and sequence
//! number reuse that give a scanner away), never a guess of this module's own.
//!
//! Contract: the facts are a pure function of the capture's bytes; memory is bounded by the
//! probes kept ([`MAX_PROBES`]) and the addresses seen; nothing panics on any input.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

use crate::analyze::alerts::{Alert, Detector, Party, Severity, Thresholds};
use crate::analyze::{Analysis, FrameSink};
use crate::wire::{FrameRef, Link, Mac, Net, Packet, TcpFlags, Transport};

/// Probes remembered per capture; past this, new (scanner, target, port) keys are not kept.
pub const MAX_PROBES: usize = 1 << 16;

/// The alerts that name a scanner as their source.
const SCAN_ALERTS: &[&str] = &[
    "tcp-port-scan",
    "tcp-scan-source-port-reuse",
    "tcp-scan-isn-reuse",
    "tcp-odd-flags",
];

/// How a port scan probes, as nmap's options name them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScanKind {
    /// SYN, and RST instead of the handshake's last ACK (`-sS`, half-open).
    Syn,
    /// A whole handshake per open port (`-sT`).
    Connect,
    /// No flag at all (`-sN`).
    Null,
    /// FIN alone (`-sF`).
    Fin,
    /// FIN, PSH and URG (`-sX`).
    Xmas,
}

impl ScanKind {
    /// The words a networker may write for this kind, after [`words`] (lowercase, no
    /// punctuation, without "scan", "tcp" and "port").
    fn names(self) -> &'static [&'static str] {
        match self {
            ScanKind::Syn => &[
                "syn",
                "half open",
                "halfopen",
                "syn half open",
                "half open syn",
                "stealth",
                "syn stealth",
                "stealth syn",
                "ss",
                "nmap ss",
            ],
            ScanKind::Connect => &[
                "connect",
                "full connect",
                "full open",
                "full handshake",
                "st",
                "nmap st",
            ],
            ScanKind::Null => &["null", "sn", "nmap sn"],
            ScanKind::Fin => &["fin", "sf", "nmap sf"],
            ScanKind::Xmas => &[
                "xmas",
                "xmas tree",
                "christmas",
                "christmas tree",
                "sx",
                "nmap sx",
            ],
        }
    }

    /// What shows it on the wire, for feedback.
    fn shown_by(self) -> &'static str {
        match self {
            ScanKind::Syn => {
                "each port that answered SYN-ACK got a RST from the scanner instead of the \
                 handshake's last ACK (half-open)"
            }
            ScanKind::Connect => "the scanner completed the handshake with each open port",
            ScanKind::Null => "its probes carry no TCP flag at all",
            ScanKind::Fin => "its probes carry FIN alone",
            ScanKind::Xmas => "its probes carry FIN, PSH and URG together",
        }
    }

    /// The kind a written answer names, if any.
    pub fn read(text: &str) -> Option<ScanKind> {
        let w = words(text);
        [
            ScanKind::Syn,
            ScanKind::Connect,
            ScanKind::Null,
            ScanKind::Fin,
            ScanKind::Xmas,
        ]
        .into_iter()
        .find(|k| k.names().contains(&w.as_str()))
    }
}

impl fmt::Display for ScanKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ScanKind::Syn => "a SYN scan",
            ScanKind::Connect => "a connect scan",
            ScanKind::Null => "a NULL scan",
            ScanKind::Fin => "a FIN scan",
            ScanKind::Xmas => "an Xmas scan",
        })
    }
}

/// `text` lowercased, punctuation as spaces, without the words "scan", "tcp" and "port".
fn words(text: &str) -> String {
    let lower: String = text
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { ' ' })
        .collect();
    lower
        .split_whitespace()
        .filter(|w| !["scan", "scanning", "tcp", "port"].contains(w))
        .collect::<Vec<_>>()
        .join(" ")
}

/// One port as a scan saw it.
#[derive(Clone, Copy, Debug, Default)]
struct Probe {
    /// Flags of the first probe without ACK.
    flags: u16,
    /// The first answer: SYN-ACK (open) or RST (closed), with its frame.
    answer: Option<(Answer, u64)>,
    /// What the scanner sent after a SYN-ACK.
    followed: Option<Follow>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Answer {
    SynAck,
    Rst,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Follow {
    Rst,
    Ack,
}

/// An ARP binding that changed: `ip` was at `from`, then claimed at `to`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Change {
    pub ip: Ipv4Addr,
    pub from: Mac,
    pub to: Mac,
    /// The frame of the ARP packet that changed it.
    pub frame: u64,
    /// `to` is the address's first binding: the true one announced again (arpspoof does so
    /// when it stops), not a poisoning.
    pub restores: bool,
}

/// Reads a capture for [`Attack`]: feed it every frame, then [`Tracer::finish`].
pub struct Tracer {
    detector: Detector,
    /// Source MAC addresses of each IP address's packets, with their counts.
    macs: HashMap<IpAddr, BTreeMap<Mac, u64>>,
    /// Each address's first binding, and its current one.
    bindings: HashMap<Ipv4Addr, (Mac, Mac)>,
    changes: Vec<Change>,
    probes: HashMap<(IpAddr, IpAddr, u16), Probe>,
}

impl Default for Tracer {
    fn default() -> Tracer {
        Tracer {
            detector: Detector::new(Thresholds::new()),
            macs: HashMap::new(),
            bindings: HashMap::new(),
            changes: Vec::new(),
            probes: HashMap::new(),
        }
    }
}

impl FrameSink for Tracer {
    fn push(&mut self, frame: &FrameRef<'_>, pkt: &Packet) {
        self.detector.push(frame, pkt);
        let Link::Ethernet { src: mac, .. } = pkt.link else {
            return;
        };
        match &pkt.net {
            Net::Arp(a) if !a.sender_ip.is_unspecified() && a.sender_mac != Mac::default() => {
                match self.bindings.get_mut(&a.sender_ip) {
                    None => {
                        self.bindings
                            .insert(a.sender_ip, (a.sender_mac, a.sender_mac));
                    }
                    Some((first, now)) if *now != a.sender_mac => {
                        self.changes.push(Change {
                            ip: a.sender_ip,
                            from: *now,
                            to: a.sender_mac,
                            frame: frame.number,
                            restores: a.sender_mac == *first,
                        });
                        *now = a.sender_mac;
                    }
                    Some(_) => {}
                }
            }
            Net::Ip(ip) => {
                if mac != Mac::default() {
                    *self.macs.entry(ip.src).or_default().entry(mac).or_default() += 1;
                }
                if let Transport::Tcp(t) = &pkt.transport {
                    self.tcp(
                        frame.number,
                        ip.src,
                        ip.dst,
                        t.src_port,
                        t.dst_port,
                        t.flags,
                    );
                }
            }
            _ => {}
        }
    }
}

impl Tracer {
    fn tcp(&mut self, frame: u64, src: IpAddr, dst: IpAddr, sport: u16, dport: u16, f: TcpFlags) {
        let bits = f.0 & 0x3f;
        if bits & TcpFlags::ACK == 0 && bits & TcpFlags::RST == 0 {
            // A probe (or a client's SYN): the first one per port is kept.
            if self.probes.len() < MAX_PROBES || self.probes.contains_key(&(src, dst, dport)) {
                self.probes.entry((src, dst, dport)).or_insert(Probe {
                    flags: bits,
                    ..Probe::default()
                });
            }
            return;
        }
        // An answer from the probed port.
        if let Some(p) = self.probes.get_mut(&(dst, src, sport))
            && p.answer.is_none()
        {
            let syn_ack = TcpFlags::SYN | TcpFlags::ACK;
            if bits & syn_ack == syn_ack {
                p.answer = Some((Answer::SynAck, frame));
            } else if bits & TcpFlags::RST != 0 {
                p.answer = Some((Answer::Rst, frame));
            }
            return;
        }
        // What the prober did after a SYN-ACK.
        if let Some(p) = self.probes.get_mut(&(src, dst, dport))
            && matches!(p.answer, Some((Answer::SynAck, _)))
            && p.followed.is_none()
        {
            p.followed = Some(if bits & TcpFlags::RST != 0 {
                Follow::Rst
            } else {
                Follow::Ack
            });
        }
    }

    /// The facts, with the alerts of the whole capture.
    pub fn finish(self, analysis: &Analysis) -> Attack {
        let alerts = self.detector.finish(analysis);
        let mut scanners: Vec<(IpAddr, IpAddr)> = Vec::new();
        for a in alerts
            .iter()
            .filter(|a| SCAN_ALERTS.contains(&a.id) && a.severity > Severity::Info)
        {
            if let (Party::Ip(src), Party::Ip(dst)) = (a.src, a.dst)
                && !scanners.contains(&(src, dst))
            {
                scanners.push((src, dst));
            }
        }
        let scans = scanners
            .into_iter()
            .map(|(attacker, target)| {
                let ports: BTreeMap<u16, Probe> = self
                    .probes
                    .iter()
                    .filter(|((s, d, _), _)| *s == attacker && *d == target)
                    .map(|((_, _, port), p)| (*port, *p))
                    .collect();
                Scan::new(attacker, target, &ports)
            })
            .collect();
        Attack {
            alerts,
            scans,
            changes: self.changes,
            macs: self.macs,
        }
    }
}

/// One scanner against one target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scan {
    pub attacker: IpAddr,
    pub target: IpAddr,
    pub kind: Option<ScanKind>,
    /// Ports that answered SYN-ACK, with the frame of the answer.
    pub open: BTreeMap<u16, u64>,
    /// Ports that answered RST, with the frame of the answer.
    pub closed: BTreeMap<u16, u64>,
}

impl Scan {
    fn new(attacker: IpAddr, target: IpAddr, ports: &BTreeMap<u16, Probe>) -> Scan {
        let mut open = BTreeMap::new();
        let mut closed = BTreeMap::new();
        for (port, p) in ports {
            match p.answer {
                Some((Answer::SynAck, f)) => {
                    open.insert(*port, f);
                }
                Some((Answer::Rst, f)) => {
                    closed.insert(*port, f);
                }
                None => {}
            }
        }
        // The probes' flags say the kind, by majority; a SYN scan and a connect scan differ
        // in what follows the SYN-ACK.
        let mut by_flags: BTreeMap<u16, usize> = BTreeMap::new();
        for p in ports.values() {
            *by_flags.entry(p.flags).or_default() += 1;
        }
        let flags = by_flags
            .iter()
            .max_by_key(|(f, n)| (**n, std::cmp::Reverse(**f)))
            .map(|(f, _)| *f);
        let fin_psh_urg = TcpFlags::FIN | TcpFlags::PSH | TcpFlags::URG;
        let kind = match flags {
            Some(TcpFlags::SYN) => {
                let follows: Vec<Follow> = ports.values().filter_map(|p| p.followed).collect();
                let acks = follows.iter().filter(|f| **f == Follow::Ack).count();
                match (follows.is_empty(), acks * 2 > follows.len()) {
                    (true, _) => None,
                    (false, true) => Some(ScanKind::Connect),
                    (false, false) => Some(ScanKind::Syn),
                }
            }
            Some(0) => Some(ScanKind::Null),
            Some(TcpFlags::FIN) => Some(ScanKind::Fin),
            Some(f) if f == fin_psh_urg => Some(ScanKind::Xmas),
            _ => None,
        };
        Scan {
            attacker,
            target,
            kind,
            open,
            closed,
        }
    }
}

/// What an attack left in a capture. See the module documentation.
#[derive(Debug)]
pub struct Attack {
    pub alerts: Vec<Alert>,
    /// Scans, in the order of their first alert.
    pub scans: Vec<Scan>,
    /// ARP binding changes, in capture order.
    pub changes: Vec<Change>,
    macs: HashMap<IpAddr, BTreeMap<Mac, u64>>,
}

impl Attack {
    /// The MAC address most of `ip`'s packets came from.
    pub fn mac_of(&self, ip: &IpAddr) -> Option<Mac> {
        self.macs
            .get(ip)?
            .iter()
            .max_by_key(|(_, n)| **n)
            .map(|(m, _)| *m)
    }

    /// The IP addresses whose packets came from `mac`.
    pub fn ips_of(&self, mac: Mac) -> BTreeSet<IpAddr> {
        self.macs
            .iter()
            .filter(|(_, m)| m.contains_key(&mac))
            .map(|(ip, _)| *ip)
            .collect()
    }
}

/// The facts of [`Attack`] an answer is compared with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttackFact {
    AttackerIp,
    AttackerMac,
    ScanKind,
    OpenPorts,
    PoisonedBinding,
}

/// Judges the answer `given` to `key` against what the capture shows.
pub fn judge(attack: &Attack, fact: AttackFact, key: &str, given: &str) -> Result<(), String> {
    if fact == AttackFact::PoisonedBinding {
        return binding(attack, key, given);
    }
    let Some(scan) = attack.scans.first() else {
        return Err(format!(
            "your capture shows no port scan (no host probing many ports of another, nor a \
             scanner's reused source port or sequence number), so {key} cannot be checked"
        ));
    };
    match fact {
        AttackFact::AttackerIp => attacker_ip(attack, scan, key, given),
        AttackFact::AttackerMac => attacker_mac(attack, scan, key, given),
        AttackFact::ScanKind => scan_kind(scan, key, given),
        AttackFact::OpenPorts => open_ports(scan, key, given),
        AttackFact::PoisonedBinding => unreachable!("judged above"),
    }
}

fn attacker_ip(attack: &Attack, scan: &Scan, key: &str, given: &str) -> Result<(), String> {
    let Ok(ip) = given.trim().parse::<IpAddr>() else {
        return Err(format!(
            "{key} = {given:?} is not an IP address: write it as \"10.1.2.3\""
        ));
    };
    if attack.scans.iter().any(|s| s.attacker == ip) {
        return Ok(());
    }
    if attack.scans.iter().any(|s| s.target == ip) {
        return Err(format!(
            "{ip} is the scanned host; the probes to its ports came from {}",
            scan.attacker
        ));
    }
    Err(format!(
        "{ip} scanned nothing in your capture; the probes to {}'s ports came from {}",
        scan.target, scan.attacker
    ))
}

fn attacker_mac(attack: &Attack, scan: &Scan, key: &str, given: &str) -> Result<(), String> {
    let Some(mac) = read_mac(given) else {
        return Err(format!(
            "{key} = {given:?} is not a MAC address: write it as aa:bb:cc:dd:ee:ff"
        ));
    };
    let rights: Vec<Mac> = attack
        .scans
        .iter()
        .filter_map(|s| attack.mac_of(&s.attacker))
        .collect();
    if rights.contains(&mac) {
        return Ok(());
    }
    let right = rights
        .first()
        .map_or("no MAC address".to_string(), Mac::to_string);
    let owners = attack.ips_of(mac);
    if owners.is_empty() {
        return Err(format!(
            "no IP packet of your capture came from {mac}; the scanner {}'s came from {right}",
            scan.attacker
        ));
    }
    let owners: Vec<String> = owners.iter().map(IpAddr::to_string).collect();
    Err(format!(
        "{mac} is the Ethernet source of {}'s packets; the scanner {}'s came from {right}",
        owners.join(" and "),
        scan.attacker
    ))
}

fn scan_kind(scan: &Scan, key: &str, given: &str) -> Result<(), String> {
    let Some(named) = ScanKind::read(given) else {
        return Err(format!(
            "{key} = {given:?} names no kind of TCP scan: write syn, connect, null, fin or xmas"
        ));
    };
    let Some(kind) = scan.kind else {
        return Err(format!(
            "your capture does not show how the scan's probes ended, so {key} cannot be checked"
        ));
    };
    if named == kind {
        return Ok(());
    }
    Err(format!(
        "your capture shows {kind}, not {named}: {}",
        kind.shown_by()
    ))
}

fn open_ports(scan: &Scan, key: &str, given: &str) -> Result<(), String> {
    let mut said = BTreeSet::new();
    for word in given
        .split(|c: char| !c.is_ascii_digit())
        .filter(|w| !w.is_empty())
    {
        match word.parse::<u16>() {
            Ok(p) => {
                said.insert(p);
            }
            Err(_) => return Err(format!("{key}: {word} is not a port number")),
        }
    }
    if said.is_empty() {
        return Err(format!(
            "{key} = {given:?} holds no port number: write open_ports = [21, 80]"
        ));
    }
    let mut wrong = Vec::new();
    for (port, frame) in &scan.open {
        if !said.contains(port) {
            wrong.push(format!(
                "misses {port}, which answered the scan's SYN with SYN-ACK (frame {frame})"
            ));
        }
    }
    for port in said.iter().filter(|p| !scan.open.contains_key(p)) {
        wrong.push(match scan.closed.get(port) {
            Some(frame) => {
                format!("{port} is closed: it answered the scan with RST (frame {frame})")
            }
            None => format!("{port} did not answer the scan in your capture"),
        });
    }
    if wrong.is_empty() {
        return Ok(());
    }
    Err(format!("{key} {}", wrong.join("; ")))
}

fn binding(attack: &Attack, key: &str, given: &str) -> Result<(), String> {
    let poisonings: Vec<&Change> = attack.changes.iter().filter(|c| !c.restores).collect();
    let Some(first) = poisonings.first() else {
        return Err(format!(
            "your capture shows no ARP binding that changed, so {key} cannot be checked"
        ));
    };
    let (Some(ip), Some(mac)) = read_binding(given) else {
        return Err(format!(
            "{key} = {given:?}: write the binding as \"IP is-at MAC\", e.g. \"10.1.2.3 is-at \
             aa:bb:cc:dd:ee:ff\""
        ));
    };
    if poisonings.iter().any(|c| c.ip == ip && c.to == mac) {
        return Ok(());
    }
    if let Some(c) = poisonings.iter().find(|c| c.ip == ip) {
        if mac == c.from {
            return Err(format!(
                "{mac} is {ip}'s true address, the one the poisoning replaced; frame {} \
                 claimed {ip} is-at {}",
                c.frame, c.to
            ));
        }
        return Err(format!(
            "frame {} claimed {ip} is-at {}, not {mac}",
            c.frame, c.to
        ));
    }
    Err(format!(
        "{ip}'s ARP binding never changed in your capture; frame {} changed {}'s from {} to {}",
        first.frame, first.ip, first.from, first.to
    ))
}

/// A MAC address as people write it: `aa:bb:cc:dd:ee:ff`, with `-` or no separator, or
/// Cisco's `aabb.ccdd.eeff`; any case.
pub fn read_mac(text: &str) -> Option<Mac> {
    let hex: String = text
        .trim()
        .chars()
        .filter(|c| !matches!(c, ':' | '-' | '.'))
        .collect();
    if hex.len() != 12 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let mut m = [0u8; 6];
    for (i, b) in m.iter_mut().enumerate() {
        *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(Mac(m))
}

/// The IPv4 address and the MAC address a binding answer names (`10.0.0.20 is-at
/// aa:bb:cc:dd:ee:ff`, `10.0.0.20 -> aa-bb-...`, in either order).
pub fn read_binding(text: &str) -> (Option<Ipv4Addr>, Option<Mac>) {
    let mut ip = None;
    let mut mac = None;
    for word in
        text.split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '=' | '>' | '(' | ')'))
    {
        let word = word.trim_matches(|c: char| matches!(c, '"' | '\''));
        if ip.is_none()
            && let Ok(a) = word.parse::<Ipv4Addr>()
        {
            ip = Some(a);
        } else if mac.is_none()
            && let Some(m) = read_mac(word)
        {
            mac = Some(m);
        }
    }
    (ip, mac)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_kinds_are_read_as_networkers_write_them() {
        for (text, kind) in [
            ("SYN scan", ScanKind::Syn),
            ("half-open", ScanKind::Syn),
            ("TCP SYN (stealth) scan", ScanKind::Syn),
            ("-sS", ScanKind::Syn),
            ("connect", ScanKind::Connect),
            ("TCP connect() scan", ScanKind::Connect),
            ("Xmas tree", ScanKind::Xmas),
            ("null scan", ScanKind::Null),
        ] {
            assert_eq!(ScanKind::read(text), Some(kind), "{text}");
        }
        assert_eq!(ScanKind::read("ping sweep"), None);
        assert_eq!(ScanKind::read(""), None);
    }

    #[test]
    fn macs_and_bindings_are_read_in_the_usual_forms() {
        let m = Mac([0xaa, 0x5d, 0xbb, 0x56, 0xdd, 0x04]);
        for text in [
            "aa:5d:bb:56:dd:04",
            "AA-5D-BB-56-DD-04",
            "aa5d.bb56.dd04",
            "aa5dbb56dd04",
        ] {
            assert_eq!(read_mac(text), Some(m), "{text}");
        }
        assert_eq!(read_mac("aa:5d:bb:56:dd"), None);
        assert_eq!(read_mac("zz:5d:bb:56:dd:04"), None);
        let ip = Ipv4Addr::new(10, 0, 0, 20);
        for text in [
            "10.0.0.20 is-at aa:5d:bb:56:dd:04",
            "aa:5d:bb:56:dd:04 = 10.0.0.20",
            "10.0.0.20 -> AA-5D-BB-56-DD-04",
            "10.0.0.20 (aa:5d:bb:56:dd:04)",
        ] {
            assert_eq!(read_binding(text), (Some(ip), Some(m)), "{text}");
        }
        assert_eq!(read_binding("10.0.0.20"), (Some(ip), None));
    }
}
