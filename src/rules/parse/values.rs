//! Single values: chain names and policies, networks, ports and port ranges and lists, TCP
//! flags, ICMP types, connection states, REJECT's `--reject-with` and NAT destinations.
//!
//! Contract: each function reads one word and returns the typed value, or a [`ParseError`]
//! whose column points inside the word where it went wrong.

use super::vocabulary::*;
use super::*;

pub(super) fn is_number(text: &str) -> bool {
    !text.is_empty() && text.chars().all(|c| c.is_ascii_digit())
}

pub(super) fn builtin_list(table: Table) -> String {
    let names: Vec<&str> = table.builtin_chains().iter().map(|c| c.name()).collect();
    names.join(", ")
}

/// The chain a command names, in `table`.
pub(super) fn resolve_chain(table: Table, tok: &Token) -> Result<Chain, ParseError> {
    if let Some(builtin) = BuiltinChain::from_name(&tok.text) {
        if table.has_builtin(builtin) {
            return Ok(Chain::Builtin(builtin));
        }
        let mut e = err(
            tok,
            format!("chain {} does not exist in table {table}", tok.text),
            format!("one of {} or a chain created with -N", builtin_list(table)),
        );
        e.suggestion = Table::ALL
            .into_iter()
            .find(|t| t.has_builtin(builtin))
            .map(|t| format!("-t {t}"));
        return Err(e);
    }
    let all: Vec<&str> = BuiltinChain::ALL.iter().map(|c| c.name()).collect();
    if let Some(near) = lex::suggest(&tok.text, &all) {
        let mut e = err(
            tok,
            format!("unknown chain {}", q(&tok.text)),
            format!(
                "a built-in chain of table {table} ({}) or a chain created with -N",
                builtin_list(table)
            ),
        );
        e.suggestion = Some(near.to_owned());
        return Err(e);
    }
    Ok(Chain::User(chain_name(tok)?))
}

/// A user chain's name, as `-N` and `-j` accept it.
pub(super) fn chain_name(tok: &Token) -> Result<ChainName, ParseError> {
    let text = tok.text.as_str();
    let problem = if text.is_empty() {
        Some("empty")
    } else if text.len() > 28 {
        Some("longer than 28 characters")
    } else if text.starts_with('-') {
        Some("starts with -")
    } else if !text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        Some("characters other than letters, digits, _ - .")
    } else if TARGETS.contains(&text) || text == "QUEUE" {
        Some("the name of a target")
    } else {
        None
    };
    match problem {
        Some(p) => Err(err(
            tok,
            format!("invalid chain name {} ({p})", q(text)),
            "up to 28 letters, digits, _ - . not starting with - and not a target's name",
        )),
        None => Ok(ChainName(text.to_owned())),
    }
}

/// The word after `-j` when it is not a built-in target: a user chain, unless it looks like a
/// misspelt target or names something that cannot be jumped to.
pub(super) fn target_chain(tok: &Token) -> Result<ChainName, ParseError> {
    let text = tok.text.as_str();
    if let Some(near) = lex::suggest(text, &TARGETS) {
        let mut e = err(tok, format!("unknown target {}", q(text)), TARGETS_EXPECTED);
        e.suggestion = Some(near.to_owned());
        return Err(e);
    }
    if UNSUPPORTED_TARGETS.contains(&text) {
        return Err(err(
            tok,
            format!("unsupported target {}", q(text)),
            TARGETS_EXPECTED,
        ));
    }
    if BuiltinChain::from_name(text).is_some() {
        return Err(err(
            tok,
            format!("jump to built-in chain {text}"),
            format!("{TARGETS_EXPECTED} (built-in chains cannot be jumped to)"),
        ));
    }
    chain_name(tok).map_err(|mut e| {
        e.problem = format!("unknown target {}", q(text));
        e.expected = TARGETS_EXPECTED.to_owned();
        e
    })
}

pub(super) fn parse_policy(table: Table, tok: &Token) -> Result<Policy, ParseError> {
    let policy = match tok.text.as_str() {
        "ACCEPT" => Policy::Accept,
        "DROP" => Policy::Drop,
        other => {
            return Err(err(
                tok,
                format!("invalid policy {}", q(other)),
                "ACCEPT or DROP",
            )
            .near(other, &["ACCEPT", "DROP"]));
        }
    };
    if table == Table::Nat && policy == Policy::Drop {
        return Err(err(
            tok,
            "policy DROP in table nat",
            "ACCEPT: the nat table is not for filtering (drop in table filter instead)",
        ));
    }
    Ok(policy)
}

/// `A.B.C.D`, `A.B.C.D/LEN` or `A.B.C.D/MASK`.
pub(super) fn parse_net(tok: &Token) -> Result<Ipv4Net, ParseError> {
    let text = tok.text.as_str();
    let expected = "an IPv4 address or network, e.g. 10.0.0.1 or 10.0.0.0/24";
    if text.contains(',') {
        return Err(err(
            tok,
            format!("address list {}", q(text)),
            "one address or network per rule (write one rule for each)",
        ));
    }
    let (addr_text, mask_text) = match text.split_once('/') {
        Some((a, m)) => (a, Some(m)),
        None => (text, None),
    };
    // `0/0` is the old way tutorials write "anywhere"; iptables reads a lone 0 as 0.0.0.0.
    let parsed = if addr_text == "0" {
        Ok(Ipv4Addr::UNSPECIFIED)
    } else {
        addr_text.parse::<Ipv4Addr>()
    };
    let Ok(addr) = parsed else {
        let problem = if addr_text.parse::<Ipv6Addr>().is_ok() {
            format!(
                "unsupported IPv6 address {} (ip6tables is not supported)",
                q(text)
            )
        } else if addr_text.chars().any(|c| c.is_ascii_alphabetic()) {
            format!("host name {} (names are not resolved)", q(text))
        } else {
            format!("invalid address {}", q(text))
        };
        return Err(err(tok, problem, expected));
    };
    let prefix = match mask_text {
        None => 32,
        Some(m) if is_number(m) => match m.parse::<u8>() {
            Ok(p) if p <= 32 => p,
            _ => {
                return Err(err(
                    tok,
                    format!("invalid prefix length in {}", q(text)),
                    "a prefix length 0-32, e.g. 10.0.0.0/24",
                ));
            }
        },
        Some(m) => match m.parse::<Ipv4Addr>().map(u32::from) {
            Ok(mask) if mask.leading_ones() + mask.trailing_zeros() == 32 => {
                mask.leading_ones() as u8
            }
            _ => {
                return Err(err(
                    tok,
                    format!("invalid netmask in {}", q(text)),
                    "a prefix length 0-32 or a contiguous netmask like 255.255.255.0",
                ));
            }
        },
    };
    Ipv4Net::new(addr, prefix)
        .ok_or_else(|| err(tok, format!("invalid network {}", q(text)), expected))
}

/// A part of a word (an element of a list), located for errors. The column is exact when the
/// word was not quoted, which is how such words are written.
pub(super) fn part(tok: &Token, offset_chars: usize, text: &str) -> Token {
    Token {
        text: text.to_owned(),
        col: tok.col + offset_chars,
    }
}

pub(super) fn parse_port(tok: &Token) -> Result<u16, ParseError> {
    let text = tok.text.as_str();
    if is_number(text) {
        return text.parse::<u16>().map_err(|_| {
            err(
                tok,
                format!("port {} out of range", q(text)),
                "a port number 0-65535 or a service name",
            )
        });
    }
    names::service_port(text).ok_or_else(|| {
        err(
            tok,
            format!("unknown port or service {}", q(text)),
            "a port number 0-65535 or a service name such as ssh, smtp, http",
        )
        .near(text, &names::service_names())
    })
}

/// `P`, or a range `A<sep>B`; with `:` (matches) either end may be left out.
pub(super) fn parse_port_range(tok: &Token, sep: char) -> Result<PortRange, ParseError> {
    let Some((a, b)) = tok.text.split_once(sep) else {
        return parse_port(tok).map(PortRange::single);
    };
    let open = sep == ':';
    let first = if a.is_empty() && open {
        0
    } else {
        parse_port(&part(tok, 0, a))?
    };
    let b_tok = part(tok, a.chars().count() + 1, b);
    let last = if b.is_empty() && open {
        u16::MAX
    } else {
        parse_port(&b_tok)?
    };
    if first > last {
        return Err(err(
            tok,
            format!("port range {} goes backwards", q(&tok.text)),
            format!("the lower port first: {last}{sep}{first}"),
        ));
    }
    Ok(PortRange { first, last })
}

/// A multiport list: ports and `A:B` ranges, at most 15 ports with a range counting as two.
pub(super) fn parse_port_list(tok: &Token) -> Result<Vec<PortRange>, ParseError> {
    let mut ports = Vec::new();
    let mut offset = 0;
    let mut slots = 0;
    for item in tok.text.split(',') {
        let item_tok = part(tok, offset, item);
        offset += item.chars().count() + 1;
        if item.is_empty() || item.starts_with(':') || item.ends_with(':') {
            return Err(err(
                &item_tok,
                format!("invalid port list entry {} in {}", q(item), q(&tok.text)),
                "ports or ranges like 8000:8080 separated by commas",
            ));
        }
        let range = parse_port_range(&item_tok, ':')?;
        slots += if range.first == range.last { 1 } else { 2 };
        if slots > 15 {
            return Err(err(
                &item_tok,
                format!("too many ports in {}", q(&tok.text)),
                "at most 15 ports, a range counting as two",
            ));
        }
        ports.push(range);
    }
    Ok(ports)
}

pub(super) fn parse_flags(tok: &Token) -> Result<u8, ParseError> {
    let mut bits = 0;
    let mut offset = 0;
    for name in tok.text.split(',') {
        let item = part(tok, offset, name);
        offset += name.chars().count() + 1;
        let upper = name.to_ascii_uppercase();
        bits |= match upper.as_str() {
            "ALL" => TcpFlags::ALL,
            "NONE" => 0,
            _ => match TcpFlags::NAMES.iter().find(|(n, _)| *n == upper) {
                Some(&(_, b)) => b,
                None => {
                    let all = ["FIN", "SYN", "RST", "PSH", "ACK", "URG", "ALL", "NONE"];
                    return Err(err(
                        &item,
                        format!("unknown tcp flag {}", q(name)),
                        "flags among FIN, SYN, RST, PSH, ACK, URG, ALL, NONE",
                    )
                    .near(name, &all));
                }
            },
        };
    }
    Ok(bits)
}

pub(super) fn parse_icmp_type(tok: &Token) -> Result<IcmpType, ParseError> {
    let text = tok.text.as_str();
    if let Some((kind, code)) = names::icmp_type(text) {
        return Ok(IcmpType { kind, code });
    }
    let byte = |s: &str| is_number(s).then(|| s.parse::<u8>().ok()).flatten();
    let parsed = match text.split_once('/') {
        Some((k, c)) => byte(k).zip(byte(c)).map(|(kind, code)| IcmpType {
            kind,
            code: Some(code),
        }),
        None => byte(text).map(|kind| IcmpType { kind, code: None }),
    };
    parsed.ok_or_else(|| {
        err(
            tok,
            format!("unknown icmp type {}", q(text)),
            "an ICMP type name such as echo-request, a number 0-255, or TYPE/CODE like 3/1",
        )
        .near(text, &names::icmp_type_names())
    })
}

pub(super) fn parse_states(tok: &Token, ctstate: bool) -> Result<ConnStates, ParseError> {
    let mut states = ConnStates::default();
    let mut offset = 0;
    let allowed: Vec<&str> = ConnState::ALL
        .iter()
        .filter(|s| ctstate || !matches!(s, ConnState::Snat | ConnState::Dnat))
        .map(|s| s.name())
        .collect();
    for name in tok.text.split(',') {
        let item = part(tok, offset, name);
        offset += name.chars().count() + 1;
        let upper = name.to_ascii_uppercase();
        let Some(state) = ConnState::ALL
            .into_iter()
            .find(|s| s.name() == upper && allowed.contains(&s.name()))
        else {
            let mut e = err(
                &item,
                format!("unknown state {}", q(name)),
                format!("states among {}", allowed.join(", ")),
            );
            e.suggestion = lex::suggest(name, &allowed).map(str::to_owned);
            return Err(e);
        };
        states.insert(state);
    }
    Ok(states)
}

pub(super) fn parse_reject_with(tok: &Token) -> Result<RejectWith, ParseError> {
    let text = tok.text.as_str();
    if let Some(w) = RejectWith::ALL
        .into_iter()
        .find(|w| w.name() == text || w.alias() == text)
    {
        return Ok(w);
    }
    let names: Vec<&str> = RejectWith::ALL.iter().map(|w| w.name()).collect();
    let mut e = err(
        tok,
        format!("unknown reject type {}", q(text)),
        format!("one of {}", names.join(", ")),
    );
    e.suggestion = lex::suggest(text, &names).map(str::to_owned);
    Err(e)
}

/// `[ADDR[-ADDR]][:PORT[-PORT]]` for DNAT and SNAT.
pub(super) fn parse_nat_to(tok: &Token) -> Result<NatTo, ParseError> {
    let text = tok.text.as_str();
    let expected = "ADDRESS[-ADDRESS][:PORT[-PORT]], e.g. 10.0.0.2 or 10.0.0.2:8080";
    let (addr_text, port_text) = match text.split_once(':') {
        Some((a, p)) => (a, Some(p)),
        None => (text, None),
    };
    if addr_text.is_empty() && port_text.is_none_or(str::is_empty) {
        return Err(err(tok, format!("empty address {}", q(text)), expected));
    }
    let addr = |s: &str, offset: usize| {
        s.parse::<Ipv4Addr>().map_err(|_| {
            err(
                &part(tok, offset, s),
                format!("invalid address {} in {}", q(s), q(text)),
                expected,
            )
        })
    };
    let addrs = if addr_text.is_empty() {
        None
    } else {
        let (a, b) = match addr_text.split_once('-') {
            Some((a, b)) => (addr(a, 0)?, addr(b, a.chars().count() + 1)?),
            None => {
                let a = addr(addr_text, 0)?;
                (a, a)
            }
        };
        if u32::from(a) > u32::from(b) {
            return Err(err(
                tok,
                format!("address range {} goes backwards", q(addr_text)),
                "the lower address first",
            ));
        }
        Some((a, b))
    };
    let ports = match port_text {
        None => None,
        Some(p) => Some(parse_port_range(
            &part(tok, addr_text.chars().count() + 1, p),
            '-',
        )?),
    };
    Ok(NatTo { addrs, ports })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tok(text: &str) -> Token {
        Token {
            text: text.into(),
            col: 10,
        }
    }

    #[test]
    fn networks_take_prefixes_and_masks() {
        assert_eq!(
            parse_net(&tok("10.0.0.5")).unwrap().to_string(),
            "10.0.0.5/32"
        );
        assert_eq!(
            parse_net(&tok("10.0.0.5/24")).unwrap().to_string(),
            "10.0.0.0/24"
        );
        assert_eq!(
            parse_net(&tok("10.0.0.0/255.255.0.0")).unwrap().to_string(),
            "10.0.0.0/16"
        );
        assert_eq!(parse_net(&tok("0/0")).unwrap().to_string(), "0.0.0.0/0");
        assert_eq!(parse_net(&tok("0")).unwrap().to_string(), "0.0.0.0/32");
        assert!(parse_net(&tok("10.0.0.0/255.0.255.0")).is_err());
        assert!(parse_net(&tok("10.0.0.0/33")).is_err());
        assert!(parse_net(&tok("::1")).unwrap_err().problem.contains("IPv6"));
        assert!(
            parse_net(&tok("localhost"))
                .unwrap_err()
                .problem
                .contains("host name")
        );
    }

    #[test]
    fn port_ranges_fill_open_ends_and_refuse_backwards_ones() {
        let r = |s: &str| parse_port_range(&tok(s), ':').map(|p| (p.first, p.last));
        assert_eq!(r("25").unwrap(), (25, 25));
        assert_eq!(r("smtp").unwrap(), (25, 25));
        assert_eq!(r(":1000").unwrap(), (0, 1000));
        assert_eq!(r("1000:").unwrap(), (1000, 65535));
        assert!(r("2000:1000").is_err());
        assert!(r("70000").is_err());
        let e = r("25:smtpp").unwrap_err();
        assert_eq!((e.token.as_str(), e.col), ("smtpp", 13));
        assert_eq!(e.suggestion.as_deref(), Some("smtp"));
        assert!(parse_port_range(&tok("80:"), '-').is_err());
    }

    #[test]
    fn multiport_lists_count_ranges_twice() {
        assert_eq!(parse_port_list(&tok("21,25,80:90")).unwrap().len(), 3);
        let fourteen: Vec<String> = (1..=14).map(|p| p.to_string()).collect();
        assert!(parse_port_list(&tok(&fourteen.join(","))).is_ok());
        assert!(parse_port_list(&tok(&format!("{},100:200", fourteen.join(",")))).is_err());
        assert_eq!(parse_port_list(&tok("21,,25")).unwrap_err().col, 13);
    }

    #[test]
    fn nat_destinations_take_addresses_ports_and_ranges() {
        let n = |s: &str| parse_nat_to(&tok(s)).map(|n| n.to_string());
        assert_eq!(n("10.0.0.2").unwrap(), "10.0.0.2");
        assert_eq!(n("10.0.0.2:8080").unwrap(), "10.0.0.2:8080");
        assert_eq!(
            n("10.0.0.1-10.0.0.3:1000-2000").unwrap(),
            "10.0.0.1-10.0.0.3:1000-2000"
        );
        assert_eq!(n(":80").unwrap(), ":80");
        assert!(n("").is_err());
        assert!(n(":").is_err());
        assert!(n("10.0.0.5-10.0.0.1").is_err());
        assert_eq!(parse_nat_to(&tok("10.0.0.2:htp")).unwrap_err().col, 19);
    }

    #[test]
    fn icmp_types_take_names_numbers_and_codes() {
        let t = |s: &str| parse_icmp_type(&tok(s)).map(|t| t.to_string());
        assert_eq!(t("echo-request").unwrap(), "8");
        assert_eq!(t("port-unreachable").unwrap(), "3/3");
        assert_eq!(t("3/1").unwrap(), "3/1");
        assert_eq!(t("255").unwrap(), "any");
        assert!(t("3/300").is_err());
        assert_eq!(
            parse_icmp_type(&tok("echo-requst"))
                .unwrap_err()
                .suggestion
                .as_deref(),
            Some("echo-request")
        );
    }
}
