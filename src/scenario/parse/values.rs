//! Checks of single scenario values: names, ports, relative file paths, iptables rules and
//! routes, link ends with their addresses, durations and connection targets.
//!
//! Contract: each returns the typed value or a [`ScenarioError`] at the value's span, with a
//! hint where one helps.

use super::*;

pub(super) fn check_name(
    cx: &Ctx,
    name: &Spanned<String>,
    what: &str,
) -> Result<(), ScenarioError> {
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

/// A `"tcp:PORT"` value of `key` (a program service's `ready`, the `listening` step).
pub(super) fn tcp_port(
    cx: &Ctx,
    value: &Spanned<String>,
    key: &str,
    hint: &str,
) -> Result<u16, ScenarioError> {
    let port = value
        .get_ref()
        .strip_prefix("tcp:")
        .and_then(|p| p.parse::<i64>().ok())
        .ok_or_else(|| {
            cx.err(cx.inner(value), format!("bad {key} {:?}", value.get_ref()))
                .with_hint(hint)
        })?;
    check_port(cx, &Spanned::new(value.span(), port))
}

pub(super) fn check_port(cx: &Ctx, port: &Spanned<i64>) -> Result<u16, ScenarioError> {
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

pub(super) fn check_relative_file(cx: &Ctx, file: &Spanned<String>) -> Result<(), ScenarioError> {
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

pub(super) fn parse_iptables(cx: &Ctx, line: &Spanned<String>) -> Result<Rule, ScenarioError> {
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
pub(super) fn parse_route(
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
    Ok(RoutePlan::from_route(host, &route))
}

pub(super) fn parse_end(
    cx: &Ctx,
    end: &Spanned<String>,
    resolver: &Resolver,
) -> Result<LinkEnd, ScenarioError> {
    let inner = cx.inner(end);
    let text = end.get_ref();
    let hint = "a link end is \"HOST:IFACE\" or \"HOST:IFACE ADDRESS/PREFIX ...\", e.g. \"client:eth0 10.0.0.1/24\" or \"client:eth0 2001:db8::1/64 fe80::1/64\"";
    let (host_iface, cidr) = match text.split_once(' ') {
        Some((h, c)) => (h, Some(c.trim())),
        None => (text.as_str(), None),
    };
    let Some((host, iface)) = host_iface.split_once(':') else {
        return Err(cx.bad(end, "link end", hint));
    };
    let host_span = inner.start..inner.start + host.len();
    let host = resolver.host(host, host_span)?;
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
    // Addresses are separated by spaces; the first is the one a host name stands for.
    let mut addrs = Vec::new();
    if let Some(c) = cidr {
        let base = inner.start + text.len() - c.len();
        for word in c.split_whitespace() {
            let start = base + word.as_ptr() as usize - c.as_ptr() as usize;
            let cidr = parse_cidr(word)
                .map_err(|msg| cx.err(start..start + word.len(), msg).with_hint(hint))?;
            addrs.push(cidr);
        }
    }
    let mut addrs = addrs.into_iter();
    Ok(LinkEnd {
        host,
        iface: iface.to_string(),
        addr: addrs.next(),
        extra: addrs.collect(),
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

pub(super) fn parse_duration(cx: &Ctx, s: &Spanned<String>) -> Result<Duration, ScenarioError> {
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
        return Err(cx.bad(
            s,
            "duration",
            "a duration is a number and a unit: \"250ms\", \"2s\", \"1.5s\", \"1m\" (at most 1 hour)",
        ));
    }
    Ok(Duration::from_secs_f64(secs))
}

pub(super) fn parse_target(
    cx: &Ctx,
    s: &Spanned<String>,
    resolver: &Resolver,
) -> Result<Target, ScenarioError> {
    let inner = cx.inner(s);
    let text = s.get_ref();
    let hint = "a target is \"HOST:PORT\" or \"ADDRESS:PORT\", e.g. \"server:27664\"";
    let Some((who, port)) = text.rsplit_once(':') else {
        return Err(cx.bad(s, "target", hint));
    };
    let port_start = inner.start + who.len() + 1;
    let port = port_at(cx, port, port_start, hint)?;
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
    let host = resolver.host(who, who_span.clone())?;
    let addr = resolver
        .first_addr(host)
        .ok_or_else(|| cx.err(who_span, format!("host {who} has no address to connect to")))?
        .addr;
    Ok(Target {
        host: Some(host),
        addr,
        port,
        text: text.clone(),
    })
}

/// Names as a sentence lists them: "a", "a and b", "a, b and c".
/// Refuses the first key present in `stray`, which belongs to services of `kind` only.
pub(super) fn no_stray_keys<const N: usize>(
    cx: &Ctx,
    stray: [(&str, Option<Range<usize>>); N],
    kind: &str,
    hint: &str,
) -> Result<(), ScenarioError> {
    match stray.into_iter().find_map(|(k, span)| span.map(|s| (k, s))) {
        Some((key, span)) => Err(cx
            .err(span, format!("{key} goes with kind = \"{kind}\""))
            .with_hint(hint)),
        None => Ok(()),
    }
}

/// The kinds of a registry, given as (key, the keys it takes), that take `key`, as "a, b and
/// c".
pub(super) fn kinds_taking<'a>(
    kinds: impl Iterator<Item = (&'a str, &'a [&'a str])>,
    key: &str,
) -> String {
    and_list(
        kinds
            .filter(|(_, takes)| takes.contains(&key))
            .map(|(kind, _)| kind)
            .collect(),
    )
}

pub(super) fn and_list(names: Vec<&str>) -> String {
    match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => names.join(""),
    }
}

/// The port written as `port` at byte `start` of the file (after a `:`), checked, with `hint`
/// when it is not a number.
pub(super) fn port_at(
    cx: &Ctx,
    port: &str,
    start: usize,
    hint: &str,
) -> Result<u16, ScenarioError> {
    let value: i64 = port.parse().map_err(|_| {
        cx.err(
            start..start + port.len().max(1),
            format!("bad port {port:?}"),
        )
        .with_hint(hint)
    })?;
    check_port(cx, &Spanned::new(start..start + port.len(), value))
}
