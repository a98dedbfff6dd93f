//! The network steps and wire expectations of a scenario: UDP probes, traceroute, routes,
//! links, hosts leaving the network, ARP announcements, sysctls; rule counters, flow lines and
//! packet-level facts of a capture. Same contract as the rest of `parse`: every problem is
//! reported at its place in the file with a hint.

use std::net::IpAddr;
use std::ops::Range;
use std::time::Duration;

use toml::Spanned;

use super::expects::{ExpectInput, ExpectKind};
use super::steps::{Input, Parsed, StepKind, command_outcomes};
use super::{Ctx, RawHost, RawStep, Resolver, parse_iptables, parse_target};
use crate::scenario::{
    Action, Count, Expect, HostId, LoopbackPlan, NetAction, NetExpect, ScenarioError, StepOutcome,
    WireFact,
};

/// A UDP probe ends on its answer or ICMP error; this bound only ends one that gets neither.
/// As traceroute's wait per probe (see `drive::net`): over three times the slowest answer seen
/// under `cargo xtask stress`.
const DEFAULT_PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// The largest UDP payload in an IPv4 datagram.
const MAX_UDP_PAYLOAD: i64 = 65_507;

pub(super) fn loopback(cx: &Ctx, host: &RawHost) -> Result<LoopbackPlan, ScenarioError> {
    let hint = "loopback's MTU is between 576 and 65536 (1500 shows Ethernet-sized segments)";
    let mtu = cx.mtu(&host.lo_mtu, "lo_mtu", 576..=65_536, hint)?;
    Ok(LoopbackPlan {
        mtu,
        capture: host.capture_lo,
    })
}

/// `send`, padded to `size` bytes with printable filler lines: what a UDP probe sends or a
/// program reads on its standard input.
pub(super) fn payload(cx: &Ctx, raw: &RawStep) -> Result<Vec<u8>, ScenarioError> {
    let mut bytes = raw.send.clone().unwrap_or_default().into_bytes();
    if let Some(size) = &raw.size {
        let n = *size.get_ref();
        if n < bytes.len() as i64 || n > MAX_UDP_PAYLOAD * 16 {
            return Err(cx
                .err(size.span(), format!("size {n} is out of range"))
                .with_hint(format!(
                    "size is the total number of bytes, at least the {} of send",
                    bytes.len()
                )));
        }
        let mut line = 0usize;
        while bytes.len() < n as usize {
            let filler = format!("line {line:05} of filler text to make the payload large\n");
            let room = n as usize - bytes.len();
            bytes.extend_from_slice(&filler.as_bytes()[..filler.len().min(room)]);
            line += 1;
        }
    }
    Ok(bytes)
}

/// The most SYNs a `syns` step can wait for: Linux sends 7 (tcp_syn_retries = 6) and the
/// connection fails as the 7th times out.
const MAX_SYNS: i64 = 6;

/// When the k-th SYN leaves, counted from the first: the initial retransmission timeout is 1 s
/// and doubles each time (RFC 6298; the lab pins tcp_syn_linear_timeouts to 0).
pub(crate) fn syn_due(k: u32) -> Duration {
    Duration::from_secs((1u64 << k.saturating_sub(1)) - 1)
}

/// `syns = k` on a telnet step, and the step's timeout: given, it must leave room for the k-th
/// SYN; by default it is only a safety bound, three times the k-th SYN's time and 2 s more, so
/// that a slow machine ends the step on the SYN and never on the clock.
pub(super) fn syns(
    cx: &Ctx,
    raw: &RawStep,
    timeout: Option<Duration>,
    default: Duration,
) -> Result<(Option<u32>, Duration), ScenarioError> {
    let Some(syns) = &raw.syns else {
        return Ok((None, timeout.unwrap_or(default)));
    };
    let k = *syns.get_ref();
    // One SYN would end the step as it leaves, before any answer could come: a timeout says
    // how long to wait for it.
    if !(2..=MAX_SYNS).contains(&k) {
        return Err(cx
            .err(syns.span(), format!("syns = {k} is out of range"))
            .with_hint(format!(
                "syns is how many SYNs the client sends before it gives up, 2 to {MAX_SYNS} \
                 (for one SYN, set a timeout instead)"
            )));
    }
    let due = syn_due(k as u32);
    let bound = due * 3 + Duration::from_secs(2);
    match timeout {
        None => Ok((Some(k as u32), bound)),
        Some(t) if t > due => Ok((Some(k as u32), t)),
        Some(t) => Err(cx
            .err(
                cx.inner(raw.timeout.as_ref().expect("a timeout was given")),
                format!(
                    "a timeout of {} ends before SYN number {k}, due at {}",
                    crate::text::human_duration(t),
                    crate::text::human_duration(due)
                ),
            )
            .with_hint(format!(
                "with syns the step ends on the SYN; leave timeout out (safety bound {})",
                crate::text::human_duration(bound)
            ))),
    }
}

fn word_span(cx: &Ctx, s: &Spanned<String>, word: &str) -> Range<usize> {
    let inner = cx.inner(s);
    match s.get_ref().find(word) {
        Some(i) => inner.start + i..inner.start + i + word.len().max(1),
        None => inner,
    }
}

/// A host name or an address, as traceroute and `route get` take them.
pub(super) fn resolve_dest(
    cx: &Ctx,
    s: &Spanned<String>,
    word: &str,
    resolver: &Resolver,
) -> Result<IpAddr, ScenarioError> {
    resolver.address(word, word_span(cx, s, word))
}

/// The network step kinds of the registry (`link` has a file of its own).
pub(super) const UDP: StepKind = kind("udp", &["send", "size"]);
pub(super) const TRACEROUTE: StepKind =
    kind("traceroute", &["max_hops", "hops", "mode", "queries"]);
pub(super) const ROUTE: StepKind = kind("route", &["expect_reply"]);
pub(super) const HOST_GONE: StepKind = kind("host_gone", &[]);
pub(super) const ANNOUNCE: StepKind = kind("announce", &[]);
pub(super) const SYSCTL: StepKind = kind("sysctl", &[]);

const fn kind(key: &'static str, takes: &'static [&'static str]) -> StepKind {
    StepKind::plain(key, takes, parse_kind)
}

fn parse_kind(input: &Input) -> Result<Parsed, ScenarioError> {
    let (action, default) = step(
        input.cx,
        input.raw,
        input.span.clone(),
        input.resolver,
        input.timeout,
    )?;
    let Action::Net(net) = &action else {
        unreachable!("a network step")
    };
    let outcomes = match net {
        NetAction::Udp { .. } => StepOutcome::CLIENT.to_vec(),
        _ => command_outcomes(),
    };
    let programs = match net {
        NetAction::Route {
            command: crate::rules::RouteCmd::Get(_),
            ..
        } => vec!["ip".to_string()],
        _ => Vec::new(),
    };
    Ok(Parsed {
        title: title(net, input.host_name),
        action,
        default,
        outcomes,
        programs,
    })
}

/// What the report calls a network step (`listening` has a row of its own, and takes its title
/// from here too).
pub(super) fn title(net: &NetAction, host_name: &str) -> String {
    match net {
        NetAction::Udp {
            target, payload, ..
        } => format!("udp {} ({} bytes)", target.text, payload.len()),
        NetAction::Traceroute { text, icmp, .. } => {
            format!("traceroute {}{text}", if *icmp { "-I " } else { "" })
        }
        NetAction::Route { text, .. } => format!("ip route {text}"),
        NetAction::Link { iface, up } => {
            format!("ip link set {iface} {}", if *up { "up" } else { "down" })
        }
        NetAction::RemoveHost => format!("{host_name} leaves the network"),
        NetAction::Announce { iface } => format!("announce {iface} (gratuitous ARP)"),
        NetAction::Sysctl { key, value } => format!("sysctl {key}={value}"),
        NetAction::Listening { port } => format!("listening tcp:{port}"),
    }
}

fn step(
    cx: &Ctx,
    raw: &RawStep,
    span: Range<usize>,
    resolver: &Resolver,
    timeout: Option<Duration>,
) -> Result<(Action, StepOutcome), ScenarioError> {
    let here = span.start..span.start + 1;
    let net = |a| Action::Net(a);
    if let Some(target) = &raw.udp {
        let target = parse_target(cx, target, resolver)?;
        let payload = payload(cx, raw)?;
        if payload.len() as i64 > MAX_UDP_PAYLOAD {
            return Err(cx
                .err(here, format!("a UDP payload of {} bytes", payload.len()))
                .with_hint(format!("at most {MAX_UDP_PAYLOAD} bytes fit in a datagram")));
        }
        return Ok((
            net(NetAction::Udp {
                target,
                payload,
                timeout: timeout.unwrap_or(DEFAULT_PROBE_TIMEOUT),
            }),
            StepOutcome::Connected,
        ));
    }
    if let Some(dest) = &raw.traceroute {
        let text = dest.get_ref().trim().to_string();
        let addr = resolve_dest(cx, dest, &text, resolver)?;
        let max_hops = match &raw.max_hops {
            None => 8,
            Some(m) => u8::try_from(*m.get_ref())
                .ok()
                .filter(|m| (1..=30).contains(m))
                .ok_or_else(|| {
                    cx.err(
                        m.span(),
                        format!("max_hops {} is out of range", m.get_ref()),
                    )
                    .with_hint("between 1 and 30")
                })?,
        };
        let icmp = match &raw.mode {
            None => false,
            Some(m) => match m.get_ref().as_str() {
                "udp" => false,
                "icmp" => true,
                other => {
                    return Err(cx
                        .err(cx.inner(m), format!("unknown traceroute mode {other:?}"))
                        .with_hint("mode = \"udp\" (the default, as traceroute) or \"icmp\" (as traceroute -I)"));
                }
            },
        };
        let queries = match &raw.queries {
            None => 1,
            Some(q) => u8::try_from(*q.get_ref())
                .ok()
                .filter(|q| (1..=10).contains(q))
                .ok_or_else(|| {
                    cx.err(q.span(), format!("queries {} is out of range", q.get_ref()))
                        .with_hint("probes per hop, 1 to 10 (traceroute sends 3)")
                })?,
        };
        return Ok((
            net(NetAction::Traceroute {
                dest: addr,
                text,
                max_hops,
                hops: raw.hops.clone(),
                icmp,
                queries,
            }),
            StepOutcome::Ok,
        ));
    }
    if let Some(route) = &raw.route {
        let mut text = route.get_ref().trim().to_string();
        // `get NAME` takes a host name too.
        if let Some(name) = text.strip_prefix("get ").map(str::trim) {
            if name.parse::<IpAddr>().is_err() {
                let addr = resolve_dest(cx, route, name, resolver)?;
                text = format!("get {addr}");
            }
        }
        let command = crate::rules::parse_route(&text).map_err(|e| {
            let inner = cx.inner(route);
            let offset: usize = text.chars().take(e.col).map(char::len_utf8).sum();
            let start = (inner.start + offset).min(inner.end);
            cx.err(
                start..start + e.token.len().max(1),
                format!("{}: expected {}", e.problem, e.expected),
            )
            .with_hint("`ip route` syntax: \"get 198.51.100.8\", \"add 198.51.100.8/32 dev vpn0\", \"del default\"")
        })?;
        return Ok((
            net(NetAction::Route {
                command,
                text,
                expect: raw.expect_reply.clone(),
            }),
            StepOutcome::Ok,
        ));
    }
    if let Some(gone) = &raw.host_gone {
        if !gone.get_ref() {
            return Err(cx
                .err(gone.span(), "host_gone takes true")
                .with_hint("leave the step out to keep the host"));
        }
        return Ok((net(NetAction::RemoveHost), StepOutcome::Ok));
    }
    if let Some(iface) = &raw.announce {
        return Ok((
            net(NetAction::Announce {
                iface: iface.get_ref().trim().to_string(),
            }),
            StepOutcome::Ok,
        ));
    }
    let sysctl = raw.sysctl.as_ref().expect("one network action is set");
    let hint = "sysctl = \"net.ipv4.ip_no_pmtu_disc=1\": a net.* key and a value";
    let Some((key, value)) = sysctl.get_ref().split_once('=') else {
        return Err(cx
            .err(
                cx.inner(sysctl),
                format!("bad sysctl {:?}", sysctl.get_ref()),
            )
            .with_hint(hint));
    };
    let (key, value) = (key.trim(), value.trim());
    let key_ok = key.starts_with("net.")
        && !key.contains("..")
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
    let value_ok = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || " \t-".contains(c));
    if !key_ok || !value_ok {
        return Err(cx
            .err(
                cx.inner(sysctl),
                format!("bad sysctl {:?}", sysctl.get_ref()),
            )
            .with_hint(hint));
    }
    Ok((
        net(NetAction::Sysctl {
            key: key.to_string(),
            value: value.to_string(),
        }),
        StepOutcome::Ok,
    ))
}

pub(super) fn count(
    cx: &Ctx,
    exact: &Option<Spanned<i64>>,
    at_least: &Option<Spanned<i64>>,
    what: &str,
) -> Result<Option<Count>, ScenarioError> {
    let check = |n: &Spanned<i64>| {
        u64::try_from(*n.get_ref())
            .map_err(|_| cx.err(n.span(), format!("{what} {} is negative", n.get_ref())))
    };
    match (exact, at_least) {
        (Some(_), Some(b)) => Err(cx
            .err(b.span(), format!("{what} and {what}_at_least together"))
            .with_hint("give one of them")),
        (Some(n), None) => Ok(Some(Count::Exactly(check(n)?))),
        (None, Some(n)) => Ok(Some(Count::AtLeast(check(n)?))),
        (None, None) => Ok(None),
    }
}

/// `HOST:REST`, with the host resolved and REST's span.
pub(super) fn host_prefixed(
    cx: &Ctx,
    s: &Spanned<String>,
    resolver: &Resolver,
    hint: &str,
) -> Result<(HostId, Spanned<String>), ScenarioError> {
    let inner = cx.inner(s);
    let text = s.get_ref();
    let Some((host, rest)) = text.split_once(':') else {
        return Err(cx.bad(s, "value", hint));
    };
    let name = host.trim();
    let start = inner.start + text.find(name).unwrap_or(0);
    let span = start..start + name.len().max(1);
    let id = resolver.host(name, span)?;
    let rest_start = inner.start + host.len() + 1;
    // A span one byte wider on each side, as for a quoted string, so `inner` finds the text.
    let rest_span = rest_start.saturating_sub(1)..inner.end + 1;
    Ok((id, Spanned::new(rest_span, rest.to_string())))
}

/// The wire and kernel expectation kinds of the registry (see `expects`).
pub(super) const RULE: ExpectKind = ExpectKind {
    key: "rule",
    usage: "rule = \"HOST: RULE\" with packets or packets_at_least",
    example: "rule = \"client: -A OUTPUT -j DROP\"\npackets = 0",
    takes: &["packets", "packets_at_least"],
    parse: rule_expect,
};
pub(super) const FLOW: ExpectKind = ExpectKind {
    key: "flow",
    usage: "flow = \"TEXT\"",
    example: "flow = \"client > server\"",
    takes: &["capture"],
    parse: |input| flow_expect(input, &input.raw.flow, true),
};
pub(super) const NO_FLOW: ExpectKind = ExpectKind {
    key: "no_flow",
    usage: "no_flow = \"TEXT\"",
    example: "no_flow = \"RST\"",
    takes: &["capture"],
    parse: |input| flow_expect(input, &input.raw.no_flow, false),
};
pub(super) const CAPTURE: ExpectKind = ExpectKind {
    key: "capture",
    usage: "capture = \"HOST:IFACE\" with facts of the capture",
    example: "capture = \"client:eth0\"\nsyns_at_least = 2",
    takes: &[
        "syns",
        "syns_at_least",
        "fragments",
        "fragments_at_least",
        "mss_segments",
        "zero_ethernet",
        "capture_side",
    ],
    parse: capture_expect,
};

fn rule_expect(input: &ExpectInput) -> Result<Expect, ScenarioError> {
    let (cx, raw, here) = (input.cx, input.raw, &input.here);
    let rule = raw.rule.as_ref().expect("the kind's key is set");
    let hint = "rule = \"HOST: -t filter -A OUTPUT -p tcp --dport 25 -j DROP\" or \"HOST: filter OUTPUT 1\" (the first rule of the chain), with packets = N or packets_at_least = N";
    let (host, text) = host_prefixed(cx, rule, input.resolver, hint)?;
    // `TABLE CHAIN N`: the N-th rule of a chain, which is what `-D CHAIN N` names.
    let words: Vec<&str> = text.get_ref().split_whitespace().collect();
    let by_index = match words.as_slice() {
        [table, chain, n] if n.parse::<u32>().is_ok() && !table.starts_with('-') => {
            crate::rules::parse_rule(&format!("-t {table} -D {chain} {n}")).ok()
        }
        _ => None,
    };
    let parsed = match by_index {
        Some(rule) => rule,
        None => parse_iptables(cx, &text)?,
    };
    let numbered = matches!(parsed.command(), crate::rules::Command::DeleteNumber { .. });
    if parsed.spec().is_none() && !numbered {
        return Err(cx
            .err(
                cx.inner(rule),
                "a counter belongs to a rule (-A, -I or -D with a rule)",
            )
            .with_hint(hint));
    }
    let packets = count(cx, &raw.packets, &raw.packets_at_least, "packets")?.ok_or_else(|| {
        cx.err(
            here.clone(),
            "a rule expectation needs packets or packets_at_least",
        )
        .with_hint(hint)
    })?;
    Ok(net_expect(
        input,
        NetExpect::Counter {
            host,
            rule: parsed,
            packets,
        },
        rule,
    ))
}

fn flow_expect(
    input: &ExpectInput,
    value: &Option<Spanned<String>>,
    present: bool,
) -> Result<Expect, ScenarioError> {
    let text = value.as_ref().expect("the kind's key is set");
    if text.get_ref().trim().is_empty() {
        return Err(input.cx.err(input.cx.inner(text), "empty flow text"));
    }
    let capture = match &input.raw.capture {
        Some(c) => {
            let hint = "capture = \"HOST:IFACE\" beside a flow: only that capture's lines count";
            let (host, iface) = host_prefixed(input.cx, c, input.resolver, hint)?;
            Some((host, iface.get_ref().trim().to_string()))
        }
        None => None,
    };
    Ok(net_expect(
        input,
        NetExpect::Flow {
            text: text.get_ref().clone(),
            present,
            capture,
        },
        text,
    ))
}

fn capture_expect(input: &ExpectInput) -> Result<Expect, ScenarioError> {
    let (cx, raw) = (input.cx, input.raw);
    let capture = raw.capture.as_ref().expect("the kind's key is set");
    let hint = "capture = \"HOST:IFACE\" with syns, fragments, mss_segments, zero_ethernet or capture_side";
    let (host, iface) = host_prefixed(cx, capture, input.resolver, hint)?;
    let mut facts = Vec::new();
    if let Some(c) = count(cx, &raw.syns, &raw.syns_at_least, "syns")? {
        facts.push(WireFact::SynBackoff(c));
    }
    if let Some(c) = count(cx, &raw.fragments, &raw.fragments_at_least, "fragments")? {
        facts.push(WireFact::Fragments(c));
    }
    if let Some(m) = &raw.mss_segments {
        let mss = u32::try_from(*m.get_ref())
            .ok()
            .filter(|m| (1..=65_535).contains(m))
            .ok_or_else(|| {
                cx.err(
                    m.span(),
                    "mss_segments is a segment size between 1 and 65535",
                )
            })?;
        facts.push(WireFact::MssSegments(mss));
    }
    if raw.zero_ethernet == Some(true) {
        facts.push(WireFact::ZeroEthernet);
    }
    if let Some(side) = &raw.capture_side {
        let id = input.resolver.host_value(side)?;
        facts.push(WireFact::CaptureSide(id));
    }
    if facts.is_empty() {
        return Err(cx
            .err(
                input.here.clone(),
                "a capture expectation needs at least one fact",
            )
            .with_hint(hint));
    }
    Ok(net_expect(
        input,
        NetExpect::Capture {
            host,
            iface: iface.get_ref().trim().to_string(),
            facts,
        },
        capture,
    ))
}

/// A wire or kernel expectation, titled by its kind's value as written.
fn net_expect(input: &ExpectInput, what: NetExpect, value: &Spanned<String>) -> Expect {
    Expect::Net {
        what,
        text: value.get_ref().clone(),
        line: input.line,
    }
}

#[cfg(test)]
mod tests {
    use crate::scenario::testing::{TWO_HOSTS, file};
    use crate::scenario::{Action, Count, NetAction, NetExpect, ScenarioError, WireFact};

    /// The two-host lab after a blank first line, then `extra`.
    fn plan(extra: &str) -> Result<crate::scenario::Plan, ScenarioError> {
        file(&format!("\n{TWO_HOSTS}{extra}"))
    }

    fn err(extra: &str) -> ScenarioError {
        plan(extra).expect_err("must fail")
    }

    #[test]
    fn network_steps_parse() {
        let p = plan(
            r#"
[[steps]]
host = "client"
udp = "server:161"
send = "probe"
size = 100
outcome = "refused"
[[steps]]
host = "client"
traceroute = "server"
hops = ["server"]
[[steps]]
host = "client"
route = "get server"
expect_reply = "dev eth0"
[[steps]]
host = "server"
link = "eth0 down"
[[steps]]
host = "server"
host_gone = true
[[steps]]
host = "server"
announce = "eth0"
[[steps]]
host = "client"
sysctl = "net.ipv4.ip_no_pmtu_disc=1"
"#,
        )
        .unwrap();
        let Action::Net(NetAction::Udp { payload, .. }) = &p.steps[0].action else {
            panic!()
        };
        assert_eq!(payload.len(), 100);
        assert!(payload.starts_with(b"probe"));
        let Action::Net(NetAction::Route { text, .. }) = &p.steps[2].action else {
            panic!()
        };
        assert_eq!(text, "get 10.0.0.2");
        assert!(matches!(
            p.steps[3].action,
            Action::Net(NetAction::Link { up: false, .. })
        ));
    }

    #[test]
    fn bad_network_steps_point_at_the_problem() {
        let e = err("[[steps]]\nhost = \"client\"\ntraceroute = \"sevrer\"\n");
        assert!(e.msg.contains("unknown host \"sevrer\""), "{e}");
        assert_eq!((e.line, e.col), (9, 15), "{e}");
        let e = err("[[steps]]\nhost = \"client\"\nsysctl = \"kernel.panic=1\"\n");
        assert!(e.msg.contains("bad sysctl"), "{e}");
        assert!(e.hint.unwrap().contains("net.*"));
        let e = err("[[steps]]\nhost = \"client\"\nlink = \"eth0 sideways\"\n");
        assert!(e.msg.contains("bad link"), "{e}");
        let e = err("[[steps]]\nhost = \"client\"\nroute = \"add 10.9.0.0/33 dev eth0\"\n");
        assert_eq!(e.line, 9, "{e}");
        let e = err("[[steps]]\nhost = \"client\"\nudp = \"server:161\"\nhops = [\"x\"]\n");
        assert!(e.msg.contains("hops does not go with this action"), "{e}");
        assert_eq!(e.hint.as_deref(), Some("hops goes with traceroute"), "{e}");
        let e =
            err("[[steps]]\nhost = \"client\"\nudp = \"server:161\"\ntraceroute = \"server\"\n");
        assert!(e.msg.contains("exactly one action"), "{e}");
        let e = err("[[steps]]\nhost = \"client\"\nudp = \"server:161\"\nsize = 70000\n");
        assert!(e.msg.contains("70000 bytes"), "{e}");
    }

    #[test]
    fn wire_expectations_parse() {
        let p = plan(
            r#"
[[expect]]
rule = "client: -t filter -A OUTPUT -p tcp --dport 25 -j DROP"
packets_at_least = 2
[[expect]]
no_flow = "tcp"
[[expect]]
capture = "client:eth0"
syns = 3
fragments_at_least = 2
zero_ethernet = true
capture_side = "server"
[[expect]]
rule = "server: nat PREROUTING 2"
packets = 0
"#,
        )
        .unwrap();
        let crate::scenario::Expect::Net {
            what: NetExpect::Counter { rule, .. },
            ..
        } = &p.expects[3]
        else {
            panic!()
        };
        assert_eq!(rule.to_string(), "-t nat -D PREROUTING 2");
        let crate::scenario::Expect::Net {
            what: NetExpect::Counter { host, packets, .. },
            ..
        } = &p.expects[0]
        else {
            panic!()
        };
        assert_eq!((*host, *packets), (0, Count::AtLeast(2)));
        let crate::scenario::Expect::Net {
            what: NetExpect::Capture { facts, .. },
            ..
        } = &p.expects[2]
        else {
            panic!()
        };
        assert_eq!(facts.len(), 4);
        assert_eq!(facts[0], WireFact::SynBackoff(Count::Exactly(3)));
    }

    #[test]
    fn bad_wire_expectations_point_at_the_problem() {
        let e = err("[[expect]]\nrule = \"client: -A OUTPUT -j DRP\"\npackets = 1\n");
        assert!(e.msg.contains("unknown target \"DRP\""), "{e}");
        assert_eq!((e.line, e.col), (8, 30), "{e}");
        for (body, says) in [
            ("rule = \"client: -A OUTPUT -j DROP\"", "needs packets"),
            (
                "rule = \"nobody: -A OUTPUT -j DROP\"\npackets = 1",
                "unknown host \"nobody\"",
            ),
            ("packets = 1", "packets goes with rule"),
            ("capture = \"client:eth0\"", "at least one fact"),
            (
                "capture = \"client:eth0\"\nsyns = 2\nsyns_at_least = 2",
                "syns and syns_at_least",
            ),
            (
                "flow = \"tcp\"\nfile = \"server:x\"\nequals = \"\"",
                "exactly one of",
            ),
        ] {
            let e = err(&format!("[[expect]]\n{body}\n"));
            assert!(e.msg.contains(says), "{body}: {e}");
        }
    }

    #[test]
    fn syns_end_a_telnet_step_and_bound_its_timeout() {
        let p = plan("[[steps]]\nhost = \"client\"\ntelnet = \"server:25\"\nsyns = 3\n").unwrap();
        let Action::Telnet { syns, timeout, .. } = &p.steps[0].action else {
            panic!()
        };
        // The third SYN is due at 3 s: the safety bound is three times that, and 2 s more.
        assert_eq!(
            (*syns, *timeout),
            (Some(3), std::time::Duration::from_secs(11))
        );
        let given =
            "[[steps]]\nhost = \"client\"\ntelnet = \"server:25\"\nsyns = 2\ntimeout = \"1.5s\"\n";
        let Action::Telnet { timeout, .. } = &plan(given).unwrap().steps[0].action else {
            panic!()
        };
        assert_eq!(*timeout, std::time::Duration::from_millis(1500));
    }

    #[test]
    fn syns_out_of_place_out_of_range_or_after_the_timeout_are_refused() {
        for k in [1, 7] {
            let e = err(&format!(
                "[[steps]]\nhost = \"client\"\ntelnet = \"server:25\"\nsyns = {k}\n"
            ));
            assert!(
                e.msg.contains(&format!("syns = {k} is out of range")),
                "{e}"
            );
        }
        let e = err(
            "[[steps]]\nhost = \"client\"\ntelnet = \"server:25\"\nsyns = 3\ntimeout = \"3s\"\n",
        );
        assert!(
            e.msg.contains("ends before SYN number 3, due at 3.00s"),
            "{e}"
        );
        let e = err("[[steps]]\nhost = \"client\"\nudp = \"server:161\"\nsyns = 2\n");
        assert!(e.msg.contains("syns does not go with this action"), "{e}");
    }
}
