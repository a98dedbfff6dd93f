//! DHCP services: `kind = "dhcp"` with `range = "FIRST-LAST"`, and optionally `router`, `dns`
//! (one address or several separated by commas), `domain`, `lease` (`"10m"`, `"24h"`),
//! `reservations = { "MAC" = "ADDR" }`, `delay` (waited before each reply) and `interface`
//! (the host's interface to serve; its only one by default).
//!
//! Contract: the server's identifier and network are the address of the served interface in
//! the plan, so that interface must have one and the range must lie inside its network; the
//! host's name is the server host name (`sname`) of its replies. The keys of a DHCP service
//! go with no other kind.

use std::net::Ipv4Addr;

use super::*;
use crate::services::dhcp::{DhcpConfig, parse_lease, parse_range};

const HINT: &str =
    r#"range = "10.0.0.100-10.0.0.150", router = "10.0.0.1", dns = "10.0.0.1", lease = "10m""#;

/// The kind and port (67) of a DHCP service on host `host`.
pub(super) fn service(
    cx: &Ctx,
    svc: &RawService,
    host: HostId,
    hosts: &[HostPlan],
    links: &[LinkPlan],
) -> Result<(ServiceKind, u16), ScenarioError> {
    if let Some(port) = &svc.port {
        return Err(cx
            .err(port.span(), "a dhcp service listens on port 67")
            .with_hint("leave port out"));
    }
    protocol::no_content(cx, svc)?;
    let name = &hosts[host].name;
    let ends: Vec<&LinkEnd> = links
        .iter()
        .flat_map(|l| &l.ends)
        .filter(|e| e.host == host)
        .collect();
    let end = match &svc.interface {
        Some(i) => ends
            .iter()
            .find(|e| e.iface == *i.get_ref())
            .ok_or_else(|| {
                cx.err(
                    cx.inner(i),
                    format!("host {name} has no interface {:?}", i.get_ref()),
                )
                .with_hint(format!(
                    "its interfaces: {}",
                    ends.iter()
                        .map(|e| e.iface.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?,
        None if ends.len() == 1 => ends[0],
        None => {
            return Err(cx
                .err(
                    svc.kind.span(),
                    format!(
                        "host {name} has {} interfaces: which one does the dhcp service serve?",
                        ends.len()
                    ),
                )
                .with_hint("interface = \"eth0\""));
        }
    };
    let Some(Cidr {
        addr: IpAddr::V4(server),
        prefix,
    }) = end.addr
    else {
        return Err(cx
            .err(
                svc.kind.span(),
                format!(
                    "{name}:{} has no IPv4 address for the dhcp server",
                    end.iface
                ),
            )
            .with_hint("give the server's end an address, e.g. \"server:eth0 10.0.0.1/24\""));
    };
    let range = svc.range.as_ref().ok_or_else(|| {
        cx.err(svc.kind.span(), "a dhcp service needs a range")
            .with_hint(HINT)
    })?;
    let range_value = parse_range(range.get_ref()).map_err(|e| cx.err(cx.inner(range), e))?;
    let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
    let net = |a: Ipv4Addr| u32::from(a) & mask == u32::from(server) & mask;
    if !net(range_value.0) || !net(range_value.1) {
        return Err(cx
            .err(
                cx.inner(range),
                format!("range is not inside {name}'s network {server}/{prefix}"),
            )
            .with_hint(HINT));
    }
    let addr = |s: &Spanned<String>, text: &str| {
        text.trim().parse::<Ipv4Addr>().map_err(|_| {
            cx.err(cx.inner(s), format!("bad IPv4 address {:?}", text.trim()))
                .with_hint(HINT)
        })
    };
    let router = svc
        .router
        .as_ref()
        .map(|r| addr(r, r.get_ref()))
        .transpose()?;
    let dns = match &svc.dns {
        Some(d) => d
            .get_ref()
            .split(',')
            .map(|a| addr(d, a))
            .collect::<Result<Vec<_>, _>>()?,
        None => Vec::new(),
    };
    let lease = match &svc.lease {
        Some(l) => parse_lease(l.get_ref()).map_err(|e| cx.err(cx.inner(l), e))?,
        None => Duration::from_secs(600),
    };
    let delay = match &svc.delay {
        Some(d) => parse_duration(cx, d)?,
        None => Duration::ZERO,
    };
    let mut reservations = BTreeMap::new();
    if let Some(r) = &svc.reservations {
        for (mac, a) in r.get_ref() {
            let bytes: Vec<u8> = mac
                .split(':')
                .filter_map(|b| u8::from_str_radix(b, 16).ok().filter(|_| b.len() == 2))
                .collect();
            let (Ok(mac), Ok(a)) = (<[u8; 6]>::try_from(bytes), a.parse::<Ipv4Addr>()) else {
                return Err(cx
                    .err(r.span(), format!("bad reservation {mac:?} = {a:?}"))
                    .with_hint(r#"reservations = { "02:00:00:00:00:10" = "10.0.0.50" }"#));
            };
            reservations.insert(mac, a);
        }
    }
    let config = DhcpConfig {
        server,
        prefix,
        range: range_value,
        router,
        dns,
        domain: svc.domain.as_ref().map(|d| d.get_ref().clone()),
        lease,
        reservations,
        delay,
        name: Some(name.clone()),
    };
    let kind = ServiceKind::Dhcp {
        iface: end.iface.clone(),
        config,
    };
    Ok((kind, 67))
}

/// Refuses the DHCP keys on a service of another kind.
pub(super) fn no_dhcp_keys(cx: &Ctx, svc: &RawService) -> Result<(), ScenarioError> {
    let stray = [
        ("range", svc.range.as_ref().map(|a| a.span())),
        ("router", svc.router.as_ref().map(|a| a.span())),
        ("dns", svc.dns.as_ref().map(|a| a.span())),
        ("domain", svc.domain.as_ref().map(|a| a.span())),
        ("lease", svc.lease.as_ref().map(|a| a.span())),
        ("reservations", svc.reservations.as_ref().map(|a| a.span())),
        ("delay", svc.delay.as_ref().map(|a| a.span())),
        ("interface", svc.interface.as_ref().map(|a| a.span())),
    ];
    no_stray_keys(cx, stray, "dhcp", HINT)
}

#[cfg(test)]
mod tests {
    use crate::scenario::ServiceKind;
    use crate::scenario::testing::file;

    const LAN: &str = r#"
name = "t"
[hosts.server]
[hosts.client]
[[links]]
ends = ["server:eth0 10.0.0.1/24", "client:eth0"]
[services.dhcp]
host = "server"
kind = "dhcp"
"#;

    #[test]
    fn reads_a_dhcp_service_and_names_bad_values() {
        let ok = format!(
            "{LAN}range = \"10.0.0.100-10.0.0.110\"\nrouter = \"10.0.0.1\"\ndns = \"10.0.0.1, 10.0.0.2\"\nlease = \"24h\"\ndelay = \"200ms\"\n"
        );
        let plan = file(&ok).unwrap();
        let ServiceKind::Dhcp { iface, config } = &plan.services[0].kind else {
            panic!("not dhcp")
        };
        assert_eq!(iface, "eth0");
        assert_eq!(config.lease.as_secs(), 86_400);
        assert_eq!(config.dns.len(), 2);
        assert_eq!(config.name.as_deref(), Some("server"));
        for (extra, msg) in [
            ("", "needs a range"),
            ("range = \"10.0.1.1-10.0.1.9\"\n", "not inside"),
            (
                "range = \"10.0.0.9-10.0.0.20\"\nlease = \"1\"\n",
                "bad lease",
            ),
            (
                "range = \"10.0.0.9-10.0.0.20\"\nrouter = \"x\"\n",
                "bad IPv4",
            ),
        ] {
            let e = file(&format!("{LAN}{extra}")).unwrap_err();
            assert!(e.to_string().contains(msg), "{extra}: {e}");
        }
    }
}
