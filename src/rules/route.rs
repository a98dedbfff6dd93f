//! `ip route` commands: parsed into a typed [`RouteCmd`] that the topology stage applies
//! through netlink.
//!
//! Contract: [`parse_route`] accepts `[sudo] [ip [-4|-6]] [route] add|del|replace DEST
//! [via ADDR] [dev IFACE] [metric N] [src ADDR]` (options in any order, as `ip` takes them)
//! and `... get ADDR`. DEST is `default`, a CIDR network, or a bare address standing for
//! itself alone (/32, /128). The words `route`, `add`, `delete`, `replace`, `get` may be
//! shortened as `ip` allows (`ip ro get`, `ip r a`). Anything else (other route types,
//! tables, `proto`, `scope`, the older `route add ... gw` syntax) is refused with a
//! [`ParseError`] naming the word, its column and what was expected.
//!
//! Invariants of a parsed [`Route`]: the destination has no host bits set (the kernel refuses
//! `10.0.0.5/24`); every address in it is of one family; `add` and `replace` name a gateway or
//! a device; a device is never an iptables wildcard.

use std::fmt;
use std::net::IpAddr;

use super::ParseError;
use super::iface::Iface;
use super::lex::{self, Token, err, iface_error, q};

/// The error of [`parse_route`].
pub type RouteError = ParseError;

/// An address family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    fn of(addr: &IpAddr) -> Family {
        match addr {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        }
    }

    fn bits(self) -> u8 {
        match self {
            Family::V4 => 32,
            Family::V6 => 128,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Family::V4 => "IPv4",
            Family::V6 => "IPv6",
        }
    }
}

/// An IPv4 or IPv6 network without host bits; prefix 0 is the default route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    /// The network `addr/prefix`, if the prefix fits the family and no host bits are set.
    pub fn new(addr: IpAddr, prefix: u8) -> Option<IpNet> {
        let net = IpNet { addr, prefix };
        (prefix <= Family::of(&addr).bits() && net.network() == addr).then_some(net)
    }

    /// The address with every bit beyond the prefix cleared.
    fn network(&self) -> IpAddr {
        let keep = |bits: u32, width: u32| u128::MAX.checked_shl(width - bits).unwrap_or(0);
        match self.addr {
            IpAddr::V4(a) => {
                let mask = keep(u32::from(self.prefix).min(32), 32) as u32;
                IpAddr::from(std::net::Ipv4Addr::from(u32::from(a) & mask))
            }
            IpAddr::V6(a) => {
                let mask = keep(u32::from(self.prefix).min(128), 128);
                IpAddr::from(std::net::Ipv6Addr::from(u128::from(a) & mask))
            }
        }
    }

    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    pub fn family(&self) -> Family {
        Family::of(&self.addr)
    }

    /// Whether this is `default` (0.0.0.0/0 or ::/0).
    pub fn is_default(&self) -> bool {
        self.prefix == 0
    }

    pub fn contains(&self, addr: IpAddr) -> bool {
        Family::of(&addr) == self.family()
            && IpNet {
                addr,
                prefix: self.prefix,
            }
            .network()
                == self.addr
    }
}

impl fmt::Display for IpNet {
    /// `default`, a bare address for a single host (as `ip route` shows it), else `addr/len`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_default() {
            f.write_str("default")
        } else if self.prefix == self.family().bits() {
            write!(f, "{}", self.addr)
        } else {
            write!(f, "{}/{}", self.addr, self.prefix)
        }
    }
}

/// A route as `ip route add|del|replace` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    dest: IpNet,
    via: Option<IpAddr>,
    dev: Option<Iface>,
    metric: Option<u32>,
    src: Option<IpAddr>,
}

impl Route {
    pub fn dest(&self) -> IpNet {
        self.dest
    }

    pub fn family(&self) -> Family {
        self.dest.family()
    }

    /// The gateway.
    pub fn via(&self) -> Option<IpAddr> {
        self.via
    }

    pub fn dev(&self) -> Option<&Iface> {
        self.dev.as_ref()
    }

    pub fn metric(&self) -> Option<u32> {
        self.metric
    }

    /// The preferred source address.
    pub fn src(&self) -> Option<IpAddr> {
        self.src
    }
}

/// One `ip route` command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteCmd {
    Add(Route),
    Del(Route),
    Replace(Route),
    /// `ip route get ADDR`: which route the kernel would use for `ADDR`.
    Get(IpAddr),
}

impl RouteCmd {
    pub fn route(&self) -> Option<&Route> {
        match self {
            RouteCmd::Add(r) | RouteCmd::Del(r) | RouteCmd::Replace(r) => Some(r),
            RouteCmd::Get(_) => None,
        }
    }

    /// Replaces the device `from` with `to` (grading maps a student's interface onto the
    /// lab's); returns whether it was replaced. `to` must not be an iptables wildcard.
    pub fn rename_interface(&mut self, from: &str, to: &Iface) -> bool {
        let route = match self {
            RouteCmd::Add(r) | RouteCmd::Del(r) | RouteCmd::Replace(r) => r,
            RouteCmd::Get(_) => return false,
        };
        match &mut route.dev {
            Some(dev) if dev.as_str() == from && !to.is_wildcard() => {
                *dev = to.clone();
                true
            }
            _ => false,
        }
    }

    /// The arguments for the `ip` program (without the program name), in canonical form.
    pub fn argv(&self) -> Vec<String> {
        let mut a: Vec<String> = Vec::new();
        let mut push = |w: &str| a.push(w.to_owned());
        let route = match self {
            RouteCmd::Get(addr) => {
                for w in ["route", "get", &addr.to_string()] {
                    push(w);
                }
                return a;
            }
            RouteCmd::Add(r) | RouteCmd::Del(r) | RouteCmd::Replace(r) => r,
        };
        // `default` says nothing about the family; -6 keeps an IPv6 default one.
        let addresses = route.dest.is_default() && route.via.is_none() && route.src.is_none();
        if addresses && route.family() == Family::V6 {
            push("-6");
        }
        push("route");
        push(match self {
            RouteCmd::Add(_) => "add",
            RouteCmd::Del(_) => "del",
            _ => "replace",
        });
        push(&route.dest.to_string());
        if let Some(via) = route.via {
            push("via");
            push(&via.to_string());
        }
        if let Some(dev) = &route.dev {
            push("dev");
            push(dev.as_str());
        }
        if let Some(src) = route.src {
            push("src");
            push(&src.to_string());
        }
        if let Some(metric) = route.metric {
            push("metric");
            push(&metric.to_string());
        }
        a
    }
}

impl fmt::Display for RouteCmd {
    /// `ip route ...` in canonical form; parsing it gives back the same command.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ip {}", self.argv().join(" "))
    }
}

/// Route options `ip` knows that labs do not use, refused as "unsupported" not "unknown".
const UNSUPPORTED_WORDS: &[&str] = &[
    "table",
    "proto",
    "protocol",
    "scope",
    "mtu",
    "advmss",
    "onlink",
    "nexthop",
    "realm",
    "realms",
    "rtt",
    "rttvar",
    "initcwnd",
    "initrwnd",
    "tos",
    "dsfield",
    "weight",
    "type",
    "expires",
    "pref",
    "from",
    "iif",
    "mark",
    "uid",
    "vrf",
    "ipproto",
    "sport",
    "dport",
    "encap",
    "window",
    "hoplimit",
    "congctl",
    "features",
    "quickack",
    "fastopen_no_cookie",
    "unicast",
    "local",
    "broadcast",
    "multicast",
    "blackhole",
    "unreachable",
    "prohibit",
    "throw",
    "nat",
    "anycast",
    "fibmatch",
    "connected",
];

const ROUTE_OPTIONS: &str = "via ADDRESS, dev INTERFACE, metric N or src ADDRESS";

/// Parses one `ip route` command. See the module docs for the syntax.
///
/// ```
/// use labctl::rules::{parse_route, RouteCmd};
/// let cmd = parse_route("sudo ip ro add 8.8.8.8/32 dev vpn0").unwrap();
/// assert_eq!(cmd.to_string(), "ip route add 8.8.8.8 dev vpn0");
/// assert!(matches!(parse_route("ip ro get 8.8.8.8/32"), Ok(RouteCmd::Get(_))));
/// ```
pub fn parse_route(line: &str) -> Result<RouteCmd, RouteError> {
    let tokens = lex::split(line)?;
    let end = Token {
        text: String::new(),
        col: line.chars().count(),
    };
    let mut words = tokens.into_iter();
    let mut family = None;
    let mut seen_ip = false;
    let verb = loop {
        let Some(tok) = words.next() else {
            return Err(err(
                &end,
                "missing route command",
                "add, del, replace or get",
            ));
        };
        let word = tok.text.as_str();
        let program = word.rsplit('/').next().unwrap_or_default();
        match word {
            "sudo" if !seen_ip => {}
            _ if program == "ip" && !seen_ip => seen_ip = true,
            "-4" | "-6" if seen_ip => {
                let f = if word == "-4" { Family::V4 } else { Family::V6 };
                if family.replace(f).is_some() {
                    return Err(err(&tok, "a second address family flag", "one of -4 or -6"));
                }
            }
            _ if word.starts_with('-') && seen_ip => {
                return Err(err(
                    &tok,
                    format!("unsupported ip option {}", q(word)),
                    "-4 or -6, then route",
                ));
            }
            _ if abbreviates(word, "route", 1) => {}
            _ => break tok,
        }
    };
    let verb_word = verb.text.as_str();
    let make: fn(Route) -> RouteCmd = if abbreviates(verb_word, "add", 1) {
        RouteCmd::Add
    } else if abbreviates(verb_word, "delete", 1) {
        RouteCmd::Del
    } else if abbreviates(verb_word, "replace", 3) {
        RouteCmd::Replace
    } else if abbreviates(verb_word, "get", 1) {
        let rest: Vec<Token> = words.collect();
        return parse_get(&verb, rest, family, &end);
    } else {
        let mut e = err(
            &verb,
            format!("unsupported route command {}", q(verb_word)),
            "add, del, replace or get",
        );
        e.suggestion =
            lex::suggest(verb_word, &["add", "del", "delete", "replace", "get"]).map(str::to_owned);
        return Err(e);
    };

    let mut dest: Option<(IpNet, Token)> = None;
    let mut via: Option<(IpAddr, Token)> = None;
    let mut src: Option<(IpAddr, Token)> = None;
    let mut dev: Option<Iface> = None;
    let mut metric: Option<u32> = None;
    while let Some(tok) = words.next() {
        let mut value = |what: &str| {
            words.next().ok_or_else(|| {
                err(
                    &end,
                    format!("missing value after {}", q(&tok.text)),
                    what.to_owned(),
                )
            })
        };
        // The address of one host, not 0.0.0.0 or a group: `role` names it in the error.
        let host_addr = |v: &Token, role: &str, hint: &str| {
            let addr = parse_addr(v)?;
            if addr.is_unspecified() || addr.is_multicast() {
                return Err(err(
                    v,
                    format!("{role} {} is not a host address", q(&v.text)),
                    hint,
                ));
            }
            Ok(addr)
        };
        match tok.text.as_str() {
            "via" => {
                let v = value("a gateway address")?;
                let hint = "the address of a router on a directly connected network";
                let addr = host_addr(&v, "gateway", hint)?;
                put(&mut via, (addr, v), &tok)?;
            }
            "src" => {
                let v = value("a local address")?;
                let addr = host_addr(&v, "source", "one of this host's own addresses")?;
                put(&mut src, (addr, v), &tok)?;
            }
            "dev" | "oif" => {
                let v = value("an interface name such as eth0")?;
                let iface = v.text.parse::<Iface>().map_err(|e| iface_error(&v, &e))?;
                if iface.is_wildcard() {
                    return Err(err(
                        &v,
                        format!("wildcard interface {}", q(&v.text)),
                        "one interface name such as eth0",
                    ));
                }
                put(&mut dev, iface, &tok)?;
            }
            "metric" | "priority" | "preference" => {
                let v = value("a metric 0-4294967295")?;
                let n = v.text.parse::<u32>().map_err(|_| {
                    err(
                        &v,
                        format!("invalid metric {}", q(&v.text)),
                        "a number 0-4294967295",
                    )
                })?;
                put(&mut metric, n, &tok)?;
            }
            "to" if dest.is_none() => {
                let v =
                    value("a destination: default, a network such as 10.0.0.0/24, or an address")?;
                dest = Some((parse_dest(&v, family)?, v));
            }
            word if dest.is_none() && !is_keyword(word) && !word.starts_with('-') => {
                dest = Some((parse_dest(&tok, family)?, tok.clone()));
            }
            word => return Err(unexpected(&tok, word, dest.is_some())),
        }
    }

    let Some((dest, dest_tok)) = dest else {
        return Err(err(
            &end,
            format!("{} without a destination", verb_word),
            "default, a network such as 10.0.0.0/24, or an address",
        ));
    };
    // `default` takes its family from the other addresses, or -6.
    let dest = if dest.is_default() {
        let wanted = family
            .or(via.as_ref().map(|(a, _)| Family::of(a)))
            .or(src.as_ref().map(|(a, _)| Family::of(a)))
            .unwrap_or(Family::V4);
        default_route(wanted)
    } else {
        dest
    };
    same_family(family, &dest, &dest_tok, "destination")?;
    for (addr, tok) in [&via, &src].into_iter().flatten() {
        if Family::of(addr) != dest.family() {
            return Err(err(
                tok,
                format!(
                    "address {} is {} but the destination is {}",
                    q(&tok.text),
                    Family::of(addr).name(),
                    dest.family().name()
                ),
                format!("an {} address", dest.family().name()),
            ));
        }
    }
    let route = Route {
        dest,
        via: via.map(|(a, _)| a),
        dev,
        metric,
        src: src.map(|(a, _)| a),
    };
    let cmd = make(route);
    if !matches!(cmd, RouteCmd::Del(_))
        && let Some(r) = cmd.route()
        && r.via.is_none()
        && r.dev.is_none()
    {
        return Err(err(
            &end,
            format!("{verb_word} {} without a gateway or device", r.dest),
            "via ADDRESS or dev INTERFACE",
        ));
    }
    Ok(cmd)
}

/// `get [to] ADDR`.
fn parse_get(
    verb: &Token,
    rest: Vec<Token>,
    family: Option<Family>,
    end: &Token,
) -> Result<RouteCmd, ParseError> {
    let mut rest = rest.into_iter();
    let mut tok = rest.next();
    if tok.as_ref().is_some_and(|t| t.text == "to") {
        tok = rest.next();
    }
    let Some(tok) = tok else {
        return Err(err(
            end,
            format!("{} without an address", verb.text),
            "the address to look up, e.g. get 8.8.8.8",
        ));
    };
    let net = parse_dest(&tok, family)?;
    if net.prefix != net.family().bits() {
        return Err(err(
            &tok,
            format!("route get for network {}", q(&tok.text)),
            "one address, e.g. 8.8.8.8 or 8.8.8.8/32",
        ));
    }
    same_family(family, &net, &tok, "address")?;
    if let Some(extra) = rest.next() {
        return Err(unexpected(&extra, &extra.text, true));
    }
    Ok(RouteCmd::Get(net.addr))
}

/// Refuses `net` (written as `tok`, the command's `what`) when the command names the other
/// family with -4 or -6.
fn same_family(
    family: Option<Family>,
    net: &IpNet,
    tok: &Token,
    what: &str,
) -> Result<(), ParseError> {
    match family {
        Some(f) if f != net.family() => Err(err(
            tok,
            format!(
                "{what} {} is {} but the command says -{}",
                q(&tok.text),
                net.family().name(),
                if f == Family::V4 { 4 } else { 6 }
            ),
            format!("an {} {what}", f.name()),
        )),
        _ => Ok(()),
    }
}

fn default_route(family: Family) -> IpNet {
    let addr = match family {
        Family::V4 => IpAddr::from([0u8; 4]),
        Family::V6 => IpAddr::from([0u8; 16]),
    };
    IpNet { addr, prefix: 0 }
}

/// Whether `word` is `full` or a shortening of it at least `min` chars long, as `ip` allows.
fn abbreviates(word: &str, full: &str, min: usize) -> bool {
    word.len() >= min && full.starts_with(word)
}

fn is_keyword(word: &str) -> bool {
    matches!(
        word,
        "via" | "src" | "dev" | "oif" | "metric" | "priority" | "preference" | "to" | "gw"
    ) || UNSUPPORTED_WORDS.contains(&word)
}

fn unexpected(tok: &Token, word: &str, have_dest: bool) -> ParseError {
    if UNSUPPORTED_WORDS.contains(&word) {
        return err(
            tok,
            format!("unsupported route option {}", q(word)),
            ROUTE_OPTIONS,
        );
    }
    let mut e = err(
        tok,
        if have_dest {
            format!("unexpected word {}", q(word))
        } else {
            format!("unexpected word {} before the destination", q(word))
        },
        ROUTE_OPTIONS,
    );
    // `gw` and `-net` are the older `route` program's words.
    e.suggestion = match word {
        "gw" | "gateway" => Some("via".to_owned()),
        "-net" | "-host" | "netmask" => Some("a CIDR destination such as 10.0.0.0/24".to_owned()),
        _ => lex::suggest(word, &["via", "dev", "metric", "src"]).map(str::to_owned),
    };
    e
}

fn put<T>(slot: &mut Option<T>, value: T, keyword: &Token) -> Result<(), ParseError> {
    if slot.is_some() {
        return Err(err(
            keyword,
            format!("a second {}", q(&keyword.text)),
            format!("one {} per route", keyword.text),
        ));
    }
    *slot = Some(value);
    Ok(())
}

fn parse_addr(tok: &Token) -> Result<IpAddr, ParseError> {
    tok.text.parse::<IpAddr>().map_err(|_| {
        err(
            tok,
            format!("invalid address {}", q(&tok.text)),
            "an IPv4 or IPv6 address such as 10.0.0.1",
        )
    })
}

/// `default`, `ADDR/LEN` or `ADDR` (a single host).
fn parse_dest(tok: &Token, family: Option<Family>) -> Result<IpNet, ParseError> {
    let text = tok.text.as_str();
    let expected = "default, a network such as 10.0.0.0/24, or an address";
    if text == "default" {
        return Ok(default_route(family.unwrap_or(Family::V4)));
    }
    let (addr_text, len_text) = match text.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (text, None),
    };
    let addr = addr_text.parse::<IpAddr>().map_err(|_| {
        err(tok, format!("invalid destination {}", q(text)), expected).near(text, &["default"])
    })?;
    let bits = Family::of(&addr).bits();
    let prefix = match len_text {
        None => bits,
        Some(l) => match l.parse::<u8>() {
            Ok(p) if p <= bits && !l.starts_with('+') => p,
            _ => {
                return Err(err(
                    tok,
                    format!("invalid prefix length in {}", q(text)),
                    format!("a prefix length 0-{bits}"),
                ));
            }
        },
    };
    let loose = IpNet { addr, prefix };
    IpNet::new(addr, prefix).ok_or_else(|| {
        let network = IpNet {
            addr: loose.network(),
            prefix,
        };
        let mut e = err(
            tok,
            format!("{} has host bits set", q(text)),
            "the network's own address",
        );
        e.suggestion = Some(format!("{}/{prefix}", network.addr));
        e
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canonical(line: &str) -> String {
        parse_route(line)
            .unwrap_or_else(|e| panic!("{line:?}: {e}"))
            .to_string()
    }

    #[test]
    fn course_commands_parse() {
        assert_eq!(
            canonical("sudo ip ro add 8.8.8.8/32 dev vpn0"),
            "ip route add 8.8.8.8 dev vpn0"
        );
        assert_eq!(canonical("ip ro get 8.8.8.8/32"), "ip route get 8.8.8.8");
        assert_eq!(canonical("ip route get 8.8.8.8"), "ip route get 8.8.8.8");
    }

    #[test]
    fn every_option_and_spelling_parses_to_one_canonical_form() {
        for (line, expected) in [
            (
                "add default via 10.0.0.254",
                "ip route add default via 10.0.0.254",
            ),
            (
                "route add 0.0.0.0/0 via 10.0.0.254 dev eth0",
                "ip route add default via 10.0.0.254 dev eth0",
            ),
            (
                "ip r a 10.1.0.0/16 via 10.0.0.1 metric 100",
                "ip route add 10.1.0.0/16 via 10.0.0.1 metric 100",
            ),
            (
                "ip route add to 10.1.0.0/16 dev eth1 src 10.0.0.2",
                "ip route add 10.1.0.0/16 dev eth1 src 10.0.0.2",
            ),
            (
                "ip route add metric 5 dev eth1 10.2.0.0/16",
                "ip route add 10.2.0.0/16 dev eth1 metric 5",
            ),
            (
                "ip route add 10.3.0.0/16 oif eth1 priority 7",
                "ip route add 10.3.0.0/16 dev eth1 metric 7",
            ),
            ("ip route del 10.1.0.0/16", "ip route del 10.1.0.0/16"),
            ("ip route delete default", "ip route del default"),
            (
                "ip route replace 192.0.2.0/24 via 10.0.0.1",
                "ip route replace 192.0.2.0/24 via 10.0.0.1",
            ),
            (
                "ip -6 route add default dev eth0",
                "ip -6 route add default dev eth0",
            ),
            (
                "ip -6 route add 2001:db8::/32 via fe80::1 dev eth0",
                "ip route add 2001:db8::/32 via fe80::1 dev eth0",
            ),
            (
                "ip route add default via 2001:db8::1",
                "ip route add default via 2001:db8::1",
            ),
            (
                "ip route add 2001:db8::5 dev eth0",
                "ip route add 2001:db8::5 dev eth0",
            ),
            ("ip -4 route get to 203.0.113.9", "ip route get 203.0.113.9"),
            ("ip route get 2001:db8::1/128", "ip route get 2001:db8::1"),
        ] {
            assert_eq!(canonical(line), expected, "{line:?}");
            let again = parse_route(expected).unwrap();
            assert_eq!(again, parse_route(line).unwrap(), "{expected:?}");
        }
    }

    #[test]
    fn parsed_routes_expose_their_parts() {
        let RouteCmd::Add(r) =
            parse_route("ip route add 10.1.0.0/16 via 10.0.0.1 dev eth0 metric 9 src 10.0.0.2")
                .unwrap()
        else {
            panic!("not an add");
        };
        assert_eq!(r.dest().to_string(), "10.1.0.0/16");
        assert_eq!(r.dest().prefix(), 16);
        assert_eq!(r.via(), Some("10.0.0.1".parse().unwrap()));
        assert_eq!(r.dev().map(Iface::as_str), Some("eth0"));
        assert_eq!(r.metric(), Some(9));
        assert_eq!(r.src(), Some("10.0.0.2".parse().unwrap()));
        assert_eq!(r.family(), Family::V4);
        assert!(r.dest().contains("10.1.200.3".parse().unwrap()));
        assert!(!r.dest().contains("10.2.0.1".parse().unwrap()));
        let d = parse_route("ip -6 route add default dev eth0").unwrap();
        assert_eq!(d.route().unwrap().family(), Family::V6);
        assert!(d.route().unwrap().dest().is_default());
        assert_eq!(d.argv(), ["-6", "route", "add", "default", "dev", "eth0"]);
    }

    #[test]
    fn interfaces_can_be_renamed_for_grading() {
        let mut cmd = parse_route("ip route add 8.8.8.8/32 dev enp0s3").unwrap();
        assert!(cmd.rename_interface("enp0s3", &"vpn0".parse().unwrap()));
        assert!(!cmd.rename_interface("enp0s3", &"eth0".parse().unwrap()));
        assert!(!cmd.rename_interface("vpn0", &"eth+".parse().unwrap()));
        assert_eq!(cmd.to_string(), "ip route add 8.8.8.8 dev vpn0");
    }

    #[test]
    fn bad_routes_name_the_word_and_what_was_expected() {
        for (line, token) in [
            ("ip route add 10.0.0.5/24 dev eth0", "10.0.0.5/24"),
            ("ip route add 10.0.0.0/33 dev eth0", "10.0.0.0/33"),
            ("ip route add 10.0.0.0/24", ""),
            ("ip route add via 10.0.0.1", ""),
            ("ip route add default gw 10.0.0.1", "gw"),
            ("route add -net 10.0.0.0 netmask 255.0.0.0 dev eth0", "-net"),
            ("ip route add 10.0.0.0/24 via 10.0.0.1 via 10.0.0.2", "via"),
            ("ip route add 10.0.0.0/24 via", ""),
            ("ip route add 10.0.0.0/24 via gateway", "gateway"),
            ("ip route add 10.0.0.0/24 via 0.0.0.0", "0.0.0.0"),
            ("ip route add 10.0.0.0/24 via 2001:db8::1", "2001:db8::1"),
            ("ip -6 route add 10.0.0.0/24 dev eth0", "10.0.0.0/24"),
            ("ip route add 10.0.0.0/24 dev eth+", "eth+"),
            ("ip route add 10.0.0.0/24 dev a/b", "a/b"),
            ("ip route add 10.0.0.0/24 dev eth0 metric -1", "-1"),
            ("ip route add 10.0.0.0/24 dev eth0 table 100", "table"),
            ("ip route add 10.0.0.0/24 dev eth0 proto static", "proto"),
            ("ip route add blackhole 10.0.0.0/24", "blackhole"),
            ("ip route add defualt via 10.0.0.1", "defualt"),
            ("ip route add 10.0.0.0/24 dev eth0 extra", "extra"),
            ("ip route flush all", "flush"),
            ("ip route show", "show"),
            ("ip route", ""),
            ("ip -s route add default dev eth0", "-s"),
            ("ip route get", ""),
            ("ip route get 10.0.0.0/24", "10.0.0.0/24"),
            ("ip route get 8.8.8.8 from 10.0.0.1", "from"),
            ("ip route add default dev eth0; reboot", ";"),
            ("ip route ad 10.0.0.0/24 dev eth0 src fe80::1", "fe80::1"),
        ] {
            let e = match parse_route(line) {
                Ok(r) => panic!("{line:?} was accepted as {r}"),
                Err(e) => e,
            };
            assert_eq!(e.token, token, "{line:?}: {e}");
            let at: String = line.chars().skip(e.col).collect();
            assert!(at.starts_with(token), "{line:?}: col {} at {at:?}", e.col);
            let msg = e.to_string();
            assert!(msg.contains(": expected "), "{msg}");
            assert!(!msg.starts_with(char::is_uppercase), "{msg}");
        }
    }

    #[test]
    fn garbage_never_panics() {
        let line =
            "sudo ip -6 route add to 2001:db8::/32 via fe80::1 dev eth0 metric 5 src 2001:db8::2";
        let chars: Vec<char> = line.chars().collect();
        for i in 0..=chars.len() {
            let prefix: String = chars[..i].iter().collect();
            let mut cut = chars.clone();
            cut.remove(i.min(chars.len() - 1));
            for text in [prefix, cut.into_iter().collect()] {
                if let Err(e) = parse_route(&text) {
                    assert!(e.col <= text.chars().count(), "{text:?}: {e}");
                }
            }
        }
        for text in [
            "",
            "/",
            "ip route add /",
            "ip route add 1.2.3.4/",
            "ip route add ::/+1 dev x",
            "ip route add 10.0.0.0/255 dev a",
        ] {
            assert!(parse_route(text).is_err(), "{text:?}");
        }
    }

    #[test]
    fn suggestions_point_to_the_ip_spelling() {
        let e = parse_route("ip route add default gw 10.0.0.1").unwrap_err();
        assert_eq!(e.suggestion.as_deref(), Some("via"));
        let e = parse_route("ip route add 10.0.0.5/24 dev eth0").unwrap_err();
        assert_eq!(e.suggestion.as_deref(), Some("10.0.0.0/24"));
        let e = parse_route("ip route add defualt via 10.0.0.1").unwrap_err();
        assert_eq!(e.suggestion.as_deref(), Some("default"));
        let e = parse_route("ip route dell default").unwrap_err();
        assert_eq!(e.suggestion.as_deref(), Some("del"));
    }
}
