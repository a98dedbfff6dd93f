//! Scenario files: TOML in, a validated [`Plan`] out.
//!
//! Contract: [`load`] either returns a plan in which every name is resolved (hosts, interfaces,
//! addresses, services, rules) or a [`ScenarioError`] that names the file, line and column, says
//! what was expected and, where it can, gives a hint. Nothing in this module touches the kernel,
//! so a bad scenario never leaves anything behind.
//!
//! A scenario is named by path (`labctl run path/x.toml`) or by name, looked up in
//! `./scenarios/` first and then among the scenarios built into the binary ([`builtin`]).

mod builtin;
mod error;
mod parse;
mod protocol;
#[cfg(test)]
pub(crate) mod testing;

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use builtin::{BUILTIN, Builtin, builtin_file};
pub use error::ScenarioError;
#[cfg(test)]
pub(crate) use parse::{expect_kinds, step_kinds};
pub use protocol::{DialogueLine, FileSet, MailServer, ProtocolStep};

use crate::rules::Rule;

/// Index of a host in [`Plan::hosts`].
pub type HostId = usize;

/// A validated scenario: what the run will build and do, with every name resolved.
#[derive(Debug, Clone)]
pub struct Plan {
    pub name: String,
    pub summary: String,
    /// Where the scenario came from: a path, or `builtin:<name>`.
    pub origin: Origin,
    pub hosts: Vec<HostPlan>,
    pub links: Vec<LinkPlan>,
    pub routes: Vec<RoutePlan>,
    pub services: Vec<ServicePlan>,
    pub rules: Vec<RulePlan>,
    /// Rules files (`[[rules]] file = "rules.v4"`), each loaded between the `rules` it sits
    /// among in the scenario.
    pub rule_files: Vec<RulesFilePlan>,
    pub steps: Vec<StepPlan>,
    pub expects: Vec<Expect>,
    /// Whether the run's flows are compared with an expected snapshot (`snapshot = false` at
    /// the top of the file says no; `labctl test` fails a scenario that says yes and has none).
    pub snapshot: bool,
    /// `snapshot = "alerts"`: the snapshot is the run's alerts (severity, id, who against
    /// whom), not its flows, for labs whose tools randomise ports, order and timing.
    pub snapshot_alerts: bool,
    /// The alert thresholds of the detection pass: the catalogue's, changed by the scenario's
    /// `[alerts]` table (`arp-scan.targets = 20`).
    pub alerts: crate::catalogue::Thresholds,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    File(PathBuf),
    Builtin(&'static str),
}

impl Origin {
    /// The expected flow snapshot for this scenario: `snapshots/<name>.snap` beside the file.
    pub fn snapshot_path(&self, name: &str) -> Option<PathBuf> {
        match self {
            Origin::File(path) => Some(
                path.parent()
                    .unwrap_or(Path::new("."))
                    .join("snapshots")
                    .join(format!("{name}.snap")),
            ),
            Origin::Builtin(_) => None,
        }
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::File(path) => write!(f, "{}", path.display()),
            Origin::Builtin(name) => write!(f, "builtin:{name}"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct HostPlan {
    pub name: String,
    /// A router forwards packets between its links and answers with ICMP errors.
    pub forward: bool,
    /// IPv6 stays off (no autoconfiguration noise in captures) unless a scenario asks for it.
    pub ipv6: bool,
    /// Loopback settings and capture (`lo_mtu`, `capture_lo`): see [`LoopbackPlan`].
    pub lo: LoopbackPlan,
    /// Set for a switch (`[switches.NAME]`): a namespace of its own with no address, holding a
    /// Linux bridge whose ports are the switch's ends of its links. Steps, services, rules and
    /// expectations never name a switch.
    pub switch: Option<SwitchPlan>,
}

/// How a switch forwards frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SwitchPlan {
    /// No MAC learning: every frame is flooded to every other port, as a hub repeats it, so
    /// any port sees the unicast between two others (what a sniffing lab needs).
    pub hub: bool,
}

/// How a host's loopback is set up. Loopback has an MTU of 65536 and segmentation offload, so
/// a large write leaves as one huge packet; a lab that shows MSS-sized segments gives it an
/// Ethernet-sized MTU and no offload.
#[derive(Debug, Clone, Default)]
pub struct LoopbackPlan {
    pub mtu: Option<u32>,
    pub capture: bool,
}

/// An address with its prefix length, as in `10.0.0.1/24`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

#[derive(Debug, Clone)]
pub struct LinkEnd {
    pub host: HostId,
    pub iface: String,
    pub addr: Option<Cidr>,
    /// Further addresses after the first (an IPv6 link-local address beside a global one).
    pub extra: Vec<Cidr>,
    /// Whether a capture runs on this end.
    pub capture: bool,
}

/// A veth pair between two hosts.
#[derive(Debug, Clone)]
pub struct LinkPlan {
    pub ends: [LinkEnd; 2],
    pub mtu: Option<u32>,
    /// `capture_filter = "BPF"`: the link's captures keep only what it matches (compiled by
    /// libpcap when the scenario loads).
    pub capture_filter: Option<String>,
}

#[derive(Debug, Clone)]
pub struct RoutePlan {
    pub host: HostId,
    /// `None` is the default route.
    pub dest: Option<Cidr>,
    pub via: Option<IpAddr>,
    pub dev: Option<String>,
}

impl RoutePlan {
    /// The route `route` (from `ip route` syntax) on `host`; a /0 destination is the default.
    pub fn from_route(host: HostId, route: &crate::rules::Route) -> RoutePlan {
        RoutePlan {
            host,
            dest: Some(Cidr {
                addr: route.dest().addr(),
                prefix: route.dest().prefix(),
            })
            .filter(|c| c.prefix != 0),
            via: route.via(),
            dev: route.dev().map(|d| d.as_str().to_string()),
        }
    }
}

#[derive(Debug, Clone)]
pub enum ServiceKind {
    /// A DHCP server on one interface of its host.
    Dhcp {
        iface: String,
        config: crate::services::dhcp::DhcpConfig,
    },
    /// Like `nc -l -k PORT > FILE`: appends everything received to a file in the host's
    /// directory, connection after connection.
    TcpDump { file: String },
    /// FTP on a virtual tree, passive data ports from 40000 on the host's own address.
    Ftp {
        files: FileSet,
        /// Named users and their passwords, besides `anonymous` when allowed.
        users: std::collections::BTreeMap<String, String>,
        anonymous: bool,
        upload: bool,
    },
    /// SMTP storing messages in an mbox file in the host's directory.
    Smtp { mailbox: String, hostname: String },
    /// HTTP/1.1 serving one site for every `Host`.
    Http {
        /// The site for a `Host` not in `sites` (and for every host when `sites` is empty).
        files: FileSet,
        /// Name-based virtual hosts, by lowercase host name.
        sites: Vec<(String, FileSet)>,
    },
    /// DNS over UDP and TCP on the same port, answering from zones in master-file format.
    Dns {
        zones: Vec<crate::services::dns::Zone>,
    },
    /// Sends every line back until the client closes, then closes.
    TcpEcho,
    /// Sends the banner (possibly nothing) and closes at once: a server that ends the
    /// session, or a TCP-wrappers style refusal after the handshake.
    TcpBanner { banner: String },
    /// A real program run inside the host from an argument vector (never a shell) for the whole
    /// lab, its standard input empty: `nc -l -p 1234`, or a long-running attack tool. Stopped
    /// with SIGINT as the run ends (SIGKILL if it lingers).
    Program {
        argv: Vec<String>,
        /// Its standard output goes to this file of the host's directory (else nowhere).
        stdout: Option<String>,
        /// `ready = "tcp:PORT"`: the service is up once a socket of the host listens on this
        /// port; without it, once the program has started.
        ready: Option<u16>,
    },
}

impl ServiceKind {
    pub fn name(&self) -> &'static str {
        match self {
            ServiceKind::TcpDump { .. } => "tcp-dump",
            ServiceKind::Ftp { .. } => "ftp",
            ServiceKind::Smtp { .. } => "smtp",
            ServiceKind::Http { .. } => "http",
            ServiceKind::Dns { .. } => "dns",
            ServiceKind::TcpEcho => "tcp-echo",
            ServiceKind::TcpBanner { .. } => "tcp-banner",
            ServiceKind::Program { .. } => "program",
            ServiceKind::Dhcp { .. } => "dhcp",
        }
    }
}

#[derive(Debug, Clone)]
pub struct ServicePlan {
    pub name: String,
    pub host: HostId,
    /// The port it listens on; 0 for a program service without `ready = "tcp:PORT"`, which
    /// listens on no port labctl knows.
    pub port: u16,
    pub kind: ServiceKind,
}

/// An iptables rule applied in a host before the first step.
#[derive(Debug, Clone)]
pub struct RulePlan {
    pub host: HostId,
    pub rule: Rule,
}

/// An `iptables-save` file loaded into a host with `iptables-restore --noflush` before the
/// first step: the kernel gets the file as written, in one transaction per table, and the
/// plan keeps every command it makes, read and checked like single rules.
#[derive(Debug, Clone)]
pub struct RulesFilePlan {
    pub host: HostId,
    /// As the scenario names it (`rules.v4`), for the report.
    pub name: String,
    /// The file as written: what iptables-restore reads.
    pub text: String,
    /// The commands it makes, in order (policies as `-P`, user chains as `-N`, rules).
    pub commands: Vec<crate::rules::RestoreCommand>,
    /// How many of the plan's single `rules` are applied before it (the scenario's order).
    pub after: usize,
}

/// Where a client connects: a host (its first address) or a literal address, and a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub host: Option<HostId>,
    pub addr: IpAddr,
    pub port: u16,
    /// As written in the scenario, for the report.
    pub text: String,
}

#[derive(Debug, Clone)]
pub enum Action {
    /// The built-in DHCP client on one interface of the host.
    Dhcp {
        iface: String,
        op: DhcpOp,
        /// How long to wait for the server's answers (3 s when the step gives none).
        timeout: Option<Duration>,
    },
    /// A telnet-style client: connect, send the text, half-close, read until the server closes.
    Telnet {
        target: Target,
        send: String,
        expect_reply: Option<String>,
        /// With `syns = k`: the step ends as the k-th SYN leaves (the kernel's retransmission
        /// count, not a clock), so the wire shows exactly k SYNs however slow the machine;
        /// `timeout` is then only a safety bound.
        syns: Option<u32>,
        timeout: Duration,
    },
    /// An iptables rule, run as the `iptables` program's argument vector inside the host.
    Iptables(Rule),
    /// A real program run inside the host, from an argument vector.
    Exec {
        argv: Vec<String>,
        timeout: Duration,
        /// Written to the program's standard input, which is then closed (empty: no input).
        stdin: Vec<u8>,
        /// Keep standard input open after `stdin` until the program exits, as a person at a
        /// terminal who has typed the lines and waits (telnet quits at the end of its input,
        /// before the server has answered).
        hold_stdin: bool,
        /// Sent once the program has read all of `stdin` and the host's TCP connections are
        /// quiet (nothing unacknowledged, no handshake or close under way), as a person presses
        /// Ctrl-C after typing; input stays open until then. Ending by this signal is `ok`.
        signal: Option<nix::sys::signal::Signal>,
    },
    /// A pause the lesson needs (a timer to expire, for example).
    Wait(Duration),
    /// A protocol client: a telnet line dialogue, FTP, SMTP, HTTP or a DNS query.
    Protocol(ProtocolStep),
    /// Network steps (UDP probe, traceroute, routes, links, sysctls, ARP announcements):
    /// see [`NetAction`].
    Net(NetAction),
    /// Frames built by labctl and sent through a packet socket, for attacks no Debian program makes.
    Craft(CraftAction),
    /// The built-in `ping`: ICMP (or ICMPv6) echo requests from a raw socket of the host.
    Ping(PingPlan),
}

/// A `craft` step: what to build, and the two link ends it goes between.
#[derive(Debug, Clone)]
pub struct CraftAction {
    pub what: CraftKind,
    /// The interface of the step's host it leaves by.
    pub iface: String,
    /// The host and interface it is addressed to (its MAC address is read from the lab).
    pub target: HostId,
    pub target_iface: String,
    pub target_addr: IpAddr,
}

/// The frames a `craft` step can build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CraftKind {
    /// Ten IPv4 datagrams (EtherType 0x0800) whose version nibble is not 4, of 120 to 1271
    /// bytes, as in the document's capture ("Bogus IPv4 version").
    BogusIpVersion,
}

/// `ping = "HOST"`: `count` echo requests of `size` data bytes, one after the other (the next
/// leaves `interval` after the previous one's answer or silence), with hop limit `ttl`. Each
/// echo ends as a reply, an ICMP error about it (TTL exceeded, unreachable, packet too big)
/// or silence after `wait`.
#[derive(Debug, Clone)]
pub struct PingPlan {
    pub dest: IpAddr,
    /// As written, for the title.
    pub text: String,
    pub count: u16,
    /// Data bytes after the 8-byte ICMP header, as `ping -s`.
    pub size: usize,
    /// TTL (hop limit) of the requests; the kernel's default when not given.
    pub ttl: Option<u8>,
    pub interval: Duration,
    /// How long each echo waits for its answer.
    pub wait: Duration,
    /// Echo identifier: fixed by the plan (the step's line), so runs send the same bytes.
    pub id: u16,
    /// Text the step's answer lines must contain (`time exceeded from r1`).
    pub expect: Option<String>,
}

/// Steps that act on the network layer rather than drive an application protocol.
#[derive(Debug, Clone)]
pub enum NetAction {
    /// Send one UDP datagram from a connected socket and wait for an answer or an ICMP error:
    /// an answer is `connected`, port unreachable `refused`, fragmentation needed or another
    /// unreachable `unreachable`, silence `timed-out`.
    Udp {
        target: Target,
        payload: Vec<u8>,
        timeout: Duration,
    },
    /// Built-in traceroute: one UDP probe per TTL from 1 up, to ports 33434 and up, as the
    /// `traceroute` program sends them; each hop is the source of the ICMP error that comes
    /// back. `hops`, when given, is the list of host names the path must show. With `icmp`
    /// (`mode = "icmp"`, as `traceroute -I`) the probes are ICMP echo requests and the last hop
    /// answers with an echo reply. `queries` probes go to each hop, summed up per hop as mtr
    /// does (loss, best, average and worst round trip).
    Traceroute {
        dest: IpAddr,
        text: String,
        max_hops: u8,
        hops: Option<Vec<String>>,
        icmp: bool,
        queries: u8,
    },
    /// `ip route add|del|replace|get` in the host; `get` prints the route the kernel chose and
    /// `expect` is text it must contain (`dev vpn0`).
    Route {
        command: crate::rules::RouteCmd,
        text: String,
        expect: Option<String>,
    },
    /// Take an interface of the host down or bring it up.
    Link { iface: String, up: bool },
    /// The host disappears from the network: its interfaces move into an empty namespace, so
    /// frames still reach them but nothing answers (no address, no ARP, no RST).
    RemoveHost,
    /// A gratuitous ARP for the interface's address, as `arping -U` sends it.
    Announce { iface: String },
    /// A `net.*` sysctl of the host, e.g. `net.ipv4.ip_no_pmtu_disc=1`.
    Sysctl { key: String, value: String },
    /// `listening = "tcp:PORT"`: the host's listening TCP sockets, as `ss -ltn` lists them;
    /// `ok` when one listens on the port.
    Listening { port: u16 },
}

/// What a client saw, the way a person sees it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum StepOutcome {
    Connected,
    Refused,
    TimedOut,
    Unreachable,
    /// A program step or rule ran and exited 0.
    Ok,
    /// A program step or rule exited non-zero or could not start.
    Failed,
}

impl StepOutcome {
    pub const CLIENT: [(&'static str, StepOutcome); 4] = [
        ("connected", StepOutcome::Connected),
        ("refused", StepOutcome::Refused),
        ("timed-out", StepOutcome::TimedOut),
        ("unreachable", StepOutcome::Unreachable),
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            StepOutcome::Connected => "connected",
            StepOutcome::Refused => "refused",
            StepOutcome::TimedOut => "timed-out",
            StepOutcome::Unreachable => "unreachable",
            StepOutcome::Ok => "ok",
            StepOutcome::Failed => "failed",
        }
    }
}

impl std::fmt::Display for StepOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a `dhcp` step does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DhcpOp {
    /// DISCOVER, OFFER, REQUEST, ACK, the ARP probe; the lease applied.
    Lease,
    /// REQUEST to the server of the lease, unicast, with the address as ciaddr.
    Renew,
    /// RELEASE, and the address and default route removed.
    Release,
    /// DECLINE of the leased address, and the address removed.
    Decline,
}

#[derive(Debug, Clone)]
pub struct StepPlan {
    /// The key of the step's kind in the step registry (`telnet`, `wait`, ...), by which
    /// `drive` finds the kind's drive function.
    pub kind: &'static str,
    pub host: HostId,
    pub action: Action,
    /// The outcome the step must have; a mismatch is a failed check, not a failed run.
    pub expect: StepOutcome,
    /// 1-based line of the step in the scenario file, for messages.
    pub line: usize,
    /// One line saying what the step is, e.g. `telnet server:21`.
    pub title: String,
    /// Programs the step runs, which must be installed before the run starts.
    pub programs: Vec<String>,
}

impl StepPlan {
    /// A rule applied as a step (a scenario's `[[rules]]`, a student's commands).
    pub fn rule(host: HostId, rule: Rule, line: usize) -> StepPlan {
        StepPlan {
            kind: "iptables",
            host,
            title: format!("iptables {rule}"),
            programs: vec!["iptables".to_string()],
            action: Action::Iptables(rule),
            expect: StepOutcome::Ok,
            line,
        }
    }

    /// A rules file loaded as a step: `iptables-restore --noflush` reading the file. Without
    /// `--noflush` it would flush each table it names, and with it the single rules applied
    /// before the file.
    pub fn restore(file: &RulesFilePlan) -> StepPlan {
        StepPlan {
            kind: "exec",
            host: file.host,
            title: format!("iptables-restore --noflush < {}", file.name),
            programs: vec!["iptables-restore".to_string()],
            action: Action::Exec {
                argv: vec!["iptables-restore".to_string(), "--noflush".to_string()],
                timeout: Duration::from_secs(10),
                stdin: file.text.clone().into_bytes(),
                hold_stdin: false,
                signal: None,
            },
            expect: StepOutcome::Ok,
            line: 0,
        }
    }
}

#[derive(Debug, Clone)]
pub enum FileCheck {
    Equals(String),
    Contains(String),
}

/// A TCP conversation that must appear on the wire, picked by who opened it and to which port.
#[derive(Debug, Clone)]
pub struct ConversationExpect {
    pub client: HostId,
    pub server: HostId,
    pub port: u16,
    /// `complete`, `half` or `none`.
    pub handshake: Option<String>,
    pub outcome: Option<String>,
    /// Exact payload the client sent, and the server sent.
    pub client_sent: Option<String>,
    pub server_sent: Option<String>,
    /// Text the client's, and the server's, payload must contain.
    pub client_sent_contains: Option<String>,
    pub server_sent_contains: Option<String>,
}

#[derive(Debug, Clone)]
pub enum Expect {
    File {
        host: HostId,
        path: String,
        check: FileCheck,
        line: usize,
    },
    Conversation {
        what: ConversationExpect,
        text: String,
        line: usize,
    },
    /// A DNS question seen on the wire and its answer: `dns = "MX example.test"`.
    Dns {
        qtype: String,
        /// Fully qualified, with its final dot.
        name: String,
        rcode: Option<String>,
        /// One answer record as the flows show it: `MX 10 mail.example.test.`.
        answer: Option<String>,
        line: usize,
    },
    /// How many frames of a capture a display filter selects: `filter = "tcp.port == 21"`
    /// with `count`, `at_least` or `none = true`.
    Filter {
        filter: crate::filter::DisplayFilter,
        /// The filter as written.
        text: String,
        /// The capture it applies to, by host and interface (the only one when the scenario
        /// has a single capture).
        host: HostId,
        iface: String,
        frames: Count,
        line: usize,
    },
    /// An alert of the detection pass on some capture of the run:
    /// `alert = "tcp-port-scan attacker > server"`, with `severity`, `count` or `at_least`.
    Alert {
        what: AlertExpect,
        /// As written.
        text: String,
        line: usize,
    },
    /// Wire and kernel facts: rule counters, lines of the flows, packet-level facts of a
    /// capture. See [`NetExpect`].
    Net {
        what: NetExpect,
        text: String,
        line: usize,
    },
}

impl Expect {
    /// The key of the registry row that reads this kind (`file`, `conversation`, `dns`, `rule`,
    /// `flow`, `no_flow`, `capture`): the check side judges it by the row of the same key.
    pub fn kind(&self) -> &'static str {
        match self {
            Expect::File { .. } => "file",
            Expect::Conversation { .. } => "conversation",
            Expect::Dns { .. } => "dns",
            Expect::Net { what, .. } => match what {
                NetExpect::Counter { .. } => "rule",
                NetExpect::Flow { present: true, .. } => "flow",
                NetExpect::Flow { present: false, .. } => "no_flow",
                NetExpect::Capture { .. } => "capture",
            },
            Expect::Filter { .. } => "filter",
            Expect::Alert { .. } => "alert",
        }
    }
}

/// What an alert expectation asks for: the catalogue id, who against whom, and optionally
/// the severity and how many packets or events the alert counts.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertExpect {
    pub id: &'static str,
    pub src: AlertSide,
    pub dst: AlertSide,
    pub severity: Option<crate::catalogue::Severity>,
    pub count: Option<Count>,
}

/// One side of an expected alert, as written: a host (any of its addresses or MAC
/// addresses), an address, a MAC address, or `*` (anyone, and the many of a sweep).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertSide {
    Host(HostId),
    Ip(IpAddr),
    Mac([u8; 6]),
    Any,
}

/// A count that must be exact or reach a minimum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    Exactly(u64),
    AtLeast(u64),
}

impl Count {
    pub fn holds(self, n: u64) -> bool {
        match self {
            Count::Exactly(e) => n == e,
            Count::AtLeast(e) => n >= e,
        }
    }
}

impl std::fmt::Display for Count {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Count::Exactly(n) => write!(f, "{n}"),
            Count::AtLeast(n) => write!(f, "at least {n}"),
        }
    }
}

/// Facts of the wire and the kernel that a lab asserts beside its snapshot.
#[derive(Debug, Clone)]
pub enum NetExpect {
    /// An iptables rule's packet counter in a host, read after the steps. The rule is found
    /// by meaning (table, chain and match), so `--to-port` and `--to-ports` are the same rule.
    Counter {
        host: HostId,
        rule: Rule,
        packets: Count,
    },
    /// A line of the flows must contain this text (`present`), or no line may (`!present`);
    /// with `capture`, only the lines of that capture (`capture = "HOST:IFACE"` beside the
    /// flow) count, which is how a lab says who saw a frame and who did not.
    Flow {
        text: String,
        present: bool,
        capture: Option<(HostId, String)>,
    },
    /// Packet-level facts of one capture.
    Capture {
        host: HostId,
        iface: String,
        facts: Vec<WireFact>,
    },
}

/// One packet-level fact of a capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WireFact {
    /// The same SYN sent this many times, each gap about twice the one before (exponential
    /// backoff).
    SynBackoff(Count),
    /// IPv4 fragments: this many, every one but the last with MF set, offsets growing.
    Fragments(Count),
    /// The largest TCP payload is exactly this (the MSS), and at least two segments have it.
    MssSegments(u32),
    /// Every frame has an all-zero Ethernet header (a capture on loopback).
    ZeroEthernet,
    /// The host with hop distance 0 (the side the capture was taken on).
    CaptureSide(HostId),
}

/// A scenario found by name or path, not yet parsed.
pub struct Source {
    pub origin: Origin,
    pub text: String,
}

/// Finds a scenario: an existing path, then `./scenarios/<name>.toml`, then a built-in one.
pub fn find(name_or_path: &str) -> Result<Source, ScenarioError> {
    let as_path = Path::new(name_or_path);
    let local = Path::new("scenarios").join(format!("{name_or_path}.toml"));
    for candidate in [as_path, local.as_path()] {
        if candidate.is_file() {
            let text = std::fs::read_to_string(candidate).map_err(|e| {
                ScenarioError::io(candidate, format!("cannot read the scenario: {e}"))
            })?;
            return Ok(Source {
                origin: Origin::File(candidate.to_path_buf()),
                text,
            });
        }
    }
    if let Some(builtin) = BUILTIN.iter().find(|b| b.name == name_or_path) {
        return Ok(Source {
            origin: Origin::Builtin(builtin.name),
            text: builtin.toml.to_string(),
        });
    }
    let known: Vec<&str> = BUILTIN.iter().map(|b| b.name).collect();
    Err(ScenarioError::io(
        as_path,
        format!(
            "no scenario named {name_or_path:?}: not a file, not in ./scenarios/, not built in \
             (built-in scenarios: {})",
            known.join(", ")
        ),
    ))
}

/// Finds and validates a scenario.
pub fn load(name_or_path: &str) -> Result<Plan, ScenarioError> {
    let source = find(name_or_path)?;
    parse::parse(&source.text, source.origin)
}

/// Validates scenario text (used by tests and by [`load`]).
pub fn parse(text: &str, origin: Origin) -> Result<Plan, ScenarioError> {
    parse::parse(text, origin)
}

impl Plan {
    pub fn host_id(&self, name: &str) -> Option<HostId> {
        self.hosts.iter().position(|h| h.name == name)
    }

    /// Every configured address with the host it belongs to, for naming hosts in analysis.
    pub fn addresses(&self) -> impl Iterator<Item = (IpAddr, &str)> {
        self.links
            .iter()
            .flat_map(|l| l.ends.iter())
            .flat_map(|end| {
                end.addr
                    .iter()
                    .chain(&end.extra)
                    .map(|cidr| (cidr.addr, self.hosts[end.host].name.as_str()))
            })
    }

    /// The expected snapshot text, if the scenario has one.
    pub fn expected_snapshot(&self) -> Option<String> {
        match &self.origin {
            Origin::File(_) => {
                let path = self.origin.snapshot_path(&self.name)?;
                std::fs::read_to_string(path).ok()
            }
            Origin::Builtin(name) => BUILTIN
                .iter()
                .find(|b| b.name == *name)
                .and_then(|b| b.snapshot)
                .map(String::from),
        }
    }
}
