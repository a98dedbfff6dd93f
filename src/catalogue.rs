//! The defenders' catalogue as data: every alert id the detection pass (`analyze::alerts`)
//! raises, its severities, its thresholds with their sources (`DETECTIONS.md`), and the
//! threshold values a scenario's `[alerts]` table changes.
//!
//! It sits below the scenario so a scenario file can name alerts (`[[expect]] alert = ...`)
//! and thresholds (`[alerts] arp-scan.targets = 20`) and have them checked when it is loaded,
//! before anything runs; the detectors themselves stay in `analyze`.
//!
//! Contract: [`Thresholds::set`] accepts only an `ID.KEY` of [`REGISTRY`] with a positive
//! finite value, and says what is wrong otherwise; [`Thresholds::get`] of a registered key
//! never fails.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::Serialize;

/// How much an alert matters. `Info` never fails a "no alert" check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Shown, never counted.
    Info,
    /// Worth a look.
    Low,
    /// Suspicious.
    Medium,
    /// An attack.
    High,
}

impl Severity {
    /// The lowercase name, as in JSON and scenario files.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }

    /// Parses a lowercase name.
    pub fn parse(s: &str) -> Option<Severity> {
        [
            Severity::Info,
            Severity::Low,
            Severity::Medium,
            Severity::High,
        ]
        .into_iter()
        .find(|v| v.name() == s)
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A threshold a scenario may change: `[alerts] arp-scan.targets = 20`.
#[derive(Clone, Copy, Debug)]
pub struct Threshold {
    /// The key after the id.
    pub key: &'static str,
    /// The catalogue's value.
    pub default: f64,
    /// What it counts.
    pub meaning: &'static str,
}

/// One detector of the registry.
#[derive(Clone, Copy, Debug)]
pub struct Spec {
    /// The catalogue id.
    pub id: &'static str,
    /// The file that detects it.
    pub layer: &'static str,
    /// Where the criterion and its numbers come from.
    pub source: &'static str,
    /// Its thresholds.
    pub thresholds: &'static [Threshold],
}

const fn t(key: &'static str, default: f64, meaning: &'static str) -> Threshold {
    Threshold {
        key,
        default,
        meaning,
    }
}

const fn s(
    id: &'static str,
    layer: &'static str,
    source: &'static str,
    thresholds: &'static [Threshold],
) -> Spec {
    Spec {
        id,
        layer,
        source,
        thresholds,
    }
}

/// Every detector, its thresholds and their sources, in the catalogue's order.
pub static REGISTRY: &[Spec] = &[
    s(
        "arp-gratuitous",
        "arp",
        "doc 11-42: a gratuitous reply is usually malicious",
        &[],
    ),
    s(
        "arp-unsolicited-reply",
        "arp",
        "doc 42, 77-79; 5 s proposed",
        &[t("window", 5.0, "seconds a request stays open")],
    ),
    s(
        "arp-scan",
        "arp",
        "doc 44-70 (tens in a small window)",
        &[
            t("targets", 10.0, "distinct addresses asked for"),
            t("window", 5.0, "seconds"),
            t("high", 50.0, "distinct addresses for high"),
        ],
    ),
    s(
        "arp-binding-change",
        "arp",
        "doc 73-111; arpwatch changed ethernet address, flip flop",
        &[],
    ),
    s(
        "ip-invalid-version",
        "ip",
        "doc 207-232; Suricata ipv4.wrong_ip_version, Snort 116:1",
        &[],
    ),
    s(
        "ip-protocol-scan",
        "ip",
        "doc 234-295; ET 2000536, Snort 116:449",
        &[
            t("protocols", 5.0, "distinct IP protocols to one host"),
            t("window", 60.0, "seconds"),
        ],
    ),
    s(
        "tcp-port-scan",
        "tcp",
        "doc 539-541; Zeek Scan::Port_Scan (15 ports in 5 min)",
        &[
            t("ports", 15.0, "distinct ports of failed attempts"),
            t("window", 300.0, "seconds"),
        ],
    ),
    s(
        "tcp-odd-flags",
        "tcp",
        "doc 540; Snort 116:400-423, GPL 2101228",
        &[],
    ),
    s(
        "tcp-scan-source-port-reuse",
        "tcp",
        "doc 542-548",
        &[
            t(
                "targets",
                5.0,
                "distinct destinations of SYNs from one source port",
            ),
            t("window", 60.0, "seconds"),
        ],
    ),
    s(
        "tcp-scan-isn-reuse",
        "tcp",
        "doc 550-555",
        &[
            t(
                "ports",
                3.0,
                "distinct ports of SYNs with one sequence number",
            ),
            t("window", 60.0, "seconds"),
        ],
    ),
    s(
        "tcp-port-zero",
        "tcp",
        "doc 559-582; Snort 116:446/447",
        &[],
    ),
    s(
        "icmp-ping-sweep",
        "icmp",
        "doc 663-666; sfportscan ICMP sweep low, Bro ICMPAddressScan 25",
        &[
            t("targets", 5.0, "distinct addresses pinged"),
            t("window", 60.0, "seconds"),
            t("high", 25.0, "distinct addresses for high"),
        ],
    ),
    s(
        "icmp-info-request",
        "icmp",
        "doc 668-676; GPL 2100453, 2100388",
        &[t("hosts", 5.0, "hosts asked for medium")],
    ),
    s(
        "icmp-tunnel",
        "icmp",
        "doc 687-699; ptunnel magic, Bro ICMPAsymPayload",
        &[
            t("size", 64.0, "payload bytes of a big echo"),
            t("big", 5.0, "big echoes"),
            t("window", 60.0, "seconds"),
            t("sizes", 3.0, "distinct payload sizes"),
        ],
    ),
    s(
        "http-sqli-or-attack-tool",
        "app",
        "doc 963-1071; ET 2008538 (sqlmap), 2009358 (Nmap NSE)",
        &[],
    ),
    s(
        "smtp-user-enumeration",
        "app",
        "doc 1402-1405; GPL 2101446, 2100660",
        &[
            t("session", 3.0, "VRFY/EXPN in one session"),
            t("client", 5.0, "VRFY/EXPN from one client"),
            t("window", 300.0, "seconds"),
            t("rcpt", 10.0, "RCPT TO in one session"),
            t("rejected", 5.0, "5xx replies with them"),
        ],
    ),
    s(
        "dns-zone-transfer",
        "app",
        "doc 1492-1494; GPL 2100255",
        &[],
    ),
    s(
        "dns-over-tcp",
        "app",
        "doc 1417; info, medium when repeated",
        &[
            t(
                "connections",
                5.0,
                "TCP/53 connections from one client for medium",
            ),
            t("window", 60.0, "seconds"),
        ],
    ),
];

/// The registry entry of `id`.
pub fn spec(id: &str) -> Option<&'static Spec> {
    REGISTRY.iter().find(|s| s.id == id)
}

/// Threshold values: the catalogue's, with a scenario's changes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Thresholds {
    changed: BTreeMap<(&'static str, &'static str), f64>,
}

impl Thresholds {
    /// The catalogue's values.
    pub fn new() -> Thresholds {
        Thresholds::default()
    }

    /// Sets `id.key` (`arp-scan.targets`) to `value`; the error says what is wrong.
    pub fn set(&mut self, name: &str, value: f64) -> Result<(), String> {
        let Some((id, key)) = name.split_once('.') else {
            return Err(format!(
                "`{name}` is not `ID.KEY` (for example `arp-scan.targets`)"
            ));
        };
        let Some(spec) = spec(id) else {
            let ids: Vec<&str> = REGISTRY.iter().map(|s| s.id).collect();
            return Err(format!(
                "no alert `{id}`; the alerts are {}",
                ids.join(", ")
            ));
        };
        let Some(th) = spec.thresholds.iter().find(|t| t.key == key) else {
            let keys: Vec<&str> = spec.thresholds.iter().map(|t| t.key).collect();
            return Err(if keys.is_empty() {
                format!("alert `{id}` has no threshold")
            } else {
                format!(
                    "alert `{id}` has no threshold `{key}`; it has {}",
                    keys.join(", ")
                )
            });
        };
        if !(value.is_finite() && value > 0.0) {
            return Err(format!("`{name}` must be a positive number, not {value}"));
        }
        self.changed.insert((spec.id, th.key), value);
        Ok(())
    }

    /// The value of `id.key`. Panics only on a key missing from [`REGISTRY`], a bug caught
    /// by the registry test.
    pub fn get(&self, id: &str, key: &str) -> f64 {
        let spec = spec(id).expect("a registered alert id");
        let th = spec
            .thresholds
            .iter()
            .find(|t| t.key == key)
            .expect("a registered threshold");
        self.changed
            .get(&(spec.id, th.key))
            .copied()
            .unwrap_or(th.default)
    }

    /// `id.key` as a count (at least 1).
    pub fn count(&self, id: &str, key: &str) -> usize {
        (self.get(id, key).round() as usize).max(1)
    }

    /// `id.key` as seconds.
    pub fn secs(&self, id: &str, key: &str) -> Duration {
        Duration::from_secs_f64(self.get(id, key))
    }
}
