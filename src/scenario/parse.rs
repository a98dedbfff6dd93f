//! TOML -> [`Plan`]: deserialise into raw structs that keep every value's span, then resolve and
//! check names, addresses and ports, reporting the first problem at its place in the file.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::ops::Range;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::*;

mod net;
mod protocol;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    name: Spanned<String>,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    hosts: BTreeMap<Spanned<String>, RawHost>,
    #[serde(default)]
    links: Vec<RawLink>,
    #[serde(default)]
    services: BTreeMap<Spanned<String>, RawService>,
    #[serde(default)]
    rules: Vec<RawRule>,
    #[serde(default)]
    steps: Vec<Spanned<RawStep>>,
    #[serde(default)]
    expect: Vec<Spanned<RawExpect>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawHost {
    #[serde(default)]
    forward: bool,
    #[serde(default)]
    ipv6: bool,
    #[serde(default)]
    routes: Vec<Spanned<String>>,
    lo_mtu: Option<Spanned<i64>>,
    #[serde(default)]
    capture_lo: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLink {
    ends: Spanned<Vec<Spanned<String>>>,
    mtu: Option<Spanned<i64>>,
    capture: Option<Spanned<toml::Value>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawService {
    host: Spanned<String>,
    kind: Spanned<String>,
    port: Option<Spanned<i64>>,
    file: Option<Spanned<String>>,
    // The content of protocol services (see `protocol`).
    files: Option<Spanned<BTreeMap<String, String>>>,
    /// HTTP virtual hosts: host name -> (path -> content).
    sites: Option<Spanned<BTreeMap<String, BTreeMap<String, String>>>>,
    dir: Option<Spanned<String>>,
    users: Option<Spanned<BTreeMap<String, String>>>,
    anonymous: Option<bool>,
    upload: Option<bool>,
    mailbox: Option<Spanned<String>>,
    hostname: Option<Spanned<String>>,
    zone: Option<Spanned<String>>,
    zone_file: Option<Spanned<String>>,
    origin: Option<Spanned<String>>,
    banner: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    host: Spanned<String>,
    iptables: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    host: Option<Spanned<String>>,
    telnet: Option<Spanned<String>>,
    send: Option<String>,
    expect_reply: Option<String>,
    iptables: Option<Spanned<String>>,
    exec: Option<Spanned<Vec<String>>>,
    wait: Option<Spanned<String>>,
    timeout: Option<Spanned<String>>,
    outcome: Option<Spanned<String>>,
    /// With telnet: end the step as this SYN leaves (see `net::syns`).
    syns: Option<Spanned<i64>>,
    // Protocol clients and the telnet dialogue (see `protocol`).
    dialogue: Option<Spanned<Vec<Vec<String>>>>,
    banner: Option<String>,
    follow_pasv: Option<bool>,
    ftp: Option<Spanned<String>>,
    user: Option<String>,
    password: Option<String>,
    commands: Option<Spanned<Vec<Spanned<String>>>>,
    smtp: Option<Spanned<String>>,
    resolver: Option<Spanned<String>>,
    helo: Option<String>,
    from: Option<String>,
    to: Option<Vec<String>>,
    body: Option<String>,
    http: Option<Spanned<String>>,
    server: Option<Spanned<String>>,
    dns: Option<Spanned<String>>,
    query: Option<Spanned<String>>,
    #[serde(rename = "type")]
    qtype: Option<Spanned<String>>,
    tcp: Option<bool>,
    /// With exec: keep the program's input open after `send` until it exits.
    hold_stdin: Option<bool>,
    // Network steps, parsed in `net.rs`.
    udp: Option<Spanned<String>>,
    size: Option<Spanned<i64>>,
    traceroute: Option<Spanned<String>>,
    max_hops: Option<Spanned<i64>>,
    hops: Option<Vec<String>>,
    route: Option<Spanned<String>>,
    link: Option<Spanned<String>>,
    host_gone: Option<Spanned<bool>>,
    announce: Option<Spanned<String>>,
    sysctl: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExpect {
    file: Option<Spanned<String>>,
    equals: Option<String>,
    contains: Option<String>,
    conversation: Option<Spanned<String>>,
    handshake: Option<Spanned<String>>,
    outcome: Option<Spanned<String>>,
    client_sent: Option<String>,
    server_sent: Option<String>,
    client_sent_contains: Option<String>,
    server_sent_contains: Option<String>,
    dns: Option<Spanned<String>>,
    rcode: Option<Spanned<String>>,
    answer: Option<String>,
    // Wire and kernel facts, parsed in `net.rs`.
    rule: Option<Spanned<String>>,
    packets: Option<Spanned<i64>>,
    packets_at_least: Option<Spanned<i64>>,
    flow: Option<Spanned<String>>,
    no_flow: Option<Spanned<String>>,
    capture: Option<Spanned<String>>,
    syns: Option<Spanned<i64>>,
    syns_at_least: Option<Spanned<i64>>,
    fragments: Option<Spanned<i64>>,
    fragments_at_least: Option<Spanned<i64>>,
    mss_segments: Option<Spanned<i64>>,
    zero_ethernet: Option<bool>,
    capture_side: Option<Spanned<String>>,
}

const SERVICE_KINDS: &[&str] = &[
    "tcp-dump",
    "tcp-echo",
    "tcp-banner",
    "ftp",
    "smtp",
    "http",
    "dns",
];
const HANDSHAKES: &[&str] = &["complete", "half", "syn-only", "none"];
const CONVERSATION_OUTCOMES: &[&str] = &[
    "established",
    "half-open",
    "refused",
    "reset",
    "rejected",
    "no-answer",
    "answered",
];
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const DEFAULT_EXEC_TIMEOUT: Duration = Duration::from_secs(10);

/// Looks a host name up, reporting an unknown one at the given span.
type ResolveHost<'a> = dyn Fn(&Spanned<String>, Range<usize>) -> Result<HostId, ScenarioError> + 'a;

struct Ctx<'a> {
    file: String,
    text: &'a str,
}

impl Ctx<'_> {
    fn err(&self, span: Range<usize>, msg: impl Into<String>) -> ScenarioError {
        ScenarioError::at(&self.file, self.text, span, msg)
    }

    /// The span of a string value without its quotes, so the caret points at the text.
    fn inner(&self, s: &Spanned<String>) -> Range<usize> {
        let span = s.span();
        if span.end - span.start >= s.get_ref().len() + 2 {
            span.start + 1..span.end - 1
        } else {
            span
        }
    }

    fn line(&self, span: &Range<usize>) -> usize {
        self.text[..span.start.min(self.text.len())]
            .matches('\n')
            .count()
            + 1
    }
}

pub(super) fn parse(text: &str, origin: Origin) -> Result<Plan, ScenarioError> {
    let cx = Ctx {
        file: origin.to_string(),
        text,
    };
    let raw: RawScenario = toml::from_str(text).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        let msg = e.message().trim_end().to_string();
        let err = cx.err(span, msg.clone());
        if msg.starts_with("unknown field") {
            err.with_hint(
                "see `labctl help scenario` or scenarios/*.toml for the keys a scenario takes",
            )
        } else {
            err
        }
    })?;

    let name = raw.name.get_ref().clone();
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(cx
            .err(cx.inner(&raw.name), format!("bad scenario name {name:?}"))
            .with_hint("use letters, digits, '-' and '_'"));
    }

    let mut hosts = Vec::new();
    for (host_name, host) in &raw.hosts {
        check_name(&cx, host_name, "host")?;
        hosts.push(HostPlan {
            name: host_name.get_ref().clone(),
            forward: host.forward,
            ipv6: host.ipv6,
            lo: net::loopback(&cx, host)?,
        });
    }
    let host_names = || {
        hosts
            .iter()
            .map(|h| h.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let resolve_host = |s: &Spanned<String>, span: Range<usize>| -> Result<HostId, ScenarioError> {
        hosts
            .iter()
            .position(|h| &h.name == s.get_ref())
            .ok_or_else(|| {
                cx.err(span, format!("unknown host {:?}", s.get_ref()))
                    .with_hint(format!("hosts are: {}", host_names()))
            })
    };

    let mut links = Vec::new();
    for link in &raw.links {
        let ends = link.ends.get_ref();
        if ends.len() != 2 {
            return Err(cx
                .err(
                    link.ends.span(),
                    format!("a link has two ends, this one has {}", ends.len()),
                )
                .with_hint(r#"ends = ["client:eth0 10.0.0.1/24", "server:eth0 10.0.0.2/24"]"#));
        }
        let mut parsed = Vec::new();
        for end in ends {
            parsed.push(parse_end(&cx, end, &resolve_host)?);
        }
        let mtu = match &link.mtu {
            None => None,
            Some(m) if (68..=65535).contains(m.get_ref()) => Some(*m.get_ref() as u32),
            Some(m) => {
                return Err(cx
                    .err(m.span(), format!("mtu {} is out of range", m.get_ref()))
                    .with_hint("an IPv4 link's MTU is between 68 and 65535"));
            }
        };
        let [mut a, mut b]: [LinkEnd; 2] = parsed.try_into().expect("two ends");
        if a.host == b.host {
            return Err(cx.err(
                link.ends.span(),
                "both ends of the link are on the same host",
            ));
        }
        match &link.capture {
            None => {}
            Some(c) => match c.get_ref() {
                toml::Value::Boolean(on) => a.capture = *on,
                toml::Value::String(h) if *h == hosts[a.host].name => a.capture = true,
                toml::Value::String(h) if *h == hosts[b.host].name => b.capture = true,
                _ => {
                    return Err(cx
                        .err(
                            c.span(),
                            "capture takes true, false, or the host name of one end",
                        )
                        .with_hint(format!(
                            "capture = true captures on {}; capture = \"{}\" on the other end",
                            hosts[a.host].name, hosts[b.host].name
                        )));
                }
            },
        }
        links.push(LinkPlan { ends: [a, b], mtu });
    }
    // Interface names are unique per host.
    let mut seen = BTreeMap::new();
    for (i, link) in links.iter().enumerate() {
        for end in &link.ends {
            if let Some(prev) = seen.insert((end.host, end.iface.clone()), i) {
                let span = raw.links[i].ends.span();
                return Err(cx.err(
                    span,
                    format!(
                        "host {} already has an interface {} (link {})",
                        hosts[end.host].name,
                        end.iface,
                        prev + 1
                    ),
                ));
            }
        }
    }
    let first_addr = |host: HostId| {
        links
            .iter()
            .flat_map(|l| l.ends.iter())
            .find(|e| e.host == host)
            .and_then(|e| e.addr)
    };

    let mut routes = Vec::new();
    for (id, host) in raw.hosts.values().enumerate() {
        for line in &host.routes {
            routes.push(parse_route(&cx, line, id, &hosts[id].name, &links)?);
        }
    }

    let mut services = Vec::new();
    for (svc_name, svc) in &raw.services {
        check_name(&cx, svc_name, "service")?;
        let host = resolve_host(&svc.host, cx.inner(&svc.host))?;
        let port = match (&svc.port, protocol::default_port(svc.kind.get_ref())) {
            (Some(port), _) => check_port(&cx, port)?,
            (None, Some(port)) => port,
            (None, None) => {
                return Err(cx
                    .err(svc.kind.span(), "this service needs a port")
                    .with_hint("port = 27664"));
            }
        };
        if let Some(other) = services
            .iter()
            .find(|s: &&ServicePlan| s.host == host && s.port == port)
        {
            return Err(cx
                .err(
                    svc_name.span(),
                    format!(
                        "port {port} of {} is taken by service {}",
                        hosts[host].name, other.name
                    ),
                )
                .with_hint("give one of them another port"));
        }
        let protocol_kind = protocol::service_kind(&cx, svc, &hosts[host].name, &origin);
        let kind = match svc.kind.get_ref().as_str() {
            _ if protocol_kind.is_some() => protocol_kind.expect("checked")?,
            "tcp-dump" => {
                protocol::no_content(&cx, svc)?;
                let file = svc.file.as_ref().ok_or_else(|| {
                    cx.err(svc.kind.span(), "a tcp-dump service needs a file")
                        .with_hint(
                            r#"file = "dump.txt" (written in the host's directory of the run)"#,
                        )
                })?;
                check_relative_file(&cx, file)?;
                ServiceKind::TcpDump {
                    file: file.get_ref().clone(),
                }
            }
            "tcp-echo" => ServiceKind::TcpEcho,
            "tcp-banner" => ServiceKind::TcpBanner {
                banner: svc.banner.clone().unwrap_or_default(),
            },
            other => {
                return Err(cx
                    .err(
                        cx.inner(&svc.kind),
                        format!("unknown service kind {other:?}"),
                    )
                    .with_hint(format!("kinds are: {}", SERVICE_KINDS.join(", "))));
            }
        };
        services.push(ServicePlan {
            name: svc_name.get_ref().clone(),
            host,
            port,
            kind,
        });
    }

    let mut rules = Vec::new();
    for rule in &raw.rules {
        let host = resolve_host(&rule.host, cx.inner(&rule.host))?;
        rules.push(RulePlan {
            host,
            rule: parse_iptables(&cx, &rule.iptables)?,
        });
    }

    let mut steps = Vec::new();
    for step in &raw.steps {
        steps.push(parse_step(&cx, step, &hosts, &resolve_host, &first_addr)?);
    }

    let mut expects = Vec::new();
    for expect in &raw.expect {
        expects.push(parse_expect(&cx, expect, &resolve_host)?);
    }

    Ok(Plan {
        name,
        summary: raw.summary,
        origin,
        hosts,
        links,
        routes,
        services,
        rules,
        steps,
        expects,
    })
}

fn check_name(cx: &Ctx, name: &Spanned<String>, what: &str) -> Result<(), ScenarioError> {
    let n = name.get_ref();
    let ok = !n.is_empty()
        && n.len() <= 32
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && n.chars().next().is_some_and(|c| c.is_ascii_alphabetic());
    if ok {
        Ok(())
    } else {
        Err(cx
            .err(name.span(), format!("bad {what} name {n:?}"))
            .with_hint("a name starts with a letter and has up to 32 letters, digits, '-' or '_'"))
    }
}

fn check_port(cx: &Ctx, port: &Spanned<i64>) -> Result<u16, ScenarioError> {
    u16::try_from(*port.get_ref())
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| {
            cx.err(
                port.span(),
                format!("port {} is out of range", port.get_ref()),
            )
            .with_hint("a TCP or UDP port is between 1 and 65535")
        })
}

fn check_relative_file(cx: &Ctx, file: &Spanned<String>) -> Result<(), ScenarioError> {
    let f = file.get_ref();
    let path = std::path::Path::new(f);
    if f.is_empty()
        || path.is_absolute()
        || path
            .components()
            .any(|c| !matches!(c, std::path::Component::Normal(_)))
    {
        return Err(cx
            .err(cx.inner(file), format!("bad file name {f:?}"))
            .with_hint("files are relative to the host's directory of the run, without '..'"));
    }
    Ok(())
}

fn parse_iptables(cx: &Ctx, line: &Spanned<String>) -> Result<Rule, ScenarioError> {
    crate::rules::parse_rule(line.get_ref()).map_err(|e| {
        let inner = cx.inner(line);
        // The rule's column counts characters of the rule text; spans count bytes.
        let offset: usize = line.get_ref().chars().take(e.col).map(char::len_utf8).sum();
        let start = inner.start + offset;
        let width = e.token.len().max(1);
        let err = cx.err(start..start + width, format!("{}: expected {}", e.problem, e.expected));
        match &e.suggestion {
            Some(s) => err.with_hint(format!("did you mean {s}?")),
            None => err.with_hint("iptables syntax as the course teaches it, e.g. \"-t nat -A PREROUTING -p tcp --dport 21 -j REDIRECT --to-ports 27664\""),
        }
    })
}

/// A route of a host, in `ip route` syntax: `default via 10.0.0.254`,
/// `198.51.100.8/32 dev vpn0`. The device, when named, must be one of the host's interfaces.
fn parse_route(
    cx: &Ctx,
    line: &Spanned<String>,
    host: HostId,
    host_name: &str,
    links: &[LinkPlan],
) -> Result<RoutePlan, ScenarioError> {
    let inner = cx.inner(line);
    let text = line.get_ref().trim();
    // A host's routes are routes to add: `ip route add` is implied.
    let full = if text
        .split_whitespace()
        .next()
        .is_some_and(|w| ["ip", "route", "sudo", "add", "replace"].contains(&w))
    {
        text.to_string()
    } else {
        format!("add {text}")
    };
    let shift = full.len() - text.len();
    let command = crate::rules::parse_route(&full).map_err(|e| {
        let offset: usize = full.chars().take(e.col).map(char::len_utf8).sum::<usize>().saturating_sub(shift);
        let start = inner.start + offset;
        let err = cx.err(start..start + e.token.len().max(1), format!("{}: expected {}", e.problem, e.expected));
        match &e.suggestion {
            Some(s) => err.with_hint(format!("did you mean {s}?")),
            None => err.with_hint("a route in `ip route` syntax: \"default via 10.0.0.254\" or \"198.51.100.8/32 dev vpn0\""),
        }
    })?;
    let route = match command {
        crate::rules::RouteCmd::Add(route) | crate::rules::RouteCmd::Replace(route) => route,
        _ => {
            return Err(cx
                .err(inner, "a host's routes are routes to add")
                .with_hint("`del` and `get` go in steps"));
        }
    };
    let ifaces: Vec<&str> = links
        .iter()
        .flat_map(|l| l.ends.iter())
        .filter(|e| e.host == host)
        .map(|e| e.iface.as_str())
        .collect();
    if let Some(dev) = route.dev() {
        if !ifaces.contains(&dev.as_str()) {
            let at = text.find(dev.as_str()).map_or(inner.clone(), |i| {
                inner.start + i..inner.start + i + dev.as_str().len()
            });
            return Err(cx
                .err(at, format!("host {host_name} has no interface {dev}"))
                .with_hint(format!("its interfaces are: {}", ifaces.join(", "))));
        }
    }
    Ok(RoutePlan {
        host,
        dest: Some(Cidr {
            addr: route.dest().addr(),
            prefix: route.dest().prefix(),
        })
        .filter(|c| c.prefix != 0),
        via: route.via(),
        dev: route.dev().map(|d| d.as_str().to_string()),
    })
}

fn parse_end(
    cx: &Ctx,
    end: &Spanned<String>,
    resolve_host: &ResolveHost,
) -> Result<LinkEnd, ScenarioError> {
    let inner = cx.inner(end);
    let text = end.get_ref();
    let hint = "a link end is \"HOST:IFACE\" or \"HOST:IFACE ADDRESS/PREFIX\", e.g. \"client:eth0 10.0.0.1/24\"";
    let (host_iface, cidr) = match text.split_once(' ') {
        Some((h, c)) => (h, Some(c.trim())),
        None => (text.as_str(), None),
    };
    let Some((host, iface)) = host_iface.split_once(':') else {
        return Err(cx
            .err(inner, format!("bad link end {text:?}"))
            .with_hint(hint));
    };
    let host_span = inner.start..inner.start + host.len();
    let host = resolve_host(
        &Spanned::new(host_span.clone(), host.to_string()),
        host_span,
    )?;
    let iface_start = inner.start + host_iface.find(':').unwrap_or(0) + 1;
    if iface.is_empty()
        || iface.len() > 15
        || !iface
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        return Err(cx
            .err(
                iface_start..iface_start + iface.len().max(1),
                format!("bad interface name {iface:?}"),
            )
            .with_hint("an interface name has 1 to 15 letters, digits, '-', '_' or '.'"));
    }
    let addr = match cidr {
        None => None,
        Some(c) => {
            let start = inner.start + text.len() - c.len();
            Some(parse_cidr(c).map_err(|msg| cx.err(start..start + c.len(), msg).with_hint(hint))?)
        }
    };
    Ok(LinkEnd {
        host,
        iface: iface.to_string(),
        addr,
        capture: false,
    })
}

/// Parses `ADDRESS/PREFIX`.
pub(crate) fn parse_cidr(text: &str) -> Result<Cidr, String> {
    let (addr, prefix) = text
        .split_once('/')
        .ok_or_else(|| format!("bad address {text:?}: expected ADDRESS/PREFIX"))?;
    let addr: IpAddr = addr
        .parse()
        .map_err(|_| format!("bad address {addr:?} in {text:?}"))?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let prefix: u8 =
        prefix.parse().ok().filter(|p| *p <= max).ok_or_else(|| {
            format!("bad prefix length {prefix:?} in {text:?}: expected 0 to {max}")
        })?;
    Ok(Cidr { addr, prefix })
}

fn parse_duration(cx: &Ctx, s: &Spanned<String>) -> Result<Duration, ScenarioError> {
    let text = s.get_ref().trim();
    let (number, unit) = text
        .find(|c: char| c.is_ascii_alphabetic())
        .map_or((text, ""), |i| (&text[..i], &text[i..]));
    let scale = match unit {
        "ms" => 0.001,
        "s" => 1.0,
        "m" | "min" => 60.0,
        _ => f64::NAN,
    };
    let value: f64 = number.trim().parse().unwrap_or(f64::NAN);
    let secs = value * scale;
    if !secs.is_finite() || !(0.0..=3600.0).contains(&secs) {
        return Err(cx.err(cx.inner(s), format!("bad duration {text:?}"))
            .with_hint("a duration is a number and a unit: \"250ms\", \"2s\", \"1.5s\", \"1m\" (at most 1 hour)"));
    }
    Ok(Duration::from_secs_f64(secs))
}

fn parse_target(
    cx: &Ctx,
    s: &Spanned<String>,
    hosts: &[HostPlan],
    first_addr: &dyn Fn(HostId) -> Option<Cidr>,
) -> Result<Target, ScenarioError> {
    let inner = cx.inner(s);
    let text = s.get_ref();
    let hint = "a target is \"HOST:PORT\" or \"ADDRESS:PORT\", e.g. \"server:27664\"";
    let Some((who, port)) = text.rsplit_once(':') else {
        return Err(cx
            .err(inner, format!("bad target {text:?}"))
            .with_hint(hint));
    };
    let port_start = inner.start + who.len() + 1;
    let port_value: i64 = port.parse().map_err(|_| {
        cx.err(
            port_start..port_start + port.len().max(1),
            format!("bad port {port:?}"),
        )
        .with_hint(hint)
    })?;
    let port = check_port(
        cx,
        &Spanned::new(port_start..port_start + port.len(), port_value),
    )?;
    let who_trim = who.trim_start_matches('[').trim_end_matches(']');
    if let Ok(addr) = who_trim.parse::<IpAddr>() {
        return Ok(Target {
            host: None,
            addr,
            port,
            text: text.clone(),
        });
    }
    let who_span = inner.start..inner.start + who.len();
    let host = hosts.iter().position(|h| h.name == who).ok_or_else(|| {
        cx.err(who_span.clone(), format!("unknown host {who:?}"))
            .with_hint(format!(
                "hosts are: {}",
                hosts
                    .iter()
                    .map(|h| h.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
    })?;
    let addr = first_addr(host)
        .ok_or_else(|| cx.err(who_span, format!("host {who} has no address to connect to")))?
        .addr;
    Ok(Target {
        host: Some(host),
        addr,
        port,
        text: text.clone(),
    })
}

fn parse_step(
    cx: &Ctx,
    step: &Spanned<RawStep>,
    hosts: &[HostPlan],
    resolve_host: &ResolveHost,
    first_addr: &dyn Fn(HostId) -> Option<Cidr>,
) -> Result<StepPlan, ScenarioError> {
    let span = step.span();
    let line = cx.line(&span);
    let raw = step.get_ref();
    let actions = [
        raw.telnet.is_some(),
        raw.iptables.is_some(),
        raw.exec.is_some(),
        raw.wait.is_some(),
    ];
    let hint = "a step has exactly one of: telnet = \"HOST:PORT\", iptables = \"RULE\", exec = [\"PROGRAM\", ...], wait = \"DURATION\", ftp, smtp, http, dns, udp, traceroute, route, link, host_gone, announce, sysctl";
    if actions.iter().filter(|a| **a).count() + protocol::clients(raw) + net::action_count(raw) != 1
    {
        return Err(cx
            .err(
                span.start..span.start + 1,
                "a step needs exactly one action",
            )
            .with_hint(hint));
    }
    let host = match (&raw.host, raw.wait.is_some()) {
        (Some(h), _) => resolve_host(h, cx.inner(h))?,
        (None, true) => 0,
        (None, false) => {
            return Err(cx
                .err(span.start..span.start + 1, "this step needs a host")
                .with_hint("host = \"NAME\": the host the step runs in"));
        }
    };
    let timeout = raw
        .timeout
        .as_ref()
        .map(|t| parse_duration(cx, t))
        .transpose()?;
    let not_for = |field: &str, action: &str| {
        cx.err(
            span.start..span.start + 1,
            format!("{field} does not go with {action}"),
        )
    };
    let (action, default_outcome) =
        if let Some(step) = protocol::step(cx, raw, &span, hosts, first_addr, timeout)? {
            let outcome = step.default_outcome();
            (Action::Protocol(step), outcome)
        } else if let Some(net) = net::step(cx, raw, span.clone(), hosts, first_addr, timeout)? {
            net
        } else if let Some(target) = &raw.telnet {
            let (syns, timeout) = net::syns(cx, raw, timeout, DEFAULT_CONNECT_TIMEOUT)?;
            (
                Action::Telnet {
                    target: parse_target(cx, target, hosts, first_addr)?,
                    send: raw.send.clone().unwrap_or_default(),
                    expect_reply: raw.expect_reply.clone(),
                    syns,
                    timeout,
                },
                Outcome::Connected,
            )
        } else {
            if raw.send.is_some() && raw.exec.is_none() {
                return Err(not_for("send", "this action")
                    .with_hint("send goes with telnet, udp and exec (its standard input)"));
            }
            if raw.expect_reply.is_some() {
                return Err(not_for("expect_reply", "this action")
                    .with_hint("expect_reply goes with telnet"));
            }
            if let Some(rule) = &raw.iptables {
                (Action::Iptables(parse_iptables(cx, rule)?), Outcome::Ok)
            } else if let Some(argv) = &raw.exec {
                if argv.get_ref().is_empty() || argv.get_ref()[0].is_empty() {
                    return Err(cx
                        .err(argv.span(), "exec needs a program")
                        .with_hint("exec = [\"curl\", \"-s\", \"http://server/\"]"));
                }
                (
                    Action::Exec {
                        argv: argv.get_ref().clone(),
                        timeout: timeout.unwrap_or(DEFAULT_EXEC_TIMEOUT),
                        stdin: net::payload(cx, raw)?,
                        hold_stdin: raw.hold_stdin.unwrap_or(false),
                    },
                    Outcome::Ok,
                )
            } else {
                let wait = raw.wait.as_ref().expect("one action is set");
                (Action::Wait(parse_duration(cx, wait)?), Outcome::Ok)
            }
        };
    if let (Some(syns), false) = (&raw.syns, matches!(action, Action::Telnet { .. })) {
        return Err(cx
            .err(syns.span(), "syns does not go with this action")
            .with_hint("syns = N goes with telnet: the step ends as the N-th SYN leaves"));
    }
    let expect = match &raw.outcome {
        None => default_outcome,
        Some(o) => {
            let allowed: Vec<(&str, Outcome)> = match action {
                Action::Telnet { .. } | Action::Net(NetAction::Udp { .. }) => {
                    Outcome::CLIENT.to_vec()
                }
                Action::Protocol(ref p) => p.outcomes(),
                _ => vec![("ok", Outcome::Ok), ("failed", Outcome::Failed)],
            };
            allowed
                .iter()
                .find(|(n, _)| n == o.get_ref())
                .map(|(_, v)| *v)
                .ok_or_else(|| {
                    cx.err(
                        cx.inner(o),
                        format!("unknown outcome {:?} for this step", o.get_ref()),
                    )
                    .with_hint(format!(
                        "outcomes are: {}",
                        allowed
                            .iter()
                            .map(|(n, _)| *n)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                })?
        }
    };
    Ok(StepPlan {
        host,
        action,
        expect,
        line,
    })
}

fn one_of(
    cx: &Ctx,
    s: &Spanned<String>,
    allowed: &[&str],
    what: &str,
) -> Result<String, ScenarioError> {
    if allowed.contains(&s.get_ref().as_str()) {
        Ok(s.get_ref().clone())
    } else {
        Err(cx
            .err(cx.inner(s), format!("unknown {what} {:?}", s.get_ref()))
            .with_hint(format!("{what} is one of: {}", allowed.join(", "))))
    }
}

fn parse_expect(
    cx: &Ctx,
    expect: &Spanned<RawExpect>,
    resolve_host: &ResolveHost,
) -> Result<Expect, ScenarioError> {
    let span = expect.span();
    let line = cx.line(&span);
    let raw = expect.get_ref();
    let here = span.start..span.start + 1;
    if let Some(query) = &raw.dns {
        return protocol::dns_expect(cx, raw, query, line);
    }
    if let Some((what, text)) = net::expect(cx, raw, here.clone(), resolve_host)? {
        return Ok(Expect::Net { what, text, line });
    }
    match (&raw.file, &raw.conversation) {
        (Some(file), None) => {
            let inner = cx.inner(file);
            let Some((host, path)) = file.get_ref().split_once(':') else {
                return Err(cx.err(inner, format!("bad file {:?}", file.get_ref()))
                    .with_hint("file = \"HOST:PATH\", e.g. \"server:dump.txt\""));
            };
            let host_span = inner.start..inner.start + host.len();
            let host = resolve_host(&Spanned::new(host_span.clone(), host.to_string()), host_span)?;
            let path_start = inner.start + file.get_ref().find(':').unwrap_or(0) + 1;
            check_relative_file(cx, &Spanned::new(path_start - 1..path_start + path.len() + 1, path.to_string()))?;
            let check = match (&raw.equals, &raw.contains) {
                (Some(e), None) => FileCheck::Equals(e.clone()),
                (None, Some(c)) => FileCheck::Contains(c.clone()),
                _ => {
                    return Err(cx.err(here, "a file expectation needs exactly one of equals, contains"));
                }
            };
            if raw.handshake.is_some() || raw.outcome.is_some() || raw.client_sent.is_some() || raw.server_sent.is_some()
                || raw.client_sent_contains.is_some() || raw.server_sent_contains.is_some() {
                return Err(cx.err(here, "handshake, outcome, client_sent and server_sent go with conversation"));
            }
            Ok(Expect::File { host, path: path.to_string(), check, line })
        }
        (None, Some(conv)) => {
            let inner = cx.inner(conv);
            let text = conv.get_ref();
            let hint = "conversation = \"CLIENT > SERVER:PORT\", e.g. \"client > server:21\"";
            let Some((client, rest)) = text.split_once('>') else {
                return Err(cx.err(inner, format!("bad conversation {text:?}")).with_hint(hint));
            };
            let Some((server, port)) = rest.trim().rsplit_once(':') else {
                return Err(cx.err(inner, format!("bad conversation {text:?}")).with_hint(hint));
            };
            let client_name = client.trim();
            let client_start = inner.start + text.find(client_name).unwrap_or(0);
            let client_span = client_start..client_start + client_name.len();
            let client = resolve_host(&Spanned::new(client_span.clone(), client_name.to_string()), client_span)?;
            let server_name = server.trim();
            let server_start = inner.start + text.rfind(server_name).unwrap_or(0);
            let server_span = server_start..server_start + server_name.len();
            let server = resolve_host(&Spanned::new(server_span.clone(), server_name.to_string()), server_span)?;
            let port_start = inner.start + text.len() - port.len();
            let port_value: i64 = port.parse().map_err(|_| {
                cx.err(port_start..port_start + port.len().max(1), format!("bad port {port:?}")).with_hint(hint)
            })?;
            let port = check_port(cx, &Spanned::new(port_start..port_start + port.len(), port_value))?;
            if raw.equals.is_some() || raw.contains.is_some() {
                return Err(cx.err(here, "equals and contains go with file"));
            }
            Ok(Expect::Conversation {
                what: ConversationExpect {
                    client,
                    server,
                    port,
                    handshake: raw.handshake.as_ref().map(|h| one_of(cx, h, HANDSHAKES, "handshake")).transpose()?,
                    outcome: raw
                        .outcome
                        .as_ref()
                        .map(|o| one_of(cx, o, CONVERSATION_OUTCOMES, "outcome"))
                        .transpose()?,
                    client_sent: raw.client_sent.clone(),
                    server_sent: raw.server_sent.clone(),
                    client_sent_contains: raw.client_sent_contains.clone(),
                    server_sent_contains: raw.server_sent_contains.clone(),
                },
                text: text.clone(),
                line,
            })
        }
        _ => Err(cx.err(here, "an expectation needs exactly one of file, conversation, dns")
            .with_hint("file = \"server:dump.txt\" with equals/contains, or conversation = \"client > server:21\"")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
name = "t"
summary = "s"
[hosts.client]
[hosts.server]
[[links]]
ends = ["client:eth0 10.0.0.1/24", "server:eth0 10.0.0.2/24"]
capture = true
[services.dump]
host = "server"
kind = "tcp-dump"
port = 27664
file = "dump.txt"
[[steps]]
host = "client"
telnet = "server:27664"
send = "hi\r\n"
[[expect]]
file = "server:dump.txt"
equals = "hi\r\n"
"#;

    fn err(text: &str) -> ScenarioError {
        parse(text, Origin::File("x.toml".into())).expect_err("must fail")
    }

    #[test]
    fn good_scenario_resolves_names() {
        let plan = parse(GOOD, Origin::File("x.toml".into())).unwrap();
        assert_eq!(plan.hosts.len(), 2);
        assert!(plan.links[0].ends[0].capture);
        let Action::Telnet { target, .. } = &plan.steps[0].action else {
            panic!()
        };
        assert_eq!(target.addr.to_string(), "10.0.0.2");
        assert_eq!(target.port, 27664);
    }

    #[test]
    fn unknown_host_in_link_points_at_the_name() {
        let e = err(&GOOD.replace("server:eth0 10.0.0.2/24", "sever:eth0 10.0.0.2/24"));
        assert_eq!((e.line, e.col), (7, 37), "{e}");
        assert!(e.msg.contains("unknown host \"sever\""), "{e}");
        assert!(e.hint.as_deref().unwrap().contains("client, server"));
    }

    #[test]
    fn bad_cidr() {
        let e = err(&GOOD.replace("10.0.0.2/24", "10.0.0.2/33"));
        assert!(e.msg.contains("bad prefix length"), "{e}");
        assert_eq!(e.line, 7);
    }

    #[test]
    fn port_out_of_range() {
        let e = err(&GOOD.replace("port = 27664", "port = 70000"));
        assert!(e.msg.contains("port 70000 is out of range"), "{e}");
        assert_eq!((e.line, e.col), (12, 8));
    }

    #[test]
    fn unknown_key() {
        let e = err(&GOOD.replace("capture = true", "captur = true"));
        assert!(e.msg.contains("unknown field `captur`"), "{e}");
        assert_eq!(e.line, 8);
    }

    #[test]
    fn not_toml() {
        let e = err("name = \n[[[");
        assert_eq!(e.line, 1, "{e}");
    }

    #[test]
    fn misspelt_iptables_target_points_at_the_word() {
        let text = GOOD.replace(
            "[[expect]]",
            "[[steps]]\nhost = \"server\"\niptables = \"-t nat -A PREROUTING -p tcp --dport 21 -j REDIRCT --to-ports 27664\"\n[[expect]]",
        );
        let e = err(&text);
        assert!(e.msg.contains("unknown target \"REDIRCT\""), "{e}");
        assert_eq!(e.hint.as_deref(), Some("did you mean REDIRECT?"), "{e}");
        assert_eq!((e.line, e.col), (20, 55), "{e}");
        assert!(
            e.to_string()
                .contains(&format!("{}^^^^^^^", " ".repeat(54))),
            "{e}"
        );
    }

    #[test]
    fn routes_in_ip_route_syntax() {
        let text = GOOD.replace(
            "[hosts.client]",
            "[hosts.client]\nroutes = [\"default via 10.0.0.2\", \"198.51.100.8/32 dev eth0\"]",
        );
        let plan = parse(&text, Origin::File("x.toml".into())).unwrap();
        assert_eq!(plan.routes.len(), 2);
        assert!(plan.routes[0].dest.is_none());
        assert_eq!(plan.routes[0].via, Some("10.0.0.2".parse().unwrap()));
        assert_eq!(plan.routes[1].dest.unwrap().to_string(), "198.51.100.8/32");
        assert_eq!(plan.routes[1].dev.as_deref(), Some("eth0"));
        let e = err(&GOOD.replace(
            "[hosts.client]",
            "[hosts.client]\nroutes = [\"198.51.100.8/32 dev vpn0\"]",
        ));
        assert!(e.msg.contains("host client has no interface vpn0"), "{e}");
        assert_eq!((e.line, e.col), (5, 32), "{e}");
    }

    #[test]
    fn step_with_two_actions() {
        let e = err(&GOOD.replace("send = \"hi\\r\\n\"", "wait = \"1s\""));
        assert!(e.msg.contains("exactly one action"), "{e}");
    }
}
