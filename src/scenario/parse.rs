//! TOML -> [`Plan`]: deserialise into raw structs that keep every value's span, then resolve and
//! check names, addresses and ports, reporting the first problem at its place in the file.
//!
//! This file walks the scenario top-down; [`raw`] holds the deserialised structs, [`values`]
//! the checks of single values (names, ports, addresses, routes, link ends, durations,
//! targets), [`steps`] and [`expects`] the registries of step and expectation kinds, and
//! [`net`] and [`protocol`] the network and protocol kinds of both.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::ops::Range;
use std::time::Duration;

use toml::Spanned;

use super::*;

mod alerts;
mod dhcp;
mod expects;
mod filter;
mod net;
mod program;
mod protocol;
mod raw;
mod resolve;
mod rules;
mod steps;
mod switch;
mod values;

#[cfg(test)]
pub(crate) use expects::expect_kinds;
use expects::parse_expect;
use raw::*;
use resolve::Resolver;
use steps::parse_step;
#[cfg(test)]
pub(crate) use steps::step_kinds;
use values::*;

const SERVICE_KINDS: &[&str] = &[
    "tcp-dump",
    "tcp-echo",
    "tcp-banner",
    "ftp",
    "smtp",
    "http",
    "dns",
    "program",
    "dhcp",
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

struct Ctx<'a> {
    file: String,
    text: &'a str,
}

impl Ctx<'_> {
    fn err(&self, span: Range<usize>, msg: impl Into<String>) -> ScenarioError {
        ScenarioError::at(&self.file, self.text, span, msg)
    }

    /// `bad WHAT "VALUE"` at a string value that does not read as a `what`, with `hint`.
    fn bad(&self, s: &Spanned<String>, what: &str, hint: impl Into<String>) -> ScenarioError {
        let text = s.get_ref();
        self.err(self.inner(s), format!("bad {what} {text:?}"))
            .with_hint(hint)
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

    /// An MTU written as `key`, checked against `range`.
    fn mtu(
        &self,
        mtu: &Option<Spanned<i64>>,
        key: &str,
        range: std::ops::RangeInclusive<i64>,
        hint: &str,
    ) -> Result<Option<u32>, ScenarioError> {
        match mtu {
            None => Ok(None),
            Some(m) if range.contains(m.get_ref()) => Ok(Some(*m.get_ref() as u32)),
            Some(m) => Err(self
                .err(m.span(), format!("{key} {} is out of range", m.get_ref()))
                .with_hint(hint)),
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
        let start = text[..span.start.min(text.len())]
            .rfind('\n')
            .map_or(0, |i| i + 1);
        let line = text[start..].lines().next().unwrap_or("");
        let err = cx.err(span, msg.clone());
        if msg.starts_with("unknown field") {
            err.with_hint(
                "the known keys are listed above; README's \"Writing a scenario\" says what each takes",
            )
        } else if msg.starts_with("invalid type: map, expected a sequence") {
            // `[hosts.client.routes]` opens a table where a list belongs.
            let key = line
                .trim()
                .trim_matches(|c| c == '[' || c == ']')
                .rsplit('.')
                .next()
                .unwrap_or("")
                .trim();
            if key == "routes" {
                err.with_hint(
                    "routes is a list under the host's table, not a table of its own: \
                     [hosts.client] then routes = [\"default via 10.0.0.254\", \
                     \"198.51.100.0/24 via 10.0.0.253\"]",
                )
            } else {
                err.with_hint("this key takes a list, e.g. key = [\"a\", \"b\"], not a [table]")
            }
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
            switch: None,
        });
    }
    switch::declare(&cx, &raw.switches, &mut hosts)?;
    // Link ends name hosts before any host has an address.
    let resolver = Resolver::new(&cx, &hosts, &[]);
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
            parsed.push(parse_end(&cx, end, &resolver)?);
        }
        let hint = "an IPv4 link's MTU is between 68 and 65535";
        let mtu = cx.mtu(&link.mtu, "mtu", 68..=65_535, hint)?;
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
        let capture_filter = match &link.capture_filter {
            None => None,
            Some(f) => {
                crate::filter::CaptureFilter::new(f.get_ref()).map_err(|e| {
                    cx.err(
                        cx.inner(f),
                        format!("bad capture filter {:?}: {}", f.get_ref(), e.problem),
                    )
                    .with_hint("capture_filter takes a BPF expression, as tcpdump: \"tcp port 21\"")
                })?;
                Some(f.get_ref().clone())
            }
        };
        links.push(LinkPlan {
            ends: [a, b],
            mtu,
            capture_filter,
        });
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
    switch::ports(&cx, &raw.switches, &hosts, &resolver, &mut links)?;
    // An IPv6 address on an end turns IPv6 on in its host.
    for end in links.iter().flat_map(|l| &l.ends) {
        if end.addr.iter().chain(&end.extra).any(|c| c.addr.is_ipv6()) {
            hosts[end.host].ipv6 = true;
        }
    }
    let resolver = Resolver::new(&cx, &hosts, &links);

    let mut routes = Vec::new();
    for (id, host) in raw.hosts.values().enumerate() {
        for line in &host.routes {
            routes.push(parse_route(&cx, line, id, &hosts[id].name, &links)?);
        }
    }

    let mut services = Vec::new();
    for (svc_name, svc) in &raw.services {
        check_name(&cx, svc_name, "service")?;
        let host = resolver.host_value(&svc.host)?;
        let program = match svc.kind.get_ref().as_str() {
            "program" => Some(program::service(&cx, svc)?),
            "dhcp" => {
                program::no_program_keys(&cx, svc)?;
                Some(dhcp::service(&cx, svc, host, &hosts, &links)?)
            }
            _ => {
                program::no_program_keys(&cx, svc)?;
                dhcp::no_dhcp_keys(&cx, svc)?;
                None
            }
        };
        let port = match (&svc.port, protocol::default_port(svc.kind.get_ref())) {
            _ if program.is_some() => program.as_ref().expect("checked").1,
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
            .find(|s: &&ServicePlan| s.host == host && s.port == port && port != 0)
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
            _ if program.is_some() => program.expect("checked").0,
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

    let (rules, rule_files) = rules::rules(&cx, &raw.rules, &resolver, &origin)?;

    let keys: GivenKeys = toml::from_str(text).expect("the document was read once already");
    let mut steps = Vec::new();
    for (step, given) in raw.steps.iter().zip(&keys.steps) {
        let given: Vec<String> = given.keys().cloned().collect();
        steps.push(parse_step(&cx, step, &given, &resolver)?);
    }

    let mut expects = Vec::new();
    for (expect, given) in raw.expect.iter().zip(&keys.expect) {
        let given: Vec<String> = given.keys().cloned().collect();
        expects.push(parse_expect(&cx, expect, &given, &resolver)?);
    }

    let (snapshot, snapshot_alerts) = match &raw.snapshot {
        None => (true, false),
        Some(s) => match s.get_ref() {
            toml::Value::Boolean(b) => (*b, false),
            toml::Value::String(a) if a == "alerts" => (true, true),
            _ => {
                return Err(cx
                    .err(s.span(), "snapshot takes true, false or \"alerts\"")
                    .with_hint(
                        "snapshot = \"alerts\" compares the run's alerts instead of its flows",
                    ));
            }
        },
    };
    Ok(Plan {
        name,
        summary: raw.summary,
        origin,
        hosts,
        links,
        routes,
        services,
        rules,
        rule_files,
        steps,
        expects,
        snapshot,
        snapshot_alerts,
        alerts: alerts::thresholds(&cx, &raw.alerts)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::testing::{TWO_HOSTS, file, refused};

    #[test]
    fn mtus_out_of_range_are_refused_with_their_range() {
        let e = refused(&format!("{TWO_HOSTS}mtu = 40\n"));
        assert_eq!(e.msg, "mtu 40 is out of range");
        assert_eq!(
            e.hint.as_deref(),
            Some("an IPv4 link's MTU is between 68 and 65535")
        );
        let e = refused(&TWO_HOSTS.replace("[hosts.client]\n", "[hosts.client]\nlo_mtu = 70000\n"));
        assert_eq!(e.msg, "lo_mtu 70000 is out of range");
        assert!(
            e.hint
                .unwrap()
                .starts_with("loopback's MTU is between 576 and 65536")
        );
        assert!(file(&format!("{TWO_HOSTS}mtu = 1280\n")).is_ok());
    }

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

    #[test]
    fn an_end_takes_several_addresses_and_ipv6_turns_its_host_on() {
        let text = "name = \"t\"\n[hosts.a]\n[hosts.b]\n[[links]]\n\
                    ends = [\"a:eth0 2001:db8::1/64 fe80::1/64\", \"b:eth0 2001:db8::2/64\"]\n";
        let plan = file(text).unwrap();
        let a = &plan.links[0].ends[0];
        assert_eq!(a.addr.unwrap().to_string(), "2001:db8::1/64");
        assert_eq!(a.extra.len(), 1);
        assert_eq!(a.extra[0].to_string(), "fe80::1/64");
        assert!(plan.hosts.iter().all(|h| h.ipv6));
        let names: Vec<String> = plan.addresses().map(|(a, h)| format!("{h} {a}")).collect();
        assert_eq!(names, ["a 2001:db8::1", "a fe80::1", "b 2001:db8::2"]);
        let e = refused(&text.replace("fe80::1/64", "fe80::1/200"));
        assert!(e.msg.starts_with("bad prefix length \"200\""), "{e}");
        assert_eq!(e.col, 32, "{e}");
    }

    #[test]
    fn good_scenario_resolves_names() {
        let plan = file(GOOD).unwrap();
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
        let e = refused(&GOOD.replace("server:eth0 10.0.0.2/24", "sever:eth0 10.0.0.2/24"));
        assert_eq!((e.line, e.col), (7, 37), "{e}");
        assert!(e.msg.contains("unknown host \"sever\""), "{e}");
        assert!(e.hint.as_deref().unwrap().contains("client, server"));
    }

    #[test]
    fn bad_cidr() {
        let e = refused(&GOOD.replace("10.0.0.2/24", "10.0.0.2/33"));
        assert!(e.msg.contains("bad prefix length"), "{e}");
        assert_eq!(e.line, 7);
    }

    #[test]
    fn port_out_of_range() {
        let e = refused(&GOOD.replace("port = 27664", "port = 70000"));
        assert!(e.msg.contains("port 70000 is out of range"), "{e}");
        assert_eq!((e.line, e.col), (12, 8));
    }

    #[test]
    fn unknown_key() {
        let e = refused(&GOOD.replace("capture = true", "captur = true"));
        assert!(e.msg.contains("unknown field `captur`"), "{e}");
        assert_eq!(e.line, 8);
    }

    #[test]
    fn not_toml() {
        let e = refused("name = \n[[[");
        assert_eq!(e.line, 1, "{e}");
    }

    #[test]
    fn misspelt_iptables_target_points_at_the_word() {
        let text = GOOD.replace(
            "[[expect]]",
            "[[steps]]\nhost = \"server\"\niptables = \"-t nat -A PREROUTING -p tcp --dport 21 -j REDIRCT --to-ports 27664\"\n[[expect]]",
        );
        let e = refused(&text);
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
        let plan = file(&text).unwrap();
        assert_eq!(plan.routes.len(), 2);
        assert!(plan.routes[0].dest.is_none());
        assert_eq!(plan.routes[0].via, Some("10.0.0.2".parse().unwrap()));
        assert_eq!(plan.routes[1].dest.unwrap().to_string(), "198.51.100.8/32");
        assert_eq!(plan.routes[1].dev.as_deref(), Some("eth0"));
        let e = refused(&GOOD.replace(
            "[hosts.client]",
            "[hosts.client]\nroutes = [\"198.51.100.8/32 dev vpn0\"]",
        ));
        assert!(e.msg.contains("host client has no interface vpn0"), "{e}");
        assert_eq!((e.line, e.col), (5, 32), "{e}");
    }

    #[test]
    fn routes_written_as_a_table_get_an_example() {
        let e = refused(&GOOD.replace(
            "[hosts.client]",
            "[hosts.client]\n[hosts.client.routes]\ndefault = \"via 10.0.0.2\"",
        ));
        assert!(e.msg.contains("expected a sequence"), "{e}");
        assert_eq!(e.line, 5, "{e}");
        let hint = e.hint.unwrap();
        assert!(
            hint.contains("routes = [\"default via 10.0.0.254\""),
            "{hint}"
        );
    }

    #[test]
    fn step_with_two_actions() {
        let e = refused(&GOOD.replace("send = \"hi\\r\\n\"", "wait = \"1s\""));
        assert!(e.msg.contains("exactly one action"), "{e}");
    }
}
