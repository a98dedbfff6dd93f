//! The scenario file as deserialised: raw structs that keep every value's span, so that each
//! later check can point at its place in the file. Unknown keys are refused here.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawScenario {
    pub(super) name: Spanned<String>,
    #[serde(default)]
    pub(super) summary: String,
    #[serde(default)]
    pub(super) hosts: BTreeMap<Spanned<String>, RawHost>,
    #[serde(default)]
    pub(super) links: Vec<RawLink>,
    #[serde(default)]
    pub(super) switches: BTreeMap<Spanned<String>, RawSwitch>,
    #[serde(default)]
    pub(super) services: BTreeMap<Spanned<String>, RawService>,
    #[serde(default)]
    pub(super) rules: Vec<RawRule>,
    #[serde(default)]
    pub(super) steps: Vec<Spanned<RawStep>>,
    #[serde(default)]
    pub(super) expect: Vec<Spanned<RawExpect>>,
    /// `false`: the run's flows are not compared with a snapshot; `"alerts"`: its alerts are.
    #[serde(default)]
    pub(super) snapshot: Option<Spanned<toml::Value>>,
    /// `[alerts] arp-scan.targets = 20`: alert id -> threshold key -> value.
    #[serde(default)]
    pub(super) alerts: BTreeMap<Spanned<String>, BTreeMap<Spanned<String>, Spanned<toml::Value>>>,
}

/// The keys each step and each expectation gives, in the file's order: what the step and
/// expectation registries count kinds and refuse stray keys by (every key was already checked
/// to be a key of a step or of an expectation).
#[derive(Deserialize)]
pub(super) struct GivenKeys {
    #[serde(default)]
    pub(super) steps: Vec<BTreeMap<String, serde::de::IgnoredAny>>,
    #[serde(default)]
    pub(super) expect: Vec<BTreeMap<String, serde::de::IgnoredAny>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHost {
    #[serde(default)]
    pub(super) forward: bool,
    #[serde(default)]
    pub(super) ipv6: bool,
    #[serde(default)]
    pub(super) routes: Vec<Spanned<String>>,
    pub(super) lo_mtu: Option<Spanned<i64>>,
    #[serde(default)]
    pub(super) capture_lo: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLink {
    pub(super) ends: Spanned<Vec<Spanned<String>>>,
    pub(super) mtu: Option<Spanned<i64>>,
    pub(super) capture: Option<Spanned<toml::Value>>,
    /// A BPF expression the link's captures keep only the matching frames of.
    pub(super) capture_filter: Option<Spanned<String>>,
}

/// A Linux bridge joining link ends of hosts (see `switch`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSwitch {
    pub(super) ports: Spanned<Vec<Spanned<String>>>,
    #[serde(default)]
    pub(super) capture: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) hub: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawService {
    pub(super) host: Spanned<String>,
    pub(super) kind: Spanned<String>,
    pub(super) port: Option<Spanned<i64>>,
    pub(super) file: Option<Spanned<String>>,
    // The content of protocol services (see `protocol`).
    pub(super) files: Option<Spanned<BTreeMap<String, String>>>,
    /// HTTP virtual hosts: host name -> (path -> content).
    pub(super) sites: Option<Spanned<BTreeMap<String, BTreeMap<String, String>>>>,
    pub(super) dir: Option<Spanned<String>>,
    pub(super) users: Option<Spanned<BTreeMap<String, String>>>,
    pub(super) anonymous: Option<bool>,
    pub(super) upload: Option<bool>,
    pub(super) mailbox: Option<Spanned<String>>,
    pub(super) hostname: Option<Spanned<String>>,
    pub(super) zone: Option<Spanned<String>>,
    pub(super) zone_file: Option<Spanned<String>>,
    pub(super) origin: Option<Spanned<String>>,
    pub(super) banner: Option<String>,
    // A real program as the service (see `program`).
    pub(super) argv: Option<Spanned<Vec<String>>>,
    pub(super) stdout: Option<Spanned<String>>,
    pub(super) ready: Option<Spanned<String>>,
    // A DHCP server (see `dhcp`).
    pub(super) range: Option<Spanned<String>>,
    pub(super) router: Option<Spanned<String>>,
    pub(super) dns: Option<Spanned<String>>,
    pub(super) domain: Option<Spanned<String>>,
    pub(super) lease: Option<Spanned<String>>,
    pub(super) reservations: Option<Spanned<BTreeMap<String, String>>>,
    pub(super) delay: Option<Spanned<String>>,
    pub(super) interface: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRule {
    pub(super) host: Spanned<String>,
    /// One rule, in iptables syntax.
    pub(super) iptables: Option<Spanned<String>>,
    /// An iptables-save file beside the scenario (see `rules`).
    pub(super) file: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStep {
    pub(super) host: Option<Spanned<String>>,
    pub(super) telnet: Option<Spanned<String>>,
    pub(super) send: Option<String>,
    pub(super) expect_reply: Option<String>,
    pub(super) iptables: Option<Spanned<String>>,
    pub(super) exec: Option<Spanned<Vec<String>>>,
    pub(super) wait: Option<Spanned<String>>,
    pub(super) timeout: Option<Spanned<String>>,
    pub(super) outcome: Option<Spanned<String>>,
    /// With telnet: end the step as this SYN leaves (see `net::syns`).
    pub(super) syns: Option<Spanned<i64>>,
    // Protocol clients and the telnet dialogue (see `protocol`).
    pub(super) dialogue: Option<Spanned<Vec<Vec<String>>>>,
    pub(super) banner: Option<String>,
    pub(super) follow_pasv: Option<bool>,
    pub(super) ftp: Option<Spanned<String>>,
    pub(super) user: Option<String>,
    pub(super) password: Option<String>,
    pub(super) commands: Option<Spanned<Vec<Spanned<String>>>>,
    pub(super) smtp: Option<Spanned<String>>,
    pub(super) resolver: Option<Spanned<String>>,
    pub(super) helo: Option<String>,
    pub(super) from: Option<String>,
    pub(super) to: Option<Vec<String>>,
    pub(super) body: Option<String>,
    pub(super) http: Option<Spanned<String>>,
    pub(super) server: Option<Spanned<String>>,
    pub(super) dns: Option<Spanned<String>>,
    pub(super) query: Option<Spanned<String>>,
    #[serde(rename = "type")]
    pub(super) qtype: Option<Spanned<String>>,
    pub(super) tcp: Option<bool>,
    /// With exec: keep the program's input open after `send` until it exits.
    pub(super) hold_stdin: Option<bool>,
    /// With exec: send this signal (`"INT"`, Ctrl-C) once the program has read its input and
    /// the host's connections are quiet, then wait for it to exit.
    pub(super) signal: Option<Spanned<String>>,
    /// `listening = "tcp:PORT"`: the host's listening sockets, as `ss -ltn` lists them.
    pub(super) listening: Option<Spanned<String>>,
    // Network steps, parsed in `net.rs`.
    pub(super) udp: Option<Spanned<String>>,
    pub(super) size: Option<Spanned<i64>>,
    pub(super) traceroute: Option<Spanned<String>>,
    pub(super) max_hops: Option<Spanned<i64>>,
    pub(super) hops: Option<Vec<String>>,
    pub(super) route: Option<Spanned<String>>,
    pub(super) link: Option<Spanned<String>>,
    pub(super) dhcp: Option<Spanned<String>>,
    pub(super) host_gone: Option<Spanned<bool>>,
    pub(super) announce: Option<Spanned<String>>,
    pub(super) sysctl: Option<Spanned<String>>,
    /// `craft = "bogus-ip-version > HOST"`: frames no program sends (see `steps/craft.rs`).
    pub(super) craft: Option<Spanned<String>>,
    // The built-in ping (`steps/ping.rs`); traceroute takes `mode` and `queries` too.
    pub(super) ping: Option<Spanned<String>>,
    pub(super) count: Option<Spanned<i64>>,
    pub(super) ttl: Option<Spanned<i64>>,
    pub(super) interval: Option<Spanned<String>>,
    pub(super) mode: Option<Spanned<String>>,
    pub(super) queries: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawExpect {
    pub(super) file: Option<Spanned<String>>,
    pub(super) equals: Option<String>,
    pub(super) contains: Option<String>,
    pub(super) conversation: Option<Spanned<String>>,
    pub(super) handshake: Option<Spanned<String>>,
    pub(super) outcome: Option<Spanned<String>>,
    pub(super) client_sent: Option<String>,
    pub(super) server_sent: Option<String>,
    pub(super) client_sent_contains: Option<String>,
    pub(super) server_sent_contains: Option<String>,
    pub(super) dns: Option<Spanned<String>>,
    pub(super) rcode: Option<Spanned<String>>,
    pub(super) answer: Option<String>,
    // Wire and kernel facts, parsed in `net.rs`.
    pub(super) rule: Option<Spanned<String>>,
    pub(super) packets: Option<Spanned<i64>>,
    pub(super) packets_at_least: Option<Spanned<i64>>,
    pub(super) flow: Option<Spanned<String>>,
    pub(super) no_flow: Option<Spanned<String>>,
    pub(super) capture: Option<Spanned<String>>,
    pub(super) syns: Option<Spanned<i64>>,
    pub(super) syns_at_least: Option<Spanned<i64>>,
    pub(super) fragments: Option<Spanned<i64>>,
    pub(super) fragments_at_least: Option<Spanned<i64>>,
    pub(super) mss_segments: Option<Spanned<i64>>,
    pub(super) zero_ethernet: Option<bool>,
    pub(super) capture_side: Option<Spanned<String>>,
    // A display filter's count over a capture, parsed in `filter.rs`.
    pub(super) filter: Option<Spanned<String>>,
    pub(super) count: Option<Spanned<i64>>,
    pub(super) at_least: Option<Spanned<i64>>,
    pub(super) none: Option<Spanned<bool>>,
    // An alert of the detection pass, parsed in `alerts.rs`.
    pub(super) alert: Option<Spanned<String>>,
    pub(super) severity: Option<Spanned<String>>,
}
